/* Broadcasting binary arithmetic: Add, Sub, Mul, Div (opset 6 legacy broadcast and 7+ numpy),
 * variadic Max/Min (1..N inputs), and PRelu (slope broadcast unidirectionally to X).
 * Float32/float64 and all integer dtypes (PRelu: floats). Integer arithmetic wraps, integer division
 * truncates toward zero and x / 0 = 0 (see elementwise_math.h). */
#include <string.h>

#include "elementwise_math.h"
#include "ew_common.h"
#include "elementwise_cuda.h"
#include "ew_grad.h"

#define EW_TMPL "binary_tmpl.h"
#include "ew_foreach_type.h"
#undef EW_TMPL

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_PRELU, N_BIN };

static const ew_run_fn bin_table[N_BIN][EW_NTYPES] = {
    EW_TYPE_TABLE(bin_add_), EW_TYPE_TABLE(bin_sub_), EW_TYPE_TABLE(bin_mul_),
    EW_TYPE_TABLE(bin_div_), EW_TYPE_TABLE(bin_max_), EW_TYPE_TABLE(bin_min_),
    EW_FLOAT_TABLE(bin_prelu_),
};

static const char *const bin_dtypes = "float32, float64 or an integer dtype";

/* ---- infer ---- */

static jt_status arith_infer(const jt_infer_args *a) {
    const jt_tensor *A = a->in[0], *B = a->in[1];
    JT_TRY(ew_check_dtype(a, 0, ew_is_numeric(A->dtype), bin_dtypes));
    JT_TRY(ew_check_same(a, 0, 1));
    jt_tensor shape = *B;
    if (a->node->op->since < 7) { /* opset 6: legacy broadcast */
        JT_TRY(ew_legacy_b_dims(a->ctx, a->graph, a->node, a->attrs, A, B, &shape.rank,
                                shape.dims));
    }
    jt_tensor out;
    JT_TRY(jt_broadcast_dims(a->ctx, a->graph, a->node, A, &shape, &out));
    jt_tensor_set_shape(a->out[0], A->dtype, out.rank, out.dims);
    return JT_OK;
}

static jt_status variadic_infer(const jt_infer_args *a) {
    for (int i = 0; i < a->n_in; i++) {
        if (!a->in[i])
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                                "input %d is missing", i);
        JT_TRY(ew_check_dtype(a, i, ew_is_numeric(a->in[i]->dtype), bin_dtypes));
        JT_TRY(ew_check_same(a, 0, i));
    }
    jt_tensor out;
    JT_TRY(ew_broadcast_n(a, a->n_in, a->in, &out));
    jt_tensor_set_shape(a->out[0], a->in[0]->dtype, out.rank, out.dims);
    return JT_OK;
}

static jt_status prelu_infer(const jt_infer_args *a) {
    const jt_tensor *X = a->in[0], *slope = a->in[1];
    JT_TRY(ew_check_dtype(a, 0, X->dtype == JT_F32 || X->dtype == JT_F64, "float32 or float64"));
    JT_TRY(ew_check_same(a, 0, 1));
    jt_tensor out;
    JT_TRY(jt_broadcast_dims(a->ctx, a->graph, a->node, X, slope, &out));
    if (!jt_dims_equal(out.dims, out.rank, X->dims, X->rank)) {
        char sx[128], ss[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "slope %s must broadcast to X %s without growing it",
                            jt_dims_str(slope->dims, slope->rank, ss, sizeof ss),
                            jt_dims_str(X->dims, X->rank, sx, sizeof sx));
    }
    jt_tensor_set_shape(a->out[0], X->dtype, X->rank, X->dims);
    return JT_OK;
}

/* ---- kernels ---- */

static jt_status bin_run(const jt_kernel_args *a, int op) {
    const jt_tensor *A = a->in[0], *B = a->in[1];
    ew_run_fn fn = bin_table[op][ew_type_index(A->dtype)];
    int ranks[2] = {A->rank, B->rank};
    int64_t bdims[JT_MAX_RANK];
    const int64_t *dims[2] = {A->dims, B->dims};
    if (op != OP_PRELU && a->node->op->since < 7) { /* PRelu-6 has no legacy attributes */
        JT_TRY(ew_legacy_b_dims(a->ctx, NULL, a->node, a->attrs, A, B, &ranks[1], bdims));
        dims[1] = bdims;
    }
    ew_bcast b;
    ew_bcast_init(&b, a->out[0]->rank, a->out[0]->dims, 2, ranks, dims);
    ew_ptrs p = {.in = {A->data, B->data}, .out = a->out[0]->data};
    ew_bcast_run(a->pool, &b, fn, &p);
    return JT_OK;
}

static jt_status variadic_run(const jt_kernel_args *a, int op) {
    jt_tensor *Z = a->out[0];
    if (a->n_in == 1) { /* one input: a copy (its shape is the output's) */
        if (Z->data != a->in[0]->data) memmove(Z->data, a->in[0]->data, jt_tensor_nbytes(Z));
        return JT_OK;
    }
    ew_run_fn fn = bin_table[op][ew_type_index(Z->dtype)];
    /* Z = op(in0, in1), then Z = op(Z, in_k): every step broadcasts to the final shape. */
    for (int k = 1; k < a->n_in; k++) {
        const jt_tensor *lhs = k == 1 ? a->in[0] : Z;
        const jt_tensor *ops[2] = {lhs, a->in[k]};
        ew_bcast b;
        ew_bcast_tensors(&b, Z, 2, ops);
        ew_ptrs p = {.in = {lhs->data, a->in[k]->data}, .out = Z->data};
        ew_bcast_run(a->pool, &b, fn, &p);
    }
    return JT_OK;
}

static jt_status add_kernel(const jt_kernel_args *a) { return bin_run(a, OP_ADD); }
static jt_status sub_kernel(const jt_kernel_args *a) { return bin_run(a, OP_SUB); }
static jt_status mul_kernel(const jt_kernel_args *a) { return bin_run(a, OP_MUL); }
static jt_status div_kernel(const jt_kernel_args *a) { return bin_run(a, OP_DIV); }
static jt_status prelu_kernel(const jt_kernel_args *a) { return bin_run(a, OP_PRELU); }
static jt_status max_kernel(const jt_kernel_args *a) { return variadic_run(a, OP_MAX); }
static jt_status min_kernel(const jt_kernel_args *a) { return variadic_run(a, OP_MIN); }

static void variadic_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    ew_cost_per_elem(a, a->n_in > 1 ? a->n_in - 1 : 0, flops, bytes);
}

/* ---- descriptors ---- */

#define ARITH_IMPL(name, kern)                                                                     \
    const jt_op_impl jt_impl_##name = {                                                            \
        .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,                                      \
        .infer = arith_infer, .cost = ew_cost_1,                                                   \
        .cpu_f32 = kern, .cpu_f64 = kern, .cpu_other = kern,                                       \
        EW_CUDA(.cuda_f32 = jt_##name##_cuda_f32,)                                                 \
        .type_input = 0, .flags = JT_OP_INPLACE_OK, .vjp = jt_vjp_##name,                          \
    };                                                                                             \
    const jt_op_impl jt_impl_##name##_v6 = {                                                       \
        .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,                                      \
        .attr_size = sizeof(ew_legacy_attrs), .parse = ew_legacy_parse,                            \
        .infer = arith_infer, .cost = ew_cost_1,                                                   \
        .cpu_f32 = kern, .cpu_f64 = kern, .cpu_other = kern,                                       \
        EW_CUDA(.cuda_f32 = jt_##name##_cuda_f32,)                                                 \
        .type_input = 0, .flags = JT_OP_INPLACE_OK,                                                \
    };

ARITH_IMPL(add, add_kernel)
ARITH_IMPL(sub, sub_kernel)
ARITH_IMPL(mul, mul_kernel)
ARITH_IMPL(div, div_kernel)

const jt_op_impl jt_impl_max = {
    .min_in = 1, .max_in = -1, .min_out = 1, .max_out = 1,
    .infer = variadic_infer, .cost = variadic_cost,
    .cpu_f32 = max_kernel, .cpu_f64 = max_kernel, .cpu_other = max_kernel,
    EW_CUDA(.cuda_f32 = jt_max_cuda_f32,)
    .type_input = 0, .flags = JT_OP_INPLACE_OK, .vjp = jt_vjp_max,
};

const jt_op_impl jt_impl_min = {
    .min_in = 1, .max_in = -1, .min_out = 1, .max_out = 1,
    .infer = variadic_infer, .cost = variadic_cost,
    .cpu_f32 = min_kernel, .cpu_f64 = min_kernel, .cpu_other = min_kernel,
    EW_CUDA(.cuda_f32 = jt_min_cuda_f32,)
    .type_input = 0, .flags = JT_OP_INPLACE_OK, .vjp = jt_vjp_min,
};

const jt_op_impl jt_impl_prelu = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = prelu_infer, .cost = ew_cost_1,
    .cpu_f32 = prelu_kernel, .cpu_f64 = prelu_kernel,
    EW_CUDA(.cuda_f32 = jt_prelu_cuda_f32,)
    .type_input = 0, .flags = JT_OP_INPLACE_OK, .vjp = jt_vjp_prelu,
};
