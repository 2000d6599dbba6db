/* VJP rules of the element-wise family (ew_grad.c) and the grad ops they emit. */
#ifndef JATP_EW_GRAD_H
#define JATP_EW_GRAD_H

#include "op.h"

jt_status jt_vjp_add(jt_vjp_args *v);
jt_status jt_vjp_sub(jt_vjp_args *v);
jt_status jt_vjp_mul(jt_vjp_args *v);
jt_status jt_vjp_div(jt_vjp_args *v);
jt_status jt_vjp_relu(jt_vjp_args *v);

#endif
