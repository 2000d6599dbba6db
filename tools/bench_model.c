/* jatp bench: whole-model passes (fwd, fwdbwd, step) and the JATP training step.
 *
 *   fwd     forward only, inference plan (parameters folded as constants where possible)
 *   fwdbwd  forward + backward w.r.t. the input and every trainable parameter, with a fixed random
 *           cotangent on output 0 (training plan: fold_params = 0)
 *   step    one training step: forward, loss (cross-entropy on random labels when output 0 is
 *           [N, K], else MSE to a random target of the output's shape), backward w.r.t. the trainable
 *           parameters, SGD (momentum 0.9, weight decay 5e-4, lr 1e-3) applied in place; builder models
 *           use training-mode BatchNorm (bn=train) unless the model spec says bn=eval
 *
 * The JATP step (--jatp-step T): P (a builder denoiser) in front of a frozen, eval-mode T; x~ and x are
 * concatenated on the batch axis and go through P and T once (2B images), the JATP loss (alpha 5,
 * beta 3) uses T's logits and tap on both halves and P's output on x~; backward w.r.t. P's parameters;
 * SGD lr 1e-2, momentum 0.9, wd 2e-4, global-norm clipping at 1.0 (models.md 5.4). The feature-space
 * PGD that produces x~ is not part of the timed step (x~ is a fixed perturbed copy of x). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "common/cli.h"

#define MAXP 4096

typedef struct runner {
    jt_plan *plan;
    jt_tensor *xs;
    int n;
    jt_backend *backend; /* device runs are asynchronous: wait for them inside the timed region */
} runner;

static int run_once(void *user, double *s) {
    runner *r = user;
    double t0 = bench_now();
    if (jt_plan_run(r->plan, r->xs, r->n) != JT_OK) return 1;
    if (r->backend && jt_backend_sync(r->backend) != JT_OK) return 1;
    *s = bench_now() - t0;
    return 0;
}

/* "name:k=v,k=v" (a value may itself hold commas: "blocks=2,2,2,2") */
static jt_status model_config(jt_ctx *ctx, const char *spec, char *name, size_t cap, jt_model_config *cfg,
                              int step_mode) {
    const char *colon = strchr(spec, ':');
    size_t nl = colon ? (size_t)(colon - spec) : strlen(spec);
    if (nl >= cap) nl = cap - 1;
    memcpy(name, spec, nl);
    name[nl] = 0;
    JT_TRY(jt_model_config_preset(ctx, name, cfg));
    if (step_mode) cfg->train_bn = 1;
    if (!colon) return JT_OK;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", colon + 1);
    char *kv[64];
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok && n < 64; tok = strtok_r(NULL, ",", &save)) {
        if (!strchr(tok, '=') && n > 0) tok[-1] = ','; /* continuation of the previous value */
        else kv[n++] = tok;
    }
    for (int i = 0; i < n; i++) JT_TRY(jt_model_config_set(ctx, cfg, kv[i]));
    return JT_OK;
}

static int is_onnx_path(const char *s) {
    size_t n = strlen(s);
    return n > 5 && strcmp(s + n - 5, ".onnx") == 0;
}

typedef struct loaded {
    jt_graph *g;
    jt_model_info mi;
    int has_info;
    char label[160];
} loaded;

static jt_status load(jt_ctx *ctx, const bench_model_args *a, int step_mode, loaded *L) {
    memset(L, 0, sizeof *L);
    if (a->file) {
        snprintf(L->label, sizeof L->label, "%s", a->file);
        return jt_onnx_load(ctx, a->file, NULL, &L->g);
    }
    char name[64];
    jt_model_config cfg;
    JT_TRY(model_config(ctx, a->model, name, sizeof name, &cfg, step_mode));
    snprintf(L->label, sizeof L->label, "%s", a->model);
    L->has_info = 1;
    return jt_model_create(ctx, name, &cfg, &L->g, &L->mi);
}

/* Input tensors (shapes from cli_default_shapes, random data) for the graph's first n inputs. */
static jt_tensor *make_inputs(jt_ctx *ctx, const jt_graph *g, int batch, int extra) {
    jt_tensor *xs = calloc((size_t)g->n_inputs + (size_t)extra + 1, sizeof *xs);
    cli_default_shapes(ctx, g, batch, xs);
    for (int i = 0; i < g->n_inputs; i++) {
        xs[i].data = malloc(jt_tensor_nbytes(&xs[i]) + 1);
        bench_fill_random(&xs[i], (uint64_t)i + 1);
    }
    return xs;
}

static void free_inputs(jt_tensor *xs, int n) {
    for (int i = 0; xs && i < n; i++) free(xs[i].data);
    free(xs);
}

typedef struct prof_row {
    const char *op;
    double seconds, flops;
    int calls;
} prof_row;
typedef struct profile {
    prof_row rows[160];
    int n;
} profile;

static void prof_cb(void *user, const jt_node *n, double s, double flops) {
    profile *p = user;
    int r = -1;
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->rows[i].op, n->op_type) == 0) r = i;
    if (r < 0) {
        if (p->n == 160) return;
        r = p->n++;
        p->rows[r] = (prof_row){n->op_type, 0, 0, 0};
    }
    p->rows[r].seconds += s;
    p->rows[r].flops += flops;
    p->rows[r].calls++;
}

static int cmp_prof(const void *a, const void *b) {
    double x = ((const prof_row *)a)->seconds, y = ((const prof_row *)b)->seconds;
    return x > y ? -1 : x < y;
}

static void print_profile(jt_plan *plan, jt_tensor *xs, int n, const char *title) {
    profile pr = {0};
    for (int i = 0; i < 3; i++)
        if (jt_plan_run_profiled(plan, xs, n, prof_cb, &pr) != JT_OK) return;
    qsort(pr.rows, (size_t)pr.n, sizeof pr.rows[0], cmp_prof);
    double sum = 0;
    for (int i = 0; i < pr.n; i++) sum += pr.rows[i].seconds;
    fprintf(stderr, "\nprofile: %s (mean of 3 runs)\n%-24s %8s %10s %8s %10s\n", title, "operator", "calls", "ms", "share",
            "GFLOP/s");
    for (int i = 0; i < pr.n; i++)
        fprintf(stderr, "%-24s %8d %10.3f %7.1f%% %10.1f\n", pr.rows[i].op, pr.rows[i].calls / 3,
                pr.rows[i].seconds / 3 * 1e3, 100 * pr.rows[i].seconds / (sum > 0 ? sum : 1),
                pr.rows[i].seconds > 0 ? pr.rows[i].flops / pr.rows[i].seconds / 1e9 : 0);
}

/* Plans, times and adds one row. */
static int time_plan(jt_ctx *ctx, const jt_graph *g, jt_tensor *xs, const jt_plan_options *po, const bench_opts *o,
                     bench_report *r, const char *op, const char *shape, const char *pass, int batch, int profile) {
    runner rn = {NULL, xs, g->n_inputs, o->backend};
    jt_plan_options local;
    if (po) local = *po;
    else jt_plan_options_default(&local);
    local.backend = o->backend;
    if (jt_plan_create(ctx, g, xs, g->n_inputs, &local, &rn.plan) != JT_OK) return cli_error(ctx);
    bench_stats st;
    if (bench_time(run_once, &rn, o, &st)) {
        jt_plan_free(rn.plan);
        return cli_error(ctx);
    }
    jt_plan_stats ps;
    jt_plan_get_stats(rn.plan, &ps);
    bench_row *w = bench_report_add(r);
    snprintf(w->op, sizeof w->op, "%s", op);
    snprintf(w->shape, sizeof w->shape, "%s", shape);
    snprintf(w->pass, sizeof w->pass, "%s", pass);
    if (o->backend) { /* "cuda:0" from the device */
        jt_device d = jt_backend_device(o->backend);
        snprintf(w->backend, sizeof w->backend, "%s:%d", d.kind == JT_DEV_CUDA ? "cuda" : "cpu", d.index);
    }
    w->t = st;
    w->flops = ps.flops;
    w->batch = batch;
    if (profile) {
        char title[256];
        snprintf(title, sizeof title, "%s %s %s", op, shape, pass);
        print_profile(rn.plan, xs, g->n_inputs, title);
    }
    jt_plan_free(rn.plan);
    return 0;
}

/* Output 0's planned shape for the given inputs. */
static jt_status output_meta(jt_ctx *ctx, const jt_graph *g, const jt_tensor *xs, jt_tensor *out) {
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.fold_params = 0;
    jt_plan *p;
    JT_TRY(jt_plan_create(ctx, g, xs, g->n_inputs, &po, &p));
    *out = *jt_plan_value_meta(p, g->outputs[0]);
    out->data = NULL;
    jt_plan_free(p);
    return JT_OK;
}

static int bench_one_pass(jt_ctx *ctx, const bench_model_args *a, const char *pass, const bench_opts *o,
                          bench_report *r) {
    int step = strcmp(pass, "step") == 0, fwdbwd = strcmp(pass, "fwdbwd") == 0;
    if (!step && !fwdbwd && strcmp(pass, "fwd") != 0) {
        fprintf(stderr, "jatp bench: unknown model pass '%s' (fwd, fwdbwd, step)\n", pass);
        return 2;
    }
    loaded L;
    jt_tensor *xs = NULL;
    int rc = 0, n_in0 = 0;
    int32_t *params = NULL, *grads = NULL, *dst = NULL, *src = NULL;
    double lr = 1e-3, stepno = 1;
    void *extra_data[4] = {0};
    if (load(ctx, a, step, &L) != JT_OK) return cli_error(ctx);
    jt_graph *g = L.g;
    n_in0 = g->n_inputs;
    char shape[192];
    xs = make_inputs(ctx, g, a->batch, 4);
    bench_dims_str(xs[0].dims, xs[0].rank, shape, sizeof shape);
    if (!step && !fwdbwd) {
        rc = time_plan(ctx, g, xs, NULL, o, r, L.label, shape, pass, a->batch, a->profile);
        goto done;
    }
    if (g->n_inputs != 1 || g->n_outputs < 1) {
        fprintf(stderr, "jatp bench: --pass %s needs a model with one input (has %d) and an output\n", pass, g->n_inputs);
        rc = 2;
        goto done;
    }
    jt_tensor om;
    if (output_meta(ctx, g, xs, &om) != JT_OK) {
        rc = cli_error(ctx);
        goto done;
    }
    int32_t out = g->outputs[0];
    params = malloc(sizeof(int32_t) * (MAXP + 1));
    grads = malloc(sizeof(int32_t) * (MAXP + 1));
    int np = jt_graph_trainable_params(g, params + 1, MAXP);
    if (np > MAXP) {
        fprintf(stderr, "jatp bench: more than %d parameters\n", MAXP);
        rc = 1;
        goto done;
    }
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    b.prefix = "bench/";
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.fold_params = 0;
    if (fwdbwd) {
        int32_t seed = jt_gb_input(&b, "dy", om.dtype, om.rank, om.dims);
        if (jt_gb_status(&b) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
        params[0] = g->inputs[0];
        if (jt_build_backward(ctx, g, &out, &seed, 1, params, np + 1, grads) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
        for (int i = 0; i < np + 1; i++)
            if (jt_graph_add_output(ctx, g, grads[i]) != JT_OK) {
                rc = cli_error(ctx);
                goto done;
            }
        xs[1] = om;
        xs[1].data = extra_data[0] = malloc(jt_tensor_nbytes(&om) + 1);
        bench_fill_random(&xs[1], 99);
        rc = time_plan(ctx, g, xs, &po, o, r, L.label, shape, pass, a->batch, a->profile);
        goto done;
    }
    /* step */
    int classifier = om.rank == 2;
    int32_t tgt, loss;
    if (classifier) {
        tgt = jt_gb_input(&b, "labels", JT_I64, 1, (int64_t[]){om.dims[0]});
        loss = jt_loss_ce(&b, out, tgt);
    } else {
        tgt = jt_gb_input(&b, "target", om.dtype, om.rank, om.dims);
        loss = jt_loss_mse(&b, out, tgt);
    }
    jt_gb_output(&b, loss);
    if (jt_gb_status(&b) != JT_OK || jt_build_backward(ctx, g, &loss, NULL, 1, params + 1, np, grads) != JT_OK) {
        rc = cli_error(ctx);
        goto done;
    }
    jt_sgd_config sc;
    jt_sgd_config_default(&sc);
    sc.momentum = 0.9;
    sc.weight_decay = 5e-4;
    jt_optim_state os;
    if (jt_append_sgd(ctx, g, params + 1, grads, np, &sc, &os) != JT_OK) {
        rc = cli_error(ctx);
        goto done;
    }
    int nu = os.n_updates + (L.has_info ? L.mi.n_state : 0);
    dst = malloc(sizeof(int32_t) * (size_t)(nu + 1));
    src = malloc(sizeof(int32_t) * (size_t)(nu + 1));
    memcpy(dst, os.update_dst, sizeof(int32_t) * (size_t)os.n_updates);
    memcpy(src, os.update_src, sizeof(int32_t) * (size_t)os.n_updates);
    for (int i = 0; L.has_info && i < L.mi.n_state; i++) {
        dst[os.n_updates + i] = L.mi.state_dst[i];
        src[os.n_updates + i] = L.mi.state_src[i];
    }
    po.update_dst = dst;
    po.update_src = src;
    po.n_updates = nu;
    for (int i = n_in0; i < g->n_inputs; i++) {
        int32_t v = g->inputs[i];
        if (v == tgt) {
            if (classifier) {
                xs[i] = (jt_tensor){.dtype = JT_I64, .rank = 1, .dims = {om.dims[0]}};
                int64_t *y = extra_data[0] = malloc(sizeof(int64_t) * (size_t)om.dims[0] + 1);
                for (int64_t k = 0; k < om.dims[0]; k++) y[k] = (k * 7 + 3) % om.dims[1];
                xs[i].data = y;
            } else {
                xs[i] = om;
                xs[i].data = extra_data[0] = malloc(jt_tensor_nbytes(&om) + 1);
                bench_fill_random(&xs[i], 77);
            }
        } else if (v == os.lr_input)
            xs[i] = (jt_tensor){.dtype = JT_F64, .rank = 0, .data = &lr};
        else
            xs[i] = (jt_tensor){.dtype = JT_F64, .rank = 0, .data = &stepno};
    }
    rc = time_plan(ctx, g, xs, &po, o, r, L.label, shape, pass, a->batch, a->profile);
done:
    for (int i = 0; i < 4; i++) free(extra_data[i]);
    free_inputs(xs, n_in0);
    free(params);
    free(grads);
    free(dst);
    free(src);
    jt_graph_free(g);
    return rc;
}

int bench_models(jt_ctx *ctx, const bench_model_args *a, const bench_opts *o, bench_report *r) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", a->passes ? a->passes : "fwd");
    char *save = NULL;
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char pass[32];
        snprintf(pass, sizeof pass, "%s", p);
        int rc = bench_one_pass(ctx, a, pass, o, r);
        if (rc) return rc;
    }
    return 0;
}

/* ---- JATP step ---- */

static void mark_frozen(jt_graph *g, const char *prefix) {
    size_t n = strlen(prefix);
    for (int32_t v = 0; v < g->n_values; v++)
        if ((g->values[v].flags & JT_VALUE_PARAM) && strncmp(g->values[v].name, prefix, n) == 0)
            g->values[v].flags |= JT_VALUE_FROZEN;
}

static int32_t slice0(jt_gb *b, int32_t x, int64_t start, int64_t end) {
    int32_t s = jt_gb_const_i64s(b, &start, 1), e = jt_gb_const_i64s(b, &end, 1), ax = jt_gb_const_i64s(b, (int64_t[]){0}, 1);
    return jt_gb_op(b, "Slice", "", NULL, (int32_t[]){x, s, e, ax}, 4);
}

int bench_jatp_step(jt_ctx *ctx, const bench_model_args *a, const bench_opts *o, bench_report *r) {
    int rc = 0;
    const int64_t B = a->batch;
    jt_graph *g = NULL, *tg = NULL;
    int32_t *tmap = NULL, params[MAXP], grads[MAXP];
    float *xa = NULL, *xn = NULL;
    int64_t *yl = NULL;
    char pname[64], tname[64];
    jt_model_config pcfg, tcfg;
    int C = 1, H = 28, W = 28;
    if (jt_graph_create(ctx, "jatp-step", &g) != JT_OK) return cli_error(ctx);
    if (is_onnx_path(a->jatp_target)) {
        if (!a->tap) {
            fprintf(stderr, "jatp bench: --jatp-step with an ONNX target needs --tap NAME (a value or node of T)\n");
            rc = 2;
            goto done;
        }
        if (jt_onnx_load(ctx, a->jatp_target, NULL, &tg) != JT_OK) goto fail;
        const jt_value *in = &tg->values[tg->inputs[0]];
        if (in->rank != 4 || in->dims[1] <= 0 || in->dims[2] <= 0 || in->dims[3] <= 0) {
            fprintf(stderr, "jatp bench: %s: input must be [N, C, H, W] with fixed C, H, W\n", a->jatp_target);
            rc = 2;
            goto done;
        }
        C = (int)in->dims[1], H = (int)in->dims[2], W = (int)in->dims[3];
        snprintf(tname, sizeof tname, "%s", a->jatp_target);
    } else {
        if (model_config(ctx, a->jatp_target, tname, sizeof tname, &tcfg, 0) != JT_OK) goto fail;
        tcfg.train_bn = 0;
        C = tcfg.channels, H = tcfg.height, W = tcfg.width;
    }
    if (model_config(ctx, a->denoiser, pname, sizeof pname, &pcfg, 0) != JT_OK) goto fail;
    pcfg.channels = C, pcfg.height = H, pcfg.width = W;
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int32_t x_adv = jt_gb_input(&b, "x_adv", JT_F32, 4, (int64_t[]){B, C, H, W});
    int32_t x = jt_gb_input(&b, "x", JT_F32, 4, (int64_t[]){B, C, H, W});
    int32_t y = jt_gb_input(&b, "y", JT_I64, 1, (int64_t[]){B});
    jt_gb_attr_int(&b, "axis", 0);
    int32_t xc = jt_gb_op(&b, "Concat", "", "cat_adv_nat", (int32_t[]){x_adv, x}, 2);
    jt_model_info pi, ti;
    b.prefix = "P/";
    if (jt_model_build(&b, pname, &pcfg, xc, &pi) != JT_OK) goto fail;
    int32_t logits, tap;
    if (tg) {
        b.prefix = NULL;
        tmap = malloc(sizeof(int32_t) * (size_t)tg->n_values);
        int32_t tv;
        int32_t bind[8] = {pi.output, -1, -1, -1, -1, -1, -1, -1};
        if (jt_graph_find_tap(ctx, tg, a->tap, &tv) != JT_OK || jt_graph_append(ctx, g, tg, "T/", bind, tmap) != JT_OK)
            goto fail;
        logits = tmap[tg->outputs[0]];
        tap = tmap[tv];
    } else {
        b.prefix = "T/";
        if (jt_model_build(&b, tname, &tcfg, pi.output, &ti) != JT_OK) goto fail;
        logits = ti.output;
        tap = ti.tap;
        if (tap < 0) {
            fprintf(stderr, "jatp bench: target model '%s' has no feature tap\n", tname);
            rc = 2;
            goto done;
        }
    }
    mark_frozen(g, "T/");
    b.prefix = "loss/";
    int32_t la = slice0(&b, logits, 0, B), ln = slice0(&b, logits, B, 2 * B);
    int32_t ta = slice0(&b, tap, 0, B), tn = slice0(&b, tap, B, 2 * B);
    int32_t pa = slice0(&b, pi.output, 0, B);
    int32_t loss = jt_loss_jatp(&b, la, ln, ta, tn, pa, x, y, 5.0, 3.0, NULL, NULL);
    jt_gb_output(&b, loss);
    if (jt_gb_status(&b) != JT_OK) goto fail;
    int np = jt_graph_trainable_params(g, params, MAXP);
    if (np > MAXP) {
        fprintf(stderr, "jatp bench: too many parameters\n");
        rc = 1;
        goto done;
    }
    if (jt_build_backward(ctx, g, &loss, NULL, 1, params, np, grads) != JT_OK) goto fail;
    jt_sgd_config sc;
    jt_sgd_config_default(&sc);
    sc.momentum = 0.9;
    sc.weight_decay = 2e-4;
    sc.clip_norm = 1.0;
    jt_optim_state os;
    if (jt_append_sgd(ctx, g, params, grads, np, &sc, &os) != JT_OK) goto fail;
    /* data: x uniform [0,1), x~ = clip(x + U(-0.1, 0.1)), labels 0..9 */
    size_t ne = (size_t)(B * C * H * W);
    xa = malloc(sizeof(float) * ne);
    xn = malloc(sizeof(float) * ne);
    yl = malloc(sizeof(int64_t) * (size_t)B);
    jt_tensor tx = {.dtype = JT_F32, .rank = 4, .dims = {B, C, H, W}, .data = xn};
    bench_fill_random(&tx, 5);
    tx.data = xa;
    bench_fill_random(&tx, 6);
    for (size_t i = 0; i < ne; i++) {
        float v = xn[i] + 0.2f * xa[i] - 0.1f;
        xa[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    for (int64_t i = 0; i < B; i++) yl[i] = (i * 7 + 3) % 10;
    double lr = 1e-2, stepno = 1;
    jt_tensor xs[5];
    for (int i = 0; i < g->n_inputs; i++) {
        int32_t v = g->inputs[i];
        if (v == x_adv) xs[i] = (jt_tensor){.dtype = JT_F32, .rank = 4, .dims = {B, C, H, W}, .data = xa};
        else if (v == x) xs[i] = (jt_tensor){.dtype = JT_F32, .rank = 4, .dims = {B, C, H, W}, .data = xn};
        else if (v == y) xs[i] = (jt_tensor){.dtype = JT_I64, .rank = 1, .dims = {B}, .data = yl};
        else if (v == os.lr_input) xs[i] = (jt_tensor){.dtype = JT_F64, .rank = 0, .data = &lr};
        else xs[i] = (jt_tensor){.dtype = JT_F64, .rank = 0, .data = &stepno};
    }
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.fold_params = 0;
    po.update_dst = os.update_dst;
    po.update_src = os.update_src;
    po.n_updates = os.n_updates;
    char label[160], shape[64];
    snprintf(label, sizeof label, "jatp-step P=%s T=%s", a->denoiser, a->jatp_target);
    snprintf(shape, sizeof shape, "%lld,%d,%d,%d", (long long)B, C, H, W);
    rc = time_plan(ctx, g, xs, &po, o, r, label, shape, "step", (int)B, a->profile);
    goto done;
fail:
    rc = cli_error(ctx);
done:
    free(xa);
    free(xn);
    free(yl);
    free(tmap);
    jt_graph_free(tg);
    jt_graph_free(g);
    return rc;
}
