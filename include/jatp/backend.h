/* Compute backends: where a plan's memory lives and which kernels run its nodes. The CPU backend is
 * always built (the reference); the CUDA backend is built when nvcc is found (-Dcuda=auto). */
#ifndef JATP_BACKEND_H
#define JATP_BACKEND_H

#include "jatp/status.h"
#include "jatp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jt_backend jt_backend;

/* name: "cpu", "cuda" or "cuda:N". Fails with a clear message when the build has no CUDA backend,
 * no driver or device is present, or N is out of range. */
jt_status jt_backend_create(jt_ctx *ctx, const char *name, jt_backend **out);
void jt_backend_free(jt_backend *b);
jt_device jt_backend_device(const jt_backend *b);
/* "cpu" or e.g. "cuda:0 (NVIDIA H100 80GB HBM3, sm_90, driver 13.0)". */
const char *jt_backend_description(const jt_backend *b);
/* Waits until all work queued on the backend has finished (a no-op on the CPU): for timing. */
jt_status jt_backend_sync(jt_backend *b);
/* 1 when this build includes the CUDA backend. */
int jt_cuda_built(void);

/* Backend options that change numerics. Defaults: tf32 off, deterministic off. */
void jt_backend_set_tf32(jt_backend *b, int on);
void jt_backend_set_deterministic(jt_backend *b, int on);

#ifdef __cplusplus
}
#endif
#endif
