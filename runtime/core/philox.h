/* Counter-based Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11),
 * compiled alike by the C compiler and nvcc, so any element of any draw is computable alone, in any
 * order, on any device, and uniform bits are bit-identical on CPU and CUDA.
 *
 * Key = (seed low, seed high ^ stream id); counter = (element index low, high, call index low, high).
 * Named streams (init, dropout, shuffle, attack start, ...) are fixed stream ids below. */
#ifndef JATP_PHILOX_H
#define JATP_PHILOX_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define JT_PHILOX_HD __host__ __device__ static inline
#else
#define JT_PHILOX_HD static inline
#endif

enum jt_rng_stream {
    JT_RNG_INIT = 1,     /* parameter initialisation */
    JT_RNG_DROPOUT = 2,  /* dropout masks */
    JT_RNG_SHUFFLE = 3,  /* data order */
    JT_RNG_AUGMENT = 4,  /* crops and flips */
    JT_RNG_ATTACK = 5,   /* attack random starts */
    JT_RNG_TEST = 100    /* tests */
};

typedef struct jt_philox_out {
    uint32_t v[4];
} jt_philox_out;

JT_PHILOX_HD uint32_t jt_mulhilo32(uint32_t a, uint32_t b, uint32_t *hi) {
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

/* One Philox-4x32-10 block: 4 random 32-bit words for (key, counter). */
JT_PHILOX_HD jt_philox_out jt_philox4x32(uint32_t k0, uint32_t k1, uint32_t c0, uint32_t c1, uint32_t c2,
                                         uint32_t c3) {
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, hi1;
        uint32_t lo0 = jt_mulhilo32(0xD2511F53u, c0, &hi0);
        uint32_t lo1 = jt_mulhilo32(0xCD9E8D57u, c2, &hi1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    jt_philox_out o = {{c0, c1, c2, c3}};
    return o;
}

/* The 4 words for element block `index` of draw `call` in `stream` under `seed`. */
JT_PHILOX_HD jt_philox_out jt_rng_block(uint64_t seed, uint32_t stream, uint64_t index, uint64_t call) {
    return jt_philox4x32((uint32_t)seed, (uint32_t)(seed >> 32) ^ (stream * 0x9E3779B9u), (uint32_t)index,
                         (uint32_t)(index >> 32), (uint32_t)call, (uint32_t)(call >> 32));
}

/* Uniform float in [0, 1) from 24 random bits (exactly representable, identical on all devices). */
JT_PHILOX_HD float jt_u01_f32(uint32_t bits) { return (float)(bits >> 8) * (1.0f / 16777216.0f); }
/* Uniform double in [0, 1) from 53 random bits. */
JT_PHILOX_HD double jt_u01_f64(uint32_t lo, uint32_t hi) {
    return (double)(((uint64_t)hi << 21) ^ (lo >> 11)) * (1.0 / 9007199254740992.0);
}

/* Two standard normals from two random words (Box-Muller on 24-bit uniforms u1 in (0,1], u2 in [0,1)).
 * libm and CUDA math may differ by an ulp here, so compare normals with a tolerance across devices. */
JT_PHILOX_HD void jt_box_muller(uint32_t w1, uint32_t w2, double *n0, double *n1) {
    double u1 = ((double)(w1 >> 8) + 1.0) * (1.0 / 16777217.0);
    double u2 = (double)(w2 >> 8) * (1.0 / 16777216.0);
    double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
    *n0 = rad * cos(th);
    *n1 = rad * sin(th);
}
/* Element i of a draw: uniform float in [0,1). Four consecutive elements share one block. */
JT_PHILOX_HD float jt_rng_uniform(uint64_t seed, uint32_t stream, uint64_t call, uint64_t i) {
    jt_philox_out o = jt_rng_block(seed, stream, i >> 2, call);
    return jt_u01_f32(o.v[i & 3]);
}

#endif
