/* Gemm / MatMul CPU kernels over a scalar type; included by gemm.c with T, SFX, GEMM defined. BLAS is
 * called from the calling thread only. */
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

static jt_status FN(gemm_cpu)(const jt_kernel_args *a) {
    const gemm_attrs *at = a->attrs;
    const jt_tensor *A = a->in[0], *B = a->in[1], *C = a->n_in > 2 ? a->in[2] : NULL;
    jt_tensor *Y = a->out[0];
    int64_t M = Y->dims[0], N = Y->dims[1], K = at->trans_a ? A->dims[0] : A->dims[1];
    T *y = Y->data;
    T beta = (T)at->beta;
    if (C && beta != 0) {
        const T *c = C->data;
        int64_t cm = C->rank == 2 ? C->dims[0] : 1, cn = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) y[i * N + j] = c[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
    } else {
        beta = 0;
    }
    GEMM(a->ctx, a->pool, at->trans_a != 0, at->trans_b != 0, M, N, K, (T)at->alpha, A->data,
         A->dims[1], B->data, B->dims[1], beta, y, N);
    return JT_OK;
}

static jt_status FN(matmul_cpu)(const jt_kernel_args *a) {
    mm_geom m;
    JT_TRY(mm_geom_make(a->ctx, NULL, a->node, a->in[0], a->in[1], &m));
    const T *A = a->in[0]->data, *B = a->in[1]->data;
    T *Y = a->out[0]->data;
    if (m.batch == 0 || m.M == 0 || m.N == 0) return JT_OK;
    if (a->in[1]->rank <= 2) { /* B shared by every batch: fold the batch into M */
        GEMM(a->ctx, a->pool, false, false, m.batch * m.M, m.N, m.K, (T)1, A, m.K, B, m.N, (T)0, Y, m.N);
        return JT_OK;
    }
    for (int64_t b = 0; b < m.batch; b++) {
        int64_t rem = b, oa = 0, ob = 0;
        for (int i = m.brank - 1; i >= 0; i--) {
            int64_t idx = rem % m.bdims[i];
            rem /= m.bdims[i];
            oa += idx * m.astr[i];
            ob += idx * m.bstr[i];
        }
        GEMM(a->ctx, a->pool, false, false, m.M, m.N, m.K, (T)1, A + oa * m.M * m.K, m.K,
             B + ob * m.K * m.N, m.N, (T)0, Y + b * m.M * m.N, m.N);
    }
    return JT_OK;
}

/* MatMulGradA (dA = dY B^T summed over A's broadcast batch axes) and MatMulGradB (dB = A^T dY likewise).
 * When the other operand is shared by every batch (rank <= 2) one GEMM covers the whole batch; else one
 * GEMM per output batch, accumulated in batch order (beta = 1) when the target is broadcast. */
static jt_status FN(matmul_grad_cpu)(const jt_kernel_args *a) {
    bool grad_a = matmul_grad_is_a(a->node);
    const jt_tensor *tgt = a->out[0], *other = a->in[1];
    const jt_tensor *At = grad_a ? tgt : other, *Bt = grad_a ? other : tgt;
    mm_geom m;
    JT_TRY(mm_geom_make(a->ctx, NULL, a->node, At, Bt, &m));
    const T *dy = a->in[0]->data, *o = other->data;
    T *g = tgt->data;
    int64_t n_t = jt_tensor_numel(tgt);
    if (n_t == 0) return JT_OK;
    if (m.batch == 0 || m.M == 0 || m.N == 0) {
        memset(g, 0, sizeof(T) * (size_t)n_t);
        return JT_OK;
    }
    int64_t mat = grad_a ? m.M * m.K : m.K * m.N, count = n_t / mat;
    if (grad_a && Bt->rank <= 2) { /* B shared: fold the batch into M */
        GEMM(a->ctx, a->pool, false, true, m.batch * m.M, m.K, m.N, (T)1, dy, m.N, o, m.N, (T)0, g, m.K);
        return JT_OK;
    }
    if (!grad_a && Bt->rank <= 2) { /* dB = A_flat^T dY_flat over the whole batch */
        GEMM(a->ctx, a->pool, true, false, m.K, m.N, m.batch * m.M, (T)1, o, m.K, dy, m.N, (T)0, g, m.N);
        return JT_OK;
    }
    bool accumulate = count < m.batch;
    if (accumulate) memset(g, 0, sizeof(T) * (size_t)n_t);
    for (int64_t b = 0; b < m.batch; b++) {
        int64_t rem = b, oa = 0, ob = 0;
        for (int i = m.brank - 1; i >= 0; i--) {
            int64_t idx = rem % m.bdims[i];
            rem /= m.bdims[i];
            oa += idx * m.astr[i];
            ob += idx * m.bstr[i];
        }
        const T *dyb = dy + b * m.M * m.N;
        T beta = accumulate ? (T)1 : (T)0;
        if (grad_a)
            GEMM(a->ctx, a->pool, false, true, m.M, m.K, m.N, (T)1, dyb, m.N, o + ob * m.K * m.N, m.N, beta,
                 g + oa * m.M * m.K, m.K);
        else
            GEMM(a->ctx, a->pool, true, false, m.K, m.N, m.M, (T)1, o + oa * m.M * m.K, m.K, dyb, m.N, beta,
                 g + ob * m.K * m.N, m.N);
    }
    return JT_OK;
}

/* GemmGradC: dC = beta * dY summed over the axes C broadcast along. */
static jt_status FN(gemm_grad_c_cpu)(const jt_kernel_args *a) {
    const gemm_attrs *at = a->attrs;
    const jt_tensor *dY = a->in[0], *C = a->out[0];
    const T *dy = dY->data;
    T *dc = C->data;
    int64_t M = dY->dims[0], N = dY->dims[1];
    int64_t cm = C->rank == 2 ? C->dims[0] : 1, cn = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
    for (int64_t i = 0; i < cm; i++)
        for (int64_t j = 0; j < cn; j++) {
            double acc = 0;
            for (int64_t r = cm == 1 ? 0 : i; r < (cm == 1 ? M : i + 1); r++)
                for (int64_t c = cn == 1 ? 0 : j; c < (cn == 1 ? N : j + 1); c++) acc += dy[r * N + c];
            dc[i * cn + j] = (T)(at->beta * acc);
        }
    return JT_OK;
}

#undef FN
#undef CAT
#undef CAT_
