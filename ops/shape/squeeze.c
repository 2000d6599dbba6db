/* Squeeze and Unsqueeze: zero-copy views of input 0 (JT_OP_ALIAS, jt_copy_kernel). Axes are an
 * attribute in versions 1 and 11 (negative axes from 11) and a constant input from 13. Squeeze without
 * axes removes every unit dim. */
#include <string.h>

#include "shape_util.h"
#ifdef JT_HAVE_CUDA
#include "shape_cuda.h"
#endif

typedef struct {
    int n_axes; /* -1: none given */
    int64_t axes[JT_MAX_RANK];
} axes_attrs;

static jt_status axes_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    axes_attrs *p = attrs;
    static const char *const known_attr[] = {"axes", NULL};
    static const char *const known_none[] = {NULL};
    bool v13 = n->op && n->op->since >= 13;
    JT_TRY(jt_attrs_check_known(ctx, g, n, v13 ? known_none : known_attr));
    p->n_axes = -1;
    if (!v13 && jt_node_attr(n, "axes")) {
        JT_TRY(jt_attr_ints(ctx, g, n, "axes", p->axes, JT_MAX_RANK, &p->n_axes));
    }
    return JT_OK;
}

/* Gets the axes (attribute or constant input 1); *n = -1 when absent. */
static jt_status get_axes(const jt_infer_args *a, int64_t *axes, int *n) {
    const axes_attrs *p = a->attrs;
    const jt_tensor *t = jt_in_opt(a->n_in, a->in, 1);
    if (a->node->op && a->node->op->since >= 13) {
        *n = -1;
        if (!t) return JT_OK;
        return jt_read_const_ints(a->ctx, a->graph, a->node, t, "axes", axes, JT_MAX_RANK, n);
    }
    *n = p->n_axes;
    if (p->n_axes > 0) memcpy(axes, p->axes, sizeof(int64_t) * (size_t)p->n_axes);
    return JT_OK;
}

/* Normalises axes to [0, rank) and checks for duplicates; marks them in mark[]. */
static jt_status norm_axes(const jt_infer_args *a, const int64_t *axes, int n, int rank, bool *mark) {
    bool neg_ok = !a->node->op || a->node->op->since >= 11;
    for (int i = 0; i < rank; i++) mark[i] = false;
    for (int i = 0; i < n; i++) {
        if (axes[i] < 0 && !neg_ok)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                                "negative axis %lld is not allowed before opset 11", (long long)axes[i]);
        int ax;
        JT_TRY(jt_norm_axis(a->ctx, a->graph, a->node, axes[i], rank, &ax));
        if (mark[ax])
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "axis %lld is repeated",
                                (long long)axes[i]);
        mark[ax] = true;
    }
    return JT_OK;
}

static jt_status squeeze_infer(const jt_infer_args *a) {
    const jt_tensor *x = a->in[0];
    int64_t axes[JT_MAX_RANK], d[JT_MAX_RANK];
    bool mark[JT_MAX_RANK];
    int n, r = 0;
    JT_TRY(get_axes(a, axes, &n));
    if (n < 0) {
        for (int i = 0; i < x->rank; i++) mark[i] = x->dims[i] == 1;
    } else {
        JT_TRY(norm_axes(a, axes, n, x->rank, mark));
    }
    for (int i = 0; i < x->rank; i++) {
        if (!mark[i]) {
            d[r++] = x->dims[i];
            continue;
        }
        if (x->dims[i] != 1) {
            char s[128];
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                                "cannot squeeze axis %d of input %s: size is %lld, expected 1", i,
                                jt_dims_str(x->dims, x->rank, s, sizeof s), (long long)x->dims[i]);
        }
    }
    jt_tensor_set_shape(a->out[0], x->dtype, r, d);
    return JT_OK;
}

static jt_status unsqueeze_infer(const jt_infer_args *a) {
    const jt_tensor *x = a->in[0];
    int64_t axes[JT_MAX_RANK], d[JT_MAX_RANK];
    bool mark[JT_MAX_RANK];
    int n;
    JT_TRY(get_axes(a, axes, &n));
    if (n < 0)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "axes are required");
    int r = x->rank + n;
    JT_TRY(jt_check_rank(a->ctx, a->graph, a->node, r, "the output"));
    JT_TRY(norm_axes(a, axes, n, r, mark));
    for (int i = 0, k = 0; i < r; i++) d[i] = mark[i] ? 1 : x->dims[k++];
    jt_tensor_set_shape(a->out[0], x->dtype, r, d);
    return JT_OK;
}

const jt_op_impl jt_impl_squeeze = {
    .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(axes_attrs),
    .parse = axes_parse,
    .infer = squeeze_infer,
    .cpu_f32 = jt_copy_kernel, .cpu_f64 = jt_copy_kernel, .cpu_other = jt_copy_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_copy_cuda_f32,
#endif
    .type_input = 0,
    .flags = JT_OP_ALIAS,
    .vjp = jt_vjp_reshape_like, .no_grad_mask = 1u << 1, .const_mask = 1u << 1,
};

const jt_op_impl jt_impl_unsqueeze = {
    .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(axes_attrs),
    .parse = axes_parse,
    .infer = unsqueeze_infer,
    .cpu_f32 = jt_copy_kernel, .cpu_f64 = jt_copy_kernel, .cpu_other = jt_copy_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_copy_cuda_f32,
#endif
    .type_input = 0,
    .flags = JT_OP_ALIAS,
    .vjp = jt_vjp_reshape_like, .no_grad_mask = 1u << 1, .const_mask = 1u << 1,
};
