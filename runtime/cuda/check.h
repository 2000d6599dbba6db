/* Turns CUDA runtime, cuBLAS and cuDNN results into jt_status with the call text, file:line and the
 * library's error string. Every launch is followed by JT_CUDA_CHECK_LAUNCH (cudaGetLastError, no
 * synchronisation). */
#ifndef JATP_CUDA_CHECK_H
#define JATP_CUDA_CHECK_H

#include <cuda_runtime_api.h>

#include "jatp/status.h"

#define JT_CUDA_TRY(ctx, call)                                                                                \
    do {                                                                                                      \
        cudaError_t e_ = (call);                                                                              \
        if (e_ != cudaSuccess)                                                                                \
            return jt_fail((ctx), JT_ERR_DEVICE, "CUDA error at %s:%d: %s: %s (%s)", __FILE__, __LINE__, #call, \
                           cudaGetErrorString(e_), cudaGetErrorName(e_));                                     \
    } while (0)

#define JT_CUDA_CHECK_LAUNCH(ctx) JT_CUDA_TRY(ctx, cudaGetLastError())

/* cuBLAS and cuDNN status codes (include cublas_v2.h / cudnn.h before this header). */
#ifdef CUBLAS_V2_H_
#define JT_CUBLAS_TRY(ctx, call)                                                                              \
    do {                                                                                                      \
        cublasStatus_t s_ = (call);                                                                           \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                                      \
            return jt_fail((ctx), JT_ERR_DEVICE, "cuBLAS error at %s:%d: %s: %s", __FILE__, __LINE__, #call,    \
                           cublasGetStatusString(s_));                                                        \
    } while (0)
#endif
#ifdef CUDNN_VERSION
#define JT_CUDNN_TRY(ctx, call)                                                                               \
    do {                                                                                                      \
        cudnnStatus_t s_ = (call);                                                                            \
        if (s_ != CUDNN_STATUS_SUCCESS)                                                                       \
            return jt_fail((ctx), JT_ERR_DEVICE, "cuDNN error at %s:%d: %s: %s", __FILE__, __LINE__, #call,     \
                           cudnnGetErrorString(s_));                                                          \
    } while (0)
#endif

#endif
