/* SVHN cropped digits from a MATLAB level-5 MAT-file (train_32x32.mat, test_32x32.mat as distributed).
 *
 * Layout: a 128-byte header (116 bytes text, 8 bytes subsystem offset, u16 version 0x0100, endian mark
 * "IM" in a little-endian file, "MI" in a big-endian one), then tagged data elements (u32 type, u32
 * byte count; a "small element" packs the count into the upper 16 bits of the type word and keeps up
 * to 4 payload bytes in the next 4). A top-level element is either miMATRIX (14) or miCOMPRESSED (15),
 * a zlib stream holding one miMATRIX. A matrix holds sub-elements, each padded to 8 bytes: array
 * flags (class in the low byte), dimensions (i32), name (i8), real part (any numeric stored type,
 * possibly narrower than the class: values are converted by the stored type).
 *
 * Wanted: X, 32x32x3xN column-major (element (r, c, ch, n) at r + 32c + 1024ch + 3072n) -> CHW images;
 * y, Nx1 with values 1..10, 10 meaning digit 0 -> labels 0..9. Other variables are skipped.
 * Compressed elements are inflated as a stream through a fixed buffer straight into the dataset, so
 * memory stays at the size of the output (the real training file is ~180 MB compressed, 225 MB of
 * pixels). Sizes are validated before allocation: an element cannot claim more bytes than remain in
 * the file, and a compressed one cannot inflate to more than deflate's maximum ratio (1032:1). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "jatp/data.h"

enum {
    MI_INT8 = 1, MI_UINT8 = 2, MI_INT16 = 3, MI_UINT16 = 4, MI_INT32 = 5, MI_UINT32 = 6, MI_SINGLE = 7,
    MI_DOUBLE = 9, MI_INT64 = 12, MI_UINT64 = 13, MI_MATRIX = 14, MI_COMPRESSED = 15
};
enum { MX_DOUBLE = 6, MX_UINT64 = 15 }; /* numeric classes are 6 (double) .. 15 (uint64) */

#define MAT_BUF 65536
#define MAT_MAX_NDIMS 8
#define SVHN_MAX_N ((int64_t)1 << 22)
#define DEFLATE_MAX_RATIO 1032u

typedef struct mat_src {
    jt_ctx *ctx;
    const char *path;
    FILE *f;
    int64_t fsize;
    int be;              /* the file is big-endian */
    int z;               /* reading through inflate */
    int z_init, z_end;
    z_stream zs;
    int64_t z_left;      /* compressed bytes of the element not yet given to inflate */
    int64_t elem_off;    /* file offset of the current top-level element (messages) */
    uint8_t in[MAT_BUF]; /* compressed input */
    uint8_t tmp[MAT_BUF];
} mat_src;

typedef struct mat_out {
    uint8_t *images, *labels;
    int64_t n_x, n_y; /* -1: not seen */
} mat_out;

static uint32_t rd_u16(const mat_src *s, const uint8_t *p) {
    return s->be ? ((uint32_t)p[0] << 8) | p[1] : ((uint32_t)p[1] << 8) | p[0];
}
static uint32_t rd_u32(const mat_src *s, const uint8_t *p) {
    return s->be ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]
                 : ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}
static uint64_t rd_u64(const mat_src *s, const uint8_t *p) {
    uint64_t a = rd_u32(s, p), b = rd_u32(s, p + 4);
    return s->be ? (a << 32) | b : (b << 32) | a;
}

static int stored_size(uint32_t t) {
    switch (t) {
    case MI_INT8: case MI_UINT8: return 1;
    case MI_INT16: case MI_UINT16: return 2;
    case MI_INT32: case MI_UINT32: case MI_SINGLE: return 4;
    case MI_DOUBLE: case MI_INT64: case MI_UINT64: return 8;
    default: return 0;
    }
}

/* One stored element as a double (by the stored type, whatever the class). */
static double stored_get(const mat_src *s, const uint8_t *p, uint32_t t) {
    switch (t) {
    case MI_INT8: return (int8_t)p[0];
    case MI_UINT8: return p[0];
    case MI_INT16: return (int16_t)rd_u16(s, p);
    case MI_UINT16: return rd_u16(s, p);
    case MI_INT32: return (int32_t)rd_u32(s, p);
    case MI_UINT32: return rd_u32(s, p);
    case MI_SINGLE: {
        uint32_t u = rd_u32(s, p);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    case MI_DOUBLE: {
        uint64_t u = rd_u64(s, p);
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    case MI_INT64: return (double)(int64_t)rd_u64(s, p);
    default: return (double)rd_u64(s, p);
    }
}

static jt_status fail(mat_src *s, const char *what, const char *detail) {
    return jt_fail(s->ctx, JT_ERR_PARSE, "%s: %s (element at byte %lld)%s%s", s->path, what, (long long)s->elem_off,
                   detail ? ": " : "", detail ? detail : "");
}

/* Reads n bytes from the file or from the inflate stream. */
static jt_status src_read(mat_src *s, void *dst, size_t n, const char *what) {
    char msg[160];
    if (!s->z) {
        if (fread(dst, 1, n, s->f) != n) {
            snprintf(msg, sizeof msg, "truncated: the file ends inside %s", what);
            return fail(s, msg, ferror(s->f) ? strerror(errno) : NULL);
        }
        return JT_OK;
    }
    s->zs.next_out = dst;
    s->zs.avail_out = (uInt)n;
    while (s->zs.avail_out > 0) {
        if (s->z_end) {
            snprintf(msg, sizeof msg, "wrong size: the compressed data ends inside %s", what);
            return fail(s, msg, NULL);
        }
        if (s->zs.avail_in == 0 && s->z_left > 0) {
            size_t k = s->z_left < MAT_BUF ? (size_t)s->z_left : MAT_BUF;
            if (fread(s->in, 1, k, s->f) != k) {
                snprintf(msg, sizeof msg, "truncated: the file ends inside %s", what);
                return fail(s, msg, NULL);
            }
            s->z_left -= (int64_t)k;
            s->zs.next_in = s->in;
            s->zs.avail_in = (uInt)k;
        }
        int r = inflate(&s->zs, Z_NO_FLUSH);
        if (r == Z_STREAM_END) s->z_end = 1;
        else if (r == Z_BUF_ERROR) {
            snprintf(msg, sizeof msg, "truncated: the compressed stream is cut short inside %s", what);
            return fail(s, msg, NULL);
        } else if (r != Z_OK) {
            snprintf(msg, sizeof msg, "corrupt compressed data inside %s", what);
            return fail(s, msg, s->zs.msg ? s->zs.msg : zError(r));
        }
    }
    return JT_OK;
}

/* Inflates the rest of a compressed element, so that zlib checks the stream's checksum. */
static jt_status src_finish(mat_src *s) {
    while (!s->z_end) {
        s->zs.next_out = s->tmp;
        s->zs.avail_out = MAT_BUF;
        if (s->zs.avail_in == 0 && s->z_left > 0) {
            size_t k = s->z_left < MAT_BUF ? (size_t)s->z_left : MAT_BUF;
            if (fread(s->in, 1, k, s->f) != k)
                return fail(s, "truncated: the file ends inside a compressed variable", NULL);
            s->z_left -= (int64_t)k;
            s->zs.next_in = s->in;
            s->zs.avail_in = (uInt)k;
        }
        int r = inflate(&s->zs, Z_NO_FLUSH);
        if (r == Z_STREAM_END) s->z_end = 1;
        else if (r == Z_BUF_ERROR)
            return fail(s, "truncated: the compressed stream of a variable is cut short", NULL);
        else if (r != Z_OK)
            return fail(s, "corrupt compressed data", s->zs.msg ? s->zs.msg : zError(r));
    }
    return JT_OK;
}

static jt_status src_skip(mat_src *s, uint64_t n, const char *what) {
    while (n > 0) {
        size_t k = n < MAT_BUF ? (size_t)n : MAT_BUF;
        JT_TRY(src_read(s, s->tmp, k, what));
        n -= k;
    }
    return JT_OK;
}

/* A sub-element of a matrix: its tag, with `left` (bytes left in the matrix) checked and reduced by the
 * tag and the padded payload. Small elements return their payload in small[]. */
typedef struct mat_sub {
    uint32_t type, nbytes, pad;
    int is_small;
    uint8_t small[4];
} mat_sub;

static jt_status read_sub(mat_src *s, uint64_t *left, mat_sub *e, const char *what) {
    char msg[160];
    uint8_t tag[8];
    if (*left < 8) {
        snprintf(msg, sizeof msg, "wrong size: the matrix ends before its %s", what);
        return fail(s, msg, NULL);
    }
    JT_TRY(src_read(s, tag, 8, what));
    *left -= 8;
    uint32_t w0 = rd_u32(s, tag);
    memset(e, 0, sizeof *e);
    if (w0 >> 16) {
        e->type = w0 & 0xffffu;
        e->nbytes = w0 >> 16;
        e->is_small = 1;
        if (e->nbytes > 4) {
            snprintf(msg, sizeof msg, "bad small element for %s (%u bytes, at most 4)", what, e->nbytes);
            return fail(s, msg, NULL);
        }
        memcpy(e->small, tag + 4, 4);
        return JT_OK;
    }
    e->type = w0;
    e->nbytes = rd_u32(s, tag + 4);
    uint64_t padded = ((uint64_t)e->nbytes + 7) & ~(uint64_t)7;
    if (e->nbytes > *left) {
        snprintf(msg, sizeof msg, "wrong size: the %s claims %u bytes but its matrix has %llu left", what, e->nbytes,
                 (unsigned long long)*left);
        return fail(s, msg, NULL);
    }
    /* the last sub-element's padding may be missing from a matrix's count */
    e->pad = (uint32_t)((padded <= *left ? padded : *left) - e->nbytes);
    *left -= e->nbytes + e->pad;
    return JT_OK;
}

/* Reads a (non-small) sub-element's payload and padding into buf (cap bytes). */
static jt_status read_sub_data(mat_src *s, const mat_sub *e, uint8_t *buf, size_t cap, const char *what) {
    if (e->is_small) {
        memcpy(buf, e->small, e->nbytes);
        return JT_OK;
    }
    if (e->nbytes > cap) {
        char msg[160];
        snprintf(msg, sizeof msg, "wrong size: %s of %u bytes (at most %zu expected)", what, e->nbytes, cap);
        return fail(s, msg, NULL);
    }
    JT_TRY(src_read(s, buf, e->nbytes, what));
    return src_skip(s, e->pad, what);
}

/* X: 32x32x3xN column-major -> CHW images. */
static jt_status read_x(mat_src *s, const mat_sub *e, int64_t n, uint64_t bound, mat_out *o) {
    char msg[200];
    int es = stored_size(e->type);
    if (!es) {
        snprintf(msg, sizeof msg, "variable X has an unsupported stored type %u", e->type);
        return fail(s, msg, NULL);
    }
    uint64_t need = (uint64_t)n * 3072u * (uint64_t)es;
    if (e->nbytes != need) {
        snprintf(msg, sizeof msg, "wrong size: variable X (32x32x3x%lld, stored type %u) holds %u bytes, expected %llu",
                 (long long)n, e->type, e->nbytes, (unsigned long long)need);
        return fail(s, msg, NULL);
    }
    if (need > bound) {
        snprintf(msg, sizeof msg, "wrong size: variable X claims %llu bytes, more than its element can hold (%llu)",
                 (unsigned long long)need, (unsigned long long)bound);
        return fail(s, msg, NULL);
    }
    o->images = malloc((size_t)n * 3072u);
    if (!o->images) return jt_fail(s->ctx, JT_ERR_OOM, "%s: out of memory for %lld images", s->path, (long long)n);
    uint8_t *img = malloc(3072u * (size_t)es);
    if (!img) return jt_fail(s->ctx, JT_ERR_OOM, "%s: out of memory", s->path);
    jt_status st = JT_OK;
    for (int64_t i = 0; i < n && st == JT_OK; i++) {
        st = src_read(s, img, 3072u * (size_t)es, "the pixels of variable X");
        uint8_t *dst = o->images + (size_t)i * 3072u;
        for (int ch = 0; ch < 3 && st == JT_OK; ch++)
            for (int r = 0; r < 32 && st == JT_OK; r++)
                for (int c = 0; c < 32; c++) {
                    size_t k = (size_t)ch * 1024 + (size_t)c * 32 + (size_t)r;
                    if (e->type == MI_UINT8) {
                        dst[ch * 1024 + r * 32 + c] = img[k];
                        continue;
                    }
                    double v = stored_get(s, img + k * (size_t)es, e->type);
                    if (!(v >= 0 && v <= 255 && v == floor(v))) {
                        snprintf(msg, sizeof msg, "bad pixel value %g in variable X (image %lld; expected 0..255)", v,
                                 (long long)i);
                        st = fail(s, msg, NULL);
                        break;
                    }
                    dst[ch * 1024 + r * 32 + c] = (uint8_t)v;
                }
    }
    free(img);
    if (st == JT_OK) o->n_x = n;
    return st;
}

/* y: N values 1..10 (10 = digit 0) -> labels 0..9. */
static jt_status read_y(mat_src *s, const mat_sub *e, int64_t n, uint64_t bound, mat_out *o) {
    char msg[200];
    int es = stored_size(e->type);
    if (!es) {
        snprintf(msg, sizeof msg, "variable y has an unsupported stored type %u", e->type);
        return fail(s, msg, NULL);
    }
    uint64_t need = (uint64_t)n * (uint64_t)es;
    if (e->nbytes != need) {
        snprintf(msg, sizeof msg, "wrong size: variable y (%lld labels, stored type %u) holds %u bytes, expected %llu",
                 (long long)n, e->type, e->nbytes, (unsigned long long)need);
        return fail(s, msg, NULL);
    }
    if (need > bound) {
        snprintf(msg, sizeof msg, "wrong size: variable y claims %llu bytes, more than its element can hold (%llu)",
                 (unsigned long long)need, (unsigned long long)bound);
        return fail(s, msg, NULL);
    }
    o->labels = malloc((size_t)(n ? n : 1));
    if (!o->labels) return jt_fail(s->ctx, JT_ERR_OOM, "%s: out of memory for %lld labels", s->path, (long long)n);
    int64_t per = MAT_BUF / es;
    for (int64_t i0 = 0; i0 < n; i0 += per) {
        int64_t k = n - i0 < per ? n - i0 : per;
        const uint8_t *p = s->tmp;
        if (e->is_small) p = e->small;
        else JT_TRY(src_read(s, s->tmp, (size_t)(k * es), "the values of variable y"));
        for (int64_t i = 0; i < k; i++) {
            double v = stored_get(s, p + i * es, e->type);
            if (!(v >= 1 && v <= 10 && v == floor(v))) {
                snprintf(msg, sizeof msg,
                         "bad label value %g in variable y at index %lld (expected 1..10, 10 = digit 0)", v,
                         (long long)(i0 + i));
                return fail(s, msg, NULL);
            }
            o->labels[i0 + i] = (uint8_t)((int)v % 10);
        }
    }
    o->n_y = n;
    return JT_OK;
}

static const char *dims_str(const int32_t *d, int nd, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < nd && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, i ? "x%d" : "%d", d[i]);
    return buf;
}

/* One miMATRIX of mlen bytes (its tag already read). bound: the most bytes its data can hold. */
static jt_status read_matrix(mat_src *s, uint64_t mlen, uint64_t bound, mat_out *o, int *used) {
    uint64_t left = mlen;
    *used = 0;
    mat_sub e;
    uint8_t fl[8];
    char msg[200], dbuf[128];
    if (mlen == 0) return JT_OK; /* an empty matrix placeholder */
    JT_TRY(read_sub(s, &left, &e, "array flags"));
    if (e.type != MI_UINT32 || e.nbytes != 8) {
        snprintf(msg, sizeof msg, "bad matrix: array flags of type %u and %u bytes, expected type 6 (uint32), 8 bytes",
                 e.type, e.nbytes);
        return fail(s, msg, NULL);
    }
    JT_TRY(read_sub_data(s, &e, fl, sizeof fl, "array flags"));
    uint32_t flags = rd_u32(s, fl), cls = flags & 0xffu;
    int complex = (flags & 0x800u) != 0;
    JT_TRY(read_sub(s, &left, &e, "dimensions"));
    int32_t dims[MAT_MAX_NDIMS];
    uint8_t db[4 * MAT_MAX_NDIMS];
    if (e.type != MI_INT32 || e.nbytes % 4 || e.nbytes < 8 || e.nbytes > sizeof db) {
        snprintf(msg, sizeof msg, "bad matrix: dimensions of type %u and %u bytes, expected type 5 (int32), 2..%d dims",
                 e.type, e.nbytes, MAT_MAX_NDIMS);
        return fail(s, msg, NULL);
    }
    JT_TRY(read_sub_data(s, &e, db, sizeof db, "dimensions"));
    int nd = (int)(e.nbytes / 4);
    int empty = 0;
    for (int i = 0; i < nd; i++) {
        dims[i] = (int32_t)rd_u32(s, db + 4 * i);
        if (dims[i] < 0) return fail(s, "bad matrix: a negative dimension", NULL);
        empty |= dims[i] == 0;
    }
    JT_TRY(read_sub(s, &left, &e, "array name"));
    char name[64] = {0};
    if (e.type != MI_INT8 && e.type != MI_UINT8) {
        snprintf(msg, sizeof msg, "bad matrix: array name of type %u, expected 1 (int8)", e.type);
        return fail(s, msg, NULL);
    }
    if (e.nbytes < sizeof name) JT_TRY(read_sub_data(s, &e, (uint8_t *)name, sizeof name - 1, "array name"));
    else {
        JT_TRY(src_skip(s, (uint64_t)e.nbytes + e.pad, "array name"));
        name[0] = 0; /* a long name: neither X nor y */
    }
    int is_x = strcmp(name, "X") == 0, is_y = strcmp(name, "y") == 0;
    if (!is_x && !is_y) return JT_OK; /* the caller skips the rest */
    *used = 1;
    if (cls < MX_DOUBLE || cls > MX_UINT64 || complex) {
        snprintf(msg, sizeof msg, "variable %s is %s (class %u), expected a real numeric array", name,
                 complex ? "complex" : "not numeric", cls);
        return fail(s, msg, NULL);
    }
    if ((is_x && o->n_x >= 0) || (is_y && o->n_y >= 0)) {
        snprintf(msg, sizeof msg, "variable %s appears twice", name);
        return fail(s, msg, NULL);
    }
    int64_t n;
    if (is_x) {
        int ok = nd >= 3 && dims[0] == 32 && dims[1] == 32 && dims[2] == 3 && nd <= 4;
        n = !ok ? 0 : nd == 4 ? dims[3] : 1;
        if (!ok || n > SVHN_MAX_N) {
            snprintf(msg, sizeof msg, "wrong size: variable X has dims %s, expected 32x32x3xN (N <= %lld)",
                     dims_str(dims, nd, dbuf, sizeof dbuf), (long long)SVHN_MAX_N);
            return fail(s, msg, NULL);
        }
    } else {
        int ok = nd == 2 && (dims[1] == 1 || dims[0] == 1);
        n = ok ? (int64_t)dims[0] * dims[1] : 0;
        if (!ok || n > SVHN_MAX_N) {
            snprintf(msg, sizeof msg, "wrong size: variable y has dims %s, expected Nx1 (N <= %lld)",
                     dims_str(dims, nd, dbuf, sizeof dbuf), (long long)SVHN_MAX_N);
            return fail(s, msg, NULL);
        }
    }
    if (empty && left < 8) { /* an empty array may omit its data element */
        if (is_x) o->n_x = 0;
        else o->n_y = 0;
        return JT_OK;
    }
    JT_TRY(read_sub(s, &left, &e, is_x ? "the data of variable X" : "the data of variable y"));
    if (bound > mlen) bound = mlen;
    return is_x ? read_x(s, &e, n, bound, o) : read_y(s, &e, n, bound, o);
}

static jt_status read_file(mat_src *s, mat_out *o) {
    char msg[200];
    uint8_t h[128];
    if (s->fsize == 0) return jt_fail(s->ctx, JT_ERR_PARSE, "%s: empty file; expected a MATLAB v5 MAT-file", s->path);
    size_t got = fread(h, 1, 128, s->f);
    if (got >= 4 && memcmp(h, "\x89HDF", 4) == 0)
        return jt_fail(s->ctx, JT_ERR_UNSUPPORTED, "%s: wrong magic: an HDF5 file (MATLAB -v7.3); save it with -v7",
                       s->path);
    if (got < 128)
        return jt_fail(s->ctx, JT_ERR_PARSE, "%s: truncated: %zu bytes, shorter than the 128-byte MAT-file header",
                       s->path, got);
    if (memcmp(h, "MATLAB 7.3", 10) == 0)
        return jt_fail(s->ctx, JT_ERR_UNSUPPORTED,
                       "%s: a MATLAB 7.3 (HDF5) MAT-file; only level-5 MAT-files (-v7, -v6) are read", s->path);
    if (h[126] == 'I' && h[127] == 'M') s->be = 0;
    else if (h[126] == 'M' && h[127] == 'I') s->be = 1;
    else
        return jt_fail(s->ctx, JT_ERR_PARSE,
                       "%s: wrong magic: header bytes 126..127 are %02x %02x, expected the endian mark 'IM' or 'MI' "
                       "(not a MATLAB level-5 MAT-file)",
                       s->path, h[126], h[127]);
    uint32_t ver = rd_u16(s, h + 124);
    if (ver != 0x0100)
        return jt_fail(s->ctx, JT_ERR_PARSE, "%s: wrong magic: MAT-file version 0x%04x, expected 0x0100 (level 5)",
                       s->path, ver);
    int64_t off = 128;
    while (off < s->fsize) {
        s->elem_off = off;
        s->z = 0;
        if (fseeko(s->f, off, SEEK_SET) != 0) return jt_fail(s->ctx, JT_ERR_IO, "%s: seek failed", s->path);
        if (s->fsize - off < 8) {
            snprintf(msg, sizeof msg, "truncated: %lld trailing bytes, too few for an element tag",
                     (long long)(s->fsize - off));
            return fail(s, msg, NULL);
        }
        uint8_t tag[8];
        JT_TRY(src_read(s, tag, 8, "an element tag"));
        uint32_t w0 = rd_u32(s, tag);
        if (w0 >> 16) { /* a small element at the top level: nothing we read */
            off += 8;
            continue;
        }
        uint32_t type = w0, nbytes = rd_u32(s, tag + 4);
        if ((int64_t)nbytes > s->fsize - off - 8) {
            snprintf(msg, sizeof msg, "truncated: an element of type %u claims %u bytes but only %lld remain", type,
                     nbytes, (long long)(s->fsize - off - 8));
            return fail(s, msg, NULL);
        }
        if (type == MI_COMPRESSED) {
            memset(&s->zs, 0, sizeof s->zs);
            if (inflateInit(&s->zs) != Z_OK) return jt_fail(s->ctx, JT_ERR_OOM, "%s: zlib init failed", s->path);
            s->z = s->z_init = 1;
            s->z_end = 0;
            s->z_left = nbytes;
            jt_status st = src_read(s, tag, 8, "the tag of a compressed variable");
            uint32_t it = st == JT_OK ? rd_u32(s, tag) : 0, in = st == JT_OK ? rd_u32(s, tag + 4) : 0;
            uint64_t bound = (uint64_t)nbytes * DEFLATE_MAX_RATIO + 64;
            if (st == JT_OK && it != MI_MATRIX) {
                snprintf(msg, sizeof msg, "a compressed element holds type %u, expected a matrix (14)", it);
                st = fail(s, msg, NULL);
            } else if (st == JT_OK && in > bound) {
                snprintf(msg, sizeof msg, "wrong size: a matrix of %u bytes cannot come from %u compressed bytes", in,
                         nbytes);
                st = fail(s, msg, NULL);
            }
            int used = 0;
            if (st == JT_OK) st = read_matrix(s, in, bound, o, &used);
            if (st == JT_OK && used) st = src_finish(s);
            inflateEnd(&s->zs);
            s->z_init = 0;
            s->z = 0;
            JT_TRY(st);
        } else if (type == MI_MATRIX) {
            int used;
            JT_TRY(read_matrix(s, nbytes, nbytes, o, &used));
        }
        off += 8 + (int64_t)nbytes;
    }
    if (o->n_x < 0) return jt_fail(s->ctx, JT_ERR_PARSE, "%s: no variable X (32x32x3xN images)", s->path);
    if (o->n_y < 0) return jt_fail(s->ctx, JT_ERR_PARSE, "%s: no variable y (Nx1 labels)", s->path);
    if (o->n_x != o->n_y)
        return jt_fail(s->ctx, JT_ERR_PARSE, "%s: wrong size: variable y has %lld labels but X has %lld images",
                       s->path, (long long)o->n_y, (long long)o->n_x);
    if (o->n_x == 0) return jt_fail(s->ctx, JT_ERR_PARSE, "%s: wrong size: no images (X is 32x32x3x0)", s->path);
    return JT_OK;
}

jt_status jt_dataset_load_svhn_mat(jt_ctx *ctx, const char *path, jt_dataset *out) {
    memset(out, 0, sizeof *out);
    mat_src *s = calloc(1, sizeof *s);
    if (!s) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", path);
    s->ctx = ctx;
    s->path = path;
    s->f = fopen(path, "rb");
    if (!s->f) {
        jt_status st = jt_fail(ctx, JT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        free(s);
        return st;
    }
    struct stat sb;
    jt_status st = JT_OK;
    if (fstat(fileno(s->f), &sb) != 0 || !S_ISREG(sb.st_mode))
        st = jt_fail(ctx, JT_ERR_IO, "%s: not a regular file", path);
    mat_out o = {NULL, NULL, -1, -1};
    if (st == JT_OK) {
        s->fsize = (int64_t)sb.st_size;
        st = read_file(s, &o);
    }
    if (s->z_init) inflateEnd(&s->zs);
    fclose(s->f);
    free(s);
    if (st != JT_OK) {
        free(o.images);
        free(o.labels);
        return st;
    }
    out->images = o.images;
    out->labels = o.labels;
    out->n = o.n_x;
    out->c = 3;
    out->h = out->w = 32;
    out->n_classes = 10;
    return JT_OK;
}
