/* Target training: recipe names, model specs, the recipe defaults of models.md 5.1 per dataset, and
 * the comparison of run configurations (resume). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "target_internal.h"

static const char *const recipe_names[JT_RECIPE_COUNT] = {"natural", "at", "trades", "mart", "mma"};

const char *jt_recipe_name(jt_recipe r) { return r >= 0 && r < JT_RECIPE_COUNT ? recipe_names[r] : "?"; }

const char *jt_recipe_names(void) { return "natural, at, trades, mart, mma"; }

int jt_recipe_parse(const char *s) {
    if (!s) return -1;
    for (int i = 0; i < JT_RECIPE_COUNT; i++)
        if (strcmp(s, recipe_names[i]) == 0) return i;
    if (strcmp(s, "standard") == 0 || strcmp(s, "madry") == 0) return JT_RECIPE_AT;
    if (strcmp(s, "mma-lite") == 0) return JT_RECIPE_MMA;
    return -1;
}

jt_status jt_model_spec_parse(jt_ctx *ctx, const char *spec, char *name, size_t cap, jt_model_config *cfg) {
    const char *colon = strchr(spec, ':');
    size_t nl = colon ? (size_t)(colon - spec) : strlen(spec);
    if (nl == 0 || nl >= cap) return jt_fail(ctx, JT_ERR_ARG, "model '%s': expected NAME[:key=value,...]", spec);
    memcpy(name, spec, nl);
    name[nl] = 0;
    JT_TRY(jt_model_config_preset(ctx, name, cfg));
    if (!colon) return JT_OK;
    char buf[512];
    if (strlen(colon + 1) >= sizeof buf) return jt_fail(ctx, JT_ERR_ARG, "model '%s': settings too long", spec);
    snprintf(buf, sizeof buf, "%s", colon + 1);
    char *kv[64];
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strchr(tok, '=') && n > 0) tok[-1] = ','; /* continuation of the previous value (blocks=1,1,1,1) */
        else if (n < 64) kv[n++] = tok;
        else return jt_fail(ctx, JT_ERR_ARG, "model '%s': too many settings", spec);
    }
    for (int i = 0; i < n; i++) {
        jt_status st = jt_model_config_set(ctx, cfg, kv[i]);
        if (st != JT_OK) {
            jt_error_prefix(ctx, "model '%s'", spec);
            return st;
        }
    }
    return JT_OK;
}

jt_status tt_recipe_defaults_get(jt_ctx *ctx, jt_recipe r, const char *dataset, tt_recipe_defaults *d) {
    memset(d, 0, sizeof *d);
    d->momentum = 0.9;
    d->beta = 6.0;
    d->pgd_steps = 10;
    int mart = r == JT_RECIPE_MART;
    int grey = strcmp(dataset, "fmnist") == 0 || strcmp(dataset, "fashion-mnist") == 0 || strcmp(dataset, "mnist") == 0;
    if (grey) {
        /* models.md 5.1, Fashion-MNIST decision: eps 0.1, step 0.02, lr 0.05 (MART 0.01), wd 5e-4
         * (MART 3.5e-3), 5 epochs with x0.1 in the last one; pad 2 + crop, flip (not for MNIST digits) */
        d->eps = 0.1;
        d->pgd_step = 0.02;
        d->lr = mart ? 0.01 : 0.05;
        d->wd = mart ? 3.5e-3 : 5e-4;
        d->epochs = 5;
        d->paper_epochs = 5;
        d->n_milestones = 1;
        d->milestones[0] = 5;
        d->factors[0] = 0.1;
        d->crop_pad = 2;
        d->flip = strcmp(dataset, "mnist") != 0;
        return JT_OK;
    }
    int svhn = strcmp(dataset, "svhn") == 0;
    if (!svhn && strcmp(dataset, "cifar10") != 0)
        return jt_fail(ctx, JT_ERR_ARG, "dataset '%s': expected fmnist, mnist, cifar10 or svhn", dataset);
    /* CIFAR-10 / SVHN (ResNet-18): PGD-10 step 0.007 eps 8/255; Standard, TRADES, MMA: lr 0.1 wd 2e-4
     * 100 epochs x0.1 at 75, x0.01 at 90; MART lr 0.01 wd 3.5e-3 120 epochs, x0.1 at 75, x0.01 at 90,
     * x0.001 at 100; SVHN: initial lr / 10. Pad 4 + crop, flip (SVHN too, as the paper). */
    d->eps = 8.0 / 255.0;
    d->pgd_step = 0.007;
    d->lr = (mart ? 0.01 : 0.1) / (svhn ? 10.0 : 1.0);
    d->wd = mart ? 3.5e-3 : 2e-4;
    d->epochs = mart ? 120 : 100;
    d->paper_epochs = d->epochs;
    d->n_milestones = mart ? 3 : 2;
    d->milestones[0] = 75;
    d->milestones[1] = 90;
    d->milestones[2] = 100;
    d->factors[0] = 0.1;
    d->factors[1] = 0.01;
    d->factors[2] = 0.001;
    d->crop_pad = 4;
    d->flip = 1;
    return JT_OK;
}

/* ---- flat JSON objects: "key":value pairs, values numbers or strings without escapes ---- */

typedef struct kv_tok {
    const char *k, *v;
    int kl, vl;
} kv_tok;

static int next_pair(const char **p, kv_tok *t) {
    const char *s = *p;
    while (*s && *s != '"') s++;
    if (!*s) return 0;
    t->k = ++s;
    while (*s && *s != '"') s++;
    if (!*s) return 0;
    t->kl = (int)(s - t->k);
    s++;
    while (*s == ':' || *s == ' ') s++;
    t->v = s;
    if (*s == '"') {
        s++;
        while (*s && *s != '"') s++;
        if (*s) s++;
    } else {
        while (*s && *s != ',' && *s != '}') s++;
    }
    t->vl = (int)(s - t->v);
    *p = s;
    return 1;
}

static int find_key(const char *obj, const kv_tok *want, kv_tok *got) {
    const char *p = obj;
    while (next_pair(&p, got))
        if (got->kl == want->kl && strncmp(got->k, want->k, (size_t)want->kl) == 0) return 1;
    return 0;
}

int tt_config_diff(const char *a, const char *b, char *why, size_t cap) {
    kv_tok ta, tb;
    const char *p = a;
    while (next_pair(&p, &ta)) {
        if (!find_key(b, &ta, &tb)) {
            snprintf(why, cap, "%.*s: %.*s vs (not set)", ta.kl, ta.k, ta.vl, ta.v);
            return 1;
        }
        if (ta.vl != tb.vl || strncmp(ta.v, tb.v, (size_t)ta.vl) != 0) {
            snprintf(why, cap, "%.*s: %.*s vs %.*s", ta.kl, ta.k, ta.vl, ta.v, tb.vl, tb.v);
            return 1;
        }
    }
    p = b;
    while (next_pair(&p, &tb))
        if (!find_key(a, &tb, &ta)) {
            snprintf(why, cap, "%.*s: (not set) vs %.*s", tb.kl, tb.k, tb.vl, tb.v);
            return 1;
        }
    return 0;
}
