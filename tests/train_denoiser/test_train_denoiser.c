/* jatp train denoiser (include/jatp/train_denoiser.h).
 *
 * (a) The JATP step graph (P on x~ and x, T, tap, loss terms, ablation variants and switches) and one
 *     feature-space PGD step against float64 PyTorch references on fixed tensors and tiny ONNX models:
 *     fixtures/ from `/usr/bin/python3 tests/train_denoiser/gen_ref.py` (see its header). Tolerances:
 *     float64 graph relative 1e-9 (values) / relative L2 1e-9 (gradients); float32 2e-5 / 1e-4; the
 *     PGD step exactly where the reference gradient's sign is well defined (|g| > 1e-6 max|g|), to 1e-6.
 *     Also the tap rule, the random start (range, determinism, keyed by example not batch).
 * (b) The real Fashion-MNIST run is test_train_denoiser_fmnist.c; CPU/CUDA parity test_train_denoiser_cuda.c.
 * (c) HGD (RRDB-S full, DUNET oblivious), APE-G and NRP (oblivious and full) on one fixed synthetic
 *     batch of 16 (1 step per epoch, no augmentation) in front of a random ResNet-10-FM-w8: the mean of
 *     the last three logged losses (APE-G: its MSE term) is below the first three, and the exported P
 *     is a valid ONNX (jt_onnx_load, runs, output shape = input shape).
 * (d) Resume: a run stopped twice (max_steps, the same path as Ctrl-C) and resumed ends with the same
 *     checkpoint and P.onnx bytes as the uninterrupted run (JATP across the warm-up, JATP with a BN
 *     denoiser, NRP, APE-G with full examples); a checkpoint of other settings is refused; JATP'
 *     (joint) trains T's weights and BN statistics and writes the updated T; a diverging run (lr 1e5,
 *     no clipping) stops with JT_ERR_NUMERIC naming the checkpoint, which is byte for byte the state
 *     after the last good step (the same run stopped there).
 * (e) ONNX Runtime (the venv, optional: counted skip) agrees with jatp on exported P's to 1e-4.
 * CLI: bad flags and values exit 2 naming the flag; SIGINT during a run exits 130 with a checkpoint
 *     and no P.onnx, and --resume continues from it (Fashion-MNIST; skip without it).
 * Measured values are printed as notes (run with JT_TEST_VERBOSE=1). About 25 s on 2 cores. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jatp/jatp.h"
#include "jatp/train_denoiser.h"
#include "jt_test.h"
#include "td_common.h"

#define FIX JT_TD_FIXTURES
#define N_REF 4

static jt_status load_npy(jt_ctx *ctx, const char *name, jt_tensor *t) {
    char path[1024];
    jt_test_fmt(path, sizeof path, "%s/%s.npy", FIX, name);
    return jt_npy_read(ctx, path, t);
}

static jt_status load_onnx(jt_ctx *ctx, const char *name, jt_graph **g) {
    char path[1024];
    jt_test_fmt(path, sizeof path, "%s/%s", FIX, name);
    return jt_onnx_load(ctx, path, NULL, g);
}

static float *to_f32(const jt_tensor *t) {
    int64_t n = jt_tensor_numel(t);
    float *f = malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) f[i] = (float)((const double *)t->data)[i];
    return f;
}

static int cmp_names(const void *a, const void *b, void *g) {
    const jt_graph *gr = g;
    return strcmp(gr->values[*(const int32_t *)a].name, gr->values[*(const int32_t *)b].name);
}

/* insertion sort by name (qsort_r is not C17) */
static void sort_by_name(const jt_graph *g, int32_t *ids, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && cmp_names(&ids[j - 1], &ids[j], (void *)g) > 0; j--) {
            int32_t t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
}

/* ---- (a) the JATP step graph against the float64 reference ---- */

typedef struct variant {
    const char *ref;      /* fixture name */
    jt_dn_loss loss;
    bool bce_as_ce, w_one, l2norm;
} variant;

static const variant variants[] = {
    {"full", JT_DN_LOSS_FULL, 0, 0, 0},         {"pix", JT_DN_LOSS_PIX, 0, 0, 0},
    {"pix+bce", JT_DN_LOSS_PIX_BCE, 0, 0, 0},   {"pix+bce+fsm", JT_DN_LOSS_PIX_BCE_FSM, 0, 0, 0},
    {"no-pix", JT_DN_LOSS_NO_PIX, 0, 0, 0},     {"no-bce", JT_DN_LOSS_NO_BCE, 0, 0, 0},
    {"no-fsm", JT_DN_LOSS_NO_FSM, 0, 0, 0},     {"full_ce", JT_DN_LOSS_FULL, 1, 0, 0},
    {"full_w1", JT_DN_LOSS_FULL, 0, 1, 0},      {"full_l2norm", JT_DN_LOSS_FULL, 0, 0, 1},
};

static void test_jatp_graph(const variant *v, jt_dtype dt) {
    char name[160], why[1024] = "";
    jt_test_fmt(name, sizeof name, "train_denoiser/jatp_loss/%s/%s", v->ref, dt == JT_F64 ? "f64" : "f32");
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    jt_graph *T = NULL, *P = NULL;
    jt_dn_jatp_graph jg = {0};
    jt_plan *plan = NULL;
    jt_tensor x = {0}, xa = {0}, y = {0}, ref = {0}, gref = {0};
    float *xf = NULL, *xaf = NULL;
    int ok = 0;
    char rn[128];
    if (load_onnx(ctx, "T.onnx", &T) || load_onnx(ctx, "P.onnx", &P) || load_npy(ctx, "x", &x) ||
        load_npy(ctx, "x_adv", &xa) || load_npy(ctx, "y", &y))
        goto fail;
    jt_test_fmt(rn, sizeof rn, "jatp_%s", v->ref);
    if (load_npy(ctx, rn, &ref)) goto fail;
    jt_test_fmt(rn, sizeof rn, "jatp_%s_grad", v->ref);
    if (load_npy(ctx, rn, &gref)) goto fail;
    jt_dn_config cfg;
    jt_dn_config_default(&cfg);
    cfg.loss = v->loss;
    cfg.sw.bce_as_ce = v->bce_as_ce;
    cfg.sw.w_one = v->w_one;
    cfg.sw.pix_l2norm = v->l2norm;
    if (jt_dn_jatp_graph_build(ctx, P, T, NULL, N_REF, &cfg, &jg) != JT_OK) goto fail;
    if (dt == JT_F64 && jt_graph_to_f64(ctx, jg.g) != JT_OK) goto fail;
    int32_t params[64], grads[64];
    int np = 0;
    for (int32_t i = 0; i < jg.g->n_values && np < 64; i++) {
        const jt_value *pv = &jg.g->values[i];
        if ((pv->flags & JT_VALUE_PARAM) && !(pv->flags & (JT_VALUE_FROZEN | JT_VALUE_STATE | JT_VALUE_CONST)) &&
            pv->rank >= 1 && strncmp(pv->name, "P/", 2) == 0)
            params[np++] = i;
    }
    sort_by_name(jg.g, params, np);
    if (np != 4) {
        jt_test_fmt(why, sizeof why, "expected P's 4 parameters (c1/c2 weight/bias), found %d", np);
        goto done;
    }
    if (jt_build_backward(ctx, jg.g, &jg.loss, NULL, 1, params, np, grads) != JT_OK) goto fail;
    int32_t outs[5] = {jg.loss, jg.bce, jg.fsm, jg.w, jg.pix};
    for (int k = 0; k < 5; k++)
        if (outs[k] >= 0) jt_graph_add_output(ctx, jg.g, outs[k]);
    for (int k = 0; k < np; k++) jt_graph_add_output(ctx, jg.g, grads[k]);
    jt_tensor in[3];
    xf = to_f32(&x);
    xaf = to_f32(&xa);
    for (int i = 0; i < 3; i++) {
        int32_t id = jg.g->inputs[i];
        const jt_tensor *src = id == jg.x_adv ? &xa : id == jg.x ? &x : &y;
        in[i] = *src;
        if (id != jg.y && dt == JT_F32) in[i].dtype = JT_F32, in[i].data = id == jg.x ? xf : xaf;
    }
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.fold_int_inputs = 0;
    if (jt_plan_create(ctx, jg.g, in, 3, &po, &plan) != JT_OK || jt_plan_run(plan, in, 3) != JT_OK) goto fail;
    double tol = dt == JT_F64 ? 1e-9 : 2e-5, gtol = dt == JT_F64 ? 1e-9 : 1e-4;
    const double *r = ref.data;
    static const char *const part[5] = {"L", "bce", "fsm", "w", "pix"};
    int o = 0;
    double got[5];
    for (int k = 0; k < 5; k++) {
        if (outs[k] < 0) {
            got[k] = 1.0; /* w = 1 */
            continue;
        }
        const jt_tensor *t = jt_plan_output(plan, o++);
        got[k] = t->dtype == JT_F64 ? ((const double *)t->data)[0] : ((const float *)t->data)[0];
    }
    for (int k = 0; k < 5; k++)
        if (!(fabs(got[k] - r[k]) <= tol * fabs(r[k]) + 1e-12)) {
            jt_test_fmt(why, sizeof why, "%s = %.12g, reference %.12g", part[k], got[k], r[k]);
            goto done;
        }
    /* gradients, concatenated in name order */
    int64_t total = 0;
    for (int k = 0; k < np; k++) total += jt_tensor_numel(jt_plan_output(plan, o + k));
    if (total != jt_tensor_numel(&gref)) {
        jt_test_fmt(why, sizeof why, "gradient length %lld, reference %lld", (long long)total,
                    (long long)jt_tensor_numel(&gref));
        goto done;
    }
    double *gc = malloc(sizeof(double) * (size_t)total);
    int64_t off = 0;
    for (int k = 0; k < np; k++) {
        const jt_tensor *t = jt_plan_output(plan, o + k);
        for (int64_t e = 0; e < jt_tensor_numel(t); e++)
            gc[off++] = t->dtype == JT_F64 ? ((const double *)t->data)[e] : ((const float *)t->data)[e];
    }
    jt_tensor gt = {.dtype = JT_F64, .rank = 1, .dims = {total}, .data = gc};
    double rel = 0;
    char w2[512];
    ok = jt_test_compare_relnorm(&gt, &gref, gtol, 0, &rel, w2, sizeof w2);
    free(gc);
    if (!ok) jt_test_fmt(why, sizeof why, "gradient wrt P: %s", w2);
    goto done;
fail:
    jt_test_fmt(why, sizeof why, "%s", jt_ctx_error(ctx));
done:
    if (ok) jt_test_ok(name);
    else jt_test_fail(name, "%s", why);
    jt_plan_free(plan);
    jt_graph_free(jg.g);
    jt_graph_free(T);
    jt_graph_free(P);
    free(x.data);
    free(xa.data);
    free(y.data);
    free(ref.data);
    free(gref.data);
    free(xf);
    free(xaf);
    jt_ctx_free(ctx);
}

static void test_tap_rule(void) {
    const char *name = "train_denoiser/tap_rule";
    char why[512] = "";
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    jt_graph *T = NULL, *R = NULL, *P = NULL;
    int32_t v;
    int ok = 0;
    jt_model_config mc;
    if (load_onnx(ctx, "T.onnx", &T) || load_onnx(ctx, "P.onnx", &P)) goto fail;
    /* the ONNX export: layer3.0's last conv (pre-add) */
    if (jt_dn_find_tap(ctx, T, NULL, &v) != JT_OK) goto fail;
    const char *tn = T->values[v].name, *want = "/layer3/layer3.0/conv2/Conv_output_0";
    if (strcmp(tn, want) != 0) {
        jt_test_fmt(why, sizeof why, "ONNX target: tap '%s', expected '%s'", tn, want);
        goto done;
    }
    /* the builder ResNet-10-FM-w8 with unfolded BN: after layer3.0.bn2 */
    if (jt_model_config_preset(ctx, "resnet10-fm-w8", &mc) || jt_model_create(ctx, "resnet10-fm-w8", &mc, &R, NULL))
        goto fail;
    if (jt_dn_find_tap(ctx, R, NULL, &v) != JT_OK) goto fail;
    if (strcmp(R->values[v].name, "layer3.0.bn2") != 0) {
        jt_test_fmt(why, sizeof why, "builder target: tap '%s', expected 'layer3.0.bn2'", R->values[v].name);
        goto done;
    }
    /* an explicit name wins; a model without layer3 is refused asking for --tap */
    if (jt_dn_find_tap(ctx, R, "layer2.0.bn2", &v) != JT_OK || strcmp(R->values[v].name, "layer2.0.bn2") != 0) {
        jt_test_fmt(why, sizeof why, "explicit tap: %s", jt_ctx_error(ctx));
        goto done;
    }
    if (jt_dn_find_tap(ctx, P, NULL, &v) != JT_ERR_ARG || !strstr(jt_ctx_error(ctx), "--tap")) {
        jt_test_fmt(why, sizeof why, "a model without layer3: expected an error naming --tap, got '%s'", jt_ctx_error(ctx));
        goto done;
    }
    ok = 1;
    goto done;
fail:
    jt_test_fmt(why, sizeof why, "%s", jt_ctx_error(ctx));
done:
    if (ok) jt_test_ok(name);
    else jt_test_fail(name, "%s", why);
    jt_graph_free(T);
    jt_graph_free(R);
    jt_graph_free(P);
    jt_ctx_free(ctx);
}

/* One feature-space PGD step from the fixed start, float32 oracle against the float64 reference. */
static void test_fpgd_step(const char *dist) {
    char name[128], why[1024] = "";
    jt_test_fmt(name, sizeof name, "train_denoiser/fpgd_step/%s", dist);
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    jt_graph *T = NULL, *P = NULL;
    jt_oracle *o = NULL;
    jt_tensor x = {0}, x0 = {0}, f0 = {0}, gr = {0}, dr = {0}, x1 = {0};
    float *xf = NULL, *x0f = NULL, *f0f = NULL, *g = NULL, *adv = NULL, *feat = NULL;
    float loss[N_REF];
    int ok = 0;
    char rn[64];
    if (load_onnx(ctx, "T.onnx", &T) || load_onnx(ctx, "P.onnx", &P) || load_npy(ctx, "x", &x) ||
        load_npy(ctx, "fpgd_x0", &x0) || load_npy(ctx, "fpgd_f0", &f0))
        goto fail;
    jt_test_fmt(rn, sizeof rn, "fpgd_%s_grad", dist);
    if (load_npy(ctx, rn, &gr)) goto fail;
    jt_test_fmt(rn, sizeof rn, "fpgd_%s_dist", dist);
    if (load_npy(ctx, rn, &dr)) goto fail;
    jt_test_fmt(rn, sizeof rn, "fpgd_%s_x1", dist);
    if (load_npy(ctx, rn, &x1)) goto fail;
    int32_t tv;
    if (jt_dn_find_tap(ctx, T, NULL, &tv) != JT_OK) goto fail;
    char tap[512];
    jt_test_fmt(tap, sizeof tap, "T/%s", T->values[tv].name);
    jt_graph_oracle_config oc;
    jt_graph_oracle_config_default(&oc);
    oc.tap = tap;
    if (jt_graph_oracle_create(ctx, T, P, 1, 8, 8, &oc, &o) != JT_OK) goto fail;
    int64_t d = 64, F = o->feat_dim;
    if (F != jt_tensor_numel(&f0) / N_REF) {
        jt_test_fmt(why, sizeof why, "tap size %lld, reference %lld", (long long)F, (long long)(jt_tensor_numel(&f0) / N_REF));
        goto done;
    }
    xf = to_f32(&x);
    x0f = to_f32(&x0);
    f0f = to_f32(&f0);
    g = malloc(sizeof(float) * N_REF * (size_t)d);
    adv = malloc(sizeof(float) * N_REF * (size_t)d);
    feat = malloc(sizeof(float) * N_REF * (size_t)F);
    jt_feat_dist fd = strcmp(dist, "cos") == 0 ? JT_FEAT_COS : JT_FEAT_L2;
    /* f0 = tap(T(P(x))) and the gradient at x0 */
    if (jt_oracle_features(o, xf, N_REF, feat) != JT_OK || jt_oracle_feat_grad(o, x0f, f0f, N_REF, fd, loss, g) != JT_OK)
        goto fail;
    char w2[512];
    jt_tensor tf = {.dtype = JT_F32, .rank = f0.rank, .data = feat};
    memcpy(tf.dims, f0.dims, sizeof tf.dims);
    if (!jt_test_compare_relnorm(&tf, &f0, 1e-5, JT_CMP_REF_F64_OK, NULL, w2, sizeof w2)) {
        jt_test_fmt(why, sizeof why, "f0: %s", w2);
        goto done;
    }
    jt_tensor tg = {.dtype = JT_F32, .rank = 4, .dims = {N_REF, 1, 8, 8}, .data = g};
    if (!jt_test_compare_relnorm(&tg, &gr, 1e-4, JT_CMP_REF_F64_OK, NULL, w2, sizeof w2)) {
        jt_test_fmt(why, sizeof why, "gradient at x0: %s", w2);
        goto done;
    }
    for (int i = 0; i < N_REF; i++)
        if (!(fabs(loss[i] - ((double *)dr.data)[i]) <= 1e-4 * fabs(((double *)dr.data)[i]) + 1e-9)) {
            jt_test_fmt(why, sizeof why, "distance %d: %.9g, reference %.9g", i, loss[i], ((double *)dr.data)[i]);
            goto done;
        }
    /* the step itself, through the trainer's attack */
    jt_dn_attack a = {.eps = 0.1, .step = 0.05, .steps = 1, .dist = fd, .seed = 3, .epoch = 0};
    double dl;
    if (jt_dn_fpgd(o, &a, xf, NULL, N_REF, x0f, adv, &dl) != JT_OK) goto fail;
    const double *gd = gr.data, *r1 = x1.data;
    double gmax = 0;
    for (int64_t e = 0; e < N_REF * d; e++) gmax = fmax(gmax, fabs(gd[e]));
    int skipped = 0;
    for (int64_t e = 0; e < N_REF * d; e++) {
        if (fabs(gd[e]) <= 1e-6 * gmax) {
            skipped++;
            continue;
        }
        if (!(fabs(adv[e] - r1[e]) <= 1e-6)) {
            jt_test_fmt(why, sizeof why, "x1[%lld] = %.9g, reference %.9g (g %.3g)", (long long)e, adv[e], r1[e], gd[e]);
            goto done;
        }
    }
    ok = 1;
    jt_test_note("%s: %d of %d elements with |g| <= 1e-6 max|g| not compared; mean distance %.6g", dist, skipped,
                 N_REF * 64, dl);
    goto done;
fail:
    jt_test_fmt(why, sizeof why, "%s", jt_ctx_error(ctx));
done:
    if (ok) jt_test_ok(name);
    else jt_test_fail(name, "%s", why);
    jt_oracle_free(o);
    jt_graph_free(T);
    jt_graph_free(P);
    free(x.data);
    free(x0.data);
    free(f0.data);
    free(gr.data);
    free(dr.data);
    free(x1.data);
    free(xf);
    free(x0f);
    free(f0f);
    free(g);
    free(adv);
    free(feat);
    jt_ctx_free(ctx);
}

/* The random start: inside the ball and [0,1], moved, a function of (seed, epoch, index) only. */
static void test_random_start(void) {
    const char *name = "train_denoiser/fpgd_random_start";
    char why[512] = "";
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    jt_graph *T = NULL, *P = NULL;
    jt_oracle *o = NULL;
    jt_tensor x = {0};
    float *xf = NULL, a1[N_REF * 64], a2[N_REF * 64], a3[N_REF * 64], b1[64];
    int ok = 0;
    if (load_onnx(ctx, "T.onnx", &T) || load_onnx(ctx, "P.onnx", &P) || load_npy(ctx, "x", &x)) goto fail;
    jt_graph_oracle_config oc;
    jt_graph_oracle_config_default(&oc);
    oc.tap = "layer3.0/conv2/Conv";
    if (jt_graph_oracle_create(ctx, T, P, 1, 8, 8, &oc, &o) != JT_OK) goto fail;
    xf = to_f32(&x);
    int64_t idx[N_REF] = {10, 11, 12, 13};
    jt_dn_attack a = {.eps = 0.1, .step = 0.05, .steps = 0, .dist = JT_FEAT_L2, .seed = 5, .epoch = 2};
    if (jt_dn_fpgd(o, &a, xf, idx, N_REF, NULL, a1, NULL) || jt_dn_fpgd(o, &a, xf, idx, N_REF, NULL, a2, NULL)) goto fail;
    a.epoch = 3;
    if (jt_dn_fpgd(o, &a, xf, idx, N_REF, NULL, a3, NULL)) goto fail;
    a.epoch = 2;
    if (jt_dn_fpgd(o, &a, xf + 2 * 64, idx + 2, 1, NULL, b1, NULL)) goto fail; /* example 12 alone */
    int moved = 0, diff_epoch = 0;
    for (int e = 0; e < N_REF * 64; e++) {
        if (a1[e] < 0 || a1[e] > 1 || fabsf(a1[e] - xf[e]) > 0.1f + 1e-7f) {
            jt_test_fmt(why, sizeof why, "start element %d = %g outside the ball around %g", e, a1[e], xf[e]);
            goto done;
        }
        moved += a1[e] != xf[e];
        diff_epoch += a1[e] != a3[e];
    }
    if (memcmp(a1, a2, sizeof a1) != 0 || memcmp(b1, a1 + 2 * 64, sizeof b1) != 0 || moved < N_REF * 64 / 2 ||
        diff_epoch < N_REF * 64 / 2) {
        jt_test_fmt(why, sizeof why, "not a function of (seed, epoch, index): repeat %s, alone %s, moved %d, epoch-diff %d",
                    memcmp(a1, a2, sizeof a1) ? "differs" : "same", memcmp(b1, a1 + 2 * 64, sizeof b1) ? "differs" : "same",
                    moved, diff_epoch);
        goto done;
    }
    ok = 1;
    goto done;
fail:
    jt_test_fmt(why, sizeof why, "%s", jt_ctx_error(ctx));
done:
    if (ok) jt_test_ok(name);
    else jt_test_fail(name, "%s", why);
    jt_oracle_free(o);
    jt_graph_free(T);
    jt_graph_free(P);
    free(x.data);
    free(xf);
    jt_ctx_free(ctx);
}

/* Loads P.onnx, runs it on two images: output shape = input shape, finite. */
static int check_onnx(jt_ctx *ctx, const char *path, char *why, size_t cap) {
    jt_graph *g = NULL;
    jt_plan *p = NULL;
    float x[2 * 784];
    for (int i = 0; i < 2 * 784; i++) x[i] = (float)((i * 37) % 101) / 100.0f;
    jt_tensor in = {.dtype = JT_F32, .rank = 4, .dims = {2, 1, 28, 28}, .data = x};
    int ok = 0;
    if (jt_onnx_load(ctx, path, NULL, &g) != JT_OK || jt_plan_create(ctx, g, &in, 1, NULL, &p) != JT_OK ||
        jt_plan_run(p, &in, 1) != JT_OK) {
        jt_test_fmt(why, cap, "%s: %s", path, jt_ctx_error(ctx));
    } else {
        const jt_tensor *o = jt_plan_output(p, 0);
        ok = jt_dims_equal(o->dims, o->rank, in.dims, 4) && o->dtype == JT_F32;
        for (int64_t i = 0; ok && i < jt_tensor_numel(o); i++) ok = isfinite(((const float *)o->data)[i]);
        if (!ok) jt_test_fmt(why, cap, "%s: output is not a finite [2,1,28,28] tensor", path);
    }
    jt_plan_free(p);
    jt_graph_free(g);
    return ok;
}

static void base_cfg(jt_dn_config *c, jt_dn_method m, const char *tag) {
    static char out[8][256], ck[8][256], lg[8][256];
    static int k = 0;
    k = (k + 1) % 8;
    jt_dn_config_default(c);
    c->method = m;
    c->subset = 16;
    c->batch = 16;
    c->epochs = 10;
    c->augment = 0;
    c->attack_steps = 2;
    c->quiet = 1;
    c->seed = 1;
    char nm[128];
    jt_test_fmt(nm, sizeof nm, "%s.onnx", tag);
    tmp_path(out[k], sizeof out[k], nm);
    jt_test_fmt(nm, sizeof nm, "%s.ckpt", tag);
    tmp_path(ck[k], sizeof ck[k], nm);
    jt_test_fmt(nm, sizeof nm, "%s.jsonl", tag);
    tmp_path(lg[k], sizeof lg[k], nm);
    c->out = out[k];
    c->checkpoint = ck[k];
    c->log_path = lg[k];
}

/* ---- (c) baselines ---- */

static void test_baseline(jt_ctx *ctx, const jt_graph *T, const jt_dataset *ds, jt_dn_method m, const char *denoiser,
                          jt_dn_examples ex, const char *key, int epochs) {
    char name[160], why[1024] = "";
    jt_test_fmt(name, sizeof name, "train_denoiser/baseline/%s/%s/%s", jt_dn_method_name(m), denoiser ? denoiser : "default",
                ex == JT_DN_EX_FULL ? "full" : "oblivious");
    char tag[64];
    jt_test_fmt(tag, sizeof tag, "base_%s_%d", jt_dn_method_name(m), (int)ex);
    jt_dn_config c;
    base_cfg(&c, m, tag);
    c.denoiser = denoiser;
    c.examples = ex;
    c.epochs = epochs;
    if (denoiser && strcmp(denoiser, "dunet") == 0) c.batch = c.subset = 4;
    if (m == JT_DN_NRP) c.lr = 1e-3; /* 1e-4 moves too little in ten steps */
    jt_dn_result res;
    double t0 = now_s(), v[64];
    if (jt_dn_train(ctx, &c, T, NULL, ds, NULL, &res) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
        return;
    }
    int n = log_values(c.log_path, key, v, 64);
    if (n != epochs) {
        jt_test_fail(name, "%d '%s' values in the log, expected %d", n, key, epochs);
        return;
    }
    double first = (v[0] + v[1] + v[2]) / 3, last = (v[n - 1] + v[n - 2] + v[n - 3]) / 3;
    if (!(last < first)) {
        jt_test_fail(name, "%s did not decrease: first three %.6g, last three %.6g", key, first, last);
        return;
    }
    if (!check_onnx(ctx, c.out, why, sizeof why)) {
        jt_test_fail(name, "%s", why);
        return;
    }
    jt_test_ok(name);
    jt_test_note("%s: %s %.5g -> %.5g over %d steps (%.1f s)", res.denoiser, key, first, last, n, now_s() - t0);
}

/* ---- (d) resume, joint, NaN ---- */

typedef void (*cfg_fn)(jt_dn_config *c);

static void cfg_jatp(jt_dn_config *c) {
    c->subset = 32;
    c->epochs = 2;
    c->warmup = 2;
    c->attack_steps = 1;
    c->augment = 1;
}
static void cfg_jatp_bn(jt_dn_config *c) { /* a denoiser with BatchNorm: two chained P instances */
    c->denoiser = "apeg-g";
    c->epochs = 3;
    c->attack_steps = 1;
}
static void cfg_nrp(jt_dn_config *c) {
    c->subset = 32;
    c->epochs = 2;
}
static void cfg_apeg(jt_dn_config *c) {
    c->epochs = 3;
    c->examples = JT_DN_EX_FULL;
    c->attack_steps = 1;
}

static void test_resume(jt_ctx *ctx, const jt_graph *T, const jt_dataset *ds, jt_dn_method m, const char *label,
                        cfg_fn fn, int stop1, int stop2) {
    char name[160], why[1024] = "";
    jt_test_fmt(name, sizeof name, "train_denoiser/resume_bitwise/%s", label);
    jt_dn_config a, b;
    char ta[64], tb[64];
    jt_test_fmt(ta, sizeof ta, "res_%s_a", label);
    jt_test_fmt(tb, sizeof tb, "res_%s_b", label);
    base_cfg(&a, m, ta);
    fn(&a);
    base_cfg(&b, m, tb);
    fn(&b);
    jt_dn_result ra, rb;
    if (jt_dn_train(ctx, &a, T, NULL, ds, NULL, &ra) != JT_OK || !ra.finished) {
        jt_test_fail(name, "uninterrupted run: %s", jt_ctx_error(ctx));
        return;
    }
    b.max_steps = stop1;
    if (jt_dn_train(ctx, &b, T, NULL, ds, NULL, &rb) != JT_OK || !rb.interrupted || rb.steps != stop1) {
        jt_test_fail(name, "first part: %s (steps %lld)", jt_ctx_error(ctx), (long long)rb.steps);
        return;
    }
    b.resume = 1;
    b.max_steps = stop1 + stop2;
    if (jt_dn_train(ctx, &b, T, NULL, ds, NULL, &rb) != JT_OK || !rb.interrupted || rb.steps != stop1 + stop2) {
        jt_test_fail(name, "second part: %s (steps %lld)", jt_ctx_error(ctx), (long long)rb.steps);
        return;
    }
    b.max_steps = 0;
    if (jt_dn_train(ctx, &b, T, NULL, ds, NULL, &rb) != JT_OK || !rb.finished || rb.steps != ra.steps) {
        jt_test_fail(name, "last part: %s (steps %lld of %lld)", jt_ctx_error(ctx), (long long)rb.steps,
                     (long long)ra.steps);
        return;
    }
    if (!same_file(a.checkpoint, b.checkpoint, why, sizeof why) || !same_file(a.out, b.out, why, sizeof why)) {
        jt_test_fail(name, "%s", why);
        return;
    }
    jt_test_ok(name);
    jt_test_note("%s: %lld steps, stopped after %d and %d: checkpoint and P.onnx identical", label, (long long)ra.steps,
                 stop1, stop1 + stop2);
}

static void test_resume_mismatch(jt_ctx *ctx, const jt_graph *T, const jt_dataset *ds) {
    const char *name = "train_denoiser/resume_other_settings_refused";
    jt_dn_config c;
    base_cfg(&c, JT_DN_JATP, "mismatch");
    c.epochs = 1;
    jt_dn_result r;
    if (jt_dn_train(ctx, &c, T, NULL, ds, NULL, &r) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
        return;
    }
    c.resume = 1;
    c.alpha = 4; /* another loss: refused, naming the checkpoint */
    if (jt_dn_train(ctx, &c, T, NULL, ds, NULL, &r) != JT_ERR_ARG || !strstr(jt_ctx_error(ctx), c.checkpoint))
        jt_test_fail(name, "expected a refusal naming the checkpoint, got '%s'", jt_ctx_error(ctx));
    else
        jt_test_ok(name);
}

static void test_joint(jt_ctx *ctx, const jt_graph *T, const jt_dataset *ds) {
    const char *name = "train_denoiser/jatp_joint";
    char why[512] = "", tout[256];
    jt_dn_config c;
    base_cfg(&c, JT_DN_JATP, "joint");
    c.joint = 1;
    c.epochs = 3;
    c.attack_steps = 1;
    tmp_path(tout, sizeof tout, "joint_T.onnx");
    c.out_target = tout;
    jt_dn_result r;
    if (jt_dn_train(ctx, &c, T, NULL, ds, NULL, &r) != JT_OK || !r.finished) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
        return;
    }
    /* the updated T differs from the original (it trained) and loads */
    jt_graph *T2 = NULL;
    if (jt_onnx_load(ctx, tout, NULL, &T2) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
        return;
    }
    int32_t a = jt_graph_find_value(T, "layer1.0.conv1.weight"), b = jt_graph_find_value(T2, "layer1.0.conv1.weight");
    int32_t ra = jt_graph_find_value(T, "layer1.0.bn1.running_mean"), rb = jt_graph_find_value(T2, "layer1.0.bn1.running_mean");
    int changed = a >= 0 && b >= 0 && memcmp(T->values[a].data, T2->values[b].data, 8 * 8 * 9 * sizeof(float)) != 0;
    int stats = ra >= 0 && rb >= 0 && memcmp(T->values[ra].data, T2->values[rb].data, 8 * sizeof(float)) != 0;
    jt_graph_free(T2);
    if (!changed || !stats) jt_test_fail(name, "updated T: weights %s, BN running means %s", changed ? "changed" : "unchanged",
                                         stats ? "changed" : "unchanged");
    else if (!check_onnx(ctx, c.out, why, sizeof why)) jt_test_fail(name, "%s", why);
    else jt_test_ok(name);
}

static void test_nan_stop(jt_ctx *ctx, const jt_graph *T, const jt_dataset *ds) {
    const char *name = "train_denoiser/nan_stop";
    char why[1024];
    jt_dn_config c, g;
    base_cfg(&c, JT_DN_JATP, "nan");
    c.epochs = 8;
    c.attack_steps = 1;
    c.lr = 1e5;
    c.clip_grad = 0;
    jt_dn_result r;
    jt_status st = jt_dn_train(ctx, &c, T, NULL, ds, NULL, &r);
    const char *msg = jt_ctx_error(ctx);
    if (st != JT_ERR_NUMERIC || !r.nonfinite || !strstr(msg, c.checkpoint) || !strstr(msg, "last good state")) {
        jt_test_fail(name, "expected a NaN stop naming the checkpoint, got status %d (%s)", (int)st, msg);
        return;
    }
    int64_t good = r.steps;
    char first_line[512];
    jt_test_fmt(first_line, sizeof first_line, "%.400s", msg);
    if (good < 1) {
        jt_test_fail(name, "the first step already diverged; the test needs at least one good step");
        return;
    }
    /* the checkpoint is exactly the state after the last good step: the same run stopped there */
    base_cfg(&g, JT_DN_JATP, "nan_good");
    g.epochs = c.epochs;
    g.attack_steps = c.attack_steps;
    g.lr = c.lr;
    g.clip_grad = c.clip_grad;
    g.max_steps = good;
    if (jt_dn_train(ctx, &g, T, NULL, ds, NULL, &r) != JT_OK || !r.interrupted || r.steps != good) {
        jt_test_fail(name, "the reference run to step %lld: %s", (long long)good, jt_ctx_error(ctx));
        return;
    }
    if (!same_file(c.checkpoint, g.checkpoint, why, sizeof why)) {
        jt_test_fail(name, "the NaN stop's checkpoint is not the state after step %lld: %s", (long long)good, why);
        return;
    }
    jt_test_ok(name);
    jt_test_note("stopped at step %lld with the state after step %lld: %s", (long long)good + 1, (long long)good, first_line);
}

/* ---- (e) ONNX Runtime agrees with jatp on an exported P (optional: the venv) ---- */

static void test_onnxruntime(jt_ctx *ctx, const char *onnx, const char *label) {
    char name[160];
    jt_test_fmt(name, sizeof name, "train_denoiser/onnxruntime/%s", label);
    char py[1024];
    jt_test_fmt(py, sizeof py, "%s/.venv/bin/python", JT_SOURCE_ROOT);
    FILE *f = fopen(py, "rb");
    if (!f) {
        jt_test_skip(name, "no %s (ONNX Runtime check is optional)", py);
        return;
    }
    fclose(f);
    float x[3 * 784];
    for (int i = 0; i < 3 * 784; i++) x[i] = (float)((i * 53) % 97) / 96.0f;
    jt_tensor in = {.dtype = JT_F32, .rank = 4, .dims = {3, 1, 28, 28}, .data = x};
    jt_graph *g = NULL;
    jt_plan *p = NULL;
    char xp[256], yp[256], sp[256], cmd[2048];
    tmp_path(xp, sizeof xp, "ort_x.npy");
    tmp_path(yp, sizeof yp, "ort_y.npy");
    tmp_path(sp, sizeof sp, "ort_check.py");
    if (jt_onnx_load(ctx, onnx, NULL, &g) != JT_OK || jt_plan_create(ctx, g, &in, 1, NULL, &p) != JT_OK ||
        jt_plan_run(p, &in, 1) != JT_OK || jt_npy_write(ctx, xp, &in) != JT_OK ||
        jt_npy_write(ctx, yp, jt_plan_output(p, 0)) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
        goto done;
    }
    FILE *s = fopen(sp, "w");
    fputs("import sys\n"
          "try:\n"
          "    import numpy as np, onnxruntime as ort\n"
          "except Exception:\n"
          "    sys.exit(3)\n"
          "s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])\n"
          "x, y = np.load(sys.argv[2]), np.load(sys.argv[3])\n"
          "o = s.run(None, {s.get_inputs()[0].name: x})[0]\n"
          "d = float(np.abs(o - y).max())\n"
          "print('max |ort - jatp| = %.3g' % d)\n"
          "sys.exit(0 if o.shape == y.shape and d <= 1e-4 * max(1.0, float(np.abs(y).max())) else 1)\n",
          s);
    fclose(s);
    jt_test_fmt(cmd, sizeof cmd, "'%s' '%s' '%s' '%s' '%s' > '%s/ort_out.txt' 2>&1", py, sp, onnx, xp, yp, g_dir);
    int rc = system(cmd);
    int code = rc == -1 ? -1 : WEXITSTATUS(rc);
    char outp[256], msg[256] = "";
    tmp_path(outp, sizeof outp, "ort_out.txt");
    FILE *o = fopen(outp, "r");
    if (o) {
        if (!fgets(msg, sizeof msg, o)) msg[0] = 0;
        fclose(o);
        msg[strcspn(msg, "\n")] = 0;
    }
    if (code == 3) jt_test_skip(name, "onnxruntime is not importable in the venv");
    else if (code != 0) jt_test_fail(name, "ONNX Runtime disagrees or failed (exit %d): %s", code, msg);
    else {
        jt_test_ok(name);
        jt_test_note("%s", msg);
    }
done:
    jt_plan_free(p);
    jt_graph_free(g);
}


/* ---- the CLI: bad input names the flag (exit 2); Ctrl-C leaves a checkpoint that resumes ---- */

static int run_cli(const char *args, char *out, size_t cap) {
    char cmd[4096], log[256];
    tmp_path(log, sizeof log, "cli_out.txt");
    jt_test_fmt(cmd, sizeof cmd, "'%s' train denoiser %s > '%s' 2>&1", JT_JATP_EXE, args, log);
    int rc = system(cmd);
    out[0] = 0;
    FILE *f = fopen(log, "r");
    if (f) {
        size_t n = fread(out, 1, cap - 1, f);
        out[n] = 0;
        fclose(f);
    }
    remove(log);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void test_cli_errors(void) {
    static const struct {
        const char *args, *want;
        int rc;
    } cases[] = {
        {"--target t.onnx --data fmnist --out P.onnx", "--method", 2},
        {"--method jatq --target t.onnx --data fmnist --out P.onnx", "--method", 2},
        {"--method jatp --target t.onnx --data fmnist --out P.onnx --loss pix+fsm", "--loss", 2},
        {"--method jatp --target t.onnx --data fmnist --out P.onnx --fgd", "--fgd", 2},
        {"--method hgd --target t.onnx --data fmnist --out P.onnx --joint", "--joint", 2},
        {"--method jatp --target t.onnx --data fmnist --out P.onnx --lr fast", "--lr", 2},
        {"--method jatp --target t.onnx --data fmnist --out P.onnx --eps 2", "--eps", 2},
        {"--method jatp --target t.onnx --data fmnist --out P.onnx --preset big", "--preset", 2},
        {"--method jatp --target t.onnx --data fmnist --out P.onnx --examples some", "--examples", 2},
        {"--method jatp --target t.onnx --data fmnist --out P.onnx --fpgd-dist l1", "--fpgd-dist", 2},
        {"--method nrp --target t.onnx --data fmnist --out P.onnx --pgd-steps 3", "--pgd-steps", 2},
        {"--method jatp --target t.onnx --data fmnist --out P.onnx --batch 0", "--batch", 2},
        {"--method jatp --target t.onnx --data fmnist --out /nonexistent-dir/P.onnx --resume", "--resume", 2},
        {"--method jatp --target t.onnx --data nodata --out P.onnx", "--data", 2},
        {"--method jatp --target /nonexistent/T.onnx --data fmnist --out P.onnx --eval 0", "/nonexistent/T.onnx", 1},
        {"--method jatp --target t.onnx --data fmnist --out P.onnx --epochs -1", "--epochs", 2},
        /* 0 epochs is the warm-up alone; without a warm-up it would train nothing (checked after the data load) */
        {"--method hgd --target resnet10-fm-w8 --data fmnist --out P.onnx --epochs 0 --eval 0", "warm-up", 2},
    };
    char out[8192];
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strstr(cases[i].args, "--data fmnist") &&
            (strstr(cases[i].args, "/nonexistent/T.onnx") || strstr(cases[i].args, "--epochs 0"))) {
            FILE *f = fopen(JT_FMNIST_DIR "/train-images-idx3-ubyte.gz", "rb");
            if (!f) continue; /* the data load comes first */
            fclose(f);
        }
        int rc = run_cli(cases[i].args, out, sizeof out);
        if (rc != cases[i].rc || !strstr(out, cases[i].want)) {
            jt_test_fail("train_denoiser/cli/bad_input", "`%s`: exit %d (want %d), message '%.300s' (want '%s')",
                         cases[i].args, rc, cases[i].rc, out, cases[i].want);
            bad = 1;
        }
    }
    if (!bad) jt_test_ok("train_denoiser/cli/bad_input");
}

static void test_cli_ctrl_c(void) {
    const char *name = "train_denoiser/cli/ctrl_c_and_resume";
    FILE *f = fopen(JT_FMNIST_DIR "/train-images-idx3-ubyte.gz", "rb");
    if (!f) {
        jt_test_skip(name, "Debian's dataset-fashion-mnist is not installed");
        return;
    }
    fclose(f);
    char pout[256], pck[256], plog[256], perr[256], args[2048], out[8192];
    tmp_path(pout, sizeof pout, "cli_P.onnx");
    tmp_path(pck, sizeof pck, "cli_P.ckpt");
    tmp_path(plog, sizeof plog, "cli_P.jsonl");
    tmp_path(perr, sizeof perr, "cli_err.txt");
    jt_test_fmt(args, sizeof args,
                "--method jatp --target resnet10-fm-w8 --data fmnist --subset 64 --batch 16 --epochs 30 --fpgd-steps 1 "
                "--eval 0 --threads 1 --out %s --log %s",
                pout, plog);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *e = freopen(perr, "w", stderr);
        (void)e;
        execl(JT_JATP_EXE, "jatp", "train", "denoiser", "--method", "jatp", "--target", "resnet10-fm-w8", "--data",
              "fmnist", "--subset", "64", "--batch", "16", "--epochs", "30", "--fpgd-steps", "1", "--eval", "0",
              "--threads", "1", "--out", pout, "--log", plog, (char *)NULL);
        _exit(127);
    }
    /* wait for two logged steps, then Ctrl-C */
    double v[8];
    int n = 0;
    for (int k = 0; k < 1200 && (n = log_values(plog, "loss", v, 8)) < 2; k++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    FILE *ck = fopen(pck, "rb"), *po = fopen(pout, "rb");
    int have_ck = ck != NULL, have_p = po != NULL;
    if (ck) fclose(ck);
    if (po) fclose(po);
    if (n < 2 || rc != 130 || !have_ck || have_p) {
        jt_test_fail(name, "after Ctrl-C: %d steps logged, exit %d (want 130), checkpoint %s, P.onnx %s", n, rc,
                     have_ck ? "written" : "missing", have_p ? "written (should not be)" : "absent");
        return;
    }
    /* the same settings resume; stop again once 6 steps are done */
    jt_test_fmt(args + strlen(args), sizeof args - strlen(args), " --resume --max-steps 6");
    rc = run_cli(args, out, sizeof out);
    n = log_values(plog, "loss", v, 8);
    if (rc != 130 || n < 6 || !strstr(out, "resume")) {
        jt_test_fail(name, "resume: exit %d, %d steps logged: %.400s", rc, n, out);
        return;
    }
    jt_test_ok(name);
    remove(pout);
    remove(pck);
    remove(plog);
    remove(perr);
}

/* ---- main ---- */

static void remove_dir(const char *dir) {
    static const char *const files[] = {"ort_x.npy",    "ort_y.npy",    "ort_check.py", "ort_out.txt",
                                        "joint_T.onnx", "nan_good.onnx", "nan_good.ckpt", "nan_good.jsonl",
                                        "cli_P.onnx",   "cli_P.ckpt",   "cli_P.jsonl",  "cli_err.txt"};
    char p[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        tmp_path(p, sizeof p, files[i]);
        remove(p);
    }
    static const char *const tags[] = {"base_hgd_1", "base_hgd_2", "base_apeg_1", "base_apeg_2", "base_nrp_1",
                                       "base_nrp_2", "mismatch",   "joint",       "nan",        "nan_good"};
    static const char *const ext[] = {".onnx", ".ckpt", ".jsonl"};
    static const char *const res[] = {"jatp", "jatp_bn", "nrp", "apeg"};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        for (int e = 0; e < 3; e++) {
            jt_test_fmt(p, sizeof p, "%s/%s%s", dir, tags[i], ext[e]);
            remove(p);
        }
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++)
        for (int e = 0; e < 3; e++)
            for (int ab = 0; ab < 2; ab++) {
                jt_test_fmt(p, sizeof p, "%s/res_%s_%c%s", dir, res[i], ab ? 'b' : 'a', ext[e]);
                remove(p);
            }
    remove(dir);
}

int main(void) {
    /* (a) */
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        test_jatp_graph(&variants[i], JT_F64);
        test_jatp_graph(&variants[i], JT_F32);
    }
    test_tap_rule();
    test_fpgd_step("mse");
    test_fpgd_step("cos");
    test_random_start();

    jt_test_fmt(g_dir, sizeof g_dir, "/tmp/jatp-train-denoiser-XXXXXX");
    if (!mkdtemp(g_dir)) {
        jt_test_fail("train_denoiser/tmpdir", "cannot create %s", g_dir);
        return jt_test_finish();
    }
    jt_ctx *ctx;
    jt_ctx_create(0, &ctx);
    jt_dataset ds;
    synth(&ds, 64);
    jt_graph *T = random_target(ctx);
    if (!T) {
        jt_test_fail("train_denoiser/setup", "%s", jt_ctx_error(ctx));
    } else {
        double t0 = now_s();
        /* (c) baselines on one fixed batch */
        test_baseline(ctx, T, &ds, JT_DN_HGD, "rrdb-s", JT_DN_EX_FULL, "loss", 10);
        test_baseline(ctx, T, &ds, JT_DN_HGD, "dunet", JT_DN_EX_OBLIVIOUS, "loss", 5);
        test_baseline(ctx, T, &ds, JT_DN_APEG, NULL, JT_DN_EX_OBLIVIOUS, "mse", 10);
        test_baseline(ctx, T, &ds, JT_DN_APEG, NULL, JT_DN_EX_FULL, "mse", 6);
        test_baseline(ctx, T, &ds, JT_DN_NRP, NULL, JT_DN_EX_OBLIVIOUS, "loss_p", 10);
        test_baseline(ctx, T, &ds, JT_DN_NRP, NULL, JT_DN_EX_FULL, "loss_p", 10);
        double t1 = now_s();
        /* (d) */
        test_resume(ctx, T, &ds, JT_DN_JATP, "jatp", cfg_jatp, 1, 3);
        test_resume(ctx, T, &ds, JT_DN_JATP, "jatp_bn", cfg_jatp_bn, 1, 1);
        test_resume(ctx, T, &ds, JT_DN_NRP, "nrp", cfg_nrp, 1, 2);
        test_resume(ctx, T, &ds, JT_DN_APEG, "apeg", cfg_apeg, 1, 1);
        test_resume_mismatch(ctx, T, &ds);
        test_joint(ctx, T, &ds);
        test_nan_stop(ctx, T, &ds);
        double t2 = now_s();
        /* (e) */
        char p[256];
        tmp_path(p, sizeof p, "base_hgd_2.onnx");
        test_onnxruntime(ctx, p, "rrdb-s");
        tmp_path(p, sizeof p, "base_hgd_1.onnx");
        test_onnxruntime(ctx, p, "dunet");
        tmp_path(p, sizeof p, "base_apeg_1.onnx");
        test_onnxruntime(ctx, p, "apeg-g");
        jt_test_note("baselines %.1f s, resume/joint/NaN %.1f s", t1 - t0, t2 - t1);
        test_cli_errors();
        test_cli_ctrl_c();
    }
    jt_graph_free(T);
    jt_dataset_free(&ds);
    jt_ctx_free(ctx);
    remove_dir(g_dir);
    return jt_test_finish();
}
