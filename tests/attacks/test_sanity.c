/* Sanity checks S1-S10 (attacks/sanity.c, docs/attacks.md section 11): they pass on a well-behaved
 * closed-form model, and each judged property FAILs on a model or an evaluation built to violate it:
 * zero gradients (masking), NaN gradients, non-deterministic logits, hand-made evaluation results. Only
 * PGD and the noise baseline run; every other attack appears through hand-made results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/attack.h"
#include "jt_test.h"
#include "toy_oracle.h"

#define NPTS 240 /* more than the default max_points (200) */
#define C 3
#define H 8
#define W 8
#define D (C * H * W)
#define K 10

static uint64_t lcg = 2024;
static double rnd(void) { /* uniform [0,1) */
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- the data: a linear model z = W (x - 0.5) + b and class-conditioned points ----
 * Weights are centred per class (no class wins by its weight sum), and a point of class c sits at
 * 0.5 + gamma * sign(w_c) + noise with gamma in five levels, so the margins spread from ~1 to ~12
 * logits: PGD breaks a part of the points at the preset eps 8/255 and more at every larger eps, while
 * the larger margins survive random starts (what PGD does with a zero gradient) even at eps 0.5. */
typedef struct data {
    double Wt[K * D], b[K];
    float x[NPTS * D];
    int64_t y[NPTS];
} data;

static void data_make(data *m) {
    for (int k = 0; k < K; k++) {
        double mean = 0;
        for (int i = 0; i < D; i++) mean += (m->Wt[k * D + i] = rnd() - 0.5) / D;
        for (int i = 0; i < D; i++) m->Wt[k * D + i] -= mean;
    }
    /* the model sees x, so fold the -0.5 shift into the bias */
    for (int k = 0; k < K; k++) {
        m->b[k] = 0.1 * (rnd() - 0.5);
        for (int i = 0; i < D; i++) m->b[k] -= 0.5 * m->Wt[k * D + i];
    }
    for (int p = 0; p < NPTS; p++) {
        static const double gamma[5] = {0.02, 0.05, 0.1, 0.15, 0.25};
        int c = p % K;
        double g = gamma[(p / K) % 5];
        for (int i = 0; i < D; i++) {
            double w = m->Wt[c * D + i], v = 0.5 + g * (w > 0 ? 1 : -1) + 0.35 * (rnd() - 0.5);
            m->x[p * D + i] = (float)(v < 0 ? 0 : (v > 1 ? 1 : v));
        }
    }
}

/* labels = clean predictions, except every 20th point (a clean mistake) */
static void data_label(data *m, jt_oracle *o) {
    jt_oracle_predict(o, m->x, NPTS, m->y, NULL);
    for (int p = 0; p < NPTS; p += 20) m->y[p] = (m->y[p] + 1) % K;
}

/* ---- wrapper oracles that break one property of an inner oracle ---- */

typedef enum wrap_mode { WRAP_ZERO_GRAD, WRAP_NAN_GRAD, WRAP_NOISY_LOGITS, WRAP_NO_GRAD } wrap_mode;

typedef struct wrap {
    jt_oracle *inner;
    wrap_mode mode;
    uint64_t calls; /* WRAP_NOISY_LOGITS: a counter that perturbs every call differently */
} wrap;

static jt_status wrap_logits(jt_oracle *o, const float *x, int n, float *z) {
    wrap *w = o->impl;
    jt_status st = w->inner->vt->logits(w->inner, x, n, z);
    if (st == JT_OK && w->mode == WRAP_NOISY_LOGITS) {
        w->calls++;
        for (int i = 0; i < n; i++) z[(size_t)i * K] += 1e-6f * (float)(w->calls % 7);
    }
    return st;
}

static jt_status wrap_loss_grad(jt_oracle *o, const float *x, const int64_t *y, const int64_t *t, int n,
                                jt_attack_loss kind, float *loss, float *grad, float *z) {
    wrap *w = o->impl;
    if (w->mode == WRAP_NO_GRAD) return jt_fail(o->ctx, JT_ERR_UNSUPPORTED, "test oracle: no gradients");
    jt_status st = w->inner->vt->loss_grad(w->inner, x, y, t, n, kind, loss, grad, z);
    if (st != JT_OK) return st;
    size_t nd = (size_t)n * D;
    if (w->mode == WRAP_ZERO_GRAD) memset(grad, 0, nd * sizeof *grad); /* gradient masking */
    if (w->mode == WRAP_NAN_GRAD)
        for (int i = 0; i < n; i++) grad[(size_t)i * D + 5] = NAN;
    return JT_OK;
}

static void wrap_destroy(jt_oracle *o) {
    free(o->impl);
    free(o);
}

static const jt_oracle_vtable wrap_vt = {.logits = wrap_logits, .loss_grad = wrap_loss_grad, .destroy = wrap_destroy};

static jt_oracle *wrap_make(jt_oracle *inner, wrap_mode mode) {
    jt_oracle *o = calloc(1, sizeof *o);
    wrap *w = calloc(1, sizeof *w);
    if (!o || !w) {
        free(o);
        free(w);
        return NULL;
    }
    *o = *inner;
    o->vt = &wrap_vt;
    o->impl = w;
    o->n_forward = o->n_backward = 0;
    w->inner = inner;
    w->mode = mode;
    return o;
}

/* ---- helpers ---- */

static const jt_sanity_check *find(const jt_sanity_report *r, const char *id) {
    for (int k = 0; k < r->n; k++)
        if (strcmp(r->checks[k].id, id) == 0) return &r->checks[k];
    return NULL;
}

/* One test line: check `id` of r has status `want`. */
static void expect(const char *name, const jt_sanity_report *r, const char *id, jt_check_status want) {
    const jt_sanity_check *c = find(r, id);
    if (!c) jt_test_fail(name, "no check %s in the report (%d checks)", id, r->n);
    else if (c->status != want)
        jt_test_fail(name, "%s (%s) is %s, want %s: %s", id, c->name, jt_check_status_name(c->status),
                     jt_check_status_name(want), c->detail);
    else {
        jt_test_ok(name);
        jt_test_note("%s %s: %s", id, jt_check_status_name(c->status), c->detail);
    }
}

/* max_points 0: the default (200) */
static jt_status run_checks(jt_oracle *o, jt_oracle *bpda, const data *m, const jt_eval_result *ev, int max_points,
                            jt_sanity_report *r) {
    jt_sanity_options opt = {.kind = JT_IMAGES_CIFAR, .seed = 3, .max_points = max_points};
    return jt_sanity_run(o, bpda, m->x, m->y, NPTS, ev, &opt, r);
}

/* ---- tests ---- */

static void test_status_names(void) {
    int ok = strcmp(jt_check_status_name(JT_CHECK_PASS), "PASS") == 0 &&
             strcmp(jt_check_status_name(JT_CHECK_WARN), "WARN") == 0 &&
             strcmp(jt_check_status_name(JT_CHECK_FAIL), "FAIL") == 0 &&
             strcmp(jt_check_status_name(JT_CHECK_SKIP), "SKIP") == 0 &&
             strcmp(jt_check_status_name((jt_check_status)17), "?") == 0;
    if (ok) jt_test_ok("sanity/status_names");
    else jt_test_fail("sanity/status_names", "PASS/WARN/FAIL/SKIP/? expected");
}

typedef struct prog {
    int calls;
    int64_t last_done, last_total;
} prog;

static void on_progress(void *user, const char *what, int64_t done, int64_t total) {
    prog *p = user;
    (void)what;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
}

/* The well-behaved model: S1 S2 S3 S5 S7 S10 pass, S4 passes on the own PGD run, S6 passes with the
 * model as its own BPDA oracle (identity defense), S8 S9 skip without an evaluation. */
static void test_well_behaved(jt_ctx *ctx, jt_oracle *o, const data *m) {
    jt_sanity_report r;
    prog p = {0};
    jt_sanity_options opt = {.kind = JT_IMAGES_CIFAR, .seed = 3, .progress = on_progress, .progress_user = &p};
    if (jt_sanity_run(o, o, m->x, m->y, NPTS, NULL, &opt, &r) != JT_OK) {
        jt_test_fail("sanity/linear/run", "%s", jt_ctx_error(ctx));
        return;
    }
    jt_test_ok("sanity/linear/run");
    static const char *const pass[] = {"S1", "S2", "S3", "S4", "S5", "S6", "S7", "S10"};
    for (size_t k = 0; k < sizeof pass / sizeof *pass; k++) {
        char name[64];
        snprintf(name, sizeof name, "sanity/linear/%s_pass", pass[k]);
        expect(name, &r, pass[k], JT_CHECK_PASS);
    }
    expect("sanity/linear/S8_skip_without_eval", &r, "S8", JT_CHECK_SKIP);
    expect("sanity/linear/S9_skip_without_eval", &r, "S9", JT_CHECK_SKIP);
    if (r.n == 10 && !r.any_fail) jt_test_ok("sanity/linear/report_complete_no_fail");
    else jt_test_fail("sanity/linear/report_complete_no_fail", "n = %d, any_fail = %d", r.n, r.any_fail);
    /* the default max_points (200 of the 240 given) is named in the details */
    const jt_sanity_check *s1 = find(&r, "S1");
    if (s1 && strstr(s1->detail, "on 200 points")) jt_test_ok("sanity/linear/default_200_points");
    else jt_test_fail("sanity/linear/default_200_points", "S1 detail: %s", s1 ? s1->detail : "(none)");
    if (p.calls == 11 && p.last_done == 10 && p.last_total == 10) jt_test_ok("sanity/linear/progress");
    else jt_test_fail("sanity/linear/progress", "%d calls, last %lld/%lld", p.calls, (long long)p.last_done,
                      (long long)p.last_total);
}

/* Gradient masking: a zero gradient leaves PGD at its random start. */
static void test_zero_grad(jt_ctx *ctx, jt_oracle *inner, const data *m) {
    jt_oracle *o = wrap_make(inner, WRAP_ZERO_GRAD);
    jt_sanity_report r;
    if (!o || run_checks(o, NULL, m, NULL, 0, &r) != JT_OK) {
        jt_test_fail("sanity/zero_grad/run", "%s", o ? jt_ctx_error(ctx) : "out of memory");
    } else {
        expect("sanity/zero_grad/S5_fail", &r, "S5", JT_CHECK_FAIL);
        expect("sanity/zero_grad/S1_fail", &r, "S1", JT_CHECK_FAIL);
        expect("sanity/zero_grad/S6_skip_without_bpda", &r, "S6", JT_CHECK_SKIP);
        if (r.any_fail) jt_test_ok("sanity/zero_grad/any_fail");
        else jt_test_fail("sanity/zero_grad/any_fail", "any_fail not set");
    }
    jt_oracle_free(o);
}

static void test_nan_grad(jt_ctx *ctx, jt_oracle *inner, const data *m) {
    jt_oracle *o = wrap_make(inner, WRAP_NAN_GRAD);
    jt_sanity_report r;
    if (!o || run_checks(o, NULL, m, NULL, 0, &r) != JT_OK)
        jt_test_fail("sanity/nan_grad/run", "%s", o ? jt_ctx_error(ctx) : "out of memory");
    else expect("sanity/nan_grad/S5_fail", &r, "S5", JT_CHECK_FAIL);
    jt_oracle_free(o);
}

static void test_nondeterministic(jt_ctx *ctx, jt_oracle *inner, const data *m) {
    jt_oracle *o = wrap_make(inner, WRAP_NOISY_LOGITS); /* still claims deterministic = 1 */
    jt_sanity_report r;
    if (!o || run_checks(o, NULL, m, NULL, 0, &r) != JT_OK)
        jt_test_fail("sanity/nondeterministic/run", "%s", o ? jt_ctx_error(ctx) : "out of memory");
    else expect("sanity/nondeterministic/S10_fail", &r, "S10", JT_CHECK_FAIL);
    jt_oracle_free(o);
}

/* An oracle without gradients (JT_ERR_UNSUPPORTED, as an attack not written yet): the attack checks
 * SKIP with the reason, the run succeeds, the forward part of S10 still runs. */
static void test_unsupported(jt_ctx *ctx, jt_oracle *inner, const data *m) {
    jt_oracle *o = wrap_make(inner, WRAP_NO_GRAD);
    jt_sanity_report r;
    if (!o || run_checks(o, o, m, NULL, 0, &r) != JT_OK) {
        jt_test_fail("sanity/unsupported/run", "%s", o ? jt_ctx_error(ctx) : "out of memory");
    } else {
        int bad = 0;
        static const char *const skip[] = {"S1", "S2", "S3", "S4", "S5", "S6", "S7"};
        for (size_t k = 0; k < sizeof skip / sizeof *skip; k++) {
            const jt_sanity_check *c = find(&r, skip[k]);
            if (!c || c->status != JT_CHECK_SKIP || !strstr(c->detail, "no gradients")) {
                bad++;
                jt_test_note("%s: %s %s", skip[k], c ? jt_check_status_name(c->status) : "-", c ? c->detail : "");
            }
        }
        if (!bad) jt_test_ok("sanity/unsupported/skip_with_reason");
        else jt_test_fail("sanity/unsupported/skip_with_reason", "%d checks did not SKIP naming the reason", bad);
        expect("sanity/unsupported/S10_forward_pass", &r, "S10", JT_CHECK_PASS);
    }
    jt_oracle_free(o);
}

/* ---- hand-made evaluation results ---- */

#define MAXA 4
#define EV_POINTS 60 /* the checks that run attacks use the first 60 points (faster) */
typedef struct fake {
    jt_eval_result r;
    jt_eval_attack a[MAXA];
    int64_t pred[NPTS];
    uint8_t succ[MAXA][NPTS], att[MAXA][NPTS], robust_all[NPTS];
} fake;

/* ev over the data's points with clean predictions from o and no attack yet */
static void fake_init(fake *f, jt_oracle *o, const data *m) {
    memset(f, 0, sizeof *f);
    jt_oracle_predict(o, m->x, NPTS, f->pred, NULL);
    f->r.n = NPTS;
    f->r.d = D;
    f->r.n_classes = K;
    f->r.y = m->y;
    f->r.pred_clean = f->pred;
    f->r.attacks = f->a;
    int correct = 0;
    for (int i = 0; i < NPTS; i++) correct += f->pred[i] == m->y[i];
    f->r.clean_acc = (double)correct / NPTS;
    f->r.worst_acc = f->r.clean_acc;
}

/* Adds a column of preset `name` that breaks the clean-correct points i with broken(i) != 0. */
static jt_eval_attack *fake_add(jt_ctx *ctx, fake *f, const data *m, const char *name, int (*broken)(int i)) {
    int k = f->r.n_attacks++;
    jt_eval_attack *a = &f->a[k];
    jt_attack_preset(ctx, name, JT_IMAGES_CIFAR, &a->cfg);
    jt_attack_config_release(&a->cfg);
    a->success = f->succ[k];
    a->attacked = f->att[k];
    a->loss_first = a->loss_last = a->zero_grad_frac = NAN;
    int rob = 0, worst = 0;
    for (int i = 0; i < NPTS; i++) {
        int correct = f->pred[i] == m->y[i];
        a->attacked[i] = (uint8_t)correct;
        a->success[i] = (uint8_t)(!correct || broken(i));
        rob += !a->success[i];
        int all = correct;
        for (int j = 0; j <= k; j++) all &= !f->succ[j][i];
        f->robust_all[i] = (uint8_t)all;
        worst += all;
    }
    a->robust_acc = (double)rob / NPTS;
    f->r.robust_all = f->robust_all;
    f->r.worst_acc = (double)worst / NPTS;
    return a;
}

static int brk_none(int i) { (void)i; return 0; }
static int brk_third(int i) { return i % 3 == 0; }
static int brk_half(int i) { return i % 2 == 0; }
static int brk_quarter(int i) { return i % 4 == 0; }
static int brk_half_plus(int i) { return i % 2 == 0 || i % 7 == 1; } /* 1 in 7 of the rest more */

static void test_s9(jt_ctx *ctx, jt_oracle *o, const data *m) {
    fake f;
    jt_sanity_report r;
    /* AA column above the PGD column (beyond 0.5 pp) */
    fake_init(&f, o, m);
    fake_add(ctx, &f, m, "pgd", brk_half);
    jt_eval_attack *aa = fake_add(ctx, &f, m, "aa", brk_third);
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) jt_test_fail("sanity/s9/aa_above_pgd", "%s", jt_ctx_error(ctx));
    else expect("sanity/s9/aa_above_pgd_fails", &r, "S9", JT_CHECK_FAIL);
    /* AA at or below PGD and DLR: pass */
    fake_init(&f, o, m);
    fake_add(ctx, &f, m, "pgd", brk_third);
    fake_add(ctx, &f, m, "pgd-dlr", brk_third);
    fake_add(ctx, &f, m, "aa", brk_half);
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) jt_test_fail("sanity/s9/aa_below", "%s", jt_ctx_error(ctx));
    else expect("sanity/s9/aa_below_passes", &r, "S9", JT_CHECK_PASS);
    /* AA above the DLR column only */
    fake_init(&f, o, m);
    fake_add(ctx, &f, m, "pgd", brk_third);
    fake_add(ctx, &f, m, "pgd-dlr", brk_half_plus);
    fake_add(ctx, &f, m, "aa", brk_half);
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) jt_test_fail("sanity/s9/aa_above_dlr", "%s", jt_ctx_error(ctx));
    else expect("sanity/s9/aa_above_dlr_fails", &r, "S9", JT_CHECK_FAIL);
    /* worst case above a column (a broken bookkeeping) */
    fake_init(&f, o, m);
    fake_add(ctx, &f, m, "pgd", brk_half);
    f.r.worst_acc = f.a[0].robust_acc + 0.01;
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) jt_test_fail("sanity/s9/worst_above", "%s", jt_ctx_error(ctx));
    else expect("sanity/s9/worst_above_column_fails", &r, "S9", JT_CHECK_FAIL);
    (void)aa;
}

/* S4 and S5 judge the evaluation's diagnostics. */
static void test_s4_s5_from_eval(jt_ctx *ctx, jt_oracle *o, const data *m) {
    fake f;
    jt_sanity_report r;
    fake_init(&f, o, m);
    jt_eval_attack *a = fake_add(ctx, &f, m, "apgd-ce", brk_half);
    a->loss_first = 1.5;
    a->loss_last = 1.2; /* fell */
    a->zero_grad_frac = 0.0;
    a->nonfinite_grad = 1;
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) {
        jt_test_fail("sanity/eval_diag/run", "%s", jt_ctx_error(ctx));
        return;
    }
    expect("sanity/eval_diag/S4_loss_fell_fails", &r, "S4", JT_CHECK_FAIL);
    expect("sanity/eval_diag/S5_nonfinite_fails", &r, "S5", JT_CHECK_FAIL);
    a->loss_last = 2.0;
    a->nonfinite_grad = 0;
    a->zero_grad_frac = 0.05; /* 5% all-zero gradients */
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) {
        jt_test_fail("sanity/eval_diag/run2", "%s", jt_ctx_error(ctx));
        return;
    }
    expect("sanity/eval_diag/S4_loss_rose_passes", &r, "S4", JT_CHECK_PASS);
    expect("sanity/eval_diag/S5_zero_grad_fails", &r, "S5", JT_CHECK_FAIL);
    /* the feature PGD is exempt from the zero-gradient rule */
    a->zero_grad_frac = 0.0;
    jt_eval_attack *feat = fake_add(ctx, &f, m, "pgd-feat", brk_none);
    feat->zero_grad_frac = 1.0;
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) jt_test_fail("sanity/eval_diag/run3", "%s", jt_ctx_error(ctx));
    else expect("sanity/eval_diag/S5_pgd_feat_exempt", &r, "S5", JT_CHECK_PASS);
}

/* S7 with the evaluation's white-box column: a "pgd" column at eps 0.45 that broke nothing is
 * contradicted by corner noise at that eps (per-example rule). */
static void test_s7_from_eval(jt_ctx *ctx, jt_oracle *o, const data *m) {
    fake f;
    jt_sanity_report r;
    fake_init(&f, o, m);
    jt_eval_attack *a = fake_add(ctx, &f, m, "pgd", brk_none);
    a->cfg.eps = 0.45;
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) jt_test_fail("sanity/s7/weak_white_box", "%s", jt_ctx_error(ctx));
    else expect("sanity/s7/noise_beats_white_box_fails", &r, "S7", JT_CHECK_FAIL);
}

/* S8: Square against APGD columns (hand-made), and the SKIP without them. */
static void test_s8(jt_ctx *ctx, jt_oracle *o, const data *m) {
    fake f;
    jt_sanity_report r;
    fake_init(&f, o, m);
    fake_add(ctx, &f, m, "apgd-ce", brk_half);
    fake_add(ctx, &f, m, "apgd-t", brk_half);
    fake_add(ctx, &f, m, "square", brk_half_plus); /* breaks ~7% of the APGD survivors more */
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) jt_test_fail("sanity/s8/square_stronger", "%s", jt_ctx_error(ctx));
    else expect("sanity/s8/square_stronger_warns", &r, "S8", JT_CHECK_WARN);
    fake_init(&f, o, m);
    fake_add(ctx, &f, m, "apgd-ce", brk_half);
    fake_add(ctx, &f, m, "square", brk_quarter); /* only points APGD-CE broke too */
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) jt_test_fail("sanity/s8/square_weaker", "%s", jt_ctx_error(ctx));
    else expect("sanity/s8/square_weaker_passes", &r, "S8", JT_CHECK_PASS);
    fake_init(&f, o, m);
    fake_add(ctx, &f, m, "square", brk_third);
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) jt_test_fail("sanity/s8/no_apgd", "%s", jt_ctx_error(ctx));
    else expect("sanity/s8/no_apgd_skips", &r, "S8", JT_CHECK_SKIP);
    /* an AutoAttack column whose Square component took 1 pp after the white-box ones */
    fake_init(&f, o, m);
    jt_eval_attack *aa = fake_add(ctx, &f, m, "aa", brk_half);
    aa->n_components = 4;
    aa->acc_after[0] = 0.40, aa->acc_after[1] = 0.38, aa->acc_after[2] = 0.37, aa->acc_after[3] = 0.36;
    if (run_checks(o, NULL, m, &f.r, EV_POINTS, &r) != JT_OK) jt_test_fail("sanity/s8/aa_square", "%s", jt_ctx_error(ctx));
    else expect("sanity/s8/aa_square_component_warns", &r, "S8", JT_CHECK_WARN);
}

int main(void) {
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(1, &ctx) != JT_OK) return 1;
    test_status_names();
    data *m = calloc(1, sizeof *m);
    jt_oracle *o = NULL;
    if (!m) {
        jt_test_fail("sanity/setup", "out of memory");
        jt_ctx_free(ctx);
        return jt_test_finish();
    }
    data_make(m);
    if (toy_linear_create(ctx, C, H, W, K, m->Wt, m->b, 64, &o) != JT_OK) {
        jt_test_fail("sanity/setup", "%s", jt_ctx_error(ctx));
    } else {
        data_label(m, o);
        test_well_behaved(ctx, o, m);
        test_zero_grad(ctx, o, m);
        test_nan_grad(ctx, o, m);
        test_nondeterministic(ctx, o, m);
        test_unsupported(ctx, o, m);
        test_s9(ctx, o, m);
        test_s4_s5_from_eval(ctx, o, m);
        test_s7_from_eval(ctx, o, m);
        test_s8(ctx, o, m);
    }
    jt_oracle_free(o);
    free(m);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
