/* Host/device index math of the shape family, shared by the CPU kernels (C) and the CUDA kernels
 * (nvcc), so both backends compute the same positions and the same dropout masks. */
#ifndef JATP_SHAPE_HD_H
#define JATP_SHAPE_HD_H

#include <stdint.h>

#include "op.h"
#include "runtime/core/philox.h"

/* Pad modes (Pad, PadGrad). */
enum { JT_PAD_CONSTANT = 0, JT_PAD_REFLECT = 1, JT_PAD_EDGE = 2 };

/* Maps an out-of-range source index into [0, n) (n > 0) for reflect/edge padding. */
JT_HD int64_t jt_pad_map_index(int mode, int64_t i, int64_t n) {
    if (i >= 0 && i < n) return i;
    if (mode == JT_PAD_EDGE || n == 1) return i < 0 ? 0 : n - 1;
    int64_t m = 2 * (n - 1);
    i %= m;
    if (i < 0) i += m;
    return i >= n ? m - i : i;
}

/* Dropout's keep rule for the four elements 4*block .. 4*block+3 of a draw: one Philox block,
 *   keep[k] = uniform(seed, JT_RNG_DROPOUT, call, 4*block + k) >= ratio. */
JT_HD void jt_dropout_keep4(uint64_t seed, uint64_t call, uint64_t block, double ratio, uint8_t *keep) {
    jt_philox_out o = jt_rng_block(seed, JT_RNG_DROPOUT, block, call);
    for (int k = 0; k < 4; k++) keep[k] = (double)jt_u01_f32(o.v[k]) >= ratio;
}

/* Dropout's scale 1 / (1 - ratio), 0 when ratio is 1. */
JT_HD double jt_dropout_scale(double ratio) { return ratio < 1 ? 1.0 / (1.0 - ratio) : 0.0; }

#endif
