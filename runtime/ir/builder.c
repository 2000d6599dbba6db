/* Graph builder with a sticky status; see include/jatp/builder.h. */
#include "jatp/builder.h"

#include <stdio.h>
#include <string.h>

#include "op.h"

void jt_gb_init(jt_gb *b, jt_ctx *ctx, jt_graph *g, int opset) {
    memset(b, 0, sizeof *b);
    b->ctx = ctx;
    b->g = g;
    b->opset = opset > 0 ? opset : 18;
    b->status = JT_OK;
}

jt_status jt_gb_status(const jt_gb *b) { return b->status; }

static int failed(jt_gb *b, jt_status st) {
    if (st != JT_OK && b->status == JT_OK) b->status = st;
    return b->status != JT_OK;
}

static const char *full_name(jt_gb *b, const char *name, char *buf, size_t cap) {
    if (!name) {
        snprintf(buf, cap, "%s_t%d", b->prefix ? b->prefix : "", b->counter++);
        return buf;
    }
    if (!b->prefix) return name;
    snprintf(buf, cap, "%s%s", b->prefix, name);
    return buf;
}

static int32_t new_value(jt_gb *b, const char *name, jt_dtype dt, int rank, const int64_t *dims) {
    if (b->status != JT_OK) return -1;
    char buf[512];
    int32_t id;
    if (rank < 0 || rank > JT_MAX_RANK) {
        failed(b, jt_fail(b->ctx, JT_ERR_ARG, "builder: value '%s' has rank %d", name ? name : "?", rank));
        return -1;
    }
    if (failed(b, jt_graph_add_value(b->ctx, b->g, full_name(b, name, buf, sizeof buf), &id))) return -1;
    jt_value *v = &b->g->values[id];
    v->dtype = dt;
    v->rank = rank;
    for (int i = 0; i < rank; i++) {
        v->dims[i] = dims[i] < 0 ? JT_DIM_UNKNOWN : dims[i];
        if (dims[i] < 0) {
            char dn[16];
            snprintf(dn, sizeof dn, i == 0 ? "N" : "d%d", i);
            v->dim_params[i] = jt_graph_strdup(b->g, dn);
        }
    }
    return id;
}

int32_t jt_gb_input(jt_gb *b, const char *name, jt_dtype dt, int rank, const int64_t *dims) {
    int32_t id = new_value(b, name, dt, rank, dims);
    if (id >= 0) failed(b, jt_graph_add_input(b->ctx, b->g, id));
    return b->status == JT_OK ? id : -1;
}

static int32_t data_value(jt_gb *b, const char *name, jt_dtype dt, int rank, const int64_t *dims, const void *data,
                          uint32_t flag) {
    for (int i = 0; i < rank; i++)
        if (dims[i] < 0) {
            failed(b, jt_fail(b->ctx, JT_ERR_ARG, "builder: constant '%s' needs static dims", name ? name : "?"));
            return -1;
        }
    int32_t id = new_value(b, name, dt, rank, dims);
    if (id < 0) return -1;
    jt_value *v = &b->g->values[id];
    size_t n = jt_dtype_size(dt);
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    v->data = jt_graph_alloc(b->g, n ? n : 1);
    if (!v->data) {
        failed(b, jt_fail(b->ctx, JT_ERR_OOM, "builder: out of memory"));
        return -1;
    }
    if (data && n) memcpy(v->data, data, n);
    v->flags |= flag;
    return id;
}

int32_t jt_gb_param(jt_gb *b, const char *name, jt_dtype dt, int rank, const int64_t *dims, const void *data) {
    return data_value(b, name, dt, rank, dims, data, JT_VALUE_PARAM);
}

int32_t jt_gb_const(jt_gb *b, const char *name, jt_dtype dt, int rank, const int64_t *dims, const void *data) {
    /* Constants are stored like initializers (data known at plan time) but flagged CONST so that
     * they are never trained or exported as parameters. */
    return data_value(b, name, dt, rank, dims, data, JT_VALUE_PARAM | JT_VALUE_CONST | JT_VALUE_FROZEN);
}

int32_t jt_gb_const_scalar_f32(jt_gb *b, float v) { return jt_gb_const(b, NULL, JT_F32, 0, NULL, &v); }

int32_t jt_gb_const_i64s(jt_gb *b, const int64_t *v, int n) {
    int64_t d = n;
    return jt_gb_const(b, NULL, JT_I64, 1, &d, v);
}

void jt_gb_output(jt_gb *b, int32_t value) {
    if (b->status != JT_OK) return;
    if (value < 0) {
        failed(b, jt_fail(b->ctx, JT_ERR_ARG, "builder: output of a failed node"));
        return;
    }
    failed(b, jt_graph_add_output(b->ctx, b->g, value));
}

static jt_attr *next_attr(jt_gb *b, const char *name, jt_attr_type t) {
    if (b->status != JT_OK) return NULL;
    if (b->n_attrs == JT_GB_MAX_ATTRS) {
        failed(b, jt_fail(b->ctx, JT_ERR_ARG, "builder: more than %d attributes on one node", JT_GB_MAX_ATTRS));
        return NULL;
    }
    jt_attr *a = &b->attrs[b->n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = jt_graph_strdup(b->g, name);
    a->type = t;
    return a;
}

void jt_gb_attr_int(jt_gb *b, const char *name, int64_t v) {
    jt_attr *a = next_attr(b, name, JT_ATTR_INT);
    if (a) a->i = v;
}

void jt_gb_attr_float(jt_gb *b, const char *name, double v) {
    jt_attr *a = next_attr(b, name, JT_ATTR_FLOAT);
    if (a) a->f = (float)v; /* ONNX attributes are float32 */
}

void jt_gb_attr_ints(jt_gb *b, const char *name, const int64_t *v, int n) {
    jt_attr *a = next_attr(b, name, JT_ATTR_INTS);
    if (!a) return;
    a->ints = jt_graph_alloc(b->g, sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (n) memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
    a->n = n;
}

void jt_gb_attr_floats(jt_gb *b, const char *name, const double *v, int n) {
    jt_attr *a = next_attr(b, name, JT_ATTR_FLOATS);
    if (!a) return;
    a->floats = jt_graph_alloc(b->g, sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) a->floats[i] = (float)v[i];
    a->n = n;
}

void jt_gb_attr_string(jt_gb *b, const char *name, const char *s) {
    jt_attr *a = next_attr(b, name, JT_ATTR_STRING);
    if (!a) return;
    a->s = jt_graph_strdup(b->g, s);
    a->s_len = (int64_t)strlen(s);
}

int jt_gb_node(jt_gb *b, const char *op_type, const char *domain, const char *name, const int32_t *ins,
               int n_in, int32_t *outs, int n_out) {
    int n_attrs = b->n_attrs;
    b->n_attrs = 0;
    for (int i = 0; i < n_out; i++) outs[i] = -1;
    if (b->status != JT_OK) return -1;
    for (int i = 0; i < n_in; i++)
        if (ins[i] < -1 || ins[i] >= b->g->n_values) {
            failed(b, jt_fail(b->ctx, JT_ERR_ARG, "builder: node %s (%s) input %d is invalid (%d)", name ? name : "?",
                              op_type, i, ins[i]));
            return -1;
        }
    char nbuf[512];
    if (!name) {
        snprintf(nbuf, sizeof nbuf, "%s%s_%d", b->prefix ? b->prefix : "", op_type, b->counter++);
    } else {
        const char *nm = full_name(b, name, nbuf, sizeof nbuf);
        if (nm != nbuf) snprintf(nbuf, sizeof nbuf, "%s", nm);
    }
    domain = domain ? domain : "";
    const jt_op *op = jt_op_lookup(domain, op_type, domain[0] ? 1 : b->opset);
    if (!op || !op->impl) {
        failed(b, jt_fail(b->ctx, JT_ERR_UNSUPPORTED, "builder: node '%s': operator %s%s%s is not supported at opset %d",
                          nbuf, domain, domain[0] ? "." : "", op_type, domain[0] ? 1 : b->opset));
        return -1;
    }
    int32_t nid;
    if (failed(b, jt_graph_add_node(b->ctx, b->g, nbuf, op_type, domain, n_in, n_out, n_attrs, &nid))) return -1;
    jt_node *n = &b->g->nodes[nid];
    n->op = op;
    n->opset = domain[0] ? 1 : b->opset;
    for (int i = 0; i < n_in; i++) n->in[i] = ins[i];
    memcpy(n->attrs, b->attrs, sizeof(jt_attr) * (size_t)n_attrs);
    /* node name may collide with an existing value name: outputs get ":i" or the node name */
    for (int i = 0; i < n_out; i++) {
        char vbuf[600];
        const char *nodename = b->g->nodes[nid].name;
        if (n_out == 1) snprintf(vbuf, sizeof vbuf, "%s", nodename);
        else snprintf(vbuf, sizeof vbuf, "%s:%d", nodename, i);
        int32_t vid;
        if (jt_graph_find_value(b->g, vbuf) >= 0) snprintf(vbuf + strlen(vbuf), sizeof vbuf - strlen(vbuf), "#%d", b->counter++);
        if (failed(b, jt_graph_add_value(b->ctx, b->g, vbuf, &vid))) return -1;
        b->g->values[vid].producer = nid;
        b->g->nodes[nid].out[i] = vid;
        outs[i] = vid;
    }
    n = &b->g->nodes[nid];
    const jt_op_impl *im = op->impl;
    if (n_in < im->min_in || (im->max_in >= 0 && n_in > im->max_in) || n_out < im->min_out ||
        (im->max_out >= 0 && n_out > im->max_out)) {
        failed(b, jt_node_fail(b->ctx, b->g, n, JT_ERR_ARG, "builder: %d inputs / %d outputs, expected %d..%d / %d..%d",
                               n_in, n_out, im->min_in, im->max_in, im->min_out, im->max_out));
        return -1;
    }
    if (im->attr_size) {
        n->parsed = jt_graph_alloc(b->g, im->attr_size);
        if (!n->parsed) {
            failed(b, jt_fail(b->ctx, JT_ERR_OOM, "builder: out of memory"));
            return -1;
        }
    }
    if (im->parse) {
        if (failed(b, im->parse(b->ctx, b->g, n, n->parsed))) return -1;
    } else if (n_attrs) {
        static const char *const none[] = {NULL};
        if (failed(b, jt_attrs_check_known(b->ctx, b->g, n, none))) return -1;
    }
    return 0;
}

int32_t jt_gb_op(jt_gb *b, const char *op_type, const char *domain, const char *name, const int32_t *ins, int n_in) {
    int32_t out = -1;
    if (jt_gb_node(b, op_type, domain, name, ins, n_in, &out, 1) != 0) return -1;
    return out;
}
