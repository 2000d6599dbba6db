/* Denoiser training graphs: models as eval/train graph pairs, instances (shared parameters, chained BN
 * statistics), the feature-tap rule, training-mode BN copies and the step graphs of JATP, HGD, APE-GAN,
 * NRP and the identity warm-up (models.md sections 3-5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/compose.h"
#include "jatp/losses.h"
#include "jatp/models.h"
#include "op.h"
#include "train/denoiser_internal.h"

/* ---- small helpers ---- */

int dn_starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

void dn_freeze(jt_graph *g, const char *prefix) {
    for (int32_t v = 0; v < g->n_values; v++)
        if ((g->values[v].flags & JT_VALUE_PARAM) && dn_starts_with(g->values[v].name, prefix))
            g->values[v].flags |= JT_VALUE_FROZEN;
}

int dn_trainable(const jt_graph *g, const char *prefix, int32_t *ids, int cap) {
    /* initializers read where no gradient flows or a constant is required (Resize scales, Pad values,
     * shapes) are not weights, whatever their dtype */
    uint8_t *fixed = calloc((size_t)g->n_values + 1, 1);
    for (int32_t k = 0; fixed && k < g->n_nodes; k++) {
        const jt_node *n = &g->nodes[k];
        uint32_t mask = n->op && n->op->impl ? (n->op->impl->no_grad_mask | n->op->impl->const_mask) : 0;
        for (int i = 0; i < n->n_in && i < 32; i++)
            if (n->in[i] >= 0 && ((mask >> i) & 1u)) fixed[n->in[i]] = 1;
    }
    int n = 0;
    for (int32_t v = 0; v < g->n_values; v++) {
        const jt_value *x = &g->values[v];
        if (!(x->flags & JT_VALUE_PARAM) || (x->flags & (JT_VALUE_STATE | JT_VALUE_CONST | JT_VALUE_FROZEN))) continue;
        if (!jt_dtype_is_float(x->dtype) || x->rank < 1 || !x->data || !dn_starts_with(x->name, prefix)) continue;
        if (fixed && fixed[v]) continue;
        if (n < cap) ids[n] = v;
        n++;
    }
    free(fixed);
    return n;
}

static size_t value_bytes(const jt_value *v) {
    size_t n = jt_dtype_size(v->dtype);
    for (int d = 0; d < v->rank; d++) n *= (size_t)v->dims[d];
    return n;
}

jt_status dn_copy_values(jt_ctx *ctx, jt_graph *dst, const char *dst_prefix, const jt_graph *src,
                         const char *src_prefix, int *copied) {
    size_t dl = strlen(dst_prefix);
    char name[2048];
    int n = 0;
    for (int32_t v = 0; v < dst->n_values; v++) {
        jt_value *d = &dst->values[v];
        if (!(d->flags & JT_VALUE_PARAM) || !d->data || strncmp(d->name, dst_prefix, dl) != 0) continue;
        snprintf(name, sizeof name, "%s%s", src_prefix, d->name + dl);
        int32_t s = jt_graph_find_value(src, name);
        if (s < 0 || !src->values[s].data) continue;
        const jt_value *sv = &src->values[s];
        if (sv->dtype != d->dtype || !jt_dims_equal(sv->dims, sv->rank, d->dims, d->rank))
            return jt_fail(ctx, JT_ERR_SHAPE, "denoiser training: '%s' of %s and '%s' differ in dtype or shape", name,
                           src->source, d->name);
        memcpy(d->data, sv->data, value_bytes(d));
        n++;
    }
    if (copied) *copied = n;
    return JT_OK;
}

int32_t dn_slice0(jt_gb *b, int32_t x, int64_t start, int64_t end) {
    int32_t s = jt_gb_const_i64s(b, &start, 1), e = jt_gb_const_i64s(b, &end, 1);
    int32_t ax = jt_gb_const_i64s(b, (const int64_t[]){0}, 1);
    return jt_gb_op(b, "Slice", "", NULL, (const int32_t[]){x, s, e, ax}, 4);
}

int32_t dn_cat0(jt_gb *b, int32_t a, int32_t c) {
    jt_gb_attr_int(b, "axis", 0);
    return jt_gb_op(b, "Concat", "", NULL, (const int32_t[]){a, c}, 2);
}

static jt_status copy_graph(jt_ctx *ctx, const jt_graph *src, jt_graph **out) {
    *out = NULL;
    jt_graph *g;
    JT_TRY(jt_graph_create(ctx, src->source ? src->source : "model", &g));
    g->opset_onnx = src->opset_onnx > 0 ? src->opset_onnx : 17;
    g->ir_version = src->ir_version;
    g->name = jt_graph_strdup(g, src->name ? src->name : "model");
    g->producer_name = jt_graph_strdup(g, "jatp");
    int32_t *map = malloc(sizeof(int32_t) * (size_t)(src->n_values + 1));
    jt_status st = map ? jt_graph_append(ctx, g, src, "", NULL, map) : jt_fail(ctx, JT_ERR_OOM, "out of memory");
    for (int i = 0; st == JT_OK && i < src->n_outputs; i++) st = jt_graph_add_output(ctx, g, map[src->outputs[i]]);
    free(map);
    if (st != JT_OK) {
        jt_graph_free(g);
        return st;
    }
    *out = g;
    return JT_OK;
}

/* ---- training-mode BatchNormalization ---- */

static int is_bn(const jt_node *n) { return strcmp(n->op_type, "BatchNormalization") == 0 && n->domain[0] == 0; }

static int bn_training(const jt_node *n) {
    int since = n->op ? n->op->since : 15;
    if (since >= 14) {
        const jt_attr *a = jt_node_attr(n, "training_mode");
        return a && a->i != 0;
    }
    for (int i = 1; i < n->n_out; i++)
        if (n->out[i] >= 0) return 1;
    return 0;
}

jt_status jt_dn_train_mode_copy(jt_ctx *ctx, const jt_graph *src, jt_graph **out, int32_t **state_dst,
                                int32_t **state_src, int *n_state, int *n_bn) {
    *out = NULL;
    jt_graph *g;
    JT_TRY(copy_graph(ctx, src, &g));
    int nb = 0;
    for (int32_t k = 0; k < g->n_nodes; k++) nb += is_bn(&g->nodes[k]);
    int32_t *sd = nb ? jt_graph_alloc(g, sizeof(int32_t) * (size_t)(2 * nb)) : NULL;
    int32_t *ss = nb ? jt_graph_alloc(g, sizeof(int32_t) * (size_t)(2 * nb)) : NULL;
    if (nb && (!sd || !ss)) {
        jt_graph_free(g);
        return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", src->source);
    }
    int ns = 0;
    jt_status st = JT_OK;
    for (int32_t k = 0; k < g->n_nodes && st == JT_OK; k++) {
        jt_node *n = &g->nodes[k];
        if (!is_bn(n)) continue;
        if (n->n_in < 5 || n->in[3] < 0 || n->in[4] < 0 || !(g->values[n->in[3]].flags & JT_VALUE_PARAM) ||
            !(g->values[n->in[4]].flags & JT_VALUE_PARAM) || !n->op || !n->op->impl) {
            st = jt_fail(ctx, JT_ERR_UNSUPPORTED,
                         "%s: BatchNormalization '%s' has no running statistics as initializers: cannot train it", src->source,
                         n->name);
            break;
        }
        if (!bn_training(n)) {
            int since = n->op->since;
            int32_t *o = jt_graph_alloc(g, sizeof(int32_t) * 3);
            if (!o) {
                st = jt_fail(ctx, JT_ERR_OOM, "out of memory");
                break;
            }
            o[0] = n->out[0];
            char nm[1024];
            for (int i = 1; i < 3 && st == JT_OK; i++) {
                snprintf(nm, sizeof nm, "%s/%s", n->name, i == 1 ? "running_mean_new" : "running_var_new");
                st = jt_graph_add_value(ctx, g, nm, &o[i]);
                if (st == JT_OK) g->values[o[i]].producer = k;
            }
            if (st != JT_OK) break;
            n = &g->nodes[k]; /* values may have moved, nodes not; re-read anyway */
            n->out = o;
            n->n_out = 3;
            if (since >= 14) {
                jt_attr *ta = (jt_attr *)jt_node_attr(n, "training_mode");
                if (ta) {
                    ta->i = 1;
                } else {
                    jt_attr *na = jt_graph_alloc(g, sizeof(jt_attr) * (size_t)(n->n_attrs + 1));
                    if (!na) {
                        st = jt_fail(ctx, JT_ERR_OOM, "out of memory");
                        break;
                    }
                    if (n->n_attrs) memcpy(na, n->attrs, sizeof(jt_attr) * (size_t)n->n_attrs);
                    memset(&na[n->n_attrs], 0, sizeof(jt_attr));
                    na[n->n_attrs].name = jt_graph_strdup(g, "training_mode");
                    na[n->n_attrs].type = JT_ATTR_INT;
                    na[n->n_attrs].i = 1;
                    n->attrs = na;
                    n->n_attrs++;
                }
            } else {
                jt_attr *it = (jt_attr *)jt_node_attr(n, "is_test");
                if (it) it->i = 0;
            }
            const jt_op_impl *im = n->op->impl;
            if (im->attr_size && !n->parsed) n->parsed = jt_graph_alloc(g, im->attr_size);
            if (im->parse) st = im->parse(ctx, g, n, n->parsed);
            if (st != JT_OK) break;
        }
        if (n->n_out < 3 || n->out[1] < 0 || n->out[2] < 0) {
            st = jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: BatchNormalization '%s' in training mode without statistics outputs",
                         src->source, n->name);
            break;
        }
        g->values[n->in[3]].flags |= JT_VALUE_STATE;
        g->values[n->in[4]].flags |= JT_VALUE_STATE;
        sd[ns] = n->in[3];
        ss[ns++] = n->out[1];
        sd[ns] = n->in[4];
        ss[ns++] = n->out[2];
    }
    if (st != JT_OK) {
        jt_graph_free(g);
        return st;
    }
    *out = g;
    if (state_dst) *state_dst = sd;
    if (state_src) *state_src = ss;
    if (n_state) *n_state = ns;
    if (n_bn) *n_bn = nb;
    return JT_OK;
}

/* ---- models ---- */

void dn_model_free(dn_model *m) {
    if (!m) return;
    if (m->train != m->eval) jt_graph_free(m->train);
    jt_graph_free(m->eval);
    memset(m, 0, sizeof *m);
}

static int count_bn(const jt_graph *g) {
    int n = 0;
    for (int32_t k = 0; k < g->n_nodes; k++) n += is_bn(&g->nodes[k]);
    return n;
}

jt_status dn_model_from_builder(jt_ctx *ctx, const char *spec, int64_t c, int64_t h, int64_t w, uint64_t seed,
                                dn_model *m) {
    memset(m, 0, sizeof *m);
    m->tap_eval = m->tap_train = -1;
    m->c = c, m->h = h, m->w = w;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    char *kv = strchr(buf, ':');
    if (kv) *kv++ = 0;
    snprintf(m->name, sizeof m->name, "%s", spec);
    jt_model_config cfg;
    JT_TRY(jt_model_config_preset(ctx, buf, &cfg));
    cfg.channels = (int)c;
    cfg.height = (int)h;
    cfg.width = (int)w;
    cfg.seed = seed;
    while (kv && *kv) {
        char *next = strpbrk(kv, ",:");
        if (next) *next++ = 0;
        if (*kv) JT_TRY(jt_model_config_set(ctx, &cfg, kv));
        kv = next;
    }
    cfg.channels = (int)c; /* the data decide the image shape */
    cfg.height = (int)h;
    cfg.width = (int)w;
    jt_model_info ie, it;
    cfg.train_bn = 0;
    JT_TRY(jt_model_create(ctx, buf, &cfg, &m->eval, &ie));
    m->tap_eval = ie.tap;
    m->n_bn = count_bn(m->eval);
    if (m->n_bn == 0) {
        m->train = m->eval;
        m->tap_train = ie.tap;
        return JT_OK;
    }
    cfg.train_bn = 1;
    jt_status st = jt_model_create(ctx, buf, &cfg, &m->train, &it);
    if (st != JT_OK) {
        dn_model_free(m);
        return st;
    }
    m->tap_train = it.tap;
    m->n_state = it.n_state;
    m->sdst = it.state_dst;
    m->ssrc = it.state_src;
    return JT_OK;
}

jt_status dn_model_from_graph(jt_ctx *ctx, const jt_graph *g, const char *name, dn_model *m) {
    memset(m, 0, sizeof *m);
    m->tap_eval = m->tap_train = -1;
    snprintf(m->name, sizeof m->name, "%s", name ? name : g->source);
    if (g->n_inputs != 1 || g->n_outputs < 1)
        return jt_fail(ctx, JT_ERR_ARG, "%s: a model needs exactly one input and an output (it has %d and %d)",
                       g->source, g->n_inputs, g->n_outputs);
    const jt_value *in = &g->values[g->inputs[0]];
    if (in->rank == 4) m->c = in->dims[1], m->h = in->dims[2], m->w = in->dims[3];
    JT_TRY(copy_graph(ctx, g, &m->eval));
    m->n_bn = count_bn(m->eval);
    if (m->n_bn == 0) {
        m->train = m->eval;
        return JT_OK;
    }
    jt_status st = jt_dn_train_mode_copy(ctx, m->eval, &m->train, &m->sdst, &m->ssrc, &m->n_state, NULL);
    if (st != JT_OK) {
        jt_graph_free(m->eval);
        m->eval = NULL;
    }
    return st;
}

jt_status dn_model_set_tap(jt_ctx *ctx, dn_model *m, const char *name) {
    if (!name && m->tap_eval >= 0) return JT_OK; /* builder tap */
    int32_t v;
    JT_TRY(jt_dn_find_tap(ctx, m->eval, name, &v));
    m->tap_eval = v;
    const char *vn = m->eval->values[v].name;
    m->tap_train = jt_graph_find_value(m->train, vn);
    if (m->tap_train < 0) {
        char alt[1024];
        snprintf(alt, sizeof alt, "%s:0", vn);
        m->tap_train = jt_graph_find_value(m->train, alt);
    }
    if (m->tap_train < 0)
        return jt_fail(ctx, JT_ERR_INTERNAL, "%s: the tap '%s' has no counterpart in training mode", m->eval->source, vn);
    return JT_OK;
}

/* ---- the tap rule ---- */

static int is_conv(const jt_node *n) { return strcmp(n->op_type, "Conv") == 0 && n->domain[0] == 0; }

jt_status jt_dn_find_tap(jt_ctx *ctx, const jt_graph *T, const char *name, int32_t *value) {
    *value = -1;
    if (name && name[0]) return jt_graph_find_tap(ctx, T, name, value);
    /* the last Conv of the third stage, shortcut/downsample excluded */
    int32_t best = -1;
    for (int32_t k = 0; k < T->n_nodes; k++) {
        const jt_node *n = &T->nodes[k];
        if (!is_conv(n) || n->n_out < 1 || n->out[0] < 0) continue;
        const char *nm = n->name;
        const char *l3 = strstr(nm, "layer3");
        if (!l3 || (l3[6] >= '0' && l3[6] <= '9')) continue; /* not layer30.. */
        if (strstr(nm, "shortcut") || strstr(nm, "downsample")) continue;
        best = k;
    }
    if (best < 0)
        return jt_fail(ctx, JT_ERR_ARG,
                       "%s: no feature tap found by the rule (the last convolution of 'layer3'); name one with --tap "
                       "(a value or node of T, see `jatp inspect --values`)",
                       T->source);
    int32_t v = T->nodes[best].out[0];
    /* followed by a BatchNormalization (unfolded graphs): tap after it */
    int consumers = 0, bn = -1;
    for (int32_t k = 0; k < T->n_nodes; k++) {
        const jt_node *n = &T->nodes[k];
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] == v) {
                consumers++;
                if (i == 0 && is_bn(n)) bn = k;
            }
    }
    if (consumers == 1 && bn >= 0) v = T->nodes[bn].out[0];
    *value = v;
    return JT_OK;
}

/* ---- instances ---- */

jt_status dn_append(jt_ctx *ctx, jt_graph *g, const dn_model *m, int train_mode, const char *prefix, int32_t input,
                    dn_inst *inst) {
    memset(inst, 0, sizeof *inst);
    inst->tap = -1;
    const jt_graph *src = train_mode ? m->train : m->eval;
    if (src->n_inputs != 1)
        return jt_fail(ctx, JT_ERR_ARG, "%s: a model needs exactly one input (it has %d)", src->source, src->n_inputs);
    int32_t *map = malloc(sizeof(int32_t) * (size_t)(src->n_values + 1));
    if (!map) return jt_fail(ctx, JT_ERR_OOM, "out of memory");
    jt_status st = jt_graph_append(ctx, g, src, prefix, &input, map);
    if (st == JT_OK) {
        inst->out = map[src->outputs[0]];
        int32_t t = train_mode ? m->tap_train : m->tap_eval;
        inst->tap = t >= 0 ? map[t] : -1;
        if (train_mode && m->n_state) {
            inst->n_state = m->n_state;
            inst->sdst = jt_graph_alloc(g, sizeof(int32_t) * (size_t)m->n_state);
            inst->ssrc = jt_graph_alloc(g, sizeof(int32_t) * (size_t)m->n_state);
            if (!inst->sdst || !inst->ssrc) st = jt_fail(ctx, JT_ERR_OOM, "out of memory");
            for (int i = 0; st == JT_OK && i < m->n_state; i++) {
                inst->sdst[i] = map[m->sdst[i]];
                inst->ssrc[i] = map[m->ssrc[i]];
            }
        }
    }
    free(map);
    return st;
}

jt_status dn_append_shared(jt_ctx *ctx, jt_graph *g, const dn_model *m, int train_mode, const char *prefix,
                           const char *prefix2, int32_t input, const dn_inst *first, dn_inst *inst) {
    int32_t nv0 = g->n_values, nn0 = g->n_nodes;
    dn_inst tmp;
    JT_TRY(dn_append(ctx, g, m, train_mode, prefix2, input, &tmp));
    if (tmp.n_state != first->n_state)
        return jt_fail(ctx, JT_ERR_INTERNAL, "%s: shared instances in different modes", m->name);
    size_t l2 = strlen(prefix2);
    char name[2048];
    for (int32_t k = nn0; k < g->n_nodes; k++) {
        jt_node *n = &g->nodes[k];
        for (int i = 0; i < n->n_in; i++) {
            int32_t v = n->in[i];
            if (v < nv0 || !(g->values[v].flags & JT_VALUE_PARAM)) continue;
            int32_t to = -1;
            for (int j = 0; j < tmp.n_state; j++)
                if (tmp.sdst[j] == v) to = first->ssrc[j];
            if (to < 0) {
                snprintf(name, sizeof name, "%s%s", prefix, g->values[v].name + l2);
                to = jt_graph_find_value(g, name);
                if (to < 0)
                    return jt_fail(ctx, JT_ERR_INTERNAL, "%s: shared parameter '%s' not found", m->name, name);
            }
            n->in[i] = to;
        }
    }
    for (int32_t v = nv0; v < g->n_values; v++)
        if (g->values[v].flags & JT_VALUE_PARAM) { /* orphans: no longer read by anything */
            g->values[v].flags = 0;
            g->values[v].data = NULL;
        }
    *inst = tmp;
    inst->sdst = first->sdst; /* the real running statistics take this instance's updates */
    return JT_OK;
}

/* ---- step graphs ---- */

void dn_sgraph_free(dn_sgraph *s) {
    if (!s) return;
    jt_graph_free(s->g);
    free(s->udst);
    free(s->usrc);
    memset(s, 0, sizeof *s);
}

static jt_status sg_init(jt_ctx *ctx, dn_sgraph *s, const char *name) {
    memset(s, 0, sizeof *s);
    s->x_adv = s->x = s->y = s->loss = s->logits_adv = s->logits_nat = s->p_adv = -1;
    JT_TRY(jt_graph_create(ctx, name, &s->g));
    s->g->opset_onnx = 17;
    s->g->name = jt_graph_strdup(s->g, name);
    return JT_OK;
}

static jt_status sg_updates(jt_ctx *ctx, dn_sgraph *s, const dn_inst *in) {
    if (in->n_state == 0) return JT_OK;
    if (s->n_upd + in->n_state > s->cap_upd) {
        int cap = (s->n_upd + in->n_state) * 2;
        int32_t *d = realloc(s->udst, sizeof(int32_t) * (size_t)cap), *r = d ? realloc(s->usrc, sizeof(int32_t) * (size_t)cap) : NULL;
        if (d) s->udst = d;
        if (!d || !r) return jt_fail(ctx, JT_ERR_OOM, "out of memory");
        s->usrc = r;
        s->cap_upd = cap;
    }
    for (int i = 0; i < in->n_state; i++) {
        s->udst[s->n_upd] = in->sdst[i];
        s->usrc[s->n_upd++] = in->ssrc[i];
    }
    return JT_OK;
}

static void sg_log(dn_sgraph *s, const char *name, int32_t v) {
    if (v < 0 || s->n_logs >= DN_MAX_LOGS) return;
    s->log_names[s->n_logs] = name;
    s->logs[s->n_logs++] = v;
}

static void sg_images(jt_gb *b, dn_sgraph *s, const dn_model *P, int64_t B, int with_y) {
    int64_t dims[4] = {B, P->c, P->h, P->w};
    s->x_adv = jt_gb_input(b, "x_adv", JT_F32, 4, dims);
    s->x = jt_gb_input(b, "x", JT_F32, 4, dims);
    if (with_y) s->y = jt_gb_input(b, "y", JT_I64, 1, (const int64_t[]){B});
}

static jt_status sg_done(jt_ctx *ctx, dn_sgraph *s, jt_gb *b, jt_status st) {
    if (st == JT_OK) st = jt_gb_status(b);
    if (st == JT_OK && s->loss < 0) st = jt_fail(ctx, JT_ERR_INTERNAL, "%s: no loss", s->g->source);
    if (st != JT_OK) {
        jt_error_prefix(ctx, "building the %s graph", s->g->name);
        dn_sgraph_free(s);
    }
    return st;
}

jt_status dn_graph_jatp(jt_ctx *ctx, const dn_model *P, const dn_model *T, int64_t B, const jt_dn_config *cfg,
                        dn_sgraph *s) {
    JT_TRY(sg_init(ctx, s, cfg->joint ? "jatp-joint-step" : "jatp-step"));
    jt_gb b;
    jt_gb_init(&b, ctx, s->g, 17);
    sg_images(&b, s, P, B, 1);
    jt_status st = jt_gb_status(&b);
    int32_t p_adv = -1, p_nat = -1, pc = -1;
    dn_inst p1, p2, t1, t2;
    if (st == JT_OK && P->n_state == 0) { /* no BN: one pass over both halves */
        int32_t xc = dn_cat0(&b, s->x_adv, s->x);
        st = jt_gb_status(&b);
        if (st == JT_OK) st = dn_append(ctx, s->g, P, 1, "P/", xc, &p1);
        if (st == JT_OK) {
            pc = p1.out;
            p_adv = dn_slice0(&b, pc, 0, B);
            p_nat = dn_slice0(&b, pc, B, 2 * B);
        }
    } else if (st == JT_OK) { /* batch statistics: P on x~ and on x separately */
        st = dn_append(ctx, s->g, P, 1, "P/", s->x_adv, &p1);
        if (st == JT_OK) st = dn_append_shared(ctx, s->g, P, 1, "P/", "P#2/", s->x, &p1, &p2);
        if (st == JT_OK) st = sg_updates(ctx, s, &p2);
        p_adv = p1.out;
        p_nat = p2.out;
    }
    int32_t la = -1, ln = -1, ta = -1, tn = -1;
    if (st == JT_OK && !cfg->joint) {
        int32_t tin = pc >= 0 ? pc : dn_cat0(&b, p_adv, p_nat);
        st = jt_gb_status(&b);
        if (st == JT_OK) st = dn_append(ctx, s->g, T, 0, "T/", tin, &t1);
        if (st == JT_OK) {
            dn_freeze(s->g, "T/");
            b.prefix = "loss/";
            la = dn_slice0(&b, t1.out, 0, B);
            ln = dn_slice0(&b, t1.out, B, 2 * B);
            ta = dn_slice0(&b, t1.tap, 0, B);
            tn = dn_slice0(&b, t1.tap, B, 2 * B);
        }
    } else if (st == JT_OK) { /* JATP': T in train mode on each half, statistics chained */
        st = dn_append(ctx, s->g, T, 1, "T/", p_adv, &t1);
        if (st == JT_OK) st = dn_append_shared(ctx, s->g, T, 1, "T/", "T#2/", p_nat, &t1, &t2);
        if (st == JT_OK) st = sg_updates(ctx, s, &t2);
        la = t1.out;
        ln = t2.out;
        ta = t1.tap;
        tn = t2.tap;
    }
    if (st == JT_OK && (ta < 0 || tn < 0)) st = jt_fail(ctx, JT_ERR_ARG, "%s: the target has no feature tap", T->name);
    if (st == JT_OK) {
        b.prefix = "loss/";
        double alpha, beta;
        jt_jatp_options opt;
        jt_dn_loss_terms(cfg->loss, cfg->alpha, cfg->beta, &cfg->sw, &alpha, &beta, &opt);
        jt_jatp_parts parts;
        s->loss = jt_loss_jatp(&b, la, ln, ta, tn, p_adv, s->x, s->y, alpha, beta, &opt, &parts);
        sg_log(s, "bce", parts.bce);
        sg_log(s, "fsm", parts.fsm);
        sg_log(s, "w", parts.w);
        sg_log(s, "pix", parts.pix);
        s->logits_adv = la;
        s->logits_nat = ln;
        s->p_adv = p_adv;
    }
    s->own[0] = "P/";
    s->own[1] = cfg->joint ? "T/" : NULL;
    return sg_done(ctx, s, &b, st);
}

jt_status dn_graph_hgd(jt_ctx *ctx, const dn_model *P, const dn_model *T, int64_t B, const jt_dn_config *cfg,
                       dn_sgraph *s) {
    JT_TRY(sg_init(ctx, s, "hgd-step"));
    jt_gb b;
    jt_gb_init(&b, ctx, s->g, 17);
    sg_images(&b, s, P, B, 0);
    jt_status st = jt_gb_status(&b);
    dn_inst p1, t1;
    if (st == JT_OK) st = dn_append(ctx, s->g, P, 1, "P/", s->x_adv, &p1);
    if (st == JT_OK) st = sg_updates(ctx, s, &p1);
    if (st == JT_OK) {
        int32_t tin = dn_cat0(&b, p1.out, s->x); /* T(x) carries no gradient: x is an input */
        st = jt_gb_status(&b);
        if (st == JT_OK) st = dn_append(ctx, s->g, T, 0, "T/", tin, &t1);
    }
    if (st == JT_OK && cfg->hgd_fgd && t1.tap < 0) st = jt_fail(ctx, JT_ERR_ARG, "%s: FGD needs a feature tap", T->name);
    if (st == JT_OK) {
        dn_freeze(s->g, "T/");
        b.prefix = "loss/";
        int32_t la = dn_slice0(&b, t1.out, 0, B), ln = dn_slice0(&b, t1.out, B, 2 * B);
        if (cfg->hgd_fgd) s->loss = jt_loss_mae(&b, dn_slice0(&b, t1.tap, 0, B), dn_slice0(&b, t1.tap, B, 2 * B));
        else s->loss = jt_loss_mae(&b, la, ln);
        s->logits_adv = la;
        s->logits_nat = ln; /* T alone on x */
    }
    s->own[0] = "P/";
    return sg_done(ctx, s, &b, st);
}

jt_status dn_graph_gan_d(jt_ctx *ctx, jt_dn_method method, const dn_model *P, const dn_model *D, int64_t B,
                         dn_sgraph *s) {
    JT_TRY(sg_init(ctx, s, method == JT_DN_APEG ? "apeg-d-step" : "nrp-d-step"));
    jt_gb b;
    jt_gb_init(&b, ctx, s->g, 17);
    sg_images(&b, s, P, B, 0);
    jt_status st = jt_gb_status(&b);
    dn_inst p1, d1, d2;
    /* the fake batch P(x~): P in train mode as in the reference code (its statistics are not written
     * back here), no gradient to P: its parameters are inputs of this graph */
    if (st == JT_OK) st = dn_append(ctx, s->g, P, 1, "P/", s->x_adv, &p1);
    if (st == JT_OK) st = dn_append(ctx, s->g, D, 1, "D/", s->x, &d1);
    if (st == JT_OK) st = dn_append_shared(ctx, s->g, D, 1, "D/", "D#2/", p1.out, &d1, &d2);
    if (st == JT_OK) st = sg_updates(ctx, s, &d2);
    if (st == JT_OK) {
        b.prefix = "loss/";
        s->loss = method == JT_DN_APEG ? jt_loss_apegan_d(&b, d1.out, d2.out) : jt_loss_ragan_d(&b, d1.out, d2.out);
    }
    s->own[0] = "D/";
    s->borrow = "P/";
    return sg_done(ctx, s, &b, st);
}

jt_status dn_graph_gan_p(jt_ctx *ctx, jt_dn_method method, const dn_model *P, const dn_model *D, const dn_model *T,
                         int64_t B, dn_sgraph *s) {
    JT_TRY(sg_init(ctx, s, method == JT_DN_APEG ? "apeg-g-step" : "nrp-p-step"));
    jt_gb b;
    jt_gb_init(&b, ctx, s->g, 17);
    sg_images(&b, s, P, B, 0);
    jt_status st = jt_gb_status(&b);
    dn_inst p1, d1, d2, t1;
    if (st == JT_OK) st = dn_append(ctx, s->g, P, 1, "P/", s->x_adv, &p1);
    if (st == JT_OK) st = sg_updates(ctx, s, &p1);
    int32_t fake = p1.out;
    if (method == JT_DN_APEG) {
        if (st == JT_OK) st = dn_append(ctx, s->g, D, 1, "D/", fake, &d2);
        if (st == JT_OK) st = dn_append(ctx, s->g, T, 0, "T/", fake, &t1); /* accuracy only */
        if (st == JT_OK) {
            dn_freeze(s->g, "T/");
            b.prefix = "loss/";
            s->loss = jt_loss_apegan_g(&b, fake, s->x, d2.out);
            sg_log(s, "mse", jt_loss_mse(&b, fake, s->x));
            s->logits_adv = t1.out;
        }
    } else {
        if (st == JT_OK) st = dn_append(ctx, s->g, D, 1, "D/", s->x, &d1);
        if (st == JT_OK) st = dn_append_shared(ctx, s->g, D, 1, "D/", "D#2/", fake, &d1, &d2);
        int32_t tin = -1;
        if (st == JT_OK) {
            tin = dn_cat0(&b, fake, s->x);
            st = jt_gb_status(&b);
        }
        if (st == JT_OK) st = dn_append(ctx, s->g, T, 0, "T/", tin, &t1);
        if (st == JT_OK && t1.tap < 0) st = jt_fail(ctx, JT_ERR_ARG, "%s: NRP needs a feature tap", T->name);
        if (st == JT_OK) {
            dn_freeze(s->g, "T/");
            b.prefix = "loss/";
            int32_t adv = jt_loss_ragan_g(&b, d1.out, d2.out);
            int32_t pix = jt_loss_mae(&b, fake, s->x);
            int32_t feat = jt_loss_mae(&b, dn_slice0(&b, t1.tap, 0, B), dn_slice0(&b, t1.tap, B, 2 * B));
            int32_t l = jt_gb_op(&b, "Mul", "", NULL, (const int32_t[]){adv, jt_loss_const_like(&b, 5e-3, adv)}, 2);
            l = jt_gb_op(&b, "Add", "", NULL,
                         (const int32_t[]){l, jt_gb_op(&b, "Mul", "", NULL,
                                                       (const int32_t[]){pix, jt_loss_const_like(&b, 1e-2, pix)}, 2)},
                         2);
            s->loss = jt_gb_op(&b, "Add", "", NULL, (const int32_t[]){l, feat}, 2);
            sg_log(s, "adv", adv);
            sg_log(s, "pix", pix);
            sg_log(s, "feat", feat);
            s->logits_adv = dn_slice0(&b, t1.out, 0, B);
            s->logits_nat = dn_slice0(&b, t1.out, B, 2 * B);
        }
    }
    s->own[0] = "P/";
    s->borrow = "D/";
    return sg_done(ctx, s, &b, st);
}

jt_status dn_graph_warmup(jt_ctx *ctx, const dn_model *P, int64_t B, dn_sgraph *s) {
    JT_TRY(sg_init(ctx, s, "warmup-step"));
    jt_gb b;
    jt_gb_init(&b, ctx, s->g, 17);
    sg_images(&b, s, P, B, 0);
    jt_status st = jt_gb_status(&b);
    dn_inst p1;
    if (st == JT_OK) st = dn_append(ctx, s->g, P, 1, "P/", s->x_adv, &p1);
    if (st == JT_OK) st = sg_updates(ctx, s, &p1);
    if (st == JT_OK) {
        b.prefix = "loss/";
        s->loss = jt_loss_mse(&b, p1.out, s->x);
    }
    s->own[0] = "P/";
    return sg_done(ctx, s, &b, st);
}

/* ---- the public JATP graph (tests) ---- */

jt_status jt_dn_jatp_graph_build(jt_ctx *ctx, const jt_graph *P, const jt_graph *T, const char *tap, int64_t batch,
                                 const jt_dn_config *cfg, jt_dn_jatp_graph *out) {
    memset(out, 0, sizeof *out);
    dn_model pm, tm;
    JT_TRY(dn_model_from_graph(ctx, P, "P", &pm));
    jt_status st = dn_model_from_graph(ctx, T, "T", &tm);
    if (st == JT_OK) st = dn_model_set_tap(ctx, &tm, tap);
    if (st == JT_OK) { /* the shape comes from T's input when P's is symbolic */
        if (pm.c <= 0 || pm.h <= 0 || pm.w <= 0) pm.c = tm.c, pm.h = tm.h, pm.w = tm.w;
        if (pm.c <= 0 || pm.h <= 0 || pm.w <= 0)
            st = jt_fail(ctx, JT_ERR_ARG, "%s / %s: the image shape is symbolic in both models", P->source, T->source);
    }
    dn_sgraph s;
    memset(&s, 0, sizeof s);
    if (st == JT_OK) st = dn_graph_jatp(ctx, &pm, &tm, batch, cfg, &s);
    if (st == JT_OK) {
        out->g = s.g;
        s.g = NULL;
        out->x_adv = s.x_adv;
        out->x = s.x;
        out->y = s.y;
        out->loss = s.loss;
        out->bce = out->fsm = out->w = out->pix = -1;
        for (int i = 0; i < s.n_logs; i++) {
            if (strcmp(s.log_names[i], "bce") == 0) out->bce = s.logs[i];
            if (strcmp(s.log_names[i], "fsm") == 0) out->fsm = s.logs[i];
            if (strcmp(s.log_names[i], "w") == 0) out->w = s.logs[i];
            if (strcmp(s.log_names[i], "pix") == 0) out->pix = s.logs[i];
        }
        out->logits_adv = s.logits_adv;
        out->logits_nat = s.logits_nat;
        out->p_adv = s.p_adv;
    }
    dn_sgraph_free(&s);
    dn_model_free(&pm);
    dn_model_free(&tm);
    return st;
}
