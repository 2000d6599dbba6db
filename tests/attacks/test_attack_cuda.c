/* The graph oracle and an attack on the CUDA backend against the CPU backend (docs/attacks.md):
 * logits, every loss and its input gradient of the shipped Fashion-MNIST CNN within float32 tolerance
 * (TF32 off), and a PGD run whose examples are valid and whose robust accuracy matches the CPU run to
 * within one example. Without a device every case is a counted skip (a FAIL under JATP_REQUIRE_CUDA=1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/jatp.h"
#include "jt_cuda_test.h"
#include "jt_test.h"

static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return sqrt(num) / (sqrt(den) + 1e-30);
}

int main(void) {
    static const char *const cases[] = {"attack_cuda/logits", "attack_cuda/loss_grad", "attack_cuda/pgd"};
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(2, &ctx) != JT_OK) return 1;
    char reason[512];
    jt_backend *be = jt_cuda_test_open(ctx, reason, sizeof reason);
    if (!be) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) jt_cuda_test_unavailable(cases[i], reason);
        jt_ctx_free(ctx);
        return jt_test_finish();
    }
    const char *root = jt_cuda_test_source_root(JT_SOURCE_ROOT);
    char mpath[4096], xpath[4096], ypath[4096];
    snprintf(mpath, sizeof mpath, "%s/models/onnx/fmnist_cnn.onnx", root);
    snprintf(xpath, sizeof xpath, "%s/models/onnx/fmnist_test8.npy", root);
    snprintf(ypath, sizeof ypath, "%s/models/onnx/fmnist_test8_labels.npy", root);
    jt_graph *T = NULL;
    jt_tensor xt = {0}, yt = {0};
    jt_oracle *cpu = NULL, *gpu = NULL;
    jt_load_options lo;
    jt_load_options_default(&lo);
    jt_graph_oracle_config c;
    jt_graph_oracle_config_default(&c);
    c.max_batch = 8;
    if (jt_onnx_load(ctx, mpath, &lo, &T) != JT_OK || jt_npy_read(ctx, xpath, &xt) != JT_OK ||
        jt_npy_read(ctx, ypath, &yt) != JT_OK || jt_graph_oracle_create(ctx, T, NULL, 1, 28, 28, &c, &cpu) != JT_OK) {
        jt_test_fail("attack_cuda/setup", "%s", jt_ctx_error(ctx));
        goto out;
    }
    c.backend = be;
    if (jt_graph_oracle_create(ctx, T, NULL, 1, 28, 28, &c, &gpu) != JT_OK) {
        jt_test_fail("attack_cuda/setup", "%s", jt_ctx_error(ctx));
        goto out;
    }
    int n = 8, d = 28 * 28, K = 10;
    const float *x = xt.data;
    const int64_t *y = yt.data;
    float za[80], zb[80], ga[8 * 784], gb[8 * 784], la[8], lb[8];
    int64_t t[8];
    for (int i = 0; i < n; i++) t[i] = (y[i] + 3) % K;
    if (jt_oracle_logits(cpu, x, n, za) != JT_OK || jt_oracle_logits(gpu, x, n, zb) != JT_OK)
        jt_test_fail(cases[0], "%s", jt_ctx_error(ctx));
    else if (rel_err(zb, za, (size_t)n * K) < 1e-5) jt_test_ok(cases[0]);
    else jt_test_fail(cases[0], "relative error %.3g", rel_err(zb, za, (size_t)n * K));
    double worst = 0;
    int ok = 1;
    for (int k = 0; ok && k < JT_LOSS_COUNT; k++) {
        if (jt_oracle_loss_grad(cpu, x, y, t, n, (jt_attack_loss)k, la, ga, za) != JT_OK ||
            jt_oracle_loss_grad(gpu, x, y, t, n, (jt_attack_loss)k, lb, gb, zb) != JT_OK) {
            jt_test_fail(cases[1], "%s", jt_ctx_error(ctx));
            ok = 0;
            break;
        }
        double e = fmax(rel_err(lb, la, (size_t)n), rel_err(gb, ga, (size_t)n * d));
        worst = e > worst ? e : worst;
    }
    if (ok && worst < 1e-4) jt_test_ok(cases[1]);
    else if (ok) jt_test_fail(cases[1], "worst relative error %.3g (loss or gradient)", worst);
    jt_attack_config cfg;
    jt_attack_preset(ctx, "pgd", JT_IMAGES_FMNIST, &cfg);
    cfg.steps = 10;
    float *a1 = malloc(sizeof(float) * (size_t)n * d), *a2 = malloc(sizeof(float) * (size_t)n * d);
    uint8_t s1[8], s2[8];
    jt_attack_io io1 = {.n = n, .x = x, .y = y, .x_adv = a1, .success = s1};
    jt_attack_io io2 = {.n = n, .x = x, .y = y, .x_adv = a2, .success = s2};
    if (jt_attack_run(cpu, &cfg, &io1) != JT_OK || jt_attack_run(gpu, &cfg, &io2) != JT_OK) {
        jt_test_fail(cases[2], "%s", jt_ctx_error(ctx));
    } else {
        int diff = 0;
        for (int i = 0; i < n; i++) diff += s1[i] != s2[i];
        if (diff <= 1) jt_test_ok(cases[2]);
        else jt_test_fail(cases[2], "%d of %d success flags differ between CPU and CUDA", diff, n);
    }
    free(a1);
    free(a2);
out:
    jt_oracle_free(cpu);
    jt_oracle_free(gpu);
    jt_graph_free(T);
    free(xt.data);
    free(yt.data);
    jt_backend_free(be);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
