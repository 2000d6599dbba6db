/* Status codes, the context object and error reporting.
 *
 * Every fallible library function returns a jt_status and, on failure, fills the context's error
 * record with a message naming the file, node, op and what was expected. The library never prints an
 * error it returns and never exits or aborts on user error. */
#ifndef JATP_STATUS_H
#define JATP_STATUS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum jt_status {
    JT_OK = 0,
    JT_ERR_IO,
    JT_ERR_PARSE,
    JT_ERR_INVALID_MODEL,
    JT_ERR_UNSUPPORTED,
    JT_ERR_SHAPE,
    JT_ERR_ARG,
    JT_ERR_OOM,
    JT_ERR_DEVICE,
    JT_ERR_NUMERIC,
    JT_ERR_INTERNAL
} jt_status;

typedef enum jt_log_level {
    JT_LOG_ERROR = 0,
    JT_LOG_WARN,
    JT_LOG_INFO,
    JT_LOG_DEBUG,
    JT_LOG_TRACE
} jt_log_level;

typedef struct jt_ctx jt_ctx;
typedef struct jt_pool jt_pool;

typedef void (*jt_log_sink)(void *user, jt_log_level level, const char *msg);

/* threads <= 0 means: the number of online cores. */
jt_status jt_ctx_create(int threads, jt_ctx **out);
void jt_ctx_free(jt_ctx *ctx);

int jt_ctx_threads(const jt_ctx *ctx);
/* The run seed: key of every random draw (dropout, init, shuffles); default 0. */
void jt_ctx_set_seed(jt_ctx *ctx, uint64_t seed);
uint64_t jt_ctx_seed(const jt_ctx *ctx);
jt_pool *jt_ctx_pool(jt_ctx *ctx);

/* Formats a message into the error record (replacing it) and returns st. */
jt_status jt_fail(jt_ctx *ctx, jt_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends a line to the error record (multi-line reports); capped at 64 KiB with "(+N more)". */
void jt_error_append(jt_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "prefix: " to the current message (adds context while an error travels up). */
void jt_error_prefix(jt_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *jt_ctx_error(const jt_ctx *ctx);
jt_status jt_ctx_last_status(const jt_ctx *ctx);
void jt_ctx_clear_error(jt_ctx *ctx);
const char *jt_status_str(jt_status st);

void jt_ctx_set_log(jt_ctx *ctx, jt_log_level level, jt_log_sink sink, void *user);
jt_log_level jt_ctx_log_level(const jt_ctx *ctx);
void jt_log(jt_ctx *ctx, jt_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define JT_TRY(expr)                                                                               \
    do {                                                                                           \
        jt_status s_ = (expr);                                                                     \
        if (s_ != JT_OK) return s_;                                                                \
    } while (0)

/* Programmer errors only (never user input); stays on in release builds. */
void jt_assert_fail(const char *file, int line, const char *expr);
#define JT_ASSERT(x)                                                                               \
    do {                                                                                           \
        if (!(x)) jt_assert_fail(__FILE__, __LINE__, #x);                                          \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
