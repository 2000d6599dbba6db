/* Training progress: a line on stderr now and then (\r on a terminal) and one JSON line per step. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jatp/trainer.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

jt_status jt_train_log_open(jt_ctx *ctx, jt_train_log *l, const char *what, const char *jsonl_path, int append,
                            int quiet, int64_t total_steps) {
    memset(l, 0, sizeof *l);
    snprintf(l->what, sizeof l->what, "%s", what);
    l->quiet = quiet;
    l->tty = isatty(2);
    l->t0 = now_s();
    l->print_every = l->tty ? 0.5 : 10.0;
    l->total_steps = total_steps;
    if (jsonl_path) {
        l->jsonl = fopen(jsonl_path, append ? "a" : "w");
        if (!l->jsonl) return jt_fail(ctx, JT_ERR_IO, "%s: cannot open the training log: %s", jsonl_path, strerror(errno));
    }
    return JT_OK;
}

static void json_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.8g", v);
    else fputs("null", f);
}

void jt_train_log_step(jt_train_log *l, int64_t epoch, int64_t step, int64_t images, double lr, const char *const *names,
                       const double *values, int n) {
    double t = now_s(), el = t - l->t0;
    l->images += images;
    double ips = el > 0 ? (double)l->images / el : 0;
    if (l->jsonl) {
        fprintf(l->jsonl, "{\"epoch\":%lld,\"step\":%lld,\"lr\":", (long long)epoch, (long long)step);
        json_num(l->jsonl, lr);
        for (int i = 0; i < n; i++) {
            fprintf(l->jsonl, ",\"%s\":", names[i]);
            json_num(l->jsonl, values[i]);
        }
        fprintf(l->jsonl, ",\"images_per_s\":");
        json_num(l->jsonl, ips);
        fprintf(l->jsonl, ",\"elapsed_s\":%.3f}\n", el);
        fflush(l->jsonl);
    }
    if (l->quiet) return;
    int last = l->total_steps > 0 && step >= l->total_steps;
    if (!last && t - l->last_print < l->print_every) return;
    l->last_print = t;
    static const char *const fmt_tty = "\r[%s] epoch %lld step %lld/%lld";
    fprintf(stderr, l->tty ? fmt_tty : fmt_tty + 1, l->what, (long long)epoch, (long long)step, (long long)l->total_steps);
    for (int i = 0; i < n; i++) fprintf(stderr, " %s %.4g", names[i], values[i]);
    double steps_left = (double)(l->total_steps - step);
    double sps = el > 0 ? (double)step / el : 0; /* steps of this process only when resuming: a rough ETA */
    fprintf(stderr, " lr %.3g  %.1f img/s  ETA %.0fs%s", lr, ips, sps > 0 ? steps_left / sps : 0.0,
            l->tty ? "   " : "\n");
    if (l->tty && last) fputc('\n', stderr);
}

void jt_train_log_event(jt_train_log *l, const char *json_object) {
    if (!l->jsonl) return;
    fprintf(l->jsonl, "%s\n", json_object);
    fflush(l->jsonl);
}

void jt_train_log_close(jt_train_log *l) {
    if (l->jsonl) fclose(l->jsonl);
    l->jsonl = NULL;
}
