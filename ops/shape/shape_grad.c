/* VJP rules shared by the view ops of the shape family:
 *   Reshape, Flatten, Squeeze, Unsqueeze: dX = Reshape(dY, Shape(X)) (Shape folds at plan time, so X
 *     is not kept alive for the backward pass; allowzero = 1 from opset 14 so that empty dims stay 0);
 *   Identity (and inference-mode Dropout): dX = dY. */
#include "jatp/builder.h"
#include "shape_util.h"

jt_status jt_vjp_reshape_like(jt_vjp_args *v) {
    if (!v->need[0] || v->dy[0] < 0) return JT_OK;
    int32_t shp = jt_gb_op(v->b, "Shape", "", NULL, (int32_t[]){v->in[0]}, 1);
    if (v->b->opset >= 14) jt_gb_attr_int(v->b, "allowzero", 1);
    v->dx[0] = jt_gb_op(v->b, "Reshape", "", NULL, (int32_t[]){v->dy[0], shp}, 2);
    return jt_gb_status(v->b);
}

jt_status jt_vjp_pass_through(jt_vjp_args *v) {
    if (v->need[0]) v->dx[0] = v->dy[0];
    return JT_OK;
}
