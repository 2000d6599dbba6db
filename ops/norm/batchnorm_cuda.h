/* CUDA float32 kernels of BatchNormalization (inference and training) and BatchNormalizationGrad
 * (issue 5): own kernels (batchnorm_cuda.cu), host side in batchnorm_cuda_host.h (included by
 * batchnorm.c). Per-channel statistics and sums: one block per channel, double accumulation in a fixed
 * order (deterministic); the per-channel coefficients (double) go to the workspace; element-wise passes
 * use the CPU's float expressions with explicit rounding (no contraction), so they match the CPU bit
 * for bit given the same coefficients. Parameters and statistics must be float32 on CUDA.
 *
 * Include from C anywhere: without JT_HAVE_CUDA nothing is declared. */
#ifndef JATP_OPS_BATCHNORM_CUDA_H
#define JATP_OPS_BATCHNORM_CUDA_H

#ifdef JT_HAVE_CUDA
#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jt_cuda_bn {
    long long N, chan, plane; /* as bn_split: channel c of image n is x[(n * chan + c) * plane ...] */
    double eps, momentum;
    int training;
} jt_cuda_bn;

/* Forward statistics: ws[0..chan) = k = scale / sqrt(var + eps), ws[chan..2 chan) = shift = B - mean k,
 * with the batch statistics (training) or the running ones; writes the optional statistics outputs
 * (running mean/var per the ONNX rule, saved mean/var), each may be NULL. */
cudaError_t jt_cuda_bn_stats_f32(cudaStream_t s, jt_cuda_bn g, const float *x, const float *scale, const float *bias,
                                 const float *rmean, const float *rvar, float *out_rmean, float *out_rvar,
                                 float *out_smean, float *out_svar, double *ws);
/* y = x k + shift (float). */
cudaError_t jt_cuda_bn_apply_f32(cudaStream_t s, jt_cuda_bn g, const float *x, const double *ws, float *y);
/* Gradient statistics: ws = mean, invstd, k, sum(dY), sum(dY xhat) (5 chan doubles); mean/var from X
 * (training) or the inputs; the sums when need_sums; dscale / dbias (may be NULL) written. x may be NULL
 * in inference mode (then sum(dY xhat) is 0). */
cudaError_t jt_cuda_bn_grad_stats_f32(cudaStream_t s, jt_cuda_bn g, const float *dy, const float *x,
                                      const float *scale, const float *mean_in, const float *var_in, int need_sums,
                                      float *dscale, float *dbias, double *ws);
/* dX from the gradient statistics. */
cudaError_t jt_cuda_bn_grad_dx_f32(cudaStream_t s, jt_cuda_bn g, const float *dy, const float *x, const double *ws,
                                   float *dx);

#ifdef __cplusplus
}
#endif
#endif

#endif
