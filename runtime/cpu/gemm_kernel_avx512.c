/* AVX-512 micro-kernel of the packed SGEMM: 16 rows x 16 columns, one zmm accumulator per row (16 of
 * the 32 registers), one B load and 16 FMAs with embedded broadcasts of A per k step. Compiled for
 * AVX-512F via target attributes; called only when __builtin_cpu_supports("avx512f") says so. */
#include <immintrin.h>

#include "gemm_kernels.h"

#if defined(__x86_64__)

#define TGT __attribute__((target("avx512f,avx512vl,fma")))
#define MR JT_GEMM_MR_AVX512

TGT void jt_gemm_ukernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                const jt_gemm_epi *e) {
    __m512 acc[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) acc[i] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) __builtin_prefetch(c + i * ldc, 1);
    int64_t k = 0;
    for (; k + 2 <= kc; k += 2) {
        __builtin_prefetch(b + 16 * 8);
        __m512 b0 = _mm512_load_ps(b);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b0, acc[i]);
        __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[MR + i]), b1, acc[i]);
        a += 2 * MR;
        b += 32;
    }
    for (; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b0, acc[i]);
        a += MR;
        b += 16;
    }
    const __m512 va = _mm512_set1_ps(e->alpha), vb = _mm512_set1_ps(e->beta);
    const __m512 zero = _mm512_setzero_ps();
    const float beta = e->beta;
    const float *bs = e->bias;
    const int relu = e->relu;
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        __m512 r = _mm512_mul_ps(acc[i], va);
        if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + i * ldc), r);
        if (bs) r = _mm512_add_ps(r, _mm512_set1_ps(bs[i]));
        if (relu) r = _mm512_max_ps(r, zero);
        _mm512_storeu_ps(c + i * ldc, r);
    }
}

#else
#include <stdlib.h>
void jt_gemm_ukernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                            const jt_gemm_epi *e) {
    (void)kc, (void)a, (void)b, (void)c, (void)ldc, (void)e;
    abort(); /* never dispatched off x86-64 */
}
#endif
