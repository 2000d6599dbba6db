/* Injected failures on the CUDA backend become clear errors, and the backend stays usable after them.
 *
 *   cuda-inject/arena_oom        a plan whose activation arena cannot fit on any card (four Relu outputs
 *                                of a declared input of 15 x 1024^3 floats, each 60 GiB, all live to the
 *                                end: a 240 GiB arena; one value may not exceed 64 GiB) fails in
 *                                jt_plan_create with JT_ERR_OOM (or JT_ERR_DEVICE), and the message names
 *                                the arena and its size in bytes
 *   cuda-inject/after_oom        the same backend then runs a small plan correctly (a failed cudaMalloc
 *                                must not leave a stale error that a later launch check picks up)
 *   cuda-inject/bad_index        "cuda:63" fails with JT_ERR_ARG naming the device count
 * Without a device each case is a skip with the reason; JATP_REQUIRE_CUDA=1 makes them failures. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/builder.h"
#include "jatp/jatp.h"
#include "jt_cuda_test.h"
#include "jt_test.h"

/* n_out Relu nodes on one input, every output a graph output */
static jt_status relu_graph(jt_ctx *ctx, int rank, const int64_t *dims, int n_out, jt_graph **g) {
    JT_TRY(jt_graph_create(ctx, "inject", g));
    jt_gb b;
    jt_gb_init(&b, ctx, *g, 17);
    int32_t x = jt_gb_input(&b, "x", JT_F32, rank, dims), y;
    for (int i = 0; i < n_out; i++) {
        char nm[16];
        jt_test_fmt(nm, sizeof nm, "relu%d", i);
        jt_gb_node(&b, "Relu", "", nm, &x, 1, &y, 1);
        jt_gb_output(&b, y);
    }
    return jt_gb_status(&b);
}

int main(void) {
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    char reason[1024];
    jt_backend *dev = jt_cuda_test_open(ctx, reason, sizeof reason);
    if (!dev) {
        printf("# %s\n", reason);
        jt_cuda_test_unavailable("cuda-inject/arena_oom", reason);
        jt_cuda_test_unavailable("cuda-inject/after_oom", reason);
        jt_cuda_test_unavailable("cuda-inject/bad_index", reason);
        jt_ctx_free(ctx);
        return jt_test_finish();
    }
    printf("# device: %s\n", jt_backend_description(dev));
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.backend = dev;

    /* 1. an arena larger than any card */
    const int64_t huge[3] = {15, 1 << 20, 1024};
    const uint64_t bytes = (uint64_t)4 * 15 * 4 << 30;
    char size_txt[32];
    jt_test_fmt(size_txt, sizeof size_txt, "%" PRIu64, bytes);
    jt_graph *g = NULL;
    jt_plan *p = NULL;
    jt_tensor xt = {.dtype = JT_F32, .rank = 3, .dims = {huge[0], huge[1], huge[2]}, .data = NULL};
    if (relu_graph(ctx, 3, huge, 4, &g) != JT_OK) {
        jt_test_fail("cuda-inject/arena_oom", "graph: %s", jt_ctx_error(ctx));
    } else {
        jt_status st = jt_plan_create(ctx, g, &xt, 1, &po, &p);
        const char *msg = jt_ctx_error(ctx);
        if (st == JT_OK)
            jt_test_fail("cuda-inject/arena_oom", "a plan of %s bytes was created", size_txt);
        else if (st != JT_ERR_OOM && st != JT_ERR_DEVICE)
            jt_test_fail("cuda-inject/arena_oom", "status %d (expected JT_ERR_OOM): %s", (int)st, msg);
        else if (!strstr(msg, size_txt) || !strstr(msg, "arena"))
            jt_test_fail("cuda-inject/arena_oom", "the message does not name the arena and its %s bytes: %s", size_txt,
                         msg);
        else {
            jt_test_ok("cuda-inject/arena_oom");
            jt_test_note("%s", msg);
        }
    }
    jt_plan_free(p);
    jt_graph_free(g);
    p = NULL;
    g = NULL;

    /* 2. the backend still works */
    const int64_t small[2] = {4, 37};
    float x[4 * 37], y[4 * 37];
    for (int i = 0; i < 4 * 37; i++) x[i] = (float)(i % 11) - 5.5f;
    jt_tensor st = {.dtype = JT_F32, .rank = 2, .dims = {4, 37}, .data = x};
    if (relu_graph(ctx, 2, small, 1, &g) != JT_OK || jt_plan_create(ctx, g, &st, 1, &po, &p) != JT_OK ||
        jt_cuda_test_poison(p, 0xFF) != JT_OK || jt_plan_run(p, &st, 1) != JT_OK ||
        jt_plan_output_download(p, 0, y) != JT_OK) {
        jt_test_fail("cuda-inject/after_oom", "%s", jt_ctx_error(ctx));
    } else {
        int bad = -1;
        for (int i = 0; i < 4 * 37 && bad < 0; i++)
            if (y[i] != (x[i] > 0 ? x[i] : 0)) bad = i;
        if (bad >= 0) jt_test_fail("cuda-inject/after_oom", "element %d: %g, expected %g", bad, y[bad], fmax(x[bad], 0));
        else jt_test_ok("cuda-inject/after_oom");
    }
    jt_plan_free(p);
    jt_graph_free(g);

    /* 3. a device index past the count */
    jt_backend *b2 = NULL;
    jt_status s2 = jt_backend_device(dev).kind == JT_DEV_CUDA ? jt_backend_create(ctx, "cuda:63", &b2) : JT_OK;
    if (jt_backend_device(dev).kind != JT_DEV_CUDA)
        jt_test_skip("cuda-inject/bad_index", "JATP_TEST_DEVICE is not a CUDA device");
    else if (s2 == JT_ERR_ARG && strstr(jt_ctx_error(ctx), "cuda:63") && strstr(jt_ctx_error(ctx), "present"))
        jt_test_ok("cuda-inject/bad_index");
    else
        jt_test_fail("cuda-inject/bad_index", "status %d: %s", (int)s2, s2 == JT_OK ? "created" : jt_ctx_error(ctx));
    jt_backend_free(b2);
    jt_backend_free(dev);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
