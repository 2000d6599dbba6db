/* Shared machinery of the element-wise family: numpy broadcasting iteration (collapsed dims, strides
 * 0 on broadcast axes), chunked parallel loops whose split depends only on the problem size, dtype
 * classification and scalar load/store helpers for the mixed-dtype paths (Pow, Cast, Clip). */
#ifndef JATP_EW_COMMON_H
#define JATP_EW_COMMON_H

#include <stdint.h>

#include "op.h"

#define EW_CAT_(a, b) a##b
#define EW_CAT(a, b) EW_CAT_(a, b)
#define EW_CAT3(a, b, c) EW_CAT(EW_CAT(a, b), c)

/* Elements per parallel task: fixed, so results never depend on the thread count. */
#define EW_CHUNK 16384
#define EW_MAX_IN 3

/* Numpy broadcast of up to EW_MAX_IN operands to a target shape, with size-1 output axes dropped
 * and contiguous axes merged. The innermost stride of every operand is 0 (broadcast) or 1. */
typedef struct ew_bcast {
    int n;    /* operands */
    int rank; /* >= 1 after collapsing */
    int64_t dims[JT_MAX_RANK];
    int64_t st[EW_MAX_IN][JT_MAX_RANK]; /* element strides, 0 on broadcast axes */
    int64_t numel;
} ew_bcast;

/* One contiguous run of the output: off[k] = element offset of operand k at the run's start,
 * st[k] = its inner stride (0 or 1), o = output offset, len = run length. */
typedef void (*ew_run_fn)(const void *ctx, const int64_t *off, const int64_t *st, int64_t o,
                          int64_t len);
/* A flat range [lo, hi) of a same-shape (no broadcasting) loop. */
typedef void (*ew_flat_fn)(const void *ctx, int64_t lo, int64_t hi);

/* Operand k has shape (ranks[k], dims[k]) and must broadcast to (out_rank, out_dims); infer checked. */
void ew_bcast_init(ew_bcast *b, int out_rank, const int64_t *out_dims, int n, const int *ranks,
                   const int64_t *const *dims);
/* Convenience: operands and target taken from tensors. */
void ew_bcast_tensors(ew_bcast *b, const jt_tensor *out, int n, const jt_tensor *const *in);
/* Runs fn over the whole output, split into EW_CHUNK-element tasks on the pool. */
void ew_bcast_run(jt_pool *pool, const ew_bcast *b, ew_run_fn fn, const void *ctx);
void ew_flat_run(jt_pool *pool, int64_t n, ew_flat_fn fn, const void *ctx);

/* Multidirectional broadcast of n tensors' shapes into out (rank, dims); fails naming the node. */
jt_status ew_broadcast_n(const jt_infer_args *a, int n, const jt_tensor *const *in, jt_tensor *out);

/* Dtype classes. */
bool ew_is_int(jt_dtype dt);      /* i8..i64, u8..u64 */
bool ew_is_signed(jt_dtype dt);   /* signed integers */
bool ew_is_numeric(jt_dtype dt);  /* f32, f64 and the integers */

/* Fails naming the node, input index and dtype unless ok. what = "float32/float64 or an integer". */
jt_status ew_check_dtype(const jt_infer_args *a, int idx, bool ok, const char *what);
/* Fails unless inputs i and j have the same dtype. */
jt_status ew_check_same(const jt_infer_args *a, int i, int j);

/* Cost helper: flops = numel(out0) * per_elem; bytes = all inputs + outputs. */
void ew_cost_per_elem(const jt_kernel_args *a, double per_elem, double *flops, double *bytes);
void ew_cost_1(const jt_kernel_args *a, double *flops, double *bytes);

/* Element i of a numeric/bool buffer as double / as int64 (exact for integers). */
double ew_load_f64(const void *p, jt_dtype dt, int64_t i);
int64_t ew_load_i64(const void *p, jt_dtype dt, int64_t i);
/* Float to integer without undefined behaviour: truncation toward zero; NaN and out-of-range values
 * give INT64_MIN (what x86's cvttsd2si returns), then the target width keeps the low bits. */
static inline int64_t ew_f2i64(double x) {
    if (!(x > -9223372036854775808.0 && x < 9223372036854775808.0)) return INT64_MIN;
    return (int64_t)x;
}
static inline uint64_t ew_f2u64(double x) {
    if (x >= 0 && x < 18446744073709551616.0) return (uint64_t)x;
    return (uint64_t)ew_f2i64(x);
}

/* Dense type index for dispatch tables: f32 f64 i8 u8 i16 u16 i32 i64 u32 u64 -> 0..9, else -1. */
#define EW_NTYPES 10
int ew_type_index(jt_dtype dt);
#define EW_TYPE_TABLE(p)                                                                           \
    {p##f32, p##f64, p##i8, p##u8, p##i16, p##u16, p##i32, p##i64, p##u32, p##u64}
#define EW_FLOAT_TABLE(p) {p##f32, p##f64, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/* Data pointers of a kernel call, passed to run functions as ctx. */
typedef struct ew_ptrs {
    const void *in[EW_MAX_IN];
    void *out;
    double p[2]; /* op parameters (alpha, ...) */
} ew_ptrs;

/* Legacy (opset 1-6) broadcasting of binary ops: attributes broadcast (0: shapes must be equal) and
 * axis (where B's dims start inside A's; default: B aligned to A's trailing dims). */
typedef struct ew_legacy_attrs {
    int64_t broadcast;
    int64_t axis;
    int has_axis;
} ew_legacy_attrs;
jt_status ew_legacy_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs);
/* Effective shape of B (as numpy-broadcastable to A) under legacy rules; fails naming the node. */
jt_status ew_legacy_b_dims(jt_ctx *ctx, const jt_graph *g, const jt_node *n,
                           const ew_legacy_attrs *at, const jt_tensor *A, const jt_tensor *B,
                           int *rank, int64_t *dims);

#endif
