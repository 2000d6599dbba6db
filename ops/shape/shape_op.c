/* Shape (1, 13, 15: start/end from 15) and Size (1, 13). Their outputs depend only on the input's dims
 * (JT_OP_SHAPE_ONLY): the folder runs these kernels at plan time with the input's data == NULL, so the
 * kernels never read input data. */
#include <string.h>

#include "shape_util.h"

typedef struct {
    int64_t start, end;
    bool has_end;
} shape_attrs;

static jt_status shape_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    shape_attrs *p = attrs;
    static const char *const known15[] = {"start", "end", NULL};
    static const char *const known[] = {NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, n->op && n->op->since >= 15 ? known15 : known));
    JT_TRY(jt_attr_int(ctx, g, n, "start", 0, &p->start));
    JT_TRY(jt_attr_int(ctx, g, n, "end", 0, &p->end));
    p->has_end = jt_node_attr(n, "end") != NULL;
    return JT_OK;
}

/* Clamped [start, end) over the input's dims. */
static void shape_range(const shape_attrs *p, int rank, int *s, int *e) {
    int64_t a = p->start, b = p->has_end ? p->end : rank;
    if (a < 0) a += rank;
    if (b < 0) b += rank;
    a = a < 0 ? 0 : a > rank ? rank : a;
    b = b < 0 ? 0 : b > rank ? rank : b;
    *s = (int)a;
    *e = (int)(b > a ? b : a);
}

static jt_status shape_infer(const jt_infer_args *a) {
    int s, e;
    shape_range(a->attrs, a->in[0]->rank, &s, &e);
    int64_t d[1] = {e - s};
    jt_tensor_set_shape(a->out[0], JT_I64, 1, d);
    return JT_OK;
}

static jt_status shape_kernel(const jt_kernel_args *a) {
    int s, e;
    shape_range(a->attrs, a->in[0]->rank, &s, &e);
    int64_t *y = a->out[0]->data;
    for (int i = s; i < e; i++) y[i - s] = a->in[0]->dims[i];
    return JT_OK;
}

const jt_op_impl jt_impl_shape = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(shape_attrs),
    .parse = shape_parse,
    .infer = shape_infer,
    .cpu_f32 = shape_kernel, .cpu_f64 = shape_kernel, .cpu_other = shape_kernel,
    .type_input = 0,
    .flags = JT_OP_SHAPE_ONLY,
    .no_grad_mask = 1u, /* reads only dims: never on a gradient path */
};

static jt_status size_infer(const jt_infer_args *a) {
    jt_tensor_set_shape(a->out[0], JT_I64, 0, NULL);
    return JT_OK;
}

static jt_status size_kernel(const jt_kernel_args *a) {
    *(int64_t *)a->out[0]->data = jt_tensor_numel(a->in[0]);
    return JT_OK;
}

const jt_op_impl jt_impl_size = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = size_infer,
    .cpu_f32 = size_kernel, .cpu_f64 = size_kernel, .cpu_other = size_kernel,
    .type_input = 0,
    .flags = JT_OP_SHAPE_ONLY,
    .no_grad_mask = 1u, /* reads only dims: never on a gradient path */
};
