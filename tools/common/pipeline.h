/* Helpers of a multi-stage command (`jatp reproduce`): staged progress with an ETA of the whole run
 * (on stderr and into a log file), argv lists built from strings, and the command runner that either
 * runs another command's entry point in this process or, in a dry run, prints the command line. */
#ifndef JATP_TOOLS_PIPELINE_H
#define JATP_TOOLS_PIPELINE_H

#include <stdio.h>

#include "jatp/jatp.h"

typedef struct pl_progress {
    double t0;
    double done_w, total_w; /* weights of the stages done and of all stages (a rough cost model) */
    int k, n;               /* stage counter, number of stages */
    FILE *log;              /* may be NULL */
    int dry_run;            /* print commands instead of running them */
} pl_progress;

void pl_start(pl_progress *p, FILE *log, int dry_run);
/* A line "[reproduce <elapsed>] message" on stderr and in the log. */
void pl_say(pl_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Announces the next stage with the run's ETA (from the weights done so far). */
void pl_stage(pl_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pl_done(pl_progress *p, double weight);

/* An argv list; strings are copied into a pool. Overflow is remembered and reported by pl_exec. */
typedef struct pl_argv {
    int n, overflow;
    char *v[128];
    char pool[24576];
    size_t used;
} pl_argv;

void pl_arg(pl_argv *a, const char *s);
void pl_kv(pl_argv *a, const char *key, const char *value);
void pl_kint(pl_argv *a, const char *key, long value);
void pl_kdbl(pl_argv *a, const char *key, double value);

/* Runs `jatp <cmd> <argv>` through fn (the command's entry point) and returns its exit status; the
 * command line goes to the log. A dry run prints it on stdout and returns 0. */
int pl_exec(pl_progress *p, const char *cmd, int (*fn)(int, char **), pl_argv *a);

/* File helpers: mkdir -p (0 / -1 with errno); a copy written atomically (0, or -1 with the message in
 * ctx); existence. */
int pl_mkdirs(const char *path);
int pl_copy_file(jt_ctx *ctx, const char *from, const char *to);
int pl_exists(const char *path);

#endif
