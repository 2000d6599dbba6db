/* ONNX backend node tests (Debian's libonnx-testdata) through the public C API.
 *
 *   onnx_node [--list-dir DIR] [--data DIR] [--probe] [--no-fork] [--listed-only] [--timeout S]
 *             [--threads N] [-v] [FILTER]
 *
 * A test is DATA/<name>/model.onnx + test_data_set_<k>/{input,output}_<i>.pb, bound by position; every
 * data set and every output is compared (floats: |got - ref| <= atol + rtol*|ref|, default rtol 1e-3
 * atol 1e-7; integers and bool exactly). Which tests run is decided by the lists under LIST-DIR:
 *   allow/<family>.txt   `test_name [rtol=X] [atol=Y]`   must pass
 *   xfail/<family>.txt   `test_name  reason`             must fail (a pass is an XPASS = failure)
 * Everything else is a counted skip, summarised by the ops it uses. --probe also runs the unlisted tests
 * and says which would pass (still counted as skips): the way to grow the allow lists.
 *
 * Each test runs in a forked child so that a crash or a hang fails that test only (--no-fork for gdb).
 * DATA defaults to /usr/share/libonnx-testdata/data/node (env JATP_ONNX_TESTDATA overrides; it may
 * name either the node/ directory or its parent). A missing directory makes every listed test a skip,
 * or a failure when JATP_REQUIRE_ONNX_TESTDATA=1. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jatp/jatp.h"
#include "jt_test.h"
#include "op.h"

#ifndef JT_ONNX_NODE_LISTS
#define JT_ONNX_NODE_LISTS "tests/onnx_node"
#endif
#define DEFAULT_DATA "/usr/share/libonnx-testdata/data/node"
#define DEFAULT_RTOL 1e-3
#define DEFAULT_ATOL 1e-7
#define MSG_CAP 16384
#define MAX_IO 64

enum { LIST_ALLOW = 1, LIST_XFAIL = 2 };

typedef struct entry {
    char *name;
    int kind;
    double rtol, atol;
    char *reason;
    char *where; /* "allow/conv.txt:12" */
    int found;   /* the data directory has this test */
} entry;

typedef struct opts {
    const char *list_dir;
    const char *data_dir;
    const char *filter;
    int verbose, probe, no_fork, timeout_s, threads, listed_only;
} opts;

static entry *entries;
static int n_entries, cap_entries;

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) {
        fprintf(stderr, "onnx_node: out of memory\n");
        exit(3);
    }
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int matches(const opts *o, const char *name) { return !o->filter || strstr(name, o->filter); }

static entry *find_entry(const char *name)
{
    for (int i = 0; i < n_entries; i++)
        if (strcmp(entries[i].name, name) == 0) return &entries[i];
    return NULL;
}

/* Sorted names of the regular files in dir ending in suffix (or subdirectories when dirs). */
static int list_names(const char *dir, const char *suffix, int dirs, char ***out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t l = strlen(e->d_name), ls = suffix ? strlen(suffix) : 0;
        if (suffix && (l < ls || strcmp(e->d_name + l - ls, suffix) != 0)) continue;
        char path[4096];
        jt_test_fmt(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            v = realloc(v, (size_t)cap * sizeof *v);
            if (!v) exit(3);
        }
        v[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Reads one list file; malformed lines and duplicates are reported as failures. */
static void read_list(const char *path, const char *shown, int kind)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        jt_test_fail(shown, "cannot open list: %s", strerror(errno));
        return;
    }
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char where[600];
        jt_test_fmt(where, sizeof where, "%s:%d", shown, lineno);
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' ' ||
                     line[l - 1] == '\t'))
            line[--l] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) continue;
        char *name = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (*p) *p++ = '\0';
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(name, "test_", 5) != 0) {
            jt_test_fail(where, "list entry '%s' does not name a test (expected test_...)", name);
            continue;
        }
        entry e = {0};
        e.kind = kind;
        e.rtol = DEFAULT_RTOL;
        e.atol = DEFAULT_ATOL;
        int bad = 0;
        if (kind == LIST_ALLOW) {
            while (*p && !bad) {
                char *tok = p;
                while (*p && *p != ' ' && *p != '\t') p++;
                if (*p) *p++ = '\0';
                while (*p == ' ' || *p == '\t') p++;
                char *end = NULL;
                if (strncmp(tok, "rtol=", 5) == 0) {
                    e.rtol = strtod(tok + 5, &end);
                } else if (strncmp(tok, "atol=", 5) == 0) {
                    e.atol = strtod(tok + 5, &end);
                } else {
                    jt_test_fail(where, "unknown token '%s' (allow lines are: test_name [rtol=X] [atol=Y])",
                                 tok);
                    bad = 1;
                    break;
                }
                if (!end || *end || end == tok + 5 || e.rtol < 0 || e.atol < 0) {
                    jt_test_fail(where, "bad tolerance '%s'", tok);
                    bad = 1;
                }
            }
        } else {
            if (!*p) {
                jt_test_fail(where, "xfail entry '%s' has no reason (xfail lines are: test_name reason)",
                             name);
                bad = 1;
            }
            e.reason = xstrdup(p);
        }
        entry *dup = find_entry(name);
        if (!bad && dup) {
            jt_test_fail(where, "'%s' is already listed at %s", name, dup->where);
            bad = 1;
        }
        if (bad) {
            free(e.reason);
            continue;
        }
        e.name = xstrdup(name);
        e.where = xstrdup(where);
        if (n_entries == cap_entries) {
            cap_entries = cap_entries ? 2 * cap_entries : 256;
            entries = realloc(entries, (size_t)cap_entries * sizeof *entries);
            if (!entries) exit(3);
        }
        entries[n_entries++] = e;
    }
    fclose(f);
}

static void read_lists(const char *list_dir)
{
    static const struct { const char *sub; int kind; } subs[] = {{"allow", LIST_ALLOW},
                                                                {"xfail", LIST_XFAIL}};
    for (int s = 0; s < 2; s++) {
        char dir[4096];
        jt_test_fmt(dir, sizeof dir, "%s/%s", list_dir, subs[s].sub);
        char **files;
        int n = list_names(dir, ".txt", 0, &files);
        for (int i = 0; i < n; i++) {
            char path[8192], shown[512];
            jt_test_fmt(path, sizeof path, "%s/%s", dir, files[i]);
            jt_test_fmt(shown, sizeof shown, "%s/%s", subs[s].sub, files[i]);
            read_list(path, shown, subs[s].kind);
        }
        free_names(files, n > 0 ? n : 0);
    }
}

/* ---- running one test (in the child) ---- */

static void free_tensors(jt_tensor *t, int n)
{
    for (int i = 0; i < n; i++) {
        free(t[i].data);
        t[i].data = NULL;
    }
}

/* Reads prefix_0.pb, prefix_1.pb, ... until one is missing. Returns the count or -1. */
static int read_pbs(jt_ctx *ctx, const char *set_dir, const char *prefix, jt_tensor *t, char *why,
                    size_t cap)
{
    int n = 0;
    for (;;) {
        char path[8192];
        jt_test_fmt(path, sizeof path, "%s/%s_%d.pb", set_dir, prefix, n);
        if (access(path, F_OK) != 0) break;
        if (n == MAX_IO) {
            jt_test_fmt(why, cap, "%s: more than %d %s files", set_dir, MAX_IO, prefix);
            free_tensors(t, n);
            return -1;
        }
        memset(&t[n], 0, sizeof t[n]);
        if (jt_onnx_read_tensor_file(ctx, path, &t[n]) != JT_OK) {
            jt_test_fmt(why, cap, "reading %s: %s", path, jt_ctx_error(ctx));
            free_tensors(t, n);
            return -1;
        }
        n++;
    }
    return n;
}

/* Returns 1 on pass, 0 on failure (why filled). */
static int run_test(const opts *o, const char *test_dir, double rtol, double atol, char *why,
                    size_t cap)
{
    why[0] = '\0';
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(o->threads, &ctx) != JT_OK) {
        jt_test_fmt(why, cap, "jt_ctx_create failed");
        return 0;
    }
    int pass = 0;
    jt_graph *g = NULL;
    char model[8192];
    jt_test_fmt(model, sizeof model, "%s/model.onnx", test_dir);
    char **sets = NULL;
    int n_sets = 0;
    if (jt_onnx_load(ctx, model, NULL, &g) != JT_OK) {
        jt_test_fmt(why, cap, "load: %s", jt_ctx_error(ctx));
        goto done;
    }
    n_sets = list_names(test_dir, NULL, 1, &sets);
    int n_data = 0;
    for (int s = 0; s < n_sets; s++) {
        if (strncmp(sets[s], "test_data_set_", 14) != 0) continue;
        n_data++;
        char set_dir[8192];
        jt_test_fmt(set_dir, sizeof set_dir, "%s/%s", test_dir, sets[s]);
        jt_tensor in[MAX_IO], ref[MAX_IO];
        int n_in = read_pbs(ctx, set_dir, "input", in, why, cap);
        if (n_in < 0) goto done;
        int n_ref = read_pbs(ctx, set_dir, "output", ref, why, cap);
        if (n_ref < 0) {
            free_tensors(in, n_in);
            goto done;
        }
        jt_plan *plan = NULL;
        int ok = 1;
        if (n_in != g->n_inputs) {
            jt_test_fmt(why, cap, "%s: %d input files but the graph has %d inputs", sets[s], n_in,
                     g->n_inputs);
            ok = 0;
        } else if (jt_plan_create(ctx, g, in, n_in, NULL, &plan) != JT_OK) {
            jt_test_fmt(why, cap, "%s: plan: %s", sets[s], jt_ctx_error(ctx));
            ok = 0;
        } else if (jt_plan_run(plan, in, n_in) != JT_OK) {
            jt_test_fmt(why, cap, "%s: run: %s", sets[s], jt_ctx_error(ctx));
            ok = 0;
        } else if (jt_plan_n_outputs(plan) != n_ref) {
            jt_test_fmt(why, cap, "%s: plan has %d outputs, the data set %d", sets[s],
                     jt_plan_n_outputs(plan), n_ref);
            ok = 0;
        } else {
            for (int i = 0; i < n_ref && ok; i++) {
                char w[4096];
                const jt_tensor *got = jt_plan_output(plan, i);
                if (!jt_test_compare(got, &ref[i], rtol, atol, 0, w, sizeof w)) {
                    const char *oname = "?";
                    if (i < g->n_outputs) oname = g->values[g->outputs[i]].name;
                    jt_test_fmt(why, cap, "%s: output %d '%s': %s", sets[s], i, oname, w);
                    ok = 0;
                }
            }
        }
        jt_plan_free(plan);
        free_tensors(in, n_in);
        free_tensors(ref, n_ref);
        if (!ok) goto done;
    }
    if (n_data == 0) {
        jt_test_fmt(why, cap, "no test_data_set_* directory in %s", test_dir);
        goto done;
    }
    pass = 1;
done:
    if (sets) free_names(sets, n_sets);
    jt_graph_free(g);
    jt_ctx_free(ctx);
    return pass;
}

/* Writes the op types of a model, one line each: "Op<TAB>status" (status: ok | unsupported), or
 * "!load<TAB>message" when it does not load. */
static void describe_model(const opts *o, const char *test_dir, char *out, size_t cap)
{
    out[0] = '\0';
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(1, &ctx) != JT_OK) return;
    jt_load_options lo;
    jt_load_options_default(&lo);
    lo.check_support = 0;
    lo.allow_newer_opset = 1;
    char model[8192];
    jt_test_fmt(model, sizeof model, "%s/model.onnx", test_dir);
    jt_graph *g = NULL;
    size_t n = 0;
    if (jt_onnx_load(ctx, model, &lo, &g) != JT_OK) {
        jt_test_fmt(out, cap, "!load\t%s\n", jt_ctx_error(ctx));
    } else {
        for (int i = 0; i < g->n_nodes && n + 200 < cap; i++) {
            const jt_node *nd = &g->nodes[i];
            int sup = nd->op && nd->op->impl;
            char line[256];
            jt_test_fmt(line, sizeof line, "%s%s%s\t%s\n", nd->domain && *nd->domain ? nd->domain : "",
                     nd->domain && *nd->domain ? "." : "", nd->op_type, sup ? "ok" : "unsupported");
            if (strstr(out, line)) continue;
            n += (size_t)jt_test_fmt(out + n, cap - n, "%s", line);
        }
    }
    (void)o;
    jt_graph_free(g);
    jt_ctx_free(ctx);
}

/* ---- fork wrapper ---- */

typedef enum { JOB_RUN, JOB_DESCRIBE } job_kind;

/* Runs a job in a child (unless no_fork). Returns 1 pass / 0 fail for JOB_RUN; msg receives the
 * failure text or the description. */
static int run_job(const opts *o, job_kind kind, const char *test_dir, double rtol, double atol,
                   char *msg, size_t cap)
{
    msg[0] = '\0';
    if (o->no_fork) {
        if (kind == JOB_DESCRIBE) {
            describe_model(o, test_dir, msg, cap);
            return 1;
        }
        return run_test(o, test_dir, rtol, atol, msg, cap);
    }
    int fds[2];
    if (pipe(fds) != 0) {
        jt_test_fmt(msg, cap, "pipe: %s", strerror(errno));
        return 0;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        jt_test_fmt(msg, cap, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (pid == 0) {
        close(fds[0]);
        alarm((unsigned)o->timeout_s);
        static char buf[MSG_CAP];
        int pass = 1;
        if (kind == JOB_DESCRIBE)
            describe_model(o, test_dir, buf, sizeof buf);
        else
            pass = run_test(o, test_dir, rtol, atol, buf, sizeof buf);
        size_t len = strlen(buf), off = 0;
        while (off < len) {
            ssize_t w = write(fds[1], buf + off, len - off);
            if (w <= 0) break;
            off += (size_t)w;
        }
        close(fds[1]);
        _exit(pass ? 0 : 1);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        char tmp[4096];
        ssize_t r = read(fds[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        size_t take = (size_t)r;
        if (len + take >= cap) take = cap - 1 - len;
        memcpy(msg + len, tmp, take);
        len += take;
    }
    msg[len] = '\0';
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGALRM)
            jt_test_fmt(msg, cap, "timed out after %d s", o->timeout_s);
        else
            jt_test_fmt(msg, cap, "crashed: signal %d (%s)", sig, strsignal(sig));
        return 0;
    }
    if (!WIFEXITED(status)) {
        jt_test_fmt(msg, cap, "child ended abnormally (status 0x%x)", status);
        return 0;
    }
    if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1) {
        {
            char child_msg[512];
            jt_test_fmt(child_msg, sizeof child_msg, "%s", msg);
            jt_test_fmt(msg, cap, "child exited with status %d: %s", WEXITSTATUS(status), child_msg);
        }
        return 0;
    }
    return WEXITSTATUS(status) == 0;
}

/* ---- skipped-test summary ---- */

typedef struct op_count {
    char name[128];
    int tests;
    int unsupported;
} op_count;

static op_count *ops_seen;
static int n_ops_seen, cap_ops_seen;

static void count_op(const char *name, int unsupported)
{
    for (int i = 0; i < n_ops_seen; i++)
        if (strcmp(ops_seen[i].name, name) == 0) {
            ops_seen[i].tests++;
            ops_seen[i].unsupported |= unsupported;
            return;
        }
    if (n_ops_seen == cap_ops_seen) {
        cap_ops_seen = cap_ops_seen ? 2 * cap_ops_seen : 128;
        ops_seen = realloc(ops_seen, (size_t)cap_ops_seen * sizeof *ops_seen);
        if (!ops_seen) exit(3);
    }
    op_count *c = &ops_seen[n_ops_seen++];
    jt_test_fmt(c->name, sizeof c->name, "%s", name);
    c->tests = 1;
    c->unsupported = unsupported;
}

static int cmp_op_count(const void *a, const void *b)
{
    const op_count *x = a, *y = b;
    if (x->unsupported != y->unsupported) return y->unsupported - x->unsupported;
    if (x->tests != y->tests) return y->tests - x->tests;
    return strcmp(x->name, y->name);
}

/* Attributes a skipped test to the op types it uses that are unsupported; a test whose ops are all
 * registered counts under each of its ops as a candidate for the allow lists. */
static void summarise_skipped(const char *desc, int *n_all_supported, int *n_load_fail)
{
    if (strncmp(desc, "!load", 5) == 0 || !*desc) {
        (*n_load_fail)++;
        return;
    }
    int any_unsup = strstr(desc, "\tunsupported\n") != NULL;
    if (!any_unsup) (*n_all_supported)++;
    char *copy = xstrdup(desc);
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = '\0';
        int unsup = strcmp(tab + 1, "unsupported") == 0;
        if (any_unsup && !unsup) continue;
        count_op(line, unsup);
    }
    free(copy);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: onnx_node [--list-dir DIR] [--data DIR] [--probe] [--no-fork] [--listed-only]\n"
            "                 [--timeout S] [--threads N] [-v] [FILTER]\n"
            "  --list-dir DIR  directory holding allow/*.txt and xfail/*.txt (default %s)\n"
            "  --data DIR      ONNX node test directory (default $JATP_ONNX_TESTDATA or %s)\n"
            "  --probe         also run unlisted tests and report which would pass (still skips)\n"
            "  --no-fork       run tests in this process (debugging; a crash ends the run)\n"
            "  --listed-only   run the listed tests only; unlisted ones are neither run nor counted\n"
            "  --timeout S     per-test time limit in seconds (default 120)\n"
            "  --threads N     threads per context (default 2)\n"
            "  -v              print a line for every unlisted test\n"
            "  FILTER          only tests whose name contains this substring\n",
            JT_ONNX_NODE_LISTS, DEFAULT_DATA);
}

static const char *resolve_data_dir(const char *arg, char *buf, size_t cap)
{
    const char *d = arg ? arg : getenv("JATP_ONNX_TESTDATA");
    if (!d || !*d) return DEFAULT_DATA;
    /* Accept the node/ directory itself or a parent holding node/. */
    jt_test_fmt(buf, cap, "%s/node", d);
    struct stat st;
    if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) return buf;
    return d;
}

int main(int argc, char **argv)
{
    opts o = {0};
    o.list_dir = JT_ONNX_NODE_LISTS;
    o.timeout_s = 120;
    o.threads = 2;
    const char *data_arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-v") == 0) {
            o.verbose = 1;
        } else if (strcmp(a, "--probe") == 0) {
            o.probe = 1;
        } else if (strcmp(a, "--no-fork") == 0) {
            o.no_fork = 1;
        } else if (strcmp(a, "--listed-only") == 0) {
            o.listed_only = 1;
        } else if ((strcmp(a, "--list-dir") == 0 || strcmp(a, "--data") == 0 ||
                    strcmp(a, "--timeout") == 0 || strcmp(a, "--threads") == 0) && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(a, "--list-dir") == 0) o.list_dir = v;
            else if (strcmp(a, "--data") == 0) data_arg = v;
            else if (strcmp(a, "--timeout") == 0) o.timeout_s = atoi(v);
            else o.threads = atoi(v);
            if ((strcmp(a, "--timeout") == 0 && o.timeout_s <= 0)) {
                fprintf(stderr, "onnx_node: bad --timeout '%s'\n", v);
                return 2;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "onnx_node: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!o.filter) {
            o.filter = a;
        } else {
            fprintf(stderr, "onnx_node: more than one filter ('%s', '%s')\n", o.filter, a);
            return 2;
        }
    }
    char data_buf[4096];
    o.data_dir = resolve_data_dir(data_arg, data_buf, sizeof data_buf);
    int require = getenv("JATP_REQUIRE_ONNX_TESTDATA") &&
                  strcmp(getenv("JATP_REQUIRE_ONNX_TESTDATA"), "1") == 0;

    struct stat st;
    if (stat(o.list_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        jt_test_fail("onnx_node", "list directory %s not found (pass --list-dir)", o.list_dir);
        return jt_test_finish();
    }
    read_lists(o.list_dir);
    printf("# onnx_node: data %s, lists %s, %d listed tests\n", o.data_dir, o.list_dir, n_entries);

    char **tests = NULL;
    int n_tests = list_names(o.data_dir, NULL, 1, &tests);
    if (n_tests < 0) {
        char reason[4600];
        jt_test_fmt(reason, sizeof reason,
                 "ONNX test data not found at %s (install libonnx-testdata or set JATP_ONNX_TESTDATA)",
                 o.data_dir);
        int n = 0;
        for (int i = 0; i < n_entries; i++) {
            if (!matches(&o, entries[i].name)) continue;
            n++;
            if (require) jt_test_fail(entries[i].name, "%s; JATP_REQUIRE_ONNX_TESTDATA=1", reason);
            else jt_test_skip(entries[i].name, "%s", reason);
        }
        if (n == 0) {
            if (require) jt_test_fail("onnx_node", "%s; JATP_REQUIRE_ONNX_TESTDATA=1", reason);
            else jt_test_skip("onnx_node", "%s", reason);
        }
        return jt_test_finish();
    }

    static char msg[MSG_CAP];
    int n_unlisted = 0, n_all_supported = 0, n_load_fail = 0, n_would_pass = 0;
    char **would_pass = calloc((size_t)n_tests + 1, sizeof *would_pass);
    for (int t = 0; t < n_tests; t++) {
        const char *name = tests[t];
        if (strncmp(name, "test_", 5) != 0 || !matches(&o, name)) continue;
        char dir[8192];
        jt_test_fmt(dir, sizeof dir, "%s/%s", o.data_dir, name);
        entry *e = find_entry(name);
        if (e) {
            e->found = 1;
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            int pass = run_job(&o, JOB_RUN, dir, e->rtol, e->atol, msg, sizeof msg);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
            if (e->kind == LIST_ALLOW) {
                if (pass) jt_test_ok(name);
                else jt_test_fail(name, "%s", msg);
            } else {
                if (pass)
                    jt_test_fail(name, "XPASS: listed as expected failure at %s (%s) but passes; move "
                                 "it to an allow list", e->where, e->reason);
                else {
                    for (char *c = msg; *c; c++)
                        if (*c == '\n') *c = ' ';
                    jt_test_skip(name, "xfail: %s [fails as expected: %.200s]", e->reason, msg);
                }
            }
            if (o.verbose) jt_test_note("%.3f s", secs);
            continue;
        }
        if (o.listed_only) continue;
        n_unlisted++;
        char desc[MSG_CAP];
        run_job(&o, JOB_DESCRIBE, dir, 0, 0, desc, sizeof desc);
        summarise_skipped(desc, &n_all_supported, &n_load_fail);
        if (o.probe && !strstr(desc, "\tunsupported\n") && strncmp(desc, "!load", 5) != 0) {
            int pass = run_job(&o, JOB_RUN, dir, DEFAULT_RTOL, DEFAULT_ATOL, msg, sizeof msg);
            if (pass) {
                would_pass[n_would_pass++] = xstrdup(name);
                jt_test_skip(name, "unlisted (probe: would pass)");
            } else {
                jt_test_skip(name, "unlisted (probe: fails: %.300s)", msg);
            }
        } else if (o.verbose) {
            jt_test_skip(name, "not in an allow or xfail list");
        } else {
            jt_test_add_counts(0, 0, 1);
        }
    }
    for (int i = 0; i < n_entries; i++)
        if (!entries[i].found && matches(&o, entries[i].name))
            jt_test_fail(entries[i].name, "listed at %s but %s/%s does not exist", entries[i].where,
                         o.data_dir, entries[i].name);

    if (n_unlisted) {
        qsort(ops_seen, (size_t)n_ops_seen, sizeof *ops_seen, cmp_op_count);
        printf("# %d unlisted tests skipped (-v lists them, --probe runs them). By op:\n", n_unlisted);
        printf("#   unsupported ops (tests using them):\n#    ");
        int col = 0, any = 0;
        for (int i = 0; i < n_ops_seen; i++) {
            if (!ops_seen[i].unsupported) continue;
            any = 1;
            col += printf(" %s %d", ops_seen[i].name, ops_seen[i].tests);
            if (col > 90) {
                printf("\n#    ");
                col = 0;
            }
        }
        printf("%s\n", any ? "" : " (none)");
        printf("#   %d unlisted tests use only registered ops; by op:\n#    ", n_all_supported);
        col = 0;
        any = 0;
        for (int i = 0; i < n_ops_seen; i++) {
            if (ops_seen[i].unsupported) continue;
            any = 1;
            col += printf(" %s %d", ops_seen[i].name, ops_seen[i].tests);
            if (col > 90) {
                printf("\n#    ");
                col = 0;
            }
        }
        printf("%s\n", any ? "" : " (none)");
        if (n_load_fail) printf("#   %d unlisted models do not load even with check_support=0\n", n_load_fail);
        if (o.probe) {
            printf("# probe: %d unlisted tests would pass with default tolerances:\n", n_would_pass);
            for (int i = 0; i < n_would_pass; i++) printf("#   %s\n", would_pass[i]);
        }
    }
    for (int i = 0; i < n_would_pass; i++) free(would_pass[i]);
    free(would_pass);
    free_names(tests, n_tests);
    for (int i = 0; i < n_entries; i++) {
        free(entries[i].name);
        free(entries[i].reason);
        free(entries[i].where);
    }
    free(entries);
    free(ops_seen);
    return jt_test_finish();
}
