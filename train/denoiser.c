/* jatp train denoiser: the training loop of JATP (Algorithm 1), JATP' and the baselines HGD, APE-GAN and
 * NRP (models.md sections 4-5), with checkpoints, resume, stop requests and NaN stops.
 *
 * Structure: each method is one or two step graphs (train/denoiser_graph.c) turned into jt_step plans.
 * A step graph trains the parameters under its own prefixes ("P/", "D/", "T/" for JATP') and reads
 * the other model's parameters as graph inputs bound to the owning graph's storage ("borrowed"), so
 * alternating GAN steps never copy parameters. On a device backend every step ends with
 * jt_plan_sync_params, so the host storage is always current (oracle refresh, checkpoints, export).
 * The checkpoint covers every trained value of every step graph (the warm-up's under "warmup/"),
 * plus the step counter; every random draw is a function of (seed, epoch, dataset index), so a
 * resumed run repeats the uninterrupted one bit for bit on the CPU. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jatp/models.h"
#include "jatp/onnx.h"
#include "jatp/plan.h"
#include "train/denoiser_internal.h"

/* ---- names, variants, defaults ---- */

static const char *const method_names[] = {"jatp", "hgd", "apeg", "nrp"};
static const char *const loss_names[] = {"full", "pix", "pix+bce", "pix+bce+fsm", "no-pix", "no-bce", "no-fsm"};

const char *jt_dn_method_name(jt_dn_method m) { return (unsigned)m < 4 ? method_names[m] : "?"; }

int jt_dn_method_parse(const char *s) {
    for (int i = 0; i < 4; i++)
        if (strcmp(s, method_names[i]) == 0) return i;
    return -1;
}

const char *jt_dn_loss_name(jt_dn_loss l) { return (unsigned)l < JT_DN_LOSS_COUNT ? loss_names[l] : "?"; }

int jt_dn_loss_parse(const char *s) {
    for (int i = 0; i < JT_DN_LOSS_COUNT; i++)
        if (strcmp(s, loss_names[i]) == 0) return i;
    return -1;
}

void jt_dn_loss_terms(jt_dn_loss l, double alpha, double beta, const jt_jatp_options *sw, double *a, double *b,
                      jt_jatp_options *opt) {
    static const jt_jatp_options none = {0};
    *opt = sw ? *sw : none;
    opt->no_bce = false;
    *a = alpha;
    *b = beta;
    switch (l) {
    case JT_DN_LOSS_PIX: opt->no_bce = true, *a = 0; break;
    case JT_DN_LOSS_PIX_BCE: *a = 0; break;
    case JT_DN_LOSS_PIX_BCE_FSM: opt->w_one = true; break;
    case JT_DN_LOSS_NO_PIX: *b = 0; break;
    case JT_DN_LOSS_NO_BCE: opt->no_bce = true; break;
    case JT_DN_LOSS_NO_FSM: *a = 0; break;
    default: break;
    }
}

void jt_dn_config_default(jt_dn_config *c) {
    memset(c, 0, sizeof *c);
    c->method = JT_DN_JATP;
    c->alpha = 5.0;
    c->beta = 3.0;
    c->augment = 1;
    c->clip_grad = -1;
    c->warmup = -1;
    c->epochs = -1;
    c->fpgd_dist = JT_DIST_MSE;
}

jt_status jt_dn_preset(jt_ctx *ctx, const char *name, jt_dn_config *c) {
    int rrdb = c->method == JT_DN_JATP || c->method == JT_DN_NRP;
    if (strcmp(name, "ci") == 0) {
        if (rrdb && !c->denoiser) c->denoiser = "rrdb-s";
        c->subset = 2048;
        c->epochs = 1;
        c->eval_n = 512;
        if (c->method == JT_DN_JATP) c->warmup = 100, c->attack_steps = 2, c->attack_step = 0.05;
        else if (c->method == JT_DN_NRP) c->attack_steps = 20, c->attack_step = 0.032;
        else c->attack_steps = 10, c->attack_step = 0.02;
    } else if (strcmp(name, "fmnist") == 0) {
        if (rrdb && !c->denoiser) c->denoiser = "rrdb-s";
        c->epochs = 3;
        c->eval_n = 2000;
        if (c->method == JT_DN_JATP) c->warmup = 300, c->attack_steps = 5, c->attack_step = 0.025;
        else if (c->method != JT_DN_NRP) c->attack_steps = 10, c->attack_step = 0.02;
    } else if (strcmp(name, "fmnist-m") == 0) {
        if (rrdb && !c->denoiser) c->denoiser = "rrdb-m";
        c->epochs = 3;
        c->eval_n = 2000;
        if (c->method == JT_DN_JATP) c->warmup = 300, c->attack_steps = 10, c->attack_step = 0.02;
    } else {
        return ctx ? jt_fail(ctx, JT_ERR_ARG, "unknown preset '%s' (ci, fmnist, fmnist-m)", name) : JT_ERR_ARG;
    }
    c->preset = name;
    return JT_OK;
}

jt_status jt_dn_config_resolve(jt_ctx *ctx, const jt_dn_config *in, int64_t c, int64_t h, int64_t w, jt_dn_config *o) {
    *o = *in;
    int fm = c == 1 && h == 28 && w == 28;
    double scale = fm ? 0.1 / (8.0 / 255.0) : 1.0;
    jt_dn_method m = o->method;
    if ((unsigned)m > JT_DN_NRP) return jt_fail(ctx, JT_ERR_ARG, "denoiser training: unknown method %d", (int)m);
    if (o->preset && !fm)
        return jt_fail(ctx, JT_ERR_ARG, "preset '%s' is for Fashion-MNIST (1x28x28 images), the data are %lldx%lldx%lld",
                       o->preset, (long long)c, (long long)h, (long long)w);
    if (o->joint && m != JT_DN_JATP) return jt_fail(ctx, JT_ERR_ARG, "--joint (JATP') is a jatp option, not %s", method_names[m]);
    if (o->hgd_fgd && m != JT_DN_HGD) return jt_fail(ctx, JT_ERR_ARG, "FGD guidance is an hgd option");
    if ((unsigned)o->loss >= JT_DN_LOSS_COUNT) return jt_fail(ctx, JT_ERR_ARG, "unknown loss variant %d", (int)o->loss);
    if (o->examples == JT_DN_EX_DEFAULT) o->examples = m == JT_DN_JATP ? JT_DN_EX_FULL : JT_DN_EX_OBLIVIOUS;
    if (o->eps <= 0) o->eps = fm ? 0.1 : 8.0 / 255.0;
    if (o->attack_steps <= 0) o->attack_steps = m == JT_DN_JATP ? 10 : (m == JT_DN_NRP ? 100 : 40);
    if (o->attack_step <= 0) o->attack_step = (m == JT_DN_HGD || m == JT_DN_APEG ? 0.007 : 0.01) * scale;
    if (o->epochs < 0) o->epochs = 30;
    if (o->batch <= 0) o->batch = 128;
    if (o->lr <= 0) o->lr = m == JT_DN_JATP ? 1e-2 : m == JT_DN_HGD ? 1e-3 : m == JT_DN_APEG ? 2e-4 : 1e-4;
    if (o->clip_grad < 0) o->clip_grad = m == JT_DN_JATP ? 1.0 : 0.0;
    if (o->warmup < 0) o->warmup = 0;
    if (o->epochs == 0 && o->warmup == 0)
        return jt_fail(ctx, JT_ERR_ARG, "0 epochs without an identity warm-up trains nothing (0 epochs is meant with "
                                        "--warmup N: the warm-up alone, e.g. one shared starting point for several "
                                        "denoisers)");
    if (o->epochs == 0 && o->joint) return jt_fail(ctx, JT_ERR_ARG, "--joint with 0 epochs trains no T");
    if (m == JT_DN_NRP) o->augment = 0; /* the SSP examples are cached per image */
    if (!(o->alpha >= 0) || !(o->beta >= 0) || !isfinite(o->alpha) || !isfinite(o->beta))
        return jt_fail(ctx, JT_ERR_ARG, "alpha and beta must be finite and >= 0 (got %g, %g)", o->alpha, o->beta);
    if (!(o->eps < 1) || !(o->attack_step < 1) || !isfinite(o->lr) || !isfinite(o->clip_grad))
        return jt_fail(ctx, JT_ERR_ARG, "eps, attack step, lr and clip must be finite (eps and step < 1)");
    if (o->subset < 0 || o->checkpoint_every < 0 || o->eval_n < 0 || o->max_steps < 0)
        return jt_fail(ctx, JT_ERR_ARG, "subset, checkpoint interval, evaluation size and max steps must be >= 0");
    if (m == JT_DN_JATP) {
        double a, b;
        jt_jatp_options op;
        jt_dn_loss_terms(o->loss, o->alpha, o->beta, &o->sw, &a, &b, &op);
        if (op.no_bce && a == 0 && b == 0)
            return jt_fail(ctx, JT_ERR_ARG, "loss '%s' with alpha %g and beta %g leaves no term to train", loss_names[o->loss],
                           o->alpha, o->beta);
    }
    if (o->resume && !o->checkpoint) return jt_fail(ctx, JT_ERR_ARG, "resuming needs a checkpoint path");
    return JT_OK;
}

static const char *default_denoiser(jt_dn_method m, int64_t c, int64_t h, int64_t w) {
    if (m == JT_DN_HGD) return "dunet";
    if (m == JT_DN_APEG) return "apeg-g";
    if (c == 3 && h == 32 && w == 32) return "nrp3";
    return "rrdb-s";
}

/* ---- run state ---- */

typedef struct dn_stepper {
    dn_sgraph sg;
    jt_step *st;
    jt_tensor *in;               /* per-run user inputs (g->inputs order, lr/step excluded) */
    int32_t *in_val;             /* their value ids */
    int n_in;
    int out_la, out_ln;          /* plan output positions of the logits (-1: none) */
    int dirty;                   /* device: host storage changed, rebuild the plan before the next run */
    int active;
} dn_stepper;

typedef struct dn_run {
    jt_ctx *ctx;
    jt_dn_config cfg;
    const jt_dataset *train, *test;
    int64_t C, H, W, d, B;
    int device;                  /* 1 on a device backend */
    dn_model P, T, D;
    dn_stepper main, dstep, warm;
    jt_oracle *oF, *oT;
    int oF_dirty;
    jt_graph *ckg;
    void *backup;
    size_t backup_bytes;
    float *x, *xadv, *xt, *ssp;
    uint8_t *ssp_have;
    int64_t *y, *idx, *yt, *pred;
    int nt;
    jt_loader *loader, *wloader;
    int64_t nb, nbw, total;
    jt_train_log log;
    int log_open;
    float *logits, *u;
    int64_t K;
    char fingerprint[1024];
} dn_run;

static void note(dn_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(dn_run *r, const char *fmt, ...) {
    if (r->cfg.quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[train denoiser] ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- steppers ---- */

static void stepper_free(dn_stepper *s) {
    jt_step_free(s->st);
    dn_sgraph_free(&s->sg);
    free(s->in);
    free(s->in_val);
    memset(s, 0, sizeof *s);
}

static jt_status stepper_create(dn_run *r, dn_stepper *s, jt_optimizer opt, double momentum, double wd, double clip,
                                double b1, double b2, const char *optname) {
    jt_ctx *ctx = r->ctx;
    jt_graph *g = s->sg.g;
    s->out_la = s->out_ln = -1;
    if (s->sg.borrow) /* the other model's parameters: inputs bound to the owner's storage */
        for (int32_t v = 0; v < g->n_values; v++) {
            jt_value *x = &g->values[v];
            if (!(x->flags & JT_VALUE_PARAM) || !x->data || !dn_starts_with(x->name, s->sg.borrow)) continue;
            x->flags = JT_VALUE_INPUT;
            x->data = NULL;
            JT_TRY(jt_graph_add_input(ctx, g, v));
        }
    if (s->sg.logits_adv >= 0) {
        JT_TRY(jt_graph_add_output(ctx, g, s->sg.logits_adv));
        s->out_la = g->n_outputs - 1;
    }
    if (s->sg.logits_nat >= 0) {
        JT_TRY(jt_graph_add_output(ctx, g, s->sg.logits_nat));
        s->out_ln = g->n_outputs - 1;
    }
    int np = 0;
    for (int k = 0; k < 2; k++)
        if (s->sg.own[k]) np += dn_trainable(g, s->sg.own[k], NULL, 0);
    int32_t *params = malloc(sizeof(int32_t) * (size_t)(np + 1));
    s->n_in = g->n_inputs;
    s->in = calloc((size_t)s->n_in + 1, sizeof *s->in);
    s->in_val = calloc((size_t)s->n_in + 1, sizeof *s->in_val);
    if (!params || !s->in || !s->in_val) {
        free(params);
        return jt_fail(ctx, JT_ERR_OOM, "out of memory");
    }
    np = 0;
    for (int k = 0; k < 2; k++)
        if (s->sg.own[k]) np += dn_trainable(g, s->sg.own[k], params + np, 1 << 30);
    for (int i = 0; i < s->n_in; i++) {
        int32_t v = g->inputs[i];
        const jt_value *x = &g->values[v];
        jt_tensor *t = &s->in[i];
        memset(t, 0, sizeof *t);
        t->dtype = x->dtype;
        t->rank = x->rank;
        memcpy(t->dims, x->dims, sizeof t->dims);
        s->in_val[i] = v;
    }
    jt_step_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.optimizer = opt;
    jt_sgd_config_default(&sp.sgd);
    jt_adam_config_default(&sp.adam);
    sp.sgd.momentum = momentum;
    sp.sgd.weight_decay = wd;
    sp.sgd.clip_norm = clip;
    sp.sgd.name = optname;
    sp.adam.beta1 = b1;
    sp.adam.beta2 = b2;
    sp.adam.weight_decay = wd;
    sp.adam.clip_norm = clip;
    sp.adam.name = optname;
    sp.params = params;
    sp.n_params = np;
    sp.loss = s->sg.loss;
    sp.logs = s->sg.logs;
    sp.n_logs = s->sg.n_logs;
    sp.backend = r->cfg.backend;
    sp.update_dst = s->sg.udst;
    sp.update_src = s->sg.usrc;
    sp.n_updates = s->sg.n_upd;
    jt_status st = jt_step_create(ctx, g, &sp, s->in, s->n_in, &s->st);
    free(params);
    if (st != JT_OK) {
        jt_error_prefix(ctx, "%s", g->name);
        return st;
    }
    /* per-run data */
    for (int i = 0; i < s->n_in; i++) {
        int32_t v = s->in_val[i];
        if (v == s->sg.x_adv) s->in[i].data = r->xadv;
        else if (v == s->sg.x) s->in[i].data = r->x;
        else if (v == s->sg.y) s->in[i].data = r->y;
    }
    s->active = 1;
    return JT_OK;
}

/* Binds the borrowed inputs of s to the storage of the stepper owning them. */
static jt_status stepper_bind_borrowed(dn_run *r, dn_stepper *s, const dn_stepper *owner) {
    for (int i = 0; i < s->n_in; i++) {
        if (s->in[i].data) continue;
        const char *nm = s->sg.g->values[s->in_val[i]].name;
        int32_t o = jt_graph_find_value(owner->sg.g, nm);
        if (o < 0 || !owner->sg.g->values[o].data)
            return jt_fail(r->ctx, JT_ERR_INTERNAL, "%s: input '%s' has no storage in %s", s->sg.g->name, nm,
                           owner->sg.g->name);
        s->in[i].data = owner->sg.g->values[o].data;
    }
    return JT_OK;
}

static jt_status stepper_replan(dn_run *r, dn_stepper *s) {
    s->dirty = 0;
    if (!r->device || !s->active) return JT_OK;
    jt_plan_free(s->st->plan);
    s->st->plan = NULL;
    jt_plan_options po;
    jt_plan_options_default(&po);
    po.fold_params = 0;
    po.update_dst = s->st->upd_dst;
    po.update_src = s->st->upd_src;
    po.n_updates = s->st->os.n_updates + s->sg.n_upd;
    po.backend = r->cfg.backend;
    return jt_plan_create(r->ctx, s->sg.g, s->st->bound, s->sg.g->n_inputs, &po, &s->st->plan);
}

static void mark_all_dirty(dn_run *r) {
    r->main.dirty = r->dstep.dirty = r->warm.dirty = 1;
    r->oF_dirty = 1;
}

/* Runs one step: loss, logs (n = s->sg.n_logs), accuracies of the logits outputs (%, NaN when absent). */
static jt_status stepper_run(dn_run *r, dn_stepper *s, double lr, int64_t step_no, double *loss, double *logs,
                             double *acc_adv, double *acc_nat) {
    if (s->dirty) JT_TRY(stepper_replan(r, s));
    JT_TRY(jt_step_run(s->st, s->in, lr, step_no, loss, logs));
    if (r->device) JT_TRY(jt_plan_sync_params(s->st->plan));
    for (int k = 0; k < 2; k++) {
        int o = k == 0 ? s->out_la : s->out_ln;
        double *acc = k == 0 ? acc_adv : acc_nat;
        if (!acc) continue;
        *acc = NAN;
        if (o < 0) continue;
        JT_TRY(jt_plan_output_download(s->st->plan, o, r->logits));
        int correct = 0;
        for (int64_t i = 0; i < r->B; i++) {
            const float *z = r->logits + i * r->K;
            int64_t best = 0;
            for (int64_t j = 1; j < r->K; j++)
                if (z[j] > z[best]) best = j;
            correct += best == r->y[i];
        }
        *acc = 100.0 * correct / (double)r->B;
    }
    return JT_OK;
}

/* ---- checkpoint graph: every trained value of every step graph (aliases of their storage) ---- */

static size_t vbytes(const jt_value *v) {
    size_t n = jt_dtype_size(v->dtype);
    for (int d = 0; d < v->rank; d++) n *= (size_t)v->dims[d];
    return n;
}

static jt_status ckpt_add(dn_run *r, const dn_stepper *s, const char *tag) {
    if (!s->active) return JT_OK;
    const jt_graph *g = s->sg.g;
    char name[2048];
    for (int32_t v = 0; v < g->n_values; v++) {
        const jt_value *x = &g->values[v];
        if (!(x->flags & JT_VALUE_PARAM) || (x->flags & (JT_VALUE_CONST | JT_VALUE_FROZEN)) || !x->data) continue;
        int own = 0;
        for (int k = 0; k < 2; k++) own |= s->sg.own[k] && dn_starts_with(x->name, s->sg.own[k]);
        if (!own) continue;
        snprintf(name, sizeof name, "%s%s", tag, x->name);
        if (jt_graph_find_value(r->ckg, name) >= 0) continue;
        int32_t id;
        JT_TRY(jt_graph_add_value(r->ctx, r->ckg, name, &id));
        jt_value *c = &r->ckg->values[id];
        c->dtype = x->dtype;
        c->rank = x->rank;
        memcpy(c->dims, x->dims, sizeof c->dims);
        c->flags = JT_VALUE_PARAM | (x->flags & JT_VALUE_STATE);
        c->data = x->data;
        r->backup_bytes += vbytes(c);
    }
    return JT_OK;
}

static jt_status ckpt_build(dn_run *r) {
    JT_TRY(jt_graph_create(r->ctx, "denoiser-checkpoint", &r->ckg));
    JT_TRY(ckpt_add(r, &r->main, ""));
    JT_TRY(ckpt_add(r, &r->dstep, ""));
    JT_TRY(ckpt_add(r, &r->warm, "warmup/"));
    r->backup = malloc(r->backup_bytes + 1);
    if (!r->backup) return jt_fail(r->ctx, JT_ERR_OOM, "out of memory for the parameter backup (%zu bytes)", r->backup_bytes);
    return JT_OK;
}

static void backup_copy(dn_run *r, int restore) {
    unsigned char *p = r->backup;
    for (int32_t v = 0; v < r->ckg->n_values; v++) {
        jt_value *x = &r->ckg->values[v];
        size_t n = vbytes(x);
        if (restore) memcpy(x->data, p, n);
        else memcpy(p, x->data, n);
        p += n;
    }
}

/* The first trained value holding a NaN or inf, or NULL. */
static const char *nonfinite_value(const dn_run *r) {
    for (int32_t v = 0; v < r->ckg->n_values; v++) {
        const jt_value *x = &r->ckg->values[v];
        size_t n = vbytes(x) / (jt_dtype_size(x->dtype) ? jt_dtype_size(x->dtype) : 1);
        if (x->dtype == JT_F32) {
            const float *f = x->data;
            for (size_t i = 0; i < n; i++)
                if (!isfinite(f[i])) return x->name;
        } else if (x->dtype == JT_F64) {
            const double *f = x->data;
            for (size_t i = 0; i < n; i++)
                if (!isfinite(f[i])) return x->name;
        }
    }
    return NULL;
}

static jt_status ckpt_save(dn_run *r, int64_t step) {
    if (!r->cfg.checkpoint) return JT_OK;
    jt_train_meta m;
    memset(&m, 0, sizeof m);
    m.step = step;
    int64_t s = step - r->cfg.warmup;
    m.epoch = s < 0 ? 0 : s / r->nb;
    m.data_pos = s < 0 ? 0 : (s % r->nb) * r->B;
    m.seed = r->cfg.seed;
    m.config = r->fingerprint;
    m.config_len = strlen(r->fingerprint);
    jt_status st = jt_checkpoint_save(r->ctx, r->cfg.checkpoint, r->ckg, &m);
    if (st != JT_OK) jt_error_prefix(r->ctx, "writing the checkpoint");
    return st;
}

static void make_fingerprint(dn_run *r) {
    const jt_dn_config *c = &r->cfg;
    snprintf(r->fingerprint, sizeof r->fingerprint,
             "{\"kind\":\"jatp.denoiser/1\",\"method\":\"%s\",\"denoiser\":\"%s\",\"discriminator\":\"%s\","
             "\"examples\":\"%s\",\"joint\":%d,\"loss\":\"%s\",\"alpha\":%.17g,\"beta\":%.17g,\"bce_as_ce\":%d,"
             "\"w_one\":%d,\"pix_l2norm\":%d,\"fgd\":%d,\"eps\":%.17g,\"attack_steps\":%d,\"attack_step\":%.17g,"
             "\"fpgd_dist\":\"%s\",\"epochs\":%d,\"batch\":%d,\"train_images\":%lld,\"augment\":%d,\"warmup\":%d,"
             "\"seed\":%llu,\"shape\":[%lld,%lld,%lld],\"tap\":\"%s\"}",
             method_names[c->method], r->P.name, r->D.eval ? r->D.name : "", c->examples == JT_DN_EX_FULL ? "full" : "oblivious",
             c->joint, loss_names[c->loss], c->alpha, c->beta, (int)c->sw.bce_as_ce, (int)c->sw.w_one,
             (int)c->sw.pix_l2norm, c->hgd_fgd, c->eps, c->attack_steps, c->attack_step,
             c->fpgd_dist == JT_DIST_COS ? "cos" : "mse", c->epochs, c->batch, (long long)jt_loader_size(r->loader),
             c->augment, c->warmup, (unsigned long long)c->seed, (long long)r->C, (long long)r->H, (long long)r->W,
             r->T.eval->values[r->T.tap_eval].name);
}

static jt_status ckpt_resume(dn_run *r, int64_t *start) {
    jt_train_meta m;
    memset(&m, 0, sizeof m);
    jt_status st = jt_checkpoint_load(r->ctx, r->cfg.checkpoint, r->ckg, &m);
    if (st != JT_OK) {
        jt_error_prefix(r->ctx, "resuming");
        return st;
    }
    if (!m.config || strcmp(m.config, r->fingerprint) != 0) {
        jt_fail(r->ctx, JT_ERR_ARG,
                "%s: the checkpoint was written by another configuration; resume with the same settings (lr, clipping, "
                "logging and evaluation may change)",
                r->cfg.checkpoint);
        jt_error_append(r->ctx, "  checkpoint: %s", m.config ? m.config : "(none)");
        jt_error_append(r->ctx, "  this run:   %s", r->fingerprint);
        jt_train_meta_free(&m);
        return JT_ERR_ARG;
    }
    if (m.step < 0 || m.step > r->total) {
        jt_train_meta_free(&m);
        return jt_fail(r->ctx, JT_ERR_ARG, "%s: step %lld outside the run's %lld steps", r->cfg.checkpoint,
                       (long long)m.step, (long long)r->total);
    }
    *start = m.step;
    jt_train_meta_free(&m);
    mark_all_dirty(r);
    return JT_OK;
}

/* ---- oracles, evaluation, examples ---- */

static jt_status refresh_oracles(dn_run *r) {
    if (!r->oF_dirty) return JT_OK;
    JT_TRY(jt_graph_oracle_set_params(r->oF, r->main.sg.g, "P/", r->cfg.joint ? "T/" : NULL));
    if (r->cfg.joint) JT_TRY(jt_graph_oracle_set_params(r->oT, r->main.sg.g, NULL, "T/"));
    r->oF_dirty = 0;
    return JT_OK;
}

static jt_status eval_acc(dn_run *r, jt_oracle *o, double *acc) {
    *acc = NAN;
    if (r->nt <= 0) return JT_OK;
    JT_TRY(jt_oracle_predict(o, r->xt, r->nt, r->pred, NULL));
    int correct = 0;
    for (int i = 0; i < r->nt; i++) correct += r->pred[i] == r->yt[i];
    *acc = 100.0 * correct / r->nt;
    return JT_OK;
}

static jt_status make_examples(dn_run *r, int64_t epoch) {
    const jt_dn_config *c = &r->cfg;
    jt_dn_attack a = {.eps = c->eps, .step = c->attack_step, .steps = c->attack_steps,
                      .dist = c->fpgd_dist == JT_DIST_COS ? JT_FEAT_COS : JT_FEAT_L2, .seed = c->seed,
                      .epoch = (uint64_t)epoch};
    int full = c->examples == JT_DN_EX_FULL;
    if (full) JT_TRY(refresh_oracles(r));
    jt_oracle *o = full ? r->oF : r->oT;
    int n = (int)r->B;
    if (c->method == JT_DN_JATP) return jt_dn_fpgd(o, &a, r->x, r->idx, n, NULL, r->xadv, NULL);
    if (c->method != JT_DN_NRP) return jt_dn_pgd_ce(o, &a, r->x, r->y, r->idx, n, r->xadv);
    a.epoch = 0;
    if (full) return jt_dn_ssp(r->oF, r->oT, &a, r->x, r->idx, n, r->xadv);
    /* oblivious SSP: computed once per image and cached */
    int64_t ntr = jt_loader_size(r->loader), d = r->d;
    if (!r->ssp) {
        r->ssp = malloc(sizeof(float) * (size_t)ntr * (size_t)d);
        r->ssp_have = calloc((size_t)ntr, 1);
        if (!r->ssp || !r->ssp_have)
            return jt_fail(r->ctx, JT_ERR_OOM, "out of memory for the SSP example cache (%lld images)", (long long)ntr);
    }
    int m = 0;
    /* gather the missing ones at the front of a scratch copy */
    float *sx = malloc(sizeof(float) * (size_t)n * (size_t)d), *sv = malloc(sizeof(float) * (size_t)n * (size_t)d);
    int64_t *si = malloc(sizeof(int64_t) * (size_t)n);
    jt_status st = JT_OK;
    if (!sx || !sv || !si) st = jt_fail(r->ctx, JT_ERR_OOM, "out of memory");
    for (int k = 0; st == JT_OK && k < n; k++) {
        int64_t i = r->idx[k];
        if (r->ssp_have[i]) continue;
        int dup = 0;
        for (int j = 0; j < m; j++) dup |= si[j] == i;
        if (dup) continue;
        memcpy(sx + (size_t)m * d, r->x + (size_t)k * d, sizeof(float) * (size_t)d);
        si[m++] = i;
    }
    if (st == JT_OK && m > 0) st = jt_dn_ssp(r->oT, r->oT, &a, sx, si, m, sv);
    for (int j = 0; st == JT_OK && j < m; j++) {
        memcpy(r->ssp + (size_t)si[j] * d, sv + (size_t)j * d, sizeof(float) * (size_t)d);
        r->ssp_have[si[j]] = 1;
    }
    for (int k = 0; st == JT_OK && k < n; k++)
        memcpy(r->xadv + (size_t)k * d, r->ssp + (size_t)r->idx[k] * d, sizeof(float) * (size_t)d);
    free(sx);
    free(sv);
    free(si);
    return st;
}

/* ---- one step of each kind ---- */

typedef struct step_out {
    int n;
    const char *names[12];
    double v[12];
    double lr;
    int64_t epoch; /* 1-based; 0 in the warm-up */
} step_out;

static void put(step_out *o, const char *name, double v) {
    if (o->n < 12) {
        o->names[o->n] = name;
        o->v[o->n++] = v;
    }
}

static jt_status do_warmup(dn_run *r, int64_t i, step_out *o) {
    int cnt;
    JT_TRY(jt_loader_batch(r->wloader, i / r->nbw, i % r->nbw, r->x, r->y, r->idx, &cnt));
    float eps = (float)r->cfg.eps;
    for (int k = 0; k < cnt; k++) {
        dn_uniform_fill(r->cfg.seed, DN_RNG_WARMUP, (uint64_t)i, r->idx[k], r->u, r->d);
        const float *xk = r->x + (size_t)k * r->d;
        float *vk = r->xadv + (size_t)k * r->d;
        for (int64_t e = 0; e < r->d; e++) {
            float t = xk[e] + eps * (2.0f * r->u[e] - 1.0f);
            vk[e] = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
        }
    }
    double loss;
    o->lr = 1e-3;
    o->epoch = 0;
    JT_TRY(stepper_run(r, &r->warm, o->lr, i + 1, &loss, NULL, NULL, NULL));
    put(o, "loss", loss);
    return JT_OK;
}

static double lr_of(const dn_run *r, int64_t epoch1) {
    const jt_dn_config *c = &r->cfg;
    static const int m_jatp[2] = {15, 25}, m_hgd[2] = {18, 27};
    static const double f_jatp[2] = {0.1, 0.01}, f_nrp[2] = {0.5, 0.25};
    switch (c->method) {
    case JT_DN_JATP: return c->lr * jt_schedule_factor(epoch1, m_jatp, f_jatp, 2, 30, c->epochs);
    case JT_DN_HGD: return c->lr * jt_schedule_factor(epoch1, m_hgd, f_jatp, 2, 30, c->epochs);
    case JT_DN_NRP: return c->lr * jt_schedule_factor(epoch1, m_jatp, f_nrp, 2, 30, c->epochs);
    default: return c->lr;
    }
}

static jt_status do_train(dn_run *r, int64_t s, step_out *o) {
    int64_t e = s / r->nb, b = s % r->nb;
    int cnt;
    JT_TRY(jt_loader_batch(r->loader, e, b, r->x, r->y, r->idx, &cnt));
    if (cnt != r->B) return jt_fail(r->ctx, JT_ERR_INTERNAL, "loader returned %d images, expected %lld", cnt, (long long)r->B);
    JT_TRY(make_examples(r, e));
    double lr = lr_of(r, e + 1), loss, l2, logs[DN_MAX_LOGS], aa, an;
    o->lr = lr;
    o->epoch = e + 1;
    switch (r->cfg.method) {
    case JT_DN_JATP:
        JT_TRY(stepper_run(r, &r->main, lr, s + 1, &loss, logs, &aa, &an));
        put(o, "loss", loss);
        for (int k = 0; k < r->main.sg.n_logs; k++) put(o, r->main.sg.log_names[k], logs[k]);
        put(o, "acc_adv", aa);
        put(o, "acc_nat", an);
        break;
    case JT_DN_HGD:
        JT_TRY(stepper_run(r, &r->main, lr, s + 1, &loss, NULL, &aa, &an));
        put(o, "loss", loss);
        put(o, "acc_adv", aa);
        put(o, "acc_T_nat", an);
        break;
    case JT_DN_APEG:
        JT_TRY(stepper_run(r, &r->dstep, lr, s + 1, &loss, NULL, NULL, NULL));
        JT_TRY(stepper_run(r, &r->main, lr, 2 * s + 1, &l2, logs, &aa, NULL));
        JT_TRY(stepper_run(r, &r->main, lr, 2 * s + 2, &l2, logs, &aa, NULL));
        put(o, "loss_d", loss);
        put(o, "loss_g", l2);
        put(o, "mse", logs[0]);
        put(o, "acc_adv", aa);
        break;
    case JT_DN_NRP:
        JT_TRY(stepper_run(r, &r->dstep, lr, s + 1, &loss, NULL, NULL, NULL));
        JT_TRY(stepper_run(r, &r->main, lr, s + 1, &l2, logs, &aa, &an));
        put(o, "loss_d", loss);
        put(o, "loss_p", l2);
        for (int k = 0; k < r->main.sg.n_logs; k++) put(o, r->main.sg.log_names[k], logs[k]);
        put(o, "acc_adv", aa);
        break;
    }
    r->oF_dirty = 1;
    return JT_OK;
}

/* ---- export ---- */

static jt_status export_models(dn_run *r) {
    if (r->cfg.out) {
        JT_TRY(dn_copy_values(r->ctx, r->P.eval, "", r->main.sg.g, "P/", NULL));
        jt_status st = jt_onnx_save(r->ctx, r->P.eval, r->cfg.out, NULL);
        if (st != JT_OK) {
            jt_error_prefix(r->ctx, "writing P");
            return st;
        }
    }
    if (r->cfg.out_target && r->cfg.joint) {
        JT_TRY(dn_copy_values(r->ctx, r->T.eval, "", r->main.sg.g, "T/", NULL));
        jt_status st = jt_onnx_save(r->ctx, r->T.eval, r->cfg.out_target, NULL);
        if (st != JT_OK) {
            jt_error_prefix(r->ctx, "writing the updated target");
            return st;
        }
    }
    return JT_OK;
}

/* ---- setup ---- */

static jt_status setup_models(dn_run *r, const jt_graph *T, const char *tap, jt_dn_result *res) {
    jt_ctx *ctx = r->ctx;
    const jt_dn_config *c = &r->cfg;
    const jt_value *tin = T->n_inputs == 1 ? &T->values[T->inputs[0]] : NULL;
    if (!tin || tin->rank != 4)
        return jt_fail(ctx, JT_ERR_ARG, "%s: the target must have one image input [N, C, H, W]", T->source);
    if (tin->dims[0] > 0)
        return jt_fail(ctx, JT_ERR_ARG,
                       "%s: the target's batch dimension is fixed to %lld; export it with a dynamic batch axis "
                       "(torch.onnx.export(..., dynamic_axes={'input': {0: 'N'}}))",
                       T->source, (long long)tin->dims[0]);
    for (int k = 1; k < 4; k++) {
        int64_t want = k == 1 ? r->C : k == 2 ? r->H : r->W;
        if (tin->dims[k] > 0 && tin->dims[k] != want)
            return jt_fail(ctx, JT_ERR_ARG, "%s: the target takes %lldx%lldx%lld images, the data are %lldx%lldx%lld",
                           T->source, (long long)tin->dims[1], (long long)tin->dims[2], (long long)tin->dims[3],
                           (long long)r->C, (long long)r->H, (long long)r->W);
    }
    JT_TRY(dn_model_from_graph(ctx, T, "target", &r->T));
    r->T.c = r->C, r->T.h = r->H, r->T.w = r->W;
    JT_TRY(dn_model_set_tap(ctx, &r->T, tap));
    snprintf(res->tap, sizeof res->tap, "%s", r->T.eval->values[r->T.tap_eval].name);
    if (c->joint && r->T.n_bn == 0)
        note(r, "note: the target has no BatchNormalization (folded at export?): JATP' trains its weights as in the "
                "file, without batch statistics");
    if (c->denoiser_graph) {
        JT_TRY(dn_model_from_graph(ctx, c->denoiser_graph, c->denoiser ? c->denoiser : c->denoiser_graph->source, &r->P));
    } else {
        const char *spec = c->denoiser ? c->denoiser : default_denoiser(c->method, r->C, r->H, r->W);
        JT_TRY(dn_model_from_builder(ctx, spec, r->C, r->H, r->W, c->seed, &r->P));
    }
    r->P.c = r->C, r->P.h = r->H, r->P.w = r->W;
    snprintf(res->denoiser, sizeof res->denoiser, "%s", r->P.name);
    if (c->method == JT_DN_APEG || c->method == JT_DN_NRP) {
        const char *spec = c->discriminator ? c->discriminator : c->method == JT_DN_APEG ? "apeg-d" : "nrp-disc";
        JT_TRY(dn_model_from_builder(ctx, spec, r->C, r->H, r->W, c->seed + 1, &r->D));
    }
    /* oracles: T alone and T∘P (eval mode; their creation checks the shapes) */
    char tapname[1100];
    snprintf(tapname, sizeof tapname, "T/%s", res->tap);
    jt_graph_oracle_config oc;
    jt_graph_oracle_config_default(&oc);
    oc.max_batch = (int)r->B;
    oc.backend = c->backend;
    oc.tap = tapname;
    jt_status st = jt_graph_oracle_create(ctx, r->T.eval, NULL, r->C, r->H, r->W, &oc, &r->oT);
    if (st == JT_OK) st = jt_graph_oracle_create(ctx, r->T.eval, r->P.eval, r->C, r->H, r->W, &oc, &r->oF);
    if (st != JT_OK) {
        jt_error_prefix(ctx, "target %s, pre-processor %s", T->source, r->P.name);
        return st;
    }
    r->K = r->oT->n_classes;
    return JT_OK;
}

static jt_status setup_steps(dn_run *r) {
    jt_ctx *ctx = r->ctx;
    const jt_dn_config *c = &r->cfg;
    double clip = c->clip_grad;
    switch (c->method) {
    case JT_DN_JATP:
        JT_TRY(dn_graph_jatp(ctx, &r->P, &r->T, r->B, c, &r->main.sg));
        JT_TRY(stepper_create(r, &r->main, JT_OPT_SGD, 0.9, 2e-4, clip, 0, 0, "optim"));
        break;
    case JT_DN_HGD:
        JT_TRY(dn_graph_hgd(ctx, &r->P, &r->T, r->B, c, &r->main.sg));
        JT_TRY(stepper_create(r, &r->main, JT_OPT_ADAM, 0, 0, clip, 0.9, 0.999, "optim"));
        break;
    case JT_DN_APEG:
    case JT_DN_NRP: {
        double b1 = c->method == JT_DN_APEG ? 0.5 : 0.9, b2 = c->method == JT_DN_APEG ? 0.999 : 0.99;
        JT_TRY(dn_graph_gan_p(ctx, c->method, &r->P, &r->D, &r->T, r->B, &r->main.sg));
        JT_TRY(stepper_create(r, &r->main, JT_OPT_ADAM, 0, 0, clip, b1, b2, "optim"));
        JT_TRY(dn_graph_gan_d(ctx, c->method, &r->P, &r->D, r->B, &r->dstep.sg));
        JT_TRY(stepper_create(r, &r->dstep, JT_OPT_ADAM, 0, 0, clip, b1, b2, "optim_d"));
        JT_TRY(stepper_bind_borrowed(r, &r->main, &r->dstep));
        JT_TRY(stepper_bind_borrowed(r, &r->dstep, &r->main));
        break;
    }
    }
    if (c->warmup > 0) {
        JT_TRY(dn_graph_warmup(ctx, &r->P, r->B, &r->warm.sg));
        JT_TRY(stepper_create(r, &r->warm, JT_OPT_ADAM, 0, 0, 0, 0.9, 0.999, "warmup"));
    }
    return ckpt_build(r);
}

static jt_status setup_data(dn_run *r) {
    jt_ctx *ctx = r->ctx;
    const jt_dn_config *c = &r->cfg;
    jt_loader_config lc;
    jt_loader_config_default(&lc);
    lc.batch = (int)r->B;
    lc.shuffle = 1;
    lc.crop_pad = c->augment ? (r->H >= 32 ? 4 : 2) : 0;
    lc.flip = c->augment ? 1 : 0;
    lc.drop_last = 1;
    lc.subset = c->subset;
    lc.seed = c->seed;
    JT_TRY(jt_loader_create(ctx, r->train, &lc, &r->loader));
    lc.seed = c->seed ^ 0x5741524D55505ull; /* the warm-up's own order */
    JT_TRY(jt_loader_create(ctx, r->train, &lc, &r->wloader));
    r->nb = jt_loader_batches_per_epoch(r->loader);
    r->nbw = jt_loader_batches_per_epoch(r->wloader);
    if (r->nb < 1)
        return jt_fail(ctx, JT_ERR_ARG, "%lld training images make no batch of %lld (lower --batch or raise --subset)",
                       (long long)jt_loader_size(r->loader), (long long)r->B);
    r->total = (int64_t)c->warmup + (int64_t)c->epochs * r->nb;
    if (r->test && c->eval_n > 0) {
        r->nt = (int)(c->eval_n < r->test->n ? c->eval_n : r->test->n);
        r->xt = malloc(sizeof(float) * (size_t)r->nt * (size_t)r->d);
        r->yt = malloc(sizeof(int64_t) * (size_t)r->nt);
        r->pred = malloc(sizeof(int64_t) * (size_t)r->nt);
        int64_t *ti = malloc(sizeof(int64_t) * (size_t)r->nt);
        if (!r->xt || !r->yt || !r->pred || !ti) {
            free(ti);
            return jt_fail(ctx, JT_ERR_OOM, "out of memory for %d evaluation images", r->nt);
        }
        for (int i = 0; i < r->nt; i++) ti[i] = i;
        jt_dataset_batch(r->test, ti, r->nt, r->xt, r->yt);
        free(ti);
    }
    return JT_OK;
}

static void run_free(dn_run *r) {
    stepper_free(&r->main);
    stepper_free(&r->dstep);
    stepper_free(&r->warm);
    jt_oracle_free(r->oF);
    jt_oracle_free(r->oT);
    dn_model_free(&r->P);
    dn_model_free(&r->T);
    dn_model_free(&r->D);
    jt_graph_free(r->ckg);
    jt_loader_free(r->loader);
    jt_loader_free(r->wloader);
    if (r->log_open) jt_train_log_close(&r->log);
    free(r->backup);
    free(r->x);
    free(r->xadv);
    free(r->xt);
    free(r->ssp);
    free(r->ssp_have);
    free(r->y);
    free(r->idx);
    free(r->yt);
    free(r->pred);
    free(r->logits);
    free(r->u);
    free(r);
}

static void log_event(dn_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_event(dn_run *r, const char *fmt, ...) {
    if (!r->log_open) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    jt_train_log_event(&r->log, buf);
}

static double jnum(double v) { return isfinite(v) ? v : -1.0; }

static jt_status epoch_eval(dn_run *r, int64_t epoch1, jt_dn_result *res) {
    if (r->nt <= 0) return JT_OK;
    JT_TRY(refresh_oracles(r));
    double af, at = res->nat_acc_T;
    JT_TRY(eval_acc(r, r->oF, &af));
    if (r->cfg.joint) JT_TRY(eval_acc(r, r->oT, &at));
    res->nat_acc_F = af;
    res->nat_acc_T = at;
    note(r, "epoch %lld: natural accuracy on %d test images: F = T∘P %.2f%%, T %.2f%%", (long long)epoch1, r->nt, af, at);
    log_event(r, "{\"event\":\"eval\",\"epoch\":%lld,\"images\":%d,\"nat_acc_F\":%.4f,\"nat_acc_T\":%.4f}",
              (long long)epoch1, r->nt, jnum(af), jnum(at));
    return JT_OK;
}

jt_status jt_dn_train(jt_ctx *ctx, const jt_dn_config *cfg_in, const jt_graph *T, const char *tap,
                      const jt_dataset *train, const jt_dataset *test, jt_dn_result *res) {
    double t0 = now_s();
    memset(res, 0, sizeof *res);
    res->nat_acc_T = res->nat_acc_F = res->last_loss = NAN;
    if (!train || train->n <= 0 || !T) return jt_fail(ctx, JT_ERR_ARG, "denoiser training: no target or no training data");
    dn_run *r = calloc(1, sizeof *r);
    if (!r) return jt_fail(ctx, JT_ERR_OOM, "out of memory");
    r->ctx = ctx;
    r->train = train;
    r->test = test;
    r->C = train->c, r->H = train->h, r->W = train->w;
    r->d = r->C * r->H * r->W;
    jt_status st = jt_dn_config_resolve(ctx, cfg_in, r->C, r->H, r->W, &r->cfg);
    const jt_dn_config *c = &r->cfg;
    r->device = c->backend && jt_backend_device(c->backend).kind != JT_DEV_CPU;
    r->B = c->batch;
    if (st == JT_OK && test && (test->c != train->c || test->h != train->h || test->w != train->w))
        st = jt_fail(ctx, JT_ERR_ARG, "the test images (%dx%dx%d) differ from the training images (%dx%dx%d)", test->c,
                     test->h, test->w, train->c, train->h, train->w);
    if (st == JT_OK) {
        size_t nd = (size_t)r->B * (size_t)r->d;
        r->x = malloc(sizeof(float) * nd);
        r->xadv = malloc(sizeof(float) * nd);
        r->y = malloc(sizeof(int64_t) * (size_t)r->B);
        r->idx = malloc(sizeof(int64_t) * (size_t)r->B);
        r->u = malloc(sizeof(float) * ((size_t)r->d + 4));
        if (!r->x || !r->xadv || !r->y || !r->idx || !r->u) st = jt_fail(ctx, JT_ERR_OOM, "out of memory");
    }
    if (st == JT_OK) st = setup_data(r);
    if (st == JT_OK) st = setup_models(r, T, tap, res);
    if (st == JT_OK) {
        r->logits = malloc(sizeof(float) * (size_t)(2 * r->B * r->K));
        if (!r->logits) st = jt_fail(ctx, JT_ERR_OOM, "out of memory");
    }
    if (st == JT_OK) st = setup_steps(r);
    if (st != JT_OK) {
        run_free(r);
        return st;
    }
    make_fingerprint(r);
    res->total_steps = r->total;
    int64_t start = 0;
    if (c->resume) st = ckpt_resume(r, &start);
    if (st == JT_OK) st = jt_train_log_open(ctx, &r->log, method_names[c->method], c->log_path, c->resume, c->quiet, r->total);
    if (st == JT_OK) r->log_open = 1;
    if (st == JT_OK) {
        log_event(r, "{\"event\":\"%s\",\"step\":%lld,\"total_steps\":%lld,\"config\":%s}", c->resume ? "resume" : "start",
                  (long long)start, (long long)r->total, r->fingerprint);
        note(r, "%s: P = %s (%lld parameters), T tap '%s', %s examples, %lld images x %d epochs (batch %lld, %lld "
                "steps/epoch)%s%s, %lld steps in all%s",
             method_names[c->method], r->P.name, (long long)jt_model_count_params(r->P.eval), res->tap,
             c->examples == JT_DN_EX_FULL ? "full" : "oblivious", (long long)jt_loader_size(r->loader), c->epochs,
             (long long)r->B, (long long)r->nb, c->warmup > 0 ? ", identity warm-up " : "",
             c->warmup > 0 ? "on" : "", (long long)r->total, c->resume ? " (resumed)" : "");
        if (r->nt > 0) {
            st = eval_acc(r, r->oT, &res->nat_acc_T);
            if (st == JT_OK) note(r, "target alone: natural accuracy %.2f%% on %d test images", res->nat_acc_T, r->nt);
        }
    }
    int64_t step = start;
    res->steps = start;
    step_out o;
    while (st == JT_OK && step < r->total) {
        backup_copy(r, 0);
        memset(&o, 0, sizeof o);
        int warm = step < c->warmup;
        st = warm ? do_warmup(r, step, &o) : do_train(r, step - c->warmup, &o);
        if (st != JT_OK) break;
        /* NaN / inf: restore the state before this step and stop */
        const char *bad = NULL;
        for (int k = 0; k < o.n && !bad; k++) {
            if (strncmp(o.names[k], "acc", 3) == 0) continue; /* accuracies: NaN when not computed */
            if (!isfinite(o.v[k])) bad = o.names[k];
        }
        const char *badp = bad ? NULL : nonfinite_value(r);
        if (bad || badp) {
            double v = NAN;
            for (int k = 0; k < o.n; k++)
                if (bad && strcmp(o.names[k], bad) == 0) v = o.v[k];
            backup_copy(r, 1);
            mark_all_dirty(r);
            res->nonfinite = 1;
            res->steps = step;
            jt_status s2 = ckpt_save(r, step);
            log_event(r, "{\"event\":\"stop\",\"reason\":\"nonfinite\",\"step\":%lld,\"what\":\"%s\"}", (long long)step + 1,
                      bad ? bad : badp);
            if (s2 != JT_OK) {
                jt_error_prefix(ctx, "non-finite training state at step %lld", (long long)step + 1);
                st = s2;
                break;
            }
            if (bad)
                st = jt_fail(ctx, JT_ERR_NUMERIC,
                             "%s: the %s%s became %g at step %lld (epoch %lld, lr %g): training stopped; %s%s holds "
                             "the last good state (after step %lld). Lower --lr or --clip-grad, then --resume",
                             method_names[c->method], bad, strncmp(bad, "loss", 4) == 0 ? "" : " term", v, (long long)step + 1, (long long)o.epoch, o.lr,
                             c->checkpoint ? "the checkpoint " : "no checkpoint path was given: nothing ",
                             c->checkpoint ? c->checkpoint : "", (long long)step);
            else
                st = jt_fail(ctx, JT_ERR_NUMERIC,
                             "%s: parameter '%s' became NaN/inf at step %lld (epoch %lld, lr %g): training stopped; %s%s "
                             "holds the last good state (after step %lld). Lower --lr or --clip-grad, then --resume",
                             method_names[c->method], badp, (long long)step + 1, (long long)o.epoch, o.lr,
                             c->checkpoint ? "the checkpoint " : "no checkpoint path was given: nothing ",
                             c->checkpoint ? c->checkpoint : "", (long long)step);
            break;
        }
        res->last_loss = o.v[0];
        jt_train_log_step(&r->log, o.epoch, step + 1, r->B, o.lr, o.names, o.v, o.n);
        step++;
        res->steps = step;
        if (warm && step == c->warmup) { /* hand the warmed-up P to the training graph */
            st = dn_copy_values(ctx, r->main.sg.g, "P/", r->warm.sg.g, "P/", NULL);
            r->main.dirty = 1;
            r->oF_dirty = 1;
            if (st == JT_OK) note(r, "identity warm-up done (%d iterations, MSE %.5f)", c->warmup, o.v[0]);
        }
        int64_t s = step - c->warmup;
        int epoch_end = !warm && s > 0 && s % r->nb == 0;
        if (st == JT_OK && step < r->total &&
            ((c->checkpoint_every > 0 && step % c->checkpoint_every == 0) || epoch_end || step == c->warmup))
            st = ckpt_save(r, step);
        if (st == JT_OK && epoch_end) st = epoch_eval(r, s / r->nb, res);
        int stop = c->stop && *c->stop;
        if (st == JT_OK && step < r->total && (stop || (c->max_steps > 0 && step >= c->max_steps))) {
            st = ckpt_save(r, step);
            if (st == JT_OK) {
                res->interrupted = 1;
                log_event(r, "{\"event\":\"stop\",\"reason\":\"%s\",\"step\":%lld}", stop ? "interrupted" : "max_steps",
                          (long long)step);
                note(r, "stopped after step %lld of %lld%s%s", (long long)step, (long long)r->total,
                     c->checkpoint ? "; resume with --resume from " : "", c->checkpoint ? c->checkpoint : "");
            }
            break;
        }
    }
    if (st == JT_OK && !res->interrupted) {
        st = ckpt_save(r, step);
        if (st == JT_OK) st = export_models(r);
        if (st == JT_OK) {
            res->finished = 1;
            log_event(r, "{\"event\":\"done\",\"step\":%lld,\"nat_acc_F\":%.4f,\"nat_acc_T\":%.4f,\"seconds\":%.3f}",
                      (long long)step, jnum(res->nat_acc_F), jnum(res->nat_acc_T), now_s() - t0);
            if (c->out) note(r, "wrote %s%s%s", c->out, c->out_target && c->joint ? " and " : "",
                             c->out_target && c->joint ? c->out_target : "");
        }
    }
    res->seconds = now_s() - t0;
    run_free(r);
    return st;
}
