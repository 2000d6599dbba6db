/* ReduceSum, ReduceMean, ReduceMax over float32/float64 (and int32/int64). `axes` is an attribute
 * (ReduceSum 1-11, ReduceMean/ReduceMax 1-13) or an optional second input (ReduceSum 13, ReduceMean
 * and ReduceMax 18) that must be constant at plan time; with it comes noop_with_empty_axes. Empty
 * axes reduce everything unless noop_with_empty_axes = 1 (then the op is an identity). keepdims
 * defaults to 1. float32 sums accumulate in float64.
 *
 * After dropping size-1 axes and merging neighbours, the input is one of three layouts:
 * rows [outer, R] (reduced axes innermost), columns [outer, R, inner] (vectorised over inner), or
 * the general strided walk. Work units have a size fixed by the problem, never by the thread count. */
#include <math.h>
#include <string.h>

#include "elementwise/elementwise_math.h"
#include "reduce.h"
#include "reduce_cuda.h"

#define EW_CAT_(a, b) a##b
#define EW_CAT(a, b) EW_CAT_(a, b)
#define RED_BLOCK 256
#define RED_TASK_ELEMS 16384

enum { RK_SUM, RK_MEAN, RK_MAX };
enum { RL_ROWS, RL_COLS, RL_GENERAL };

typedef struct red_shape {
    int nk, nr;
    int64_t kdims[JT_MAX_RANK], kst[JT_MAX_RANK]; /* kept axes: sizes and input strides */
    int64_t rdims[JT_MAX_RANK], rst[JT_MAX_RANK]; /* reduced axes */
} red_shape;

typedef struct red_job {
    const void *x;
    void *y;
    int kind, layout;
    int64_t R, inner, blocks, units, per_task;
    red_shape g;
} red_job;

#define R_MAXI(a, b) ((a) > (b) ? (a) : (b))
#define R_ADDF(a, b) ((a) + (b))
#define R_ADDI(a, b) ((int64_t)((uint64_t)(a) + (uint64_t)(b)))

#define T float
#define S f32
#define ACC double
#define R_ADD R_ADDF
#define R_MAX(a, b) EW_CAT(ew_max_, S)(a, b) /* NaN-propagating: elementwise_math.h, as on CUDA */
#define R_LOWEST (-INFINITY)
#define R_EMPTY_MEAN NAN
#include "reduce_tmpl.h"
#undef T
#undef S
#define T double
#define S f64
#include "reduce_tmpl.h"
#undef T
#undef S
#undef ACC
#undef R_ADD
#undef R_MAX
#undef R_LOWEST
#undef R_EMPTY_MEAN
#define R_EMPTY_MEAN 0
#define ACC int64_t
#define R_ADD R_ADDI
#define R_MAX R_MAXI
#define T int32_t
#define S i32
#define R_LOWEST INT32_MIN
#include "reduce_tmpl.h"
#undef T
#undef S
#undef R_LOWEST
#define T int64_t
#define S i64
#define R_LOWEST INT64_MIN
#include "reduce_tmpl.h"
#undef T
#undef S
#undef R_LOWEST
#undef ACC
#undef R_ADD
#undef R_MAX
#undef R_EMPTY_MEAN

static jt_status parse_common(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs,
                              int axes_input) {
    static const char *const known_attr[] = {"axes", "keepdims", NULL};
    static const char *const known_input[] = {"keepdims", "noop_with_empty_axes", NULL};
    reduce_attrs *at = attrs;
    memset(at, 0, sizeof *at);
    at->axes_input = axes_input;
    JT_TRY(jt_attrs_check_known(ctx, g, n, axes_input ? known_input : known_attr));
    JT_TRY(jt_attr_int(ctx, g, n, "keepdims", 1, &at->keepdims));
    if (axes_input)
        return jt_attr_int(ctx, g, n, "noop_with_empty_axes", 0, &at->noop_with_empty_axes);
    return jt_attr_ints(ctx, g, n, "axes", at->axes, JT_MAX_RANK, &at->n_axes);
}
static jt_status parse_attr_axes(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    return parse_common(ctx, g, n, attrs, 0);
}
static jt_status parse_input_axes(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    return parse_common(ctx, g, n, attrs, 1);
}

/* Reduced-axis mask from the attribute or the axes input; *noop when nothing is to be done. */
static jt_status resolve_axes(jt_ctx *ctx, const jt_graph *g, const jt_node *n,
                              const reduce_attrs *at, const jt_tensor *x, const jt_tensor *axes,
                              bool *mask, bool *noop) {
    int64_t list[JT_MAX_RANK];
    int count = 0;
    *noop = false;
    if (at->axes_input) {
        if (axes && jt_tensor_numel(axes) > 0) {
            if (axes->dtype != JT_I64 && axes->dtype != JT_I32)
                return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL,
                                    "input 1 (axes) has dtype %s, expected int64",
                                    jt_dtype_name(axes->dtype));
            if (!axes->data)
                return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED,
                                    "input 1 (axes) must be known at plan time (an initializer "
                                    "or a constant expression)");
            if (axes->rank != 1 || jt_tensor_numel(axes) > JT_MAX_RANK)
                return jt_node_fail(ctx, g, n, JT_ERR_SHAPE,
                                    "input 1 (axes) must be a 1-D tensor of at most %d axes",
                                    JT_MAX_RANK);
            count = (int)jt_tensor_numel(axes);
            for (int i = 0; i < count; i++) list[i] = jt_tensor_get_i64(axes, i);
        }
        if (count == 0 && at->noop_with_empty_axes) *noop = true;
    } else {
        count = at->n_axes;
        memcpy(list, at->axes, sizeof(int64_t) * (size_t)count);
    }
    for (int i = 0; i < x->rank; i++) mask[i] = count == 0;
    for (int i = 0; i < count; i++) {
        int ax;
        JT_TRY(jt_norm_axis(ctx, g, n, list[i], x->rank, &ax));
        if (mask[ax])
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "axis %lld is listed twice",
                                (long long)list[i]);
        mask[ax] = true;
    }
    return JT_OK;
}

jt_status jt_reduce_axes(const jt_kernel_args *a, bool *mask, bool *noop) {
    return resolve_axes(a->ctx, NULL, a->node, a->attrs, a->in[0], a->n_in > 1 ? a->in[1] : NULL, mask, noop);
}

static jt_status reduce_infer(const jt_infer_args *a) {
    const jt_tensor *x = a->in[0];
    const reduce_attrs *at = a->attrs;
    if (x->dtype != JT_F32 && x->dtype != JT_F64 && x->dtype != JT_I32 && x->dtype != JT_I64)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                            "input 0 has dtype %s, expected float32, float64, int32 or int64",
                            jt_dtype_name(x->dtype));
    bool mask[JT_MAX_RANK], noop;
    JT_TRY(resolve_axes(a->ctx, a->graph, a->node, at, x, a->n_in > 1 ? a->in[1] : NULL, mask,
                        &noop));
    int64_t d[JT_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (noop || !mask[i])
            d[r++] = x->dims[i];
        else if (at->keepdims)
            d[r++] = 1;
    }
    jt_tensor_set_shape(a->out[0], x->dtype, r, d);
    return JT_OK;
}

/* Plans the layout of a reduction of x over mask into jb (x, y, kind set by the caller). */
static void plan_layout(red_job *jb, const jt_tensor *x, const bool *mask) {
    int64_t sz[JT_MAX_RANK], st[JT_MAX_RANK];
    bool red[JT_MAX_RANK];
    int m = 0;
    int64_t stride = 1, full_st[JT_MAX_RANK];
    for (int i = x->rank - 1; i >= 0; i--) {
        full_st[i] = stride;
        stride *= x->dims[i];
    }
    for (int i = 0; i < x->rank; i++) {
        if (x->dims[i] == 1) continue;
        if (m > 0 && red[m - 1] == mask[i]) { /* contiguous with the previous: merge */
            sz[m - 1] *= x->dims[i];
            st[m - 1] = full_st[i];
            continue;
        }
        sz[m] = x->dims[i];
        st[m] = full_st[i];
        red[m] = mask[i];
        m++;
    }
    int nred = 0, first_red = -1;
    for (int i = 0; i < m; i++)
        if (red[i]) {
            nred++;
            if (first_red < 0) first_red = i;
        }
    int64_t outer = 1, inner = 1;
    jb->R = 1;
    if (nred == 0) { /* every reduced axis has size 1 */
        for (int i = 0; i < m; i++) outer *= sz[i];
        jb->layout = RL_ROWS;
        jb->units = outer;
    } else if (nred == 1) {
        for (int i = 0; i < first_red; i++) outer *= sz[i];
        for (int i = first_red + 1; i < m; i++) inner *= sz[i];
        jb->R = sz[first_red];
        jb->layout = inner == 1 ? RL_ROWS : RL_COLS;
        jb->inner = inner;
        jb->blocks = (inner + RED_BLOCK - 1) / RED_BLOCK;
        jb->units = inner == 1 ? outer : outer * jb->blocks;
    } else {
        red_shape *g = &jb->g;
        g->nk = g->nr = 0;
        jb->units = 1;
        for (int i = 0; i < m; i++) {
            if (red[i]) {
                g->rdims[g->nr] = sz[i];
                g->rst[g->nr++] = st[i];
                jb->R *= sz[i];
            } else {
                g->kdims[g->nk] = sz[i];
                g->kst[g->nk++] = st[i];
                jb->units *= sz[i];
            }
        }
        jb->layout = RL_GENERAL;
    }
    int64_t unit_elems = jb->R * (jb->layout == RL_COLS ? (inner < RED_BLOCK ? inner : RED_BLOCK) : 1);
    jb->per_task = unit_elems > 0 ? RED_TASK_ELEMS / unit_elems : RED_TASK_ELEMS;
    if (jb->per_task < 1) jb->per_task = 1;
}

static jt_status reduce_run(const jt_kernel_args *a, int kind) {
    const jt_tensor *x = a->in[0];
    jt_tensor *y = a->out[0];
    const reduce_attrs *at = a->attrs;
    bool mask[JT_MAX_RANK], noop;
    JT_TRY(resolve_axes(a->ctx, NULL, a->node, at, x, a->n_in > 1 ? a->in[1] : NULL, mask, &noop));
    if (noop) {
        if (y->data != x->data) memmove(y->data, x->data, jt_tensor_nbytes(x));
        return JT_OK;
    }
    if (jt_tensor_numel(y) == 0) return JT_OK;
    red_job jb = {.x = x->data, .y = y->data, .kind = kind};
    plan_layout(&jb, x, mask);
    jt_task_fn fn = red_task_f32;
    switch (x->dtype) {
    case JT_F64: fn = red_task_f64; break;
    case JT_I32: fn = red_task_i32; break;
    case JT_I64: fn = red_task_i64; break;
    default: break;
    }
    jt_pool_run(a->pool, fn, &jb, (jb.units + jb.per_task - 1) / jb.per_task);
    return JT_OK;
}

static jt_status sum_kernel(const jt_kernel_args *a) { return reduce_run(a, RK_SUM); }
static jt_status mean_kernel(const jt_kernel_args *a) { return reduce_run(a, RK_MEAN); }
static jt_status max_kernel(const jt_kernel_args *a) { return reduce_run(a, RK_MAX); }

static void reduce_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    *flops = (double)jt_tensor_numel(a->in[0]);
    *bytes = (double)(jt_tensor_nbytes(a->in[0]) + jt_tensor_nbytes(a->out[0]));
}

#define RED_IMPL(name, kern, cuda_kern, parse_fn, maxin, vjp_fn)                                         \
    const jt_op_impl jt_impl_##name = {                                                            \
        .min_in = 1, .max_in = maxin, .min_out = 1, .max_out = 1,                                  \
        .attr_size = sizeof(reduce_attrs), .parse = parse_fn,                                      \
        .infer = reduce_infer, .cost = reduce_cost,                                                \
        .cpu_f32 = kern, .cpu_f64 = kern, .cpu_other = kern,                                       \
        RD_CUDA(.cuda_f32 = cuda_kern, .cuda_prepare = jt_reduce_cuda_prepare,                     \
                .cuda_release = jt_reduce_cuda_release, .cuda_workspace = jt_reduce_cuda_workspace,) \
        .type_input = 0, .vjp = vjp_fn, .no_grad_mask = 2u, /* axes */                             \
        .const_mask = maxin > 1 ? 2u : 0u,                                                         \
    };

RED_IMPL(reduce_sum, sum_kernel, jt_reduce_sum_cuda_f32, parse_attr_axes, 1, jt_vjp_reduce_sum)
RED_IMPL(reduce_sum_13, sum_kernel, jt_reduce_sum_cuda_f32, parse_input_axes, 2, jt_vjp_reduce_sum)
RED_IMPL(reduce_mean, mean_kernel, jt_reduce_mean_cuda_f32, parse_attr_axes, 1, jt_vjp_reduce_mean)
RED_IMPL(reduce_mean_18, mean_kernel, jt_reduce_mean_cuda_f32, parse_input_axes, 2, jt_vjp_reduce_mean)
RED_IMPL(reduce_max, max_kernel, jt_reduce_max_cuda_f32, parse_attr_axes, 1, jt_vjp_reduce_max)
RED_IMPL(reduce_max_18, max_kernel, jt_reduce_max_cuda_f32, parse_input_axes, 2, jt_vjp_reduce_max)
