/* Gradient-check cases for the autograd helper ops (see gradcheck.h for the row format). */
#include "gradcheck.h"

const gc_case gc_cases_autograd[] = {
    {"SumTo", "channel", {"2,3,4,5", "3,1,1"}, .wrt = 1, .domain = "jatp.grad"},
    {"SumTo", "leading axes", {"2,3,4", "4"}, .wrt = 1, .domain = "jatp.grad"},
    {"SumTo", "identity", {"2,3", "2,3"}, .wrt = 1, .domain = "jatp.grad"},
};
const int gc_n_cases_autograd = (int)(sizeof gc_cases_autograd / sizeof gc_cases_autograd[0]);
