/* Pow(X, Y): numpy broadcasting (opset 1 legacy broadcast attributes). Output has X's dtype.
 * X: float32/float64 or an integer dtype; Y: any numeric dtype. Same-dtype float pairs run the libm
 * pow directly; mixed pairs go through double (float base) or exact wrapping integer power
 * (integer base and exponent); an integer base with a float exponent truncates pow()'s result. */
#include "elementwise_math.h"
#include "ew_common.h"
#include "elementwise_cuda.h"
#include "ew_grad.h"

#define POW_SAME(T, S)                                                                             \
    static void pow_run_##S(const void *c, const int64_t *off, const int64_t *st, int64_t o,       \
                            int64_t len) {                                                         \
        const ew_ptrs *p = c;                                                                      \
        const T *x = (const T *)p->in[0] + off[0], *y = (const T *)p->in[1] + off[1];              \
        T *z = (T *)p->out + o;                                                                    \
        const int64_t sx = st[0], sy = st[1];                                                      \
        if (sx && !sy && *y == (T)2) {                                                             \
            for (int64_t i = 0; i < len; i++) z[i] = x[i] * x[i];                                  \
        } else if (sx && sy) {                                                                     \
            for (int64_t i = 0; i < len; i++) z[i] = ew_pow_##S(x[i], y[i]);                       \
        } else {                                                                                   \
            for (int64_t i = 0; i < len; i++) z[i] = ew_pow_##S(x[i * sx], y[i * sy]);             \
        }                                                                                          \
    }
POW_SAME(float, f32)
POW_SAME(double, f64)

typedef struct {
    ew_ptrs p;
    jt_dtype xt, yt;
} pow_mixed_ctx;

static void store_i64(void *z, jt_dtype dt, int64_t i, int64_t v) {
    switch (dt) {
    case JT_I8: ((int8_t *)z)[i] = (int8_t)v; break;
    case JT_U8: ((uint8_t *)z)[i] = (uint8_t)v; break;
    case JT_I16: ((int16_t *)z)[i] = (int16_t)v; break;
    case JT_U16: ((uint16_t *)z)[i] = (uint16_t)v; break;
    case JT_I32: ((int32_t *)z)[i] = (int32_t)v; break;
    case JT_U32: ((uint32_t *)z)[i] = (uint32_t)v; break;
    case JT_U64: ((uint64_t *)z)[i] = (uint64_t)v; break;
    default: ((int64_t *)z)[i] = v; break;
    }
}

static void pow_run_mixed(const void *c, const int64_t *off, const int64_t *st, int64_t o,
                          int64_t len) {
    const pow_mixed_ctx *m = c;
    const bool xf = jt_dtype_is_float(m->xt), yf = jt_dtype_is_float(m->yt);
    for (int64_t i = 0; i < len; i++) {
        int64_t ix = off[0] + i * st[0], iy = off[1] + i * st[1];
        if (xf) {
            double v = pow(ew_load_f64(m->p.in[0], m->xt, ix), ew_load_f64(m->p.in[1], m->yt, iy));
            if (m->xt == JT_F32)
                ((float *)m->p.out)[o + i] = (float)v;
            else
                ((double *)m->p.out)[o + i] = v;
        } else if (yf) {
            double v = pow(ew_load_f64(m->p.in[0], m->xt, ix), ew_load_f64(m->p.in[1], m->yt, iy));
            store_i64(m->p.out, m->xt, o + i, ew_f2i64(v));
        } else {
            int64_t v = ew_ipow_i64(ew_load_i64(m->p.in[0], m->xt, ix),
                                    ew_load_i64(m->p.in[1], m->yt, iy));
            store_i64(m->p.out, m->xt, o + i, v);
        }
    }
}

static bool is_legacy(const jt_node *n) { return n->op && n->op->since < 7; }

static jt_status pow_infer(const jt_infer_args *a) {
    const jt_tensor *X = a->in[0], *Y = a->in[1];
    JT_TRY(ew_check_dtype(a, 0, ew_is_numeric(X->dtype), "float32, float64 or an integer dtype"));
    JT_TRY(ew_check_dtype(a, 1, ew_is_numeric(Y->dtype), "float32, float64 or an integer dtype"));
    jt_tensor shape = *Y, out;
    if (is_legacy(a->node))
        JT_TRY(ew_legacy_b_dims(a->ctx, a->graph, a->node, a->attrs, X, Y, &shape.rank,
                                shape.dims));
    JT_TRY(jt_broadcast_dims(a->ctx, a->graph, a->node, X, &shape, &out));
    jt_tensor_set_shape(a->out[0], X->dtype, out.rank, out.dims);
    return JT_OK;
}

static jt_status pow_kernel(const jt_kernel_args *a) {
    const jt_tensor *X = a->in[0], *Y = a->in[1];
    int ranks[2] = {X->rank, Y->rank};
    int64_t ydims[JT_MAX_RANK];
    const int64_t *dims[2] = {X->dims, Y->dims};
    if (is_legacy(a->node)) {
        JT_TRY(ew_legacy_b_dims(a->ctx, NULL, a->node, a->attrs, X, Y, &ranks[1], ydims));
        dims[1] = ydims;
    }
    ew_bcast b;
    ew_bcast_init(&b, a->out[0]->rank, a->out[0]->dims, 2, ranks, dims);
    pow_mixed_ctx m = {.p = {.in = {X->data, Y->data}, .out = a->out[0]->data},
                       .xt = X->dtype, .yt = Y->dtype};
    ew_run_fn fn = pow_run_mixed;
    if (X->dtype == Y->dtype && X->dtype == JT_F32) fn = pow_run_f32;
    if (X->dtype == Y->dtype && X->dtype == JT_F64) fn = pow_run_f64;
    ew_bcast_run(a->pool, &b, fn, &m); /* m.p is m's first member: the same-dtype runs read it */
    return JT_OK;
}

static void pow_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    ew_cost_per_elem(a, 8.0, flops, bytes);
}

const jt_op_impl jt_impl_pow = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = pow_infer, .cost = pow_cost,
    .cpu_f32 = pow_kernel, .cpu_f64 = pow_kernel, .cpu_other = pow_kernel,
    EW_CUDA(.cuda_f32 = jt_pow_cuda_f32,)
    .type_input = 0, .flags = JT_OP_INPLACE_OK, .vjp = jt_vjp_pow,
};

const jt_op_impl jt_impl_pow_v1 = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(ew_legacy_attrs), .parse = ew_legacy_parse,
    .infer = pow_infer, .cost = pow_cost,
    .cpu_f32 = pow_kernel, .cpu_f64 = pow_kernel, .cpu_other = pow_kernel,
    EW_CUDA(.cuda_f32 = jt_pow_cuda_f32,)
    .type_input = 0, .flags = JT_OP_INPLACE_OK,
};
