/* Pad (1: 'paddings' attribute; 2: 'pads' attribute; 11, 13: constant 'pads' input and optional
 * 'constant_value' input; 18: optional constant 'axes' input). Modes constant, reflect and edge; negative
 * pads crop. Dtype-generic by element size: each output row (last axis) is a constant fill, or a left pad,
 * a memcpy of the source row and a right pad. The gradient op PadGrad is at the end of the file. */
#include <string.h>

#include "jatp/builder.h"
#include "shape_hd.h"
#include "shape_util.h"
#ifdef JT_HAVE_CUDA
#include <stdlib.h>

#include "shape_cuda.h"
#endif

enum { PAD_CONSTANT = JT_PAD_CONSTANT, PAD_REFLECT = JT_PAD_REFLECT, PAD_EDGE = JT_PAD_EDGE };

static jt_status pad_vjp(jt_vjp_args *v);

typedef struct {
    int mode;
    int n_pads; /* attribute form (before 11) */
    int64_t pads[2 * JT_MAX_RANK];
    double value;
} pad_attrs;

static jt_status parse_mode(jt_ctx *ctx, const jt_graph *g, const jt_node *n, pad_attrs *p) {
    const char *mode;
    JT_TRY(jt_attr_string(ctx, g, n, "mode", "constant", &mode));
    if (strcmp(mode, "constant") == 0) p->mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0) p->mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0) p->mode = PAD_EDGE;
    else
        return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "mode '%s' is not supported (constant, reflect, edge)",
                            mode);
    return JT_OK;
}

static jt_status pad_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    pad_attrs *p = attrs;
    int since = n->op ? n->op->since : n->opset;
    static const char *const known1[] = {"paddings", "mode", "value", NULL};
    static const char *const known2[] = {"pads", "mode", "value", NULL};
    static const char *const known11[] = {"mode", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, since >= 11 ? known11 : since >= 2 ? known2 : known1));
    JT_TRY(parse_mode(ctx, g, n, p));
    JT_TRY(jt_attr_float(ctx, g, n, "value", 0.0, &p->value));
    if (since < 11) {
        const char *name = since >= 2 ? "pads" : "paddings";
        if (!jt_node_attr(n, name))
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute '%s' is required", name);
        JT_TRY(jt_attr_ints(ctx, g, n, name, p->pads, 2 * JT_MAX_RANK, &p->n_pads));
    }
    return JT_OK;
}

/* Per-axis begin/end pads for an input of dims xd[rank]: from the attribute (attr_form) or the
 * constant inputs pads = in[ip], axes = in[ia] (optional). g may be NULL (kernel). */
static jt_status pads_of(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const pad_attrs *p, bool attr_form,
                         int rank, const int64_t *xd, int n_in, const jt_tensor *const *in, int ip, int ia,
                         int64_t *pb, int64_t *pe) {
    int64_t pads[2 * JT_MAX_RANK], axes[JT_MAX_RANK];
    int np, na = -1;
    if (attr_form) {
        np = p->n_pads;
        memcpy(pads, p->pads, sizeof pads);
    } else {
        if (n_in <= ip || !in[ip]) return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "input 'pads' is required");
        JT_TRY(jt_read_const_ints(ctx, g, n, in[ip], "pads", pads, 2 * JT_MAX_RANK, &np));
        const jt_tensor *ta = jt_in_opt(n_in, in, ia);
        if (ta) JT_TRY(jt_read_const_ints(ctx, g, n, ta, "axes", axes, JT_MAX_RANK, &na));
    }
    if (na < 0) {
        na = rank;
        for (int i = 0; i < na; i++) axes[i] = i;
    }
    if (np != 2 * na)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "pads has %d values, expected %d (2 x %d axes)", np,
                            2 * na, na);
    for (int k = 0; k < rank; k++) pb[k] = pe[k] = 0;
    for (int i = 0; i < na; i++) {
        int ax;
        JT_TRY(jt_norm_axis(ctx, g, n, axes[i], rank, &ax));
        pb[ax] = pads[i];
        pe[ax] = pads[i + na];
    }
    for (int k = 0; k < rank; k++) {
        int64_t o = xd[k] + pb[k] + pe[k];
        if (o < 0)
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "pads %lld, %lld make axis %d of size %lld negative",
                                (long long)pb[k], (long long)pe[k], k, (long long)xd[k]);
        if (p->mode != PAD_CONSTANT && xd[k] == 0 && o > 0)
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "cannot %s-pad the empty axis %d",
                                p->mode == PAD_EDGE ? "edge" : "reflect", k);
    }
    return JT_OK;
}

static jt_status get_pads(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const pad_attrs *p, int n_in,
                          const jt_tensor *const *in, int64_t *pb, int64_t *pe) {
    int since = n->op ? n->op->since : n->opset;
    return pads_of(ctx, g, n, p, since < 11, in[0]->rank, in[0]->dims, n_in, in, 1, 3, pb, pe);
}

static jt_status pad_infer(const jt_infer_args *a) {
    const jt_tensor *x = a->in[0];
    int64_t pb[JT_MAX_RANK], pe[JT_MAX_RANK], d[JT_MAX_RANK];
    JT_TRY(get_pads(a->ctx, a->graph, a->node, a->attrs, a->n_in, a->in, pb, pe));
    for (int k = 0; k < x->rank; k++) d[k] = x->dims[k] + pb[k] + pe[k];
    const jt_tensor *cv = jt_in_opt(a->n_in, a->in, 2);
    if (cv && (cv->dtype != x->dtype || jt_tensor_numel(cv) > 1))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                            "constant_value must be a scalar of the input's dtype %s (got %s with %lld elements)",
                            jt_dtype_name(x->dtype), jt_dtype_name(cv->dtype), (long long)jt_tensor_numel(cv));
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, d);
    return JT_OK;
}

/* Maps an out-of-range source index into [0, n) (n > 0): shape_hd.h, shared with the CUDA kernel. */
#define map_index jt_pad_map_index

typedef struct {
    const char *src;
    char *dst;
    size_t es;
    int rank, mode;
    const int64_t *xd, *od, *pb;
    int64_t is[JT_MAX_RANK];
    char value[8];
    int64_t rows, rows_per_task;
} pad_job;

static void fill(char *d, const char *v, size_t es, int64_t n) {
    for (int64_t i = 0; i < n; i++) memcpy(d + (size_t)i * es, v, es);
}

static void next_index(int64_t *idx, const int64_t *dims, int n) {
    for (int k = n - 1; k >= 0; k--) {
        if (++idx[k] < dims[k]) return;
        idx[k] = 0;
    }
}

static void pad_task(void *arg, int64_t t) {
    const pad_job *j = arg;
    int r = j->rank;
    int64_t r0 = t * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->rows) r1 = j->rows;
    int64_t idx[JT_MAX_RANK] = {0}, rem = r0;
    for (int k = r - 2; k >= 0; k--) {
        idx[k] = rem % j->od[k];
        rem /= j->od[k];
    }
    int64_t L = j->od[r - 1], n = j->xd[r - 1], b = j->pb[r - 1];
    size_t es = j->es;
    for (int64_t row = r0; row < r1; row++, next_index(idx, j->od, r - 1)) {
        char *d = j->dst + (size_t)(row * L) * es;
        int64_t so = 0;
        bool outside = false;
        for (int k = 0; k < r - 1; k++) {
            int64_t i = idx[k] - j->pb[k];
            if (i < 0 || i >= j->xd[k]) {
                if (j->mode == PAD_CONSTANT) {
                    outside = true;
                    break;
                }
                i = map_index(j->mode, i, j->xd[k]);
            }
            so += i * j->is[k];
        }
        if (outside) {
            fill(d, j->value, es, L);
            continue;
        }
        const char *s = j->src + (size_t)so * es;
        /* output positions [lo, hi) read source [lo - b, hi - b) directly */
        int64_t lo = b > 0 ? b : 0, hi = n + b < L ? n + b : L;
        if (hi < lo) hi = lo;
        for (int64_t o = 0; o < lo && o < L; o++) {
            if (j->mode == PAD_CONSTANT) memcpy(d + (size_t)o * es, j->value, es);
            else memcpy(d + (size_t)o * es, s + (size_t)map_index(j->mode, o - b, n) * es, es);
        }
        if (hi > lo) memcpy(d + (size_t)lo * es, s + (size_t)(lo - b) * es, (size_t)(hi - lo) * es);
        for (int64_t o = hi > lo ? hi : lo; o < L; o++) {
            if (j->mode == PAD_CONSTANT) memcpy(d + (size_t)o * es, j->value, es);
            else memcpy(d + (size_t)o * es, s + (size_t)map_index(j->mode, o - b, n) * es, es);
        }
    }
}

static void value_bytes(jt_dtype dt, double v, char *out) {
    memset(out, 0, 8);
    switch (dt) {
    case JT_F32: { float f = (float)v; memcpy(out, &f, 4); break; }
    case JT_F64: memcpy(out, &v, 8); break;
    case JT_I64: case JT_U64: { int64_t i = (int64_t)v; memcpy(out, &i, 8); break; }
    case JT_I32: case JT_U32: { int32_t i = (int32_t)v; memcpy(out, &i, 4); break; }
    case JT_I16: case JT_U16: { int16_t i = (int16_t)v; memcpy(out, &i, 2); break; }
    default: { int8_t i = (int8_t)v; memcpy(out, &i, 1); break; }
    }
}

static jt_status pad_kernel(const jt_kernel_args *a) {
    const pad_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0], *y = a->out[0];
    int64_t pb[JT_MAX_RANK], pe[JT_MAX_RANK];
    JT_TRY(get_pads(a->ctx, NULL, a->node, p, a->n_in, a->in, pb, pe));
    int since = a->node->op ? a->node->op->since : a->node->opset;
    int64_t total = jt_tensor_numel(y);
    if (total == 0) return JT_OK;
    pad_job j = {.src = x->data, .dst = y->data, .es = jt_dtype_size(x->dtype), .rank = x->rank,
                 .mode = p->mode, .xd = x->dims, .od = y->dims, .pb = pb};
    const jt_tensor *cv = jt_in_opt(a->n_in, a->in, 2);
    if (since >= 11) {
        memset(j.value, 0, sizeof j.value);
        if (cv && jt_tensor_numel(cv) == 1) memcpy(j.value, cv->data, j.es);
    } else {
        value_bytes(x->dtype, p->value, j.value);
    }
    if (x->rank == 0) {
        memcpy(y->data, x->data, j.es);
        return JT_OK;
    }
    if (jt_tensor_numel(x) == 0) { /* constant mode only (checked in get_pads) */
        fill(y->data, j.value, j.es, total);
        return JT_OK;
    }
    jt_dims_strides(x->rank, x->dims, j.is);
    int64_t L = y->dims[x->rank - 1];
    j.rows = total / L;
    j.rows_per_task = 65536 / L;
    if (j.rows_per_task < 1) j.rows_per_task = 1;
    jt_pool_run(a->pool, pad_task, &j, (j.rows + j.rows_per_task - 1) / j.rows_per_task);
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
/* CUDA: the pads/axes inputs live on the device at run time, so cuda_prepare reads them (host data at
 * plan time) into the node's state; constant_value is read by the kernel from device memory. */
typedef struct {
    int64_t pb[JT_MAX_RANK];
} pad_state;

static jt_status pad_cuda_prepare(const jt_kernel_args *a, void **state) {
    pad_state *s = calloc(1, sizeof *s);
    int64_t pe[JT_MAX_RANK];
    if (!s) return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    jt_status st = get_pads(a->ctx, a->graph, a->node, a->attrs, a->n_in, a->in, s->pb, pe);
    if (st != JT_OK) {
        free(s);
        return st;
    }
    *state = s;
    return JT_OK;
}

static jt_status pad_cuda(const jt_kernel_args *a) {
    const pad_attrs *p = a->attrs;
    const pad_state *s = a->state;
    const jt_tensor *x = a->in[0], *y = a->out[0];
    if (!s) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "CUDA kernel without its plan state");
    int since = a->node->op ? a->node->op->since : a->node->opset;
    const jt_tensor *cv = jt_in_opt(a->n_in, a->in, 2);
    const float *cvp = since >= 11 && cv && jt_tensor_numel(cv) == 1 ? cv->data : NULL;
    float value = since >= 11 ? 0.0f : (float)p->value;
    return jt_cuda_pad(a, y->data, x->data, x->rank, x->dims, y->dims, s->pb, p->mode, cvp, value);
}
#endif

const jt_op_impl jt_impl_pad = {
    .min_in = 1, .max_in = 4, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(pad_attrs),
    .parse = pad_parse,
    .infer = pad_infer,
    .cpu_f32 = pad_kernel, .cpu_f64 = pad_kernel, .cpu_other = pad_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = pad_cuda, .cuda_prepare = pad_cuda_prepare, .cuda_release = jt_cuda_state_free,
#endif
    .type_input = 0,
    .vjp = pad_vjp, .no_grad_mask = 0xAu, .const_mask = 0xAu,
};

/* ---- gradient ----
 * PadGrad(dY, Shape(X), pads[, axes]) -> dX, attribute mode: the adjoint of Pad. Constant mode with
 * non-negative pads is a strided copy of dY's interior; otherwise (crops, reflect, edge) a separable
 * per-axis adjoint in which every padded position adds its dY to the source element it copied. The
 * gradient with respect to constant_value is not supported (it is almost always a constant). */

static jt_status pad_vjp(jt_vjp_args *v) {
    const pad_attrs *p = v->attrs;
    static const char *const modes[] = {"constant", "reflect", "edge"};
    if (v->n_in > 2 && v->need[2])
        return jt_fail(v->b->ctx, JT_ERR_UNSUPPORTED, "Pad backward: the gradient with respect to constant_value "
                                                      "is not supported");
    if (!v->need[0]) return JT_OK;
    int32_t ins[4] = {v->dy[0], -1, -1, -1};
    ins[1] = jt_gb_op(v->b, "Shape", "", NULL, &v->in[0], 1);
    if (v->n_in >= 2 && v->in[1] >= 0) {
        ins[2] = v->in[1];
        if (v->n_in >= 4) ins[3] = v->in[3];
    } else { /* Pad-1/2: attribute */
        ins[2] = jt_gb_const_i64s(v->b, p->pads, p->n_pads);
    }
    jt_gb_attr_string(v->b, "mode", modes[p->mode]);
    v->dx[0] = jt_gb_op(v->b, "PadGrad", JT_DOMAIN_GRAD, NULL, ins, 4);
    return jt_gb_status(v->b);
}

static jt_status pad_grad_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"mode", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    return parse_mode(ctx, g, n, attrs);
}

static jt_status pad_grad_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0];
    int64_t xd[JT_MAX_RANK], pb[JT_MAX_RANK], pe[JT_MAX_RANK];
    int r;
    if (!jt_dtype_is_float(dy->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "dY is %s, expected float32 or float64",
                            jt_dtype_name(dy->dtype));
    JT_TRY(jt_read_const_ints(a->ctx, a->graph, a->node, a->in[1], "shape", xd, JT_MAX_RANK, &r));
    JT_TRY(pads_of(a->ctx, a->graph, a->node, a->attrs, false, r, xd, a->n_in, a->in, 2, 3, pb, pe));
    bool ok = dy->rank == r;
    for (int k = 0; ok && k < r; k++) ok = dy->dims[k] == xd[k] + pb[k] + pe[k];
    if (!ok) {
        char s0[128], s1[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY %s is not the padding of %s",
                            jt_dims_str(dy->dims, dy->rank, s0, sizeof s0), jt_dims_str(xd, r, s1, sizeof s1));
    }
    jt_tensor_set_shape(a->out[0], dy->dtype, r, xd);
    return JT_OK;
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Per-axis maps (NULL where the axis is unpadded) with their tables carved from ws (ws NULL: sizes
 * only); returns the table bytes. */
static size_t pad_maps(int mode, int r, const int64_t *xd, const int64_t *yd, const int64_t *pb, const int64_t *pe,
                       char *ws, jt_axis_map *m, const jt_axis_map **maps) {
    size_t off = 0;
    for (int d = 0; d < r; d++) {
        maps[d] = NULL;
        if (pb[d] == 0 && pe[d] == 0) continue;
        maps[d] = &m[d];
        m[d] = (jt_axis_map){.n_in = xd[d], .n_out = yd[d], .T = 1};
        int64_t *idx = ws ? (int64_t *)(ws + off) : NULL;
        off += align64((size_t)yd[d] * 8);
        uint8_t *zero = ws ? (uint8_t *)(ws + off) : NULL;
        off += align64((size_t)yd[d]);
        m[d].idx = idx;
        m[d].zero = zero;
        for (int64_t o = 0; ws && o < yd[d]; o++) {
            int64_t i = o - pb[d];
            zero[o] = mode == PAD_CONSTANT && (i < 0 || i >= xd[d]);
            idx[o] = zero[o] ? 0 : map_index(mode, i, xd[d]);
        }
    }
    return off;
}

static bool pad_fast(int mode, int r, const int64_t *pb, const int64_t *pe) {
    if (mode != PAD_CONSTANT) return false;
    for (int k = 0; k < r; k++)
        if (pb[k] < 0 || pe[k] < 0) return false;
    return true;
}

static size_t pad_grad_workspace(const jt_kernel_args *a) {
    const pad_attrs *p = a->attrs;
    const jt_tensor *dy = a->in[0], *dx = a->out[0];
    int64_t pb[JT_MAX_RANK], pe[JT_MAX_RANK];
    jt_axis_map m[JT_MAX_RANK];
    const jt_axis_map *maps[JT_MAX_RANK];
    int r = dx->rank;
    if (pads_of(a->ctx, NULL, a->node, p, false, r, dx->dims, a->n_in, a->in, 2, 3, pb, pe) != JT_OK ||
        pad_fast(p->mode, r, pb, pe))
        return 0;
    size_t t = pad_maps(p->mode, r, dx->dims, dy->dims, pb, pe, NULL, m, maps);
    return t + jt_sep_adjoint_workspace(r, dx->dims, dy->dims, maps, jt_dtype_size(dy->dtype));
}

static jt_status pad_grad_kernel(const jt_kernel_args *a) {
    const pad_attrs *p = a->attrs;
    const jt_tensor *dy = a->in[0];
    jt_tensor *dx = a->out[0];
    int64_t pb[JT_MAX_RANK], pe[JT_MAX_RANK], st[JT_MAX_RANK];
    int r = dx->rank;
    size_t es = jt_dtype_size(dx->dtype);
    JT_TRY(pads_of(a->ctx, NULL, a->node, p, false, r, dx->dims, a->n_in, a->in, 2, 3, pb, pe));
    if (jt_tensor_numel(dx) == 0) return JT_OK;
    if (pad_fast(p->mode, r, pb, pe)) { /* dX = the interior of dY */
        int64_t off = 0;
        jt_dims_strides(r, dy->dims, st);
        for (int k = 0; k < r; k++) off += pb[k] * st[k];
        jt_strided_copy(a->pool, dx->data, (const char *)dy->data + off * (int64_t)es, es, r, dx->dims, st);
        return JT_OK;
    }
    jt_axis_map m[JT_MAX_RANK];
    const jt_axis_map *maps[JT_MAX_RANK];
    size_t t = pad_maps(p->mode, r, dx->dims, dy->dims, pb, pe, NULL, m, maps);
    if (!a->ws || a->ws_size < t + jt_sep_adjoint_workspace(r, dx->dims, dy->dims, maps, es))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "workspace too small");
    pad_maps(p->mode, r, dx->dims, dy->dims, pb, pe, a->ws, m, maps);
    jt_sep_adjoint(a->pool, dx->dtype, r, dx->dims, dy->dims, maps, dx->data, dy->data, (char *)a->ws + t);
    return JT_OK;
}

#ifdef JT_HAVE_CUDA
/* CUDA: the fast case is a strided copy of dY's interior; otherwise the separable adjoint with its
 * tables built from the same maps at plan time (jt_cuda_sep_adj: deterministic, no atomics). */
typedef struct {
    bool fast;
    int64_t st[JT_MAX_RANK], off;
    jt_cuda_sep_adj *adj;
} pad_grad_state;

static void pad_grad_cuda_release(void *state) {
    pad_grad_state *s = state;
    if (!s) return;
    jt_cuda_sep_adj_free(s->adj);
    free(s);
}

static jt_status pad_grad_cuda_prepare(const jt_kernel_args *a, void **state) {
    const pad_attrs *p = a->attrs;
    const jt_tensor *dy = a->in[0], *dx = a->out[0];
    int64_t pb[JT_MAX_RANK], pe[JT_MAX_RANK];
    int r = dx->rank;
    JT_TRY(pads_of(a->ctx, a->graph, a->node, p, false, r, dx->dims, a->n_in, a->in, 2, 3, pb, pe));
    pad_grad_state *s = calloc(1, sizeof *s);
    if (!s) return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    s->fast = pad_fast(p->mode, r, pb, pe);
    if (s->fast) {
        jt_dims_strides(r, dy->dims, s->st);
        for (int k = 0; k < r; k++) s->off += pb[k] * s->st[k];
        *state = s;
        return JT_OK;
    }
    jt_axis_map m[JT_MAX_RANK];
    const jt_axis_map *maps[JT_MAX_RANK];
    size_t t = pad_maps(p->mode, r, dx->dims, dy->dims, pb, pe, NULL, m, maps);
    char *buf = malloc(t ? t : 1);
    if (!buf) {
        free(s);
        return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    }
    pad_maps(p->mode, r, dx->dims, dy->dims, pb, pe, buf, m, maps);
    jt_status st = jt_cuda_sep_adj_create(a, r, dx->dims, dy->dims, maps, &s->adj);
    free(buf);
    if (st != JT_OK) {
        free(s);
        return st;
    }
    *state = s;
    return JT_OK;
}

static jt_status pad_grad_cuda(const jt_kernel_args *a) {
    const pad_grad_state *s = a->state;
    const jt_tensor *dy = a->in[0];
    jt_tensor *dx = a->out[0];
    if (!s) return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "CUDA kernel without its plan state");
    if (jt_tensor_numel(dx) == 0) return JT_OK;
    if (s->fast) return jt_cuda_strided_copy(a, dx->data, (const float *)dy->data + s->off, dx->rank, dx->dims, s->st);
    return jt_cuda_sep_adj_run(a, s->adj, dx->data, dy->data, a->ws);
}
#endif

const jt_op_impl jt_impl_pad_grad = {
    .min_in = 3, .max_in = 4, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(pad_attrs),
    .parse = pad_grad_parse,
    .infer = pad_grad_infer,
    .workspace = pad_grad_workspace,
    .cpu_f32 = pad_grad_kernel, .cpu_f64 = pad_grad_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = pad_grad_cuda, .cuda_prepare = pad_grad_cuda_prepare, .cuda_release = pad_grad_cuda_release,
    .cuda_workspace = pad_grad_workspace,
#endif
    .type_input = 0,
    .no_grad_mask = 0xEu, .const_mask = 0xEu,
};
