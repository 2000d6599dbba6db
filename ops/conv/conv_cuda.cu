/* Own CUDA kernels of the conv family: the padding shift that lets cuDNN run convolutions with
 * asymmetric pads, and BiasGrad's deterministic per-channel reduction. Launchers are extern "C" and
 * return the launch status (cudaGetLastError); the callers check it. */
#include "conv_cuda.h"
#include "runtime/cuda/cuda_backend.h"

__global__ void conv_shift_kernel(const float *__restrict__ src, float *__restrict__ dst, jt_cuda_shift3 g) {
    long long per = g.dst[0] * g.dst[1] * g.dst[2], n = g.planes * per;
    long long src_plane = g.src[0] * g.src[1] * g.src[2];
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        long long p = i / per, r = i % per;
        long long w = r % g.dst[2], h = (r / g.dst[2]) % g.dst[1], d = r / (g.dst[2] * g.dst[1]);
        long long sd = d + g.off[0], sh = h + g.off[1], sw = w + g.off[2];
        float v = 0.0f;
        if (sd >= 0 && sd < g.src[0] && sh >= 0 && sh < g.src[1] && sw >= 0 && sw < g.src[2])
            v = src[p * src_plane + (sd * g.src[1] + sh) * g.src[2] + sw];
        dst[i] = v;
    }
}

extern "C" cudaError_t jt_cuda_conv_shift_f32(cudaStream_t s, const float *src, float *dst, jt_cuda_shift3 g) {
    long long n = g.planes * g.dst[0] * g.dst[1] * g.dst[2];
    if (n <= 0) return cudaSuccess;
    conv_shift_kernel<<<jt_cuda_blocks(n), JT_CUDA_THREADS, 0, s>>>(src, dst, g);
    return cudaGetLastError();
}

/* One block per channel; each thread sums a fixed strided subset in double, then a fixed tree. */
__global__ void bias_grad_kernel(const float *__restrict__ dy, float *__restrict__ db, long long N, long long C,
                                 long long plane) {
    __shared__ double part[JT_CUDA_THREADS];
    long long c = blockIdx.x, total = N * plane;
    double acc = 0.0;
    for (long long j = threadIdx.x; j < total; j += JT_CUDA_THREADS) {
        long long n = j / plane, i = j % plane;
        acc += (double)dy[(n * C + c) * plane + i];
    }
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int w = JT_CUDA_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) db[c] = (float)part[0];
}

extern "C" cudaError_t jt_cuda_bias_grad_f32(cudaStream_t s, const float *dy, float *db, long long N, long long C,
                                             long long plane) {
    if (C <= 0) return cudaSuccess;
    if (C > 2147483647LL) return cudaErrorInvalidConfiguration;
    bias_grad_kernel<<<(unsigned)C, JT_CUDA_THREADS, 0, s>>>(dy, db, N, C, plane);
    return cudaGetLastError();
}
