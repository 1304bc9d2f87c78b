#include "parallel.h"

#include <stdatomic.h>
#include <unistd.h>

#include <minicnn/ctx.h>

#include "blas.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* The thread count of mc_set_threads; 0 until set, meaning every online core. The one mutable
 * global of the library, deliberately: the setting is process-wide by contract (it took over
 * from OpenBLAS's own process-wide thread count), and an atomic makes it safe to read from any
 * thread, which OpenMP's per-thread nthreads ICV would not be. */
static atomic_int thread_setting;

int mc_num_cores(void)
{
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

void mc_set_threads(int n)
{
    atomic_store(&thread_setting, n < 1 ? mc_num_cores() : n > 1024 ? 1024 : n);
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

int mc__have_avx2_fma(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
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
#ifdef _OPENMP
    if (nt > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(nt)
        {
            const int t = omp_get_thread_num(), team = omp_get_num_threads();
            /* Contiguous blocks, the first ntasks % team threads one task longer. */
            const int base = ntasks / team, extra = ntasks % team;
            const int lo = t * base + (t < extra ? t : extra);
            const int hi = lo + base + (t < extra ? 1 : 0);
            for (int i = lo; i < hi; i++)
                fn(arg, i, t);
        }
        return;
    }
#endif
    for (int i = 0; i < ntasks; i++)
        fn(arg, i, 0);
}
