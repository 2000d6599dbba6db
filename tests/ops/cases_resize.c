/* Gradient-check cases for the resize family (see gradcheck.h for the row format). Resize is linear in
 * X (the weights depend only on the geometry), so finite differences are exact up to rounding. Inputs:
 * Resize-11+ (X, roi, scales, sizes); Resize-10 and Upsample-9 (X, scales). Scales rows use a constant
 * range ("2:2:2": every scale 2), sizes rows int64 data. */
#include <stddef.h>

#include "gradcheck.h"

const gc_case gc_cases_resize[] = {
    /* linear */
    {"Resize", "linear half_pixel up 2x", {"1,2,3,4", "", "4"}, .attrs = "mode=s:linear", .wrt = 1,
     .ranges = "2:2:2", .opset = 13},
    {"Resize", "linear half_pixel sizes 3x5 -> 7x4", {"2,1,3,5", "", "", "4"}, .attrs = "mode=s:linear", .wrt = 1,
     .ints = {NULL, NULL, NULL, "2,1,7,4"}, .opset = 13},
    {"Resize", "linear align_corners sizes", {"1,2,4,3", "", "", "4"},
     .attrs = "mode=s:linear coordinate_transformation_mode=s:align_corners", .wrt = 1,
     .ints = {NULL, NULL, NULL, "1,2,7,5"}, .opset = 13},
    {"Resize", "linear align_corners down", {"1,1,6,7", "", "", "4"},
     .attrs = "mode=s:linear coordinate_transformation_mode=s:align_corners", .wrt = 1,
     .ints = {NULL, NULL, NULL, "1,1,3,4"}, .opset = 13},
    {"Resize", "linear asymmetric up 2x", {"1,2,3,3", "", "4"},
     .attrs = "mode=s:linear coordinate_transformation_mode=s:asymmetric", .wrt = 1, .ranges = "2:2:2",
     .opset = 13},
    {"Resize", "linear pytorch_half_pixel", {"1,1,5,4", "", "", "4"},
     .attrs = "mode=s:linear coordinate_transformation_mode=s:pytorch_half_pixel", .wrt = 1,
     .ints = {NULL, NULL, NULL, "1,1,8,1"}, .opset = 13},
    {"Resize", "linear half_pixel down, exclude_outside", {"1,1,8,6", "", "", "4"},
     .attrs = "mode=s:linear exclude_outside=1", .wrt = 1, .ints = {NULL, NULL, NULL, "1,1,3,5"}, .opset = 13},
    {"Resize", "linear 1-D", {"7", "", "", "1"}, .attrs = "mode=s:linear", .wrt = 1, .ints = {NULL, NULL, NULL, "11"},
     .opset = 13},
    {"Resize", "linear tf_crop_and_resize extrapolation", {"1,1,4,5", "8", "", "4"},
     .attrs = "mode=s:linear coordinate_transformation_mode=s:tf_crop_and_resize extrapolation_value=0.5",
     .wrt = 1, .ints = {NULL, NULL, NULL, "1,1,5,6"}, .ranges = "1:-0.3:1.3", .opset = 13},
    {"Resize", "linear axes 2,3 not_larger (opset 18)", {"1,2,4,6", "", "", "2"},
     .attrs = "mode=s:linear axes=2,3 keep_aspect_ratio_policy=s:not_larger", .wrt = 1,
     .ints = {NULL, NULL, NULL, "6,6"}, .opset = 18},
    {"Resize", "linear channels, large inner blocks", {"1,4,40,40", "", "", "4"}, .attrs = "mode=s:linear", .wrt = 1,
     .ints = {NULL, NULL, NULL, "1,7,40,45"}, .opset = 13},
    /* nearest */
    {"Resize", "nearest up 2x (round_prefer_floor)", {"1,2,3,3", "", "4"}, .wrt = 1, .ranges = "2:2:2", .opset = 13},
    {"Resize", "nearest sizes down, floor asymmetric", {"1,1,7,5", "", "", "4"},
     .attrs = "coordinate_transformation_mode=s:asymmetric nearest_mode=s:floor", .wrt = 1,
     .ints = {NULL, NULL, NULL, "1,1,3,2"}, .opset = 13},
    {"Resize", "nearest round_prefer_ceil align_corners", {"1,1,4,3", "", "", "4"},
     .attrs = "coordinate_transformation_mode=s:align_corners nearest_mode=s:round_prefer_ceil", .wrt = 1,
     .ints = {NULL, NULL, NULL, "1,1,7,8"}, .opset = 13},
    {"Resize", "nearest ceil tf_half_pixel_for_nearest", {"1,1,5,4", "", "", "4"},
     .attrs = "coordinate_transformation_mode=s:tf_half_pixel_for_nearest nearest_mode=s:ceil", .wrt = 1,
     .ints = {NULL, NULL, NULL, "1,1,3,9"}, .opset = 13},
    {"Resize", "nearest (opset 10)", {"1,1,3,2", "4"}, .wrt = 1, .ranges = "1:2:2", .opset = 10},
    {"Resize", "linear (opset 10)", {"1,2,3,2", "4"}, .attrs = "mode=s:linear", .wrt = 1, .ranges = "1:2:2",
     .opset = 10},
    /* cubic: the same separable adjoint with 4 taps */
    {"Resize", "cubic half_pixel sizes", {"1,1,5,6", "", "", "4"}, .attrs = "mode=s:cubic", .wrt = 1,
     .ints = {NULL, NULL, NULL, "1,1,9,4"}, .opset = 13},
    {"Resize", "cubic align_corners exclude_outside", {"1,1,4,4", "", "", "4"},
     .attrs = "mode=s:cubic coordinate_transformation_mode=s:align_corners exclude_outside=1 cubic_coeff_a=-0.5",
     .wrt = 1, .ints = {NULL, NULL, NULL, "1,1,6,7"}, .opset = 13},
    /* Upsample */
    {"Upsample", "nearest scales attribute (opset 7)", {"1,2,3,2"}, .attrs = "scales=1.0,1.0,2.0,3.0", .wrt = 1,
     .opset = 7},
    {"Upsample", "linear scales attribute (opset 7)", {"1,2,3,2"}, .attrs = "mode=s:linear scales=1.0,1.0,2.0,1.5",
     .wrt = 1, .opset = 7},
    {"Upsample", "linear scales input (opset 9)", {"1,1,3,4", "4"}, .attrs = "mode=s:linear", .wrt = 1,
     .ranges = "1:2:2", .opset = 9},
};
const int gc_n_cases_resize = (int)(sizeof gc_cases_resize / sizeof gc_cases_resize[0]);
