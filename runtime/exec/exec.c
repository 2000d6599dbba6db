/* Executes a plan: binds input data, then runs each planned node through its CPU kernel. Nothing is
 * allocated here. */
#include <string.h>
#include <time.h>

#include "../plan/plan_internal.h"

static jt_status bind_data(jt_plan *p, const jt_tensor *inputs, int n_inputs) {
    const jt_graph *g = p->g;
    if (n_inputs != g->n_inputs)
        return jt_fail(p->ctx, JT_ERR_ARG, "%s: the model has %d inputs, %d given", g->source, g->n_inputs, n_inputs);
    for (int i = 0; i < n_inputs; i++) {
        jt_tensor *t = &p->t[g->inputs[i]];
        if (inputs[i].dtype != t->dtype || !jt_dims_equal(inputs[i].dims, inputs[i].rank, t->dims, t->rank)) {
            char a[256], b[256];
            return jt_fail(p->ctx, JT_ERR_SHAPE, "%s: input '%s' was planned as %s %s but is %s %s; build a new plan",
                           g->source, g->values[g->inputs[i]].name, jt_dtype_name(t->dtype),
                           jt_dims_str(t->dims, t->rank, a, sizeof a), jt_dtype_name(inputs[i].dtype),
                           jt_dims_str(inputs[i].dims, inputs[i].rank, b, sizeof b));
        }
        if (!inputs[i].data && jt_tensor_nbytes(t))
            return jt_fail(p->ctx, JT_ERR_ARG, "%s: input '%s' has no data", g->source, g->values[g->inputs[i]].name);
        if (p->is_const[g->inputs[i]]) { /* folded at plan time: the values must not change */
            const void *held = p->host_input && p->host_input[i] ? p->host_input[i] : t->data;
            if (inputs[i].device.kind == JT_DEV_CPU && memcmp(held, inputs[i].data, jt_tensor_nbytes(t)) != 0)
                return jt_fail(p->ctx, JT_ERR_ARG,
                               "%s: integer input '%s' was folded into the plan as a constant and its values "
                               "changed; build a new plan", g->source, g->values[g->inputs[i]].name);
            continue;
        }
        if (p->backend->host_memory || inputs[i].device.kind != JT_DEV_CPU) {
            t->data = inputs[i].data; /* used in place */
        } else {
            t->data = p->dev_input[i];
            JT_TRY(p->backend->vt->upload(p->backend, t->data, inputs[i].data, jt_tensor_nbytes(t)));
        }
    }
    return JT_OK;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

jt_status jt_plan_run_profiled(jt_plan *p, const jt_tensor *inputs, int n_inputs, jt_node_time_cb cb, void *user) {
    JT_TRY(bind_data(p, inputs, n_inputs));
    jt_pool *pool = jt_ctx_pool(p->ctx);
    for (int32_t r = 0; r < p->n_run; r++) {
        jt_pnode *pn = &p->run[r];
        const jt_node *n = &p->g->nodes[pn->node];
        if (pn->alias) {
            pn->out[0]->data = (void *)pn->in[0]->data;
            continue;
        }
        jt_kernel_args ka = {p->ctx, n, n->parsed, n->n_in, n->n_out, pn->in, pn->out, p->ws, p->ws_size, pool,
                             pn->state, jt_ctx_seed(p->ctx), p->runs, p->g, p->backend};
        double t0 = cb ? now_s() : 0;
        jt_status st = pn->fn(&ka);
        if (st != JT_OK) return st;
        if (cb) cb(user, n, now_s() - t0, pn->flops);
    }
    p->runs++;
    for (int i = 0; i < p->opts.n_updates; i++) { /* write back trained parameters and state */
        const jt_tensor *src = &p->t[p->opts.update_src[i]];
        int32_t d = p->opts.update_dst[i];
        void *dst = p->backend->host_memory ? p->g->values[d].data : p->dev_value[d];
        JT_TRY(p->backend->vt->copy(p->backend, dst, src->data, jt_tensor_nbytes(src)));
    }
    return JT_OK;
}

jt_status jt_plan_run(jt_plan *p, const jt_tensor *inputs, int n_inputs) {
    return jt_plan_run_profiled(p, inputs, n_inputs, NULL, NULL);
}
