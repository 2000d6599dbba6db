/* Image classification datasets and the training-data loader.
 *
 * Readers (data/): Fashion-MNIST / MNIST (IDX, plain or gzip-compressed), CIFAR-10 (binary version),
 * SVHN cropped digits (train_32x32.mat / test_32x32.mat as distributed, MATLAB level-5 with
 * miCOMPRESSED elements; or CIFAR-style svhn_train.bin / svhn_test.bin records). Every reader
 * validates sizes before allocating and fails with a message naming the file and what is wrong
 * (empty, truncated, wrong magic, wrong size, bad label value). Images are kept as uint8 CHW;
 * batches are produced as float32 in [0,1]. */
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
 * zlib's gzip reader). Sizes are validated; errors name the file. Labels may take any byte value
 * (n_classes = max(10, largest label + 1)). */
jt_status jt_dataset_load_idx(jt_ctx *ctx, const char *images_path, const char *labels_path, jt_dataset *out);
/* Fashion-MNIST from Debian's dataset-fashion-mnist (dir NULL = JT_FMNIST_DIR): train or t10k.
 * {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz, or the same names without .gz; labels 0..9. */
jt_status jt_dataset_load_fmnist(jt_ctx *ctx, const char *dir, int train, jt_dataset *out);
/* MNIST: the same file names and format as Fashion-MNIST in dir (required). */
jt_status jt_dataset_load_mnist(jt_ctx *ctx, const char *dir, int train, jt_dataset *out);
/* CIFAR-10 binary: data_batch_1..5.bin (train) or test_batch.bin in dir; 3,073-byte records. */
jt_status jt_dataset_load_cifar10(jt_ctx *ctx, const char *dir, int train, jt_dataset *out);
/* CIFAR-style records (label byte 0..9, then 3,072 bytes 3x32x32 CHW) from the files in order; each
 * file must hold a whole number of records, at least one and at most max_per_file (<= 0: no limit). */
jt_status jt_dataset_load_cifar_records(jt_ctx *ctx, const char *const *paths, int n_paths, int64_t max_per_file,
                                        jt_dataset *out);
/* SVHN from a MATLAB level-5 MAT-file: variables X (32x32x3xN, column-major) and y (Nx1, 1..10, 10
 * meaning digit 0, mapped to 0). Compressed (miCOMPRESSED) variables are inflated as a stream. */
jt_status jt_dataset_load_svhn_mat(jt_ctx *ctx, const char *path, jt_dataset *out);
/* SVHN from dir: train_32x32.mat / test_32x32.mat when present, else svhn_train.bin / svhn_test.bin. */
jt_status jt_dataset_load_svhn(jt_ctx *ctx, const char *dir, int train, jt_dataset *out);
/* By name: "fmnist" or "fashion-mnist" (dir NULL = JT_FMNIST_DIR), "mnist", "cifar10", "svhn" (dir
 * required for the last three). */
jt_status jt_dataset_open(jt_ctx *ctx, const char *name, const char *dir, int train, jt_dataset *out);
void jt_dataset_free(jt_dataset *d);

/* Keeps the first n examples (n <= d->n). */
void jt_dataset_truncate(jt_dataset *d, int64_t n);
/* Writes images idx[0..count) as float32 [count, c, h, w] in [0,1] and their labels as int64. */
void jt_dataset_batch(const jt_dataset *d, const int64_t *idx, int count, float *x, int64_t *y);

/* Loader: shuffled, augmented batches. */
typedef struct jt_loader_config {
    int batch;          /* examples per batch (default 128) */
    int shuffle;        /* 1: a new permutation every epoch from (seed, epoch) */
    int crop_pad;       /* > 0: zero-pad by this many pixels and take a random crop of the original size */
    int flip;           /* 1: horizontal flip with probability 1/2 */
    int drop_last;      /* 1: drop the last incomplete batch */
    int64_t subset;     /* > 0: use only the first `subset` examples (all when larger than the dataset) */
    uint64_t seed;
} jt_loader_config;
/* batch 128, shuffle 1, no augmentation, keep the last batch, no subset, seed 0. */
void jt_loader_config_default(jt_loader_config *c);
typedef struct jt_loader jt_loader;
/* ds must outlive the loader; ctx receives the errors of jt_loader_batch. */
jt_status jt_loader_create(jt_ctx *ctx, const jt_dataset *ds, const jt_loader_config *cfg, jt_loader **out);
int64_t jt_loader_batches_per_epoch(const jt_loader *l);
int64_t jt_loader_size(const jt_loader *l); /* examples per epoch (after subset) */
/* Batch b of epoch e (both 0-based) into x [count, C, H, W] float32 in [0,1] and y [count] int64
 * (idx: the dataset indices, may be NULL; y may be NULL too); *count = batch size (smaller for the
 * last batch unless drop_last). Any (epoch, b) can be produced in any order: the permutation and every
 * augmentation draw are functions of (seed, epoch, dataset index) only (Philox streams JT_RNG_SHUFFLE
 * and JT_RNG_AUGMENT), so a resumed run reproduces its batches bitwise. The loader caches the current
 * epoch's permutation: one loader must not be used by two threads at once. */
jt_status jt_loader_batch(jt_loader *l, int64_t epoch, int64_t b, float *x, int64_t *y, int64_t *idx, int *count);
void jt_loader_free(jt_loader *l);

#ifdef __cplusplus
}
#endif
#endif
