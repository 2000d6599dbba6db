/* Packed-SGEMM convolutions: the B-panel packer that reads im2col columns straight from NCHW, the
 * forward convolution and the stride-1 data gradient (see conv_packed.h). */
#include "conv_packed.h"

#include <stdint.h>
#include <string.h>

#include "runtime/cpu/gemm_f32.h"
#include "runtime/cpu/gemm_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1
#endif

#define NR JT_GEMM_NR
#define MAX_SEG 4    /* unit-stride strips with more row segments than this use gathers */
#define TAP_TAB 64   /* taps tabulated per strip (larger kernels build each tap's entry per row) */

/* One kernel tap (kd, kh, kw) seen by one strip of NR output columns: which lanes read real input
 * (mask) and where, relative to the channel's plane base. Unit-stride rows: up to MAX_SEG segments,
 * lane j of segment s reading base[s] + j; otherwise (nseg < 0) per-lane offsets. */
typedef struct tap_entry {
    int nseg;
    bool s2; /* stride-2 segments: lane j of segment s reads base[s] + 2j */
    uint32_t mask;
    uint32_t seg_mask[MAX_SEG];
    uint32_t src_lo[MAX_SEG], src_hi[MAX_SEG]; /* s2: the elements read of base .. +15, +16 .. +31 */
    int64_t seg_base[MAX_SEG];
    int64_t off[NR];
} tap_entry;

/* A run of strip lanes in one output row (same image, od, oh): lanes js .. js+len-1, ow from ow0. */
typedef struct row_run {
    int js, len;
    int64_t img, od, oh, ow0;
} row_run;

typedef struct pack_ctx {
    const jt_conv_geom *g;
    const float *x;    /* channel 0 of this group in image 0 */
    int64_t img_stride; /* C * in_sz */
    int64_t ncols;     /* N * out_sz */
    bool avx512, gather; /* gather: every offset fits int32 */
} pack_ctx;

static int strip_runs(const pack_ctx *p, int64_t n0, int cols, row_run *r) {
    const jt_conv_geom *g = p->g;
    int nr = 0;
    for (int j = 0; j < cols;) {
        int64_t n = n0 + j, img = n / g->out_sz, q = n % g->out_sz;
        int64_t ow = q % g->out[2], t = q / g->out[2];
        int64_t len = g->out[2] - ow;
        if (len > cols - j) len = cols - j;
        r[nr++] = (row_run){j, (int)len, img, t / g->out[1], t % g->out[1], ow};
        j += (int)len;
    }
    return nr;
}


static int64_t fdiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* The entry of one tap for a strip's runs. Segments (unit or stride-2 rows, at most MAX_SEG) serve the
 * AVX-512 path; per-lane offsets are filled only when something else will read them. */
static void build_tap(const pack_ctx *p, const row_run *r, int nr, int64_t tap, tap_entry *e) {
    const jt_conv_geom *g = p->g;
    const int64_t kw = tap % g->k[2], kh = tap / g->k[2] % g->k[1], kd = tap / (g->k[2] * g->k[1]);
    const int64_t sw = g->s[2], W = g->in[2];
    e->nseg = 0;
    e->mask = 0;
    e->s2 = sw == 2;
    bool segs = sw <= 2 && p->avx512;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && segs) break; /* segments suffice: no per-lane offsets */
        for (int i = 0; i < nr; i++) {
            const row_run *u = &r[i];
            int64_t id = u->od * g->s[0] - g->pb[0] + kd * g->d[0];
            int64_t ih = u->oh * g->s[1] - g->pb[1] + kh * g->d[1];
            if (id < 0 || id >= g->in[0] || ih < 0 || ih >= g->in[1]) continue;
            int64_t rowbase = u->img * p->img_stride + (id * g->in[1] + ih) * W;
            int64_t iw0 = u->ow0 * sw - g->pb[2] + kw * g->d[2];
            /* lanes j of the run with 0 <= iw0 + j*sw < W */
            int64_t lo = -fdiv(iw0, sw), hi = fdiv(W - 1 - iw0, sw) + 1;
            if (lo < 0) lo = 0;
            if (hi > u->len) hi = u->len;
            if (hi <= lo) continue;
            if (pass == 1) {
                for (int64_t j = lo; j < hi; j++) e->off[u->js + j] = rowbase + iw0 + j * sw;
                continue;
            }
            const uint32_t bits = (uint32_t)(((1ull << (u->js + hi)) - 1) & ~((1ull << (u->js + lo)) - 1));
            e->mask |= bits;
            if (!segs) continue;
            int64_t base = rowbase + iw0 - sw * u->js;
            uint32_t slo = 0, shi = 0; /* stride 2: source elements 2j of the two 16-float loads */
            for (int j = 0; sw == 2 && j < NR; j++)
                if (bits >> j & 1u) {
                    if (j < 8) slo |= 1u << (2 * j);
                    else shi |= 1u << (2 * j - 16);
                }
            if (e->nseg > 0 && e->seg_base[e->nseg - 1] == base) {
                e->seg_mask[e->nseg - 1] |= bits;
                e->src_lo[e->nseg - 1] |= slo, e->src_hi[e->nseg - 1] |= shi;
            } else if (e->nseg < MAX_SEG) {
                e->seg_base[e->nseg] = base;
                e->src_lo[e->nseg] = slo, e->src_hi[e->nseg] = shi;
                e->seg_mask[e->nseg++] = bits;
            } else {
                segs = false;
            }
        }
    }
    if (!segs) e->nseg = -1;
}

/* Scalar: row k of a strip. */
static void put_row_c(const float *src, const tap_entry *e, float *d) {
    for (int j = 0; j < NR; j++) d[j] = (e->mask >> j & 1u) ? src[e->off[j]] : 0.0f;
}

#ifdef HAVE_X86
#define TGT __attribute__((target("avx512f,avx512vl")))
TGT static inline void put_row_avx512(const pack_ctx *p, const float *src, const tap_entry *e, float *d) {
    if (e->nseg >= 0 && e->s2) {
        const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
        __m512 v = _mm512_setzero_ps();
        for (int s = 0; s < e->nseg; s++) {
            const float *b = (const float *)((uintptr_t)src + (uintptr_t)(e->seg_base[s] * 4));
            __m512 lo = _mm512_maskz_loadu_ps((__mmask16)e->src_lo[s], b);
            __m512 hi = _mm512_maskz_loadu_ps((__mmask16)e->src_hi[s], b + 16);
            v = _mm512_mask_mov_ps(v, (__mmask16)e->seg_mask[s], _mm512_permutex2var_ps(lo, even, hi));
        }
        _mm512_store_ps(d, v);
    } else if (e->nseg >= 0) {
        __m512 v = _mm512_setzero_ps();
        for (int s = 0; s < e->nseg; s++)
            v = _mm512_mask_loadu_ps(v, (__mmask16)e->seg_mask[s],
                                     (const void *)((uintptr_t)src + (uintptr_t)(e->seg_base[s] * 4)));
        _mm512_store_ps(d, v);
    } else if (p->gather) {
        int32_t o[NR];
        for (int j = 0; j < NR; j++) o[j] = (e->mask >> j & 1u) ? (int32_t)e->off[j] : 0;
        __m512i vi = _mm512_loadu_si512(o);
        _mm512_store_ps(d, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), (__mmask16)e->mask, vi, src, 4));
    } else {
        put_row_c(src, e, d);
    }
}
#endif

/* Row k of a strip from the plane at src. */
static void put_row(const pack_ctx *p, const float *src, const tap_entry *e, float *d) {
#ifdef HAVE_X86
    if (p->avx512) {
        put_row_avx512(p, src, e, d);
        return;
    }
#endif
    put_row_c(src, e, d);
}

/* Rows k0 .. k0+kc-1 of one strip (tab: every tap's entry, or with tab_all false one slot rebuilt per
 * row), written once for the portable put_row_c and once inlining the AVX-512 one. */
#define PACK_ROWS(NAME, ATTR, PUT)                                                                          \
    ATTR static void NAME(const pack_ctx *p, tap_entry *tab, bool tab_all, const row_run *runs, int nr,    \
                          int64_t k0, int64_t kc, float *dst) {                                            \
        const int64_t ksz = p->g->k_sz, in_sz = p->g->in_sz;                                               \
        int64_t c = k0 / ksz, t = k0 % ksz;                                                                \
        for (int64_t k = 0; k < kc; k++) {                                                                 \
            if (!tab_all) build_tap(p, runs, nr, t, &tab[0]);                                              \
            PUT(p->x + c * in_sz, &tab[tab_all ? t : 0], dst + k * NR);                                    \
            if (++t == ksz) t = 0, c++;                                                                    \
        }                                                                                                  \
    }
#define PUT_C(src, e, d) put_row_c(src, e, d)
PACK_ROWS(pack_rows_c, , PUT_C)
#ifdef HAVE_X86
#define PUT_AVX512(src, e, d) put_row_avx512(p, src, e, d)
PACK_ROWS(pack_rows_avx512, TGT, PUT_AVX512)

/* The common case (every tap of the strip reads at most one unit-stride segment, e.g. image rows of
 * >= 16 outputs, or 1x1 convolutions): one masked load and one store per row. */
TGT static bool pack_rows_avx512_1seg(const pack_ctx *p, const tap_entry *tab, int64_t k0, int64_t kc,
                                      float *dst) {
    const int64_t ksz = p->g->k_sz, in_sz = p->g->in_sz;
    int64_t base[TAP_TAB];
    __mmask16 m[TAP_TAB];
    for (int64_t t = 0; t < ksz; t++) {
        if (tab[t].nseg < 0 || tab[t].nseg > 1 || tab[t].s2) return false;
        base[t] = tab[t].nseg ? tab[t].seg_base[0] : 0;
        m[t] = tab[t].nseg ? (__mmask16)tab[t].seg_mask[0] : 0;
    }
    int64_t c = k0 / ksz, t = k0 % ksz;
    uintptr_t src = (uintptr_t)(p->x + c * in_sz);
    for (int64_t k = 0; k < kc; k++) {
        _mm512_store_ps(dst + k * NR, _mm512_maskz_loadu_ps(m[t], (const void *)(src + (uintptr_t)(base[t] * 4))));
        if (++t == ksz) t = 0, src += (uintptr_t)(in_sz * 4);
    }
    return true;
}
#endif

static void conv_pack_b(void *user, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *panel) {
    const pack_ctx *p = user;
    const int64_t ksz = p->g->k_sz;
    const bool tab_all = ksz <= TAP_TAB;
    tap_entry tab[TAP_TAB];
    row_run runs[NR];
    for (int64_t s = 0; s * NR < nc; s++) {
        float *dst = panel + s * kc * NR;
        const int64_t col0 = n0 + s * NR;
        int cols = (int)(nc - s * NR < NR ? nc - s * NR : NR);
        if (col0 + cols > p->ncols) cols = (int)(p->ncols - col0);
        const int nr = strip_runs(p, col0, cols, runs);
        if (tab_all)
            for (int64_t t = 0; t < ksz && t < kc + k0 % ksz; t++) build_tap(p, runs, nr, t, &tab[t]);
#ifdef HAVE_X86
        if (p->avx512) {
            if (!tab_all || kc + k0 % ksz < ksz || !pack_rows_avx512_1seg(p, tab, k0, kc, dst))
                pack_rows_avx512(p, tab, tab_all, runs, nr, k0, kc, dst);
            continue;
        }
#endif
        pack_rows_c(p, tab, tab_all, runs, nr, k0, kc, dst);
    }
}

static bool cpu_avx512(void) {
#ifdef HAVE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
#else
    return false;
#endif
}

bool jt_conv_packed_fwd_ok(const jt_conv_geom *geo) { return !jt_conv_is_depthwise(geo); }

size_t jt_conv_packed_fwd_ws(const jt_conv_geom *g) {
    return jt_gemm_f32_workspace(g->Mg, g->N * g->out_sz, g->Cg * g->k_sz);
}

void jt_conv_packed_fwd(jt_pool *pool, const jt_conv_geom *g, const float *x, const float *w,
                        const float *bias, int relu, float *y, void *ws, size_t ws_size) {
    const int64_t ck = g->Cg * g->k_sz;
    pack_ctx p = {.g = g, .img_stride = g->C * g->in_sz, .ncols = g->N * g->out_sz,
                  .avx512 = cpu_avx512(), .gather = g->N * g->C * g->in_sz < INT32_MAX};
    for (int64_t gi = 0; gi < g->G; gi++) {
        p.x = x + gi * g->Cg * g->in_sz;
        const jt_gemm_f32_args a = {
            .M = g->Mg, .N = p.ncols, .K = ck, .alpha = 1.0f, .beta = 0.0f,
            .A = w + gi * g->Mg * ck, .lda = ck, .pack_b = conv_pack_b, .pack_b_user = &p,
            .C = y + gi * g->Mg * g->out_sz, .ldc = g->out_sz,
            .c_group_cols = g->out_sz, .c_group_stride = g->M * g->out_sz,
            .bias = bias ? bias + gi * g->Mg : NULL, .relu = relu, .ws = ws, .ws_size = ws_size};
        jt_gemm_f32_run(pool, &a);
    }
}

/* ---- data gradient as a forward convolution of dY ---- */

/* The forward geometry of dX = conv(dY, W'): input dY (M channels, the forward's output size), output
 * dX (C channels), pads d*(k-1) - p. */
static bool flip_geom(const jt_conv_geom *g, jt_conv_geom *f) {
    *f = *g;
    f->C = g->M, f->M = g->C, f->Cg = g->Mg, f->Mg = g->Cg;
    for (int a = 0; a < 3; a++) {
        int64_t span = g->d[a] * (g->k[a] - 1);
        if (g->s[a] != 1 || g->pb[a] > span || g->pe[a] > span) return false;
        f->in[a] = g->out[a], f->out[a] = g->in[a];
        f->pb[a] = span - g->pb[a], f->pe[a] = span - g->pe[a];
    }
    f->in_sz = g->out_sz, f->out_sz = g->in_sz;
    return true;
}

/* The flipped forward convolution needs stride 1 and fitting pads, and >= 16 input channels per group
 * (an RGB stem: the flipped GEMM would have 3 rows). */
static bool flip_ok(const jt_conv_geom *geo) {
    jt_conv_geom f;
    return geo->Cg >= 16 && flip_geom(geo, &f);
}

/* The col path serves strides > 1 with at most 32 output channels per group (the GEMM's K): measured
 * faster there than the template's im2col path, whose small chunks scale badly over threads; with more
 * output channels that path's BLAS GEMM wins per core. Stride 1 with few input channels (a one-channel
 * stem) also stays on the template's path. */
bool jt_conv_packed_bwd_data_ok(const jt_conv_geom *geo) {
    if (jt_conv_is_depthwise(geo) || geo->N <= 0) return false;
    return flip_ok(geo) || ((geo->s[0] > 1 || geo->s[1] > 1 || geo->s[2] > 1) && geo->Mg <= 32);
}

/* ---- data gradient through col = W^T dY and col2im (strides > 1) ----
 * Chunks of nb images (a function of the sizes only, col of a chunk about COL_TARGET floats so that it
 * stays in cache), one task per chunk with its own slice of the workspace: dY gathered to
 * [M][nb*out_sz], one serial GEMM per group (M = Cg * k_sz, N = nb * out_sz, K = Mg, A = W transposed)
 * into col, then col2im per (image, input channel) in a fixed order. */
#define COL_TARGET (1 << 17) /* floats of col per chunk */

static int64_t col_chunk(const jt_conv_geom *g) {
    int64_t per = g->C * g->k_sz * g->out_sz, nb = per > 0 ? COL_TARGET / per : g->N;
    if (nb > g->N) nb = g->N;
    return nb < 1 ? 1 : nb;
}

static size_t rup64(size_t b) { return (b + 63) / 64 * 64; }

/* Bytes of one chunk's slice: col, dyt, GEMM workspace. */
static size_t col_slice_bytes(const jt_conv_geom *g, size_t *col_b, size_t *dyt_b) {
    const int64_t ld = col_chunk(g) * g->out_sz;
    *col_b = rup64((size_t)(g->C * g->k_sz * ld) * sizeof(float));
    *dyt_b = rup64((size_t)(g->M * ld) * sizeof(float));
    return *col_b + *dyt_b + rup64(jt_gemm_f32_workspace(g->Cg * g->k_sz, ld, g->Mg));
}

static size_t col_path_ws(const jt_conv_geom *g) {
    size_t cb, db;
    const int64_t nb = col_chunk(g);
    return (size_t)((g->N + nb - 1) / nb) * col_slice_bytes(g, &cb, &db);
}

typedef struct col_job {
    const jt_conv_geom *g;
    const float *dy, *w, *bias;
    float *dx;
    char *ws;
    int64_t nb;
    size_t slice, col_b, dyt_b;
} col_job;

/* Indices i in [0, count) with 0 <= i*s + off < limit, as [*lo, *hi). */
static void col_axis_range(int64_t off, int64_t s, int64_t limit, int64_t count, int64_t *lo, int64_t *hi) {
    int64_t l = -fdiv(off, s), h = fdiv(limit - 1 - off, s) + 1;
    if (l < 0) l = 0;
    if (h > count) h = count;
    if (h < l) h = l;
    *lo = l, *hi = h;
}

/* dx plane of image n (of the chunk), channel c: bias, then each tap's row of col (ld columns) added in. */
static void col2im_plane(const jt_conv_geom *g, const float *col, int64_t ld, const float *bias, int64_t n,
                         int64_t c, float *dst) {
    const float b = bias ? bias[c] : 0.0f;
    for (int64_t i = 0; i < g->in_sz; i++) dst[i] = b;
    const float *row = col + c * g->k_sz * ld + n * g->out_sz;
    for (int64_t kd = 0; kd < g->k[0]; kd++)
        for (int64_t kh = 0; kh < g->k[1]; kh++)
            for (int64_t kw = 0; kw < g->k[2]; kw++, row += ld) {
                int64_t lo, hi, off = kw * g->d[2] - g->pb[2], sw = g->s[2];
                col_axis_range(off, sw, g->in[2], g->out[2], &lo, &hi);
                for (int64_t od = 0; od < g->out[0]; od++) {
                    const int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                    if (id < 0 || id >= g->in[0]) continue;
                    for (int64_t oh = 0; oh < g->out[1]; oh++) {
                        const int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                        if (ih < 0 || ih >= g->in[1]) continue;
                        const float *s = row + (od * g->out[1] + oh) * g->out[2];
                        float *d = dst + (id * g->in[1] + ih) * g->in[2] + off;
                        if (sw == 1)
                            for (int64_t ow = lo; ow < hi; ow++) d[ow] += s[ow];
                        else if (sw == 2)
                            for (int64_t ow = lo; ow < hi; ow++) d[2 * ow] += s[ow];
                        else
                            for (int64_t ow = lo; ow < hi; ow++) d[ow * sw] += s[ow];
                    }
                }
            }
}

/* One task per chunk of images. */
static void col_chunk_task(void *arg, int64_t t) {
    const col_job *j = arg;
    const jt_conv_geom *g = j->g;
    const int64_t n0 = t * j->nb, nbc = g->N - n0 < j->nb ? g->N - n0 : j->nb, osz = g->out_sz;
    const int64_t ld = nbc * osz, ck = g->Cg * g->k_sz;
    char *base = j->ws + (size_t)t * j->slice;
    float *col = (float *)base, *dyt = (float *)(base + j->col_b);
    for (int64_t n = 0; n < nbc; n++)
        for (int64_t m = 0; m < g->M; m++)
            memcpy(dyt + m * ld + n * osz, j->dy + ((n0 + n) * g->M + m) * osz, (size_t)osz * sizeof(float));
    for (int64_t gi = 0; gi < g->G; gi++) {
        const jt_gemm_f32_args a = {
            .M = ck, .N = ld, .K = g->Mg, .trans_a = true, .alpha = 1.0f, .beta = 0.0f,
            .A = j->w + gi * g->Mg * ck, .lda = ck, .B = dyt + gi * g->Mg * ld, .ldb = ld,
            .C = col + gi * ck * ld, .ldc = ld, .ws = base + j->col_b + j->dyt_b,
            .ws_size = j->slice - j->col_b - j->dyt_b};
        jt_gemm_f32_run(NULL, &a);
    }
    for (int64_t n = 0; n < nbc; n++)
        for (int64_t c = 0; c < g->C; c++)
            col2im_plane(g, col, ld, j->bias, n, c, j->dx + ((n0 + n) * g->C + c) * g->in_sz);
}

static void bwd_data_col(jt_pool *pool, const jt_conv_geom *g, const float *dy, const float *w,
                         const float *bias, float *dx, void *ws) {
    col_job j = {g, dy, w, bias, dx, ws, col_chunk(g), 0, 0, 0};
    j.slice = col_slice_bytes(g, &j.col_b, &j.dyt_b);
    jt_pool_run(pool, col_chunk_task, &j, (g->N + j.nb - 1) / j.nb);
}

static size_t flipped_bytes(const jt_conv_geom *g) {
    return ((size_t)(g->C * g->Mg * g->k_sz) * sizeof(float) + 63) / 64 * 64;
}

size_t jt_conv_packed_bwd_data_ws(const jt_conv_geom *g) {
    jt_conv_geom f;
    if (!flip_ok(g)) return col_path_ws(g);
    flip_geom(g, &f);
    return flipped_bytes(g) + jt_conv_packed_fwd_ws(&f);
}

typedef struct flip_job {
    const jt_conv_geom *g;
    const float *w;
    float *wf;
} flip_job;

/* One task per input channel c: wf[c][mm][t] = w[gi*Mg + mm][c - gi*Cg][k_sz-1-t]. */
static void flip_task(void *arg, int64_t c) {
    const flip_job *j = arg;
    const jt_conv_geom *g = j->g;
    const int64_t gi = c / g->Cg, cc = c % g->Cg, ks = g->k_sz;
    float *d = j->wf + c * g->Mg * ks;
    for (int64_t mm = 0; mm < g->Mg; mm++) {
        const float *s = j->w + ((gi * g->Mg + mm) * g->Cg + cc) * ks;
        for (int64_t t = 0; t < ks; t++) d[mm * ks + t] = s[ks - 1 - t];
    }
}

void jt_conv_packed_bwd_data(jt_pool *pool, const jt_conv_geom *g, const float *dy, const float *w,
                             const float *bias, float *dx, void *ws, size_t ws_size) {
    if (!flip_ok(g)) {
        (void)ws_size;
        bwd_data_col(pool, g, dy, w, bias, dx, ws);
        return;
    }
    jt_conv_geom f;
    flip_geom(g, &f);
    const size_t fb = flipped_bytes(g);
    flip_job j = {g, w, ws};
    jt_pool_run(pool, flip_task, &j, g->C);
    jt_conv_packed_fwd(pool, &f, dy, j.wf, bias, 0, dx, (char *)ws + fb, ws_size - fb);
}

/* ---- filter gradient: dW = dY im2col(X)^T over the whole batch ----
 * GEMM per group: M = Mg, N = Cg * k_sz, K = batch * out_sz (positions). A = dY gathered to [M][positions]
 * (dY itself for one image). B[pos][(c, tap)] = X at (c, the input point of tap at pos): its panels are
 * built from the forward packer's vectors (16 positions of one (c, tap) each, masked loads), 16 of them
 * transposed at a time. */

typedef struct filt_ctx {
    pack_ctx p;
    int64_t ncols; /* Cg * k_sz */
    int64_t k_base; /* first position of this GEMM's K range (the K-split below) */
} filt_ctx;

/* v[j][lane] for the 16 (c, tap) columns col0 .. col0+15 (columns >= ncols: zero). */
static void filter_vectors(const filt_ctx *f, const tap_entry *tab, int64_t col0, float *v) {
    const jt_conv_geom *g = f->p.g;
    for (int j = 0; j < NR; j++) {
        const int64_t col = col0 + j;
        float *d = v + j * NR;
        if (col >= f->ncols) {
            memset(d, 0, NR * sizeof(float));
            continue;
        }
        put_row(&f->p, f->p.x + col / g->k_sz * g->in_sz, &tab[col % g->k_sz], d);
    }
}

static void filter_pack_b(void *user, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float *panel) {
    const filt_ctx *f = user;
    const jt_conv_geom *g = f->p.g;
    const int64_t ksz = g->k_sz;
    tap_entry tab[TAP_TAB];
    row_run runs[NR];
    _Alignas(64) float v[NR * NR], t[NR * NR];
    for (int64_t b = 0; b < kc; b += NR) {
        const int cnt = (int)(kc - b < NR ? kc - b : NR);
        const int nr = strip_runs(&f->p, f->k_base + k0 + b, cnt, runs);
        if (ksz <= TAP_TAB) {
            for (int64_t tp = 0; tp < ksz; tp++) build_tap(&f->p, runs, nr, tp, &tab[tp]);
        }
        for (int64_t s = 0; s * NR < nc; s++) {
            const int64_t col0 = n0 + s * NR;
            if (ksz <= TAP_TAB) {
                filter_vectors(f, tab, col0, v);
            } else { /* large kernels: one tap entry per column */
                for (int j = 0; j < NR; j++) {
                    int64_t col = col0 + j;
                    if (col >= f->ncols) {
                        memset(v + j * NR, 0, NR * sizeof(float));
                        continue;
                    }
                    build_tap(&f->p, runs, nr, col % ksz, &tab[0]);
                    put_row(&f->p, f->p.x + col / ksz * g->in_sz, &tab[0], v + j * NR);
                }
            }
            float *dst = panel + s * kc * NR + b * NR;
#ifdef HAVE_X86
            if (f->p.avx512 && cnt == NR) {
                jt_gemm_pack_a16_avx512(v, NR, NR, dst); /* dst[k*16 + j] = v[j*16 + k] */
                continue;
            }
#endif
            for (int k = 0; k < cnt; k++)
                for (int j = 0; j < NR; j++) t[k * NR + j] = v[j * NR + k];
            memcpy(dst, t, (size_t)cnt * NR * sizeof(float));
        }
    }
}

bool jt_conv_packed_bwd_filter_ok(const jt_conv_geom *g) { return !jt_conv_is_depthwise(g) && g->N > 0; }

/* K-split: with few output rows and columns (small channel counts) the GEMM has one or two tiles and
 * leaves threads idle, while K (batch * positions) is long. Then K is cut into KSPLIT parts of whole
 * NR-position blocks, each part's GEMM runs serially in one task into its own partial dW, and the
 * partials are added in part order. KSPLIT and the cut depend on the sizes only (never on the thread
 * count), so the result is the same for any thread count. */
#define KSPLIT 8
#define KSPLIT_MIN_K 2048     /* positions per part at least */
#define KSPLIT_MAX_MN (64 * 576) /* Mg * Cg * k_sz at most (larger products have enough tiles) */

static int64_t filter_parts(const jt_conv_geom *g) {
    const int64_t L = g->N * g->out_sz, ck = g->Cg * g->k_sz;
    return g->Mg * ck <= KSPLIT_MAX_MN && L >= KSPLIT * KSPLIT_MIN_K ? KSPLIT : 1;
}

static int64_t part_len(const jt_conv_geom *g) {
    const int64_t L = g->N * g->out_sz, parts = filter_parts(g);
    return (L + parts * NR - 1) / (parts * NR) * NR;
}

static size_t partial_bytes(const jt_conv_geom *g) {
    return ((size_t)(g->Mg * g->Cg * g->k_sz) * sizeof(float) + 63) / 64 * 64;
}

static size_t part_gemm_ws(const jt_conv_geom *g) {
    return (jt_gemm_f32_workspace(g->Mg, g->Cg * g->k_sz, part_len(g)) + 63) / 64 * 64;
}

static size_t dyt_bytes(const jt_conv_geom *g) {
    return g->N > 1 ? ((size_t)(g->M * g->N * g->out_sz) * sizeof(float) + 63) / 64 * 64 : 0;
}

size_t jt_conv_packed_bwd_filter_ws(const jt_conv_geom *g) {
    const int64_t parts = filter_parts(g);
    if (parts > 1) return dyt_bytes(g) + (size_t)parts * (partial_bytes(g) + part_gemm_ws(g));
    return dyt_bytes(g) + jt_gemm_f32_workspace(g->Mg, g->Cg * g->k_sz, g->N * g->out_sz);
}

typedef struct gather_job {
    const jt_conv_geom *g;
    const float *dy;
    float *dyt;
} gather_job;

/* One task per (image, channel): dyt[m][n*out_sz + p] = dy[n][m][p]. */
static void gather_task(void *arg, int64_t t) {
    const gather_job *j = arg;
    const jt_conv_geom *g = j->g;
    const int64_t n = t / g->M, m = t % g->M, osz = g->out_sz;
    memcpy(j->dyt + (m * g->N + n) * osz, j->dy + (n * g->M + m) * osz, (size_t)osz * sizeof(float));
}

typedef struct split_job {
    const filt_ctx *f; /* the group's context (k_base 0) */
    const float *a;    /* the group's dY rows, [Mg][L] */
    float *dw;         /* the group's dW, [Mg][ck] */
    char *ws;          /* parts x (partial, GEMM workspace) */
    int64_t L, ck, len, parts;
    size_t pb, gb;
} split_job;

/* One task per part: partial = dY[:, part] B[part, :] (serial GEMM). */
static void split_part_task(void *arg, int64_t p) {
    const split_job *j = arg;
    const jt_conv_geom *g = j->f->p.g;
    filt_ctx f = *j->f;
    f.k_base = p * j->len;
    const int64_t k = j->L - f.k_base < j->len ? j->L - f.k_base : j->len;
    char *base = j->ws + (size_t)p * (j->pb + j->gb);
    const jt_gemm_f32_args ga = {
        .M = g->Mg, .N = j->ck, .K = k > 0 ? k : 0, .alpha = 1.0f, .beta = 0.0f, .A = j->a + f.k_base, .lda = j->L,
        .pack_b = filter_pack_b, .pack_b_user = &f, .C = (float *)base, .ldc = j->ck,
        .min_tile_cols = JT_GEMM_B_CHUNK, .ws = base + j->pb, .ws_size = j->gb};
    jt_gemm_f32_run(NULL, &ga);
}

#define SUM_CHUNK 1024 /* dW elements per reduction task */

/* dW[i] = partial_0[i] + partial_1[i] + ... in part order. */
static void split_sum_task(void *arg, int64_t t) {
    const split_job *j = arg;
    const int64_t n = j->f->p.g->Mg * j->ck, i0 = t * SUM_CHUNK, i1 = i0 + SUM_CHUNK < n ? i0 + SUM_CHUNK : n;
    const size_t stride = (j->pb + j->gb) / sizeof(float);
    const float *p0 = (const float *)j->ws;
    for (int64_t i = i0; i < i1; i++) {
        float s = p0[i];
        for (int64_t p = 1; p < j->parts; p++) s += p0[(size_t)p * stride + (size_t)i];
        j->dw[i] = s;
    }
}

void jt_conv_packed_bwd_filter(jt_pool *pool, const jt_conv_geom *g, const float *dy, const float *x,
                               float *dw, void *ws, size_t ws_size) {
    const int64_t ck = g->Cg * g->k_sz, L = g->N * g->out_sz, parts = filter_parts(g);
    const size_t db = dyt_bytes(g);
    const float *a = dy;
    if (g->N > 1) {
        gather_job gj = {g, dy, ws};
        jt_pool_run(pool, gather_task, &gj, g->N * g->M);
        a = ws;
    }
    filt_ctx f = {.p = {.g = g, .img_stride = g->C * g->in_sz, .ncols = L, .avx512 = cpu_avx512(),
                        .gather = g->N * g->C * g->in_sz < INT32_MAX},
                  .ncols = ck};
    for (int64_t gi = 0; gi < g->G; gi++) {
        f.p.x = x + gi * g->Cg * g->in_sz;
        if (parts > 1) {
            split_job sj = {&f, a + gi * g->Mg * L, dw + gi * g->Mg * ck, (char *)ws + db, L, ck, part_len(g),
                            parts, partial_bytes(g), part_gemm_ws(g)};
            jt_pool_run(pool, split_part_task, &sj, parts);
            jt_pool_run(pool, split_sum_task, &sj, (g->Mg * ck + SUM_CHUNK - 1) / SUM_CHUNK);
            continue;
        }
        const jt_gemm_f32_args ga = {
            .M = g->Mg, .N = ck, .K = L, .alpha = 1.0f, .beta = 0.0f, .A = a + gi * g->Mg * L, .lda = L,
            .pack_b = filter_pack_b, .pack_b_user = &f, .C = dw + gi * g->Mg * ck, .ldc = ck,
            .min_tile_cols = JT_GEMM_B_CHUNK, /* A (dY) is long: stream it fewer times */
            .ws = (char *)ws + db, .ws_size = ws_size - db};
        jt_gemm_f32_run(pool, &ga);
    }
}
