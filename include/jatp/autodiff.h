/* Reverse-mode automatic differentiation over the graph IR. */
#ifndef JATP_AUTODIFF_H
#define JATP_AUTODIFF_H

#include "jatp/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Appends to g the nodes that compute d(loss)/d(wrt[i]) for each i and writes their value ids to
 * grads[i]. seed is the cotangent of loss (a value id of loss's shape), or -1 for ones (a scalar loss
 * gives the plain gradient). Only nodes on a path from some wrt value to loss are differentiated;
 * every such node without a VJP rule is reported in one error. A wrt value the loss does not depend
 * on gets a zero gradient. The gradient values are not made graph outputs (the caller decides). */
jt_status jt_build_backward(jt_ctx *ctx, jt_graph *g, int32_t loss, int32_t seed, const int32_t *wrt, int n_wrt,
                            int32_t *grads);

#ifdef __cplusplus
}
#endif
#endif
