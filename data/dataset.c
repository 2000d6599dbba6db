/* The dataset object (free, truncate, batch) and opening a dataset by name. The readers live in
 * idx.c (MNIST, Fashion-MNIST), cifar.c (CIFAR-10, SVHN .bin) and svhn_mat.c (SVHN .mat). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/data.h"

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

static int exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

jt_status jt_dataset_load_svhn(jt_ctx *ctx, const char *dir, int train, jt_dataset *out) {
    memset(out, 0, sizeof *out);
    if (!dir || !*dir)
        return jt_fail(ctx, JT_ERR_ARG, "SVHN needs a data folder (with train_32x32.mat and test_32x32.mat, or "
                                        "svhn_train.bin and svhn_test.bin)");
    char mat[1024], bin[1024];
    snprintf(mat, sizeof mat, "%s/%s_32x32.mat", dir, train ? "train" : "test");
    snprintf(bin, sizeof bin, "%s/svhn_%s.bin", dir, train ? "train" : "test");
    if (exists(mat) || !exists(bin)) {
        jt_status st = jt_dataset_load_svhn_mat(ctx, mat, out);
        if (st == JT_ERR_IO && !exists(mat)) jt_error_append(ctx, "(nor is there %s)", bin);
        return st;
    }
    const char *p = bin;
    return jt_dataset_load_cifar_records(ctx, &p, 1, 0, out);
}

jt_status jt_dataset_open(jt_ctx *ctx, const char *name, const char *dir, int train, jt_dataset *out) {
    memset(out, 0, sizeof *out);
    if (!name) return jt_fail(ctx, JT_ERR_ARG, "no dataset name (expected fmnist, mnist, cifar10 or svhn)");
    if (!strcmp(name, "fmnist") || !strcmp(name, "fashion-mnist")) return jt_dataset_load_fmnist(ctx, dir, train, out);
    if (!strcmp(name, "mnist")) return jt_dataset_load_mnist(ctx, dir, train, out);
    if (!strcmp(name, "cifar10")) return jt_dataset_load_cifar10(ctx, dir, train, out);
    if (!strcmp(name, "svhn")) return jt_dataset_load_svhn(ctx, dir, train, out);
    return jt_fail(ctx, JT_ERR_ARG, "unknown dataset '%s' (expected fmnist, fashion-mnist, mnist, cifar10 or svhn)",
                   name);
}
