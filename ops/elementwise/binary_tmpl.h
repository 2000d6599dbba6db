/* Binary broadcasting run functions over one scalar type (T, S, EW_FLOAT from ew_foreach_type.h).
 * Each handles one contiguous output run; the innermost operand strides are 0 or 1, so the four
 * stride cases are separate loops the compiler vectorises. Output may alias input 0. */
#define BIN_FN(OP) EW_CAT(EW_CAT3(ew_, OP, _), S)
#define BIN_DEF(OP)                                                                                \
    static void EW_CAT(EW_CAT3(bin_, OP, _), S)(const void *c, const int64_t *off,                 \
                                                const int64_t *st, int64_t o, int64_t len) {       \
        const ew_ptrs *p = c;                                                                      \
        const T *x = (const T *)p->in[0] + off[0], *y = (const T *)p->in[1] + off[1];              \
        T *z = (T *)p->out + o;                                                                    \
        if (st[0] && st[1]) {                                                                      \
            for (int64_t i = 0; i < len; i++) z[i] = BIN_FN(OP)(x[i], y[i]);                       \
        } else if (st[0]) {                                                                        \
            const T yv = *y;                                                                       \
            for (int64_t i = 0; i < len; i++) z[i] = BIN_FN(OP)(x[i], yv);                         \
        } else if (st[1]) {                                                                        \
            const T xv = *x;                                                                       \
            for (int64_t i = 0; i < len; i++) z[i] = BIN_FN(OP)(xv, y[i]);                         \
        } else {                                                                                   \
            const T v = BIN_FN(OP)(*x, *y);                                                        \
            for (int64_t i = 0; i < len; i++) z[i] = v;                                            \
        }                                                                                          \
    }

BIN_DEF(add)
BIN_DEF(sub)
BIN_DEF(mul)
BIN_DEF(div)
BIN_DEF(max)
BIN_DEF(min)
#if EW_FLOAT
BIN_DEF(prelu)
#endif

#undef BIN_FN
#undef BIN_DEF
