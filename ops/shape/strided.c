/* Dtype-generic data movement shared by the shape family: strided copies (transpose, broadcast, slice),
 * parallel memcpy, and constant shape-input reading. Work is split by size only, never by the number
 * of threads, so results do not depend on the pool. */
#include <string.h>

#include "shape_util.h"

#define TASK_ELEMS 65536 /* elements per pool task */
#define TILE 32

jt_status jt_check_rank(jt_ctx *ctx, const jt_graph *g, const jt_node *n, int rank, const char *what) {
    if (rank > JT_MAX_RANK)
        return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "%s would have rank %d, at most %d supported",
                            what, rank, JT_MAX_RANK);
    return JT_OK;
}

jt_status jt_read_const_ints(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const jt_tensor *t,
                             const char *what, int64_t *out, int cap, int *count) {
    *count = 0;
    if (!t->data)
        return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED,
                            "input '%s' must be a constant (initializer, Constant or foldable from "
                            "constants) so that shapes are static",
                            what);
    if (t->dtype != JT_I64 && t->dtype != JT_I32)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "input '%s' has dtype %s, expected int64",
                            what, jt_dtype_name(t->dtype));
    if (t->rank > 1)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "input '%s' has rank %d, expected 1-D",
                            what, t->rank);
    int64_t k = jt_tensor_numel(t);
    if (k > cap)
        return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "input '%s' has %lld values, at most %d supported",
                            what, (long long)k, cap);
    for (int64_t i = 0; i < k; i++) out[i] = jt_tensor_get_i64(t, i);
    *count = (int)k;
    return JT_OK;
}

void jt_dims_strides(int rank, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

/* ---- parallel memcpy ---- */

typedef struct {
    char *dst;
    const char *src;
    size_t n, chunk;
} mc_job;

static void mc_task(void *arg, int64_t t) {
    const mc_job *j = arg;
    size_t off = (size_t)t * j->chunk;
    size_t len = j->n - off < j->chunk ? j->n - off : j->chunk;
    memcpy(j->dst + off, j->src + off, len);
}

void jt_par_memcpy(jt_pool *pool, void *dst, const void *src, size_t n) {
    const size_t chunk = (size_t)1 << 20;
    if (dst == src || n == 0) return;
    if (n <= chunk) {
        memmove(dst, src, n);
        return;
    }
    mc_job j = {dst, src, n, chunk};
    jt_pool_run(pool, mc_task, &j, (int64_t)((n + chunk - 1) / chunk));
}

/* ---- strided copy ---- */

typedef struct {
    char *dst;
    const char *src;
    size_t es;
    int rank;       /* after simplification, >= 1 */
    int64_t od[JT_MAX_RANK];
    int64_t st[JT_MAX_RANK];
    int tile_axis;  /* >= 0: axis with unit source stride used for tiling (2-D transpose path) */
    int64_t rows;   /* product of od[0..rank-2] */
    int64_t rows_per_task;
} sc_job;

/* Copies `len` elements of es bytes from src with stride st (elements) into contiguous dst. */
static void gather_row(char *dst, const char *src, size_t es, int64_t len, int64_t st) {
    if (st == 1) {
        memcpy(dst, src, (size_t)len * es);
        return;
    }
    switch (es) {
    case 1: {
        uint8_t *d = (uint8_t *)dst;
        const uint8_t *s = (const uint8_t *)src;
        for (int64_t i = 0; i < len; i++) d[i] = s[i * st];
        break;
    }
    case 2: {
        uint16_t *d = (uint16_t *)dst;
        const uint16_t *s = (const uint16_t *)src;
        for (int64_t i = 0; i < len; i++) d[i] = s[i * st];
        break;
    }
    case 4: {
        uint32_t *d = (uint32_t *)dst;
        const uint32_t *s = (const uint32_t *)src;
        for (int64_t i = 0; i < len; i++) d[i] = s[i * st];
        break;
    }
    case 8: {
        uint64_t *d = (uint64_t *)dst;
        const uint64_t *s = (const uint64_t *)src;
        for (int64_t i = 0; i < len; i++) d[i] = s[i * st];
        break;
    }
    default:
        for (int64_t i = 0; i < len; i++) memcpy(dst + (size_t)i * es, src + (i * st) * (int64_t)es, es);
    }
}

/* dst[a * d_a + b] = src[a + b * s_b] for a < A, b < B, in TILE x TILE blocks. */
#define DEF_TILE2D(NAME, T)                                                                        \
    static void NAME(T *d, const T *s, int64_t A, int64_t B, int64_t s_b, int64_t d_a) {           \
        for (int64_t a0 = 0; a0 < A; a0 += TILE)                                                   \
            for (int64_t b0 = 0; b0 < B; b0 += TILE) {                                             \
                int64_t a1 = a0 + TILE < A ? a0 + TILE : A, b1 = b0 + TILE < B ? b0 + TILE : B;     \
                for (int64_t a = a0; a < a1; a++)                                                  \
                    for (int64_t b = b0; b < b1; b++) d[a * d_a + b] = s[a + b * s_b];             \
            }                                                                                      \
    }
DEF_TILE2D(tile2d_u8, uint8_t)
DEF_TILE2D(tile2d_u16, uint16_t)
DEF_TILE2D(tile2d_u32, uint32_t)
DEF_TILE2D(tile2d_u64, uint64_t)

static void tile2d(char *d, const char *s, size_t es, int64_t A, int64_t B, int64_t s_b, int64_t d_a) {
    switch (es) {
    case 1: tile2d_u8((uint8_t *)d, (const uint8_t *)s, A, B, s_b, d_a); break;
    case 2: tile2d_u16((uint16_t *)d, (const uint16_t *)s, A, B, s_b, d_a); break;
    case 4: tile2d_u32((uint32_t *)d, (const uint32_t *)s, A, B, s_b, d_a); break;
    case 8: tile2d_u64((uint64_t *)d, (const uint64_t *)s, A, B, s_b, d_a); break;
    default:
        for (int64_t a = 0; a < A; a++)
            for (int64_t b = 0; b < B; b++)
                memcpy(d + (size_t)(a * d_a + b) * es, s + (a + b * s_b) * (int64_t)es, es);
    }
}

static void fill_row(char *dst, const char *src, size_t es, int64_t len) {
    switch (es) {
    case 1: memset(dst, *(const uint8_t *)src, (size_t)len); break;
    case 4: {
        uint32_t v;
        memcpy(&v, src, 4);
        for (int64_t i = 0; i < len; i++) ((uint32_t *)dst)[i] = v;
        break;
    }
    case 8: {
        uint64_t v;
        memcpy(&v, src, 8);
        for (int64_t i = 0; i < len; i++) ((uint64_t *)dst)[i] = v;
        break;
    }
    default:
        for (int64_t i = 0; i < len; i++) memcpy(dst + (size_t)i * es, src, es);
    }
}

/* Source offset (elements) of the row with multi-index idx over axes [0, naxes). */
static int64_t src_offset(const sc_job *j, const int64_t *idx, int naxes) {
    int64_t off = 0;
    for (int k = 0; k < naxes; k++) off += idx[k] * j->st[k];
    return off;
}

/* Rows over axes [0, rank-1): each row is the last axis. */
static void sc_rows_task(void *arg, int64_t t) {
    const sc_job *j = arg;
    int r = j->rank;
    int64_t r0 = t * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->rows) r1 = j->rows;
    int64_t idx[JT_MAX_RANK] = {0}, rem = r0;
    for (int k = r - 2; k >= 0; k--) {
        idx[k] = rem % j->od[k];
        rem /= j->od[k];
    }
    int64_t len = j->od[r - 1], sl = j->st[r - 1];
    for (int64_t row = r0; row < r1; row++) {
        int64_t so = src_offset(j, idx, r - 1);
        char *d = j->dst + (size_t)(row * len) * j->es;
        const char *s = j->src + so * (int64_t)j->es;
        if (sl == 0)
            fill_row(d, s, j->es, len);
        else
            gather_row(d, s, j->es, len, sl);
        for (int k = r - 2; k >= 0; k--) {
            if (++idx[k] < j->od[k]) break;
            idx[k] = 0;
        }
    }
}

/* 2-D tiled path: the plane (tile_axis, rank-1) is transposed per outer index; tasks split the outer
 * indices and chunks of the tile axis. */
static void sc_tile_task(void *arg, int64_t t) {
    const sc_job *j = arg;
    int r = j->rank, ta = j->tile_axis;
    int64_t A = j->od[ta], B = j->od[r - 1];
    int64_t n_chunks = (A + 63) / 64;
    int64_t outer = t / n_chunks, chunk = t % n_chunks;
    int64_t a0 = chunk * 64, a1 = a0 + 64 < A ? a0 + 64 : A;
    /* decompose outer over the axes other than ta and r-1 */
    int64_t idx[JT_MAX_RANK] = {0}, rem = outer;
    for (int k = r - 2; k >= 0; k--) {
        if (k == ta) continue;
        idx[k] = rem % j->od[k];
        rem /= j->od[k];
    }
    idx[ta] = a0;
    int64_t so = src_offset(j, idx, r - 1);
    int64_t d_a = 1; /* dst stride of the tile axis */
    for (int k = ta + 1; k < r; k++) d_a *= j->od[k];
    int64_t dof = 0, ds = 1;
    for (int k = r - 1; k >= 0; k--) {
        dof += (k == r - 1 ? 0 : idx[k]) * ds;
        ds *= j->od[k];
    }
    tile2d(j->dst + (size_t)dof * j->es, j->src + so * (int64_t)j->es, j->es, a1 - a0, B,
           j->st[r - 1], d_a);
}

void jt_strided_copy(jt_pool *pool, void *dst, const void *src, size_t es, int rank,
                     const int64_t *od, const int64_t *st) {
    sc_job j;
    memset(&j, 0, sizeof j);
    j.dst = dst;
    j.src = src;
    j.es = es;
    int64_t total = 1;
    for (int k = 0; k < rank; k++) total *= od[k];
    if (total == 0) return;
    /* drop unit axes, merge axes that are contiguous in the source */
    int r = 0;
    for (int k = 0; k < rank; k++) {
        if (od[k] == 1) continue;
        if (r > 0 && j.st[r - 1] == st[k] * od[k]) {
            j.od[r - 1] *= od[k];
            j.st[r - 1] = st[k];
            continue;
        }
        j.od[r] = od[k];
        j.st[r] = st[k];
        r++;
    }
    if (r == 0) { /* a single element */
        memcpy(dst, src, es);
        return;
    }
    j.rank = r;
    j.tile_axis = -1;
    if (j.st[r - 1] == 1 && r == 1) {
        jt_par_memcpy(pool, dst, src, (size_t)total * es);
        return;
    }
    if (j.st[r - 1] != 1 && j.st[r - 1] != 0 && j.od[r - 1] >= 8) {
        for (int k = r - 2; k >= 0; k--)
            if (j.st[k] == 1 && j.od[k] >= 8) {
                j.tile_axis = k;
                break;
            }
    }
    if (j.tile_axis >= 0) {
        int64_t A = j.od[j.tile_axis];
        int64_t outer = total / (A * j.od[r - 1]);
        jt_pool_run(total >= TASK_ELEMS ? pool : NULL, sc_tile_task, &j, outer * ((A + 63) / 64));
        return;
    }
    j.rows = total / j.od[r - 1];
    j.rows_per_task = TASK_ELEMS / j.od[r - 1];
    if (j.rows_per_task < 1) j.rows_per_task = 1;
    jt_pool_run(pool, sc_rows_task, &j, (j.rows + j.rows_per_task - 1) / j.rows_per_task);
}
