/* Clip: opset 6 takes min/max attributes (defaults -/+3.402823e38, floats only); opset 11+ takes
 * optional scalar inputs min and max (absent: the dtype's limits, -inf/+inf for floats). Result is
 * min(max(x, lo), hi), so lo > hi gives hi everywhere (as the ONNX spec says). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "elementwise_math.h"
#include "ew_common.h"
#include "elementwise_cuda.h"
#include "ew_grad.h"

typedef struct clip_ctx {
    const void *x;
    void *y;
    uint64_t lo, hi; /* bit patterns of the bounds in the input's dtype */
} clip_ctx;

#define CLIP_DEF(T, S)                                                                             \
    static void clip_run_##S(const void *c, int64_t lo, int64_t hi) {                              \
        const clip_ctx *k = c;                                                                     \
        const T *x = k->x;                                                                         \
        T *y = k->y, vlo, vhi;                                                                     \
        memcpy(&vlo, &k->lo, sizeof(T));                                                           \
        memcpy(&vhi, &k->hi, sizeof(T));                                                           \
        for (int64_t i = lo; i < hi; i++) y[i] = ew_clip_##S(x[i], vlo, vhi);                      \
    }
CLIP_DEF(float, f32)
CLIP_DEF(double, f64)
CLIP_DEF(int8_t, i8)
CLIP_DEF(uint8_t, u8)
CLIP_DEF(int16_t, i16)
CLIP_DEF(uint16_t, u16)
CLIP_DEF(int32_t, i32)
CLIP_DEF(int64_t, i64)
CLIP_DEF(uint32_t, u32)
CLIP_DEF(uint64_t, u64)

static const ew_flat_fn clip_table[EW_NTYPES] = EW_TYPE_TABLE(clip_run_);

/* Writes the dtype's lowest (hi_end = 0) or highest value into *bits. */
static void type_limit(jt_dtype dt, int hi_end, uint64_t *bits) {
    union {
        float f;
        double d;
        int8_t i8;
        uint8_t u8;
        int16_t i16;
        uint16_t u16;
        int32_t i32;
        int64_t i64;
        uint32_t u32;
        uint64_t u64;
    } v;
    memset(&v, 0, sizeof v);
    switch (dt) {
    case JT_F32: v.f = hi_end ? INFINITY : -INFINITY; break;
    case JT_F64: v.d = hi_end ? INFINITY : -INFINITY; break;
    case JT_I8: v.i8 = hi_end ? INT8_MAX : INT8_MIN; break;
    case JT_U8: v.u8 = hi_end ? UINT8_MAX : 0; break;
    case JT_I16: v.i16 = hi_end ? INT16_MAX : INT16_MIN; break;
    case JT_U16: v.u16 = hi_end ? UINT16_MAX : 0; break;
    case JT_I32: v.i32 = hi_end ? INT32_MAX : INT32_MIN; break;
    case JT_I64: v.i64 = hi_end ? INT64_MAX : INT64_MIN; break;
    case JT_U32: v.u32 = hi_end ? UINT32_MAX : 0; break;
    case JT_U64: v.u64 = hi_end ? UINT64_MAX : 0; break;
    default: break;
    }
    memcpy(bits, &v, sizeof *bits);
}

static jt_status clip6_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"min", "max", NULL};
    clip_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_float(ctx, g, n, "min", -FLT_MAX, &at->min));
    return jt_attr_float(ctx, g, n, "max", FLT_MAX, &at->max);
}

static jt_status clip_infer(const jt_infer_args *a) {
    const jt_tensor *x = a->in[0];
    bool v6 = a->node->op->since < 11;
    if (v6)
        JT_TRY(ew_check_dtype(a, 0, x->dtype == JT_F32 || x->dtype == JT_F64,
                              "float32 or float64"));
    else
        JT_TRY(ew_check_dtype(a, 0, ew_is_numeric(x->dtype),
                              "float32, float64 or an integer dtype"));
    for (int i = 1; i < a->n_in; i++) {
        if (!a->in[i]) continue;
        JT_TRY(ew_check_same(a, 0, i));
        if (jt_tensor_numel(a->in[i]) != 1) {
            char s[128];
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                                "input %d (%s) has shape %s, expected a scalar", i,
                                i == 1 ? "min" : "max",
                                jt_dims_str(a->in[i]->dims, a->in[i]->rank, s, sizeof s));
        }
    }
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    return JT_OK;
}

static jt_status clip_kernel(const jt_kernel_args *a) {
    const jt_tensor *x = a->in[0];
    clip_ctx k = {.x = x->data, .y = a->out[0]->data};
    if (a->node->op->since < 11) {
        const clip_attrs *at = a->attrs;
        if (x->dtype == JT_F32) {
            float lo = (float)at->min, hi = (float)at->max;
            memcpy(&k.lo, &lo, sizeof lo);
            memcpy(&k.hi, &hi, sizeof hi);
        } else {
            memcpy(&k.lo, &at->min, sizeof at->min);
            memcpy(&k.hi, &at->max, sizeof at->max);
        }
    } else {
        size_t es = jt_dtype_size(x->dtype);
        if (a->n_in > 1 && a->in[1])
            memcpy(&k.lo, a->in[1]->data, es);
        else
            type_limit(x->dtype, 0, &k.lo);
        if (a->n_in > 2 && a->in[2])
            memcpy(&k.hi, a->in[2]->data, es);
        else
            type_limit(x->dtype, 1, &k.hi);
    }
    ew_flat_run(a->pool, jt_tensor_numel(x), clip_table[ew_type_index(x->dtype)], &k);
    return JT_OK;
}

const jt_op_impl jt_impl_clip_v6 = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(clip_attrs), .parse = clip6_parse,
    .infer = clip_infer, .cost = ew_cost_1,
    .cpu_f32 = clip_kernel, .cpu_f64 = clip_kernel,
    EW_CUDA(.cuda_f32 = jt_clip_cuda_f32,)
    .type_input = 0, .flags = JT_OP_INPLACE_OK, .vjp = jt_vjp_clip_v6,
};

const jt_op_impl jt_impl_clip = {
    .min_in = 1, .max_in = 3, .min_out = 1, .max_out = 1,
    .infer = clip_infer, .cost = ew_cost_1,
    .cpu_f32 = clip_kernel, .cpu_f64 = clip_kernel, .cpu_other = clip_kernel,
    EW_CUDA(.cuda_f32 = jt_clip_cuda_f32,)
    .type_input = 0, .flags = JT_OP_INPLACE_OK, .vjp = jt_vjp_clip, .no_grad_mask = 6u, /* min, max */
};
