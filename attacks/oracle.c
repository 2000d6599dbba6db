/* The oracle's chunking wrappers, predictions and the host reference of the logit losses. */
#include <stdlib.h>
#include <string.h>

#include "attack_internal.h"
#include "ops/attack/attack_loss_math.h"

static const char *const loss_names[JT_LOSS_COUNT] = {"ce", "cw", "dlr", "dlr-t", "tdiff"};

const char *jt_attack_loss_name(jt_attack_loss kind) {
    return (int)kind >= 0 && kind < JT_LOSS_COUNT ? loss_names[kind] : "?";
}

int jt_attack_loss_parse(const char *s) {
    for (int i = 0; i < JT_LOSS_COUNT; i++)
        if (strcmp(s, loss_names[i]) == 0) return i;
    return -1;
}

double jt_attack_loss_eval(jt_attack_loss kind, const float *z, int64_t K, int64_t y, int64_t t, float *dz) {
    return jt_alm_loss_f32((int)kind, z, K, y, t, 1.0, dz);
}

static jt_status no_impl(jt_oracle *o, const char *what) {
    return jt_fail(o->ctx, JT_ERR_UNSUPPORTED, "attack oracle: %s is not available (no feature tap configured?)", what);
}

jt_status jt_oracle_logits(jt_oracle *o, const float *x, int n, float *z) {
    int64_t d = jt_oracle_dim(o);
    for (int i = 0; i < n; i += o->max_batch) {
        int m = n - i < o->max_batch ? n - i : o->max_batch;
        JT_TRY(o->vt->logits(o, x + (size_t)i * d, m, z + (size_t)i * o->n_classes));
        o->n_forward += (uint64_t)m;
    }
    return JT_OK;
}

jt_status jt_oracle_loss_grad(jt_oracle *o, const float *x, const int64_t *y, const int64_t *t, int n,
                              jt_attack_loss kind, float *loss, float *grad, float *z) {
    int64_t d = jt_oracle_dim(o), K = o->n_classes;
    if (K < jt_alm_min_classes((int)kind))
        return jt_fail(o->ctx, JT_ERR_ARG, "attack loss '%s' needs at least %d classes; the model has %lld",
                       jt_attack_loss_name(kind), jt_alm_min_classes((int)kind), (long long)K);
    if ((kind == JT_LOSS_DLR_T || kind == JT_LOSS_TDIFF) && !t)
        return jt_fail(o->ctx, JT_ERR_ARG, "attack loss '%s' needs targets", jt_attack_loss_name(kind));
    for (int i = 0; i < n; i += o->max_batch) {
        int m = n - i < o->max_batch ? n - i : o->max_batch;
        JT_TRY(o->vt->loss_grad(o, x + (size_t)i * d, y + i, t ? t + i : NULL, m, kind, loss ? loss + i : NULL,
                                grad + (size_t)i * d, z ? z + (size_t)i * K : NULL));
        o->n_forward += (uint64_t)m;
        o->n_backward += (uint64_t)m;
    }
    return JT_OK;
}

jt_status jt_oracle_features(jt_oracle *o, const float *x, int n, float *feat) {
    if (!o->vt->features || o->feat_dim <= 0) return no_impl(o, "features");
    int64_t d = jt_oracle_dim(o);
    for (int i = 0; i < n; i += o->max_batch) {
        int m = n - i < o->max_batch ? n - i : o->max_batch;
        JT_TRY(o->vt->features(o, x + (size_t)i * d, m, feat + (size_t)i * o->feat_dim));
        o->n_forward += (uint64_t)m;
    }
    return JT_OK;
}

jt_status jt_oracle_feat_grad(jt_oracle *o, const float *x, const float *ref, int n, jt_feat_dist dist,
                              float *loss, float *grad) {
    if (!o->vt->feat_grad || o->feat_dim <= 0) return no_impl(o, "feature gradients");
    int64_t d = jt_oracle_dim(o);
    for (int i = 0; i < n; i += o->max_batch) {
        int m = n - i < o->max_batch ? n - i : o->max_batch;
        JT_TRY(o->vt->feat_grad(o, x + (size_t)i * d, ref + (size_t)i * o->feat_dim, m, dist, loss ? loss + i : NULL,
                                grad + (size_t)i * d));
        o->n_forward += (uint64_t)m;
        o->n_backward += (uint64_t)m;
    }
    return JT_OK;
}

jt_status jt_oracle_preprocess(jt_oracle *o, const float *x, int n, float *px) {
    int64_t d = jt_oracle_dim(o);
    if (!o->vt->preprocess) {
        memcpy(px, x, (size_t)n * (size_t)d * sizeof *px);
        return JT_OK;
    }
    for (int i = 0; i < n; i += o->max_batch) {
        int m = n - i < o->max_batch ? n - i : o->max_batch;
        JT_TRY(o->vt->preprocess(o, x + (size_t)i * d, m, px + (size_t)i * d));
        o->n_forward += (uint64_t)m;
    }
    return JT_OK;
}

jt_status jt_oracle_predict(jt_oracle *o, const float *x, int n, int64_t *pred, float *z) {
    int64_t K = o->n_classes;
    float *zz = z ? z : malloc((size_t)(n > 0 ? n : 1) * (size_t)K * sizeof *zz);
    if (!zz) return jt_fail(o->ctx, JT_ERR_OOM, "attack oracle: out of memory for %d logits", n);
    jt_status st = jt_oracle_logits(o, x, n, zz);
    if (st == JT_OK)
        for (int i = 0; i < n; i++) pred[i] = atk_argmax(zz + (size_t)i * K, K);
    if (!z) free(zz);
    return st;
}

void jt_oracle_free(jt_oracle *o) {
    if (o && o->vt && o->vt->destroy) o->vt->destroy(o);
}
