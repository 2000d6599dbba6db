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
    /* unary (same shape) */
    {"LeakyRelu", "alpha 0.2", {"3,4,5"}, "alpha=0.2", .wrt = 1, .away = 0.05},
    {"LeakyRelu", "default alpha opset 6", {"2,7"}, .wrt = 1, .away = 0.05, .opset = 6},
    {"Sigmoid", "3x4x5", {"3,4,5"}, .wrt = 1, .ranges = "0:-4:4"},
    {"Tanh", "3x4x5", {"3,4,5"}, .wrt = 1, .ranges = "0:-2:2"},
    {"Elu", "alpha 0.5", {"3,4,5"}, "alpha=0.5", .wrt = 1, .ranges = "0:-2:2", .away = 0.05},
    {"Elu", "default alpha", {"4,6"}, .wrt = 1, .ranges = "0:-3:1", .away = 0.05},
    {"Softplus", "wide range", {"3,4,5"}, .wrt = 1, .ranges = "0:-6:6"},
    {"Sqrt", "positive", {"3,4,5"}, .wrt = 1, .ranges = "0:0.2:3"},
    {"Neg", "2x3x4", {"2,3,4"}, .wrt = 1},
    {"Abs", "away from 0", {"3,4,5"}, .wrt = 1, .away = 0.05},
    {"Exp", "3x4x5", {"3,4,5"}, .wrt = 1, .ranges = "0:-2:2"},
    {"Log", "positive", {"3,4,5"}, .wrt = 1, .ranges = "0:0.2:3"},
    /* Clip: bounds are constants drawn away from every x by the ranges' gaps */
    {"Clip", "min and max inputs", {"3,4,5", "scalar", "scalar"}, .wrt = 1,
     .ranges = "0:-1:1 1:-0.6:-0.3 2:0.3:0.6"},
    {"Clip", "min input only", {"4,5", "scalar"}, .wrt = 1, .ranges = "1:-0.4:-0.2"},
    {"Clip", "max input only", {"4,5", "", "scalar"}, .wrt = 1, .ranges = "2:0.2:0.4"},
    {"Clip", "no bounds", {"4,5"}, .wrt = 1},
    {"Clip", "opset 6 attributes", {"3,4,5"}, "min=-0.5 max=0.25", .wrt = 1, .opset = 6},
    {"Clip", "opset 6 defaults", {"3,4"}, .wrt = 1, .opset = 6},
    /* PRelu: slope gradient summed over the broadcast axes */
    {"PRelu", "channel slope", {"2,3,4,4", "3,1,1"}, .wrt = 3, .away = 0.05},
    {"PRelu", "full slope", {"3,4", "3,4"}, .wrt = 3, .away = 0.05},
    {"PRelu", "one slope, x only", {"2,5", "1"}, .wrt = 1, .away = 0.05},
    {"PRelu", "trailing slope, slope only", {"2,3,4", "4"}, .wrt = 2, .away = 0.05},
    /* Pow */
    {"Pow", "broadcast both", {"2,3,4", "4"}, .wrt = 3, .ranges = "0:0.5:2 1:-2:2"},
    {"Pow", "scalar exponent", {"3,5", "scalar"}, .wrt = 3, .ranges = "0:0.5:2 1:1:3"},
    {"Pow", "exponent only, broadcast base", {"2,1", "2,3"}, .wrt = 2, .ranges = "0:0.5:2 1:-2:2"},
    {"Pow", "square, negative base", {"3,4", "scalar"}, .wrt = 1, .ranges = "0:-2:2 1:2:2"},
    {"Pow", "int64 exponent", {"3,4", "scalar"}, .wrt = 1, .ints = {[1] = "3"}, .ranges = "0:-2:2"},
    /* Max/Min: random data has no ties; the selected input gets the gradient */
    {"Max", "two inputs", {"3,4", "3,4"}, .wrt = 3},
    {"Max", "three broadcast", {"2,3,4", "3,1", "4"}, .wrt = 7},
    {"Max", "one input", {"3,4"}, .wrt = 1},
    {"Max", "opset 6 equal shapes", {"2,5", "2,5"}, .wrt = 3, .opset = 6},
    {"Min", "two broadcast", {"2,3,4", "4"}, .wrt = 3},
    {"Min", "three, middle only", {"2,3", "2,3", "1,3"}, .wrt = 2},
    /* Where: the condition is a bool constant ("b:" data) broadcast along the last axis */
    {"Where", "broadcast", {"4", "2,3,4", "4"}, .wrt = 6, .ints = {"b:1,0,0,1"}},
    {"Where", "scalar branch", {"2,3", "2,3", "scalar"}, .wrt = 6, .ints = {"b:1,0,1,1,0,0"}},
    /* Cast float32 <-> float64: in the float64 run it is an identity, in the float32 run a real cast */
    {"Cast", "to double", {"3,4"}, "to=11", .wrt = 1},
};
const int gc_n_cases_elementwise = (int)(sizeof gc_cases_elementwise / sizeof gc_cases_elementwise[0]);
