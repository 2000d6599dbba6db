/* PLACEHOLDER: being written. */
#include "jt_test.h"

int main(void) {
    jt_test_skip("test_fwa_ti", "not written yet");
    return jt_test_finish();
}
