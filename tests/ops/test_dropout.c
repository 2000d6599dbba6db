/* Training-mode Dropout (opset 12/13) with the Philox RNG, and DropoutGrad:
 *   - the kept fraction is 1 - ratio within tolerance; mask[i] is exactly
 *     jt_rng_uniform(seed, JT_RNG_DROPOUT, run_index, i) >= ratio; Y = X * mask * (1 / (1 - ratio)) exactly;
 *   - bitwise identical for 1, 2 and 4 threads; a new mask each run; the node's seed attribute and the
 *     context seed change the mask; a constant X is not folded;
 *   - DropoutGrad: dX = dY * mask * scale with the forward's mask, and with the mask recomputed when the
 *     forward has no mask output; inference mode passes dY through.
 * Also: the shape/resize gradient ops give identical bits for 1 and 3 threads on sizes that split into
 * several tasks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/autodiff.h"
#include "jatp/builder.h"
#include "jatp/jatp.h"
#include "jt_test.h"
#include "runtime/core/philox.h"

#define N_BIG 100003 /* not a multiple of 4, several pool tasks */

typedef struct {
    jt_dtype dt;
    int64_t n;
    double ratio;
    int training;      /* -1: input absent, else the constant's value */
    int with_mask;     /* the forward has a mask output */
    int64_t seed_attr; /* < 0: none */
    int backward;
    int const_x;       /* X is a constant instead of a graph input */
} dcfg;

typedef struct {
    jt_graph *g;
    jt_plan *p;
    int n_x;
    jt_tensor x;
    int i_y, i_mask, i_dx; /* output positions, -1 when absent */
} drun;

static double xval(int64_t i) { return ((double)((i * 7919) % 2001) - 1000.0) / 613.0; }
static double cval(int64_t i) { return ((double)((i * 104729) % 1999) - 999.0) / 377.0; }

static void *fill(jt_dtype dt, int64_t n, double (*f)(int64_t)) {
    void *v = malloc((size_t)(n + 1) * 8);
    for (int64_t i = 0; i < n; i++) {
        if (dt == JT_F32) ((float *)v)[i] = (float)f(i);
        else ((double *)v)[i] = f(i);
    }
    return v;
}

static void drun_free(drun *r) {
    jt_plan_free(r->p);
    jt_graph_free(r->g);
    free(r->x.data);
    memset(r, 0, sizeof *r);
}

static jt_status drun_make(jt_ctx *ctx, const dcfg *c, drun *r) {
    memset(r, 0, sizeof *r);
    r->i_y = r->i_mask = r->i_dx = -1;
    JT_TRY(jt_graph_create(ctx, "dropout-test", &r->g));
    jt_gb b;
    jt_gb_init(&b, ctx, r->g, 13);
    int64_t dims[1] = {c->n};
    void *xd = fill(c->dt, c->n, xval);
    int32_t x = c->const_x ? jt_gb_const(&b, "x", c->dt, 1, dims, xd) : jt_gb_input(&b, "x", c->dt, 1, dims);
    r->x.dtype = c->dt;
    r->x.rank = 1;
    r->x.dims[0] = c->n;
    r->x.data = xd;
    r->n_x = c->const_x ? 0 : 1;
    double rd = c->ratio;
    float rf = (float)c->ratio;
    int32_t ratio = jt_gb_const(&b, "ratio", c->dt, 0, NULL, c->dt == JT_F32 ? (const void *)&rf : &rd);
    uint8_t tm = (uint8_t)(c->training > 0);
    int32_t training = c->training >= 0 ? jt_gb_const(&b, "training_mode", JT_BOOL, 0, NULL, &tm) : -1;
    if (c->seed_attr >= 0) jt_gb_attr_int(&b, "seed", c->seed_attr);
    int32_t outs[2];
    int n_out = c->with_mask ? 2 : 1;
    jt_gb_node(&b, "Dropout", "", "drop", (int32_t[]){x, ratio, training}, 3, outs, n_out);
    jt_gb_output(&b, outs[0]);
    r->i_y = 0;
    if (c->with_mask) {
        jt_gb_output(&b, outs[1]);
        r->i_mask = 1;
    }
    JT_TRY(jt_gb_status(&b));
    if (c->backward) {
        void *cd = fill(c->dt, c->n, cval);
        int32_t cot = jt_gb_const(&b, "cot", c->dt, 1, dims, cd), dx;
        free(cd);
        JT_TRY(jt_gb_status(&b));
        JT_TRY(jt_build_backward(ctx, r->g, &outs[0], &cot, 1, &x, 1, &dx));
        jt_gb_output(&b, dx);
        r->i_dx = n_out;
        JT_TRY(jt_gb_status(&b));
    }
    return jt_plan_create(ctx, r->g, &r->x, r->n_x, NULL, &r->p);
}

/* Checks one run's outputs against the Philox definition; returns 1 when all match. */
static int check_run(const dcfg *c, const drun *r, uint64_t seed, uint64_t call, char *why, size_t cap) {
    const jt_tensor *y = jt_plan_output(r->p, r->i_y);
    const jt_tensor *m = r->i_mask >= 0 ? jt_plan_output(r->p, r->i_mask) : NULL;
    const jt_tensor *dx = r->i_dx >= 0 ? jt_plan_output(r->p, r->i_dx) : NULL;
    bool training = c->training > 0;
    double scale = training ? (c->ratio < 1 ? 1.0 / (1.0 - c->ratio) : 0.0) : 1.0;
    uint64_t key = seed ^ (c->seed_attr >= 0 ? (uint64_t)c->seed_attr : 0);
    for (int64_t i = 0; i < c->n; i++) {
        bool keep = !training || (double)jt_rng_uniform(key, JT_RNG_DROPOUT, call, (uint64_t)i) >= c->ratio;
        if (m && ((const uint8_t *)m->data)[i] != keep) {
            jt_test_fmt(why, cap, "mask[%lld] = %d, expected %d", (long long)i, ((const uint8_t *)m->data)[i], keep);
            return 0;
        }
        for (int k = 0; k < 2; k++) {
            const jt_tensor *t = k == 0 ? y : dx;
            if (!t) continue;
            double in = k == 0 ? xval(i) : cval(i), got, want;
            if (c->dt == JT_F32) {
                float s = (float)scale, v = (float)in;
                want = training ? (keep ? (double)(v * s) : 0.0) : (double)v;
                got = ((const float *)t->data)[i];
            } else {
                want = training ? (keep ? in * scale : 0.0) : in;
                got = ((const double *)t->data)[i];
            }
            if (got != want) {
                jt_test_fmt(why, cap, "%s[%lld] = %.17g, expected %.17g (mask %d)", k == 0 ? "Y" : "dX", (long long)i,
                            got, want, keep);
                return 0;
            }
        }
    }
    return 1;
}

static void case_exact(const char *name, dcfg c, uint64_t seed, int runs) {
    jt_ctx *ctx;
    jt_ctx_create(2, &ctx);
    jt_ctx_set_seed(ctx, seed);
    drun r;
    char why[512];
    if (drun_make(ctx, &c, &r) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
        goto done;
    }
    for (int k = 0; k < runs; k++) {
        if (jt_plan_run(r.p, &r.x, r.n_x) != JT_OK) {
            jt_test_fail(name, "%s", jt_ctx_error(ctx));
            goto done;
        }
        if (!check_run(&c, &r, seed, (uint64_t)k, why, sizeof why)) {
            jt_test_fail(name, "run %d: %s", k, why);
            goto done;
        }
    }
    jt_test_ok(name);
done:
    drun_free(&r);
    jt_ctx_free(ctx);
}

/* Runs c `runs` times with `threads` threads and returns a copy of output `out` of the last run. */
static void *run_copy(const dcfg *c, int threads, uint64_t seed, int runs, int out, size_t *bytes, char *why,
                      size_t cap) {
    jt_ctx *ctx;
    jt_ctx_create(threads, &ctx);
    jt_ctx_set_seed(ctx, seed);
    drun r;
    void *copy = NULL;
    if (drun_make(ctx, c, &r) == JT_OK) {
        jt_status st = JT_OK;
        for (int k = 0; k < runs && st == JT_OK; k++) st = jt_plan_run(r.p, &r.x, r.n_x);
        if (st == JT_OK) {
            const jt_tensor *t = jt_plan_output(r.p, out);
            *bytes = jt_tensor_nbytes(t);
            copy = malloc(*bytes + 1);
            memcpy(copy, t->data, *bytes);
        }
    }
    if (!copy) jt_test_fmt(why, cap, "%s", jt_ctx_error(ctx));
    drun_free(&r);
    jt_ctx_free(ctx);
    return copy;
}

static void case_kept_fraction(void) {
    const char *name = "dropout/kept fraction ratio 0.3";
    dcfg c = {JT_F32, N_BIG, 0.3, 1, 1, -1, 0, 0};
    char why[512];
    size_t nb;
    uint8_t *m = run_copy(&c, 1, 42, 1, 1, &nb, why, sizeof why);
    if (!m) {
        jt_test_fail(name, "%s", why);
        return;
    }
    int64_t kept = 0;
    for (int64_t i = 0; i < c.n; i++) kept += m[i] != 0;
    double f = (double)kept / (double)c.n;
    free(m);
    if (fabs(f - 0.7) > 0.01) jt_test_fail(name, "kept fraction %.5f, expected 0.7 +- 0.01", f);
    else jt_test_ok(name);
}

/* Output `out` after `runs` runs is bitwise equal for cfgs a and b (or different when differ). */
static void case_compare(const char *name, const dcfg *a, int ta, uint64_t sa, int ra, const dcfg *b, int tb,
                         uint64_t sb, int rb, int out, int differ) {
    char why[512];
    size_t na = 0, nb = 0;
    void *x = run_copy(a, ta, sa, ra, out, &na, why, sizeof why);
    void *y = x ? run_copy(b, tb, sb, rb, out, &nb, why, sizeof why) : NULL;
    if (!x || !y) jt_test_fail(name, "%s", why);
    else if (na != nb) jt_test_fail(name, "sizes differ (%zu, %zu bytes)", na, nb);
    else if ((memcmp(x, y, na) != 0) != differ)
        jt_test_fail(name, differ ? "the outputs are identical" : "the outputs differ");
    else jt_test_ok(name);
    free(x);
    free(y);
}

/* ---- gradient ops: 1 vs 3 threads ---- */

typedef struct {
    const char *name, *op, *attrs_s; /* attrs_s: one string attribute "name=value" or NULL */
    int rank;
    int64_t dims[4];
    int n_ints;               /* extra int64 constant inputs (0 values: omitted) */
    int64_t ints[4][8];
    int n_each[4];
    const char *int_attr;     /* one int attribute name, or NULL */
    int64_t int_val;
} gcase;

static void *grad_bits(const gcase *gc, int threads, size_t *bytes, char *why, size_t cap) {
    jt_ctx *ctx;
    jt_ctx_create(threads, &ctx);
    jt_graph *g = NULL;
    jt_plan *p = NULL;
    void *copy = NULL;
    jt_tensor x = {0};
    if (jt_graph_create(ctx, gc->name, &g) != JT_OK) goto done;
    jt_gb b;
    jt_gb_init(&b, ctx, g, 18);
    int64_t n = 1;
    for (int d = 0; d < gc->rank; d++) n *= gc->dims[d];
    x.dtype = JT_F32;
    x.rank = gc->rank;
    memcpy(x.dims, gc->dims, sizeof gc->dims);
    x.data = fill(JT_F32, n, xval);
    int32_t ins[5] = {jt_gb_input(&b, "x", JT_F32, gc->rank, gc->dims), -1, -1, -1, -1};
    for (int k = 0; k < gc->n_ints; k++) ins[1 + k] = gc->n_each[k] ? jt_gb_const_i64s(&b, gc->ints[k], gc->n_each[k]) : -1;
    if (gc->attrs_s) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", gc->attrs_s);
        char *eq = strchr(buf, '=');
        *eq = 0;
        jt_gb_attr_string(&b, buf, eq + 1);
    }
    if (gc->int_attr) jt_gb_attr_int(&b, gc->int_attr, gc->int_val);
    int32_t y = jt_gb_op(&b, gc->op, "", "op", ins, 1 + gc->n_ints), dx;
    jt_gb_output(&b, y);
    if (jt_gb_status(&b) != JT_OK) goto done;
    /* a data-dependent cotangent: Y * Y */
    int32_t cot = jt_gb_op(&b, "Mul", "", NULL, (int32_t[]){y, y}, 2);
    if (jt_gb_status(&b) != JT_OK) goto done;
    if (jt_build_backward(ctx, g, &y, &cot, 1, &ins[0], 1, &dx) != JT_OK) goto done;
    jt_gb_output(&b, dx);
    if (jt_gb_status(&b) != JT_OK) goto done;
    if (jt_plan_create(ctx, g, &x, 1, NULL, &p) != JT_OK || jt_plan_run(p, &x, 1) != JT_OK) goto done;
    const jt_tensor *t = jt_plan_output(p, 1);
    *bytes = jt_tensor_nbytes(t);
    copy = malloc(*bytes + 1);
    memcpy(copy, t->data, *bytes);
done:
    if (!copy) jt_test_fmt(why, cap, "%s", jt_ctx_error(ctx));
    jt_plan_free(p);
    jt_graph_free(g);
    free(x.data);
    jt_ctx_free(ctx);
    return copy;
}

static void grad_threads(void) {
    static const gcase cases[] = {
        {"grad-threads/ResizeGrad linear", "Resize", "mode=linear", 4, {2, 6, 40, 50}, 3,
         {{0}, {0}, {2, 7, 61, 77}}, {0, 0, 4}, NULL, 0},
        {"grad-threads/ResizeGrad nearest down", "Resize", "mode=nearest", 4, {2, 5, 64, 70}, 3,
         {{0}, {0}, {2, 3, 31, 40}}, {0, 0, 4}, NULL, 0},
        {"grad-threads/PadGrad reflect", "Pad", "mode=reflect", 4, {2, 5, 60, 70}, 1,
         {{0, 2, 3, 1, 0, 1, 4, 5}}, {8}, NULL, 0},
        {"grad-threads/GatherGrad repeated axis 1", "Gather", NULL, 2, {300, 700}, 1,
         {{5, 5, -1, 0, 699, 5, 7, 5}}, {8}, "axis", 1},
        {"grad-threads/SliceGrad steps", "Slice", NULL, 3, {30, 80, 90}, 4,
         {{-1, 1}, {-100, 90}, {0, 2}, {-2, 3}}, {2, 2, 2, 2}, NULL, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char why[512];
        size_t n1 = 0, n3 = 0;
        void *a = grad_bits(&cases[k], 1, &n1, why, sizeof why);
        void *b = a ? grad_bits(&cases[k], 3, &n3, why, sizeof why) : NULL;
        if (!a || !b) jt_test_fail(cases[k].name, "%s", why);
        else if (n1 != n3 || memcmp(a, b, n1) != 0) jt_test_fail(cases[k].name, "1 and 3 threads differ");
        else jt_test_ok(cases[k].name);
        free(a);
        free(b);
    }
}

int main(void) {
    dcfg base = {JT_F32, N_BIG, 0.3, 1, 1, -1, 1, 0};
    case_kept_fraction();
    case_exact("dropout/f32 mask, Y and dX exact (3 runs)", base, 42, 3);
    dcfg f64 = base;
    f64.dt = JT_F64;
    f64.ratio = 0.6;
    case_exact("dropout/f64 ratio 0.6 exact", f64, 7, 2);
    dcfg nomask = base;
    nomask.with_mask = 0;
    case_exact("dropout/grad recomputes the mask (no mask output)", nomask, 99, 2);
    dcfg seeded = base;
    seeded.seed_attr = 1234;
    case_exact("dropout/seed attribute", seeded, 42, 1);
    dcfg seeded_nomask = seeded;
    seeded_nomask.with_mask = 0;
    case_exact("dropout/seed attribute, mask recomputed", seeded_nomask, 42, 2);
    dcfg infer = base;
    infer.training = 0;
    case_exact("dropout/training_mode false: identity", infer, 42, 1);
    dcfg absent = base;
    absent.training = -1;
    case_exact("dropout/training_mode absent: identity", absent, 42, 1);
    dcfg zero = base;
    zero.ratio = 0;
    case_exact("dropout/training ratio 0", zero, 42, 1);
    dcfg one = base;
    one.ratio = 1;
    case_exact("dropout/training ratio 1: all dropped", one, 42, 1);
    dcfg small = base;
    small.n = 7;
    case_exact("dropout/7 elements", small, 5, 2);
    case_compare("dropout/1 vs 2 threads bitwise (Y)", &base, 1, 42, 2, &base, 2, 42, 2, 0, 0);
    case_compare("dropout/1 vs 4 threads bitwise (mask)", &base, 1, 42, 1, &base, 4, 42, 1, 1, 0);
    case_compare("dropout/1 vs 4 threads bitwise (dX)", &base, 1, 42, 3, &base, 4, 42, 3, 2, 0);
    case_compare("dropout/run index changes the mask", &base, 1, 42, 1, &base, 1, 42, 2, 1, 1);
    case_compare("dropout/context seed changes the mask", &base, 1, 42, 1, &base, 1, 43, 1, 1, 1);
    case_compare("dropout/seed attribute changes the mask", &base, 1, 42, 1, &seeded, 1, 42, 1, 1, 1);
    dcfg cx = base;
    cx.const_x = 1;
    cx.backward = 0;
    case_compare("dropout/constant X is not folded (new mask each run)", &cx, 1, 42, 1, &cx, 1, 42, 2, 0, 1);
    case_exact("dropout/constant X exact", cx, 42, 2);
    grad_threads();
    return jt_test_finish();
}
