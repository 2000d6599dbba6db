/* Device backends: constants the run nodes read are uploaded once at plan time; host inputs are staged
 * through plan-owned device buffers; trained parameters are synchronised back on request. */
#include <stdlib.h>
#include <string.h>

#include "plan_internal.h"

jt_status jt_plan_device_setup(jt_plan *p) {
    const jt_graph *g = p->g;
    jt_backend *b = p->backend;
    p->dev_value = calloc((size_t)g->n_values + 1, sizeof(void *));
    p->dev_input = calloc((size_t)g->n_inputs + 1, sizeof(void *));
    p->host_input = calloc((size_t)g->n_inputs + 1, sizeof(void *));
    if (!p->dev_value || !p->dev_input || !p->host_input) return jt_fail(p->ctx, JT_ERR_OOM, "out of memory");
    /* constants read by run nodes, and parameters written by updates */
    uint8_t *need = calloc((size_t)g->n_values + 1, 1);
    if (!need) return jt_fail(p->ctx, JT_ERR_OOM, "out of memory");
    for (int32_t r = 0; r < p->n_run; r++) {
        const jt_node *n = &g->nodes[p->run[r].node];
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0 && (p->is_const[n->in[i]] || (g->values[n->in[i]].flags & JT_VALUE_PARAM)))
                need[n->in[i]] = 1;
    }
    for (int i = 0; i < p->opts.n_updates; i++) need[p->opts.update_dst[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++)
        if (p->is_const[g->outputs[i]]) need[g->outputs[i]] = 1;
    jt_status st = JT_OK;
    for (int32_t v = 0; v < g->n_values && st == JT_OK; v++) {
        if (!need[v] || !p->t[v].data) continue;
        size_t nb = jt_tensor_nbytes(&p->t[v]);
        for (int i = 0; i < g->n_inputs; i++)
            if (g->inputs[i] == v) p->host_input[i] = p->t[v].data; /* folded input: keep the host copy */
        st = b->vt->alloc(b, nb, &p->dev_value[v]);
        if (st == JT_OK) st = b->vt->upload(b, p->dev_value[v], p->t[v].data, nb);
        if (st == JT_OK) {
            p->t[v].data = p->dev_value[v];
            p->t[v].device = b->device;
        }
    }
    free(need);
    for (int i = 0; i < g->n_inputs && st == JT_OK; i++) {
        int32_t v = g->inputs[i];
        if (p->is_const[v]) continue;
        st = b->vt->alloc(b, jt_tensor_nbytes(&p->t[v]), &p->dev_input[i]);
        p->t[v].device = b->device;
    }
    for (int32_t v = 0; v < g->n_values; v++)
        if (p->t[v].data && (uint8_t *)p->t[v].data >= p->arena && (uint8_t *)p->t[v].data < p->arena + p->arena_size)
            p->t[v].device = b->device;
    if (st == JT_OK) st = b->vt->sync(b);
    return st;
}

void jt_plan_device_free(jt_plan *p) {
    jt_backend *b = p->backend;
    for (int32_t v = 0; p->dev_value && v < p->g->n_values; v++)
        if (p->dev_value[v]) b->vt->free(b, p->dev_value[v]);
    for (int i = 0; p->dev_input && i < p->g->n_inputs; i++)
        if (p->dev_input[i]) b->vt->free(b, p->dev_input[i]);
    free(p->dev_value);
    free(p->dev_input);
    free(p->host_input);
    p->dev_value = NULL;
    p->dev_input = NULL;
    p->host_input = NULL;
}

jt_status jt_plan_sync_params(jt_plan *p) {
    if (p->backend->host_memory) return JT_OK;
    const jt_graph *g = p->g;
    for (int32_t v = 0; v < g->n_values; v++) {
        if (!p->dev_value || !p->dev_value[v] || !(g->values[v].flags & JT_VALUE_PARAM) || !g->values[v].data) continue;
        JT_TRY(p->backend->vt->download(p->backend, g->values[v].data, p->dev_value[v], jt_tensor_nbytes(&p->t[v])));
    }
    return JT_OK;
}
