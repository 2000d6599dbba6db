/* CUDA float32 kernels of the pooling ops and their gradients (issue 5): own kernels (pool_cuda.cu),
 * host hooks (pool_cuda_host.c). The arithmetic repeats the CPU kernels' (pool_cpu_tmpl.h,
 * pool_grad_tmpl.h) in the same order, so results are bitwise equal to the CPU's except the global
 * average (a fixed tree of double partial sums):
 *   MaxPool, AveragePool   one thread per output, the CPU's window scan (first maximum wins; Indices
 *                          as the CPU writes them);
 *   GlobalMax/AveragePool  one block per (n, c) plane, fixed-order reductions;
 *   MaxPoolGrad            argmax per window into the workspace (int32 offsets in the plane), then one
 *                          thread per input element gathering the windows that chose it in window
 *                          order (no atomics: deterministic, the CPU's sum order);
 *   AveragePoolGrad        one thread per input element gathering dY / count in window order;
 *   GlobalMaxPoolGrad      one block per plane (argmax, then the plane's dX);
 *   GlobalAveragePoolGrad  element-wise.
 * Include from C anywhere: without JT_HAVE_CUDA the descriptor macros are empty. */
#ifndef JATP_OPS_POOL_CUDA_H
#define JATP_OPS_POOL_CUDA_H

#ifdef JT_HAVE_CUDA
#include <cuda_runtime_api.h>
#include <stdint.h>

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

jt_status jt_pool_cuda_f32(const jt_kernel_args *a);
jt_status jt_pool_grad_cuda_f32(const jt_kernel_args *a);
size_t jt_pool_grad_cuda_workspace(const jt_kernel_args *a);

enum { JT_CUDA_POOL_MAX = 0, JT_CUDA_POOL_AVG = 1 };

/* The geometry of pool.h (normalised to 3 spatial axes) as plain values for the kernels. */
typedef struct jt_cuda_pool_geom {
    long long planes; /* N * C */
    long long in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
    long long in_sz, out_sz;
    int kind; /* JT_CUDA_POOL_MAX / _AVG */
    int count_include_pad, storage_order;
} jt_cuda_pool_geom;

/* Windowed pools: y (planes * out_sz; NULL: MaxPool argmax only); idx (MaxPool Indices, int64) or NULL; arg (int32 argmax offsets
 * in the plane, -1 for an empty window) or NULL. */
cudaError_t jt_cuda_pool_fwd_f32(cudaStream_t s, jt_cuda_pool_geom g, const float *x, float *y, int64_t *idx,
                                 int32_t *arg);
/* Global pools: y[p] = max / mean of plane p. */
cudaError_t jt_cuda_global_pool_f32(cudaStream_t s, jt_cuda_pool_geom g, const float *x, float *y);
/* Windowed gradients: MaxPoolGrad reads arg (from jt_cuda_pool_fwd_f32), AveragePoolGrad does not. */
cudaError_t jt_cuda_pool_grad_f32(cudaStream_t s, jt_cuda_pool_geom g, const float *dy, const int32_t *arg,
                                  float *dx);
/* Global gradients: x is read for the max (NULL for the average). */
cudaError_t jt_cuda_global_pool_grad_f32(cudaStream_t s, jt_cuda_pool_geom g, const float *dy, const float *x,
                                         float *dx);

#ifdef __cplusplus
}
#endif

#define JT_POOL_CUDA_IMPL .cuda_f32 = jt_pool_cuda_f32,
#define JT_POOL_GRAD_CUDA_IMPL .cuda_f32 = jt_pool_grad_cuda_f32, .cuda_workspace = jt_pool_grad_cuda_workspace,
#else
#define JT_POOL_CUDA_IMPL
#define JT_POOL_GRAD_CUDA_IMPL
#endif

#endif
