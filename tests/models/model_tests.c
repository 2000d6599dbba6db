/* PyTorch-export model tests through the C API.
 *
 *   model_tests [--fixtures DIR] [--full DIR] [FILTER]
 *
 * For each DIR/models/<name>/ (written by tests/fixtures/gen_models.py): the model is model.onnx, or
 * the repository-relative path in model_path.txt; every input_<tag>.npy is run and compared with
 * ref_<tag>.npy (float64, computed by torch in float64): relative L2 error <= 1e-5 (per-model override
 * in tolerance.txt: one number). The same loaded graph serves every batch size (dynamic batch), and each
 * plan is run twice to check the result is bitwise identical.
 * --full DIR (or env JATP_FULL_FIXTURES) adds the full-size models written by `gen_models.py --full DIR`;
 * absent, that is one counted skip. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jatp/jatp.h"
#include "jt_test.h"

#ifndef JT_FIXTURES_DIR
#define JT_FIXTURES_DIR "tests/fixtures"
#endif
#define DEFAULT_MAX_REL 1e-5

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(const char *dir, int want_dirs, const char *prefix, const char *suffix,
                    char ***out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t l = strlen(e->d_name);
        if (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        if (suffix && (l < strlen(suffix) || strcmp(e->d_name + l - strlen(suffix), suffix) != 0))
            continue;
        char path[4096];
        jt_test_fmt(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || (want_dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = realloc(v, (size_t)cap * sizeof *v);
        }
        v[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* First line of a small text file, trimmed; 0 when absent. */
static int read_line(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    if (!fgets(buf, (int)cap, f)) buf[0] = '\0';
    fclose(f);
    size_t l = strlen(buf);
    while (l && (buf[l - 1] == '\n' || buf[l - 1] == '\r' || buf[l - 1] == ' ')) buf[--l] = '\0';
    return 1;
}

static void run_model(jt_ctx *ctx, const char *root, const char *dir, const char *name)
{
    char model[4096], line[2048], path[8192];
    jt_test_fmt(path, sizeof path, "%s/model_path.txt", dir);
    if (read_line(path, line, sizeof line))
        jt_test_fmt(model, sizeof model, "%s/%s", root, line);
    else
        jt_test_fmt(model, sizeof model, "%s/model.onnx", dir);
    double max_rel = DEFAULT_MAX_REL;
    jt_test_fmt(path, sizeof path, "%s/tolerance.txt", dir);
    if (read_line(path, line, sizeof line)) max_rel = atof(line);

    char **inputs;
    int n_inputs = list_dir(dir, 0, "input_", ".npy", &inputs);
    if (n_inputs <= 0) {
        jt_test_fail(name, "no input_*.npy in %s", dir);
        if (n_inputs == 0) free(inputs);
        return;
    }
    jt_graph *g = NULL;
    if (jt_onnx_load(ctx, model, NULL, &g) != JT_OK) {
        jt_test_fail(name, "load %s: %s", model, jt_ctx_error(ctx));
        free_list(inputs, n_inputs);
        return;
    }
    for (int k = 0; k < n_inputs; k++) {
        const char *tag = inputs[k] + strlen("input_");
        char case_name[512];
        jt_test_fmt(case_name, sizeof case_name, "%s/%.*s", name, (int)(strlen(tag) - 4), tag);
        jt_tensor in = {0}, ref = {0};
        jt_plan *plan = NULL;
        jt_test_fmt(path, sizeof path, "%s/%s", dir, inputs[k]);
        if (jt_npy_read(ctx, path, &in) != JT_OK) {
            jt_test_fail(case_name, "%s", jt_ctx_error(ctx));
            goto next;
        }
        jt_test_fmt(path, sizeof path, "%s/ref_%s", dir, tag);
        if (jt_npy_read(ctx, path, &ref) != JT_OK) {
            jt_test_fail(case_name, "%s", jt_ctx_error(ctx));
            goto next;
        }
        if (g->n_inputs != 1) {
            jt_test_fail(case_name, "model has %d inputs, fixtures provide 1", g->n_inputs);
            goto next;
        }
        if (jt_plan_create(ctx, g, &in, 1, NULL, &plan) != JT_OK) {
            jt_test_fail(case_name, "plan: %s", jt_ctx_error(ctx));
            goto next;
        }
        if (jt_plan_run(plan, &in, 1) != JT_OK) {
            jt_test_fail(case_name, "run: %s", jt_ctx_error(ctx));
            goto next;
        }
        if (jt_plan_n_outputs(plan) != 1) {
            jt_test_fail(case_name, "plan has %d outputs, expected 1", jt_plan_n_outputs(plan));
            goto next;
        }
        {
            const jt_tensor *out = jt_plan_output(plan, 0);
            char why[2048];
            double rel = 0;
            if (!jt_test_compare_relnorm(out, &ref, max_rel, JT_CMP_REF_F64_OK, &rel, why, sizeof why)) {
                jt_test_fail(case_name, "vs torch float64: %s", why);
                goto next;
            }
            /* A second run of the same plan must give bitwise the same output. */
            size_t nbytes = jt_tensor_nbytes(out);
            void *first = malloc(nbytes ? nbytes : 1);
            memcpy(first, out->data, nbytes);
            if (jt_plan_run(plan, &in, 1) != JT_OK) {
                jt_test_fail(case_name, "second run: %s", jt_ctx_error(ctx));
                free(first);
                goto next;
            }
            out = jt_plan_output(plan, 0);
            int same = memcmp(first, out->data, nbytes) == 0;
            free(first);
            if (!same)
                jt_test_fail(case_name, "second run of the same plan differs bitwise from the first");
            else {
                jt_test_ok(case_name);
                printf("    rel L2 error vs torch float64: %.3g (limit %.0e)\n", rel, max_rel);
            }
        }
    next:
        jt_plan_free(plan);
        free(in.data);
        free(ref.data);
    }
    jt_graph_free(g);
    free_list(inputs, n_inputs);
}

static int matches(const char *filter, const char *name) { return !filter || strstr(name, filter); }

static void run_dir(jt_ctx *ctx, const char *root, const char *models_dir, const char *prefix,
                    const char *filter)
{
    char **names;
    int n = list_dir(models_dir, 1, NULL, NULL, &names);
    if (n < 0) {
        jt_test_fail(prefix, "cannot open %s: %s", models_dir, strerror(errno));
        return;
    }
    if (n == 0) jt_test_fail(prefix, "no fixtures in %s", models_dir);
    for (int i = 0; i < n; i++) {
        char name[512], dir[8192];
        jt_test_fmt(name, sizeof name, "%s%s", prefix, names[i]);
        if (!matches(filter, name)) continue;
        jt_test_fmt(dir, sizeof dir, "%s/%s", models_dir, names[i]);
        run_model(ctx, root, dir, name);
    }
    free_list(names, n);
}

int main(int argc, char **argv)
{
    const char *fixtures = JT_FIXTURES_DIR, *full = getenv("JATP_FULL_FIXTURES"), *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fixtures") == 0 && i + 1 < argc) fixtures = argv[++i];
        else if (strcmp(argv[i], "--full") == 0 && i + 1 < argc) full = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: model_tests [--fixtures DIR] [--full DIR] [FILTER]\n");
            return 2;
        } else filter = argv[i];
    }
    jt_ctx *ctx = NULL;
    if (jt_ctx_create(0, &ctx) != JT_OK) {
        jt_test_fail("model_tests", "jt_ctx_create failed");
        return jt_test_finish();
    }
    char root[4096], models_dir[4096];
    jt_test_fmt(root, sizeof root, "%s/../..", fixtures);
    jt_test_fmt(models_dir, sizeof models_dir, "%s/models", fixtures);
    run_dir(ctx, root, models_dir, "", filter);
    if (full && *full) {
        run_dir(ctx, root, full, "full/", filter);
    } else if (matches(filter, "full/")) {
        jt_test_skip("full/resnet18",
                     "full-size models not generated (tests/fixtures/gen_models.py --full DIR, then "
                     "JATP_FULL_FIXTURES=DIR)");
    }
    jt_ctx_free(ctx);
    return jt_test_finish();
}
