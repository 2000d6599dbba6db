/* jatp bench MODEL.onnx --batch B --threads T: forward time per batch (median, p10, p90), images/s,
 * GFLOP/s; --profile adds a per-operator breakdown. Wall clock, fixed threads. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/args.h"
#include "common/cli.h"
#include "runtime/cpu/blas.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const char *op;
    double seconds, flops;
    int calls;
} prof_row;

typedef struct {
    prof_row rows[128];
    int n;
} profile;

static void prof_cb(void *user, const jt_node *n, double s, double flops) {
    profile *p = user;
    int r = -1;
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->rows[i].op, n->op_type) == 0) r = i;
    if (r < 0) {
        if (p->n == 128) return;
        r = p->n++;
        p->rows[r] = (prof_row){n->op_type, 0, 0, 0};
    }
    p->rows[r].seconds += s;
    p->rows[r].flops += flops;
    p->rows[r].calls++;
}

static void fill_random(jt_tensor *t, uint64_t seed) {
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

int cmd_bench(int argc, char **argv) {
    int batch = 1, threads = 0, json = 0, prof = 0, warmup = 3, min_runs = 5;
    const char *min_time_s = "0.5";
    const char *pos[1];
    const arg_opt opts[] = {
        {"--batch", ARG_INT, "B", "batch size for the symbolic batch dimension (default 1)", &batch},
        {"--threads", ARG_INT, "T", "worker threads (default: all cores)", &threads},
        {"--min-time", ARG_STR, "SEC", "repeat until this much time has been measured (default 0.5)", &min_time_s},
        {"--min-runs", ARG_INT, "N", "at least this many timed runs (default 5)", &min_runs},
        {"--warmup", ARG_INT, "N", "untimed runs first (default 3)", &warmup},
        {"--profile", ARG_FLAG, NULL, "per-operator time breakdown", &prof},
        {"--json", ARG_FLAG, NULL, "print JSON (schema jatp.bench/1)", &json},
    };
    arg_spec spec = {"jatp bench", "MODEL.onnx [--batch B] [--threads T] [options]",
                     "Times the forward pass of MODEL on random inputs in [0,1): median, p10 and p90 ms per batch, "
                     "images/s and GFLOP/s (FLOPs counted by the ops' cost functions, multiply-add = 2).",
                     opts, 7, pos, 1, 1, NULL};
    int rc = args_parse(&spec, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    double min_time = atof(min_time_s);
    if (batch < 1 || min_time < 0 || min_runs < 1 || warmup < 0) {
        fprintf(stderr, "jatp bench: --batch, --min-runs must be >= 1; --min-time and --warmup >= 0\n");
        return 2;
    }
    jt_ctx *ctx;
    if (cli_ctx(threads, &ctx)) return 1;
    jt_graph *g = NULL;
    jt_plan *plan = NULL;
    jt_tensor *xs = NULL;
    double *times = NULL;
    rc = 0;
    if (jt_onnx_load(ctx, pos[0], NULL, &g) != JT_OK) {
        rc = cli_error(ctx);
        goto done;
    }
    xs = calloc((size_t)g->n_inputs + 1, sizeof *xs);
    cli_default_shapes(ctx, g, batch, xs);
    for (int i = 0; i < g->n_inputs; i++) {
        xs[i].data = malloc(jt_tensor_nbytes(&xs[i]) + 1);
        fill_random(&xs[i], (uint64_t)i + 1);
    }
    if (jt_plan_create(ctx, g, xs, g->n_inputs, NULL, &plan) != JT_OK) {
        rc = cli_error(ctx);
        goto done;
    }
    for (int i = 0; i < warmup; i++)
        if (jt_plan_run(plan, xs, g->n_inputs) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
    int cap = 1 << 16, n = 0;
    times = malloc(sizeof(double) * (size_t)cap);
    double total = 0;
    while ((n < min_runs || total < min_time) && n < cap) {
        double t0 = now_s();
        if (jt_plan_run(plan, xs, g->n_inputs) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
        times[n] = now_s() - t0;
        total += times[n++];
    }
    profile pr = {0};
    if (prof)
        for (int i = 0; i < 3; i++) jt_plan_run_profiled(plan, xs, g->n_inputs, prof_cb, &pr);
    qsort(times, (size_t)n, sizeof *times, cmp_double);
    double med = times[n / 2], p10 = times[n / 10], p90 = times[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1];
    jt_plan_stats ps;
    jt_plan_get_stats(plan, &ps);
    char blas[256];
    jt_blas_info(blas, sizeof blas);
    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "schema", "jatp.bench/1");
        cJSON_AddStringToObject(root, "model", pos[0]);
        cJSON_AddNumberToObject(root, "batch", batch);
        cJSON_AddNumberToObject(root, "threads", jt_ctx_threads(ctx));
        cJSON_AddStringToObject(root, "blas", blas);
        cJSON_AddNumberToObject(root, "runs", n);
        cJSON_AddNumberToObject(root, "ms_median", med * 1e3);
        cJSON_AddNumberToObject(root, "ms_p10", p10 * 1e3);
        cJSON_AddNumberToObject(root, "ms_p90", p90 * 1e3);
        cJSON_AddNumberToObject(root, "images_per_s", batch / med);
        cJSON_AddNumberToObject(root, "gflops", ps.flops / med / 1e9);
        cJSON_AddNumberToObject(root, "gflop_per_batch", ps.flops / 1e9);
        if (prof) {
            cJSON *ops = cJSON_AddArrayToObject(root, "profile");
            for (int i = 0; i < pr.n; i++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "op", pr.rows[i].op);
                cJSON_AddNumberToObject(o, "ms", pr.rows[i].seconds / 3 * 1e3);
                cJSON_AddNumberToObject(o, "calls", pr.rows[i].calls / 3);
                cJSON_AddNumberToObject(o, "gflops", pr.rows[i].seconds > 0 ? pr.rows[i].flops / pr.rows[i].seconds / 1e9 : 0);
                cJSON_AddItemToArray(ops, o);
            }
        }
        char *s = cJSON_Print(root);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(root);
    } else {
        printf("model    %s\nbatch    %d   threads %d   runs %d\nblas     %s\n", pos[0], batch, jt_ctx_threads(ctx), n, blas);
        printf("%-10s %10s %10s %10s %12s %10s\n", "", "median ms", "p10 ms", "p90 ms", "images/s", "GFLOP/s");
        printf("%-10s %10.3f %10.3f %10.3f %12.1f %10.1f\n", "forward", med * 1e3, p10 * 1e3, p90 * 1e3, batch / med,
               ps.flops / med / 1e9);
        if (prof) {
            printf("\n%-24s %8s %10s %8s %10s\n", "operator", "calls", "ms", "share", "GFLOP/s");
            double sum = 0;
            for (int i = 0; i < pr.n; i++) sum += pr.rows[i].seconds;
            for (int i = 0; i < pr.n; i++)
                printf("%-24s %8d %10.3f %7.1f%% %10.1f\n", pr.rows[i].op, pr.rows[i].calls / 3,
                       pr.rows[i].seconds / 3 * 1e3, 100 * pr.rows[i].seconds / (sum > 0 ? sum : 1),
                       pr.rows[i].seconds > 0 ? pr.rows[i].flops / pr.rows[i].seconds / 1e9 : 0);
        }
    }
done:
    free(times);
    if (xs)
        for (int i = 0; i < g->n_inputs; i++) free(xs[i].data);
    free(xs);
    jt_plan_free(plan);
    jt_graph_free(g);
    jt_ctx_free(ctx);
    return rc;
}
