/* Reverse-mode automatic differentiation over the graph IR. */
#ifndef JATP_AUTODIFF_H
#define JATP_AUTODIFF_H

#include "jatp/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Appends to g the nodes that compute the vector-Jacobian product sum_j <seed[j], d loss[j] / d wrt[i]>
 * for each i and writes their value ids to grads[i]. seed[j] is the cotangent of loss[j] (a value id
 * of loss[j]'s shape), or -1 for ones (a scalar loss gives the plain gradient); seed may be NULL (all
 * ones). Only nodes on a path from some wrt value to loss are differentiated;
 * every such node without a VJP rule is reported in one error. A wrt value the loss does not depend
 * on gets a zero gradient. The gradient values are not made graph outputs (the caller decides). */
jt_status jt_build_backward(jt_ctx *ctx, jt_graph *g, const int32_t *loss, const int32_t *seed, int n_loss,
                            const int32_t *wrt, int n_wrt, int32_t *grads);

#ifdef __cplusplus
}
#endif
#endif
