/* CUDA float32 kernels of the reduce family (reduce_cuda.cu): ReduceSum, ReduceMean, ReduceMax and
 * ReduceGrad, deterministic (reduce_cuda_common.cuh). The forward ops resolve their axes in
 * cuda_prepare, where a constant axes input is still host memory, and keep the plan in the node state. */
#ifndef JATP_REDUCE_CUDA_H
#define JATP_REDUCE_CUDA_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

jt_status jt_reduce_cuda_prepare(const jt_kernel_args *a, void **state);
void jt_reduce_cuda_release(void *state);
size_t jt_reduce_cuda_workspace(const jt_kernel_args *a);
jt_status jt_reduce_sum_cuda_f32(const jt_kernel_args *a);
jt_status jt_reduce_mean_cuda_f32(const jt_kernel_args *a);
jt_status jt_reduce_max_cuda_f32(const jt_kernel_args *a);

size_t jt_reduce_grad_cuda_workspace(const jt_kernel_args *a);
jt_status jt_reduce_grad_cuda_f32(const jt_kernel_args *a);

#ifdef __cplusplus
}
#endif

/* `RD_CUDA(.cuda_f32 = fn,)`: the fields when the CUDA backend is built, nothing otherwise. */
#ifdef JT_HAVE_CUDA
#define RD_CUDA(...) __VA_ARGS__
#else
#define RD_CUDA(...)
#endif

#endif
