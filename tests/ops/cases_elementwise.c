/* Gradient-check cases for the element-wise family (see gradcheck.h for the row format). */
#include "gradcheck.h"

const gc_case gc_cases_elementwise[] = {
    {"Relu", "3x4x5", {"3,4,5"}, .wrt = 1, .away = 0.05},
    {"Add", "same shape", {"2,3,4", "2,3,4"}, .wrt = 3},
    {"Add", "broadcast channel", {"2,3,4,5", "3,1,1"}, .wrt = 3},
    {"Add", "broadcast both ways", {"2,1,4", "3,1"}, .wrt = 3},
    {"Sub", "broadcast", {"2,3,4", "4"}, .wrt = 3},
    {"Mul", "broadcast", {"2,3,4", "3,1"}, .wrt = 3},
    {"Mul", "scalar", {"2,3", "scalar"}, .wrt = 3},
    {"Div", "broadcast", {"2,3,4", "1,4"}, .wrt = 3, .ranges = "1:0.5:2"},
    {"Div", "constant divisor", {"3,5", "5"}, .wrt = 1, .ranges = "1:0.5:2"},
};
const int gc_n_cases_elementwise = (int)(sizeof gc_cases_elementwise / sizeof gc_cases_elementwise[0]);
