/* CUDA float32 kernels of the attack family (ops/attack/attack_cuda.cu): one thread per example runs
 * the shared arithmetic of attack_loss_math.h; the kind scalar is read on the device. */
#ifndef JATP_ATTACK_CUDA_H
#define JATP_ATTACK_CUDA_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

jt_status jt_attack_loss_cuda_f32(const jt_kernel_args *a);      /* AttackLoss */
jt_status jt_attack_loss_grad_cuda_f32(const jt_kernel_args *a); /* AttackLossGrad */

#ifdef __cplusplus
}
#endif
#endif
