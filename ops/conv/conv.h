/* Conv / ConvTranspose: typed attributes and the resolved geometry shared by infer, workspace, cost
 * and the kernels. Spatial axes are normalised to 3 (D, H, W) with leading size-1 axes, so one kernel
 * serves 1-D, 2-D and 3-D convolutions. */
#ifndef JATP_OPS_CONV_H
#define JATP_OPS_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include "op.h"

#define JT_CONV_MAX_SP 3

typedef struct jt_conv_attrs {
    int n_kernel, n_strides, n_dil, n_pads, n_outpad, n_outshape;
    int64_t kernel[JT_CONV_MAX_SP], strides[JT_CONV_MAX_SP], dil[JT_CONV_MAX_SP];
    int64_t pads[2 * JT_CONV_MAX_SP], outpad[JT_CONV_MAX_SP], outshape[JT_CONV_MAX_SP];
    int64_t group;
    int auto_pad; /* enum jt_auto_pad (window.h) */
    bool transpose;
} jt_conv_attrs;

typedef struct jt_conv_geom {
    int nsp;             /* spatial axes of the model (1..3) */
    int64_t N, C, M, G;  /* batch, input channels, output channels, groups */
    int64_t Cg, Mg;      /* per group */
    /* normalised to 3 axes (D, H, W); unused leading axes have size 1, k 1, s 1, d 1, pads 0 */
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
    int64_t in_sz, out_sz, k_sz;
} jt_conv_geom;

/* Resolves the geometry from the attributes and the shapes of X and W; fails (naming the node) on
 * inconsistent shapes. g may be NULL (kernels, after infer succeeded). */
jt_status jt_conv_geom_make(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const jt_conv_attrs *at,
                            const jt_tensor *x, const jt_tensor *w, jt_conv_geom *geo);

/* Batch chunking of the im2col path: how many images one GEMM covers (problem size only). */
int64_t jt_conv_chunk(const jt_conv_geom *geo);
/* True when the kernel is the direct depthwise loop (one input channel per group). */
bool jt_conv_is_depthwise(const jt_conv_geom *geo);
/* True for 1x1, stride 1, no padding: X is the im2col matrix. */
bool jt_conv_is_pointwise(const jt_conv_geom *geo);

/* The convolution-terms geometry of a ConvTranspose (geometry made with transpose = true): its output Y
 * is the convolution's input side and its input X the convolution's output side, so ConvTranspose's
 * forward is the data gradient of that convolution, and its gradients are a forward convolution (dX)
 * and a filter gradient with X and dY in each other's places (dW). */
void jt_conv_geom_swap(const jt_conv_geom *t, jt_conv_geom *c);
/* Workspace elements of the forward (im2col) and data-gradient (GEMM + col2im) paths. */
size_t jt_conv_fwd_ws_elems(const jt_conv_geom *geo);
size_t jt_conv_bwd_data_ws_elems(const jt_conv_geom *geo);

/* Kernels on a convolution-terms geometry (conv_cpu_tmpl.h; ws as sized above, BLAS from the caller):
 *   fwd:       y = conv(x, w) + bias[m]
 *   bwd_data:  dx = col2im(W^T dy) + bias[c]   (the bias slot serves ConvTranspose's forward) */
jt_status jt_conv_fwd_f32(jt_ctx *ctx, jt_pool *pool, const jt_conv_geom *geo, const float *x, const float *w,
                          const float *bias, float *y, void *ws);
jt_status jt_conv_fwd_f64(jt_ctx *ctx, jt_pool *pool, const jt_conv_geom *geo, const double *x, const double *w,
                          const double *bias, double *y, void *ws);
jt_status jt_conv_bwd_data_f32(jt_ctx *ctx, jt_pool *pool, const jt_conv_geom *geo, const float *dy,
                               const float *w, const float *bias, float *dx, void *ws);
jt_status jt_conv_bwd_data_f64(jt_ctx *ctx, jt_pool *pool, const jt_conv_geom *geo, const double *dy,
                               const double *w, const double *bias, double *dx, void *ws);

/* dW = sum over images of dY im2col(X)^T (overwrites dw; ws as jt_conv_fwd_ws_elems) */
jt_status jt_conv_bwd_filter_f32(jt_ctx *ctx, jt_pool *pool, const jt_conv_geom *geo, const float *dy,
                                 const float *x, float *dw, void *ws);
jt_status jt_conv_bwd_filter_f64(jt_ctx *ctx, jt_pool *pool, const jt_conv_geom *geo, const double *dy,
                                 const double *x, double *dw, void *ws);

/* VJP rule of Conv and ConvTranspose (conv_grad.c). */
jt_status jt_conv_vjp(jt_vjp_args *v);

/* Parsers of the forward attributes (the grad ops take the forward node's attributes). */
jt_status jt_conv_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs);
jt_status jt_convt_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs);

jt_status jt_conv_cpu_f32(const jt_kernel_args *a);
jt_status jt_conv_cpu_f64(const jt_kernel_args *a);
jt_status jt_convt_cpu_f32(const jt_kernel_args *a);
jt_status jt_convt_cpu_f64(const jt_kernel_args *a);

#endif
