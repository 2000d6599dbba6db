/* Programmatic graph construction (model builders, autodiff, losses, composition).
 *
 * A builder wraps a graph with a sticky status: after the first failure every call is a no-op that
 * returns -1, and jt_gb_status() reports the first error (already in the context's message). So a
 * model builder can chain many calls and check once at the end.
 *
 *   jt_gb b;  jt_gb_init(&b, ctx, g, 18);
 *   int32_t x = jt_gb_input(&b, "x", JT_F32, 4, (int64_t[]){-1, 3, 32, 32});
 *   jt_gb_attr_ints(&b, "pads", (int64_t[]){1, 1, 1, 1}, 4);
 *   int32_t y = jt_gb_op(&b, "Conv", "", "conv1", (int32_t[]){x, w}, 2);
 *   if (jt_gb_status(&b) != JT_OK) ...
 *
 * Attributes set with jt_gb_attr_* are attached to the next node created and then cleared. */
#ifndef JATP_BUILDER_H
#define JATP_BUILDER_H

#include "jatp/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JT_GB_MAX_ATTRS 16

typedef struct jt_gb {
    jt_ctx *ctx;
    jt_graph *g;
    int opset;        /* ai.onnx opset used to resolve standard ops */
    jt_status status; /* first failure, sticky */
    const char *prefix; /* prepended to node and value names (e.g. "P/"), may be NULL */
    int n_attrs;
    jt_attr attrs[JT_GB_MAX_ATTRS];
    int counter;      /* for unique generated names */
} jt_gb;

void jt_gb_init(jt_gb *b, jt_ctx *ctx, jt_graph *g, int opset);
jt_status jt_gb_status(const jt_gb *b);

/* A graph input; dims[i] < 0 marks a symbolic dimension (named "N" for axis 0, else "d<i>"). */
int32_t jt_gb_input(jt_gb *b, const char *name, jt_dtype dt, int rank, const int64_t *dims);
/* A parameter (initializer). data is copied when non-NULL, else zero-filled. */
int32_t jt_gb_param(jt_gb *b, const char *name, jt_dtype dt, int rank, const int64_t *dims, const void *data);
/* A constant value (JT_VALUE_CONST, data copied). */
int32_t jt_gb_const(jt_gb *b, const char *name, jt_dtype dt, int rank, const int64_t *dims, const void *data);
int32_t jt_gb_const_scalar_f32(jt_gb *b, float v);
int32_t jt_gb_const_i64s(jt_gb *b, const int64_t *v, int n); /* 1-D int64 */
void jt_gb_output(jt_gb *b, int32_t value);

void jt_gb_attr_int(jt_gb *b, const char *name, int64_t v);
void jt_gb_attr_float(jt_gb *b, const char *name, double v);
void jt_gb_attr_ints(jt_gb *b, const char *name, const int64_t *v, int n);
void jt_gb_attr_floats(jt_gb *b, const char *name, const double *v, int n);
void jt_gb_attr_string(jt_gb *b, const char *name, const char *s);

/* Adds a node with n_in inputs (-1 = omitted optional input) and n_out outputs whose value ids are
 * written to outs (names "<node>:<i>", or "<node>" for a single output). Resolves the op at the
 * builder's opset (domain "" = ai.onnx; other domains at version 1) and parses the pending
 * attributes. name may be NULL (a unique name is generated). Returns 0 or -1. */
int jt_gb_node(jt_gb *b, const char *op_type, const char *domain, const char *name, const int32_t *ins,
               int n_in, int32_t *outs, int n_out);
/* Single-output convenience form: returns the output value id, or -1. */
int32_t jt_gb_op(jt_gb *b, const char *op_type, const char *domain, const char *name, const int32_t *ins,
                 int n_in);

#ifdef __cplusplus
}
#endif
#endif
