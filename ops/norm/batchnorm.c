/* BatchNormalization (6, 7, 9, 14, 15; 1 is the legacy consumed_inputs form).
 *
 * Inference: y = (x - mean) / sqrt(var + eps) * scale + B per channel (parallel over N*C planes).
 * Training (training_mode = 1 from 14; for 6/7/9 when the running-statistics outputs are requested)
 * normalises with the batch mean and biased batch variance and outputs the running statistics as
 * ONNX defines them: running = input_running * momentum + batch * (1 - momentum) (biased batch
 * variance, as the ONNX reference and its node tests). 6/9 also output saved_mean / saved_var (the
 * batch mean and variance). spatial = 0 (6, 7) treats every (C, D1..Dn) position as a channel.
 * Parameters may have another float dtype than X (opset 15's T1/T2); statistics are in double. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "jatp/builder.h"
#include "op.h"

typedef struct bn_attrs {
    double eps, momentum;
    int64_t spatial, training_mode;
} bn_attrs;

static jt_status bn_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const k6[] = {"epsilon", "is_test", "momentum", "spatial", NULL};
    static const char *const k7[] = {"epsilon", "momentum", "spatial", NULL};
    static const char *const k9[] = {"epsilon", "momentum", NULL};
    static const char *const k14[] = {"epsilon", "momentum", "training_mode", NULL};
    bn_attrs *at = attrs;
    int since = n->op ? n->op->since : 15;
    JT_TRY(jt_attrs_check_known(ctx, g, n, since < 7 ? k6 : since < 9 ? k7 : since < 14 ? k9 : k14));
    JT_TRY(jt_attr_float(ctx, g, n, "epsilon", 1e-5, &at->eps));
    JT_TRY(jt_attr_float(ctx, g, n, "momentum", 0.9, &at->momentum));
    JT_TRY(jt_attr_int(ctx, g, n, "spatial", 1, &at->spatial));
    JT_TRY(jt_attr_int(ctx, g, n, "training_mode", 0, &at->training_mode));
    int64_t is_test;
    JT_TRY(jt_attr_int(ctx, g, n, "is_test", 0, &is_test));
    if (since >= 14 && at->training_mode && n->n_out > 3)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "has %d outputs, expected at most 3",
                            (int)n->n_out);
    if (since < 14) { /* 6/7/9: training when the statistics outputs are present */
        int present = 0;
        for (int i = 1; i < n->n_out; i++) present += n->out[i] >= 0;
        at->training_mode = present > 0 && !is_test;
    }
    if (!at->training_mode) {
        for (int i = 1; i < n->n_out; i++)
            if (n->out[i] >= 0)
                return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL,
                                    "output %d is only produced in training mode", i);
    }
    return JT_OK;
}

/* Channels (spatial = 1: C; spatial = 0: C*D1*..*Dn) and elements per channel per image. */
static void bn_split(int64_t spatial, const jt_tensor *x, int64_t *chan, int64_t *plane) {
    int64_t c = x->rank > 1 ? x->dims[1] : 1, p = 1;
    for (int i = 2; i < x->rank; i++) p *= x->dims[i];
    if (!spatial) {
        c *= p;
        p = 1;
    }
    *chan = c;
    *plane = p;
}

static jt_status bn_infer(const jt_infer_args *a) {
    const bn_attrs *at = a->attrs;
    const jt_tensor *x = a->in[0];
    static const char *const names[] = {"X", "scale", "B", "input_mean", "input_var"};
    if (!jt_dtype_is_float(x->dtype) || x->rank < 2) {
        char s[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "X has dtype %s and shape %s, expected float with rank >= 2 (N, C, ...)",
                            jt_dtype_name(x->dtype), jt_dims_str(x->dims, x->rank, s, sizeof s));
    }
    int64_t chan, plane;
    bn_split(at->spatial, x, &chan, &plane);
    for (int i = 1; i < 5; i++) {
        const jt_tensor *t = a->in[i];
        if (!jt_dtype_is_float(t->dtype) || jt_tensor_numel(t) != chan) {
            char s[128];
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                                "%s has dtype %s and shape %s, expected a float tensor of %lld values "
                                "(channels of X)", names[i], jt_dtype_name(t->dtype),
                                jt_dims_str(t->dims, t->rank, s, sizeof s), (long long)chan);
        }
    }
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    for (int i = 1; i < a->n_out; i++) {
        if (!a->out[i]) continue;
        const jt_tensor *src = a->in[i <= 2 ? 2 + i : i]; /* running mean/var: like input_mean/var */
        jt_tensor_set_shape(a->out[i], src->dtype, src->rank, src->dims);
    }
    return JT_OK;
}

static void bn_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    double n = (double)jt_tensor_numel(a->in[0]);
    const bn_attrs *at = a->attrs;
    *flops = (at->training_mode ? 6.0 : 2.0) * n;
    *bytes = 2.0 * (double)jt_tensor_nbytes(a->in[0]);
}

static void set_f64(jt_tensor *t, int64_t i, double v) {
    if (t->dtype == JT_F32) ((float *)t->data)[i] = (float)v;
    else if (t->dtype == JT_F64) ((double *)t->data)[i] = v;
}

#define T float
#define SFX f32
#include "batchnorm_tmpl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "batchnorm_tmpl.h"
#undef T
#undef SFX

static size_t bn_workspace(const jt_kernel_args *a) {
    int64_t chan, plane;
    bn_split(((const bn_attrs *)a->attrs)->spatial, a->in[0], &chan, &plane);
    return (size_t)chan * 4 * sizeof(double);
}

/* ---- reverse mode ----
 * dX, dscale, dB = BatchNormalizationGrad(dY, X, scale, B, mean, var), emitting only the requested ones
 * (attribute `grads` lists the forward input index of each output). Inference mode differentiates the
 * affine map with the running statistics: dX = dY scale / sqrt(var + eps). Training mode differentiates
 * through the batch statistics (biased variance, recomputed from X):
 *   dX = scale / sqrt(var + eps) (dY - mean(dY) - xhat mean(dY xhat)),
 * dscale = sum(dY xhat), dB = sum(dY) (sums over N and the spatial axes). The running statistics (inputs
 * 3, 4 and outputs 1..4) take no part: inputs 3, 4 are in no_grad_mask and gradients arriving at the
 * statistics outputs are ignored. X is passed only when the kernel reads it. */

typedef struct bn_grad_attrs {
    double eps;
    int64_t spatial, training_mode;
    int n_grads;
    int64_t grads[3];
} bn_grad_attrs;

static jt_status bn_vjp(jt_vjp_args *v) {
    const bn_attrs *at = v->attrs;
    if (v->dy[0] < 0) return JT_OK;
    int64_t grads[3];
    int n = 0;
    for (int i = 0; i < 3; i++)
        if (v->need[i]) grads[n++] = i;
    if (!n) return JT_OK;
    bool need_x = at->training_mode || v->need[1];
    if (at->eps != 1e-5) jt_gb_attr_float(v->b, "epsilon", at->eps);
    if (!at->spatial) jt_gb_attr_int(v->b, "spatial", 0);
    if (at->training_mode) jt_gb_attr_int(v->b, "training_mode", 1);
    jt_gb_attr_ints(v->b, "grads", grads, n);
    int32_t ins[6] = {v->dy[0], need_x ? v->in[0] : -1, v->in[1], v->in[2], v->in[3], v->in[4]}, outs[3];
    jt_gb_node(v->b, "BatchNormalizationGrad", JT_DOMAIN_GRAD, NULL, ins, 6, outs, n);
    for (int i = 0; i < n; i++) v->dx[grads[i]] = outs[i];
    return jt_gb_status(v->b);
}

static jt_status bn_grad_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"epsilon", "spatial", "training_mode", "grads", NULL};
    bn_grad_attrs *at = attrs;
    memset(at, 0, sizeof *at);
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_float(ctx, g, n, "epsilon", 1e-5, &at->eps));
    JT_TRY(jt_attr_int(ctx, g, n, "spatial", 1, &at->spatial));
    JT_TRY(jt_attr_int(ctx, g, n, "training_mode", 0, &at->training_mode));
    JT_TRY(jt_attr_ints(ctx, g, n, "grads", at->grads, 3, &at->n_grads));
    for (int i = 0; i < at->n_grads; i++)
        if (at->grads[i] < 0 || at->grads[i] > 2 || (i > 0 && at->grads[i] <= at->grads[i - 1]))
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "grads must be increasing values in 0..2 (X, scale, B)");
    if (at->n_grads != n->n_out)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "grads lists %d inputs for %d outputs", at->n_grads, n->n_out);
    return JT_OK;
}

static jt_status bn_grad_infer(const jt_infer_args *a) {
    const bn_grad_attrs *at = a->attrs;
    const jt_tensor *dy = a->in[0], *x = a->in[1];
    static const char *const names[] = {"dY", "X", "scale", "B", "input_mean", "input_var"};
    char s1[128], s2[128];
    if (!jt_dtype_is_float(dy->dtype) || dy->rank < 2)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY has dtype %s and shape %s, expected float with rank >= 2",
                            jt_dtype_name(dy->dtype), jt_dims_str(dy->dims, dy->rank, s1, sizeof s1));
    bool need_x = at->training_mode;
    for (int i = 0; i < at->n_grads; i++) need_x |= at->grads[i] == 1;
    if (need_x && !x)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "input X is required for these gradients");
    if (x && (x->dtype != dy->dtype || !jt_dims_equal(x->dims, x->rank, dy->dims, dy->rank)))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "X %s %s and dY %s %s differ", jt_dtype_name(x->dtype),
                            jt_dims_str(x->dims, x->rank, s1, sizeof s1), jt_dtype_name(dy->dtype),
                            jt_dims_str(dy->dims, dy->rank, s2, sizeof s2));
    int64_t chan, plane;
    bn_split(at->spatial, dy, &chan, &plane);
    for (int i = 2; i < 6; i++) {
        const jt_tensor *t = a->in[i];
        if (!t && (i < 4 || !at->training_mode))
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "input %s is required", names[i]);
        if (t && (!jt_dtype_is_float(t->dtype) || jt_tensor_numel(t) != chan))
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "%s has dtype %s and shape %s, expected %lld float values",
                                names[i], jt_dtype_name(t->dtype), jt_dims_str(t->dims, t->rank, s1, sizeof s1),
                                (long long)chan);
    }
    for (int i = 0; i < at->n_grads; i++) {
        const jt_tensor *like = at->grads[i] == 0 ? dy : a->in[1 + at->grads[i]];
        jt_tensor_set_shape(a->out[i], like->dtype, like->rank, like->dims);
    }
    return JT_OK;
}

static size_t bn_grad_workspace(const jt_kernel_args *a) {
    int64_t chan, plane;
    bn_split(((const bn_grad_attrs *)a->attrs)->spatial, a->in[0], &chan, &plane);
    return (size_t)chan * 6 * sizeof(double);
}

static void bn_grad_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    double n = (double)jt_tensor_numel(a->in[0]);
    *flops = 8.0 * n;
    *bytes = 3.0 * (double)jt_tensor_nbytes(a->in[0]);
}

#define T float
#define SFX f32
#include "batchnorm_grad_tmpl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "batchnorm_grad_tmpl.h"
#undef T
#undef SFX

#include "batchnorm_cuda_host.h" /* CUDA kernels (JT_HAVE_CUDA); else empty descriptor fields */

const jt_op_impl jt_impl_batchnorm_grad = {
    .min_in = 6, .max_in = 6, .min_out = 1, .max_out = 3,
    .attr_size = sizeof(bn_grad_attrs),
    .parse = bn_grad_parse,
    .infer = bn_grad_infer,
    .workspace = bn_grad_workspace,
    .cost = bn_grad_cost,
    .cpu_f32 = bn_grad_cpu_f32, .cpu_f64 = bn_grad_cpu_f64,
    BN_GRAD_CUDA_IMPL
    .type_input = 0,
};

const jt_op_impl jt_impl_batchnorm = {
    .min_in = 5, .max_in = 5, .min_out = 1, .max_out = 5,
    .attr_size = sizeof(bn_attrs),
    .parse = bn_parse,
    .infer = bn_infer,
    .workspace = bn_workspace,
    .cost = bn_cost,
    .cpu_f32 = bn_cpu_f32, .cpu_f64 = bn_cpu_f64,
    BN_CUDA_IMPL
    .type_input = 0,
    .vjp = bn_vjp,
    .no_grad_mask = (1u << 3) | (1u << 4),
};
