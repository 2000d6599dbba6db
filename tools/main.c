/* jatp: one binary, subcommands. */
#include <stdio.h>
#include <string.h>

#include "common/cli.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command;

static const command commands[] = {
    {"inspect", cmd_inspect, "show a model's opset, inputs, outputs, ops, parameters and support"},
    {"run", cmd_run, "run a model on .npy inputs and write .npy outputs"},
    {"bench", cmd_bench, "time model passes, the JATP step or single ops (median, p10, p90, GFLOP/s)"},
    {"attack", cmd_attack, "run one attack on T or T∘P and write the adversarial images"},
    {"eval", cmd_eval, "natural and robust accuracy under a list of attacks, with reports and sanity checks"},
    {"train", cmd_train, "train a target classifier or a pre-processing defense (JATP and baselines)"},
    {"reproduce", cmd_reproduce, "the paper's Table 1 and Figures 1 and 4a end to end (presets ci, fmnist, fmnist-m, paper)"},
    {"export", cmd_export, "write a model file or a builder model as standard ONNX (opset 17)"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: jatp COMMAND [options]   (jatp COMMAND --help for details)\n\n"
               "jatp %s: an ONNX runtime and trainer for JATP pre-processing defenses.\n\ncommands:\n",
            JATP_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("jatp %s\n", JATP_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "jatp: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
