/* CUDA side of the shape family (ops/shape/shape_cuda.cu): float32 data movement on the backend's
 * stream, used by the shape ops' CUDA kernels (the thin jt_kernel_fn wrappers sit next to their CPU
 * kernels, which own the geometry) and by the resize family. Every launch is checked
 * (JT_CUDA_CHECK_LAUNCH), nothing synchronises, nothing allocates at run time.
 *
 * Constant inputs (Slice starts, Pad pads, Split sizes, ...) live in device memory at run time, so the
 * ops that read them compute their geometry in cuda_prepare (where constants are still host data) and
 * keep it in the node's state. Data-dependent scalars (Dropout's ratio and training_mode, Pad's
 * constant_value) are read by the kernels from device memory. */
#ifndef JATP_SHAPE_CUDA_H
#define JATP_SHAPE_CUDA_H

#include "shape_util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- helpers (host functions launching on a->backend's stream) ---- */

/* dst = src, bytes (device to device); nothing when dst == src or bytes == 0. */
jt_status jt_cuda_memcpy(const jt_kernel_args *a, void *dst, const void *src, size_t bytes);
/* dst = 0, bytes. */
jt_status jt_cuda_zero(const jt_kernel_args *a, void *dst, size_t bytes);
/* As jt_strided_copy, float32: dst (contiguous, dims od[rank]) = src[sum_k i_k * st[k]] (strides in
 * elements; 0 broadcasts, negative allowed). Unit axes are dropped and source-contiguous axes merged;
 * a 32x32 shared-memory tile handles transposes of the innermost axis. */
jt_status jt_cuda_strided_copy(const jt_kernel_args *a, float *dst, const float *src, int rank, const int64_t *od,
                               const int64_t *st);
/* As jt_strided_scatter, float32: dst[sum_k i_k * st[k]] = src[i] over contiguous src of dims sd. */
jt_status jt_cuda_strided_scatter(const jt_kernel_args *a, float *dst, const float *src, int rank,
                                  const int64_t *sd, const int64_t *st);
/* rows x cols block copy: dst[r * dpitch + c] = src[r * spitch + c] (elements). */
jt_status jt_cuda_copy2d(const jt_kernel_args *a, float *dst, int64_t dpitch, const float *src, int64_t spitch,
                         int64_t rows, int64_t cols);

/* Pad: y (dims yd) from x (dims xd) with begin pads pb; mode JT_PAD_*; the constant is *cv (device
 * pointer, float32) when cv != NULL, else value. */
jt_status jt_cuda_pad(const jt_kernel_args *a, float *y, const float *x, int rank, const int64_t *xd,
                      const int64_t *yd, const int64_t *pb, int mode, const float *cv, float value);

/* Gather along an axis: y[o, i, e] = x[o, idx[i], e] (outer, n_idx, block); idx int64 (idx64) or int32,
 * device memory; negative indices count from the end; out-of-range indices give 0 (the CPU kernel
 * reports them; a device kernel cannot without a synchronisation). */
jt_status jt_cuda_gather(const jt_kernel_args *a, float *y, const float *x, const void *idx, int idx64,
                         int64_t n_idx, int64_t outer, int64_t dim, int64_t block);
/* GatherGrad: dx[o, v, e] = sum over i with idx[i] == v (in index order) of dy[o, i, e]; one thread per
 * dX element scanning the indices, so repeated indices add in the CPU kernel's order (deterministic,
 * no atomics). Out-of-range indices contribute nothing. */
jt_status jt_cuda_gather_grad(const jt_kernel_args *a, float *dx, const float *dy, const void *idx, int idx64,
                              int64_t n_idx, int64_t outer, int64_t dim, int64_t block);

/* Dropout and DropoutGrad, one kernel: for every element,
 *   training: keep = mask_in ? mask_in[i] : jt_dropout_keep4 (Philox, bit-identical to the CPU);
 *             y = keep ? x * (float)scale : 0; mask_out = keep
 *   else:     y = x; mask_out = 1
 * where training = *training_mode (device bool; false when NULL) and ratio = *ratio (device float32
 * or float64 by ratio_f64; 0.5 when NULL) are read on the device. mask_out is bool (uint8) or, with
 * mask_f32, float32 (Dropout before opset 10). A ratio outside [0, 1] is not reported on the device. */
typedef struct jt_cuda_dropout_args {
    const float *x;
    float *y;
    void *mask_out;
    int mask_f32;
    const uint8_t *mask_in;
    const void *ratio;
    int ratio_f64;
    const uint8_t *training_mode;
    int64_t n;
    uint64_t seed, call;
} jt_cuda_dropout_args;
jt_status jt_cuda_dropout(const jt_kernel_args *a, const jt_cuda_dropout_args *d);

/* ---- the separable adjoint on the device (PadGrad, ResizeGrad) ----
 * Built at plan time from the CPU's per-axis maps: for every axis a CSR table lists, per input
 * position, the (output position, weight) pairs that read it, in the CPU's order (output position,
 * then tap). A pass computes each destination element as one ordered sum: deterministic, no atomics,
 * and the same additions as jt_sep_adjoint. The tables live in device memory owned by the object. */
typedef struct jt_cuda_sep_adj jt_cuda_sep_adj;
jt_status jt_cuda_sep_adj_create(const jt_kernel_args *a, int rank, const int64_t *xd, const int64_t *yd,
                                 const jt_axis_map *const *maps, jt_cuda_sep_adj **out);
void jt_cuda_sep_adj_free(jt_cuda_sep_adj *s);
/* Device workspace bytes of a run (ping-pong intermediates). */
size_t jt_cuda_sep_adj_workspace(const jt_cuda_sep_adj *s);
/* dx = the adjoint applied to dy; ws holds jt_cuda_sep_adj_workspace() bytes. */
jt_status jt_cuda_sep_adj_run(const jt_kernel_args *a, const jt_cuda_sep_adj *s, float *dx, const float *dy,
                              void *ws);

/* Plan-time upload: allocates device memory for bytes and copies host there on the backend's stream
 * (ordered before every later kernel); free with jt_cuda_dev_free. */
jt_status jt_cuda_dev_upload(const jt_kernel_args *a, const void *host, size_t bytes, void **dev);
void jt_cuda_dev_free(void *dev);

/* Host memory of a state allocated by a shape op's cuda_prepare (plain malloc). */
void jt_cuda_state_free(void *state);

/* ---- kernels (jt_kernel_fn) defined in shape_cuda.cu ---- */

/* Identity, Reshape, Flatten, Squeeze, Unsqueeze when not aliased: a device copy. */
jt_status jt_copy_cuda_f32(const jt_kernel_args *a);

#ifdef __cplusplus
}
#endif
#endif
