/* Shared helpers for VJP rules (ops/autograd/autograd.c). */
#ifndef JATP_AUTOGRAD_H
#define JATP_AUTOGRAD_H

#include "jatp/builder.h"

/* SumTo(g, Shape(like)): g summed down to like's shape (the unbroadcast of a broadcasting op).
 * Passing the shape, which folds at plan time, keeps `like` from living until the backward pass. */
int32_t jt_grad_sum_to(jt_gb *b, int32_t g, int32_t like);

#endif
