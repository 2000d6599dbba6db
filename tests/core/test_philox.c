/* Philox-4x32-10 against the Random123 known-answer vectors, and basic properties of the helpers. */
#include <math.h>
#include <stdio.h>

#include "jt_test.h"
#include "runtime/core/philox.h"

static void kat(const char *name, const uint32_t in[6], const uint32_t want[4]) {
    jt_philox_out o = jt_philox4x32(in[0], in[1], in[2], in[3], in[4], in[5]);
    for (int i = 0; i < 4; i++)
        if (o.v[i] != want[i]) {
            jt_test_fail(name, "word %d is %08x, expected %08x", i, o.v[i], want[i]);
            return;
        }
    jt_test_ok(name);
}

int main(void) {
    kat("philox/kat_zero", (const uint32_t[]){0, 0, 0, 0, 0, 0},
        (const uint32_t[]){0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
    kat("philox/kat_ones", (const uint32_t[]){~0u, ~0u, ~0u, ~0u, ~0u, ~0u},
        (const uint32_t[]){0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
    kat("philox/kat_pi", (const uint32_t[]){0xa4093822, 0x299f31d0, 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
        (const uint32_t[]){0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
    /* uniforms: in [0,1), mean ~0.5, streams differ */
    double sum = 0, lo = 1, hi = 0;
    int same = 0;
    for (int i = 0; i < 100000; i++) {
        float u = jt_rng_uniform(42, JT_RNG_INIT, 0, (uint64_t)i);
        sum += u;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
        if (u == jt_rng_uniform(42, JT_RNG_DROPOUT, 0, (uint64_t)i)) same++;
    }
    if (lo < 0 || hi >= 1 || fabs(sum / 100000 - 0.5) > 0.005 || same > 100)
        jt_test_fail("philox/uniform", "range [%g, %g], mean %g, %d equal draws across streams", lo, hi, sum / 100000,
                     same);
    else
        jt_test_ok("philox/uniform");
    return jt_test_finish();
}
