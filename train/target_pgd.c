/* Inner maximisation of adversarial target training (models.md 5.1): random start x + 0.001 N(0,1),
 * K sign steps with projection, the model in eval mode. The gradient comes from a graph holding the
 * eval-mode model and the inner loss: the sum over the batch of CE(T(x'), y) (Standard, MART, MMA),
 * or of KL(p(x) || p(x')) from the eval-mode clean logits (TRADES). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/autodiff.h"
#include "jatp/losses.h"
#include "runtime/core/philox.h"
#include "target_internal.h"

/* Key of the start noise under the run seed (keeps it apart from the attack library's starts). */
#define START_KEY 0x54474e4f49534531ull

void jt_target_start_noise(uint64_t seed, int64_t epoch, int64_t index, int64_t d, float *out) {
    const double two_pi = 6.283185307179586476925286766559;
    uint64_t call = ((uint64_t)epoch << 40) ^ (uint64_t)index;
    for (int64_t j = 0; j < d; j += 2) {
        jt_philox_out o = jt_rng_block(seed ^ START_KEY, JT_RNG_ATTACK, (uint64_t)(j >> 1), call);
        double u1 = 1.0 - jt_u01_f64(o.v[0], o.v[1]); /* (0, 1]: log stays finite */
        double u2 = jt_u01_f64(o.v[2], o.v[3]);
        double r = sqrt(-2.0 * log(u1));
        out[j] = (float)(r * cos(two_pi * u2));
        if (j + 1 < d) out[j + 1] = (float)(r * sin(two_pi * u2));
    }
}

void jt_target_pgd_update(float *x_adv, const float *x, const float *g, int64_t n, double step, double eps) {
    const float a = (float)step, e = (float)eps;
    for (int64_t i = 0; i < n; i++) {
        float s = g[i] > 0.0f ? 1.0f : (g[i] < 0.0f ? -1.0f : 0.0f);
        float v = x_adv[i] + a * s;
        float lo = x[i] - e, hi = x[i] + e;
        v = v < lo ? lo : (v > hi ? hi : v);
        x_adv[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
}

jt_status tt_build_inner(jt_target_trainer *t) {
    jt_ctx *ctx = t->ctx;
    const jt_target_spec *s = &t->spec;
    JT_TRY(jt_graph_create(ctx, "target-inner-max", &t->ig));
    jt_graph *g = t->ig;
    g->opset_onnx = 17;
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int32_t x = jt_gb_input(&b, "x_adv", JT_F32, 4, (const int64_t[]){t->B, s->c, s->h, s->w});
    int32_t other;
    t->inner_kl = s->recipe == JT_RECIPE_TRADES;
    if (t->inner_kl) other = jt_gb_input(&b, "z_nat", JT_F32, 2, (const int64_t[]){t->B, t->K});
    else other = jt_gb_input(&b, "y", JT_I64, 1, (const int64_t[]){t->B});
    jt_model_info mi;
    memset(&mi, 0, sizeof mi);
    jt_status st = jt_gb_status(&b);
    if (st == JT_OK) st = tt_build_model(t, &b, 0, x, &mi);
    if (st != JT_OK) return st;
    int32_t per = t->inner_kl ? jt_loss_kl_per_example(&b, other, mi.output) : jt_loss_ce_per_example(&b, mi.output, other);
    jt_gb_attr_int(&b, "keepdims", 0);
    int32_t total = jt_gb_op(&b, "ReduceSum", "", "inner/sum", &per, 1);
    JT_TRY(jt_gb_status(&b));
    int32_t grad = -1;
    JT_TRY(jt_build_backward(ctx, g, &total, NULL, 1, &x, 1, &grad));
    jt_gb_output(&b, grad);
    return jt_gb_status(&b);
}

jt_status tt_inner_max(jt_target_trainer *t, const float *x, const int64_t *y, const float *z_nat,
                       const int64_t *idx, int64_t epoch, float *x_adv) {
    const jt_target_spec *s = &t->spec;
    const int64_t d = t->d, n = (int64_t)t->B * d;
    for (int i = 0; i < t->B; i++) {
        float *xa = x_adv + (size_t)i * (size_t)d;
        const float *xc = x + (size_t)i * (size_t)d;
        jt_target_start_noise(s->seed, epoch, idx[i], d, xa);
        const float sig = (float)s->start_sigma;
        for (int64_t j = 0; j < d; j++) xa[j] = xc[j] + sig * xa[j];
    }
    if (s->pgd_steps <= 0) return JT_OK;
    JT_TRY(tt_ensure_plans(t));
    jt_tensor in[2];
    memset(in, 0, sizeof in);
    in[0] = (jt_tensor){.dtype = JT_F32, .rank = 4, .dims = {t->B, s->c, s->h, s->w}, .data = x_adv};
    if (t->inner_kl) in[1] = (jt_tensor){.dtype = JT_F32, .rank = 2, .dims = {t->B, t->K}, .data = (void *)z_nat};
    else in[1] = (jt_tensor){.dtype = JT_I64, .rank = 1, .dims = {t->B}, .data = (void *)y};
    for (int k = 0; k < s->pgd_steps; k++) {
        JT_TRY(jt_plan_run(t->iplan, in, 2));
        JT_TRY(jt_plan_output_download(t->iplan, 0, t->grad));
        jt_target_pgd_update(x_adv, x, t->grad, n, s->pgd_step, s->eps);
    }
    return JT_OK;
}
