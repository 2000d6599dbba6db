/* Optimizer steps (jt_append_sgd / jt_append_adam -> jatp.SGDStep / jatp.AdamStep), global-norm
 * clipping and learning-rate schedules against PyTorch 1.13 references written by
 * gen_optim_fixtures.py: 3 steps on 2 parameters with per-step learning rates fed at run time;
 * float64 within 1e-12 relative, float32 within 1e-6. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/builder.h"
#include "jatp/io.h"
#include "jatp/plan.h"
#include "jatp/train.h"
#include "jt_test.h"

#ifndef JT_TRAIN_FIXTURES
#define JT_TRAIN_FIXTURES "tests/train/fixtures"
#endif

#define N_PARAMS 2
#define N_STEPS 3

typedef struct optim_case {
    const char *name;
    int adam;
    jt_sgd_config sgd;
    jt_adam_config ad;
} optim_case;

static jt_ctx *ctx;

static void set_shape(jt_tensor *t, jt_dtype dt, int rank, const int64_t *dims) {
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
}

static int load(const char *dir, const char *file, jt_tensor *t, const char *test) {
    char path[1024];
    jt_test_fmt(path, sizeof path, "%s/%s/%s", JT_TRAIN_FIXTURES, dir, file);
    if (jt_npy_read(ctx, path, t) != JT_OK) {
        jt_test_fail(test, "%s", jt_ctx_error(ctx));
        return 0;
    }
    return 1;
}

/* Compares a graph parameter's storage with a reference tensor. */
static int check_value(const jt_graph *g, int32_t v, const jt_tensor *ref, double rtol, double atol, const char *test,
                       const char *what) {
    jt_tensor got = {0};
    set_shape(&got, g->values[v].dtype, g->values[v].rank, g->values[v].dims);
    got.data = g->values[v].data;
    char why[512];
    if (!jt_test_compare(&got, ref, rtol, atol, 0, why, sizeof why)) {
        jt_test_fail(test, "%s: %s", what, why);
        return 0;
    }
    return 1;
}

static void run_case(const optim_case *c, const char *dt) {
    char test[128], dir[128];
    jt_test_fmt(test, sizeof test, "optim/%s_%s", c->name, dt);
    jt_test_fmt(dir, sizeof dir, "%s_%s", c->name, dt);
    int f64 = strcmp(dt, "f64") == 0;
    double rtol = f64 ? 1e-12 : 1e-6, atol = f64 ? 1e-14 : 1e-7;
    jt_tensor p[N_PARAMS] = {0}, lr = {0}, grad[N_STEPS][N_PARAMS] = {{{0}}};
    jt_graph *g = NULL;
    jt_plan *plan = NULL;
    int ok = load(dir, "lr.npy", &lr, test);
    for (int i = 0; ok && i < N_PARAMS; i++) {
        char f[64];
        jt_test_fmt(f, sizeof f, "p%d.npy", i);
        ok = load(dir, f, &p[i], test);
        for (int s = 0; ok && s < N_STEPS; s++) {
            jt_test_fmt(f, sizeof f, "g%d_%d.npy", s, i);
            ok = load(dir, f, &grad[s][i], test);
        }
    }
    if (!ok) goto out;
    if (jt_graph_create(ctx, test, &g) != JT_OK) {
        jt_test_fail(test, "%s", jt_ctx_error(ctx));
        goto out;
    }
    jt_gb b;
    jt_gb_init(&b, ctx, g, 18);
    int32_t params[N_PARAMS], grads[N_PARAMS];
    for (int i = 0; i < N_PARAMS; i++) {
        char n[32];
        jt_test_fmt(n, sizeof n, "p%d", i);
        params[i] = jt_gb_param(&b, n, p[i].dtype, p[i].rank, p[i].dims, p[i].data);
        jt_test_fmt(n, sizeof n, "grad%d", i);
        grads[i] = jt_gb_input(&b, n, p[i].dtype, p[i].rank, p[i].dims);
    }
    jt_optim_state os;
    jt_status st = jt_gb_status(&b);
    if (st == JT_OK) st = c->adam ? jt_append_adam(ctx, g, params, grads, N_PARAMS, &c->ad, &os)
                                  : jt_append_sgd(ctx, g, params, grads, N_PARAMS, &c->sgd, &os);
    if (st != JT_OK) {
        jt_test_fail(test, "building: %s", jt_ctx_error(ctx));
        goto out;
    }
    double lr_v = 0, step_v = 0;
    jt_tensor in[N_PARAMS + 2];
    memset(in, 0, sizeof in);
    for (int i = 0; i < N_PARAMS; i++) in[i] = grad[0][i];
    set_shape(&in[os.lr_input_index], JT_F64, 0, NULL);
    in[os.lr_input_index].data = &lr_v;
    set_shape(&in[os.step_input_index], JT_F64, 0, NULL);
    in[os.step_input_index].data = &step_v;
    if (g->n_inputs != N_PARAMS + 2 || os.lr_input_index < N_PARAMS || os.step_input_index < N_PARAMS) {
        jt_test_fail(test, "unexpected graph inputs (%d; lr at %d, step at %d)", g->n_inputs, os.lr_input_index,
                     os.step_input_index);
        goto out;
    }
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.fold_params = 0;
    po.update_dst = os.update_dst;
    po.update_src = os.update_src;
    po.n_updates = os.n_updates;
    if (jt_plan_create(ctx, g, in, N_PARAMS + 2, &po, &plan) != JT_OK) {
        jt_test_fail(test, "plan: %s", jt_ctx_error(ctx));
        goto out;
    }
    int per = c->adam ? 2 : (c->sgd.momentum != 0 ? 1 : 0);
    if (os.n_buffers != per * N_PARAMS || os.n_updates != (1 + per) * N_PARAMS) {
        jt_test_fail(test, "%d buffers and %d updates, expected %d and %d", os.n_buffers, os.n_updates, per * N_PARAMS,
                     (1 + per) * N_PARAMS);
        goto out;
    }
    for (int s = 0; s < N_STEPS; s++) {
        for (int i = 0; i < N_PARAMS; i++) in[i].data = grad[s][i].data;
        lr_v = ((const double *)lr.data)[s];
        step_v = s + 1;
        if (jt_plan_run(plan, in, N_PARAMS + 2) != JT_OK) {
            jt_test_fail(test, "run %d: %s", s, jt_ctx_error(ctx));
            goto out;
        }
        for (int i = 0; i < N_PARAMS; i++) {
            char f[64], what[64];
            jt_tensor ref = {0};
            jt_test_fmt(f, sizeof f, "w%d_%d.npy", s, i);
            jt_test_fmt(what, sizeof what, "step %d parameter %d", s + 1, i);
            if (!load(dir, f, &ref, test)) goto out;
            ok = check_value(g, params[i], &ref, rtol, atol, test, what);
            free(ref.data);
            if (!ok) goto out;
            for (int k = 0; k < per; k++) {
                jt_test_fmt(f, sizeof f, "%c%d_%d.npy", k ? 'c' : 'b', s, i);
                jt_test_fmt(what, sizeof what, "step %d %s of parameter %d", s + 1,
                            c->adam ? (k ? "exp_avg_sq" : "exp_avg") : "momentum buffer", i);
                if (!load(dir, f, &ref, test)) goto out;
                ok = check_value(g, os.buffers[i * per + k], &ref, rtol, atol, test, what);
                free(ref.data);
                if (!ok) goto out;
            }
        }
    }
    jt_test_ok(test);
out:
    jt_plan_free(plan);
    jt_graph_free(g);
    free(lr.data);
    for (int i = 0; i < N_PARAMS; i++) {
        free(p[i].data);
        for (int s = 0; s < N_STEPS; s++) free(grad[s][i].data);
    }
}

/* jatp.ClipByGlobalNorm vs torch.nn.utils.clip_grad_norm_ (clipping and pass-through). */
static void run_clip(const char *dt) {
    char dir[64];
    jt_test_fmt(dir, sizeof dir, "clip_%s", dt);
    int f64 = strcmp(dt, "f64") == 0;
    double rtol = f64 ? 1e-12 : 1e-6, atol = f64 ? 1e-14 : 1e-7;
    for (int k = 0; k < 2; k++) {
        char test[64];
        jt_test_fmt(test, sizeof test, "clip/%s_case%d", dt, k);
        jt_tensor gr[3] = {{0}}, mn = {0};
        jt_graph *g = NULL;
        jt_plan *plan = NULL;
        int ok = 1;
        for (int i = 0; ok && i < 3; i++) {
            char f[32];
            jt_test_fmt(f, sizeof f, "g%d.npy", i);
            ok = load(dir, f, &gr[i], test);
        }
        char f[32];
        jt_test_fmt(f, sizeof f, "max_norm%d.npy", k);
        if (ok) ok = load(dir, f, &mn, test);
        if (ok && jt_graph_create(ctx, test, &g) == JT_OK) {
            jt_gb b;
            jt_gb_init(&b, ctx, g, 18);
            int32_t ins[4], outs[4];
            for (int i = 0; i < 3; i++) {
                char n[16];
                jt_test_fmt(n, sizeof n, "g%d", i);
                ins[i] = jt_gb_input(&b, n, gr[i].dtype, gr[i].rank, gr[i].dims);
            }
            ins[3] = jt_gb_input(&b, "max_norm", JT_F64, 0, NULL);
            jt_gb_node(&b, "ClipByGlobalNorm", "jatp", "clip", ins, 4, outs, 4);
            for (int i = 0; i < 4; i++) jt_gb_output(&b, outs[i]);
            jt_tensor in[4] = {gr[0], gr[1], gr[2], mn};
            if (jt_gb_status(&b) != JT_OK || jt_plan_create(ctx, g, in, 4, NULL, &plan) != JT_OK ||
                jt_plan_run(plan, in, 4) != JT_OK) {
                jt_test_fail(test, "%s", jt_ctx_error(ctx));
                ok = 0;
            }
            for (int i = 0; ok && i < 4; i++) {
                jt_tensor ref = {0};
                char why[512];
                if (i < 3) jt_test_fmt(f, sizeof f, "out%d_%d.npy", k, i);
                else jt_test_fmt(f, sizeof f, "norm%d.npy", k);
                if (!load(dir, f, &ref, test)) {
                    ok = 0;
                    break;
                }
                if (!jt_test_compare(jt_plan_output(plan, i), &ref, rtol, atol, 0, why, sizeof why)) {
                    jt_test_fail(test, "output %d: %s", i, why);
                    ok = 0;
                }
                free(ref.data);
            }
            if (ok) jt_test_ok(test);
        } else if (ok) {
            jt_test_fail(test, "%s", jt_ctx_error(ctx));
        }
        jt_plan_free(plan);
        jt_graph_free(g);
        for (int i = 0; i < 3; i++) free(gr[i].data);
        free(mn.data);
    }
}

static void check_sched(const char *name, double (*fn)(int64_t e)) {
    char test[64], path[1024];
    jt_test_fmt(test, sizeof test, "sched/%s", name);
    jt_test_fmt(path, sizeof path, "%s/sched_%s.npy", JT_TRAIN_FIXTURES, name);
    jt_tensor t = {0};
    if (jt_npy_read(ctx, path, &t) != JT_OK) {
        jt_test_fail(test, "%s", jt_ctx_error(ctx));
        return;
    }
    const double *ref = t.data;
    int64_t n = jt_tensor_numel(&t);
    for (int64_t e = 0; e < n; e++) {
        double got = fn(e);
        if (got != ref[e]) {
            jt_test_fail(test, "epoch %lld: %.17g, PyTorch %.17g", (long long)e, got, ref[e]);
            free(t.data);
            return;
        }
    }
    free(t.data);
    jt_test_ok(test);
}

static double s_multistep(int64_t e) { return jt_lr_multistep(0.1, e, (const int64_t[]){75, 90}, 2, 0.1); }
static double s_multistep_dup(int64_t e) { return jt_lr_multistep(0.05, e, (const int64_t[]){2, 5, 2}, 3, 0.5); }
static double s_cosine(int64_t e) { return jt_lr_cosine(0.1, e, 10, 1e-4); }

/* Error paths: messages name what is wrong. */
static void check_errors(void) {
    const char *test = "optim/errors";
    jt_graph *g = NULL;
    jt_plan *plan = NULL;
    if (jt_graph_create(ctx, test, &g) != JT_OK) {
        jt_test_fail(test, "%s", jt_ctx_error(ctx));
        return;
    }
    jt_gb b;
    jt_gb_init(&b, ctx, g, 18);
    float w0[2] = {1, 2};
    int32_t w = jt_gb_param(&b, "w", JT_F32, 1, (const int64_t[]){2}, w0);
    int32_t c = jt_gb_const(&b, "c", JT_F32, 1, (const int64_t[]){2}, w0);
    int32_t gw = jt_gb_input(&b, "gw", JT_F32, 1, (const int64_t[]){2});
    int32_t g3 = jt_gb_input(&b, "g3", JT_F32, 1, (const int64_t[]){3});
    jt_optim_state os;
    jt_sgd_config sc;
    jt_sgd_config_default(&sc);
    jt_status st = jt_append_sgd(ctx, g, (const int32_t[]){c}, (const int32_t[]){gw}, 1, &sc, &os);
    if (st == JT_OK || !strstr(jt_ctx_error(ctx), "'c' is not a trainable parameter")) {
        jt_test_fail(test, "constant accepted as a parameter: %s", st == JT_OK ? "ok" : jt_ctx_error(ctx));
        goto out;
    }
    st = jt_append_sgd(ctx, g, (const int32_t[]){w}, (const int32_t[]){g3}, 1, &sc, &os);
    if (st == JT_OK || !strstr(jt_ctx_error(ctx), "gradient 'g3' is float32 [3] but parameter 'w' is float32 [2]")) {
        jt_test_fail(test, "shape mismatch not reported: %s", st == JT_OK ? "ok" : jt_ctx_error(ctx));
        goto out;
    }
    sc.nesterov = 1;
    st = jt_append_sgd(ctx, g, (const int32_t[]){w}, (const int32_t[]){gw}, 1, &sc, &os);
    if (st == JT_OK || !strstr(jt_ctx_error(ctx), "nesterov")) {
        jt_test_fail(test, "nesterov without momentum accepted");
        goto out;
    }
    /* AdamStep at step 0 fails at run time naming the node */
    jt_adam_config ac;
    jt_adam_config_default(&ac);
    if (jt_append_adam(ctx, g, (const int32_t[]){w}, (const int32_t[]){gw}, 1, &ac, &os) != JT_OK) {
        jt_test_fail(test, "adam: %s", jt_ctx_error(ctx));
        goto out;
    }
    double lr = 1e-3, step = 0;
    float gd[3] = {0.5f, -1, 0};
    jt_tensor in[4] = {{.dtype = JT_F32, .rank = 1, .dims = {2}, .data = gd},
                       {.dtype = JT_F32, .rank = 1, .dims = {3}, .data = gd},
                       {.dtype = JT_F64, .rank = 0, .data = &lr},
                       {.dtype = JT_F64, .rank = 0, .data = &step}};
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.fold_params = 0;
    po.update_dst = os.update_dst;
    po.update_src = os.update_src;
    po.n_updates = os.n_updates;
    if (jt_plan_create(ctx, g, in, 4, &po, &plan) != JT_OK) {
        jt_test_fail(test, "plan: %s", jt_ctx_error(ctx));
        goto out;
    }
    st = jt_plan_run(plan, in, 4);
    if (st == JT_OK || !strstr(jt_ctx_error(ctx), "AdamStep counts steps from 1") ||
        !strstr(jt_ctx_error(ctx), "optim/adam/w")) {
        jt_test_fail(test, "step 0 not reported: %s", st == JT_OK ? "ok" : jt_ctx_error(ctx));
        goto out;
    }
    step = 1;
    if (jt_plan_run(plan, in, 4) != JT_OK) {
        jt_test_fail(test, "step 1: %s", jt_ctx_error(ctx));
        goto out;
    }
    /* Adam's first step moves every coordinate with a non-zero gradient by about lr */
    const float *wn = g->values[w].data;
    if (fabsf(wn[0] - (1 - 1e-3f)) > 1e-6f || fabsf(wn[1] - (2 + 1e-3f)) > 1e-6f) {
        jt_test_fail(test, "first Adam step gave %g %g", wn[0], wn[1]);
        goto out;
    }
    jt_test_ok(test);
out:
    jt_plan_free(plan);
    jt_graph_free(g);
}

/* Large tensors (several chunks on the pool): SGD + clipping give the same bits on 1 and 4 threads,
 * and the reported norm matches a direct double-precision sum. */
static int run_threads(int threads, float *out, size_t n_out, double *norm_out) {
    jt_ctx *c = NULL;
    jt_graph *g = NULL;
    jt_plan *plan = NULL;
    int ok = 0;
    const int64_t big[2] = {300, 250}, small[1] = {10};
    float *w0 = malloc(sizeof(float) * 75000), *gb = malloc(sizeof(float) * 75000), gs[10], ws[10];
    uint32_t r = 1;
    for (int i = 0; i < 75000; i++) {
        r = r * 1664525u + 1013904223u;
        w0[i] = (float)((int)(r >> 9) % 2001 - 1000) / 1000.0f;
        r = r * 1664525u + 1013904223u;
        gb[i] = (float)((int)(r >> 9) % 2001 - 1000) / 100.0f;
    }
    for (int i = 0; i < 10; i++) {
        gs[i] = (float)i - 4.5f;
        ws[i] = 0.1f * (float)i;
    }
    if (jt_ctx_create(threads, &c) != JT_OK || jt_graph_create(c, "threads", &g) != JT_OK) goto out;
    jt_gb b;
    jt_gb_init(&b, c, g, 18);
    int32_t params[2] = {jt_gb_param(&b, "big", JT_F32, 2, big, w0), jt_gb_param(&b, "small", JT_F32, 1, small, ws)};
    int32_t grads[2] = {jt_gb_input(&b, "gbig", JT_F32, 2, big), jt_gb_input(&b, "gsmall", JT_F32, 1, small)};
    jt_sgd_config sc;
    jt_sgd_config_default(&sc);
    sc.momentum = 0.9;
    sc.weight_decay = 5e-4;
    sc.clip_norm = 1.0;
    jt_optim_state os;
    if (jt_gb_status(&b) != JT_OK || jt_append_sgd(c, g, params, grads, 2, &sc, &os) != JT_OK ||
        jt_graph_add_output(c, g, os.grad_norm) != JT_OK)
        goto out;
    double lr = 0.1, step = 1;
    jt_tensor in[4] = {{.dtype = JT_F32, .rank = 2, .dims = {300, 250}, .data = gb},
                       {.dtype = JT_F32, .rank = 1, .dims = {10}, .data = gs},
                       {.dtype = JT_F64, .rank = 0, .data = &lr},
                       {.dtype = JT_F64, .rank = 0, .data = &step}};
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.fold_params = 0;
    po.update_dst = os.update_dst;
    po.update_src = os.update_src;
    po.n_updates = os.n_updates;
    if (jt_plan_create(c, g, in, 4, &po, &plan) != JT_OK) goto out;
    for (int s = 0; s < 3; s++) {
        step = s + 1;
        if (jt_plan_run(plan, in, 4) != JT_OK) goto out;
    }
    memcpy(out, g->values[params[0]].data, n_out * sizeof(float));
    *norm_out = *(const float *)jt_plan_output(plan, 0)->data;
    ok = 1;
out:
    if (!ok) jt_test_fail("optim/threads_bitwise", "%d threads: %s", threads, c ? jt_ctx_error(c) : "no context");
    jt_plan_free(plan);
    jt_graph_free(g);
    jt_ctx_free(c);
    if (ok) { /* expected norm of the gradients */
        double ss = 0;
        for (int i = 0; i < 75000; i++) ss += (double)gb[i] * gb[i];
        for (int i = 0; i < 10; i++) ss += (double)gs[i] * gs[i];
        if (fabs(*norm_out - sqrt(ss)) > 1e-6 * sqrt(ss)) {
            jt_test_fail("optim/threads_bitwise", "norm %.9g, expected %.9g", *norm_out, sqrt(ss));
            ok = 0;
        }
    }
    free(w0);
    free(gb);
    return ok;
}

static void check_threads(void) {
    float *a = malloc(sizeof(float) * 75000), *b = malloc(sizeof(float) * 75000);
    double na = 0, nb = 0;
    if (run_threads(1, a, 75000, &na) && run_threads(4, b, 75000, &nb)) {
        if (memcmp(a, b, sizeof(float) * 75000) != 0 || na != nb)
            jt_test_fail("optim/threads_bitwise", "1 and 4 threads differ");
        else
            jt_test_ok("optim/threads_bitwise");
    }
    free(a);
    free(b);
}

int main(void) {
    if (jt_ctx_create(4, &ctx) != JT_OK) return 1;
    static optim_case cases[7];
    static const char *const names[7] = {"sgd_momentum", "sgd_nesterov", "sgd_dampening", "sgd_plain",
                                         "adam", "adam_wd", "adamw"};
    for (int i = 0; i < 7; i++) {
        memset(&cases[i], 0, sizeof cases[i]);
        cases[i].name = names[i];
        cases[i].adam = i >= 4;
        jt_sgd_config_default(&cases[i].sgd);
        jt_adam_config_default(&cases[i].ad);
    }
    cases[0].sgd.momentum = 0.9;
    cases[0].sgd.weight_decay = 5e-4;
    cases[1].sgd = cases[0].sgd;
    cases[1].sgd.nesterov = 1;
    cases[2].sgd.momentum = 0.9;
    cases[2].sgd.dampening = 0.3;
    cases[3].sgd.weight_decay = 1e-3;
    cases[5].ad.beta1 = 0.5;
    cases[5].ad.weight_decay = 1e-2;
    cases[6].ad.weight_decay = 1e-2;
    cases[6].ad.adamw = 1;
    for (int i = 0; i < 7; i++) {
        run_case(&cases[i], "f64");
        run_case(&cases[i], "f32");
    }
    run_clip("f64");
    run_clip("f32");
    check_sched("multistep", s_multistep);
    check_sched("multistep_dup", s_multistep_dup);
    check_sched("cosine", s_cosine);
    check_errors();
    check_threads();
    jt_ctx_free(ctx);
    return jt_test_finish();
}
