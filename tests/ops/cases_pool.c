/* Gradient-check cases for the pool family (see gradcheck.h for the row format). */
#include "gradcheck.h"

const gc_case gc_cases_pool[] = {
    {0}, /* sentinel: keeps the array non-empty */
};
const int gc_n_cases_pool = (int)(sizeof gc_cases_pool / sizeof gc_cases_pool[0]);
