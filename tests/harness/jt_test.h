/* Tiny test-reporting library shared by every C test binary.
 *
 * Each case prints exactly one line on stdout:
 *     ok <name>
 *     FAIL <name>: <why>
 *     skip <name>: <reason>
 * and jt_test_finish() prints the closing count line `N passed, N failed, N skipped` and returns the
 * process exit status (1 when anything failed). tests/run-all sums those lines.
 *
 * Comparators never pass by accident: a dtype mismatch, a shape mismatch, a NaN/Inf where the
 * reference has none (or the reverse), or a dtype they do not handle is a failure. On a value
 * mismatch the message names the worst element: index, both values and the error. */
#ifndef JT_TEST_H
#define JT_TEST_H

#include <stdarg.h>
#include <stddef.h>

#include "jatp/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Counters live in the test binary (one suite per process). */
void jt_test_ok(const char *name);
void jt_test_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jt_test_skip(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds counts reported by someone else (e.g. a forked child) without printing a line. */
void jt_test_add_counts(int passed, int failed, int skipped);
/* Prints the count line; returns 0 when nothing failed, else 1. */
int jt_test_finish(void);
int jt_test_failed_count(void);

/* Multi-line detail for the previous case (indented, printed only when verbose or on failure). */
void jt_test_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `|got - ref| <= atol + rtol * |ref|` per element. Float dtypes (f32, f64) use the tolerance;
 * integer and bool dtypes compare exactly. NaN matches NaN, +Inf matches +Inf, -Inf matches -Inf.
 * Returns 1 on match; on mismatch returns 0 and writes the reason to why. */
enum jt_cmp_flags {
    /* Accept a float64 reference for a float32 result (the reference was computed in float64). */
    JT_CMP_REF_F64_OK = 1u << 0
};
int jt_test_compare(const jt_tensor *got, const jt_tensor *ref, double rtol, double atol,
                    unsigned flags, char *why, size_t cap);

/* Relative L2 error ||got - ref|| / ||ref|| (ref all zero: ||got - ref||) <= max_rel, for float
 * dtypes, with the same dtype/shape/NaN checks. *rel_out (may be NULL) receives the error. */
int jt_test_compare_relnorm(const jt_tensor *got, const jt_tensor *ref, double max_rel,
                            unsigned flags, double *rel_out, char *why, size_t cap);

/* snprintf that always terminates and returns the untruncated length (a plain function, so that
 * building paths and messages in fixed buffers does not trip -Wformat-truncation under -Werror). */
int jt_test_fmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Helpers for messages. */
const char *jt_test_dtype_name(int dtype);
char *jt_test_index_str(const jt_tensor *t, long long flat, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
