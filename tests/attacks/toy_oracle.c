/* Closed-form oracles (see toy_oracle.h). */
#include "toy_oracle.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct toy {
    int64_t d, H, K; /* H = 0: linear */
    double *W1, *b1, *W2, *b2;
} toy;

/* hidden (H) and logits (K) of one example */
static void toy_fwd(const toy *m, const float *x, double *hid, double *z) {
    if (m->H == 0) {
        for (int64_t k = 0; k < m->K; k++) {
            double s = m->b2[k];
            for (int64_t i = 0; i < m->d; i++) s += m->W2[k * m->d + i] * (double)x[i];
            z[k] = s;
        }
        return;
    }
    for (int64_t j = 0; j < m->H; j++) {
        double s = m->b1[j];
        for (int64_t i = 0; i < m->d; i++) s += m->W1[j * m->d + i] * (double)x[i];
        hid[j] = tanh(s);
    }
    for (int64_t k = 0; k < m->K; k++) {
        double s = m->b2[k];
        for (int64_t j = 0; j < m->H; j++) s += m->W2[k * m->H + j] * hid[j];
        z[k] = s;
    }
}

/* g[d] = J^T dz for one example (hid from toy_fwd) */
static void toy_vjp(const toy *m, const double *hid, const float *dz, float *g) {
    if (m->H == 0) {
        for (int64_t i = 0; i < m->d; i++) {
            double s = 0;
            for (int64_t k = 0; k < m->K; k++) s += m->W2[k * m->d + i] * (double)dz[k];
            g[i] = (float)s;
        }
        return;
    }
    double dh[512];
    for (int64_t j = 0; j < m->H; j++) {
        double s = 0;
        for (int64_t k = 0; k < m->K; k++) s += m->W2[k * m->H + j] * (double)dz[k];
        dh[j] = s * (1.0 - hid[j] * hid[j]);
    }
    for (int64_t i = 0; i < m->d; i++) {
        double s = 0;
        for (int64_t j = 0; j < m->H; j++) s += m->W1[j * m->d + i] * dh[j];
        g[i] = (float)s;
    }
}

static jt_status toy_logits(jt_oracle *o, const float *x, int n, float *z) {
    const toy *m = o->impl;
    double hid[512], zz[256];
    for (int i = 0; i < n; i++) {
        toy_fwd(m, x + i * m->d, hid, zz);
        for (int64_t k = 0; k < m->K; k++) z[i * m->K + k] = (float)zz[k];
    }
    return JT_OK;
}

static jt_status toy_loss_grad(jt_oracle *o, const float *x, const int64_t *y, const int64_t *t, int n,
                               jt_attack_loss kind, float *loss, float *grad, float *z) {
    const toy *m = o->impl;
    double hid[512], zz[256];
    float zf[256], dz[256];
    for (int i = 0; i < n; i++) {
        toy_fwd(m, x + i * m->d, hid, zz);
        for (int64_t k = 0; k < m->K; k++) zf[k] = (float)zz[k];
        double l = jt_attack_loss_eval(kind, zf, m->K, y[i], t ? t[i] : -1, dz);
        if (isnan(l)) return jt_fail(o->ctx, JT_ERR_ARG, "toy oracle: loss undefined for example %d", i);
        if (loss) loss[i] = (float)l;
        if (z) memcpy(z + i * m->K, zf, (size_t)m->K * sizeof *zf);
        toy_vjp(m, hid, dz, grad + i * m->d);
    }
    return JT_OK;
}

static jt_status toy_features(jt_oracle *o, const float *x, int n, float *feat) {
    const toy *m = o->impl;
    double hid[512], zz[256];
    for (int i = 0; i < n; i++) {
        toy_fwd(m, x + i * m->d, hid, zz);
        for (int64_t j = 0; j < m->H; j++) feat[i * m->H + j] = (float)hid[j];
    }
    return JT_OK;
}

static jt_status toy_feat_grad(jt_oracle *o, const float *x, const float *ref, int n, jt_feat_dist dist,
                               float *loss, float *grad) {
    const toy *m = o->impl;
    double hid[512], zz[256], dh[512];
    for (int i = 0; i < n; i++) {
        toy_fwd(m, x + i * m->d, hid, zz);
        const float *r = ref + i * m->H;
        double l = 0;
        if (dist == JT_FEAT_L2) {
            for (int64_t j = 0; j < m->H; j++) {
                double e = (double)(float)hid[j] - (double)r[j]; /* the tap is seen in float32 */
                l += e * e / (double)m->H;
                dh[j] = 2 * e / (double)m->H;
            }
        } else {
            double ab = 0, aa = 0, bb = 0;
            for (int64_t j = 0; j < m->H; j++) {
                ab += hid[j] * r[j];
                aa += hid[j] * hid[j];
                bb += (double)r[j] * r[j];
            }
            double den = sqrt(aa * bb + 1e-16);
            l = 1 - ab / den;
            /* d/dh [ab / den] = r / den - ab * (bb * h / den) / den^2 */
            for (int64_t j = 0; j < m->H; j++)
                dh[j] = -((double)r[j] / den - ab * (bb * hid[j] / den) / (den * den));
        }
        if (loss) loss[i] = (float)l;
        for (int64_t j = 0; j < m->H; j++) dh[j] *= 1.0 - hid[j] * hid[j];
        for (int64_t k = 0; k < m->d; k++) {
            double s = 0;
            for (int64_t j = 0; j < m->H; j++) s += m->W1[j * m->d + k] * dh[j];
            grad[i * m->d + k] = (float)s;
        }
    }
    return JT_OK;
}

static void toy_destroy(jt_oracle *o) {
    toy *m = o->impl;
    free(m->W1);
    free(m->b1);
    free(m->W2);
    free(m->b2);
    free(m);
    free(o);
}

static const jt_oracle_vtable linear_vt = {.logits = toy_logits, .loss_grad = toy_loss_grad, .destroy = toy_destroy};
static const jt_oracle_vtable mlp_vt = {.logits = toy_logits,
                                        .loss_grad = toy_loss_grad,
                                        .features = toy_features,
                                        .feat_grad = toy_feat_grad,
                                        .destroy = toy_destroy};

static double *dup(const double *v, int64_t n) {
    double *p = malloc((size_t)n * sizeof *p);
    if (p) memcpy(p, v, (size_t)n * sizeof *p);
    return p;
}

static jt_status make(jt_ctx *ctx, int64_t c, int64_t h, int64_t w, int64_t H, int64_t K, const double *W1,
                      const double *b1, const double *W2, const double *b2, int max_batch, jt_oracle **out) {
    int64_t d = c * h * w;
    if (H > 512 || K > 256) return jt_fail(ctx, JT_ERR_ARG, "toy oracle: H <= 512 and K <= 256");
    toy *m = calloc(1, sizeof *m);
    jt_oracle *o = calloc(1, sizeof *o);
    if (!m || !o) {
        free(m);
        free(o);
        return jt_fail(ctx, JT_ERR_OOM, "toy oracle: out of memory");
    }
    m->d = d;
    m->H = H;
    m->K = K;
    if (H) {
        m->W1 = dup(W1, H * d);
        m->b1 = dup(b1, H);
        m->W2 = dup(W2, K * H);
    } else {
        m->W2 = dup(W2, K * d);
    }
    m->b2 = dup(b2, K);
    o->vt = H ? &mlp_vt : &linear_vt;
    o->ctx = ctx;
    o->c = c;
    o->h = h;
    o->w = w;
    o->n_classes = K;
    o->feat_dim = H;
    o->max_batch = max_batch > 0 ? max_batch : 64;
    o->deterministic = 1;
    o->impl = m;
    *out = o;
    return JT_OK;
}

jt_status toy_linear_create(jt_ctx *ctx, int64_t c, int64_t h, int64_t w, int64_t K, const double *W,
                            const double *b, int max_batch, jt_oracle **out) {
    return make(ctx, c, h, w, 0, K, NULL, NULL, W, b, max_batch, out);
}

jt_status toy_mlp_create(jt_ctx *ctx, int64_t c, int64_t h, int64_t w, int64_t H, int64_t K, const double *W1,
                         const double *b1, const double *W2, const double *b2, int max_batch, jt_oracle **out) {
    return make(ctx, c, h, w, H, K, W1, b1, W2, b2, max_batch, out);
}

void toy_lin_make(toy_lin *m, int64_t K, int64_t d, double (*rnd)(void)) {
    m->K = K;
    m->d = d;
    m->W = malloc((size_t)(K * d) * sizeof *m->W);
    m->b = malloc((size_t)K * sizeof *m->b);
    if (!m->W || !m->b) abort(); /* tests only */
    for (int64_t i = 0; i < K * d; i++) m->W[i] = rnd() - 0.5;
    for (int64_t k = 0; k < K; k++) m->b[k] = 0.2 * (rnd() - 0.5);
}

void toy_lin_free(toy_lin *m) {
    free(m->W);
    free(m->b);
    m->W = m->b = NULL;
}

void toy_lin_logits(const toy_lin *m, const float *x, double *z) {
    for (int64_t k = 0; k < m->K; k++) {
        double s = m->b[k];
        for (int64_t i = 0; i < m->d; i++) s += m->W[k * m->d + i] * (double)x[i];
        z[k] = s;
    }
}

int64_t toy_lin_pred(const toy_lin *m, const float *x) {
    double z[256];
    toy_lin_logits(m, x, z);
    int64_t b = 0;
    for (int64_t k = 1; k < m->K; k++)
        if (z[k] > z[b]) b = k;
    return b;
}

double toy_lin_rj(const toy_lin *m, const float *x, int64_t y, int64_t j) {
    double z[256], n1 = 0;
    toy_lin_logits(m, x, z);
    for (int64_t i = 0; i < m->d; i++) n1 += fabs(m->W[y * m->d + i] - m->W[j * m->d + i]);
    return (z[y] - z[j]) / n1;
}

double toy_lin_rstar(const toy_lin *m, const float *x, int64_t y) {
    double best = INFINITY;
    for (int64_t j = 0; j < m->K; j++) {
        if (j == y) continue;
        double r = toy_lin_rj(m, x, y, j);
        best = r < best ? r : best;
    }
    return best;
}
