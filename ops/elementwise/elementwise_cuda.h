/* CUDA float32 kernels of the element-wise family (elementwise_cuda.cu): jt_kernel_fn launchers that
 * read shapes from the kernel arguments and launch on the backend's stream. The arithmetic is the
 * JT_HD functions of elementwise_math.h, the same the CPU kernels run. Operand selection follows the
 * descriptors' type_input (float32 inputs; Where: float32 branches with a bool condition; Equal, Less,
 * Greater: float32 inputs, bool output). */
#ifndef JATP_ELEMENTWISE_CUDA_H
#define JATP_ELEMENTWISE_CUDA_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* unary.c */
jt_status jt_relu_cuda_f32(const jt_kernel_args *a);
jt_status jt_leakyrelu_cuda_f32(const jt_kernel_args *a);
jt_status jt_sigmoid_cuda_f32(const jt_kernel_args *a);
jt_status jt_tanh_cuda_f32(const jt_kernel_args *a);
jt_status jt_elu_cuda_f32(const jt_kernel_args *a);
jt_status jt_softplus_cuda_f32(const jt_kernel_args *a);
jt_status jt_sqrt_cuda_f32(const jt_kernel_args *a);
jt_status jt_neg_cuda_f32(const jt_kernel_args *a);
jt_status jt_abs_cuda_f32(const jt_kernel_args *a);
jt_status jt_exp_cuda_f32(const jt_kernel_args *a);
jt_status jt_log_cuda_f32(const jt_kernel_args *a);
/* clip.c (Clip-6 attributes and Clip-11+ optional inputs) */
jt_status jt_clip_cuda_f32(const jt_kernel_args *a);
/* binary.c (opset-6 legacy broadcast included), pow.c (any numeric exponent dtype) */
jt_status jt_add_cuda_f32(const jt_kernel_args *a);
jt_status jt_sub_cuda_f32(const jt_kernel_args *a);
jt_status jt_mul_cuda_f32(const jt_kernel_args *a);
jt_status jt_div_cuda_f32(const jt_kernel_args *a);
jt_status jt_max_cuda_f32(const jt_kernel_args *a);
jt_status jt_min_cuda_f32(const jt_kernel_args *a);
jt_status jt_prelu_cuda_f32(const jt_kernel_args *a);
jt_status jt_pow_cuda_f32(const jt_kernel_args *a);
/* compare.c, where.c */
jt_status jt_equal_cuda_f32(const jt_kernel_args *a);
jt_status jt_less_cuda_f32(const jt_kernel_args *a);
jt_status jt_greater_cuda_f32(const jt_kernel_args *a);
jt_status jt_where_cuda_f32(const jt_kernel_args *a);
/* ew_grad.c */
jt_status jt_relu_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_leaky_relu_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_sigmoid_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_tanh_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_elu_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_softplus_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_sqrt_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_abs_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_clip_grad_cuda_f32(const jt_kernel_args *a);
/* ew_grad_bcast.c */
jt_status jt_prelu_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_pow_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_where_grad_cuda_f32(const jt_kernel_args *a);
jt_status jt_maxmin_grad_cuda_f32(const jt_kernel_args *a);
/* MaxMinGrad with more than 16 inputs counts ties in passes through the workspace */
size_t jt_maxmin_grad_cuda_workspace(const jt_kernel_args *a);

#ifdef __cplusplus
}
#endif

/* Descriptor fields: `EW_CUDA(.cuda_f32 = fn,)` expands to its argument when the CUDA backend is
 * built, to nothing otherwise. */
#ifdef JT_HAVE_CUDA
#define EW_CUDA(...) __VA_ARGS__
#else
#define EW_CUDA(...)
#endif

#endif
