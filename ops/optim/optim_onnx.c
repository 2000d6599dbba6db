/* ai.onnx.preview.training optimizer ops (since 1), as the ONNX specification defines them:
 *
 *   Momentum(R, T, X1..Xn, G1..Gn, V1..Vn) -> X1_new..Xn_new, V1_new..Vn_new
 *       G' = norm_coefficient*X + G;  V_new = alpha*V + (T > 0 ? beta : 1)*G'
 *       standard: X_new = X - R*V_new;  nesterov: X_new = X - R*(G' + alpha*V_new)
 *   Adagrad(R, T, X.., G.., H..) -> X_new.., H_new..
 *       r = R / (1 + T*decay_factor);  G' = norm_coefficient*X + G;  H_new = H + G'*G'
 *       X_new = X - r*G' / (sqrt(H_new) + epsilon)
 *   Adam(R, T, X.., G.., V.., H..) -> X_new.., V_new.., H_new..
 *       G' = norm_coefficient*X + G;  V_new = alpha*V + (1-alpha)*G';  H_new = beta*H + (1-beta)*G'^2
 *       r = T > 0 ? R*sqrt(1 - beta^T)/(1 - alpha^T) : R
 *       X_new = (1 - norm_coefficient_post) * (X - r*V_new/(sqrt(H_new) + epsilon))
 *
 * R is a float scalar (float or double), T an int64 scalar; the X/G/V/H groups share one float dtype
 * (that of X1, which selects the kernel). Arithmetic is in double per element, rounded once. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "optim.h"
#ifdef JT_HAVE_CUDA
#include "optim_cuda.h"
#endif

static jt_status required_float(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name, double *out) {
    if (!jt_node_attr(n, name))
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "required attribute '%s' is missing", name);
    return jt_attr_float(ctx, g, n, name, 0.0, out);
}

static jt_status momentum_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"alpha", "beta", "mode", "norm_coefficient", NULL};
    momentum_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(required_float(ctx, g, n, "alpha", &at->alpha));
    JT_TRY(required_float(ctx, g, n, "beta", &at->beta));
    JT_TRY(required_float(ctx, g, n, "norm_coefficient", &at->norm_coefficient));
    const char *mode = NULL;
    JT_TRY(jt_attr_string(ctx, g, n, "mode", NULL, &mode));
    if (!mode) return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "required attribute 'mode' is missing");
    if (strcmp(mode, "standard") == 0) at->nesterov = 0;
    else if (strcmp(mode, "nesterov") == 0) at->nesterov = 1;
    else
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute 'mode' is '%s', expected 'standard' or 'nesterov'",
                            mode);
    return JT_OK;
}

static jt_status adagrad_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"decay_factor", "epsilon", "norm_coefficient", NULL};
    adagrad_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_float(ctx, g, n, "decay_factor", 0.0, &at->decay_factor));
    JT_TRY(jt_attr_float(ctx, g, n, "epsilon", 1e-6, &at->epsilon));
    JT_TRY(jt_attr_float(ctx, g, n, "norm_coefficient", 0.0, &at->norm_coefficient));
    return JT_OK;
}

static jt_status adam_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"alpha", "beta", "epsilon", "norm_coefficient", "norm_coefficient_post", NULL};
    adam_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_float(ctx, g, n, "alpha", 0.9, &at->alpha));
    JT_TRY(jt_attr_float(ctx, g, n, "beta", 0.999, &at->beta));
    JT_TRY(jt_attr_float(ctx, g, n, "epsilon", 1e-6, &at->epsilon));
    JT_TRY(jt_attr_float(ctx, g, n, "norm_coefficient", 0.0, &at->norm_coefficient));
    JT_TRY(jt_attr_float(ctx, g, n, "norm_coefficient_post", 0.0, &at->norm_coefficient_post));
    return JT_OK;
}

/* n_state tensors per optimized tensor besides X and G (Momentum/Adagrad 1, Adam 2). */
static jt_status onnx_optim_infer(const jt_infer_args *a, int n_state, const char *const *group_names) {
    int per = 2 + n_state;
    if ((a->n_in - 2) % per != 0 || a->n_in - 2 < per)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                            "has %d inputs, expected R, T and %d groups of n tensors (2 + %d*n)", a->n_in, per, per);
    int n = (a->n_in - 2) / per;
    if (a->n_out != (1 + n_state) * n)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "has %d outputs, expected %d (%d tensors)",
                            a->n_out, (1 + n_state) * n, n);
    JT_TRY(optim_check_scalar(a, 0, "R", 1, 0));
    JT_TRY(optim_check_scalar(a, 1, "T", 0, 0));
    for (int i = 0; i < n; i++) {
        const jt_tensor *x = a->in[2 + i];
        if (!x || !jt_dtype_is_float(x->dtype))
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "X%d is %s, expected float32 or float64",
                                i + 1, x ? jt_dtype_name(x->dtype) : "missing");
        if (x->dtype != a->in[2]->dtype)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "X%d is %s but X1 is %s", i + 1,
                                jt_dtype_name(x->dtype), jt_dtype_name(a->in[2]->dtype));
        for (int k = 1; k < per; k++) {
            char w1[16], w2[16];
            snprintf(w1, sizeof w1, "%s%d", group_names[k], i + 1);
            snprintf(w2, sizeof w2, "X%d", i + 1);
            JT_TRY(optim_check_like(a, 2 + k * n + i, 2 + i, w1, w2));
        }
        for (int k = 0; k <= n_state; k++) {
            jt_tensor *o = a->out[k * n + i];
            if (o) jt_tensor_set_shape(o, x->dtype, x->rank, x->dims);
        }
    }
    return JT_OK;
}

static jt_status momentum_infer(const jt_infer_args *a) {
    static const char *const names[] = {"X", "G", "V"};
    return onnx_optim_infer(a, 1, names);
}

static jt_status adagrad_infer(const jt_infer_args *a) {
    static const char *const names[] = {"X", "G", "H"};
    return onnx_optim_infer(a, 1, names);
}

static jt_status adam_infer(const jt_infer_args *a) {
    static const char *const names[] = {"X", "G", "V", "H"};
    return onnx_optim_infer(a, 2, names);
}

/* One job per optimized tensor: pointers of the group and the scalars. */
typedef struct onnx_job {
    const void *x, *g, *v, *h;
    void *xo, *vo, *ho;
    double r, c1, c2, c3, nc, post; /* op-specific scalars */
    int nesterov;
} onnx_job;

#define DEFINE_ONNX_KERNELS(T, SUF)                                                                        \
    static void momentum_range_##SUF(const void *jp, int64_t lo, int64_t hi) {                             \
        const onnx_job *j = jp;                                                                            \
        const T *x = j->x, *g = j->g, *v = j->v;                                                           \
        T *xo = j->xo, *vo = j->vo;                                                                        \
        for (int64_t i = lo; i < hi; i++) { /* c1 = alpha, c2 = adjusted beta */                            \
            double gr = j->nc * (double)x[i] + (double)g[i];                                               \
            double vn = j->c1 * (double)v[i] + j->c2 * gr;                                                 \
            double xn = j->nesterov ? (double)x[i] - j->r * (gr + j->c1 * vn) : (double)x[i] - j->r * vn;  \
            if (xo) xo[i] = (T)xn;                                                                         \
            if (vo) vo[i] = (T)vn;                                                                         \
        }                                                                                                  \
    }                                                                                                      \
    static void adagrad_range_##SUF(const void *jp, int64_t lo, int64_t hi) {                              \
        const onnx_job *j = jp;                                                                            \
        const T *x = j->x, *g = j->g, *h = j->h;                                                           \
        T *xo = j->xo, *ho = j->ho;                                                                        \
        for (int64_t i = lo; i < hi; i++) { /* r = adjusted rate, c1 = epsilon */                           \
            double gr = j->nc * (double)x[i] + (double)g[i];                                               \
            double hn = (double)h[i] + gr * gr;                                                            \
            if (xo) xo[i] = (T)((double)x[i] - j->r * gr / (sqrt(hn) + j->c1));                            \
            if (ho) ho[i] = (T)hn;                                                                         \
        }                                                                                                  \
    }                                                                                                      \
    static void adam_range_##SUF(const void *jp, int64_t lo, int64_t hi) {                                 \
        const onnx_job *j = jp;                                                                            \
        const T *x = j->x, *g = j->g, *v = j->v, *h = j->h;                                                \
        T *xo = j->xo, *vo = j->vo, *ho = j->ho;                                                           \
        for (int64_t i = lo; i < hi; i++) { /* c1 = alpha, c2 = beta, c3 = epsilon, r = adjusted rate */    \
            double gr = j->nc * (double)x[i] + (double)g[i];                                               \
            double vn = j->c1 * (double)v[i] + (1.0 - j->c1) * gr;                                         \
            double hn = j->c2 * (double)h[i] + (1.0 - j->c2) * (gr * gr);                                  \
            double xn = (1.0 - j->post) * ((double)x[i] - j->r * (vn / (sqrt(hn) + j->c3)));               \
            if (xo) xo[i] = (T)xn;                                                                         \
            if (vo) vo[i] = (T)vn;                                                                         \
            if (ho) ho[i] = (T)hn;                                                                         \
        }                                                                                                  \
    }

DEFINE_ONNX_KERNELS(float, f32)
DEFINE_ONNX_KERNELS(double, f64)

static void *out_data(const jt_kernel_args *a, int i) { return a->out[i] ? a->out[i]->data : NULL; }

static jt_status momentum_kernel(const jt_kernel_args *a) {
    const momentum_attrs *at = a->attrs;
    int n = (a->n_in - 2) / 3;
    int64_t t = jt_tensor_get_i64(a->in[1], 0);
    optim_range_fn fn = a->in[2]->dtype == JT_F32 ? momentum_range_f32 : momentum_range_f64;
    for (int i = 0; i < n; i++) {
        onnx_job j = {.x = a->in[2 + i]->data, .g = a->in[2 + n + i]->data, .v = a->in[2 + 2 * n + i]->data,
                      .xo = out_data(a, i), .vo = out_data(a, n + i), .r = jt_tensor_get_f64(a->in[0], 0),
                      .c1 = at->alpha, .c2 = t > 0 ? at->beta : 1.0, .nc = at->norm_coefficient,
                      .nesterov = at->nesterov};
        optim_par_for(a->pool, fn, &j, jt_tensor_numel(a->in[2 + i]));
    }
    return JT_OK;
}

static jt_status adagrad_kernel(const jt_kernel_args *a) {
    const adagrad_attrs *at = a->attrs;
    int n = (a->n_in - 2) / 3;
    int64_t t = jt_tensor_get_i64(a->in[1], 0);
    double r = jt_tensor_get_f64(a->in[0], 0) / (1.0 + (double)t * at->decay_factor);
    optim_range_fn fn = a->in[2]->dtype == JT_F32 ? adagrad_range_f32 : adagrad_range_f64;
    for (int i = 0; i < n; i++) {
        onnx_job j = {.x = a->in[2 + i]->data, .g = a->in[2 + n + i]->data, .h = a->in[2 + 2 * n + i]->data,
                      .xo = out_data(a, i), .ho = out_data(a, n + i), .r = r, .c1 = at->epsilon,
                      .nc = at->norm_coefficient};
        optim_par_for(a->pool, fn, &j, jt_tensor_numel(a->in[2 + i]));
    }
    return JT_OK;
}

static jt_status adam_kernel(const jt_kernel_args *a) {
    const adam_attrs *at = a->attrs;
    int n = (a->n_in - 2) / 4;
    int64_t t = jt_tensor_get_i64(a->in[1], 0);
    double r = jt_tensor_get_f64(a->in[0], 0);
    if (t > 0) r = r * sqrt(1.0 - pow(at->beta, (double)t)) / (1.0 - pow(at->alpha, (double)t));
    optim_range_fn fn = a->in[2]->dtype == JT_F32 ? adam_range_f32 : adam_range_f64;
    for (int i = 0; i < n; i++) {
        onnx_job j = {.x = a->in[2 + i]->data, .g = a->in[2 + n + i]->data, .v = a->in[2 + 2 * n + i]->data,
                      .h = a->in[2 + 3 * n + i]->data, .xo = out_data(a, i), .vo = out_data(a, n + i),
                      .ho = out_data(a, 2 * n + i), .r = r, .c1 = at->alpha, .c2 = at->beta, .c3 = at->epsilon,
                      .nc = at->norm_coefficient, .post = at->norm_coefficient_post};
        optim_par_for(a->pool, fn, &j, jt_tensor_numel(a->in[2 + i]));
    }
    return JT_OK;
}

const jt_op_impl jt_impl_onnx_momentum = {
    .min_in = 5, .max_in = -1, .min_out = 2, .max_out = -1, .attr_size = sizeof(momentum_attrs),
    .parse = momentum_parse, .infer = momentum_infer, .cpu_f32 = momentum_kernel, .cpu_f64 = momentum_kernel,
    .type_input = 2, .flags = JT_OP_NO_FOLD,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_onnx_momentum_cuda_f32,
#endif
};

const jt_op_impl jt_impl_onnx_adagrad = {
    .min_in = 5, .max_in = -1, .min_out = 2, .max_out = -1, .attr_size = sizeof(adagrad_attrs),
    .parse = adagrad_parse, .infer = adagrad_infer, .cpu_f32 = adagrad_kernel, .cpu_f64 = adagrad_kernel,
    .type_input = 2, .flags = JT_OP_NO_FOLD,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_onnx_adagrad_cuda_f32,
#endif
};

const jt_op_impl jt_impl_onnx_adam = {
    .min_in = 6, .max_in = -1, .min_out = 3, .max_out = -1, .attr_size = sizeof(adam_attrs),
    .parse = adam_parse, .infer = adam_infer, .cpu_f32 = adam_kernel, .cpu_f64 = adam_kernel,
    .type_input = 2, .flags = JT_OP_NO_FOLD,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_onnx_adam_cuda_f32,
#endif
};
