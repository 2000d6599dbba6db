/* Cast between float32, float64, the integer dtypes and bool (opset 1 names the target with a string,
 * 6+ with a TensorProto code). C conversion semantics without saturation, made free of undefined
 * behaviour: float to integer truncates toward zero, NaN/out-of-range gives INT64_MIN's low bits
 * (as x86 does), integer narrowing keeps the low bits, anything to bool is x != 0. */
#include <string.h>

#include "ew_common.h"
#include "ew_grad.h"

typedef struct cast_attrs {
    int64_t to;
} cast_attrs;

/* (dtype code, C type, kind, suffix): kinds F float, I integer, Q uint64, B bool */
#define CAST_TYPES(X)                                                                              \
    X(JT_F32, float, F, f32) X(JT_F64, double, F, f64) X(JT_I8, int8_t, I, i8)                     \
    X(JT_U8, uint8_t, I, u8) X(JT_I16, int16_t, I, i16) X(JT_U16, uint16_t, I, u16)                \
    X(JT_I32, int32_t, I, i32) X(JT_I64, int64_t, I, i64) X(JT_U32, uint32_t, I, u32)              \
    X(JT_U64, uint64_t, Q, u64) X(JT_BOOL, uint8_t, B, b)
#define CAST_TYPES2(X, a, b, c, d)                                                                 \
    X(a, b, c, d, JT_F32, float, F, f32) X(a, b, c, d, JT_F64, double, F, f64)                     \
    X(a, b, c, d, JT_I8, int8_t, I, i8) X(a, b, c, d, JT_U8, uint8_t, I, u8)                       \
    X(a, b, c, d, JT_I16, int16_t, I, i16) X(a, b, c, d, JT_U16, uint16_t, I, u16)                 \
    X(a, b, c, d, JT_I32, int32_t, I, i32) X(a, b, c, d, JT_I64, int64_t, I, i64)                  \
    X(a, b, c, d, JT_U32, uint32_t, I, u32) X(a, b, c, d, JT_U64, uint64_t, Q, u64)                \
    X(a, b, c, d, JT_BOOL, uint8_t, B, b)

/* conversion of one value v to type D, by (source kind, destination kind) */
#define CVT_F_F(D, v) ((D)(v))
#define CVT_F_I(D, v) ((D)ew_f2i64(v))
#define CVT_F_Q(D, v) ((D)ew_f2u64(v))
#define CVT_F_B(D, v) ((D)((v) != 0))
#define CVT_I_F(D, v) ((D)(v))
#define CVT_I_I(D, v) ((D)(v))
#define CVT_I_Q(D, v) ((D)(v))
#define CVT_I_B(D, v) ((D)((v) != 0))
#define CVT_Q_F CVT_I_F
#define CVT_Q_I CVT_I_I
#define CVT_Q_Q CVT_I_Q
#define CVT_Q_B CVT_I_B
#define CVT_B_F CVT_I_F
#define CVT_B_I CVT_I_I
#define CVT_B_Q CVT_I_Q
#define CVT_B_B CVT_I_B

#define DEF_PAIR(SC, ST, SK, SN, DC, DT, DK, DN)                                                   \
    static void cast_##SN##_##DN(const void *c, int64_t lo, int64_t hi) {                          \
        const ew_ptrs *p = c;                                                                      \
        const ST *x = p->in[0];                                                                    \
        DT *y = p->out;                                                                            \
        for (int64_t i = lo; i < hi; i++) y[i] = CVT_##SK##_##DK(DT, x[i]);                        \
    }
#define DEF_SRC(SC, ST, SK, SN) CAST_TYPES2(DEF_PAIR, SC, ST, SK, SN)
CAST_TYPES(DEF_SRC)

static ew_flat_fn cast_fn(jt_dtype s, jt_dtype d) {
#define FIND_PAIR(SC, ST, SK, SN, DC, DT, DK, DN)                                                  \
    if (s == SC && d == DC) return cast_##SN##_##DN;
#define FIND_SRC(SC, ST, SK, SN) CAST_TYPES2(FIND_PAIR, SC, ST, SK, SN)
    CAST_TYPES(FIND_SRC)
    return NULL;
}

static const struct {
    const char *name;
    jt_dtype dt;
} type_names[] = {
    {"FLOAT", JT_F32}, {"DOUBLE", JT_F64}, {"INT8", JT_I8},     {"UINT8", JT_U8},
    {"INT16", JT_I16}, {"UINT16", JT_U16}, {"INT32", JT_I32},   {"INT64", JT_I64},
    {"UINT32", JT_U32}, {"UINT64", JT_U64}, {"BOOL", JT_BOOL}, {"FLOAT16", JT_F16},
    {"STRING", JT_STRING},
};

static jt_status cast_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"to", NULL};
    cast_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    const jt_attr *to = jt_node_attr(n, "to");
    if (!to) return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute 'to' is required");
    if (n->op && n->op->since < 6) { /* opset 1: the type's name */
        const char *s;
        JT_TRY(jt_attr_string(ctx, g, n, "to", "", &s));
        for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
            if (strcmp(s, type_names[i].name) == 0) {
                at->to = type_names[i].dt;
                return JT_OK;
            }
        return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "attribute 'to' names unknown type '%s'",
                            s);
    }
    return jt_attr_int(ctx, g, n, "to", 0, &at->to);
}

static jt_status cast_infer(const jt_infer_args *a) {
    const cast_attrs *at = a->attrs;
    const jt_tensor *x = a->in[0];
    jt_dtype to = (jt_dtype)at->to;
    if (!cast_fn(to, to))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                            "cast to %s (to=%lld) is not supported; supported: float32, float64, "
                            "int8..int64, uint8..uint64, bool",
                            jt_dtype_name(to), (long long)at->to);
    JT_TRY(ew_check_dtype(a, 0, cast_fn(x->dtype, to) != NULL,
                          "float32, float64, an integer dtype or bool"));
    jt_tensor_set_shape(a->out[0], to, x->rank, x->dims);
    return JT_OK;
}

static jt_status cast_kernel(const jt_kernel_args *a) {
    const jt_tensor *x = a->in[0];
    jt_tensor *y = a->out[0];
    if (x->dtype == y->dtype && x->dtype != JT_BOOL) {
        if (x->data != y->data) memmove(y->data, x->data, jt_tensor_nbytes(x));
        return JT_OK;
    }
    ew_ptrs p = {.in = {x->data}, .out = y->data};
    ew_flat_run(a->pool, jt_tensor_numel(x), cast_fn(x->dtype, y->dtype), &p);
    return JT_OK;
}

const jt_op_impl jt_impl_cast = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(cast_attrs), .parse = cast_parse,
    .infer = cast_infer,
    .cpu_f32 = cast_kernel, .cpu_f64 = cast_kernel, .cpu_other = cast_kernel,
    .type_input = 0, .vjp = jt_vjp_cast,
};
