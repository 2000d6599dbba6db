/* Loss pieces as graph fragments; see include/jatp/losses.h and models.md section 4.
 * Everything is composed from ops with VJP rules (SoftmaxCrossEntropyLoss, Softmax, LogSoftmax,
 * Reduce*, Flatten and element-wise ops); jatp.grad.OneHotLike and ConstLike carry no gradient. */
#include "jatp/losses.h"

#include <string.h>

#include "op.h"

/* ---- small builders ---- */

static int32_t op1(jt_gb *b, const char *type, int32_t x) { return jt_gb_op(b, type, "", NULL, (int32_t[]){x}, 1); }
static int32_t op2(jt_gb *b, const char *type, int32_t x, int32_t y) {
    return jt_gb_op(b, type, "", NULL, (int32_t[]){x, y}, 2);
}
static int32_t add(jt_gb *b, int32_t x, int32_t y) { return op2(b, "Add", x, y); }
static int32_t sub(jt_gb *b, int32_t x, int32_t y) { return op2(b, "Sub", x, y); }
static int32_t mul(jt_gb *b, int32_t x, int32_t y) { return op2(b, "Mul", x, y); }

int32_t jt_loss_const_like(jt_gb *b, double v, int32_t like) {
    int32_t c = jt_gb_const(b, NULL, JT_F64, 0, NULL, &v);
    return jt_gb_op(b, "ConstLike", JT_DOMAIN_GRAD, NULL, (int32_t[]){c, like}, 2);
}

static int32_t scale(jt_gb *b, int32_t x, double s) {
    if (s == 1.0) return x;
    return mul(b, x, jt_loss_const_like(b, s, x));
}

/* Reduce over `axes` (n = 0: all axes), as an attribute or, from ReduceSum-13 / other Reduce*-18 on,
 * as an input. */
static int32_t reduce(jt_gb *b, const char *type, int32_t x, const int64_t *axes, int n, int keepdims) {
    int as_input = b->opset >= 18 || (b->opset >= 13 && strcmp(type, "ReduceSum") == 0);
    jt_gb_attr_int(b, "keepdims", keepdims);
    if (n && !as_input) jt_gb_attr_ints(b, "axes", axes, n);
    if (n && as_input) {
        int32_t ax = jt_gb_const_i64s(b, axes, n);
        return jt_gb_op(b, type, "", NULL, (int32_t[]){x, ax}, 2);
    }
    return jt_gb_op(b, type, "", NULL, (int32_t[]){x}, 1);
}

static int32_t reduce1(jt_gb *b, const char *type, int32_t x) {
    static const int64_t ax1[1] = {1};
    return reduce(b, type, x, ax1, 1, 0);
}

int32_t jt_loss_mean(jt_gb *b, int32_t x) { return reduce(b, "ReduceMean", x, NULL, 0, 0); }

static int32_t flatten(jt_gb *b, int32_t x) {
    jt_gb_attr_int(b, "axis", 1);
    return op1(b, "Flatten", x);
}

static int32_t softmax1(jt_gb *b, const char *type, int32_t z) {
    jt_gb_attr_int(b, "axis", 1);
    return op1(b, type, z);
}

static int32_t fail(jt_gb *b, jt_status st, const char *msg) {
    if (b->status == JT_OK) b->status = jt_fail(b->ctx, st, "loss: %s", msg);
    return -1;
}

/* ---- classification ---- */

static int32_t sce(jt_gb *b, int32_t logits, int32_t labels, const char *reduction) {
    jt_gb_attr_string(b, "reduction", reduction);
    return jt_gb_op(b, "SoftmaxCrossEntropyLoss", "", NULL, (int32_t[]){logits, labels}, 2);
}

int32_t jt_loss_ce_per_example(jt_gb *b, int32_t logits, int32_t labels) { return sce(b, logits, labels, "none"); }
int32_t jt_loss_ce(jt_gb *b, int32_t logits, int32_t labels) { return sce(b, logits, labels, "mean"); }

static int32_t one_hot(jt_gb *b, int32_t labels, int32_t like) {
    return jt_gb_op(b, "OneHotLike", JT_DOMAIN_GRAD, NULL, (int32_t[]){labels, like}, 2);
}

static int32_t prob_true(jt_gb *b, int32_t p, int32_t labels) {
    return reduce1(b, "ReduceSum", mul(b, p, one_hot(b, labels, p)));
}

int32_t jt_loss_prob_true(jt_gb *b, int32_t logits, int32_t labels) {
    return prob_true(b, softmax1(b, "Softmax", logits), labels);
}

/* -log(1.0001 - max_{k != y} p_k + 1e-12), per example, from probabilities p */
static int32_t boost_term(jt_gb *b, int32_t p, int32_t labels) {
    int32_t keep = sub(b, jt_loss_const_like(b, 1.0, p), one_hot(b, labels, p)); /* 0 at y, 1 elsewhere */
    int32_t top = reduce1(b, "ReduceMax", mul(b, p, keep));                      /* p_k*: p_y masked to 0 */
    int32_t arg = add(b, sub(b, jt_loss_const_like(b, 1.0001, p), top), jt_loss_const_like(b, 1e-12, p));
    return op1(b, "Neg", op1(b, "Log", arg));
}

int32_t jt_loss_bce_mart_per_example(jt_gb *b, int32_t logits, int32_t labels) {
    int32_t ce = jt_loss_ce_per_example(b, logits, labels);
    return add(b, ce, boost_term(b, softmax1(b, "Softmax", logits), labels));
}

int32_t jt_loss_bce_mart(jt_gb *b, int32_t logits, int32_t labels) {
    return jt_loss_mean(b, jt_loss_bce_mart_per_example(b, logits, labels));
}

int32_t jt_loss_kl_per_example(jt_gb *b, int32_t logits_nat, int32_t logits_adv) {
    int32_t p = softmax1(b, "Softmax", logits_nat);
    int32_t d = sub(b, softmax1(b, "LogSoftmax", logits_nat), softmax1(b, "LogSoftmax", logits_adv));
    return reduce1(b, "ReduceSum", mul(b, p, d));
}

int32_t jt_loss_kl(jt_gb *b, int32_t logits_nat, int32_t logits_adv) {
    return jt_loss_mean(b, jt_loss_kl_per_example(b, logits_nat, logits_adv));
}

int32_t jt_loss_trades(jt_gb *b, int32_t logits_nat, int32_t logits_adv, int32_t labels, double beta) {
    int32_t ce = jt_loss_ce(b, logits_nat, labels);
    if (beta == 0.0) return ce;
    return add(b, ce, scale(b, jt_loss_kl(b, logits_nat, logits_adv), beta));
}

int32_t jt_loss_mart(jt_gb *b, int32_t logits_nat, int32_t logits_adv, int32_t labels, double beta) {
    int32_t bce = jt_loss_bce_mart(b, logits_adv, labels);
    if (beta == 0.0) return bce;
    int32_t q = softmax1(b, "Softmax", logits_nat), p = softmax1(b, "Softmax", logits_adv);
    int32_t logp = op1(b, "Log", add(b, p, jt_loss_const_like(b, 1e-12, p)));
    int32_t kl = reduce1(b, "ReduceSum", mul(b, q, sub(b, softmax1(b, "LogSoftmax", logits_nat), logp)));
    int32_t wt = sub(b, jt_loss_const_like(b, 1.0000001, q), prob_true(b, q, labels));
    return add(b, bce, scale(b, jt_loss_mean(b, mul(b, kl, wt)), beta));
}

/* ---- regression and feature distances ---- */

int32_t jt_loss_mse(jt_gb *b, int32_t a, int32_t target) {
    int32_t d = sub(b, a, target);
    return jt_loss_mean(b, mul(b, d, d));
}

int32_t jt_loss_mae(jt_gb *b, int32_t a, int32_t target) { return jt_loss_mean(b, op1(b, "Abs", sub(b, a, target))); }

int32_t jt_loss_l2_per_example(jt_gb *b, int32_t a, int32_t target) {
    int32_t d = flatten(b, sub(b, a, target));
    return op1(b, "Sqrt", reduce1(b, "ReduceSum", mul(b, d, d)));
}

int32_t jt_loss_l1_per_example(jt_gb *b, int32_t a, int32_t target) {
    return reduce1(b, "ReduceSum", op1(b, "Abs", flatten(b, sub(b, a, target))));
}

int32_t jt_feature_dist(jt_gb *b, int32_t f1, int32_t f2, jt_dist dist) {
    if (dist == JT_DIST_MSE) {
        int32_t d = flatten(b, sub(b, f1, f2));
        return reduce1(b, "ReduceMean", mul(b, d, d));
    }
    if (dist != JT_DIST_COS) return fail(b, JT_ERR_ARG, "jt_feature_dist: unknown distance");
    int32_t u = flatten(b, f1), v = flatten(b, f2);
    int32_t dot = reduce1(b, "ReduceSum", mul(b, u, v));
    int32_t nu = reduce1(b, "ReduceSum", mul(b, u, u)), nv = reduce1(b, "ReduceSum", mul(b, v, v));
    int32_t den = op1(b, "Sqrt", add(b, mul(b, nu, nv), jt_loss_const_like(b, 1e-16, u)));
    return sub(b, jt_loss_const_like(b, 1.0, dot), op2(b, "Div", dot, den));
}

/* ---- JATP ---- */

int32_t jt_loss_jatp(jt_gb *b, int32_t logits_adv, int32_t logits_nat, int32_t tap_adv, int32_t tap_nat,
                     int32_t p_adv, int32_t x_nat, int32_t labels, double alpha, double beta,
                     const jt_jatp_options *opt, jt_jatp_parts *parts) {
    static const jt_jatp_options paper = {0};
    if (!opt) opt = &paper;
    if (parts) *parts = (jt_jatp_parts){-1, -1, -1, -1};
    if (opt->no_bce && alpha == 0.0 && beta == 0.0)
        return fail(b, JT_ERR_ARG, "jt_loss_jatp: every term is disabled (no BCE, alpha = 0, beta = 0)");
    int32_t bce_i = opt->bce_as_ce ? jt_loss_ce_per_example(b, logits_adv, labels)
                                   : jt_loss_bce_mart_per_example(b, logits_adv, labels);
    int32_t bce = jt_loss_mean(b, bce_i);
    int32_t fsm_i = jt_feature_dist(b, tap_adv, tap_nat, JT_DIST_MSE);
    int32_t w_i = -1;
    if (!opt->w_one)
        w_i = sub(b, jt_loss_const_like(b, 1.0, fsm_i), jt_loss_prob_true(b, logits_nat, labels));
    int32_t pix = opt->pix_l2norm ? jt_loss_mean(b, jt_loss_l2_per_example(b, p_adv, x_nat)) : jt_loss_mse(b, p_adv, x_nat);
    int32_t total = opt->no_bce ? -1 : bce;
    if (alpha != 0.0) {
        int32_t t = scale(b, jt_loss_mean(b, w_i >= 0 ? mul(b, fsm_i, w_i) : fsm_i), alpha);
        total = total >= 0 ? add(b, total, t) : t;
    }
    if (beta != 0.0) {
        int32_t t = scale(b, pix, beta);
        total = total >= 0 ? add(b, total, t) : t;
    }
    if (parts && jt_gb_status(b) == JT_OK) {
        parts->bce = bce;
        parts->fsm = jt_loss_mean(b, fsm_i);
        parts->w = w_i >= 0 ? jt_loss_mean(b, w_i) : -1;
        parts->pix = pix;
    }
    return jt_gb_status(b) == JT_OK ? total : -1;
}

/* ---- GAN ---- */

int32_t jt_loss_bce_logits(jt_gb *b, int32_t z, double target) {
    /* max(z, 0) - z*t + log(1 + exp(-|z|)) */
    int32_t sp = op1(b, "Log", add(b, jt_loss_const_like(b, 1.0, z), op1(b, "Exp", op1(b, "Neg", op1(b, "Abs", z)))));
    int32_t e = add(b, op1(b, "Relu", z), sp);
    if (target != 0.0) e = sub(b, e, scale(b, z, target));
    return jt_loss_mean(b, e);
}

static int32_t ragan(jt_gb *b, int32_t r, int32_t f, double t_real, double t_fake) {
    int32_t dr = sub(b, r, jt_loss_mean(b, f)), df = sub(b, f, jt_loss_mean(b, r));
    return scale(b, add(b, jt_loss_bce_logits(b, dr, t_real), jt_loss_bce_logits(b, df, t_fake)), 0.5);
}

int32_t jt_loss_ragan_d(jt_gb *b, int32_t real_logits, int32_t fake_logits) {
    return ragan(b, real_logits, fake_logits, 1.0, 0.0);
}

int32_t jt_loss_ragan_g(jt_gb *b, int32_t real_logits, int32_t fake_logits) {
    return ragan(b, real_logits, fake_logits, 0.0, 1.0);
}

int32_t jt_loss_apegan_d(jt_gb *b, int32_t real_logits, int32_t fake_logits) {
    return add(b, jt_loss_bce_logits(b, real_logits, 1.0), jt_loss_bce_logits(b, fake_logits, 0.0));
}

int32_t jt_loss_apegan_g(jt_gb *b, int32_t g_out, int32_t x_nat, int32_t fake_logits) {
    return add(b, scale(b, jt_loss_mse(b, g_out, x_nat), 0.7), scale(b, jt_loss_bce_logits(b, fake_logits, 1.0), 0.3));
}
