/* jatp train target|denoiser: dispatch to the training drivers. */
#include <stdio.h>
#include <string.h>

#include "common/cli.h"

int cmd_train(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        FILE *f = argc < 1 ? stderr : stdout;
        fprintf(f, "usage: jatp train target|denoiser [options]   (jatp train target --help for details)\n\n"
                   "  target     train a classifier: natural, Standard AT (PGD-10), TRADES, MART or MMA\n"
                   "  denoiser   train a pre-processing defense P in front of a frozen target:\n"
                   "             JATP (feature-space PGD + BCE/FSM/pixel loss), NRP, HGD or APE-G\n");
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "target") == 0) return cmd_train_target(argc - 1, argv + 1);
    if (strcmp(argv[0], "denoiser") == 0) return cmd_train_denoiser(argc - 1, argv + 1);
    fprintf(stderr, "jatp train: unknown mode '%s' (target or denoiser)\n", argv[0]);
    return 2;
}
