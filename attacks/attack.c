/* Attack presets (docs/attacks.md section 13), configuration checks, validity of adversarial
 * examples and the dispatcher jt_attack_run (see attack_internal.h for the contract). */
#include <stdio.h>

#include "attack_internal.h"

jt_image_kind jt_image_kind_of(int64_t c, int64_t h, int64_t w) {
    return (c == 1 && h == 28 && w == 28) ? JT_IMAGES_FMNIST : JT_IMAGES_CIFAR;
}

/* ---- presets ---- */

enum preset_id {
    P_NONE = 0, P_PGD, P_PGD_L2, P_PGD_DLR, P_PGD_BPDA, P_PGD_FEAT, P_APGD_CE, P_APGD_DLR, P_APGD_T, P_FAB_T,
    P_SQUARE, P_FWA, P_TI_BIM, P_MI, P_DI, P_TI_DIM, P_TI_BIM_AUTHOR, P_NOISE, P_AA, P_AA_FAST, P_AA_AUTHOR40,
    P_AA_SMOKE, P_COUNT
};

static const char *const preset_names[P_COUNT] = {
    "none", "pgd", "pgd-l2", "pgd-dlr", "pgd-bpda", "pgd-feat", "apgd-ce", "apgd-dlr", "apgd-t", "fab-t", "square",
    "fwa", "ti-bim", "mi", "di", "ti-dim", "ti-bim-author", "noise", "aa", "aa-fast", "aa-author40", "aa-smoke"};

const char *jt_attack_preset_names(void) {
    return "none, pgd, pgd-l2, pgd-dlr, pgd-bpda, pgd-feat, apgd-ce, apgd-dlr, apgd-t, fab-t, square, fwa, "
           "ti-bim, mi, di, ti-dim, ti-bim-author, noise, aa, aa-fast, aa-author40, aa-smoke";
}

static void base(jt_attack_config *c, int id, jt_image_kind k) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", preset_names[id]);
    c->attack_id = (uint32_t)id;
    c->norm = JT_NORM_LINF;
    c->eps = k == JT_IMAGES_FMNIST ? 0.1 : 8.0 / 255.0;
    c->restarts = 1;
    c->eot = 1;
    c->loss = JT_LOSS_CE;
    c->rho = 0.75;
    c->n_targets = 9;
    c->fab_alpha_max = 0.1;
    c->fab_eta = 1.05;
    c->fab_beta = 0.9;
    c->queries = 5000;
    c->p_init = 0.8;
    c->fwa_kernel = 5;
    c->dual_iter = 15;
    c->dual_tol = 1e-4;
    c->fw_gamma = 1e-3;
    c->ti_nsig = 3.0;
    c->noise_draws = 100;
    c->seed = 0;
}

/* CIFAR step sizes scaled by eps_FM / eps_C = 3.1875 for Fashion-MNIST (docs/attacks.md section 13) */
static double step(jt_image_kind k, double cifar, double fmnist) { return k == JT_IMAGES_FMNIST ? fmnist : cifar; }

static void fill(jt_attack_config *c, int id, jt_image_kind k) {
    base(c, id, k);
    switch (id) {
    case P_NONE: c->kind = JT_ATK_NONE; break;
    case P_PGD:
    case P_PGD_BPDA:
        c->kind = JT_ATK_PGD;
        c->steps = 40;
        c->alpha = step(k, 0.01, 0.032);
        c->random_start = 1;
        c->bpda = id == P_PGD_BPDA;
        break;
    case P_PGD_L2:
        c->kind = JT_ATK_PGD_L2;
        c->norm = JT_NORM_L2;
        c->eps = k == JT_IMAGES_FMNIST ? 1.5 : 0.5;
        c->steps = 40;
        c->alpha = 2.5 * c->eps / 40.0;
        c->random_start = 1;
        break;
    case P_PGD_DLR:
        c->kind = JT_ATK_PGD;
        c->steps = 40;
        c->alpha = step(k, 0.007, 0.022);
        c->loss = JT_LOSS_DLR;
        break;
    case P_PGD_FEAT:
        c->kind = JT_ATK_PGD_FEAT;
        c->steps = 10;
        c->alpha = step(k, 0.01, 0.032);
        c->random_start = 1;
        c->feat_dist = JT_FEAT_L2;
        break;
    case P_APGD_CE:
    case P_APGD_DLR:
        c->kind = JT_ATK_APGD;
        c->steps = 100;
        c->loss = id == P_APGD_CE ? JT_LOSS_CE : JT_LOSS_DLR;
        break;
    case P_APGD_T:
        c->kind = JT_ATK_APGD_T;
        c->steps = 100;
        c->loss = JT_LOSS_DLR_T;
        break;
    case P_FAB_T:
        c->kind = JT_ATK_FAB_T;
        c->steps = 100;
        break;
    case P_SQUARE: c->kind = JT_ATK_SQUARE; break;
    case P_FWA:
        c->kind = JT_ATK_FWA;
        c->norm = JT_NORM_WASSERSTEIN;
        c->steps = 20;
        c->alpha = step(k, 0.01, 0.032);
        break;
    case P_TI_BIM:
    case P_MI:
    case P_DI:
    case P_TI_DIM:
    case P_TI_BIM_AUTHOR:
        c->kind = JT_ATK_TI;
        c->steps = 40;
        c->alpha = step(k, 0.007, 0.022);
        c->ti_kernel = (id == P_MI || id == P_DI) ? 0 : (k == JT_IMAGES_FMNIST ? 13 : 15);
        c->mu = id == P_MI || id == P_TI_DIM ? 1.0 : (id == P_TI_BIM_AUTHOR ? 0.1 : 0.0);
        c->p_div = id == P_DI ? 0.5 : (id == P_TI_DIM ? 0.7 : 0.0);
        break;
    case P_NOISE: c->kind = JT_ATK_NOISE; break;
    default: break;
    }
}

jt_status jt_attack_preset(jt_ctx *ctx, const char *name, jt_image_kind kind, jt_attack_config *cfg) {
    int id = -1;
    for (int i = 0; i < P_COUNT; i++)
        if (strcmp(name, preset_names[i]) == 0) id = i;
    if (id < 0) return jt_fail(ctx, JT_ERR_ARG, "unknown attack '%s' (known: %s)", name, jt_attack_preset_names());
    if (id < P_AA) {
        fill(cfg, id, kind);
        return JT_OK;
    }
    static const int full[] = {P_APGD_CE, P_APGD_T, P_FAB_T, P_SQUARE};
    int n = (id == P_AA_FAST || id == P_AA_SMOKE) ? 2 : 4;
    jt_attack_config *comp = calloc((size_t)n, sizeof *comp);
    if (!comp) return jt_fail(ctx, JT_ERR_OOM, "attack '%s': out of memory", name);
    base(cfg, id, kind);
    cfg->kind = JT_ATK_AUTOATTACK;
    for (int i = 0; i < n; i++) {
        fill(&comp[i], full[i], kind);
        if (id == P_AA_AUTHOR40 && comp[i].kind != JT_ATK_SQUARE) comp[i].steps = 40;
        if (id == P_AA_SMOKE) {
            comp[i].steps = 20;
            if (comp[i].kind == JT_ATK_APGD_T) comp[i].n_targets = 3;
        }
    }
    cfg->n_components = n;
    cfg->components = comp;
    return JT_OK;
}

void jt_attack_config_release(jt_attack_config *cfg) {
    if (cfg && cfg->kind == JT_ATK_AUTOATTACK) {
        free(cfg->components);
        cfg->components = NULL;
        cfg->n_components = 0;
    }
}

jt_status jt_attack_config_check(jt_ctx *ctx, const jt_attack_config *c) {
#define BAD(...) return jt_fail(ctx, JT_ERR_ARG, "attack '%s': " __VA_ARGS__)
    if (c->kind <= JT_ATK_NONE && c->kind != JT_ATK_NONE) BAD("invalid kind", c->name);
    if (c->kind >= JT_ATK_KIND_COUNT) BAD("invalid kind", c->name);
    if (!(c->eps >= 0) || !isfinite(c->eps)) BAD("eps must be finite and >= 0 (got %g)", c->name, c->eps);
    if (c->kind == JT_ATK_NONE) return JT_OK;
    if (c->kind == JT_ATK_AUTOATTACK) {
        if (c->n_components < 1 || !c->components) BAD("AutoAttack needs at least one component", c->name);
        for (int i = 0; i < c->n_components; i++) {
            if (c->components[i].kind == JT_ATK_AUTOATTACK) BAD("AutoAttack components cannot nest", c->name);
            JT_TRY(jt_attack_config_check(ctx, &c->components[i]));
        }
        return JT_OK;
    }
    if (c->restarts < 1) BAD("restarts must be >= 1 (got %d)", c->name, c->restarts);
    if (c->eot < 1) BAD("eot must be >= 1 (got %d)", c->name, c->eot);
    if (c->restarts > 1 && (c->kind == JT_ATK_TI || c->kind == JT_ATK_FWA || c->kind == JT_ATK_NOISE))
        BAD("restarts are not supported by this attack (got %d)", c->name, c->restarts);
    if (c->random_start && c->kind == JT_ATK_FWA) BAD("FWA starts from the identity plan (no random start)", c->name);
    int needs_steps = c->kind != JT_ATK_SQUARE && c->kind != JT_ATK_NOISE;
    if (needs_steps && c->steps < 1) BAD("steps must be >= 1 (got %d)", c->name, c->steps);
    int needs_alpha = c->kind == JT_ATK_PGD || c->kind == JT_ATK_PGD_L2 || c->kind == JT_ATK_PGD_FEAT ||
                      c->kind == JT_ATK_TI || c->kind == JT_ATK_FWA;
    if (needs_alpha && !(c->alpha > 0)) BAD("step size must be > 0 (got %g)", c->name, c->alpha);
    if ((c->kind == JT_ATK_PGD || c->kind == JT_ATK_APGD) && (c->loss < 0 || c->loss >= JT_LOSS_COUNT))
        BAD("invalid loss", c->name);
    if (c->kind == JT_ATK_APGD && c->loss != JT_LOSS_CE && c->loss != JT_LOSS_DLR && c->loss != JT_LOSS_CW)
        BAD("APGD takes the loss ce, cw or dlr (got %s)", c->name, jt_attack_loss_name(c->loss));
    if ((c->kind == JT_ATK_APGD_T || c->kind == JT_ATK_FAB_T) && c->n_targets < 1)
        BAD("n_targets must be >= 1 (got %d)", c->name, c->n_targets);
    if (c->kind == JT_ATK_SQUARE && (c->queries < 1 || !(c->p_init > 0 && c->p_init <= 1)))
        BAD("needs queries >= 1 and 0 < p_init <= 1", c->name);
    if (c->kind == JT_ATK_FWA && (c->fwa_kernel < 1 || c->dual_iter < 1))
        BAD("needs kernel >= 1 and dual_iter >= 1", c->name);
    if (c->kind == JT_ATK_TI && c->ti_kernel != 0 && (c->ti_kernel % 2 == 0 || c->ti_kernel < 1))
        BAD("the TI kernel size must be odd (got %d)", c->name, c->ti_kernel);
    if (c->kind == JT_ATK_TI && !(c->p_div >= 0 && c->p_div <= 1)) BAD("p_div must be in [0,1]", c->name);
    if (c->kind == JT_ATK_NOISE && c->noise_draws < 1) BAD("noise draws must be >= 1", c->name);
    return JT_OK;
#undef BAD
}

/* ---- validity ---- */

int jt_attack_valid(const jt_attack_config *cfg, const float *x, const float *x_adv, int64_t d, char *why,
                    size_t cap) {
    double linf = 0, l2 = 0;
    for (int64_t i = 0; i < d; i++) {
        if (!isfinite(x_adv[i])) {
            snprintf(why, cap, "element %lld is not finite", (long long)i);
            return 0;
        }
        if (x_adv[i] < 0.0f || x_adv[i] > 1.0f) {
            snprintf(why, cap, "element %lld = %.9g is outside [0,1]", (long long)i, (double)x_adv[i]);
            return 0;
        }
        double e = fabs((double)x_adv[i] - (double)x[i]);
        linf = e > linf ? e : linf;
        l2 += e * e;
    }
    l2 = sqrt(l2);
    if (cfg->norm == JT_NORM_LINF && linf > cfg->eps + 1e-6) {
        snprintf(why, cap, "L-inf distance %.9g exceeds eps %.9g", linf, cfg->eps);
        return 0;
    }
    if (cfg->norm == JT_NORM_L2 && l2 > cfg->eps * (1 + 1e-6) + 1e-7) {
        snprintf(why, cap, "L2 distance %.9g exceeds eps %.9g", l2, cfg->eps);
        return 0;
    }
    return 1; /* Wasserstein: the transport checks run inside the FWA (docs/attacks.md section 7.5) */
}

/* ---- dispatcher ---- */

static atk_fn algorithm(jt_attack_kind k) {
    switch (k) {
    case JT_ATK_PGD:
    case JT_ATK_PGD_L2:
    case JT_ATK_PGD_FEAT: return jt_atk_pgd;
    case JT_ATK_NOISE: return jt_atk_noise;
    case JT_ATK_APGD:
    case JT_ATK_APGD_T: return jt_atk_apgd;
    case JT_ATK_FAB_T: return jt_atk_fab;
    case JT_ATK_SQUARE: return jt_atk_square;
    case JT_ATK_FWA: return jt_atk_fwa;
    case JT_ATK_TI: return jt_atk_ti;
    default: return NULL;
    }
}

/* Examples per algorithm call: several oracle batches (so that shrinking active sets still fill
 * batches), at most 64 MiB per image buffer. */
static int chunk_size(const jt_oracle *o) {
    int64_t d = jt_oracle_dim(o);
    int64_t c = (int64_t)o->max_batch * 4;
    int64_t cap = (64ll << 20) / (4 * (d > 0 ? d : 1));
    if (c > cap) c = cap;
    return (int)(c < 1 ? 1 : c);
}

jt_status jt_attack_run(jt_oracle *o, const jt_attack_config *cfg, jt_attack_io *io) {
    jt_ctx *ctx = o->ctx;
    JT_TRY(jt_attack_config_check(ctx, cfg));
    if (!io->x || !io->y || !io->x_adv || io->n < 0)
        return jt_fail(ctx, JT_ERR_ARG, "attack '%s': x, y and x_adv are required", cfg->name);
    if (cfg->kind == JT_ATK_AUTOATTACK) return jt_atk_autoattack(o, cfg, io);
    int n = io->n;
    int64_t d = jt_oracle_dim(o), K = o->n_classes;
    size_t nd = (size_t)n * (size_t)d;
    for (int i = 0; i < n; i++)
        if (io->y[i] < 0 || io->y[i] >= K)
            return jt_fail(ctx, JT_ERR_ARG, "attack '%s': label %lld of example %d is outside [0, %lld)", cfg->name,
                           (long long)io->y[i], i, (long long)K);
    jt_status st = JT_OK;
    int64_t *pc = malloc((size_t)(n ? n : 1) * sizeof *pc), *pa = malloc((size_t)(n ? n : 1) * sizeof *pa);
    float *z = malloc((size_t)(n ? n : 1) * (size_t)K * sizeof *z);
    int *act = malloc((size_t)(n ? n : 1) * sizeof *act);
    if (!pc || !pa || !z || !act) {
        st = jt_fail(ctx, JT_ERR_OOM, "attack '%s': out of memory", cfg->name);
        goto done;
    }
    st = jt_oracle_predict(o, io->x, n, pc, NULL);
    if (st != JT_OK) goto done;
    memcpy(io->x_adv, io->x, nd * sizeof(float));
    int n_act = 0;
    for (int i = 0; i < n; i++)
        if (pc[i] == io->y[i]) act[n_act++] = i;
    if (io->iters)
        for (int i = 0; i < n; i++) io->iters[i] = -1;
    double lf = 0, ll = 0;
    int zero = 0, nonfinite = 0, traced = 0;
    atk_fn fn = algorithm(cfg->kind);
    if (cfg->kind != JT_ATK_NONE && n_act > 0) {
        if (!fn) {
            st = jt_fail(ctx, JT_ERR_INTERNAL, "attack '%s': no algorithm for kind %d", cfg->name, (int)cfg->kind);
            goto done;
        }
        int C = chunk_size(o);
        if (C > n_act) C = n_act;
        if (cfg->progress) cfg->progress(cfg->progress_user, cfg->name, 0, n_act);
        float *cx = malloc((size_t)C * (size_t)d * sizeof *cx), *cadv = malloc((size_t)C * (size_t)d * sizeof *cadv);
        int64_t *cy = malloc((size_t)C * sizeof *cy), *cidx = malloc((size_t)C * sizeof *cidx);
        int32_t *cit = malloc((size_t)C * sizeof *cit);
        if (!cx || !cadv || !cy || !cidx || !cit) {
            st = jt_fail(ctx, JT_ERR_OOM, "attack '%s': out of memory for a chunk of %d examples", cfg->name, C);
        }
        for (int s = 0; st == JT_OK && s < n_act; s += C) {
            int m = n_act - s < C ? n_act - s : C;
            for (int k = 0; k < m; k++) {
                int i = act[s + k];
                memcpy(cx + (size_t)k * d, io->x + (size_t)i * d, (size_t)d * sizeof *cx);
                cy[k] = io->y[i];
                cidx[k] = io->index ? io->index[i] : i;
                cit[k] = -1;
            }
            atk_job j = {.o = o, .cfg = cfg, .n = m, .d = d, .K = K, .x = cx, .y = cy, .index = cidx, .x_adv = cadv,
                         .iters = cit};
            st = fn(&j);
            if (st != JT_OK) break;
            for (int k = 0; k < m && st == JT_OK; k++) {
                char why[160];
                if (!jt_attack_valid(cfg, cx + (size_t)k * d, cadv + (size_t)k * d, d, why, sizeof why))
                    st = jt_fail(ctx, JT_ERR_NUMERIC, "attack '%s' returned an invalid adversarial example %lld: %s",
                                 cfg->name, (long long)cidx[k], why);
            }
            for (int k = 0; k < m && st == JT_OK; k++) {
                int i = act[s + k];
                memcpy(io->x_adv + (size_t)i * d, cadv + (size_t)k * d, (size_t)d * sizeof *cadv);
                if (io->iters) io->iters[i] = cit[k];
            }
            lf += j.loss_first_sum;
            ll += j.loss_last_sum;
            zero += j.zero_grad_count;
            nonfinite |= j.nonfinite_grad;
            traced |= j.has_loss_trace;
            if (cfg->progress) cfg->progress(cfg->progress_user, cfg->name, s + m, n_act);
        }
        free(cx);
        free(cadv);
        free(cy);
        free(cidx);
        free(cit);
        if (st != JT_OK) goto done;
    }
    /* success by a fresh forward pass on the validated examples */
    st = jt_oracle_predict(o, io->x_adv, n, pa, z);
    if (st != JT_OK) goto done;
    for (int i = 0; i < n; i++) {
        int attacked = pc[i] == io->y[i] && cfg->kind != JT_ATK_NONE;
        if (io->pred_clean) io->pred_clean[i] = pc[i];
        if (io->pred_adv) io->pred_adv[i] = pa[i];
        if (io->attacked) io->attacked[i] = (uint8_t)attacked;
        if (io->success) io->success[i] = (uint8_t)(pa[i] != io->y[i]);
        if (io->loss) io->loss[i] = (float)jt_attack_loss_eval(JT_LOSS_CE, z + (size_t)i * K, K, io->y[i], -1, NULL);
        if (io->component) io->component[i] = -1;
    }
    if (io->loss_first) *io->loss_first = traced && n_act ? lf / n_act : NAN;
    if (io->loss_last) *io->loss_last = traced && n_act ? ll / n_act : NAN;
    if (io->zero_grad_frac) *io->zero_grad_frac = traced && n_act ? (double)zero / n_act : NAN;
    if (io->nonfinite_grad) *io->nonfinite_grad = nonfinite;
done:
    free(pc);
    free(pa);
    free(z);
    free(act);
    return st;
}
