/* ONNX import and export (protobuf-c). */
#ifndef JATP_ONNX_H
#define JATP_ONNX_H

#include "jatp/graph.h"
#include "jatp/status.h"
#include "jatp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jt_load_options {
    int allow_newer_opset; /* ai.onnx imports above 18 become a warning instead of an error */
    int check_support;     /* fail listing every unsupported node (default 1); 0 for inspect */
} jt_load_options;

void jt_load_options_default(jt_load_options *o);

/* Reads an ONNX model (initializers in every storage form, external data beside the file) into a
 * graph. With check_support, a model with unsupported ops fails with ONE error listing every
 * offending node. opts may be NULL. */
jt_status jt_onnx_load(jt_ctx *ctx, const char *path, const jt_load_options *opts, jt_graph **out);
jt_status jt_onnx_load_buffer(jt_ctx *ctx, const void *data, size_t size, const char *name,
                              const char *base_dir, const jt_load_options *opts, jt_graph **out);

/* Nodes with op == NULL or an unsupported entry; returns the count (for inspect). */
int jt_graph_unsupported_report(jt_ctx *ctx, const jt_graph *g);

/* Reads a serialized TensorProto file (ONNX backend test data: input_0.pb). The returned tensor's
 * data is malloc'ed and owned by the caller (free(t->data)). */
jt_status jt_onnx_read_tensor_file(jt_ctx *ctx, const char *path, jt_tensor *out);

typedef struct jt_save_options {
    /* Export only the nodes these values need, with these values as the graph outputs (a subgraph,
     * e.g. the denoiser P of a training graph); NULL or 0: the whole graph with its outputs. Graph
     * inputs and initializers are then those the written nodes read. */
    const int32_t *outputs;
    int n_outputs;
    /* Removed from the front of every name that starts with it (e.g. "P/"); names must stay unique. */
    const char *strip_prefix;
    /* Write training-mode BatchNormalization nodes in inference form (running statistics; the
     * running-statistic outputs are dropped and must not be read by anything written). */
    int bn_eval;
    const char *graph_name; /* NULL: the graph's name */
} jt_save_options;

void jt_save_options_default(jt_save_options *o);

/* Writes the graph as an ONNX model (IR 8, ai.onnx opset 17; jt_write_atomic): nodes with their
 * attributes, parameters as raw_data initializers with their current values (constants the nodes
 * read included; unread STATE values such as optimizer moments never), graph inputs and outputs with
 * dtype and shape (symbolic dims as dim_param). Fails with ONE error listing every node that is not
 * in the ai.onnx domain (jatp.grad, training ops) or whose op means something else at opset 17 than
 * at the opset it was built for. opts may be NULL. */
jt_status jt_onnx_save(jt_ctx *ctx, const jt_graph *g, const char *path, const jt_save_options *opts);
/* The same into a malloc'ed buffer (caller frees). */
jt_status jt_onnx_save_buffer(jt_ctx *ctx, const jt_graph *g, const jt_save_options *opts, void **data,
                              size_t *size);

#ifdef __cplusplus
}
#endif
#endif
