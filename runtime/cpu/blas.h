/* Row-major GEMM wrappers: C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T.
 *
 * With JT_HAVE_OPENBLAS they call cblas_sgemm/cblas_dgemm (OpenBLAS's thread count is set to the
 * context's before each call, only when it differs); with JT_HAVE_ONEDNN (and no OpenBLAS) f32 calls
 * dnnl_sgemm; otherwise (and for f64 under oneDNN) a blocked pure-C GEMM runs, split over the pool in
 * row blocks chosen from the problem size only. Never call these from inside a pool task.
 *
 * M, N, K: op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides in elements. */
#ifndef JATP_CPU_BLAS_H
#define JATP_CPU_BLAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jatp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

void jt_sgemm(jt_ctx *ctx, jt_pool *pool, bool trans_a, bool trans_b, int64_t M, int64_t N,
              int64_t K, float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
              float beta, float *C, int64_t ldc);
void jt_dgemm(jt_ctx *ctx, jt_pool *pool, bool trans_a, bool trans_b, int64_t M, int64_t N,
              int64_t K, double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
              double beta, double *C, int64_t ldc);

/* One line describing the GEMM backend, e.g. "OpenBLAS 0.3.21 ... (core: SkylakeX, 2 threads)" or
 * "builtin C GEMM". Writes into buf and returns it. */
const char *jt_blas_info(char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
