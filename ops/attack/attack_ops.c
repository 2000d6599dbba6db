/* Ops of the attack library (include/jatp/attack.h):
 *   jatp.AttackLoss(logits [N,K], labels [N], targets [N], kind []) -> loss [N]
 *       per-example logit loss of the attacks: kind 0 CE, 1 CW margin, 2 DLR, 3 targeted DLR, 4 z_t - z_y
 *       (formulas in attack_loss_math.h). kind is a runtime int64 scalar so one plan serves every loss.
 *       An invalid kind, label or target (or K too small) gives NaN, never a crash.
 *   jatp.grad.AttackLossGrad(dy [N], logits, labels, targets, kind) -> dlogits [N,K]
 *   jatp.StraightThrough(u, a) -> u: forward returns u; the backward sends the gradient to a instead.
 *       BPDA: u = P(x), a = x (identity surrogate) or a = h(x) (surrogate graph). */
#include <math.h>
#include <string.h>

#include "attack_loss_math.h"
#include "jatp/builder.h"
#include "op.h"
#include "shape/shape_util.h"
#ifdef JT_HAVE_CUDA
#include "attack_cuda.h"
#include "shape/shape_cuda.h"
#endif

static jt_status check_int_vec(const jt_infer_args *a, const jt_tensor *t, int64_t N, const char *what) {
    if ((t->dtype != JT_I64 && t->dtype != JT_I32) || t->rank != 1 || t->dims[0] != N)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "%s must be int64 or int32 [%lld], got %s rank %d",
                            what, (long long)N, jt_dtype_name(t->dtype), t->rank);
    return JT_OK;
}

/* logits, labels, targets, kind at inputs base..base+3 */
static jt_status check_inputs(const jt_infer_args *a, int base) {
    const jt_tensor *z = a->in[base], *kind = a->in[base + 3];
    if ((z->dtype != JT_F32 && z->dtype != JT_F64) || z->rank != 2)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "logits must be float32/float64 [N, K], got %s rank %d",
                            jt_dtype_name(z->dtype), z->rank);
    JT_TRY(check_int_vec(a, a->in[base + 1], z->dims[0], "labels"));
    JT_TRY(check_int_vec(a, a->in[base + 2], z->dims[0], "targets"));
    if (kind->dtype != JT_I64 || jt_tensor_numel(kind) != 1)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "kind must be one int64");
    return JT_OK;
}

static jt_status loss_infer(const jt_infer_args *a) {
    JT_TRY(check_inputs(a, 0));
    const jt_tensor *z = a->in[0];
    jt_tensor_set_shape(a->out[0], z->dtype, 1, z->dims);
    return JT_OK;
}

static jt_status grad_infer(const jt_infer_args *a) {
    JT_TRY(check_inputs(a, 1));
    const jt_tensor *dy = a->in[0], *z = a->in[1];
    if (dy->dtype != z->dtype || dy->rank != 1 || dy->dims[0] != z->dims[0])
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dy must be %s [%lld]", jt_dtype_name(z->dtype),
                            (long long)z->dims[0]);
    jt_tensor_set_shape(a->out[0], z->dtype, 2, z->dims);
    return JT_OK;
}

static int64_t ival(const jt_tensor *t, int64_t i) {
    return t->dtype == JT_I32 ? (int64_t)((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
}

#define ATTACK_KERNELS(T, S)                                                                                       \
    static jt_status loss_##S(const jt_kernel_args *a) {                                                          \
        const jt_tensor *z = a->in[0];                                                                             \
        int64_t N = z->dims[0], K = z->dims[1], kind = ((const int64_t *)a->in[3]->data)[0];                     \
        const T *zd = z->data;                                                                                     \
        T *l = a->out[0]->data;                                                                                    \
        for (int64_t i = 0; i < N; i++)                                                                            \
            l[i] = (T)jt_alm_loss_##S((int)kind, zd + i * K, K, ival(a->in[1], i), ival(a->in[2], i), 1.0, NULL); \
        return JT_OK;                                                                                              \
    }                                                                                                              \
    static jt_status grad_##S(const jt_kernel_args *a) {                                                          \
        const jt_tensor *z = a->in[1];                                                                             \
        int64_t N = z->dims[0], K = z->dims[1], kind = ((const int64_t *)a->in[4]->data)[0];                     \
        const T *zd = z->data, *dy = a->in[0]->data;                                                              \
        T *dz = a->out[0]->data;                                                                                   \
        for (int64_t i = 0; i < N; i++)                                                                            \
            jt_alm_loss_##S((int)kind, zd + i * K, K, ival(a->in[2], i), ival(a->in[3], i), (double)dy[i],       \
                            dz + i * K);                                                                           \
        return JT_OK;                                                                                              \
    }
ATTACK_KERNELS(float, f32)
ATTACK_KERNELS(double, f64)

static jt_status loss_vjp(jt_vjp_args *v) {
    if (!v->need[0] || v->dy[0] < 0) return JT_OK;
    int32_t ins[5] = {v->dy[0], v->in[0], v->in[1], v->in[2], v->in[3]};
    v->dx[0] = jt_gb_op(v->b, "AttackLossGrad", JT_DOMAIN_GRAD, NULL, ins, 5);
    return jt_gb_status(v->b);
}

const jt_op_impl jt_impl_attack_loss = {
    .min_in = 4, .max_in = 4, .min_out = 1, .max_out = 1,
    .infer = loss_infer, .cpu_f32 = loss_f32, .cpu_f64 = loss_f64, .type_input = 0,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_attack_loss_cuda_f32,
#endif
    .vjp = loss_vjp, .no_grad_mask = (1u << 1) | (1u << 2) | (1u << 3),
};

const jt_op_impl jt_impl_attack_loss_grad = {
    .min_in = 5, .max_in = 5, .min_out = 1, .max_out = 1,
    .infer = grad_infer, .cpu_f32 = grad_f32, .cpu_f64 = grad_f64, .type_input = 1,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_attack_loss_grad_cuda_f32,
#endif
    .no_grad_mask = (1u << 2) | (1u << 3) | (1u << 4),
};

/* ---- StraightThrough ---- */

static jt_status st_infer(const jt_infer_args *a) {
    const jt_tensor *u = a->in[0], *s = a->in[1];
    if (u->dtype != s->dtype || !jt_dims_equal(u->dims, u->rank, s->dims, s->rank)) {
        char s1[96], s2[96];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "the surrogate input (%s %s) must have the dtype and shape of the forward input (%s %s)",
                            jt_dtype_name(s->dtype), jt_dims_str(s->dims, s->rank, s2, sizeof s2),
                            jt_dtype_name(u->dtype), jt_dims_str(u->dims, u->rank, s1, sizeof s1));
    }
    jt_tensor_set_shape(a->out[0], u->dtype, u->rank, u->dims);
    return JT_OK;
}

static jt_status st_vjp(jt_vjp_args *v) {
    if (v->need[1] && v->dy[0] >= 0) v->dx[1] = v->dy[0];
    return JT_OK;
}

const jt_op_impl jt_impl_straight_through = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = st_infer, .cpu_f32 = jt_copy_kernel, .cpu_f64 = jt_copy_kernel, .type_input = 0,
#ifdef JT_HAVE_CUDA
    .cuda_f32 = jt_copy_cuda_f32,
#endif
    .flags = JT_OP_ALIAS,
    .vjp = st_vjp, .no_grad_mask = 1u << 0,
};
