/* Upsample (7: 'scales' attribute; 9, 10: constant 'scales' input): modes nearest (output index =
 * floor(o / scale)) and linear (asymmetric coordinates, edge-clamped), on the Resize kernel. */
#include <string.h>

#include "resize.h"
#ifdef JT_HAVE_CUDA
#include "resize_cuda.h"
#endif

static jt_status upsample_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    resize_attrs *p = attrs;
    int since = n->op ? n->op->since : n->opset;
    static const char *const known7[] = {"mode", "scales", NULL};
    static const char *const known9[] = {"mode", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, since >= 9 ? known9 : known7));
    memset(p, 0, sizeof *p);
    const char *s;
    JT_TRY(jt_attr_string(ctx, g, n, "mode", "nearest", &s));
    p->mode = jt_resize_mode(s);
    if (p->mode != RS_NEAREST && p->mode != RS_LINEAR)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "mode '%s' is not nearest or linear", s);
    p->coord = RS_ASYMMETRIC;
    p->nearest = RS_FLOOR;
    p->n_axes = -1;
    p->in_roi = p->in_sizes = -1;
    p->in_scales = since >= 9 ? 1 : -1;
    if (since < 9) {
        if (!jt_node_attr(n, "scales"))
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute 'scales' is required");
        JT_TRY(jt_attr_floats(ctx, g, n, "scales", p->scale_attr, JT_MAX_RANK, &p->n_scale_attr));
    }
    return JT_OK;
}

const jt_op_impl jt_impl_upsample = {
    .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(resize_attrs),
    .parse = upsample_parse,
    .infer = jt_resize_infer,
    .workspace = jt_resize_workspace,
    .cpu_f32 = jt_resize_kernel, .cpu_f64 = jt_resize_kernel, .cpu_other = jt_resize_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_resize_cuda_f32, .cuda_prepare = jt_resize_cuda_prepare, .cuda_release = jt_resize_cuda_release,
    .cuda_workspace = jt_resize_workspace,
#endif
    .type_input = 0,
    .const_mask = 0x2u, .no_grad_mask = 0x2u,
    .vjp = jt_resize_vjp,
};
