/* FWA: the Wasserstein attack of Wu, Wang & Yu (ICML 2020), docs/attacks.md section 7.
 *
 * Per example, per channel, a transport plan pi[c][i][o] moves mass x[c][i] from pixel i to the pixels
 * i + o of a k x k window (cost C_o = |o|, the Euclidean length of the displacement). The attacked image
 * is x'(pi)[c][j] = sum_{i + o = j} pi[c][i][o]; the budget is <C, pi> <= eps_abs = eps_W * sum(x).
 *   method pgd (default): pi <- project(pi + lr G), G the normalised gradient on the plan, with the
 *                         exact Euclidean projection by bisection on the dual of the budget (7.3);
 *   method fw:            pi <- pi + 2/(t+2) (pi* - pi), pi* the entropic linear oracle (7.4).
 * Plans are float (k^2 d per example); the chunk is processed in sub-batches so that the plans stay
 * below FWA_PLAN_BYTES. Every result passes the plan checks of 7.5 or the attack fails. */
#include <stdio.h>

#include "attack_internal.h"
#include "op.h" /* jt_pool_run */

#define FWA_PLAN_BYTES (256ll << 20)

/* ---- simplex projection ---- */

/* The threshold theta of the projection onto {u >= 0, sum u = s}: the unique theta with
 * sum_i max(v_i - theta, 0) = s. Michelot's iteration theta <- (sum_{v > theta} v - s) / #{v > theta}
 * (this loop is the inner loop of the whole attack, so no sort): from any start theta_0 <= theta* it
 * increases monotonically to theta*, the set {v > theta} only shrinks, and it stops when that set no
 * longer changes. The start theta_0 = max v - s (theta* >= max v - s since u_max <= s) keeps the set
 * small from the first pass; usually 2 or 3 passes. Same theta as the sort-based formula of 7.3. */
double jt_simplex_theta(const double *v, int n, double s) {
    if (!(s > 0) || n <= 0) return INFINITY;
    double vmax = v[0];
    for (int i = 1; i < n; i++) vmax = v[i] > vmax ? v[i] : vmax;
    double theta = vmax - s;
    int prev = -1;
    for (int pass = 0; pass <= n; pass++) {
        double sum = 0;
        int cnt = 0;
        for (int i = 0; i < n; i++) {
            int in = v[i] > theta;
            sum += in ? v[i] : 0.0;
            cnt += in;
        }
        /* cnt >= 1: theta stays below max v (at most max v - s / cnt) */
        if (cnt == prev || cnt == 0) break;
        prev = cnt;
        theta = (sum - s) / cnt;
    }
    return theta;
}

void jt_simplex_project(const double *v, int n, double s, double *u) {
    double theta = jt_simplex_theta(v, n, s);
    for (int i = 0; i < n; i++) {
        double e = v[i] - theta;
        u[i] = e > 0 ? e : 0.0;
    }
}

/* ---- plan geometry ---- */

/* valid window rows [*a0, *a1) and columns [*b0, *b1) of source pixel (r, q) */
static void window(const jt_fwa_shape *sh, int64_t r, int64_t q, int *a0, int *a1, int *b0, int *b1) {
    int64_t half = sh->k / 2, k = sh->k;
    int64_t lo = half - r, hi = sh->h - r + half;
    *a0 = (int)(lo > 0 ? lo : 0);
    *a1 = (int)(hi < k ? hi : k);
    lo = half - q;
    hi = sh->w - q + half;
    *b0 = (int)(lo > 0 ? lo : 0);
    *b1 = (int)(hi < k ? hi : k);
}

static void cost_table(int k, double *cost) {
    int half = k / 2;
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) cost[a * k + b] = sqrt((double)((a - half) * (a - half) + (b - half) * (b - half)));
}

static size_t plan_size(const jt_fwa_shape *sh) {
    return (size_t)(sh->c * sh->h * sh->w) * (size_t)sh->k * (size_t)sh->k;
}

void jt_fwa_identity_plan(const float *x, const jt_fwa_shape *sh, float *pi) {
    size_t kk = (size_t)sh->k * (size_t)sh->k, d = (size_t)(sh->c * sh->h * sh->w);
    size_t centre = (size_t)(sh->k / 2) * (size_t)sh->k + (size_t)(sh->k / 2);
    memset(pi, 0, plan_size(sh) * sizeof *pi);
    for (size_t i = 0; i < d; i++) pi[i * kk + centre] = x[i];
}

void jt_fwa_plan_to_image(const float *pi, const jt_fwa_shape *sh, float *img) {
    int k = sh->k, half = k / 2;
    int64_t H = sh->h, W = sh->w;
    size_t kk = (size_t)k * (size_t)k;
    /* gather per target pixel j: sources i = j - o (fixed order, so results are reproducible) */
    for (int64_t c = 0; c < sh->c; c++)
        for (int64_t r = 0; r < H; r++)
            for (int64_t q = 0; q < W; q++) {
                double s = 0;
                for (int a = 0; a < k; a++) {
                    int64_t sr = r - (a - half);
                    if (sr < 0 || sr >= H) continue;
                    for (int b = 0; b < k; b++) {
                        int64_t sc = q - (b - half);
                        if (sc < 0 || sc >= W) continue;
                        s += (double)pi[(size_t)((c * H + sr) * W + sc) * kk + (size_t)(a * k + b)];
                    }
                }
                img[(c * H + r) * W + q] = (float)s;
            }
}

void jt_fwa_image_to_plan(const float *g, const jt_fwa_shape *sh, double scale, float *pi) {
    int k = sh->k, half = k / 2;
    int64_t H = sh->h, W = sh->w;
    size_t kk = (size_t)k * (size_t)k;
    for (int64_t c = 0; c < sh->c; c++)
        for (int64_t r = 0; r < H; r++)
            for (int64_t q = 0; q < W; q++) {
                int a0, a1, b0, b1;
                window(sh, r, q, &a0, &a1, &b0, &b1);
                float *row = pi + (size_t)((c * H + r) * W + q) * kk;
                const float *gc = g + c * H * W;
                for (int a = a0; a < a1; a++)
                    for (int b = b0; b < b1; b++) {
                        float t = gc[(r + a - half) * W + (q + b - half)];
                        row[a * k + b] = (float)((double)row[a * k + b] + scale * (double)t);
                    }
            }
}

double jt_fwa_plan_cost(const float *pi, const jt_fwa_shape *sh) {
    int k = sh->k;
    size_t kk = (size_t)k * (size_t)k, rows = (size_t)(sh->c * sh->h * sh->w);
    double total = 0;
    int half = k / 2;
    for (size_t i = 0; i < rows; i++)
        for (int a = 0; a < k; a++)
            for (int b = 0; b < k; b++) {
                float p = pi[i * kk + (size_t)(a * k + b)];
                if (p != 0.0f) total += sqrt((double)((a - half) * (a - half) + (b - half) * (b - half))) * (double)p;
            }
    return total;
}

double jt_fwa_rows(const float *pihat, const float *x, const jt_fwa_shape *sh, double lambda, float *out,
                   double *work) {
    int k = sh->k;
    int64_t H = sh->h, W = sh->w;
    size_t kk = (size_t)k * (size_t)k;
    double *cost = work, *v = work + kk;
    cost_table(k, cost);
    double total = 0;
    for (int64_t c = 0; c < sh->c; c++)
        for (int64_t r = 0; r < H; r++)
            for (int64_t q = 0; q < W; q++) {
                int64_t p = (c * H + r) * W + q;
                const float *ph = pihat + (size_t)p * kk;
                int a0, a1, b0, b1, n = 0;
                window(sh, r, q, &a0, &a1, &b0, &b1);
                for (int a = a0; a < a1; a++)
                    for (int b = b0; b < b1; b++) v[n++] = (double)ph[a * k + b] - lambda * cost[a * k + b];
                double theta = jt_simplex_theta(v, n, (double)x[p]);
                /* v is complete before out (which may alias pihat) is written */
                if (out) memset(out + (size_t)p * kk, 0, kk * sizeof *out);
                n = 0;
                double rc = 0;
                for (int a = a0; a < a1; a++)
                    for (int b = b0; b < b1; b++) {
                        double u = v[n++] - theta;
                        u = u > 0 ? u : 0.0;
                        rc += cost[a * k + b] * u;
                        if (out) out[(size_t)p * kk + (size_t)(a * k + b)] = (float)u;
                    }
                total += rc;
            }
    return total;
}

double jt_fwa_project(float *pi, const float *x, const jt_fwa_shape *sh, double eps_abs, int dual_iter, double tol,
                      double *work) {
    size_t d = (size_t)(sh->c * sh->h * sh->w), P = plan_size(sh);
    if (!(eps_abs > 0)) {
        /* the feasible set is the single identity plan (every other entry has a positive cost) */
        jt_fwa_identity_plan(x, sh, pi);
        return INFINITY;
    }
    if (jt_fwa_rows(pi, x, sh, 0.0, NULL, work) - eps_abs <= 0) {
        jt_fwa_rows(pi, x, sh, 0.0, pi, work);
        return 0.0;
    }
    double maxabs = 0, maxx = 0;
    for (size_t i = 0; i < P; i++) maxabs = fabs((double)pi[i]) > maxabs ? fabs((double)pi[i]) : maxabs;
    for (size_t i = 0; i < d; i++) maxx = (double)x[i] > maxx ? (double)x[i] : maxx;
    /* at hi every off-centre entry lies below the threshold, so phi(hi) <= 0 */
    double lo = 0, hi = 2 * maxabs + maxx;
    for (int it = 0; it < dual_iter; it++) {
        double mid = 0.5 * (lo + hi);
        double phi = jt_fwa_rows(pi, x, sh, mid, NULL, work) - eps_abs;
        if (phi > 0) lo = mid;
        else hi = mid;
        if (fabs(phi) < tol || hi - lo < tol) break;
    }
    jt_fwa_rows(pi, x, sh, hi, pi, work);
    return hi;
}

int jt_fwa_plan_check(const float *pi, const float *x, const jt_fwa_shape *sh, double eps_abs, char *why, size_t cap) {
    size_t kk = (size_t)sh->k * (size_t)sh->k, rows = (size_t)(sh->c * sh->h * sh->w);
    for (size_t i = 0; i < rows; i++) {
        double mass = 0;
        for (size_t o = 0; o < kk; o++) {
            float p = pi[i * kk + o];
            if (!(p >= -1e-6f)) {
                snprintf(why, cap, "plan entry (pixel %zu, offset %zu) = %.9g is negative or not finite", i, o,
                         (double)p);
                return 0;
            }
            mass += (double)p;
        }
        if (fabs(mass - (double)x[i]) > 1e-5 * fabs((double)x[i])) {
            snprintf(why, cap, "mass of pixel %zu is %.9g, want %.9g", i, mass, (double)x[i]);
            return 0;
        }
    }
    double cost = jt_fwa_plan_cost(pi, sh);
    if (!(cost <= eps_abs * (1 + 1e-4))) {
        snprintf(why, cap, "transport cost %.9g exceeds the budget %.9g", cost, eps_abs);
        return 0;
    }
    return 1;
}

/* ---- Frank-Wolfe linear oracle (7.4) ---- */

/* pi*_lambda[c][i][:] = x[c][i] softmax_o((G_o - lambda C_o) / gamma) over the valid o, with
 * G_o = gs * g[c][i + o]; lambda = +inf puts all mass on the centre. Returns <C, pi*_lambda>; when
 * pi != NULL applies pi <- pi + step (pi* - pi). work: 2*k*k doubles. */
static double fw_rows(const float *g, double gs, const float *x, const jt_fwa_shape *sh, double lambda, double gamma,
                      float *pi, double step, double *work) {
    int k = sh->k, half = k / 2;
    int64_t H = sh->h, W = sh->w;
    size_t kk = (size_t)k * (size_t)k;
    double *cost = work, *zz = work + kk;
    cost_table(k, cost);
    double total = 0;
    for (int64_t c = 0; c < sh->c; c++)
        for (int64_t r = 0; r < H; r++)
            for (int64_t q = 0; q < W; q++) {
                int64_t p = (c * H + r) * W + q;
                int a0, a1, b0, b1;
                window(sh, r, q, &a0, &a1, &b0, &b1);
                const float *gc = g + c * H * W;
                double zmax = -INFINITY;
                for (int a = a0; a < a1; a++)
                    for (int b = b0; b < b1; b++) {
                        int o = a * k + b;
                        double pen = cost[o] > 0 ? lambda * cost[o] : 0.0; /* avoids inf * 0 */
                        double z = (gs * (double)gc[(r + a - half) * W + (q + b - half)] - pen) / gamma;
                        zz[o] = z;
                        zmax = z > zmax ? z : zmax;
                    }
                double sum = 0, csum = 0;
                for (int a = a0; a < a1; a++)
                    for (int b = b0; b < b1; b++) {
                        int o = a * k + b;
                        double e = zz[o] - zmax; /* below -700 exp() underflows to 0 on a slow path */
                        zz[o] = e > -700.0 ? exp(e) : 0.0;
                        sum += zz[o];
                        csum += cost[o] * zz[o];
                    }
                double xs = (double)x[p];
                total += xs * csum / sum;
                if (!pi) continue;
                float *row = pi + (size_t)p * kk;
                for (int a = a0; a < a1; a++)
                    for (int b = b0; b < b1; b++) {
                        int o = a * k + b;
                        double target = xs * zz[o] / sum;
                        row[o] = (float)((double)row[o] + step * (target - (double)row[o]));
                    }
            }
    return total;
}

/* One Frank-Wolfe step t: lambda by bisection so that the oracle's plan is within the budget. */
static void fw_step(float *pi, const float *g, double gs, double gmax, const float *x, const jt_fwa_shape *sh,
                    double eps_abs, const jt_attack_config *cfg, int t, double *work) {
    double gamma = cfg->fw_gamma, step = 2.0 / (t + 2.0), lam;
    if (!(eps_abs > 0)) {
        lam = INFINITY;
    } else if (fw_rows(g, gs, x, sh, 0.0, gamma, NULL, 0, work) <= eps_abs) {
        lam = 0.0;
    } else {
        /* at hi every off-centre weight is <= eps_abs / S relative to the centre, so the cost is <= eps_abs */
        int k = sh->k;
        double *cost = work;
        cost_table(k, cost);
        double S = 0;
        for (int64_t c = 0; c < sh->c; c++)
            for (int64_t r = 0; r < sh->h; r++)
                for (int64_t q = 0; q < sh->w; q++) {
                    int a0, a1, b0, b1;
                    window(sh, r, q, &a0, &a1, &b0, &b1);
                    double cs = 0;
                    for (int a = a0; a < a1; a++)
                        for (int b = b0; b < b1; b++) cs += cost[a * k + b];
                    S += (double)x[(c * sh->h + r) * sh->w + q] * cs;
                }
        double lo = 0, hi = 2 * gmax + gamma * log(S / eps_abs);
        hi = hi > 0 ? hi : 0.0;
        for (int it = 0; it < cfg->dual_iter; it++) {
            double mid = 0.5 * (lo + hi);
            double phi = fw_rows(g, gs, x, sh, mid, gamma, NULL, 0, work) - eps_abs;
            if (phi > 0) lo = mid;
            else hi = mid;
            if (fabs(phi) < cfg->dual_tol || hi - lo < cfg->dual_tol) break;
        }
        lam = hi;
    }
    fw_rows(g, gs, x, sh, lam, gamma, pi, step, work);
}

/* ---- the attack ---- */

typedef struct fwa_buf {
    float *pi, *xp, *xc, *g, *loss, *z;
    double *eps_abs, *work;
} fwa_buf;

static void fwa_buf_free(fwa_buf *b) {
    free(b->pi);
    free(b->xp);
    free(b->xc);
    free(b->g);
    free(b->loss);
    free(b->z);
    free(b->eps_abs);
    free(b->work);
}

/* x'(pi) and its clip for the m examples of a sub-batch */
static void images(const fwa_buf *b, const jt_fwa_shape *sh, int m, int64_t d, size_t P) {
    for (int e = 0; e < m; e++) {
        jt_fwa_plan_to_image(b->pi + (size_t)e * P, sh, b->xp + (size_t)e * d);
        for (int64_t i = 0; i < d; i++) b->xc[(size_t)e * d + i] = atk_clampf(b->xp[(size_t)e * d + i], 0.0f, 1.0f);
    }
}

/* One step on the plan of one example (a pool task: examples are independent, each has its own
 * scratch, so results do not depend on the thread count). */
typedef struct fwa_step_arg {
    const jt_attack_config *cfg;
    const jt_fwa_shape *sh;
    fwa_buf *b;
    const float *x; /* the sub-batch's clean images */
    int64_t d;
    size_t P;
    int t;
} fwa_step_arg;

static void fwa_step_task(void *arg, int64_t e) {
    const fwa_step_arg *a = arg;
    const jt_attack_config *cfg = a->cfg;
    fwa_buf *b = a->b;
    int64_t d = a->d;
    float *ge = b->g + (size_t)e * d;
    const float *xpe = b->xp + (size_t)e * d, *xe = a->x + (size_t)e * d;
    double *work = b->work + (size_t)e * 2 * (size_t)a->sh->k * (size_t)a->sh->k;
    /* clip passes no gradient where x' is outside [0,1]; max|G| = max|g| (each pixel is its own target) */
    double gmax = 0;
    for (int64_t i = 0; i < d; i++) {
        if (xpe[i] < 0.0f || xpe[i] > 1.0f) ge[i] = 0.0f;
        double v = fabs((double)ge[i]);
        gmax = v > gmax ? v : gmax;
    }
    double gs = 1.0 / (gmax + 1e-35);
    float *pe = b->pi + (size_t)e * a->P;
    if (cfg->fwa_fw) {
        fw_step(pe, ge, gs, gmax * gs, xe, a->sh, b->eps_abs[e], cfg, a->t, work);
    } else {
        jt_fwa_image_to_plan(ge, a->sh, cfg->alpha * gs, pe);
        jt_fwa_project(pe, xe, a->sh, b->eps_abs[e], cfg->dual_iter, cfg->dual_tol, work);
    }
}

/* One sub-batch of m examples starting at s0 of the job. */
static jt_status fwa_batch(atk_job *j, fwa_buf *b, const jt_fwa_shape *sh, int s0, int m) {
    const jt_attack_config *cfg = j->cfg;
    int64_t d = j->d, K = j->K;
    size_t P = plan_size(sh);
    const float *x = j->x + (size_t)s0 * d;
    const int64_t *y = j->y + s0;
    for (int e = 0; e < m; e++) {
        const float *xe = x + (size_t)e * d;
        double sx = 0;
        for (int64_t i = 0; i < d; i++) sx += (double)xe[i];
        b->eps_abs[e] = cfg->eps * sx;
        jt_fwa_identity_plan(xe, sh, b->pi + (size_t)e * P);
    }
    fwa_step_arg arg = {.cfg = cfg, .sh = sh, .b = b, .x = x, .d = d, .P = P};
    for (int t = 0; t < cfg->steps; t++) {
        images(b, sh, m, d, P);
        JT_TRY(atk_grad(j, b->xc, y, NULL, m, JT_LOSS_CE, b->loss, b->g, b->z));
        for (int e = 0; e < m; e++) {
            if (t == 0) {
                int nz = 0;
                for (int64_t i = 0; i < d && !nz; i++) nz = b->g[(size_t)e * d + i] != 0.0f;
                j->zero_grad_count += !nz;
                j->loss_first_sum += b->loss[e];
            }
            if (j->iters && j->iters[s0 + e] < 0 && atk_argmax(b->z + (size_t)e * K, K) != y[e]) j->iters[s0 + e] = t;
        }
        arg.t = t;
        jt_pool_run(jt_ctx_pool(j->o->ctx), fwa_step_task, &arg, m);
    }
    images(b, sh, m, d, P);
    double clipped = 0, linf = 0, l1 = 0;
    for (int e = 0; e < m; e++) {
        char why[200];
        if (!jt_fwa_plan_check(b->pi + (size_t)e * P, x + (size_t)e * d, sh, b->eps_abs[e], why, sizeof why))
            return jt_fail(j->o->ctx, JT_ERR_NUMERIC,
                           "attack '%s': the transport plan of example %lld fails the checks: %s", cfg->name,
                           (long long)j->index[s0 + e], why);
        for (int64_t i = 0; i < d; i++) {
            size_t q = (size_t)e * d + (size_t)i;
            clipped += b->xp[q] > 1.0f ? (double)b->xp[q] - 1.0 : 0.0;
            double dd = fabs((double)b->xc[q] - (double)x[q]);
            linf = dd > linf ? dd : linf;
            l1 += dd;
        }
    }
    memcpy(j->x_adv + (size_t)s0 * d, b->xc, (size_t)m * (size_t)d * sizeof *b->xc);
    jt_log(j->o->ctx, JT_LOG_DEBUG,
           "attack '%s': %d examples: mass clipped above 1 %.6g (mean), max L-inf %.6g, mean L1 %.6g", cfg->name, m,
           clipped / m, linf, l1 / m);
    /* the loss at the last iterate and a success seen only there */
    JT_TRY(jt_oracle_logits(j->o, b->xc, m, b->z));
    for (int e = 0; e < m; e++) {
        const float *ze = b->z + (size_t)e * K;
        j->loss_last_sum += jt_attack_loss_eval(JT_LOSS_CE, ze, K, y[e], -1, NULL);
        if (j->iters && j->iters[s0 + e] < 0 && atk_argmax(ze, K) != y[e]) j->iters[s0 + e] = cfg->steps;
    }
    return JT_OK;
}

jt_status jt_atk_fwa(atk_job *j) {
    const jt_attack_config *cfg = j->cfg;
    jt_oracle *o = j->o;
    jt_fwa_shape sh = {.c = o->c, .h = o->h, .w = o->w, .k = cfg->fwa_kernel};
    if (sh.c * sh.h * sh.w != j->d)
        return jt_fail(o->ctx, JT_ERR_ARG, "attack '%s': oracle shape %lldx%lldx%lld does not match d = %lld",
                       cfg->name, (long long)sh.c, (long long)sh.h, (long long)sh.w, (long long)j->d);
    if (cfg->fwa_fw && !(cfg->fw_gamma > 0))
        return jt_fail(o->ctx, JT_ERR_ARG, "attack '%s': the Frank-Wolfe entropy gamma must be > 0 (got %g)", cfg->name,
                       cfg->fw_gamma);
    int64_t d = j->d, K = j->K;
    size_t P = plan_size(&sh), kk = (size_t)sh.k * (size_t)sh.k;
    /* sub-batch: plans of at most FWA_PLAN_BYTES (at least one example) */
    int64_t nb = FWA_PLAN_BYTES / (int64_t)(P * sizeof(float) > 0 ? P * sizeof(float) : 1);
    if (nb > j->n) nb = j->n;
    if (nb < 1) nb = 1;
    size_t nbd = (size_t)nb * (size_t)d;
    fwa_buf b = {0};
    b.pi = atk_alloc(j, (size_t)nb * P * sizeof *b.pi, "transport plans");
    b.xp = atk_alloc(j, nbd * sizeof *b.xp, "transported images");
    b.xc = atk_alloc(j, nbd * sizeof *b.xc, "clipped images");
    b.g = atk_alloc(j, nbd * sizeof *b.g, "gradients");
    b.loss = atk_alloc(j, (size_t)nb * sizeof *b.loss, "losses");
    b.z = atk_alloc(j, (size_t)nb * (size_t)K * sizeof *b.z, "logits");
    b.eps_abs = atk_alloc(j, (size_t)nb * sizeof *b.eps_abs, "budgets");
    b.work = atk_alloc(j, (size_t)nb * 2 * kk * sizeof *b.work, "projection scratch");
    jt_status st = JT_OK;
    if (!b.pi || !b.xp || !b.xc || !b.g || !b.loss || !b.z || !b.eps_abs || !b.work) st = JT_ERR_OOM;
    j->has_loss_trace = 1;
    for (int s0 = 0; st == JT_OK && s0 < j->n; s0 += (int)nb) {
        int m = j->n - s0 < nb ? j->n - s0 : (int)nb;
        st = fwa_batch(j, &b, &sh, s0, m);
    }
    fwa_buf_free(&b);
    return st;
}
