/* TensorProto -> dense tensor: raw_data (little-endian), typed repeated fields, external data files. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jatp/io.h"
#include "onnx_internal.h"

#define MAX_TENSOR_BYTES ((uint64_t)1 << 36) /* 64 GiB */

static jt_status read_external(jt_ctx *ctx, const Onnx__TensorProto *tp, const char *file,
                               const char *what, const char *base_dir, void *dst, size_t need) {
    const char *location = NULL;
    int64_t offset = 0, length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || !e->value) continue;
        if (strcmp(e->key, "location") == 0) location = e->value;
        else if (strcmp(e->key, "offset") == 0) offset = strtoll(e->value, NULL, 10);
        else if (strcmp(e->key, "length") == 0) length = strtoll(e->value, NULL, 10);
    }
    if (!location || !location[0])
        return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: %s: external data without a 'location'", file, what);
    if (location[0] == '/' || strstr(location, ".."))
        return jt_fail(ctx, JT_ERR_INVALID_MODEL,
                       "%s: %s: external data location '%s' must be a relative path inside the model's directory",
                       file, what, location);
    if (offset < 0 || (length >= 0 && (uint64_t)length != need))
        return jt_fail(ctx, JT_ERR_INVALID_MODEL,
                       "%s: %s: external data length %lld does not match the tensor's %zu bytes", file,
                       what, (long long)length, need);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", base_dir && base_dir[0] ? base_dir : ".", location);
    FILE *f = fopen(path, "rb");
    if (!f)
        return jt_fail(ctx, JT_ERR_IO, "%s: %s: cannot open external data file '%s': %s", file, what,
                       path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || (uint64_t)st.st_size < (uint64_t)offset + need) {
        fclose(f);
        return jt_fail(ctx, JT_ERR_INVALID_MODEL,
                       "%s: %s: external data file '%s' is too short (%lld bytes; need offset %lld + %zu)",
                       file, what, path, (long long)st.st_size, (long long)offset, need);
    }
    if (fseeko(f, offset, SEEK_SET) != 0 || fread(dst, 1, need, f) != need) {
        fclose(f);
        return jt_fail(ctx, JT_ERR_IO, "%s: %s: reading external data file '%s' failed", file, what, path);
    }
    fclose(f);
    return JT_OK;
}

jt_status jt_tensor_from_proto(jt_ctx *ctx, const Onnx__TensorProto *tp, const char *file,
                               const char *what, const char *base_dir, jt_alloc_fn alloc,
                               void *alloc_user, jt_tensor *out) {
    memset(out, 0, sizeof *out);
    jt_dtype dt = (jt_dtype)tp->data_type;
    if (!jt_dtype_supported(dt))
        return jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: %s: tensor data type %s (%d) is not supported", file,
                       what, jt_dtype_name(dt), tp->data_type);
    if (tp->n_dims > JT_MAX_RANK)
        return jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: %s: rank %zu is above the supported %d", file, what,
                       tp->n_dims, JT_MAX_RANK);
    if (tp->segment)
        return jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: %s: segmented tensors are not supported", file, what);
    out->dtype = dt;
    out->rank = (int32_t)tp->n_dims;
    uint64_t n = 1;
    size_t esz = jt_dtype_size(dt);
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0)
            return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: %s: negative dimension %lld", file, what,
                           (long long)tp->dims[i]);
        out->dims[i] = tp->dims[i];
        if (tp->dims[i] && n > MAX_TENSOR_BYTES / (uint64_t)tp->dims[i] / esz)
            return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: %s: declared dimensions are too large", file, what);
        n *= (uint64_t)tp->dims[i];
    }
    size_t need = (size_t)n * esz;
    void *dst = alloc(alloc_user, need ? need : 1);
    if (!dst) return jt_fail(ctx, JT_ERR_OOM, "%s: %s: out of memory for %zu bytes", file, what, need);
    out->data = dst;

    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return read_external(ctx, tp, file, what, base_dir, dst, need);
    if (tp->has_raw_data) {
        if (tp->raw_data.len != need)
            return jt_fail(ctx, JT_ERR_INVALID_MODEL,
                           "%s: %s: raw_data has %zu bytes, the declared %s shape needs %zu", file, what,
                           tp->raw_data.len, jt_dtype_name(dt), need);
        if (need) memcpy(dst, tp->raw_data.data, need); /* x86-64 and aarch64 are little-endian */
        return JT_OK;
    }
    size_t have;
    switch (dt) {
    case JT_F32: have = tp->n_float_data; break;
    case JT_F64: have = tp->n_double_data; break;
    case JT_I64: have = tp->n_int64_data; break;
    case JT_U32: case JT_U64: have = tp->n_uint64_data; break;
    default: have = tp->n_int32_data; break; /* int32, int16, int8, uint16, uint8, bool */
    }
    if (have != n)
        return jt_fail(ctx, JT_ERR_INVALID_MODEL, "%s: %s: has %zu values, the declared shape needs %llu",
                       file, what, have, (unsigned long long)n);
    for (size_t i = 0; i < (size_t)n; i++) {
        switch (dt) {
        case JT_F32: ((float *)dst)[i] = tp->float_data[i]; break;
        case JT_F64: ((double *)dst)[i] = tp->double_data[i]; break;
        case JT_I64: ((int64_t *)dst)[i] = tp->int64_data[i]; break;
        case JT_U64: ((uint64_t *)dst)[i] = tp->uint64_data[i]; break;
        case JT_U32: ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i]; break;
        case JT_I32: ((int32_t *)dst)[i] = tp->int32_data[i]; break;
        case JT_I16: ((int16_t *)dst)[i] = (int16_t)tp->int32_data[i]; break;
        case JT_U16: ((uint16_t *)dst)[i] = (uint16_t)tp->int32_data[i]; break;
        case JT_I8: ((int8_t *)dst)[i] = (int8_t)tp->int32_data[i]; break;
        case JT_U8: case JT_BOOL: ((uint8_t *)dst)[i] = (uint8_t)tp->int32_data[i]; break;
        default: break;
        }
    }
    return JT_OK;
}

static void *malloc_fn(void *user, size_t bytes) {
    (void)user;
    return malloc(bytes);
}

jt_status jt_onnx_read_tensor_file(jt_ctx *ctx, const char *path, jt_tensor *out) {
    memset(out, 0, sizeof *out);
    void *buf;
    size_t size;
    JT_TRY(jt_read_file(ctx, path, (size_t)1 << 36, &buf, &size));
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, size, buf);
    free(buf);
    if (!tp) return jt_fail(ctx, JT_ERR_PARSE, "%s: not a serialized ONNX TensorProto", path);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else snprintf(dir, sizeof dir, ".");
    jt_status st = jt_tensor_from_proto(ctx, tp, path, "tensor", dir, malloc_fn, NULL, out);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    if (st != JT_OK) {
        free(out->data);
        out->data = NULL;
    }
    return st;
}
