/* Dataset file formats on small files this test writes in the exact format: MNIST IDX (plain and
 * gzip), CIFAR-10 binary, SVHN as a MATLAB level-5 MAT-file (compressed and not, little- and
 * big-endian, several stored types) and as CIFAR-style .bin records. Round trips check CHW order and
 * the label mapping 10 -> 0; every malformed file (empty, truncated, wrong magic, wrong size, bad
 * label value, hostile sizes, corrupt compressed data) must fail with a message naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "jatp/data.h"
#include "jatp/jatp.h"
#include "jt_test.h"

static char g_dir[64];

/* ---------- small helpers ---------- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (src) memcpy(b->p + b->n, src, n);
    else memset(b->p + b->n, 0, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v, int be) {
    uint8_t q[4];
    for (int i = 0; i < 4; i++) q[i] = (uint8_t)(v >> (be ? 24 - 8 * i : 8 * i));
    put(b, q, 4);
}
static void put_be32(buf *b, uint32_t v) { put_u32(b, v, 1); }
static void pad8(buf *b) {
    while (b->n % 8) put(b, NULL, 1);
}

static void path_of(char *p, size_t cap, const char *name) { jt_test_fmt(p, cap, "%s/%s", g_dir, name); }

static void write_file(const char *name, const void *data, size_t n) {
    char p[256];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

static void write_gz(const char *name, const void *data, size_t n) {
    char p[256];
    path_of(p, sizeof p, name);
    gzFile f = gzopen(p, "wb");
    if (!f) abort();
    gzwrite(f, data, (unsigned)n);
    gzclose(f);
}

static uint8_t *slurp(const char *name, size_t *n) {
    char p[256];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "rb");
    if (!f) abort();
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    uint8_t *d = malloc(*n + 1);
    if (fread(d, 1, *n, f) != *n) abort();
    fclose(f);
    return d;
}

static void expect_ok(const char *name, jt_status st, jt_ctx *ctx) {
    if (st != JT_OK) jt_test_fail(name, "failed: %s", jt_ctx_error(ctx));
}

/* The load must fail, its message naming `file` and containing `word`. */
static void expect_err(const char *name, jt_status st, jt_ctx *ctx, jt_dataset *d, const char *file, const char *word) {
    if (st == JT_OK) {
        jt_test_fail(name, "accepted a malformed file (%s expected)", word);
        jt_dataset_free(d);
    } else if (!strstr(jt_ctx_error(ctx), file) || !strstr(jt_ctx_error(ctx), word))
        jt_test_fail(name, "message does not name '%s' or say '%s': %s", file, word, jt_ctx_error(ctx));
    else if (d->images || d->labels)
        jt_test_fail(name, "failed but left memory in the dataset");
    else {
        jt_test_ok(name);
        if (getenv("JT_DATA_SHOW_ERRORS")) jt_test_note("%s", jt_ctx_error(ctx));
    }
}

static uint8_t pix(int n, int ch, int r, int c) { return (uint8_t)(n * 31 + ch * 80 + r * 7 + c * 3 + 1); }

/* The dataset holds images pix() in CHW and the given labels. */
static int check_images(const jt_dataset *d, int n, const uint8_t *labels, char *why, size_t cap) {
    if (d->n != n || d->c != 3 || d->h != 32 || d->w != 32 || d->n_classes != 10) {
        jt_test_fmt(why, cap, "n %lld c %d h %d w %d classes %d", (long long)d->n, d->c, d->h, d->w, d->n_classes);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (d->labels[i] != labels[i]) {
            jt_test_fmt(why, cap, "label %d is %u, expected %u", i, d->labels[i], labels[i]);
            return 0;
        }
        for (int ch = 0; ch < 3; ch++)
            for (int r = 0; r < 32; r++)
                for (int c = 0; c < 32; c++)
                    if (d->images[(size_t)i * 3072 + ch * 1024 + r * 32 + c] != pix(i, ch, r, c)) {
                        jt_test_fmt(why, cap, "image %d pixel (ch %d, row %d, col %d) is %u, expected %u", i, ch, r, c,
                                    d->images[(size_t)i * 3072 + ch * 1024 + r * 32 + c], pix(i, ch, r, c));
                        return 0;
                    }
    }
    return 1;
}


static void subdir(char *p, size_t cap, const char *name) {
    jt_test_fmt(p, cap, "%s/%s", g_dir, name);
    mkdir(p, 0755);
}

static void rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[512];
        jt_test_fmt(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) rm_tree(p);
        else remove(p);
    }
    closedir(d);
    rmdir(dir);
}

/* ---------- MNIST IDX ---------- */

static void idx_images(buf *b, uint32_t magic, uint32_t n, uint32_t h, uint32_t w, uint32_t present) {
    put_be32(b, magic);
    put_be32(b, n);
    put_be32(b, h);
    put_be32(b, w);
    for (uint32_t i = 0; i < present * h * w; i++) {
        uint8_t v = (uint8_t)(i * 13 + 5);
        put(b, &v, 1);
    }
}
static void idx_labels(buf *b, uint32_t n, uint32_t present, uint32_t bad_at, uint8_t bad) {
    put_be32(b, 0x801);
    put_be32(b, n);
    for (uint32_t i = 0; i < present; i++) {
        uint8_t v = i == bad_at ? bad : (uint8_t)(i * 3 % 10);
        put(b, &v, 1);
    }
}

static int check_idx(const jt_dataset *d, uint32_t n, uint32_t h, uint32_t w, char *why, size_t cap) {
    if (d->n != n || d->c != 1 || d->h != (int)h || d->w != (int)w || d->n_classes != 10) {
        jt_test_fmt(why, cap, "n %lld c %d h %d w %d classes %d", (long long)d->n, d->c, d->h, d->w, d->n_classes);
        return 0;
    }
    for (uint32_t i = 0; i < n * h * w; i++)
        if (d->images[i] != (uint8_t)(i * 13 + 5)) {
            jt_test_fmt(why, cap, "pixel %u is %u, expected %u", i, d->images[i], (uint8_t)(i * 13 + 5));
            return 0;
        }
    for (uint32_t i = 0; i < n; i++)
        if (d->labels[i] != i * 3 % 10) {
            jt_test_fmt(why, cap, "label %u is %u", i, d->labels[i]);
            return 0;
        }
    return 1;
}

static void test_idx(jt_ctx *ctx) {
    char dir[128], ip[256], lp[256], why[256];
    jt_dataset d = {0};
    /* good files: train plain, t10k gzip, in one folder with the standard names */
    subdir(dir, sizeof dir, "mnist");
    buf im = {0}, lb = {0};
    idx_images(&im, 0x803, 7, 5, 4, 7);
    idx_labels(&lb, 7, 7, 99, 0);
    write_file("mnist/train-images-idx3-ubyte", im.p, im.n);
    write_file("mnist/train-labels-idx1-ubyte", lb.p, lb.n);
    write_gz("mnist/t10k-images-idx3-ubyte.gz", im.p, im.n);
    write_gz("mnist/t10k-labels-idx1-ubyte.gz", lb.p, lb.n);
    jt_status st = jt_dataset_load_mnist(ctx, dir, 1, &d);
    expect_ok("data/idx/plain", st, ctx);
    if (st == JT_OK) {
        if (!check_idx(&d, 7, 5, 4, why, sizeof why)) jt_test_fail("data/idx/plain", "%s", why);
        else jt_test_ok("data/idx/plain");
    }
    jt_dataset_free(&d);
    st = jt_dataset_open(ctx, "mnist", dir, 0, &d);
    expect_ok("data/idx/gzip", st, ctx);
    if (st == JT_OK) {
        if (!check_idx(&d, 7, 5, 4, why, sizeof why)) jt_test_fail("data/idx/gzip", "%s", why);
        else jt_test_ok("data/idx/gzip");
    }
    jt_dataset_free(&d);
    st = jt_dataset_open(ctx, "fashion-mnist", dir, 1, &d); /* same format, any folder */
    if (st != JT_OK || d.n != 7) jt_test_fail("data/idx/fmnist_dir", "%s", jt_ctx_error(ctx));
    else jt_test_ok("data/idx/fmnist_dir");
    jt_dataset_free(&d);
    st = jt_dataset_load_mnist(ctx, NULL, 1, &d);
    if (st != JT_ERR_ARG) jt_test_fail("data/idx/no_dir", "status %d: %s", (int)st, jt_ctx_error(ctx));
    else jt_test_ok("data/idx/no_dir");

    /* errors; each message names the file */
    path_of(lp, sizeof lp, "good-labels");
    write_file("good-labels", lb.p, lb.n);
    path_of(ip, sizeof ip, "idx-empty");
    write_file("idx-empty", NULL, 0);
    expect_err("data/idx/empty_images", jt_dataset_load_idx(ctx, ip, lp, &d), ctx, &d, "idx-empty", "empty");
    {
        char good[256];
        path_of(good, sizeof good, "good-images");
        write_file("good-images", im.p, im.n);
        expect_err("data/idx/empty_labels", jt_dataset_load_idx(ctx, good, ip, &d), ctx, &d, "idx-empty", "empty");
        expect_err("data/idx/wrong_magic_swapped", jt_dataset_load_idx(ctx, lp, good, &d), ctx, &d, "good-labels",
                   "wrong magic");
        buf b = {0};
        idx_labels(&b, 6, 6, 99, 0);
        write_file("six-labels", b.p, b.n);
        path_of(ip, sizeof ip, "six-labels");
        expect_err("data/idx/label_count", jt_dataset_load_idx(ctx, good, ip, &d), ctx, &d, "six-labels",
                   "wrong size");
        free(b.p);
    }
    struct {
        const char *name, *file, *word;
        uint32_t magic, n, h, w, present;
        int gz, extra;
    } cases[] = {
        {"data/idx/truncated", "idx-trunc", "truncated", 0x803, 7, 5, 4, 6, 0, 0},
        {"data/idx/truncated_gz", "idx-trunc.gz", "truncated", 0x803, 7, 5, 4, 6, 1, 0},
        {"data/idx/wrong_magic", "idx-magic", "wrong magic", 0x80d, 7, 5, 4, 7, 0, 0},
        {"data/idx/wrong_size_extra", "idx-extra.gz", "wrong size", 0x803, 7, 5, 4, 7, 1, 3},
        {"data/idx/wrong_size_dims", "idx-dims", "wrong size", 0x803, 7, 5000, 4, 0, 0, 0},
        {"data/idx/zero_images", "idx-zero", "wrong size", 0x803, 0, 5, 4, 0, 0, 0},
        /* a hostile header: 2^28 images of 4096x4096 in a 26-byte file fails as truncated at once */
        {"data/idx/hostile_size", "idx-hostile", "truncated", 0x803, 1u << 28, 4096, 4096, 0, 0, 10},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        buf b = {0};
        idx_images(&b, cases[k].magic, cases[k].n, cases[k].h, cases[k].w, cases[k].present);
        put(&b, NULL, (size_t)cases[k].extra);
        if (cases[k].gz) write_gz(cases[k].file, b.p, b.n);
        else write_file(cases[k].file, b.p, b.n);
        path_of(ip, sizeof ip, cases[k].file);
        buf l = {0};
        idx_labels(&l, cases[k].n, cases[k].n < 100 ? cases[k].n : 0, 99, 0);
        write_file("case-labels", l.p, l.n);
        char cl[256];
        path_of(cl, sizeof cl, "case-labels");
        expect_err(cases[k].name, jt_dataset_load_idx(ctx, ip, cl, &d), ctx, &d, cases[k].file, cases[k].word);
        free(b.p);
        free(l.p);
    }
    /* a gzip stream cut short (the gzip reader's own error) */
    {
        size_t n;
        uint8_t *gz = slurp("mnist/t10k-images-idx3-ubyte.gz", &n);
        write_file("idx-cut.gz", gz, n - 12);
        path_of(ip, sizeof ip, "idx-cut.gz");
        expect_err("data/idx/truncated_gzip_stream", jt_dataset_load_idx(ctx, ip, lp, &d), ctx, &d, "idx-cut.gz",
                   "truncated");
        free(gz);
    }
    /* corrupt gzip data (zlib's data or checksum error) */
    {
        size_t n;
        uint8_t *gz = slurp("mnist/t10k-images-idx3-ubyte.gz", &n);
        for (size_t i = n / 2; i < n / 2 + 8; i++) gz[i] ^= 0xa5;
        write_file("idx-corrupt.gz", gz, n);
        path_of(ip, sizeof ip, "idx-corrupt.gz");
        expect_err("data/idx/corrupt_gzip", jt_dataset_load_idx(ctx, ip, lp, &d), ctx, &d, "idx-corrupt.gz",
                   "corrupt gzip data");
        free(gz);
    }
    /* label value out of range for MNIST (0..9) */
    {
        subdir(dir, sizeof dir, "mnist-badlabel");
        buf b = {0};
        idx_labels(&b, 7, 7, 4, 10);
        write_file("mnist-badlabel/train-images-idx3-ubyte", im.p, im.n);
        write_file("mnist-badlabel/train-labels-idx1-ubyte", b.p, b.n);
        expect_err("data/idx/bad_label", jt_dataset_load_mnist(ctx, dir, 1, &d), ctx, &d, "train-labels-idx1-ubyte",
                   "bad label value 10");
        free(b.p);
    }
    path_of(ip, sizeof ip, "no-such-file");
    expect_err("data/idx/missing", jt_dataset_load_idx(ctx, ip, lp, &d), ctx, &d, "no-such-file", "cannot open");
    free(im.p);
    free(lb.p);
}

/* ---------- CIFAR-10 binary ---------- */

static void cifar_records(buf *b, int first, int count, const uint8_t *labels) {
    for (int i = 0; i < count; i++) {
        uint8_t lab = labels[i];
        put(b, &lab, 1);
        for (int ch = 0; ch < 3; ch++)
            for (int r = 0; r < 32; r++)
                for (int c = 0; c < 32; c++) {
                    uint8_t v = pix(first + i, ch, r, c);
                    put(b, &v, 1);
                }
    }
}

static void test_cifar(jt_ctx *ctx) {
    char dir[128], p[256], why[256];
    jt_dataset d = {0};
    subdir(dir, sizeof dir, "cifar");
    static const uint8_t labels[8] = {6, 9, 9, 4, 1, 1, 2, 7};
    static const int per_file[5] = {2, 1, 1, 1, 3};
    for (int f = 0, first = 0; f < 5; first += per_file[f], f++) {
        buf b = {0};
        cifar_records(&b, first, per_file[f], labels + first);
        char name[64];
        jt_test_fmt(name, sizeof name, "cifar/data_batch_%d.bin", f + 1);
        write_file(name, b.p, b.n);
        free(b.p);
    }
    buf t = {0};
    static const uint8_t tl[5] = {3, 8, 8, 0, 6};
    cifar_records(&t, 0, 5, tl);
    write_file("cifar/test_batch.bin", t.p, t.n);
    jt_status st = jt_dataset_load_cifar10(ctx, dir, 1, &d);
    expect_ok("data/cifar/train", st, ctx);
    if (st == JT_OK) {
        if (!check_images(&d, 8, labels, why, sizeof why)) jt_test_fail("data/cifar/train", "%s", why);
        else jt_test_ok("data/cifar/train");
    }
    jt_dataset_free(&d);
    st = jt_dataset_open(ctx, "cifar10", dir, 0, &d);
    expect_ok("data/cifar/test", st, ctx);
    if (st == JT_OK) {
        if (!check_images(&d, 5, tl, why, sizeof why)) jt_test_fail("data/cifar/test", "%s", why);
        else jt_test_ok("data/cifar/test");
    }
    jt_dataset_free(&d);
    st = jt_dataset_open(ctx, "cifar10", NULL, 0, &d);
    if (st != JT_ERR_ARG) jt_test_fail("data/cifar/no_dir", "status %d: %s", (int)st, jt_ctx_error(ctx));
    else jt_test_ok("data/cifar/no_dir");

    /* errors */
    const char *ps[1] = {p};
    path_of(p, sizeof p, "cifar-empty.bin");
    write_file("cifar-empty.bin", NULL, 0);
    expect_err("data/cifar/empty", jt_dataset_load_cifar_records(ctx, ps, 1, 0, &d), ctx, &d, "cifar-empty.bin",
               "empty");
    path_of(p, sizeof p, "cifar-trunc.bin");
    write_file("cifar-trunc.bin", t.p, t.n - 1000);
    expect_err("data/cifar/truncated", jt_dataset_load_cifar_records(ctx, ps, 1, 0, &d), ctx, &d, "cifar-trunc.bin",
               "truncated");
    path_of(p, sizeof p, "cifar-long.bin");
    write_file("cifar-long.bin", t.p, 3073 * 2 + 7);
    expect_err("data/cifar/wrong_size", jt_dataset_load_cifar_records(ctx, ps, 1, 0, &d), ctx, &d, "cifar-long.bin",
               "wrong size");
    path_of(p, sizeof p, "cifar-many.bin");
    write_file("cifar-many.bin", t.p, t.n);
    expect_err("data/cifar/too_many_records", jt_dataset_load_cifar_records(ctx, ps, 1, 4, &d), ctx, &d,
               "cifar-many.bin", "wrong size");
    {
        uint8_t *g = malloc(t.n);
        memcpy(g, t.p, t.n);
        g[0] = 0x1f; /* gzip magic */
        g[1] = 0x8b;
        path_of(p, sizeof p, "cifar-gz.bin");
        write_file("cifar-gz.bin", g, t.n);
        expect_err("data/cifar/wrong_magic", jt_dataset_load_cifar_records(ctx, ps, 1, 0, &d), ctx, &d,
                   "cifar-gz.bin", "wrong magic");
        memcpy(g, t.p, t.n);
        g[3073 * 3] = 10; /* record 3 */
        path_of(p, sizeof p, "cifar-label.bin");
        write_file("cifar-label.bin", g, t.n);
        expect_err("data/cifar/bad_label", jt_dataset_load_cifar_records(ctx, ps, 1, 0, &d), ctx, &d,
                   "cifar-label.bin", "bad label value 10 in record 3");
        free(g);
    }
    /* through the dataset loader: a truncated data_batch_4.bin is named */
    write_file("cifar/data_batch_4.bin", t.p, 3000);
    expect_err("data/cifar/truncated_batch", jt_dataset_load_cifar10(ctx, dir, 1, &d), ctx, &d, "data_batch_4.bin",
               "truncated");
    free(t.p);
}

/* ---------- SVHN: MATLAB level-5 MAT-files ---------- */

enum { MI_INT8 = 1, MI_UINT8 = 2, MI_INT16 = 3, MI_UINT16 = 4, MI_DOUBLE = 9, MI_MATRIX = 14, MI_COMPRESSED = 15 };
enum { MX_CHAR = 4, MX_DOUBLE = 6, MX_UINT8 = 9 };

typedef struct matvar {
    const char *name;
    uint32_t cls;
    int nd;
    int32_t dims[4];
    uint32_t stype;
    buf data; /* in file byte order */
    int compress;
    size_t cut_stream; /* > 0: keep only this many compressed bytes (tag count matches) */
    uint32_t claim;    /* > 0: the inner matrix tag claims this many bytes */
} matvar;

static void put_stored(buf *b, uint32_t stype, double v, int be) {
    uint8_t q[8];
    int n;
    uint64_t u;
    switch (stype) {
    case MI_UINT8: q[0] = (uint8_t)v; n = 1; break;
    case MI_INT8: q[0] = (uint8_t)(int8_t)v; n = 1; break;
    case MI_UINT16: u = (uint16_t)v; n = 2; goto ints;
    case MI_INT16: u = (uint16_t)(int16_t)v; n = 2; goto ints;
    default: memcpy(&u, &v, 8); n = 8; goto ints;
    }
    put(b, q, (size_t)n);
    return;
ints:
    for (int i = 0; i < n; i++) q[i] = (uint8_t)(u >> (be ? 8 * (n - 1 - i) : 8 * i));
    put(b, q, (size_t)n);
}

static void mat_header(buf *b, int be) {
    char text[116];
    memset(text, ' ', sizeof text);
    static const char t[] = "MATLAB 5.0 MAT-file, Platform: GLNXA64, written by jatp's test_formats";
    memcpy(text, t, sizeof t - 1);
    put(b, text, sizeof text);
    put(b, NULL, 8);
    static const uint8_t le[4] = {0x00, 0x01, 'I', 'M'}, bem[4] = {0x01, 0x00, 'M', 'I'};
    put(b, be ? bem : le, 4);
}

/* A sub-element, as a small element when it fits in 4 bytes (as MATLAB writes them). */
static void mat_sub(buf *b, uint32_t type, const void *data, size_t n, int be) {
    if (n <= 4) {
        put_u32(b, (uint32_t)(n << 16) | type, be);
        put(b, data, n);
        put(b, NULL, 4 - n);
        return;
    }
    put_u32(b, type, be);
    put_u32(b, (uint32_t)n, be);
    put(b, data, n);
    pad8(b);
}

static void mat_matrix(buf *out, const matvar *v, int be) {
    buf m = {0};
    put_u32(&m, 6, be); /* array flags: miUINT32, 8 bytes */
    put_u32(&m, 8, be);
    put_u32(&m, v->cls, be);
    put_u32(&m, 0, be);
    put_u32(&m, 5, be); /* dimensions: miINT32 */
    put_u32(&m, (uint32_t)(4 * v->nd), be);
    for (int i = 0; i < v->nd; i++) put_u32(&m, (uint32_t)v->dims[i], be);
    pad8(&m);
    mat_sub(&m, MI_INT8, v->name, strlen(v->name), be);
    mat_sub(&m, v->stype, v->data.p, v->data.n, be);
    put_u32(out, MI_MATRIX, be);
    put_u32(out, v->claim ? v->claim : (uint32_t)m.n, be);
    put(out, m.p, m.n);
    free(m.p);
}

static void mat_var(buf *f, const matvar *v, int be) {
    if (!v->compress) {
        mat_matrix(f, v, be);
        return;
    }
    buf m = {0};
    mat_matrix(&m, v, be);
    uLongf cl = compressBound(m.n);
    uint8_t *c = malloc(cl);
    if (compress2(c, &cl, m.p, m.n, 6) != Z_OK) abort();
    if (v->cut_stream && v->cut_stream < cl) cl = v->cut_stream;
    put_u32(f, MI_COMPRESSED, be);
    put_u32(f, (uint32_t)cl, be);
    put(f, c, cl);
    free(c);
    free(m.p);
}

/* X (32x32x3xn, column-major, class uint8 stored as xtype) with pix(); `have` images of data. */
static void make_x(matvar *v, int n, int have, uint32_t xtype, int be, int compress) {
    memset(v, 0, sizeof *v);
    v->name = "X";
    v->cls = MX_UINT8;
    v->nd = n == 1 ? 3 : 4;
    v->dims[0] = 32;
    v->dims[1] = 32;
    v->dims[2] = 3;
    v->dims[3] = n;
    v->stype = xtype;
    v->compress = compress;
    for (int i = 0; i < have; i++)
        for (int ch = 0; ch < 3; ch++)
            for (int c = 0; c < 32; c++)
                for (int r = 0; r < 32; r++) put_stored(&v->data, xtype, pix(i, ch, r, c), be);
}

/* y (n x 1, class double stored as ytype). */
static void make_y(matvar *v, int n, const double *vals, uint32_t ytype, int be, int compress) {
    memset(v, 0, sizeof *v);
    v->name = "y";
    v->cls = MX_DOUBLE;
    v->nd = 2;
    v->dims[0] = n;
    v->dims[1] = 1;
    v->stype = ytype;
    v->compress = compress;
    for (int i = 0; i < n; i++) put_stored(&v->data, ytype, vals[i], be);
}

static void write_mat(const char *name, int be, matvar *vars, int nv) {
    buf f = {0};
    mat_header(&f, be);
    for (int i = 0; i < nv; i++) mat_var(&f, &vars[i], be);
    write_file(name, f.p, f.n);
    for (int i = 0; i < nv; i++) free(vars[i].data.p);
    free(f.p);
}

static const double y5[5] = {10, 1, 2, 9, 10};
static const uint8_t l5[5] = {0, 1, 2, 9, 0};

static void mat_roundtrip(jt_ctx *ctx, const char *name, const char *file, int n, const uint8_t *labels) {
    char p[256], why[256];
    jt_dataset d = {0};
    path_of(p, sizeof p, file);
    jt_status st = jt_dataset_load_svhn_mat(ctx, p, &d);
    if (st != JT_OK) jt_test_fail(name, "%s", jt_ctx_error(ctx));
    else if (!check_images(&d, n, labels, why, sizeof why)) jt_test_fail(name, "%s", why);
    else jt_test_ok(name);
    jt_dataset_free(&d);
}

static void test_svhn(jt_ctx *ctx) {
    char dir[128], p[256], why[256];
    jt_dataset d = {0};
    matvar v[3];
    /* as distributed: each variable in its own miCOMPRESSED element; y class double stored as uint8;
     * a char variable before them is skipped */
    memset(&v[0], 0, sizeof v[0]);
    v[0].name = "note";
    v[0].cls = MX_CHAR;
    v[0].nd = 2;
    v[0].dims[0] = 1;
    v[0].dims[1] = 3;
    v[0].stype = MI_UINT16;
    put(&v[0].data, "h\0i\0!\0", 6);
    v[0].compress = 1;
    make_x(&v[1], 5, 5, MI_UINT8, 0, 1);
    make_y(&v[2], 5, y5, MI_UINT8, 0, 1);
    write_mat("svhn-good.mat", 0, v, 3);
    mat_roundtrip(ctx, "data/svhn/mat_compressed", "svhn-good.mat", 5, l5);
    /* uncompressed, big-endian, y stored as double */
    make_x(&v[0], 5, 5, MI_UINT8, 1, 0);
    make_y(&v[1], 5, y5, MI_DOUBLE, 1, 0);
    write_mat("svhn-be.mat", 1, v, 2);
    mat_roundtrip(ctx, "data/svhn/mat_big_endian", "svhn-be.mat", 5, l5);
    /* narrower/wider stored types: X stored as uint16, y as int16, y before X, X uncompressed */
    make_y(&v[0], 5, y5, MI_INT16, 0, 1);
    make_x(&v[1], 5, 5, MI_UINT16, 0, 0);
    write_mat("svhn-types.mat", 0, v, 2);
    mat_roundtrip(ctx, "data/svhn/mat_stored_types", "svhn-types.mat", 5, l5);
    /* one image: MATLAB drops the trailing singleton dimension, and y's one byte is a small element */
    make_x(&v[0], 1, 1, MI_UINT8, 0, 1);
    make_y(&v[1], 1, y5, MI_UINT8, 0, 1);
    write_mat("svhn-one.mat", 0, v, 2);
    mat_roundtrip(ctx, "data/svhn/mat_one_image", "svhn-one.mat", 1, l5);

    /* by folder: .mat preferred, else CIFAR-style .bin */
    subdir(dir, sizeof dir, "svhn-mat");
    {
        size_t n;
        uint8_t *g = slurp("svhn-good.mat", &n);
        write_file("svhn-mat/test_32x32.mat", g, n);
        free(g);
    }
    jt_status st = jt_dataset_open(ctx, "svhn", dir, 0, &d);
    if (st != JT_OK) jt_test_fail("data/svhn/open_mat", "%s", jt_ctx_error(ctx));
    else if (!check_images(&d, 5, l5, why, sizeof why)) jt_test_fail("data/svhn/open_mat", "%s", why);
    else jt_test_ok("data/svhn/open_mat");
    jt_dataset_free(&d);
    subdir(dir, sizeof dir, "svhn-bin");
    {
        buf b = {0};
        cifar_records(&b, 0, 5, l5);
        write_file("svhn-bin/svhn_test.bin", b.p, b.n);
        free(b.p);
    }
    st = jt_dataset_open(ctx, "svhn", dir, 0, &d);
    if (st != JT_OK) jt_test_fail("data/svhn/open_bin", "%s", jt_ctx_error(ctx));
    else if (!check_images(&d, 5, l5, why, sizeof why)) jt_test_fail("data/svhn/open_bin", "%s", why);
    else jt_test_ok("data/svhn/open_bin");
    jt_dataset_free(&d);
    st = jt_dataset_open(ctx, "svhn", dir, 1, &d);
    expect_err("data/svhn/open_missing", st, ctx, &d, "train_32x32.mat", "cannot open");
    {
        buf b = {0};
        cifar_records(&b, 0, 5, l5);
        b.p[3073 * 2] = 10; /* SVHN .bin labels are already 0..9 */
        write_file("svhn-bin/svhn_train.bin", b.p, b.n);
        free(b.p);
        expect_err("data/svhn/bin_bad_label", jt_dataset_open(ctx, "svhn", dir, 1, &d), ctx, &d, "svhn_train.bin",
                   "bad label value 10");
    }

    /* errors */
    path_of(p, sizeof p, "mat-empty.mat");
    write_file("mat-empty.mat", NULL, 0);
    expect_err("data/svhn/empty", jt_dataset_load_svhn_mat(ctx, p, &d), ctx, &d, "mat-empty.mat", "empty");
    size_t gn;
    uint8_t *good = slurp("svhn-good.mat", &gn);
    path_of(p, sizeof p, "mat-short.mat");
    write_file("mat-short.mat", good, 100);
    expect_err("data/svhn/truncated_header", jt_dataset_load_svhn_mat(ctx, p, &d), ctx, &d, "mat-short.mat",
               "truncated");
    path_of(p, sizeof p, "mat-cut.mat");
    write_file("mat-cut.mat", good, gn - 300);
    expect_err("data/svhn/truncated", jt_dataset_load_svhn_mat(ctx, p, &d), ctx, &d, "mat-cut.mat", "truncated");
    {
        uint8_t *g = malloc(gn);
        memcpy(g, good, gn);
        g[126] = 'X';
        g[127] = 'X';
        path_of(p, sizeof p, "mat-magic.mat");
        write_file("mat-magic.mat", g, gn);
        expect_err("data/svhn/wrong_magic", jt_dataset_load_svhn_mat(ctx, p, &d), ctx, &d, "mat-magic.mat",
                   "wrong magic");
        memcpy(g, good, gn);
        g[124] = 0x00;
        g[125] = 0x02;
        path_of(p, sizeof p, "mat-version.mat");
        write_file("mat-version.mat", g, gn);
        expect_err("data/svhn/wrong_version", jt_dataset_load_svhn_mat(ctx, p, &d), ctx, &d, "mat-version.mat",
                   "wrong magic");
        /* corrupt the zlib header of the first compressed variable (tag at byte 128, data at 136) */
        memcpy(g, good, gn);
        g[136] ^= 0xff;
        path_of(p, sizeof p, "mat-corrupt.mat");
        write_file("mat-corrupt.mat", g, gn);
        free(g);
    }
    free(good);
    /* corrupt data inside a variable that is skipped is never inflated: make X's stream corrupt */
    make_x(&v[0], 5, 5, MI_UINT8, 0, 1);
    make_y(&v[1], 5, y5, MI_UINT8, 0, 1);
    write_mat("mat-corrupt2.mat", 0, v, 2);
    {
        size_t n;
        uint8_t *g = slurp("mat-corrupt2.mat", &n);
        g[136] ^= 0xff;
        write_file("mat-corrupt2.mat", g, n);
        free(g);
        path_of(p, sizeof p, "mat-corrupt2.mat");
        expect_err("data/svhn/corrupt_stream", jt_dataset_load_svhn_mat(ctx, p, &d), ctx, &d, "mat-corrupt2.mat",
                   "corrupt compressed data");
    }
    /* a bad zlib checksum (the last byte of X's compressed element) */
    {
        size_t n;
        make_x(&v[0], 5, 5, MI_UINT8, 0, 1);
        make_y(&v[1], 5, y5, MI_UINT8, 0, 1);
        write_mat("mat-adler.mat", 0, v, 2);
        uint8_t *g = slurp("mat-adler.mat", &n);
        uint32_t cl = (uint32_t)g[132] | (uint32_t)g[133] << 8 | (uint32_t)g[134] << 16 | (uint32_t)g[135] << 24;
        g[136 + cl - 1] ^= 0x5a;
        write_file("mat-adler.mat", g, n);
        free(g);
        path_of(p, sizeof p, "mat-adler.mat");
        expect_err("data/svhn/bad_checksum", jt_dataset_load_svhn_mat(ctx, p, &d), ctx, &d, "mat-adler.mat",
                   "corrupt compressed data");
    }
    struct {
        const char *name, *file, *word;
        int n_x, have_x, n_y, bad_y, compress, dims28, cut, claim, no_y;
    } cases[] = {
        {"data/svhn/wrong_size_dims", "mat-dims.mat", "wrong size", 5, 5, 5, 0, 1, 1, 0, 0, 0},
        {"data/svhn/wrong_size_data", "mat-data.mat", "wrong size", 6, 5, 6, 0, 1, 0, 0, 0, 0},
        {"data/svhn/wrong_size_data_raw", "mat-data-raw.mat", "wrong size", 6, 5, 6, 0, 0, 0, 0, 0, 0},
        {"data/svhn/label_count", "mat-count.mat", "wrong size", 5, 5, 4, 0, 1, 0, 0, 0, 0},
        {"data/svhn/bad_label_11", "mat-y11.mat", "bad label value 11", 5, 5, 5, 11, 1, 0, 0, 0, 0},
        {"data/svhn/bad_label_0", "mat-y0.mat", "bad label value 0", 5, 5, 5, -1, 0, 0, 0, 0, 0},
        {"data/svhn/truncated_stream", "mat-zcut.mat", "cut short inside the pixels", 5, 5, 5, 0, 1, 0, 1000, 0, 0},
        {"data/svhn/hostile_dims", "mat-hostile.mat", "wrong size", 4000000, 1, 5, 0, 1, 0, 0, 0, 0},
        {"data/svhn/hostile_claim", "mat-claim.mat", "wrong size", 5, 5, 5, 0, 1, 0, 0, 0xf0000000u, 0},
        {"data/svhn/missing_y", "mat-noy.mat", "no variable y", 5, 5, 5, 0, 1, 0, 0, 0, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        make_x(&v[0], cases[k].n_x, cases[k].have_x, MI_UINT8, 0, cases[k].compress);
        if (cases[k].dims28) v[0].dims[0] = v[0].dims[1] = 28;
        v[0].cut_stream = (size_t)cases[k].cut;
        v[0].claim = (uint32_t)cases[k].claim;
        double ys[6];
        for (int i = 0; i < 6; i++) ys[i] = i < 5 ? y5[i] : 3;
        if (cases[k].bad_y) ys[2] = cases[k].bad_y > 0 ? cases[k].bad_y : 0;
        make_y(&v[1], cases[k].n_y, ys, MI_UINT8, 0, cases[k].compress);
        write_mat(cases[k].file, 0, v, cases[k].no_y ? 1 : 2);
        if (cases[k].no_y) free(v[1].data.p);
        path_of(p, sizeof p, cases[k].file);
        expect_err(cases[k].name, jt_dataset_load_svhn_mat(ctx, p, &d), ctx, &d, cases[k].file, cases[k].word);
    }
    /* a corrupt variable that is not used is still an error (its tag and name are inflated) */
    path_of(p, sizeof p, "mat-corrupt.mat");
    expect_err("data/svhn/corrupt_other_variable", jt_dataset_load_svhn_mat(ctx, p, &d), ctx, &d, "mat-corrupt.mat",
               "corrupt compressed data");
}

int main(void) {
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    jt_test_fmt(g_dir, sizeof g_dir, "/tmp/jatp-formats-XXXXXX");
    if (!mkdtemp(g_dir)) {
        jt_test_fail("data/formats", "cannot create a temporary folder");
        jt_ctx_free(ctx);
        return jt_test_finish();
    }
    test_idx(ctx);
    test_cifar(ctx);
    test_svhn(ctx);
    rm_tree(g_dir);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
