/* Input gradients of the PyTorch-exported fixtures: for each tests/fixtures/models/<name>/ with
 * cot_b<B>.npy, jatp's VJP of sum(output * cot) w.r.t. the input (float32, through
 * jt_build_backward) must equal torch's float64 autograd result (xgrad_b<B>.npy) within 1e-5
 * relative L2 error. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/autodiff.h"
#include "jatp/builder.h"
#include "jatp/jatp.h"
#include "jt_test.h"
#include "kink.h"

#define FIX JT_FIXTURES_DIR "/models"

static void widen(jt_tensor *t) {
    int64_t n = jt_tensor_numel(t);
    double *d = malloc(sizeof(double) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) d[i] = ((float *)t->data)[i];
    free(t->data);
    t->data = d;
    t->dtype = JT_F64;
}

/* f64: the whole graph widened with jt_graph_to_f64 and compared at 1e-6: float64 against float64, but
 * the file holds float32 data — ONNX float attributes (BN epsilon, LeakyReLU slope) and, in the
 * folded export, weights that the exporter folded with BN in float32 — which torch's float64
 * reference does not round, so agreement stops between 1e-8 and 1e-7. */
static void check(jt_ctx *ctx, const char *dir, const char *name, int batch, int f64) {
    char path[1024], tname[256];
    snprintf(tname, sizeof tname, "grad/%s/b%d/%s", name, batch, f64 ? "f64" : "f32");
    jt_graph *g = NULL;
    jt_plan *p = NULL;
    jt_tensor x = {0}, cot = {0}, ref = {0};
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (jt_onnx_load(ctx, path, NULL, &g) != JT_OK) goto fail;
    snprintf(path, sizeof path, "%s/input_b%d.npy", dir, batch);
    if (jt_npy_read(ctx, path, &x) != JT_OK) goto fail;
    snprintf(path, sizeof path, "%s/cot_b%d.npy", dir, batch);
    if (jt_npy_read(ctx, path, &cot) != JT_OK) goto fail;
    snprintf(path, sizeof path, "%s/xgrad_b%d.npy", dir, batch);
    if (jt_npy_read(ctx, path, &ref) != JT_OK) goto fail;
    if (f64) {
        if (jt_graph_to_f64(ctx, g) != JT_OK) goto fail;
        widen(&x);
        widen(&cot);
    }
    jt_gb b;
    jt_gb_init(&b, ctx, g, g->opset_onnx);
    int32_t seed = jt_gb_const(&b, "cot", cot.dtype, cot.rank, cot.dims, cot.data);
    int32_t loss = g->outputs[0], wrt = g->inputs[0], grad = -1;
    if (jt_gb_status(&b) != JT_OK || jt_build_backward(ctx, g, &loss, &seed, 1, &wrt, 1, &grad) != JT_OK) goto fail;
    jt_gb_output(&b, grad);
    if (jt_gb_status(&b) != JT_OK || jt_plan_create(ctx, g, &x, 1, NULL, &p) != JT_OK || jt_plan_run(p, &x, 1) != JT_OK)
        goto fail;
    double rel = 0;
    char why[512];
    char kink[512];
    if (!jt_test_compare_relnorm(jt_plan_output(p, g->n_outputs - 1), &ref, f64 ? 1e-6 : 1e-5, JT_CMP_REF_F64_OK, &rel,
                                 why, sizeof why)) {
        /* float32 rounding that moves a ReLU input across 0 changes the gradient legitimately */
        if (!f64 && jt_test_kink_flip(ctx, dir, &x, kink, sizeof kink))
            jt_test_skip(tname, "%s; float32 and float64 take different linear pieces (%s); the float64 case "
                         "checks this fixture", kink, why);
        else
            jt_test_fail(tname, "%s", why);
    }
    else {
        jt_test_ok(tname);
        jt_test_note("rel L2 error vs torch float64: %.3g", rel);
    }
    goto done;
fail:
    jt_test_fail(tname, "%s", jt_ctx_error(ctx));
done:
    jt_plan_free(p);
    jt_graph_free(g);
    free(x.data);
    free(cot.data);
    free(ref.data);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    jt_ctx *ctx;
    jt_ctx_create(2, &ctx);
    DIR *d = opendir(FIX);
    if (!d) {
        jt_test_fail("grad/fixtures", "cannot open %s", FIX);
        return jt_test_finish();
    }
    char *names[256];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 256;)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n; i++) {
        char dir[1024], cp[1100];
        snprintf(dir, sizeof dir, "%s/%s", FIX, names[i]);
        for (int batch = 2; batch <= 3; batch++) {
            snprintf(cp, sizeof cp, "%s/cot_b%d.npy", dir, batch);
            FILE *f = fopen(cp, "rb");
            if (!f) continue;
            fclose(f);
            check(ctx, dir, names[i], batch, 0);
            check(ctx, dir, names[i], batch, 1);
        }
        free(names[i]);
    }
    jt_ctx_free(ctx);
    return jt_test_finish();
}
