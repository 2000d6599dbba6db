/* Constant (1, 9, 11, 12, 13) and ConstantOfShape (9). Constant's value comes from one attribute:
 * 'value' (a tensor), 'value_float(s)' (float32) or 'value_int(s)' (int64); sparse and string values are
 * refused. The kernel copies the attribute data (the folder runs it at plan time: no inputs). */
#include <string.h>

#include "shape_util.h"

enum { CK_TENSOR, CK_FLOAT, CK_FLOATS, CK_INT, CK_INTS };

typedef struct {
    int kind;
    const jt_attr *attr;
} constant_attrs;

static jt_status constant_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    constant_attrs *p = attrs;
    static const char *const known[] = {"value", "value_float", "value_floats", "value_int", "value_ints",
                                        "sparse_value", "value_string", "value_strings", NULL};
    static const char *const names[] = {"value", "value_float", "value_floats", "value_int", "value_ints"};
    static const jt_attr_type types[] = {JT_ATTR_TENSOR, JT_ATTR_FLOAT, JT_ATTR_FLOATS, JT_ATTR_INT,
                                         JT_ATTR_INTS};
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    if (n->n_attrs != 1)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "exactly one value attribute is required, got %d",
                            n->n_attrs);
    const jt_attr *at = &n->attrs[0];
    for (int k = 0; k < 5; k++) {
        if (strcmp(at->name, names[k]) != 0) continue;
        if (at->type != types[k])
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute '%s' has the wrong type (%d)",
                                at->name, (int)at->type);
        if (k == CK_TENSOR) {
            if (!at->t || !jt_dtype_supported(at->t->dtype))
                return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "tensor 'value' has unsupported dtype %s",
                                    at->t ? jt_dtype_name(at->t->dtype) : "(none)");
            if (!at->t->data && jt_tensor_numel(at->t) > 0)
                return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "tensor 'value' has no data");
        }
        p->kind = k;
        p->attr = at;
        return JT_OK;
    }
    return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED, "attribute '%s' (sparse or string constants) is not supported",
                        at->name);
}

static jt_status constant_infer(const jt_infer_args *a) {
    const constant_attrs *p = a->attrs;
    const jt_attr *at = p->attr;
    int64_t d[1] = {at->n};
    switch (p->kind) {
    case CK_TENSOR: jt_tensor_set_shape(a->out[0], at->t->dtype, at->t->rank, at->t->dims); break;
    case CK_FLOAT: jt_tensor_set_shape(a->out[0], JT_F32, 0, d); break;
    case CK_FLOATS: jt_tensor_set_shape(a->out[0], JT_F32, 1, d); break;
    case CK_INT: jt_tensor_set_shape(a->out[0], JT_I64, 0, d); break;
    default: jt_tensor_set_shape(a->out[0], JT_I64, 1, d); break;
    }
    return JT_OK;
}

static jt_status constant_kernel(const jt_kernel_args *a) {
    const constant_attrs *p = a->attrs;
    const jt_attr *at = p->attr;
    float *f = a->out[0]->data;
    int64_t *i = a->out[0]->data;
    switch (p->kind) {
    case CK_TENSOR:
        if (jt_tensor_nbytes(at->t)) memcpy(a->out[0]->data, at->t->data, jt_tensor_nbytes(at->t));
        break;
    case CK_FLOAT: f[0] = (float)at->f; break;
    case CK_FLOATS:
        for (int k = 0; k < at->n; k++) f[k] = (float)at->floats[k];
        break;
    case CK_INT: i[0] = at->i; break;
    default:
        for (int k = 0; k < at->n; k++) i[k] = at->ints[k];
        break;
    }
    return JT_OK;
}

const jt_op_impl jt_impl_constant = {
    .min_in = 0, .max_in = 0, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(constant_attrs),
    .parse = constant_parse,
    .infer = constant_infer,
    .cpu_f32 = constant_kernel, .cpu_f64 = constant_kernel, .cpu_other = constant_kernel,
    .type_input = -1,
};

/* ---- ConstantOfShape ---- */

typedef struct {
    const jt_tensor *value; /* NULL: float32 zero */
} cos_attrs;

static jt_status cos_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    cos_attrs *p = attrs;
    static const char *const known[] = {"value", NULL};
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    const jt_attr *at = jt_node_attr(n, "value");
    p->value = NULL;
    if (!at) return JT_OK;
    if (at->type != JT_ATTR_TENSOR || !at->t)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute 'value' must be a tensor");
    if (!jt_dtype_supported(at->t->dtype) || jt_tensor_numel(at->t) != 1 || !at->t->data)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL,
                            "attribute 'value' must be a one-element tensor of a supported dtype (got %s, %lld "
                            "elements)",
                            jt_dtype_name(at->t->dtype), (long long)jt_tensor_numel(at->t));
    p->value = at->t;
    return JT_OK;
}

static jt_status cos_infer(const jt_infer_args *a) {
    const cos_attrs *p = a->attrs;
    int64_t d[JT_MAX_RANK];
    int r;
    JT_TRY(jt_read_const_ints(a->ctx, a->graph, a->node, a->in[0], "input", d, JT_MAX_RANK, &r));
    for (int i = 0; i < r; i++)
        if (d[i] < 0)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "shape[%d] = %lld is negative", i,
                                (long long)d[i]);
    jt_tensor_set_shape(a->out[0], p->value ? p->value->dtype : JT_F32, r, d);
    return JT_OK;
}

static jt_status cos_kernel(const jt_kernel_args *a) {
    const cos_attrs *p = a->attrs;
    jt_tensor *y = a->out[0];
    size_t es = jt_dtype_size(y->dtype);
    int64_t n = jt_tensor_numel(y);
    if (n == 0) return JT_OK;
    static const uint64_t zero = 0;
    /* fill by a broadcast strided copy of the one value */
    int64_t one = n, st = 0;
    jt_strided_copy(a->pool, y->data, p->value ? p->value->data : (const void *)&zero, es, 1, &one, &st);
    return JT_OK;
}

const jt_op_impl jt_impl_constant_of_shape = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(cos_attrs),
    .parse = cos_parse,
    .infer = cos_infer,
    .cpu_f32 = cos_kernel, .cpu_f64 = cos_kernel, .cpu_other = cos_kernel,
    .type_input = -1,
    .no_grad_mask = 1u, .const_mask = 1u,
};
