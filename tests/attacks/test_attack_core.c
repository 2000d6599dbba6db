/* Attack core: logit losses (worked values, f64 finite differences), presets, PGD on closed-form
 * models (optimal corner, soundness), validity, determinism and batch invariance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/attack.h"
#include "jt_test.h"
#include "toy_oracle.h"

static uint64_t lcg = 12345;
static double rnd(void) { /* uniform [0,1) */
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) * (1.0 / 9007199254740992.0);
}

static void test_loss_values(void) {
    const float z[5] = {3, 1, 2, 0, -1};
    struct { jt_attack_loss k; int64_t y, t; double want; const char *name; } rows[] = {
        {JT_LOSS_DLR, 0, -1, -0.5, "dlr_y0"},       {JT_LOSS_DLR, 2, -1, 0.5, "dlr_y2"},
        {JT_LOSS_DLR_T, 0, 1, -0.8, "dlr_t_y0_t1"}, {JT_LOSS_DLR_T, 0, 4, -1.6, "dlr_t_y0_t4"},
        {JT_LOSS_CE, 0, -1, 0.451914, "ce_y0"},     {JT_LOSS_CW, 0, -1, -1.0, "cw_y0"},
        {JT_LOSS_TDIFF, 0, 3, -3.0, "tdiff_y0_t3"},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        char name[64];
        snprintf(name, sizeof name, "attack_loss/value/%s", rows[r].name);
        double v = jt_attack_loss_eval(rows[r].k, z, 5, rows[r].y, rows[r].t, NULL);
        double tol = rows[r].k == JT_LOSS_CE ? 5e-7 : 1e-9;
        if (fabs(v - rows[r].want) <= tol) jt_test_ok(name);
        else jt_test_fail(name, "got %.9g, want %.9g", v, rows[r].want);
    }
    /* invalid: too few classes, target == label */
    if (isnan(jt_attack_loss_eval(JT_LOSS_DLR, z, 2, 0, -1, NULL)) &&
        isnan(jt_attack_loss_eval(JT_LOSS_DLR_T, z, 5, 1, 1, NULL)) && isnan(jt_attack_loss_eval(JT_LOSS_CE, z, 5, 7, -1, NULL)))
        jt_test_ok("attack_loss/invalid_is_nan");
    else jt_test_fail("attack_loss/invalid_is_nan", "expected NaN for K too small, t == y, y out of range");
}

/* gradients against central differences of a double-precision evaluation on random logits */
static void test_loss_grads(void) {
    for (int kind = 0; kind < JT_LOSS_COUNT; kind++) {
        double worst = 0;
        for (int trial = 0; trial < 50; trial++) {
            int64_t K = 10;
            float z[10], dz[10];
            for (int k = 0; k < K; k++) z[k] = (float)(4 * rnd() - 2);
            int64_t y = (int64_t)(rnd() * K), t = (y + 1 + (int64_t)(rnd() * (K - 1))) % K;
            jt_attack_loss_eval((jt_attack_loss)kind, z, K, y, t, dz);
            for (int k = 0; k < K; k++) {
                /* float steps: keep h large enough that z +- h is exact-ish and the order unchanged */
                float zp[10], zm[10];
                memcpy(zp, z, sizeof z);
                memcpy(zm, z, sizeof z);
                float h = 1.0f / 1024;
                zp[k] += h;
                zm[k] -= h;
                double fd = (jt_attack_loss_eval((jt_attack_loss)kind, zp, K, y, t, NULL) -
                             jt_attack_loss_eval((jt_attack_loss)kind, zm, K, y, t, NULL)) /
                            (double)(zp[k] - zm[k]);
                double e = fabs(fd - dz[k]) / (1.0 + fabs(fd));
                worst = e > worst ? e : worst;
            }
        }
        char name[64];
        snprintf(name, sizeof name, "attack_loss/grad_fd/%s", jt_attack_loss_name((jt_attack_loss)kind));
        /* piecewise-smooth losses: random logits are far from the kinks (order changes) with spacing >> h */
        if (worst < 1e-3) jt_test_ok(name);
        else jt_test_fail(name, "worst relative error %.3g", worst);
    }
}

/* K = 2: PGD-CE reaches the optimal corner x - eps * sign(w_y - w_j) exactly (alpha >= 2 eps / T). */
static void test_pgd_linear_corner(jt_ctx *ctx) {
    toy_lin m;
    toy_lin_make(&m, 2, 3 * 8 * 8, rnd);
    jt_oracle *o = NULL;
    if (toy_linear_create(ctx, 3, 8, 8, 2, m.W, m.b, 16, &o) != JT_OK) {
        jt_test_fail("pgd/linear_k2_corner", "%s", jt_ctx_error(ctx));
        return;
    }
    int n = 40;
    int64_t d = m.d;
    float eps = 0.05f;
    float *x = malloc((size_t)n * d * sizeof *x), *adv = malloc((size_t)n * d * sizeof *adv);
    int64_t *y = malloc((size_t)n * sizeof *y);
    for (int i = 0; i < n * d; i++) x[i] = eps + (float)rnd() * (1 - 2 * eps);
    for (int i = 0; i < n; i++) y[i] = toy_lin_pred(&m, x + (size_t)i * d);
    jt_attack_config cfg;
    jt_attack_preset(ctx, "pgd", JT_IMAGES_CIFAR, &cfg);
    cfg.eps = eps;
    cfg.alpha = 0.02;
    cfg.steps = 10;
    cfg.random_start = 0;
    jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv};
    jt_status st = jt_attack_run(o, &cfg, &io);
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < n && st == JT_OK; i++) {
        int64_t j = 1 - y[i];
        for (int64_t e = 0; e < d; e++) {
            double w = m.W[y[i] * d + e] - m.W[j * d + e];
            float want = x[i * d + e] - eps * (float)(w > 0 ? 1 : (w < 0 ? -1 : 0));
            double err = fabs((double)adv[i * d + e] - (double)want);
            worst = err > worst ? err : worst;
            bad += err > 1e-6;
        }
    }
    if (st != JT_OK) jt_test_fail("pgd/linear_k2_corner", "%s", jt_ctx_error(ctx));
    else if (bad) jt_test_fail("pgd/linear_k2_corner", "%d coordinates off the optimal corner (worst %.3g)", bad, worst);
    else jt_test_ok("pgd/linear_k2_corner");
    free(x);
    free(adv);
    free(y);
    free(m.W);
    free(m.b);
    jt_oracle_free(o);
}

/* K = 10: PGD never breaks a point with r* > eps (soundness); it breaks every point with r* < eps/2
 * (the linear model's boundary is reached in a few signed steps from the clean point). */
static void test_pgd_linear_soundness(jt_ctx *ctx) {
    toy_lin m;
    toy_lin_make(&m, 10, 3 * 8 * 8, rnd);
    jt_oracle *o = NULL;
    toy_linear_create(ctx, 3, 8, 8, 10, m.W, m.b, 32, &o);
    int n = 200;
    int64_t d = m.d;
    float eps = 0.02f;
    float *x = malloc((size_t)n * d * sizeof *x), *adv = malloc((size_t)n * d * sizeof *adv);
    int64_t *y = malloc((size_t)n * sizeof *y);
    uint8_t *succ = malloc((size_t)n);
    for (int i = 0; i < n * d; i++) x[i] = eps + (float)rnd() * (1 - 2 * eps);
    for (int i = 0; i < n; i++) y[i] = toy_lin_pred(&m, x + (size_t)i * d);
    const char *atks[] = {"pgd", "pgd-dlr", "noise"};
    for (int a = 0; a < 3; a++) {
        jt_attack_config cfg;
        jt_attack_preset(ctx, atks[a], JT_IMAGES_CIFAR, &cfg);
        cfg.eps = eps;
        cfg.alpha = eps / 4;
        cfg.seed = 7;
        jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv, .success = succ};
        char name[64];
        snprintf(name, sizeof name, "pgd/linear_soundness/%s", atks[a]);
        if (jt_attack_run(o, &cfg, &io) != JT_OK) {
            jt_test_fail(name, "%s", jt_ctx_error(ctx));
            continue;
        }
        int unsound = 0, missed = 0, counted = 0;
        for (int i = 0; i < n; i++) {
            double r = toy_lin_rstar(&m, x + (size_t)i * d, y[i]);
            if (fabs(r / eps - 1) < 0.06) continue;
            counted++;
            if (r > eps && succ[i]) unsound++;
            if (a < 2 && r < eps / 2 && !succ[i]) missed++;
        }
        if (unsound || missed) jt_test_fail(name, "%d unsound successes, %d missed easy points of %d", unsound, missed, counted);
        else jt_test_ok(name);
    }
    free(x);
    free(adv);
    free(y);
    free(succ);
    free(m.W);
    free(m.b);
    jt_oracle_free(o);
}

/* Same seed twice -> identical bytes; batch sizes 1, 7 and 64 -> identical per-example results. */
static void test_determinism(jt_ctx *ctx) {
    int64_t H = 16, K = 3, d = 1 * 4 * 4;
    double W1[16 * 16], b1[16], W2[3 * 16], b2[3];
    for (int i = 0; i < H * d; i++) W1[i] = 2 * (rnd() - 0.5);
    for (int i = 0; i < H; i++) b1[i] = rnd() - 0.5;
    for (int i = 0; i < K * H; i++) W2[i] = 2 * (rnd() - 0.5);
    for (int i = 0; i < K; i++) b2[i] = 0;
    int n = 50;
    float *x = malloc((size_t)n * d * sizeof *x);
    int64_t *y = malloc((size_t)n * sizeof *y);
    for (int i = 0; i < n * d; i++) x[i] = (float)rnd();
    const char *atks[] = {"pgd", "pgd-l2", "pgd-feat", "noise"};
    for (int a = 0; a < 4; a++) {
        float *ref = NULL;
        int ok = 1;
        char why[200] = "";
        int batches[] = {64, 1, 7, 64};
        for (int b = 0; b < 4 && ok; b++) {
            jt_oracle *o = NULL;
            toy_mlp_create(ctx, 1, 4, 4, H, K, W1, b1, W2, b2, batches[b], &o);
            if (a == 0 && b == 0) { /* labels = clean predictions, so that every point is attacked */
                float z[3];
                for (int i = 0; i < n; i++) {
                    jt_oracle_logits(o, x + i * d, 1, z);
                    y[i] = z[0] >= z[1] && z[0] >= z[2] ? 0 : (z[1] >= z[2] ? 1 : 2);
                }
            }
            jt_attack_config cfg;
            jt_attack_preset(ctx, atks[a], JT_IMAGES_CIFAR, &cfg);
            cfg.eps = a == 1 ? 0.5 : 0.1;
            cfg.alpha = a == 1 ? 0.05 : 0.02;
            cfg.steps = 10;
            cfg.restarts = cfg.kind == JT_ATK_NOISE ? 1 : 2;
            cfg.seed = 99;
            float *adv = malloc((size_t)n * d * sizeof *adv);
            jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv};
            if (jt_attack_run(o, &cfg, &io) != JT_OK) {
                ok = 0;
                snprintf(why, sizeof why, "%s", jt_ctx_error(ctx));
            } else if (!ref) {
                ref = adv;
                adv = NULL;
                int moved = 0;
                for (int i = 0; i < n * d; i++) moved += ref[i] != x[i];
                if (!moved) ok = 0, snprintf(why, sizeof why, "the attack did not move any pixel");
            } else if (memcmp(ref, adv, (size_t)n * d * sizeof *adv) != 0) {
                ok = 0;
                snprintf(why, sizeof why, "max_batch %d differs from the first run", batches[b]);
            }
            free(adv);
            jt_oracle_free(o);
        }
        char name[64];
        snprintf(name, sizeof name, "determinism/batch_invariance/%s", atks[a]);
        if (ok) jt_test_ok(name);
        else jt_test_fail(name, "%s", why);
        free(ref);
    }
    free(x);
    free(y);
}

/* Feature PGD: the gradient at v = x is zero (so the random start is required and enforced), and the
 * feature distance grows over the steps. */
static void test_feature_pgd(jt_ctx *ctx) {
    int64_t H = 16, K = 3, d = 16;
    double W1[16 * 16], b1[16], W2[3 * 16], b2[3] = {0, 0, 0};
    for (int i = 0; i < H * d; i++) W1[i] = 2 * (rnd() - 0.5);
    for (int i = 0; i < H; i++) b1[i] = rnd() - 0.5;
    for (int i = 0; i < K * H; i++) W2[i] = 2 * (rnd() - 0.5);
    jt_oracle *o = NULL;
    toy_mlp_create(ctx, 1, 4, 4, H, K, W1, b1, W2, b2, 16, &o);
    int n = 40;
    float *x = malloc((size_t)n * d * sizeof *x), *adv = malloc((size_t)n * d * sizeof *adv), *g = malloc((size_t)n * d * sizeof *g);
    float *f = malloc((size_t)n * H * sizeof *f), *fa = malloc((size_t)n * H * sizeof *fa), *l = malloc((size_t)n * sizeof *l);
    int64_t *y = malloc((size_t)n * sizeof *y);
    for (int i = 0; i < n * d; i++) x[i] = 0.2f + 0.6f * (float)rnd();
    jt_oracle_predict(o, x, n, y, NULL);
    jt_oracle_features(o, x, n, f);
    jt_oracle_feat_grad(o, x, f, n, JT_FEAT_L2, l, g);
    int nz = 0;
    for (int i = 0; i < n * d; i++) nz += g[i] != 0.0f;
    if (nz == 0) jt_test_ok("pgd_feat/zero_grad_at_x");
    else jt_test_fail("pgd_feat/zero_grad_at_x", "%d non-zero gradient entries at v = x", nz);
    jt_attack_config cfg;
    jt_attack_preset(ctx, "pgd-feat", JT_IMAGES_CIFAR, &cfg);
    cfg.random_start = 0;
    jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv};
    if (jt_attack_run(o, &cfg, &io) != JT_OK && strstr(jt_ctx_error(ctx), "random start"))
        jt_test_ok("pgd_feat/random_start_required");
    else jt_test_fail("pgd_feat/random_start_required", "no error without a random start");
    double lf = 0, ll = 0;
    io.loss_first = &lf;
    io.loss_last = &ll;
    cfg.random_start = 1;
    cfg.eps = 0.1;
    if (jt_attack_run(o, &cfg, &io) != JT_OK) {
        jt_test_fail("pgd_feat/distance_grows", "%s", jt_ctx_error(ctx));
    } else {
        jt_oracle_features(o, adv, n, fa);
        /* distance after the attack vs the distance at the random start, per example */
        float *st0 = malloc((size_t)n * d * sizeof *st0);
        int grew = 0;
        for (int i = 0; i < n; i++) {
            double da = 0;
            for (int k = 0; k < H; k++) da += (fa[i * H + k] - f[i * H + k]) * (double)(fa[i * H + k] - f[i * H + k]);
            grew += da > 0;
        }
        free(st0);
        if (ll > lf && grew >= (int)(0.95 * n)) jt_test_ok("pgd_feat/distance_grows");
        else jt_test_fail("pgd_feat/distance_grows", "mean distance first %.4g last %.4g; %d/%d moved", lf, ll, grew, n);
    }
    free(x);
    free(adv);
    free(g);
    free(f);
    free(fa);
    free(l);
    free(y);
    jt_oracle_free(o);
}

static void test_presets(jt_ctx *ctx) {
    const char *names[] = {"pgd", "pgd-l2", "pgd-dlr", "pgd-bpda", "pgd-feat", "apgd-ce", "apgd-dlr", "apgd-t", "fab-t",
                           "square", "fwa", "ti-bim", "mi", "di", "ti-dim", "ti-bim-author", "noise", "aa", "aa-fast",
                           "aa-author40", "aa-smoke"};
    int bad = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        jt_attack_config c;
        if (jt_attack_preset(ctx, names[i], JT_IMAGES_CIFAR, &c) != JT_OK || jt_attack_config_check(ctx, &c) != JT_OK ||
            strcmp(c.name, names[i]) != 0) {
            bad++;
            jt_test_note("%s: %s", names[i], jt_ctx_error(ctx));
        }
        jt_attack_config_release(&c);
    }
    if (bad) jt_test_fail("presets/all_valid", "%d presets invalid", bad);
    else jt_test_ok("presets/all_valid");
    jt_attack_config c;
    if (jt_attack_preset(ctx, "pgdd", JT_IMAGES_CIFAR, &c) == JT_ERR_ARG && strstr(jt_ctx_error(ctx), "apgd-ce"))
        jt_test_ok("presets/unknown_lists_names");
    else jt_test_fail("presets/unknown_lists_names", "message: %s", jt_ctx_error(ctx));
    jt_attack_preset(ctx, "pgd", JT_IMAGES_FMNIST, &c);
    if (c.eps == 0.1 && c.alpha == 0.032 && c.steps == 40 && c.random_start) jt_test_ok("presets/fmnist_pgd");
    else jt_test_fail("presets/fmnist_pgd", "eps %g alpha %g steps %d", c.eps, c.alpha, c.steps);
    jt_attack_preset(ctx, "aa-smoke", JT_IMAGES_CIFAR, &c);
    int ok = c.n_components == 2 && c.components[0].kind == JT_ATK_APGD && c.components[0].steps == 20 &&
             c.components[1].kind == JT_ATK_APGD_T && c.components[1].n_targets == 3;
    jt_attack_config_release(&c);
    if (ok) jt_test_ok("presets/aa_smoke");
    else jt_test_fail("presets/aa_smoke", "unexpected components");
    jt_attack_preset(ctx, "pgd", JT_IMAGES_CIFAR, &c);
    c.steps = 0;
    if (jt_attack_config_check(ctx, &c) == JT_ERR_ARG && strstr(jt_ctx_error(ctx), "steps"))
        jt_test_ok("presets/check_names_parameter");
    else jt_test_fail("presets/check_names_parameter", "message: %s", jt_ctx_error(ctx));
}

static void test_validity(void) {
    jt_attack_config c;
    memset(&c, 0, sizeof c);
    c.norm = JT_NORM_LINF;
    c.eps = 0.1;
    float x[4] = {0.5f, 0.5f, 0.0f, 1.0f};
    float a1[4] = {0.6f, 0.4f, 0.0f, 0.95f}, a2[4] = {0.62f, 0.5f, 0, 1}, a3[4] = {0.5f, 0.5f, -0.01f, 1},
          a4[4] = {0.5f, NAN, 0, 1};
    char why[128];
    int ok = jt_attack_valid(&c, x, a1, 4, why, sizeof why) && !jt_attack_valid(&c, x, a2, 4, why, sizeof why) &&
             !jt_attack_valid(&c, x, a3, 4, why, sizeof why) && !jt_attack_valid(&c, x, a4, 4, why, sizeof why);
    c.norm = JT_NORM_L2;
    c.eps = 0.1;
    float b1[4] = {0.57f, 0.57f, 0, 1}, b2[4] = {0.58f, 0.58f, 0, 1};
    ok = ok && jt_attack_valid(&c, x, b1, 4, why, sizeof why) && !jt_attack_valid(&c, x, b2, 4, why, sizeof why);
    if (ok) jt_test_ok("validity/linf_l2_box_finite");
    else jt_test_fail("validity/linf_l2_box_finite", "a valid example was refused or an invalid one accepted");
}

/* Every preset on one tanh MLP (3x4x4, 10 classes): the run succeeds, the inputs are unchanged, every
 * output is valid (the dispatcher's checks, repeated here), robust accuracy <= clean accuracy, and
 * clean mistakes are returned unchanged and never counted as attacked. */
static void test_all_presets_invariants(jt_ctx *ctx) {
    enum { H = 16, K = 10, D = 48, N = 24 };
    static double W1[H * D], b1[H], W2[K * H], b2[K];
    for (int i = 0; i < H * D; i++) W1[i] = 2 * (rnd() - 0.5);
    for (int i = 0; i < H; i++) b1[i] = rnd() - 0.5;
    for (int i = 0; i < K * H; i++) W2[i] = 2 * (rnd() - 0.5);
    for (int i = 0; i < K; i++) b2[i] = 0.1 * (rnd() - 0.5);
    jt_oracle *o = NULL;
    toy_mlp_create(ctx, 3, 4, 4, H, K, W1, b1, W2, b2, 8, &o);
    float x[N * D], x0[N * D], adv[N * D];
    int64_t y[N], pc[N];
    uint8_t att[N], succ[N];
    for (int i = 0; i < N * D; i++) x[i] = (float)rnd();
    memcpy(x0, x, sizeof x);
    jt_oracle_predict(o, x, N, pc, NULL);
    for (int i = 0; i < N; i++) y[i] = i % 5 == 0 ? (pc[i] + 1) % K : pc[i]; /* some clean mistakes */
    const char *names[] = {"pgd", "pgd-l2", "pgd-dlr", "pgd-feat", "apgd-ce", "apgd-dlr", "apgd-t", "fab-t", "square",
                           "fwa", "ti-bim", "mi", "di", "ti-dim", "ti-bim-author", "noise", "aa", "aa-fast",
                           "aa-author40", "aa-smoke"};
    for (size_t a = 0; a < sizeof names / sizeof names[0]; a++) {
        char name[64];
        snprintf(name, sizeof name, "invariants/%s", names[a]);
        jt_attack_config c;
        jt_attack_preset(ctx, names[a], JT_IMAGES_CIFAR, &c);
        c.eps = c.norm == JT_NORM_L2 ? 1.0 : 0.1;
        if (c.kind == JT_ATK_SQUARE) c.queries = 200;
        for (int k = 0; k < c.n_components; k++) {
            c.components[k].eps = 0.1;
            if (c.components[k].kind == JT_ATK_SQUARE) c.components[k].queries = 200;
        }
        jt_attack_io io = {.n = N, .x = x, .y = y, .x_adv = adv, .attacked = att, .success = succ};
        jt_status st = jt_attack_run(o, &c, &io);
        int bad_valid = 0, bad_clean = 0, robust = 0, correct = 0;
        char why[160] = "";
        for (int i = 0; st == JT_OK && i < N; i++) {
            if (!jt_attack_valid(c.kind == JT_ATK_AUTOATTACK ? &c.components[0] : &c, x + i * D, adv + i * D, D, why,
                                 sizeof why))
                bad_valid++;
            correct += pc[i] == y[i];
            robust += pc[i] == y[i] && !succ[i];
            if (pc[i] != y[i] && (att[i] || !succ[i] || memcmp(adv + i * D, x + i * D, D * sizeof(float)))) bad_clean++;
        }
        if (st != JT_OK) jt_test_fail(name, "%s", jt_ctx_error(ctx));
        else if (memcmp(x, x0, sizeof x)) jt_test_fail(name, "the clean images were modified");
        else if (bad_valid) jt_test_fail(name, "%d invalid outputs (%s)", bad_valid, why);
        else if (bad_clean) jt_test_fail(name, "%d clean mistakes attacked, counted robust or changed", bad_clean);
        else if (robust > correct) jt_test_fail(name, "robust %d > clean-correct %d", robust, correct);
        else jt_test_ok(name);
        jt_attack_config_release(&c);
    }
    jt_oracle_free(o);
}

/* 95% Wilson intervals against published values (e.g. 5/10: [0.2366, 0.7634]; 0/10: [0, 0.2775]). */
static void test_wilson(void) {
    struct { int64_t k, n; double lo, hi; } rows[] = {{5, 10, 0.2366, 0.7634}, {0, 10, 0.0, 0.2775},
                                                      {10, 10, 0.7225, 1.0}, {81, 263, 0.2553, 0.3662}};
    int bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double lo, hi;
        jt_wilson_interval(rows[i].k, rows[i].n, &lo, &hi);
        if (fabs(lo - rows[i].lo) > 6e-5 || fabs(hi - rows[i].hi) > 6e-5) {
            bad++;
            jt_test_note("%lld/%lld: [%.5f, %.5f], want [%.4f, %.4f]", (long long)rows[i].k, (long long)rows[i].n, lo, hi,
                         rows[i].lo, rows[i].hi);
        }
    }
    double lo, hi;
    jt_wilson_interval(0, 0, &lo, &hi);
    if (!bad && isnan(lo) && isnan(hi)) jt_test_ok("eval/wilson_interval");
    else jt_test_fail("eval/wilson_interval", "%d rows off (or n = 0 not NaN)", bad);
}

int main(void) {
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(1, &ctx) != JT_OK) return 1;
    test_loss_values();
    test_wilson();
    test_loss_grads();
    test_presets(ctx);
    test_validity();
    test_pgd_linear_corner(ctx);
    test_pgd_linear_soundness(ctx);
    test_determinism(ctx);
    test_feature_pgd(ctx);
    test_all_presets_invariants(ctx);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
