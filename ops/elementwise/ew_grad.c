/* VJP rules for broadcasting arithmetic and ReLU, and the ReluGrad op.
 *   Add: dA = SumTo(dY, A), dB = SumTo(dY, B)        Sub: dB = SumTo(-dY, B)
 *   Mul: dA = SumTo(dY * B, A), dB = SumTo(dY * A, B)
 *   Div: dA = SumTo(dY / B, A), dB = SumTo(-dY * Y / B, B)   (d(a/b)/db = -a/b^2 = -y/b)
 *   Relu: dX = ReluGrad(dY, Y) = dY where Y > 0, else 0 (defined on Y, so a fused forward needs no X;
 *         at X = 0 the gradient is 0, PyTorch's convention). */
#include "ew_grad.h"

#include "jatp/builder.h"

static int32_t op2(jt_vjp_args *v, const char *type, int32_t a, int32_t b) {
    return jt_gb_op(v->b, type, "", NULL, (int32_t[]){a, b}, 2);
}

static int32_t sum_to(jt_vjp_args *v, int32_t g, int32_t like) {
    return jt_gb_op(v->b, "SumTo", "jatp.grad", NULL, (int32_t[]){g, like}, 2);
}

jt_status jt_vjp_add(jt_vjp_args *v) {
    if (v->need[0]) v->dx[0] = sum_to(v, v->dy[0], v->in[0]);
    if (v->need[1]) v->dx[1] = sum_to(v, v->dy[0], v->in[1]);
    return jt_gb_status(v->b);
}

jt_status jt_vjp_sub(jt_vjp_args *v) {
    if (v->need[0]) v->dx[0] = sum_to(v, v->dy[0], v->in[0]);
    if (v->need[1]) {
        int32_t neg = jt_gb_op(v->b, "Neg", "", NULL, (int32_t[]){v->dy[0]}, 1);
        v->dx[1] = sum_to(v, neg, v->in[1]);
    }
    return jt_gb_status(v->b);
}

jt_status jt_vjp_mul(jt_vjp_args *v) {
    if (v->need[0]) v->dx[0] = sum_to(v, op2(v, "Mul", v->dy[0], v->in[1]), v->in[0]);
    if (v->need[1]) v->dx[1] = sum_to(v, op2(v, "Mul", v->dy[0], v->in[0]), v->in[1]);
    return jt_gb_status(v->b);
}

jt_status jt_vjp_div(jt_vjp_args *v) {
    if (v->need[0]) v->dx[0] = sum_to(v, op2(v, "Div", v->dy[0], v->in[1]), v->in[0]);
    if (v->need[1]) {
        int32_t q = op2(v, "Div", v->out[0], v->in[1]);
        int32_t t = op2(v, "Mul", v->dy[0], q);
        int32_t neg = jt_gb_op(v->b, "Neg", "", NULL, (int32_t[]){t}, 1);
        v->dx[1] = sum_to(v, neg, v->in[1]);
    }
    return jt_gb_status(v->b);
}

jt_status jt_vjp_relu(jt_vjp_args *v) {
    v->dx[0] = jt_gb_op(v->b, "ReluGrad", "jatp.grad", NULL, (int32_t[]){v->dy[0], v->out[0]}, 2);
    return jt_gb_status(v->b);
}

/* ---- ReluGrad(dY, Y) -> dX ---- */

static jt_status relu_grad_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0], *y = a->in[1];
    if (!jt_dtype_is_float(dy->dtype) || dy->dtype != y->dtype || !jt_dims_equal(dy->dims, dy->rank, y->dims, y->rank))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY and Y must be float tensors of one shape");
    jt_tensor_set_shape(a->out[0], dy->dtype, dy->rank, dy->dims);
    return JT_OK;
}

#define RELU_GRAD(T, S)                                                                                      \
    static jt_status relu_grad_##S(const jt_kernel_args *a) {                                               \
        const T *dy = a->in[0]->data, *y = a->in[1]->data;                                                   \
        T *dx = a->out[0]->data;                                                                             \
        int64_t n = jt_tensor_numel(a->out[0]);                                                              \
        for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : (T)0;                                     \
        return JT_OK;                                                                                        \
    }
RELU_GRAD(float, f32)
RELU_GRAD(double, f64)

const jt_op_impl jt_impl_relu_grad = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .infer = relu_grad_infer,
    .cpu_f32 = relu_grad_f32, .cpu_f64 = relu_grad_f64, .type_input = 0, .flags = JT_OP_INPLACE_OK,
};
