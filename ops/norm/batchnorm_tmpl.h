/* BatchNormalization kernels over a scalar type; included by batchnorm.c with T and SFX defined.
 * Workspace: 4 doubles per channel (coefficient, shift, batch mean, batch variance). */
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

typedef struct {
    const T *x;
    T *y;
    const double *k, *sh, *mean;
    double *stat_mean, *stat_var;
    int64_t N, chan, plane;
} FN(bn_job);

/* Training statistics: one task per channel, sums in double over the batch. */
static void FN(bn_stats_task)(void *arg, int64_t c) {
    const FN(bn_job) *j = arg;
    double s = 0, ss = 0;
    for (int64_t n = 0; n < j->N; n++) {
        const T *p = j->x + (n * j->chan + c) * j->plane;
        for (int64_t i = 0; i < j->plane; i++) s += p[i];
    }
    double cnt = (double)(j->N * j->plane), m = cnt > 0 ? s / cnt : 0;
    for (int64_t n = 0; n < j->N; n++) {
        const T *p = j->x + (n * j->chan + c) * j->plane;
        for (int64_t i = 0; i < j->plane; i++) ss += (p[i] - m) * (p[i] - m);
    }
    j->stat_mean[c] = m;
    j->stat_var[c] = cnt > 0 ? ss / cnt : 0;
}

/* y = x * k + sh: one task per plane (n, c), or per image when planes are small. */
static void FN(bn_apply_task)(void *arg, int64_t t) {
    const FN(bn_job) *j = arg;
    int64_t c0 = 0, c1 = j->chan, n = t;
    if (j->plane >= 64) {
        n = t / j->chan;
        c0 = t % j->chan;
        c1 = c0 + 1;
    }
    for (int64_t c = c0; c < c1; c++) {
        const T *p = j->x + (n * j->chan + c) * j->plane;
        T *q = j->y + (n * j->chan + c) * j->plane;
        T k = (T)j->k[c], sh = (T)j->sh[c];
        for (int64_t i = 0; i < j->plane; i++) q[i] = p[i] * k + sh;
    }
}

static jt_status FN(bn_cpu)(const jt_kernel_args *a) {
    const bn_attrs *at = a->attrs;
    int64_t chan, plane;
    bn_split(at->spatial, a->in[0], &chan, &plane);
    if (!a->ws || a->ws_size < (size_t)chan * 4 * sizeof(double))
        return jt_fail(a->ctx, JT_ERR_INTERNAL, "node '%s': BatchNormalization workspace missing",
                       a->node->name);
    double *k = a->ws, *sh = k + chan, *bm = sh + chan, *bv = bm + chan;
    FN(bn_job) j = {a->in[0]->data, a->out[0]->data, k, sh, bm, bm, bv, a->in[0]->dims[0], chan, plane};
    const jt_tensor *scale = a->in[1], *bias = a->in[2], *rm = a->in[3], *rv = a->in[4];
    if (at->training_mode) {
        jt_pool_run(a->pool, FN(bn_stats_task), &j, chan);
    } else {
        for (int64_t c = 0; c < chan; c++) {
            bm[c] = jt_tensor_get_f64(rm, c);
            bv[c] = jt_tensor_get_f64(rv, c);
        }
    }
    for (int64_t c = 0; c < chan; c++) {
        k[c] = jt_tensor_get_f64(scale, c) / sqrt(bv[c] + at->eps);
        sh[c] = jt_tensor_get_f64(bias, c) - bm[c] * k[c];
    }
    /* outputs 1, 2: running statistics; 3, 4: saved (batch) mean and variance (6/7/9) */
    for (int o = 1; o < a->n_out; o++) {
        jt_tensor *t = a->out[o];
        if (!t) continue;
        for (int64_t c = 0; c < chan; c++) {
            double v = o == 1   ? jt_tensor_get_f64(rm, c) * at->momentum + bm[c] * (1 - at->momentum)
                       : o == 2 ? jt_tensor_get_f64(rv, c) * at->momentum + bv[c] * (1 - at->momentum)
                       : o == 3 ? bm[c]
                                : bv[c];
            set_f64(t, c, v);
        }
    }
    jt_pool_run(a->pool, FN(bn_apply_task), &j, plane >= 64 ? j.N * chan : j.N);
    return JT_OK;
}

#undef FN
#undef CAT
#undef CAT_
