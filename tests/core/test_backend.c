/* Backends: names parse with clear errors; the CPU backend runs plans (explicitly passed); the CUDA
 * backend, where this machine has no device or driver, fails with a message saying so (on a GPU
 * machine the device description is checked instead); a plan on a backend without kernels lists the
 * nodes it cannot run. */
#include <stdlib.h>
#include <string.h>

#include "jatp/jatp.h"
#include "jt_test.h"

int main(void) {
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    jt_backend *b = NULL;
    static const char *const bad[] = {"tpu", "cuda:x", "cuda:-1", "cudaa"};
    int ok = 1;
    for (int i = 0; i < 4; i++)
        if (jt_backend_create(ctx, bad[i], &b) != JT_ERR_ARG || !strstr(jt_ctx_error(ctx), bad[i])) ok = 0;
    if (ok) jt_test_ok("backend/bad_names");
    else jt_test_fail("backend/bad_names", "a bad device name was accepted or not named: %s", jt_ctx_error(ctx));

    jt_graph *g = NULL;
    jt_plan *p = NULL;
    jt_tensor x = {0};
    jt_plan_options po;
    jt_plan_options_default(&po);
    if (jt_backend_create(ctx, "cpu", &b) != JT_OK ||
        jt_onnx_load(ctx, JT_SOURCE_ROOT "/models/onnx/fmnist_cnn.onnx", NULL, &g) != JT_OK ||
        jt_npy_read(ctx, JT_SOURCE_ROOT "/models/onnx/fmnist_test8.npy", &x) != JT_OK) {
        jt_test_fail("backend/cpu_plan", "%s", jt_ctx_error(ctx));
    } else {
        po.backend = b;
        float host[80];
        if (jt_plan_create(ctx, g, &x, 1, &po, &p) != JT_OK || jt_plan_run(p, &x, 1) != JT_OK ||
            jt_plan_output_download(p, 0, host) != JT_OK || jt_plan_sync_params(p) != JT_OK)
            jt_test_fail("backend/cpu_plan", "%s", jt_ctx_error(ctx));
        else if (memcmp(host, jt_plan_output(p, 0)->data, sizeof host) != 0)
            jt_test_fail("backend/cpu_plan", "downloaded output differs");
        else
            jt_test_ok("backend/cpu_plan");
    }
    jt_plan_free(p);
    jt_backend_free(b);
    b = NULL;
    jt_status st = jt_backend_create(ctx, "cuda", &b);
    if (!jt_cuda_built()) {
        if (st == JT_ERR_DEVICE && strstr(jt_ctx_error(ctx), "without the CUDA backend"))
            jt_test_ok("backend/cuda_absent");
        else
            jt_test_fail("backend/cuda_absent", "unclear: %s", jt_ctx_error(ctx));
    } else if (st != JT_OK) {
        if (st == JT_ERR_DEVICE && strstr(jt_ctx_error(ctx), "CUDA") && strstr(jt_ctx_error(ctx), "cpu"))
            jt_test_ok("backend/cuda_no_device");
        else
            jt_test_fail("backend/cuda_no_device", "unclear: %s", jt_ctx_error(ctx));
    } else {
        /* a GPU machine: the description names the card; a plan lists nodes without CUDA kernels */
        const char *d = jt_backend_description(b);
        po.backend = b;
        if (!strstr(d, "cuda:0") || !strstr(d, "sm_")) jt_test_fail("backend/cuda_device", "description: %s", d);
        else jt_test_ok("backend/cuda_device");
        p = NULL;
        if (g && jt_plan_create(ctx, g, &x, 1, &po, &p) == JT_OK) {
            jt_test_ok("backend/cuda_plan");
        } else if (strstr(jt_ctx_error(ctx), "no kernel on cuda")) {
            jt_test_skip("backend/cuda_plan", "CUDA kernels not written yet (issue 5): %s", jt_ctx_error(ctx));
        } else {
            jt_test_fail("backend/cuda_plan", "%s", jt_ctx_error(ctx));
        }
        jt_plan_free(p);
    }
    jt_backend_free(b);
    free(x.data);
    jt_graph_free(g);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
