/* See kink.h. */
#include "kink.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jt_test.h"

/* Float32 rounding can put a ReLU / LeakyReLU input that is within rounding noise of 0 on the other
 * side than float64 does; the gradient then legitimately differs (one such element moves everything
 * below it). Returns 1, describing the worst such element, when the float32 and float64 forward runs
 * of the model disagree on the sign of an activation input whose float64 value is within 1e-6 of the
 * tensor's largest magnitude (float32 noise); 0 otherwise (then a mismatch is a real failure). */
int jt_test_kink_flip(jt_ctx *ctx, const char *dir, const jt_tensor *x32, char *why, size_t cap) {
    char path[2048];
    jt_graph *g[2] = {NULL, NULL};
    jt_plan *p[2] = {NULL, NULL};
    jt_tensor x64 = *x32;
    x64.data = NULL;
    int found = 0;
    double best = INFINITY;
    jt_test_fmt(path, sizeof path, "%s/model.onnx", dir);
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.keep_all = 1;
    int64_t n = jt_tensor_numel(x32);
    double *xd = malloc(sizeof(double) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) xd[i] = ((const float *)x32->data)[i];
    x64.data = xd;
    x64.dtype = JT_F64;
    for (int k = 0; k < 2; k++)
        if (jt_onnx_load(ctx, path, NULL, &g[k]) != JT_OK || (k && jt_graph_to_f64(ctx, g[k]) != JT_OK) ||
            jt_plan_create(ctx, g[k], k ? &x64 : x32, 1, &po, &p[k]) != JT_OK || jt_plan_run(p[k], k ? &x64 : x32, 1) != JT_OK)
            goto out;
    for (int32_t i = 0; i < g[0]->n_nodes; i++) {
        const jt_node *nd = &g[0]->nodes[i];
        if (strcmp(nd->op_type, "Relu") && strcmp(nd->op_type, "LeakyRelu")) continue;
        const jt_tensor *a = jt_plan_value(p[0], nd->in[0]), *b = jt_plan_value(p[1], nd->in[0]);
        if (!a || !b || a->dtype != JT_F32 || b->dtype != JT_F64) continue;
        int64_t m = jt_tensor_numel(a);
        double amax = 0;
        for (int64_t e = 0; e < m; e++) amax = fmax(amax, fabs(((const double *)b->data)[e]));
        for (int64_t e = 0; e < m; e++) {
            double v32 = ((const float *)a->data)[e], v64 = ((const double *)b->data)[e];
            if ((v32 > 0) != (v64 > 0) && fabs(v64) <= 1e-6 * amax) {
                found++;
                if (fabs(v64) < best) {
                    best = fabs(v64);
                    jt_test_fmt(why, cap, "%d activation input(s) cross 0 between float32 and float64 (e.g. %s[%lld]: %.3g vs %.3g)",
                                found, nd->name, (long long)e, v32, v64);
                }
            }
        }
    }
    if (found) { /* restate the count (the message was written at the first, closest element) */
        char *c = strchr(why, ' ');
        if (c) {
            char tmp[512];
            jt_test_fmt(tmp, sizeof tmp, "%d%s", found, c);
            jt_test_fmt(why, cap, "%s", tmp);
        }
    }
out:
    for (int k = 0; k < 2; k++) {
        jt_plan_free(p[k]);
        jt_graph_free(g[k]);
    }
    free(xd);
    return found > 0;
}
