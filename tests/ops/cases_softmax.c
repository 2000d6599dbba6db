/* Gradient-check cases for the softmax family (see gradcheck.h for the row format). The objective is
 * a random-cotangent dot product, so the Softmax gradient is not identically zero. */
#include "gradcheck.h"

#define SM_ROWS(OP)                                                                                          \
    {OP, "13 last axis", {"3,5"}, .wrt = 1, .ranges = "0:-3:3"},                                            \
    {OP, "13 middle axis", {"2,4,3"}, "axis=1", .wrt = 1, .ranges = "0:-3:3"},                              \
    {OP, "13 axis 0", {"4,3"}, "axis=0", .wrt = 1, .ranges = "0:-3:3"},                                     \
    {OP, "13 negative axis", {"2,3,4"}, "axis=-2", .wrt = 1, .ranges = "0:-3:3"},                           \
    {OP, "13 wide inner (column blocks)", {"2,3,300"}, "axis=1", .wrt = 1},                                 \
    {OP, "13 large (directions)", {"4,3,500"}, "axis=-1", .wrt = 1},                                        \
    {OP, "11 default axis coerces 2-D", {"2,3,4"}, .wrt = 1, .opset = 11, .ranges = "0:-3:3"},              \
    {OP, "11 axis 0", {"3,4"}, "axis=0", .wrt = 1, .opset = 11, .ranges = "0:-3:3"},                        \
    {OP, "11 axis 2 of 4-D", {"2,2,3,2"}, "axis=2", .wrt = 1, .opset = 11, .ranges = "0:-3:3"},             \
    {OP, "11 negative axis", {"2,3,4"}, "axis=-1", .wrt = 1, .opset = 11, .ranges = "0:-3:3"},              \
    {OP, "1 default axis", {"3,2,2"}, .wrt = 1, .opset = 1, .ranges = "0:-3:3"}

const gc_case gc_cases_softmax[] = {
    SM_ROWS("Softmax"),
    SM_ROWS("LogSoftmax"),
};
const int gc_n_cases_softmax = (int)(sizeof gc_cases_softmax / sizeof gc_cases_softmax[0]);
