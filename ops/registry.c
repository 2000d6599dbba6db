/* The op registry, expanded from ops/ops.def. Nothing else enumerates ops. */
#include <string.h>

#include "op.h"

#define JT_DOM_ONNX ""
#define JT_DOM_TRAINING "ai.onnx.preview.training"
#define JT_DOM_GRAD "jatp.grad"
#define JT_DOM_JATP "jatp"

#define JT_OP(dom, name, since, impl) extern const jt_op_impl jt_impl_##impl;
#define JT_OP_NO(dom, name, since, reason)
#include "ops.def"
#undef JT_OP
#undef JT_OP_NO

static const jt_op op_table[] = {
#define JT_OP(dom, name, since, impl) {JT_DOM_##dom, #name, since, &jt_impl_##impl, NULL},
#define JT_OP_NO(dom, name, since, reason) {JT_DOM_##dom, #name, since, NULL, reason},
#include "ops.def"
#undef JT_OP
#undef JT_OP_NO
    {NULL, NULL, 0, NULL, NULL} /* sentinel, keeps the table non-empty */
};

#define N_OPS ((int)(sizeof op_table / sizeof op_table[0]) - 1)

const jt_op *jt_op_lookup(const char *domain, const char *name, int opset) {
    const jt_op *best = NULL;
    if (strcmp(domain, "ai.onnx") == 0) domain = "";
    for (int i = 0; i < N_OPS; i++) {
        const jt_op *e = &op_table[i];
        if (e->since > opset || strcmp(e->name, name) != 0 || strcmp(e->domain, domain) != 0)
            continue;
        if (!best || e->since > best->since) best = e;
    }
    return best;
}

const jt_op *jt_op_table(int *count) {
    *count = N_OPS;
    return op_table;
}

jt_kernel_fn jt_op_cpu_kernel(const jt_op *op, jt_dtype dt) {
    if (!op || !op->impl) return NULL;
    if (dt == JT_F32) return op->impl->cpu_f32;
    if (dt == JT_F64) return op->impl->cpu_f64;
    return op->impl->cpu_other;
}
