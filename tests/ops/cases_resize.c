/* Gradient-check cases for the resize family (see gradcheck.h for the row format). */
#include "gradcheck.h"

const gc_case gc_cases_resize[] = {
    {0}, /* sentinel: keeps the array non-empty */
};
const int gc_n_cases_resize = (int)(sizeof gc_cases_resize / sizeof gc_cases_resize[0]);
