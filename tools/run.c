/* jatp run MODEL.onnx --input x.npy --output y.npy [--input NAME=FILE ...] [--threads N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/cli.h"
#include "jatp/autodiff.h"
#include "jatp/builder.h"

/* Splits "NAME=FILE"; returns the FILE part and sets *name (NULL for a plain FILE). A '=' inside a
 * path (rare) is taken as NAME=FILE only when NAME is a model input/output name. */
static const char *split_named(const char *arg, char *name, size_t cap, int *named) {
    const char *eq = strchr(arg, '=');
    *named = 0;
    if (!eq || (size_t)(eq - arg) >= cap) return arg;
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = 0;
    *named = 1;
    return eq + 1;
}

static int find_input(const jt_graph *g, const char *name) {
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->values[g->inputs[i]].name, name) == 0) return i;
    return -1;
}

static int find_output(const jt_graph *g, const char *name) {
    for (int i = 0; i < g->n_outputs; i++)
        if (strcmp(g->values[g->outputs[i]].name, name) == 0) return i;
    return -1;
}

/* Converts between float32 and float64 when the model expects the other one. */
static int convert_float(jt_tensor *t, jt_dtype want) {
    if (t->dtype == want) return 0;
    int64_t n = jt_tensor_numel(t);
    if (t->dtype == JT_F64 && want == JT_F32) {
        float *d = malloc((size_t)(n ? n : 1) * sizeof *d);
        if (!d) return -1;
        for (int64_t i = 0; i < n; i++) d[i] = (float)((double *)t->data)[i];
        free(t->data);
        t->data = d;
        t->dtype = JT_F32;
        return 0;
    }
    if (t->dtype == JT_F32 && want == JT_F64) {
        double *d = malloc((size_t)(n ? n : 1) * sizeof *d);
        if (!d) return -1;
        for (int64_t i = 0; i < n; i++) d[i] = ((float *)t->data)[i];
        free(t->data);
        t->data = d;
        t->dtype = JT_F64;
        return 0;
    }
    return 1;
}

/* Output i in host memory (downloaded from a device backend); free(out->data) afterwards. */
static jt_status output_host(jt_ctx *ctx, jt_plan *plan, int i, jt_tensor *out) {
    *out = *jt_plan_output(plan, i);
    out->device = (jt_device){JT_DEV_CPU, 0};
    out->data = malloc(jt_tensor_nbytes(out) + 1);
    if (!out->data) return jt_fail(ctx, JT_ERR_OOM, "out of memory");
    jt_status st = jt_plan_output_download(plan, i, out->data);
    if (st != JT_OK) {
        free(out->data);
        out->data = NULL;
    }
    return st;
}

/* Writes output i as .npy through host memory. */
static jt_status write_output(jt_ctx *ctx, jt_plan *plan, int i, const char *file) {
    jt_tensor t;
    JT_TRY(output_host(ctx, plan, i, &t));
    jt_status st = jt_npy_write(ctx, file, &t);
    free(t.data);
    return st;
}

static void print_output(const char *name, const jt_tensor *t) {
    char dims[256];
    printf("%s: %s %s\n", name, jt_dtype_name(t->dtype), jt_dims_str(t->dims, t->rank, dims, sizeof dims));
    if (t->rank != 2 || !(t->dtype == JT_F32 || t->dtype == JT_F64)) return;
    for (int64_t r = 0; r < t->dims[0]; r++) {
        int64_t best = 0;
        double bv = 0;
        for (int64_t c = 0; c < t->dims[1]; c++) {
            int64_t k = r * t->dims[1] + c;
            double v = t->dtype == JT_F32 ? ((const float *)t->data)[k] : ((const double *)t->data)[k];
            if (c == 0 || v > bv) {
                bv = v;
                best = c;
            }
        }
        printf("  row %lld: top class %lld (score %.4f)\n", (long long)r, (long long)best, bv);
    }
}

int cmd_run(int argc, char **argv) {
    arg_list inputs = {0}, outputs = {0};
    int threads = 0, allow_newer = 0, print = 0, tf32 = 0, deterministic = 0;
    const char *cot_path = NULL, *grad_path = NULL, *device = "cpu";
    const char *pos[1];
    const arg_opt opts[] = {
        {"--input", ARG_LIST, "[NAME=]FILE.npy", "input tensor; by position in the model's input order, or by name", &inputs},
        {"--output", ARG_LIST, "[NAME=]FILE.npy", "where to write an output; by position or by name", &outputs},
        {"--threads", ARG_INT, "N", "worker threads (default: all cores)", &threads},
        {"--allow-newer-opset", ARG_FLAG, NULL, "accept ai.onnx opsets above 18 with a warning", &allow_newer},
        {"--print", ARG_FLAG, NULL, "print each output's shape; for [N,K] scores also the top class per row", &print},
        {"--cotangent", ARG_STR, "c.npy", "cotangent of output 0 (its shape); with --input-grad", &cot_path},
        {"--input-grad", ARG_STR, "g.npy", "write the gradient of sum(output0 * cotangent) w.r.t. input 0", &grad_path},
        {"--device", ARG_STR, "DEV", "cpu (default), cuda or cuda:N", &device},
        {"--tf32", ARG_FLAG, NULL, "CUDA: allow TF32 tensor-core math in convolutions and GEMMs (default off)", &tf32},
        {"--deterministic", ARG_FLAG, NULL, "CUDA: only deterministic algorithms (bitwise-repeatable runs)",
         &deterministic},
    };
    arg_spec spec = {"jatp run", "MODEL.onnx --input x.npy --output y.npy [options]",
                     "Runs MODEL on NumPy .npy inputs (C order; float32 or float64 for float inputs, converted to the "
                     "model's type; int64/int32/uint8/bool where the model expects them) and writes outputs as .npy.",
                     opts, 10, pos, 1, 1, NULL};
    int rc = args_parse(&spec, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    if (!cot_path != !grad_path) {
        fprintf(stderr, "jatp run: --cotangent and --input-grad go together\n");
        return 2;
    }
    if (outputs.n == 0 && !print && !grad_path) {
        fprintf(stderr, "jatp run: give --output FILE.npy (or --print)\n");
        return 2;
    }
    jt_ctx *ctx;
    if (cli_ctx(threads, &ctx)) return 1;
    jt_load_options lo;
    jt_load_options_default(&lo);
    lo.allow_newer_opset = allow_newer;
    jt_graph *g = NULL;
    jt_plan *plan = NULL;
    jt_tensor *xs = NULL;
    jt_tensor cot = {0}; /* declared before the first goto: `done` frees it */
    jt_backend *backend = NULL;
    jt_plan_options po;
    jt_plan_options_default(&po);
    rc = 0;
    if (jt_backend_create(ctx, device, &backend) != JT_OK) {
        rc = jt_ctx_last_status(ctx) == JT_ERR_ARG ? (fprintf(stderr, "jatp run: --device: %s\n", jt_ctx_error(ctx)), 2)
                                                   : cli_error(ctx);
        goto done;
    }
    jt_backend_set_tf32(backend, tf32);
    jt_backend_set_deterministic(backend, deterministic);
    po.backend = backend;
    if (jt_onnx_load(ctx, pos[0], &lo, &g) != JT_OK) {
        rc = cli_error(ctx);
        goto done;
    }
    if (inputs.n != g->n_inputs) {
        fprintf(stderr, "jatp run: %s has %d input%s, %d --input given\n", pos[0], g->n_inputs,
                g->n_inputs == 1 ? "" : "s", inputs.n);
        for (int i = 0; i < g->n_inputs; i++) fprintf(stderr, "  input %d: %s\n", i, g->values[g->inputs[i]].name);
        rc = 2;
        goto done;
    }
    xs = calloc((size_t)g->n_inputs + 1, sizeof *xs);
    for (int k = 0; k < inputs.n; k++) {
        char name[512];
        int named;
        const char *file = split_named(inputs.v[k], name, sizeof name, &named);
        int idx = k;
        if (named) {
            idx = find_input(g, name);
            if (idx < 0) {
                if (strchr(name, '/') || strstr(name, ".npy")) { file = inputs.v[k]; idx = k; }
                else {
                    fprintf(stderr, "jatp run: --input %s: the model has no input named '%s'\n", inputs.v[k], name);
                    rc = 2;
                    goto done;
                }
            }
        }
        if (xs[idx].data) {
            fprintf(stderr, "jatp run: input '%s' given twice\n", g->values[g->inputs[idx]].name);
            rc = 2;
            goto done;
        }
        if (jt_npy_read(ctx, file, &xs[idx]) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
        const jt_value *v = &g->values[g->inputs[idx]];
        int c = convert_float(&xs[idx], v->dtype);
        if (c < 0) {
            fprintf(stderr, "jatp: error: out of memory\n");
            rc = 1;
            goto done;
        }
        if (c > 0) {
            fprintf(stderr, "jatp: error: %s: input '%s' expects %s, the file holds %s\n", file, v->name,
                    jt_dtype_name(v->dtype), jt_dtype_name(xs[idx].dtype));
            rc = 1;
            goto done;
        }
    }
    int32_t grad_value = -1;
    if (grad_path) { /* VJP: append the backward of sum(output0 * c) w.r.t. input 0 */
        if (jt_npy_read(ctx, cot_path, &cot) != JT_OK || (cot.dtype == JT_F64 && convert_float(&cot, JT_F32) != 0) ||
            (cot.dtype != JT_F32 && cot.dtype != JT_F64)) {
            rc = jt_ctx_last_status(ctx) != JT_OK ? cli_error(ctx) : 1;
            if (rc == 1 && jt_ctx_last_status(ctx) == JT_OK)
                fprintf(stderr, "jatp: error: %s: the cotangent must be float32 or float64\n", cot_path);
            goto done;
        }
        jt_dtype want = xs[0].dtype;
        convert_float(&cot, want);
        /* the cotangent must have output 0's shape: learn it from a forward plan first */
        if (jt_plan_create(ctx, g, xs, g->n_inputs, NULL, &plan) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
        const jt_tensor *y0 = jt_plan_output(plan, 0);
        if (!jt_dims_equal(y0->dims, y0->rank, cot.dims, cot.rank)) {
            char a[128], b2[128];
            fprintf(stderr, "jatp: error: %s: cotangent shape %s differs from output '%s' shape %s\n", cot_path,
                    jt_dims_str(cot.dims, cot.rank, a, sizeof a), g->values[g->outputs[0]].name,
                    jt_dims_str(y0->dims, y0->rank, b2, sizeof b2));
            rc = 1;
            goto done;
        }
        jt_plan_free(plan);
        plan = NULL;
        jt_gb b;
        jt_gb_init(&b, ctx, g, g->opset_onnx);
        int32_t seed = jt_gb_const(&b, "jatp/cotangent", cot.dtype, cot.rank, cot.dims, cot.data);
        int32_t loss = g->outputs[0], wrt = g->inputs[0];
        if (jt_gb_status(&b) != JT_OK || jt_build_backward(ctx, g, &loss, &seed, 1, &wrt, 1, &grad_value) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
        jt_gb_output(&b, grad_value);
        if (jt_gb_status(&b) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
    }
    if (jt_plan_create(ctx, g, xs, g->n_inputs, &po, &plan) != JT_OK || jt_plan_run(plan, xs, g->n_inputs) != JT_OK) {
        rc = cli_error(ctx);
        goto done;
    }
    for (int k = 0; k < outputs.n; k++) {
        char name[512];
        int named;
        const char *file = split_named(outputs.v[k], name, sizeof name, &named);
        int idx = k;
        if (named) {
            idx = find_output(g, name);
            if (idx < 0) {
                fprintf(stderr, "jatp run: --output %s: the model has no output named '%s'\n", outputs.v[k], name);
                rc = 2;
                goto done;
            }
        } else if (idx >= g->n_outputs) {
            fprintf(stderr, "jatp run: %d --output given but the model has %d output%s\n", outputs.n, g->n_outputs,
                    g->n_outputs == 1 ? "" : "s");
            rc = 2;
            goto done;
        }
        if (write_output(ctx, plan, idx, file) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
    }
    if (grad_path) {
        if (write_output(ctx, plan, g->n_outputs - 1, grad_path) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
    }
    if (print)
        for (int i = 0; i < g->n_outputs - (grad_path ? 1 : 0); i++)
        {
            jt_tensor t;
            if (output_host(ctx, plan, i, &t) != JT_OK) {
                rc = cli_error(ctx);
                goto done;
            }
            print_output(g->values[g->outputs[i]].name, &t);
            free(t.data);
        }
done:
    free(cot.data);
    if (xs)
        for (int i = 0; i < g->n_inputs; i++) free(xs[i].data);
    free(xs);
    jt_plan_free(plan);
    jt_backend_free(backend);
    jt_graph_free(g);
    jt_ctx_free(ctx);
    return rc;
}
