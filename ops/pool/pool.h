/* Pooling ops: typed attributes and resolved geometry shared by the forward ops (pool.c) and their
 * gradients (pool_grad.c). Spatial axes normalised to 3 (D, H, W) with leading size-1 axes. */
#ifndef JATP_OPS_POOL_H
#define JATP_OPS_POOL_H

#include <stdint.h>

#include "op.h"

enum pool_kind { POOL_MAX, POOL_AVG, POOL_GMAX, POOL_GAVG };

typedef struct pool_attrs {
    int kind;
    int n_kernel, n_strides, n_pads, n_dil;
    int64_t kernel[3], strides[3], pads[6], dil[3];
    int auto_pad;
    int64_t ceil_mode, count_include_pad, storage_order;
} pool_attrs;

typedef struct pool_geom {
    int nsp;
    int64_t N, C;
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
    int64_t in_sz, out_sz;
} pool_geom;

jt_status jt_maxpool_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs);
jt_status jt_avgpool_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs);
jt_status jt_gmax_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs);
jt_status jt_gavg_parse(jt_ctx *ctx, const jt_graph *g, const jt_node *n, void *attrs);
/* Resolves the geometry of X under the attributes; fails naming the node (g may be NULL). */
jt_status jt_pool_geom_make(jt_ctx *ctx, const jt_graph *g, const jt_node *n, const pool_attrs *at,
                            const jt_tensor *x, pool_geom *geo);
/* Indices i in [0, count) with 0 <= i*s + off < limit, as the half-open range [*lo, *hi). */
void jt_pool_axis_range(int64_t off, int64_t s, int64_t limit, int64_t count, int64_t *lo, int64_t *hi);
/* VJP rule of the four pooling ops (pool_grad.c). */
jt_status jt_pool_vjp(jt_vjp_args *v);

#endif
