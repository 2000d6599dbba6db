/* Reduction bodies over one type: T, S (suffix), ACC (accumulator type), R_ADD(acc, v), R_LOWEST
 * (identity of max), R_EMPTY_MEAN (mean of nothing), R_MAX(a, b). Three layouts (see reduce.c): rows (reduced axes innermost),
 * columns (a reduced run with kept axes inside it) and the general strided walk. Each output element
 * is reduced in a fixed order with 8 interleaved partial results (thread-count independent). */
#define RED_LANES 8

static inline T EW_CAT(red_fin_, S)(ACC acc, int64_t count, int kind) {
    if (kind == RK_MEAN) return count ? (T)(acc / (ACC)count) : (T)R_EMPTY_MEAN;
    return (T)acc;
}

/* reduce n contiguous elements */
static inline ACC EW_CAT(red_row_, S)(const T *x, int64_t n, int kind) {
    if (kind == RK_MAX) {
        T m[RED_LANES];
        for (int l = 0; l < RED_LANES; l++) m[l] = R_LOWEST;
        int64_t i = 0;
        for (; i + RED_LANES <= n; i += RED_LANES)
            for (int l = 0; l < RED_LANES; l++) m[l] = R_MAX(m[l], x[i + l]);
        for (int l = 0; i < n; i++, l++) m[l] = R_MAX(m[l], x[i]);
        T r = m[0];
        for (int l = 1; l < RED_LANES; l++) r = R_MAX(r, m[l]);
        return (ACC)r;
    }
    ACC s[RED_LANES] = {0};
    int64_t i = 0;
    for (; i + RED_LANES <= n; i += RED_LANES)
        for (int l = 0; l < RED_LANES; l++) s[l] = R_ADD(s[l], (ACC)x[i + l]);
    for (int l = 0; i < n; i++, l++) s[l] = R_ADD(s[l], (ACC)x[i]);
    ACC r = 0;
    for (int l = 0; l < RED_LANES; l++) r = R_ADD(r, s[l]);
    return r;
}

static void EW_CAT(red_task_, S)(void *arg, int64_t t) {
    const red_job *jb = arg;
    const T *x = jb->x;
    T *y = jb->y;
    int64_t lo = t * jb->per_task, hi = lo + jb->per_task;
    if (hi > jb->units) hi = jb->units;
    const int kind = jb->kind;
    const int64_t R = jb->R;
    for (int64_t u = lo; u < hi; u++) {
        if (jb->layout == RL_ROWS) {
            y[u] = EW_CAT(red_fin_, S)(EW_CAT(red_row_, S)(x + u * R, R, kind), R, kind);
        } else if (jb->layout == RL_COLS) {
            const int64_t inner = jb->inner;
            int64_t o = u / jb->blocks, j0 = (u % jb->blocks) * RED_BLOCK;
            int64_t w = inner - j0 < RED_BLOCK ? inner - j0 : RED_BLOCK;
            const T *xb = x + o * R * inner + j0;
            T *yb = y + o * inner + j0;
            if (kind == RK_MAX) {
                T m[RED_BLOCK];
                for (int64_t j = 0; j < w; j++) m[j] = R_LOWEST;
                for (int64_t r = 0; r < R; r++)
                    for (int64_t j = 0; j < w; j++) m[j] = R_MAX(m[j], xb[r * inner + j]);
                for (int64_t j = 0; j < w; j++) yb[j] = m[j];
            } else {
                ACC s[RED_BLOCK];
                for (int64_t j = 0; j < w; j++) s[j] = 0;
                for (int64_t r = 0; r < R; r++)
                    for (int64_t j = 0; j < w; j++) s[j] = R_ADD(s[j], (ACC)xb[r * inner + j]);
                for (int64_t j = 0; j < w; j++) yb[j] = EW_CAT(red_fin_, S)(s[j], R, kind);
            }
        } else { /* general: output element u, walk the reduced axes */
            const red_shape *g = &jb->g;
            int64_t base = 0, rem = u;
            for (int i = g->nk - 1; i >= 0; i--) {
                base += (rem % g->kdims[i]) * g->kst[i];
                rem /= g->kdims[i];
            }
            ACC s = 0;
            T m = R_LOWEST;
            int64_t idx[JT_MAX_RANK] = {0}, off = base;
            for (int64_t c = 0; c < R; c++) {
                if (kind == RK_MAX)
                    m = R_MAX(m, x[off]);
                else
                    s = R_ADD(s, (ACC)x[off]);
                for (int i = g->nr - 1; i >= 0; i--) {
                    off += g->rst[i];
                    if (++idx[i] < g->rdims[i]) break;
                    off -= g->rst[i] * g->rdims[i];
                    idx[i] = 0;
                }
            }
            y[u] = kind == RK_MAX ? m : EW_CAT(red_fin_, S)(s, R, kind);
        }
    }
}
#undef RED_LANES
