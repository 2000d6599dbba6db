/* Expand (8, 13): broadcasts input 0 to the broadcast of its shape and the constant 'shape' input
 * (numpy rules, so dims of the shape may be 1 where the input is larger). A strided copy with stride 0 on
 * broadcast axes. Gradient: SumTo(dY, X). */
#include <string.h>

#include "jatp/builder.h"
#include "shape_util.h"
#ifdef JT_HAVE_CUDA
#include "shape_cuda.h"
#endif
#include "autograd/autograd.h"

static jt_status expand_infer(const jt_infer_args *a) {
    const jt_tensor *x = a->in[0];
    jt_tensor s;
    memset(&s, 0, sizeof s);
    int r;
    JT_TRY(jt_read_const_ints(a->ctx, a->graph, a->node, a->in[1], "shape", s.dims, JT_MAX_RANK, &r));
    s.rank = r;
    for (int i = 0; i < r; i++)
        if (s.dims[i] < 0)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "shape[%d] = %lld is negative", i,
                                (long long)s.dims[i]);
    jt_tensor *y = a->out[0];
    JT_TRY(jt_broadcast_dims(a->ctx, a->graph, a->node, x, &s, y));
    y->dtype = x->dtype;
    return JT_OK;
}

/* Source strides of the output axes (0 on broadcast axes). */
static void expand_strides(const jt_kernel_args *a, int64_t *st) {
    const jt_tensor *x = a->in[0], *y = a->out[0];
    int64_t is[JT_MAX_RANK];
    jt_dims_strides(x->rank, x->dims, is);
    int off = y->rank - x->rank;
    for (int i = 0; i < y->rank; i++) {
        int k = i - off;
        st[i] = (k < 0 || x->dims[k] == 1) ? 0 : is[k];
    }
}

static jt_status expand_kernel(const jt_kernel_args *a) {
    const jt_tensor *x = a->in[0], *y = a->out[0];
    int64_t st[JT_MAX_RANK];
    expand_strides(a, st);
    jt_strided_copy(a->pool, y->data, x->data, jt_dtype_size(x->dtype), y->rank, y->dims, st);
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
static jt_status expand_cuda(const jt_kernel_args *a) {
    int64_t st[JT_MAX_RANK];
    expand_strides(a, st);
    return jt_cuda_strided_copy(a, a->out[0]->data, a->in[0]->data, a->out[0]->rank, a->out[0]->dims, st);
}
#endif

/* dX = SumTo(dY, X): the sum over the broadcast axes. */
static jt_status expand_vjp(jt_vjp_args *v) {
    if (!v->need[0]) return JT_OK;
    v->dx[0] = jt_grad_sum_to(v->b, v->dy[0], v->in[0]);
    return jt_gb_status(v->b);
}

const jt_op_impl jt_impl_expand = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = expand_infer,
    .cpu_f32 = expand_kernel, .cpu_f64 = expand_kernel, .cpu_other = expand_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = expand_cuda,
#endif
    .type_input = 0,
    .vjp = expand_vjp, .no_grad_mask = 1u << 1, .const_mask = 1u << 1,
};
