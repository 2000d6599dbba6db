/* VJP rules of the element-wise family and the grad ops they emit (domain jatp.grad):
 *   ew_grad.c       Add Sub Mul Div Relu, the unary rules, Clip, Cast; ReluGrad, LeakyReluGrad,
 *                   SigmoidGrad, TanhGrad, EluGrad, SoftplusGrad, SqrtGrad, AbsGrad, ClipGrad, CastGrad
 *   ew_grad_bcast.c PRelu, Pow, Max/Min, Where; PReluGrad, PowGrad, MaxMinGrad, WhereGrad
 * Comparisons and Not have no rule: their outputs are bool and they mark every input no-grad. */
#ifndef JATP_EW_GRAD_H
#define JATP_EW_GRAD_H

#include "op.h"

/* attributes shared by forward ops and their rules */
typedef struct alpha_attrs { /* LeakyRelu, Elu */
    double alpha;
} alpha_attrs;

typedef struct clip_attrs { /* Clip-6 */
    double min, max;
} clip_attrs;

typedef struct ug_attrs { /* LeakyReluGrad, EluGrad, ClipGrad */
    double alpha, min, max;
} ug_attrs;

typedef struct which_attrs { /* PReluGrad, PowGrad (wrt), WhereGrad (branch), MaxMinGrad (index) */
    int64_t which;
} which_attrs;

jt_status jt_vjp_add(jt_vjp_args *v);
jt_status jt_vjp_sub(jt_vjp_args *v);
jt_status jt_vjp_mul(jt_vjp_args *v);
jt_status jt_vjp_div(jt_vjp_args *v);
jt_status jt_vjp_relu(jt_vjp_args *v);
jt_status jt_vjp_leakyrelu(jt_vjp_args *v);
jt_status jt_vjp_sigmoid(jt_vjp_args *v);
jt_status jt_vjp_tanh(jt_vjp_args *v);
jt_status jt_vjp_elu(jt_vjp_args *v);
jt_status jt_vjp_softplus(jt_vjp_args *v);
jt_status jt_vjp_sqrt(jt_vjp_args *v);
jt_status jt_vjp_neg(jt_vjp_args *v);
jt_status jt_vjp_abs(jt_vjp_args *v);
jt_status jt_vjp_exp(jt_vjp_args *v);
jt_status jt_vjp_log(jt_vjp_args *v);
jt_status jt_vjp_clip_v6(jt_vjp_args *v);
jt_status jt_vjp_clip(jt_vjp_args *v);
jt_status jt_vjp_cast(jt_vjp_args *v);
jt_status jt_vjp_prelu(jt_vjp_args *v);
jt_status jt_vjp_pow(jt_vjp_args *v);
jt_status jt_vjp_max(jt_vjp_args *v);
jt_status jt_vjp_min(jt_vjp_args *v);
jt_status jt_vjp_where(jt_vjp_args *v);

#endif
