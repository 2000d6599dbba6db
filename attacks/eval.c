/* Evaluation: natural accuracy and a list of attacks on the same points, with per-example records,
 * robust accuracy per attack and worst case, fooling rates and distances (docs/attacks.md section 10). */
#include <time.h>

#include "attack_internal.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* mean |a - b| * 255 per element */
static float dist255(const float *a, const float *b, int64_t d) {
    double s = 0;
    for (int64_t i = 0; i < d; i++) s += fabs((double)a[i] - (double)b[i]);
    return (float)(255.0 * s / (double)d);
}

static void free_attack(jt_eval_attack *a) {
    free(a->attacked);
    free(a->success);
    free(a->pred);
    free(a->loss);
    free(a->iters);
    free(a->component);
    free(a->linf);
    free(a->l2);
    free(a->l1);
    free(a->d_adv_255);
    free(a->d_padv_255);
    free(a->x_adv);
}

void jt_wilson_interval(int64_t k, int64_t n, double *lo, double *hi) {
    if (n <= 0) {
        *lo = *hi = NAN;
        return;
    }
    const double z = 1.959963984540054; /* the 97.5% normal quantile */
    double p = (double)k / (double)n, z2n = z * z / (double)n;
    double centre = (p + z2n / 2) / (1 + z2n);
    double half = z * sqrt(p * (1 - p) / (double)n + z2n / (4.0 * (double)n)) / (1 + z2n);
    *lo = k == 0 || centre - half < 0 ? 0 : centre - half; /* exact ends: rounding must not exclude p */
    *hi = k == n || centre + half > 1 ? 1 : centre + half;
}

void jt_eval_result_free(jt_eval_result *r) {
    if (!r) return;
    for (int k = 0; k < r->n_attacks; k++) free_attack(&r->attacks[k]);
    free(r->attacks);
    free(r->pred_clean);
    free(r->margin_clean);
    free(r->d_px_255);
    free(r->robust_all);
    memset(r, 0, sizeof *r);
}

static int alloc_attack(jt_eval_attack *a, int n, int64_t d, int keep) {
    size_t m = (size_t)(n ? n : 1);
    a->attacked = calloc(m, 1);
    a->success = calloc(m, 1);
    a->pred = calloc(m, sizeof *a->pred);
    a->loss = calloc(m, sizeof *a->loss);
    a->iters = calloc(m, sizeof *a->iters);
    a->component = calloc(m, sizeof *a->component);
    a->linf = calloc(m, sizeof *a->linf);
    a->l2 = calloc(m, sizeof *a->l2);
    a->l1 = calloc(m, sizeof *a->l1);
    a->d_adv_255 = calloc(m, sizeof *a->d_adv_255);
    a->d_padv_255 = calloc(m, sizeof *a->d_padv_255);
    a->x_adv = malloc(m * (size_t)d * sizeof *a->x_adv);
    (void)keep;
    return a->attacked && a->success && a->pred && a->loss && a->iters && a->component && a->linf && a->l2 && a->l1 &&
           a->d_adv_255 && a->d_padv_255 && a->x_adv;
}

static jt_status run_one(jt_oracle *o, const jt_attack_config *cfg, const float *x, const int64_t *y,
                         const int64_t *index, int n, const jt_eval_result *r, const jt_eval_options *opt,
                         jt_eval_attack *a, float *px) {
    jt_ctx *ctx = o->ctx;
    int64_t d = r->d;
    a->cfg = *cfg;
    a->cfg.components = NULL;
    if (opt && opt->progress) {
        a->cfg.progress = opt->progress;
        a->cfg.progress_user = opt->progress_user;
    }
    jt_attack_config run_cfg = a->cfg;
    run_cfg.components = cfg->components;
    jt_attack_io io = {.n = n, .x = x, .y = y, .index = index, .x_adv = a->x_adv, .pred_adv = a->pred,
                       .attacked = a->attacked, .success = a->success, .loss = a->loss, .iters = a->iters,
                       .component = a->component, .loss_first = &a->loss_first, .loss_last = &a->loss_last,
                       .zero_grad_frac = &a->zero_grad_frac, .nonfinite_grad = &a->nonfinite_grad};
    double t0 = now_s();
    jt_status st = jt_attack_run(o, &run_cfg, &io);
    a->seconds = now_s() - t0;
    if (st != JT_OK) {
        jt_error_prefix(ctx, "attack '%s'", cfg->name);
        return st;
    }
    /* distances of P(x_adv) to the clean x: through the full oracle's defense */
    JT_TRY(jt_oracle_preprocess(o, a->x_adv, n, px));
    int n_att = 0, n_correct = 0, n_broken = 0, n_robust = 0;
    double s_inf = 0, s_l2 = 0, s_l1 = 0, s_da = 0, s_dp = 0;
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d, *ai = a->x_adv + (size_t)i * d;
        double linf = 0, l2 = 0, l1 = 0;
        for (int64_t e = 0; e < d; e++) {
            double v = fabs((double)ai[e] - (double)xi[e]);
            linf = v > linf ? v : linf;
            l2 += v * v;
            l1 += v;
        }
        a->linf[i] = (float)linf;
        a->l2[i] = (float)sqrt(l2);
        a->l1[i] = (float)l1;
        a->d_adv_255[i] = dist255(ai, xi, d);
        a->d_padv_255[i] = dist255(px + (size_t)i * d, xi, d);
        int correct = r->pred_clean[i] == y[i];
        n_correct += correct;
        if (correct && a->success[i]) n_broken++;
        if (correct && !a->success[i]) n_robust++;
        if (a->attacked[i]) {
            n_att++;
            s_inf += linf;
            s_l2 += a->l2[i];
            s_l1 += l1;
            s_da += a->d_adv_255[i];
            s_dp += a->d_padv_255[i];
        }
    }
    a->robust_acc = n ? (double)n_robust / n : NAN;
    a->fooling_rate = n_correct ? (double)n_broken / n_correct : NAN;
    a->examples_per_second = a->seconds > 0 ? n_att / a->seconds : NAN;
    a->mean_linf = n_att ? s_inf / n_att : NAN;
    a->mean_l2 = n_att ? s_l2 / n_att : NAN;
    a->mean_l1 = n_att ? s_l1 / n_att : NAN;
    a->mean_d_adv_255 = n_att ? s_da / n_att : NAN;
    a->mean_d_padv_255 = n_att ? s_dp / n_att : NAN;
    if (cfg->kind == JT_ATK_AUTOATTACK) {
        a->n_components = cfg->n_components < JT_AA_MAX_COMPONENTS ? cfg->n_components : JT_AA_MAX_COMPONENTS;
        for (int k = 0; k < a->n_components; k++) {
            int rob = 0;
            for (int i = 0; i < n; i++)
                rob += r->pred_clean[i] == y[i] && (a->component[i] < 0 || a->component[i] > k);
            a->acc_after[k] = n ? (double)rob / n : NAN;
        }
    }
    return JT_OK;
}

jt_status jt_eval_run(jt_oracle *full, jt_oracle *bpda, const jt_attack_config *attacks, int n_attacks,
                      const float *x, const int64_t *y, const int64_t *index, int n, const jt_eval_options *opt,
                      jt_eval_result *out) {
    jt_ctx *ctx = full->ctx;
    memset(out, 0, sizeof *out);
    double t0 = now_s();
    int64_t d = jt_oracle_dim(full), K = full->n_classes;
    for (int k = 0; k < n_attacks; k++) {
        JT_TRY(jt_attack_config_check(ctx, &attacks[k]));
        if (attacks[k].bpda && !bpda)
            return jt_fail(ctx, JT_ERR_ARG, "attack '%s' needs the BPDA oracle (a defense graph)", attacks[k].name);
    }
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K)
            return jt_fail(ctx, JT_ERR_ARG, "label %lld of example %d is outside [0, %lld)", (long long)y[i], i,
                           (long long)K);
    out->n = n;
    out->d = d;
    out->n_classes = K;
    out->y = y;
    size_t m = (size_t)(n ? n : 1);
    out->pred_clean = malloc(m * sizeof *out->pred_clean);
    out->margin_clean = malloc(m * sizeof *out->margin_clean);
    out->d_px_255 = malloc(m * sizeof *out->d_px_255);
    out->robust_all = malloc(m);
    out->attacks = calloc((size_t)(n_attacks ? n_attacks : 1), sizeof *out->attacks);
    float *z = malloc(m * (size_t)K * sizeof *z), *px = malloc(m * (size_t)d * sizeof *px);
    jt_status st = JT_OK;
    if (!out->pred_clean || !out->margin_clean || !out->d_px_255 || !out->robust_all || !out->attacks || !z || !px)
        st = jt_fail(ctx, JT_ERR_OOM, "evaluation: out of memory for %d examples", n);
    if (st == JT_OK) st = jt_oracle_predict(full, x, n, out->pred_clean, z);
    if (st == JT_OK) st = jt_oracle_preprocess(full, x, n, px);
    if (st == JT_OK) {
        int correct = 0;
        double s = 0;
        for (int i = 0; i < n; i++) {
            correct += out->pred_clean[i] == y[i];
            out->margin_clean[i] = (float)-jt_attack_loss_eval(JT_LOSS_CW, z + (size_t)i * K, K, y[i], -1, NULL);
            out->d_px_255[i] = dist255(px + (size_t)i * d, x + (size_t)i * d, d);
            s += out->d_px_255[i];
            out->robust_all[i] = out->pred_clean[i] == y[i];
        }
        out->clean_acc = n ? (double)correct / n : NAN;
        out->mean_d_px_255 = n ? s / n : NAN;
    }
    for (int k = 0; st == JT_OK && k < n_attacks; k++) {
        jt_eval_attack *a = &out->attacks[k];
        out->n_attacks = k + 1;
        if (!alloc_attack(a, n, d, opt && opt->keep_adv)) {
            st = jt_fail(ctx, JT_ERR_OOM, "evaluation: out of memory for attack '%s'", attacks[k].name);
            break;
        }
        a->used_bpda = attacks[k].bpda;
        st = run_one(attacks[k].bpda ? bpda : full, &attacks[k], x, y, index, n, out, opt, a, px);
        if (st != JT_OK) break;
        for (int i = 0; i < n; i++)
            if (a->success[i]) out->robust_all[i] = 0;
        if (!(opt && opt->keep_adv)) {
            free(a->x_adv);
            a->x_adv = NULL;
        }
    }
    if (st == JT_OK) {
        int rob = 0;
        for (int i = 0; i < n; i++) rob += out->robust_all[i];
        out->worst_acc = n ? (double)rob / n : NAN;
    }
    out->seconds = now_s() - t0;
    free(z);
    free(px);
    if (st != JT_OK) jt_eval_result_free(out);
    return st;
}
