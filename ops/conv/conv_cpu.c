/* Conv / ConvTranspose CPU kernels: the template conv_cpu_tmpl.h instantiated for float and double.
 * Float32 takes the packed-SGEMM paths of conv_packed.c where they apply (the workspace functions in
 * conv.c and conv_grad.c size the workspace for them); float64 (the reference) always runs the
 * template's im2col + BLAS paths. */
#include <stdbool.h>
#include <string.h>

#include "conv.h"
#include "conv_onednn.h"
#include "conv_packed.h"
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

static bool fast_fwd(jt_pool *pool, const jt_conv_geom *g, const float *x, const float *w, const float *bias,
                     float *y, void *ws) {
    if (!jt_conv_packed_fwd_ok(g)) return false;
    jt_conv_packed_fwd(pool, g, x, w, bias, 0, y, ws, jt_conv_packed_fwd_ws(g));
    return true;
}

static bool fast_bwd_data(jt_pool *pool, const jt_conv_geom *g, const float *dy, const float *w,
                          const float *bias, float *dx, void *ws) {
    if (!jt_conv_packed_bwd_data_ok(g)) return false;
    jt_conv_packed_bwd_data(pool, g, dy, w, bias, dx, ws, jt_conv_packed_bwd_data_ws(g));
    return true;
}

#define T float
#define SFX f32
#define GEMM jt_sgemm
#ifdef JT_HAVE_ONEDNN
#define FAST_PATH(a) jt_conv_dnnl_run(a)
#endif
static bool fast_bwd_filter(jt_pool *pool, const jt_conv_geom *g, const float *dy, const float *x, float *dw,
                            void *ws) {
    if (!jt_conv_packed_bwd_filter_ok(g)) return false;
    jt_conv_packed_bwd_filter(pool, g, dy, x, dw, ws, jt_conv_packed_bwd_filter_ws(g));
    return true;
}

#define FAST_FWD fast_fwd
#define FAST_BWD_DATA fast_bwd_data
#define FAST_BWD_FILTER fast_bwd_filter
#include "conv_cpu_tmpl.h"
#undef FAST_PATH
#undef FAST_FWD
#undef FAST_BWD_DATA
#undef FAST_BWD_FILTER
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
