/* Equal, Less, Greater with numpy broadcasting (opset 1 legacy broadcast attributes), output bool.
 * Float32/float64 and integer inputs; Equal also compares bools. */
#include "elementwise_cuda.h"
#include "ew_common.h"

#define EW_TMPL "compare_tmpl.h"
#include "ew_foreach_type.h"
#undef EW_TMPL

enum { C_EQ, C_LT, C_GT, N_CMP };

static const ew_run_fn cmp_table[N_CMP][EW_NTYPES] = {
    EW_TYPE_TABLE(cmp_eq_), EW_TYPE_TABLE(cmp_lt_), EW_TYPE_TABLE(cmp_gt_)};

static ew_run_fn cmp_fn(int op, jt_dtype dt) {
    if (dt == JT_BOOL) return op == C_EQ ? cmp_eq_u8 : NULL;
    int ti = ew_type_index(dt);
    return ti < 0 ? NULL : cmp_table[op][ti];
}

static bool is_legacy(const jt_node *n) { return n->op && n->op->since < 7; }

static jt_status cmp_infer(const jt_infer_args *a, int op) {
    const jt_tensor *A = a->in[0], *B = a->in[1];
    JT_TRY(ew_check_dtype(a, 0, cmp_fn(op, A->dtype) != NULL,
                          op == C_EQ ? "float32, float64, an integer dtype or bool"
                                     : "float32, float64 or an integer dtype"));
    JT_TRY(ew_check_same(a, 0, 1));
    jt_tensor shape = *B, out;
    if (is_legacy(a->node))
        JT_TRY(ew_legacy_b_dims(a->ctx, a->graph, a->node, a->attrs, A, B, &shape.rank,
                                shape.dims));
    JT_TRY(jt_broadcast_dims(a->ctx, a->graph, a->node, A, &shape, &out));
    jt_tensor_set_shape(a->out[0], JT_BOOL, out.rank, out.dims);
    return JT_OK;
}

static jt_status cmp_run(const jt_kernel_args *a, int op) {
    const jt_tensor *A = a->in[0], *B = a->in[1];
    int ranks[2] = {A->rank, B->rank};
    int64_t bdims[JT_MAX_RANK];
    const int64_t *dims[2] = {A->dims, B->dims};
    if (is_legacy(a->node)) {
        JT_TRY(ew_legacy_b_dims(a->ctx, NULL, a->node, a->attrs, A, B, &ranks[1], bdims));
        dims[1] = bdims;
    }
    ew_bcast b;
    ew_bcast_init(&b, a->out[0]->rank, a->out[0]->dims, 2, ranks, dims);
    ew_ptrs p = {.in = {A->data, B->data}, .out = a->out[0]->data};
    ew_bcast_run(a->pool, &b, cmp_fn(op, A->dtype), &p);
    return JT_OK;
}

#define CMP_OP(name, OP)                                                                           \
    static jt_status name##_infer(const jt_infer_args *a) { return cmp_infer(a, OP); }             \
    static jt_status name##_kernel(const jt_kernel_args *a) { return cmp_run(a, OP); }             \
    const jt_op_impl jt_impl_##name = {                                                            \
        .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,                                      \
        .infer = name##_infer, .cost = ew_cost_1,                                                  \
        .cpu_f32 = name##_kernel, .cpu_f64 = name##_kernel, .cpu_other = name##_kernel,            \
        EW_CUDA(.cuda_f32 = jt_##name##_cuda_f32,)                                                 \
        .type_input = 0, .no_grad_mask = 3u, /* bool output: no gradient flows back */            \
    };                                                                                             \
    const jt_op_impl jt_impl_##name##_v1 = {                                                       \
        .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,                                      \
        .attr_size = sizeof(ew_legacy_attrs), .parse = ew_legacy_parse,                            \
        .infer = name##_infer, .cost = ew_cost_1,                                                  \
        .cpu_f32 = name##_kernel, .cpu_f64 = name##_kernel, .cpu_other = name##_kernel,            \
        EW_CUDA(.cuda_f32 = jt_##name##_cuda_f32,)                                                 \
        .type_input = 0, .no_grad_mask = 3u, /* bool output: no gradient flows back */            \
    };

CMP_OP(equal, C_EQ)
CMP_OP(less, C_LT)
CMP_OP(greater, C_GT)
