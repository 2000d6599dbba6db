/* jatp bench internals: timing loop, statistics, peak measurement, the result table and its JSON/CSV
 * forms. The three kinds of rows (model passes, the JATP step, single-op cases) all go through
 * bench_report so that every output has the same columns:
 *
 *   op, shape, pass, backend, algo, time us (median, p10, p90), GFLOP/s, GB/s, % of peak
 *
 * (model rows also carry the batch and items/s). */
#ifndef JATP_TOOLS_BENCH_COMMON_H
#define JATP_TOOLS_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jatp/jatp.h"

typedef struct bench_opts {
    double min_time; /* measure until this many seconds of timed runs ... */
    int min_runs;    /* ... and at least this many runs */
    int warmup;      /* untimed runs first */
    struct jt_backend *backend; /* where model passes run (NULL: CPU); device runs are synchronised */
} bench_opts;

typedef struct bench_stats {
    int runs;
    double med, p10, p90, best; /* seconds */
} bench_stats;

typedef struct bench_row {
    char op[48];
    char shape[448];
    char pass[24];
    char backend[16];
    char algo[48];
    bench_stats t;
    double flops; /* per run (0: not counted) */
    double bytes; /* per run: operand + result bytes of the timed nodes (0: not counted) */
    int batch;    /* images per run (model rows), 0 for op rows */
} bench_row;

typedef struct bench_report {
    int threads;
    char cpu[128];
    char blas[256];
    char gemm_kernels[128];
    double peak_gflops;   /* measured FP32 FMA peak over `threads` threads */
    char peak_method[256];
    char date[32];
    bench_row *rows;
    int n_rows, cap_rows;
} bench_report;

/* One timed unit: returns 0 and the seconds it took (the whole call, or only the nodes of interest),
 * or non-zero on failure (error in the context). */
typedef int (*bench_fn)(void *user, double *seconds);

/* Warm-up, then timed runs until min_runs and min_time; fills st. Returns 0 or the fn's failure. */
int bench_time(bench_fn fn, void *user, const bench_opts *o, bench_stats *st);
double bench_now(void);

/* Fills the header: threads, CPU model, BLAS line, GEMM kernels, date and the peak: fixed_peak when > 0,
 * else (when measure_peak) the measured FMA peak. */
void bench_report_init(bench_report *r, jt_ctx *ctx, int measure_peak, double fixed_peak);
bench_row *bench_report_add(bench_report *r);
void bench_report_free(bench_report *r);

void bench_print_header(const bench_report *r, FILE *f);
void bench_print_table(const bench_report *r, FILE *f);
/* path "-" prints to stdout; otherwise written with jt_write_atomic. Returns 0 or 1 (printed). */
int bench_write_json(jt_ctx *ctx, const bench_report *r, const char *path);
int bench_write_csv(jt_ctx *ctx, const bench_report *r, const char *path);

/* Uniform [0,1) (floats), 0..9 (int64), 0/1 (bool), from a fixed LCG stream. */
void bench_fill_random(jt_tensor *t, uint64_t seed);
/* Shape text "a,b,c" of a tensor's dims. */
void bench_dims_str(const int64_t *dims, int rank, char *buf, size_t cap);

/* The entry points behind cmd_bench (bench.c parses the options). */
typedef struct bench_model_args {
    const char *file;       /* ONNX file, or NULL */
    const char *model;      /* builder model "NAME[:k=v,...]", or NULL */
    const char *passes;     /* "fwd,fwdbwd,step" */
    int batch;
    int profile;
    const char *jatp_target;/* --jatp-step: T (builder name[:k=v] or ONNX file), or NULL */
    const char *denoiser;   /* P for --jatp-step (builder name[:k=v]) */
    const char *tap;        /* tap name for an ONNX target */
} bench_model_args;

int bench_models(jt_ctx *ctx, const bench_model_args *a, const bench_opts *o, bench_report *r);
int bench_jatp_step(jt_ctx *ctx, const bench_model_args *a, const bench_opts *o, bench_report *r);

typedef struct bench_op_args {
    const char *op, *shape, *attrs, *passes; /* single case from flags (op NULL: none) */
    const char *cases;                       /* case file, or NULL */
} bench_op_args;

int bench_ops(jt_ctx *ctx, const bench_op_args *a, const bench_opts *o, bench_report *r);

#endif
