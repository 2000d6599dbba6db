/* CUDA float32 kernels of the softmax family: Softmax, LogSoftmax (opsets 1/11 normalise rows of
 * prod(dims[axis:]); opset 13 one axis) and SoftmaxGrad, LogSoftmaxGrad (attribute coerce2d picks the
 * convention). The element bodies are the JT_HD functions of softmax_math.h, as on the CPU. Layouts:
 *   rows of n <= 1024 contiguous elements: one warp per row (4 rows per block);
 *   longer contiguous rows: one 256-thread block per row;
 *   normalised axis not innermost: one thread per column, sequential over the axis (the CPU's order).
 * Row sums are butterfly (xor) warp shuffles, so every lane holds the same bits, then a fixed tree over
 * the warps: deterministic. Forward sums accumulate in float, gradient sums in double (as the CPU).
 * Each element is read and written by one thread after the row's sums, so y may alias x (dx, dy). */
#include <math.h>

#include "elementwise/ew_cuda_common.cuh"
extern "C" {
#include "softmax/softmax.h"
}
#include "softmax/softmax_cuda.h"
#include "softmax/softmax_math.h"

#define SMC_FULL 0xffffffffu
#define SMC_WARP_ROWS 4 /* rows per 128-thread block, one warp each */
#define SMC_WARP_MAX_N 1024
#define SMC_BLOCK 256

__device__ __forceinline__ float smc_warp_max(float v) {
#pragma unroll
    for (int d = 16; d > 0; d >>= 1) v = sm_max_f32(v, __shfl_xor_sync(SMC_FULL, v, d));
    return v;
}

template <typename T>
__device__ __forceinline__ T smc_warp_sum(T v) {
#pragma unroll
    for (int d = 16; d > 0; d >>= 1) v += __shfl_xor_sync(SMC_FULL, v, d);
    return v;
}

/* Block-wide max / sum (blockDim.x a multiple of 32); every thread gets the result. sh: 33 slots. */
__device__ __forceinline__ float smc_block_max(float v, float *sh) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = smc_warp_max(v);
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = smc_warp_max(lane < nw ? sh[lane] : -INFINITY);
        if (lane == 0) sh[32] = v;
    }
    __syncthreads();
    v = sh[32];
    __syncthreads(); /* sh is reused by the next reduction */
    return v;
}

template <typename T>
__device__ __forceinline__ T smc_block_sum(T v, T *sh) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = smc_warp_sum<T>(v);
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = smc_warp_sum<T>(lane < nw ? sh[lane] : (T)0);
        if (lane == 0) sh[32] = v;
    }
    __syncthreads();
    v = sh[32];
    __syncthreads();
    return v;
}

/* ---- forward ---- */

/* One row (x, y offset to it) by `nt` threads numbered t; MAXF/SUMF reduce across them. */
#define SMC_FWD_ROW(MAXF, SUMF)                                                                              \
    do {                                                                                                     \
        float m = -INFINITY;                                                                                 \
        for (long long i = t; i < n; i += nt) m = sm_max_f32(m, xr[i]);                                      \
        m = MAXF(m);                                                                                         \
        float s = 0.0f;                                                                                      \
        for (long long i = t; i < n; i += nt) s += sm_exp_f32(xr[i], m);                                     \
        s = SUMF(s);                                                                                         \
        if (LOG) {                                                                                           \
            const float ls = logf(s);                                                                        \
            for (long long i = t; i < n; i += nt) yr[i] = sm_logout_f32(xr[i], m, ls);                       \
        } else {                                                                                             \
            const float inv = 1.0f / s;                                                                      \
            for (long long i = t; i < n; i += nt) yr[i] = sm_scale_f32(sm_exp_f32(xr[i], m), inv);           \
        }                                                                                                    \
    } while (0)

template <bool LOG>
__global__ void smc_fwd_warp(const float *x, float *y, long long rows, long long n) {
    const long long row = (long long)blockIdx.x * SMC_WARP_ROWS + (threadIdx.x >> 5);
    if (row >= rows) return; /* the whole warp: row is uniform within it */
    const int t = threadIdx.x & 31, nt = 32;
    const float *xr = x + row * n;
    float *yr = y + row * n;
#define SMC_WSUM(v) smc_warp_sum<float>(v)
    SMC_FWD_ROW(smc_warp_max, SMC_WSUM);
#undef SMC_WSUM
}

template <bool LOG>
__global__ void smc_fwd_block(const float *x, float *y, long long n) {
    __shared__ float sh[33];
    const int t = threadIdx.x, nt = blockDim.x;
    const float *xr = x + (long long)blockIdx.x * n;
    float *yr = y + (long long)blockIdx.x * n;
#define SMC_BMAX(v) smc_block_max(v, sh)
#define SMC_BSUM(v) smc_block_sum<float>(v, sh)
    SMC_FWD_ROW(SMC_BMAX, SMC_BSUM);
#undef SMC_BMAX
#undef SMC_BSUM
}

/* axis not innermost: column c = (o, j) walks its n elements at stride inner, as sm_cols_f32 */
template <bool LOG>
__global__ void smc_fwd_col(const float *x, float *y, long long outer, long long n, long long inner) {
    EWC_FOR(long long, c, outer * inner) {
        const long long o = c / inner, j = c - o * inner;
        const float *xc = x + o * n * inner + j;
        float *yc = y + o * n * inner + j;
        float m = xc[0], s = 0.0f;
        for (long long k = 1; k < n; k++) m = sm_max_f32(m, xc[k * inner]);
        if (LOG) {
            for (long long k = 0; k < n; k++) s += sm_exp_f32(xc[k * inner], m);
            const float ls = logf(s);
            for (long long k = 0; k < n; k++) yc[k * inner] = sm_logout_f32(xc[k * inner], m, ls);
        } else {
            for (long long k = 0; k < n; k++) {
                const float e = sm_exp_f32(xc[k * inner], m);
                yc[k * inner] = e;
                s += e;
            }
            const float inv = 1.0f / s;
            for (long long k = 0; k < n; k++) yc[k * inner] = sm_scale_f32(yc[k * inner], inv);
        }
    }
}

/* ---- gradients: SoftmaxGrad = y * (dy - sum(dy * y)), LogSoftmaxGrad = dy - exp(y) * sum(dy) ---- */

#define SMC_BWD_ROW(SUMF)                                                                                    \
    do {                                                                                                     \
        double s = 0.0;                                                                                      \
        for (long long i = t; i < n; i += nt) s += LOG ? (double)dyr[i] : (double)dyr[i] * yr[i];            \
        s = SUMF(s);                                                                                         \
        const float fs = (float)s;                                                                           \
        for (long long i = t; i < n; i += nt)                                                                \
            dxr[i] = LOG ? smg_logsoftmax_f32(dyr[i], yr[i], fs) : smg_softmax_f32(dyr[i], yr[i], fs);       \
    } while (0)

template <bool LOG>
__global__ void smc_bwd_warp(const float *dy, const float *y, float *dx, long long rows, long long n) {
    const long long row = (long long)blockIdx.x * SMC_WARP_ROWS + (threadIdx.x >> 5);
    if (row >= rows) return;
    const int t = threadIdx.x & 31, nt = 32;
    const float *dyr = dy + row * n, *yr = y + row * n;
    float *dxr = dx + row * n;
#define SMC_WSUM(v) smc_warp_sum<double>(v)
    SMC_BWD_ROW(SMC_WSUM);
#undef SMC_WSUM
}

template <bool LOG>
__global__ void smc_bwd_block(const float *dy, const float *y, float *dx, long long n) {
    __shared__ double sh[33];
    const int t = threadIdx.x, nt = blockDim.x;
    const long long base = (long long)blockIdx.x * n;
    const float *dyr = dy + base, *yr = y + base;
    float *dxr = dx + base;
#define SMC_BSUM(v) smc_block_sum<double>(v, sh)
    SMC_BWD_ROW(SMC_BSUM);
#undef SMC_BSUM
}

template <bool LOG>
__global__ void smc_bwd_col(const float *dy, const float *y, float *dx, long long outer, long long n,
                            long long inner) {
    EWC_FOR(long long, c, outer * inner) {
        const long long o = c / inner, j = c - o * inner, base = o * n * inner + j;
        const float *dyc = dy + base, *yc = y + base;
        float *dxc = dx + base;
        double s = 0.0;
        for (long long k = 0; k < n; k++) s += LOG ? (double)dyc[k * inner] : (double)dyc[k * inner] * yc[k * inner];
        const float fs = (float)s;
        for (long long k = 0; k < n; k++)
            dxc[k * inner] = LOG ? smg_logsoftmax_f32(dyc[k * inner], yc[k * inner], fs)
                                 : smg_softmax_f32(dyc[k * inner], yc[k * inner], fs);
    }
}

/* ---- launchers ---- */

/* (outer, n, inner) of tensor t normalised at attribute axis, coerced to 2-D or along one axis. */
static jt_status smc_geometry(const jt_kernel_args *a, const jt_tensor *t, int64_t axis_attr, bool coerce,
                              long long *outer, long long *n, long long *inner) {
    int axis;
    JT_TRY(jt_norm_axis(a->ctx, NULL, a->node, axis_attr, t->rank, &axis));
    *outer = 1;
    *n = 1;
    *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= t->dims[i];
    if (coerce) {
        for (int i = axis; i < t->rank; i++) *n *= t->dims[i];
    } else {
        *n = t->dims[axis];
        for (int i = axis + 1; i < t->rank; i++) *inner *= t->dims[i];
    }
    return JT_OK;
}

template <bool LOG>
static jt_status smc_forward(const jt_kernel_args *a) {
    const jt_tensor *x = a->in[0];
    long long outer, n, inner;
    JT_TRY(smc_geometry(a, x, ((const softmax_attrs *)a->attrs)->axis, a->node->op->since < 13, &outer, &n, &inner));
    if (outer * n * inner == 0) return JT_OK;
    cudaStream_t s = jt_cuda_stream(a->backend);
    const float *xp = (const float *)x->data;
    float *yp = (float *)a->out[0]->data;
    if (inner == 1 && n <= SMC_WARP_MAX_N)
        smc_fwd_warp<LOG><<<(unsigned)((outer + SMC_WARP_ROWS - 1) / SMC_WARP_ROWS), 32 * SMC_WARP_ROWS, 0, s>>>(
            xp, yp, outer, n);
    else if (inner == 1)
        smc_fwd_block<LOG><<<(unsigned)outer, SMC_BLOCK, 0, s>>>(xp, yp, n);
    else
        smc_fwd_col<LOG><<<jt_cuda_blocks(outer * inner), JT_CUDA_THREADS, 0, s>>>(xp, yp, outer, n, inner);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}

template <bool LOG>
static jt_status smc_backward(const jt_kernel_args *a) {
    const jt_tensor *y = a->in[1];
    const smg_attrs *at = (const smg_attrs *)a->attrs;
    long long outer, n, inner;
    JT_TRY(smc_geometry(a, y, at->axis, at->coerce2d != 0, &outer, &n, &inner));
    if (outer * n * inner == 0) return JT_OK;
    cudaStream_t s = jt_cuda_stream(a->backend);
    const float *dyp = (const float *)a->in[0]->data, *yp = (const float *)y->data;
    float *dxp = (float *)a->out[0]->data;
    if (inner == 1 && n <= SMC_WARP_MAX_N)
        smc_bwd_warp<LOG><<<(unsigned)((outer + SMC_WARP_ROWS - 1) / SMC_WARP_ROWS), 32 * SMC_WARP_ROWS, 0, s>>>(
            dyp, yp, dxp, outer, n);
    else if (inner == 1)
        smc_bwd_block<LOG><<<(unsigned)outer, SMC_BLOCK, 0, s>>>(dyp, yp, dxp, n);
    else
        smc_bwd_col<LOG><<<jt_cuda_blocks(outer * inner), JT_CUDA_THREADS, 0, s>>>(dyp, yp, dxp, outer, n, inner);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}

extern "C" jt_status jt_softmax_cuda_f32(const jt_kernel_args *a) { return smc_forward<false>(a); }
extern "C" jt_status jt_logsoftmax_cuda_f32(const jt_kernel_args *a) { return smc_forward<true>(a); }
extern "C" jt_status jt_softmax_grad_cuda_f32(const jt_kernel_args *a) { return smc_backward<false>(a); }
extern "C" jt_status jt_logsoftmax_grad_cuda_f32(const jt_kernel_args *a) { return smc_backward<true>(a); }
