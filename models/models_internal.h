/* Helpers shared by the model builders (models/common.c): parameters with PyTorch default init,
 * and the layers the models are made of. Every helper is a no-op returning -1 once the builder has
 * failed (the builder's sticky status). */
#ifndef JATP_MODELS_INTERNAL_H
#define JATP_MODELS_INTERNAL_H

#include "jatp/builder.h"
#include "jatp/models.h"

typedef struct mb {
    jt_gb *b;
    const jt_model_config *cfg;
    jt_model_info *info;
    int32_t state_cap;
    int32_t c02; /* shared float constant 0.2 (RRDB residual scale), -1 until made */
} mb;

void mb_init(mb *m, jt_gb *b, const jt_model_config *cfg, jt_model_info *info);
/* Returns the builder's status (after checking for a failure recorded by a helper). */
jt_status mb_finish(mb *m, int32_t output, int32_t tap);

/* A float32 parameter `name` with elements uniform in [-bound, bound) (init=1) or zero (init=0). */
int32_t mb_param_uniform(mb *m, const char *name, int rank, const int64_t *dims, double bound);
/* A float32 parameter filled with value; extra flags (JT_VALUE_STATE for running statistics). */
int32_t mb_param_fill(mb *m, const char *name, int rank, const int64_t *dims, float value, uint32_t flags);

/* Conv2d(cin, cout, k, stride, pad, bias) named `mod` (params mod.weight, mod.bias). */
int32_t mb_conv(mb *m, const char *mod, int32_t x, int cin, int cout, int k, int stride, int pad, int bias);
/* ConvTranspose2d(cin, cout, k, stride, pad, bias); PyTorch's fan_in = cout * k * k. */
int32_t mb_conv_t(mb *m, const char *mod, int32_t x, int cin, int cout, int k, int stride, int pad, int bias);
/* BatchNorm2d(c) (eps 1e-5, PyTorch momentum 0.1 = ONNX 0.9), eval or training mode per cfg. */
int32_t mb_bn(mb *m, const char *mod, int32_t x, int c);
/* Linear(in, out) on a [N, in] input: Gemm with transB = 1 (weight [out, in] as in PyTorch). */
int32_t mb_linear(mb *m, const char *mod, int32_t x, int in, int out);
int32_t mb_relu(mb *m, const char *name, int32_t x);
int32_t mb_lrelu(mb *m, const char *name, int32_t x, double slope);
int32_t mb_tanh(mb *m, const char *name, int32_t x);
int32_t mb_add(mb *m, const char *name, int32_t a, int32_t b);
/* x * 0.2 */
int32_t mb_scale02(mb *m, const char *name, int32_t x);
int32_t mb_concat(mb *m, const char *name, const int32_t *xs, int n);
/* Flatten(axis=1). */
int32_t mb_flatten(mb *m, const char *name, int32_t x);
int32_t mb_gap(mb *m, const char *name, int32_t x);
/* Bilinear resize (half-pixel centres) of x to the spatial size of `like` (N, C of x). */
int32_t mb_resize_like(mb *m, const char *name, int32_t x, int32_t like);

/* Output size of a convolution along one axis (size < 0: unknown stays unknown). */
int64_t mb_conv_out(int64_t size, int k, int stride, int pad);

/* Formats "<fmt>" into a static-sized buffer owned by the caller. */
const char *mb_name(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fails the builder with JT_ERR_ARG and a message (config errors found by a builder). */
jt_status mb_fail(mb *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
