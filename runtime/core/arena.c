/* Bump arena: a list of chunks; objects are 64-byte aligned and zeroed, freed all at once. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(64) unsigned char data[];
} chunk;

struct jt_arena {
    chunk *head;
    size_t total;
};

jt_arena *jt_arena_create(void) { return calloc(1, sizeof(jt_arena)); }

void jt_arena_free(jt_arena *a) {
    if (!a) return;
    for (chunk *c = a->head; c;) {
        chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

void *jt_arena_alloc(jt_arena *a, size_t bytes) {
    size_t need = (bytes + 63) & ~(size_t)63;
    if (need < bytes) return NULL; /* overflow */
    chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t size = need > (size_t)60 * 1024 ? need : (size_t)64 * 1024;
        c = aligned_alloc(64, (sizeof(chunk) + size + 63) & ~(size_t)63);
        if (!c) return NULL;
        c->size = size;
        c->used = 0;
        /* big blocks go behind the head so the head keeps serving small requests */
        if (a->head && need > (size_t)60 * 1024) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
        a->total += size;
    }
    void *p = c->data + c->used;
    c->used += need;
    memset(p, 0, bytes);
    return p;
}

char *jt_arena_strndup(jt_arena *a, const char *s, size_t n) {
    char *p = jt_arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *jt_arena_strdup(jt_arena *a, const char *s) { return jt_arena_strndup(a, s, strlen(s)); }

size_t jt_arena_bytes(const jt_arena *a) { return a->total; }

void *jt_malloc_aligned(size_t bytes) {
    size_t n = (bytes + 63) & ~(size_t)63;
    if (n == 0) n = 64;
    return aligned_alloc(64, n);
}

void jt_free_aligned(void *p) { free(p); }
