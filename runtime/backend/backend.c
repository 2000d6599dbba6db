/* Backend creation by name and the CPU backend (host memory, the reference kernels). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "backend_impl.h"

static jt_status cpu_alloc(jt_backend *b, size_t bytes, void **ptr) {
    *ptr = jt_malloc_aligned(bytes ? bytes : 64);
    if (!*ptr) return jt_fail(b->ctx, JT_ERR_OOM, "cpu: out of memory for %zu bytes", bytes);
    return JT_OK;
}

static void cpu_free(jt_backend *b, void *ptr) {
    (void)b;
    jt_free_aligned(ptr);
}

static jt_status cpu_copy(jt_backend *b, void *dst, const void *src, size_t bytes) {
    (void)b;
    if (bytes && dst != src) memmove(dst, src, bytes);
    return JT_OK;
}

static jt_status cpu_sync(jt_backend *b) {
    (void)b;
    return JT_OK;
}

static jt_kernel_fn cpu_kernel(const jt_backend *b, const jt_op *op, jt_dtype dt) {
    (void)b;
    return jt_op_cpu_kernel(op, dt);
}

static void cpu_destroy(jt_backend *b) { (void)b; }

static const jt_backend_vt cpu_vt = {cpu_alloc, cpu_free, cpu_copy, cpu_copy, cpu_copy, cpu_sync, cpu_kernel,
                                     cpu_destroy};

jt_status jt_backend_cpu_create(jt_ctx *ctx, jt_backend **out) {
    jt_backend *b = calloc(1, sizeof *b);
    if (!b) return jt_fail(ctx, JT_ERR_OOM, "out of memory");
    b->vt = &cpu_vt;
    b->ctx = ctx;
    b->device = (jt_device){JT_DEV_CPU, 0};
    b->host_memory = 1;
    snprintf(b->desc, sizeof b->desc, "cpu (%d threads)", jt_ctx_threads(ctx));
    *out = b;
    return JT_OK;
}

#ifndef JT_HAVE_CUDA
jt_status jt_backend_cuda_create(jt_ctx *ctx, int index, jt_backend **out) {
    (void)index;
    *out = NULL;
    return jt_fail(ctx, JT_ERR_DEVICE,
                   "this jatp was built without the CUDA backend (nvcc was not found at configure time); "
                   "rebuild with `meson setup build -Dcuda=enabled` on a machine with the CUDA toolkit");
}

int jt_cuda_built(void) { return 0; }
#endif

jt_status jt_backend_create(jt_ctx *ctx, const char *name, jt_backend **out) {
    *out = NULL;
    if (!name || strcmp(name, "cpu") == 0) return jt_backend_cpu_create(ctx, out);
    if (strncmp(name, "cuda", 4) == 0) {
        int index = 0;
        if (name[4] == ':') {
            char *end;
            long v = strtol(name + 5, &end, 10);
            if (end == name + 5 || *end || v < 0 || v > 64)
                return jt_fail(ctx, JT_ERR_ARG, "device '%s': expected cuda or cuda:N", name);
            index = (int)v;
        } else if (name[4]) {
            return jt_fail(ctx, JT_ERR_ARG, "device '%s': expected cpu, cuda or cuda:N", name);
        }
        return jt_backend_cuda_create(ctx, index, out);
    }
    return jt_fail(ctx, JT_ERR_ARG, "unknown device '%s' (expected cpu, cuda or cuda:N)", name);
}

void jt_backend_free(jt_backend *b) {
    if (!b) return;
    b->vt->destroy(b);
    free(b);
}

jt_device jt_backend_device(const jt_backend *b) { return b->device; }
jt_status jt_backend_sync(jt_backend *b) { return b->vt->sync(b); }
const char *jt_backend_description(const jt_backend *b) { return b->desc; }
void jt_backend_set_tf32(jt_backend *b, int on) { b->tf32 = on; }
void jt_backend_set_deterministic(jt_backend *b, int on) { b->deterministic = on; }
