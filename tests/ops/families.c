/* The gradient-check families; each cases_<family>.c defines its table. */
#include "gradcheck.h"

extern const gc_case gc_cases_elementwise[];
extern const int gc_n_cases_elementwise;
extern const gc_case gc_cases_softmax[];
extern const int gc_n_cases_softmax;
extern const gc_case gc_cases_reduce[];
extern const int gc_n_cases_reduce;
extern const gc_case gc_cases_shape[];
extern const int gc_n_cases_shape;
extern const gc_case gc_cases_resize[];
extern const int gc_n_cases_resize;
extern const gc_case gc_cases_conv[];
extern const int gc_n_cases_conv;
extern const gc_case gc_cases_gemm[];
extern const int gc_n_cases_gemm;
extern const gc_case gc_cases_pool[];
extern const int gc_n_cases_pool;
extern const gc_case gc_cases_norm[];
extern const int gc_n_cases_norm;
extern const gc_case gc_cases_autograd[];
extern const int gc_n_cases_autograd;
extern const gc_case gc_cases_loss[];
extern const int gc_n_cases_loss;
extern const gc_case gc_cases_attack[];
extern const int gc_n_cases_attack;

const gc_family gc_families[] = {
    {"elementwise", gc_cases_elementwise, &gc_n_cases_elementwise},
    {"softmax", gc_cases_softmax, &gc_n_cases_softmax},
    {"reduce", gc_cases_reduce, &gc_n_cases_reduce},
    {"shape", gc_cases_shape, &gc_n_cases_shape},
    {"resize", gc_cases_resize, &gc_n_cases_resize},
    {"conv", gc_cases_conv, &gc_n_cases_conv},
    {"gemm", gc_cases_gemm, &gc_n_cases_gemm},
    {"pool", gc_cases_pool, &gc_n_cases_pool},
    {"norm", gc_cases_norm, &gc_n_cases_norm},
    {"autograd", gc_cases_autograd, &gc_n_cases_autograd},
    {"loss", gc_cases_loss, &gc_n_cases_loss},
    {"attack", gc_cases_attack, &gc_n_cases_attack},
};
const int gc_n_families = (int)(sizeof gc_families / sizeof gc_families[0]);
