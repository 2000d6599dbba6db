/* Closed-form oracles for attack tests: models whose logits and gradients are computed directly in C
 * (double arithmetic), with the jt_oracle interface of include/jatp/attack.h.
 *   linear:  z = W x + b               (W [K x d] row-major)
 *   mlp:     z = W2 tanh(W1 x + b1) + b2 (W1 [H x d], W2 [K x H])
 * The optional feature tap of the MLP is its hidden layer tanh(W1 x + b1). */
#ifndef JT_TOY_ORACLE_H
#define JT_TOY_ORACLE_H

#include "jatp/attack.h"

/* Copies the weights. c*h*w = d. */
jt_status toy_linear_create(jt_ctx *ctx, int64_t c, int64_t h, int64_t w, int64_t K, const double *W,
                            const double *b, int max_batch, jt_oracle **out);
jt_status toy_mlp_create(jt_ctx *ctx, int64_t c, int64_t h, int64_t w, int64_t H, int64_t K, const double *W1,
                         const double *b1, const double *W2, const double *b2, int max_batch, jt_oracle **out);


/* A K-class linear model z = W x + b for closed-form tests: W uniform in [-0.5, 0.5), b in [-0.1, 0.1),
 * drawn from the caller's generator (so each test keeps its own sequence). */
typedef struct toy_lin {
    int64_t K, d;
    double *W, *b;
} toy_lin;

void toy_lin_make(toy_lin *m, int64_t K, int64_t d, double (*rnd)(void));
void toy_lin_free(toy_lin *m);
/* z[K] in double */
void toy_lin_logits(const toy_lin *m, const float *x, double *z);
/* argmax of the logits (lowest index on ties) */
int64_t toy_lin_pred(const toy_lin *m, const float *x);
/* r*_j = (z_y - z_j) / ||w_y - w_j||_1: the exact L-inf distance to the boundary with class j (box inactive) */
double toy_lin_rj(const toy_lin *m, const float *x, int64_t y, int64_t j);
/* r* = min_{j != y} r*_j */
double toy_lin_rstar(const toy_lin *m, const float *x, int64_t y);

#endif
