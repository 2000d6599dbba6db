/* Gradient-check cases for the gemm family (see gradcheck.h for the row format). */
#include "gradcheck.h"

const gc_case gc_cases_gemm[] = {
    {0}, /* sentinel: keeps the array non-empty */
};
const int gc_n_cases_gemm = (int)(sizeof gc_cases_gemm / sizeof gc_cases_gemm[0]);
