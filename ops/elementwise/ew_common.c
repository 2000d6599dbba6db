/* Broadcast iteration, chunked parallel loops and dtype helpers of the element-wise family. */
#include <string.h>

#include "ew_common.h"

void ew_bcast_init(ew_bcast *b, int out_rank, const int64_t *out_dims, int n, const int *ranks,
                   const int64_t *const *dims) {
    memset(b, 0, sizeof *b);
    b->n = n;
    b->numel = 1;
    for (int i = 0; i < out_rank; i++) b->numel *= out_dims[i];
    /* full strides per operand, right-aligned to the output */
    int64_t full[EW_MAX_IN][JT_MAX_RANK];
    for (int k = 0; k < n; k++) {
        int64_t s = 1;
        for (int i = out_rank - 1; i >= 0; i--) {
            int ik = i - (out_rank - ranks[k]);
            int64_t d = ik >= 0 ? dims[k][ik] : 1;
            full[k][i] = (d == 1 && out_dims[i] != 1) ? 0 : s;
            s *= d;
        }
    }
    /* drop size-1 output axes, merge axes that are contiguous for every operand */
    int r = 0;
    for (int i = 0; i < out_rank; i++) {
        if (out_dims[i] == 1) continue;
        if (r > 0) {
            bool merge = true;
            for (int k = 0; k < n; k++)
                if (b->st[k][r - 1] != full[k][i] * out_dims[i]) merge = false;
            if (merge) {
                b->dims[r - 1] *= out_dims[i];
                for (int k = 0; k < n; k++) b->st[k][r - 1] = full[k][i];
                continue;
            }
        }
        b->dims[r] = out_dims[i];
        for (int k = 0; k < n; k++) b->st[k][r] = full[k][i];
        r++;
    }
    if (r == 0) { /* scalar output */
        b->dims[0] = 1;
        for (int k = 0; k < n; k++) b->st[k][0] = 0;
        r = 1;
    }
    b->rank = r;
}

void ew_bcast_tensors(ew_bcast *b, const jt_tensor *out, int n, const jt_tensor *const *in) {
    int ranks[EW_MAX_IN];
    const int64_t *dims[EW_MAX_IN];
    for (int k = 0; k < n; k++) {
        ranks[k] = in[k]->rank;
        dims[k] = in[k]->dims;
    }
    ew_bcast_init(b, out->rank, out->dims, n, ranks, dims);
}

static void bcast_range(const ew_bcast *b, ew_run_fn fn, const void *ctx, int64_t lo, int64_t hi) {
    const int r = b->rank, n = b->n;
    const int64_t inner = b->dims[r - 1];
    int64_t idx[JT_MAX_RANK] = {0}, off[EW_MAX_IN] = {0}, ist[EW_MAX_IN], cur[EW_MAX_IN];
    int64_t rem = lo / inner, pos = lo % inner;
    for (int i = r - 2; i >= 0; i--) {
        idx[i] = rem % b->dims[i];
        rem /= b->dims[i];
    }
    for (int k = 0; k < n; k++) {
        ist[k] = b->st[k][r - 1];
        for (int i = 0; i < r - 1; i++) off[k] += idx[i] * b->st[k][i];
    }
    int64_t o = lo;
    while (o < hi) {
        int64_t len = inner - pos < hi - o ? inner - pos : hi - o;
        for (int k = 0; k < n; k++) cur[k] = off[k] + pos * ist[k];
        fn(ctx, cur, ist, o, len);
        o += len;
        pos = 0;
        for (int i = r - 2; i >= 0; i--) {
            for (int k = 0; k < n; k++) off[k] += b->st[k][i];
            if (++idx[i] < b->dims[i]) break;
            for (int k = 0; k < n; k++) off[k] -= b->st[k][i] * b->dims[i];
            idx[i] = 0;
        }
    }
}

typedef struct {
    const ew_bcast *b;
    ew_run_fn fn;
    ew_flat_fn flat;
    const void *ctx;
    int64_t n;
} run_job;

static void bcast_task(void *arg, int64_t t) {
    const run_job *j = arg;
    int64_t lo = t * EW_CHUNK, hi = lo + EW_CHUNK;
    if (hi > j->b->numel) hi = j->b->numel;
    bcast_range(j->b, j->fn, j->ctx, lo, hi);
}

void ew_bcast_run(jt_pool *pool, const ew_bcast *b, ew_run_fn fn, const void *ctx) {
    if (b->numel <= 0) return;
    run_job j = {.b = b, .fn = fn, .ctx = ctx};
    int64_t tasks = (b->numel + EW_CHUNK - 1) / EW_CHUNK;
    if (tasks == 1)
        bcast_range(b, fn, ctx, 0, b->numel);
    else
        jt_pool_run(pool, bcast_task, &j, tasks);
}

static void flat_task(void *arg, int64_t t) {
    const run_job *j = arg;
    int64_t lo = t * EW_CHUNK, hi = lo + EW_CHUNK;
    if (hi > j->n) hi = j->n;
    j->flat(j->ctx, lo, hi);
}

void ew_flat_run(jt_pool *pool, int64_t n, ew_flat_fn fn, const void *ctx) {
    if (n <= 0) return;
    run_job j = {.flat = fn, .ctx = ctx, .n = n};
    int64_t tasks = (n + EW_CHUNK - 1) / EW_CHUNK;
    if (tasks == 1)
        fn(ctx, 0, n);
    else
        jt_pool_run(pool, flat_task, &j, tasks);
}

jt_status ew_broadcast_n(const jt_infer_args *a, int n, const jt_tensor *const *in, jt_tensor *out) {
    jt_tensor acc = *in[0];
    for (int k = 1; k < n; k++) {
        jt_tensor next;
        JT_TRY(jt_broadcast_dims(a->ctx, a->graph, a->node, &acc, in[k], &next));
        acc.rank = next.rank;
        memcpy(acc.dims, next.dims, sizeof(int64_t) * (size_t)next.rank);
    }
    out->rank = acc.rank;
    memcpy(out->dims, acc.dims, sizeof(int64_t) * (size_t)acc.rank);
    return JT_OK;
}

bool ew_is_int(jt_dtype dt) {
    switch (dt) {
    case JT_I8: case JT_U8: case JT_I16: case JT_U16: case JT_I32: case JT_I64: case JT_U32:
    case JT_U64: return true;
    default: return false;
    }
}

bool ew_is_signed(jt_dtype dt) {
    return dt == JT_I8 || dt == JT_I16 || dt == JT_I32 || dt == JT_I64;
}

bool ew_is_numeric(jt_dtype dt) { return dt == JT_F32 || dt == JT_F64 || ew_is_int(dt); }

jt_status ew_check_dtype(const jt_infer_args *a, int idx, bool ok, const char *what) {
    if (ok) return JT_OK;
    return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                        "input %d has dtype %s, expected %s", idx, jt_dtype_name(a->in[idx]->dtype),
                        what);
}

jt_status ew_check_same(const jt_infer_args *a, int i, int j) {
    if (a->in[i]->dtype == a->in[j]->dtype) return JT_OK;
    return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                        "inputs %d and %d have dtypes %s and %s, expected the same dtype", i, j,
                        jt_dtype_name(a->in[i]->dtype), jt_dtype_name(a->in[j]->dtype));
}

void ew_cost_per_elem(const jt_kernel_args *a, double per_elem, double *flops, double *bytes) {
    double b = 0;
    for (int i = 0; i < a->n_in; i++)
        if (a->in[i]) b += (double)jt_tensor_nbytes(a->in[i]);
    for (int i = 0; i < a->n_out; i++)
        if (a->out[i]) b += (double)jt_tensor_nbytes(a->out[i]);
    *flops = per_elem * (double)jt_tensor_numel(a->out[0]);
    *bytes = b;
}

void ew_cost_1(const jt_kernel_args *a, double *flops, double *bytes) {
    ew_cost_per_elem(a, 1.0, flops, bytes);
}

double ew_load_f64(const void *p, jt_dtype dt, int64_t i) {
    switch (dt) {
    case JT_F32: return ((const float *)p)[i];
    case JT_F64: return ((const double *)p)[i];
    case JT_I8: return ((const int8_t *)p)[i];
    case JT_U8: case JT_BOOL: return ((const uint8_t *)p)[i];
    case JT_I16: return ((const int16_t *)p)[i];
    case JT_U16: return ((const uint16_t *)p)[i];
    case JT_I32: return ((const int32_t *)p)[i];
    case JT_U32: return ((const uint32_t *)p)[i];
    case JT_I64: return (double)((const int64_t *)p)[i];
    case JT_U64: return (double)((const uint64_t *)p)[i];
    default: return 0.0;
    }
}

int64_t ew_load_i64(const void *p, jt_dtype dt, int64_t i) {
    switch (dt) {
    case JT_F32: return ew_f2i64(((const float *)p)[i]);
    case JT_F64: return ew_f2i64(((const double *)p)[i]);
    case JT_I8: return ((const int8_t *)p)[i];
    case JT_U8: case JT_BOOL: return ((const uint8_t *)p)[i];
    case JT_I16: return ((const int16_t *)p)[i];
    case JT_U16: return ((const uint16_t *)p)[i];
    case JT_I32: return ((const int32_t *)p)[i];
    case JT_U32: return ((const uint32_t *)p)[i];
    case JT_I64: return ((const int64_t *)p)[i];
    case JT_U64: return (int64_t)((const uint64_t *)p)[i];
    default: return 0;
    }
}

int ew_type_index(jt_dtype dt) {
    switch (dt) {
    case JT_F32: return 0;
    case JT_F64: return 1;
    case JT_I8: return 2;
    case JT_U8: return 3;
    case JT_I16: return 4;
    case JT_U16: return 5;
    case JT_I32: return 6;
    case JT_I64: return 7;
    case JT_U32: return 8;
    case JT_U64: return 9;
    default: return -1;
    }
}

jt_status ew_legacy_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"broadcast", "axis", NULL};
    ew_legacy_attrs *at = attrs;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_attr_int(ctx, g, n, "broadcast", 0, &at->broadcast));
    JT_TRY(jt_attr_int(ctx, g, n, "axis", 0, &at->axis));
    at->has_axis = jt_node_attr(n, "axis") != NULL;
    return JT_OK;
}

jt_status ew_legacy_b_dims(jt_ctx *ctx, const jt_graph *g, const jt_node *n,
                           const ew_legacy_attrs *at, const jt_tensor *A, const jt_tensor *B,
                           int *rank, int64_t *dims) {
    char sa[128], sb[128];
    jt_dims_str(A->dims, A->rank, sa, sizeof sa);
    jt_dims_str(B->dims, B->rank, sb, sizeof sb);
    if (!at->broadcast) {
        if (!jt_dims_equal(A->dims, A->rank, B->dims, B->rank))
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE,
                                "shapes %s and %s differ and attribute broadcast is 0", sa, sb);
        *rank = B->rank;
        memcpy(dims, B->dims, sizeof(int64_t) * (size_t)B->rank);
        return JT_OK;
    }
    int64_t axis = at->has_axis ? at->axis : A->rank - B->rank;
    if (axis < 0 && at->has_axis) axis += A->rank;
    if (axis < 0 || axis + B->rank > A->rank)
        return jt_node_fail(ctx, g, n, JT_ERR_SHAPE,
                            "legacy broadcast of B %s into A %s at axis %lld is out of range", sb, sa,
                            (long long)(at->has_axis ? at->axis : axis));
    int r = A->rank - (int)axis;
    for (int i = 0; i < r; i++) {
        int64_t d = i < B->rank ? B->dims[i] : 1;
        if (d != 1 && d != A->dims[axis + i])
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE,
                                "legacy broadcast: B %s does not match A %s at axis %lld", sb, sa,
                                (long long)axis);
        dims[i] = d;
    }
    *rank = r;
    return JT_OK;
}
