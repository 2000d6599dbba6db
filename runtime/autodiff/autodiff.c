/* Reverse-mode autodiff: a reverse walk over the nodes on a path from the wrt values to the loss; each
 * node's VJP rule appends gradient nodes; fan-out contributions are summed with explicit Add nodes. */
#include <stdlib.h>
#include <string.h>

#include "jatp/autodiff.h"
#include "jatp/builder.h"
#include "op.h"

typedef struct contrib {
    int32_t value; /* gradient value id */
    int32_t next;  /* index of the next contribution for the same forward value, -1 = end */
} contrib;

typedef struct ad {
    jt_gb b;
    int32_t nv;
    int32_t *head; /* per forward value: first contribution, -1 = none */
    contrib *c;
    int32_t n_c, cap_c;
} ad;

static jt_status add_contrib(ad *a, int32_t v, int32_t grad) {
    if (a->n_c == a->cap_c) {
        int32_t cap = a->cap_c ? 2 * a->cap_c : 256;
        contrib *c = realloc(a->c, sizeof *c * (size_t)cap);
        if (!c) return jt_fail(a->b.ctx, JT_ERR_OOM, "autodiff: out of memory");
        a->c = c;
        a->cap_c = cap;
    }
    a->c[a->n_c] = (contrib){grad, a->head[v]};
    a->head[v] = a->n_c++;
    return JT_OK;
}

/* Sums the contributions of v into one value (Add chain in a fixed order) and keeps only that. */
static int32_t finalize(ad *a, int32_t v) {
    int32_t i = a->head[v];
    if (i < 0) return -1;
    int32_t sum = a->c[i].value;
    for (i = a->c[i].next; i >= 0; i = a->c[i].next) {
        int32_t ins[2] = {a->c[i].value, sum};
        sum = jt_gb_op(&a->b, "Add", "", NULL, ins, 2);
    }
    if (sum >= 0 && a->c[a->head[v]].next >= 0) {
        a->c[a->head[v]].value = sum;
        a->c[a->head[v]].next = -1;
    }
    return sum;
}

jt_status jt_build_backward(jt_ctx *ctx, jt_graph *g, const int32_t *loss, const int32_t *seed, int n_loss,
                            const int32_t *wrt, int n_wrt, int32_t *grads) {
    int32_t nv = g->n_values, nn = g->n_nodes;
    for (int j = 0; j < n_loss; j++)
        if (loss[j] < 0 || loss[j] >= nv)
            return jt_fail(ctx, JT_ERR_ARG, "%s: autodiff: invalid loss value id %d", g->source, loss[j]);
    for (int i = 0; i < n_wrt; i++)
        if (wrt[i] < 0 || wrt[i] >= nv)
            return jt_fail(ctx, JT_ERR_ARG, "%s: autodiff: invalid wrt value id %d", g->source, wrt[i]);
    uint8_t *fwd = calloc((size_t)nv, 1), *bwd = calloc((size_t)nv, 1);
    ad a = {0};
    a.nv = nv;
    a.head = malloc(sizeof(int32_t) * (size_t)nv);
    jt_status st = JT_OK;
    if (!fwd || !bwd || !a.head) {
        st = jt_fail(ctx, JT_ERR_OOM, "autodiff: out of memory");
        goto done;
    }
    for (int32_t v = 0; v < nv; v++) a.head[v] = -1;
    for (int i = 0; i < n_wrt; i++) fwd[wrt[i]] = 1;
    /* forward: values that depend differentiably on a wrt value (masked inputs such as shapes, axes
     * and indices do not carry dependence) */
    for (int32_t k = 0; k < nn; k++) {
        const jt_node *n = &g->nodes[k];
        uint32_t mask = n->op && n->op->impl ? n->op->impl->no_grad_mask : 0;
        int any = 0;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0 && fwd[n->in[i]] && !(i < 32 && ((mask >> i) & 1))) any = 1;
        if (any)
            for (int i = 0; i < n->n_out; i++)
                if (n->out[i] >= 0) fwd[n->out[i]] = 1;
    }
    /* backward: values the losses depend on differentiably (not through masked inputs) */
    for (int j = 0; j < n_loss; j++) bwd[loss[j]] = 1;
    for (int32_t k = nn - 1; k >= 0; k--) {
        const jt_node *n = &g->nodes[k];
        uint32_t mask = n->op && n->op->impl ? n->op->impl->no_grad_mask : 0;
        int any = 0;
        for (int i = 0; i < n->n_out; i++)
            if (n->out[i] >= 0 && bwd[n->out[i]]) any = 1;
        if (any)
            for (int i = 0; i < n->n_in; i++)
                if (n->in[i] >= 0 && !(i < 32 && ((mask >> i) & 1))) bwd[n->in[i]] = 1;
    }
    /* every node on a gradient path needs a rule: report all missing ones at once */
    int missing = 0;
    for (int32_t k = 0; k < nn; k++) {
        const jt_node *n = &g->nodes[k];
        int out_on = 0, in_on = 0;
        for (int i = 0; i < n->n_out; i++)
            if (n->out[i] >= 0 && bwd[n->out[i]] && fwd[n->out[i]]) out_on = 1;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0 && fwd[n->in[i]] && !(n->op && n->op->impl && (n->op->impl->no_grad_mask >> i) & 1))
                in_on = 1;
        if (!out_on || !in_on || (n->op && n->op->impl && n->op->impl->vjp)) continue;
        if (!missing)
            jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: autodiff: these nodes lie on a gradient path but their operators "
                    "have no backward rule:", g->source);
        jt_error_append(ctx, "  node '%s' (%s%s%s-%d)", n->name, n->domain, n->domain[0] ? "." : "", n->op_type,
                        n->op ? n->op->since : n->opset);
        missing++;
    }
    if (missing) {
        st = JT_ERR_UNSUPPORTED;
        goto done;
    }
    jt_gb_init(&a.b, ctx, g, g->opset_onnx > 0 ? g->opset_onnx : 17);
    for (int j = 0; j < n_loss && st == JT_OK; j++) {
        int32_t s = seed ? seed[j] : -1;
        if (s < 0) {
            int32_t in1[1] = {loss[j]};
            s = jt_gb_op(&a.b, "OnesLike", "jatp.grad", NULL, in1, 1);
        }
        if (s >= 0) st = add_contrib(&a, loss[j], s);
    }
    for (int32_t k = nn - 1; k >= 0 && st == JT_OK && jt_gb_status(&a.b) == JT_OK; k--) {
        /* copy what the rule needs: g->nodes moves as nodes are appended */
        jt_node n = g->nodes[k];
        int on = 0;
        for (int i = 0; i < n.n_out; i++)
            if (n.out[i] >= 0 && bwd[n.out[i]] && fwd[n.out[i]]) on = 1;
        if (!on) continue;
        int32_t dy[64], dx[64];
        bool need[64];
        if (n.n_in > 64 || n.n_out > 64) {
            st = jt_fail(ctx, JT_ERR_UNSUPPORTED, "%s: autodiff: node '%s' has more than 64 inputs or outputs", g->source,
                         n.name);
            break;
        }
        int any_dy = 0, any_need = 0;
        for (int i = 0; i < n.n_out; i++) {
            dy[i] = n.out[i] >= 0 && n.out[i] < nv ? finalize(&a, n.out[i]) : -1;
            if (dy[i] >= 0) any_dy = 1;
        }
        for (int i = 0; i < n.n_in; i++) {
            need[i] = n.in[i] >= 0 && fwd[n.in[i]] && !((n.op->impl->no_grad_mask >> i) & 1);
            dx[i] = -1;
            if (need[i]) any_need = 1;
        }
        if (!any_dy || !any_need) continue;
        jt_vjp_args va = {&a.b, k, n.name, n.parsed, n.n_in, n.n_out, n.in, n.out, dy, need, dx};
        st = n.op->impl->vjp(&va);
        if (st == JT_OK) st = jt_gb_status(&a.b);
        if (st != JT_OK) {
            jt_error_prefix(ctx, "%s: autodiff of node '%s' (%s)", g->source, n.name, n.op_type);
            break;
        }
        for (int i = 0; i < n.n_in && st == JT_OK; i++)
            if (need[i] && dx[i] >= 0) st = add_contrib(&a, n.in[i], dx[i]);
    }
    for (int i = 0; i < n_wrt && st == JT_OK; i++) {
        grads[i] = finalize(&a, wrt[i]);
        if (grads[i] < 0) {
            int32_t in1[1] = {wrt[i]};
            grads[i] = jt_gb_op(&a.b, "ZerosLike", "jatp.grad", NULL, in1, 1);
        }
    }
    if (st == JT_OK) st = jt_gb_status(&a.b);
done:
    free(fwd);
    free(bwd);
    free(a.head);
    free(a.c);
    return st;
}
