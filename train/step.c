/* Step plans: forward + loss + backward + optimizer as one plan with parameter write-back. */
#include <stdlib.h>
#include <string.h>

#include "jatp/autodiff.h"
#include "jatp/trainer.h"

#define MAX_TRAIN_PARAMS 4096

jt_status jt_step_create(jt_ctx *ctx, jt_graph *g, const jt_step_spec *spec, const jt_tensor *shapes, int n_shapes,
                         jt_step **out) {
    *out = NULL;
    int32_t *params = NULL, *grads = NULL;
    int np = spec->n_params;
    jt_step *s = calloc(1, sizeof *s);
    if (!s) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory for a training step", g->source);
    s->g = g;
    jt_status st = JT_OK;
    if (!spec->params) {
        np = jt_graph_trainable_params(g, NULL, 0);
        params = malloc(sizeof *params * (size_t)(np + 1));
        if (params) jt_graph_trainable_params(g, params, np);
    } else {
        params = malloc(sizeof *params * (size_t)(np + 1));
        if (params) memcpy(params, spec->params, sizeof *params * (size_t)np);
    }
    grads = malloc(sizeof *grads * (size_t)(np + 1));
    if (!params || !grads) st = jt_fail(ctx, JT_ERR_OOM, "%s: out of memory for a training step", g->source);
    if (st == JT_OK && np == 0) st = jt_fail(ctx, JT_ERR_ARG, "%s: nothing to train (no trainable parameters)", g->source);
    if (st == JT_OK) st = jt_build_backward(ctx, g, &spec->loss, NULL, 1, params, np, grads);
    if (st == JT_OK) {
        if (spec->optimizer == JT_OPT_ADAM) st = jt_append_adam(ctx, g, params, grads, np, &spec->adam, &s->os);
        else st = jt_append_sgd(ctx, g, params, grads, np, &spec->sgd, &s->os);
    }
    if (st == JT_OK) st = jt_graph_add_output(ctx, g, spec->loss);
    for (int i = 0; st == JT_OK && i < spec->n_logs; i++) st = jt_graph_add_output(ctx, g, spec->logs[i]);
    s->n_logs = spec->n_logs;
    if (st == JT_OK) {
        s->bound = calloc((size_t)g->n_inputs + 1, sizeof *s->bound);
        s->user_pos = calloc((size_t)g->n_inputs + 1, sizeof *s->user_pos);
        if (!s->bound || !s->user_pos) st = jt_fail(ctx, JT_ERR_OOM, "out of memory");
    }
    for (int i = 0; st == JT_OK && i < g->n_inputs; i++) {
        if (i == s->os.lr_input_index) {
            s->bound[i] = (jt_tensor){.dtype = JT_F64, .rank = 0, .data = &s->lr_value};
        } else if (i == s->os.step_input_index) {
            s->bound[i] = (jt_tensor){.dtype = JT_F64, .rank = 0, .data = &s->step_value};
        } else {
            if (s->n_user >= n_shapes) {
                st = jt_fail(ctx, JT_ERR_ARG, "%s: the training graph has more inputs than the %d given", g->source,
                             n_shapes);
                break;
            }
            s->bound[i] = shapes[s->n_user];
            s->user_pos[s->n_user++] = i;
        }
    }
    if (st == JT_OK && s->n_user != n_shapes)
        st = jt_fail(ctx, JT_ERR_ARG, "%s: %d inputs given, the training graph has %d", g->source, n_shapes, s->n_user);
    int nu = s->os.n_updates + spec->n_updates;
    if (st == JT_OK) {
        s->upd_dst = malloc(sizeof(int32_t) * (size_t)(nu + 1));
        s->upd_src = malloc(sizeof(int32_t) * (size_t)(nu + 1));
        if (!s->upd_dst || !s->upd_src) st = jt_fail(ctx, JT_ERR_OOM, "out of memory");
    }
    if (st == JT_OK) {
        memcpy(s->upd_dst, s->os.update_dst, sizeof(int32_t) * (size_t)s->os.n_updates);
        memcpy(s->upd_src, s->os.update_src, sizeof(int32_t) * (size_t)s->os.n_updates);
        if (spec->n_updates) {
            memcpy(s->upd_dst + s->os.n_updates, spec->update_dst, sizeof(int32_t) * (size_t)spec->n_updates);
            memcpy(s->upd_src + s->os.n_updates, spec->update_src, sizeof(int32_t) * (size_t)spec->n_updates);
        }
        jt_plan_options po;
        jt_plan_options_default(&po);
        po.fold_params = 0;
        po.update_dst = s->upd_dst;
        po.update_src = s->upd_src;
        po.n_updates = nu;
        po.backend = spec->backend;
        st = jt_plan_create(ctx, g, s->bound, g->n_inputs, &po, &s->plan);
    }
    free(params);
    free(grads);
    if (st != JT_OK) {
        jt_step_free(s);
        return st;
    }
    *out = s;
    return JT_OK;
}

static jt_status read_scalar(jt_plan *p, int i, double *v) {
    const jt_tensor *t = jt_plan_output(p, i);
    if (t->dtype == JT_F64) {
        double d;
        JT_TRY(jt_plan_output_download(p, i, &d));
        *v = d;
    } else {
        float f;
        JT_TRY(jt_plan_output_download(p, i, &f));
        *v = f;
    }
    return JT_OK;
}

jt_status jt_step_run(jt_step *s, const jt_tensor *inputs, double lr, int64_t step_no, double *loss, double *logs) {
    for (int k = 0; k < s->n_user; k++) s->bound[s->user_pos[k]] = inputs[k];
    s->lr_value = lr;
    s->step_value = (double)step_no;
    JT_TRY(jt_plan_run(s->plan, s->bound, s->g->n_inputs));
    s->runs++;
    int first = jt_plan_n_outputs(s->plan) - 1 - s->n_logs; /* the loss and logs are the last outputs */
    if (loss) JT_TRY(read_scalar(s->plan, first, loss));
    for (int k = 0; logs && k < s->n_logs; k++) JT_TRY(read_scalar(s->plan, first + 1 + k, &logs[k]));
    return JT_OK;
}

void jt_step_free(jt_step *s) {
    if (!s) return;
    jt_plan_free(s->plan);
    free(s->upd_dst);
    free(s->upd_src);
    free(s->bound);
    free(s->user_pos);
    free(s);
}
