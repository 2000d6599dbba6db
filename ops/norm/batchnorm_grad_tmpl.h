/* BatchNormalizationGrad kernels over a scalar type; included by batchnorm.c with T and SFX defined.
 * Per channel (tasks over channels, sums in double in a fixed order): the statistics (the batch's in
 * training mode, as the forward computes them), then sum(dY) and sum(dY * xhat). dX per plane. */
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

static void FN(bng_stats_task)(void *arg, int64_t c) {
    const FN(bng_job) *j = arg;
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

static void FN(bng_reduce_task)(void *arg, int64_t c) {
    const FN(bng_job) *j = arg;
    double s = 0, sx = 0, m = j->mean[c];
    for (int64_t n = 0; n < j->N; n++) {
        const T *g = j->dy + (n * j->chan + c) * j->plane;
        for (int64_t i = 0; i < j->plane; i++) s += g[i];
        if (j->x) {
            const T *p = j->x + (n * j->chan + c) * j->plane;
            for (int64_t i = 0; i < j->plane; i++) sx += g[i] * (p[i] - m);
        }
    }
    j->out_sdy[c] = s;
    j->out_sdyx[c] = sx * j->invstd[c];
}

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
    if (at->training_mode) {
        jt_pool_run(a->pool, FN(bng_stats_task), &j, chan);
    } else {
        for (int64_t c = 0; c < chan; c++) {
            mean[c] = jt_tensor_get_f64(a->in[4], c);
            var[c] = jt_tensor_get_f64(a->in[5], c);
        }
    }
    for (int64_t c = 0; c < chan; c++) {
        invstd[c] = 1.0 / sqrt(var[c] + at->eps);
        k[c] = jt_tensor_get_f64(scale, c) * invstd[c];
    }
    bool need_sums = at->training_mode;
    for (int i = 0; i < at->n_grads; i++) need_sums |= at->grads[i] != 0;
    if (need_sums) jt_pool_run(a->pool, FN(bng_reduce_task), &j, chan);
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
