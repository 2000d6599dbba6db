/* CUDA float32 kernels of the reduce family: ReduceSum/Mean/Max (every version) and ReduceGrad.
 * Reductions are deterministic block/warp trees in double (reduce_cuda_common.cuh); the broadcast back
 * of ReduceGrad is one thread per X element. */
#include <stdlib.h>

#include "reduce/reduce_cuda_common.cuh"
extern "C" {
#include "reduce/reduce.h"
}
#include "reduce/reduce_cuda.h"

enum { RG_SUM_, RG_MEAN_, RG_MAX_ }; /* ReduceGrad modes (reduce_grad.c) */

/* ---- ReduceSum / ReduceMean / ReduceMax ---- */

typedef struct rd_state {
    bool noop;
    rdc_plan plan;
} rd_state;

extern "C" jt_status jt_reduce_cuda_prepare(const jt_kernel_args *a, void **state) {
    bool mask[JT_MAX_RANK];
    rd_state *s = (rd_state *)calloc(1, sizeof *s);
    if (!s) return jt_fail(a->ctx, JT_ERR_OOM, "out of memory");
    jt_status st = jt_reduce_axes(a, mask, &s->noop);
    if (st != JT_OK) {
        free(s);
        return st;
    }
    rdc_plan_init(&s->plan, a->in[0]->rank, a->in[0]->dims, mask);
    *state = s;
    return JT_OK;
}

extern "C" void jt_reduce_cuda_release(void *state) { free(state); }

extern "C" size_t jt_reduce_cuda_workspace(const jt_kernel_args *a) {
    bool mask[JT_MAX_RANK], noop;
    if (jt_reduce_axes(a, mask, &noop) != JT_OK || noop) return 0; /* prepare reports the error */
    rdc_plan p;
    rdc_plan_init(&p, a->in[0]->rank, a->in[0]->dims, mask);
    return rdc_ws_bytes(&p);
}

static jt_status rd_run(const jt_kernel_args *a, int fin) {
    const rd_state *s = (const rd_state *)a->state;
    const jt_tensor *x = a->in[0];
    jt_tensor *y = a->out[0];
    if (!s) return jt_fail(a->ctx, JT_ERR_INTERNAL, "node '%s': reduction run without its CUDA plan", a->node->name);
    if (s->noop) return ewc_copy(a, y->data, x->data, jt_tensor_nbytes(x));
    if (jt_tensor_numel(y) == 0) return JT_OK;
    rdc_io io;
    memset(&io, 0, sizeof io);
    io.x = (const float *)x->data;
    io.y = (float *)y->data;
    io.part = (double *)a->ws;
    io.fin = fin;
    if (fin == RDC_FIN_MAX) return rdc_launch<RDC_MAX>(a, &s->plan, &io);
    return rdc_launch<RDC_SUM>(a, &s->plan, &io);
}

extern "C" jt_status jt_reduce_sum_cuda_f32(const jt_kernel_args *a) { return rd_run(a, RDC_FIN_SUM); }
extern "C" jt_status jt_reduce_mean_cuda_f32(const jt_kernel_args *a) { return rd_run(a, RDC_FIN_MEAN); }
extern "C" jt_status jt_reduce_max_cuda_f32(const jt_kernel_args *a) { return rd_run(a, RDC_FIN_MAX); }

/* ---- ReduceGrad(dY, X[, Y]) ---- */

/* sum/mean: dX = dY (broadcast back over the reduced axes) * scale */
template <typename I>
__global__ void rg_scale_kernel(const ewc_bcast b, const float *dy, float *dx, float sc) {
    EWC_FOR(I, i, b.numel) {
        I off[1];
        ewc_offsets<I, 1>(b, i, off);
        dx[i] = dy[off[0]] * sc;
    }
}

/* max: dX = the tie share g where X equals the maximum Y, else 0 (g and Y have one shape) */
template <typename I>
__global__ void rg_max_kernel(const ewc_bcast b, const float *x, const float *y, const float *g, float *dx) {
    EWC_FOR(I, i, b.numel) {
        I off[2];
        ewc_offsets<I, 2>(b, i, off);
        dx[i] = x[off[0]] == y[off[1]] ? g[off[1]] : 0.0f;
    }
}

static size_t rg_align(size_t n) { return (n + 255) & ~(size_t)255; }

extern "C" size_t jt_reduce_grad_cuda_workspace(const jt_kernel_args *a) {
    bool mask[JT_MAX_RANK], noop;
    int mode;
    if (jt_reduce_grad_axes(a, mask, &noop, &mode) != JT_OK || noop || mode != RG_MAX_) return 0;
    rdc_plan p;
    rdc_plan_init(&p, a->in[1]->rank, a->in[1]->dims, mask);
    return rg_align(rdc_ws_bytes(&p)) + (size_t)p.n_out * sizeof(float);
}

extern "C" jt_status jt_reduce_grad_cuda_f32(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0], *x = a->in[1];
    jt_tensor *dx = a->out[0];
    bool mask[JT_MAX_RANK], noop;
    int mode;
    JT_TRY(jt_reduce_grad_axes(a, mask, &noop, &mode));
    const int64_t numel = jt_tensor_numel(x);
    if (numel == 0) return JT_OK;
    if (noop) return ewc_copy(a, dx->data, dy->data, jt_tensor_nbytes(dx));
    int64_t kd[JT_MAX_RANK], R = 1;
    for (int i = 0; i < x->rank; i++) {
        kd[i] = mask[i] ? 1 : x->dims[i];
        if (mask[i]) R *= x->dims[i];
    }
    cudaStream_t s = jt_cuda_stream(a->backend);
    ewc_bcast b;
    ew_bcast hb;
    if (mode != RG_MAX_) {
        const int ranks[1] = {x->rank};
        const int64_t *dims[1] = {kd};
        ew_bcast_init(&hb, x->rank, x->dims, 1, ranks, dims);
        ewc_from_bcast(&b, &hb);
        const float sc = (float)(mode == RG_MEAN_ ? 1.0 / (double)R : 1.0);
        if (ewc_idx32(numel))
            rg_scale_kernel<unsigned><<<jt_cuda_blocks(numel), JT_CUDA_THREADS, 0, s>>>(b, (const float *)dy->data,
                                                                                       (float *)dx->data, sc);
        else
            rg_scale_kernel<long long><<<jt_cuda_blocks(numel), JT_CUDA_THREADS, 0, s>>>(b, (const float *)dy->data,
                                                                                        (float *)dx->data, sc);
        JT_CUDA_CHECK_LAUNCH(a->ctx);
        return JT_OK;
    }
    if (a->n_in < 3 || !a->in[2])
        return jt_fail(a->ctx, JT_ERR_INVALID_MODEL, "node '%s': ReduceGrad mode max needs Y", a->node->name);
    /* pass 1: per output, the tie share g = dY / #(X == Y) (0 without ties, e.g. a NaN maximum) */
    rdc_plan p;
    rdc_plan_init(&p, x->rank, x->dims, mask);
    const size_t part_bytes = rg_align(rdc_ws_bytes(&p));
    if (!a->ws || a->ws_size < part_bytes + (size_t)p.n_out * sizeof(float))
        return jt_fail(a->ctx, JT_ERR_INTERNAL, "node '%s': the CUDA workspace is missing or too small",
                       a->node->name);
    const float *y = (const float *)a->in[2]->data;
    float *g = (float *)((char *)a->ws + part_bytes);
    rdc_io io;
    memset(&io, 0, sizeof io);
    io.x = (const float *)x->data;
    io.y = g;
    io.ref = y;
    io.dy = (const float *)dy->data;
    io.part = p.S > 1 ? (double *)a->ws : NULL;
    io.fin = RDC_FIN_TIE;
    JT_TRY(rdc_launch<RDC_CNT>(a, &p, &io));
    /* pass 2: one thread per X element */
    const int ranks[2] = {x->rank, x->rank};
    const int64_t *dims[2] = {x->dims, kd};
    ew_bcast_init(&hb, x->rank, x->dims, 2, ranks, dims);
    ewc_from_bcast(&b, &hb);
    if (ewc_idx32(numel))
        rg_max_kernel<unsigned><<<jt_cuda_blocks(numel), JT_CUDA_THREADS, 0, s>>>(b, (const float *)x->data, y, g,
                                                                                 (float *)dx->data);
    else
        rg_max_kernel<long long><<<jt_cuda_blocks(numel), JT_CUDA_THREADS, 0, s>>>(b, (const float *)x->data, y, g,
                                                                                  (float *)dx->data);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}
