/* Body of attack_loss_math.h over one scalar type: ALM_T (float/double), ALM_FN(name) adds the suffix. */
/* Does a rank before b in the descending stable order? */
JT_ALM_HD int ALM_FN(jt_alm_before)(const ALM_T *z, int64_t a, int64_t b) {
    return z[a] > z[b] || (z[a] == z[b] && a < b);
}

/* Indices of the 4 largest logits in descending stable order (K >= 1; missing ranks get -1). */
JT_ALM_HD void ALM_FN(jt_alm_top4)(const ALM_T *z, int64_t K, int64_t top[4]) {
    top[0] = top[1] = top[2] = top[3] = -1;
    for (int64_t k = 0; k < K; k++) {
        int64_t c = k;
        for (int r = 0; r < 4; r++) {
            if (top[r] < 0) {
                top[r] = c;
                break;
            }
            if (ALM_FN(jt_alm_before)(z, c, top[r])) {
                int64_t t = top[r];
                top[r] = c;
                c = t;
            }
        }
    }
}

/* Largest logit other than y (lowest index on ties). */
JT_ALM_HD int64_t ALM_FN(jt_alm_best_other)(const ALM_T *z, int64_t K, int64_t y) {
    int64_t b = -1;
    for (int64_t k = 0; k < K; k++)
        if (k != y && (b < 0 || z[k] > z[b])) b = k;
    return b;
}

/* dz[idx[i]] = sum of g[j] over j with idx[j] == idx[i], added in double and rounded once, so that
 * contributions that cancel (the flat region of DLR, where y ranks third) give exactly zero. */
JT_ALM_HD void ALM_FN(jt_alm_scatter)(ALM_T *dz, int64_t *idx, double *g, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (idx[j] == idx[i]) {
                g[j] += g[i];
                g[i] = 0;
                idx[i] = -1;
                break;
            }
    for (int i = 0; i < n; i++)
        if (idx[i] >= 0) dz[idx[i]] = (ALM_T)g[i];
}

/* Loss of z[0..K) for label y (target t for DLR_T and TDIFF); when dz is non-NULL it receives
 * coef * d loss / dz (every entry written). Returns NaN for an invalid kind, label or target or too
 * few classes (dz is then all NaN). */
JT_ALM_HD double ALM_FN(jt_alm_loss)(int kind, const ALM_T *z, int64_t K, int64_t y, int64_t t, double coef, ALM_T *dz) {
    int bad = kind < 0 || kind >= JT_ALM_COUNT || K < jt_alm_min_classes(kind) || y < 0 || y >= K;
    if (!bad && (kind == JT_ALM_DLR_T || kind == JT_ALM_TDIFF)) bad = t < 0 || t >= K || t == y;
    if (bad) {
        if (dz)
            for (int64_t k = 0; k < K; k++) dz[k] = (ALM_T)NAN;
        return NAN;
    }
    if (dz)
        for (int64_t k = 0; k < K; k++) dz[k] = (ALM_T)0;
    if (kind == JT_ALM_CE) {
        double m = (double)z[0];
        for (int64_t k = 1; k < K; k++) m = (double)z[k] > m ? (double)z[k] : m;
        double s = 0;
        for (int64_t k = 0; k < K; k++) s += exp((double)z[k] - m);
        double lse = m + log(s);
        if (dz) {
            for (int64_t k = 0; k < K; k++) dz[k] = (ALM_T)(coef * exp((double)z[k] - lse));
            dz[y] = (ALM_T)(coef * (exp((double)z[y] - lse) - 1.0));
        }
        return lse - (double)z[y];
    }
    if (kind == JT_ALM_CW || kind == JT_ALM_TDIFF) {
        int64_t o = kind == JT_ALM_CW ? ALM_FN(jt_alm_best_other)(z, K, y) : t;
        if (dz) {
            dz[o] = (ALM_T)coef;
            dz[y] = (ALM_T)(-coef);
        }
        return (double)z[o] - (double)z[y];
    }
    int64_t top[4];
    ALM_FN(jt_alm_top4)(z, K, top);
    if (kind == JT_ALM_DLR) {
        /* -(z_y - z_o) / (z_(1) - z_(3) + 1e-12), o = best other */
        int64_t o = ALM_FN(jt_alm_best_other)(z, K, y);
        double num = (double)(ALM_T)((double)z[y] - (double)z[o]);
        /* the 1e-12 is added at the logits' precision, as the float32 reference implementations do: in
         * float32 it vanishes, so where y ranks third (num = -den) the loss is flat and its gradient
         * exactly zero instead of a 1e-12-sized push */
        double den = (double)(ALM_T)((double)z[top[0]] - (double)z[top[2]] + 1e-12);
        if (dz) {
            double gn = -coef / den, gd = coef * (num / den) / den;
            double g[4] = {gn, -gn, gd, -gd};
            int64_t idx[4] = {y, o, top[0], top[2]};
            ALM_FN(jt_alm_scatter)(dz, idx, g, 4);
        }
        return -num / den;
    }
    /* DLR_T: -(z_y - z_t) / (z_(1) - (z_(3) + z_(4)) / 2 + 1e-12) */
    double num = (double)(ALM_T)((double)z[y] - (double)z[t]);
    double den = (double)(ALM_T)((double)z[top[0]] - 0.5 * ((double)z[top[2]] + (double)z[top[3]]) + 1e-12);
    if (dz) {
        double gn = -coef / den, gd = coef * (num / den) / den;
        int64_t idx[5] = {y, t, top[0], top[2], top[3]};
        double g[5] = {gn, -gn, gd, -0.5 * gd, -0.5 * gd};
        ALM_FN(jt_alm_scatter)(dz, idx, g, 5);
    }
    return -num / den;
}

