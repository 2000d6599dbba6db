/* Training examples of the denoiser methods, on an oracle (F = T∘P for full examples, T for oblivious
 * ones): feature-space PGD (Eq. 5), PGD on CE, and NRP's self-supervised perturbation. Unlike the
 * evaluation attacks of attacks/, every example is attacked (clean mistakes included: they are
 * training data) and the last iterate is returned. Random starts are functions of (seed, purpose,
 * epoch, dataset index, element) only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/core/philox.h"
#include "train/denoiser_internal.h"

static uint64_t mix(uint64_t seed, uint32_t purpose) { return seed ^ ((uint64_t)purpose * 0x9E3779B97F4A7C15ull); }

void dn_uniform_fill(uint64_t seed, uint32_t purpose, uint64_t epoch, int64_t index, float *u, int64_t d) {
    uint64_t key = mix(seed, purpose), call = (epoch << 32) ^ (uint64_t)index;
    for (int64_t b = 0; b * 4 < d; b++) {
        jt_philox_out r = jt_rng_block(key, JT_RNG_ATTACK, (uint64_t)b, call);
        for (int k = 0; k < 4 && b * 4 + k < d; k++) u[b * 4 + k] = jt_u01_f32(r.v[k]);
    }
}

/* standard normals by Box-Muller on the two word pairs of each block */
static void normal_fill(uint64_t seed, uint32_t purpose, uint64_t epoch, int64_t index, float *n, int64_t d) {
    uint64_t key = mix(seed, purpose), call = (epoch << 32) ^ (uint64_t)index;
    for (int64_t b = 0; b * 4 < d; b++) {
        jt_philox_out r = jt_rng_block(key, JT_RNG_ATTACK, (uint64_t)b, call);
        for (int p = 0; p < 2; p++) {
            double n0, n1;
            jt_box_muller(r.v[2 * p], r.v[2 * p + 1], &n0, &n1);
            int64_t i = b * 4 + 2 * p;
            if (i < d) n[i] = (float)n0;
            if (i + 1 < d) n[i + 1] = (float)n1;
        }
    }
}

static float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* v <- clip(clip(v + step*sign(g), x - eps, x + eps), 0, 1) */
static void sign_step(float *v, const float *g, const float *x, float step, float eps, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float s = g[i] > 0.0f ? step : (g[i] < 0.0f ? -step : 0.0f);
        float t = clampf(v[i] + s, x[i] - eps, x[i] + eps);
        v[i] = clampf(t, 0.0f, 1.0f);
    }
}

static jt_status check(jt_oracle *o, const jt_dn_attack *a, int n, int feat) {
    if (n < 0 || !(a->eps >= 0) || !(a->step >= 0) || a->steps < 0)
        return jt_fail(o->ctx, JT_ERR_ARG, "training attack: eps %g, step %g, steps %d, n %d out of range", a->eps, a->step,
                       a->steps, n);
    if (feat && o->feat_dim <= 0) return jt_fail(o->ctx, JT_ERR_ARG, "training attack: the oracle has no feature tap");
    return JT_OK;
}

static void uniform_start(const jt_dn_attack *a, uint32_t purpose, const float *x, const int64_t *index, int n,
                          int64_t d, float *v, float *u) {
    float eps = (float)a->eps;
    for (int i = 0; i < n; i++) {
        dn_uniform_fill(a->seed, purpose, a->epoch, index ? index[i] : i, u, d);
        const float *xi = x + (size_t)i * d;
        float *vi = v + (size_t)i * d;
        for (int64_t e = 0; e < d; e++) vi[e] = clampf(xi[e] + eps * (2.0f * u[e] - 1.0f), 0.0f, 1.0f);
    }
}

jt_status jt_dn_fpgd(jt_oracle *o, const jt_dn_attack *a, const float *x, const int64_t *index, int n,
                     const float *start, float *x_adv, double *dist_last) {
    JT_TRY(check(o, a, n, 1));
    int64_t d = jt_oracle_dim(o), F = o->feat_dim;
    size_t nd = (size_t)n * (size_t)d;
    float *f0 = malloc(sizeof(float) * ((size_t)n * (size_t)F + 1)), *g = malloc(sizeof(float) * (nd + 1));
    float *loss = malloc(sizeof(float) * ((size_t)n + 1)), *u = malloc(sizeof(float) * ((size_t)d + 4));
    jt_status st = JT_OK;
    if (!f0 || !g || !loss || !u) st = jt_fail(o->ctx, JT_ERR_OOM, "feature-space PGD: out of memory (%d examples)", n);
    if (st == JT_OK) st = jt_oracle_features(o, x, n, f0);
    if (st == JT_OK) {
        if (start) memcpy(x_adv, start, nd * sizeof(float));
        else uniform_start(a, DN_RNG_FPGD, x, index, n, d, x_adv, u);
    }
    double last = NAN;
    for (int t = 0; t < a->steps && st == JT_OK; t++) {
        st = jt_oracle_feat_grad(o, x_adv, f0, n, a->dist, loss, g);
        if (st != JT_OK) break;
        last = 0;
        for (int i = 0; i < n; i++) last += loss[i];
        last /= n > 0 ? n : 1;
        sign_step(x_adv, g, x, (float)a->step, (float)a->eps, nd);
    }
    if (dist_last) *dist_last = last;
    free(f0);
    free(g);
    free(loss);
    free(u);
    return st;
}

jt_status jt_dn_pgd_ce(jt_oracle *o, const jt_dn_attack *a, const float *x, const int64_t *y, const int64_t *index,
                       int n, float *x_adv) {
    JT_TRY(check(o, a, n, 0));
    int64_t d = jt_oracle_dim(o);
    size_t nd = (size_t)n * (size_t)d;
    float *g = malloc(sizeof(float) * (nd + 1)), *loss = malloc(sizeof(float) * ((size_t)n + 1));
    float *u = malloc(sizeof(float) * ((size_t)d + 4));
    jt_status st = JT_OK;
    if (!g || !loss || !u) st = jt_fail(o->ctx, JT_ERR_OOM, "PGD: out of memory (%d examples)", n);
    if (st == JT_OK) uniform_start(a, DN_RNG_PGD, x, index, n, d, x_adv, u);
    for (int t = 0; t < a->steps && st == JT_OK; t++) {
        st = jt_oracle_loss_grad(o, x_adv, y, NULL, n, JT_LOSS_CE, loss, g, NULL);
        if (st == JT_OK) sign_step(x_adv, g, x, (float)a->step, (float)a->eps, nd);
    }
    free(g);
    free(loss);
    free(u);
    return st;
}

jt_status jt_dn_ssp(jt_oracle *o, jt_oracle *ref, const jt_dn_attack *a, const float *x, const int64_t *index, int n,
                    float *x_adv) {
    JT_TRY(check(o, a, n, 1));
    JT_TRY(check(ref, a, n, 1));
    if (ref->feat_dim != o->feat_dim)
        return jt_fail(o->ctx, JT_ERR_ARG, "SSP: the two oracles' taps differ in size (%lld, %lld)",
                       (long long)o->feat_dim, (long long)ref->feat_dim);
    int64_t d = jt_oracle_dim(o), F = o->feat_dim;
    size_t nd = (size_t)n * (size_t)d;
    float eps = (float)a->eps;
    float *f0 = malloc(sizeof(float) * ((size_t)n * (size_t)F + 1)), *g = malloc(sizeof(float) * (nd + 1));
    float *loss = malloc(sizeof(float) * ((size_t)n + 1)), *z = malloc(sizeof(float) * ((size_t)d + 4));
    jt_status st = JT_OK;
    if (!f0 || !g || !loss || !z) st = jt_fail(o->ctx, JT_ERR_OOM, "SSP: out of memory (%d examples)", n);
    if (st == JT_OK) st = jt_oracle_features(ref, x, n, f0);
    for (int i = 0; st == JT_OK && i < n; i++) {
        normal_fill(a->seed, DN_RNG_SSP, 0, index ? index[i] : i, z, d); /* keyed by the image only: cacheable */
        const float *xi = x + (size_t)i * d;
        float *vi = x_adv + (size_t)i * d;
        for (int64_t e = 0; e < d; e++) vi[e] = clampf(clampf(z[e], xi[e] - eps, xi[e] + eps), 0.0f, 1.0f);
    }
    for (int t = 0; t < a->steps && st == JT_OK; t++) {
        st = jt_oracle_feat_grad(o, x_adv, f0, n, JT_FEAT_L2, loss, g);
        if (st == JT_OK) sign_step(x_adv, g, x, (float)a->step, eps, nd);
    }
    free(f0);
    free(g);
    free(loss);
    free(z);
    return st;
}
