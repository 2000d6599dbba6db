/* HGD denoiser DUNET (models.md 3.3, lfz/Guided-Denoise): units U = conv3x3 (no bias) -> BN -> ReLU;
 * a 5-level encoder (level sizes h_{i+1} = ceil(h_i / 2): stride-2 convs with pad 1), a decoder that
 * upsamples bilinearly (half-pixel centres) to each encoder level's size and concatenates
 * [upsampled, skip], and a 1x1 head without bias; output = head + input.
 * Names: enc<l>.<u>.{conv,bn}, dec<l>.<u>.{conv,bn}, head. */
#include <stdio.h>

#include "../models_internal.h"

static int32_t unit(mb *m, const char *mod, int32_t x, int in, int out, int stride) {
    char n[256];
    int32_t h = mb_conv(m, mb_name(n, sizeof n, "%s.conv", mod), x, in, out, 3, stride, 1, 0);
    h = mb_bn(m, mb_name(n, sizeof n, "%s.bn", mod), h, out);
    return mb_relu(m, mb_name(n, sizeof n, "%s.relu", mod), h);
}

/* A group of units: the first in -> out with stride, then (count - 1) out -> out. */
static int32_t group(mb *m, const char *mod, int32_t x, int in, int out, int stride, int count) {
    char n[256];
    for (int u = 0; u < count; u++) {
        x = unit(m, mb_name(n, sizeof n, "%s.%d", mod, u), x, u ? out : in, out, u ? 1 : stride);
    }
    return x;
}

jt_status jt_model_dunet(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info) {
    mb m;
    mb_init(&m, b, cfg, info);
    int c = cfg->channels;
    if (c <= 0) return mb_fail(&m, "dunet: channels must be positive (got %d)", c);
    /* encoder: (in, out, stride, units) per level */
    static const int enc[5][4] = {{0, 64, 1, 2}, {64, 128, 2, 3}, {128, 256, 2, 3}, {256, 256, 2, 3}, {256, 256, 2, 3}};
    int32_t e[5];
    int32_t h = x;
    for (int l = 0; l < 5; l++) {
        char n[32];
        h = group(&m, mb_name(n, sizeof n, "enc%d", l), h, l ? enc[l][0] : c, enc[l][1], enc[l][2], enc[l][3]);
        e[l] = h;
    }
    /* decoder, deepest first: (in = up + skip channels, out, units) for levels 3..0 */
    static const int dec[4][3] = {{192, 64, 2}, {384, 128, 3}, {512, 256, 3}, {512, 256, 3}};
    for (int l = 3; l >= 0; l--) {
        char n[32], n2[48];
        int32_t up = mb_resize_like(&m, mb_name(n2, sizeof n2, "dec%d.up", l), h, e[l]);
        int32_t cat = mb_concat(&m, mb_name(n2, sizeof n2, "dec%d.cat", l), (const int32_t[]){up, e[l]}, 2);
        h = group(&m, mb_name(n, sizeof n, "dec%d", l), cat, dec[l][0], dec[l][1], 1, dec[l][2]);
    }
    h = mb_conv(&m, "head", h, 64, c, 1, 1, 0, 0);
    h = mb_add(&m, "residual", h, x);
    return mb_finish(&m, h, -1);
}
