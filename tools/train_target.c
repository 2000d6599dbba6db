/* PLACEHOLDER: being written. */
#include <stdio.h>

#include "common/cli.h"

int cmd_train_target(int argc, char **argv) {
    (void)argc, (void)argv;
    fprintf(stderr, "jatp train target: not implemented yet\n");
    return 1;
}
