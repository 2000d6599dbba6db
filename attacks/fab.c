/* PLACEHOLDER: being written (see docs/attacks.md). Fails clearly until then. */
#include "attack_internal.h"

jt_status jt_atk_fab(atk_job *j) {
    return jt_fail(j->o->ctx, JT_ERR_UNSUPPORTED, "attack '%s' is not implemented yet", j->cfg->name);
}
