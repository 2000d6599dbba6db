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

#endif
