/* Resize and Upsample: attributes, geometry and the shared CPU kernel (ops/resize/). */
#ifndef JATP_RESIZE_H
#define JATP_RESIZE_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum { RS_HALF_PIXEL, RS_ASYMMETRIC, RS_ALIGN_CORNERS, RS_PYTORCH_HALF_PIXEL, RS_TF_HALF_PIXEL_NN,
       RS_TF_CROP_AND_RESIZE };
enum { RS_ROUND_PREFER_FLOOR, RS_ROUND_PREFER_CEIL, RS_FLOOR, RS_CEIL };
enum { RS_STRETCH, RS_NOT_LARGER, RS_NOT_SMALLER };

typedef struct resize_attrs {
    int mode, coord, nearest, keep_policy;
    double cubic_a, extrapolation;
    int exclude_outside;
    int n_axes; /* -1: all axes (opset 18 'axes') */
    int64_t axes[JT_MAX_RANK];
    /* input positions (-1: absent in this version) */
    int in_roi, in_scales, in_sizes;
    /* Upsample-7: scales attribute */
    int n_scale_attr;
    double scale_attr[JT_MAX_RANK];
} resize_attrs;

typedef struct resize_geom {
    int rank;
    int64_t in[JT_MAX_RANK], out[JT_MAX_RANK];
    double scale[JT_MAX_RANK];   /* used by the coordinate transform */
    double out_len[JT_MAX_RANK]; /* scale * input length (may be fractional), as ONNX's reference */
    double roi0[JT_MAX_RANK], roi1[JT_MAX_RANK];
} resize_geom;

/* Per-axis tap table: output position o reads idx[o*T+k] (clamped) with weight w[o*T+k], or the
 * extrapolation value where ext[o] (tf_crop_and_resize outside the input). */
typedef struct jt_resize_table {
    int64_t *idx;
    double *w;
    uint8_t *ext;
    bool identity; /* the axis is unchanged: out == in, idx[o*T] == o with weight 1 */
} jt_resize_table;

int jt_resize_taps(int mode); /* 1 nearest, 2 linear, 4 cubic */
/* Bytes of the tables of every axis for output dims out[r]. */
size_t jt_resize_tables_bytes(const resize_attrs *p, const int64_t *out, int r);
/* Carves the tables from ws and fills them; returns the first byte after them. */
char *jt_resize_build_tables(const resize_attrs *p, const resize_geom *geo, char *ws, jt_resize_table *tab);
/* Parses the attributes of Resize-<since> (known-attribute check excluded). */
jt_status jt_resize_parse_attrs(jt_ctx *ctx, const jt_graph *g, const jt_node *n, resize_attrs *p, int since);
/* VJP of Resize and Upsample: dX = ResizeGrad(dY, Shape(X), roi, scales, sizes) (ops/resize/resize_grad.c). */
jt_status jt_resize_vjp(jt_vjp_args *v);

/* Output geometry from the attributes and the (constant) roi/scales/sizes inputs. g may be NULL. */
jt_status jt_resize_geometry(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const resize_attrs *p,
                             int n_in, const jt_tensor *const *in, resize_geom *geo);
jt_status jt_resize_infer(const jt_infer_args *a);
size_t jt_resize_workspace(const jt_kernel_args *a);
jt_status jt_resize_kernel(const jt_kernel_args *a);
/* ResizeGrad: the forward geometry for X of dims xd[r] (ops/resize/resize_grad.c), and its CPU workspace
 * (tables plus the adjoint's intermediates; an upper bound for the CUDA kernel too). */
jt_status jt_resize_grad_geometry(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const resize_attrs *p, int n_in,
                                  const jt_tensor *const *in, int r, const int64_t *xd, resize_geom *geo);
size_t jt_resize_grad_workspace(const jt_kernel_args *a);
/* Parses a mode string ("nearest", "linear"/"bilinear", "cubic") into RS_*; -1 if unknown. */
int jt_resize_mode(const char *s);

#ifdef __cplusplus
}
#endif
#endif
