/* AutoAttack composition (docs/attacks.md section 6).
 *
 *   robust_i <- [pred(x_i) = y_i];  x~_i <- x_i;  component_i <- -1
 *   for each component A (in order), on the points still robust, each from its CLEAN x_i:
 *       jt_attack_run(A) with the global indices (so the RNG keys are those of a direct run of A);
 *       where A's success (its fresh forward pass) says so: robust_i <- 0, x~_i <- A's output,
 *       component_i <- A's position, iters_i <- A's iters
 *       log "robust accuracy after A: X%" over ALL n points
 *   outputs as jt_attack_run: pred_adv / success by a final fresh forward pass on x~, loss = CE at x~.
 *
 * Components run with their own configurations (eps, steps, seed, attack_id, ...) as the caller or the
 * preset set them; only the progress callback is taken from the AutoAttack configuration when it has
 * one. The per-run loss diagnostics of the components do not compose: loss_first, loss_last and
 * zero_grad_frac are NaN; nonfinite_grad is the OR over the components. */
#include <stdio.h>

#include "attack_internal.h"

/* Working arrays: the survivors of the previous components, compacted. */
typedef struct aa_buf {
    int64_t *pc, *pa, *sy, *sidx;
    float *z, *sx, *sadv;
    uint8_t *robust, *ssucc;
    int32_t *it, *sit;
    int16_t *comp;
    int *map;
} aa_buf;

static void aa_free(aa_buf *b) {
    free(b->pc);
    free(b->pa);
    free(b->sy);
    free(b->sidx);
    free(b->z);
    free(b->sx);
    free(b->sadv);
    free(b->robust);
    free(b->ssucc);
    free(b->it);
    free(b->sit);
    free(b->comp);
    free(b->map);
}

static jt_status aa_alloc(jt_ctx *ctx, const char *name, int n, int64_t d, int64_t K, aa_buf *b) {
    size_t m = (size_t)(n > 0 ? n : 1);
    memset(b, 0, sizeof *b);
    b->pc = malloc(m * sizeof *b->pc);
    b->pa = malloc(m * sizeof *b->pa);
    b->sy = malloc(m * sizeof *b->sy);
    b->sidx = malloc(m * sizeof *b->sidx);
    b->z = malloc(m * (size_t)K * sizeof *b->z);
    b->sx = malloc(m * (size_t)d * sizeof *b->sx);
    b->sadv = malloc(m * (size_t)d * sizeof *b->sadv);
    b->robust = malloc(m);
    b->ssucc = malloc(m);
    b->it = malloc(m * sizeof *b->it);
    b->sit = malloc(m * sizeof *b->sit);
    b->comp = malloc(m * sizeof *b->comp);
    b->map = malloc(m * sizeof *b->map);
    if (!b->pc || !b->pa || !b->sy || !b->sidx || !b->z || !b->sx || !b->sadv || !b->robust || !b->ssucc || !b->it ||
        !b->sit || !b->comp || !b->map)
        return jt_fail(ctx, JT_ERR_OOM, "attack '%s': out of memory for %d examples", name, n);
    return JT_OK;
}

static const char *component_name(const jt_attack_config *c, char *buf, size_t cap, int i) {
    if (c->name[0]) return c->name;
    snprintf(buf, cap, "component %d", i);
    return buf;
}

/* Runs component c on the points still robust and takes the ones it breaks. */
static jt_status run_component(jt_oracle *o, const jt_attack_config *cfg, jt_attack_io *io, int c, aa_buf *b,
                               int *nonfinite) {
    int n = io->n;
    int64_t d = jt_oracle_dim(o);
    size_t row = (size_t)d * sizeof(float);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (b->robust[i]) {
            b->map[m] = i;
            memcpy(b->sx + (size_t)m * d, io->x + (size_t)i * d, row); /* every component starts from the clean x */
            b->sy[m] = io->y[i];
            b->sidx[m] = io->index ? io->index[i] : i;
            m++;
        }
    if (m == 0) return JT_OK;
    jt_attack_config cc = cfg->components[c];
    if (cfg->progress) {
        cc.progress = cfg->progress;
        cc.progress_user = cfg->progress_user;
    }
    int nf = 0;
    jt_attack_io sio = {.n = m, .x = b->sx, .y = b->sy, .index = b->sidx, .x_adv = b->sadv, .success = b->ssucc,
                        .iters = b->sit, .nonfinite_grad = &nf};
    jt_status st = jt_attack_run(o, &cc, &sio);
    if (st != JT_OK) {
        char nb[32];
        jt_error_prefix(o->ctx, "AutoAttack '%s', %s", cfg->name, component_name(&cc, nb, sizeof nb, c));
        return st;
    }
    *nonfinite |= nf;
    for (int k = 0; k < m; k++) {
        if (!b->ssucc[k]) continue;
        int i = b->map[k];
        b->robust[i] = 0;
        b->comp[i] = (int16_t)c;
        b->it[i] = b->sit[k];
        memcpy(io->x_adv + (size_t)i * d, b->sadv + (size_t)k * d, row);
    }
    return JT_OK;
}

jt_status jt_autoattack_run(jt_oracle *o, const jt_attack_config *cfg, jt_attack_io *io, double *acc_after) {
    jt_ctx *ctx = o->ctx;
    if (cfg->kind != JT_ATK_AUTOATTACK)
        return jt_fail(ctx, JT_ERR_ARG, "attack '%s' is not an AutoAttack configuration", cfg->name);
    JT_TRY(jt_attack_config_check(ctx, cfg));
    if (cfg->n_components > JT_AA_MAX_COMPONENTS)
        return jt_fail(ctx, JT_ERR_ARG, "attack '%s': at most %d components (got %d)", cfg->name, JT_AA_MAX_COMPONENTS,
                       cfg->n_components);
    if (!io->x || !io->y || !io->x_adv || io->n < 0)
        return jt_fail(ctx, JT_ERR_ARG, "attack '%s': x, y and x_adv are required", cfg->name);
    int n = io->n;
    int64_t d = jt_oracle_dim(o), K = o->n_classes;
    for (int i = 0; i < n; i++)
        if (io->y[i] < 0 || io->y[i] >= K)
            return jt_fail(ctx, JT_ERR_ARG, "attack '%s': label %lld of example %d is outside [0, %lld)", cfg->name,
                           (long long)io->y[i], i, (long long)K);
    aa_buf b;
    jt_status st = aa_alloc(ctx, cfg->name, n, d, K, &b);
    if (st != JT_OK) goto done;
    st = jt_oracle_predict(o, io->x, n, b.pc, NULL);
    if (st != JT_OK) goto done;
    memcpy(io->x_adv, io->x, (size_t)n * (size_t)d * sizeof(float));
    for (int i = 0; i < n; i++) {
        b.robust[i] = b.pc[i] == io->y[i]; /* clean mistakes are non-robust and never attacked */
        b.comp[i] = -1;
        b.it[i] = -1;
    }
    int nonfinite = 0;
    for (int c = 0; c < cfg->n_components; c++) {
        st = run_component(o, cfg, io, c, &b, &nonfinite);
        if (st != JT_OK) goto done;
        int r = 0;
        for (int i = 0; i < n; i++) r += b.robust[i];
        double acc = n ? (double)r / n : 0.0;
        if (acc_after) acc_after[c] = acc;
        char nb[32];
        jt_log(ctx, JT_LOG_INFO, "robust accuracy after %s: %.2f%%", component_name(&cfg->components[c], nb, sizeof nb, c),
               100.0 * acc);
    }
    /* the outputs by a fresh forward pass on the final, validated examples */
    st = jt_oracle_predict(o, io->x_adv, n, b.pa, b.z);
    if (st != JT_OK) goto done;
    for (int i = 0; i < n; i++) {
        if (io->pred_clean) io->pred_clean[i] = b.pc[i];
        if (io->pred_adv) io->pred_adv[i] = b.pa[i];
        if (io->attacked) io->attacked[i] = (uint8_t)(b.pc[i] == io->y[i]);
        if (io->success) io->success[i] = (uint8_t)(b.pa[i] != io->y[i]);
        if (io->loss) io->loss[i] = (float)jt_attack_loss_eval(JT_LOSS_CE, b.z + (size_t)i * K, K, io->y[i], -1, NULL);
        if (io->iters) io->iters[i] = b.it[i];
        if (io->component) io->component[i] = b.comp[i];
    }
    if (io->loss_first) *io->loss_first = NAN;
    if (io->loss_last) *io->loss_last = NAN;
    if (io->zero_grad_frac) *io->zero_grad_frac = NAN;
    if (io->nonfinite_grad) *io->nonfinite_grad = nonfinite;
done:
    aa_free(&b);
    return st;
}

jt_status jt_atk_autoattack(jt_oracle *o, const jt_attack_config *cfg, jt_attack_io *io) {
    return jt_autoattack_run(o, cfg, io, NULL);
}
