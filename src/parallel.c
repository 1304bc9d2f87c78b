/* SPDX-License-Identifier: MIT */
#include "parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <minicnn/ctx.h>

#include "blas.h"

/* The library's one piece of process-wide state, deliberately: the thread setting (by contract
 * process-wide; it took over from OpenBLAS's own process-wide thread count) and the pool of
 * threads that serves it. Atomics and a mutex make both safe to use from any thread.
 *
 * Why a pool of our own (pthreads) rather than OpenMP: on this project's 2-core machine, shared
 * with other work, an OpenMP parallel region ends with a barrier that every team member must
 * reach, so whenever the system paused one of our threads for a scheduler tick, the region
 * took 4 ms instead of 0.1 (measured: a mini-batch-2 step at 24 ms with 2 threads, 0.11 ms with
 * one). Here the calling thread takes tasks too, and waits only for tasks that another thread
 * has actually started; a thread that wakes up late finds no task left and goes back to
 * waiting. */

#define MAX_THREADS 64
#define SPINS 2000 /* a worker's polls (some 10 us) before it sleeps */

static atomic_int thread_setting; /* 0 until set: every online core */

typedef struct pool {
    pthread_mutex_t lock; /* guards sleeping and waking */
    pthread_cond_t wake;
    pthread_mutex_t busy;   /* held by the caller whose job runs on the pool */
    int workers;            /* started so far (the caller is thread 0) */
    atomic_uint generation; /* bumped for every job */
    atomic_int sleepers;
    /* The job: ticket = job number << 52 | thread limit << 44 | front << 22 | back; the tasks
     * not yet taken are [front, back). Thread 1 takes them from the back, the others from the
     * front, so that with two threads each keeps to its own end of the batch from one layer to
     * the next (and its data in its own cache) unless the other falls behind. A task is taken
     * by a compare-and-swap on the whole ticket, so a stale thread can never take one of a later
     * job; fn and arg are read after the swap succeeds. */
    _Atomic uint64_t ticket;
    atomic_int done; /* tasks finished in this job */
    int ntasks;
    mc__task_fn fn;
    void *arg;
    uint64_t jobs;
} pool;

static pool the_pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
                        .wake = PTHREAD_COND_INITIALIZER,
                        .busy = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local int in_task; /* this thread is running a task: nested calls run inline */

static void relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

/* Takes and runs tasks of the current job while there are any; `id` is this thread's index. */
#define FIELD ((uint64_t)1 << 22)

static void run_tasks(pool *p, int id)
{
    for (;;) {
        uint64_t t = atomic_load(&p->ticket);
        const uint64_t front = (t >> 22) & (FIELD - 1), back = t & (FIELD - 1);
        const uint32_t limit = (uint32_t)(t >> 44) & 0xff;
        if ((uint32_t)id >= limit || front >= back)
            return;
        const int from_back = id == 1;
        const uint64_t want = from_back ? t - 1 : t + FIELD;
        if (!atomic_compare_exchange_weak(&p->ticket, &t, want))
            continue;
        const int task = (int)(from_back ? back - 1 : front);
        in_task = 1;
        p->fn(p->arg, task, id);
        in_task = 0;
        atomic_fetch_add(&p->done, 1);
    }
}

static void *worker_main(void *arg)
{
    pool *p = &the_pool;
    const int id = (int)(intptr_t)arg;
    unsigned seen = atomic_load(&p->generation);
    for (;;) {
        unsigned g;
        for (int spins = 0; (g = atomic_load(&p->generation)) == seen;) {
            if (++spins < SPINS) {
                relax();
                continue;
            }
            pthread_mutex_lock(&p->lock);
            atomic_fetch_add(&p->sleepers, 1);
            while ((g = atomic_load(&p->generation)) == seen)
                pthread_cond_wait(&p->wake, &p->lock);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->lock);
            break;
        }
        seen = g;
        run_tasks(p, id);
    }
    return NULL;
}

int mc_num_cores(void)
{
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

void mc_set_threads(int n)
{
    atomic_store(&thread_setting, n < 1 ? mc_num_cores() : n > MAX_THREADS ? MAX_THREADS : n);
    mc__blas_single_thread();
}

int mc_get_threads(void)
{
    const int n = atomic_load(&thread_setting);
    return n > 0 ? n : mc_num_cores();
}

void mc__chunk_range(size_t n, size_t chunks, size_t i, size_t *lo, size_t *hi)
{
    const size_t base = n / chunks, extra = n % chunks;
    *lo = i * base + (i < extra ? i : extra);
    *hi = *lo + base + (i < extra ? 1 : 0);
}

int mc__chunks(int n)
{
    return n < 1 ? 1 : n < MC__MAX_CHUNKS ? n : MC__MAX_CHUNKS;
}

/* The highest vector level minicnn's own dispatch may pick: 0 portable, 1 AVX2, 2 AVX-512
 * (mc_set_max_isa). Functions compiled with MC__CLONES are chosen by the CPU alone. */
static atomic_int isa_limit = 2;

static int isa_cap(void)
{
    return atomic_load(&isa_limit);
}

mc_status mc_set_max_isa(mc_ctx *ctx, const char *name)
{
    static const char *const names[] = {"portable", "avx2", "avx512"};
    for (int i = 0; i < 3; i++)
        if (name != NULL && strcmp(name, names[i]) == 0) {
            atomic_store(&isa_limit, i);
            return MC_OK;
        }
    return mc_ctx_fail(ctx, MC_ERR_INVALID,
                       "unknown instruction set '%s'; expected 'portable', 'avx2' or 'avx512'",
                       name != NULL ? name : "(none)");
}

int mc__have_avx512(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    return isa_cap() >= 2 && __builtin_cpu_supports("avx512f") && mc__have_avx2_fma();
#else
    return 0;
#endif
}

int mc__have_avx2_fma(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    return isa_cap() >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

void mc__parallel_for(int ntasks, int max_threads, size_t work, mc__task_fn fn, void *arg)
{
    int nt = mc_get_threads();
    const size_t worth = work / MC__MIN_WORK;
    if ((size_t)nt > worth)
        nt = worth < 1 ? 1 : (int)worth;
    if (max_threads > 0 && nt > max_threads)
        nt = max_threads;
    if (nt > ntasks)
        nt = ntasks;
    mc__blas_single_thread(); /* also with one thread: --threads 1 means one core */
    pool *p = &the_pool;
    /* One thread, a call from inside a task, or the pool busy with another caller's job: the
     * tasks run here, in order. */
    if (nt <= 1 || in_task || (uint64_t)ntasks >= FIELD || pthread_mutex_trylock(&p->busy) != 0) {
        for (int i = 0; i < ntasks; i++)
            fn(arg, i, 0);
        return;
    }
    while (p->workers < nt - 1) {
        pthread_t th;
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) != 0)
            break;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        const int failed =
            pthread_create(&th, &attr, worker_main, (void *)(intptr_t)(p->workers + 1));
        pthread_attr_destroy(&attr);
        if (failed)
            break; /* fewer threads: the same results, later */
        p->workers++;
    }
    p->fn = fn;
    p->arg = arg;
    p->ntasks = ntasks;
    atomic_store(&p->done, 0);
    p->jobs++;
    atomic_store(&p->ticket, (p->jobs & 0xfff) << 52 | (uint64_t)nt << 44 | (uint64_t)ntasks);
    atomic_fetch_add(&p->generation, 1);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    run_tasks(p, 0);
    for (long spins = 0; atomic_load(&p->done) < ntasks; spins++) {
        if (spins < SPINS)
            relax();
        else
            sched_yield();
    }
    pthread_mutex_unlock(&p->busy);
}
