/* SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss (opsets 12, 13), their VJP rules and the
 * jatp.grad helper ops of the family:
 *   SoftmaxCrossEntropyLossGrad(dy?, scores, labels, weights?, dlog_prob?) -> dscores
 *   NegativeLogLikelihoodLossGrad(dy, input, target, weight?)              -> dinput
 *   OneHotLike(labels, like)  one-hot of labels along axis 1, like's dtype and shape (no gradient)
 *   ConstLike(c, like)        constant c converted to like's dtype (folded at plan time; no gradient)
 * Labels and weights never receive gradients. See loss.h for the layout and reductions. */
#include "loss.h"

#include <math.h>
#include <string.h>

#include "jatp/builder.h"
#ifdef JT_HAVE_CUDA
#include "loss_cuda.h"
#endif

#define LCAT_(a, b) a##b
#define LCAT(a, b) LCAT_(a, b)

#define T float
#define S f32
#include "loss_tmpl.h"
#undef T
#undef S
#define T double
#define S f64
#include "loss_tmpl.h"
#undef T
#undef S

/* ---- attributes and shape checks ---- */

jt_status jt_loss_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"reduction", "ignore_index", NULL};
    loss_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    const char *red;
    JT_TRY(jt_attr_string(ctx, g, n, "reduction", "mean", &red));
    if (strcmp(red, "none") == 0) at->reduction = LOSS_NONE;
    else if (strcmp(red, "sum") == 0) at->reduction = LOSS_SUM;
    else if (strcmp(red, "mean") == 0) at->reduction = LOSS_MEAN;
    else
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL,
                            "attribute 'reduction' is '%s', expected 'none', 'sum' or 'mean'", red);
    at->has_ii = jt_node_attr(n, "ignore_index") != NULL;
    return jt_attr_int(ctx, g, n, "ignore_index", 0, &at->ii);
}

jt_status jt_loss_check(const jt_infer_args *a, const jt_tensor *x, const jt_tensor *labels,
                        const jt_tensor *weights, const char *what) {
    char s1[128], s2[128];
    if (x->dtype != JT_F32 && x->dtype != JT_F64)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "%s has dtype %s, expected float32 or float64",
                            what, jt_dtype_name(x->dtype));
    if (x->rank < 2 || x->dims[1] < 1)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "%s has shape %s, expected [N, C, d1..dk] with C >= 1", what,
                            jt_dims_str(x->dims, x->rank, s1, sizeof s1));
    if (labels->dtype != JT_I64 && labels->dtype != JT_I32)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "labels have dtype %s, expected int64 or int32",
                            jt_dtype_name(labels->dtype));
    int ok = labels->rank == x->rank - 1 && labels->dims[0] == x->dims[0];
    for (int i = 1; ok && i < labels->rank; i++) ok = labels->dims[i] == x->dims[i + 1];
    if (!ok)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "labels have shape %s, expected the shape of %s without axis 1 (%s is %s)",
                            jt_dims_str(labels->dims, labels->rank, s1, sizeof s1), what, what,
                            jt_dims_str(x->dims, x->rank, s2, sizeof s2));
    if (weights && (weights->dtype != x->dtype || weights->rank != 1 || weights->dims[0] != x->dims[1]))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "weights are %s %s, expected %s [%lld]",
                            jt_dtype_name(weights->dtype), jt_dims_str(weights->dims, weights->rank, s1, sizeof s1),
                            jt_dtype_name(x->dtype), (long long)x->dims[1]);
    return JT_OK;
}

static jt_status loss_infer(const jt_infer_args *a) {
    const loss_attrs *at = a->attrs;
    const jt_tensor *x = a->in[0], *labels = a->in[1], *w = a->n_in > 2 ? a->in[2] : NULL;
    JT_TRY(jt_loss_check(a, x, labels, w, strcmp(a->node->op_type, "NegativeLogLikelihoodLoss") == 0 ? "input" : "scores"));
    if (at->reduction == LOSS_NONE) jt_tensor_set_shape(a->out[0], x->dtype, labels->rank, labels->dims);
    else jt_tensor_set_shape(a->out[0], x->dtype, 0, NULL);
    if (a->n_out > 1 && a->out[1]) jt_tensor_set_shape(a->out[1], x->dtype, x->rank, x->dims);
    return JT_OK;
}

static jt_status sce_f32(const jt_kernel_args *a) { return loss_fwd_f32(a, 1); }
static jt_status sce_f64(const jt_kernel_args *a) { return loss_fwd_f64(a, 1); }
static jt_status nll_f32(const jt_kernel_args *a) { return loss_fwd_f32(a, 0); }
static jt_status nll_f64(const jt_kernel_args *a) { return loss_fwd_f64(a, 0); }

static void loss_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    *flops = 6.0 * (double)jt_tensor_numel(a->in[0]);
    *bytes = (double)jt_tensor_nbytes(a->in[0]) + (double)jt_tensor_nbytes(a->in[1]) +
             (double)jt_tensor_nbytes(a->out[0]);
}

/* ---- VJP rules ---- */

void jt_loss_attrs_to_builder(jt_gb *b, const loss_attrs *at) {
    static const char *const names[] = {"none", "sum", "mean"};
    jt_gb_attr_string(b, "reduction", names[at->reduction]);
    if (at->has_ii) jt_gb_attr_int(b, "ignore_index", at->ii);
}

static jt_status sce_vjp(jt_vjp_args *v) {
    if (!v->need[0]) return JT_OK;
    int32_t dlp = v->n_out > 1 && v->out[1] >= 0 ? v->dy[1] : -1;
    if (v->dy[0] < 0 && dlp < 0) return JT_OK;
    jt_loss_attrs_to_builder(v->b, v->attrs);
    int32_t ins[5] = {v->dy[0], v->in[0], v->in[1], v->n_in > 2 ? v->in[2] : -1, dlp};
    v->dx[0] = jt_gb_op(v->b, "SoftmaxCrossEntropyLossGrad", JT_DOMAIN_GRAD, NULL, ins, 5);
    return jt_gb_status(v->b);
}

static jt_status nll_vjp(jt_vjp_args *v) {
    if (!v->need[0] || v->dy[0] < 0) return JT_OK;
    jt_loss_attrs_to_builder(v->b, v->attrs);
    int32_t ins[4] = {v->dy[0], v->in[0], v->in[1], v->n_in > 2 ? v->in[2] : -1};
    v->dx[0] = jt_gb_op(v->b, "NegativeLogLikelihoodLossGrad", JT_DOMAIN_GRAD, NULL, ins, 4);
    return jt_gb_status(v->b);
}

const jt_op_impl jt_impl_softmax_cross_entropy_loss = {
    .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 2,
    .attr_size = sizeof(loss_attrs), .parse = jt_loss_parse, .infer = loss_infer, .cost = loss_cost,
    .cpu_f32 = sce_f32, .cpu_f64 = sce_f64, .type_input = 0,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_sce_cuda_f32, .cuda_workspace = jt_loss_cuda_workspace,
#endif
    .vjp = sce_vjp, .no_grad_mask = (1u << 1) | (1u << 2),
};

const jt_op_impl jt_impl_nll_loss = {
    .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(loss_attrs), .parse = jt_loss_parse, .infer = loss_infer, .cost = loss_cost,
    .cpu_f32 = nll_f32, .cpu_f64 = nll_f64, .type_input = 0,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_nll_cuda_f32, .cuda_workspace = jt_loss_cuda_workspace,
#endif
    .vjp = nll_vjp, .no_grad_mask = (1u << 1) | (1u << 2),
};

/* ---- gradient ops ---- */

/* dy: absent, or the forward output's shape (labels' shape for none, scalar otherwise) */
static jt_status check_dy(const jt_infer_args *a, const jt_tensor *dy, const jt_tensor *x, const jt_tensor *labels) {
    if (!dy) return JT_OK;
    const loss_attrs *at = a->attrs;
    int ok = dy->dtype == x->dtype &&
             (at->reduction == LOSS_NONE ? jt_dims_equal(dy->dims, dy->rank, labels->dims, labels->rank)
                                         : jt_tensor_numel(dy) == 1);
    if (!ok) {
        char s[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dy is %s %s, expected %s %s", jt_dtype_name(dy->dtype),
                            jt_dims_str(dy->dims, dy->rank, s, sizeof s), jt_dtype_name(x->dtype),
                            at->reduction == LOSS_NONE ? "of the labels' shape" : "scalar");
    }
    return JT_OK;
}

static jt_status sce_grad_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0], *x = a->in[1], *labels = a->in[2];
    const jt_tensor *w = a->n_in > 3 ? a->in[3] : NULL, *dlp = a->n_in > 4 ? a->in[4] : NULL;
    JT_TRY(jt_loss_check(a, x, labels, w, "scores"));
    JT_TRY(check_dy(a, dy, x, labels));
    if (dlp && (dlp->dtype != x->dtype || !jt_dims_equal(dlp->dims, dlp->rank, x->dims, x->rank)))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dlog_prob must have the scores' dtype and shape");
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    return JT_OK;
}

static jt_status nll_grad_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0], *x = a->in[1], *labels = a->in[2], *w = a->n_in > 3 ? a->in[3] : NULL;
    JT_TRY(jt_loss_check(a, x, labels, w, "input"));
    if (!dy) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_ARG, "dy is required");
    JT_TRY(check_dy(a, dy, x, labels));
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    return JT_OK;
}

const jt_op_impl jt_impl_sce_grad = {
    .min_in = 3, .max_in = 5, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(loss_attrs), .parse = jt_loss_parse, .infer = sce_grad_infer,
    .cpu_f32 = sce_grad_f32, .cpu_f64 = sce_grad_f64, .type_input = 1,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_sce_grad_cuda_f32, .cuda_workspace = jt_loss_grad_cuda_workspace,
#endif
    .no_grad_mask = (1u << 2) | (1u << 3),
};

const jt_op_impl jt_impl_nll_grad = {
    .min_in = 3, .max_in = 4, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(loss_attrs), .parse = jt_loss_parse, .infer = nll_grad_infer,
    .cpu_f32 = nll_grad_f32, .cpu_f64 = nll_grad_f64, .type_input = 1,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_nll_grad_cuda_f32, .cuda_workspace = jt_loss_grad_cuda_workspace,
#endif
    .no_grad_mask = (1u << 1) | (1u << 2) | (1u << 3),
};

/* ---- OneHotLike, ConstLike ---- */

static jt_status one_hot_infer(const jt_infer_args *a) {
    const jt_tensor *labels = a->in[0], *like = a->in[1];
    JT_TRY(jt_loss_check(a, like, labels, NULL, "like"));
    jt_tensor_set_shape(a->out[0], like->dtype, like->rank, like->dims);
    return JT_OK;
}

static jt_status const_like_infer(const jt_infer_args *a) {
    const jt_tensor *c = a->in[0], *like = a->in[1];
    if (!jt_dtype_is_float(like->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "like has dtype %s, expected float32 or float64",
                            jt_dtype_name(like->dtype));
    if (!c->data)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_ARG, "input c must be a constant");
    jt_tensor_set_shape(a->out[0], like->dtype, c->rank, c->dims);
    return JT_OK;
}

const jt_op_impl jt_impl_one_hot_like = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .infer = one_hot_infer,
    .cpu_f32 = one_hot_f32, .cpu_f64 = one_hot_f64, .type_input = 1,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_one_hot_like_cuda_f32,
#endif
    .no_grad_mask = 3u,
};

const jt_op_impl jt_impl_const_like = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .infer = const_like_infer,
    .cpu_f32 = const_like_f32, .cpu_f64 = const_like_f64, .type_input = 1, .flags = JT_OP_SHAPE_ONLY,
    .no_grad_mask = 3u, .const_mask = 1u,
};
