/* Graph building shared by the op-case harnesses; see gc_build.h. Moved out of gradcheck.c unchanged
 * (the RNG sequence, and so gradcheck's draws, are the same). */
#include "gc_build.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/autodiff.h"
#include "jatp/builder.h"

/* ---- small deterministic RNG ---- */
static uint64_t rng = 0x2545F4914F6CDD1DULL;
double gc_urand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static int parse_dims(const char *s, gc_spec *sp) {
    sp->present = s[0] != 0;
    sp->rank = 0;
    if (!sp->present || strcmp(s, "scalar") == 0) return 0;
    const char *p = s;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || sp->rank == JT_MAX_RANK) return -1;
        sp->dims[sp->rank++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

int64_t gc_numel(const gc_spec *sp) {
    int64_t n = 1;
    for (int i = 0; i < sp->rank; i++) n *= sp->dims[i];
    return n;
}

static void apply_attrs(jt_gb *b, const char *attrs) {
    if (!attrs) return;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", attrs);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        const char *name = tok, *val = eq + 1;
        if (strncmp(val, "s:", 2) == 0) {
            jt_gb_attr_string(b, name, val + 2);
        } else if (strchr(val, ',')) {
            int is_float = strpbrk(val, ".e") != NULL;
            int64_t iv[32];
            double fv[32];
            int n = 0;
            for (const char *p = val; *p && n < 32;) {
                char *end;
                if (is_float) fv[n++] = strtod(p, &end);
                else iv[n++] = strtoll(p, &end, 10);
                if (end == p) break;
                p = *end == ',' ? end + 1 : end;
            }
            if (is_float) jt_gb_attr_floats(b, name, fv, n);
            else jt_gb_attr_ints(b, name, iv, n);
        } else if (strpbrk(val, ".e")) {
            jt_gb_attr_float(b, name, strtod(val, NULL));
        } else {
            jt_gb_attr_int(b, name, strtoll(val, NULL, 10));
        }
    }
}

jt_status gc_build(jt_ctx *ctx, const gc_case *c, const gc_spec *sp, int n_in, double *const *data, jt_dtype dt,
                       double *const *cot, const gc_spec *yshape, gc_built *out) {
    memset(out, 0, sizeof *out);
    JT_TRY(jt_graph_create(ctx, c->op, &out->g));
    jt_gb b;
    jt_gb_init(&b, ctx, out->g, c->opset ? c->opset : 17);
    int32_t ins[GC_MAX_IN];
    for (int i = 0; i < n_in; i++) {
        ins[i] = -1;
        if (!sp[i].present) continue;
        char nm[32];
        snprintf(nm, sizeof nm, "in%d", i);
        int64_t n = gc_numel(&sp[i]);
        if (c->ints[i]) { /* "1,2" int64 data, or "b:1,0,1" bool data */
            int is_bool = strncmp(c->ints[i], "b:", 2) == 0;
            int64_t *v = calloc((size_t)n + 1, sizeof *v);
            uint8_t *bv = calloc((size_t)n + 1, 1);
            const char *p = c->ints[i] + (is_bool ? 2 : 0);
            for (int64_t k = 0; k < n && *p; k++) {
                char *end;
                v[k] = strtoll(p, &end, 10);
                bv[k] = v[k] != 0;
                p = *end == ',' ? end + 1 : end;
            }
            ins[i] = is_bool ? jt_gb_const(&b, nm, JT_BOOL, sp[i].rank, sp[i].dims, bv)
                             : jt_gb_const(&b, nm, JT_I64, sp[i].rank, sp[i].dims, v);
            free(v);
            free(bv);
        } else if ((c->wrt >> i) & 1) {
            ins[i] = jt_gb_input(&b, nm, dt, sp[i].rank, sp[i].dims);
            out->x_of[out->n_x++] = i;
        } else {
            void *v = malloc(sizeof(double) * (size_t)(n + 1));
            for (int64_t k = 0; k < n; k++) {
                if (dt == JT_F64) ((double *)v)[k] = data[i][k];
                else ((float *)v)[k] = (float)data[i][k];
            }
            ins[i] = jt_gb_const(&b, nm, dt, sp[i].rank, sp[i].dims, v);
            free(v);
        }
    }
    apply_attrs(&b, c->attrs);
    out->n_out = c->n_out ? c->n_out : 1;
    jt_gb_node(&b, c->op, c->domain ? c->domain : "", "op", ins, n_in, out->y, out->n_out);
    for (int j = 0; j < out->n_out; j++) jt_gb_output(&b, out->y[j]);
    JT_TRY(jt_gb_status(&b));
    if (!cot) return JT_OK; /* forward only (to learn output shapes) */
    int32_t seeds[8], wrt[GC_MAX_IN];
    for (int j = 0; j < out->n_out; j++) {
        int64_t n = gc_numel(&yshape[j]);
        void *v = malloc(sizeof(double) * (size_t)(n + 1));
        for (int64_t k = 0; k < n; k++) {
            if (dt == JT_F64) ((double *)v)[k] = cot[j][k];
            else ((float *)v)[k] = (float)cot[j][k];
        }
        char nm[32];
        snprintf(nm, sizeof nm, "cot%d", j);
        seeds[j] = jt_gb_const(&b, nm, dt, yshape[j].rank, yshape[j].dims, v);
        free(v);
    }
    for (int k = 0; k < out->n_x; k++) wrt[k] = ins[out->x_of[k]];
    JT_TRY(jt_gb_status(&b));
    JT_TRY(jt_build_backward(ctx, out->g, out->y, seeds, out->n_out, wrt, out->n_x, out->grad));
    for (int k = 0; k < out->n_x; k++) jt_gb_output(&b, out->grad[k]);
    return jt_gb_status(&b);
}

void gc_make_inputs(const gc_built *bt, const gc_spec *sp, double *const *data, jt_dtype dt, jt_tensor *xs) {
    for (int k = 0; k < bt->n_x; k++) {
        int i = bt->x_of[k];
        int64_t n = gc_numel(&sp[i]);
        memset(&xs[k], 0, sizeof xs[k]);
        xs[k].dtype = dt;
        xs[k].rank = sp[i].rank;
        memcpy(xs[k].dims, sp[i].dims, sizeof(int64_t) * (size_t)sp[i].rank);
        xs[k].data = malloc(sizeof(double) * (size_t)(n + 1));
        for (int64_t e = 0; e < n; e++) {
            if (dt == JT_F64) ((double *)xs[k].data)[e] = data[i][e];
            else ((float *)xs[k].data)[e] = (float)data[i][e];
        }
    }
}

void gc_seed(uint64_t seed) { rng = seed ? seed : 0x2545F4914F6CDD1DULL; }

int gc_parse_case(const gc_case *c, gc_spec *sp, const char **bad) {
    int n_in = 0;
    while (n_in < GC_MAX_IN && c->in[n_in]) {
        if (parse_dims(c->in[n_in], &sp[n_in]) != 0) {
            *bad = c->in[n_in];
            return -1;
        }
        sp[n_in].lo = -1;
        sp[n_in].hi = 1;
        n_in++;
    }
    if (c->ranges) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", c->ranges);
        for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
            int i;
            double lo, hi;
            if (sscanf(tok, "%d:%lf:%lf", &i, &lo, &hi) == 3 && i >= 0 && i < n_in) {
                sp[i].lo = lo;
                sp[i].hi = hi;
            }
        }
    }
    return n_in;
}

void gc_draw_inputs(const gc_case *c, const gc_spec *sp, int n_in, double **data) {
    for (int i = 0; i < n_in; i++) {
        int64_t n = gc_numel(&sp[i]);
        data[i] = malloc(sizeof(double) * (size_t)(n + 1));
        for (int64_t e = 0; e < n; e++) {
            double v;
            do v = sp[i].lo + (sp[i].hi - sp[i].lo) * gc_urand();
            while (c->away > 0 && fabs(v) < c->away);
            data[i][e] = v;
        }
    }
}
