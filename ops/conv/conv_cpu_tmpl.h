/* Conv / ConvTranspose CPU kernels, written once over a scalar type. Included by conv_cpu.c with
 *   T     scalar type (float, double)
 *   SFX   name suffix (f32, f64)
 *   GEMM  jt_sgemm / jt_dgemm
 * Conv: im2col (parallel over images x channels) + one GEMM per group over a chunk of images (from the
 * calling thread), then a parallel scatter to NCHW with the bias. 1x1 stride-1 convs of one image per
 * chunk use X directly. One-input-channel-per-group convs (depthwise) run a direct loop per plane.
 * ConvTranspose: GEMM W^T X per image and group, then col2im (parallel over output channels). */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

typedef struct {
    const jt_conv_geom *geo;
    const T *x; /* first image of the chunk */
    T *col;     /* [C*k_sz] x [nb*out_sz] */
    int64_t nb;
} FN(im2col_job);

static void FN(im2col_task)(void *arg, int64_t t) {
    const FN(im2col_job) *j = arg;
    const jt_conv_geom *g = j->geo;
    int64_t n = t / g->C, c = t % g->C, ld = j->nb * g->out_sz;
    const T *src = j->x + (n * g->C + c) * g->in_sz;
    int64_t row = c * g->k_sz;
    for (int64_t kd = 0; kd < g->k[0]; kd++)
        for (int64_t kh = 0; kh < g->k[1]; kh++)
            for (int64_t kw = 0; kw < g->k[2]; kw++, row++) {
                T *dst = j->col + row * ld + n * g->out_sz;
                int64_t lo, hi;
                axis_range(kw * g->d[2] - g->pb[2], g->s[2], g->in[2], g->out[2], &lo, &hi);
                for (int64_t od = 0; od < g->out[0]; od++) {
                    int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                    for (int64_t oh = 0; oh < g->out[1]; oh++, dst += g->out[2]) {
                        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                        if (id < 0 || id >= g->in[0] || ih < 0 || ih >= g->in[1]) {
                            for (int64_t ow = 0; ow < g->out[2]; ow++) dst[ow] = 0;
                            continue;
                        }
                        const T *s = src + (id * g->in[1] + ih) * g->in[2] + kw * g->d[2] - g->pb[2];
                        for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0;
                        if (g->s[2] == 1)
                            for (int64_t ow = lo; ow < hi; ow++) dst[ow] = s[ow];
                        else
                            for (int64_t ow = lo; ow < hi; ow++) dst[ow] = s[ow * g->s[2]];
                        for (int64_t ow = hi; ow < g->out[2]; ow++) dst[ow] = 0;
                    }
                }
            }
}

typedef struct {
    const jt_conv_geom *geo;
    const T *tmp;  /* [M] x [nb*out_sz], or NULL: y already holds the GEMM result */
    const T *bias; /* [M] or NULL */
    T *y;          /* first image of the chunk */
    int64_t nb;
} FN(epilogue_job);

/* One task per (image, channel): y = tmp (reordered) + bias. */
static void FN(epilogue_task)(void *arg, int64_t t) {
    const FN(epilogue_job) *j = arg;
    const jt_conv_geom *g = j->geo;
    int64_t n = t / g->M, m = t % g->M, osz = g->out_sz;
    T *dst = j->y + (n * g->M + m) * osz;
    T b = j->bias ? j->bias[m] : (T)0;
    if (j->tmp) {
        const T *src = j->tmp + m * j->nb * osz + n * osz;
        for (int64_t o = 0; o < osz; o++) dst[o] = src[o] + b;
    } else {
        for (int64_t o = 0; o < osz; o++) dst[o] += b;
    }
}

typedef struct {
    const jt_conv_geom *geo;
    const T *x, *w, *bias;
    T *y;
} FN(direct_job);

/* Depthwise (one input channel per group): one task per output plane (n, m). */
static void FN(depthwise_task)(void *arg, int64_t t) {
    const FN(direct_job) *j = arg;
    const jt_conv_geom *g = j->geo;
    int64_t n = t / g->M, m = t % g->M, c = m / g->Mg;
    const T *src = j->x + (n * g->C + c) * g->in_sz, *wk = j->w + m * g->k_sz;
    T *dst = j->y + (n * g->M + m) * g->out_sz;
    T b = j->bias ? j->bias[m] : (T)0;
    for (int64_t o = 0; o < g->out_sz; o++) dst[o] = b;
    for (int64_t kw = 0; kw < g->k[2]; kw++) {
        int64_t lo, hi, off = kw * g->d[2] - g->pb[2], sw = g->s[2];
        axis_range(off, sw, g->in[2], g->out[2], &lo, &hi);
        for (int64_t od = 0; od < g->out[0]; od++)
            for (int64_t oh = 0; oh < g->out[1]; oh++) {
                T *row = dst + (od * g->out[1] + oh) * g->out[2];
                for (int64_t kd = 0; kd < g->k[0]; kd++) {
                    int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                    if (id < 0 || id >= g->in[0]) continue;
                    for (int64_t kh = 0; kh < g->k[1]; kh++) {
                        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                        if (ih < 0 || ih >= g->in[1]) continue;
                        T wv = wk[(kd * g->k[1] + kh) * g->k[2] + kw];
                        const T *s = src + (id * g->in[1] + ih) * g->in[2] + off;
                        if (sw == 1)
                            for (int64_t ow = lo; ow < hi; ow++) row[ow] += wv * s[ow];
                        else
                            for (int64_t ow = lo; ow < hi; ow++) row[ow] += wv * s[ow * sw];
                    }
                }
            }
    }
}

jt_status FN(jt_conv_cpu)(const jt_kernel_args *a) {
#ifdef FAST_PATH
    if (a->state && FAST_PATH(a)) return JT_OK;
#endif
    jt_conv_geom geo;
    JT_TRY(jt_conv_geom_make(a->ctx, NULL, a->node, a->attrs, a->in[0], a->in[1], &geo));
    const T *x = a->in[0]->data, *w = a->in[1]->data;
    const T *bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    T *y = a->out[0]->data;
    if (jt_conv_is_depthwise(&geo)) {
        FN(direct_job) j = {&geo, x, w, bias, y};
        jt_pool_run(a->pool, FN(depthwise_task), &j, geo.N * geo.M);
        return JT_OK;
    }
    int64_t nb = jt_conv_chunk(&geo), osz = geo.out_sz, ck = geo.Cg * geo.k_sz;
    bool direct = nb == 1 && jt_conv_is_pointwise(&geo);
    T *col = a->ws;
    T *tmp = nb > 1 ? col + geo.C * geo.k_sz * nb * osz : NULL;
    for (int64_t n0 = 0; n0 < geo.N; n0 += nb) {
        int64_t nbc = geo.N - n0 < nb ? geo.N - n0 : nb, ld = nbc * osz;
        const T *xn = x + n0 * geo.C * geo.in_sz;
        T *yn = y + n0 * geo.M * osz;
        if (!direct) {
            FN(im2col_job) ij = {&geo, xn, col, nbc};
            jt_pool_run(a->pool, FN(im2col_task), &ij, nbc * geo.C);
        }
        for (int64_t gi = 0; gi < geo.G; gi++) {
            const T *A = w + gi * geo.Mg * ck;
            const T *B = direct ? xn + gi * geo.Cg * osz : col + gi * ck * ld;
            T *Cm = nb > 1 ? tmp + gi * geo.Mg * ld : yn + gi * geo.Mg * osz;
            GEMM(a->ctx, a->pool, false, false, geo.Mg, ld, ck, (T)1, A, ck, B, ld, (T)0, Cm, ld);
        }
        if (nb > 1 || bias) {
            FN(epilogue_job) ej = {&geo, nb > 1 ? tmp : NULL, bias, yn, nbc};
            jt_pool_run(a->pool, FN(epilogue_task), &ej, nbc * geo.M);
        }
    }
    return JT_OK;
}

typedef struct {
    const jt_conv_geom *geo;
    const T *col; /* [M*k_sz] x [in_sz] */
    const T *bias;
    T *y; /* one image */
} FN(col2im_job);

/* One task per output channel: y[m] = bias + sum over kernel taps of the scattered col rows. */
static void FN(col2im_task)(void *arg, int64_t m) {
    const FN(col2im_job) *j = arg;
    const jt_conv_geom *g = j->geo;
    T *dst = j->y + m * g->out_sz;
    T b = j->bias ? j->bias[m] : (T)0;
    for (int64_t o = 0; o < g->out_sz; o++) dst[o] = b;
    const T *row = j->col + m * g->k_sz * g->in_sz;
    for (int64_t kd = 0; kd < g->k[0]; kd++)
        for (int64_t kh = 0; kh < g->k[1]; kh++)
            for (int64_t kw = 0; kw < g->k[2]; kw++, row += g->in_sz) {
                int64_t lo, hi, off = kw * g->d[2] - g->pb[2], sw = g->s[2];
                axis_range(off, sw, g->out[2], g->in[2], &lo, &hi);
                for (int64_t id = 0; id < g->in[0]; id++) {
                    int64_t od = id * g->s[0] - g->pb[0] + kd * g->d[0];
                    if (od < 0 || od >= g->out[0]) continue;
                    for (int64_t ih = 0; ih < g->in[1]; ih++) {
                        int64_t oh = ih * g->s[1] - g->pb[1] + kh * g->d[1];
                        if (oh < 0 || oh >= g->out[1]) continue;
                        const T *s = row + (id * g->in[1] + ih) * g->in[2];
                        T *d = dst + (od * g->out[1] + oh) * g->out[2] + off;
                        for (int64_t iw = lo; iw < hi; iw++) d[iw * sw] += s[iw];
                    }
                }
            }
}

jt_status FN(jt_convt_cpu)(const jt_kernel_args *a) {
    jt_conv_geom geo;
    JT_TRY(jt_conv_geom_make(a->ctx, NULL, a->node, a->attrs, a->in[0], a->in[1], &geo));
    const T *x = a->in[0]->data, *w = a->in[1]->data;
    const T *bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    T *y = a->out[0]->data, *col = a->ws;
    int64_t mk = geo.Mg * geo.k_sz;
    for (int64_t n = 0; n < geo.N; n++) {
        const T *xn = x + n * geo.C * geo.in_sz;
        for (int64_t gi = 0; gi < geo.G; gi++)
            GEMM(a->ctx, a->pool, true, false, mk, geo.in_sz, geo.Cg, (T)1, w + gi * geo.Cg * mk, mk,
                 xn + gi * geo.Cg * geo.in_sz, geo.in_sz, (T)0, col + gi * mk * geo.in_sz, geo.in_sz);
        FN(col2im_job) cj = {&geo, col, bias, y + n * geo.M * geo.out_sz};
        jt_pool_run(a->pool, FN(col2im_task), &cj, geo.M);
    }
    return JT_OK;
}

#undef FN
#undef CAT
#undef CAT_
