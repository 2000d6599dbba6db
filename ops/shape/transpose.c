/* Transpose (1, 13): materialises the permuted tensor with jt_strided_copy (unit dims dropped, runs of
 * axes that stay adjacent merged, 32x32 tiles when the innermost axes swap). perm defaults to reversing
 * the axes. Gradient: the transpose by the inverse permutation. */
#include <string.h>

#include "jatp/builder.h"
#include "shape_util.h"
#ifdef JT_HAVE_CUDA
#include "shape_cuda.h"
#endif

typedef struct {
    int n_perm; /* 0: reverse */
    int64_t perm[JT_MAX_RANK];
} transpose_attrs;

static jt_status transpose_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    transpose_attrs *p = attrs;
    static const char *const known[] = {"perm", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_ints(ctx, g, n, "perm", p->perm, JT_MAX_RANK, &p->n_perm));
    return JT_OK;
}

static void get_perm(const transpose_attrs *p, int rank, int *perm) {
    for (int i = 0; i < rank; i++) perm[i] = p->n_perm ? (int)p->perm[i] : rank - 1 - i;
}

static jt_status transpose_infer(const jt_infer_args *a) {
    const transpose_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0];
    if (p->n_perm && p->n_perm != x->rank)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "perm has %d entries, input has rank %d",
                            p->n_perm, x->rank);
    bool seen[JT_MAX_RANK] = {false};
    for (int i = 0; i < p->n_perm; i++) {
        if (p->perm[i] < 0 || p->perm[i] >= x->rank || seen[p->perm[i]])
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                                "perm is not a permutation of 0..%d (entry %d = %lld)", x->rank - 1, i,
                                (long long)p->perm[i]);
        seen[p->perm[i]] = true;
    }
    int perm[JT_MAX_RANK];
    int64_t d[JT_MAX_RANK];
    get_perm(p, x->rank, perm);
    for (int i = 0; i < x->rank; i++) d[i] = x->dims[perm[i]];
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, d);
    return JT_OK;
}

/* Source strides of the output axes. */
static void transpose_strides(const jt_kernel_args *a, int64_t *st) {
    const jt_tensor *x = a->in[0];
    int perm[JT_MAX_RANK];
    int64_t is[JT_MAX_RANK];
    get_perm(a->attrs, x->rank, perm);
    jt_dims_strides(x->rank, x->dims, is);
    for (int i = 0; i < x->rank; i++) st[i] = is[perm[i]];
}

static jt_status transpose_kernel(const jt_kernel_args *a) {
    const jt_tensor *x = a->in[0];
    int64_t st[JT_MAX_RANK];
    transpose_strides(a, st);
    jt_strided_copy(a->pool, a->out[0]->data, x->data, jt_dtype_size(x->dtype), x->rank, a->out[0]->dims, st);
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
static jt_status transpose_cuda(const jt_kernel_args *a) {
    int64_t st[JT_MAX_RANK];
    transpose_strides(a, st);
    return jt_cuda_strided_copy(a, a->out[0]->data, a->in[0]->data, a->in[0]->rank, a->out[0]->dims, st);
}
#endif

/* dX = Transpose(dY, inverse permutation); the default (reversed axes) is its own inverse. */
static jt_status transpose_vjp(jt_vjp_args *v) {
    const transpose_attrs *p = v->attrs;
    if (!v->need[0]) return JT_OK;
    if (p->n_perm) {
        int64_t inv[JT_MAX_RANK];
        for (int i = 0; i < p->n_perm; i++) inv[p->perm[i]] = i;
        jt_gb_attr_ints(v->b, "perm", inv, p->n_perm);
    }
    v->dx[0] = jt_gb_op(v->b, "Transpose", "", NULL, (int32_t[]){v->dy[0]}, 1);
    return jt_gb_status(v->b);
}

const jt_op_impl jt_impl_transpose = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(transpose_attrs),
    .parse = transpose_parse,
    .infer = transpose_infer,
    .cpu_f32 = transpose_kernel, .cpu_f64 = transpose_kernel, .cpu_other = transpose_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = transpose_cuda,
#endif
    .type_input = 0,
    .vjp = transpose_vjp,
};
