/* jt_train_target: the training loop of `jatp train target` (data, schedule, logs, evaluation,
 * checkpoints, resume, stop requests, NaN detection, export). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jatp/attack.h"
#include "jatp/data.h"
#include "target_internal.h"

void jt_target_train_config_default(jt_target_train_config *c) {
    memset(c, 0, sizeof *c);
    c->recipe = JT_RECIPE_NATURAL;
    c->dataset = "fmnist";
    c->lr = c->wd = c->momentum = c->beta = c->eps = c->pgd_step = NAN;
    c->pgd_steps = -1;
    c->augment = 1;
    c->flip = -1;
    c->eval_clean = -1;
    c->eval_points = 500;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double pick(double v, double def) { return isnan(v) ? def : v; }

/* Everything resolved: the values a run (and its checkpoints) is made of. */
typedef struct run_cfg {
    jt_recipe recipe;
    char dataset[32];
    char model[256];         /* the spec as given (or the default name) */
    char model_name[64];
    jt_model_config mcfg;
    int epochs, batch;
    int64_t subset;
    double lr, wd, momentum, beta, eps, pgd_step;
    int pgd_steps, crop_pad, flip;
    uint64_t seed;
    tt_recipe_defaults def;  /* schedule */
} run_cfg;

/* The shortest of %.15g / %.16g / %.17g that reads back as the same double. */
static const char *num(char *buf, size_t cap, double v) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

static void config_json(const run_cfg *r, char *buf, size_t cap) {
    char a[6][32];
    snprintf(buf, cap,
             "{\"what\":\"jatp train target\",\"recipe\":\"%s\",\"dataset\":\"%s\",\"subset\":%lld,\"model\":\"%s\","
             "\"epochs\":%d,\"batch\":%d,\"lr\":%s,\"wd\":%s,\"momentum\":%s,\"beta\":%s,\"eps\":%s,"
             "\"pgd_steps\":%d,\"pgd_step\":%s,\"start_sigma\":0.001,\"crop_pad\":%d,\"flip\":%d,\"drop_last\":1,"
             "\"seed\":%llu}",
             jt_recipe_name(r->recipe), r->dataset, (long long)r->subset, r->model, r->epochs, r->batch,
             num(a[0], 32, r->lr), num(a[1], 32, r->wd), num(a[2], 32, r->momentum), num(a[3], 32, r->beta),
             num(a[4], 32, r->eps), r->pgd_steps, num(a[5], 32, r->pgd_step), r->crop_pad, r->flip,
             (unsigned long long)r->seed);
}

static jt_status resolve(jt_ctx *ctx, const jt_target_train_config *c, const jt_dataset *ds, run_cfg *r) {
    memset(r, 0, sizeof *r);
    if (c->recipe < 0 || c->recipe >= JT_RECIPE_COUNT)
        return jt_fail(ctx, JT_ERR_ARG, "recipe %d: expected one of %s", (int)c->recipe, jt_recipe_names());
    r->recipe = c->recipe;
    snprintf(r->dataset, sizeof r->dataset, "%s", strcmp(c->dataset, "fashion-mnist") == 0 ? "fmnist" : c->dataset);
    JT_TRY(tt_recipe_defaults_get(ctx, c->recipe, r->dataset, &r->def));
    const tt_recipe_defaults *d = &r->def;
    r->epochs = c->epochs > 0 ? c->epochs : d->epochs;
    r->batch = c->batch > 0 ? c->batch : 128;
    r->subset = c->subset > 0 && c->subset < ds->n ? c->subset : 0;
    r->lr = pick(c->lr, d->lr);
    r->wd = pick(c->wd, d->wd);
    r->momentum = pick(c->momentum, d->momentum);
    r->beta = pick(c->beta, d->beta);
    r->eps = pick(c->eps, d->eps);
    r->pgd_step = pick(c->pgd_step, d->pgd_step);
    r->pgd_steps = c->pgd_steps >= 0 ? c->pgd_steps : d->pgd_steps;
    r->crop_pad = c->augment ? d->crop_pad : 0;
    r->flip = c->augment ? (c->flip >= 0 ? c->flip : d->flip) : 0;
    r->seed = c->seed;
    if (!(r->lr > 0) || !isfinite(r->lr) || !(r->wd >= 0) || !(r->momentum >= 0) || !(r->eps >= 0) ||
        !(r->pgd_step >= 0) || !isfinite(r->beta))
        return jt_fail(ctx, JT_ERR_ARG, "lr must be > 0 and finite; wd, momentum, eps and the PGD step >= 0; beta finite");
    /* the model: default by image shape; the dataset fixes C, H, W and the classes */
    const char *spec = c->model;
    if (!spec) {
        if (ds->c == 1 && ds->h == 28 && ds->w == 28) spec = "resnet10-fm";
        else if (ds->c == 3 && ds->h == 32 && ds->w == 32) spec = "resnet18";
        else
            return jt_fail(ctx, JT_ERR_ARG, "no default model for %dx%dx%d images: give one (--model)", ds->c, ds->h,
                           ds->w);
    }
    snprintf(r->model, sizeof r->model, "%s", spec);
    JT_TRY(jt_model_spec_parse(ctx, spec, r->model_name, sizeof r->model_name, &r->mcfg));
    jt_model_config preset;
    JT_TRY(jt_model_config_preset(ctx, r->model_name, &preset));
    /* shape settings given explicitly must agree with the data; otherwise the data decides */
    if ((r->mcfg.channels != preset.channels && r->mcfg.channels != ds->c) ||
        (r->mcfg.height != preset.height && r->mcfg.height != ds->h) ||
        (r->mcfg.width != preset.width && r->mcfg.width != ds->w))
        return jt_fail(ctx, JT_ERR_ARG, "model '%s' is set to %dx%dx%d images, the dataset has %dx%dx%d", spec,
                       r->mcfg.channels, r->mcfg.height, r->mcfg.width, ds->c, ds->h, ds->w);
    r->mcfg.channels = ds->c;
    r->mcfg.height = ds->h;
    r->mcfg.width = ds->w;
    if (r->mcfg.num_classes != preset.num_classes && r->mcfg.num_classes != ds->n_classes)
        return jt_fail(ctx, JT_ERR_ARG, "model '%s' is set to %d classes, the dataset has %d", spec, r->mcfg.num_classes,
                       ds->n_classes);
    r->mcfg.num_classes = ds->n_classes;
    const char *settings = strchr(spec, ':');
    if (!settings || !strstr(settings, "seed=")) r->mcfg.seed = c->seed; /* init from the run seed unless seed= given */
    r->mcfg.train_bn = 0;
    return JT_OK;
}

/* Clean accuracy on the first n_clean test images and PGD robust accuracy on the first n_rob. */
static jt_status evaluate(jt_ctx *ctx, jt_target_trainer *t, const run_cfg *r, const jt_dataset *test, jt_backend *be,
                          int n_clean, int n_rob, double *clean, double *robust) {
    *clean = *robust = NAN;
    if (n_clean < 0 || n_clean > test->n) n_clean = (int)test->n;
    if (n_rob > test->n) n_rob = (int)test->n;
    if (n_clean == 0 && n_rob == 0) return JT_OK;
    JT_TRY(jt_target_trainer_sync(t));
    jt_graph_oracle_config oc;
    jt_graph_oracle_config_default(&oc);
    oc.backend = be;
    jt_oracle *o = NULL;
    JT_TRY(jt_graph_oracle_create(ctx, jt_target_trainer_eval_graph(t), NULL, test->c, test->h, test->w, &oc, &o));
    const int64_t d = (int64_t)test->c * test->h * test->w;
    const int chunk = 1000;
    int nmax = n_clean > n_rob ? n_clean : n_rob;
    int nb = nmax < chunk ? nmax : chunk;
    float *x = malloc((size_t)(nb ? nb : 1) * (size_t)d * sizeof *x), *xa = NULL;
    int64_t *y = malloc((size_t)(nb ? nb : 1) * sizeof *y), *idx = malloc((size_t)(nb ? nb : 1) * sizeof *idx);
    int64_t *pred = malloc((size_t)(nb ? nb : 1) * sizeof *pred);
    uint8_t *succ = malloc((size_t)(nb ? nb : 1));
    jt_status st = x && y && idx && pred && succ ? JT_OK : jt_fail(ctx, JT_ERR_OOM, "evaluation: out of memory");
    int64_t correct = 0, robust_n = 0;
    for (int s0 = 0; st == JT_OK && s0 < n_clean; s0 += chunk) {
        int n = n_clean - s0 < chunk ? n_clean - s0 : chunk;
        for (int i = 0; i < n; i++) idx[i] = s0 + i;
        jt_dataset_batch(test, idx, n, x, y);
        st = jt_oracle_predict(o, x, n, pred, NULL);
        for (int i = 0; st == JT_OK && i < n; i++) correct += pred[i] == y[i];
    }
    if (st == JT_OK && n_clean > 0) *clean = (double)correct / n_clean;
    jt_attack_config ac;
    memset(&ac, 0, sizeof ac);
    if (st == JT_OK && n_rob > 0) {
        st = jt_attack_preset(ctx, "pgd", jt_image_kind_of(test->c, test->h, test->w), &ac);
        ac.eps = r->eps;
        ac.alpha = r->pgd_step;
        ac.steps = r->pgd_steps > 0 ? r->pgd_steps : 10;
        ac.seed = r->seed;
        xa = malloc((size_t)nb * (size_t)d * sizeof *xa);
        if (st == JT_OK && !xa) st = jt_fail(ctx, JT_ERR_OOM, "evaluation: out of memory");
    }
    for (int s0 = 0; st == JT_OK && s0 < n_rob; s0 += chunk) {
        int n = n_rob - s0 < chunk ? n_rob - s0 : chunk;
        for (int i = 0; i < n; i++) idx[i] = s0 + i;
        jt_dataset_batch(test, idx, n, x, y);
        jt_attack_io io;
        memset(&io, 0, sizeof io);
        io.n = n;
        io.x = x;
        io.y = y;
        io.index = idx;
        io.x_adv = xa;
        io.success = succ;
        st = jt_attack_run(o, &ac, &io);
        for (int i = 0; st == JT_OK && i < n; i++) robust_n += !succ[i];
    }
    if (st == JT_OK && n_rob > 0) *robust = (double)robust_n / n_rob;
    jt_attack_config_release(&ac);
    jt_oracle_free(o);
    free(x);
    free(xa);
    free(y);
    free(idx);
    free(pred);
    free(succ);
    if (st != JT_OK) jt_error_prefix(ctx, "evaluation");
    return st;
}

typedef struct run_state {
    jt_ctx *ctx;
    const jt_target_train_config *c;
    run_cfg r;
    char config[1024];
    jt_target_trainer *t;
    jt_train_log log;
    int log_open;
    int64_t last_ckpt_step; /* -1: none written or loaded in this run */
} run_state;

static jt_status save_ckpt(run_state *s, int64_t step, int64_t epoch, int64_t data_pos) {
    if (!s->c->checkpoint) return JT_OK;
    jt_train_meta m;
    memset(&m, 0, sizeof m);
    m.step = step;
    m.epoch = epoch;
    m.data_pos = data_pos;
    m.seed = s->r.seed;
    m.config = s->config;
    m.config_len = strlen(s->config);
    jt_status st = jt_target_trainer_save(s->t, s->c->checkpoint, &m);
    if (st != JT_OK) return st;
    s->last_ckpt_step = step;
    char ev[256];
    snprintf(ev, sizeof ev, "{\"event\":\"checkpoint\",\"step\":%lld,\"epoch\":%lld,\"data_pos\":%lld}", (long long)step,
             (long long)epoch, (long long)data_pos);
    jt_train_log_event(&s->log, ev);
    return JT_OK;
}

static void last_good(const run_state *s, char *buf, size_t cap) {
    if (!s->c->checkpoint) snprintf(buf, cap, "no checkpoint file was asked for");
    else if (s->last_ckpt_step < 0) snprintf(buf, cap, "no checkpoint was written (%s untouched)", s->c->checkpoint);
    else snprintf(buf, cap, "the last good checkpoint is %s (step %lld)", s->c->checkpoint, (long long)s->last_ckpt_step);
}

jt_status jt_train_target(jt_ctx *ctx, const jt_target_train_config *c, jt_target_train_result *res) {
    double t0 = now_s();
    jt_target_train_result rr;
    memset(&rr, 0, sizeof rr);
    rr.clean_acc = rr.robust_acc = rr.last_loss = NAN;
    run_state s;
    memset(&s, 0, sizeof s);
    s.ctx = ctx;
    s.c = c;
    s.last_ckpt_step = -1;
    jt_dataset train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    jt_loader *ld = NULL;
    float *x = NULL;
    int64_t *y = NULL, *idx = NULL;
    jt_train_meta meta;
    memset(&meta, 0, sizeof meta);
    int want_eval = c->eval_clean != 0 || c->eval_points > 0;
    if (!c->dataset) return jt_fail(ctx, JT_ERR_ARG, "no dataset given (fmnist, mnist, cifar10 or svhn)");
    if (c->resume && !c->checkpoint) return jt_fail(ctx, JT_ERR_ARG, "resume: no checkpoint file given");
    if (c->checkpoint_every < 0 || c->max_steps < 0)
        return jt_fail(ctx, JT_ERR_ARG, "checkpoint interval and max steps must be >= 0");
    jt_status st = jt_dataset_open(ctx, c->dataset, c->data_dir, 1, &train);
    if (st == JT_OK && want_eval) st = jt_dataset_open(ctx, c->dataset, c->data_dir, 0, &test);
    if (st == JT_OK) st = resolve(ctx, c, &train, &s.r);
    if (st == JT_OK) config_json(&s.r, s.config, sizeof s.config);
    /* data */
    jt_loader_config lc;
    jt_loader_config_default(&lc);
    lc.batch = s.r.batch;
    lc.shuffle = 1;
    lc.crop_pad = s.r.crop_pad;
    lc.flip = s.r.flip;
    lc.drop_last = 1;
    lc.subset = s.r.subset;
    lc.seed = s.r.seed;
    if (st == JT_OK) st = jt_loader_create(ctx, &train, &lc, &ld);
    int64_t nb = st == JT_OK ? jt_loader_batches_per_epoch(ld) : 0;
    if (st == JT_OK && nb < 1)
        st = jt_fail(ctx, JT_ERR_ARG, "%lld training images make no batch of %d (batches drop the remainder)",
                     (long long)jt_loader_size(ld), s.r.batch);
    const int64_t d = (int64_t)train.c * train.h * train.w;
    if (st == JT_OK) {
        x = malloc((size_t)s.r.batch * (size_t)d * sizeof *x);
        y = malloc((size_t)s.r.batch * sizeof *y);
        idx = malloc((size_t)s.r.batch * sizeof *idx);
        if (!x || !y || !idx) st = jt_fail(ctx, JT_ERR_OOM, "out of memory for a batch");
    }
    /* the trainer */
    if (st == JT_OK) {
        jt_target_spec sp;
        jt_target_spec_default(&sp);
        sp.recipe = s.r.recipe;
        sp.batch = s.r.batch;
        sp.c = train.c;
        sp.h = train.h;
        sp.w = train.w;
        sp.model_name = s.r.model_name;
        sp.model_cfg = s.r.mcfg;
        sp.beta = s.r.beta;
        sp.eps = s.r.eps;
        sp.pgd_step = s.r.pgd_step;
        sp.pgd_steps = s.r.pgd_steps;
        sp.sgd.momentum = s.r.momentum;
        sp.sgd.weight_decay = s.r.wd;
        sp.seed = s.r.seed;
        sp.backend = c->backend;
        st = jt_target_trainer_create(ctx, &sp, &s.t);
    }
    if (st == JT_OK) {
        rr.n_params = jt_model_count_params(jt_target_trainer_eval_graph(s.t));
    }
    /* resume */
    int64_t step = 0, e0 = 0, b0 = 0;
    if (st == JT_OK && c->resume) {
        st = jt_target_trainer_load(s.t, c->checkpoint, &meta);
        char why[512];
        if (st == JT_OK && (!meta.config || tt_config_diff(meta.config, s.config, why, sizeof why)))
            st = jt_fail(ctx, JT_ERR_ARG, "%s: written by another configuration (%s; checkpoint vs this run): resume "
                                          "with the same settings",
                         c->checkpoint, meta.config ? why : "no configuration stored");
        if (st == JT_OK && (meta.data_pos % s.r.batch != 0 || meta.data_pos / s.r.batch > nb || meta.epoch < 0 ||
                            meta.step < 0))
            st = jt_fail(ctx, JT_ERR_ARG, "%s: position epoch %lld, sample %lld does not fit batches of %d", c->checkpoint,
                         (long long)meta.epoch, (long long)meta.data_pos, s.r.batch);
        if (st == JT_OK) {
            step = meta.step;
            e0 = meta.epoch;
            b0 = meta.data_pos / s.r.batch;
            if (b0 == nb) {
                e0++;
                b0 = 0;
            }
            s.last_ckpt_step = step;
        }
    }
    const int64_t total = (int64_t)s.r.epochs * nb;
    if (st == JT_OK) {
        char what[64];
        snprintf(what, sizeof what, "train target %s", jt_recipe_name(s.r.recipe));
        st = jt_train_log_open(ctx, &s.log, what, c->log_jsonl, c->resume, c->quiet, total);
        s.log_open = st == JT_OK;
    }
    if (st == JT_OK) {
        char ev[1400];
        snprintf(ev, sizeof ev, "{\"event\":\"%s\",\"step\":%lld,\"steps\":%lld,\"batches_per_epoch\":%lld,\"params\":%lld,"
                                "\"config\":%s}",
                 c->resume ? "resume" : "start", (long long)step, (long long)total, (long long)nb, (long long)rr.n_params,
                 s.config);
        jt_train_log_event(&s.log, ev);
        if (!c->quiet)
            fprintf(stderr,
                    "[train target %s] %s, %lld params, %s%s: %lld images, %d epochs x %lld batches of %d, lr %g wd %g, "
                    "eps %.6g, PGD-%d step %.6g%s\n",
                    jt_recipe_name(s.r.recipe), s.r.model, (long long)rr.n_params, s.r.dataset,
                    s.r.crop_pad || s.r.flip ? " (augmented)" : "", (long long)jt_loader_size(ld), s.r.epochs,
                    (long long)nb, s.r.batch, s.r.lr, s.r.wd, s.r.eps, s.r.pgd_steps, s.r.pgd_step,
                    c->resume ? " [resumed]" : "");
    }
    double t_train = 0, imgs = 0;
    int stop = 0;
    static const char *const names_nat[] = {"loss", "acc"};
    static const char *const names_at[] = {"loss", "acc", "adv_acc"};
    static const char *const names_tr[] = {"loss", "ce", "rob", "acc", "adv_acc"};
    static const char *const names_mart[] = {"loss", "bce", "rob", "acc", "adv_acc"};
    for (int64_t e = e0; st == JT_OK && !stop && e < s.r.epochs; e++) {
        double lr = s.r.lr * jt_schedule_factor(e + 1, s.r.def.milestones, s.r.def.factors, s.r.def.n_milestones,
                                                s.r.def.paper_epochs, s.r.epochs);
        int64_t done_b = e == e0 ? b0 : 0;
        for (int64_t b = done_b; st == JT_OK && b < nb; b++) {
            int cnt = 0;
            st = jt_loader_batch(ld, e, b, x, y, idx, &cnt);
            if (st != JT_OK) break;
            jt_target_step_out o;
            double ts = now_s();
            st = jt_target_trainer_step(s.t, x, y, idx, e, lr, step + 1, &o);
            t_train += now_s() - ts;
            imgs += cnt;
            if (st != JT_OK) break;
            rr.last_loss = o.loss;
            if (!isfinite(o.loss)) {
                char lg[300];
                last_good(&s, lg, sizeof lg);
                st = jt_fail(ctx, JT_ERR_NUMERIC,
                             "the loss is %s at step %lld (epoch %lld, batch %lld of %lld): training stopped; %s",
                             isnan(o.loss) ? "NaN" : (o.loss > 0 ? "+Inf" : "-Inf"), (long long)(step + 1), (long long)(e + 1), (long long)(b + 1), (long long)nb, lg);
                char ev[200];
                snprintf(ev, sizeof ev, "{\"event\":\"nonfinite_loss\",\"step\":%lld}", (long long)(step + 1));
                jt_train_log_event(&s.log, ev);
                break;
            }
            step++;
            done_b = b + 1;
            double v[5];
            const char *const *names = names_nat;
            int nv = 2;
            switch (s.r.recipe) {
            case JT_RECIPE_NATURAL:
                v[0] = o.loss, v[1] = o.acc;
                break;
            case JT_RECIPE_TRADES:
            case JT_RECIPE_MART:
                names = s.r.recipe == JT_RECIPE_TRADES ? names_tr : names_mart;
                v[0] = o.loss, v[1] = o.nat, v[2] = o.rob, v[3] = o.acc, v[4] = o.adv_acc;
                nv = 5;
                break;
            default:
                names = names_at;
                v[0] = o.loss, v[1] = o.acc, v[2] = o.adv_acc;
                nv = 3;
                break;
            }
            jt_train_log_step(&s.log, e + 1, step, cnt, lr, names, v, nv);
            stop = (c->stop && *c->stop) || (c->max_steps > 0 && step >= c->max_steps);
            int epoch_end = b + 1 == nb;
            if (!epoch_end && (stop || (c->checkpoint_every > 0 && step % c->checkpoint_every == 0))) {
                st = save_ckpt(&s, step, e, (b + 1) * s.r.batch);
                if (st != JT_OK) {
                    char lg[300];
                    last_good(&s, lg, sizeof lg);
                    jt_error_prefix(ctx, "step %lld", (long long)step);
                    jt_error_append(ctx, "training stopped; %s", lg);
                }
            }
            if (stop) break;
        }
        if (st != JT_OK) break;
        if (done_b < nb) break; /* stopped inside the epoch (its checkpoint is written) */
        rr.epochs_done = e + 1;
        if (!stop && want_eval) {
            double ca, ra, te = now_s();
            st = evaluate(ctx, s.t, &s.r, &test, c->backend, c->eval_clean, c->eval_points, &ca, &ra);
            if (st != JT_OK) break;
            rr.clean_acc = ca;
            rr.robust_acc = ra;
            char ev[400];
            snprintf(ev, sizeof ev,
                     "{\"event\":\"epoch\",\"epoch\":%lld,\"step\":%lld,\"test_acc\":%.6f,\"test_n\":%d,\"robust_acc\":%.6f,"
                     "\"robust_n\":%d,\"eval_s\":%.3f}",
                     (long long)(e + 1), (long long)step, isnan(ca) ? -1.0 : ca,
                     c->eval_clean < 0 || c->eval_clean > test.n ? (int)test.n : c->eval_clean, isnan(ra) ? -1.0 : ra,
                     c->eval_points < test.n ? c->eval_points : (int)test.n, now_s() - te);
            jt_train_log_event(&s.log, ev);
            if (!c->quiet) {
                fprintf(stderr, "[train target %s] epoch %lld/%d:", jt_recipe_name(s.r.recipe), (long long)(e + 1),
                        s.r.epochs);
                if (!isnan(ca)) fprintf(stderr, " test accuracy %.2f%%", 100 * ca);
                if (!isnan(ra)) fprintf(stderr, ", PGD-%d robust accuracy %.2f%% (%d points)", s.r.pgd_steps, 100 * ra,
                                        c->eval_points < test.n ? c->eval_points : (int)test.n);
                fprintf(stderr, " (%.1fs)\n", now_s() - te);
            }
        }
        st = save_ckpt(&s, step, e + 1, 0);
        if (st != JT_OK) {
            char lg[300];
            last_good(&s, lg, sizeof lg);
            jt_error_prefix(ctx, "step %lld", (long long)step);
            jt_error_append(ctx, "training stopped; %s", lg);
        }
    }
    if (st == JT_OK && stop) {
        rr.interrupted = 1;
        char ev[200];
        snprintf(ev, sizeof ev, "{\"event\":\"stopped\",\"step\":%lld}", (long long)step);
        jt_train_log_event(&s.log, ev);
        if (!c->quiet)
            fprintf(stderr, "[train target %s] stopped at step %lld%s%s\n", jt_recipe_name(s.r.recipe), (long long)step,
                    c->checkpoint ? "; checkpoint " : " (no checkpoint file: progress is lost)",
                    c->checkpoint ? c->checkpoint : "");
    }
    if (st == JT_OK && !stop && c->out) {
        st = jt_target_trainer_export(s.t, c->out);
        if (st == JT_OK) {
            char ev[200];
            snprintf(ev, sizeof ev, "{\"event\":\"export\",\"step\":%lld}", (long long)step);
            jt_train_log_event(&s.log, ev);
        }
    }
    rr.steps = step;
    rr.seconds = now_s() - t0;
    rr.images_per_s = t_train > 0 ? imgs / t_train : 0;
    snprintf(rr.config, sizeof rr.config, "%s", s.config);
    if (st == JT_OK) {
        char ev[300];
        snprintf(ev, sizeof ev, "{\"event\":\"%s\",\"step\":%lld,\"seconds\":%.3f,\"images_per_s\":%.2f}",
                 stop ? "end_interrupted" : "end", (long long)step, rr.seconds, rr.images_per_s);
        jt_train_log_event(&s.log, ev);
    }
    if (s.log_open) jt_train_log_close(&s.log);
    if (res) *res = rr;
    jt_train_meta_free(&meta);
    jt_target_trainer_free(s.t);
    jt_loader_free(ld);
    jt_dataset_free(&train);
    jt_dataset_free(&test);
    free(x);
    free(y);
    free(idx);
    return st;
}
