/* AVX2 + FMA micro-kernel of the packed SGEMM: 6 rows x 16 columns (12 ymm accumulators, two B loads
 * and six broadcasts per k step), the Haswell-style shape. Compiled for AVX2 via target attributes, so
 * the rest of the library keeps the baseline ISA; called only when __builtin_cpu_supports says so. */
#include <immintrin.h>

#include "gemm_kernels.h"

#if defined(__x86_64__) || defined(__i386__)

#define TGT __attribute__((target("avx2,fma")))
#define MR JT_GEMM_MR_AVX2

TGT static inline __m256 epi_row(__m256 acc, const float *c, const jt_gemm_epi *e, __m256 va,
                                 __m256 vb, float bias) {
    __m256 r = _mm256_mul_ps(acc, va);
    if (e->beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), r);
    if (e->bias) r = _mm256_add_ps(r, _mm256_set1_ps(bias));
    if (e->relu) r = _mm256_max_ps(r, _mm256_setzero_ps());
    return r;
}

TGT void jt_gemm_ukernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                              const jt_gemm_epi *e) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#define STEP(o)                                                                                     \
    do {                                                                                            \
        __m256 b0 = _mm256_load_ps(b + (o) * 16), b1 = _mm256_load_ps(b + (o) * 16 + 8);           \
        __m256 x;                                                                                   \
        x = _mm256_broadcast_ss(a + (o) * MR + 0);                                                  \
        c00 = _mm256_fmadd_ps(x, b0, c00);                                                          \
        c01 = _mm256_fmadd_ps(x, b1, c01);                                                          \
        x = _mm256_broadcast_ss(a + (o) * MR + 1);                                                  \
        c10 = _mm256_fmadd_ps(x, b0, c10);                                                          \
        c11 = _mm256_fmadd_ps(x, b1, c11);                                                          \
        x = _mm256_broadcast_ss(a + (o) * MR + 2);                                                  \
        c20 = _mm256_fmadd_ps(x, b0, c20);                                                          \
        c21 = _mm256_fmadd_ps(x, b1, c21);                                                          \
        x = _mm256_broadcast_ss(a + (o) * MR + 3);                                                  \
        c30 = _mm256_fmadd_ps(x, b0, c30);                                                          \
        c31 = _mm256_fmadd_ps(x, b1, c31);                                                          \
        x = _mm256_broadcast_ss(a + (o) * MR + 4);                                                  \
        c40 = _mm256_fmadd_ps(x, b0, c40);                                                          \
        c41 = _mm256_fmadd_ps(x, b1, c41);                                                          \
        x = _mm256_broadcast_ss(a + (o) * MR + 5);                                                  \
        c50 = _mm256_fmadd_ps(x, b0, c50);                                                          \
        c51 = _mm256_fmadd_ps(x, b1, c51);                                                          \
    } while (0)
    for (int i = 0; i < MR; i++) {
        __builtin_prefetch(c + i * ldc, 1);
        __builtin_prefetch(c + i * ldc + 15, 1);
    }
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        __builtin_prefetch(b + 16 * 16);
        STEP(0);
        STEP(1);
        __builtin_prefetch(b + 16 * 18);
        STEP(2);
        STEP(3);
        a += 4 * MR;
        b += 4 * 16;
    }
    for (; k < kc; k++) {
        STEP(0);
        a += MR;
        b += 16;
    }
#undef STEP
    const __m256 va = _mm256_set1_ps(e->alpha), vb = _mm256_set1_ps(e->beta);
    const float *bs = e->bias;
#define ROW(i, r0, r1)                                                                              \
    do {                                                                                            \
        float bi = bs ? bs[i] : 0.0f;                                                               \
        __m256 o0 = epi_row(r0, c + (i) * ldc, e, va, vb, bi);                                      \
        __m256 o1 = epi_row(r1, c + (i) * ldc + 8, e, va, vb, bi);                                  \
        _mm256_storeu_ps(c + (i) * ldc, o0);                                                        \
        _mm256_storeu_ps(c + (i) * ldc + 8, o1);                                                    \
    } while (0)
    ROW(0, c00, c01);
    ROW(1, c10, c11);
    ROW(2, c20, c21);
    ROW(3, c30, c31);
    ROW(4, c40, c41);
    ROW(5, c50, c51);
#undef ROW
}

#else
#include <stdlib.h>
/* Not x86: never dispatched; keep the symbol so the table links. */
void jt_gemm_ukernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                          const jt_gemm_epi *e) {
    (void)kc, (void)a, (void)b, (void)c, (void)ldc, (void)e;
    abort();
}
#endif
