/* The graph IR: values (typed, possibly symbolic shapes, flags), nodes (resolved op, attributes) and
 * the graph that owns them in one arena. Objects refer to each other by integer id. The IR is the
 * only currency between the importer, the passes, the planner and the executor. */
#ifndef JATP_GRAPH_H
#define JATP_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "jatp/status.h"
#include "jatp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jt_op jt_op; /* ops/op.h */
typedef struct jt_arena jt_arena;

enum jt_value_flags {
    JT_VALUE_INPUT = 1u << 0,  /* graph input, bound by the caller */
    JT_VALUE_OUTPUT = 1u << 1, /* graph output */
    JT_VALUE_PARAM = 1u << 2,  /* initializer: has data from the model */
    JT_VALUE_FROZEN = 1u << 3, /* parameter that receives no gradient */
    JT_VALUE_CONST = 1u << 4,  /* value known at plan time (Constant node, folded) */
    JT_VALUE_STATE = 1u << 5   /* persistent state (BN running stats, optimizer moments) */
};

/* A dimension that is not known until the inputs are bound is stored as -1 with a name. */
#define JT_DIM_UNKNOWN (-1)

typedef struct jt_value {
    const char *name;
    jt_dtype dtype;       /* JT_UNDEF until inferred */
    int32_t rank;         /* -1 when unknown */
    int64_t dims[JT_MAX_RANK];
    const char *dim_params[JT_MAX_RANK]; /* symbolic names of unknown dims, or NULL */
    uint32_t flags;
    void *data;       /* initializer / constant payload (owned by the graph arena), or NULL */
    int32_t producer; /* node id, -1 for inputs and initializers */
} jt_value;

typedef enum jt_attr_type {
    JT_ATTR_UNDEF = 0,
    JT_ATTR_FLOAT = 1,
    JT_ATTR_INT = 2,
    JT_ATTR_STRING = 3,
    JT_ATTR_TENSOR = 4,
    JT_ATTR_GRAPH = 5,
    JT_ATTR_FLOATS = 6,
    JT_ATTR_INTS = 7,
    JT_ATTR_STRINGS = 8,
    JT_ATTR_TENSORS = 9,
    JT_ATTR_GRAPHS = 10,
    JT_ATTR_SPARSE_TENSOR = 11,
    JT_ATTR_SPARSE_TENSORS = 12,
    JT_ATTR_TYPE_PROTO = 13,
    JT_ATTR_TYPE_PROTOS = 14
} jt_attr_type; /* ONNX AttributeProto.AttributeType codes */

typedef struct jt_attr {
    const char *name;
    jt_attr_type type;
    int64_t i;
    double f;
    const char *s;       /* NUL-terminated copy of the bytes */
    int64_t s_len;       /* length of s in bytes (strings may hold NULs) */
    int32_t n;           /* element count for INTS / FLOATS / STRINGS */
    int64_t *ints;
    double *floats;
    const char **strings;
    jt_tensor *t;        /* TENSOR: dims, dtype, data in the arena */
} jt_attr;

typedef struct jt_node {
    const char *name;    /* never NULL: importer synthesises "<op_type>_<index>" when empty */
    const char *op_type;
    const char *domain;  /* "" for ai.onnx */
    int32_t opset;       /* the model's opset import for this domain */
    const jt_op *op;     /* resolved descriptor, NULL when unsupported */
    int32_t n_in, n_out;
    int32_t *in;         /* value ids; -1 = omitted optional input */
    int32_t *out;        /* value ids; -1 = omitted optional output */
    int32_t n_attrs;
    jt_attr *attrs;
    void *parsed;        /* the op's typed attribute struct (op->attr_size bytes), or NULL */
} jt_node;

typedef struct jt_graph {
    jt_arena *arena;
    const char *source; /* file name or builder name, for messages */
    const char *name;
    int64_t ir_version;
    int32_t opset_onnx; /* ai.onnx opset import (0 if none) */
    const char *producer_name;
    const char *producer_version;

    jt_value *values;
    int32_t n_values, cap_values;
    jt_node *nodes;
    int32_t n_nodes, cap_nodes;
    int32_t *inputs; /* value ids of real inputs (initializers excluded) */
    int32_t n_inputs, cap_inputs;
    int32_t *outputs;
    int32_t n_outputs, cap_outputs;

    int32_t *name_index; /* open-addressing hash of value names -> ids (-1 empty) */
    int32_t name_index_cap;
} jt_graph;

jt_status jt_graph_create(jt_ctx *ctx, const char *source, jt_graph **out);
void jt_graph_free(jt_graph *g);

/* Adds a value; the name is copied. Fails on a duplicate name. */
jt_status jt_graph_add_value(jt_ctx *ctx, jt_graph *g, const char *name, int32_t *id_out);
/* Id of the value with this name, or -1. */
int32_t jt_graph_find_value(const jt_graph *g, const char *name);
/* Adds a node with n_in inputs and n_out outputs (ids filled by the caller) and n_attrs attributes. */
jt_status jt_graph_add_node(jt_ctx *ctx, jt_graph *g, const char *name, const char *op_type,
                            const char *domain, int n_in, int n_out, int n_attrs, int32_t *id_out);
jt_status jt_graph_add_input(jt_ctx *ctx, jt_graph *g, int32_t value_id);
jt_status jt_graph_add_output(jt_ctx *ctx, jt_graph *g, int32_t value_id);

/* Arena helpers: memory freed with the graph. */
void *jt_graph_alloc(jt_graph *g, size_t bytes);
const char *jt_graph_strdup(jt_graph *g, const char *s);

/* Attribute lookup on a node; NULL when absent. */
const jt_attr *jt_node_attr(const jt_node *n, const char *name);

/* Widens a float32 graph to float64 in place (parameters, constants, inputs, Cast targets, constant
 * attributes): the float64 reference for gradient checks and for the CUDA backend. */
jt_status jt_graph_to_f64(jt_ctx *ctx, jt_graph *g);

/* Trainable parameters: PARAM values that are not FROZEN, STATE or CONST, in value order. Writes up
 * to cap ids and returns the count (which may exceed cap). */
int jt_graph_trainable_params(const jt_graph *g, int32_t *ids, int cap);

/* Copies the data of every parameter or state value of src into the value of the same name (after
 * prepending dst_prefix, may be NULL) in dst; dtypes and shapes must match. *copied (may be NULL)
 * receives the count. Values of src with no counterpart in dst are an error unless allow_missing. */
jt_status jt_graph_copy_params(jt_ctx *ctx, jt_graph *dst, const jt_graph *src, const char *dst_prefix,
                               int allow_missing, int *copied);

/* Parameter count and bytes over initializers (values with JT_VALUE_PARAM). */
void jt_graph_param_stats(const jt_graph *g, int64_t *count, int64_t *bytes);

#ifdef __cplusplus
}
#endif
#endif
