/* Detects float32-vs-float64 sign flips at ReLU kinks (tests/models/kink.c). */
#ifndef JT_TEST_KINK_H
#define JT_TEST_KINK_H

#include <stddef.h>

#include "jatp/jatp.h"

/* 1 when the float32 and float64 forward runs of DIR/model.onnx on x32 disagree on the sign of a
 * ReLU/LeakyReLU input whose float64 value is within float32 noise of 0 (why describes it); 0 when
 * they agree (a gradient mismatch is then a real failure). */
int jt_test_kink_flip(jt_ctx *ctx, const char *dir, const jt_tensor *x32, char *why, size_t cap);

#endif
