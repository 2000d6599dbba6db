/* Gradient-check cases for the conv family (see gradcheck.h for the row format). wrt bits: 1 X, 2 W,
 * 4 B. Sizes are chosen so that every path runs: per-image GEMM (out_sz >= 512), image chunks (small
 * outputs, including a last partial chunk), pointwise 1x1 (direct and chunked), depthwise loops. */
#include "gradcheck.h"

const gc_case gc_cases_conv[] = {
    {"Conv", "3x3 s1 p1 bias", {"2,3,7,7", "4,3,3,3", "4"}, "pads=1,1,1,1", .wrt = 7},
    {"Conv", "3x3 s2 asymmetric pads", {"2,3,9,8", "4,3,3,2"}, "strides=2,2 pads=1,0,0,1", .wrt = 3},
    {"Conv", "dilation 2", {"1,2,9,9", "3,2,3,3", "3"}, "dilations=2,2 pads=2,1,1,2", .wrt = 7},
    {"Conv", "groups 2", {"2,4,6,6", "6,2,3,3", "6"}, "group=2 pads=1,1,1,1", .wrt = 7},
    {"Conv", "depthwise s2", {"2,4,7,7", "4,1,3,3", "4"}, "group=4 strides=2,2 pads=1,1,1,1", .wrt = 7},
    {"Conv", "depthwise x2 dilated", {"1,3,6,7", "6,1,3,3"}, "group=3 pads=1,2,2,1 dilations=2,2", .wrt = 3},
    {"Conv", "1x1 bias", {"2,5,4,4", "3,5,1,1", "3"}, "", .wrt = 7},
    {"Conv", "1x1 per image", {"1,3,24,24", "2,3,1,1"}, "", .wrt = 3},
    {"Conv", "1x1 stride 2", {"2,4,5,5", "3,4,1,1"}, "strides=2,2", .wrt = 3},
    {"Conv", "per-image GEMM", {"2,2,24,24", "2,2,3,3", "2"}, "pads=1,1,1,1", .wrt = 7},
    {"Conv", "partial last chunk", {"7,2,10,10", "3,2,3,3", "3"}, "pads=1,1,1,1", .wrt = 7},
    {"Conv", "1-D s2 dilation", {"2,3,10", "4,3,3", "4"}, "strides=2, pads=1,2 dilations=2,", .wrt = 7},
    {"Conv", "SAME_UPPER s2", {"1,2,7,7", "3,2,3,3"}, "auto_pad=s:SAME_UPPER strides=2,2", .wrt = 3},
    {"Conv", "SAME_LOWER even kernel", {"1,2,6,6", "2,2,4,4"}, "auto_pad=s:SAME_LOWER", .wrt = 3},
    {"Conv", "VALID kernel_shape", {"2,2,5,6", "3,2,2,3"}, "auto_pad=s:VALID kernel_shape=2,3", .wrt = 3},
    {"Conv", "3-D", {"1,2,4,4,4", "2,2,2,2,2", "2"}, "strides=2,1,1 pads=1,0,0,0,1,1", .wrt = 7},
    {"Conv", "X only (frozen W)", {"2,3,6,6", "4,3,3,3", "4"}, "pads=1,1,1,1", .wrt = 1},
    {"Conv", "W and B only", {"2,3,6,6", "4,3,3,3", "4"}, "strides=2,2", .wrt = 6},
    {"ConvTranspose", "s2 p1 output_padding", {"2,3,4,4", "3,2,3,3", "2"},
     "strides=2,2 pads=1,1,1,1 output_padding=1,1", .wrt = 7},
    {"ConvTranspose", "groups 2", {"1,4,3,3", "4,2,3,3"}, "group=2 strides=2,2", .wrt = 3},
    {"ConvTranspose", "1-D dilation", {"2,2,5", "2,3,3", "3"}, "dilations=2, pads=1,0", .wrt = 7},
    {"ConvTranspose", "depthwise", {"1,3,4,4", "3,1,3,3", "3"}, "group=3 strides=2,2 pads=1,1,1,1", .wrt = 7},
    {"ConvTranspose", "SAME_UPPER s2", {"1,2,3,3", "2,2,3,3"}, "strides=2,2 auto_pad=s:SAME_UPPER", .wrt = 3},
    {"ConvTranspose", "output_shape", {"1,2,3,3", "2,3,3,3"}, "strides=2,2 output_shape=8,7", .wrt = 3},
    {"ConvTranspose", "output_shape with N, C", {"1,2,3,3", "2,3,3,3"}, "strides=2,2 output_shape=1,3,7,8", .wrt = 3},
    {"ConvTranspose", "1-D output_shape with N, C", {"2,2,4", "2,1,3"}, "strides=2, output_shape=2,1,9", .wrt = 3},
    {"ConvTranspose", "1x1 bias", {"2,3,4,4", "3,2,1,1", "2"}, "", .wrt = 7},
    {"ConvTranspose", "large output", {"1,2,12,12", "2,2,3,3"}, "strides=2,2", .wrt = 3},
};
const int gc_n_cases_conv = (int)(sizeof gc_cases_conv / sizeof gc_cases_conv[0]);
