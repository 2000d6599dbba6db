/* Element bodies of Softmax, LogSoftmax and their grad ops as JT_HD functions, shared by the C
 * kernels (softmax_tmpl.h, softmax_grad.c) and the CUDA kernels (softmax_cuda.cu). The row sums
 * around them are each backend's own (sequential on the CPU, fixed-shape trees on the GPU). */
#ifndef JATP_SOFTMAX_MATH_H
#define JATP_SOFTMAX_MATH_H

#include <math.h>

#include "op.h"

#define SM_FUNCS(T, S, FS)                                                                         \
    /* running maximum: m = max(m, x) */                                                           \
    JT_HD T sm_max_##S(T m, T x) { return x > m ? x : m; }                                         \
    JT_HD T sm_exp_##S(T x, T m) { return exp##FS(x - m); }                                        \
    /* softmax: e * (1 / sum); log-softmax: (x - max) - log(sum) */                               \
    JT_HD T sm_scale_##S(T e, T inv) { return e * inv; }                                           \
    JT_HD T sm_logout_##S(T x, T m, T ls) { return (x - m) - ls; }                                 \
    /* SoftmaxGrad: y * (dy - sum(dy * y)); LogSoftmaxGrad: dy - exp(y) * sum(dy) */              \
    JT_HD T smg_softmax_##S(T dy, T y, T s) { return y * (dy - s); }                               \
    JT_HD T smg_logsoftmax_##S(T dy, T y, T s) { return dy - exp##FS(y) * s; }

SM_FUNCS(float, f32, f)
SM_FUNCS(double, f64, )

#endif
