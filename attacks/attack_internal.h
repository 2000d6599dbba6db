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

/* APGD step-size schedule (docs/attacks.md section 3.2): the checkpoints of an n_iter-iteration run as
 * iterations done (iters_out) and the window that ended there (windows_out; either may be NULL); at
 * most cap entries are written; returns the number of checkpoints. (apgd.c) */
int jt_apgd_checkpoints(int n_iter, int *iters_out, int *windows_out, int cap);

/* FAB's box-constrained hyperplane projection (fab.c, docs/attacks.md section 4.1): delta[d] = the
 * smallest ||delta||_inf with <w, t + delta> = b and t + delta in [0,1]^d; when the plane cannot be
 * reached inside the box, every coordinate with w_i != 0 moves fully towards it. Coordinates with
 * w_i = 0 never move. Exact (computed in double, rounded to float on output); no allocation. */
void jt_fab_proj(const float *t, const float *w, double b, int64_t d, float *delta);

/* Square's window side at raw iteration `iter` (square.c, section 5): p = p_init / D(iter),
 * side = min(max(round(sqrt(p h w)), 1), min(h, w)). */
int jt_square_side(int iter, double p_init, int64_t h, int64_t w);

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

/* ---- FWA internals (fwa.c), exposed for tests ----
 * A transport plan of one example is pi[c][i][o]: channel c, source pixel i = row*w + col, window
 * offset o = ia*k + ib with displacement (a, b) = (ia - k/2, ib - k/2) (k/2 rounded down); cost
 * C_o = sqrt(a^2 + b^2). Entries whose target (row + a, col + b) is outside the image are structurally
 * zero: every function below skips them and leaves them 0. A plan holds c*h*w*k*k floats. */
typedef struct jt_fwa_shape {
    int64_t c, h, w;
    int k;
} jt_fwa_shape;

/* Euclidean projection of v[0..n) onto {u >= 0, sum u = s}: u = max(v - theta, 0). s <= 0 gives
 * u = 0. jt_simplex_theta returns theta (+inf when s <= 0). */
double jt_simplex_theta(const double *v, int n, double s);
void jt_simplex_project(const double *v, int n, double s, double *u);
/* pi = identity plan of x (pi[c][i][0-offset] = x[c][i], all else 0). */
void jt_fwa_identity_plan(const float *x, const jt_fwa_shape *sh, float *pi);
/* img[c][j] = sum over (i, o) with i + o = j of pi[c][i][o]  (x'(pi), summed in double). */
void jt_fwa_plan_to_image(const float *pi, const jt_fwa_shape *sh, float *img);
/* The adjoint: pi[c][i][o] += scale * g[c][i + o] on valid entries (G = A^T g when pi = 0, scale = 1). */
void jt_fwa_image_to_plan(const float *g, const jt_fwa_shape *sh, double scale, float *pi);
/* <C, pi> of one example. */
double jt_fwa_plan_cost(const float *pi, const jt_fwa_shape *sh);
/* rows(lambda): per row the simplex projection of (pihat - lambda C) onto {u >= 0, sum u = x};
 * written to out when out != NULL (out may alias pihat); returns <C, rows(lambda)>.
 * work: 2*k*k doubles. */
double jt_fwa_rows(const float *pihat, const float *x, const jt_fwa_shape *sh, double lambda, float *out,
                   double *work);
/* Projection (docs/attacks.md section 7.3) of pi (in: pi-hat; out: the projection, in place) onto
 * {rows sum to x, pi >= 0, <C, pi> <= eps_abs} by bisection on the dual variable lambda (at most
 * dual_iter halvings, early stop at |phi| < tol or an interval < tol; the feasible end is returned).
 * Returns the lambda used (0: budget inactive; +inf: eps_abs <= 0, the identity plan). work: 2*k*k
 * doubles. */
double jt_fwa_project(float *pi, const float *x, const jt_fwa_shape *sh, double eps_abs, int dual_iter, double tol,
                     double *work);
/* The checks of section 7.5: min pi >= -1e-6, |sum_o pi[c][i][o] - x[c][i]| <= 1e-5 x[c][i],
 * <C, pi> <= eps_abs (1 + 1e-4). Returns 1 when they hold, else 0 with the reason in why. */
int jt_fwa_plan_check(const float *pi, const float *x, const jt_fwa_shape *sh, double eps_abs, char *why, size_t cap);

/* ---- TI / DI internals (ti.c), exposed for tests ---- */
/* Normalised k x k Gaussian kernel of section 8: 1-D weights phi(-nsig + 2 nsig j / (k - 1)), outer
 * product, sum 1 (k = 1: the single weight 1). */
void jt_ti_kernel(int k, double nsig, double *w /* k*k */);
/* One DI draw for an example at an iteration (RNG sub 1, block 0: coin, size, top, left): applied
 * with probability p_div; resized size sh x sw (uniform in {floor(0.9 S), ..., S - 1}, one uniform for
 * both sides), pad offsets top/left uniform in {0, ..., S - s - 1}. A side with S < 2 is unchanged. */
typedef struct jt_di_draw {
    int apply;
    int64_t sh, sw, top, left;
} jt_di_draw;
void jt_di_draw_for(const jt_attack_config *cfg, int64_t index, uint32_t iter, int64_t H, int64_t W,
                    jt_di_draw *dr);
/* u = DI(v): bilinear resize (half-pixel centres) of each channel to sh x sw, zero-padded to H x W. */
void jt_di_forward(const float *v, int64_t C, int64_t H, int64_t W, const jt_di_draw *dr, float *u);
/* gv = DI^T(gu), the exact adjoint (accumulated in double). work: C*H*W doubles. */
void jt_di_adjoint(const float *gu, int64_t C, int64_t H, int64_t W, const jt_di_draw *dr, float *gv, double *work);

#endif
