/* jatp reproduce: the paper's Table 1, Figure 1 and Figure 4a end to end (issue 8). An orchestrator
 * over the other commands, run in this process: `train target` (TRADES), `train denoiser` (APE-G, HGD,
 * NRP on oblivious and on full examples, JATP), `eval` (None and every defense under the preset's
 * attacks on the same test subset, BPDA+PGD through each defense, the sanity checks on the JATP row),
 * then the reports of common/reproduce_report.c. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/args.h"
#include "common/cli.h"
#include "common/reproduce_report.h"
#include "jatp/jatp.h"

#define CMD "jatp reproduce"

typedef struct preset {
    const char *name, *about;
    const char *dataset;      /* fmnist / cifar10 */
    int needs_data;           /* refuse without --data */
    /* target (TRADES) */
    const char *t_model;
    int t_epochs, t_subset, t_batch, t_pgd_steps, t_eval_clean;
    /* denoisers */
    const char *dn_preset;    /* jt_dn_preset name or NULL */
    const char *dn_model;     /* --denoiser or NULL (method default / preset) */
    int dn_epochs, dn_subset, dn_batch, dn_warmup; /* <0 / 0: the preset's */
    int jatp_epochs, jatp_subset;                  /* 0: as the baselines */
    int fpgd_steps, pgd_steps, ssp_steps;          /* < 0: the preset's */
    /* evaluation */
    int eval_n, check_points;
    const char *attacks;
} preset;

static const preset presets[] = {
    {"ci", "tiny smoke run for the test suite (minutes on 2 cores; numbers are not meaningful)", "fmnist", 0,
     "resnet10-fm-w8", 1, 1024, 64, 2, 256, "ci", "rrdb-s", 1, 512, 64, 8, 0, 0, 2, 3, 5, 64, 16,
     "pgd:steps=5,pgd-dlr:steps=5,aa-smoke,fwa:steps=5,ti-bim:steps=5,pgd-bpda:steps=5"},
    {"fmnist", "default: Fashion-MNIST on the CPU, subsets sized for ~30 minutes on 2 cores", "fmnist", 0,
     "resnet10-fm-w8", 2, 16384, 128, 3, 1000, "fmnist", "rrdb-s", 1, 2048, 128, 50, 1, 4096, 3, 5, 10, 200, 100,
     "pgd:steps=20,pgd-dlr:steps=20,aa-smoke,fwa:steps=10,ti-bim:steps=20,pgd-bpda:steps=20"},
    {"fmnist-m", "full Fashion-MNIST (models.md 5.7 fmnist-m: ResNet-10-FM, RRDB-M); hours on a CPU", "fmnist", 0,
     "resnet10-fm", 5, 0, 128, 10, -1, "fmnist-m", NULL, 0, 0, 0, -1, 0, 0, -1, -1, -1, 1000, 200,
     "pgd,pgd-dlr,aa,fwa,ti-bim,pgd-bpda"},
    {"paper", "the paper's setting: CIFAR-10 (--data DIR), ResNet-18 TRADES, 3-block RRDB (nrp3), 30 epochs, "
              "standard AutoAttack; meant for a GPU",
     "cifar10", 1, "resnet18", 0, 0, 128, 10, -1, NULL, NULL, 30, 0, 128, -1, 0, 0, -1, -1, -1, 10000, 500,
     "pgd,pgd-dlr,aa,fwa,ti-bim,pgd-bpda"},
};
#define N_PRESETS (int)(sizeof presets / sizeof presets[0])

/* ---- progress ---- */

typedef struct prog {
    double t0;
    double done_w, total_w;
    int k, n;
    FILE *log;
} prog;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_dur(char *b, size_t cap, double s) {
    if (!isfinite(s) || s < 0) {
        snprintf(b, cap, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(b, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else
        snprintf(b, cap, "%ldm%02lds", t / 60, t % 60);
}

static void say(prog *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(prog *p, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char el[32];
    fmt_dur(el, sizeof el, now_s() - p->t0);
    fprintf(stderr, "[reproduce %s] %s\n", el, msg);
    if (p->log) {
        fprintf(p->log, "[%s] %s\n", el, msg);
        fflush(p->log);
    }
}

static void stage(prog *p, double w, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void stage(prog *p, double w, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    double el = now_s() - p->t0;
    char eta[32];
    if (p->done_w > 0)
        fmt_dur(eta, sizeof eta, el / p->done_w * (p->total_w - p->done_w));
    else
        snprintf(eta, sizeof eta, "?");
    p->k++;
    say(p, "stage %d/%d: %s (ETA of the run %s)", p->k, p->n, msg, eta);
    (void)w;
}

/* ---- helpers ---- */

static int mkdirs(const char *path) {
    char b[4096];
    snprintf(b, sizeof b, "%s", path);
    for (char *s = b + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(b, 0777) != 0 && errno != EEXIST) return -1;
            *s = '/';
        }
    if (mkdir(b, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

static int copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb");
    if (!a) return -1;
    FILE *b = fopen(to, "wb");
    if (!b) {
        fclose(a);
        return -1;
    }
    char buf[1 << 16];
    size_t n;
    int bad = 0;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, n, b) != n) bad = 1;
    bad |= ferror(a);
    fclose(a);
    if (fclose(b) != 0) bad = 1;
    return bad ? -1 : 0;
}

/* argv builder: strings copied into a pool */
typedef struct av {
    int n;
    char *v[96];
    char pool[16384];
    size_t used;
} av;

static void av_add(av *a, const char *s) {
    size_t len = strlen(s) + 1;
    if (a->n >= 95 || a->used + len > sizeof a->pool) return;
    memcpy(a->pool + a->used, s, len);
    a->v[a->n++] = a->pool + a->used;
    a->v[a->n] = NULL;
    a->used += len;
}

static void av_kv(av *a, const char *k, const char *v) {
    av_add(a, k);
    av_add(a, v);
}

static void av_int(av *a, const char *k, long v) {
    char b[32];
    snprintf(b, sizeof b, "%ld", v);
    av_kv(a, k, b);
}

static void av_log(prog *p, const char *cmd, const av *a) {
    if (!p->log) return;
    fprintf(p->log, "  $ jatp %s", cmd);
    for (int i = 0; i < a->n; i++) fprintf(p->log, " %s", a->v[i]);
    fprintf(p->log, "\n");
    fflush(p->log);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

typedef struct dn_job {
    const char *method, *examples, *label;
} dn_job;

static const dn_job dn_jobs[] = {
    {"apeg", "oblivious", "APE-G (oblivious)"}, {"apeg", "full", "APE-G (full)"},
    {"hgd", "oblivious", "HGD (oblivious)"},    {"hgd", "full", "HGD (full)"},
    {"nrp", "oblivious", "NRP (oblivious)"},    {"nrp", "full", "NRP (full)"},
    {"jatp", "full", "JATP"},
};
#define N_DN (int)(sizeof dn_jobs / sizeof dn_jobs[0])

int cmd_reproduce(int argc, char **argv) {
    const char *pname = "fmnist", *data = NULL, *device = NULL, *out = NULL, *target = NULL, *seed_s = NULL,
               *eval_n_s = NULL;
    int threads = 0, list = 0, skip_baselines = 0;
    const arg_opt opts[] = {
        {"--preset", ARG_STR, "NAME", "ci | fmnist (default) | fmnist-m | paper (--list-presets for details)", &pname},
        {"--data", ARG_STR, "DIR", "dataset folder (default for Fashion-MNIST: Debian's; paper: CIFAR-10 binary, required)",
         &data},
        {"--device", ARG_STR, "DEV", "cpu (default), cuda or cuda:N", &device},
        {"--out", ARG_STR, "DIR", "output folder (default results/<UTC timestamp>)", &out},
        {"--target", ARG_STR, "T.onnx", "use this TRADES target instead of training one", &target},
        {"--seed", ARG_STR, "S", "seed of every stage (default 0)", &seed_s},
        {"--eval-n", ARG_STR, "N", "test examples evaluated (default: the preset's)", &eval_n_s},
        {"--threads", ARG_INT, "N", "worker threads (default: all cores)", &threads},
        {"--no-baselines", ARG_FLAG, NULL, "train and evaluate JATP only (no APE-G, HGD, NRP rows)", &skip_baselines},
        {"--list-presets", ARG_FLAG, NULL, "print the presets and exit", &list},
    };
    arg_spec spec = {CMD, "[--preset NAME] [--data DIR] [--device cpu|cuda] [--out DIR] [options]",
                     "Reproduces the paper's Table 1, Figure 1 and Figure 4a: trains a TRADES target (or takes "
                     "--target), APE-G, HGD and NRP denoisers on oblivious and on full adversarial examples and JATP, "
                     "then evaluates None and every defense under PGD, DLR, AutoAttack, FWA and TI-BIM on the same "
                     "test subset, plus BPDA+PGD fooling rates, with the sanity checks on the JATP row. Writes to "
                     "--out: table.md/.csv/.json (every number with N, 95% Wilson interval, attack settings and "
                     "seed), fig1_<attack>.png, fig4a_fooling.png, T.onnx, P_*.onnx, sanity.txt, reproduce.log and "
                     "the per-stage logs and eval summaries.",
                     opts, (int)(sizeof opts / sizeof opts[0]), NULL, 0, 0, NULL};
    int rc = args_parse(&spec, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    if (list) {
        for (int i = 0; i < N_PRESETS; i++) {
            const preset *q = &presets[i];
            printf("%-9s %s\n          target %s TRADES, %d epoch(s), subset %d; denoisers %s, %d epoch(s), subset %d; "
                   "eval %d test images: %s\n",
                   q->name, q->about, q->t_model, q->t_epochs, q->t_subset, q->dn_model ? q->dn_model : "(preset)",
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
    int eval_n = P->eval_n;
    if (eval_n_s) {
        double v;
        if (args_number(CMD, "--eval-n", eval_n_s, 1, 1e6, &v)) return 2;
        eval_n = (int)v;
    }
    if (threads < 0) return fprintf(stderr, CMD ": --threads must be >= 0\n"), 2;
    if (target && !exists(target)) return fprintf(stderr, CMD ": --target: %s does not exist\n", target), 2;
    char outdir[2048];
    if (out)
        snprintf(outdir, sizeof outdir, "%s", out);
    else {
        time_t t = time(NULL);
        char ts[32];
        strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", gmtime(&t));
        snprintf(outdir, sizeof outdir, "results/%s", ts);
    }
    char sub[2300];
    snprintf(sub, sizeof sub, "%s/logs", outdir);
    if (mkdirs(outdir) || mkdirs(sub) || (snprintf(sub, sizeof sub, "%s/eval", outdir), mkdirs(sub)) ||
        (snprintf(sub, sizeof sub, "%s/ckpt", outdir), mkdirs(sub))) {
        fprintf(stderr, "jatp: error: cannot create %s: %s\n", outdir, strerror(errno));
        return 1;
    }
    prog pg = {.t0 = now_s()};
    snprintf(sub, sizeof sub, "%s/reproduce.log", outdir);
    pg.log = fopen(sub, "w");
    char seed_str[32], thr[16];
    snprintf(seed_str, sizeof seed_str, "%llu", (unsigned long long)seed);
    snprintf(thr, sizeof thr, "%d", threads);
    const char *ds = P->dataset;
    int n_dn = 0;
    const dn_job *jobs[N_DN];
    for (int i = 0; i < N_DN; i++)
        if (!skip_baselines || strcmp(dn_jobs[i].method, "jatp") == 0) jobs[n_dn++] = &dn_jobs[i];
    pg.n = 1 + n_dn + 1 + n_dn + 1;
    /* rough weights for the ETA: target 3, each denoiser 1 (JATP 1.5), each evaluation 1 */
    pg.total_w = 3 + n_dn + 0.5 + 1 + n_dn + 0.2;
    say(&pg, "preset %s (%s), dataset %s, seed %s, device %s, out %s", P->name, P->about, ds, seed_str,
        device ? device : "cpu", outdir);

    /* 1. target */
    char tpath[2300], path[2400], path2[2400];
    snprintf(tpath, sizeof tpath, "%s/T.onnx", outdir);
    if (target) {
        stage(&pg, 3, "target: copying %s", target);
        if (copy_file(target, tpath)) {
            fprintf(stderr, "jatp: error: cannot copy %s to %s: %s\n", target, tpath, strerror(errno));
            rc = 1;
        }
    } else {
        char what[64];
        if (P->t_subset > 0)
            snprintf(what, sizeof what, "the first %d", P->t_subset);
        else
            snprintf(what, sizeof what, "all");
        stage(&pg, 3, "target: TRADES %s, %d epoch(s) on %s training images", P->t_model, P->t_epochs, what);
        av a = {0};
        av_kv(&a, "--recipe", "trades");
        av_kv(&a, "--data", ds);
        if (data) av_kv(&a, "--data-dir", data);
        av_kv(&a, "--model", P->t_model);
        if (P->t_epochs > 0) av_int(&a, "--epochs", P->t_epochs);
        if (P->t_subset > 0) av_int(&a, "--subset", P->t_subset);
        if (P->t_batch > 0) av_int(&a, "--batch", P->t_batch);
        if (P->t_pgd_steps > 0) av_int(&a, "--pgd-steps", P->t_pgd_steps);
        av_int(&a, "--eval-points", 0);
        if (P->t_eval_clean >= 0) av_int(&a, "--eval-clean", P->t_eval_clean);
        av_kv(&a, "--seed", seed_str);
        if (threads) av_kv(&a, "--threads", thr);
        if (device) av_kv(&a, "--device", device);
        av_kv(&a, "--out", tpath);
        snprintf(path, sizeof path, "%s/ckpt/T.ckpt", outdir);
        av_kv(&a, "--checkpoint", path);
        snprintf(path, sizeof path, "%s/logs/T.jsonl", outdir);
        av_kv(&a, "--log", path);
        av_log(&pg, "train target", &a);
        if (cmd_train_target(a.n, a.v) != 0) {
            say(&pg, "error: training the target failed");
            rc = 1;
        }
    }
    pg.done_w += 3;

    /* 2. denoisers */
    for (int j = 0; rc == 0 && j < n_dn; j++) {
        const dn_job *d = jobs[j];
        int is_jatp = strcmp(d->method, "jatp") == 0;
        int epochs = is_jatp && P->jatp_epochs ? P->jatp_epochs : P->dn_epochs;
        int subset = is_jatp && P->jatp_subset ? P->jatp_subset : P->dn_subset;
        stage(&pg, is_jatp ? 1.5 : 1, "denoiser %s: %s on %s examples", d->label, d->method, d->examples);
        av a = {0};
        av_kv(&a, "--method", d->method);
        av_kv(&a, "--examples", d->examples);
        av_kv(&a, "--target", tpath);
        av_kv(&a, "--data", ds);
        if (data) av_kv(&a, "--data-dir", data);
        if (P->dn_preset) av_kv(&a, "--preset", P->dn_preset);
        if (P->dn_model) av_kv(&a, "--denoiser", P->dn_model);
        if (epochs > 0) av_int(&a, "--epochs", epochs);
        if (subset > 0) av_int(&a, "--subset", subset);
        if (P->dn_batch > 0) av_int(&a, "--batch", P->dn_batch);
        if (is_jatp && P->dn_warmup >= 0) av_int(&a, "--warmup", P->dn_warmup);
        if (is_jatp && P->fpgd_steps > 0) av_int(&a, "--fpgd-steps", P->fpgd_steps);
        if ((!strcmp(d->method, "hgd") || !strcmp(d->method, "apeg")) && P->pgd_steps > 0)
            av_int(&a, "--pgd-steps", P->pgd_steps);
        if (!strcmp(d->method, "nrp") && P->ssp_steps > 0) av_int(&a, "--ssp-steps", P->ssp_steps);
        av_int(&a, "--eval", 0);
        av_kv(&a, "--seed", seed_str);
        if (threads) av_kv(&a, "--threads", thr);
        if (device) av_kv(&a, "--device", device);
        if (is_jatp)
            snprintf(path, sizeof path, "%s/P_jatp.onnx", outdir);
        else
            snprintf(path, sizeof path, "%s/P_%s_%s.onnx", outdir, d->method, d->examples);
        av_kv(&a, "--out", path);
        snprintf(path, sizeof path, "%s/ckpt/P_%s_%s.ckpt", outdir, d->method, d->examples);
        av_kv(&a, "--checkpoint", path);
        snprintf(path, sizeof path, "%s/logs/P_%s_%s.jsonl", outdir, d->method, d->examples);
        av_kv(&a, "--log", path);
        av_log(&pg, "train denoiser", &a);
        if (cmd_train_denoiser(a.n, a.v) != 0) {
            say(&pg, "error: training %s failed", d->label);
            rc = 1;
        }
        pg.done_w += is_jatp ? 1.5 : 1;
    }

    /* 3. evaluation: None, then every defense, on the same test subset */
    rr_table tb;
    memset(&tb, 0, sizeof tb);
    snprintf(tb.preset, sizeof tb.preset, "%s", P->name);
    snprintf(tb.dataset, sizeof tb.dataset, "%s", ds);
    tb.seed = seed;
    char no_bpda[1024];
    snprintf(no_bpda, sizeof no_bpda, "%s", P->attacks);
    {
        /* None has no defense: drop the BPDA items */
        char tmp[1024], *save = NULL;
        snprintf(tmp, sizeof tmp, "%s", P->attacks);
        no_bpda[0] = 0;
        for (char *it = strtok_r(tmp, ",", &save); it; it = strtok_r(NULL, ",", &save))
            if (!strstr(it, "bpda")) {
                if (no_bpda[0]) strncat(no_bpda, ",", sizeof no_bpda - strlen(no_bpda) - 1);
                strncat(no_bpda, it, sizeof no_bpda - strlen(no_bpda) - 1);
            }
    }
    for (int j = -1; rc == 0 && j < n_dn; j++) {
        const dn_job *d = j >= 0 ? jobs[j] : NULL;
        int is_jatp = d && strcmp(d->method, "jatp") == 0;
        stage(&pg, 1, "evaluating %s on %d test images: %s", d ? d->label : "None", eval_n,
              d ? P->attacks : no_bpda);
        av a = {0};
        av_kv(&a, "--target", tpath);
        if (d) {
            if (is_jatp)
                snprintf(path2, sizeof path2, "%s/P_jatp.onnx", outdir);
            else
                snprintf(path2, sizeof path2, "%s/P_%s_%s.onnx", outdir, d->method, d->examples);
            av_kv(&a, "--defense", path2);
        }
        av_kv(&a, "--dataset", ds);
        if (data) av_kv(&a, "--data-dir", data);
        av_int(&a, "--limit", eval_n);
        av_kv(&a, "--attacks", d ? P->attacks : no_bpda);
        av_kv(&a, "--seed", seed_str);
        if (threads) av_kv(&a, "--threads", thr);
        if (device) av_kv(&a, "--device", device);
        if (is_jatp) {
            av_add(&a, "--checks");
            av_int(&a, "--check-points", P->check_points < eval_n ? P->check_points : eval_n);
        }
        snprintf(path, sizeof path, "%s/eval/%s%s%s.json", outdir, d ? d->method : "none", d ? "_" : "",
                 d ? d->examples : "");
        av_kv(&a, "--json", path);
        av_log(&pg, "eval", &a);
        fflush(stdout);
        if (cmd_eval(a.n, a.v) != 0) {
            say(&pg, "error: evaluating %s failed", d ? d->label : "None");
            rc = 1;
            break;
        }
        fflush(stdout);
        rr_row *row = rr_add_row(&tb, d ? d->label : "None", d ? d->method : "none", d ? d->examples : "");
        if (!row || rr_read_eval(&tb, row, path)) rc = 1;
        pg.done_w += 1;
    }

    /* 4. reports */
    if (rc == 0) {
        stage(&pg, 0.2, "reports: tables, figures, sanity report");
        char settings[2048];
        snprintf(settings, sizeof settings,
                 "{\"preset\":\"%s\",\"dataset\":\"%s\",\"target\":{\"recipe\":\"trades\",\"model\":\"%s\","
                 "\"epochs\":%d,\"subset\":%d,\"pgd_steps\":%d,\"given\":%s},\"denoisers\":{\"preset\":\"%s\","
                 "\"model\":\"%s\",\"epochs\":%d,\"subset\":%d,\"batch\":%d,\"jatp_epochs\":%d,\"jatp_subset\":%d,"
                 "\"jatp_warmup\":%d,\"fpgd_steps\":%d,\"pgd_steps\":%d,\"ssp_steps\":%d},\"eval_n\":%d,"
                 "\"attacks\":\"%s\",\"device\":\"%s\",\"threads\":%d,\"seed\":%llu}",
                 P->name, ds, P->t_model, P->t_epochs, P->t_subset, P->t_pgd_steps, target ? "true" : "false",
                 P->dn_preset ? P->dn_preset : "", P->dn_model ? P->dn_model : "", P->dn_epochs, P->dn_subset,
                 P->dn_batch, P->jatp_epochs, P->jatp_subset, P->dn_warmup, P->fpgd_steps, P->pgd_steps,
                 P->ssp_steps, eval_n, P->attacks, device ? device : "cpu", threads, (unsigned long long)seed);
        char header[2600];
        snprintf(header, sizeof header,
                 "# jatp reproduce: preset %s\n\nDataset %s, seed %llu, %d test images, target TRADES %s. "
                 "Attacks: %s.\n\n",
                 P->name, ds, (unsigned long long)seed, eval_n, P->t_model, P->attacks);
        printf("\n== jatp reproduce, preset %s: robust accuracy (%%) [95%% CI], N test images ==\n", P->name);
        rr_print_table(stdout, &tb, 0);
        fflush(stdout);
        snprintf(path, sizeof path, "%s/table.md", outdir);
        rc |= rr_write_markdown(&tb, path, header);
        snprintf(path, sizeof path, "%s/table.csv", outdir);
        rc |= rr_write_csv(&tb, path);
        snprintf(path, sizeof path, "%s/table.json", outdir);
        rc |= rr_write_json(&tb, path, settings);
        snprintf(path, sizeof path, "%s/sanity.txt", outdir);
        rc |= rr_write_sanity(&tb, path);
        int nf = rr_write_figures(&tb, outdir);
        if (nf < 0) rc = 1;
        if (tb.sanity_failed) say(&pg, "warning: a sanity check of the evaluator FAILED on the JATP row (sanity.txt)");
        say(&pg, "done: %d figure(s), results in %s", nf < 0 ? 0 : nf, outdir);
    }
    rr_free(&tb);
    if (rc) say(&pg, "stopped with an error; partial results in %s", outdir);
    if (pg.log) fclose(pg.log);
    return rc;
}
