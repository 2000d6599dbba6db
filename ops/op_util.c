/* Shape and element helpers shared by op infer functions and kernels. */
#include <string.h>

#include "op.h"

jt_status jt_broadcast_dims(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const jt_tensor *a,
                            const jt_tensor *b, jt_tensor *out) {
    int r = a->rank > b->rank ? a->rank : b->rank;
    int64_t d[JT_MAX_RANK];
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1)
            d[i] = da;
        else if (da == 1)
            d[i] = db;
        else {
            char sa[128], sb[128];
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "shapes %s and %s do not broadcast (axis %d: %lld vs %lld)",
                                jt_dims_str(a->dims, a->rank, sa, sizeof sa),
                                jt_dims_str(b->dims, b->rank, sb, sizeof sb), i, (long long)da,
                                (long long)db);
        }
    }
    out->rank = r;
    memcpy(out->dims, d, sizeof(int64_t) * (size_t)r);
    return JT_OK;
}

jt_status jt_norm_axis(jt_ctx *ctx, const jt_graph *g, const jt_node *n, int64_t axis, int rank,
                       int *out) {
    if (axis < -rank || axis >= (rank > 0 ? rank : 1))
        return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "axis %lld is out of range for rank %d",
                            (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return JT_OK;
}

int64_t jt_tensor_get_i64(const jt_tensor *t, int64_t i) {
    switch (t->dtype) {
    case JT_I64: return ((const int64_t *)t->data)[i];
    case JT_I32: return ((const int32_t *)t->data)[i];
    case JT_U8: return ((const uint8_t *)t->data)[i];
    case JT_BOOL: return ((const uint8_t *)t->data)[i];
    case JT_F32: return (int64_t)((const float *)t->data)[i];
    case JT_F64: return (int64_t)((const double *)t->data)[i];
    case JT_U64: return (int64_t)((const uint64_t *)t->data)[i];
    default: return (int64_t)jt_tensor_get_f64(t, i);
    }
}

double jt_tensor_get_f64(const jt_tensor *t, int64_t i) {
    switch (t->dtype) {
    case JT_F32: return ((const float *)t->data)[i];
    case JT_F64: return ((const double *)t->data)[i];
    case JT_I64: return (double)((const int64_t *)t->data)[i];
    case JT_I32: return ((const int32_t *)t->data)[i];
    case JT_I16: return ((const int16_t *)t->data)[i];
    case JT_I8: return ((const int8_t *)t->data)[i];
    case JT_U8: case JT_BOOL: return ((const uint8_t *)t->data)[i];
    case JT_U16: return ((const uint16_t *)t->data)[i];
    case JT_U32: return ((const uint32_t *)t->data)[i];
    case JT_U64: return (double)((const uint64_t *)t->data)[i];
    default: return 0.0;
    }
}

void jt_tensor_set_shape(jt_tensor *t, jt_dtype dt, int rank, const int64_t *dims) {
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
}
