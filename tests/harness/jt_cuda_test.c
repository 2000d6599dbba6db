/* See jt_cuda_test.h. Uses the plan's and backend's internal layout (runtime/plan/plan_internal.h) to
 * reach the arena and the backend's copy functions: the only way to poison and inspect device memory
 * without CUDA code in the tests, and it works the same on the CPU backend (the harness self-check). */
#include "jt_cuda_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jt_test.h"
#include "runtime/plan/plan_internal.h"

int jt_cuda_test_required(void) {
    const char *e = getenv("JATP_REQUIRE_CUDA");
    return e && strcmp(e, "1") == 0;
}

jt_backend *jt_cuda_test_open(jt_ctx *ctx, char *reason, size_t cap) {
    const char *dev = getenv("JATP_TEST_DEVICE");
    if (!dev || !*dev) dev = "cuda";
    jt_backend *b = NULL;
    jt_status st = jt_backend_create(ctx, dev, &b);
    if (st == JT_OK) {
        jt_backend_set_tf32(b, 0);
        jt_backend_set_deterministic(b, 0);
        reason[0] = 0;
        return b;
    }
    if (!jt_cuda_built())
        jt_test_fmt(reason, cap, "built without CUDA: %s", jt_ctx_error(ctx));
    else if (st == JT_ERR_DEVICE)
        jt_test_fmt(reason, cap, "no CUDA device: %s", jt_ctx_error(ctx));
    else
        jt_test_fmt(reason, cap, "%s: %s", dev, jt_ctx_error(ctx));
    return NULL;
}

void jt_cuda_test_unavailable(const char *name, const char *reason) {
    if (jt_cuda_test_required()) jt_test_fail(name, "JATP_REQUIRE_CUDA=1 but %s", reason);
    else jt_test_skip(name, "%s", reason);
}

static jt_status fill(jt_backend *b, void *dst, size_t n, uint8_t byte) {
    if (!dst || !n) return JT_OK;
    void *h = malloc(n);
    if (!h) return jt_fail(b->ctx, JT_ERR_OOM, "test: out of memory for %zu bytes", n);
    memset(h, byte, n);
    jt_status st = b->vt->upload(b, dst, h, n);
    if (st == JT_OK) st = b->vt->sync(b);
    free(h);
    return st;
}

jt_status jt_cuda_test_poison(jt_plan *p, uint8_t byte) {
    JT_TRY(fill(p->backend, p->arena, p->arena_size, byte));
    return fill(p->backend, p->ws, p->ws_size, byte);
}

/* covered[i] = 1 when arena byte i belongs to a planned value; owner[i] the value id (last one). */
static uint8_t *coverage(const jt_plan *p, int32_t **owner) {
    uint8_t *cov = calloc(p->arena_size + 1, 1);
    *owner = calloc(p->arena_size + 1, sizeof(int32_t));
    if (!cov || !*owner) {
        free(cov);
        free(*owner);
        *owner = NULL;
        return NULL;
    }
    for (int32_t v = 0; v < p->g->n_values; v++) {
        const uint8_t *d = p->t[v].data;
        if (!d || d < p->arena || d >= p->arena + p->arena_size) continue;
        size_t off = (size_t)(d - p->arena), n = jt_tensor_nbytes(&p->t[v]);
        for (size_t i = off; i < off + n && i < p->arena_size; i++) {
            cov[i] = 1;
            (*owner)[i] = v;
        }
    }
    return cov;
}

static const char *value_before(const jt_plan *p, const uint8_t *cov, const int32_t *owner, size_t off) {
    for (size_t i = off; i-- > 0;)
        if (cov[i]) return p->g->values[owner[i]].name ? p->g->values[owner[i]].name : "?";
    return "(start of the arena)";
}

int jt_cuda_test_guards_intact(jt_plan *p, uint8_t byte, char *why, size_t cap) {
    if (!p->arena || !p->arena_size) return 1;
    int32_t *owner = NULL;
    uint8_t *cov = coverage(p, &owner), *h = malloc(p->arena_size);
    int ok = 1;
    if (!cov || !h) {
        jt_test_fmt(why, cap, "guard check: out of memory");
        ok = 0;
    } else if (p->backend->vt->download(p->backend, h, p->arena, p->arena_size) != JT_OK) {
        jt_test_fmt(why, cap, "guard check: download failed: %s", jt_ctx_error(p->ctx));
        ok = 0;
    } else {
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < p->arena_size; i++)
            if (!cov[i] && h[i] != byte && !bad++) first = i;
        if (bad) {
            jt_test_fmt(why, cap, "%zu guard byte%s overwritten, first at arena offset %zu (0x%02x, expected 0x%02x), "
                        "after value '%s'", bad, bad == 1 ? "" : "s", first, h[first], byte,
                        value_before(p, cov, owner, first));
            ok = 0;
        }
    }
    free(cov);
    free(owner);
    free(h);
    return ok;
}

int jt_cuda_test_corrupt_guard(jt_plan *p) {
    int32_t *owner = NULL;
    uint8_t *cov = coverage(p, &owner);
    int done = 0;
    for (size_t i = 1; cov && i < p->arena_size && !done; i++)
        if (cov[i - 1] && !cov[i]) {
            uint8_t x = 0x5A;
            done = p->backend->vt->upload(p->backend, p->arena + i, &x, 1) == JT_OK &&
                   p->backend->vt->sync(p->backend) == JT_OK;
        }
    free(cov);
    free(owner);
    return done;
}

jt_status jt_cuda_test_download(jt_plan *p, int i, jt_tensor *host) {
    const jt_tensor *t = jt_plan_output(p, i);
    memset(host, 0, sizeof *host);
    if (!t) return jt_fail(p->ctx, JT_ERR_ARG, "test: no output %d", i);
    host->dtype = t->dtype;
    host->rank = t->rank;
    memcpy(host->dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    size_t n = jt_tensor_nbytes(t);
    host->data = malloc(n + 8);
    if (!host->data) return jt_fail(p->ctx, JT_ERR_OOM, "test: out of memory for %zu bytes", n);
    return jt_plan_output_download(p, i, host->data);
}

const char *jt_cuda_test_source_root(const char *compiled_in) {
    const char *e = getenv("JATP_SOURCE_ROOT");
    return e && *e ? e : compiled_in;
}
