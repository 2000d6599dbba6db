/* BatchNormalizationGrad kernels over a scalar type; included by batchnorm.c with T and SFX defined.
 * Per channel (tasks over channels, sums in double in a fixed order): the statistics (the batch's in
 * training mode, as the forward computes them: mean, then the variance about it), sum(dY) and
 * sum(dY * xhat) (in training mode in the pass that gives the variance). dX per plane. */
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

typedef struct {
    const T *dy, *x; /* x may be NULL (inference, dX only) */
    T *dx;
    const double *mean, *invstd, *k, *sdy, *sdyx;
    double *stat_mean, *stat_var, *out_sdy, *out_sdyx;
    int64_t N, chan, plane;
    bool training;
} FN(bng_job);

/* Sums in double over 8 lanes (element i of a plane goes to lane i % 8, planes in order of n), the lanes
 * added in a fixed tree at the end: the order depends on the shape only, not on the thread count, and the
 * 8 independent chains vectorise instead of waiting on one add after another. */
#define BNG_LANES 8
static inline double FN(bng_lanes_total)(const double *a) {
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* Training, pass 1: the batch mean of channel c. */
static void FN(bng_mean_task)(void *arg, int64_t c) {
    const FN(bng_job) *j = arg;
    double a[BNG_LANES] = {0};
    for (int64_t n = 0; n < j->N; n++) {
        const T *p = j->x + (n * j->chan + c) * j->plane;
        int64_t i = 0;
        for (; i + BNG_LANES <= j->plane; i += BNG_LANES)
            for (int l = 0; l < BNG_LANES; l++) a[l] += (double)p[i + l];
        for (int l = 0; i < j->plane; i++, l++) a[l] += (double)p[i];
    }
    double cnt = (double)(j->N * j->plane);
    j->stat_mean[c] = cnt > 0 ? FN(bng_lanes_total)(a) / cnt : 0;
}

/* Pass 2 (training: with the variance about the mean of pass 1; inference: x may be NULL):
 * sum(dY) and sum(dY (x - mean)) into out_sdy / out_sdyx (the caller scales the latter by invstd). */
static void FN(bng_sums_task)(void *arg, int64_t c) {
    const FN(bng_job) *j = arg;
    double s[BNG_LANES] = {0}, sx[BNG_LANES] = {0}, ss[BNG_LANES] = {0};
    double m = j->training ? j->stat_mean[c] : j->mean[c];
    for (int64_t n = 0; n < j->N; n++) {
        const T *g = j->dy + (n * j->chan + c) * j->plane;
        const T *p = j->x ? j->x + (n * j->chan + c) * j->plane : NULL;
        int64_t i = 0;
        if (!p) {
            for (; i + BNG_LANES <= j->plane; i += BNG_LANES)
                for (int l = 0; l < BNG_LANES; l++) s[l] += (double)g[i + l];
            for (int l = 0; i < j->plane; i++, l++) s[l] += (double)g[i];
        } else if (!j->training) {
            for (; i + BNG_LANES <= j->plane; i += BNG_LANES)
                for (int l = 0; l < BNG_LANES; l++) {
                    double gv = g[i + l];
                    s[l] += gv;
                    sx[l] += gv * ((double)p[i + l] - m);
                }
            for (int l = 0; i < j->plane; i++, l++) {
                double gv = g[i];
                s[l] += gv;
                sx[l] += gv * ((double)p[i] - m);
            }
        } else {
            for (; i + BNG_LANES <= j->plane; i += BNG_LANES)
                for (int l = 0; l < BNG_LANES; l++) {
                    double gv = g[i + l], d = (double)p[i + l] - m;
                    s[l] += gv;
                    sx[l] += gv * d;
                    ss[l] += d * d;
                }
            for (int l = 0; i < j->plane; i++, l++) {
                double gv = g[i], d = (double)p[i] - m;
                s[l] += gv;
                sx[l] += gv * d;
                ss[l] += d * d;
            }
        }
    }
    if (j->training) {
        double cnt = (double)(j->N * j->plane);
        j->stat_var[c] = cnt > 0 ? FN(bng_lanes_total)(ss) / cnt : 0;
    }
    j->out_sdy[c] = FN(bng_lanes_total)(s);
    j->out_sdyx[c] = FN(bng_lanes_total)(sx);
}
#undef BNG_LANES

/* dX: inference k dY; training k (dY - sum(dY)/cnt - xhat sum(dY xhat)/cnt). One task per plane (n, c),
 * or per image when planes are small. */
static void FN(bng_dx_task)(void *arg, int64_t t) {
    const FN(bng_job) *j = arg;
    int64_t c0 = 0, c1 = j->chan, n = t;
    if (j->plane >= 64) {
        n = t / j->chan;
        c0 = t % j->chan;
        c1 = c0 + 1;
    }
    double cnt = (double)(j->N * j->plane);
    for (int64_t c = c0; c < c1; c++) {
        const T *g = j->dy + (n * j->chan + c) * j->plane;
        T *q = j->dx + (n * j->chan + c) * j->plane;
        T k = (T)j->k[c];
        if (!j->training) {
            for (int64_t i = 0; i < j->plane; i++) q[i] = k * g[i];
            continue;
        }
        const T *p = j->x + (n * j->chan + c) * j->plane;
        T m = (T)j->mean[c], off = (T)(j->k[c] * j->sdy[c] / cnt);
        T slope = (T)(j->k[c] * j->invstd[c] * j->sdyx[c] / cnt);
        for (int64_t i = 0; i < j->plane; i++) q[i] = k * g[i] - off - (p[i] - m) * slope;
    }
}

static jt_status FN(bn_grad_cpu)(const jt_kernel_args *a) {
    const bn_grad_attrs *at = a->attrs;
    const jt_tensor *dY = a->in[0], *X = a->in[1], *scale = a->in[2];
    int64_t chan, plane;
    bn_split(at->spatial, dY, &chan, &plane);
    if (!a->ws || a->ws_size < (size_t)chan * 6 * sizeof(double))
        return jt_fail(a->ctx, JT_ERR_INTERNAL, "node '%s': BatchNormalizationGrad workspace missing", a->node->name);
    double *mean = a->ws, *var = mean + chan, *invstd = var + chan, *k = invstd + chan, *sdy = k + chan,
           *sdyx = sdy + chan;
    FN(bng_job) j = {dY->data, X ? X->data : NULL, NULL, mean, invstd, k, sdy, sdyx, mean, var, sdy, sdyx,
                     dY->dims[0], chan, plane, at->training_mode != 0};
    bool need_sums = at->training_mode;
    for (int i = 0; i < at->n_grads; i++) need_sums |= at->grads[i] != 0;
    if (at->training_mode) {
        /* the mean, then the variance together with the sums (one pass over x and dY) */
        jt_pool_run(a->pool, FN(bng_mean_task), &j, chan);
        jt_pool_run(a->pool, FN(bng_sums_task), &j, chan);
    } else {
        for (int64_t c = 0; c < chan; c++) {
            mean[c] = jt_tensor_get_f64(a->in[4], c);
            var[c] = jt_tensor_get_f64(a->in[5], c);
        }
        if (need_sums) jt_pool_run(a->pool, FN(bng_sums_task), &j, chan);
    }
    for (int64_t c = 0; c < chan; c++) {
        invstd[c] = 1.0 / sqrt(var[c] + at->eps);
        k[c] = jt_tensor_get_f64(scale, c) * invstd[c];
        if (need_sums) sdyx[c] *= invstd[c];
    }
    for (int i = 0; i < at->n_grads; i++) {
        jt_tensor *o = a->out[i];
        if (at->grads[i] == 0) {
            j.dx = o->data;
            jt_pool_run(a->pool, FN(bng_dx_task), &j, plane >= 64 ? j.N * chan : j.N);
        } else {
            for (int64_t c = 0; c < chan; c++) set_f64(o, c, at->grads[i] == 1 ? sdyx[c] : sdy[c]);
        }
    }
    return JT_OK;
}

#undef FN
#undef CAT
#undef CAT_
