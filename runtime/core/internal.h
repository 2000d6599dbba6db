/* Internal runtime declarations shared across runtime/ (not part of the public API). */
#ifndef JATP_RUNTIME_INTERNAL_H
#define JATP_RUNTIME_INTERNAL_H

#include <stddef.h>

#include "jatp/status.h"

/* ---- arena: bump allocator owning many small objects, freed at once ---- */
typedef struct jt_arena jt_arena;
jt_arena *jt_arena_create(void);
void jt_arena_free(jt_arena *a);
/* 64-byte aligned, zeroed; NULL on out-of-memory. */
void *jt_arena_alloc(jt_arena *a, size_t bytes);
char *jt_arena_strdup(jt_arena *a, const char *s);
char *jt_arena_strndup(jt_arena *a, const char *s, size_t n);
size_t jt_arena_bytes(const jt_arena *a);

/* ---- thread pool ---- */
jt_status jt_pool_create(jt_ctx *ctx, int threads, jt_pool **out);
void jt_pool_free(jt_pool *pool);

/* 64-byte aligned heap memory (free with jt_free_aligned). */
void *jt_malloc_aligned(size_t bytes);
void jt_free_aligned(void *p);

#endif
