/* Helpers shared by the train_denoiser test binaries: synthetic data, a random target, temporary files,
 * byte comparison, JSON-lines logs. */
#ifndef TD_COMMON_H
#define TD_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jatp/jatp.h"
#include "jt_test.h"

static inline double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- synthetic data, temporary files, logs ---- */

static char g_dir[64]; /* the test's temporary folder */

static inline void tmp_path(char *buf, size_t cap, const char *name) { jt_test_fmt(buf, cap, "%s/%s", g_dir, name); }

/* n smooth 28x28 images (two sinusoids per image, phase and frequency from the label and index) */
static inline void synth(jt_dataset *ds, int n) {
    memset(ds, 0, sizeof *ds);
    ds->n = n;
    ds->c = 1, ds->h = 28, ds->w = 28;
    ds->n_classes = 10;
    ds->images = malloc((size_t)n * 784);
    ds->labels = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        int lab = i % 10;
        double fy = 0.15 + 0.03 * lab, fx = 0.1 + 0.02 * ((i * 7) % 10), ph = 0.37 * i;
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++) {
                double v = 0.5 + 0.25 * sin(fy * r + ph) + 0.25 * cos(fx * c - ph);
                ds->images[(size_t)i * 784 + (size_t)r * 28 + c] = (uint8_t)lround(255.0 * (v < 0 ? 0 : v > 1 ? 1 : v));
            }
        ds->labels[i] = (uint8_t)lab;
    }
}

static inline jt_graph *random_target(jt_ctx *ctx) {
    jt_model_config mc;
    jt_graph *g = NULL;
    if (jt_model_config_preset(ctx, "resnet10-fm-w8", &mc) != JT_OK) return NULL;
    mc.seed = 1;
    if (jt_model_create(ctx, "resnet10-fm-w8", &mc, &g, NULL) != JT_OK) return NULL;
    return g;
}

static inline int read_all(const char *path, unsigned char **buf, size_t *n) {
    *buf = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc((size_t)sz + 1);
    *n = fread(*buf, 1, (size_t)sz, f);
    fclose(f);
    return *n == (size_t)sz;
}

/* 1 when both files exist and have the same bytes */
static inline int same_file(const char *a, const char *b, char *why, size_t cap) {
    unsigned char *x, *y;
    size_t nx, ny;
    int ok = read_all(a, &x, &nx) && read_all(b, &y, &ny);
    if (!ok) jt_test_fmt(why, cap, "cannot read %s or %s", a, b);
    else if (nx != ny || memcmp(x, y, nx) != 0) {
        size_t i = 0;
        while (i < nx && i < ny && x[i] == y[i]) i++;
        jt_test_fmt(why, cap, "%s and %s differ (sizes %zu, %zu; first difference at byte %zu)", a, b, nx, ny, i);
        ok = 0;
    }
    free(x);
    free(y);
    return ok;
}

/* The values of `key` in the step lines of a JSON-lines log (lines with "step" and no "event"). */
static inline int log_values(const char *path, const char *key, double *v, int cap) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096], pat[64];
    jt_test_fmt(pat, sizeof pat, "\"%s\":", key);
    int n = 0;
    while (fgets(line, sizeof line, f) && n < cap) {
        if (strstr(line, "\"event\"")) continue;
        char *p = strstr(line, pat);
        if (p) v[n++] = strtod(p + strlen(pat), NULL);
    }
    fclose(f);
    return n;
}


#endif
