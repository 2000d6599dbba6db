/* jatp inspect MODEL.onnx [--json] [--batch N]: opset, inputs and outputs with shapes, op histogram,
 * parameters, unsupported ops, memory plan. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/cli.h"
#include "op.h"

typedef struct {
    const char *op_type, *domain;
    int count, supported;
} hist_row;

static void dims_text(const jt_value *v, const int64_t *dims, int rank, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < rank && k < cap; d++) {
        if (dims[d] >= 0) k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? "," : "", (long long)dims[d]);
        else k += (size_t)snprintf(buf + k, cap - k, "%s%s", d ? "," : "", v && v->dim_params[d] ? v->dim_params[d] : "?");
    }
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static cJSON *json_dims(const jt_value *v, const int64_t *dims, int rank) {
    cJSON *a = cJSON_CreateArray();
    for (int d = 0; d < rank; d++) {
        if (dims[d] >= 0) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)dims[d]));
        else cJSON_AddItemToArray(a, cJSON_CreateString(v && v->dim_params[d] ? v->dim_params[d] : "?"));
    }
    return a;
}

static int print_ops(int json) {
    int n;
    const jt_op *t = jt_op_table(&n);
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (!json) printf("%-12s %-28s %-6s %s\n", "domain", "operator", "since", "status");
    for (int i = 0; i < n; i++) {
        const char *dom = t[i].domain[0] ? t[i].domain : "ai.onnx";
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "domain", dom);
            cJSON_AddStringToObject(o, "op", t[i].name);
            cJSON_AddNumberToObject(o, "since", t[i].since);
            cJSON_AddBoolToObject(o, "supported", t[i].impl != NULL);
            if (!t[i].impl) cJSON_AddStringToObject(o, "reason", t[i].unsupported_reason);
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("%-12s %-28s %-6d %s\n", dom, t[i].name, t[i].since, t[i].impl ? "supported" : t[i].unsupported_reason);
        }
    }
    if (json) {
        char *s = cJSON_Print(arr);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(arr);
    }
    return 0;
}

int cmd_inspect(int argc, char **argv) {
    int json = 0, batch = 1, threads = 1, list_ops = 0, list_values = 0;
    const char *pos[1] = {NULL};
    const arg_opt opts[] = {
        {"--json", ARG_FLAG, NULL, "print JSON instead of a table", &json},
        {"--batch", ARG_INT, "N", "batch size used for symbolic dimensions when planning (default 1)", &batch},
        {"--threads", ARG_INT, "N", "threads used while planning (default 1)", &threads},
        {"--ops", ARG_FLAG, NULL, "list the supported operators and versions (no model needed)", &list_ops},
        {"--values", ARG_FLAG, NULL, "list every node with its output values and shapes (tap names)", &list_values},
    };
    arg_spec spec = {"jatp inspect", "MODEL.onnx [--json] [--batch N]",
                     "Shows a model's opset, inputs and outputs with shapes, operator histogram (with support "
                     "status), parameter count and bytes, and the memory plan at the given batch size.",
                     opts, 5, pos, 0, 1, NULL};
    int rc = args_parse(&spec, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    if (list_ops) return print_ops(json);
    if (!pos[0]) {
        fprintf(stderr, "jatp inspect: missing MODEL.onnx (see jatp inspect --help)\n");
        return 2;
    }
    if (batch < 1) {
        fprintf(stderr, "jatp inspect: --batch must be at least 1\n");
        return 2;
    }
    jt_ctx *ctx;
    if (cli_ctx(threads, &ctx)) return 1;
    jt_load_options lo;
    jt_load_options_default(&lo);
    lo.check_support = 0;
    lo.allow_newer_opset = 1;
    jt_graph *g;
    if (jt_onnx_load(ctx, pos[0], &lo, &g) != JT_OK) {
        rc = cli_error(ctx);
        jt_ctx_free(ctx);
        return rc;
    }
    /* op histogram */
    hist_row *rows = calloc((size_t)g->n_nodes + 1, sizeof *rows);
    int nrows = 0, n_unsupported = 0;
    for (int32_t k = 0; k < g->n_nodes; k++) {
        const jt_node *n = &g->nodes[k];
        int r = -1;
        for (int i = 0; i < nrows; i++)
            if (strcmp(rows[i].op_type, n->op_type) == 0 && strcmp(rows[i].domain, n->domain) == 0) r = i;
        if (r < 0) {
            r = nrows++;
            rows[r] = (hist_row){n->op_type, n->domain, 0, n->op != NULL};
        }
        rows[r].count++;
        if (!n->op) n_unsupported++;
    }
    int64_t pcount, pbytes;
    jt_graph_param_stats(g, &pcount, &pbytes);
    /* plan at the batch size, for output shapes and memory */
    jt_plan *plan = NULL;
    jt_plan_stats ps = {0};
    const char *plan_error = NULL;
    char *plan_err_copy = NULL;
    if (n_unsupported == 0) {
        jt_tensor *shapes = calloc((size_t)g->n_inputs + 1, sizeof *shapes);
        cli_default_shapes(ctx, g, batch, shapes);
        if (jt_plan_create(ctx, g, shapes, g->n_inputs, NULL, &plan) == JT_OK) jt_plan_get_stats(plan, &ps);
        else plan_error = plan_err_copy = strdup(jt_ctx_error(ctx));
        free(shapes);
    } else {
        plan_error = "the model has unsupported operators";
    }
    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "schema", "jatp.inspect/1");
        cJSON_AddStringToObject(root, "file", pos[0]);
        cJSON_AddNumberToObject(root, "ir_version", (double)g->ir_version);
        cJSON_AddNumberToObject(root, "opset", g->opset_onnx);
        cJSON_AddStringToObject(root, "producer", g->producer_name);
        cJSON_AddStringToObject(root, "producer_version", g->producer_version);
        cJSON *ins = cJSON_AddArrayToObject(root, "inputs");
        for (int i = 0; i < g->n_inputs; i++) {
            const jt_value *v = &g->values[g->inputs[i]];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", v->name);
            cJSON_AddStringToObject(o, "dtype", jt_dtype_name(v->dtype));
            cJSON_AddItemToObject(o, "shape", json_dims(v, v->dims, v->rank));
            cJSON_AddItemToArray(ins, o);
        }
        cJSON *outs = cJSON_AddArrayToObject(root, "outputs");
        for (int i = 0; i < g->n_outputs; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", g->values[g->outputs[i]].name);
            if (plan) {
                const jt_tensor *t = jt_plan_output(plan, i);
                cJSON_AddStringToObject(o, "dtype", jt_dtype_name(t->dtype));
                cJSON_AddItemToObject(o, "shape", json_dims(NULL, t->dims, t->rank));
            }
            cJSON_AddItemToArray(outs, o);
        }
        cJSON *ops = cJSON_AddArrayToObject(root, "ops");
        for (int i = 0; i < nrows; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "op", rows[i].op_type);
            cJSON_AddStringToObject(o, "domain", rows[i].domain[0] ? rows[i].domain : "ai.onnx");
            cJSON_AddNumberToObject(o, "count", rows[i].count);
            cJSON_AddBoolToObject(o, "supported", rows[i].supported);
            cJSON_AddItemToArray(ops, o);
        }
        cJSON_AddNumberToObject(root, "nodes", g->n_nodes);
        cJSON_AddNumberToObject(root, "parameters", (double)pcount);
        cJSON_AddNumberToObject(root, "parameter_bytes", (double)pbytes);
        cJSON_AddNumberToObject(root, "unsupported_nodes", n_unsupported);
        if (plan) {
            cJSON *pl = cJSON_AddObjectToObject(root, "plan");
            cJSON_AddNumberToObject(pl, "batch", batch);
            cJSON_AddNumberToObject(pl, "flops", ps.flops);
            cJSON_AddNumberToObject(pl, "activation_bytes", (double)ps.arena_bytes);
            cJSON_AddNumberToObject(pl, "activation_bytes_without_reuse", (double)ps.naive_bytes);
            cJSON_AddNumberToObject(pl, "workspace_bytes", (double)ps.workspace_bytes);
            cJSON_AddNumberToObject(pl, "folded_constant_bytes", (double)ps.const_bytes);
            cJSON_AddNumberToObject(pl, "nodes_run", ps.n_nodes_run);
            cJSON_AddNumberToObject(pl, "nodes_folded", ps.n_nodes_folded);
        } else {
            cJSON_AddStringToObject(root, "plan_error", plan_error);
        }
        char *s = cJSON_Print(root);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(root);
    } else {
        char buf[512];
        printf("model      %s\n", pos[0]);
        printf("format     ONNX IR %lld, ai.onnx opset %d, producer %s %s\n", (long long)g->ir_version,
               g->opset_onnx, g->producer_name[0] ? g->producer_name : "-", g->producer_version);
        printf("inputs\n");
        for (int i = 0; i < g->n_inputs; i++) {
            const jt_value *v = &g->values[g->inputs[i]];
            dims_text(v, v->dims, v->rank, buf, sizeof buf);
            printf("  %-24s %-8s %s\n", v->name, jt_dtype_name(v->dtype), buf);
        }
        printf("outputs%s\n", plan ? "" : " (shapes unknown: no plan)");
        for (int i = 0; i < g->n_outputs; i++) {
            const jt_tensor *t = plan ? jt_plan_output(plan, i) : NULL;
            if (t) jt_dims_str(t->dims, t->rank, buf, sizeof buf);
            printf("  %-24s %-8s %s\n", g->values[g->outputs[i]].name, t ? jt_dtype_name(t->dtype) : "?",
                   t ? buf : "?");
        }
        printf("operators  %d nodes, %d types\n", g->n_nodes, nrows);
        for (int i = 0; i < nrows; i++)
            printf("  %-24s %6d  %s\n", rows[i].op_type, rows[i].count, rows[i].supported ? "" : "UNSUPPORTED");
        printf("parameters %lld (%.2f MB)\n", (long long)pcount, (double)pbytes / 1e6);
        if (plan) {
            printf("plan       batch %d: %.3f GFLOP, activations %.2f MB (%.2f MB without reuse), workspace %.2f MB, "
                   "%d nodes run, %d folded\n", batch, ps.flops / 1e9, (double)ps.arena_bytes / 1e6,
                   (double)ps.naive_bytes / 1e6, (double)ps.workspace_bytes / 1e6, ps.n_nodes_run, ps.n_nodes_folded);
        } else {
            printf("plan       not available: %s\n", plan_error);
        }
        if (list_values) {
            printf("values     (node  op  ->  output value  dtype shape)\n");
            for (int32_t k = 0; k < g->n_nodes; k++) {
                const jt_node *n = &g->nodes[k];
                for (int i = 0; i < n->n_out; i++) {
                    if (n->out[i] < 0) continue;
                    const jt_tensor *t = plan ? jt_plan_value_meta(plan, n->out[i]) : NULL;
                    if (t) jt_dims_str(t->dims, t->rank, buf, sizeof buf);
                    printf("  %-40s %-20s -> %-40s %-8s %s\n", n->name, n->op_type, g->values[n->out[i]].name,
                           t ? jt_dtype_name(t->dtype) : "?", t ? buf : "?");
                }
            }
        }
        if (n_unsupported) {
            printf("unsupported: %d node%s (run `jatp inspect --ops` for the supported list)\n", n_unsupported,
                   n_unsupported == 1 ? "" : "s");
        }
    }
    jt_plan_free(plan);
    free(plan_err_copy);
    free(rows);
    jt_graph_free(g);
    jt_ctx_free(ctx);
    return 0;
}
