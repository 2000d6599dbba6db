/* The CUDA backend's host side (C over the CUDA runtime API): device selection with clear errors, one
 * stream per backend, device memory, copies. cuBLAS/cuDNN handles, algorithm caches and the kernels
 * arrive with the CUDA op implementations (issue 5). Compiled whenever nvcc is found; runs only where
 * a driver and a device are present. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/backend_impl.h"
#include "cuda_backend.h"
#include "check.h"

typedef struct cuda_state {
    int index;
    cudaStream_t stream;
    cublasHandle_t cublas;
    cudnnHandle_t cudnn;
} cuda_state;

cudaStream_t jt_cuda_stream(const jt_backend *b) { return ((const cuda_state *)b->impl)->stream; }
cublasHandle_t jt_cuda_cublas(const jt_backend *b) { return ((const cuda_state *)b->impl)->cublas; }
cudnnHandle_t jt_cuda_cudnn(const jt_backend *b) { return ((const cuda_state *)b->impl)->cudnn; }
int jt_cuda_tf32(const jt_backend *b) { return b->tf32; }
int jt_cuda_deterministic(const jt_backend *b) { return b->deterministic; }

static cuda_state *st_of(jt_backend *b) { return b->impl; }

static jt_status cu_alloc(jt_backend *b, size_t bytes, void **ptr) {
    JT_CUDA_TRY(b->ctx, cudaSetDevice(st_of(b)->index));
    cudaError_t e = cudaMalloc(ptr, bytes ? bytes : 256);
    if (e != cudaSuccess) {
        (void)cudaGetLastError(); /* clear the sticky error so later launch checks do not report it */
        size_t free_b = 0, total = 0;
        cudaMemGetInfo(&free_b, &total);
        return jt_fail(b->ctx, JT_ERR_OOM, "cuda:%d: cannot allocate %zu bytes (%zu of %zu free): %s",
                       st_of(b)->index, bytes, free_b, total, cudaGetErrorString(e));
    }
    return JT_OK;
}

static void cu_free(jt_backend *b, void *ptr) {
    (void)b;
    if (ptr) cudaFree(ptr);
}

static jt_status cu_upload(jt_backend *b, void *dst, const void *src, size_t bytes) {
    if (!bytes) return JT_OK;
    JT_CUDA_TRY(b->ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, st_of(b)->stream));
    return JT_OK;
}

static jt_status cu_download(jt_backend *b, void *dst, const void *src, size_t bytes) {
    if (!bytes) return JT_OK;
    JT_CUDA_TRY(b->ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, st_of(b)->stream));
    JT_CUDA_TRY(b->ctx, cudaStreamSynchronize(st_of(b)->stream));
    return JT_OK;
}

static jt_status cu_copy(jt_backend *b, void *dst, const void *src, size_t bytes) {
    if (!bytes || dst == src) return JT_OK;
    JT_CUDA_TRY(b->ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, st_of(b)->stream));
    return JT_OK;
}

static jt_status cu_sync(jt_backend *b) {
    JT_CUDA_TRY(b->ctx, cudaStreamSynchronize(st_of(b)->stream));
    return JT_OK;
}

static jt_kernel_fn cu_kernel(const jt_backend *b, const jt_op *op, jt_dtype dt) {
    (void)b;
    if (!op || !op->impl || dt != JT_F32) return NULL;
    return op->impl->cuda_f32;
}

static void cu_destroy(jt_backend *b) {
    cuda_state *s = st_of(b);
    if (!s) return;
    if (s->cudnn) cudnnDestroy(s->cudnn);
    if (s->cublas) cublasDestroy(s->cublas);
    if (s->stream) cudaStreamDestroy(s->stream);
    free(s);
}

static const jt_backend_vt cuda_vt = {cu_alloc, cu_free, cu_upload, cu_download, cu_copy, cu_sync, cu_kernel,
                                      cu_destroy};

int jt_cuda_built(void) { return 1; }

jt_status jt_backend_cuda_create(jt_ctx *ctx, int index, jt_backend **out) {
    *out = NULL;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0))
        return jt_fail(ctx, JT_ERR_DEVICE, "no CUDA device is present (cudaGetDeviceCount: %s)",
                       e == cudaSuccess ? "0 devices" : cudaGetErrorString(e));
    if (e == cudaErrorInsufficientDriver)
        return jt_fail(ctx, JT_ERR_DEVICE,
                       "no usable CUDA driver: none is installed, or it is older than this build's CUDA runtime %d.%d "
                       "(cudaErrorInsufficientDriver); use --device cpu", CUDART_VERSION / 1000,
                       (CUDART_VERSION % 1000) / 10);
    if (e != cudaSuccess)
        return jt_fail(ctx, JT_ERR_DEVICE, "the CUDA driver is not usable: %s (%s)", cudaGetErrorString(e),
                       cudaGetErrorName(e));
    if (index >= n)
        return jt_fail(ctx, JT_ERR_ARG, "device cuda:%d requested but only %d CUDA device%s present", index, n,
                       n == 1 ? " is" : "s are");
    JT_CUDA_TRY(ctx, cudaSetDevice(index));
    struct cudaDeviceProp prop;
    JT_CUDA_TRY(ctx, cudaGetDeviceProperties(&prop, index));
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    jt_backend *b = calloc(1, sizeof *b);
    cuda_state *s = calloc(1, sizeof *s);
    if (!b || !s) {
        free(b);
        free(s);
        return jt_fail(ctx, JT_ERR_OOM, "out of memory");
    }
    s->index = index;
    e = cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        free(b);
        free(s);
        return jt_fail(ctx, JT_ERR_DEVICE, "cuda:%d: cannot create a stream: %s", index, cudaGetErrorString(e));
    }
    b->vt = &cuda_vt;
    b->ctx = ctx;
    b->device = (jt_device){JT_DEV_CUDA, index};
    b->impl = s;
    /* cuBLAS and cuDNN bound to the stream; default (FMA, no TF32) math until --tf32 */
    cublasStatus_t cs = cublasCreate(&s->cublas);
    cudnnStatus_t ds = cs == CUBLAS_STATUS_SUCCESS ? cudnnCreate(&s->cudnn) : CUDNN_STATUS_SUCCESS;
    if (cs != CUBLAS_STATUS_SUCCESS || ds != CUDNN_STATUS_SUCCESS) {
        jt_status st = jt_fail(ctx, JT_ERR_DEVICE, "cuda:%d: cannot create %s: %s", index,
                               cs != CUBLAS_STATUS_SUCCESS ? "a cuBLAS handle" : "a cuDNN handle",
                               cs != CUBLAS_STATUS_SUCCESS ? cublasGetStatusString(cs) : cudnnGetErrorString(ds));
        cu_destroy(b);
        free(b);
        return st;
    }
    cublasSetStream(s->cublas, s->stream);
    cudnnSetStream(s->cudnn, s->stream);
    snprintf(b->desc, sizeof b->desc, "cuda:%d (%.100s, sm_%d%d, %d SMs, %.1f GiB, driver %d.%d, runtime %d.%d)", index,
             prop.name, prop.major, prop.minor, prop.multiProcessorCount, (double)prop.totalGlobalMem / (1 << 30),
             driver / 1000, (driver % 1000) / 10, runtime / 1000, (runtime % 1000) / 10);
    *out = b;
    return JT_OK;
}
