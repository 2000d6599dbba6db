/* Where (3-way numpy broadcast of condition, X, Y; any dtype, moved by element size) and Not (bool). */
#include "ew_common.h"
#include "elementwise_cuda.h"
#include "ew_grad.h"

#define WHERE_DEF(BITS)                                                                            \
    static void where_run_##BITS(const void *c, const int64_t *off, const int64_t *st, int64_t o,  \
                                 int64_t len) {                                                    \
        const ew_ptrs *p = c;                                                                      \
        const uint8_t *cond = (const uint8_t *)p->in[0] + off[0];                                  \
        const uint##BITS##_t *x = (const uint##BITS##_t *)p->in[1] + off[1];                       \
        const uint##BITS##_t *y = (const uint##BITS##_t *)p->in[2] + off[2];                       \
        uint##BITS##_t *z = (uint##BITS##_t *)p->out + o;                                          \
        const int64_t sc = st[0], sx = st[1], sy = st[2];                                          \
        if (sc && sx && sy) {                                                                      \
            for (int64_t i = 0; i < len; i++) z[i] = cond[i] ? x[i] : y[i];                        \
        } else {                                                                                   \
            for (int64_t i = 0; i < len; i++) z[i] = cond[i * sc] ? x[i * sx] : y[i * sy];         \
        }                                                                                          \
    }
WHERE_DEF(8)
WHERE_DEF(16)
WHERE_DEF(32)
WHERE_DEF(64)

static jt_status where_infer(const jt_infer_args *a) {
    JT_TRY(ew_check_dtype(a, 0, a->in[0]->dtype == JT_BOOL, "bool"));
    size_t es = jt_dtype_size(a->in[1]->dtype);
    JT_TRY(ew_check_dtype(a, 1, es == 1 || es == 2 || es == 4 || es == 8,
                          "a numeric or bool dtype"));
    JT_TRY(ew_check_same(a, 1, 2));
    jt_tensor out;
    JT_TRY(ew_broadcast_n(a, 3, a->in, &out));
    jt_tensor_set_shape(a->out[0], a->in[1]->dtype, out.rank, out.dims);
    return JT_OK;
}

static jt_status where_kernel(const jt_kernel_args *a) {
    ew_run_fn fn;
    switch (jt_dtype_size(a->in[1]->dtype)) {
    case 1: fn = where_run_8; break;
    case 2: fn = where_run_16; break;
    case 4: fn = where_run_32; break;
    default: fn = where_run_64; break;
    }
    ew_bcast b;
    ew_bcast_tensors(&b, a->out[0], 3, a->in);
    ew_ptrs p = {.in = {a->in[0]->data, a->in[1]->data, a->in[2]->data}, .out = a->out[0]->data};
    ew_bcast_run(a->pool, &b, fn, &p);
    return JT_OK;
}

const jt_op_impl jt_impl_where = {
    .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .infer = where_infer, .cost = ew_cost_1,
    .cpu_f32 = where_kernel, .cpu_f64 = where_kernel, .cpu_other = where_kernel,
    EW_CUDA(.cuda_f32 = jt_where_cuda_f32,) /* float32 branches (type_input 1) */
    .type_input = 1, .vjp = jt_vjp_where, .no_grad_mask = 1u, /* the condition */
};

static void not_range(const void *c, int64_t lo, int64_t hi) {
    const ew_ptrs *p = c;
    const uint8_t *x = p->in[0];
    uint8_t *y = p->out;
    for (int64_t i = lo; i < hi; i++) y[i] = (uint8_t)!x[i];
}

static jt_status not_infer(const jt_infer_args *a) {
    JT_TRY(ew_check_dtype(a, 0, a->in[0]->dtype == JT_BOOL, "bool"));
    jt_tensor_set_shape(a->out[0], JT_BOOL, a->in[0]->rank, a->in[0]->dims);
    return JT_OK;
}

static jt_status not_kernel(const jt_kernel_args *a) {
    ew_ptrs p = {.in = {a->in[0]->data}, .out = a->out[0]->data};
    ew_flat_run(a->pool, jt_tensor_numel(a->in[0]), not_range, &p);
    return JT_OK;
}

const jt_op_impl jt_impl_not = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = not_infer, .cost = ew_cost_1,
    .cpu_other = not_kernel,
    .type_input = 0, .flags = JT_OP_INPLACE_OK, .no_grad_mask = 1u, /* bool: never on a gradient path */
};
