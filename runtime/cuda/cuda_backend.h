/* What CUDA kernels get from the backend (internal): the stream, cuBLAS and cuDNN handles. Include
 * from host C or .cu files; every call is checked with the macros of check.h. */
#ifndef JATP_CUDA_BACKEND_H
#define JATP_CUDA_BACKEND_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#ifdef __cplusplus
extern "C" {
#endif

struct jt_backend;
cudaStream_t jt_cuda_stream(const struct jt_backend *b);
cublasHandle_t jt_cuda_cublas(const struct jt_backend *b);
cudnnHandle_t jt_cuda_cudnn(const struct jt_backend *b);
int jt_cuda_tf32(const struct jt_backend *b);          /* TF32 allowed (cuBLAS/cuDNN math) */
int jt_cuda_deterministic(const struct jt_backend *b); /* deterministic algorithms only */

/* Launch geometry for n elements: blocks of JT_CUDA_THREADS threads, grid capped (grid-stride loops). */
#define JT_CUDA_THREADS 256
static inline unsigned jt_cuda_blocks(long long n) {
    long long b = (n + JT_CUDA_THREADS - 1) / JT_CUDA_THREADS;
    return (unsigned)(b < 1 ? 1 : (b > 65535LL * 32 ? 65535LL * 32 : b));
}

#ifdef __cplusplus
}
#endif
#endif
