/* Graph composition: prefixed deep copies, F = T∘P with T frozen, tap lookup. */
#include "jatp/compose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"

static const char *pfx(char *buf, size_t cap, const char *prefix, const char *name) {
    snprintf(buf, cap, "%s%s", prefix ? prefix : "", name);
    return buf;
}

static jt_status copy_attr(jt_graph *dst, const jt_attr *s, jt_attr *d) {
    *d = *s;
    d->name = jt_graph_strdup(dst, s->name);
    if (s->s) {
        char *c = jt_graph_alloc(dst, (size_t)s->s_len + 1);
        if (!c) return JT_ERR_OOM;
        memcpy(c, s->s, (size_t)s->s_len);
        d->s = c;
    }
    if (s->ints) {
        int64_t n = s->n > 0 ? s->n : 1;
        d->ints = jt_graph_alloc(dst, sizeof(int64_t) * (size_t)n);
        if (!d->ints) return JT_ERR_OOM;
        memcpy(d->ints, s->ints, sizeof(int64_t) * (size_t)(s->n > 0 ? s->n : 0));
    }
    if (s->floats) {
        int64_t n = s->n > 0 ? s->n : 1;
        d->floats = jt_graph_alloc(dst, sizeof(double) * (size_t)n);
        if (!d->floats) return JT_ERR_OOM;
        memcpy(d->floats, s->floats, sizeof(double) * (size_t)(s->n > 0 ? s->n : 0));
    }
    if (s->strings) {
        d->strings = jt_graph_alloc(dst, sizeof(char *) * (size_t)(s->n > 0 ? s->n : 1));
        if (!d->strings) return JT_ERR_OOM;
        for (int i = 0; i < s->n; i++) d->strings[i] = jt_graph_strdup(dst, s->strings[i]);
    }
    if (s->t) {
        jt_tensor *t = jt_graph_alloc(dst, sizeof *t);
        if (!t) return JT_ERR_OOM;
        *t = *s->t;
        size_t nb = jt_tensor_nbytes(s->t);
        t->data = jt_graph_alloc(dst, nb ? nb : 1);
        if (!t->data) return JT_ERR_OOM;
        if (nb) memcpy(t->data, s->t->data, nb);
        d->t = t;
    }
    return JT_OK;
}

jt_status jt_graph_append(jt_ctx *ctx, jt_graph *dst, const jt_graph *src, const char *prefix, const int32_t *bind,
                          int32_t *map) {
    char buf[1024];
    for (int32_t v = 0; v < src->n_values; v++) map[v] = -1;
    for (int i = 0; i < src->n_inputs; i++)
        if (bind && bind[i] >= 0) map[src->inputs[i]] = bind[i];
    for (int32_t v = 0; v < src->n_values; v++) {
        if (map[v] >= 0) continue;
        const jt_value *s = &src->values[v];
        int32_t id;
        JT_TRY(jt_graph_add_value(ctx, dst, pfx(buf, sizeof buf, prefix, s->name), &id));
        jt_value *d = &dst->values[id];
        d->dtype = s->dtype;
        d->rank = s->rank;
        memcpy(d->dims, s->dims, sizeof d->dims);
        for (int k = 0; k < s->rank && k < JT_MAX_RANK; k++)
            d->dim_params[k] = s->dim_params[k] ? jt_graph_strdup(dst, s->dim_params[k]) : NULL;
        d->flags = s->flags & ~(uint32_t)(JT_VALUE_INPUT | JT_VALUE_OUTPUT);
        d->producer = -1;
        if (s->data) {
            int64_t n = 1;
            for (int k = 0; k < s->rank; k++) n *= s->dims[k];
            size_t nb = (size_t)n * jt_dtype_size(s->dtype);
            d->data = jt_graph_alloc(dst, nb ? nb : 1);
            if (!d->data) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory copying '%s'", dst->source, s->name);
            if (nb) memcpy(d->data, s->data, nb);
        }
        map[v] = id;
    }
    for (int i = 0; i < src->n_inputs; i++)
        if (!bind || bind[i] < 0) JT_TRY(jt_graph_add_input(ctx, dst, map[src->inputs[i]]));
    for (int32_t k = 0; k < src->n_nodes; k++) {
        const jt_node *s = &src->nodes[k];
        int32_t nid;
        JT_TRY(jt_graph_add_node(ctx, dst, pfx(buf, sizeof buf, prefix, s->name), s->op_type, s->domain, s->n_in,
                                 s->n_out, s->n_attrs, &nid));
        jt_node *d = &dst->nodes[nid];
        d->op = s->op;
        d->opset = s->opset;
        for (int i = 0; i < s->n_in; i++) d->in[i] = s->in[i] >= 0 ? map[s->in[i]] : -1;
        for (int i = 0; i < s->n_out; i++) {
            d->out[i] = s->out[i] >= 0 ? map[s->out[i]] : -1;
            if (d->out[i] >= 0) dst->values[d->out[i]].producer = nid;
        }
        for (int a = 0; a < s->n_attrs; a++)
            if (copy_attr(dst, &s->attrs[a], &d->attrs[a]) != JT_OK)
                return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", dst->source);
        /* parse again: parsed structs may point into the source graph's attributes */
        if (d->op && d->op->impl) {
            const jt_op_impl *im = d->op->impl;
            if (im->attr_size) {
                d->parsed = jt_graph_alloc(dst, im->attr_size);
                if (!d->parsed) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", dst->source);
            }
            if (im->parse) JT_TRY(im->parse(ctx, dst, d, d->parsed));
        }
    }
    if (dst->opset_onnx < src->opset_onnx) dst->opset_onnx = src->opset_onnx;
    return JT_OK;
}

jt_status jt_compose(jt_ctx *ctx, const jt_graph *P, const jt_graph *T, jt_graph **out, jt_composed *info) {
    *out = NULL;
    memset(info, 0, sizeof *info);
    info->p_out = -1;
    if (T->n_inputs != 1)
        return jt_fail(ctx, JT_ERR_ARG, "%s: the target must have exactly one input (it has %d)", T->source, T->n_inputs);
    if (P && (P->n_outputs < 1 || P->n_inputs < 1))
        return jt_fail(ctx, JT_ERR_ARG, "%s: the pre-processor needs an input and an output", P->source);
    char name[1024];
    snprintf(name, sizeof name, "%s + %s", P ? P->source : "(none)", T->source);
    jt_graph *g;
    JT_TRY(jt_graph_create(ctx, name, &g));
    g->opset_onnx = T->opset_onnx;
    jt_status st = JT_OK;
    info->t_map = malloc(sizeof(int32_t) * (size_t)(T->n_values + 1));
    if (P) info->p_map = malloc(sizeof(int32_t) * (size_t)(P->n_values + 1));
    if (!info->t_map || (P && !info->p_map)) st = jt_fail(ctx, JT_ERR_OOM, "out of memory");
    int32_t bind = -1;
    if (st == JT_OK && P) {
        st = jt_graph_append(ctx, g, P, "P/", NULL, info->p_map);
        if (st == JT_OK) bind = info->p_out = info->p_map[P->outputs[0]];
    }
    if (st == JT_OK) st = jt_graph_append(ctx, g, T, "T/", P ? &bind : NULL, info->t_map);
    if (st == JT_OK && !P) info->p_out = info->t_map[T->inputs[0]];
    for (int i = 0; st == JT_OK && i < T->n_outputs; i++) st = jt_graph_add_output(ctx, g, info->t_map[T->outputs[i]]);
    for (int32_t v = 0; st == JT_OK && v < T->n_values; v++)
        if (T->values[v].flags & JT_VALUE_PARAM) g->values[info->t_map[v]].flags |= JT_VALUE_FROZEN;
    if (st != JT_OK) {
        jt_graph_free(g);
        jt_composed_free(info);
        return st;
    }
    *out = g;
    return JT_OK;
}

void jt_composed_free(jt_composed *info) {
    if (!info) return;
    free(info->p_map);
    free(info->t_map);
    info->p_map = info->t_map = NULL;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

jt_status jt_graph_find_tap(jt_ctx *ctx, const jt_graph *g, const char *name, int32_t *value) {
    *value = jt_graph_find_value(g, name);
    if (*value >= 0) return JT_OK;
    for (int32_t k = 0; k < g->n_nodes; k++)
        if (strcmp(g->nodes[k].name, name) == 0 && g->nodes[k].n_out > 0) {
            *value = g->nodes[k].out[0];
            return JT_OK;
        }
    /* suffix matches on node names (PyTorch exporters name nodes /layer3/layer3.1/conv2/Conv) */
    int found = 0;
    for (int32_t k = 0; k < g->n_nodes; k++)
        if (ends_with(g->nodes[k].name, name) && g->nodes[k].n_out > 0) {
            if (found++ == 0) *value = g->nodes[k].out[0];
        }
    for (int32_t v = 0; !found && v < g->n_values; v++)
        if (ends_with(g->values[v].name, name)) {
            if (found++ == 0) *value = v;
        }
    if (found == 1) return JT_OK;
    *value = -1;
    if (found > 1) {
        jt_fail(ctx, JT_ERR_ARG, "%s: tap '%s' matches %d nodes; give a longer name:", g->source, name, found);
        for (int32_t k = 0, shown = 0; k < g->n_nodes && shown < 10; k++)
            if (ends_with(g->nodes[k].name, name)) {
                jt_error_append(ctx, "  %s", g->nodes[k].name);
                shown++;
            }
        return JT_ERR_ARG;
    }
    return jt_fail(ctx, JT_ERR_ARG, "%s: no value or node named '%s' to tap (see `jatp inspect --values`)", g->source,
                   name);
}
