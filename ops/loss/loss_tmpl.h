/* Loss kernels over one float type: T (float/double), S (f32/f64). Included twice by loss_kernels.c.
 * Serial loops in a fixed order with double accumulators: the per-batch losses are small, and the
 * results are independent of the thread count. */

/* Validates the labels and returns the weight sum (the mean's denominator). */
static jt_status LCAT(weights_sum_, S)(const jt_kernel_args *a, const loss_attrs *at, const jt_tensor *labels,
                                       const jt_tensor *weights, int64_t N, int64_t C, int64_t D, double *wsum) {
    const T *w = weights ? weights->data : NULL;
    double s = 0;
    for (int64_t i = 0; i < N * D; i++) {
        int64_t t = loss_label(labels, i);
        if (at->has_ii && t == at->ii) continue;
        if (t < 0 || t >= C)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_ARG,
                                "label %lld at flat position %lld is outside [0, %lld)%s", (long long)t, (long long)i,
                                (long long)C, at->has_ii ? " and is not ignore_index" : "");
        s += w ? (double)w[t] : 1.0;
    }
    *wsum = s;
    return JT_OK;
}

/* Weight of position i (0 when ignored); labels already validated. */
static inline double LCAT(pos_weight_, S)(const loss_attrs *at, const jt_tensor *labels, const T *w, int64_t i,
                                         int64_t *t_out) {
    int64_t t = loss_label(labels, i);
    *t_out = t;
    if (at->has_ii && t == at->ii) return 0.0;
    return w ? (double)w[t] : 1.0;
}

/* log-sum-exp over the C entries of position (n, d): x points at (n, 0, d), stride D */
static inline double LCAT(lse_, S)(const T *x, int64_t C, int64_t D, double *max_out) {
    double m = (double)x[0];
    for (int64_t c = 1; c < C; c++) m = (double)x[c * D] > m ? (double)x[c * D] : m;
    double s = 0;
    for (int64_t c = 0; c < C; c++) s += exp((double)x[c * D] - m);
    *max_out = m;
    return log(s);
}

/* Forward of both ops: sce = 1 takes scores (log-softmax over axis 1 first), else log-probabilities. */
static jt_status LCAT(loss_fwd_, S)(const jt_kernel_args *a, int sce) {
    const loss_attrs *at = a->attrs;
    const jt_tensor *x = a->in[0], *labels = a->in[1];
    const jt_tensor *weights = a->n_in > 2 ? a->in[2] : NULL;
    jt_tensor *lp_out = sce && a->n_out > 1 ? a->out[1] : NULL;
    int64_t N, C, D;
    loss_geom(x, &N, &C, &D);
    double wsum = 0;
    JT_TRY(LCAT(weights_sum_, S)(a, at, labels, weights, N, C, D, &wsum));
    const T *xd = x->data, *w = weights ? weights->data : NULL;
    T *y = a->out[0]->data, *lp = lp_out ? lp_out->data : NULL;
    double acc = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t d = 0; d < D; d++) {
            const T *xp = xd + n * C * D + d;
            int64_t i = n * D + d, t;
            double wt = LCAT(pos_weight_, S)(at, labels, w, i, &t), l = 0;
            if (sce) {
                double m, ls = LCAT(lse_, S)(xp, C, D, &m);
                if (lp)
                    for (int64_t c = 0; c < C; c++) lp[n * C * D + c * D + d] = (T)(((double)xp[c * D] - m) - ls);
                if (wt != 0.0) l = -wt * (((double)xp[t * D] - m) - ls);
            } else if (wt != 0.0) {
                l = -wt * (double)xp[t * D];
            }
            if (at->reduction == LOSS_NONE) y[i] = (T)l;
            else acc += l;
        }
    if (at->reduction == LOSS_SUM) y[0] = (T)acc;
    else if (at->reduction == LOSS_MEAN) y[0] = (T)(acc / wsum); /* 0/0 = NaN when every label is ignored */
    return JT_OK;
}

/* Per-position upstream coefficient: dy for reduction none, dy (sum) or dy / wsum (mean) otherwise. */
static inline double LCAT(coef_, S)(const loss_attrs *at, const T *dy, int64_t i, double wsum) {
    if (!dy) return 0.0;
    if (at->reduction == LOSS_NONE) return (double)dy[i];
    if (at->reduction == LOSS_SUM) return (double)dy[0];
    return (double)dy[0] / wsum;
}

/* SoftmaxCrossEntropyLossGrad(dy?, scores, labels, weights?, dlog_prob?) -> dscores:
 *   dx[n,c,d] = coef*w*(p_c - [c == t]) + dlp_c - p_c * sum_c' dlp_c' */
static jt_status LCAT(sce_grad_, S)(const jt_kernel_args *a) {
    const loss_attrs *at = a->attrs;
    const jt_tensor *dyt = a->in[0], *x = a->in[1], *labels = a->in[2];
    const jt_tensor *weights = a->n_in > 3 ? a->in[3] : NULL, *dlpt = a->n_in > 4 ? a->in[4] : NULL;
    int64_t N, C, D;
    loss_geom(x, &N, &C, &D);
    double wsum = 0;
    JT_TRY(LCAT(weights_sum_, S)(a, at, labels, weights, N, C, D, &wsum));
    const T *xd = x->data, *w = weights ? weights->data : NULL, *dy = dyt ? dyt->data : NULL;
    const T *dlp = dlpt ? dlpt->data : NULL;
    T *dx = a->out[0]->data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t d = 0; d < D; d++) {
            int64_t off = n * C * D + d, i = n * D + d, t;
            const T *xp = xd + off;
            T *dxp = dx + off;
            double wt = LCAT(pos_weight_, S)(at, labels, w, i, &t);
            double g = LCAT(coef_, S)(at, dy, i, wsum) * wt;
            double m, ls = LCAT(lse_, S)(xp, C, D, &m), sdl = 0;
            if (dlp)
                for (int64_t c = 0; c < C; c++) sdl += (double)dlp[off + c * D];
            for (int64_t c = 0; c < C; c++) {
                double p = exp(((double)xp[c * D] - m) - ls);
                double v = g * (p - (c == t ? 1.0 : 0.0));
                if (dlp) v += (double)dlp[off + c * D] - p * sdl;
                dxp[c * D] = (T)v;
            }
        }
    return JT_OK;
}

/* NegativeLogLikelihoodLossGrad(dy, input, target, weight?) -> dinput: -coef*w at (n, t, d), else 0. */
static jt_status LCAT(nll_grad_, S)(const jt_kernel_args *a) {
    const loss_attrs *at = a->attrs;
    const jt_tensor *dyt = a->in[0], *x = a->in[1], *labels = a->in[2];
    const jt_tensor *weights = a->n_in > 3 ? a->in[3] : NULL;
    int64_t N, C, D;
    loss_geom(x, &N, &C, &D);
    double wsum = 0;
    JT_TRY(LCAT(weights_sum_, S)(a, at, labels, weights, N, C, D, &wsum));
    const T *w = weights ? weights->data : NULL, *dy = dyt->data;
    T *dx = a->out[0]->data;
    memset(dx, 0, sizeof(T) * (size_t)(N * C * D));
    for (int64_t n = 0; n < N; n++)
        for (int64_t d = 0; d < D; d++) {
            int64_t i = n * D + d, t;
            double wt = LCAT(pos_weight_, S)(at, labels, w, i, &t);
            if (wt != 0.0) dx[n * C * D + t * D + d] = (T)(-LCAT(coef_, S)(at, dy, i, wsum) * wt);
        }
    return JT_OK;
}

/* OneHotLike(labels, like) -> 1 at (n, labels[n, d], d), 0 elsewhere, in like's dtype and shape. */
static jt_status LCAT(one_hot_, S)(const jt_kernel_args *a) {
    const jt_tensor *labels = a->in[0];
    jt_tensor *y = a->out[0];
    int64_t N, C, D;
    loss_geom(y, &N, &C, &D);
    T *yd = y->data;
    memset(yd, 0, sizeof(T) * (size_t)(N * C * D));
    for (int64_t n = 0; n < N; n++)
        for (int64_t d = 0; d < D; d++) {
            int64_t t = loss_label(labels, n * D + d);
            if (t < 0 || t >= C)
                return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_ARG,
                                    "label %lld at flat position %lld is outside [0, %lld)", (long long)t,
                                    (long long)(n * D + d), (long long)C);
            yd[n * C * D + t * D + d] = (T)1;
        }
    return JT_OK;
}

/* ConstLike(c, like) -> c converted to like's dtype (reads only like's dtype). */
static jt_status LCAT(const_like_, S)(const jt_kernel_args *a) {
    const jt_tensor *c = a->in[0];
    T *y = a->out[0]->data;
    int64_t n = jt_tensor_numel(c);
    for (int64_t i = 0; i < n; i++) y[i] = (T)jt_tensor_get_f64(c, i);
    return JT_OK;
}
