/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MC_FIXTURE_DIR
#error "MC_FIXTURE_DIR must name tests/fixtures"
#endif

static void *counting_alloc(void *user, size_t size)
{
    test_alloc *a = user;
    a->count++;
    if (a->fail_at != 0 && a->count == a->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p != NULL)
        a->live++;
    return p;
}

static void counting_release(void *user, void *ptr)
{
    test_alloc *a = user;
    if (ptr != NULL) {
        a->live--;
        free(ptr);
    }
}

mc_allocator test_alloc_make(test_alloc *state)
{
    mc_allocator a = {counting_alloc, counting_release, state};
    return a;
}

mc_ctx *test_ctx(test_alloc *state, uint64_t seed)
{
    memset(state, 0, sizeof *state);
    mc_allocator a = test_alloc_make(state);
    mc_ctx *ctx = NULL;
    ck_assert_int_eq(mc_ctx_create(&a, seed, &ctx), MC_OK);
    return ctx;
}

static uint64_t next(test_rng *r)
{
    /* splitmix64: a different generator from the library's xoshiro256**. */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double test_rng_uniform(test_rng *r)
{
    return (double)(next(r) >> 11) / 9007199254740992.0;
}

double test_rng_normal(test_rng *r)
{
    double u1 = 1.0 - test_rng_uniform(r), u2 = test_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void test_fill_normal(test_rng *r, float *v, size_t n, double mean, double sd)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(mean + sd * test_rng_normal(r));
}

mc_shape test_shape(int ndim, ...)
{
    int dims[MC_MAX_DIMS] = {0};
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim; i++)
        dims[i] = va_arg(ap, int);
    va_end(ap);
    return mc_shape_make(ndim, dims);
}

float *test_floats(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

double *test_doubles(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

double test_max_abs_diff(const float *a, const double *b, size_t n, size_t *where)
{
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= worst)) { /* NaN counts as the worst */
            worst = isnan(d) ? INFINITY : d;
            at = i;
        }
    }
    if (where != NULL)
        *where = at;
    return worst;
}

double *test_to_doubles(const float *v, size_t n)
{
    double *d = test_doubles(n);
    for (size_t i = 0; i < n; i++)
        d[i] = v[i];
    return d;
}

void test_moments(const float *v, size_t n, double *mean, double *sd, double *max_abs)
{
    double s = 0, q = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        s += v[i];
        m = fmax(m, fabs(v[i]));
    }
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++)
        q += (v[i] - *mean) * (v[i] - *mean);
    *sd = sqrt(q / (double)n);
    *max_abs = m;
}

int test_within_rounding(double got, double want, double mag, int terms, double slack)
{
    return fabs(got - want) <= (terms + 2) * 0x1p-24 * mag + slack;
}

double test_central_difference(test_loss_fn loss, const void *user, double *v, double h)
{
    const double saved = *v;
    *v = saved + h;
    const double lp = loss(user);
    *v = saved - h;
    const double lm = loss(user);
    *v = saved;
    return (lp - lm) / (2 * h);
}

char *test_read_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", MC_FIXTURE_DIR, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    size_t k;
    while ((k = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += k;
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
    }
    ck_assert_int_eq(ferror(f), 0);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

mc_net *test_fixture_net(mc_ctx *ctx, const char *name, int batch, bool *is_graph)
{
    char *text = test_read_fixture(name);
    ck_assert_msg(text != NULL, "no fixture %s", name);
    mc_net *net = NULL;
    mc_status st = mc_netfile_parse(ctx, text, strlen(text), name, &net, is_graph);
    free(text);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    st = mc_net_assemble(net, batch);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    return net;
}

float *test_learnables(const mc_net *net, size_t *count)
{
    *count = mc_net_num_learnables(net);
    float *w = test_floats(*count), *at = w;
    for (int i = 0; i < mc_net_num_params(net); i++) {
        const mc_param *p = mc_net_param(net, i);
        memcpy(at, p->value.data, mc_tensor_numel(&p->value) * sizeof(float));
        at += mc_tensor_numel(&p->value);
    }
    ck_assert_uint_eq((size_t)(at - w), *count);
    return w;
}

int test_message_has_text(const char *msg)
{
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == ' ')
        n--;
    return n > 0 && msg[n - 1] != ':';
}

int test_run_suite(Suite *suite)
{
    /* MINICNN_MAX_ISA: the same suite on the lower kernel versions (tests/CMakeLists.txt). */
    const char *isa = getenv("MINICNN_MAX_ISA");
    if (isa != NULL && *isa != '\0') {
        mc_ctx *ctx;
        if (mc_ctx_create(NULL, 1, &ctx) != MC_OK)
            return EXIT_FAILURE;
        const mc_status st = mc_set_max_isa(ctx, isa);
        if (st != MC_OK)
            fprintf(stderr, "MINICNN_MAX_ISA: %s\n", mc_ctx_message(ctx));
        mc_ctx_destroy(ctx);
        if (st != MC_OK)
            return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

const char *const test_reference_display =
    "  8x1 Layer array with layers:\n"
    "\n"
    "     1   ''   Image Input             28x28x3 images with 'zerocenter' normalization\n"
    "     2   ''   Convolution             20 5x5 convolutions with stride [1  1] and padding [0  "
    "0  0  0]\n"
    "     3   ''   Group Normalization     Group normalization\n"
    "     4   ''   ReLU                    ReLU\n"
    "     5   ''   Max Pooling             2x2 max pooling with stride [2  2] and padding [0  0  0 "
    " 0]\n"
    "     6   ''   Fully Connected         10 fully connected layer\n"
    "     7   ''   Softmax                 softmax\n"
    "     8   ''   Classification Output   crossentropyex\n";

void test_make_dir(char *dir, size_t cap, const char *name)
{
    ck_assert_int_lt(snprintf(dir, cap, "/tmp/minicnn-test-%s-XXXXXX", name), (int)cap);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

void test_remove_dir(const char *dir)
{
    char cmd[600];
    ck_assert_int_lt(snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s'; rm -rf '%s'", dir, dir),
                     (int)sizeof cmd);
    ck_assert_int_eq(system(cmd), 0);
}

void test_checkpoint_path(const char *dir, int iteration, char *out, size_t cap)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "net_checkpoint__%d__", iteration);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    out[0] = '\0';
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            snprintf(out, cap, "%s/%s", dir, e->d_name);
    closedir(d);
    ck_assert_msg(out[0] != '\0', "no checkpoint of iteration %d", iteration);
}
