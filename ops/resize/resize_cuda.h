/* CUDA float32 kernels of the resize family (ops/resize/resize_cuda.cu): Resize and Upsample (nearest,
 * linear, cubic: every mode the CPU kernel supports) and ResizeGrad. roi/scales/sizes are constants that
 * live on the device at run time, so cuda_prepare computes the geometry and the CPU's tap tables (host
 * data at plan time) and uploads them once; the kernels only read them. */
#ifndef JATP_RESIZE_CUDA_H
#define JATP_RESIZE_CUDA_H

#include "resize.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Resize, Upsample: cuda_prepare / cuda_f32 (cuda_workspace: jt_resize_workspace, an upper bound). */
jt_status jt_resize_cuda_prepare(const jt_kernel_args *a, void **state);
jt_status jt_resize_cuda_f32(const jt_kernel_args *a);
/* ResizeGrad: the adjoint as jt_cuda_sep_adj (deterministic gather formulation, no atomics). */
jt_status jt_resize_grad_cuda_prepare(const jt_kernel_args *a, void **state);
jt_status jt_resize_grad_cuda_f32(const jt_kernel_args *a);
/* Releases either state (device tables included). */
void jt_resize_cuda_release(void *state);

#ifdef __cplusplus
}
#endif
#endif
