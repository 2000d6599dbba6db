/* Pooling kernels over a scalar type; included by pool.c with T, SFX, LOWEST, IS_FLOAT defined.
 * One task per (n, c) plane. */
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

typedef struct {
    const pool_geom *geo;
    const pool_attrs *at;
    const T *x;
    T *y;
    int64_t *idx; /* MaxPool Indices, or NULL */
} FN(pool_job);

static void FN(pool_task)(void *arg, int64_t t) {
    const FN(pool_job) *j = arg;
    const pool_geom *g = j->geo;
    const pool_attrs *at = j->at;
    const T *src = j->x + t * g->in_sz;
    T *dst = j->y + t * g->out_sz;
    bool is_max = at->kind == POOL_MAX || at->kind == POOL_GMAX;
    if (at->kind == POOL_GAVG || at->kind == POOL_GMAX) {
#if IS_FLOAT
        if (!is_max) {
            double acc = 0;
            for (int64_t i = 0; i < g->in_sz; i++) acc += src[i];
            dst[0] = (T)(acc / (double)g->in_sz);
            return;
        }
#endif
        T m = LOWEST;
        for (int64_t i = 0; i < g->in_sz; i++)
            if (src[i] > m || i == 0) m = src[i];
        dst[0] = m;
        return;
    }
    for (int64_t od = 0; od < g->out[0]; od++)
        for (int64_t oh = 0; oh < g->out[1]; oh++)
            for (int64_t ow = 0; ow < g->out[2]; ow++) {
                int64_t st[3] = {od * g->s[0] - g->pb[0], oh * g->s[1] - g->pb[1], ow * g->s[2] - g->pb[2]};
                int64_t lo[3], hi[3];
                for (int a = 0; a < 3; a++) jt_pool_axis_range(st[a], g->d[a], g->in[a], g->k[a], &lo[a], &hi[a]);
                int64_t o = (od * g->out[1] + oh) * g->out[2] + ow;
                if (is_max) {
                    T m = LOWEST;
                    int64_t best = -1;
                    for (int64_t kd = lo[0]; kd < hi[0]; kd++) {
                        int64_t id = st[0] + kd * g->d[0];
                        for (int64_t kh = lo[1]; kh < hi[1]; kh++) {
                            int64_t ih = st[1] + kh * g->d[1];
                            const T *row = src + (id * g->in[1] + ih) * g->in[2];
                            for (int64_t kw = lo[2]; kw < hi[2]; kw++) {
                                int64_t iw = st[2] + kw * g->d[2];
                                if (best < 0 || row[iw] > m) {
                                    m = row[iw];
                                    best = at->storage_order ? id + g->in[0] * (ih + g->in[1] * iw)
                                                             : (id * g->in[1] + ih) * g->in[2] + iw;
                                }
                            }
                        }
                    }
                    dst[o] = m;
                    if (j->idx) j->idx[t * g->out_sz + o] = t * g->in_sz + (best < 0 ? 0 : best);
                } else {
#if IS_FLOAT
                    double acc = 0;
                    int64_t cnt = 1;
                    for (int64_t kd = lo[0]; kd < hi[0]; kd++)
                        for (int64_t kh = lo[1]; kh < hi[1]; kh++) {
                            const T *row = src + ((st[0] + kd) * g->in[1] + st[1] + kh) * g->in[2] + st[2];
                            for (int64_t kw = lo[2]; kw < hi[2]; kw++) acc += row[kw];
                        }
                    if (at->count_include_pad) {
                        for (int a = 0; a < 3; a++) {
                            int64_t e = st[a] + g->k[a];
                            if (e > g->in[a] + g->pe[a]) e = g->in[a] + g->pe[a];
                            cnt *= e - st[a];
                        }
                    } else {
                        cnt = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
                    }
                    dst[o] = cnt > 0 ? (T)(acc / (double)cnt) : (T)0;
#endif
                }
            }
}

static jt_status FN(pool_cpu)(const jt_kernel_args *a) {
    const pool_attrs *at = a->attrs;
    pool_geom geo;
    JT_TRY(jt_pool_geom_make(a->ctx, NULL, a->node, at, a->in[0], &geo));
    FN(pool_job) j = {&geo, at, a->in[0]->data, a->out[0]->data,
                      a->n_out > 1 && a->out[1] ? a->out[1]->data : NULL};
    jt_pool_run(a->pool, FN(pool_task), &j, geo.N * geo.C);
    return JT_OK;
}

#undef FN
#undef CAT
#undef CAT_
