/* The conv family on cuDNN 9's legacy convolution API (see conv_cuda.h for the op -> pass mapping).
 *
 * Plan time (jt_conv_cuda_prepare): tensor, filter and convolution descriptors (group count; math type
 * CUDNN_FMA_MATH unless the backend allows TF32), then the algorithm candidates of the node's pass:
 * cuDNN's `_v7` heuristics by default, or measured with cudnnFind*AlgorithmEx when JATP_CUDNN_FIND=1
 * (temporary device buffers, plan time only). A candidate is kept when its status is success, it is
 * CUDNN_DETERMINISTIC in deterministic mode, its math type is allowed (FMA only without TF32; never
 * fp16 conversion), and its cuDNN workspace (queried again with the final math type) fits under the cap:
 * 512 MiB, JATP_CUDNN_WS_MB when set, and at most a quarter of the free device memory. Workspace-free
 * deterministic algorithms are appended as fallbacks. The node's workspace is the first candidate's (plus
 * the padded-input buffer); at run time the first candidate that fits the plan's workspace runs, so a
 * plan whose workspace was sized before prepare still runs (with a smaller algorithm at worst).
 *
 * Run time: one cuDNN call (plus a padding shift for asymmetric pads and cudnnAddTensor for a bias),
 * no allocation, no synchronisation; every call checked. */
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "conv_cuda.h"
#include "runtime/cuda/cuda_backend.h"
#include "runtime/cuda/check.h"

enum { P_FWD, P_BWD_DATA, P_BWD_FILTER };
enum { K_CONV, K_CONVT, K_GRAD_DATA, K_GRAD_FILTER, K_TGRAD_DATA, K_TGRAD_FILTER };
#define MAX_CAND 16

typedef struct cand {
    int algo;
    cudnnMathType_t math;
    size_t ws;
} cand;

typedef struct conv_cu {
    int kind, pass, padded, nbd;
    jt_conv_geom geo;
    cudnnTensorDescriptor_t xd, xpd, yd, bd; /* x side, x side padded (padded only), y side, bias */
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    cudnnMathType_t math; /* the math type set on cd now */
    size_t pad_bytes;     /* padded x-side buffer at the start of the workspace (256-byte multiple) */
    int n_cand;
    cand c[MAX_CAND];
} conv_cu;

/* The tensors of a node in convolution terms: x (input side), w (filter), y (output side), bias. */
typedef struct roles {
    const jt_tensor *x, *w, *y, *bias;
} roles;

static int node_kind(const jt_node *n) {
    static const char *const names[] = {"Conv", "ConvTranspose", "ConvGradData", "ConvGradFilter",
                                        "ConvTransposeGradData", "ConvTransposeGradFilter"};
    for (int k = 0; k < 6; k++)
        if (strcmp(n->op_type, names[k]) == 0) return k;
    return -1;
}

static const jt_tensor *opt_in(const jt_kernel_args *a, int i) { return a->n_in > i ? a->in[i] : NULL; }

/* The tensors of each role (shapes only at plan time; data at run time). */
static void node_roles(const jt_kernel_args *a, int kind, roles *r) {
    switch (kind) {
    case K_CONV: *r = (roles){a->in[0], a->in[1], a->out[0], opt_in(a, 2)}; break;
    case K_CONVT: *r = (roles){a->out[0], a->in[1], a->in[0], opt_in(a, 2)}; break;
    case K_GRAD_DATA: *r = (roles){a->out[0], a->in[1], a->in[0], NULL}; break;
    case K_GRAD_FILTER: *r = (roles){a->in[1], a->out[0], a->in[0], NULL}; break;
    case K_TGRAD_DATA: *r = (roles){a->in[0], a->in[1], a->out[0], NULL}; break;
    default: *r = (roles){a->in[0], a->out[0], a->in[1], NULL}; break; /* K_TGRAD_FILTER */
    }
}

/* Pass and convolution-terms geometry of a node. The forward-attribute geometry is made from the
 * tensors in the forward op's X and W places, then swapped for the transposed ops. */
static jt_status node_setup(const jt_kernel_args *a, int *kind, int *pass, jt_conv_geom *geo) {
    static const int passes[] = {P_FWD, P_BWD_DATA, P_BWD_DATA, P_BWD_FILTER, P_FWD, P_BWD_FILTER};
    int k = node_kind(a->node);
    if (k < 0)
        return jt_fail(a->ctx, JT_ERR_INTERNAL, "node '%s': %s is not a convolution op", a->node->name,
                       a->node->op_type);
    /* forward X and W: Conv/ConvTranspose (in0, in1); data grads (out0, in1); filter grads (in1, out0) */
    const jt_tensor *fx = k <= K_CONVT ? a->in[0] : (k == K_GRAD_DATA || k == K_TGRAD_DATA) ? a->out[0] : a->in[1];
    const jt_tensor *fw = k <= K_CONVT || k == K_GRAD_DATA || k == K_TGRAD_DATA ? a->in[1] : a->out[0];
    jt_conv_geom t;
    JT_TRY(jt_conv_geom_make(a->ctx, NULL, a->node, a->attrs, fx, fw, &t));
    if (k == K_CONVT || k == K_TGRAD_DATA || k == K_TGRAD_FILTER) jt_conv_geom_swap(&t, geo);
    else *geo = t;
    *kind = k;
    *pass = passes[k];
    return JT_OK;
}

/* ---- descriptors ---- */

static jt_status fits_int(const jt_kernel_args *a, const jt_conv_geom *g) {
    int64_t big = 0;
    int64_t v[] = {g->N * g->C * g->in_sz, g->N * g->M * g->out_sz, g->M * g->Cg * g->k_sz};
    for (int i = 0; i < 3; i++)
        if (v[i] > big) big = v[i];
    int64_t pad_sz = g->N * g->C;
    for (int ax = 0; ax < 3; ax++) pad_sz *= g->in[ax] + (g->pb[ax] > 0 ? g->pb[ax] : 0) + (g->pe[ax] > 0 ? g->pe[ax] : 0);
    if (pad_sz > big) big = pad_sz;
    if (big >= (int64_t)1 << 31)
        return jt_fail(a->ctx, JT_ERR_UNSUPPORTED,
                       "node '%s' (%s): a tensor of %lld elements is too large for cuDNN's convolution API "
                       "(limit 2^31 - 1)", a->node->name, a->node->op_type, (long long)big);
    return JT_OK;
}

/* 4-D descriptors for 1-D and 2-D convolutions (H, W), 5-D for 3-D. */
static jt_status set_tensor(jt_ctx *ctx, cudnnTensorDescriptor_t d, int nbd, int64_t n, int64_t c,
                            const int64_t sp[3]) {
    int dims[5], str[5];
    dims[0] = (int)n;
    dims[1] = (int)c;
    for (int i = 0; i < nbd - 2; i++) dims[2 + i] = (int)sp[3 - (nbd - 2) + i];
    str[nbd - 1] = 1;
    for (int i = nbd - 2; i >= 0; i--) str[i] = str[i + 1] * dims[i + 1];
    JT_CUDNN_TRY(ctx, cudnnSetTensorNdDescriptor(d, CUDNN_DATA_FLOAT, nbd, dims, str));
    return JT_OK;
}

static bool asymmetric(const jt_conv_geom *g) {
    for (int ax = 0; ax < 3; ax++)
        if (g->pb[ax] != g->pe[ax] || g->pb[ax] < 0) return true;
    return false;
}

static jt_status make_descs(const jt_kernel_args *a, conv_cu *s, const roles *r) {
    jt_ctx *ctx = a->ctx;
    const jt_conv_geom *g = &s->geo;
    int nbd = s->nbd = g->nsp == 3 ? 5 : 4, nsp = nbd - 2;
    JT_CUDNN_TRY(ctx, cudnnCreateTensorDescriptor(&s->xd));
    JT_CUDNN_TRY(ctx, cudnnCreateTensorDescriptor(&s->yd));
    JT_CUDNN_TRY(ctx, cudnnCreateFilterDescriptor(&s->wd));
    JT_CUDNN_TRY(ctx, cudnnCreateConvolutionDescriptor(&s->cd));
    JT_TRY(set_tensor(ctx, s->xd, nbd, g->N, g->C, g->in));
    JT_TRY(set_tensor(ctx, s->yd, nbd, g->N, g->M, g->out));
    int wdims[5] = {(int)g->M, (int)g->Cg};
    for (int i = 0; i < nsp; i++) wdims[2 + i] = (int)g->k[3 - nsp + i];
    JT_CUDNN_TRY(ctx, cudnnSetFilterNdDescriptor(s->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, nbd, wdims));
    s->padded = asymmetric(g);
    int pad[3], str[3], dil[3];
    for (int i = 0; i < nsp; i++) {
        int ax = 3 - nsp + i;
        pad[i] = s->padded ? 0 : (int)g->pb[ax];
        str[i] = (int)g->s[ax];
        dil[i] = (int)g->d[ax];
    }
    if (s->padded) {
        int64_t inp[3];
        size_t elems = (size_t)(g->N * g->C);
        for (int ax = 0; ax < 3; ax++) {
            inp[ax] = g->in[ax] + g->pb[ax] + g->pe[ax];
            if (inp[ax] < 1)
                return jt_fail(ctx, JT_ERR_UNSUPPORTED, "node '%s' (%s): pads %lld/%lld leave no input on axis %d",
                               a->node->name, a->node->op_type, (long long)g->pb[ax], (long long)g->pe[ax], ax);
            elems *= (size_t)inp[ax];
        }
        JT_CUDNN_TRY(ctx, cudnnCreateTensorDescriptor(&s->xpd));
        JT_TRY(set_tensor(ctx, s->xpd, nbd, g->N, g->C, inp));
        s->pad_bytes = (elems * sizeof(float) + 255) / 256 * 256;
    }
    JT_CUDNN_TRY(ctx, cudnnSetConvolutionNdDescriptor(s->cd, nsp, pad, str, dil, CUDNN_CROSS_CORRELATION,
                                                      CUDNN_DATA_FLOAT));
    JT_CUDNN_TRY(ctx, cudnnSetConvolutionGroupCount(s->cd, (int)g->G));
    s->math = jt_cuda_tf32(a->backend) ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    JT_CUDNN_TRY(ctx, cudnnSetConvolutionMathType(s->cd, s->math));
    if (r->bias) { /* [1, channels, 1...]: on y (forward) or on x (ConvTranspose) */
        int64_t ones[3] = {1, 1, 1};
        JT_CUDNN_TRY(ctx, cudnnCreateTensorDescriptor(&s->bd));
        JT_TRY(set_tensor(ctx, s->bd, nbd, 1, s->pass == P_FWD ? g->M : g->C, ones));
    }
    return JT_OK;
}

static void free_state(conv_cu *s) {
    if (!s) return;
    if (s->xd) cudnnDestroyTensorDescriptor(s->xd);
    if (s->xpd) cudnnDestroyTensorDescriptor(s->xpd);
    if (s->yd) cudnnDestroyTensorDescriptor(s->yd);
    if (s->bd) cudnnDestroyTensorDescriptor(s->bd);
    if (s->wd) cudnnDestroyFilterDescriptor(s->wd);
    if (s->cd) cudnnDestroyConvolutionDescriptor(s->cd);
    free(s);
}

void jt_conv_cuda_release(void *state) { free_state(state); }

/* ---- algorithm choice ---- */

typedef struct perf {
    int algo;
    cudnnStatus_t status;
    cudnnDeterminism_t det;
    cudnnMathType_t math;
} perf;

static cudnnTensorDescriptor_t x_in(const conv_cu *s) { return s->padded ? s->xpd : s->xd; }

static cudnnStatus_t ws_query(cudnnHandle_t h, const conv_cu *s, int algo, size_t *ws) {
    switch (s->pass) {
    case P_FWD:
        return cudnnGetConvolutionForwardWorkspaceSize(h, x_in(s), s->wd, s->cd, s->yd, (cudnnConvolutionFwdAlgo_t)algo,
                                                       ws);
    case P_BWD_DATA:
        return cudnnGetConvolutionBackwardDataWorkspaceSize(h, s->wd, s->yd, s->cd, x_in(s),
                                                            (cudnnConvolutionBwdDataAlgo_t)algo, ws);
    default:
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, x_in(s), s->yd, s->cd, s->wd,
                                                              (cudnnConvolutionBwdFilterAlgo_t)algo, ws);
    }
}

static size_t ws_cap(void) {
    size_t cap = (size_t)512 << 20;
    const char *e = getenv("JATP_CUDNN_WS_MB");
    if (e && *e) cap = (size_t)strtoull(e, NULL, 10) << 20;
    size_t fr = 0, total = 0;
    if (cudaMemGetInfo(&fr, &total) == cudaSuccess && fr / 4 < cap) cap = fr / 4;
    return cap;
}

static bool use_find(void) {
    const char *e = getenv("JATP_CUDNN_FIND");
    return e && *e && strcmp(e, "0") != 0;
}

#define COPY_PERF(src, n, dst)                                                                               \
    for (int i_ = 0; i_ < (n); i_++)                                                                          \
    (dst)[i_] = (perf){(int)(src)[i_].algo, (src)[i_].status, (src)[i_].determinism, (src)[i_].mathType}

/* cuDNN's heuristic ranking (_v7) of the pass's algorithms. */
static jt_status rank_heuristic(jt_ctx *ctx, cudnnHandle_t h, const conv_cu *s, perf *out, int *n) {
    int got = 0;
    switch (s->pass) {
    case P_FWD: {
        cudnnConvolutionFwdAlgoPerf_t p[MAX_CAND];
        JT_CUDNN_TRY(ctx, cudnnGetConvolutionForwardAlgorithm_v7(h, x_in(s), s->wd, s->cd, s->yd, MAX_CAND, &got, p));
        COPY_PERF(p, got, out);
        break;
    }
    case P_BWD_DATA: {
        cudnnConvolutionBwdDataAlgoPerf_t p[MAX_CAND];
        JT_CUDNN_TRY(ctx, cudnnGetConvolutionBackwardDataAlgorithm_v7(h, s->wd, s->yd, s->cd, x_in(s), MAX_CAND, &got, p));
        COPY_PERF(p, got, out);
        break;
    }
    default: {
        cudnnConvolutionBwdFilterAlgoPerf_t p[MAX_CAND];
        JT_CUDNN_TRY(ctx, cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x_in(s), s->yd, s->cd, s->wd, MAX_CAND, &got, p));
        COPY_PERF(p, got, out);
        break;
    }
    }
    *n = got;
    return JT_OK;
}

static jt_status dev_alloc(jt_ctx *ctx, void **p, size_t bytes) {
    JT_CUDA_TRY(ctx, cudaMalloc(p, bytes ? bytes : 256));
    JT_CUDA_TRY(ctx, cudaMemset(*p, 0, bytes ? bytes : 256));
    JT_CUDA_TRY(ctx, cudaDeviceSynchronize()); /* the backend's stream does not wait for the legacy one */
    return JT_OK;
}

/* Measured ranking (cudnnFind*AlgorithmEx) on temporary buffers, at plan time only. */
static jt_status rank_measured(jt_ctx *ctx, cudnnHandle_t h, const conv_cu *s, size_t ws_max, perf *out, int *n) {
    const jt_conv_geom *g = &s->geo;
    size_t xb = s->padded ? s->pad_bytes : (size_t)(g->N * g->C * g->in_sz) * sizeof(float);
    size_t yb = (size_t)(g->N * g->M * g->out_sz) * sizeof(float), wb = (size_t)(g->M * g->Cg * g->k_sz) * sizeof(float);
    void *x = NULL, *y = NULL, *w = NULL, *ws = NULL;
    jt_status st = dev_alloc(ctx, &x, xb);
    if (st == JT_OK) st = dev_alloc(ctx, &y, yb);
    if (st == JT_OK) st = dev_alloc(ctx, &w, wb);
    while (st == JT_OK && ws_max && cudaMalloc(&ws, ws_max) != cudaSuccess) {
        cudaGetLastError(); /* clear the failed allocation, try a smaller workspace */
        ws = NULL;
        ws_max /= 2;
        if (ws_max < ((size_t)1 << 20)) ws_max = 0;
    }
    int got = 0;
    cudnnStatus_t cs = CUDNN_STATUS_SUCCESS;
    if (st == JT_OK) {
        switch (s->pass) {
        case P_FWD: {
            cudnnConvolutionFwdAlgoPerf_t p[MAX_CAND];
            cs = cudnnFindConvolutionForwardAlgorithmEx(h, x_in(s), x, s->wd, w, s->cd, s->yd, y, MAX_CAND, &got, p,
                                                        ws, ws_max);
            if (cs == CUDNN_STATUS_SUCCESS) COPY_PERF(p, got, out);
            break;
        }
        case P_BWD_DATA: {
            cudnnConvolutionBwdDataAlgoPerf_t p[MAX_CAND];
            cs = cudnnFindConvolutionBackwardDataAlgorithmEx(h, s->wd, w, s->yd, y, s->cd, x_in(s), x, MAX_CAND, &got,
                                                             p, ws, ws_max);
            if (cs == CUDNN_STATUS_SUCCESS) COPY_PERF(p, got, out);
            break;
        }
        default: {
            cudnnConvolutionBwdFilterAlgoPerf_t p[MAX_CAND];
            cs = cudnnFindConvolutionBackwardFilterAlgorithmEx(h, x_in(s), x, s->yd, y, s->cd, s->wd, w, MAX_CAND,
                                                               &got, p, ws, ws_max);
            if (cs == CUDNN_STATUS_SUCCESS) COPY_PERF(p, got, out);
            break;
        }
        }
    }
    if (x) cudaFree(x);
    if (y) cudaFree(y);
    if (w) cudaFree(w);
    if (ws) cudaFree(ws);
    JT_TRY(st);
    if (cs != CUDNN_STATUS_SUCCESS)
        return jt_fail(ctx, JT_ERR_DEVICE, "cuDNN error at %s:%d: cudnnFind*AlgorithmEx: %s", __FILE__, __LINE__,
                       cudnnGetErrorString(cs));
    *n = got;
    return JT_OK;
}

/* Deterministic, workspace-light algorithms tried after the ranked ones. */
static int fallbacks(int pass, int *out) {
    switch (pass) {
    case P_FWD:
        out[0] = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
        out[1] = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
        return 2;
    case P_BWD_DATA: out[0] = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1; return 1;
    default: out[0] = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1; return 1;
    }
}

static jt_status add_cand(jt_ctx *ctx, cudnnHandle_t h, conv_cu *s, int algo, cudnnMathType_t math, size_t cap) {
    if (s->n_cand >= MAX_CAND) return JT_OK;
    for (int i = 0; i < s->n_cand; i++)
        if (s->c[i].algo == algo && s->c[i].math == math) return JT_OK;
    if (s->math != math) {
        JT_CUDNN_TRY(ctx, cudnnSetConvolutionMathType(s->cd, math));
        s->math = math;
    }
    size_t ws = 0;
    if (ws_query(h, s, algo, &ws) != CUDNN_STATUS_SUCCESS) return JT_OK; /* not supported for this shape */
    if (ws > cap) return JT_OK; /* the cap bounds cuDNN's workspace; the padded copy is always needed */
    s->c[s->n_cand++] = (cand){algo, math, (ws + 255) / 256 * 256};
    return JT_OK;
}

static const char *pass_name(int pass) {
    return pass == P_FWD ? "forward" : pass == P_BWD_DATA ? "backward-data" : "backward-filter";
}

static jt_status choose(const jt_kernel_args *a, conv_cu *s) {
    jt_ctx *ctx = a->ctx;
    cudnnHandle_t h = jt_cuda_cudnn(a->backend);
    int tf32 = jt_cuda_tf32(a->backend), det = jt_cuda_deterministic(a->backend);
    size_t cap = ws_cap();
    perf p[MAX_CAND];
    int n = 0;
    if (use_find()) JT_TRY(rank_measured(ctx, h, s, cap, p, &n));
    else JT_TRY(rank_heuristic(ctx, h, s, p, &n));
    for (int i = 0; i < n; i++) {
        if (p[i].status != CUDNN_STATUS_SUCCESS) continue;
        if (det && p[i].det != CUDNN_DETERMINISTIC) continue;
        cudnnMathType_t m = p[i].math;
        if (!tf32) m = CUDNN_FMA_MATH; /* float32 math: the algorithm without tensor-op (TF32) math */
        else if (m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue; /* would round to half precision */
        JT_TRY(add_cand(ctx, h, s, p[i].algo, m, cap));
    }
    int fb[2], nfb = fallbacks(s->pass, fb);
    for (int i = 0; i < nfb; i++) JT_TRY(add_cand(ctx, h, s, fb[i], CUDNN_FMA_MATH, cap));
    if (!s->n_cand)
        return jt_fail(ctx, JT_ERR_DEVICE,
                       "node '%s' (%s): no cuDNN %s algorithm is usable for this convolution within a %zu-byte "
                       "workspace%s", a->node->name, a->node->op_type, pass_name(s->pass), cap,
                       det ? " in deterministic mode" : "");
    return JT_OK;
}

static jt_status build_state(const jt_kernel_args *a, conv_cu **out) {
    *out = NULL;
    if (!a->backend) return jt_fail(a->ctx, JT_ERR_INTERNAL, "node '%s': no CUDA backend", a->node->name);
    conv_cu *s = calloc(1, sizeof *s);
    if (!s) return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    roles r = {0};
    jt_status st = node_setup(a, &s->kind, &s->pass, &s->geo);
    if (st == JT_OK) node_roles(a, s->kind, &r);
    if (st == JT_OK) st = fits_int(a, &s->geo);
    if (st == JT_OK) st = make_descs(a, s, &r);
    if (st == JT_OK) st = choose(a, s);
    if (st != JT_OK) {
        free_state(s);
        return st;
    }
    *out = s;
    return JT_OK;
}

jt_status jt_conv_cuda_prepare(const jt_kernel_args *a, void **state) {
    conv_cu *s;
    JT_TRY(build_state(a, &s));
    *state = s;
    return JT_OK;
}

static size_t state_ws(const conv_cu *s) { return s->pad_bytes + (s->n_cand ? s->c[0].ws : 0); }

size_t jt_conv_cuda_workspace(const jt_kernel_args *a) {
    if (a->state) return state_ws(a->state);
    /* sized before prepare: the same choice made now (a failure is reported by prepare) */
    conv_cu *s;
    if (build_state(a, &s) != JT_OK) return 0;
    size_t ws = state_ws(s);
    free_state(s);
    return ws;
}

/* ---- run ---- */

static jt_status shift(const jt_kernel_args *a, const conv_cu *s, const float *src, float *dst, bool to_padded) {
    const jt_conv_geom *g = &s->geo;
    jt_cuda_shift3 sh = {.planes = (long long)(g->N * g->C)};
    for (int ax = 0; ax < 3; ax++) {
        long long padded = (long long)(g->in[ax] + g->pb[ax] + g->pe[ax]);
        sh.src[ax] = to_padded ? (long long)g->in[ax] : padded;
        sh.dst[ax] = to_padded ? padded : (long long)g->in[ax];
        sh.off[ax] = to_padded ? -(long long)g->pb[ax] : (long long)g->pb[ax];
    }
    JT_CUDA_TRY(a->ctx, jt_cuda_conv_shift_f32(jt_cuda_stream(a->backend), src, dst, sh));
    return JT_OK;
}

jt_status jt_conv_cuda_f32(const jt_kernel_args *a) {
    conv_cu *s = a->state;
    if (!s) return jt_fail(a->ctx, JT_ERR_INTERNAL, "node '%s': convolution not prepared for CUDA", a->node->name);
    roles r;
    node_roles(a, s->kind, &r);
    const cand *c = NULL;
    for (int i = 0; i < s->n_cand && !c; i++)
        if (s->pad_bytes + s->c[i].ws <= a->ws_size) c = &s->c[i];
    if (!c)
        return jt_fail(a->ctx, JT_ERR_INTERNAL, "node '%s' (%s): workspace of %zu bytes, below the %zu bytes needed",
                       a->node->name, a->node->op_type, a->ws_size, state_ws(s));
    cudnnHandle_t h = jt_cuda_cudnn(a->backend);
    if (s->math != c->math) { /* the descriptor is this node's own (plan state): set before use */
        JT_CUDNN_TRY(a->ctx, cudnnSetConvolutionMathType(s->cd, c->math));
        s->math = c->math;
    }
    float *xp = s->padded ? (float *)a->ws : NULL;
    void *ws = c->ws ? (char *)a->ws + s->pad_bytes : NULL;
    size_t wsz = c->ws;
    const float one = 1.0f, zero = 0.0f;
    switch (s->pass) {
    case P_FWD: {
        const float *x = r.x->data;
        if (s->padded) {
            JT_TRY(shift(a, s, x, xp, true));
            x = xp;
        }
        JT_CUDNN_TRY(a->ctx, cudnnConvolutionForward(h, &one, x_in(s), x, s->wd, r.w->data, s->cd,
                                                     (cudnnConvolutionFwdAlgo_t)c->algo, ws, wsz, &zero,
                                                     s->yd, r.y->data));
        if (r.bias) JT_CUDNN_TRY(a->ctx, cudnnAddTensor(h, &one, s->bd, r.bias->data, &one, s->yd, r.y->data));
        break;
    }
    case P_BWD_DATA: {
        float *dx = s->padded ? xp : r.x->data;
        JT_CUDNN_TRY(a->ctx, cudnnConvolutionBackwardData(h, &one, s->wd, r.w->data, s->yd, r.y->data, s->cd,
                                                          (cudnnConvolutionBwdDataAlgo_t)c->algo, ws, wsz,
                                                          &zero, x_in(s), dx));
        if (s->padded) JT_TRY(shift(a, s, xp, r.x->data, false));
        if (r.bias) JT_CUDNN_TRY(a->ctx, cudnnAddTensor(h, &one, s->bd, r.bias->data, &one, s->xd, r.x->data));
        break;
    }
    default: {
        const float *x = r.x->data;
        if (s->padded) {
            JT_TRY(shift(a, s, x, xp, true));
            x = xp;
        }
        JT_CUDNN_TRY(a->ctx, cudnnConvolutionBackwardFilter(h, &one, x_in(s), x, s->yd, r.y->data, s->cd,
                                                            (cudnnConvolutionBwdFilterAlgo_t)c->algo, ws,
                                                            wsz, &zero, s->wd, r.w->data));
        break;
    }
    }
    return JT_OK;
}

/* ---- BiasGrad ---- */

jt_status jt_bias_grad_cuda_f32(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0];
    long long plane = 1;
    for (int i = 2; i < dy->rank; i++) plane *= (long long)dy->dims[i];
    JT_CUDA_TRY(a->ctx, jt_cuda_bias_grad_f32(jt_cuda_stream(a->backend), dy->data, a->out[0]->data,
                                              (long long)dy->dims[0], (long long)dy->dims[1], plane));
    return JT_OK;
}
