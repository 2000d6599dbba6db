/* Adversarial attacks and robustness evaluation (attacks/, spec: docs/attacks.md).
 *
 * Three layers:
 *   1. an ORACLE: a differentiable classifier F = T∘P seen from an attack through host float arrays:
 *      logits, per-example losses with their input gradient, feature taps, P's output. The graph
 *      oracle (attacks/oracle_graph.c) runs plans on any backend; tests build closed-form oracles
 *      (linear models) with the same interface.
 *   2. ATTACKS: jt_attack_run(oracle, config, io) runs one attack (PGD, APGD, FAB-T, Square, FWA,
 *      TI/DI/MI, noise) on a set of examples; jt_autoattack_run composes several.
 *   3. EVALUATION (jt_eval_*): natural accuracy, a list of attacks, per-example records, robust accuracy
 *      per attack and worst case, fooling rates, distances, sanity checks.
 *
 * Conventions: images are float32 NCHW in [0,1]; an example has d = c*h*w floats; labels int64. Every
 * random number for example i is a function of (seed, attack id, io->index[i], restart/target,
 * iteration, element) only, so results do not depend on the batch size or order. */
#ifndef JATP_ATTACK_H
#define JATP_ATTACK_H

#include <stdint.h>

#include "jatp/backend.h"
#include "jatp/graph.h"
#include "jatp/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Oracle
 * ------------------------------------------------------------------------------------------- */

/* Losses of the logits z (per example; attacks ascend them):
 *   CE     -log softmax(z)_y
 *   CW     max_{j != y} z_j - z_y
 *   DLR    -(z_y - max_{j != y} z_j) / (z_(1) - z_(3) + 1e-12)               (K >= 3)
 *   DLR_T  -(z_y - z_t) / (z_(1) - (z_(3) + z_(4)) / 2 + 1e-12)              (K >= 4)
 *   TDIFF  z_t - z_y                                                          (FAB's boundary function)
 * z_(k) is the k-th largest logit (stable by index on ties). */
typedef enum jt_attack_loss {
    JT_LOSS_CE = 0,
    JT_LOSS_CW = 1,
    JT_LOSS_DLR = 2,
    JT_LOSS_DLR_T = 3,
    JT_LOSS_TDIFF = 4,
    JT_LOSS_COUNT
} jt_attack_loss;

/* Feature distances of the feature-space PGD (per example, flattened features of m elements), the same
 * as the training's FSM distance (jt_feature_dist):
 *   L2  (1/m) sum (a - b)^2;  COS  1 - <a,b> / sqrt(|a|^2 |b|^2 + 1e-16). */
typedef enum jt_feat_dist { JT_FEAT_L2 = 0, JT_FEAT_COS = 1 } jt_feat_dist;

typedef struct jt_oracle jt_oracle;

/* Implementations receive n <= max_batch (the jt_oracle_* wrappers below split larger calls). */
typedef struct jt_oracle_vtable {
    /* z[n*K] = F(x) */
    jt_status (*logits)(jt_oracle *o, const float *x, int n, float *z);
    /* loss[n] (may be NULL) of `kind` at x; grad[n*d] = d(sum_i loss_i)/dx (through P, or with BPDA
     * as configured); z[n*K] (may be NULL) the logits at x. t (targets) is read by DLR_T and TDIFF
     * only and may be NULL otherwise. */
    jt_status (*loss_grad)(jt_oracle *o, const float *x, const int64_t *y, const int64_t *t, int n,
                           jt_attack_loss kind, float *loss, float *grad, float *z);
    /* Feature tap at x: feat[n*feat_dim]. NULL when the oracle has no tap. */
    jt_status (*features)(jt_oracle *o, const float *x, int n, float *feat);
    /* loss[n] = dist(tap(x_i), ref_i) and grad[n*d] of their sum. NULL when the oracle has no tap. */
    jt_status (*feat_grad)(jt_oracle *o, const float *x, const float *ref, int n, jt_feat_dist dist,
                           float *loss, float *grad);
    /* P(x) [n*d] (the defense's output; a copy of x when there is no defense). NULL: identity. */
    jt_status (*preprocess)(jt_oracle *o, const float *x, int n, float *px);
    void (*destroy)(jt_oracle *o);
} jt_oracle_vtable;

struct jt_oracle {
    const jt_oracle_vtable *vt;
    jt_ctx *ctx;
    int64_t c, h, w;      /* one example's shape */
    int64_t n_classes;    /* K */
    int64_t feat_dim;     /* floats per example of the feature tap (0: none) */
    int max_batch;        /* largest n an implementation call takes */
    int deterministic;    /* 1 when two evaluations of the same x give the same bits (EOT not needed) */
    uint64_t n_forward;   /* examples through logits()/features()/preprocess() so far */
    uint64_t n_backward;  /* examples through loss_grad()/feat_grad() so far */
    void *impl;
};

static inline int64_t jt_oracle_dim(const jt_oracle *o) { return o->c * o->h * o->w; }

/* Chunking wrappers (any n >= 0); they count n_forward / n_backward. */
jt_status jt_oracle_logits(jt_oracle *o, const float *x, int n, float *z);
jt_status jt_oracle_loss_grad(jt_oracle *o, const float *x, const int64_t *y, const int64_t *t, int n,
                              jt_attack_loss kind, float *loss, float *grad, float *z);
jt_status jt_oracle_features(jt_oracle *o, const float *x, int n, float *feat);
jt_status jt_oracle_feat_grad(jt_oracle *o, const float *x, const float *ref, int n, jt_feat_dist dist,
                              float *loss, float *grad);
jt_status jt_oracle_preprocess(jt_oracle *o, const float *x, int n, float *px);
/* pred[n] = argmax of the logits (lowest index on ties); z (may be NULL) receives the logits. */
jt_status jt_oracle_predict(jt_oracle *o, const float *x, int n, int64_t *pred, float *z);
void jt_oracle_free(jt_oracle *o);

/* Host reference of the logit losses: loss of z[K] and, when dz != NULL, dz[K] = d loss / dz.
 * The same arithmetic as the jatp.AttackLoss op (ops/attack/attack_loss_math.h). Fails (returns
 * NAN) when K is too small for the kind or a label is out of range. */
double jt_attack_loss_eval(jt_attack_loss kind, const float *z, int64_t K, int64_t y, int64_t t, float *dz);
const char *jt_attack_loss_name(jt_attack_loss kind);
/* "ce" "cw" "dlr" "dlr-t" "tdiff" -> kind; -1 when unknown */
int jt_attack_loss_parse(const char *s);

/* The graph oracle: F = T∘P over plans (attacks/oracle_graph.c). */
typedef struct jt_graph_oracle_config {
    int max_batch;            /* examples per plan run; default 128 */
    jt_backend *backend;      /* NULL: CPU */
    /* BPDA: the backward pass treats P as `bpda_surrogate` (a graph with one input and one output of
     * the input's shape), or as the identity when bpda = 1 and bpda_surrogate = NULL. The forward
     * pass always runs P exactly. */
    int bpda;
    const jt_graph *bpda_surrogate;
    const char *tap;          /* feature tap in T (jt_graph_find_tap), for feat_grad; NULL: none */
} jt_graph_oracle_config;

void jt_graph_oracle_config_default(jt_graph_oracle_config *c);
/* T: the classifier (one image input [N, C, H, W] float32, output 0 the logits [N, K]); P: the
 * defense (may be NULL). Both graphs are copied (they may be freed afterwards). Plans are built on
 * first use for the batch sizes in use (powers of two up to max_batch; smaller calls are padded to
 * the next one). c, h, w: the image shape (needed when T's input dims are symbolic). */
jt_status jt_graph_oracle_create(jt_ctx *ctx, const jt_graph *T, const jt_graph *P, int64_t c, int64_t h,
                                 int64_t w, const jt_graph_oracle_config *cfg, jt_oracle **out);

/* Training: copies every parameter and state of the oracle's P (and T) from `src`, where P's value
 * "<name>" is src's "<p_prefix><name>" and T's is "<t_prefix><name>" (a prefix may be NULL: that
 * model is left as it is). Values src does not have are kept. Plans are rebuilt on next use. Fails
 * when a value exists with another dtype or shape, or when nothing matched. */
jt_status jt_graph_oracle_set_params(jt_oracle *o, const jt_graph *src, const char *p_prefix, const char *t_prefix);

/* ---------------------------------------------------------------------------------------------
 * Attacks
 * ------------------------------------------------------------------------------------------- */

typedef enum jt_attack_kind {
    JT_ATK_NONE = 0,   /* identity (x~ = x): the natural-accuracy row */
    JT_ATK_PGD,        /* L-inf PGD (loss ce/cw/dlr), random start, restarts, track_best */
    JT_ATK_PGD_L2,     /* L2 PGD */
    JT_ATK_PGD_FEAT,   /* feature-space PGD (paper Eq. 5); no label */
    JT_ATK_APGD,       /* APGD-CE / APGD-DLR (loss ce or dlr) */
    JT_ATK_APGD_T,     /* APGD with the targeted DLR loss over n_targets targets */
    JT_ATK_FAB_T,      /* targeted FAB, L-inf */
    JT_ATK_SQUARE,     /* Square attack, L-inf, score-based */
    JT_ATK_FWA,        /* Wasserstein attack (projected gradient on the transport plan, or FW) */
    JT_ATK_TI,         /* TI-BIM and its DI / MI variants */
    JT_ATK_NOISE,      /* random corners {x +- eps} (sanity baseline) */
    JT_ATK_AUTOATTACK, /* composition of components (jt_autoattack_run) */
    JT_ATK_KIND_COUNT
} jt_attack_kind;

typedef enum jt_norm { JT_NORM_LINF = 0, JT_NORM_L2 = 1, JT_NORM_WASSERSTEIN = 2 } jt_norm;

/* Progress: called now and then with examples finished so far and the total. */
typedef void (*jt_progress_fn)(void *user, const char *what, int64_t done, int64_t total);

#define JT_AA_MAX_COMPONENTS 8

typedef struct jt_attack_config {
    jt_attack_kind kind;
    char name[32];          /* preset name for reports ("pgd", "apgd-t", "aa", ...) */
    jt_norm norm;
    double eps;             /* L-inf / L2 radius; FWA: relative Wasserstein radius eps_W */
    double alpha;           /* step size (PGD, TI, FWA lr) */
    int steps;              /* iterations (APGD/FAB: N) */
    int restarts;           /* >= 1 */
    int random_start;
    jt_attack_loss loss;    /* PGD, APGD */
    int track_best;         /* PGD: keep the first misclassified iterate */
    int eot;                /* gradient draws per step (>= 1) */
    int bpda;               /* the evaluation runs this attack on the BPDA oracle (pgd-bpda) */
    /* APGD */
    double rho;             /* 0.75 */
    int n_targets;          /* APGD-T, FAB-T: 9 (capped at K - 1) */
    /* FAB */
    double fab_alpha_max, fab_eta, fab_beta; /* 0.1, 1.05, 0.9 */
    /* Square */
    int queries;            /* 5000 */
    double p_init;          /* 0.8 */
    int shared_window;      /* 1: one window per iteration for the batch (AutoAttack) */
    /* FWA */
    int fwa_fw;             /* 0: projected gradient (default), 1: Frank-Wolfe */
    int fwa_kernel;         /* window size k (5) */
    int dual_iter;          /* 15 */
    double dual_tol;        /* 1e-4 */
    double fw_gamma;        /* 1e-3 */
    /* TI / DI / MI */
    int ti_kernel;          /* Gaussian kernel size (odd), 0: no smoothing */
    double ti_nsig;         /* 3 */
    double mu;              /* momentum decay */
    double p_div;           /* DI probability */
    /* feature PGD */
    jt_feat_dist feat_dist;
    /* noise */
    int noise_draws;        /* 100 */
    /* AutoAttack: components run in order on the points still robust */
    int n_components;
    struct jt_attack_config *components; /* n_components entries (owned by the caller / preset) */
    /* RNG and reporting */
    uint64_t seed;
    uint32_t attack_id;     /* stream separation between attacks of one evaluation (preset sets it) */
    jt_progress_fn progress;
    void *progress_user;
} jt_attack_config;

/* Image kinds for the defaults of docs/attacks.md section 13. */
typedef enum jt_image_kind { JT_IMAGES_CIFAR = 0, JT_IMAGES_FMNIST = 1 } jt_image_kind;
/* 3x32x32 and everything else -> CIFAR defaults; 1x28x28 -> Fashion-MNIST defaults. */
jt_image_kind jt_image_kind_of(int64_t c, int64_t h, int64_t w);

/* Fills cfg with a named preset and its defaults for the image kind: pgd pgd-l2 pgd-dlr pgd-bpda
 * pgd-feat apgd-ce apgd-dlr apgd-t fab-t square fwa ti-bim mi di ti-dim ti-bim-author noise aa aa-fast
 * aa-author40 aa-smoke. AutoAttack presets allocate their component array: release it with
 * jt_attack_config_release. Unknown name: JT_ERR_ARG listing the names. */
jt_status jt_attack_preset(jt_ctx *ctx, const char *name, jt_image_kind kind, jt_attack_config *cfg);
void jt_attack_config_release(jt_attack_config *cfg);
/* Comma-separated list of the preset names (for --help). */
const char *jt_attack_preset_names(void);
/* Checks ranges (eps >= 0, steps >= 1, ...); fails naming the parameter. */
jt_status jt_attack_config_check(jt_ctx *ctx, const jt_attack_config *cfg);

/* One attack over n examples. Every output array is written for all n examples.
 * Clean-misclassified examples are not attacked: x_adv = x, attacked = 0, success = 1. */
typedef struct jt_attack_io {
    int n;
    const float *x;           /* [n*d] clean images in [0,1] */
    const int64_t *y;         /* [n] labels */
    const int64_t *index;     /* [n] global example indices (RNG keys); NULL: 0..n-1 */
    float *x_adv;             /* [n*d] out (required) */
    /* optional outputs (NULL: not wanted) */
    int64_t *pred_clean;      /* [n] */
    int64_t *pred_adv;        /* [n] prediction at x_adv (fresh forward) */
    uint8_t *attacked;        /* [n] clean-correct, so the attack ran */
    uint8_t *success;         /* [n] pred_adv != y (FAB: and within eps) */
    float *loss;              /* [n] the attack's loss at x_adv (CE for attacks without a loss) */
    int32_t *iters;           /* [n] iterations (queries for Square) to first success, -1 none */
    int16_t *component;       /* [n] AutoAttack: index of the component that first succeeded, -1 */
    /* diagnostics (optional): mean attack loss over attacked examples at the first and last
     * iteration, fraction of attacked examples with an all-zero gradient at the start, and whether
     * any non-finite gradient was seen */
    double *loss_first, *loss_last, *zero_grad_frac;
    int *nonfinite_grad;
} jt_attack_io;

jt_status jt_attack_run(jt_oracle *o, const jt_attack_config *cfg, jt_attack_io *io);

/* AutoAttack (docs/attacks.md section 6; cfg->kind = JT_ATK_AUTOATTACK, what jt_attack_run calls for
 * it with acc_after = NULL): each component, in order, runs through jt_attack_run on the points still
 * robust, from their clean x and with their global indices; a point stays robust only while every
 * component fails on it (success by the component's fresh forward pass). Components use their own
 * configurations (eps, steps, seed, ...); cfg's progress callback, when set, replaces theirs.
 * io->x_adv = the output of the component that first broke the point (clean x otherwise),
 * io->component = that component's position (-1: robust or clean mistake), io->iters = its iters;
 * the other outputs as jt_attack_run (loss_first, loss_last, zero_grad_frac are NaN). Logs
 * "robust accuracy after <component>: X%" (over all n) at JT_LOG_INFO; acc_after (may be NULL;
 * n_components entries) receives the same accuracies as fractions. */
jt_status jt_autoattack_run(jt_oracle *o, const jt_attack_config *cfg, jt_attack_io *io, double *acc_after);

/* Validity of one adversarial example (docs/attacks.md section 1): finite, in [0,1], within the ball.
 * Returns 1 when valid; otherwise 0 and a reason in why. */
int jt_attack_valid(const jt_attack_config *cfg, const float *x, const float *x_adv, int64_t d, char *why,
                    size_t cap);

/* ---------------------------------------------------------------------------------------------
 * Evaluation (attacks/eval.c): natural accuracy, a list of attacks, per-example records, metrics
 * ------------------------------------------------------------------------------------------- */

/* One attack of an evaluation. Per-example arrays have n entries (robust points never attacked keep
 * their clean values). Distances are of x_adv - x on [0,1]; the "_255" ones are mean |a - b| per
 * element on the 0-255 scale (the paper's Fig. 2b "L1 distance"). Means are over attacked examples. */
typedef struct jt_eval_attack {
    jt_attack_config cfg;       /* copy (components not owned) */
    int used_bpda;              /* ran on the BPDA oracle */
    uint8_t *attacked, *success;
    int64_t *pred;
    float *loss;                /* CE of F at x_adv */
    int32_t *iters;
    int16_t *component;         /* AutoAttack: first successful component, -1 */
    float *linf, *l2, *l1;
    float *d_adv_255;           /* mean |x_adv - x| * 255 */
    float *d_padv_255;          /* mean |P(x_adv) - x| * 255 */
    float *x_adv;               /* n*d when jt_eval_options.keep_adv, else NULL */
    double robust_acc;          /* over all n: clean-correct and not broken */
    double fooling_rate;        /* broken / clean-correct */
    double seconds, examples_per_second; /* attacked examples per second */
    double mean_linf, mean_l2, mean_l1, mean_d_adv_255, mean_d_padv_255;
    double loss_first, loss_last, zero_grad_frac; /* attack diagnostics (NaN when not traced) */
    int nonfinite_grad;
    int n_components;                             /* AutoAttack */
    double acc_after[JT_AA_MAX_COMPONENTS];       /* robust accuracy after each component */
} jt_eval_attack;

typedef struct jt_eval_result {
    int n;
    int64_t d, n_classes;
    const int64_t *y;           /* the caller's labels (not owned) */
    int64_t *pred_clean;
    float *margin_clean;        /* z_y - max_{j != y} z_j at x */
    float *d_px_255;            /* mean |P(x) - x| * 255 per example */
    double clean_acc, mean_d_px_255;
    int n_attacks;
    jt_eval_attack *attacks;
    uint8_t *robust_all;        /* clean-correct and robust to every attack */
    double worst_acc;           /* the "worst case" column: all attacks together */
    double seconds;
} jt_eval_result;

typedef struct jt_eval_options {
    int keep_adv;               /* keep every attack's x_adv in the result */
    jt_progress_fn progress;    /* passed to each attack */
    void *progress_user;
} jt_eval_options;

/* Runs every attack (cfg->bpda attacks on `bpda`, which may then not be NULL) on the same points.
 * index: global example indices (RNG keys), NULL = 0..n-1. */
jt_status jt_eval_run(jt_oracle *full, jt_oracle *bpda, const jt_attack_config *attacks, int n_attacks,
                      const float *x, const int64_t *y, const int64_t *index, int n, const jt_eval_options *opt,
                      jt_eval_result *out);
void jt_eval_result_free(jt_eval_result *r);
/* 95% Wilson score interval of a proportion k/n (n > 0): the accuracy's confidence interval in the
 * reports. n = 0 gives NaN. */
void jt_wilson_interval(int64_t k, int64_t n, double *lo, double *hi);

/* ---------------------------------------------------------------------------------------------
 * Sanity checks (attacks/sanity.c, docs/attacks.md section 11)
 * ------------------------------------------------------------------------------------------- */

typedef enum jt_check_status { JT_CHECK_PASS = 0, JT_CHECK_WARN, JT_CHECK_FAIL, JT_CHECK_SKIP } jt_check_status;

typedef struct jt_sanity_check {
    char id[8];                 /* "S1" .. "S10" */
    char name[48];
    jt_check_status status;
    char detail[320];           /* the numbers behind the verdict */
} jt_sanity_check;

#define JT_SANITY_MAX 16
typedef struct jt_sanity_report {
    int n;
    jt_sanity_check checks[JT_SANITY_MAX];
    int any_fail;               /* a FAIL marks every robustness number of the report */
} jt_sanity_report;

typedef struct jt_sanity_options {
    jt_image_kind kind;         /* grids and step sizes */
    uint64_t seed;
    int max_points;             /* the checks run on the first max_points examples (default 200) */
    jt_progress_fn progress;
    void *progress_user;
} jt_sanity_options;

const char *jt_check_status_name(jt_check_status s); /* "PASS" "WARN" "FAIL" "SKIP" */
/* Runs S1-S10 on (x, y). `bpda` may be NULL (S6 is then SKIP); `ev` (may be NULL) supplies the
 * evaluation's own results for the checks that judge them (S4 S5 S8 S9). */
jt_status jt_sanity_run(jt_oracle *full, jt_oracle *bpda, const float *x, const int64_t *y, int n,
                        const jt_eval_result *ev, const jt_sanity_options *opt, jt_sanity_report *out);

#ifdef __cplusplus
}
#endif
#endif
