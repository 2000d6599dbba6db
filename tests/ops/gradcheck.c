/* Gradient-check engine; see gradcheck.h. The case tables live in cases_<family>.c. */
#include "gradcheck.h"
#include "gc_build.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/autodiff.h"
#include "jatp/builder.h"
#include "jatp/jatp.h"
#include "jt_test.h"

#define FD_MAX_ELEMS 4096
#define FD_DIRECTIONS 16
#define FD_EPS 1e-6

extern const gc_family gc_families[];
extern const int gc_n_families;

static double objective(const jt_plan *p, int n_out, double *const *cot) {
    double s = 0;
    for (int j = 0; j < n_out; j++) {
        const jt_tensor *y = jt_plan_output(p, j);
        int64_t n = jt_tensor_numel(y);
        for (int64_t e = 0; e < n; e++) s += cot[j][e] * ((const double *)y->data)[e];
    }
    return s;
}

static void run_case(const char *family, const gc_case *c) {
    char name[256];
    snprintf(name, sizeof name, "grad/%s/%s/%s", family, c->op, c->label);
    if (c->skip) {
        jt_test_skip(name, "%s", c->skip);
        return;
    }
    gc_spec sp[GC_MAX_IN];
    double *data[GC_MAX_IN] = {0}, *cot[8] = {0};
    const char *bad = NULL;
    int n_in = gc_parse_case(c, sp, &bad);
    if (n_in < 0) {
        jt_test_fail(name, "bad shape spec '%s'", bad);
        return;
    }
    gc_draw_inputs(c, sp, n_in, data);
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    gc_built fw = {0}, bw = {0}, bw32 = {0};
    jt_plan *p = NULL, *p32 = NULL;
    jt_tensor xs[GC_MAX_IN] = {{0}}, xs32[GC_MAX_IN] = {{0}};
    gc_spec ysp[8];
    int n_out = c->n_out ? c->n_out : 1;
    double tol = c->tol > 0 ? c->tol : 1e-6, tol32 = c->f32_tol > 0 ? c->f32_tol : 1e-5;
    /* 1. forward once to learn output shapes */
    if (gc_build(ctx, c, sp, n_in, data, JT_F64, NULL, NULL, &fw) != JT_OK) goto fail;
    gc_make_inputs(&fw, sp, data, JT_F64, xs);
    if (jt_plan_create(ctx, fw.g, xs, fw.n_x, NULL, &p) != JT_OK) goto fail;
    for (int j = 0; j < n_out; j++) {
        const jt_tensor *y = jt_plan_output(p, j);
        ysp[j].present = 1;
        ysp[j].rank = y->rank;
        memcpy(ysp[j].dims, y->dims, sizeof(int64_t) * (size_t)y->rank);
        int64_t n = jt_tensor_numel(y);
        cot[j] = malloc(sizeof(double) * (size_t)(n + 1));
        for (int64_t e = 0; e < n; e++) cot[j][e] = 2 * gc_urand() - 1;
    }
    jt_plan_free(p);
    p = NULL;
    /* 2. forward + backward in float64 */
    if (gc_build(ctx, c, sp, n_in, data, JT_F64, cot, ysp, &bw) != JT_OK) goto fail;
    if (jt_plan_create(ctx, bw.g, xs, bw.n_x, NULL, &p) != JT_OK || jt_plan_run(p, xs, bw.n_x) != JT_OK) goto fail;
    char why[1024] = "";
    int ok = 1;
    double worst = 0;
    /* the analytic gradients at the unperturbed point, copied before any finite-difference run */
    double *gas[GC_MAX_IN] = {0};
    for (int k = 0; k < bw.n_x && ok; k++) {
        const jt_tensor *g = jt_plan_output(p, n_out + k);
        int64_t n = jt_tensor_numel(&xs[k]);
        if (g->dtype != JT_F64 || !jt_dims_equal(g->dims, g->rank, xs[k].dims, xs[k].rank)) {
            snprintf(why, sizeof why, "gradient of input %d has dtype %d rank %d, expected the input's", bw.x_of[k],
                     g->dtype, g->rank);
            ok = 0;
            break;
        }
        gas[k] = malloc(sizeof(double) * (size_t)(n + 1));
        memcpy(gas[k], g->data, sizeof(double) * (size_t)n);
    }
    for (int k = 0; k < bw.n_x && ok; k++) {
        int64_t n = jt_tensor_numel(&xs[k]);
        double *ga = gas[k];
        double *x = xs[k].data;
        int per_elem = n <= FD_MAX_ELEMS;
        int trials = per_elem ? (int)n : FD_DIRECTIONS;
        double *u = per_elem ? NULL : malloc(sizeof(double) * (size_t)n);
        for (int t = 0; t < trials && ok; t++) {
            double an, nu, fp, fm;
            if (per_elem) {
                double x0 = x[t];
                x[t] = x0 + FD_EPS;
                if (jt_plan_run(p, xs, bw.n_x) != JT_OK) { ok = -1; break; }
                fp = objective(p, n_out, cot);
                x[t] = x0 - FD_EPS;
                if (jt_plan_run(p, xs, bw.n_x) != JT_OK) { ok = -1; break; }
                fm = objective(p, n_out, cot);
                x[t] = x0;
                an = ga[t];
            } else {
                an = 0;
                for (int64_t e = 0; e < n; e++) {
                    u[e] = 2 * gc_urand() - 1;
                    an += u[e] * ga[e];
                }
                for (int64_t e = 0; e < n; e++) x[e] += FD_EPS * u[e];
                if (jt_plan_run(p, xs, bw.n_x) != JT_OK) { ok = -1; break; }
                fp = objective(p, n_out, cot);
                for (int64_t e = 0; e < n; e++) x[e] -= 2 * FD_EPS * u[e];
                if (jt_plan_run(p, xs, bw.n_x) != JT_OK) { ok = -1; break; }
                fm = objective(p, n_out, cot);
                for (int64_t e = 0; e < n; e++) x[e] += FD_EPS * u[e];
            }
            nu = (fp - fm) / (2 * FD_EPS);
            double err = fabs(an - nu), scale = fmax(1.0, fmax(fabs(an), fabs(nu)));
            if (err / scale > worst) worst = err / scale;
            if (!(err <= tol * scale)) {
                snprintf(why, sizeof why, "input %d %s %d: analytic %.12g, numeric %.12g, error %.3g (tol %.1g)",
                         bw.x_of[k], per_elem ? "element" : "direction", t, an, nu, err, tol);
                ok = 0;
            }
        }
        free(u);
    }
    for (int k = 0; k < GC_MAX_IN; k++) free(gas[k]);
    if (ok < 0) goto fail;
    if (!ok) {
        jt_test_fail(name, "%s", why);
        goto done;
    }
    /* 3. float32 fast path vs the float64 reference */
    if (jt_plan_run(p, xs, bw.n_x) != JT_OK) goto fail;
    if (gc_build(ctx, c, sp, n_in, data, JT_F32, cot, ysp, &bw32) != JT_OK) goto fail;
    gc_make_inputs(&bw32, sp, data, JT_F32, xs32);
    if (jt_plan_create(ctx, bw32.g, xs32, bw32.n_x, NULL, &p32) != JT_OK || jt_plan_run(p32, xs32, bw32.n_x) != JT_OK)
        goto fail;
    for (int j = 0; j < n_out + bw.n_x; j++) {
        double rel = 0;
        char w2[512];
        if (!jt_test_compare_relnorm(jt_plan_output(p32, j), jt_plan_output(p, j), tol32, JT_CMP_REF_F64_OK, &rel, w2,
                                     sizeof w2)) {
            jt_test_fail(name, "float32 %s %d vs float64: %s", j < n_out ? "output" : "gradient",
                         j < n_out ? j : j - n_out, w2);
            goto done;
        }
    }
    jt_test_ok(name);
    jt_test_note("worst finite-difference error %.3g", worst);
    goto done;
fail:
    jt_test_fail(name, "%s", jt_ctx_error(ctx));
done:
    for (int k = 0; k < GC_MAX_IN; k++) {
        free(xs[k].data);
        free(xs32[k].data);
    }
    for (int i = 0; i < n_in; i++) free(data[i]);
    for (int j = 0; j < 8; j++) free(cot[j]);
    jt_plan_free(p);
    jt_plan_free(p32);
    jt_graph_free(fw.g);
    jt_graph_free(bw.g);
    jt_graph_free(bw32.g);
    jt_ctx_free(ctx);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    for (int f = 0; f < gc_n_families; f++)
        for (int i = 0; i < *gc_families[f].n; i++) {
            const gc_case *c = &gc_families[f].cases[i];
            if (!c->op) continue;
            char name[256];
            snprintf(name, sizeof name, "%s/%s/%s", gc_families[f].name, c->op, c->label);
            if (filter && !strstr(name, filter)) continue;
            run_case(gc_families[f].name, c);
        }
    return jt_test_finish();
}
