/* Internal interface between the attack dispatcher (attack.c) and the algorithms (one file each).
 *
 * jt_attack_run predicts the clean points, keeps the clean-correct ones, cuts them into chunks and
 * calls the algorithm once per chunk with compacted arrays (atk_job). The algorithm writes x_adv (and,
 * when asked, loss/iters and the diagnostics); the dispatcher then validates every x_adv (finite, box,
 * ball: an invalid one is an error naming the attack and example, never a silent fix), decides success
 * by a fresh forward pass and scatters the results back. Results depend only on the example, its
 * global index and the seed, never on the chunk it was in (except Square's shared window). */
#ifndef JT_ATTACK_INTERNAL_H
#define JT_ATTACK_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jatp/attack.h"
#include "runtime/core/philox.h"

typedef struct atk_job {
    jt_oracle *o;
    const jt_attack_config *cfg;
    int n;                    /* examples in this chunk (all clean-correct) */
    int64_t d, K;             /* floats per example, classes */
    const float *x;           /* [n*d] clean */
    const int64_t *y;         /* [n] */
    const int64_t *index;     /* [n] global indices: the RNG keys */
    float *x_adv;             /* [n*d] out: always written */
    int32_t *iters;           /* [n] out (may be NULL): iteration/query of the first success, -1 */
    /* diagnostics, summed over the chunk's examples (the dispatcher averages) */
    double loss_first_sum;    /* attack loss at the first iterate */
    double loss_last_sum;     /* attack loss at the last iterate */
    int zero_grad_count;      /* examples whose first gradient is all zero */
    int nonfinite_grad;       /* 1 when any gradient element was NaN/Inf */
    int has_loss_trace;       /* set by algorithms that fill loss_first/last_sum */
} atk_job;

typedef jt_status (*atk_fn)(atk_job *j);

/* Algorithms (one file each). */
jt_status jt_atk_pgd(atk_job *j);       /* pgd.c: JT_ATK_PGD, JT_ATK_PGD_L2, JT_ATK_PGD_FEAT */
jt_status jt_atk_noise(atk_job *j);     /* pgd.c: JT_ATK_NOISE */
jt_status jt_atk_apgd(atk_job *j);      /* apgd.c: JT_ATK_APGD, JT_ATK_APGD_T */
jt_status jt_atk_fab(atk_job *j);       /* fab.c: JT_ATK_FAB_T */
jt_status jt_atk_square(atk_job *j);    /* square.c */
jt_status jt_atk_fwa(atk_job *j);       /* fwa.c */
jt_status jt_atk_ti(atk_job *j);        /* ti.c */

/* ---- RNG: every draw keyed by (seed, attack id, example index, sub, iteration, element) ----
 * sub: restart or target index; iter: iteration (or a phase id); elem: element index. */
static inline jt_philox_out atk_rng_block(const jt_attack_config *cfg, int64_t index, uint32_t sub, uint32_t iter,
                                          uint32_t block) {
    uint32_t k0 = (uint32_t)cfg->seed;
    uint32_t k1 = (uint32_t)(cfg->seed >> 32) ^ ((uint32_t)JT_RNG_ATTACK * 0x9E3779B9u) ^ (cfg->attack_id * 0x85EBCA6Bu);
    return jt_philox4x32(k0, k1, block, (uint32_t)index ^ (uint32_t)((uint64_t)index >> 32) * 0xC2B2AE35u, iter, sub);
}
/* Uniform float in [0,1) for element `elem`. */
static inline float atk_uniform(const jt_attack_config *cfg, int64_t index, uint32_t sub, uint32_t iter, uint32_t elem) {
    jt_philox_out o = atk_rng_block(cfg, index, sub, iter, elem >> 2);
    return jt_u01_f32(o.v[elem & 3]);
}
/* Fills u[0..d) with uniforms in [0,1) (whole blocks at a time). */
void atk_uniform_fill(const jt_attack_config *cfg, int64_t index, uint32_t sub, uint32_t iter, float *u, int64_t d);
/* Standard normals (Box-Muller on pairs of uniforms), n[0..d). */
void atk_normal_fill(const jt_attack_config *cfg, int64_t index, uint32_t sub, uint32_t iter, float *n, int64_t d);

/* ---- small vector helpers ---- */
static inline float atk_sign(float g) { return g > 0.0f ? 1.0f : (g < 0.0f ? -1.0f : 0.0f); }
static inline float atk_clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }
/* v <- clip(min(max(v, x - eps), x + eps), 0, 1) (exact L-inf-ball ∩ box projection) */
void atk_project_linf(float *v, const float *x, float eps, int64_t d);
/* delta = v - x scaled to ||delta||_2 <= eps, then v clipped to [0,1] */
void atk_project_l2(float *v, const float *x, float eps, int64_t d);
int64_t atk_argmax(const float *z, int64_t K);
double atk_norm_l2(const float *v, int64_t d);
/* 1 when every element is finite */
int atk_all_finite(const float *v, int64_t d);

/* The gradient of the attack loss through the oracle, averaged over cfg->eot draws (EOT; the loss
 * and logits reported are those of the last draw). Also flags non-finite gradients in the job. */
jt_status atk_grad(atk_job *j, const float *x, const int64_t *y, const int64_t *t, int n, jt_attack_loss kind,
                   float *loss, float *grad, float *z);

/* AutoAttack composition (autoattack.c), called by jt_attack_run for JT_ATK_AUTOATTACK. */
jt_status jt_atk_autoattack(jt_oracle *o, const jt_attack_config *cfg, jt_attack_io *io);

/* Allocation helpers: fail with JT_ERR_OOM naming the attack. */
void *atk_alloc(atk_job *j, size_t bytes, const char *what);

#endif
