/* Own packed single-precision GEMM (GotoBLAS/BLIS style), parallel over the context's pool.
 *
 *   jt_gemm_f32        C = alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or X^T.
 *   jt_gemm_f32_packb  C = A * B (+ bias per row) (ReLU), where B is never materialised: a callback
 *                      packs K x N panels of B on demand (convolution packs straight from NCHW).
 *
 * M, N, K: op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides in elements.
 * beta == 0 never reads C (NaN/Inf in C do not propagate). M == 0 or N == 0: nothing happens;
 * K == 0: C = beta * C (+ bias, ReLU).
 *
 * Algorithm. A is packed once into MR-row strips (the workspace, by K block), then one pool job runs
 * tiles of C (MCt rows x NCt columns). Each tile walks K in blocks of at most KC; for each K block and
 * each group of up to JT_GEMM_B_CHUNK columns it packs that piece of B (stack buffer, L2 resident) and
 * runs the MR x NR micro-kernel over the tile's row strips, one NR-column strip at a time (the B strip
 * stays in L1, the A block in L2). Tiles split N first (each piece of B is then packed once), down to
 * 32 columns, then M; when a tile's whole packed A fits in L2 (640 KB) it finishes each column group
 * over all K blocks before the next (its C block stays in cache). For N <= 256 (A used by few column
 * strips) tiles are 64 rows and pack their own A block per K block on the stack instead (no workspace
 * pass). The tile grid, the K
 * blocks and the summation order depend only on (M, N, K) and the kernel, never on the thread count,
 * and every element of C is written by exactly one task: results are bitwise identical for any number
 * of threads. Tasks use about 200 KB of stack (the pool's threads have default 8 MB stacks). Not
 * callable from inside a pool task (it runs its own pool jobs).
 *
 * Kernels: AVX-512 (16 rows x 16 columns, embedded broadcasts, AVX-512 16x16 transposes to pack A),
 * AVX2+FMA (6 x 16) and portable C (4 x 16), picked per call with __builtin_cpu_supports (nothing is
 * cached). On Zen 4 (AVX-512 double-pumped) AVX-512 is ahead by 5-20% on most shapes; AVX2 wins when
 * M is small and 16-row strips would mostly be padding (M = 8, 12, 20, ...): see
 * jt_gemm_f32_kernel_auto and benchmarks/gemm_bench.c. All kernels share NR = JT_GEMM_NR, so B panels
 * have one layout.
 *
 * Packed B panel layout (what a jt_gemm_pack_b_fn must write). For the block rows k0 .. k0+kc-1 and
 * columns n0 .. n0+nc-1 of B, the panel holds ceil(nc / JT_GEMM_NR) strips, strip s covering columns
 * n0 + s*NR .. n0 + s*NR + NR-1; strip s starts at panel + s*kc*NR and stores its kc rows one after
 * another, NR floats per row:
 *
 *     panel[s*kc*NR + k*NR + j] = B[k0 + k][n0 + s*NR + j]     (0 <= k < kc, 0 <= j < NR)
 *
 * with columns past n0+nc-1 (the last strip's padding) set to 0. panel is 64-byte aligned. The driver
 * calls the callback from pool tasks (concurrently, for disjoint or repeated (k, n) ranges, in any
 * order), with n0 a multiple of NR and nc <= JT_GEMM_B_CHUNK; it must only read shared state. */
#ifndef JATP_CPU_GEMM_F32_H
#define JATP_CPU_GEMM_F32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jatp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JT_GEMM_NR 16      /* panel strip width (columns of B / C per micro-kernel call) */
#define JT_GEMM_B_CHUNK 128 /* at most this many columns per pack_b call (a multiple of NR) */

typedef void (*jt_gemm_pack_b_fn)(void *user, int64_t k0, int64_t kc, int64_t n0, int64_t nc,
                                  float *panel);

/* Micro-kernel choice. AUTO = the fastest one this CPU supports for the given M (see
 * jt_gemm_f32_kernel_auto). Forcing a kernel the CPU lacks falls back to AUTO. */
typedef enum jt_gemm_kernel {
    JT_GEMM_KERNEL_AUTO = 0,
    JT_GEMM_KERNEL_C,
    JT_GEMM_KERNEL_AVX2,
    JT_GEMM_KERNEL_AVX512
} jt_gemm_kernel;

/* Bytes of workspace the calls below need for these sizes (packed A, plus 64 for alignment); the
 * same for every kernel, transpose flag and thread count. */
size_t jt_gemm_f32_workspace(int64_t M, int64_t N, int64_t K);

/* With ws == NULL (or ws_size too small) these allocate the workspace per call (aligned_alloc, 64
 * bytes) and free it before returning; abort on out-of-memory. Inside a training loop pass ws. */
void jt_gemm_f32(jt_pool *pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                 float alpha, const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                 float *C, int64_t ldc);
void jt_gemm_f32_ws(jt_pool *pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                    float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float beta, float *C, int64_t ldc, void *ws, size_t ws_size);

/* A is M x K row-major (not transposed); bias has M entries or is NULL; relu != 0 clamps at 0 after
 * the bias. alpha = 1, beta = 0 (C is not read). */
void jt_gemm_f32_packb(jt_pool *pool, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                       jt_gemm_pack_b_fn pack_b, void *user, float *C, int64_t ldc,
                       const float *bias, int relu);
void jt_gemm_f32_packb_ws(jt_pool *pool, int64_t M, int64_t N, int64_t K, const float *A,
                          int64_t lda, jt_gemm_pack_b_fn pack_b, void *user, float *C, int64_t ldc,
                          const float *bias, int relu, void *ws, size_t ws_size);

/* Everything at once (used by the wrappers above, tests and the benchmark). Exactly one of B and
 * pack_b is non-NULL; trans_b applies to B only. */
typedef struct jt_gemm_f32_args {
    int64_t M, N, K;
    bool trans_a, trans_b;
    float alpha, beta;
    const float *A;
    int64_t lda;
    const float *B;
    int64_t ldb;
    jt_gemm_pack_b_fn pack_b;
    void *pack_b_user;
    float *C;
    int64_t ldc;
    /* Column groups (batched convolution writing NCHW directly): with c_group_cols > 0, column n of C
     * lives at C + row*ldc + (n / c_group_cols) * c_group_stride + n % c_group_cols. E.g. N = batch*HW
     * with c_group_cols = HW, c_group_stride = M*HW, ldc = HW. 0: plain rows. Blocks of NR columns
     * that straddle a group take a slower scalar store, so keep c_group_cols a multiple of NR. */
    int64_t c_group_cols, c_group_stride;
    /* Narrowest column tile (0: 32). Wider tiles stream A fewer times: worth it when K is large and
     * packing B is costly (the convolution filter gradient). Depends on sizes only, like the rest. */
    int64_t min_tile_cols;
    const float *bias; /* per row of C, or NULL */
    int relu;
    void *ws; /* jt_gemm_f32_workspace(M, N, K) bytes, or NULL: allocated per call */
    size_t ws_size;
    jt_gemm_kernel kernel;
} jt_gemm_f32_args;
void jt_gemm_f32_run(jt_pool *pool, const jt_gemm_f32_args *args);

/* Reference packer from a plain row-major B (K x N, row stride ldb; trans_b: B is stored N x K):
 * writes the panel for rows k0..k0+kc-1, columns n0..n0+nc-1 in the layout above. `user` must point
 * to a jt_gemm_f32_matrix. */
typedef struct jt_gemm_f32_matrix {
    const float *data;
    int64_t ld;
    bool trans;
} jt_gemm_f32_matrix;
void jt_gemm_f32_pack_b_matrix(void *user, int64_t k0, int64_t kc, int64_t n0, int64_t nc,
                               float *panel);

/* The kernel AUTO resolves to on this CPU for M rows (see gemm_f32.c), and a name for a kernel
 * ("avx512 16x16", "avx2 6x16", "c 4x16"). */
jt_gemm_kernel jt_gemm_f32_kernel_auto(int64_t M);
const char *jt_gemm_f32_kernel_name(jt_gemm_kernel k);
/* Whether this CPU can run the kernel. */
bool jt_gemm_f32_kernel_supported(jt_gemm_kernel k);

#ifdef __cplusplus
}
#endif
#endif
