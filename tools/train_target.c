/* jatp train target: natural, Standard AT (PGD-10), TRADES, MART or MMA-lite training of a classifier
 * (include/jatp/train_target.h), exported as ONNX with a resumable checkpoint. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/cli.h"
#include "common/stop.h"
#include "jatp/train_target.h"

#define CMD "jatp train target"

static int nonneg(const char *flag, int v, int min) {
    if (v >= min) return 0;
    fprintf(stderr, CMD ": %s: %d is out of range (must be >= %d)\n", flag, v, min);
    return 2;
}

int cmd_train_target(int argc, char **argv) {
    const char *recipe = NULL, *data = NULL, *data_dir = NULL, *model = NULL, *out = NULL, *ckpt = NULL, *log = NULL,
               *device = NULL, *lr = NULL, *wd = NULL, *momentum = NULL, *beta = NULL, *eps = NULL, *pgd_step = NULL,
               *seed = NULL;
    const int unset = INT_MIN;
    int epochs = unset, batch = unset, subset = unset, pgd_steps = unset, threads = 0, eval_points = unset,
        eval_clean = unset, ckpt_every = 0, resume = 0, quiet = 0, no_augment = 0, no_flip = 0, max_steps = 0, deterministic = 0;
    const arg_opt opts[] = {
        {"--recipe", ARG_STR, "R", "natural, at (Standard/Madry PGD-10), trades, mart or mma (MMA-lite)", &recipe},
        {"--data", ARG_STR, "D", "fmnist (fashion-mnist), mnist, cifar10 or svhn", &data},
        {"--data-dir", ARG_STR, "DIR", "dataset folder (default for fmnist: Debian's dataset-fashion-mnist)", &data_dir},
        {"--model", ARG_STR, "NAME[:k=v,..]", "model builder and settings (default resnet10-fm for 1x28x28, resnet18 "
                                               "for 3x32x32), e.g. resnet10-fm-w8 or resnet10-fm:base=8",
         &model},
        {"--epochs", ARG_INT, "N", "epochs (default: the recipe's: 5 Fashion-MNIST, 100 CIFAR/SVHN, MART 120)", &epochs},
        {"--batch", ARG_INT, "B", "batch size (default 128; the last incomplete batch of an epoch is dropped)", &batch},
        {"--subset", ARG_INT, "N", "train on the first N training images only", &subset},
        {"--lr", ARG_STR, "X", "initial learning rate (default per recipe and dataset)", &lr},
        {"--wd", ARG_STR, "X", "weight decay (default per recipe and dataset)", &wd},
        {"--momentum", ARG_STR, "X", "SGD momentum (default 0.9)", &momentum},
        {"--beta", ARG_STR, "X", "TRADES / MART beta (default 6)", &beta},
        {"--eps", ARG_STR, "E", "L-inf radius (default 0.1 Fashion-MNIST, 8/255 CIFAR/SVHN)", &eps},
        {"--pgd-steps", ARG_INT, "K", "inner PGD iterations (default 10)", &pgd_steps},
        {"--pgd-step", ARG_STR, "A", "inner PGD step size (default 0.02 Fashion-MNIST, 0.007 CIFAR/SVHN)", &pgd_step},
        {"--no-augment", ARG_FLAG, NULL, "no random crop or flip", &no_augment},
        {"--no-flip", ARG_FLAG, NULL, "random crop only (no horizontal flip)", &no_flip},
        {"--seed", ARG_STR, "S", "seed of the init, data order, augmentation and random starts (default 0)", &seed},
        {"--threads", ARG_INT, "T", "worker threads (default: all cores)", &threads},
        {"--device", ARG_STR, "DEV", "cpu (default), cuda or cuda:N", &device},
        {"--deterministic", ARG_FLAG, NULL, "CUDA: deterministic algorithms only", &deterministic},
        {"--eval-points", ARG_INT, "N", "test images for the PGD robust accuracy after each epoch (default 500; 0: none)",
         &eval_points},
        {"--eval-clean", ARG_INT, "N", "test images for the clean accuracy after each epoch (default all; 0: none)",
         &eval_clean},
        {"--out", ARG_STR, "T.onnx", "the trained target (eval-mode BatchNorm), written at the end", &out},
        {"--checkpoint", ARG_STR, "T.ckpt", "resumable checkpoint (default: --out with .ckpt)", &ckpt},
        {"--checkpoint-every", ARG_INT, "N", "also write the checkpoint every N steps (default: at epoch ends only)",
         &ckpt_every},
        {"--resume", ARG_FLAG, NULL, "continue from the checkpoint (same settings)", &resume},
        {"--max-steps", ARG_INT, "N", "stop after N steps in total as on Ctrl-C (checkpoint written)", &max_steps},
        {"--log", ARG_STR, "T.jsonl", "JSON-lines log: one line per step, epoch evaluations, events", &log},
        {"--quiet", ARG_FLAG, NULL, "no progress lines", &quiet},
    };
    static char summary[900];
    snprintf(summary, sizeof summary,
             "Trains a classifier with one of the recipes of models.md 5.1: natural (CE), at (Standard adversarial "
             "training, PGD-10 on CE), trades (CE + beta KL, PGD on the KL), mart (BCE + beta weighted KL) or mma "
             "(MMA-lite). The inner PGD starts at x + 0.001 N(0,1) and runs with the model in eval mode; the update "
             "runs it in train mode. Each epoch ends with the clean test accuracy and a PGD robust accuracy. Ctrl-C "
             "finishes the step and writes the checkpoint; --resume continues bitwise identically on the CPU.");
    arg_spec spec = {CMD, "--recipe R --data D --out T.onnx [options]", summary, opts,
                     (int)(sizeof opts / sizeof opts[0]), NULL, 0, 0, NULL};
    int rc = args_parse(&spec, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    jt_target_train_config c;
    jt_target_train_config_default(&c);
    if (!recipe) {
        fprintf(stderr, CMD ": --recipe is required (%s)\n", jt_recipe_names());
        return 2;
    }
    int r = jt_recipe_parse(recipe);
    if (r < 0) {
        fprintf(stderr, CMD ": --recipe: '%s' is not one of %s\n", recipe, jt_recipe_names());
        return 2;
    }
    c.recipe = (jt_recipe)r;
    if (!data) {
        fprintf(stderr, CMD ": --data is required (fmnist, mnist, cifar10 or svhn)\n");
        return 2;
    }
    if (strcmp(data, "fmnist") != 0 && strcmp(data, "fashion-mnist") != 0 && strcmp(data, "mnist") != 0 &&
        strcmp(data, "cifar10") != 0 && strcmp(data, "svhn") != 0) {
        fprintf(stderr, CMD ": --data: '%s' is not fmnist, mnist, cifar10 or svhn\n", data);
        return 2;
    }
    if (!data_dir && (strcmp(data, "fmnist") != 0 && strcmp(data, "fashion-mnist") != 0)) {
        fprintf(stderr, CMD ": --data %s needs --data-dir\n", data);
        return 2;
    }
    c.dataset = data;
    c.data_dir = data_dir;
    c.model = model;
    if (!out) {
        fprintf(stderr, CMD ": --out T.onnx is required\n");
        return 2;
    }
    rc = (epochs != unset ? nonneg("--epochs", epochs, 1) : 0) | (batch != unset ? nonneg("--batch", batch, 1) : 0) |
         (subset != unset ? nonneg("--subset", subset, 1) : 0) | nonneg("--threads", threads, 0) |
         nonneg("--checkpoint-every", ckpt_every, 0) | nonneg("--max-steps", max_steps, 0) |
         (pgd_steps != unset ? nonneg("--pgd-steps", pgd_steps, 0) : 0) |
         (eval_points != unset ? nonneg("--eval-points", eval_points, 0) : 0) |
         (eval_clean != unset ? nonneg("--eval-clean", eval_clean, 0) : 0);
    rc |= args_number(CMD, "--lr", lr, 0, 1e300, &c.lr) | args_number(CMD, "--wd", wd, 0, 1e300, &c.wd) |
          args_number(CMD, "--momentum", momentum, 0, 1, &c.momentum) | args_number(CMD, "--beta", beta, 0, 1e300, &c.beta) |
          args_number(CMD, "--eps", eps, 0, 1, &c.eps) | args_number(CMD, "--pgd-step", pgd_step, 0, 1, &c.pgd_step) |
          args_u64(CMD, "--seed", seed, &c.seed);
    if (rc) return 2;
    if (lr && !(c.lr > 0)) {
        fprintf(stderr, CMD ": --lr: must be > 0\n");
        return 2;
    }
    c.epochs = epochs != unset ? epochs : 0;
    c.batch = batch != unset ? batch : 0;
    c.subset = subset != unset ? subset : 0;
    c.pgd_steps = pgd_steps != unset ? pgd_steps : -1;
    c.augment = !no_augment;
    c.flip = no_flip ? 0 : -1;
    if (eval_points != unset) c.eval_points = eval_points;
    if (eval_clean != unset) c.eval_clean = eval_clean;
    c.out = out;
    char ckpt_buf[4096];
    if (!ckpt) {
        size_t n = strlen(out);
        if (n > 5 && strcmp(out + n - 5, ".onnx") == 0) n -= 5;
        snprintf(ckpt_buf, sizeof ckpt_buf, "%.*s.ckpt", (int)(n < 4000 ? n : 4000), out);
        ckpt = ckpt_buf;
    }
    c.checkpoint = ckpt;
    c.checkpoint_every = ckpt_every;
    c.resume = resume;
    c.max_steps = max_steps;
    c.log_jsonl = log;
    c.quiet = quiet;
    if (resume) {
        FILE *f = fopen(ckpt, "rb");
        if (!f) {
            fprintf(stderr, CMD ": --resume: cannot open the checkpoint %s: %s\n", ckpt, strerror(errno));
            return 2;
        }
        fclose(f);
    }
    jt_ctx *ctx;
    if (cli_ctx(threads, &ctx)) return 1;
    jt_backend *be = NULL;
    if (device && strcmp(device, "cpu") != 0) {
        if (jt_backend_create(ctx, device, &be) != JT_OK) {
            rc = cli_error(ctx);
            jt_ctx_free(ctx);
            return rc;
        }
        if (deterministic) jt_backend_set_deterministic(be, 1);
        if (!quiet) fprintf(stderr, CMD ": device %s\n", jt_backend_description(be));
    }
    if (model) {
        char name[64];
        jt_model_config mc;
        if (jt_model_spec_parse(ctx, model, name, sizeof name, &mc) != JT_OK) {
            fprintf(stderr, CMD ": --model: %s\n", jt_ctx_error(ctx));
            jt_backend_free(be);
            jt_ctx_free(ctx);
            return 2;
        }
    }
    c.backend = be;
    c.stop = cli_stop_flag_install();
    jt_target_train_result res;
    jt_status st = jt_train_target(ctx, &c, &res);
    if (st != JT_OK) rc = cli_error(ctx);
    else if (res.interrupted) {
        fprintf(stderr, CMD ": stopped after step %lld; continue with the same command and --resume\n",
                (long long)res.steps);
        rc = 130;
    } else {
        printf("%s: %s target, %lld parameters, %lld steps in %.1fs (%.1f images/s)", out ? out : "(no output)",
               jt_recipe_name(c.recipe), (long long)res.n_params, (long long)res.steps, res.seconds, res.images_per_s);
        if (!isnan(res.clean_acc)) printf("; test accuracy %.2f%%", 100 * res.clean_acc);
        if (!isnan(res.robust_acc)) printf(", PGD robust accuracy %.2f%%", 100 * res.robust_acc);
        printf("\n");
    }
    jt_backend_free(be);
    jt_ctx_free(ctx);
    return rc;
}
