/* jatp train denoiser on CPU and CUDA (issue: "same results on CPU and CUDA up to float tolerance;
 * --device"). Skipped without a CUDA build or device (FAIL under JATP_REQUIRE_CUDA=1); needs no dataset.
 *
 * Each method trains a few steps on the same synthetic batch (16 images, no augmentation) in front of the
 * same random ResNet-10-FM-w8, once with the CPU backend and once with the device:
 *   jatp (1 warm-up iteration, feature-space PGD K=2), hgd (RRDB-S, full PGD-2), apeg (oblivious PGD-2),
 *   nrp (oblivious SSP-2). Checks: the per-step main loss within 5e-3 relative and P's exported
 *   parameters within 5e-3 (relative L2 over all of them). The training examples come from sign steps,
 *   so an element whose gradient is ~0 may step differently on the two backends; the tolerances allow
 *   for that (the target trainer's parity test measured 2e-3 for its PGD recipes).
 * On the device, a run stopped after 2 steps and resumed ends within 1e-4 of the uninterrupted one (the
 * checkpoint reaches the device plans). */
#include "jatp/train_denoiser.h"
#include "jt_cuda_test.h"
#include "td_common.h"

typedef struct tcase {
    const char *label;
    jt_dn_method m;
    const char *denoiser;
    jt_dn_examples ex;
    const char *key;
} tcase;

static const tcase cases[] = {
    {"jatp", JT_DN_JATP, "rrdb-s", JT_DN_EX_FULL, "loss"},
    {"hgd", JT_DN_HGD, "rrdb-s", JT_DN_EX_FULL, "loss"},
    {"apeg", JT_DN_APEG, NULL, JT_DN_EX_OBLIVIOUS, "loss_g"},
    {"nrp", JT_DN_NRP, NULL, JT_DN_EX_OBLIVIOUS, "loss_p"},
};

static void cfg_for(const tcase *tc, jt_dn_config *c, const char *tag, jt_backend *be, char paths[3][256]) {
    jt_dn_config_default(c);
    c->method = tc->m;
    c->denoiser = tc->denoiser;
    c->examples = tc->ex;
    c->subset = 16;
    c->batch = 16;
    c->epochs = 4;
    c->augment = 0;
    c->attack_steps = 2;
    c->warmup = tc->m == JT_DN_JATP ? 1 : 0;
    c->quiet = 1;
    c->seed = 4;
    c->backend = be;
    char nm[128];
    jt_test_fmt(nm, sizeof nm, "%s_%s.onnx", tc->label, tag);
    tmp_path(paths[0], 256, nm);
    jt_test_fmt(nm, sizeof nm, "%s_%s.ckpt", tc->label, tag);
    tmp_path(paths[1], 256, nm);
    jt_test_fmt(nm, sizeof nm, "%s_%s.jsonl", tc->label, tag);
    tmp_path(paths[2], 256, nm);
    c->out = paths[0];
    c->checkpoint = paths[1];
    c->log_path = paths[2];
}

/* relative L2 distance between the float parameters of two ONNX files with the same names */
static int param_distance(jt_ctx *ctx, const char *a, const char *b, double *rel, char *why, size_t cap) {
    jt_graph *ga = NULL, *gb = NULL;
    int ok = 0;
    if (jt_onnx_load(ctx, a, NULL, &ga) != JT_OK || jt_onnx_load(ctx, b, NULL, &gb) != JT_OK) {
        jt_test_fmt(why, cap, "%s", jt_ctx_error(ctx));
        goto done;
    }
    double num = 0, den = 0;
    int n = 0;
    for (int32_t v = 0; v < ga->n_values; v++) {
        const jt_value *x = &ga->values[v];
        if (!(x->flags & JT_VALUE_PARAM) || x->dtype != JT_F32 || !x->data) continue;
        int32_t w = jt_graph_find_value(gb, x->name);
        if (w < 0 || gb->values[w].dtype != JT_F32 || !jt_dims_equal(x->dims, x->rank, gb->values[w].dims, gb->values[w].rank)) {
            jt_test_fmt(why, cap, "parameter '%s' missing or different in %s", x->name, b);
            goto done;
        }
        jt_tensor t = {.dtype = JT_F32, .rank = x->rank};
        memcpy(t.dims, x->dims, sizeof t.dims);
        for (int64_t i = 0; i < jt_tensor_numel(&t); i++) {
            double p = ((const float *)x->data)[i], q = ((const float *)gb->values[w].data)[i];
            num += (p - q) * (p - q);
            den += p * p;
        }
        n++;
    }
    *rel = sqrt(num / (den > 0 ? den : 1));
    ok = n > 0;
    if (!ok) jt_test_fmt(why, cap, "no parameters in %s", a);
done:
    jt_graph_free(ga);
    jt_graph_free(gb);
    return ok;
}

static void parity(jt_ctx *ctx, jt_backend *be, const jt_graph *T, const jt_dataset *ds, const tcase *tc) {
    char name[128], why[1024] = "", pc[3][256], pg[3][256];
    jt_test_fmt(name, sizeof name, "train_denoiser_cuda/parity/%s", tc->label);
    jt_dn_config c, g;
    cfg_for(tc, &c, "cpu", NULL, pc);
    cfg_for(tc, &g, "cuda", be, pg);
    jt_dn_result rc, rg;
    if (jt_dn_train(ctx, &c, T, NULL, ds, NULL, &rc) != JT_OK) {
        jt_test_fail(name, "cpu: %s", jt_ctx_error(ctx));
        return;
    }
    if (jt_dn_train(ctx, &g, T, NULL, ds, NULL, &rg) != JT_OK) {
        jt_test_fail(name, "cuda: %s", jt_ctx_error(ctx));
        return;
    }
    double lc[64], lg[64], worst = 0, rel = 0;
    int nc = log_values(c.log_path, tc->key, lc, 64), ng = log_values(g.log_path, tc->key, lg, 64);
    if (nc != ng || nc < 2) {
        jt_test_fail(name, "%d CPU and %d CUDA '%s' values", nc, ng, tc->key);
        return;
    }
    for (int i = 0; i < nc; i++) {
        double e = fabs(lc[i] - lg[i]) / fmax(fabs(lc[i]), 1e-12);
        if (e > worst) worst = e;
        if (!(e <= 5e-3)) {
            jt_test_fail(name, "step %d: %s %.9g on the CPU, %.9g on the device (relative %.2e > 5e-3)", i + 1, tc->key,
                         lc[i], lg[i], e);
            return;
        }
    }
    if (!param_distance(ctx, c.out, g.out, &rel, why, sizeof why)) {
        jt_test_fail(name, "%s", why);
        return;
    }
    if (!(rel <= 5e-3)) {
        jt_test_fail(name, "P's parameters differ by %.2e (relative L2) between CPU and device", rel);
        return;
    }
    jt_test_ok(name);
    jt_test_note("%s: %d steps, worst loss difference %.2e, parameters %.2e", tc->label, nc, worst, rel);
}

static void device_resume(jt_ctx *ctx, jt_backend *be, const jt_graph *T, const jt_dataset *ds, const tcase *tc) {
    char name[128], why[1024] = "", pa[3][256], pb[3][256];
    jt_test_fmt(name, sizeof name, "train_denoiser_cuda/resume/%s", tc->label);
    jt_dn_config a, b;
    cfg_for(tc, &a, "cuda", be, pa); /* the parity run's device output */
    cfg_for(tc, &b, "cuda_resumed", be, pb);
    b.max_steps = 2;
    jt_dn_result r;
    if (jt_dn_train(ctx, &b, T, NULL, ds, NULL, &r) != JT_OK || !r.interrupted) {
        jt_test_fail(name, "first part: %s", jt_ctx_error(ctx));
        return;
    }
    b.max_steps = 0;
    b.resume = 1;
    double rel = 0;
    if (jt_dn_train(ctx, &b, T, NULL, ds, NULL, &r) != JT_OK || !r.finished) {
        jt_test_fail(name, "resumed part: %s", jt_ctx_error(ctx));
        return;
    }
    if (!param_distance(ctx, a.out, b.out, &rel, why, sizeof why)) jt_test_fail(name, "%s", why);
    else if (!(rel <= 1e-4)) jt_test_fail(name, "resumed run differs by %.2e (relative L2) from the plain one", rel);
    else {
        jt_test_ok(name);
        jt_test_note("%s: resumed vs plain on the device: %.2e", tc->label, rel);
    }
}

int main(void) {
    jt_ctx *ctx;
    jt_ctx_create(0, &ctx);
    char reason[512];
    jt_backend *be = jt_cuda_test_open(ctx, reason, sizeof reason);
    if (!be) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char name[128];
            jt_test_fmt(name, sizeof name, "train_denoiser_cuda/parity/%s", cases[i].label);
            jt_cuda_test_unavailable(name, reason);
        }
        jt_cuda_test_unavailable("train_denoiser_cuda/resume/jatp", reason);
        jt_ctx_free(ctx);
        return jt_test_finish();
    }
    jt_test_fmt(g_dir, sizeof g_dir, "/tmp/jatp-train-denoiser-cuda-XXXXXX");
    jt_dataset ds;
    synth(&ds, 16);
    jt_graph *T = random_target(ctx);
    if (!mkdtemp(g_dir) || !T) {
        jt_test_fail("train_denoiser_cuda/setup", "%s", T ? "cannot create a temporary folder" : jt_ctx_error(ctx));
    } else {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) parity(ctx, be, T, &ds, &cases[i]);
        device_resume(ctx, be, T, &ds, &cases[0]);
        static const char *const tags[] = {"cpu", "cuda", "cuda_resumed"}, *const ext[] = {".onnx", ".ckpt", ".jsonl"};
        char p[512];
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            for (int t = 0; t < 3; t++)
                for (int e = 0; e < 3; e++) {
                    jt_test_fmt(p, sizeof p, "%s/%s_%s%s", g_dir, cases[i].label, tags[t], ext[e]);
                    remove(p);
                }
        remove(g_dir);
    }
    jt_graph_free(T);
    jt_dataset_free(&ds);
    jt_backend_free(be);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
