/* DepthToSpace (1, 11, 13; mode DCR or CRD from 11) and SpaceToDepth (1, 13) on 4-D NCHW input: each
 * is a reshape to 6-D, a transpose and a reshape, done as one strided copy. */
#include <string.h>

#include "jatp/builder.h"
#include "shape_util.h"
#ifdef JT_HAVE_CUDA
#include "shape_cuda.h"
#endif

typedef struct {
    int64_t blocksize;
    int crd; /* DepthToSpace mode CRD */
} d2s_attrs;

static jt_status d2s_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    d2s_attrs *p = attrs;
    bool grad = strcmp(n->op_type, "DepthToSpaceGrad") == 0;
    bool is_d2s = grad || strcmp(n->op_type, "DepthToSpace") == 0;
    bool has_mode = grad || (is_d2s && n->op && n->op->since >= 11);
    static const char *const known_mode[] = {"blocksize", "mode", NULL};
    static const char *const known[] = {"blocksize", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, has_mode ? known_mode : known));
    if (!jt_node_attr(n, "blocksize"))
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute 'blocksize' is required");
    JT_TRY(jt_attr_int(ctx, g, n, "blocksize", 1, &p->blocksize));
    if (p->blocksize < 1)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "blocksize %lld must be positive",
                            (long long)p->blocksize);
    const char *mode;
    JT_TRY(jt_attr_string(ctx, g, n, "mode", "DCR", &mode));
    if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "mode '%s' is not DCR or CRD", mode);
    p->crd = strcmp(mode, "CRD") == 0;
    return JT_OK;
}

static jt_status check4(const jt_infer_args *a) {
    if (a->in[0]->rank != 4)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "input has rank %d, expected 4 (N,C,H,W)",
                            a->in[0]->rank);
    return JT_OK;
}

static jt_status d2s_infer(const jt_infer_args *a) {
    const d2s_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0];
    int64_t b = p->blocksize;
    JT_TRY(check4(a));
    if (x->dims[1] % (b * b) != 0)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "channels %lld are not divisible by blocksize^2 = %lld", (long long)x->dims[1],
                            (long long)(b * b));
    int64_t d[4] = {x->dims[0], x->dims[1] / (b * b), x->dims[2] * b, x->dims[3] * b};
    jt_tensor_set_shape(a->out[0], x->dtype, 4, d);
    return JT_OK;
}

static jt_status s2d_infer(const jt_infer_args *a) {
    const d2s_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0];
    int64_t b = p->blocksize;
    JT_TRY(check4(a));
    if (x->dims[2] % b != 0 || x->dims[3] % b != 0)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "height %lld and width %lld must be divisible by blocksize %lld",
                            (long long)x->dims[2], (long long)x->dims[3], (long long)b);
    int64_t d[4] = {x->dims[0], x->dims[1] * b * b, x->dims[2] / b, x->dims[3] / b};
    jt_tensor_set_shape(a->out[0], x->dtype, 4, d);
    return JT_OK;
}

/* DepthToSpace's 6-D view of its input and permutation. */
static void d2s_view(const d2s_attrs *p, const int64_t *d, int64_t *v, const int **perm) {
    static const int perm_crd[6] = {0, 1, 4, 2, 5, 3}, perm_dcr[6] = {0, 3, 4, 1, 5, 2};
    int64_t b = p->blocksize, c = d[1] / (b * b);
    int64_t crd[6] = {d[0], c, b, b, d[2], d[3]}, dcr[6] = {d[0], b, b, c, d[2], d[3]};
    memcpy(v, p->crd ? crd : dcr, sizeof crd);
    *perm = p->crd ? perm_crd : perm_dcr;
}

/* Copies x viewed as 6-D dims v, permuted by perm, into dst (on the device when cuda). */
static jt_status permute6(const jt_kernel_args *a, const int64_t *v, const int *perm, bool cuda) {
    const jt_tensor *x = a->in[0];
    int64_t is[6], st[6], od[6];
    jt_dims_strides(6, v, is);
    for (int i = 0; i < 6; i++) {
        st[i] = is[perm[i]];
        od[i] = v[perm[i]];
    }
#ifdef JT_HAVE_CUDA
    if (cuda) return jt_cuda_strided_copy(a, a->out[0]->data, x->data, 6, od, st);
#else
    (void)cuda;
#endif
    jt_strided_copy(a->pool, a->out[0]->data, x->data, jt_dtype_size(x->dtype), 6, od, st);
    return JT_OK;
}

static jt_status d2s_run(const jt_kernel_args *a, bool cuda) {
    int64_t v[6];
    const int *perm;
    d2s_view(a->attrs, a->in[0]->dims, v, &perm);
    return permute6(a, v, perm, cuda);
}

static jt_status s2d_run(const jt_kernel_args *a, bool cuda) {
    const d2s_attrs *p = a->attrs;
    const int64_t *d = a->in[0]->dims, b = p->blocksize;
    int64_t v[6] = {d[0], d[1], d[2] / b, b, d[3] / b, b};
    static const int perm[6] = {0, 3, 5, 1, 2, 4};
    return permute6(a, v, perm, cuda);
}

static jt_status d2s_kernel(const jt_kernel_args *a) { return d2s_run(a, false); }
static jt_status s2d_kernel(const jt_kernel_args *a) { return s2d_run(a, false); }
#ifdef JT_HAVE_CUDA
static jt_status d2s_cuda(const jt_kernel_args *a) { return d2s_run(a, true); }
static jt_status s2d_cuda(const jt_kernel_args *a) { return s2d_run(a, true); }
#endif

/* ---- gradients ----
 * The ops are permutations, so the gradient is the inverse permutation: SpaceToDepth for DepthToSpace
 * in DCR mode, DepthToSpace (DCR) for SpaceToDepth, and DepthToSpaceGrad(dY) (jatp.grad; blocksize,
 * mode) for DepthToSpace in CRD mode, which has no standard inverse. */

static jt_status d2s_vjp(jt_vjp_args *v) {
    const d2s_attrs *p = v->attrs;
    if (!v->need[0]) return JT_OK;
    jt_gb_attr_int(v->b, "blocksize", p->blocksize);
    if (p->crd) {
        jt_gb_attr_string(v->b, "mode", "CRD");
        v->dx[0] = jt_gb_op(v->b, "DepthToSpaceGrad", JT_DOMAIN_GRAD, NULL, v->dy, 1);
    } else {
        v->dx[0] = jt_gb_op(v->b, "SpaceToDepth", "", NULL, v->dy, 1);
    }
    return jt_gb_status(v->b);
}

static jt_status s2d_vjp(jt_vjp_args *v) {
    const d2s_attrs *p = v->attrs;
    if (!v->need[0]) return JT_OK;
    jt_gb_attr_int(v->b, "blocksize", p->blocksize);
    v->dx[0] = jt_gb_op(v->b, "DepthToSpace", "", NULL, v->dy, 1);
    return jt_gb_status(v->b);
}

/* dX (DepthToSpace's input, viewed as v) = dY permuted back: dX[j] = dY[i] with i_k = j_perm[k]. */
static jt_status d2s_grad_run(const jt_kernel_args *a, bool cuda) {
    const jt_tensor *dy = a->in[0];
    jt_tensor *dx = a->out[0];
    int64_t v[6], od[6], ys[6], st[6];
    const int *perm;
    d2s_view(a->attrs, dx->dims, v, &perm);
    for (int k = 0; k < 6; k++) od[k] = v[perm[k]];
    jt_dims_strides(6, od, ys);
    for (int k = 0; k < 6; k++) st[perm[k]] = ys[k];
#ifdef JT_HAVE_CUDA
    if (cuda) return jt_cuda_strided_copy(a, dx->data, dy->data, 6, v, st);
#else
    (void)cuda;
#endif
    jt_strided_copy(a->pool, dx->data, dy->data, jt_dtype_size(dy->dtype), 6, v, st);
    return JT_OK;
}

static jt_status d2s_grad_kernel(const jt_kernel_args *a) { return d2s_grad_run(a, false); }
#ifdef JT_HAVE_CUDA
static jt_status d2s_grad_cuda(const jt_kernel_args *a) { return d2s_grad_run(a, true); }
#endif

const jt_op_impl jt_impl_depth_to_space_grad = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(d2s_attrs),
    .parse = d2s_parse,
    .infer = s2d_infer,
    .cpu_f32 = d2s_grad_kernel, .cpu_f64 = d2s_grad_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = d2s_grad_cuda,
#endif
    .type_input = 0,
};

const jt_op_impl jt_impl_depth_to_space = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(d2s_attrs),
    .parse = d2s_parse,
    .infer = d2s_infer,
    .cpu_f32 = d2s_kernel, .cpu_f64 = d2s_kernel, .cpu_other = d2s_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = d2s_cuda,
#endif
    .type_input = 0,
    .vjp = d2s_vjp,
};

const jt_op_impl jt_impl_space_to_depth = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(d2s_attrs),
    .parse = d2s_parse,
    .infer = s2d_infer,
    .cpu_f32 = s2d_kernel, .cpu_f64 = s2d_kernel, .cpu_other = s2d_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = s2d_cuda,
#endif
    .type_input = 0,
    .vjp = s2d_vjp,
};
