/* CUDA float32 optimizer kernels (ops/optim/optim_cuda.cu): one fused element-wise kernel per op (the
 * ONNX ops' n tensors go through one launch per 16 tensors). lr / step / R / T / max_norm are device
 * scalars on the CUDA backend: the kernels read them on the device, nothing is copied to the host.
 * Element arithmetic follows the CPU kernels operation by operation with separately rounded products
 * (no FMA contraction), so results match the CPU's up to the device's pow() in the bias corrections.
 * Checks that need the scalar values (AdamStep's step >= 1) cannot fail on the device. */
#ifndef JATP_OPTIM_CUDA_H
#define JATP_OPTIM_CUDA_H

#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

jt_status jt_sgd_step_cuda_f32(const jt_kernel_args *a);
jt_status jt_adam_step_cuda_f32(const jt_kernel_args *a);
/* ClipByGlobalNorm: sum of squares in double over the CPU's chunks (OPTIM_CHUNK elements per gradient),
 * each chunk one block, then one block summing the chunks in a fixed order: deterministic. */
jt_status jt_clip_by_global_norm_cuda_f32(const jt_kernel_args *a);
size_t jt_clip_by_global_norm_cuda_workspace(const jt_kernel_args *a);
jt_status jt_onnx_momentum_cuda_f32(const jt_kernel_args *a);
jt_status jt_onnx_adagrad_cuda_f32(const jt_kernel_args *a);
jt_status jt_onnx_adam_cuda_f32(const jt_kernel_args *a);

#ifdef __cplusplus
}
#endif
#endif
