/* Gradient-check cases for the gemm family (see gradcheck.h for the row format). */
#include "gradcheck.h"

const gc_case gc_cases_gemm[] = {
    {"Gemm", "plain, C vector", {"3,4", "4,5", "5"}, "", .wrt = 7},
    {"Gemm", "transA", {"4,3", "4,5", "3,5"}, "transA=1 alpha=0.7 beta=1.3", .wrt = 7},
    {"Gemm", "transB", {"3,4", "5,4", "3,1"}, "transB=1 alpha=1.5", .wrt = 7},
    {"Gemm", "transA transB", {"4,3", "5,4", "1,5"}, "transA=1 transB=1 beta=0.5", .wrt = 7},
    {"Gemm", "scalar C", {"3,4", "4,5", "scalar"}, "alpha=2.0 beta=-0.5", .wrt = 7},
    {"Gemm", "C column broadcast", {"4,3", "4,2", "3,1"}, "transA=1", .wrt = 7},
    {"Gemm", "no C", {"2,6", "3,6"}, "transB=1", .wrt = 3},
    {"Gemm", "B only (frozen A)", {"3,4", "4,5", "5"}, "", .wrt = 2},
    {"MatMul", "2-D", {"3,4", "4,5"}, "", .wrt = 3},
    {"MatMul", "batched", {"2,3,4", "2,4,5"}, "", .wrt = 3},
    {"MatMul", "batch x matrix", {"2,3,3,4", "4,5"}, "", .wrt = 3},
    {"MatMul", "matrix x batch", {"3,4", "2,4,5"}, "", .wrt = 3},
    {"MatMul", "broadcast batch", {"2,1,3,4", "3,4,5"}, "", .wrt = 3},
    {"MatMul", "broadcast both", {"1,2,3,4", "3,1,4,2"}, "", .wrt = 3},
    {"MatMul", "1-D x batch", {"4", "2,4,5"}, "", .wrt = 3},
    {"MatMul", "batch x 1-D", {"2,3,4", "4"}, "", .wrt = 3},
    {"MatMul", "1-D x 2-D", {"4", "4,3"}, "", .wrt = 3},
    {"MatMul", "2-D x 1-D", {"3,4", "4"}, "", .wrt = 3},
    {"MatMul", "dot", {"5", "5"}, "", .wrt = 3},
};
const int gc_n_cases_gemm = (int)(sizeof gc_cases_gemm / sizeof gc_cases_gemm[0]);
