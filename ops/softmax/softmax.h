/* Softmax family: attributes shared by the forward ops (softmax.c) and their VJP rules and grad ops
 * (softmax_grad.c). */
#ifndef JATP_SOFTMAX_H
#define JATP_SOFTMAX_H

#include "op.h"

#define SM_BLOCK 256        /* columns per block when the axis is not innermost */
#define SM_TASK_ELEMS 16384 /* elements per parallel task (problem-size based) */

typedef struct softmax_attrs {
    int64_t axis;
} softmax_attrs;

typedef struct smg_attrs { /* SoftmaxGrad, LogSoftmaxGrad */
    int64_t axis, coerce2d;
} smg_attrs;

jt_status jt_vjp_softmax(jt_vjp_args *v);
jt_status jt_vjp_logsoftmax(jt_vjp_args *v);

#endif
