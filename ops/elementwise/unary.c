/* Unary element-wise ops: Relu, LeakyRelu, Sigmoid, Tanh, Elu, Softplus, Sqrt, Neg, Abs, Exp, Log.
 * Float32/float64; Relu, Neg and Abs also on signed integers (Abs on unsigned too). Same-shape flat
 * loops split in fixed chunks; in-place safe. */
#include "elementwise_math.h"
#include "ew_common.h"
#include "elementwise_cuda.h"
#include "ew_grad.h"

#define EW_TMPL "unary_tmpl.h"
#include "ew_foreach_type.h"
#undef EW_TMPL

enum { U_RELU, U_LEAKY, U_SIGMOID, U_TANH, U_ELU, U_SOFTPLUS, U_SQRT, U_NEG, U_ABS, U_EXP, U_LOG, N_UN };

#define SINT_TABLE(p) {p##f32, p##f64, p##i8, NULL, p##i16, NULL, p##i32, p##i64, NULL, NULL}

static const ew_flat_fn un_table[N_UN][EW_NTYPES] = {
    [U_RELU] = SINT_TABLE(un_relu_),
    [U_LEAKY] = EW_FLOAT_TABLE(un_leakyrelu_),
    [U_SIGMOID] = EW_FLOAT_TABLE(un_sigmoid_),
    [U_TANH] = EW_FLOAT_TABLE(un_tanh_),
    [U_ELU] = EW_FLOAT_TABLE(un_elu_),
    [U_SOFTPLUS] = EW_FLOAT_TABLE(un_softplus_),
    [U_SQRT] = EW_FLOAT_TABLE(un_sqrt_),
    [U_NEG] = SINT_TABLE(un_neg_),
    [U_ABS] = EW_TYPE_TABLE(un_abs_),
    [U_EXP] = EW_FLOAT_TABLE(un_exp_),
    [U_LOG] = EW_FLOAT_TABLE(un_log_),
};

static const char *const un_dtypes[N_UN] = {
    [U_RELU] = "float32, float64 or a signed integer dtype",
    [U_NEG] = "float32, float64 or a signed integer dtype",
    [U_ABS] = "float32, float64 or an integer dtype",
};

static jt_status parse_alpha(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs,
                             double def) {
    static const char *const known[] = {"alpha", NULL};
    alpha_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    return jt_attr_float(ctx, g, n, "alpha", def, &at->alpha);
}
static jt_status leaky_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    return parse_alpha(ctx, g, n, attrs, 0.01);
}
static jt_status elu_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    return parse_alpha(ctx, g, n, attrs, 1.0);
}

static jt_status un_infer(const jt_infer_args *a, int op) {
    const jt_tensor *x = a->in[0];
    int ti = ew_type_index(x->dtype);
    JT_TRY(ew_check_dtype(a, 0, ti >= 0 && un_table[op][ti] != NULL,
                          un_dtypes[op] ? un_dtypes[op] : "float32 or float64"));
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    return JT_OK;
}

static jt_status un_run(const jt_kernel_args *a, int op) {
    ew_ptrs p = {.in = {a->in[0]->data}, .out = a->out[0]->data};
    if (op == U_LEAKY || op == U_ELU) p.p[0] = ((const alpha_attrs *)a->attrs)->alpha;
    ew_flat_run(a->pool, jt_tensor_numel(a->in[0]), un_table[op][ew_type_index(a->in[0]->dtype)],
                &p);
    return JT_OK;
}

static void cost_transcendental(const jt_kernel_args *a, double *flops, double *bytes) {
    ew_cost_per_elem(a, 4.0, flops, bytes); /* exp/log/tanh: counted as ~4 flops */
}

#define UN_OP_VJP(name, OP, parse_fn, asize, cost_fn, vjp_fn)                                                  \
    static jt_status name##_infer(const jt_infer_args *a) { return un_infer(a, OP); }              \
    static jt_status name##_kernel(const jt_kernel_args *a) { return un_run(a, OP); }              \
    const jt_op_impl jt_impl_##name = {                                                            \
        .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,                                      \
        .attr_size = asize, .parse = parse_fn,                                                     \
        .infer = name##_infer, .cost = cost_fn,                                                    \
        .cpu_f32 = name##_kernel, .cpu_f64 = name##_kernel, .cpu_other = name##_kernel,            \
        EW_CUDA(.cuda_f32 = jt_##name##_cuda_f32,)                                                 \
        .type_input = 0, .flags = JT_OP_INPLACE_OK, .vjp = vjp_fn,                                 \
    };

UN_OP_VJP(relu, U_RELU, NULL, 0, ew_cost_1, jt_vjp_relu)
UN_OP_VJP(leakyrelu, U_LEAKY, leaky_parse, sizeof(alpha_attrs), ew_cost_1, jt_vjp_leakyrelu)
UN_OP_VJP(sigmoid, U_SIGMOID, NULL, 0, cost_transcendental, jt_vjp_sigmoid)
UN_OP_VJP(tanh, U_TANH, NULL, 0, cost_transcendental, jt_vjp_tanh)
UN_OP_VJP(elu, U_ELU, elu_parse, sizeof(alpha_attrs), cost_transcendental, jt_vjp_elu)
UN_OP_VJP(softplus, U_SOFTPLUS, NULL, 0, cost_transcendental, jt_vjp_softplus)
UN_OP_VJP(sqrt, U_SQRT, NULL, 0, ew_cost_1, jt_vjp_sqrt)
UN_OP_VJP(neg, U_NEG, NULL, 0, ew_cost_1, jt_vjp_neg)
UN_OP_VJP(abs, U_ABS, NULL, 0, ew_cost_1, jt_vjp_abs)
UN_OP_VJP(exp, U_EXP, NULL, 0, cost_transcendental, jt_vjp_exp)
UN_OP_VJP(log, U_LOG, NULL, 0, cost_transcendental, jt_vjp_log)
