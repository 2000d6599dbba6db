/* Real learning runs (seeded, nothing mocked):
 *  1. ResNet-10-FM-w8 with training-mode BatchNorm, cross-entropy, SGD (momentum 0.9, wd 5e-4, lr 0.05,
 *     x0.1 for the last quarter), one
 *     short epoch on 8,192 Fashion-MNIST training images; the eval-mode copy (running statistics)
 *     must reach at least 80% accuracy on 1,000 test images.
 *  2. RRDB-S learns to denoise: MSE(P(x + noise), x) with Adam must fall to under half its start.
 * Both go through the builders, jt_build_backward, jt_append_sgd/adam and plans with updates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/jatp.h"
#include "jt_test.h"
#include "runtime/core/philox.h"

#define MAXP 512

typedef struct trainer {
    jt_graph *g;
    jt_plan *plan;
    jt_optim_state os;
    int32_t loss;
    int in_x, in_y, in_lr, in_step; /* positions in g->inputs */
} trainer;

static jt_status plan_trainer(jt_ctx *ctx, trainer *t, const jt_model_info *mi, jt_tensor *xs) {
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.fold_params = 0;
    int n = t->os.n_updates + (mi ? mi->n_state : 0);
    int32_t *dst = malloc(sizeof(int32_t) * (size_t)(n + 1)), *src = malloc(sizeof(int32_t) * (size_t)(n + 1));
    memcpy(dst, t->os.update_dst, sizeof(int32_t) * (size_t)t->os.n_updates);
    memcpy(src, t->os.update_src, sizeof(int32_t) * (size_t)t->os.n_updates);
    for (int i = 0; mi && i < mi->n_state; i++) {
        dst[t->os.n_updates + i] = mi->state_dst[i];
        src[t->os.n_updates + i] = mi->state_src[i];
    }
    po.update_dst = dst;
    po.update_src = src;
    po.n_updates = n;
    jt_status st = jt_plan_create(ctx, t->g, xs, t->g->n_inputs, &po, &t->plan);
    free(dst);
    free(src);
    return st;
}

static void classifier_smoke(jt_ctx *ctx) {
    const char *name = "smoke/resnet10-fm-w8_fmnist";
    jt_dataset tr = {0}, te = {0};
    FILE *probe = fopen(JT_FMNIST_DIR "/train-images-idx3-ubyte.gz", "rb");
    if (!probe) {
        jt_test_skip(name, "Debian's dataset-fashion-mnist is not installed");
        return;
    }
    fclose(probe);
    enum { B = 64, STEPS = 128, NTEST = 1000 };
    trainer t = {0};
    jt_graph *ev = NULL;
    jt_plan *evp = NULL;
    float *xb = malloc(sizeof(float) * B * 784);
    int64_t yb[B], *idx = malloc(sizeof(int64_t) * 60000);
    float *xt = malloc(sizeof(float) * NTEST * 784);
    int64_t *yt = malloc(sizeof(int64_t) * NTEST);
    if (jt_dataset_load_fmnist(ctx, NULL, 1, &tr) != JT_OK || jt_dataset_load_fmnist(ctx, NULL, 0, &te) != JT_OK)
        goto fail;
    /* training graph */
    jt_model_config cfg;
    jt_model_info mi;
    if (jt_model_config_preset(ctx, "resnet10-fm-w8", &cfg) != JT_OK) goto fail;
    cfg.train_bn = 1;
    cfg.seed = 1;
    if (jt_graph_create(ctx, "smoke-train", &t.g) != JT_OK) goto fail;
    jt_gb b;
    jt_gb_init(&b, ctx, t.g, 17);
    int32_t x = jt_gb_input(&b, "x", JT_F32, 4, (int64_t[]){B, 1, 28, 28});
    int32_t y = jt_gb_input(&b, "y", JT_I64, 1, (int64_t[]){B});
    if (jt_model_build(&b, "resnet10-fm-w8", &cfg, x, &mi) != JT_OK) goto fail;
    t.loss = jt_loss_ce(&b, mi.output, y);
    jt_gb_output(&b, t.loss);
    if (jt_gb_status(&b) != JT_OK) goto fail;
    int32_t params[MAXP], grads[MAXP];
    int np = jt_graph_trainable_params(t.g, params, MAXP);
    if (np > MAXP || jt_build_backward(ctx, t.g, &t.loss, NULL, 1, params, np, grads) != JT_OK) goto fail;
    jt_sgd_config sc;
    jt_sgd_config_default(&sc);
    sc.momentum = 0.9;
    sc.weight_decay = 5e-4;
    if (jt_append_sgd(ctx, t.g, params, grads, np, &sc, &t.os) != JT_OK) goto fail;
    double lr = 0.05, step = 1;
    jt_tensor xs[4] = {{0}};
    for (int i = 0; i < t.g->n_inputs; i++) {
        int32_t v = t.g->inputs[i];
        if (v == x) xs[i] = (jt_tensor){.dtype = JT_F32, .rank = 4, .dims = {B, 1, 28, 28}, .data = xb};
        else if (v == y) xs[i] = (jt_tensor){.dtype = JT_I64, .rank = 1, .dims = {B}, .data = yb};
        else if (v == t.os.lr_input) xs[i] = (jt_tensor){.dtype = JT_F64, .rank = 0, .data = &lr};
        else xs[i] = (jt_tensor){.dtype = JT_F64, .rank = 0, .data = &step};
    }
    if (plan_trainer(ctx, &t, &mi, xs) != JT_OK) goto fail;
    /* shuffled order from the Philox shuffle stream (Fisher-Yates) */
    for (int64_t i = 0; i < tr.n; i++) idx[i] = i;
    for (int64_t i = tr.n - 1; i > 0; i--) {
        int64_t j = (int64_t)(jt_rng_uniform(7, JT_RNG_SHUFFLE, 0, (uint64_t)i) * (float)(i + 1));
        if (j > i) j = i;
        int64_t tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
    double first = 0, last = 0;
    for (int s = 0; s < STEPS; s++) {
        jt_dataset_batch(&tr, idx + (int64_t)s * B, B, xb, yb);
        step = s + 1;
        /* multi-step schedule: x0.1 for the last quarter, which also lets the running statistics
         * of the BatchNorm layers settle on the final weights */
        int64_t milestone = STEPS * 3 / 4;
        lr = jt_lr_multistep(0.05, s, &milestone, 1, 0.1);
        if (jt_plan_run(t.plan, xs, t.g->n_inputs) != JT_OK) goto fail;
        double l = ((const float *)jt_plan_output(t.plan, 0)->data)[0];
        if (!isfinite(l)) {
            jt_test_fail(name, "loss became %g at step %d", l, s + 1);
            goto done;
        }
        if (s < 8) first += l / 8;
        if (s >= STEPS - 8) last += l / 8;
    }
    /* evaluation copy: eval-mode BatchNorm with the trained running statistics */
    jt_model_config ecfg = cfg;
    ecfg.train_bn = 0;
    if (jt_model_create(ctx, "resnet10-fm-w8", &ecfg, &ev, NULL) != JT_OK ||
        jt_graph_copy_params(ctx, ev, t.g, NULL, 1, NULL) != JT_OK)
        goto fail;
    int64_t tidx[NTEST];
    for (int i = 0; i < NTEST; i++) tidx[i] = i;
    jt_dataset_batch(&te, tidx, NTEST, xt, yt);
    jt_tensor in = {.dtype = JT_F32, .rank = 4, .dims = {NTEST, 1, 28, 28}, .data = xt};
    if (jt_plan_create(ctx, ev, &in, 1, NULL, &evp) != JT_OK || jt_plan_run(evp, &in, 1) != JT_OK) goto fail;
    const float *logits = jt_plan_output(evp, 0)->data;
    int correct = 0;
    for (int i = 0; i < NTEST; i++) {
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
        correct += best == yt[i];
    }
    double acc = 100.0 * correct / NTEST;
    if (acc < 80.0 || !(last < first))
        jt_test_fail(name, "test accuracy %.1f%% (need >= 80%%), loss %.4f -> %.4f", acc, first, last);
    else {
        jt_test_ok(name);
        jt_test_note("%d steps of batch %d: loss %.4f -> %.4f, test accuracy %.1f%% on %d images", STEPS, B, first, last,
                     acc, NTEST);
    }
    goto done;
fail:
    jt_test_fail(name, "%s", jt_ctx_error(ctx));
done:
    jt_plan_free(evp);
    jt_graph_free(ev);
    jt_plan_free(t.plan);
    jt_graph_free(t.g);
    jt_dataset_free(&tr);
    jt_dataset_free(&te);
    free(xb);
    free(idx);
    free(xt);
    free(yt);
}

static void denoiser_smoke(jt_ctx *ctx) {
    const char *name = "smoke/rrdb-s_denoise";
    enum { B = 16, STEPS = 60 };
    trainer t = {0};
    float *clean = malloc(sizeof(float) * B * 784), *noisy = malloc(sizeof(float) * B * 784);
    jt_model_config cfg;
    if (jt_model_config_preset(ctx, "rrdb-s", &cfg) != JT_OK || jt_graph_create(ctx, "smoke-denoise", &t.g) != JT_OK)
        goto fail;
    cfg.seed = 3;
    jt_gb b;
    jt_gb_init(&b, ctx, t.g, 17);
    int32_t xn = jt_gb_input(&b, "noisy", JT_F32, 4, (int64_t[]){B, 1, 28, 28});
    int32_t xc = jt_gb_input(&b, "clean", JT_F32, 4, (int64_t[]){B, 1, 28, 28});
    jt_model_info mi;
    if (jt_model_build(&b, "rrdb-s", &cfg, xn, &mi) != JT_OK) goto fail;
    t.loss = jt_loss_mse(&b, mi.output, xc);
    jt_gb_output(&b, t.loss);
    if (jt_gb_status(&b) != JT_OK) goto fail;
    int32_t params[MAXP], grads[MAXP];
    int np = jt_graph_trainable_params(t.g, params, MAXP);
    if (np > MAXP || jt_build_backward(ctx, t.g, &t.loss, NULL, 1, params, np, grads) != JT_OK) goto fail;
    jt_adam_config ac;
    jt_adam_config_default(&ac);
    if (jt_append_adam(ctx, t.g, params, grads, np, &ac, &t.os) != JT_OK) goto fail;
    double lr = 1e-3, step = 1;
    jt_tensor xs[4] = {{0}};
    for (int i = 0; i < t.g->n_inputs; i++) {
        int32_t v = t.g->inputs[i];
        if (v == xn) xs[i] = (jt_tensor){.dtype = JT_F32, .rank = 4, .dims = {B, 1, 28, 28}, .data = noisy};
        else if (v == xc) xs[i] = (jt_tensor){.dtype = JT_F32, .rank = 4, .dims = {B, 1, 28, 28}, .data = clean};
        else if (v == t.os.lr_input) xs[i] = (jt_tensor){.dtype = JT_F64, .rank = 0, .data = &lr};
        else xs[i] = (jt_tensor){.dtype = JT_F64, .rank = 0, .data = &step};
    }
    if (plan_trainer(ctx, &t, NULL, xs) != JT_OK) goto fail;
    double first = 0, last = 0;
    for (int s = 0; s < STEPS; s++) {
        /* smooth random images (sums of two ramps) plus uniform noise in [-0.1, 0.1] */
        for (int i = 0; i < B; i++) {
            float a = jt_rng_uniform(11, JT_RNG_TEST, (uint64_t)s, (uint64_t)(2 * i));
            float c = jt_rng_uniform(11, JT_RNG_TEST, (uint64_t)s, (uint64_t)(2 * i + 1));
            for (int p = 0; p < 784; p++) {
                float v = 0.5f * a * (float)(p / 28) / 27.0f + 0.5f * c * (float)(p % 28) / 27.0f;
                float n = 0.2f * jt_rng_uniform(12, JT_RNG_TEST, (uint64_t)s, (uint64_t)(i * 784 + p)) - 0.1f;
                clean[i * 784 + p] = v;
                noisy[i * 784 + p] = v + n;
            }
        }
        step = s + 1;
        if (jt_plan_run(t.plan, xs, t.g->n_inputs) != JT_OK) goto fail;
        double l = ((const float *)jt_plan_output(t.plan, 0)->data)[0];
        if (s < 5) first += l / 5;
        if (s >= STEPS - 5) last += l / 5;
    }
    if (!(last < 0.5 * first)) jt_test_fail(name, "MSE %.5f -> %.5f: did not halve", first, last);
    else {
        jt_test_ok(name);
        jt_test_note("%d Adam steps: MSE %.5f -> %.5f", STEPS, first, last);
    }
    goto done;
fail:
    jt_test_fail(name, "%s", jt_ctx_error(ctx));
done:
    jt_plan_free(t.plan);
    jt_graph_free(t.g);
    free(clean);
    free(noisy);
}

int main(void) {
    jt_ctx *ctx;
    jt_ctx_create(0, &ctx);
    classifier_smoke(ctx);
    denoiser_smoke(ctx);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
