/* oneDNN convolution fast path (conv_onednn.c), present with JT_HAVE_ONEDNN only. */
#ifndef JATP_OPS_CONV_ONEDNN_H
#define JATP_OPS_CONV_ONEDNN_H

#include <stdbool.h>
#include <stddef.h>

#include "op.h"

#ifdef JT_HAVE_ONEDNN
jt_status jt_conv_dnnl_prepare(const jt_kernel_args *a, void **state);
void jt_conv_dnnl_release(void *state);
/* Workspace bytes of the oneDNN path (0 when it does not apply). */
size_t jt_conv_dnnl_workspace(const jt_kernel_args *a);
/* Runs the convolution; false when there is no oneDNN state (the caller falls back to im2col). */
bool jt_conv_dnnl_run(const jt_kernel_args *a);
#endif

#endif
