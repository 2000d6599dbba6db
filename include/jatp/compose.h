/* Graph composition: copying one graph into another under a name prefix, F = T∘P, feature taps. */
#ifndef JATP_COMPOSE_H
#define JATP_COMPOSE_H

#include "jatp/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Copies every value and node of src into dst with names prefixed by `prefix` (deep copies: dst does
 * not refer to src afterwards). bind[i] (may be NULL) replaces src's graph input i by an existing dst
 * value (-1: the input becomes a dst graph input). src's outputs are not made dst outputs. map (size
 * src->n_values) receives the dst id of every src value. */
jt_status jt_graph_append(jt_ctx *ctx, jt_graph *dst, const jt_graph *src, const char *prefix, const int32_t *bind,
                          int32_t *map);

typedef struct jt_composed {
    int32_t p_out;      /* P's output (= T's input) in the composed graph */
    int32_t *p_map;     /* P value id -> composed id (P->n_values entries; freed by jt_composed_free) */
    int32_t *t_map;     /* T value id -> composed id */
} jt_composed;

/* F = T∘P: P's inputs become F's inputs, P's output 0 feeds T's input 0 (shapes must agree at plan
 * time), F's outputs are T's outputs; names prefixed "P/" and "T/"; T's parameters are marked FROZEN.
 * `P` may be NULL for an undefended target (F = T, still prefixed). */
jt_status jt_compose(jt_ctx *ctx, const jt_graph *P, const jt_graph *T, jt_graph **out, jt_composed *info);
void jt_composed_free(jt_composed *info);

/* Finds a tap in g: an exact value name, else the first output of the node with that name, else a
 * value or node whose name ends with `name` (e.g. "layer3.1/conv2/Conv" matches
 * "T//layer3/layer3.1/conv2/Conv_output_0"); fails listing close candidates when none or several
 * match. */
jt_status jt_graph_find_tap(jt_ctx *ctx, const jt_graph *g, const char *name, int32_t *value);

#ifdef __cplusplus
}
#endif
#endif
