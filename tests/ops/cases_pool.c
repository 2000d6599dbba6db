/* Gradient-check cases for the pool family (see gradcheck.h for the row format). Inputs are continuous
 * random draws, so ties inside a max window (where the gradient is not defined) do not occur; the
 * windows overlap in most rows, so an element can take the gradient of several windows. */
#include "gradcheck.h"

const gc_case gc_cases_pool[] = {
    {"MaxPool", "2x2 s2", {"2,3,6,6"}, "kernel_shape=2,2 strides=2,2", .wrt = 1},
    {"MaxPool", "2x2 s2 odd 7x5 (rows and columns no window covers)", {"2,3,7,5"}, "kernel_shape=2,2 strides=2,2", .wrt = 1},
    {"MaxPool", "3x3 s2 pads", {"1,2,7,7"}, "kernel_shape=3,3 strides=2,2 pads=1,1,1,1", .wrt = 1},
    {"MaxPool", "3x3 s1 overlapping", {"2,2,5,6"}, "kernel_shape=3,3", .wrt = 1},
    {"MaxPool", "asymmetric pads", {"1,2,6,5"}, "kernel_shape=3,3 strides=2,1 pads=0,1,1,0", .wrt = 1},
    {"MaxPool", "ceil_mode", {"1,2,6,6"}, "kernel_shape=3,3 strides=2,2 ceil_mode=1", .wrt = 1},
    {"MaxPool", "ceil_mode pads", {"1,2,8,7"}, "kernel_shape=3,2 strides=3,2 pads=1,1,1,0 ceil_mode=1", .wrt = 1},
    {"MaxPool", "dilation", {"1,2,7,7"}, "kernel_shape=2,2 dilations=2,2", .wrt = 1},
    {"MaxPool", "SAME_UPPER", {"1,2,7,6"}, "kernel_shape=3,3 strides=2,2 auto_pad=s:SAME_UPPER", .wrt = 1},
    {"MaxPool", "1-D", {"2,3,9"}, "kernel_shape=3, strides=2, pads=1,1", .wrt = 1},
    {"MaxPool", "3-D", {"1,2,4,4,4"}, "kernel_shape=2,2,2 strides=2,1,2", .wrt = 1},
    {"AveragePool", "2x2 s2", {"2,3,6,6"}, "kernel_shape=2,2 strides=2,2", .wrt = 1},
    {"AveragePool", "pads exclude", {"1,2,6,6"}, "kernel_shape=3,3 strides=2,2 pads=1,1,1,1", .wrt = 1},
    {"AveragePool", "pads include", {"1,2,6,6"}, "kernel_shape=3,3 strides=2,2 pads=1,1,1,1 count_include_pad=1",
     .wrt = 1},
    {"AveragePool", "asymmetric pads include", {"1,2,5,6"}, "kernel_shape=2,3 pads=1,0,0,2 count_include_pad=1",
     .wrt = 1},
    {"AveragePool", "ceil exclude", {"1,2,7,7"}, "kernel_shape=3,3 strides=2,2 pads=1,1,1,1 ceil_mode=1", .wrt = 1},
    {"AveragePool", "ceil include", {"1,2,8,8"},
     "kernel_shape=3,3 strides=2,2 pads=1,1,1,1 ceil_mode=1 count_include_pad=1", .wrt = 1},
    {"AveragePool", "SAME_LOWER", {"1,2,5,5"}, "kernel_shape=2,2 auto_pad=s:SAME_LOWER", .wrt = 1},
    {"AveragePool", "1-D", {"2,3,10"}, "kernel_shape=4, strides=3, pads=2,1 count_include_pad=1", .wrt = 1},
    {"GlobalAveragePool", "4-D", {"2,3,4,5"}, "", .wrt = 1},
    {"GlobalAveragePool", "1-D", {"2,3,7"}, "", .wrt = 1},
    {"GlobalMaxPool", "4-D", {"2,3,4,5"}, "", .wrt = 1},
    {"GlobalMaxPool", "3-D", {"1,2,3,3,2"}, "", .wrt = 1},
};
const int gc_n_cases_pool = (int)(sizeof gc_cases_pool / sizeof gc_cases_pool[0]);
