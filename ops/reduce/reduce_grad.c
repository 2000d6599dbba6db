/* VJP rules of ReduceSum, ReduceMean and ReduceMax (every registered version), and ReduceGrad.
 *   ReduceGrad(dY, X[, Y]; mode, axes, keepdims, noop_with_empty_axes) -> dX of X's shape:
 *     mode "sum":  dX = dY broadcast back over the reduced axes
 *     mode "mean": dX = dY / (number of reduced elements)
 *     mode "max":  dX = dY / k on the k elements equal to the maximum Y, 0 elsewhere: ties split the
 *                  gradient evenly (as torch.amax); a NaN maximum gives 0.
 * axes are the forward's (raw, possibly negative; normalised against X's rank at infer); empty axes
 * reduce everything unless noop_with_empty_axes = 1 (then dX = dY). Versions that take axes as an
 * input need it constant when the backward graph is built (an initializer, a constant value or a
 * Constant node); the rule fails otherwise.
 * Sum/mean split X into fixed chunks; max gives each task a fixed number of output elements and walks
 * their reduced elements twice (count the ties, then write), so nothing depends on the thread count. */
#include <string.h>

#include "jatp/builder.h"
#include "elementwise/elementwise_math.h"
#include "reduce.h"
#include "reduce_cuda.h"

#define RG_CHUNK 16384

enum { RG_SUM, RG_MEAN, RG_MAX };
static const char *const mode_names[] = {"sum", "mean", "max"};

typedef struct rg_attrs {
    int mode;
    int n_axes;
    int64_t axes[JT_MAX_RANK];
    int64_t keepdims, noop_with_empty_axes;
} rg_attrs;

/* ---- the rules ---- */

/* The forward's axes: from the attribute, or from the constant axes input. */
static jt_status fwd_axes(jt_vjp_args *v, int64_t *axes, int *n) {
    const reduce_attrs *at = v->attrs;
    *n = 0;
    if (!at->axes_input) {
        *n = at->n_axes;
        memcpy(axes, at->axes, sizeof(int64_t) * (size_t)at->n_axes);
        return JT_OK;
    }
    if (v->n_in < 2 || v->in[1] < 0) return JT_OK;
    const jt_graph *g = v->b->g;
    const jt_value *val = &g->values[v->in[1]];
    const jt_tensor *t = NULL;
    jt_tensor tmp;
    if ((val->flags & (JT_VALUE_PARAM | JT_VALUE_CONST)) && val->data) {
        memset(&tmp, 0, sizeof tmp);
        jt_tensor_set_shape(&tmp, val->dtype, val->rank, val->dims);
        tmp.data = val->data;
        t = &tmp;
    } else if (val->producer >= 0 && strcmp(g->nodes[val->producer].op_type, "Constant") == 0) {
        const jt_attr *c = jt_node_attr(&g->nodes[val->producer], "value");
        if (c && c->type == JT_ATTR_TENSOR) t = c->t;
    }
    if (!t)
        return jt_fail(v->b->ctx, JT_ERR_UNSUPPORTED,
                       "node '%s': the axes input '%s' is not constant; its gradient needs the axes when the "
                       "backward graph is built (make it an initializer or a Constant)", v->name, val->name);
    if ((t->dtype != JT_I64 && t->dtype != JT_I32) || t->rank > 1 || jt_tensor_numel(t) > JT_MAX_RANK)
        return jt_fail(v->b->ctx, JT_ERR_INVALID_MODEL,
                       "node '%s': the axes input '%s' must be a 1-D int64 tensor of at most %d axes", v->name,
                       val->name, JT_MAX_RANK);
    *n = (int)jt_tensor_numel(t);
    for (int i = 0; i < *n; i++) axes[i] = jt_tensor_get_i64(t, i);
    return JT_OK;
}

static jt_status vjp_reduce(jt_vjp_args *v, int mode) {
    const reduce_attrs *at = v->attrs;
    int64_t axes[JT_MAX_RANK];
    int n;
    JT_TRY(fwd_axes(v, axes, &n));
    jt_gb_attr_string(v->b, "mode", mode_names[mode]);
    if (n > 0) jt_gb_attr_ints(v->b, "axes", axes, n);
    jt_gb_attr_int(v->b, "keepdims", at->keepdims);
    jt_gb_attr_int(v->b, "noop_with_empty_axes", at->noop_with_empty_axes);
    int32_t ins[3] = {v->dy[0], v->in[0], v->out[0]};
    v->dx[0] = jt_gb_op(v->b, "ReduceGrad", JT_DOMAIN_GRAD, NULL, ins, mode == RG_MAX ? 3 : 2);
    return jt_gb_status(v->b);
}
jt_status jt_vjp_reduce_sum(jt_vjp_args *v) { return vjp_reduce(v, RG_SUM); }
jt_status jt_vjp_reduce_mean(jt_vjp_args *v) { return vjp_reduce(v, RG_MEAN); }
jt_status jt_vjp_reduce_max(jt_vjp_args *v) { return vjp_reduce(v, RG_MAX); }

/* ---- ReduceGrad ---- */

static jt_status rg_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"mode", "axes", "keepdims", "noop_with_empty_axes", NULL};
    rg_attrs *at = attrs;
    const char *mode;
    memset(at, 0, sizeof *at);
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_string(ctx, g, n, "mode", "", &mode));
    at->mode = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(mode, mode_names[i]) == 0) at->mode = i;
    if (at->mode < 0)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute 'mode' is '%s', expected sum, mean or max",
                            mode);
    JT_TRY(jt_attr_ints(ctx, g, n, "axes", at->axes, JT_MAX_RANK, &at->n_axes));
    JT_TRY(jt_attr_int(ctx, g, n, "keepdims", 1, &at->keepdims));
    return jt_attr_int(ctx, g, n, "noop_with_empty_axes", 0, &at->noop_with_empty_axes);
}

/* Reduced-axis mask over X's axes; *noop when the forward was an identity. */
static jt_status rg_mask(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const rg_attrs *at, int rank, bool *mask,
                         bool *noop) {
    *noop = at->n_axes == 0 && at->noop_with_empty_axes;
    for (int i = 0; i < rank; i++) mask[i] = at->n_axes == 0 && !*noop;
    for (int i = 0; i < at->n_axes; i++) {
        int ax;
        JT_TRY(jt_norm_axis(ctx, g, n, at->axes[i], rank, &ax));
        if (mask[ax])
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "axis %lld is listed twice", (long long)at->axes[i]);
        mask[ax] = true;
    }
    return JT_OK;
}

jt_status jt_reduce_grad_axes(const jt_kernel_args *a, bool *mask, bool *noop, int *mode) {
    const rg_attrs *at = a->attrs;
    *mode = at->mode;
    return rg_mask(a->ctx, NULL, a->node, at, a->in[1]->rank, mask, noop);
}

static jt_status rg_infer(const jt_infer_args *a) {
    const rg_attrs *at = a->attrs;
    const jt_tensor *dy = a->in[0], *x = a->in[1];
    if ((dy->dtype != JT_F32 && dy->dtype != JT_F64) || x->dtype != dy->dtype)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                            "dY (%s) and X (%s) must both be float32 or both float64", jt_dtype_name(dy->dtype),
                            jt_dtype_name(x->dtype));
    bool mask[JT_MAX_RANK], noop;
    JT_TRY(rg_mask(a->ctx, a->graph, a->node, at, x->rank, mask, &noop));
    int64_t d[JT_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (noop || !mask[i]) d[r++] = x->dims[i];
        else if (at->keepdims) d[r++] = 1;
    }
    char s1[128], s2[128];
    if (!jt_dims_equal(dy->dims, dy->rank, d, r))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY has shape %s, expected %s (the reduction of X)",
                            jt_dims_str(dy->dims, dy->rank, s1, sizeof s1), jt_dims_str(d, r, s2, sizeof s2));
    const jt_tensor *y = a->n_in > 2 ? a->in[2] : NULL;
    if (at->mode == RG_MAX && !y)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "mode max needs the forward output Y");
    if (y && (y->dtype != dy->dtype || !jt_dims_equal(y->dims, y->rank, d, r)))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "Y (%s %s) must have dY's dtype and shape",
                            jt_dtype_name(y->dtype), jt_dims_str(y->dims, y->rank, s1, sizeof s1));
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    return JT_OK;
}

typedef struct rg_job {
    const void *dy, *x, *y;
    void *dx;
    int rank, nk, nr;
    int64_t dims[JT_MAX_RANK], ost[JT_MAX_RANK]; /* X's dims; dY offset per X axis (0 if reduced) */
    int64_t kdims[JT_MAX_RANK], kst[JT_MAX_RANK]; /* kept axes: sizes, X strides */
    int64_t rdims[JT_MAX_RANK], rst[JT_MAX_RANK]; /* reduced axes */
    int64_t numel, units, per_task;
    double scale;
} rg_job;

#define RG_DEF(T, S)                                                                                         \
    /* sum/mean: X elements [lo, hi) of chunk t */                                                           \
    static void rg_bcast_##S(void *arg, int64_t t) {                                                         \
        const rg_job *jb = arg;                                                                              \
        const T *dy = jb->dy;                                                                                \
        T *dx = jb->dx;                                                                                      \
        const T sc = (T)jb->scale;                                                                           \
        int64_t lo = t * RG_CHUNK, hi = lo + RG_CHUNK < jb->numel ? lo + RG_CHUNK : jb->numel;               \
        int64_t idx[JT_MAX_RANK], o = 0, rem = lo;                                                           \
        for (int d = jb->rank - 1; d >= 0; d--) {                                                            \
            idx[d] = rem % jb->dims[d];                                                                      \
            rem /= jb->dims[d];                                                                              \
            o += idx[d] * jb->ost[d];                                                                        \
        }                                                                                                    \
        const int last = jb->rank - 1;                                                                       \
        const int64_t in_n = jb->dims[last], in_st = jb->ost[last];                                          \
        for (int64_t e = lo; e < hi;) {                                                                      \
            int64_t len = in_n - idx[last] < hi - e ? in_n - idx[last] : hi - e;                             \
            for (int64_t i = 0; i < len; i++) dx[e + i] = dy[o + i * in_st] * sc;                            \
            e += len;                                                                                        \
            o += len * in_st;                                                                                \
            idx[last] += len;                                                                                \
            for (int d = last; d > 0 && idx[d] == jb->dims[d]; d--) {                                        \
                o -= jb->ost[d] * jb->dims[d];                                                               \
                idx[d] = 0;                                                                                  \
                o += jb->ost[d - 1];                                                                         \
                idx[d - 1]++;                                                                                \
            }                                                                                                \
        }                                                                                                    \
    }                                                                                                        \
    /* max: output elements [lo, hi) of task t */                                                            \
    static void rg_max_##S(void *arg, int64_t t) {                                                           \
        const rg_job *jb = arg;                                                                              \
        const T *dy = jb->dy, *x = jb->x, *y = jb->y;                                                        \
        T *dx = jb->dx;                                                                                      \
        int64_t lo = t * jb->per_task, hi = lo + jb->per_task < jb->units ? lo + jb->per_task : jb->units;   \
        for (int64_t u = lo; u < hi; u++) {                                                                  \
            int64_t base = 0, rem = u;                                                                       \
            for (int i = jb->nk - 1; i >= 0; i--) {                                                          \
                base += (rem % jb->kdims[i]) * jb->kst[i];                                                   \
                rem /= jb->kdims[i];                                                                         \
            }                                                                                                \
            const T m = y[u];                                                                                \
            T g = 0;                                                                                         \
            for (int pass = 0; pass < 2; pass++) {                                                           \
                int64_t idx[JT_MAX_RANK] = {0}, off = base, cnt = 0;                                         \
                for (;;) {                                                                                   \
                    if (pass == 0) cnt += x[off] == m;                                                       \
                    else dx[off] = x[off] == m ? g : (T)0;                                                   \
                    int i = jb->nr - 1;                                                                      \
                    for (; i >= 0; i--) {                                                                    \
                        off += jb->rst[i];                                                                   \
                        if (++idx[i] < jb->rdims[i]) break;                                                  \
                        off -= jb->rst[i] * jb->rdims[i];                                                    \
                        idx[i] = 0;                                                                          \
                    }                                                                                        \
                    if (i < 0) break;                                                                        \
                }                                                                                            \
                if (pass == 0) g = ew_tie_grad_##S(dy[u], cnt != 0, cnt);                                    \
            }                                                                                                \
        }                                                                                                    \
    }
RG_DEF(float, f32)
RG_DEF(double, f64)

static jt_status rg_kernel(const jt_kernel_args *a) {
    const rg_attrs *at = a->attrs;
    const jt_tensor *dy = a->in[0], *x = a->in[1];
    jt_tensor *dx = a->out[0];
    bool mask[JT_MAX_RANK], noop;
    JT_TRY(rg_mask(a->ctx, NULL, a->node, at, x->rank, mask, &noop));
    int64_t numel = jt_tensor_numel(x);
    if (noop || numel == 0) {
        if (numel && dx->data != dy->data) memmove(dx->data, dy->data, jt_tensor_nbytes(dx));
        return JT_OK;
    }
    rg_job jb;
    memset(&jb, 0, sizeof jb);
    jb.dy = dy->data;
    jb.x = x->data;
    jb.y = a->n_in > 2 && a->in[2] ? a->in[2]->data : NULL;
    jb.dx = dx->data;
    jb.numel = numel;
    jb.units = 1;
    int64_t R = 1, ys = 1, xs = 1;
    for (int i = x->rank - 1; i >= 0; i--) {
        jb.ost[i] = mask[i] ? 0 : ys;
        if (!mask[i]) ys *= x->dims[i];
        else R *= x->dims[i];
    }
    for (int i = 0; i < x->rank; i++) jb.dims[i] = x->dims[i];
    int64_t xst[JT_MAX_RANK];
    for (int i = x->rank - 1; i >= 0; i--) {
        xst[i] = xs;
        xs *= x->dims[i];
    }
    for (int i = 0; i < x->rank; i++) {
        if (mask[i]) {
            jb.rdims[jb.nr] = x->dims[i];
            jb.rst[jb.nr++] = xst[i];
        } else {
            jb.kdims[jb.nk] = x->dims[i];
            jb.kst[jb.nk++] = xst[i];
            jb.units *= x->dims[i];
        }
    }
    jb.rank = x->rank;
    bool f32 = x->dtype == JT_F32;
    if (at->mode == RG_MAX) {
        jb.per_task = RG_CHUNK / R > 0 ? RG_CHUNK / R : 1;
        jt_pool_run(a->pool, f32 ? rg_max_f32 : rg_max_f64, &jb, (jb.units + jb.per_task - 1) / jb.per_task);
        return JT_OK;
    }
    if (x->rank == 0) { /* a scalar reduces to itself */
        jb.rank = 1;
        jb.dims[0] = 1;
        jb.ost[0] = 0;
    }
    jb.scale = at->mode == RG_MEAN ? 1.0 / (double)R : 1.0;
    jt_pool_run(a->pool, f32 ? rg_bcast_f32 : rg_bcast_f64, &jb, (numel + RG_CHUNK - 1) / RG_CHUNK);
    return JT_OK;
}

static void rg_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    const rg_attrs *at = a->attrs;
    *flops = (at->mode == RG_MAX ? 2.0 : 1.0) * (double)jt_tensor_numel(a->out[0]);
    *bytes = 0;
    for (int i = 0; i < a->n_in; i++) *bytes += (double)jt_tensor_nbytes(a->in[i]);
    *bytes += (double)jt_tensor_nbytes(a->out[0]);
}

const jt_op_impl jt_impl_reduce_grad = {
    .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(rg_attrs), .parse = rg_parse, .infer = rg_infer, .cost = rg_cost,
    .cpu_f32 = rg_kernel, .cpu_f64 = rg_kernel, .type_input = 0,
    RD_CUDA(.cuda_f32 = jt_reduce_grad_cuda_f32, .cuda_workspace = jt_reduce_grad_cuda_workspace,)
};
