/* Helpers shared by the CLI tools. */
#ifndef JATP_TOOLS_CLI_H
#define JATP_TOOLS_CLI_H

#include "jatp/jatp.h"

/* Prints "jatp: error: <message>" for the context's error and returns 1 (the library-error exit). */
int cli_error(jt_ctx *ctx);
/* Creates a context honouring --threads and JATP_LOG; prints and returns non-zero on failure. */
int cli_ctx(int threads, jt_ctx **ctx);
/* Input shapes for a plan from the graph's declared inputs, symbolic dims replaced by `batch` for
 * axis 0 and 1 elsewhere. Fails (printing) if another symbolic dim exists and strict is set. */
int cli_default_shapes(jt_ctx *ctx, const jt_graph *g, int batch, jt_tensor *shapes);

int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_attack(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_train_target(int argc, char **argv);
int cmd_train_denoiser(int argc, char **argv);
int cmd_reproduce(int argc, char **argv);

#endif
