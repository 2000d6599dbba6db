/* Square attack, L-inf, score-based (docs/attacks.md section 5; AutoAttack's settings).
 *
 * Minimises the margin m = z_y - max_{j != y} z_j with forward passes only; an example stops as soon
 * as m <= 0. Start: vertical stripes x_b = clip(x + eps s), s = +-1 per (channel, column). Iteration i
 * (raw index, no rescaled schedule) proposes x_n = x_b with one square window of side
 * jt_square_side(i) set to clip(x + eps sigma_k) in every channel k, and keeps it when the margin
 * drops (m_n < m_b), so the margin of x_b never increases.
 *
 * RNG (restart r): stripes from (index, sub = 2r, iter = 0, element = channel * W + column); the
 * window of iteration i from (index, sub = 2r + 1, iter = i, element 0: row, 1: column, 2 + k: sign
 * of channel k). With cfg->shared_window the window and signs are drawn once per iteration for the
 * whole active chunk (AutoAttack's behaviour; results then depend on the chunk composition), keyed by
 * index -1 and sub | 0x80000000.
 *
 * Queries: the start costs one, each iteration one (so at most queries + 1 per restart). iters =
 * queries spent until m <= 0, counted over all restarts ((queries + 1) per earlier restart), -1 when
 * never. Restarts run only on examples not broken yet. Loss diagnostics use the CW loss -m (ascending),
 * at the stripe start of the first restart and at the returned point; the zero-gradient count is 0
 * (there is no gradient). */
#include <stdio.h>

#include "attack_internal.h"

int jt_square_side(int iter, double p_init, int64_t h, int64_t w) {
    static const int bound[] = {10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000};
    int D = 1;
    for (size_t k = 0; k < sizeof bound / sizeof bound[0] && iter > bound[k]; k++) D *= 2;
    double side = round(sqrt(p_init / D * (double)h * (double)w));
    int64_t lim = h < w ? h : w;
    if (side < 1) side = 1;
    if (side > (double)lim) side = (double)lim;
    return (int)side;
}

/* z_y - max_{j != y} z_j */
static double square_margin(const float *z, int64_t K, int64_t y) {
    double other = -INFINITY;
    for (int64_t k = 0; k < K; k++)
        if (k != y && (double)z[k] > other) other = z[k];
    return (double)z[y] - other;
}

/* x_b = clip(x + eps s), s = +-1 per (channel, column) */
static void square_stripes(const jt_attack_config *cfg, int64_t index, uint32_t r, const float *x, float *xb,
                           int64_t C, int64_t H, int64_t W) {
    float eps = (float)cfg->eps;
    for (int64_t c = 0; c < C; c++)
        for (int64_t col = 0; col < W; col++) {
            float u = atk_uniform(cfg, index, 2 * r, 0, (uint32_t)(c * W + col));
            float s = u < 0.5f ? -eps : eps;
            for (int64_t row = 0; row < H; row++) {
                int64_t e = (c * H + row) * W + col;
                xb[e] = atk_clampf(x[e] + s, 0.0f, 1.0f);
            }
        }
}

/* One proposal: xn = xb with the window of iteration `it` (keyed by index/sub) set to clip(x + eps
 * sigma_k) in channel k. */
static void square_propose(const jt_attack_config *cfg, int64_t index, uint32_t sub, int it, const float *x,
                           const float *xb, float *xn, const jt_oracle *o) {
    int64_t C = o->c, H = o->h, W = o->w, d = C * H * W;
    int side = jt_square_side(it, cfg->p_init, H, W);
    float eps = (float)cfg->eps;
    /* floor(U * (H - side)): never the last position, as AutoAttack's random_int (0 when side = H) */
    int64_t r0 = (int64_t)(atk_uniform(cfg, index, sub, (uint32_t)it, 0) * (float)(H - side));
    int64_t c0 = (int64_t)(atk_uniform(cfg, index, sub, (uint32_t)it, 1) * (float)(W - side));
    memcpy(xn, xb, (size_t)d * sizeof *xn);
    for (int64_t c = 0; c < C; c++) {
        float s = atk_uniform(cfg, index, sub, (uint32_t)it, (uint32_t)(2 + c)) < 0.5f ? -eps : eps;
        for (int64_t row = r0; row < r0 + side; row++)
            for (int64_t col = c0; col < c0 + side; col++) {
                int64_t e = (c * H + row) * W + col;
                xn[e] = atk_clampf(x[e] + s, 0.0f, 1.0f);
            }
    }
}

typedef struct square_buf {
    float *xb, *xn, *z;
    double *mb;
    int *act, *done;
    int32_t *q;
} square_buf;

static void square_free(square_buf *b) {
    free(b->xb);
    free(b->xn);
    free(b->z);
    free(b->mb);
    free(b->act);
    free(b->done);
    free(b->q);
}

/* One restart on the examples not done: stripes, then up to cfg->queries proposals. */
static jt_status square_restart(atk_job *j, square_buf *b, int r) {
    const jt_attack_config *cfg = j->cfg;
    jt_oracle *o = j->o;
    int n = j->n;
    int64_t d = j->d, K = j->K;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!b->done[i]) b->act[m++] = i;
    if (m == 0) return JT_OK;
    for (int a = 0; a < m; a++) {
        int i = b->act[a];
        square_stripes(cfg, j->index[i], (uint32_t)r, j->x + (size_t)i * d, b->xn + (size_t)a * d, o->c, o->h, o->w);
    }
    JT_TRY(jt_oracle_logits(o, b->xn, m, b->z));
    for (int a = 0; a < m; a++) {
        int i = b->act[a];
        memcpy(b->xb + (size_t)i * d, b->xn + (size_t)a * d, (size_t)d * sizeof(float));
        b->mb[i] = square_margin(b->z + (size_t)a * K, K, j->y[i]);
        b->q[i] += 1;
        if (r == 0) j->loss_first_sum += -b->mb[i];
    }
    uint32_t sub = 2u * (uint32_t)r + 1u;
    for (int it = 0; it < cfg->queries; it++) {
        m = 0;
        for (int i = 0; i < n; i++)
            if (b->mb[i] > 0) b->act[m++] = i;
        if (m == 0) break;
        for (int a = 0; a < m; a++) {
            int i = b->act[a];
            int64_t key = cfg->shared_window ? -1 : j->index[i];
            uint32_t s = cfg->shared_window ? (sub | 0x80000000u) : sub;
            square_propose(cfg, key, s, it, j->x + (size_t)i * d, b->xb + (size_t)i * d, b->xn + (size_t)a * d, o);
        }
        JT_TRY(jt_oracle_logits(o, b->xn, m, b->z));
        for (int a = 0; a < m; a++) {
            int i = b->act[a];
            double mn = square_margin(b->z + (size_t)a * K, K, j->y[i]);
            b->q[i] += 1;
            if (mn < b->mb[i]) {
                b->mb[i] = mn;
                memcpy(b->xb + (size_t)i * d, b->xn + (size_t)a * d, (size_t)d * sizeof(float));
            }
        }
    }
    return JT_OK;
}

jt_status jt_atk_square(atk_job *j) {
    const jt_attack_config *cfg = j->cfg;
    int n = j->n;
    int64_t d = j->d, K = j->K;
    size_t nd = (size_t)n * (size_t)d;
    if (j->o->c * j->o->h * j->o->w != d)
        return jt_fail(j->o->ctx, JT_ERR_SHAPE, "attack '%s': the oracle's image shape does not match d", cfg->name);
    memcpy(j->x_adv, j->x, nd * sizeof(float));
    if (K < 2) return JT_OK; /* nothing to change into */
    square_buf b = {0};
    jt_status st = JT_OK;
    b.xb = atk_alloc(j, nd * sizeof *b.xb, "best points");
    b.xn = atk_alloc(j, nd * sizeof *b.xn, "proposals");
    b.z = atk_alloc(j, (size_t)n * (size_t)K * sizeof *b.z, "logits");
    b.mb = atk_alloc(j, (size_t)n * sizeof *b.mb, "margins");
    b.act = atk_alloc(j, (size_t)n * sizeof *b.act, "active list");
    b.done = atk_alloc(j, (size_t)n * sizeof *b.done, "flags");
    b.q = atk_alloc(j, (size_t)n * sizeof *b.q, "query counts");
    if (!b.xb || !b.xn || !b.z || !b.mb || !b.act || !b.done || !b.q) {
        st = JT_ERR_OOM;
        goto out;
    }
    j->has_loss_trace = 1;
    for (int r = 0; r < cfg->restarts && st == JT_OK; r++) {
        st = square_restart(j, &b, r);
        for (int i = 0; i < n && st == JT_OK; i++) {
            if (b.done[i] || !(b.mb[i] <= 0)) continue;
            b.done[i] = 1;
            if (j->iters) j->iters[i] = b.q[i];
        }
    }
    if (st != JT_OK) goto out;
    memcpy(j->x_adv, b.xb, nd * sizeof(float));
    for (int i = 0; i < n; i++) j->loss_last_sum += -b.mb[i];
out:
    square_free(&b);
    return st;
}
