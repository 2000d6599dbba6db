/* Reports of `jatp reproduce` (see reproduce_report.h). */
#include "reproduce_report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jatp/jatp.h"
#include "plot.h"

rr_row *rr_add_row(rr_table *t, const char *label, const char *method, const char *examples) {
    if (t->n_rows == RR_MAX_ROWS) return NULL;
    rr_row *r = &t->rows[t->n_rows++];
    memset(r, 0, sizeof *r);
    snprintf(r->label, sizeof r->label, "%s", label);
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->examples, sizeof r->examples, "%s", examples ? examples : "");
    r->nat = r->nat_lo = r->nat_hi = NAN;
    return r;
}

void rr_free(rr_table *t) {
    for (int i = 0; i < t->n_rows; i++)
        for (int k = 0; k < RR_MAX_ATTACKS; k++) free(t->rows[i].cells[k].config);
    free(t->sanity);
    memset(t, 0, sizeof *t);
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void ci(const cJSON *o, const char *k, double *lo, double *hi) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
    *lo = *hi = NAN;
    if (cJSON_IsArray(a) && cJSON_GetArraySize(a) == 2) {
        const cJSON *l = cJSON_GetArrayItem(a, 0), *h = cJSON_GetArrayItem(a, 1);
        if (cJSON_IsNumber(l)) *lo = l->valuedouble;
        if (cJSON_IsNumber(h)) *hi = h->valuedouble;
    }
}

int rr_read_eval(rr_table *t, rr_row *row, const char *path) {
    jt_ctx *ctx = NULL;
    void *text = NULL;
    size_t size = 0;
    if (jt_ctx_create(1, &ctx) != JT_OK) return 1;
    if (jt_read_file(ctx, path, (size_t)1 << 30, &text, &size) != JT_OK) {
        fprintf(stderr, "jatp reproduce: error: %s\n", jt_ctx_error(ctx));
        jt_ctx_free(ctx);
        return 1;
    }
    jt_ctx_free(ctx);
    cJSON *root = cJSON_ParseWithLength(text, size);
    free(text);
    if (!root) {
        fprintf(stderr, "jatp reproduce: error: %s is not valid JSON\n", path);
        return 1;
    }
    row->have = 1;
    row->n = (int)num(root, "n");
    row->nat = num(root, "clean_accuracy");
    ci(root, "clean_accuracy_ci95", &row->nat_lo, &row->nat_hi);
    if (row->nat_lo > row->nat) row->nat_lo = row->nat;
    if (row->nat_hi < row->nat) row->nat_hi = row->nat;
    row->seconds = num(root, "seconds");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "attacks"), *a;
    cJSON_ArrayForEach(a, arr) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(a, "attack");
        if (!cJSON_IsString(nm)) continue;
        int k = 0;
        while (k < t->n_attacks && strcmp(t->attacks[k], nm->valuestring) != 0) k++;
        if (k == t->n_attacks) {
            if (k == RR_MAX_ATTACKS) continue;
            snprintf(t->attacks[k], sizeof t->attacks[k], "%s", nm->valuestring);
            t->n_attacks++;
        }
        rr_cell *c = &row->cells[k];
        c->have = 1;
        c->acc = num(a, "robust_accuracy");
        ci(a, "robust_accuracy_ci95", &c->lo, &c->hi);
        /* the interval must hold the estimate (the bound at k = 0 can come back as 3e-18) */
        if (c->lo > c->acc) c->lo = c->acc;
        if (c->hi < c->acc) c->hi = c->acc;
        c->fooling = num(a, "fooling_rate");
        /* the fooling rate is over the clean-correct examples: its interval needs their count */
        c->fool_lo = c->fool_hi = NAN;
        c->fool_n = 0;
        if (isfinite(c->fooling) && isfinite(row->nat) && row->n > 0) {
            int64_t nc = (int64_t)llround(row->nat * row->n);
            int64_t k = (int64_t)llround(c->fooling * (double)nc);
            if (nc > 0) {
                jt_wilson_interval(k, nc, &c->fool_lo, &c->fool_hi);
                c->fool_n = (int)nc;
            }
        }
        free(c->config);
        c->config = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(a, "config"));
    }
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(root, "sanity_checks");
    if (checks) {
        free(t->sanity);
        t->sanity = cJSON_PrintUnformatted(checks);
        t->sanity_failed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "sanity_failed"));
    }
    cJSON_Delete(root);
    return 0;
}

static int is_bpda(const char *name) { return strstr(name, "bpda") != NULL; }

/* ---- tables ---- */

static void cell_text(char *buf, size_t cap, double acc, double lo, double hi) {
    if (!isfinite(acc))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.1f [%.1f, %.1f]", 100 * acc, 100 * lo, 100 * hi);
}

void rr_print_table(FILE *f, const rr_table *t, int md) {
    char buf[64];
    const int w0 = 20, w = 20;
    if (md) {
        fprintf(f, "| Defense | N | Natural |");
        for (int k = 0; k < t->n_attacks; k++) fprintf(f, " %s |", t->attacks[k]);
        fprintf(f, "\n|---|---:|---:|");
        for (int k = 0; k < t->n_attacks; k++) fprintf(f, "---:|");
        fprintf(f, "\n");
    } else {
        fprintf(f, "%-*s %5s %-*s", w0, "Defense", "N", w, "Natural");
        for (int k = 0; k < t->n_attacks; k++) fprintf(f, " %-*s", w, t->attacks[k]);
        fprintf(f, "\n");
    }
    for (int i = 0; i < t->n_rows; i++) {
        const rr_row *r = &t->rows[i];
        if (!r->have) continue;
        cell_text(buf, sizeof buf, r->nat, r->nat_lo, r->nat_hi);
        if (md)
            fprintf(f, "| %s | %d | %s |", r->label, r->n, buf);
        else
            fprintf(f, "%-*s %5d %-*s", w0, r->label, r->n, w, buf);
        for (int k = 0; k < t->n_attacks; k++) {
            const rr_cell *c = &r->cells[k];
            if (c->have)
                cell_text(buf, sizeof buf, c->acc, c->lo, c->hi);
            else
                snprintf(buf, sizeof buf, "-");
            if (md)
                fprintf(f, " %s |", buf);
            else
                fprintf(f, " %-*s", w, buf);
        }
        fprintf(f, "\n");
    }
    if (md) fprintf(f, "\n");
    fprintf(f, "%sAccuracy in %% with its 95%% Wilson interval; robust accuracy counts an example only when it is "
               "clean-correct and the attack failed. Fooling rates (BPDA+PGD vs PGD; share of the clean-correct examples the attack "
               "fools, with its 95%% interval and that count):\n",
            md ? "" : "\n");
    for (int i = 0; i < t->n_rows; i++) {
        const rr_row *r = &t->rows[i];
        if (!r->have) continue;
        fprintf(f, "%s%s:", md ? "- " : "  ", r->label);
        for (int k = 0; k < t->n_attacks; k++)
            if (r->cells[k].have && isfinite(r->cells[k].fooling) &&
                (strcmp(t->attacks[k], "pgd") == 0 || is_bpda(t->attacks[k])))
                fprintf(f, " %s %.1f%% [%.1f, %.1f] of %d", t->attacks[k], 100 * r->cells[k].fooling,
                        100 * r->cells[k].fool_lo, 100 * r->cells[k].fool_hi, r->cells[k].fool_n);
        fprintf(f, "\n");
    }
}

static int finish(FILE *f, const char *tmp, const char *path) {
    int bad = ferror(f);
    if (fclose(f) != 0) bad = 1;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "jatp reproduce: error: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}

static FILE *open_tmp(const char *path, char *tmp, size_t cap) {
    snprintf(tmp, cap, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) fprintf(stderr, "jatp reproduce: error: cannot write %s: %s\n", tmp, strerror(errno));
    return f;
}

int rr_write_markdown(const rr_table *t, const char *path, const char *header) {
    char tmp[4200];
    FILE *f = open_tmp(path, tmp, sizeof tmp);
    if (!f) return 1;
    if (header) fputs(header, f);
    rr_print_table(f, t, 1);
    return finish(f, tmp, path);
}

/* CSV fields: quoted when they hold a comma or a quote */
static void csv_str(FILE *f, const char *s) {
    if (!s) s = "";
    if (strpbrk(s, ",\"\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"') fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else
        fputs(s, f);
}

static void csv_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.6g", v);
}

static const char csv_header[] = "preset,dataset,seed,target,defense,method,examples,attack,n,accuracy,ci95_lo,ci95_hi,"
                                 "fooling_rate,fooling_ci95_lo,fooling_ci95_hi,settings\n";

static void csv_rows(FILE *f, const rr_table *t) {
    for (int i = 0; i < t->n_rows; i++) {
        const rr_row *r = &t->rows[i];
        if (!r->have) continue;
        for (int k = -1; k < t->n_attacks; k++) {
            const rr_cell *c = k >= 0 ? &r->cells[k] : NULL;
            if (c && !c->have) continue;
            fprintf(f, "%s,%s,%llu,", t->preset, t->dataset, (unsigned long long)t->seed);
            csv_str(f, t->target);
            fputc(',', f);
            csv_str(f, r->label);
            fprintf(f, ",%s,%s,%s,%d,", r->method, r->examples, c ? t->attacks[k] : "natural", r->n);
            csv_num(f, c ? c->acc : r->nat);
            fputc(',', f);
            csv_num(f, c ? c->lo : r->nat_lo);
            fputc(',', f);
            csv_num(f, c ? c->hi : r->nat_hi);
            fputc(',', f);
            if (c) csv_num(f, c->fooling);
            fputc(',', f);
            if (c) csv_num(f, c->fool_lo);
            fputc(',', f);
            if (c) csv_num(f, c->fool_hi);
            fputc(',', f);
            csv_str(f, c && c->config ? c->config : "{}");
            fputc('\n', f);
        }
    }
}

int rr_write_csv(const rr_table *t, const char *path) {
    char tmp[4200];
    FILE *f = open_tmp(path, tmp, sizeof tmp);
    if (!f) return 1;
    fputs(csv_header, f);
    csv_rows(f, t);
    return finish(f, tmp, path);
}

static cJSON *numj(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *result_json(const rr_table *t, int n, double acc, double lo, double hi) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", n);
    cJSON_AddItemToObject(o, "accuracy", numj(acc));
    cJSON *a = cJSON_AddArrayToObject(o, "ci95");
    cJSON_AddItemToArray(a, numj(lo));
    cJSON_AddItemToArray(a, numj(hi));
    cJSON_AddNumberToObject(o, "seed", (double)t->seed);
    return o;
}

/* the rows of one table as a JSON array */
static cJSON *rows_json(const rr_table *t) {
    cJSON *rows = cJSON_CreateArray();
    for (int i = 0; i < t->n_rows; i++) {
        const rr_row *r = &t->rows[i];
        if (!r->have) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "defense", r->label);
        cJSON_AddStringToObject(o, "method", r->method);
        cJSON_AddStringToObject(o, "examples", r->examples);
        cJSON_AddItemToObject(o, "natural", result_json(t, r->n, r->nat, r->nat_lo, r->nat_hi));
        cJSON *res = cJSON_AddObjectToObject(o, "robust");
        for (int k = 0; k < t->n_attacks; k++) {
            const rr_cell *c = &r->cells[k];
            if (!c->have) continue;
            cJSON *e = result_json(t, r->n, c->acc, c->lo, c->hi);
            cJSON_AddItemToObject(e, "fooling_rate", numj(c->fooling));
            cJSON *fc = cJSON_AddArrayToObject(e, "fooling_ci95");
            cJSON_AddItemToArray(fc, numj(c->fool_lo));
            cJSON_AddItemToArray(fc, numj(c->fool_hi));
            cJSON_AddNumberToObject(e, "fooling_n", c->fool_n);
            cJSON *cfg = c->config ? cJSON_Parse(c->config) : NULL;
            cJSON_AddItemToObject(e, "settings", cfg ? cfg : cJSON_CreateObject());
            cJSON_AddItemToObject(res, t->attacks[k], e);
        }
        cJSON_AddItemToObject(o, "eval_seconds", numj(r->seconds));
        cJSON_AddItemToArray(rows, o);
    }
    return rows;
}

static int write_json_root(cJSON *root, const char *path) {
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    jt_ctx *ctx = NULL;
    if (!text || jt_ctx_create(1, &ctx) != JT_OK) {
        fprintf(stderr, "jatp reproduce: error: out of memory writing %s\n", path);
        free(text);
        return 1;
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* the file ends with a newline: written from the NUL's place, which is not read again */
    int rc = jt_write_atomic(ctx, path, text, n + 1) != JT_OK;
    if (rc) fprintf(stderr, "jatp reproduce: error: %s\n", jt_ctx_error(ctx));
    jt_ctx_free(ctx);
    free(text);
    return rc;
}

static cJSON *json_head(const rr_table *t, const char *schema, const char *settings_json) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", schema);
    cJSON_AddStringToObject(root, "version", JATP_VERSION);
    cJSON_AddStringToObject(root, "preset", t->preset);
    cJSON_AddStringToObject(root, "dataset", t->dataset);
    cJSON_AddNumberToObject(root, "seed", (double)t->seed);
    if (settings_json) {
        cJSON *s = cJSON_Parse(settings_json);
        if (s) cJSON_AddItemToObject(root, "settings", s);
    }
    return root;
}

static cJSON *attacks_json(const rr_table *t) {
    cJSON *att = cJSON_CreateArray();
    for (int k = 0; k < t->n_attacks; k++) cJSON_AddItemToArray(att, cJSON_CreateString(t->attacks[k]));
    return att;
}

int rr_write_json(const rr_table *t, const char *path, const char *settings_json) {
    cJSON *root = json_head(t, "jatp.reproduce/1", settings_json);
    cJSON_AddStringToObject(root, "target", t->target);
    cJSON_AddItemToObject(root, "attacks", attacks_json(t));
    cJSON_AddItemToObject(root, "rows", rows_json(t));
    if (t->sanity) {
        cJSON *s = cJSON_Parse(t->sanity);
        if (s) cJSON_AddItemToObject(root, "sanity_checks_jatp", s);
        cJSON_AddBoolToObject(root, "sanity_failed", t->sanity_failed);
    }
    return write_json_root(root, path);
}

/* ---- the transfer table ---- */

void rr_print_transfer(FILE *f, const rr_table *const *tabs, int n, int md) {
    if (n < 1) return;
    const rr_table *t0 = tabs[0];
    /* header: Defense, N, then per target: Nat and each attack */
    if (md) {
        fprintf(f, "| Defense | N |");
        for (int j = 0; j < n; j++) {
            fprintf(f, " %s Nat |", tabs[j]->target);
            for (int k = 0; k < tabs[j]->n_attacks; k++) fprintf(f, " %s %s |", tabs[j]->target, tabs[j]->attacks[k]);
        }
        fprintf(f, "\n|---|---:|");
        for (int j = 0; j < n; j++)
            for (int k = -1; k < tabs[j]->n_attacks; k++) fprintf(f, "---:|");
        fprintf(f, "\n");
    } else {
        fprintf(f, "%-20s %5s", "Defense", "N");
        for (int j = 0; j < n; j++) {
            char h[80];
            snprintf(h, sizeof h, "%.20s:Nat", tabs[j]->target);
            fprintf(f, "  %-12s", h);
            for (int k = 0; k < tabs[j]->n_attacks; k++) fprintf(f, " %-8.8s", tabs[j]->attacks[k]);
        }
        fprintf(f, "\n");
    }
    for (int i = 0; i < t0->n_rows; i++) {
        const rr_row *r0 = &t0->rows[i];
        if (md)
            fprintf(f, "| %s | %d |", r0->label, r0->n);
        else
            fprintf(f, "%-20s %5d", r0->label, r0->n);
        for (int j = 0; j < n; j++) {
            const rr_row *r = NULL;
            for (int q = 0; q < tabs[j]->n_rows; q++)
                if (strcmp(tabs[j]->rows[q].label, r0->label) == 0) r = &tabs[j]->rows[q];
            for (int k = -1; k < tabs[j]->n_attacks; k++) {
                double v = !r || !r->have ? NAN : k < 0 ? r->nat : r->cells[k].have ? r->cells[k].acc : NAN;
                char b[16];
                if (isfinite(v))
                    snprintf(b, sizeof b, "%.1f", 100 * v);
                else
                    snprintf(b, sizeof b, "-");
                if (md)
                    fprintf(f, " %s |", b);
                else
                    fprintf(f, k < 0 ? "  %-12s" : " %-8s", b);
            }
        }
        fprintf(f, "\n");
    }
}

int rr_write_transfer(const rr_table *const *tabs, int n, const char *dir, const char *header,
                      const char *settings_json) {
    if (n < 1) return 0;
    char path[4200], tmp[4300];
    int rc = 0;
    /* Markdown: the wide table, then every target's table with its intervals */
    snprintf(path, sizeof path, "%s/transfer.md", dir);
    FILE *f = open_tmp(path, tmp, sizeof tmp);
    if (!f) return 1;
    if (header) fputs(header, f);
    rr_print_transfer(f, tabs, n, 1);
    fprintf(f, "\nAccuracy in %%; the intervals are in the per-target tables below, transfer.csv and transfer.json.\n");
    for (int j = 0; j < n; j++) {
        fprintf(f, "\n## Target: %s\n\n", tabs[j]->target);
        rr_print_table(f, tabs[j], 1);
    }
    rc |= finish(f, tmp, path);
    /* CSV: every target's rows under one header */
    snprintf(path, sizeof path, "%s/transfer.csv", dir);
    f = open_tmp(path, tmp, sizeof tmp);
    if (!f) return 1;
    fputs(csv_header, f);
    for (int j = 0; j < n; j++) csv_rows(f, tabs[j]);
    rc |= finish(f, tmp, path);
    /* JSON */
    cJSON *root = json_head(tabs[0], "jatp.reproduce.transfer/1", settings_json);
    cJSON *arr = cJSON_AddArrayToObject(root, "targets");
    for (int j = 0; j < n; j++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "target", tabs[j]->target);
        cJSON_AddItemToObject(o, "attacks", attacks_json(tabs[j]));
        cJSON_AddItemToObject(o, "rows", rows_json(tabs[j]));
        cJSON_AddItemToArray(arr, o);
    }
    snprintf(path, sizeof path, "%s/transfer.json", dir);
    rc |= write_json_root(root, path);
    return rc;
}

int rr_write_sanity(const rr_table *t, const char *path) {
    char tmp[4200];
    FILE *f = open_tmp(path, tmp, sizeof tmp);
    if (!f) return 1;
    fprintf(f, "Sanity checks of the evaluator (docs/attacks.md section 11) on the JATP row, preset %s, seed %llu\n\n",
            t->preset, (unsigned long long)t->seed);
    cJSON *arr = t->sanity ? cJSON_Parse(t->sanity) : NULL, *c;
    if (!arr) fprintf(f, "(no sanity checks ran)\n");
    cJSON_ArrayForEach(c, arr) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id"), *nm = cJSON_GetObjectItemCaseSensitive(c, "name"),
                    *st = cJSON_GetObjectItemCaseSensitive(c, "status"), *de = cJSON_GetObjectItemCaseSensitive(c, "detail");
        fprintf(f, "%-4s %-6s %s: %s\n", cJSON_IsString(id) ? id->valuestring : "?",
                cJSON_IsString(st) ? st->valuestring : "?", cJSON_IsString(nm) ? nm->valuestring : "?",
                cJSON_IsString(de) ? de->valuestring : "");
    }
    if (arr) fprintf(f, "\noverall: %s\n", t->sanity_failed ? "FAILED" : "passed");
    cJSON_Delete(arr);
    return finish(f, tmp, path);
}

/* ---- figures ---- */

static const char *const base_methods[] = {"apeg", "hgd", "nrp"};

static const rr_row *find_row(const rr_table *t, const char *method, const char *examples) {
    for (int i = 0; i < t->n_rows; i++)
        if (t->rows[i].have && strcmp(t->rows[i].method, method) == 0 &&
            (!examples || strcmp(t->rows[i].examples, examples) == 0))
            return &t->rows[i];
    return NULL;
}

int rr_write_figures(const rr_table *t, const char *dir) {
    if (!jt_plot_available()) {
        fprintf(stderr, "jatp reproduce: note: built without cairo, no PNG figures\n");
        return 0;
    }
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(1, &ctx) != JT_OK) return -1;
    int written = 0, rc = 0;
    /* Figure 1: groups None, APE-G, HGD, NRP, JATP; series oblivious / full (None and JATP: one bar) */
    const char *groups[5] = {"None", "APE-G", "HGD", "NRP", "JATP"};
    const char *series[2] = {"oblivious examples", "full examples"};
    for (int k = 0; rc == 0 && k < t->n_attacks; k++) {
        if (is_bpda(t->attacks[k])) continue;
        double v[10], lo[10], hi[10];
        for (int i = 0; i < 10; i++) v[i] = lo[i] = hi[i] = NAN;
        for (int g = 0; g < 5; g++)
            for (int s = 0; s < 2; s++) {
                const rr_row *r = NULL;
                if (g == 0)
                    r = s == 0 ? find_row(t, "none", NULL) : NULL;
                else if (g == 4)
                    r = s == 1 ? find_row(t, "jatp", NULL) : NULL;
                else
                    r = find_row(t, base_methods[g - 1], s ? "full" : "oblivious");
                if (!r || !r->cells[k].have) continue;
                v[2 * g + s] = 100 * r->cells[k].acc;
                lo[2 * g + s] = 100 * r->cells[k].lo;
                hi[2 * g + s] = 100 * r->cells[k].hi;
            }
        char title[128], path[4200];
        snprintf(title, sizeof title, "Robust accuracy under %s (%s, N = %d): oblivious vs full training examples",
                 t->attacks[k], t->dataset, t->rows[0].n);
        jt_plot_bars p = {.title = title, .ylabel = "robust accuracy (%)", .n_groups = 5, .group_labels = groups,
                          .n_series = 2, .series_labels = series, .values = v, .err_lo = lo, .err_hi = hi,
                          .ymin = 0, .ymax = 100};
        snprintf(path, sizeof path, "%s/fig1_%s.png", dir, t->attacks[k]);
        if (jt_plot_bars_png(ctx, path, &p) != JT_OK) {
            fprintf(stderr, "jatp reproduce: error: %s\n", jt_ctx_error(ctx));
            rc = -1;
        } else
            written++;
    }
    /* Figure 4a: fooling rate of PGD (through P) and BPDA+PGD per defense */
    int kp = -1, kb = -1;
    for (int k = 0; k < t->n_attacks; k++) {
        if (strcmp(t->attacks[k], "pgd") == 0) kp = k;
        if (strncmp(t->attacks[k], "pgd-bpda", 8) == 0) kb = k;
    }
    if (rc == 0 && kp >= 0) {
        const char *labels[RR_MAX_ROWS];
        double v[2 * RR_MAX_ROWS], lo[2 * RR_MAX_ROWS], hi[2 * RR_MAX_ROWS];
        int ng = 0;
        for (int i = 0; i < t->n_rows; i++) {
            const rr_row *r = &t->rows[i];
            if (!r->have) continue;
            labels[ng] = r->label;
            for (int s = 0; s < 2; s++) {
                int k = s == 0 ? kp : kb;
                const rr_cell *c = k >= 0 && r->cells[k].have ? &r->cells[k] : NULL;
                v[2 * ng + s] = c ? 100 * c->fooling : NAN;
                lo[2 * ng + s] = c ? 100 * c->fool_lo : NAN;
                hi[2 * ng + s] = c ? 100 * c->fool_hi : NAN;
            }
            ng++;
        }
        const char *series4[2] = {"PGD (end to end)", "BPDA+PGD"};
        char title[128], path[4200];
        snprintf(title, sizeof title, "Fooling rate of PGD and BPDA+PGD per defense (%s; whiskers: 95%% Wilson intervals)", t->dataset);
        jt_plot_bars p = {.title = title, .ylabel = "fooling rate (%)", .n_groups = ng, .group_labels = labels,
                          .n_series = 2, .series_labels = series4, .values = v, .err_lo = lo, .err_hi = hi,
                          .ymin = 0, .ymax = 100,
                          .width = 1280};
        snprintf(path, sizeof path, "%s/fig4a_fooling.png", dir);
        if (jt_plot_bars_png(ctx, path, &p) != JT_OK) {
            fprintf(stderr, "jatp reproduce: error: %s\n", jt_ctx_error(ctx));
            rc = -1;
        } else
            written++;
    }
    jt_ctx_free(ctx);
    return rc ? rc : written;
}
