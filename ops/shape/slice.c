/* Slice (1: starts/ends/axes attributes; 10, 11, 13: constant inputs starts, ends, axes, steps) and
 * Gather (1, 11, 13). Slice clamps starts/ends as ONNX specifies (negative steps included) and copies
 * with jt_strided_copy; Gather copies one contiguous block per (outer index, index). Their gradient ops
 * SliceGrad and GatherGrad are at the end of the file. */
#include <stdatomic.h>
#include <string.h>

#include "jatp/builder.h"
#include "shape_util.h"
#ifdef JT_HAVE_CUDA
#include <stdlib.h>

#include "shape_cuda.h"
#endif

static jt_status slice_vjp(jt_vjp_args *v);
static jt_status gather_vjp(jt_vjp_args *v);

typedef struct {
    int n_starts, n_ends, n_axes; /* opset 1 attributes; n_axes -1 when absent */
    int64_t starts[JT_MAX_RANK], ends[JT_MAX_RANK], axes[JT_MAX_RANK];
} slice_attrs;

static jt_status slice_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    slice_attrs *p = attrs;
    static const char *const known1[] = {"starts", "ends", "axes", NULL};
    static const char *const known10[] = {NULL};
    bool v1 = n->op && n->op->since < 10;
    JT_TRY(jt_attrs_check_known(ctx, g, n, v1 ? known1 : known10));
    p->n_axes = -1;
    if (!v1) return JT_OK;
    JT_TRY(jt_attr_ints(ctx, g, n, "starts", p->starts, JT_MAX_RANK, &p->n_starts));
    JT_TRY(jt_attr_ints(ctx, g, n, "ends", p->ends, JT_MAX_RANK, &p->n_ends));
    if (jt_node_attr(n, "axes")) JT_TRY(jt_attr_ints(ctx, g, n, "axes", p->axes, JT_MAX_RANK, &p->n_axes));
    if (!jt_node_attr(n, "starts") || !jt_node_attr(n, "ends"))
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attributes 'starts' and 'ends' are required");
    return JT_OK;
}

/* Per-axis start and step, and output dims, for x of dims xd[rank]; the starts/ends/axes/steps are
 * attributes (attr_form, Slice-1) or the inputs in[0..3] (NULL when omitted). g may be NULL (kernel). */
static jt_status slice_params(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const slice_attrs *p,
                              bool attr_form, int rank, const int64_t *xd, int n_in, const jt_tensor *const *in,
                              int64_t *start, int64_t *step, int64_t *od) {
    int64_t starts[JT_MAX_RANK], ends[JT_MAX_RANK], axes[JT_MAX_RANK], steps[JT_MAX_RANK];
    int ns, ne, na = -1, nst = -1;
    if (attr_form) {
        ns = p->n_starts;
        ne = p->n_ends;
        na = p->n_axes;
        memcpy(starts, p->starts, sizeof starts);
        memcpy(ends, p->ends, sizeof ends);
        memcpy(axes, p->axes, sizeof axes);
    } else {
        if (n_in < 2 || !in[0] || !in[1])
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "inputs 'starts' and 'ends' are required");
        JT_TRY(jt_read_const_ints(ctx, g, n, in[0], "starts", starts, JT_MAX_RANK, &ns));
        JT_TRY(jt_read_const_ints(ctx, g, n, in[1], "ends", ends, JT_MAX_RANK, &ne));
        const jt_tensor *ta = jt_in_opt(n_in, in, 2), *ts = jt_in_opt(n_in, in, 3);
        if (ta) JT_TRY(jt_read_const_ints(ctx, g, n, ta, "axes", axes, JT_MAX_RANK, &na));
        if (ts) JT_TRY(jt_read_const_ints(ctx, g, n, ts, "steps", steps, JT_MAX_RANK, &nst));
    }
    if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL,
                            "starts, ends, axes and steps have different lengths (%d, %d, %d, %d)", ns, ne,
                            na, nst);
    for (int k = 0; k < rank; k++) {
        start[k] = 0;
        step[k] = 1;
        od[k] = xd[k];
    }
    bool seen[JT_MAX_RANK] = {false};
    for (int i = 0; i < ns; i++) {
        int ax = i;
        if (na >= 0) JT_TRY(jt_norm_axis(ctx, g, n, axes[i], rank, &ax));
        else if (i >= rank)
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "%d starts for an input of rank %d", ns, rank);
        if (seen[ax])
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "axis %d is repeated", ax);
        seen[ax] = true;
        int64_t dim = xd[ax], s = starts[i], e = ends[i], st = nst >= 0 ? steps[i] : 1;
        if (st == 0) return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "steps[%d] is 0", i);
        if (s < 0) s = s < -dim ? -dim - 1 : s; /* avoid overflow, clamped below */
        if (e < 0) e = e < -dim ? -dim - 1 : e;
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        if (st > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
        } else {
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
        }
        int64_t len;
        if (st > 0)
            len = e > s ? (e - s - 1) / st + 1 : 0;
        else
            len = s > e ? (s - e - 1) / (st == INT64_MIN ? INT64_MAX : -st) + 1 : 0;
        start[ax] = len > 0 ? s : 0;
        step[ax] = st;
        od[ax] = len;
    }
    return JT_OK;
}

static jt_status slice_infer(const jt_infer_args *a) {
    int64_t start[JT_MAX_RANK], step[JT_MAX_RANK], od[JT_MAX_RANK];
    const jt_tensor *x = a->in[0];
    JT_TRY(slice_params(a->ctx, a->graph, a->node, a->attrs, a->node->op && a->node->op->since < 10, x->rank,
                        x->dims, a->n_in - 1, a->in + 1, start, step, od));
    jt_tensor_set_shape(a->out[0], a->in[0]->dtype, a->in[0]->rank, od);
    return JT_OK;
}

static jt_status slice_kernel(const jt_kernel_args *a) {
    int64_t start[JT_MAX_RANK], step[JT_MAX_RANK], od[JT_MAX_RANK], is[JT_MAX_RANK];
    const jt_tensor *x = a->in[0];
    JT_TRY(slice_params(a->ctx, NULL, a->node, a->attrs, a->node->op && a->node->op->since < 10, x->rank, x->dims,
                        a->n_in - 1, a->in + 1, start, step, od));
    jt_dims_strides(x->rank, x->dims, is);
    size_t es = jt_dtype_size(x->dtype);
    int64_t off = 0;
    for (int k = 0; k < x->rank; k++) {
        off += start[k] * is[k];
        is[k] *= step[k];
    }
    jt_strided_copy(a->pool, a->out[0]->data, (const char *)x->data + off * (int64_t)es, es, x->rank, od, is);
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
/* CUDA: the starts/ends/axes/steps inputs live on the device at run time, so cuda_prepare computes the
 * strided view (host data at plan time) into the node's state. */
typedef struct {
    int rank;
    int64_t od[JT_MAX_RANK], st[JT_MAX_RANK], off;
} slice_state;

/* The strided view of a slice of a tensor of dims xd[rank]: element offset of the first element, strides
 * (scaled by the steps) and the slice's dims. */
static jt_status slice_state_new(const jt_kernel_args *a, bool attr_form, int rank, const int64_t *xd, int n_in,
                                 const jt_tensor *const *in, void **state) {
    slice_state *s = calloc(1, sizeof *s);
    if (!s) return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    int64_t start[JT_MAX_RANK], step[JT_MAX_RANK];
    jt_status st = slice_params(a->ctx, a->graph, a->node, a->attrs, attr_form, rank, xd, n_in, in, start, step, s->od);
    if (st != JT_OK) {
        free(s);
        return st;
    }
    s->rank = rank;
    jt_dims_strides(rank, xd, s->st);
    for (int k = 0; k < rank; k++) {
        s->off += start[k] * s->st[k];
        s->st[k] *= step[k];
    }
    *state = s;
    return JT_OK;
}

static jt_status slice_cuda_prepare(const jt_kernel_args *a, void **state) {
    const jt_tensor *x = a->in[0];
    return slice_state_new(a, a->node->op && a->node->op->since < 10, x->rank, x->dims, a->n_in - 1, a->in + 1, state);
}

static jt_status slice_cuda(const jt_kernel_args *a) {
    const slice_state *s = a->state;
    if (!s) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "CUDA kernel without its plan state");
    return jt_cuda_strided_copy(a, a->out[0]->data, (const float *)a->in[0]->data + s->off, s->rank, s->od, s->st);
}
#endif

const jt_op_impl jt_impl_slice = {
    .min_in = 1, .max_in = 5, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(slice_attrs),
    .parse = slice_parse,
    .infer = slice_infer,
    .cpu_f32 = slice_kernel, .cpu_f64 = slice_kernel, .cpu_other = slice_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = slice_cuda, .cuda_prepare = slice_cuda_prepare, .cuda_release = jt_cuda_state_free,
#endif
    .type_input = 0,
    .vjp = slice_vjp, .no_grad_mask = 0x1Eu, .const_mask = 0x1Eu,
};

/* ---- Gather ---- */

typedef struct {
    int64_t axis;
} gather_attrs;

static jt_status gather_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    gather_attrs *p = attrs;
    static const char *const known[] = {"axis", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_int(ctx, g, n, "axis", 0, &p->axis));
    return JT_OK;
}

static jt_status gather_infer(const jt_infer_args *a) {
    const gather_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0], *idx = a->in[1];
    int ax;
    JT_TRY(jt_norm_axis(a->ctx, a->graph, a->node, p->axis, x->rank, &ax));
    if (idx->dtype != JT_I64 && idx->dtype != JT_I32)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                            "indices have dtype %s, expected int32 or int64", jt_dtype_name(idx->dtype));
    int r = x->rank - 1 + idx->rank;
    JT_TRY(jt_check_rank(a->ctx, a->graph, a->node, r, "the output"));
    int64_t d[JT_MAX_RANK];
    int k = 0;
    for (int i = 0; i < ax; i++) d[k++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++) d[k++] = idx->dims[i];
    for (int i = ax + 1; i < x->rank; i++) d[k++] = x->dims[i];
    /* constant indices are checked now, the others at run time */
    if (idx->data) {
        int64_t n = jt_tensor_numel(idx), dim = x->dims[ax];
        for (int64_t i = 0; i < n; i++) {
            int64_t v = jt_tensor_get_i64(idx, i);
            if (v < -dim || v >= dim)
                return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_ARG,
                                    "index %lld is out of range for axis %d of size %lld", (long long)v,
                                    ax, (long long)dim);
        }
    }
    jt_tensor_set_shape(a->out[0], x->dtype, r, d);
    return JT_OK;
}

typedef struct {
    const char *src;
    char *dst;
    const jt_tensor *idx;
    int64_t n_idx, dim, block, outer, per_task;
    atomic_int bad; /* set when an index is out of range */
} gather_job;

static void gather_task(void *arg, int64_t t) {
    gather_job *j = arg;
    int64_t r0 = t * j->per_task, r1 = r0 + j->per_task, total = j->outer * j->n_idx;
    if (r1 > total) r1 = total;
    for (int64_t r = r0; r < r1; r++) {
        int64_t o = r / j->n_idx, i = r % j->n_idx;
        int64_t v = jt_tensor_get_i64(j->idx, i);
        if (v < 0) v += j->dim;
        if (v < 0 || v >= j->dim) {
            atomic_store_explicit(&j->bad, 1, memory_order_relaxed);
            memset(j->dst + r * j->block, 0, (size_t)j->block);
            continue;
        }
        memcpy(j->dst + r * j->block, j->src + (o * j->dim + v) * j->block, (size_t)j->block);
    }
}

static jt_status gather_kernel(const jt_kernel_args *a) {
    const gather_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0];
    int ax = (int)(p->axis < 0 ? p->axis + x->rank : p->axis);
    size_t es = jt_dtype_size(x->dtype);
    gather_job j = {.src = x->data, .dst = a->out[0]->data, .idx = a->in[1],
                    .n_idx = jt_tensor_numel(a->in[1]), .dim = x->dims[ax], .block = (int64_t)es, .outer = 1};
    for (int k = 0; k < ax; k++) j.outer *= x->dims[k];
    for (int k = ax + 1; k < x->rank; k++) j.block *= x->dims[k];
    int64_t total = j.outer * j.n_idx;
    if (total == 0) return JT_OK;
    j.per_task = j.block > 0 ? ((int64_t)1 << 18) / j.block : total;
    if (j.per_task < 1) j.per_task = 1;
    jt_pool_run(a->pool, gather_task, &j, (total + j.per_task - 1) / j.per_task);
    if (atomic_load(&j.bad))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_ARG,
                            "an index is out of range for axis %d of size %lld", ax, (long long)j.dim);
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
/* CUDA: indices are read on the device; out-of-range ones give zeros there (not reported). */
static jt_status gather_cuda(const jt_kernel_args *a) {
    const gather_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0];
    int ax = (int)(p->axis < 0 ? p->axis + x->rank : p->axis);
    int64_t outer = 1, block = 1;
    for (int k = 0; k < ax; k++) outer *= x->dims[k];
    for (int k = ax + 1; k < x->rank; k++) block *= x->dims[k];
    return jt_cuda_gather(a, a->out[0]->data, x->data, a->in[1]->data, a->in[1]->dtype == JT_I64,
                          jt_tensor_numel(a->in[1]), outer, x->dims[ax], block);
}
#endif

const jt_op_impl jt_impl_gather = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(gather_attrs),
    .parse = gather_parse,
    .infer = gather_infer,
    .cpu_f32 = gather_kernel, .cpu_f64 = gather_kernel, .cpu_other = gather_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = gather_cuda,
#endif
    .type_input = 0,
    .vjp = gather_vjp, .no_grad_mask = 1u << 1,
};

/* ---- gradients ----
 * Slice:  SliceGrad(dY, Shape(X), starts, ends, axes, steps) -> dX: zeros with dY scattered to the
 *         sliced positions (negative steps included); Slice-1's attributes become constant inputs.
 * Gather: GatherGrad(dY, indices, Shape(X)) -> dX: zeros plus dY's rows added at their indices, in index
 *         order (repeated indices accumulate; deterministic: each task owns a block of dX columns). */

static jt_status slice_vjp(jt_vjp_args *v) {
    const slice_attrs *p = v->attrs;
    if (!v->need[0]) return JT_OK;
    int32_t ins[6] = {v->dy[0], -1, -1, -1, -1, -1};
    ins[1] = jt_gb_op(v->b, "Shape", "", NULL, &v->in[0], 1);
    if (v->n_in == 1) { /* Slice-1: attributes */
        ins[2] = jt_gb_const_i64s(v->b, p->starts, p->n_starts);
        ins[3] = jt_gb_const_i64s(v->b, p->ends, p->n_ends);
        if (p->n_axes >= 0) ins[4] = jt_gb_const_i64s(v->b, p->axes, p->n_axes);
    } else {
        for (int i = 1; i < v->n_in && i < 5; i++) ins[i + 1] = v->in[i];
    }
    v->dx[0] = jt_gb_op(v->b, "SliceGrad", JT_DOMAIN_GRAD, NULL, ins, 6);
    return jt_gb_status(v->b);
}

/* dX dims from the constant shape input in[idx] (a 1-D int64 list). */
static jt_status grad_target_dims(const jt_infer_args *a, int idx, int64_t *d, int *r) {
    JT_TRY(jt_read_const_ints(a->ctx, a->graph, a->node, a->in[idx], "shape", d, JT_MAX_RANK, r));
    if (!jt_dtype_is_float(a->in[0]->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "dY is %s, expected float32 or float64",
                            jt_dtype_name(a->in[0]->dtype));
    return JT_OK;
}

static jt_status slice_grad_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0];
    int64_t xd[JT_MAX_RANK], start[JT_MAX_RANK], step[JT_MAX_RANK], od[JT_MAX_RANK];
    int r;
    JT_TRY(grad_target_dims(a, 1, xd, &r));
    JT_TRY(slice_params(a->ctx, a->graph, a->node, a->attrs, false, r, xd, a->n_in - 2, a->in + 2, start, step, od));
    if (!jt_dims_equal(od, r, dy->dims, dy->rank)) {
        char s0[128], s1[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY is %s, the slice is %s",
                            jt_dims_str(dy->dims, dy->rank, s0, sizeof s0), jt_dims_str(od, r, s1, sizeof s1));
    }
    jt_tensor_set_shape(a->out[0], dy->dtype, r, xd);
    return JT_OK;
}

static jt_status slice_grad_kernel(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0];
    jt_tensor *dx = a->out[0];
    int64_t start[JT_MAX_RANK], step[JT_MAX_RANK], od[JT_MAX_RANK], st[JT_MAX_RANK];
    JT_TRY(slice_params(a->ctx, NULL, a->node, a->attrs, false, dx->rank, dx->dims, a->n_in - 2, a->in + 2, start,
                        step, od));
    size_t es = jt_dtype_size(dx->dtype);
    jt_par_zero(a->pool, dx->data, jt_tensor_nbytes(dx));
    jt_dims_strides(dx->rank, dx->dims, st);
    int64_t off = 0;
    for (int k = 0; k < dx->rank; k++) {
        off += start[k] * st[k];
        st[k] *= step[k];
    }
    jt_strided_scatter(a->pool, (char *)dx->data + off * (int64_t)es, dy->data, es, dy->rank, dy->dims, st);
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
/* CUDA: dX = 0, then dY scattered into the strided view computed at plan time. */
static jt_status slice_grad_cuda_prepare(const jt_kernel_args *a, void **state) {
    const jt_tensor *dx = a->out[0];
    return slice_state_new(a, false, dx->rank, dx->dims, a->n_in - 2, a->in + 2, state);
}

static jt_status slice_grad_cuda(const jt_kernel_args *a) {
    const slice_state *s = a->state;
    const jt_tensor *dy = a->in[0];
    jt_tensor *dx = a->out[0];
    if (!s) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "CUDA kernel without its plan state");
    JT_TRY(jt_cuda_zero(a, dx->data, jt_tensor_nbytes(dx)));
    return jt_cuda_strided_scatter(a, (float *)dx->data + s->off, dy->data, dy->rank, dy->dims, s->st);
}
#endif

const jt_op_impl jt_impl_slice_grad = {
    .min_in = 4, .max_in = 6, .min_out = 1, .max_out = 1,
    .infer = slice_grad_infer,
    .cpu_f32 = slice_grad_kernel, .cpu_f64 = slice_grad_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = slice_grad_cuda, .cuda_prepare = slice_grad_cuda_prepare, .cuda_release = jt_cuda_state_free,
#endif
    .type_input = 0,
    .no_grad_mask = ~1u, .const_mask = ~1u,
};

static jt_status gather_vjp(jt_vjp_args *v) {
    const gather_attrs *p = v->attrs;
    if (!v->need[0]) return JT_OK;
    int32_t shp = jt_gb_op(v->b, "Shape", "", NULL, &v->in[0], 1);
    jt_gb_attr_int(v->b, "axis", p->axis);
    v->dx[0] = jt_gb_op(v->b, "GatherGrad", JT_DOMAIN_GRAD, NULL, (int32_t[]){v->dy[0], v->in[1], shp}, 3);
    return jt_gb_status(v->b);
}

static jt_status gather_grad_infer(const jt_infer_args *a) {
    const gather_attrs *p = a->attrs;
    const jt_tensor *dy = a->in[0], *idx = a->in[1];
    int64_t xd[JT_MAX_RANK];
    int r, ax;
    JT_TRY(grad_target_dims(a, 2, xd, &r));
    JT_TRY(jt_norm_axis(a->ctx, a->graph, a->node, p->axis, r, &ax));
    if (idx->dtype != JT_I64 && idx->dtype != JT_I32)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                            "indices have dtype %s, expected int32 or int64", jt_dtype_name(idx->dtype));
    int64_t d[JT_MAX_RANK];
    int k = 0;
    bool ok = dy->rank == r - 1 + idx->rank;
    for (int i = 0; ok && i < ax; i++) d[k++] = xd[i];
    for (int i = 0; ok && i < idx->rank; i++) d[k++] = idx->dims[i];
    for (int i = ax + 1; ok && i < r; i++) d[k++] = xd[i];
    if (!ok || !jt_dims_equal(d, k, dy->dims, dy->rank)) {
        char s0[128], s1[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY is %s, expected the gather of %s",
                            jt_dims_str(dy->dims, dy->rank, s0, sizeof s0), jt_dims_str(xd, r, s1, sizeof s1));
    }
    jt_tensor_set_shape(a->out[0], dy->dtype, r, xd);
    return JT_OK;
}

#define GG_CHUNK 4096 /* dX columns per work unit */

typedef struct {
    const void *dy;
    void *dx;
    const int64_t *idx; /* normalised indices */
    int64_t n_idx, dim, block, n_chunks, units, per_task;
} gg_job;

#define DEF_GG(NAME, TYPE)                                                                                   \
    static void NAME(void *arg, int64_t t) {                                                                 \
        const gg_job *j = arg;                                                                               \
        int64_t u0 = t * j->per_task, u1 = u0 + j->per_task;                                                 \
        if (u1 > j->units) u1 = j->units;                                                                    \
        for (int64_t u = u0; u < u1; u++) {                                                                  \
            int64_t o = u / j->n_chunks, c0 = (u % j->n_chunks) * GG_CHUNK;                                  \
            int64_t len = j->block - c0 < GG_CHUNK ? j->block - c0 : GG_CHUNK;                               \
            TYPE *d = (TYPE *)j->dx + o * j->dim * j->block + c0;                                            \
            const TYPE *s = (const TYPE *)j->dy + o * j->n_idx * j->block + c0;                              \
            for (int64_t v = 0; v < j->dim; v++) memset(d + v * j->block, 0, sizeof(TYPE) * (size_t)len);  \
            for (int64_t i = 0; i < j->n_idx; i++) {                                                         \
                TYPE *dv = d + j->idx[i] * j->block;                                                         \
                const TYPE *si = s + i * j->block;                                                           \
                for (int64_t e = 0; e < len; e++) dv[e] += si[e];                                            \
            }                                                                                                \
        }                                                                                                    \
    }
DEF_GG(gg_f32, float)
DEF_GG(gg_f64, double)

static size_t gather_grad_workspace(const jt_kernel_args *a) {
    return sizeof(int64_t) * (size_t)(jt_tensor_numel(a->in[1]) + 1);
}

static jt_status gather_grad_kernel(const jt_kernel_args *a) {
    const gather_attrs *p = a->attrs;
    jt_tensor *dx = a->out[0];
    int ax = (int)(p->axis < 0 ? p->axis + dx->rank : p->axis);
    gg_job j = {.dy = a->in[0]->data, .dx = dx->data, .idx = a->ws, .n_idx = jt_tensor_numel(a->in[1]),
                .dim = dx->dims[ax], .block = 1};
    int64_t outer = 1, *ix = a->ws;
    for (int k = 0; k < ax; k++) outer *= dx->dims[k];
    for (int k = ax + 1; k < dx->rank; k++) j.block *= dx->dims[k];
    for (int64_t i = 0; i < j.n_idx; i++) {
        int64_t v = jt_tensor_get_i64(a->in[1], i);
        if (v < -j.dim || v >= j.dim)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_ARG, "index %lld is out of range for axis %d of size %lld",
                                (long long)v, ax, (long long)j.dim);
        ix[i] = v < 0 ? v + j.dim : v;
    }
    if (jt_tensor_numel(dx) == 0) return JT_OK;
    j.n_chunks = (j.block + GG_CHUNK - 1) / GG_CHUNK;
    j.units = outer * j.n_chunks;
    int64_t work = (j.n_idx + j.dim) * (j.block < GG_CHUNK ? j.block : GG_CHUNK);
    j.per_task = work > 0 && ((int64_t)1 << 16) / work > 0 ? ((int64_t)1 << 16) / work : 1;
    jt_pool_run(a->pool, dx->dtype == JT_F32 ? gg_f32 : gg_f64, &j, (j.units + j.per_task - 1) / j.per_task);
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
/* CUDA: one thread per dX element sums dY over the matching indices in index order (deterministic). */
static jt_status gather_grad_cuda(const jt_kernel_args *a) {
    const gather_attrs *p = a->attrs;
    jt_tensor *dx = a->out[0];
    int ax = (int)(p->axis < 0 ? p->axis + dx->rank : p->axis);
    int64_t outer = 1, block = 1;
    for (int k = 0; k < ax; k++) outer *= dx->dims[k];
    for (int k = ax + 1; k < dx->rank; k++) block *= dx->dims[k];
    return jt_cuda_gather_grad(a, dx->data, a->in[0]->data, a->in[1]->data, a->in[1]->dtype == JT_I64,
                               jt_tensor_numel(a->in[1]), outer, dx->dims[ax], block);
}
#endif

const jt_op_impl jt_impl_gather_grad = {
    .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(gather_attrs),
    .parse = gather_parse,
    .infer = gather_grad_infer,
    .workspace = gather_grad_workspace,
    .cpu_f32 = gather_grad_kernel, .cpu_f64 = gather_grad_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = gather_grad_cuda,
#endif
    .type_input = 0,
    .no_grad_mask = 0x6u, .const_mask = 0x4u,
};
