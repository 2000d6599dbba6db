/* APE-GAN generator and discriminator (models.md 3.2, owruby/APE-GAN models.py).
 * G: conv4x4 s2 p1 C->64, BN, LReLU(0.01); conv4x4 s2 p1 64->128, BN, LReLU; convT4x4 s2 p1 128->64,
 *    BN, LReLU; convT4x4 s2 p1 64->C, tanh. Names conv1.{0,1}, conv2.{0,1}, deconv1.{0,1}, deconv2.0.
 * D: conv3x3 s2 C->64, LReLU; conv3x3 s2 64->128, BN, LReLU; conv3x3 s2 128->256, BN, LReLU;
 *    flatten, Linear -> 1 logit (the sigmoid lives in the loss). Names conv1.0, conv2.{0,1},
 *    conv3.{0,1}, fc. All convs have biases. */
#include "../models_internal.h"

#define APE_SLOPE 0.01

jt_status jt_model_apeg_g(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info) {
    mb m;
    mb_init(&m, b, cfg, info);
    int c = cfg->channels;
    if (c <= 0) return mb_fail(&m, "apeg-g: channels must be positive (got %d)", c);
    int32_t h = mb_conv(&m, "conv1.0", x, c, 64, 4, 2, 1, 1);
    h = mb_bn(&m, "conv1.1", h, 64);
    h = mb_lrelu(&m, "conv1.2", h, APE_SLOPE);
    h = mb_conv(&m, "conv2.0", h, 64, 128, 4, 2, 1, 1);
    h = mb_bn(&m, "conv2.1", h, 128);
    h = mb_lrelu(&m, "conv2.2", h, APE_SLOPE);
    h = mb_conv_t(&m, "deconv1.0", h, 128, 64, 4, 2, 1, 1);
    h = mb_bn(&m, "deconv1.1", h, 64);
    h = mb_lrelu(&m, "deconv1.2", h, APE_SLOPE);
    h = mb_conv_t(&m, "deconv2.0", h, 64, c, 4, 2, 1, 1);
    h = mb_tanh(&m, "deconv2.1", h);
    return mb_finish(&m, h, -1);
}

jt_status jt_model_apeg_d(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info) {
    mb m;
    mb_init(&m, b, cfg, info);
    int c = cfg->channels;
    if (c <= 0 || cfg->height <= 0 || cfg->width <= 0)
        return mb_fail(&m, "apeg-d: needs positive channels and a fixed input size (got %d, %dx%d)", c, cfg->height,
                       cfg->width);
    int64_t hh = cfg->height, ww = cfg->width;
    int32_t h = mb_conv(&m, "conv1.0", x, c, 64, 3, 2, 0, 1);
    h = mb_lrelu(&m, "conv1.1", h, APE_SLOPE);
    h = mb_conv(&m, "conv2.0", h, 64, 128, 3, 2, 0, 1);
    h = mb_bn(&m, "conv2.1", h, 128);
    h = mb_lrelu(&m, "conv2.2", h, APE_SLOPE);
    h = mb_conv(&m, "conv3.0", h, 128, 256, 3, 2, 0, 1);
    h = mb_bn(&m, "conv3.1", h, 256);
    h = mb_lrelu(&m, "conv3.2", h, APE_SLOPE);
    for (int i = 0; i < 3; i++) {
        hh = mb_conv_out(hh, 3, 2, 0);
        ww = mb_conv_out(ww, 3, 2, 0);
    }
    if (hh <= 0 || ww <= 0) return mb_fail(&m, "apeg-d: input %dx%d is too small", cfg->height, cfg->width);
    h = mb_flatten(&m, "flatten", h);
    h = mb_linear(&m, "fc", h, (int)(256 * hh * ww), 1);
    return mb_finish(&m, h, -1);
}
