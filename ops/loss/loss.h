/* loss family: shared attribute struct and geometry of SoftmaxCrossEntropyLoss and
 * NegativeLogLikelihoodLoss (and their jatp.grad gradient ops).
 *
 * Layout: scores/input [N, C, d1..dk] (k >= 0), labels/target [N, d1..dk] (int32 or int64), optional
 * weights [C]. With D = d1*..*dk, element (n, c, d) sits at (n*C + c)*D + d and label (n, d) at n*D + d.
 * Per position: w = weights[t] (1 without weights), or 0 when t == ignore_index; loss = -w*logp[n,t,d].
 * reduction none: per-position losses [N, d1..dk]; sum: their sum; mean: sum / sum of w (ONNX's
 * weighted mean; without weights and ignored labels this is the plain mean). */
#ifndef JT_OPS_LOSS_H
#define JT_OPS_LOSS_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

enum loss_reduction { LOSS_NONE = 0, LOSS_SUM = 1, LOSS_MEAN = 2 };

typedef struct loss_attrs {
    int reduction;     /* enum loss_reduction */
    int has_ii;        /* ignore_index given */
    int64_t ii;        /* ignore_index */
} loss_attrs;

/* Parses reduction (none|sum|mean, default mean) and ignore_index (optional). */
jt_status jt_loss_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs);

/* Checks scores (float, rank >= 2), labels (int32/int64, [N, d1..dk]) and optional weights ([C], the
 * scores' dtype). Returns N, C, D. `what` names the scores input in messages. */
jt_status jt_loss_check(const jt_infer_args *a, const jt_tensor *x, const jt_tensor *labels,
                        const jt_tensor *weights, const char *what);

/* Label i of an int32/int64 tensor. */
static inline int64_t loss_label(const jt_tensor *t, int64_t i) {
    return t->dtype == JT_I32 ? (int64_t)((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
}

/* N, C, D of a [N, C, d1..dk] tensor. */
static inline void loss_geom(const jt_tensor *x, int64_t *N, int64_t *C, int64_t *D) {
    *N = x->dims[0];
    *C = x->dims[1];
    *D = 1;
    for (int i = 2; i < x->rank; i++) *D *= x->dims[i];
}

/* Sets the builder's pending reduction / ignore_index attributes from parsed attrs (for grad nodes). */
struct jt_gb;
void jt_loss_attrs_to_builder(struct jt_gb *b, const loss_attrs *at);

#ifdef __cplusplus
}
#endif
#endif
