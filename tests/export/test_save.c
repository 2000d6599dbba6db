/* jt_onnx_save / jt_onnx_save_buffer: in-memory round trips and refusals. The file-level checks
 * (onnx.checker, ONNX Runtime, CLI round trips of every builder model and fixture) are in
 * check_export.py. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jatp/jatp.h"
#include "jatp/models.h"
#include "jt_test.h"
#include "runtime/core/philox.h"

static jt_ctx *ctx;

static jt_graph *roundtrip(const jt_graph *g, const jt_save_options *o) {
    void *buf;
    size_t n;
    if (jt_onnx_save_buffer(ctx, g, o, &buf, &n) != JT_OK) return NULL;
    jt_graph *h = NULL;
    jt_onnx_load_buffer(ctx, buf, n, "exported", ".", NULL, &h);
    free(buf);
    return h;
}

/* Runs g on x (batch 2 of [C,H,W] uniform draws); returns a malloc'ed copy of output 0. */
static float *run(const jt_graph *g, int64_t c, int64_t h, int64_t w, int64_t *numel) {
    jt_tensor x = {.dtype = JT_F32, .rank = 4, .dims = {2, c, h, w}};
    size_t n = (size_t)(2 * c * h * w);
    float *buf = malloc(n * sizeof *buf);
    for (size_t i = 0; i < n; i++) buf[i] = jt_rng_uniform(3, JT_RNG_TEST, 0, i);
    x.data = buf;
    jt_plan *p = NULL;
    float *out = NULL;
    if (jt_plan_create(ctx, g, &x, 1, NULL, &p) == JT_OK && jt_plan_run(p, &x, 1) == JT_OK) {
        const jt_tensor *y = jt_plan_output(p, 0);
        *numel = jt_tensor_numel(y);
        out = malloc(jt_tensor_nbytes(y));
        memcpy(out, y->data, jt_tensor_nbytes(y));
    }
    jt_plan_free(p);
    free(buf);
    return out;
}

/* Elements of every initializer (a reloaded graph no longer knows CONST and STATE). */
static int64_t count_all_params(const jt_graph *g) {
    int64_t n = 0;
    for (int32_t v = 0; v < g->n_values; v++)
        if (g->values[v].flags & JT_VALUE_PARAM) {
            int64_t k = 1;
            for (int i = 0; i < g->values[v].rank; i++) k *= g->values[v].dims[i];
            n += k;
        }
    return n;
}

static int count_op(const jt_graph *g, const char *op) {
    int n = 0;
    for (int32_t k = 0; k < g->n_nodes; k++)
        if (strcmp(g->nodes[k].op_type, op) == 0) n++;
    return n;
}

static void refuse_domains(void) {
    const char *name = "refuse/non_standard_nodes";
    jt_graph *g;
    jt_graph_create(ctx, "t", &g);
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int32_t x = jt_gb_input(&b, "x", JT_F32, 2, (const int64_t[]){2, 3});
    int32_t a = jt_gb_op(&b, "OnesLike", "jatp.grad", "ones_a", &x, 1);
    int32_t r = jt_gb_op(&b, "Relu", "", "relu", &a, 1);
    int32_t z = jt_gb_op(&b, "ZerosLike", "jatp.grad", "zeros_b", &r, 1);
    jt_gb_output(&b, z);
    void *buf = NULL;
    size_t n;
    if (jt_gb_status(&b) != JT_OK) {
        jt_test_fail(name, "build: %s", jt_ctx_error(ctx));
    } else if (jt_onnx_save_buffer(ctx, g, NULL, &buf, &n) != JT_ERR_UNSUPPORTED) {
        jt_test_fail(name, "export did not fail with JT_ERR_UNSUPPORTED");
    } else {
        const char *e = jt_ctx_error(ctx);
        if (!strstr(e, "ones_a") || !strstr(e, "zeros_b") || !strstr(e, "jatp.grad") || strstr(e, "'relu'"))
            jt_test_fail(name, "message should list ones_a and zeros_b (jatp.grad) only: %s", e);
        else
            jt_test_ok(name);
    }
    free(buf);
    /* the standard part alone exports */
    jt_save_options o;
    jt_save_options_default(&o);
    o.outputs = &r;
    o.n_outputs = 1;
    buf = NULL;
    if (jt_onnx_save_buffer(ctx, g, &o, &buf, &n) == JT_OK) jt_test_fail("refuse/subgraph_still_needs_grad_node", "export of relu (which reads a jatp.grad output) succeeded");
    else jt_test_ok("refuse/subgraph_still_needs_grad_node");
    free(buf);
    jt_graph_free(g);
}

static void refuse_version(void) {
    const char *name = "refuse/opset_18_semantics";
    jt_graph *g;
    jt_graph_create(ctx, "t", &g);
    jt_gb b;
    jt_gb_init(&b, ctx, g, 18);
    int32_t x = jt_gb_input(&b, "x", JT_F32, 2, (const int64_t[]){2, 3});
    int32_t axes = jt_gb_const_i64s(&b, (const int64_t[]){1}, 1);
    int32_t m = jt_gb_op(&b, "ReduceMean", "", "mean", (const int32_t[]){x, axes}, 2);
    int32_t r = jt_gb_op(&b, "Relu", "", "relu", &m, 1);
    jt_gb_output(&b, r);
    void *buf = NULL;
    size_t n;
    if (jt_gb_status(&b) != JT_OK) jt_test_fail(name, "build: %s", jt_ctx_error(ctx));
    else if (jt_onnx_save_buffer(ctx, g, NULL, &buf, &n) != JT_ERR_UNSUPPORTED) jt_test_fail(name, "export succeeded");
    else if (!strstr(jt_ctx_error(ctx), "'mean'") || strstr(jt_ctx_error(ctx), "'relu'"))
        jt_test_fail(name, "message should name node mean only: %s", jt_ctx_error(ctx));
    else jt_test_ok(name);
    free(buf);
    jt_graph_free(g);
}

/* P and T composed in one graph with prefixes; exporting P's output with strip_prefix gives the
 * standalone model: same names, same weights (init hashes unprefixed names), same outputs. */
static void subgraph_export(void) {
    const char *name = "subgraph/P_of_composed_graph";
    jt_graph *g;
    jt_graph_create(ctx, "composed", &g);
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int32_t x = jt_gb_input(&b, "input", JT_F32, 4, (const int64_t[]){-1, 1, 28, 28});
    jt_model_config pc, tc;
    jt_model_config_preset(ctx, "rrdb-s", &pc);
    jt_model_config_preset(ctx, "resnet10-fm-w8", &tc);
    jt_model_info pi, ti;
    b.prefix = "P/";
    jt_model_build(&b, "rrdb-s", &pc, x, &pi);
    b.prefix = "T/";
    jt_model_build(&b, "resnet10-fm-w8", &tc, pi.output, &ti);
    b.prefix = NULL;
    jt_gb_output(&b, ti.output);
    jt_graph *solo = NULL, *h = NULL;
    if (jt_gb_status(&b) != JT_OK || jt_model_create(ctx, "rrdb-s", &pc, &solo, NULL) != JT_OK) {
        jt_test_fail(name, "build: %s", jt_ctx_error(ctx));
        goto done;
    }
    jt_save_options o;
    jt_save_options_default(&o);
    o.outputs = &pi.output;
    o.n_outputs = 1;
    o.strip_prefix = "P/";
    h = roundtrip(g, &o);
    if (!h) {
        jt_test_fail(name, "export/import: %s", jt_ctx_error(ctx));
        goto done;
    }
    int64_t np = count_all_params(h), ns = count_all_params(solo);
    int32_t w = jt_graph_find_value(h, "RRDB_trunk.0.RDB3.conv5.weight");
    int32_t ws = jt_graph_find_value(solo, "RRDB_trunk.0.RDB3.conv5.weight");
    if (np != ns || w < 0 || ws < 0 || h->n_inputs != 1 || count_op(h, "BatchNormalization") != 0 ||
        memcmp(h->values[w].data, solo->values[ws].data, 16 * 48 * 9 * 4) != 0) {
        jt_test_fail(name, "exported P: %lld params (standalone %lld), conv5 weight %s, %d inputs, %d BN nodes",
                     (long long)np, (long long)ns, w < 0 ? "missing" : "present", h->n_inputs,
                     count_op(h, "BatchNormalization"));
        goto done;
    }
    int64_t n1 = 0, n2 = 0;
    float *y1 = run(h, 1, 28, 28, &n1), *y2 = run(solo, 1, 28, 28, &n2);
    if (!y1 || !y2 || n1 != n2 || memcmp(y1, y2, (size_t)n1 * 4) != 0)
        jt_test_fail(name, "outputs of exported P and standalone rrdb-s differ%s%s", y1 && y2 ? "" : ": ",
                     y1 && y2 ? "" : jt_ctx_error(ctx));
    else
        jt_test_ok(name);
    free(y1);
    free(y2);
done:
    jt_graph_free(h);
    jt_graph_free(solo);
    jt_graph_free(g);
}

static void bn_modes(void) {
    jt_model_config cfg;
    jt_model_config_preset(ctx, "resnet10-fm-w8", &cfg);
    cfg.train_bn = 1;
    jt_graph *g = NULL, *h1 = NULL, *h2 = NULL, *ev = NULL;
    if (jt_model_create(ctx, "resnet10-fm-w8", &cfg, &g, NULL) != JT_OK) {
        jt_test_fail("bn/training_mode_kept", "build: %s", jt_ctx_error(ctx));
        return;
    }
    h1 = roundtrip(g, NULL);
    int ok = h1 && count_op(h1, "BatchNormalization") == 12;
    for (int32_t k = 0; ok && k < h1->n_nodes; k++)
        if (strcmp(h1->nodes[k].op_type, "BatchNormalization") == 0) {
            const jt_attr *a = jt_node_attr(&h1->nodes[k], "training_mode");
            if (!a || a->i != 1 || h1->nodes[k].n_out != 3) ok = 0;
        }
    if (ok) jt_test_ok("bn/training_mode_kept");
    else jt_test_fail("bn/training_mode_kept", "%s", h1 ? "BN nodes lost training_mode or outputs" : jt_ctx_error(ctx));
    jt_save_options o;
    jt_save_options_default(&o);
    o.bn_eval = 1;
    h2 = roundtrip(g, &o);
    cfg.train_bn = 0;
    jt_model_create(ctx, "resnet10-fm-w8", &cfg, &ev, NULL);
    ok = h2 && ev && count_op(h2, "BatchNormalization") == 12;
    for (int32_t k = 0; ok && k < h2->n_nodes; k++)
        if (strcmp(h2->nodes[k].op_type, "BatchNormalization") == 0 &&
            (jt_node_attr(&h2->nodes[k], "training_mode") || h2->nodes[k].n_out != 1))
            ok = 0;
    int64_t n1 = 0, n2 = 0;
    float *y1 = ok ? run(h2, 1, 28, 28, &n1) : NULL, *y2 = ok ? run(ev, 1, 28, 28, &n2) : NULL;
    if (!ok || !y1 || !y2 || n1 != n2 || memcmp(y1, y2, (size_t)n1 * 4) != 0)
        jt_test_fail("bn/bn_eval_equals_eval_model", "%s", ok ? "outputs differ from the eval-mode build" : "BN nodes still in training form");
    else
        jt_test_ok("bn/bn_eval_equals_eval_model");
    free(y1);
    free(y2);
    jt_graph_free(g);
    jt_graph_free(h1);
    jt_graph_free(h2);
    jt_graph_free(ev);
}

/* Attributes of every type the IR writes survive the round trip. */
static void attrs_roundtrip(void) {
    const char *name = "roundtrip/attributes";
    jt_graph *g;
    jt_graph_create(ctx, "t", &g);
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int32_t x = jt_gb_input(&b, "x", JT_F32, 4, (const int64_t[]){-1, 2, 5, 5});
    jt_gb_attr_float(&b, "alpha", 0.3);
    int32_t l = jt_gb_op(&b, "LeakyRelu", "", "lrelu", &x, 1);
    jt_gb_attr_ints(&b, "kernel_shape", (const int64_t[]){3, 3}, 2);
    jt_gb_attr_ints(&b, "pads", (const int64_t[]){1, 1, 1, 1}, 4);
    jt_gb_attr_string(&b, "auto_pad", "NOTSET");
    jt_gb_attr_int(&b, "count_include_pad", 1);
    int32_t p = jt_gb_op(&b, "AveragePool", "", "pool", &l, 1);
    jt_gb_output(&b, p);
    jt_graph *h = jt_gb_status(&b) == JT_OK ? roundtrip(g, NULL) : NULL;
    int ok = h && h->n_nodes == 2;
    if (ok) {
        const jt_node *n0 = &h->nodes[0], *n1 = &h->nodes[1];
        const jt_attr *al = jt_node_attr(n0, "alpha"), *ks = jt_node_attr(n1, "kernel_shape"),
                      *ap = jt_node_attr(n1, "auto_pad"), *ci = jt_node_attr(n1, "count_include_pad");
        ok = al && al->type == JT_ATTR_FLOAT && (float)al->f == 0.3f && ks && ks->type == JT_ATTR_INTS && ks->n == 2 &&
             ks->ints[1] == 3 && ap && ap->type == JT_ATTR_STRING && strcmp(ap->s, "NOTSET") == 0 && ci && ci->i == 1;
        const jt_value *in = &h->values[h->inputs[0]], *out = &h->values[h->outputs[0]];
        ok = ok && in->dims[0] == JT_DIM_UNKNOWN && in->dim_params[0] && strcmp(in->dim_params[0], "N") == 0 &&
             strcmp(out->name, "pool") == 0 && h->opset_onnx == 17 && h->ir_version == 8;
    }
    if (ok) jt_test_ok(name);
    else jt_test_fail(name, "%s", h ? "attributes, input shape or header differ after the round trip" : jt_ctx_error(ctx));
    jt_graph_free(h);
    jt_graph_free(g);
}

static void write_file(void) {
    const char *name = "file/atomic_write_and_load";
    jt_model_config cfg;
    jt_model_config_preset(ctx, "apeg-g", &cfg);
    jt_graph *g = NULL, *h = NULL;
    char path[] = "/tmp/jatp-test-save-XXXXXX";
    char file[64];
    if (!mkdtemp(path)) {
        jt_test_fail(name, "mkdtemp failed");
        return;
    }
    jt_test_fmt(file, sizeof file, "%s/m.onnx", path);
    if (jt_model_create(ctx, "apeg-g", &cfg, &g, NULL) != JT_OK || jt_onnx_save(ctx, g, file, NULL) != JT_OK ||
        jt_onnx_load(ctx, file, NULL, &h) != JT_OK)
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
    else if (count_all_params(h) != 269059 + 2 * (64 + 128 + 64))
        jt_test_fail(name, "%lld parameter elements after reload", (long long)count_all_params(h));
    else
        jt_test_ok(name);
    /* a directory that does not exist: error, nothing left behind */
    char bad[96];
    jt_test_fmt(bad, sizeof bad, "%s/missing/m.onnx", path);
    if (g && jt_onnx_save(ctx, g, bad, NULL) == JT_OK) jt_test_fail("file/unwritable_path", "saving into a missing directory succeeded");
    else if (g && !strstr(jt_ctx_error(ctx), "missing")) jt_test_fail("file/unwritable_path", "message does not name the path: %s", jt_ctx_error(ctx));
    else jt_test_ok("file/unwritable_path");
    remove(file);
    rmdir(path);
    jt_graph_free(g);
    jt_graph_free(h);
}

int main(void) {
    if (jt_ctx_create(0, &ctx) != JT_OK) return 1;
    refuse_domains();
    refuse_version();
    subgraph_export();
    bn_modes();
    attrs_roundtrip();
    write_file();
    jt_ctx_free(ctx);
    return jt_test_finish();
}
