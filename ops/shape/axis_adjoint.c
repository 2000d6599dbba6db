/* Adjoints (transposes) of data-movement maps, for the gradient ops of the shape and resize families:
 *   jt_sep_adjoint     the transpose of a separable per-axis linear map (Pad reflect/edge, Resize);
 *   jt_strided_scatter dst[sum_k i_k * st[k]] = src[i] for an injective map (SliceGrad);
 *   jt_par_zero        zero-fills a buffer in parallel.
 * Every destination element is written by one task, and sums run in a fixed order (output position,
 * then tap), so results are bitwise independent of the thread count. */
#include <string.h>

#include "shape_util.h"

#define TASK_WORK 65536 /* multiply-adds (or elements) per pool task */
#define CHUNK 1024      /* inner columns per work unit when the axis is not the last one */

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* ---- parallel zero fill ---- */

typedef struct {
    char *dst;
    size_t n, chunk;
} zero_job;

static void zero_task(void *arg, int64_t t) {
    const zero_job *j = arg;
    size_t off = (size_t)t * j->chunk, len = j->n - off < j->chunk ? j->n - off : j->chunk;
    memset(j->dst + off, 0, len);
}

void jt_par_zero(jt_pool *pool, void *dst, size_t n) {
    const size_t chunk = (size_t)1 << 20;
    if (n <= chunk) {
        if (n) memset(dst, 0, n);
        return;
    }
    zero_job j = {dst, n, chunk};
    jt_pool_run(pool, zero_task, &j, (int64_t)((n + chunk - 1) / chunk));
}

/* ---- separable adjoint ---- */

/* One pass over axis d: dst[o, i, c] = sum over (p, k) with idx[p*T+k] == i of w * src[o, p, c], where o
 * ranges over the outer index, c over the inner one (in chunks of CHUNK columns). */
typedef struct {
    const void *src;
    void *dst;
    const jt_axis_map *m;
    int64_t outer, inner, n_chunks, units, per_task;
} adj_job;

#define DEF_ADJ(NAME, TYPE)                                                                              \
    static void NAME(void *arg, int64_t t) {                                                             \
        const adj_job *j = arg;                                                                          \
        const jt_axis_map *m = j->m;                                                                     \
        int64_t u0 = t * j->per_task, u1 = u0 + j->per_task, inner = j->inner;                           \
        if (u1 > j->units) u1 = j->units;                                                                \
        for (int64_t u = u0; u < u1; u++) {                                                              \
            int64_t o = u / j->n_chunks, c0 = (u % j->n_chunks) * CHUNK;                                 \
            int64_t len = inner - c0 < CHUNK ? inner - c0 : CHUNK;                                       \
            const TYPE *s = (const TYPE *)j->src + o * m->n_out * inner + c0;                            \
            TYPE *d = (TYPE *)j->dst + o * m->n_in * inner + c0;                                         \
            for (int64_t i = 0; i < m->n_in; i++) memset(d + i * inner, 0, sizeof(TYPE) * (size_t)len); \
            for (int64_t p = 0; p < m->n_out; p++) {                                                     \
                if (m->zero && m->zero[p]) continue;                                                     \
                const TYPE *sp = s + p * inner;                                                          \
                for (int k = 0; k < m->T; k++) {                                                         \
                    TYPE w = m->w ? (TYPE)m->w[p * m->T + k] : (TYPE)1;                                  \
                    if (w == 0) continue;                                                                \
                    TYPE *di = d + m->idx[p * m->T + k] * inner;                                         \
                    if (len == 1) di[0] += w * sp[0];                                                    \
                    else                                                                                 \
                        for (int64_t e = 0; e < len; e++) di[e] += w * sp[e];                            \
                }                                                                                        \
            }                                                                                            \
        }                                                                                                \
    }
DEF_ADJ(adj_f32, float)
DEF_ADJ(adj_f64, double)

/* Which axes get a pass, in order (first axis first), and the largest intermediate (elements). */
static int adj_plan(int rank, const int64_t *xd, const int64_t *yd, const jt_axis_map *const *maps, int *axes,
                    int64_t *max_inter) {
    int np = 0;
    for (int d = 0; d < rank; d++)
        if (maps[d]) axes[np++] = d;
    *max_inter = 0;
    for (int k = 0; k + 1 < np; k++) { /* after pass k: x dims up to axes[k], y dims after */
        int64_t s = 1;
        for (int q = 0; q < rank; q++) s *= q <= axes[k] ? xd[q] : yd[q];
        if (s > *max_inter) *max_inter = s;
    }
    return np;
}

size_t jt_sep_adjoint_workspace(int rank, const int64_t *xd, const int64_t *yd, const jt_axis_map *const *maps,
                                size_t es) {
    int axes[JT_MAX_RANK];
    int64_t inter;
    int np = adj_plan(rank, xd, yd, maps, axes, &inter);
    return np > 1 ? 2 * align64((size_t)inter * es) : 0;
}

void jt_sep_adjoint(jt_pool *pool, jt_dtype dt, int rank, const int64_t *xd, const int64_t *yd,
                    const jt_axis_map *const *maps, void *dx, const void *dy, void *ws) {
    int axes[JT_MAX_RANK];
    int64_t inter, cur[JT_MAX_RANK];
    size_t es = jt_dtype_size(dt);
    int np = adj_plan(rank, xd, yd, maps, axes, &inter);
    int64_t nx = 1;
    for (int d = 0; d < rank; d++) nx *= xd[d];
    if (np == 0) {
        jt_par_memcpy(pool, dx, dy, (size_t)nx * es);
        return;
    }
    char *buf[2] = {ws, (char *)ws + align64((size_t)inter * es)};
    memcpy(cur, yd, sizeof(int64_t) * (size_t)rank);
    const void *src = dy;
    for (int k = 0; k < np; k++) {
        int d = axes[k];
        void *dst = k == np - 1 ? dx : buf[k % 2];
        adj_job j = {.src = src, .dst = dst, .m = maps[d], .outer = 1, .inner = 1};
        for (int q = 0; q < d; q++) j.outer *= cur[q];
        for (int q = d + 1; q < rank; q++) j.inner *= cur[q];
        j.n_chunks = (j.inner + CHUNK - 1) / CHUNK;
        j.units = j.outer * j.n_chunks;
        int64_t unit_work = (maps[d]->n_out * maps[d]->T + maps[d]->n_in) * (j.inner < CHUNK ? j.inner : CHUNK);
        j.per_task = unit_work > 0 && TASK_WORK / unit_work > 0 ? TASK_WORK / unit_work : 1;
        if (j.units > 0 && j.inner > 0)
            jt_pool_run(pool, dt == JT_F32 ? adj_f32 : adj_f64, &j, (j.units + j.per_task - 1) / j.per_task);
        cur[d] = xd[d];
        src = dst;
    }
}

/* ---- strided scatter ---- */

typedef struct {
    char *dst;
    const char *src;
    size_t es;
    int rank;
    const int64_t *sd, *st;
    int64_t rows, rows_per_task;
} ss_job;

static void ss_task(void *arg, int64_t t) {
    const ss_job *j = arg;
    int r = j->rank;
    int64_t r0 = t * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->rows) r1 = j->rows;
    int64_t idx[JT_MAX_RANK] = {0}, rem = r0, L = j->sd[r - 1], sl = j->st[r - 1];
    for (int k = r - 2; k >= 0; k--) {
        idx[k] = rem % j->sd[k];
        rem /= j->sd[k];
    }
    size_t es = j->es;
    for (int64_t row = r0; row < r1; row++) {
        int64_t off = 0;
        for (int k = 0; k < r - 1; k++) off += idx[k] * j->st[k];
        const char *s = j->src + (size_t)(row * L) * es;
        char *d = j->dst + off * (int64_t)es;
        if (es == 4)
            for (int64_t e = 0; e < L; e++) memcpy(d + e * sl * 4, s + e * 4, 4);
        else if (es == 8)
            for (int64_t e = 0; e < L; e++) memcpy(d + e * sl * 8, s + e * 8, 8);
        else
            for (int64_t e = 0; e < L; e++) memcpy(d + e * sl * (int64_t)es, s + (size_t)e * es, es);
        for (int k = r - 2; k >= 0; k--) {
            if (++idx[k] < j->sd[k]) break;
            idx[k] = 0;
        }
    }
}

void jt_strided_scatter(jt_pool *pool, void *dst, const void *src, size_t es, int rank, const int64_t *sd,
                        const int64_t *st) {
    int64_t n = 1;
    for (int k = 0; k < rank; k++) n *= sd[k];
    if (n == 0) return;
    if (rank == 0) {
        memcpy(dst, src, es);
        return;
    }
    ss_job j = {.dst = dst, .src = src, .es = es, .rank = rank, .sd = sd, .st = st};
    int64_t L = sd[rank - 1];
    j.rows = n / L;
    j.rows_per_task = TASK_WORK / L > 0 ? TASK_WORK / L : 1;
    jt_pool_run(pool, ss_task, &j, (j.rows + j.rows_per_task - 1) / j.rows_per_task);
}
