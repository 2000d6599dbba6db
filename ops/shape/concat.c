/* Concat (1, 4, 11, 13) and Split (1, 2, 11, 13, 18). Dtype-generic block copies: with outer = the
 * product of the dims before the axis, each input (output) contributes one contiguous block per outer
 * index. Split sizes come from the 'split' attribute (before 13), the constant 'split' input (13+; also
 * accepted as the optional second input of Split-1), 'num_outputs' (18), or equal parts. Gradients
 * (ConcatGrad, Split's Concat) are at the end of the file. */
#include <string.h>

#include "jatp/builder.h"
#include "shape_util.h"
#ifdef JT_HAVE_CUDA
#include <stdlib.h>

#include "shape_cuda.h"
#endif

#define MAX_PARTS 1024

#define MAX_SPLIT_ATTR 64

static jt_status concat_vjp(jt_vjp_args *v);
static jt_status split_vjp(jt_vjp_args *v);

typedef struct {
    int64_t axis;
    bool has_axis;
} concat_attrs;

typedef struct {
    int64_t axis;
    int n_split; /* -1: none in the attribute */
    int64_t split[MAX_SPLIT_ATTR];
    int64_t num_outputs; /* 0: absent */
} split_attrs;

static jt_status concat_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    concat_attrs *p = attrs;
    static const char *const known[] = {"axis", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    p->has_axis = jt_node_attr(n, "axis") != NULL;
    JT_TRY(jt_attr_int(ctx, g, n, "axis", 1, &p->axis)); /* default 1 only in Concat-1 */
    if (!p->has_axis && n->op && n->op->since >= 4)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute 'axis' is required");
    return JT_OK;
}

static jt_status concat_infer(const jt_infer_args *a) {
    const concat_attrs *p = a->attrs;
    const jt_tensor *x0 = a->in[0];
    int ax;
    if (a->n_in > MAX_PARTS)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "%d inputs, at most %d supported",
                            a->n_in, MAX_PARTS);
    if (p->axis < 0 && a->node->op && a->node->op->since < 11)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                            "negative axis %lld is not allowed before opset 11", (long long)p->axis);
    JT_TRY(jt_norm_axis(a->ctx, a->graph, a->node, p->axis, x0->rank, &ax));
    int64_t d[JT_MAX_RANK];
    memcpy(d, x0->dims, sizeof(int64_t) * (size_t)x0->rank);
    d[ax] = 0;
    for (int i = 0; i < a->n_in; i++) {
        const jt_tensor *x = a->in[i];
        if (!x)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "input %d is omitted", i);
        bool ok = x->rank == x0->rank && x->dtype == x0->dtype;
        for (int k = 0; ok && k < x->rank; k++)
            if (k != ax && x->dims[k] != x0->dims[k]) ok = false;
        if (!ok) {
            char s0[128], s1[128];
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                                "input %d is %s %s, incompatible with input 0 %s %s on axis %d", i,
                                jt_dtype_name(x->dtype), jt_dims_str(x->dims, x->rank, s1, sizeof s1),
                                jt_dtype_name(x0->dtype), jt_dims_str(x0->dims, x0->rank, s0, sizeof s0), ax);
        }
        d[ax] += x->dims[ax];
    }
    jt_tensor_set_shape(a->out[0], x0->dtype, x0->rank, d);
    return JT_OK;
}

/* One side is a single tensor (whole, `big`), the other n parts split along the axis. */
typedef struct {
    char *big;
    char **part;
    int64_t *part_bytes; /* block bytes per outer index */
    int n;
    int64_t big_row; /* bytes of one outer row of big */
    int64_t outer, rows_per_task;
    bool to_big; /* Concat: parts -> big; Split: big -> parts */
} blk_job;

static void blk_task(void *arg, int64_t t) {
    const blk_job *j = arg;
    int64_t r0 = t * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->outer) r1 = j->outer;
    for (int64_t o = r0; o < r1; o++) {
        char *b = j->big + o * j->big_row;
        for (int i = 0; i < j->n; i++) {
            int64_t pb = j->part_bytes[i];
            if (pb == 0) continue;
            if (j->to_big)
                memcpy(b, j->part[i] + o * pb, (size_t)pb);
            else if (j->part[i])
                memcpy(j->part[i] + o * pb, b, (size_t)pb);
            b += pb;
        }
    }
}

static void blk_run(jt_pool *pool, blk_job *j) {
    if (j->outer == 1) { /* one block per part: copy each in parallel chunks */
        char *b = j->big;
        for (int i = 0; i < j->n; i++) {
            if (j->to_big)
                jt_par_memcpy(pool, b, j->part[i], (size_t)j->part_bytes[i]);
            else if (j->part[i])
                jt_par_memcpy(pool, j->part[i], b, (size_t)j->part_bytes[i]);
            b += j->part_bytes[i];
        }
        return;
    }
    int64_t per = j->big_row > 0 ? ((int64_t)1 << 18) / j->big_row : j->outer;
    j->rows_per_task = per < 1 ? 1 : per;
    jt_pool_run(pool, blk_task, j, (j->outer + j->rows_per_task - 1) / j->rows_per_task);
}

static void axis_geometry(const jt_tensor *t, int ax, int64_t *outer, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int k = 0; k < ax; k++) *outer *= t->dims[k];
    for (int k = ax + 1; k < t->rank; k++) *inner *= t->dims[k];
}

static jt_status concat_kernel(const jt_kernel_args *a) {
    const concat_attrs *p = a->attrs;
    const jt_tensor *y = a->out[0];
    int ax = (int)(p->axis < 0 ? p->axis + y->rank : p->axis);
    size_t es = jt_dtype_size(y->dtype);
    char *parts[MAX_PARTS];
    int64_t pbytes[MAX_PARTS];
    int64_t outer, inner;
    axis_geometry(y, ax, &outer, &inner);
    for (int i = 0; i < a->n_in; i++) {
        parts[i] = a->in[i]->data;
        pbytes[i] = a->in[i]->dims[ax] * inner * (int64_t)es;
    }
    blk_job j = {.big = y->data, .part = parts, .part_bytes = pbytes, .n = a->n_in,
                 .big_row = y->dims[ax] * inner * (int64_t)es, .outer = outer, .to_big = true};
    blk_run(a->pool, &j);
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
/* CUDA: one block copy per input into its column range of Y's rows. */
static jt_status concat_cuda(const jt_kernel_args *a) {
    const concat_attrs *p = a->attrs;
    const jt_tensor *y = a->out[0];
    int ax = (int)(p->axis < 0 ? p->axis + y->rank : p->axis);
    int64_t outer, inner, off = 0;
    axis_geometry(y, ax, &outer, &inner);
    int64_t row = y->dims[ax] * inner;
    for (int i = 0; i < a->n_in; i++) {
        int64_t cols = a->in[i]->dims[ax] * inner;
        JT_TRY(jt_cuda_copy2d(a, (float *)y->data + off, row, a->in[i]->data, cols, outer, cols));
        off += cols;
    }
    return JT_OK;
}

/* Split and ConcatGrad on CUDA: the part sizes come from constant inputs, which live on the device at
 * run time, so cuda_prepare reads them (host data at plan time) into the node's state. */
typedef struct {
    int ax;
    int64_t sizes[];
} parts_state;

static jt_status parts_state_new(const jt_kernel_args *a, int ax, const int64_t *sizes, void **state) {
    parts_state *s = malloc(sizeof *s + sizeof(int64_t) * (size_t)(a->n_out > 0 ? a->n_out : 1));
    if (!s) return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    s->ax = ax;
    memcpy(s->sizes, sizes, sizeof(int64_t) * (size_t)a->n_out);
    *state = s;
    return JT_OK;
}

/* Outputs i = column ranges of the rows of big (tensor bt). */
static jt_status parts_cuda(const jt_kernel_args *a, const jt_tensor *bt) {
    const parts_state *s = a->state;
    if (!s) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "CUDA kernel without its plan state");
    int64_t outer, inner, off = 0;
    axis_geometry(bt, s->ax, &outer, &inner);
    int64_t row = bt->dims[s->ax] * inner;
    for (int i = 0; i < a->n_out; i++) {
        int64_t cols = s->sizes[i] * inner;
        if (a->out[i]) JT_TRY(jt_cuda_copy2d(a, a->out[i]->data, cols, (const float *)bt->data + off, row, outer, cols));
        off += cols;
    }
    return JT_OK;
}
#endif

const jt_op_impl jt_impl_concat = {
    .min_in = 1, .max_in = -1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(concat_attrs),
    .parse = concat_parse,
    .infer = concat_infer,
    .cpu_f32 = concat_kernel, .cpu_f64 = concat_kernel, .cpu_other = concat_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = concat_cuda,
#endif
    .type_input = 0,
    .vjp = concat_vjp,
};

/* ---- Split ---- */

static jt_status split_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    split_attrs *p = attrs;
    int since = n->op ? n->op->since : n->opset;
    static const char *const known_attr[] = {"axis", "split", NULL};
    static const char *const known_13[] = {"axis", NULL};
    static const char *const known_18[] = {"axis", "num_outputs", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, since >= 18 ? known_18 : since >= 13 ? known_13 : known_attr));
    JT_TRY(jt_attr_int(ctx, g, n, "axis", 0, &p->axis));
    JT_TRY(jt_attr_int(ctx, g, n, "num_outputs", 0, &p->num_outputs));
    p->n_split = -1;
    if (jt_node_attr(n, "split")) JT_TRY(jt_attr_ints(ctx, g, n, "split", p->split, MAX_SPLIT_ATTR, &p->n_split));
    if (n->n_out > MAX_PARTS)
        return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "%d outputs, at most %d supported", n->n_out,
                            MAX_PARTS);
    return JT_OK;
}

/* Computes the part sizes along the axis (sizes[n_out]). g may be NULL (kernel). */
static jt_status split_sizes(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const split_attrs *p,
                             int n_in, const jt_tensor *const *in, int n_out, int *ax_out,
                             int64_t *sizes) {
    const jt_tensor *x = in[0];
    int since = n->op ? n->op->since : n->opset;
    int ax;
    if (p->axis < 0 && since < 11)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "negative axis %lld is not allowed before opset 11",
                            (long long)p->axis);
    JT_TRY(jt_norm_axis(ctx, g, n, p->axis, x->rank, &ax));
    *ax_out = ax;
    int64_t dim = x->dims[ax];
    const jt_tensor *st = jt_in_opt(n_in, in, 1);
    int cnt = -1;
    if (st && jt_tensor_numel(st) > 0) {
        JT_TRY(jt_read_const_ints(ctx, g, n, st, "split", sizes, MAX_PARTS, &cnt));
    } else if (p->n_split >= 0) {
        cnt = p->n_split;
        memcpy(sizes, p->split, sizeof(int64_t) * (size_t)cnt);
    }
    if (cnt >= 0) {
        if (cnt != n_out)
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "'split' has %d values but the node has %d outputs",
                                cnt, n_out);
        int64_t sum = 0;
        for (int i = 0; i < cnt; i++) {
            if (sizes[i] < 0)
                return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "split[%d] = %lld is negative", i,
                                    (long long)sizes[i]);
            sum += sizes[i];
        }
        if (sum != dim)
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "'split' sums to %lld, but axis %d has size %lld",
                                (long long)sum, ax, (long long)dim);
        return JT_OK;
    }
    if (p->num_outputs > 0) { /* opset 18: ceil-sized parts, the last one smaller */
        if (p->num_outputs != n_out)
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "num_outputs = %lld but the node has %d outputs",
                                (long long)p->num_outputs, n_out);
        int64_t part = (dim + n_out - 1) / n_out, left = dim;
        for (int i = 0; i < n_out; i++) {
            sizes[i] = left < part ? left : part;
            left -= sizes[i];
        }
        return JT_OK;
    }
    if (dim % n_out != 0)
        return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "axis %d of size %lld does not split into %d equal parts",
                            ax, (long long)dim, n_out);
    for (int i = 0; i < n_out; i++) sizes[i] = dim / n_out;
    return JT_OK;
}

static jt_status split_infer(const jt_infer_args *a) {
    int64_t sizes[MAX_PARTS];
    int ax;
    JT_TRY(split_sizes(a->ctx, a->graph, a->node, a->attrs, a->n_in, a->in, a->n_out, &ax, sizes));
    const jt_tensor *x = a->in[0];
    for (int i = 0; i < a->n_out; i++) {
        if (!a->out[i]) continue;
        jt_tensor_set_shape(a->out[i], x->dtype, x->rank, x->dims);
        a->out[i]->dims[ax] = sizes[i];
    }
    return JT_OK;
}

static jt_status split_kernel(const jt_kernel_args *a) {
    int64_t sizes[MAX_PARTS], pbytes[MAX_PARTS];
    char *parts[MAX_PARTS];
    int ax;
    JT_TRY(split_sizes(a->ctx, NULL, a->node, a->attrs, a->n_in, a->in, a->n_out, &ax, sizes));
    const jt_tensor *x = a->in[0];
    size_t es = jt_dtype_size(x->dtype);
    int64_t outer, inner;
    axis_geometry(x, ax, &outer, &inner);
    for (int i = 0; i < a->n_out; i++) {
        parts[i] = a->out[i] ? a->out[i]->data : NULL;
        pbytes[i] = sizes[i] * inner * (int64_t)es;
    }
    blk_job j = {.big = x->data, .part = parts, .part_bytes = pbytes, .n = a->n_out,
                 .big_row = x->dims[ax] * inner * (int64_t)es, .outer = outer, .to_big = false};
    blk_run(a->pool, &j);
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
static jt_status split_cuda_prepare(const jt_kernel_args *a, void **state) {
    int64_t sizes[MAX_PARTS];
    int ax = 0;
    JT_TRY(split_sizes(a->ctx, a->graph, a->node, a->attrs, a->n_in, a->in, a->n_out, &ax, sizes));
    return parts_state_new(a, ax, sizes, state);
}

static jt_status split_cuda(const jt_kernel_args *a) { return parts_cuda(a, a->in[0]); }
#endif

const jt_op_impl jt_impl_split = {
    .min_in = 1, .max_in = 2, .min_out = 1, .max_out = -1,
    .attr_size = sizeof(split_attrs),
    .parse = split_parse,
    .infer = split_infer,
    .cpu_f32 = split_kernel, .cpu_f64 = split_kernel, .cpu_other = split_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = split_cuda, .cuda_prepare = split_cuda_prepare, .cuda_release = jt_cuda_state_free,
#endif
    .type_input = 0,
    .vjp = split_vjp, .no_grad_mask = 1u << 1, .const_mask = 1u << 1,
};

/* ---- gradients ----
 * Concat: ConcatGrad(dY, Shape(X_0), ..., Shape(X_n-1)) -> dX_0..dX_n-1, a Split whose part sizes come
 *   from the (plan-time constant) input shapes, so the forward inputs need not stay alive.
 * Split: dX = Concat(dY_0, ..., dY_n-1), ZerosLike(Y_j) standing in for outputs without a gradient. */

static jt_status concat_vjp(jt_vjp_args *v) {
    const concat_attrs *p = v->attrs;
    int32_t ins[65], outs[64];
    if (v->n_in > 64) return jt_fail(v->b->ctx, JT_ERR_UNSUPPORTED, "Concat backward: at most 64 inputs");
    ins[0] = v->dy[0];
    for (int i = 0; i < v->n_in; i++) ins[i + 1] = jt_gb_op(v->b, "Shape", "", NULL, &v->in[i], 1);
    jt_gb_attr_int(v->b, "axis", p->axis);
    if (jt_gb_node(v->b, "ConcatGrad", JT_DOMAIN_GRAD, NULL, ins, v->n_in + 1, outs, v->n_in) != 0)
        return jt_gb_status(v->b);
    for (int i = 0; i < v->n_in; i++)
        if (v->need[i]) v->dx[i] = outs[i];
    return jt_gb_status(v->b);
}

static jt_status split_vjp(jt_vjp_args *v) {
    const split_attrs *p = v->attrs;
    int32_t ins[64];
    if (!v->need[0]) return JT_OK;
    if (v->n_out > 64) return jt_fail(v->b->ctx, JT_ERR_UNSUPPORTED, "Split backward: at most 64 outputs");
    for (int j = 0; j < v->n_out; j++) {
        if (v->dy[j] >= 0) {
            ins[j] = v->dy[j];
            continue;
        }
        if (v->out[j] < 0)
            return jt_fail(v->b->ctx, JT_ERR_UNSUPPORTED, "Split backward: output %d is omitted, its size is unknown",
                           j);
        ins[j] = jt_gb_op(v->b, "ZerosLike", JT_DOMAIN_GRAD, NULL, &v->out[j], 1);
    }
    jt_gb_attr_int(v->b, "axis", p->axis);
    v->dx[0] = jt_gb_op(v->b, "Concat", "", NULL, ins, v->n_out);
    return jt_gb_status(v->b);
}

static jt_status concat_grad_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    concat_attrs *p = attrs;
    static const char *const known[] = {"axis", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    p->has_axis = jt_node_attr(n, "axis") != NULL;
    if (!p->has_axis) return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute 'axis' is required");
    return jt_attr_int(ctx, g, n, "axis", 0, &p->axis);
}

static jt_status concat_grad_infer(const jt_infer_args *a) {
    const concat_attrs *p = a->attrs;
    const jt_tensor *dy = a->in[0];
    int ax;
    if (!jt_dtype_is_float(dy->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "dY is %s, expected float32 or float64",
                            jt_dtype_name(dy->dtype));
    if (a->n_out != a->n_in - 1)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL, "%d shapes but %d outputs", a->n_in - 1,
                            a->n_out);
    JT_TRY(jt_norm_axis(a->ctx, a->graph, a->node, p->axis, dy->rank, &ax));
    int64_t sum = 0;
    for (int i = 0; i < a->n_out; i++) {
        int64_t d[JT_MAX_RANK];
        int r;
        JT_TRY(jt_read_const_ints(a->ctx, a->graph, a->node, a->in[i + 1], "shape", d, JT_MAX_RANK, &r));
        bool ok = r == dy->rank;
        for (int k = 0; ok && k < r; k++)
            if (k != ax && d[k] != dy->dims[k]) ok = false;
        if (!ok) {
            char s0[128], s1[128];
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "part %d %s does not fit dY %s on axis %d",
                                i, jt_dims_str(d, r, s1, sizeof s1), jt_dims_str(dy->dims, dy->rank, s0, sizeof s0),
                                ax);
        }
        sum += d[ax];
        if (a->out[i]) jt_tensor_set_shape(a->out[i], dy->dtype, r, d);
    }
    if (sum != dy->dims[ax])
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "parts sum to %lld on axis %d, dY has %lld",
                            (long long)sum, ax, (long long)dy->dims[ax]);
    return JT_OK;
}

static jt_status concat_grad_kernel(const jt_kernel_args *a) {
    const concat_attrs *p = a->attrs;
    const jt_tensor *dy = a->in[0];
    int ax = (int)(p->axis < 0 ? p->axis + dy->rank : p->axis);
    size_t es = jt_dtype_size(dy->dtype);
    char *parts[MAX_PARTS];
    int64_t pbytes[MAX_PARTS], outer, inner;
    axis_geometry(dy, ax, &outer, &inner);
    for (int i = 0; i < a->n_out; i++) {
        parts[i] = a->out[i] ? a->out[i]->data : NULL;
        pbytes[i] = jt_tensor_get_i64(a->in[i + 1], ax) * inner * (int64_t)es;
    }
    blk_job j = {.big = dy->data, .part = parts, .part_bytes = pbytes, .n = a->n_out,
                 .big_row = dy->dims[ax] * inner * (int64_t)es, .outer = outer, .to_big = false};
    blk_run(a->pool, &j);
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
static jt_status concat_grad_cuda_prepare(const jt_kernel_args *a, void **state) {
    const concat_attrs *p = a->attrs;
    const jt_tensor *dy = a->in[0];
    int ax = (int)(p->axis < 0 ? p->axis + dy->rank : p->axis);
    int64_t sizes[MAX_PARTS];
    if (a->n_out > MAX_PARTS)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "%d outputs, at most %d supported", a->n_out,
                            MAX_PARTS);
    for (int i = 0; i < a->n_out; i++) {
        if (!a->in[i + 1]->data)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "shape input %d is not a constant", i + 1);
        sizes[i] = jt_tensor_get_i64(a->in[i + 1], ax);
    }
    return parts_state_new(a, ax, sizes, state);
}

static jt_status concat_grad_cuda(const jt_kernel_args *a) { return parts_cuda(a, a->in[0]); }
#endif

const jt_op_impl jt_impl_concat_grad = {
    .min_in = 2, .max_in = -1, .min_out = 1, .max_out = -1,
    .attr_size = sizeof(concat_attrs),
    .parse = concat_grad_parse,
    .infer = concat_grad_infer,
    .cpu_f32 = concat_grad_kernel, .cpu_f64 = concat_grad_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = concat_grad_cuda, .cuda_prepare = concat_grad_cuda_prepare, .cuda_release = jt_cuda_state_free,
#endif
    .type_input = 0,
    .no_grad_mask = ~1u, .const_mask = ~1u,
};
