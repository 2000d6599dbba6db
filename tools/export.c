/* jatp export: write a graph as a standard ONNX model (ai.onnx opset 17).
 *   jatp export IN.onnx -o OUT.onnx                       round trip through jatp's IR
 *   jatp export --model NAME [--config k=v ...] [--seed S] -o OUT.onnx   a builder model and its init */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/cli.h"
#include "jatp/models.h"

static void list_models(void) {
    printf("models (jatp export --model NAME):\n");
    for (const char *const *n = jt_model_names(); *n; n++) {
        jt_model_config cfg;
        jt_ctx *ctx;
        if (jt_ctx_create(1, &ctx) != JT_OK) return;
        jt_graph *g = NULL;
        if (jt_model_config_preset(ctx, *n, &cfg) == JT_OK && jt_model_create(ctx, *n, &cfg, &g, NULL) == JT_OK)
            printf("  %-16s C=%d %dx%d  %lld parameters\n", *n, cfg.channels, cfg.height, cfg.width,
                   (long long)jt_model_count_params(g));
        jt_graph_free(g);
        jt_ctx_free(ctx);
    }
}

int cmd_export(int argc, char **argv) {
    const char *output = NULL, *model = NULL, *strip = NULL;
    arg_list configs = {0}, values = {0};
    int seed = -1, bn_eval = 0, allow_newer = 0, list = 0;
    const char *pos[1] = {NULL};
    int npos = 0;
    const arg_opt opts[] = {
        {"--output", ARG_STR, "OUT.onnx", "where to write the model (also -o)", &output},
        {"--model", ARG_STR, "NAME", "export a builder model (see --list-models) instead of a file", &model},
        {"--config", ARG_LIST, "KEY=VALUE", "builder setting: c h w base blocks classes nf gc nb ndf bn init seed", &configs},
        {"--seed", ARG_INT, "S", "init seed of a builder model (default 0)", &seed},
        {"--value", ARG_LIST, "NAME", "export only what this value needs, as an output (repeatable)", &values},
        {"--strip-prefix", ARG_STR, "PREFIX", "remove PREFIX from the front of every name (e.g. P/)", &strip},
        {"--bn-eval", ARG_FLAG, NULL, "write training-mode BatchNormalization in inference form", &bn_eval},
        {"--allow-newer-opset", ARG_FLAG, NULL, "accept ai.onnx opsets above 18 in IN.onnx", &allow_newer},
        {"--list-models", ARG_FLAG, NULL, "list the builder models and their parameter counts", &list},
    };
    arg_spec spec = {"jatp export", "IN.onnx -o OUT.onnx | --model NAME [--config k=v ...] [--seed S] -o OUT.onnx",
                     "Writes a graph as a standard ONNX model (IR 8, ai.onnx opset 17) with its current parameters: a "
                     "model file read through jatp's importer, or one of jatp's builder models with PyTorch default "
                     "initialisation from --seed.",
                     opts, (int)(sizeof opts / sizeof opts[0]), pos, 0, 1, &npos};
    char **av = malloc(sizeof(char *) * (size_t)(argc + 1));
    if (!av) return 1;
    for (int i = 0; i < argc; i++) av[i] = strcmp(argv[i], "-o") == 0 ? "--output" : argv[i];
    int rc = args_parse(&spec, argc, av);
    free(av);
    if (rc) return rc == 1 ? 0 : 2;
    if (list) {
        list_models();
        return 0;
    }
    if (!output) {
        fprintf(stderr, "jatp export: give -o OUT.onnx\n");
        return 2;
    }
    if ((npos == 1) == (model != NULL)) {
        fprintf(stderr, "jatp export: give either IN.onnx or --model NAME\n");
        return 2;
    }
    if (!model && (configs.n || seed >= 0)) {
        fprintf(stderr, "jatp export: --config and --seed apply to --model only\n");
        return 2;
    }
    jt_ctx *ctx;
    if (cli_ctx(0, &ctx)) return 1;
    jt_graph *g = NULL;
    int32_t *outs = NULL;
    rc = 0;
    if (model) {
        jt_model_config cfg;
        if (jt_model_config_preset(ctx, model, &cfg) != JT_OK) {
            fprintf(stderr, "jatp export: --model: %s\n", jt_ctx_error(ctx));
            rc = 2;
            goto done;
        }
        if (seed >= 0) cfg.seed = (uint64_t)seed;
        for (int i = 0; i < configs.n; i++)
            if (jt_model_config_set(ctx, &cfg, configs.v[i]) != JT_OK) {
                fprintf(stderr, "jatp export: --config: %s\n", jt_ctx_error(ctx));
                rc = 2;
                goto done;
            }
        if (jt_model_create(ctx, model, &cfg, &g, NULL) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
    } else {
        jt_load_options lo;
        jt_load_options_default(&lo);
        lo.allow_newer_opset = allow_newer;
        if (jt_onnx_load(ctx, pos[0], &lo, &g) != JT_OK) {
            rc = cli_error(ctx);
            goto done;
        }
    }
    jt_save_options so;
    jt_save_options_default(&so);
    so.strip_prefix = strip;
    so.bn_eval = bn_eval;
    if (values.n) {
        outs = calloc((size_t)values.n, sizeof *outs);
        if (!outs) {
            rc = 1;
            goto done;
        }
        for (int i = 0; i < values.n; i++) {
            outs[i] = jt_graph_find_value(g, values.v[i]);
            if (outs[i] < 0) {
                fprintf(stderr, "jatp export: --value %s: the graph has no value of that name\n", values.v[i]);
                rc = 2;
                goto done;
            }
        }
        so.outputs = outs;
        so.n_outputs = values.n;
    }
    if (jt_onnx_save(ctx, g, output, &so) != JT_OK) {
        rc = cli_error(ctx);
        goto done;
    }
    printf("wrote %s: %lld parameters\n", output, (long long)jt_model_count_params(g));
done:
    free(outs);
    jt_graph_free(g);
    jt_ctx_free(ctx);
    return rc;
}
