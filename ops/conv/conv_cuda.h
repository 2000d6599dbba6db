/* CUDA float32 kernels of the conv family (issue 5). Host code over cuDNN (legacy convolution API):
 * conv_cudnn.c; own kernels (padding shifts, BiasGrad): conv_cuda.cu.
 *
 * One set of hooks serves the six convolution ops; each node runs one convolution pass in
 * "convolution terms" (jt_conv_geom_swap for the transposed ops):
 *   Conv, ConvTransposeGradData       forward           y = conv(x, w) (+ bias on y)
 *   ConvTranspose, ConvGradData       backward-data     dx = conv^T(dy, w) (+ bias on dx: ConvTranspose)
 *   ConvGradFilter, ConvTransposeGradFilter   backward-filter   dw = f(x, dy)
 * Asymmetric (or negative) pads, which cuDNN does not take, run on a zero-padded copy of the input side
 * held at the start of the workspace (forward, backward-filter) or through a padded gradient cropped
 * into dx (backward-data). BiasGrad is an own deterministic reduction (one block per channel).
 *
 * Include from C anywhere: without JT_HAVE_CUDA JT_CONV_CUDA_IMPL is empty and nothing is declared. */
#ifndef JATP_OPS_CONV_CUDA_H
#define JATP_OPS_CONV_CUDA_H

#ifdef JT_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Host hooks (conv_cudnn.c): algorithm choice and descriptors at plan time, one cuDNN call per run. */
jt_status jt_conv_cuda_prepare(const jt_kernel_args *a, void **state);
void jt_conv_cuda_release(void *state);
size_t jt_conv_cuda_workspace(const jt_kernel_args *a);
jt_status jt_conv_cuda_f32(const jt_kernel_args *a);
jt_status jt_bias_grad_cuda_f32(const jt_kernel_args *a);

/* dst[p, i] = src[p, i + off] where 0 <= i + off < src extent on each of the 3 spatial axes, else 0;
 * p over planes (N * C). Pads (off = -pb) and crops (off = +pb). */
typedef struct jt_cuda_shift3 {
    long long planes;
    long long src[3], dst[3], off[3];
} jt_cuda_shift3;
cudaError_t jt_cuda_conv_shift_f32(cudaStream_t s, const float *src, float *dst, jt_cuda_shift3 g);
/* db[c] = sum over n and the plane of dy[n, c, :] (double accumulation, fixed order). */
cudaError_t jt_cuda_bias_grad_f32(cudaStream_t s, const float *dy, float *db, long long N, long long C,
                                  long long plane);

#ifdef __cplusplus
}
#endif

#define JT_CONV_CUDA_IMPL                                                                                    \
    .cuda_f32 = jt_conv_cuda_f32, .cuda_prepare = jt_conv_cuda_prepare, .cuda_release = jt_conv_cuda_release, \
    .cuda_workspace = jt_conv_cuda_workspace,
#define JT_BIAS_GRAD_CUDA_IMPL .cuda_f32 = jt_bias_grad_cuda_f32,
#else
#define JT_CONV_CUDA_IMPL
#define JT_BIAS_GRAD_CUDA_IMPL
#endif

#endif
