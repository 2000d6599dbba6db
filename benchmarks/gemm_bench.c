/* SGEMM benchmark: our packed GEMM (each SIMD kernel, runtime/cpu/gemm_f32.h) against OpenBLAS's
 * cblas_sgemm on square, ResNet-18 CIFAR conv (im2col) and RRDB shapes, for 1 and 2 threads.
 *
 *   build/benchmarks/gemm_bench [--threads 1,2] [--min-time 0.3] [--quick] [--conv]
 *
 * Each cell is the best of repeated timings (at least 3 runs and --min-time seconds), in GFLOP/s
 * (2*M*N*K / time). --conv adds rows for a ResNet-18 CIFAR 3x3 conv over a batch of 32: ours is one
 * GEMM per batch (pack-B callback straight from NCHW, bias + ReLU epilogue, NCHW output through column
 * groups); the OpenBLAS side is per image im2col + cblas_sgemm (no bias/ReLU).
 * Machines shared with other jobs are noisy: rerun and compare best-of figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jatp/status.h"
#include "runtime/cpu/gemm_f32.h"

#ifdef JT_HAVE_OPENBLAS
#include <cblas.h>
#endif

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *falloc(size_t n) {
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "gemm_bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return p;
}

typedef struct shape {
    const char *name;
    int64_t M, N, K;
} shape;

typedef void (*run_fn)(void *ctx);
/* Best seconds per run. */
static double time_best(run_fn fn, void *ctx, double min_time) {
    fn(ctx); /* warm-up */
    double best = 1e30, t_start = now();
    int runs = 0;
    while (runs < 3 || now() - t_start < min_time) {
        double t0 = now();
        fn(ctx);
        double dt = now() - t0;
        if (dt < best) best = dt;
        runs++;
        if (runs > 10000) break;
    }
    return best;
}

typedef struct gctx {
    jt_pool *pool;
    jt_gemm_kernel kern;
    int64_t M, N, K;
    const float *A, *B;
    float *C;
    void *ws;
    size_t ws_size;
    /* conv */
    jt_gemm_pack_b_fn pack_b;
    void *user;
    const float *bias;
    float *col; /* im2col buffer */
    const void *conv;
} gctx;

static void run_ours(void *p) {
    gctx *g = p;
    const jt_gemm_f32_args a = {.M = g->M, .N = g->N, .K = g->K, .alpha = 1.0f, .beta = 0.0f,
                                .A = g->A, .lda = g->K, .B = g->B, .ldb = g->N, .C = g->C,
                                .ldc = g->N, .ws = g->ws, .ws_size = g->ws_size, .kernel = g->kern};
    jt_gemm_f32_run(g->pool, &a);
}

#ifdef JT_HAVE_OPENBLAS
static void run_blas(void *p) {
    gctx *g = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->M, (int)g->N, (int)g->K, 1.0f,
                g->A, (int)g->K, g->B, (int)g->N, 0.0f, g->C, (int)g->N);
}
#endif

/* ---- a 3x3, pad 1, stride 1 convolution over a batch, as the conv kernel would call the GEMM ----
 * GEMM view: M = out channels, K = Cin*9, N = batch*H*W (column n = (image, y, x)); C is written
 * [M][N] (i.e. CNHW; a real kernel would write each image's slice with ldc = H*W per image). */
typedef struct conv3 {
    const float *x; /* [B][Cin][H][W] */
    int64_t B, Cin, H, W;
} conv3;

static void conv3_pack(void *user, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *panel) {
    const conv3 *cv = user;
    const int64_t H = cv->H, W = cv->W, HW = H * W;
    enum { NR = JT_GEMM_NR };
    for (int64_t s = 0; s * NR < nc; s++) {
        float *dst = panel + s * kc * NR;
        const int64_t nbase = n0 + s * NR, cols = nc - s * NR < NR ? nc - s * NR : NR;
        /* Split the strip's columns into runs within one image row. */
        int64_t sj[NR], slen[NR], simg[NR], sy[NR], sx[NR];
        int nseg = 0;
        for (int64_t j = 0; j < cols;) {
            const int64_t n = nbase + j, b = n / HW, p = n % HW, x = p % W;
            const int64_t len = W - x < cols - j ? W - x : cols - j;
            sj[nseg] = j, slen[nseg] = len, simg[nseg] = b * cv->Cin * HW, sy[nseg] = p / W,
            sx[nseg] = x;
            nseg++;
            j += len;
        }
        for (int64_t k = 0; k < kc; k++) {
            const int64_t kk = k0 + k, c = kk / 9, r = (kk % 9) / 3, q = kk % 3;
            float *d = dst + k * NR;
            for (int g = 0; g < nseg; g++) {
                float *dd = d + sj[g];
                const int64_t yy = sy[g] + r - 1, xs = sx[g] + q - 1, len = slen[g];
                if (yy < 0 || yy >= H) {
                    for (int64_t j = 0; j < len; j++) dd[j] = 0.0f;
                    continue;
                }
                const float *src = cv->x + simg[g] + c * HW + yy * W + xs;
                const int64_t lo = xs < 0 ? -xs : 0, hi = xs + len > W ? W - xs : len;
                for (int64_t j = 0; j < lo; j++) dd[j] = 0.0f;
                for (int64_t j = lo; j < hi; j++) dd[j] = src[j];
                for (int64_t j = hi; j < len; j++) dd[j] = 0.0f;
            }
            for (int64_t j = cols; j < NR; j++) d[j] = 0.0f;
        }
    }
}

static void run_conv_ours(void *p) {
    gctx *g = p;
    const conv3 *cv = g->user;
    const int64_t HW = cv->H * cv->W;
    /* One GEMM over the whole batch, written straight into NCHW through column groups. */
    const jt_gemm_f32_args a = {.M = g->M, .N = g->N, .K = g->K, .alpha = 1.0f, .beta = 0.0f,
                                .A = g->A, .lda = g->K, .pack_b = conv3_pack, .pack_b_user = g->user,
                                .C = g->C, .ldc = HW, .c_group_cols = HW, .c_group_stride = g->M * HW,
                                .bias = g->bias, .relu = 1, .ws = g->ws,
                                .ws_size = g->ws_size, .kernel = g->kern};
    jt_gemm_f32_run(g->pool, &a);
}

#ifdef JT_HAVE_OPENBLAS
/* The usual CPU conv: per image, im2col (serial) into a K x HW buffer + cblas_sgemm into that image's
 * NCHW slice; the bias + ReLU pass is left out (favours this side). */
static void run_conv_blas(void *p) {
    gctx *g = p;
    const conv3 *cv = g->user;
    const int64_t HW = cv->H * cv->W;
    for (int64_t b = 0; b < cv->B; b++) {
        for (int64_t kk = 0; kk < g->K; kk++) {
            const int64_t c = kk / 9, r = (kk % 9) / 3, q = kk % 3;
            float *row = g->col + kk * HW;
            const float *plane = cv->x + (b * cv->Cin + c) * HW;
            for (int64_t y = 0; y < cv->H; y++) {
                const int64_t yy = y + r - 1;
                for (int64_t x = 0; x < cv->W; x++) {
                    const int64_t xx = x + q - 1;
                    row[y * cv->W + x] = (yy >= 0 && yy < cv->H && xx >= 0 && xx < cv->W)
                                             ? plane[yy * cv->W + xx]
                                             : 0.0f;
                }
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->M, (int)HW, (int)g->K, 1.0f,
                    g->A, (int)g->K, g->col, (int)HW, 0.0f, g->C + b * g->M * HW, (int)HW);
    }
}
#endif

int main(int argc, char **argv) {
    int threads_list[4] = {1, 2}, n_threads = 2;
    double min_time = 0.3;
    int quick = 0, conv = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            n_threads = 0;
            for (char *t = strtok(argv[++i], ","); t && n_threads < 4; t = strtok(NULL, ","))
                threads_list[n_threads++] = atoi(t);
        } else if (!strcmp(argv[i], "--min-time") && i + 1 < argc) {
            min_time = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--conv")) {
            conv = 1;
        } else {
            fprintf(stderr, "usage: %s [--threads 1,2] [--min-time S] [--quick] [--conv]\n", argv[0]);
            return 2;
        }
    }
    static const shape shapes[] = {
        {"square 2048^3", 2048, 2048, 2048},
        {"r18 conv2 x1", 64, 1024, 576},
        {"r18 conv3 x1", 128, 256, 1152},
        {"r18 conv4 x1", 256, 64, 2304},
        {"r18 conv5 x1", 512, 16, 4608},
        {"r18 conv2 x32", 64, 32768, 576},
        {"r18 conv3 x32", 128, 8192, 1152},
        {"r18 conv4 x32", 256, 2048, 2304},
        {"r18 conv5 x32", 512, 512, 4608},
        {"rrdb 8x144", 8, 25088, 144},
        {"rrdb 16x144", 16, 25088, 144},
        {"rrdb 16x288", 16, 25088, 288},
        {"rrdb 16x432", 16, 25088, 432},
        {"rrdb 8x432", 8, 25088, 432},
    };
    const int n_shapes = quick ? 5 : (int)(sizeof shapes / sizeof shapes[0]);
    static const jt_gemm_kernel kerns[] = {JT_GEMM_KERNEL_AVX512, JT_GEMM_KERNEL_AVX2};
#ifdef JT_HAVE_OPENBLAS
    printf("OpenBLAS: %s (core %s)\n", openblas_get_config(), openblas_get_corename());
#endif
    printf("GFLOP/s, best of >= 3 runs and %.2f s; auto = the kernel AUTO picks for M; ratio = auto /"
           " openblas\n", min_time);
    printf("%-17s %5s %6s %5s %3s %8s %8s %8s %9s %6s\n", "shape", "M", "N", "K", "thr", "avx512",
           "avx2", "auto", "openblas", "ratio");
    for (int ti = 0; ti < n_threads; ti++) {
        const int th = threads_list[ti];
        jt_ctx *ctx = NULL;
        if (jt_ctx_create(th, &ctx) != JT_OK) return 1;
#ifdef JT_HAVE_OPENBLAS
        openblas_set_num_threads(th);
#endif
        for (int si = 0; si < n_shapes; si++) {
            const shape *s = &shapes[si];
            gctx g = {.pool = jt_ctx_pool(ctx), .M = s->M, .N = s->N, .K = s->K};
            float *A = falloc((size_t)(s->M * s->K)), *B = falloc((size_t)(s->K * s->N));
            float *C = falloc((size_t)(s->M * s->N));
            g.A = A, g.B = B, g.C = C;
            g.ws_size = jt_gemm_f32_workspace(s->M, s->N, s->K);
            g.ws = aligned_alloc(64, (g.ws_size + 63) / 64 * 64);
            const double flop = 2.0 * (double)s->M * (double)s->N * (double)s->K;
            double gf[3] = {0, 0, 0};
            for (int k = 0; k < 2; k++) {
                if (!jt_gemm_f32_kernel_supported(kerns[k])) continue;
                g.kern = kerns[k];
                gf[k] = flop / time_best(run_ours, &g, min_time) * 1e-9;
            }
#ifdef JT_HAVE_OPENBLAS
            gf[2] = flop / time_best(run_blas, &g, min_time) * 1e-9;
#endif
            const jt_gemm_kernel ak = jt_gemm_f32_kernel_auto(s->M);
            const double ours = ak == JT_GEMM_KERNEL_AVX512 ? gf[0] : ak == JT_GEMM_KERNEL_AVX2 ? gf[1] : 0;
            printf("%-17s %5lld %6lld %5lld %3d %8.1f %8.1f %8.1f %9.1f %6.2f\n", s->name,
                   (long long)s->M, (long long)s->N, (long long)s->K, th, gf[0], gf[1], ours, gf[2],
                   gf[2] > 0 ? ours / gf[2] : 0.0);
            fflush(stdout);
            free(A), free(B), free(C), free(g.ws);
        }
        if (conv) {
            /* ResNet-18 CIFAR 3x3 convs, batch 32: (Cin = Cout, H = W). */
            static const int64_t convs[][3] = {{64, 32, 32}, {128, 16, 16}, {256, 8, 8}, {512, 4, 4}};
            for (int ci = 0; ci < 4; ci++) {
                const int64_t Cc = convs[ci][0], H = convs[ci][1], Bn = 32;
                conv3 cv = {.B = Bn, .Cin = Cc, .H = H, .W = H};
                float *x = falloc((size_t)(Bn * Cc * H * H));
                cv.x = x;
                gctx g = {.pool = jt_ctx_pool(ctx), .M = Cc, .N = Bn * H * H, .K = Cc * 9, .user = &cv};
                float *A = falloc((size_t)(g.M * g.K)), *C = falloc((size_t)(g.M * g.N));
                float *bias = falloc((size_t)g.M), *col = falloc((size_t)(g.K * H * H));
                g.A = A, g.C = C, g.bias = bias, g.col = col;
                g.ws_size = jt_gemm_f32_workspace(g.M, g.N, g.K);
                g.ws = aligned_alloc(64, (g.ws_size + 63) / 64 * 64);
                const double flop = 2.0 * (double)g.M * (double)g.N * (double)g.K;
                double gf[3] = {0, 0, 0};
                for (int k = 0; k < 2; k++) {
                    if (!jt_gemm_f32_kernel_supported(kerns[k])) continue;
                    g.kern = kerns[k];
                    gf[k] = flop / time_best(run_conv_ours, &g, min_time) * 1e-9;
                }
#ifdef JT_HAVE_OPENBLAS
                gf[2] = flop / time_best(run_conv_blas, &g, min_time) * 1e-9;
#endif
#ifdef JT_HAVE_OPENBLAS
                /* Check: ours == ReLU(im2col GEMM + bias). */
                {
                    float *ref = falloc((size_t)(g.M * g.N));
                    float *keep = g.C;
                    g.C = ref;
                    run_conv_blas(&g);
                    g.C = keep;
                    g.kern = JT_GEMM_KERNEL_AUTO;
                    run_conv_ours(&g);
                    double worst = 0;
                    const int64_t HW = H * H;
                    for (int64_t i = 0; i < g.M * g.N; i++) {
                        double r = ref[i] + bias[(i / HW) % g.M];
                        r = r > 0 ? r : 0;
                        double d = (r - C[i]) / (1.0 + (r > 0 ? r : -r));
                        if (d < 0) d = -d;
                        if (d > worst) worst = d;
                    }
                    if (worst > 1e-4) printf("conv check FAILED: worst rel diff %.3g\n", worst);
                    free(ref);
                }
#endif
                const jt_gemm_kernel ak = jt_gemm_f32_kernel_auto(g.M);
                const double ours = ak == JT_GEMM_KERNEL_AVX512 ? gf[0] : ak == JT_GEMM_KERNEL_AVX2 ? gf[1] : 0;
                char nm[32];
                snprintf(nm, sizeof nm, "conv3x3 c%lld b32", (long long)Cc);
                printf("%-17s %5lld %6lld %5lld %3d %8.1f %8.1f %8.1f %9.1f %6.2f\n", nm,
                       (long long)g.M, (long long)g.N, (long long)g.K, th, gf[0], gf[1], ours, gf[2],
                       gf[2] > 0 ? ours / gf[2] : 0.0);
                fflush(stdout);
                free(x), free(A), free(C), free(bias), free(col), free(g.ws);
            }
        }
        jt_ctx_free(ctx);
    }
    return 0;
}
