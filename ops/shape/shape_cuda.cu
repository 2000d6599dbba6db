/* CUDA float32 data movement of the shape family (see shape_cuda.h): strided gather/scatter (Transpose,
 * Expand, Slice, DepthToSpace, SpaceToDepth, SliceGrad, PadGrad's interior), block copies (Concat,
 * Split, ConcatGrad), Pad, Gather/GatherGrad, Dropout/DropoutGrad and the separable adjoint (PadGrad,
 * ResizeGrad). C-style CUDA: templates only to pick 32- or 64-bit index arithmetic. Element index math
 * uses 32-bit integers when the element count allows (fast division), else 64-bit. */
#include <cuda_runtime.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cuda/cuda_backend.h"
#include "runtime/cuda/check.h"
#include "shape_cuda.h"
#include "shape_hd.h"

#define STREAM(a) jt_cuda_stream((a)->backend)
#define SMALL_N (1LL << 30) /* int indexing below this (grid-stride steps stay below 2^31) */

/* Launches KERNEL<int> or KERNEL<long long> over n elements with the standard grid. */
#define LAUNCH_N(a, n, KERNEL, ...)                                                                         \
    do {                                                                                                  \
        if ((long long)(n) < SMALL_N)                                                                     \
            KERNEL<int><<<jt_cuda_blocks(n), JT_CUDA_THREADS, 0, STREAM(a)>>>(__VA_ARGS__);               \
        else                                                                                              \
            KERNEL<long long><<<jt_cuda_blocks(n), JT_CUDA_THREADS, 0, STREAM(a)>>>(__VA_ARGS__);         \
        JT_CUDA_CHECK_LAUNCH((a)->ctx);                                                                   \
    } while (0)

#define GRID_LOOP(I, i, n) for (I i = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x; i < (n); i += (I)gridDim.x * (I)blockDim.x)

/* ---- plain copies ---- */

extern "C" jt_status jt_cuda_memcpy(const jt_kernel_args *a, void *dst, const void *src, size_t bytes) {
    if (dst == src || bytes == 0) return JT_OK;
    JT_CUDA_TRY(a->ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, STREAM(a)));
    return JT_OK;
}

extern "C" jt_status jt_cuda_zero(const jt_kernel_args *a, void *dst, size_t bytes) {
    if (bytes == 0) return JT_OK;
    JT_CUDA_TRY(a->ctx, cudaMemsetAsync(dst, 0, bytes, STREAM(a)));
    return JT_OK;
}

extern "C" jt_status jt_copy_cuda_f32(const jt_kernel_args *a) {
    return jt_cuda_memcpy(a, a->out[0]->data, a->in[0]->data, jt_tensor_nbytes(a->in[0]));
}

extern "C" jt_status jt_cuda_dev_upload(const jt_kernel_args *a, const void *host, size_t bytes, void **dev) {
    *dev = NULL;
    if (bytes == 0) return JT_OK;
    JT_CUDA_TRY(a->ctx, cudaMalloc(dev, bytes));
    cudaError_t e = cudaMemcpyAsync(*dev, host, bytes, cudaMemcpyHostToDevice, STREAM(a));
    if (e != cudaSuccess) {
        cudaFree(*dev);
        *dev = NULL;
        JT_CUDA_TRY(a->ctx, e);
    }
    /* pageable source: the call returns once host is staged, so host may be freed now */
    return JT_OK;
}

extern "C" void jt_cuda_dev_free(void *dev) {
    if (dev) cudaFree(dev);
}

extern "C" void jt_cuda_state_free(void *state) { free(state); }

/* ---- strided gather / scatter ---- */

typedef struct sc_geom {
    int rank;
    long long od[JT_MAX_RANK];
    long long st[JT_MAX_RANK];
} sc_geom;

/* Source offset of flat index i over dims g.od with strides g.st. */
template <typename I>
__device__ static inline long long sc_offset(const sc_geom &g, I i) {
    long long so = 0;
    I rem = i;
    for (int k = g.rank - 1; k > 0; k--) {
        I d = (I)g.od[k];
        I q = rem / d;
        so += (long long)(rem - q * d) * g.st[k];
        rem = q;
    }
    return so + (long long)rem * g.st[0];
}

template <typename I>
__global__ void gather_strided_k(float *__restrict__ dst, const float *__restrict__ src, sc_geom g, I n) {
    GRID_LOOP(I, i, n) dst[i] = src[sc_offset<I>(g, i)];
}

template <typename I>
__global__ void scatter_strided_k(float *__restrict__ dst, const float *__restrict__ src, sc_geom g, I n) {
    GRID_LOOP(I, i, n) dst[sc_offset<I>(g, i)] = src[i];
}

/* The 2-D tiled transpose: the plane (tile axis A with unit source stride, last axis B with unit
 * destination stride) goes through a 32x33 shared tile; the other axes are the outer index. */
typedef struct tile_geom {
    int n_outer_axes;
    long long o_od[JT_MAX_RANK], o_ss[JT_MAX_RANK], o_ds[JT_MAX_RANK];
    long long n_outer, A, B, sB, dA;
} tile_geom;

#define TILE 32
#define TILE_ROWS 8

__global__ void tile_transpose_k(float *__restrict__ dst, const float *__restrict__ src, tile_geom g) {
    __shared__ float tile[TILE][TILE + 1];
    long long a0 = (long long)blockIdx.y * TILE, b0 = (long long)blockIdx.x * TILE;
    for (long long ou = blockIdx.z; ou < g.n_outer; ou += gridDim.z) {
        long long rem = ou, so = 0, dof = 0;
        for (int k = g.n_outer_axes - 1; k >= 0; k--) {
            long long q = rem / g.o_od[k], i = rem - q * g.o_od[k];
            so += i * g.o_ss[k];
            dof += i * g.o_ds[k];
            rem = q;
        }
        for (int j = threadIdx.y; j < TILE; j += TILE_ROWS) {
            long long av = a0 + threadIdx.x, bv = b0 + j;
            if (av < g.A && bv < g.B) tile[j][threadIdx.x] = src[so + av + bv * g.sB];
        }
        __syncthreads();
        for (int j = threadIdx.y; j < TILE; j += TILE_ROWS) {
            long long av = a0 + j, bv = b0 + threadIdx.x;
            if (av < g.A && bv < g.B) dst[dof + av * g.dA + bv] = tile[threadIdx.x][j];
        }
        __syncthreads();
    }
}

/* Drops unit axes and merges axes that are contiguous in the source (as the CPU's jt_strided_copy). */
static int sc_simplify(int rank, const int64_t *od, const int64_t *st, sc_geom *g) {
    int r = 0;
    for (int k = 0; k < rank; k++) {
        if (od[k] == 1) continue;
        if (r > 0 && g->st[r - 1] == st[k] * od[k]) {
            g->od[r - 1] *= od[k];
            g->st[r - 1] = st[k];
            continue;
        }
        g->od[r] = od[k];
        g->st[r] = st[k];
        r++;
    }
    g->rank = r;
    return r;
}

extern "C" jt_status jt_cuda_strided_copy(const jt_kernel_args *a, float *dst, const float *src, int rank,
                                          const int64_t *od, const int64_t *st) {
    long long total = 1;
    for (int k = 0; k < rank; k++) total *= od[k];
    if (total == 0) return JT_OK;
    sc_geom g;
    memset(&g, 0, sizeof g);
    int r = sc_simplify(rank, od, st, &g);
    if (r == 0) return jt_cuda_memcpy(a, dst, src, sizeof(float));
    if (r == 1 && g.st[0] == 1) return jt_cuda_memcpy(a, dst, src, (size_t)total * sizeof(float));
    int ta = -1;
    if (r >= 2 && g.st[r - 1] != 1 && g.st[r - 1] != 0 && g.od[r - 1] >= 8)
        for (int k = r - 2; k >= 0; k--)
            if (g.st[k] == 1 && g.od[k] >= 8) {
                ta = k;
                break;
            }
    if (ta >= 0 && (g.od[ta] + TILE - 1) / TILE <= 65535) {
        tile_geom t;
        memset(&t, 0, sizeof t);
        long long ds[JT_MAX_RANK], s = 1;
        for (int k = r - 1; k >= 0; k--) {
            ds[k] = s;
            s *= g.od[k];
        }
        t.A = g.od[ta];
        t.B = g.od[r - 1];
        t.sB = g.st[r - 1];
        t.dA = ds[ta];
        t.n_outer = 1;
        for (int k = 0; k < r - 1; k++) {
            if (k == ta) continue;
            t.o_od[t.n_outer_axes] = g.od[k];
            t.o_ss[t.n_outer_axes] = g.st[k];
            t.o_ds[t.n_outer_axes] = ds[k];
            t.n_outer_axes++;
            t.n_outer *= g.od[k];
        }
        dim3 grid((unsigned)((t.B + TILE - 1) / TILE), (unsigned)((t.A + TILE - 1) / TILE),
                  (unsigned)(t.n_outer < 65535 ? t.n_outer : 65535));
        tile_transpose_k<<<grid, dim3(TILE, TILE_ROWS), 0, STREAM(a)>>>(dst, src, t);
        JT_CUDA_CHECK_LAUNCH(a->ctx);
        return JT_OK;
    }
    LAUNCH_N(a, total, gather_strided_k, dst, src, g, total);
    return JT_OK;
}

extern "C" jt_status jt_cuda_strided_scatter(const jt_kernel_args *a, float *dst, const float *src, int rank,
                                             const int64_t *sd, const int64_t *st) {
    long long total = 1;
    for (int k = 0; k < rank; k++) total *= sd[k];
    if (total == 0) return JT_OK;
    if (rank == 0) return jt_cuda_memcpy(a, dst, src, sizeof(float));
    sc_geom g;
    memset(&g, 0, sizeof g);
    g.rank = rank;
    for (int k = 0; k < rank; k++) {
        g.od[k] = sd[k];
        g.st[k] = st[k];
    }
    LAUNCH_N(a, total, scatter_strided_k, dst, src, g, total);
    return JT_OK;
}

/* ---- block copies ---- */

template <typename I>
__global__ void copy2d_k(float *__restrict__ dst, long long dp, const float *__restrict__ src, long long sp, I cols,
                         I n) {
    GRID_LOOP(I, i, n) {
        I r = i / cols, c = i - r * cols;
        dst[(long long)r * dp + c] = src[(long long)r * sp + c];
    }
}

extern "C" jt_status jt_cuda_copy2d(const jt_kernel_args *a, float *dst, int64_t dpitch, const float *src,
                                    int64_t spitch, int64_t rows, int64_t cols) {
    long long n = (long long)rows * cols;
    if (n == 0) return JT_OK;
    if (rows == 1 || (dpitch == cols && spitch == cols))
        return jt_cuda_memcpy(a, dst, src, (size_t)n * sizeof(float));
    LAUNCH_N(a, n, copy2d_k, dst, (long long)dpitch, src, (long long)spitch, cols, n);
    return JT_OK;
}

/* ---- Pad ---- */

typedef struct pad_geom {
    int rank, mode;
    long long xd[JT_MAX_RANK], yd[JT_MAX_RANK], pb[JT_MAX_RANK], xs[JT_MAX_RANK];
} pad_geom;

template <typename I>
__global__ void pad_k(float *__restrict__ y, const float *__restrict__ x, pad_geom g, const float *cv, float value,
                      I n) {
    float v = cv ? *cv : value;
    GRID_LOOP(I, i, n) {
        I rem = i;
        long long so = 0;
        bool outside = false;
        for (int k = g.rank - 1; k >= 0; k--) {
            I d = (I)g.yd[k];
            I q = rem / d;
            long long s = (long long)(rem - q * d) - g.pb[k];
            rem = q;
            if (s < 0 || s >= g.xd[k]) {
                if (g.mode == JT_PAD_CONSTANT) {
                    outside = true;
                    continue;
                }
                s = jt_pad_map_index(g.mode, s, g.xd[k]);
            }
            so += s * g.xs[k];
        }
        y[i] = outside ? v : x[so];
    }
}

extern "C" jt_status jt_cuda_pad(const jt_kernel_args *a, float *y, const float *x, int rank, const int64_t *xd,
                                 const int64_t *yd, const int64_t *pb, int mode, const float *cv, float value) {
    pad_geom g;
    memset(&g, 0, sizeof g);
    g.rank = rank;
    g.mode = mode;
    long long n = 1, s = 1;
    for (int k = rank - 1; k >= 0; k--) {
        g.xd[k] = xd[k];
        g.yd[k] = yd[k];
        g.pb[k] = pb[k];
        g.xs[k] = s;
        s *= xd[k];
        n *= yd[k];
    }
    if (n == 0) return JT_OK;
    LAUNCH_N(a, n, pad_k, y, x, g, cv, value, n);
    return JT_OK;
}

/* ---- Gather / GatherGrad ---- */

__device__ static inline long long load_index(const void *idx, int idx64, long long i) {
    return idx64 ? ((const long long *)idx)[i] : (long long)((const int *)idx)[i];
}

template <typename I>
__global__ void gather_k(float *__restrict__ y, const float *__restrict__ x, const void *idx, int idx64, I n_idx,
                         I dim, I block, I n) {
    GRID_LOOP(I, i, n) {
        I r = i / block, e = i - r * block;
        I o = r / n_idx, ii = r - o * n_idx;
        long long v = load_index(idx, idx64, ii);
        if (v < 0) v += dim;
        y[i] = v >= 0 && v < (long long)dim ? x[((long long)o * dim + v) * block + e] : 0.0f;
    }
}

template <typename I>
__global__ void gather_grad_k(float *__restrict__ dx, const float *__restrict__ dy, const void *idx, int idx64,
                              I n_idx, I dim, I block, I n) {
    GRID_LOOP(I, i, n) {
        I r = i / block, e = i - r * block;
        I o = r / dim, v = r - o * dim;
        const float *s = dy + (long long)o * n_idx * block + e;
        float acc = 0.0f;
        for (I ii = 0; ii < n_idx; ii++) {
            long long w = load_index(idx, idx64, ii);
            if (w < 0) w += dim;
            if (w == (long long)v) acc = __fadd_rn(acc, s[(long long)ii * block]);
        }
        dx[i] = acc;
    }
}

extern "C" jt_status jt_cuda_gather(const jt_kernel_args *a, float *y, const float *x, const void *idx, int idx64,
                                    int64_t n_idx, int64_t outer, int64_t dim, int64_t block) {
    long long n = (long long)outer * n_idx * block;
    if (n == 0) return JT_OK;
    LAUNCH_N(a, n, gather_k, y, x, idx, idx64, n_idx, dim, block, n);
    return JT_OK;
}

extern "C" jt_status jt_cuda_gather_grad(const jt_kernel_args *a, float *dx, const float *dy, const void *idx,
                                         int idx64, int64_t n_idx, int64_t outer, int64_t dim, int64_t block) {
    long long n = (long long)outer * dim * block;
    if (n == 0) return JT_OK;
    if ((long long)outer * n_idx * block >= SMALL_N) {
        gather_grad_k<long long><<<jt_cuda_blocks(n), JT_CUDA_THREADS, 0, STREAM(a)>>>(dx, dy, idx, idx64, n_idx,
                                                                                         dim, block, n);
        JT_CUDA_CHECK_LAUNCH(a->ctx);
        return JT_OK;
    }
    LAUNCH_N(a, n, gather_grad_k, dx, dy, idx, idx64, n_idx, dim, block, n);
    return JT_OK;
}

/* ---- Dropout / DropoutGrad ---- */

__global__ void dropout_k(jt_cuda_dropout_args d, long long n_blocks) {
    bool training = d.training_mode ? *d.training_mode != 0 : false;
    double ratio = 0.5;
    if (d.ratio) ratio = d.ratio_f64 ? *(const double *)d.ratio : (double)*(const float *)d.ratio;
    float s = (float)jt_dropout_scale(ratio);
    GRID_LOOP(long long, b, n_blocks) {
        uint8_t keep[4] = {1, 1, 1, 1};
        long long i0 = b * 4;
        if (training) {
            if (d.mask_in) {
                for (int k = 0; k < 4; k++)
                    if (i0 + k < d.n) keep[k] = d.mask_in[i0 + k] != 0;
            } else {
                jt_dropout_keep4(d.seed, d.call, (uint64_t)b, ratio, keep);
            }
        }
        for (int k = 0; k < 4; k++) {
            long long i = i0 + k;
            if (i >= d.n) break;
            float xv = d.x[i];
            d.y[i] = training ? (keep[k] ? __fmul_rn(xv, s) : 0.0f) : xv;
            if (d.mask_out) {
                if (d.mask_f32) ((float *)d.mask_out)[i] = keep[k] ? 1.0f : 0.0f;
                else ((uint8_t *)d.mask_out)[i] = keep[k];
            }
        }
    }
}

extern "C" jt_status jt_cuda_dropout(const jt_kernel_args *a, const jt_cuda_dropout_args *d) {
    long long nb = (d->n + 3) / 4;
    if (nb == 0) return JT_OK;
    dropout_k<<<jt_cuda_blocks(nb), JT_CUDA_THREADS, 0, STREAM(a)>>>(*d, nb);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}

/* ---- separable adjoint ---- */

struct jt_cuda_sep_adj {
    int rank, np;
    int axes[JT_MAX_RANK];
    long long xd[JT_MAX_RANK], yd[JT_MAX_RANK];
    const int *off[JT_MAX_RANK]; /* per pass: n_in + 1 offsets into pos/w */
    const int *pos[JT_MAX_RANK]; /* output positions reading the input position */
    const float *w[JT_MAX_RANK]; /* their weights */
    void *dev;                   /* one device allocation holding every table */
    long long inter;             /* largest intermediate (elements) */
};

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; } /* as jt_sep_adjoint_workspace */

template <typename I>
__global__ void adj_pass_k(float *__restrict__ dst, const float *__restrict__ src, const int *__restrict__ off,
                           const int *__restrict__ pos, const float *__restrict__ w, I n_in, I n_out, I inner, I n) {
    GRID_LOOP(I, i, n) {
        I r = i / inner, c = i - r * inner;
        I o = r / n_in, ii = r - o * n_in;
        const float *s = src + (long long)o * n_out * inner + c;
        float acc = 0.0f;
        for (int e = off[ii]; e < off[ii + 1]; e++) acc = __fadd_rn(acc, __fmul_rn(w[e], s[(long long)pos[e] * inner]));
        dst[i] = acc;
    }
}

extern "C" jt_status jt_cuda_sep_adj_create(const jt_kernel_args *a, int rank, const int64_t *xd, const int64_t *yd,
                                            const jt_axis_map *const *maps, jt_cuda_sep_adj **out) {
    *out = NULL;
    jt_cuda_sep_adj *s = (jt_cuda_sep_adj *)calloc(1, sizeof *s);
    if (!s) return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    s->rank = rank;
    for (int d = 0; d < rank; d++) {
        s->xd[d] = xd[d];
        s->yd[d] = yd[d];
        if (maps[d]) s->axes[s->np++] = d;
    }
    for (int k = 0; k + 1 < s->np; k++) { /* after pass k: x dims up to axes[k], y dims after */
        long long e = 1;
        for (int q = 0; q < rank; q++) e *= q <= s->axes[k] ? xd[q] : yd[q];
        if (e > s->inter) s->inter = e;
    }
    /* host image of the tables: per pass offsets | positions | weights, each 64-byte aligned */
    size_t bytes = 0, at[JT_MAX_RANK][3];
    for (int k = 0; k < s->np; k++) {
        const jt_axis_map *m = maps[s->axes[k]];
        long long c = 0;
        for (int64_t p = 0; p < m->n_out; p++) {
            if (m->zero && m->zero[p]) continue;
            for (int t = 0; t < m->T; t++)
                if ((m->w ? (float)m->w[p * m->T + t] : 1.0f) != 0.0f) c++;
        }
        at[k][0] = bytes;
        bytes += align64(sizeof(int) * (size_t)(m->n_in + 1));
        at[k][1] = bytes;
        bytes += align64(sizeof(int) * (size_t)(c ? c : 1));
        at[k][2] = bytes;
        bytes += align64(sizeof(float) * (size_t)(c ? c : 1));
    }
    if (s->np == 0) {
        *out = s;
        return JT_OK;
    }
    char *h = (char *)calloc(1, bytes);
    if (!h) {
        free(s);
        return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    }
    for (int k = 0; k < s->np; k++) {
        const jt_axis_map *m = maps[s->axes[k]];
        int *off = (int *)(h + at[k][0]), *pos = (int *)(h + at[k][1]);
        float *w = (float *)(h + at[k][2]);
        /* count per input position, prefix sums, then fill in (output position, tap) order */
        for (int64_t p = 0; p < m->n_out; p++) {
            if (m->zero && m->zero[p]) continue;
            for (int t = 0; t < m->T; t++)
                if ((m->w ? (float)m->w[p * m->T + t] : 1.0f) != 0.0f) off[m->idx[p * m->T + t] + 1]++;
        }
        for (int64_t i = 0; i < m->n_in; i++) off[i + 1] += off[i];
        int *fill = (int *)malloc(sizeof(int) * (size_t)(m->n_in ? m->n_in : 1));
        if (!fill) {
            free(h);
            free(s);
            return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
        }
        for (int64_t i = 0; i < m->n_in; i++) fill[i] = off[i];
        for (int64_t p = 0; p < m->n_out; p++) {
            if (m->zero && m->zero[p]) continue;
            for (int t = 0; t < m->T; t++) {
                float wt = m->w ? (float)m->w[p * m->T + t] : 1.0f;
                if (wt == 0.0f) continue;
                int e = fill[m->idx[p * m->T + t]]++;
                pos[e] = (int)p;
                w[e] = wt;
            }
        }
        free(fill);
    }
    void *dev = NULL;
    jt_status st = jt_cuda_dev_upload(a, h, bytes, &dev);
    free(h);
    if (st != JT_OK) {
        free(s);
        return st;
    }
    s->dev = dev;
    for (int k = 0; k < s->np; k++) {
        s->off[k] = (const int *)((char *)dev + at[k][0]);
        s->pos[k] = (const int *)((char *)dev + at[k][1]);
        s->w[k] = (const float *)((char *)dev + at[k][2]);
    }
    *out = s;
    return JT_OK;
}

extern "C" void jt_cuda_sep_adj_free(jt_cuda_sep_adj *s) {
    if (!s) return;
    jt_cuda_dev_free(s->dev);
    free(s);
}

extern "C" size_t jt_cuda_sep_adj_workspace(const jt_cuda_sep_adj *s) {
    return s && s->np > 1 ? 2 * align64((size_t)s->inter * sizeof(float)) : 0;
}

extern "C" jt_status jt_cuda_sep_adj_run(const jt_kernel_args *a, const jt_cuda_sep_adj *s, float *dx,
                                         const float *dy, void *ws) {
    long long nx = 1;
    for (int d = 0; d < s->rank; d++) nx *= s->xd[d];
    if (nx == 0) return JT_OK;
    if (s->np == 0) return jt_cuda_memcpy(a, dx, dy, (size_t)nx * sizeof(float));
    if (s->np > 1 && (!ws || a->ws_size < jt_cuda_sep_adj_workspace(s)))
        return jt_fail(a->ctx, JT_ERR_INTERNAL, "separable adjoint: device workspace too small");
    float *buf[2] = {(float *)ws, (float *)((char *)ws + align64((size_t)s->inter * sizeof(float)))};
    long long cur[JT_MAX_RANK];
    for (int d = 0; d < s->rank; d++) cur[d] = s->yd[d];
    const float *src = dy;
    for (int k = 0; k < s->np; k++) {
        int d = s->axes[k];
        float *dst = k == s->np - 1 ? dx : buf[k % 2];
        long long outer = 1, inner = 1;
        for (int q = 0; q < d; q++) outer *= cur[q];
        for (int q = d + 1; q < s->rank; q++) inner *= cur[q];
        long long n = outer * s->xd[d] * inner;
        if (n > 0) LAUNCH_N(a, n, adj_pass_k, dst, src, s->off[k], s->pos[k], s->w[k], s->xd[d], cur[d], inner, n);
        cur[d] = s->xd[d];
        src = dst;
    }
    return JT_OK;
}
