/* Gradient-check engine; see gradcheck.h. The case tables live in cases_<family>.c. */
#include "gradcheck.h"

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

/* ---- small deterministic RNG ---- */
static uint64_t rng = 0x2545F4914F6CDD1DULL;
static double urand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

typedef struct spec {
    int present, rank;
    int64_t dims[JT_MAX_RANK];
    double lo, hi;
} spec;

static int parse_dims(const char *s, spec *sp) {
    sp->present = s[0] != 0;
    sp->rank = 0;
    if (!sp->present || strcmp(s, "scalar") == 0) return 0;
    const char *p = s;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || sp->rank == JT_MAX_RANK) return -1;
        sp->dims[sp->rank++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static int64_t numel(const spec *sp) {
    int64_t n = 1;
    for (int i = 0; i < sp->rank; i++) n *= sp->dims[i];
    return n;
}

static void apply_attrs(jt_gb *b, const char *attrs) {
    if (!attrs) return;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", attrs);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        const char *name = tok, *val = eq + 1;
        if (strncmp(val, "s:", 2) == 0) {
            jt_gb_attr_string(b, name, val + 2);
        } else if (strchr(val, ',')) {
            int is_float = strpbrk(val, ".e") != NULL;
            int64_t iv[32];
            double fv[32];
            int n = 0;
            for (const char *p = val; *p && n < 32;) {
                char *end;
                if (is_float) fv[n++] = strtod(p, &end);
                else iv[n++] = strtoll(p, &end, 10);
                if (end == p) break;
                p = *end == ',' ? end + 1 : end;
            }
            if (is_float) jt_gb_attr_floats(b, name, fv, n);
            else jt_gb_attr_ints(b, name, iv, n);
        } else if (strpbrk(val, ".e")) {
            jt_gb_attr_float(b, name, strtod(val, NULL));
        } else {
            jt_gb_attr_int(b, name, strtoll(val, NULL, 10));
        }
    }
}

typedef struct built {
    jt_graph *g;
    int n_x;                /* graph inputs (differentiated) */
    int x_of[GC_MAX_IN];    /* op input index of graph input k */
    int n_out;
    int32_t y[8], grad[GC_MAX_IN];
} built;

/* Builds node + backward with cotangents; data[i] holds each input's float64 values. */
static jt_status build(jt_ctx *ctx, const gc_case *c, const spec *sp, int n_in, double *const *data, jt_dtype dt,
                       double *const *cot, const spec *yshape, built *out) {
    memset(out, 0, sizeof *out);
    JT_TRY(jt_graph_create(ctx, c->op, &out->g));
    jt_gb b;
    jt_gb_init(&b, ctx, out->g, c->opset ? c->opset : 17);
    int32_t ins[GC_MAX_IN];
    for (int i = 0; i < n_in; i++) {
        ins[i] = -1;
        if (!sp[i].present) continue;
        char nm[32];
        snprintf(nm, sizeof nm, "in%d", i);
        int64_t n = numel(&sp[i]);
        if (c->ints[i]) { /* "1,2" int64 data, or "b:1,0,1" bool data */
            int is_bool = strncmp(c->ints[i], "b:", 2) == 0;
            int64_t *v = calloc((size_t)n + 1, sizeof *v);
            uint8_t *bv = calloc((size_t)n + 1, 1);
            const char *p = c->ints[i] + (is_bool ? 2 : 0);
            for (int64_t k = 0; k < n && *p; k++) {
                char *end;
                v[k] = strtoll(p, &end, 10);
                bv[k] = v[k] != 0;
                p = *end == ',' ? end + 1 : end;
            }
            ins[i] = is_bool ? jt_gb_const(&b, nm, JT_BOOL, sp[i].rank, sp[i].dims, bv)
                             : jt_gb_const(&b, nm, JT_I64, sp[i].rank, sp[i].dims, v);
            free(v);
            free(bv);
        } else if ((c->wrt >> i) & 1) {
            ins[i] = jt_gb_input(&b, nm, dt, sp[i].rank, sp[i].dims);
            out->x_of[out->n_x++] = i;
        } else {
            void *v = malloc(sizeof(double) * (size_t)(n + 1));
            for (int64_t k = 0; k < n; k++) {
                if (dt == JT_F64) ((double *)v)[k] = data[i][k];
                else ((float *)v)[k] = (float)data[i][k];
            }
            ins[i] = jt_gb_const(&b, nm, dt, sp[i].rank, sp[i].dims, v);
            free(v);
        }
    }
    apply_attrs(&b, c->attrs);
    out->n_out = c->n_out ? c->n_out : 1;
    jt_gb_node(&b, c->op, c->domain ? c->domain : "", "op", ins, n_in, out->y, out->n_out);
    for (int j = 0; j < out->n_out; j++) jt_gb_output(&b, out->y[j]);
    JT_TRY(jt_gb_status(&b));
    if (!cot) return JT_OK; /* forward only (to learn output shapes) */
    int32_t seeds[8], wrt[GC_MAX_IN];
    for (int j = 0; j < out->n_out; j++) {
        int64_t n = numel(&yshape[j]);
        void *v = malloc(sizeof(double) * (size_t)(n + 1));
        for (int64_t k = 0; k < n; k++) {
            if (dt == JT_F64) ((double *)v)[k] = cot[j][k];
            else ((float *)v)[k] = (float)cot[j][k];
        }
        char nm[32];
        snprintf(nm, sizeof nm, "cot%d", j);
        seeds[j] = jt_gb_const(&b, nm, dt, yshape[j].rank, yshape[j].dims, v);
        free(v);
    }
    for (int k = 0; k < out->n_x; k++) wrt[k] = ins[out->x_of[k]];
    JT_TRY(jt_gb_status(&b));
    JT_TRY(jt_build_backward(ctx, out->g, out->y, seeds, out->n_out, wrt, out->n_x, out->grad));
    for (int k = 0; k < out->n_x; k++) jt_gb_output(&b, out->grad[k]);
    return jt_gb_status(&b);
}

static void make_inputs(const built *bt, const spec *sp, double *const *data, jt_dtype dt, jt_tensor *xs) {
    for (int k = 0; k < bt->n_x; k++) {
        int i = bt->x_of[k];
        int64_t n = numel(&sp[i]);
        memset(&xs[k], 0, sizeof xs[k]);
        xs[k].dtype = dt;
        xs[k].rank = sp[i].rank;
        memcpy(xs[k].dims, sp[i].dims, sizeof(int64_t) * (size_t)sp[i].rank);
        xs[k].data = malloc(sizeof(double) * (size_t)(n + 1));
        for (int64_t e = 0; e < n; e++) {
            if (dt == JT_F64) ((double *)xs[k].data)[e] = data[i][e];
            else ((float *)xs[k].data)[e] = (float)data[i][e];
        }
    }
}

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
    spec sp[GC_MAX_IN];
    int n_in = 0;
    double *data[GC_MAX_IN] = {0}, *cot[8] = {0};
    while (n_in < GC_MAX_IN && c->in[n_in]) {
        if (parse_dims(c->in[n_in], &sp[n_in]) != 0) {
            jt_test_fail(name, "bad shape spec '%s'", c->in[n_in]);
            return;
        }
        sp[n_in].lo = -1;
        sp[n_in].hi = 1;
        n_in++;
    }
    if (c->ranges) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", c->ranges);
        for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
            int i;
            double lo, hi;
            if (sscanf(tok, "%d:%lf:%lf", &i, &lo, &hi) == 3 && i >= 0 && i < n_in) {
                sp[i].lo = lo;
                sp[i].hi = hi;
            }
        }
    }
    for (int i = 0; i < n_in; i++) {
        int64_t n = numel(&sp[i]);
        data[i] = malloc(sizeof(double) * (size_t)(n + 1));
        for (int64_t e = 0; e < n; e++) {
            double v;
            do v = sp[i].lo + (sp[i].hi - sp[i].lo) * urand();
            while (c->away > 0 && fabs(v) < c->away);
            data[i][e] = v;
        }
    }
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    built fw = {0}, bw = {0}, bw32 = {0};
    jt_plan *p = NULL, *p32 = NULL;
    jt_tensor xs[GC_MAX_IN] = {{0}}, xs32[GC_MAX_IN] = {{0}};
    spec ysp[8];
    int n_out = c->n_out ? c->n_out : 1;
    double tol = c->tol > 0 ? c->tol : 1e-6, tol32 = c->f32_tol > 0 ? c->f32_tol : 1e-5;
    /* 1. forward once to learn output shapes */
    if (build(ctx, c, sp, n_in, data, JT_F64, NULL, NULL, &fw) != JT_OK) goto fail;
    make_inputs(&fw, sp, data, JT_F64, xs);
    if (jt_plan_create(ctx, fw.g, xs, fw.n_x, NULL, &p) != JT_OK) goto fail;
    for (int j = 0; j < n_out; j++) {
        const jt_tensor *y = jt_plan_output(p, j);
        ysp[j].present = 1;
        ysp[j].rank = y->rank;
        memcpy(ysp[j].dims, y->dims, sizeof(int64_t) * (size_t)y->rank);
        int64_t n = jt_tensor_numel(y);
        cot[j] = malloc(sizeof(double) * (size_t)(n + 1));
        for (int64_t e = 0; e < n; e++) cot[j][e] = 2 * urand() - 1;
    }
    jt_plan_free(p);
    p = NULL;
    /* 2. forward + backward in float64 */
    if (build(ctx, c, sp, n_in, data, JT_F64, cot, ysp, &bw) != JT_OK) goto fail;
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
                    u[e] = 2 * urand() - 1;
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
    if (build(ctx, c, sp, n_in, data, JT_F32, cot, ysp, &bw32) != JT_OK) goto fail;
    make_inputs(&bw32, sp, data, JT_F32, xs32);
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
