/* APGD (docs/attacks.md section 3): APGD-CE / APGD-CW / APGD-DLR (JT_ATK_APGD, loss cfg->loss) and
 * APGD-T (JT_ATK_APGD_T, targeted DLR), L-inf, with AutoAttack's step-size schedule.
 *
 * One run (section 3.3) per example, vectorised over the compacted active examples of the chunk:
 *   start  u ~ U(-1,1)^d (RNG sub = run id, iter = 0), v = clip(x + eps*u/(max|u| + 1e-12), 0, 1)
 *   step   s = Proj(v + eta*sign(g)); v' = Proj(v + a*(s - v) + (1-a)*(v - v_prev)), a = 1 then 0.75
 *   keep   x_best / g_best / l_best (largest loss), and the last misclassified iterate
 *   check  at the section 3.2 checkpoints: halve eta and restart from x_best / g_best when the loss
 *          rose in at most rho*w of the last w iterations, or when it did not improve since the last
 *          checkpoint and the previous checkpoint did not halve.
 * Every quantity (eta, counters, checkpoints) is per example, and all examples of a run do the same
 * iterations, so an example's result never depends on the others in its chunk.
 *
 * Outer loops (section 3.4). Run ids number the runs an example may take part in:
 *   APGD    run id = r (restart r = 0..R-1)
 *   APGD-T  run id = tau*R + r, tau = 0..n_targets-1 indexes the target (the (tau+2)-th largest clean
 *           logit, skipping y; n_targets capped at K-1); success stays pred != y.
 * A run takes the examples not fooled by earlier runs; an example is fooled when an iterate of the run
 * was misclassified (AutoAttack's acc flag; the dispatcher then re-decides success by a fresh forward
 * pass) and leaves with the LAST misclassified iterate. Examples never fooled return x_best (decision
 * of section 3.4; AutoAttack returns x): for APGD the x_best with the largest l_best over restarts,
 * for APGD-T that of the last target's run (the targeted losses of different targets do not compare).
 *
 * Outputs besides x_adv:
 *   iters[i]  run id * (N + 1) + k for the first misclassified iterate, k = 0 the start point and
 *             k = 1..N the iterate after k steps (so, with one run, the number of steps taken); -1 none.
 *   loss_first_sum, loss_last_sum  the loss at the start point and l_best of the run that decided the
 *                   example's output (the fooling run, or the run whose x_best is returned), so that
 *                   both come from the same loss (APGD-T: the same target) and last >= first
 *   zero_grad_count examples whose gradient at their first start point is all zero. */

#include "attack_internal.h"

/* ---- step-size checkpoints (section 3.2) ---- */

int jt_apgd_checkpoints(int n_iter, int *iters_out, int *windows_out, int cap) {
    /* the same double arithmetic as AutoAttack's int(0.22 * n_iter), so that the windows agree */
    int w = (int)(0.22 * n_iter), w_min = (int)(0.06 * n_iter), dec = (int)(0.03 * n_iter);
    w = w > 1 ? w : 1;
    w_min = w_min > 1 ? w_min : 1;
    dec = dec > 1 ? dec : 1;
    int count = 0;
    for (int done = w; done <= n_iter; done += w) {
        if (count < cap) {
            if (iters_out) iters_out[count] = done;
            if (windows_out) windows_out[count] = w;
        }
        count++;
        w = w - dec > w_min ? w - dec : w_min;
    }
    return count;
}

/* ---- working buffers of one chunk (n examples: O(n*d) floats) ---- */

typedef struct apgd_buf {
    float *v, *vp, *g, *xb, *gb;          /* [n*d] iterate, previous iterate, gradient, best, its gradient */
    float *loss, *lstart, *lbest, *lcheck, *lprev; /* [n] */
    float *eta;                           /* [n] step size */
    float *z;                             /* [n*K] logits */
    float *u;                             /* [d] random start */
    int64_t *cy, *ct, *cidx;              /* [n] compacted labels, targets, global indices */
    int *act;                             /* [n] chunk position of compacted example k */
    int *ups, *halved, *ok;               /* [n] */
    int32_t *first;                       /* [n] first misclassified iterate of the run, -1 */
    int *cp, *win;                        /* [N] checkpoints (iterations done) and their windows */
    int ncp;
} apgd_buf;

static void buf_free(apgd_buf *b) {
    free(b->v);
    free(b->vp);
    free(b->g);
    free(b->xb);
    free(b->gb);
    free(b->loss);
    free(b->lstart);
    free(b->lbest);
    free(b->lcheck);
    free(b->lprev);
    free(b->eta);
    free(b->z);
    free(b->u);
    free(b->cy);
    free(b->ct);
    free(b->cidx);
    free(b->act);
    free(b->ups);
    free(b->halved);
    free(b->ok);
    free(b->first);
    free(b->cp);
    free(b->win);
}

static jt_status buf_alloc(atk_job *j, apgd_buf *b) {
    size_t n = (size_t)j->n, d = (size_t)j->d, N = (size_t)j->cfg->steps;
    memset(b, 0, sizeof *b);
    b->v = atk_alloc(j, n * d * sizeof(float), "iterates");
    b->vp = atk_alloc(j, n * d * sizeof(float), "previous iterates");
    b->g = atk_alloc(j, n * d * sizeof(float), "gradients");
    b->xb = atk_alloc(j, n * d * sizeof(float), "best iterates");
    b->gb = atk_alloc(j, n * d * sizeof(float), "best gradients");
    b->loss = atk_alloc(j, n * sizeof(float), "losses");
    b->lstart = atk_alloc(j, n * sizeof(float), "start losses");
    b->lbest = atk_alloc(j, n * sizeof(float), "best losses");
    b->lcheck = atk_alloc(j, n * sizeof(float), "checkpoint losses");
    b->lprev = atk_alloc(j, n * sizeof(float), "previous losses");
    b->eta = atk_alloc(j, n * sizeof(float), "step sizes");
    b->z = atk_alloc(j, n * (size_t)j->K * sizeof(float), "logits");
    b->u = atk_alloc(j, d * sizeof(float), "random start");
    b->cy = atk_alloc(j, n * sizeof(int64_t), "labels");
    b->ct = atk_alloc(j, n * sizeof(int64_t), "targets");
    b->cidx = atk_alloc(j, n * sizeof(int64_t), "indices");
    b->act = atk_alloc(j, n * sizeof(int), "active list");
    b->ups = atk_alloc(j, n * sizeof(int), "counters");
    b->halved = atk_alloc(j, n * sizeof(int), "flags");
    b->ok = atk_alloc(j, n * sizeof(int), "flags");
    b->first = atk_alloc(j, n * sizeof(int32_t), "iterations");
    b->cp = atk_alloc(j, N * sizeof(int), "checkpoints");
    b->win = atk_alloc(j, N * sizeof(int), "checkpoints");
    if (!b->v || !b->vp || !b->g || !b->xb || !b->gb || !b->loss || !b->lstart || !b->lbest || !b->lcheck || !b->lprev || !b->eta ||
        !b->z || !b->u || !b->cy || !b->ct || !b->cidx || !b->act || !b->ups || !b->halved || !b->ok || !b->first ||
        !b->cp || !b->win)
        return JT_ERR_OOM;
    b->ncp = jt_apgd_checkpoints(j->cfg->steps, b->cp, b->win, j->cfg->steps);
    return JT_OK;
}

/* ---- one run ---- */

/* v = clip(x + eps * u / (max|u| + 1e-12), 0, 1), u ~ U(-1,1)^d: a point on the eps-cube's surface */
static void start_point(const jt_attack_config *cfg, int64_t index, uint32_t run, const float *x, float *u, float *v,
                        int64_t d) {
    float eps = (float)cfg->eps, mx = 0.0f;
    atk_uniform_fill(cfg, index, run, 0, u, d);
    for (int64_t e = 0; e < d; e++) {
        u[e] = 2.0f * u[e] - 1.0f;
        float a = fabsf(u[e]);
        mx = a > mx ? a : mx;
    }
    float den = mx + 1e-12f;
    for (int64_t e = 0; e < d; e++) v[e] = atk_clampf(x[e] + eps * (u[e] / den), 0.0f, 1.0f);
}

/* The momentum step of one example, in AutoAttack's float order:
 * s = Proj(v + eta*sign(g)); v' = Proj((v + (s - v)*a) + (v - v_prev)*(1 - a)); v_prev = v. */
static void momentum_step(float *v, float *vp, const float *g, const float *x, float eps, float eta, float a, int64_t d) {
    float b = 1.0f - a;
    for (int64_t e = 0; e < d; e++) {
        float lo = x[e] - eps, hi = x[e] + eps, ve = v[e];
        float s = atk_clampf(atk_clampf(ve + eta * atk_sign(g[e]), lo, hi), 0.0f, 1.0f);
        float nv = atk_clampf(atk_clampf(ve + (s - ve) * a + (ve - vp[e]) * b, lo, hi), 0.0f, 1.0f);
        vp[e] = ve;
        v[e] = nv;
    }
}

/* Whether the example's first gradient is all zero (sanity check S5). */
static int all_zero(const float *g, int64_t d) {
    for (int64_t e = 0; e < d; e++)
        if (g[e] != 0.0f) return 0;
    return 1;
}

/* One APGD run on the m compacted examples of b (cy, ct, cidx, act set). Misclassified iterates are
 * written straight into the example's row of j->x_adv (the output when the run fools it); on return
 * b->ok, b->first, b->xb, b->lstart and b->lbest hold the run's results. */
static jt_status apgd_run(atk_job *j, apgd_buf *b, int m, uint32_t run, jt_attack_loss kind, int first_run) {
    const jt_attack_config *cfg = j->cfg;
    int64_t d = j->d, K = j->K;
    size_t row = (size_t)d * sizeof(float);
    float eps = (float)cfg->eps;
    const int64_t *t = kind == JT_LOSS_DLR_T ? b->ct : NULL;
    for (int k = 0; k < m; k++)
        start_point(cfg, b->cidx[k], run, j->x + (size_t)b->act[k] * d, b->u, b->v + (size_t)k * d, d);
    JT_TRY(atk_grad(j, b->v, b->cy, t, m, kind, b->loss, b->g, b->z));
    for (int k = 0; k < m; k++) {
        size_t o = (size_t)k * d;
        if (first_run) j->zero_grad_count += all_zero(b->g + o, d);
        b->ok[k] = atk_argmax(b->z + (size_t)k * K, K) == b->cy[k];
        b->first[k] = b->ok[k] ? -1 : 0;
        if (!b->ok[k]) memcpy(j->x_adv + (size_t)b->act[k] * d, b->v + o, row);
        memcpy(b->xb + o, b->v + o, row);
        memcpy(b->gb + o, b->g + o, row);
        memcpy(b->vp + o, b->v + o, row);
        b->lstart[k] = b->loss[k];
        b->lbest[k] = b->loss[k];
        b->lcheck[k] = b->loss[k];
        b->eta[k] = 2.0f * eps;
        b->halved[k] = 1; /* so that the second halving condition cannot fire at the first checkpoint */
        b->lprev[k] = 0.0f; /* fidelity note (a): AutoAttack compares the first loss with an unwritten 0 */
        b->ups[k] = 0;
    }
    int next = 0;
    for (int it = 0; it < cfg->steps; it++) {
        float a = it == 0 ? 1.0f : 0.75f;
        for (int k = 0; k < m; k++) {
            size_t o = (size_t)k * d;
            momentum_step(b->v + o, b->vp + o, b->g + o, j->x + (size_t)b->act[k] * d, eps, b->eta[k], a, d);
        }
        JT_TRY(atk_grad(j, b->v, b->cy, t, m, kind, b->loss, b->g, b->z));
        for (int k = 0; k < m; k++) {
            size_t o = (size_t)k * d;
            if (atk_argmax(b->z + (size_t)k * K, K) != b->cy[k]) { /* the last misclassified iterate is kept */
                b->ok[k] = 0;
                if (b->first[k] < 0) b->first[k] = it + 1;
                memcpy(j->x_adv + (size_t)b->act[k] * d, b->v + o, row);
            }
            /* increases within the current window; windows tile the iterations, so a running count
             * since the last checkpoint equals AutoAttack's look-back over the last w losses */
            b->ups[k] += b->loss[k] > b->lprev[k];
            b->lprev[k] = b->loss[k];
            if (b->loss[k] > b->lbest[k]) {
                memcpy(b->xb + o, b->v + o, row);
                memcpy(b->gb + o, b->g + o, row);
                b->lbest[k] = b->loss[k];
            }
        }
        if (next < b->ncp && it + 1 == b->cp[next]) {
            double w = (double)b->win[next++];
            for (int k = 0; k < m; k++) {
                size_t o = (size_t)k * d;
                int halve = (double)b->ups[k] <= cfg->rho * w || (!b->halved[k] && b->lcheck[k] >= b->lbest[k]);
                b->halved[k] = halve;
                b->lcheck[k] = b->lbest[k];
                b->ups[k] = 0;
                if (halve) { /* restart from the best point; v_prev is kept (fidelity note b) */
                    b->eta[k] *= 0.5f;
                    memcpy(b->v + o, b->xb + o, row);
                    memcpy(b->g + o, b->gb + o, row);
                }
            }
        }
    }
    return JT_OK;
}

/* ---- targets of APGD-T ---- */

typedef struct ranked {
    float z;
    int64_t k;
} ranked;

/* descending logits, lower class index first on ties (stable by index) */
static int ranked_cmp(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->z > b->z) return -1;
    if (a->z < b->z) return 1;
    return (a->k > b->k) - (a->k < b->k);
}

/* t[0..nt) = the classes of the 2nd, 3rd, ... largest clean logits. y is skipped rather than assumed to
 * be the largest, so that a target never equals the label (identical when the clean prediction is y,
 * which holds for every attacked example of a deterministic oracle). */
static void targets_of(const float *z, int64_t K, int64_t y, int nt, ranked *tmp, int64_t *t) {
    for (int64_t k = 0; k < K; k++) {
        tmp[k].z = z[k];
        tmp[k].k = k;
    }
    qsort(tmp, (size_t)K, sizeof *tmp, ranked_cmp);
    int c = 0;
    for (int64_t r = 0; r < K && c < nt; r++)
        if (tmp[r].k != y) t[c++] = tmp[r].k;
}

/* Clean logits of the chunk -> tg[n*nt]. */
static jt_status apgd_targets(atk_job *j, int nt, int64_t *tg) {
    int64_t K = j->K;
    float *z = atk_alloc(j, (size_t)j->n * (size_t)K * sizeof *z, "clean logits");
    ranked *tmp = atk_alloc(j, (size_t)K * sizeof *tmp, "sorted logits");
    jt_status st = z && tmp ? JT_OK : JT_ERR_OOM;
    if (st == JT_OK) st = jt_oracle_logits(j->o, j->x, j->n, z);
    for (int i = 0; st == JT_OK && i < j->n; i++)
        targets_of(z + (size_t)i * K, K, j->y[i], nt, tmp, tg + (size_t)i * nt);
    free(z);
    free(tmp);
    return st;
}

/* ---- outer loops ---- */

jt_status jt_atk_apgd(atk_job *j) {
    const jt_attack_config *cfg = j->cfg;
    int n = j->n, targeted = cfg->kind == JT_ATK_APGD_T;
    int64_t d = j->d, K = j->K;
    jt_attack_loss kind = targeted ? JT_LOSS_DLR_T : cfg->loss;
    if (cfg->norm != JT_NORM_LINF) return jt_fail(j->o->ctx, JT_ERR_UNSUPPORTED, "attack '%s': APGD is L-inf only", cfg->name);
    if (targeted && K < 4)
        return jt_fail(j->o->ctx, JT_ERR_ARG, "attack '%s': the targeted DLR loss needs at least 4 classes (got %lld)",
                       cfg->name, (long long)K);
    if (!targeted && kind == JT_LOSS_DLR && K < 3)
        return jt_fail(j->o->ctx, JT_ERR_ARG, "attack '%s': the DLR loss needs at least 3 classes (got %lld)", cfg->name,
                       (long long)K);
    int nt = targeted ? (cfg->n_targets < K - 1 ? cfg->n_targets : (int)(K - 1)) : 1;
    int R = cfg->restarts, N = cfg->steps;
    size_t row = (size_t)d * sizeof(float);
    apgd_buf b;
    jt_status st = buf_alloc(j, &b);
    int *done = atk_alloc(j, (size_t)n * sizeof *done, "flags");
    float *keep = atk_alloc(j, (size_t)n * sizeof *keep, "kept losses");
    float *keep0 = atk_alloc(j, (size_t)n * sizeof *keep0, "kept start losses");
    int64_t *tg = targeted ? atk_alloc(j, (size_t)n * (size_t)nt * sizeof *tg, "targets") : NULL;
    if (st == JT_OK && (!done || !keep || !keep0 || (targeted && !tg))) st = JT_ERR_OOM;
    if (st == JT_OK && targeted) st = apgd_targets(j, nt, tg);
    if (st != JT_OK) goto out;
    memcpy(j->x_adv, j->x, (size_t)n * row);
    j->has_loss_trace = 1;
    for (int tau = 0; tau < nt && st == JT_OK; tau++) {
        for (int r = 0; r < R && st == JT_OK; r++) {
            int run = tau * R + r, m = 0;
            for (int i = 0; i < n; i++)
                if (!done[i]) {
                    b.act[m] = i;
                    b.cy[m] = j->y[i];
                    b.cidx[m] = j->index[i];
                    b.ct[m] = targeted ? tg[(size_t)i * nt + tau] : -1;
                    m++;
                }
            if (m == 0) break;
            st = apgd_run(j, &b, m, (uint32_t)run, kind, run == 0);
            if (st != JT_OK) break;
            for (int k = 0; k < m; k++) {
                int i = b.act[k];
                if (!b.ok[k]) { /* fooled: x_adv already holds the last misclassified iterate */
                    done[i] = 1;
                    keep[i] = b.lbest[k];
                    keep0[i] = b.lstart[k];
                    if (j->iters) j->iters[i] = (int32_t)(run * (N + 1) + b.first[k]);
                } else if (targeted || run == 0 || b.lbest[k] > keep[i]) {
                    memcpy(j->x_adv + (size_t)i * d, b.xb + (size_t)k * d, row);
                    keep[i] = b.lbest[k];
                    keep0[i] = b.lstart[k];
                }
            }
        }
    }
    for (int i = 0; st == JT_OK && i < n; i++) {
        j->loss_first_sum += keep0[i];
        j->loss_last_sum += keep[i];
    }
out:
    buf_free(&b);
    free(done);
    free(keep);
    free(keep0);
    free(tg);
    return st;
}
