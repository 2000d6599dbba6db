/* Graph IR -> ONNX ModelProto (IR 8, ai.onnx opset 17), packed with protobuf-c and written through
 * jt_write_atomic. Only standard-domain nodes are written: a graph with jatp.grad, training or other
 * nodes (or ops whose ai.onnx version at opset 17 differs from the one the node was built at) fails
 * with one error listing every such node. Parameters are written as raw_data initializers
 * (little-endian); the protobuf tree points into the graph, nothing is copied but names and types. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "jatp/io.h"
#include "jatp/jatp.h"
#include "jatp/onnx.h"
#include "jatp/plan.h"
#include "onnx_internal.h"
#include "op.h"

#define SAVE_IR_VERSION 8
#define SAVE_OPSET 17

void jt_save_options_default(jt_save_options *o) { memset(o, 0, sizeof *o); }

typedef struct saver {
    jt_ctx *ctx;
    const jt_graph *g;
    const jt_save_options *o;
    jt_arena *arena;
    size_t strip_len;
    char *keep;       /* per node */
    char *bn_eval;    /* per node: training-mode BN written in inference form */
    char *used;       /* per value: referenced by a written node or a graph output */
    int32_t *outs;    /* graph outputs written */
    int n_outs;
    jt_dtype *out_dt; /* inferred output types */
    int32_t *out_rank;
    int64_t (*out_dims)[JT_MAX_RANK];
    const char *(*out_params)[JT_MAX_RANK];
} saver;

static jt_status oom(saver *s) { return jt_fail(s->ctx, JT_ERR_OOM, "%s: export: out of memory", s->g->source); }

static void *zalloc(saver *s, size_t bytes) { return jt_arena_alloc(s->arena, bytes ? bytes : 1); }

/* Name as written: strip_prefix removed. The protobuf tree only reads it. */
static char *wname(saver *s, const char *name) {
    if (s->strip_len && strncmp(name, s->o->strip_prefix, s->strip_len) == 0) name += s->strip_len;
    return (char *)name;
}

static int is_onnx_domain(const char *d) { return !d || !d[0] || strcmp(d, "ai.onnx") == 0; }

static int bn_training(const jt_node *n) {
    if (strcmp(n->op_type, "BatchNormalization") != 0 || !is_onnx_domain(n->domain)) return 0;
    const jt_attr *a = jt_node_attr(n, "training_mode");
    return a && a->type == JT_ATTR_INT && a->i != 0;
}

/* Which nodes are written: all of them, or those the requested outputs need. */
static jt_status select_nodes(saver *s) {
    const jt_graph *g = s->g;
    s->keep = calloc((size_t)g->n_nodes + 1, 1);
    s->bn_eval = calloc((size_t)g->n_nodes + 1, 1);
    s->used = calloc((size_t)g->n_values + 1, 1);
    if (!s->keep || !s->bn_eval || !s->used) return oom(s);
    if (s->o->outputs && s->o->n_outputs > 0) {
        s->outs = (int32_t *)s->o->outputs;
        s->n_outs = s->o->n_outputs;
    } else {
        s->outs = g->outputs;
        s->n_outs = g->n_outputs;
    }
    if (s->n_outs == 0) return jt_fail(s->ctx, JT_ERR_ARG, "%s: export: the graph has no outputs", g->source);
    for (int i = 0; i < s->n_outs; i++) {
        if (s->outs[i] < 0 || s->outs[i] >= g->n_values)
            return jt_fail(s->ctx, JT_ERR_ARG, "%s: export: output %d is not a value id (%d)", g->source, i, s->outs[i]);
        s->used[s->outs[i]] = 1;
    }
    int subgraph = s->outs != g->outputs;
    for (int32_t k = g->n_nodes - 1; k >= 0; k--) {
        const jt_node *n = &g->nodes[k];
        int need = !subgraph;
        for (int i = 0; i < n->n_out && !need; i++)
            if (n->out[i] >= 0 && s->used[n->out[i]]) need = 1;
        if (!need) continue;
        s->keep[k] = 1;
        s->bn_eval[k] = s->o->bn_eval && bn_training(n);
        int n_in = s->bn_eval[k] && n->n_in > 5 ? 5 : n->n_in;
        for (int i = 0; i < n_in; i++)
            if (n->in[i] >= 0) s->used[n->in[i]] = 1;
    }
    /* with bn_eval, the running-statistic outputs are not written: nothing may read them */
    int bad = 0;
    for (int32_t k = 0; k < g->n_nodes; k++) {
        if (!s->bn_eval[k]) continue;
        const jt_node *n = &g->nodes[k];
        for (int i = 1; i < n->n_out; i++)
            if (n->out[i] >= 0 && s->used[n->out[i]]) {
                if (!bad++)
                    jt_fail(s->ctx, JT_ERR_ARG, "%s: export with bn_eval: these running-statistic outputs are still read:",
                            g->source);
                jt_error_append(s->ctx, "  node '%s' (BatchNormalization) output %d '%s'", n->name, i,
                                g->values[n->out[i]].name);
            }
    }
    return bad ? JT_ERR_ARG : JT_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* One error listing every node that cannot be written as ai.onnx opset 17. */
static jt_status check_nodes(saver *s) {
    const jt_graph *g = s->g;
    int bad = 0;
    for (int32_t k = 0; k < g->n_nodes; k++) {
        if (!s->keep[k]) continue;
        const jt_node *n = &g->nodes[k];
        char why[256] = "";
        if (!is_onnx_domain(n->domain)) {
            snprintf(why, sizeof why, "domain '%s' is not ai.onnx", n->domain);
        } else if (n->opset > 0 && n->opset != SAVE_OPSET) {
            const jt_op *have = jt_op_lookup("", n->op_type, n->opset);
            const jt_op *want = jt_op_lookup("", n->op_type, SAVE_OPSET);
            if (have != want)
                snprintf(why, sizeof why, "built as %s-%d (opset %d), but opset %d means %s-%d", n->op_type,
                         have ? have->since : 0, n->opset, SAVE_OPSET, n->op_type, want ? want->since : 0);
        }
        if (!why[0]) continue;
        if (!bad++)
            jt_fail(s->ctx, JT_ERR_UNSUPPORTED,
                    "%s: export: nodes that cannot be written as standard ONNX (ai.onnx opset %d):", g->source,
                    SAVE_OPSET);
        jt_error_append(s->ctx, "  node '%s' (%s%s%s): %s", n->name, is_onnx_domain(n->domain) ? "" : n->domain,
                        is_onnx_domain(n->domain) ? "" : ".", n->op_type, why);
    }
    if (bad) {
        jt_error_append(s->ctx, "hint: export only the inference part (jt_save_options.outputs), e.g. the denoiser's "
                                "output of a training graph");
        return JT_ERR_UNSUPPORTED;
    }
    return JT_OK;
}

/* Written value names must stay unique once strip_prefix is removed. */
static jt_status check_names(saver *s, const char **names, int32_t nv) {
    qsort(names, (size_t)nv, sizeof *names, cmp_str);
    for (int32_t i = 1; i < nv; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return jt_fail(s->ctx, JT_ERR_ARG, "%s: export: two values are both named '%s' once the prefix '%s' is removed",
                           s->g->source, names[i], s->o->strip_prefix);
    return JT_OK;
}

/* ---- output types: from the IR when known, else from two plans with different bindings of the
 * symbolic input dims (a dim that follows the binding is symbolic in the output) ---- */

typedef struct sym {
    const char *name;
    int64_t a, b;
} sym;

static int64_t sym_bind(sym *tab, int *n, const char *name, int axis, int pass) {
    for (int i = 0; name && i < *n; i++)
        if (tab[i].name && strcmp(tab[i].name, name) == 0) return pass ? tab[i].b : tab[i].a;
    sym e = {name, axis == 0 ? 2 : 32, axis == 0 ? 3 : 48};
    if (*n < 64) tab[(*n)++] = e;
    return pass ? e.b : e.a;
}

static jt_status infer_outputs(saver *s) {
    const jt_graph *g = s->g;
    int n = s->n_outs;
    s->out_dt = zalloc(s, sizeof(jt_dtype) * (size_t)n);
    s->out_rank = zalloc(s, sizeof(int32_t) * (size_t)n);
    s->out_dims = zalloc(s, sizeof *s->out_dims * (size_t)n);
    s->out_params = zalloc(s, sizeof *s->out_params * (size_t)n);
    if (!s->out_dt || !s->out_rank || !s->out_dims || !s->out_params) return oom(s);
    int need_plan = 0;
    for (int i = 0; i < n; i++) {
        const jt_value *v = &g->values[s->outs[i]];
        s->out_dt[i] = v->dtype;
        s->out_rank[i] = v->rank;
        for (int d = 0; d < v->rank && d < JT_MAX_RANK; d++) {
            s->out_dims[i][d] = v->dims[d];
            s->out_params[i][d] = v->dim_params[d];
        }
        if (v->dtype == JT_UNDEF || v->rank < 0) need_plan = 1;
    }
    if (!need_plan) return JT_OK;
    jt_graph view = *g; /* the same graph with the written outputs as its outputs */
    view.outputs = s->outs;
    view.n_outputs = n;
    jt_tensor *bind = calloc((size_t)g->n_inputs + 1, sizeof *bind);
    if (!bind) return oom(s);
    sym tab[64];
    int ntab = 0;
    jt_plan *plan[2] = {NULL, NULL};
    jt_status st = JT_OK;
    for (int pass = 0; pass < 2 && st == JT_OK; pass++) {
        for (int i = 0; i < g->n_inputs; i++) {
            const jt_value *v = &g->values[g->inputs[i]];
            bind[i].dtype = v->dtype;
            bind[i].rank = v->rank;
            for (int d = 0; d < v->rank; d++)
                bind[i].dims[d] = v->dims[d] >= 0 ? v->dims[d] : sym_bind(tab, &ntab, v->dim_params[d], d, pass);
        }
        jt_plan_options po;
        jt_plan_options_default(&po);
        st = jt_plan_create(s->ctx, &view, bind, g->n_inputs, &po, &plan[pass]);
    }
    if (st == JT_OK) {
        for (int i = 0; i < n; i++) {
            const jt_tensor *a = jt_plan_output(plan[0], i), *b = jt_plan_output(plan[1], i);
            s->out_dt[i] = a->dtype;
            s->out_rank[i] = a->rank;
            for (int d = 0; d < a->rank; d++) {
                s->out_params[i][d] = NULL;
                s->out_dims[i][d] = a->dims[d];
                if (a->dims[d] == b->dims[d]) continue;
                s->out_dims[i][d] = JT_DIM_UNKNOWN;
                for (int t = 0; t < ntab; t++)
                    if (tab[t].a == a->dims[d] && tab[t].b == b->dims[d]) {
                        s->out_params[i][d] = tab[t].name;
                        break;
                    }
            }
        }
    } else {
        jt_error_prefix(s->ctx, "%s: export: cannot infer the types of the outputs", g->source);
    }
    jt_plan_free(plan[0]);
    jt_plan_free(plan[1]);
    free(bind);
    return st;
}

/* ---- protobuf construction ---- */

static Onnx__TensorProto *tensor_proto(saver *s, const char *name, jt_dtype dt, int rank, const int64_t *dims,
                                       const void *data) {
    Onnx__TensorProto *tp = zalloc(s, sizeof *tp);
    if (!tp) return NULL;
    *tp = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    tp->name = name ? wname(s, name) : NULL;
    tp->n_dims = (size_t)rank;
    tp->dims = (int64_t *)dims;
    tp->has_data_type = 1;
    tp->data_type = (int32_t)dt;
    size_t bytes = jt_dtype_size(dt);
    for (int i = 0; i < rank; i++) bytes *= (size_t)dims[i];
    tp->has_raw_data = 1; /* x86-64 and aarch64 are little-endian, as raw_data is */
    tp->raw_data.len = bytes;
    tp->raw_data.data = (uint8_t *)data;
    return tp;
}

static Onnx__ValueInfoProto *value_info(saver *s, const char *name, jt_dtype dt, int rank, const int64_t *dims,
                                        const char *const *params) {
    Onnx__ValueInfoProto *vi = zalloc(s, sizeof *vi);
    Onnx__TypeProto *tp = zalloc(s, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = zalloc(s, sizeof *tt);
    if (!vi || !tp || !tt) return NULL;
    *vi = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    *tp = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
    *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
    vi->name = wname(s, name);
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = (int32_t)dt;
    if (rank < 0) return vi;
    Onnx__TensorShapeProto *sh = zalloc(s, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dv = zalloc(s, sizeof *dv * (size_t)(rank + 1));
    if (!sh || !dv) return NULL;
    *sh = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    sh->n_dim = (size_t)rank;
    sh->dim = dv;
    for (int d = 0; d < rank; d++) {
        Onnx__TensorShapeProto__Dimension *dim = zalloc(s, sizeof *dim);
        if (!dim) return NULL;
        *dim = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        if (dims[d] >= 0) {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim->dim_value = dims[d];
        } else if (params && params[d]) {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim->dim_param = (char *)params[d];
        }
        dv[d] = dim;
    }
    tt->shape = sh;
    return vi;
}

static jt_status attr_proto(saver *s, const jt_node *n, const jt_attr *a, Onnx__AttributeProto **out) {
    Onnx__AttributeProto *ap = zalloc(s, sizeof *ap);
    if (!ap) return oom(s);
    *ap = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    ap->name = (char *)a->name;
    ap->has_type = 1;
    ap->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case JT_ATTR_FLOAT: ap->has_f = 1; ap->f = (float)a->f; break;
    case JT_ATTR_INT: ap->has_i = 1; ap->i = a->i; break;
    case JT_ATTR_STRING:
        ap->has_s = 1;
        ap->s.len = (size_t)a->s_len;
        ap->s.data = (uint8_t *)a->s;
        break;
    case JT_ATTR_TENSOR:
        if (!a->t) goto bad;
        ap->t = tensor_proto(s, NULL, a->t->dtype, a->t->rank, a->t->dims, a->t->data);
        if (!ap->t) return oom(s);
        break;
    case JT_ATTR_FLOATS:
        ap->n_floats = (size_t)a->n;
        ap->floats = zalloc(s, sizeof(float) * (size_t)a->n);
        if (!ap->floats) return oom(s);
        for (int i = 0; i < a->n; i++) ap->floats[i] = (float)a->floats[i];
        break;
    case JT_ATTR_INTS:
        ap->n_ints = (size_t)a->n;
        ap->ints = a->ints;
        break;
    case JT_ATTR_STRINGS:
        ap->n_strings = (size_t)a->n;
        ap->strings = zalloc(s, sizeof(ProtobufCBinaryData) * (size_t)a->n);
        if (!ap->strings) return oom(s);
        for (int i = 0; i < a->n; i++) {
            ap->strings[i].len = strlen(a->strings[i]);
            ap->strings[i].data = (uint8_t *)a->strings[i];
        }
        break;
    default:
    bad:
        return jt_fail(s->ctx, JT_ERR_UNSUPPORTED, "%s: export: node '%s' (%s) attribute '%s' has type %d, which "
                       "export does not write", s->g->source, n->name, n->op_type, a->name, (int)a->type);
    }
    *out = ap;
    return JT_OK;
}

static jt_status node_proto(saver *s, int32_t k, Onnx__NodeProto **out) {
    const jt_graph *g = s->g;
    const jt_node *n = &g->nodes[k];
    Onnx__NodeProto *np = zalloc(s, sizeof *np);
    if (!np) return oom(s);
    *np = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    np->name = wname(s, n->name);
    np->op_type = (char *)n->op_type;
    np->domain = NULL; /* ai.onnx */
    int n_in = s->bn_eval[k] && n->n_in > 5 ? 5 : n->n_in;
    while (n_in > 0 && n->in[n_in - 1] < 0) n_in--;
    int n_out = s->bn_eval[k] ? 1 : n->n_out;
    while (n_out > 0 && n->out[n_out - 1] < 0) n_out--;
    np->n_input = (size_t)n_in;
    np->input = zalloc(s, sizeof(char *) * (size_t)n_in);
    np->n_output = (size_t)n_out;
    np->output = zalloc(s, sizeof(char *) * (size_t)n_out);
    np->attribute = zalloc(s, sizeof(Onnx__AttributeProto *) * (size_t)n->n_attrs);
    if (!np->input || !np->output || !np->attribute) return oom(s);
    for (int i = 0; i < n_in; i++) np->input[i] = n->in[i] >= 0 ? wname(s, g->values[n->in[i]].name) : "";
    for (int i = 0; i < n_out; i++) np->output[i] = n->out[i] >= 0 ? wname(s, g->values[n->out[i]].name) : "";
    for (int a = 0; a < n->n_attrs; a++) {
        if (s->bn_eval[k] && strcmp(n->attrs[a].name, "training_mode") == 0) continue;
        JT_TRY(attr_proto(s, n, &n->attrs[a], &np->attribute[np->n_attribute]));
        np->n_attribute++;
    }
    *out = np;
    return JT_OK;
}

static jt_status build_model(saver *s, Onnx__ModelProto **out) {
    const jt_graph *g = s->g;
    Onnx__ModelProto *mp = zalloc(s, sizeof *mp);
    Onnx__GraphProto *gp = zalloc(s, sizeof *gp);
    Onnx__OperatorSetIdProto *os = zalloc(s, sizeof *os);
    Onnx__OperatorSetIdProto **osv = zalloc(s, sizeof *osv);
    int32_t nmax = g->n_values + 1;
    gp->node = zalloc(s, sizeof(Onnx__NodeProto *) * (size_t)(g->n_nodes + 1));
    gp->initializer = zalloc(s, sizeof(Onnx__TensorProto *) * (size_t)nmax);
    gp->input = zalloc(s, sizeof(Onnx__ValueInfoProto *) * (size_t)(g->n_inputs + 1));
    gp->output = zalloc(s, sizeof(Onnx__ValueInfoProto *) * (size_t)(s->n_outs + 1));
    const char **names = malloc(sizeof(char *) * (size_t)nmax);
    if (!mp || !gp || !os || !osv || !gp->node || !gp->initializer || !gp->input || !gp->output || !names) {
        free(names);
        return oom(s);
    }
    Onnx__NodeProto **nodes = gp->node;
    Onnx__TensorProto **inits = gp->initializer;
    Onnx__ValueInfoProto **ins = gp->input, **outs = gp->output;
    *mp = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
    *gp = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
    *os = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
    gp->node = nodes;
    gp->initializer = inits;
    gp->input = ins;
    gp->output = outs;
    os->domain = "";
    os->has_version = 1;
    os->version = SAVE_OPSET;
    osv[0] = os;
    mp->has_ir_version = 1;
    mp->ir_version = SAVE_IR_VERSION;
    mp->n_opset_import = 1;
    mp->opset_import = osv;
    mp->producer_name = "jatp";
    mp->producer_version = JATP_VERSION;
    mp->graph = gp;
    const char *gname = s->o->graph_name ? s->o->graph_name : g->name && g->name[0] ? g->name : "jatp";
    gp->name = (char *)gname;
    int subgraph = s->outs != g->outputs;
    int32_t nn = 0;
    jt_status st = JT_OK;
    for (int i = 0; i < g->n_inputs && st == JT_OK; i++) {
        const jt_value *v = &g->values[g->inputs[i]];
        if (subgraph && !s->used[g->inputs[i]]) continue;
        if (v->dtype == JT_UNDEF || v->rank < 0) {
            st = jt_fail(s->ctx, JT_ERR_INVALID_MODEL, "%s: export: graph input '%s' has no type", g->source, v->name);
            break;
        }
        if (!(ins[gp->n_input++] = value_info(s, v->name, v->dtype, v->rank, v->dims, v->dim_params))) st = oom(s);
        names[nn++] = wname(s, v->name);
    }
    for (int32_t id = 0; id < g->n_values && st == JT_OK; id++) {
        const jt_value *v = &g->values[id];
        if (!(v->flags & JT_VALUE_PARAM) || v->producer >= 0 || (v->flags & JT_VALUE_INPUT)) continue;
        int write = s->used[id] || (!subgraph && !(v->flags & (JT_VALUE_STATE | JT_VALUE_CONST)));
        if (!write) continue;
        if (!v->data || !jt_dtype_supported(v->dtype) || v->rank < 0) {
            st = jt_fail(s->ctx, JT_ERR_INVALID_MODEL, "%s: export: parameter '%s' has no data or type", g->source,
                         v->name);
            break;
        }
        if (!(inits[gp->n_initializer++] = tensor_proto(s, v->name, v->dtype, v->rank, v->dims, v->data))) st = oom(s);
        names[nn++] = wname(s, v->name);
    }
    for (int32_t k = 0; k < g->n_nodes && st == JT_OK; k++) {
        if (!s->keep[k]) continue;
        st = node_proto(s, k, &nodes[gp->n_node++]);
        const jt_node *n = &g->nodes[k];
        for (int i = 0; st == JT_OK && i < (s->bn_eval[k] ? 1 : n->n_out); i++)
            if (n->out[i] >= 0) names[nn++] = wname(s, g->values[n->out[i]].name);
    }
    for (int i = 0; i < s->n_outs && st == JT_OK; i++) {
        const jt_value *v = &g->values[s->outs[i]];
        if (s->out_dt[i] == JT_UNDEF) {
            st = jt_fail(s->ctx, JT_ERR_INVALID_MODEL, "%s: export: the type of output '%s' is unknown", g->source,
                         v->name);
            break;
        }
        if (!(outs[gp->n_output++] = value_info(s, v->name, s->out_dt[i], s->out_rank[i], s->out_dims[i],
                                                s->out_params[i])))
            st = oom(s);
    }
    if (st == JT_OK && s->strip_len) st = check_names(s, names, nn);
    free(names);
    if (st == JT_OK) *out = mp;
    return st;
}

jt_status jt_onnx_save_buffer(jt_ctx *ctx, const jt_graph *g, const jt_save_options *opts, void **data, size_t *size) {
    *data = NULL;
    *size = 0;
    jt_save_options defaults;
    if (!opts) {
        jt_save_options_default(&defaults);
        opts = &defaults;
    }
    saver s = {0};
    s.ctx = ctx;
    s.g = g;
    s.o = opts;
    s.strip_len = opts->strip_prefix ? strlen(opts->strip_prefix) : 0;
    s.arena = jt_arena_create();
    if (!s.arena) return oom(&s);
    Onnx__ModelProto *mp = NULL;
    jt_status st = select_nodes(&s);
    if (st == JT_OK) st = check_nodes(&s);
    if (st == JT_OK) st = infer_outputs(&s);
    if (st == JT_OK) st = build_model(&s, &mp);
    if (st == JT_OK) {
        size_t n = onnx__model_proto__get_packed_size(mp);
        if (n >= ((size_t)1 << 31)) {
            st = jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: export: the model needs %zu bytes, above protobuf's 2 GiB limit "
                         "(external data is not written yet)", g->source, n);
        } else {
            uint8_t *buf = malloc(n ? n : 1);
            if (!buf) st = oom(&s);
            else if (onnx__model_proto__pack(mp, buf) != n) {
                free(buf);
                st = jt_fail(ctx, JT_ERR_INTERNAL, "%s: export: protobuf packing wrote an unexpected size", g->source);
            } else {
                *data = buf;
                *size = n;
            }
        }
    }
    free(s.keep);
    free(s.bn_eval);
    free(s.used);
    jt_arena_free(s.arena);
    return st;
}

jt_status jt_onnx_save(jt_ctx *ctx, const jt_graph *g, const char *path, const jt_save_options *opts) {
    void *buf;
    size_t n;
    JT_TRY(jt_onnx_save_buffer(ctx, g, opts, &buf, &n));
    jt_status st = jt_write_atomic(ctx, path, buf, n);
    free(buf);
    return st;
}
