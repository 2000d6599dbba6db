/* Conv / ConvTranspose CPU kernels: the template conv_cpu_tmpl.h instantiated for float and double. */
#include <stdbool.h>
#include <string.h>

#include "conv.h"
#include "conv_onednn.h"
#include "runtime/cpu/blas.h"
#include "window.h"

/* Indices i in [0, count) with 0 <= i*s + off < limit, as the half-open range [*lo, *hi). */
static void axis_range(int64_t off, int64_t s, int64_t limit, int64_t count, int64_t *lo, int64_t *hi) {
    int64_t l = jt_div_ceil(-off, s), h = jt_div_floor(limit - 1 - off, s) + 1;
    if (l < 0) l = 0;
    if (h > count) h = count;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

#define T float
#define SFX f32
#define GEMM jt_sgemm
#ifdef JT_HAVE_ONEDNN
#define FAST_PATH(a) jt_conv_dnnl_run(a)
#endif
#include "conv_cpu_tmpl.h"
#undef FAST_PATH
#undef T
#undef SFX
#undef GEMM

#define T double
#define SFX f64
#define GEMM jt_dgemm
#include "conv_cpu_tmpl.h"
#undef T
#undef SFX
#undef GEMM
