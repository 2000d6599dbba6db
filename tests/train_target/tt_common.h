/* Shared by the target-training tests that need Fashion-MNIST. */
#ifndef TT_COMMON_H
#define TT_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jatp/jatp.h"
#include "jt_test.h"

/* 1 when Debian's dataset-fashion-mnist is installed; otherwise prints `skip name: ...` (or FAIL with
 * JATP_REQUIRE_FMNIST=1) and returns 0. */
static inline int tt_have_fmnist(const char *name) {
    const char *const files[] = {JT_FMNIST_DIR "/train-images-idx3-ubyte.gz", JT_FMNIST_DIR "/train-images-idx3-ubyte"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "rb");
        if (f) {
            fclose(f);
            return 1;
        }
    }
    const char *req = getenv("JATP_REQUIRE_FMNIST");
    if (req && strcmp(req, "1") == 0)
        jt_test_fail(name, "JATP_REQUIRE_FMNIST=1 but Fashion-MNIST is not in " JT_FMNIST_DIR
                           " (install Debian's dataset-fashion-mnist)");
    else jt_test_skip(name, "Debian's dataset-fashion-mnist is not installed (" JT_FMNIST_DIR ")");
    return 0;
}

static inline double tt_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#endif
