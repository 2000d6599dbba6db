/* Reverse mode of Conv and ConvTranspose: the VJP rule and the jatp.grad ops it emits.
 *
 *   Conv           dX = ConvGradData(dY, W, Shape(X))            col2im(W^T dY)
 *                  dW = ConvGradFilter(dY, X, Shape(W))          sum_n dY im2col(X)^T
 *                  dB = BiasGrad(dY)                             sum over N and spatial axes
 *   ConvTranspose  dX = ConvTransposeGradData(dY, W, Shape(X))   a forward convolution of dY by W
 *                  dW = ConvTransposeGradFilter(dY, X, Shape(W)) the filter gradient, X and dY swapped
 *                  dB = BiasGrad(dY)
 * The grad ops take the forward node's attributes (parsed by the forward parser) and the shape of the
 * input whose gradient they produce as a plan-time constant (Shape folds), so X is kept alive only when
 * dW is wanted. Only the requested gradients are emitted: a frozen W costs nothing. Kernels overwrite
 * their outputs; see conv_cpu_tmpl.h. */
#include <string.h>

#include "conv.h"
#include "conv_cuda.h"
#include "conv_packed.h"
#include "jatp/builder.h"
#include "vjp_util.h"

enum grad_kind { GRAD_DATA, GRAD_FILTER, TGRAD_DATA, TGRAD_FILTER };

static const char *const kind_names[] = {"ConvGradData", "ConvGradFilter", "ConvTransposeGradData",
                                         "ConvTransposeGradFilter"};

jt_status jt_conv_vjp(jt_vjp_args *v) {
    const jt_conv_attrs *at = v->attrs;
    int32_t dy = v->dy[0], x = v->in[0], w = v->in[1];
    if (dy < 0) return JT_OK;
    int t = at->transpose ? 2 : 0;
    if (v->need[0]) v->dx[0] = jt_vjp_grad_op(v, kind_names[t + GRAD_DATA], (int32_t[]){dy, w, jt_vjp_shape_of(v, x)}, 3);
    if (v->need[1])
        v->dx[1] = jt_vjp_grad_op(v, kind_names[t + GRAD_FILTER], (int32_t[]){dy, x, jt_vjp_shape_of(v, w)}, 3);
    if (v->n_in > 2 && v->in[2] >= 0 && v->need[2])
        v->dx[2] = jt_gb_op(v->b, "BiasGrad", JT_DOMAIN_GRAD, NULL, (int32_t[]){dy}, 1);
    return jt_gb_status(v->b);
}

/* ---- grad ops ---- */

static int node_kind(const jt_node *n) {
    for (int k = 0; k < 4; k++)
        if (strcmp(n->op_type, kind_names[k]) == 0) return k;
    return GRAD_DATA;
}

/* The convolution-terms geometry of a grad node. like: the tensor whose shape the output takes (X for
 * the data gradients, W for the filter gradients); other: W or X (input 1). Checks dY's shape. */
static jt_status grad_geom(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const jt_conv_attrs *at, int kind,
                           const jt_tensor *dy, const jt_tensor *other, const jt_tensor *like, jt_conv_geom *geo) {
    bool data = kind == GRAD_DATA || kind == TGRAD_DATA;
    const jt_tensor *x = data ? like : other, *w = data ? other : like;
    jt_conv_geom t;
    JT_TRY(jt_conv_geom_make(ctx, g, n, at, x, w, &t));
    if (kind >= TGRAD_DATA) jt_conv_geom_swap(&t, geo);
    else *geo = t;
    /* dY: [N, M, out...] of the forward op, i.e. the output side for Conv, the input side for ConvTranspose */
    int64_t want[5] = {geo->N, kind >= TGRAD_DATA ? geo->C : geo->M};
    for (int i = 0; i < geo->nsp; i++)
        want[2 + i] = kind >= TGRAD_DATA ? geo->in[3 - geo->nsp + i] : geo->out[3 - geo->nsp + i];
    if (!jt_dims_equal(dy->dims, dy->rank, want, geo->nsp + 2)) {
        char s1[128], s2[128];
        return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "dY has shape %s, expected %s", jt_dims_str(dy->dims, dy->rank, s1, sizeof s1),
                            jt_dims_str(want, geo->nsp + 2, s2, sizeof s2));
    }
    return JT_OK;
}

static jt_status conv_grad_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0], *other = a->in[1], *shp = a->in[2];
    int kind = node_kind(a->node);
    if (!jt_dtype_is_float(dy->dtype) || other->dtype != dy->dtype)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "dY and %s have dtypes %s and %s, expected one float type",
                            kind == GRAD_DATA || kind == TGRAD_DATA ? "W" : "X", jt_dtype_name(dy->dtype),
                            jt_dtype_name(other->dtype));
    if (!shp->data || shp->rank != 1 || (shp->dtype != JT_I64 && shp->dtype != JT_I32) || shp->dims[0] < 3 ||
        shp->dims[0] > 5)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "input 2 must be a shape of rank 3 to 5 known at plan time (int64, 1-D)");
    jt_tensor like = {0};
    like.dtype = dy->dtype;
    like.rank = (int32_t)shp->dims[0];
    for (int i = 0; i < like.rank; i++) like.dims[i] = jt_tensor_get_i64(shp, i);
    jt_conv_geom geo;
    JT_TRY(grad_geom(a->ctx, a->graph, a->node, a->attrs, kind, dy, other, &like, &geo));
    jt_tensor_set_shape(a->out[0], dy->dtype, like.rank, like.dims);
    return JT_OK;
}

/* After infer: the output has the shape of `like`. */
static jt_status kernel_geom(const jt_kernel_args *a, jt_conv_geom *geo) {
    return grad_geom(a->ctx, NULL, a->node, a->attrs, node_kind(a->node), a->in[0], a->in[1], a->out[0], geo);
}

static size_t conv_grad_workspace(const jt_kernel_args *a) {
    jt_conv_geom geo;
    if (kernel_geom(a, &geo) != JT_OK) return 0;
    int kind = node_kind(a->node);
    size_t es = jt_dtype_size(a->in[0]->dtype);
    size_t bytes = (kind == GRAD_DATA ? jt_conv_bwd_data_ws_elems(&geo) : jt_conv_fwd_ws_elems(&geo)) * es, p = 0;
    if (es == 4) { /* float32: the packed-SGEMM paths (conv_packed.h) */
        if (kind == GRAD_DATA && jt_conv_packed_bwd_data_ok(&geo)) p = jt_conv_packed_bwd_data_ws(&geo);
        if (kind == TGRAD_DATA && jt_conv_packed_fwd_ok(&geo)) p = jt_conv_packed_fwd_ws(&geo);
        if ((kind == GRAD_FILTER || kind == TGRAD_FILTER) && jt_conv_packed_bwd_filter_ok(&geo))
            p = jt_conv_packed_bwd_filter_ws(&geo);
    }
    return bytes > p ? bytes : p;
}

static void conv_grad_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    jt_conv_geom geo;
    *flops = *bytes = 0;
    if (kernel_geom(a, &geo) != JT_OK) return;
    *flops = 2.0 * (double)geo.N * geo.M * geo.out_sz * geo.Cg * geo.k_sz;
    *bytes = (double)(jt_tensor_nbytes(a->in[0]) + jt_tensor_nbytes(a->in[1]) + jt_tensor_nbytes(a->out[0]));
}

#define CONV_GRAD_KERNEL(T, S)                                                                               \
    static jt_status conv_grad_##S(const jt_kernel_args *a) {                                               \
        jt_conv_geom geo;                                                                                    \
        JT_TRY(kernel_geom(a, &geo));                                                                        \
        const T *dy = a->in[0]->data, *o = a->in[1]->data;                                                   \
        T *out = a->out[0]->data;                                                                            \
        switch (node_kind(a->node)) {                                                                        \
        case GRAD_DATA: return jt_conv_bwd_data_##S(a->ctx, a->pool, &geo, dy, o, NULL, out, a->ws);        \
        case GRAD_FILTER: return jt_conv_bwd_filter_##S(a->ctx, a->pool, &geo, dy, o, out, a->ws);         \
        case TGRAD_DATA: return jt_conv_fwd_##S(a->ctx, a->pool, &geo, dy, o, NULL, out, a->ws);            \
        default: return jt_conv_bwd_filter_##S(a->ctx, a->pool, &geo, o, dy, out, a->ws);                   \
        }                                                                                                    \
    }
CONV_GRAD_KERNEL(float, f32)
CONV_GRAD_KERNEL(double, f64)

#define CONV_GRAD_IMPL(name, parser)                                                                         \
    const jt_op_impl jt_impl_##name = {                                                                      \
        .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1, .attr_size = sizeof(jt_conv_attrs),            \
        .parse = parser, .infer = conv_grad_infer, .workspace = conv_grad_workspace, .cost = conv_grad_cost, \
        .cpu_f32 = conv_grad_f32, .cpu_f64 = conv_grad_f64, .type_input = 0,                                 \
        JT_CONV_CUDA_IMPL                                                                                    \
        .no_grad_mask = 1u << 2, .const_mask = 1u << 2,                                                      \
    };
CONV_GRAD_IMPL(conv_grad_data, jt_conv_parse)
CONV_GRAD_IMPL(conv_grad_filter, jt_conv_parse)
CONV_GRAD_IMPL(conv_transpose_grad_data, jt_convt_parse)
CONV_GRAD_IMPL(conv_transpose_grad_filter, jt_convt_parse)

/* ---- BiasGrad(dY) -> [C]: the sum of dY over every axis but 1 (N and the spatial axes) ---- */

static jt_status bias_grad_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0];
    if (!jt_dtype_is_float(dy->dtype) || dy->rank < 2) {
        char s[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY has dtype %s and shape %s, expected float (N, C, ...)",
                            jt_dtype_name(dy->dtype), jt_dims_str(dy->dims, dy->rank, s, sizeof s));
    }
    jt_tensor_set_shape(a->out[0], dy->dtype, 1, &dy->dims[1]);
    return JT_OK;
}

typedef struct {
    const void *dy;
    void *db;
    int64_t N, C, plane;
} bias_job;

/* One task per channel; sums in double in a fixed order. */
#define BIAS_TASK(T, S)                                                                                      \
    static void bias_task_##S(void *arg, int64_t c) {                                                        \
        const bias_job *j = arg;                                                                             \
        const T *dy = j->dy;                                                                                 \
        double acc = 0;                                                                                      \
        for (int64_t n = 0; n < j->N; n++) {                                                                 \
            const T *p = dy + (n * j->C + c) * j->plane;                                                     \
            for (int64_t i = 0; i < j->plane; i++) acc += p[i];                                              \
        }                                                                                                    \
        ((T *)j->db)[c] = (T)acc;                                                                            \
    }
BIAS_TASK(float, f32)
BIAS_TASK(double, f64)

static jt_status bias_grad_run(const jt_kernel_args *a, jt_task_fn fn) {
    const jt_tensor *dy = a->in[0];
    bias_job j = {dy->data, a->out[0]->data, dy->dims[0], dy->dims[1], 1};
    for (int i = 2; i < dy->rank; i++) j.plane *= dy->dims[i];
    jt_pool_run(a->pool, fn, &j, j.C);
    return JT_OK;
}
static jt_status bias_grad_f32(const jt_kernel_args *a) { return bias_grad_run(a, bias_task_f32); }
static jt_status bias_grad_f64(const jt_kernel_args *a) { return bias_grad_run(a, bias_task_f64); }

const jt_op_impl jt_impl_bias_grad = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1, .infer = bias_grad_infer,
    .cpu_f32 = bias_grad_f32, .cpu_f64 = bias_grad_f64, .type_input = 0,
    JT_BIAS_GRAD_CUDA_IMPL
};
