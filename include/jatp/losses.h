/* Loss pieces as graph fragments (docs: models.md section 4).
 *
 * Each function appends nodes through a builder and returns the value id of its result, or -1 once the
 * builder has failed (sticky status: check jt_gb_status() once at the end). Every piece is composed
 * of ops with VJP rules, so jt_build_backward differentiates it. Dtypes follow the inputs: the same
 * graph works in float32 and float64 (constants are made with jt_loss_const_like and take the dtype of
 * a float value at plan time). Logits are [N, K], labels int64 [N]; features and images are [N, ...].
 * "Scalar" results are rank 0 and are the mean over the batch unless stated; "per example" results
 * are [N]. */
#ifndef JATP_LOSSES_H
#define JATP_LOSSES_H

#include <stdbool.h>

#include "jatp/builder.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A scalar constant v (held exactly in float64) converted to like's float dtype at plan time. */
int32_t jt_loss_const_like(jt_gb *b, double v, int32_t like);
/* Mean over all elements of x (scalar). */
int32_t jt_loss_mean(jt_gb *b, int32_t x);

/* ---- classification ---- */

/* CE(z, y) = logsumexp(z) - z_y per example, and its batch mean. */
int32_t jt_loss_ce_per_example(jt_gb *b, int32_t logits, int32_t labels);
int32_t jt_loss_ce(jt_gb *b, int32_t logits, int32_t labels);
/* p_y = softmax(z)_y per example (gradient flows through it). */
int32_t jt_loss_prob_true(jt_gb *b, int32_t logits, int32_t labels);
/* MART/JATP boosted CE: CE(z, y) - log(1.0001 - p_k* + 1e-12), k* = argmax_{k != y} p_k (the choice of
 * k* carries no gradient). Per example, and its batch mean. */
int32_t jt_loss_bce_mart_per_example(jt_gb *b, int32_t logits, int32_t labels);
int32_t jt_loss_bce_mart(jt_gb *b, int32_t logits, int32_t labels);
/* KL(p_nat || p_adv) = sum_k p_nat (log p_nat - log p_adv) per example (log-softmax on both sides), and
 * TRADES' batchmean (1/N) sum_i KL_i. Gradients flow through both logits. */
int32_t jt_loss_kl_per_example(jt_gb *b, int32_t logits_nat, int32_t logits_adv);
int32_t jt_loss_kl(jt_gb *b, int32_t logits_nat, int32_t logits_adv);
/* TRADES outer loss: CE(z_nat, y) + beta * KL batchmean. */
int32_t jt_loss_trades(jt_gb *b, int32_t logits_nat, int32_t logits_adv, int32_t labels, double beta);
/* MART: BCE(z_adv, y) + beta * (1/N) sum_i KL_i * (1.0000001 - p_y(z_nat)) with
 * KL_i = sum_k q_k (log q_k - log(p_k + 1e-12)), q = softmax(z_nat), p = softmax(z_adv). */
int32_t jt_loss_mart(jt_gb *b, int32_t logits_nat, int32_t logits_adv, int32_t labels, double beta);

/* ---- regression and feature distances ---- */

/* mean over all elements of (a - t)^2, resp. |a - t| (scalars). */
int32_t jt_loss_mse(jt_gb *b, int32_t a, int32_t target);
int32_t jt_loss_mae(jt_gb *b, int32_t a, int32_t target);
/* ||a_i - t_i||_2 and ||a_i - t_i||_1 per example ([N]). */
int32_t jt_loss_l2_per_example(jt_gb *b, int32_t a, int32_t target);
int32_t jt_loss_l1_per_example(jt_gb *b, int32_t a, int32_t target);

typedef enum jt_dist {
    JT_DIST_MSE = 0, /* mean over c,h,w of (f1 - f2)^2 */
    JT_DIST_COS = 1  /* 1 - cos(flatten f1, flatten f2) = 1 - <f1,f2> / sqrt(|f1|^2 |f2|^2 + 1e-16) */
} jt_dist;
/* Per-example feature distance ([N]). */
int32_t jt_feature_dist(jt_gb *b, int32_t f1, int32_t f2, jt_dist dist);

/* ---- JATP (Eq. 6-10) ---- */

typedef struct jt_jatp_options {
    bool no_bce;      /* drop the BCE term (ablation "BCE removal") */
    bool bce_as_ce;   /* BCE -> plain CE (Eq. 7 second term dropped) */
    bool w_one;       /* FSM weight w = 1 instead of 1 - p_y(T(P(x))) */
    bool pix_l2norm;  /* L_pix = mean_i ||P(x~_i) - x_i||_2 instead of the MSE over all elements */
} jt_jatp_options;

/* Scalar values for logging (batch means); -1 where a part is not computed (w with w_one). */
typedef struct jt_jatp_parts {
    int32_t bce;  /* mean BCE (or CE with bce_as_ce) of T(P(x~)), computed even with no_bce */
    int32_t fsm;  /* mean FSM_i (unweighted) */
    int32_t w;    /* mean w_i */
    int32_t pix;  /* L_pix */
} jt_jatp_parts;

/* L = mean_i [BCE(z_adv_i, y_i) + alpha * FSM_i * w_i] + beta * L_pix, with z_adv = T(P(x~)),
 * z_nat = T(P(x)), FSM_i = mean_{c,h,w} (tap_adv_i - tap_nat_i)^2, w_i = 1 - softmax(z_nat_i)_{y_i}
 * (not detached), L_pix = mean (p_adv - x_nat)^2 over all elements, p_adv = P(x~). alpha = 0 or beta = 0
 * drops that term from the graph. opt may be NULL (the paper's loss); parts may be NULL. */
int32_t jt_loss_jatp(jt_gb *b, int32_t logits_adv, int32_t logits_nat, int32_t tap_adv, int32_t tap_nat,
                     int32_t p_adv, int32_t x_nat, int32_t labels, double alpha, double beta,
                     const jt_jatp_options *opt, jt_jatp_parts *parts);

/* ---- GAN losses (logits from a discriminator, any shape) ---- */

/* mean over all elements of BCE-with-logits against a constant target t:
 * max(z, 0) - z*t + log(1 + exp(-|z|)). */
int32_t jt_loss_bce_logits(jt_gb *b, int32_t logits, double target);
/* Relativistic average GAN (NRP baseline): with r = D(x), f = D(P(x~)) and batch means over all
 * elements, L_D = 1/2 [BCE(r - mean f, 1) + BCE(f - mean r, 0)],
 *         L_G = 1/2 [BCE(r - mean f, 0) + BCE(f - mean r, 1)].
 * (Detaching P's output for L_D is the caller's business: build f from a separate input.) */
int32_t jt_loss_ragan_d(jt_gb *b, int32_t real_logits, int32_t fake_logits);
int32_t jt_loss_ragan_g(jt_gb *b, int32_t real_logits, int32_t fake_logits);
/* APE-GAN: L_D = BCE(D(x), 1) + BCE(D(G(x~)), 0); L_G = 0.7 MSE(G(x~), x) + 0.3 BCE(D(G(x~)), 1). */
int32_t jt_loss_apegan_d(jt_gb *b, int32_t real_logits, int32_t fake_logits);
int32_t jt_loss_apegan_g(jt_gb *b, int32_t g_out, int32_t x_nat, int32_t fake_logits);

#ifdef __cplusplus
}
#endif
#endif
