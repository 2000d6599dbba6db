/* ONNX import (protobuf-c). */
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

#ifdef __cplusplus
}
#endif
#endif
