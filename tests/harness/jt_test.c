/* Test reporting and comparators; see jt_test.h. Self-contained: depends only on jatp/tensor.h's
 * types, not on library functions, so it can be linked into any test binary. */
#include "jt_test.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_passed, n_failed, n_skipped;

void jt_test_ok(const char *name)
{
    n_passed++;
    printf("ok %s\n", name);
    fflush(stdout);
}

static void print_oneline(const char *prefix, const char *name, const char *fmt, va_list ap)
{
    char buf[8192];
    vsnprintf(buf, sizeof buf, fmt, ap);
    /* The first line goes on the result line, further lines are indented beneath it. */
    char *nl = strchr(buf, '\n');
    if (nl) *nl = '\0';
    printf("%s %s: %s\n", prefix, name, buf);
    while (nl) {
        char *line = nl + 1;
        nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        if (*line) printf("    %s\n", line);
    }
    fflush(stdout);
}

void jt_test_fail(const char *name, const char *fmt, ...)
{
    n_failed++;
    va_list ap;
    va_start(ap, fmt);
    print_oneline("FAIL", name, fmt, ap);
    va_end(ap);
}

void jt_test_skip(const char *name, const char *fmt, ...)
{
    n_skipped++;
    va_list ap;
    va_start(ap, fmt);
    print_oneline("skip", name, fmt, ap);
    va_end(ap);
}

void jt_test_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("    ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

void jt_test_add_counts(int passed, int failed, int skipped)
{
    n_passed += passed;
    n_failed += failed;
    n_skipped += skipped;
}

int jt_test_failed_count(void) { return n_failed; }

int jt_test_finish(void)
{
    printf("%d passed, %d failed, %d skipped\n", n_passed, n_failed, n_skipped);
    fflush(stdout);
    return n_failed ? 1 : 0;
}

int jt_test_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

/* ---- comparators ---- */

const char *jt_test_dtype_name(int dt)
{
    switch (dt) {
    case JT_UNDEF: return "undefined";
    case JT_F32: return "float32";
    case JT_U8: return "uint8";
    case JT_I8: return "int8";
    case JT_U16: return "uint16";
    case JT_I16: return "int16";
    case JT_I32: return "int32";
    case JT_I64: return "int64";
    case JT_STRING: return "string";
    case JT_BOOL: return "bool";
    case JT_F16: return "float16";
    case JT_F64: return "float64";
    case JT_U32: return "uint32";
    case JT_U64: return "uint64";
    default: return "unknown";
    }
}

static int is_float(jt_dtype dt) { return dt == JT_F32 || dt == JT_F64; }

static int is_exact(jt_dtype dt)
{
    switch (dt) {
    case JT_U8: case JT_I8: case JT_U16: case JT_I16: case JT_I32: case JT_I64: case JT_BOOL:
    case JT_U32: case JT_U64:
        return 1;
    default:
        return 0;
    }
}

static double get_f(const jt_tensor *t, long long i)
{
    return t->dtype == JT_F32 ? (double)((const float *)t->data)[i] : ((const double *)t->data)[i];
}

/* Integers as (sign, magnitude) pairs would be exact; int64 and uint64 both fit in long double on
 * x86 but not everywhere, so compare raw values by type instead. */
static int get_i(const jt_tensor *t, long long i, int64_t *s, uint64_t *u, int *is_unsigned)
{
    *is_unsigned = 0;
    switch (t->dtype) {
    case JT_U8: *s = ((const uint8_t *)t->data)[i]; return 1;
    case JT_BOOL: *s = ((const uint8_t *)t->data)[i] != 0; return 1;
    case JT_I8: *s = ((const int8_t *)t->data)[i]; return 1;
    case JT_U16: *s = ((const uint16_t *)t->data)[i]; return 1;
    case JT_I16: *s = ((const int16_t *)t->data)[i]; return 1;
    case JT_I32: *s = ((const int32_t *)t->data)[i]; return 1;
    case JT_U32: *s = ((const uint32_t *)t->data)[i]; return 1;
    case JT_I64: *s = ((const int64_t *)t->data)[i]; return 1;
    case JT_U64: *u = ((const uint64_t *)t->data)[i]; *is_unsigned = 1; return 1;
    default: return 0;
    }
}

static void dims_str(const jt_tensor *t, char *buf, size_t cap)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int i = 0; i < t->rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, i ? "," : "", t->dims[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

char *jt_test_index_str(const jt_tensor *t, long long flat, char *buf, size_t cap)
{
    int64_t idx[JT_MAX_RANK];
    long long rem = flat;
    for (int i = t->rank - 1; i >= 0; i--) {
        int64_t d = t->dims[i] > 0 ? t->dims[i] : 1;
        idx[i] = rem % d;
        rem /= d;
    }
    size_t n = (size_t)snprintf(buf, cap, "%lld [", flat);
    for (int i = 0; i < t->rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, i ? "," : "", idx[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

static long long numel(const jt_tensor *t)
{
    long long n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->dims[i];
    return n;
}

/* Common checks: dtype, shape, data pointers. Returns 1 when the pair can be compared. */
static int check_header(const jt_tensor *got, const jt_tensor *ref, unsigned flags, int need_float,
                        char *why, size_t cap)
{
    if (!got || !ref) {
        snprintf(why, cap, "missing tensor (%s is NULL)", got ? "reference" : "result");
        return 0;
    }
    int dtype_ok = got->dtype == ref->dtype ||
                   ((flags & JT_CMP_REF_F64_OK) && got->dtype == JT_F32 && ref->dtype == JT_F64);
    if (!dtype_ok) {
        snprintf(why, cap, "dtype mismatch: got %s, expected %s", jt_test_dtype_name(got->dtype),
                 jt_test_dtype_name(ref->dtype));
        return 0;
    }
    if (!is_float(got->dtype) && !is_exact(got->dtype)) {
        snprintf(why, cap, "comparator does not handle dtype %s", jt_test_dtype_name(got->dtype));
        return 0;
    }
    if (need_float && !is_float(got->dtype)) {
        snprintf(why, cap, "relative-norm comparison needs a float dtype, got %s",
                 jt_test_dtype_name(got->dtype));
        return 0;
    }
    if (got->rank < 0 || got->rank > JT_MAX_RANK || ref->rank < 0 || ref->rank > JT_MAX_RANK) {
        snprintf(why, cap, "bad rank: got %d, expected %d", got->rank, ref->rank);
        return 0;
    }
    int same = got->rank == ref->rank;
    for (int i = 0; same && i < got->rank; i++) same = got->dims[i] == ref->dims[i];
    if (!same) {
        char a[160], b[160];
        dims_str(got, a, sizeof a);
        dims_str(ref, b, sizeof b);
        snprintf(why, cap, "shape mismatch: got %s, expected %s", a, b);
        return 0;
    }
    if (numel(got) > 0 && (!got->data || !ref->data)) {
        snprintf(why, cap, "no data in %s", got->data ? "reference" : "result");
        return 0;
    }
    return 1;
}

/* Classify a non-finite pair: returns -1 when both are finite, 1 when they match (same NaN/Inf),
 * 0 when they do not. */
static int nonfinite_match(double a, double b)
{
    int fa = isfinite(a), fb = isfinite(b);
    if (fa && fb) return -1;
    if (isnan(a) && isnan(b)) return 1;
    if (isinf(a) && isinf(b) && (a > 0) == (b > 0)) return 1;
    return 0;
}

int jt_test_compare(const jt_tensor *got, const jt_tensor *ref, double rtol, double atol,
                    unsigned flags, char *why, size_t cap)
{
    if (!check_header(got, ref, flags, 0, why, cap)) return 0;
    long long n = numel(got);
    char ib[200];
    if (is_exact(got->dtype)) {
        long long bad = 0, first = -1;
        for (long long i = 0; i < n; i++) {
            int64_t sa = 0, sb = 0;
            uint64_t ua = 0, ub = 0;
            int uns_a, uns_b;
            get_i(got, i, &sa, &ua, &uns_a);
            get_i(ref, i, &sb, &ub, &uns_b);
            if (uns_a ? ua != ub : sa != sb) {
                if (first < 0) first = i;
                bad++;
            }
        }
        if (bad) {
            int64_t sa = 0, sb = 0;
            uint64_t ua = 0, ub = 0;
            int uns;
            get_i(got, first, &sa, &ua, &uns);
            get_i(ref, first, &sb, &ub, &uns);
            if (uns)
                snprintf(why, cap, "%lld of %lld elements differ (%s compared exactly); first at %s: got "
                         "%" PRIu64 ", expected %" PRIu64, bad, n, jt_test_dtype_name(got->dtype),
                         jt_test_index_str(got, first, ib, sizeof ib), ua, ub);
            else
                snprintf(why, cap, "%lld of %lld elements differ (%s compared exactly); first at %s: got "
                         "%" PRId64 ", expected %" PRId64, bad, n, jt_test_dtype_name(got->dtype),
                         jt_test_index_str(got, first, ib, sizeof ib), sa, sb);
            return 0;
        }
        return 1;
    }
    /* float: tolerance, NaN/Inf pattern, worst element by excess over the allowed error */
    long long bad = 0, worst = -1, nf_bad = 0, nf_first = -1;
    double worst_ratio = -1.0;
    for (long long i = 0; i < n; i++) {
        double a = get_f(got, i), b = get_f(ref, i);
        int m = nonfinite_match(a, b);
        if (m == 1) continue;
        if (m == 0) {
            if (nf_first < 0) nf_first = i;
            nf_bad++;
            continue;
        }
        double err = fabs(a - b), allowed = atol + rtol * fabs(b);
        double ratio = allowed > 0 ? err / allowed : (err > 0 ? INFINITY : 0.0);
        if (err > allowed) bad++;
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            worst = i;
        }
    }
    if (nf_bad) {
        snprintf(why, cap, "%lld of %lld elements have a NaN/Inf mismatch; first at %s: got %.9g, "
                 "expected %.9g", nf_bad, n, jt_test_index_str(got, nf_first, ib, sizeof ib),
                 get_f(got, nf_first), get_f(ref, nf_first));
        return 0;
    }
    if (bad) {
        double a = get_f(got, worst), b = get_f(ref, worst);
        double err = fabs(a - b);
        snprintf(why, cap, "%lld of %lld elements out of tolerance (rtol=%g atol=%g); worst at %s: "
                 "got %.9g, expected %.9g, abs err %.3g, rel err %.3g", bad, n, rtol, atol,
                 jt_test_index_str(got, worst, ib, sizeof ib), a, b, err,
                 b != 0 ? err / fabs(b) : INFINITY);
        return 0;
    }
    return 1;
}

int jt_test_compare_relnorm(const jt_tensor *got, const jt_tensor *ref, double max_rel,
                            unsigned flags, double *rel_out, char *why, size_t cap)
{
    if (rel_out) *rel_out = NAN;
    if (!check_header(got, ref, flags, 1, why, cap)) return 0;
    long long n = numel(got);
    char ib[200];
    double num = 0.0, den = 0.0, worst_err = -1.0;
    long long worst = -1;
    for (long long i = 0; i < n; i++) {
        double a = get_f(got, i), b = get_f(ref, i);
        if (!isfinite(a) || !isfinite(b)) {
            snprintf(why, cap, "non-finite value at %s: got %.9g, expected %.9g",
                     jt_test_index_str(got, i, ib, sizeof ib), a, b);
            return 0;
        }
        double d = a - b;
        num += d * d;
        den += b * b;
        if (fabs(d) > worst_err) {
            worst_err = fabs(d);
            worst = i;
        }
    }
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    if (rel_out) *rel_out = rel;
    if (!(rel <= max_rel)) {
        double a = get_f(got, worst), b = get_f(ref, worst);
        snprintf(why, cap, "relative L2 error %.3g > %.3g; worst element at %s: got %.9g, expected "
                 "%.9g, abs err %.3g", rel, max_rel, jt_test_index_str(got, worst, ib, sizeof ib),
                 a, b, worst_err);
        return 0;
    }
    return 1;
}
