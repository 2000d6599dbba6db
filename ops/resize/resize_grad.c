/* Gradient of Resize and Upsample: dX = ResizeGrad(dY, Shape(X), roi, scales, sizes) (jatp.grad), the
 * adjoint of the interpolation. Resize is linear in X with weights that depend only on the geometry, and
 * separable (nearest, linear and cubic alike: a tensor product of per-axis tap matrices), so the adjoint
 * is one pass per changing axis in which every output position adds w * dY to each source tap it read.
 * Extrapolated positions (tf_crop_and_resize) contribute nothing. Every mode, coordinate transformation,
 * nearest_mode, exclude_outside, axes and keep_aspect_ratio_policy of the forward is supported: the tap
 * tables are the forward kernel's. Attributes: Resize-18's, plus Upsample-7's 'scales' floats.
 * roi/scales/sizes receive no gradient. Deterministic: each task owns whole lines of the destination. */
#include <string.h>

#include "jatp/builder.h"
#include "resize.h"
#ifdef JT_HAVE_CUDA
#include "resize_cuda.h"
#endif
#include "shape/shape_util.h"

jt_status jt_resize_vjp(jt_vjp_args *v) {
    const resize_attrs *p = v->attrs;
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
                                         "tf_half_pixel_for_nearest", "tf_crop_and_resize"};
    static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    static const char *const keep[] = {"stretch", "not_larger", "not_smaller"};
    if (!v->need[0]) return JT_OK;
    int32_t ins[5] = {v->dy[0], -1, -1, -1, -1};
    ins[1] = jt_gb_op(v->b, "Shape", "", NULL, &v->in[0], 1);
    int src[3] = {p->in_roi, p->in_scales, p->in_sizes};
    for (int k = 0; k < 3; k++)
        if (src[k] >= 0 && src[k] < v->n_in) ins[2 + k] = v->in[src[k]];
    jt_gb *b = v->b;
    jt_gb_attr_string(b, "mode", modes[p->mode]);
    jt_gb_attr_string(b, "coordinate_transformation_mode", coords[p->coord]);
    jt_gb_attr_string(b, "nearest_mode", nearest[p->nearest]);
    jt_gb_attr_float(b, "cubic_coeff_a", p->cubic_a);
    jt_gb_attr_int(b, "exclude_outside", p->exclude_outside);
    jt_gb_attr_float(b, "extrapolation_value", p->extrapolation);
    jt_gb_attr_string(b, "keep_aspect_ratio_policy", keep[p->keep_policy]);
    if (p->n_axes >= 0) jt_gb_attr_ints(b, "axes", p->axes, p->n_axes);
    if (p->n_scale_attr > 0) jt_gb_attr_floats(b, "scales", p->scale_attr, p->n_scale_attr);
    v->dx[0] = jt_gb_op(b, "ResizeGrad", JT_DOMAIN_GRAD, NULL, ins, 5);
    return jt_gb_status(b);
}

static jt_status resize_grad_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    resize_attrs *p = attrs;
    static const char *const known[] = {"coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
                                        "extrapolation_value", "mode", "nearest_mode", "axes",
                                        "keep_aspect_ratio_policy", "scales", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(jt_resize_parse_attrs(ctx, g, n, p, 18));
    p->in_roi = 2;
    p->in_scales = 3;
    p->in_sizes = 4;
    if (jt_node_attr(n, "scales"))
        JT_TRY(jt_attr_floats(ctx, g, n, "scales", p->scale_attr, JT_MAX_RANK, &p->n_scale_attr));
    return JT_OK;
}

/* The forward geometry for X of dims xd (a shape-only stand-in for X in slot 0). */
jt_status jt_resize_grad_geometry(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const resize_attrs *p, int n_in,
                                  const jt_tensor *const *in, int r, const int64_t *xd, resize_geom *geo) {
    jt_tensor x;
    memset(&x, 0, sizeof x);
    jt_tensor_set_shape(&x, in[0]->dtype, r, xd);
    const jt_tensor *v[5] = {&x, NULL, NULL, NULL, NULL};
    for (int k = 2; k < n_in && k < 5; k++) v[k] = in[k];
    return jt_resize_geometry(ctx, g, n, p, 5, v, geo);
}

static jt_status resize_grad_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0];
    int64_t xd[JT_MAX_RANK];
    int r;
    resize_geom geo;
    if (!jt_dtype_is_float(dy->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "dY is %s, expected float32 or float64",
                            jt_dtype_name(dy->dtype));
    JT_TRY(jt_read_const_ints(a->ctx, a->graph, a->node, a->in[1], "shape", xd, JT_MAX_RANK, &r));
    JT_TRY(jt_resize_grad_geometry(a->ctx, a->graph, a->node, a->attrs, a->n_in, a->in, r, xd, &geo));
    if (!jt_dims_equal(geo.out, r, dy->dims, dy->rank)) {
        char s0[128], s1[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY is %s, the resized input is %s",
                            jt_dims_str(dy->dims, dy->rank, s0, sizeof s0), jt_dims_str(geo.out, r, s1, sizeof s1));
    }
    jt_tensor_set_shape(a->out[0], dy->dtype, r, xd);
    return JT_OK;
}

size_t jt_resize_grad_workspace(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0], *dx = a->out[0];
    jt_axis_map dummy;
    const jt_axis_map *all[JT_MAX_RANK];
    for (int d = 0; d < dx->rank; d++) all[d] = &dummy; /* every axis mapped: an upper bound */
    return jt_resize_tables_bytes(a->attrs, dy->dims, dy->rank) +
           jt_sep_adjoint_workspace(dx->rank, dx->dims, dy->dims, all, jt_dtype_size(dy->dtype));
}

static jt_status resize_grad_kernel(const jt_kernel_args *a) {
    const resize_attrs *p = a->attrs;
    const jt_tensor *dy = a->in[0];
    jt_tensor *dx = a->out[0];
    int r = dx->rank;
    resize_geom geo;
    JT_TRY(jt_resize_grad_geometry(a->ctx, NULL, a->node, p, a->n_in, a->in, r, dx->dims, &geo));
    if (jt_tensor_numel(dx) == 0) return JT_OK;
    if (jt_tensor_numel(dy) == 0 || r == 0) {
        if (r == 0) memcpy(dx->data, dy->data, jt_dtype_size(dx->dtype));
        else jt_par_zero(a->pool, dx->data, jt_tensor_nbytes(dx));
        return JT_OK;
    }
    if (!a->ws || a->ws_size < jt_resize_grad_workspace(a))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "workspace too small");
    jt_resize_table tab[JT_MAX_RANK];
    jt_axis_map m[JT_MAX_RANK];
    const jt_axis_map *maps[JT_MAX_RANK];
    char *w = jt_resize_build_tables(p, &geo, a->ws, tab);
    int T = jt_resize_taps(p->mode);
    for (int d = 0; d < r; d++) {
        maps[d] = NULL;
        if (tab[d].identity) continue;
        m[d] = (jt_axis_map){.n_in = geo.in[d], .n_out = geo.out[d], .T = T, .idx = tab[d].idx, .w = tab[d].w,
                             .zero = tab[d].ext};
        maps[d] = &m[d];
    }
    jt_sep_adjoint(a->pool, dx->dtype, r, dx->dims, dy->dims, maps, dx->data, dy->data, w);
    return JT_OK;
}

const jt_op_impl jt_impl_resize_grad = {
    .min_in = 2, .max_in = 5, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(resize_attrs),
    .parse = resize_grad_parse,
    .infer = resize_grad_infer,
    .workspace = jt_resize_grad_workspace,
    .cpu_f32 = resize_grad_kernel, .cpu_f64 = resize_grad_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_resize_grad_cuda_f32, .cuda_prepare = jt_resize_grad_cuda_prepare,
    .cuda_release = jt_resize_cuda_release, .cuda_workspace = jt_resize_grad_workspace,
#endif
    .type_input = 0,
    .const_mask = 0x1Eu, .no_grad_mask = 0x1Eu,
};
