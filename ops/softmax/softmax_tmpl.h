/* Softmax / LogSoftmax bodies over one float type: T, S (f32/f64), FS (libm suffix f or empty).
 * Max subtraction; each output element is computed in a fixed order (thread-count independent). */

/* one contiguous row of n elements; y may alias x */
static void EW_CAT(sm_row_, S)(const T *x, T *y, int64_t n, int logsm) {
    T m = x[0];
    for (int64_t i = 1; i < n; i++) m = EW_CAT(sm_max_, S)(m, x[i]);
    T s = 0;
    if (logsm) {
        for (int64_t i = 0; i < n; i++) s += EW_CAT(sm_exp_, S)(x[i], m);
        const T ls = EW_CAT(log, FS)(s);
        for (int64_t i = 0; i < n; i++) y[i] = EW_CAT(sm_logout_, S)(x[i], m, ls);
    } else {
        for (int64_t i = 0; i < n; i++) {
            y[i] = EW_CAT(sm_exp_, S)(x[i], m);
            s += y[i];
        }
        const T inv = (T)1 / s;
        for (int64_t i = 0; i < n; i++) y[i] = EW_CAT(sm_scale_, S)(y[i], inv);
    }
}

/* n rows of stride `inner`, columns [0, w) of one outer block (w <= SM_BLOCK) */
static void EW_CAT(sm_cols_, S)(const T *x, T *y, int64_t n, int64_t inner, int64_t w, int logsm) {
    T m[SM_BLOCK], s[SM_BLOCK];
    for (int64_t j = 0; j < w; j++) {
        m[j] = x[j];
        s[j] = 0;
    }
    for (int64_t k = 1; k < n; k++) {
        const T *xk = x + k * inner;
        for (int64_t j = 0; j < w; j++) m[j] = EW_CAT(sm_max_, S)(m[j], xk[j]);
    }
    for (int64_t k = 0; k < n; k++) {
        const T *xk = x + k * inner;
        T *yk = y + k * inner;
        if (logsm) {
            for (int64_t j = 0; j < w; j++) s[j] += EW_CAT(sm_exp_, S)(xk[j], m[j]);
        } else {
            for (int64_t j = 0; j < w; j++) {
                yk[j] = EW_CAT(sm_exp_, S)(xk[j], m[j]);
                s[j] += yk[j];
            }
        }
    }
    for (int64_t j = 0; j < w; j++) s[j] = logsm ? EW_CAT(log, FS)(s[j]) : (T)1 / s[j];
    for (int64_t k = 0; k < n; k++) {
        const T *xk = x + k * inner;
        T *yk = y + k * inner;
        if (logsm)
            for (int64_t j = 0; j < w; j++) yk[j] = EW_CAT(sm_logout_, S)(xk[j], m[j], s[j]);
        else
            for (int64_t j = 0; j < w; j++) yk[j] = EW_CAT(sm_scale_, S)(yk[j], s[j]);
    }
}

static void EW_CAT(sm_task_, S)(void *arg, int64_t t) {
    const sm_job *jb = arg;
    const T *x = jb->x;
    T *y = jb->y;
    int64_t lo = t * jb->per_task, hi = lo + jb->per_task;
    if (hi > jb->units) hi = jb->units;
    for (int64_t u = lo; u < hi; u++) {
        if (jb->inner == 1) {
            EW_CAT(sm_row_, S)(x + u * jb->n, y + u * jb->n, jb->n, jb->logsm);
        } else {
            int64_t o = u / jb->blocks, j0 = (u % jb->blocks) * SM_BLOCK;
            int64_t w = jb->inner - j0 < SM_BLOCK ? jb->inner - j0 : SM_BLOCK;
            int64_t base = o * jb->n * jb->inner + j0;
            EW_CAT(sm_cols_, S)(x + base, y + base, jb->n, jb->inner, w, jb->logsm);
        }
    }
}
