/* Gradient-check cases for the conv family (see gradcheck.h for the row format). */
#include "gradcheck.h"

const gc_case gc_cases_conv[] = {
    {0}, /* sentinel: keeps the array non-empty */
};
const int gc_n_cases_conv = (int)(sizeof gc_cases_conv / sizeof gc_cases_conv[0]);
