/* MaxPool (1, 8, 10, 11, 12), AveragePool (1, 7, 10, 11), GlobalMaxPool (1), GlobalAveragePool (1).
 * 1-D, 2-D and 3-D windows, normalised to 3 spatial axes; kernels parallel over N*C planes. MaxPool's
 * optional Indices output holds flat offsets into X (row-major, or with storage_order = 1 the spatial
 * axes column-major), as ONNX Runtime writes them. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "conv/window.h"
#include "op.h"
#include "pool.h"
#include "pool_cuda.h"

static jt_status pool_parse_window(jt_ctx *ctx, const jt_graph *g, const jt_node *n, pool_attrs *at) {
    JT_TRY(jt_attr_ints(ctx, g, n, "kernel_shape", at->kernel, 3, &at->n_kernel));
    JT_TRY(jt_attr_ints(ctx, g, n, "strides", at->strides, 3, &at->n_strides));
    JT_TRY(jt_attr_ints(ctx, g, n, "pads", at->pads, 6, &at->n_pads));
    JT_TRY(jt_attr_ints(ctx, g, n, "dilations", at->dil, 3, &at->n_dil));
    JT_TRY(jt_parse_auto_pad(ctx, g, n, &at->auto_pad));
    JT_TRY(jt_attr_int(ctx, g, n, "ceil_mode", 0, &at->ceil_mode));
    if (at->n_kernel == 0)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute 'kernel_shape' is required");
    for (int i = 0; i < at->n_kernel; i++)
        if (at->kernel[i] < 1 || (at->n_strides && at->strides[i] < 1) || (at->n_dil && at->dil[i] < 1))
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL,
                                "axis %d: kernel_shape, strides and dilations must be >= 1", i);
    return JT_OK;
}

jt_status jt_maxpool_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                                        "storage_order", "strides", NULL};
    pool_attrs *at = attrs;
    memset(at, 0, sizeof *at);
    at->kind = POOL_MAX;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_int(ctx, g, n, "storage_order", 0, &at->storage_order));
    return pool_parse_window(ctx, g, n, at);
}

jt_status jt_avgpool_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape",
                                        "pads", "strides", NULL};
    pool_attrs *at = attrs;
    memset(at, 0, sizeof *at);
    at->kind = POOL_AVG;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_int(ctx, g, n, "count_include_pad", 0, &at->count_include_pad));
    return pool_parse_window(ctx, g, n, at);
}

jt_status jt_gmax_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    pool_attrs *at = attrs;
    memset(at, 0, sizeof *at);
    at->kind = POOL_GMAX;
    return jt_attrs_check_known(ctx, g, n, NULL);
}

jt_status jt_gavg_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    pool_attrs *at = attrs;
    memset(at, 0, sizeof *at);
    at->kind = POOL_GAVG;
    return jt_attrs_check_known(ctx, g, n, NULL);
}

jt_status jt_pool_geom_make(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const pool_attrs *at,
                                const jt_tensor *x, pool_geom *geo) {
    char sx[128];
    int r = x->rank, nsp = r - 2;
    memset(geo, 0, sizeof *geo);
    if (r < 3 || r > 5)
        return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "input X has shape %s, expected rank 3, 4 or 5 (N, C, spatial...)",
                            jt_dims_str(x->dims, r, sx, sizeof sx));
    bool global = at->kind == POOL_GMAX || at->kind == POOL_GAVG;
    if (!global && (at->n_kernel != nsp || (at->n_strides && at->n_strides != nsp) ||
                    (at->n_dil && at->n_dil != nsp) || (at->n_pads && at->n_pads != 2 * nsp)))
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL,
                            "X %s has %d spatial axes but kernel_shape has %d, strides %d, dilations %d, "
                            "pads %d values (expected %d, %d, %d, %d)",
                            jt_dims_str(x->dims, r, sx, sizeof sx), nsp, at->n_kernel, at->n_strides,
                            at->n_dil, at->n_pads, nsp, nsp, nsp, 2 * nsp);
    geo->nsp = nsp;
    geo->N = x->dims[0];
    geo->C = x->dims[1];
    geo->in_sz = geo->out_sz = 1;
    for (int a = 0; a < 3; a++) {
        int i = a - (3 - nsp);
        geo->in[a] = geo->out[a] = geo->k[a] = geo->s[a] = geo->d[a] = 1;
        if (i < 0) continue;
        int64_t in = x->dims[2 + i];
        geo->in[a] = in;
        if (global) {
            geo->k[a] = in;
        } else {
            int64_t pb = at->n_pads ? at->pads[i] : 0, pe = at->n_pads ? at->pads[nsp + i] : 0;
            geo->k[a] = at->kernel[i];
            geo->s[a] = at->n_strides ? at->strides[i] : 1;
            geo->d[a] = at->n_dil ? at->dil[i] : 1;
            geo->out[a] = jt_window_out(at->auto_pad, in, geo->k[a], geo->s[a], geo->d[a],
                                        (int)at->ceil_mode, &pb, &pe);
            geo->pb[a] = pb;
            geo->pe[a] = pe;
            if (geo->out[a] < 1 || pb >= (geo->k[a] - 1) * geo->d[a] + 1 || pe >= (geo->k[a] - 1) * geo->d[a] + 1)
                return jt_node_fail(ctx, g, n, JT_ERR_SHAPE,
                                    "spatial axis %d: input %lld, kernel %lld, stride %lld, pads %lld/%lld: "
                                    "output size %lld (expected >= 1, pads smaller than the window)",
                                    i, (long long)in, (long long)geo->k[a], (long long)geo->s[a],
                                    (long long)pb, (long long)pe, (long long)geo->out[a]);
        }
        geo->in_sz *= geo->in[a];
        geo->out_sz *= geo->out[a];
    }
    return JT_OK;
}

static jt_status pool_infer(const jt_infer_args *a) {
    const pool_attrs *at = a->attrs;
    const jt_tensor *x = a->in[0];
    bool ints_ok = at->kind == POOL_MAX && (x->dtype == JT_U8 || x->dtype == JT_I8);
    if (!jt_dtype_is_float(x->dtype) && !ints_ok)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "X has dtype %s, expected %s",
                            jt_dtype_name(x->dtype),
                            at->kind == POOL_MAX ? "float32, float64, uint8 or int8" : "float32 or float64");
    pool_geom geo;
    JT_TRY(jt_pool_geom_make(a->ctx, a->graph, a->node, at, x, &geo));
    int64_t d[5] = {geo.N, geo.C};
    for (int i = 0; i < geo.nsp; i++) d[2 + i] = geo.out[3 - geo.nsp + i];
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, d);
    if (a->n_out > 1 && a->out[1]) jt_tensor_set_shape(a->out[1], JT_I64, x->rank, d);
    return JT_OK;
}

static void pool_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    pool_geom geo;
    *flops = *bytes = 0;
    if (jt_pool_geom_make(a->ctx, NULL, a->node, a->attrs, a->in[0], &geo) != JT_OK) return;
    *flops = (double)geo.N * geo.C * geo.out_sz * geo.k[0] * geo.k[1] * geo.k[2];
    *bytes = (double)(jt_tensor_nbytes(a->in[0]) + jt_tensor_nbytes(a->out[0]));
}

void jt_pool_axis_range(int64_t off, int64_t s, int64_t limit, int64_t count, int64_t *lo, int64_t *hi) {
    int64_t l = jt_div_ceil(-off, s), h = jt_div_floor(limit - 1 - off, s) + 1;
    if (l < 0) l = 0;
    if (h > count) h = count;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

#define T float
#define SFX f32
#define LOWEST (-INFINITY)
#define IS_FLOAT 1
#include "pool_cpu_tmpl.h"
#undef T
#undef SFX
#undef LOWEST
#undef IS_FLOAT

#define T double
#define SFX f64
#define LOWEST (-INFINITY)
#define IS_FLOAT 1
#include "pool_cpu_tmpl.h"
#undef T
#undef SFX
#undef LOWEST
#undef IS_FLOAT

#define T uint8_t
#define SFX u8
#define LOWEST 0
#define IS_FLOAT 0
#include "pool_cpu_tmpl.h"
#undef T
#undef SFX
#undef LOWEST
#undef IS_FLOAT

#define T int8_t
#define SFX i8
#define LOWEST INT8_MIN
#define IS_FLOAT 0
#include "pool_cpu_tmpl.h"
#undef T
#undef SFX
#undef LOWEST
#undef IS_FLOAT

static jt_status pool_cpu_other(const jt_kernel_args *a) {
    switch (a->in[0]->dtype) {
    case JT_U8: return pool_cpu_u8(a);
    case JT_I8: return pool_cpu_i8(a);
    default:
        return jt_fail(a->ctx, JT_ERR_UNSUPPORTED, "node '%s': pooling has no kernel for dtype %s",
                       a->node->name, jt_dtype_name(a->in[0]->dtype));
    }
}

const jt_op_impl jt_impl_maxpool = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 2,
    .attr_size = sizeof(pool_attrs),
    .parse = jt_maxpool_parse, .infer = pool_infer, .cost = pool_cost,
    .cpu_f32 = pool_cpu_f32, .cpu_f64 = pool_cpu_f64, .cpu_other = pool_cpu_other,
    JT_POOL_CUDA_IMPL
    .type_input = 0,
    .vjp = jt_pool_vjp,
};

const jt_op_impl jt_impl_averagepool = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(pool_attrs),
    .parse = jt_avgpool_parse, .infer = pool_infer, .cost = pool_cost,
    .cpu_f32 = pool_cpu_f32, .cpu_f64 = pool_cpu_f64,
    JT_POOL_CUDA_IMPL
    .type_input = 0,
    .vjp = jt_pool_vjp,
};

const jt_op_impl jt_impl_global_maxpool = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(pool_attrs),
    .parse = jt_gmax_parse, .infer = pool_infer, .cost = pool_cost,
    .cpu_f32 = pool_cpu_f32, .cpu_f64 = pool_cpu_f64,
    JT_POOL_CUDA_IMPL
    .type_input = 0,
    .vjp = jt_pool_vjp,
};

const jt_op_impl jt_impl_global_averagepool = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(pool_attrs),
    .parse = jt_gavg_parse, .infer = pool_infer, .cost = pool_cost,
    .cpu_f32 = pool_cpu_f32, .cpu_f64 = pool_cpu_f64,
    JT_POOL_CUDA_IMPL
    .type_input = 0,
    .vjp = jt_pool_vjp,
};
