/* Gradient-check cases for the softmax family (see gradcheck.h for the row format). */
#include "gradcheck.h"

const gc_case gc_cases_softmax[] = {
    {0}, /* sentinel: keeps the array non-empty */
};
const int gc_n_cases_softmax = (int)(sizeof gc_cases_softmax / sizeof gc_cases_softmax[0]);
