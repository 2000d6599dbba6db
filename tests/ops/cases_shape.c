/* Gradient-check cases for the shape family (see gradcheck.h for the row format). Data movement is
 * linear in X, so finite differences are exact up to rounding. */
#include <stddef.h>

#include "gradcheck.h"

const gc_case gc_cases_shape[] = {
    /* views: dX = Reshape(dY, Shape(X)) */
    {"Identity", "3x4", {"3,4"}, .wrt = 1},
    {"Reshape", "-1 entry", {"2,3,4", "2"}, .wrt = 1, .ints = {NULL, "4,-1"}},
    {"Reshape", "0 copies a dim", {"2,3,4", "3"}, .wrt = 1, .ints = {NULL, "0,-1,2"}, .opset = 13},
    {"Flatten", "axis 2", {"2,3,4,5"}, .attrs = "axis=2", .wrt = 1},
    {"Flatten", "axis -1", {"2,3,4"}, .attrs = "axis=-1", .wrt = 1},
    {"Squeeze", "axes input -2", {"2,1,3", "1"}, .wrt = 1, .opset = 13, .ints = {NULL, "-2"}},
    {"Squeeze", "all unit dims", {"1,3,1,2"}, .wrt = 1},
    {"Squeeze", "axes attribute", {"2,1,3,1"}, .attrs = "axes=1,-1", .wrt = 1, .opset = 11},
    {"Unsqueeze", "axes input 0,-1", {"2,3", "2"}, .wrt = 1, .ints = {NULL, "0,-1"}, .opset = 13},
    {"Unsqueeze", "axes attribute", {"2,3"}, .attrs = "axes=1,", .wrt = 1, .opset = 11},
    /* permutations */
    {"Transpose", "perm 2,0,1", {"2,3,4"}, .attrs = "perm=2,0,1", .wrt = 1},
    {"Transpose", "default reverse", {"2,3,4"}, .wrt = 1},
    {"Transpose", "4-D perm 0,3,1,2", {"2,3,4,5"}, .attrs = "perm=0,3,1,2", .wrt = 1},
    {"DepthToSpace", "DCR b2", {"1,8,2,3"}, .attrs = "blocksize=2", .wrt = 1},
    {"DepthToSpace", "CRD b2", {"2,8,2,3"}, .attrs = "blocksize=2 mode=s:CRD", .wrt = 1},
    {"SpaceToDepth", "b2", {"2,2,4,6"}, .attrs = "blocksize=2", .wrt = 1},
    /* broadcast: dX = SumTo(dY, X) */
    {"Expand", "broadcast 3,1 -> 2,3,4", {"3,1", "3"}, .wrt = 1, .ints = {NULL, "2,3,4"}},
    {"Expand", "shape with ones", {"2,1,4", "3"}, .wrt = 1, .ints = {NULL, "1,3,1"}},
    {"Expand", "same shape", {"2,3", "2"}, .wrt = 1, .ints = {NULL, "2,3"}},
    /* concat / split */
    {"Concat", "axis -1, three inputs", {"2,3", "2,4", "2,1"}, .attrs = "axis=-1", .wrt = 7},
    {"Concat", "axis 1 4-D", {"2,3,2,2", "2,1,2,2"}, .attrs = "axis=1", .wrt = 3},
    {"Concat", "only the second input", {"3,2", "1,2", "2,2"}, .attrs = "axis=0", .wrt = 2},
    {"Split", "sizes 1,2,3 axis 0", {"6,4", "3"}, .wrt = 1, .ints = {NULL, "1,2,3"}, .n_out = 3, .opset = 13},
    {"Split", "equal parts axis -1", {"2,3,6"}, .attrs = "axis=-1", .wrt = 1, .n_out = 2},
    {"Split", "num_outputs 3 (opset 18)", {"2,7"}, .attrs = "axis=1 num_outputs=3", .wrt = 1, .n_out = 3,
     .opset = 18},
    {"Split", "split attribute (opset 11)", {"5,2"}, .attrs = "axis=0 split=2,3", .wrt = 1, .n_out = 2,
     .opset = 11},
    /* slice: scatter into zeros */
    {"Slice", "starts/ends axis 1", {"3,6", "1", "1"}, .wrt = 1, .ints = {NULL, "1", "5"}},
    {"Slice", "negative axes and steps", {"4,5,6", "2", "2", "2", "2"}, .wrt = 1,
     .ints = {NULL, "3,1", "0,-1", "0,-1", "-1,2"}},
    {"Slice", "step 3 with clamped end", {"7,4", "1", "1", "1", "1"}, .wrt = 1, .ints = {NULL, "1", "100", "0", "3"}},
    {"Slice", "negative step from the end", {"2,9", "1", "1", "1", "1"}, .wrt = 1,
     .ints = {NULL, "-1", "-100", "-1", "-2"}},
    {"Slice", "empty result", {"3,4", "1", "1", "1"}, .wrt = 1, .ints = {NULL, "2", "2", "1"}},
    {"Slice", "attributes (opset 1)", {"4,6"}, .attrs = "starts=1,2 ends=3,-1 axes=0,1", .wrt = 1, .opset = 9},
    /* gather: scatter-add */
    {"Gather", "repeated indices axis 0", {"5,3", "6"}, .wrt = 1, .ints = {NULL, "1,-1,1,0,4,1"}},
    {"Gather", "axis 1, 2-D indices", {"2,4,3", "2,2"}, .attrs = "axis=1", .wrt = 1, .ints = {NULL, "3,0,3,-4"}},
    {"Gather", "axis -1, scalar index", {"3,5", "scalar"}, .attrs = "axis=-1", .wrt = 1, .ints = {NULL, "-2"}},
    {"Gather", "wide rows (several column chunks)", {"3,5000", "4"}, .wrt = 1, .ints = {NULL, "2,0,2,-1"}},
    /* pad */
    {"Pad", "constant", {"2,3,4", "6"}, .wrt = 1, .ints = {NULL, "0,1,2,0,2,1"}},
    {"Pad", "constant with value, crop", {"3,5", "4", "scalar"}, .wrt = 1, .ints = {NULL, "1,-1,-1,2"}},
    {"Pad", "reflect", {"1,2,4,5", "8"}, .attrs = "mode=s:reflect", .wrt = 1,
     .ints = {NULL, "0,0,3,2,0,0,2,4"}},
    {"Pad", "edge", {"2,3,4", "6"}, .attrs = "mode=s:edge", .wrt = 1, .ints = {NULL, "1,0,3,2,4,1"}},
    {"Pad", "edge with crop", {"4,5", "4"}, .attrs = "mode=s:edge", .wrt = 1, .ints = {NULL, "-1,3,2,-2"}},
    {"Pad", "reflect on a unit axis", {"1,3", "4"}, .attrs = "mode=s:reflect", .wrt = 1, .ints = {NULL, "1,2,0,1"}},
    {"Pad", "axes input (opset 18)", {"2,3,4", "4", "", "2"}, .attrs = "mode=s:reflect", .wrt = 1,
     .ints = {NULL, "1,2,2,1", NULL, "-1,1"}, .opset = 18},
    {"Pad", "pads attribute (opset 2)", {"3,4"}, .attrs = "pads=1,2,0,1 mode=s:edge", .wrt = 1, .opset = 2},
    {"Pad", "reflect, large inner blocks", {"2,3,30,40", "8"}, .attrs = "mode=s:reflect", .wrt = 1,
     .ints = {NULL, "0,1,2,3,0,2,1,0"}},
    /* dropout in inference mode: dX = dY */
    {"Dropout", "inference (opset 7)", {"3,4"}, .attrs = "ratio=0.3", .wrt = 1, .opset = 7},
    {"Dropout", "no training_mode (opset 13)", {"3,4", "scalar"}, .wrt = 1, .opset = 13, .ranges = "1:0.2:0.4"},
};
const int gc_n_cases_shape = (int)(sizeof gc_cases_shape / sizeof gc_cases_shape[0]);
