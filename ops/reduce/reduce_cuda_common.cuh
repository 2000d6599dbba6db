/* Deterministic CUDA reductions of a contiguous float32 tensor over a set of axes, shared by the
 * reduce family (ReduceSum/Mean/Max, ReduceGrad's tie counts) and SumTo (ops/autograd). No atomics:
 * every output element is combined in an order fixed by the shapes alone, so results are bitwise
 * reproducible from run to run and across GPU models. Accumulation is in double (as the CPU's float32
 * reductions); max uses ew_max (NaN-propagating), the CPU's combiner.
 *
 * The host collapses the axes as the CPU does (size-1 axes dropped, neighbours of one kind merged) into
 * kept and reduced axes, then picks one of three layouts:
 *   SEQ (at most 32 reduced elements): one thread per output, sequential in row-major order;
 *   COL (innermost memory axis kept): 32 consecutive outputs x 8 row slices per block, combined in a
 *       fixed order through shared memory (coalesced along the kept axis);
 *   ROW (innermost memory axis reduced): one block per output, strided partials, warp-shuffle tree.
 * COL and ROW split long reductions into S fixed slices when there are few outputs; the slices' partials
 * go to the workspace (rdc_ws_bytes) and a second kernel combines them in slice order. */
#ifndef JATP_REDUCE_CUDA_COMMON_CUH
#define JATP_REDUCE_CUDA_COMMON_CUH

#include "elementwise/ew_cuda_common.cuh"

enum { RDC_SUM, RDC_MAX, RDC_CNT };                           /* combine: sum, max, count of x == ref[o] */
enum { RDC_FIN_SUM, RDC_FIN_MEAN, RDC_FIN_MAX, RDC_FIN_TIE }; /* what is stored per output */
enum { RDC_SEQ, RDC_COL, RDC_ROW };

#define RDC_TARGET_BLOCKS 264 /* enough blocks for a large GPU; fixed so results never depend on the card */
#define RDC_SEQ_MAX 32

typedef struct rdc_plan {
    int nk, nr;                                   /* kept / reduced axes after collapsing, innermost first */
    long long kdims[JT_MAX_RANK], kst[JT_MAX_RANK]; /* kept axes: sizes, input strides */
    long long rdims[JT_MAX_RANK], rst[JT_MAX_RANK]; /* reduced axes */
    long long n_out, K, numel;                    /* outputs, reduced elements per output, input elements */
    int mode, threads;                            /* layout; ROW block size */
    long long S, kchunk;                          /* slices of the reduced range, elements per slice */
} rdc_plan;

typedef struct rdc_io {
    const float *x;
    float *y;         /* n_out results (or RDC_FIN_TIE: the tie shares) */
    const float *ref; /* RDC_CNT: the value counted per output (the forward maximum) */
    const float *dy;  /* RDC_FIN_TIE: the output gradient shared among the ties */
    double *part;     /* S > 1: S x n_out partials (workspace) */
    int fin;
} rdc_io;

static inline long long rdc_cdiv(long long a, long long b) { return (a + b - 1) / b; }

/* Plans the reduction of a contiguous tensor (rank, dims) over the axes with mask[i] set. */
static inline void rdc_plan_init(rdc_plan *p, int rank, const int64_t *dims, const bool *mask) {
    memset(p, 0, sizeof *p);
    int64_t sz[JT_MAX_RANK], st[JT_MAX_RANK], full[JT_MAX_RANK], stride = 1;
    bool red[JT_MAX_RANK];
    int m = 0;
    for (int i = rank - 1; i >= 0; i--) {
        full[i] = stride;
        stride *= dims[i];
    }
    p->numel = stride;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 1) continue;
        if (m > 0 && red[m - 1] == mask[i]) { /* contiguous with the previous axis of its kind: merge */
            sz[m - 1] *= dims[i];
            st[m - 1] = full[i];
            continue;
        }
        sz[m] = dims[i];
        st[m] = full[i];
        red[m] = mask[i];
        m++;
    }
    p->n_out = 1;
    p->K = 1;
    for (int i = m - 1; i >= 0; i--) {
        if (red[i]) {
            p->rdims[p->nr] = sz[i];
            p->rst[p->nr++] = st[i];
            p->K *= sz[i];
        } else {
            p->kdims[p->nk] = sz[i];
            p->kst[p->nk++] = st[i];
            p->n_out *= sz[i];
        }
    }
    p->S = 1;
    p->kchunk = p->K;
    p->mode = RDC_SEQ;
    if (p->n_out == 0 || p->K <= RDC_SEQ_MAX) return;
    long long s;
    if (p->nk > 0 && p->kst[0] == 1) {
        p->mode = RDC_COL;
        long long s1 = rdc_cdiv(RDC_TARGET_BLOCKS, rdc_cdiv(p->n_out, 32)), s2 = rdc_cdiv(p->K, 64);
        s = s1 < s2 ? s1 : s2;
    } else {
        if (p->n_out > 0x7fffffffLL) return; /* grid.x limit: stay sequential */
        p->mode = RDC_ROW;
        p->threads = p->K >= 4096 ? 256 : p->K >= 1024 ? 128 : 64;
        long long s1 = rdc_cdiv(RDC_TARGET_BLOCKS, p->n_out), s2 = rdc_cdiv(p->K, p->threads * 16LL);
        s = s1 < s2 ? s1 : s2;
    }
    if (s < 1) s = 1;
    if (s > 65535) s = 65535;
    p->kchunk = rdc_cdiv(p->K, s);
    p->S = rdc_cdiv(p->K, p->kchunk);
}

/* Workspace bytes for the slices' partials. */
static inline size_t rdc_ws_bytes(const rdc_plan *p) {
    return p->S > 1 ? (size_t)(p->S * p->n_out) * sizeof(double) : 0;
}

/* ---- device side ---- */

template <int OP>
__device__ __forceinline__ double rdc_init() {
    return OP == RDC_MAX ? -(double)INFINITY : 0.0;
}

template <int OP>
__device__ __forceinline__ double rdc_comb(double a, double b) {
    return OP == RDC_MAX ? ew_max_f64(a, b) : a + b;
}

template <int OP>
__device__ __forceinline__ double rdc_val(float x, float ref) {
    return OP == RDC_CNT ? (x == ref ? 1.0 : 0.0) : (double)x;
}

__device__ __forceinline__ float rdc_finish(const rdc_io &io, double acc, long long K, long long o) {
    switch (io.fin) {
    case RDC_FIN_MEAN: return K ? (float)(acc / (double)K) : __int_as_float(0x7fc00000);
    case RDC_FIN_TIE: return ew_tie_grad_f32(io.dy[o], acc != 0.0, (int64_t)acc);
    default: return (float)acc; /* sum; max (-inf when nothing was reduced) */
    }
}

/* Input offset of output o's first element (kept axes) and of reduced element r. */
template <typename I>
__device__ __forceinline__ I rdc_kept_off(const rdc_plan &p, I o) {
    I off = 0;
#pragma unroll
    for (int j = 0; j < JT_MAX_RANK; j++) {
        if (j >= p.nk) break;
        const I d = (I)p.kdims[j], q = o / d;
        off += (o - q * d) * (I)p.kst[j];
        o = q;
    }
    return off;
}

template <typename I>
__device__ __forceinline__ I rdc_red_off(const rdc_plan &p, I r) {
    if (p.nr == 1) return r * (I)p.rst[0];
    I off = 0;
#pragma unroll
    for (int j = 0; j < JT_MAX_RANK; j++) {
        if (j >= p.nr) break;
        const I d = (I)p.rdims[j], q = r / d;
        off += (r - q * d) * (I)p.rst[j];
        r = q;
    }
    return off;
}

/* Result of slice s for output o: final value, or a partial for rdc_merge_kernel. */
__device__ __forceinline__ void rdc_store(const rdc_plan &p, const rdc_io &io, long long o, long long s, double acc) {
    if (p.S == 1)
        io.y[o] = rdc_finish(io, acc, p.K, o);
    else
        io.part[s * p.n_out + o] = acc;
}

template <int OP>
__device__ __forceinline__ double rdc_warp(double v) {
#pragma unroll
    for (int d = 16; d > 0; d >>= 1) v = rdc_comb<OP>(v, __shfl_down_sync(0xffffffffu, v, d));
    return v; /* lane 0 holds the warp's result */
}

/* Block-wide combination (1-D blocks, a multiple of 32 threads): thread 0 gets the result. */
template <int OP>
__device__ __forceinline__ double rdc_block(double v) {
    __shared__ double wpart[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = rdc_warp<OP>(v);
    if (lane == 0) wpart[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < nw ? wpart[lane] : rdc_init<OP>();
        v = rdc_warp<OP>(v);
    }
    return v;
}

template <int OP, typename I>
__global__ void rdc_seq_kernel(const rdc_plan p, const rdc_io io) {
    EWC_FOR(I, o, p.n_out) {
        I off = rdc_kept_off<I>(p, o), idx[JT_MAX_RANK];
        const float ref = OP == RDC_CNT ? io.ref[o] : 0.0f;
        double acc = rdc_init<OP>();
#pragma unroll
        for (int j = 0; j < JT_MAX_RANK; j++) idx[j] = 0;
        for (I r = 0; r < (I)p.K; r++) { /* row-major over the reduced axes (the CPU's order) */
            acc = rdc_comb<OP>(acc, rdc_val<OP>(io.x[off], ref));
#pragma unroll
            for (int j = 0; j < JT_MAX_RANK; j++) {
                if (j >= p.nr) break;
                off += (I)p.rst[j];
                if (++idx[j] < (I)p.rdims[j]) break;
                off -= (I)p.rst[j] * (I)p.rdims[j];
                idx[j] = 0;
            }
        }
        io.y[o] = rdc_finish(io, acc, p.K, o);
    }
}

/* grid (n_out, S), block p.threads */
template <int OP, typename I>
__global__ void rdc_row_kernel(const rdc_plan p, const rdc_io io) {
    const I o = (I)blockIdx.x, s = (I)blockIdx.y;
    const I base = rdc_kept_off<I>(p, o);
    const float ref = OP == RDC_CNT ? io.ref[o] : 0.0f;
    const I r0 = s * (I)p.kchunk, r1 = r0 + (I)p.kchunk < (I)p.K ? r0 + (I)p.kchunk : (I)p.K;
    double acc = rdc_init<OP>();
    for (I r = r0 + (I)threadIdx.x; r < r1; r += (I)blockDim.x)
        acc = rdc_comb<OP>(acc, rdc_val<OP>(io.x[base + rdc_red_off<I>(p, r)], ref));
    acc = rdc_block<OP>(acc);
    if (threadIdx.x == 0) rdc_store(p, io, o, s, acc);
}

/* grid (ceil(n_out / 32), S), block (32, 8) */
template <int OP, typename I>
__global__ void rdc_col_kernel(const rdc_plan p, const rdc_io io) {
    __shared__ double cpart[8][33];
    const I o = (I)blockIdx.x * 32 + (I)threadIdx.x, s = (I)blockIdx.y;
    const I r0 = s * (I)p.kchunk, r1 = r0 + (I)p.kchunk < (I)p.K ? r0 + (I)p.kchunk : (I)p.K;
    double acc = rdc_init<OP>();
    if (o < (I)p.n_out) {
        const I base = rdc_kept_off<I>(p, o);
        const float ref = OP == RDC_CNT ? io.ref[o] : 0.0f;
        for (I r = r0 + (I)threadIdx.y; r < r1; r += 8)
            acc = rdc_comb<OP>(acc, rdc_val<OP>(io.x[base + rdc_red_off<I>(p, r)], ref));
    }
    cpart[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && o < (I)p.n_out) {
        double v = cpart[0][threadIdx.x];
#pragma unroll
        for (int k = 1; k < 8; k++) v = rdc_comb<OP>(v, cpart[k][threadIdx.x]);
        rdc_store(p, io, o, s, v);
    }
}

/* S > 1: combine the slices' partials in slice order */
template <int OP, typename I>
__global__ void rdc_merge_kernel(const rdc_plan p, const rdc_io io) {
    EWC_FOR(I, o, p.n_out) {
        double v = io.part[o];
        for (long long s = 1; s < p.S; s++) v = rdc_comb<OP>(v, io.part[s * p.n_out + o]);
        io.y[o] = rdc_finish(io, v, p.K, o);
    }
}

template <int OP, typename I>
static jt_status rdc_launch_i(const jt_kernel_args *a, const rdc_plan *p, const rdc_io *io) {
    cudaStream_t s = jt_cuda_stream(a->backend);
    switch (p->mode) {
    case RDC_COL:
        rdc_col_kernel<OP, I><<<dim3((unsigned)rdc_cdiv(p->n_out, 32), (unsigned)p->S), dim3(32, 8), 0, s>>>(*p, *io);
        break;
    case RDC_ROW:
        rdc_row_kernel<OP, I><<<dim3((unsigned)p->n_out, (unsigned)p->S), p->threads, 0, s>>>(*p, *io);
        break;
    default: rdc_seq_kernel<OP, I><<<jt_cuda_blocks(p->n_out), JT_CUDA_THREADS, 0, s>>>(*p, *io); break;
    }
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    if (p->S > 1) {
        rdc_merge_kernel<OP, I><<<jt_cuda_blocks(p->n_out), JT_CUDA_THREADS, 0, s>>>(*p, *io);
        JT_CUDA_CHECK_LAUNCH(a->ctx);
    }
    return JT_OK;
}

/* Runs the planned reduction; io->part must point to rdc_ws_bytes(p) bytes when S > 1. */
template <int OP>
static jt_status rdc_launch(const jt_kernel_args *a, const rdc_plan *p, const rdc_io *io) {
    if (p->n_out <= 0) return JT_OK;
    if (p->S > 1 && !io->part)
        return jt_fail(a->ctx, JT_ERR_INTERNAL, "node '%s': the CUDA reduction workspace is missing", a->node->name);
    if (ewc_idx32(p->numel) && ewc_idx32(p->n_out * 32)) return rdc_launch_i<OP, unsigned>(a, p, io);
    return rdc_launch_i<OP, long long>(a, p, io);
}

#endif
