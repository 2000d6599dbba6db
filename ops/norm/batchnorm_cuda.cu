/* Own CUDA kernels of BatchNormalization and its gradient (see batchnorm_cuda.h). Launchers return the
 * launch status. The CPU's double expressions are written with explicit round-to-nearest operations
 * (__dmul_rn, __dadd_rn, ...) so that nvcc does not contract them into FMAs. */
#include <math.h>

#include "batchnorm_cuda.h"
#include "runtime/cuda/cuda_backend.h"

/* Sum over the block (fixed tree), returned to every thread. */
__device__ static double block_sum(double v) {
    __shared__ double part[JT_CUDA_THREADS];
    part[threadIdx.x] = v;
    __syncthreads();
    for (int w = JT_CUDA_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    double r = part[0];
    __syncthreads();
    return r;
}

#define CHANNEL_LOOP(j, g)                                                                                   \
    for (long long j = threadIdx.x; j < (g).N * (g).plane; j += JT_CUDA_THREADS)
#define AT(p, g, c, j) (p)[(((j) / (g).plane) * (g).chan + (c)) * (g).plane + (j) % (g).plane]

/* Batch mean and biased variance of channel c (two passes, as the CPU). */
__device__ static void channel_stats(jt_cuda_bn g, const float *x, long long c, double *mean, double *var) {
    double s = 0, cnt = (double)(g.N * g.plane);
    CHANNEL_LOOP(j, g) s += AT(x, g, c, j);
    s = block_sum(s);
    double m = cnt > 0 ? s / cnt : 0, ss = 0;
    CHANNEL_LOOP(j, g) {
        double dv = __dsub_rn((double)AT(x, g, c, j), m);
        ss = __dadd_rn(ss, __dmul_rn(dv, dv));
    }
    ss = block_sum(ss);
    *mean = m;
    *var = cnt > 0 ? ss / cnt : 0;
}

__global__ void bn_stats_kernel(jt_cuda_bn g, const float *__restrict__ x, const float *__restrict__ scale,
                                const float *__restrict__ bias, const float *__restrict__ rmean,
                                const float *__restrict__ rvar, float *out_rmean, float *out_rvar, float *out_smean,
                                float *out_svar, double *ws) {
    long long c = blockIdx.x;
    double m, v;
    if (g.training) {
        channel_stats(g, x, c, &m, &v);
    } else {
        m = rmean[c];
        v = rvar[c];
    }
    if (threadIdx.x != 0) return;
    double k = (double)scale[c] / sqrt(__dadd_rn(v, g.eps));
    ws[c] = k;
    ws[g.chan + c] = __dsub_rn((double)bias[c], __dmul_rn(m, k));
    double keep = g.momentum, take = 1 - g.momentum;
    if (out_rmean) out_rmean[c] = (float)__dadd_rn(__dmul_rn((double)rmean[c], keep), __dmul_rn(m, take));
    if (out_rvar) out_rvar[c] = (float)__dadd_rn(__dmul_rn((double)rvar[c], keep), __dmul_rn(v, take));
    if (out_smean) out_smean[c] = (float)m;
    if (out_svar) out_svar[c] = (float)v;
}

extern "C" cudaError_t jt_cuda_bn_stats_f32(cudaStream_t s, jt_cuda_bn g, const float *x, const float *scale,
                                            const float *bias, const float *rmean, const float *rvar, float *out_rmean,
                                            float *out_rvar, float *out_smean, float *out_svar, double *ws) {
    if (g.chan <= 0) return cudaSuccess;
    if (g.chan > 2147483647LL) return cudaErrorInvalidConfiguration;
    bn_stats_kernel<<<(unsigned)g.chan, JT_CUDA_THREADS, 0, s>>>(g, x, scale, bias, rmean, rvar, out_rmean, out_rvar,
                                                                 out_smean, out_svar, ws);
    return cudaGetLastError();
}

__global__ void bn_apply_kernel(jt_cuda_bn g, const float *__restrict__ x, const double *__restrict__ ws,
                                float *__restrict__ y) {
    long long n = g.N * g.chan * g.plane;
    for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += (long long)gridDim.x * blockDim.x) {
        long long c = (t / g.plane) % g.chan;
        y[t] = __fadd_rn(__fmul_rn(x[t], (float)ws[c]), (float)ws[g.chan + c]);
    }
}

extern "C" cudaError_t jt_cuda_bn_apply_f32(cudaStream_t s, jt_cuda_bn g, const float *x, const double *ws, float *y) {
    long long n = g.N * g.chan * g.plane;
    if (n <= 0) return cudaSuccess;
    bn_apply_kernel<<<jt_cuda_blocks(n), JT_CUDA_THREADS, 0, s>>>(g, x, ws, y);
    return cudaGetLastError();
}

__global__ void bn_grad_stats_kernel(jt_cuda_bn g, const float *__restrict__ dy, const float *__restrict__ x,
                                     const float *__restrict__ scale, const float *__restrict__ mean_in,
                                     const float *__restrict__ var_in, int need_sums, float *dscale, float *dbias,
                                     double *ws) {
    long long c = blockIdx.x;
    double m, v;
    if (g.training) {
        channel_stats(g, x, c, &m, &v);
    } else {
        m = mean_in[c];
        v = var_in[c];
    }
    double invstd = 1.0 / sqrt(__dadd_rn(v, g.eps)), k = __dmul_rn((double)scale[c], invstd), s = 0, sx = 0;
    if (need_sums) {
        CHANNEL_LOOP(j, g) {
            float gy = AT(dy, g, c, j);
            s = __dadd_rn(s, (double)gy);
            if (x) sx = __dadd_rn(sx, __dmul_rn((double)gy, __dsub_rn((double)AT(x, g, c, j), m)));
        }
        s = block_sum(s);
        sx = block_sum(sx);
    }
    if (threadIdx.x != 0) return;
    sx = __dmul_rn(sx, invstd);
    ws[c] = m;
    ws[g.chan + c] = invstd;
    ws[2 * g.chan + c] = k;
    ws[3 * g.chan + c] = s;
    ws[4 * g.chan + c] = sx;
    if (dscale) dscale[c] = (float)sx;
    if (dbias) dbias[c] = (float)s;
}

extern "C" cudaError_t jt_cuda_bn_grad_stats_f32(cudaStream_t s, jt_cuda_bn g, const float *dy, const float *x,
                                                 const float *scale, const float *mean_in, const float *var_in,
                                                 int need_sums, float *dscale, float *dbias, double *ws) {
    if (g.chan <= 0) return cudaSuccess;
    if (g.chan > 2147483647LL) return cudaErrorInvalidConfiguration;
    bn_grad_stats_kernel<<<(unsigned)g.chan, JT_CUDA_THREADS, 0, s>>>(g, dy, x, scale, mean_in, var_in, need_sums,
                                                                      dscale, dbias, ws);
    return cudaGetLastError();
}

/* inference: dx = k dy; training: dx = k dy - off - (x - mean) slope (float, the CPU's order). */
__global__ void bn_grad_dx_kernel(jt_cuda_bn g, const float *__restrict__ dy, const float *__restrict__ x,
                                  const double *__restrict__ ws, float *__restrict__ dx) {
    long long n = g.N * g.chan * g.plane;
    double cnt = (double)(g.N * g.plane);
    for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += (long long)gridDim.x * blockDim.x) {
        long long c = (t / g.plane) % g.chan;
        double mean = ws[c], invstd = ws[g.chan + c], kd = ws[2 * g.chan + c];
        float k = (float)kd, kg = __fmul_rn(k, dy[t]);
        if (!g.training) {
            dx[t] = kg;
            continue;
        }
        float m = (float)mean, off = (float)(__dmul_rn(kd, ws[3 * g.chan + c]) / cnt);
        float slope = (float)(__dmul_rn(__dmul_rn(kd, invstd), ws[4 * g.chan + c]) / cnt);
        dx[t] = __fsub_rn(__fsub_rn(kg, off), __fmul_rn(__fsub_rn(x[t], m), slope));
    }
}

extern "C" cudaError_t jt_cuda_bn_grad_dx_f32(cudaStream_t s, jt_cuda_bn g, const float *dy, const float *x,
                                              const double *ws, float *dx) {
    long long n = g.N * g.chan * g.plane;
    if (n <= 0) return cudaSuccess;
    bn_grad_dx_kernel<<<jt_cuda_blocks(n), JT_CUDA_THREADS, 0, s>>>(g, dy, x, ws, dx);
    return cudaGetLastError();
}
