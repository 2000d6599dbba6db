/* Attribute parsing helpers shared by all ops: typed getters with ONNX defaults, unknown-attribute
 * checks, and node-naming failures. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "op.h"

static const char *attr_type_name(jt_attr_type t) {
    switch (t) {
    case JT_ATTR_FLOAT: return "float";
    case JT_ATTR_INT: return "int";
    case JT_ATTR_STRING: return "string";
    case JT_ATTR_TENSOR: return "tensor";
    case JT_ATTR_GRAPH: return "graph";
    case JT_ATTR_FLOATS: return "floats";
    case JT_ATTR_INTS: return "ints";
    case JT_ATTR_STRINGS: return "strings";
    default: return "other";
    }
}

jt_status jt_node_fail(jt_ctx *ctx, const jt_graph *g, const jt_node *n, jt_status st,
                       const char *fmt, ...) {
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int since = n->op ? n->op->since : n->opset;
    return jt_fail(ctx, st, "%s: node '%s' (%s%s%s-%d): %s", g && g->source ? g->source : "<graph>",
                   n->name, n->domain && n->domain[0] ? n->domain : "", n->domain && n->domain[0] ? "." : "",
                   n->op_type, since, msg);
}

jt_status jt_attrs_check_known(jt_ctx *ctx, const jt_graph *g, const jt_node *n,
                               const char *const *known) {
    for (int i = 0; i < n->n_attrs; i++) {
        int ok = 0;
        for (const char *const *k = known; k && *k; k++)
            if (strcmp(*k, n->attrs[i].name) == 0) ok = 1;
        if (!ok)
            return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "unknown attribute '%s'",
                                n->attrs[i].name);
    }
    return JT_OK;
}

static jt_status want(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const jt_attr *a,
                      jt_attr_type t) {
    if (a->type != t)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute '%s' has type %s, expected %s",
                            a->name, attr_type_name(a->type), attr_type_name(t));
    return JT_OK;
}

jt_status jt_attr_int(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name,
                      int64_t def, int64_t *out) {
    const jt_attr *a = jt_node_attr(n, name);
    *out = def;
    if (!a) return JT_OK;
    JT_TRY(want(ctx, g, n, a, JT_ATTR_INT));
    *out = a->i;
    return JT_OK;
}

jt_status jt_attr_float(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name,
                        double def, double *out) {
    const jt_attr *a = jt_node_attr(n, name);
    *out = def;
    if (!a) return JT_OK;
    if (a->type == JT_ATTR_INT) { /* some exporters write integral floats as ints */
        *out = (double)a->i;
        return JT_OK;
    }
    JT_TRY(want(ctx, g, n, a, JT_ATTR_FLOAT));
    *out = a->f;
    return JT_OK;
}

jt_status jt_attr_ints(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name,
                       int64_t *out, int cap, int *count) {
    const jt_attr *a = jt_node_attr(n, name);
    *count = 0;
    if (!a) return JT_OK;
    JT_TRY(want(ctx, g, n, a, JT_ATTR_INTS));
    if (a->n > cap)
        return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "attribute '%s' has %d values, at most %d supported",
                            name, a->n, cap);
    memcpy(out, a->ints, (size_t)a->n * sizeof *out);
    *count = a->n;
    return JT_OK;
}

jt_status jt_attr_floats(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name,
                         double *out, int cap, int *count) {
    const jt_attr *a = jt_node_attr(n, name);
    *count = 0;
    if (!a) return JT_OK;
    JT_TRY(want(ctx, g, n, a, JT_ATTR_FLOATS));
    if (a->n > cap)
        return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "attribute '%s' has %d values, at most %d supported",
                            name, a->n, cap);
    memcpy(out, a->floats, (size_t)a->n * sizeof *out);
    *count = a->n;
    return JT_OK;
}

jt_status jt_attr_string(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name,
                         const char *def, const char **out) {
    const jt_attr *a = jt_node_attr(n, name);
    *out = def;
    if (!a) return JT_OK;
    JT_TRY(want(ctx, g, n, a, JT_ATTR_STRING));
    *out = a->s;
    return JT_OK;
}
