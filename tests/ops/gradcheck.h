/* Table-driven gradient checks for op VJP rules (tests/ops/).
 *
 * Each row builds a one-node graph, appends its backward through jt_build_backward with a random
 * cotangent c on every output, and checks, in float64:
 *   analytic  J^T c  (the appended gradient nodes)
 *   numeric   d/de <c, y(x + e u)> by central differences (e = 1e-6), for every element of every
 *             differentiated input up to 4096 elements, else along 16 random directions u;
 *   pass if |a - n| <= tol * max(1, |a|, |n|)   (tol default 1e-6).
 * Then it reruns the same graph in float32 (the fast path) and compares outputs and gradients with the
 * float64 results by relative L2 error (default 1e-5). test_cuda_ops.c runs every row again on the CUDA
 * backend in float32 against the CPU float64 result (cuda_atol/cuda_rtol per element, and f32_tol by
 * relative L2); the graph building both share is gc_build.c.
 *
 * Input specs are strings: "2,3,8,8" (dims), "scalar" (rank 0), "" (omitted optional input).
 * Non-differentiated float inputs are constants with random data; `ints[i]` gives int64 constant data
 * ("1,2" for axes/shapes, dims from the spec) or bool data with a "b:" prefix ("b:1,0,1"). Attribute spec: space-separated name=value with
 * value "3" (int), "0.2" (float), "1,2,3" (ints), "0.5,1.5" (floats: any '.'), "1," (one-element
 * ints), "s:text" (string). Ranges: "i:lo:hi" per input, e.g. "2:0.5:2" (default -1:1). */
#ifndef JT_GRADCHECK_H
#define JT_GRADCHECK_H

#include <stdint.h>

#define GC_MAX_IN 6

typedef struct gc_case {
    const char *op;
    const char *label;           /* unique within the op */
    const char *in[GC_MAX_IN];   /* input shapes; NULL ends the list */
    const char *attrs;
    uint32_t wrt;                /* bit i: differentiate input i */
    const char *ints[GC_MAX_IN]; /* int64 constant data for non-float inputs */
    const char *ranges;
    double away;                 /* keep |x| >= away (and |x - k| for kinks at 0) */
    double tol;                  /* finite-difference tolerance, default 1e-6 */
    double f32_tol;              /* float32 vs float64 relative L2 tolerance, default 1e-5 */
    double cuda_atol, cuda_rtol; /* CUDA float32 vs CPU float64, per element: |got - ref| <= atol +
                                  * rtol*|ref| (test_cuda_ops.c; defaults 1e-5 and 1e-4, TF32 off) */
    int n_out;                   /* default 1 */
    const char *domain;          /* default "" */
    int opset;                   /* default 17 */
    const char *skip;            /* reason, or NULL */
} gc_case;

typedef struct gc_family {
    const char *name;
    const gc_case *cases;
    const int *n;
} gc_family;

#endif
