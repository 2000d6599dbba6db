/* CUDA float32 Resize / Upsample / ResizeGrad (see resize_cuda.h). The per-axis tap tables are the CPU
 * kernel's (jt_resize_build_tables, built at plan time in double and rounded to float weights as the
 * CPU's float path does), so the device reads the same taps with the same weights:
 *   nearest        one gather over all axes (index tables, extrapolation flags);
 *   linear/cubic   one separable pass per changing axis, last axis first (the CPU's order), ping-pong
 *                  through the workspace; sums in tap order with separately rounded products (no FMA
 *                  contraction), as the CPU computes them;
 *   ResizeGrad     the CPU's separable adjoint on jt_cuda_sep_adj (deterministic, no atomics). */
#include <cuda_runtime.h>
#include <stdlib.h>
#include <string.h>

#include "resize_cuda.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/cuda_backend.h"
#include "shape/shape_cuda.h"

#define STREAM(a) jt_cuda_stream((a)->backend)
#define SMALL_N (1LL << 30)
#define GRID_LOOP(I, i, n) for (I i = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x; i < (n); i += (I)gridDim.x * (I)blockDim.x)
#define LAUNCH_N(a, n, KERNEL, ...)                                                                         \
    do {                                                                                                  \
        if ((long long)(n) < SMALL_N)                                                                     \
            KERNEL<int><<<jt_cuda_blocks(n), JT_CUDA_THREADS, 0, STREAM(a)>>>(__VA_ARGS__);               \
        else                                                                                              \
            KERNEL<long long><<<jt_cuda_blocks(n), JT_CUDA_THREADS, 0, STREAM(a)>>>(__VA_ARGS__);         \
        JT_CUDA_CHECK_LAUNCH((a)->ctx);                                                                   \
    } while (0)

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* One state type for both ops: forward tables (device) or the adjoint. */
typedef struct rs_state {
    int grad;
    resize_geom geo;
    int mode, T;
    float ext_val;
    int identity[JT_MAX_RANK];
    const int *idx[JT_MAX_RANK];           /* device: out[d] * T source indices (clamped) */
    const float *w[JT_MAX_RANK];           /* device: out[d] * T weights */
    const unsigned char *ext[JT_MAX_RANK]; /* device: out[d] extrapolation flags */
    void *dev;
    jt_cuda_sep_adj *adj;
} rs_state;

extern "C" void jt_resize_cuda_release(void *state) {
    rs_state *s = (rs_state *)state;
    if (!s) return;
    jt_cuda_dev_free(s->dev);
    jt_cuda_sep_adj_free(s->adj);
    free(s);
}

/* The CPU's host tables for geo (caller frees *host). */
static jt_status host_tables(const jt_kernel_args *a, const resize_attrs *p, const resize_geom *geo, char **host,
                             jt_resize_table *tab) {
    size_t b = jt_resize_tables_bytes(p, geo->out, geo->rank);
    *host = (char *)malloc(b ? b : 1);
    if (!*host) return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    jt_resize_build_tables(p, geo, *host, tab);
    return JT_OK;
}

extern "C" jt_status jt_resize_cuda_prepare(const jt_kernel_args *a, void **state) {
    const resize_attrs *p = (const resize_attrs *)a->attrs;
    rs_state *s = (rs_state *)calloc(1, sizeof *s);
    if (!s) return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    jt_status st = jt_resize_geometry(a->ctx, a->graph, a->node, p, a->n_in, a->in, &s->geo);
    int r = s->geo.rank;
    s->mode = p->mode;
    s->T = jt_resize_taps(p->mode);
    s->ext_val = (float)p->extrapolation;
    char *host = NULL, *img = NULL;
    jt_resize_table tab[JT_MAX_RANK];
    if (st == JT_OK && r > 0) st = host_tables(a, p, &s->geo, &host, tab);
    /* device image: per axis int32 indices | float weights | flags, 64-byte aligned */
    size_t off[JT_MAX_RANK][3], bytes = 0;
    for (int d = 0; st == JT_OK && d < r; d++) {
        size_t m = (size_t)s->geo.out[d] * (size_t)s->T;
        off[d][0] = bytes;
        bytes += align64(sizeof(int) * (m ? m : 1));
        off[d][1] = bytes;
        bytes += align64(sizeof(float) * (m ? m : 1));
        off[d][2] = bytes;
        bytes += align64(s->geo.out[d] ? (size_t)s->geo.out[d] : 1);
    }
    if (st == JT_OK && r > 0) {
        img = (char *)calloc(1, bytes);
        if (!img) st = jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    }
    for (int d = 0; st == JT_OK && d < r; d++) {
        int64_t m = s->geo.out[d] * s->T;
        int *ix = (int *)(img + off[d][0]);
        float *w = (float *)(img + off[d][1]);
        unsigned char *e = (unsigned char *)(img + off[d][2]);
        for (int64_t k = 0; k < m; k++) {
            ix[k] = (int)tab[d].idx[k];
            w[k] = (float)tab[d].w[k];
        }
        for (int64_t o = 0; o < s->geo.out[d]; o++) e[o] = tab[d].ext[o];
        s->identity[d] = tab[d].identity;
    }
    if (st == JT_OK && r > 0) st = jt_cuda_dev_upload(a, img, bytes, &s->dev);
    free(host);
    free(img);
    if (st != JT_OK) {
        jt_resize_cuda_release(s);
        return st;
    }
    for (int d = 0; d < r; d++) {
        s->idx[d] = (const int *)((char *)s->dev + off[d][0]);
        s->w[d] = (const float *)((char *)s->dev + off[d][1]);
        s->ext[d] = (const unsigned char *)((char *)s->dev + off[d][2]);
    }
    *state = s;
    return JT_OK;
}

typedef struct nn_geom {
    int rank;
    long long od[JT_MAX_RANK], is[JT_MAX_RANK];
    const int *idx[JT_MAX_RANK];
    const unsigned char *ext[JT_MAX_RANK];
    float ext_val;
} nn_geom;

template <typename I>
__global__ void nearest_k(float *__restrict__ y, const float *__restrict__ x, nn_geom g, I n) {
    GRID_LOOP(I, i, n) {
        I rem = i;
        long long so = 0;
        bool ext = false;
        for (int k = g.rank - 1; k >= 0; k--) {
            I d = (I)g.od[k];
            I q = rem / d, o = rem - q * d;
            rem = q;
            so += (long long)g.idx[k][o] * g.is[k];
            ext |= g.ext[k][o] != 0;
        }
        y[i] = ext ? g.ext_val : x[so];
    }
}

/* One separable pass over an axis: dst[oi, o, c] = sum_k w[o*T+k] * src[oi, idx[o*T+k], c]. */
template <typename I>
__global__ void pass_k(float *__restrict__ dst, const float *__restrict__ src, const int *__restrict__ idx,
                       const float *__restrict__ w, const unsigned char *__restrict__ ext, int T, I n_in, I n_out,
                       I inner, float ext_val, I n) {
    GRID_LOOP(I, i, n) {
        I r = i / inner, c = i - r * inner;
        I oi = r / n_out, o = r - oi * n_out;
        if (ext[o]) {
            dst[i] = ext_val;
            continue;
        }
        const float *base = src + (long long)oi * n_in * inner + c;
        const int *ix = idx + (long long)o * T;
        const float *ww = w + (long long)o * T;
        float acc = __fmul_rn(ww[0], base[(long long)ix[0] * inner]);
        for (int k = 1; k < T; k++) {
            float wk = ww[k];
            if (wk == 0.0f) continue;
            acc = __fadd_rn(acc, __fmul_rn(wk, base[(long long)ix[k] * inner]));
        }
        dst[i] = acc;
    }
}

extern "C" jt_status jt_resize_cuda_f32(const jt_kernel_args *a) {
    const rs_state *s = (const rs_state *)a->state;
    const jt_tensor *x = a->in[0];
    jt_tensor *y = a->out[0];
    if (!s) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "CUDA kernel without its plan state");
    int r = x->rank;
    long long ny = jt_tensor_numel(y);
    if (ny == 0) return JT_OK;
    if (r == 0) return jt_cuda_memcpy(a, y->data, x->data, sizeof(float));
    if (s->mode == RS_NEAREST) {
        nn_geom g;
        memset(&g, 0, sizeof g);
        g.rank = r;
        g.ext_val = s->ext_val;
        long long st = 1;
        for (int d = r - 1; d >= 0; d--) {
            g.od[d] = s->geo.out[d];
            g.is[d] = st;
            st *= x->dims[d];
            g.idx[d] = s->idx[d];
            g.ext[d] = s->ext[d];
        }
        LAUNCH_N(a, ny, nearest_k, (float *)y->data, (const float *)x->data, g, ny);
        return JT_OK;
    }
    int axes[JT_MAX_RANK], np = 0;
    for (int d = r - 1; d >= 0; d--)
        if (!s->identity[d]) axes[np++] = d;
    if (np == 0) return jt_cuda_memcpy(a, y->data, x->data, jt_tensor_nbytes(x));
    /* largest intermediate, as the CPU's max_inter */
    long long inter = 0;
    for (int d = r - 1; d >= 0; d--) {
        long long e = 1;
        for (int k = 0; k < r; k++) e *= k < d ? x->dims[k] : s->geo.out[k];
        if (e > inter) inter = e;
    }
    size_t need = np > 1 ? 2 * align64((size_t)inter * sizeof(float)) : 0;
    if (need && (!a->ws || a->ws_size < need))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "device workspace too small");
    float *buf[2] = {(float *)a->ws, (float *)((char *)a->ws + align64((size_t)inter * sizeof(float)))};
    long long cur[JT_MAX_RANK];
    for (int d = 0; d < r; d++) cur[d] = x->dims[d];
    const float *src = (const float *)x->data;
    for (int k = 0; k < np; k++) {
        int d = axes[k];
        float *dst = k == np - 1 ? (float *)y->data : buf[k % 2];
        long long outer = 1, inner = 1;
        for (int q = 0; q < d; q++) outer *= cur[q];
        for (int q = d + 1; q < r; q++) inner *= cur[q];
        long long n = outer * s->geo.out[d] * inner;
        if (n > 0)
            LAUNCH_N(a, n, pass_k, dst, src, s->idx[d], s->w[d], s->ext[d], s->T, cur[d], s->geo.out[d], inner,
                     s->ext_val, n);
        cur[d] = s->geo.out[d];
        src = dst;
    }
    return JT_OK;
}

/* ---- ResizeGrad ---- */

extern "C" jt_status jt_resize_grad_cuda_prepare(const jt_kernel_args *a, void **state) {
    const resize_attrs *p = (const resize_attrs *)a->attrs;
    const jt_tensor *dy = a->in[0], *dx = a->out[0];
    int r = dx->rank;
    rs_state *s = (rs_state *)calloc(1, sizeof *s);
    if (!s) return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    s->grad = 1;
    jt_status st = jt_resize_grad_geometry(a->ctx, a->graph, a->node, p, a->n_in, a->in, r, dx->dims, &s->geo);
    char *host = NULL;
    jt_resize_table tab[JT_MAX_RANK];
    if (st == JT_OK && r > 0 && jt_tensor_numel(dx) > 0 && jt_tensor_numel(dy) > 0) {
        st = host_tables(a, p, &s->geo, &host, tab);
        if (st == JT_OK) {
            int T = jt_resize_taps(p->mode);
            jt_axis_map m[JT_MAX_RANK];
            const jt_axis_map *maps[JT_MAX_RANK];
            for (int d = 0; d < r; d++) {
                maps[d] = NULL;
                if (tab[d].identity) continue;
                m[d].n_in = s->geo.in[d];
                m[d].n_out = s->geo.out[d];
                m[d].T = T;
                m[d].idx = tab[d].idx;
                m[d].w = tab[d].w;
                m[d].zero = tab[d].ext;
                maps[d] = &m[d];
            }
            st = jt_cuda_sep_adj_create(a, r, dx->dims, dy->dims, maps, &s->adj);
        }
    }
    free(host);
    if (st != JT_OK) {
        jt_resize_cuda_release(s);
        return st;
    }
    *state = s;
    return JT_OK;
}

extern "C" jt_status jt_resize_grad_cuda_f32(const jt_kernel_args *a) {
    const rs_state *s = (const rs_state *)a->state;
    const jt_tensor *dy = a->in[0];
    jt_tensor *dx = a->out[0];
    if (!s) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "CUDA kernel without its plan state");
    if (jt_tensor_numel(dx) == 0) return JT_OK;
    if (dx->rank == 0) return jt_cuda_memcpy(a, dx->data, dy->data, sizeof(float));
    if (jt_tensor_numel(dy) == 0 || !s->adj) return jt_cuda_zero(a, dx->data, jt_tensor_nbytes(dx));
    return jt_cuda_sep_adj_run(a, s->adj, (float *)dx->data, (const float *)dy->data, a->ws);
}
