/* CUDA float32 optimizer steps (see optim_cuda.h and the CPU kernels in optim_torch.c / optim_onnx.c,
 * whose operation order every kernel here follows). Products and sums use the _rn intrinsics so that
 * nvcc does not contract them into FMAs the CPU does not have. Scalars (lr, step, R, T, max_norm) are
 * read from device memory by every thread once, before its grid-stride loop. */
#include <cuda_runtime.h>
#include <math.h>
#include <string.h>

#include "optim_cuda.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda/cuda_backend.h"

#define STREAM(a) jt_cuda_stream((a)->backend)
#define GRID_LOOP(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)
#define BATCH 16          /* tensors per launch (kernel parameters by value) */
#define RED_THREADS 256   /* threads of the chunk sums */
#define FINAL_THREADS 1024

/* A one-element tensor of any numeric dtype, on the device. */
__device__ static inline double dscalar(const void *p, int dt) {
    switch (dt) {
    case JT_F32: return (double)*(const float *)p;
    case JT_F64: return *(const double *)p;
    case JT_I64: return (double)*(const long long *)p;
    case JT_I32: return (double)*(const int *)p;
    default: return nan("");
    }
}

__device__ static inline long long iscalar(const void *p, int dt) {
    switch (dt) {
    case JT_I64: return *(const long long *)p;
    case JT_I32: return (long long)*(const int *)p;
    case JT_F32: return (long long)*(const float *)p;
    case JT_F64: return (long long)*(const double *)p;
    default: return 0;
    }
}

#define FMUL __fmul_rn
#define FADD __fadd_rn
#define FDIV __fdiv_rn
#define DMUL __dmul_rn
#define DADD __dadd_rn
#define DSUB(x, y) __dadd_rn((x), -(y))
#define DDIV __ddiv_rn

static jt_status check_launch(const jt_kernel_args *a) {
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}

static jt_status check_dtype(const jt_kernel_args *a, const jt_tensor *t, const char *what) {
    if (t && t->dtype != JT_F32 && t->dtype != JT_F64 && t->dtype != JT_I64 && t->dtype != JT_I32)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "%s of dtype %s is not supported on CUDA",
                            what, jt_dtype_name(t->dtype));
    return JT_OK;
}

/* ---- SGDStep ---- */

typedef struct sgd_dev {
    const float *w, *g, *v;
    float *wo, *vo;
    const void *lr, *step;
    int lr_dt, step_dt;
    float wd, mu, damp1;
    int nesterov, has_wd, has_mom;
    long long n;
} sgd_dev;

__global__ void sgd_k(sgd_dev j) {
    const float nlr = (float)(-dscalar(j.lr, j.lr_dt));
    const bool first = (j.step ? dscalar(j.step, j.step_dt) : 2.0) <= 1.0;
    GRID_LOOP(i, j.n) {
        float d = j.g[i];
        if (j.has_wd) d = FADD(d, FMUL(j.wd, j.w[i]));
        if (j.has_mom) {
            float b;
            if (first) {
                b = d;
            } else {
                b = FMUL(j.v[i], j.mu);
                b = FADD(b, FMUL(j.damp1, d));
            }
            if (j.vo) j.vo[i] = b;
            d = j.nesterov ? FADD(d, FMUL(j.mu, b)) : b;
        } else if (j.vo) {
            j.vo[i] = j.v[i];
        }
        j.wo[i] = FADD(j.w[i], FMUL(nlr, d));
    }
}

static void *out_data(const jt_kernel_args *a, int i) { return i < a->n_out && a->out[i] ? a->out[i]->data : NULL; }

extern "C" jt_status jt_sgd_step_cuda_f32(const jt_kernel_args *a) {
    const sgd_attrs *at = (const sgd_attrs *)a->attrs;
    const jt_tensor *lr = a->in[3], *step = a->n_in > 4 ? a->in[4] : NULL;
    JT_TRY(check_dtype(a, lr, "lr"));
    JT_TRY(check_dtype(a, step, "step"));
    sgd_dev j;
    memset(&j, 0, sizeof j);
    j.w = (const float *)a->in[0]->data;
    j.g = (const float *)a->in[1]->data;
    j.v = a->in[2] ? (const float *)a->in[2]->data : NULL;
    j.wo = (float *)a->out[0]->data;
    j.vo = j.v ? (float *)out_data(a, 1) : NULL;
    j.lr = lr->data;
    j.lr_dt = lr->dtype;
    j.step = step ? step->data : NULL;
    j.step_dt = step ? step->dtype : 0;
    j.wd = (float)at->weight_decay;
    j.mu = (float)at->momentum;
    j.damp1 = (float)(1.0 - at->dampening);
    j.nesterov = (int)at->nesterov;
    j.has_wd = at->weight_decay != 0.0;
    j.has_mom = at->momentum != 0.0;
    j.n = jt_tensor_numel(a->in[0]);
    if (j.n == 0) return JT_OK;
    sgd_k<<<jt_cuda_blocks(j.n), JT_CUDA_THREADS, 0, STREAM(a)>>>(j);
    return check_launch(a);
}

/* ---- AdamStep ---- */

typedef struct adam_step_dev {
    const float *w, *g, *m, *v;
    float *wo, *mo, *vo;
    const void *lr, *step;
    int lr_dt, step_dt;
    double beta1, beta2, eps, weight_decay;
    int adamw, has_wd;
    long long n;
} adam_step_dev;

__global__ void adam_step_k(adam_step_dev j) {
    /* the CPU's host scalars, in double, rounded to float */
    const double lr = dscalar(j.lr, j.lr_dt), step = dscalar(j.step, j.step_dt);
    const double bc1 = DSUB(1.0, pow(j.beta1, step)), bc2 = DSUB(1.0, pow(j.beta2, step));
    const float wd = (float)(j.adamw ? DSUB(1.0, DMUL(lr, j.weight_decay)) : j.weight_decay);
    const float b1 = (float)j.beta1, omb1 = (float)DSUB(1.0, j.beta1), b2 = (float)j.beta2,
                omb2 = (float)DSUB(1.0, j.beta2);
    const float bc2s = (float)sqrt(bc2), eps = (float)j.eps, nss = (float)(-DDIV(lr, bc1));
    GRID_LOOP(i, j.n) {
        float p = j.w[i], gi = j.g[i];
        if (j.adamw) p = FMUL(p, wd);
        else if (j.has_wd) gi = FADD(gi, FMUL(wd, p));
        float mi = FMUL(j.m[i], b1);
        mi = FADD(mi, FMUL(omb1, gi));
        float vi = FMUL(j.v[i], b2);
        vi = FADD(vi, FMUL(FMUL(omb2, gi), gi));
        float denom = FADD(FDIV(__fsqrt_rn(vi), bc2s), eps);
        j.wo[i] = FADD(p, FDIV(FMUL(nss, mi), denom));
        if (j.mo) j.mo[i] = mi;
        if (j.vo) j.vo[i] = vi;
    }
}

extern "C" jt_status jt_adam_step_cuda_f32(const jt_kernel_args *a) {
    const adam_step_attrs *at = (const adam_step_attrs *)a->attrs;
    const jt_tensor *lr = a->in[4], *step = a->in[5];
    JT_TRY(check_dtype(a, lr, "lr"));
    JT_TRY(check_dtype(a, step, "step"));
    adam_step_dev j;
    memset(&j, 0, sizeof j);
    j.w = (const float *)a->in[0]->data;
    j.g = (const float *)a->in[1]->data;
    j.m = (const float *)a->in[2]->data;
    j.v = (const float *)a->in[3]->data;
    j.wo = (float *)a->out[0]->data;
    j.mo = (float *)out_data(a, 1);
    j.vo = (float *)out_data(a, 2);
    j.lr = lr->data;
    j.lr_dt = lr->dtype;
    j.step = step->data;
    j.step_dt = step->dtype;
    j.beta1 = at->beta1;
    j.beta2 = at->beta2;
    j.eps = at->eps;
    j.weight_decay = at->weight_decay;
    j.adamw = (int)at->adamw;
    j.has_wd = at->weight_decay != 0.0;
    j.n = jt_tensor_numel(a->in[0]);
    if (j.n == 0) return JT_OK;
    adam_step_k<<<jt_cuda_blocks(j.n), JT_CUDA_THREADS, 0, STREAM(a)>>>(j);
    return check_launch(a);
}

/* ---- ClipByGlobalNorm ---- */

typedef struct clip_batch {
    const float *g[BATCH];
    float *o[BATCH];
    long long n[BATCH], base[BATCH]; /* elements; index of the first chunk in the partial sums */
} clip_batch;

template <int NT>
__device__ static inline double block_sum(double v, double *sh) {
    int t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (int s = NT / 2; s > 0; s >>= 1) {
        if (t < s) sh[t] += sh[t + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

/* grid: x = chunks (grid-stride), y = tensor of the batch */
__global__ void __launch_bounds__(RED_THREADS) clip_sumsq_k(clip_batch b, double *partial) {
    __shared__ double sh[RED_THREADS];
    int k = blockIdx.y;
    long long n = b.n[k], nch = (n + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
    const float *g = b.g[k];
    for (long long ch = blockIdx.x; ch < nch; ch += gridDim.x) {
        long long lo = ch * OPTIM_CHUNK, hi = lo + OPTIM_CHUNK < n ? lo + OPTIM_CHUNK : n;
        double s = 0;
        for (long long i = lo + threadIdx.x; i < hi; i += RED_THREADS) {
            double v = (double)g[i];
            s = DADD(s, DMUL(v, v));
        }
        s = block_sum<RED_THREADS>(s, sh);
        if (threadIdx.x == 0) partial[b.base[k] + ch] = s;
    }
}

/* one block: the norm (output, may be NULL) and the clip coefficient (float, into *coef) */
__global__ void __launch_bounds__(FINAL_THREADS) clip_norm_k(const double *partial, long long nc, const void *max_norm,
                                                             int mn_dt, float *norm_out, float *coef) {
    __shared__ double sh[FINAL_THREADS];
    double s = 0;
    for (long long c = threadIdx.x; c < nc; c += FINAL_THREADS) s += partial[c];
    s = block_sum<FINAL_THREADS>(s, sh);
    if (threadIdx.x == 0) {
        double norm = sqrt(s), mn = dscalar(max_norm, mn_dt);
        float c = FDIV((float)mn, FADD((float)norm, 1e-6f)); /* clip_coef, a float32 tensor op in torch */
        float f = c < 1.0f ? c : 1.0f;
        if (c != c) f = c; /* NaN propagates as in torch.clamp */
        *coef = f;
        if (norm_out) *norm_out = (float)norm;
    }
}

/* grid: x = elements (grid-stride), y = tensor of the batch */
__global__ void clip_scale_k(clip_batch b, const float *coef) {
    int k = blockIdx.y;
    if (!b.o[k]) return;
    const float f = *coef;
    const float *g = b.g[k];
    float *o = b.o[k];
    GRID_LOOP(i, b.n[k]) o[i] = FMUL(g[i], f);
}

static long long clip_chunks(const jt_kernel_args *a) {
    long long c = 0;
    for (int i = 0; i < a->n_in - 1; i++) c += (jt_tensor_numel(a->in[i]) + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
    return c;
}

extern "C" size_t jt_clip_by_global_norm_cuda_workspace(const jt_kernel_args *a) {
    long long c = clip_chunks(a);
    return (size_t)(c ? c : 1) * sizeof(double) + 64;
}

extern "C" jt_status jt_clip_by_global_norm_cuda_f32(const jt_kernel_args *a) {
    int n = a->n_in - 1;
    const jt_tensor *mn = a->in[n];
    JT_TRY(check_dtype(a, mn, "max_norm"));
    long long nc = clip_chunks(a);
    if (!a->ws || a->ws_size < jt_clip_by_global_norm_cuda_workspace(a))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "device workspace too small");
    double *partial = (double *)a->ws;
    float *coef = (float *)((char *)a->ws + (size_t)(nc ? nc : 1) * sizeof(double));
    /* sums of squares, BATCH gradients per launch */
    long long base = 0;
    for (int i0 = 0; i0 < n; i0 += BATCH) {
        clip_batch b;
        memset(&b, 0, sizeof b);
        int cnt = n - i0 < BATCH ? n - i0 : BATCH;
        long long max_ch = 0;
        for (int k = 0; k < cnt; k++) {
            const jt_tensor *t = a->in[i0 + k];
            b.g[k] = (const float *)t->data;
            b.n[k] = jt_tensor_numel(t);
            b.base[k] = base;
            long long ch = (b.n[k] + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
            base += ch;
            if (ch > max_ch) max_ch = ch;
        }
        if (max_ch == 0) continue;
        dim3 grid((unsigned)(max_ch < 65535 ? max_ch : 65535), (unsigned)cnt);
        clip_sumsq_k<<<grid, RED_THREADS, 0, STREAM(a)>>>(b, partial);
        JT_TRY(check_launch(a));
    }
    jt_tensor *norm = a->out[n];
    clip_norm_k<<<1, FINAL_THREADS, 0, STREAM(a)>>>(partial, nc, mn->data, mn->dtype,
                                                    norm ? (float *)norm->data : NULL, coef);
    JT_TRY(check_launch(a));
    for (int i0 = 0; i0 < n; i0 += BATCH) {
        clip_batch b;
        memset(&b, 0, sizeof b);
        int cnt = n - i0 < BATCH ? n - i0 : BATCH;
        long long max_n = 0;
        for (int k = 0; k < cnt; k++) {
            b.g[k] = (const float *)a->in[i0 + k]->data;
            b.o[k] = a->out[i0 + k] ? (float *)a->out[i0 + k]->data : NULL;
            b.n[k] = b.o[k] ? jt_tensor_numel(a->in[i0 + k]) : 0;
            if (b.n[k] > max_n) max_n = b.n[k];
        }
        if (max_n == 0) continue;
        clip_scale_k<<<dim3(jt_cuda_blocks(max_n), (unsigned)cnt), JT_CUDA_THREADS, 0, STREAM(a)>>>(b, coef);
        JT_TRY(check_launch(a));
    }
    return JT_OK;
}

/* ---- ai.onnx.preview.training Momentum / Adagrad / Adam ---- */

typedef struct onnx_batch {
    const float *x[BATCH], *g[BATCH], *v[BATCH], *h[BATCH];
    float *xo[BATCH], *vo[BATCH], *ho[BATCH];
    long long n[BATCH];
} onnx_batch;

typedef struct onnx_scal {
    const void *R, *T;
    int r_dt, t_dt;
    double c1, c2, c3, nc, post, decay;
    int nesterov;
} onnx_scal;

__global__ void momentum_k(onnx_batch b, onnx_scal s) {
    int k = blockIdx.y;
    const double r = dscalar(s.R, s.r_dt), c1 = s.c1, c2 = iscalar(s.T, s.t_dt) > 0 ? s.c2 : 1.0;
    const float *x = b.x[k], *g = b.g[k], *v = b.v[k];
    float *xo = b.xo[k], *vo = b.vo[k];
    GRID_LOOP(i, b.n[k]) {
        double xi = (double)x[i];
        double gr = DADD(DMUL(s.nc, xi), (double)g[i]);
        double vn = DADD(DMUL(c1, (double)v[i]), DMUL(c2, gr));
        double xn = s.nesterov ? DSUB(xi, DMUL(r, DADD(gr, DMUL(c1, vn)))) : DSUB(xi, DMUL(r, vn));
        if (xo) xo[i] = (float)xn;
        if (vo) vo[i] = (float)vn;
    }
}

__global__ void adagrad_k(onnx_batch b, onnx_scal s) {
    int k = blockIdx.y;
    const double r = DDIV(dscalar(s.R, s.r_dt), DADD(1.0, DMUL((double)iscalar(s.T, s.t_dt), s.decay)));
    const float *x = b.x[k], *g = b.g[k], *h = b.h[k];
    float *xo = b.xo[k], *ho = b.ho[k];
    GRID_LOOP(i, b.n[k]) {
        double xi = (double)x[i];
        double gr = DADD(DMUL(s.nc, xi), (double)g[i]);
        double hn = DADD((double)h[i], DMUL(gr, gr));
        if (xo) xo[i] = (float)DSUB(xi, DDIV(DMUL(r, gr), DADD(__dsqrt_rn(hn), s.c1)));
        if (ho) ho[i] = (float)hn;
    }
}

__global__ void onnx_adam_k(onnx_batch b, onnx_scal s) {
    int k = blockIdx.y;
    double r = dscalar(s.R, s.r_dt);
    long long t = iscalar(s.T, s.t_dt);
    if (t > 0)
        r = DDIV(DMUL(r, __dsqrt_rn(DSUB(1.0, pow(s.c2, (double)t)))), DSUB(1.0, pow(s.c1, (double)t)));
    const double omc1 = DSUB(1.0, s.c1), omc2 = DSUB(1.0, s.c2), omp = DSUB(1.0, s.post);
    const float *x = b.x[k], *g = b.g[k], *v = b.v[k], *h = b.h[k];
    float *xo = b.xo[k], *vo = b.vo[k], *ho = b.ho[k];
    GRID_LOOP(i, b.n[k]) {
        double xi = (double)x[i];
        double gr = DADD(DMUL(s.nc, xi), (double)g[i]);
        double vn = DADD(DMUL(s.c1, (double)v[i]), DMUL(omc1, gr));
        double hn = DADD(DMUL(s.c2, (double)h[i]), DMUL(omc2, DMUL(gr, gr)));
        double xn = DMUL(omp, DSUB(xi, DMUL(r, DDIV(vn, DADD(__dsqrt_rn(hn), s.c3)))));
        if (xo) xo[i] = (float)xn;
        if (vo) vo[i] = (float)vn;
        if (ho) ho[i] = (float)hn;
    }
}

enum { ONNX_MOMENTUM, ONNX_ADAGRAD, ONNX_ADAM };

/* Inputs R, T, X.., G.., S1.. [, S2..]; outputs X_new.., S1_new.. [, S2_new..]. */
static jt_status onnx_run(const jt_kernel_args *a, int op, onnx_scal s) {
    int per = op == ONNX_ADAM ? 4 : 3, n = (a->n_in - 2) / per;
    const jt_tensor *R = a->in[0], *T = a->in[1];
    JT_TRY(check_dtype(a, R, "R"));
    JT_TRY(check_dtype(a, T, "T"));
    s.R = R->data;
    s.r_dt = R->dtype;
    s.T = T->data;
    s.t_dt = T->dtype;
    for (int i0 = 0; i0 < n; i0 += BATCH) {
        onnx_batch b;
        memset(&b, 0, sizeof b);
        int cnt = n - i0 < BATCH ? n - i0 : BATCH;
        long long max_n = 0;
        for (int k = 0; k < cnt; k++) {
            int i = i0 + k;
            b.x[k] = (const float *)a->in[2 + i]->data;
            b.g[k] = (const float *)a->in[2 + n + i]->data;
            const float *s1 = (const float *)a->in[2 + 2 * n + i]->data;
            if (op == ONNX_ADAGRAD) b.h[k] = s1;
            else b.v[k] = s1;
            if (op == ONNX_ADAM) b.h[k] = (const float *)a->in[2 + 3 * n + i]->data;
            b.xo[k] = (float *)out_data(a, i);
            float *o1 = (float *)out_data(a, n + i);
            if (op == ONNX_ADAGRAD) b.ho[k] = o1;
            else b.vo[k] = o1;
            if (op == ONNX_ADAM) b.ho[k] = (float *)out_data(a, 2 * n + i);
            b.n[k] = jt_tensor_numel(a->in[2 + i]);
            if (b.n[k] > max_n) max_n = b.n[k];
        }
        if (max_n == 0) continue;
        dim3 grid(jt_cuda_blocks(max_n), (unsigned)cnt);
        if (op == ONNX_MOMENTUM) momentum_k<<<grid, JT_CUDA_THREADS, 0, STREAM(a)>>>(b, s);
        else if (op == ONNX_ADAGRAD) adagrad_k<<<grid, JT_CUDA_THREADS, 0, STREAM(a)>>>(b, s);
        else onnx_adam_k<<<grid, JT_CUDA_THREADS, 0, STREAM(a)>>>(b, s);
        JT_TRY(check_launch(a));
    }
    return JT_OK;
}

extern "C" jt_status jt_onnx_momentum_cuda_f32(const jt_kernel_args *a) {
    const momentum_attrs *at = (const momentum_attrs *)a->attrs;
    onnx_scal s;
    memset(&s, 0, sizeof s);
    s.c1 = at->alpha;
    s.c2 = at->beta;
    s.nc = at->norm_coefficient;
    s.nesterov = at->nesterov;
    return onnx_run(a, ONNX_MOMENTUM, s);
}

extern "C" jt_status jt_onnx_adagrad_cuda_f32(const jt_kernel_args *a) {
    const adagrad_attrs *at = (const adagrad_attrs *)a->attrs;
    onnx_scal s;
    memset(&s, 0, sizeof s);
    s.c1 = at->epsilon;
    s.nc = at->norm_coefficient;
    s.decay = at->decay_factor;
    return onnx_run(a, ONNX_ADAGRAD, s);
}

extern "C" jt_status jt_onnx_adam_cuda_f32(const jt_kernel_args *a) {
    const adam_attrs *at = (const adam_attrs *)a->attrs;
    onnx_scal s;
    memset(&s, 0, sizeof s);
    s.c1 = at->alpha;
    s.c2 = at->beta;
    s.c3 = at->epsilon;
    s.nc = at->norm_coefficient;
    s.post = at->norm_coefficient_post;
    return onnx_run(a, ONNX_ADAM, s);
}
