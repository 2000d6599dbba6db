/* Optimizer steps appended to a training graph, and host-side learning-rate schedules; see
 * include/jatp/train.h. No kernels here: the step nodes are jatp.SGDStep / jatp.AdamStep /
 * jatp.ClipByGlobalNorm (ops/optim/optim_torch.c). */
#include "jatp/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jatp/builder.h"
#include "op.h"

#define JT_DOMAIN_JATP "jatp"

void jt_sgd_config_default(jt_sgd_config *c) {
    memset(c, 0, sizeof *c);
    c->name = "optim";
}

void jt_adam_config_default(jt_adam_config *c) {
    memset(c, 0, sizeof *c);
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->name = "optim";
}

/* A float attribute kept in double precision (jt_gb_attr_float rounds to float32 as ONNX does; the
 * jatp-domain optimizer nodes are never exported, so they keep PyTorch's double hyper-parameters). */
static void attr_exact(jt_gb *b, const char *name, double v) {
    jt_gb_attr_float(b, name, v);
    if (b->status == JT_OK) b->attrs[b->n_attrs - 1].f = v;
}

static int input_index(const jt_graph *g, int32_t v) {
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] == v) return i;
    return -1;
}

/* The scalar float64 graph input <prefix>/<what>, created when absent. */
static jt_status scalar_input(jt_gb *b, const char *prefix, const char *what, int32_t *id, int *index) {
    char name[256];
    snprintf(name, sizeof name, "%s/%s", prefix, what);
    int32_t v = jt_graph_find_value(b->g, name);
    if (v < 0) v = jt_gb_input(b, name, JT_F64, 0, NULL);
    JT_TRY(jt_gb_status(b));
    const jt_value *val = &b->g->values[v];
    int idx = input_index(b->g, v);
    if (idx < 0 || val->dtype != JT_F64 || val->rank != 0)
        return jt_fail(b->ctx, JT_ERR_ARG, "%s: '%s' exists but is not a scalar float64 graph input", b->g->source,
                       name);
    *id = v;
    *index = idx;
    return JT_OK;
}

static jt_status check_pairs(jt_ctx *ctx, const jt_graph *g, const int32_t *params, const int32_t *grads, int n) {
    if (n <= 0) return jt_fail(ctx, JT_ERR_ARG, "%s: optimizer: no parameters given", g->source);
    for (int i = 0; i < n; i++) {
        if (params[i] < 0 || params[i] >= g->n_values)
            return jt_fail(ctx, JT_ERR_ARG, "%s: optimizer: parameter %d has an invalid value id %d", g->source, i,
                           params[i]);
        const jt_value *p = &g->values[params[i]];
        if (!(p->flags & JT_VALUE_PARAM) || !p->data || (p->flags & (JT_VALUE_CONST | JT_VALUE_FROZEN | JT_VALUE_STATE)))
            return jt_fail(ctx, JT_ERR_ARG,
                           "%s: optimizer: '%s' is not a trainable parameter (needs an initializer that is not "
                           "frozen, constant or optimizer state)", g->source, p->name);
        if (!jt_dtype_is_float(p->dtype))
            return jt_fail(ctx, JT_ERR_ARG, "%s: optimizer: parameter '%s' is %s, expected float32 or float64",
                           g->source, p->name, jt_dtype_name(p->dtype));
        if (grads[i] < 0 || grads[i] >= g->n_values)
            return jt_fail(ctx, JT_ERR_ARG, "%s: optimizer: parameter '%s' has no gradient (value id %d)", g->source,
                           p->name, grads[i]);
        const jt_value *d = &g->values[grads[i]];
        /* the gradient's dtype/shape may still be unknown here (inferred at plan time); check when known */
        if ((d->dtype != JT_UNDEF && d->dtype != p->dtype) ||
            (d->rank >= 0 && d->dtype != JT_UNDEF && !jt_dims_equal(d->dims, d->rank, p->dims, p->rank))) {
            char s1[128], s2[128];
            return jt_fail(ctx, JT_ERR_SHAPE, "%s: optimizer: gradient '%s' is %s %s but parameter '%s' is %s %s",
                           g->source, d->name, jt_dtype_name(d->dtype), jt_dims_str(d->dims, d->rank, s1, sizeof s1),
                           p->name, jt_dtype_name(p->dtype), jt_dims_str(p->dims, p->rank, s2, sizeof s2));
        }
    }
    return JT_OK;
}

/* A zero-filled state buffer "<param>/<what>" shaped like the parameter. */
static int32_t state_buffer(jt_gb *b, int32_t param, const char *what) {
    if (b->status != JT_OK) return -1;
    const jt_value *p = &b->g->values[param];
    char name[512];
    snprintf(name, sizeof name, "%s/%s", p->name, what);
    int64_t dims[JT_MAX_RANK];
    memcpy(dims, p->dims, sizeof dims);
    int32_t v = jt_gb_param(b, name, p->dtype, p->rank, dims, NULL);
    if (v >= 0) b->g->values[v].flags |= JT_VALUE_STATE;
    return v;
}

typedef struct common {
    jt_gb b;
    const char *prefix;
    int32_t *grads; /* possibly clipped */
} common;

/* Inputs, the state arrays and optional clipping shared by both optimizers. */
static jt_status begin(jt_ctx *ctx, jt_graph *g, const int32_t *params, const int32_t *grads, int n,
                       const char *name, double clip_norm, int bufs_per_param, jt_optim_state *out, common *c) {
    memset(out, 0, sizeof *out);
    out->grad_norm = -1;
    JT_TRY(check_pairs(ctx, g, params, grads, n));
    if (!(clip_norm >= 0.0))
        return jt_fail(ctx, JT_ERR_ARG, "%s: optimizer: clip_norm is %g, expected >= 0 (0 = off)", g->source, clip_norm);
    c->prefix = name && name[0] ? name : "optim";
    jt_gb_init(&c->b, ctx, g, g->opset_onnx > 0 ? g->opset_onnx : 18);
    JT_TRY(scalar_input(&c->b, c->prefix, "lr", &out->lr_input, &out->lr_input_index));
    JT_TRY(scalar_input(&c->b, c->prefix, "step", &out->step_input, &out->step_input_index));
    size_t nb = (size_t)n * (size_t)bufs_per_param;
    out->buffers = jt_graph_alloc(g, sizeof(int32_t) * (nb ? nb : 1));
    out->update_dst = jt_graph_alloc(g, sizeof(int32_t) * ((size_t)n + nb));
    out->update_src = jt_graph_alloc(g, sizeof(int32_t) * ((size_t)n + nb));
    out->new_params = jt_graph_alloc(g, sizeof(int32_t) * (size_t)n);
    c->grads = jt_graph_alloc(g, sizeof(int32_t) * (size_t)n);
    if (!out->buffers || !out->update_dst || !out->update_src || !out->new_params || !c->grads)
        return jt_fail(ctx, JT_ERR_OOM, "%s: optimizer: out of memory", g->source);
    memcpy(c->grads, grads, sizeof(int32_t) * (size_t)n);
    if (clip_norm > 0.0) {
        int32_t *ins = jt_graph_alloc(g, sizeof(int32_t) * ((size_t)n + 1));
        int32_t *outs = jt_graph_alloc(g, sizeof(int32_t) * ((size_t)n + 1));
        if (!ins || !outs) return jt_fail(ctx, JT_ERR_OOM, "%s: optimizer: out of memory", g->source);
        memcpy(ins, grads, sizeof(int32_t) * (size_t)n);
        char cname[256];
        snprintf(cname, sizeof cname, "%s/max_norm", c->prefix);
        ins[n] = jt_gb_const(&c->b, jt_graph_find_value(g, cname) < 0 ? cname : NULL, JT_F64, 0, NULL, &clip_norm);
        snprintf(cname, sizeof cname, "%s/clip", c->prefix);
        jt_gb_node(&c->b, "ClipByGlobalNorm", JT_DOMAIN_JATP, cname, ins, n + 1, outs, n + 1);
        JT_TRY(jt_gb_status(&c->b));
        memcpy(c->grads, outs, sizeof(int32_t) * (size_t)n);
        out->grad_norm = outs[n];
    }
    return JT_OK;
}

static void add_update(jt_optim_state *s, int32_t dst, int32_t src) {
    s->update_dst[s->n_updates] = dst;
    s->update_src[s->n_updates] = src;
    s->n_updates++;
}

jt_status jt_append_sgd(jt_ctx *ctx, jt_graph *g, const int32_t *params, const int32_t *grads, int n,
                        const jt_sgd_config *cfg, jt_optim_state *out) {
    jt_sgd_config def;
    if (!cfg) {
        jt_sgd_config_default(&def);
        cfg = &def;
    }
    if (!(cfg->momentum >= 0) || !(cfg->weight_decay >= 0) || (cfg->nesterov && (cfg->momentum <= 0 || cfg->dampening != 0)))
        return jt_fail(ctx, JT_ERR_ARG,
                       "%s: SGD: momentum %g and weight_decay %g must be >= 0; nesterov needs momentum > 0 and "
                       "dampening 0", g->source, cfg->momentum, cfg->weight_decay);
    int has_buf = cfg->momentum != 0.0;
    common c;
    JT_TRY(begin(ctx, g, params, grads, n, cfg->name, cfg->clip_norm, has_buf, out, &c));
    for (int i = 0; i < n; i++) {
        int32_t v = has_buf ? state_buffer(&c.b, params[i], "momentum") : -1;
        char nname[512];
        snprintf(nname, sizeof nname, "%s/sgd/%s", c.prefix, g->values[params[i]].name);
        attr_exact(&c.b, "momentum", cfg->momentum);
        attr_exact(&c.b, "weight_decay", cfg->weight_decay);
        attr_exact(&c.b, "dampening", cfg->dampening);
        jt_gb_attr_int(&c.b, "nesterov", cfg->nesterov ? 1 : 0);
        int32_t ins[5] = {params[i], c.grads[i], v, out->lr_input, out->step_input}, outs[2];
        jt_gb_node(&c.b, "SGDStep", JT_DOMAIN_JATP, nname, ins, 5, outs, has_buf ? 2 : 1);
        JT_TRY(jt_gb_status(&c.b));
        out->new_params[i] = outs[0];
        add_update(out, params[i], outs[0]);
        if (has_buf) {
            out->buffers[out->n_buffers++] = v;
            add_update(out, v, outs[1]);
        }
    }
    return JT_OK;
}

jt_status jt_append_adam(jt_ctx *ctx, jt_graph *g, const int32_t *params, const int32_t *grads, int n,
                         const jt_adam_config *cfg, jt_optim_state *out) {
    jt_adam_config def;
    if (!cfg) {
        jt_adam_config_default(&def);
        cfg = &def;
    }
    if (!(cfg->beta1 >= 0 && cfg->beta1 < 1) || !(cfg->beta2 >= 0 && cfg->beta2 < 1) || !(cfg->eps >= 0) ||
        !(cfg->weight_decay >= 0))
        return jt_fail(ctx, JT_ERR_ARG, "%s: Adam: betas (%g, %g) must be in [0, 1), eps %g and weight_decay %g >= 0",
                       g->source, cfg->beta1, cfg->beta2, cfg->eps, cfg->weight_decay);
    common c;
    JT_TRY(begin(ctx, g, params, grads, n, cfg->name, cfg->clip_norm, 2, out, &c));
    for (int i = 0; i < n; i++) {
        int32_t m = state_buffer(&c.b, params[i], "exp_avg");
        int32_t v = state_buffer(&c.b, params[i], "exp_avg_sq");
        char nname[512];
        snprintf(nname, sizeof nname, "%s/%s/%s", c.prefix, cfg->adamw ? "adamw" : "adam", g->values[params[i]].name);
        attr_exact(&c.b, "beta1", cfg->beta1);
        attr_exact(&c.b, "beta2", cfg->beta2);
        attr_exact(&c.b, "eps", cfg->eps);
        attr_exact(&c.b, "weight_decay", cfg->weight_decay);
        jt_gb_attr_int(&c.b, "adamw", cfg->adamw ? 1 : 0);
        int32_t ins[6] = {params[i], c.grads[i], m, v, out->lr_input, out->step_input}, outs[3];
        jt_gb_node(&c.b, "AdamStep", JT_DOMAIN_JATP, nname, ins, 6, outs, 3);
        JT_TRY(jt_gb_status(&c.b));
        out->new_params[i] = outs[0];
        add_update(out, params[i], outs[0]);
        out->buffers[out->n_buffers++] = m;
        out->buffers[out->n_buffers++] = v;
        add_update(out, m, outs[1]);
        add_update(out, v, outs[2]);
    }
    return JT_OK;
}

/* ---- schedules: PyTorch's recursive forms, evaluated from epoch 0 ---- */

double jt_lr_multistep(double base_lr, int64_t epoch, const int64_t *milestones, int n_milestones, double gamma) {
    /* MultiStepLR.get_lr: at an epoch listed k times, lr = lr * gamma ** k */
    double lr = base_lr;
    for (int64_t e = 0; e <= epoch; e++) {
        int k = 0;
        for (int i = 0; i < n_milestones; i++) k += milestones[i] == e;
        if (k) lr = lr * pow(gamma, (double)k);
    }
    return lr;
}

double jt_lr_cosine(double base_lr, int64_t epoch, int64_t t_max, double eta_min) {
    /* CosineAnnealingLR.get_lr, stepped once per epoch from last_epoch 0 */
    if (t_max <= 0) return base_lr;
    const double pi = 3.14159265358979323846; /* == math.pi */
    double lr = base_lr, tm = (double)t_max;
    for (int64_t e = 1; e <= epoch; e++) {
        int64_t r = (e - 1 - t_max) % (2 * t_max);
        if (r < 0) r += 2 * t_max;
        if (r == 0)
            lr = lr + (base_lr - eta_min) * (1 - cos(pi / tm)) / 2;
        else
            lr = (1 + cos(pi * (double)e / tm)) / (1 + cos(pi * (double)(e - 1) / tm)) * (lr - eta_min) + eta_min;
    }
    return lr;
}
