/* Plan creation: bind input shapes, infer every node, fold constants, choose kernels, plan memory by
 * liveness and size the shared workspace. Built once per (graph, input shapes) and reused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "plan_internal.h"

#define MAX_VALUE_BYTES ((uint64_t)1 << 36) /* 64 GiB: a clear error instead of a failed malloc */

void jt_plan_options_default(jt_plan_options *o) {
    memset(o, 0, sizeof *o);
    o->fold_params = 1;
    o->fold_int_inputs = 1;
}

static jt_status own(jt_plan *p, size_t bytes, void **out) {
    if (p->n_owned == p->cap_owned) {
        int32_t cap = p->cap_owned ? p->cap_owned * 2 : 64;
        void **o = realloc(p->owned, sizeof(void *) * (size_t)cap);
        if (!o) return jt_fail(p->ctx, JT_ERR_OOM, "%s: out of memory", p->g->source);
        p->owned = o;
        p->cap_owned = cap;
    }
    void *m = jt_malloc_aligned(bytes);
    if (!m) return jt_fail(p->ctx, JT_ERR_OOM, "%s: out of memory for %zu bytes", p->g->source, bytes);
    p->owned[p->n_owned++] = m;
    *out = m;
    return JT_OK;
}

/* Does graph input v feed an input slot that must be known at plan time (Resize scales, ...)? */
static int feeds_const_slot(const jt_graph *g, int32_t v) {
    for (int32_t k = 0; k < g->n_nodes; k++) {
        const jt_node *n = &g->nodes[k];
        for (int i = 0; i < n->n_in && i < 32; i++)
            if (n->in[i] == v && ((n->op->impl->const_mask >> i) & 1)) return 1;
    }
    return 0;
}

static jt_status bind_inputs(jt_plan *p, const jt_tensor *inputs, int n_inputs) {
    const jt_graph *g = p->g;
    if (n_inputs != g->n_inputs)
        return jt_fail(p->ctx, JT_ERR_ARG, "%s: the model has %d input%s, %d given", g->source, g->n_inputs,
                       g->n_inputs == 1 ? "" : "s", n_inputs);
    for (int i = 0; i < n_inputs; i++) {
        const jt_value *v = &g->values[g->inputs[i]];
        const jt_tensor *x = &inputs[i];
        char want[256], got[256];
        jt_dims_str(v->dims, v->rank, want, sizeof want);
        jt_dims_str(x->dims, x->rank, got, sizeof got);
        if (v->dtype != JT_UNDEF && x->dtype != v->dtype)
            return jt_fail(p->ctx, JT_ERR_ARG, "%s: input '%s' expects %s %s, got %s %s", g->source, v->name,
                           jt_dtype_name(v->dtype), want, jt_dtype_name(x->dtype), got);
        if (x->rank != v->rank)
            return jt_fail(p->ctx, JT_ERR_SHAPE, "%s: input '%s' expects rank %d %s, got rank %d %s", g->source,
                           v->name, v->rank, want, x->rank, got);
        for (int d = 0; d < v->rank; d++)
            if (v->dims[d] >= 0 && v->dims[d] != x->dims[d])
                return jt_fail(p->ctx, JT_ERR_SHAPE, "%s: input '%s' expects shape %s, got %s (axis %d)",
                               g->source, v->name, want, got, d);
        /* one symbolic name, one size */
        for (int j = 0; j <= i; j++) {
            const jt_value *w = &g->values[g->inputs[j]];
            for (int d = 0; d < v->rank; d++)
                for (int e = 0; e < w->rank; e++)
                    if (v->dim_params[d] && w->dim_params[e] && strcmp(v->dim_params[d], w->dim_params[e]) == 0 &&
                        x->dims[d] != inputs[j].dims[e])
                        return jt_fail(p->ctx, JT_ERR_SHAPE,
                                       "%s: dimension '%s' is %lld in input '%s' but %lld in input '%s'", g->source,
                                       v->dim_params[d], (long long)x->dims[d], v->name,
                                       (long long)inputs[j].dims[e], w->name);
        }
        jt_tensor *t = &p->t[g->inputs[i]];
        jt_tensor_set_shape(t, x->dtype, x->rank, x->dims);
        t->data = NULL;
        if (p->opts.fold_int_inputs && x->data && feeds_const_slot(g, g->inputs[i])) {
            void *mem = NULL;
            JT_TRY(own(p, jt_tensor_nbytes(x), &mem));
            memcpy(mem, x->data, jt_tensor_nbytes(x));
            t->data = mem;
            p->is_const[g->inputs[i]] = 1;
        }
    }
    return JT_OK;
}

static int input_is_const(const jt_plan *p, int32_t v) { return v < 0 || p->is_const[v]; }

static jt_status infer_and_fold(jt_plan *p, int32_t k, jt_pnode *pn, int *folded) {
    const jt_graph *g = p->g;
    const jt_node *n = &g->nodes[k];
    const jt_op_impl *im = n->op->impl;
    *folded = 0;
    for (int i = 0; i < n->n_in; i++) pn->in[i] = n->in[i] >= 0 ? &p->t[n->in[i]] : NULL;
    for (int i = 0; i < n->n_out; i++) pn->out[i] = n->out[i] >= 0 ? &p->t[n->out[i]] : NULL;
    /* infer sees the data of constant inputs only */
    const jt_tensor *in_view[64];
    jt_tensor in_copy[64];
    JT_ASSERT(n->n_in <= 64 || im->max_in < 0);
    const jt_tensor **inv = n->n_in <= 64 ? in_view : calloc((size_t)n->n_in, sizeof *inv);
    jt_tensor *inc = n->n_in <= 64 ? in_copy : calloc((size_t)n->n_in, sizeof *inc);
    if (!inv || !inc) return jt_fail(p->ctx, JT_ERR_OOM, "out of memory");
    for (int i = 0; i < n->n_in; i++) {
        if (!pn->in[i]) {
            inv[i] = NULL;
            continue;
        }
        inc[i] = *pn->in[i];
        if (!p->is_const[n->in[i]]) inc[i].data = NULL;
        inv[i] = &inc[i];
    }
    for (int i = 0; i < n->n_out; i++)
        if (pn->out[i]) {
            memset(pn->out[i], 0, sizeof(jt_tensor));
            pn->out[i]->rank = -1;
        }
    jt_infer_args ia = {p->ctx, g, n, n->parsed, n->n_in, n->n_out, inv, pn->out};
    jt_status st = im->infer(&ia);
    if (inv != in_view) free((void *)inv);
    if (inc != in_copy) free(inc);
    if (st != JT_OK) return st;
    for (int i = 0; i < n->n_out; i++) {
        jt_tensor *o = pn->out[i];
        if (!o) continue;
        if (o->rank < 0 || !jt_dtype_supported(o->dtype))
            return jt_node_fail(p->ctx, g, n, JT_ERR_INTERNAL, "shape inference left output %d undefined", i);
        uint64_t bytes = jt_dtype_size(o->dtype);
        for (int d = 0; d < o->rank; d++) {
            if (o->dims[d] < 0)
                return jt_node_fail(p->ctx, g, n, JT_ERR_SHAPE, "output %d has a negative dimension", i);
            if (o->dims[d] && bytes > MAX_VALUE_BYTES / (uint64_t)o->dims[d]) {
                char s[256];
                return jt_node_fail(p->ctx, g, n, JT_ERR_SHAPE, "output '%s' would have shape %s: too large",
                                    g->values[n->out[i]].name, jt_dims_str(o->dims, o->rank, s, sizeof s));
            }
            bytes *= (uint64_t)o->dims[d];
        }
    }
    /* kernel choice */
    jt_dtype kdt;
    if (im->type_input >= 0 && im->type_input < n->n_in && pn->in[im->type_input])
        kdt = pn->in[im->type_input]->dtype;
    else
        kdt = pn->out[0] ? pn->out[0]->dtype : JT_F32;
    pn->fn = jt_op_cpu_kernel(n->op, kdt);
    if (!pn->fn)
        return jt_node_fail(p->ctx, g, n, JT_ERR_UNSUPPORTED, "no CPU kernel for %s tensors", jt_dtype_name(kdt));
    pn->alias = (im->flags & JT_OP_ALIAS) != 0;

    int can_fold = !(im->flags & JT_OP_NO_FOLD);
    if (can_fold && !(im->flags & JT_OP_SHAPE_ONLY))
        for (int i = 0; i < n->n_in; i++)
            if (!input_is_const(p, n->in[i])) can_fold = 0;
    if (!can_fold) return JT_OK;

    for (int i = 0; i < n->n_out; i++) {
        if (!pn->out[i]) continue;
        void *mem = NULL;
        JT_TRY(own(p, jt_tensor_nbytes(pn->out[i]), &mem));
        pn->out[i]->data = mem;
    }
    jt_kernel_args ka = {p->ctx, n, n->parsed, n->n_in, n->n_out, pn->in, pn->out, NULL, 0, jt_ctx_pool(p->ctx), NULL, jt_ctx_seed(p->ctx), p->runs, g, NULL};
    void *state = NULL;
    if (im->prepare) JT_TRY(im->prepare(&ka, &state));
    ka.state = state;
    size_t ws = im->workspace ? im->workspace(&ka) : 0;
    void *wsbuf = NULL;
    if (ws) {
        wsbuf = jt_malloc_aligned(ws);
        if (!wsbuf) return jt_fail(p->ctx, JT_ERR_OOM, "out of memory");
    }
    ka.ws = wsbuf;
    ka.ws_size = ws;
    st = pn->fn(&ka);
    jt_free_aligned(wsbuf);
    if (state && im->release) im->release(state);
    if (st != JT_OK) return st;
    for (int i = 0; i < n->n_out; i++)
        if (n->out[i] >= 0) {
            p->is_const[n->out[i]] = 1;
            p->stats.const_bytes += jt_tensor_nbytes(pn->out[i]);
        }
    *folded = 1;
    return JT_OK;
}

static jt_status plan_memory(jt_plan *p) {
    const jt_graph *g = p->g;
    int32_t nv = g->n_values;
    int32_t *def = malloc(sizeof(int32_t) * (size_t)nv), *last = malloc(sizeof(int32_t) * (size_t)nv);
    int32_t *root = malloc(sizeof(int32_t) * (size_t)nv);
    size_t *size = calloc((size_t)nv, sizeof(size_t)), *off = malloc(sizeof(size_t) * (size_t)nv);
    jt_status st = JT_OK;
    if (!def || !last || !root || !size || !off) {
        st = jt_fail(p->ctx, JT_ERR_OOM, "out of memory planning memory");
        goto done;
    }
    for (int32_t v = 0; v < nv; v++) {
        def[v] = -1;
        last[v] = -1;
        root[v] = v;
    }
    for (int32_t r = 0; r < p->n_run; r++) {
        const jt_node *n = &g->nodes[p->run[r].node];
        for (int i = 0; i < n->n_out; i++) {
            int32_t v = n->out[i];
            if (v < 0) continue;
            def[v] = last[v] = r;
            if (p->run[r].alias && i == 0 && n->in[0] >= 0) root[v] = root[n->in[0]];
            else size[v] = jt_tensor_nbytes(&p->t[v]);
            p->stats.naive_bytes += size[v];
        }
    }
    for (int32_t r = 0; r < p->n_run; r++) {
        const jt_node *n = &g->nodes[p->run[r].node];
        for (int i = 0; i < n->n_in; i++) {
            int32_t v = n->in[i];
            if (v >= 0 && def[root[v]] >= 0 && last[root[v]] < r) last[root[v]] = r;
        }
        for (int i = 0; i < n->n_out; i++) /* an alias keeps its root alive as long as itself */
            if (n->out[i] >= 0 && def[root[n->out[i]]] >= 0 && last[root[n->out[i]]] < r) last[root[n->out[i]]] = r;
    }
    /* graph outputs live to the end */
    for (int i = 0; i < g->n_outputs; i++) {
        int32_t v = root[g->outputs[i]];
        if (def[v] >= 0) last[v] = p->n_run;
    }
    for (int32_t v = 0; p->keep && v < nv; v++)
        if (p->keep[v] && def[root[v]] >= 0) last[root[v]] = p->n_run;
    if (p->opts.keep_all)
        for (int32_t v = 0; v < nv; v++)
            if (def[v] >= 0) last[v] = p->n_run;
    st = jt_plan_assign_offsets(p->ctx, nv, size, def, last, off, &p->arena_size);
    if (st != JT_OK) goto done;
    {
        void *arena = NULL;
        st = p->backend->vt->alloc(p->backend, p->arena_size ? p->arena_size : 64, &arena);
        if (st != JT_OK) {
            jt_error_prefix(p->ctx, "%s: activation arena of %zu bytes", g->source, p->arena_size);
            goto done;
        }
        p->arena = arena;
    }
    for (int32_t v = 0; v < nv; v++)
        if (off[v] != SIZE_MAX) p->t[v].data = p->arena + off[v];
    p->stats.arena_bytes = p->arena_size;
done:
    free(def);
    free(last);
    free(root);
    free(size);
    free(off);
    return st;
}

jt_status jt_plan_create(jt_ctx *ctx, const jt_graph *g, const jt_tensor *inputs, int n_inputs,
                         const jt_plan_options *opts, jt_plan **out) {
    *out = NULL;
    for (int32_t k = 0; k < g->n_nodes; k++)
        if (!g->nodes[k].op)
            return jt_node_fail(ctx, g, &g->nodes[k], JT_ERR_UNSUPPORTED, "operator is not supported");
    jt_plan *p = calloc(1, sizeof *p);
    if (!p) return jt_fail(ctx, JT_ERR_OOM, "out of memory");
    p->ctx = ctx;
    p->g = g;
    if (opts) p->opts = *opts;
    else jt_plan_options_default(&p->opts);
    if (p->opts.backend) {
        p->backend = p->opts.backend;
    } else {
        jt_status bst = jt_backend_cpu_create(ctx, &p->backend);
        if (bst != JT_OK) {
            free(p);
            return bst;
        }
        p->own_backend = 1;
    }
    if (p->opts.n_updates > 0) { /* own copies: the caller's arrays need not outlive this call */
        int32_t *u = malloc(sizeof(int32_t) * 2 * (size_t)p->opts.n_updates);
        if (!u) {
            if (p->own_backend) jt_backend_free(p->backend);
            free(p);
            return jt_fail(ctx, JT_ERR_OOM, "out of memory");
        }
        memcpy(u, p->opts.update_dst, sizeof(int32_t) * (size_t)p->opts.n_updates);
        memcpy(u + p->opts.n_updates, p->opts.update_src, sizeof(int32_t) * (size_t)p->opts.n_updates);
        p->opts.update_dst = u;
        p->opts.update_src = u + p->opts.n_updates;
    }
    jt_status st = JT_OK;
    size_t nptr = 0;
    for (int32_t k = 0; k < g->n_nodes; k++) nptr += (size_t)g->nodes[k].n_in + (size_t)g->nodes[k].n_out;
    p->t = calloc((size_t)g->n_values + 1, sizeof *p->t);
    p->is_const = calloc((size_t)g->n_values + 1, 1);
    p->run = calloc((size_t)g->n_nodes + 1, sizeof *p->run);
    p->ptr_pool = calloc(nptr + 1, sizeof(void *));
    if (!p->t || !p->is_const || !p->run || !p->ptr_pool) {
        jt_plan_free(p);
        return jt_fail(ctx, JT_ERR_OOM, "out of memory");
    }
    for (int32_t v = 0; v < g->n_values; v++) {
        const jt_value *val = &g->values[v];
        if (val->flags & JT_VALUE_PARAM) {
            jt_tensor_set_shape(&p->t[v], val->dtype, val->rank, val->dims);
            p->t[v].data = val->data;
            p->is_const[v] = (p->opts.fold_params || (val->flags & (JT_VALUE_CONST | JT_VALUE_FROZEN))) ? 1 : 0;
            p->stats.param_bytes += jt_tensor_nbytes(&p->t[v]);
        }
    }
    st = bind_inputs(p, inputs, n_inputs);
    void **ptrs = p->ptr_pool;
    int missing = 0;
    for (int32_t k = 0; k < g->n_nodes && st == JT_OK; k++) {
        const jt_node *n = &g->nodes[k];
        jt_pnode *pn = &p->run[p->n_run];
        memset(pn, 0, sizeof *pn);
        pn->node = k;
        pn->in = (const jt_tensor **)ptrs;
        ptrs += n->n_in;
        pn->out = (jt_tensor **)ptrs;
        ptrs += n->n_out;
        int folded;
        st = infer_and_fold(p, k, pn, &folded);
        if (st != JT_OK) break;
        if (folded) {
            p->stats.n_nodes_folded++;
            continue;
        }
        if (!p->backend->host_memory && !pn->alias) { /* device kernels; all missing ones reported at once */
            const jt_op_impl *im = n->op->impl;
            jt_dtype kdt = im->type_input >= 0 && im->type_input < n->n_in && pn->in[im->type_input]
                               ? pn->in[im->type_input]->dtype
                               : pn->out[0]->dtype;
            pn->fn = p->backend->vt->kernel(p->backend, n->op, kdt);
            if (!pn->fn) {
                if (!missing)
                    jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: these nodes have no kernel on %s:", g->source,
                            jt_backend_description(p->backend));
                if (missing < 20)
                    jt_error_append(ctx, "  node '%s' (%s, %s)", n->name, n->op_type, jt_dtype_name(kdt));
                missing++;
            }
        }
        jt_kernel_args ka = {ctx, n, n->parsed, n->n_in, n->n_out, pn->in, pn->out, NULL, 0, jt_ctx_pool(ctx), NULL, jt_ctx_seed(ctx), 0, g, p->backend};
        if (n->op->impl->cost) {
            double fl = 0, by = 0;
            n->op->impl->cost(&ka, &fl, &by);
            pn->flops = fl;
            p->stats.flops += fl;
        }
        /* per-backend workspace and preparation (CPU: oneDNN primitives; CUDA: cuDNN algorithms) */
        int host = p->backend->host_memory;
        jt_workspace_fn wsf = host ? n->op->impl->workspace : n->op->impl->cuda_workspace;
        jt_prepare_fn prep = host ? n->op->impl->prepare : n->op->impl->cuda_prepare;
        p->n_run++; /* counted before prepare so that a failure still releases what was prepared */
        /* prepare first: the workspace may depend on what it chose (cuDNN algorithms) */
        if (!pn->alias && prep && st == JT_OK) st = prep(&ka, &pn->state);
        ka.state = pn->state;
        if (!pn->alias && wsf && st == JT_OK) {
            size_t ws = wsf(&ka);
            if (ws > p->ws_size) p->ws_size = ws;
        }
    }
    for (int i = 0; i < p->opts.n_updates && st == JT_OK; i++) {
        int32_t d = p->opts.update_dst[i], s = p->opts.update_src[i];
        if (d < 0 || d >= g->n_values || s < 0 || s >= g->n_values || !(g->values[d].flags & JT_VALUE_PARAM) ||
            !g->values[d].data)
            st = jt_fail(ctx, JT_ERR_ARG, "%s: update %d: destination must be a parameter with storage", g->source, i);
        else if (p->is_const[d] && !(g->values[d].flags & JT_VALUE_STATE) && p->opts.fold_params)
            st = jt_fail(ctx, JT_ERR_ARG, "%s: update of parameter '%s' needs a plan built with fold_params = 0",
                         g->source, g->values[d].name);
        else if (p->t[s].dtype != p->t[d].dtype || !jt_dims_equal(p->t[s].dims, p->t[s].rank, p->t[d].dims, p->t[d].rank))
            st = jt_fail(ctx, JT_ERR_SHAPE, "%s: update of '%s' from '%s': dtype or shape differ", g->source,
                         g->values[d].name, g->values[s].name);
    }
    if (st == JT_OK && p->opts.n_updates) { /* keep the update sources alive to the end */
        p->keep = calloc((size_t)g->n_values, 1);
        if (!p->keep) st = jt_fail(ctx, JT_ERR_OOM, "out of memory");
        for (int i = 0; st == JT_OK && i < p->opts.n_updates; i++) p->keep[p->opts.update_src[i]] = 1;
    }
    if (st == JT_OK && missing) {
        if (missing > 20) jt_error_append(ctx, "  (+%d more)", missing - 20);
        st = JT_ERR_UNSUPPORTED;
    }
    if (st == JT_OK) st = plan_memory(p);
    if (st == JT_OK && p->ws_size) st = p->backend->vt->alloc(p->backend, p->ws_size, &p->ws);
    if (st == JT_OK && !p->backend->host_memory) st = jt_plan_device_setup(p);
    if (st != JT_OK) {
        jt_plan_free(p);
        return st;
    }
    p->stats.workspace_bytes = p->ws_size;
    p->stats.n_nodes_run = p->n_run;
    *out = p;
    return JT_OK;
}

void jt_plan_free(jt_plan *p) {
    if (!p) return;
    for (int32_t r = 0; r < p->n_run; r++) {
        const jt_op_impl *im = p->g->nodes[p->run[r].node].op->impl;
        jt_release_fn rel = p->backend && !p->backend->host_memory ? im->cuda_release : im->release;
        if (p->run[r].state && rel) rel(p->run[r].state);
    }
    for (int32_t i = 0; i < p->n_owned; i++) jt_free_aligned(p->owned[i]);
    free(p->owned);
    free(p->t);
    free(p->is_const);
    free(p->keep);
    if (p->opts.n_updates > 0) free((void *)p->opts.update_dst);
    free(p->run);
    free(p->ptr_pool);
    if (p->backend) {
        if (p->arena) p->backend->vt->free(p->backend, p->arena);
        if (p->ws) p->backend->vt->free(p->backend, p->ws);
        jt_plan_device_free(p);
        if (p->own_backend) jt_backend_free(p->backend);
    }
    free(p);
}

int jt_plan_n_outputs(const jt_plan *p) { return p->g->n_outputs; }

const jt_tensor *jt_plan_output(const jt_plan *p, int i) {
    if (i < 0 || i >= p->g->n_outputs) return NULL;
    return &p->t[p->g->outputs[i]];
}

jt_status jt_plan_output_download(jt_plan *p, int i, void *host) {
    const jt_tensor *t = jt_plan_output(p, i);
    if (!t) return jt_fail(p->ctx, JT_ERR_ARG, "%s: no output %d", p->g->source, i);
    /* constants (folded outputs) live in host memory even on device backends */
    int32_t v = p->g->outputs[i];
    if (p->backend->host_memory || (p->is_const[v] && !(p->dev_value && p->dev_value[v]))) {
        memcpy(host, t->data, jt_tensor_nbytes(t));
        return JT_OK;
    }
    return p->backend->vt->download(p->backend, host, t->data, jt_tensor_nbytes(t));
}

const jt_tensor *jt_plan_value_meta(const jt_plan *p, int32_t v) {
    if (v < 0 || v >= p->g->n_values) return NULL;
    return &p->t[v];
}

const jt_tensor *jt_plan_value(const jt_plan *p, int32_t v) {
    if (v < 0 || v >= p->g->n_values) return NULL;
    return p->t[v].data ? &p->t[v] : NULL;
}

void jt_plan_get_stats(const jt_plan *p, jt_plan_stats *s) { *s = p->stats; }

uint64_t jt_plan_runs(const jt_plan *p) { return p->runs; }
void jt_plan_set_runs(jt_plan *p, uint64_t runs) { p->runs = runs; }
