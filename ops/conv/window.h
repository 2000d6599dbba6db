/* Sliding-window arithmetic shared by Conv, ConvTranspose and the pooling ops: auto_pad parsing and
 * per-axis output size / padding. Header-only (static inline), no state. */
#ifndef JATP_OPS_WINDOW_H
#define JATP_OPS_WINDOW_H

#include <stdint.h>
#include <string.h>

#include "op.h"

enum jt_auto_pad { JT_PAD_NOTSET = 0, JT_PAD_SAME_UPPER, JT_PAD_SAME_LOWER, JT_PAD_VALID };

/* Parses the auto_pad attribute (default NOTSET); an unknown value fails naming it. */
static inline jt_status jt_parse_auto_pad(jt_ctx *ctx, const jt_graph *g, const jt_node *n, int *out) {
    const char *s;
    JT_TRY(jt_attr_string(ctx, g, n, "auto_pad", "NOTSET", &s));
    if (strcmp(s, "NOTSET") == 0 || s[0] == '\0') *out = JT_PAD_NOTSET;
    else if (strcmp(s, "SAME_UPPER") == 0) *out = JT_PAD_SAME_UPPER;
    else if (strcmp(s, "SAME_LOWER") == 0) *out = JT_PAD_SAME_LOWER;
    else if (strcmp(s, "VALID") == 0) *out = JT_PAD_VALID;
    else
        return jt_node_fail(ctx, g, n, JT_ERR_INVALID_MODEL,
                            "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", s);
    return JT_OK;
}

static inline int64_t jt_div_floor(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t jt_div_ceil(int64_t a, int64_t b) { return -jt_div_floor(-a, b); }

/* Forward window (Conv, pools) along one axis. in: input size, k: kernel, s: stride, d: dilation;
 * *pb and *pe hold the explicit pads on entry (NOTSET) and the effective ones on return. ceil_mode as in
 * the pooling ops (the last window must start inside the input or the leading padding, as PyTorch
 * and ONNX Runtime do). Returns the output size (may be <= 0: the caller rejects it). */
static inline int64_t jt_window_out(int auto_pad, int64_t in, int64_t k, int64_t s, int64_t d,
                                    int ceil_mode, int64_t *pb, int64_t *pe) {
    int64_t ek = (k - 1) * d + 1, out;
    switch (auto_pad) {
    case JT_PAD_SAME_UPPER:
    case JT_PAD_SAME_LOWER: {
        out = jt_div_ceil(in, s);
        int64_t total = (out - 1) * s + ek - in;
        if (total < 0) total = 0;
        if (auto_pad == JT_PAD_SAME_UPPER) { *pb = total / 2; *pe = total - *pb; }
        else { *pe = total / 2; *pb = total - *pe; }
        return out;
    }
    case JT_PAD_VALID: *pb = *pe = 0; /* fall through */
    default: {
        int64_t span = in + *pb + *pe - ek;
        if (span < 0) return 0;
        out = (ceil_mode ? jt_div_ceil(span, s) : span / s) + 1;
        if (ceil_mode && (out - 1) * s >= in + *pb) out--;
        return out;
    }
    }
}

#endif
