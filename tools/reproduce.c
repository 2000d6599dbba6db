/* jatp reproduce: the paper's Table 1, Table 2, Figure 1 and Figure 4a end to end (issue 8). An
 * orchestrator over the other commands, run in this process:
 *   1. the TRADES target T: shipped in models/onnx (default preset), given (--target) or trained;
 *   2. the transfer targets (Standard AT, MART; MMA for the paper): shipped or trained;
 *   3. one shared identity warm-up P0 when every denoiser has the same architecture (Fashion-MNIST
 *      presets), so that every method starts from the same near-identity P;
 *   4. the denoisers: APE-G, HGD and NRP on oblivious and on full examples, JATP, and JATP' (P and T
 *      trained together);
 *   5. `jatp eval` of None and every defense on the same test points (PGD, DLR, AutoAttack, FWA,
 *      TI-BIM, BPDA+PGD fooling rates; the sanity checks on the JATP row);
 *   6. the transfer evaluation: the P trained against T in front of each transfer target;
 *   7. the reports of common/reproduce_report.c. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common/args.h"
#include "common/cli.h"
#include "common/pipeline.h"
#include "common/reproduce_report.h"

#define CMD "jatp reproduce"

#ifndef JT_MODELS_SOURCE_DIR
#define JT_MODELS_SOURCE_DIR "models/onnx"
#endif
#ifndef JT_MODELS_INSTALL_DIR
#define JT_MODELS_INSTALL_DIR "/usr/local/share/jatp/models"
#endif

typedef struct preset {
    const char *name, *about;
    const char *dataset;      /* fmnist / cifar10 */
    int needs_data;           /* refuse without --data */
    /* the main target (TRADES) and the transfer targets */
    const char *t_shipped;    /* file in the models folder, or NULL: train it */
    const char *t_model;
    int t_epochs, t_subset, t_batch, t_pgd_steps; /* <= 0: the recipe's default */
    double t_pgd_step;
    int t_eval_clean;         /* < 0: all */
    const char *transfer;     /* recipes of the transfer targets, comma-separated; "" none */
    int transfer_shipped;     /* 1: models/onnx/fmnist_<recipe>_w8.onnx; 0: trained like T */
    /* denoisers */
    const char *dn_preset;    /* jt_dn_preset name or NULL */
    const char *dn_model;     /* --denoiser for every method, or NULL (the method's / preset's) */
    int warmup;               /* shared identity warm-up iterations (needs dn_model); 0: none */
    int dn_epochs, dn_subset, dn_batch;            /* <= 0: the preset's / method's */
    int fpgd_steps;           /* JATP feature-space PGD (<= 0: the preset's) */
    double fpgd_step;
    int pgd_steps;            /* HGD / APE-G training examples */
    double pgd_step;
    int ssp_steps;            /* NRP */
    int joint;                /* also train JATP' */
    /* evaluation */
    int eval_n, check_points, transfer_n;
    const char *attacks, *transfer_attacks;
} preset;

static const preset presets[] = {
    {"ci", "tiny smoke run for the test suite (minutes on 2 cores; the numbers mean nothing)", "fmnist", 0,
     NULL, "resnet10-fm-w8", 1, 1024, 64, 2, 0.05, 256, "at,mart", 1,
     "ci", "rrdb-s", 20, 1, 512, 64, 2, 0.05, 3, 0.04, 5, 1,
     64, 16, 64, "pgd:steps=5,pgd-dlr:steps=5,aa-smoke,fwa:steps=5,ti-bim:steps=5,pgd-bpda:steps=5",
     "pgd:steps=5,pgd-dlr:steps=5,fwa:steps=5"},
    {"fmnist", "default: Fashion-MNIST on 2 CPU cores, the shipped targets, subsets sized for under 30 minutes",
     "fmnist", 0, "fmnist_trades_w8.onnx", "resnet10-fm-w8", 3, 0, 128, 5, 0.03, -1, "at,mart", 1,
     "fmnist", "rrdb-s", 300, 1, 6144, 128, 0, 0, 5, 0.03, 10, 1,
     200, 50, 200, "pgd:steps=20,pgd-dlr:steps=20,aa-smoke,fwa:steps=10,ti-bim:steps=20,pgd-bpda:steps=20",
     "pgd:steps=20,pgd-dlr:steps=20,fwa:steps=10"},
    {"fmnist-m", "full Fashion-MNIST (models.md 5.7 fmnist-m: ResNet-10-FM targets trained here, RRDB-M); hours on a CPU",
     "fmnist", 0, NULL, "resnet10-fm", 5, 0, 128, 10, 0, -1, "at,mart", 0,
     "fmnist-m", NULL, 0, 0, 0, 128, 0, 0, 0, 0, 0, 1,
     1000, 200, 1000, "pgd,pgd-dlr,aa,fwa,ti-bim,pgd-bpda", "pgd,pgd-dlr,fwa"},
    {"paper", "the paper's setting: CIFAR-10 (--data DIR), ResNet-18 targets (TRADES; Standard, MMA, MART for the "
              "transfer table), 3-block RRDB, 30 epochs, standard AutoAttack; meant for a GPU",
     "cifar10", 1, NULL, "resnet18", 0, 0, 128, 10, 0, -1, "at,mma,mart", 0,
     NULL, NULL, 0, 30, 0, 128, 0, 0, 0, 0, 0, 1,
     10000, 500, 10000, "pgd,pgd-dlr,aa,fwa,ti-bim,pgd-bpda", "pgd,pgd-dlr,fwa"},
};
#define N_PRESETS (int)(sizeof presets / sizeof presets[0])

static const char *recipe_label(const char *r) {
    if (!strcmp(r, "trades")) return "TRADES";
    if (!strcmp(r, "at")) return "Standard AT";
    if (!strcmp(r, "mart")) return "MART";
    if (!strcmp(r, "mma")) return "MMA-lite";
    return r;
}

typedef struct dn_job {
    const char *method, *examples, *label, *file; /* file: P_<file>.onnx */
    int joint, transfer;                          /* JATP'; evaluated in the transfer table */
    double train_w, eval_w;                       /* ETA weights */
} dn_job;

static const dn_job dn_jobs[] = {
    {"apeg", "oblivious", "APE-G (oblivious)", "apeg_oblivious", 0, 1, 1.0, 1.0},
    {"apeg", "full", "APE-G (full)", "apeg_full", 0, 0, 1.9, 1.0},
    {"hgd", "oblivious", "HGD (oblivious)", "hgd_oblivious", 0, 1, 0.6, 1.0},
    {"hgd", "full", "HGD (full)", "hgd_full", 0, 0, 1.5, 1.0},
    {"nrp", "oblivious", "NRP (oblivious)", "nrp_oblivious", 0, 1, 1.3, 1.0},
    {"nrp", "full", "NRP (full)", "nrp_full", 0, 0, 2.9, 1.0},
    {"jatp", "full", "JATP", "jatp", 0, 1, 2.0, 2.5},
    {"jatp", "full", "JATP'", "jatp_joint", 1, 1, 2.5, 0.0},
};
#define N_DN (int)(sizeof dn_jobs / sizeof dn_jobs[0])
#define MAX_TRANSFER 4

typedef struct run {
    const preset *P;
    pl_progress pg;
    const char *data, *device, *outdir;
    char seed[32], threads[16];
    int have_threads;
} run;

static void common_args(const run *r, pl_argv *a) {
    pl_kv(a, "--seed", r->seed);
    if (r->have_threads) pl_kv(a, "--threads", r->threads);
    if (r->device) pl_kv(a, "--device", r->device);
}

/* trains a target with the preset's settings */
static int train_target(run *r, const char *recipe, const char *out, const char *tag) {
    const preset *P = r->P;
    pl_argv a = {0};
    char path[4200];
    pl_kv(&a, "--recipe", recipe);
    pl_kv(&a, "--data", P->dataset);
    if (r->data) pl_kv(&a, "--data-dir", r->data);
    pl_kv(&a, "--model", P->t_model);
    if (P->t_epochs > 0) pl_kint(&a, "--epochs", P->t_epochs);
    if (P->t_subset > 0) pl_kint(&a, "--subset", P->t_subset);
    if (P->t_batch > 0) pl_kint(&a, "--batch", P->t_batch);
    if (P->t_pgd_steps > 0) pl_kint(&a, "--pgd-steps", P->t_pgd_steps);
    if (P->t_pgd_step > 0) pl_kdbl(&a, "--pgd-step", P->t_pgd_step);
    pl_kint(&a, "--eval-points", 0);
    if (P->t_eval_clean >= 0) pl_kint(&a, "--eval-clean", P->t_eval_clean);
    common_args(r, &a);
    pl_kv(&a, "--out", out);
    snprintf(path, sizeof path, "%s/ckpt/%s.ckpt", r->outdir, tag);
    pl_kv(&a, "--checkpoint", path);
    snprintf(path, sizeof path, "%s/logs/%s.jsonl", r->outdir, tag);
    pl_kv(&a, "--log", path);
    return pl_exec(&r->pg, "train target", cmd_train_target, &a);
}

/* the shipped model `file`: --models DIR, $JATP_MODELS, the source tree, the installed data folder */
static int shipped_path(const char *models, const char *file, char *out, size_t cap) {
    const char *env = getenv("JATP_MODELS");
    const char *dirs[2] = {models, env && *env ? env : NULL};
    for (int i = 0; i < 2; i++)
        if (dirs[i]) {
            snprintf(out, cap, "%s/%s", dirs[i], file);
            if (!pl_exists(out)) {
                fprintf(stderr, CMD ": shipped model %s not found (%s %s)\n", out, i == 0 ? "--models" : "JATP_MODELS",
                        dirs[i]);
                return 1;
            }
            return 0;
        }
    snprintf(out, cap, "%s/%s", JT_MODELS_SOURCE_DIR, file);
    if (pl_exists(out)) return 0;
    snprintf(out, cap, "%s/%s", JT_MODELS_INSTALL_DIR, file);
    if (pl_exists(out)) return 0;
    fprintf(stderr, CMD ": shipped model %s found neither in %s nor in %s (give --models DIR)\n", file,
            JT_MODELS_SOURCE_DIR, JT_MODELS_INSTALL_DIR);
    return 1;
}

static int eval_row(run *r, rr_table *tb, const char *target, const dn_job *d, const char *attacks, int n,
                    int checks, const char *json) {
    const preset *P = r->P;
    pl_argv a = {0};
    char path[4200];
    pl_kv(&a, "--target", target);
    if (d) {
        snprintf(path, sizeof path, "%s/P_%s.onnx", r->outdir, d->file);
        pl_kv(&a, "--defense", path);
    }
    pl_kv(&a, "--dataset", P->dataset);
    if (r->data) pl_kv(&a, "--data-dir", r->data);
    pl_kint(&a, "--limit", n);
    pl_kv(&a, "--attacks", attacks);
    common_args(r, &a);
    if (checks > 0) {
        pl_arg(&a, "--checks");
        pl_kint(&a, "--check-points", checks < n ? checks : n);
    }
    pl_kv(&a, "--json", json);
    if (pl_exec(&r->pg, "eval", cmd_eval, &a) != 0) {
        pl_say(&r->pg, "error: evaluating %s in front of %s failed", d ? d->label : "None", tb->target);
        return 1;
    }
    if (r->pg.dry_run) return 0;
    rr_row *row = rr_add_row(tb, d ? d->label : "None", d ? d->method : "none", d ? d->examples : "");
    return !row || rr_read_eval(tb, row, json);
}

/* the attack list without its BPDA items (None has no defense to approximate) */
static void strip_bpda(const char *attacks, char *out, size_t cap) {
    char tmp[1024], *save = NULL;
    snprintf(tmp, sizeof tmp, "%s", attacks);
    out[0] = 0;
    for (char *it = strtok_r(tmp, ",", &save); it; it = strtok_r(NULL, ",", &save))
        if (!strstr(it, "bpda")) {
            if (out[0]) strncat(out, ",", cap - strlen(out) - 1);
            strncat(out, it, cap - strlen(out) - 1);
        }
}

/* the run's settings as compact JSON (malloc'ed; NULL when out of memory) */
static char *settings_json(const preset *P, const char *source, int transfer, int shared_warmup, int eval_n,
                           int transfer_n, const char *device, int threads, uint64_t seed) {
    cJSON *o = cJSON_CreateObject(), *t = cJSON_AddObjectToObject(o, "target"),
          *d = cJSON_AddObjectToObject(o, "denoisers");
    cJSON_AddStringToObject(o, "preset", P->name);
    cJSON_AddStringToObject(o, "dataset", P->dataset);
    cJSON_AddStringToObject(t, "recipe", "trades");
    cJSON_AddStringToObject(t, "model", P->t_model);
    cJSON_AddNumberToObject(t, "epochs", P->t_epochs);
    cJSON_AddNumberToObject(t, "subset", P->t_subset);
    cJSON_AddNumberToObject(t, "pgd_steps", P->t_pgd_steps);
    cJSON_AddNumberToObject(t, "pgd_step", P->t_pgd_step);
    cJSON_AddStringToObject(t, "source", source);
    cJSON_AddStringToObject(o, "transfer_targets", transfer ? P->transfer : "");
    cJSON_AddBoolToObject(o, "transfer_shipped", P->transfer_shipped);
    cJSON_AddStringToObject(d, "preset", P->dn_preset ? P->dn_preset : "");
    cJSON_AddStringToObject(d, "model", P->dn_model ? P->dn_model : "");
    cJSON_AddNumberToObject(d, "shared_warmup", shared_warmup ? P->warmup : 0);
    cJSON_AddNumberToObject(d, "epochs", P->dn_epochs);
    cJSON_AddNumberToObject(d, "subset", P->dn_subset);
    cJSON_AddNumberToObject(d, "batch", P->dn_batch);
    cJSON_AddNumberToObject(d, "fpgd_steps", P->fpgd_steps);
    cJSON_AddNumberToObject(d, "fpgd_step", P->fpgd_step);
    cJSON_AddNumberToObject(d, "pgd_steps", P->pgd_steps);
    cJSON_AddNumberToObject(d, "pgd_step", P->pgd_step);
    cJSON_AddNumberToObject(d, "ssp_steps", P->ssp_steps);
    cJSON_AddBoolToObject(d, "joint", transfer && P->joint);
    cJSON_AddNumberToObject(o, "eval_n", eval_n);
    cJSON_AddNumberToObject(o, "transfer_n", transfer_n);
    cJSON_AddStringToObject(o, "attacks", P->attacks);
    cJSON_AddStringToObject(o, "transfer_attacks", P->transfer_attacks);
    cJSON_AddStringToObject(o, "device", device ? device : "cpu");
    cJSON_AddNumberToObject(o, "threads", threads);
    cJSON_AddNumberToObject(o, "seed", (double)seed);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

int cmd_reproduce(int argc, char **argv) {
    const char *pname = "fmnist", *data = NULL, *device = NULL, *out = NULL, *target = NULL, *seed_s = NULL,
               *eval_n_s = NULL, *models = NULL;
    int threads = 0, list = 0, skip_baselines = 0, no_transfer = 0, dry_run = 0;
    const arg_opt opts[] = {
        {"--preset", ARG_STR, "NAME", "ci | fmnist (default) | fmnist-m | paper (--list-presets for details)", &pname},
        {"--data", ARG_STR, "DIR", "dataset folder (default for Fashion-MNIST: Debian's; paper: CIFAR-10 binary, required)",
         &data},
        {"--device", ARG_STR, "DEV", "cpu (default), cuda or cuda:N", &device},
        {"--out", ARG_STR, "DIR", "output folder (default results/<UTC timestamp>)", &out},
        {"--target", ARG_STR, "T.onnx", "use this TRADES target instead of the shipped or trained one", &target},
        {"--models", ARG_STR, "DIR", "folder of the shipped targets (default: the source tree's models/onnx, then the "
                                     "installed share/jatp/models; also $JATP_MODELS)", &models},
        {"--seed", ARG_STR, "S", "seed of every stage (default 0)", &seed_s},
        {"--eval-n", ARG_STR, "N", "test examples evaluated (default: the preset's)", &eval_n_s},
        {"--threads", ARG_INT, "N", "worker threads (default: all cores)", &threads},
        {"--no-baselines", ARG_FLAG, NULL, "train and evaluate JATP and JATP' only (no APE-G, HGD, NRP rows)",
         &skip_baselines},
        {"--no-transfer", ARG_FLAG, NULL, "no transfer table (no other targets, no JATP')", &no_transfer},
        {"--dry-run", ARG_FLAG, NULL, "print every stage's command and exit without running anything", &dry_run},
        {"--list-presets", ARG_FLAG, NULL, "print the presets and exit", &list},
    };
    arg_spec spec = {CMD, "[--preset NAME] [--data DIR] [--device cpu|cuda] [--out DIR] [options]",
                     "Reproduces the paper's Table 1, Table 2, Figure 1 and Figure 4a: takes the TRADES target (shipped "
                     "for Fashion-MNIST, --target, or trained), trains APE-G, HGD and NRP denoisers on oblivious and on "
                     "full adversarial examples, JATP and JATP' (every denoiser from one shared identity warm-up on "
                     "Fashion-MNIST), evaluates None and every defense under PGD, DLR, AutoAttack, FWA and TI-BIM on "
                     "the same test subset plus BPDA+PGD fooling rates (sanity checks on the JATP row), then the "
                     "denoisers in front of the Standard-AT and MART targets (the transfer table). Writes to --out: "
                     "table.md/.csv/.json and transfer.md/.csv/.json (every number with N, 95% Wilson interval, "
                     "attack settings and seed), fig1_<attack>.png, fig4a_fooling.png, T.onnx, P_*.onnx, sanity.txt, "
                     "reproduce.log, the per-stage logs and eval summaries.",
                     opts, (int)(sizeof opts / sizeof opts[0]), NULL, 0, 0, NULL};
    int rc = args_parse(&spec, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    if (list) {
        for (int i = 0; i < N_PRESETS; i++) {
            const preset *q = &presets[i];
            printf("%-9s %s\n          target %s TRADES (%s); transfer targets: %s; denoisers %s%s, %d epoch(s), "
                   "subset %d; eval %d test images: %s\n",
                   q->name, q->about, q->t_model, q->t_shipped ? q->t_shipped : "trained", q->transfer,
                   q->dn_model ? q->dn_model : "(each method's)", q->warmup ? " from a shared warm-up" : "",
                   q->dn_epochs, q->dn_subset, q->eval_n, q->attacks);
        }
        return 0;
    }
    const preset *P = NULL;
    for (int i = 0; i < N_PRESETS; i++)
        if (strcmp(pname, presets[i].name) == 0) P = &presets[i];
    if (!P) {
        fprintf(stderr, CMD ": --preset: unknown preset '%s' (ci, fmnist, fmnist-m, paper)\n", pname);
        return 2;
    }
    if (P->needs_data && !data) {
        fprintf(stderr, CMD ": --preset %s needs --data DIR (the CIFAR-10 binary version: data_batch_*.bin, "
                        "test_batch.bin)\n", P->name);
        return 2;
    }
    uint64_t seed = 0;
    if (seed_s && args_u64(CMD, "--seed", seed_s, &seed)) return 2;
    int eval_n = P->eval_n, transfer_n = P->transfer_n;
    if (eval_n_s) {
        double v;
        if (args_number(CMD, "--eval-n", eval_n_s, 1, 1e6, &v)) return 2;
        eval_n = transfer_n = (int)v;
    }
    if (threads < 0) return fprintf(stderr, CMD ": --threads must be >= 0\n"), 2;
    if (target && !pl_exists(target)) return fprintf(stderr, CMD ": --target: %s does not exist\n", target), 2;

    /* the targets: [0] TRADES, then the transfer ones */
    const char *recipes[1 + MAX_TRANSFER] = {"trades"};
    char shipped[1 + MAX_TRANSFER][4200];
    int n_targets = 1;
    char rbuf[128];
    snprintf(rbuf, sizeof rbuf, "%s", no_transfer ? "" : P->transfer);
    {
        char *save = NULL;
        for (char *it = strtok_r(rbuf, ",", &save); it && n_targets < 1 + MAX_TRANSFER; it = strtok_r(NULL, ",", &save))
            recipes[n_targets++] = it;
    }
    for (int i = 0; i < n_targets; i++) {
        shipped[i][0] = 0;
        const char *file = NULL;
        char fb[64];
        if (i == 0 && !target && P->t_shipped) file = P->t_shipped;
        if (i > 0 && P->transfer_shipped) {
            snprintf(fb, sizeof fb, "fmnist_%s_w8.onnx", recipes[i]);
            file = fb;
        }
        if (file && shipped_path(models, file, shipped[i], sizeof shipped[i])) return 2;
    }

    char outdir[2048];
    if (out)
        snprintf(outdir, sizeof outdir, "%s", out);
    else {
        time_t t = time(NULL);
        char ts[32];
        strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", gmtime(&t));
        snprintf(outdir, sizeof outdir, "results/%s", ts);
    }
    run R = {.P = P, .data = data, .device = device, .outdir = outdir};
    snprintf(R.seed, sizeof R.seed, "%llu", (unsigned long long)seed);
    snprintf(R.threads, sizeof R.threads, "%d", threads);
    R.have_threads = threads > 0;
    char sub[2300];
    FILE *log = NULL;
    if (!dry_run) {
        const char *subs[] = {"", "/logs", "/eval", "/ckpt"};
        for (int i = 0; i < 4; i++) {
            snprintf(sub, sizeof sub, "%s%s", outdir, subs[i]);
            if (pl_mkdirs(sub)) {
                fprintf(stderr, "jatp: error: cannot create %s: %s\n", sub, strerror(errno));
                return 1;
            }
        }
        snprintf(sub, sizeof sub, "%s/reproduce.log", outdir);
        log = fopen(sub, "w");
        if (!log) {
            fprintf(stderr, "jatp: error: cannot write %s: %s\n", sub, strerror(errno));
            return 1;
        }
    }
    pl_start(&R.pg, log, dry_run);
    const char *ds = P->dataset;
    int transfer = n_targets > 1;
    int shared_warmup = P->warmup > 0 && P->dn_model != NULL;
    int n_dn = 0;
    const dn_job *jobs[N_DN];
    for (int i = 0; i < N_DN; i++) {
        const dn_job *d = &dn_jobs[i];
        if (skip_baselines && strcmp(d->method, "jatp") != 0) continue;
        if (d->joint && (!P->joint || !transfer)) continue;
        jobs[n_dn++] = d;
    }
    /* stages and their ETA weights */
    R.pg.n = n_targets + shared_warmup + n_dn + 1 + (n_dn - (transfer && P->joint)) + 1;
    R.pg.total_w = 0.2;
    for (int i = 0; i < n_targets; i++) R.pg.total_w += shipped[i][0] || (i == 0 && target) ? 0 : 3;
    R.pg.total_w += shared_warmup ? 2 : 0;
    for (int j = 0; j < n_dn; j++) R.pg.total_w += jobs[j]->train_w + jobs[j]->eval_w;
    R.pg.total_w += 0.2;
    if (transfer) {
        R.pg.n += n_targets - 1;
        int nt = 1;
        for (int j = 0; j < n_dn; j++) nt += jobs[j]->transfer;
        R.pg.total_w += 0.4 * nt * (n_targets - 1);
    }
    pl_say(&R.pg, "preset %s (%s), dataset %s, seed %s, device %s, out %s%s", P->name, P->about, ds, R.seed,
           device ? device : "cpu", outdir, dry_run ? " (dry run: commands only)" : "");

    /* 1-2. targets */
    char tpaths[1 + MAX_TRANSFER][2400], path[4200], path2[4200];
    for (int i = 0; rc == 0 && i < n_targets; i++) {
        const char *label = recipe_label(recipes[i]);
        if (i == 0)
            snprintf(tpaths[i], sizeof tpaths[i], "%s/T.onnx", outdir);
        else
            snprintf(tpaths[i], sizeof tpaths[i], "%s/T_%s.onnx", outdir, recipes[i]);
        const char *from = i == 0 && target ? target : shipped[i][0] ? shipped[i] : NULL;
        if (from) {
            pl_stage(&R.pg, "target %s: %s %s", label, i == 0 && target ? "given" : "shipped", from);
            jt_ctx *ctx = NULL;
            if (!dry_run && (cli_ctx(1, &ctx) || pl_copy_file(ctx, from, tpaths[i]))) {
                if (ctx) cli_error(ctx);
                rc = 1;
            }
            jt_ctx_free(ctx);
            continue;
        }
        char ep[48];
        if (P->t_epochs > 0)
            snprintf(ep, sizeof ep, "%d epoch(s)", P->t_epochs);
        else
            snprintf(ep, sizeof ep, "the recipe's epochs");
        pl_stage(&R.pg, "target %s: training %s, %s on %s training images", label, P->t_model, ep,
                 P->t_subset > 0 ? "a subset of the" : "all");
        char tag[32];
        snprintf(tag, sizeof tag, i == 0 ? "T" : "T_%s", recipes[i]);
        if (train_target(&R, recipes[i], tpaths[i], tag) != 0) {
            pl_say(&R.pg, "error: training the %s target failed", label);
            rc = 1;
        }
        pl_done(&R.pg, 3);
    }

    /* 3. the shared identity warm-up */
    char p0[2400] = "";
    if (rc == 0 && shared_warmup) {
        snprintf(p0, sizeof p0, "%s/P0_warmup.onnx", outdir);
        pl_stage(&R.pg, "shared identity warm-up of %s: %d iterations (the starting point of every denoiser)",
                 P->dn_model, P->warmup);
        pl_argv a = {0};
        pl_kv(&a, "--method", "jatp");
        pl_kv(&a, "--target", tpaths[0]);
        pl_kv(&a, "--data", ds);
        if (data) pl_kv(&a, "--data-dir", data);
        pl_kv(&a, "--denoiser", P->dn_model);
        pl_kint(&a, "--epochs", 0);
        pl_kint(&a, "--warmup", P->warmup);
        if (P->dn_subset > 0) pl_kint(&a, "--subset", P->dn_subset);
        if (P->dn_batch > 0) pl_kint(&a, "--batch", P->dn_batch);
        pl_kint(&a, "--eval", 0);
        common_args(&R, &a);
        pl_kv(&a, "--out", p0);
        snprintf(path, sizeof path, "%s/ckpt/P0_warmup.ckpt", outdir);
        pl_kv(&a, "--checkpoint", path);
        snprintf(path, sizeof path, "%s/logs/P0_warmup.jsonl", outdir);
        pl_kv(&a, "--log", path);
        if (pl_exec(&R.pg, "train denoiser", cmd_train_denoiser, &a) != 0) {
            pl_say(&R.pg, "error: the identity warm-up failed");
            rc = 1;
        }
        pl_done(&R.pg, 2);
    }

    /* 4. denoisers */
    for (int j = 0; rc == 0 && j < n_dn; j++) {
        const dn_job *d = jobs[j];
        int is_jatp = strcmp(d->method, "jatp") == 0;
        pl_stage(&R.pg, "denoiser %s: %s on %s examples%s", d->label, d->method, d->examples,
                 d->joint ? ", T trained with P" : "");
        pl_argv a = {0};
        pl_kv(&a, "--method", d->method);
        pl_kv(&a, "--examples", d->examples);
        if (d->joint) pl_arg(&a, "--joint");
        pl_kv(&a, "--target", tpaths[0]);
        pl_kv(&a, "--data", ds);
        if (data) pl_kv(&a, "--data-dir", data);
        if (P->dn_preset) pl_kv(&a, "--preset", P->dn_preset);
        if (shared_warmup) {
            pl_kv(&a, "--denoiser", p0);
            if (is_jatp) pl_kint(&a, "--warmup", 0);
        } else if (P->dn_model)
            pl_kv(&a, "--denoiser", P->dn_model);
        if (P->dn_epochs > 0) pl_kint(&a, "--epochs", P->dn_epochs);
        if (P->dn_subset > 0) pl_kint(&a, "--subset", P->dn_subset);
        if (P->dn_batch > 0) pl_kint(&a, "--batch", P->dn_batch);
        if (is_jatp && P->fpgd_steps > 0) pl_kint(&a, "--fpgd-steps", P->fpgd_steps);
        if (is_jatp && P->fpgd_step > 0) pl_kdbl(&a, "--fpgd-step", P->fpgd_step);
        int pgd_method = !strcmp(d->method, "hgd") || !strcmp(d->method, "apeg");
        if (pgd_method && P->pgd_steps > 0) pl_kint(&a, "--pgd-steps", P->pgd_steps);
        if (pgd_method && P->pgd_step > 0) pl_kdbl(&a, "--pgd-step", P->pgd_step);
        if (!strcmp(d->method, "nrp") && P->ssp_steps > 0) pl_kint(&a, "--ssp-steps", P->ssp_steps);
        pl_kint(&a, "--eval", 0);
        common_args(&R, &a);
        snprintf(path, sizeof path, "%s/P_%s.onnx", outdir, d->file);
        pl_kv(&a, "--out", path);
        if (d->joint) {
            snprintf(path, sizeof path, "%s/T_joint.onnx", outdir);
            pl_kv(&a, "--out-target", path);
        }
        snprintf(path, sizeof path, "%s/ckpt/P_%s.ckpt", outdir, d->file);
        pl_kv(&a, "--checkpoint", path);
        snprintf(path, sizeof path, "%s/logs/P_%s.jsonl", outdir, d->file);
        pl_kv(&a, "--log", path);
        if (pl_exec(&R.pg, "train denoiser", cmd_train_denoiser, &a) != 0) {
            pl_say(&R.pg, "error: training %s failed", d->label);
            rc = 1;
        }
        pl_done(&R.pg, d->train_w);
    }

    /* 5. Table 1: None and every defense (JATP' belongs to the transfer table) in front of T */
    rr_table tb;
    memset(&tb, 0, sizeof tb);
    snprintf(tb.target, sizeof tb.target, "%s", recipe_label("trades"));
    snprintf(tb.preset, sizeof tb.preset, "%s", P->name);
    snprintf(tb.dataset, sizeof tb.dataset, "%s", ds);
    tb.seed = seed;
    char no_bpda[1024];
    strip_bpda(P->attacks, no_bpda, sizeof no_bpda);
    for (int j = -1; rc == 0 && j < n_dn; j++) {
        const dn_job *d = j >= 0 ? jobs[j] : NULL;
        if (d && d->joint) continue;
        int is_jatp = d && strcmp(d->method, "jatp") == 0;
        pl_stage(&R.pg, "evaluating %s on %d test images: %s", d ? d->label : "None", eval_n,
                 d ? P->attacks : no_bpda);
        snprintf(path2, sizeof path2, "%s/eval/%s.json", outdir, d ? d->file : "none");
        rc = eval_row(&R, &tb, tpaths[0], d, d ? P->attacks : no_bpda, eval_n, is_jatp ? P->check_points : 0, path2);
        pl_done(&R.pg, d ? d->eval_w : 0.2);
    }

    /* 6. the transfer table: the defenses trained against T in front of the other targets */
    rr_table ttb[MAX_TRANSFER];
    memset(ttb, 0, sizeof ttb);
    for (int i = 1; rc == 0 && i < n_targets; i++) {
        rr_table *t = &ttb[i - 1];
        snprintf(t->target, sizeof t->target, "%s", recipe_label(recipes[i]));
        snprintf(t->preset, sizeof t->preset, "%s", P->name);
        snprintf(t->dataset, sizeof t->dataset, "%s", ds);
        t->seed = seed;
        pl_stage(&R.pg, "transfer to the %s target: None and the defenses trained against TRADES, %d test images: %s",
                 t->target, transfer_n, P->transfer_attacks);
        for (int j = -1; rc == 0 && j < n_dn; j++) {
            const dn_job *d = j >= 0 ? jobs[j] : NULL;
            if (d && !d->transfer) continue;
            snprintf(path2, sizeof path2, "%s/eval/transfer_%s_%s.json", outdir, recipes[i], d ? d->file : "none");
            rc = eval_row(&R, t, tpaths[i], d, P->transfer_attacks, transfer_n, 0, path2);
            pl_done(&R.pg, 0.4);
        }
    }

    /* 7. reports */
    if (rc == 0 && !dry_run) {
        pl_stage(&R.pg, "reports: tables, figures, sanity report");
        char *settings = settings_json(P, target ? "given" : shipped[0][0] ? "shipped" : "trained",
                                       transfer, shared_warmup, eval_n, transfer_n, device, threads, seed);
        char header[3000];
        snprintf(header, sizeof header,
                 "# jatp reproduce: preset %s\n\nDataset %s, seed %llu, %d test images, target TRADES %s (%s). "
                 "Attacks: %s.\n\n",
                 P->name, ds, (unsigned long long)seed, eval_n, P->t_model,
                 target ? "given" : shipped[0][0] ? "shipped" : "trained here", P->attacks);
        printf("\n== jatp reproduce, preset %s: robust accuracy (%%) [95%% CI], N test images, target TRADES ==\n",
               P->name);
        rr_print_table(stdout, &tb, 0);
        snprintf(path, sizeof path, "%s/table.md", outdir);
        rc |= rr_write_markdown(&tb, path, header);
        snprintf(path, sizeof path, "%s/table.csv", outdir);
        rc |= rr_write_csv(&tb, path);
        snprintf(path, sizeof path, "%s/table.json", outdir);
        rc |= rr_write_json(&tb, path, settings);
        snprintf(path, sizeof path, "%s/sanity.txt", outdir);
        rc |= rr_write_sanity(&tb, path);
        if (transfer) {
            const rr_table *tabs[MAX_TRANSFER];
            for (int i = 1; i < n_targets; i++) tabs[i - 1] = &ttb[i - 1];
            printf("\n== transfer: the denoisers trained against TRADES in front of other targets, accuracy (%%), "
                   "N test images ==\n");
            rr_print_transfer(stdout, tabs, n_targets - 1, 0);
            snprintf(header, sizeof header,
                     "# jatp reproduce: preset %s, transfer table\n\nDefenses trained against the TRADES target, "
                     "evaluated end to end in front of other targets. Dataset %s, seed %llu, %d test images. "
                     "Attacks: %s.\n\n",
                     P->name, ds, (unsigned long long)seed, transfer_n, P->transfer_attacks);
            rc |= rr_write_transfer(tabs, n_targets - 1, outdir, header, settings);
        }
        fflush(stdout);
        int nf = rr_write_figures(&tb, outdir);
        if (nf < 0) rc = 1;
        free(settings);
        if (tb.sanity_failed)
            pl_say(&R.pg, "warning: a sanity check of the evaluator FAILED on the JATP row (sanity.txt)");
        pl_say(&R.pg, "done: %d figure(s), results in %s", nf < 0 ? 0 : nf, outdir);
    }
    rr_free(&tb);
    for (int i = 0; i < MAX_TRANSFER; i++) rr_free(&ttb[i]);
    if (rc && !dry_run) pl_say(&R.pg, "stopped with an error; partial results in %s", outdir);
    if (log) fclose(log);
    return rc;
}
