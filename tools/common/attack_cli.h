/* Shared by `jatp attack` and `jatp eval`: the option table of models, data, device and attack
 * settings; loading models and data; building the oracles; progress lines; reports (JSON, CSV). */
#ifndef JATP_TOOLS_ATTACK_CLI_H
#define JATP_TOOLS_ATTACK_CLI_H

#include "args.h"
#include "jatp/jatp.h"

typedef struct acli_opts {
    const char *target, *defense, *images, *labels, *dataset, *data_dir, *split, *device, *tap, *surrogate;
    int limit, offset, batch, threads, tf32, deterministic, quiet;
    const char *seed;
    /* attack overrides (strings: parsed and validated by acli_apply) */
    const char *eps, *step_size, *loss, *fwa_method, *feat_dist, *p_init, *ti_nsig, *momentum, *p_div;
    int steps, restarts, random_start, no_random_start, track_best, targets, queries, shared_window, fwa_kernel,
        ti_kernel, eot;
} acli_opts;

/* Appends the shared options to opts (capacity cap); returns the new count. */
int acli_add_options(acli_opts *o, arg_opt *opts, int n, int cap);

/* Everything an attack command works on. */
typedef struct acli_run {
    jt_ctx *ctx;
    jt_backend *backend;
    jt_graph *T, *P, *S;
    jt_oracle *full, *bpda;
    float *x;
    int64_t *y, *index;
    int n;
    int64_t c, h, w;
    jt_image_kind kind;
    uint64_t seed;
} acli_run;

/* Loads models and data and creates the oracle(s) (bpda: also the BPDA oracle, needs a defense).
 * Returns 0, 1 (library error, printed) or 2 (usage error, printed). */
int acli_setup(const char *cmd, const acli_opts *o, int want_bpda, acli_run *r);
void acli_teardown(acli_run *r);

/* Applies a preset and the overrides: first the command-line flags of o (may be NULL), then
 * "key=value" pairs from spec "NAME[:key=value]*" (eval's --attacks items). Returns 0 or 2 (printed). */
int acli_config(const char *cmd, const acli_run *r, const acli_opts *o, const char *spec, jt_attack_config *cfg);

/* Progress callback: one line per update on stderr (\r on a terminal), examples/s and ETA. */
typedef struct acli_progress {
    int quiet, tty;
    double t0, last;
    char what[32];
} acli_progress;
void acli_progress_init(acli_progress *p, int quiet);
void acli_progress_cb(void *user, const char *what, int64_t done, int64_t total);
void acli_progress_end(acli_progress *p);

/* Reports (written atomically). meta: the command line, for the summary. */
int acli_write_summary_json(jt_ctx *ctx, const char *path, const acli_run *r, const jt_eval_result *ev,
                            const jt_sanity_report *checks, const char *cmdline);
int acli_write_csv(jt_ctx *ctx, const char *path, const acli_run *r, const jt_eval_result *ev);
int acli_write_jsonl(jt_ctx *ctx, const char *path, const acli_run *r, const jt_eval_result *ev);
/* The terminal table of an evaluation. */
void acli_print_table(const acli_run *r, const jt_eval_result *ev, const jt_sanity_report *checks);
/* "jatp eval --target ..." from argv (malloc'ed). */
char *acli_cmdline(const char *cmd, int argc, char **argv);

#endif
