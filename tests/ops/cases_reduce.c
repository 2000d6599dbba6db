/* Gradient-check cases for the reduce family (see gradcheck.h for the row format). ReduceMax rows
 * use random data, which has no ties; every axis form (attribute, constant input, none, negative),
 * keepdims 0/1 and noop_with_empty_axes are covered. */
#include "gradcheck.h"

const gc_case gc_cases_reduce[] = {
    /* ReduceSum: axes attribute (opset 11) and input (13) */
    {"ReduceSum", "11 axis 1 keepdims", {"2,3,4"}, "axes=1,", .wrt = 1, .opset = 11},
    {"ReduceSum", "11 axes 0,2 no keepdims", {"2,3,4"}, "axes=0,2 keepdims=0", .wrt = 1, .opset = 11},
    {"ReduceSum", "11 negative axis", {"2,3,4"}, "axes=-1, keepdims=0", .wrt = 1, .opset = 11},
    {"ReduceSum", "11 all axes", {"3,4"}, "keepdims=0", .wrt = 1, .opset = 11},
    {"ReduceSum", "13 axes input", {"2,3,4", "1"}, .wrt = 1, .ints = {[1] = "1"}, .opset = 13},
    {"ReduceSum", "13 axes input -1,0 no keepdims", {"2,3,4", "2"}, "keepdims=0", .wrt = 1,
     .ints = {[1] = "-1,0"}, .opset = 13},
    {"ReduceSum", "13 no axes: all", {"2,3"}, .wrt = 1, .opset = 13},
    {"ReduceSum", "13 empty axes: all", {"2,3", "0"}, "keepdims=0", .wrt = 1, .ints = {[1] = ""}, .opset = 13},
    {"ReduceSum", "13 no axes, noop", {"2,3"}, "noop_with_empty_axes=1", .wrt = 1, .opset = 13},
    {"ReduceSum", "13 large (directions)", {"8,16,40", "1"}, .wrt = 1, .ints = {[1] = "1"}, .opset = 13},
    {"ReduceSum", "13 rank 1", {"7", "1"}, "keepdims=0", .wrt = 1, .ints = {[1] = "0"}, .opset = 13},
    /* ReduceMean: attribute through 13, input from 18 */
    {"ReduceMean", "13 axes 1,2 keepdims", {"2,3,4,2"}, "axes=1,2", .wrt = 1, .opset = 13},
    {"ReduceMean", "13 axis -3 no keepdims", {"2,3,4"}, "axes=-3, keepdims=0", .wrt = 1, .opset = 13},
    {"ReduceMean", "13 all axes", {"3,5"}, .wrt = 1, .opset = 13},
    {"ReduceMean", "18 axes input", {"2,3,4", "2"}, .wrt = 1, .ints = {[1] = "0,2"}, .opset = 18},
    {"ReduceMean", "18 axes input no keepdims", {"3,4", "1"}, "keepdims=0", .wrt = 1, .ints = {[1] = "-1"},
     .opset = 18},
    {"ReduceMean", "18 no axes, noop", {"2,3"}, "noop_with_empty_axes=1", .wrt = 1, .opset = 18},
    /* ReduceMax: gradient to the maximum */
    {"ReduceMax", "13 axis 1 keepdims", {"2,5,3"}, "axes=1,", .wrt = 1, .opset = 13},
    {"ReduceMax", "13 axes 0,2 no keepdims", {"3,2,4"}, "axes=0,2 keepdims=0", .wrt = 1, .opset = 13},
    {"ReduceMax", "13 negative axis", {"2,3,6"}, "axes=-1, keepdims=0", .wrt = 1, .opset = 13},
    {"ReduceMax", "13 all axes", {"4,5"}, "keepdims=0", .wrt = 1, .opset = 13},
    {"ReduceMax", "11 axis 0", {"4,3"}, "axes=0,", .wrt = 1, .opset = 11},
    {"ReduceMax", "18 axes input", {"2,3,4", "1"}, .wrt = 1, .ints = {[1] = "1"}, .opset = 18},
    {"ReduceMax", "18 axes input no keepdims", {"2,3,4", "2"}, "keepdims=0", .wrt = 1, .ints = {[1] = "2,0"},
     .opset = 18},
    {"ReduceMax", "18 no axes: all", {"3,4"}, .wrt = 1, .opset = 18},
    {"ReduceMax", "18 no axes, noop", {"3,4"}, "noop_with_empty_axes=1", .wrt = 1, .opset = 18},
};
const int gc_n_cases_reduce = (int)(sizeof gc_cases_reduce / sizeof gc_cases_reduce[0]);
