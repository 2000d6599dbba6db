/* Reverse mode of the pooling ops: the VJP rule and the jatp.grad ops it emits.
 *
 *   MaxPool            dX = MaxPoolGrad(dY, X)                        argmax recomputed per window
 *   GlobalMaxPool      dX = GlobalMaxPoolGrad(dY, X)
 *   AveragePool        dX = AveragePoolGrad(dY, Shape(X))             dY / count over each window
 *   GlobalAveragePool  dX = GlobalAveragePoolGrad(dY, Shape(X))
 * The grad ops take the forward node's attributes (parsed by the forward parser, so auto_pad, pads,
 * ceil_mode and count_include_pad resolve exactly as in the forward). MaxPool's Indices output gets no
 * gradient; the average pools need only X's shape (a plan-time constant), not its data. */
#include <stdbool.h>
#include <string.h>

#include "conv/vjp_util.h"
#include "jatp/builder.h"
#include "pool.h"
#include "pool_cuda.h"

static const char *const grad_names[] = {"MaxPoolGrad", "AveragePoolGrad", "GlobalMaxPoolGrad",
                                         "GlobalAveragePoolGrad"};

jt_status jt_pool_vjp(jt_vjp_args *v) {
    const pool_attrs *at = v->attrs;
    if (v->dy[0] < 0 || !v->need[0]) return JT_OK;
    bool is_max = at->kind == POOL_MAX || at->kind == POOL_GMAX;
    int32_t second = is_max ? v->in[0] : jt_vjp_shape_of(v, v->in[0]);
    v->dx[0] = jt_vjp_grad_op(v, grad_names[at->kind], (int32_t[]){v->dy[0], second}, 2);
    return jt_gb_status(v->b);
}

static jt_status pool_grad_infer(const jt_infer_args *a) {
    const pool_attrs *at = a->attrs;
    const jt_tensor *dy = a->in[0], *in1 = a->in[1];
    bool is_max = at->kind == POOL_MAX || at->kind == POOL_GMAX;
    jt_tensor x = {0};
    if (!jt_dtype_is_float(dy->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "dY has dtype %s, expected float32 or float64",
                            jt_dtype_name(dy->dtype));
    if (is_max) {
        if (in1->dtype != dy->dtype)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "dY and X have dtypes %s and %s",
                                jt_dtype_name(dy->dtype), jt_dtype_name(in1->dtype));
        x = *in1;
        x.data = NULL;
    } else {
        if (!in1->data || in1->rank != 1 || (in1->dtype != JT_I64 && in1->dtype != JT_I32) || in1->dims[0] < 3 ||
            in1->dims[0] > 5)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                                "input 1 must be X's shape (rank 3 to 5) known at plan time (int64, 1-D)");
        x.dtype = dy->dtype;
        x.rank = (int32_t)in1->dims[0];
        for (int i = 0; i < x.rank; i++) x.dims[i] = jt_tensor_get_i64(in1, i);
    }
    pool_geom geo;
    JT_TRY(jt_pool_geom_make(a->ctx, a->graph, a->node, at, &x, &geo));
    int64_t want[5] = {geo.N, geo.C};
    for (int i = 0; i < geo.nsp; i++) want[2 + i] = geo.out[3 - geo.nsp + i];
    if (!jt_dims_equal(dy->dims, dy->rank, want, x.rank)) {
        char s1[128], s2[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY has shape %s, expected %s",
                            jt_dims_str(dy->dims, dy->rank, s1, sizeof s1), jt_dims_str(want, x.rank, s2, sizeof s2));
    }
    jt_tensor_set_shape(a->out[0], dy->dtype, x.rank, x.dims);
    return JT_OK;
}

static void pool_grad_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    pool_geom geo;
    *flops = *bytes = 0;
    if (jt_pool_geom_make(a->ctx, NULL, a->node, a->attrs, a->out[0], &geo) != JT_OK) return;
    *flops = (double)geo.N * geo.C * geo.out_sz * geo.k[0] * geo.k[1] * geo.k[2];
    *bytes = (double)(jt_tensor_nbytes(a->in[0]) + 2 * jt_tensor_nbytes(a->out[0]));
}

#define T float
#define SFX f32
#include "pool_grad_tmpl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "pool_grad_tmpl.h"
#undef T
#undef SFX

#define POOL_GRAD_IMPL(name, parser, mask)                                                                   \
    const jt_op_impl jt_impl_##name = {                                                                      \
        .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .attr_size = sizeof(pool_attrs),               \
        .parse = parser, .infer = pool_grad_infer, .cost = pool_grad_cost,                                   \
        .cpu_f32 = pool_grad_cpu_f32, .cpu_f64 = pool_grad_cpu_f64, .type_input = 0,                         \
        JT_POOL_GRAD_CUDA_IMPL                                                                               \
        .no_grad_mask = 1u << 1, .const_mask = mask,                                                         \
    };
POOL_GRAD_IMPL(maxpool_grad, jt_maxpool_parse, 0)
POOL_GRAD_IMPL(averagepool_grad, jt_avgpool_parse, 1u << 1)
POOL_GRAD_IMPL(global_maxpool_grad, jt_gmax_parse, 0)
POOL_GRAD_IMPL(global_averagepool_grad, jt_gavg_parse, 1u << 1)
