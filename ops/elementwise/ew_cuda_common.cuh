/* CUDA helpers of the element-wise family, also used by the reduce, autograd and softmax kernels:
 * numpy broadcasting on the device (the host collapses the shapes with ew_bcast_init, exactly as the
 * CPU kernels do, and the kernel recomputes each operand's offset from the flat output index), grid-
 * stride loops with 32-bit indices where the problem fits, and a typed scalar load. Include from .cu
 * files only. */
#ifndef JATP_EW_CUDA_COMMON_CUH
#define JATP_EW_CUDA_COMMON_CUH

#include <stdint.h>
#include <string.h>

#include <cuda_runtime.h>

extern "C" {
#include "elementwise/ew_common.h"
}
#include "elementwise/elementwise_math.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/cuda_backend.h"

#define EWC_MAX_IN EW_MAX_IN

/* A collapsed broadcast (ew_bcast) with its axes stored innermost first, so that the unrolled device
 * loops index it with compile-time constants (no local-memory copy of the kernel parameter). */
typedef struct ewc_bcast {
    int rank;
    long long numel;
    long long dims[JT_MAX_RANK];            /* dims[0] = innermost */
    long long st[EWC_MAX_IN][JT_MAX_RANK];  /* element strides, 0 on broadcast axes */
} ewc_bcast;

static inline void ewc_from_bcast(ewc_bcast *d, const ew_bcast *b) {
    memset(d, 0, sizeof *d);
    d->rank = b->rank;
    d->numel = b->numel;
    for (int j = 0; j < b->rank; j++) {
        d->dims[j] = b->dims[b->rank - 1 - j];
        for (int k = 0; k < b->n; k++) d->st[k][j] = b->st[k][b->rank - 1 - j];
    }
}

/* Problems below 2^31 elements index in 32 bits (i + grid stride stays below 2^32). */
static inline bool ewc_idx32(long long n) { return n < (1LL << 31); }

/* Grid-stride loop over [0, n) with index type I. */
#define EWC_FOR(I, i, n)                                                                                     \
    for (I i = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x; i < (I)(n); i += (I)gridDim.x * (I)blockDim.x)

/* Offsets of the first N operands at flat output index i. */
template <typename I, int N>
__device__ __forceinline__ void ewc_offsets(const ewc_bcast &b, I i, I *off) {
    if (b.rank == 1) {
#pragma unroll
        for (int k = 0; k < N; k++) off[k] = i * (I)b.st[k][0];
        return;
    }
#pragma unroll
    for (int k = 0; k < N; k++) off[k] = 0;
#pragma unroll
    for (int j = 0; j < JT_MAX_RANK; j++) {
        if (j >= b.rank) break;
        I c;
        if (j == b.rank - 1) {
            c = i;
        } else {
            const I d = (I)b.dims[j], q = i / d;
            c = i - q * d;
            i = q;
        }
#pragma unroll
        for (int k = 0; k < N; k++) off[k] += c * (I)b.st[k][j];
    }
}

/* Element i of a numeric or bool device buffer as double (ew_load_f64 on the device). */
template <typename I>
__device__ __forceinline__ double ewc_load_f64(const void *p, int dt, I i) {
    switch (dt) {
    case JT_F32: return ((const float *)p)[i];
    case JT_F64: return ((const double *)p)[i];
    case JT_I8: return ((const int8_t *)p)[i];
    case JT_U8: case JT_BOOL: return ((const uint8_t *)p)[i];
    case JT_I16: return ((const int16_t *)p)[i];
    case JT_U16: return ((const uint16_t *)p)[i];
    case JT_I32: return ((const int32_t *)p)[i];
    case JT_U32: return ((const uint32_t *)p)[i];
    case JT_I64: return (double)((const int64_t *)p)[i];
    case JT_U64: return (double)((const uint64_t *)p)[i];
    default: return 0.0;
    }
}

/* Device-to-device copy on the backend's stream (identity cases: one-input Max, noop reductions). */
static inline jt_status ewc_copy(const jt_kernel_args *a, void *dst, const void *src, size_t bytes) {
    if (!bytes || dst == src) return JT_OK;
    JT_CUDA_TRY(a->ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, jt_cuda_stream(a->backend)));
    return JT_OK;
}

#endif
