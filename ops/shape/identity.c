/* Identity and Dropout (inference): output 0 is input 0. Zero-copy: the planner aliases the output to
 * the input buffer (JT_OP_ALIAS) and skips the kernel; the kernel copies when buffers differ (constant
 * folding, or when aliasing is not possible). Dropout lives in dropout.c. */
#include "shape_util.h"
#ifdef JT_HAVE_CUDA
#include "shape_cuda.h"
#endif

static jt_status identity_infer(const jt_infer_args *a) {
    const jt_tensor *x = a->in[0];
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, x->dims);
    return JT_OK;
}

jt_status jt_copy_kernel(const jt_kernel_args *a) {
    if (a->out[0]->data != a->in[0]->data)
        jt_par_memcpy(a->pool, a->out[0]->data, a->in[0]->data, jt_tensor_nbytes(a->in[0]));
    return JT_OK;
}

const jt_op_impl jt_impl_identity = {
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = identity_infer,
    .cpu_f32 = jt_copy_kernel, .cpu_f64 = jt_copy_kernel, .cpu_other = jt_copy_kernel,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_copy_cuda_f32,
#endif
    .type_input = 0,
    .flags = JT_OP_ALIAS,
    .vjp = jt_vjp_pass_through,
};
