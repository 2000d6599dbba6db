/* Shared parts of `jatp attack` and `jatp eval` (see attack_cli.h). */
#include "attack_cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int acli_add_options(acli_opts *o, arg_opt *opts, int n, int cap) {
    const arg_opt add[] = {
        {"--target", ARG_STR, "T.onnx", "the classifier (one image input, logits as output 0)", &o->target},
        {"--defense", ARG_STR, "P.onnx", "the pre-processing defense P in front of T (F = T∘P)", &o->defense},
        {"--images", ARG_STR, "x.npy", "images N×C×H×W float32 in [0,1] (or --dataset)", &o->images},
        {"--labels", ARG_STR, "y.npy", "labels, int64 [N] (with --images)", &o->labels},
        {"--dataset", ARG_STR, "NAME", "fmnist, mnist, cifar10 or svhn instead of .npy files", &o->dataset},
        {"--data-dir", ARG_STR, "DIR", "dataset folder (default: Debian's for fmnist)", &o->data_dir},
        {"--split", ARG_STR, "S", "test (default) or train", &o->split},
        {"--offset", ARG_INT, "K", "skip the first K examples", &o->offset},
        {"--limit", ARG_INT, "N", "use N examples (default: all)", &o->limit},
        {"--batch", ARG_INT, "B", "examples per forward/backward pass (default 128)", &o->batch},
        {"--threads", ARG_INT, "N", "worker threads (default: all cores)", &o->threads},
        {"--device", ARG_STR, "DEV", "cpu (default), cuda or cuda:N", &o->device},
        {"--tf32", ARG_FLAG, NULL, "CUDA: allow TF32 math (default off)", &o->tf32},
        {"--deterministic", ARG_FLAG, NULL, "CUDA: deterministic algorithms only", &o->deterministic},
        {"--seed", ARG_STR, "S", "seed of every random draw (default 0)", &o->seed},
        {"--tap", ARG_STR, "NAME", "feature tap in T for pgd-feat (value or node name, suffix match)", &o->tap},
        {"--bpda-surrogate", ARG_STR, "S.onnx", "BPDA: differentiate this graph instead of the identity", &o->surrogate},
        {"--eps", ARG_STR, "E", "radius (L-inf/L2; FWA: relative Wasserstein budget)", &o->eps},
        {"--step-size", ARG_STR, "A", "step size (PGD, TI, FWA learning rate)", &o->step_size},
        {"--steps", ARG_INT, "N", "iterations", &o->steps},
        {"--restarts", ARG_INT, "R", "restarts (first success kept)", &o->restarts},
        {"--random-start", ARG_FLAG, NULL, "start at a random point of the ball", &o->random_start},
        {"--no-random-start", ARG_FLAG, NULL, "start at the clean image", &o->no_random_start},
        {"--loss", ARG_STR, "L", "ce, cw or dlr (PGD, APGD)", &o->loss},
        {"--track-best", ARG_FLAG, NULL, "PGD: keep the first misclassified iterate", &o->track_best},
        {"--targets", ARG_INT, "N", "APGD-T / FAB-T target classes", &o->targets},
        {"--queries", ARG_INT, "N", "Square: query budget", &o->queries},
        {"--p-init", ARG_STR, "P", "Square: initial window fraction", &o->p_init},
        {"--square-shared-window", ARG_FLAG, NULL, "Square: one window per iteration for the batch (AutoAttack)",
         &o->shared_window},
        {"--fwa-method", ARG_STR, "M", "FWA: pgd (default) or fw", &o->fwa_method},
        {"--fwa-kernel", ARG_INT, "K", "FWA: transport window size", &o->fwa_kernel},
        {"--ti-kernel", ARG_INT, "K", "TI: Gaussian kernel size (odd; 0 = none)", &o->ti_kernel},
        {"--ti-nsig", ARG_STR, "S", "TI: kernel radius in standard deviations", &o->ti_nsig},
        {"--momentum", ARG_STR, "MU", "TI/MI: momentum decay", &o->momentum},
        {"--diversity-prob", ARG_STR, "P", "DI: input-diversity probability", &o->p_div},
        {"--eot", ARG_INT, "K", "gradient draws per step (EOT)", &o->eot},
        {"--feat-dist", ARG_STR, "D", "pgd-feat: l2 (default) or cos", &o->feat_dist},
        {"--quiet", ARG_FLAG, NULL, "no progress lines", &o->quiet},
    };
    int k = (int)(sizeof add / sizeof add[0]);
    for (int i = 0; i < k && n < cap; i++) opts[n++] = add[i];
    o->random_start = o->no_random_start = 0;
    return n;
}

static jt_status load_model(jt_ctx *ctx, const char *path, jt_graph **g) {
    jt_load_options lo;
    jt_load_options_default(&lo);
    return jt_onnx_load(ctx, path, &lo, g);
}

/* Image shape of T's input (fixed dims) or of the data. */
static int load_data(const char *cmd, const acli_opts *o, acli_run *r) {
    if (!!o->images != !!o->labels) {
        fprintf(stderr, "%s: --images and --labels go together\n", cmd);
        return 2;
    }
    if (!o->images && !o->dataset) {
        fprintf(stderr, "%s: give --images x.npy --labels y.npy, or --dataset fmnist|cifar10\n", cmd);
        return 2;
    }
    if (o->images && o->dataset) {
        fprintf(stderr, "%s: give either --images/--labels or --dataset, not both\n", cmd);
        return 2;
    }
    if (o->offset < 0 || o->limit < 0) {
        fprintf(stderr, "%s: --offset and --limit must be >= 0\n", cmd);
        return 2;
    }
    if (o->images) {
        jt_tensor xi = {0}, yi = {0};
        if (jt_npy_read(r->ctx, o->images, &xi) != JT_OK) return cli_error(r->ctx);
        if (jt_npy_read(r->ctx, o->labels, &yi) != JT_OK) {
            free(xi.data);
            return cli_error(r->ctx);
        }
        int bad = 0;
        if (xi.dtype != JT_F32 || xi.rank != 4) {
            fprintf(stderr, "jatp: error: %s: images must be float32 N×C×H×W (got %s, rank %d)\n", o->images,
                    jt_dtype_name(xi.dtype), xi.rank);
            bad = 1;
        } else if ((yi.dtype != JT_I64 && yi.dtype != JT_I32) || yi.rank != 1 || yi.dims[0] != xi.dims[0]) {
            fprintf(stderr, "jatp: error: %s: labels must be int64 [%lld] (got %s, rank %d)\n", o->labels,
                    (long long)xi.dims[0], jt_dtype_name(yi.dtype), yi.rank);
            bad = 1;
        }
        int64_t N = bad ? 0 : xi.dims[0];
        int64_t d = bad ? 0 : xi.dims[1] * xi.dims[2] * xi.dims[3];
        for (int64_t i = 0; !bad && i < N * d; i++) {
            float v = ((float *)xi.data)[i];
            if (!(v >= 0.0f && v <= 1.0f)) {
                fprintf(stderr, "jatp: error: %s: element %lld = %g is outside [0,1] (images must be in [0,1])\n",
                        o->images, (long long)i, (double)v);
                bad = 1;
            }
        }
        if (bad) {
            free(xi.data);
            free(yi.data);
            return 1;
        }
        int64_t start = o->offset < N ? o->offset : N;
        int64_t n = N - start;
        if (o->limit > 0 && o->limit < n) n = o->limit;
        r->n = (int)n;
        r->c = xi.dims[1];
        r->h = xi.dims[2];
        r->w = xi.dims[3];
        r->x = malloc((size_t)(n ? n : 1) * (size_t)d * sizeof *r->x);
        r->y = malloc((size_t)(n ? n : 1) * sizeof *r->y);
        if (r->x && r->y) {
            memcpy(r->x, (float *)xi.data + start * d, (size_t)n * (size_t)d * sizeof *r->x);
            for (int64_t i = 0; i < n; i++)
                r->y[i] = yi.dtype == JT_I64 ? ((int64_t *)yi.data)[start + i] : ((int32_t *)yi.data)[start + i];
        }
        free(xi.data);
        free(yi.data);
        if (!r->x || !r->y) return fprintf(stderr, "jatp: error: out of memory\n"), 1;
    } else {
        jt_dataset ds;
        int train = o->split && strcmp(o->split, "train") == 0;
        if (o->split && !train && strcmp(o->split, "test") != 0) {
            fprintf(stderr, "%s: --split: '%s' is not test or train\n", cmd, o->split);
            return 2;
        }
        static const char *const known[] = {"fmnist", "fashion-mnist", "mnist", "cifar10", "svhn"};
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok |= strcmp(o->dataset, known[i]) == 0;
        if (!ok) {
            fprintf(stderr, "%s: --dataset: '%s' is not fmnist, mnist, cifar10 or svhn\n", cmd, o->dataset);
            return 2;
        }
        if (!o->data_dir && strcmp(o->dataset, "fmnist") && strcmp(o->dataset, "fashion-mnist")) {
            fprintf(stderr, "%s: --dataset %s needs --data-dir (the folder of its files)\n", cmd, o->dataset);
            return 2;
        }
        jt_status st = jt_dataset_open(r->ctx, o->dataset, o->data_dir, train, &ds);
        if (st != JT_OK) return cli_error(r->ctx);
        int64_t start = o->offset < ds.n ? o->offset : ds.n;
        int64_t n = ds.n - start;
        if (o->limit > 0 && o->limit < n) n = o->limit;
        r->n = (int)n;
        r->c = ds.c;
        r->h = ds.h;
        r->w = ds.w;
        int64_t d = r->c * r->h * r->w;
        r->x = malloc((size_t)(n ? n : 1) * (size_t)d * sizeof *r->x);
        r->y = malloc((size_t)(n ? n : 1) * sizeof *r->y);
        r->index = malloc((size_t)(n ? n : 1) * sizeof *r->index);
        if (r->x && r->y && r->index) {
            for (int64_t i = 0; i < n; i++) r->index[i] = start + i;
            jt_dataset_batch(&ds, r->index, (int)n, r->x, r->y);
        }
        jt_dataset_free(&ds);
        if (!r->x || !r->y || !r->index) return fprintf(stderr, "jatp: error: out of memory\n"), 1;
        return 0;
    }
    /* global indices: position in the file, so that --offset/--limit keep each example's random draws */
    r->index = malloc((size_t)(r->n ? r->n : 1) * sizeof *r->index);
    if (!r->index) return fprintf(stderr, "jatp: error: out of memory\n"), 1;
    for (int i = 0; i < r->n; i++) r->index[i] = o->offset + i;
    return 0;
}

int acli_setup(const char *cmd, const acli_opts *o, int want_bpda, acli_run *r) {
    memset(r, 0, sizeof *r);
    if (!o->target) {
        fprintf(stderr, "%s: --target T.onnx is required\n", cmd);
        return 2;
    }
    if (o->batch < 0 || o->batch > 65536) {
        fprintf(stderr, "%s: --batch must be in [1, 65536]\n", cmd);
        return 2;
    }
    if (o->random_start && o->no_random_start) {
        fprintf(stderr, "%s: --random-start and --no-random-start exclude each other\n", cmd);
        return 2;
    }
    if (o->seed && args_u64(cmd, "--seed", o->seed, &r->seed)) return 2;
    if (cli_ctx(o->threads, &r->ctx)) return 1;
    jt_ctx_set_seed(r->ctx, r->seed);
    if (jt_backend_create(r->ctx, o->device ? o->device : "cpu", &r->backend) != JT_OK) {
        if (jt_ctx_last_status(r->ctx) == JT_ERR_ARG) {
            fprintf(stderr, "%s: --device: %s\n", cmd, jt_ctx_error(r->ctx));
            return 2;
        }
        return cli_error(r->ctx);
    }
    jt_backend_set_tf32(r->backend, o->tf32);
    jt_backend_set_deterministic(r->backend, o->deterministic);
    int rc = load_data(cmd, o, r);
    if (rc) return rc;
    if (r->n == 0) {
        fprintf(stderr, "%s: no examples selected (check --offset/--limit)\n", cmd);
        return 2;
    }
    r->kind = jt_image_kind_of(r->c, r->h, r->w);
    if (load_model(r->ctx, o->target, &r->T) != JT_OK) return cli_error(r->ctx);
    if (o->defense && load_model(r->ctx, o->defense, &r->P) != JT_OK) return cli_error(r->ctx);
    if (o->surrogate && load_model(r->ctx, o->surrogate, &r->S) != JT_OK) return cli_error(r->ctx);
    if (want_bpda && !r->P) {
        fprintf(stderr, "%s: BPDA attacks need --defense P.onnx\n", cmd);
        return 2;
    }
    jt_graph_oracle_config gc;
    jt_graph_oracle_config_default(&gc);
    if (o->batch > 0) gc.max_batch = o->batch;
    gc.backend = r->backend;
    gc.tap = o->tap;
    if (jt_graph_oracle_create(r->ctx, r->T, r->P, r->c, r->h, r->w, &gc, &r->full) != JT_OK) {
        jt_error_prefix(r->ctx, "images %s (%lldx%lldx%lld)", o->images ? o->images : o->dataset, (long long)r->c,
                        (long long)r->h, (long long)r->w);
        return cli_error(r->ctx);
    }
    if (want_bpda) {
        gc.bpda = 1;
        gc.bpda_surrogate = r->S;
        if (jt_graph_oracle_create(r->ctx, r->T, r->P, r->c, r->h, r->w, &gc, &r->bpda) != JT_OK)
            return cli_error(r->ctx);
    }
    return 0;
}

void acli_teardown(acli_run *r) {
    jt_oracle_free(r->full);
    jt_oracle_free(r->bpda);
    jt_graph_free(r->T);
    jt_graph_free(r->P);
    jt_graph_free(r->S);
    free(r->x);
    free(r->y);
    free(r->index);
    jt_backend_free(r->backend);
    if (r->ctx) jt_ctx_free(r->ctx);
    memset(r, 0, sizeof *r);
}

/* key=value overrides shared by the flags and eval's NAME:key=value items */
static int apply_kv(const char *cmd, const char *via, const char *key, const char *val, jt_attack_config *c) {
    char flag[64];
    snprintf(flag, sizeof flag, "%s%s", via, key);
    double v;
    uint64_t u;
#define D(k, lo, hi, field)                                                                                          \
    if (strcmp(key, k) == 0) {                                                                                       \
        if (args_number(cmd, flag, val, lo, hi, &v)) return 2;                                                        \
        field = v;                                                                                                   \
        return 0;                                                                                                    \
    }
#define I(k, lo, hi, field)                                                                                          \
    if (strcmp(key, k) == 0) {                                                                                       \
        if (args_u64(cmd, flag, val, &u)) return 2;                                                                   \
        if ((double)u < (lo) || (double)u > (hi)) {                                                                  \
            fprintf(stderr, "%s: %s: %s is outside [%g, %g]\n", cmd, flag, val, (double)(lo), (double)(hi));           \
            return 2;                                                                                                \
        }                                                                                                            \
        field = (int)u;                                                                                              \
        return 0;                                                                                                    \
    }
    D("eps", 0, 1e6, c->eps)
    D("step-size", 1e-12, 1e6, c->alpha)
    D("alpha", 1e-12, 1e6, c->alpha)
    D("p-init", 1e-9, 1, c->p_init)
    D("ti-nsig", 1e-6, 100, c->ti_nsig)
    D("momentum", 0, 100, c->mu)
    D("diversity-prob", 0, 1, c->p_div)
    I("steps", 1, 1e7, c->steps)
    I("restarts", 1, 1e6, c->restarts)
    I("targets", 1, 1e6, c->n_targets)
    I("queries", 1, 1e8, c->queries)
    I("fwa-kernel", 1, 63, c->fwa_kernel)
    I("ti-kernel", 0, 255, c->ti_kernel)
    I("eot", 1, 1e6, c->eot)
    I("random-start", 0, 1, c->random_start)
    I("track-best", 0, 1, c->track_best)
#undef D
#undef I
    if (strcmp(key, "loss") == 0) {
        int l = jt_attack_loss_parse(val);
        if (l != JT_LOSS_CE && l != JT_LOSS_CW && l != JT_LOSS_DLR) {
            fprintf(stderr, "%s: %s: '%s' is not ce, cw or dlr\n", cmd, flag, val);
            return 2;
        }
        c->loss = (jt_attack_loss)l;
        return 0;
    }
    if (strcmp(key, "fwa-method") == 0) {
        if (strcmp(val, "pgd") && strcmp(val, "fw")) {
            fprintf(stderr, "%s: %s: '%s' is not pgd or fw\n", cmd, flag, val);
            return 2;
        }
        c->fwa_fw = strcmp(val, "fw") == 0;
        return 0;
    }
    if (strcmp(key, "feat-dist") == 0) {
        if (strcmp(val, "l2") && strcmp(val, "cos")) {
            fprintf(stderr, "%s: %s: '%s' is not l2 or cos\n", cmd, flag, val);
            return 2;
        }
        c->feat_dist = strcmp(val, "cos") == 0 ? JT_FEAT_COS : JT_FEAT_L2;
        return 0;
    }
    fprintf(stderr,
            "%s: unknown attack setting '%s' (known: eps step-size steps restarts random-start loss track-best targets "
            "queries p-init fwa-method fwa-kernel ti-kernel ti-nsig momentum diversity-prob eot feat-dist)\n",
            cmd, key);
    return 2;
}

/* Applies to the attack and, for AutoAttack, to its components (eps always; the others where set). */
static int apply_all(const char *cmd, const char *via, const char *key, const char *val, jt_attack_config *c) {
    if (apply_kv(cmd, via, key, val, c)) return 2;
    for (int i = 0; i < c->n_components; i++)
        if (apply_kv(cmd, via, key, val, &c->components[i])) return 2;
    return 0;
}

int acli_config(const char *cmd, const acli_run *r, const acli_opts *o, const char *spec, jt_attack_config *cfg) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL, *name = strtok_r(buf, ":", &save);
    if (!name || !*name) {
        fprintf(stderr, "%s: empty attack name\n", cmd);
        return 2;
    }
    if (jt_attack_preset(r->ctx, name, r->kind, cfg) != JT_OK) {
        fprintf(stderr, "%s: %s\n", cmd, jt_ctx_error(r->ctx));
        return 2;
    }
    cfg->seed = r->seed;
    for (int i = 0; i < cfg->n_components; i++) cfg->components[i].seed = r->seed;
    char num[32];
    if (o) {
        struct { const char *k; const char *v; } s[] = {
            {"eps", o->eps}, {"step-size", o->step_size}, {"loss", o->loss}, {"fwa-method", o->fwa_method},
            {"feat-dist", o->feat_dist}, {"p-init", o->p_init}, {"ti-nsig", o->ti_nsig}, {"momentum", o->momentum},
            {"diversity-prob", o->p_div}};
        for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
            if (s[i].v && apply_all(cmd, "--", s[i].k, s[i].v, cfg)) return 2;
        struct { const char *k; int v; int set; } iv[] = {
            {"steps", o->steps, o->steps != 0}, {"restarts", o->restarts, o->restarts != 0},
            {"targets", o->targets, o->targets != 0}, {"queries", o->queries, o->queries != 0},
            {"fwa-kernel", o->fwa_kernel, o->fwa_kernel != 0}, {"ti-kernel", o->ti_kernel, o->ti_kernel != 0},
            {"eot", o->eot, o->eot != 0}, {"random-start", 1, o->random_start}, {"random-start", 0, o->no_random_start},
            {"track-best", 1, o->track_best}};
        for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
            if (!iv[i].set) continue;
            if (iv[i].v < 0) {
                fprintf(stderr, "%s: --%s must be >= 0\n", cmd, iv[i].k);
                return 2;
            }
            snprintf(num, sizeof num, "%d", iv[i].v);
            if (apply_all(cmd, "--", iv[i].k, num, cfg)) return 2;
        }
        if (o->shared_window) {
            cfg->shared_window = 1;
            for (int i = 0; i < cfg->n_components; i++) cfg->components[i].shared_window = 1;
        }
    }
    for (char *kv = strtok_r(NULL, ":", &save); kv; kv = strtok_r(NULL, ":", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            fprintf(stderr, "%s: attack '%s': setting '%s' is not key=value\n", cmd, spec, kv);
            return 2;
        }
        *eq = 0;
        if (apply_all(cmd, "", kv, eq + 1, cfg)) return 2;
    }
    if (jt_attack_config_check(r->ctx, cfg) != JT_OK) {
        fprintf(stderr, "%s: %s\n", cmd, jt_ctx_error(r->ctx));
        return 2;
    }
    return 0;
}

/* ---- progress ---- */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void acli_progress_init(acli_progress *p, int quiet) {
    memset(p, 0, sizeof *p);
    p->quiet = quiet;
    p->tty = isatty(2);
    p->t0 = p->last = now_s();
}

void acli_progress_cb(void *user, const char *what, int64_t done, int64_t total) {
    acli_progress *p = user;
    if (p->quiet) return;
    double t = now_s();
    if (strncmp(p->what, what, sizeof p->what - 1) != 0) { /* a new attack: restart the clock */
        snprintf(p->what, sizeof p->what, "%s", what);
        p->t0 = t;
        p->last = 0;
    }
    double interval = p->tty ? 0.5 : 10.0;
    if (done < total && t - p->last < interval) return;
    p->last = t;
    double el = t - p->t0, rate = el > 0 ? (double)done / el : 0, eta = rate > 0 ? (double)(total - done) / rate : 0;
    fprintf(stderr, "%s[%s] %lld/%lld examples  %.1f ex/s  elapsed %.0fs  ETA %.0fs%s", p->tty ? "\r" : "", what,
            (long long)done, (long long)total, rate, el, eta, p->tty ? "   " : "\n");
    if (p->tty && done >= total) fputc('\n', stderr);
}

void acli_progress_end(acli_progress *p) { (void)p; }

/* ---- reports ---- */

static const char *status_str(jt_check_status s) { return jt_check_status_name(s); }

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static void add_num(cJSON *o, const char *k, double v) { cJSON_AddItemToObject(o, k, num_or_null(v)); }

/* [lo, hi] of the 95% Wilson interval of an accuracy over n examples */
static void add_ci(cJSON *o, const char *k, double acc, int n) {
    double lo, hi;
    jt_wilson_interval((int64_t)llround(acc * n), n, &lo, &hi);
    cJSON *a = cJSON_AddArrayToObject(o, k);
    cJSON_AddItemToArray(a, num_or_null(lo));
    cJSON_AddItemToArray(a, num_or_null(hi));
}

/* "12.50 [9.9, 15.6]": an accuracy in % with its 95% interval */
static void pct_ci(char *buf, size_t cap, double acc, int n) {
    double lo, hi;
    jt_wilson_interval((int64_t)llround(acc * n), n, &lo, &hi);
    snprintf(buf, cap, "%6.2f [%5.1f,%5.1f]", 100 * acc, 100 * lo, 100 * hi);
}

static cJSON *config_json(const jt_attack_config *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddStringToObject(o, "norm", c->norm == JT_NORM_LINF ? "linf" : (c->norm == JT_NORM_L2 ? "l2" : "wasserstein"));
    add_num(o, "eps", c->eps);
    if (c->kind == JT_ATK_AUTOATTACK) return o;
    add_num(o, "step_size", c->alpha);
    add_num(o, "steps", c->steps);
    add_num(o, "restarts", c->restarts);
    cJSON_AddBoolToObject(o, "random_start", c->random_start);
    cJSON_AddStringToObject(o, "loss", jt_attack_loss_name(c->loss));
    cJSON_AddBoolToObject(o, "track_best", c->track_best);
    add_num(o, "eot", c->eot);
    cJSON_AddBoolToObject(o, "bpda", c->bpda);
    switch (c->kind) {
    case JT_ATK_APGD:
    case JT_ATK_APGD_T: add_num(o, "rho", c->rho); add_num(o, "n_targets", c->n_targets); break;
    case JT_ATK_FAB_T:
        add_num(o, "n_targets", c->n_targets);
        add_num(o, "alpha_max", c->fab_alpha_max);
        add_num(o, "eta", c->fab_eta);
        add_num(o, "beta", c->fab_beta);
        break;
    case JT_ATK_SQUARE:
        add_num(o, "queries", c->queries);
        add_num(o, "p_init", c->p_init);
        cJSON_AddBoolToObject(o, "shared_window", c->shared_window);
        break;
    case JT_ATK_FWA:
        cJSON_AddStringToObject(o, "method", c->fwa_fw ? "fw" : "pgd");
        add_num(o, "kernel", c->fwa_kernel);
        add_num(o, "dual_iter", c->dual_iter);
        add_num(o, "dual_tol", c->dual_tol);
        if (c->fwa_fw) add_num(o, "gamma", c->fw_gamma);
        break;
    case JT_ATK_TI:
        add_num(o, "kernel", c->ti_kernel);
        add_num(o, "nsig", c->ti_nsig);
        add_num(o, "momentum", c->mu);
        add_num(o, "diversity_prob", c->p_div);
        break;
    case JT_ATK_PGD_FEAT: cJSON_AddStringToObject(o, "feat_dist", c->feat_dist == JT_FEAT_COS ? "cos" : "l2"); break;
    case JT_ATK_NOISE: add_num(o, "draws", c->noise_draws); break;
    default: break;
    }
    return o;
}

char *acli_cmdline(const char *cmd, int argc, char **argv) {
    size_t len = strlen(cmd) + 1;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    char *s = malloc(len + 1);
    if (!s) return NULL;
    strcpy(s, cmd);
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

static int write_text(jt_ctx *ctx, const char *path, const char *text) {
    if (!text) return fprintf(stderr, "jatp: error: out of memory writing %s\n", path), 1;
    if (jt_write_atomic(ctx, path, text, strlen(text)) != JT_OK) return cli_error(ctx);
    return 0;
}

int acli_write_summary_json(jt_ctx *ctx, const char *path, const acli_run *r, const jt_eval_result *ev,
                            const jt_sanity_report *checks, const char *cmdline) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", "jatp.eval/1");
    cJSON_AddStringToObject(root, "version", JATP_VERSION);
    time_t now = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    cJSON_AddStringToObject(root, "date", date);
    if (cmdline) cJSON_AddStringToObject(root, "command", cmdline);
    cJSON_AddStringToObject(root, "device", jt_backend_description(r->backend));
    add_num(root, "threads", jt_ctx_threads(r->ctx));
    add_num(root, "seed", (double)r->seed);
    cJSON *img = cJSON_AddArrayToObject(root, "image_shape");
    cJSON_AddItemToArray(img, cJSON_CreateNumber((double)r->c));
    cJSON_AddItemToArray(img, cJSON_CreateNumber((double)r->h));
    cJSON_AddItemToArray(img, cJSON_CreateNumber((double)r->w));
    add_num(root, "n", ev->n);
    add_num(root, "n_classes", (double)ev->n_classes);
    add_num(root, "clean_accuracy", ev->clean_acc);
    add_ci(root, "clean_accuracy_ci95", ev->clean_acc, ev->n);
    add_num(root, "mean_dist_px_x_255", ev->mean_d_px_255);
    add_num(root, "worst_case_accuracy", ev->worst_acc);
    add_ci(root, "worst_case_accuracy_ci95", ev->worst_acc, ev->n);
    add_num(root, "seconds", ev->seconds);
    add_num(root, "eot_gradient_draws", 1);
    add_num(root, "eot_decision_draws", 1);
    cJSON *arr = cJSON_AddArrayToObject(root, "attacks");
    for (int k = 0; k < ev->n_attacks; k++) {
        const jt_eval_attack *a = &ev->attacks[k];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "attack", a->cfg.name);
        cJSON_AddItemToObject(o, "config", config_json(&a->cfg));
        add_num(o, "robust_accuracy", a->robust_acc);
        add_ci(o, "robust_accuracy_ci95", a->robust_acc, ev->n);
        add_num(o, "fooling_rate", a->fooling_rate);
        add_num(o, "seconds", a->seconds);
        add_num(o, "examples_per_second", a->examples_per_second);
        add_num(o, "mean_linf", a->mean_linf);
        add_num(o, "mean_l2", a->mean_l2);
        add_num(o, "mean_l1", a->mean_l1);
        add_num(o, "mean_dist_adv_x_255", a->mean_d_adv_255);
        add_num(o, "mean_dist_padv_x_255", a->mean_d_padv_255);
        add_num(o, "loss_first", a->loss_first);
        add_num(o, "loss_last", a->loss_last);
        add_num(o, "zero_grad_fraction", a->zero_grad_frac);
        cJSON_AddBoolToObject(o, "nonfinite_gradients", a->nonfinite_grad);
        if (a->n_components) {
            cJSON *comp = cJSON_AddArrayToObject(o, "accuracy_after_component");
            for (int c = 0; c < a->n_components; c++) cJSON_AddItemToArray(comp, num_or_null(a->acc_after[c]));
        }
        cJSON_AddItemToArray(arr, o);
    }
    if (checks) {
        cJSON *ca = cJSON_AddArrayToObject(root, "sanity_checks");
        for (int i = 0; i < checks->n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", checks->checks[i].id);
            cJSON_AddStringToObject(o, "name", checks->checks[i].name);
            cJSON_AddStringToObject(o, "status", status_str(checks->checks[i].status));
            cJSON_AddStringToObject(o, "detail", checks->checks[i].detail);
            cJSON_AddItemToArray(ca, o);
        }
        cJSON_AddBoolToObject(root, "sanity_failed", checks->any_fail);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    size_t len = text ? strlen(text) : 0;
    char *t2 = text ? realloc(text, len + 2) : NULL;
    if (t2) {
        t2[len] = '\n';
        t2[len + 1] = 0;
    }
    int rc = write_text(ctx, path, t2 ? t2 : text);
    free(t2 ? t2 : text);
    return rc;
}

/* growable text buffer */
typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = (b->cap ? b->cap * 2 : 65536) + (size_t)k;
        char *p = realloc(b->s, nc);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = nc;
    }
}

int acli_write_csv(jt_ctx *ctx, const char *path, const acli_run *r, const jt_eval_result *ev) {
    sbuf b = {0};
    sb_printf(&b, "index,label,clean_pred,clean_margin,dist_px_x_255");
    for (int k = 0; k < ev->n_attacks; k++) {
        const char *a = ev->attacks[k].cfg.name;
        sb_printf(&b, ",%s_attacked,%s_success,%s_pred,%s_loss,%s_iters,%s_linf,%s_l2,%s_l1,%s_dist_adv_255,"
                      "%s_dist_padv_255",
                  a, a, a, a, a, a, a, a, a, a);
        if (ev->attacks[k].n_components) sb_printf(&b, ",%s_component", a);
    }
    sb_printf(&b, ",robust_all\n");
    for (int i = 0; i < ev->n; i++) {
        sb_printf(&b, "%lld,%lld,%lld,%.6g,%.6g", (long long)(r->index ? r->index[i] : i), (long long)ev->y[i],
                  (long long)ev->pred_clean[i], (double)ev->margin_clean[i], (double)ev->d_px_255[i]);
        for (int k = 0; k < ev->n_attacks; k++) {
            const jt_eval_attack *a = &ev->attacks[k];
            sb_printf(&b, ",%d,%d,%lld,%.6g,%d,%.6g,%.6g,%.6g,%.6g,%.6g", a->attacked[i], a->success[i],
                      (long long)a->pred[i], (double)a->loss[i], a->iters[i], (double)a->linf[i], (double)a->l2[i],
                      (double)a->l1[i], (double)a->d_adv_255[i], (double)a->d_padv_255[i]);
            if (a->n_components) sb_printf(&b, ",%d", a->component[i]); /* -1: none broke it */
        }
        sb_printf(&b, ",%d\n", ev->robust_all[i]);
    }
    if (b.oom) {
        free(b.s);
        return fprintf(stderr, "jatp: error: out of memory writing %s\n", path), 1;
    }
    int rc = write_text(ctx, path, b.s);
    free(b.s);
    return rc;
}

int acli_write_jsonl(jt_ctx *ctx, const char *path, const acli_run *r, const jt_eval_result *ev) {
    sbuf b = {0};
    for (int i = 0; i < ev->n; i++) {
        sb_printf(&b, "{\"index\":%lld,\"label\":%lld,\"clean_pred\":%lld,\"clean_margin\":%.6g,\"dist_px_x_255\":%.6g,"
                      "\"attacks\":{",
                  (long long)(r->index ? r->index[i] : i), (long long)ev->y[i], (long long)ev->pred_clean[i],
                  (double)ev->margin_clean[i], (double)ev->d_px_255[i]);
        for (int k = 0; k < ev->n_attacks; k++) {
            const jt_eval_attack *a = &ev->attacks[k];
            sb_printf(&b,
                      "%s\"%s\":{\"attacked\":%s,\"success\":%s,\"pred\":%lld,\"loss\":%.6g,\"iters\":%d,\"linf\":%.6g,"
                      "\"l2\":%.6g,\"l1\":%.6g,\"dist_adv_255\":%.6g,\"dist_padv_255\":%.6g",
                      k ? "," : "", a->cfg.name, a->attacked[i] ? "true" : "false", a->success[i] ? "true" : "false",
                      (long long)a->pred[i], isfinite(a->loss[i]) ? (double)a->loss[i] : 0.0, a->iters[i],
                      (double)a->linf[i], (double)a->l2[i], (double)a->l1[i], (double)a->d_adv_255[i],
                      (double)a->d_padv_255[i]);
            if (a->n_components) sb_printf(&b, ",\"component\":%d", a->component[i]);
            sb_printf(&b, "}");
        }
        sb_printf(&b, "},\"robust_all\":%s}\n", ev->robust_all[i] ? "true" : "false");
    }
    if (b.oom) {
        free(b.s);
        return fprintf(stderr, "jatp: error: out of memory writing %s\n", path), 1;
    }
    int rc = write_text(ctx, path, b.s ? b.s : "");
    free(b.s);
    return rc;
}

void acli_print_table(const acli_run *r, const jt_eval_result *ev, const jt_sanity_report *checks) {
    printf("\n%d examples (%lldx%lldx%lld, %lld classes), device %s, seed %llu\n", ev->n, (long long)r->c,
           (long long)r->h, (long long)r->w, (long long)ev->n_classes, jt_backend_description(r->backend),
           (unsigned long long)r->seed);
    char ci[64];
    pct_ci(ci, sizeof ci, ev->clean_acc, ev->n);
    printf("natural accuracy %s%% (95%% interval, N = %d)   mean |P(x)-x| %.2f/255\n\n", ci, ev->n, ev->mean_d_px_255);
    printf("%-14s %9s %-22s %9s %9s %11s %12s %9s %9s\n", "attack", "eps", "robust% [95% CI]", "fooling%", "mean Linf",
           "|x~-x|/255", "|P(x~)-x|/255", "time s", "ex/s");
    for (int k = 0; k < ev->n_attacks; k++) {
        const jt_eval_attack *a = &ev->attacks[k];
        pct_ci(ci, sizeof ci, a->robust_acc, ev->n);
        printf("%-14s %9.4f %-22s %9.2f %9.4f %11.2f %12.2f %9.1f %9.1f\n", a->cfg.name, a->cfg.eps, ci,
               100 * a->fooling_rate, a->mean_linf, a->mean_d_adv_255, a->mean_d_padv_255, a->seconds,
               a->examples_per_second);
        for (int c = 0; c < a->n_components; c++) {
            pct_ci(ci, sizeof ci, a->acc_after[c], ev->n);
            printf("  after %-7d %9s %-22s\n", c + 1, "", ci);
        }
    }
    if (ev->n_attacks > 1) {
        pct_ci(ci, sizeof ci, ev->worst_acc, ev->n);
        printf("%-14s %9s %-22s\n", "worst case", "", ci);
    }
    if (checks && checks->n) {
        printf("\nsanity checks%s\n", checks->any_fail ? " (a FAIL marks every robustness number above)" : "");
        for (int i = 0; i < checks->n; i++)
            printf("  %-4s %-4s %-28s %s\n", checks->checks[i].id, status_str(checks->checks[i].status),
                   checks->checks[i].name, checks->checks[i].detail);
    }
}
