/* Own CUDA kernels of the pooling ops (see pool_cuda.h). Launchers are extern "C" and return the launch
 * status. Index arithmetic in 64 bits. */
#include <math.h>

#include "pool_cuda.h"
#include "runtime/cuda/cuda_backend.h"

#define GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

#include "pool_cuda_body.h"

__global__ void pool_fwd_kernel(jt_cuda_pool_geom g, const float *__restrict__ x, float *__restrict__ y,
                                int64_t *__restrict__ idx, int32_t *__restrict__ arg) {
    GRID_STRIDE(t, g.planes * g.out_sz) jt_pc_fwd_one(&g, x, y, idx, arg, t);
}

extern "C" cudaError_t jt_cuda_pool_fwd_f32(cudaStream_t s, jt_cuda_pool_geom g, const float *x, float *y, int64_t *idx,
                                            int32_t *arg) {
    long long n = g.planes * g.out_sz;
    if (n <= 0) return cudaSuccess;
    pool_fwd_kernel<<<jt_cuda_blocks(n), JT_CUDA_THREADS, 0, s>>>(g, x, y, idx, arg);
    return cudaGetLastError();
}

/* The CPU's global argmax (first maximum; NaN never replaces, a NaN at index 0 stays), computed by the
 * whole block: per-thread strided scans, then a fixed tree on (value, index). Returns it to every
 * thread. */
__device__ static long long block_argmax(const float *src, long long n) {
    __shared__ float sv[JT_CUDA_THREADS];
    __shared__ long long si[JT_CUDA_THREADS];
    float bv = 0.0f;
    long long bi = -1;
    for (long long i = threadIdx.x; i < n; i += JT_CUDA_THREADS) {
        float v = src[i];
        if (!isnan(v) && (bi < 0 || v > bv)) {
            bv = v;
            bi = i;
        }
    }
    sv[threadIdx.x] = bv;
    si[threadIdx.x] = bi;
    __syncthreads();
    for (int w = JT_CUDA_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) {
            float v = sv[threadIdx.x + w];
            long long i = si[threadIdx.x + w], j = si[threadIdx.x];
            if (i >= 0 && (j < 0 || v > sv[threadIdx.x] || (v == sv[threadIdx.x] && i < j))) {
                sv[threadIdx.x] = v;
                si[threadIdx.x] = i;
            }
        }
        __syncthreads();
    }
    long long best = (isnan(src[0]) || si[0] < 0) ? 0 : si[0];
    __syncthreads(); /* the shared arrays may be reused by the caller's next call */
    return best;
}

__global__ void global_pool_kernel(jt_cuda_pool_geom g, const float *__restrict__ x, float *__restrict__ y) {
    __shared__ double part[JT_CUDA_THREADS];
    long long p = blockIdx.x;
    const float *src = x + p * g.in_sz;
    if (g.kind == JT_CUDA_POOL_MAX) {
        long long best = block_argmax(src, g.in_sz);
        if (threadIdx.x == 0) y[p] = src[best];
        return;
    }
    double acc = 0.0;
    for (long long i = threadIdx.x; i < g.in_sz; i += JT_CUDA_THREADS) acc += src[i];
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int w = JT_CUDA_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) y[p] = (float)(part[0] / (double)g.in_sz);
}

extern "C" cudaError_t jt_cuda_global_pool_f32(cudaStream_t s, jt_cuda_pool_geom g, const float *x, float *y) {
    if (g.planes <= 0 || g.in_sz <= 0) return cudaSuccess;
    if (g.planes > 2147483647LL) return cudaErrorInvalidConfiguration;
    global_pool_kernel<<<(unsigned)g.planes, JT_CUDA_THREADS, 0, s>>>(g, x, y);
    return cudaGetLastError();
}

__global__ void pool_grad_kernel(jt_cuda_pool_geom g, const float *__restrict__ dy, const int32_t *__restrict__ arg,
                                 float *__restrict__ dx) {
    GRID_STRIDE(t, g.planes * g.in_sz) dx[t] = jt_pc_grad_one(&g, dy, arg, t);
}

extern "C" cudaError_t jt_cuda_pool_grad_f32(cudaStream_t s, jt_cuda_pool_geom g, const float *dy, const int32_t *arg,
                                             float *dx) {
    long long n = g.planes * g.in_sz;
    if (n <= 0) return cudaSuccess;
    pool_grad_kernel<<<jt_cuda_blocks(n), JT_CUDA_THREADS, 0, s>>>(g, dy, arg, dx);
    return cudaGetLastError();
}

__global__ void global_max_grad_kernel(jt_cuda_pool_geom g, const float *__restrict__ dy, const float *__restrict__ x,
                                       float *__restrict__ dx) {
    long long p = blockIdx.x;
    long long best = block_argmax(x + p * g.in_sz, g.in_sz);
    float v = dy[p];
    for (long long i = threadIdx.x; i < g.in_sz; i += JT_CUDA_THREADS) dx[p * g.in_sz + i] = i == best ? v : 0.0f;
}

__global__ void global_avg_grad_kernel(jt_cuda_pool_geom g, const float *__restrict__ dy, float *__restrict__ dx) {
    GRID_STRIDE(t, g.planes * g.in_sz) dx[t] = (float)((double)dy[t / g.in_sz] / (double)g.in_sz);
}

extern "C" cudaError_t jt_cuda_global_pool_grad_f32(cudaStream_t s, jt_cuda_pool_geom g, const float *dy,
                                                    const float *x, float *dx) {
    if (g.planes <= 0 || g.in_sz <= 0) return cudaSuccess;
    if (x) {
        if (g.planes > 2147483647LL) return cudaErrorInvalidConfiguration;
        global_max_grad_kernel<<<(unsigned)g.planes, JT_CUDA_THREADS, 0, s>>>(g, dy, x, dx);
    } else {
        global_avg_grad_kernel<<<jt_cuda_blocks(g.planes * g.in_sz), JT_CUDA_THREADS, 0, s>>>(g, dy, dx);
    }
    return cudaGetLastError();
}
