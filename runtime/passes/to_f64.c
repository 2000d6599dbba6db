/* jt_graph_to_f64: turns a float32 graph into a float64 one in place — parameters, constants and
 * declared inputs are widened, and attributes that name or carry float32 (Cast's `to`, Constant and
 * ConstantOfShape tensors, Constant's value_float(s)) are rewritten. The float64 graph is the
 * gradient-check oracle and the reference for the CUDA backend. */
#include <string.h>

#include "jatp/graph.h"
#include "op.h"

static void *widen(jt_graph *g, const float *src, int64_t n) {
    double *d = jt_graph_alloc(g, sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (d)
        for (int64_t i = 0; i < n; i++) d[i] = src[i];
    return d;
}

static int64_t numel(int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return n;
}

jt_status jt_graph_to_f64(jt_ctx *ctx, jt_graph *g) {
    for (int32_t v = 0; v < g->n_values; v++) {
        jt_value *val = &g->values[v];
        if (val->dtype != JT_F32) continue;
        if (val->data) {
            void *d = widen(g, val->data, numel(val->rank, val->dims));
            if (!d) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory widening '%s'", g->source, val->name);
            val->data = d;
        }
        val->dtype = JT_F64;
    }
    for (int32_t k = 0; k < g->n_nodes; k++) {
        jt_node *n = &g->nodes[k];
        int changed = 0;
        for (int a = 0; a < n->n_attrs; a++) {
            jt_attr *at = &n->attrs[a];
            if (at->type == JT_ATTR_INT && strcmp(at->name, "to") == 0 && at->i == JT_F32) {
                at->i = JT_F64; /* Cast, CastLike-style attributes */
                changed = 1;
            } else if (at->type == JT_ATTR_TENSOR && at->t && at->t->dtype == JT_F32) {
                void *d = widen(g, at->t->data, numel(at->t->rank, at->t->dims));
                if (!d) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
                at->t->data = d;
                at->t->dtype = JT_F64;
                changed = 1;
            } else if ((at->type == JT_ATTR_FLOAT || at->type == JT_ATTR_FLOATS) && strcmp(n->op_type, "Constant") == 0 &&
                       (strcmp(at->name, "value_float") == 0 || strcmp(at->name, "value_floats") == 0)) {
                /* becomes a float64 'value' tensor */
                jt_tensor *t = jt_graph_alloc(g, sizeof *t);
                int scalar = at->type == JT_ATTR_FLOAT;
                int64_t cnt = scalar ? 1 : at->n;
                double *d = jt_graph_alloc(g, sizeof(double) * (size_t)(cnt > 0 ? cnt : 1));
                if (!t || !d) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
                for (int64_t i = 0; i < cnt; i++) d[i] = scalar ? at->f : at->floats[i];
                t->dtype = JT_F64;
                t->rank = scalar ? 0 : 1;
                t->dims[0] = cnt;
                t->data = d;
                at->name = "value";
                at->type = JT_ATTR_TENSOR;
                at->t = t;
                changed = 1;
            }
        }
        if (changed && n->op && n->op->impl && n->op->impl->parse) JT_TRY(n->op->impl->parse(ctx, g, n, n->parsed));
    }
    return JT_OK;
}
