/* TI-BIM and its DI / MI variants (docs/attacks.md section 8): one routine for the presets ti-bim, mi,
 * di, ti-dim and ti-bim-author.
 *
 * Per example:  v <- x (or PGD's uniform random start when asked);  m <- 0;  repeat T times:
 *     u <- DI(v) with probability p_div (one coin per example and iteration), else v
 *     g <- grad_v CE(F(u), y)                  (back through DI's zero pad and bilinear resize)
 *     g <- W * g                              (depthwise "same" convolution, zero padding; optional)
 *     g <- g / mean|g| (skipped when 0);  m <- mu m + g;  v <- Proj_linf(v + alpha sign(m))
 * The smoothed gradient and the momentum are kept in double, so that the normalisation never
 * flushes a small gradient coordinate to zero: with W = 1x1, mu = 0 and p_div = 0 the iterates are
 * those of PGD without random start, bit for bit. */
#include <stdio.h>

#include "attack_internal.h"

/* ---- Gaussian kernel ---- */

static double normal_pdf(double t) { return 0.3989422804014327 * exp(-0.5 * t * t); }

/* 1-D weights phi(-nsig + 2 nsig j / (k - 1)), normalised to sum 1 (the 2-D kernel is their outer
 * product, which then sums to 1 as well). */
static void kernel_1d(int k, double nsig, double *w) {
    if (k <= 1) {
        w[0] = 1.0;
        return;
    }
    double s = 0;
    for (int j = 0; j < k; j++) {
        w[j] = normal_pdf(-nsig + 2.0 * nsig * j / (k - 1));
        s += w[j];
    }
    for (int j = 0; j < k; j++) w[j] /= s;
}

void jt_ti_kernel(int k, double nsig, double *w) {
    /* the 1-D weights go to the last row of w first (no scratch); that row is overwritten last, each
     * entry read before it is written */
    double *w1 = w + (size_t)(k - 1) * (size_t)k;
    kernel_1d(k, nsig, w1);
    for (int a = 0; a < k; a++) {
        double wa = w1[a];
        for (int b = 0; b < k; b++) w[a * k + b] = wa * w1[b];
    }
}

/* out = W * g per channel, W = w1 w1^T applied as two 1-D passes with zero padding (equal to the 2-D
 * "same" convolution in exact arithmetic). tmp: C*H*W doubles. */
static void smooth(const float *g, int64_t C, int64_t H, int64_t W, const double *w1, int k, double *tmp, double *out) {
    int64_t half = k / 2;
    for (int64_t c = 0; c < C; c++) {
        const float *gc = g + c * H * W;
        double *tc = tmp + c * H * W, *oc = out + c * H * W;
        for (int64_t r = 0; r < H; r++)
            for (int64_t q = 0; q < W; q++) {
                double s = 0;
                for (int64_t b = 0; b < k; b++) {
                    int64_t qq = q + b - half;
                    if (qq >= 0 && qq < W) s += w1[b] * (double)gc[r * W + qq];
                }
                tc[r * W + q] = s;
            }
        for (int64_t r = 0; r < H; r++)
            for (int64_t q = 0; q < W; q++) {
                double s = 0;
                for (int64_t a = 0; a < k; a++) {
                    int64_t rr = r + a - half;
                    if (rr >= 0 && rr < H) s += w1[a] * tc[rr * W + q];
                }
                oc[r * W + q] = s;
            }
    }
}

/* ---- DI: random resize and pad ---- */

/* resized size from a uniform u for a side S: uniform in {floor(0.9 S), ..., S - 1} (at least 1) */
static int64_t di_size(int64_t S, float u) {
    int64_t lo = S * 9 / 10;
    if (lo < 1) lo = 1;
    int64_t cnt = S - lo;
    if (cnt < 1) return S; /* S < 2: nothing to shrink */
    int64_t i = (int64_t)(u * (float)cnt);
    return lo + (i < cnt ? i : cnt - 1);
}

static int64_t di_offset(int64_t S, int64_t s, float u) {
    int64_t rem = S - s; /* offsets {0, ..., rem - 1} */
    if (rem < 1) return 0;
    int64_t i = (int64_t)(u * (float)rem);
    return i < rem ? i : rem - 1;
}

void jt_di_draw_for(const jt_attack_config *cfg, int64_t index, uint32_t iter, int64_t H, int64_t W, jt_di_draw *dr) {
    /* one Philox block: coin, size, top, left (sub 1: sub 0 is the optional random start) */
    jt_philox_out r = atk_rng_block(cfg, index, 1, iter, 0);
    float u[4];
    for (int i = 0; i < 4; i++) u[i] = jt_u01_f32(r.v[i]);
    dr->apply = cfg->p_div > 0 && (double)u[0] < cfg->p_div;
    dr->sh = di_size(H, u[1]);
    dr->sw = di_size(W, u[1]);
    dr->top = di_offset(H, dr->sh, u[2]);
    dr->left = di_offset(W, dr->sw, u[3]);
}

/* Bilinear source taps of output index p when resizing n_in -> n_out with half-pixel centres (the
 * align_corners = False convention): i0, i1 and weights l0, l1. */
static void taps(int64_t p, int64_t n_in, int64_t n_out, int64_t *i0, int64_t *i1, float *l0, float *l1) {
    float scale = (float)n_in / (float)n_out;
    float src = scale * ((float)p + 0.5f) - 0.5f;
    if (src < 0) src = 0;
    int64_t i = (int64_t)src;
    if (i > n_in - 1) i = n_in - 1;
    *i0 = i;
    *i1 = i < n_in - 1 ? i + 1 : i;
    *l1 = src - (float)i;
    *l0 = 1.0f - *l1;
}

void jt_di_forward(const float *v, int64_t C, int64_t H, int64_t W, const jt_di_draw *dr, float *u) {
    memset(u, 0, (size_t)(C * H * W) * sizeof *u);
    for (int64_t c = 0; c < C; c++) {
        const float *vc = v + c * H * W;
        float *uc = u + c * H * W;
        for (int64_t p = 0; p < dr->sh; p++) {
            int64_t r0, r1;
            float h0, h1;
            taps(p, H, dr->sh, &r0, &r1, &h0, &h1);
            for (int64_t q = 0; q < dr->sw; q++) {
                int64_t c0, c1;
                float w0, w1;
                taps(q, W, dr->sw, &c0, &c1, &w0, &w1);
                float val = h0 * (w0 * vc[r0 * W + c0] + w1 * vc[r0 * W + c1]) +
                            h1 * (w0 * vc[r1 * W + c0] + w1 * vc[r1 * W + c1]);
                uc[(dr->top + p) * W + dr->left + q] = val;
            }
        }
    }
}

void jt_di_adjoint(const float *gu, int64_t C, int64_t H, int64_t W, const jt_di_draw *dr, float *gv, double *work) {
    memset(work, 0, (size_t)(C * H * W) * sizeof *work);
    for (int64_t c = 0; c < C; c++) {
        const float *gc = gu + c * H * W;
        double *ac = work + c * H * W;
        for (int64_t p = 0; p < dr->sh; p++) {
            int64_t r0, r1;
            float h0, h1;
            taps(p, H, dr->sh, &r0, &r1, &h0, &h1);
            for (int64_t q = 0; q < dr->sw; q++) {
                int64_t c0, c1;
                float w0, w1;
                taps(q, W, dr->sw, &c0, &c1, &w0, &w1);
                /* the padding region receives no gradient; the resized block spreads to its four taps */
                double go = (double)gc[(dr->top + p) * W + dr->left + q];
                ac[r0 * W + c0] += (double)h0 * (double)w0 * go;
                ac[r0 * W + c1] += (double)h0 * (double)w1 * go;
                ac[r1 * W + c0] += (double)h1 * (double)w0 * go;
                ac[r1 * W + c1] += (double)h1 * (double)w1 * go;
            }
        }
    }
    for (int64_t i = 0; i < C * H * W; i++) gv[i] = (float)work[i];
}

/* ---- the attack ---- */

typedef struct ti_buf {
    float *v, *u, *g, *gv, *loss, *z;
    double *m, *sg, *tmp, *w1;
    jt_di_draw *draw;
} ti_buf;

static void ti_buf_free(ti_buf *b) {
    free(b->v);
    free(b->u);
    free(b->g);
    free(b->gv);
    free(b->loss);
    free(b->z);
    free(b->m);
    free(b->sg);
    free(b->tmp);
    free(b->w1);
    free(b->draw);
}

/* Gradient of one example w.r.t. v (through DI when drawn), smoothed, normalised, into the momentum;
 * then the signed step and the projection. */
static void ti_update(atk_job *j, ti_buf *b, int e) {
    const jt_attack_config *cfg = j->cfg;
    jt_oracle *o = j->o;
    int64_t d = j->d;
    size_t off = (size_t)e * (size_t)d;
    const float *ge = b->g + off;
    if (b->draw[e].apply) {
        jt_di_adjoint(ge, o->c, o->h, o->w, &b->draw[e], b->gv, b->tmp);
        ge = b->gv;
    }
    int k = cfg->ti_kernel;
    if (k > 1) smooth(ge, o->c, o->h, o->w, b->w1, k, b->tmp, b->sg);
    else
        for (int64_t i = 0; i < d; i++) b->sg[i] = (double)ge[i];
    double mean = 0;
    for (int64_t i = 0; i < d; i++) mean += fabs(b->sg[i]);
    mean /= (double)d;
    double inv = mean > 0 ? 1.0 / mean : 1.0;
    double *me = b->m + off;
    float *ve = b->v + off;
    float a = (float)cfg->alpha;
    for (int64_t i = 0; i < d; i++) {
        me[i] = cfg->mu * me[i] + (mean > 0 ? b->sg[i] * inv : b->sg[i]);
        float s = me[i] > 0 ? 1.0f : (me[i] < 0 ? -1.0f : 0.0f);
        ve[i] += a * s;
    }
    atk_project_linf(ve, j->x + off, (float)cfg->eps, d);
}

jt_status jt_atk_ti(atk_job *j) {
    const jt_attack_config *cfg = j->cfg;
    jt_oracle *o = j->o;
    int n = j->n;
    int64_t d = j->d, K = j->K;
    if (o->c * o->h * o->w != d)
        return jt_fail(o->ctx, JT_ERR_ARG, "attack '%s': oracle shape %lldx%lldx%lld does not match d = %lld",
                       cfg->name, (long long)o->c, (long long)o->h, (long long)o->w, (long long)d);
    int di = cfg->p_div > 0, k = cfg->ti_kernel;
    size_t nd = (size_t)n * (size_t)d;
    ti_buf b = {0};
    b.v = atk_alloc(j, nd * sizeof *b.v, "iterates");
    b.u = di ? atk_alloc(j, nd * sizeof *b.u, "diverse inputs") : NULL;
    b.g = atk_alloc(j, nd * sizeof *b.g, "gradients");
    b.gv = atk_alloc(j, (size_t)d * sizeof *b.gv, "gradient scratch");
    b.loss = atk_alloc(j, (size_t)n * sizeof *b.loss, "losses");
    b.z = atk_alloc(j, (size_t)n * (size_t)K * sizeof *b.z, "logits");
    b.m = atk_alloc(j, nd * sizeof *b.m, "momentum");
    b.sg = atk_alloc(j, (size_t)d * sizeof *b.sg, "smoothed gradient");
    b.tmp = atk_alloc(j, (size_t)d * sizeof *b.tmp, "smoothing scratch");
    b.w1 = atk_alloc(j, (size_t)(k > 1 ? k : 1) * sizeof *b.w1, "kernel");
    b.draw = atk_alloc(j, (size_t)n * sizeof *b.draw, "DI draws");
    jt_status st = JT_OK;
    if (!b.v || (di && !b.u) || !b.g || !b.gv || !b.loss || !b.z || !b.m || !b.sg || !b.tmp || !b.w1 || !b.draw) {
        st = JT_ERR_OOM;
        goto out;
    }
    kernel_1d(k, cfg->ti_nsig, b.w1);
    memcpy(b.v, j->x, nd * sizeof *b.v);
    if (cfg->random_start) /* off in every preset; drawn as PGD's start: clip(x + U(-eps, eps)) */
        for (int e = 0; e < n; e++) {
            float *ve = b.v + (size_t)e * d, *u = b.gv, eps = (float)cfg->eps;
            atk_uniform_fill(cfg, j->index[e], 0, 0, u, d);
            for (int64_t i = 0; i < d; i++) ve[i] = atk_clampf(ve[i] + eps * (2.0f * u[i] - 1.0f), 0.0f, 1.0f);
        }
    j->has_loss_trace = 1;
    if (di) { /* the first gradient may be taken at DI(v): the first loss comes from a forward at v */
        st = jt_oracle_logits(o, b.v, n, b.z);
        if (st != JT_OK) goto out;
        for (int e = 0; e < n; e++)
            j->loss_first_sum += jt_attack_loss_eval(JT_LOSS_CE, b.z + (size_t)e * K, K, j->y[e], -1, NULL);
    }
    for (int t = 0; t < cfg->steps && st == JT_OK; t++) {
        for (int e = 0; e < n; e++) {
            size_t off = (size_t)e * (size_t)d;
            b.draw[e].apply = 0;
            if (!di) continue;
            jt_di_draw_for(cfg, j->index[e], (uint32_t)t, o->h, o->w, &b.draw[e]);
            if (b.draw[e].apply) jt_di_forward(b.v + off, o->c, o->h, o->w, &b.draw[e], b.u + off);
            else memcpy(b.u + off, b.v + off, (size_t)d * sizeof *b.u);
        }
        st = atk_grad(j, di ? b.u : b.v, j->y, NULL, n, JT_LOSS_CE, b.loss, b.g, b.z);
        if (st != JT_OK) break;
        for (int e = 0; e < n; e++) {
            if (t == 0) {
                if (!di) j->loss_first_sum += b.loss[e];
                int nz = 0;
                for (int64_t i = 0; i < d && !nz; i++) nz = b.g[(size_t)e * d + i] != 0.0f;
                j->zero_grad_count += !nz;
            }
            /* the logits are those of v only where no DI was drawn; other examples are judged later */
            if (j->iters && j->iters[e] < 0 && !b.draw[e].apply && atk_argmax(b.z + (size_t)e * K, K) != j->y[e])
                j->iters[e] = t;
            ti_update(j, &b, e);
        }
    }
    if (st != JT_OK) goto out;
    memcpy(j->x_adv, b.v, nd * sizeof *b.v);
    /* the loss at the last iterate and a success seen only there */
    st = jt_oracle_logits(o, b.v, n, b.z);
    for (int e = 0; e < n && st == JT_OK; e++) {
        const float *ze = b.z + (size_t)e * K;
        j->loss_last_sum += jt_attack_loss_eval(JT_LOSS_CE, ze, K, j->y[e], -1, NULL);
        if (j->iters && j->iters[e] < 0 && atk_argmax(ze, K) != j->y[e]) j->iters[e] = cfg->steps;
    }
out:
    ti_buf_free(&b);
    return st;
}
