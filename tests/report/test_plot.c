/* PNG figures: a grouped bar chart is written atomically and, read back with cairo, has the asked size
 * and the series colours where the bars must be (and not where a bar is missing or shorter); bad
 * arguments and unwritable paths fail naming the path and leave no file. Skipped without cairo. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jatp/jatp.h"
#include "jt_test.h"
#include "plot.h"

#ifdef JT_HAVE_CAIRO
#include <cairo.h>

/* pixel (x, y) of an RGB24 surface as 0xRRGGBB */
static unsigned pixel(cairo_surface_t *s, int x, int y) {
    const unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    return *(const uint32_t *)(d + (size_t)y * stride + (size_t)x * 4) & 0xFFFFFFu;
}
#endif

int main(void) {
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(1, &ctx) != JT_OK) return 1;
    if (!jt_plot_available()) {
        jt_test_skip("plot/bars_png", "built without cairo (libcairo2-dev)");
        jt_ctx_free(ctx);
        return jt_test_finish();
    }
#ifdef JT_HAVE_CAIRO
    char dir[] = "/tmp/jatp-plot.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[256];
    snprintf(path, sizeof path, "%s/bars.png", dir);
    const char *groups[] = {"None", "NRP", "JATP"}, *series[] = {"oblivious", "full"};
    double v[6] = {80, 20, 50, 50, NAN, 100}, lo[6] = {75, 15, 45, 45, NAN, 95}, hi[6] = {85, 25, 55, 55, NAN, 100};
    jt_plot_bars p = {.title = "robust accuracy under PGD", .ylabel = "accuracy (%)", .n_groups = 3,
                      .group_labels = groups, .n_series = 2, .series_labels = series, .values = v, .err_lo = lo,
                      .err_hi = hi, .ymin = 0, .ymax = 100, .width = 800, .height = 500};
    if (jt_plot_bars_png(ctx, path, &p) != JT_OK) {
        jt_test_fail("plot/bars_png", "%s", jt_ctx_error(ctx));
    } else {
        cairo_surface_t *s = cairo_image_surface_create_from_png(path);
        if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
            jt_test_fail("plot/bars_png", "cairo cannot read the PNG back: %s", cairo_status_to_string(cairo_surface_status(s)));
        } else {
            cairo_surface_flush(s);
            int W = cairo_image_surface_get_width(s), H = cairo_image_surface_get_height(s);
            /* geometry of plot_cairo.c: margins L 80, R 20, T 50, B 90; bars 80% of a group */
            double L = 80, T = 50, pw = W - 100, ph = H - 140, gw = pw / 3, bw = gw * 0.8 / 2;
            int y_at = (int)(T + ph - ph * 0.10);   /* 10% height: inside every bar >= 20 */
            int y_60 = (int)(T + ph - ph * 0.60);   /* 60%: inside 80 and 100 only */
            unsigned c0 = 0x0073B3u, c1 = 0xE69E00u; /* palette entries 0 and 1, as cairo rounds them */
            int x00 = (int)(L + gw * 0.1 + bw / 2 + 5), x01 = (int)(L + gw * 0.1 + bw * 1.5 + 5);
            int x20 = (int)(L + 2 * gw + gw * 0.1 + bw / 2 + 5), x21 = (int)(L + 2 * gw + gw * 0.1 + bw * 1.5 + 5);
            unsigned a = pixel(s, x00, y_at), b = pixel(s, x01, y_at), c = pixel(s, x01, y_60), d = pixel(s, x20, y_at),
                     e = pixel(s, x21, y_60);
            int ok = W == 800 && H == 500 && a == c0 && b == c1 && c != c1 && d != c0 && d != c1 && e == c1;
            if (ok) jt_test_ok("plot/bars_png");
            else
                jt_test_fail("plot/bars_png", "size %dx%d; pixels %06x %06x %06x %06x %06x (want %06x %06x not-%06x "
                             "background %06x)", W, H, a, b, c, d, e, c0, c1, c1, c1);
        }
        cairo_surface_destroy(s);
    }
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no_such_dir/x.png", dir);
    if (jt_plot_bars_png(ctx, bad, &p) != JT_OK && strstr(jt_ctx_error(ctx), "no_such_dir"))
        jt_test_ok("plot/unwritable_path_named");
    else jt_test_fail("plot/unwritable_path_named", "message: %s", jt_ctx_error(ctx));
    jt_plot_bars q = p;
    q.n_series = 0;
    if (jt_plot_bars_png(ctx, path, &q) == JT_ERR_ARG) jt_test_ok("plot/bad_arguments");
    else jt_test_fail("plot/bad_arguments", "accepted a chart without series");
    /* nothing but the one figure in the folder: no temporary files left behind */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A %s | wc -l)\" = 1", dir);
    if (system(cmd) == 0) jt_test_ok("plot/no_temporary_files");
    else jt_test_fail("plot/no_temporary_files", "files left in %s", dir);
    unlink(path);
    rmdir(dir);
#endif
    jt_ctx_free(ctx);
    return jt_test_finish();
}
