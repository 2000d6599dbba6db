/* CUDA float32 kernels of the loss family (ops/loss/loss_cuda.cu). Labels and the upstream gradient are
 * read on the device. Reductions (sum, mean and the mean's weight sum) are deterministic: per-position
 * values in double, then one block summing them in a fixed order (no atomics). A label outside [0, C)
 * that is not ignore_index cannot be reported from the device without a synchronisation: it makes the
 * loss (and the gradient or one-hot rows of that position) NaN instead. ConstLike is never run on a
 * device (JT_OP_SHAPE_ONLY: folded at plan time). */
#ifndef JATP_LOSS_CUDA_H
#define JATP_LOSS_CUDA_H

#include "loss.h"

#ifdef __cplusplus
extern "C" {
#endif

jt_status jt_sce_cuda_f32(const jt_kernel_args *a);      /* SoftmaxCrossEntropyLoss */
jt_status jt_nll_cuda_f32(const jt_kernel_args *a);      /* NegativeLogLikelihoodLoss */
size_t jt_loss_cuda_workspace(const jt_kernel_args *a);  /* both forwards: per-position loss and weight */
jt_status jt_sce_grad_cuda_f32(const jt_kernel_args *a); /* SoftmaxCrossEntropyLossGrad */
jt_status jt_nll_grad_cuda_f32(const jt_kernel_args *a); /* NegativeLogLikelihoodLossGrad */
size_t jt_loss_grad_cuda_workspace(const jt_kernel_args *a); /* both grads: the mean's weight sum */
jt_status jt_one_hot_like_cuda_f32(const jt_kernel_args *a); /* OneHotLike */

#ifdef __cplusplus
}
#endif
#endif
