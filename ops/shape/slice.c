/* Slice (1: starts/ends/axes attributes; 10, 11, 13: constant inputs starts, ends, axes, steps) and
 * Gather (1, 11, 13). Slice clamps starts/ends as ONNX specifies (negative steps included) and copies
 * with jt_strided_copy; Gather copies one contiguous block per (outer index, index). */
#include <stdatomic.h>
#include <string.h>

#include "shape_util.h"

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

/* Per-axis start and step, and output dims. g may be NULL (kernel). */
static jt_status slice_params(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const slice_attrs *p,
                              int n_in, const jt_tensor *const *in, int64_t *start, int64_t *step,
                              int64_t *od) {
    const jt_tensor *x = in[0];
    int64_t starts[JT_MAX_RANK], ends[JT_MAX_RANK], axes[JT_MAX_RANK], steps[JT_MAX_RANK];
    int ns, ne, na = -1, nst = -1;
    if (n->op && n->op->since < 10) {
        ns = p->n_starts;
        ne = p->n_ends;
        na = p->n_axes;
        memcpy(starts, p->starts, sizeof starts);
        memcpy(ends, p->ends, sizeof ends);
        memcpy(axes, p->axes, sizeof axes);
    } else {
        if (n_in < 3 || !in[1] || !in[2])
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "inputs 'starts' and 'ends' are required");
        JT_TRY(jt_read_const_ints(ctx, g, n, in[1], "starts", starts, JT_MAX_RANK, &ns));
        JT_TRY(jt_read_const_ints(ctx, g, n, in[2], "ends", ends, JT_MAX_RANK, &ne));
        const jt_tensor *ta = jt_in_opt(n_in, in, 3), *ts = jt_in_opt(n_in, in, 4);
        if (ta) JT_TRY(jt_read_const_ints(ctx, g, n, ta, "axes", axes, JT_MAX_RANK, &na));
        if (ts) JT_TRY(jt_read_const_ints(ctx, g, n, ts, "steps", steps, JT_MAX_RANK, &nst));
    }
    if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL,
                            "starts, ends, axes and steps have different lengths (%d, %d, %d, %d)", ns, ne,
                            na, nst);
    for (int k = 0; k < x->rank; k++) {
        start[k] = 0;
        step[k] = 1;
        od[k] = x->dims[k];
    }
    bool seen[JT_MAX_RANK] = {false};
    for (int i = 0; i < ns; i++) {
        int ax = i;
        if (na >= 0) JT_TRY(jt_norm_axis(ctx, g, n, axes[i], x->rank, &ax));
        else if (i >= x->rank)
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "%d starts for an input of rank %d", ns, x->rank);
        if (seen[ax])
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "axis %d is repeated", ax);
        seen[ax] = true;
        int64_t dim = x->dims[ax], s = starts[i], e = ends[i], st = nst >= 0 ? steps[i] : 1;
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
    JT_TRY(slice_params(a->ctx, a->graph, a->node, a->attrs, a->n_in, a->in, start, step, od));
    jt_tensor_set_shape(a->out[0], a->in[0]->dtype, a->in[0]->rank, od);
    return JT_OK;
}

static jt_status slice_kernel(const jt_kernel_args *a) {
    int64_t start[JT_MAX_RANK], step[JT_MAX_RANK], od[JT_MAX_RANK], is[JT_MAX_RANK];
    const jt_tensor *x = a->in[0];
    JT_TRY(slice_params(a->ctx, NULL, a->node, a->attrs, a->n_in, a->in, start, step, od));
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

const jt_op_impl jt_impl_slice = {
    .min_in = 1, .max_in = 5, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(slice_attrs),
    .parse = slice_parse,
    .infer = slice_infer,
    .cpu_f32 = slice_kernel, .cpu_f64 = slice_kernel, .cpu_other = slice_kernel,
    .type_input = 0,
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
        return jt_node_fail(a->ctx, NULL, a->node, JT_ERR_ARG,
                            "an index is out of range for axis %d of size %lld", ax, (long long)j.dim);
    return JT_OK;
}

const jt_op_impl jt_impl_gather = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(gather_attrs),
    .parse = gather_parse,
    .infer = gather_infer,
    .cpu_f32 = gather_kernel, .cpu_f64 = gather_kernel, .cpu_other = gather_kernel,
    .type_input = 0,
};
