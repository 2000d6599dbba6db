/* The backend vtable (internal). A plan allocates its arena, workspace, parameter copies and input
 * staging through it and picks each node's kernel through it; the CPU backend works in host memory in
 * place (parameters are used where the graph holds them), a device backend holds its own copies. */
#ifndef JATP_BACKEND_IMPL_H
#define JATP_BACKEND_IMPL_H

#include "jatp/backend.h"
#include "op.h"

typedef struct jt_backend_vt {
    /* Memory. alloc returns 256-byte (device) or 64-byte (host) aligned memory. */
    jt_status (*alloc)(jt_backend *b, size_t bytes, void **ptr);
    void (*free)(jt_backend *b, void *ptr);
    jt_status (*upload)(jt_backend *b, void *dst, const void *src, size_t bytes);   /* host -> backend */
    jt_status (*download)(jt_backend *b, void *dst, const void *src, size_t bytes); /* backend -> host */
    jt_status (*copy)(jt_backend *b, void *dst, const void *src, size_t bytes);     /* within backend */
    jt_status (*sync)(jt_backend *b);
    /* The kernel of an op for a dtype, or NULL when this backend has none. */
    jt_kernel_fn (*kernel)(const jt_backend *b, const jt_op *op, jt_dtype dt);
    void (*destroy)(jt_backend *b);
} jt_backend_vt;

struct jt_backend {
    const jt_backend_vt *vt;
    jt_ctx *ctx;
    jt_device device;
    int host_memory;   /* 1: data pointers are host pointers (CPU): no copies of parameters */
    int tf32, deterministic;
    char desc[256];
    void *impl;        /* backend-specific state (CUDA: stream, cuBLAS/cuDNN handles, caches) */
};

jt_status jt_backend_cpu_create(jt_ctx *ctx, jt_backend **out);
/* Defined by runtime/cuda/backend_cuda.c when CUDA is built, else by backend.c (fails clearly). */
jt_status jt_backend_cuda_create(jt_ctx *ctx, int index, jt_backend **out);

#endif
