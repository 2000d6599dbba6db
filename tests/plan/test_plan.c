/* Planner tests: the liveness arena never overlaps two live values; reuse actually happens; a graph
 * built through the IR API runs and gives the values computed directly; shape errors name the input;
 * results are bitwise identical with 1 and 2 threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/jatp.h"
#include "jt_test.h"
#include "op.h"
#include "runtime/plan/plan_internal.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

static void test_offsets_random(void) {
    jt_ctx *ctx;
    jt_ctx_create(1, &ctx);
    int bad = 0, reused = 0;
    for (int trial = 0; trial < 300 && !bad; trial++) {
        int32_t n = 1 + (int32_t)(rnd() % 60);
        size_t size[64], off[64];
        int32_t def[64], last[64];
        size_t naive = 0, arena = 0;
        for (int32_t i = 0; i < n; i++) {
            size[i] = rnd() % 5 == 0 ? 0 : 1 + rnd() % 5000;
            def[i] = (int32_t)(rnd() % 40);
            last[i] = def[i] + (int32_t)(rnd() % 10);
            naive += (size[i] + 63) & ~(size_t)63;
        }
        if (jt_plan_assign_offsets(ctx, n, size, def, last, off, &arena) != JT_OK) {
            bad = 1;
            jt_test_fail("plan/offsets_random", "assign failed: %s", jt_ctx_error(ctx));
            break;
        }
        if (arena < naive) reused = 1;
        for (int32_t i = 0; i < n && !bad; i++) {
            if (size[i] == 0) continue;
            if (off[i] % 64 || off[i] + size[i] > arena) {
                bad = 1;
                jt_test_fail("plan/offsets_random", "value %d: offset %zu size %zu outside arena %zu or misaligned",
                             i, off[i], size[i], arena);
            }
            for (int32_t j = 0; j < i && !bad; j++) {
                if (size[j] == 0) continue;
                int live = def[i] <= last[j] && def[j] <= last[i];
                int mem = off[i] < off[j] + size[j] && off[j] < off[i] + size[i];
                if (live && mem) {
                    bad = 1;
                    jt_test_fail("plan/offsets_random",
                                 "trial %d: values %d [%d,%d] and %d [%d,%d] are live together and overlap in memory",
                                 trial, i, def[i], last[i], j, def[j], last[j]);
                }
            }
        }
    }
    if (!bad) {
        if (reused) jt_test_ok("plan/offsets_random");
        else jt_test_fail("plan/offsets_random", "no trial reused memory: the planner never shares buffers");
    }
    jt_ctx_free(ctx);
}

/* x -> Relu -> Add(.., x) -> Relu -> Add(.., x) ... : a chain where memory must be reused. */
static jt_status build_chain(jt_ctx *ctx, int depth, jt_graph **out) {
    jt_graph *g;
    JT_TRY(jt_graph_create(ctx, "chain", &g));
    int32_t x, prev;
    JT_TRY(jt_graph_add_value(ctx, g, "x", &x));
    g->values[x].dtype = JT_F32;
    g->values[x].rank = 2;
    g->values[x].dims[0] = JT_DIM_UNKNOWN;
    g->values[x].dim_params[0] = "N";
    g->values[x].dims[1] = 1000;
    JT_TRY(jt_graph_add_input(ctx, g, x));
    prev = x;
    for (int i = 0; i < depth; i++) {
        char name[64];
        int32_t nid, r, a;
        snprintf(name, sizeof name, "r%d", i);
        JT_TRY(jt_graph_add_value(ctx, g, name, &r));
        JT_TRY(jt_graph_add_node(ctx, g, name, "Relu", "", 1, 1, 0, &nid));
        g->nodes[nid].in[0] = prev;
        g->nodes[nid].out[0] = r;
        g->nodes[nid].op = jt_op_lookup("", "Relu", 17);
        g->values[r].producer = nid;
        snprintf(name, sizeof name, "a%d", i);
        JT_TRY(jt_graph_add_value(ctx, g, name, &a));
        JT_TRY(jt_graph_add_node(ctx, g, name, "Add", "", 2, 1, 0, &nid));
        g->nodes[nid].in[0] = r;
        g->nodes[nid].in[1] = x;
        g->nodes[nid].out[0] = a;
        g->nodes[nid].op = jt_op_lookup("", "Add", 17);
        g->values[a].producer = nid;
        prev = a;
    }
    JT_TRY(jt_graph_add_output(ctx, g, prev));
    for (int32_t k = 0; k < g->n_nodes; k++)
        if (!g->nodes[k].op) {
            jt_graph_free(g);
            return jt_fail(ctx, JT_ERR_UNSUPPORTED, "Relu or Add is not registered");
        }
    *out = g;
    return JT_OK;
}

static void test_chain(int threads, float *result, size_t *arena, size_t *naive) {
    jt_ctx *ctx;
    jt_ctx_create(threads, &ctx);
    jt_graph *g = NULL;
    jt_plan *p = NULL;
    char name[64];
    snprintf(name, sizeof name, "plan/chain_%dthreads", threads);
    enum { N = 3, C = 1000, DEPTH = 20 };
    float *x = malloc(sizeof(float) * N * C);
    for (int i = 0; i < N * C; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) / 1000.0f;
    jt_tensor in = {.dtype = JT_F32, .rank = 2, .dims = {N, C}, .data = x};
    if (build_chain(ctx, DEPTH, &g) != JT_OK || jt_plan_create(ctx, g, &in, 1, NULL, &p) != JT_OK ||
        jt_plan_run(p, &in, 1) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
    } else {
        const jt_tensor *y = jt_plan_output(p, 0);
        int ok = y->dtype == JT_F32 && y->rank == 2 && y->dims[0] == N && y->dims[1] == C;
        double worst = 0;
        for (int i = 0; ok && i < N * C; i++) {
            float v = x[i];
            for (int d = 0; d < DEPTH; d++) v = (v > 0 ? v : 0) + x[i];
            double e = (double)((float *)y->data)[i] - v;
            if (e < 0) e = -e;
            if (e > worst) worst = e;
            result[i] = ((float *)y->data)[i];
        }
        jt_plan_stats st;
        jt_plan_get_stats(p, &st);
        *arena = st.arena_bytes;
        *naive = st.naive_bytes;
        if (!ok) jt_test_fail(name, "output has the wrong dtype or shape");
        else if (worst > 1e-5) jt_test_fail(name, "max error %g against the direct computation", worst);
        else if (st.arena_bytes * 4 > st.naive_bytes)
            jt_test_fail(name, "arena %zu bytes for %zu bytes of activations: liveness reuse is not working",
                         st.arena_bytes, st.naive_bytes);
        else jt_test_ok(name);
    }
    /* a wrong shape is refused with the input's name */
    jt_tensor bad = {.dtype = JT_F32, .rank = 2, .dims = {N, C + 1}, .data = x};
    jt_plan *p2 = NULL;
    snprintf(name, sizeof name, "plan/wrong_shape_%dthreads", threads);
    if (g && jt_plan_create(ctx, g, &bad, 1, NULL, &p2) == JT_OK) jt_test_fail(name, "a [3,1001] input was accepted");
    else if (g && !strstr(jt_ctx_error(ctx), "'x'")) jt_test_fail(name, "message does not name the input: %s", jt_ctx_error(ctx));
    else if (g) jt_test_ok(name);
    jt_plan_free(p2);
    jt_plan_free(p);
    jt_graph_free(g);
    free(x);
    jt_ctx_free(ctx);
}

int main(void) {
    test_offsets_random();
    float r1[3000], r2[3000];
    size_t a1, n1, a2, n2;
    uint64_t saved = rng_state;
    test_chain(1, r1, &a1, &n1);
    rng_state = saved;
    test_chain(2, r2, &a2, &n2);
    if (memcmp(r1, r2, sizeof r1) != 0) jt_test_fail("plan/threads_bitwise", "1-thread and 2-thread results differ");
    else jt_test_ok("plan/threads_bitwise");
    return jt_test_finish();
}
