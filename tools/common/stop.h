/* Ctrl-C and SIGTERM for long commands: the first signal sets the flag (the trainer finishes its step
 * and writes a checkpoint); a second one exits at once. */
#ifndef JATP_TOOLS_STOP_H
#define JATP_TOOLS_STOP_H

#include "jatp/trainer.h"

/* Installs the handlers and returns the flag they set. The flag is the one piece of process-wide state
 * of the CLI: a signal handler can reach nothing else. */
jt_stop_flag *cli_stop_flag_install(void);

#endif
