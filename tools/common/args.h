/* One option table per tool: parses argv and generates --help from the same table. */
#ifndef JATP_TOOLS_ARGS_H
#define JATP_TOOLS_ARGS_H

#include <stdint.h>

typedef enum { ARG_FLAG, ARG_STR, ARG_INT, ARG_LIST } arg_kind;

typedef struct arg_opt {
    const char *name;    /* "--threads" */
    arg_kind kind;
    const char *metavar; /* "N" */
    const char *help;
    void *dest;          /* int* (FLAG, INT), const char** (STR), arg_list* (LIST) */
} arg_opt;

#define ARG_LIST_MAX 64
typedef struct arg_list {
    int n;
    const char *v[ARG_LIST_MAX];
} arg_list;

typedef struct arg_spec {
    const char *cmd;      /* "jatp run" */
    const char *usage;    /* "MODEL.onnx --input x.npy --output y.npy [options]" */
    const char *summary;  /* one paragraph */
    const arg_opt *opts;
    int n_opts;
    const char **positional; /* receives positionals */
    int min_pos, max_pos;
    int *n_pos;
} arg_spec;

/* Returns 0 on success, 1 if --help was printed (caller exits 0), 2 on a usage error (message
 * printed naming the flag or value; caller exits 2). */
int args_parse(const arg_spec *spec, int argc, char **argv);
void args_help(const arg_spec *spec);

/* Value parsers for option strings: s == NULL keeps *out (the option was not given). A bad value prints
 * "<cmd>: <flag>: '<s>' is not ..." and returns 2 (the usage-error exit); otherwise 0.
 * args_number accepts fractions such as 8/255 and requires lo <= value <= hi. */
int args_number(const char *cmd, const char *flag, const char *s, double lo, double hi, double *out);
int args_u64(const char *cmd, const char *flag, const char *s, uint64_t *out);

#endif
