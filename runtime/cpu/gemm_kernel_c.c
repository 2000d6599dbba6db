/* Portable C micro-kernel of the packed SGEMM: 4 rows x 16 columns (the compiler vectorises the
 * column loop with whatever the baseline ISA offers). */
#include "gemm_kernels.h"

#define MR JT_GEMM_MR_C
#define NR JT_GEMM_NR

void jt_gemm_ukernel_c(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                       const jt_gemm_epi *e) {
    float acc[MR][NR] = {{0}};
    for (int64_t k = 0; k < kc; k++) {
        const float *bk = b + k * NR;
        for (int i = 0; i < MR; i++) {
            const float ai = a[k * MR + i];
            for (int j = 0; j < NR; j++) acc[i][j] += ai * bk[j];
        }
    }
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        for (int j = 0; j < NR; j++) {
            float r = e->alpha * acc[i][j];
            if (e->beta != 0.0f) r += e->beta * ci[j];
            if (e->bias) r += e->bias[i];
            if (e->relu && !(r > 0.0f)) r = 0.0f;
            ci[j] = r;
        }
    }
}
