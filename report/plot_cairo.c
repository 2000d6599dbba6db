/* Grouped bar charts with cairo (see plot.h). The PNG goes to memory first and is written with
 * jt_write_atomic, so a failed run never leaves a half-written file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/io.h"
#include "plot.h"

#ifdef JT_HAVE_CAIRO
#include <cairo.h>

/* colour-blind-safe palette (Okabe-Ito) */
static const double palette[8][3] = {{0.00, 0.45, 0.70}, {0.90, 0.62, 0.00}, {0.00, 0.62, 0.45}, {0.80, 0.47, 0.65},
                                     {0.34, 0.71, 0.91}, {0.84, 0.37, 0.00}, {0.94, 0.89, 0.26}, {0.0, 0.0, 0.0}};

typedef struct membuf {
    unsigned char *data;
    size_t n, cap;
    int oom;
} membuf;

static cairo_status_t write_mem(void *closure, const unsigned char *data, unsigned int length) {
    membuf *b = closure;
    if (b->n + length > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 65536) + length;
        unsigned char *p = realloc(b->data, cap);
        if (!p) {
            b->oom = 1;
            return CAIRO_STATUS_NO_MEMORY;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->n, data, length);
    b->n += length;
    return CAIRO_STATUS_SUCCESS;
}

static void text(cairo_t *cr, double x, double y, const char *s, double size, double align_x, int rotate) {
    cairo_text_extents_t e;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &e);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    if (rotate) cairo_rotate(cr, -M_PI / 2);
    cairo_move_to(cr, -align_x * e.width - e.x_bearing, e.height / 2);
    cairo_show_text(cr, s);
    cairo_restore(cr);
}

static void data_range(const jt_plot_bars *p, double *lo, double *hi) {
    *lo = p->ymin;
    *hi = p->ymax;
    if (*hi > *lo) return;
    double mx = 0;
    for (int i = 0; i < p->n_groups * p->n_series; i++) {
        if (isfinite(p->values[i]) && p->values[i] > mx) mx = p->values[i];
        if (p->err_hi && isfinite(p->err_hi[i]) && p->err_hi[i] > mx) mx = p->err_hi[i];
    }
    *lo = 0;
    *hi = mx > 0 ? mx * 1.1 : 1;
}

static void draw(cairo_t *cr, const jt_plot_bars *p, int W, int H) {
    double L = 80, R = 20, T = 50, B = 90; /* margins: axis labels, legend below */
    double pw = W - L - R, ph = H - T - B, lo, hi;
    data_range(p, &lo, &hi);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_source_rgb(cr, 0, 0, 0);
    if (p->title) text(cr, W / 2.0, T / 2.0, p->title, 18, 0.5, 0);
    if (p->ylabel) text(cr, 22, T + ph / 2, p->ylabel, 14, 0.5, 1);
    /* grid and y ticks */
    cairo_set_line_width(cr, 1);
    for (int k = 0; k <= 5; k++) {
        double v = lo + (hi - lo) * k / 5.0, y = T + ph - ph * k / 5.0;
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, L, y);
        cairo_line_to(cr, L + pw, y);
        cairo_stroke(cr);
        char s[32];
        snprintf(s, sizeof s, "%.4g", v);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, L - 8, y, s, 12, 1.0, 0);
    }
    /* bars */
    double gw = pw / (p->n_groups > 0 ? p->n_groups : 1), bw = gw * 0.8 / (p->n_series > 0 ? p->n_series : 1);
    for (int g = 0; g < p->n_groups; g++) {
        for (int s = 0; s < p->n_series; s++) {
            int i = g * p->n_series + s;
            double v = p->values[i];
            if (!isfinite(v)) continue;
            double vc = v < lo ? lo : (v > hi ? hi : v);
            double x = L + g * gw + gw * 0.1 + s * bw, y = T + ph - ph * (vc - lo) / (hi - lo);
            const double *c = palette[s % 8];
            cairo_set_source_rgb(cr, c[0], c[1], c[2]);
            cairo_rectangle(cr, x + 1, y, bw - 2, T + ph - y);
            cairo_fill(cr);
            if (p->err_lo && p->err_hi && isfinite(p->err_lo[i]) && isfinite(p->err_hi[i])) {
                double y0 = T + ph - ph * (fmax(p->err_lo[i], lo) - lo) / (hi - lo);
                double y1 = T + ph - ph * (fmin(p->err_hi[i], hi) - lo) / (hi - lo);
                cairo_set_source_rgb(cr, 0, 0, 0);
                cairo_move_to(cr, x + bw / 2, y0);
                cairo_line_to(cr, x + bw / 2, y1);
                cairo_move_to(cr, x + bw / 2 - 4, y0);
                cairo_line_to(cr, x + bw / 2 + 4, y0);
                cairo_move_to(cr, x + bw / 2 - 4, y1);
                cairo_line_to(cr, x + bw / 2 + 4, y1);
                cairo_stroke(cr);
            }
        }
        cairo_set_source_rgb(cr, 0, 0, 0);
        if (p->group_labels && p->group_labels[g]) text(cr, L + g * gw + gw / 2, T + ph + 16, p->group_labels[g], 13, 0.5, 0);
    }
    /* axes */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.5);
    cairo_move_to(cr, L, T);
    cairo_line_to(cr, L, T + ph);
    cairo_line_to(cr, L + pw, T + ph);
    cairo_stroke(cr);
    /* legend */
    double lx = L, ly = H - 30;
    for (int s = 0; s < p->n_series; s++) {
        const double *c = palette[s % 8];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_rectangle(cr, lx, ly - 7, 14, 14);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        const char *lab = p->series_labels && p->series_labels[s] ? p->series_labels[s] : "";
        text(cr, lx + 20, ly, lab, 13, 0.0, 0);
        cairo_text_extents_t e;
        cairo_text_extents(cr, lab, &e);
        lx += 40 + e.x_advance;
    }
}

int jt_plot_available(void) { return 1; }

jt_status jt_plot_bars_png(jt_ctx *ctx, const char *path, const jt_plot_bars *p) {
    int W = p->width > 0 ? p->width : 960, H = p->height > 0 ? p->height : 540;
    if (p->n_groups < 1 || p->n_series < 1 || !p->values || W < 200 || H < 150 || W > 16384 || H > 16384)
        return jt_fail(ctx, JT_ERR_ARG, "%s: a bar chart needs groups, series, values and a size of at least 200x150",
                       path);
    cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    if (cairo_surface_status(sf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(sf);
        return jt_fail(ctx, JT_ERR_OOM, "%s: cannot create a %dx%d image", path, W, H);
    }
    cairo_t *cr = cairo_create(sf);
    draw(cr, p, W, H);
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    membuf b = {0};
    if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_write_to_png_stream(sf, write_mem, &b);
    cairo_surface_destroy(sf);
    jt_status st = JT_OK;
    if (cs != CAIRO_STATUS_SUCCESS || b.oom)
        st = jt_fail(ctx, JT_ERR_INTERNAL, "%s: drawing the figure failed: %s", path, cairo_status_to_string(cs));
    else st = jt_write_atomic(ctx, path, b.data, b.n);
    free(b.data);
    return st;
}

#else

int jt_plot_available(void) { return 0; }

jt_status jt_plot_bars_png(jt_ctx *ctx, const char *path, const jt_plot_bars *p) {
    (void)p;
    return jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: this build has no PNG output (configure with cairo: libcairo2-dev)", path);
}

#endif
