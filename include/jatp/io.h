/* File formats: NumPy .npy, atomic writes. */
#ifndef JATP_IO_H
#define JATP_IO_H

#include <stddef.h>

#include "jatp/status.h"
#include "jatp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a .npy file (version 1-3, C order; f32, f64, i64, i32, u8, bool). Fortran order or another
 * dtype is an error naming the file and the dtype. t->data is malloc'ed, owned by the caller. */
jt_status jt_npy_read(jt_ctx *ctx, const char *path, jt_tensor *out);
/* Writes t as .npy (atomically). */
jt_status jt_npy_write(jt_ctx *ctx, const char *path, const jt_tensor *t);

/* Writes bytes to path through a temporary file in the same directory, fsync and rename; on failure
 * the temporary file is removed and nothing is left at path. */
jt_status jt_write_atomic(jt_ctx *ctx, const char *path, const void *data, size_t size);
/* Reads a whole file (malloc'ed, caller frees); max_size guards against absurd files. */
jt_status jt_read_file(jt_ctx *ctx, const char *path, size_t max_size, void **data, size_t *size);

#ifdef __cplusplus
}
#endif
#endif
