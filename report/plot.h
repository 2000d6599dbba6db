/* Figures as PNG through cairo: grouped bar charts (the paper's Figure 1 degradation chart: robust
 * accuracy per defense, oblivious vs full; Figure 4a: fooling rates), with optional confidence
 * whiskers. Built when cairo is found (meson option `plots`); jt_plot_available() says so. */
#ifndef JATP_REPORT_PLOT_H
#define JATP_REPORT_PLOT_H

#include "jatp/status.h"

typedef struct jt_plot_bars {
    const char *title;
    const char *ylabel;
    int n_groups;                      /* x-axis groups (e.g. defenses) */
    const char *const *group_labels;
    int n_series;                      /* bars within a group (e.g. oblivious / full), one colour each */
    const char *const *series_labels;
    const double *values;              /* [n_groups * n_series], group-major; NaN: no bar */
    const double *err_lo, *err_hi;     /* optional whiskers (absolute values, same layout), may be NULL */
    double ymin, ymax;                 /* axis range; ymax <= ymin: from the data */
    int width, height;                 /* pixels (default 960 x 540) */
} jt_plot_bars;

/* 1 when PNG output is compiled in. */
int jt_plot_available(void);
/* Draws the chart and writes it atomically to path. Fails naming the path (JT_ERR_UNSUPPORTED when
 * built without cairo). */
jt_status jt_plot_bars_png(jt_ctx *ctx, const char *path, const jt_plot_bars *p);

#endif
