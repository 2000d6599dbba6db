/* Dataset readers: IDX (Fashion-MNIST, MNIST; gzip via zlib) and CIFAR-10 binary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "jatp/data.h"

#define IDX_MAX_BYTES ((size_t)1 << 32)

/* Reads a whole file through gzread (which also reads uncompressed files transparently). */
static jt_status read_gz(jt_ctx *ctx, const char *path, uint8_t **data, size_t *size) {
    *data = NULL;
    *size = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) return jt_fail(ctx, JT_ERR_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            gzclose(f);
            return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", path);
        }
        if (n == cap) {
            if (cap >= IDX_MAX_BYTES) {
                free(buf);
                gzclose(f);
                return jt_fail(ctx, JT_ERR_IO, "%s: larger than %zu bytes", path, IDX_MAX_BYTES);
            }
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) free(buf);
            buf = nb;
            continue;
        }
        int r = gzread(f, buf + n, (unsigned)(cap - n > (1u << 30) ? (1u << 30) : cap - n));
        if (r < 0) {
            int e;
            const char *msg = gzerror(f, &e);
            jt_status st = jt_fail(ctx, JT_ERR_IO, "%s: read failed: %s", path, msg);
            free(buf);
            gzclose(f);
            return st;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    gzclose(f);
    *data = buf;
    *size = n;
    return JT_OK;
}

static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

jt_status jt_dataset_load_idx(jt_ctx *ctx, const char *images_path, const char *labels_path, jt_dataset *out) {
    memset(out, 0, sizeof *out);
    uint8_t *im = NULL, *lb = NULL;
    size_t ni, nl;
    JT_TRY(read_gz(ctx, images_path, &im, &ni));
    jt_status st = read_gz(ctx, labels_path, &lb, &nl);
    if (st != JT_OK) {
        free(im);
        return st;
    }
    if (ni < 16 || be32(im) != 0x00000803u) {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: not an IDX image file (magic %08x, expected 00000803)", images_path,
                     ni >= 4 ? be32(im) : 0);
        goto done;
    }
    if (nl < 8 || be32(lb) != 0x00000801u) {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: not an IDX label file (magic %08x, expected 00000801)", labels_path,
                     nl >= 4 ? be32(lb) : 0);
        goto done;
    }
    uint32_t n = be32(im + 4), h = be32(im + 8), w = be32(im + 12), m = be32(lb + 4);
    if ((uint64_t)n * h * w + 16 != ni || h == 0 || w == 0 || h > 4096 || w > 4096) {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: header says %u images of %ux%u (%llu bytes) but the data has %zu bytes",
                     images_path, n, h, w, (unsigned long long)n * h * w + 16, ni);
        goto done;
    }
    if ((uint64_t)m + 8 != nl || m != n) {
        st = jt_fail(ctx, JT_ERR_PARSE, "%s: %u labels (%zu bytes) for %u images in %s", labels_path, m, nl, n,
                     images_path);
        goto done;
    }
    out->images = malloc((size_t)n * h * w);
    out->labels = malloc(n ? n : 1);
    if (!out->images || !out->labels) {
        st = jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", images_path);
        goto done;
    }
    memcpy(out->images, im + 16, (size_t)n * h * w);
    memcpy(out->labels, lb + 8, n);
    int maxl = 0;
    for (uint32_t i = 0; i < n; i++)
        if (out->labels[i] > maxl) maxl = out->labels[i];
    out->n = n;
    out->c = 1;
    out->h = (int)h;
    out->w = (int)w;
    out->n_classes = maxl + 1 > 10 ? maxl + 1 : 10;
done:
    free(im);
    free(lb);
    if (st != JT_OK) jt_dataset_free(out);
    return st;
}

jt_status jt_dataset_load_fmnist(jt_ctx *ctx, const char *dir, int train, jt_dataset *out) {
    char ip[1024], lp[1024];
    const char *d = dir ? dir : JT_FMNIST_DIR, *split = train ? "train" : "t10k";
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", d, split);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", d, split);
    jt_status st = jt_dataset_load_idx(ctx, ip, lp, out);
    if (st == JT_ERR_IO && !dir)
        jt_error_append(ctx, "hint: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)");
    return st;
}

jt_status jt_dataset_load_cifar10(jt_ctx *ctx, const char *dir, int train, jt_dataset *out) {
    memset(out, 0, sizeof *out);
    const int rec = 3073, per = 10000, files = train ? 5 : 1;
    out->images = malloc((size_t)files * per * 3072);
    out->labels = malloc((size_t)files * per);
    if (!out->images || !out->labels) {
        jt_dataset_free(out);
        return jt_fail(ctx, JT_ERR_OOM, "out of memory for CIFAR-10");
    }
    for (int f = 0; f < files; f++) {
        char path[1024];
        if (train) snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, f + 1);
        else snprintf(path, sizeof path, "%s/test_batch.bin", dir);
        uint8_t *buf;
        size_t n;
        jt_status st = read_gz(ctx, path, &buf, &n);
        if (st != JT_OK) {
            jt_dataset_free(out);
            return st;
        }
        if (n != (size_t)rec * per) {
            free(buf);
            jt_dataset_free(out);
            return jt_fail(ctx, JT_ERR_PARSE, "%s: %zu bytes, expected %d records of %d bytes (30,730,000)", path, n,
                           per, rec);
        }
        for (int i = 0; i < per; i++) {
            uint8_t lab = buf[(size_t)i * rec];
            if (lab > 9) {
                free(buf);
                jt_dataset_free(out);
                return jt_fail(ctx, JT_ERR_PARSE, "%s: record %d has label %d, expected 0..9", path, i, lab);
            }
            out->labels[(size_t)f * per + i] = lab;
            memcpy(out->images + ((size_t)f * per + i) * 3072, buf + (size_t)i * rec + 1, 3072);
        }
        free(buf);
    }
    out->n = (int64_t)files * per;
    out->c = 3;
    out->h = out->w = 32;
    out->n_classes = 10;
    return JT_OK;
}

void jt_dataset_free(jt_dataset *d) {
    if (!d) return;
    free(d->images);
    free(d->labels);
    d->images = d->labels = NULL;
    d->n = 0;
}

void jt_dataset_truncate(jt_dataset *d, int64_t n) {
    if (n >= 0 && n < d->n) d->n = n;
}

void jt_dataset_batch(const jt_dataset *d, const int64_t *idx, int count, float *x, int64_t *y) {
    size_t sz = (size_t)d->c * (size_t)d->h * (size_t)d->w;
    for (int i = 0; i < count; i++) {
        const uint8_t *src = d->images + (size_t)idx[i] * sz;
        for (size_t k = 0; k < sz; k++) x[(size_t)i * sz + k] = (float)src[k] * (1.0f / 255.0f);
        if (y) y[i] = d->labels[idx[i]];
    }
}
