/* Loss pieces (graphs/losses.c) against PyTorch float64 references (tests/losses/gen_loss_fixtures.py).
 *
 * Each case builds its loss graph with the builder, appends jt_build_backward for every float input
 * (per-example losses with the fixture's cotangent cot_n) and compares the value, the gradients and,
 * for the JATP cases, the logged parts with the fixtures by relative L2 error: <= 1e-10 in float64
 * (ai.onnx opsets 17 and 18: reduce axes as attributes vs inputs) and <= 1e-5 in float32. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/autodiff.h"
#include "jatp/builder.h"
#include "jatp/io.h"
#include "jatp/jatp.h"
#include "jatp/losses.h"
#include "jt_test.h"

#ifndef JT_LOSS_FIXTURES
#define JT_LOSS_FIXTURES "tests/losses/fixtures"
#endif

#define MAX_IN 7

typedef int32_t (*build_fn)(jt_gb *b, const int32_t *v, jt_jatp_parts *parts);

typedef struct lcase {
    const char *name;
    const char *ins[MAX_IN + 1]; /* fixture inputs in argument order, NULL-terminated */
    int per_example;
    build_fn build;
    int parts; /* compare jt_jatp_parts with <name>_part_*.npy */
} lcase;

/* ---- builders (argument order = lcase.ins) ---- */

#define B2(fn, call)                                                                                         \
    static int32_t fn(jt_gb *b, const int32_t *v, jt_jatp_parts *parts) {                                   \
        (void)parts;                                                                                         \
        return call;                                                                                         \
    }
B2(b_ce, jt_loss_ce(b, v[0], v[1]))
B2(b_ce_pe, jt_loss_ce_per_example(b, v[0], v[1]))
B2(b_bce, jt_loss_bce_mart(b, v[0], v[1]))
B2(b_bce_pe, jt_loss_bce_mart_per_example(b, v[0], v[1]))
B2(b_kl, jt_loss_kl(b, v[0], v[1]))
B2(b_trades, jt_loss_trades(b, v[0], v[1], v[2], 6.0))
B2(b_mart, jt_loss_mart(b, v[0], v[1], v[2], 6.0))
B2(b_mse, jt_loss_mse(b, v[0], v[1]))
B2(b_mae, jt_loss_mae(b, v[0], v[1]))
B2(b_l2_pe, jt_loss_l2_per_example(b, v[0], v[1]))
B2(b_l1_pe, jt_loss_l1_per_example(b, v[0], v[1]))
B2(b_feat_mse, jt_feature_dist(b, v[0], v[1], JT_DIST_MSE))
B2(b_feat_cos, jt_feature_dist(b, v[0], v[1], JT_DIST_COS))
B2(b_bce_logits1, jt_loss_bce_logits(b, v[0], 1.0))
B2(b_bce_logits0, jt_loss_bce_logits(b, v[0], 0.0))
B2(b_ragan_d, jt_loss_ragan_d(b, v[0], v[1]))
B2(b_ragan_g, jt_loss_ragan_g(b, v[0], v[1]))
B2(b_apegan_d, jt_loss_apegan_d(b, v[0], v[1]))
B2(b_apegan_g, jt_loss_apegan_g(b, v[0], v[1], v[2]))

static int32_t jatp(jt_gb *b, const int32_t *v, jt_jatp_parts *parts, double alpha, double beta,
                    jt_jatp_options opt) {
    return jt_loss_jatp(b, v[0], v[1], v[2], v[3], v[4], v[5], v[6], alpha, beta, &opt, parts);
}
#define BJ(fn, alpha, beta, ...)                                                                             \
    static int32_t fn(jt_gb *b, const int32_t *v, jt_jatp_parts *parts) {                                   \
        return jatp(b, v, parts, alpha, beta, (jt_jatp_options){__VA_ARGS__});                               \
    }
BJ(b_jatp, 5.0, 3.0, 0)
BJ(b_jatp_no_bce, 5.0, 3.0, .no_bce = true)
BJ(b_jatp_ce, 5.0, 3.0, .bce_as_ce = true)
BJ(b_jatp_w1, 5.0, 3.0, .w_one = true)
BJ(b_jatp_l2pix, 5.0, 3.0, .pix_l2norm = true)
BJ(b_jatp_a0, 0.0, 3.0, 0)
BJ(b_jatp_b0, 5.0, 0.0, 0)

#define JATP_IN {"logits_b", "logits_a", "feat_a", "feat_b", "img_a", "img_b", "labels", NULL}

static const lcase cases[] = {
    {"ce", {"logits_a", "labels"}, 0, b_ce, 0},
    {"ce_pe", {"logits_a", "labels"}, 1, b_ce_pe, 0},
    {"bce", {"logits_a", "labels"}, 0, b_bce, 0},
    {"bce_pe", {"logits_b", "labels"}, 1, b_bce_pe, 0},
    {"kl", {"logits_a", "logits_b"}, 0, b_kl, 0},
    {"trades", {"logits_a", "logits_b", "labels"}, 0, b_trades, 0},
    {"mart", {"logits_a", "logits_b", "labels"}, 0, b_mart, 0},
    {"mse", {"img_a", "img_b"}, 0, b_mse, 0},
    {"mae", {"img_a", "img_b"}, 0, b_mae, 0},
    {"l2_pe", {"img_a", "img_b"}, 1, b_l2_pe, 0},
    {"l1_pe", {"img_a", "img_b"}, 1, b_l1_pe, 0},
    {"feat_mse", {"feat_a", "feat_b"}, 1, b_feat_mse, 0},
    {"feat_cos", {"feat_a", "feat_b"}, 1, b_feat_cos, 0},
    {"jatp", JATP_IN, 0, b_jatp, 1},
    {"jatp_no_bce", JATP_IN, 0, b_jatp_no_bce, 1},
    {"jatp_ce", JATP_IN, 0, b_jatp_ce, 1},
    {"jatp_w1", JATP_IN, 0, b_jatp_w1, 0},
    {"jatp_l2pix", JATP_IN, 0, b_jatp_l2pix, 1},
    {"jatp_a0", JATP_IN, 0, b_jatp_a0, 1},
    {"jatp_b0", JATP_IN, 0, b_jatp_b0, 1},
    {"bce_logits1", {"disc_r"}, 0, b_bce_logits1, 0},
    {"bce_logits0", {"disc_r"}, 0, b_bce_logits0, 0},
    {"ragan_d", {"disc_r", "disc_f"}, 0, b_ragan_d, 0},
    {"ragan_g", {"disc_r", "disc_f"}, 0, b_ragan_g, 0},
    {"apegan_d", {"disc_r", "disc_f"}, 0, b_apegan_d, 0},
    {"apegan_g", {"img_a", "img_b", "disc_f"}, 0, b_apegan_g, 0},
};

static const char *const part_names[4] = {"bce", "fsm", "w", "pix"};

/* ---- fixtures ---- */

static jt_status load(jt_ctx *ctx, const char *name, jt_tensor *t) {
    char path[512];
    jt_test_fmt(path, sizeof path, "%s/%s.npy", JT_LOSS_FIXTURES, name);
    return jt_npy_read(ctx, path, t);
}

/* float64 fixture -> float32 copy (in place) */
static void to_f32(jt_tensor *t) {
    int64_t n = jt_tensor_numel(t);
    float *f = malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) f[i] = (float)((double *)t->data)[i];
    free(t->data);
    t->data = f;
    t->dtype = JT_F32;
}

static void free_tensors(jt_tensor *t, int n) {
    for (int i = 0; i < n; i++) {
        free(t[i].data);
        t[i].data = NULL;
    }
}

static int compare(const char *what, const jt_tensor *got, jt_ctx *ctx, const char *ref_name, double tol, char *why,
                   size_t cap) {
    jt_tensor ref = {0};
    if (load(ctx, ref_name, &ref) != JT_OK) {
        jt_test_fmt(why, cap, "%s", jt_ctx_error(ctx));
        return 0;
    }
    char w[512];
    double rel = 0;
    int ok = jt_test_compare_relnorm(got, &ref, tol, JT_CMP_REF_F64_OK, &rel, w, sizeof w);
    if (!ok) jt_test_fmt(why, cap, "%s: %s", what, w);
    free(ref.data);
    return ok;
}

static void run_case(const lcase *c, jt_dtype dt, int opset) {
    char name[128], why[1024] = "";
    jt_test_fmt(name, sizeof name, "losses/%s/%s/opset%d", c->name, dt == JT_F64 ? "f64" : "f32", opset);
    double tol = dt == JT_F64 ? 1e-10 : 1e-5;
    jt_ctx *ctx = NULL;
    jt_graph *g = NULL;
    jt_plan *p = NULL;
    jt_tensor xs[MAX_IN] = {{0}}, cot = {0};
    int n_in = 0, ok = 0;
    jt_ctx_create(1, &ctx);
    while (n_in < MAX_IN && c->ins[n_in]) {
        if (load(ctx, c->ins[n_in], &xs[n_in]) != JT_OK) goto fail;
        if (xs[n_in].dtype == JT_F64 && dt == JT_F32) to_f32(&xs[n_in]);
        n_in++;
    }
    if (jt_graph_create(ctx, c->name, &g) != JT_OK) goto fail;
    jt_gb b;
    jt_gb_init(&b, ctx, g, opset);
    int32_t v[MAX_IN], wrt[MAX_IN], grads[MAX_IN];
    int wrt_of[MAX_IN], n_wrt = 0;
    for (int i = 0; i < n_in; i++) {
        v[i] = jt_gb_input(&b, c->ins[i], xs[i].dtype, xs[i].rank, xs[i].dims);
        if (xs[i].dtype != JT_I64) {
            wrt_of[n_wrt] = i;
            wrt[n_wrt++] = v[i];
        }
    }
    jt_jatp_parts parts = {-1, -1, -1, -1};
    int32_t loss = c->build(&b, v, c->parts ? &parts : NULL);
    jt_gb_output(&b, loss);
    int32_t seed = -1;
    if (c->per_example) {
        if (load(ctx, "cot_n", &cot) != JT_OK) goto fail;
        if (dt == JT_F32) to_f32(&cot);
        seed = jt_gb_const(&b, "cot_n", dt, cot.rank, cot.dims, cot.data);
    }
    if (jt_gb_status(&b) != JT_OK) goto fail;
    if (jt_build_backward(ctx, g, &loss, &seed, 1, wrt, n_wrt, grads) != JT_OK) goto fail;
    for (int k = 0; k < n_wrt; k++) jt_gb_output(&b, grads[k]);
    int32_t pv[4] = {parts.bce, parts.fsm, parts.w, parts.pix};
    if (c->parts)
        for (int k = 0; k < 4; k++)
            if (pv[k] >= 0) jt_gb_output(&b, pv[k]);
    if (jt_gb_status(&b) != JT_OK) goto fail;
    jt_plan_options po; /* labels change every batch in training: keep them run-time inputs */
    jt_plan_options_default(&po);
    po.fold_int_inputs = 0;
    if (jt_plan_create(ctx, g, xs, n_in, &po, &p) != JT_OK || jt_plan_run(p, xs, n_in) != JT_OK) goto fail;
    char ref[160], what[160];
    jt_test_fmt(ref, sizeof ref, "%s_value", c->name);
    if (!compare("value", jt_plan_output(p, 0), ctx, ref, tol, why, sizeof why)) goto done;
    for (int k = 0; k < n_wrt; k++) {
        jt_test_fmt(ref, sizeof ref, "%s_grad_%s", c->name, c->ins[wrt_of[k]]);
        jt_test_fmt(what, sizeof what, "gradient wrt %s", c->ins[wrt_of[k]]);
        if (!compare(what, jt_plan_output(p, 1 + k), ctx, ref, tol, why, sizeof why)) goto done;
    }
    if (c->parts) {
        int o = 1 + n_wrt;
        for (int k = 0; k < 4; k++) {
            if (pv[k] < 0) continue;
            jt_test_fmt(ref, sizeof ref, "%s_part_%s", c->name, part_names[k]);
            jt_test_fmt(what, sizeof what, "part %s", part_names[k]);
            if (!compare(what, jt_plan_output(p, o++), ctx, ref, tol, why, sizeof why)) goto done;
        }
    }
    ok = 1;
    goto done;
fail:
    jt_test_fmt(why, sizeof why, "%s", jt_ctx_error(ctx));
done:
    if (ok) jt_test_ok(name);
    else jt_test_fail(name, "%s", why);
    jt_plan_free(p);
    jt_graph_free(g);
    free_tensors(xs, n_in);
    free(cot.data);
    jt_ctx_free(ctx);
}

/* A JATP loss with every term disabled is refused with a message, through the builder's status. */
static void test_jatp_all_disabled(void) {
    const char *name = "losses/jatp/all-terms-disabled-is-an-error";
    jt_ctx *ctx;
    jt_graph *g;
    jt_ctx_create(1, &ctx);
    jt_graph_create(ctx, "t", &g);
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int32_t z = jt_gb_input(&b, "z", JT_F32, 2, (int64_t[]){2, 3});
    int32_t y = jt_gb_input(&b, "y", JT_I64, 1, (int64_t[]){2});
    jt_jatp_options opt = {.no_bce = true};
    int32_t l = jt_loss_jatp(&b, z, z, z, z, z, z, y, 0.0, 0.0, &opt, NULL);
    if (l == -1 && jt_gb_status(&b) == JT_ERR_ARG && strstr(jt_ctx_error(ctx), "every term is disabled"))
        jt_test_ok(name);
    else
        jt_test_fail(name, "got value %d, status %d, message '%s'", l, jt_gb_status(&b), jt_ctx_error(ctx));
    jt_graph_free(g);
    jt_ctx_free(ctx);
}

/* Builds SoftmaxCrossEntropyLoss(z [2,3], y [ny]) and plans + runs it with labels lab; returns the status
 * and leaves the message in ctx. */
static jt_status sce_run(jt_ctx *ctx, const int64_t *lab, int64_t ny, const char *ii) {
    jt_graph *g;
    jt_graph_create(ctx, "sce.onnx", &g);
    jt_gb b;
    jt_gb_init(&b, ctx, g, 13);
    int32_t z = jt_gb_input(&b, "z", JT_F32, 2, (int64_t[]){2, 3});
    int32_t y = jt_gb_input(&b, "y", JT_I64, 1, &ny);
    if (ii) jt_gb_attr_int(&b, "ignore_index", strtoll(ii, NULL, 10));
    jt_gb_output(&b, jt_gb_op(&b, "SoftmaxCrossEntropyLoss", "", NULL, (int32_t[]){z, y}, 2));
    jt_status st = jt_gb_status(&b);
    float zd[6] = {0.1f, 0.2f, 0.3f, -1, 0, 1};
    jt_tensor in[2] = {{.dtype = JT_F32, .rank = 2, .dims = {2, 3}, .data = zd},
                       {.dtype = JT_I64, .rank = 1, .dims = {ny}, .data = (void *)lab}};
    jt_plan *p = NULL;
    jt_plan_options o;
    jt_plan_options_default(&o);
    o.fold_int_inputs = 0;
    if (st == JT_OK) st = jt_plan_create(ctx, g, in, 2, &o, &p);
    if (st == JT_OK) st = jt_plan_run(p, in, 2);
    jt_plan_free(p);
    jt_graph_free(g);
    return st;
}

static void expect_error(const char *name, jt_status want, const char *const *subs, const int64_t *lab, int64_t ny,
                         const char *ii) {
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    jt_status st = sce_run(ctx, lab, ny, ii);
    const char *msg = jt_ctx_error(ctx);
    int ok = st == want;
    for (int i = 0; ok && subs[i]; i++) ok = strstr(msg, subs[i]) != NULL;
    if (ok) jt_test_ok(name);
    else jt_test_fail(name, "status %d (expected %d), message '%s'", st, want, msg);
    jt_ctx_free(ctx);
}

static void test_errors(void) {
    static const int64_t lab_bad[2] = {1, 3}, lab_ii[2] = {1, -7}, lab3[3] = {0, 1, 2};
    expect_error("losses/errors/label-out-of-range", JT_ERR_ARG,
                 (const char *[]){"SoftmaxCrossEntropyLoss", "label 3", "[0, 3)", NULL},
                 lab_bad, 2, NULL);
    expect_error("losses/errors/labels-shape", JT_ERR_SHAPE,
                 (const char *[]){"sce.onnx", "SoftmaxCrossEntropyLoss", "labels have shape [3]", "[2,3]", NULL}, lab3, 3, NULL);
    /* an ignored label may lie outside [0, C) */
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    jt_status st = sce_run(ctx, lab_ii, 2, "-7");
    if (st == JT_OK) jt_test_ok("losses/errors/ignored-label-out-of-range-is-fine");
    else jt_test_fail("losses/errors/ignored-label-out-of-range-is-fine", "%s", jt_ctx_error(ctx));
    jt_ctx_free(ctx);
}

/* SoftmaxCrossEntropyLoss used only through its log_prob output (the loss output gets no gradient):
 * the gradient equals that of LogSoftmax(axis 1) under the same cotangent. */
static void test_log_prob_only(void) {
    const char *name = "losses/sce/log_prob-only-gradient-equals-LogSoftmax";
    jt_ctx *ctx;
    jt_graph *g;
    jt_ctx_create(1, &ctx);
    jt_graph_create(ctx, "t", &g);
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int64_t zd[3] = {3, 4, 2};
    int32_t z = jt_gb_input(&b, "z", JT_F64, 3, zd);
    int32_t y = jt_gb_const(&b, "y", JT_I64, 2, (int64_t[]){3, 2}, (int64_t[]){0, 1, 2, 3, 1, 0});
    double cd[24];
    for (int i = 0; i < 24; i++) cd[i] = 0.1 * (i % 7) - 0.3;
    int32_t c = jt_gb_const(&b, "c", JT_F64, 3, zd, cd);
    int32_t outs[2];
    jt_gb_node(&b, "SoftmaxCrossEntropyLoss", "", NULL, (int32_t[]){z, y}, 2, outs, 2);
    jt_gb_attr_int(&b, "axis", 1);
    int32_t ls = jt_gb_op(&b, "LogSoftmax", "", NULL, (int32_t[]){z}, 1);
    int32_t g1 = -1, g2 = -1;
    jt_status st = jt_gb_status(&b);
    if (st == JT_OK) st = jt_build_backward(ctx, g, &outs[1], &c, 1, &z, 1, &g1);
    if (st == JT_OK) st = jt_build_backward(ctx, g, &ls, &c, 1, &z, 1, &g2);
    jt_gb_output(&b, g1);
    jt_gb_output(&b, g2);
    if (st == JT_OK) st = jt_gb_status(&b);
    double xd[24];
    for (int i = 0; i < 24; i++) xd[i] = 0.37 * ((i * 5) % 11) - 1.5;
    jt_tensor in = {.dtype = JT_F64, .rank = 3, .dims = {3, 4, 2}, .data = xd};
    jt_plan *p = NULL;
    if (st == JT_OK) st = jt_plan_create(ctx, g, &in, 1, NULL, &p);
    if (st == JT_OK) st = jt_plan_run(p, &in, 1);
    char why[512];
    if (st != JT_OK) jt_test_fail(name, "%s", jt_ctx_error(ctx));
    else if (!jt_test_compare_relnorm(jt_plan_output(p, 0), jt_plan_output(p, 1), 1e-13, 0, NULL, why, sizeof why))
        jt_test_fail(name, "%s", why);
    else jt_test_ok(name);
    jt_plan_free(p);
    jt_graph_free(g);
    jt_ctx_free(ctx);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++) {
        if (filter && !strstr(cases[i].name, filter)) continue;
        run_case(&cases[i], JT_F64, 17);
        run_case(&cases[i], JT_F64, 18);
        run_case(&cases[i], JT_F32, 17);
    }
    if (!filter) {
        test_jatp_all_disabled();
        test_errors();
        test_log_prob_only();
    }
    return jt_test_finish();
}
