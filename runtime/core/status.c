/* The context object: error record, log sink, thread pool. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "jatp/status.h"

#define ERR_CAP (64 * 1024)

struct jt_ctx {
    char *err;       /* growable, NUL-terminated */
    size_t err_len, err_cap;
    size_t err_dropped; /* lines not stored because of the cap */
    jt_status last;
    jt_log_level log_level;
    jt_log_sink sink;
    void *sink_user;
    int threads;
    jt_pool *pool;
    uint64_t seed;
};

static void default_sink(void *user, jt_log_level level, const char *msg) {
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    (void)user;
    fprintf(stderr, "jatp: %s: %s\n", names[level], msg);
}

jt_status jt_ctx_create(int threads, jt_ctx **out) {
    *out = NULL;
    jt_ctx *c = calloc(1, sizeof *c);
    if (!c) return JT_ERR_OOM;
    c->log_level = JT_LOG_WARN;
    const char *env = getenv("JATP_LOG");
    if (env) {
        static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
        for (int i = 0; i < 5; i++)
            if (strcmp(env, names[i]) == 0) c->log_level = (jt_log_level)i;
    }
    c->sink = default_sink;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    if (threads > 256) threads = 256;
    c->threads = threads;
    jt_status st = jt_pool_create(c, threads, &c->pool);
    if (st != JT_OK) {
        free(c->err);
        free(c);
        return st;
    }
    *out = c;
    return JT_OK;
}

void jt_ctx_free(jt_ctx *c) {
    if (!c) return;
    jt_pool_free(c->pool);
    free(c->err);
    free(c);
}

int jt_ctx_threads(const jt_ctx *c) { return c->threads; }
void jt_ctx_set_seed(jt_ctx *c, uint64_t seed) { c->seed = seed; }
uint64_t jt_ctx_seed(const jt_ctx *c) { return c->seed; }
jt_pool *jt_ctx_pool(jt_ctx *c) { return c->pool; }

static void err_reserve(jt_ctx *c, size_t need) {
    if (need + 1 <= c->err_cap) return;
    size_t cap = c->err_cap ? c->err_cap : 256;
    while (cap < need + 1) cap *= 2;
    char *p = realloc(c->err, cap);
    if (!p) return;
    c->err = p;
    c->err_cap = cap;
}

static void err_vappend(jt_ctx *c, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    if (c->err_len + (size_t)n > ERR_CAP) {
        c->err_dropped++;
        return;
    }
    err_reserve(c, c->err_len + (size_t)n);
    if (c->err_cap < c->err_len + (size_t)n + 1) return;
    vsnprintf(c->err + c->err_len, (size_t)n + 1, fmt, ap);
    c->err_len += (size_t)n;
}

jt_status jt_fail(jt_ctx *c, jt_status st, const char *fmt, ...) {
    if (!c) return st;
    c->err_len = 0;
    c->err_dropped = 0;
    if (c->err) c->err[0] = 0;
    va_list ap;
    va_start(ap, fmt);
    err_vappend(c, fmt, ap);
    va_end(ap);
    c->last = st;
    return st;
}

void jt_error_append(jt_ctx *c, const char *fmt, ...) {
    if (!c) return;
    va_list ap;
    va_start(ap, fmt);
    if (c->err_len > 0) {
        err_reserve(c, c->err_len + 1);
        if (c->err_len + 1 <= ERR_CAP && c->err_cap > c->err_len + 1) {
            c->err[c->err_len++] = '\n';
            c->err[c->err_len] = 0;
        }
    }
    err_vappend(c, fmt, ap);
    va_end(ap);
}

void jt_error_prefix(jt_ctx *c, const char *fmt, ...) {
    if (!c) return;
    char pre[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof pre) n = sizeof pre - 1;
    size_t add = (size_t)n + 2;
    err_reserve(c, c->err_len + add);
    if (c->err_cap < c->err_len + add + 1) return;
    memmove(c->err + add, c->err, c->err_len + 1);
    memcpy(c->err, pre, (size_t)n);
    c->err[n] = ':';
    c->err[n + 1] = ' ';
    c->err_len += add;
}

const char *jt_ctx_error(const jt_ctx *c) {
    static const char *const none = "";
    if (!c || !c->err) return none;
    if (c->err_dropped) {
        /* the note is appended lazily so that the cap test stays simple */
        jt_ctx *m = (jt_ctx *)c;
        char note[64];
        int n = snprintf(note, sizeof note, "\n(+%zu more)", c->err_dropped);
        m->err_dropped = 0;
        err_reserve(m, m->err_len + (size_t)n);
        if (m->err_cap > m->err_len + (size_t)n) {
            memcpy(m->err + m->err_len, note, (size_t)n + 1);
            m->err_len += (size_t)n;
        }
    }
    return c->err;
}

jt_status jt_ctx_last_status(const jt_ctx *c) { return c->last; }

void jt_ctx_clear_error(jt_ctx *c) {
    c->err_len = 0;
    c->err_dropped = 0;
    c->last = JT_OK;
    if (c->err) c->err[0] = 0;
}

const char *jt_status_str(jt_status st) {
    switch (st) {
    case JT_OK: return "ok";
    case JT_ERR_IO: return "i/o error";
    case JT_ERR_PARSE: return "parse error";
    case JT_ERR_INVALID_MODEL: return "invalid model";
    case JT_ERR_UNSUPPORTED: return "unsupported";
    case JT_ERR_SHAPE: return "shape error";
    case JT_ERR_ARG: return "invalid argument";
    case JT_ERR_OOM: return "out of memory";
    case JT_ERR_DEVICE: return "device error";
    case JT_ERR_NUMERIC: return "numeric error";
    case JT_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

void jt_ctx_set_log(jt_ctx *c, jt_log_level level, jt_log_sink sink, void *user) {
    c->log_level = level;
    if (sink) {
        c->sink = sink;
        c->sink_user = user;
    }
}

jt_log_level jt_ctx_log_level(const jt_ctx *c) { return c->log_level; }

void jt_log(jt_ctx *c, jt_log_level level, const char *fmt, ...) {
    if (!c || level > c->log_level) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->sink(c->sink_user, level, buf);
}

void jt_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "jatp: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}
