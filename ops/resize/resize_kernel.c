/* Resize/Upsample core: output geometry, per-axis tap tables (index + weight, as ONNX's reference
 * interpolate_1d_with_x: edge-clamped neighbours, exclude_outside renormalisation, tf_crop_and_resize
 * extrapolation), and the CPU kernels. Nearest is one dtype-generic gather over all axes; linear and
 * cubic are separable passes over the axes that change, last axis first (the reference's order, which
 * matters for extrapolated values), in the tensor's float type. */
#include <math.h>
#include <string.h>

#include "resize.h"
#include "shape/shape_util.h"

#define TASK_ELEMS 65536

int jt_resize_mode(const char *s) {
    if (strcmp(s, "nearest") == 0) return RS_NEAREST;
    if (strcmp(s, "linear") == 0 || strcmp(s, "bilinear") == 0) return RS_LINEAR;
    if (strcmp(s, "cubic") == 0) return RS_CUBIC;
    return -1;
}

static jt_status read_floats(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const jt_tensor *t,
                             const char *what, double *out, int cap, int *count) {
    if (!t->data)
        return jt_node_fail(ctx, g, n, JT_ERR_UNSUPPORTED,
                            "input '%s' must be a constant (initializer, Constant or foldable from "
                            "constants) so that shapes are static",
                            what);
    if (t->dtype != JT_F32 && t->dtype != JT_F64)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "input '%s' has dtype %s, expected float",
                            what, jt_dtype_name(t->dtype));
    int64_t k = jt_tensor_numel(t);
    if (t->rank > 1 || k > cap)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "input '%s' must be 1-D with at most %d values",
                            what, cap);
    for (int64_t i = 0; i < k; i++) out[i] = jt_tensor_get_f64(t, i);
    *count = (int)k;
    return JT_OK;
}

jt_status jt_resize_geometry(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const resize_attrs *p,
                             int n_in, const jt_tensor *const *in, resize_geom *geo) {
    const jt_tensor *x = in[0];
    int r = x->rank;
    memset(geo, 0, sizeof *geo);
    geo->rank = r;
    for (int d = 0; d < r; d++) {
        geo->in[d] = geo->out[d] = x->dims[d];
        geo->scale[d] = 1.0;
        geo->out_len[d] = (double)x->dims[d];
        geo->roi1[d] = 1.0;
    }
    int na = r, ax[JT_MAX_RANK];
    for (int i = 0; i < r; i++) ax[i] = i;
    if (p->n_axes >= 0) {
        na = p->n_axes;
        bool seen[JT_MAX_RANK] = {false};
        for (int i = 0; i < na; i++) {
            JT_TRY(jt_norm_axis(ctx, g, n, p->axes[i], r, &ax[i]));
            if (seen[ax[i]]) return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "axis %d is repeated", ax[i]);
            seen[ax[i]] = true;
        }
    }
    const jt_tensor *roi = p->in_roi >= 0 ? jt_in_opt(n_in, in, p->in_roi) : NULL;
    const jt_tensor *sc = p->in_scales >= 0 ? jt_in_opt(n_in, in, p->in_scales) : NULL;
    const jt_tensor *sz = p->in_sizes >= 0 ? jt_in_opt(n_in, in, p->in_sizes) : NULL;
    if (p->coord == RS_TF_CROP_AND_RESIZE && roi && jt_tensor_numel(roi) > 0) {
        double v[2 * JT_MAX_RANK];
        int k;
        JT_TRY(read_floats(ctx, g, n, roi, "roi", v, 2 * JT_MAX_RANK, &k));
        if (k != 2 * na)
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "roi has %d values, expected %d", k, 2 * na);
        for (int i = 0; i < na; i++) {
            geo->roi0[ax[i]] = v[i];
            geo->roi1[ax[i]] = v[i + na];
        }
    }
    if (sz && jt_tensor_numel(sz) > 0) {
        if (sc && jt_tensor_numel(sc) > 0)
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "only one of 'scales' and 'sizes' may be given");
        int64_t s[JT_MAX_RANK];
        int k;
        JT_TRY(jt_read_const_ints(ctx, g, n, sz, "sizes", s, JT_MAX_RANK, &k));
        if (k != na)
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "sizes has %d values, expected %d", k, na);
        for (int i = 0; i < na; i++)
            if (s[i] <= 0 || x->dims[ax[i]] <= 0)
                return jt_node_fail(ctx, g, n, JT_ERR_SHAPE, "sizes[%d] = %lld (input dim %lld) must be positive",
                                    i, (long long)s[i], (long long)x->dims[ax[i]]);
        if (p->keep_policy != RS_STRETCH) {
            double s0 = 0;
            for (int i = 0; i < na; i++) {
                double q = (double)s[i] / (double)x->dims[ax[i]];
                if (i == 0 || (p->keep_policy == RS_NOT_LARGER ? q < s0 : q > s0)) s0 = q;
            }
            for (int i = 0; i < na; i++) {
                int d = ax[i];
                geo->scale[d] = s0;
                geo->out[d] = (int64_t)nearbyint(s0 * (double)x->dims[d]);
                geo->out_len[d] = s0 * (double)x->dims[d];
            }
        } else {
            for (int i = 0; i < na; i++) {
                int d = ax[i];
                geo->out[d] = s[i];
                geo->scale[d] = (double)s[i] / (double)x->dims[d];
                geo->out_len[d] = (double)s[i];
            }
        }
        return JT_OK;
    }
    double s[JT_MAX_RANK];
    int k = 0;
    if (p->n_scale_attr > 0) {
        k = p->n_scale_attr;
        memcpy(s, p->scale_attr, sizeof(double) * (size_t)k);
    } else if (sc && jt_tensor_numel(sc) > 0) {
        JT_TRY(read_floats(ctx, g, n, sc, "scales", s, JT_MAX_RANK, &k));
    } else {
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "one of 'scales' and 'sizes' is required");
    }
    if (k != na)
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "scales has %d values, expected %d", k, na);
    for (int i = 0; i < na; i++) {
        int d = ax[i];
        if (!(s[i] > 0))
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "scales[%d] = %g must be positive", i, s[i]);
        double len = (double)x->dims[d] * s[i];
        if (p->coord == RS_TF_CROP_AND_RESIZE) len *= geo->roi1[d] - geo->roi0[d];
        geo->scale[d] = s[i];
        geo->out[d] = (int64_t)floor(len);
        geo->out_len[d] = (double)x->dims[d] * s[i];
    }
    return JT_OK;
}

jt_status jt_resize_infer(const jt_infer_args *a) {
    const resize_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0];
    resize_geom geo;
    if (p->mode != RS_NEAREST && x->dtype != JT_F32 && x->dtype != JT_F64)
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_UNSUPPORTED,
                            "%s interpolation of %s tensors is not supported (float32/float64; nearest "
                            "handles every dtype)",
                            p->mode == RS_LINEAR ? "linear" : "cubic", jt_dtype_name(x->dtype));
    JT_TRY(jt_resize_geometry(a->ctx, a->graph, a->node, p, a->n_in, a->in, &geo));
    jt_tensor_set_shape(a->out[0], x->dtype, x->rank, geo.out);
    return JT_OK;
}

/* ---- tap tables ---- */

static int n_taps(int mode) { return mode == RS_NEAREST ? 1 : mode == RS_LINEAR ? 2 : 4; }
int jt_resize_taps(int mode) { return n_taps(mode); }

typedef jt_resize_table axis_table;

static double coord(const resize_attrs *p, const resize_geom *geo, int d, int64_t o) {
    double x = (double)o, s = geo->scale[d], in = (double)geo->in[d], ol = geo->out_len[d];
    switch (p->coord) {
    case RS_ASYMMETRIC: return x / s;
    case RS_ALIGN_CORNERS: return ol == 1 ? 0.0 : x * (in - 1) / (ol - 1);
    case RS_PYTORCH_HALF_PIXEL: return ol == 1 ? -0.5 : (x + 0.5) / s - 0.5;
    case RS_TF_HALF_PIXEL_NN: return (x + 0.5) / s;
    case RS_TF_CROP_AND_RESIZE: {
        double r0 = geo->roi0[d], r1 = geo->roi1[d];
        double v = ol == 1 ? (r1 - r0) * (in - 1) / 2 : x * (r1 - r0) * (in - 1) / (ol - 1);
        return v + r0 * (in - 1);
    }
    default: return (x + 0.5) / s - 0.5;
    }
}

static void cubic_coeffs(double r, double A, double *c) {
    double t = r + 1, u = 1 - r, v = 2 - r;
    c[0] = ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
    c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
    c[2] = ((A + 2) * u - (A + 3)) * u * u + 1;
    c[3] = ((A * v - 5 * A) * v + 8 * A) * v - 4 * A;
}

static void build_table(const resize_attrs *p, const resize_geom *geo, int d, axis_table *t) {
    int T = n_taps(p->mode);
    int64_t n = geo->in[d], out = geo->out[d];
    t->identity = out == n;
    for (int64_t o = 0; o < out; o++) {
        double x = coord(p, geo, d, o);
        t->ext[o] = p->coord == RS_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(n - 1));
        double fl = floor(x);
        bool integral = fl == x;
        /* the reference's neighbourhood: left base b with ratio in (0, 1] */
        int64_t b = integral ? (int64_t)x - 1 : (int64_t)fl;
        double ratio = integral ? 1.0 : x - fl;
        int64_t *ix = t->idx + o * T;
        double *w = t->w + o * T;
        if (p->mode == RS_NEAREST) {
            bool up;
            if (integral) up = true;
            else if (p->nearest == RS_ROUND_PREFER_FLOOR) up = ratio > 0.5;
            else if (p->nearest == RS_ROUND_PREFER_CEIL) up = ratio >= 0.5;
            else up = p->nearest == RS_CEIL;
            int64_t i = up ? b + 1 : b;
            ix[0] = i < 0 ? 0 : i >= n ? n - 1 : i;
            w[0] = 1.0;
            if (ix[0] != o || t->ext[o]) t->identity = false;
            continue;
        }
        double c[4];
        int64_t first, pad = T / 2;
        if (T == 2) {
            c[0] = 1 - ratio;
            c[1] = ratio;
            first = b;
        } else {
            cubic_coeffs(ratio, p->cubic_a, c);
            first = b - 1;
        }
        /* keep the window inside the edge-padded range [-pad, n - 1 + pad] */
        if (first < -pad) first = -pad;
        if (first + T - 1 > n - 1 + pad) first = n - 1 + pad - (T - 1);
        if (p->exclude_outside) {
            double sum = 0;
            for (int k = 0; k < T; k++) {
                int64_t i = first + k;
                if (i < 0 || i >= n) c[k] = 0;
                sum += c[k];
            }
            for (int k = 0; k < T; k++) c[k] = sum != 0 ? c[k] / sum : 0;
        }
        for (int k = 0; k < T; k++) {
            int64_t i = first + k;
            ix[k] = i < 0 ? 0 : i >= n ? n - 1 : i;
            w[k] = c[k];
            if (t->ext[o] || (ix[k] == o ? c[k] != 1.0 : c[k] != 0.0)) t->identity = false;
        }
    }
}

/* Workspace layout: tables for every axis, then two ping-pong buffers. */
static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static size_t tables_bytes(const resize_attrs *p, const int64_t *out, int r) {
    size_t b = 0;
    int T = n_taps(p->mode);
    for (int d = 0; d < r; d++)
        b += align64((size_t)out[d] * (size_t)T * 16) + align64((size_t)out[d]);
    return b;
}

size_t jt_resize_tables_bytes(const resize_attrs *p, const int64_t *out, int r) { return tables_bytes(p, out, r); }

/* Carves the per-axis tables from w and fills them; returns the first byte after them. */
static char *make_tables(const resize_attrs *p, const resize_geom *geo, char *w, axis_table *tab) {
    int T = n_taps(p->mode);
    for (int d = 0; d < geo->rank; d++) {
        tab[d].idx = (int64_t *)w;
        tab[d].w = (double *)(w + (size_t)geo->out[d] * (size_t)T * 8);
        w += align64((size_t)geo->out[d] * (size_t)T * 16);
        tab[d].ext = (uint8_t *)w;
        w += align64((size_t)geo->out[d]);
        build_table(p, geo, d, &tab[d]);
    }
    return w;
}

char *jt_resize_build_tables(const resize_attrs *p, const resize_geom *geo, char *ws, jt_resize_table *tab) {
    return make_tables(p, geo, ws, tab);
}

/* Largest intermediate (elements) over the separable passes, last axis first. */
static int64_t max_inter(const int64_t *in, const int64_t *out, int r) {
    int64_t best = 0;
    for (int d = r - 1; d >= 0; d--) {
        int64_t s = 1;
        for (int k = 0; k < r; k++) s *= k < d ? in[k] : out[k];
        if (s > best) best = s;
    }
    return best;
}

size_t jt_resize_workspace(const jt_kernel_args *a) {
    const resize_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0], *y = a->out[0];
    size_t b = tables_bytes(p, y->dims, x->rank);
    if (p->mode != RS_NEAREST) b += 2 * align64((size_t)max_inter(x->dims, y->dims, x->rank) * jt_dtype_size(x->dtype));
    return b;
}

/* ---- nearest: one gather over all axes ---- */

typedef struct {
    const char *src;
    char *dst;
    size_t es;
    int r;
    const resize_geom *geo;
    axis_table *tab;
    int64_t is[JT_MAX_RANK];
    char ext_val[8];
    int64_t rows, rows_per_task;
} nn_job;

static void nn_task(void *arg, int64_t t) {
    const nn_job *j = arg;
    int r = j->r;
    const int64_t *od = j->geo->out;
    int64_t r0 = t * j->rows_per_task, r1 = r0 + j->rows_per_task;
    if (r1 > j->rows) r1 = j->rows;
    int64_t idx[JT_MAX_RANK] = {0}, rem = r0;
    for (int k = r - 2; k >= 0; k--) {
        idx[k] = rem % od[k];
        rem /= od[k];
    }
    int64_t L = od[r - 1];
    const axis_table *last = &j->tab[r - 1];
    size_t es = j->es;
    for (int64_t row = r0; row < r1; row++) {
        int64_t so = 0;
        bool ext = false;
        for (int k = 0; k < r - 1; k++) {
            so += j->tab[k].idx[idx[k]] * j->is[k];
            ext |= j->tab[k].ext[idx[k]] != 0;
        }
        char *d = j->dst + (size_t)(row * L) * es;
        const char *s = j->src + (size_t)so * es;
        for (int64_t o = 0; o < L; o++) {
            const char *v = (ext || last->ext[o]) ? j->ext_val : s + (size_t)last->idx[o] * es;
            switch (es) {
            case 4: memcpy(d + o * 4, v, 4); break;
            case 8: memcpy(d + o * 8, v, 8); break;
            default: memcpy(d + (size_t)o * es, v, es);
            }
        }
        for (int k = r - 2; k >= 0; k--) {
            if (++idx[k] < od[k]) break;
            idx[k] = 0;
        }
    }
}

static void value_bytes(jt_dtype dt, double v, char *out) {
    memset(out, 0, 8);
    switch (dt) {
    case JT_F32: { float f = (float)v; memcpy(out, &f, 4); break; }
    case JT_F64: memcpy(out, &v, 8); break;
    case JT_I64: case JT_U64: { int64_t i = (int64_t)v; memcpy(out, &i, 8); break; }
    case JT_I32: case JT_U32: { int32_t i = (int32_t)v; memcpy(out, &i, 4); break; }
    case JT_I16: case JT_U16: { int16_t i = (int16_t)v; memcpy(out, &i, 2); break; }
    default: { int8_t i = (int8_t)v; memcpy(out, &i, 1); break; }
    }
}

/* ---- linear / cubic: one separable pass per changing axis ---- */

typedef struct {
    const void *src;
    void *dst;
    int64_t outer, n_in, n_out, inner, rows_per_task;
    int T;
    const axis_table *tab;
    double ext_val;
} pass_job;

/* Rows are (outer index, output position) pairs of `inner` contiguous elements; when inner == 1 (the
 * last axis) a task row is a whole outer line instead. */
#define DEF_PASS(NAME, TYPE)                                                                       \
    static void NAME(void *arg, int64_t t) {                                                       \
        const pass_job *j = arg;                                                                   \
        const TYPE *src = j->src;                                                                  \
        TYPE *dst = j->dst;                                                                        \
        int64_t inner = j->inner;                                                                  \
        int T = j->T;                                                                              \
        if (inner == 1) {                                                                          \
            int64_t l0 = t * j->rows_per_task, l1 = l0 + j->rows_per_task;                         \
            if (l1 > j->outer) l1 = j->outer;                                                      \
            for (int64_t l = l0; l < l1; l++) {                                                    \
                const TYPE *s = src + l * j->n_in;                                                 \
                TYPE *d = dst + l * j->n_out;                                                      \
                for (int64_t o = 0; o < j->n_out; o++) {                                           \
                    const int64_t *ix = j->tab->idx + o * T;                                       \
                    const double *w = j->tab->w + o * T;                                           \
                    TYPE acc = 0;                                                                  \
                    for (int k = 0; k < T; k++) acc += (TYPE)w[k] * s[ix[k]];                      \
                    d[o] = j->tab->ext[o] ? (TYPE)j->ext_val : acc;                                \
                }                                                                                  \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        int64_t rows = j->outer * j->n_out, r0 = t * j->rows_per_task, r1 = r0 + j->rows_per_task; \
        if (r1 > rows) r1 = rows;                                                                  \
        for (int64_t row = r0; row < r1; row++) {                                                  \
            int64_t oi = row / j->n_out, o = row % j->n_out;                                       \
            TYPE *d = dst + row * inner;                                                           \
            if (j->tab->ext[o]) {                                                                  \
                for (int64_t i = 0; i < inner; i++) d[i] = (TYPE)j->ext_val;                       \
                continue;                                                                          \
            }                                                                                      \
            const int64_t *ix = j->tab->idx + o * T;                                               \
            const double *w = j->tab->w + o * T;                                                   \
            const TYPE *base = src + oi * j->n_in * inner;                                         \
            const TYPE *s0 = base + ix[0] * inner;                                                 \
            TYPE w0 = (TYPE)w[0];                                                                  \
            for (int64_t i = 0; i < inner; i++) d[i] = w0 * s0[i];                                 \
            for (int k = 1; k < T; k++) {                                                          \
                const TYPE *sk = base + ix[k] * inner;                                             \
                TYPE wk = (TYPE)w[k];                                                              \
                if (wk == 0) continue;                                                             \
                for (int64_t i = 0; i < inner; i++) d[i] += wk * sk[i];                            \
            }                                                                                      \
        }                                                                                          \
    }
DEF_PASS(pass_f32, float)
DEF_PASS(pass_f64, double)

jt_status jt_resize_kernel(const jt_kernel_args *a) {
    const resize_attrs *p = a->attrs;
    const jt_tensor *x = a->in[0];
    jt_tensor *y = a->out[0];
    resize_geom geo;
    JT_TRY(jt_resize_geometry(a->ctx, NULL, a->node, p, a->n_in, a->in, &geo));
    int r = x->rank, T = n_taps(p->mode);
    size_t es = jt_dtype_size(x->dtype);
    if (jt_tensor_numel(y) == 0) return JT_OK;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return JT_OK;
    }
    if (!a->ws || a->ws_size < jt_resize_workspace(a))
        return jt_node_fail(a->ctx, a->graph, a->node, JT_ERR_INTERNAL, "workspace too small");
    axis_table tab[JT_MAX_RANK];
    char *w = make_tables(p, &geo, a->ws, tab);
    if (p->mode == RS_NEAREST) {
        nn_job j = {.src = x->data, .dst = y->data, .es = es, .r = r, .geo = &geo, .tab = tab};
        jt_dims_strides(r, x->dims, j.is);
        value_bytes(x->dtype, p->extrapolation, j.ext_val);
        int64_t L = geo.out[r - 1];
        j.rows = jt_tensor_numel(y) / L;
        j.rows_per_task = TASK_ELEMS / L > 0 ? TASK_ELEMS / L : 1;
        jt_pool_run(a->pool, nn_task, &j, (j.rows + j.rows_per_task - 1) / j.rows_per_task);
        return JT_OK;
    }
    int axes[JT_MAX_RANK], np = 0;
    for (int d = r - 1; d >= 0; d--)
        if (!tab[d].identity) axes[np++] = d;
    if (np == 0) {
        jt_par_memcpy(a->pool, y->data, x->data, jt_tensor_nbytes(x));
        return JT_OK;
    }
    size_t inter = align64((size_t)max_inter(x->dims, y->dims, r) * es);
    char *buf[2] = {w, w + inter};
    int64_t cur[JT_MAX_RANK];
    memcpy(cur, x->dims, sizeof(int64_t) * (size_t)r);
    const void *src = x->data;
    for (int k = 0; k < np; k++) {
        int d = axes[k];
        void *dst = k == np - 1 ? y->data : buf[k % 2];
        pass_job j = {.src = src, .dst = dst, .outer = 1, .n_in = cur[d], .n_out = geo.out[d], .inner = 1,
                      .T = T, .tab = &tab[d], .ext_val = p->extrapolation};
        for (int q = 0; q < d; q++) j.outer *= cur[q];
        for (int q = d + 1; q < r; q++) j.inner *= cur[q];
        int64_t rows = j.outer * j.n_out, row_elems = j.inner;
        if (j.inner == 1) { /* task rows are whole lines */
            rows = j.outer;
            row_elems = j.n_out;
        }
        j.rows_per_task = TASK_ELEMS / row_elems > 0 ? TASK_ELEMS / row_elems : 1;
        jt_pool_run(a->pool, x->dtype == JT_F32 ? pass_f32 : pass_f64, &j,
                    (rows + j.rows_per_task - 1) / j.rows_per_task);
        cur[d] = geo.out[d];
        src = dst;
    }
    return JT_OK;
}
