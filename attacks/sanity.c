/* PLACEHOLDER: being written (docs/attacks.md section 11). Fails clearly until then. */
#include "attack_internal.h"

const char *jt_check_status_name(jt_check_status s) {
    static const char *const names[] = {"PASS", "WARN", "FAIL", "SKIP"};
    return (int)s >= 0 && s <= JT_CHECK_SKIP ? names[s] : "?";
}

jt_status jt_sanity_run(jt_oracle *full, jt_oracle *bpda, const float *x, const int64_t *y, int n,
                        const jt_eval_result *ev, const jt_sanity_options *opt, jt_sanity_report *out) {
    (void)bpda, (void)x, (void)y, (void)n, (void)ev, (void)opt;
    memset(out, 0, sizeof *out);
    return jt_fail(full->ctx, JT_ERR_UNSUPPORTED, "sanity checks are not implemented yet");
}
