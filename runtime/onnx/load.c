/* ONNX ModelProto -> graph IR. The protobuf tree is freed before returning: the IR owns copies. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "jatp/io.h"
#include "jatp/onnx.h"
#include "onnx_internal.h"

#define MAX_MODEL_BYTES ((size_t)1 << 31) /* protobuf's own 2 GiB limit */
#define MAX_ONNX_OPSET 18

void jt_load_options_default(jt_load_options *o) {
    memset(o, 0, sizeof *o);
    o->check_support = 1;
}

static void *arena_alloc_fn(void *user, size_t bytes) { return jt_graph_alloc((jt_graph *)user, bytes); }

static jt_status convert_attr(jt_ctx *ctx, jt_graph *g, const char *base_dir, const jt_node *n,
                              const Onnx__AttributeProto *ap, jt_attr *a) {
    a->name = jt_graph_strdup(g, ap->name ? ap->name : "");
    a->type = ap->has_type ? (jt_attr_type)ap->type : JT_ATTR_UNDEF;
    if (a->type == JT_ATTR_UNDEF) { /* IR < 3 files may omit the type: infer it from the fields */
        if (ap->n_ints) a->type = JT_ATTR_INTS;
        else if (ap->n_floats) a->type = JT_ATTR_FLOATS;
        else if (ap->t) a->type = JT_ATTR_TENSOR;
        else if (ap->has_s) a->type = JT_ATTR_STRING;
        else if (ap->has_f) a->type = JT_ATTR_FLOAT;
        else if (ap->has_i) a->type = JT_ATTR_INT;
    }
    a->i = ap->i;
    a->f = ap->f;
    if (ap->has_s || a->type == JT_ATTR_STRING) {
        char *s = jt_graph_alloc(g, ap->s.len + 1);
        if (!s) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
        if (ap->s.len) memcpy(s, ap->s.data, ap->s.len);
        a->s = s;
        a->s_len = (int64_t)ap->s.len;
    }
    if (ap->n_ints) {
        a->ints = jt_graph_alloc(g, ap->n_ints * sizeof(int64_t));
        if (!a->ints) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
        memcpy(a->ints, ap->ints, ap->n_ints * sizeof(int64_t));
        if (a->type == JT_ATTR_INTS) a->n = (int32_t)ap->n_ints;
    }
    if (ap->n_floats) {
        a->floats = jt_graph_alloc(g, ap->n_floats * sizeof(double));
        if (!a->floats) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
        for (size_t i = 0; i < ap->n_floats; i++) a->floats[i] = ap->floats[i];
        if (a->type == JT_ATTR_FLOATS) a->n = (int32_t)ap->n_floats;
    }
    if (ap->n_strings) {
        a->strings = jt_graph_alloc(g, ap->n_strings * sizeof(char *));
        if (!a->strings) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
        for (size_t i = 0; i < ap->n_strings; i++) {
            char *s = jt_graph_alloc(g, ap->strings[i].len + 1);
            if (!s) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
            if (ap->strings[i].len) memcpy(s, ap->strings[i].data, ap->strings[i].len);
            a->strings[i] = s;
        }
        if (a->type == JT_ATTR_STRINGS) a->n = (int32_t)ap->n_strings;
    }
    if (ap->t) {
        char what[512];
        snprintf(what, sizeof what, "node '%s' attribute '%s'", n->name, a->name);
        a->t = jt_graph_alloc(g, sizeof(jt_tensor));
        if (!a->t) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
        JT_TRY(jt_tensor_from_proto(ctx, ap->t, g->source, what, base_dir, arena_alloc_fn, g, a->t));
    }
    return JT_OK;
}

/* Sets a value's declared type from a ValueInfoProto (graph inputs and outputs). */
static jt_status apply_value_info(jt_ctx *ctx, jt_graph *g, jt_value *v, const Onnx__ValueInfoProto *vi) {
    if (!vi->type) return JT_OK;
    if (vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type)
        return jt_fail(ctx, JT_ERR_UNSUPPORTED,
                       "%s: graph value '%s' is not a tensor (sequence, map, optional and sparse values "
                       "are not supported)", g->source, v->name);
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    if (tt->has_elem_type) v->dtype = (jt_dtype)tt->elem_type;
    if (tt->shape) {
        if (tt->shape->n_dim > JT_MAX_RANK)
            return jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: value '%s' has rank %zu, above the supported %d",
                           g->source, v->name, tt->shape->n_dim, JT_MAX_RANK);
        v->rank = (int32_t)tt->shape->n_dim;
        for (size_t i = 0; i < tt->shape->n_dim; i++) {
            const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
            if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0) {
                v->dims[i] = d->dim_value;
            } else {
                v->dims[i] = JT_DIM_UNKNOWN;
                if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param)
                    v->dim_params[i] = jt_graph_strdup(g, d->dim_param);
            }
        }
    }
    return JT_OK;
}

static jt_status build_graph(jt_ctx *ctx, jt_graph *g, const Onnx__GraphProto *gp, const char *base_dir) {
    /* Initializers */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = tp->name ? tp->name : "";
        if (!name[0])
            return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: initializer #%zu has no name", g->source, i);
        if (jt_graph_find_value(g, name) >= 0)
            return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: initializer '%s' is defined twice", g->source, name);
        int32_t id;
        JT_TRY(jt_graph_add_value(ctx, g, name, &id));
        char what[512];
        snprintf(what, sizeof what, "initializer '%s'", name);
        jt_tensor t;
        JT_TRY(jt_tensor_from_proto(ctx, tp, g->source, what, base_dir, arena_alloc_fn, g, &t));
        jt_value *v = &g->values[id];
        v->dtype = t.dtype;
        v->rank = t.rank;
        memcpy(v->dims, t.dims, sizeof v->dims);
        v->data = t.data;
        v->flags |= JT_VALUE_PARAM;
    }
    if (gp->n_sparse_initializer)
        return jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: sparse initializers are not supported", g->source);
    /* Graph inputs (those with an initializer are parameters with a default: we keep the initializer) */
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = vi->name ? vi->name : "";
        int32_t id = jt_graph_find_value(g, name);
        if (id >= 0 && (g->values[id].flags & JT_VALUE_PARAM)) continue;
        if (id >= 0)
            return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: graph input '%s' is listed twice", g->source, name);
        JT_TRY(jt_graph_add_value(ctx, g, name, &id));
        JT_TRY(apply_value_info(ctx, g, &g->values[id], vi));
        if (g->values[id].rank < 0)
            return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: graph input '%s' has no shape", g->source, name);
        JT_TRY(jt_graph_add_input(ctx, g, id));
    }
    /* Nodes: first create every output value, then resolve inputs by name */
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        char synth[256];
        const char *name = np->name && np->name[0] ? np->name : NULL;
        if (!name) {
            snprintf(synth, sizeof synth, "%s_%zu", np->op_type ? np->op_type : "node", k);
            name = synth;
        }
        int32_t nid;
        JT_TRY(jt_graph_add_node(ctx, g, name, np->op_type ? np->op_type : "", np->domain,
                                 (int)np->n_input, (int)np->n_output, (int)np->n_attribute, &nid));
        jt_node *n = &g->nodes[nid];
        for (size_t o = 0; o < np->n_output; o++) {
            const char *vname = np->output[o];
            if (!vname || !vname[0]) continue; /* omitted optional output */
            int32_t vid = jt_graph_find_value(g, vname);
            if (vid >= 0 && (g->values[vid].producer >= 0 || (g->values[vid].flags & (JT_VALUE_PARAM | JT_VALUE_INPUT))))
                return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: node '%s' (%s): output '%s' is already defined",
                               g->source, n->name, n->op_type, vname);
            if (vid < 0) JT_TRY(jt_graph_add_value(ctx, g, vname, &vid));
            g->values[vid].producer = nid;
            n = &g->nodes[nid];
            n->out[o] = vid;
        }
        for (size_t a = 0; a < np->n_attribute; a++)
            JT_TRY(convert_attr(ctx, g, base_dir, n, np->attribute[a], &n->attrs[a]));
    }
    int dangling = 0;
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        jt_node *n = &g->nodes[k];
        for (size_t i = 0; i < np->n_input; i++) {
            const char *vname = np->input[i];
            if (!vname || !vname[0]) continue; /* omitted optional input */
            int32_t vid = jt_graph_find_value(g, vname);
            if (vid < 0 || (g->values[vid].producer < 0 &&
                            !(g->values[vid].flags & (JT_VALUE_PARAM | JT_VALUE_INPUT)))) {
                if (!dangling)
                    jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: inputs that no node, initializer or graph input defines:",
                            g->source);
                jt_error_append(ctx, "  node '%s' (%s) input %zu '%s'", n->name, n->op_type, i, vname);
                dangling++;
                continue;
            }
            n->in[i] = vid;
        }
    }
    if (dangling) return JT_ERR_INVALID_MODEL;
    /* Graph outputs */
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name ? gp->output[i]->name : "";
        int32_t id = jt_graph_find_value(g, name);
        if (id < 0)
            return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: graph output '%s' is not produced by any node",
                           g->source, name);
        jt_value *v = &g->values[id];
        if (v->producer >= 0) { /* declared type of a computed output: kept for messages only */
            jt_value decl = *v;
            JT_TRY(apply_value_info(ctx, g, &decl, gp->output[i]));
        }
        JT_TRY(jt_graph_add_output(ctx, g, id));
    }
    if (gp->n_output == 0) return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: the graph has no outputs", g->source);
    return JT_OK;
}

/* ONNX requires nodes in topological order, but some producers write them out of order; sort
 * (Kahn, stable) and detect cycles. */
static jt_status topo_sort(jt_ctx *ctx, jt_graph *g) {
    int32_t nn = g->n_nodes;
    if (nn == 0) return JT_OK;
    int32_t *indeg = calloc((size_t)nn, sizeof *indeg);
    int32_t *order = malloc((size_t)nn * sizeof *order);
    char *done = calloc((size_t)nn, 1);
    if (!indeg || !order || !done) {
        free(indeg); free(order); free(done);
        return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
    }
    int sorted = 1;
    for (int32_t k = 0; k < nn; k++)
        for (int i = 0; i < g->nodes[k].n_in; i++) {
            int32_t v = g->nodes[k].in[i];
            if (v >= 0 && g->values[v].producer >= 0 && g->values[v].producer >= k) sorted = 0;
        }
    jt_status st = JT_OK;
    if (!sorted) {
        int32_t cnt = 0;
        while (cnt < nn) {
            int progressed = 0;
            for (int32_t k = 0; k < nn; k++) {
                if (done[k]) continue;
                int ready = 1;
                for (int i = 0; i < g->nodes[k].n_in && ready; i++) {
                    int32_t v = g->nodes[k].in[i];
                    if (v >= 0 && g->values[v].producer >= 0 && !done[g->values[v].producer]) ready = 0;
                }
                if (ready) {
                    done[k] = 1;
                    order[cnt++] = k;
                    progressed = 1;
                }
            }
            if (!progressed) {
                for (int32_t k = 0; k < nn; k++)
                    if (!done[k]) {
                        st = jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: the graph has a cycle through node '%s' (%s)",
                                     g->source, g->nodes[k].name, g->nodes[k].op_type);
                        break;
                    }
                break;
            }
        }
        if (st == JT_OK) {
            jt_node *copy = malloc((size_t)nn * sizeof *copy);
            int32_t *newid = malloc((size_t)nn * sizeof *newid);
            if (!copy || !newid) {
                st = jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
            } else {
                for (int32_t i = 0; i < nn; i++) {
                    copy[i] = g->nodes[order[i]];
                    newid[order[i]] = i;
                }
                memcpy(g->nodes, copy, (size_t)nn * sizeof *copy);
                for (int32_t v = 0; v < g->n_values; v++)
                    if (g->values[v].producer >= 0) g->values[v].producer = newid[g->values[v].producer];
            }
            free(copy);
            free(newid);
        }
    }
    free(indeg);
    free(order);
    free(done);
    return st;
}

jt_status jt_onnx_load_buffer(jt_ctx *ctx, const void *data, size_t size, const char *name,
                              const char *base_dir, const jt_load_options *opts, jt_graph **out) {
    *out = NULL;
    jt_load_options defaults;
    if (!opts) {
        jt_load_options_default(&defaults);
        opts = &defaults;
    }
    if (size == 0) return jt_fail(ctx, JT_ERR_PARSE, "%s: empty file, not an ONNX model", name);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, data);
    if (!mp)
        return jt_fail(ctx, JT_ERR_PARSE,
                       "%s: not a valid ONNX model (protobuf decoding failed: truncated or not a ModelProto)", name);
    jt_status st = JT_OK;
    jt_graph *g = NULL;
    if (!mp->graph || (mp->graph->n_node == 0 && mp->graph->n_output == 0)) {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: not a valid ONNX model (no graph)", name);
        goto done;
    }
    if (mp->n_opset_import == 0) {
        st = jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: the model declares no opset_import", name);
        goto done;
    }
    JT_ASSERT(mp->n_opset_import < 1024);
    const char *domains[1024];
    int64_t versions[1024];
    int64_t onnx_opset = 0;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const char *d = mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "";
        if (strcmp(d, "ai.onnx") == 0) d = "";
        domains[i] = d;
        versions[i] = mp->opset_import[i]->version;
        if (d[0] == 0) onnx_opset = versions[i];
    }
    if (onnx_opset > MAX_ONNX_OPSET) {
        if (!opts->allow_newer_opset) {
            st = jt_fail(ctx, JT_ERR_UNSUPPORTED,
                         "%s: the model imports ai.onnx opset %lld; jatp supports opsets 7 to %d\n"
                         "hint: export with torch.onnx.export(..., opset_version=17), or pass "
                         "--allow-newer-opset to try anyway", name, (long long)onnx_opset, MAX_ONNX_OPSET);
            goto done;
        }
        jt_log(ctx, JT_LOG_WARN, "%s: ai.onnx opset %lld is newer than %d; ops resolve to their opset-%d versions",
               name, (long long)onnx_opset, MAX_ONNX_OPSET, MAX_ONNX_OPSET);
    }
    if (mp->n_functions) {
        st = jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: model-local functions are not supported yet (%zu defined, first '%s')",
                     name, mp->n_functions, mp->functions[0]->name ? mp->functions[0]->name : "");
        goto done;
    }
    st = jt_graph_create(ctx, name, &g);
    if (st != JT_OK) goto done;
    g->ir_version = mp->ir_version;
    g->opset_onnx = (int32_t)onnx_opset;
    g->name = jt_graph_strdup(g, mp->graph->name);
    g->producer_name = jt_graph_strdup(g, mp->producer_name);
    g->producer_version = jt_graph_strdup(g, mp->producer_version);
    st = build_graph(ctx, g, mp->graph, base_dir);
    if (st == JT_OK) st = topo_sort(ctx, g);
    if (st == JT_OK)
        st = jt_resolve_ops(ctx, g, (int)mp->n_opset_import, domains, versions, opts->check_support);
    /* BatchNormalization's running mean and variance are state, not trainable parameters: fine-tuning an
     * imported model must not apply weight decay or gradient steps to them */
    for (int32_t k = 0; st == JT_OK && k < g->n_nodes; k++) {
        const jt_node *n = &g->nodes[k];
        if (strcmp(n->op_type, "BatchNormalization") != 0 || n->domain[0]) continue;
        for (int i = 3; i < 5 && i < n->n_in; i++)
            if (n->in[i] >= 0 && (g->values[n->in[i]].flags & JT_VALUE_PARAM)) g->values[n->in[i]].flags |= JT_VALUE_STATE;
    }
done:
    onnx__model_proto__free_unpacked(mp, NULL);
    if (st != JT_OK) {
        jt_graph_free(g);
        return st;
    }
    *out = g;
    return JT_OK;
}

jt_status jt_onnx_load(jt_ctx *ctx, const char *path, const jt_load_options *opts, jt_graph **out) {
    *out = NULL;
    void *buf;
    size_t size;
    JT_TRY(jt_read_file(ctx, path, MAX_MODEL_BYTES, &buf, &size));
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");
    jt_status st = jt_onnx_load_buffer(ctx, buf, size, path, dir, opts, out);
    free(buf);
    return st;
}
