/* PyTorch-semantics optimizer ops (domain "jatp"); lr and step are runtime scalar inputs so that a
 * learning-rate schedule never rebuilds a plan. Element arithmetic follows torch.optim (1.13) op by op
 * in the parameter's dtype, with the host scalars computed in double and rounded to that dtype as
 * PyTorch does for a Python scalar operand.
 *
 *   SGDStep(w, g, v, lr, step) -> (w', v')   torch.optim.SGD
 *       attributes momentum, weight_decay, dampening (default 0), nesterov (int, default 0)
 *       d = g + wd*w                         (when wd != 0)
 *       v' = step <= 1 ? d : v*mu + (1 - dampening)*d     (when mu != 0; PyTorch creates the buffer
 *                                             as a copy of d on the first step)
 *       d = nesterov ? d + mu*v' : v'        (when mu != 0)
 *       w' = w + (-lr)*d
 *     v and v' may be omitted when momentum == 0; step (1-based index of this step, any numeric
 *     dtype) may be omitted, then every step is treated as a later one (identical with a zero buffer
 *     and dampening 0).
 *   AdamStep(w, g, m, v, lr, step) -> (w', m', v')   torch.optim.Adam / AdamW (adamw = 1)
 *       attributes beta1 (0.9), beta2 (0.999), eps (1e-8), weight_decay (0), adamw (0)
 *       Adam: g = g + wd*w (when wd != 0);  AdamW: w = w*(1 - lr*wd)
 *       m' = m*b1 + (1-b1)*g;  v' = v*b2 + (1-b2)*g*g
 *       w' = w + (-lr/(1 - b1^step)) * m' / (sqrt(v')/sqrt(1 - b2^step) + eps)   (step >= 1)
 *   ClipByGlobalNorm(g1..gn, max_norm) -> (g1'..gn', norm)   torch.nn.utils.clip_grad_norm_ (L2)
 *       norm = sqrt(sum of all squares);  gi' = gi * min(1, max_norm/(norm + 1e-6))
 *     the sum of squares is accumulated in double over fixed chunks (thread-count independent). */
#include <math.h>
#include <string.h>

#include "optim.h"
#ifdef JT_HAVE_CUDA
#include "optim_cuda.h"
#endif

static jt_status sgd_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"momentum", "weight_decay", "dampening", "nesterov", NULL};
    sgd_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_float(ctx, g, n, "momentum", 0.0, &at->momentum));
    JT_TRY(jt_attr_float(ctx, g, n, "weight_decay", 0.0, &at->weight_decay));
    JT_TRY(jt_attr_float(ctx, g, n, "dampening", 0.0, &at->dampening));
    JT_TRY(jt_attr_int(ctx, g, n, "nesterov", 0, &at->nesterov));
    if (!(at->momentum >= 0.0) || !(at->weight_decay >= 0.0))
        return jt_node_fail(ctx, g, n, JT_ERR_ARG, "momentum %g and weight_decay %g must be >= 0", at->momentum,
                            at->weight_decay);
    if (at->nesterov && (at->momentum <= 0.0 || at->dampening != 0.0))
        return jt_node_fail(ctx, g, n, JT_ERR_ARG, "nesterov needs momentum > 0 and dampening 0 (momentum %g, "
                            "dampening %g)", at->momentum, at->dampening);
    return JT_OK;
}

static jt_status adam_step_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"beta1", "beta2", "eps", "weight_decay", "adamw", NULL};
    adam_step_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_float(ctx, g, n, "beta1", 0.9, &at->beta1));
    JT_TRY(jt_attr_float(ctx, g, n, "beta2", 0.999, &at->beta2));
    JT_TRY(jt_attr_float(ctx, g, n, "eps", 1e-8, &at->eps));
    JT_TRY(jt_attr_float(ctx, g, n, "weight_decay", 0.0, &at->weight_decay));
    JT_TRY(jt_attr_int(ctx, g, n, "adamw", 0, &at->adamw));
    if (!(at->beta1 >= 0.0 && at->beta1 < 1.0) || !(at->beta2 >= 0.0 && at->beta2 < 1.0) || !(at->eps >= 0.0) ||
        !(at->weight_decay >= 0.0))
        return jt_node_fail(ctx, g, n, JT_ERR_ARG,
                            "betas (%g, %g) must be in [0, 1), eps %g and weight_decay %g must be >= 0", at->beta1,
                            at->beta2, at->eps, at->weight_decay);
    return JT_OK;
}

static jt_status float_param(const jt_infer_args *a) {
    const jt_tensor *w = a->in[0];
    if (!jt_dtype_is_float(w->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "w is %s, expected float32 or float64",
                            jt_dtype_name(w->dtype));
    return JT_OK;
}

static jt_status sgd_infer(const jt_infer_args *a) {
    const sgd_attrs *at = a->attrs;
    const jt_tensor *w = a->in[0];
    JT_TRY(float_param(a));
    JT_TRY(optim_check_like(a, 1, 0, "g", "w"));
    if (at->momentum != 0.0) JT_TRY(optim_check_like(a, 2, 0, "momentum buffer v", "w"));
    else if (a->in[2]) JT_TRY(optim_check_like(a, 2, 0, "momentum buffer v", "w"));
    JT_TRY(optim_check_scalar(a, 3, "lr", 1, 0));
    if (a->n_in > 4 && a->in[4]) JT_TRY(optim_check_scalar(a, 4, "step", 0, 1));
    if (a->n_out > 1 && a->out[1] && at->momentum == 0.0 && !a->in[2])
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                            "output v' needs the momentum buffer input v");
    jt_tensor_set_shape(a->out[0], w->dtype, w->rank, w->dims);
    if (a->n_out > 1 && a->out[1]) jt_tensor_set_shape(a->out[1], w->dtype, w->rank, w->dims);
    return JT_OK;
}

static jt_status adam_step_infer(const jt_infer_args *a) {
    const jt_tensor *w = a->in[0];
    JT_TRY(float_param(a));
    JT_TRY(optim_check_like(a, 1, 0, "g", "w"));
    JT_TRY(optim_check_like(a, 2, 0, "first moment m", "w"));
    JT_TRY(optim_check_like(a, 3, 0, "second moment v", "w"));
    JT_TRY(optim_check_scalar(a, 4, "lr", 1, 0));
    JT_TRY(optim_check_scalar(a, 5, "step", 0, 1));
    for (int i = 0; i < a->n_out; i++)
        if (a->out[i]) jt_tensor_set_shape(a->out[i], w->dtype, w->rank, w->dims);
    return JT_OK;
}

typedef struct step_job {
    const void *w, *g, *m, *v;
    void *wo, *mo, *vo;
    double c[8]; /* host scalars, see the kernels */
    int first, nesterov, has_wd, has_mom, adamw;
} step_job;

#define DEFINE_TORCH_KERNELS(T, SUF, SQRT)                                                                   \
    static void sgd_range_##SUF(const void *jp, int64_t lo, int64_t hi) {                                    \
        const step_job *j = jp;                                                                              \
        const T *w = j->w, *g = j->g, *v = j->v;                                                             \
        T *wo = j->wo, *vo = j->vo;                                                                          \
        const T wd = (T)j->c[0], mu = (T)j->c[1], damp1 = (T)j->c[2], nlr = (T)j->c[3];                      \
        for (int64_t i = lo; i < hi; i++) {                                                                  \
            T d = g[i];                                                                                      \
            if (j->has_wd) d = d + wd * w[i];                                                                \
            if (j->has_mom) {                                                                                \
                T b;                                                                                         \
                if (j->first) b = d;                                                                         \
                else {                                                                                       \
                    b = v[i] * mu;                                                                           \
                    b = b + damp1 * d;                                                                       \
                }                                                                                            \
                if (vo) vo[i] = b;                                                                           \
                d = j->nesterov ? d + mu * b : b;                                                            \
            } else if (vo) {                                                                                 \
                vo[i] = v[i];                                                                                \
            }                                                                                                \
            wo[i] = w[i] + nlr * d;                                                                          \
        }                                                                                                    \
    }                                                                                                        \
    static void adam_range_##SUF(const void *jp, int64_t lo, int64_t hi) {                                   \
        const step_job *j = jp;                                                                              \
        const T *w = j->w, *g = j->g, *m = j->m, *v = j->v;                                                  \
        T *wo = j->wo, *mo = j->mo, *vo = j->vo;                                                             \
        const T wd = (T)j->c[0], b1 = (T)j->c[1], omb1 = (T)j->c[2], b2 = (T)j->c[3], omb2 = (T)j->c[4];     \
        const T bc2s = (T)j->c[5], eps = (T)j->c[6], nss = (T)j->c[7];                                       \
        for (int64_t i = lo; i < hi; i++) {                                                                  \
            T p = w[i], gi = g[i];                                                                           \
            if (j->adamw) p = p * wd; /* wd holds 1 - lr*weight_decay */                                     \
            else if (j->has_wd) gi = gi + wd * p;                                                            \
            T mi = m[i] * b1;                                                                                \
            mi = mi + omb1 * gi;                                                                             \
            T vi = v[i] * b2;                                                                                \
            vi = vi + omb2 * gi * gi;                                                                        \
            T denom = SQRT(vi) / bc2s + eps;                                                                 \
            wo[i] = p + nss * mi / denom;                                                                    \
            if (mo) mo[i] = mi;                                                                              \
            if (vo) vo[i] = vi;                                                                              \
        }                                                                                                    \
    }

DEFINE_TORCH_KERNELS(float, f32, sqrtf)
DEFINE_TORCH_KERNELS(double, f64, sqrt)

static void *out_data(const jt_kernel_args *a, int i) { return i < a->n_out && a->out[i] ? a->out[i]->data : NULL; }

static jt_status sgd_kernel(const jt_kernel_args *a) {
    const sgd_attrs *at = a->attrs;
    double step = a->n_in > 4 && a->in[4] ? jt_tensor_get_f64(a->in[4], 0) : 2.0;
    step_job j = {.w = a->in[0]->data, .g = a->in[1]->data, .v = a->in[2] ? a->in[2]->data : NULL,
                  .wo = a->out[0]->data, .vo = out_data(a, 1),
                  .c = {at->weight_decay, at->momentum, 1.0 - at->dampening, -jt_tensor_get_f64(a->in[3], 0)},
                  .first = step <= 1.0, .nesterov = (int)at->nesterov, .has_wd = at->weight_decay != 0.0,
                  .has_mom = at->momentum != 0.0};
    if (j.vo && !j.v) j.vo = NULL;
    optim_par_for(a->pool, a->in[0]->dtype == JT_F32 ? sgd_range_f32 : sgd_range_f64, &j, jt_tensor_numel(a->in[0]));
    return JT_OK;
}

static jt_status adam_step_kernel(const jt_kernel_args *a) {
    const adam_step_attrs *at = a->attrs;
    double lr = jt_tensor_get_f64(a->in[4], 0), step = jt_tensor_get_f64(a->in[5], 0);
    if (!(step >= 1.0))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_ARG, "step is %g; AdamStep counts steps from 1", step);
    double bc1 = 1 - pow(at->beta1, step), bc2 = 1 - pow(at->beta2, step);
    step_job j = {.w = a->in[0]->data, .g = a->in[1]->data, .m = a->in[2]->data, .v = a->in[3]->data,
                  .wo = a->out[0]->data, .mo = out_data(a, 1), .vo = out_data(a, 2),
                  .c = {at->adamw ? 1 - lr * at->weight_decay : at->weight_decay, at->beta1, 1 - at->beta1, at->beta2,
                        1 - at->beta2, sqrt(bc2), at->eps, -(lr / bc1)},
                  .has_wd = at->weight_decay != 0.0, .adamw = (int)at->adamw};
    optim_par_for(a->pool, a->in[0]->dtype == JT_F32 ? adam_range_f32 : adam_range_f64, &j,
                  jt_tensor_numel(a->in[0]));
    return JT_OK;
}

const jt_op_impl jt_impl_sgd_step = {
    .min_in = 4, .max_in = 5, .min_out = 1, .max_out = 2, .attr_size = sizeof(sgd_attrs), .parse = sgd_parse,
    .infer = sgd_infer, .cpu_f32 = sgd_kernel, .cpu_f64 = sgd_kernel, .type_input = 0, .flags = JT_OP_NO_FOLD,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_sgd_step_cuda_f32,
#endif
};

const jt_op_impl jt_impl_adam_step = {
    .min_in = 6, .max_in = 6, .min_out = 1, .max_out = 3, .attr_size = sizeof(adam_step_attrs),
    .parse = adam_step_parse, .infer = adam_step_infer, .cpu_f32 = adam_step_kernel, .cpu_f64 = adam_step_kernel,
    .type_input = 0, .flags = JT_OP_NO_FOLD,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_adam_step_cuda_f32,
#endif
};

/* ---- ClipByGlobalNorm ---- */

static jt_status clip_infer(const jt_infer_args *a) {
    int n = a->n_in - 1;
    if (a->n_out != a->n_in)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                            "has %d outputs, expected %d (one per gradient and the norm)", a->n_out, n + 1);
    for (int i = 0; i < n; i++) {
        const jt_tensor *g = a->in[i];
        if (!g)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "gradient %d is missing", i);
        if (!jt_dtype_is_float(g->dtype) || g->dtype != a->in[0]->dtype)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                                "gradient %d is %s, expected float32 or float64 like gradient 0 (%s)", i,
                                jt_dtype_name(g->dtype), jt_dtype_name(a->in[0]->dtype));
        if (a->out[i]) jt_tensor_set_shape(a->out[i], g->dtype, g->rank, g->dims);
    }
    JT_TRY(optim_check_scalar(a, n, "max_norm", 1, 1));
    if (a->out[n]) jt_tensor_set_shape(a->out[n], a->in[0]->dtype, 0, NULL);
    return JT_OK;
}

/* Chunks: every gradient is cut into pieces of OPTIM_CHUNK elements, numbered over all gradients. */
static int64_t clip_chunks(const jt_kernel_args *a) {
    int64_t c = 0;
    for (int i = 0; i < a->n_in - 1; i++) c += (jt_tensor_numel(a->in[i]) + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
    return c;
}

static size_t clip_workspace(const jt_kernel_args *a) {
    int64_t c = clip_chunks(a);
    return (size_t)(c ? c : 1) * (sizeof(double) + 2 * sizeof(int64_t));
}

typedef struct clip_job {
    const jt_kernel_args *a;
    double *partial;
    int64_t *chunk_tensor, *chunk_lo;
    double coef;
} clip_job;

static void clip_sumsq_task(void *arg, int64_t c) {
    const clip_job *j = arg;
    const jt_tensor *t = j->a->in[j->chunk_tensor[c]];
    int64_t lo = j->chunk_lo[c], n = jt_tensor_numel(t), hi = lo + OPTIM_CHUNK < n ? lo + OPTIM_CHUNK : n;
    double s = 0;
    if (t->dtype == JT_F32)
        for (int64_t i = lo; i < hi; i++) s += (double)((const float *)t->data)[i] * (double)((const float *)t->data)[i];
    else
        for (int64_t i = lo; i < hi; i++) s += ((const double *)t->data)[i] * ((const double *)t->data)[i];
    j->partial[c] = s;
}

static void clip_scale_task(void *arg, int64_t c) {
    const clip_job *j = arg;
    int k = (int)j->chunk_tensor[c];
    const jt_tensor *t = j->a->in[k];
    jt_tensor *o = j->a->out[k];
    if (!o) return;
    int64_t lo = j->chunk_lo[c], n = jt_tensor_numel(t), hi = lo + OPTIM_CHUNK < n ? lo + OPTIM_CHUNK : n;
    if (t->dtype == JT_F32) {
        const float f = (float)j->coef;
        for (int64_t i = lo; i < hi; i++) ((float *)o->data)[i] = ((const float *)t->data)[i] * f;
    } else {
        for (int64_t i = lo; i < hi; i++) ((double *)o->data)[i] = ((const double *)t->data)[i] * j->coef;
    }
}

static jt_status clip_kernel(const jt_kernel_args *a) {
    int n = a->n_in - 1;
    int64_t nc = clip_chunks(a);
    clip_job j = {a, a->ws, NULL, NULL, 1.0};
    j.chunk_tensor = (int64_t *)(j.partial + (nc ? nc : 1));
    j.chunk_lo = j.chunk_tensor + (nc ? nc : 1);
    for (int i = 0, c = 0; i < n; i++)
        for (int64_t lo = 0; lo < jt_tensor_numel(a->in[i]); lo += OPTIM_CHUNK, c++) {
            j.chunk_tensor[c] = i;
            j.chunk_lo[c] = lo;
        }
    jt_pool_run(nc > 1 ? a->pool : NULL, clip_sumsq_task, &j, nc);
    double ss = 0;
    for (int64_t c = 0; c < nc; c++) ss += j.partial[c];
    double norm = sqrt(ss), max_norm = jt_tensor_get_f64(a->in[n], 0);
    if (a->in[0]->dtype == JT_F32) { /* clip_coef = max_norm / (total_norm + 1e-6), a float32 tensor op */
        float c = (float)max_norm / ((float)norm + 1e-6f);
        j.coef = c < 1.0f ? c : 1.0f;
        if (c != c) j.coef = c; /* NaN propagates as in torch.clamp */
    } else {
        double c = max_norm / (norm + 1e-6);
        j.coef = c < 1.0 ? c : 1.0;
        if (c != c) j.coef = c;
    }
    jt_pool_run(nc > 1 ? a->pool : NULL, clip_scale_task, &j, nc);
    if (a->out[n]) {
        if (a->in[0]->dtype == JT_F32) *(float *)a->out[n]->data = (float)norm;
        else *(double *)a->out[n]->data = norm;
    }
    return JT_OK;
}

const jt_op_impl jt_impl_clip_by_global_norm = {
    .min_in = 2, .max_in = -1, .min_out = 2, .max_out = -1, .infer = clip_infer, .workspace = clip_workspace,
    .cpu_f32 = clip_kernel, .cpu_f64 = clip_kernel, .type_input = 0, .flags = JT_OP_NO_FOLD,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_clip_by_global_norm_cuda_f32, .cuda_workspace = jt_clip_by_global_norm_cuda_workspace,
#endif
};
