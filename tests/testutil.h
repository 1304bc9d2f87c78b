/* SPDX-License-Identifier: MIT */
/* Helpers shared by the Check suites. */
#ifndef MINICNN_TESTUTIL_H
#define MINICNN_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <minicnn/minicnn.h>

/* An allocator that counts live blocks and can fail the k-th allocation. */
typedef struct test_alloc {
    long fail_at; /* 1-based index of the allocation to fail; 0 never */
    long count;   /* allocations attempted */
    long live;    /* blocks not yet released */
} test_alloc;

mc_allocator test_alloc_make(test_alloc *state);

/* A context with a counting allocator (fails the test on error). */
mc_ctx *test_ctx(test_alloc *state, uint64_t seed);

/* Deterministic test data, independent of the library's RNG. */
typedef struct test_rng {
    uint64_t s;
} test_rng;
double test_rng_normal(test_rng *r);
double test_rng_uniform(test_rng *r); /* [0, 1) */
void test_fill_normal(test_rng *r, float *v, size_t n, double mean, double sd);

/* Shapes. */
mc_shape test_shape(int ndim, ...);

/* Allocates a float array of n elements (fails the test on error); free with free(). */
float *test_floats(size_t n);
double *test_doubles(size_t n);

/* max |a - b| over n elements, and the index where it occurs. */
double test_max_abs_diff(const float *a, const double *b, size_t n, size_t *where);

/* A double copy of n floats (fails the test on error); free with free(). */
double *test_to_doubles(const float *v, size_t n);

/* Mean, standard deviation (biased, two-pass in double) and largest magnitude of n floats. */
void test_moments(const float *v, size_t n, double *mean, double *sd, double *max_abs);

/* Whether `got` agrees with the exact `want` within the rounding of a float sum of `terms`
 * terms of total magnitude `mag` (gamma_n bound: any summation order, with or without FMA),
 * plus `slack` for a reference that is itself rounded. A wrong index errs by a whole term. */
int test_within_rounding(double got, double want, double mag, int terms, double slack);

/* A double-precision loss of some problem `user`, for central differences. */
typedef double (*test_loss_fn)(const void *user);

/* (loss(v + h) - loss(v - h)) / 2h for the value *v of the problem, which is restored. */
double test_central_difference(test_loss_fn loss, const void *user, double *v, double h);

/* Reads a whole file relative to the fixture folder (tests/fixtures); NULL if missing. Free
 * with free(). */
/* Makes a new folder /tmp/minicnn-test-NAME-XXXXXX, its path in dir (cap bytes); fails the
 * running test if it cannot. */
void test_make_dir(char *dir, size_t cap, const char *name);

/* The path of the checkpoint of the given iteration in folder dir (net_checkpoint__I__...);
 * fails the test if there is none. */
void test_checkpoint_path(const char *dir, int iteration, char *out, size_t cap);

/* Removes the folder and everything in it (made writable first); fails the test if it cannot. */
void test_remove_dir(const char *dir);

char *test_read_fixture(const char *name);

/* The network of a fixture file (tests/fixtures/name), assembled for `batch`; *is_graph (may be
 * NULL) says whether it is a layer graph. Fails the test on any error. */
mc_net *test_fixture_net(mc_ctx *ctx, const char *name, int batch, bool *is_graph);

/* Every learnable value of the network, concatenated in parameter order (free with free()). */
float *test_learnables(const mc_net *net, size_t *count);

/* The Layer array display of MATLAB's groupNormalizationLayer example, as the reference prints
 * it after "layers = " (data/networks/reference.net). */
extern const char *const test_reference_display;

/* Whether an error message says something after its "file:line:col: " location. */
int test_message_has_text(const char *msg);

/* Runs the suite (and frees it); EXIT_SUCCESS only when every test passed. */
#include <check.h>
int test_run_suite(Suite *suite);

#endif
