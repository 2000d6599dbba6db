/* Comparison run functions over one scalar type (T, S from ew_foreach_type.h); output bool (uint8). */
#define CMP_DEF(NAME, EXPR)                                                                        \
    static void EW_CAT(EW_CAT3(cmp_, NAME, _), S)(const void *c, const int64_t *off,               \
                                                  const int64_t *st, int64_t o, int64_t len) {     \
        const ew_ptrs *p = c;                                                                      \
        const T *x = (const T *)p->in[0] + off[0], *y = (const T *)p->in[1] + off[1];              \
        uint8_t *z = (uint8_t *)p->out + o;                                                        \
        if (st[0] && st[1]) {                                                                      \
            for (int64_t i = 0; i < len; i++) z[i] = (uint8_t)(x[i] EXPR y[i]);                    \
        } else if (st[0]) {                                                                        \
            const T yv = *y;                                                                       \
            for (int64_t i = 0; i < len; i++) z[i] = (uint8_t)(x[i] EXPR yv);                      \
        } else if (st[1]) {                                                                        \
            const T xv = *x;                                                                       \
            for (int64_t i = 0; i < len; i++) z[i] = (uint8_t)(xv EXPR y[i]);                      \
        } else {                                                                                   \
            const uint8_t v = (uint8_t)(*x EXPR *y);                                               \
            for (int64_t i = 0; i < len; i++) z[i] = v;                                            \
        }                                                                                          \
    }

CMP_DEF(eq, ==)
CMP_DEF(lt, <)
CMP_DEF(gt, >)

#undef CMP_DEF
