/* cuBLAS kernels of Gemm, MatMul, GemmGradC and MatMulGradA/B (float32, device pointers, the backend's
 * stream and handle). Host C included by gemm.c under JT_HAVE_CUDA (it uses gemm_attrs, mm_geom and
 * matmul_grad_is_a); the cases follow the CPU kernels of gemm_cpu_tmpl.h:
 *   Gemm         C broadcast into Y (own kernel) when beta != 0, then one GEMM with that beta;
 *   MatMul       B of rank <= 2: one GEMM over the batch folded into M; else one strided-batched GEMM
 *                when both operands' batch offsets are b * stride (stride 0: broadcast), else one GEMM
 *                per batch;
 *   MatMulGrad*  the same folds; a target broadcast over the batch accumulates per batch in batch order
 *                (beta = 1 after a zero fill: deterministic);
 *   GemmGradC    own reduction kernel (gemm_cuda.cu).
 * 64-bit cuBLAS entry points (cublasGemmEx_64, cublasGemmStridedBatchedEx_64): no int overflow.
 * Without JT_HAVE_CUDA only the (empty) descriptor field macros are defined. */
#ifndef JT_HAVE_CUDA
#define GEMM_CUDA_IMPL
#define MATMUL_CUDA_IMPL
#define MATMUL_GRAD_CUDA_IMPL
#define GEMM_GRAD_C_CUDA_IMPL
#else
#include "gemm_cuda.h"
#include "runtime/cuda/cuda_backend.h"
#include "runtime/cuda/check.h"

/* Row-major C = alpha op(A) op(B) + beta C for `batch` matrices at the given element strides. */
static jt_status cu_gemm(const jt_kernel_args *a, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t lda, long long sA, const float *B, int64_t ldb, long long sB,
                         float beta, float *C, int64_t ldc, long long sC, int64_t batch) {
    if (M <= 0 || N <= 0 || batch <= 0) return JT_OK;
    cublasHandle_t h = jt_cuda_cublas(a->backend);
    cublasComputeType_t ct = jt_cuda_tf32(a->backend) ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (batch == 1)
        JT_CUBLAS_TRY(a->ctx, cublasGemmEx_64(h, ob, oa, N, M, K, &alpha, B, CUDA_R_32F, ldb, A, CUDA_R_32F, lda, &beta,
                                              C, CUDA_R_32F, ldc, ct, CUBLAS_GEMM_DEFAULT));
    else
        JT_CUBLAS_TRY(a->ctx, cublasGemmStridedBatchedEx_64(h, ob, oa, N, M, K, &alpha, B, CUDA_R_32F, ldb, sB, A,
                                                            CUDA_R_32F, lda, sA, &beta, C, CUDA_R_32F, ldc, sC, batch,
                                                            ct, CUBLAS_GEMM_DEFAULT));
    return JT_OK;
}

static jt_status cu_zero(const jt_kernel_args *a, void *p, size_t bytes) {
    if (bytes) JT_CUDA_TRY(a->ctx, cudaMemsetAsync(p, 0, bytes, jt_cuda_stream(a->backend)));
    return JT_OK;
}

static jt_status gemm_cuda_f32(const jt_kernel_args *a) {
    const gemm_attrs *at = a->attrs;
    const jt_tensor *A = a->in[0], *B = a->in[1], *C = a->n_in > 2 ? a->in[2] : NULL;
    jt_tensor *Y = a->out[0];
    int64_t M = Y->dims[0], N = Y->dims[1], K = at->trans_a ? A->dims[0] : A->dims[1];
    float beta = (float)at->beta;
    if (M == 0 || N == 0) return JT_OK;
    if (C && beta != 0) {
        long long cm = C->rank == 2 ? C->dims[0] : 1, cn = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
        JT_CUDA_TRY(a->ctx, jt_cuda_bcast2d_f32(jt_cuda_stream(a->backend), C->data, Y->data, M, N, cm, cn));
    } else {
        beta = 0;
    }
    if (K == 0) return beta == 0 ? cu_zero(a, Y->data, jt_tensor_nbytes(Y)) : JT_OK; /* Y = beta C */
    return cu_gemm(a, at->trans_a != 0, at->trans_b != 0, M, N, K, (float)at->alpha, A->data, A->dims[1], 0, B->data,
                   B->dims[1], 0, beta, Y->data, N, 0, 1);
}

/* Batch offset (in matrices) of batch b for the strides str. */
static int64_t mm_offset(const mm_geom *m, const int64_t *str, int64_t b) {
    int64_t off = 0;
    for (int i = m->brank - 1; i >= 0; i--) {
        off += (b % m->bdims[i]) * str[i];
        b /= m->bdims[i];
    }
    return off;
}

/* True when offset(b) == b * *stride for every batch b (stride 0: broadcast). */
static bool mm_regular(const mm_geom *m, const int64_t *str, int64_t *stride) {
    *stride = m->batch > 1 ? mm_offset(m, str, 1) : 0;
    for (int64_t b = 2; b < m->batch; b++)
        if (mm_offset(m, str, b) != b * *stride) return false;
    return true;
}

static jt_status matmul_cuda_f32(const jt_kernel_args *a) {
    mm_geom m;
    JT_TRY(mm_geom_make(a->ctx, NULL, a->node, a->in[0], a->in[1], &m));
    const float *A = a->in[0]->data, *B = a->in[1]->data;
    float *Y = a->out[0]->data;
    if (m.batch == 0 || m.M == 0 || m.N == 0) return JT_OK;
    if (m.K == 0) return cu_zero(a, Y, jt_tensor_nbytes(a->out[0]));
    if (a->in[1]->rank <= 2) /* B shared by every batch: fold the batch into M */
        return cu_gemm(a, false, false, m.batch * m.M, m.N, m.K, 1.0f, A, m.K, 0, B, m.N, 0, 0.0f, Y, m.N, 0, 1);
    int64_t sa, sb;
    if (mm_regular(&m, m.astr, &sa) && mm_regular(&m, m.bstr, &sb))
        return cu_gemm(a, false, false, m.M, m.N, m.K, 1.0f, A, m.K, (long long)(sa * m.M * m.K), B, m.N,
                       (long long)(sb * m.K * m.N), 0.0f, Y, m.N, (long long)(m.M * m.N), m.batch);
    for (int64_t b = 0; b < m.batch; b++)
        JT_TRY(cu_gemm(a, false, false, m.M, m.N, m.K, 1.0f, A + mm_offset(&m, m.astr, b) * m.M * m.K, m.K, 0,
                       B + mm_offset(&m, m.bstr, b) * m.K * m.N, m.N, 0, 0.0f, Y + b * m.M * m.N, m.N, 0, 1));
    return JT_OK;
}

/* MatMulGradA: dA = dY B^T; MatMulGradB: dB = A^T dY (per batch), summed over the target's broadcast axes. */
static jt_status matmul_grad_cuda_f32(const jt_kernel_args *a) {
    bool grad_a = matmul_grad_is_a(a->node);
    const jt_tensor *tgt = a->out[0], *other = a->in[1];
    const jt_tensor *At = grad_a ? tgt : other, *Bt = grad_a ? other : tgt;
    mm_geom m;
    JT_TRY(mm_geom_make(a->ctx, NULL, a->node, At, Bt, &m));
    const float *dy = a->in[0]->data, *o = other->data;
    float *g = tgt->data;
    int64_t n_t = jt_tensor_numel(tgt);
    if (n_t == 0) return JT_OK;
    if (m.batch == 0 || m.M == 0 || m.N == 0) return cu_zero(a, g, jt_tensor_nbytes(tgt));
    int64_t mat = grad_a ? m.M * m.K : m.K * m.N, count = n_t / mat;
    if (grad_a && Bt->rank <= 2) /* B shared: fold the batch into M */
        return cu_gemm(a, false, true, m.batch * m.M, m.K, m.N, 1.0f, dy, m.N, 0, o, m.N, 0, 0.0f, g, m.K, 0, 1);
    if (!grad_a && Bt->rank <= 2) /* dB = A_flat^T dY_flat over the whole batch */
        return cu_gemm(a, true, false, m.K, m.N, m.batch * m.M, 1.0f, o, m.K, 0, dy, m.N, 0, 0.0f, g, m.N, 0, 1);
    const int64_t *ostr = grad_a ? m.bstr : m.astr, *tstr = grad_a ? m.astr : m.bstr;
    int64_t omat = grad_a ? m.K * m.N : m.M * m.K, so, st;
    bool accumulate = count < m.batch;
    if (!accumulate && mm_regular(&m, ostr, &so) && mm_regular(&m, tstr, &st)) {
        if (grad_a)
            return cu_gemm(a, false, true, m.M, m.K, m.N, 1.0f, dy, m.N, (long long)(m.M * m.N), o, m.N,
                           (long long)(so * omat), 0.0f, g, m.K, (long long)(st * mat), m.batch);
        return cu_gemm(a, true, false, m.K, m.N, m.M, 1.0f, o, m.K, (long long)(so * omat), dy, m.N,
                       (long long)(m.M * m.N), 0.0f, g, m.N, (long long)(st * mat), m.batch);
    }
    if (accumulate) JT_TRY(cu_zero(a, g, jt_tensor_nbytes(tgt)));
    float beta = accumulate ? 1.0f : 0.0f;
    for (int64_t b = 0; b < m.batch; b++) {
        const float *dyb = dy + b * m.M * m.N, *ob = o + mm_offset(&m, ostr, b) * omat;
        float *gb = g + mm_offset(&m, tstr, b) * mat;
        if (grad_a)
            JT_TRY(cu_gemm(a, false, true, m.M, m.K, m.N, 1.0f, dyb, m.N, 0, ob, m.N, 0, beta, gb, m.K, 0, 1));
        else
            JT_TRY(cu_gemm(a, true, false, m.K, m.N, m.M, 1.0f, ob, m.K, 0, dyb, m.N, 0, beta, gb, m.N, 0, 1));
    }
    return JT_OK;
}

static jt_status gemm_grad_c_cuda_f32(const jt_kernel_args *a) {
    const gemm_attrs *at = a->attrs;
    const jt_tensor *dY = a->in[0], *C = a->out[0];
    long long cm = C->rank == 2 ? C->dims[0] : 1, cn = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
    JT_CUDA_TRY(a->ctx, jt_cuda_gemm_grad_c_f32(jt_cuda_stream(a->backend), dY->data, C->data, dY->dims[0],
                                                dY->dims[1], cm, cn, at->beta));
    return JT_OK;
}

#define GEMM_CUDA_IMPL .cuda_f32 = gemm_cuda_f32,
#define MATMUL_CUDA_IMPL .cuda_f32 = matmul_cuda_f32,
#define MATMUL_GRAD_CUDA_IMPL .cuda_f32 = matmul_grad_cuda_f32,
#define GEMM_GRAD_C_CUDA_IMPL .cuda_f32 = gemm_grad_c_cuda_f32,
#endif
