/* Model names, presets, "key=value" configuration and standalone graphs. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models_internal.h"

typedef jt_status (*build_fn)(jt_gb *, const jt_model_config *, int32_t, jt_model_info *);

typedef struct preset {
    const char *name;
    build_fn build;
    jt_model_config cfg;
} preset;

#define CFG(...) ((jt_model_config){.init = 1, .num_classes = 10, __VA_ARGS__})

static const preset presets[] = {
    {"resnet18", jt_model_resnet, CFG(.channels = 3, .height = 32, .width = 32, .base_width = 64, .blocks = {2, 2, 2, 2})},
    {"resnet10-fm", jt_model_resnet, CFG(.channels = 1, .height = 28, .width = 28, .base_width = 16, .blocks = {1, 1, 1, 1})},
    {"resnet10-fm-w8", jt_model_resnet, CFG(.channels = 1, .height = 28, .width = 28, .base_width = 8, .blocks = {1, 1, 1, 1})},
    {"nrp3", jt_model_rrdb, CFG(.channels = 3, .height = 32, .width = 32, .nf = 64, .gc = 32, .nb = 3)},
    {"rrdb-m", jt_model_rrdb, CFG(.channels = 1, .height = 28, .width = 28, .nf = 32, .gc = 16, .nb = 1)},
    {"rrdb-s", jt_model_rrdb, CFG(.channels = 1, .height = 28, .width = 28, .nf = 16, .gc = 8, .nb = 1)},
    {"dunet", jt_model_dunet, CFG(.channels = 3, .height = 32, .width = 32)},
    {"apeg-g", jt_model_apeg_g, CFG(.channels = 3, .height = 32, .width = 32)},
    {"apeg-d", jt_model_apeg_d, CFG(.channels = 3, .height = 32, .width = 32)},
    {"nrp-disc", jt_model_nrp_disc, CFG(.channels = 3, .height = 32, .width = 32, .ndf = 32)},
};
#define N_PRESETS (int)(sizeof presets / sizeof presets[0])

static const char *const names[] = {"resnet18", "resnet10-fm", "resnet10-fm-w8", "nrp3", "rrdb-m", "rrdb-s",
                                    "dunet", "apeg-g", "apeg-d", "nrp-disc", NULL};

const char *const *jt_model_names(void) { return names; }

static const preset *find_preset(const char *name) {
    for (int i = 0; i < N_PRESETS; i++)
        if (strcmp(presets[i].name, name) == 0) return &presets[i];
    return NULL;
}

static jt_status unknown_model(jt_ctx *ctx, const char *name) {
    jt_fail(ctx, JT_ERR_ARG, "unknown model '%s'; known models:", name);
    for (int i = 0; i < N_PRESETS; i++) jt_error_append(ctx, "  %s", presets[i].name);
    return JT_ERR_ARG;
}

jt_status jt_model_config_preset(jt_ctx *ctx, const char *name, jt_model_config *cfg) {
    const preset *p = find_preset(name);
    if (!p) return unknown_model(ctx, name);
    *cfg = p->cfg;
    return JT_OK;
}

static int parse_int(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

jt_status jt_model_config_set(jt_ctx *ctx, jt_model_config *cfg, const char *kv) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return jt_fail(ctx, JT_ERR_ARG, "model config '%s': expected key=value", kv);
    char key[32];
    size_t kl = (size_t)(eq - kv);
    if (kl >= sizeof key) return jt_fail(ctx, JT_ERR_ARG, "model config '%s': unknown key", kv);
    memcpy(key, kv, kl);
    key[kl] = 0;
    const char *val = eq + 1;
    long v = 0;
    if (strcmp(key, "bn") == 0) {
        if (strcmp(val, "train") == 0) cfg->train_bn = 1;
        else if (strcmp(val, "eval") == 0) cfg->train_bn = 0;
        else return jt_fail(ctx, JT_ERR_ARG, "model config '%s': bn is 'train' or 'eval'", kv);
        return JT_OK;
    }
    if (strcmp(key, "seed") == 0) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(val, &end, 10);
        if (errno || end == val || *end || val[0] == '-')
            return jt_fail(ctx, JT_ERR_ARG, "model config '%s': seed is a non-negative integer", kv);
        cfg->seed = s;
        return JT_OK;
    }
    if (strcmp(key, "blocks") == 0) {
        int b[4], n = 0;
        const char *s = val;
        while (n < 4) {
            char *end;
            errno = 0;
            long x = strtol(s, &end, 10);
            if (errno || end == s || x <= 0 || x > 64) break;
            b[n++] = (int)x;
            if (*end == ',' && n < 4) s = end + 1;
            else {
                s = end;
                break;
            }
        }
        if (n != 4 || *s)
            return jt_fail(ctx, JT_ERR_ARG, "model config '%s': blocks is four positive counts, e.g. blocks=2,2,2,2", kv);
        memcpy(cfg->blocks, b, sizeof b);
        return JT_OK;
    }
    static const struct {
        const char *key;
        size_t off;
        long lo, hi;
    } ints[] = {
        {"c", offsetof(jt_model_config, channels), 1, 4096},
        {"h", offsetof(jt_model_config, height), 0, 1 << 20},
        {"w", offsetof(jt_model_config, width), 0, 1 << 20},
        {"base", offsetof(jt_model_config, base_width), 1, 1 << 16},
        {"classes", offsetof(jt_model_config, num_classes), 1, 1 << 20},
        {"nf", offsetof(jt_model_config, nf), 1, 1 << 16},
        {"gc", offsetof(jt_model_config, gc), 1, 1 << 16},
        {"nb", offsetof(jt_model_config, nb), 0, 1024},
        {"ndf", offsetof(jt_model_config, ndf), 1, 1 << 16},
        {"init", offsetof(jt_model_config, init), 0, 1},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (strcmp(key, ints[i].key) != 0) continue;
        if (parse_int(val, ints[i].lo, ints[i].hi, &v))
            return jt_fail(ctx, JT_ERR_ARG, "model config '%s': %s takes an integer in [%ld, %ld]", kv, key, ints[i].lo,
                           ints[i].hi);
        *(int *)((char *)cfg + ints[i].off) = (int)v;
        return JT_OK;
    }
    return jt_fail(ctx, JT_ERR_ARG,
                   "model config '%s': unknown key '%s' (keys: c h w base blocks classes nf gc nb ndf bn init seed)", kv,
                   key);
}

jt_status jt_model_build(jt_gb *b, const char *name, const jt_model_config *cfg, int32_t x, jt_model_info *info) {
    if (b->status != JT_OK) return b->status;
    const preset *p = find_preset(name);
    if (!p) {
        b->status = unknown_model(b->ctx, name);
        return b->status;
    }
    jt_model_info tmp;
    return p->build(b, cfg, x, info ? info : &tmp);
}

jt_status jt_model_create(jt_ctx *ctx, const char *name, const jt_model_config *cfg, jt_graph **out,
                          jt_model_info *info) {
    *out = NULL;
    if (!find_preset(name)) return unknown_model(ctx, name);
    jt_graph *g;
    JT_TRY(jt_graph_create(ctx, name, &g));
    g->name = jt_graph_strdup(g, name);
    g->ir_version = 8;
    g->opset_onnx = 17;
    g->producer_name = jt_graph_strdup(g, "jatp");
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    jt_model_info tmp;
    if (!info) info = &tmp;
    int64_t dims[4] = {-1, cfg->channels, cfg->height > 0 ? cfg->height : -1, cfg->width > 0 ? cfg->width : -1};
    int32_t x = jt_gb_input(&b, "input", JT_F32, 4, dims);
    jt_model_build(&b, name, cfg, x, info);
    int32_t y = jt_gb_op(&b, "Identity", "", "output", &info->output, 1);
    jt_gb_output(&b, y);
    jt_status st = jt_gb_status(&b);
    if (st != JT_OK) {
        jt_error_prefix(ctx, "model %s", name);
        jt_graph_free(g);
        return st;
    }
    info->output = y;
    *out = g;
    return JT_OK;
}
