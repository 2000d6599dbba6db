/* `jatp reproduce`: the collected results (one row per defense, one column per attack, read back from
 * the summary JSON of each `jatp eval` run) and their reports: the Table-1-style table on the terminal
 * and as Markdown, CSV and JSON (every number with its attack settings, seed, N and 95% Wilson
 * interval), the figures (Figure 1: robust accuracy per defense, oblivious vs full, per attack;
 * Figure 4a: fooling rates of PGD and BPDA+PGD) and the evaluator's sanity-check report. */
#ifndef JATP_TOOLS_REPRODUCE_REPORT_H
#define JATP_TOOLS_REPRODUCE_REPORT_H

#include <stdint.h>
#include <stdio.h>

#define RR_MAX_ROWS 12
#define RR_MAX_ATTACKS 12

typedef struct rr_cell {
    int have;
    double acc, lo, hi;       /* robust accuracy (fraction) and its 95% Wilson interval */
    double fooling;           /* fooling rate (fraction), NaN when not reported */
    double fool_lo, fool_hi;  /* its 95% Wilson interval over the fool_n clean-correct examples */
    int fool_n;
    char *config;             /* the attack's settings as compact JSON (malloc'ed) */
} rr_cell;

typedef struct rr_row {
    char label[48];           /* "None", "APE-G (oblivious)", "JATP" */
    char method[16];          /* "none", "apeg", "hgd", "nrp", "jatp" */
    char examples[16];        /* "", "oblivious", "full" */
    int have;                 /* the evaluation ran */
    int n;                    /* examples evaluated */
    double nat, nat_lo, nat_hi;
    double seconds;
    rr_cell cells[RR_MAX_ATTACKS];
} rr_row;

typedef struct rr_table {
    char target[48];                   /* the target's label ("TRADES", "Standard AT", ...) */
    char preset[32];
    char dataset[32];
    uint64_t seed;
    int n_attacks;
    char attacks[RR_MAX_ATTACKS][32];  /* column names as eval reports them (pgd, pgd-dlr, ...) */
    int n_rows;
    rr_row rows[RR_MAX_ROWS];
    char *sanity;                      /* the JATP row's sanity checks as compact JSON (malloc'ed) */
    int sanity_failed;
} rr_table;

/* Adds a row (returns it) and reads an eval summary JSON into it (columns added as they appear;
 * sanity checks kept when present). Returns 0, or 1 with a message printed. */
rr_row *rr_add_row(rr_table *t, const char *label, const char *method, const char *examples);
int rr_read_eval(rr_table *t, rr_row *row, const char *json_path);
void rr_free(rr_table *t);

/* Reports. Each returns 0 or 1 (message printed); files are written through a temporary and renamed. */
void rr_print_table(FILE *f, const rr_table *t, int markdown);
int rr_write_markdown(const rr_table *t, const char *path, const char *header);
int rr_write_csv(const rr_table *t, const char *path);
int rr_write_json(const rr_table *t, const char *path, const char *settings_json);
int rr_write_sanity(const rr_table *t, const char *path);
/* The transfer table (the paper's Table 2): defenses trained against the main target, evaluated in
 * front of other targets. One table per target; printed side by side (natural and each attack per
 * target, accuracies in %), and written as dir/transfer.md (the wide table, then each target's table
 * with intervals), transfer.csv (one row per defense, target and attack) and transfer.json. */
void rr_print_transfer(FILE *f, const rr_table *const *tabs, int n, int markdown);
int rr_write_transfer(const rr_table *const *tabs, int n, const char *dir, const char *header,
                      const char *settings_json);
/* fig1_<attack>.png for every attack except BPDA ones and fig4a_fooling.png in dir; returns the number
 * of figures written, -1 on error; 0 with a note when PNG output is not compiled in. */
int rr_write_figures(const rr_table *t, const char *dir);

#endif
