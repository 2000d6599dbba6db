/* PLACEHOLDER: being written (see docs/attacks.md). Fails clearly until then. */
#include "attack_internal.h"

jt_status jt_atk_autoattack(jt_oracle *o, const jt_attack_config *cfg, jt_attack_io *io) {
    (void)io;
    return jt_fail(o->ctx, JT_ERR_UNSUPPORTED, "attack '%s' is not implemented yet", cfg->name);
}
