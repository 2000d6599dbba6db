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

/* The reduced-axis mask of a ReduceSum/Mean/Max node (from the attribute or the axes input, whose data
 * must be host memory: plan time) and whether the node is an identity (noop_with_empty_axes). */
jt_status jt_reduce_axes(const jt_kernel_args *a, bool *mask, bool *noop);
/* ReduceGrad: mask over X's axes, identity flag and mode (0 sum, 1 mean, 2 max). */
jt_status jt_reduce_grad_axes(const jt_kernel_args *a, bool *mask, bool *noop, int *mode);

jt_status jt_vjp_reduce_sum(jt_vjp_args *v);
jt_status jt_vjp_reduce_mean(jt_vjp_args *v);
jt_status jt_vjp_reduce_max(jt_vjp_args *v);

#endif
