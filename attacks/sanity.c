/* Sanity checks S1-S10 (docs/attacks.md section 11), run by `jatp eval --checks`.
 *
 * Every check runs on the first max_points examples (default 200) and fills one jt_sanity_check with
 * PASS/WARN/FAIL/SKIP and the numbers behind the verdict. Checks that judge the evaluation itself (S4 S5
 * S8 S9) read `ev`; the others run their own attacks through jt_attack_run with opt->seed:
 *
 *   reference PGD  the preset `pgd` at the preset eps (section 13): S2's grid point at that eps, the
 *                  white-box set of S7 and the loss/gradient diagnostics of S4/S5 when ev has none,
 *                  S6's full-gradient side and the first run of S10. Run once, on demand.
 *   S1  PGD T=100, alpha=eps/4 at eps 0.5 on every point, then eps 1.0 on the points still robust.
 *   S2  PGD over the section 11 grid. Step size: the preset's ratio alpha/eps kept at every eps
 *       (alpha = 0.01/(8/255) eps = 0.319 eps on CIFAR, 0.032/0.1 eps on F-MNIST; T = 40), so that
 *       the grid point at the preset eps IS the evaluation's pgd and every eps crosses its ball the same
 *       number of times (12.75 radii). At eps = 0 the ball is {x} and alpha is left at the preset's.
 *   S3  track_best PGD at T = the preset's 40 and 2T = 80.
 *   S6  preset pgd-bpda on the BPDA oracle against the reference PGD.
 *   S7  preset noise (100 corner draws).
 *   S10 two forwards of the points; the reference PGD twice.
 *
 * An attack or oracle feature that is not available (JT_ERR_UNSUPPORTED: an attack still being
 * written, an oracle without gradients) makes the check that needs it SKIP with the reason; any other
 * error ends the run, prefixed with the check. */
#include <stdarg.h>
#include <stdio.h>

#include "attack_internal.h"

const char *jt_check_status_name(jt_check_status s) {
    static const char *const names[] = {"PASS", "WARN", "FAIL", "SKIP"};
    return (int)s >= 0 && s <= JT_CHECK_SKIP ? names[s] : "?";
}

#define N_CHECKS 10
#define DEFAULT_POINTS 200

/* What one jt_attack_run gave: robust = points neither clean-wrong nor broken (count over all n). */
typedef struct run_out {
    int robust, attacked;
    double loss_first, loss_last, zero_frac;
    int nonfinite;
} run_out;

typedef struct san {
    jt_ctx *ctx;
    jt_oracle *full, *bpda;
    const float *x;
    const int64_t *y;
    int n;                     /* points used: the first max_points */
    int64_t d, K;
    const jt_eval_result *ev;  /* NULL when not given */
    int ev_points;             /* ev's per-example arrays start with our n points (same labels) */
    jt_image_kind kind;
    jt_attack_config pgd;      /* preset pgd, seeded: the reference white-box attack */
    int n_correct;             /* clean-correct points among the n */
    /* scratch: two runs' outputs and a compacted subset */
    float *adv, *adv2, *sx;
    uint8_t *succ, *succ2, *att;
    int64_t *sy, *sidx;
    /* the reference PGD run (state 0: not run, 1: done, 2: unsupported) */
    int ref_state;
    float *ref_adv;
    uint8_t *ref_succ;
    run_out ref;
    char why[200], ref_why[200]; /* message of the last unsupported run / of the reference's */
} san;

/* ---- report helpers ---- */

static void set(jt_sanity_check *c, jt_check_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set(jt_sanity_check *c, jt_check_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
    c->status = st;
}

/* Appends to the detail (truncated at its capacity). */
static void add(jt_sanity_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(jt_sanity_check *c, const char *fmt, ...) {
    size_t len = strlen(c->detail);
    if (len + 1 >= sizeof c->detail) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail + len, sizeof c->detail - len, fmt, ap);
    va_end(ap);
}

static jt_check_status worse(jt_check_status a, jt_check_status b) {
    /* PASS < WARN < FAIL; SKIP only when nothing was judged */
    if (a == JT_CHECK_SKIP) return b;
    if (b == JT_CHECK_SKIP) return a;
    return a > b ? a : b;
}

static double pct(int k, int n) { return n > 0 ? 100.0 * k / n : NAN; }

static int same_eps(double a, double b) { return fabs(a - b) <= 1e-9 * (1.0 + fabs(b)); }

/* Unavailable -> SKIP with the reason, then go on; other errors end the run. */
static jt_status skip_or_fail(san *s, jt_sanity_check *c, jt_status st) {
    if (st != JT_ERR_UNSUPPORTED) return st;
    set(c, JT_CHECK_SKIP, "not available: %s", s->why);
    return JT_OK;
}

/* ---- running attacks ---- */

static jt_status run(san *s, jt_oracle *o, const jt_attack_config *cfg, const float *x, const int64_t *y,
                     const int64_t *index, int n, float *adv, uint8_t *succ, run_out *r) {
    memset(r, 0, sizeof *r);
    jt_attack_io io = {.n = n, .x = x, .y = y, .index = index, .x_adv = adv, .success = succ, .attacked = s->att,
                       .loss_first = &r->loss_first, .loss_last = &r->loss_last, .zero_grad_frac = &r->zero_frac,
                       .nonfinite_grad = &r->nonfinite};
    jt_status st = jt_attack_run(o, cfg, &io);
    if (st == JT_ERR_UNSUPPORTED) {
        snprintf(s->why, sizeof s->why, "%s", jt_ctx_error(s->ctx));
        jt_ctx_clear_error(s->ctx);
    }
    if (st != JT_OK) return st;
    for (int i = 0; i < n; i++) {
        r->attacked += s->att[i];
        r->robust += !succ[i];
    }
    return JT_OK;
}

static jt_status ref_pgd(san *s) {
    if (s->ref_state == 1) return JT_OK;
    if (s->ref_state == 2) {
        snprintf(s->why, sizeof s->why, "%s", s->ref_why);
        return JT_ERR_UNSUPPORTED;
    }
    jt_status st = run(s, s->full, &s->pgd, s->x, s->y, NULL, s->n, s->ref_adv, s->ref_succ, &s->ref);
    if (st == JT_OK) s->ref_state = 1;
    if (st == JT_ERR_UNSUPPORTED) {
        s->ref_state = 2;
        snprintf(s->ref_why, sizeof s->ref_why, "%s", s->why);
    }
    return st;
}

/* sx/sy/sidx <- the points with broken[i] == 0 (global indices kept as RNG keys); returns how many. */
static int compact_robust(san *s, const uint8_t *broken) {
    int m = 0;
    for (int i = 0; i < s->n; i++) {
        if (broken[i]) continue;
        memcpy(s->sx + (size_t)m * s->d, s->x + (size_t)i * s->d, (size_t)s->d * sizeof *s->sx);
        s->sy[m] = s->y[i];
        s->sidx[m] = i;
        m++;
    }
    return m;
}

/* ---- S1 large eps ---- */

static jt_status check_s1(san *s, jt_sanity_check *c) {
    jt_attack_config cfg = s->pgd;
    cfg.steps = 100;
    cfg.eps = 0.5;
    cfg.alpha = cfg.eps / 4;
    run_out r5, r10 = {0};
    jt_status st = run(s, s->full, &cfg, s->x, s->y, NULL, s->n, s->adv, s->succ, &r5);
    if (st != JT_OK) return skip_or_fail(s, c, st);
    /* eps 1.0 only on the points still robust at 0.5: a point broken in the smaller ball is broken in
     * the larger one, so this is the accuracy at 1.0 at a fraction of the cost */
    int m = compact_robust(s, s->succ);
    if (m > 0) {
        cfg.eps = 1.0;
        cfg.alpha = cfg.eps / 4;
        st = run(s, s->full, &cfg, s->sx, s->sy, s->sidx, m, s->adv2, s->succ2, &r10);
        if (st != JT_OK) return skip_or_fail(s, c, st);
    }
    int n = s->n;
    jt_check_status v = r5.robust * 10 > n ? JT_CHECK_FAIL : (r10.robust * 100 > n ? JT_CHECK_WARN : JT_CHECK_PASS);
    set(c, v,
        "PGD T=100 alpha=eps/4 on %d points: acc %.1f%% at eps 0.5 (FAIL if > 10%%); %.1f%% at eps 1.0 "
        "(WARN if > 1%%; run on the %d points left at 0.5)",
        n, pct(r5.robust, n), pct(r10.robust, n), m);
    return JT_OK;
}

/* ---- S2 monotone in eps ---- */

static int s2_grid(jt_image_kind k, double *eps) {
    static const double fm[] = {0, 0.025, 0.05, 0.1, 0.2, 0.3};
    static const double cf[] = {0, 1, 2, 4, 8, 16, 32};
    if (k == JT_IMAGES_FMNIST) {
        memcpy(eps, fm, sizeof fm);
        return 6;
    }
    for (int i = 0; i < 7; i++) eps[i] = cf[i] / 255.0;
    return 7;
}

static jt_status check_s2(san *s, jt_sanity_check *c) {
    double eps[8];
    int robust[8], G = s2_grid(s->kind, eps);
    double pe = s->pgd.eps, pa = s->pgd.alpha;
    for (int g = 0; g < G; g++) {
        jt_status st;
        if (eps[g] == pe) { /* the reference run is exactly this configuration */
            st = ref_pgd(s);
            robust[g] = s->ref.robust;
        } else {
            jt_attack_config cfg = s->pgd;
            cfg.eps = eps[g];
            cfg.alpha = eps[g] > 0 ? pa * (eps[g] / pe) : pa;
            run_out r;
            st = run(s, s->full, &cfg, s->x, s->y, NULL, s->n, s->adv, s->succ, &r);
            robust[g] = r.robust;
        }
        if (st != JT_OK) return skip_or_fail(s, c, st);
    }
    /* largest rise of the accuracy over its minimum at any smaller eps */
    int rise = 0, at = 0, lo = robust[0];
    for (int g = 1; g < G; g++) {
        if (robust[g] - lo > rise) rise = robust[g] - lo, at = g;
        lo = robust[g] < lo ? robust[g] : lo;
    }
    int n = s->n, zero_ok = robust[0] == s->n_correct;
    jt_check_status v = !zero_ok || rise * 1000 > 5 * n ? JT_CHECK_FAIL : JT_CHECK_PASS;
    set(c, v, "PGD T=%d alpha=%.3f*eps on %d points: acc", s->pgd.steps, pa / pe, n);
    for (int g = 0; g < G; g++) add(c, "%s%.1f", g ? "/" : " ", pct(robust[g], n));
    add(c, "%% at eps ");
    for (int g = 0; g < G; g++) {
        if (s->kind == JT_IMAGES_FMNIST) add(c, "%s%g", g ? "/" : "", eps[g]);
        else add(c, "%s%g", g ? "/" : "", eps[g] * 255.0);
    }
    add(c, "%s; clean %.1f%%%s; largest rise %.1f pp", s->kind == JT_IMAGES_FMNIST ? "" : " (/255)",
        pct(s->n_correct, n), zero_ok ? "" : " != acc at eps 0", pct(rise, n));
    if (rise * 1000 > 5 * n) {
        if (s->kind == JT_IMAGES_FMNIST) add(c, " at eps %g (limit 0.5)", eps[at]);
        else add(c, " at eps %g/255 (limit 0.5)", eps[at] * 255.0);
    }
    return JT_OK;
}

/* ---- S3 monotone in steps ---- */

static jt_status check_s3(san *s, jt_sanity_check *c) {
    jt_attack_config cfg = s->pgd;
    cfg.track_best = 1;
    int T = cfg.steps;
    run_out r1, r2;
    jt_status st = run(s, s->full, &cfg, s->x, s->y, NULL, s->n, s->adv, s->succ, &r1);
    if (st != JT_OK) return skip_or_fail(s, c, st);
    cfg.steps = 2 * T;
    st = run(s, s->full, &cfg, s->x, s->y, NULL, s->n, s->adv2, s->succ2, &r2);
    if (st != JT_OK) return skip_or_fail(s, c, st);
    /* The 2T run repeats the T run's iterates (same seed, same start) and looks at one more of them (the
     * T-th), so with bit-identical logits every success at T is one at 2T. Clean mistakes count as
     * broken in both runs. */
    int viol = 0;
    for (int i = 0; i < s->n; i++) viol += s->succ[i] && !s->succ2[i];
    int n = s->n, allowed = s->full->deterministic ? 0 : n / 1000;
    int drop = r1.robust - r2.robust;
    jt_check_status v = viol > allowed ? JT_CHECK_FAIL : (drop * 100 >= n ? JT_CHECK_WARN : JT_CHECK_PASS);
    set(c, v,
        "track_best PGD seed %llu on %d points: acc %.1f%% at T=%d, %.1f%% at T=%d (WARN if the drop >= 1 pp); "
        "%d broken at T but not at 2T (allowed %d%s)",
        (unsigned long long)cfg.seed, n, pct(r1.robust, n), T, pct(r2.robust, n), 2 * T, viol, allowed,
        s->full->deterministic ? ", deterministic oracle" : ", 0.1% for a non-deterministic oracle");
    return JT_OK;
}

/* ---- S4 loss rises ---- */

/* Whether the attack ascends one loss from its first to its last iterate, so that S4 judges it: FAB-T
 * minimises a distance (its boundary value need not rise), APGD-T's first and kept losses belong to
 * different targets, AutoAttack's diagnostics do not compose. Square keeps its best margin, so its loss
 * is only required not to fall (a start that already fools every point leaves it unchanged). */
static int loss_judged(const jt_attack_config *cfg) {
    switch (cfg->kind) {
    case JT_ATK_PGD:
    case JT_ATK_PGD_L2:
    case JT_ATK_PGD_FEAT:
    case JT_ATK_APGD:
    case JT_ATK_FWA:
    case JT_ATK_TI:
    case JT_ATK_SQUARE: return 1;
    default: return 0;
    }
}

/* 1 when the pair rises (does not fall for Square); writes "name a->b" to the detail. */
static int loss_rises(jt_sanity_check *c, const char *name, jt_attack_kind kind, double first, double last) {
    int ok = isfinite(first) && !isnan(last) && (kind == JT_ATK_SQUARE ? last >= first : last > first);
    add(c, " %s %.4g->%.4g%s", name, first, last, ok ? "" : " (no rise)");
    return ok;
}

static jt_status check_s4(san *s, jt_sanity_check *c) {
    int judged = 0, bad = 0;
    set(c, JT_CHECK_PASS, "mean attack loss, first->last iterate:");
    for (int k = 0; s->ev && k < s->ev->n_attacks; k++) {
        const jt_eval_attack *a = &s->ev->attacks[k];
        if (!loss_judged(&a->cfg) || (isnan(a->loss_first) && isnan(a->loss_last))) continue; /* not traced */
        judged++;
        bad += !loss_rises(c, a->cfg.name, a->cfg.kind, a->loss_first, a->loss_last);
    }
    if (!judged) {
        jt_status st = ref_pgd(s);
        if (st != JT_OK) return skip_or_fail(s, c, st);
        if (s->ref.attacked == 0) {
            set(c, JT_CHECK_SKIP, "no clean-correct point among the %d to attack", s->n);
            return JT_OK;
        }
        bad += !loss_rises(c, "pgd", JT_ATK_PGD, s->ref.loss_first, s->ref.loss_last);
        add(c, " (own run on %d points)", s->n);
    }
    if (bad) c->status = JT_CHECK_FAIL;
    /* APGD's per-example l_best monotonicity is not visible through jt_eval_result; the APGD tests
     * assert it (section 12.3). */
    return JT_OK;
}

/* ---- S5 gradients ---- */

/* Judges one attack's diagnostics; returns the verdict and writes "name zero x%" to the detail. */
static jt_check_status grad_verdict(jt_sanity_check *c, const char *name, jt_attack_kind kind, double zero_frac,
                                    int nonfinite) {
    jt_check_status v = JT_CHECK_PASS;
    add(c, " %s", name);
    if (!isnan(zero_frac)) {
        add(c, " zero %.1f%%", 100.0 * zero_frac);
        /* the feature PGD's gradient vanishes at v = x by design (section 11) */
        if (zero_frac > 0.01 && kind != JT_ATK_PGD_FEAT) v = JT_CHECK_FAIL;
    }
    if (nonfinite) {
        add(c, " NaN/Inf");
        v = JT_CHECK_FAIL;
    }
    return v;
}

static jt_status check_s5(san *s, jt_sanity_check *c) {
    jt_check_status v = JT_CHECK_SKIP;
    set(c, JT_CHECK_SKIP, "gradients at the start point (FAIL: NaN/Inf or > 1%% all-zero):");
    for (int k = 0; s->ev && k < s->ev->n_attacks; k++) {
        const jt_eval_attack *a = &s->ev->attacks[k];
        /* gradient-free attacks (Square, noise) and untraced ones have nothing to judge */
        if (a->cfg.kind == JT_ATK_SQUARE || a->cfg.kind == JT_ATK_NOISE) continue;
        if (isnan(a->zero_grad_frac) && !a->nonfinite_grad) continue;
        v = worse(v, grad_verdict(c, a->cfg.name, a->cfg.kind, a->zero_grad_frac, a->nonfinite_grad));
    }
    jt_status st = ref_pgd(s);
    if (st != JT_OK && st != JT_ERR_UNSUPPORTED) return st;
    if (st == JT_OK && s->ref.attacked > 0) {
        v = worse(v, grad_verdict(c, "own pgd", JT_ATK_PGD, s->ref.zero_frac, s->ref.nonfinite));
        add(c, " (on %d points)", s->n);
    } else if (v == JT_CHECK_SKIP) {
        if (st != JT_OK) return skip_or_fail(s, c, st);
        set(c, JT_CHECK_SKIP, "no clean-correct point among the %d to attack", s->n);
        return JT_OK;
    }
    c->status = v;
    return JT_OK;
}

/* ---- S6 BPDA vs full ---- */

static jt_status check_s6(san *s, jt_sanity_check *c) {
    if (!s->bpda) {
        set(c, JT_CHECK_SKIP, "no BPDA oracle (no defense)");
        return JT_OK;
    }
    jt_status st = ref_pgd(s);
    if (st != JT_OK) return skip_or_fail(s, c, st);
    jt_attack_config cfg;
    JT_TRY(jt_attack_preset(s->ctx, "pgd-bpda", s->kind, &cfg));
    cfg.seed = s->pgd.seed;
    run_out rb;
    st = run(s, s->bpda, &cfg, s->x, s->y, NULL, s->n, s->adv, s->succ, &rb);
    if (st != JT_OK) return skip_or_fail(s, c, st);
    int n = s->n, full = s->ref.robust;
    /* acc_full <= acc_bpda + 2 pp, in counts */
    jt_check_status v = (full - rb.robust) * 50 > n ? JT_CHECK_WARN : JT_CHECK_PASS;
    set(c, v, "on %d points: acc full-gradient PGD %.1f%%, BPDA PGD %.1f%% (WARN if full > BPDA + 2 pp: gradients "
              "through P masked)",
        n, pct(full, n), pct(rb.robust, n));
    return JT_OK;
}

/* ---- S7 random noise ---- */

/* Gradient-based L-inf attacks of the evaluation: their successes form the white-box set. Square (and
 * AutoAttack, which contains it), noise and other threat models do not belong to it. */
static int white_box(const jt_eval_attack *a) {
    jt_attack_kind k = a->cfg.kind;
    return a->cfg.norm == JT_NORM_LINF && a->success &&
           (k == JT_ATK_PGD || k == JT_ATK_PGD_FEAT || k == JT_ATK_APGD || k == JT_ATK_APGD_T || k == JT_ATK_FAB_T ||
            k == JT_ATK_TI);
}

/* broken[i] <- broken by some white-box attack of ev (the first n points); returns their smallest eps
 * (the noise runs at it, so that its ball lies inside every one of theirs) or -1 when ev has none. */
static double ev_white_box(const san *s, uint8_t *broken, char *names, size_t cap) {
    double eps = -1;
    size_t len = 0;
    memset(broken, 0, (size_t)s->n);
    names[0] = 0;
    for (int k = 0; s->ev_points && k < s->ev->n_attacks; k++) {
        const jt_eval_attack *a = &s->ev->attacks[k];
        if (!white_box(a)) continue;
        for (int i = 0; i < s->n; i++) broken[i] |= a->success[i];
        eps = eps < 0 || a->cfg.eps < eps ? a->cfg.eps : eps;
        if (len + 2 < cap) {
            int w = snprintf(names + len, cap - len, "%s%s", len ? "+" : "", a->cfg.name);
            len += w > 0 ? (size_t)w : 0;
        }
    }
    return eps;
}

static jt_status check_s7(san *s, jt_sanity_check *c) {
    char names[96];
    uint8_t *wb = s->succ2;
    double eps = ev_white_box(s, wb, names, sizeof names);
    const char *src = "evaluation";
    if (eps < 0) { /* no white-box column for these points: the reference PGD */
        jt_status st = ref_pgd(s);
        if (st != JT_OK) return skip_or_fail(s, c, st);
        memcpy(wb, s->ref_succ, (size_t)s->n);
        eps = s->pgd.eps;
        snprintf(names, sizeof names, "pgd");
        src = "own run";
    }
    jt_attack_config cfg;
    JT_TRY(jt_attack_preset(s->ctx, "noise", s->kind, &cfg));
    cfg.eps = eps;
    cfg.seed = s->pgd.seed;
    run_out r;
    jt_status st = run(s, s->full, &cfg, s->x, s->y, NULL, s->n, s->adv, s->succ, &r);
    if (st != JT_OK) return skip_or_fail(s, c, st);
    int only_noise = 0, wb_robust = 0;
    for (int i = 0; i < s->n; i++) {
        only_noise += s->succ[i] && !wb[i];
        wb_robust += !wb[i];
    }
    int n = s->n;
    jt_check_status v = only_noise > 0 || r.robust < wb_robust ? JT_CHECK_FAIL : JT_CHECK_PASS;
    set(c, v, "on %d points, eps %.4g: noise (%d corner draws) acc %.1f%%, white-box (%s, %s) acc %.1f%%; %d broken by "
              "noise only (FAIL if any)",
        n, eps, cfg.noise_draws, pct(r.robust, n), names, src, pct(wb_robust, n), only_noise);
    return JT_OK;
}

/* ---- S8 black vs white ---- */

static int is_apgd_white(const jt_eval_attack *a) {
    return (a->cfg.kind == JT_ATK_APGD && a->cfg.loss == JT_LOSS_CE) || a->cfg.kind == JT_ATK_APGD_T;
}

/* An APGD-CE/APGD-T column that Square is compared with: same eps, per-example results present. */
static int apgd_partner(const jt_eval_attack *a, const jt_eval_attack *sq) {
    return is_apgd_white(a) && a->success && same_eps(a->cfg.eps, sq->cfg.eps);
}

/* Square next to APGD-CE/APGD-T columns: the share of ALL points that Square broke while every APGD
 * column left them robust (AutoAttack's rule). Returns -1 when ev lacks such columns. */
static double square_vs_apgd(const jt_eval_result *ev, const jt_eval_attack *sq) {
    if (!ev->pred_clean || !ev->y || !sq->success || ev->n <= 0) return -1;
    int have = 0;
    for (int k = 0; k < ev->n_attacks; k++) have |= apgd_partner(&ev->attacks[k], sq);
    if (!have) return -1;
    int extra = 0;
    for (int i = 0; i < ev->n; i++) {
        if (ev->pred_clean[i] != ev->y[i] || !sq->success[i]) continue;
        int robust = 1;
        for (int k = 0; k < ev->n_attacks && robust; k++)
            if (apgd_partner(&ev->attacks[k], sq)) robust = !ev->attacks[k].success[i];
        extra += robust;
    }
    return (double)extra / ev->n;
}

/* AutoAttack column with a Square component after white-box ones: the accuracy Square took away from
 * what the earlier components left (components recovered from the preset named in the column).
 * Returns -1 when not applicable. */
static double square_in_aa(san *s, const jt_eval_attack *a) {
    jt_attack_config p;
    if (jt_attack_preset(s->ctx, a->cfg.name, s->kind, &p) != JT_OK) {
        jt_ctx_clear_error(s->ctx); /* a custom AutoAttack name: not judged */
        return -1;
    }
    double drop = -1;
    if (p.kind == JT_ATK_AUTOATTACK && p.n_components == a->n_components) {
        for (int k = 1; k < p.n_components && k < JT_AA_MAX_COMPONENTS; k++)
            if (p.components[k].kind == JT_ATK_SQUARE) drop = a->acc_after[k - 1] - a->acc_after[k];
    }
    jt_attack_config_release(&p);
    return drop;
}

static jt_status check_s8(san *s, jt_sanity_check *c) {
    const jt_eval_result *ev = s->ev;
    jt_check_status v = JT_CHECK_SKIP;
    set(c, JT_CHECK_SKIP, "extra points broken by Square over APGD-CE/APGD-T (WARN if > 0.2 pp):");
    for (int k = 0; ev && k < ev->n_attacks; k++) {
        const jt_eval_attack *a = &ev->attacks[k];
        double extra = -1;
        if (a->cfg.kind == JT_ATK_SQUARE) extra = square_vs_apgd(ev, a);
        else if (a->cfg.kind == JT_ATK_AUTOATTACK) extra = square_in_aa(s, a);
        if (extra < 0 || isnan(extra)) continue;
        add(c, " %s %.2f pp", a->cfg.name, 100.0 * extra);
        v = worse(v, extra > 0.002 + 1e-12 ? JT_CHECK_WARN : JT_CHECK_PASS);
    }
    if (v == JT_CHECK_SKIP)
        set(c, JT_CHECK_SKIP, "needs square with apgd-ce/apgd-t columns (or an AutoAttack with Square) in the evaluation");
    else add(c, " (of %d points)", ev->n);
    c->status = v;
    return JT_OK;
}

/* ---- S9 AA bound ---- */

static int is_pgd_ce(const jt_eval_attack *a) {
    return a->cfg.kind == JT_ATK_PGD && a->cfg.norm == JT_NORM_LINF && a->cfg.loss == JT_LOSS_CE && !a->used_bpda;
}
static int is_dlr(const jt_eval_attack *a) {
    return (a->cfg.kind == JT_ATK_PGD || a->cfg.kind == JT_ATK_APGD) && a->cfg.norm == JT_NORM_LINF &&
           a->cfg.loss == JT_LOSS_DLR;
}

static jt_status check_s9(san *s, jt_sanity_check *c) {
    const jt_eval_result *ev = s->ev;
    if (!ev || ev->n_attacks == 0) {
        set(c, JT_CHECK_SKIP, "needs the evaluation's columns");
        return JT_OK;
    }
    jt_check_status v = JT_CHECK_PASS;
    set(c, JT_CHECK_PASS, "worst case %.2f%%", 100.0 * ev->worst_acc);
    for (int k = 0; k < ev->n_attacks; k++) {
        const jt_eval_attack *a = &ev->attacks[k];
        if (!(ev->worst_acc <= a->robust_acc + 1e-12)) {
            add(c, " > %s %.2f%%", a->cfg.name, 100.0 * a->robust_acc);
            v = JT_CHECK_FAIL;
        }
    }
    int n_aa = 0;
    for (int k = 0; k < ev->n_attacks; k++) {
        const jt_eval_attack *aa = &ev->attacks[k];
        if (aa->cfg.kind != JT_ATK_AUTOATTACK) continue;
        n_aa++;
        add(c, "; %s %.2f%%", aa->cfg.name, 100.0 * aa->robust_acc);
        for (int j = 0; j < ev->n_attacks; j++) {
            const jt_eval_attack *b = &ev->attacks[j];
            if (!is_pgd_ce(b) && !is_dlr(b)) continue;
            if (!same_eps(aa->cfg.eps, b->cfg.eps)) {
                add(c, " (%s: other eps)", b->cfg.name);
                continue;
            }
            int bad = !(aa->robust_acc <= b->robust_acc + 0.005 + 1e-12);
            add(c, " %s %s %.2f%%", bad ? ">" : "<=", b->cfg.name, 100.0 * b->robust_acc);
            if (bad) v = JT_CHECK_FAIL;
        }
    }
    if (!n_aa) add(c, "; no AA column");
    else add(c, " (limit +0.5 pp)");
    c->status = v;
    return JT_OK;
}

/* ---- S10 determinism ---- */

static jt_status check_s10(san *s, jt_sanity_check *c) {
    size_t nz = (size_t)s->n * (size_t)s->K;
    /* two forwards of the same batch */
    float *z1 = malloc((nz ? nz : 1) * sizeof *z1), *z2 = malloc((nz ? nz : 1) * sizeof *z2);
    jt_status st = JT_OK;
    if (!z1 || !z2) st = jt_fail(s->ctx, JT_ERR_OOM, "out of memory for %zu logits", nz);
    if (st == JT_OK) st = jt_oracle_logits(s->full, s->x, s->n, z1);
    if (st == JT_OK) st = jt_oracle_logits(s->full, s->x, s->n, z2);
    int diff = 0;
    double worst = 0;
    for (size_t i = 0; st == JT_OK && i < nz; i++) {
        if (memcmp(&z1[i], &z2[i], sizeof *z1) == 0) continue;
        diff++;
        double e = fabs((double)z1[i] - (double)z2[i]);
        worst = e > worst || isnan(e) ? e : worst;
    }
    free(z1);
    free(z2);
    if (st != JT_OK) return skip_or_fail(s, c, st);
    set(c, JT_CHECK_PASS, "%d points: two forwards %s", s->n, diff ? "differ" : "bitwise identical");
    if (diff) add(c, " (%d of %zu logits, max |diff| %.3g)", diff, nz, worst);
    /* the same PGD with the same seed twice */
    int pgd_diff = -1;
    st = ref_pgd(s);
    if (st == JT_OK) {
        run_out r;
        st = run(s, s->full, &s->pgd, s->x, s->y, NULL, s->n, s->adv, s->succ, &r);
        if (st == JT_OK)
            pgd_diff = memcmp(s->adv, s->ref_adv, (size_t)s->n * (size_t)s->d * sizeof *s->adv) != 0 ||
                       memcmp(s->succ, s->ref_succ, (size_t)s->n) != 0 ||
                       memcmp(&r.loss_first, &s->ref.loss_first, sizeof r.loss_first) != 0 ||
                       memcmp(&r.loss_last, &s->ref.loss_last, sizeof r.loss_last) != 0;
    }
    if (st != JT_OK && st != JT_ERR_UNSUPPORTED) return st;
    if (pgd_diff < 0) add(c, "; PGD twice not run: %s", s->why);
    else add(c, "; PGD seed %llu twice: %s", (unsigned long long)s->pgd.seed, pgd_diff ? "outputs differ" : "identical bytes");
    if (diff || pgd_diff > 0) {
        /* an oracle that declares itself random (a stochastic defense) is expected to differ */
        c->status = s->full->deterministic ? JT_CHECK_FAIL : JT_CHECK_WARN;
        if (!s->full->deterministic) add(c, " (the oracle declares itself non-deterministic)");
    }
    return JT_OK;
}

/* ---- driver ---- */

typedef jt_status (*check_fn)(san *s, jt_sanity_check *c);

static const struct {
    const char *id, *name;
    check_fn fn;
} checks[N_CHECKS] = {
    {"S1", "large eps", check_s1},           {"S2", "monotone in eps", check_s2},
    {"S3", "monotone in steps", check_s3},   {"S4", "loss rises", check_s4},
    {"S5", "gradients", check_s5},           {"S6", "BPDA vs full", check_s6},
    {"S7", "random noise", check_s7},        {"S8", "black vs white", check_s8},
    {"S9", "AA bound", check_s9},            {"S10", "determinism", check_s10},
};

static void san_free(san *s) {
    free(s->adv);
    free(s->adv2);
    free(s->sx);
    free(s->succ);
    free(s->succ2);
    free(s->att);
    free(s->sy);
    free(s->sidx);
    free(s->ref_adv);
    free(s->ref_succ);
}

/* Whether ev's per-example arrays describe our n points: at least n of them, the same labels. */
static int ev_matches(const jt_eval_result *ev, const int64_t *y, int n) {
    if (!ev || ev->n < n || !ev->pred_clean || !ev->y || (ev->n_attacks > 0 && !ev->attacks)) return 0;
    for (int i = 0; i < n; i++)
        if (ev->y[i] != y[i]) return 0;
    return 1;
}

static jt_status san_init(san *s, jt_oracle *full, jt_oracle *bpda, const float *x, const int64_t *y, int n,
                          const jt_eval_result *ev, const jt_sanity_options *opt) {
    memset(s, 0, sizeof *s);
    s->ctx = full->ctx;
    s->full = full;
    s->bpda = bpda;
    s->x = x;
    s->y = y;
    int maxp = opt && opt->max_points > 0 ? opt->max_points : DEFAULT_POINTS;
    s->n = n < maxp ? n : maxp;
    s->d = jt_oracle_dim(full);
    s->K = full->n_classes;
    s->ev = ev;
    s->ev_points = ev_matches(ev, y, s->n);
    s->kind = opt ? opt->kind : jt_image_kind_of(full->c, full->h, full->w);
    JT_TRY(jt_attack_preset(s->ctx, "pgd", s->kind, &s->pgd));
    s->pgd.seed = opt ? opt->seed : 0;
    size_t m = (size_t)(s->n > 0 ? s->n : 1), md = m * (size_t)s->d;
    s->adv = malloc(md * sizeof *s->adv);
    s->adv2 = malloc(md * sizeof *s->adv2);
    s->sx = malloc(md * sizeof *s->sx);
    s->ref_adv = malloc(md * sizeof *s->ref_adv);
    s->succ = malloc(m);
    s->succ2 = malloc(m);
    s->att = malloc(m);
    s->ref_succ = malloc(m);
    s->sy = malloc(m * sizeof *s->sy);
    s->sidx = malloc(m * sizeof *s->sidx);
    int64_t *pred = malloc(m * sizeof *pred);
    if (!s->adv || !s->adv2 || !s->sx || !s->ref_adv || !s->succ || !s->succ2 || !s->att || !s->ref_succ || !s->sy ||
        !s->sidx || !pred) {
        free(pred);
        return jt_fail(s->ctx, JT_ERR_OOM, "sanity checks: out of memory for %d points of %lld floats", s->n,
                       (long long)s->d);
    }
    jt_status st = jt_oracle_predict(full, x, s->n, pred, NULL);
    for (int i = 0; st == JT_OK && i < s->n; i++) s->n_correct += pred[i] == y[i];
    free(pred);
    return st;
}

jt_status jt_sanity_run(jt_oracle *full, jt_oracle *bpda, const float *x, const int64_t *y, int n,
                        const jt_eval_result *ev, const jt_sanity_options *opt, jt_sanity_report *out) {
    memset(out, 0, sizeof *out);
    if (!full || (n > 0 && (!x || !y)) || n < 0)
        return jt_fail(full ? full->ctx : NULL, JT_ERR_ARG, "sanity checks: an oracle, x and y are required");
    san s;
    jt_status st = san_init(&s, full, bpda, x, y, n, ev, opt);
    for (int k = 0; st == JT_OK && k < N_CHECKS; k++) {
        jt_sanity_check *c = &out->checks[k];
        snprintf(c->id, sizeof c->id, "%s", checks[k].id);
        snprintf(c->name, sizeof c->name, "%s", checks[k].name);
        out->n = k + 1;
        if (opt && opt->progress) {
            char what[64];
            snprintf(what, sizeof what, "sanity %s %s", c->id, c->name);
            opt->progress(opt->progress_user, what, k, N_CHECKS);
        }
        if (s.n == 0) {
            set(c, JT_CHECK_SKIP, "no points");
            continue;
        }
        st = checks[k].fn(&s, c);
        if (st != JT_OK) jt_error_prefix(s.ctx, "sanity check %s (%s)", c->id, c->name);
        out->any_fail |= c->status == JT_CHECK_FAIL;
    }
    if (st == JT_OK && opt && opt->progress) opt->progress(opt->progress_user, "sanity checks", N_CHECKS, N_CHECKS);
    san_free(&s);
    return st;
}
