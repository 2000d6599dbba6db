/* Float32 convolution kernels (forward, data gradient, filter gradient; the packed-SGEMM paths of
 * ops/conv/conv_packed.h where they apply, the im2col + BLAS template otherwise) on many geometries:
 *   - bitwise identical results for 1, 2 and 3 threads;
 *   - agreement with the float64 reference kernels (relative L2 error).
 * Geometries cover 1-D, 2-D and 3-D, strides, dilations, asymmetric pads, groups, depthwise, output
 * planes that are not a multiple of the 16-column strips, and the ResNet-18 CIFAR shapes at width 8. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv/conv.h"
#include "conv/conv_packed.h"
#include "jatp/status.h"
#include "jt_test.h"

typedef struct geo_case {
    const char *name;
    int nsp;
    int64_t N, C, M, G;
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
} geo_case;

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static double runif(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static void *xalloc(size_t bytes) {
    void *p = aligned_alloc(64, (bytes + 64) / 64 * 64);
    if (!p) abort();
    return p;
}

static double rel_l2(const float *got, const double *ref, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = (double)got[i] - ref[i];
        num += e * e;
        den += ref[i] * ref[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

enum { PASS_FWD, PASS_DATA, PASS_FILTER };
static const char *const pass_names[] = {"fwd", "bwd_data", "bwd_filter"};

/* Runs one pass in float32 with `threads` threads into out (n elements). */
static jt_status run_f32(int pass, int threads, const jt_conv_geom *geo, const float *x, const float *w,
                         const float *b, const float *dy, float *out, void *ws) {
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(threads, &ctx) != JT_OK) return JT_ERR_INTERNAL;
    jt_pool *pool = jt_ctx_pool(ctx);
    jt_status st;
    if (pass == PASS_FWD) st = jt_conv_fwd_f32(ctx, pool, geo, x, w, b, out, ws);
    else if (pass == PASS_DATA) st = jt_conv_bwd_data_f32(ctx, pool, geo, dy, w, NULL, out, ws);
    else st = jt_conv_bwd_filter_f32(ctx, pool, geo, dy, x, out, ws);
    jt_ctx_free(ctx);
    return st;
}

static void run_case(const geo_case *c) {
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(1, &ctx) != JT_OK) {
        jt_test_fail(c->name, "jt_ctx_create failed");
        return;
    }
    /* Build the tensors' shapes and the geometry through jt_conv_geom_make. */
    jt_conv_attrs at;
    memset(&at, 0, sizeof at);
    at.group = c->G;
    at.n_strides = at.n_dil = c->nsp;
    at.n_pads = 2 * c->nsp;
    jt_tensor xt = {0}, wt = {0};
    xt.dtype = wt.dtype = JT_F32;
    xt.rank = wt.rank = c->nsp + 2;
    xt.dims[0] = c->N, xt.dims[1] = c->C;
    wt.dims[0] = c->M, wt.dims[1] = c->C / c->G;
    for (int i = 0; i < c->nsp; i++) {
        xt.dims[2 + i] = c->in[i];
        wt.dims[2 + i] = c->k[i];
        at.strides[i] = c->s[i];
        at.dil[i] = c->d[i];
        at.pads[i] = c->pb[i];
        at.pads[c->nsp + i] = c->pe[i];
    }
    jt_conv_geom geo;
    if (jt_conv_geom_make(ctx, NULL, NULL, &at, &xt, &wt, &geo) != JT_OK) {
        jt_test_fail(c->name, "geometry rejected: %s", jt_ctx_error(ctx));
        jt_ctx_free(ctx);
        return;
    }
    const int64_t nx = geo.N * geo.C * geo.in_sz, nw = geo.M * geo.Cg * geo.k_sz, ny = geo.N * geo.M * geo.out_sz;
    size_t ws_bytes = jt_conv_fwd_ws_elems(&geo) * sizeof(double);
    size_t p[3] = {jt_conv_packed_fwd_ws(&geo), jt_conv_packed_bwd_data_ws(&geo), jt_conv_packed_bwd_filter_ws(&geo)};
    for (int i = 0; i < 3; i++)
        if (p[i] > ws_bytes) ws_bytes = p[i];
    float *x = xalloc((size_t)nx * 4), *w = xalloc((size_t)nw * 4), *b = xalloc((size_t)geo.M * 4);
    float *dy = xalloc((size_t)ny * 4);
    double *xd = xalloc((size_t)nx * 8), *wd = xalloc((size_t)nw * 8), *bd = xalloc((size_t)geo.M * 8);
    double *dyd = xalloc((size_t)ny * 8);
    for (int64_t i = 0; i < nx; i++) xd[i] = x[i] = (float)runif();
    for (int64_t i = 0; i < nw; i++) wd[i] = w[i] = (float)runif();
    for (int64_t i = 0; i < geo.M; i++) bd[i] = b[i] = (float)runif();
    for (int64_t i = 0; i < ny; i++) dyd[i] = dy[i] = (float)runif();
    void *ws = xalloc(ws_bytes);
    int64_t big = nx > nw ? nx : nw;
    if (ny > big) big = ny;
    float *o1 = xalloc((size_t)big * 4), *o2 = xalloc((size_t)big * 4);
    double *ref = xalloc((size_t)big * 8);
    jt_pool *pool = jt_ctx_pool(ctx);
    for (int pass = 0; pass < 3; pass++) {
        char name[160];
        jt_test_fmt(name, sizeof name, "conv threads %s %s", c->name, pass_names[pass]);
        int64_t n = pass == PASS_FWD ? ny : pass == PASS_DATA ? nx : nw;
        jt_status st;
        if (pass == PASS_FWD) st = jt_conv_fwd_f64(ctx, pool, &geo, xd, wd, bd, ref, ws);
        else if (pass == PASS_DATA) st = jt_conv_bwd_data_f64(ctx, pool, &geo, dyd, wd, NULL, ref, ws);
        else st = jt_conv_bwd_filter_f64(ctx, pool, &geo, dyd, xd, ref, ws);
        if (st != JT_OK || run_f32(pass, 1, &geo, x, w, b, dy, o1, ws) != JT_OK) {
            jt_test_fail(name, "kernel failed");
            continue;
        }
        double err = rel_l2(o1, ref, n);
        if (!(err < 1e-5)) {
            jt_test_fail(name, "float32 vs float64 relative L2 error %.3g", err);
            continue;
        }
        int same = 1;
        for (int threads = 2; threads <= 3 && same; threads++) {
            for (int64_t i = 0; i < n; i++) o2[i] = NAN;
            if (run_f32(pass, threads, &geo, x, w, b, dy, o2, ws) != JT_OK ||
                memcmp(o1, o2, (size_t)n * 4) != 0) {
                int64_t at_i = 0;
                while (at_i < n && memcmp(&o1[at_i], &o2[at_i], 4) == 0) at_i++;
                jt_test_fail(name, "%d threads differ from 1 thread at element %lld (%.9g vs %.9g)", threads,
                             (long long)at_i, at_i < n ? (double)o2[at_i] : 0.0, at_i < n ? (double)o1[at_i] : 0.0);
                same = 0;
            }
        }
        if (same) {
            jt_test_ok(name);
            jt_test_note("rel L2 error vs float64 %.3g", err);
        }
    }
    free(x), free(w), free(b), free(dy), free(xd), free(wd), free(bd), free(dyd), free(ws), free(o1), free(o2),
        free(ref);
    jt_ctx_free(ctx);
}

int main(void) {
    static const geo_case cases[] = {
        /* name, nsp, N, C, M, G, in, k, s, d, pb, pe */
        {"3x3 s1 p1 c8 16x16", 2, 3, 8, 8, 1, {16, 16}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {"3x3 s1 p1 c16->24 7x7", 2, 2, 16, 24, 1, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {"3x3 s2 p1 c8->16 16x16", 2, 2, 8, 16, 1, {16, 16}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}},
        {"1x1 s1 c32->16 8x8", 2, 3, 32, 16, 1, {8, 8}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}},
        {"1x1 s2 c16->32 8x8", 2, 2, 16, 32, 1, {8, 8}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}},
        {"3x3 s1 p1 c64 4x4", 2, 2, 64, 64, 1, {4, 4}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {"3x3 s1 p1 c3->8 32x32", 2, 2, 3, 8, 1, {32, 32}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {"5x3 d2 asym pads 11x13", 2, 2, 5, 7, 1, {11, 13}, {5, 3}, {1, 1}, {2, 2}, {2, 0}, {1, 3}},
        {"3x3 s2x1 p0 9x20", 2, 2, 6, 10, 1, {9, 20}, {3, 3}, {2, 1}, {1, 1}, {0, 0}, {0, 0}},
        {"3x3 groups 2 c8->12", 2, 2, 8, 12, 2, {10, 10}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {"3x3 groups 2 c32->48 (flipped data grad)", 2, 2, 32, 48, 2, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {"5x3 d2 asym pads c16 (flipped data grad)", 2, 2, 16, 8, 1, {11, 13}, {5, 3}, {1, 1}, {2, 2}, {2, 0}, {1, 3}},
        {"3x3 s1 p1 c1->8 N64 (filter K-split)", 2, 64, 1, 8, 1, {16, 16}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {"3x3 groups 2 c4->8 N67 (filter K-split, short last part)", 2, 67, 4, 8, 2, {16, 17}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {"3x3 s2 p1 c16->8 N120 (data grad col chunks)", 2, 120, 16, 8, 1, {16, 16}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}},
        {"3x3 depthwise c8", 2, 2, 8, 8, 8, {9, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {"7x7 s2 p3 c3->8", 2, 2, 3, 8, 1, {23, 23}, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}},
        {"1-D k5 s1 p2", 1, 3, 4, 6, 1, {37}, {5}, {1}, {1}, {2}, {2}},
        {"3-D 3x3x3 p1", 3, 2, 3, 5, 1, {5, 6, 7}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
        {"pads larger than kernel", 2, 2, 4, 4, 1, {6, 6}, {3, 3}, {1, 1}, {1, 1}, {3, 3}, {3, 3}},
        {"12x12 k3 c20->40 (K blocks)", 2, 2, 20, 40, 1, {12, 12}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {"9x9 p4 (81 taps per channel)", 2, 2, 3, 5, 1, {12, 12}, {9, 9}, {1, 1}, {1, 1}, {4, 4}, {4, 4}},
        {"4x4 c200->72 (K > 256 taps)", 2, 3, 200, 72, 1, {4, 4}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
    return jt_test_finish();
}
