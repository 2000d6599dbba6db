/* IDX reader (MNIST, Fashion-MNIST): plain or gzip-compressed, through zlib's gzip reader (which reads
 * uncompressed files transparently). Both headers are checked before any payload is read, and the
 * payload buffer grows with the data actually present, so a hostile header cannot force a huge
 * allocation: a file shorter than its header claims fails as truncated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "jatp/data.h"

#define IDX_MAX_DIM 4096u
#define IDX_MAX_N (1u << 28)
#define IDX_CHUNK ((size_t)1 << 30) /* gzread takes an unsigned count */

typedef struct idx_file {
    const char *path;
    gzFile f;
    uint32_t dims[3]; /* images: N H W; labels: N */
} idx_file;

static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static jt_status idx_open(jt_ctx *ctx, idx_file *x, const char *path) {
    x->path = path;
    errno = 0;
    x->f = gzopen(path, "rb");
    if (!x->f) return jt_fail(ctx, JT_ERR_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    gzbuffer(x->f, 1u << 17);
    return JT_OK;
}

/* Reads up to n bytes; *got = bytes read. A gzip error (corrupt or cut-short stream) is an error. */
static jt_status idx_read(jt_ctx *ctx, idx_file *x, uint8_t *dst, size_t n, size_t *got) {
    *got = 0;
    while (*got < n) {
        size_t want = n - *got > IDX_CHUNK ? IDX_CHUNK : n - *got;
        int r = gzread(x->f, dst + *got, (unsigned)want);
        if (r < 0) break;
        if (r == 0) break;
        *got += (size_t)r;
    }
    int e = Z_OK;
    const char *msg = gzerror(x->f, &e);
    if (e == Z_BUF_ERROR)
        return jt_fail(ctx, JT_ERR_PARSE, "%s: truncated gzip stream (the compressed file is cut short)", x->path);
    size_t pl = strlen(x->path);
    if (msg && strncmp(msg, x->path, pl) == 0 && msg[pl] == ':') msg += pl + (msg[pl + 1] == ' ' ? 2 : 1);
    if (e == Z_ERRNO) return jt_fail(ctx, JT_ERR_IO, "%s: read failed: %s", x->path, strerror(errno));
    if (e != Z_OK) return jt_fail(ctx, JT_ERR_PARSE, "%s: corrupt gzip data: %s", x->path, msg);
    return JT_OK;
}

/* Reads and checks the header: magic 00 00 08 <ndims> (unsigned bytes), then ndims big-endian sizes. */
static jt_status idx_header(jt_ctx *ctx, idx_file *x, int ndims) {
    static const char *const kind[4] = {"", "labels, N", "", "images, N x H x W"};
    uint8_t h[16];
    size_t hl = 4 + 4 * (size_t)ndims, got;
    JT_TRY(idx_read(ctx, x, h, hl, &got));
    if (got == 0) return jt_fail(ctx, JT_ERR_PARSE, "%s: empty file; expected IDX %s", x->path, kind[ndims]);
    uint32_t magic = got >= 4 ? be32(h) : 0;
    if (got < 4 || magic != 0x800u + (uint32_t)ndims) {
        const char *what = "";
        if (got >= 4 && magic == 0x801u) what = " (an IDX label file)";
        else if (got >= 4 && magic == 0x803u) what = " (an IDX image file)";
        else if (got >= 4 && h[0] == 0 && h[1] == 0 && h[2] != 8) what = " (IDX, but not of unsigned bytes)";
        if (got < 4)
            return jt_fail(ctx, JT_ERR_PARSE, "%s: truncated: %zu bytes, shorter than the 4-byte IDX magic", x->path,
                           got);
        return jt_fail(ctx, JT_ERR_PARSE, "%s: wrong magic %08x%s, expected %08x (IDX unsigned-byte %s)", x->path,
                       magic, what, 0x800u + (uint32_t)ndims, kind[ndims]);
    }
    if (got < hl)
        return jt_fail(ctx, JT_ERR_PARSE, "%s: truncated: the file ends inside its %zu-byte IDX header", x->path, hl);
    for (int i = 0; i < ndims; i++) x->dims[i] = be32(h + 4 + 4 * i);
    if (x->dims[0] == 0 || x->dims[0] > IDX_MAX_N)
        return jt_fail(ctx, JT_ERR_PARSE, "%s: wrong size: the header declares %u examples (expected 1..%u)", x->path,
                       x->dims[0], IDX_MAX_N);
    if (ndims == 3 && (x->dims[1] == 0 || x->dims[2] == 0 || x->dims[1] > IDX_MAX_DIM || x->dims[2] > IDX_MAX_DIM))
        return jt_fail(ctx, JT_ERR_PARSE, "%s: wrong size: the header declares %ux%u images (expected 1..%u each)",
                       x->path, x->dims[1], x->dims[2], IDX_MAX_DIM);
    return JT_OK;
}

/* Reads exactly n payload bytes into a buffer that grows with the data present, then checks that the
 * file ends there. */
static jt_status idx_payload(jt_ctx *ctx, idx_file *x, size_t n, const char *what, uint8_t **out) {
    *out = NULL;
    size_t cap = n < ((size_t)1 << 20) ? n : (size_t)1 << 20, have = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory for %zu bytes", x->path, cap);
    for (;;) {
        size_t got;
        jt_status st = idx_read(ctx, x, buf + have, cap - have, &got);
        if (st != JT_OK) {
            free(buf);
            return st;
        }
        have += got;
        if (have < cap || cap == n) break;
        size_t nc = cap * 2 < n ? cap * 2 : n;
        uint8_t *nb = realloc(buf, nc);
        if (!nb) {
            free(buf);
            return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory for %zu bytes", x->path, nc);
        }
        buf = nb;
        cap = nc;
    }
    if (have < n) {
        free(buf);
        return jt_fail(ctx, JT_ERR_PARSE, "%s: truncated: the header declares %s (%zu bytes) but the file holds %zu",
                       x->path, what, n, have);
    }
    uint8_t extra[4096];
    size_t more = 0, got;
    do {
        jt_status st = idx_read(ctx, x, extra, sizeof extra, &got);
        if (st != JT_OK) {
            free(buf);
            return st;
        }
        more += got;
    } while (got == sizeof extra && more < ((size_t)1 << 24));
    if (more) {
        free(buf);
        return jt_fail(ctx, JT_ERR_PARSE, "%s: wrong size: %s%zu bytes follow the %s the header declares", x->path,
                       more >= ((size_t)1 << 24) ? "more than " : "", more, what);
    }
    *out = buf;
    return JT_OK;
}

static jt_status idx_load(jt_ctx *ctx, const char *images_path, const char *labels_path, int max_label,
                          jt_dataset *out) {
    memset(out, 0, sizeof *out);
    idx_file im = {0}, lb = {0};
    uint8_t *pix = NULL, *lab = NULL;
    char what[96];
    jt_status st = idx_open(ctx, &im, images_path);
    if (st == JT_OK) st = idx_header(ctx, &im, 3);
    if (st == JT_OK) st = idx_open(ctx, &lb, labels_path);
    if (st == JT_OK) st = idx_header(ctx, &lb, 1);
    if (st == JT_OK && lb.dims[0] != im.dims[0])
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: wrong size: %u labels for the %u images of %s", labels_path, lb.dims[0],
                     im.dims[0], images_path);
    size_t npix = (size_t)im.dims[0] * im.dims[1] * im.dims[2];
    if (st == JT_OK) {
        snprintf(what, sizeof what, "%u images of %ux%u", im.dims[0], im.dims[1], im.dims[2]);
        st = idx_payload(ctx, &im, npix, what, &pix);
    }
    if (st == JT_OK) {
        snprintf(what, sizeof what, "%u labels", lb.dims[0]);
        st = idx_payload(ctx, &lb, lb.dims[0], what, &lab);
    }
    int maxl = 0;
    for (uint32_t i = 0; st == JT_OK && i < lb.dims[0]; i++) {
        if (lab[i] > max_label)
            st = jt_fail(ctx, JT_ERR_PARSE, "%s: bad label value %u at index %u (expected 0..%d)", labels_path, lab[i],
                         i, max_label);
        if (lab[i] > maxl) maxl = lab[i];
    }
    if (im.f) gzclose(im.f);
    if (lb.f) gzclose(lb.f);
    if (st != JT_OK) {
        free(pix);
        free(lab);
        return st;
    }
    out->images = pix;
    out->labels = lab;
    out->n = im.dims[0];
    out->c = 1;
    out->h = (int)im.dims[1];
    out->w = (int)im.dims[2];
    out->n_classes = maxl + 1 > 10 ? maxl + 1 : 10;
    return JT_OK;
}

jt_status jt_dataset_load_idx(jt_ctx *ctx, const char *images_path, const char *labels_path, jt_dataset *out) {
    return idx_load(ctx, images_path, labels_path, 255, out);
}

/* dir/<base>.gz when it exists, else dir/<base>. */
static void pick(const char *dir, const char *base, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s.gz", dir, base);
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        return;
    }
    snprintf(path, cap, "%s/%s", dir, base);
    f = fopen(path, "rb");
    if (f) fclose(f);
    else snprintf(path, cap, "%s/%s.gz", dir, base); /* the error names the usual (Debian) name */
}

static jt_status load_split(jt_ctx *ctx, const char *dir, int train, jt_dataset *out) {
    char ip[1024], lp[1024], ib[64], lbn[64];
    const char *split = train ? "train" : "t10k";
    snprintf(ib, sizeof ib, "%s-images-idx3-ubyte", split);
    snprintf(lbn, sizeof lbn, "%s-labels-idx1-ubyte", split);
    pick(dir, ib, ip, sizeof ip);
    pick(dir, lbn, lp, sizeof lp);
    jt_status st = idx_load(ctx, ip, lp, 9, out);
    if (st == JT_ERR_IO) jt_error_append(ctx, "(looked for %s and %s, with or without .gz, in %s)", ib, lbn, dir);
    return st;
}

jt_status jt_dataset_load_fmnist(jt_ctx *ctx, const char *dir, int train, jt_dataset *out) {
    jt_status st = load_split(ctx, dir ? dir : JT_FMNIST_DIR, train, out);
    if (st == JT_ERR_IO && !dir)
        jt_error_append(ctx, "hint: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)");
    return st;
}

jt_status jt_dataset_load_mnist(jt_ctx *ctx, const char *dir, int train, jt_dataset *out) {
    memset(out, 0, sizeof *out);
    if (!dir || !*dir)
        return jt_fail(ctx, JT_ERR_ARG, "MNIST needs a data folder (with train-images-idx3-ubyte[.gz] and the others)");
    return load_split(ctx, dir, train, out);
}
