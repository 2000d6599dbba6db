/* Reduce family: attributes shared by the forward ops (reduce.c) and the VJP rules and ReduceGrad
 * (reduce_grad.c). */
#ifndef JATP_REDUCE_H
#define JATP_REDUCE_H

#include "op.h"

typedef struct reduce_attrs {
    int64_t axes[JT_MAX_RANK];
    int n_axes;
    int64_t keepdims;
    int64_t noop_with_empty_axes;
    int axes_input; /* this version takes axes as input 1 */
} reduce_attrs;

jt_status jt_vjp_reduce_sum(jt_vjp_args *v);
jt_status jt_vjp_reduce_mean(jt_vjp_args *v);
jt_status jt_vjp_reduce_max(jt_vjp_args *v);

#endif
