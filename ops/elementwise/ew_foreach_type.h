/* Includes the template named by EW_TMPL once per numeric type, with T (C type), S (suffix),
 * EW_FLOAT (1 for float/double) and EW_SIGNED set. With EW_FLOAT_ONLY defined, only float and double.
 * No include guard: included once per template. */
#define T float
#define S f32
#define EW_FLOAT 1
#define EW_SIGNED 1
#include EW_TMPL
#undef T
#undef S
#undef EW_FLOAT
#undef EW_SIGNED
#define T double
#define S f64
#define EW_FLOAT 1
#define EW_SIGNED 1
#include EW_TMPL
#undef T
#undef S
#undef EW_FLOAT
#undef EW_SIGNED
#ifndef EW_FLOAT_ONLY
#define T int8_t
#define S i8
#define EW_FLOAT 0
#define EW_SIGNED 1
#include EW_TMPL
#undef T
#undef S
#undef EW_FLOAT
#undef EW_SIGNED
#define T uint8_t
#define S u8
#define EW_FLOAT 0
#define EW_SIGNED 0
#include EW_TMPL
#undef T
#undef S
#undef EW_FLOAT
#undef EW_SIGNED
#define T int16_t
#define S i16
#define EW_FLOAT 0
#define EW_SIGNED 1
#include EW_TMPL
#undef T
#undef S
#undef EW_FLOAT
#undef EW_SIGNED
#define T uint16_t
#define S u16
#define EW_FLOAT 0
#define EW_SIGNED 0
#include EW_TMPL
#undef T
#undef S
#undef EW_FLOAT
#undef EW_SIGNED
#define T int32_t
#define S i32
#define EW_FLOAT 0
#define EW_SIGNED 1
#include EW_TMPL
#undef T
#undef S
#undef EW_FLOAT
#undef EW_SIGNED
#define T int64_t
#define S i64
#define EW_FLOAT 0
#define EW_SIGNED 1
#include EW_TMPL
#undef T
#undef S
#undef EW_FLOAT
#undef EW_SIGNED
#define T uint32_t
#define S u32
#define EW_FLOAT 0
#define EW_SIGNED 0
#include EW_TMPL
#undef T
#undef S
#undef EW_FLOAT
#undef EW_SIGNED
#define T uint64_t
#define S u64
#define EW_FLOAT 0
#define EW_SIGNED 0
#include EW_TMPL
#undef T
#undef S
#undef EW_FLOAT
#undef EW_SIGNED
#endif
