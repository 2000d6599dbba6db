/* End-to-end training and checkpoints: a tiny MLP (Gemm + Relu + Gemm + SoftmaxCrossEntropyLoss)
 * built with the builder, differentiated with jt_build_backward, stepped by jt_append_sgd (momentum,
 * weight decay, global-norm clipping, a multi-step learning-rate schedule fed at run time) in one
 * plan with parameter updates.
 *   - 50 steps: the loss decreases;
 *   - checkpoint at step 20, reload into a freshly built graph (other initial values), continue to 50:
 *     losses and every parameter and momentum buffer are bitwise identical to the uninterrupted run;
 *   - a truncated, a bit-flipped and a mismatched checkpoint fail with messages naming the problem,
 *     and leave the graph untouched. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jatp/autodiff.h"
#include "jatp/builder.h"
#include "jatp/io.h"
#include "jatp/plan.h"
#include "jatp/train.h"
#include "jt_test.h"

#define N_DATA 64
#define BATCH 16
#define D_IN 4
#define N_CLS 3
#define STEPS 50
#define CKPT_STEP 20

static jt_ctx *ctx;

static void set_shape(jt_tensor *t, jt_dtype dt, int rank, const int64_t *dims) {
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
}
static float data_x[N_DATA][D_IN];
static int64_t data_y[N_DATA];

static uint64_t lcg_state;
static double lcg(void) { /* uniform [0, 1) */
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg_state >> 11) / 9007199254740992.0;
}

static void make_data(void) {
    lcg_state = 12345;
    static const double teacher[N_CLS][D_IN] = {{1, -1, 0.5, 0}, {-0.5, 1, 1, -1}, {0, 0.3, -1, 1}};
    for (int i = 0; i < N_DATA; i++) {
        double best = -1e30;
        for (int j = 0; j < D_IN; j++) data_x[i][j] = (float)(2 * lcg() - 1);
        for (int k = 0; k < N_CLS; k++) {
            double s = 0;
            for (int j = 0; j < D_IN; j++) s += teacher[k][j] * data_x[i][j];
            if (s > best) {
                best = s;
                data_y[i] = k;
            }
        }
    }
}

typedef struct model {
    jt_graph *g;
    jt_plan *plan;
    jt_optim_state os;
    int32_t params[4];
    int hidden;
    int idx_x, idx_y; /* input positions */
} model;

static void model_free(model *m) {
    jt_plan_free(m->plan);
    jt_graph_free(m->g);
    memset(m, 0, sizeof *m);
}

/* Builds forward + loss + backward + SGD; parameters drawn from seed. */
static jt_status model_build(model *m, int hidden, uint64_t seed) {
    memset(m, 0, sizeof *m);
    m->hidden = hidden;
    JT_TRY(jt_graph_create(ctx, "mlp", &m->g));
    jt_gb b;
    jt_gb_init(&b, ctx, m->g, 17);
    lcg_state = seed;
    float w1[D_IN * 64], b1[64], w2[64 * N_CLS], b2[N_CLS];
    for (int i = 0; i < D_IN * hidden; i++) w1[i] = (float)((2 * lcg() - 1) * 0.5);
    for (int i = 0; i < hidden; i++) b1[i] = (float)((2 * lcg() - 1) * 0.1);
    for (int i = 0; i < hidden * N_CLS; i++) w2[i] = (float)((2 * lcg() - 1) * 0.5);
    for (int i = 0; i < N_CLS; i++) b2[i] = 0;
    int32_t x = jt_gb_input(&b, "x", JT_F32, 2, (const int64_t[]){BATCH, D_IN});
    int32_t y = jt_gb_input(&b, "y", JT_I64, 1, (const int64_t[]){BATCH});
    m->params[0] = jt_gb_param(&b, "fc1.weight", JT_F32, 2, (const int64_t[]){D_IN, hidden}, w1);
    m->params[1] = jt_gb_param(&b, "fc1.bias", JT_F32, 1, (const int64_t[]){hidden}, b1);
    m->params[2] = jt_gb_param(&b, "fc2.weight", JT_F32, 2, (const int64_t[]){hidden, N_CLS}, w2);
    m->params[3] = jt_gb_param(&b, "fc2.bias", JT_F32, 1, (const int64_t[]){N_CLS}, b2);
    int32_t h = jt_gb_op(&b, "Gemm", "", "fc1", (const int32_t[]){x, m->params[0], m->params[1]}, 3);
    h = jt_gb_op(&b, "Relu", "", "relu", &h, 1);
    int32_t z = jt_gb_op(&b, "Gemm", "", "fc2", (const int32_t[]){h, m->params[2], m->params[3]}, 3);
    jt_gb_attr_string(&b, "reduction", "mean");
    int32_t loss = jt_gb_op(&b, "SoftmaxCrossEntropyLoss", "", "loss", (const int32_t[]){z, y}, 2);
    jt_gb_output(&b, loss);
    JT_TRY(jt_gb_status(&b));
    int32_t grads[4];
    JT_TRY(jt_build_backward(ctx, m->g, &loss, NULL, 1, m->params, 4, grads));
    jt_sgd_config cfg;
    jt_sgd_config_default(&cfg);
    cfg.momentum = 0.9;
    cfg.weight_decay = 5e-4;
    cfg.clip_norm = 1.0;
    JT_TRY(jt_append_sgd(ctx, m->g, m->params, grads, 4, &cfg, &m->os));
    JT_TRY(jt_graph_add_output(ctx, m->g, m->os.grad_norm));
    m->idx_x = m->idx_y = -1;
    for (int i = 0; i < m->g->n_inputs; i++) {
        if (m->g->inputs[i] == x) m->idx_x = i;
        if (m->g->inputs[i] == y) m->idx_y = i;
    }
    jt_tensor in[4];
    memset(in, 0, sizeof in);
    set_shape(&in[m->idx_x], JT_F32, 2, (const int64_t[]){BATCH, D_IN});
    set_shape(&in[m->idx_y], JT_I64, 1, (const int64_t[]){BATCH});
    set_shape(&in[m->os.lr_input_index], JT_F64, 0, NULL);
    set_shape(&in[m->os.step_input_index], JT_F64, 0, NULL);
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.fold_params = 0;
    po.fold_int_inputs = 0;
    po.update_dst = m->os.update_dst;
    po.update_src = m->os.update_src;
    po.n_updates = m->os.n_updates;
    return jt_plan_create(ctx, m->g, in, m->g->n_inputs, &po, &m->plan);
}

static double lr_at(int64_t step) { /* epoch = 10 steps; x0.1 from epoch 3 (step 31 on) */
    return jt_lr_multistep(0.5, step / 10, (const int64_t[]){3}, 1, 0.1);
}

/* Runs steps [from, to) (0-based step index s: the optimizer's step number is s + 1). */
static jt_status train(model *m, int from, int to, double *losses) {
    float xb[BATCH][D_IN];
    int64_t yb[BATCH];
    double lr, step;
    jt_tensor in[4];
    memset(in, 0, sizeof in);
    set_shape(&in[m->idx_x], JT_F32, 2, (const int64_t[]){BATCH, D_IN});
    set_shape(&in[m->idx_y], JT_I64, 1, (const int64_t[]){BATCH});
    set_shape(&in[m->os.lr_input_index], JT_F64, 0, NULL);
    set_shape(&in[m->os.step_input_index], JT_F64, 0, NULL);
    in[m->idx_x].data = xb;
    in[m->idx_y].data = yb;
    in[m->os.lr_input_index].data = &lr;
    in[m->os.step_input_index].data = &step;
    for (int s = from; s < to; s++) {
        int pos = (s * BATCH) % N_DATA; /* data position */
        memcpy(xb, data_x[pos], sizeof xb);
        memcpy(yb, &data_y[pos], sizeof yb);
        lr = lr_at(s);
        step = s + 1;
        JT_TRY(jt_plan_run(m->plan, in, m->g->n_inputs));
        losses[s] = *(const float *)jt_plan_output(m->plan, 0)->data;
    }
    return JT_OK;
}

/* Bytes of every parameter and state value, concatenated in graph order. */
static size_t snapshot(const jt_graph *g, unsigned char *out, size_t cap) {
    size_t n = 0;
    for (int32_t v = 0; v < g->n_values; v++) {
        const jt_value *val = &g->values[v];
        if (!(val->flags & JT_VALUE_PARAM) || (val->flags & JT_VALUE_CONST)) continue;
        size_t k = jt_dtype_size(val->dtype);
        for (int d = 0; d < val->rank; d++) k *= (size_t)val->dims[d];
        if (n + k <= cap) memcpy(out + n, val->data, k);
        n += k;
    }
    return n;
}

static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static void expect_load_error(const char *test, const char *path, model *m, const char *want1, const char *want2) {
    static unsigned char before[1 << 16], after[1 << 16];
    size_t n = snapshot(m->g, before, sizeof before);
    jt_status st = jt_checkpoint_load(ctx, path, m->g, NULL);
    snapshot(m->g, after, sizeof after);
    const char *e = jt_ctx_error(ctx);
    if (st == JT_OK) jt_test_fail(test, "loaded without error");
    else if (!strstr(e, path) || !strstr(e, want1) || (want2 && !strstr(e, want2)))
        jt_test_fail(test, "message lacks '%s'%s%s%s: %s", want1, want2 ? " / '" : "", want2 ? want2 : "",
                     want2 ? "'" : "", e);
    else if (memcmp(before, after, n) != 0)
        jt_test_fail(test, "a failed load modified the graph");
    else {
        jt_test_ok(test);
        jt_test_note("%s", e);
    }
}

int main(void) {
    if (jt_ctx_create(2, &ctx) != JT_OK) return 1;
    make_data();
    char dir[] = "/tmp/jatp_train_XXXXXX";
    if (!mkdtemp(dir)) {
        jt_test_fail("train/setup", "mkdtemp failed");
        return jt_test_finish();
    }
    char ckpt[256], bad[256];
    jt_test_fmt(ckpt, sizeof ckpt, "%s/step20.ckpt", dir);
    jt_test_fmt(bad, sizeof bad, "%s/bad.ckpt", dir);

    /* uninterrupted run */
    model a, b;
    double loss_a[STEPS], loss_b[STEPS];
    static unsigned char snap_a[1 << 16], snap_b[1 << 16];
    size_t n_a = 0;
    if (model_build(&a, 8, 1) != JT_OK || train(&a, 0, STEPS, loss_a) != JT_OK) {
        jt_test_fail("train/mlp_loss_decreases", "%s", jt_ctx_error(ctx));
        jt_ctx_free(ctx);
        return jt_test_finish();
    }
    n_a = snapshot(a.g, snap_a, sizeof snap_a);
    double first = 0, last = 0;
    for (int s = 0; s < 4; s++) first += loss_a[s] / 4; /* one pass over the data */
    for (int s = STEPS - 4; s < STEPS; s++) last += loss_a[s] / 4;
    if (!(last < 0.6 * first) || !isfinite(last))
        jt_test_fail("train/mlp_loss_decreases", "mean loss %.4f over the first epoch, %.4f over the last", first, last);
    else {
        jt_test_ok("train/mlp_loss_decreases");
        jt_test_note("mean loss %.4f -> %.4f", first, last);
    }
    model_free(&a);

    /* interrupted at step 20, checkpointed, resumed in a fresh graph */
    const char *cfg = "{\"optimizer\": \"sgd\", \"lr\": 0.5, \"momentum\": 0.9}";
    jt_train_meta meta = {.step = CKPT_STEP, .epoch = CKPT_STEP / 10, .data_pos = (CKPT_STEP * BATCH) % N_DATA,
                          .seed = 1234, .n_rng = 2, .rng = {CKPT_STEP, 77}, .config = cfg};
    if (model_build(&b, 8, 1) != JT_OK || train(&b, 0, CKPT_STEP, loss_b) != JT_OK ||
        jt_checkpoint_save(ctx, ckpt, b.g, &meta) != JT_OK) {
        jt_test_fail("train/checkpoint_resume", "%s", jt_ctx_error(ctx));
        jt_ctx_free(ctx);
        return jt_test_finish();
    }
    model_free(&b);
    jt_train_meta got;
    if (model_build(&b, 8, 99) != JT_OK || jt_checkpoint_load(ctx, ckpt, b.g, &got) != JT_OK) {
        jt_test_fail("train/checkpoint_resume", "%s", jt_ctx_error(ctx));
    } else if (got.step != CKPT_STEP || got.epoch != meta.epoch || got.data_pos != meta.data_pos || got.seed != 1234 ||
               got.n_rng != 2 || got.rng[0] != CKPT_STEP || got.rng[1] != 77 || !got.config ||
               strcmp(got.config, cfg) != 0 || got.config_len != strlen(cfg)) {
        jt_test_fail("train/checkpoint_meta", "metadata differs after reload (step %lld, config '%s')",
                     (long long)got.step, got.config ? got.config : "(null)");
    } else {
        jt_test_ok("train/checkpoint_meta");
        if (train(&b, (int)got.step, STEPS, loss_b) != JT_OK) {
            jt_test_fail("train/checkpoint_resume", "%s", jt_ctx_error(ctx));
        } else {
            size_t n_b = snapshot(b.g, snap_b, sizeof snap_b);
            int s_bad = -1;
            for (int s = 0; s < STEPS; s++)
                if (memcmp(&loss_a[s], &loss_b[s], sizeof(double)) != 0 && s_bad < 0) s_bad = s;
            if (n_a != n_b || n_a > sizeof snap_a || memcmp(snap_a, snap_b, n_a) != 0)
                jt_test_fail("train/checkpoint_resume", "parameters after step %d differ from the uninterrupted run",
                             STEPS);
            else if (s_bad >= 0)
                jt_test_fail("train/checkpoint_resume", "loss at step %d: %.9g vs %.9g uninterrupted", s_bad + 1,
                             loss_b[s_bad], loss_a[s_bad]);
            else
                jt_test_ok("train/checkpoint_resume");
        }
    }
    jt_train_meta_free(&got);

    /* damaged and mismatched checkpoints */
    void *raw = NULL;
    size_t size = 0;
    if (jt_read_file(ctx, ckpt, (size_t)1 << 30, &raw, &size) != JT_OK) {
        jt_test_fail("train/checkpoint_truncated", "%s", jt_ctx_error(ctx));
    } else {
        unsigned char *c = raw;
        if (write_bytes(bad, c, size / 2)) expect_load_error("train/checkpoint_truncated", bad, &b, "truncated", "ends inside record");
        else jt_test_fail("train/checkpoint_truncated", "cannot write %s", bad);
        if (write_bytes(bad, c, size - 3)) expect_load_error("train/checkpoint_truncated_tail", bad, &b, "truncated", NULL);
        else jt_test_fail("train/checkpoint_truncated_tail", "cannot write %s", bad);
        c[size - 30] ^= 0x10; /* inside the last record's data (fc2.bias/momentum) */
        if (write_bytes(bad, c, size)) expect_load_error("train/checkpoint_bitflip", bad, &b, "CRC32", "fc2.bias");
        else jt_test_fail("train/checkpoint_bitflip", "cannot write %s", bad);
        c[size - 30] ^= 0x10;
        c[10] ^= 0x01; /* the header's version field */
        if (write_bytes(bad, c, size)) expect_load_error("train/checkpoint_bad_version", bad, &b, "version", NULL);
        c[10] ^= 0x01;
        free(raw);
    }
    model c;
    if (model_build(&c, 6, 1) != JT_OK) {
        jt_test_fail("train/checkpoint_mismatch", "%s", jt_ctx_error(ctx));
    } else {
        expect_load_error("train/checkpoint_mismatch", ckpt, &c, "'fc1.weight' is float32 [4,8] in the checkpoint but "
                          "float32 [4,6] in the graph", "fc2.weight/momentum");
    }
    model_free(&c);
    model_free(&b);
    unlink(ckpt);
    unlink(bad);
    rmdir(dir);
    jt_ctx_free(ctx);
    return jt_test_finish();
}
