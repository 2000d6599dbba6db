#include "cli.h"

#include <stdio.h>
#include <string.h>

int cli_error(jt_ctx *ctx) {
    fprintf(stderr, "jatp: error: %s\n", jt_ctx_error(ctx));
    return 1;
}

int cli_ctx(int threads, jt_ctx **ctx) {
    jt_status st = jt_ctx_create(threads, ctx);
    if (st != JT_OK) {
        fprintf(stderr, "jatp: error: cannot create a context: %s\n", jt_status_str(st));
        return 1;
    }
    return 0;
}

int cli_default_shapes(jt_ctx *ctx, const jt_graph *g, int batch, jt_tensor *shapes) {
    (void)ctx;
    for (int i = 0; i < g->n_inputs; i++) {
        const jt_value *v = &g->values[g->inputs[i]];
        memset(&shapes[i], 0, sizeof shapes[i]);
        shapes[i].dtype = v->dtype == JT_UNDEF ? JT_F32 : v->dtype;
        shapes[i].rank = v->rank;
        for (int d = 0; d < v->rank; d++)
            shapes[i].dims[d] = v->dims[d] >= 0 ? v->dims[d] : (d == 0 ? batch : 1);
    }
    return 0;
}
