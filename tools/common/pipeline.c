/* Multi-stage command helpers (see pipeline.h). */
#include "pipeline.h"

#include "jatp/io.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

void pl_start(pl_progress *p, FILE *log, int dry_run) {
    memset(p, 0, sizeof *p);
    p->t0 = now_s();
    p->log = log;
    p->dry_run = dry_run;
}

static void vsay(pl_progress *p, const char *fmt, va_list ap) {
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char el[32];
    fmt_dur(el, sizeof el, now_s() - p->t0);
    fprintf(stderr, "[reproduce %s] %s\n", el, msg);
    if (p->log) {
        fprintf(p->log, "[%s] %s\n", el, msg);
        fflush(p->log);
    }
}

void pl_say(pl_progress *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsay(p, fmt, ap);
    va_end(ap);
}

void pl_stage(pl_progress *p, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char eta[32];
    double el = now_s() - p->t0;
    /* the rate is only meaningful once a substantial stage is done (copies and checks weigh ~0) */
    if (p->done_w >= 0.5 && !p->dry_run)
        fmt_dur(eta, sizeof eta, el / p->done_w * (p->total_w - p->done_w));
    else
        snprintf(eta, sizeof eta, "?");
    p->k++;
    pl_say(p, "stage %d/%d: %s (ETA of the run %s)", p->k, p->n, msg, eta);
}

void pl_done(pl_progress *p, double weight) { p->done_w += weight; }

void pl_arg(pl_argv *a, const char *s) {
    size_t len = strlen(s) + 1;
    if (a->n >= (int)(sizeof a->v / sizeof a->v[0]) - 1 || a->used + len > sizeof a->pool) {
        a->overflow = 1;
        return;
    }
    memcpy(a->pool + a->used, s, len);
    a->v[a->n++] = a->pool + a->used;
    a->v[a->n] = NULL;
    a->used += len;
}

void pl_kv(pl_argv *a, const char *key, const char *value) {
    pl_arg(a, key);
    pl_arg(a, value);
}

void pl_kint(pl_argv *a, const char *key, long value) {
    char b[32];
    snprintf(b, sizeof b, "%ld", value);
    pl_kv(a, key, b);
}

void pl_kdbl(pl_argv *a, const char *key, double value) {
    char b[40];
    snprintf(b, sizeof b, "%.17g", value);
    pl_kv(a, key, b);
}

static void print_cmd(FILE *f, const char *prefix, const char *cmd, const pl_argv *a) {
    fprintf(f, "%sjatp %s", prefix, cmd);
    for (int i = 0; i < a->n; i++) {
        const char *s = a->v[i];
        if (!*s || strpbrk(s, " \t'\"$\\;&|<>*?()`")) { /* shell-quoted, so that the line can be pasted */
            fputs(" '", f);
            for (; *s; s++)
                if (*s == '\'') fputs("'\\''", f);
                else fputc(*s, f);
            fputc('\'', f);
        } else
            fprintf(f, " %s", s);
    }
    fprintf(f, "\n");
}

int pl_exec(pl_progress *p, const char *cmd, int (*fn)(int, char **), pl_argv *a) {
    if (a->overflow) {
        fprintf(stderr, "jatp: error: the command line of 'jatp %s' is too long (internal limit)\n", cmd);
        return 1;
    }
    if (p->log) {
        print_cmd(p->log, "  $ ", cmd, a);
        fflush(p->log);
    }
    if (p->dry_run) {
        print_cmd(stdout, "$ ", cmd, a);
        return 0;
    }
    fflush(stdout);
    int rc = fn(a->n, a->v);
    fflush(stdout);
    return rc;
}

int pl_mkdirs(const char *path) {
    char b[4096];
    if (snprintf(b, sizeof b, "%s", path) >= (int)sizeof b) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *s = b + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(b, 0777) != 0 && errno != EEXIST) return -1;
            *s = '/';
        }
    if (mkdir(b, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

int pl_copy_file(jt_ctx *ctx, const char *from, const char *to) {
    void *buf = NULL;
    size_t n = 0;
    jt_status st = jt_read_file(ctx, from, (size_t)1 << 34, &buf, &n);
    if (st == JT_OK) st = jt_write_atomic(ctx, to, buf, n);
    free(buf);
    return st == JT_OK ? 0 : -1;
}

int pl_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}
