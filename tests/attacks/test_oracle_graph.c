/* The graph oracle against closed-form references: a linear model and a tanh MLP built as graphs
 * (Flatten, Gemm, Tanh) must give the logits, every loss, its input gradient, the feature tap and the
 * feature-distance gradients of toy_oracle.c (double arithmetic) within float32 tolerance; results
 * must not depend on the batch bucket; BPDA must be wired as specified (docs/attacks.md section 9):
 * with P = identity the BPDA and full gradients agree bitwise, with P = a fixed 3x3 blur the full
 * gradient equals blur^T applied to the BPDA gradient (the blur is linear). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/attack.h"
#include "jatp/builder.h"
#include "jt_test.h"
#include "toy_oracle.h"

static uint64_t lcg = 777;
static double rnd(void) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) * (1.0 / 9007199254740992.0);
}

#define C_ 2
#define H_ 5
#define W_ 5
#define D_ (C_ * H_ * W_)
#define K_ 6
#define HID 12

/* H = 0: z = W2 flatten(x) + b2; else z = W2 tanh(W1 x + b1) + b2 with the tanh node named "hidden". */
static jt_graph *build_mlp(jt_ctx *ctx, int H, const double *W1, const double *b1, const double *W2, const double *b2) {
    jt_graph *g;
    if (jt_graph_create(ctx, "toy-graph", &g) != JT_OK) return NULL;
    g->opset_onnx = 17;
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int32_t x = jt_gb_input(&b, "x", JT_F32, 4, (int64_t[]){-1, C_, H_, W_});
    jt_gb_attr_int(&b, "axis", 1);
    int32_t f = jt_gb_op(&b, "Flatten", "", "flatten", (int32_t[]){x}, 1);
    float w1[HID * D_], bb1[HID], w2[K_ * (D_ > HID ? D_ : HID)], bb2[K_];
    int64_t in = H ? H : D_;
    if (H) {
        for (int i = 0; i < H * D_; i++) w1[i] = (float)W1[i];
        for (int i = 0; i < H; i++) bb1[i] = (float)b1[i];
        int32_t pw = jt_gb_param(&b, "W1", JT_F32, 2, (int64_t[]){H, D_}, w1);
        int32_t pb = jt_gb_param(&b, "b1", JT_F32, 1, (int64_t[]){H}, bb1);
        jt_gb_attr_int(&b, "transB", 1);
        int32_t a = jt_gb_op(&b, "Gemm", "", "fc1", (int32_t[]){f, pw, pb}, 3);
        f = jt_gb_op(&b, "Tanh", "", "hidden", (int32_t[]){a}, 1);
    }
    for (int i = 0; i < K_ * in; i++) w2[i] = (float)W2[i];
    for (int i = 0; i < K_; i++) bb2[i] = (float)b2[i];
    int32_t pw = jt_gb_param(&b, "W2", JT_F32, 2, (int64_t[]){K_, in}, w2);
    int32_t pb = jt_gb_param(&b, "b2", JT_F32, 1, (int64_t[]){K_}, bb2);
    jt_gb_attr_int(&b, "transB", 1);
    int32_t z = jt_gb_op(&b, "Gemm", "", "fc2", (int32_t[]){f, pw, pb}, 3);
    jt_gb_output(&b, z);
    if (jt_gb_status(&b) != JT_OK) {
        jt_graph_free(g);
        return NULL;
    }
    return g;
}

/* The toy oracle computes in double from float-rounded weights: round them the same way. */
static void fill(double *v, int n, double scale) {
    for (int i = 0; i < n; i++) v[i] = (double)(float)(scale * (2 * rnd() - 1));
}

static double rel_err(const float *a, const float *b, int n) {
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return sqrt(num) / (sqrt(den) + 1e-30);
}

static void compare_oracles(jt_ctx *ctx, const char *tag, jt_oracle *go, jt_oracle *to, int with_feat) {
    int n = 9;
    float x[9 * D_], ga[9 * D_], gb[9 * D_], la[9], lb[9], za[9 * K_], zb[9 * K_];
    int64_t y[9], t[9];
    for (int i = 0; i < n * D_; i++) x[i] = (float)rnd();
    for (int i = 0; i < n; i++) {
        y[i] = (int64_t)(rnd() * K_);
        t[i] = (y[i] + 1 + (int64_t)(rnd() * (K_ - 1))) % K_;
    }
    char name[96];
    for (int k = 0; k < JT_LOSS_COUNT; k++) {
        snprintf(name, sizeof name, "oracle_graph/%s/loss_grad/%s", tag, jt_attack_loss_name((jt_attack_loss)k));
        if (jt_oracle_loss_grad(go, x, y, t, n, (jt_attack_loss)k, la, ga, za) != JT_OK ||
            jt_oracle_loss_grad(to, x, y, t, n, (jt_attack_loss)k, lb, gb, zb) != JT_OK) {
            jt_test_fail(name, "%s", jt_ctx_error(ctx));
            continue;
        }
        double ez = rel_err(za, zb, n * K_), el = rel_err(la, lb, n), eg = rel_err(ga, gb, n * D_);
        if (ez < 1e-6 && el < 1e-5 && eg < 1e-5) jt_test_ok(name);
        else jt_test_fail(name, "relative errors: logits %.3g, loss %.3g, grad %.3g", ez, el, eg);
    }
    if (!with_feat) return;
    float fa[9 * HID], fb[9 * HID], ref[9 * HID];
    snprintf(name, sizeof name, "oracle_graph/%s/features", tag);
    if (jt_oracle_features(go, x, n, fa) != JT_OK || jt_oracle_features(to, x, n, fb) != JT_OK) {
        jt_test_fail(name, "%s", jt_ctx_error(ctx));
        return;
    }
    if (go->feat_dim == HID && rel_err(fa, fb, n * HID) < 1e-6) jt_test_ok(name);
    else jt_test_fail(name, "feat_dim %lld, relative error %.3g", (long long)go->feat_dim, rel_err(fa, fb, n * HID));
    for (int i = 0; i < n * HID; i++) ref[i] = fb[i] + (float)(0.3 * (2 * rnd() - 1));
    for (int dist = 0; dist < 2; dist++) {
        snprintf(name, sizeof name, "oracle_graph/%s/feat_grad/%s", tag, dist ? "cos" : "l2");
        if (jt_oracle_feat_grad(go, x, ref, n, (jt_feat_dist)dist, la, ga) != JT_OK ||
            jt_oracle_feat_grad(to, x, ref, n, (jt_feat_dist)dist, lb, gb) != JT_OK) {
            jt_test_fail(name, "%s", jt_ctx_error(ctx));
            continue;
        }
        double el = rel_err(la, lb, n), eg = rel_err(ga, gb, n * D_);
        if (el < 1e-5 && eg < 1e-4) jt_test_ok(name);
        else jt_test_fail(name, "relative errors: loss %.3g, grad %.3g", el, eg);
    }
}

/* Per-example results are bitwise independent of the batch bucket (1, 7 padded to 8, 9 > max 8). */
static void test_buckets(jt_ctx *ctx, jt_oracle *go) {
    int n = 9;
    float x[9 * D_], g1[9 * D_], g2[9 * D_], z1[9 * K_], z2[9 * K_];
    int64_t y[9];
    for (int i = 0; i < n * D_; i++) x[i] = (float)rnd();
    for (int i = 0; i < n; i++) y[i] = i % K_;
    jt_status st = jt_oracle_loss_grad(go, x, y, NULL, n, JT_LOSS_CE, NULL, g1, z1);
    for (int i = 0; st == JT_OK && i < n; i++)
        st = jt_oracle_loss_grad(go, x + i * D_, y + i, NULL, 1, JT_LOSS_CE, NULL, g2 + i * D_, z2 + i * K_);
    if (st != JT_OK) jt_test_fail("oracle_graph/batch_buckets_bitwise", "%s", jt_ctx_error(ctx));
    else if (memcmp(g1, g2, sizeof g1) || memcmp(z1, z2, sizeof z1))
        jt_test_fail("oracle_graph/batch_buckets_bitwise", "batch 9 and batch 1 results differ");
    else jt_test_ok("oracle_graph/batch_buckets_bitwise");
}

/* P: depthwise 3x3 blur (Conv, group = C, zero padding 1) with fixed weights k[9]. */
static const float blur_k[9] = {0.05f, 0.1f, 0.05f, 0.1f, 0.4f, 0.1f, 0.05f, 0.1f, 0.05f};

static jt_graph *build_defense(jt_ctx *ctx, int blur) {
    jt_graph *g;
    if (jt_graph_create(ctx, blur ? "blur" : "identity", &g) != JT_OK) return NULL;
    g->opset_onnx = 17;
    jt_gb b;
    jt_gb_init(&b, ctx, g, 17);
    int32_t x = jt_gb_input(&b, "x", JT_F32, 4, (int64_t[]){-1, C_, H_, W_}), y;
    if (blur) {
        float w[C_ * 9];
        for (int c = 0; c < C_; c++) memcpy(w + c * 9, blur_k, sizeof blur_k);
        int32_t pw = jt_gb_param(&b, "k", JT_F32, 4, (int64_t[]){C_, 1, 3, 3}, w);
        jt_gb_attr_int(&b, "group", C_);
        jt_gb_attr_ints(&b, "pads", (int64_t[]){1, 1, 1, 1}, 4);
        y = jt_gb_op(&b, "Conv", "", "blur", (int32_t[]){x, pw}, 2);
    } else {
        y = jt_gb_op(&b, "Identity", "", "id", (int32_t[]){x}, 1);
    }
    jt_gb_output(&b, y);
    if (jt_gb_status(&b) != JT_OK) {
        jt_graph_free(g);
        return NULL;
    }
    return g;
}

/* out = blur^T(g) per channel: the adjoint of a zero-padded correlation with k is the correlation with
 * the flipped kernel; the kernel is symmetric, so it is the blur itself. */
static void blur_adjoint(const float *g, float *out, int n) {
    for (int i = 0; i < n * C_; i++)
        for (int r = 0; r < H_; r++)
            for (int c = 0; c < W_; c++) {
                double s = 0;
                for (int a = -1; a <= 1; a++)
                    for (int b = -1; b <= 1; b++) {
                        int rr = r + a, cc = c + b;
                        if (rr < 0 || rr >= H_ || cc < 0 || cc >= W_) continue;
                        s += (double)blur_k[(1 - a) * 3 + (1 - b)] * g[(i * H_ + rr) * W_ + cc];
                    }
                out[(i * H_ + r) * W_ + c] = (float)s;
            }
}

static void test_bpda(jt_ctx *ctx, jt_graph *T) {
    int n = 5;
    float x[5 * D_], gf[5 * D_], gb[5 * D_], adj[5 * D_];
    int64_t y[5] = {0, 1, 2, 3, 4};
    for (int i = 0; i < n * D_; i++) x[i] = (float)rnd();
    for (int blur = 0; blur < 2; blur++) {
        jt_graph *P = build_defense(ctx, blur);
        jt_graph_oracle_config cf, cb;
        jt_graph_oracle_config_default(&cf);
        cf.max_batch = 8;
        cb = cf;
        cb.bpda = 1;
        jt_oracle *full = NULL, *bpda = NULL;
        const char *name = blur ? "bpda/blur_adjoint" : "bpda/identity_bitwise";
        if (!P || jt_graph_oracle_create(ctx, T, P, C_, H_, W_, &cf, &full) != JT_OK ||
            jt_graph_oracle_create(ctx, T, P, C_, H_, W_, &cb, &bpda) != JT_OK ||
            jt_oracle_loss_grad(full, x, y, NULL, n, JT_LOSS_CE, NULL, gf, NULL) != JT_OK ||
            jt_oracle_loss_grad(bpda, x, y, NULL, n, JT_LOSS_CE, NULL, gb, NULL) != JT_OK) {
            jt_test_fail(name, "%s", jt_ctx_error(ctx));
        } else if (!blur) {
            if (memcmp(gf, gb, sizeof gf) == 0) jt_test_ok(name);
            else jt_test_fail(name, "BPDA through an identity defense differs from the full gradient");
        } else {
            blur_adjoint(gb, adj, n);
            double e_adj = rel_err(gf, adj, n * D_), e_raw = rel_err(gf, gb, n * D_);
            if (e_adj < 1e-5 && e_raw > 1e-2) jt_test_ok(name);
            else jt_test_fail(name, "full vs blur^T(bpda) %.3g (want < 1e-5), full vs bpda %.3g (want > 1e-2)", e_adj, e_raw);
        }
        /* the same attack through both oracles: identical for the identity defense */
        if (!blur && full && bpda) {
            jt_attack_config c1, c2;
            jt_attack_preset(ctx, "pgd", JT_IMAGES_CIFAR, &c1);
            jt_attack_preset(ctx, "pgd-bpda", JT_IMAGES_CIFAR, &c2);
            c1.steps = c2.steps = 5;
            float a1[5 * D_], a2[5 * D_];
            jt_attack_io io1 = {.n = n, .x = x, .y = y, .x_adv = a1}, io2 = {.n = n, .x = x, .y = y, .x_adv = a2};
            if (jt_attack_run(full, &c1, &io1) == JT_OK && jt_attack_run(bpda, &c2, &io2) == JT_OK &&
                memcmp(a1, a2, sizeof a1) == 0)
                jt_test_ok("bpda/identity_pgd_equals_pgd_bpda");
            else jt_test_fail("bpda/identity_pgd_equals_pgd_bpda", "results differ or failed: %s", jt_ctx_error(ctx));
        }
        jt_oracle_free(full);
        jt_oracle_free(bpda);
        jt_graph_free(P);
    }
}

static void test_errors(jt_ctx *ctx, jt_graph *T) {
    jt_graph_oracle_config c;
    jt_graph_oracle_config_default(&c);
    c.tap = "no_such_layer";
    jt_oracle *o = NULL;
    if (jt_graph_oracle_create(ctx, T, NULL, C_, H_, W_, &c, &o) != JT_OK && strstr(jt_ctx_error(ctx), "no_such_layer"))
        jt_test_ok("oracle_graph/unknown_tap_named");
    else jt_test_fail("oracle_graph/unknown_tap_named", "message: %s", jt_ctx_error(ctx));
    jt_oracle_free(o);
    o = NULL;
    jt_graph_oracle_config_default(&c);
    c.bpda = 1;
    if (jt_graph_oracle_create(ctx, T, NULL, C_, H_, W_, &c, &o) != JT_OK && strstr(jt_ctx_error(ctx), "BPDA"))
        jt_test_ok("oracle_graph/bpda_without_defense");
    else jt_test_fail("oracle_graph/bpda_without_defense", "message: %s", jt_ctx_error(ctx));
    jt_oracle_free(o);
}

/* jt_graph_oracle_set_params: after copying another model's weights in, the oracle computes that
 * model (plans rebuilt), for the logits and the gradients. */
static void test_set_params(jt_ctx *ctx) {
    static double W1[HID * D_], b1[HID], W2[K_ * HID], b2[K_], V1[HID * D_], c1[HID], V2[K_ * HID], c2[K_];
    fill(W1, HID * D_, 0.5), fill(b1, HID, 0.5), fill(W2, K_ * HID, 0.5), fill(b2, K_, 0.2);
    fill(V1, HID * D_, 0.5), fill(c1, HID, 0.5), fill(V2, K_ * HID, 0.5), fill(c2, K_, 0.2);
    jt_graph *T1 = build_mlp(ctx, HID, W1, b1, W2, b2), *T2 = build_mlp(ctx, HID, V1, c1, V2, c2);
    jt_oracle *go = NULL, *ref = NULL;
    jt_graph_oracle_config c;
    jt_graph_oracle_config_default(&c);
    c.max_batch = 4;
    float x[3 * D_], za[3 * K_], zb[3 * K_], ga[3 * D_], gb[3 * D_];
    int64_t y[3] = {0, 1, 2};
    for (int i = 0; i < 3 * D_; i++) x[i] = (float)rnd();
    jt_status st = jt_graph_oracle_create(ctx, T1, NULL, C_, H_, W_, &c, &go);
    if (st == JT_OK) st = jt_oracle_loss_grad(go, x, y, NULL, 3, JT_LOSS_CE, NULL, ga, za); /* builds T1's plans */
    if (st == JT_OK) st = jt_graph_oracle_set_params(go, T2, NULL, "");
    if (st == JT_OK) st = jt_oracle_loss_grad(go, x, y, NULL, 3, JT_LOSS_CE, NULL, ga, za);
    if (st == JT_OK) st = toy_mlp_create(ctx, C_, H_, W_, HID, K_, V1, c1, V2, c2, 4, &ref);
    if (st == JT_OK) st = jt_oracle_loss_grad(ref, x, y, NULL, 3, JT_LOSS_CE, NULL, gb, zb);
    if (st != JT_OK) jt_test_fail("oracle_graph/set_params", "%s", jt_ctx_error(ctx));
    else if (rel_err(za, zb, 3 * K_) < 1e-6 && rel_err(ga, gb, 3 * D_) < 1e-5) jt_test_ok("oracle_graph/set_params");
    else jt_test_fail("oracle_graph/set_params", "logits %.3g grad %.3g", rel_err(za, zb, 3 * K_), rel_err(ga, gb, 3 * D_));
    if (go && jt_graph_oracle_set_params(go, T2, "no/", NULL) != JT_OK && strstr(jt_ctx_error(ctx), "no parameter"))
        jt_test_ok("oracle_graph/set_params_nothing_matched");
    else jt_test_fail("oracle_graph/set_params_nothing_matched", "no error");
    jt_oracle_free(go);
    jt_oracle_free(ref);
    jt_graph_free(T1);
    jt_graph_free(T2);
}

int main(void) {
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(1, &ctx) != JT_OK) return 1;
    static double W1[HID * D_], b1[HID], W2[K_ * D_], b2[K_];
    for (int H = 0; H <= HID; H += HID) {
        fill(W1, HID * D_, 0.5);
        fill(b1, HID, 0.5);
        fill(W2, K_ * (H ? H : D_), 0.5);
        fill(b2, K_, 0.2);
        jt_graph *T = build_mlp(ctx, H, W1, b1, W2, b2);
        jt_oracle *go = NULL, *to = NULL;
        jt_graph_oracle_config c;
        jt_graph_oracle_config_default(&c);
        c.max_batch = 8;
        c.tap = H ? "hidden" : NULL;
        const char *tag = H ? "mlp" : "linear";
        if (!T || jt_graph_oracle_create(ctx, T, NULL, C_, H_, W_, &c, &go) != JT_OK) {
            jt_test_fail("oracle_graph/create", "%s: %s", tag, jt_ctx_error(ctx));
        } else {
            if (H) toy_mlp_create(ctx, C_, H_, W_, H, K_, W1, b1, W2, b2, 8, &to);
            else toy_linear_create(ctx, C_, H_, W_, K_, W2, b2, 8, &to);
            if (go->n_classes == K_) jt_test_ok(H ? "oracle_graph/mlp/classes" : "oracle_graph/linear/classes");
            else jt_test_fail(H ? "oracle_graph/mlp/classes" : "oracle_graph/linear/classes", "K = %lld", (long long)go->n_classes);
            compare_oracles(ctx, tag, go, to, H != 0);
            if (H) {
                test_buckets(ctx, go);
                test_bpda(ctx, T);
                test_errors(ctx, T);
            }
        }
        jt_oracle_free(go);
        jt_oracle_free(to);
        jt_graph_free(T);
    }
    test_set_params(ctx);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
