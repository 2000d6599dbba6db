/* Memory planning by liveness: greedy by size. Tensors are placed largest first at the lowest offset
 * where they do not overlap (in address) any already placed tensor whose live interval overlaps
 * theirs. Simple, and within a few percent of optimal on CNN graphs. */
#include <stdint.h>
#include <stdlib.h>

#include "plan_internal.h"

typedef struct {
    int32_t id;
    size_t size;
} item;

static int by_size_desc(const void *a, const void *b) {
    const item *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->id - y->id; /* deterministic */
}

typedef struct {
    size_t off, end;
} span;

static int by_off(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

jt_status jt_plan_assign_offsets(jt_ctx *ctx, int32_t n, const size_t *size, const int32_t *def,
                                 const int32_t *last, size_t *offset, size_t *arena_size) {
    item *items = malloc(sizeof(item) * (size_t)(n > 0 ? n : 1));
    int32_t *placed = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
    span *spans = malloc(sizeof(span) * (size_t)(n > 0 ? n : 1));
    if (!items || !placed || !spans) {
        free(items); free(placed); free(spans);
        return jt_fail(ctx, JT_ERR_OOM, "out of memory planning memory");
    }
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        offset[i] = SIZE_MAX;
        if (size[i]) items[m++] = (item){i, (size[i] + 63) & ~(size_t)63};
    }
    qsort(items, (size_t)m, sizeof *items, by_size_desc);
    size_t top = 0;
    int32_t n_placed = 0;
    for (int32_t k = 0; k < m; k++) {
        int32_t id = items[k].id;
        size_t sz = items[k].size;
        int32_t ns = 0;
        for (int32_t j = 0; j < n_placed; j++) {
            int32_t o = placed[j];
            if (def[o] <= last[id] && def[id] <= last[o])
                spans[ns++] = (span){offset[o], offset[o] + ((size[o] + 63) & ~(size_t)63)};
        }
        qsort(spans, (size_t)ns, sizeof *spans, by_off);
        size_t best = 0;
        for (int32_t j = 0; j < ns; j++) {
            if (spans[j].off >= best + sz) break; /* fits in the gap before this span */
            if (spans[j].end > best) best = spans[j].end;
        }
        offset[id] = best;
        if (best + sz > top) top = best + sz;
        placed[n_placed++] = id;
    }
    *arena_size = top;
    free(items);
    free(placed);
    free(spans);
    return JT_OK;
}
