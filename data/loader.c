/* Training-data loader: batches of a dataset in a per-epoch shuffled order, with random crop (after
 * zero padding) and horizontal flip. Everything random is a pure function of (seed, epoch, index):
 * the permutation is a Fisher-Yates shuffle whose step i draws jt_rng_block(seed, JT_RNG_SHUFFLE, i,
 * epoch), and example k's crop offsets and flip come from jt_rng_block(seed, JT_RNG_AUGMENT, k, epoch).
 * So any batch of any epoch can be produced alone, in any order, and a resumed run sees the same
 * bytes. Order of operations as torchvision's RandomCrop(padding) then RandomHorizontalFlip. */
#include <stdlib.h>
#include <string.h>

#include "jatp/data.h"
#include "runtime/core/philox.h"

#define LOADER_MAX_PAD 1024

struct jt_loader {
    jt_ctx *ctx;
    const jt_dataset *ds;
    jt_loader_config cfg;
    int64_t n, nb;
    int64_t *perm;      /* n entries when shuffling */
    int64_t perm_epoch; /* epoch held in perm; -1: none */
};

void jt_loader_config_default(jt_loader_config *c) {
    memset(c, 0, sizeof *c);
    c->batch = 128;
    c->shuffle = 1;
}

jt_status jt_loader_create(jt_ctx *ctx, const jt_dataset *ds, const jt_loader_config *cfg, jt_loader **out) {
    *out = NULL;
    jt_loader_config c;
    if (cfg) c = *cfg;
    else jt_loader_config_default(&c);
    if (!ds || ds->n <= 0 || !ds->images || !ds->labels || ds->c <= 0 || ds->h <= 0 || ds->w <= 0)
        return jt_fail(ctx, JT_ERR_ARG, "loader: the dataset is empty or not loaded");
    if (c.batch < 1) return jt_fail(ctx, JT_ERR_ARG, "loader: batch %d (expected >= 1)", c.batch);
    if (c.crop_pad < 0 || c.crop_pad > LOADER_MAX_PAD)
        return jt_fail(ctx, JT_ERR_ARG, "loader: crop padding %d (expected 0..%d)", c.crop_pad, LOADER_MAX_PAD);
    if (c.subset < 0) return jt_fail(ctx, JT_ERR_ARG, "loader: subset %lld (expected >= 0)", (long long)c.subset);
    jt_loader *l = calloc(1, sizeof *l);
    if (!l) return jt_fail(ctx, JT_ERR_OOM, "loader: out of memory");
    l->ctx = ctx;
    l->ds = ds;
    l->cfg = c;
    l->n = c.subset > 0 && c.subset < ds->n ? c.subset : ds->n;
    l->nb = c.drop_last ? l->n / c.batch : (l->n + c.batch - 1) / c.batch;
    l->perm_epoch = -1;
    if (c.shuffle) {
        l->perm = malloc((size_t)l->n * sizeof *l->perm);
        if (!l->perm) {
            long long n = (long long)l->n;
            free(l);
            return jt_fail(ctx, JT_ERR_OOM, "loader: out of memory for a permutation of %lld", n);
        }
    }
    *out = l;
    return JT_OK;
}

int64_t jt_loader_batches_per_epoch(const jt_loader *l) { return l->nb; }
int64_t jt_loader_size(const jt_loader *l) { return l->n; }

void jt_loader_free(jt_loader *l) {
    if (!l) return;
    free(l->perm);
    free(l);
}

/* floor(r * m / 2^64): a uniform integer in [0, m) from 64 random bits. */
static uint64_t mulhi64(uint64_t r, uint64_t m) {
    uint64_t r0 = (uint32_t)r, r1 = r >> 32, m0 = (uint32_t)m, m1 = m >> 32;
    uint64_t p00 = r0 * m0, p01 = r0 * m1, p10 = r1 * m0, p11 = r1 * m1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

static void make_perm(jt_loader *l, int64_t epoch) {
    int64_t *p = l->perm;
    for (int64_t i = 0; i < l->n; i++) p[i] = i;
    for (int64_t i = l->n - 1; i > 0; i--) {
        jt_philox_out o = jt_rng_block(l->cfg.seed, JT_RNG_SHUFFLE, (uint64_t)i, (uint64_t)epoch);
        uint64_t j = mulhi64(((uint64_t)o.v[1] << 32) | o.v[0], (uint64_t)i + 1);
        int64_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    l->perm_epoch = epoch;
}

/* Example k of epoch `epoch` into dst (c*h*w floats). */
static void write_example(const jt_loader *l, int64_t epoch, int64_t k, float *dst) {
    const jt_dataset *d = l->ds;
    const int C = d->c, H = d->h, W = d->w, P = l->cfg.crop_pad;
    const uint8_t *src = d->images + (size_t)k * (size_t)C * (size_t)H * (size_t)W;
    const float s = 1.0f / 255.0f;
    int dy = P, dx = P, flip = 0;
    if (P > 0 || l->cfg.flip) {
        jt_philox_out o = jt_rng_block(l->cfg.seed, JT_RNG_AUGMENT, (uint64_t)k, (uint64_t)epoch);
        if (P > 0) {
            dy = (int)(((uint64_t)o.v[0] * (uint64_t)(2 * P + 1)) >> 32);
            dx = (int)(((uint64_t)o.v[1] * (uint64_t)(2 * P + 1)) >> 32);
        }
        flip = l->cfg.flip && (o.v[2] >> 31);
    }
    if (P == 0 && !flip) {
        size_t sz = (size_t)C * (size_t)H * (size_t)W;
        for (size_t i = 0; i < sz; i++) dst[i] = (float)src[i] * s;
        return;
    }
    for (int ch = 0; ch < C; ch++)
        for (int r = 0; r < H; r++) {
            float *o = dst + ((size_t)ch * H + r) * W;
            int sr = r + dy - P;
            if (sr < 0 || sr >= H) {
                for (int c = 0; c < W; c++) o[c] = 0.0f;
                continue;
            }
            const uint8_t *row = src + ((size_t)ch * H + sr) * W;
            for (int c = 0; c < W; c++) {
                int sc = (flip ? W - 1 - c : c) + dx - P;
                o[c] = sc >= 0 && sc < W ? (float)row[sc] * s : 0.0f;
            }
        }
}

jt_status jt_loader_batch(jt_loader *l, int64_t epoch, int64_t b, float *x, int64_t *y, int64_t *idx, int *count) {
    *count = 0;
    if (epoch < 0 || b < 0 || b >= l->nb)
        return jt_fail(l->ctx, JT_ERR_ARG, "loader: batch %lld of epoch %lld (expected epoch >= 0, batch 0..%lld)",
                       (long long)b, (long long)epoch, (long long)l->nb - 1);
    if (l->cfg.shuffle && l->perm_epoch != epoch) make_perm(l, epoch);
    int64_t start = b * l->cfg.batch, cnt = l->n - start < l->cfg.batch ? l->n - start : l->cfg.batch;
    size_t sz = (size_t)l->ds->c * (size_t)l->ds->h * (size_t)l->ds->w;
    for (int64_t i = 0; i < cnt; i++) {
        int64_t k = l->cfg.shuffle ? l->perm[start + i] : start + i;
        write_example(l, epoch, k, x + (size_t)i * sz);
        if (y) y[i] = l->ds->labels[k];
        if (idx) idx[i] = k;
    }
    *count = (int)cnt;
    return JT_OK;
}
