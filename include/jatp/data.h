/* Image classification datasets: Fashion-MNIST / MNIST (IDX, optionally gzip-compressed) and
 * CIFAR-10 (binary version). Images are kept as uint8 CHW; batches are produced as float32 in [0,1]. */
#ifndef JATP_DATA_H
#define JATP_DATA_H

#include <stdint.h>

#include "jatp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JT_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct jt_dataset {
    int64_t n;
    int c, h, w;
    int n_classes;
    uint8_t *images; /* n * c * h * w, CHW per image */
    uint8_t *labels; /* n */
} jt_dataset;

/* IDX files (magic 00 00 08 03 images N x H x W, 00 00 08 01 labels N), plain or .gz (read through
 * zlib's gzip reader). Sizes are validated; errors name the file. */
jt_status jt_dataset_load_idx(jt_ctx *ctx, const char *images_path, const char *labels_path, jt_dataset *out);
/* Fashion-MNIST from Debian's dataset-fashion-mnist (dir NULL = JT_FMNIST_DIR): train or t10k. */
jt_status jt_dataset_load_fmnist(jt_ctx *ctx, const char *dir, int train, jt_dataset *out);
/* CIFAR-10 binary: data_batch_1..5.bin (train) or test_batch.bin in dir; 3,073-byte records. */
jt_status jt_dataset_load_cifar10(jt_ctx *ctx, const char *dir, int train, jt_dataset *out);
void jt_dataset_free(jt_dataset *d);

/* Keeps the first n examples (n <= d->n). */
void jt_dataset_truncate(jt_dataset *d, int64_t n);
/* Writes images idx[0..count) as float32 [count, c, h, w] in [0,1] and their labels as int64. */
void jt_dataset_batch(const jt_dataset *d, const int64_t *idx, int count, float *x, int64_t *y);

#ifdef __cplusplus
}
#endif
#endif
