/* Packed SGEMM driver: blocking, packing, tiling over the pool, kernel dispatch (see gemm_f32.h). */
#include "gemm_f32.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ops/op.h"
#include "gemm_kernels.h"

#define NR JT_GEMM_NR
#define KC_MAX 256          /* largest K block any kernel uses (sizes the stack B buffer) */
#define TILE_TARGET 32      /* aim for about this many tiles (load balance for any thread count) */
#define MIN_TILE_ROWS 64    /* below this, splitting M repacks B too often */
#define MIN_TILE_COLS 32    /* narrowest column tile when A is packed in the workspace */
#define A_L2_BYTES (640 * 1024) /* a tile's packed A up to this size stays in L2 over its columns */
#define FUSED_N_MAX 256     /* N up to this: pack A inside the tiles (each A block is used by one tile) */
#define FUSED_MC 64         /* rows of a tile in that mode (its A block lives on the stack) */
#define PF_ROWS 16            /* prefetch distance (rows) when packing a plain B */
#define A_PACK_CHUNK 32768  /* floats of packed A per packing task */

_Static_assert(JT_GEMM_B_CHUNK % NR == 0, "B chunk must be whole strips");

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t rup(int64_t a, int64_t b) { return cdiv(a, b) * b; }
static int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

typedef struct kinfo {
    jt_gemm_ukernel fn;
    int mr;
    int kc_max; /* B strip kc x NR stays in L1 */
    int mc_max; /* A block mc x kc stays in L2 */
    const char *name;
    /* Optional fast packer for a full strip of a non-transposed A (dst[k*mr + i] = a[i*lda + k]). */
    void (*pack_a_full)(const float *a, int64_t lda, int64_t kc, float *dst);
} kinfo;

/* Indexed by jt_gemm_kernel. */
static const kinfo KINFO[] = {
    [JT_GEMM_KERNEL_AUTO] = {NULL, 0, 0, 0, "auto"},
    [JT_GEMM_KERNEL_C] = {jt_gemm_ukernel_c, JT_GEMM_MR_C, 256, 128, "c 4x16"},
    [JT_GEMM_KERNEL_AVX2] = {jt_gemm_ukernel_avx2, JT_GEMM_MR_AVX2, 256, 528, "avx2 6x16"},
    [JT_GEMM_KERNEL_AVX512] = {jt_gemm_ukernel_avx512, JT_GEMM_MR_AVX512, 256, 384, "avx512 16x16",
                               jt_gemm_pack_a16_avx512},
};

bool jt_gemm_f32_kernel_supported(jt_gemm_kernel k) {
    switch (k) {
    case JT_GEMM_KERNEL_C: return true;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    case JT_GEMM_KERNEL_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case JT_GEMM_KERNEL_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("fma");
#endif
    default: return false;
    }
}

/* AUTO: AVX-512 (16x16) where available, except where its 16-row strips would waste many rows of a
 * small M: then AVX2 (6x16) when its padded rows are under 90% of AVX-512's (it peaks about 8% lower
 * here). Measured on Zen 4 with benchmarks/gemm_bench.c; depends on M and the CPU only. */
jt_gemm_kernel jt_gemm_f32_kernel_auto(int64_t M) {
    const bool avx512 = jt_gemm_f32_kernel_supported(JT_GEMM_KERNEL_AVX512);
    const bool avx2 = jt_gemm_f32_kernel_supported(JT_GEMM_KERNEL_AVX2);
    if (avx512 && avx2 && M > 0 && (double)rup(M, JT_GEMM_MR_AVX2) < 0.9 * (double)rup(M, JT_GEMM_MR_AVX512))
        return JT_GEMM_KERNEL_AVX2;
    if (avx512) return JT_GEMM_KERNEL_AVX512;
    if (avx2) return JT_GEMM_KERNEL_AVX2;
    return JT_GEMM_KERNEL_C;
}

const char *jt_gemm_f32_kernel_name(jt_gemm_kernel k) {
    if ((unsigned)k >= sizeof KINFO / sizeof KINFO[0]) return "?";
    return KINFO[k].name;
}

size_t jt_gemm_f32_workspace(int64_t M, int64_t N, int64_t K) {
    (void)N;
    if (M <= 0 || K <= 0) return 64;
    return (size_t)(M + JT_GEMM_MR_MAX) * (size_t)K * sizeof(float) + 64;
}


/* ---- packing ---- */

/* Rows i0 .. i0+mr-1 of op(A), columns k0 .. k0+kc-1: dst[k*mr + i] = op(A)[i0 + i][k0 + k], rows
 * >= M zero. */
static void pack_a_block(const jt_gemm_f32_args *g, const kinfo *ki, int64_t i0, int64_t k0,
                         int64_t kc, float *dst) {
    const int mr = ki->mr;
    const int64_t rows = imin(mr, g->M - i0);
    if (!g->trans_a && rows == mr && ki->pack_a_full) {
        ki->pack_a_full(g->A + i0 * g->lda + k0, g->lda, kc, dst);
    } else if (!g->trans_a) {
        const float *src[JT_GEMM_MR_MAX];
        for (int64_t i = 0; i < rows; i++) src[i] = g->A + (i0 + i) * g->lda + k0;
        if (rows == mr) {
            for (int64_t k = 0; k < kc; k++)
                for (int i = 0; i < mr; i++) dst[k * mr + i] = src[i][k];
        } else {
            for (int64_t k = 0; k < kc; k++) {
                int64_t i = 0;
                for (; i < rows; i++) dst[k * mr + i] = src[i][k];
                for (; i < mr; i++) dst[k * mr + i] = 0.0f;
            }
        }
    } else {
        for (int64_t k = 0; k < kc; k++) {
            const float *src = g->A + (k0 + k) * g->lda + i0;
            float *d = dst + k * mr;
            int64_t i = 0;
            for (; i < rows; i++) d[i] = src[i];
            for (; i < mr; i++) d[i] = 0.0f;
        }
    }
}

/* Packs a panel of a plain B (see jt_gemm_f32_pack_b_matrix); avx512: the CPU has AVX-512, so full
 * strips of a transposed B take 16 x 16 register transposes. */
static void pack_b_plain(const jt_gemm_f32_matrix *m, bool avx512, int64_t k0, int64_t kc, int64_t n0,
                         int64_t nc, float *panel) {
    const int64_t full = nc / NR, rem = nc - full * NR;
    if (!m->trans) {
        /* Row by row (the source is read sequentially), each row spread over the strips. */
        for (int64_t k = 0; k < kc; k++) {
            const float *src = m->data + (k0 + k) * m->ld + n0;
            if (k + PF_ROWS < kc) {
                const float *ahead = src + PF_ROWS * m->ld;
                for (int64_t s = 0; s < full + (rem > 0); s++) __builtin_prefetch(ahead + s * NR);
            }
            for (int64_t s = 0; s < full; s++)
                memcpy(panel + s * kc * NR + k * NR, src + s * NR, NR * sizeof(float));
            if (rem) {
                float *d = panel + full * kc * NR + k * NR;
                int64_t j = 0;
                for (; j < rem; j++) d[j] = src[full * NR + j];
                for (; j < NR; j++) d[j] = 0.0f;
            }
        }
        return;
    }
    /* Stored N x K: column j of the panel is a contiguous row of the source. */
    for (int64_t s = 0; s * NR < nc; s++) {
        float *dst = panel + s * kc * NR;
        const int64_t c0 = n0 + s * NR, cols = imin(NR, nc - s * NR);
        if (cols == NR && avx512) {
            jt_gemm_pack_a16_avx512(m->data + c0 * m->ld + k0, m->ld, kc, dst);
            continue;
        }
        for (int64_t j = 0; j < cols; j++) {
            const float *src = m->data + (c0 + j) * m->ld + k0;
            for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = src[k];
        }
        for (int64_t j = cols; j < NR; j++)
            for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = 0.0f;
    }
}

void jt_gemm_f32_pack_b_matrix(void *user, int64_t k0, int64_t kc, int64_t n0, int64_t nc,
                               float *panel) {
    pack_b_plain(user, jt_gemm_f32_kernel_supported(JT_GEMM_KERNEL_AVX512), k0, kc, n0, nc, panel);
}

/* ---- the job ---- */

typedef struct job {
    const jt_gemm_f32_args *g;
    const kinfo *ki;
    /* Packed A, by K block: the block starting at column pc starts at apack + pc*a_rows (a_rows = M
     * rounded up to mr), and holds its strips one after another, strip s at + s*mr*kc, laid out
     * [k][i]. A tile's A block is one contiguous run (no cache-set aliasing for power-of-two K). */
    float *apack;
    int64_t a_rows;
    int64_t a_strips, a_strips_per_task;
    int64_t kcb;            /* K block */
    int64_t mct, nct;       /* tile size */
    int64_t mtiles, ntiles;
    bool fused_a; /* tiles pack their own A block per K block (small N) instead of apack */
    jt_gemm_f32_matrix bmat; /* when B is a plain matrix */
    bool avx512;             /* the CPU has AVX-512 (transposed B packing) */
    bool chunk_outer;        /* tiles loop over column chunks outside K blocks (A tile fits in L2) */
} job;

static void pack_a_task(void *arg, int64_t t) {
    const job *j = arg;
    const int mr = j->ki->mr;
    const int64_t K = j->g->K;
    const int64_t s1 = imin(j->a_strips, (t + 1) * j->a_strips_per_task);
    for (int64_t s = t * j->a_strips_per_task; s < s1; s++)
        for (int64_t pc = 0; pc < K; pc += j->kcb) {
            const int64_t kc = imin(j->kcb, K - pc);
            pack_a_block(j->g, j->ki, s * mr, pc, kc, j->apack + pc * j->a_rows + s * mr * kc);
        }
}

/* Writes an MR x NR kernel result held in tmp (alpha 1, beta 0) into the valid rows x cols of C; column
 * jj of the block is at c + coff[jj]. */
static void edge_store(const float *tmp, int rows, int cols, float *c, int64_t ldc,
                       const int64_t *coff, const jt_gemm_epi *e) {
    for (int i = 0; i < rows; i++) {
        for (int jj = 0; jj < cols; jj++) {
            float *cp = c + i * ldc + coff[jj];
            float r = e->alpha * tmp[i * NR + jj];
            if (e->beta != 0.0f) r += e->beta * *cp;
            if (e->bias) r += e->bias[i];
            if (e->relu && !(r > 0.0f)) r = 0.0f;
            *cp = r;
        }
    }
}

/* Offset of column n of C from the start of its row. */
static int64_t col_off(const jt_gemm_f32_args *g, int64_t n) {
    return g->c_group_cols > 0 ? n / g->c_group_cols * g->c_group_stride + n % g->c_group_cols : n;
}

/* One K block (pc, kc) of one column chunk (nb, nc) of a tile: pack that piece of B, then run the
 * micro-kernel over the tile's row strips one NR-column strip at a time. */
static void tile_block(const job *j, int64_t m0, int64_t m1, int64_t n1, int64_t pc, int64_t kc,
                       const float *ablock, int64_t nb, int64_t nc, float *bbuf, float *tmp) {
    const jt_gemm_f32_args *g = j->g;
    const int mr = j->ki->mr;
    const jt_gemm_ukernel kern = j->ki->fn;
    const bool first = pc == 0, last = pc + kc >= g->K;
    jt_gemm_epi e = {g->alpha, first ? g->beta : 1.0f, NULL, last && g->relu};
    if (g->pack_b)
        g->pack_b(g->pack_b_user, pc, kc, nb, nc, bbuf);
    else
        pack_b_plain(&j->bmat, j->avx512, pc, kc, nb, nc, bbuf);
    for (int64_t js = 0; js * NR < nc; js++) {
        const float *bp = bbuf + js * kc * NR;
        const int64_t col = nb + js * NR;
        const int cols = (int)imin(NR, n1 - col);
        /* Contiguous in C unless it straddles a column group (or is the edge). */
        const int64_t c0 = col_off(g, col);
        bool contiguous = cols == NR;
        int64_t coff[NR];
        for (int jj = 0; jj < cols; jj++) {
            coff[jj] = col_off(g, col + jj) - c0;
            contiguous = contiguous && coff[jj] == jj;
        }
        for (int64_t row = m0; row < m1; row += mr) {
            const float *ap = ablock + (row - m0) * kc;
            const int rows = (int)imin(mr, m1 - row);
            float *c = g->C + row * g->ldc + c0;
            e.bias = last && g->bias ? g->bias + row : NULL;
            if (rows == mr && contiguous) {
                kern(kc, ap, bp, c, g->ldc, &e);
            } else {
                const jt_gemm_epi plain = {1.0f, 0.0f, NULL, 0};
                kern(kc, ap, bp, tmp, NR, &plain);
                edge_store(tmp, rows, cols, c, g->ldc, coff, &e);
            }
        }
    }
}

static void tile_task(void *arg, int64_t t) {
    const job *j = arg;
    const jt_gemm_f32_args *g = j->g;
    const int mr = j->ki->mr;
    const int64_t M = g->M, N = g->N, K = g->K;
    const int64_t mi = t / j->ntiles, nj = t % j->ntiles;
    const int64_t m0 = mi * j->mct, m1 = imin(M, m0 + j->mct);
    const int64_t n0 = nj * j->nct, n1 = imin(N, n0 + j->nct);

    /* About 200 KB of stack: the pool's threads have the default (8 MB) stacks. */
    _Alignas(64) float bbuf[KC_MAX * JT_GEMM_B_CHUNK];
    _Alignas(64) float abuf[j->fused_a ? KC_MAX * FUSED_MC : 1];
    _Alignas(64) float tmp[JT_GEMM_MR_MAX * NR];

    if (j->chunk_outer) {
        /* The tile's whole packed A fits in L2: finish each column chunk over all of K while its C
         * block is still in cache. */
        for (int64_t nb = n0; nb < n1; nb += JT_GEMM_B_CHUNK)
            for (int64_t pc = 0; pc < K; pc += j->kcb) {
                const int64_t kc = imin(j->kcb, K - pc);
                tile_block(j, m0, m1, n1, pc, kc, j->apack + pc * j->a_rows + m0 * kc, nb,
                           imin(JT_GEMM_B_CHUNK, n1 - nb), bbuf, tmp);
            }
        return;
    }
    for (int64_t pc = 0; pc < K; pc += j->kcb) {
        const int64_t kc = imin(j->kcb, K - pc);
        const float *ablock = j->apack + pc * j->a_rows + m0 * kc;
        if (j->fused_a) {
            for (int64_t row = m0; row < m1; row += mr)
                pack_a_block(g, j->ki, row, pc, kc, abuf + (row - m0) * kc);
            ablock = abuf;
        }
        for (int64_t nb = n0; nb < n1; nb += JT_GEMM_B_CHUNK)
            tile_block(j, m0, m1, n1, pc, kc, ablock, nb, imin(JT_GEMM_B_CHUNK, n1 - nb), bbuf, tmp);
    }
}

/* K == 0: C = beta*C (+ bias) (ReLU). */
static void scale_only(const jt_gemm_f32_args *g) {
    for (int64_t i = 0; i < g->M; i++) {
        float *c = g->C + i * g->ldc;
        for (int64_t jj = 0; jj < g->N; jj++) {
            float *cp = c + col_off(g, jj);
            float r = g->beta != 0.0f ? g->beta * *cp : 0.0f;
            if (g->bias) r += g->bias[i];
            if (g->relu && !(r > 0.0f)) r = 0.0f;
            *cp = r;
        }
    }
}

void jt_gemm_f32_run(jt_pool *pool, const jt_gemm_f32_args *g) {
    const int64_t M = g->M, N = g->N, K = g->K;
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || g->alpha == 0.0f) { /* BLAS convention: alpha == 0 does not read A or B */
        scale_only(g);
        return;
    }
    jt_gemm_kernel kid = g->kernel;
    if (kid == JT_GEMM_KERNEL_AUTO || (unsigned)kid >= sizeof KINFO / sizeof KINFO[0] ||
        !jt_gemm_f32_kernel_supported(kid))
        kid = jt_gemm_f32_kernel_auto(M);
    job j = {.g = g, .ki = &KINFO[kid]};
    const int mr = j.ki->mr;

    /* Blocking, from the sizes only. */
    const int64_t nkb = cdiv(K, j.ki->kc_max);
    j.kcb = imin(rup(cdiv(K, nkb), 8), j.ki->kc_max);
    j.fused_a = N <= FUSED_N_MAX;
    const int64_t mc_max = j.fused_a ? FUSED_MC / mr * mr : j.ki->mc_max;
    int64_t mtiles = cdiv(M, mc_max);
    /* Split N first (A is packed once and shared; splitting M repacks B per row tile), in tiles of
     * at least MIN_TILE_COLS columns; then M, down to MIN_TILE_ROWS rows. */
    const int64_t min_cols = g->min_tile_cols > 0 ? rup(g->min_tile_cols, NR) : MIN_TILE_COLS;
    const int64_t nt_max = cdiv(N, j.fused_a ? JT_GEMM_B_CHUNK : min_cols);
    if (mtiles * nt_max < TILE_TARGET)
        mtiles = imax(mtiles, imin(cdiv(TILE_TARGET, nt_max), cdiv(M, MIN_TILE_ROWS)));
    j.mct = rup(cdiv(M, mtiles), mr);
    j.mtiles = cdiv(M, j.mct);
    int64_t ntiles = imin(imax(1, cdiv(TILE_TARGET, j.mtiles)), nt_max);
    j.nct = rup(cdiv(N, ntiles), NR);
    j.ntiles = cdiv(N, j.nct);
    j.chunk_outer = !j.fused_a && (size_t)j.mct * (size_t)K * sizeof(float) <= A_L2_BYTES;
    if (!g->pack_b) j.bmat = (jt_gemm_f32_matrix){g->B, g->ldb, g->trans_b};
    j.avx512 = jt_gemm_f32_kernel_supported(JT_GEMM_KERNEL_AVX512);

    /* Workspace: packed A. */
    const size_t need = jt_gemm_f32_workspace(M, N, K);
    void *owned = NULL;
    void *ws = g->ws;
    if (!ws || g->ws_size < need) {
        owned = aligned_alloc(64, (need + 63) / 64 * 64);
        if (!owned) {
            fprintf(stderr, "jatp: jt_gemm_f32: out of memory (%zu bytes of workspace)\n", need);
            abort();
        }
        ws = owned;
    }
    j.apack = (float *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    j.a_strips = cdiv(M, mr);
    j.a_rows = j.a_strips * mr;
    j.a_strips_per_task = imax(1, A_PACK_CHUNK / (mr * K));
    if (!j.fused_a) jt_pool_run(pool, pack_a_task, &j, cdiv(j.a_strips, j.a_strips_per_task));
    jt_pool_run(pool, tile_task, &j, j.mtiles * j.ntiles);
    free(owned);
}

void jt_gemm_f32_ws(jt_pool *pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                    float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                    float beta, float *C, int64_t ldc, void *ws, size_t ws_size) {
    const jt_gemm_f32_args g = {.M = M, .N = N, .K = K, .trans_a = trans_a, .trans_b = trans_b,
                                .alpha = alpha, .beta = beta, .A = A, .lda = lda, .B = B, .ldb = ldb,
                                .C = C, .ldc = ldc, .ws = ws, .ws_size = ws_size};
    jt_gemm_f32_run(pool, &g);
}

void jt_gemm_f32(jt_pool *pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                 float alpha, const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                 float *C, int64_t ldc) {
    jt_gemm_f32_ws(pool, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, 0);
}

void jt_gemm_f32_packb_ws(jt_pool *pool, int64_t M, int64_t N, int64_t K, const float *A,
                          int64_t lda, jt_gemm_pack_b_fn pack_b, void *user, float *C, int64_t ldc,
                          const float *bias, int relu, void *ws, size_t ws_size) {
    const jt_gemm_f32_args g = {.M = M, .N = N, .K = K, .alpha = 1.0f, .beta = 0.0f, .A = A,
                                .lda = lda, .pack_b = pack_b, .pack_b_user = user, .C = C,
                                .ldc = ldc, .bias = bias, .relu = relu, .ws = ws,
                                .ws_size = ws_size};
    jt_gemm_f32_run(pool, &g);
}

void jt_gemm_f32_packb(jt_pool *pool, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                       jt_gemm_pack_b_fn pack_b, void *user, float *C, int64_t ldc,
                       const float *bias, int relu) {
    jt_gemm_f32_packb_ws(pool, M, N, K, A, lda, pack_b, user, C, ldc, bias, relu, NULL, 0);
}
