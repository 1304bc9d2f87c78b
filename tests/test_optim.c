/* SPDX-License-Identifier: MIT */
/* Solvers against closed-form steps, with learn-rate and L2 factors 0, 1 and 2. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <minicnn/optim.h>

/* Three learnables of 2 values with factors (fLR, fL2) = (1, 1), (2, 0), (0, 2). */
typedef struct fixture {
    test_alloc a;
    mc_ctx *ctx;
    float value[3][2], grad[3][2];
    mc_param p[3];
    mc_param *ptr[3];
} fixture;

static void fixture_init(fixture *f)
{
    f->ctx = test_ctx(&f->a, 1);
    const float v[3][2] = {{1.0f, 2.0f}, {-0.5f, 0.25f}, {3.0f, -4.0f}};
    const float g[3][2] = {{0.5f, -1.0f}, {0.2f, 0.0f}, {1.0f, 1.0f}};
    const double lr[3] = {1, 2, 0}, l2[3] = {1, 0, 2};
    memcpy(f->value, v, sizeof v);
    memcpy(f->grad, g, sizeof g);
    mc_shape s = test_shape(1, 2);
    for (int i = 0; i < 3; i++) {
        memset(&f->p[i], 0, sizeof f->p[i]);
        f->p[i].name = "Weights";
        f->p[i].value = mc_tensor_view(f->value[i], &s);
        f->p[i].grad = mc_tensor_view(f->grad[i], &s);
        f->p[i].lr_factor = lr[i];
        f->p[i].l2_factor = l2[i];
        f->ptr[i] = &f->p[i];
    }
}

static mc_optim *make(fixture *f, const mc_optim_options *o)
{
    mc_optim *opt = NULL;
    mc_status st = mc_optim_create(f->ctx, o, f->ptr, 3, &opt);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(f->ctx));
    return opt;
}

static void fixture_done(fixture *f, mc_optim *opt)
{
    mc_optim_destroy(opt);
    mc_ctx_destroy(f->ctx);
    ck_assert_int_eq(f->a.live, 0);
}

START_TEST(test_sgdm_hand)
{
    fixture f;
    fixture_init(&f);
    mc_optim_options o = mc_optim_default(MC_SOLVER_SGDM);
    mc_optim *opt = make(&f, &o);
    mc_optim_step(opt, 0.1);
    /* p0: g = 0.5 + 1e-4 * 1 * 1 = 0.5001, v = -0.1 * 0.5001, p = 1 - 0.05001 */
    ck_assert_double_eq_tol(f.value[0][0], 0.94999, 1e-6);
    /* p1 (fLR 2, fL2 0): g = 0.2, v = -0.2 * 0.2 = -0.04 */
    ck_assert_double_eq_tol(f.value[1][0], -0.54, 1e-6);
    ck_assert(f.value[1][1] == 0.25f); /* zero gradient, no L2: unchanged */
    /* p2 has fLR 0: untouched */
    ck_assert(f.value[2][0] == 3.0f && f.value[2][1] == -4.0f);
    mc_optim_step(opt, 0.1);
    /* v = 0.9 * (-0.05001) - 0.1 * (0.5 + 1e-4 * 0.94999) */
    const double v2 = 0.9 * -0.05001 - 0.1 * (0.5 + 1e-4 * 0.94999);
    ck_assert_double_eq_tol(f.value[0][0], 0.94999 + v2, 1e-6);
    float *vel, *unused;
    mc_optim_state(opt, 0, &vel, &unused);
    ck_assert_double_eq_tol(vel[0], v2, 1e-7);
    mc_optim_state(opt, 2, &vel, &unused);
    ck_assert(vel[0] == 0.0f);
    ck_assert_int_eq(mc_optim_steps(opt), 2);
    fixture_done(&f, opt);
}
END_TEST

START_TEST(test_adam_hand)
{
    fixture f;
    fixture_init(&f);
    mc_optim_options o = mc_optim_default(MC_SOLVER_ADAM);
    o.l2_regularization = 0.0;
    mc_optim *opt = make(&f, &o);
    /* Step 1: m = 0.1 g, s = 0.001 g^2; step = a sqrt(0.001)/0.1 * m/(sqrt(s)+eps) = a * sign(g)
     * (up to eps). */
    mc_optim_step(opt, 0.01);
    ck_assert_double_eq_tol(f.value[0][0], 1.0 - 0.01, 1e-6);
    ck_assert_double_eq_tol(f.value[0][1], 2.0 + 0.01, 1e-6);
    ck_assert_double_eq_tol(f.value[1][0], -0.5 - 0.02, 1e-6); /* fLR 2 */
    ck_assert(f.value[1][1] == 0.25f);                         /* g = 0: m = 0 */
    /* Step 2 with g halved for p0[0]: m = 0.09*0.5 + 0.1*0.25, s = 0.999*0.001*0.25 +
     * 0.001*0.0625 */
    f.grad[0][0] = 0.25f;
    mc_optim_step(opt, 0.01);
    const double m = 0.9 * 0.05 + 0.1 * 0.25, s = 0.999 * 0.00025 + 0.001 * 0.0625;
    const double step = 0.01 * sqrt(1 - 0.999 * 0.999) / (1 - 0.9 * 0.9) * m / (sqrt(s) + 1e-8);
    ck_assert_double_eq_tol(f.value[0][0], 0.99 - step, 1e-6);
    fixture_done(&f, opt);
}
END_TEST

START_TEST(test_rmsprop_hand)
{
    fixture f;
    fixture_init(&f);
    mc_optim_options o = mc_optim_default(MC_SOLVER_RMSPROP);
    ck_assert(o.squared_gradient_decay_factor == 0.9);
    o.l2_regularization = 0.01;
    mc_optim *opt = make(&f, &o);
    mc_optim_step(opt, 0.001);
    /* g = 0.5 + 0.01 * 1 = 0.51; s = 0.1 * 0.51^2; p -= 0.001 * 0.51 / (sqrt(s) + 1e-8) */
    const double g = 0.51, s = 0.1 * g * g;
    ck_assert_double_eq_tol(f.value[0][0], 1.0 - 0.001 * g / (sqrt(s) + 1e-8), 1e-6);
    fixture_done(&f, opt);
}
END_TEST

START_TEST(test_thresholds)
{
    /* l2norm: p0's g = (3, -4) + L2 0 has norm 5 > 1: scaled to (0.6, -0.8). */
    for (int method = 0; method < 3; method++) {
        fixture f;
        fixture_init(&f);
        f.grad[0][0] = 3.0f;
        f.grad[0][1] = -4.0f;
        f.grad[1][0] = 0.0f;
        mc_optim_options o = mc_optim_default(MC_SOLVER_SGDM);
        o.l2_regularization = 0.0;
        o.momentum = 0.0;
        o.gradient_threshold = 1.0;
        o.gradient_threshold_method = (mc_grad_threshold_method)method;
        mc_optim *opt = make(&f, &o);
        mc_optim_step(opt, 1.0);
        double g0 = 0, g1 = 0;
        if (method == MC_THRESHOLD_L2NORM || method == MC_THRESHOLD_GLOBAL_L2NORM) {
            /* p1's g is 0, p2 (fLR 0) does not count: the global norm is p0's alone */
            g0 = 0.6;
            g1 = -0.8;
        } else {
            g0 = 1.0;
            g1 = -1.0;
        }
        ck_assert_double_eq_tol(f.value[0][0], 1.0 - g0, 1e-6);
        ck_assert_double_eq_tol(f.value[0][1], 2.0 - g1, 1e-6);
        ck_assert(f.grad[0][0] == 3.0f); /* gradients are left as they were */
        fixture_done(&f, opt);
    }
    /* global-l2norm across two learnables: (3, 0) and (0, 4) -> norm 5 -> both scaled by 1/5 */
    fixture f;
    fixture_init(&f);
    f.grad[0][0] = 3.0f;
    f.grad[0][1] = 0.0f;
    f.grad[1][0] = 0.0f;
    f.grad[1][1] = 4.0f;
    mc_optim_options o = mc_optim_default(MC_SOLVER_SGDM);
    o.l2_regularization = 0.0;
    o.gradient_threshold = 1.0;
    o.gradient_threshold_method = MC_THRESHOLD_GLOBAL_L2NORM;
    mc_optim *opt = make(&f, &o);
    mc_optim_step(opt, 1.0);
    ck_assert_double_eq_tol(f.value[0][0], 1.0 - 0.6, 1e-6);
    ck_assert_double_eq_tol(f.value[1][1], 0.25 - 2 * 0.8, 1e-6); /* fLR 2 */
    fixture_done(&f, opt);
}
END_TEST

START_TEST(test_l2_before_threshold)
{
    /* g = 0 + L2 * p = 10 * (1, 2) -> norm 22.36 > 1 -> scaled to unit norm */
    fixture f;
    fixture_init(&f);
    f.grad[0][0] = f.grad[0][1] = 0.0f;
    mc_optim_options o = mc_optim_default(MC_SOLVER_SGDM);
    o.l2_regularization = 10.0;
    o.gradient_threshold = 1.0;
    mc_optim *opt = make(&f, &o);
    mc_optim_step(opt, 1.0);
    ck_assert_double_eq_tol(f.value[0][0], 1.0 - 1.0 / sqrt(5.0), 1e-6);
    ck_assert_double_eq_tol(f.value[0][1], 2.0 - 2.0 / sqrt(5.0), 1e-6);
    fixture_done(&f, opt);
}
END_TEST

START_TEST(test_validation_and_names)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_optim *opt = NULL;
    const struct {
        int field;
        double value;
        const char *message;
    } cases[] = {
        {0, 1.5, "Momentum must be in [0, 1], not 1.5"},
        {1, 1.0, "GradientDecayFactor must be in [0, 1), not 1"},
        {2, -0.1, "SquaredGradientDecayFactor must be in [0, 1), not -0.1"},
        {3, 0.0, "Epsilon must be a positive finite number, not 0"},
        {4, -1.0, "L2Regularization must be a nonnegative finite number, not -1"},
        {5, 0.0, "GradientThreshold must be positive (or Inf), not 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mc_optim_options o = mc_optim_default(MC_SOLVER_ADAM);
        double *f[] = {&o.momentum, &o.gradient_decay_factor, &o.squared_gradient_decay_factor,
                       &o.epsilon,  &o.l2_regularization,     &o.gradient_threshold};
        *f[cases[i].field] = cases[i].value;
        ck_assert_int_eq(mc_optim_create(ctx, &o, NULL, 0, &opt), MC_ERR_INVALID);
        ck_assert_str_eq(mc_ctx_message(ctx), cases[i].message);
        ck_assert_ptr_null(opt);
    }
    mc_solver s;
    ck_assert_int_eq(mc_solver_parse(ctx, "ADAM", &s), MC_OK);
    ck_assert_int_eq(s, MC_SOLVER_ADAM);
    ck_assert_int_eq(mc_solver_parse(ctx, "sgd", &s), MC_ERR_INVALID);
    ck_assert_str_eq(mc_ctx_message(ctx),
                     "unknown solver 'sgd' (did you mean 'sgdm'?); expected 'sgdm', 'adam' or "
                     "'rmsprop'");
    mc_grad_threshold_method m;
    ck_assert_int_eq(mc_threshold_method_parse(ctx, "global-l2norm", &m), MC_OK);
    ck_assert_int_eq(m, MC_THRESHOLD_GLOBAL_L2NORM);
    ck_assert_str_eq(mc_solver_name(MC_SOLVER_RMSPROP), "rmsprop");
    ck_assert_str_eq(mc_threshold_method_name(MC_THRESHOLD_ABSOLUTE_VALUE), "absolute-value");
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

START_TEST(test_allocation_failures)
{
    for (long k = 1;; k++) {
        fixture f;
        fixture_init(&f);
        f.a.fail_at = f.a.count + k;
        mc_optim_options o = mc_optim_default(MC_SOLVER_ADAM);
        mc_optim *opt = NULL;
        mc_status st = mc_optim_create(f.ctx, &o, f.ptr, 3, &opt);
        ck_assert(st == MC_OK || st == MC_ERR_NOMEM);
        fixture_done(&f, opt);
        if (st == MC_OK) {
            ck_assert(k > 5);
            break;
        }
    }
}
END_TEST

/* MATLAB's update equations in double, written out for three learnables of two values. */
static void reference_step(const mc_optim_options *o, double lr, long t, double p[3][2],
                           double g0[3][2], const double flr[3], const double fl2[3],
                           double a[3][2], double b[3][2])
{
    double g[3][2], global = 0;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 2; i++) {
            g[k][i] = g0[k][i] + o->l2_regularization * fl2[k] * p[k][i];
            if (flr[k] != 0)
                global += g[k][i] * g[k][i];
        }
    for (int k = 0; k < 3; k++) {
        if (flr[k] == 0)
            continue;
        double scale = 1, T = o->gradient_threshold;
        const double norm = sqrt(g[k][0] * g[k][0] + g[k][1] * g[k][1]);
        if (o->gradient_threshold_method == MC_THRESHOLD_L2NORM && norm > T)
            scale = T / norm;
        if (o->gradient_threshold_method == MC_THRESHOLD_GLOBAL_L2NORM && sqrt(global) > T)
            scale = T / sqrt(global);
        for (int i = 0; i < 2; i++) {
            double gi = g[k][i] * scale;
            if (o->gradient_threshold_method == MC_THRESHOLD_ABSOLUTE_VALUE)
                gi = fmax(-T, fmin(T, gi));
            const double rate = lr * flr[k];
            if (o->solver == MC_SOLVER_SGDM) {
                a[k][i] = o->momentum * a[k][i] - rate * gi;
                p[k][i] += a[k][i];
            } else if (o->solver == MC_SOLVER_ADAM) {
                const double b1 = o->gradient_decay_factor, b2 = o->squared_gradient_decay_factor;
                a[k][i] = b1 * a[k][i] + (1 - b1) * gi;
                b[k][i] = b2 * b[k][i] + (1 - b2) * gi * gi;
                p[k][i] -= rate * sqrt(1 - pow(b2, (double)t)) / (1 - pow(b1, (double)t)) *
                           a[k][i] / (sqrt(b[k][i]) + o->epsilon);
            } else {
                const double b2 = o->squared_gradient_decay_factor;
                a[k][i] = b2 * a[k][i] + (1 - b2) * gi * gi;
                p[k][i] -= rate * gi / (sqrt(a[k][i]) + o->epsilon);
            }
        }
    }
}

/* Three iterations of every solver with every threshold method (and none), factors 0, 1, 2 on
 * learn rate and L2, and a learning rate that changes between steps as a schedule would. */
START_TEST(test_three_iterations)
{
    const mc_solver solver = (mc_solver)(_i / 4);
    const int method = _i % 4; /* 3: no threshold */
    fixture f;
    fixture_init(&f);
    mc_optim_options o = mc_optim_default(solver);
    o.l2_regularization = 0.05;
    if (method < 3) {
        o.gradient_threshold = 0.7;
        o.gradient_threshold_method = (mc_grad_threshold_method)method;
    }
    mc_optim *opt = make(&f, &o);
    double p[3][2], g0[3][2], a[3][2] = {{0}}, b[3][2] = {{0}};
    const double flr[3] = {1, 2, 0}, fl2[3] = {1, 0, 2}, lr[3] = {0.1, 0.1, 0.01};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 2; i++) {
            p[k][i] = f.value[k][i];
            g0[k][i] = f.grad[k][i];
        }
    for (int t = 1; t <= 3; t++) {
        mc_optim_step(opt, lr[t - 1]);
        reference_step(&o, lr[t - 1], t, p, g0, flr, fl2, a, b);
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 2; i++)
                ck_assert_msg(fabs(f.value[k][i] - p[k][i]) <= 2e-6 * (1 + fabs(p[k][i])),
                              "solver %d method %d step %d p%d[%d]: %.9g, want %.9g", solver,
                              method, t, k, i, f.value[k][i], p[k][i]);
    }
    ck_assert(f.value[2][0] == 3.0f && f.value[2][1] == -4.0f); /* learn-rate factor 0 */
    fixture_done(&f, opt);
}
END_TEST

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("solvers");
    tcase_add_test(tc, test_sgdm_hand);
    tcase_add_test(tc, test_adam_hand);
    tcase_add_test(tc, test_rmsprop_hand);
    tcase_add_test(tc, test_thresholds);
    tcase_add_test(tc, test_l2_before_threshold);
    tcase_add_test(tc, test_validation_and_names);
    tcase_add_loop_test(tc, test_three_iterations, 0, 12);
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(optim_suite());
}
