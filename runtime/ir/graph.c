/* Graph IR storage: growable arrays of values and nodes, names interned in the graph's arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "jatp/graph.h"

jt_status jt_graph_create(jt_ctx *ctx, const char *source, jt_graph **out) {
    *out = NULL;
    jt_graph *g = calloc(1, sizeof *g);
    if (!g) return jt_fail(ctx, JT_ERR_OOM, "out of memory creating a graph");
    g->arena = jt_arena_create();
    if (!g->arena) {
        free(g);
        return jt_fail(ctx, JT_ERR_OOM, "out of memory creating a graph");
    }
    g->source = jt_arena_strdup(g->arena, source ? source : "<graph>");
    g->name = "";
    g->producer_name = "";
    g->producer_version = "";
    *out = g;
    return JT_OK;
}

void jt_graph_free(jt_graph *g) {
    if (!g) return;
    jt_arena_free(g->arena);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->name_index);
    free(g);
}

void *jt_graph_alloc(jt_graph *g, size_t bytes) { return jt_arena_alloc(g->arena, bytes); }

const char *jt_graph_strdup(jt_graph *g, const char *s) { return jt_arena_strdup(g->arena, s ? s : ""); }

static int grow(void **arr, int32_t *cap, int32_t need, size_t elem) {
    if (need <= *cap) return 1;
    int32_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *p = realloc(*arr, (size_t)c * elem);
    if (!p) return 0;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(c - *cap) * elem);
    *arr = p;
    *cap = c;
    return 1;
}

static uint32_t name_hash(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void index_insert(jt_graph *g, int32_t id) {
    uint32_t mask = (uint32_t)g->name_index_cap - 1;
    for (uint32_t h = name_hash(g->values[id].name) & mask;; h = (h + 1) & mask)
        if (g->name_index[h] < 0) {
            g->name_index[h] = id;
            return;
        }
}

/* Keeps the load factor under 1/2; returns 0 on out-of-memory. */
static int index_reserve(jt_graph *g, int32_t n_values) {
    if (g->name_index_cap >= 2 * n_values + 2) return 1;
    int32_t cap = g->name_index_cap ? g->name_index_cap : 64;
    while (cap < 2 * n_values + 2) cap *= 2;
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)cap);
    if (!idx) return 0;
    for (int32_t i = 0; i < cap; i++) idx[i] = -1;
    free(g->name_index);
    g->name_index = idx;
    g->name_index_cap = cap;
    for (int32_t i = 0; i < g->n_values; i++) index_insert(g, i);
    return 1;
}

int32_t jt_graph_find_value(const jt_graph *g, const char *name) {
    if (!g->name_index_cap) return -1;
    uint32_t mask = (uint32_t)g->name_index_cap - 1;
    for (uint32_t h = name_hash(name) & mask;; h = (h + 1) & mask) {
        int32_t id = g->name_index[h];
        if (id < 0) return -1;
        if (strcmp(g->values[id].name, name) == 0) return id;
    }
}

jt_status jt_graph_add_value(jt_ctx *ctx, jt_graph *g, const char *name, int32_t *id_out) {
    if (jt_graph_find_value(g, name) >= 0)
        return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: value '%s' is defined twice", g->source, name);
    if (!grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof(jt_value)) ||
        !index_reserve(g, g->n_values + 1))
        return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory adding value '%s'", g->source, name);
    jt_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = jt_arena_strdup(g->arena, name);
    if (!v->name) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
    v->rank = -1;
    v->producer = -1;
    *id_out = g->n_values++;
    index_insert(g, *id_out);
    return JT_OK;
}

jt_status jt_graph_add_node(jt_ctx *ctx, jt_graph *g, const char *name, const char *op_type,
                            const char *domain, int n_in, int n_out, int n_attrs, int32_t *id_out) {
    if (!grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(jt_node)))
        return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory adding node '%s'", g->source, name);
    jt_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->name = jt_arena_strdup(g->arena, name);
    n->op_type = jt_arena_strdup(g->arena, op_type);
    n->domain = jt_arena_strdup(g->arena, domain ? domain : "");
    n->n_in = n_in;
    n->n_out = n_out;
    n->in = jt_arena_alloc(g->arena, sizeof(int32_t) * (size_t)(n_in > 0 ? n_in : 1));
    n->out = jt_arena_alloc(g->arena, sizeof(int32_t) * (size_t)(n_out > 0 ? n_out : 1));
    n->n_attrs = n_attrs;
    n->attrs = jt_arena_alloc(g->arena, sizeof(jt_attr) * (size_t)(n_attrs > 0 ? n_attrs : 1));
    if (!n->name || !n->op_type || !n->domain || !n->in || !n->out || !n->attrs)
        return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory adding node '%s'", g->source, name);
    for (int i = 0; i < n_in; i++) n->in[i] = -1;
    for (int i = 0; i < n_out; i++) n->out[i] = -1;
    *id_out = g->n_nodes++;
    return JT_OK;
}

jt_status jt_graph_add_input(jt_ctx *ctx, jt_graph *g, int32_t id) {
    if (!grow((void **)&g->inputs, &g->cap_inputs, g->n_inputs + 1, sizeof(int32_t)))
        return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
    g->inputs[g->n_inputs++] = id;
    g->values[id].flags |= JT_VALUE_INPUT;
    return JT_OK;
}

jt_status jt_graph_add_output(jt_ctx *ctx, jt_graph *g, int32_t id) {
    if (!grow((void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1, sizeof(int32_t)))
        return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
    g->outputs[g->n_outputs++] = id;
    g->values[id].flags |= JT_VALUE_OUTPUT;
    return JT_OK;
}

const jt_attr *jt_node_attr(const jt_node *n, const char *name) {
    for (int i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].name && strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

void jt_graph_param_stats(const jt_graph *g, int64_t *count, int64_t *bytes) {
    int64_t c = 0, b = 0;
    for (int32_t i = 0; i < g->n_values; i++) {
        const jt_value *v = &g->values[i];
        if (!(v->flags & JT_VALUE_PARAM) || (v->flags & JT_VALUE_CONST)) continue;
        int64_t n = 1;
        for (int k = 0; k < v->rank; k++) n *= v->dims[k];
        c += n;
        b += n * (int64_t)jt_dtype_size(v->dtype);
    }
    *count = c;
    *bytes = b;
}

int jt_graph_trainable_params(const jt_graph *g, int32_t *ids, int cap) {
    int n = 0;
    for (int32_t v = 0; v < g->n_values; v++) {
        uint32_t f = g->values[v].flags;
        if (!(f & JT_VALUE_PARAM) || (f & (JT_VALUE_FROZEN | JT_VALUE_STATE | JT_VALUE_CONST))) continue;
        if (n < cap) ids[n] = v;
        n++;
    }
    return n;
}

jt_status jt_graph_copy_params(jt_ctx *ctx, jt_graph *dst, const jt_graph *src, const char *dst_prefix,
                               int allow_missing, int *copied) {
    int n = 0;
    char name[1024];
    for (int32_t v = 0; v < src->n_values; v++) {
        const jt_value *s = &src->values[v];
        if (!(s->flags & (JT_VALUE_PARAM | JT_VALUE_STATE)) || (s->flags & JT_VALUE_CONST) || !s->data) continue;
        snprintf(name, sizeof name, "%s%s", dst_prefix ? dst_prefix : "", s->name);
        int32_t d = jt_graph_find_value(dst, name);
        if (d < 0 || !dst->values[d].data) {
            if (allow_missing) continue;
            return jt_fail(ctx, JT_ERR_ARG, "%s: no parameter '%s' to receive '%s' from %s", dst->source, name, s->name,
                           src->source);
        }
        jt_value *t = &dst->values[d];
        if (t->dtype != s->dtype || !jt_dims_equal(t->dims, t->rank, s->dims, s->rank))
            return jt_fail(ctx, JT_ERR_SHAPE, "%s: parameter '%s' is %s rank %d, %s has %s rank %d", dst->source, name,
                           jt_dtype_name(t->dtype), t->rank, src->source, jt_dtype_name(s->dtype), s->rank);
        int64_t cnt = 1;
        for (int k = 0; k < s->rank; k++) cnt *= s->dims[k];
        memcpy(t->data, s->data, (size_t)cnt * jt_dtype_size(s->dtype));
        n++;
    }
    if (copied) *copied = n;
    return JT_OK;
}
