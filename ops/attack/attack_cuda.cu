/* CUDA float32 AttackLoss and AttackLossGrad: one thread per example (K is small; the per-example work
 * is a few passes over K logits), the same arithmetic as the CPU kernels (attack_loss_math.h). */
#include <cuda_runtime.h>

#include "attack_cuda.h"
#include "attack_loss_math.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/cuda_backend.h"

__device__ static inline long long ival(const void *p, int is64, long long i) {
    return is64 ? ((const long long *)p)[i] : (long long)((const int *)p)[i];
}

__global__ static void loss_k(const float *z, const void *y, int y64, const void *t, int t64, const long long *kind,
                              long long N, long long K, float *l) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < N; i += (long long)gridDim.x * blockDim.x)
        l[i] = (float)jt_alm_loss_f32((int)*kind, z + i * K, K, ival(y, y64, i), ival(t, t64, i), 1.0, NULL);
}

__global__ static void grad_k(const float *dy, const float *z, const void *y, int y64, const void *t, int t64,
                              const long long *kind, long long N, long long K, float *dz) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < N; i += (long long)gridDim.x * blockDim.x)
        jt_alm_loss_f32((int)*kind, z + i * K, K, ival(y, y64, i), ival(t, t64, i), (double)dy[i], dz + i * K);
}

extern "C" jt_status jt_attack_loss_cuda_f32(const jt_kernel_args *a) {
    const jt_tensor *z = a->in[0], *y = a->in[1], *t = a->in[2], *kind = a->in[3];
    long long N = z->dims[0], K = z->dims[1];
    if (N == 0) return JT_OK;
    loss_k<<<jt_cuda_blocks(N), JT_CUDA_THREADS, 0, jt_cuda_stream(a->backend)>>>(
        (const float *)z->data, y->data, y->dtype == JT_I64, t->data, t->dtype == JT_I64,
        (const long long *)kind->data, N, K, (float *)a->out[0]->data);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}

extern "C" jt_status jt_attack_loss_grad_cuda_f32(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0], *z = a->in[1], *y = a->in[2], *t = a->in[3], *kind = a->in[4];
    long long N = z->dims[0], K = z->dims[1];
    if (N == 0) return JT_OK;
    grad_k<<<jt_cuda_blocks(N), JT_CUDA_THREADS, 0, jt_cuda_stream(a->backend)>>>(
        (const float *)dy->data, (const float *)z->data, y->data, y->dtype == JT_I64, t->data, t->dtype == JT_I64,
        (const long long *)kind->data, N, K, (float *)a->out[0]->data);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}
