/* (d) Checkpoints, resume and failures of jt_train_target on a Fashion-MNIST subset (TRADES, the
 * recipe with the most moving parts: two shared-parameter passes, the KL inner maximisation):
 *   - 16 steps uninterrupted vs. stopped after step 5 (mid-epoch), resumed and stopped after step 11
 *     (across the epoch boundary at 8), resumed to the end: the final checkpoint and the exported ONNX
 *     are byte-for-byte identical, and the JSON-lines log holds the 16 steps once;
 *   - resuming with another setting is refused naming it;
 *   - lr = 1e30 makes the loss or the parameters non-finite: the run stops with an error naming the
 *     step, writes no ONNX, and the last checkpoint (written every step) is a loadable earlier one.
 * (e) The exported ONNX loads (jt_onnx_load) and gives the eval-mode graph's logits (the trainer
 *     reloaded from the final checkpoint) on 64 test images. */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jatp/train_target.h"
#include "tt_common.h"

static jt_ctx *ctx;
static char dir[64];

static void base_config(jt_target_train_config *c, const char *tag, char *out, char *ckpt, char *log) {
    jt_target_train_config_default(c);
    c->recipe = JT_RECIPE_TRADES;
    c->dataset = "fmnist";
    c->model = "resnet10-fm-w8";
    c->subset = 512;
    c->batch = 64;
    c->epochs = 2;
    c->eval_clean = 0;
    c->eval_points = 0;
    c->seed = 7;
    c->quiet = 1;
    c->checkpoint_every = 3;
    jt_test_fmt(out, 256, "%s/%s.onnx", dir, tag);
    jt_test_fmt(ckpt, 256, "%s/%s.ckpt", dir, tag);
    jt_test_fmt(log, 256, "%s/%s.jsonl", dir, tag);
    c->out = out;
    c->checkpoint = ckpt;
    c->log_jsonl = log;
}

static int same_file(const char *a, const char *b, char *why, size_t cap) {
    void *da = NULL, *db = NULL;
    size_t na = 0, nb = 0;
    int ok = 0;
    if (jt_read_file(ctx, a, (size_t)1 << 30, &da, &na) != JT_OK || jt_read_file(ctx, b, (size_t)1 << 30, &db, &nb) != JT_OK)
        jt_test_fmt(why, cap, "%s", jt_ctx_error(ctx));
    else if (na != nb) jt_test_fmt(why, cap, "%s has %zu bytes, %s %zu", a, na, b, nb);
    else if (memcmp(da, db, na) != 0) {
        size_t i = 0;
        while (((unsigned char *)da)[i] == ((unsigned char *)db)[i]) i++;
        jt_test_fmt(why, cap, "%s and %s differ from byte %zu of %zu", a, b, i, na);
    } else ok = 1;
    free(da);
    free(db);
    return ok;
}

static int count_step_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f)) n += strncmp(line, "{\"epoch\":", 9) == 0 && strstr(line, "\"loss\":") != NULL;
    fclose(f);
    return n;
}

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void test_resume(char *out_a, char *ckpt_a) {
    const char *name = "target/resume_bitwise";
    char out_b[256], ckpt_b[256], log_a[256], log_b[256];
    jt_target_train_config a, b;
    jt_target_train_result ra, rb;
    base_config(&a, "a", out_a, ckpt_a, log_a);
    base_config(&b, "b", out_b, ckpt_b, log_b);
    double t0 = tt_now();
    if (jt_train_target(ctx, &a, &ra) != JT_OK) {
        jt_test_fail(name, "uninterrupted run: %s", jt_ctx_error(ctx));
        return;
    }
    double t_full = tt_now() - t0;
    static const int64_t stops[3] = {5, 11, 0};
    for (int k = 0; k < 3; k++) {
        b.max_steps = stops[k];
        b.resume = k > 0;
        if (jt_train_target(ctx, &b, &rb) != JT_OK) {
            jt_test_fail(name, "part %d: %s", k + 1, jt_ctx_error(ctx));
            return;
        }
        int64_t want = stops[k] ? stops[k] : 16;
        if (rb.steps != want || rb.interrupted != (stops[k] != 0)) {
            jt_test_fail(name, "part %d ended at step %lld (interrupted %d), expected %lld", k + 1, (long long)rb.steps,
                         rb.interrupted, (long long)want);
            return;
        }
        if (k == 0 && exists(out_b)) {
            jt_test_fail(name, "an interrupted run wrote the ONNX output %s", out_b);
            return;
        }
    }
    char why[512];
    int nl = count_step_lines(log_b);
    if (ra.steps != 16) jt_test_fail(name, "the uninterrupted run did %lld steps, expected 16", (long long)ra.steps);
    else if (!same_file(ckpt_a, ckpt_b, why, sizeof why) || !same_file(out_a, out_b, why, sizeof why))
        jt_test_fail(name, "interrupted at steps 5 and 11 and resumed: %s", why);
    else if (nl != 16) jt_test_fail(name, "the resumed run's log %s holds %d step lines, expected 16", log_b, nl);
    else {
        jt_test_ok(name);
        jt_test_note("16 TRADES steps (batch 64) in %.1fs; resumed twice, checkpoint and ONNX identical", t_full);
    }

    /* another setting on resume */
    name = "target/resume_config_mismatch";
    b.max_steps = 0;
    b.resume = 1;
    b.lr = 0.1;
    jt_status st = jt_train_target(ctx, &b, &rb);
    if (st == JT_OK) jt_test_fail(name, "resumed with lr 0.1 over a checkpoint of lr 0.05");
    else if (!strstr(jt_ctx_error(ctx), "lr") || !strstr(jt_ctx_error(ctx), ckpt_b))
        jt_test_fail(name, "message does not name the setting and the file: %s", jt_ctx_error(ctx));
    else {
        jt_test_ok(name);
        jt_test_note("%s", jt_ctx_error(ctx));
    }
}

static void test_nan(void) {
    const char *name = "target/nan_stops";
    char out[256], ckpt[256], log[256];
    jt_target_train_config c;
    base_config(&c, "nan", out, ckpt, log);
    c.recipe = JT_RECIPE_NATURAL;
    c.lr = 1e30;
    c.checkpoint_every = 1;
    jt_target_train_result r;
    jt_status st = jt_train_target(ctx, &c, &r);
    const char *e = jt_ctx_error(ctx);
    char msg[1024];
    jt_test_fmt(msg, sizeof msg, "%s", e);
    jt_target_trainer *t = NULL;
    jt_train_meta meta;
    memset(&meta, 0, sizeof meta);
    if (st != JT_ERR_NUMERIC) {
        jt_test_fail(name, "status %s (expected a numeric error): %s", jt_status_str(st), msg);
        return;
    }
    if (!strstr(msg, "step") || !strstr(msg, "last good checkpoint")) {
        jt_test_fail(name, "the message names neither the step nor the checkpoint: %s", msg);
        return;
    }
    if (exists(out)) {
        jt_test_fail(name, "an ONNX file was written after the failure");
        return;
    }
    /* the checkpoint left behind loads and holds finite values from before the failure */
    jt_target_spec sp;
    jt_target_spec_default(&sp);
    sp.recipe = JT_RECIPE_NATURAL;
    sp.batch = 64;
    sp.c = 1, sp.h = 28, sp.w = 28;
    sp.model_name = "resnet10-fm-w8";
    if (jt_model_config_preset(ctx, "resnet10-fm-w8", &sp.model_cfg) != JT_OK ||
        jt_target_trainer_create(ctx, &sp, &t) != JT_OK || jt_target_trainer_load(t, ckpt, &meta) != JT_OK) {
        jt_test_fail(name, "the last checkpoint does not load: %s", jt_ctx_error(ctx));
    } else if (meta.step < 1 || meta.step > r.steps) {
        jt_test_fail(name, "the checkpoint is at step %lld, the run failed after %lld good steps", (long long)meta.step,
                     (long long)r.steps);
    } else {
        jt_test_ok(name);
        printf("    lr 1e30: %s (checkpoint at step %lld loads)\n", msg, (long long)meta.step);
    }
    jt_train_meta_free(&meta);
    jt_target_trainer_free(t);
}

static void test_export(const char *onnx, const char *ckpt) {
    const char *name = "target/export_onnx_logits";
    enum { N = 64 };
    jt_graph *g = NULL;
    jt_plan *pe = NULL, *po = NULL;
    jt_target_trainer *t = NULL;
    jt_dataset te;
    memset(&te, 0, sizeof te);
    float *x = malloc(sizeof(float) * N * 784), *z1 = malloc(sizeof(float) * N * 10), *z2 = malloc(sizeof(float) * N * 10);
    int64_t y[N], idx[N];
    for (int i = 0; i < N; i++) idx[i] = i;
    jt_target_spec sp;
    jt_target_spec_default(&sp);
    sp.recipe = JT_RECIPE_TRADES;
    sp.batch = 64;
    sp.c = 1, sp.h = 28, sp.w = 28;
    sp.model_name = "resnet10-fm-w8";
    if (jt_dataset_open(ctx, "fmnist", NULL, 0, &te) != JT_OK) goto fail;
    jt_dataset_batch(&te, idx, N, x, y);
    if (jt_model_config_preset(ctx, "resnet10-fm-w8", &sp.model_cfg) != JT_OK || jt_target_trainer_create(ctx, &sp, &t) != JT_OK ||
        jt_target_trainer_load(t, ckpt, NULL) != JT_OK || jt_target_trainer_sync(t) != JT_OK)
        goto fail;
    jt_tensor in = {.dtype = JT_F32, .rank = 4, .dims = {N, 1, 28, 28}, .data = x};
    jt_plan_options opt;
    jt_plan_options_default(&opt);
    opt.fold_params = 0;
    if (jt_plan_create(ctx, jt_target_trainer_eval_graph(t), &in, 1, &opt, &pe) != JT_OK || jt_plan_run(pe, &in, 1) != JT_OK ||
        jt_plan_output_download(pe, 0, z1) != JT_OK)
        goto fail;
    if (jt_onnx_load(ctx, onnx, NULL, &g) != JT_OK) goto fail;
    if (g->n_inputs != 1 || strcmp(g->values[g->inputs[0]].name, "input") != 0 || g->n_outputs != 1 ||
        strcmp(g->values[g->outputs[0]].name, "output") != 0) {
        jt_test_fail(name, "%s: expected one input 'input' and one output 'output'", onnx);
        goto done;
    }
    if (jt_plan_create(ctx, g, &in, 1, NULL, &po) != JT_OK || jt_plan_run(po, &in, 1) != JT_OK ||
        jt_plan_output_download(po, 0, z2) != JT_OK)
        goto fail;
    double worst = 0;
    int agree = 0;
    for (int i = 0; i < N; i++) {
        int a1 = 0, a2 = 0;
        for (int k = 0; k < 10; k++) {
            worst = fmax(worst, fabs(z1[i * 10 + k] - z2[i * 10 + k]) / (1 + fabs(z1[i * 10 + k])));
            if (z1[i * 10 + k] > z1[i * 10 + a1]) a1 = k;
            if (z2[i * 10 + k] > z2[i * 10 + a2]) a2 = k;
        }
        agree += a1 == a2;
    }
    if (!(worst <= 1e-4) || agree != N)
        jt_test_fail(name, "ONNX vs eval graph: max relative logit difference %.3g, %d/%d predictions agree", worst, agree, N);
    else {
        jt_test_ok(name);
        jt_test_note("max relative logit difference %.3g on %d test images", worst, N);
    }
    goto done;
fail:
    jt_test_fail(name, "%s", jt_ctx_error(ctx));
done:
    jt_plan_free(pe);
    jt_plan_free(po);
    jt_graph_free(g);
    jt_target_trainer_free(t);
    jt_dataset_free(&te);
    free(x);
    free(z1);
    free(z2);
}

static void cleanup(void) {
    static const char *const tags[] = {"a", "b", "nan"}, *const ext[] = {"onnx", "ckpt", "jsonl"};
    char p[256];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            jt_test_fmt(p, sizeof p, "%s/%s.%s", dir, tags[i], ext[j]);
            unlink(p);
        }
    rmdir(dir);
}

int main(void) {
    const char *names[] = {"target/resume_bitwise", "target/resume_config_mismatch", "target/nan_stops",
                           "target/export_onnx_logits"};
    if (!tt_have_fmnist(names[0])) {
        for (int i = 1; i < 4; i++) tt_have_fmnist(names[i]);
        return jt_test_finish();
    }
    if (jt_ctx_create(2, &ctx) != JT_OK) return 1;
    snprintf(dir, sizeof dir, "/tmp/jatp_target_XXXXXX");
    if (!mkdtemp(dir)) {
        jt_test_fail("target/setup", "mkdtemp failed");
        return jt_test_finish();
    }
    char out_a[256], ckpt_a[256];
    test_resume(out_a, ckpt_a);
    test_nan();
    if (exists(out_a)) test_export(out_a, ckpt_a);
    else jt_test_fail("target/export_onnx_logits", "no exported model (the training run failed)");
    cleanup();
    jt_ctx_free(ctx);
    return jt_test_finish();
}
