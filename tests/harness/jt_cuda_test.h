/* Helpers shared by the CUDA test binaries (tests/ops/test_cuda_ops.c, tests/models/model_cuda.c,
 * tests/core/test_cuda_inject.c). Compiled into each of them (not into jt_test_lib: it needs libjatp's
 * internals).
 *
 * Device rules (docs/testing.md, design section 4): a case that needs a device and has none prints one
 * `skip <name>: <reason>` line, the reason saying `built without CUDA` or `no CUDA device` followed by
 * jt_backend_create's message; with JATP_REQUIRE_CUDA=1 (set on GPU runs) the same case is a FAIL.
 *
 * Poison and guards: before each run the plan's activation arena and workspace are filled with a byte
 * pattern (0xFF: float NaN; 0x7F: 3.4e38), so an output element a kernel does not write, or a kernel that
 * accumulates into its output instead of assigning, shows up in the comparison. After the run, every
 * arena byte that no planned value covers (the padding to 64 bytes after each buffer, and the tail) must
 * still hold the pattern: a write past the end of a buffer is caught there. */
#ifndef JT_CUDA_TEST_H
#define JT_CUDA_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "jatp/jatp.h"

/* JATP_REQUIRE_CUDA=1 */
int jt_cuda_test_required(void);
/* Opens the backend named by JATP_TEST_DEVICE (default "cuda"), TF32 off, deterministic off. On
 * failure returns NULL and writes the skip reason ("built without CUDA: ..." / "no CUDA device: ...",
 * or "cuda: ..." for other errors) to reason. */
jt_backend *jt_cuda_test_open(jt_ctx *ctx, char *reason, size_t cap);
/* The line for a case that cannot run for want of a device: skip, or FAIL under JATP_REQUIRE_CUDA=1. */
void jt_cuda_test_unavailable(const char *name, const char *reason);

/* Fills the plan's arena and workspace with `byte` (through its backend). */
jt_status jt_cuda_test_poison(jt_plan *p, uint8_t byte);
/* After a run: arena bytes outside every planned value still equal `byte`. Returns 1 when intact, else 0
 * with the first corrupted offset and the value it follows written to why. */
int jt_cuda_test_guards_intact(jt_plan *p, uint8_t byte, char *why, size_t cap);
/* Test hook for the self-check: overwrites one guard byte (the first padding byte after some value). Returns
 * 0 when the plan has no padding byte. */
int jt_cuda_test_corrupt_guard(jt_plan *p);
/* Copies output i into a host tensor (same dtype and shape; data malloc'ed; free with free()). */
jt_status jt_cuda_test_download(jt_plan *p, int i, jt_tensor *host);

/* JATP_SOURCE_ROOT when set (the tree was copied to another path, e.g. on the GPU machine), else the
 * source root compiled in. */
const char *jt_cuda_test_source_root(const char *compiled_in);

#endif
