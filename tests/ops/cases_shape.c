/* Gradient-check cases for the shape family (see gradcheck.h for the row format). */
#include "gradcheck.h"

const gc_case gc_cases_shape[] = {
    {0}, /* sentinel: keeps the array non-empty */
};
const int gc_n_cases_shape = (int)(sizeof gc_cases_shape / sizeof gc_cases_shape[0]);
