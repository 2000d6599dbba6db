/* Generic gradient helpers (domain jatp.grad):
 *   OnesLike(x)      -> ones of x's shape and dtype (the seed of a loss)
 *   ZerosLike(x)     -> zeros (gradient of a value the loss does not depend on)
 *   SumTo(dy, like)  -> dy summed over the axes that numpy broadcasting expanded from like's shape
 *                       (the "unbroadcast" every broadcasting op's VJP needs); only like's shape is read.
 *                       `like` may also be a constant 1-D int64 shape (Shape(X), folded at plan time),
 *                       which keeps X itself from living until the backward pass.
 * The summation order is fixed (row-major over dy), so results do not depend on the thread count. */
#include <string.h>

#include "autograd_cuda.h"
#include "op.h"

static jt_status like_infer(const jt_infer_args *a) {
    const jt_tensor *x = a->in[0];
    if (!jt_dtype_is_float(x->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "input is %s, expected float32 or float64",
                            jt_dtype_name(x->dtype));
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    return JT_OK;
}

static jt_status fill_kernel(const jt_kernel_args *a, double v) {
    int64_t n = jt_tensor_numel(a->out[0]);
    if (a->out[0]->dtype == JT_F32)
        for (int64_t i = 0; i < n; i++) ((float *)a->out[0]->data)[i] = (float)v;
    else
        for (int64_t i = 0; i < n; i++) ((double *)a->out[0]->data)[i] = v;
    return JT_OK;
}

static jt_status ones_kernel(const jt_kernel_args *a) { return fill_kernel(a, 1.0); }
static jt_status zeros_kernel(const jt_kernel_args *a) { return fill_kernel(a, 0.0); }

const jt_op_impl jt_impl_ones_like = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1, .infer = like_infer,
    .cpu_f32 = ones_kernel, .cpu_f64 = ones_kernel, AG_CUDA(.cuda_f32 = jt_ones_like_cuda_f32,)
    .type_input = 0, .flags = JT_OP_SHAPE_ONLY,
};

const jt_op_impl jt_impl_zeros_like = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1, .infer = like_infer,
    .cpu_f32 = zeros_kernel, .cpu_f64 = zeros_kernel, AG_CUDA(.cuda_f32 = jt_zeros_like_cuda_f32,)
    .type_input = 0, .flags = JT_OP_SHAPE_ONLY,
};

static jt_status sum_to_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0], *like = a->in[1];
    jt_tensor shape_like;
    if (like->dtype == JT_I64 && like->rank == 1 && like->data && dy->dtype != JT_I64) {
        if (like->dims[0] > JT_MAX_RANK)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "target shape has rank %lld",
                                (long long)like->dims[0]);
        memset(&shape_like, 0, sizeof shape_like);
        shape_like.rank = (int32_t)like->dims[0];
        for (int i = 0; i < shape_like.rank; i++) shape_like.dims[i] = ((const int64_t *)like->data)[i];
        like = &shape_like;
    }
    if (!jt_dtype_is_float(dy->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "dy is %s, expected float32 or float64",
                            jt_dtype_name(dy->dtype));
    if (like->rank > dy->rank)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "target rank %d exceeds dy rank %d", like->rank,
                            dy->rank);
    for (int i = 0; i < like->rank; i++) {
        int64_t t = like->dims[i], d = dy->dims[dy->rank - like->rank + i];
        if (t != d && t != 1) {
            char s1[128], s2[128];
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "cannot sum %s down to %s",
                                jt_dims_str(dy->dims, dy->rank, s1, sizeof s1),
                                jt_dims_str(like->dims, like->rank, s2, sizeof s2));
        }
    }
    jt_tensor_set_shape(a->out[0], dy->dtype, like->rank, like->dims);
    return JT_OK;
}

#define SUM_TO_BODY(T)                                                                                       \
    do {                                                                                                     \
        const T *src = a->in[0]->data;                                                                       \
        T *dst = a->out[0]->data;                                                                            \
        int64_t n_out = jt_tensor_numel(a->out[0]), n = jt_tensor_numel(a->in[0]);                           \
        memset(dst, 0, sizeof(T) * (size_t)n_out);                                                           \
        if (n_out == n) {                                                                                    \
            memcpy(dst, src, sizeof(T) * (size_t)n);                                                         \
            break;                                                                                           \
        }                                                                                                    \
        int r = a->in[0]->rank, off = r - a->out[0]->rank;                                                   \
        int64_t st[JT_MAX_RANK], idx[JT_MAX_RANK] = {0}, acc = 1;                                            \
        for (int i = r - 1; i >= 0; i--) {                                                                   \
            int64_t od = i >= off ? a->out[0]->dims[i - off] : 1;                                            \
            st[i] = od == 1 ? 0 : acc;                                                                       \
            acc *= od;                                                                                       \
        }                                                                                                    \
        /* inner run along the last axis */                                                                  \
        int64_t inner = r ? a->in[0]->dims[r - 1] : 1, sin = r ? st[r - 1] : 0, o = 0;                       \
        for (int64_t base = 0; base < n; base += inner) {                                                    \
            if (sin)                                                                                         \
                for (int64_t j = 0; j < inner; j++) dst[o + j] += src[base + j];                             \
            else                                                                                             \
                for (int64_t j = 0; j < inner; j++) dst[o] += src[base + j];                                 \
            for (int i = r - 2; i >= 0; i--) { /* advance the multi-index over the outer axes */             \
                idx[i]++;                                                                                    \
                o += st[i];                                                                                  \
                if (idx[i] < a->in[0]->dims[i]) break;                                                       \
                o -= st[i] * idx[i];                                                                         \
                idx[i] = 0;                                                                                  \
            }                                                                                                \
        }                                                                                                    \
    } while (0)

static jt_status sum_to_f32(const jt_kernel_args *a) {
    SUM_TO_BODY(float);
    return JT_OK;
}

static jt_status sum_to_f64(const jt_kernel_args *a) {
    SUM_TO_BODY(double);
    return JT_OK;
}

static jt_status sum_to_vjp(jt_vjp_args *v);

const jt_op_impl jt_impl_sum_to = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .infer = sum_to_infer,
    .cpu_f32 = sum_to_f32, .cpu_f64 = sum_to_f64, .type_input = 0,
    AG_CUDA(.cuda_f32 = jt_sum_to_cuda_f32, .cuda_workspace = jt_sum_to_cuda_workspace,)
    .vjp = sum_to_vjp, .no_grad_mask = 1u << 1,
};

/* d/d(dy) of SumTo is a broadcast back: Expand(g, Shape(dy)). */
#include "autograd.h"

int32_t jt_grad_sum_to(jt_gb *b, int32_t g, int32_t like) {
    int32_t shp = jt_gb_op(b, "Shape", "", NULL, (int32_t[]){like}, 1);
    return jt_gb_op(b, "SumTo", JT_DOMAIN_GRAD, NULL, (int32_t[]){g, shp}, 2);
}
static jt_status sum_to_vjp(jt_vjp_args *v) {
    if (!v->need[0] || v->dy[0] < 0) return JT_OK;
    int32_t shp = jt_gb_op(v->b, "Shape", "", NULL, (int32_t[]){v->in[0]}, 1);
    v->dx[0] = jt_gb_op(v->b, "Expand", "", NULL, (int32_t[]){v->dy[0], shp}, 2);
    return jt_gb_status(v->b);
}
