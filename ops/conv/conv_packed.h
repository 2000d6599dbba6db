/* Float32 convolutions on the packed SGEMM (runtime/cpu/gemm_f32.h), one GEMM per group over the whole
 * batch: M = output channels per group, N = batch * output positions, K = input channels per group *
 * kernel taps. B (the im2col matrix) is never materialised: a pack_b callback packs its panels straight
 * from NCHW (AVX-512 masked loads for unit-stride rows, gathers otherwise, a scalar path without
 * AVX-512), and the GEMM writes NCHW directly through column groups with the bias (and optionally
 * ReLU) fused into its epilogue. Deterministic: the GEMM's tiling depends on the sizes only.
 *
 *   forward        y = conv(x, w) + bias (ReLU)
 *   data gradient  for stride 1, pads <= dilation * (kernel - 1) and >= 16 input channels per group: a
 *                  forward convolution of dY with the flipped, channel-transposed filter (no col2im);
 *                  with strides > 1 and <= 32 output channels per group, col = W^T dY (packed GEMM)
 *                  and col2im, one task per chunk of images (about 2^17 col elements, from the sizes)
 *   filter grad    dW = dY im2col(X)^T, one GEMM per group with K = batch * output positions: dY gathered
 *                  to [M][positions] in the workspace (A), B packed from X by transposing 16 x 16 blocks
 *                  of the forward packer's vectors (no im2col buffer) */
#ifndef JATP_OPS_CONV_PACKED_H
#define JATP_OPS_CONV_PACKED_H

#include <stdbool.h>
#include <stddef.h>

#include "conv.h"

/* Whether the packed forward path takes this geometry (not depthwise: those run direct loops). */
bool jt_conv_packed_fwd_ok(const jt_conv_geom *geo);
size_t jt_conv_packed_fwd_ws(const jt_conv_geom *geo); /* bytes */
void jt_conv_packed_fwd(jt_pool *pool, const jt_conv_geom *geo, const float *x, const float *w,
                        const float *bias, int relu, float *y, void *ws, size_t ws_size);

/* Data gradient (not depthwise): a flipped forward convolution where stride 1 and the pads fit, else
 * the col path; bias per input channel. */
bool jt_conv_packed_bwd_data_ok(const jt_conv_geom *geo);
size_t jt_conv_packed_bwd_data_ws(const jt_conv_geom *geo); /* bytes */
void jt_conv_packed_bwd_data(jt_pool *pool, const jt_conv_geom *geo, const float *dy, const float *w,
                             const float *bias, float *dx, void *ws, size_t ws_size);

/* Filter gradient (overwrites dw). */
bool jt_conv_packed_bwd_filter_ok(const jt_conv_geom *geo);
size_t jt_conv_packed_bwd_filter_ws(const jt_conv_geom *geo); /* bytes */
void jt_conv_packed_bwd_filter(jt_pool *pool, const jt_conv_geom *geo, const float *dy, const float *x,
                               float *dw, void *ws, size_t ws_size);

#endif
