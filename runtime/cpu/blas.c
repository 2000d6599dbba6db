/* GEMM wrappers over OpenBLAS / oneDNN, with a blocked pure-C fallback (see blas.h). */
#include "blas.h"

#include <stdio.h>
#include <string.h>

#include "../../ops/op.h"

#if defined(JT_HAVE_OPENBLAS)
#include <cblas.h>
#elif defined(JT_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.h>
#endif

/* ---- pure-C fallback: C rows split in blocks of GB_MB over the pool; B packed per (k, n) block ---- */

enum { GB_MB = 32, GB_KB = 64, GB_NB = 256 };

#define GEMM_FALLBACK(T, NAME)                                                                     \
    typedef struct {                                                                               \
        bool ta, tb;                                                                               \
        int64_t M, N, K, lda, ldb, ldc;                                                            \
        T alpha, beta;                                                                             \
        const T *A, *B;                                                                            \
        T *C;                                                                                      \
    } NAME##_job;                                                                                  \
    static void NAME##_task(void *arg, int64_t task) {                                             \
        const NAME##_job *j = arg;                                                                 \
        T bp[GB_KB * GB_NB];                                                                       \
        int64_t i0 = task * GB_MB, i1 = i0 + GB_MB < j->M ? i0 + GB_MB : j->M;                     \
        for (int64_t i = i0; i < i1; i++) {                                                        \
            T *c = j->C + i * j->ldc;                                                              \
            if (j->beta == 0)                                                                      \
                for (int64_t n = 0; n < j->N; n++) c[n] = 0;                                       \
            else if (j->beta != 1)                                                                 \
                for (int64_t n = 0; n < j->N; n++) c[n] *= j->beta;                                \
        }                                                                                          \
        if (j->alpha == 0) return;                                                                 \
        for (int64_t k0 = 0; k0 < j->K; k0 += GB_KB) {                                             \
            int64_t kn = j->K - k0 < GB_KB ? j->K - k0 : GB_KB;                                    \
            for (int64_t n0 = 0; n0 < j->N; n0 += GB_NB) {                                         \
                int64_t nn = j->N - n0 < GB_NB ? j->N - n0 : GB_NB;                                \
                for (int64_t k = 0; k < kn; k++)                                                   \
                    for (int64_t n = 0; n < nn; n++)                                               \
                        bp[k * GB_NB + n] = j->tb ? j->B[(n0 + n) * j->ldb + k0 + k]               \
                                                  : j->B[(k0 + k) * j->ldb + n0 + n];              \
                for (int64_t i = i0; i < i1; i++) {                                                \
                    T *c = j->C + i * j->ldc + n0;                                                 \
                    for (int64_t k = 0; k < kn; k++) {                                             \
                        T a = j->ta ? j->A[(k0 + k) * j->lda + i] : j->A[i * j->lda + k0 + k];     \
                        a *= j->alpha;                                                             \
                        const T *b = bp + k * GB_NB;                                               \
                        for (int64_t n = 0; n < nn; n++) c[n] += a * b[n];                         \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    static void NAME(jt_pool *pool, bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha,    \
                     const T *A, int64_t lda, const T *B, int64_t ldb, T beta, T *C, int64_t ldc) { \
        NAME##_job j = {ta, tb, M, N, K, lda, ldb, ldc, alpha, beta, A, B, C};                     \
        if (M <= 0 || N <= 0) return;                                                              \
        jt_pool_run(pool, NAME##_task, &j, (M + GB_MB - 1) / GB_MB);                               \
    }

#if !defined(JT_HAVE_OPENBLAS)
#if !defined(JT_HAVE_ONEDNN)
GEMM_FALLBACK(float, gemm_c_f32)
#endif
GEMM_FALLBACK(double, gemm_c_f64)
#endif

#if defined(JT_HAVE_OPENBLAS)
static void blas_set_threads(jt_ctx *ctx) {
    int want = ctx ? jt_ctx_threads(ctx) : 1;
    if (want < 1) want = 1;
    if (openblas_get_num_threads() != want) openblas_set_num_threads(want);
}
#endif

void jt_sgemm(jt_ctx *ctx, jt_pool *pool, bool trans_a, bool trans_b, int64_t M, int64_t N,
              int64_t K, float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
              float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
#if defined(JT_HAVE_OPENBLAS)
    (void)pool;
    if (K <= 0) { /* BLAS handles K = 0 as C = beta * C; keep the rule explicit */
        for (int64_t i = 0; i < M; i++)
            for (int64_t n = 0; n < N; n++) C[i * ldc + n] = beta == 0 ? 0.0f : C[i * ldc + n] * beta;
        return;
    }
    blas_set_threads(ctx);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C,
                (blasint)ldc);
#elif defined(JT_HAVE_ONEDNN)
    (void)ctx;
    (void)pool;
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t n = 0; n < N; n++) C[i * ldc + n] = beta == 0 ? 0.0f : C[i * ldc + n] * beta;
        return;
    }
    dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    (void)ctx;
    gemm_c_f32(pool, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void jt_dgemm(jt_ctx *ctx, jt_pool *pool, bool trans_a, bool trans_b, int64_t M, int64_t N,
              int64_t K, double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
              double beta, double *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
#if defined(JT_HAVE_OPENBLAS)
    (void)pool;
    if (K <= 0) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t n = 0; n < N; n++) C[i * ldc + n] = beta == 0 ? 0.0 : C[i * ldc + n] * beta;
        return;
    }
    blas_set_threads(ctx);
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (blasint)M, (blasint)N, (blasint)K, alpha, A, (blasint)lda, B, (blasint)ldb, beta, C,
                (blasint)ldc);
#else
    (void)ctx;
    gemm_c_f64(pool, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

const char *jt_blas_info(char *buf, size_t cap) {
#if defined(JT_HAVE_OPENBLAS)
    const char *cfg = openblas_get_config(), *core = openblas_get_corename();
    snprintf(buf, cap, "%s (core: %s, %d threads)", cfg ? cfg : "OpenBLAS", core ? core : "?",
             openblas_get_num_threads());
#elif defined(JT_HAVE_ONEDNN)
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, cap, "oneDNN %d.%d.%d (dnnl_sgemm; f64: builtin C GEMM)", v->major, v->minor,
             v->patch);
#else
    snprintf(buf, cap, "builtin C GEMM (no BLAS)");
#endif
    return buf;
}
