/* Dense row-major tensors. The dtype codes are ONNX's TensorProto.DataType values, so that import and
 * export need no translation table. */
#ifndef JATP_TENSOR_H
#define JATP_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jatp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JT_MAX_RANK 8

typedef enum jt_dtype {
    JT_UNDEF = 0,
    JT_F32 = 1,
    JT_U8 = 2,
    JT_I8 = 3,
    JT_U16 = 4,
    JT_I16 = 5,
    JT_I32 = 6,
    JT_I64 = 7,
    JT_STRING = 8, /* recognised only to be refused with a clear message */
    JT_BOOL = 9,
    JT_F16 = 10, /* recognised only to be refused with a clear message */
    JT_F64 = 11,
    JT_U32 = 12,
    JT_U64 = 13
} jt_dtype;

typedef enum jt_device_kind { JT_DEV_CPU = 0, JT_DEV_CUDA = 1 } jt_device_kind;

typedef struct jt_device {
    jt_device_kind kind;
    int index;
} jt_device;

typedef struct jt_tensor {
    jt_dtype dtype;
    int32_t rank;
    int64_t dims[JT_MAX_RANK];
    jt_device device;
    void *data; /* not owned (points into a plan's arena, an initializer or a user buffer) */
} jt_tensor;

/* Bytes per element; 0 for dtypes we do not compute with (string, undef). */
size_t jt_dtype_size(jt_dtype dt);
/* "float32", "int64", ...; "dtype(N)" for unknown codes (static buffer per code is not used: the
 * returned string is constant and names unknown codes "unknown"). */
const char *jt_dtype_name(jt_dtype dt);
bool jt_dtype_is_float(jt_dtype dt);
/* True for the dtypes the engine can hold in memory (not string/float16/undef). */
bool jt_dtype_supported(jt_dtype dt);

int64_t jt_tensor_numel(const jt_tensor *t);
size_t jt_tensor_nbytes(const jt_tensor *t);
/* Writes "[2,3,32,32]" into buf; returns buf. */
char *jt_dims_str(const int64_t *dims, int rank, char *buf, size_t cap);
bool jt_dims_equal(const int64_t *a, int ra, const int64_t *b, int rb);

#ifdef __cplusplus
}
#endif
#endif
