/* The graph oracle: F = T∘P behind the jt_oracle interface, on any backend.
 *
 * One graph per purpose, each built once from deep copies of P and T (names "P/", "T/", "S/" for a
 * BPDA surrogate), all parameters frozen:
 *   LOGITS  x -> z
 *   GRAD    x, y, t, kind -> loss = AttackLoss(z, y, t, kind) [N], z, dL/dx with L = sum(loss)
 *   FEAT    x -> tap
 *   FGRAD   x, ref -> dist(tap, ref) [N], d(sum dist)/dx   (one graph per distance)
 *   PRE     x -> P(x)
 * With BPDA the T input is StraightThrough(P(x), a) with a = x or a = S(x): the forward value is P(x),
 * the backward goes to x directly (or through the surrogate S).
 * Plans are built on first use per batch bucket (powers of two up to max_batch, and max_batch itself);
 * a call with n examples runs the smallest bucket >= n with the rest padded (zeros, label 0, target 1)
 * and ignored. Per-example results do not depend on the padding: every op here is per-example in
 * inference mode. */
#include <stdio.h>

#include "attack_internal.h"
#include "jatp/autodiff.h"
#include "jatp/builder.h"
#include "jatp/compose.h"
#include "jatp/losses.h"
#include "jatp/plan.h"

enum { G_LOGITS = 0, G_GRAD, G_FEAT, G_FGRAD_L2, G_FGRAD_COS, G_PRE, G_COUNT };
#define MAX_BUCKETS 24

typedef struct go_graph {
    jt_graph *g;                  /* NULL until built */
    jt_plan *plans[MAX_BUCKETS];
} go_graph;

typedef struct go_impl {
    jt_graph *T, *P, *S;          /* private copies */
    jt_graph_oracle_config cfg;
    char *tap;
    int tap_rank;                 /* the tap's planned shape (dims[0] symbolic), from the FEAT plan */
    int64_t tap_dims[JT_MAX_RANK];
    go_graph graphs[G_COUNT];
    int n_buckets;
    int bucket_size[MAX_BUCKETS];
    /* host staging for padded calls (max_batch examples) */
    float *xs, *refs;
    int64_t *ys, *ts;
} go_impl;

/* ---- graph construction ---- */

static jt_status copy_graph(jt_ctx *ctx, const jt_graph *src, jt_graph **out) {
    jt_graph *g;
    JT_TRY(jt_graph_create(ctx, src->source, &g));
    g->opset_onnx = src->opset_onnx;
    int32_t *map = malloc(sizeof(int32_t) * (size_t)(src->n_values + 1));
    if (!map) {
        jt_graph_free(g);
        return jt_fail(ctx, JT_ERR_OOM, "attack oracle: out of memory");
    }
    jt_status st = jt_graph_append(ctx, g, src, "", NULL, map);
    for (int i = 0; st == JT_OK && i < src->n_outputs; i++) st = jt_graph_add_output(ctx, g, map[src->outputs[i]]);
    free(map);
    if (st != JT_OK) {
        jt_graph_free(g);
        return st;
    }
    *out = g;
    return JT_OK;
}

/* x -> (P) -> [StraightThrough] -> T. Returns the graph with input x and fills logits and the tap. */
static jt_status build_forward(jt_ctx *ctx, go_impl *m, int with_tap, jt_graph **out, int32_t *x, int32_t *logits,
                               int32_t *tap, int32_t *p_out) {
    jt_graph *g;
    JT_TRY(jt_graph_create(ctx, m->T->source, &g));
    g->opset_onnx = m->T->opset_onnx > 0 ? m->T->opset_onnx : 17;
    jt_status st = JT_OK;
    int n_map = m->T->n_values;
    if (m->P && m->P->n_values > n_map) n_map = m->P->n_values;
    if (m->S && m->S->n_values > n_map) n_map = m->S->n_values;
    int32_t *map = malloc(sizeof(int32_t) * (size_t)(n_map + 1));
    if (!map) st = jt_fail(ctx, JT_ERR_OOM, "attack oracle: out of memory");
    int32_t in = -1, u = -1;
    if (st == JT_OK && m->P) {
        st = jt_graph_append(ctx, g, m->P, "P/", NULL, map);
        if (st == JT_OK) {
            in = map[m->P->inputs[0]];
            u = map[m->P->outputs[0]];
        }
    }
    if (st == JT_OK && m->P && m->cfg.bpda) {
        int32_t a = in;
        if (m->S) {
            st = jt_graph_append(ctx, g, m->S, "S/", &in, map);
            if (st == JT_OK) a = map[m->S->outputs[0]];
        }
        if (st == JT_OK) {
            jt_gb b;
            jt_gb_init(&b, ctx, g, g->opset_onnx);
            u = jt_gb_op(&b, "StraightThrough", "jatp", "bpda/StraightThrough", (int32_t[]){u, a}, 2);
            st = jt_gb_status(&b);
        }
    }
    if (st == JT_OK) st = jt_graph_append(ctx, g, m->T, "T/", m->P ? &u : NULL, map);
    if (st == JT_OK) {
        if (!m->P) in = map[m->T->inputs[0]];
        *logits = map[m->T->outputs[0]];
        *tap = -1;
        if (with_tap) st = jt_graph_find_tap(ctx, g, m->tap, tap);
    }
    if (st == JT_OK) {
        for (int32_t v = 0; v < g->n_values; v++)
            if (g->values[v].flags & JT_VALUE_PARAM) g->values[v].flags |= JT_VALUE_FROZEN;
        *x = in;
        if (p_out) *p_out = m->P ? map[m->P->outputs[0]] : in;
    }
    free(map);
    if (st != JT_OK) {
        jt_graph_free(g);
        return st;
    }
    *out = g;
    return JT_OK;
}

static int32_t reduce_sum_all(jt_gb *b, int32_t v) {
    jt_gb_attr_int(b, "keepdims", 0);
    return jt_gb_op(b, "ReduceSum", "", NULL, (int32_t[]){v}, 1);
}

static jt_status build_graph(jt_ctx *ctx, go_impl *m, int which) {
    jt_graph *g = NULL;
    int32_t x, z, tap, pout;
    int with_tap = which == G_FEAT || which == G_FGRAD_L2 || which == G_FGRAD_COS;
    if (which == G_PRE) {
        JT_TRY(copy_graph(ctx, m->P, &g));
        m->graphs[which].g = g;
        return JT_OK;
    }
    JT_TRY(build_forward(ctx, m, with_tap, &g, &x, &z, &tap, &pout));
    jt_gb b;
    jt_gb_init(&b, ctx, g, g->opset_onnx >= 13 ? g->opset_onnx : 13);
    jt_status st = JT_OK;
    if (which == G_LOGITS) {
        jt_gb_output(&b, z);
    } else if (which == G_FEAT) {
        jt_gb_output(&b, tap);
    } else if (which == G_GRAD) {
        int32_t y = jt_gb_input(&b, "attack/labels", JT_I64, 1, (int64_t[]){-1});
        int32_t t = jt_gb_input(&b, "attack/targets", JT_I64, 1, (int64_t[]){-1});
        int32_t kind = jt_gb_input(&b, "attack/kind", JT_I64, 1, (int64_t[]){1});
        int32_t loss = jt_gb_op(&b, "AttackLoss", "jatp", "attack/AttackLoss", (int32_t[]){z, y, t, kind}, 4);
        int32_t total = reduce_sum_all(&b, loss);
        st = jt_gb_status(&b);
        int32_t grad = -1;
        if (st == JT_OK) st = jt_build_backward(ctx, g, &total, NULL, 1, &x, 1, &grad);
        if (st == JT_OK) {
            jt_gb_output(&b, loss);
            jt_gb_output(&b, z);
            jt_gb_output(&b, grad);
        }
    } else {
        int32_t ref = jt_gb_input(&b, "attack/ref", JT_F32, m->tap_rank, m->tap_dims);
        int32_t dist = jt_feature_dist(&b, tap, ref, which == G_FGRAD_L2 ? JT_DIST_MSE : JT_DIST_COS);
        int32_t total = reduce_sum_all(&b, dist);
        st = jt_gb_status(&b);
        int32_t grad = -1;
        if (st == JT_OK) st = jt_build_backward(ctx, g, &total, NULL, 1, &x, 1, &grad);
        if (st == JT_OK) {
            jt_gb_output(&b, dist);
            jt_gb_output(&b, grad);
        }
    }
    if (st == JT_OK) st = jt_gb_status(&b);
    if (st != JT_OK) {
        jt_error_prefix(ctx, "attack oracle");
        jt_graph_free(g);
        return st;
    }
    m->graphs[which].g = g;
    return JT_OK;
}

/* ---- plans ---- */

static int bucket_of(const go_impl *m, int n) {
    for (int b = 0; b < m->n_buckets; b++)
        if (m->bucket_size[b] >= n) return b;
    return m->n_buckets - 1;
}

/* Binds the graph inputs for batch size nb: x [nb, c, h, w]; labels, targets [nb]; kind [1];
 * ref [nb, feature dims]. data pointers from the staging buffers. */
static int bind_inputs(jt_oracle *o, go_impl *m, const jt_graph *g, int nb, const int64_t *kind, jt_tensor *in) {
    for (int i = 0; i < g->n_inputs; i++) {
        const jt_value *v = &g->values[g->inputs[i]];
        jt_tensor *t = &in[i];
        memset(t, 0, sizeof *t);
        if (i == 0) {
            t->dtype = JT_F32;
            t->rank = 4;
            t->dims[0] = nb;
            t->dims[1] = o->c;
            t->dims[2] = o->h;
            t->dims[3] = o->w;
            t->data = m->xs;
        } else if (strcmp(v->name, "attack/labels") == 0 || strcmp(v->name, "attack/targets") == 0) {
            t->dtype = JT_I64;
            t->rank = 1;
            t->dims[0] = nb;
            t->data = strcmp(v->name, "attack/labels") == 0 ? m->ys : m->ts;
        } else if (strcmp(v->name, "attack/kind") == 0) {
            t->dtype = JT_I64;
            t->rank = 1;
            t->dims[0] = 1;
            t->data = (void *)kind;
        } else if (strcmp(v->name, "attack/ref") == 0) {
            t->dtype = JT_F32;
            t->rank = m->tap_rank;
            memcpy(t->dims, m->tap_dims, sizeof t->dims);
            t->dims[0] = nb;
            t->data = m->refs;
        } else {
            return 0;
        }
    }
    return 1;
}

static jt_status get_plan(jt_oracle *o, go_impl *m, int which, int bucket, const int64_t *kind, jt_plan **out,
                          jt_tensor *in, int *n_in) {
    go_graph *gg = &m->graphs[which];
    if (!gg->g) JT_TRY(build_graph(o->ctx, m, which));
    int nb = m->bucket_size[bucket];
    *n_in = gg->g->n_inputs;
    if (*n_in > 5 || !bind_inputs(o, m, gg->g, nb, kind, in))
        return jt_fail(o->ctx, JT_ERR_ARG, "attack oracle: the model must have exactly one image input (%s)",
                       gg->g->source);
    if (!gg->plans[bucket]) {
        jt_plan_options po;
        jt_plan_options_default(&po);
        po.backend = m->cfg.backend;
        jt_status st = jt_plan_create(o->ctx, gg->g, in, *n_in, &po, &gg->plans[bucket]);
        if (st != JT_OK) {
            jt_error_prefix(o->ctx, "attack oracle (batch %d)", nb);
            return st;
        }
    }
    *out = gg->plans[bucket];
    return JT_OK;
}

/* Stages n examples (padded to the bucket), runs the plan, downloads outputs (dst[i] may be NULL:
 * not wanted); only the first n rows of each output are copied out. */
static jt_status run(jt_oracle *o, int which, const float *x, const int64_t *y, const int64_t *t, const float *ref,
                     int n, int64_t kind, void **dst) {
    go_impl *m = o->impl;
    int b = bucket_of(m, n), nb = m->bucket_size[b];
    int64_t d = jt_oracle_dim(o);
    memcpy(m->xs, x, (size_t)n * (size_t)d * sizeof *x);
    memset(m->xs + (size_t)n * d, 0, (size_t)(nb - n) * (size_t)d * sizeof *x);
    for (int i = 0; i < nb; i++) {
        m->ys[i] = y && i < n ? y[i] : 0;
        m->ts[i] = t && i < n ? t[i] : 1;
    }
    if (ref) {
        memcpy(m->refs, ref, (size_t)n * (size_t)o->feat_dim * sizeof *ref);
        memset(m->refs + (size_t)n * o->feat_dim, 0, (size_t)(nb - n) * (size_t)o->feat_dim * sizeof *ref);
    }
    jt_tensor in[5];
    int n_in = 0;
    jt_plan *p;
    int64_t kind_v = kind;
    JT_TRY(get_plan(o, m, which, b, &kind_v, &p, in, &n_in));
    JT_TRY(jt_plan_run(p, in, n_in));
    for (int i = 0; i < jt_plan_n_outputs(p); i++) {
        if (!dst[i]) continue;
        const jt_tensor *ot = jt_plan_output(p, i);
        size_t total = jt_tensor_nbytes(ot), row = total / (size_t)nb;
        if ((int)n == nb) {
            JT_TRY(jt_plan_output_download(p, i, dst[i]));
        } else {
            void *tmp = malloc(total);
            if (!tmp) return jt_fail(o->ctx, JT_ERR_OOM, "attack oracle: out of memory");
            jt_status st = jt_plan_output_download(p, i, tmp);
            if (st == JT_OK) memcpy(dst[i], tmp, row * (size_t)n);
            free(tmp);
            JT_TRY(st);
        }
    }
    return JT_OK;
}

static jt_status go_logits(jt_oracle *o, const float *x, int n, float *z) {
    void *dst[1] = {z};
    return run(o, G_LOGITS, x, NULL, NULL, NULL, n, 0, dst);
}

static jt_status go_loss_grad(jt_oracle *o, const float *x, const int64_t *y, const int64_t *t, int n,
                              jt_attack_loss kind, float *loss, float *grad, float *z) {
    void *dst[3] = {loss, z, grad};
    return run(o, G_GRAD, x, y, t, NULL, n, (int64_t)kind, dst);
}

static jt_status go_features(jt_oracle *o, const float *x, int n, float *feat) {
    void *dst[1] = {feat};
    return run(o, G_FEAT, x, NULL, NULL, NULL, n, 0, dst);
}

static jt_status go_feat_grad(jt_oracle *o, const float *x, const float *ref, int n, jt_feat_dist dist, float *loss,
                              float *grad) {
    void *dst[2] = {loss, grad};
    return run(o, dist == JT_FEAT_COS ? G_FGRAD_COS : G_FGRAD_L2, x, NULL, NULL, ref, n, 0, dst);
}

static jt_status go_preprocess(jt_oracle *o, const float *x, int n, float *px) {
    go_impl *m = o->impl;
    if (!m->P) {
        memcpy(px, x, (size_t)n * (size_t)jt_oracle_dim(o) * sizeof *x);
        return JT_OK;
    }
    void *dst[1] = {px};
    return run(o, G_PRE, x, NULL, NULL, NULL, n, 0, dst);
}

static void go_destroy(jt_oracle *o) {
    go_impl *m = o->impl;
    if (m) {
        for (int w = 0; w < G_COUNT; w++) {
            for (int b = 0; b < MAX_BUCKETS; b++) jt_plan_free(m->graphs[w].plans[b]);
            jt_graph_free(m->graphs[w].g);
        }
        jt_graph_free(m->T);
        jt_graph_free(m->P);
        jt_graph_free(m->S);
        free(m->tap);
        free(m->xs);
        free(m->refs);
        free(m->ys);
        free(m->ts);
        free(m);
    }
    free(o);
}

static const jt_oracle_vtable graph_vt = {.logits = go_logits,
                                          .loss_grad = go_loss_grad,
                                          .features = go_features,
                                          .feat_grad = go_feat_grad,
                                          .preprocess = go_preprocess,
                                          .destroy = go_destroy};

/* Copies src's "<prefix><rest>" into dst's "<dst_prefix><rest>" for every PARAM/STATE value of dst
 * whose name starts with dst_prefix. */
static jt_status copy_from(jt_ctx *ctx, jt_graph *dst, const char *dst_prefix, const jt_graph *src, const char *prefix,
                           int *copied) {
    size_t dl = strlen(dst_prefix);
    char name[2048];
    for (int32_t v = 0; v < dst->n_values; v++) {
        jt_value *d = &dst->values[v];
        if (!(d->flags & (JT_VALUE_PARAM | JT_VALUE_STATE)) || !d->data || strncmp(d->name, dst_prefix, dl) != 0) continue;
        snprintf(name, sizeof name, "%s%s", prefix, d->name + dl);
        int32_t s = jt_graph_find_value(src, name);
        if (s < 0 || !src->values[s].data) continue;
        const jt_value *sv = &src->values[s];
        if (sv->dtype != d->dtype || !jt_dims_equal(sv->dims, sv->rank, d->dims, d->rank))
            return jt_fail(ctx, JT_ERR_SHAPE, "attack oracle: parameter '%s' of %s differs in dtype or shape from '%s'",
                           name, src->source, d->name);
        jt_tensor t = {.dtype = d->dtype, .rank = d->rank};
        memcpy(t.dims, d->dims, sizeof t.dims);
        memcpy(d->data, sv->data, jt_tensor_nbytes(&t));
        (*copied)++;
    }
    return JT_OK;
}

jt_status jt_graph_oracle_set_params(jt_oracle *o, const jt_graph *src, const char *p_prefix, const char *t_prefix) {
    go_impl *m = o->impl;
    int copied = 0;
    for (int w = -2; w < G_COUNT; w++) {
        jt_graph *g = w == -2 ? m->P : (w == -1 ? m->T : m->graphs[w].g);
        if (!g) continue;
        int own = w < 0; /* the private copies have unprefixed names */
        if (p_prefix && (w != -1)) JT_TRY(copy_from(o->ctx, g, own ? "" : (w == G_PRE ? "" : "P/"), src, p_prefix, &copied));
        if (t_prefix && (w != -2) && w != G_PRE)
            JT_TRY(copy_from(o->ctx, g, own ? "" : "T/", src, t_prefix, &copied));
        if (w >= 0)
            for (int b = 0; b < MAX_BUCKETS; b++) {
                jt_plan_free(m->graphs[w].plans[b]);
                m->graphs[w].plans[b] = NULL;
            }
    }
    if (copied == 0)
        return jt_fail(o->ctx, JT_ERR_ARG, "attack oracle: no parameter of %s matched (prefixes '%s', '%s')", src->source,
                       p_prefix ? p_prefix : "", t_prefix ? t_prefix : "");
    return JT_OK;
}

void jt_graph_oracle_config_default(jt_graph_oracle_config *c) {
    memset(c, 0, sizeof *c);
    c->max_batch = 128;
}

/* Learns K (and the tap size) from a batch-1 plan. */
static jt_status probe_shapes(jt_oracle *o, go_impl *m) {
    jt_tensor in[5];
    int n_in;
    jt_plan *p;
    int64_t kind = 0;
    JT_TRY(get_plan(o, m, G_LOGITS, 0, &kind, &p, in, &n_in));
    const jt_tensor *z = jt_plan_output(p, 0);
    if (z->rank != 2 || z->dims[0] != 1 || z->dims[1] < 2)
        return jt_fail(o->ctx, JT_ERR_SHAPE, "%s: output 0 must be logits [N, K] with K >= 2 (rank %d)", m->T->source,
                       z->rank);
    o->n_classes = z->dims[1];
    if (m->tap) {
        JT_TRY(get_plan(o, m, G_FEAT, 0, &kind, &p, in, &n_in));
        const jt_tensor *f = jt_plan_output(p, 0);
        if (f->rank < 1 || f->dims[0] != 1 || f->dtype != JT_F32)
            return jt_fail(o->ctx, JT_ERR_SHAPE, "%s: tap '%s' is not a float32 per-example tensor", m->T->source, m->tap);
        o->feat_dim = jt_tensor_numel(f);
        /* the FGRAD graphs declare the tap's shape for their reference input */
        m->tap_rank = f->rank;
        memcpy(m->tap_dims, f->dims, sizeof m->tap_dims);
        m->tap_dims[0] = -1;
    }
    if (m->P) {
        JT_TRY(get_plan(o, m, G_PRE, 0, &kind, &p, in, &n_in));
        const jt_tensor *px = jt_plan_output(p, 0);
        if (jt_tensor_numel(px) != jt_oracle_dim(o))
            return jt_fail(o->ctx, JT_ERR_SHAPE, "%s: the defense's output has %lld elements per image, expected %lld",
                           m->P->source, (long long)jt_tensor_numel(px), (long long)jt_oracle_dim(o));
    }
    return JT_OK;
}

jt_status jt_graph_oracle_create(jt_ctx *ctx, const jt_graph *T, const jt_graph *P, int64_t c, int64_t h, int64_t w,
                                 const jt_graph_oracle_config *cfg, jt_oracle **out) {
    *out = NULL;
    jt_graph_oracle_config dc;
    if (!cfg) {
        jt_graph_oracle_config_default(&dc);
        cfg = &dc;
    }
    if (T->n_inputs != 1 || T->n_outputs < 1)
        return jt_fail(ctx, JT_ERR_ARG, "%s: the target must have one input and the logits as output 0", T->source);
    if (P && (P->n_inputs != 1 || P->n_outputs < 1))
        return jt_fail(ctx, JT_ERR_ARG, "%s: the defense must have one input and one output", P->source);
    if (cfg->bpda && !P) return jt_fail(ctx, JT_ERR_ARG, "attack oracle: BPDA needs a defense graph");
    if (cfg->max_batch < 1 || c < 1 || h < 1 || w < 1)
        return jt_fail(ctx, JT_ERR_ARG, "attack oracle: max_batch and the image shape must be positive");
    jt_oracle *o = calloc(1, sizeof *o);
    go_impl *m = calloc(1, sizeof *m);
    if (!o || !m) {
        free(o);
        free(m);
        return jt_fail(ctx, JT_ERR_OOM, "attack oracle: out of memory");
    }
    o->vt = &graph_vt;
    o->ctx = ctx;
    o->impl = m;
    o->c = c;
    o->h = h;
    o->w = w;
    o->max_batch = cfg->max_batch;
    o->deterministic = 1;
    m->cfg = *cfg;
    for (int s = 1; s < cfg->max_batch && m->n_buckets < MAX_BUCKETS - 1; s *= 2) m->bucket_size[m->n_buckets++] = s;
    m->bucket_size[m->n_buckets++] = cfg->max_batch;
    jt_status st = copy_graph(ctx, T, &m->T);
    if (st == JT_OK && P) st = copy_graph(ctx, P, &m->P);
    if (st == JT_OK && cfg->bpda_surrogate) st = copy_graph(ctx, cfg->bpda_surrogate, &m->S);
    if (st == JT_OK && cfg->tap && !(m->tap = strdup(cfg->tap))) st = jt_fail(ctx, JT_ERR_OOM, "out of memory");
    int64_t d = c * h * w;
    if (st == JT_OK) {
        m->xs = malloc((size_t)cfg->max_batch * (size_t)d * sizeof *m->xs);
        m->ys = malloc((size_t)cfg->max_batch * sizeof *m->ys);
        m->ts = malloc((size_t)cfg->max_batch * sizeof *m->ts);
        if (!m->xs || !m->ys || !m->ts) st = jt_fail(ctx, JT_ERR_OOM, "attack oracle: out of memory for staging");
    }
    if (st == JT_OK) st = probe_shapes(o, m);
    if (st == JT_OK && m->tap) {
        m->refs = malloc((size_t)cfg->max_batch * (size_t)o->feat_dim * sizeof *m->refs);
        if (!m->refs) st = jt_fail(ctx, JT_ERR_OOM, "attack oracle: out of memory for staging");
    }
    if (st != JT_OK) {
        go_destroy(o);
        return st;
    }
    *out = o;
    return JT_OK;
}
