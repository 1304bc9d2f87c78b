/* SPDX-License-Identifier: MIT */
/* minicnn-bench: the speed of minicnn's hot paths on this machine, against the machine's own
 * limits (memory bandwidth from a copy and a triad loop, OpenBLAS's sgemm rate), with 1 and 2
 * threads (or --threads LIST). Prints a table and writes everything as JSON (--json FILE).
 * Each figure is the median of --repeats timed runs. bench/run compares it with PyTorch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <minicnn/minicnn.h>

#include "../apps/profile.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static int repeats = 7;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Seconds per call of fn: runs it until a timed run lasts >= 20 ms, then the median of
 * `repeats` such runs (or, with best, the fastest: for the machine's limits, which are the best
 * it attains). */
typedef void (*bench_fn)(void *arg);
static double time_runs(bench_fn fn, void *arg, int best)
{
    fn(arg); /* warm up */
    int reps = 1;
    for (;;) {
        const double t0 = now();
        for (int i = 0; i < reps; i++)
            fn(arg);
        const double t = now() - t0;
        if (t >= 0.02 || reps >= (1 << 20))
            break;
        reps = t <= 0 ? reps * 10 : (int)(reps * 0.025 / t) + 1;
    }
    double v[64];
    const int n = repeats < 64 ? repeats : 64;
    for (int k = 0; k < n; k++) {
        const double t0 = now();
        for (int i = 0; i < reps; i++)
            fn(arg);
        v[k] = (now() - t0) / reps;
    }
    return best ? (qsort(v, (size_t)n, sizeof *v, cmp_double), v[0]) : median(v, n);
}

static double time_call(bench_fn fn, void *arg)
{
    return time_runs(fn, arg, 0);
}

/* n bytes at a 64-byte boundary, as minicnn's own tensors are (mc_tensor_create), so that a
 * layer timed here sees buffers like those of a network. */
static void *xmalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) / 64 * 64);
    if (p == NULL) {
        fprintf(stderr, "minicnn-bench: out of memory\n");
        exit(1);
    }
    return p;
}

static unsigned long long rng_state = 88172645463325252ULL;
static float frand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * 0x1.0p-53);
}

static void fill(float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * frand();
}

static void check(mc_status st, mc_ctx *ctx, const char *what)
{
    if (st != MC_OK) {
        fprintf(stderr, "minicnn-bench: %s: %s\n", what, mc_ctx_message(ctx));
        exit(1);
    }
}

/* ---- Machine limits ---------------------------------------------------------------------- */

typedef struct stream_arg {
    float *a, *b, *c;
    size_t n;
    int threads;
    int triad;
} stream_arg;

static void stream_run(void *p)
{
    stream_arg *s = p;
    float *a = s->a;
    const float *b = s->b, *c = s->c;
    const long n = (long)s->n;
    if (s->triad) {
#pragma omp parallel for num_threads(s->threads) schedule(static)
        for (long i = 0; i < n; i++)
            a[i] = b[i] + 3.0f * c[i];
    } else {
#pragma omp parallel for num_threads(s->threads) schedule(static)
        for (long i = 0; i < n; i++)
            a[i] = b[i];
    }
}

/* Bytes per second of a copy (2 arrays) or triad (3 arrays) over 3 x 128 MiB, STREAM's count
 * (the write-allocate read not counted). */
static double bandwidth(int threads, int triad)
{
    stream_arg s = {.n = (size_t)32 << 20, .threads = threads, .triad = triad};
    s.a = xmalloc(s.n * sizeof(float));
    s.b = xmalloc(s.n * sizeof(float));
    s.c = xmalloc(s.n * sizeof(float));
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long i = 0; i < (long)s.n; i++)
        s.a[i] = s.b[i] = s.c[i] = 1.0f; /* first touch by the threads that use them */
    const double t = time_runs(stream_run, &s, 1);
    free(s.a);
    free(s.b);
    free(s.c);
    return (double)s.n * sizeof(float) * (triad ? 3 : 2) / t;
}

typedef struct gemm_arg {
    int M, N, K;
    float *A, *B, *C;
} gemm_arg;

static void gemm_run(void *p)
{
    gemm_arg *g = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->M, g->N, g->K, 1.0f, g->A, g->K, g->B,
                g->N, 0.0f, g->C, g->N);
}

/* FLOP/s of OpenBLAS's sgemm (M, K) x (K, N) on `threads` of its own threads. */
static double sgemm_rate(int M, int N, int K, int threads)
{
    gemm_arg g = {M, N, K, NULL, NULL, NULL};
    g.A = xmalloc((size_t)M * K * sizeof(float));
    g.B = xmalloc((size_t)K * N * sizeof(float));
    g.C = xmalloc((size_t)M * N * sizeof(float));
    fill(g.A, (size_t)M * K, -1, 1);
    fill(g.B, (size_t)K * N, -1, 1);
    openblas_set_num_threads(threads);
    const double t = time_runs(gemm_run, &g, 1);
    openblas_set_num_threads(1);
    if (threads > 1) {
        /* OpenBLAS's idle threads poll with sched_yield for some 2^28 clock ticks after a
         * multi-threaded call before they sleep (its THREAD_TIMEOUT; OpenBLAS issue 4496): let
         * them, or they take a core from the measurements that follow. */
        const struct timespec pause = {0, 300 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    free(g.A);
    free(g.B);
    free(g.C);
    return 2.0 * M * N * K / t;
}

/* ---- Layers ------------------------------------------------------------------------------- */

typedef struct layer_arg {
    mc_layer *l;
    mc_tensor in, out, dout, din;
    int backward;
} layer_arg;

static void layer_run(void *p)
{
    layer_arg *a = p;
    mc_layer_forward(a->l, &a->in, 1, &a->out, MC_MODE_TRAINING);
    if (a->backward)
        mc_layer_backward(a->l, &a->in, 1, &a->out, &a->dout, &a->din);
}

/* Seconds for forward and for forward + backward of layer l on input shape xs (set up here). */
static void time_layer(mc_ctx *ctx, mc_layer *l, mc_shape xs, int want_dx, double *fwd,
                       double *fwdbwd)
{
    mc_shape ys;
    check(mc_layer_setup(l, &xs, 1, &ys), ctx, "setup");
    const size_t nx = mc_shape_numel(&xs), ny = mc_shape_numel(&ys);
    float *x = xmalloc(nx * sizeof(float)), *dx = xmalloc(nx * sizeof(float));
    float *y = xmalloc(ny * sizeof(float)), *dy = xmalloc(ny * sizeof(float));
    fill(x, nx, -1, 3);
    fill(dy, ny, -1, 1);
    layer_arg a = {.l = l};
    a.in = mc_tensor_view(x, &xs);
    a.din = mc_tensor_view(want_dx ? dx : NULL, &xs);
    a.out = mc_tensor_view(y, &ys);
    a.dout = mc_tensor_view(dy, &ys);
    *fwd = time_call(layer_run, &a);
    a.backward = 1;
    *fwdbwd = time_call(layer_run, &a);
    free(x);
    free(dx);
    free(y);
    free(dy);
}

/* ---- A training step ---------------------------------------------------------------------- */

typedef struct step_arg {
    mc_net *net;
    mc_optim *opt;
    float *x;
    int *labels;
    size_t per; /* floats per observation */
    int batch, batches, at;
} step_arg;

static void step_run(void *p)
{
    step_arg *s = p;
    const float *x = s->x + (size_t)s->at * (size_t)s->batch * s->per;
    const int *labels = s->labels + (size_t)s->at * (size_t)s->batch;
    s->at = (s->at + 1) % s->batches;
    double loss;
    mc_net_forward(s->net, x, s->batch, MC_MODE_TRAINING);
    mc_net_loss(s->net, labels, &loss);
    mc_net_zero_grad(s->net);
    mc_net_backward(s->net, labels);
    mc_optim_step(s->opt, 0.01);
}

/* FLOPs of one observation's training step: every layer with Weights (convolution, fully
 * connected) does 2 x weights x output positions multiply-adds forward, as many for the weight
 * gradient and, unless it reads the input layer's output (which needs no gradient), as many
 * for the input gradient. Normalization, activations, pooling and the loss are not counted. */
static double step_flops(const mc_net *net)
{
    double flops = 0;
    for (int i = 0; i < mc_net_num_layers(net); i++) {
        mc_layer *l = mc_net_layer(net, i);
        for (int p = 0; p < mc_layer_num_params(l); p++) {
            const mc_param *prm = mc_layer_param(l, p);
            if (strcmp(prm->name, "Weights") != 0)
                continue;
            const mc_shape out = mc_net_activation_shape(net, i);
            const double positions = (double)mc_shape_numel(&out) / out.dims[1];
            int src = -1, dst, k;
            for (int c = 0; mc_net_connection(net, c, &src, &dst, &k); c++)
                if (dst == i)
                    break;
            const int from_input = src >= 0 && mc_net_layer(net, src)->vt->role == MC_ROLE_INPUT;
            flops += (from_input ? 2 : 3) * 2.0 * (double)mc_tensor_numel(&prm->value) * positions;
        }
    }
    return flops;
}

typedef struct step_result {
    double seconds; /* per step, median */
    double flops;   /* per observation */
} step_result;

/* Seconds per training step of the network file at mini-batch `batch` (sgdm), and with
 * profile_steps > 0 that many further steps profiled, printed as minicnn train --profile does. */
static step_result time_step_profiled(const char *netpath, int batch, int profile_steps, FILE *js)
{
    mc_ctx *ctx;
    if (mc_ctx_create(NULL, 1, &ctx) != MC_OK)
        exit(1);
    mc_net *net;
    check(mc_netfile_load(ctx, netpath, &net, NULL), ctx, netpath);
    check(mc_net_assemble(net, batch), ctx, "assemble");
    const mc_shape one = mc_net_input_shape(net, 1);
    const size_t per = mc_shape_numel(&one);
    const int total = 4096 > 8 * batch ? 4096 : 8 * batch;
    step_arg s = {.net = net, .batch = batch, .batches = total / batch, .per = per};
    s.x = xmalloc((size_t)total * per * sizeof(float));
    s.labels = xmalloc((size_t)total * sizeof(int));
    fill(s.x, (size_t)total * per, 0, 1);
    const int K = mc_net_num_classes(net);
    for (int i = 0; i < total; i++)
        s.labels[i] = (int)(frand() * K) % K;
    mc_dataset data = {
        .shape = mc_net_input_shape(net, total), .x = s.x, .labels = s.labels, .num_classes = K};
    check(mc_net_fit_input(net, &data, 1024), ctx, "fit input");
    const int np = mc_net_num_params(net);
    mc_param **params = xmalloc(((size_t)np + 1) * sizeof *params);
    for (int i = 0; i < np; i++)
        params[i] = mc_net_param(net, i);
    mc_optim_options oo = mc_optim_default(MC_SOLVER_SGDM);
    check(mc_optim_create(ctx, &oo, params, np, &s.opt), ctx, "optimizer");
    step_result r = {.seconds = time_call(step_run, &s), .flops = step_flops(net)};
    if (profile_steps > 0) {
        mc_net_set_profiling(net, true);
        for (int i = 0; i < profile_steps; i++) {
            const double t0 = now();
            step_run(&s);
            mc_net_profile_add(net, MC_PROFILE_STEP, now() - t0);
        }
        cli_print_profile(stdout, net);
        if (js != NULL) { /* the profile's rows: mean ms per step */
            fprintf(js, ", \"profile_steps\": %d, \"layers\": [", profile_steps);
            for (int i = 0; i < mc_net_num_layers(net); i++) {
                double f, b;
                mc_net_profile_layer(net, i, &f, &b);
                const mc_layer *l = mc_net_layer(net, i);
                fprintf(js,
                        "%s\n      {\"name\": \"%s\", \"type\": \"%s\", \"forward_ms\": %.4f, "
                        "\"backward_ms\": %.4f}",
                        i ? "," : "", l->name, l->vt->type_label, 1e3 * f / profile_steps,
                        1e3 * b / profile_steps);
            }
            fprintf(
                js,
                "],\n     \"data_ms\": %.4f, \"optimizer_ms\": %.4f, \"step_profiled_ms\": %.4f",
                1e3 * mc_net_profile_part(net, MC_PROFILE_DATA) / profile_steps,
                1e3 * mc_net_profile_part(net, MC_PROFILE_OPTIMIZER) / profile_steps,
                1e3 * mc_net_profile_part(net, MC_PROFILE_STEP) / profile_steps);
        }
        mc_net_set_profiling(net, false);
    }
    mc_optim_destroy(s.opt);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    free(params);
    free(s.x);
    free(s.labels);
    return r;
}

static double time_step(const char *netpath, int batch)
{
    return time_step_profiled(netpath, batch, 0, NULL).seconds;
}

/* ---- The other layers at the networks' shapes -------------------------------------------------
 */

/* A layer to time: its kind, options and input shape. */
typedef struct layer_case {
    const char *name;
    int kind; /* 0 ReLU, 1 batch norm, 2 max pooling, 3 average pooling, 4 global average */
    int pool, stride, pad, same;
    int dims[4];
} layer_case;

static const layer_case layer_cases[] = {
    {"ReLU (128, 16, 28, 28)", 0, 0, 0, 0, 0, {128, 16, 28, 28}},
    {"batch norm (128, 16, 28, 28)", 1, 0, 0, 0, 0, {128, 16, 28, 28}},
    {"batch norm (128, 64, 7, 7)", 1, 0, 0, 0, 0, {128, 64, 7, 7}},
    {"max pool 2x2 (128, 20, 24, 24) ref.", 2, 2, 2, 0, 0, {128, 20, 24, 24}},
    {"max pool 2x2 (128, 16, 28, 28)", 2, 2, 2, 0, 0, {128, 16, 28, 28}},
    {"max pool 2x2 (128, 32, 14, 14)", 2, 2, 2, 0, 0, {128, 32, 14, 14}},
    {"max pool 2x2 (128, 32, 7, 7) odd", 2, 2, 2, 0, 0, {128, 32, 7, 7}},
    {"max pool 3x3 s2 pad 1 (128, 32, 32, 32)", 2, 3, 2, 1, 0, {128, 32, 32, 32}},
    {"avg pool 2x2 (128, 32, 14, 14)", 3, 2, 2, 0, 0, {128, 32, 14, 14}},
    {"avg pool 3x3 s2 same (128, 32, 32, 32)", 3, 3, 2, 0, 1, {128, 32, 32, 32}},
    {"global avg pool (128, 128, 8, 8)", 4, 0, 0, 0, 0, {128, 128, 8, 8}},
};

/* Each case's forward and forward+backward time and the bandwidth they reach: bytes moved are
 * x read and y written forward, and backward dy read and dx written besides (the pooling's
 * indices and a second read of x not counted, so the fraction is a lower bound). */
static void bench_layers(const int *threads, int nthreads, double bw_best, FILE *js, int quick)
{
    mc_ctx *ctx;
    if (mc_ctx_create(NULL, 1, &ctx) != MC_OK)
        exit(1);
    const int n_cases = quick ? 2 : (int)(sizeof layer_cases / sizeof layer_cases[0]);
    printf("\nOther layers at the networks' shapes: ms per call and the fraction of the attainable "
           "bandwidth\n(bytes: x read, y written; backward also dy read, dx written)\n");
    if (js != NULL)
        fprintf(js, "  \"layers\": [\n");
    for (int c = 0; c < n_cases; c++) {
        const layer_case *lc = &layer_cases[c];
        for (int t = 0; t < nthreads; t++) {
            mc_set_threads(threads[t]);
            mc_layer *l = NULL;
            if (lc->kind == 0) {
                check(mc_relu_create(ctx, NULL, &l), ctx, "relu");
            } else if (lc->kind == 1) {
                mc_batchnorm_options o = mc_batchnorm_default();
                check(mc_batchnorm_create(ctx, &o, &l), ctx, "batchnorm");
            } else if (lc->kind == 2) {
                mc_maxpool_options o = mc_maxpool_default(lc->pool, lc->pool);
                o.stride[0] = o.stride[1] = lc->stride;
                for (int k = 0; k < 4; k++)
                    o.padding[k] = lc->pad;
                o.padding_same = lc->same;
                check(mc_maxpool_create(ctx, &o, &l), ctx, "maxpool");
            } else if (lc->kind == 3) {
                mc_avgpool_options o = mc_avgpool_default(lc->pool, lc->pool);
                o.stride[0] = o.stride[1] = lc->stride;
                for (int k = 0; k < 4; k++)
                    o.padding[k] = lc->pad;
                o.padding_same = lc->same;
                check(mc_avgpool_create(ctx, &o, &l), ctx, "avgpool");
            } else {
                check(mc_global_avgpool_create(ctx, NULL, &l), ctx, "global avgpool");
            }
            const mc_shape xs = {4, {lc->dims[0], lc->dims[1], lc->dims[2], lc->dims[3]}};
            mc_shape ys;
            check(mc_layer_setup(l, &xs, 1, &ys), ctx, "setup");
            const double in = (double)mc_shape_numel(&xs) * 4,
                         out = (double)mc_shape_numel(&ys) * 4;
            double fwd, both;
            time_layer(ctx, l, xs, 1, &fwd, &both);
            mc_layer_destroy(l);
            const double f_fwd = (in + out) / bw_best / fwd,
                         f_both = 2 * (in + out) / bw_best / both;
            printf("  %-40s %d thr: forward %7.3f ms (%3.0f%%), forward+backward %7.3f ms "
                   "(%3.0f%%)\n",
                   lc->name, threads[t], fwd * 1e3, 100 * f_fwd, both * 1e3, 100 * f_both);
            if (js != NULL)
                fprintf(js,
                        "    {\"layer\": \"%s\", \"threads\": %d, \"forward_ms\": %.5f, "
                        "\"forward_backward_ms\": %.5f, \"forward_bandwidth_fraction\": %.4f, "
                        "\"forward_backward_bandwidth_fraction\": %.4f}%s\n",
                        lc->name, threads[t], fwd * 1e3, both * 1e3, f_fwd, f_both,
                        c + 1 < n_cases || t + 1 < nthreads ? "," : "");
        }
    }
    if (js != NULL)
        fprintf(js, "  ],\n");
    mc_ctx_destroy(ctx);
}

/* ---- Main --------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *json = NULL, *netpath = MC_SOURCE_DIR "/data/networks/reference-gray.net";
    int threads[8] = {1, 2}, nthreads = 2, quick = 0, profile = 0, only_layers = 0;
    int step_batches[8], n_step = 0;
    double sgemm = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json = argv[++i];
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc)
            repeats = atoi(argv[++i]) < 1 ? 1 : atoi(argv[i]);
        else if (strcmp(argv[i], "--net") == 0 && i + 1 < argc)
            netpath = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--only-layers") == 0)
            only_layers = 1; /* the machine's limits and the other layers only */
        else if (strcmp(argv[i], "--step") == 0 && i + 1 < argc) {
            /* time only training steps of --net at these batch sizes */
            n_step = 0;
            for (char *b = strtok(argv[++i], ","); b != NULL && n_step < 8; b = strtok(NULL, ","))
                step_batches[n_step++] = atoi(b) < 1 ? 1 : atoi(b);
        } else if (strcmp(argv[i], "--sgemm") == 0 && i + 1 < argc)
            sgemm = 1e9 * atof(argv[++i]); /* with --step: the GFLOP/s to compare with */
        else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc)
            profile = atoi(argv[++i]); /* with --step: profile that many more steps */
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            nthreads = 0;
            for (char *t = strtok(argv[++i], ","); t != NULL && nthreads < 8; t = strtok(NULL, ","))
                threads[nthreads++] = atoi(t) < 1 ? 1 : atoi(t);
        } else {
            fprintf(stderr,
                    "usage: minicnn-bench [--json FILE] [--repeats N] [--threads 1,2] "
                    "[--net FILE] [--quick] [--only-layers]\n"
                    "       minicnn-bench --step BATCH[,BATCH...] [--net FILE] [--threads 1,2] "
                    "[--repeats N] [--sgemm GFLOPS] [--profile STEPS] [--json FILE]\n");
            return 2;
        }
    }
    if (n_step > 0) {
        /* Training steps of one network: every batch of --step with every thread count, as
         * images/s, GFLOP/s and the fraction of --sgemm; with --profile N the per-layer table of
         * N more steps at the first batch. */
        FILE *js = json != NULL ? fopen(json, "w") : NULL;
        if (json != NULL && js == NULL) {
            perror(json);
            return 1;
        }
        if (js != NULL)
            fprintf(js, "{\"net\": \"%s\", \"repeats\": %d, \"steps\": [", netpath, repeats);
        printf("Training step of %s (forward, loss, backward, sgdm update; median of %d)\n",
               netpath, repeats);
        for (int b = 0; b < n_step; b++)
            for (int t = 0; t < nthreads; t++) {
                mc_set_threads(threads[t]);
                if (js != NULL)
                    fprintf(js, "%s\n    {\"batch\": %d, \"threads\": %d", b + t ? "," : "",
                            step_batches[b], threads[t]);
                const step_result r =
                    time_step_profiled(netpath, step_batches[b], b == 0 ? profile : 0, js);
                const double rate = r.flops * step_batches[b] / r.seconds;
                printf("  batch %3d, %d thr: %8.0f images/s (%.3f ms per step, %.2f MFLOP per "
                       "image, %.1f GFLOP/s",
                       step_batches[b], threads[t], step_batches[b] / r.seconds, r.seconds * 1e3,
                       r.flops / 1e6, rate / 1e9);
                if (sgemm > 0)
                    printf(" = %.0f%% of sgemm 1024^3", 100 * rate / sgemm);
                printf(")\n");
                if (js != NULL)
                    fprintf(js,
                            ", \"images_per_second\": %.2f, \"step_ms\": %.5f, "
                            "\"MFLOP_per_image\": %.4f, \"GFLOPs\": %.3f, "
                            "\"fraction_of_sgemm_1024\": %.4f}",
                            step_batches[b] / r.seconds, r.seconds * 1e3, r.flops / 1e6, rate / 1e9,
                            sgemm > 0 ? rate / sgemm : 0.0);
                fflush(stdout);
            }
        if (js != NULL) {
            fprintf(js, "\n]}\n");
            if (fclose(js) != 0) {
                perror(json);
                return 1;
            }
        }
        return 0;
    }
    FILE *js = json != NULL ? fopen(json, "w") : NULL;
    if (json != NULL && js == NULL) {
        perror(json);
        return 1;
    }
    if (js != NULL)
        fprintf(js, "{\n  \"repeats\": %d,\n  \"cores\": %d,\n  \"threads\": [", repeats,
                mc_num_cores());
    for (int i = 0; js != NULL && i < nthreads; i++)
        fprintf(js, "%s%d", i ? ", " : "", threads[i]);
    if (js != NULL)
        fprintf(js, "],\n");

    /* Machine limits. */
    double bw[8], gemm_big[8], gemm_conv[8];
    printf("Machine limits (the best of %d runs)\n", repeats);
    if (js != NULL)
        fprintf(js, "  \"machine\": [\n");
    for (int t = 0; t < nthreads; t++) {
        const double copy = bandwidth(threads[t], 0), triad = bandwidth(threads[t], 1);
        bw[t] = copy > triad ? copy : triad;
        gemm_big[t] = sgemm_rate(1024, 1024, 1024, threads[t]);
        gemm_conv[t] = sgemm_rate(20, 73728, 25, threads[t]);
        printf("  %d thread%s: copy %.1f GB/s, triad %.1f GB/s; sgemm 1024^3 %.1f GFLOP/s, "
               "20x25 @ 25x73728 %.1f GFLOP/s\n",
               threads[t], threads[t] > 1 ? "s" : " ", copy / 1e9, triad / 1e9, gemm_big[t] / 1e9,
               gemm_conv[t] / 1e9);
        if (js != NULL)
            fprintf(js,
                    "    {\"threads\": %d, \"copy_GBps\": %.3f, \"triad_GBps\": %.3f, "
                    "\"sgemm_1024_GFLOPs\": %.3f, \"sgemm_conv_shape_GFLOPs\": %.3f}%s\n",
                    threads[t], copy / 1e9, triad / 1e9, gemm_big[t] / 1e9, gemm_conv[t] / 1e9,
                    t + 1 < nthreads ? "," : "");
    }
    /* The attainable limits: the best of every thread count (a busy machine lowers the
     * 2-thread figures most, and a fraction of a lowered limit would flatter minicnn). */
    double bw_best = 0, gemm_best = 0;
    for (int t = 0; t < nthreads; t++) {
        bw_best = bw[t] > bw_best ? bw[t] : bw_best;
        gemm_best = gemm_big[t] > gemm_best ? gemm_big[t] : gemm_best;
    }
    printf("  attainable (best of the above): %.1f GB/s, sgemm 1024^3 %.1f GFLOP/s\n",
           bw_best / 1e9, gemm_best / 1e9);
    if (js != NULL)
        fprintf(js,
                "  ],\n  \"attainable_GBps\": %.3f,\n  \"attainable_sgemm_1024_GFLOPs\": %.3f,\n",
                bw_best / 1e9, gemm_best / 1e9);

    /* Group normalization. */
    static const int gn_shapes[][5] = {{128, 20, 24, 24, 4},
                                       {32, 64, 56, 56, 32},
                                       {8, 256, 28, 28, 32},
                                       {1, 512, 7, 7, 32},
                                       {1024, 256, 0, 0, 32}};
    const int n_gn = quick ? 1 : 5;
    mc_ctx *ctx;
    if (mc_ctx_create(NULL, 1, &ctx) != MC_OK)
        return 1;
    printf("\nGroup normalization: ms per call; bandwidth fraction = (bytes moved / attainable "
           "bandwidth) / time,\nbytes moved: forward reads x, writes y; backward reads x and dy, "
           "writes dx\n");
    if (js != NULL)
        fprintf(js, "  \"groupnorm\": [\n");
    for (int s = 0; s < n_gn; s++) {
        const int *d = gn_shapes[s];
        mc_shape xs = d[2] ? (mc_shape){4, {d[0], d[1], d[2], d[3]}} : (mc_shape){2, {d[0], d[1]}};
        const double bytes = (double)mc_shape_numel(&xs) * sizeof(float);
        for (int t = 0; t < nthreads; t++) {
            mc_set_threads(threads[t]);
            mc_groupnorm_options o = mc_groupnorm_default(d[4]);
            mc_layer *l;
            check(mc_groupnorm_create(ctx, &o, &l), ctx, "groupnorm");
            double fwd, both;
            time_layer(ctx, l, xs, 1, &fwd, &both);
            mc_layer_destroy(l);
            const double f_fwd = 2 * bytes / bw_best / fwd, f_both = 5 * bytes / bw_best / both;
            char name[64];
            if (d[2])
                snprintf(name, sizeof name, "(%d, %d, %d, %d) G %d", d[0], d[1], d[2], d[3], d[4]);
            else
                snprintf(name, sizeof name, "(%d, %d) G %d", d[0], d[1], d[4]);
            printf("  %-28s %d thr: forward %8.3f ms (%3.0f%% of bandwidth), forward+backward "
                   "%8.3f ms (%3.0f%%)\n",
                   name, threads[t], fwd * 1e3, 100 * f_fwd, both * 1e3, 100 * f_both);
            if (js != NULL)
                fprintf(js,
                        "    {\"shape\": [%d, %d, %d, %d], \"groups\": %d, \"threads\": %d, "
                        "\"forward_ms\": %.5f, \"forward_backward_ms\": %.5f, "
                        "\"forward_bandwidth_fraction\": %.4f, "
                        "\"forward_backward_bandwidth_fraction\": %.4f}%s\n",
                        d[0], d[1], d[2], d[3], d[4], threads[t], fwd * 1e3, both * 1e3, f_fwd,
                        f_both, s + 1 < n_gn || t + 1 < nthreads ? "," : "");
        }
    }
    if (js != NULL)
        fprintf(js, "  ],\n");

    bench_layers(threads, nthreads, bw_best, js, quick);
    if (only_layers) {
        if (js != NULL)
            fprintf(js, "  \"only_layers\": true\n}\n");
        if (js != NULL && fclose(js) != 0) {
            perror(json);
            return 1;
        }
        return 0;
    }

    /* The reference convolution layer at mini-batch 128. */
    printf("\nReference convolution (128 x 1x28x28, 20 5x5 filters; forward + weight gradient, "
           "as in training)\n");
    if (js != NULL)
        fprintf(js, "  \"conv\": [\n");
    for (int t = 0; t < nthreads; t++) {
        mc_set_threads(threads[t]);
        mc_conv2d_options o = mc_conv2d_default(5, 5, 20);
        mc_layer *l;
        check(mc_conv2d_create(ctx, &o, &l), ctx, "conv");
        double fwd, both;
        time_layer(ctx, l, (mc_shape){4, {128, 1, 28, 28}}, 0, &fwd, &both);
        mc_layer_destroy(l);
        const double flops = 2.0 * 128 * 20 * 25 * 576;
        printf("  %d thr: forward %.3f ms (%.1f GFLOP/s), forward+backward %.3f ms (%.1f GFLOP/s "
               "= %.0f%% of the attainable sgemm 1024^3)\n",
               threads[t], fwd * 1e3, flops / fwd / 1e9, both * 1e3, 2 * flops / both / 1e9,
               100 * 2 * flops / both / gemm_best);
        if (js != NULL)
            fprintf(js,
                    "    {\"threads\": %d, \"forward_ms\": %.5f, \"forward_backward_ms\": %.5f, "
                    "\"forward_backward_GFLOPs\": %.3f, \"fraction_of_sgemm_1024\": %.4f}%s\n",
                    threads[t], fwd * 1e3, both * 1e3, 2 * flops / both / 1e9,
                    2 * flops / both / gemm_best, t + 1 < nthreads ? "," : "");
    }
    if (js != NULL)
        fprintf(js, "  ],\n");
    mc_ctx_destroy(ctx);

    /* Training steps. FLOPs: conv forward and weight gradient, fc forward, weight and input
     * gradients. */
    static const int batches[] = {128, 32, 8, 2};
    const int n_b = quick ? 1 : 4;
    printf("\nTraining step of %s (forward, loss, backward, sgdm update)\n", netpath);
    if (js != NULL)
        fprintf(js, "  \"train\": [\n");
    for (int b = 0; b < n_b; b++)
        for (int t = 0; t < nthreads; t++) {
            mc_set_threads(threads[t]);
            const double sec = time_step(netpath, batches[b]);
            const double flops =
                (double)batches[b] * (2.0 * 2 * 20 * 25 * 576 + 3 * 2.0 * 2880 * 10);
            printf("  batch %3d, %d thr: %9.0f images/s (%.3f ms per step, %.1f GFLOP/s = %.0f%% "
                   "of sgemm 1024^3)\n",
                   batches[b], threads[t], batches[b] / sec, sec * 1e3, flops / sec / 1e9,
                   100 * flops / sec / gemm_best);
            if (js != NULL)
                fprintf(
                    js,
                    "    {\"batch\": %d, \"threads\": %d, \"images_per_second\": %.1f, "
                    "\"step_ms\": %.5f, \"GFLOPs\": %.3f, \"fraction_of_sgemm_1024\": %.4f}%s\n",
                    batches[b], threads[t], batches[b] / sec, sec * 1e3, flops / sec / 1e9,
                    flops / sec / gemm_best, b + 1 < n_b || t + 1 < nthreads ? "," : "");
        }
    if (js != NULL) {
        fprintf(js, "  ]\n}\n");
        if (fclose(js) != 0) {
            perror(json);
            return 1;
        }
    }
    return 0;
}
