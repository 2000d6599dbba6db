/* Tests of the packed SGEMM (runtime/cpu/gemm_f32.h) against a float64 naive reference: every
 * kernel this CPU supports, all transpose combinations, odd sizes around the block edges, alpha/beta,
 * padded leading dimensions, beta = 0 over NaN-filled C, the pack-B callback path with bias + ReLU, the
 * caller workspace, and bitwise identical results for 1, 2 and 3 threads. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/status.h"
#include "jt_test.h"
#include "runtime/cpu/gemm_f32.h"

/* Small deterministic generator (splitmix64). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnext(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float runif(void) { return (float)((double)(rnext() >> 11) / 9007199254740992.0 * 2.0 - 1.0); }
static int64_t rpick(const int64_t *v, int n) { return v[rnext() % (uint64_t)n]; }

static float *falloc(int64_t n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!p) abort();
    return p;
}
static void fill(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = runif();
}

typedef struct problem {
    int64_t M, N, K, lda, ldb, ldc;
    bool ta, tb;
    float alpha, beta;
    float *A, *B, *C, *C0; /* C0: C before the call */
    float *bias;
    int relu;
} problem;

static void problem_init(problem *p, int64_t M, int64_t N, int64_t K, bool ta, bool tb, int pad,
                         float alpha, float beta) {
    memset(p, 0, sizeof *p);
    p->M = M, p->N = N, p->K = K, p->ta = ta, p->tb = tb, p->alpha = alpha, p->beta = beta;
    p->lda = (ta ? M : K) + pad * 3;
    p->ldb = (tb ? K : N) + pad * 5;
    p->ldc = N + pad * 2;
    int64_t arows = ta ? K : M, brows = tb ? N : K;
    p->A = falloc(arows * p->lda);
    p->B = falloc(brows * p->ldb);
    p->C = falloc(M * p->ldc);
    p->C0 = falloc(M * p->ldc);
    fill(p->A, arows * p->lda);
    fill(p->B, brows * p->ldb);
    if (beta == 0.0f) {
        for (int64_t i = 0; i < M * p->ldc; i++) p->C[i] = NAN;
    } else {
        fill(p->C, M * p->ldc);
    }
    /* Padding columns of C carry a sentinel that must survive. */
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = N; j < p->ldc; j++) p->C[i * p->ldc + j] = 12345.0f;
    memcpy(p->C0, p->C, (size_t)(M * p->ldc) * sizeof(float));
}

static void problem_free(problem *p) {
    free(p->A), free(p->B), free(p->C), free(p->C0), free(p->bias);
}

static double a_at(const problem *p, int64_t i, int64_t k) {
    return p->ta ? p->A[k * p->lda + i] : p->A[i * p->lda + k];
}
static double b_at(const problem *p, int64_t k, int64_t j) {
    return p->tb ? p->B[j * p->ldb + k] : p->B[k * p->ldb + j];
}

/* Checks p->C against the float64 reference; returns 1 when fine, else writes why. */
static int check(const problem *p, char *why, size_t cap) {
    for (int64_t i = 0; i < p->M; i++) {
        for (int64_t j = 0; j < p->ldc; j++) {
            const float got = p->C[i * p->ldc + j];
            if (j >= p->N) {
                if (got != 12345.0f) {
                    jt_test_fmt(why, cap, "padding C[%lld][%lld] overwritten (%g)", (long long)i,
                                (long long)j, got);
                    return 0;
                }
                continue;
            }
            double s = 0.0, mag = 0.0;
            for (int64_t k = 0; k < p->K; k++) {
                const double t = a_at(p, i, k) * b_at(p, k, j);
                s += t;
                mag += fabs(t);
            }
            double ref = (double)p->alpha * s;
            mag *= fabs((double)p->alpha);
            if (p->beta != 0.0f) {
                ref += (double)p->beta * p->C0[i * p->ldc + j];
                mag += fabs((double)p->beta * p->C0[i * p->ldc + j]);
            }
            if (p->bias) {
                ref += p->bias[i];
                mag += fabs(p->bias[i]);
            }
            if (p->relu && ref < 0.0) ref = 0.0;
            const double tol = 1e-5 * mag + 1e-30;
            if (!isfinite(got) || fabs(got - ref) > tol) {
                jt_test_fmt(why, cap,
                            "M=%lld N=%lld K=%lld ta=%d tb=%d alpha=%g beta=%g: C[%lld][%lld] = %.9g, "
                            "ref %.9g, |err| %.3g > tol %.3g",
                            (long long)p->M, (long long)p->N, (long long)p->K, p->ta, p->tb,
                            p->alpha, p->beta, (long long)i, (long long)j, got, ref,
                            fabs(got - ref), tol);
                return 0;
            }
        }
    }
    return 1;
}

static void run_plain(jt_pool *pool, problem *p, jt_gemm_kernel kern, void *ws, size_t ws_size) {
    const jt_gemm_f32_args g = {.M = p->M, .N = p->N, .K = p->K, .trans_a = p->ta, .trans_b = p->tb,
                                .alpha = p->alpha, .beta = p->beta, .A = p->A, .lda = p->lda,
                                .B = p->B, .ldb = p->ldb, .C = p->C, .ldc = p->ldc,
                                .ws = ws, .ws_size = ws_size, .kernel = kern};
    jt_gemm_f32_run(pool, &g);
}

/* A pack-B callback that also checks the contract it is called under. */
typedef struct cb_user {
    jt_gemm_f32_matrix m;
    int64_t K, N;
    int bad; /* set (racy, but only ever to 1) when a call breaks the contract */
} cb_user;
static void cb_pack(void *user, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *panel) {
    cb_user *u = user;
    if (k0 < 0 || kc < 1 || k0 + kc > u->K || n0 < 0 || nc < 1 || n0 + nc > u->N ||
        n0 % JT_GEMM_NR != 0 || nc > JT_GEMM_B_CHUNK || ((uintptr_t)panel & 63) != 0)
        u->bad = 1;
    jt_gemm_f32_pack_b_matrix(&u->m, k0, kc, n0, nc, panel);
}

static void run_packb(jt_pool *pool, problem *p, jt_gemm_kernel kern, cb_user *u) {
    u->m = (jt_gemm_f32_matrix){p->B, p->ldb, p->tb};
    u->K = p->K, u->N = p->N, u->bad = 0;
    const jt_gemm_f32_args g = {.M = p->M, .N = p->N, .K = p->K, .alpha = 1.0f, .beta = 0.0f,
                                .A = p->A, .lda = p->lda, .pack_b = cb_pack, .pack_b_user = u,
                                .C = p->C, .ldc = p->ldc, .bias = p->bias, .relu = p->relu,
                                .kernel = kern};
    jt_gemm_f32_run(pool, &g);
}

static const int64_t SIZES[] = {1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 15, 16, 17, 23, 31, 32, 33,
                                47, 48, 63, 64, 65, 95, 100, 127, 128, 129, 200, 255, 256,
                                257, 263, 264, 265, 300};
#define NSIZES ((int)(sizeof SIZES / sizeof SIZES[0]))

static void test_shapes(jt_pool *pool, jt_gemm_kernel kern, bool ta, bool tb) {
    char name[96], why[512];
    jt_test_fmt(name, sizeof name, "gemm %s ta=%d tb=%d shapes", jt_gemm_f32_kernel_name(kern), ta,
                tb);
    static const float alphas[] = {1.0f, -0.5f, 2.0f};
    static const float betas[] = {0.0f, 1.0f, 0.5f, -1.5f};
    int n = 0;
    for (int it = 0; it < 60; it++) {
        problem p;
        int64_t M = rpick(SIZES, NSIZES), N = rpick(SIZES, NSIZES), K = rpick(SIZES, NSIZES);
        if (it < 4) M = N = K = (int64_t[]){1, 7, 16, 300}[it];
        problem_init(&p, M, N, K, ta, tb, (int)(rnext() % 2), alphas[rnext() % 3],
                     betas[rnext() % 4]);
        run_plain(pool, &p, kern, NULL, 0);
        int ok = check(&p, why, sizeof why);
        problem_free(&p);
        if (!ok) {
            jt_test_fail(name, "%s", why);
            return;
        }
        n++;
    }
    jt_test_ok(name);
}

/* Larger shapes: several K blocks (uneven), several M and N tiles. */
static void test_large(jt_pool *pool, jt_gemm_kernel kern) {
    char name[96], why[512];
    jt_test_fmt(name, sizeof name, "gemm %s large/multi-block", jt_gemm_f32_kernel_name(kern));
    static const int64_t shapes[][3] = {{530, 700, 777}, {64, 1100, 576}, {17, 67, 1200},
                                        {600, 16, 900}, {8, 3000, 144}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        problem p;
        problem_init(&p, shapes[s][0], shapes[s][1], shapes[s][2], s & 1, s == 2, (int)(s % 2),
                     s == 3 ? -1.0f : 1.0f, s == 1 ? 0.25f : 0.0f);
        run_plain(pool, &p, kern, NULL, 0);
        int ok = check(&p, why, sizeof why);
        problem_free(&p);
        if (!ok) {
            jt_test_fail(name, "%s", why);
            return;
        }
    }
    jt_test_ok(name);
}

static void test_packb(jt_pool *pool, jt_gemm_kernel kern) {
    char name[96], why[512];
    jt_test_fmt(name, sizeof name, "gemm %s packb bias+relu", jt_gemm_f32_kernel_name(kern));
    for (int it = 0; it < 30; it++) {
        problem p;
        int64_t M = rpick(SIZES, NSIZES), N = rpick(SIZES, NSIZES), K = rpick(SIZES, NSIZES);
        if (it == 0) M = 64, N = 1024, K = 576;
        if (it == 1) M = 13, N = 200, K = 700;
        problem_init(&p, M, N, K, false, it % 3 == 2, (int)(rnext() % 2), 1.0f, 0.0f);
        p.relu = it % 4 != 3;
        if (it % 5 != 4) {
            p.bias = falloc(M);
            fill(p.bias, M);
        }
        cb_user u;
        run_packb(pool, &p, kern, &u);
        int ok = check(&p, why, sizeof why);
        problem_free(&p);
        if (u.bad) {
            jt_test_fail(name, "pack_b called outside its contract (M=%lld N=%lld K=%lld)",
                         (long long)M, (long long)N, (long long)K);
            return;
        }
        if (!ok) {
            jt_test_fail(name, "%s", why);
            return;
        }
    }
    jt_test_ok(name);
}

/* Column groups: C written as [group][M][g] (batched conv into NCHW), compared after gathering. */
static void test_groups(jt_pool *pool, jt_gemm_kernel kern) {
    char name[96], why[512];
    jt_test_fmt(name, sizeof name, "gemm %s column groups (NCHW)", jt_gemm_f32_kernel_name(kern));
    static const int64_t cases[][4] = {{20, 48, 3, 300}, {64, 64, 4, 576}, {7, 20, 5, 33},
                                       {33, 16, 9, 17}, {16, 784, 2, 144}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int64_t M = cases[t][0], gcols = cases[t][1], ng = cases[t][2], K = cases[t][3];
        problem p;
        problem_init(&p, M, gcols * ng, K, false, false, 0, 1.0f, 0.0f);
        p.relu = (int)(t & 1);
        p.bias = falloc(M);
        fill(p.bias, M);
        const int64_t gstride = M * gcols + 7;
        float *out = falloc(ng * gstride);
        for (int64_t i = 0; i < ng * gstride; i++) out[i] = 777.0f;
        cb_user u;
        u.m = (jt_gemm_f32_matrix){p.B, p.ldb, false};
        u.K = K, u.N = p.N, u.bad = 0;
        const jt_gemm_f32_args g = {.M = M, .N = p.N, .K = K, .alpha = 1.0f, .A = p.A,
                                    .lda = p.lda, .pack_b = cb_pack, .pack_b_user = &u, .C = out,
                                    .ldc = gcols, .c_group_cols = gcols, .c_group_stride = gstride,
                                    .bias = p.bias, .relu = p.relu, .kernel = kern};
        jt_gemm_f32_run(pool, &g);
        int ok = 1;
        for (int64_t b = 0; b < ng && ok; b++) {
            for (int64_t i = 0; i < 7; i++)
                if (out[b * gstride + M * gcols + i] != 777.0f) {
                    jt_test_fmt(why, sizeof why, "gap after group %lld overwritten", (long long)b);
                    ok = 0;
                }
            for (int64_t m = 0; m < M; m++)
                for (int64_t c = 0; c < gcols; c++)
                    p.C[m * p.ldc + b * gcols + c] = out[b * gstride + m * gcols + c];
        }
        if (ok) ok = check(&p, why, sizeof why);
        free(out);
        problem_free(&p);
        if (!ok) {
            jt_test_fail(name, "%s", why);
            return;
        }
    }
    jt_test_ok(name);
}

/* Caller workspace: exactly the asked size, misaligned by 4 bytes, guard bytes after it intact. */
static void test_workspace(jt_pool *pool, jt_gemm_kernel kern) {
    char name[96], why[512];
    jt_test_fmt(name, sizeof name, "gemm %s caller workspace", jt_gemm_f32_kernel_name(kern));
    static const int64_t shapes[][3] = {{1, 1, 1}, {37, 45, 301}, {300, 33, 17}};
    for (size_t s = 0; s < 3; s++) {
        problem p;
        problem_init(&p, shapes[s][0], shapes[s][1], shapes[s][2], s == 1, s == 2, 0, 1.0f, 0.0f);
        const size_t need = jt_gemm_f32_workspace(p.M, p.N, p.K);
        unsigned char *raw = aligned_alloc(64, (need + 64 + 256 + 63) / 64 * 64);
        unsigned char *ws = raw + 4;
        memset(ws + need, 0xA5, 256);
        run_plain(pool, &p, kern, ws, need);
        int ok = check(&p, why, sizeof why);
        for (int i = 0; i < 256 && ok; i++)
            if (ws[need + i] != 0xA5) {
                jt_test_fmt(why, sizeof why, "wrote past the workspace (byte %d after its end)", i);
                ok = 0;
            }
        free(raw);
        problem_free(&p);
        if (!ok) {
            jt_test_fail(name, "%s", why);
            return;
        }
    }
    jt_test_ok(name);
}

/* Degenerate sizes: K == 0 scales C, alpha == 0 does not read A/B (which hold NaN here). */
static void test_degenerate(jt_pool *pool) {
    const char *name = "gemm K=0 and alpha=0";
    float A[6], B[6], C[6] = {1, 2, 3, 4, 5, 6};
    for (int i = 0; i < 6; i++) A[i] = B[i] = NAN;
    jt_gemm_f32(pool, false, false, 2, 3, 0, 1.0f, A, 1, B, 3, 2.0f, C, 3);
    for (int i = 0; i < 6; i++)
        if (C[i] != 2.0f * (float)(i + 1)) {
            jt_test_fail(name, "K=0: C[%d] = %g, expected %g", i, C[i], 2.0 * (i + 1));
            return;
        }
    jt_gemm_f32(pool, false, false, 2, 3, 2, 0.0f, A, 2, B, 3, 0.5f, C, 3);
    for (int i = 0; i < 6; i++)
        if (C[i] != (float)(i + 1)) {
            jt_test_fail(name, "alpha=0: C[%d] = %g, expected %g", i, C[i], (double)(i + 1));
            return;
        }
    jt_gemm_f32(pool, false, false, 0, 3, 2, 1.0f, A, 2, B, 3, 0.0f, C, 3); /* M = 0: no-op */
    jt_test_ok(name);
}

/* Bitwise identical results for 1, 2 and 3 threads. */
static void test_determinism(jt_gemm_kernel kern) {
    char name[96];
    jt_test_fmt(name, sizeof name, "gemm %s bitwise identical for 1/2/3 threads",
                jt_gemm_f32_kernel_name(kern));
    jt_ctx *ctx[3] = {NULL, NULL, NULL};
    for (int t = 0; t < 3; t++)
        if (jt_ctx_create(t + 1, &ctx[t]) != JT_OK) {
            jt_test_fail(name, "jt_ctx_create(%d) failed", t + 1);
            for (int u = 0; u < t; u++) jt_ctx_free(ctx[u]);
            return;
        }
    static const int64_t shapes[][3] = {{300, 257, 1000}, {64, 1024, 576}, {512, 16, 1200},
                                        {13, 2000, 300}};
    int ok = 1;
    for (size_t s = 0; s < 4 && ok; s++) {
        for (int mode = 0; mode < 2 && ok; mode++) { /* plain, packb */
            problem p;
            problem_init(&p, shapes[s][0], shapes[s][1], shapes[s][2], false, false, 0, 1.0f,
                         mode ? 0.0f : 0.5f);
            if (mode) {
                p.bias = falloc(p.M);
                fill(p.bias, p.M);
                p.relu = 1;
            }
            float *res[3];
            for (int t = 0; t < 3; t++) {
                memcpy(p.C, p.C0, (size_t)(p.M * p.ldc) * sizeof(float));
                cb_user u;
                if (mode)
                    run_packb(jt_ctx_pool(ctx[t]), &p, kern, &u);
                else
                    run_plain(jt_ctx_pool(ctx[t]), &p, kern, NULL, 0);
                res[t] = falloc(p.M * p.ldc);
                memcpy(res[t], p.C, (size_t)(p.M * p.ldc) * sizeof(float));
            }
            for (int t = 1; t < 3 && ok; t++)
                if (memcmp(res[0], res[t], (size_t)(p.M * p.ldc) * sizeof(float)) != 0) {
                    jt_test_fail(name, "M=%lld N=%lld K=%lld %s: 1 vs %d threads differ",
                                 (long long)p.M, (long long)p.N, (long long)p.K,
                                 mode ? "packb" : "plain", t + 1);
                    ok = 0;
                }
            for (int t = 0; t < 3; t++) free(res[t]);
            problem_free(&p);
        }
    }
    for (int t = 0; t < 3; t++) jt_ctx_free(ctx[t]);
    if (ok) jt_test_ok(name);
}

int main(void) {
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(2, &ctx) != JT_OK) {
        jt_test_fail("gemm setup", "jt_ctx_create failed");
        return jt_test_finish();
    }
    jt_pool *pool = jt_ctx_pool(ctx);
    static const jt_gemm_kernel kernels[] = {JT_GEMM_KERNEL_C, JT_GEMM_KERNEL_AVX2,
                                             JT_GEMM_KERNEL_AVX512};
    for (size_t ki = 0; ki < 3; ki++) {
        const jt_gemm_kernel k = kernels[ki];
        if (!jt_gemm_f32_kernel_supported(k)) {
            jt_test_skip(jt_gemm_f32_kernel_name(k), "this CPU lacks the instructions");
            continue;
        }
        for (int t = 0; t < 4; t++) test_shapes(pool, k, t & 1, t >> 1);
        test_large(pool, k);
        test_packb(pool, k);
        test_groups(pool, k);
        test_workspace(pool, k);
        test_determinism(k);
    }
    for (int t = 0; t < 4; t++) test_shapes(pool, JT_GEMM_KERNEL_AUTO, t & 1, t >> 1);
    test_packb(pool, JT_GEMM_KERNEL_AUTO);
    test_degenerate(pool);
    /* AUTO resolves to a supported kernel. */
    int auto_ok = 1;
    for (int64_t M = 1; M <= 600 && auto_ok; M++)
        if (!jt_gemm_f32_kernel_supported(jt_gemm_f32_kernel_auto(M))) {
            jt_test_fail("gemm auto kernel supported", "AUTO picked %s for M=%lld",
                         jt_gemm_f32_kernel_name(jt_gemm_f32_kernel_auto(M)), (long long)M);
            auto_ok = 0;
        }
    if (auto_ok) jt_test_ok("gemm auto kernel supported");
    jt_ctx_free(ctx);
    return jt_test_finish();
}
