/* Gradient-check cases for the norm family (see gradcheck.h for the row format). Inputs: X, scale, B,
 * input_mean, input_var (wrt bits 1, 2, 4; the statistics never take a gradient). Training rows check
 * output Y only: the running-statistics outputs depend on X but receive no gradient by design. */
#include "gradcheck.h"

const gc_case gc_cases_norm[] = {
    {"BatchNormalization", "inference 4-D", {"2,3,4,4", "3", "3", "3", "3"}, "", .wrt = 7, .ranges = "4:0.5:1.5"},
    {"BatchNormalization", "inference X only", {"2,3,4,4", "3", "3", "3", "3"}, "epsilon=0.01", .wrt = 1,
     .ranges = "4:0.5:1.5"},
    {"BatchNormalization", "inference scale and B", {"2,3,5", "3", "3", "3", "3"}, "", .wrt = 6, .ranges = "4:0.5:1.5"},
    {"BatchNormalization", "inference 2-D", {"4,5", "5", "5", "5", "5"}, "", .wrt = 7, .ranges = "4:0.5:1.5"},
    {"BatchNormalization", "inference large planes", {"2,2,9,9", "2", "2", "2", "2"}, "", .wrt = 7,
     .ranges = "4:0.5:1.5"},
    {"BatchNormalization", "training 4-D", {"2,3,4,4", "3", "3", "3", "3"}, "training_mode=1", .wrt = 7,
     .ranges = "4:0.5:1.5", .opset = 15},
    {"BatchNormalization", "training X only", {"3,2,3,3", "2", "2", "2", "2"}, "training_mode=1 epsilon=0.001",
     .wrt = 1, .ranges = "4:0.5:1.5", .opset = 14},
    {"BatchNormalization", "training 2-D", {"6,3", "3", "3", "3", "3"}, "training_mode=1", .wrt = 7,
     .ranges = "4:0.5:1.5", .opset = 15},
    {"BatchNormalization", "training large planes", {"2,2,9,9", "2", "2", "2", "2"}, "training_mode=1", .wrt = 7,
     .ranges = "4:0.5:1.5", .opset = 15},
    {"BatchNormalization", "inference spatial=0 (opset 7)", {"2,3,2,2", "3,2,2", "3,2,2", "3,2,2", "3,2,2"},
     "spatial=0", .wrt = 7, .ranges = "4:0.5:1.5", .opset = 7},
};
const int gc_n_cases_norm = (int)(sizeof gc_cases_norm / sizeof gc_cases_norm[0]);
