/* The training-data loader on synthetic datasets: batch counts (subset, drop_last), every example
 * exactly once per epoch, permutations that differ across epochs and seeds and are uniform, the same
 * bytes for the same (seed, epoch, batch) in any call order and for any batch size, and crop/flip
 * statistics (each output is matched against an independently written pad-crop-flip reference). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/data.h"
#include "jatp/jatp.h"
#include "jt_test.h"

/* n images c x h x w: channel 0 = 1 + r*w + col (the geometry), channel 1 = 1 + k % 251 (the identity);
 * labels k % 10. */
static void make_ds(jt_dataset *d, int64_t n, int c, int h, int w) {
    memset(d, 0, sizeof *d);
    d->n = n;
    d->c = c;
    d->h = h;
    d->w = w;
    d->n_classes = 10;
    size_t sz = (size_t)c * h * w;
    d->images = malloc((size_t)n * sz);
    d->labels = malloc((size_t)n);
    for (int64_t k = 0; k < n; k++) {
        uint8_t *im = d->images + (size_t)k * sz;
        for (int r = 0; r < h; r++)
            for (int col = 0; col < w; col++) im[r * w + col] = (uint8_t)(1 + r * w + col);
        for (int ch = 1; ch < c; ch++) memset(im + (size_t)ch * h * w, 1 + (int)(k % 251), (size_t)h * w);
        d->labels[k] = (uint8_t)(k % 10);
    }
}

static jt_loader *make_loader(jt_ctx *ctx, const jt_dataset *d, int batch, int shuffle, int pad, int flip, int drop,
                              int64_t subset, uint64_t seed) {
    jt_loader_config c;
    jt_loader_config_default(&c);
    c.batch = batch;
    c.shuffle = shuffle;
    c.crop_pad = pad;
    c.flip = flip;
    c.drop_last = drop;
    c.subset = subset;
    c.seed = seed;
    jt_loader *l = NULL;
    if (jt_loader_create(ctx, d, &c, &l) != JT_OK) return NULL;
    return l;
}

/* All batches of one epoch: x, y, idx concatenated; returns the number of examples. */
static int64_t run_epoch(jt_ctx *ctx, jt_loader *l, const jt_dataset *d, int64_t epoch, float *x, int64_t *y,
                         int64_t *idx) {
    size_t sz = (size_t)d->c * d->h * d->w;
    int64_t total = 0;
    for (int64_t b = 0; b < jt_loader_batches_per_epoch(l); b++) {
        int cnt;
        if (jt_loader_batch(l, epoch, b, x + (size_t)total * sz, y + total, idx + total, &cnt) != JT_OK) {
            fprintf(stderr, "%s\n", jt_ctx_error(ctx));
            return -1;
        }
        total += cnt;
    }
    return total;
}

static void test_counts(jt_ctx *ctx) {
    jt_dataset d;
    make_ds(&d, 103, 1, 4, 4);
    struct {
        int batch, drop;
        int64_t subset, size, nb;
        int last;
    } cases[] = {
        {10, 0, 0, 103, 11, 3},  {10, 1, 0, 103, 10, 10}, {10, 0, 50, 50, 5, 10}, {10, 0, 1000, 103, 11, 3},
        {200, 0, 0, 103, 1, 103}, {200, 1, 0, 103, 0, 0},  {1, 0, 7, 7, 7, 1},     {103, 1, 0, 103, 1, 103},
    };
    float *x = malloc(200 * 16 * sizeof *x);
    int64_t y[200], idx[200];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char name[96];
        jt_test_fmt(name, sizeof name, "loader/counts/b%d_drop%d_subset%lld", cases[k].batch, cases[k].drop,
                    (long long)cases[k].subset);
        jt_loader *l = make_loader(ctx, &d, cases[k].batch, 1, 0, 0, cases[k].drop, cases[k].subset, 5);
        if (!l) {
            jt_test_fail(name, "create: %s", jt_ctx_error(ctx));
            continue;
        }
        int ok = jt_loader_size(l) == cases[k].size && jt_loader_batches_per_epoch(l) == cases[k].nb;
        int64_t seen = 0, maxidx = -1;
        int cnt = 0;
        for (int64_t b = 0; ok && b < cases[k].nb; b++) {
            ok = jt_loader_batch(l, 0, b, x, y, idx, &cnt) == JT_OK;
            int expect = b + 1 < cases[k].nb ? cases[k].batch : cases[k].last;
            ok = ok && cnt == expect;
            for (int i = 0; i < cnt; i++) maxidx = idx[i] > maxidx ? idx[i] : maxidx;
            seen += cnt;
        }
        ok = ok && maxidx < cases[k].size &&
             seen == (cases[k].drop ? cases[k].size / cases[k].batch * cases[k].batch : cases[k].size);
        if (!ok)
            jt_test_fail(name, "size %lld batches %lld (expected %lld, %lld), last count %d, seen %lld, max index %lld",
                         (long long)jt_loader_size(l), (long long)jt_loader_batches_per_epoch(l),
                         (long long)cases[k].size, (long long)cases[k].nb, cnt, (long long)seen, (long long)maxidx);
        else
            jt_test_ok(name);
        jt_loader_free(l);
    }
    free(x);
    jt_dataset_free(&d);
}

static void test_once_per_epoch(jt_ctx *ctx) {
    jt_dataset d;
    make_ds(&d, 103, 2, 5, 6);
    size_t sz = 60;
    float *x = malloc(103 * sz * sizeof *x), *ref = malloc(sz * sizeof *ref);
    int64_t y[103], idx[103], perm[3][103];
    jt_loader *l = make_loader(ctx, &d, 10, 1, 0, 0, 0, 0, 42);
    int ok = l != NULL;
    char why[256] = "";
    for (int e = 0; ok && e < 3; e++) {
        int64_t n = run_epoch(ctx, l, &d, e, x, y, idx);
        int seen[103] = {0};
        ok = n == 103;
        for (int64_t i = 0; ok && i < n; i++) {
            int64_t k = idx[i];
            if (k < 0 || k >= 103 || seen[k]++) {
                jt_test_fmt(why, sizeof why, "epoch %d: index %lld out of range or seen twice", e, (long long)k);
                ok = 0;
                break;
            }
            jt_dataset_batch(&d, &k, 1, ref, NULL);
            if (y[i] != d.labels[k] || memcmp(ref, x + (size_t)i * sz, sz * sizeof *ref) != 0) {
                jt_test_fmt(why, sizeof why, "epoch %d position %lld: label or pixels are not those of example %lld",
                            e, (long long)i, (long long)k);
                ok = 0;
            }
            perm[e][i] = k;
        }
    }
    if (!ok) jt_test_fail("loader/once_per_epoch", "%s", why[0] ? why : jt_ctx_error(ctx));
    else jt_test_ok("loader/once_per_epoch");
    if (ok && (!memcmp(perm[0], perm[1], sizeof perm[0]) || !memcmp(perm[1], perm[2], sizeof perm[0])))
        jt_test_fail("loader/epochs_differ", "two epochs have the same order");
    else if (ok)
        jt_test_ok("loader/epochs_differ");
    /* another seed: another order; no shuffle: the identity, every epoch */
    jt_loader *l2 = make_loader(ctx, &d, 10, 1, 0, 0, 0, 0, 43), *l3 = make_loader(ctx, &d, 10, 0, 0, 0, 0, 0, 42);
    int64_t o2[103];
    ok = l2 && l3 && run_epoch(ctx, l2, &d, 0, x, y, o2) == 103;
    if (!ok || !memcmp(o2, perm[0], sizeof o2)) jt_test_fail("loader/seeds_differ", "seeds 42 and 43 give one order");
    else jt_test_ok("loader/seeds_differ");
    ok = l3 != NULL;
    for (int e = 0; ok && e < 2; e++) {
        ok = run_epoch(ctx, l3, &d, e, x, y, o2) == 103;
        for (int i = 0; ok && i < 103; i++) ok = o2[i] == i;
    }
    if (!ok) jt_test_fail("loader/no_shuffle", "order is not the identity");
    else jt_test_ok("loader/no_shuffle");
    jt_loader_free(l);
    jt_loader_free(l2);
    jt_loader_free(l3);
    free(x);
    free(ref);
    jt_dataset_free(&d);
}

/* The same (seed, epoch, b) gives the same bytes in any call order, from any loader, for any batch
 * size (per example). */
static void test_any_order(jt_ctx *ctx) {
    jt_dataset d;
    make_ds(&d, 97, 2, 6, 6);
    size_t sz = 72;
    enum { E = 3 };
    float *xa = malloc((size_t)E * 97 * sz * sizeof(float)), *xb = malloc((size_t)E * 97 * sz * sizeof(float));
    int64_t ya[E * 97], yb[E * 97], ia[E * 97], ib[E * 97];
    jt_loader *a = make_loader(ctx, &d, 8, 1, 2, 1, 0, 0, 7), *b = make_loader(ctx, &d, 8, 1, 2, 1, 0, 0, 7);
    int ok = a && b;
    int64_t nb = ok ? jt_loader_batches_per_epoch(a) : 0;
    for (int e = 0; ok && e < E; e++)
        ok = run_epoch(ctx, a, &d, e, xa + (size_t)e * 97 * sz, ya + e * 97, ia + e * 97) == 97;
    /* b: reverse order over (epoch, batch), then a few interleaved repeats */
    for (int64_t t = E * nb - 1; ok && t >= 0; t--) {
        int e = (int)(t % E), bb = (int)(t / E), cnt;
        if (bb >= nb) continue;
        size_t off = (size_t)e * 97 + (size_t)bb * 8;
        ok = jt_loader_batch(b, e, bb, xb + off * sz, yb + off, ib + off, &cnt) == JT_OK &&
             cnt == (bb + 1 < nb ? 8 : 97 - 8 * (int)(nb - 1));
    }
    for (int64_t t = 0; ok && t < E * nb; t++) {
        int e = (int)(t % E), bb = (int)(t / E), cnt;
        if (bb >= nb) continue;
        size_t off = (size_t)e * 97 + (size_t)bb * 8;
        ok = jt_loader_batch(b, e, bb, xb + off * sz, yb + off, ib + off, &cnt) == JT_OK;
    }
    if (!ok || memcmp(xa, xb, (size_t)E * 97 * sz * sizeof(float)) || memcmp(ya, yb, sizeof ya) ||
        memcmp(ia, ib, sizeof ia))
        jt_test_fail("loader/any_order", "batches differ between sequential and shuffled call orders");
    else
        jt_test_ok("loader/any_order");
    /* batch size 5 instead of 8: same permutation, same augmented bytes per example */
    jt_loader *c = make_loader(ctx, &d, 5, 1, 2, 1, 0, 0, 7);
    float *xc = malloc(97 * sz * sizeof(float));
    int64_t yc[97], ic[97];
    ok = c && run_epoch(ctx, c, &d, 1, xc, yc, ic) == 97 && !memcmp(ic, ia + 97, sizeof ic) &&
         !memcmp(xc, xa + 97 * sz, 97 * sz * sizeof(float));
    if (!ok) jt_test_fail("loader/batch_size_independent", "order or augmentation depends on the batch size");
    else jt_test_ok("loader/batch_size_independent");
    /* subset: a permutation of the first 40 examples only */
    jt_loader *s = make_loader(ctx, &d, 8, 1, 0, 0, 0, 40, 7);
    int64_t is[97];
    ok = s && run_epoch(ctx, s, &d, 0, xc, yc, is) == 40;
    int seen[40] = {0};
    for (int i = 0; ok && i < 40; i++) ok = is[i] >= 0 && is[i] < 40 && !seen[is[i]]++;
    if (!ok) jt_test_fail("loader/subset", "not a permutation of the first 40 examples");
    else jt_test_ok("loader/subset");
    jt_loader_free(a);
    jt_loader_free(b);
    jt_loader_free(c);
    jt_loader_free(s);
    free(xa);
    free(xb);
    free(xc);
    jt_dataset_free(&d);
}

/* Fisher-Yates is uniform: over many epochs each element lands at position 0 (and 4) about 1/5 of
 * the time. */
static void test_uniform(jt_ctx *ctx) {
    jt_dataset d;
    make_ds(&d, 5, 1, 2, 2);
    jt_loader *l = make_loader(ctx, &d, 5, 1, 0, 0, 0, 0, 99);
    enum { EPOCHS = 4000 };
    int first[5] = {0}, last[5] = {0}, ok = l != NULL;
    float x[20];
    int64_t y[5], idx[5];
    for (int e = 0; ok && e < EPOCHS; e++) {
        int cnt;
        ok = jt_loader_batch(l, e, 0, x, y, idx, &cnt) == JT_OK && cnt == 5;
        if (ok) {
            first[idx[0]]++;
            last[idx[4]]++;
        }
    }
    /* sd = sqrt(4000 * 0.2 * 0.8) = 25.3: 130 is about 5 sd */
    for (int k = 0; ok && k < 5; k++) ok = abs(first[k] - 800) < 130 && abs(last[k] - 800) < 130;
    if (!ok)
        jt_test_fail("loader/uniform", "first-position counts %d %d %d %d %d, last %d %d %d %d %d (expected ~800)",
                     first[0], first[1], first[2], first[3], first[4], last[0], last[1], last[2], last[3], last[4]);
    else
        jt_test_ok("loader/uniform");
    jt_loader_free(l);
    jt_dataset_free(&d);
}

/* Pad-crop-flip written the long way: build the padded image, crop at (dy, dx), then mirror. */
static void reference(const uint8_t *src, int h, int w, int pad, int dy, int dx, int flip, float *out) {
    int ph = h + 2 * pad, pw = w + 2 * pad;
    float *padded = calloc((size_t)ph * pw, sizeof *padded);
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) /* the conversion of jt_dataset_batch */
            padded[(r + pad) * pw + c + pad] = (float)src[r * w + c] * (1.0f / 255.0f);
    float *crop = malloc((size_t)h * w * sizeof *crop);
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) crop[r * w + c] = padded[(r + dy) * pw + c + dx];
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) out[r * w + c] = crop[r * w + (flip ? w - 1 - c : c)];
    free(padded);
    free(crop);
}

static void test_augment(jt_ctx *ctx, int pad, int flip) {
    enum { N = 2000, H = 8, W = 8 };
    char name[64];
    jt_test_fmt(name, sizeof name, "loader/augment/pad%d_flip%d", pad, flip);
    jt_dataset d;
    make_ds(&d, N, 1, H, W);
    jt_loader *l = make_loader(ctx, &d, 256, 1, pad, flip, 0, 0, 2024);
    float *x = malloc((size_t)N * H * W * sizeof *x), ref[H * W];
    int64_t y[N], idx[N];
    int ok = l && run_epoch(ctx, l, &d, 3, x, y, idx) == N;
    int flips = 0, dyc[9] = {0}, dxc[9] = {0}, draw0[N];
    char why[200] = "";
    for (int i = 0; ok && i < N; i++) {
        int matches = 0, mdy = 0, mdx = 0, mf = 0;
        for (int dy = 0; dy <= 2 * pad; dy++)
            for (int dx = 0; dx <= 2 * pad; dx++)
                for (int f = 0; f <= 1; f++) {
                    reference(d.images + (size_t)idx[i] * H * W, H, W, pad, dy, dx, f, ref);
                    if (!memcmp(ref, x + (size_t)i * H * W, sizeof ref)) {
                        matches++;
                        mdy = dy;
                        mdx = dx;
                        mf = f;
                    }
                }
        if (matches != 1) {
            jt_test_fmt(why, sizeof why, "output %d (example %lld) matches %d pad-crop-flip results", i,
                        (long long)idx[i], matches);
            ok = 0;
        }
        flips += mf;
        dyc[mdy]++;
        dxc[mdx]++;
        draw0[idx[i]] = mdy * 100 + mdx * 10 + mf;
    }
    if (ok && !flip && flips) jt_test_fmt(why, sizeof why, "%d flips with flip off", flips), ok = 0;
    if (ok && flip && (flips < N * 45 / 100 || flips > N * 55 / 100))
        jt_test_fmt(why, sizeof why, "flip rate %.3f, expected 0.5", (double)flips / N), ok = 0;
    /* each offset 0..2*pad about 1/(2*pad+1) of the time (sd 0.009 for pad 2) */
    for (int v = 0; ok && v <= 2 * pad; v++) {
        double fy = (double)dyc[v] / N, fx = (double)dxc[v] / N, want = 1.0 / (2 * pad + 1);
        if (fy < want - 0.05 || fy > want + 0.05 || fx < want - 0.05 || fx > want + 0.05)
            jt_test_fmt(why, sizeof why, "offset %d drawn at rates %.3f (rows), %.3f (cols), expected %.3f", v, fy, fx,
                        want),
                ok = 0;
    }
    /* another epoch: fresh draws (the same draw for an example has probability 1/50 here) */
    if (ok && (pad || flip)) {
        ok = run_epoch(ctx, l, &d, 4, x, y, idx) == N;
        int same = 0;
        for (int i = 0; ok && i < N; i++) {
            for (int dy = 0; dy <= 2 * pad; dy++)
                for (int dx = 0; dx <= 2 * pad; dx++)
                    for (int f = 0; f <= flip; f++) {
                        reference(d.images + (size_t)idx[i] * H * W, H, W, pad, dy, dx, f, ref);
                        if (!memcmp(ref, x + (size_t)i * H * W, sizeof ref))
                            same += draw0[idx[i]] == dy * 100 + dx * 10 + f;
                    }
        }
        double expect = 1.0 / ((2 * pad + 1) * (2 * pad + 1) * (flip ? 2 : 1));
        if (ok && (double)same / N > expect + 0.1)
            jt_test_fmt(why, sizeof why, "%d of %d examples drew the same augmentation in epochs 3 and 4", same, N),
                ok = 0;
    }
    if (!ok) jt_test_fail(name, "%s", why[0] ? why : jt_ctx_error(ctx));
    else jt_test_ok(name);
    jt_loader_free(l);
    free(x);
    jt_dataset_free(&d);
}

static void test_errors(jt_ctx *ctx) {
    jt_dataset d, empty = {0};
    make_ds(&d, 10, 1, 2, 2);
    jt_loader_config c;
    jt_loader_config_default(&c);
    if (c.batch != 128 || c.shuffle != 1 || c.crop_pad || c.flip || c.drop_last || c.subset || c.seed)
        jt_test_fail("loader/defaults", "batch %d shuffle %d pad %d flip %d drop %d", c.batch, c.shuffle, c.crop_pad,
                     c.flip, c.drop_last);
    else
        jt_test_ok("loader/defaults");
    jt_loader *l = NULL;
    int bad = 0;
    c.batch = 0;
    bad += jt_loader_create(ctx, &d, &c, &l) == JT_ERR_ARG && !l;
    c.batch = 4;
    c.crop_pad = -1;
    bad += jt_loader_create(ctx, &d, &c, &l) == JT_ERR_ARG && !l;
    c.crop_pad = 0;
    c.subset = -3;
    bad += jt_loader_create(ctx, &d, &c, &l) == JT_ERR_ARG && !l;
    c.subset = 0;
    bad += jt_loader_create(ctx, &empty, &c, &l) == JT_ERR_ARG && !l;
    if (bad != 4) jt_test_fail("loader/bad_config", "%d of 4 bad configurations refused", bad);
    else jt_test_ok("loader/bad_config");
    float x[16];
    int64_t y[4];
    int cnt = -1;
    l = make_loader(ctx, &d, 4, 1, 0, 0, 0, 0, 0);
    int ok = l && jt_loader_batch(l, 0, 3, x, y, NULL, &cnt) == JT_ERR_ARG && cnt == 0 &&
             jt_loader_batch(l, -1, 0, x, y, NULL, &cnt) == JT_ERR_ARG &&
             jt_loader_batch(l, 0, -1, x, y, NULL, &cnt) == JT_ERR_ARG &&
             jt_loader_batch(l, 5, 2, x, NULL, NULL, &cnt) == JT_OK && cnt == 2;
    if (!ok) jt_test_fail("loader/bad_batch", "out-of-range (epoch, batch) not refused: %s", jt_ctx_error(ctx));
    else jt_test_ok("loader/bad_batch");
    jt_loader_free(l);
    jt_dataset_free(&d);
}

int main(void) {
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    test_counts(ctx);
    test_once_per_epoch(ctx);
    test_any_order(ctx);
    test_uniform(ctx);
    test_augment(ctx, 2, 1);
    test_augment(ctx, 4, 0);
    test_augment(ctx, 0, 1);
    test_augment(ctx, 0, 0);
    test_errors(ctx);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
