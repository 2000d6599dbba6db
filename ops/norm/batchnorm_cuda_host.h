/* Host side of BatchNormalization's and BatchNormalizationGrad's CUDA kernels (see batchnorm_cuda.h).
 * Host C included by batchnorm.c (it uses bn_attrs, bn_grad_attrs and bn_split); without JT_HAVE_CUDA
 * only the (empty) descriptor field macros are defined. Plan time (cuda_prepare) checks that every
 * parameter and statistics tensor is float32; the per-channel coefficients live in the workspace. */
#ifndef JT_HAVE_CUDA
#define BN_CUDA_IMPL
#define BN_GRAD_CUDA_IMPL
#else
#include "batchnorm_cuda.h"
#include "runtime/cuda/cuda_backend.h"
#include "runtime/cuda/check.h"

static jt_status bn_cuda_check_f32(const jt_kernel_args *a, int first) {
    for (int i = first; i < a->n_in; i++)
        if (a->in[i] && a->in[i]->dtype != JT_F32)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                                "input %d has dtype %s: the CUDA kernel takes float32 parameters and statistics", i,
                                jt_dtype_name(a->in[i]->dtype));
    for (int i = 0; i < a->n_out; i++)
        if (a->out[i] && a->out[i]->dtype != JT_F32)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                                "output %d has dtype %s: the CUDA kernel writes float32", i,
                                jt_dtype_name(a->out[i]->dtype));
    return JT_OK;
}

static jt_status bn_cuda_prepare(const jt_kernel_args *a, void **state) {
    *state = NULL;
    return bn_cuda_check_f32(a, 1);
}

static size_t bn_cuda_workspace(const jt_kernel_args *a) {
    int64_t chan, plane;
    bn_split(((const bn_attrs *)a->attrs)->spatial, a->in[0], &chan, &plane);
    return (size_t)chan * 2 * sizeof(double);
}

static jt_status bn_cuda_ws(const jt_kernel_args *a, size_t need) {
    if (need && (!a->ws || a->ws_size < need))
        return jt_fail(a->ctx, JT_ERR_INTERNAL, "node '%s' (%s): workspace of %zu bytes, %zu needed", a->node->name,
                       a->node->op_type, a->ws_size, need);
    return JT_OK;
}

static float *bn_out(const jt_kernel_args *a, int i) { return a->n_out > i && a->out[i] ? a->out[i]->data : NULL; }

static jt_status bn_cuda_f32(const jt_kernel_args *a) {
    const bn_attrs *at = a->attrs;
    int64_t chan, plane;
    bn_split(at->spatial, a->in[0], &chan, &plane);
    JT_TRY(bn_cuda_ws(a, (size_t)chan * 2 * sizeof(double)));
    jt_cuda_bn g = {a->in[0]->dims[0], chan, plane, at->eps, at->momentum, at->training_mode != 0};
    cudaStream_t s = jt_cuda_stream(a->backend);
    JT_CUDA_TRY(a->ctx, jt_cuda_bn_stats_f32(s, g, a->in[0]->data, a->in[1]->data, a->in[2]->data, a->in[3]->data,
                                             a->in[4]->data, bn_out(a, 1), bn_out(a, 2), bn_out(a, 3), bn_out(a, 4),
                                             a->ws));
    JT_CUDA_TRY(a->ctx, jt_cuda_bn_apply_f32(s, g, a->in[0]->data, a->ws, a->out[0]->data));
    return JT_OK;
}

static jt_status bn_grad_cuda_prepare(const jt_kernel_args *a, void **state) {
    *state = NULL;
    return bn_cuda_check_f32(a, 2);
}

static size_t bn_grad_cuda_workspace(const jt_kernel_args *a) {
    int64_t chan, plane;
    bn_split(((const bn_grad_attrs *)a->attrs)->spatial, a->in[0], &chan, &plane);
    return (size_t)chan * 5 * sizeof(double);
}

static jt_status bn_grad_cuda_f32(const jt_kernel_args *a) {
    const bn_grad_attrs *at = a->attrs;
    const jt_tensor *dY = a->in[0], *X = a->in[1];
    int64_t chan, plane;
    bn_split(at->spatial, dY, &chan, &plane);
    JT_TRY(bn_cuda_ws(a, (size_t)chan * 5 * sizeof(double)));
    jt_cuda_bn g = {dY->dims[0], chan, plane, at->eps, 0, at->training_mode != 0};
    float *dscale = NULL, *dbias = NULL, *dx = NULL;
    bool need_sums = at->training_mode;
    for (int i = 0; i < at->n_grads; i++) {
        float *o = a->out[i] ? a->out[i]->data : NULL;
        if (at->grads[i] == 0) dx = o;
        else if (at->grads[i] == 1) dscale = o;
        else dbias = o;
        need_sums |= at->grads[i] != 0;
    }
    const float *x = X ? X->data : NULL, *mean = a->in[4] ? a->in[4]->data : NULL;
    const float *var = a->in[5] ? a->in[5]->data : NULL;
    cudaStream_t s = jt_cuda_stream(a->backend);
    JT_CUDA_TRY(a->ctx, jt_cuda_bn_grad_stats_f32(s, g, dY->data, x, a->in[2]->data, mean, var, need_sums, dscale,
                                                  dbias, a->ws));
    if (dx) JT_CUDA_TRY(a->ctx, jt_cuda_bn_grad_dx_f32(s, g, dY->data, x, a->ws, dx));
    return JT_OK;
}

#define BN_CUDA_IMPL                                                                                         \
    .cuda_f32 = bn_cuda_f32, .cuda_prepare = bn_cuda_prepare, .cuda_workspace = bn_cuda_workspace,
#define BN_GRAD_CUDA_IMPL                                                                                    \
    .cuda_f32 = bn_grad_cuda_f32, .cuda_prepare = bn_grad_cuda_prepare, .cuda_workspace = bn_grad_cuda_workspace,
#endif
