/* CUDA float32 kernels of the autograd helpers: OnesLike / ZerosLike (a fill) and SumTo, the
 * unbroadcast of every broadcasting op's gradient: dy summed over the axes broadcasting expanded, as a
 * deterministic reduction (one thread per output in row-major order for short sums, fixed trees for
 * long ones; no atomics). */
#include "reduce/reduce_cuda_common.cuh"
#include "autograd/autograd_cuda.h"

__global__ void ag_fill_kernel(float *y, long long n, float v) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        y[i] = v;
}

static jt_status ag_fill(const jt_kernel_args *a, float v) {
    const long long n = jt_tensor_numel(a->out[0]);
    if (n <= 0) return JT_OK;
    ag_fill_kernel<<<jt_cuda_blocks(n), JT_CUDA_THREADS, 0, jt_cuda_stream(a->backend)>>>((float *)a->out[0]->data, n,
                                                                                         v);
    JT_CUDA_CHECK_LAUNCH(a->ctx);
    return JT_OK;
}

extern "C" jt_status jt_ones_like_cuda_f32(const jt_kernel_args *a) { return ag_fill(a, 1.0f); }
extern "C" jt_status jt_zeros_like_cuda_f32(const jt_kernel_args *a) { return ag_fill(a, 0.0f); }

/* dy's axes that SumTo reduces: the leading axes beyond the target's rank and the target's size-1 axes. */
static void ag_sum_to_plan(const jt_kernel_args *a, rdc_plan *p) {
    const jt_tensor *dy = a->in[0], *out = a->out[0];
    const int off = dy->rank - out->rank;
    bool mask[JT_MAX_RANK];
    for (int i = 0; i < dy->rank; i++) mask[i] = i < off || out->dims[i - off] == 1;
    rdc_plan_init(p, dy->rank, dy->dims, mask);
}

extern "C" size_t jt_sum_to_cuda_workspace(const jt_kernel_args *a) {
    rdc_plan p;
    ag_sum_to_plan(a, &p);
    return rdc_ws_bytes(&p);
}

extern "C" jt_status jt_sum_to_cuda_f32(const jt_kernel_args *a) {
    const jt_tensor *dy = a->in[0];
    jt_tensor *out = a->out[0];
    const int64_t n_out = jt_tensor_numel(out), n = jt_tensor_numel(dy);
    if (n_out == n) return ewc_copy(a, out->data, dy->data, jt_tensor_nbytes(out));
    if (n_out == 0) return JT_OK;
    rdc_plan p;
    ag_sum_to_plan(a, &p);
    rdc_io io;
    memset(&io, 0, sizeof io);
    io.x = (const float *)dy->data;
    io.y = (float *)out->data;
    io.part = (double *)a->ws;
    io.fin = RDC_FIN_SUM;
    return rdc_launch<RDC_SUM>(a, &p, &io);
}
