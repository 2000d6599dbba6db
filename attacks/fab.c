/* FAB-T: targeted Fast Adaptive Boundary attack, L-inf (docs/attacks.md section 4).
 *
 * FAB looks for the smallest L-inf perturbation that changes the class: it linearises the boundary
 * between the true class y and a target t, projects onto that hyperplane (inside the box [0,1]^d) from
 * the iterate and from the clean point, mixes the two projections, overshoots a little and steps back
 * towards the clean point whenever the class has changed. eps is used only for the final decision
 * (and for the random restarts): a point counts as broken iff the best adversarial point found has
 * ||adv - x0||_inf <= eps; otherwise the clean x0 is returned, so the dispatcher's ball check always
 * holds.
 *
 * Outer loop: for targets tau = 2 .. n_targets+1 (the tau-th largest CLEAN logit, capped at K-1), in
 * order, on the examples still not broken: cfg->restarts runs, run r >= 1 (0-based) from a random
 * start whose uniforms are keyed by (index, sub = tau_idx * restarts + r, iter = 0).
 *
 * iters: counted over every run the example took part in: (runs before) * steps + k + 1, where k is
 * the first step of the successful run that produced an adversarial point within eps. */
#include <stdio.h>

#include "attack_internal.h"

/* ---- box-constrained hyperplane projection (section 4.1) ----
 *
 * After the sign flip (so that r = <w,t> - b >= 0 is the amount to remove), moving coordinate i by
 * lambda in its useful direction e_i = -sign(w_i) removes |w_i| * min(lambda, c_i), c_i = the room to
 * the box. h(lambda) = sum |w_i| min(lambda, c_i) is concave, piecewise linear and non-decreasing;
 * the answer is lambda* = min{lambda : h(lambda) >= r}.
 *
 * lambda* is found exactly by an active-set (Newton) iteration instead of a sort: start from
 * lambda_0 = r / ||w||_1 (exact when no box bound is active); with A = {i : c_i < lambda_k} the
 * saturated coordinates, lambda_{k+1} solves sum_A |w_i| c_i + lambda * sum_{not A} |w_i| = r. Since
 * h lies below that line for lambda >= lambda_k, lambda_k <= lambda_{k+1} <= lambda*; A only grows,
 * and when it stops growing lambda_{k+1} lies inside the segment of lambda*, which is therefore
 * solved linearly there, exactly as the sort-and-scan would. No allocation, O(d) per round and a
 * few rounds in practice (bounded: see proj_lambda). The test compares it with a sort-and-scan
 * reference. */

/* room c_i of coordinate i after the sign flip s: down to 0 when s w_i > 0, else up to 1 */
static inline double proj_room(float t, float w, double s) { return s * (double)w > 0 ? (double)t : 1.0 - (double)t; }

/* h(lambda) = sum_i |w_i| min(lambda, c_i) */
static double proj_h(const float *t, const float *w, double s, double lam, int64_t d) {
    double h = 0;
    for (int64_t i = 0; i < d; i++) {
        if (w[i] == 0.0f) continue;
        double c = proj_room(t[i], w[i], s);
        h += fabs((double)w[i]) * (c < lam ? c : lam);
    }
    return h;
}

/* Active-set rounds from *lam <= lambda* (so h(*lam) <= r); returns 1 when the segment is settled
 * (*lam = lambda*), 0 after max_rounds rounds (*lam is then a better lower bound). */
static int proj_newton(const float *t, const float *w, double s, double r, int64_t d, double *lam, int max_rounds) {
    int64_t n_sat = -1;
    for (int round = 0; round < max_rounds; round++) {
        double sat = 0, rem = 0; /* sum_A |w| c and sum_{not A} |w| */
        int64_t cnt = 0;
        for (int64_t i = 0; i < d; i++) {
            if (w[i] == 0.0f) continue;
            double c = proj_room(t[i], w[i], s), aw = fabs((double)w[i]);
            if (c < *lam) {
                sat += aw * c;
                cnt++;
            } else {
                rem += aw;
            }
        }
        if (cnt == n_sat || !(rem > 0)) return 1; /* A did not grow (or every bound is hit) */
        n_sat = cnt;
        double next = (r - sat) / rem;
        *lam = next > *lam ? next : *lam; /* monotone in exact arithmetic; guard against rounding */
    }
    return 0;
}

/* lambda* of a reachable plane (h(cmax) >= r). A few active-set rounds settle it in practice; if
 * they do not (many breakpoints just below lambda*), bisection on h narrows the lower bound until
 * only a handful of distinct breakpoints can remain above it, and the rounds finish exactly. Worst
 * case O(d) per round times (32 + 64 + a few), never O(d^2). */
static double proj_lambda(const float *t, const float *w, double s, double r, double cmax, int64_t d) {
    double wsum = 0;
    for (int64_t i = 0; i < d; i++) wsum += fabs((double)w[i]);
    if (!(wsum > 0) || !(r > 0)) return 0.0;
    double lam = r / wsum;
    if (proj_newton(t, w, s, r, d, &lam, 32)) return lam;
    double lo = lam, hi = cmax;
    for (int k = 0; k < 64; k++) {
        double mid = 0.5 * (lo + hi);
        if (!(mid > lo && mid < hi)) break;
        if (proj_h(t, w, s, mid, d) < r) lo = mid;
        else hi = mid;
    }
    lam = lo;
    proj_newton(t, w, s, r, d, &lam, (int)(d < 1000000 ? d + 2 : 1000002));
    return lam;
}

void jt_fab_proj(const float *t, const float *w, double b, int64_t d, float *delta) {
    double wt = 0;
    for (int64_t i = 0; i < d; i++) wt += (double)w[i] * (double)t[i];
    double s = wt >= b ? 1.0 : -1.0, r = s * (wt - b);
    /* reachable iff h(max c) = sum |w_i| c_i >= r */
    double hmax = 0, cmax = 0;
    for (int64_t i = 0; i < d; i++) {
        if (w[i] == 0.0f) continue;
        double c = proj_room(t[i], w[i], s);
        hmax += fabs((double)w[i]) * c;
        cmax = c > cmax ? c : cmax;
    }
    double lam = hmax < r ? cmax : proj_lambda(t, w, s, r, cmax, d); /* unreachable: move every coordinate fully */
    for (int64_t i = 0; i < d; i++) {
        if (w[i] == 0.0f) {
            delta[i] = 0.0f;
            continue;
        }
        double c = proj_room(t[i], w[i], s), step = lam < c ? lam : c;
        delta[i] = (float)(s * (double)w[i] > 0 ? -step : step);
    }
}

/* ---- the attack ---- */

typedef struct fab_buf {
    float *v, *g, *x0, *adv, *d1, *d2, *z, *f, *u;
    double *best;
    int64_t *y, *t, *tgt, *pred;
    int *act, *done, *first;
} fab_buf;

static void fab_free(fab_buf *b) {
    free(b->v);
    free(b->g);
    free(b->x0);
    free(b->adv);
    free(b->d1);
    free(b->d2);
    free(b->z);
    free(b->f);
    free(b->u);
    free(b->best);
    free(b->y);
    free(b->t);
    free(b->tgt);
    free(b->pred);
    free(b->act);
    free(b->done);
    free(b->first);
}

static jt_status fab_alloc(atk_job *j, fab_buf *b, int n_tg) {
    size_t n = (size_t)j->n, nd = n * (size_t)j->d, d = (size_t)j->d;
    b->v = atk_alloc(j, nd * sizeof(float), "iterates");
    b->g = atk_alloc(j, nd * sizeof(float), "gradients");
    b->x0 = atk_alloc(j, nd * sizeof(float), "clean images");
    b->adv = atk_alloc(j, nd * sizeof(float), "best adversarial points");
    b->d1 = atk_alloc(j, d * sizeof(float), "projections");
    b->d2 = atk_alloc(j, d * sizeof(float), "projections");
    b->u = atk_alloc(j, d * sizeof(float), "random start");
    b->z = atk_alloc(j, n * (size_t)j->K * sizeof(float), "logits");
    b->f = atk_alloc(j, n * sizeof(float), "boundary values");
    b->best = atk_alloc(j, n * sizeof(double), "best norms");
    b->y = atk_alloc(j, n * sizeof(int64_t), "labels");
    b->t = atk_alloc(j, n * sizeof(int64_t), "targets");
    b->tgt = atk_alloc(j, n * (size_t)(n_tg > 0 ? n_tg : 1) * sizeof(int64_t), "target lists");
    b->pred = atk_alloc(j, n * sizeof(int64_t), "predictions");
    b->act = atk_alloc(j, n * sizeof(int), "active list");
    b->done = atk_alloc(j, n * sizeof(int), "flags");
    b->first = atk_alloc(j, n * sizeof(int), "first successes");
    if (!b->v || !b->g || !b->x0 || !b->adv || !b->d1 || !b->d2 || !b->u || !b->z || !b->f || !b->best || !b->y ||
        !b->t || !b->tgt || !b->pred || !b->act || !b->done || !b->first)
        return JT_ERR_OOM;
    return JT_OK;
}

/* a comes before b in the order of decreasing logits, stable by index on ties */
static int logit_before(const float *z, int64_t a, int64_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); }

/* tgt[k] = index of the (k+2)-th largest clean logit (stable by index on ties, so that the largest
 * is the prediction = y of a clean-correct example). Each rank is the first element after the
 * previous one in that order: O(K) per target, no scratch. Returns 0 when the logits are not
 * ordered (NaN). */
static int fab_targets(const float *z, int64_t K, int n_tg, int64_t *tgt) {
    int64_t prev = -1;
    for (int rank = 0; rank <= n_tg; rank++) {
        int64_t b = -1;
        for (int64_t c = 0; c < K; c++) {
            if (prev >= 0 && !logit_before(z, prev, c)) continue;
            if (b < 0 || logit_before(z, c, b)) b = c;
        }
        if (b < 0) return 0;
        if (rank > 0) tgt[rank - 1] = b;
        prev = b;
    }
    return 1;
}

static double linf_dist(const float *a, const float *b, int64_t d) {
    double m = 0;
    for (int64_t i = 0; i < d; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        m = e > m ? e : m;
    }
    return m;
}

static float linf_norm(const float *v, int64_t d) {
    float m = 0;
    for (int64_t i = 0; i < d; i++) {
        float a = fabsf(v[i]);
        m = a > m ? a : m;
    }
    return m;
}

/* v <- clip(x0 + 0.5 eps u / max|u|, 0, 1), u ~ U(-1,1)^d */
static void fab_random_start(const jt_attack_config *cfg, int64_t index, uint32_t sub, const float *x0, float *u,
                             float *v, int64_t d) {
    atk_uniform_fill(cfg, index, sub, 0, u, d);
    float m = 0;
    for (int64_t i = 0; i < d; i++) {
        u[i] = 2.0f * u[i] - 1.0f;
        m = fabsf(u[i]) > m ? fabsf(u[i]) : m;
    }
    double f = m > 0 ? 0.5 * cfg->eps / (double)m : 0.0;
    for (int64_t i = 0; i < d; i++) v[i] = atk_clampf((float)((double)x0[i] + f * (double)u[i]), 0.0f, 1.0f);
}

/* One FAB step for one example: projections of v and x0 onto the linearised boundary
 * {u : <w,u> = <w,v> - f}, mixed with alpha = min(a1/(a1+a2), alpha_max), overshoot eta, clip. */
static void fab_step(const jt_attack_config *cfg, float *v, const float *x0, const float *w, float f, float *d1,
                     float *d2, int64_t d) {
    double wv = 0;
    for (int64_t i = 0; i < d; i++) wv += (double)w[i] * (double)v[i];
    double b = wv - (double)f;
    jt_fab_proj(v, w, b, d, d1);
    jt_fab_proj(x0, w, b, d, d2);
    double a1 = linf_norm(d1, d), a2 = linf_norm(d2, d);
    a1 = a1 > 1e-8 ? a1 : 1e-8;
    a2 = a2 > 1e-8 ? a2 : 1e-8;
    double alpha = a1 / (a1 + a2), eta = cfg->fab_eta;
    if (alpha > cfg->fab_alpha_max) alpha = cfg->fab_alpha_max;
    for (int64_t i = 0; i < d; i++) {
        double nv = (1.0 - alpha) * ((double)v[i] + eta * (double)d1[i]) + alpha * ((double)x0[i] + eta * (double)d2[i]);
        v[i] = atk_clampf((float)nv, 0.0f, 1.0f);
    }
}

/* One run (section 4.2) on the m compacted examples of b (x0, y, t set, v = start). Keeps per example
 * the closest misclassified iterate in adv/best and the first step that was within eps in first[].
 * trace: add the boundary value f at the first and last gradient to the job's loss diagnostics. */
static jt_status fab_run(atk_job *j, fab_buf *b, int m, int trace) {
    const jt_attack_config *cfg = j->cfg;
    int64_t d = j->d;
    float beta = (float)cfg->fab_beta;
    for (int k = 0; k < m; k++) {
        b->best[k] = INFINITY;
        b->first[k] = -1;
    }
    for (int it = 0; it < cfg->steps; it++) {
        /* f = z_t - z_y and w = grad f (one forward + backward) */
        JT_TRY(atk_grad(j, b->v, b->y, b->t, m, JT_LOSS_TDIFF, b->f, b->g, NULL));
        if (trace && it == 0) {
            j->has_loss_trace = 1;
            for (int k = 0; k < m; k++) {
                j->loss_first_sum += b->f[k];
                int nz = 0;
                for (int64_t e = 0; e < d && !nz; e++) nz = b->g[(size_t)k * d + e] != 0.0f;
                j->zero_grad_count += !nz;
            }
        }
        if (trace && it == cfg->steps - 1)
            for (int k = 0; k < m; k++) j->loss_last_sum += b->f[k];
        for (int k = 0; k < m; k++)
            fab_step(cfg, b->v + (size_t)k * d, b->x0 + (size_t)k * d, b->g + (size_t)k * d, b->f[k], b->d1, b->d2, d);
        /* class changed? (one forward) */
        JT_TRY(jt_oracle_predict(j->o, b->v, m, b->pred, NULL));
        for (int k = 0; k < m; k++) {
            if (b->pred[k] == b->y[k]) continue;
            float *vk = b->v + (size_t)k * d;
            const float *xk = b->x0 + (size_t)k * d;
            double nrm = linf_dist(vk, xk, d);
            if (nrm < b->best[k]) {
                b->best[k] = nrm;
                memcpy(b->adv + (size_t)k * d, vk, (size_t)d * sizeof *vk);
            }
            if (b->first[k] < 0 && nrm <= j->cfg->eps) b->first[k] = it;
            /* step back towards the clean point: v <- x0 + beta (v - x0) */
            for (int64_t e = 0; e < d; e++) vk[e] = atk_clampf(xk[e] + beta * (vk[e] - xk[e]), 0.0f, 1.0f);
        }
    }
    return JT_OK;
}

jt_status jt_atk_fab(atk_job *j) {
    const jt_attack_config *cfg = j->cfg;
    int n = j->n, R = cfg->restarts;
    int64_t d = j->d, K = j->K;
    int n_tg = cfg->n_targets < K - 1 ? cfg->n_targets : (int)(K - 1);
    fab_buf b;
    memset(&b, 0, sizeof b);
    jt_status st = fab_alloc(j, &b, n_tg);
    if (st != JT_OK) goto out;
    memcpy(j->x_adv, j->x, (size_t)n * (size_t)d * sizeof(float)); /* unsuccessful: the clean point */
    /* targets from the clean logits */
    st = jt_oracle_logits(j->o, j->x, n, b.z);
    if (st != JT_OK) goto out;
    for (int i = 0; i < n && st == JT_OK; i++)
        if (!fab_targets(b.z + (size_t)i * K, K, n_tg, b.tgt + (size_t)i * n_tg))
            st = jt_fail(j->o->ctx, JT_ERR_NUMERIC, "attack '%s': non-finite clean logits for example %lld", cfg->name,
                         (long long)j->index[i]);
    for (int ti = 0; ti < n_tg && st == JT_OK; ti++) {
        for (int r = 0; r < R && st == JT_OK; r++) {
            int m = 0;
            for (int i = 0; i < n; i++)
                if (!b.done[i]) b.act[m++] = i;
            if (m == 0) goto out;
            for (int k = 0; k < m; k++) {
                int i = b.act[k];
                float *x0 = b.x0 + (size_t)k * d, *v = b.v + (size_t)k * d;
                memcpy(x0, j->x + (size_t)i * d, (size_t)d * sizeof *x0);
                b.y[k] = j->y[i];
                b.t[k] = b.tgt[(size_t)i * n_tg + ti];
                if (r == 0) memcpy(v, x0, (size_t)d * sizeof *v);
                else fab_random_start(cfg, j->index[i], (uint32_t)(ti * R + r), x0, b.u, v, d);
            }
            st = fab_run(j, &b, m, ti == 0 && r == 0);
            if (st != JT_OK) break;
            int runs_before = ti * R + r;
            for (int k = 0; k < m; k++) {
                int i = b.act[k];
                if (!(b.best[k] <= cfg->eps)) continue; /* outside the ball (or none): not broken */
                b.done[i] = 1;
                memcpy(j->x_adv + (size_t)i * d, b.adv + (size_t)k * d, (size_t)d * sizeof(float));
                if (j->iters) j->iters[i] = runs_before * cfg->steps + b.first[k] + 1;
            }
        }
    }
out:
    fab_free(&b);
    return st;
}
