/* Helpers shared by the shape family (and Resize): dtype-generic data movement by element size, and
 * reading of constant shape-like inputs at plan time. Internal to ops/. */
#ifndef JATP_SHAPE_UTIL_H
#define JATP_SHAPE_UTIL_H

#include "op.h"

/* Output 0 = input 0 (copies only when the buffers differ). ops/shape/identity.c */
jt_status jt_copy_kernel(const jt_kernel_args *a);

/* Input i when present (not omitted), else NULL. */
static inline const jt_tensor *jt_in_opt(int n_in, const jt_tensor *const *in, int i) {
    return i < n_in ? in[i] : NULL;
}

/* Reads the constant integer input `idx` (named `what` in messages) as a 1-D list (a scalar counts as
 * one value). Fails naming the node when it is not constant, not int32/int64, rank > 1 or has more than
 * cap values. Usable from infer (data set only when constant) and from kernels (g may be NULL). */
jt_status jt_read_const_ints(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const jt_tensor *t,
                             const char *what, int64_t *out, int cap, int *count);

/* Copies n bytes, split over the pool when large. */
void jt_par_memcpy(jt_pool *pool, void *dst, const void *src, size_t n);

/* The general data-movement kernel: dst (contiguous, dims od[rank]) receives
 *   dst[i0,...,ir-1] = src[sum_k ik * st[k]]   (strides in elements; 0 = broadcast, negative allowed)
 * for elements of es bytes (1, 2, 4 or 8; other sizes go through memcpy). Unit axes are dropped and
 * contiguous axes merged first; the inner loop is a row memcpy, a fill (stride 0), a 32x32-tiled 2-D
 * transpose (when another axis is the unit-stride one) or a strided gather. Work is split over the pool
 * by size only. Transpose, Expand, Slice, DepthToSpace and SpaceToDepth are instances. */
void jt_strided_copy(jt_pool *pool, void *dst, const void *src, size_t es, int rank,
                     const int64_t *od, const int64_t *st);

/* Row-major element strides of dims. */
void jt_dims_strides(int rank, const int64_t *dims, int64_t *strides);

/* Fails when rank exceeds JT_MAX_RANK. */
jt_status jt_check_rank(jt_ctx *ctx, const jt_graph *g, const jt_node *n, int rank, const char *what);

#endif
