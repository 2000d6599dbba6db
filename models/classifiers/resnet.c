/* CIFAR-style ResNet (kuangliu / TRADES layout): ResNet-18 and the ResNet-10-FM variants of models.md
 * section 2. conv3x3 stem (no max-pool) + BN + ReLU, four stages of BasicBlocks (first stride 1, then
 * 2), global average pool, Linear. Tap: the last block of layer3 after its bn2 (before the add). */
#include <stdio.h>

#include "../models_internal.h"

/* BasicBlock(in, out, stride) named `mod` ("layer1.0"); *bn2_out receives bn2's output (the tap). */
static int32_t basic_block(mb *m, const char *mod, int32_t x, int in, int out, int stride, int32_t *bn2_out) {
    char n[256];
    int32_t a = mb_conv(m, mb_name(n, sizeof n, "%s.conv1", mod), x, in, out, 3, stride, 1, 0);
    a = mb_bn(m, mb_name(n, sizeof n, "%s.bn1", mod), a, out);
    a = mb_relu(m, mb_name(n, sizeof n, "%s.relu1", mod), a);
    int32_t b = mb_conv(m, mb_name(n, sizeof n, "%s.conv2", mod), a, out, out, 3, 1, 1, 0);
    b = mb_bn(m, mb_name(n, sizeof n, "%s.bn2", mod), b, out);
    *bn2_out = b;
    int32_t sc = x;
    if (stride != 1 || in != out) {
        sc = mb_conv(m, mb_name(n, sizeof n, "%s.shortcut.0", mod), x, in, out, 1, stride, 0, 0);
        sc = mb_bn(m, mb_name(n, sizeof n, "%s.shortcut.1", mod), sc, out);
    }
    int32_t s = mb_add(m, mb_name(n, sizeof n, "%s.add", mod), b, sc);
    return mb_relu(m, mb_name(n, sizeof n, "%s.relu2", mod), s);
}

jt_status jt_model_resnet(jt_gb *b, const jt_model_config *cfg, int32_t x, jt_model_info *info) {
    mb m;
    mb_init(&m, b, cfg, info);
    int w = cfg->base_width;
    if (w <= 0 || cfg->channels <= 0 || cfg->num_classes <= 0)
        return mb_fail(&m, "resnet: channels, base width and classes must be positive (got %d, %d, %d)",
                       cfg->channels, w, cfg->num_classes);
    for (int s = 0; s < 4; s++)
        if (cfg->blocks[s] <= 0) return mb_fail(&m, "resnet: stage %d has %d blocks", s + 1, cfg->blocks[s]);
    int32_t h = mb_conv(&m, "conv1", x, cfg->channels, w, 3, 1, 1, 0);
    h = mb_bn(&m, "bn1", h, w);
    h = mb_relu(&m, "relu", h);
    int in = w, tap = -1;
    for (int s = 0; s < 4; s++) {
        int out = w << s;
        for (int k = 0; k < cfg->blocks[s]; k++) {
            char mod[64];
            int32_t bn2;
            snprintf(mod, sizeof mod, "layer%d.%d", s + 1, k);
            h = basic_block(&m, mod, h, in, out, k == 0 && s > 0 ? 2 : 1, &bn2);
            if (s == 2) tap = bn2; /* the last block of layer3 */
            in = out;
        }
    }
    h = mb_gap(&m, "avgpool", h);
    h = mb_flatten(&m, "flatten", h);
    h = mb_linear(&m, "linear", h, in, cfg->num_classes);
    return mb_finish(&m, h, tap);
}
