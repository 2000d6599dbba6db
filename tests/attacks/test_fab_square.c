/* FAB-T and Square (docs/attacks.md sections 4, 5 and 12):
 *   - FAB's box-constrained hyperplane projection against a reference that scans every breakpoint
 *     (small d, with unreachable planes and zero weights; and a large d);
 *   - Square's window-side schedule at the iteration boundaries (32x32 and 28x28);
 *   - closed-form linear model: soundness (no break with r* > eps), FAB-T's completeness and its
 *     returned norm against the exact r*_t;
 *   - Square: query counts (budget prefixes, forward-only accounting) and a margin that never
 *     increases with the budget;
 *   - determinism (same seed twice) and batch invariance (max_batch 1, 7, 64). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/attack_internal.h"
#include "jatp/attack.h"
#include "jt_test.h"
#include "toy_oracle.h"

static uint64_t lcg = 20240611;
static double rnd(void) { /* uniform [0,1) */
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) * (1.0 / 9007199254740992.0);
}

/* ---------------------------------------------------------------------------------------------
 * FAB projection
 * ------------------------------------------------------------------------------------------- */

typedef struct brk {
    double c, a; /* room and |w| */
} brk;

static int brk_cmp(const void *p, const void *q) {
    double x = ((const brk *)p)->c, y = ((const brk *)q)->c;
    return (x > y) - (x < y);
}

/* Reference of section 4.1 by scanning the sorted breakpoints: returns lambda* (or -1 when the plane
 * is unreachable inside the box) and the reference delta in ref[d]. */
static double proj_ref(const float *t, const float *w, double b, int d, double *ref, brk *tmp) {
    double wt = 0;
    for (int i = 0; i < d; i++) wt += (double)w[i] * (double)t[i];
    double s = wt >= b ? 1 : -1, r = s * (wt - b);
    int m = 0;
    double *room = malloc((size_t)d * sizeof *room);
    for (int i = 0; i < d; i++) {
        room[i] = s * w[i] > 0 ? (double)t[i] : 1.0 - (double)t[i];
        if (w[i] != 0.0f) tmp[m++] = (brk){room[i], fabs((double)w[i])};
    }
    qsort(tmp, (size_t)m, sizeof *tmp, brk_cmp);
    /* h at a breakpoint, evaluated directly from its definition */
    double lam = -1, prev = 0, hprev = 0;
    if (r <= 0) lam = 0;
    for (int k = 0; k < m && lam < 0; k++) {
        double h = 0;
        for (int q = 0; q < m; q++) h += tmp[q].a * (tmp[q].c < tmp[k].c ? tmp[q].c : tmp[k].c);
        if (h >= r) lam = h > hprev ? prev + (r - hprev) * (tmp[k].c - prev) / (h - hprev) : prev;
        prev = tmp[k].c;
        hprev = h;
    }
    for (int i = 0; i < d; i++) {
        double mv = w[i] == 0.0f ? 0 : (lam < 0 || lam > room[i] ? room[i] : lam);
        ref[i] = s * w[i] > 0 ? -mv : mv;
    }
    free(room);
    return lam;
}

/* one case: 0 when it matches, else a message in why */
static int proj_case(const float *t, const float *w, double b, int d, int *reach, char *why, size_t cap) {
    float *delta = malloc((size_t)d * sizeof *delta);
    double *ref = malloc((size_t)d * sizeof *ref);
    brk *tmp = malloc((size_t)d * sizeof *tmp);
    jt_fab_proj(t, w, b, d, delta);
    double lam = proj_ref(t, w, b, d, ref, tmp);
    *reach = lam >= 0;
    double nrm = 0, dot = 0, wsum = 0;
    int bad = 0;
    for (int i = 0; i < d && !bad; i++) {
        double v = (double)t[i] + (double)delta[i];
        nrm = fabs((double)delta[i]) > nrm ? fabs((double)delta[i]) : nrm;
        dot += (double)w[i] * v;
        wsum += fabs((double)w[i]);
        if (w[i] == 0.0f && delta[i] != 0.0f) bad = snprintf(why, cap, "w_%d = 0 but delta_%d = %g", i, i, (double)delta[i]);
        else if (v < -1e-7 || v > 1 + 1e-7) bad = snprintf(why, cap, "t+delta_%d = %.9g outside [0,1]", i, v);
        else if (lam < 0 && fabs((double)delta[i] - ref[i]) > 1e-7)
            bad = snprintf(why, cap, "unreachable plane: delta_%d = %.9g, want the full move %.9g", i, (double)delta[i], ref[i]);
    }
    if (!bad && lam >= 0 && fabs(nrm - lam) > 1e-6 * (1 + lam))
        bad = snprintf(why, cap, "||delta||_inf = %.9g, the LP minimum is %.9g (d = %d)", nrm, lam, d);
    if (!bad && lam >= 0 && fabs(dot - b) > 1e-5 * (1 + wsum + fabs(b)))
        bad = snprintf(why, cap, "<w, t+delta> = %.9g, want b = %.9g", dot, b);
    free(delta);
    free(ref);
    free(tmp);
    return bad;
}

static void test_fab_proj(void) {
    lcg = 20240611;
    int fails = 0, n_unreach = 0, n_reach = 0, n_box = 0, n_zero = 0;
    char why[256] = "", first[300] = "";
    for (int trial = 0; trial < 20000; trial++) {
        int d = 1 + (int)(rnd() * 8);
        float t[8], w[8];
        double lo = 0, hi = 0, wt = 0;
        int all_zero = trial % 97 == 0;
        for (int i = 0; i < d; i++) {
            double u = rnd();
            t[i] = u < 0.15 ? 0.0f : (u < 0.3 ? 1.0f : (float)rnd());
            w[i] = (all_zero || rnd() < 0.2) ? 0.0f : (float)(2 * rnd() - 1);
            n_zero += w[i] == 0.0f;
            lo += w[i] < 0 ? w[i] : 0;
            hi += w[i] > 0 ? w[i] : 0;
            wt += (double)w[i] * t[i];
        }
        /* targets across and beyond the reachable range [lo, hi], plus the plane through t */
        double b = trial % 53 == 0 ? wt : lo + (hi - lo) * (1.4 * rnd() - 0.2) + (trial % 31 == 0 ? 0.3 : 0.0);
        int reach;
        if (proj_case(t, w, b, d, &reach, why, sizeof why)) {
            if (!fails++) jt_test_fmt(first, sizeof first, "trial %d: %s", trial, why);
        }
        if (!reach) n_unreach++;
        else {
            n_reach++;
            /* was a box bound active? (lambda* above the smallest room of a moving coordinate) */
            float delta[8];
            jt_fab_proj(t, w, b, d, delta);
            double nrm = 0, minc = INFINITY, s = wt >= b ? 1 : -1;
            for (int i = 0; i < d; i++) {
                nrm = fabs(delta[i]) > nrm ? fabs(delta[i]) : nrm;
                if (w[i] != 0.0f) {
                    double c = s * w[i] > 0 ? t[i] : 1.0 - t[i];
                    minc = c < minc ? c : minc;
                }
            }
            n_box += nrm > minc + 1e-9;
        }
    }
    if (fails) jt_test_fail("fab/proj_vs_breakpoint_scan", "%d of 20000 cases wrong; first: %s", fails, first);
    else if (n_unreach < 100 || n_reach < 100 || n_box < 100 || n_zero < 100)
        jt_test_fail("fab/proj_vs_breakpoint_scan", "weak coverage: %d unreachable, %d reachable, %d with box bounds, %d zero weights",
                     n_unreach, n_reach, n_box, n_zero);
    else jt_test_ok("fab/proj_vs_breakpoint_scan");
    jt_test_note("%d reachable (%d with an active box bound), %d unreachable, %d zero weights", n_reach, n_box, n_unreach,
                 n_zero);

    /* large d: many breakpoints inside the segment search */
    fails = 0;
    int d = 3072;
    float *t = malloc((size_t)d * sizeof *t), *w = malloc((size_t)d * sizeof *w);
    for (int trial = 0; trial < 40; trial++) {
        double lo = 0, hi = 0;
        for (int i = 0; i < d; i++) {
            t[i] = (float)(trial % 2 ? rnd() : 0.02 + 0.04 * rnd()); /* odd: wide rooms; even: rooms near 0 */
            w[i] = rnd() < 0.1 ? 0.0f : (float)(2 * rnd() - 1);
            lo += w[i] < 0 ? w[i] : 0;
            hi += w[i] > 0 ? w[i] : 0;
        }
        double b = lo + (hi - lo) * rnd();
        int reach;
        if (proj_case(t, w, b, d, &reach, why, sizeof why) && !fails++)
            jt_test_fmt(first, sizeof first, "trial %d: %s", trial, why);
    }
    free(t);
    free(w);
    if (fails) jt_test_fail("fab/proj_large_d", "%d of 40 cases wrong; first: %s", fails, first);
    else jt_test_ok("fab/proj_large_d");

    /* Staircase: weights 2^-i on rooms (i+1)/d and the plane a relative 2e-11 or 1e-11 short of the
     * far corner. The active-set rounds then settle a breakpoint or two at a time (up to ~35 rounds),
     * which takes the bisection fallback at d = 120 (always checked: it must stay exact);
     * coordinates shuffled. Closer gaps would make lambda*
     * ill-conditioned (the slope there is ~2^-40: rounding of r alone moves it visibly). */
    fails = 0;
    for (int trial = 0; trial < 24; trial++) {
        int n = trial < 12 ? 110 : 120, perm[120];
        float ts[120], ws[120];
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int k = (int)(rnd() * (i + 1)), tmp = perm[i];
            perm[i] = perm[k];
            perm[k] = tmp;
        }
        int flip = trial % 2; /* odd: negative weights, rooms measured towards 1 */
        double wt = 0, hmax = 0;
        for (int i = 0; i < n; i++) {
            float c = (float)(i + 1) / (float)n, wi = ldexpf(1.0f, -i);
            ts[perm[i]] = flip ? 1.0f - c : c;
            ws[perm[i]] = flip ? -wi : wi;
            wt += (double)ws[perm[i]] * ts[perm[i]];
            hmax += (double)wi * (flip ? 1.0 - (double)ts[perm[i]] : (double)ts[perm[i]]);
        }
        const double gap[] = {2e-11, 1e-11};
        double f = gap[(trial / 2) % 2], b = flip ? wt + (1 - f) * hmax : wt - (1 - f) * hmax;
        int reach;
        if (proj_case(ts, ws, b, n, &reach, why, sizeof why) && !fails++)
            jt_test_fmt(first, sizeof first, "trial %d: %s", trial, why);
    }
    if (fails) jt_test_fail("fab/proj_staircase", "%d of 24 cases wrong; first: %s", fails, first);
    else jt_test_ok("fab/proj_staircase");
}

/* ---------------------------------------------------------------------------------------------
 * Square schedule
 * ------------------------------------------------------------------------------------------- */

static void test_square_sides(void) {
    /* iterations at both ends of every schedule interval (spec section 5) */
    const int its[] = {0, 10, 11, 50, 51, 200, 201, 500, 501, 1000, 1001, 2000, 2001, 4000, 4001, 4999};
    const int want32[] = {29, 29, 20, 20, 14, 14, 10, 10, 7, 7, 5, 5, 4, 4, 3, 3};
    const int want28[] = {25, 25, 18, 18, 13, 13, 9, 9, 6, 6, 4, 4, 3, 3, 2, 2};
    int bad = 0;
    char why[200] = "";
    for (size_t k = 0; k < sizeof its / sizeof its[0]; k++) {
        int s32 = jt_square_side(its[k], 0.8, 32, 32), s28 = jt_square_side(its[k], 0.8, 28, 28);
        if ((s32 != want32[k] || s28 != want28[k]) && !bad++)
            jt_test_fmt(why, sizeof why, "iteration %d: sides %d (32x32) and %d (28x28), want %d and %d", its[k], s32, s28,
                        want32[k], want28[k]);
    }
    /* clamps: at least 1, at most min(H, W) */
    if (!bad && (jt_square_side(9000, 0.8, 8, 8) != 1 || jt_square_side(0, 1.0, 4, 9) != 4))
        bad = 1, jt_test_fmt(why, sizeof why, "clamp: got %d (want 1) and %d (want 4)", jt_square_side(9000, 0.8, 8, 8),
                             jt_square_side(0, 1.0, 4, 9));
    if (bad) jt_test_fail("square/side_schedule", "%s", why);
    else jt_test_ok("square/side_schedule");
}

/* ---------------------------------------------------------------------------------------------
 * Closed-form linear model
 * ------------------------------------------------------------------------------------------- */

static int64_t lin_argmax(const toy_lin *m, const float *x, int rank) { /* rank 0: largest, 1: second */
    double z[16];
    toy_lin_logits(m, x, z);
    int64_t a = 0;
    for (int64_t k = 1; k < m->K; k++)
        if (z[k] > z[a]) a = k;
    if (rank == 0) return a;
    int64_t s = a == 0 ? 1 : 0;
    for (int64_t k = 0; k < m->K; k++)
        if (k != a && z[k] > z[s]) s = k;
    return s;
}

static double linf(const float *a, const float *b, int64_t d) {
    double m = 0;
    for (int64_t i = 0; i < d; i++) m = fabs((double)a[i] - b[i]) > m ? fabs((double)a[i] - b[i]) : m;
    return m;
}

typedef struct pts {
    int n;
    int64_t d;
    float *x;
    int64_t *y;
} pts;

/* n points with every coordinate in [lo, 1 - lo], labelled by the model's prediction */
static void pts_make(pts *p, const toy_lin *m, int n, double lo) {
    p->n = n;
    p->d = m->d;
    p->x = malloc((size_t)n * m->d * sizeof *p->x);
    p->y = malloc((size_t)n * sizeof *p->y);
    for (int64_t i = 0; i < n * m->d; i++) p->x[i] = (float)(lo + rnd() * (1 - 2 * lo));
    for (int i = 0; i < n; i++) p->y[i] = lin_argmax(m, p->x + (size_t)i * m->d, 0);
}

static void pts_free(pts *p) {
    free(p->x);
    free(p->y);
}

/* (a) soundness for FAB-T, Square and Square with the shared window; FAB-T's completeness (a linear
 * model's minimal perturbation is found exactly, so every point with r* < eps breaks) and its
 * "clean point when unsuccessful" rule. */
static void test_linear_soundness(jt_ctx *ctx, const toy_lin *m, jt_oracle *o, const pts *p, double eps) {
    int n = p->n;
    int64_t d = p->d;
    float *adv = malloc((size_t)n * d * sizeof *adv);
    uint8_t *succ = malloc((size_t)n), *att = malloc((size_t)n);
    const char *names[] = {"fab-t", "square", "square-shared"};
    for (int a = 0; a < 3; a++) {
        char name[80];
        jt_test_fmt(name, sizeof name, "linear/soundness/%s", names[a]);
        jt_attack_config cfg;
        jt_attack_preset(ctx, a == 0 ? "fab-t" : "square", JT_IMAGES_CIFAR, &cfg);
        cfg.eps = eps;
        cfg.seed = 11;
        cfg.queries = 1000;
        cfg.shared_window = a == 2;
        jt_attack_io io = {.n = n, .x = p->x, .y = p->y, .x_adv = adv, .success = succ, .attacked = att};
        if (jt_attack_run(o, &cfg, &io) != JT_OK) {
            jt_test_fail(name, "%s", jt_ctx_error(ctx));
            continue;
        }
        int unsound = 0, missed = 0, moved = 0, counted = 0, broken = 0, robust = 0, unatt = 0;
        for (int i = 0; i < n; i++) {
            const float *xi = p->x + (size_t)i * d, *ai = adv + (size_t)i * d;
            double r = toy_lin_rstar(m, xi, p->y[i]);
            unatt += !att[i];
            if (fabs(r / eps - 1) < 0.06) continue;
            counted++;
            robust += r > eps;
            broken += succ[i];
            if (r > eps && succ[i]) unsound++;
            if (a == 0 && r < eps && !succ[i]) missed++;
            if (a == 0 && !succ[i] && memcmp(xi, ai, (size_t)d * sizeof *xi) != 0) moved++;
        }
        jt_test_note("%s: %d points counted, %d with r* > eps, %d broken", names[a], counted, robust, broken);
        if (unatt) jt_test_fail(name, "%d clean-correct points were not attacked", unatt);
        else if (robust < 10 || counted - robust < 10) jt_test_fail(name, "weak test: %d robust of %d", robust, counted);
        else if (unsound || missed || moved)
            jt_test_fail(name, "%d unsound successes, %d points with r* < eps missed, %d failures not returning x", unsound,
                         missed, moved);
        else jt_test_ok(name);
    }
    free(adv);
    free(succ);
    free(att);
}

/* On a linear model with the box inactive every FAB iterate stays on the segment x0 + mu r*_t u (u the
 * optimal corner direction): both projections point along u, with lengths |1 - mu| and 1 (units of
 * r*_t). This replays section 4.2 on mu alone and returns the smallest misclassified mu, i.e. the
 * norm / r*_t that FAB-T must return (about 1.0052 with the defaults). */
static double fab_line_ratio(int steps, double alpha_max, double eta, double beta) {
    double mu = 0, best = INFINITY;
    for (int k = 0; k < steps; k++) {
        double a1 = fabs(1 - mu), alpha = a1 / (a1 + 1);
        alpha = alpha < alpha_max ? alpha : alpha_max;
        mu = (1 - alpha) * (mu + eta * (1 - mu)) + alpha * eta;
        if (mu > 1) {
            best = mu < best ? mu : best;
            mu *= beta;
        }
    }
    return best;
}

/* (b) FAB-T with a large eps: the first target (second largest clean logit) breaks at its first step
 * (iters = 1), and the returned norm lies in [r*_c (1 - 1e-5), 1.05 r*_t], c = the adversarial class
 * (c = t on almost every point; otherwise the boundary of c was met first on the way to t). Where
 * c = t the norm must also equal fab_line_ratio() r*_t (up to float rounding of the iterates). */
static void test_fab_linear_norm(jt_ctx *ctx, const toy_lin *m, jt_oracle *o, const pts *p) {
    int n = p->n;
    int64_t d = p->d;
    float *adv = malloc((size_t)n * d * sizeof *adv);
    uint8_t *succ = malloc((size_t)n);
    int32_t *it = malloc((size_t)n * sizeof *it);
    int64_t *pa = malloc((size_t)n * sizeof *pa);
    jt_attack_config cfg;
    jt_attack_preset(ctx, "fab-t", JT_IMAGES_CIFAR, &cfg);
    cfg.eps = 0.5;
    jt_attack_io io = {.n = n, .x = p->x, .y = p->y, .x_adv = adv, .success = succ, .iters = it, .pred_adv = pa};
    if (jt_attack_run(o, &cfg, &io) != JT_OK) {
        jt_test_fail("linear/fab_t_norm", "%s", jt_ctx_error(ctx));
    } else {
        double rho = fab_line_ratio(cfg.steps, cfg.fab_alpha_max, cfg.fab_eta, cfg.fab_beta);
        int checked = 0, bad = 0, other = 0;
        double worst_hi = 0, worst_lo = INFINITY;
        char why[256] = "";
        for (int i = 0; i < n; i++) {
            const float *xi = p->x + (size_t)i * d;
            int64_t t = lin_argmax(m, xi, 1);
            double rt = toy_lin_rj(m, xi, p->y[i], t);
            /* the box stays inactive along the whole path only when every coordinate has 1.05 r*_t room */
            double room = INFINITY;
            for (int64_t e = 0; e < d; e++) {
                double c = xi[e] < 1 - xi[e] ? xi[e] : 1 - xi[e];
                room = c < room ? c : room;
            }
            if (1.05 * rt > room) continue;
            checked++;
            double nrm = linf(adv + (size_t)i * d, xi, d);
            double lo = succ[i] ? toy_lin_rj(m, xi, p->y[i], pa[i]) : rt, rs = toy_lin_rstar(m, xi, p->y[i]);
            other += succ[i] && pa[i] != t;
            worst_hi = nrm / rt > worst_hi ? nrm / rt : worst_hi;
            worst_lo = nrm / lo < worst_lo ? nrm / lo : worst_lo;
            int off_line = pa[i] == t && fabs(nrm - rho * rt) > 1e-4 * rho * rt + 2e-7;
            if (!succ[i] || it[i] != 1 || nrm < lo * (1 - 1e-5) || nrm < rs * (1 - 1e-5) || nrm > 1.05 * rt || off_line) {
                if (!bad++)
                    jt_test_fmt(why, sizeof why,
                                "point %d: success %d, iters %d, norm %.9g, r*_t %.9g (t = %lld, predicted norm %.9g), "
                                "r*_pred %.9g (pred %lld), r* %.9g",
                                i, succ[i], it[i], nrm, rt, (long long)t, rho * rt, lo, (long long)pa[i], rs);
            }
        }
        jt_test_note("%d points checked; norm / r*_t <= %.6f (line model %.6f), norm / r*_pred >= %.8f; %d broke into "
                     "another class than t", checked, worst_hi, rho, worst_lo, other);
        if (checked < n / 2) jt_test_fail("linear/fab_t_norm", "only %d of %d points checked", checked, n);
        else if (bad) jt_test_fail("linear/fab_t_norm", "%d bad points; first: %s", bad, why);
        else jt_test_ok("linear/fab_t_norm");
    }
    free(adv);
    free(succ);
    free(it);
    free(pa);
}

/* FAB-T's iters count the first step within eps, not the first misclassified one: with eps =
 * 1.02 r*_t (one point per run), the first step overshoots to 1.05 r*_t (misclassified, outside the
 * ball) and the second lands at 1.0052 r*_t (inside), so iters = 2 and the norm is the line model's. */
static void test_fab_linear_iters(jt_ctx *ctx, const toy_lin *m, jt_oracle *o, const pts *p) {
    int64_t d = p->d;
    float *adv = malloc((size_t)d * sizeof *adv);
    int checked = 0, bad = 0;
    char why[256] = "";
    for (int i = 0; i < p->n; i++) {
        const float *xi = p->x + (size_t)i * d;
        int64_t t = lin_argmax(m, xi, 1);
        double rt = toy_lin_rj(m, xi, p->y[i], t), room = INFINITY;
        for (int64_t e = 0; e < d; e++) room = fmin(room, fmin(xi[e], 1 - xi[e]));
        if (1.05 * rt > room) continue;
        jt_attack_config cfg;
        jt_attack_preset(ctx, "fab-t", JT_IMAGES_CIFAR, &cfg);
        cfg.eps = 1.02 * rt;
        double rho = fab_line_ratio(2, cfg.fab_alpha_max, cfg.fab_eta, cfg.fab_beta); /* best after 2 steps */
        uint8_t succ = 0;
        int32_t it = 0;
        jt_attack_io io = {.n = 1, .x = xi, .y = p->y + i, .x_adv = adv, .success = &succ, .iters = &it};
        if (jt_attack_run(o, &cfg, &io) != JT_OK) {
            jt_test_fail("linear/fab_t_iters_within_eps", "%s", jt_ctx_error(ctx));
            free(adv);
            return;
        }
        checked++;
        double nrm = linf(adv, xi, d), full = fab_line_ratio(cfg.steps, cfg.fab_alpha_max, cfg.fab_eta, cfg.fab_beta);
        if ((!succ || it != 2 || fabs(nrm - full * rt) > 1e-4 * full * rt + 2e-7) && !bad++)
            jt_test_fmt(why, sizeof why, "point %d: success %d, iters %d (want 2), norm %.9g (want %.9g; 2-step value %.9g)", i,
                        succ, it, nrm, full * rt, rho * rt);
    }
    free(adv);
    if (checked < p->n / 2) jt_test_fail("linear/fab_t_iters_within_eps", "only %d of %d points checked", checked, p->n);
    else if (bad) jt_test_fail("linear/fab_t_iters_within_eps", "%d bad points; first: %s", bad, why);
    else jt_test_ok("linear/fab_t_iters_within_eps");
}

/* Square on a K = 2 linear model that is never broken (huge bias): accepted windows only lower the
 * margin, i.e. move pixels towards the optimal corner x - eps sign(w_0 - w_1); after 2000 iterations
 * (single-pixel windows from iteration 1001 on 8x8) most coordinates must sit there. Windows never
 * start on the last row or column (floor(U (H - side))), which caps the match near 0.88; a window
 * position stuck in one row or column gives about 0.6. */
static void test_square_corner(jt_ctx *ctx) {
    int64_t K = 2, d = 3 * 8 * 8;
    double W[2 * 192], b[2] = {1000, 0};
    for (int i = 0; i < K * d; i++) W[i] = rnd() - 0.5;
    jt_oracle *o = NULL;
    toy_linear_create(ctx, 3, 8, 8, K, W, b, 16, &o);
    int n = 20;
    float *x = malloc((size_t)n * d * sizeof *x), *adv = malloc((size_t)n * d * sizeof *adv);
    int64_t y[20];
    for (int i = 0; i < n * d; i++) x[i] = (float)(0.05 + 0.9 * rnd());
    for (int i = 0; i < n; i++) y[i] = 0;
    jt_attack_config cfg;
    jt_attack_preset(ctx, "square", JT_IMAGES_CIFAR, &cfg);
    cfg.eps = 0.03;
    cfg.queries = 2000;
    jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv};
    if (jt_attack_run(o, &cfg, &io) != JT_OK) {
        jt_test_fail("square/linear_k2_towards_corner", "%s", jt_ctx_error(ctx));
    } else {
        double mean = 0, worst = 1;
        for (int i = 0; i < n; i++) {
            int match = 0;
            for (int64_t e = 0; e < d; e++) {
                float want = x[i * d + e] - (float)cfg.eps * (W[e] - W[d + e] > 0 ? 1.0f : -1.0f);
                match += adv[i * d + e] == want;
            }
            mean += match / (double)d / n;
            worst = fmin(worst, match / (double)d);
        }
        jt_test_note("square corner match: mean %.3f, worst %.3f", mean, worst);
        if (mean >= 0.8 && worst >= 0.7) jt_test_ok("square/linear_k2_towards_corner");
        else jt_test_fail("square/linear_k2_towards_corner", "corner match mean %.3f (want >= 0.8), worst %.3f (want >= 0.7)", mean,
                          worst);
    }
    free(x);
    free(adv);
    jt_oracle_free(o);
}

/* Square: budget prefixes and forward-only accounting. A run with B iterations is a prefix of a run
 * with more, so: success at query q with the full budget <=> success with any B >= q - 1 (same q,
 * same bytes); the margin at the returned point never increases with B; n_forward grows by
 * 2n (clean and final predictions) + the queries, n_backward not at all. */
static void test_square_queries(jt_ctx *ctx, const toy_lin *m, jt_oracle *o, const pts *p, double eps) {
    (void)m;
    int n = p->n;
    int64_t d = p->d, K = o->n_classes;
    const int budgets[] = {1, 3, 10, 30, 100, 300, 1000};
    const int nb = (int)(sizeof budgets / sizeof budgets[0]);
    float *adv = malloc((size_t)nb * n * d * sizeof *adv), *z = malloc((size_t)n * K * sizeof *z);
    int32_t *it = malloc((size_t)nb * n * sizeof *it);
    uint8_t *succ = malloc((size_t)nb * n);
    double *marg = malloc((size_t)nb * n * sizeof *marg);
    int ok = 1;
    char why[256] = "";
    for (int k = 0; k < nb && ok; k++) {
        jt_attack_config cfg;
        jt_attack_preset(ctx, "square", JT_IMAGES_CIFAR, &cfg);
        cfg.eps = eps;
        cfg.seed = 5;
        cfg.queries = budgets[k];
        uint64_t f0 = o->n_forward, b0 = o->n_backward;
        jt_attack_io io = {.n = n, .x = p->x, .y = p->y, .x_adv = adv + (size_t)k * n * d, .iters = it + (size_t)k * n,
                           .success = succ + (size_t)k * n};
        if (jt_attack_run(o, &cfg, &io) != JT_OK) {
            ok = 0;
            jt_test_fmt(why, sizeof why, "budget %d: %s", budgets[k], jt_ctx_error(ctx));
            break;
        }
        uint64_t want = 2 * (uint64_t)n;
        for (int i = 0; i < n; i++) {
            int32_t q = it[(size_t)k * n + i];
            uint8_t s = succ[(size_t)k * n + i];
            want += s ? (uint64_t)q : (uint64_t)budgets[k] + 1;
            if (s != (q > 0) || q > budgets[k] + 1) {
                ok = 0;
                jt_test_fmt(why, sizeof why, "budget %d, point %d: success %d with iters %d", budgets[k], i, s, q);
            }
        }
        if (ok && (o->n_forward - f0 != want || o->n_backward != b0)) {
            ok = 0;
            jt_test_fmt(why, sizeof why, "budget %d: %llu forward (want %llu), %llu backward (want 0)", budgets[k],
                        (unsigned long long)(o->n_forward - f0), (unsigned long long)want,
                        (unsigned long long)(o->n_backward - b0));
        }
        jt_oracle_logits(o, adv + (size_t)k * n * d, n, z);
        for (int i = 0; i < n; i++) {
            const float *zi = z + (size_t)i * K;
            double other = -INFINITY;
            for (int64_t c = 0; c < K; c++)
                if (c != p->y[i] && zi[c] > other) other = zi[c];
            marg[(size_t)k * n + i] = (double)zi[p->y[i]] - other;
        }
    }
    int late = 0, nsucc = 0;
    for (int i = 0; i < n && ok; i++) {
        int32_t qf = it[(size_t)(nb - 1) * n + i];
        nsucc += qf > 0;
        late += qf > 12;
        for (int k = 0; k < nb && ok; k++) {
            int32_t q = it[(size_t)k * n + i];
            int should = qf > 0 && qf <= budgets[k] + 1;
            if (should != (q > 0) || (should && q != qf)) {
                ok = 0;
                jt_test_fmt(why, sizeof why, "point %d: iters %d at budget %d but %d at budget %d", i, q, budgets[k], qf,
                            budgets[nb - 1]);
            } else if (should && memcmp(adv + ((size_t)k * n + i) * d, adv + ((size_t)(nb - 1) * n + i) * d,
                                        (size_t)d * sizeof *adv) != 0) {
                ok = 0;
                jt_test_fmt(why, sizeof why, "point %d: the successful point differs between budgets %d and %d", i,
                            budgets[k], budgets[nb - 1]);
            } else if (k > 0 && marg[(size_t)k * n + i] > marg[(size_t)(k - 1) * n + i]) {
                ok = 0;
                jt_test_fmt(why, sizeof why, "point %d: margin %.9g at budget %d > %.9g at budget %d", i,
                            marg[(size_t)k * n + i], budgets[k], marg[(size_t)(k - 1) * n + i], budgets[k - 1]);
            }
        }
    }
    jt_test_note("square: %d of %d points broken within %d iterations, %d after query 12", nsucc, n, budgets[nb - 1], late);
    if (ok && late < 5) ok = 0, jt_test_fmt(why, sizeof why, "weak test: only %d points broken after query 12", late);
    if (ok) jt_test_ok("square/query_count_and_monotone_margin");
    else jt_test_fail("square/query_count_and_monotone_margin", "%s", why);
    free(adv);
    free(z);
    free(it);
    free(succ);
    free(marg);
}

static void test_linear(jt_ctx *ctx) {
    lcg = 777; /* each group draws from its own sequence: adding a case elsewhere changes nothing here */
    toy_lin m;
    toy_lin_make(&m, 10, 3 * 8 * 8, rnd);
    jt_oracle *o = NULL;
    if (toy_linear_create(ctx, 3, 8, 8, 10, m.W, m.b, 32, &o) != JT_OK) {
        jt_test_fail("linear/setup", "%s", jt_ctx_error(ctx));
        toy_lin_free(&m);
        return;
    }
    double eps = 0.03;
    pts p, q;
    pts_make(&p, &m, 200, eps);
    pts_make(&q, &m, 100, 0.25);
    test_linear_soundness(ctx, &m, o, &p, eps);
    test_fab_linear_norm(ctx, &m, o, &q);
    test_fab_linear_iters(ctx, &m, o, &q);
    test_square_queries(ctx, &m, o, &p, eps);
    pts_free(&p);
    pts_free(&q);
    toy_lin_free(&m);
    jt_oracle_free(o);
}

/* ---------------------------------------------------------------------------------------------
 * Determinism and batch invariance (MLP 3x8x8 -> 16 -> 4)
 * ------------------------------------------------------------------------------------------- */

/* Same seed twice -> identical bytes and iters; max_batch 1, 7, 64 -> identical per-example results
 * (per-example windows; the shared window depends on the chunk, so it gets "same seed twice" only).
 * FAB-T runs on a strongly non-linear MLP (large first-layer weights), where some points break only
 * from a random restart, so that the restart streams are covered too; both attacks must break some
 * points in a restart after the first. */
static void test_determinism(jt_ctx *ctx) {
    lcg = 4242;
    int64_t H = 16, K = 4, d = 3 * 8 * 8;
    double *W1u = malloc((size_t)(H * d) * sizeof *W1u), *W1 = malloc((size_t)(H * d) * sizeof *W1), b1[16],
           W2[4 * 16], b2[4] = {0, 0, 0, 0};
    for (int i = 0; i < H * d; i++) W1u[i] = rnd() - 0.5;
    for (int i = 0; i < H; i++) b1[i] = rnd() - 0.5;
    for (int i = 0; i < K * H; i++) W2[i] = 2 * (rnd() - 0.5);
    int n = 50;
    float *x = malloc((size_t)n * d * sizeof *x);
    int64_t *y = malloc((size_t)n * sizeof *y);
    for (int i = 0; i < n * d; i++) x[i] = (float)rnd();
    struct { const char *preset, *name; int shared; double eps, w1_scale; int restarts; } atks[] = {
        {"fab-t", "fab-t", 0, 0.03, 8.0, 3}, {"square", "square", 0, 0.1, 0.6, 4}, {"square", "square-shared", 1, 0.1, 0.6, 4}};
    for (int a = 0; a < 3; a++) {
        float *ref = NULL;
        int32_t *ref_it = NULL;
        int ok = 1, nsucc = 0, nlate = 0;
        char why[200] = "";
        int batches[] = {64, 1, 7, 64};
        int nbatch = atks[a].shared ? 2 : 4;
        if (atks[a].shared) batches[1] = 64;
        for (int i = 0; i < H * d; i++) W1[i] = atks[a].w1_scale * W1u[i];
        for (int b = 0; b < nbatch && ok; b++) {
            jt_oracle *o = NULL;
            toy_mlp_create(ctx, 3, 8, 8, H, K, W1, b1, W2, b2, batches[b], &o);
            if (b == 0) jt_oracle_predict(o, x, n, y, NULL); /* every point is attacked */
            jt_attack_config cfg;
            jt_attack_preset(ctx, atks[a].preset, JT_IMAGES_CIFAR, &cfg);
            cfg.eps = atks[a].eps;
            cfg.steps = 20;
            cfg.restarts = atks[a].restarts;
            cfg.queries = 50;
            cfg.shared_window = atks[a].shared;
            cfg.seed = 3;
            float *adv = malloc((size_t)n * d * sizeof *adv);
            int32_t *it = malloc((size_t)n * sizeof *it);
            uint8_t *succ = malloc((size_t)n);
            jt_attack_io io = {.n = n, .x = x, .y = y, .x_adv = adv, .iters = it, .success = succ};
            if (jt_attack_run(o, &cfg, &io) != JT_OK) {
                ok = 0;
                jt_test_fmt(why, sizeof why, "%s", jt_ctx_error(ctx));
            } else if (!ref) {
                int moved = 0;
                for (int i = 0; i < n * d; i++) moved += adv[i] != x[i];
                for (int i = 0; i < n; i++) {
                    nsucc += succ[i];
                    /* broken in a restart r >= 1: FAB runs are target-major, restart-minor */
                    int late = cfg.kind == JT_ATK_FAB_T ? ((it[i] - 1) / cfg.steps) % cfg.restarts != 0
                                                        : it[i] > cfg.queries + 1;
                    nlate += succ[i] && late;
                }
                if (!moved) ok = 0, jt_test_fmt(why, sizeof why, "the attack did not move any pixel");
                ref = adv;
                ref_it = it;
                adv = NULL;
                it = NULL;
            } else if (memcmp(ref, adv, (size_t)n * d * sizeof *adv) != 0 || memcmp(ref_it, it, (size_t)n * sizeof *it) != 0) {
                ok = 0;
                jt_test_fmt(why, sizeof why, "max_batch %d differs from the first run", batches[b]);
            }
            free(adv);
            free(it);
            free(succ);
            jt_oracle_free(o);
        }
        char name[80];
        jt_test_fmt(name, sizeof name, "determinism/%s/%s", atks[a].shared ? "same_seed" : "batch_invariance", atks[a].name);
        jt_test_note("%s: %d of %d broken, %d in a later restart", atks[a].name, nsucc, n, nlate);
        if (ok && (nsucc == 0 || nsucc == n || (!atks[a].shared && nlate == 0)))
            ok = 0, jt_test_fmt(why, sizeof why, "weak test: %d of %d broken, %d in a later restart", nsucc, n, nlate);
        if (ok) jt_test_ok(name);
        else jt_test_fail(name, "%s", why);
        free(ref);
        free(ref_it);
    }
    free(W1u);
    free(W1);
    free(x);
    free(y);
}

int main(void) {
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(1, &ctx) != JT_OK) return 1;
    test_fab_proj();
    test_square_sides();
    test_linear(ctx);
    lcg = 99;
    test_square_corner(ctx);
    test_determinism(ctx);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
