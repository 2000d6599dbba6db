/* The target trainer object: training graph (recipe loss, train-mode model run on x and/or x' with
 * shared parameters), the eval-mode graphs that receive its parameters, one training step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/losses.h"
#include "jatp/onnx.h"
#include "target_internal.h"

#define ADV_PREFIX "adv/"

void jt_target_spec_default(jt_target_spec *s) {
    memset(s, 0, sizeof *s);
    s->recipe = JT_RECIPE_NATURAL;
    s->batch = 128;
    s->beta = 6.0;
    s->eps = 0.1;
    s->pgd_step = 0.02;
    s->pgd_steps = 10;
    s->start_sigma = 0.001;
    jt_sgd_config_default(&s->sgd);
    s->sgd.momentum = 0.9;
    s->sgd.weight_decay = 5e-4;
}

jt_status tt_build_model(jt_target_trainer *t, jt_gb *b, int train_bn, int32_t x, jt_model_info *info) {
    if (t->spec.model_fn) {
        jt_status st = t->spec.model_fn(b, t->spec.model_user, train_bn, x, info);
        return st != JT_OK ? st : jt_gb_status(b);
    }
    jt_model_config cfg = t->spec.model_cfg;
    cfg.train_bn = train_bn;
    return jt_model_build(b, t->model_name, &cfg, x, info);
}

static int needs_nat(jt_recipe r) { return r != JT_RECIPE_AT; }
static int needs_adv(jt_recipe r) { return r != JT_RECIPE_NATURAL; }

/* After the second (x') pass was built under ADV_PREFIX from node n0 on: its nodes read the first
 * pass's parameters instead of their own copies, and its BatchNorms read the running statistics the
 * first pass produced (PyTorch's two successive train-mode forwards). The now unread copies are
 * marked constant, so that they are neither trained, nor checkpointed, nor copied. */
static jt_status share_params(jt_ctx *ctx, jt_graph *g, int32_t n0, const jt_model_info *first) {
    const size_t pl = strlen(ADV_PREFIX);
    int32_t n1 = g->n_nodes;
    for (int32_t k = n0; k < n1; k++) {
        jt_node *n = &g->nodes[k];
        for (int i = 0; i < n->n_in; i++) {
            int32_t v = n->in[i];
            if (v < 0) continue;
            const jt_value *val = &g->values[v];
            if (!(val->flags & JT_VALUE_PARAM) || (val->flags & JT_VALUE_CONST)) continue;
            if (strncmp(val->name, ADV_PREFIX, pl) != 0)
                return jt_fail(ctx, JT_ERR_INTERNAL, "target graph: parameter '%s' of the second pass lacks its prefix",
                               val->name);
            int32_t base = jt_graph_find_value(g, val->name + pl);
            if (base < 0)
                return jt_fail(ctx, JT_ERR_INTERNAL, "target graph: '%s' has no counterpart in the first pass", val->name);
            if (val->flags & JT_VALUE_STATE) {
                int j = 0;
                while (j < first->n_state && first->state_dst[j] != base) j++;
                if (j == first->n_state)
                    return jt_fail(ctx, JT_ERR_INTERNAL, "target graph: running statistic '%s' is not updated by the first pass",
                                   g->values[base].name);
                n->in[i] = first->state_src[j];
            } else {
                n->in[i] = base;
            }
        }
    }
    for (int32_t v = 0; v < g->n_values; v++) {
        jt_value *val = &g->values[v];
        if ((val->flags & JT_VALUE_PARAM) && !(val->flags & JT_VALUE_CONST) && strncmp(val->name, ADV_PREFIX, pl) == 0)
            val->flags |= JT_VALUE_CONST | JT_VALUE_FROZEN;
    }
    return JT_OK;
}

static jt_status build_train(jt_target_trainer *t) {
    jt_ctx *ctx = t->ctx;
    const jt_target_spec *s = &t->spec;
    JT_TRY(jt_graph_create(ctx, "target-train", &t->tg));
    jt_graph *g = t->tg;
    g->opset_onnx = 17;
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    const int64_t xd[4] = {t->B, s->c, s->h, s->w}, bd[1] = {t->B};
    int nat = needs_nat(s->recipe), adv = needs_adv(s->recipe);
    int32_t xn = nat ? jt_gb_input(&b, "x", JT_F32, 4, xd) : -1;
    int32_t xa = adv ? jt_gb_input(&b, "x_adv", JT_F32, 4, xd) : -1;
    int32_t y = jt_gb_input(&b, "y", JT_I64, 1, bd);
    int32_t mask = s->recipe == JT_RECIPE_MMA ? jt_gb_input(&b, "clean_correct", JT_F32, 1, bd) : -1;
    JT_TRY(jt_gb_status(&b));
    jt_model_info m1, m2;
    memset(&m1, 0, sizeof m1);
    memset(&m2, 0, sizeof m2);
    JT_TRY(tt_build_model(t, &b, 1, nat ? xn : xa, &m1));
    int32_t z_nat = nat ? m1.output : -1, z_adv = nat ? -1 : m1.output;
    const jt_model_info *last = &m1;
    if (nat && adv) {
        int32_t n0 = g->n_nodes;
        b.prefix = ADV_PREFIX;
        JT_TRY(tt_build_model(t, &b, 1, xa, &m2));
        b.prefix = NULL;
        JT_TRY(share_params(ctx, g, n0, &m1));
        z_adv = m2.output;
        last = &m2;
    }
    int32_t loss = -1, natv = -1;
    switch (s->recipe) {
    case JT_RECIPE_NATURAL: loss = jt_loss_ce(&b, z_nat, y); break;
    case JT_RECIPE_AT: loss = jt_loss_ce(&b, z_adv, y); break;
    case JT_RECIPE_TRADES:
        loss = jt_loss_trades(&b, z_nat, z_adv, y, s->beta);
        natv = jt_loss_ce(&b, z_nat, y);
        break;
    case JT_RECIPE_MART:
        loss = jt_loss_mart(&b, z_nat, z_adv, y, s->beta);
        natv = jt_loss_bce_mart(&b, z_adv, y);
        break;
    case JT_RECIPE_MMA: {
        /* mean_i [(1 - c_i) CE(T(x_i), y_i) + c_i CE(T(x'_i), y_i)], c_i = clean-correct (eval mode) */
        int32_t ce_n = jt_loss_ce_per_example(&b, z_nat, y), ce_a = jt_loss_ce_per_example(&b, z_adv, y);
        int32_t one = jt_loss_const_like(&b, 1.0, mask);
        int32_t wrong = jt_gb_op(&b, "Sub", "", "mma/wrong", (const int32_t[]){one, mask}, 2);
        int32_t a = jt_gb_op(&b, "Mul", "", "mma/nat", (const int32_t[]){wrong, ce_n}, 2);
        int32_t c = jt_gb_op(&b, "Mul", "", "mma/adv", (const int32_t[]){mask, ce_a}, 2);
        int32_t sum = jt_gb_op(&b, "Add", "", "mma/sum", (const int32_t[]){a, c}, 2);
        loss = jt_loss_mean(&b, sum);
        break;
    }
    default: return jt_fail(ctx, JT_ERR_ARG, "target trainer: unknown recipe %d", (int)s->recipe);
    }
    JT_TRY(jt_gb_status(&b));
    /* the logits are read after each step for the batch accuracies */
    t->out_znat = t->out_zadv = -1;
    if (z_nat >= 0) {
        t->out_znat = g->n_outputs;
        jt_gb_output(&b, z_nat);
    }
    if (z_adv >= 0) {
        t->out_zadv = g->n_outputs;
        jt_gb_output(&b, z_adv);
    }
    JT_TRY(jt_gb_status(&b));
    /* running statistics: each one takes the value of the last pass (which chained the first) */
    int ns = m1.n_state;
    int32_t *dst = malloc(sizeof(int32_t) * (size_t)(ns + 1)), *src = malloc(sizeof(int32_t) * (size_t)(ns + 1));
    if (!dst || !src) {
        free(dst);
        free(src);
        return jt_fail(ctx, JT_ERR_OOM, "out of memory");
    }
    jt_status st = JT_OK;
    for (int i = 0; i < ns && st == JT_OK; i++) {
        dst[i] = m1.state_dst[i];
        src[i] = m1.state_src[i];
        if (last == &m2) {
            const char *want = g->values[m1.state_dst[i]].name;
            int j = 0;
            while (j < m2.n_state && strcmp(g->values[m2.state_dst[j]].name + strlen(ADV_PREFIX), want) != 0) j++;
            if (j == m2.n_state || m2.n_state != ns)
                st = jt_fail(ctx, JT_ERR_INTERNAL, "target graph: running statistic '%s' missing in the second pass", want);
            else src[i] = m2.state_src[j];
        }
    }
    jt_step_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.optimizer = JT_OPT_SGD;
    sp.sgd = s->sgd;
    sp.loss = loss;
    sp.logs = natv >= 0 ? &natv : NULL;
    sp.n_logs = natv >= 0;
    sp.backend = s->backend;
    sp.update_dst = dst;
    sp.update_src = src;
    sp.n_updates = ns;
    t->has_nat_log = natv >= 0;
    t->n_state_updates = ns;
    /* the caller's inputs in g->inputs order (lr and step are appended after them) */
    jt_tensor shapes[4];
    memset(shapes, 0, sizeof shapes);
    t->pos_x = t->pos_xadv = t->pos_y = t->pos_mask = -1;
    t->n_user = 0;
    for (int i = 0; i < g->n_inputs && st == JT_OK; i++) {
        int32_t v = g->inputs[i];
        jt_tensor *sh = &shapes[t->n_user];
        if (v == xn || v == xa) *sh = (jt_tensor){.dtype = JT_F32, .rank = 4, .dims = {t->B, s->c, s->h, s->w}};
        else if (v == y) *sh = (jt_tensor){.dtype = JT_I64, .rank = 1, .dims = {t->B}};
        else if (v == mask) *sh = (jt_tensor){.dtype = JT_F32, .rank = 1, .dims = {t->B}};
        else continue;
        if (v == xn) t->pos_x = t->n_user;
        else if (v == xa) t->pos_xadv = t->n_user;
        else if (v == y) t->pos_y = t->n_user;
        else t->pos_mask = t->n_user;
        t->n_user++;
    }
    if (st == JT_OK) st = jt_step_create(ctx, g, &sp, shapes, t->n_user, &t->step);
    free(dst);
    free(src);
    return st;
}

static jt_status build_eval(jt_target_trainer *t) {
    jt_ctx *ctx = t->ctx;
    const jt_target_spec *s = &t->spec;
    JT_TRY(jt_graph_create(ctx, "target", &t->eg));
    jt_graph *g = t->eg;
    g->name = jt_graph_strdup(g, s->model_fn ? "target" : t->model_name);
    g->ir_version = 8;
    g->opset_onnx = 17;
    g->producer_name = jt_graph_strdup(g, "jatp train target");
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int32_t x = jt_gb_input(&b, "input", JT_F32, 4, (const int64_t[]){-1, s->c, s->h, s->w});
    jt_model_info mi;
    memset(&mi, 0, sizeof mi);
    JT_TRY(jt_gb_status(&b));
    JT_TRY(tt_build_model(t, &b, 0, x, &mi));
    int32_t out = jt_gb_op(&b, "Identity", "", "output", &mi.output, 1);
    jt_gb_output(&b, out);
    return jt_gb_status(&b);
}

/* eval-graph value <- training-graph value of the same name, for every parameter and statistic */
static jt_status build_copies(jt_target_trainer *t) {
    int cap = 0;
    for (int w = 0; w < 2; w++) cap += (w ? t->ig : t->eg) ? (w ? t->ig : t->eg)->n_values : 0;
    t->copies = calloc((size_t)cap + 1, sizeof *t->copies);
    if (!t->copies) return jt_fail(t->ctx, JT_ERR_OOM, "out of memory");
    for (int w = 0; w < 2; w++) {
        jt_graph *g = w ? t->ig : t->eg;
        if (!g) continue;
        for (int32_t v = 0; v < g->n_values; v++) {
            jt_value *dv = &g->values[v];
            if (!(dv->flags & JT_VALUE_PARAM) || (dv->flags & JT_VALUE_CONST) || !dv->data) continue;
            int32_t sv = jt_graph_find_value(t->tg, dv->name);
            const jt_value *s = sv >= 0 ? &t->tg->values[sv] : NULL;
            if (!s || !s->data || (s->flags & JT_VALUE_CONST) || s->dtype != dv->dtype ||
                !jt_dims_equal(s->dims, s->rank, dv->dims, dv->rank))
                return jt_fail(t->ctx, JT_ERR_INTERNAL, "target trainer: the eval-mode model's '%s' has no match in the training graph",
                               dv->name);
            size_t nb = jt_dtype_size(dv->dtype);
            for (int k = 0; k < dv->rank; k++) nb *= (size_t)dv->dims[k];
            t->copies[t->n_copies++] = (tt_copy){.dst = dv->data, .src = s->data, .bytes = nb};
        }
    }
    return JT_OK;
}

jt_status tt_ensure_plans(jt_target_trainer *t) {
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.fold_params = 0; /* the parameters change between runs */
    po.backend = t->spec.backend;
    if (!t->eplan) {
        jt_tensor in = {.dtype = JT_F32, .rank = 4, .dims = {t->B, t->spec.c, t->spec.h, t->spec.w}};
        JT_TRY(jt_plan_create(t->ctx, t->eg, &in, 1, &po, &t->eplan));
    }
    if (!t->iplan && t->ig) {
        jt_tensor in[2];
        memset(in, 0, sizeof in);
        in[0] = (jt_tensor){.dtype = JT_F32, .rank = 4, .dims = {t->B, t->spec.c, t->spec.h, t->spec.w}};
        if (t->inner_kl) in[1] = (jt_tensor){.dtype = JT_F32, .rank = 2, .dims = {t->B, t->K}};
        else in[1] = (jt_tensor){.dtype = JT_I64, .rank = 1, .dims = {t->B}};
        JT_TRY(jt_plan_create(t->ctx, t->ig, in, 2, &po, &t->iplan));
    }
    return JT_OK;
}

jt_status jt_target_trainer_sync(jt_target_trainer *t) {
    if (t->synced) return JT_OK;
    if (t->device) JT_TRY(jt_plan_sync_params(t->step->plan));
    for (int i = 0; i < t->n_copies; i++) memcpy(t->copies[i].dst, t->copies[i].src, t->copies[i].bytes);
    if (t->device) { /* device plans hold their own copies of the parameters: rebuild them */
        jt_plan_free(t->eplan);
        jt_plan_free(t->iplan);
        t->eplan = t->iplan = NULL;
    }
    t->synced = 1;
    return JT_OK;
}

jt_status jt_target_trainer_create(jt_ctx *ctx, const jt_target_spec *spec, jt_target_trainer **out) {
    *out = NULL;
    if (spec->recipe < 0 || spec->recipe >= JT_RECIPE_COUNT)
        return jt_fail(ctx, JT_ERR_ARG, "target trainer: unknown recipe %d", (int)spec->recipe);
    if (spec->batch < 1 || spec->c < 1 || spec->h < 1 || spec->w < 1)
        return jt_fail(ctx, JT_ERR_ARG, "target trainer: batch %d and image shape %dx%dx%d must be positive", spec->batch,
                       spec->c, spec->h, spec->w);
    if (!spec->model_fn && !spec->model_name) return jt_fail(ctx, JT_ERR_ARG, "target trainer: no model given");
    if (!(spec->eps >= 0) || !(spec->pgd_step >= 0) || !(spec->start_sigma >= 0) || !isfinite(spec->beta))
        return jt_fail(ctx, JT_ERR_ARG, "target trainer: eps, step size and start sigma must be >= 0 and beta finite");
    jt_target_trainer *t = calloc(1, sizeof *t);
    if (!t) return jt_fail(ctx, JT_ERR_OOM, "out of memory");
    t->ctx = ctx;
    t->spec = *spec;
    t->spec.sgd.name = NULL;
    if (!spec->model_fn) {
        snprintf(t->model_name, sizeof t->model_name, "%s", spec->model_name);
        t->spec.model_name = t->model_name;
    }
    t->B = spec->batch;
    t->d = (int64_t)spec->c * spec->h * spec->w;
    t->device = spec->backend && jt_backend_device(spec->backend).kind != JT_DEV_CPU;
    jt_status st = build_eval(t);
    /* the number of classes from a batch-1 plan of the eval model */
    if (st == JT_OK) {
        jt_plan *p = NULL;
        jt_tensor in = {.dtype = JT_F32, .rank = 4, .dims = {1, spec->c, spec->h, spec->w}};
        st = jt_plan_create(ctx, t->eg, &in, 1, NULL, &p);
        if (st == JT_OK) {
            const jt_tensor *z = jt_plan_value_meta(p, t->eg->outputs[0]);
            if (!z || z->rank != 2 || z->dims[1] < 2)
                st = jt_fail(ctx, JT_ERR_SHAPE, "target trainer: the model's output is not logits [N, K >= 2]");
            else t->K = (int)z->dims[1];
        }
        jt_plan_free(p);
    }
    if (st == JT_OK) st = build_train(t);
    if (st == JT_OK && needs_adv(spec->recipe)) st = tt_build_inner(t);
    if (st == JT_OK) st = build_copies(t);
    size_t nx = (size_t)t->B * (size_t)t->d, nz = (size_t)t->B * (size_t)(t->K > 0 ? t->K : 1);
    if (st == JT_OK) {
        t->x_adv = malloc(nx * sizeof(float));
        t->grad = malloc(nx * sizeof(float));
        t->z_clean = malloc(nz * sizeof(float));
        t->z_nat = malloc(nz * sizeof(float));
        t->z_adv = malloc(nz * sizeof(float));
        t->mask = malloc((size_t)t->B * sizeof(float));
        if (!t->x_adv || !t->grad || !t->z_clean || !t->z_nat || !t->z_adv || !t->mask)
            st = jt_fail(ctx, JT_ERR_OOM, "target trainer: out of memory for batch buffers");
    }
    if (st != JT_OK) {
        jt_error_prefix(ctx, "target trainer (%s)", jt_recipe_name(spec->recipe));
        jt_target_trainer_free(t);
        return st;
    }
    *out = t;
    return JT_OK;
}

void jt_target_trainer_free(jt_target_trainer *t) {
    if (!t) return;
    jt_plan_free(t->eplan);
    jt_plan_free(t->iplan);
    jt_step_free(t->step);
    jt_graph_free(t->tg);
    jt_graph_free(t->eg);
    jt_graph_free(t->ig);
    free(t->copies);
    free(t->x_adv);
    free(t->grad);
    free(t->z_clean);
    free(t->z_nat);
    free(t->z_adv);
    free(t->mask);
    free(t);
}

static int argmax_row(const float *z, int K) {
    int best = 0;
    for (int k = 1; k < K; k++)
        if (z[k] > z[best]) best = k;
    return best;
}

static double accuracy(const float *z, const int64_t *y, int n, int K) {
    int c = 0;
    for (int i = 0; i < n; i++) c += argmax_row(z + (size_t)i * (size_t)K, K) == y[i];
    return n ? (double)c / n : NAN;
}

static jt_status eval_logits(jt_target_trainer *t, const float *x, float *z) {
    JT_TRY(jt_target_trainer_sync(t));
    JT_TRY(tt_ensure_plans(t));
    jt_tensor in = {.dtype = JT_F32, .rank = 4, .dims = {t->B, t->spec.c, t->spec.h, t->spec.w}, .data = (void *)x};
    JT_TRY(jt_plan_run(t->eplan, &in, 1));
    return jt_plan_output_download(t->eplan, 0, z);
}

jt_status jt_target_trainer_attack(jt_target_trainer *t, const float *x, const int64_t *y, const int64_t *idx,
                                   int64_t epoch, float *x_adv) {
    JT_TRY(jt_target_trainer_sync(t));
    if (t->spec.recipe == JT_RECIPE_TRADES || !t->ig) JT_TRY(eval_logits(t, x, t->z_clean));
    if (!t->ig) { /* natural training has no inner graph: build one on demand (CE) */
        JT_TRY(tt_build_inner(t));
        free(t->copies);
        t->copies = NULL;
        t->n_copies = 0;
        JT_TRY(build_copies(t));
        t->synced = 0;
        JT_TRY(jt_target_trainer_sync(t));
    }
    return tt_inner_max(t, x, y, t->z_clean, idx, epoch, x_adv);
}

jt_status jt_target_trainer_step(jt_target_trainer *t, const float *x, const int64_t *y, const int64_t *idx,
                                 int64_t epoch, double lr, int64_t step_no, jt_target_step_out *out) {
    const jt_recipe r = t->spec.recipe;
    jt_target_step_out o = {NAN, NAN, NAN, NAN, NAN};
    int have_clean = 0;
    if (needs_adv(r)) {
        if (r == JT_RECIPE_AT || r == JT_RECIPE_TRADES || r == JT_RECIPE_MMA) {
            JT_TRY(eval_logits(t, x, t->z_clean));
            have_clean = 1;
        }
        JT_TRY(jt_target_trainer_sync(t));
        JT_TRY(tt_inner_max(t, x, y, t->z_clean, idx, epoch, t->x_adv));
        if (r == JT_RECIPE_MMA)
            for (int i = 0; i < t->B; i++) t->mask[i] = argmax_row(t->z_clean + (size_t)i * (size_t)t->K, t->K) == y[i];
    }
    jt_tensor in[4];
    memset(in, 0, sizeof in);
    const int64_t xd[4] = {t->B, t->spec.c, t->spec.h, t->spec.w};
    if (t->pos_x >= 0) in[t->pos_x] = (jt_tensor){.dtype = JT_F32, .rank = 4, .dims = {xd[0], xd[1], xd[2], xd[3]}, .data = (void *)x};
    if (t->pos_xadv >= 0)
        in[t->pos_xadv] = (jt_tensor){.dtype = JT_F32, .rank = 4, .dims = {xd[0], xd[1], xd[2], xd[3]}, .data = t->x_adv};
    in[t->pos_y] = (jt_tensor){.dtype = JT_I64, .rank = 1, .dims = {t->B}, .data = (void *)y};
    if (t->pos_mask >= 0) in[t->pos_mask] = (jt_tensor){.dtype = JT_F32, .rank = 1, .dims = {t->B}, .data = t->mask};
    double nat = NAN;
    JT_TRY(jt_step_run(t->step, in, lr, step_no, &o.loss, t->has_nat_log ? &nat : NULL));
    t->synced = 0;
    if (t->has_nat_log) {
        o.nat = nat;
        o.rob = o.loss - nat;
    }
    if (t->out_znat >= 0) {
        JT_TRY(jt_plan_output_download(t->step->plan, t->out_znat, t->z_nat));
        o.acc = accuracy(t->z_nat, y, t->B, t->K);
    } else if (have_clean) {
        o.acc = accuracy(t->z_clean, y, t->B, t->K);
    }
    if (t->out_zadv >= 0) {
        JT_TRY(jt_plan_output_download(t->step->plan, t->out_zadv, t->z_adv));
        o.adv_acc = accuracy(t->z_adv, y, t->B, t->K);
    }
    if (out) *out = o;
    return JT_OK;
}

jt_graph *jt_target_trainer_train_graph(jt_target_trainer *t) { return t->tg; }
jt_graph *jt_target_trainer_eval_graph(jt_target_trainer *t) { return t->eg; }
jt_step *jt_target_trainer_step_plan(jt_target_trainer *t) { return t->step; }

jt_status jt_target_trainer_export(jt_target_trainer *t, const char *path) {
    JT_TRY(jt_target_trainer_sync(t));
    return jt_onnx_save(t->ctx, t->eg, path, NULL);
}

jt_status jt_target_trainer_save(jt_target_trainer *t, const char *path, const jt_train_meta *meta) {
    if (t->device) JT_TRY(jt_plan_sync_params(t->step->plan));
    const jt_graph *g = t->tg;
    for (int32_t v = 0; v < g->n_values; v++) {
        const jt_value *val = &g->values[v];
        if (!(val->flags & (JT_VALUE_PARAM | JT_VALUE_STATE)) || (val->flags & JT_VALUE_CONST) || !val->data) continue;
        if (val->dtype != JT_F32) continue;
        int64_t n = 1;
        for (int k = 0; k < val->rank; k++) n *= val->dims[k];
        const float *p = val->data;
        for (int64_t i = 0; i < n; i++)
            if (!isfinite(p[i]))
                return jt_fail(t->ctx, JT_ERR_NUMERIC, "%s: not written: '%s' element %lld is %g", path, val->name,
                               (long long)i, (double)p[i]);
    }
    return jt_checkpoint_save(t->ctx, path, g, meta);
}

jt_status jt_target_trainer_load(jt_target_trainer *t, const char *path, jt_train_meta *meta) {
    JT_TRY(jt_checkpoint_load(t->ctx, path, t->tg, meta));
    t->synced = 0;
    if (t->device) { /* the step plan's device copies are stale: plan again with the same options */
        jt_step *s = t->step;
        jt_plan_free(s->plan);
        s->plan = NULL;
        jt_plan_options po;
        jt_plan_options_default(&po);
        po.fold_params = 0;
        po.update_dst = s->upd_dst;
        po.update_src = s->upd_src;
        po.n_updates = s->os.n_updates + t->n_state_updates;
        po.backend = t->spec.backend;
        JT_TRY(jt_plan_create(t->ctx, s->g, s->bound, s->g->n_inputs, &po, &s->plan));
    }
    return JT_OK;
}
