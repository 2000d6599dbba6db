/* Conv (1, 11) and ConvTranspose (1, 11): attribute parsing, geometry, shape inference, workspace and
 * cost. Kernels: conv_cpu.c. */
#include "conv.h"

#include <string.h>

#include "conv_cuda.h"
#include "conv_onednn.h"
#include "conv_packed.h"
#include "window.h"

static jt_status conv_parse_common(jt_ctx *ctx, const jt_graph *g, const jt_node *n, jt_conv_attrs *at) {
    JT_TRY(jt_attr_ints(ctx, g, n, "kernel_shape", at->kernel, JT_CONV_MAX_SP, &at->n_kernel));
    JT_TRY(jt_attr_ints(ctx, g, n, "strides", at->strides, JT_CONV_MAX_SP, &at->n_strides));
    JT_TRY(jt_attr_ints(ctx, g, n, "dilations", at->dil, JT_CONV_MAX_SP, &at->n_dil));
    JT_TRY(jt_attr_ints(ctx, g, n, "pads", at->pads, 2 * JT_CONV_MAX_SP, &at->n_pads));
    JT_TRY(jt_attr_int(ctx, g, n, "group", 1, &at->group));
    JT_TRY(jt_parse_auto_pad(ctx, g, n, &at->auto_pad));
    if (at->group < 1)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "group is %lld, expected >= 1",
                            (long long)at->group);
    for (int i = 0; i < at->n_strides; i++)
        if (at->strides[i] < 1)
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "strides[%d] is %lld, expected >= 1", i,
                                (long long)at->strides[i]);
    for (int i = 0; i < at->n_dil; i++)
        if (at->dil[i] < 1)
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "dilations[%d] is %lld, expected >= 1",
                                i, (long long)at->dil[i]);
    for (int i = 0; i < at->n_kernel; i++)
        if (at->kernel[i] < 1)
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "kernel_shape[%d] is %lld, expected >= 1",
                                i, (long long)at->kernel[i]);
    return JT_OK;
}

jt_status jt_conv_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads",
                                        "strides", NULL};
    jt_conv_attrs *at = attrs;
    memset(at, 0, sizeof *at);
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    return conv_parse_common(ctx, g, n, at);
}

jt_status jt_convt_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs) {
    static const char *const known[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads",
                                        "strides", "output_padding", "output_shape", NULL};
    jt_conv_attrs *at = attrs;
    memset(at, 0, sizeof *at);
    at->transpose = true;
    JT_TRY(jt_attrs_check_known(ctx, g, n, known));
    JT_TRY(conv_parse_common(ctx, g, n, at));
    JT_TRY(jt_attr_ints(ctx, g, n, "output_padding", at->outpad, JT_CONV_MAX_SP, &at->n_outpad));
    /* output_shape may list the spatial axes only, or N and C too */
    int64_t os[JT_CONV_MAX_SP + 2];
    int nos;
    JT_TRY(jt_attr_ints(ctx, g, n, "output_shape", os, JT_CONV_MAX_SP + 2, &nos));
    at->n_outshape = nos;
    for (int i = 0; i < nos && i < JT_CONV_MAX_SP; i++) at->outshape[i] = os[i];
    if (nos > JT_CONV_MAX_SP) { /* keep the raw list; geom picks the trailing spatial values */
        at->n_outshape = -nos;
        for (int i = 0; i < JT_CONV_MAX_SP; i++) at->outshape[i] = os[nos - JT_CONV_MAX_SP + i];
    }
    return JT_OK;
}

static jt_status check_len(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const char *name, int have,
                           int want) {
    if (have != 0 && have != want)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "attribute '%s' has %d values, expected %d",
                            name, have, want);
    return JT_OK;
}

jt_status jt_conv_geom_make(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const jt_conv_attrs *at,
                            const jt_tensor *x, const jt_tensor *w, jt_conv_geom *geo) {
    char sx[128], sw[128];
    memset(geo, 0, sizeof *geo);
    int r = x->rank, nsp = r - 2;
    if (r < 3 || r > 5)
        return jt_node_fail(ctx, g, n, JT_ERR_SHAPE,
                            "input X has shape %s (rank %d), expected rank 3, 4 or 5 (N, C, spatial...)",
                            jt_dims_str(x->dims, x->rank, sx, sizeof sx), r);
    if (w->rank != r)
        return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "weight W has shape %s, expected rank %d like X %s",
                            jt_dims_str(w->dims, w->rank, sw, sizeof sw), r,
                            jt_dims_str(x->dims, x->rank, sx, sizeof sx));
    JT_TRY(check_len(ctx, g, n, "kernel_shape", at->n_kernel, nsp));
    JT_TRY(check_len(ctx, g, n, "strides", at->n_strides, nsp));
    JT_TRY(check_len(ctx, g, n, "dilations", at->n_dil, nsp));
    JT_TRY(check_len(ctx, g, n, "pads", at->n_pads, 2 * nsp));
    JT_TRY(check_len(ctx, g, n, "output_padding", at->n_outpad, nsp));
    if (at->n_outshape > 0 && at->n_outshape != nsp + 2)
        JT_TRY(check_len(ctx, g, n, "output_shape", at->n_outshape, nsp));
    if (at->n_outshape < 0 && -at->n_outshape != nsp + 2)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL,
                            "attribute 'output_shape' has %d values, expected %d", -at->n_outshape, nsp);
    geo->nsp = nsp;
    geo->N = x->dims[0];
    geo->C = x->dims[1];
    geo->G = at->group;
    if (!at->transpose) {
        geo->M = w->dims[0];
        geo->Cg = w->dims[1];
        if (geo->Cg * geo->G != geo->C || geo->M % geo->G != 0)
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE,
                                "X %s and W %s with group %lld: expected W[1] * group == C (%lld) and "
                                "W[0] divisible by group",
                                jt_dims_str(x->dims, r, sx, sizeof sx), jt_dims_str(w->dims, r, sw, sizeof sw),
                                (long long)geo->G, (long long)geo->C);
        geo->Mg = geo->M / geo->G;
    } else {
        geo->Mg = w->dims[1];
        geo->M = geo->Mg * geo->G;
        if (w->dims[0] != geo->C || geo->C % geo->G != 0)
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE,
                                "X %s and W %s with group %lld: expected W[0] == C (%lld) divisible by group",
                                jt_dims_str(x->dims, r, sx, sizeof sx), jt_dims_str(w->dims, r, sw, sizeof sw),
                                (long long)geo->G, (long long)geo->C);
        geo->Cg = geo->C / geo->G;
    }
    geo->in_sz = geo->out_sz = geo->k_sz = 1;
    for (int a = 0; a < 3; a++) {
        int i = a - (3 - nsp); /* model axis, < 0 for padding axes */
        if (i < 0) {
            geo->in[a] = geo->out[a] = geo->k[a] = geo->s[a] = geo->d[a] = 1;
            continue;
        }
        int64_t in = x->dims[2 + i], k = w->dims[2 + i];
        if (at->n_kernel && at->kernel[i] != k)
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "kernel_shape[%d] is %lld but W %s has %lld", i,
                                (long long)at->kernel[i], jt_dims_str(w->dims, r, sw, sizeof sw),
                                (long long)k);
        int64_t s = at->n_strides ? at->strides[i] : 1, d = at->n_dil ? at->dil[i] : 1;
        int64_t pb = at->n_pads ? at->pads[i] : 0, pe = at->n_pads ? at->pads[nsp + i] : 0;
        int64_t out;
        if (!at->transpose) {
            out = jt_window_out(at->auto_pad, in, k, s, d, 0, &pb, &pe);
        } else {
            int64_t op = at->n_outpad ? at->outpad[i] : 0, ek = (k - 1) * d + 1;
            if (at->n_outshape || at->auto_pad == JT_PAD_SAME_UPPER || at->auto_pad == JT_PAD_SAME_LOWER) {
                /* output_shape lists the spatial axes, or N, C and the spatial axes (parse keeps the
                 * trailing three values of a list longer than three) */
                out = at->n_outshape == nsp       ? at->outshape[i]
                      : at->n_outshape == nsp + 2 ? at->outshape[2 + i]
                      : at->n_outshape < 0        ? at->outshape[JT_CONV_MAX_SP - nsp + i]
                                                  : in * s;
                int64_t total = s * (in - 1) + op + ek - out;
                if (at->auto_pad == JT_PAD_SAME_UPPER) {
                    pb = jt_div_floor(total, 2);
                    pe = total - pb;
                } else {
                    pe = jt_div_floor(total, 2);
                    pb = total - pe;
                }
            } else {
                if (at->auto_pad == JT_PAD_VALID) pb = pe = 0;
                out = s * (in - 1) + op + ek - pb - pe;
            }
        }
        if (out <= 0 || in <= 0)
            return jt_node_fail(ctx, g, n, JT_ERR_SHAPE,
                                "spatial axis %d: input %lld, kernel %lld, stride %lld, dilation %lld, pads "
                                "%lld/%lld give output size %lld, expected >= 1",
                                i, (long long)in, (long long)k, (long long)s, (long long)d, (long long)pb,
                                (long long)pe, (long long)out);
        geo->in[a] = in;
        geo->out[a] = out;
        geo->k[a] = k;
        geo->s[a] = s;
        geo->d[a] = d;
        geo->pb[a] = pb;
        geo->pe[a] = pe;
        geo->in_sz *= in;
        geo->out_sz *= out;
        geo->k_sz *= k;
    }
    return JT_OK;
}

int64_t jt_conv_chunk(const jt_conv_geom *geo) {
    enum { COLS_TARGET = 512 };
    int64_t nb = (COLS_TARGET + geo->out_sz - 1) / geo->out_sz;
    if (nb > geo->N) nb = geo->N;
    return nb < 1 ? 1 : nb;
}

bool jt_conv_is_depthwise(const jt_conv_geom *geo) { return geo->Cg == 1 && geo->G > 1; }

bool jt_conv_is_pointwise(const jt_conv_geom *geo) {
    for (int a = 0; a < 3; a++)
        if (geo->k[a] != 1 || geo->s[a] != 1 || geo->pb[a] != 0 || geo->pe[a] != 0) return false;
    return true;
}

static jt_status conv_infer(const jt_infer_args *a) {
    const jt_conv_attrs *at = a->attrs;
    const jt_tensor *x = a->in[0], *w = a->in[1], *b = a->n_in > 2 ? a->in[2] : NULL;
    if (!jt_dtype_is_float(x->dtype) || w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INVALID_MODEL,
                            "X, W%s have dtypes %s, %s%s%s, expected one float type", b ? ", B" : "",
                            jt_dtype_name(x->dtype), jt_dtype_name(w->dtype), b ? ", " : "",
                            b ? jt_dtype_name(b->dtype) : "");
    jt_conv_geom geo;
    JT_TRY(jt_conv_geom_make(a->ctx, a->graph, a->node, at, x, w, &geo));
    if (b && (b->rank != 1 || b->dims[0] != geo.M)) {
        char sb[128];
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_SHAPE, "bias B has shape %s, expected [%lld]",
                            jt_dims_str(b->dims, b->rank, sb, sizeof sb), (long long)geo.M);
    }
    int64_t d[5] = {geo.N, geo.M};
    for (int i = 0; i < geo.nsp; i++) d[2 + i] = geo.out[3 - geo.nsp + i];
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, d);
    return JT_OK;
}

void jt_conv_geom_swap(const jt_conv_geom *t, jt_conv_geom *c) {
    *c = *t;
    c->C = t->M;
    c->M = t->C;
    c->Cg = t->Mg;
    c->Mg = t->Cg;
    for (int a = 0; a < 3; a++) {
        c->in[a] = t->out[a];
        c->out[a] = t->in[a];
    }
    c->in_sz = t->out_sz;
    c->out_sz = t->in_sz;
}

size_t jt_conv_fwd_ws_elems(const jt_conv_geom *geo) {
    if (jt_conv_is_depthwise(geo)) return 0;
    int64_t nb = jt_conv_chunk(geo);
    bool direct = nb == 1 && jt_conv_is_pointwise(geo);
    size_t elems = direct ? 0 : (size_t)(geo->C * geo->k_sz * nb * geo->out_sz);
    if (nb > 1) elems += (size_t)(geo->M * nb * geo->out_sz);
    return elems;
}

size_t jt_conv_bwd_data_ws_elems(const jt_conv_geom *geo) { return jt_conv_fwd_ws_elems(geo); }

static size_t conv_workspace(const jt_kernel_args *a) {
    jt_conv_geom geo, cg;
    if (jt_conv_geom_make(a->ctx, NULL, a->node, a->attrs, a->in[0], a->in[1], &geo) != JT_OK) return 0;
    size_t es = jt_dtype_size(a->in[0]->dtype), elems;
    const jt_conv_attrs *at = a->attrs;
    size_t packed = 0;
    if (at->transpose) {
        jt_conv_geom_swap(&geo, &cg);
        elems = jt_conv_bwd_data_ws_elems(&cg);
        if (es == 4 && jt_conv_packed_bwd_data_ok(&cg)) packed = jt_conv_packed_bwd_data_ws(&cg);
    } else {
        elems = jt_conv_fwd_ws_elems(&geo);
        if (es == 4 && jt_conv_packed_fwd_ok(&geo)) packed = jt_conv_packed_fwd_ws(&geo);
    }
    if (packed > elems * es) elems = (packed + es - 1) / es;
#ifdef JT_HAVE_ONEDNN
    size_t dn = jt_conv_dnnl_workspace(a);
    if (dn > elems * es) return dn;
#endif
    return elems * es;
}

static void conv_cost(const jt_kernel_args *a, double *flops, double *bytes) {
    jt_conv_geom geo;
    *flops = *bytes = 0;
    if (jt_conv_geom_make(a->ctx, NULL, a->node, a->attrs, a->in[0], a->in[1], &geo) != JT_OK) return;
    const jt_conv_attrs *at = a->attrs;
    double macs = at->transpose ? (double)geo.N * geo.C * geo.in_sz * geo.Mg * geo.k_sz
                                : (double)geo.N * geo.M * geo.out_sz * geo.Cg * geo.k_sz;
    *flops = 2.0 * macs + (a->n_in > 2 && a->in[2] ? (double)geo.N * geo.M * geo.out_sz : 0.0);
    for (int i = 0; i < a->n_in; i++)
        if (a->in[i]) *bytes += (double)jt_tensor_nbytes(a->in[i]);
    *bytes += (double)jt_tensor_nbytes(a->out[0]);
}

const jt_op_impl jt_impl_conv = {
    .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(jt_conv_attrs),
    .parse = jt_conv_parse,
    .infer = conv_infer,
    .workspace = conv_workspace,
    .cost = conv_cost,
#ifdef JT_HAVE_ONEDNN
    .prepare = jt_conv_dnnl_prepare,
    .release = jt_conv_dnnl_release,
#endif
    .cpu_f32 = jt_conv_cpu_f32, .cpu_f64 = jt_conv_cpu_f64,
    JT_CONV_CUDA_IMPL
    .type_input = 0,
    .vjp = jt_conv_vjp,
};

const jt_op_impl jt_impl_conv_transpose = {
    .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .attr_size = sizeof(jt_conv_attrs),
    .parse = jt_convt_parse,
    .infer = conv_infer,
    .workspace = conv_workspace,
    .cost = conv_cost,
    .cpu_f32 = jt_convt_cpu_f32, .cpu_f64 = jt_convt_cpu_f64,
    JT_CONV_CUDA_IMPL
    .type_input = 0,
    .vjp = jt_conv_vjp,
};
