/* jatp attack: one attack on a set of images; adversarial examples to .npy, a table and reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/attack_cli.h"
#include "common/cli.h"

int cmd_attack(int argc, char **argv) {
    acli_opts o;
    memset(&o, 0, sizeof o);
    const char *attack = NULL, *out = NULL, *json = NULL, *csv = NULL;
    arg_opt opts[64] = {
        {"--attack", ARG_STR, "NAME", "the attack preset (see below); required", &attack},
        {"--out", ARG_STR, "adv.npy", "adversarial images (N×C×H×W float32); required", &out},
        {"--json", ARG_STR, "FILE", "summary as JSON (settings, accuracies, distances, timing)", &json},
        {"--csv", ARG_STR, "FILE", "one row per example (prediction, success, loss, distances)", &csv},
    };
    int n = acli_add_options(&o, opts, 4, 64);
    static char summary[1024];
    snprintf(summary, sizeof summary,
             "Runs one attack on F = T∘P (white-box through P unless BPDA) and writes the adversarial images. "
             "Clean-misclassified examples are not attacked and are written unchanged. Every adversarial example is "
             "checked (finite, in [0,1], inside the ball) before it is counted. Attacks: %s. Defaults per "
             "attack follow docs/attacks.md (CIFAR-10 values for 3x32x32, Fashion-MNIST values for 1x28x28).",
             jt_attack_preset_names());
    arg_spec spec = {"jatp attack", "--target T.onnx --images x.npy --labels y.npy --attack NAME --out adv.npy [options]",
                     summary, opts, n, NULL, 0, 0, NULL};
    int rc = args_parse(&spec, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    if (!attack || !out) {
        fprintf(stderr, "jatp attack: --attack NAME and --out adv.npy are required (see jatp attack --help)\n");
        return 2;
    }
    acli_run r;
    int bpda = strcmp(attack, "pgd-bpda") == 0;
    rc = acli_setup("jatp attack", &o, bpda, &r);
    jt_attack_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (rc == 0) rc = acli_config("jatp attack", &r, &o, attack, &cfg);
    acli_progress pr;
    acli_progress_init(&pr, o.quiet);
    jt_eval_options eo = {.keep_adv = 1, .progress = acli_progress_cb, .progress_user = &pr};
    jt_eval_result ev;
    memset(&ev, 0, sizeof ev);
    if (rc == 0 && jt_eval_run(r.full, r.bpda, &cfg, 1, r.x, r.y, r.index, r.n, &eo, &ev) != JT_OK) rc = cli_error(r.ctx);
    if (rc == 0) {
        const jt_eval_attack *a = &ev.attacks[0];
        jt_tensor t = {.dtype = JT_F32, .rank = 4, .dims = {r.n, r.c, r.h, r.w}, .data = a->x_adv};
        if (jt_npy_write(r.ctx, out, &t) != JT_OK) rc = cli_error(r.ctx);
    }
    char *cmdline = acli_cmdline("jatp attack", argc, argv);
    if (rc == 0 && json) rc = acli_write_summary_json(r.ctx, json, &r, &ev, NULL, cmdline);
    if (rc == 0 && csv) rc = acli_write_csv(r.ctx, csv, &r, &ev);
    if (rc == 0 && !o.quiet) acli_print_table(&r, &ev, NULL);
    free(cmdline);
    jt_eval_result_free(&ev);
    jt_attack_config_release(&cfg);
    acli_teardown(&r);
    return rc;
}
