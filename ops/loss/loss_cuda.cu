/* CUDA float32 SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss, their gradients and OneHotLike (see
 * loss_cuda.h and loss.h for the layout). Arithmetic per position is in double as on the CPU.
 *   SCE forward/grad: one warp per position (n, d): max and log-sum-exp over the C classes (lane-strided,
 *     then a fixed shuffle tree whose lane-0 result is broadcast, so every lane uses the same value).
 *   NLL forward, NLL grad, OneHotLike: one thread per position / element.
 *   sum / mean: per-position losses and weights go to the workspace (double), one block of 1024 threads
 *     sums them in a fixed order; the grads' mean divides by a weight sum computed the same way. */
#include <cuda_runtime.h>
#include <math.h>
#include <string.h>

#include "loss_cuda.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/cuda_backend.h"

#define STREAM(a) jt_cuda_stream((a)->backend)
#define RED_THREADS 1024
#define FULL 0xffffffffu

typedef struct loss_dev {
    const float *x;      /* scores / log-probabilities [N, C, D] */
    const void *labels;  /* [N, D] int64 (lab64) or int32 */
    int lab64;
    const float *w;      /* [C] or NULL */
    long long N, C, D;
    int reduction, has_ii;
    long long ii;
} loss_dev;

__device__ static inline long long label_at(const loss_dev &g, long long i) {
    return g.lab64 ? ((const long long *)g.labels)[i] : (long long)((const int *)g.labels)[i];
}

/* Weight of position i: 0 when ignored, NaN (and *bad) when the label is out of range. */
__device__ static inline double pos_weight(const loss_dev &g, long long i, long long *t, bool *bad) {
    *t = label_at(g, i);
    *bad = false;
    if (g.has_ii && *t == g.ii) return 0.0;
    if (*t < 0 || *t >= g.C) {
        *bad = true;
        return nan("");
    }
    return g.w ? (double)g.w[*t] : 1.0;
}

__device__ static inline double warp_max(double v) {
    for (int o = 16; o > 0; o >>= 1) {
        double u = __shfl_xor_sync(FULL, v, o);
        v = u > v ? u : v;
    }
    return __shfl_sync(FULL, v, 0);
}

__device__ static inline double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL, v, o);
    return __shfl_sync(FULL, v, 0); /* lane 0's order for everyone */
}

/* max and log-sum-exp of the C values xp[c * D], by the whole warp */
__device__ static inline void warp_lse(const float *xp, long long C, long long D, int lane, double *m_out,
                                       double *ls_out) {
    double m = -INFINITY;
    for (long long c = lane; c < C; c += 32) {
        double v = (double)xp[c * D];
        m = v > m ? v : m;
    }
    m = warp_max(m);
    double s = 0;
    for (long long c = lane; c < C; c += 32) s += exp((double)xp[c * D] - m);
    s = warp_sum(s);
    *m_out = m;
    *ls_out = log(s);
}

#define WARP_LOOP(pos, P)                                                                                \
    for (long long pos = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5; pos < (P);             \
         pos += ((long long)gridDim.x * blockDim.x) >> 5)

static unsigned warp_blocks(long long P) { return jt_cuda_blocks(P * 32); }

/* ---- forward ---- */

__global__ void sce_fwd_k(loss_dev g, float *y, float *lp, double *lbuf, double *wbuf) {
    int lane = threadIdx.x & 31;
    long long P = g.N * g.D;
    WARP_LOOP(pos, P) {
        long long n = pos / g.D, d = pos - n * g.D, base = n * g.C * g.D + d;
        const float *xp = g.x + base;
        double m, ls;
        warp_lse(xp, g.C, g.D, lane, &m, &ls);
        if (lp)
            for (long long c = lane; c < g.C; c += 32) lp[base + c * g.D] = (float)(((double)xp[c * g.D] - m) - ls);
        if (lane == 0) {
            long long t;
            bool bad;
            double wt = pos_weight(g, pos, &t, &bad), l = 0;
            if (bad) l = nan("");
            else if (wt != 0.0) l = -wt * (((double)xp[t * g.D] - m) - ls);
            if (g.reduction == LOSS_NONE) {
                y[pos] = (float)l;
            } else {
                lbuf[pos] = l;
                wbuf[pos] = wt;
            }
        }
    }
}

__global__ void nll_fwd_k(loss_dev g, float *y, double *lbuf, double *wbuf) {
    long long P = g.N * g.D;
    for (long long pos = (long long)blockIdx.x * blockDim.x + threadIdx.x; pos < P;
         pos += (long long)gridDim.x * blockDim.x) {
        long long n = pos / g.D, d = pos - n * g.D, t;
        bool bad;
        double wt = pos_weight(g, pos, &t, &bad), l = 0;
        if (bad) l = nan("");
        else if (wt != 0.0) l = -wt * (double)g.x[n * g.C * g.D + t * g.D + d];
        if (g.reduction == LOSS_NONE) {
            y[pos] = (float)l;
        } else {
            lbuf[pos] = l;
            wbuf[pos] = wt;
        }
    }
}

/* Fixed-order block tree over RED_THREADS partial sums (thread k sums elements k, k + RED_THREADS, ...). */
__device__ static inline double block_sum(double v, double *sh) {
    int t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (int s = RED_THREADS / 2; s > 0; s >>= 1) {
        if (t < s) sh[t] += sh[t + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

__global__ void __launch_bounds__(RED_THREADS) loss_reduce_k(const double *lbuf, const double *wbuf, long long P,
                                                             int reduction, float *y) {
    __shared__ double sh[RED_THREADS];
    double a = 0, b = 0;
    for (long long i = threadIdx.x; i < P; i += RED_THREADS) {
        a += lbuf[i];
        b += wbuf[i];
    }
    a = block_sum(a, sh);
    b = block_sum(b, sh);
    if (threadIdx.x == 0) y[0] = reduction == LOSS_SUM ? (float)a : (float)(a / b); /* 0/0 = NaN, as the CPU */
}

__global__ void __launch_bounds__(RED_THREADS) wsum_k(loss_dev g, double *out) {
    __shared__ double sh[RED_THREADS];
    long long P = g.N * g.D;
    double s = 0;
    for (long long i = threadIdx.x; i < P; i += RED_THREADS) {
        long long t;
        bool bad;
        s += pos_weight(g, i, &t, &bad);
    }
    s = block_sum(s, sh);
    if (threadIdx.x == 0) out[0] = s;
}

static loss_dev make_dev(const jt_kernel_args *a, const jt_tensor *x, const jt_tensor *labels, const jt_tensor *w) {
    const loss_attrs *at = (const loss_attrs *)a->attrs;
    loss_dev g;
    memset(&g, 0, sizeof g);
    int64_t N, C, D;
    loss_geom(x, &N, &C, &D);
    g.x = (const float *)x->data;
    g.labels = labels->data;
    g.lab64 = labels->dtype == JT_I64;
    g.w = w ? (const float *)w->data : NULL;
    g.N = N;
    g.C = C;
    g.D = D;
    g.reduction = at->reduction;
    g.has_ii = at->has_ii;
    g.ii = at->ii;
    return g;
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

extern "C" size_t jt_loss_cuda_workspace(const jt_kernel_args *a) {
    const loss_attrs *at = (const loss_attrs *)a->attrs;
    if (at->reduction == LOSS_NONE) return 0;
    int64_t N, C, D;
    loss_geom(a->in[0], &N, &C, &D);
    return 2 * align64(sizeof(double) * (size_t)(N * D > 0 ? N * D : 1));
}

static jt_status loss_fwd(const jt_kernel_args *a, int sce) {
    const loss_attrs *at = (const loss_attrs *)a->attrs;
    const jt_tensor *x = a->in[0], *labels = a->in[1], *w = a->n_in > 2 ? a->in[2] : NULL;
    jt_tensor *lp = sce && a->n_out > 1 ? a->out[1] : NULL;
    loss_dev g = make_dev(a, x, labels, w);
    long long P = g.N * g.D;
    double *lbuf = NULL, *wbuf = NULL;
    if (at->reduction != LOSS_NONE) {
        if (!a->ws || a->ws_size < jt_loss_cuda_workspace(a))
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "device workspace too small");
        lbuf = (double *)a->ws;
        wbuf = (double *)((char *)a->ws + align64(sizeof(double) * (size_t)(P > 0 ? P : 1)));
    }
    float *y = (float *)a->out[0]->data;
    if (P > 0) {
        if (sce)
            sce_fwd_k<<<warp_blocks(P), JT_CUDA_THREADS, 0, STREAM(a)>>>(g, y, lp ? (float *)lp->data : NULL, lbuf,
                                                                         wbuf);
        else
            nll_fwd_k<<<jt_cuda_blocks(P), JT_CUDA_THREADS, 0, STREAM(a)>>>(g, y, lbuf, wbuf);
        JT_CUDA_CHECK_LAUNCH(a->ctx);
    }
    if (at->reduction != LOSS_NONE) {
        loss_reduce_k<<<1, RED_THREADS, 0, STREAM(a)>>>(lbuf, wbuf, P, at->reduction, y);
        JT_CUDA_CHECK_LAUNCH(a->ctx);
    }
    return JT_OK;
}

extern "C" jt_status jt_sce_cuda_f32(const jt_kernel_args *a) { return loss_fwd(a, 1); }
extern "C" jt_status jt_nll_cuda_f32(const jt_kernel_args *a) { return loss_fwd(a, 0); }

/* ---- gradients ---- */

/* Upstream coefficient of position pos: dy (none), dy[0] (sum), dy[0] / wsum (mean); 0 without dy. */
__device__ static inline double coef_at(const loss_dev &g, const float *dy, const double *wsum, long long pos) {
    if (!dy) return 0.0;
    if (g.reduction == LOSS_NONE) return (double)dy[pos];
    if (g.reduction == LOSS_SUM) return (double)dy[0];
    return (double)dy[0] / wsum[0];
}

__global__ void sce_grad_k(loss_dev g, const float *dy, const float *dlp, const double *wsum, float *dx) {
    int lane = threadIdx.x & 31;
    long long P = g.N * g.D;
    WARP_LOOP(pos, P) {
        long long n = pos / g.D, d = pos - n * g.D, base = n * g.C * g.D + d, t;
        const float *xp = g.x + base;
        bool bad;
        double wt = pos_weight(g, pos, &t, &bad);
        double gc = coef_at(g, dy, wsum, pos) * wt;
        double m, ls, sdl = 0;
        warp_lse(xp, g.C, g.D, lane, &m, &ls);
        if (dlp) {
            for (long long c = lane; c < g.C; c += 32) sdl += (double)dlp[base + c * g.D];
            sdl = warp_sum(sdl);
        }
        for (long long c = lane; c < g.C; c += 32) {
            double p = exp(((double)xp[c * g.D] - m) - ls);
            double v = gc * (p - (c == t ? 1.0 : 0.0));
            if (dlp) v += (double)dlp[base + c * g.D] - p * sdl;
            dx[base + c * g.D] = bad ? nanf("") : (float)v;
        }
    }
}

__global__ void nll_grad_k(loss_dev g, const float *dy, const double *wsum, float *dx) {
    long long total = g.N * g.C * g.D, CD = g.C * g.D;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        long long n = i / CD, rem = i - n * CD, c = rem / g.D, d = rem - c * g.D, pos = n * g.D + d, t;
        bool bad;
        double wt = pos_weight(g, pos, &t, &bad);
        float v = 0.0f;
        if (bad) v = nanf("");
        else if (wt != 0.0 && c == t) v = (float)(-coef_at(g, dy, wsum, pos) * wt);
        dx[i] = v;
    }
}

extern "C" size_t jt_loss_grad_cuda_workspace(const jt_kernel_args *a) {
    const loss_attrs *at = (const loss_attrs *)a->attrs;
    return at->reduction == LOSS_MEAN ? 64 : 0;
}

/* The mean's weight sum into the workspace (when needed). */
static jt_status grad_wsum(const jt_kernel_args *a, const loss_dev &g, double **wsum) {
    *wsum = NULL;
    if (g.reduction != LOSS_MEAN) return JT_OK;
    if (!a->ws || a->ws_size < sizeof(double))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "device workspace too small");
    *wsum = (double *)a->ws;
    wsum_k<<<1, RED_THREADS, 0, STREAM(a)>>>(g, *wsum);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}

extern "C" jt_status jt_sce_grad_cuda_f32(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0], *x = a->in[1], *labels = a->in[2];
    const jt_tensor *w = a->n_in > 3 ? a->in[3] : NULL, *dlp = a->n_in > 4 ? a->in[4] : NULL;
    loss_dev g = make_dev(a, x, labels, w);
    long long P = g.N * g.D;
    if (P == 0 || g.C == 0) return JT_OK;
    double *wsum;
    JT_TRY(grad_wsum(a, g, &wsum));
    sce_grad_k<<<warp_blocks(P), JT_CUDA_THREADS, 0, STREAM(a)>>>(g, dy ? (const float *)dy->data : NULL,
                                                                  dlp ? (const float *)dlp->data : NULL, wsum,
                                                                  (float *)a->out[0]->data);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}

extern "C" jt_status jt_nll_grad_cuda_f32(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0], *x = a->in[1], *labels = a->in[2], *w = a->n_in > 3 ? a->in[3] : NULL;
    loss_dev g = make_dev(a, x, labels, w);
    long long total = g.N * g.C * g.D;
    if (total == 0) return JT_OK;
    double *wsum;
    JT_TRY(grad_wsum(a, g, &wsum));
    nll_grad_k<<<jt_cuda_blocks(total), JT_CUDA_THREADS, 0, STREAM(a)>>>(g, (const float *)dy->data, wsum,
                                                                         (float *)a->out[0]->data);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}

/* ---- OneHotLike ---- */

__global__ void one_hot_k(loss_dev g, float *y) {
    long long total = g.N * g.C * g.D, CD = g.C * g.D;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        long long n = i / CD, rem = i - n * CD, c = rem / g.D, d = rem - c * g.D;
        long long t = label_at(g, n * g.D + d);
        y[i] = t < 0 || t >= g.C ? nanf("") : (c == t ? 1.0f : 0.0f);
    }
}

extern "C" jt_status jt_one_hot_like_cuda_f32(const jt_kernel_args *a) {
    const jt_tensor *labels = a->in[0];
    jt_tensor *y = a->out[0];
    loss_dev g;
    memset(&g, 0, sizeof g);
    int64_t N, C, D;
    loss_geom(y, &N, &C, &D);
    g.labels = labels->data;
    g.lab64 = labels->dtype == JT_I64;
    g.N = N;
    g.C = C;
    g.D = D;
    long long total = g.N * g.C * g.D;
    if (total == 0) return JT_OK;
    one_hot_k<<<jt_cuda_blocks(total), JT_CUDA_THREADS, 0, STREAM(a)>>>(g, (float *)y->data);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}
