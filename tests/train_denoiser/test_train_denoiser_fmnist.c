/* jatp train denoiser, (b) of the issue: a real short JATP run on Fashion-MNIST (counted skip when Debian's
 * dataset-fashion-mnist is missing; FAIL with JATP_REQUIRE_FMNIST=1).
 *
 * A ResNet-10-FM-w8 target is adversarially trained here (jt_target_trainer: PGD-3 at eps 0.1, step 0.04,
 * 160 steps of 64 images, SGD 0.05 momentum 0.9 wd 5e-4, x0.1 for the last quarter), then JATP trains
 * P in front of it with the ci preset's settings (RRDB-S, 2,048 images, batch 128, one epoch = 16 steps,
 * feature-space PGD K=2 step 0.05, SGD 1e-2 + clipping 1.0) after 60 identity warm-up iterations.
 * Evaluation: natural accuracy on the first 500 test images, PGD-10 (eps 0.1, step 0.025, uniform
 * random start, the gradient through P and T; clean mistakes count as broken) on the first 200.
 * Checks (seeds fixed): nat(F) >= nat(T) - 3 points, pgd(F) >= pgd(T) - 5 points, and the exported
 * P.onnx reproduces the trainer's own natural accuracy of F exactly.
 * Measured (2 threads, loaded machine): T natural 73.0 %, PGD-10 54.5 %; F = T∘P 73.6 %, 55.0 %; about
 * 20 s target, 80 s JATP (warm-up included), 10 s evaluation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jatp/jatp.h"
#include "jatp/train_denoiser.h"
#include "jatp/train_target.h"
#include "jt_test.h"
#include "td_common.h"

enum { FM_T_BATCH = 64, FM_T_STEPS = 160, FM_NAT = 500, FM_PGD = 300 };

static jt_status accuracies(jt_ctx *ctx, jt_oracle *o, const float *x, const int64_t *y, double *nat, double *pgd) {
    int64_t pred[FM_NAT];
    JT_TRY(jt_oracle_predict(o, x, FM_NAT, pred, NULL));
    int c = 0;
    for (int i = 0; i < FM_NAT; i++) c += pred[i] == y[i];
    *nat = 100.0 * c / FM_NAT;
    jt_attack_config ac;
    JT_TRY(jt_attack_preset(ctx, "pgd", JT_IMAGES_FMNIST, &ac));
    ac.steps = 10;
    ac.alpha = 0.025;
    ac.seed = 11;
    float *adv = malloc(sizeof(float) * FM_PGD * 784);
    int64_t pa[FM_PGD];
    jt_attack_io io = {.n = FM_PGD, .x = x, .y = y, .x_adv = adv, .pred_adv = pa};
    jt_status st = jt_attack_run(o, &ac, &io);
    free(adv);
    JT_TRY(st);
    c = 0;
    for (int i = 0; i < FM_PGD; i++) c += pa[i] == y[i];
    *pgd = 100.0 * c / FM_PGD;
    return JT_OK;
}

static jt_status train_target(jt_ctx *ctx, const jt_dataset *tr, jt_target_trainer **out) {
    jt_target_spec ts;
    jt_target_spec_default(&ts);
    ts.recipe = JT_RECIPE_AT;
    ts.batch = FM_T_BATCH;
    ts.c = 1, ts.h = 28, ts.w = 28;
    ts.model_name = "resnet10-fm-w8";
    JT_TRY(jt_model_config_preset(ctx, "resnet10-fm-w8", &ts.model_cfg));
    ts.model_cfg.seed = 2;
    ts.eps = 0.1;
    ts.pgd_step = 0.04;
    ts.pgd_steps = 3;
    ts.sgd.momentum = 0.9;
    ts.sgd.weight_decay = 5e-4;
    ts.seed = 2;
    JT_TRY(jt_target_trainer_create(ctx, &ts, out));
    jt_loader_config lc;
    jt_loader_config_default(&lc);
    lc.batch = FM_T_BATCH;
    lc.crop_pad = 2;
    lc.flip = 1;
    lc.drop_last = 1;
    lc.seed = 2;
    jt_loader *l;
    JT_TRY(jt_loader_create(ctx, tr, &lc, &l));
    float *x = malloc(sizeof(float) * FM_T_BATCH * 784);
    int64_t y[FM_T_BATCH], idx[FM_T_BATCH];
    jt_status st = JT_OK;
    for (int s = 0; s < FM_T_STEPS && st == JT_OK; s++) {
        int cnt;
        st = jt_loader_batch(l, 0, s, x, y, idx, &cnt);
        double lr = s < FM_T_STEPS * 3 / 4 ? 0.05 : 0.005;
        jt_target_step_out so;
        if (st == JT_OK) st = jt_target_trainer_step(*out, x, y, idx, 0, lr, s + 1, &so);
        if (st == JT_OK && !isfinite(so.loss)) st = jt_fail(ctx, JT_ERR_NUMERIC, "target training diverged at step %d", s + 1);
    }
    if (st == JT_OK) st = jt_target_trainer_sync(*out);
    free(x);
    jt_loader_free(l);
    return st;
}

static void test_fmnist(void) {
    const char *name = "train_denoiser/fmnist/jatp_keeps_accuracy_and_robustness";
    FILE *probe = fopen(JT_FMNIST_DIR "/train-images-idx3-ubyte.gz", "rb");
    if (!probe) {
        const char *req = getenv("JATP_REQUIRE_FMNIST");
        if (req && strcmp(req, "1") == 0) jt_test_fail(name, "JATP_REQUIRE_FMNIST=1 but %s is missing", JT_FMNIST_DIR);
        else jt_test_skip(name, "Debian's dataset-fashion-mnist is not installed");
        return;
    }
    fclose(probe);
    jt_ctx *ctx;
    jt_ctx_create(0, &ctx);
    jt_dataset tr = {0}, te = {0};
    jt_target_trainer *tt = NULL;
    jt_oracle *oT = NULL, *oF = NULL;
    jt_graph *P = NULL;
    float *xt = malloc(sizeof(float) * FM_NAT * 784);
    int64_t yt[FM_NAT], ti[FM_NAT];
    char why[1024] = "", pout[256], pck[256];
    int ok = 0;
    double t0 = now_s(), t_target = 0, t_jatp = 0, t_eval = 0;
    if (jt_dataset_open(ctx, "fmnist", NULL, 1, &tr) != JT_OK || jt_dataset_open(ctx, "fmnist", NULL, 0, &te) != JT_OK)
        goto fail;
    for (int i = 0; i < FM_NAT; i++) ti[i] = i;
    jt_dataset_batch(&te, ti, FM_NAT, xt, yt);
    /* 1. the target: PGD-3 adversarial training, FM_T_STEPS steps of FM_T_BATCH */
    if (train_target(ctx, &tr, &tt) != JT_OK) goto fail;
    jt_graph *T = jt_target_trainer_eval_graph(tt);
    t_target = now_s() - t0;
    jt_graph_oracle_config oc;
    jt_graph_oracle_config_default(&oc);
    double nat_T, pgd_T, nat_F, pgd_F;
    double t1 = now_s();
    if (jt_graph_oracle_create(ctx, T, NULL, 1, 28, 28, &oc, &oT) != JT_OK || accuracies(ctx, oT, xt, yt, &nat_T, &pgd_T))
        goto fail;
    t_eval += now_s() - t1;
    /* 2. JATP, the ci preset but 60 warm-up iterations: RRDB-S, K = 2 steps of 0.05, two epochs of 2,048
     *    images in batches of 128 (32 steps; with 16 the outcome was within the evaluation noise of the
     *    threshold and flipped with float32 rounding changes elsewhere in the engine) */
    jt_dn_config c;
    jt_dn_config_default(&c);
    c.method = JT_DN_JATP;
    c.denoiser = "rrdb-s";
    c.subset = 2048;
    c.batch = 128;
    c.epochs = 2;
    c.warmup = 60;
    c.attack_steps = 2;
    c.attack_step = 0.05;
    c.eval_n = FM_NAT;
    c.quiet = 1;
    c.seed = 3;
    tmp_path(pout, sizeof pout, "fmnist_P.onnx");
    tmp_path(pck, sizeof pck, "fmnist_P.ckpt");
    c.out = pout;
    c.checkpoint = pck;
    jt_dn_result res;
    t1 = now_s();
    if (jt_dn_train(ctx, &c, T, NULL, &tr, &te, &res) != JT_OK) goto fail;
    t_jatp = now_s() - t1;
    /* 3. F = T∘P with the exported P */
    t1 = now_s();
    if (jt_onnx_load(ctx, pout, NULL, &P) != JT_OK || jt_graph_oracle_create(ctx, T, P, 1, 28, 28, &oc, &oF) != JT_OK ||
        accuracies(ctx, oF, xt, yt, &nat_F, &pgd_F))
        goto fail;
    t_eval += now_s() - t1;
    jt_test_note("target (AT PGD-3, %d x %d images, %.0f s): natural %.1f%% (%d images), PGD-10 %.1f%% (%d images)",
                 FM_T_STEPS, FM_T_BATCH, t_target, nat_T, FM_NAT, pgd_T, FM_PGD);
    jt_test_note("JATP (%lld steps incl. %d warm-up, %.0f s): F natural %.1f%%, PGD-10 through P %.1f%%; evaluation %.0f s",
                 (long long)res.steps, c.warmup, t_jatp, nat_F, pgd_F, t_eval);
    if (!(nat_F == res.nat_acc_F)) {
        jt_test_fmt(why, sizeof why, "the exported P gives %.2f%% natural accuracy, the trainer measured %.2f%%", nat_F,
                    res.nat_acc_F);
        goto done;
    }
    if (!(nat_F >= nat_T - 3.0) || !(pgd_F >= pgd_T - 5.0)) {
        jt_test_fmt(why, sizeof why,
                    "F = T∘P natural %.1f%% (T %.1f%%, allowed -3), PGD-10 %.1f%% (T %.1f%%, allowed -5)", nat_F, nat_T,
                    pgd_F, pgd_T);
        goto done;
    }
    ok = 1;
    goto done;
fail:
    jt_test_fmt(why, sizeof why, "%s", jt_ctx_error(ctx));
done:
    if (ok) jt_test_ok(name);
    else jt_test_fail(name, "%s", why);
    jt_test_note("fmnist test total %.0f s", now_s() - t0);
    jt_oracle_free(oT);
    jt_oracle_free(oF);
    jt_graph_free(P);
    jt_target_trainer_free(tt);
    jt_dataset_free(&tr);
    jt_dataset_free(&te);
    free(xt);
    jt_ctx_free(ctx);
}


int main(void) {
    jt_test_fmt(g_dir, sizeof g_dir, "/tmp/jatp-train-denoiser-fm-XXXXXX");
    if (!mkdtemp(g_dir)) {
        jt_test_fail("train_denoiser/fmnist/tmpdir", "cannot create %s", g_dir);
        return jt_test_finish();
    }
    test_fmnist();
    char p[256];
    tmp_path(p, sizeof p, "fmnist_P.onnx");
    remove(p);
    tmp_path(p, sizeof p, "fmnist_P.ckpt");
    remove(p);
    remove(g_dir);
    return jt_test_finish();
}
