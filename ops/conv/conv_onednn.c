/* oneDNN (Debian libdnnl 2.6, C API) fast path for float32 Conv, built with -Dblas=onednn
 * (JT_HAVE_ONEDNN). prepare() creates, once per node and plan, the convolution primitive with the
 * layouts oneDNN prefers (blocked) plus the reorders from and to the NCHW tensors; the kernel runs them
 * on buffers in the shared workspace. Weights are reordered on every call (they may change between runs
 * in training). Anything oneDNN does not implement leaves the state NULL and the im2col path runs.
 * oneDNN threads through OpenMP: the context's thread count is applied with omp_set_num_threads. */
#include "conv.h"
#include "conv_onednn.h"

#ifdef JT_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

void omp_set_num_threads(int n);
int omp_get_max_threads(void);

struct jt_conv_dnnl {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    dnnl_primitive_t conv, r_src, r_w, r_dst; /* reorders NULL when the layouts already agree */
    dnnl_memory_t m_src, m_w, m_b, m_dst;     /* user (NCHW) memories, handles set per call */
    dnnl_memory_t m_src_p, m_w_p, m_dst_p, m_scratch; /* primitive-layout memories in the workspace */
    size_t off_src, off_w, off_dst, off_scratch, ws_bytes;
};

/* oneDNN sizes its parallel decomposition when a primitive is created: use the context's count then
 * and at every run. */
static void set_threads(jt_ctx *ctx) {
    int threads = jt_ctx_threads(ctx);
    if (threads > 0 && omp_get_max_threads() != threads) omp_set_num_threads(threads);
}

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

void jt_conv_dnnl_release(void *state) {
    struct jt_conv_dnnl *s = state;
    if (!s) return;
    dnnl_primitive_t prims[] = {s->conv, s->r_src, s->r_w, s->r_dst};
    for (size_t i = 0; i < sizeof prims / sizeof *prims; i++)
        if (prims[i]) dnnl_primitive_destroy(prims[i]);
    dnnl_memory_t mems[] = {s->m_src, s->m_w, s->m_b, s->m_dst, s->m_src_p, s->m_w_p, s->m_dst_p, s->m_scratch};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    if (s->stream) dnnl_stream_destroy(s->stream);
    if (s->eng) dnnl_engine_destroy(s->eng);
    free(s);
}

static bool reorder(dnnl_engine_t eng, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                    dnnl_primitive_t *out) {
    *out = NULL;
    if (dnnl_memory_desc_equal(from, to)) return true;
    dnnl_primitive_desc_t pd;
    if (dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, NULL) != dnnl_success) return false;
    dnnl_status_t st = dnnl_primitive_create(out, pd);
    dnnl_primitive_desc_destroy(pd);
    return st == dnnl_success;
}

/* Builds the state; returns NULL (no error) when oneDNN cannot run this convolution. */
static struct jt_conv_dnnl *dnnl_build(const jt_kernel_args *a) {
    const jt_conv_attrs *at = a->attrs;
    jt_conv_geom g;
    if (at->transpose || a->in[0]->dtype != JT_F32) return NULL;
    if (jt_conv_geom_make(a->ctx, NULL, a->node, at, a->in[0], a->in[1], &g) != JT_OK) return NULL;
    int nsp = g.nsp, nd = nsp + 2;
    dnnl_dims_t sd = {g.N, g.C}, dd = {g.N, g.M}, wd, bd = {g.M}, strides, dil, pl, pr;
    int wn = 0;
    if (g.G > 1) wd[wn++] = g.G;
    wd[wn++] = g.Mg;
    wd[wn++] = g.Cg;
    for (int i = 0; i < nsp; i++) {
        int ax = 3 - nsp + i;
        if (g.pb[ax] < 0 || g.pe[ax] < 0) return NULL;
        sd[2 + i] = g.in[ax];
        dd[2 + i] = g.out[ax];
        wd[wn++] = g.k[ax];
        strides[i] = g.s[ax];
        dil[i] = g.d[ax] - 1;
        pl[i] = g.pb[ax];
        pr[i] = g.pe[ax];
    }
    static const dnnl_format_tag_t plain[] = {dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd, dnnl_abcde, dnnl_abcdef};
    struct jt_conv_dnnl *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    set_threads(a->ctx);
    dnnl_memory_desc_t su, wu, bu, du, sa, wa, da;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    bool ok = dnnl_engine_create(&s->eng, dnnl_cpu, 0) == dnnl_success &&
              dnnl_stream_create(&s->stream, s->eng, dnnl_stream_default_flags) == dnnl_success &&
              dnnl_memory_desc_init_by_tag(&su, nd, sd, dnnl_f32, plain[nd - 1]) == dnnl_success &&
              dnnl_memory_desc_init_by_tag(&du, nd, dd, dnnl_f32, plain[nd - 1]) == dnnl_success &&
              dnnl_memory_desc_init_by_tag(&wu, wn, wd, dnnl_f32, plain[wn - 1]) == dnnl_success &&
              dnnl_memory_desc_init_by_tag(&bu, 1, bd, dnnl_f32, dnnl_a) == dnnl_success &&
              dnnl_memory_desc_init_by_tag(&sa, nd, sd, dnnl_f32, dnnl_format_tag_any) == dnnl_success &&
              dnnl_memory_desc_init_by_tag(&da, nd, dd, dnnl_f32, dnnl_format_tag_any) == dnnl_success &&
              dnnl_memory_desc_init_by_tag(&wa, wn, wd, dnnl_f32, dnnl_format_tag_any) == dnnl_success;
    bool bias = a->n_in > 2 && a->in[2];
    ok = ok && dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                                          &sa, &wa, bias ? &bu : NULL, &da, strides, dil,
                                                          pl, pr) == dnnl_success;
    ok = ok && dnnl_primitive_attr_create(&attr) == dnnl_success &&
         dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success &&
         dnnl_primitive_desc_create(&pd, &cd, attr, s->eng, NULL) == dnnl_success &&
         dnnl_primitive_create(&s->conv, pd) == dnnl_success;
    if (ok) {
        const dnnl_memory_desc_t *ps = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
        const dnnl_memory_desc_t *pw = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        const dnnl_memory_desc_t *pdst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
        const dnnl_memory_desc_t *psc = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        ok = reorder(s->eng, &su, ps, &s->r_src) && reorder(s->eng, &wu, pw, &s->r_w) &&
             reorder(s->eng, pdst, &du, &s->r_dst);
        size_t off = 0;
        s->off_src = off;
        off += s->r_src ? round64(dnnl_memory_desc_get_size(ps)) : 0;
        s->off_w = off;
        off += s->r_w ? round64(dnnl_memory_desc_get_size(pw)) : 0;
        s->off_dst = off;
        off += s->r_dst ? round64(dnnl_memory_desc_get_size(pdst)) : 0;
        s->off_scratch = off;
        off += psc ? round64(dnnl_memory_desc_get_size(psc)) : 0;
        s->ws_bytes = off;
        ok = ok && dnnl_memory_create(&s->m_src, &su, s->eng, DNNL_MEMORY_NONE) == dnnl_success &&
             dnnl_memory_create(&s->m_w, &wu, s->eng, DNNL_MEMORY_NONE) == dnnl_success &&
             dnnl_memory_create(&s->m_b, &bu, s->eng, DNNL_MEMORY_NONE) == dnnl_success &&
             dnnl_memory_create(&s->m_dst, &du, s->eng, DNNL_MEMORY_NONE) == dnnl_success &&
             dnnl_memory_create(&s->m_src_p, ps, s->eng, DNNL_MEMORY_NONE) == dnnl_success &&
             dnnl_memory_create(&s->m_w_p, pw, s->eng, DNNL_MEMORY_NONE) == dnnl_success &&
             dnnl_memory_create(&s->m_dst_p, pdst, s->eng, DNNL_MEMORY_NONE) == dnnl_success &&
             (!psc || dnnl_memory_desc_get_size(psc) == 0 ||
              dnnl_memory_create(&s->m_scratch, psc, s->eng, DNNL_MEMORY_NONE) == dnnl_success);
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        jt_conv_dnnl_release(s);
        return NULL;
    }
    return s;
}

jt_status jt_conv_dnnl_prepare(const jt_kernel_args *a, void **state) {
    *state = dnnl_build(a);
    return JT_OK;
}

size_t jt_conv_dnnl_workspace(const jt_kernel_args *a) {
    if (a->state) return ((const struct jt_conv_dnnl *)a->state)->ws_bytes;
    struct jt_conv_dnnl *s = dnnl_build(a); /* workspace may be asked before prepare */
    size_t n = s ? s->ws_bytes : 0;
    jt_conv_dnnl_release(s);
    return n;
}

static bool exec(struct jt_conv_dnnl *s, dnnl_primitive_t p, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return dnnl_primitive_execute(p, s->stream, 2, args) == dnnl_success;
}

bool jt_conv_dnnl_run(const jt_kernel_args *a) {
    struct jt_conv_dnnl *s = a->state;
    if (!s || !a->ws || a->ws_size < s->ws_bytes) return false;
    set_threads(a->ctx);
    char *ws = a->ws;
    bool bias = a->n_in > 2 && a->in[2];
    dnnl_memory_set_data_handle(s->m_src, a->in[0]->data);
    dnnl_memory_set_data_handle(s->m_w, a->in[1]->data);
    if (bias) dnnl_memory_set_data_handle(s->m_b, a->in[2]->data);
    dnnl_memory_set_data_handle(s->m_dst, a->out[0]->data);
    dnnl_memory_t src = s->m_src, w = s->m_w, dst = s->m_dst;
    bool ok = true;
    if (s->r_src) {
        dnnl_memory_set_data_handle(s->m_src_p, ws + s->off_src);
        ok = ok && exec(s, s->r_src, s->m_src, s->m_src_p);
        src = s->m_src_p;
    }
    if (s->r_w) {
        dnnl_memory_set_data_handle(s->m_w_p, ws + s->off_w);
        ok = ok && exec(s, s->r_w, s->m_w, s->m_w_p);
        w = s->m_w_p;
    }
    if (s->r_dst) {
        dnnl_memory_set_data_handle(s->m_dst_p, ws + s->off_dst);
        dst = s->m_dst_p;
    }
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}};
    int na = 3;
    if (bias) args[na++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, s->m_b};
    if (s->m_scratch) {
        dnnl_memory_set_data_handle(s->m_scratch, ws + s->off_scratch);
        args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->m_scratch};
    }
    ok = ok && dnnl_primitive_execute(s->conv, s->stream, na, args) == dnnl_success;
    if (s->r_dst) ok = ok && exec(s, s->r_dst, s->m_dst_p, s->m_dst);
    ok = ok && dnnl_stream_wait(s->stream) == dnnl_success;
    return ok;
}

#else
typedef int jt_conv_onednn_unused; /* ISO C: no empty translation unit */
#endif
