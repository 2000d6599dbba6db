/* Logit losses of the attacks (include/jatp/attack.h, jt_attack_loss) for one example: value and
 * gradient with respect to the logits. JT_HD bodies, compiled by the C compiler (CPU op, host
 * reference jt_attack_loss_eval) and by nvcc (CUDA op), so the CPU tests run the GPU arithmetic.
 * Arithmetic in double; z_(k) = k-th largest logit, stable by index on ties (the lower index ranks
 * first). The sort is replaced by explicit arg-indices: the gradient touches only those logits. */
#ifndef JT_ATTACK_LOSS_MATH_H
#define JT_ATTACK_LOSS_MATH_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define JT_ALM_HD __host__ __device__ static inline
#else
#define JT_ALM_HD static inline
#endif

enum { JT_ALM_CE = 0, JT_ALM_CW = 1, JT_ALM_DLR = 2, JT_ALM_DLR_T = 3, JT_ALM_TDIFF = 4, JT_ALM_COUNT = 5 };

/* Minimum number of classes per kind. */
JT_ALM_HD int jt_alm_min_classes(int kind) {
    return kind == JT_ALM_DLR ? 3 : (kind == JT_ALM_DLR_T ? 4 : 2);
}

#define ALM_CAT_(a, b) a##b
#define ALM_CAT(a, b) ALM_CAT_(a, b)
#define ALM_T float
#define ALM_FN(name) ALM_CAT(name, _f32)
#include "attack_loss_tmpl.h"
#undef ALM_T
#undef ALM_FN
#define ALM_T double
#define ALM_FN(name) ALM_CAT(name, _f64)
#include "attack_loss_tmpl.h"
#undef ALM_T
#undef ALM_FN

#endif
