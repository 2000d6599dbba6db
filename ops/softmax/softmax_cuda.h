/* CUDA float32 kernels of the softmax family (softmax_cuda.cu): Softmax, LogSoftmax (opset 1/11
 * coerce-to-2-D and opset 13 single-axis conventions) and SoftmaxGrad, LogSoftmaxGrad. */
#ifndef JATP_SOFTMAX_CUDA_H
#define JATP_SOFTMAX_CUDA_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

jt_status jt_softmax_cuda_f32(const jt_kernel_args *a);
jt_status jt_logsoftmax_cuda_f32(const jt_kernel_args *a);
jt_status jt_softmax_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_logsoftmax_grad_cuda_f32(const jt_kernel_args *a);

#ifdef __cplusplus
}
#endif

/* `SM_CUDA(.cuda_f32 = fn,)`: the field when the CUDA backend is built, nothing otherwise. */
#ifdef JT_HAVE_CUDA
#define SM_CUDA(...) __VA_ARGS__
#else
#define SM_CUDA(...)
#endif

#endif
