/* Gradient-check cases for the norm family (see gradcheck.h for the row format). */
#include "gradcheck.h"

const gc_case gc_cases_norm[] = {
    {0}, /* sentinel: keeps the array non-empty */
};
const int gc_n_cases_norm = (int)(sizeof gc_cases_norm / sizeof gc_cases_norm[0]);
