/* CIFAR-style binary records: one label byte (0..9), then 3,072 bytes of a 3x32x32 image, already CHW
 * (1,024 red, 1,024 green, 1,024 blue, each plane row-major). CIFAR-10's data_batch_*.bin and
 * test_batch.bin, and SVHN converted to svhn_train.bin / svhn_test.bin. The format has no header:
 * every file's size is checked first (a whole number of records), then the records stream straight
 * into the dataset. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jatp/data.h"

#define REC 3073
#define IMG 3072
#define CIFAR_MAX_FILES 64

/* Opens path and checks its size and first bytes; *records = the number of records it holds. */
static jt_status open_records(jt_ctx *ctx, const char *path, int64_t max_per_file, FILE **out, int64_t *records) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return jt_fail(ctx, JT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return jt_fail(ctx, JT_ERR_IO, "%s: not a regular file", path);
    }
    int64_t size = (int64_t)sb.st_size;
    if (size == 0) {
        fclose(f);
        return jt_fail(ctx, JT_ERR_PARSE, "%s: empty file; expected 3,073-byte CIFAR-style records", path);
    }
    uint8_t head[2] = {0, 0};
    size_t hn = fread(head, 1, 2, f);
    if (hn >= 1 && head[0] > 9) {
        const char *why = "the first byte is not a label 0..9: not a CIFAR binary file";
        if (hn == 2 && head[0] == 0x1f && head[1] == 0x8b)
            why = "gzip-compressed: unpack cifar-10-binary.tar.gz first";
        else if (head[0] == 0x80)
            why = "a Python pickle (the python version of CIFAR-10): use the binary version, cifar-10-binary.tar.gz";
        fclose(f);
        return jt_fail(ctx, JT_ERR_PARSE, "%s: wrong magic (first byte 0x%02x): %s", path, head[0], why);
    }
    if (size % REC != 0) {
        fclose(f);
        return jt_fail(ctx, JT_ERR_PARSE,
                      "%s: truncated or wrong size: %lld bytes is not a whole number of 3,073-byte records "
                      "(%lld records and %lld bytes)",
                      path, (long long)size, (long long)(size / REC), (long long)(size % REC));
    }
    if (max_per_file > 0 && size / REC > max_per_file) {
        fclose(f);
        return jt_fail(ctx, JT_ERR_PARSE, "%s: wrong size: %lld records, expected at most %lld (%lld bytes)", path,
                       (long long)(size / REC), (long long)max_per_file, (long long)max_per_file * REC);
    }
    rewind(f);
    *out = f;
    *records = size / REC;
    return JT_OK;
}

jt_status jt_dataset_load_cifar_records(jt_ctx *ctx, const char *const *paths, int n_paths, int64_t max_per_file,
                                        jt_dataset *out) {
    memset(out, 0, sizeof *out);
    if (n_paths < 1 || n_paths > CIFAR_MAX_FILES)
        return jt_fail(ctx, JT_ERR_ARG, "CIFAR-style records: %d files (expected 1..%d)", n_paths, CIFAR_MAX_FILES);
    FILE *fs[CIFAR_MAX_FILES] = {0};
    int64_t counts[CIFAR_MAX_FILES], total = 0;
    jt_status st = JT_OK;
    for (int i = 0; i < n_paths && st == JT_OK; i++) {
        st = open_records(ctx, paths[i], max_per_file, &fs[i], &counts[i]);
        if (st == JT_OK) total += counts[i];
    }
    if (st == JT_OK) {
        out->images = malloc((size_t)total * IMG);
        out->labels = malloc((size_t)total);
        if (!out->images || !out->labels)
            st = jt_fail(ctx, JT_ERR_OOM, "%s: out of memory for %lld images", paths[0], (long long)total);
    }
    int64_t k = 0;
    uint8_t rec[REC];
    for (int i = 0; i < n_paths && st == JT_OK; i++) {
        for (int64_t r = 0; r < counts[i] && st == JT_OK; r++, k++) {
            if (fread(rec, 1, REC, fs[i]) != REC)
                st = jt_fail(ctx, JT_ERR_IO, "%s: truncated: read failed at record %lld of %lld (%s)", paths[i],
                             (long long)r, (long long)counts[i], ferror(fs[i]) ? strerror(errno) : "early end of file");
            else if (rec[0] > 9)
                st = jt_fail(ctx, JT_ERR_PARSE, "%s: bad label value %u in record %lld (expected 0..9)", paths[i],
                             rec[0], (long long)r);
            else {
                out->labels[k] = rec[0];
                memcpy(out->images + (size_t)k * IMG, rec + 1, IMG);
            }
        }
    }
    for (int i = 0; i < n_paths; i++)
        if (fs[i]) fclose(fs[i]);
    if (st != JT_OK) {
        jt_dataset_free(out);
        return st;
    }
    out->n = total;
    out->c = 3;
    out->h = out->w = 32;
    out->n_classes = 10;
    return JT_OK;
}

jt_status jt_dataset_load_cifar10(jt_ctx *ctx, const char *dir, int train, jt_dataset *out) {
    memset(out, 0, sizeof *out);
    if (!dir || !*dir)
        return jt_fail(ctx, JT_ERR_ARG, "CIFAR-10 needs a data folder (with data_batch_1..5.bin and test_batch.bin)");
    char paths[5][1024];
    const char *ps[5];
    int n = train ? 5 : 1;
    for (int i = 0; i < n; i++) {
        if (train) snprintf(paths[i], sizeof paths[i], "%s/data_batch_%d.bin", dir, i + 1);
        else snprintf(paths[i], sizeof paths[i], "%s/test_batch.bin", dir);
        ps[i] = paths[i];
    }
    return jt_dataset_load_cifar_records(ctx, ps, n, 10000, out);
}
