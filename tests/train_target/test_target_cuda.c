/* CPU vs CUDA parity of the target trainer (issue: "same results on the CPU and CUDA backends up to
 * float tolerance"): ResNet-10-FM-w8 from the same initial weights, 3 steps of natural training and
 * 3 steps of TRADES (PGD-10 eps 0.1 inside) on the same synthetic batches, on both backends:
 *   - natural: per-step losses within 1e-4 relative, the parameters after 3 steps within 1e-4
 *     (relative L2 over all of them);
 *   - TRADES: losses within 2e-3, parameters within 2e-3 (sign steps may flip on a few pixels whose
 *     gradient is ~0 and differs in rounding);
 *   - on the device: checkpoint after step 1, step 2, reload the checkpoint, steps 2 and 3 again
 *     equals the plain 3 steps within 1e-5 (the reload reaches the device plans).
 * Skipped without a CUDA build or device (FAIL under JATP_REQUIRE_CUDA=1). Needs no dataset. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jatp/jatp.h"
#include "jatp/train_target.h"
#include "jt_cuda_test.h"
#include "jt_test.h"

enum { B = 32, STEPS = 3, D = 784 };

static jt_ctx *ctx;
static float xs[STEPS][B * D];
static int64_t ys[STEPS][B], idx[STEPS][B];

static void make_data(void) {
    uint64_t s = 99;
    for (int k = 0; k < STEPS; k++)
        for (int i = 0; i < B; i++) {
            int64_t y = (i * 7 + k) % 10;
            ys[k][i] = y;
            idx[k][i] = k * B + i;
            for (int j = 0; j < D; j++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                double u = (double)(s >> 11) / 9007199254740992.0;
                /* a class-dependent bright band plus noise: learnable, so gradients are informative */
                int row = j / 28;
                xs[k][i * D + j] = (float)(0.6 * (row / 3 == y) + 0.4 * u);
            }
        }
}

static jt_status run(jt_recipe r, jt_backend *be, const char *save_after_1, double *losses, jt_graph **snapshot,
                     jt_target_trainer **out) {
    jt_target_spec sp;
    jt_target_spec_default(&sp);
    sp.recipe = r;
    sp.batch = B;
    sp.c = 1, sp.h = 28, sp.w = 28;
    sp.model_name = "resnet10-fm-w8";
    JT_TRY(jt_model_config_preset(ctx, "resnet10-fm-w8", &sp.model_cfg));
    sp.model_cfg.seed = 3;
    sp.seed = 5;
    sp.backend = be;
    jt_target_trainer *t;
    JT_TRY(jt_target_trainer_create(ctx, &sp, &t));
    jt_status st = JT_OK;
    int reloaded = 0;
    for (int k = 0; k < STEPS && st == JT_OK; k++) {
        jt_target_step_out o;
        st = jt_target_trainer_step(t, xs[k], ys[k], idx[k], 0, 0.05, k + 1, &o);
        losses[k] = o.loss;
        if (st == JT_OK && k == 0 && save_after_1) {
            jt_train_meta m = {.step = 1};
            st = jt_target_trainer_save(t, save_after_1, &m);
        }
        if (st == JT_OK && k == 1 && save_after_1 && !reloaded) {
            /* back to the state after step 1 (the device plans must take the loaded values), redo step 2 */
            st = jt_target_trainer_load(t, save_after_1, NULL);
            reloaded = 1;
            k = 0;
        }
    }
    if (st == JT_OK) st = jt_target_trainer_sync(t);
    *snapshot = jt_target_trainer_eval_graph(t);
    *out = t;
    return st;
}

static double param_relnorm(const jt_graph *a, const jt_graph *b) {
    double num = 0, den = 0;
    for (int32_t v = 0; v < a->n_values; v++) {
        const jt_value *va = &a->values[v];
        if (!(va->flags & JT_VALUE_PARAM) || (va->flags & JT_VALUE_CONST) || va->dtype != JT_F32) continue;
        int32_t w = jt_graph_find_value(b, va->name);
        if (w < 0) return INFINITY;
        int64_t n = 1;
        for (int k = 0; k < va->rank; k++) n *= va->dims[k];
        const float *pa = va->data, *pb = b->values[w].data;
        for (int64_t i = 0; i < n; i++) {
            num += ((double)pa[i] - pb[i]) * ((double)pa[i] - pb[i]);
            den += (double)pa[i] * pa[i];
        }
    }
    return sqrt(num / (den > 0 ? den : 1));
}

static void parity(jt_backend *be, jt_recipe r, double tol) {
    char name[64];
    jt_test_fmt(name, sizeof name, "target/cuda_parity_%s", jt_recipe_name(r));
    double lc[STEPS], lg[STEPS];
    jt_graph *gc, *gg;
    jt_target_trainer *tc = NULL, *tg = NULL;
    if (run(r, NULL, NULL, lc, &gc, &tc) != JT_OK || run(r, be, NULL, lg, &gg, &tg) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
    } else {
        int bad = -1;
        for (int k = 0; k < STEPS; k++)
            if (!(fabs(lc[k] - lg[k]) <= tol * fabs(lc[k]))) bad = k;
        double rel = param_relnorm(gc, gg);
        if (bad >= 0) jt_test_fail(name, "step %d loss: cpu %.8g, cuda %.8g", bad + 1, lc[bad], lg[bad]);
        else if (!(rel <= tol)) jt_test_fail(name, "parameters after %d steps differ by %.3g (relative L2)", STEPS, rel);
        else {
            jt_test_ok(name);
            jt_test_note("losses cpu %.6f %.6f %.6f, cuda %.6f %.6f %.6f; parameters %.2g", lc[0], lc[1], lc[2], lg[0],
                         lg[1], lg[2], rel);
        }
    }
    jt_target_trainer_free(tc);
    jt_target_trainer_free(tg);
}

static void reload(jt_backend *be) {
    const char *name = "target/cuda_checkpoint_reload";
    char path[] = "/tmp/jatp_target_cuda_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    double la[STEPS], lb[STEPS];
    jt_graph *ga, *gb;
    jt_target_trainer *ta = NULL, *tb = NULL;
    if (run(JT_RECIPE_NATURAL, be, NULL, la, &ga, &ta) != JT_OK || run(JT_RECIPE_NATURAL, be, path, lb, &gb, &tb) != JT_OK)
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
    else if (fabs(la[1] - lb[1]) > 1e-5 * fabs(la[1]) || fabs(la[2] - lb[2]) > 1e-5 * fabs(la[2]) ||
             !(param_relnorm(ga, gb) <= 1e-5))
        jt_test_fail(name, "a checkpoint after step 1, step 2, reload, steps 2-3 again: losses %.8g %.8g, without the "
                           "detour %.8g %.8g; parameters differ by %.3g",
                     lb[1], lb[2], la[1], la[2], param_relnorm(ga, gb));
    else jt_test_ok(name);
    unlink(path);
    jt_target_trainer_free(ta);
    jt_target_trainer_free(tb);
}

int main(void) {
    if (jt_ctx_create(0, &ctx) != JT_OK) return 1;
    make_data();
    char reason[512];
    jt_backend *be = jt_cuda_test_open(ctx, reason, sizeof reason);
    if (!be) {
        jt_cuda_test_unavailable("target/cuda_parity_natural", reason);
        jt_cuda_test_unavailable("target/cuda_parity_trades", reason);
        jt_cuda_test_unavailable("target/cuda_checkpoint_reload", reason);
    } else {
        jt_backend_set_deterministic(be, 1);
        parity(be, JT_RECIPE_NATURAL, 1e-4);
        parity(be, JT_RECIPE_TRADES, 2e-3);
        reload(be);
        jt_backend_free(be);
    }
    jt_ctx_free(ctx);
    return jt_test_finish();
}
