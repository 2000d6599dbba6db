/* Gradient-check cases for the reduce family (see gradcheck.h for the row format). */
#include "gradcheck.h"

const gc_case gc_cases_reduce[] = {
    {0}, /* sentinel: keeps the array non-empty */
};
const int gc_n_cases_reduce = (int)(sizeof gc_cases_reduce / sizeof gc_cases_reduce[0]);
