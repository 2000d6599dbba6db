/* Graph building shared by the op-case harnesses (gradcheck.c: CPU finite differences and float32;
 * test_cuda_ops.c: CUDA float32 against the CPU float64 reference). A case row (gradcheck.h) becomes a
 * one-node graph whose differentiated inputs are graph inputs and whose other inputs are constants;
 * with cotangents given, jt_build_backward appends the gradient nodes and their outputs. */
#ifndef JT_GC_BUILD_H
#define JT_GC_BUILD_H

#include <stdint.h>

#include "gradcheck.h"
#include "jatp/jatp.h"

typedef struct gc_spec {
    int present, rank;
    int64_t dims[JT_MAX_RANK];
    double lo, hi;
} gc_spec;

typedef struct gc_built {
    jt_graph *g;
    int n_x;                /* graph inputs (differentiated) */
    int x_of[GC_MAX_IN];    /* op input index of graph input k */
    int n_out;
    int32_t y[8], grad[GC_MAX_IN];
} gc_built;

/* The harness RNG (xorshift64; fixed default seed so that gradcheck's draws are reproducible). */
double gc_urand(void);
void gc_seed(uint64_t seed);

int64_t gc_numel(const gc_spec *sp);
/* Parses the row's input shapes and ranges into sp[GC_MAX_IN]; returns the number of inputs, or -1
 * with *bad set to the spec that does not parse. */
int gc_parse_case(const gc_case *c, gc_spec *sp, const char **bad);
/* Draws data[i] (malloc'ed, numel + 1 doubles) for every input from its range, keeping |x| >= away. */
void gc_draw_inputs(const gc_case *c, const gc_spec *sp, int n_in, double **data);
/* Builds the node (+ backward with cotangents cot[j] of shapes yshape[j] when cot != NULL). */
jt_status gc_build(jt_ctx *ctx, const gc_case *c, const gc_spec *sp, int n_in, double *const *data, jt_dtype dt,
                   double *const *cot, const gc_spec *yshape, gc_built *out);
/* Host tensors (malloc'ed data) for the differentiated inputs, in dtype dt. */
void gc_make_inputs(const gc_built *bt, const gc_spec *sp, double *const *data, jt_dtype dt, jt_tensor *xs);

#endif
