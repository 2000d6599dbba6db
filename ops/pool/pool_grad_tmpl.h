/* Pooling gradient kernels over a scalar type; included by pool_grad.c with T and SFX defined. One task
 * per (n, c) plane, which owns its dX plane: zeroed, then each window's gradient added in window order.
 *   max: the window's argmax is recomputed from X with the forward's scan (the first maximum in
 *        (d, h, w) order takes the gradient, as in PyTorch);
 *   avg: dY / count spread over the window's input elements, count as in the forward
 *        (count_include_pad counts the padding inside the padded extent, never past it). */
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

typedef struct {
    const pool_geom *geo;
    const pool_attrs *at;
    const T *dy, *x; /* x: MaxPool only */
    T *dx;
} FN(pool_grad_job);

/* 2-D max pooling with 2x2 windows, stride 2, no padding or dilation (every window inside the plane):
 * the windows do not overlap, so each dX element is the window's dY at its argmax (the first maximum in
 * (h, w) order, as the general loop picks it) or zero, written once. */
static bool FN(pool_grad_max2x2)(const pool_geom *g, const pool_attrs *at) {
    if (at->kind != POOL_MAX || g->in[0] != 1 || g->out[0] != 1 || g->k[0] != 1) return false;
    for (int a = 1; a < 3; a++)
        if (g->k[a] != 2 || g->s[a] != 2 || g->d[a] != 1 || g->pb[a] != 0 || 2 * g->out[a] > g->in[a]) return false;
    return true;
}

static void FN(pool_grad_max2x2_plane)(const pool_geom *g, const T *dy, const T *src, T *dx) {
    const int64_t W = g->in[2], OW = g->out[2];
    if (2 * g->out[1] != g->in[1] || 2 * OW != W) memset(dx, 0, sizeof(T) * (size_t)g->in_sz);
    for (int64_t oh = 0; oh < g->out[1]; oh++) {
        const T *r0 = src + 2 * oh * W, *r1 = r0 + W;
        T *d0 = dx + 2 * oh * W, *d1 = d0 + W;
        const T *gy = dy + oh * OW;
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t i = 2 * ow;
            T m = r0[i];
            int b = 0;
            if (r0[i + 1] > m) m = r0[i + 1], b = 1;
            if (r1[i] > m) m = r1[i], b = 2;
            if (r1[i + 1] > m) b = 3;
            const T v = gy[ow], z = 0;
            d0[i] = b == 0 ? v : z;
            d0[i + 1] = b == 1 ? v : z;
            d1[i] = b == 2 ? v : z;
            d1[i + 1] = b == 3 ? v : z;
        }
    }
}

static void FN(pool_grad_task)(void *arg, int64_t t) {
    const FN(pool_grad_job) *j = arg;
    const pool_geom *g = j->geo;
    const pool_attrs *at = j->at;
    const T *dy = j->dy + t * g->out_sz, *src = j->x ? j->x + t * g->in_sz : NULL;
    T *dx = j->dx + t * g->in_sz;
    if (FN(pool_grad_max2x2)(g, at)) {
        FN(pool_grad_max2x2_plane)(g, dy, src, dx);
        return;
    }
    memset(dx, 0, sizeof(T) * (size_t)g->in_sz);
    if (at->kind == POOL_GAVG) {
        T v = (T)((double)dy[0] / (double)g->in_sz);
        for (int64_t i = 0; i < g->in_sz; i++) dx[i] = v;
        return;
    }
    if (at->kind == POOL_GMAX) {
        int64_t best = 0;
        for (int64_t i = 1; i < g->in_sz; i++)
            if (src[i] > src[best]) best = i;
        dx[best] = dy[0];
        return;
    }
    bool is_max = at->kind == POOL_MAX;
    for (int64_t od = 0; od < g->out[0]; od++)
        for (int64_t oh = 0; oh < g->out[1]; oh++)
            for (int64_t ow = 0; ow < g->out[2]; ow++) {
                int64_t st[3] = {od * g->s[0] - g->pb[0], oh * g->s[1] - g->pb[1], ow * g->s[2] - g->pb[2]};
                int64_t lo[3], hi[3];
                for (int a = 0; a < 3; a++) jt_pool_axis_range(st[a], g->d[a], g->in[a], g->k[a], &lo[a], &hi[a]);
                T gy = dy[(od * g->out[1] + oh) * g->out[2] + ow];
                if (is_max) {
                    T m = 0;
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
                                    best = (id * g->in[1] + ih) * g->in[2] + iw;
                                }
                            }
                        }
                    }
                    if (best >= 0) dx[best] += gy;
                } else {
                    int64_t cnt = 1;
                    if (at->count_include_pad) {
                        for (int a = 0; a < 3; a++) {
                            int64_t e = st[a] + g->k[a];
                            if (e > g->in[a] + g->pe[a]) e = g->in[a] + g->pe[a];
                            cnt *= e - st[a];
                        }
                    } else {
                        cnt = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
                    }
                    if (cnt <= 0) continue;
                    T v = (T)((double)gy / (double)cnt);
                    for (int64_t kd = lo[0]; kd < hi[0]; kd++)
                        for (int64_t kh = lo[1]; kh < hi[1]; kh++) {
                            T *row = dx + ((st[0] + kd) * g->in[1] + st[1] + kh) * g->in[2] + st[2];
                            for (int64_t kw = lo[2]; kw < hi[2]; kw++) row[kw] += v;
                        }
                }
            }
}

static jt_status FN(pool_grad_cpu)(const jt_kernel_args *a) {
    const pool_attrs *at = a->attrs;
    pool_geom geo;
    JT_TRY(jt_pool_geom_make(a->ctx, NULL, a->node, at, a->out[0], &geo));
    bool is_max = at->kind == POOL_MAX || at->kind == POOL_GMAX;
    FN(pool_grad_job) j = {&geo, at, a->in[0]->data, is_max ? a->in[1]->data : NULL, a->out[0]->data};
    jt_pool_run(a->pool, FN(pool_grad_task), &j, geo.N * geo.C);
    return JT_OK;
}

#undef FN
#undef CAT
#undef CAT_
