/* CUDA float32 kernels of the element-wise family: unary ops and Clip, broadcasting binary ops (with
 * the opset-6 legacy broadcast), Pow with any numeric exponent dtype, variadic Max/Min, comparisons,
 * Where, and every grad op of ew_grad.c and ew_grad_bcast.c. The per-element arithmetic is the JT_HD
 * functions of elementwise_math.h, which the CPU kernels run too.
 *   same-shape ops: flat grid-stride loops, float4 when every pointer is 16-byte aligned;
 *   broadcasting ops: ew_bcast_init collapses the shapes on the host as the CPU does; each thread
 *     recomputes its operands' offsets from the flat output index (32-bit under 2^31 elements).
 * Every output element is written by one thread from its own inputs, so results are deterministic and
 * in-place use (output 0 on input 0) is safe. Nothing synchronises or allocates. */
#include <math.h>

#include "ew_cuda_common.cuh"
extern "C" {
#include "elementwise/ew_grad.h"
}
#include "elementwise/elementwise_cuda.h"

/* ---- same-shape flat kernels: unary forward ops, Clip, unary grad ops ---- */

enum { U_RELU, U_LEAKY, U_SIGMOID, U_TANH, U_ELU, U_SOFTPLUS, U_SQRT, U_NEG, U_ABS, U_EXP, U_LOG, U_CLIP };
enum { G_RELU, G_LEAKY, G_SIGMOID, G_TANH, G_ELU, G_SOFTPLUS, G_SQRT, G_ABS, G_CLIP };

typedef struct ewc_flat {
    const float *x, *t; /* forward: x; grad ops: x = dY, t = the forward tensor */
    float *y;
    long long n;
    float p0, p1, p2;       /* alpha, lower bound, upper bound */
    const float *plo, *phi; /* bounds in device memory (Clip-11 inputs); NULL: p1, p2 */
} ewc_flat;

template <int OP>
__device__ __forceinline__ float ewc_unary(float x, float p0, float p1, float p2) {
    switch (OP) {
    case U_RELU: return ew_relu_f32(x);
    case U_LEAKY: return ew_leakyrelu_f32(x, p0);
    case U_SIGMOID: return ew_sigmoid_f32(x);
    case U_TANH: return ew_tanh_f32(x);
    case U_ELU: return ew_elu_f32(x, p0);
    case U_SOFTPLUS: return ew_softplus_f32(x);
    case U_SQRT: return ew_sqrt_f32(x);
    case U_NEG: return ew_neg_f32(x);
    case U_ABS: return ew_abs_f32(x);
    case U_EXP: return ew_exp_f32(x);
    case U_LOG: return ew_log_f32(x);
    default: return ew_clip_f32(x, p1, p2);
    }
}

template <int OP>
__device__ __forceinline__ float ewc_ugrad(float dy, float t, float p0, float p1, float p2) {
    switch (OP) {
    case G_RELU: return ew_relu_grad_f32(dy, t);
    case G_LEAKY: return ew_leakyrelu_grad_f32(dy, t, p0);
    case G_SIGMOID: return ew_sigmoid_grad_f32(dy, t);
    case G_TANH: return ew_tanh_grad_f32(dy, t);
    case G_ELU: return ew_elu_grad_f32(dy, t, p0);
    case G_SOFTPLUS: return ew_softplus_grad_f32(dy, t);
    case G_SQRT: return ew_sqrt_grad_f32(dy, t);
    case G_ABS: return ew_abs_grad_f32(dy, t);
    default: return ew_clip_grad_f32(dy, t, p1, p2);
    }
}

template <int OP, int GRAD>
__device__ __forceinline__ float ewc_flat_op(float x, float t, float p0, float p1, float p2) {
    if (GRAD) return ewc_ugrad<OP>(x, t, p0, p1, p2);
    return ewc_unary<OP>(x, p0, p1, p2);
}

template <int OP, int GRAD, bool VEC>
__global__ void ewc_flat_kernel(const ewc_flat f) {
    const float p0 = f.p0, p1 = f.plo ? *f.plo : f.p1, p2 = f.phi ? *f.phi : f.p2;
    const long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const long long stride = (long long)gridDim.x * blockDim.x;
    long long done = 0;
    if (VEC) {
        const long long n4 = f.n >> 2;
        const float4 *x4 = (const float4 *)f.x, *t4 = (const float4 *)f.t;
        float4 *y4 = (float4 *)f.y;
        for (long long i = tid; i < n4; i += stride) {
            const float4 a = x4[i];
            float4 b = a, r;
            if (GRAD) b = t4[i];
            r.x = ewc_flat_op<OP, GRAD>(a.x, b.x, p0, p1, p2);
            r.y = ewc_flat_op<OP, GRAD>(a.y, b.y, p0, p1, p2);
            r.z = ewc_flat_op<OP, GRAD>(a.z, b.z, p0, p1, p2);
            r.w = ewc_flat_op<OP, GRAD>(a.w, b.w, p0, p1, p2);
            y4[i] = r;
        }
        done = n4 << 2;
    }
    for (long long i = done + tid; i < f.n; i += stride)
        f.y[i] = ewc_flat_op<OP, GRAD>(f.x[i], GRAD ? f.t[i] : 0.0f, p0, p1, p2);
}

template <int OP, int GRAD>
static jt_status ewc_flat_launch(const jt_kernel_args *a, const ewc_flat *f) {
    if (f->n <= 0) return JT_OK;
    cudaStream_t s = jt_cuda_stream(a->backend);
    const bool vec = (((uintptr_t)f->x | (uintptr_t)f->t | (uintptr_t)f->y) & 15u) == 0;
    if (vec)
        ewc_flat_kernel<OP, GRAD, true><<<jt_cuda_blocks((f->n + 3) / 4), JT_CUDA_THREADS, 0, s>>>(*f);
    else
        ewc_flat_kernel<OP, GRAD, false><<<jt_cuda_blocks(f->n), JT_CUDA_THREADS, 0, s>>>(*f);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}

template <int OP>
static jt_status ewc_unary_run(const jt_kernel_args *a) {
    ewc_flat f;
    memset(&f, 0, sizeof f);
    f.x = (const float *)a->in[0]->data;
    f.y = (float *)a->out[0]->data;
    f.n = jt_tensor_numel(a->in[0]);
    if (OP == U_LEAKY || OP == U_ELU) f.p0 = (float)((const alpha_attrs *)a->attrs)->alpha;
    return ewc_flat_launch<OP, 0>(a, &f);
}

template <int OP>
static jt_status ewc_ugrad_run(const jt_kernel_args *a) {
    ewc_flat f;
    memset(&f, 0, sizeof f);
    f.x = (const float *)a->in[0]->data;
    f.t = (const float *)a->in[1]->data;
    f.y = (float *)a->out[0]->data;
    f.n = jt_tensor_numel(a->out[0]);
    if (OP == G_LEAKY || OP == G_ELU || OP == G_CLIP) {
        const ug_attrs *at = (const ug_attrs *)a->attrs;
        f.p0 = (float)at->alpha;
        f.p1 = (float)at->min;
        f.p2 = (float)at->max;
    }
    if (OP == G_CLIP) { /* ClipGrad(dY, X, min, max): bounds from the optional inputs */
        if (a->n_in > 2 && a->in[2]) f.plo = (const float *)a->in[2]->data;
        if (a->n_in > 3 && a->in[3]) f.phi = (const float *)a->in[3]->data;
    }
    return ewc_flat_launch<OP, 1>(a, &f);
}

extern "C" jt_status jt_relu_cuda_f32(const jt_kernel_args *a) { return ewc_unary_run<U_RELU>(a); }
extern "C" jt_status jt_leakyrelu_cuda_f32(const jt_kernel_args *a) { return ewc_unary_run<U_LEAKY>(a); }
extern "C" jt_status jt_sigmoid_cuda_f32(const jt_kernel_args *a) { return ewc_unary_run<U_SIGMOID>(a); }
extern "C" jt_status jt_tanh_cuda_f32(const jt_kernel_args *a) { return ewc_unary_run<U_TANH>(a); }
extern "C" jt_status jt_elu_cuda_f32(const jt_kernel_args *a) { return ewc_unary_run<U_ELU>(a); }
extern "C" jt_status jt_softplus_cuda_f32(const jt_kernel_args *a) { return ewc_unary_run<U_SOFTPLUS>(a); }
extern "C" jt_status jt_sqrt_cuda_f32(const jt_kernel_args *a) { return ewc_unary_run<U_SQRT>(a); }
extern "C" jt_status jt_neg_cuda_f32(const jt_kernel_args *a) { return ewc_unary_run<U_NEG>(a); }
extern "C" jt_status jt_abs_cuda_f32(const jt_kernel_args *a) { return ewc_unary_run<U_ABS>(a); }
extern "C" jt_status jt_exp_cuda_f32(const jt_kernel_args *a) { return ewc_unary_run<U_EXP>(a); }
extern "C" jt_status jt_log_cuda_f32(const jt_kernel_args *a) { return ewc_unary_run<U_LOG>(a); }

/* Clip-6: min/max attributes (defaults -/+FLT_MAX from parse); Clip-11+: optional scalar inputs, read on
 * the device; absent bounds are -/+inf (the CPU's type limits for float32). */
extern "C" jt_status jt_clip_cuda_f32(const jt_kernel_args *a) {
    ewc_flat f;
    memset(&f, 0, sizeof f);
    f.x = (const float *)a->in[0]->data;
    f.y = (float *)a->out[0]->data;
    f.n = jt_tensor_numel(a->in[0]);
    f.p1 = -INFINITY;
    f.p2 = INFINITY;
    if (a->node->op->since < 11) {
        const clip_attrs *at = (const clip_attrs *)a->attrs;
        f.p1 = (float)at->min;
        f.p2 = (float)at->max;
    } else {
        if (a->n_in > 1 && a->in[1]) f.plo = (const float *)a->in[1]->data;
        if (a->n_in > 2 && a->in[2]) f.phi = (const float *)a->in[2]->data;
    }
    return ewc_flat_launch<U_CLIP, 0>(a, &f);
}

extern "C" jt_status jt_relu_grad_cuda_f32(const jt_kernel_args *a) { return ewc_ugrad_run<G_RELU>(a); }
extern "C" jt_status jt_leaky_relu_grad_cuda_f32(const jt_kernel_args *a) { return ewc_ugrad_run<G_LEAKY>(a); }
extern "C" jt_status jt_sigmoid_grad_cuda_f32(const jt_kernel_args *a) { return ewc_ugrad_run<G_SIGMOID>(a); }
extern "C" jt_status jt_tanh_grad_cuda_f32(const jt_kernel_args *a) { return ewc_ugrad_run<G_TANH>(a); }
extern "C" jt_status jt_elu_grad_cuda_f32(const jt_kernel_args *a) { return ewc_ugrad_run<G_ELU>(a); }
extern "C" jt_status jt_softplus_grad_cuda_f32(const jt_kernel_args *a) { return ewc_ugrad_run<G_SOFTPLUS>(a); }
extern "C" jt_status jt_sqrt_grad_cuda_f32(const jt_kernel_args *a) { return ewc_ugrad_run<G_SQRT>(a); }
extern "C" jt_status jt_abs_grad_cuda_f32(const jt_kernel_args *a) { return ewc_ugrad_run<G_ABS>(a); }
extern "C" jt_status jt_clip_grad_cuda_f32(const jt_kernel_args *a) { return ewc_ugrad_run<G_CLIP>(a); }

/* ---- broadcasting kernels: up to three operands, one thread per output element ---- */

enum {
    B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_PRELU, B_POW, B_POW_MIXED, B_EQ, B_LT, B_GT, B_WHERE,
    BG_PRELU_X, BG_PRELU_S, BG_POW_A, BG_POW_B, BG_WHERE
};

typedef struct ewc_args {
    const void *in[EWC_MAX_IN];
    void *out;
    int bt;   /* dtype of the exponent (B_POW_MIXED: input 1; BG_POW_*: input 2) */
    int want; /* BG_WHERE: the condition value whose branch gets the gradient */
} ewc_args;

template <int OP, typename I>
__device__ __forceinline__ void ewc_apply(const ewc_args &a, const I *off, I o) {
    const float *x = (const float *)a.in[0], *y = (const float *)a.in[1], *w = (const float *)a.in[2];
    float *z = (float *)a.out;
    switch (OP) {
    case B_ADD: z[o] = ew_add_f32(x[off[0]], y[off[1]]); break;
    case B_SUB: z[o] = ew_sub_f32(x[off[0]], y[off[1]]); break;
    case B_MUL: z[o] = ew_mul_f32(x[off[0]], y[off[1]]); break;
    case B_DIV: z[o] = ew_div_f32(x[off[0]], y[off[1]]); break;
    case B_MAX: z[o] = ew_max_f32(x[off[0]], y[off[1]]); break;
    case B_MIN: z[o] = ew_min_f32(x[off[0]], y[off[1]]); break;
    case B_PRELU: z[o] = ew_prelu_f32(x[off[0]], y[off[1]]); break;
    case B_POW: { /* the CPU squares a broadcast exponent of 2 exactly */
        const float xv = x[off[0]], yv = y[off[1]];
        z[o] = yv == 2.0f ? xv * xv : ew_pow_f32(xv, yv);
        break;
    }
    case B_POW_MIXED: /* float base, other exponent dtype: through double, as the CPU */
        z[o] = (float)pow((double)x[off[0]], ewc_load_f64(a.in[1], a.bt, off[1]));
        break;
    case B_EQ: ((uint8_t *)a.out)[o] = (uint8_t)(x[off[0]] == y[off[1]]); break;
    case B_LT: ((uint8_t *)a.out)[o] = (uint8_t)(x[off[0]] < y[off[1]]); break;
    case B_GT: ((uint8_t *)a.out)[o] = (uint8_t)(x[off[0]] > y[off[1]]); break;
    case B_WHERE: /* moves the bits, as the CPU */
        ((uint32_t *)a.out)[o] = ((const uint8_t *)a.in[0])[off[0]] ? ((const uint32_t *)a.in[1])[off[1]]
                                                                    : ((const uint32_t *)a.in[2])[off[2]];
        break;
    case BG_PRELU_X: z[o] = ew_prelu_grad_x_f32(x[off[0]], y[off[1]], w[off[2]]); break;
    case BG_PRELU_S: z[o] = ew_prelu_grad_slope_f32(x[off[0]], y[off[1]]); break;
    case BG_POW_A:
    case BG_POW_B: {
        const float bv = a.bt == JT_F32 ? w[off[2]] : (float)ewc_load_f64(a.in[2], a.bt, off[2]);
        z[o] = OP == BG_POW_A ? ew_pow_grad_a_f32(x[off[0]], y[off[1]], bv)
                              : ew_pow_grad_b_f32(x[off[0]], y[off[1]], bv);
        break;
    }
    default: /* BG_WHERE */
        z[o] = ew_where_grad_f32(x[off[0]], ((const uint8_t *)a.in[1])[off[1]], a.want);
        break;
    }
}

template <int OP, int N, typename I>
__global__ void ewc_bcast_kernel(const ewc_bcast b, const ewc_args args) {
    EWC_FOR(I, i, b.numel) {
        I off[N];
        ewc_offsets<I, N>(b, i, off);
        ewc_apply<OP, I>(args, off, i);
    }
}

template <int OP, int N>
static jt_status ewc_bcast_launch(const jt_kernel_args *a, const ew_bcast *hb, const ewc_args *args) {
    if (hb->numel <= 0) return JT_OK;
    ewc_bcast b;
    ewc_from_bcast(&b, hb);
    cudaStream_t s = jt_cuda_stream(a->backend);
    if (ewc_idx32(b.numel))
        ewc_bcast_kernel<OP, N, unsigned><<<jt_cuda_blocks(b.numel), JT_CUDA_THREADS, 0, s>>>(b, *args);
    else
        ewc_bcast_kernel<OP, N, long long><<<jt_cuda_blocks(b.numel), JT_CUDA_THREADS, 0, s>>>(b, *args);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}

/* Two operands broadcast to output 0, with the legacy (opset < 7) broadcast of input 1 when asked. */
template <int OP>
static jt_status ewc_bin_run(const jt_kernel_args *a, bool legacy) {
    const jt_tensor *A = a->in[0], *B = a->in[1];
    int ranks[2] = {A->rank, B->rank};
    int64_t bdims[JT_MAX_RANK];
    const int64_t *dims[2] = {A->dims, B->dims};
    if (legacy) {
        JT_TRY(ew_legacy_b_dims(a->ctx, NULL, a->node, (const ew_legacy_attrs *)a->attrs, A, B, &ranks[1], bdims));
        dims[1] = bdims;
    }
    ew_bcast b;
    ew_bcast_init(&b, a->out[0]->rank, a->out[0]->dims, 2, ranks, dims);
    ewc_args g;
    memset(&g, 0, sizeof g);
    g.in[0] = A->data;
    g.in[1] = B->data;
    g.out = a->out[0]->data;
    g.bt = B->dtype;
    return ewc_bcast_launch<OP, 2>(a, &b, &g);
}

static bool ewc_legacy(const jt_kernel_args *a) { return a->node->op && a->node->op->since < 7; }

extern "C" jt_status jt_add_cuda_f32(const jt_kernel_args *a) { return ewc_bin_run<B_ADD>(a, ewc_legacy(a)); }
extern "C" jt_status jt_sub_cuda_f32(const jt_kernel_args *a) { return ewc_bin_run<B_SUB>(a, ewc_legacy(a)); }
extern "C" jt_status jt_mul_cuda_f32(const jt_kernel_args *a) { return ewc_bin_run<B_MUL>(a, ewc_legacy(a)); }
extern "C" jt_status jt_div_cuda_f32(const jt_kernel_args *a) { return ewc_bin_run<B_DIV>(a, ewc_legacy(a)); }
/* PRelu: slope broadcast unidirectionally to X (numpy rules in every version) */
extern "C" jt_status jt_prelu_cuda_f32(const jt_kernel_args *a) { return ewc_bin_run<B_PRELU>(a, false); }
extern "C" jt_status jt_equal_cuda_f32(const jt_kernel_args *a) { return ewc_bin_run<B_EQ>(a, ewc_legacy(a)); }
extern "C" jt_status jt_less_cuda_f32(const jt_kernel_args *a) { return ewc_bin_run<B_LT>(a, ewc_legacy(a)); }
extern "C" jt_status jt_greater_cuda_f32(const jt_kernel_args *a) { return ewc_bin_run<B_GT>(a, ewc_legacy(a)); }

extern "C" jt_status jt_pow_cuda_f32(const jt_kernel_args *a) {
    if (a->in[1]->dtype == JT_F32) return ewc_bin_run<B_POW>(a, ewc_legacy(a));
    return ewc_bin_run<B_POW_MIXED>(a, ewc_legacy(a));
}

/* Variadic Max/Min: Z = op(in0, in1), then Z = op(Z, in_k), each step broadcast to the final shape. */
template <int OP>
static jt_status ewc_variadic_run(const jt_kernel_args *a) {
    jt_tensor *Z = a->out[0];
    if (a->n_in == 1) return ewc_copy(a, Z->data, a->in[0]->data, jt_tensor_nbytes(Z));
    for (int k = 1; k < a->n_in; k++) {
        const jt_tensor *lhs = k == 1 ? a->in[0] : Z;
        const jt_tensor *ops[2] = {lhs, a->in[k]};
        ew_bcast b;
        ew_bcast_tensors(&b, Z, 2, ops);
        ewc_args g;
        memset(&g, 0, sizeof g);
        g.in[0] = lhs->data;
        g.in[1] = a->in[k]->data;
        g.out = Z->data;
        JT_TRY((ewc_bcast_launch<OP, 2>(a, &b, &g)));
    }
    return JT_OK;
}
extern "C" jt_status jt_max_cuda_f32(const jt_kernel_args *a) { return ewc_variadic_run<B_MAX>(a); }
extern "C" jt_status jt_min_cuda_f32(const jt_kernel_args *a) { return ewc_variadic_run<B_MIN>(a); }

/* Where(condition bool, X, Y): float32 branches (type_input 1), three-way broadcast. */
extern "C" jt_status jt_where_cuda_f32(const jt_kernel_args *a) {
    ew_bcast b;
    ew_bcast_tensors(&b, a->out[0], 3, a->in);
    ewc_args g;
    memset(&g, 0, sizeof g);
    for (int k = 0; k < 3; k++) g.in[k] = a->in[k]->data;
    g.out = a->out[0]->data;
    return ewc_bcast_launch<B_WHERE, 3>(a, &b, &g);
}

/* ---- broadcasting grad ops: the gradient at dY's shape (the rule sums it down with SumTo) ---- */

static int64_t ewc_which(const jt_kernel_args *a) { return ((const which_attrs *)a->attrs)->which; }

/* PReluGrad(dY, X, slope; wrt) and PowGrad(dY, A, B; wrt) */
template <int OP0, int OP1>
static jt_status ewc_grad3_run(const jt_kernel_args *a) {
    ew_bcast b;
    ew_bcast_tensors(&b, a->out[0], 3, a->in);
    ewc_args g;
    memset(&g, 0, sizeof g);
    for (int k = 0; k < 3; k++) g.in[k] = a->in[k]->data;
    g.out = a->out[0]->data;
    g.bt = a->in[2]->dtype;
    if (ewc_which(a) == 0) return ewc_bcast_launch<OP0, 3>(a, &b, &g);
    return ewc_bcast_launch<OP1, 3>(a, &b, &g);
}
extern "C" jt_status jt_prelu_grad_cuda_f32(const jt_kernel_args *a) {
    return ewc_grad3_run<BG_PRELU_X, BG_PRELU_S>(a);
}
extern "C" jt_status jt_pow_grad_cuda_f32(const jt_kernel_args *a) { return ewc_grad3_run<BG_POW_A, BG_POW_B>(a); }

/* WhereGrad(dY, C; branch): branch 0 (X) where C, branch 1 (Y) where !C */
extern "C" jt_status jt_where_grad_cuda_f32(const jt_kernel_args *a) {
    ew_bcast b;
    ew_bcast_tensors(&b, a->out[0], 2, a->in);
    ewc_args g;
    memset(&g, 0, sizeof g);
    g.in[0] = a->in[0]->data;
    g.in[1] = a->in[1]->data;
    g.out = a->out[0]->data;
    g.want = ewc_which(a) == 0;
    return ewc_bcast_launch<BG_WHERE, 2>(a, &b, &g);
}

/* ---- MaxMinGrad(dY, Y, X0..Xn-1; index): dY / #ties on the selected input where it equals Y ----
 * One thread per element counts the inputs equal to Y in input order. Up to MMC_MAX inputs per launch;
 * with more, earlier launches leave running counts in the workspace. */

#define MMC_MAX 16

typedef struct mmc_args {
    int rank, nk, final_pass, cnt_in;
    long long numel;
    long long dims[JT_MAX_RANK];            /* dY's axes of size > 1, innermost first */
    long long st[MMC_MAX + 1][JT_MAX_RANK]; /* rows 0..nk-1: this launch's inputs; row MMC_MAX: the selected one */
    const float *x[MMC_MAX + 1];
    const float *dy, *y;
    float *dx;
    int *cnt; /* running tie counts (workspace), or NULL when one launch does everything */
} mmc_args;

__global__ void mmc_kernel(const mmc_args g) {
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < g.numel;
         e += (long long)gridDim.x * blockDim.x) {
        long long c[JT_MAX_RANK], r = e;
#pragma unroll
        for (int j = 0; j < JT_MAX_RANK; j++) {
            c[j] = 0;
            if (j < g.rank) {
                c[j] = r % g.dims[j];
                r /= g.dims[j];
            }
        }
        const float yv = g.y[e];
        int cnt = g.cnt_in ? g.cnt[e] : 0;
#pragma unroll
        for (int k = 0; k < MMC_MAX; k++) {
            if (k < g.nk) {
                long long off = 0;
#pragma unroll
                for (int j = 0; j < JT_MAX_RANK; j++) off += c[j] * g.st[k][j];
                cnt += g.x[k][off] == yv;
            }
        }
        if (!g.final_pass) {
            g.cnt[e] = cnt;
            continue;
        }
        long long off = 0;
#pragma unroll
        for (int j = 0; j < JT_MAX_RANK; j++) off += c[j] * g.st[MMC_MAX][j];
        g.dx[e] = ew_tie_grad_f32(g.dy[e], g.x[MMC_MAX][off] == yv, cnt);
    }
}

/* Row `row` of g: x's element strides over dY's kept axes (0 where x broadcasts). */
static void mmc_row(mmc_args *g, int row, const jt_tensor *x, const jt_tensor *dy, const int *keep) {
    int64_t full[JT_MAX_RANK], s = 1;
    for (int d = dy->rank - 1; d >= 0; d--) {
        int dk = d - (dy->rank - x->rank);
        int64_t xd = dk >= 0 ? x->dims[dk] : 1;
        full[d] = xd == 1 ? 0 : s;
        s *= xd;
    }
    for (int j = 0; j < g->rank; j++) g->st[row][j] = full[keep[j]];
    g->x[row] = (const float *)x->data;
}

extern "C" size_t jt_maxmin_grad_cuda_workspace(const jt_kernel_args *a) {
    return a->n_in - 2 > MMC_MAX ? (size_t)jt_tensor_numel(a->out[0]) * sizeof(int) : 0;
}

extern "C" jt_status jt_maxmin_grad_cuda_f32(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0];
    const int n = a->n_in - 2, index = (int)ewc_which(a);
    mmc_args g;
    memset(&g, 0, sizeof g);
    g.numel = jt_tensor_numel(dy);
    if (g.numel == 0) return JT_OK;
    int keep[JT_MAX_RANK];
    for (int d = dy->rank - 1; d >= 0; d--)
        if (dy->dims[d] != 1) {
            keep[g.rank] = d;
            g.dims[g.rank++] = dy->dims[d];
        }
    g.dy = (const float *)dy->data;
    g.y = (const float *)a->in[1]->data;
    g.dx = (float *)a->out[0]->data;
    if (n > MMC_MAX) {
        if (!a->ws || a->ws_size < jt_maxmin_grad_cuda_workspace(a))
            return jt_fail(a->ctx, JT_ERR_INTERNAL, "MaxMinGrad: the CUDA workspace is missing or too small");
        g.cnt = (int *)a->ws;
    }
    mmc_row(&g, MMC_MAX, a->in[2 + index], dy, keep);
    cudaStream_t s = jt_cuda_stream(a->backend);
    for (int k0 = 0; k0 < n; k0 += MMC_MAX) {
        g.nk = n - k0 < MMC_MAX ? n - k0 : MMC_MAX;
        for (int k = 0; k < g.nk; k++) mmc_row(&g, k, a->in[2 + k0 + k], dy, keep);
        g.cnt_in = k0 > 0;
        g.final_pass = k0 + MMC_MAX >= n;
        mmc_kernel<<<jt_cuda_blocks(g.numel), JT_CUDA_THREADS, 0, s>>>(g);
        JT_CUDA_CHECK_LAUNCH(a->ctx);
    }
    return JT_OK;
}
