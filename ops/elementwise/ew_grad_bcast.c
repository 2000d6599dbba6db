/* VJP rules of the broadcasting element-wise ops, and their grad ops (domain jatp.grad). Each grad op
 * produces the gradient at the broadcast (output) shape; the rule sums it down with SumTo.
 *   PRelu: PReluGrad(dY, X, slope; wrt=0) = dY where X > 0, else slope * dY              (X's shape)
 *          PReluGrad(dY, X, slope; wrt=1) = 0 where X > 0, else X * dY, then SumTo slope
 *   Pow:   PowGrad(dY, A, B; wrt=0) = dY * B * A^(B-1)   (0 where B = 0)
 *          PowGrad(dY, A, B; wrt=1) = dY * A^B * log A   (0 where A = 0 and B >= 0)  as PyTorch
 *          B may have another numeric dtype for wrt=0 (it is read as float64 then).
 *   Max/Min (variadic): MaxMinGrad(dY, Y, X0..Xn-1; index=i) = dY * [Xi = Y] / #{k : Xk = Y}: the
 *          gradient goes to the selected input; on ties it is split evenly among the tied inputs
 *          (PyTorch's maximum/minimum do the same for two inputs). No input equals a NaN output: 0.
 *   Where: WhereGrad(dY, C; branch=0) = dY where C, else 0 (for X); branch=1: where !C (for Y).
 *          The condition gets no gradient.
 * Loops run over the output in fixed chunks (ew_bcast_run, or the odometer walk of MaxMinGrad). */
#include <math.h>

#include "elementwise_math.h"
#include "ew_common.h"
#include "elementwise_cuda.h"
#include "ew_grad.h"
#include "jatp/builder.h"
#include "autograd/autograd.h"

#define MM_MAX_IN 64 /* the autodiff's limit on inputs of one node */

static int32_t sum_to(jt_vjp_args *v, int32_t g, int32_t like) { return jt_grad_sum_to(v->b, g, like); }

jt_status jt_vjp_prelu(jt_vjp_args *v) {
    int32_t ins[3] = {v->dy[0], v->in[0], v->in[1]};
    if (v->need[0]) {
        jt_gb_attr_int(v->b, "wrt", 0);
        v->dx[0] = jt_gb_op(v->b, "PReluGrad", JT_DOMAIN_GRAD, NULL, ins, 3);
    }
    if (v->need[1]) {
        jt_gb_attr_int(v->b, "wrt", 1);
        v->dx[1] = sum_to(v, jt_gb_op(v->b, "PReluGrad", JT_DOMAIN_GRAD, NULL, ins, 3), v->in[1]);
    }
    return jt_gb_status(v->b);
}

jt_status jt_vjp_pow(jt_vjp_args *v) {
    int32_t ins[3] = {v->dy[0], v->in[0], v->in[1]};
    for (int i = 0; i < 2; i++)
        if (v->need[i]) {
            jt_gb_attr_int(v->b, "wrt", i);
            v->dx[i] = sum_to(v, jt_gb_op(v->b, "PowGrad", JT_DOMAIN_GRAD, NULL, ins, 3), v->in[i]);
        }
    return jt_gb_status(v->b);
}

static jt_status vjp_maxmin(jt_vjp_args *v) {
    if (v->n_in > MM_MAX_IN) /* the autodiff never passes more */
        return jt_fail(v->b->ctx, JT_ERR_UNSUPPORTED, "node '%s': more than %d inputs", v->name, MM_MAX_IN);
    int32_t ins[MM_MAX_IN + 2] = {v->dy[0], v->out[0]};
    for (int i = 0; i < v->n_in; i++) ins[2 + i] = v->in[i];
    for (int i = 0; i < v->n_in; i++)
        if (v->need[i]) {
            jt_gb_attr_int(v->b, "index", i);
            int32_t g = jt_gb_op(v->b, "MaxMinGrad", JT_DOMAIN_GRAD, NULL, ins, v->n_in + 2);
            v->dx[i] = sum_to(v, g, v->in[i]);
        }
    return jt_gb_status(v->b);
}
jt_status jt_vjp_max(jt_vjp_args *v) { return vjp_maxmin(v); }
jt_status jt_vjp_min(jt_vjp_args *v) { return vjp_maxmin(v); }

jt_status jt_vjp_where(jt_vjp_args *v) {
    for (int i = 1; i < 3; i++)
        if (v->need[i]) {
            jt_gb_attr_int(v->b, "branch", i - 1);
            int32_t g = jt_gb_op(v->b, "WhereGrad", JT_DOMAIN_GRAD, NULL, (int32_t[]){v->dy[0], v->in[0]}, 2);
            v->dx[i] = sum_to(v, g, v->in[i]);
        }
    return jt_gb_status(v->b);
}

/* ---- shared infer helpers ---- */

static jt_status parse_which(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs, const char *name,
                             int64_t hi) {
    const char *const known[] = {name, NULL};
    which_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_int(ctx, g, n, name, 0, &at->which));
    if (hi >= 0 && (at->which < 0 || at->which > hi))
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute '%s' is %lld, expected 0..%lld", name,
                            (long long)at->which, (long long)hi);
    return JT_OK;
}
static jt_status parse_wrt(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    return parse_which(ctx, g, n, attrs, "wrt", 1);
}
static jt_status parse_branch(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    return parse_which(ctx, g, n, attrs, "branch", 1);
}
static jt_status parse_index(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    return parse_which(ctx, g, n, attrs, "index", -1);
}

/* Fails unless input i broadcasts (numpy, one way) to the shape of t. */
static jt_status check_into(const jt_infer_args *a, int i, const jt_tensor *t) {
    const jt_tensor *x = a->in[i];
    bool ok = x->rank <= t->rank;
    for (int d = 0; ok && d < x->rank; d++) {
        int64_t xd = x->dims[d], td = t->dims[t->rank - x->rank + d];
        if (xd != td && xd != 1) ok = false;
    }
    if (ok) return JT_OK;
    char s1[128], s2[128];
    return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "input %d %s does not broadcast to dY %s", i,
                        jt_dims_str(x->dims, x->rank, s1, sizeof s1), jt_dims_str(t->dims, t->rank, s2, sizeof s2));
}

static jt_status check_float(const jt_infer_args *a, int i, jt_dtype want) {
    jt_dtype dt = a->in[i]->dtype;
    if (jt_dtype_is_float(dt) && (want == JT_UNDEF || dt == want)) return JT_OK;
    return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "input %d has dtype %s, expected %s", i,
                        jt_dtype_name(dt), want == JT_UNDEF ? "float32 or float64" : jt_dtype_name(want));
}

/* ---- PReluGrad(dY, X, slope; wrt) ---- */

typedef struct bg_ctx {
    const void *in[3];
    void *out;
    int64_t which;
    jt_dtype bt; /* PowGrad: B's dtype */
    bool b_same; /* PowGrad: B has A's dtype */
} bg_ctx;

static jt_status prelu_grad_infer(const jt_infer_args *a) {
    JT_TRY(check_float(a, 0, JT_UNDEF));
    JT_TRY(check_float(a, 1, a->in[0]->dtype));
    JT_TRY(check_float(a, 2, a->in[0]->dtype));
    if (!jt_dims_equal(a->in[0]->dims, a->in[0]->rank, a->in[1]->dims, a->in[1]->rank))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY and X differ in shape");
    JT_TRY(check_into(a, 2, a->in[0]));
    jt_tensor_set_shape(a->out[0], a->in[0]->dtype, a->in[0]->rank, a->in[0]->dims);
    return JT_OK;
}

#define PRELU_G(T, S)                                                                                        \
    static void prelu_g_##S(const void *c, const int64_t *off, const int64_t *st, int64_t o, int64_t len) {  \
        const bg_ctx *k = c;                                                                                 \
        const T *dy = (const T *)k->in[0] + off[0], *x = (const T *)k->in[1] + off[1];                       \
        const T *s = (const T *)k->in[2] + off[2];                                                           \
        T *z = (T *)k->out + o;                                                                              \
        const int64_t s0 = st[0], s1 = st[1], s2 = st[2];                                                    \
        if (k->which == 0)                                                                                   \
            for (int64_t i = 0; i < len; i++) z[i] = ew_prelu_grad_x_##S(dy[i * s0], x[i * s1], s[i * s2]);  \
        else                                                                                                 \
            for (int64_t i = 0; i < len; i++) z[i] = ew_prelu_grad_slope_##S(dy[i * s0], x[i * s1]);         \
    }
PRELU_G(float, f32)
PRELU_G(double, f64)

static jt_status prelu_grad_kernel(const jt_kernel_args *a) {
    bg_ctx k = {.in = {a->in[0]->data, a->in[1]->data, a->in[2]->data}, .out = a->out[0]->data,
                .which = ((const which_attrs *)a->attrs)->which};
    ew_bcast b;
    ew_bcast_tensors(&b, a->out[0], 3, a->in);
    ew_bcast_run(a->pool, &b, a->out[0]->dtype == JT_F32 ? prelu_g_f32 : prelu_g_f64, &k);
    return JT_OK;
}

const jt_op_impl jt_impl_prelu_grad = {
    .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(which_attrs), .parse = parse_wrt, .infer = prelu_grad_infer, .cost = ew_cost_1,
    .cpu_f32 = prelu_grad_kernel, .cpu_f64 = prelu_grad_kernel, EW_CUDA(.cuda_f32 = jt_prelu_grad_cuda_f32,) .type_input = 0, .flags = JT_OP_INPLACE_OK,
};

/* ---- PowGrad(dY, A, B; wrt) ---- */

static jt_status pow_grad_infer(const jt_infer_args *a) {
    const which_attrs *at = a->attrs;
    JT_TRY(check_float(a, 0, JT_UNDEF));
    JT_TRY(check_float(a, 1, a->in[0]->dtype));
    if (at->which == 1) JT_TRY(check_float(a, 2, a->in[0]->dtype));
    else if (!ew_is_numeric(a->in[2]->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "exponent has dtype %s, expected numeric",
                            jt_dtype_name(a->in[2]->dtype));
    JT_TRY(check_into(a, 1, a->in[0]));
    JT_TRY(check_into(a, 2, a->in[0]));
    jt_tensor_set_shape(a->out[0], a->in[0]->dtype, a->in[0]->rank, a->in[0]->dims);
    return JT_OK;
}

#define POW_G(T, S)                                                                                          \
    static void pow_g_##S(const void *c, const int64_t *off, const int64_t *st, int64_t o, int64_t len) {    \
        const bg_ctx *k = c;                                                                                 \
        const T *dy = (const T *)k->in[0] + off[0], *x = (const T *)k->in[1] + off[1];                       \
        T *z = (T *)k->out + o;                                                                              \
        for (int64_t i = 0; i < len; i++) {                                                                  \
            int64_t ib = off[2] + i * st[2];                                                                 \
            T av = x[i * st[1]], g = dy[i * st[0]];                                                          \
            T bv = k->b_same ? ((const T *)k->in[2])[ib] : (T)ew_load_f64(k->in[2], k->bt, ib);              \
            if (k->which == 0)                                                                               \
                z[i] = ew_pow_grad_a_##S(g, av, bv);                                                         \
            else                                                                                             \
                z[i] = ew_pow_grad_b_##S(g, av, bv);                                                         \
        }                                                                                                    \
    }
POW_G(float, f32)
POW_G(double, f64)

static jt_status pow_grad_kernel(const jt_kernel_args *a) {
    bg_ctx k = {.in = {a->in[0]->data, a->in[1]->data, a->in[2]->data}, .out = a->out[0]->data,
                .which = ((const which_attrs *)a->attrs)->which, .bt = a->in[2]->dtype,
                .b_same = a->in[2]->dtype == a->in[1]->dtype};
    ew_bcast b;
    ew_bcast_tensors(&b, a->out[0], 3, a->in);
    ew_bcast_run(a->pool, &b, a->out[0]->dtype == JT_F32 ? pow_g_f32 : pow_g_f64, &k);
    return JT_OK;
}

static void pow_grad_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    ew_cost_per_elem(a, 12.0, flops, bytes);
}

const jt_op_impl jt_impl_pow_grad = {
    .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(which_attrs), .parse = parse_wrt, .infer = pow_grad_infer, .cost = pow_grad_cost,
    .cpu_f32 = pow_grad_kernel, .cpu_f64 = pow_grad_kernel, EW_CUDA(.cuda_f32 = jt_pow_grad_cuda_f32,) .type_input = 0, .flags = JT_OP_INPLACE_OK,
};

/* ---- WhereGrad(dY, C; branch) ---- */

static jt_status where_grad_infer(const jt_infer_args *a) {
    JT_TRY(check_float(a, 0, JT_UNDEF));
    if (a->in[1]->dtype != JT_BOOL)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "condition has dtype %s, expected bool",
                            jt_dtype_name(a->in[1]->dtype));
    JT_TRY(check_into(a, 1, a->in[0]));
    jt_tensor_set_shape(a->out[0], a->in[0]->dtype, a->in[0]->rank, a->in[0]->dims);
    return JT_OK;
}

#define WHERE_G(T, S)                                                                                        \
    static void where_g_##S(const void *c, const int64_t *off, const int64_t *st, int64_t o, int64_t len) {  \
        const bg_ctx *k = c;                                                                                 \
        const T *dy = (const T *)k->in[0] + off[0];                                                          \
        const uint8_t *cond = (const uint8_t *)k->in[1] + off[1];                                            \
        T *z = (T *)k->out + o;                                                                              \
        const int want = k->which == 0;                                                                      \
        for (int64_t i = 0; i < len; i++) z[i] = ew_where_grad_##S(dy[i * st[0]], cond[i * st[1]], want);    \
    }
WHERE_G(float, f32)
WHERE_G(double, f64)

static jt_status where_grad_kernel(const jt_kernel_args *a) {
    bg_ctx k = {.in = {a->in[0]->data, a->in[1]->data}, .out = a->out[0]->data,
                .which = ((const which_attrs *)a->attrs)->which};
    ew_bcast b;
    ew_bcast_tensors(&b, a->out[0], 2, a->in);
    ew_bcast_run(a->pool, &b, a->out[0]->dtype == JT_F32 ? where_g_f32 : where_g_f64, &k);
    return JT_OK;
}

const jt_op_impl jt_impl_where_grad = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(which_attrs), .parse = parse_branch, .infer = where_grad_infer, .cost = ew_cost_1,
    .cpu_f32 = where_grad_kernel, .cpu_f64 = where_grad_kernel, EW_CUDA(.cuda_f32 = jt_where_grad_cuda_f32,) .type_input = 0, .flags = JT_OP_INPLACE_OK,
};

/* ---- MaxMinGrad(dY, Y, X0..Xn-1; index) ---- */

typedef struct mm_job {
    int n, index, rank;
    int64_t dims[JT_MAX_RANK], numel;
    int64_t st[MM_MAX_IN][JT_MAX_RANK]; /* element strides of X_k over dY's axes, 0 where broadcast */
    const void *dy, *y, *x[MM_MAX_IN];
    void *dx;
} mm_job;

static jt_status maxmin_grad_infer(const jt_infer_args *a) {
    const which_attrs *at = a->attrs;
    const jt_tensor *dy = a->in[0];
    int n = a->n_in - 2;
    if (n < 1 || n > MM_MAX_IN)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "expected dY, Y and 1..%d inputs, got %d",
                            MM_MAX_IN, n);
    if (at->which < 0 || at->which >= n)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "attribute 'index' is %lld, expected 0..%d",
                            (long long)at->which, n - 1);
    JT_TRY(check_float(a, 0, JT_UNDEF));
    for (int i = 1; i < a->n_in; i++) {
        if (!a->in[i]) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "input %d is missing", i);
        JT_TRY(check_float(a, i, dy->dtype));
        JT_TRY(check_into(a, i, dy));
    }
    if (!jt_dims_equal(dy->dims, dy->rank, a->in[1]->dims, a->in[1]->rank))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY and Y differ in shape");
    jt_tensor_set_shape(a->out[0], dy->dtype, dy->rank, dy->dims);
    return JT_OK;
}

#define MM_G(T, S)                                                                                           \
    static void mm_task_##S(void *arg, int64_t t) {                                                          \
        const mm_job *jb = arg;                                                                              \
        const T *dy = jb->dy, *y = jb->y;                                                                    \
        T *dx = jb->dx;                                                                                      \
        int64_t lo = t * EW_CHUNK, hi = lo + EW_CHUNK < jb->numel ? lo + EW_CHUNK : jb->numel;              \
        int64_t idx[JT_MAX_RANK], off[MM_MAX_IN] = {0}, rem = lo;                                            \
        for (int d = jb->rank - 1; d >= 0; d--) {                                                            \
            idx[d] = rem % jb->dims[d];                                                                      \
            rem /= jb->dims[d];                                                                              \
            for (int k = 0; k < jb->n; k++) off[k] += idx[d] * jb->st[k][d];                                 \
        }                                                                                                    \
        for (int64_t e = lo; e < hi; e++) {                                                                  \
            const T yv = y[e];                                                                               \
            int cnt = 0;                                                                                     \
            for (int k = 0; k < jb->n; k++) cnt += ((const T *)jb->x[k])[off[k]] == yv;                      \
            T g = dy[e];                                                                                     \
            dx[e] = ew_tie_grad_##S(g, ((const T *)jb->x[jb->index])[off[jb->index]] == yv, cnt);            \
            for (int d = jb->rank - 1; d >= 0; d--) {                                                        \
                for (int k = 0; k < jb->n; k++) off[k] += jb->st[k][d];                                      \
                if (++idx[d] < jb->dims[d]) break;                                                           \
                for (int k = 0; k < jb->n; k++) off[k] -= jb->st[k][d] * jb->dims[d];                        \
                idx[d] = 0;                                                                                  \
            }                                                                                                \
        }                                                                                                    \
    }
MM_G(float, f32)
MM_G(double, f64)

static jt_status maxmin_grad_kernel(const jt_kernel_args *a) {
    mm_job jb;
    const jt_tensor *dy = a->in[0];
    jb.n = a->n_in - 2;
    jb.index = (int)((const which_attrs *)a->attrs)->which;
    jb.rank = dy->rank;
    jb.numel = jt_tensor_numel(dy);
    for (int d = 0; d < dy->rank; d++) jb.dims[d] = dy->dims[d];
    for (int k = 0; k < jb.n; k++) {
        const jt_tensor *x = a->in[2 + k];
        int64_t s = 1;
        for (int d = dy->rank - 1; d >= 0; d--) {
            int dk = d - (dy->rank - x->rank);
            int64_t xd = dk >= 0 ? x->dims[dk] : 1;
            jb.st[k][d] = xd == 1 ? 0 : s;
            s *= xd;
        }
        jb.x[k] = x->data;
    }
    jb.dy = dy->data;
    jb.y = a->in[1]->data;
    jb.dx = a->out[0]->data;
    if (jb.numel == 0) return JT_OK;
    jt_pool_run(a->pool, dy->dtype == JT_F32 ? mm_task_f32 : mm_task_f64, &jb, (jb.numel + EW_CHUNK - 1) / EW_CHUNK);
    return JT_OK;
}

static void maxmin_grad_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    ew_cost_per_elem(a, a->n_in, flops, bytes);
}

const jt_op_impl jt_impl_maxmin_grad = {
    .min_in = 3, .max_in = -1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(which_attrs), .parse = parse_index, .infer = maxmin_grad_infer, .cost = maxmin_grad_cost,
    .cpu_f32 = maxmin_grad_kernel, .cpu_f64 = maxmin_grad_kernel, .type_input = 0,
    EW_CUDA(.cuda_f32 = jt_maxmin_grad_cuda_f32, .cuda_workspace = jt_maxmin_grad_cuda_workspace,)
};
