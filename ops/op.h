/* The operator descriptor: everything the engine knows about an op lives in one `const jt_op`.
 *
 * Adding an op: write its descriptor in the family folder, add one line to the family's .def file
 * (included by ops/ops.def), add the source files to the family's meson.build and rows to the test
 * tables. Nothing else enumerates ops.
 *
 * Lifecycle of a node:
 *   parse   (import time)  node attributes -> typed struct (node->parsed, op->attr_size bytes),
 *                          with ONNX defaults; an unknown attribute is an error naming it.
 *   infer   (plan time)    input dtypes/dims (and data, when constant) -> output dtypes/dims.
 *                          Shapes are fully static once the graph inputs are bound.
 *   workspace (plan time)  scratch bytes needed by the CPU kernel (shared, sized to the worst node).
 *   kernel  (run time)     computes outputs; also used by constant folding at plan time.
 */
#ifndef JATP_OP_H
#define JATP_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jatp/graph.h"
#include "jatp/status.h"
#include "jatp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JT_DOMAIN_ONNX ""
#define JT_DOMAIN_TRAINING "ai.onnx.preview.training"
#define JT_DOMAIN_GRAD "jatp.grad"

/* Host/device inline functions: element-wise bodies shared by the C and CUDA compilers. */
#ifdef __CUDACC__
#define JT_HD __host__ __device__ static inline
#else
#define JT_HD static inline
#endif

/* Arguments of infer. Inputs: dtype, rank, dims always set; data non-NULL only when the input is a
 * constant (initializer, Constant, or folded). Outputs: infer sets dtype, rank, dims. Omitted optional
 * inputs/outputs are NULL. */
typedef struct jt_infer_args {
    jt_ctx *ctx;
    const jt_graph *graph;
    const jt_node *node;
    const void *attrs; /* node->parsed */
    int n_in, n_out;
    const jt_tensor *const *in;
    jt_tensor *const *out;
} jt_infer_args;

/* Arguments of a kernel. Tensors have data. ws is a 64-byte-aligned scratch buffer of the size the
 * op's workspace function asked for (not zeroed). */
typedef struct jt_kernel_args {
    jt_ctx *ctx;
    const jt_node *node;
    const void *attrs;
    int n_in, n_out;
    const jt_tensor *const *in;
    jt_tensor *const *out;
    void *ws;
    size_t ws_size;
    jt_pool *pool;
    void *state; /* what the op's prepare() returned for this node in this plan, or NULL */
    uint64_t seed;      /* the context's run seed (jt_ctx_set_seed), for random ops (Philox key) */
    uint64_t run_index; /* how many times this plan ran before (Philox call counter of random ops) */
    const jt_graph *graph; /* for messages (jt_node_fail names the model file) */
    struct jt_backend *backend; /* the plan's backend (CUDA kernels get their stream and handles here) */
} jt_kernel_args;

typedef jt_status (*jt_parse_fn)(jt_ctx *ctx, const jt_graph *g, const jt_node *node, void *attrs);
typedef jt_status (*jt_infer_fn)(const jt_infer_args *a);
typedef size_t (*jt_workspace_fn)(const jt_kernel_args *a); /* a->ws is NULL here */
typedef jt_status (*jt_kernel_fn)(const jt_kernel_args *a);
/* Plan-time preparation for one node with concrete shapes (e.g. a oneDNN primitive or a cuDNN
 * algorithm choice): called once when a plan is built (tensors have shapes, data may be NULL); the
 * state it returns is passed to every kernel call as a->state and released with the plan. */
typedef jt_status (*jt_prepare_fn)(const jt_kernel_args *a, void **state);
typedef void (*jt_release_fn)(void *state);
/* FLOPs (multiply-add = 2) and bytes moved, for inspect and bench. */
typedef void (*jt_cost_fn)(const jt_kernel_args *a, double *flops, double *bytes);

enum jt_op_flags {
    JT_OP_ALIAS = 1u << 0,      /* output 0 is a zero-copy view of input 0 (Reshape, Flatten, ...) */
    JT_OP_INPLACE_OK = 1u << 1, /* output 0 may share input 0's buffer (element-wise) */
    JT_OP_NO_FOLD = 1u << 2,    /* never constant-fold (random ops) */
    /* Output depends only on input shapes, not on input data (Shape, Size): the constant folder runs
     * the kernel at plan time even when inputs are not constant, with those inputs' data == NULL. The
     * kernel must read only dtype/rank/dims of its inputs. */
    JT_OP_SHAPE_ONLY = 1u << 3
};

/* ---- reverse mode: vector-Jacobian product rules ----
 * A rule appends jatp.grad (or standard) nodes through the builder that compute the gradients of the
 * loss with respect to the requested inputs, given the gradients with respect to the outputs.
 * Everything the rule needs about the forward node is copied into the args: node pointers move when
 * nodes are added. Grad kernels overwrite (=) their outputs; fan-out sums are the autodiff's job. */
struct jt_gb;
typedef struct jt_vjp_args {
    struct jt_gb *b;
    int32_t node_id;
    const char *name;       /* forward node name, for naming grad nodes */
    const void *attrs;      /* forward node's parsed attributes (stable) */
    int n_in, n_out;
    const int32_t *in;      /* forward input value ids (-1 = omitted) */
    const int32_t *out;     /* forward output value ids */
    const int32_t *dy;      /* per output: gradient value id, or -1 when none flows back */
    const bool *need;       /* per input: is its gradient wanted */
    int32_t *dx;            /* per input: the rule writes gradient value ids here (else -1) */
} jt_vjp_args;
typedef jt_status (*jt_vjp_fn)(jt_vjp_args *a);

/* The behaviour of an op, shared by the versions whose semantics it implements (parse can consult
 * node->op->since where versions differ in detail, e.g. Clip-6 attributes vs Clip-11 inputs). */
typedef struct jt_op_impl {
    int min_in, max_in; /* max_in = -1: variadic */
    int min_out, max_out;
    size_t attr_size;
    jt_parse_fn parse;  /* NULL: the op takes no attributes (any attribute is an error) */
    jt_infer_fn infer;
    jt_workspace_fn workspace; /* NULL: none */
    jt_cost_fn cost;           /* NULL: 0 flops, bytes = inputs + outputs */
    jt_prepare_fn prepare;     /* NULL: no per-node plan state */
    jt_release_fn release;
    /* Kernels by the dtype of the "type" input (type_input): f32, f64, and any other dtype
     * (integer/bool, or dtype-generic data movement). NULL = not implemented for that dtype. */
    jt_kernel_fn cpu_f32;
    jt_kernel_fn cpu_f64;
    jt_kernel_fn cpu_other;
    jt_kernel_fn cuda_f32; /* CUDA backend kernel (device pointers, the backend's stream); NULL: none */
    /* CUDA counterparts of prepare/release/workspace (cuDNN algorithm choice, descriptors), used by
     * plans on the CUDA backend; the CPU ones are used on the CPU. NULL: none. */
    jt_prepare_fn cuda_prepare;
    jt_release_fn cuda_release;
    jt_workspace_fn cuda_workspace;
    int type_input; /* index of the input whose dtype selects the kernel; -1: output 0's dtype */
    uint32_t flags;
    jt_vjp_fn vjp;          /* NULL: not differentiable (autodiff reports it when on a gradient path) */
    uint32_t no_grad_mask;  /* bit i set: input i never receives a gradient (shapes, indices, axes) */
    uint32_t const_mask;    /* bit i set: input i must be known at plan time (shape, scales, axes); a
                             * graph input feeding it is folded when its data is given at plan time */
} jt_op_impl;

/* One registry entry = one line of ops/ops.def: (domain, name, since_version) -> behaviour. */
struct jt_op {
    const char *domain; /* "" (ai.onnx), "ai.onnx.preview.training", "jatp.grad" */
    const char *name;
    int since;
    const jt_op_impl *impl;         /* NULL for JT_OP_NO entries */
    const char *unsupported_reason; /* non-NULL for JT_OP_NO entries */
};

/* ---- registry (ops/registry.c, expanded from ops/ops.def) ---- */

/* Highest registered since_version <= opset for (domain, name). Returns NULL when there is none; when
 * the best entry is a JT_OP_NO line, returns that entry (unsupported_reason set). */
const jt_op *jt_op_lookup(const char *domain, const char *name, int opset);
/* All registry entries, in ops.def order. */
const jt_op *jt_op_table(int *count);
/* Kernel for a dtype, or NULL. */
jt_kernel_fn jt_op_cpu_kernel(const jt_op *op, jt_dtype dt);

/* ---- helpers for attribute parsing (ops/attr_util.c) ---- */

/* Checks that every attribute of the node is in the NULL-terminated list `known`; otherwise fails
 * naming the attribute, node and op. */
jt_status jt_attrs_check_known(jt_ctx *ctx, const jt_graph *g, const jt_node *n,
                               const char *const *known);
/* Typed getters with defaults; fail (naming node and attribute) on a type mismatch. */
jt_status jt_attr_int(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name,
                      int64_t def, int64_t *out);
jt_status jt_attr_float(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name,
                        double def, double *out);
/* Copies up to cap ints; *count = number present (0 and no copy when absent). Fails when more than
 * cap are present. */
jt_status jt_attr_ints(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name,
                       int64_t *out, int cap, int *count);
jt_status jt_attr_floats(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name,
                         double *out, int cap, int *count);
/* Returns the string value (or def when absent) via *out. */
jt_status jt_attr_string(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name,
                         const char *def, const char **out);

/* A formatted failure naming the model file, node name and op (used by parse/infer/kernels):
 * "<source>: node '<name>' (<op>-<since>): <message>". */
jt_status jt_node_fail(jt_ctx *ctx, const jt_graph *g, const jt_node *n, jt_status st,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- helpers for infer and kernels (ops/op_util.c) ---- */

/* Numpy-style multidirectional broadcast of a and b into out (rank, dims). Fails with a message
 * naming both shapes. */
jt_status jt_broadcast_dims(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const jt_tensor *a,
                            const jt_tensor *b, jt_tensor *out);
/* Normalises an axis in [-rank, rank) to [0, rank); fails naming the node otherwise. */
jt_status jt_norm_axis(jt_ctx *ctx, const jt_graph *g, const jt_node *n, int64_t axis, int rank,
                       int *out);
/* Reads element i of an integer tensor (i32 or i64) as int64. */
int64_t jt_tensor_get_i64(const jt_tensor *t, int64_t i);
/* Reads element i of a numeric tensor as double. */
double jt_tensor_get_f64(const jt_tensor *t, int64_t i);
void jt_tensor_set_shape(jt_tensor *t, jt_dtype dt, int rank, const int64_t *dims);

/* ---- thread pool (runtime/core/pool.c) ---- */

/* Runs fn(arg, task) for task in [0, n_tasks) on the pool (the caller's thread takes part) and returns
 * when all are done. Kernels choose n_tasks from the problem size only, never from the thread count,
 * so results are bitwise independent of the thread count. pool may be NULL (runs serially). */
typedef void (*jt_task_fn)(void *arg, int64_t task);
void jt_pool_run(jt_pool *pool, jt_task_fn fn, void *arg, int64_t n_tasks);
int jt_pool_threads(const jt_pool *pool);

#ifdef __cplusplus
}
#endif
#endif
