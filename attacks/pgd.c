/* PGD (docs/attacks.md section 2): L-inf and L2 PGD with random start, restarts and track_best; the
 * feature-space PGD of the paper's Eq. 5; and the random-corner noise baseline of sanity check S7.
 *
 * Per example, per restart r (RNG sub = r):
 *   v <- x, or the random start;  repeat T times: g <- grad_v loss(F(v)); v <- Proj(v + step(g))
 *   result = the first misclassified iterate (track_best) or the last iterate.
 * Restarts run only on examples that earlier restarts did not break; the first success is kept. */
#include <stdio.h>

#include "attack_internal.h"

static double feat_dist(const float *a, const float *b, int64_t m, jt_feat_dist dist) {
    if (dist == JT_FEAT_L2) {
        double s = 0;
        for (int64_t i = 0; i < m; i++) {
            double e = (double)a[i] - (double)b[i];
            s += e * e;
        }
        return s / (double)m;
    }
    double ab = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < m; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return 1.0 - ab / sqrt(aa * bb + 1e-16);
}

static void random_start(const jt_attack_config *cfg, const float *x, int64_t index, uint32_t r, float *v, float *tmp,
                         int64_t d) {
    float eps = (float)cfg->eps;
    if (cfg->kind == JT_ATK_PGD_L2) {
        atk_normal_fill(cfg, index, r, 0, tmp, d);
        double nrm = atk_norm_l2(tmp, d);
        float u = atk_uniform(cfg, index, r, 1, 0);
        double f = nrm > 0 ? cfg->eps * (double)u / nrm : 0.0;
        for (int64_t i = 0; i < d; i++) v[i] = atk_clampf((float)((double)x[i] + f * (double)tmp[i]), 0.0f, 1.0f);
        return;
    }
    atk_uniform_fill(cfg, index, r, 0, tmp, d);
    for (int64_t i = 0; i < d; i++) v[i] = atk_clampf(x[i] + eps * (2.0f * tmp[i] - 1.0f), 0.0f, 1.0f);
}

jt_status jt_atk_pgd(atk_job *j) {
    const jt_attack_config *cfg = j->cfg;
    jt_oracle *o = j->o;
    int n = j->n, feat = cfg->kind == JT_ATK_PGD_FEAT;
    int64_t d = j->d, K = j->K, F = feat ? o->feat_dim : 0;
    if (feat && F <= 0)
        return jt_fail(o->ctx, JT_ERR_ARG, "attack '%s' needs a feature tap (--tap NAME)", cfg->name);
    if (feat && !cfg->random_start)
        return jt_fail(o->ctx, JT_ERR_ARG,
                       "attack '%s': the feature-space PGD needs a random start (its gradient at x is zero)", cfg->name);
    size_t nd = (size_t)n * (size_t)d;
    jt_status st = JT_OK;
    float *v = atk_alloc(j, nd * sizeof *v, "iterates"), *g = atk_alloc(j, nd * sizeof *g, "gradients");
    float *cx = atk_alloc(j, nd * sizeof *cx, "clean images"), *best = atk_alloc(j, nd * sizeof *best, "best iterates");
    float *loss = atk_alloc(j, (size_t)n * sizeof *loss, "losses"), *z = atk_alloc(j, (size_t)n * K * sizeof *z, "logits");
    float *ref = feat ? atk_alloc(j, (size_t)n * F * sizeof *ref, "reference features") : NULL;
    float *fv = feat ? atk_alloc(j, (size_t)n * F * sizeof *fv, "features") : NULL;
    float *tmp = atk_alloc(j, (size_t)d * sizeof *tmp, "random start");
    int64_t *cy = atk_alloc(j, (size_t)n * sizeof *cy, "labels"), *cidx = atk_alloc(j, (size_t)n * sizeof *cidx, "indices");
    int *act = atk_alloc(j, (size_t)n * sizeof *act, "active list"), *done = atk_alloc(j, (size_t)n * sizeof *done, "flags");
    int *found = atk_alloc(j, (size_t)n * sizeof *found, "flags");
    int32_t *it = atk_alloc(j, (size_t)n * sizeof *it, "iterations");
    if (!v || !g || !cx || !best || !loss || !z || (feat && (!ref || !fv)) || !tmp || !cy || !cidx || !act || !done ||
        !found || !it) {
        st = JT_ERR_OOM;
        goto out;
    }
    memcpy(j->x_adv, j->x, nd * sizeof *v);
    for (int r = 0; r < cfg->restarts && st == JT_OK; r++) {
        /* compact the examples not broken yet */
        int m = 0;
        for (int i = 0; i < n; i++)
            if (!done[i]) act[m++] = i;
        if (m == 0) break;
        for (int k = 0; k < m; k++) {
            int i = act[k];
            memcpy(cx + (size_t)k * d, j->x + (size_t)i * d, (size_t)d * sizeof *cx);
            cy[k] = j->y[i];
            cidx[k] = j->index[i];
            found[k] = 0;
            it[k] = -1;
            if (cfg->random_start) random_start(cfg, cx + (size_t)k * d, cidx[k], (uint32_t)r, v + (size_t)k * d, tmp, d);
            else memcpy(v + (size_t)k * d, cx + (size_t)k * d, (size_t)d * sizeof *v);
        }
        if (feat) {
            st = jt_oracle_features(o, cx, m, ref);
            if (st != JT_OK) break;
        }
        for (int t = 0; t < cfg->steps && st == JT_OK; t++) {
            if (feat) {
                st = jt_oracle_feat_grad(o, v, ref, m, cfg->feat_dist, loss, g);
                if (st == JT_OK && !atk_all_finite(g, (int64_t)m * d)) j->nonfinite_grad = 1;
            } else {
                st = atk_grad(j, v, cy, NULL, m, cfg->loss, loss, g, z);
            }
            if (st != JT_OK) break;
            if (r == 0 && t == 0) {
                j->has_loss_trace = 1;
                for (int k = 0; k < m; k++) {
                    j->loss_first_sum += loss[k];
                    int nz = 0;
                    for (int64_t e = 0; e < d && !nz; e++) nz = g[(size_t)k * d + e] != 0.0f;
                    j->zero_grad_count += !nz;
                }
            }
            for (int k = 0; k < m; k++) {
                float *vk = v + (size_t)k * d, *gk = g + (size_t)k * d;
                if (!feat && it[k] < 0 && atk_argmax(z + (size_t)k * K, K) != cy[k]) {
                    it[k] = t;
                    if (cfg->track_best && t > 0) {
                        found[k] = 1;
                        memcpy(best + (size_t)k * d, vk, (size_t)d * sizeof *vk);
                    }
                }
                if (cfg->kind == JT_ATK_PGD_L2) {
                    double gn = atk_norm_l2(gk, d);
                    float f = (float)(cfg->alpha / (gn + 1e-12));
                    for (int64_t e = 0; e < d; e++) vk[e] += f * gk[e];
                    atk_project_l2(vk, cx + (size_t)k * d, (float)cfg->eps, d);
                } else {
                    float a = (float)cfg->alpha;
                    for (int64_t e = 0; e < d; e++) vk[e] += a * atk_sign(gk[e]);
                    atk_project_linf(vk, cx + (size_t)k * d, (float)cfg->eps, d);
                }
            }
        }
        if (st != JT_OK) break;
        /* final forward: the loss at the last iterate and the success of this restart */
        if (feat) {
            st = jt_oracle_features(o, v, m, fv);
            if (st != JT_OK) break;
        } else {
            st = jt_oracle_logits(o, v, m, z);
            if (st != JT_OK) break;
        }
        for (int k = 0; k < m; k++) {
            int i = act[k];
            const float *res = found[k] ? best + (size_t)k * d : v + (size_t)k * d;
            double l = feat ? feat_dist(fv + (size_t)k * F, ref + (size_t)k * F, F, cfg->feat_dist)
                            : jt_attack_loss_eval(cfg->loss, z + (size_t)k * K, K, cy[k], -1, NULL);
            if (r == 0) j->loss_last_sum += l;
            int wrong = !feat && atk_argmax(z + (size_t)k * K, K) != cy[k];
            if (!feat && it[k] < 0 && wrong) it[k] = cfg->steps;
            memcpy(j->x_adv + (size_t)i * d, res, (size_t)d * sizeof *res);
            if (found[k] || wrong) {
                done[i] = 1;
                j->iters[i] = it[k];
            }
        }
    }
out:
    free(v);
    free(g);
    free(cx);
    free(best);
    free(loss);
    free(z);
    free(ref);
    free(fv);
    free(tmp);
    free(cy);
    free(cidx);
    free(act);
    free(done);
    free(found);
    free(it);
    return st;
}

/* Noise baseline (sanity S7): draws k = 0..noise_draws-1 of corners clip(x + eps*s), s in {-1,+1}^d;
 * the first draw that is misclassified is kept (iters = k), else the last draw. */
jt_status jt_atk_noise(atk_job *j) {
    const jt_attack_config *cfg = j->cfg;
    int n = j->n;
    int64_t d = j->d;
    size_t nd = (size_t)n * (size_t)d;
    float eps = (float)cfg->eps;
    float *v = atk_alloc(j, nd * sizeof *v, "noise draws"), *u = atk_alloc(j, (size_t)d * sizeof *u, "uniforms");
    int64_t *pred = atk_alloc(j, (size_t)n * sizeof *pred, "predictions");
    int *act = atk_alloc(j, (size_t)n * sizeof *act, "active list");
    jt_status st = JT_OK;
    if (!v || !u || !pred || !act) {
        st = JT_ERR_OOM;
        goto out;
    }
    memcpy(j->x_adv, j->x, nd * sizeof *v);
    int m = n;
    for (int i = 0; i < n; i++) act[i] = i;
    for (int k = 0; k < cfg->noise_draws && m > 0 && st == JT_OK; k++) {
        for (int a = 0; a < m; a++) {
            int i = act[a];
            atk_uniform_fill(cfg, j->index[i], 0, (uint32_t)k, u, d);
            for (int64_t e = 0; e < d; e++)
                v[(size_t)a * d + e] = atk_clampf(j->x[(size_t)i * d + e] + (u[e] < 0.5f ? -eps : eps), 0.0f, 1.0f);
        }
        st = jt_oracle_predict(j->o, v, m, pred, NULL);
        int w = 0;
        for (int a = 0; a < m && st == JT_OK; a++) {
            int i = act[a];
            int last = k == cfg->noise_draws - 1;
            if (pred[a] != j->y[i] || last)
                memcpy(j->x_adv + (size_t)i * d, v + (size_t)a * d, (size_t)d * sizeof *v);
            if (pred[a] != j->y[i]) j->iters[i] = k;
            else act[w++] = i;
        }
        m = w;
    }
out:
    free(v);
    free(u);
    free(pred);
    free(act);
    return st;
}
