/* PLACEHOLDER: being written. */
#include "jt_test.h"

int main(void) {
    jt_test_skip("test_sanity", "not written yet");
    return jt_test_finish();
}
