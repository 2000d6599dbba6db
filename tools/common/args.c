#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void args_help(const arg_spec *s) {
    printf("usage: %s %s\n\n%s\n\noptions:\n", s->cmd, s->usage, s->summary);
    for (int i = 0; i < s->n_opts; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", s->opts[i].name, s->opts[i].metavar ? " " : "",
                 s->opts[i].metavar ? s->opts[i].metavar : "");
        printf("  %-26s %s\n", left, s->opts[i].help);
    }
    printf("  %-26s %s\n", "-h, --help", "show this help");
}

static const arg_opt *find(const arg_spec *s, const char *name, size_t len) {
    for (int i = 0; i < s->n_opts; i++)
        if (strlen(s->opts[i].name) == len && strncmp(s->opts[i].name, name, len) == 0) return &s->opts[i];
    return NULL;
}

int args_parse(const arg_spec *s, int argc, char **argv) {
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            args_help(s);
            return 1;
        }
        if (a[0] == '-' && a[1] == '-') {
            const char *eq = strchr(a, '=');
            size_t len = eq ? (size_t)(eq - a) : strlen(a);
            const arg_opt *o = find(s, a, len);
            if (!o) {
                fprintf(stderr, "%s: unknown option '%.*s' (see %s --help)\n", s->cmd, (int)len, a, s->cmd);
                return 2;
            }
            const char *val = NULL;
            if (o->kind != ARG_FLAG) {
                if (eq) val = eq + 1;
                else if (i + 1 < argc) val = argv[++i];
                else {
                    fprintf(stderr, "%s: option '%s' needs a value (%s)\n", s->cmd, o->name, o->metavar);
                    return 2;
                }
            } else if (eq) {
                fprintf(stderr, "%s: option '%s' takes no value\n", s->cmd, o->name);
                return 2;
            }
            switch (o->kind) {
            case ARG_FLAG: *(int *)o->dest = 1; break;
            case ARG_STR: *(const char **)o->dest = val; break;
            case ARG_INT: {
                char *end;
                errno = 0;
                long v = strtol(val, &end, 10);
                if (errno || end == val || *end || v < -1000000000L || v > 1000000000L) {
                    fprintf(stderr, "%s: option '%s' expects an integer, got '%s'\n", s->cmd, o->name, val);
                    return 2;
                }
                *(int *)o->dest = (int)v;
                break;
            }
            case ARG_LIST: {
                arg_list *l = o->dest;
                if (l->n == ARG_LIST_MAX) {
                    fprintf(stderr, "%s: option '%s' given more than %d times\n", s->cmd, o->name, ARG_LIST_MAX);
                    return 2;
                }
                l->v[l->n++] = val;
                break;
            }
            }
            continue;
        }
        if (npos >= s->max_pos) {
            fprintf(stderr, "%s: unexpected argument '%s' (see %s --help)\n", s->cmd, a, s->cmd);
            return 2;
        }
        s->positional[npos++] = a;
    }
    if (npos < s->min_pos) {
        fprintf(stderr, "%s: missing argument; usage: %s %s\n", s->cmd, s->cmd, s->usage);
        return 2;
    }
    if (s->n_pos) *s->n_pos = npos;
    return 0;
}

int args_number(const char *cmd, const char *flag, const char *s, double lo, double hi, double *out) {
    if (!s) return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!errno && end != s && *end == '/') { /* a fraction such as 8/255 */
        char *e2;
        double den = strtod(end + 1, &e2);
        if (e2 != end + 1 && *e2 == 0 && den != 0) {
            v /= den;
            end = e2;
        }
    }
    if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "%s: %s: '%s' is not a number in [%g, %g]\n", cmd, flag, s, lo, hi);
        return 2;
    }
    *out = v;
    return 0;
}

int args_u64(const char *cmd, const char *flag, const char *s, uint64_t *out) {
    if (!s) return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-') {
        fprintf(stderr, "%s: %s: '%s' is not a non-negative integer\n", cmd, flag, s);
        return 2;
    }
    *out = v;
    return 0;
}
