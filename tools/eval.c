/* jatp eval: natural accuracy and a list of attacks on the same points; terminal table, summary JSON,
 * per-example CSV / JSON lines, optional adversarial images and sanity checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/attack_cli.h"
#include "common/cli.h"

#define DEFAULT_ATTACKS "pgd,pgd-dlr,aa,fwa,ti-bim"
#define MAX_ATTACKS 32

/* F twice on the first batch: an evaluation of a randomised model without EOT is refused. */
static int check_determinism(acli_run *r) {
    int n = r->n < r->full->max_batch ? r->n : r->full->max_batch;
    size_t nz = (size_t)n * (size_t)r->full->n_classes;
    float *a = malloc(nz * sizeof *a), *b = malloc(nz * sizeof *b);
    int rc = 0;
    if (!a || !b) {
        fprintf(stderr, "jatp: error: out of memory\n");
        rc = 1;
    } else if (jt_oracle_logits(r->full, r->x, n, a) != JT_OK || jt_oracle_logits(r->full, r->x, n, b) != JT_OK)
        rc = cli_error(r->ctx);
    else if (memcmp(a, b, nz * sizeof *a) != 0) {
        fprintf(stderr, "jatp: error: the model gives different logits for the same inputs (randomised defense?): "
                        "evaluate it with --eot K (and report K), or make it deterministic\n");
        rc = 1;
    }
    free(a);
    free(b);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    acli_opts o;
    memset(&o, 0, sizeof o);
    const char *attacks = DEFAULT_ATTACKS, *json = NULL, *csv = NULL, *jsonl = NULL, *save_adv = NULL;
    int checks = 0, check_points = 0;
    arg_opt opts[72] = {
        {"--attacks", ARG_STR, "LIST", "comma-separated attacks, each NAME[:key=value]* (default " DEFAULT_ATTACKS ")",
         &attacks},
        {"--json", ARG_STR, "FILE", "summary JSON (settings, accuracies, distances, checks)", &json},
        {"--csv", ARG_STR, "FILE", "one row per example and attack columns", &csv},
        {"--jsonl", ARG_STR, "FILE", "one JSON object per example", &jsonl},
        {"--save-adv", ARG_STR, "DIR", "write DIR/adv_<attack>.npy for every attack", &save_adv},
        {"--checks", ARG_FLAG, NULL, "run the sanity checks S1-S10 (docs/attacks.md section 11)", &checks},
        {"--check-points", ARG_INT, "N", "examples used by the sanity checks (default 200)", &check_points},
    };
    int n = acli_add_options(&o, opts, 7, 72);
    static char summary[1200];
    snprintf(summary, sizeof summary,
             "Evaluates F = T∘P: natural accuracy, then every attack on the same points (each from the clean images). "
             "Robust accuracy counts an example only if it is clean-correct and the attack failed; the worst-case "
             "column needs every attack to fail. Settings after a colon override the preset, e.g. "
             "--attacks pgd:steps=100:restarts=5,aa-fast; flags such as --eps apply to every attack. Attacks: %s.",
             jt_attack_preset_names());
    arg_spec spec = {"jatp eval", "--target T.onnx [--defense P.onnx] (--images x.npy --labels y.npy | --dataset D) [options]",
                     summary, opts, n, NULL, 0, 0, NULL};
    int rc = args_parse(&spec, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    /* split the list first: BPDA attacks need the BPDA oracle */
    char list[2048];
    snprintf(list, sizeof list, "%s", attacks);
    char *items[MAX_ATTACKS];
    int n_items = 0, want_bpda = 0;
    char *save = NULL;
    for (char *it = strtok_r(list, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        if (n_items == MAX_ATTACKS) {
            fprintf(stderr, "jatp eval: --attacks: at most %d attacks\n", MAX_ATTACKS);
            return 2;
        }
        items[n_items++] = it;
        if (strncmp(it, "pgd-bpda", 8) == 0 && (it[8] == 0 || it[8] == ':')) want_bpda = 1;
    }
    if (n_items == 0) {
        fprintf(stderr, "jatp eval: --attacks: the list is empty\n");
        return 2;
    }
    if (check_points < 0) {
        fprintf(stderr, "jatp eval: --check-points must be >= 0\n");
        return 2;
    }
    acli_run r;
    rc = acli_setup("jatp eval", &o, want_bpda || (checks && o.defense), &r);
    jt_attack_config cfgs[MAX_ATTACKS];
    memset(cfgs, 0, sizeof cfgs);
    for (int k = 0; rc == 0 && k < n_items; k++) {
        rc = acli_config("jatp eval", &r, &o, items[k], &cfgs[k]);
        /* report columns need unique names: a repeated preset becomes pgd#2, pgd#3, ... */
        int same = 1;
        for (int j = 0; rc == 0 && j < k; j++) same += strncmp(cfgs[j].name, cfgs[k].name, strcspn(cfgs[k].name, "#")) == 0 &&
                                                     cfgs[j].name[strcspn(cfgs[k].name, "#")] == 0;
        if (rc == 0 && same > 1) {
            char nm[64];
            int len = snprintf(nm, sizeof nm, "%.24s#%d", cfgs[k].name, same % 100);
            len = len < (int)sizeof cfgs[k].name - 1 ? len : (int)sizeof cfgs[k].name - 1;
            memcpy(cfgs[k].name, nm, (size_t)len);
            cfgs[k].name[len] = 0;
        }
    }
    if (rc == 0 && o.eot == 0) rc = check_determinism(&r);
    acli_progress pr;
    acli_progress_init(&pr, o.quiet);
    jt_eval_options eo = {.keep_adv = save_adv != NULL, .progress = acli_progress_cb, .progress_user = &pr};
    jt_eval_result ev;
    memset(&ev, 0, sizeof ev);
    if (rc == 0 && jt_eval_run(r.full, r.bpda, cfgs, n_items, r.x, r.y, r.index, r.n, &eo, &ev) != JT_OK)
        rc = cli_error(r.ctx);
    jt_sanity_report rep;
    memset(&rep, 0, sizeof rep);
    if (rc == 0 && checks) {
        jt_sanity_options so = {.kind = r.kind, .seed = r.seed, .max_points = check_points,
                                .progress = acli_progress_cb, .progress_user = &pr};
        if (jt_sanity_run(r.full, r.bpda, r.x, r.y, r.n, &ev, &so, &rep) != JT_OK) rc = cli_error(r.ctx);
    }
    for (int k = 0; rc == 0 && save_adv && k < ev.n_attacks; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/adv_%s.npy", save_adv, ev.attacks[k].cfg.name);
        jt_tensor t = {.dtype = JT_F32, .rank = 4, .dims = {r.n, r.c, r.h, r.w}, .data = ev.attacks[k].x_adv};
        if (jt_npy_write(r.ctx, path, &t) != JT_OK) rc = cli_error(r.ctx);
    }
    char *cmdline = acli_cmdline("jatp eval", argc, argv);
    if (rc == 0 && json) rc = acli_write_summary_json(r.ctx, json, &r, &ev, checks ? &rep : NULL, cmdline);
    if (rc == 0 && csv) rc = acli_write_csv(r.ctx, csv, &r, &ev);
    if (rc == 0 && jsonl) rc = acli_write_jsonl(r.ctx, jsonl, &r, &ev);
    if (rc == 0) acli_print_table(&r, &ev, checks ? &rep : NULL);
    free(cmdline);
    jt_eval_result_free(&ev);
    for (int k = 0; k < n_items; k++) jt_attack_config_release(&cfgs[k]);
    acli_teardown(&r);
    return rc;
}
