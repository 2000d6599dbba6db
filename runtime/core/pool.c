/* Thread pool: persistent workers pull task indices from an atomic counter. The caller's thread
 * takes part, so a pool of N threads has N-1 workers. Results never depend on which thread ran a
 * task: kernels split work by problem size only. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "../../ops/op.h"
#include "internal.h"

struct jt_pool {
    int threads;
    pthread_t *workers;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    /* current job */
    jt_task_fn fn;
    void *arg;
    int64_t n_tasks;
    atomic_int_fast64_t next;
    int busy;        /* workers still inside the current job */
    uint64_t epoch;  /* incremented for each job */
    int quit;
};

static void run_tasks(jt_pool *p) {
    for (;;) {
        int64_t t = atomic_fetch_add(&p->next, 1);
        if (t >= p->n_tasks) break;
        p->fn(p->arg, t);
    }
}

static void *worker_main(void *arg) {
    jt_pool *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->epoch == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->quit) break;
        seen = p->epoch;
        pthread_mutex_unlock(&p->mu);
        run_tasks(p);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

jt_status jt_pool_create(jt_ctx *ctx, int threads, jt_pool **out) {
    *out = NULL;
    jt_pool *p = calloc(1, sizeof *p);
    if (!p) return jt_fail(ctx, JT_ERR_OOM, "out of memory creating the thread pool");
    p->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (p->threads > 1) {
        p->workers = calloc((size_t)p->threads - 1, sizeof *p->workers);
        if (!p->workers) {
            free(p);
            return jt_fail(ctx, JT_ERR_OOM, "out of memory creating the thread pool");
        }
        for (int i = 0; i < p->threads - 1; i++) {
            if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) {
                p->threads = i + 1; /* keep the ones that started */
                break;
            }
        }
    }
    *out = p;
    return JT_OK;
}

void jt_pool_free(jt_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->threads - 1; i++) pthread_join(p->workers[i], NULL);
    free(p->workers);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

int jt_pool_threads(const jt_pool *p) { return p ? p->threads : 1; }

void jt_pool_run(jt_pool *p, jt_task_fn fn, void *arg, int64_t n_tasks) {
    if (n_tasks <= 0) return;
    if (!p || p->threads == 1 || n_tasks == 1) {
        for (int64_t t = 0; t < n_tasks; t++) fn(arg, t);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n_tasks = n_tasks;
    atomic_store(&p->next, 0);
    p->busy = p->threads - 1;
    p->epoch++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
