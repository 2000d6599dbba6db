/* Unit tests of the target trainer's pieces against float64 references written here:
 *   (a) jt_step: two SGD steps (momentum 0.9, weight decay) of a linear classifier with CE equal the
 *       hand-computed torch.optim.SGD update; a training-mode BatchNorm's running statistics are
 *       written back (r <- 0.9 r + 0.1 batch; the biased batch variance as ONNX defines it, see
 *       docs/decisions.md item 8) and its gamma/beta updated;
 *   (b) the recipes through jt_target_trainer with a tiny BN + linear model: the inner PGD (random
 *       start x + 0.001 N(0,1), sign steps, projection, eval-mode BN; CE or TRADES' KL sum) gives the
 *       reference x'; the outer losses (natural CE, Standard CE(x'), TRADES, MART, MMA-lite) and
 *       batch accuracies match; the two train-mode passes chain the running statistics as two PyTorch
 *       forwards; the start noise is N(0,1), deterministic and keyed by (seed, epoch, index). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/jatp.h"
#include "jatp/train_target.h"
#include "jt_test.h"

static jt_ctx *ctx;

static uint64_t lcg_state = 1;
static double urand(void) { /* [0, 1) */
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg_state >> 11) / 9007199254740992.0;
}

static int close_to(double got, double ref, double rtol, double atol) {
    return isfinite(got) && fabs(got - ref) <= atol + rtol * fabs(ref);
}

/* ---------------------------------------------------------------- (a) jt_step */

enum { AB = 4, AD = 3, AK = 2 };

static void ce_grad(const double *w, const double *bias, const float x[AB][AD], const int64_t *y, double *gw, double *gb,
                    double *loss) {
    memset(gw, 0, sizeof(double) * AD * AK);
    memset(gb, 0, sizeof(double) * AK);
    *loss = 0;
    for (int n = 0; n < AB; n++) {
        double z[AK], m = -1e300, s = 0;
        for (int k = 0; k < AK; k++) {
            z[k] = bias[k];
            for (int j = 0; j < AD; j++) z[k] += x[n][j] * w[j * AK + k];
            if (z[k] > m) m = z[k];
        }
        for (int k = 0; k < AK; k++) s += exp(z[k] - m);
        *loss += (m + log(s) - z[y[n]]) / AB;
        for (int k = 0; k < AK; k++) {
            double dz = (exp(z[k] - m) / s - (k == y[n])) / AB;
            gb[k] += dz;
            for (int j = 0; j < AD; j++) gw[j * AK + k] += x[n][j] * dz;
        }
    }
}

static void test_step_sgd(void) {
    const char *name = "target/step_sgd_momentum_wd";
    jt_graph *g = NULL;
    jt_step *s = NULL;
    float w0[AD * AK], b0[AK];
    for (int i = 0; i < AD * AK; i++) w0[i] = (float)(urand() - 0.5);
    for (int i = 0; i < AK; i++) b0[i] = (float)(0.2 * urand() - 0.1);
    if (jt_graph_create(ctx, "step-sgd", &g) != JT_OK) goto fail;
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int32_t x = jt_gb_input(&b, "x", JT_F32, 2, (const int64_t[]){AB, AD});
    int32_t y = jt_gb_input(&b, "y", JT_I64, 1, (const int64_t[]){AB});
    int32_t w = jt_gb_param(&b, "fc.weight", JT_F32, 2, (const int64_t[]){AD, AK}, w0);
    int32_t bb = jt_gb_param(&b, "fc.bias", JT_F32, 1, (const int64_t[]){AK}, b0);
    int32_t z = jt_gb_op(&b, "Gemm", "", "fc", (const int32_t[]){x, w, bb}, 3);
    int32_t loss = jt_loss_ce(&b, z, y);
    if (jt_gb_status(&b) != JT_OK) goto fail;
    jt_step_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.optimizer = JT_OPT_SGD;
    jt_sgd_config_default(&sp.sgd);
    sp.sgd.momentum = 0.9;
    sp.sgd.weight_decay = 0.01;
    sp.loss = loss;
    jt_tensor sh[2] = {{.dtype = JT_F32, .rank = 2, .dims = {AB, AD}}, {.dtype = JT_I64, .rank = 1, .dims = {AB}}};
    if (jt_step_create(ctx, g, &sp, sh, 2, &s) != JT_OK) goto fail;
    double wr[AD * AK], br[AK], vw[AD * AK] = {0}, vb[AK] = {0};
    for (int i = 0; i < AD * AK; i++) wr[i] = w0[i];
    for (int i = 0; i < AK; i++) br[i] = b0[i];
    const double lr = 0.1, mu = 0.9, wd = 0.01;
    double worst = 0;
    for (int it = 0; it < 2; it++) {
        float xb[AB][AD];
        int64_t yb[AB];
        for (int n = 0; n < AB; n++) {
            for (int j = 0; j < AD; j++) xb[n][j] = (float)(2 * urand() - 1);
            yb[n] = (int64_t)(urand() * AK) % AK;
        }
        double gw[AD * AK], gb[AK], lref, lgot;
        ce_grad(wr, br, xb, yb, gw, gb, &lref);
        /* torch.optim.SGD: d = g + wd w; v = d (first step) or mu v + d; w -= lr v */
        for (int i = 0; i < AD * AK; i++) {
            double d = gw[i] + wd * wr[i];
            vw[i] = it == 0 ? d : mu * vw[i] + d;
            wr[i] -= lr * vw[i];
        }
        for (int i = 0; i < AK; i++) {
            double d = gb[i] + wd * br[i];
            vb[i] = it == 0 ? d : mu * vb[i] + d;
            br[i] -= lr * vb[i];
        }
        sh[0].data = xb;
        sh[1].data = yb;
        if (jt_step_run(s, sh, lr, it + 1, &lgot, NULL) != JT_OK) goto fail;
        if (!close_to(lgot, lref, 1e-6, 1e-7)) {
            jt_test_fail(name, "step %d: loss %.9g, reference %.9g", it + 1, lgot, lref);
            goto done;
        }
        const float *wg = g->values[w].data, *bg = g->values[bb].data;
        for (int i = 0; i < AD * AK; i++) {
            if (!close_to(wg[i], wr[i], 1e-5, 1e-7)) {
                jt_test_fail(name, "step %d: fc.weight[%d] %.9g, reference %.9g", it + 1, i, (double)wg[i], wr[i]);
                goto done;
            }
            worst = fmax(worst, fabs(wg[i] - wr[i]));
        }
        for (int i = 0; i < AK; i++)
            if (!close_to(bg[i], br[i], 1e-5, 1e-7)) {
                jt_test_fail(name, "step %d: fc.bias[%d] %.9g, reference %.9g", it + 1, i, (double)bg[i], br[i]);
                goto done;
            }
    }
    jt_test_ok(name);
    jt_test_note("2 steps lr 0.1 momentum 0.9 wd 0.01: max |w - w_ref| = %.3g", worst);
    goto done;
fail:
    jt_test_fail(name, "%s", jt_ctx_error(ctx));
done:
    jt_step_free(s);
    jt_graph_free(g);
}

enum { NB = 4, NC = 2, NW = 3 };

static void test_step_bn(void) {
    const char *name = "target/step_bn_running_stats";
    jt_graph *g = NULL;
    jt_step *s = NULL;
    float gamma0[NC] = {1.2f, 0.7f}, beta0[NC] = {0.1f, -0.3f}, rm0[NC] = {0.25f, -0.5f}, rv0[NC] = {0.8f, 1.5f};
    float xb[NB * NC * NW], tb[NB * NC * NW];
    for (int i = 0; i < NB * NC * NW; i++) {
        xb[i] = (float)(3 * urand() - 1);
        tb[i] = (float)(2 * urand() - 1);
    }
    if (jt_graph_create(ctx, "step-bn", &g) != JT_OK) goto fail;
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    const int64_t xd[4] = {NB, NC, 1, NW}, cd = NC;
    int32_t x = jt_gb_input(&b, "x", JT_F32, 4, xd);
    int32_t t = jt_gb_input(&b, "t", JT_F32, 4, xd);
    int32_t ga = jt_gb_param(&b, "bn.weight", JT_F32, 1, &cd, gamma0);
    int32_t be = jt_gb_param(&b, "bn.bias", JT_F32, 1, &cd, beta0);
    int32_t rm = jt_gb_param(&b, "bn.running_mean", JT_F32, 1, &cd, rm0);
    int32_t rv = jt_gb_param(&b, "bn.running_var", JT_F32, 1, &cd, rv0);
    if (jt_gb_status(&b) != JT_OK) goto fail;
    g->values[rm].flags |= JT_VALUE_STATE;
    g->values[rv].flags |= JT_VALUE_STATE;
    jt_gb_attr_float(&b, "epsilon", 1e-5);
    jt_gb_attr_float(&b, "momentum", 0.9);
    jt_gb_attr_int(&b, "training_mode", 1);
    int32_t outs[3];
    jt_gb_node(&b, "BatchNormalization", "", "bn", (const int32_t[]){x, ga, be, rm, rv}, 5, outs, 3);
    int32_t prod = jt_gb_op(&b, "Mul", "", "prod", (const int32_t[]){outs[0], t}, 2);
    int32_t loss = jt_loss_mean(&b, prod);
    if (jt_gb_status(&b) != JT_OK) goto fail;
    jt_step_spec sp;
    memset(&sp, 0, sizeof sp);
    jt_sgd_config_default(&sp.sgd);
    sp.loss = loss;
    int32_t dst[2] = {rm, rv}, src[2] = {outs[1], outs[2]};
    sp.update_dst = dst;
    sp.update_src = src;
    sp.n_updates = 2;
    jt_tensor sh[2] = {{.dtype = JT_F32, .rank = 4, .dims = {NB, NC, 1, NW}, .data = xb},
                       {.dtype = JT_F32, .rank = 4, .dims = {NB, NC, 1, NW}, .data = tb}};
    if (jt_step_create(ctx, g, &sp, sh, 2, &s) != JT_OK) goto fail;
    const double lr = 0.5;
    if (jt_step_run(s, sh, lr, 1, NULL, NULL) != JT_OK) goto fail;
    const double M = NB * NW, numel = NB * NC * NW;
    for (int c = 0; c < NC; c++) {
        double mean = 0, var = 0, dg = 0, db = 0;
        for (int n = 0; n < NB; n++)
            for (int k = 0; k < NW; k++) mean += xb[(n * NC + c) * NW + k] / M;
        for (int n = 0; n < NB; n++)
            for (int k = 0; k < NW; k++) var += pow(xb[(n * NC + c) * NW + k] - mean, 2);
        for (int n = 0; n < NB; n++)
            for (int k = 0; k < NW; k++) {
                int i = (n * NC + c) * NW + k;
                double xhat = (xb[i] - mean) / sqrt(var / M + 1e-5);
                dg += tb[i] * xhat / numel;
                db += tb[i] / numel;
            }
        double want[4] = {0.9 * rm0[c] + 0.1 * mean, 0.9 * rv0[c] + 0.1 * var / M, gamma0[c] - lr * dg,
                          beta0[c] - lr * db};
        const float *got[4] = {g->values[rm].data, g->values[rv].data, g->values[ga].data, g->values[be].data};
        static const char *const what[4] = {"running_mean", "running_var (biased batch variance, docs/decisions.md 8)", "weight", "bias"};
        for (int q = 0; q < 4; q++)
            if (!close_to(got[q][c], want[q], 1e-5, 1e-6)) {
                jt_test_fail(name, "bn.%s[%d] = %.8g after the step, reference %.8g", what[q], c, (double)got[q][c],
                             want[q]);
                goto done;
            }
    }
    jt_test_ok(name);
    goto done;
fail:
    jt_test_fail(name, "%s", jt_ctx_error(ctx));
done:
    jt_step_free(s);
    jt_graph_free(g);
}

/* ---------------------------------------------------------------- (b) recipes */

enum { B = 6, C = 2, H = 2, W = 2, D = C * H * W, K = 3 };

typedef struct lin_model {
    float gamma[C], beta[C], rm[C], rv[C];
    float w[D * K], bias[K];
} lin_model;

/* BN (train or eval mode) -> Flatten -> Gemm: a model whose every quantity is easy in float64. */
static jt_status lin_fn(jt_gb *b, void *user, int train_bn, int32_t x, jt_model_info *info) {
    lin_model *m = user;
    memset(info, 0, sizeof *info);
    info->tap = -1;
    const int64_t cd = C;
    int32_t ga = jt_gb_param(b, "bn.weight", JT_F32, 1, &cd, m->gamma);
    int32_t be = jt_gb_param(b, "bn.bias", JT_F32, 1, &cd, m->beta);
    int32_t rm = jt_gb_param(b, "bn.running_mean", JT_F32, 1, &cd, m->rm);
    int32_t rv = jt_gb_param(b, "bn.running_var", JT_F32, 1, &cd, m->rv);
    JT_TRY(jt_gb_status(b));
    b->g->values[rm].flags |= JT_VALUE_STATE;
    b->g->values[rv].flags |= JT_VALUE_STATE;
    jt_gb_attr_float(b, "epsilon", 1e-5);
    jt_gb_attr_float(b, "momentum", 0.9);
    int32_t ins[5] = {x, ga, be, rm, rv}, h;
    if (train_bn) {
        jt_gb_attr_int(b, "training_mode", 1);
        int32_t outs[3];
        if (jt_gb_node(b, "BatchNormalization", "", "bn", ins, 5, outs, 3) != 0) return jt_gb_status(b);
        h = outs[0];
        info->n_state = 2;
        info->state_dst = jt_graph_alloc(b->g, 2 * sizeof(int32_t));
        info->state_src = jt_graph_alloc(b->g, 2 * sizeof(int32_t));
        info->state_dst[0] = rm, info->state_dst[1] = rv;
        info->state_src[0] = outs[1], info->state_src[1] = outs[2];
    } else {
        h = jt_gb_op(b, "BatchNormalization", "", "bn", ins, 5);
    }
    jt_gb_attr_int(b, "axis", 1);
    int32_t f = jt_gb_op(b, "Flatten", "", "flat", &h, 1);
    int32_t w = jt_gb_param(b, "fc.weight", JT_F32, 2, (const int64_t[]){D, K}, m->w);
    int32_t bb = jt_gb_param(b, "fc.bias", JT_F32, 1, (const int64_t[]){K}, m->bias);
    info->output = jt_gb_op(b, "Gemm", "", "fc", (const int32_t[]){f, w, bb}, 3);
    return jt_gb_status(b);
}

/* BN statistics of a batch: mean and biased / unbiased variance per channel */
static void bn_stats(const float *x, double *mean, double *var_b, double *var_u) {
    const double M = B * H * W;
    for (int c = 0; c < C; c++) {
        double m = 0, v = 0;
        for (int n = 0; n < B; n++)
            for (int k = 0; k < H * W; k++) m += x[(n * C + c) * H * W + k] / M;
        for (int n = 0; n < B; n++)
            for (int k = 0; k < H * W; k++) v += pow(x[(n * C + c) * H * W + k] - m, 2);
        mean[c] = m;
        var_b[c] = v / M;
        var_u[c] = v / (M - 1);
    }
}

/* logits of the model; train: batch statistics, else running statistics rm/rv */
static void ref_logits(const lin_model *m, const float *x, int train, const double *rm, const double *rv, double *z) {
    double mean[C], vb[C], vu[C];
    if (train) bn_stats(x, mean, vb, vu);
    for (int n = 0; n < B; n++)
        for (int k = 0; k < K; k++) {
            double s = m->bias[k];
            for (int c = 0; c < C; c++) {
                double mu = train ? mean[c] : rm[c], var = train ? vb[c] : rv[c];
                for (int p = 0; p < H * W; p++) {
                    int j = c * H * W + p;
                    double h = (x[n * D + j] - mu) / sqrt(var + 1e-5) * m->gamma[c] + m->beta[c];
                    s += h * m->w[j * K + k];
                }
            }
            z[n * K + k] = s;
        }
}

static void softmax(const double *z, double *p) {
    double mx = z[0], s = 0;
    for (int k = 1; k < K; k++) mx = fmax(mx, z[k]);
    for (int k = 0; k < K; k++) s += exp(z[k] - mx);
    for (int k = 0; k < K; k++) p[k] = exp(z[k] - mx) / s;
}

static double ce(const double *z, int64_t y) {
    double p[K];
    softmax(z, p);
    return -log(p[y]);
}

static int argmax(const double *z) {
    int b = 0;
    for (int k = 1; k < K; k++)
        if (z[k] > z[b]) b = k;
    return b;
}

/* KL(p_nat || p_adv) with log-softmax on both sides (TRADES) */
static double kl(const double *zn, const double *za) {
    double pn[K], pa[K], s = 0;
    softmax(zn, pn);
    softmax(za, pa);
    for (int k = 0; k < K; k++) s += pn[k] * (log(pn[k]) - log(pa[k]));
    return s;
}

/* The inner maximisation in float64 (eval mode): same start, sign steps, projection. */
static void ref_pgd(const lin_model *m, const jt_target_spec *sp, const float *x, const int64_t *y, const int64_t *idx,
                    int64_t epoch, double *xa) {
    double rm[C], rv[C], zn[B * K];
    for (int c = 0; c < C; c++) rm[c] = m->rm[c], rv[c] = m->rv[c];
    ref_logits(m, x, 0, rm, rv, zn);
    float noise[D], xs[B * D];
    for (int n = 0; n < B; n++) {
        jt_target_start_noise(sp->seed, epoch, idx[n], D, noise);
        for (int j = 0; j < D; j++) xs[n * D + j] = x[n * D + j] + (float)sp->start_sigma * noise[j];
    }
    for (int i = 0; i < B * D; i++) xa[i] = xs[i];
    for (int it = 0; it < sp->pgd_steps; it++) {
        float xf[B * D];
        for (int i = 0; i < B * D; i++) xf[i] = (float)xa[i];
        double za[B * K];
        ref_logits(m, xf, 0, rm, rv, za);
        for (int n = 0; n < B; n++) {
            double pa[K], pn[K], dz[K];
            softmax(za + n * K, pa);
            softmax(zn + n * K, pn);
            for (int k = 0; k < K; k++) dz[k] = sp->recipe == JT_RECIPE_TRADES ? pa[k] - pn[k] : pa[k] - (k == y[n]);
            for (int j = 0; j < D; j++) {
                int c = j / (H * W);
                double g = 0;
                for (int k = 0; k < K; k++) g += m->w[j * K + k] * dz[k];
                g *= m->gamma[c] / sqrt(rv[c] + 1e-5);
                double v = xa[n * D + j] + sp->pgd_step * (g > 0 ? 1 : (g < 0 ? -1 : 0));
                double lo = x[n * D + j] - sp->eps, hi = x[n * D + j] + sp->eps;
                v = v < lo ? lo : (v > hi ? hi : v);
                xa[n * D + j] = v < 0 ? 0 : (v > 1 ? 1 : v);
            }
        }
    }
}

static void test_recipe(jt_recipe r) {
    char name[64];
    jt_test_fmt(name, sizeof name, "target/recipe_%s", jt_recipe_name(r));
    lin_model m;
    for (int c = 0; c < C; c++) {
        m.gamma[c] = (float)(0.8 + 0.4 * urand());
        m.beta[c] = (float)(0.2 * urand() - 0.1);
        m.rm[c] = (float)(0.2 * urand() + 0.3);
        m.rv[c] = (float)(0.05 + 0.1 * urand());
    }
    for (int i = 0; i < D * K; i++) m.w[i] = (float)(2 * urand() - 1);
    for (int k = 0; k < K; k++) m.bias[k] = (float)(0.2 * urand() - 0.1);
    float x[B * D], xadv[B * D];
    int64_t y[B], idx[B];
    for (int i = 0; i < B * D; i++) x[i] = xadv[i] = (float)urand();
    for (int n = 0; n < B; n++) {
        y[n] = n % K;
        idx[n] = 1000 + 7 * n;
    }
    jt_target_spec sp;
    jt_target_spec_default(&sp);
    sp.recipe = r;
    sp.batch = B;
    sp.c = C, sp.h = H, sp.w = W;
    sp.model_fn = lin_fn;
    sp.model_user = &m;
    sp.beta = 6.0;
    sp.eps = 0.1;
    sp.pgd_step = 0.02;
    sp.pgd_steps = 3;
    sp.seed = 42;
    jt_target_trainer *t = NULL;
    const int64_t epoch = 2;
    if (jt_target_trainer_create(ctx, &sp, &t) != JT_OK) goto fail;
    /* (1) the inner maximisation */
    double xref[B * D], worst = 0;
    if (r != JT_RECIPE_NATURAL) {
        if (jt_target_trainer_attack(t, x, y, idx, epoch, xadv) != JT_OK) goto fail;
        ref_pgd(&m, &sp, x, y, idx, epoch, xref);
        for (int i = 0; i < B * D; i++) {
            worst = fmax(worst, fabs(xadv[i] - xref[i]));
            if (fabs(xadv[i] - xref[i]) > 2e-6 || fabs(xadv[i] - x[i]) > sp.eps + 1e-6 || xadv[i] < 0 || xadv[i] > 1) {
                jt_test_fail(name, "inner PGD: x'[%d] = %.9g, float64 reference %.9g (x %.9g)", i, (double)xadv[i],
                             xref[i], (double)x[i]);
                goto done;
            }
        }
    }
    /* (2) the outer loss on (x, x') with training-mode BN, and the accuracies */
    double zn[B * K], za[B * K], ze[B * K], rm[C], rv[C];
    for (int c = 0; c < C; c++) rm[c] = m.rm[c], rv[c] = m.rv[c];
    ref_logits(&m, x, 1, NULL, NULL, zn);
    ref_logits(&m, xadv, 1, NULL, NULL, za);
    ref_logits(&m, x, 0, rm, rv, ze);
    double loss = 0, nat = NAN;
    int acc_n = 0, acc_a = 0, acc_e = 0;
    for (int n = 0; n < B; n++) {
        const double *a = zn + n * K, *v = za + n * K;
        double pn[K], pa[K];
        softmax(a, pn);
        softmax(v, pa);
        acc_n += argmax(a) == y[n];
        acc_a += argmax(v) == y[n];
        acc_e += argmax(ze + n * K) == y[n];
        switch (r) {
        case JT_RECIPE_NATURAL: loss += ce(a, y[n]) / B; break;
        case JT_RECIPE_AT: loss += ce(v, y[n]) / B; break;
        case JT_RECIPE_TRADES:
            loss += (ce(a, y[n]) + sp.beta * kl(a, v)) / B;
            nat = (isnan(nat) ? 0 : nat) + ce(a, y[n]) / B;
            break;
        case JT_RECIPE_MART: {
            int ks = -1;
            for (int k = 0; k < K; k++)
                if (k != y[n] && (ks < 0 || pa[k] > pa[ks])) ks = k;
            double bce = ce(v, y[n]) - log(1.0001 - pa[ks] + 1e-12), klm = 0;
            for (int k = 0; k < K; k++) klm += pn[k] * (log(pn[k]) - log(pa[k] + 1e-12));
            loss += (bce + sp.beta * klm * (1.0000001 - pn[y[n]])) / B;
            nat = (isnan(nat) ? 0 : nat) + bce / B;
            break;
        }
        case JT_RECIPE_MMA: {
            int correct = argmax(ze + n * K) == y[n];
            loss += (correct ? ce(v, y[n]) : ce(a, y[n])) / B;
            break;
        }
        default: break;
        }
    }
    jt_target_step_out o;
    if (jt_target_trainer_step(t, x, y, idx, epoch, 0.05, 1, &o) != JT_OK) goto fail;
    if (!close_to(o.loss, loss, 2e-5, 1e-6)) {
        jt_test_fail(name, "outer loss %.9g, float64 reference %.9g", o.loss, loss);
        goto done;
    }
    if (!isnan(nat) && !close_to(o.nat, nat, 2e-5, 1e-6)) {
        jt_test_fail(name, "natural term %.9g, float64 reference %.9g", o.nat, nat);
        goto done;
    }
    double want_acc = r == JT_RECIPE_AT ? (double)acc_e / B : (double)acc_n / B;
    if (o.acc != want_acc || (r != JT_RECIPE_NATURAL && o.adv_acc != (double)acc_a / B)) {
        jt_test_fail(name, "batch accuracies %.4f / %.4f, reference %.4f / %.4f", o.acc, o.adv_acc, want_acc,
                     (double)acc_a / B);
        goto done;
    }
    /* (3) running statistics: one pass (natural on x, Standard on x') or x then x' chained */
    double mean[C], vb[C], vu[C], mean2[C], vb2[C], vu2[C];
    bn_stats(r == JT_RECIPE_AT ? xadv : x, mean, vb, vu);
    bn_stats(xadv, mean2, vb2, vu2);
    jt_graph *tg = jt_target_trainer_train_graph(t);
    const float *grm = tg->values[jt_graph_find_value(tg, "bn.running_mean")].data;
    const float *grv = tg->values[jt_graph_find_value(tg, "bn.running_var")].data;
    for (int c = 0; c < C; c++) {
        /* the running variance takes the biased batch variance (ONNX; docs/decisions.md item 8) */
        double em = 0.9 * m.rm[c] + 0.1 * mean[c], ev = 0.9 * m.rv[c] + 0.1 * vb[c];
        if (r != JT_RECIPE_NATURAL && r != JT_RECIPE_AT) {
            em = 0.9 * em + 0.1 * mean2[c];
            ev = 0.9 * ev + 0.1 * vb2[c];
        }
        if (!close_to(grm[c], em, 1e-5, 1e-6) || !close_to(grv[c], ev, 1e-5, 1e-6)) {
            jt_test_fail(name, "running stats of channel %d: %.8g / %.8g, reference %.8g / %.8g", c, (double)grm[c],
                         (double)grv[c], em, ev);
            goto done;
        }
    }
    /* (4) a checkpoint holds the shared parameters once (no copies of the x' pass) */
    int n_adv = 0;
    for (int32_t v = 0; v < tg->n_values; v++)
        if ((tg->values[v].flags & JT_VALUE_PARAM) && !(tg->values[v].flags & JT_VALUE_CONST) &&
            strncmp(tg->values[v].name, "adv/", 4) == 0)
            n_adv++;
    if (n_adv) {
        jt_test_fail(name, "%d parameters of the second pass are still live", n_adv);
        goto done;
    }
    jt_test_ok(name);
    jt_test_note("loss %.7f (ref %.7f), max |x' - x'_ref| %.2g", o.loss, loss, worst);
    goto done;
fail:
    jt_test_fail(name, "%s", jt_ctx_error(ctx));
done:
    jt_target_trainer_free(t);
}

static void test_noise_and_update(void) {
    const char *name = "target/start_noise";
    enum { N = 200000 };
    float *a = malloc(sizeof(float) * N), *b = malloc(sizeof(float) * N);
    jt_target_start_noise(5, 1, 123, N, a);
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) s += a[i], s2 += (double)a[i] * a[i];
    double mean = s / N, sd = sqrt(s2 / N - mean * mean);
    int ok = fabs(mean) < 0.01 && fabs(sd - 1) < 0.01;
    jt_target_start_noise(5, 1, 123, N, b);
    int same = memcmp(a, b, sizeof(float) * N) == 0;
    jt_target_start_noise(5, 1, 123, 7, b); /* a prefix draws the same values */
    int prefix = memcmp(a, b, sizeof(float) * 7) == 0;
    jt_target_start_noise(5, 2, 123, 64, b);
    int diff_epoch = memcmp(a, b, sizeof(float) * 64) != 0;
    jt_target_start_noise(5, 1, 124, 64, b);
    int diff_index = memcmp(a, b, sizeof(float) * 64) != 0;
    jt_target_start_noise(6, 1, 123, 64, b);
    int diff_seed = memcmp(a, b, sizeof(float) * 64) != 0;
    if (!ok || !same || !prefix || !diff_epoch || !diff_index || !diff_seed)
        jt_test_fail(name, "mean %.4f sd %.4f (want 0, 1); deterministic %d, prefix %d, keyed by epoch %d index %d seed %d",
                     mean, sd, same, prefix, diff_epoch, diff_index, diff_seed);
    else {
        jt_test_ok(name);
        jt_test_note("%d draws: mean %.5f, sd %.5f", N, mean, sd);
    }
    free(a);
    free(b);

    name = "target/pgd_update";
    float x[6] = {0.0f, 0.5f, 1.0f, 0.3f, 0.95f, 0.05f};
    float xa[6] = {0.05f, 0.55f, 0.98f, 0.3f, 0.95f, 0.05f};
    float g[6] = {-1.0f, 2.0f, 3.0f, 0.0f, 1.0f, -1.0f};
    /* -0.07 -> [-0.1, 0.1] -> 0; 0.62 -> hi 0.6; 1.05 -> 1; sign(0) = 0; 1.02 -> 1; -0.02 -> 0 */
    const float want[6] = {0.0f, 0.6f, 1.0f, 0.3f, 1.0f, 0.0f};
    jt_target_pgd_update(xa, x, g, 6, 0.07, 0.1);
    int bad = -1;
    for (int i = 0; i < 6; i++)
        if (fabsf(xa[i] - want[i]) > 1e-6f) bad = i;
    if (bad >= 0) jt_test_fail(name, "element %d: %.7g, expected %.7g", bad, (double)xa[bad], (double)want[bad]);
    else jt_test_ok(name);
}

static void test_names(void) {
    const char *name = "target/recipe_names";
    int ok = 1;
    for (int r = 0; r < JT_RECIPE_COUNT; r++) ok &= jt_recipe_parse(jt_recipe_name((jt_recipe)r)) == r;
    ok &= jt_recipe_parse("madry") == JT_RECIPE_AT && jt_recipe_parse("standard") == JT_RECIPE_AT &&
          jt_recipe_parse("mma-lite") == JT_RECIPE_MMA && jt_recipe_parse("pgd") == -1 && jt_recipe_parse(NULL) == -1;
    char nm[64];
    jt_model_config mc;
    ok &= jt_model_spec_parse(ctx, "resnet10-fm:base=8,blocks=1,1,1,1,seed=3", nm, sizeof nm, &mc) == JT_OK &&
          strcmp(nm, "resnet10-fm") == 0 && mc.base_width == 8 && mc.blocks[3] == 1 && mc.seed == 3;
    ok &= jt_model_spec_parse(ctx, "resnet10-fm:wat=1", nm, sizeof nm, &mc) != JT_OK && strstr(jt_ctx_error(ctx), "wat");
    if (ok) jt_test_ok(name);
    else jt_test_fail(name, "recipe or model-spec parsing is wrong (%s)", jt_ctx_error(ctx));
}

int main(void) {
    if (jt_ctx_create(2, &ctx) != JT_OK) return 1;
    test_step_sgd();
    test_step_bn();
    test_noise_and_update();
    test_names();
    for (int r = 0; r < JT_RECIPE_COUNT; r++) test_recipe((jt_recipe)r);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
