/* Host side of the pooling ops' CUDA kernels (see pool_cuda.h): geometry from pool.h, launches on the
 * backend's stream, every launch checked. No allocation: MaxPoolGrad's argmax buffer is the workspace. */
#include <stdbool.h>

#include "pool.h"
#include "pool_cuda.h"
#include "runtime/cuda/cuda_backend.h"
#include "runtime/cuda/check.h"

static jt_status cuda_geom(const jt_kernel_args *a, const jt_tensor *x, jt_cuda_pool_geom *cg) {
    const pool_attrs *at = a->attrs;
    pool_geom g;
    JT_TRY(jt_pool_geom_make(a->ctx, NULL, a->node, at, x, &g));
    *cg = (jt_cuda_pool_geom){.planes = (long long)(g.N * g.C), .in_sz = (long long)g.in_sz,
                              .out_sz = (long long)g.out_sz,
                              .kind = at->kind == POOL_MAX || at->kind == POOL_GMAX ? JT_CUDA_POOL_MAX : JT_CUDA_POOL_AVG,
                              .count_include_pad = at->count_include_pad != 0, .storage_order = at->storage_order != 0};
    for (int i = 0; i < 3; i++) {
        cg->in[i] = g.in[i];
        cg->out[i] = g.out[i];
        cg->k[i] = g.k[i];
        cg->s[i] = g.s[i];
        cg->d[i] = g.d[i];
        cg->pb[i] = g.pb[i];
        cg->pe[i] = g.pe[i];
    }
    return JT_OK;
}

static bool is_global(const pool_attrs *at) { return at->kind == POOL_GMAX || at->kind == POOL_GAVG; }

jt_status jt_pool_cuda_f32(const jt_kernel_args *a) {
    const pool_attrs *at = a->attrs;
    jt_cuda_pool_geom g;
    JT_TRY(cuda_geom(a, a->in[0], &g));
    cudaStream_t s = jt_cuda_stream(a->backend);
    if (is_global(at)) {
        JT_CUDA_TRY(a->ctx, jt_cuda_global_pool_f32(s, g, a->in[0]->data, a->out[0]->data));
    } else {
        int64_t *idx = a->n_out > 1 && a->out[1] ? a->out[1]->data : NULL;
        JT_CUDA_TRY(a->ctx, jt_cuda_pool_fwd_f32(s, g, a->in[0]->data, a->out[0]->data, idx, NULL));
    }
    return JT_OK;
}

/* MaxPoolGrad: one int32 argmax offset per output element. */
size_t jt_pool_grad_cuda_workspace(const jt_kernel_args *a) {
    const pool_attrs *at = a->attrs;
    jt_cuda_pool_geom g;
    if (at->kind != POOL_MAX || cuda_geom(a, a->out[0], &g) != JT_OK) return 0;
    return (size_t)(g.planes * g.out_sz) * sizeof(int32_t);
}

jt_status jt_pool_grad_cuda_f32(const jt_kernel_args *a) {
    const pool_attrs *at = a->attrs;
    jt_cuda_pool_geom g;
    JT_TRY(cuda_geom(a, a->out[0], &g)); /* dX has X's shape */
    cudaStream_t s = jt_cuda_stream(a->backend);
    const float *dy = a->in[0]->data;
    float *dx = a->out[0]->data;
    if (is_global(at)) {
        JT_CUDA_TRY(a->ctx, jt_cuda_global_pool_grad_f32(s, g, dy, at->kind == POOL_GMAX ? a->in[1]->data : NULL, dx));
        return JT_OK;
    }
    if (at->kind == POOL_AVG) {
        JT_CUDA_TRY(a->ctx, jt_cuda_pool_grad_f32(s, g, dy, NULL, dx));
        return JT_OK;
    }
    size_t need = (size_t)(g.planes * g.out_sz) * sizeof(int32_t);
    if (g.in_sz > INT32_MAX)
        return jt_fail(a->ctx, JT_ERR_UNSUPPORTED, "node '%s' (MaxPoolGrad): planes of %lld elements exceed the int32 "
                       "argmax offsets of the CUDA kernel", a->node->name, g.in_sz);
    if (need && (!a->ws || a->ws_size < need))
        return jt_fail(a->ctx, JT_ERR_INTERNAL, "node '%s' (MaxPoolGrad): workspace of %zu bytes, %zu needed",
                       a->node->name, a->ws_size, need);
    int32_t *arg = a->ws;
    JT_CUDA_TRY(a->ctx, jt_cuda_pool_fwd_f32(s, g, a->in[1]->data, NULL, NULL, arg)); /* the forward's scan */
    JT_CUDA_TRY(a->ctx, jt_cuda_pool_grad_f32(s, g, dy, arg, dx));
    return JT_OK;
}
