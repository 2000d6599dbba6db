/* Composition F = T∘P: the composed graph computes exactly T(P(x)) (bitwise, same kernels), T's
 * parameters are frozen, names are prefixed, and taps resolve by value, node and suffix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/compose.h"
#include "jatp/jatp.h"
#include "jt_test.h"

#define FIX JT_FIXTURES_DIR "/models/"

static jt_status run1(jt_ctx *ctx, const jt_graph *g, const jt_tensor *x, jt_tensor *y) {
    jt_plan *p;
    JT_TRY(jt_plan_create(ctx, g, x, 1, NULL, &p));
    jt_status st = jt_plan_run(p, x, 1);
    if (st == JT_OK) {
        const jt_tensor *o = jt_plan_output(p, 0);
        *y = *o;
        y->data = malloc(jt_tensor_nbytes(o));
        memcpy(y->data, o->data, jt_tensor_nbytes(o));
    }
    jt_plan_free(p);
    return st;
}

int main(void) {
    jt_ctx *ctx;
    jt_ctx_create(2, &ctx);
    jt_graph *P = NULL, *T = NULL, *F = NULL;
    jt_composed info = {0};
    jt_tensor x = {0}, y1 = {0}, y2 = {0}, yp = {0};
    const char *name = "compose/unet_then_resnet18";
    if (jt_onnx_load(ctx, FIX "unet_small/model.onnx", NULL, &P) != JT_OK ||
        jt_onnx_load(ctx, FIX "resnet18_w8_bn/model.onnx", NULL, &T) != JT_OK ||
        jt_npy_read(ctx, FIX "unet_small/input_b3.npy", &x) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
        return jt_test_finish();
    }
    if (jt_compose(ctx, P, T, &F, &info) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
        return jt_test_finish();
    }
    /* reference: P then T separately */
    if (run1(ctx, P, &x, &yp) != JT_OK || run1(ctx, T, &yp, &y1) != JT_OK || run1(ctx, F, &x, &y2) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
    } else if (!jt_dims_equal(y1.dims, y1.rank, y2.dims, y2.rank) || memcmp(y1.data, y2.data, jt_tensor_nbytes(&y1))) {
        jt_test_fail(name, "F(x) differs from T(P(x))");
    } else {
        jt_test_ok(name);
    }
    /* frozen and prefixed */
    int bad = 0, n_t = 0, n_p = 0;
    for (int32_t v = 0; v < F->n_values; v++) {
        const jt_value *val = &F->values[v];
        if (!(val->flags & JT_VALUE_PARAM)) continue;
        int is_t = strncmp(val->name, "T/", 2) == 0, is_p = strncmp(val->name, "P/", 2) == 0;
        n_t += is_t;
        n_p += is_p;
        if ((!is_t && !is_p) || (is_t && !(val->flags & JT_VALUE_FROZEN)) || (is_p && (val->flags & JT_VALUE_FROZEN)))
            bad++;
    }
    if (bad || !n_t || !n_p) jt_test_fail("compose/frozen_prefixed", "%d parameters wrongly flagged or named (%d T, %d P)",
                                          bad, n_t, n_p);
    else jt_test_ok("compose/frozen_prefixed");
    /* taps */
    int32_t v1 = -1, v2 = -1;
    if (jt_graph_find_tap(ctx, F, "layer3.1/conv2/Conv", &v1) != JT_OK) {
        jt_test_fail("compose/tap_suffix", "%s", jt_ctx_error(ctx));
    } else if (jt_graph_find_tap(ctx, F, F->values[v1].name, &v2) != JT_OK || v1 != v2) {
        jt_test_fail("compose/tap_suffix", "the value name of the tap does not resolve to the same value");
    } else {
        jt_test_ok("compose/tap_suffix");
    }
    if (jt_graph_find_tap(ctx, F, "Conv", &v1) == JT_OK || !strstr(jt_ctx_error(ctx), "matches"))
        jt_test_fail("compose/tap_ambiguous", "an ambiguous tap was accepted or badly reported: %s", jt_ctx_error(ctx));
    else jt_test_ok("compose/tap_ambiguous");
    if (jt_graph_find_tap(ctx, F, "no/such/layer", &v1) == JT_OK || !strstr(jt_ctx_error(ctx), "no/such/layer"))
        jt_test_fail("compose/tap_missing", "a missing tap was accepted or badly reported");
    else jt_test_ok("compose/tap_missing");
    free(x.data);
    free(y1.data);
    free(y2.data);
    free(yp.data);
    jt_composed_free(&info);
    jt_graph_free(F);
    jt_graph_free(P);
    jt_graph_free(T);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
