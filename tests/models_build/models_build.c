/* Model builders (include/jatp/models.h).
 *
 *   models_build                      the suite: parameter counts of every preset against models.md,
 *                                     taps, training-mode BN state pairs, init determinism and bounds,
 *                                     forward shapes
 *   models_build --dump NAME DIR [batch=B] [k=v ...]
 *                                     builds NAME (config settings k=v), gives the BatchNorm layers
 *                                     random statistics, and writes DIR/params/<name>.npy for every
 *                                     parameter, DIR/input.npy (batch B, default 2; uniform [0,1)), DIR/output.npy,
 *                                     DIR/tap.npy (classifiers) and, with bn=train, the updated running
 *                                     statistics DIR/state/<name>.npy. check_models.py compares them
 *                                     with PyTorch modules loaded with the same weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jatp/jatp.h"
#include "jatp/models.h"
#include "jt_test.h"
#include "runtime/core/philox.h"

static jt_ctx *ctx;

static jt_graph *make(const char *name, const char *const *kv, int nkv, jt_model_info *info) {
    jt_model_config cfg;
    if (jt_model_config_preset(ctx, name, &cfg) != JT_OK) return NULL;
    for (int i = 0; i < nkv; i++)
        if (jt_model_config_set(ctx, &cfg, kv[i]) != JT_OK) return NULL;
    jt_graph *g = NULL;
    if (jt_model_create(ctx, name, &cfg, &g, info) != JT_OK) return NULL;
    return g;
}

/* ---- the suite ---- */

/* make() with settings given as one space-separated string (or NULL). */
static jt_graph *make_kv(const char *name, const char *kv, jt_model_info *info) {
    char buf[256];
    const char *kvs[8];
    int n = 0;
    jt_test_fmt(buf, sizeof buf, "%s", kv ? kv : "");
    for (char *t = strtok(buf, " "); t && n < 8; t = strtok(NULL, " ")) kvs[n++] = t;
    return make(name, kvs, n, info);
}

static void count_case(const char *name, const char *kv, int64_t want) {
    char cname[160];
    jt_test_fmt(cname, sizeof cname, "count/%s%s%s", name, kv ? " " : "", kv ? kv : "");
    jt_model_info info;
    jt_graph *g = make_kv(name, kv, &info);
    if (!g) {
        jt_test_fail(cname, "build failed: %s", jt_ctx_error(ctx));
        return;
    }
    int64_t n = jt_model_count_params(g);
    if (n != want || info.n_params != want)
        jt_test_fail(cname, "%lld parameters (builder reported %lld), expected %lld", (long long)n,
                     (long long)info.n_params, (long long)want);
    else
        jt_test_ok(cname);
    jt_graph_free(g);
}

static void tap_case(const char *name, const char *want, int64_t c, int64_t hw) {
    char cname[128];
    jt_test_fmt(cname, sizeof cname, "tap/%s", name);
    jt_model_info info;
    jt_graph *g = make(name, NULL, 0, &info);
    if (!g) {
        jt_test_fail(cname, "build failed: %s", jt_ctx_error(ctx));
        return;
    }
    jt_plan *p = NULL;
    const jt_value *in = &g->values[g->inputs[0]];
    jt_tensor x = {.dtype = JT_F32, .rank = 4, .dims = {1, in->dims[1], in->dims[2], in->dims[3]}};
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.keep_all = 1;
    if (info.tap < 0 || strcmp(g->values[info.tap].name, want) != 0) {
        jt_test_fail(cname, "tap is '%s', expected '%s'", info.tap < 0 ? "(none)" : g->values[info.tap].name, want);
    } else if (jt_plan_create(ctx, g, &x, 1, &po, &p) != JT_OK) {
        jt_test_fail(cname, "plan: %s", jt_ctx_error(ctx));
    } else {
        const jt_tensor *t = jt_plan_value(p, info.tap);
        if (!t || t->rank != 4 || t->dims[1] != c || t->dims[2] != hw || t->dims[3] != hw)
            jt_test_fail(cname, "tap shape is not [1,%lld,%lld,%lld]", (long long)c, (long long)hw, (long long)hw);
        else
            jt_test_ok(cname);
    }
    jt_plan_free(p);
    jt_graph_free(g);
}

static void train_bn_case(void) {
    const char *kv[1] = {"bn=train"};
    jt_model_info info;
    jt_graph *g = make("resnet10-fm-w8", kv, 1, &info);
    if (!g) {
        jt_test_fail("train_bn/state_pairs", "build failed: %s", jt_ctx_error(ctx));
        return;
    }
    int nbn = 0, bad = 0;
    for (int32_t k = 0; k < g->n_nodes; k++)
        if (strcmp(g->nodes[k].op_type, "BatchNormalization") == 0) {
            nbn++;
            if (g->nodes[k].n_out != 3) bad++;
        }
    for (int i = 0; i < info.n_state && !bad; i++) {
        const jt_value *d = &g->values[info.state_dst[i]];
        if (!(d->flags & JT_VALUE_STATE) || !(d->flags & JT_VALUE_PARAM) || g->values[info.state_src[i]].producer < 0)
            bad++;
    }
    if (bad || info.n_state != 2 * nbn || nbn != 12)
        jt_test_fail("train_bn/state_pairs", "%d BN nodes (expected 12), %d state pairs, %d malformed", nbn, info.n_state,
                     bad);
    else
        jt_test_ok("train_bn/state_pairs");
    jt_graph_free(g);
}

static const jt_value *param(const jt_graph *g, const char *name) {
    int32_t id = jt_graph_find_value(g, name);
    return id >= 0 ? &g->values[id] : NULL;
}

static void init_case(void) {
    const char *s1[1] = {"seed=1"}, *s2[1] = {"seed=2"};
    jt_model_info info;
    jt_graph *a = make("rrdb-s", s1, 1, &info), *b = make("rrdb-s", s1, 1, &info), *c = make("rrdb-s", s2, 1, &info);
    if (!a || !b || !c) {
        jt_test_fail("init/determinism", "build failed: %s", jt_ctx_error(ctx));
    } else {
        const jt_value *wa = param(a, "RRDB_trunk.0.RDB2.conv3.weight"), *wb = param(b, "RRDB_trunk.0.RDB2.conv3.weight"),
                       *wc = param(c, "RRDB_trunk.0.RDB2.conv3.weight");
        size_t n = 8 * (16 + 16) * 9; /* gc x (nf + 2 gc) x 3 x 3 */
        if (!wa || !wb || !wc || wa->dims[0] * wa->dims[1] * 9 != (int64_t)n)
            jt_test_fail("init/determinism", "parameter RRDB_trunk.0.RDB2.conv3.weight missing or misshapen");
        else if (memcmp(wa->data, wb->data, n * 4) != 0)
            jt_test_fail("init/determinism", "the same seed gave different weights");
        else if (memcmp(wa->data, wc->data, n * 4) == 0)
            jt_test_fail("init/determinism", "different seeds gave the same weights");
        else
            jt_test_ok("init/determinism");
        /* bounds and spread: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 32 * 9 */
        double bound = 1.0 / sqrt(32.0 * 9), mx = 0, sum = 0, sq = 0;
        const float *w = wa ? wa->data : NULL;
        for (size_t i = 0; w && i < n; i++) {
            if (fabs(w[i]) > mx) mx = fabs(w[i]);
            sum += w[i];
            sq += (double)w[i] * w[i];
        }
        double sd = sqrt(sq / n), want_sd = bound / sqrt(3.0);
        if (!w || mx > bound || mx < 0.95 * bound || fabs(sum / n) > 0.1 * bound || fabs(sd - want_sd) > 0.1 * want_sd)
            jt_test_fail("init/uniform_bounds", "max |w| %g (bound %g), mean %g, sd %g (want %g)", mx, bound, sum / n, sd,
                         want_sd);
        else
            jt_test_ok("init/uniform_bounds");
        /* different parameters draw from different counter ranges */
        const jt_value *w1 = param(a, "RRDB_trunk.0.RDB1.conv1.weight"), *w2 = param(a, "RRDB_trunk.0.RDB2.conv1.weight");
        if (!w1 || !w2 || memcmp(w1->data, w2->data, 16 * 8 * 9 * 4) == 0)
            jt_test_fail("init/distinct_params", "RDB1.conv1 and RDB2.conv1 got identical weights");
        else
            jt_test_ok("init/distinct_params");
    }
    jt_graph_free(a);
    jt_graph_free(b);
    jt_graph_free(c);
}

/* Builds, plans and runs on a batch-2 input; checks the output shape. */
static void forward_case(const char *name, const char *kv, const int64_t *want, int rank) {
    char cname[160];
    jt_test_fmt(cname, sizeof cname, "forward/%s%s%s", name, kv ? " " : "", kv ? kv : "");
    jt_model_info info;
    jt_graph *g = make_kv(name, kv, &info);
    if (!g) {
        jt_test_fail(cname, "build failed: %s", jt_ctx_error(ctx));
        return;
    }
    const jt_value *in = &g->values[g->inputs[0]];
    jt_tensor x = {.dtype = JT_F32, .rank = 4, .dims = {2, in->dims[1], in->dims[2], in->dims[3]}};
    size_t n = (size_t)(2 * in->dims[1] * in->dims[2] * in->dims[3]);
    float *buf = malloc(n * sizeof *buf);
    for (size_t i = 0; i < n; i++) buf[i] = jt_rng_uniform(7, JT_RNG_TEST, 0, i);
    x.data = buf;
    jt_plan *p = NULL;
    if (jt_plan_create(ctx, g, &x, 1, NULL, &p) != JT_OK || jt_plan_run(p, &x, 1) != JT_OK) {
        jt_test_fail(cname, "%s", jt_ctx_error(ctx));
    } else {
        const jt_tensor *y = jt_plan_output(p, 0);
        int finite = 1;
        for (int64_t i = 0; i < jt_tensor_numel(y); i++)
            if (!isfinite(((const float *)y->data)[i])) finite = 0;
        char got[128], exp[128];
        if (!jt_dims_equal(y->dims, y->rank, want, rank) || !finite)
            jt_test_fail(cname, "output %s%s, expected %s", jt_dims_str(y->dims, y->rank, got, sizeof got),
                         finite ? "" : " with non-finite values", jt_dims_str(want, rank, exp, sizeof exp));
        else
            jt_test_ok(cname);
    }
    jt_plan_free(p);
    free(buf);
    jt_graph_free(g);
}

static void config_errors_case(void) {
    jt_model_config cfg;
    int ok = jt_model_config_preset(ctx, "nope", &cfg) == JT_ERR_ARG && strstr(jt_ctx_error(ctx), "resnet18");
    jt_model_config_preset(ctx, "rrdb-s", &cfg);
    ok = ok && jt_model_config_set(ctx, &cfg, "zz=1") == JT_ERR_ARG && strstr(jt_ctx_error(ctx), "'zz'");
    ok = ok && jt_model_config_set(ctx, &cfg, "nf=-3") == JT_ERR_ARG;
    ok = ok && jt_model_config_set(ctx, &cfg, "blocks=1,2") == JT_ERR_ARG;
    ok = ok && jt_model_config_set(ctx, &cfg, "bn=train") == JT_OK && cfg.train_bn == 1;
    if (ok) jt_test_ok("config/errors");
    else jt_test_fail("config/errors", "unexpected result; last error: %s", jt_ctx_error(ctx));
}

static int run_suite(void) {
    count_case("resnet18", NULL, 11173962);
    count_case("resnet10-fm", NULL, 308538);
    count_case("resnet10-fm-w8", NULL, 77858);
    count_case("nrp3", NULL, 2161795);
    count_case("nrp3", "nb=23", 16550275);
    count_case("rrdb-m", NULL, 180609);
    count_case("rrdb-m", "c=3", 181763);
    count_case("rrdb-s", NULL, 45377);
    count_case("rrdb-s", "c=3", 45955);
    count_case("dunet", NULL, 11033984);
    count_case("dunet", "c=1", 11032704);
    count_case("apeg-g", NULL, 269059);
    count_case("apeg-g", "c=1", 264961);
    count_case("apeg-d", NULL, 373889);
    count_case("nrp-disc", NULL, 899465);
    count_case("apeg-d", "c=1 h=28 w=28", 371457);
    tap_case("resnet18", "layer3.1.bn2", 256, 8);
    tap_case("resnet10-fm", "layer3.0.bn2", 64, 7);
    tap_case("resnet10-fm-w8", "layer3.0.bn2", 32, 7);
    train_bn_case();
    init_case();
    config_errors_case();
    forward_case("resnet10-fm-w8", NULL, (const int64_t[]){2, 10}, 2);
    forward_case("resnet10-fm-w8", "bn=train", (const int64_t[]){2, 10}, 2);
    forward_case("rrdb-s", NULL, (const int64_t[]){2, 1, 28, 28}, 4);
    forward_case("dunet", "c=1 h=28 w=28", (const int64_t[]){2, 1, 28, 28}, 4); /* levels 28 14 7 4 2 */
    forward_case("apeg-g", "c=1", (const int64_t[]){2, 1, 32, 32}, 4);
    forward_case("apeg-d", NULL, (const int64_t[]){2, 1}, 2);
    forward_case("nrp-disc", "ndf=8", (const int64_t[]){2, 1}, 2);
    return jt_test_finish();
}

/* ---- dump mode ---- */

static int write_npy(const char *dir, const char *sub, const char *name, const jt_tensor *t) {
    char path[1024];
    if (sub) {
        jt_test_fmt(path, sizeof path, "%s/%s", dir, sub);
        mkdir(path, 0777);
        jt_test_fmt(path, sizeof path, "%s/%s/%s.npy", dir, sub, name);
    } else {
        jt_test_fmt(path, sizeof path, "%s/%s.npy", dir, name);
    }
    if (jt_npy_write(ctx, path, t) != JT_OK) {
        fprintf(stderr, "models_build: %s\n", jt_ctx_error(ctx));
        return 1;
    }
    return 0;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* BatchNorm layers get random statistics and affine parameters so that a wrong BN shows. */
static void randomize_bn(jt_graph *g) {
    for (int32_t v = 0; v < g->n_values; v++) {
        jt_value *val = &g->values[v];
        if (!(val->flags & JT_VALUE_STATE) || !ends_with(val->name, ".running_mean")) continue;
        char mod[512];
        jt_test_fmt(mod, sizeof mod, "%.*s", (int)(strlen(val->name) - strlen(".running_mean")), val->name);
        static const struct {
            const char *suffix;
            float lo, hi;
        } f[] = {{".running_mean", -0.2f, 0.2f}, {".running_var", 0.75f, 1.25f}, {".weight", 0.75f, 1.25f}, {".bias", -0.1f, 0.1f}};
        for (int k = 0; k < 4; k++) {
            char pn[600];
            jt_test_fmt(pn, sizeof pn, "%s%s", mod, f[k].suffix);
            int32_t id = jt_graph_find_value(g, pn);
            if (id < 0) continue;
            jt_value *p = &g->values[id];
            for (int64_t i = 0; i < p->dims[0]; i++)
                ((float *)p->data)[i] = f[k].lo + (f[k].hi - f[k].lo) * jt_rng_uniform(11, JT_RNG_TEST, (uint64_t)id, (uint64_t)i);
        }
    }
}

static int dump(const char *name, const char *dir, const char *const *kv, int nkv) {
    int64_t batch = 2;
    if (nkv > 0 && strncmp(kv[0], "batch=", 6) == 0) { /* the dump's own setting, not a model key */
        batch = atoi(kv[0] + 6);
        kv++;
        nkv--;
    }
    jt_model_info info;
    jt_graph *g = make(name, kv, nkv, &info);
    if (!g) {
        fprintf(stderr, "models_build: %s\n", jt_ctx_error(ctx));
        return 1;
    }
    randomize_bn(g);
    mkdir(dir, 0777);
    int rc = 0;
    for (int32_t v = 0; v < g->n_values && !rc; v++) {
        const jt_value *val = &g->values[v];
        if (!(val->flags & JT_VALUE_PARAM) || (val->flags & JT_VALUE_CONST)) continue;
        jt_tensor t = {.dtype = val->dtype, .rank = val->rank, .data = val->data};
        memcpy(t.dims, val->dims, sizeof t.dims);
        rc = write_npy(dir, "params", val->name, &t);
    }
    const jt_value *in = &g->values[g->inputs[0]];
    jt_tensor x = {.dtype = JT_F32, .rank = 4, .dims = {batch, in->dims[1], in->dims[2], in->dims[3]}};
    size_t n = (size_t)jt_tensor_numel(&x);
    float *buf = malloc(n * sizeof *buf);
    for (size_t i = 0; i < n; i++) buf[i] = jt_rng_uniform(5, JT_RNG_TEST, 1, i);
    x.data = buf;
    if (!rc) rc = write_npy(dir, NULL, "input", &x);
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.keep_all = 1;
    jt_plan *p = NULL;
    if (!rc && (jt_plan_create(ctx, g, &x, 1, &po, &p) != JT_OK || jt_plan_run(p, &x, 1) != JT_OK)) {
        fprintf(stderr, "models_build: %s\n", jt_ctx_error(ctx));
        rc = 1;
    }
    if (!rc) rc = write_npy(dir, NULL, "output", jt_plan_output(p, 0));
    if (!rc && info.tap >= 0) {
        const jt_tensor *t = jt_plan_value(p, info.tap);
        rc = t ? write_npy(dir, NULL, "tap", t) : 1;
    }
    for (int i = 0; i < info.n_state && !rc; i++) {
        const jt_tensor *t = jt_plan_value(p, info.state_src[i]);
        rc = t ? write_npy(dir, "state", g->values[info.state_dst[i]].name, t) : 1;
    }
    jt_plan_free(p);
    free(buf);
    jt_graph_free(g);
    return rc;
}

int main(int argc, char **argv) {
    if (jt_ctx_create(0, &ctx) != JT_OK) return 1;
    int rc;
    if (argc >= 4 && strcmp(argv[1], "--dump") == 0) {
        rc = dump(argv[2], argv[3], (const char *const *)argv + 4, argc - 4);
    } else if (argc == 1) {
        rc = run_suite();
    } else {
        fprintf(stderr, "usage: models_build [--dump NAME DIR [key=value ...]]\n");
        rc = 2;
    }
    jt_ctx_free(ctx);
    return rc;
}
