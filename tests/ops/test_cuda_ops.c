/* Every row of the op case tables (gradcheck.h, cases_*.c) on the CUDA backend.
 *
 * For each row: the one-node graph and its backward (jt_build_backward, random cotangent on every
 * output) run on the CPU in float64 (the reference) and on the CUDA backend in float32 (TF32 off), on
 * the same fresh random inputs, rounded to float32 for both so that only the kernels' arithmetic
 * differs. Every output and every gradient must satisfy, per element,
 *     |cuda - ref| <= atol + rtol * |ref|     (atol 1e-5, rtol 1e-4; per row: cuda_atol, cuda_rtol)
 * and, as a whole, relative L2 error <= f32_tol (default 1e-5, the CPU float32 path's bound).
 * The CUDA plan runs twice: its arena and workspace are poisoned first with 0xFF bytes (float NaN), then
 * with 0x7F bytes (3.4e38), so an element no kernel writes, or a kernel that adds into its output instead
 * of assigning it, fails; after each run the arena's padding bytes must still hold the poison (guards:
 * a write past a buffer's end fails). A row whose graph has a node without a CUDA kernel fails, naming
 * the nodes (jt_plan_create reports them all); at the end a comment line lists the ops of these graphs
 * that have no `cuda_f32` kernel yet.
 *
 * Without a device (or built without CUDA) every row is one skip line with the reason; with
 * JATP_REQUIRE_CUDA=1 those rows fail instead. Rows with a table skip reason stay skips.
 *
 *   test_cuda_ops [FILTER]             FILTER: substring of "<family>/<op>/<label>"
 * Env: JATP_TEST_SEED (inputs; default: from the clock, printed), JATP_TEST_DEVICE (default "cuda";
 * "cpu" runs the same comparisons on the CPU backend's float32 kernels: a check of this harness),
 * JATP_REQUIRE_CUDA. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gc_build.h"
#include "gradcheck.h"
#include "jatp/jatp.h"
#include "jt_cuda_test.h"
#include "jt_test.h"
#include "op.h"

extern const gc_family gc_families[];
extern const int gc_n_families;

#define DEF_ATOL 1e-5
#define DEF_RTOL 1e-4
#define DEF_REL 1e-5

/* ops (domain/name) seen in the graphs that have no cuda_f32 kernel */
static char missing[256][96];
static int n_missing;

static void note_missing(const jt_graph *g) {
    for (int32_t k = 0; k < g->n_nodes; k++) {
        const jt_op *op = g->nodes[k].op;
        if (!op || !op->impl || op->impl->cuda_f32) continue;
        char nm[96];
        jt_test_fmt(nm, sizeof nm, "%s%s%s", op->domain[0] ? op->domain : "", op->domain[0] ? ":" : "", op->name);
        int seen = 0;
        for (int i = 0; i < n_missing && !seen; i++) seen = strcmp(missing[i], nm) == 0;
        if (!seen && n_missing < 256) snprintf(missing[n_missing++], sizeof missing[0], "%s", nm);
    }
}

static int cmp_str(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

/* Runs the device plan once after poisoning with `byte` and compares every output with the reference. */
static int run_and_compare(jt_ctx *ctx, jt_plan *pd, const jt_plan *pref, const jt_tensor *xs, int n_x, int n_out, uint8_t byte,
                           double atol, double rtol, double rel_max, double *worst_rel, char *why, size_t cap) {
    if (jt_cuda_test_poison(pd, byte) != JT_OK || jt_plan_run(pd, xs, n_x) != JT_OK) {
        jt_test_fmt(why, cap, "poison 0x%02x, run: %s", byte, jt_ctx_error(ctx));
        return 0;
    }
    int n = jt_plan_n_outputs(pd);
    for (int j = 0; j < n; j++) {
        jt_tensor got;
        char w2[1024];
        const char *what = j < n_out ? "output" : "gradient";
        int idx = j < n_out ? j : j - n_out;
        if (jt_cuda_test_download(pd, j, &got) != JT_OK) {
            jt_test_fmt(why, cap, "download of %s %d: %s", what, idx, jt_ctx_error(ctx));
            free(got.data);
            return 0;
        }
        double rel = 0;
        int ok = jt_test_compare(&got, jt_plan_output(pref, j), rtol, atol, JT_CMP_REF_F64_OK, w2, sizeof w2);
        if (ok && (got.dtype == JT_F32 || got.dtype == JT_F64)) {
            ok = jt_test_compare_relnorm(&got, jt_plan_output(pref, j), rel_max, JT_CMP_REF_F64_OK, &rel, w2, sizeof w2);
            if (rel > *worst_rel) *worst_rel = rel;
        }
        free(got.data);
        if (!ok) {
            jt_test_fmt(why, cap, "%s %d (poison 0x%02x) vs CPU float64: %s", what, idx, byte, w2);
            return 0;
        }
    }
    char w3[512];
    if (!jt_cuda_test_guards_intact(pd, byte, w3, sizeof w3)) {
        jt_test_fmt(why, cap, "poison 0x%02x: %s", byte, w3);
        return 0;
    }
    return 1;
}

static void run_case(jt_backend *dev, const char *reason, const char *prefix, const char *family, const gc_case *c) {
    char name[256];
    jt_test_fmt(name, sizeof name, "%s/%s/%s/%s", prefix, family, c->op, c->label);
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
    for (int i = 0; i < n_in; i++) /* both sides see the same float32 inputs */
        for (int64_t e = 0; e < gc_numel(&sp[i]); e++) data[i][e] = (double)(float)data[i][e];
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    gc_built fw = {0}, bw = {0}, bw32 = {0};
    jt_plan *p = NULL, *pd = NULL;
    jt_tensor xs[GC_MAX_IN] = {{0}}, xs32[GC_MAX_IN] = {{0}};
    gc_spec ysp[8];
    int n_out = c->n_out ? c->n_out : 1;
    double atol = c->cuda_atol > 0 ? c->cuda_atol : DEF_ATOL, rtol = c->cuda_rtol > 0 ? c->cuda_rtol : DEF_RTOL;
    double rel_max = c->f32_tol > 0 ? c->f32_tol : DEF_REL;
    char why[2048];
    /* the float32 graph first: its ops tell which CUDA kernels are missing, device or not */
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
        for (int64_t e = 0; e < n; e++) cot[j][e] = (double)(float)(2 * gc_urand() - 1);
    }
    jt_plan_free(p);
    p = NULL;
    if (gc_build(ctx, c, sp, n_in, data, JT_F32, cot, ysp, &bw32) != JT_OK) goto fail;
    note_missing(bw32.g);
    if (!dev) {
        jt_cuda_test_unavailable(name, reason);
        goto done;
    }
    /* reference: CPU float64 */
    if (gc_build(ctx, c, sp, n_in, data, JT_F64, cot, ysp, &bw) != JT_OK) goto fail;
    if (jt_plan_create(ctx, bw.g, xs, bw.n_x, NULL, &p) != JT_OK || jt_plan_run(p, xs, bw.n_x) != JT_OK) goto fail;
    /* device: float32 */
    gc_make_inputs(&bw32, sp, data, JT_F32, xs32);
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.backend = dev;
    if (jt_plan_create(ctx, bw32.g, xs32, bw32.n_x, &po, &pd) != JT_OK) {
        jt_test_fail(name, "%s plan: %s", prefix, jt_ctx_error(ctx));
        goto done;
    }
    double worst = 0;
    if (!run_and_compare(ctx, pd, p, xs32, bw32.n_x, n_out, 0xFF, atol, rtol, rel_max, &worst, why, sizeof why) ||
        !run_and_compare(ctx, pd, p, xs32, bw32.n_x, n_out, 0x7F, atol, rtol, rel_max, &worst, why, sizeof why)) {
        jt_test_fail(name, "%s", why);
        goto done;
    }
    jt_test_ok(name);
    jt_test_note("%d outputs + %d gradients, worst rel L2 error %.3g", n_out, bw32.n_x, worst);
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
    jt_plan_free(pd);
    jt_graph_free(fw.g);
    jt_graph_free(bw.g);
    jt_graph_free(bw32.g);
    jt_ctx_free(ctx);
}

/* The poison/guard machinery itself, on the CPU backend (always runs): a clean run keeps the guards,
 * a planted overwrite of one padding byte is reported, and an unwritten output would show the poison. */
static void harness_selfcheck(void) {
    const char *name = "harness/poison_and_guards_cpu";
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    jt_backend *cpu = NULL;
    jt_graph *g = NULL;
    jt_plan *p = NULL;
    char why[512] = "";
    int64_t dims[2] = {3, 5}; /* 60 bytes: 4 bytes of padding to the 64-byte slot */
    float x[15];
    for (int i = 0; i < 15; i++) x[i] = (float)i - 7;
    jt_tensor xt = {.dtype = JT_F32, .rank = 2, .dims = {3, 5}, .data = x};
    jt_gb b;
    int32_t in, y;
    if (jt_backend_create(ctx, "cpu", &cpu) != JT_OK || jt_graph_create(ctx, "selfcheck", &g) != JT_OK) goto fail;
    jt_gb_init(&b, ctx, g, 17);
    in = jt_gb_input(&b, "x", JT_F32, 2, dims);
    jt_gb_node(&b, "Relu", "", "relu", &in, 1, &y, 1);
    jt_gb_output(&b, y);
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.backend = cpu;
    if (jt_gb_status(&b) != JT_OK || jt_plan_create(ctx, g, &xt, 1, &po, &p) != JT_OK) goto fail;
    if (jt_cuda_test_poison(p, 0xFF) != JT_OK) goto fail;
    const float *yd = jt_plan_output(p, 0)->data;
    uint32_t bits;
    memcpy(&bits, yd, 4);
    if (bits != 0xFFFFFFFFu) {
        jt_test_fail(name, "poison did not reach the output buffer (0x%08x)", bits);
        goto done;
    }
    if (jt_plan_run(p, &xt, 1) != JT_OK) goto fail;
    if (!jt_cuda_test_guards_intact(p, 0xFF, why, sizeof why)) {
        jt_test_fail(name, "clean run: %s", why);
        goto done;
    }
    if (!jt_cuda_test_corrupt_guard(p)) {
        jt_test_fail(name, "the plan has no padding byte to corrupt");
        goto done;
    }
    if (jt_cuda_test_guards_intact(p, 0xFF, why, sizeof why)) {
        jt_test_fail(name, "a planted guard overwrite was not detected");
        goto done;
    }
    jt_test_ok(name);
    jt_test_note("planted overwrite reported as: %s", why);
    goto done;
fail:
    jt_test_fail(name, "%s", jt_ctx_error(ctx));
done:
    jt_plan_free(p);
    jt_graph_free(g);
    jt_backend_free(cpu);
    jt_ctx_free(ctx);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    const char *se = getenv("JATP_TEST_SEED");
    uint64_t seed = se && *se ? strtoull(se, NULL, 0) : (uint64_t)time(NULL) * 2654435761u + (uint64_t)clock();
    gc_seed(seed);
    printf("# test_cuda_ops: inputs from seed %llu (JATP_TEST_SEED=%llu reproduces them)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    harness_selfcheck();
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    char reason[1024];
    jt_backend *dev = jt_cuda_test_open(ctx, reason, sizeof reason);
    const char *dn = getenv("JATP_TEST_DEVICE");
    const char *prefix = dn && strcmp(dn, "cpu") == 0 ? "cpu-f32" : "cuda";
    if (dev) printf("# device: %s\n", jt_backend_description(dev));
    else printf("# %s\n", reason);
    for (int f = 0; f < gc_n_families; f++)
        for (int i = 0; i < *gc_families[f].n; i++) {
            const gc_case *c = &gc_families[f].cases[i];
            if (!c->op) continue;
            char nm[256];
            jt_test_fmt(nm, sizeof nm, "%s/%s/%s", gc_families[f].name, c->op, c->label);
            if (filter && !strstr(nm, filter)) continue;
            run_case(dev, reason, prefix, gc_families[f].name, c);
        }
    if (n_missing) {
        qsort(missing, (size_t)n_missing, sizeof missing[0], cmp_str);
        printf("# %d op%s in these graphs without a cuda_f32 kernel (nodes folded at plan time or zero-copy views "
               "need none):", n_missing, n_missing == 1 ? "" : "s");
        for (int i = 0; i < n_missing; i++) printf(" %s", missing[i]);
        printf("\n");
    } else {
        printf("# every op in these graphs has a cuda_f32 kernel\n");
    }
    jt_backend_free(dev);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
