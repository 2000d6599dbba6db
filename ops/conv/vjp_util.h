/* Helpers for VJP rules whose grad ops take the forward node's attributes (Conv, ConvTranspose and the
 * pooling ops): the grad op parses them with the forward op's parser. Header-only, no state. */
#ifndef JATP_OPS_VJP_UTIL_H
#define JATP_OPS_VJP_UTIL_H

#include "jatp/builder.h"
#include "op.h"

/* Sets the forward node's attributes as the builder's pending attributes (for the next node). The node
 * is looked up afresh: node pointers move as nodes are appended; attribute arrays live in the arena. */
static inline void jt_vjp_copy_attrs(jt_vjp_args *v) {
    const jt_node *n = &v->b->g->nodes[v->node_id];
    for (int i = 0; i < n->n_attrs; i++) {
        const jt_attr *a = &n->attrs[i];
        switch (a->type) {
        case JT_ATTR_INT: jt_gb_attr_int(v->b, a->name, a->i); break;
        case JT_ATTR_FLOAT: jt_gb_attr_float(v->b, a->name, a->f); break;
        case JT_ATTR_INTS: jt_gb_attr_ints(v->b, a->name, a->ints, a->n); break;
        case JT_ATTR_FLOATS: jt_gb_attr_floats(v->b, a->name, a->floats, a->n); break;
        case JT_ATTR_STRING: jt_gb_attr_string(v->b, a->name, a->s); break;
        default: break;
        }
    }
}

/* A grad op named `op` (domain jatp.grad) with the forward node's attributes. */
static inline int32_t jt_vjp_grad_op(jt_vjp_args *v, const char *op, const int32_t *ins, int n_in) {
    jt_vjp_copy_attrs(v);
    return jt_gb_op(v->b, op, JT_DOMAIN_GRAD, NULL, ins, n_in);
}

/* Shape(x), folded at plan time: lets a grad op know an input's shape without keeping its data alive. */
static inline int32_t jt_vjp_shape_of(jt_vjp_args *v, int32_t x) {
    return jt_gb_op(v->b, "Shape", "", NULL, (int32_t[]){x}, 1);
}

#endif
