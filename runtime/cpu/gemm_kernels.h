/* Internal: micro-kernels of the packed SGEMM (runtime/cpu/gemm_f32.c).
 *
 * A micro-kernel computes acc = sum_k a[k*MR + i] * b[k*NR + j] over kc steps for an MR x NR block
 * (a: one packed A strip, b: one packed B strip, NR = JT_GEMM_NR) and stores
 *     c[i*ldc + j] = alpha * acc + (beta != 0 ? beta * c[i*ldc + j] : 0) (+ bias[i]) (ReLU)
 * for all MR x NR elements (the driver passes a local buffer for edge blocks). beta == 0 never reads c.
 * kc may be 0. a and b are 64-byte aligned. */
#ifndef JATP_CPU_GEMM_KERNELS_H
#define JATP_CPU_GEMM_KERNELS_H

#include <stdint.h>

#include "gemm_f32.h"

typedef struct jt_gemm_epi {
    float alpha, beta;
    const float *bias; /* MR entries (the strip's rows) or NULL */
    int relu;
} jt_gemm_epi;

typedef void (*jt_gemm_ukernel)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                const jt_gemm_epi *e);

#define JT_GEMM_MR_C 4
#define JT_GEMM_MR_AVX2 6
#define JT_GEMM_MR_AVX512 16
#define JT_GEMM_MR_MAX 16

void jt_gemm_ukernel_c(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                       const jt_gemm_epi *e);
void jt_gemm_ukernel_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                          const jt_gemm_epi *e);
void jt_gemm_ukernel_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                            const jt_gemm_epi *e);

/* dst[k*16 + i] = a[i*lda + k] for 16 rows, k < kc (dst 64-byte aligned). */
void jt_gemm_pack_a16_avx512(const float *a, int64_t lda, int64_t kc, float *dst);

#endif
