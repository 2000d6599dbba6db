/* Training checkpoints: every parameter and state value of a graph by name, plus the training
 * position (step, epoch, data position, RNG seed and counters) and a small configuration blob.
 * Format in include/jatp/train.h; all integers little-endian; tensor data in the host's (little-endian)
 * layout. Written atomically; loads verify per-record and whole-file CRC32s (zlib) and the graph's
 * names, dtypes and shapes before touching any storage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "jatp/io.h"
#include "jatp/train.h"

#define CKPT_MAGIC "JATPCKPT"
#define CKPT_END "JATPEND!"
#define CKPT_VERSION 1u
#define HEADER_BYTES 16u  /* magic, version, n_records */
#define TRAILER_BYTES 20u /* end magic, file size, crc */
#define META_BYTES 104u
#define MAX_FILE ((size_t)1 << 40)

enum { REC_VALUE = 1, REC_META = 2, REC_CONFIG = 3 };

static uint32_t crc_of(uint32_t crc, const unsigned char *p, size_t n) {
    uLong c = crc;
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

static void put_u32(unsigned char **p, uint32_t v) {
    for (int i = 0; i < 4; i++) *(*p)++ = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char **p, uint64_t v) {
    for (int i = 0; i < 8; i++) *(*p)++ = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int saved_value(const jt_value *v) {
    return (v->flags & JT_VALUE_PARAM) && !(v->flags & JT_VALUE_CONST) && v->data && v->rank >= 0;
}

static size_t value_bytes(const jt_value *v) {
    size_t n = jt_dtype_size(v->dtype);
    for (int d = 0; d < v->rank; d++) n *= (size_t)v->dims[d];
    return n;
}

static size_t record_size(size_t name_len, int rank, size_t n_bytes) {
    return 4 * 4 + 8 * (size_t)rank + 8 + name_len + n_bytes + 4;
}

static unsigned char *put_record(unsigned char *p, uint32_t kind, const char *name, uint32_t dtype, int rank,
                                 const int64_t *dims, const void *data, size_t n_bytes) {
    unsigned char *start = p;
    size_t name_len = strlen(name);
    put_u32(&p, kind);
    put_u32(&p, (uint32_t)name_len);
    put_u32(&p, dtype);
    put_u32(&p, (uint32_t)rank);
    for (int d = 0; d < rank; d++) put_u64(&p, (uint64_t)dims[d]);
    put_u64(&p, (uint64_t)n_bytes);
    memcpy(p, name, name_len);
    p += name_len;
    if (n_bytes) memcpy(p, data, n_bytes);
    p += n_bytes;
    put_u32(&p, crc_of(0, start, (size_t)(p - start)));
    return p;
}

jt_status jt_checkpoint_save(jt_ctx *ctx, const char *path, const jt_graph *g, const jt_train_meta *meta) {
    jt_train_meta zero;
    if (!meta) {
        memset(&zero, 0, sizeof zero);
        meta = &zero;
    }
    if (meta->n_rng < 0 || meta->n_rng > JT_CKPT_MAX_RNG)
        return jt_fail(ctx, JT_ERR_ARG, "%s: checkpoint: %d RNG counters, at most %d", path, meta->n_rng,
                       JT_CKPT_MAX_RNG);
    size_t cfg_len = meta->config ? (meta->config_len ? meta->config_len : strlen(meta->config)) : 0;
    size_t total = HEADER_BYTES + TRAILER_BYTES + record_size(4, 0, META_BYTES) + record_size(6, 0, cfg_len);
    uint32_t n_rec = 2;
    for (int32_t i = 0; i < g->n_values; i++) {
        const jt_value *v = &g->values[i];
        if (!saved_value(v)) continue;
        if (strlen(v->name) > 65535)
            return jt_fail(ctx, JT_ERR_ARG, "%s: checkpoint: value name longer than 65535 bytes", path);
        total += record_size(strlen(v->name), v->rank, value_bytes(v));
        n_rec++;
    }
    unsigned char *buf = malloc(total);
    if (!buf) return jt_fail(ctx, JT_ERR_OOM, "%s: checkpoint: out of memory for %zu bytes", path, total);
    unsigned char *p = buf;
    memcpy(p, CKPT_MAGIC, 8);
    p += 8;
    put_u32(&p, CKPT_VERSION);
    put_u32(&p, n_rec);
    unsigned char m[META_BYTES], *q = m;
    put_u64(&q, (uint64_t)meta->step);
    put_u64(&q, (uint64_t)meta->epoch);
    put_u64(&q, (uint64_t)meta->data_pos);
    put_u64(&q, meta->seed);
    put_u32(&q, (uint32_t)meta->n_rng);
    put_u32(&q, 0);
    for (int i = 0; i < JT_CKPT_MAX_RNG; i++) put_u64(&q, i < meta->n_rng ? meta->rng[i] : 0);
    p = put_record(p, REC_META, "meta", 0, 0, NULL, m, META_BYTES);
    p = put_record(p, REC_CONFIG, "config", 0, 0, NULL, meta->config, cfg_len);
    for (int32_t i = 0; i < g->n_values; i++) {
        const jt_value *v = &g->values[i];
        if (saved_value(v)) p = put_record(p, REC_VALUE, v->name, (uint32_t)v->dtype, v->rank, v->dims, v->data, value_bytes(v));
    }
    memcpy(p, CKPT_END, 8);
    p += 8;
    put_u64(&p, (uint64_t)total);
    put_u32(&p, crc_of(0, buf, (size_t)(p - buf)));
    JT_ASSERT((size_t)(p - buf) == total);
    jt_status st = jt_write_atomic(ctx, path, buf, total);
    free(buf);
    return st;
}

/* A record name for messages: printable ASCII only, at most 80 characters. */
static void safe_name(const unsigned char *s, size_t n, char *out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n && k + 5 < cap; i++) {
        if (i == 80) {
            memcpy(out + k, "...", 3);
            k += 3;
            break;
        }
        out[k++] = s[i] >= 32 && s[i] < 127 ? (char)s[i] : '?';
    }
    out[k] = 0;
}

typedef struct rec {
    uint32_t kind, dtype;
    int rank;
    int64_t dims[JT_MAX_RANK];
    const unsigned char *name;
    size_t name_len;
    const unsigned char *data;
    size_t n_bytes;
} rec;

/* Parses the record at *off; 1 = ok, 0 = it does not fit in [.., end) or its fields are impossible. */
static int parse_record(const unsigned char *buf, size_t end, size_t *off, rec *r, size_t *rec_start) {
    size_t o = *off;
    *rec_start = o;
    if (end - o < 16) return 0;
    r->kind = get_u32(buf + o);
    r->name_len = get_u32(buf + o + 4);
    r->dtype = get_u32(buf + o + 8);
    uint32_t rank = get_u32(buf + o + 12);
    o += 16;
    if (rank > JT_MAX_RANK) return 0;
    r->rank = (int)rank;
    if (end - o < 8 * (size_t)rank + 8) return 0;
    for (uint32_t d = 0; d < rank; d++, o += 8) r->dims[d] = (int64_t)get_u64(buf + o);
    uint64_t nb = get_u64(buf + o);
    o += 8;
    if (r->name_len > end - o) return 0;
    r->name = buf + o;
    o += r->name_len;
    if (nb > end - o) return 0;
    r->n_bytes = (size_t)nb;
    r->data = buf + o;
    o += r->n_bytes;
    if (end - o < 4) return 0;
    o += 4;
    *off = o;
    return 1;
}

jt_status jt_checkpoint_load(jt_ctx *ctx, const char *path, jt_graph *g, jt_train_meta *meta) {
    void *raw = NULL;
    size_t size = 0;
    JT_TRY(jt_read_file(ctx, path, MAX_FILE, &raw, &size));
    const unsigned char *buf = raw;
    jt_status st = JT_OK;
    rec *recs = NULL;
    char nm[128];
    if (size < 8 || memcmp(buf, CKPT_MAGIC, 8) != 0) {
        st = size < 8 && memcmp(buf, CKPT_MAGIC, size) == 0
                 ? jt_fail(ctx, JT_ERR_PARSE, "%s: truncated checkpoint: %zu bytes, shorter than its header", path, size)
                 : jt_fail(ctx, JT_ERR_PARSE, "%s: not a jatp checkpoint (the file does not start with '%s')", path,
                           CKPT_MAGIC);
        goto done;
    }
    if (size < HEADER_BYTES) {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: truncated checkpoint: %zu bytes, shorter than its header", path, size);
        goto done;
    }
    uint32_t version = get_u32(buf + 8), n_rec = get_u32(buf + 12);
    if (version != CKPT_VERSION) {
        st = jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: checkpoint format version %u, this build reads version %u", path,
                     version, CKPT_VERSION);
        goto done;
    }
    /* Complete? The trailer must be at the end and record the file's size. */
    int has_marker = size >= HEADER_BYTES + TRAILER_BYTES && memcmp(buf + size - TRAILER_BYTES, CKPT_END, 8) == 0;
    if (has_marker && get_u64(buf + size - TRAILER_BYTES + 8) != (uint64_t)size) {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: corrupt checkpoint: the trailer records %llu bytes but the file has %zu",
                     path, (unsigned long long)get_u64(buf + size - TRAILER_BYTES + 8), size);
        goto done;
    }
    int complete = has_marker;
    size_t end = complete ? size - TRAILER_BYTES : size;
    if (n_rec > (end - HEADER_BYTES) / 20 + 1) {
        st = complete ? jt_fail(ctx, JT_ERR_PARSE, "%s: corrupt checkpoint: header claims %u records in %zu bytes", path,
                                n_rec, size)
                      : jt_fail(ctx, JT_ERR_PARSE, "%s: truncated checkpoint: %zu bytes, no end marker", path, size);
        goto done;
    }
    recs = calloc(n_rec ? n_rec : 1, sizeof *recs);
    if (!recs) {
        st = jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", path);
        goto done;
    }
    size_t off = HEADER_BYTES;
    for (uint32_t i = 0; i < n_rec; i++) {
        size_t start;
        if (!parse_record(buf, end, &off, &recs[i], &start)) {
            if (!complete) {
                if (start + 16 <= end && recs[i].name && recs[i].name_len) {
                    safe_name(recs[i].name, recs[i].name_len, nm, sizeof nm);
                    st = jt_fail(ctx, JT_ERR_PARSE,
                                 "%s: truncated checkpoint: the file (%zu bytes) ends inside record %u of %u ('%s')", path,
                                 size, i + 1, n_rec, nm);
                } else {
                    st = jt_fail(ctx, JT_ERR_PARSE,
                                 "%s: truncated checkpoint: the file (%zu bytes) ends inside record %u of %u", path, size,
                                 i + 1, n_rec);
                }
            } else {
                st = jt_fail(ctx, JT_ERR_PARSE, "%s: corrupt checkpoint: record %u of %u at offset %zu has impossible "
                             "lengths or rank", path, i + 1, n_rec, start);
            }
            goto done;
        }
        uint32_t want = get_u32(buf + off - 4), got = crc_of(0, buf + start, off - 4 - start);
        if (want != got) {
            safe_name(recs[i].name, recs[i].name_len, nm, sizeof nm);
            st = jt_fail(ctx, JT_ERR_PARSE,
                         "%s: corrupt checkpoint: record %u of %u ('%s', offset %zu) fails its CRC32 check (stored "
                         "%08x, computed %08x)", path, i + 1, n_rec, nm, start, want, got);
            goto done;
        }
    }
    if (!complete) {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: truncated checkpoint: all %u records read but the end marker is missing "
                     "(%zu bytes)", path, n_rec, size);
        goto done;
    }
    if (off != end) {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: corrupt checkpoint: %zu unexplained bytes after record %u", path, end - off,
                     n_rec);
        goto done;
    }
    uint32_t want = get_u32(buf + size - 4), got = crc_of(0, buf, size - 4);
    if (want != got) {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: corrupt checkpoint: whole-file CRC32 mismatch (stored %08x, computed %08x); "
                     "the header or trailer is damaged", path, want, got);
        goto done;
    }

    /* Match against the graph: collect every difference, then fail once. */
    int n_bad = 0;
    const rec *rmeta = NULL, *rcfg = NULL;
    int32_t *target = calloc(n_rec ? n_rec : 1, sizeof *target);
    uint8_t *seen = calloc((size_t)g->n_values + 1, 1);
    if (!target || !seen) {
        free(target);
        free(seen);
        st = jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", path);
        goto done;
    }
#define MISMATCH(...)                                                                                           \
    do {                                                                                                        \
        if (n_bad++ == 0)                                                                                       \
            jt_fail(ctx, JT_ERR_SHAPE, "%s: checkpoint does not match graph '%s':", path,                       \
                    g->name && g->name[0] ? g->name : g->source ? g->source : "?");                             \
        jt_error_append(ctx, __VA_ARGS__);                                                                      \
    } while (0)
    for (uint32_t i = 0; i < n_rec; i++) {
        const rec *r = &recs[i];
        target[i] = -1;
        safe_name(r->name, r->name_len, nm, sizeof nm);
        if (r->kind == REC_META) {
            if (r->n_bytes != META_BYTES) MISMATCH("  record %u ('%s'): metadata of %zu bytes, expected %u", i + 1, nm, r->n_bytes, META_BYTES);
            rmeta = r;
            continue;
        }
        if (r->kind == REC_CONFIG) {
            rcfg = r;
            continue;
        }
        if (r->kind != REC_VALUE) {
            MISMATCH("  record %u ('%s'): unknown record kind %u", i + 1, nm, r->kind);
            continue;
        }
        char *name = malloc(r->name_len + 1);
        int32_t v = -1;
        if (name) {
            memcpy(name, r->name, r->name_len);
            name[r->name_len] = 0;
            if (strlen(name) == r->name_len) v = jt_graph_find_value(g, name);
            free(name);
        }
        if (v < 0 || !saved_value(&g->values[v])) {
            MISMATCH("  record %u: value '%s' is not a parameter or state of the graph", i + 1, nm);
            continue;
        }
        const jt_value *val = &g->values[v];
        if (seen[v]) {
            MISMATCH("  record %u: '%s' appears twice", i + 1, nm);
            continue;
        }
        seen[v] = 1; /* present (a mismatch below is reported once, not again as missing) */
        char s1[160], s2[160];
        if ((uint32_t)val->dtype != r->dtype || !jt_dims_equal(val->dims, val->rank, r->dims, r->rank)) {
            MISMATCH("  record %u: '%s' is %s %s in the checkpoint but %s %s in the graph", i + 1, nm,
                     jt_dtype_name((jt_dtype)r->dtype), jt_dims_str(r->dims, r->rank, s1, sizeof s1),
                     jt_dtype_name(val->dtype), jt_dims_str(val->dims, val->rank, s2, sizeof s2));
            continue;
        }
        if (r->n_bytes != value_bytes(val)) {
            MISMATCH("  record %u: '%s' holds %zu bytes, expected %zu", i + 1, nm, r->n_bytes, value_bytes(val));
            continue;
        }
        target[i] = v;
    }
    for (int32_t v = 0; v < g->n_values; v++)
        if (saved_value(&g->values[v]) && !seen[v])
            MISMATCH("  graph %s '%s' is missing from the checkpoint",
                     g->values[v].flags & JT_VALUE_STATE ? "state" : "parameter", g->values[v].name);
    if (!rmeta) MISMATCH("  the metadata record is missing");
#undef MISMATCH
    if (n_bad) {
        free(target);
        free(seen);
        st = JT_ERR_SHAPE;
        goto done;
    }
    char *cfg = NULL;
    if (meta) {
        cfg = malloc(rcfg ? rcfg->n_bytes + 1 : 1);
        if (!cfg) {
            free(target);
            free(seen);
            st = jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", path);
            goto done;
        }
    }
    for (uint32_t i = 0; i < n_rec; i++)
        if (target[i] >= 0 && recs[i].n_bytes) memcpy(g->values[target[i]].data, recs[i].data, recs[i].n_bytes);
    if (meta) {
        const unsigned char *q = rmeta->data;
        memset(meta, 0, sizeof *meta);
        meta->step = (int64_t)get_u64(q);
        meta->epoch = (int64_t)get_u64(q + 8);
        meta->data_pos = (int64_t)get_u64(q + 16);
        meta->seed = get_u64(q + 24);
        uint32_t nr = get_u32(q + 32);
        meta->n_rng = nr > JT_CKPT_MAX_RNG ? JT_CKPT_MAX_RNG : (int)nr;
        for (int i = 0; i < JT_CKPT_MAX_RNG; i++) meta->rng[i] = get_u64(q + 40 + 8 * (size_t)i);
        size_t cl = rcfg ? rcfg->n_bytes : 0;
        if (cl) memcpy(cfg, rcfg->data, cl);
        cfg[cl] = 0;
        meta->config = cfg;
        meta->config_len = cl;
    }
    free(target);
    free(seen);
done:
    free(recs);
    free(raw);
    return st;
}

void jt_train_meta_free(jt_train_meta *meta) {
    if (!meta) return;
    free((void *)meta->config);
    meta->config = NULL;
    meta->config_len = 0;
}
