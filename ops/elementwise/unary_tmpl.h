/* Unary run functions over one scalar type (T, S, EW_FLOAT, EW_SIGNED from ew_foreach_type.h):
 * flat ranges, output may alias the input. Floats get every op; integers Relu, Abs (and Neg when
 * signed). */
#define UN_FN(OP) EW_CAT(EW_CAT3(ew_, OP, _), S)
#define UN_DEF(OP)                                                                                 \
    static void EW_CAT(EW_CAT3(un_, OP, _), S)(const void *c, int64_t lo, int64_t hi) {            \
        const ew_ptrs *p = c;                                                                      \
        const T *x = (const T *)p->in[0];                                                          \
        T *y = (T *)p->out;                                                                        \
        for (int64_t i = lo; i < hi; i++) y[i] = UN_FN(OP)(x[i]);                                  \
    }
#define UN_DEF_ALPHA(OP)                                                                           \
    static void EW_CAT(EW_CAT3(un_, OP, _), S)(const void *c, int64_t lo, int64_t hi) {            \
        const ew_ptrs *p = c;                                                                      \
        const T *x = (const T *)p->in[0];                                                          \
        T *y = (T *)p->out;                                                                        \
        const T alpha = (T)p->p[0];                                                                \
        for (int64_t i = lo; i < hi; i++) y[i] = UN_FN(OP)(x[i], alpha);                           \
    }

UN_DEF(abs)
#if EW_SIGNED
UN_DEF(relu)
UN_DEF(neg)
#endif
#if EW_FLOAT
UN_DEF_ALPHA(leakyrelu)
UN_DEF_ALPHA(elu)
UN_DEF(sigmoid)
UN_DEF(tanh)
UN_DEF(softplus)
UN_DEF(sqrt)
UN_DEF(exp)
UN_DEF(log)
#endif

#undef UN_FN
#undef UN_DEF
#undef UN_DEF_ALPHA
