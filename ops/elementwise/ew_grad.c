/* VJP rules for broadcasting arithmetic and the same-shape element-wise ops, and their grad ops.
 *   Add: dA = SumTo(dY, A), dB = SumTo(dY, B)        Sub: dB = SumTo(-dY, B)
 *   Mul: dA = SumTo(dY * B, A), dB = SumTo(dY * A, B)
 *   Div: dA = SumTo(dY / B, A), dB = SumTo(-dY * Y / B, B)   (d(a/b)/db = -a/b^2 = -y/b)
 *   Relu:      ReluGrad(dY, Y)      = dY where Y > 0, else 0 (defined on Y, so a fused forward needs no X)
 *   LeakyRelu: LeakyReluGrad(dY, X) = dY where X > 0, else alpha * dY
 *   Sigmoid:   SigmoidGrad(dY, Y)   = dY * Y * (1 - Y)
 *   Tanh:      TanhGrad(dY, Y)      = dY * (1 - Y^2)
 *   Elu:       EluGrad(dY, X)       = dY where X > 0, else alpha * exp(X) * dY
 *   Softplus:  SoftplusGrad(dY, X)  = dY * sigmoid(X)
 *   Sqrt:      SqrtGrad(dY, Y)      = dY / (2 Y)
 *   Abs:       AbsGrad(dY, X)       = dY * sign(X)
 *   Neg: -dY     Exp: dY * Y     Log: dY / X
 *   Clip:      ClipGrad(dY, X[, min, max]) = dY where min <= X <= max (inclusive, PyTorch's clamp),
 *              else 0; the bounds get no gradient. Clip-6 passes its bounds as attributes.
 *   Cast:      CastGrad(dY, X) = dY cast back to X's dtype (float32 <-> float64 only).
 * Kinks follow PyTorch: the gradient at X = 0 is 0 for Relu and Abs and the left slope for LeakyRelu
 * and Elu. Grad kernels are same-shape flat loops in fixed chunks (ew_flat_run), safe in place. */
#include <math.h>
#include <string.h>

#include "elementwise_math.h"
#include "ew_common.h"
#include "elementwise_cuda.h"
#include "ew_grad.h"
#include "jatp/builder.h"
#include "autograd/autograd.h"

static int32_t op1(jt_vjp_args *v, const char *type, int32_t a) {
    return jt_gb_op(v->b, type, "", NULL, (int32_t[]){a}, 1);
}

static int32_t op2(jt_vjp_args *v, const char *type, int32_t a, int32_t b) {
    return jt_gb_op(v->b, type, "", NULL, (int32_t[]){a, b}, 2);
}

static int32_t grad2(jt_vjp_args *v, const char *type, int32_t a, int32_t b) {
    return jt_gb_op(v->b, type, JT_DOMAIN_GRAD, NULL, (int32_t[]){a, b}, 2);
}

static int32_t sum_to(jt_vjp_args *v, int32_t g, int32_t like) { return jt_grad_sum_to(v->b, g, like); }

jt_status jt_vjp_add(jt_vjp_args *v) {
    if (v->need[0]) v->dx[0] = sum_to(v, v->dy[0], v->in[0]);
    if (v->need[1]) v->dx[1] = sum_to(v, v->dy[0], v->in[1]);
    return jt_gb_status(v->b);
}

jt_status jt_vjp_sub(jt_vjp_args *v) {
    if (v->need[0]) v->dx[0] = sum_to(v, v->dy[0], v->in[0]);
    if (v->need[1]) v->dx[1] = sum_to(v, op1(v, "Neg", v->dy[0]), v->in[1]);
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
        v->dx[1] = sum_to(v, op1(v, "Neg", t), v->in[1]);
    }
    return jt_gb_status(v->b);
}

/* ---- same-shape unary rules ---- */

jt_status jt_vjp_relu(jt_vjp_args *v) {
    v->dx[0] = grad2(v, "ReluGrad", v->dy[0], v->out[0]);
    return jt_gb_status(v->b);
}

jt_status jt_vjp_leakyrelu(jt_vjp_args *v) {
    jt_gb_attr_float(v->b, "alpha", ((const alpha_attrs *)v->attrs)->alpha);
    v->dx[0] = grad2(v, "LeakyReluGrad", v->dy[0], v->in[0]);
    return jt_gb_status(v->b);
}

jt_status jt_vjp_elu(jt_vjp_args *v) {
    jt_gb_attr_float(v->b, "alpha", ((const alpha_attrs *)v->attrs)->alpha);
    v->dx[0] = grad2(v, "EluGrad", v->dy[0], v->in[0]);
    return jt_gb_status(v->b);
}

#define SIMPLE_RULE(name, expr)                                                                              \
    jt_status jt_vjp_##name(jt_vjp_args *v) {                                                                \
        v->dx[0] = expr;                                                                                     \
        return jt_gb_status(v->b);                                                                           \
    }
SIMPLE_RULE(sigmoid, grad2(v, "SigmoidGrad", v->dy[0], v->out[0]))
SIMPLE_RULE(tanh, grad2(v, "TanhGrad", v->dy[0], v->out[0]))
SIMPLE_RULE(softplus, grad2(v, "SoftplusGrad", v->dy[0], v->in[0]))
SIMPLE_RULE(sqrt, grad2(v, "SqrtGrad", v->dy[0], v->out[0]))
SIMPLE_RULE(abs, grad2(v, "AbsGrad", v->dy[0], v->in[0]))
SIMPLE_RULE(neg, op1(v, "Neg", v->dy[0]))
SIMPLE_RULE(exp, op2(v, "Mul", v->dy[0], v->out[0]))
SIMPLE_RULE(log, op2(v, "Div", v->dy[0], v->in[0]))
SIMPLE_RULE(cast, grad2(v, "CastGrad", v->dy[0], v->in[0]))

jt_status jt_vjp_clip_v6(jt_vjp_args *v) {
    const clip_attrs *at = v->attrs;
    jt_gb_attr_float(v->b, "min", at->min);
    jt_gb_attr_float(v->b, "max", at->max);
    v->dx[0] = grad2(v, "ClipGrad", v->dy[0], v->in[0]);
    return jt_gb_status(v->b);
}

jt_status jt_vjp_clip(jt_vjp_args *v) {
    int32_t ins[4] = {v->dy[0], v->in[0], v->n_in > 1 ? v->in[1] : -1, v->n_in > 2 ? v->in[2] : -1};
    v->dx[0] = jt_gb_op(v->b, "ClipGrad", JT_DOMAIN_GRAD, NULL, ins, 4);
    return jt_gb_status(v->b);
}

/* ---- grad ops: <Name>Grad(dY, T) -> dX, T = X or Y of the forward, all of one shape ---- */

enum { G_RELU, G_LEAKY, G_SIGMOID, G_TANH, G_ELU, G_SOFTPLUS, G_SQRT, G_ABS, G_CLIP };

typedef struct ug_ctx {
    const void *dy, *t;
    void *dx;
    int kind;
    double alpha, lo, hi;
} ug_ctx;

/* The bodies are the JT_HD functions of elementwise_math.h, shared with the CUDA kernels. */
#define UG_DEF(T, S)                                                                                         \
    static void ug_run_##S(const void *c, int64_t lo, int64_t hi) {                                          \
        const ug_ctx *k = c;                                                                                 \
        const T *dy = k->dy, *t = k->t;                                                                      \
        T *dx = k->dx;                                                                                       \
        const T al = (T)k->alpha, blo = (T)k->lo, bhi = (T)k->hi;                                            \
        switch (k->kind) {                                                                                   \
        case G_RELU:                                                                                         \
            for (int64_t i = lo; i < hi; i++) dx[i] = ew_relu_grad_##S(dy[i], t[i]);                         \
            break;                                                                                           \
        case G_LEAKY:                                                                                        \
            for (int64_t i = lo; i < hi; i++) dx[i] = ew_leakyrelu_grad_##S(dy[i], t[i], al);                \
            break;                                                                                           \
        case G_SIGMOID:                                                                                      \
            for (int64_t i = lo; i < hi; i++) dx[i] = ew_sigmoid_grad_##S(dy[i], t[i]);                      \
            break;                                                                                           \
        case G_TANH:                                                                                         \
            for (int64_t i = lo; i < hi; i++) dx[i] = ew_tanh_grad_##S(dy[i], t[i]);                         \
            break;                                                                                           \
        case G_ELU:                                                                                          \
            for (int64_t i = lo; i < hi; i++) dx[i] = ew_elu_grad_##S(dy[i], t[i], al);                      \
            break;                                                                                           \
        case G_SOFTPLUS:                                                                                     \
            for (int64_t i = lo; i < hi; i++) dx[i] = ew_softplus_grad_##S(dy[i], t[i]);                     \
            break;                                                                                           \
        case G_SQRT:                                                                                         \
            for (int64_t i = lo; i < hi; i++) dx[i] = ew_sqrt_grad_##S(dy[i], t[i]);                         \
            break;                                                                                           \
        case G_ABS:                                                                                          \
            for (int64_t i = lo; i < hi; i++) dx[i] = ew_abs_grad_##S(dy[i], t[i]);                          \
            break;                                                                                           \
        default: /* G_CLIP */                                                                                \
            for (int64_t i = lo; i < hi; i++) dx[i] = ew_clip_grad_##S(dy[i], t[i], blo, bhi);               \
            break;                                                                                           \
        }                                                                                                    \
    }
UG_DEF(float, f32)
UG_DEF(double, f64)

static jt_status ug_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"alpha", "min", "max", NULL};
    ug_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_float(ctx, g, n, "alpha", 0.01, &at->alpha));
    JT_TRY(jt_attr_float(ctx, g, n, "min", -INFINITY, &at->min));
    return jt_attr_float(ctx, g, n, "max", INFINITY, &at->max);
}

static jt_status ug_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0], *t = a->in[1];
    if (!jt_dtype_is_float(dy->dtype) || dy->dtype != t->dtype || !jt_dims_equal(dy->dims, dy->rank, t->dims, t->rank)) {
        char s1[128], s2[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "dY (%s %s) and the forward tensor (%s %s) must be float tensors of one dtype and shape",
                            jt_dtype_name(dy->dtype), jt_dims_str(dy->dims, dy->rank, s1, sizeof s1),
                            jt_dtype_name(t->dtype), jt_dims_str(t->dims, t->rank, s2, sizeof s2));
    }
    for (int i = 2; i < a->n_in; i++) { /* ClipGrad bounds */
        if (!a->in[i]) continue;
        if (a->in[i]->dtype != t->dtype || jt_tensor_numel(a->in[i]) != 1)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                                "input %d (%s) must be a %s scalar", i, i == 2 ? "min" : "max",
                                jt_dtype_name(t->dtype));
    }
    jt_tensor_set_shape(a->out[0], dy->dtype, dy->rank, dy->dims);
    return JT_OK;
}

static jt_status ug_run(const jt_kernel_args *a, int kind) {
    ug_ctx k = {.dy = a->in[0]->data, .t = a->in[1]->data, .dx = a->out[0]->data, .kind = kind};
    const ug_attrs *at = a->attrs;
    if (kind == G_LEAKY || kind == G_ELU || kind == G_CLIP) {
        k.alpha = at->alpha;
        k.lo = at->min;
        k.hi = at->max;
    }
    for (int i = 2; i < a->n_in; i++)
        if (a->in[i]) *(i == 2 ? &k.lo : &k.hi) = jt_tensor_get_f64(a->in[i], 0);
    ew_flat_run(a->pool, jt_tensor_numel(a->out[0]), a->in[0]->dtype == JT_F32 ? ug_run_f32 : ug_run_f64, &k);
    return JT_OK;
}

#define UG_OP(name, KIND, maxin, parse_fn, asize)                                                                   \
    static jt_status name##_kernel(const jt_kernel_args *a) { return ug_run(a, KIND); }                     \
    const jt_op_impl jt_impl_##name = {                                                                      \
        .min_in = 2, .max_in = maxin, .min_out = 1, .max_out = 1,                                            \
        .attr_size = asize, .parse = parse_fn, .infer = ug_infer,                  \
        .cost = ew_cost_1, .cpu_f32 = name##_kernel, .cpu_f64 = name##_kernel,                               \
        EW_CUDA(.cuda_f32 = jt_##name##_cuda_f32,)                                                           \
        .type_input = 0, .flags = JT_OP_INPLACE_OK,                                                          \
    };
UG_OP(relu_grad, G_RELU, 2, NULL, 0)
UG_OP(leaky_relu_grad, G_LEAKY, 2, ug_parse, sizeof(ug_attrs))
UG_OP(sigmoid_grad, G_SIGMOID, 2, NULL, 0)
UG_OP(tanh_grad, G_TANH, 2, NULL, 0)
UG_OP(elu_grad, G_ELU, 2, ug_parse, sizeof(ug_attrs))
UG_OP(softplus_grad, G_SOFTPLUS, 2, NULL, 0)
UG_OP(sqrt_grad, G_SQRT, 2, NULL, 0)
UG_OP(abs_grad, G_ABS, 2, NULL, 0)
UG_OP(clip_grad, G_CLIP, 4, ug_parse, sizeof(ug_attrs))

/* ---- CastGrad(dY, X) -> dY in X's dtype ---- */

static jt_status cast_grad_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0], *x = a->in[1];
    if (!jt_dtype_is_float(dy->dtype) || !jt_dtype_is_float(x->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                            "Cast from %s to %s is not differentiable (only float32 <-> float64 is)",
                            jt_dtype_name(x->dtype), jt_dtype_name(dy->dtype));
    if (!jt_dims_equal(dy->dims, dy->rank, x->dims, x->rank)) {
        char s1[128], s2[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY %s and X %s differ in shape",
                            jt_dims_str(dy->dims, dy->rank, s1, sizeof s1), jt_dims_str(x->dims, x->rank, s2, sizeof s2));
    }
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    return JT_OK;
}

static void cast_f32_f64(const void *c, int64_t lo, int64_t hi) {
    const ew_ptrs *p = c;
    for (int64_t i = lo; i < hi; i++) ((double *)p->out)[i] = ((const float *)p->in[0])[i];
}

static void cast_f64_f32(const void *c, int64_t lo, int64_t hi) {
    const ew_ptrs *p = c;
    for (int64_t i = lo; i < hi; i++) ((float *)p->out)[i] = (float)((const double *)p->in[0])[i];
}

static jt_status cast_grad_kernel(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0];
    jt_tensor *dx = a->out[0];
    if (dy->dtype == dx->dtype) {
        if (dx->data != dy->data) memmove(dx->data, dy->data, jt_tensor_nbytes(dx));
        return JT_OK;
    }
    ew_ptrs p = {.in = {dy->data}, .out = dx->data};
    ew_flat_run(a->pool, jt_tensor_numel(dx), dy->dtype == JT_F32 ? cast_f32_f64 : cast_f64_f32, &p);
    return JT_OK;
}

const jt_op_impl jt_impl_cast_grad = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .infer = cast_grad_infer,
    .cpu_f32 = cast_grad_kernel, .cpu_f64 = cast_grad_kernel, .type_input = 0,
};
