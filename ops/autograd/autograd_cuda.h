/* CUDA float32 kernels of the autograd helpers (autograd_cuda.cu): OnesLike, ZerosLike and SumTo
 * (a deterministic reduction, reduce/reduce_cuda_common.cuh). */
#ifndef JATP_AUTOGRAD_CUDA_H
#define JATP_AUTOGRAD_CUDA_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

jt_status jt_ones_like_cuda_f32(const jt_kernel_args *a);
jt_status jt_zeros_like_cuda_f32(const jt_kernel_args *a);
size_t jt_sum_to_cuda_workspace(const jt_kernel_args *a);
jt_status jt_sum_to_cuda_f32(const jt_kernel_args *a);

#ifdef __cplusplus
}
#endif

/* `AG_CUDA(.cuda_f32 = fn,)`: the fields when the CUDA backend is built, nothing otherwise. */
#ifdef JT_HAVE_CUDA
#define AG_CUDA(...) __VA_ARGS__
#else
#define AG_CUDA(...)
#endif

#endif
