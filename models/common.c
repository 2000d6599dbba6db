/* Shared pieces of the model builders: parameters with PyTorch default init drawn from Philox, and
 * layer helpers over the graph builder. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models_internal.h"
#include "runtime/core/philox.h"

void mb_init(mb *m, jt_gb *b, const jt_model_config *cfg, jt_model_info *info) {
    memset(m, 0, sizeof *m);
    m->b = b;
    m->cfg = cfg;
    m->info = info;
    m->c02 = -1;
    memset(info, 0, sizeof *info);
    info->output = -1;
    info->tap = -1;
}

jt_status mb_finish(mb *m, int32_t output, int32_t tap) {
    if (m->b->status == JT_OK && output < 0)
        m->b->status = jt_fail(m->b->ctx, JT_ERR_INTERNAL, "model builder produced no output");
    if (m->b->status != JT_OK) return m->b->status;
    m->info->output = output;
    m->info->tap = tap;
    return JT_OK;
}

jt_status mb_fail(mb *m, const char *fmt, ...) {
    if (m->b->status != JT_OK) return m->b->status;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    m->b->status = jt_fail(m->b->ctx, JT_ERR_ARG, "%s", msg);
    return m->b->status;
}

const char *mb_name(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return buf;
}

int64_t mb_conv_out(int64_t size, int k, int stride, int pad) {
    if (size < 0) return -1;
    return (size + 2 * pad - k) / stride + 1;
}

/* FNV-1a 64 of the (unprefixed) parameter name: the Philox call index of its draw, so every
 * parameter has its own counter range and its values do not depend on build order or prefix. */
static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static int64_t numel(int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return n;
}

int32_t mb_param_uniform(mb *m, const char *name, int rank, const int64_t *dims, double bound) {
    if (m->b->status != JT_OK) return -1;
    int64_t n = numel(rank, dims);
    float *w = calloc((size_t)(n ? n : 1), sizeof *w);
    if (!w) {
        mb_fail(m, "model builder: out of memory for parameter '%s'", name);
        return -1;
    }
    if (m->cfg->init) {
        uint64_t call = name_hash(name);
        for (int64_t i = 0; i < n; i += 4) {
            jt_philox_out o = jt_rng_block(m->cfg->seed, JT_RNG_INIT, (uint64_t)i >> 2, call);
            for (int j = 0; j < 4 && i + j < n; j++)
                w[i + j] = (float)((2.0 * (double)jt_u01_f32(o.v[j]) - 1.0) * bound);
        }
    }
    int32_t id = jt_gb_param(m->b, name, JT_F32, rank, dims, w);
    free(w);
    if (id >= 0) m->info->n_params += n;
    return id;
}

int32_t mb_param_fill(mb *m, const char *name, int rank, const int64_t *dims, float value, uint32_t flags) {
    if (m->b->status != JT_OK) return -1;
    int64_t n = numel(rank, dims);
    float *w = malloc((size_t)(n ? n : 1) * sizeof *w);
    if (!w) {
        mb_fail(m, "model builder: out of memory for parameter '%s'", name);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) w[i] = value;
    int32_t id = jt_gb_param(m->b, name, JT_F32, rank, dims, w);
    free(w);
    if (id < 0) return -1;
    m->b->g->values[id].flags |= flags;
    if (flags & JT_VALUE_STATE) m->info->n_state_params += n;
    else m->info->n_params += n;
    return id;
}

static int32_t conv_common(mb *m, const char *op, const char *mod, int32_t x, int cin, int cout, int k, int stride,
                           int pad, int bias) {
    if (m->b->status != JT_OK) return -1;
    char pn[512];
    int transposed = op[4] == 'T';
    int64_t wd[4] = {transposed ? cin : cout, transposed ? cout : cin, k, k};
    double fan_in = (double)(transposed ? cout : cin) * k * k;
    double bound = 1.0 / sqrt(fan_in);
    int32_t w = mb_param_uniform(m, mb_name(pn, sizeof pn, "%s.weight", mod), 4, wd, bound);
    int32_t bb = -1;
    if (bias) {
        int64_t bd = cout;
        bb = mb_param_uniform(m, mb_name(pn, sizeof pn, "%s.bias", mod), 1, &bd, bound);
    }
    jt_gb_attr_ints(m->b, "kernel_shape", (const int64_t[]){k, k}, 2);
    jt_gb_attr_ints(m->b, "strides", (const int64_t[]){stride, stride}, 2);
    jt_gb_attr_ints(m->b, "pads", (const int64_t[]){pad, pad, pad, pad}, 4);
    jt_gb_attr_ints(m->b, "dilations", (const int64_t[]){1, 1}, 2);
    jt_gb_attr_int(m->b, "group", 1);
    int32_t ins[3] = {x, w, bb};
    return jt_gb_op(m->b, op, "", mod, ins, bias ? 3 : 2);
}

int32_t mb_conv(mb *m, const char *mod, int32_t x, int cin, int cout, int k, int stride, int pad, int bias) {
    return conv_common(m, "Conv", mod, x, cin, cout, k, stride, pad, bias);
}

int32_t mb_conv_t(mb *m, const char *mod, int32_t x, int cin, int cout, int k, int stride, int pad, int bias) {
    return conv_common(m, "ConvTranspose", mod, x, cin, cout, k, stride, pad, bias);
}

static void push_state(mb *m, int32_t dst, int32_t src) {
    jt_model_info *in = m->info;
    if (in->n_state == m->state_cap) {
        int32_t cap = m->state_cap ? 2 * m->state_cap : 32;
        int32_t *d = jt_graph_alloc(m->b->g, (size_t)cap * sizeof *d);
        int32_t *s = jt_graph_alloc(m->b->g, (size_t)cap * sizeof *s);
        if (!d || !s) {
            mb_fail(m, "model builder: out of memory");
            return;
        }
        if (in->n_state) {
            memcpy(d, in->state_dst, (size_t)in->n_state * sizeof *d);
            memcpy(s, in->state_src, (size_t)in->n_state * sizeof *s);
        }
        in->state_dst = d;
        in->state_src = s;
        m->state_cap = cap;
    }
    in->state_dst[in->n_state] = dst;
    in->state_src[in->n_state] = src;
    in->n_state++;
}

int32_t mb_bn(mb *m, const char *mod, int32_t x, int c) {
    if (m->b->status != JT_OK) return -1;
    char pn[512];
    int64_t d = c;
    int32_t gamma = mb_param_fill(m, mb_name(pn, sizeof pn, "%s.weight", mod), 1, &d, 1.0f, 0);
    int32_t beta = mb_param_fill(m, mb_name(pn, sizeof pn, "%s.bias", mod), 1, &d, 0.0f, 0);
    int32_t mean = mb_param_fill(m, mb_name(pn, sizeof pn, "%s.running_mean", mod), 1, &d, 0.0f, JT_VALUE_STATE);
    int32_t var = mb_param_fill(m, mb_name(pn, sizeof pn, "%s.running_var", mod), 1, &d, 1.0f, JT_VALUE_STATE);
    jt_gb_attr_float(m->b, "epsilon", 1e-5);
    jt_gb_attr_float(m->b, "momentum", 0.9);
    int32_t ins[5] = {x, gamma, beta, mean, var};
    if (!m->cfg->train_bn) return jt_gb_op(m->b, "BatchNormalization", "", mod, ins, 5);
    jt_gb_attr_int(m->b, "training_mode", 1);
    int32_t outs[3];
    if (jt_gb_node(m->b, "BatchNormalization", "", mod, ins, 5, outs, 3) != 0) return -1;
    push_state(m, mean, outs[1]);
    push_state(m, var, outs[2]);
    return outs[0];
}

int32_t mb_linear(mb *m, const char *mod, int32_t x, int in, int out) {
    if (m->b->status != JT_OK) return -1;
    char pn[512];
    double bound = 1.0 / sqrt((double)in);
    int32_t w = mb_param_uniform(m, mb_name(pn, sizeof pn, "%s.weight", mod), 2, (const int64_t[]){out, in}, bound);
    int64_t bd = out;
    int32_t bb = mb_param_uniform(m, mb_name(pn, sizeof pn, "%s.bias", mod), 1, &bd, bound);
    jt_gb_attr_int(m->b, "transB", 1);
    return jt_gb_op(m->b, "Gemm", "", mod, (const int32_t[]){x, w, bb}, 3);
}

int32_t mb_relu(mb *m, const char *name, int32_t x) { return jt_gb_op(m->b, "Relu", "", name, &x, 1); }

int32_t mb_lrelu(mb *m, const char *name, int32_t x, double slope) {
    jt_gb_attr_float(m->b, "alpha", slope);
    return jt_gb_op(m->b, "LeakyRelu", "", name, &x, 1);
}

int32_t mb_tanh(mb *m, const char *name, int32_t x) { return jt_gb_op(m->b, "Tanh", "", name, &x, 1); }

int32_t mb_add(mb *m, const char *name, int32_t a, int32_t b) {
    return jt_gb_op(m->b, "Add", "", name, (const int32_t[]){a, b}, 2);
}

int32_t mb_scale02(mb *m, const char *name, int32_t x) {
    if (m->b->status != JT_OK) return -1;
    if (m->c02 < 0) {
        float v = 0.2f;
        m->c02 = jt_gb_const(m->b, NULL, JT_F32, 0, NULL, &v);
    }
    return jt_gb_op(m->b, "Mul", "", name, (const int32_t[]){x, m->c02}, 2);
}

int32_t mb_concat(mb *m, const char *name, const int32_t *xs, int n) {
    jt_gb_attr_int(m->b, "axis", 1);
    return jt_gb_op(m->b, "Concat", "", name, xs, n);
}

int32_t mb_flatten(mb *m, const char *name, int32_t x) {
    jt_gb_attr_int(m->b, "axis", 1);
    return jt_gb_op(m->b, "Flatten", "", name, &x, 1);
}

int32_t mb_gap(mb *m, const char *name, int32_t x) { return jt_gb_op(m->b, "GlobalAveragePool", "", name, &x, 1); }

int32_t mb_resize_like(mb *m, const char *name, int32_t x, int32_t like) {
    if (m->b->status != JT_OK) return -1;
    char nb[512];
    jt_gb_attr_int(m->b, "start", 0);
    jt_gb_attr_int(m->b, "end", 2);
    int32_t nc = jt_gb_op(m->b, "Shape", "", mb_name(nb, sizeof nb, "%s.shape_nc", name), &x, 1);
    jt_gb_attr_int(m->b, "start", 2);
    int32_t hw = jt_gb_op(m->b, "Shape", "", mb_name(nb, sizeof nb, "%s.shape_hw", name), &like, 1);
    jt_gb_attr_int(m->b, "axis", 0);
    int32_t sizes = jt_gb_op(m->b, "Concat", "", mb_name(nb, sizeof nb, "%s.sizes", name), (const int32_t[]){nc, hw}, 2);
    jt_gb_attr_string(m->b, "mode", "linear");
    jt_gb_attr_string(m->b, "coordinate_transformation_mode", "half_pixel");
    return jt_gb_op(m->b, "Resize", "", name, (const int32_t[]){x, -1, -1, sizes}, 4);
}

int64_t jt_model_count_params(const jt_graph *g) {
    int64_t n = 0;
    for (int32_t v = 0; v < g->n_values; v++) {
        const jt_value *val = &g->values[v];
        if (!(val->flags & JT_VALUE_PARAM) || (val->flags & (JT_VALUE_CONST | JT_VALUE_STATE))) continue;
        int64_t k = 1;
        for (int i = 0; i < val->rank; i++) k *= val->dims[i];
        n += k;
    }
    return n;
}
