/* NumPy .npy reader and writer (format versions 1-3; C order; little-endian numeric dtypes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/io.h"

#define NPY_MAX_FILE ((size_t)1 << 36) /* 64 GiB: refuse anything larger up front */

static const struct {
    const char *descr;
    jt_dtype dt;
} npy_types[] = {
    {"<f4", JT_F32}, {"<f8", JT_F64}, {"<i8", JT_I64}, {"<i4", JT_I32},
    {"|u1", JT_U8},  {"|b1", JT_BOOL}, {"|i1", JT_I8}, {"<u8", JT_U64}, {"<u4", JT_U32},
};

static const char *find_key(const char *hdr, const char *key) {
    const char *p = strstr(hdr, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == '\'' || *p == '"' || *p == ':') p++;
    return p;
}

jt_status jt_npy_read(jt_ctx *ctx, const char *path, jt_tensor *out) {
    memset(out, 0, sizeof *out);
    void *buf;
    size_t size;
    JT_TRY(jt_read_file(ctx, path, NPY_MAX_FILE, &buf, &size));
    const unsigned char *b = buf;
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        free(buf);
        return jt_fail(ctx, JT_ERR_PARSE, "%s: not a .npy file (bad magic)", path);
    }
    int major = b[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)b[8] | ((size_t)b[9] << 8);
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) {
            free(buf);
            return jt_fail(ctx, JT_ERR_PARSE, "%s: truncated .npy header", path);
        }
        hlen = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
        hstart = 12;
    } else {
        free(buf);
        return jt_fail(ctx, JT_ERR_PARSE, "%s: unsupported .npy format version %d", path, major);
    }
    if (hstart + hlen > size || hlen > 65536) {
        free(buf);
        return jt_fail(ctx, JT_ERR_PARSE, "%s: truncated .npy header", path);
    }
    char *hdr = malloc(hlen + 1);
    if (!hdr) {
        free(buf);
        return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", path);
    }
    memcpy(hdr, b + hstart, hlen);
    hdr[hlen] = 0;
    jt_status st = JT_OK;
    const char *d = find_key(hdr, "'descr'");
    const char *fo = find_key(hdr, "'fortran_order'");
    const char *sh = find_key(hdr, "'shape'");
    if (!d || !fo || !sh) {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: malformed .npy header: %s", path, hdr);
        goto done;
    }
    out->dtype = JT_UNDEF;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (strncmp(d, npy_types[i].descr, 3) == 0 && (d[3] == '\'' || d[3] == '"'))
            out->dtype = npy_types[i].dt;
    if (out->dtype == JT_UNDEF) {
        char desc[16] = {0};
        for (int i = 0; i < 15 && d[i] && d[i] != '\'' && d[i] != '"'; i++) desc[i] = d[i];
        st = jt_fail(ctx, JT_ERR_UNSUPPORTED,
                     "%s: .npy dtype '%s' is not supported (use float32 '<f4', float64 '<f8', int64 "
                     "'<i8', int32 '<i4', uint8 or bool)", path, desc);
        goto done;
    }
    if (strncmp(fo, "True", 4) == 0) {
        st = jt_fail(ctx, JT_ERR_UNSUPPORTED,
                     "%s: Fortran-order .npy arrays are not supported; save a C-order array "
                     "(numpy.ascontiguousarray)", path);
        goto done;
    }
    if (*sh != '(') {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: malformed shape in .npy header", path);
        goto done;
    }
    sh++;
    out->rank = 0;
    while (*sh && *sh != ')') {
        while (*sh == ' ' || *sh == ',') sh++;
        if (*sh == ')') break;
        char *end;
        long long v = strtoll(sh, &end, 10);
        if (end == sh || v < 0) {
            st = jt_fail(ctx, JT_ERR_PARSE, "%s: malformed shape in .npy header", path);
            goto done;
        }
        if (out->rank >= JT_MAX_RANK) {
            st = jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: rank above %d is not supported", path, JT_MAX_RANK);
            goto done;
        }
        out->dims[out->rank++] = v;
        sh = end;
    }
    {
        size_t esz = jt_dtype_size(out->dtype);
        size_t n = 1;
        for (int i = 0; i < out->rank; i++) {
            if (out->dims[i] != 0 && n > NPY_MAX_FILE / (size_t)out->dims[i]) {
                st = jt_fail(ctx, JT_ERR_PARSE, "%s: declared shape is too large", path);
                goto done;
            }
            n *= (size_t)out->dims[i];
        }
        size_t need = n * esz, have = size - hstart - hlen;
        if (have < need) {
            st = jt_fail(ctx, JT_ERR_PARSE, "%s: truncated data: %zu bytes for a %zu-byte array", path,
                         have, need);
            goto done;
        }
        void *data = malloc(need ? need : 1);
        if (!data) {
            st = jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", path);
            goto done;
        }
        memcpy(data, b + hstart + hlen, need);
        out->data = data;
    }
done:
    free(hdr);
    free(buf);
    return st;
}

jt_status jt_npy_write(jt_ctx *ctx, const char *path, const jt_tensor *t) {
    const char *descr = NULL;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (npy_types[i].dt == t->dtype) descr = npy_types[i].descr;
    if (!descr)
        return jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: cannot write dtype %s as .npy", path,
                       jt_dtype_name(t->dtype));
    char hdr[512];
    int k = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->rank; i++)
        k += snprintf(hdr + k, sizeof hdr - (size_t)k, "%lld,%s", (long long)t->dims[i],
                      (i + 1 < t->rank) ? " " : "");
    if (t->rank > 1) k--; /* numpy writes (2, 3) but (2,) for rank 1 */
    k += snprintf(hdr + k, sizeof hdr - (size_t)k, "), }");
    size_t total = 10 + (size_t)k + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)k + pad + 1;
    size_t nbytes = jt_tensor_nbytes(t);
    unsigned char *buf = malloc(10 + hlen + nbytes);
    if (!buf) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", path);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, hdr, (size_t)k);
    memset(buf + 10 + k, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    memcpy(buf + 10 + hlen, t->data, nbytes);
    jt_status st = jt_write_atomic(ctx, path, buf, 10 + hlen + nbytes);
    free(buf);
    return st;
}
