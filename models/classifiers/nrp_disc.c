/* NRP / CAFD VGG-style discriminator for 32x32 inputs (models.md 3.4; ESRGAN Discriminator_VGG
 * naming): conv0_0 3x3 C->ndf (bias), lrelu; then four stages of [conv 4x4 s2 p1 (or 3x3 s1 p1),
 * BN, lrelu] pairs without bias; flatten; linear1 -> 100, lrelu; linear2 -> 1. lrelu slope 0.2. */
#include "../models_internal.h"

#define DISC_SLOPE 0.2

jt_status jt_model_nrp_disc(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info) {
    mb m;
    mb_init(&m, b, cfg, info);
    int c = cfg->channels, nf = cfg->ndf;
    if (c <= 0 || nf <= 0 || cfg->height <= 0 || cfg->width <= 0)
        return mb_fail(&m, "nrp-disc: needs positive channels, ndf and a fixed input size (got %d, %d, %dx%d)", c, nf,
                       cfg->height, cfg->width);
    char n[64];
    int32_t h = mb_conv(&m, "conv0_0", x, c, nf, 3, 1, 1, 1);
    h = mb_lrelu(&m, "lrelu0_0", h, DISC_SLOPE);
    /* (stage, sub): sub 1 of stage 0 first, then (1,0), (1,1), (2,0), (2,1), (3,0), (3,1) */
    static const int layers[7][2] = {{0, 1}, {1, 0}, {1, 1}, {2, 0}, {2, 1}, {3, 0}, {3, 1}};
    int in = nf;
    int64_t hh = cfg->height, ww = cfg->width;
    for (int i = 0; i < 7; i++) {
        int s = layers[i][0], sub = layers[i][1];
        int out = nf << (s < 2 ? s : 2); /* widths nf, 2nf, 4nf, 4nf */
        int k = sub ? 4 : 3, stride = sub ? 2 : 1;
        h = mb_conv(&m, mb_name(n, sizeof n, "conv%d_%d", s, sub), h, in, out, k, stride, 1, 0);
        h = mb_bn(&m, mb_name(n, sizeof n, "bn%d_%d", s, sub), h, out);
        h = mb_lrelu(&m, mb_name(n, sizeof n, "lrelu%d_%d", s, sub), h, DISC_SLOPE);
        hh = mb_conv_out(hh, k, stride, 1);
        ww = mb_conv_out(ww, k, stride, 1);
        in = out;
    }
    if (hh <= 0 || ww <= 0) return mb_fail(&m, "nrp-disc: input %dx%d is too small", cfg->height, cfg->width);
    h = mb_flatten(&m, "flatten", h);
    h = mb_linear(&m, "linear1", h, (int)(in * hh * ww), 100);
    h = mb_lrelu(&m, "lrelu_fc", h, DISC_SLOPE);
    h = mb_linear(&m, "linear2", h, 100, 1);
    return mb_finish(&m, h, -1);
}
