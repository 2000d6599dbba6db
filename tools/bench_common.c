/* jatp bench: timing, statistics, peak FLOP/s, table / JSON / CSV output (see bench_common.h). */
#include "bench_common.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#endif

#include "common/cli.h"
#include "runtime/cpu/blas.h"
#include "runtime/cpu/gemm_f32.h"

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int bench_time(bench_fn fn, void *user, const bench_opts *o, bench_stats *st) {
    double s;
    for (int i = 0; i < o->warmup; i++)
        if (fn(user, &s)) return 1;
    int cap = 1 << 16, n = 0;
    double *t = malloc(sizeof(double) * (size_t)cap), total = 0;
    if (!t) return 1;
    while ((n < o->min_runs || total < o->min_time) && n < cap) {
        if (fn(user, &t[n])) {
            free(t);
            return 1;
        }
        total += t[n++];
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    /* nearest-rank percentiles */
    st->runs = n;
    st->best = t[0];
    st->med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    st->p10 = t[(n - 1) / 10];
    st->p90 = t[((n - 1) * 9 + 9) / 10 < n ? ((n - 1) * 9 + 9) / 10 : n - 1];
    free(t);
    return 0;
}

/* ---- peak: an in-process FMA loop, 12 independent accumulator chains per thread ---- */

typedef struct {
    int64_t iters;
    double flops;
    float sink;
    pthread_barrier_t *bar;
    int kind; /* 2 avx512, 1 avx2+fma, 0 scalar */
} fma_job;

#ifdef BENCH_X86
__attribute__((target("avx512f"))) static float fma_512(int64_t iters) {
    __m512 a[12], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    for (int64_t k = 0; k < iters; k++)
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}
__attribute__((target("avx2,fma"))) static float fma_256(int64_t iters) {
    __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    for (int64_t k = 0; k < iters; k++)
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
    float out[8], r = 0;
    for (int i = 1; i < 12; i++) a[0] = _mm256_add_ps(a[0], a[i]);
    _mm256_storeu_ps(out, a[0]);
    for (int i = 0; i < 8; i++) r += out[i];
    return r;
}
#endif
static float fma_scalar(int64_t iters) {
    float a[12];
    for (int i = 0; i < 12; i++) a[i] = (float)i;
    for (int64_t k = 0; k < iters; k++)
        for (int i = 0; i < 12; i++) a[i] = a[i] * 0.999999f + 1e-7f;
    float s = 0;
    for (int i = 0; i < 12; i++) s += a[i];
    return s;
}

static void *fma_thread(void *p) {
    fma_job *j = p;
    pthread_barrier_wait(j->bar);
#ifdef BENCH_X86
    if (j->kind == 2) j->sink = fma_512(j->iters), j->flops = (double)j->iters * 12 * 16 * 2;
    else if (j->kind == 1) j->sink = fma_256(j->iters), j->flops = (double)j->iters * 12 * 8 * 2;
    else
#endif
        j->sink = fma_scalar(j->iters), j->flops = (double)j->iters * 12 * 2;
    return NULL;
}

/* FLOP/s of `threads` threads running the loop at once, best of 8 bursts of about 25 ms (the best
 * burst: other processes on a shared machine only ever slow it down). */
static double measure_peak(int threads, const char **isa, int *lanes) {
    int kind = 0;
#ifdef BENCH_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) kind = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) kind = 1;
#endif
    *isa = kind == 2 ? "AVX-512 FMA" : kind == 1 ? "AVX2 FMA" : "scalar";
    *lanes = kind == 2 ? 16 : kind == 1 ? 8 : 1;
    if (threads < 1) threads = 1;
    if (threads > 256) threads = 256;
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    fma_job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_barrier_t bar;
    double best = 0;
    int64_t iters = 100000;
    for (int rep = 0; rep < 9; rep++) {
        pthread_barrier_init(&bar, NULL, (unsigned)threads + 1);
        for (int i = 0; i < threads; i++) {
            jobs[i] = (fma_job){.iters = iters, .bar = &bar, .kind = kind};
            pthread_create(&tid[i], NULL, fma_thread, &jobs[i]);
        }
        double t0 = bench_now();
        pthread_barrier_wait(&bar);
        double flops = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(tid[i], NULL);
            flops += jobs[i].flops;
        }
        double dt = bench_now() - t0;
        pthread_barrier_destroy(&bar);
        if (rep == 0) { /* calibrate to about 25 ms per burst */
            iters = (int64_t)((double)iters * 0.025 / (dt > 1e-6 ? dt : 1e-6));
            if (iters < 1000) iters = 1000;
            continue;
        }
        if (flops / dt > best) best = flops / dt;
    }
    free(tid);
    free(jobs);
    return best;
}

static void cpu_model(char *buf, size_t cap) {
    snprintf(buf, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t') c++;
                c[strcspn(c, "\n")] = 0;
                snprintf(buf, cap, "%s", c);
            }
            break;
        }
    fclose(f);
}

void bench_report_init(bench_report *r, jt_ctx *ctx, int measure, double fixed_peak) {
    memset(r, 0, sizeof *r);
    r->threads = jt_ctx_threads(ctx);
    cpu_model(r->cpu, sizeof r->cpu);
    jt_blas_info(r->blas, sizeof r->blas);
    snprintf(r->gemm_kernels, sizeof r->gemm_kernels, "own SGEMM kernel %s (M >= 64), %s (M = 8)",
             jt_gemm_f32_kernel_name(jt_gemm_f32_kernel_auto(64)), jt_gemm_f32_kernel_name(jt_gemm_f32_kernel_auto(8)));
    time_t now = time(NULL);
    struct tm tmv;
    localtime_r(&now, &tmv);
    strftime(r->date, sizeof r->date, "%Y-%m-%d %H:%M:%S", &tmv);
    if (fixed_peak > 0) {
        r->peak_gflops = fixed_peak;
        snprintf(r->peak_method, sizeof r->peak_method, "given: %.1f GFLOP/s (--peak-gflops)", fixed_peak);
    } else if (measure) {
        const char *isa;
        int lanes;
        double p = measure_peak(r->threads, &isa, &lanes);
        r->peak_gflops = p / 1e9;
        snprintf(r->peak_method, sizeof r->peak_method,
                 "measured: %d threads x in-process %s loop (12 chains, best of 8 x 25 ms) = %.1f GFLOP/s "
                 "(= %d cores x %.2f GHz x %d FLOP/cycle)",
                 r->threads, isa, r->peak_gflops, r->threads, r->peak_gflops / r->threads / (lanes * 2.0), lanes * 2);
    } else
        snprintf(r->peak_method, sizeof r->peak_method, "not measured (--no-peak)");
}

bench_row *bench_report_add(bench_report *r) {
    if (r->n_rows == r->cap_rows) {
        int cap = r->cap_rows ? 2 * r->cap_rows : 32;
        bench_row *n = realloc(r->rows, sizeof *n * (size_t)cap);
        if (!n) return NULL;
        r->rows = n;
        r->cap_rows = cap;
    }
    bench_row *row = &r->rows[r->n_rows++];
    memset(row, 0, sizeof *row);
    snprintf(row->backend, sizeof row->backend, "cpu");
    snprintf(row->algo, sizeof row->algo, "-");
    return row;
}

void bench_report_free(bench_report *r) {
    free(r->rows);
    r->rows = NULL;
    r->n_rows = r->cap_rows = 0;
}

void bench_print_header(const bench_report *r, FILE *f) {
    fprintf(f, "jatp bench %s   %s\n", JATP_VERSION, r->date);
    fprintf(f, "cpu      %s, %d threads\n", r->cpu, r->threads);
    fprintf(f, "blas     %s\n", r->blas);
    fprintf(f, "gemm     %s\n", r->gemm_kernels);
    fprintf(f, "peak     %s\n", r->peak_method);
}

static double pct_peak(const bench_report *r, const bench_row *w) {
    return r->peak_gflops > 0 && w->flops > 0 ? 100.0 * w->flops / w->t.med / 1e9 / r->peak_gflops : 0;
}

void bench_print_table(const bench_report *r, FILE *f) {
    int wop = 8, wsh = 5;
    for (int i = 0; i < r->n_rows; i++) {
        int a = (int)strlen(r->rows[i].op), b = (int)strlen(r->rows[i].shape);
        if (a > wop) wop = a;
        if (b > wsh) wsh = b;
    }
    fprintf(f, "%-*s  %-*s  %-10s %-7s %-5s %11s %11s %11s %9s %8s %7s %6s\n", wop, "op", wsh, "shape", "pass", "backend",
            "algo", "median us", "p10 us", "p90 us", "GFLOP/s", "GB/s", "%peak", "runs");
    for (int i = 0; i < r->n_rows; i++) {
        const bench_row *w = &r->rows[i];
        double s = w->t.med;
        fprintf(f, "%-*s  %-*s  %-10s %-7s %-5s %11.1f %11.1f %11.1f %9.2f %8.2f %7.1f %6d\n", wop, w->op, wsh, w->shape,
                w->pass, w->backend, w->algo, s * 1e6, w->t.p10 * 1e6, w->t.p90 * 1e6, w->flops / s / 1e9,
                w->bytes / s / 1e9, pct_peak(r, w), w->t.runs);
    }
}

static int emit(jt_ctx *ctx, const char *path, const char *text) {
    if (strcmp(path, "-") == 0) {
        fputs(text, stdout);
        return 0;
    }
    if (jt_write_atomic(ctx, path, text, strlen(text)) != JT_OK) return cli_error(ctx);
    return 0;
}

int bench_write_json(jt_ctx *ctx, const bench_report *r, const char *path) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", "jatp.bench/2");
    cJSON_AddStringToObject(root, "version", JATP_VERSION);
    cJSON_AddStringToObject(root, "date", r->date);
    cJSON_AddStringToObject(root, "cpu", r->cpu);
    cJSON_AddNumberToObject(root, "threads", r->threads);
    cJSON_AddStringToObject(root, "blas", r->blas);
    cJSON_AddStringToObject(root, "gemm", r->gemm_kernels);
    cJSON_AddNumberToObject(root, "peak_gflops", r->peak_gflops);
    cJSON_AddStringToObject(root, "peak_method", r->peak_method);
    cJSON *rows = cJSON_AddArrayToObject(root, "rows");
    for (int i = 0; i < r->n_rows; i++) {
        const bench_row *w = &r->rows[i];
        cJSON *o = cJSON_CreateObject();
        double s = w->t.med;
        cJSON_AddStringToObject(o, "op", w->op);
        cJSON_AddStringToObject(o, "shape", w->shape);
        cJSON_AddStringToObject(o, "pass", w->pass);
        cJSON_AddStringToObject(o, "backend", w->backend);
        cJSON_AddStringToObject(o, "algo", w->algo);
        cJSON_AddNumberToObject(o, "runs", w->t.runs);
        cJSON_AddNumberToObject(o, "us_median", s * 1e6);
        cJSON_AddNumberToObject(o, "us_p10", w->t.p10 * 1e6);
        cJSON_AddNumberToObject(o, "us_p90", w->t.p90 * 1e6);
        cJSON_AddNumberToObject(o, "us_best", w->t.best * 1e6);
        cJSON_AddNumberToObject(o, "flop", w->flops);
        cJSON_AddNumberToObject(o, "bytes", w->bytes);
        cJSON_AddNumberToObject(o, "gflops", w->flops / s / 1e9);
        cJSON_AddNumberToObject(o, "gbps", w->bytes / s / 1e9);
        cJSON_AddNumberToObject(o, "pct_peak", pct_peak(r, w));
        if (w->batch > 0) {
            cJSON_AddNumberToObject(o, "batch", w->batch);
            cJSON_AddNumberToObject(o, "items_per_s", w->batch / s);
        }
        cJSON_AddItemToArray(rows, o);
    }
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    size_t n = strlen(txt);
    char *t2 = malloc(n + 2);
    memcpy(t2, txt, n);
    t2[n] = '\n';
    t2[n + 1] = 0;
    free(txt);
    int rc = emit(ctx, path, t2);
    free(t2);
    return rc;
}

int bench_write_csv(jt_ctx *ctx, const bench_report *r, const char *path) {
    size_t cap = 4096 + (size_t)r->n_rows * 512, len = 0;
    char *buf = malloc(cap);
    len += (size_t)snprintf(buf + len, cap - len,
                            "op,shape,pass,backend,algo,runs,us_median,us_p10,us_p90,gflops,gbps,pct_peak,batch,"
                            "threads,peak_gflops\n");
    for (int i = 0; i < r->n_rows; i++) {
        const bench_row *w = &r->rows[i];
        double s = w->t.med;
        len += (size_t)snprintf(buf + len, cap - len, "%s,\"%s\",%s,%s,%s,%d,%.3f,%.3f,%.3f,%.4f,%.4f,%.2f,%d,%d,%.2f\n",
                                w->op, w->shape, w->pass, w->backend, w->algo, w->t.runs, s * 1e6, w->t.p10 * 1e6,
                                w->t.p90 * 1e6, w->flops / s / 1e9, w->bytes / s / 1e9, pct_peak(r, w), w->batch,
                                r->threads, r->peak_gflops);
    }
    int rc = emit(ctx, path, buf);
    free(buf);
    return rc;
}

void bench_fill_random(jt_tensor *t, uint64_t seed) {
    int64_t n = jt_tensor_numel(t);
    uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) / 9007199254740992.0;
        switch (t->dtype) {
        case JT_F32: ((float *)t->data)[i] = (float)u; break;
        case JT_F64: ((double *)t->data)[i] = u; break;
        case JT_I64: ((int64_t *)t->data)[i] = (int64_t)(u * 10); break;
        default: ((uint8_t *)t->data)[i] = (uint8_t)(u * 2); break;
        }
    }
}

void bench_dims_str(const int64_t *dims, int rank, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    for (int d = 0; d < rank && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, d ? ",%lld" : "%lld", (long long)dims[d]);
}
