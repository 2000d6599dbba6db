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
        snprintf(c->text + l, sizeof c->text - l, "%s\n", msg);
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
        snprintf(name, sizeof name, "apgd/checkpoints/N%d", rows[r].N);
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
            snprintf(got + l, sizeof got - l, " (%d,%d)", it[k], w[k]);
        }
        jt_test_fail(name, "got %d checkpoints:%s", c, got);
    }
}

/* ---- linear models ---- */

typedef struct lin {
    int64_t K, d;
    double *W, *b;
} lin;

static void lin_make(lin *m, int64_t K, int64_t d) {
    m->K = K;
    m->d = d;
    m->W = malloc((size_t)(K * d) * sizeof *m->W);
    m->b = malloc((size_t)K * sizeof *m->b);
    for (int64_t i = 0; i < K * d; i++) m->W[i] = rnd() - 0.5;
    for (int64_t k = 0; k < K; k++) m->b[k] = 0.2 * (rnd() - 0.5);
}

static void lin_free(lin *m) {
    free(m->W);
    free(m->b);
}

/* exact minimal L-inf distance to the decision boundary (box inactive): min_j m_j / ||w_y - w_j||_1 */
static double lin_rstar(const lin *m, const float *x, int64_t y) {
    double z[64], best = INFINITY;
    for (int64_t k = 0; k < m->K; k++) {
        z[k] = m->b[k];
        for (int64_t i = 0; i < m->d; i++) z[k] += m->W[k * m->d + i] * x[i];
    }
    for (int64_t j = 0; j < m->K; j++) {
        if (j == y) continue;
        double n1 = 0;
        for (int64_t i = 0; i < m->d; i++) n1 += fabs(m->W[y * m->d + i] - m->W[j * m->d + i]);
        double r = (z[y] - z[j]) / n1;
        best = r < best ? r : best;
    }
    return best;
}

/* Sets eps on an attack and, for AutoAttack, on each component. */
static void set_eps(jt_attack_config *c, double eps) {
    c->eps = eps;
    for (int i = 0; i < c->n_components; i++) c->components[i].eps = eps;
}

/* ---- 2. linear closed form: soundness and exact AutoAttack accuracy (section 12.1 a, c) ---- */

static void test_linear_closed_form(jt_ctx *ctx) {
    lin m;
    lin_make(&m, 10, 3 * 8 * 8);
    jt_oracle *o = NULL;
    if (toy_linear_create(ctx, 3, 8, 8, 10, m.W, m.b, 32, &o) != JT_OK) {
        jt_test_fail("apgd/linear", "%s", jt_ctx_error(ctx));
        lin_free(&m);
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
        rs[i] = lin_rstar(&m, x + (size_t)i * d, y[i]);
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
        snprintf(name, sizeof name, is_aa ? "aa/linear_exact_accuracy/%s" : "apgd/linear_soundness/%s", atks[a]);
        jt_attack_preset(ctx, atks[a], JT_IMAGES_CIFAR, &cfg);
        set_eps(&cfg, eps);
        cfg.seed = 5;
        for (int c = 0; c < cfg.n_components; c++) cfg.components[c].seed = 5;
        jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv, .success = succ};
        jt_status st = jt_attack_run(o, &cfg, &io);
        jt_attack_config_release(&cfg);
        if (st == JT_ERR_UNSUPPORTED && a == 4) {
            jt_test_skip(name, "a component is not implemented yet: %s", jt_ctx_error(ctx));
            continue;
        }
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
    lin_free(&m);
    jt_oracle_free(o);
}

/* ---- 3. K = 2: APGD-CE reaches the optimal corner x - eps*sign(w_y - w_j) (section 12.1 d) ---- */

static void test_linear_corner(jt_ctx *ctx) {
    const char *name = "apgd/linear_k2_corner";
    lin m;
    lin_make(&m, 2, 3 * 8 * 8);
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
    lin_free(&m);
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

static void test_not_worse_than_start(jt_ctx *ctx) {
    mlp m;
    mlp_make(&m, 16, 16, 4, 1.0, 1.0);
    jt_oracle *o = NULL;
    toy_mlp_create(ctx, 1, 4, 4, m.H, m.K, m.W1, m.b1, m.W2, m.b2, 16, &o);
    int n = 60;
    int64_t d = 16, K = 4;
    float *x = malloc((size_t)n * d * sizeof *x), *adv = malloc((size_t)n * d * sizeof *adv);
    int64_t *y = malloc((size_t)n * sizeof *y);
    uint8_t *succ = malloc((size_t)n);
    for (int i = 0; i < n * d; i++) x[i] = 0.1f + 0.8f * (float)rnd();
    jt_oracle_predict(o, x, n, y, NULL);
    const char *atks[] = {"apgd-ce", "apgd-dlr", "apgd-t"};
    for (int a = 0; a < 3; a++) {
        char name[64];
        snprintf(name, sizeof name, "apgd/not_worse_than_start/%s", atks[a]);
        jt_attack_config cfg;
        jt_attack_preset(ctx, atks[a], JT_IMAGES_CIFAR, &cfg);
        cfg.eps = 0.03;
        cfg.steps = 30;
        cfg.seed = 11;
        double lf = 0, ll = 0;
        jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv, .success = succ, .loss_first = &lf, .loss_last = &ll};
        if (jt_attack_run(o, &cfg, &io) != JT_OK) {
            jt_test_fail(name, "%s", jt_ctx_error(ctx));
            continue;
        }
        int nt = cfg.n_targets < K - 1 ? cfg.n_targets : (int)K - 1, checked = 0, worse = 0;
        double worst = 0;
        for (int i = 0; i < n; i++) {
            if (succ[i]) continue;
            /* never fooled: the returned point is x_best of the example's last run */
            float v[16], z[4], g[16], l0, l1;
            int64_t t = -1;
            uint32_t run = 0;
            jt_attack_loss kind = cfg.loss;
            if (a == 2) {
                jt_oracle_logits(o, x + (size_t)i * d, 1, z);
                t = kth_class(z, K, nt + 1);
                run = (uint32_t)(nt - 1);
                kind = JT_LOSS_DLR_T;
            }
            start_point(&cfg, i, run, x + (size_t)i * d, v, d);
            jt_oracle_loss_grad(o, v, y + i, &t, 1, kind, &l0, g, z);
            jt_oracle_loss_grad(o, adv + (size_t)i * d, y + i, &t, 1, kind, &l1, g, z);
            checked++;
            if (l1 < l0) {
                worse++;
                worst = l0 - l1 > worst ? l0 - l1 : worst;
            }
        }
        /* with one run per example the diagnostics compare l_best with the start loss too */
        int diag_bad = a < 2 && !(ll >= lf);
        if (checked < 5) jt_test_fail(name, "only %d examples left unbroken: the test is too easy", checked);
        else if (worse || diag_bad)
            jt_test_fail(name, "%d of %d ended below their start loss (worst by %.3g); mean first %.6g last %.6g", worse,
                         checked, worst, lf, ll);
        else jt_test_ok(name);
    }
    free(x);
    free(adv);
    free(y);
    free(succ);
    jt_oracle_free(o);
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

static void sc_destroy(jt_oracle *o) { (void)o; }

static void sc_progress(void *user, const char *what, int64_t done, int64_t total) {
    script *s = user;
    for (int c = 0; c < 3; c++)
        if (strcmp(what, s->progress_name[c]) == 0 && done == total) s->progress_total[c] = (int)total;
    s->progress_calls++;
}

static void test_aa_bookkeeping(jt_ctx *ctx, logcap *cap) {
    const char *name = "aa/bookkeeping";
    static const jt_oracle_vtable vt = {.logits = sc_logits, .loss_grad = sc_loss_grad, .destroy = sc_destroy};
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
        snprintf(comps[c].name, sizeof comps[c].name, "scripted-%d", c);
        snprintf(s->progress_name[c], sizeof s->progress_name[c], "%s", comps[c].name);
        comps[c].loss = losses[c];
        comps[c].random_start = 0;
        comps[c].eps = 0.01;
        comps[c].alpha = 0.004;
        comps[c].steps = 5;
    }
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.name, sizeof cfg.name, "aa-scripted");
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
                snprintf(why, sizeof why, "example %d %s component %d", i, should_see ? "not seen by" : "seen by", c);
        }
        float want_x1 = want >= 0 ? 0.5f - 0.01f : 0.5f;
        int ok = comp[i] == want && succ[i] == (s->mistake[i] || want >= 0) && att[i] == !s->mistake[i] &&
                 adv[2 * i] == x[2 * i] && fabsf(adv[2 * i + 1] - want_x1) < 1e-7f && it[i] == (want >= 0 ? 2 : -1) &&
                 pc[i] == (s->mistake[i] ? (y[i] + 1) % 3 : y[i]);
        if (!ok && !bad++)
            snprintf(why, sizeof why,
                     "example %d: component %d (want %d) success %d attacked %d x_adv (%g, %g) iters %d mistake %d", i,
                     comp[i], want, succ[i], att[i], adv[2 * i], adv[2 * i + 1], it[i], s->mistake[i]);
    }
    for (int c = 0; c < 3 && !bad; c++) {
        char line[96];
        snprintf(line, sizeof line, "robust accuracy after scripted-%d: %.2f%%", c, 100.0 * ((double)robust_after[c] / n));
        if (fabs(acc[c] - (double)robust_after[c] / n) > 1e-12) {
            bad++;
            snprintf(why, sizeof why, "acc_after[%d] = %g, want %g", c, acc[c], (double)robust_after[c] / n);
        } else if (!strstr(cap->text, line)) {
            bad++;
            snprintf(why, sizeof why, "log line '%s' missing (log: %s)", line, cap->text);
        } else if (s->progress_total[c] != survivors[c]) {
            bad++;
            snprintf(why, sizeof why, "progress of component %d reported %d examples, want %d survivors", c,
                     s->progress_total[c], survivors[c]);
        }
    }
    if (bad) jt_test_fail(name, "%d problems; first: %s", bad, why);
    else jt_test_ok(name);
    jt_test_note("scripted AA: survivors %d %d %d, robust %d", survivors[0], survivors[1], survivors[2], robust_after[2]);
    free(s);
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
                snprintf(why, sizeof why, "%s", jt_ctx_error(ctx));
            } else if (!ref) {
                ref = adv;
                adv = NULL;
                memcpy(ref_it, its, sizeof(int32_t) * (size_t)n);
                for (int i = 0; i < n; i++) broken += succ[i];
                if (broken == 0 || broken == n)
                    ok = 0, snprintf(why, sizeof why, "%d of %d broken: not a useful mix", broken, n);
            } else if (memcmp(ref, adv, (size_t)n * d * sizeof *adv) != 0 || memcmp(ref_it, its, sizeof(int32_t) * (size_t)n)) {
                ok = 0;
                snprintf(why, sizeof why, "max_batch %d differs from the first run", batches[b]);
            }
            free(adv);
            jt_oracle_free(o);
        }
        char name[64];
        snprintf(name, sizeof name, "apgd/determinism_batch_invariance/%s", atks[a]);
        if (ok) jt_test_ok(name);
        else jt_test_fail(name, "%s", why);
        jt_test_note("%s: %d of %d broken", atks[a], broken, n);
        free(ref);
    }
    free(x);
    free(y);
}

/* ---- 7. 2-pixel MLP 2-16-3 against brute force on a 201x201 grid (section 12.2) ---- */

static void test_brute_force(jt_ctx *ctx) {
    const char *name = "apgd/brute_force_2px";
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
    jt_attack_preset(ctx, "apgd-ce", JT_IMAGES_CIFAR, &cfg);
    cfg.eps = eps;
    cfg.seed = 3;
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
        jt_test_note("brute force: %d kept of %d, %d breakable by the grid, APGD agrees on %d", kept, n, breakable, agree);
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
    test_aa_bookkeeping(ctx, &cap);
    test_determinism(ctx);
    test_brute_force(ctx);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
