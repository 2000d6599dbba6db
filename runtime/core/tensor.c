/* Tensor and dtype utilities. */
#include <stdio.h>
#include <string.h>

#include "jatp/tensor.h"

size_t jt_dtype_size(jt_dtype dt) {
    switch (dt) {
    case JT_F32: case JT_I32: case JT_U32: return 4;
    case JT_F64: case JT_I64: case JT_U64: return 8;
    case JT_U8: case JT_I8: case JT_BOOL: return 1;
    case JT_U16: case JT_I16: case JT_F16: return 2;
    default: return 0;
    }
}

const char *jt_dtype_name(jt_dtype dt) {
    switch (dt) {
    case JT_F32: return "float32";
    case JT_F64: return "float64";
    case JT_F16: return "float16";
    case JT_I64: return "int64";
    case JT_I32: return "int32";
    case JT_I16: return "int16";
    case JT_I8: return "int8";
    case JT_U64: return "uint64";
    case JT_U32: return "uint32";
    case JT_U16: return "uint16";
    case JT_U8: return "uint8";
    case JT_BOOL: return "bool";
    case JT_STRING: return "string";
    case JT_UNDEF: return "undefined";
    }
    return "unknown";
}

bool jt_dtype_is_float(jt_dtype dt) { return dt == JT_F32 || dt == JT_F64; }

bool jt_dtype_supported(jt_dtype dt) {
    return dt != JT_UNDEF && dt != JT_STRING && dt != JT_F16 && jt_dtype_size(dt) > 0;
}

int64_t jt_tensor_numel(const jt_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->dims[i];
    return n;
}

size_t jt_tensor_nbytes(const jt_tensor *t) {
    return (size_t)jt_tensor_numel(t) * jt_dtype_size(t->dtype);
}

char *jt_dims_str(const int64_t *dims, int rank, char *buf, size_t cap) {
    size_t k = 0;
    if (cap == 0) return buf;
    buf[0] = 0;
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int i = 0; i < rank && k < cap; i++) {
        if (dims[i] < 0)
            k += (size_t)snprintf(buf + k, cap - k, "%s?", i ? "," : "");
        else
            k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)dims[i]);
    }
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

bool jt_dims_equal(const int64_t *a, int ra, const int64_t *b, int rb) {
    if (ra != rb) return false;
    for (int i = 0; i < ra; i++)
        if (a[i] != b[i]) return false;
    return true;
}
