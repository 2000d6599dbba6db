/* Shared helpers of the attack algorithms: counter-based random fills, projections, norms. */
#include <stdio.h>

#include "attack_internal.h"

void atk_uniform_fill(const jt_attack_config *cfg, int64_t index, uint32_t sub, uint32_t iter, float *u, int64_t d) {
    for (int64_t b = 0; b * 4 < d; b++) {
        jt_philox_out r = atk_rng_block(cfg, index, sub, iter, (uint32_t)b);
        for (int k = 0; k < 4 && b * 4 + k < d; k++) u[b * 4 + k] = jt_u01_f32(r.v[k]);
    }
}

void atk_normal_fill(const jt_attack_config *cfg, int64_t index, uint32_t sub, uint32_t iter, float *n, int64_t d) {
    /* one block = two pairs of uniforms = two normals each (Box-Muller) */
    for (int64_t b = 0; b * 4 < d; b++) {
        jt_philox_out r = atk_rng_block(cfg, index, sub, iter, (uint32_t)b);
        for (int p = 0; p < 2; p++) {
            double n0, n1;
            jt_box_muller(r.v[2 * p], r.v[2 * p + 1], &n0, &n1);
            int64_t i = b * 4 + 2 * p;
            if (i < d) n[i] = (float)n0;
            if (i + 1 < d) n[i + 1] = (float)n1;
        }
    }
}

void atk_project_linf(float *v, const float *x, float eps, int64_t d) {
    for (int64_t i = 0; i < d; i++) {
        float lo = x[i] - eps, hi = x[i] + eps, t = v[i];
        t = t < lo ? lo : (t > hi ? hi : t);
        v[i] = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
    }
}

void atk_project_l2(float *v, const float *x, float eps, int64_t d) {
    double s = 0;
    for (int64_t i = 0; i < d; i++) {
        double e = (double)v[i] - (double)x[i];
        s += e * e;
    }
    double nrm = sqrt(s);
    double f = nrm > eps ? eps / nrm : 1.0;
    for (int64_t i = 0; i < d; i++) {
        float t = (float)((double)x[i] + ((double)v[i] - (double)x[i]) * f);
        v[i] = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
    }
}

int64_t atk_argmax(const float *z, int64_t K) {
    int64_t b = 0;
    for (int64_t k = 1; k < K; k++)
        if (z[k] > z[b]) b = k;
    return b;
}

double atk_norm_l2(const float *v, int64_t d) {
    double s = 0;
    for (int64_t i = 0; i < d; i++) s += (double)v[i] * (double)v[i];
    return sqrt(s);
}

int atk_all_finite(const float *v, int64_t d) {
    for (int64_t i = 0; i < d; i++)
        if (!isfinite(v[i])) return 0;
    return 1;
}

void *atk_alloc(atk_job *j, size_t bytes, const char *what) {
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p)
        jt_fail(j->o->ctx, JT_ERR_OOM, "attack '%s': out of memory for %s (%zu bytes)", j->cfg->name, what, bytes);
    return p;
}

jt_status atk_grad(atk_job *j, const float *x, const int64_t *y, const int64_t *t, int n, jt_attack_loss kind,
                   float *loss, float *grad, float *z) {
    int E = j->cfg->eot > 1 ? j->cfg->eot : 1;
    size_t nd = (size_t)n * (size_t)j->d;
    if (E == 1) {
        JT_TRY(jt_oracle_loss_grad(j->o, x, y, t, n, kind, loss, grad, z));
    } else {
        float *tmp = atk_alloc(j, nd * sizeof *tmp, "EOT gradients");
        if (!tmp) return JT_ERR_OOM;
        jt_status st = JT_OK;
        memset(grad, 0, nd * sizeof *grad);
        for (int e = 0; e < E && st == JT_OK; e++) {
            st = jt_oracle_loss_grad(j->o, x, y, t, n, kind, loss, tmp, z);
            for (size_t i = 0; st == JT_OK && i < nd; i++) grad[i] += tmp[i];
        }
        free(tmp);
        JT_TRY(st);
        float inv = 1.0f / (float)E;
        for (size_t i = 0; i < nd; i++) grad[i] *= inv;
    }
    if (!atk_all_finite(grad, (int64_t)nd)) j->nonfinite_grad = 1;
    return JT_OK;
}
