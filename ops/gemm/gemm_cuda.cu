/* Own CUDA kernels of the gemm family (see gemm_cuda.h). Launchers return the launch status. */
#include "gemm_cuda.h"
#include "runtime/cuda/cuda_backend.h"

__global__ void bcast2d_kernel(const float *__restrict__ c, float *__restrict__ y, long long M, long long N,
                               long long cm, long long cn) {
    long long n = M * N;
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += (long long)gridDim.x * blockDim.x) {
        long long i = k / N, j = k % N;
        y[k] = c[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
    }
}

extern "C" cudaError_t jt_cuda_bcast2d_f32(cudaStream_t s, const float *c, float *y, long long M, long long N,
                                           long long cm, long long cn) {
    if (M * N <= 0) return cudaSuccess;
    bcast2d_kernel<<<jt_cuda_blocks(M * N), JT_CUDA_THREADS, 0, s>>>(c, y, M, N, cm, cn);
    return cudaGetLastError();
}

/* One thread per output element, summing its region row by row (the CPU's order). */
__global__ void grad_c_serial_kernel(const float *__restrict__ dy, float *__restrict__ dc, long long M, long long N,
                                     long long cm, long long cn, double beta) {
    long long n = cm * cn;
    for (long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += (long long)gridDim.x * blockDim.x) {
        long long i = k / cn, j = k % cn;
        long long r0 = cm == 1 ? 0 : i, r1 = cm == 1 ? M : i + 1, c0 = cn == 1 ? 0 : j, c1 = cn == 1 ? N : j + 1;
        double acc = 0.0;
        for (long long r = r0; r < r1; r++)
            for (long long c = c0; c < c1; c++) acc += (double)dy[r * N + c];
        dc[k] = (float)(beta * acc);
    }
}

/* One block per output element: strided partial sums, then a fixed tree. */
__global__ void grad_c_tree_kernel(const float *__restrict__ dy, float *__restrict__ dc, long long M, long long N,
                                   long long cm, long long cn, double beta) {
    __shared__ double part[JT_CUDA_THREADS];
    long long k = blockIdx.x, i = k / cn, j = k % cn;
    long long rows = cm == 1 ? M : 1, cols = cn == 1 ? N : 1, r0 = cm == 1 ? 0 : i, c0 = cn == 1 ? 0 : j;
    double acc = 0.0;
    for (long long t = threadIdx.x; t < rows * cols; t += JT_CUDA_THREADS)
        acc += (double)dy[(r0 + t / cols) * N + c0 + t % cols];
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int w = JT_CUDA_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) dc[k] = (float)(beta * part[0]);
}

extern "C" cudaError_t jt_cuda_gemm_grad_c_f32(cudaStream_t s, const float *dy, float *dc, long long M, long long N,
                                               long long cm, long long cn, double beta) {
    long long outs = cm * cn, region = (cm == 1 ? M : 1) * (cn == 1 ? N : 1);
    if (outs <= 0) return cudaSuccess;
    if (outs >= 1024 || region <= 256 || outs > 2147483647LL)
        grad_c_serial_kernel<<<jt_cuda_blocks(outs), JT_CUDA_THREADS, 0, s>>>(dy, dc, M, N, cm, cn, beta);
    else
        grad_c_tree_kernel<<<(unsigned)outs, JT_CUDA_THREADS, 0, s>>>(dy, dc, M, N, cm, cn, beta);
    return cudaGetLastError();
}
