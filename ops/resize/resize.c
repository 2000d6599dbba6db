/* Resize (10, 11, 13, 18): modes nearest, linear (1-D to N-D, bilinear on 4-D) and cubic; every
 * coordinate_transformation_mode of opset 18 (half_pixel, asymmetric, align_corners,
 * pytorch_half_pixel, tf_half_pixel_for_nearest, tf_crop_and_resize), every nearest_mode,
 * exclude_outside, extrapolation_value, cubic_coeff_a; opset 18's axes and keep_aspect_ratio_policy.
 * antialias = 1 is refused at parse time. Resize-10 behaves like Upsample (asymmetric, nearest = floor).
 * roi, scales and sizes must be constants. The kernel is in resize_kernel.c. */
#include <string.h>

#include "resize.h"
#ifdef JT_HAVE_CUDA
#include "resize_cuda.h"
#endif

static jt_status resize_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    resize_attrs *p = attrs;
    int since = n->op ? n->op->since : n->opset;
    static const char *const known10[] = {"mode", NULL};
    static const char *const known11[] = {"coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
                                          "extrapolation_value", "mode", "nearest_mode", NULL};
    static const char *const known18[] = {"coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
                                          "extrapolation_value", "mode", "nearest_mode", "antialias", "axes",
                                          "keep_aspect_ratio_policy", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, since >= 18 ? known18 : since >= 11 ? known11 : known10));
    return jt_resize_parse_attrs(ctx, g, n, p, since);
}

jt_status jt_resize_parse_attrs(jt_ctx *ctx, const jt_graph *g, const jt_node *n, resize_attrs *p, int since) {
    memset(p, 0, sizeof *p);
    const char *s;
    JT_TRY(jt_attr_string(ctx, g, n, "mode", "nearest", &s));
    p->mode = jt_resize_mode(s);
    if (p->mode < 0 || (since < 11 && p->mode == RS_CUBIC) || strcmp(s, "bilinear") == 0)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "mode '%s' is not nearest, linear%s", s,
                            since >= 11 ? " or cubic" : "");
    p->n_axes = -1;
    p->in_roi = -1;
    p->in_scales = 1;
    p->in_sizes = -1;
    if (since < 11) { /* like Upsample */
        p->coord = RS_ASYMMETRIC;
        p->nearest = RS_FLOOR;
        return JT_OK;
    }
    p->in_roi = 1;
    p->in_scales = 2;
    p->in_sizes = 3;
    JT_TRY(jt_attr_string(ctx, g, n, "coordinate_transformation_mode", "half_pixel", &s));
    static const char *const coords[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
                                         "tf_half_pixel_for_nearest", "tf_crop_and_resize"};
    p->coord = -1;
    for (int i = 0; i < 6; i++)
        if (strcmp(s, coords[i]) == 0) p->coord = i;
    if (strcmp(s, "tf_half_pixel_for_nn") == 0) p->coord = RS_TF_HALF_PIXEL_NN; /* spelling in ONNX's tests */
    if (p->coord < 0)
        return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s' is not supported", s);
    JT_TRY(jt_attr_string(ctx, g, n, "nearest_mode", "round_prefer_floor", &s));
    static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    p->nearest = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(s, nearest[i]) == 0) p->nearest = i;
    if (p->nearest < 0) return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "nearest_mode '%s' is not supported", s);
    JT_TRY(jt_attr_float(ctx, g, n, "cubic_coeff_a", -0.75, &p->cubic_a));
    JT_TRY(jt_attr_float(ctx, g, n, "extrapolation_value", 0.0, &p->extrapolation));
    int64_t v;
    JT_TRY(jt_attr_int(ctx, g, n, "exclude_outside", 0, &v));
    p->exclude_outside = v != 0;
    JT_TRY(jt_attr_int(ctx, g, n, "antialias", 0, &v));
    if (v != 0)
        return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "antialias = %lld is not supported (only 0)", (long long)v);
    if (jt_node_attr(n, "axes")) JT_TRY(jt_attr_ints(ctx, g, n, "axes", p->axes, JT_MAX_RANK, &p->n_axes));
    JT_TRY(jt_attr_string(ctx, g, n, "keep_aspect_ratio_policy", "stretch", &s));
    if (strcmp(s, "stretch") == 0) p->keep_policy = RS_STRETCH;
    else if (strcmp(s, "not_larger") == 0) p->keep_policy = RS_NOT_LARGER;
    else if (strcmp(s, "not_smaller") == 0) p->keep_policy = RS_NOT_SMALLER;
    else return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "keep_aspect_ratio_policy '%s' is not supported", s);
    return JT_OK;
}

const jt_op_impl jt_impl_resize = {
    .min_in = 1, .max_in = 4, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(resize_attrs),
    .parse = resize_parse,
    .infer = jt_resize_infer,
    .workspace = jt_resize_workspace,
    .cpu_f32 = jt_resize_kernel, .cpu_f64 = jt_resize_kernel, .cpu_other = jt_resize_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_resize_cuda_f32, .cuda_prepare = jt_resize_cuda_prepare, .cuda_release = jt_resize_cuda_release,
    .cuda_workspace = jt_resize_workspace,
#endif
    .type_input = 0,
    .const_mask = 0xEu, .no_grad_mask = 0xEu,
    .vjp = jt_resize_vjp,
};
