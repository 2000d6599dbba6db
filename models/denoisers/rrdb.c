/* NRP purifier (models.md 3.1, Muzammal-Naseer/NRP networks.py): conv_first (no activation) -> nb
 * RRDBs -> trunk_conv. RDB: five 3x3 convs with dense concatenation and LeakyReLU(0.2), output
 * x + 0.2 * conv5; RRDB: three RDBs, output x + 0.2 * RDB3(RDB2(RDB1(x))). No global skip, no clamp.
 * Names follow NRP: conv_first, RRDB_trunk.<i>.RDB<j>.conv<k>, trunk_conv. */
#include <stdio.h>

#include "../models_internal.h"

static int32_t rdb(mb *m, const char *mod, int32_t x, int nf, int gc) {
    char n[256];
    int32_t xs[5] = {x, -1, -1, -1, -1};
    for (int k = 1; k <= 4; k++) {
        int32_t in = k == 1 ? x : mb_concat(m, mb_name(n, sizeof n, "%s.cat%d", mod, k), xs, k);
        int32_t c = mb_conv(m, mb_name(n, sizeof n, "%s.conv%d", mod, k), in, nf + (k - 1) * gc, gc, 3, 1, 1, 1);
        xs[k] = mb_lrelu(m, mb_name(n, sizeof n, "%s.lrelu%d", mod, k), c, 0.2);
    }
    int32_t in = mb_concat(m, mb_name(n, sizeof n, "%s.cat5", mod), xs, 5);
    int32_t x5 = mb_conv(m, mb_name(n, sizeof n, "%s.conv5", mod), in, nf + 4 * gc, nf, 3, 1, 1, 1);
    x5 = mb_scale02(m, mb_name(n, sizeof n, "%s.scale", mod), x5);
    return mb_add(m, mb_name(n, sizeof n, "%s.add", mod), x, x5);
}

jt_status jt_model_rrdb(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info) {
    mb m;
    mb_init(&m, b, cfg, info);
    int c = cfg->channels, nf = cfg->nf, gc = cfg->gc;
    if (c <= 0 || nf <= 0 || gc <= 0 || cfg->nb < 0)
        return mb_fail(&m, "rrdb: channels, nf, gc must be positive and nb >= 0 (got %d, %d, %d, %d)", c, nf, gc,
                       cfg->nb);
    int32_t h = mb_conv(&m, "conv_first", x, c, nf, 3, 1, 1, 1);
    for (int i = 0; i < cfg->nb; i++) {
        char n[128];
        int32_t r = h;
        for (int j = 1; j <= 3; j++) r = rdb(&m, mb_name(n, sizeof n, "RRDB_trunk.%d.RDB%d", i, j), r, nf, gc);
        r = mb_scale02(&m, mb_name(n, sizeof n, "RRDB_trunk.%d.scale", i), r);
        h = mb_add(&m, mb_name(n, sizeof n, "RRDB_trunk.%d.add", i), h, r);
    }
    h = mb_conv(&m, "trunk_conv", h, nf, c, 3, 1, 1, 1);
    return mb_finish(&m, h, -1);
}
