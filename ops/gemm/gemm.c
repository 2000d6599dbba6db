/* Gemm (1, 6, 7, 9, 11, 13) and MatMul (1, 9, 13): Y = alpha * op(A) op(B) + beta * C, and numpy
 * matmul with batch broadcasting. Both map to BLAS with transpose flags (runtime/cpu/blas.h). */
#include <stdbool.h>
#include <string.h>

#include "jatp/builder.h"
#include "op.h"
#include "runtime/cpu/blas.h"

typedef struct gemm_attrs {
    double alpha, beta;
    int64_t trans_a, trans_b;
} gemm_attrs;

static jt_status gemm_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known_old[] = {"alpha", "beta", "transA", "transB", "broadcast", NULL};
    static const char *const known[] = {"alpha", "beta", "transA", "transB", NULL};
    gemm_attrs *at = attrs;
    int since = n->op ? n->op->since : 13;
    JT_TRY(jt_attrs_check_known(ctx, g, n, since < 7 ? known_old : known));
    JT_TRY(jt_attr_float(ctx, g, n, "alpha", 1.0, &at->alpha));
    JT_TRY(jt_attr_float(ctx, g, n, "beta", 1.0, &at->beta));
    JT_TRY(jt_attr_int(ctx, g, n, "transA", 0, &at->trans_a));
    JT_TRY(jt_attr_int(ctx, g, n, "transB", 0, &at->trans_b));
    return JT_OK;
}

static jt_status gemm_infer(const jt_infer_args *a) {
    const gemm_attrs *at = a->attrs;
    const jt_tensor *A = a->in[0], *B = a->in[1], *C = a->n_in > 2 ? a->in[2] : NULL;
    char sa[128], sb[128], sc[128];
    if (!jt_dtype_is_float(A->dtype) || B->dtype != A->dtype || (C && C->dtype != A->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                            "A, B%s have dtypes %s, %s%s%s, expected one float type", C ? ", C" : "",
                            jt_dtype_name(A->dtype), jt_dtype_name(B->dtype), C ? ", " : "",
                            C ? jt_dtype_name(C->dtype) : "");
    if (A->rank != 2 || B->rank != 2)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "A %s and B %s must both be rank 2",
                            jt_dims_str(A->dims, A->rank, sa, sizeof sa),
                            jt_dims_str(B->dims, B->rank, sb, sizeof sb));
    int64_t M = at->trans_a ? A->dims[1] : A->dims[0], K = at->trans_a ? A->dims[0] : A->dims[1];
    int64_t K2 = at->trans_b ? B->dims[1] : B->dims[0], N = at->trans_b ? B->dims[0] : B->dims[1];
    if (K != K2)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "A %s (transA=%lld) and B %s (transB=%lld): inner dimensions %lld and %lld differ",
                            jt_dims_str(A->dims, 2, sa, sizeof sa), (long long)at->trans_a,
                            jt_dims_str(B->dims, 2, sb, sizeof sb), (long long)at->trans_b,
                            (long long)K, (long long)K2);
    if (C) { /* unidirectional broadcast of C to [M, N] */
        bool ok = C->rank <= 2;
        for (int i = 0; ok && i < C->rank; i++) {
            int64_t want = i == C->rank - 1 ? N : M;
            ok = C->dims[i] == want || C->dims[i] == 1;
        }
        if (!ok)
            return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                                "C %s does not broadcast to [%lld,%lld]",
                                jt_dims_str(C->dims, C->rank, sc, sizeof sc), (long long)M, (long long)N);
    }
    int64_t d[2] = {M, N};
    jt_tensor_set_shape(a->out[0], A->dtype, 2, d);
    return JT_OK;
}

static void gemm_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    const jt_tensor *A = a->in[0], *Y = a->out[0];
    const gemm_attrs *at = a->attrs;
    double K = (double)(at->trans_a ? A->dims[0] : A->dims[1]);
    *flops = 2.0 * (double)Y->dims[0] * (double)Y->dims[1] * K;
    *bytes = (double)jt_tensor_nbytes(Y);
    for (int i = 0; i < a->n_in; i++)
        if (a->in[i]) *bytes += (double)jt_tensor_nbytes(a->in[i]);
}

/* ---- MatMul ---- */

/* Shapes after 1-D promotion: A [.., M, K], B [.., K, N]; batch dims broadcast. */
typedef struct mm_geom {
    int64_t M, N, K;
    int brank;                  /* broadcast batch rank */
    int64_t bdims[JT_MAX_RANK]; /* output batch dims */
    int64_t astr[JT_MAX_RANK], bstr[JT_MAX_RANK]; /* batch strides in matrices (0 = broadcast) */
    int64_t batch;
    int out_rank;
    int64_t out_dims[JT_MAX_RANK];
} mm_geom;

static jt_status mm_geom_make(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const jt_tensor *A,
                              const jt_tensor *B, mm_geom *m) {
    char sa[128], sb[128];
    memset(m, 0, sizeof *m);
    if (A->rank < 1 || B->rank < 1)
        return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "MatMul inputs must have rank >= 1 (A %s, B %s)",
                            jt_dims_str(A->dims, A->rank, sa, sizeof sa), jt_dims_str(B->dims, B->rank, sb, sizeof sb));
    int ra = A->rank, rb = B->rank;
    m->M = ra == 1 ? 1 : A->dims[ra - 2];
    m->K = A->dims[ra - 1];
    int64_t kb = rb == 1 ? B->dims[0] : B->dims[rb - 2];
    m->N = rb == 1 ? 1 : B->dims[rb - 1];
    if (m->K != kb)
        return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "A %s and B %s: inner dimensions %lld and %lld differ",
                            jt_dims_str(A->dims, ra, sa, sizeof sa), jt_dims_str(B->dims, rb, sb, sizeof sb),
                            (long long)m->K, (long long)kb);
    int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0;
    m->brank = ba > bb ? ba : bb;
    int64_t sa_ = 1, sb_ = 1;
    m->batch = 1;
    for (int i = m->brank - 1; i >= 0; i--) {
        int ia = i - (m->brank - ba), ib = i - (m->brank - bb);
        int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "batch dimensions of A %s and B %s do not broadcast",
                                jt_dims_str(A->dims, ra, sa, sizeof sa), jt_dims_str(B->dims, rb, sb, sizeof sb));
        m->bdims[i] = da > db ? da : db;
        if (da == 0 || db == 0) m->bdims[i] = 0;
        m->astr[i] = da == 1 ? 0 : sa_;
        m->bstr[i] = db == 1 ? 0 : sb_;
        sa_ *= da;
        sb_ *= db;
        m->batch *= m->bdims[i];
    }
    int r = 0;
    for (int i = 0; i < m->brank; i++) m->out_dims[r++] = m->bdims[i];
    if (ra > 1) m->out_dims[r++] = m->M;
    if (rb > 1) m->out_dims[r++] = m->N;
    m->out_rank = r;
    return JT_OK;
}

static jt_status matmul_infer(const jt_infer_args *a) {
    const jt_tensor *A = a->in[0], *B = a->in[1];
    if (!jt_dtype_is_float(A->dtype) || B->dtype != A->dtype)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                            "A and B have dtypes %s and %s, expected float32 or float64 for both",
                            jt_dtype_name(A->dtype), jt_dtype_name(B->dtype));
    mm_geom m;
    JT_TRY(mm_geom_make(a->ctx, a->graph, a->node, A, B, &m));
    jt_tensor_set_shape(a->out[0], A->dtype, m.out_rank, m.out_dims);
    return JT_OK;
}

static void matmul_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    mm_geom m;
    *flops = *bytes = 0;
    if (mm_geom_make(a->ctx, NULL, a->node, a->in[0], a->in[1], &m) != JT_OK) return;
    *flops = 2.0 * (double)m.batch * (double)m.M * (double)m.N * (double)m.K;
    *bytes = (double)(jt_tensor_nbytes(a->in[0]) + jt_tensor_nbytes(a->in[1]) + jt_tensor_nbytes(a->out[0]));
}

static bool matmul_grad_is_a(const jt_node *n) { return strcmp(n->op_type, "MatMulGradA") == 0; }

#define T float
#define SFX f32
#define GEMM jt_sgemm
#include "gemm_cpu_tmpl.h"
#undef T
#undef SFX
#undef GEMM

#define T double
#define SFX f64
#define GEMM jt_dgemm
#include "gemm_cpu_tmpl.h"
#undef T
#undef SFX
#undef GEMM

#include "gemm_cublas.h" /* CUDA kernels (JT_HAVE_CUDA); else empty descriptor fields */

/* ---- reverse mode ----
 * Gemm  Y = alpha op(A) op(B) + beta C:
 *   dA = alpha dY op(B)^T (transA = 0) or alpha op(B) dY^T (transA = 1)   emitted as Gemm nodes with
 *   dB = alpha op(A)^T dY (transB = 0) or alpha dY^T op(A) (transB = 1)   transpose flags
 *   dC = GemmGradC(dY, C) = beta * dY summed to C's shape
 * MatMul: dA = MatMulGradA(dY, B, Shape(A)), dB = MatMulGradB(dY, A, Shape(B)) (1-D promotion and batch
 * broadcasting undone inside: the result has the operand's shape). */

static int32_t emit_gemm(jt_vjp_args *v, int32_t a, int32_t b, bool ta, bool tb, double alpha) {
    if (alpha != 1.0) jt_gb_attr_float(v->b, "alpha", alpha);
    if (ta) jt_gb_attr_int(v->b, "transA", 1);
    if (tb) jt_gb_attr_int(v->b, "transB", 1);
    return jt_gb_op(v->b, "Gemm", "", NULL, (int32_t[]){a, b}, 2);
}

static jt_status gemm_vjp(jt_vjp_args *v) {
    const gemm_attrs *at = v->attrs;
    int32_t dy = v->dy[0], A = v->in[0], B = v->in[1];
    bool ta = at->trans_a != 0, tb = at->trans_b != 0;
    if (dy < 0) return JT_OK;
    if (v->need[0])
        v->dx[0] = !ta ? emit_gemm(v, dy, B, false, !tb, at->alpha) : emit_gemm(v, B, dy, tb, true, at->alpha);
    if (v->need[1])
        v->dx[1] = !tb ? emit_gemm(v, A, dy, !ta, false, at->alpha) : emit_gemm(v, dy, A, true, ta, at->alpha);
    if (v->n_in > 2 && v->in[2] >= 0 && v->need[2]) {
        jt_gb_attr_float(v->b, "beta", at->beta);
        v->dx[2] = jt_gb_op(v->b, "GemmGradC", JT_DOMAIN_GRAD, NULL, (int32_t[]){dy, v->in[2]}, 2);
    }
    return jt_gb_status(v->b);
}

static jt_status matmul_vjp(jt_vjp_args *v) {
    int32_t dy = v->dy[0], A = v->in[0], B = v->in[1];
    if (dy < 0) return JT_OK;
    if (v->need[0]) {
        int32_t shp = jt_gb_op(v->b, "Shape", "", NULL, (int32_t[]){A}, 1);
        v->dx[0] = jt_gb_op(v->b, "MatMulGradA", JT_DOMAIN_GRAD, NULL, (int32_t[]){dy, B, shp}, 3);
    }
    if (v->need[1]) {
        int32_t shp = jt_gb_op(v->b, "Shape", "", NULL, (int32_t[]){B}, 1);
        v->dx[1] = jt_gb_op(v->b, "MatMulGradB", JT_DOMAIN_GRAD, NULL, (int32_t[]){dy, A, shp}, 3);
    }
    return jt_gb_status(v->b);
}

static jt_status gemm_grad_c_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"beta", NULL};
    gemm_attrs *at = attrs;
    memset(at, 0, sizeof *at);
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    return jt_attr_float(ctx, g, n, "beta", 1.0, &at->beta);
}

static jt_status gemm_grad_c_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0], *C = a->in[1];
    char s1[128], s2[128];
    if (!jt_dtype_is_float(dy->dtype) || dy->rank != 2 || C->rank > 2 ||
        (C->rank >= 1 && C->dims[C->rank - 1] != 1 && C->dims[C->rank - 1] != dy->dims[1]) ||
        (C->rank == 2 && C->dims[0] != 1 && C->dims[0] != dy->dims[0]))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY %s %s cannot be summed to C's shape %s",
                            jt_dtype_name(dy->dtype), jt_dims_str(dy->dims, dy->rank, s1, sizeof s1),
                            jt_dims_str(C->dims, C->rank, s2, sizeof s2));
    jt_tensor_set_shape(a->out[0], dy->dtype, C->rank, C->dims);
    return JT_OK;
}

static jt_status matmul_grad_infer(const jt_infer_args *a) {
    const jt_tensor *dy = a->in[0], *other = a->in[1], *shp = a->in[2];
    bool grad_a = matmul_grad_is_a(a->node);
    if (!jt_dtype_is_float(dy->dtype) || other->dtype != dy->dtype)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED, "dY and %s have dtypes %s and %s",
                            grad_a ? "B" : "A", jt_dtype_name(dy->dtype), jt_dtype_name(other->dtype));
    if (!shp->data || shp->rank != 1 || (shp->dtype != JT_I64 && shp->dtype != JT_I32) || shp->dims[0] < 1 ||
        shp->dims[0] > JT_MAX_RANK)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE,
                            "input 2 must be the operand's shape known at plan time (int64, 1-D)");
    jt_tensor t = {0};
    t.dtype = dy->dtype;
    t.rank = (int32_t)shp->dims[0];
    for (int i = 0; i < t.rank; i++) t.dims[i] = jt_tensor_get_i64(shp, i);
    mm_geom m;
    JT_TRY(mm_geom_make(a->ctx, a->graph, a->node, grad_a ? &t : other, grad_a ? other : &t, &m));
    if (!jt_dims_equal(dy->dims, dy->rank, m.out_dims, m.out_rank)) {
        char s1[128], s2[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "dY has shape %s, expected %s",
                            jt_dims_str(dy->dims, dy->rank, s1, sizeof s1),
                            jt_dims_str(m.out_dims, m.out_rank, s2, sizeof s2));
    }
    jt_tensor_set_shape(a->out[0], dy->dtype, t.rank, t.dims);
    return JT_OK;
}

static void matmul_grad_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    *flops = 0;
    *bytes = (double)(jt_tensor_nbytes(a->in[0]) + jt_tensor_nbytes(a->in[1]) + jt_tensor_nbytes(a->out[0]));
    mm_geom m;
    bool grad_a = matmul_grad_is_a(a->node);
    if (mm_geom_make(a->ctx, NULL, a->node, grad_a ? a->out[0] : a->in[1], grad_a ? a->in[1] : a->out[0], &m) == JT_OK)
        *flops = 2.0 * (double)m.batch * (double)m.M * (double)m.N * (double)m.K;
}

const jt_op_impl jt_impl_gemm_grad_c = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .attr_size = sizeof(gemm_attrs),
    .parse = gemm_grad_c_parse, .infer = gemm_grad_c_infer,
    .cpu_f32 = gemm_grad_c_cpu_f32, .cpu_f64 = gemm_grad_c_cpu_f64, .type_input = 0, .no_grad_mask = 1u << 1,
    GEMM_GRAD_C_CUDA_IMPL
};

const jt_op_impl jt_impl_matmul_grad_a = {
    .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1, .infer = matmul_grad_infer, .cost = matmul_grad_cost,
    .cpu_f32 = matmul_grad_cpu_f32, .cpu_f64 = matmul_grad_cpu_f64, .type_input = 0,
    MATMUL_GRAD_CUDA_IMPL
    .no_grad_mask = 1u << 2, .const_mask = 1u << 2,
};

const jt_op_impl jt_impl_matmul_grad_b = {
    .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1, .infer = matmul_grad_infer, .cost = matmul_grad_cost,
    .cpu_f32 = matmul_grad_cpu_f32, .cpu_f64 = matmul_grad_cpu_f64, .type_input = 0,
    MATMUL_GRAD_CUDA_IMPL
    .no_grad_mask = 1u << 2, .const_mask = 1u << 2,
};

const jt_op_impl jt_impl_gemm = {
    .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(gemm_attrs),
    .parse = gemm_parse,
    .infer = gemm_infer,
    .cost = gemm_cost,
    .cpu_f32 = gemm_cpu_f32, .cpu_f64 = gemm_cpu_f64,
    GEMM_CUDA_IMPL
    .type_input = 0,
    .vjp = gemm_vjp,
};

const jt_op_impl jt_impl_matmul = {
    .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = matmul_infer,
    .cost = matmul_cost,
    .cpu_f32 = matmul_cpu_f32, .cpu_f64 = matmul_cpu_f64,
    MATMUL_CUDA_IMPL
    .type_input = 0,
    .vjp = matmul_vjp,
};
