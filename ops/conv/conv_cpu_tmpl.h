/* Conv / ConvTranspose kernels and their gradients, written once over a scalar type. Included by
 * conv_cpu.c with
 *   T     scalar type (float, double)
 *   SFX   name suffix (f32, f64)
 *   GEMM  jt_sgemm / jt_dgemm
 * All work on a convolution-terms geometry (X the input side, Y the output side) and chunks of images
 * (jt_conv_chunk); BLAS runs from the calling thread, pool tasks never call it.
 *   forward:  im2col (parallel over images x channels) + one GEMM per group, then a parallel scatter to
 *             NCHW with the bias. 1x1 stride-1 convs of one image per chunk use X directly.
 *   data grad (= ConvTranspose forward): gather the chunk's dY per channel, GEMM W^T dY per group, col2im
 *             (parallel over images x input channels).
 *   filter grad: im2col(X) and gathered dY, GEMM dY col^T per group accumulated over chunks.
 * One-input-channel-per-group convs (depthwise) run direct loops instead (per plane / per channel).
 * Optional hooks FAST_FWD / FAST_BWD_DATA / FAST_BWD_FILTER(pool, geo, ...) run first and return true when
 * they handled the call (conv_cpu.c points them at the float32 packed-SGEMM paths, conv_packed.h). */

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

jt_status FN(jt_conv_fwd)(jt_ctx *ctx, jt_pool *pool, const jt_conv_geom *gp, const T *x, const T *w,
                         const T *bias, T *y, void *ws) {
#ifdef FAST_FWD
    if (FAST_FWD(pool, gp, x, w, bias, y, ws)) return JT_OK;
#endif
    const jt_conv_geom geo = *gp;
    if (jt_conv_is_depthwise(&geo)) {
        FN(direct_job) j = {&geo, x, w, bias, y};
        jt_pool_run(pool, FN(depthwise_task), &j, geo.N * geo.M);
        return JT_OK;
    }
    int64_t nb = jt_conv_chunk(&geo), osz = geo.out_sz, ck = geo.Cg * geo.k_sz;
    bool direct = nb == 1 && jt_conv_is_pointwise(&geo);
    T *col = ws;
    T *tmp = nb > 1 ? col + geo.C * geo.k_sz * nb * osz : NULL;
    for (int64_t n0 = 0; n0 < geo.N; n0 += nb) {
        int64_t nbc = geo.N - n0 < nb ? geo.N - n0 : nb, ld = nbc * osz;
        const T *xn = x + n0 * geo.C * geo.in_sz;
        T *yn = y + n0 * geo.M * osz;
        if (!direct) {
            FN(im2col_job) ij = {&geo, xn, col, nbc};
            jt_pool_run(pool, FN(im2col_task), &ij, nbc * geo.C);
        }
        for (int64_t gi = 0; gi < geo.G; gi++) {
            const T *A = w + gi * geo.Mg * ck;
            const T *B = direct ? xn + gi * geo.Cg * osz : col + gi * ck * ld;
            T *Cm = nb > 1 ? tmp + gi * geo.Mg * ld : yn + gi * geo.Mg * osz;
            GEMM(ctx, pool, false, false, geo.Mg, ld, ck, (T)1, A, ck, B, ld, (T)0, Cm, ld);
        }
        if (nb > 1 || bias) {
            FN(epilogue_job) ej = {&geo, nb > 1 ? tmp : NULL, bias, yn, nbc};
            jt_pool_run(pool, FN(epilogue_task), &ej, nbc * geo.M);
        }
    }
    return JT_OK;
}

jt_status FN(jt_conv_cpu)(const jt_kernel_args *a) {
#ifdef FAST_PATH
    if (a->state && FAST_PATH(a)) return JT_OK;
#endif
    jt_conv_geom geo;
    JT_TRY(jt_conv_geom_make(a->ctx, NULL, a->node, a->attrs, a->in[0], a->in[1], &geo));
    const T *bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    return FN(jt_conv_fwd)(a->ctx, a->pool, &geo, a->in[0]->data, a->in[1]->data, bias, a->out[0]->data, a->ws);
}

typedef struct {
    const jt_conv_geom *geo;
    const T *col;  /* [C*k_sz] x [ld]: image n's columns start at n*out_sz */
    const T *bias; /* [C] or NULL */
    T *dx;         /* first image of the chunk */
    int64_t ld;
} FN(col2im_job);

/* One task per (image, input channel): dx[n][c] = bias + the scattered col rows of channel c. */
static void FN(col2im_task)(void *arg, int64_t t) {
    const FN(col2im_job) *j = arg;
    const jt_conv_geom *g = j->geo;
    int64_t n = t / g->C, c = t % g->C;
    T *dst = j->dx + (n * g->C + c) * g->in_sz;
    T b = j->bias ? j->bias[c] : (T)0;
    for (int64_t i = 0; i < g->in_sz; i++) dst[i] = b;
    const T *row = j->col + c * g->k_sz * j->ld + n * g->out_sz;
    for (int64_t kd = 0; kd < g->k[0]; kd++)
        for (int64_t kh = 0; kh < g->k[1]; kh++)
            for (int64_t kw = 0; kw < g->k[2]; kw++, row += j->ld) {
                int64_t lo, hi, off = kw * g->d[2] - g->pb[2], sw = g->s[2];
                axis_range(off, sw, g->in[2], g->out[2], &lo, &hi);
                for (int64_t od = 0; od < g->out[0]; od++) {
                    int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                    if (id < 0 || id >= g->in[0]) continue;
                    for (int64_t oh = 0; oh < g->out[1]; oh++) {
                        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                        if (ih < 0 || ih >= g->in[1]) continue;
                        const T *s = row + (od * g->out[1] + oh) * g->out[2];
                        T *d = dst + (id * g->in[1] + ih) * g->in[2] + off;
                        if (sw == 1)
                            for (int64_t ow = lo; ow < hi; ow++) d[ow] += s[ow];
                        else
                            for (int64_t ow = lo; ow < hi; ow++) d[ow * sw] += s[ow];
                    }
                }
            }
}

typedef struct {
    const jt_conv_geom *geo;
    const T *src; /* first image of the chunk, [nb][M][out_sz] */
    T *dst;       /* [M] x [nb*out_sz] */
    int64_t nb;
} FN(gather_job);

/* One task per (image, output channel): the chunk's dY planes side by side per channel. */
static void FN(gather_task)(void *arg, int64_t t) {
    const FN(gather_job) *j = arg;
    const jt_conv_geom *g = j->geo;
    int64_t n = t / g->M, m = t % g->M;
    memcpy(j->dst + (m * j->nb + n) * g->out_sz, j->src + (n * g->M + m) * g->out_sz, sizeof(T) * (size_t)g->out_sz);
}

/* Depthwise data gradient: one task per input plane (n, c), scattering its Mg output planes. */
static void FN(depthwise_data_task)(void *arg, int64_t t) {
    const FN(direct_job) *j = arg; /* x = dY, y = dX */
    const jt_conv_geom *g = j->geo;
    int64_t n = t / g->C, c = t % g->C;
    T *dst = j->y + (n * g->C + c) * g->in_sz;
    T b = j->bias ? j->bias[c] : (T)0;
    for (int64_t i = 0; i < g->in_sz; i++) dst[i] = b;
    for (int64_t m = c * g->Mg; m < (c + 1) * g->Mg; m++) {
        const T *src = j->x + (n * g->M + m) * g->out_sz, *wk = j->w + m * g->k_sz;
        for (int64_t kw = 0; kw < g->k[2]; kw++) {
            int64_t lo, hi, off = kw * g->d[2] - g->pb[2], sw = g->s[2];
            axis_range(off, sw, g->in[2], g->out[2], &lo, &hi);
            for (int64_t kd = 0; kd < g->k[0]; kd++)
                for (int64_t od = 0; od < g->out[0]; od++) {
                    int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                    if (id < 0 || id >= g->in[0]) continue;
                    for (int64_t kh = 0; kh < g->k[1]; kh++) {
                        T wv = wk[(kd * g->k[1] + kh) * g->k[2] + kw];
                        for (int64_t oh = 0; oh < g->out[1]; oh++) {
                            int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                            if (ih < 0 || ih >= g->in[1]) continue;
                            const T *s = src + (od * g->out[1] + oh) * g->out[2];
                            T *d = dst + (id * g->in[1] + ih) * g->in[2] + off;
                            if (sw == 1)
                                for (int64_t ow = lo; ow < hi; ow++) d[ow] += wv * s[ow];
                            else
                                for (int64_t ow = lo; ow < hi; ow++) d[ow * sw] += wv * s[ow];
                        }
                    }
                }
        }
    }
}

/* dX = col2im(W^T dY) (+ bias per input channel: ConvTranspose's forward). */
jt_status FN(jt_conv_bwd_data)(jt_ctx *ctx, jt_pool *pool, const jt_conv_geom *gp, const T *dy, const T *w,
                               const T *bias, T *dx, void *ws) {
#ifdef FAST_BWD_DATA
    if (FAST_BWD_DATA(pool, gp, dy, w, bias, dx, ws)) return JT_OK;
#endif
    const jt_conv_geom geo = *gp;
    if (jt_conv_is_depthwise(&geo)) {
        FN(direct_job) j = {&geo, dy, w, bias, dx};
        jt_pool_run(pool, FN(depthwise_data_task), &j, geo.N * geo.C);
        return JT_OK;
    }
    int64_t nb = jt_conv_chunk(&geo), osz = geo.out_sz, ck = geo.Cg * geo.k_sz;
    bool direct = nb == 1 && jt_conv_is_pointwise(&geo);
    T *col = ws;
    T *dyt = nb > 1 ? col + geo.C * geo.k_sz * nb * osz : NULL;
    for (int64_t n0 = 0; n0 < geo.N; n0 += nb) {
        int64_t nbc = geo.N - n0 < nb ? geo.N - n0 : nb, ld = nbc * osz;
        const T *dyn = dy + n0 * geo.M * osz;
        T *dxn = dx + n0 * geo.C * geo.in_sz;
        if (nb > 1) {
            FN(gather_job) gj = {&geo, dyn, dyt, nbc};
            jt_pool_run(pool, FN(gather_task), &gj, nbc * geo.M);
        }
        for (int64_t gi = 0; gi < geo.G; gi++) {
            const T *B = nb > 1 ? dyt + gi * geo.Mg * ld : dyn + gi * geo.Mg * osz;
            T *Cm = direct ? dxn + gi * geo.Cg * osz : col + gi * ck * ld;
            GEMM(ctx, pool, true, false, ck, ld, geo.Mg, (T)1, w + gi * geo.Mg * ck, ck, B, ld, (T)0, Cm, ld);
        }
        if (direct) {
            if (bias) {
                FN(epilogue_job) ej = {&geo, NULL, bias, dxn, 1};
                jt_conv_geom gb = geo; /* the epilogue walks [C] planes of in_sz */
                gb.M = geo.C;
                gb.out_sz = geo.in_sz;
                ej.geo = &gb;
                jt_pool_run(pool, FN(epilogue_task), &ej, geo.C);
            }
        } else {
            FN(col2im_job) cj = {&geo, col, bias, dxn, ld};
            jt_pool_run(pool, FN(col2im_task), &cj, nbc * geo.C);
        }
    }
    return JT_OK;
}

/* Depthwise filter gradient: one task per output channel m, each tap summed over images and positions. */
static void FN(depthwise_filter_task)(void *arg, int64_t m) {
    const FN(direct_job) *j = arg; /* x = X, w = dY, y = dW */
    const jt_conv_geom *g = j->geo;
    int64_t c = m / g->Mg;
    T *dst = j->y + m * g->k_sz;
    for (int64_t kd = 0; kd < g->k[0]; kd++)
        for (int64_t kh = 0; kh < g->k[1]; kh++)
            for (int64_t kw = 0; kw < g->k[2]; kw++) {
                int64_t lo, hi, off = kw * g->d[2] - g->pb[2], sw = g->s[2];
                axis_range(off, sw, g->in[2], g->out[2], &lo, &hi);
                T acc = 0;
                for (int64_t n = 0; n < g->N; n++) {
                    const T *src = j->x + (n * g->C + c) * g->in_sz, *dy = j->w + (n * g->M + m) * g->out_sz;
                    for (int64_t od = 0; od < g->out[0]; od++) {
                        int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                        if (id < 0 || id >= g->in[0]) continue;
                        for (int64_t oh = 0; oh < g->out[1]; oh++) {
                            int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                            if (ih < 0 || ih >= g->in[1]) continue;
                            const T *s = src + (id * g->in[1] + ih) * g->in[2] + off;
                            const T *e = dy + (od * g->out[1] + oh) * g->out[2];
                            for (int64_t ow = lo; ow < hi; ow++) acc += e[ow] * s[ow * sw];
                        }
                    }
                }
                dst[(kd * g->k[1] + kh) * g->k[2] + kw] = acc;
            }
}

/* dW[g] = sum over images of dY[g] im2col(X)[g]^T: one GEMM per group per chunk of images, accumulated
 * in chunk order (beta = 1 after the first chunk). */
jt_status FN(jt_conv_bwd_filter)(jt_ctx *ctx, jt_pool *pool, const jt_conv_geom *gp, const T *dy, const T *x,
                                 T *dw, void *ws) {
#ifdef FAST_BWD_FILTER
    if (FAST_BWD_FILTER(pool, gp, dy, x, dw, ws)) return JT_OK;
#endif
    const jt_conv_geom geo = *gp;
    if (jt_conv_is_depthwise(&geo)) {
        FN(direct_job) j = {&geo, x, dy, NULL, dw};
        jt_pool_run(pool, FN(depthwise_filter_task), &j, geo.M);
        return JT_OK;
    }
    int64_t nb = jt_conv_chunk(&geo), osz = geo.out_sz, ck = geo.Cg * geo.k_sz;
    bool direct = nb == 1 && jt_conv_is_pointwise(&geo);
    T *col = ws;
    T *dyt = nb > 1 ? col + geo.C * geo.k_sz * nb * osz : NULL;
    if (geo.N == 0) memset(dw, 0, sizeof(T) * (size_t)(geo.M * ck));
    for (int64_t n0 = 0; n0 < geo.N; n0 += nb) {
        int64_t nbc = geo.N - n0 < nb ? geo.N - n0 : nb, ld = nbc * osz;
        const T *xn = x + n0 * geo.C * geo.in_sz, *dyn = dy + n0 * geo.M * osz;
        if (!direct) {
            FN(im2col_job) ij = {&geo, xn, col, nbc};
            jt_pool_run(pool, FN(im2col_task), &ij, nbc * geo.C);
        }
        if (nb > 1) {
            FN(gather_job) gj = {&geo, dyn, dyt, nbc};
            jt_pool_run(pool, FN(gather_task), &gj, nbc * geo.M);
        }
        for (int64_t gi = 0; gi < geo.G; gi++) {
            const T *A = nb > 1 ? dyt + gi * geo.Mg * ld : dyn + gi * geo.Mg * osz;
            const T *B = direct ? xn + gi * geo.Cg * osz : col + gi * ck * ld;
            GEMM(ctx, pool, false, true, geo.Mg, ck, ld, (T)1, A, ld, B, ld, n0 == 0 ? (T)0 : (T)1,
                 dw + gi * geo.Mg * ck, ck);
        }
    }
    return JT_OK;
}

jt_status FN(jt_convt_cpu)(const jt_kernel_args *a) {
    jt_conv_geom gt, geo;
    JT_TRY(jt_conv_geom_make(a->ctx, NULL, a->node, a->attrs, a->in[0], a->in[1], &gt));
    jt_conv_geom_swap(&gt, &geo);
    const T *bias = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    return FN(jt_conv_bwd_data)(a->ctx, a->pool, &geo, a->in[0]->data, a->in[1]->data, bias, a->out[0]->data,
                                a->ws);
}

#undef FN
#undef CAT
#undef CAT_
