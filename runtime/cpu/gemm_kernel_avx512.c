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
        __builtin_prefetch(a + 16 * 8);
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

/* Packs 16 full rows of a row-major A (row stride lda), columns 0..kc-1: dst[k*16 + i] = a[i*lda + k],
 * with 16 x 16 register transposes (the scalar gather costs several times more). */
TGT void jt_gemm_pack_a16_avx512(const float *a, int64_t lda, int64_t kc, float *dst) {
    int64_t k = 0;
    for (; k + 16 <= kc; k += 16) {
        __m512 r[16], t[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(a + i * lda + k);
#pragma GCC unroll 8
        for (int i = 0; i < 16; i += 2) {
            t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
            t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
        }
#pragma GCC unroll 4
        for (int i = 0; i < 16; i += 4) {
            r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
            r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
            r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
            r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        }
        /* r[4q + j] now holds, per 128-bit lane L, column 4L + j of rows 4q .. 4q+3. */
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            t[j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);      /* lanes 0,2 of rows 0-3 | 4-7 */
            t[4 + j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd);  /* lanes 1,3 */
            t[8 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
            t[12 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
        }
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            _mm512_store_ps(dst + (k + j) * 16, _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88));
            _mm512_store_ps(dst + (k + 8 + j) * 16, _mm512_shuffle_f32x4(t[j], t[8 + j], 0xdd));
            _mm512_store_ps(dst + (k + 4 + j) * 16, _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88));
            _mm512_store_ps(dst + (k + 12 + j) * 16, _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xdd));
        }
    }
    for (; k < kc; k++)
        for (int i = 0; i < 16; i++) dst[k * 16 + i] = a[i * lda + k];
}

#else
#include <stdlib.h>
void jt_gemm_pack_a16_avx512(const float *a, int64_t lda, int64_t kc, float *dst) {
    (void)a, (void)lda, (void)kc, (void)dst;
    abort();
}
void jt_gemm_ukernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                            const jt_gemm_epi *e) {
    (void)kc, (void)a, (void)b, (void)c, (void)ldc, (void)e;
    abort(); /* never dispatched off x86-64 */
}
#endif
