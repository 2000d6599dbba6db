/* Element-wise bodies as JT_HD inline functions, shared by the C kernels and (later) CUDA kernels.
 * Floating types get the suffix f32/f64, integer types i8..u64. Integer arithmetic wraps (computed in
 * uint64 and narrowed) and integer division by zero gives 0, so no input is undefined behaviour. */
#ifndef JATP_ELEMENTWISE_MATH_H
#define JATP_ELEMENTWISE_MATH_H

#include <math.h>
#include <stdint.h>

#include "op.h"

/* FS is the libm suffix: f for float, empty for double. */
#define EW_FLOAT_FUNCS(T, S, FS)                                                                   \
    JT_HD T ew_add_##S(T a, T b) { return a + b; }                                                 \
    JT_HD T ew_sub_##S(T a, T b) { return a - b; }                                                 \
    JT_HD T ew_mul_##S(T a, T b) { return a * b; }                                                 \
    JT_HD T ew_div_##S(T a, T b) { return a / b; }                                                 \
    /* numpy maximum/minimum: a NaN in either operand propagates */                                \
    JT_HD T ew_max_##S(T a, T b) { return (a != a || a > b) ? a : b; }                             \
    JT_HD T ew_min_##S(T a, T b) { return (a != a || a < b) ? a : b; }                             \
    JT_HD T ew_prelu_##S(T x, T s) { return x < 0 ? x * s : x; }                                   \
    JT_HD T ew_pow_##S(T a, T b) { return pow##FS(a, b); }                                         \
    JT_HD T ew_relu_##S(T x) { return x < 0 ? (T)0 : x; }                                          \
    JT_HD T ew_leakyrelu_##S(T x, T alpha) { return x < 0 ? alpha * x : x; }                       \
    JT_HD T ew_sigmoid_##S(T x) {                                                                  \
        if (x >= 0) return (T)1 / ((T)1 + exp##FS(-x));                                            \
        T e = exp##FS(x);                                                                          \
        return e / ((T)1 + e);                                                                     \
    }                                                                                              \
    JT_HD T ew_tanh_##S(T x) { return tanh##FS(x); }                                               \
    JT_HD T ew_elu_##S(T x, T alpha) { return x < 0 ? alpha * expm1##FS(x) : x; }                  \
    JT_HD T ew_softplus_##S(T x) {                                                                 \
        return x > 0 ? x + log1p##FS(exp##FS(-x)) : log1p##FS(exp##FS(x));                        \
    }                                                                                              \
    JT_HD T ew_sqrt_##S(T x) { return sqrt##FS(x); }                                               \
    JT_HD T ew_neg_##S(T x) { return -x; }                                                         \
    JT_HD T ew_abs_##S(T x) { return fabs##FS(x); }                                                \
    JT_HD T ew_exp_##S(T x) { return exp##FS(x); }                                                 \
    JT_HD T ew_log_##S(T x) { return log##FS(x); }                                                 \
    JT_HD T ew_clip_##S(T x, T lo, T hi) {                                                         \
        T y = x < lo ? lo : x;                                                                     \
        return y > hi ? hi : y;                                                                    \
    }

#define EW_INT_COMMON(T, S)                                                                        \
    JT_HD T ew_add_##S(T a, T b) { return (T)((uint64_t)a + (uint64_t)b); }                        \
    JT_HD T ew_sub_##S(T a, T b) { return (T)((uint64_t)a - (uint64_t)b); }                        \
    JT_HD T ew_mul_##S(T a, T b) { return (T)((uint64_t)a * (uint64_t)b); }                        \
    JT_HD T ew_max_##S(T a, T b) { return a > b ? a : b; }                                         \
    JT_HD T ew_min_##S(T a, T b) { return a < b ? a : b; }                                         \
    JT_HD T ew_clip_##S(T x, T lo, T hi) {                                                         \
        T y = x < lo ? lo : x;                                                                     \
        return y > hi ? hi : y;                                                                    \
    }

/* Signed: division truncates toward zero (C semantics, as ONNX Runtime); x / 0 = 0; MIN / -1 wraps. */
#define EW_SINT_FUNCS(T, S)                                                                        \
    EW_INT_COMMON(T, S)                                                                            \
    JT_HD T ew_neg_##S(T x) { return (T)(0 - (uint64_t)x); }                                       \
    JT_HD T ew_div_##S(T a, T b) { return b == 0 ? (T)0 : b == -1 ? ew_neg_##S(a) : (T)(a / b); } \
    JT_HD T ew_relu_##S(T x) { return x < 0 ? (T)0 : x; }                                          \
    JT_HD T ew_abs_##S(T x) { return x < 0 ? ew_neg_##S(x) : x; }

#define EW_UINT_FUNCS(T, S)                                                                        \
    EW_INT_COMMON(T, S)                                                                            \
    JT_HD T ew_div_##S(T a, T b) { return b == 0 ? (T)0 : (T)(a / b); }                            \
    JT_HD T ew_relu_##S(T x) { return x; }                                                         \
    JT_HD T ew_abs_##S(T x) { return x; }

EW_FLOAT_FUNCS(float, f32, f)
EW_FLOAT_FUNCS(double, f64, )
/* Gradient bodies of the element-wise grad ops (ew_grad.c, ew_grad_bcast.c): dy is the output
 * gradient, x/y the forward input/output the rule passes. Kinks follow PyTorch. */
#define EW_GRAD_FUNCS(T, S, FS)                                                                    \
    JT_HD T ew_relu_grad_##S(T dy, T y) { return y > 0 ? dy : (T)0; }                              \
    JT_HD T ew_leakyrelu_grad_##S(T dy, T x, T al) { return x > 0 ? dy : al * dy; }                \
    JT_HD T ew_sigmoid_grad_##S(T dy, T y) { return dy * y * ((T)1 - y); }                         \
    JT_HD T ew_tanh_grad_##S(T dy, T y) { return dy * ((T)1 - y * y); }                            \
    JT_HD T ew_elu_grad_##S(T dy, T x, T al) { return x > 0 ? dy : al * exp##FS(x) * dy; }         \
    /* dy * sigmoid(x) without overflow */                                                         \
    JT_HD T ew_softplus_grad_##S(T dy, T x) {                                                      \
        T e = exp##FS(-fabs##FS(x));                                                               \
        return dy * (x >= 0 ? (T)1 / ((T)1 + e) : e / ((T)1 + e));                                 \
    }                                                                                              \
    JT_HD T ew_sqrt_grad_##S(T dy, T y) { return (T)0.5 * dy / y; }                                \
    JT_HD T ew_abs_grad_##S(T dy, T x) { return x > 0 ? dy : x < 0 ? -dy : (T)0; }                 \
    /* inclusive bounds, as PyTorch's clamp */                                                     \
    JT_HD T ew_clip_grad_##S(T dy, T x, T lo, T hi) { return x >= lo && x <= hi ? dy : (T)0; }     \
    JT_HD T ew_prelu_grad_x_##S(T dy, T x, T s) { return x > 0 ? dy : s * dy; }                    \
    JT_HD T ew_prelu_grad_slope_##S(T dy, T x) { return x > 0 ? (T)0 : x * dy; }                   \
    /* d(a^b)/da = b a^(b-1) (0 where b = 0); d(a^b)/db = a^b log a (0 where a = 0, b >= 0) */     \
    JT_HD T ew_pow_grad_a_##S(T dy, T a, T b) { return b == 0 ? (T)0 : dy * b * pow##FS(a, b - (T)1); } \
    JT_HD T ew_pow_grad_b_##S(T dy, T a, T b) {                                                    \
        return a == 0 && b >= 0 ? (T)0 : dy * pow##FS(a, b) * log##FS(a);                          \
    }                                                                                              \
    /* Where: the branch's gradient passes where the condition selects it */                       \
    JT_HD T ew_where_grad_##S(T dy, int cond, int want) { return (cond != 0) == want ? dy : (T)0; } \
    /* Max/Min (and ReduceMax): the gradient is split evenly among the cnt tied inputs */          \
    JT_HD T ew_tie_grad_##S(T dy, int hit, int64_t cnt) { return hit ? dy / (T)cnt : (T)0; }

EW_GRAD_FUNCS(float, f32, f)
EW_GRAD_FUNCS(double, f64, )
EW_SINT_FUNCS(int8_t, i8)
EW_SINT_FUNCS(int16_t, i16)
EW_SINT_FUNCS(int32_t, i32)
EW_SINT_FUNCS(int64_t, i64)
EW_UINT_FUNCS(uint8_t, u8)
EW_UINT_FUNCS(uint16_t, u16)
EW_UINT_FUNCS(uint32_t, u32)
EW_UINT_FUNCS(uint64_t, u64)

/* Integer power by squaring with wrapping; negative exponents follow exact integer division of 1. */
JT_HD int64_t ew_ipow_i64(int64_t base, int64_t e) {
    if (e < 0) return base == 1 ? 1 : base == -1 ? ((e & 1) ? -1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)base;
    while (e) {
        if (e & 1) r *= b;
        b *= b;
        e >>= 1;
    }
    return (int64_t)r;
}

#endif
