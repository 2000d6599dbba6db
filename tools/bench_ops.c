/* jatp bench --op / --cases: single-operator benchmarks.
 *
 * A case is an op, the shapes of its inputs and its attributes:
 *
 *   Conv  32,64,32,32:64,64,3,3  strides=1,1 pads=1,1,1,1     X:W[:B] (W, B are parameters)
 *   Gemm  256,512,1024                                         M,N,K: A [M,K] input, B [K,N] parameter
 *   Gemm  256,1024:1024,512  transB=0                          explicit A:B shapes
 *   Relu  32,64,32,32                                          every group is an input
 *   BatchNormalization 32,64,32,32                             scale, bias, mean, var made [C]
 *   ReduceMean 32,64,32,32  axes=2,3 keepdims=1
 *
 * Passes: fwd (the op itself), bwd_data (the nodes jt_build_backward adds for the gradient w.r.t.
 * input 0 given a random dY), bwd_filter (w.r.t. input 1: the weights), bwd (w.r.t. every float input).
 * Only the op's nodes (resp. the gradient nodes) are timed, each run with jt_plan_run_profiled; the
 * forward node that a backward graph also contains is run but not counted. FLOPs come from the ops'
 * cost functions; bytes are the sizes of the timed nodes' inputs and outputs (one pass over each).
 *
 * Case files (benchmarks/cases/NAME.txt): one case per line, "op shape [key=value ...]", '#' starts a
 * comment; "pass=fwd,bwd_data" on a line overrides the passes for that case. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "common/cli.h"

#define MAX_IN 8

typedef struct op_case {
    char op[48];
    char shape[160];
    char attrs[256];
    char passes[64];
} op_case;

static int is_weighted(const char *op) {
    return !strcmp(op, "Conv") || !strcmp(op, "ConvTranspose") || !strcmp(op, "Gemm") || !strcmp(op, "MatMul");
}

/* "a,b,c:d,e" -> groups of dims */
static int parse_shapes(const char *s, int64_t dims[MAX_IN][JT_MAX_RANK], int rank[MAX_IN]) {
    int n = 0;
    const char *p = s;
    while (*p && n < MAX_IN) {
        rank[n] = 0;
        while (*p && *p != ':') {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p || v <= 0 || rank[n] == JT_MAX_RANK) return -1;
            dims[n][rank[n]++] = v;
            p = end;
            if (*p == ',') p++;
            else if (*p && *p != ':') return -1;
        }
        n++;
        if (*p == ':') p++;
    }
    return n;
}

static int is_list_attr(const char *k) {
    static const char *const l[] = {"strides", "pads", "dilations", "kernel_shape", "axes", "perm", "output_padding",
                                    "output_shape", NULL};
    for (int i = 0; l[i]; i++)
        if (!strcmp(k, l[i])) return 1;
    return 0;
}

/* Sets the builder's pending attributes; ReduceSum's axes (an input since opset 13) go to *axes_in. */
static int set_attrs(jt_gb *b, const char *op, const char *attrs, int32_t *axes_in) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", attrs);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            fprintf(stderr, "jatp bench: attribute '%s' is not key=value\n", tok);
            return 2;
        }
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        int n = 1, fl = 0;
        for (const char *c = v; *c; c++) {
            if (*c == ',') n++;
            if (*c == '.' || *c == 'e' || *c == 'E') fl = 1;
        }
        int numeric = isdigit((unsigned char)v[0]) || v[0] == '-' || v[0] == '.';
        if (!numeric) {
            jt_gb_attr_string(b, k, v);
            continue;
        }
        int64_t iv[16];
        double dv[16];
        const char *p = v;
        for (int i = 0; i < n && i < 16; i++) {
            char *end;
            dv[i] = strtod(p, &end);
            iv[i] = (int64_t)dv[i];
            p = *end == ',' ? end + 1 : end;
        }
        if (n > 16) n = 16;
        if (!strcmp(op, "ReduceSum") && !strcmp(k, "axes")) *axes_in = jt_gb_const_i64s(b, iv, n);
        else if (fl && (n > 1 || is_list_attr(k))) jt_gb_attr_floats(b, k, dv, n);
        else if (fl) jt_gb_attr_float(b, k, dv[0]);
        else if (n > 1 || is_list_attr(k)) jt_gb_attr_ints(b, k, iv, n);
        else jt_gb_attr_int(b, k, iv[0]);
    }
    return 0;
}

typedef struct op_timer {
    jt_plan *plan;
    jt_tensor *xs;
    int n_in;
    const jt_graph *g;
    int32_t first; /* time nodes with index >= first ... */
    int32_t last;  /* ... and < last */
    double seconds, flops, bytes;
} op_timer;

static void op_cb(void *user, const jt_node *n, double s, double flops) {
    op_timer *t = user;
    int32_t k = (int32_t)(n - t->g->nodes);
    if (k < t->first || k >= t->last) return;
    t->seconds += s;
    t->flops += flops;
    for (int i = 0; i < n->n_in + n->n_out; i++) {
        int32_t v = i < n->n_in ? n->in[i] : n->out[i - n->n_in];
        const jt_tensor *m = v >= 0 ? jt_plan_value_meta(t->plan, v) : NULL;
        if (m) t->bytes += (double)jt_tensor_nbytes(m);
    }
}

static int op_run(void *user, double *s) {
    op_timer *t = user;
    t->seconds = t->flops = t->bytes = 0;
    if (jt_plan_run_profiled(t->plan, t->xs, t->n_in, op_cb, t) != JT_OK) return 1;
    *s = t->seconds;
    return 0;
}

/* Builds the one-op graph (plus its backward for bwd passes), times it, adds a row. Returns 0, 1
 * (library error, printed), 2 (bad case, printed) or 3 (pass does not apply: skipped). */
static int bench_case_pass(jt_ctx *ctx, const op_case *c, const char *pass, const bench_opts *o, bench_report *r) {
    int64_t dims[MAX_IN][JT_MAX_RANK];
    int rank[MAX_IN];
    int ng = parse_shapes(c->shape, dims, rank);
    if (ng <= 0) {
        fprintf(stderr, "jatp bench: %s: bad shape '%s' (groups of positive integers a,b,c separated by ':')\n", c->op,
                c->shape);
        return 2;
    }
    int wrt_mask;
    if (!strcmp(pass, "fwd")) wrt_mask = 0;
    else if (!strcmp(pass, "bwd_data")) wrt_mask = 1;
    else if (!strcmp(pass, "bwd_filter")) wrt_mask = 2;
    else if (!strcmp(pass, "bwd")) wrt_mask = -1;
    else {
        fprintf(stderr, "jatp bench: unknown op pass '%s' (fwd, bwd_data, bwd_filter, bwd)\n", pass);
        return 2;
    }
    int weighted = is_weighted(c->op);
    if (weighted && (!strcmp(c->op, "Gemm") || !strcmp(c->op, "MatMul")) && ng == 1 && rank[0] == 3) {
        int64_t M = dims[0][0], N = dims[0][1], K = dims[0][2];
        ng = 2;
        rank[0] = rank[1] = 2;
        dims[0][0] = M, dims[0][1] = K, dims[1][0] = K, dims[1][1] = N;
    }
    int bn = !strcmp(c->op, "BatchNormalization");
    if (bn && ng == 1) {
        if (rank[0] < 2) {
            fprintf(stderr, "jatp bench: BatchNormalization needs X of rank >= 2\n");
            return 2;
        }
        for (int i = 1; i <= 4; i++) rank[i] = 1, dims[i][0] = dims[0][1];
        ng = 5;
    }
    if (wrt_mask == 2 && ng < 2) return 3;
    jt_graph *g = NULL;
    jt_plan *plan = NULL;
    jt_tensor xs[MAX_IN + 2];
    void *bufs[MAX_IN + 2] = {0};
    int rc = 0, n_in = 0;
    memset(xs, 0, sizeof xs);
    if (jt_graph_create(ctx, "bench-op", &g) != JT_OK) return cli_error(ctx);
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int32_t ins[MAX_IN + 1];
    for (int i = 0; i < ng; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "in%d", i);
        int param = (weighted && i >= 1) || (bn && i >= 1);
        if (param) {
            jt_tensor t = {.dtype = JT_F32, .rank = rank[i]};
            memcpy(t.dims, dims[i], sizeof(int64_t) * (size_t)rank[i]);
            t.data = malloc(jt_tensor_nbytes(&t) + 1);
            bench_fill_random(&t, (uint64_t)i + 11);
            if (bn && i == 4) /* variance: keep it away from 0 */
                for (int64_t k = 0; k < jt_tensor_numel(&t); k++) ((float *)t.data)[k] += 0.5f;
            ins[i] = jt_gb_param(&b, nm, JT_F32, rank[i], dims[i], t.data);
            free(t.data);
        } else {
            ins[i] = jt_gb_input(&b, nm, JT_F32, rank[i], dims[i]);
            xs[n_in] = (jt_tensor){.dtype = JT_F32, .rank = rank[i]};
            memcpy(xs[n_in].dims, dims[i], sizeof(int64_t) * (size_t)rank[i]);
            xs[n_in].data = bufs[n_in] = malloc(jt_tensor_nbytes(&xs[n_in]) + 1);
            bench_fill_random(&xs[n_in], (uint64_t)i + 1);
            n_in++;
        }
    }
    int32_t axes_in = -1;
    if ((rc = set_attrs(&b, c->op, c->attrs, &axes_in))) goto done;
    int nin = ng;
    if (axes_in >= 0) ins[nin++] = axes_in;
    int32_t y = jt_gb_op(&b, c->op, "", c->op, ins, nin);
    jt_gb_output(&b, y);
    if (jt_gb_status(&b) != JT_OK) goto fail;
    int32_t n_fwd = g->n_nodes;
    jt_plan_options po;
    jt_plan_options_default(&po);
    op_timer t = {0};
    t.g = g;
    t.first = 0;
    t.last = n_fwd;
    if (wrt_mask) {
        po.fold_params = 0;
        if (jt_plan_create(ctx, g, xs, n_in, &po, &plan) != JT_OK) goto fail;
        jt_tensor om = *jt_plan_value_meta(plan, y);
        jt_plan_free(plan);
        plan = NULL;
        int32_t wrt[MAX_IN], grads[MAX_IN];
        int nw = 0;
        for (int i = 0; i < ng; i++)
            if ((wrt_mask == -1 && !(bn && i >= 3)) || (wrt_mask == 1 && i == 0) || (wrt_mask == 2 && i == 1))
                wrt[nw++] = ins[i];
        b.prefix = "grad/";
        int32_t seed = jt_gb_input(&b, "dy", om.dtype, om.rank, om.dims);
        if (jt_gb_status(&b) != JT_OK) goto fail;
        xs[n_in] = om;
        xs[n_in].data = bufs[n_in] = malloc(jt_tensor_nbytes(&om) + 1);
        bench_fill_random(&xs[n_in], 42);
        n_in++;
        if (jt_build_backward(ctx, g, &y, &seed, 1, wrt, nw, grads) != JT_OK) goto fail;
        for (int i = 0; i < nw; i++)
            if (jt_graph_add_output(ctx, g, grads[i]) != JT_OK) goto fail;
        t.first = n_fwd;
        t.last = g->n_nodes;
        if (t.first == t.last) { /* e.g. a gradient that is identically zero */
            rc = 3;
            goto done;
        }
    }
    if (jt_plan_create(ctx, g, xs, n_in, &po, &plan) != JT_OK) goto fail;
    t.plan = plan;
    t.xs = xs;
    t.n_in = n_in;
    bench_stats st;
    if (bench_time(op_run, &t, o, &st)) goto fail;
    bench_row *w = bench_report_add(r);
    snprintf(w->op, sizeof w->op, "%s", c->op);
    snprintf(w->shape, sizeof w->shape, "%s%s%s", c->shape, c->attrs[0] ? " " : "", c->attrs);
    snprintf(w->pass, sizeof w->pass, "%s", pass);
    w->t = st;
    w->flops = t.flops;
    w->bytes = t.bytes;
    goto done;
fail:
    rc = cli_error(ctx);
done:
    for (int i = 0; i < MAX_IN + 2; i++) free(bufs[i]);
    jt_plan_free(plan);
    jt_graph_free(g);
    return rc;
}

static int bench_case(jt_ctx *ctx, const op_case *c, const char *cli_passes, const bench_opts *o, bench_report *r) {
    const char *passes = c->passes[0] ? c->passes : cli_passes;
    int explicit = passes != NULL;
    if (!passes) passes = is_weighted(c->op) ? "fwd,bwd_data,bwd_filter" : "fwd,bwd_data";
    char buf[128];
    snprintf(buf, sizeof buf, "%s", passes);
    char *save = NULL;
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        int rc = bench_case_pass(ctx, c, p, o, r);
        if (rc == 3) {
            if (explicit) fprintf(stderr, "jatp bench: %s %s: pass %s does not apply, skipped\n", c->op, c->shape, p);
            continue;
        }
        if (rc) return rc;
    }
    return 0;
}

/* "op shape [k=v ...]" (pass=... and '#' comments handled); returns 1 for a case, 0 for a blank line. */
static int parse_case_line(const char *line, op_case *c) {
    memset(c, 0, sizeof *c);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", line);
    buf[strcspn(buf, "#\r\n")] = 0;
    char *save = NULL;
    char *op = strtok_r(buf, " \t", &save);
    if (!op) return 0;
    char *shape = strtok_r(NULL, " \t", &save);
    if (!shape) return -1;
    snprintf(c->op, sizeof c->op, "%s", op);
    snprintf(c->shape, sizeof c->shape, "%s", shape);
    size_t len = 0;
    for (char *tok = strtok_r(NULL, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (!strncmp(tok, "pass=", 5)) snprintf(c->passes, sizeof c->passes, "%s", tok + 5);
        else if (len < sizeof c->attrs)
            len += (size_t)snprintf(c->attrs + len, sizeof c->attrs - len, "%s%s", len ? " " : "", tok);
    }
    return 1;
}

int bench_ops(jt_ctx *ctx, const bench_op_args *a, const bench_opts *o, bench_report *r) {
    if (a->op) {
        op_case c = {0};
        snprintf(c.op, sizeof c.op, "%s", a->op);
        snprintf(c.shape, sizeof c.shape, "%s", a->shape ? a->shape : "");
        snprintf(c.attrs, sizeof c.attrs, "%s", a->attrs ? a->attrs : "");
        if (!a->shape) {
            fprintf(stderr, "jatp bench: --op needs --shape\n");
            return 2;
        }
        int rc = bench_case(ctx, &c, a->passes, o, r);
        if (rc) return rc;
    }
    if (a->cases) {
        FILE *f = fopen(a->cases, "r");
        if (!f) {
            fprintf(stderr, "jatp bench: cannot open case file '%s'\n", a->cases);
            return 1;
        }
        char line[512];
        int ln = 0;
        while (fgets(line, sizeof line, f)) {
            ln++;
            op_case c;
            int k = parse_case_line(line, &c);
            if (k < 0) {
                fprintf(stderr, "jatp bench: %s:%d: expected 'op shape [key=value ...]'\n", a->cases, ln);
                fclose(f);
                return 2;
            }
            if (k == 0) continue;
            int rc = bench_case(ctx, &c, a->passes, o, r);
            if (rc) {
                fprintf(stderr, "jatp bench: %s:%d: case failed\n", a->cases, ln);
                fclose(f);
                return rc;
            }
        }
        fclose(f);
    }
    return 0;
}
