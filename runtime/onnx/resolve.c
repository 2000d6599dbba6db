/* Resolves each node's (domain, op_type) against the registry at the model's opset, reports every
 * unsupported node at once (grouped by op), checks arities and parses attributes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "jatp/onnx.h"
#include "onnx_internal.h"
#include "op.h"

static const char *domain_label(const char *d) { return d && d[0] ? d : "ai.onnx"; }

typedef struct {
    const char *op_type, *domain;
    int64_t opset;
    const char *reason;
    int count;
    int first; /* first node index */
} group;

jt_status jt_resolve_ops(jt_ctx *ctx, jt_graph *g, int n_opsets, const char *const *domains,
                         const int64_t *versions, int report) {
    group *groups = calloc((size_t)g->n_nodes + 1, sizeof *groups);
    int *grp_of = calloc((size_t)g->n_nodes + 1, sizeof *grp_of);
    if (!groups || !grp_of) {
        free(groups);
        free(grp_of);
        return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
    }
    int ng = 0, nbad = 0;
    for (int32_t k = 0; k < g->n_nodes; k++) {
        jt_node *n = &g->nodes[k];
        const char *dom = strcmp(n->domain, "ai.onnx") == 0 ? "" : n->domain;
        int64_t opset = -1;
        for (int i = 0; i < n_opsets; i++)
            if (strcmp(domains[i], dom) == 0) opset = versions[i];
        const char *reason = NULL;
        const jt_op *op = NULL;
        if (opset < 0) {
            reason = "its domain is not in the model's opset_import";
        } else {
            n->opset = (int32_t)opset;
            op = jt_op_lookup(dom, n->op_type, (int)opset);
            if (!op) reason = "not implemented";
            else if (!op->impl) reason = op->unsupported_reason;
        }
        if (!reason) {
            n->op = op;
            grp_of[k] = -1;
            continue;
        }
        nbad++;
        int gi = -1;
        for (int i = 0; i < ng; i++)
            if (strcmp(groups[i].op_type, n->op_type) == 0 && strcmp(groups[i].domain, dom) == 0) gi = i;
        if (gi < 0) {
            gi = ng++;
            groups[gi] = (group){n->op_type, dom, opset, reason, 0, k};
        }
        groups[gi].count++;
        grp_of[k] = gi;
    }
    jt_status st = JT_OK;
    if (nbad && report) {
        st = jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: %d operator type%s not supported (model imports ai.onnx opset %d):",
                     g->source, ng, ng == 1 ? " is" : "s are", g->opset_onnx);
        for (int i = 0; i < ng; i++) {
            char line[1024];
            int len = snprintf(line, sizeof line, "  %s (%s, opset %lld): %s; %d node%s:", groups[i].op_type,
                               domain_label(groups[i].domain), (long long)groups[i].opset, groups[i].reason,
                               groups[i].count, groups[i].count == 1 ? "" : "s");
            int shown = 0;
            for (int32_t k = groups[i].first; k < g->n_nodes && len < (int)sizeof line - 64; k++) {
                if (grp_of[k] != i) continue;
                if (shown == 8) {
                    len += snprintf(line + len, sizeof line - (size_t)len, " ...");
                    break;
                }
                len += snprintf(line + len, sizeof line - (size_t)len, "%s %s", shown ? "," : "", g->nodes[k].name);
                shown++;
            }
            jt_error_append(ctx, "%s", line);
        }
        jt_error_append(ctx, "hint: `jatp inspect --ops` lists the supported operators and versions");
    }
    free(groups);
    free(grp_of);
    if (st != JT_OK) return st;

    /* Arity and attributes of the supported nodes */
    for (int32_t k = 0; k < g->n_nodes; k++) {
        jt_node *n = &g->nodes[k];
        if (!n->op) continue;
        const jt_op_impl *im = n->op->impl;
        int n_in = n->n_in;
        while (n_in > 0 && n->in[n_in - 1] < 0) n_in--; /* trailing omitted optionals */
        if (n_in < im->min_in || (im->max_in >= 0 && n->n_in > im->max_in))
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "has %d inputs, expected %d to %d", n->n_in,
                                im->min_in, im->max_in);
        if (n->n_out < im->min_out || (im->max_out >= 0 && n->n_out > im->max_out))
            return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "has %d outputs, expected %d to %d", n->n_out,
                                im->min_out, im->max_out);
        for (int i = 0; i < im->min_in && i < n->n_in; i++)
            if (n->in[i] < 0)
                return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL, "required input %d is empty", i);
        if (im->attr_size) {
            n->parsed = jt_graph_alloc(g, im->attr_size);
            if (!n->parsed) return jt_fail(ctx, JT_ERR_OOM, "%s: out of memory", g->source);
        }
        if (im->parse) {
            JT_TRY(im->parse(ctx, g, n, n->parsed));
        } else if (n->n_attrs) {
            static const char *const none[] = {NULL};
            JT_TRY(jt_attrs_check_known(ctx, g, n, none));
        }
    }
    return JT_OK;
}

int jt_graph_unsupported_report(jt_ctx *ctx, const jt_graph *g) {
    (void)ctx;
    int n = 0;
    for (int32_t k = 0; k < g->n_nodes; k++)
        if (!g->nodes[k].op) n++;
    return n;
}
