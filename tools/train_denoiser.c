/* jatp train denoiser: trains a pre-processing defense P in front of a frozen target (JATP, JATP', HGD,
 * APE-GAN, NRP), include/jatp/train_denoiser.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/cli.h"
#include "common/stop.h"
#include "jatp/train_denoiser.h"

#define CMD "jatp train denoiser"

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* optional integer flags hold UNSET until given, so that any given negative value is an error */
#define UNSET INT_MIN

/* 2 with a message when a given value is below `lowest` */
static int at_least(const char *flag, int v, int lowest) {
    if (v != UNSET && v < lowest) {
        fprintf(stderr, "%s: %s must be >= %d (got %d)\n", CMD, flag, lowest, v);
        return 2;
    }
    return 0;
}

int cmd_train_denoiser(int argc, char **argv) {
    const char *method = NULL, *target = NULL, *tap = NULL, *data = NULL, *data_dir = NULL, *denoiser = NULL,
               *disc = NULL, *preset = NULL, *examples = NULL, *loss = NULL, *alpha = NULL, *beta = NULL, *lr = NULL,
               *clip = NULL, *fpgd_step = NULL, *pgd_step = NULL, *ssp_step = NULL, *fpgd_dist = NULL, *eps = NULL,
               *seed = NULL, *device = NULL, *out = NULL, *out_target = NULL, *ckpt = NULL, *log = NULL, *pix = NULL;
    int joint = 0, epochs = UNSET, batch = UNSET, subset = UNSET, fpgd_steps = UNSET, pgd_steps = UNSET,
        ssp_steps = UNSET, warmup = UNSET, threads = 0, every = UNSET, resume = 0, quiet = 0, bce_as_ce = 0, w_one = 0,
        fgd = 0, no_augment = 0, eval_n = UNSET, max_steps = 0;
    arg_opt opts[] = {
        {"--method", ARG_STR, "M", "jatp | hgd | apeg | nrp (required)", &method},
        {"--target", ARG_STR, "T.onnx", "the frozen target classifier, eval mode (required; a builder name for smoke tests)", &target},
        {"--tap", ARG_STR, "NAME", "feature tap in T (value or node name); default: the last conv of layer3 (models.md 2)", &tap},
        {"--data", ARG_STR, "D", "fmnist | mnist | cifar10 | svhn (required)", &data},
        {"--data-dir", ARG_STR, "DIR", "dataset folder (default for fmnist: " JT_FMNIST_DIR ")", &data_dir},
        {"--denoiser", ARG_STR, "NAME[:k=v]", "P: a builder model (rrdb-s, rrdb-m, nrp3, dunet, apeg-g) or P0.onnx to start from", &denoiser},
        {"--discriminator", ARG_STR, "NAME[:k=v]", "apeg/nrp discriminator (default apeg-d / nrp-disc)", &disc},
        {"--preset", ARG_STR, "P", "ci | fmnist | fmnist-m: the Fashion-MNIST CPU settings of models.md 5.7", &preset},
        {"--examples", ARG_STR, "E", "oblivious (attacks on T) | full (attacks on T∘P); default jatp full, others oblivious", &examples},
        {"--joint", ARG_FLAG, NULL, "JATP': train T together with P (T in train mode for the update)", &joint},
        {"--loss", ARG_STR, "V", "jatp loss: full | pix | pix+bce | pix+bce+fsm | no-pix | no-bce | no-fsm", &loss},
        {"--bce-as-ce", ARG_FLAG, NULL, "jatp: plain CE instead of the boosted CE (Eq. 7)", &bce_as_ce},
        {"--w-one", ARG_FLAG, NULL, "jatp: FSM weight w = 1", &w_one},
        {"--pix", ARG_STR, "mse|l2norm", "jatp pixel loss: MSE (default) or mean per-image L2 norm", &pix},
        {"--alpha", ARG_STR, "A", "FSM weight (default 5)", &alpha},
        {"--beta", ARG_STR, "B", "pixel-loss weight (default 3)", &beta},
        {"--fgd", ARG_FLAG, NULL, "hgd: feature guidance (T's tap) instead of logits", &fgd},
        {"--epochs", ARG_INT, "N", "epochs (default 30; the lr milestones scale with it; 0 with --warmup: the identity warm-up alone)", &epochs},
        {"--batch", ARG_INT, "B", "batch size (default 128)", &batch},
        {"--subset", ARG_INT, "N", "train on the first N training images", &subset},
        {"--lr", ARG_STR, "X", "learning rate (default jatp 1e-2, hgd 1e-3, apeg 2e-4, nrp 1e-4)", &lr},
        {"--clip-grad", ARG_STR, "X", "global gradient-norm clipping (default jatp 1.0, others off; 0 = off)", &clip},
        {"--fpgd-steps", ARG_INT, "K", "jatp: feature-space PGD steps (default 10)", &fpgd_steps},
        {"--fpgd-step", ARG_STR, "A", "jatp: its step size (default 0.01, x3.1875 for 28x28)", &fpgd_step},
        {"--fpgd-dist", ARG_STR, "mse|cos", "jatp: distance of Eq. 5 (default mse)", &fpgd_dist},
        {"--pgd-steps", ARG_INT, "K", "hgd/apeg: PGD steps of the training examples (default 40)", &pgd_steps},
        {"--pgd-step", ARG_STR, "A", "hgd/apeg: PGD step size (default 0.007, x3.1875 for 28x28)", &pgd_step},
        {"--ssp-steps", ARG_INT, "K", "nrp: SSP steps (default 100)", &ssp_steps},
        {"--ssp-step", ARG_STR, "A", "nrp: SSP step size (default 0.01, x3.1875 for 28x28)", &ssp_step},
        {"--eps", ARG_STR, "E", "L-inf budget of the training examples (default 0.1 for 28x28, 8/255 otherwise)", &eps},
        {"--warmup", ARG_INT, "N", "identity warm-up iterations before training (Adam 1e-3; default 0, presets 100/300)", &warmup},
        {"--no-augment", ARG_FLAG, NULL, "no random crop and flip", &no_augment},
        {"--eval", ARG_INT, "N", "natural accuracy of T and T∘P on N test images after each epoch (default 1000, 0: off)", &eval_n},
        {"--seed", ARG_STR, "S", "run seed: init, data order, attack starts (default 0)", &seed},
        {"--threads", ARG_INT, "N", "CPU threads (default: all cores)", &threads},
        {"--device", ARG_STR, "DEV", "cpu (default), cuda or cuda:N", &device},
        {"--out", ARG_STR, "P.onnx", "the trained P as ONNX (required)", &out},
        {"--out-target", ARG_STR, "T2.onnx", "--joint: also write the updated T", &out_target},
        {"--checkpoint", ARG_STR, "P.ckpt", "checkpoint path (default: --out with .ckpt)", &ckpt},
        {"--checkpoint-every", ARG_INT, "N", "also write the checkpoint every N steps (default 100; always at epoch ends)", &every},
        {"--resume", ARG_FLAG, NULL, "continue from the checkpoint (same settings)", &resume},
        {"--max-steps", ARG_INT, "N", "stop once N steps (warm-up included) are done, as Ctrl-C does", &max_steps},
        {"--log", ARG_STR, "P.jsonl", "JSON lines: one per step, plus start/eval/stop/done events", &log},
        {"--quiet", ARG_FLAG, NULL, "no progress on stderr", &quiet},
    };
    arg_spec spec = {CMD,
                     "--method jatp|hgd|apeg|nrp --target T.onnx --data fmnist|mnist|cifar10|svhn --out P.onnx [options]",
                     "Trains a pre-processing defense P in front of a frozen target T (models.md sections 3-5): jatp = "
                     "joint adversarial training (feature-space PGD examples on T∘P, BCE + alpha*FSM*w + beta*MSE; "
                     "SGD 1e-2, momentum 0.9, wd 2e-4, x0.1 at epochs 15 and 25 of 30, gradient clipping 1.0); "
                     "hgd, apeg, nrp = the baselines with their own losses and optimisers. Progress (epoch, step, "
                     "loss terms, accuracy, images/s, ETA) on stderr; Ctrl-C finishes the step and writes the "
                     "checkpoint; --resume continues bit for bit (CPU). A NaN/inf stops the run with the last good "
                     "state in the checkpoint. Example: jatp train denoiser --method jatp --target T.onnx --data "
                     "fashion-mnist --subset 20000 --epochs 3 --out P.onnx",
                     opts, (int)(sizeof opts / sizeof opts[0]), NULL, 0, 0, NULL};
    int rc = args_parse(&spec, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    if (threads < 0) return fprintf(stderr, "%s: --threads must be >= 0 (got %d)\n", CMD, threads), 2;
    if (!method || !target || !data || !out) {
        fprintf(stderr, "%s: --method, --target, --data and --out are required (see %s --help)\n", CMD, CMD);
        return 2;
    }
    jt_dn_config cfg;
    jt_dn_config_default(&cfg);
    int m = jt_dn_method_parse(method);
    if (m < 0) {
        fprintf(stderr, "%s: --method: unknown method '%s' (jatp, hgd, apeg, nrp)\n", CMD, method);
        return 2;
    }
    cfg.method = (jt_dn_method)m;
    /* flags that belong to one method */
    struct {
        int given;
        const char *flag;
        int ok;
    } only[] = {
        {joint, "--joint", m == JT_DN_JATP},
        {loss != NULL, "--loss", m == JT_DN_JATP},
        {bce_as_ce, "--bce-as-ce", m == JT_DN_JATP},
        {w_one, "--w-one", m == JT_DN_JATP},
        {pix != NULL, "--pix", m == JT_DN_JATP},
        {alpha != NULL, "--alpha", m == JT_DN_JATP},
        {beta != NULL, "--beta", m == JT_DN_JATP},
        {fpgd_steps != UNSET, "--fpgd-steps", m == JT_DN_JATP},
        {fpgd_step != NULL, "--fpgd-step", m == JT_DN_JATP},
        {fpgd_dist != NULL, "--fpgd-dist", m == JT_DN_JATP},
        {fgd, "--fgd", m == JT_DN_HGD},
        {pgd_steps != UNSET, "--pgd-steps", m == JT_DN_HGD || m == JT_DN_APEG},
        {pgd_step != NULL, "--pgd-step", m == JT_DN_HGD || m == JT_DN_APEG},
        {ssp_steps != UNSET, "--ssp-steps", m == JT_DN_NRP},
        {ssp_step != NULL, "--ssp-step", m == JT_DN_NRP},
        {disc != NULL, "--discriminator", m == JT_DN_APEG || m == JT_DN_NRP},
        {out_target != NULL, "--out-target", joint},
    };
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++)
        if (only[i].given && !only[i].ok) {
            fprintf(stderr, "%s: %s does not apply to --method %s%s\n", CMD, only[i].flag, method,
                    strcmp(only[i].flag, "--out-target") == 0 ? " without --joint" : "");
            return 2;
        }
    if (preset && strcmp(preset, "ci") != 0 && strcmp(preset, "fmnist") != 0 && strcmp(preset, "fmnist-m") != 0) {
        fprintf(stderr, "%s: --preset: unknown preset '%s' (ci, fmnist, fmnist-m)\n", CMD, preset);
        return 2;
    }
    if (preset) jt_dn_preset(NULL, preset, &cfg); /* the name is valid */
    if (examples) {
        if (strcmp(examples, "oblivious") == 0) cfg.examples = JT_DN_EX_OBLIVIOUS;
        else if (strcmp(examples, "full") == 0) cfg.examples = JT_DN_EX_FULL;
        else {
            fprintf(stderr, "%s: --examples: '%s' is not oblivious or full\n", CMD, examples);
            return 2;
        }
    }
    cfg.joint = joint;
    if (loss) {
        int l = jt_dn_loss_parse(loss);
        if (l < 0) {
            fprintf(stderr, "%s: --loss: unknown variant '%s' (full, pix, pix+bce, pix+bce+fsm, no-pix, no-bce, no-fsm)\n",
                    CMD, loss);
            return 2;
        }
        cfg.loss = (jt_dn_loss)l;
    }
    cfg.sw.bce_as_ce = bce_as_ce;
    cfg.sw.w_one = w_one;
    if (pix) {
        if (strcmp(pix, "l2norm") == 0) cfg.sw.pix_l2norm = true;
        else if (strcmp(pix, "mse") != 0) {
            fprintf(stderr, "%s: --pix: '%s' is not mse or l2norm\n", CMD, pix);
            return 2;
        }
    }
    if (fpgd_dist) {
        if (strcmp(fpgd_dist, "cos") == 0) cfg.fpgd_dist = JT_DIST_COS;
        else if (strcmp(fpgd_dist, "mse") != 0) {
            fprintf(stderr, "%s: --fpgd-dist: '%s' is not mse or cos\n", CMD, fpgd_dist);
            return 2;
        }
    }
    cfg.hgd_fgd = fgd;
    if (alpha && args_number(CMD, "--alpha", alpha, 0, 1e6, &cfg.alpha)) return 2;
    if (beta && args_number(CMD, "--beta", beta, 0, 1e6, &cfg.beta)) return 2;
    if (lr && args_number(CMD, "--lr", lr, 1e-12, 10, &cfg.lr)) return 2;
    if (clip && args_number(CMD, "--clip-grad", clip, 0, 1e9, &cfg.clip_grad)) return 2;
    if (eps && args_number(CMD, "--eps", eps, 1e-9, 0.999, &cfg.eps)) return 2;
    const char *step_s = fpgd_step ? fpgd_step : pgd_step ? pgd_step : ssp_step;
    const char *step_f = fpgd_step ? "--fpgd-step" : pgd_step ? "--pgd-step" : "--ssp-step";
    if (step_s && args_number(CMD, step_f, step_s, 1e-9, 0.999, &cfg.attack_step)) return 2;
    if (at_least("--fpgd-steps", fpgd_steps, 1) || at_least("--pgd-steps", pgd_steps, 1) ||
        at_least("--ssp-steps", ssp_steps, 1) || at_least("--epochs", epochs, 0) || at_least("--batch", batch, 1) ||
        at_least("--subset", subset, 1) || at_least("--warmup", warmup, 0) || at_least("--eval", eval_n, 0) ||
        at_least("--checkpoint-every", every, 0) || at_least("--max-steps", max_steps, 0))
        return 2;
    if (batch != UNSET && batch > 65536) return fprintf(stderr, "%s: --batch must be <= 65536 (got %d)\n", CMD, batch), 2;
    int steps = fpgd_steps != UNSET ? fpgd_steps : pgd_steps != UNSET ? pgd_steps : ssp_steps;
    if (steps != UNSET) cfg.attack_steps = steps;
    if (epochs != UNSET) cfg.epochs = epochs;
    if (batch != UNSET) cfg.batch = batch;
    if (subset != UNSET) cfg.subset = subset;
    if (warmup != UNSET) cfg.warmup = warmup;
    if (eval_n != UNSET) cfg.eval_n = eval_n;
    else if (!preset) cfg.eval_n = 1000;
    cfg.augment = !no_augment;
    if (seed && args_u64(CMD, "--seed", seed, &cfg.seed)) return 2;
    cfg.discriminator = disc;
    cfg.out = out;
    cfg.out_target = out_target;
    cfg.log_path = log;
    cfg.quiet = quiet;
    cfg.resume = resume;
    cfg.max_steps = max_steps;
    cfg.checkpoint_every = every != UNSET ? every : 100;
    char ckpt_buf[4096];
    if (!ckpt) {
        size_t n = strlen(out);
        if (ends_with(out, ".onnx")) n -= 5;
        snprintf(ckpt_buf, sizeof ckpt_buf, "%.*s.ckpt", (int)n, out);
        ckpt = ckpt_buf;
    }
    cfg.checkpoint = ckpt;
    if (resume) {
        FILE *f = fopen(ckpt, "rb");
        if (!f) {
            fprintf(stderr, "%s: --resume: no checkpoint at %s\n", CMD, ckpt);
            return 2;
        }
        fclose(f);
    }

    jt_ctx *ctx;
    if (cli_ctx(threads, &ctx)) return 1;
    jt_ctx_set_seed(ctx, cfg.seed);
    jt_backend *be = NULL;
    jt_graph *T = NULL, *P0 = NULL;
    jt_dataset tr, te;
    memset(&tr, 0, sizeof tr);
    memset(&te, 0, sizeof te);
    rc = 0;
    if (device && strcmp(device, "cpu") != 0) {
        if (jt_backend_create(ctx, device, &be) != JT_OK) {
            fprintf(stderr, "%s: --device: %s\n", CMD, jt_ctx_error(ctx));
            rc = jt_ctx_last_status(ctx) == JT_ERR_ARG ? 2 : 1;
            goto done;
        }
        cfg.backend = be;
    }
    if (jt_dataset_open(ctx, data, data_dir, 1, &tr) != JT_OK) {
        if (jt_ctx_last_status(ctx) == JT_ERR_ARG) {
            fprintf(stderr, "%s: --data: %s\n", CMD, jt_ctx_error(ctx));
            rc = 2;
        } else {
            rc = cli_error(ctx);
        }
        goto done;
    }
    if (cfg.eval_n > 0 && jt_dataset_open(ctx, data, data_dir, 0, &te) != JT_OK) {
        rc = cli_error(ctx);
        goto done;
    }
    if (ends_with(target, ".onnx")) {
        if (jt_onnx_load(ctx, target, NULL, &T) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
    } else {
        jt_model_config mc;
        if (jt_model_config_preset(ctx, target, &mc) != JT_OK) {
            fprintf(stderr, "%s: --target: '%s' is neither an .onnx file nor a builder model\n%s\n", CMD, target,
                    jt_ctx_error(ctx));
            rc = 2;
            goto done;
        }
        mc.channels = tr.c, mc.height = tr.h, mc.width = tr.w, mc.seed = cfg.seed;
        if (jt_model_create(ctx, target, &mc, &T, NULL) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
        if (!quiet) fprintf(stderr, "%s: note: target '%s' is a freshly initialised builder model (smoke tests only)\n", CMD, target);
    }
    if (denoiser && ends_with(denoiser, ".onnx")) {
        if (jt_onnx_load(ctx, denoiser, NULL, &P0) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
        cfg.denoiser_graph = P0;
    }
    cfg.denoiser = denoiser;
    cfg.stop = cli_stop_flag_install();
    jt_dn_result res;
    jt_status st = jt_dn_train(ctx, &cfg, T, tap, &tr, cfg.eval_n > 0 ? &te : NULL, &res);
    if (st != JT_OK) {
        rc = st == JT_ERR_ARG ? (fprintf(stderr, "%s: %s\n", CMD, jt_ctx_error(ctx)), 2) : cli_error(ctx);
        goto done;
    }
    if (res.interrupted) {
        if (!quiet)
            fprintf(stderr, "%s: stopped after %lld of %lld steps; checkpoint %s (continue with --resume)\n", CMD,
                    (long long)res.steps, (long long)res.total_steps, ckpt);
        rc = 130;
        goto done;
    }
    if (!quiet) {
        fprintf(stderr, "%s: done: %lld steps in %.1f s; P (%s) -> %s, checkpoint %s", CMD, (long long)res.steps,
                res.seconds, res.denoiser, out, ckpt);
        if (isfinite(res.nat_acc_F))
            fprintf(stderr, "; natural accuracy T∘P %.2f%% (T %.2f%%)", res.nat_acc_F, res.nat_acc_T);
        fputc('\n', stderr);
    }
done:
    jt_dataset_free(&tr);
    jt_dataset_free(&te);
    jt_graph_free(T);
    jt_graph_free(P0);
    jt_backend_free(be);
    jt_ctx_free(ctx);
    return rc;
}
