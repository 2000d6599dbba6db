/* APGD (APGD-CE, APGD-DLR, APGD-T) and the AutoAttack composition (docs/attacks.md sections 3, 6 and
 * the section 12 test plan): step-size checkpoints, linear closed form (soundness, exact AA accuracy,
 * the K = 2 optimal corner), APGD never ends below its start, AutoAttack bookkeeping with a scripted
 * oracle, determinism and batch invariance, a 2-pixel MLP against brute force. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/attack_internal.h"
#include "jatp/attack.h"
#include "jt_test.h"
#include "toy_oracle.h"

static uint64_t lcg = 424242;
static double rnd(void) { /* uniform [0,1) */
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- log capture (the AutoAttack accuracy lines) ---- */

typedef struct logcap {
    int on;
    char text[4096];
} logcap;

static void log_sink(void *user, jt_log_level level, const char *msg) {
    logcap *c = user;
    if (c->on) {
        size_t l = strlen(c->text);
        jt_test_fmt(c->text + l, sizeof c->text - l, "%s\n", msg);
    } else if (level <= JT_LOG_WARN) {
        fprintf(stderr, "jatp: %s\n", msg);
    }
}

/* ---- 1. checkpoints (section 3.2) ---- */

static void test_checkpoints(void) {
    static const int n100[] = {22, 41, 57, 70, 80, 87, 93, 99}, w100[] = {22, 19, 16, 13, 10, 7, 6, 6};
    static const int n40[] = {8, 15, 21, 26, 30, 33, 35, 37, 39}, w40[] = {8, 7, 6, 5, 4, 3, 2, 2, 2};
    static const int n10[] = {2, 3, 4, 5, 6, 7, 8, 9, 10}, w10[] = {2, 1, 1, 1, 1, 1, 1, 1, 1};
    struct { int N, count; const int *it, *w; } rows[] = {{100, 8, n100, w100}, {40, 9, n40, w40}, {10, 9, n10, w10}};
    for (int r = 0; r < 3; r++) {
        int it[64], w[64];
        char name[64];
        jt_test_fmt(name, sizeof name, "apgd/checkpoints/N%d", rows[r].N);
        int c = jt_apgd_checkpoints(rows[r].N, it, w, 64);
        int bad = c != rows[r].count;
        for (int k = 0; k < c && !bad; k++) bad = it[k] != rows[r].it[k] || w[k] != rows[r].w[k];
        if (!bad) {
            jt_test_ok(name);
            continue;
        }
        char got[512] = "";
        for (int k = 0; k < c && k < 64; k++) {
            size_t l = strlen(got);
            jt_test_fmt(got + l, sizeof got - l, " (%d,%d)", it[k], w[k]);
        }
        jt_test_fail(name, "got %d checkpoints:%s", c, got);
    }
}

/* ---- linear models ---- */

/* Sets eps on an attack and, for AutoAttack, on each component. */
static void set_eps(jt_attack_config *c, double eps) {
    c->eps = eps;
    for (int i = 0; i < c->n_components; i++) c->components[i].eps = eps;
}

/* ---- 2. linear closed form: soundness and exact AutoAttack accuracy (section 12.1 a, c) ---- */

static void test_linear_closed_form(jt_ctx *ctx) {
    toy_lin m;
    toy_lin_make(&m, 10, 3 * 8 * 8, rnd);
    jt_oracle *o = NULL;
    if (toy_linear_create(ctx, 3, 8, 8, 10, m.W, m.b, 32, &o) != JT_OK) {
        jt_test_fail("apgd/linear", "%s", jt_ctx_error(ctx));
        toy_lin_free(&m);
        return;
    }
    int n = 200;
    int64_t d = m.d;
    float eps = 0.02f;
    float *x = malloc((size_t)n * d * sizeof *x), *adv = malloc((size_t)n * d * sizeof *adv);
    int64_t *y = malloc((size_t)n * sizeof *y);
    uint8_t *succ = malloc((size_t)n);
    double *rs = malloc((size_t)n * sizeof *rs);
    for (int i = 0; i < n * d; i++) x[i] = eps + (float)rnd() * (1 - 2 * eps);
    jt_oracle_predict(o, x, n, y, NULL); /* labels = clean predictions: every point is attacked */
    int counted = 0, exact_robust = 0;
    for (int i = 0; i < n; i++) {
        rs[i] = toy_lin_rstar(&m, x + (size_t)i * d, y[i]);
        if (fabs(rs[i] / eps - 1) < 0.06) continue;
        counted++;
        exact_robust += rs[i] > eps;
    }
    jt_test_note("linear K=10: %d of %d points kept, %d robust", counted, n, exact_robust);
    const char *atks[] = {"apgd-ce", "apgd-dlr", "apgd-t", "aa-fast", "aa"};
    for (int a = 0; a < 5; a++) {
        jt_attack_config cfg;
        char name[64];
        int is_aa = a >= 3;
        jt_test_fmt(name, sizeof name, is_aa ? "aa/linear_exact_accuracy/%s" : "apgd/linear_soundness/%s", atks[a]);
        jt_attack_preset(ctx, atks[a], JT_IMAGES_CIFAR, &cfg);
        set_eps(&cfg, eps);
        cfg.seed = 5;
        for (int c = 0; c < cfg.n_components; c++) cfg.components[c].seed = 5;
        jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv, .success = succ};
        jt_status st = jt_attack_run(o, &cfg, &io);
        jt_attack_config_release(&cfg);
        if (st != JT_OK) {
            jt_test_fail(name, "%s", jt_ctx_error(ctx));
            continue;
        }
        int unsound = 0, missed = 0, robust = 0;
        for (int i = 0; i < n; i++) {
            if (fabs(rs[i] / eps - 1) < 0.06) continue;
            robust += !succ[i];
            if (rs[i] > eps && succ[i]) unsound++;
            if (rs[i] < eps && !succ[i]) missed++;
        }
        if (!is_aa) {
            if (unsound) jt_test_fail(name, "%d successes on points with r* > eps (of %d)", unsound, counted);
            else jt_test_ok(name);
            jt_test_note("%s: robust %d, exact %d, missed %d", atks[a], robust, exact_robust, missed);
        } else if (unsound || missed || robust != exact_robust) {
            jt_test_fail(name, "robust %d, exact %d (%d unsound, %d missed, of %d)", robust, exact_robust, unsound, missed,
                         counted);
        } else {
            jt_test_ok(name);
        }
    }
    free(x);
    free(adv);
    free(y);
    free(succ);
    free(rs);
    toy_lin_free(&m);
    jt_oracle_free(o);
}

/* ---- 3. K = 2: APGD-CE reaches the optimal corner x - eps*sign(w_y - w_j) (section 12.1 d) ---- */

static void test_linear_corner(jt_ctx *ctx) {
    const char *name = "apgd/linear_k2_corner";
    toy_lin m;
    toy_lin_make(&m, 2, 3 * 8 * 8, rnd);
    jt_oracle *o = NULL;
    toy_linear_create(ctx, 3, 8, 8, 2, m.W, m.b, 16, &o);
    int n = 40;
    int64_t d = m.d;
    float eps = 0.05f;
    float *x = malloc((size_t)n * d * sizeof *x), *adv = malloc((size_t)n * d * sizeof *adv);
    int64_t *y = malloc((size_t)n * sizeof *y);
    for (int i = 0; i < n * d; i++) x[i] = eps + (float)rnd() * (1 - 2 * eps);
    jt_oracle_predict(o, x, n, y, NULL);
    jt_attack_config cfg;
    jt_attack_preset(ctx, "apgd-ce", JT_IMAGES_CIFAR, &cfg);
    cfg.eps = eps;
    cfg.steps = 10;
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
    if (st != JT_OK) jt_test_fail(name, "%s", jt_ctx_error(ctx));
    else if (bad) jt_test_fail(name, "%d coordinates off the optimal corner (worst %.3g)", bad, worst);
    else jt_test_ok(name);
    free(x);
    free(adv);
    free(y);
    toy_lin_free(&m);
    jt_oracle_free(o);
}

/* ---- small MLPs ---- */

typedef struct mlp {
    int64_t d, H, K;
    double W1[16 * 32], b1[32], W2[8 * 32], b2[8];
} mlp;

static void mlp_make(mlp *m, int64_t d, int64_t H, int64_t K, double s1, double s2) {
    m->d = d;
    m->H = H;
    m->K = K;
    for (int64_t i = 0; i < H * d; i++) m->W1[i] = s1 * (2 * rnd() - 1);
    for (int64_t i = 0; i < H; i++) m->b1[i] = s1 * (rnd() - 0.5);
    for (int64_t i = 0; i < K * H; i++) m->W2[i] = s2 * (2 * rnd() - 1);
    for (int64_t i = 0; i < K; i++) m->b2[i] = 0;
}

/* margin z_y - max_{j != y} z_j in double */
static double mlp_margin(const mlp *m, const double *x, int64_t y) {
    double h[32], best = -INFINITY, zy = 0;
    for (int64_t j = 0; j < m->H; j++) {
        double s = m->b1[j];
        for (int64_t i = 0; i < m->d; i++) s += m->W1[j * m->d + i] * x[i];
        h[j] = tanh(s);
    }
    for (int64_t k = 0; k < m->K; k++) {
        double s = m->b2[k];
        for (int64_t j = 0; j < m->H; j++) s += m->W2[k * m->H + j] * h[j];
        if (k == y) zy = s;
        else best = s > best ? s : best;
    }
    return zy - best;
}

/* ---- 4. APGD never ends below its start (section 12.3) ---- */

/* The start point of run `run` as apgd.c draws it (section 3.3). */
static void start_point(const jt_attack_config *cfg, int64_t index, uint32_t run, const float *x, float *v, int64_t d) {
    float u[64], mx = 0;
    atk_uniform_fill(cfg, index, run, 0, u, d);
    for (int64_t e = 0; e < d; e++) {
        u[e] = 2.0f * u[e] - 1.0f;
        mx = fabsf(u[e]) > mx ? fabsf(u[e]) : mx;
    }
    for (int64_t e = 0; e < d; e++) v[e] = atk_clampf(x[e] + (float)cfg->eps * (u[e] / (mx + 1e-12f)), 0.0f, 1.0f);
}

/* class of the r-th largest logit (r = 1: the argmax), lower index first on ties */
static int64_t kth_class(const float *z, int64_t K, int r) {
    int64_t used[8] = {0}, c = -1;
    for (int k = 0; k < r; k++) {
        c = -1;
        for (int64_t j = 0; j < K; j++)
            if (!used[j] && (c < 0 || z[j] > z[c])) c = j;
        used[c] = 1;
    }
    return c;
}

/* The attack loss of example i at v (for APGD-T: the target of its last run, kth_class(nt + 1)). */
static float loss_at(jt_oracle *o, const float *v, int64_t y, int64_t t, jt_attack_loss kind) {
    float l = NAN, g[16], z[8];
    jt_oracle_loss_grad(o, v, &y, &t, 1, kind, &l, g, z);
    return l;
}

/* Per example: l(returned) >= l(start) for the examples APGD did not break (they return x_best).
 * Then a second run on exactly those examples (same global indices, so the same per-example results)
 * checks the diagnostics: loss_last = mean l_best = mean loss at the returned points (x_best
 * re-evaluated equals l_best) and loss_first = mean loss at the start points of those runs. */
static void test_not_worse_than_start(jt_ctx *ctx) {
    mlp m;
    mlp_make(&m, 16, 16, 4, 1.0, 1.0);
    jt_oracle *o = NULL;
    toy_mlp_create(ctx, 1, 4, 4, m.H, m.K, m.W1, m.b1, m.W2, m.b2, 16, &o);
    int n = 60;
    int64_t d = 16, K = 4;
    float *x = malloc((size_t)n * d * sizeof *x), *adv = malloc((size_t)n * d * sizeof *adv);
    float *xs = malloc((size_t)n * d * sizeof *xs), *advs = malloc((size_t)n * d * sizeof *advs);
    int64_t *y = malloc((size_t)n * sizeof *y), *ys = malloc((size_t)n * sizeof *ys), *idx = malloc((size_t)n * sizeof *idx);
    uint8_t *succ = malloc((size_t)n), *succs = malloc((size_t)n);
    for (int i = 0; i < n * d; i++) x[i] = 0.1f + 0.8f * (float)rnd();
    jt_oracle_predict(o, x, n, y, NULL);
    const char *atks[] = {"apgd-ce", "apgd-dlr", "apgd-t"};
    for (int a = 0; a < 3; a++) {
        char name[64];
        jt_test_fmt(name, sizeof name, "apgd/not_worse_than_start/%s", atks[a]);
        jt_attack_config cfg;
        jt_attack_preset(ctx, atks[a], JT_IMAGES_CIFAR, &cfg);
        cfg.eps = 0.03;
        cfg.steps = 30;
        cfg.seed = 11;
        jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv, .success = succ};
        if (jt_attack_run(o, &cfg, &io) != JT_OK) {
            jt_test_fail(name, "%s", jt_ctx_error(ctx));
            continue;
        }
        int nt = cfg.n_targets < K - 1 ? cfg.n_targets : (int)K - 1, ms = 0;
        for (int i = 0; i < n; i++)
            if (!succ[i]) {
                memcpy(xs + (size_t)ms * d, x + (size_t)i * d, (size_t)d * sizeof *xs);
                ys[ms] = y[i];
                idx[ms++] = i;
            }
        double lf = 0, ll = 0;
        jt_attack_io io2 = {.n = ms, .x = xs, .y = ys, .index = idx, .x_adv = advs, .success = succs, .loss_first = &lf,
                            .loss_last = &ll};
        if (ms < 5) {
            jt_test_fail(name, "only %d examples left unbroken: the test is too easy", ms);
            continue;
        }
        if (jt_attack_run(o, &cfg, &io2) != JT_OK) {
            jt_test_fail(name, "%s", jt_ctx_error(ctx));
            continue;
        }
        int worse = 0, differ = 0;
        double worst = 0, s0 = 0, s1 = 0;
        for (int k = 0; k < ms; k++) {
            int i = (int)idx[k];
            float v[16], z[8];
            int64_t t = -1;
            uint32_t run = 0;
            jt_attack_loss kind = cfg.loss;
            if (a == 2) {
                jt_oracle_logits(o, x + (size_t)i * d, 1, z);
                t = kth_class(z, K, nt + 1);
                run = (uint32_t)(nt - 1);
                kind = JT_LOSS_DLR_T;
            }
            differ += succs[k] || memcmp(advs + (size_t)k * d, adv + (size_t)i * d, (size_t)d * sizeof *adv) != 0;
            start_point(&cfg, i, run, x + (size_t)i * d, v, d);
            float l0 = loss_at(o, v, y[i], t, kind), l1 = loss_at(o, advs + (size_t)k * d, y[i], t, kind);
            s0 += l0;
            s1 += l1;
            if (l1 < l0) {
                worse++;
                worst = l0 - l1 > worst ? l0 - l1 : worst;
            }
        }
        s0 /= ms;
        s1 /= ms;
        int diag_bad = fabs(ll - s1) > 1e-6 * (1 + fabs(s1)) || fabs(lf - s0) > 1e-6 * (1 + fabs(s0));
        if (differ) jt_test_fail(name, "%d of %d examples changed when rerun alone with their indices", differ, ms);
        else if (worse) jt_test_fail(name, "%d of %d ended below their start loss (worst by %.3g)", worse, ms, worst);
        else if (diag_bad)
            jt_test_fail(name, "diagnostics: loss_first %.9g (start points %.9g), loss_last %.9g (returned points %.9g)", lf,
                         s0, ll, s1);
        else jt_test_ok(name);
    }
    free(x);
    free(adv);
    free(xs);
    free(advs);
    free(y);
    free(ys);
    free(idx);
    free(succ);
    free(succs);
    jt_oracle_free(o);
}

/* ---- 4b. the library against a direct transcription of section 3.3 ----
 * Per example, one run at a time, with AutoAttack's look-back over a loss history (hist[0] = 0 stands
 * for the unwritten row of fidelity note a) instead of the library's running counter, and the outer
 * loop of section 3.4 (R = 1). The float operations are those of the pseudo-code, in its order, so the
 * results must agree bit for bit. */

static void ref_step(float *v, float *vp, const float *g, const float *x, float eps, float eta, float a, int64_t d) {
    float nv[16];
    for (int64_t e = 0; e < d; e++) {
        float lo = x[e] - eps, hi = x[e] + eps;
        float s = atk_clampf(atk_clampf(v[e] + eta * atk_sign(g[e]), lo, hi), 0.0f, 1.0f);
        nv[e] = atk_clampf(atk_clampf(v[e] + (s - v[e]) * a + (v[e] - vp[e]) * (1.0f - a), lo, hi), 0.0f, 1.0f);
    }
    memcpy(vp, v, (size_t)d * sizeof *v);
    memcpy(v, nv, (size_t)d * sizeof *v);
}

/* One run; returns 1 when an iterate was misclassified (out = the last one), else 0 (out = x_best). */
static int ref_run(jt_oracle *o, const jt_attack_config *cfg, int64_t index, uint32_t run, const float *x, int64_t y,
                   int64_t t, jt_attack_loss kind, float *out, int32_t *first) {
    int64_t d = jt_oracle_dim(o), K = o->n_classes;
    int N = cfg->steps;
    float v[16], vp[16], g[16], xb[16], gb[16], xa[16], z[8], l, eps = (float)cfg->eps;
    float *hist = malloc((size_t)(N + 1) * sizeof *hist); /* hist[k + 1] = loss after step k; hist[0] = 0 */
    start_point(cfg, index, run, x, v, d);
    jt_oracle_loss_grad(o, v, &y, &t, 1, kind, &l, g, z);
    int ok = kth_class(z, K, 1) == y;
    *first = ok ? -1 : 0;
    memcpy(xa, v, sizeof v);
    memcpy(xb, v, sizeof v);
    memcpy(gb, g, sizeof g);
    memcpy(vp, v, sizeof v);
    float lb = l, lcheck = l, eta = 2.0f * eps;
    int w = (int)(0.22 * N), w_min = (int)(0.06 * N), dec = (int)(0.03 * N), cnt = 0, halved_last = 1;
    w = w < 1 ? 1 : w;
    w_min = w_min < 1 ? 1 : w_min;
    dec = dec < 1 ? 1 : dec;
    hist[0] = 0.0f;
    for (int k = 0; k < N; k++) {
        ref_step(v, vp, g, x, eps, eta, k == 0 ? 1.0f : 0.75f, d);
        jt_oracle_loss_grad(o, v, &y, &t, 1, kind, &l, g, z);
        hist[k + 1] = l;
        if (kth_class(z, K, 1) != y) {
            ok = 0;
            memcpy(xa, v, sizeof v);
            if (*first < 0) *first = k + 1;
        }
        if (l > lb) {
            memcpy(xb, v, sizeof v);
            memcpy(gb, g, sizeof g);
            lb = l;
        }
        if (++cnt == w) {
            int ups = 0;
            for (int mm = 0; mm < w; mm++) ups += hist[k - mm + 1] > hist[k - mm];
            int halve = ups <= cfg->rho * w || (!halved_last && lcheck >= lb);
            halved_last = halve;
            lcheck = lb;
            if (halve) {
                eta /= 2.0f;
                memcpy(v, xb, sizeof v);
                memcpy(g, gb, sizeof g);
            }
            w = w - dec > w_min ? w - dec : w_min;
            cnt = 0;
        }
    }
    free(hist);
    memcpy(out, ok ? xb : xa, (size_t)d * sizeof *out);
    return !ok;
}

static void test_reference_runs(jt_ctx *ctx) {
    mlp m;
    mlp_make(&m, 4, 8, 4, 4.0, 1.0);
    jt_oracle *o = NULL;
    toy_mlp_create(ctx, 1, 1, 4, m.H, m.K, m.W1, m.b1, m.W2, m.b2, 8, &o);
    int n = 40;
    int64_t d = 4, K = 4;
    float x[160], adv[160], want[4], z[4];
    int64_t y[40];
    int32_t its[40];
    uint8_t succ[40];
    for (int i = 0; i < n * d; i++) x[i] = 0.1f + 0.8f * (float)rnd();
    jt_oracle_predict(o, x, n, y, NULL);
    const char *atks[] = {"apgd-ce", "apgd-dlr", "apgd-t"};
    static const int Ns[] = {10, 40, 100}; /* 40: windows 8 and 4, where ups = rho*w can happen */
    for (int a = 0; a < 3; a++)
        for (int q = 0; q < 3; q++) {
            char name[64];
            jt_test_fmt(name, sizeof name, "apgd/reference_run/%s/N%d", atks[a], Ns[q]);
            jt_attack_config cfg;
            jt_attack_preset(ctx, atks[a], JT_IMAGES_CIFAR, &cfg);
            cfg.eps = 0.1;
            cfg.steps = Ns[q];
            cfg.n_targets = 3;
            cfg.seed = 1;
            jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv, .iters = its, .success = succ};
            if (jt_attack_run(o, &cfg, &io) != JT_OK) {
                jt_test_fail(name, "%s", jt_ctx_error(ctx));
                continue;
            }
            int bad = 0, fooled = 0;
            char why[200] = "";
            for (int i = 0; i < n; i++) {
                int runs = a == 2 ? 3 : 1, hit = 0;
                int32_t first = -1, want_it = -1;
                jt_oracle_logits(o, x + (size_t)i * d, 1, z);
                for (int r = 0; r < runs && !hit; r++) {
                    int64_t t = a == 2 ? kth_class(z, K, r + 2) : -1;
                    jt_attack_loss kind = a == 2 ? JT_LOSS_DLR_T : cfg.loss;
                    hit = ref_run(o, &cfg, i, (uint32_t)r, x + (size_t)i * d, y[i], t, kind, want, &first);
                    if (hit) want_it = r * (cfg.steps + 1) + first;
                }
                fooled += hit;
                if ((memcmp(want, adv + (size_t)i * d, sizeof want) != 0 || its[i] != want_it || succ[i] != hit) && !bad++)
                    jt_test_fmt(why, sizeof why, "example %d: x_adv[0] %.9g want %.9g, iters %d want %d, success %d want %d", i,
                             adv[i * d], want[0], its[i], want_it, succ[i], hit);
            }
            if (bad) jt_test_fail(name, "%d of %d examples differ; first: %s", bad, n, why);
            else if (fooled == 0 || fooled == n) jt_test_fail(name, "%d of %d fooled: not a useful mix", fooled, n);
            else jt_test_ok(name);
        }
    jt_oracle_free(o);
}

/* ---- 4c. the second halving condition (fidelity note c) with scripted losses ----
 * One example, d = 1, N = 40 (checkpoints after 8 and 15 iterations, windows 8 and 7). Losses by
 * oracle call: start 10; first window 0..7 (7 rises > 0.75*8: no halving by oscillation, no
 * improvement on the start); second window 1..7 (6 rises > 0.75*7); then rising past 10. The second
 * condition must not fire at the first checkpoint (halved_last starts true) and must fire at the
 * second. The gradient's sign follows a fixed pattern so that every position reveals the step size;
 * the library's sequence of queried points must equal the transcription's. */

typedef struct scripted_loss {
    int calls;
    float pos[64];
} scripted_loss;

static float sl_loss(int c) { return c == 0 ? 10.0f : (c <= 8 ? (float)(c - 1) : (c <= 15 ? (float)(c - 8) : 20.0f + c)); }

static void sc_destroy_noop(jt_oracle *o) { (void)o; }

static jt_status sl_logits(jt_oracle *o, const float *x, int n, float *z) {
    (void)o;
    (void)x;
    for (int i = 0; i < n; i++) z[2 * i] = 1.0f, z[2 * i + 1] = 0.0f;
    return JT_OK;
}

static jt_status sl_loss_grad(jt_oracle *o, const float *x, const int64_t *y, const int64_t *t, int n,
                              jt_attack_loss kind, float *loss, float *grad, float *z) {
    scripted_loss *s = o->impl;
    (void)y;
    (void)t;
    (void)kind;
    for (int i = 0; i < n; i++) {
        int c = s->calls++;
        if (c < 64) s->pos[c] = x[i];
        if (loss) loss[i] = sl_loss(c);
        grad[i] = c % 3 == 0 ? 1.0f : -1.0f;
        if (z) z[2 * i] = 1.0f, z[2 * i + 1] = 0.0f;
    }
    return JT_OK;
}

static void test_second_condition(jt_ctx *ctx) {
    const char *name = "apgd/fidelity_second_halving_condition";
    static const jt_oracle_vtable vt = {.logits = sl_logits, .loss_grad = sl_loss_grad, .destroy = sc_destroy_noop};
    scripted_loss lib = {0}, ref = {0};
    jt_oracle o = {.vt = &vt, .ctx = ctx, .c = 1, .h = 1, .w = 1, .n_classes = 2, .max_batch = 1, .deterministic = 1,
                   .impl = &lib};
    float x = 0.5f, adv = -1, want = -2;
    int64_t y = 0;
    int32_t first = 0;
    jt_attack_config cfg;
    jt_attack_preset(ctx, "apgd-ce", JT_IMAGES_CIFAR, &cfg);
    cfg.eps = 0.25;
    cfg.steps = 40;
    jt_attack_io io = {.n = 1, .x = &x, .y = &y, .x_adv = &adv};
    if (jt_attack_run(&o, &cfg, &io) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
        return;
    }
    o.impl = &ref;
    ref_run(&o, &cfg, 0, 0, &x, y, -1, JT_LOSS_CE, &want, &first);
    int at = -1;
    for (int c = 0; c < 41 && at < 0; c++)
        if (lib.pos[c] != ref.pos[c]) at = c;
    if (lib.calls != 41 || ref.calls != 41) jt_test_fail(name, "%d and %d oracle calls, want 41", lib.calls, ref.calls);
    else if (at >= 0) jt_test_fail(name, "query %d at %.9g, the transcription's at %.9g", at, lib.pos[at], ref.pos[at]);
    else if (adv != want) jt_test_fail(name, "returned %.9g, want %.9g", adv, want);
    else jt_test_ok(name);
}

/* ---- 5. AutoAttack bookkeeping with a scripted oracle (section 12.4) ----
 * d = 2: x = ((i + 0.5)/n, 0.5) encodes the example id in x[0]. Components are three PGDs without
 * random start (losses ce, cw, dlr; the oracle tells them apart by the loss kind); the oracle's
 * gradient pushes x[1] down when the script says component c breaks example i, else up, and the
 * prediction flips once x[1] < 0.5 - 0.005. Some examples are clean mistakes. */

#define SC_N 48
typedef struct script {
    int lab[SC_N], mistake[SC_N], breaks[SC_N][3];
    int seen[3][SC_N];  /* ids that reached loss_grad per component */
    int progress_total[3], progress_calls;
    char progress_name[3][32];
} script;

static int sc_id(const float *x) { return (int)floorf(x[0] * SC_N); }

static void sc_logits_one(const script *s, const float *x, float *z) {
    int id = sc_id(x), c = s->lab[id];
    if (s->mistake[id]) c = (c + 1) % 3;
    else if (0.5f - x[1] > 0.005f) c = (c + 2) % 3;
    for (int k = 0; k < 3; k++) z[k] = k == c ? 2.0f : 0.0f;
}

static jt_status sc_logits(jt_oracle *o, const float *x, int n, float *z) {
    for (int i = 0; i < n; i++) sc_logits_one(o->impl, x + 2 * i, z + 3 * i);
    return JT_OK;
}

static jt_status sc_loss_grad(jt_oracle *o, const float *x, const int64_t *y, const int64_t *t, int n,
                              jt_attack_loss kind, float *loss, float *grad, float *z) {
    script *s = o->impl;
    int c = kind == JT_LOSS_CE ? 0 : (kind == JT_LOSS_CW ? 1 : (kind == JT_LOSS_DLR ? 2 : -1));
    if (c < 0) return jt_fail(o->ctx, JT_ERR_ARG, "scripted oracle: unexpected loss");
    for (int i = 0; i < n; i++) {
        float zz[3];
        int id = sc_id(x + 2 * i);
        sc_logits_one(s, x + 2 * i, zz);
        s->seen[c][id] = 1;
        if (loss) loss[i] = (float)jt_attack_loss_eval(kind, zz, 3, y[i], t ? t[i] : -1, NULL);
        if (z) memcpy(z + 3 * i, zz, sizeof zz);
        grad[2 * i] = 0.0f;
        grad[2 * i + 1] = s->breaks[id][c] ? -1.0f : 1.0f;
    }
    return JT_OK;
}


static void sc_progress(void *user, const char *what, int64_t done, int64_t total) {
    script *s = user;
    for (int c = 0; c < 3; c++)
        if (strcmp(what, s->progress_name[c]) == 0 && done == total) s->progress_total[c] = (int)total;
    s->progress_calls++;
}

static void test_aa_bookkeeping(jt_ctx *ctx, logcap *cap) {
    const char *name = "aa/bookkeeping";
    static const jt_oracle_vtable vt = {.logits = sc_logits, .loss_grad = sc_loss_grad, .destroy = sc_destroy_noop};
    script *s = calloc(1, sizeof *s);
    jt_oracle o = {.vt = &vt, .ctx = ctx, .c = 1, .h = 1, .w = 2, .n_classes = 3, .max_batch = 5, .deterministic = 1,
                   .impl = s};
    int n = SC_N;
    float x[2 * SC_N], adv[2 * SC_N];
    int64_t y[SC_N], pc[SC_N];
    uint8_t att[SC_N], succ[SC_N];
    int32_t it[SC_N];
    int16_t comp[SC_N];
    for (int i = 0; i < n; i++) {
        x[2 * i] = ((float)i + 0.5f) / SC_N;
        x[2 * i + 1] = 0.5f;
        s->lab[i] = y[i] = i % 3;
        s->mistake[i] = i % 7 == 3;
        int bits = (i * 5 + 1) % 8; /* every pattern of the three components, robust (0) included */
        for (int c = 0; c < 3; c++) s->breaks[i][c] = (bits >> c) & 1;
    }
    jt_attack_config comps[3], cfg;
    static const jt_attack_loss losses[3] = {JT_LOSS_CE, JT_LOSS_CW, JT_LOSS_DLR};
    for (int c = 0; c < 3; c++) {
        jt_attack_preset(ctx, "pgd", JT_IMAGES_CIFAR, &comps[c]);
        jt_test_fmt(comps[c].name, sizeof comps[c].name, "scripted-%d", c);
        jt_test_fmt(s->progress_name[c], sizeof s->progress_name[c], "%s", comps[c].name);
        comps[c].loss = losses[c];
        comps[c].random_start = 0;
        comps[c].eps = 0.01;
        comps[c].alpha = 0.004;
        comps[c].steps = 5;
    }
    memset(&cfg, 0, sizeof cfg);
    jt_test_fmt(cfg.name, sizeof cfg.name, "aa-scripted");
    cfg.kind = JT_ATK_AUTOATTACK;
    cfg.eps = 0.01;
    cfg.n_components = 3;
    cfg.components = comps;
    cfg.progress = sc_progress;
    cfg.progress_user = s;
    double acc[3] = {-1, -1, -1};
    jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv, .pred_clean = pc, .attacked = att, .success = succ,
                       .iters = it, .component = comp};
    cap->on = 1;
    cap->text[0] = 0;
    jt_status st = jt_autoattack_run(&o, &cfg, &io, acc);
    cap->on = 0;
    if (st != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
        free(s);
        return;
    }
    /* expected: the first component whose script breaks the point; survivors per component */
    int bad = 0, robust_after[3] = {0, 0, 0}, survivors[3] = {0, 0, 0};
    char why[256] = "";
    for (int i = 0; i < n; i++) {
        int want = -1;
        for (int c = 0; c < 3 && want < 0 && !s->mistake[i]; c++) {
            survivors[c]++;
            if (s->breaks[i][c]) want = c;
        }
        for (int c = 0; c < 3; c++) {
            int alive = !s->mistake[i] && (want < 0 || want > c);
            robust_after[c] += alive;
            int should_see = !s->mistake[i] && (want < 0 || want >= c);
            if (s->seen[c][i] != should_see && !bad++)
                jt_test_fmt(why, sizeof why, "example %d %s component %d", i, should_see ? "not seen by" : "seen by", c);
        }
        float want_x1 = want >= 0 ? 0.5f - 0.01f : 0.5f;
        int ok = comp[i] == want && succ[i] == (s->mistake[i] || want >= 0) && att[i] == !s->mistake[i] &&
                 adv[2 * i] == x[2 * i] && fabsf(adv[2 * i + 1] - want_x1) < 1e-7f && it[i] == (want >= 0 ? 2 : -1) &&
                 pc[i] == (s->mistake[i] ? (y[i] + 1) % 3 : y[i]);
        if (!ok && !bad++)
            jt_test_fmt(why, sizeof why,
                     "example %d: component %d (want %d) success %d attacked %d x_adv (%g, %g) iters %d mistake %d", i,
                     comp[i], want, succ[i], att[i], adv[2 * i], adv[2 * i + 1], it[i], s->mistake[i]);
    }
    for (int c = 0; c < 3 && !bad; c++) {
        char line[96];
        jt_test_fmt(line, sizeof line, "robust accuracy after scripted-%d: %.2f%%", c, 100.0 * ((double)robust_after[c] / n));
        if (fabs(acc[c] - (double)robust_after[c] / n) > 1e-12) {
            bad++;
            jt_test_fmt(why, sizeof why, "acc_after[%d] = %g, want %g", c, acc[c], (double)robust_after[c] / n);
        } else if (!strstr(cap->text, line)) {
            bad++;
            jt_test_fmt(why, sizeof why, "log line '%s' missing (log: %s)", line, cap->text);
        } else if (s->progress_total[c] != survivors[c]) {
            bad++;
            jt_test_fmt(why, sizeof why, "progress of component %d reported %d examples, want %d survivors", c,
                     s->progress_total[c], survivors[c]);
        }
    }
    if (bad) jt_test_fail(name, "%d problems; first: %s", bad, why);
    else jt_test_ok(name);
    jt_test_note("scripted AA: survivors %d %d %d, robust %d", survivors[0], survivors[1], survivors[2], robust_after[2]);
    free(s);
}

/* ---- 5b. components see the global indices ----
 * AutoAttack [apgd-t, apgd-ce] with index = 1000 + i against apgd-ce run directly on all points with
 * the same indices: each point the second component breaks must get exactly the direct run's x_adv
 * and iters (per-example results depend only on the example, its global index and the seed). */
static void test_aa_global_indices(jt_ctx *ctx) {
    const char *name = "aa/components_keyed_by_global_index";
    mlp m;
    mlp_make(&m, 16, 16, 4, 2.0, 2.0);
    jt_oracle *o = NULL;
    toy_mlp_create(ctx, 1, 4, 4, m.H, m.K, m.W1, m.b1, m.W2, m.b2, 8, &o);
    int n = 60;
    int64_t d = 16;
    float *x = malloc((size_t)n * d * sizeof *x), *adv = malloc((size_t)n * d * sizeof *adv),
          *ref = malloc((size_t)n * d * sizeof *ref);
    int64_t y[60], idx[60];
    int32_t it[60], ref_it[60];
    int16_t comp[60];
    uint8_t ref_succ[60];
    for (int i = 0; i < n * d; i++) x[i] = (float)rnd();
    jt_oracle_predict(o, x, n, y, NULL);
    for (int i = 0; i < n; i++) idx[i] = 1000 + i;
    jt_attack_config aa, ce;
    jt_attack_preset(ctx, "aa-fast", JT_IMAGES_CIFAR, &aa);
    jt_attack_config tmp = aa.components[0];
    aa.components[0] = aa.components[1]; /* apgd-t first, then apgd-ce */
    aa.components[1] = tmp;
    set_eps(&aa, 0.05);
    aa.components[0].steps = 5; /* a weak first component: leaves work for the second */
    aa.components[0].n_targets = 1;
    aa.components[0].eps = 0.02;
    jt_attack_preset(ctx, "apgd-ce", JT_IMAGES_CIFAR, &ce);
    ce.eps = 0.05;
    jt_attack_io io = {.n = n, .x = x, .y = y, .index = idx, .x_adv = adv, .iters = it, .component = comp};
    jt_attack_io io2 = {.n = n, .x = x, .y = y, .index = idx, .x_adv = ref, .iters = ref_it, .success = ref_succ};
    jt_status st = jt_attack_run(o, &aa, &io);
    if (st == JT_OK) st = jt_attack_run(o, &ce, &io2);
    jt_attack_config_release(&aa);
    if (st != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
    } else {
        int by[2] = {0, 0}, bad = 0;
        for (int i = 0; i < n; i++) {
            if (comp[i] >= 0) by[comp[i]]++;
            if (comp[i] == 1 && (!ref_succ[i] || it[i] != ref_it[i] ||
                                 memcmp(adv + (size_t)i * d, ref + (size_t)i * d, (size_t)d * sizeof *adv) != 0))
                bad++;
        }
        if (bad) jt_test_fail(name, "%d of %d points broken by the second component differ from the direct run", bad, by[1]);
        else if (by[0] == 0 || by[1] == 0) jt_test_fail(name, "components broke %d and %d points: not a useful mix", by[0], by[1]);
        else jt_test_ok(name);
    }
    free(x);
    free(adv);
    free(ref);
    jt_oracle_free(o);
}

/* ---- 6. determinism and batch invariance (section 12.9) ---- */

static void test_determinism(jt_ctx *ctx) {
    mlp m;
    mlp_make(&m, 16, 16, 4, 2.0, 2.0);
    int n = 50;
    int64_t d = 16;
    float *x = malloc((size_t)n * d * sizeof *x);
    int64_t *y = malloc((size_t)n * sizeof *y);
    for (int i = 0; i < n * d; i++) x[i] = (float)rnd();
    const char *atks[] = {"apgd-ce", "apgd-t", "apgd-dlr"};
    for (int a = 0; a < 3; a++) {
        float *ref = NULL;
        int32_t ref_it[64];
        int ok = 1, broken = 0;
        char why[200] = "";
        int batches[] = {64, 1, 7, 64};
        for (int b = 0; b < 4 && ok; b++) {
            jt_oracle *o = NULL;
            toy_mlp_create(ctx, 1, 4, 4, m.H, m.K, m.W1, m.b1, m.W2, m.b2, batches[b], &o);
            if (a == 0 && b == 0) jt_oracle_predict(o, x, n, y, NULL); /* every point attacked */
            jt_attack_config cfg;
            jt_attack_preset(ctx, atks[a], JT_IMAGES_CIFAR, &cfg);
            cfg.eps = 0.08;
            cfg.steps = 20;
            cfg.restarts = a == 1 ? 1 : 2;
            cfg.n_targets = 3;
            cfg.seed = 99;
            float *adv = malloc((size_t)n * d * sizeof *adv);
            int32_t its[64];
            uint8_t succ[64];
            jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv, .iters = its, .success = succ};
            if (jt_attack_run(o, &cfg, &io) != JT_OK) {
                ok = 0;
                jt_test_fmt(why, sizeof why, "%s", jt_ctx_error(ctx));
            } else if (!ref) {
                ref = adv;
                adv = NULL;
                memcpy(ref_it, its, sizeof(int32_t) * (size_t)n);
                for (int i = 0; i < n; i++) broken += succ[i];
                if (broken == 0 || broken == n)
                    ok = 0, jt_test_fmt(why, sizeof why, "%d of %d broken: not a useful mix", broken, n);
            } else if (memcmp(ref, adv, (size_t)n * d * sizeof *adv) != 0 || memcmp(ref_it, its, sizeof(int32_t) * (size_t)n)) {
                ok = 0;
                jt_test_fmt(why, sizeof why, "max_batch %d differs from the first run", batches[b]);
            }
            free(adv);
            jt_oracle_free(o);
        }
        char name[64];
        jt_test_fmt(name, sizeof name, "apgd/determinism_batch_invariance/%s", atks[a]);
        if (ok) jt_test_ok(name);
        else jt_test_fail(name, "%s", why);
        jt_test_note("%s: %d of %d broken", atks[a], broken, n);
        free(ref);
    }
    free(x);
    free(y);
}

/* ---- 7. 2-pixel MLP 2-16-3 against brute force on a 201x201 grid (section 12.2) ---- */

static void test_brute_force(jt_ctx *ctx, const char *preset, int restarts) {
    char name[64];
    snprintf(name, sizeof name, "%s/brute_force_2px%s", preset, restarts > 1 ? "_20_restarts" : "");
    mlp m;
    mlp_make(&m, 2, 16, 3, 6.0, 1.0);
    jt_oracle *o = NULL;
    toy_mlp_create(ctx, 1, 1, 2, m.H, m.K, m.W1, m.b1, m.W2, m.b2, 32, &o);
    int n = 300;
    double eps = 0.08;
    float *x = malloc((size_t)n * 2 * sizeof *x), *adv = malloc((size_t)n * 2 * sizeof *adv);
    int64_t *y = malloc((size_t)n * sizeof *y);
    uint8_t *succ = malloc((size_t)n);
    for (int i = 0; i < 2 * n; i++) x[i] = (float)rnd();
    jt_oracle_predict(o, x, n, y, NULL);
    jt_attack_config cfg;
    jt_attack_preset(ctx, preset, JT_IMAGES_CIFAR, &cfg);
    cfg.eps = eps;
    cfg.seed = 3;
    cfg.restarts = restarts;
    jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv, .success = succ};
    if (jt_attack_run(o, &cfg, &io) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
    } else {
        int kept = 0, agree = 0, false_claims = 0, breakable = 0;
        for (int i = 0; i < n; i++) {
            /* grid over the eps-box ∩ [0,1]^2, in the float values the oracle sees */
            float lo[2], hi[2];
            for (int c = 0; c < 2; c++) {
                lo[c] = fmaxf(0.0f, x[2 * i + c] - (float)eps);
                hi[c] = fminf(1.0f, x[2 * i + c] + (float)eps);
            }
            double mg = INFINITY;
            for (int a = 0; a <= 200; a++)
                for (int b = 0; b <= 200; b++) {
                    double p[2] = {(double)(float)(lo[0] + (hi[0] - lo[0]) * (float)a / 200.0f),
                                   (double)(float)(lo[1] + (hi[1] - lo[1]) * (float)b / 200.0f)};
                    double v = mlp_margin(&m, p, y[i]);
                    mg = v < mg ? v : mg;
                }
            if (fabs(mg) < 1e-3) continue;
            kept++;
            breakable += mg < 0;
            agree += (mg < 0) == (succ[i] != 0);
            false_claims += mg > 0 && succ[i];
        }
        jt_test_note("brute force: %d kept of %d, %d breakable by the grid, %s agrees on %d", kept, n, breakable, preset,
                     agree);
        if (breakable < kept / 10 || breakable > kept - kept / 10)
            jt_test_fail(name, "%d of %d breakable: not a useful mix (adjust eps)", breakable, kept);
        else if (false_claims)
            jt_test_fail(name, "%d successes where every grid point is correct", false_claims);
        else if (agree < 0.99 * kept)
            jt_test_fail(name, "agrees with the grid on %d of %d points (< 99%%)", agree, kept);
        else jt_test_ok(name);
    }
    free(x);
    free(adv);
    free(y);
    free(succ);
    jt_oracle_free(o);
}

int main(void) {
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(1, &ctx) != JT_OK) return 1;
    logcap cap = {0};
    jt_ctx_set_log(ctx, JT_LOG_INFO, log_sink, &cap);
    test_checkpoints();
    test_linear_corner(ctx);
    test_linear_closed_form(ctx);
    test_not_worse_than_start(ctx);
    test_reference_runs(ctx);
    test_second_condition(ctx);
    test_aa_bookkeeping(ctx, &cap);
    test_aa_global_indices(ctx);
    test_determinism(ctx);
    test_brute_force(ctx, "apgd-ce", 1);
    test_brute_force(ctx, "pgd", 20); /* docs/attacks.md 12.2: PGD with 20 restarts */
    jt_ctx_free(ctx);
    return jt_test_finish();
}
