/* threads.c — the thread pool the CPU kernels split their loops over.
 * One pool per process; the caller's thread takes the first range, so a
 * pool of n threads has n-1 workers. Nested or concurrent calls run serially
 * rather than deadlock or oversubscribe the cores. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

void openblas_set_num_threads(int num_threads);

#define ORR_MAX_THREADS 256

typedef struct pool {
    pthread_mutex_t lock;       /* guards the fields below */
    pthread_cond_t work_ready, work_done;
    pthread_mutex_t busy;       /* held by the thread that owns the current job */
    pthread_t workers[ORR_MAX_THREADS];
    int n_workers;              /* threads started */
    int n_threads;              /* threads used per job, caller included */
    int job_parts;              /* ranges of the current job (fewer for small n) */
    uint64_t generation;        /* bumped for each job */
    int pending;                /* workers still running the job */
    orr_range_fn fn;
    void *user;
    int64_t n;
} pool;

static pool the_pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work_ready = PTHREAD_COND_INITIALIZER,
    .work_done = PTHREAD_COND_INITIALIZER,
    .busy = PTHREAD_MUTEX_INITIALIZER,
};
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static _Thread_local bool inside_job;

static void run_share(int index, int parts, orr_range_fn fn, void *user, int64_t n) {
    int64_t begin = n * index / parts, end = n * (index + 1) / parts;
    if (begin < end) fn(user, begin, end);
}

static void *worker_main(void *arg) {
    int index = (int)(intptr_t)arg; /* 1-based: the caller is share 0 */
    uint64_t seen = 0;
    inside_job = true;
    pthread_mutex_lock(&the_pool.lock);
    for (;;) {
        while (the_pool.generation == seen) pthread_cond_wait(&the_pool.work_ready, &the_pool.lock);
        seen = the_pool.generation;
        int parts = the_pool.job_parts;
        if (index >= parts) continue;
        orr_range_fn fn = the_pool.fn;
        void *user = the_pool.user;
        int64_t n = the_pool.n;
        pthread_mutex_unlock(&the_pool.lock);
        run_share(index, parts, fn, user, n);
        pthread_mutex_lock(&the_pool.lock);
        if (--the_pool.pending == 0) pthread_cond_signal(&the_pool.work_done);
    }
    return NULL;
}

static int default_threads(void) {
    const char *env = getenv("ORR_NUM_THREADS");
    if (env && atoi(env) > 0) return atoi(env);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Workers are started lazily, up to the largest count ever asked for. */
static void ensure_workers(int n_threads) {
    while (the_pool.n_workers < n_threads - 1 && the_pool.n_workers < ORR_MAX_THREADS) {
        if (pthread_create(&the_pool.workers[the_pool.n_workers], NULL, worker_main,
                           (void *)(intptr_t)(the_pool.n_workers + 1)) != 0)
            break;
        pthread_detach(the_pool.workers[the_pool.n_workers]);
        the_pool.n_workers++;
    }
}

/* OpenBLAS stays single-threaded: the kernels call sgemm from pool workers. */
static void pool_init(void) {
    int n = default_threads();
    the_pool.n_threads = n < ORR_MAX_THREADS ? n : ORR_MAX_THREADS;
    openblas_set_num_threads(1);
}

void orr_set_num_threads(int n) {
    pthread_once(&pool_once, pool_init);
    if (n < 1) n = default_threads();
    if (n > ORR_MAX_THREADS) n = ORR_MAX_THREADS;
    pthread_mutex_lock(&the_pool.busy);
    pthread_mutex_lock(&the_pool.lock);
    the_pool.n_threads = n;
    pthread_mutex_unlock(&the_pool.lock);
    pthread_mutex_unlock(&the_pool.busy);
}

int orr_get_num_threads(void) {
    pthread_once(&pool_once, pool_init);
    return the_pool.n_threads;
}

void orr_parallel_for(int64_t n, orr_range_fn fn, void *user) {
    if (n <= 0) return;
    pthread_once(&pool_once, pool_init);
    if (inside_job || n == 1 || the_pool.n_threads <= 1 || pthread_mutex_trylock(&the_pool.busy) != 0) {
        fn(user, 0, n);
        return;
    }
    pthread_mutex_lock(&the_pool.lock);
    ensure_workers(the_pool.n_threads);
    int parts = the_pool.n_workers + 1 < the_pool.n_threads ? the_pool.n_workers + 1 : the_pool.n_threads;
    if (parts > n) parts = (int)n;
    the_pool.fn = fn;
    the_pool.user = user;
    the_pool.n = n;
    the_pool.job_parts = parts;
    the_pool.pending = parts - 1;
    the_pool.generation++;
    pthread_cond_broadcast(&the_pool.work_ready);
    pthread_mutex_unlock(&the_pool.lock);

    inside_job = true;
    run_share(0, parts, fn, user, n);
    inside_job = false;

    pthread_mutex_lock(&the_pool.lock);
    while (the_pool.pending > 0) pthread_cond_wait(&the_pool.work_done, &the_pool.lock);
    pthread_mutex_unlock(&the_pool.lock);
    pthread_mutex_unlock(&the_pool.busy);
}
