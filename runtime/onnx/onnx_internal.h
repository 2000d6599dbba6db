/* Internal declarations of the ONNX importer. */
#ifndef JATP_ONNX_INTERNAL_H
#define JATP_ONNX_INTERNAL_H

#include "jatp/graph.h"
#include "jatp/status.h"
#include "onnx.pb-c.h"

typedef void *(*jt_alloc_fn)(void *user, size_t bytes);

/* Converts a TensorProto (raw_data, typed fields, or external data relative to base_dir) into a
 * dense little-endian tensor whose data comes from alloc. `file` and `what` name the source in
 * messages (e.g. the model file and "initializer 'conv1.weight'"). */
jt_status jt_tensor_from_proto(jt_ctx *ctx, const Onnx__TensorProto *tp, const char *file,
                               const char *what, const char *base_dir, jt_alloc_fn alloc,
                               void *alloc_user, jt_tensor *out);

/* Resolves every node's op against the registry for the model's opsets. With `report`, fails with one
 * error listing every unsupported node grouped by op. */
jt_status jt_resolve_ops(jt_ctx *ctx, jt_graph *g, int n_opsets, const char *const *domains,
                         const int64_t *versions, int report);

#endif
