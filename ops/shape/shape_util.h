/* Helpers shared by the shape family (and Resize): dtype-generic data movement by element size, and
 * reading of constant shape-like inputs at plan time. Internal to ops/. */
#ifndef JATP_SHAPE_UTIL_H
#define JATP_SHAPE_UTIL_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* ---- VJP rules (ops/shape/shape_grad.c) ---- */

/* dX = Reshape(dY, Shape(X)): Reshape, Flatten, Squeeze, Unsqueeze. */
jt_status jt_vjp_reshape_like(jt_vjp_args *v);
/* dX = dY: Identity, inference-mode Dropout. */
jt_status jt_vjp_pass_through(jt_vjp_args *v);

/* ---- adjoints for gradient ops (ops/shape/axis_adjoint.c) ---- */

/* One axis of a separable linear map: output position p (of n_out) is sum_k w[p*T+k] * in[idx[p*T+k]]
 * (w NULL: weights 1), or independent of the input where zero[p] (zero may be NULL). */
typedef struct jt_axis_map {
    int64_t n_in, n_out;
    int T;
    const int64_t *idx;
    const double *w;
    const uint8_t *zero;
} jt_axis_map;

/* dx (float32/float64, dims xd) = the transpose of the separable map (maps[d] per axis; NULL = identity
 * axis) applied to dy (dims yd). One pass per mapped axis, first axis first; ws holds
 * jt_sep_adjoint_workspace() bytes. Deterministic for any thread count. */
size_t jt_sep_adjoint_workspace(int rank, const int64_t *xd, const int64_t *yd, const jt_axis_map *const *maps,
                                size_t es);
void jt_sep_adjoint(jt_pool *pool, jt_dtype dt, int rank, const int64_t *xd, const int64_t *yd,
                    const jt_axis_map *const *maps, void *dx, const void *dy, void *ws);
/* dst[sum_k i_k * st[k]] = src[i] over the contiguous src of dims sd (an injective map; dst is not
 * cleared). */
void jt_strided_scatter(jt_pool *pool, void *dst, const void *src, size_t es, int rank, const int64_t *sd,
                        const int64_t *st);
/* Zero-fills n bytes, split over the pool when large. */
void jt_par_zero(jt_pool *pool, void *dst, size_t n);

/* Fails when rank exceeds JT_MAX_RANK. */
jt_status jt_check_rank(jt_ctx *ctx, const jt_graph *g, const jt_node *n, int rank, const char *what);

#ifdef __cplusplus
}
#endif
#endif
