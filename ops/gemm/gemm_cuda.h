/* CUDA float32 kernels of the gemm family (issue 5): Gemm, MatMul, GemmGradC, MatMulGradA/B on cuBLAS
 * (gemm_cublas.h, host C included by gemm.c) and two own kernels (gemm_cuda.cu). Row-major products
 * run as cuBLAS column-major ones with the operands swapped: C^T = op(B)^T op(A)^T. Float32 math
 * (CUBLAS_COMPUTE_32F) unless the backend allows TF32 (CUBLAS_COMPUTE_32F_FAST_TF32).
 *
 * Include from C anywhere: without JT_HAVE_CUDA nothing is declared. */
#ifndef JATP_OPS_GEMM_CUDA_H
#define JATP_OPS_GEMM_CUDA_H

#ifdef JT_HAVE_CUDA
#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* y[i, j] = c[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)] for i < M, j < N (Gemm's C broadcast). */
cudaError_t jt_cuda_bcast2d_f32(cudaStream_t s, const float *c, float *y, long long M, long long N, long long cm,
                                long long cn);
/* dc[i, j] = beta * (sum of dy over the rows/columns C broadcasts along), double accumulation; one
 * thread per output in the CPU's order (bitwise equal to it) unless few outputs reduce many values
 * (then one block per output, a fixed tree). */
cudaError_t jt_cuda_gemm_grad_c_f32(cudaStream_t s, const float *dy, float *dc, long long M, long long N,
                                    long long cm, long long cn, double beta);

#ifdef __cplusplus
}
#endif
#endif

#endif
