/* SPDX-License-Identifier: MIT */
/* sgdm, adam and rmsprop as in MATLAB's trainingOptions. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <minicnn/optim.h>

#include "../internal.h"
#include "../parallel.h"
#include "../simd.h"

/* The learnables' elements are updated in tasks of this many elements (a learnable's last task
 * may be shorter), on minicnn's threads: each element's update depends on its learnable's
 * factors only, so the split changes nothing but the time. */
#define OPT_BLOCK ((size_t)1 << 14)

struct mc_optim {
    mc_ctx *ctx;
    mc_optim_options o;
    mc_param **params;
    float **state_a; /* velocity, or first moment m, or rmsprop's s */
    float **state_b; /* adam's s */
    int n;
    long steps;
    int *first_task; /* (n + 1): the tasks of learnable k are [first_task[k], first_task[k + 1]) */
    double *scale;   /* (n): this step's gradient scale of each learnable */
};

static const char *const solver_names[] = {"sgdm", "adam", "rmsprop", NULL};
static const char *const method_names[] = {"l2norm", "global-l2norm", "absolute-value", NULL};

mc_optim_options mc_optim_default(mc_solver solver)
{
    mc_optim_options o;
    memset(&o, 0, sizeof o);
    o.solver = solver;
    o.momentum = 0.9;
    o.gradient_decay_factor = 0.9;
    o.squared_gradient_decay_factor = solver == MC_SOLVER_RMSPROP ? 0.9 : 0.999;
    o.epsilon = 1e-8;
    o.l2_regularization = 1e-4;
    o.gradient_threshold = INFINITY;
    o.gradient_threshold_method = MC_THRESHOLD_L2NORM;
    return o;
}

const char *mc_solver_name(mc_solver s)
{
    return (unsigned)s < 3 ? solver_names[s] : "unknown";
}

const char *mc_threshold_method_name(mc_grad_threshold_method m)
{
    return (unsigned)m < 3 ? method_names[m] : "unknown";
}

/* Looks `text` up in names (case-insensitive) or fails naming `what` and the choices. */
static mc_status parse_name(mc_ctx *ctx, const char *text, const char *const *names,
                            const char *what, int *out)
{
    for (int i = 0; names[i] != NULL; i++)
        if (strcasecmp(text, names[i]) == 0) {
            *out = i;
            return MC_OK;
        }
    const char *hint = mc__closest(text, names);
    char suggestion[64] = "";
    if (hint != NULL)
        snprintf(suggestion, sizeof suggestion, " (did you mean '%s'?)", hint);
    return mc_ctx_fail(ctx, MC_ERR_INVALID, "unknown %s '%s'%s; expected '%s', '%s' or '%s'", what,
                       text, suggestion, names[0], names[1], names[2]);
}

mc_status mc_solver_parse(mc_ctx *ctx, const char *text, mc_solver *out)
{
    int i = 0;
    mc_status st = parse_name(ctx, text, solver_names, "solver", &i);
    *out = (mc_solver)i;
    return st;
}

mc_status mc_threshold_method_parse(mc_ctx *ctx, const char *text, mc_grad_threshold_method *out)
{
    int i = 0;
    mc_status st = parse_name(ctx, text, method_names, "GradientThresholdMethod", &i);
    *out = (mc_grad_threshold_method)i;
    return st;
}

static mc_status validate(mc_ctx *ctx, const mc_optim_options *o)
{
    const struct {
        const char *name;
        double v, lo, hi;
        int hi_open;
    } ranges[] = {
        {"Momentum", o->momentum, 0, 1, 0},
        {"GradientDecayFactor", o->gradient_decay_factor, 0, 1, 1},
        {"SquaredGradientDecayFactor", o->squared_gradient_decay_factor, 0, 1, 1},
    };
    if ((unsigned)o->solver > MC_SOLVER_RMSPROP)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "unknown solver %d", (int)o->solver);
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        double v = ranges[i].v;
        if (!(v >= ranges[i].lo && (ranges[i].hi_open ? v < ranges[i].hi : v <= ranges[i].hi)))
            return mc_ctx_fail(ctx, MC_ERR_INVALID, "%s must be in [0, 1%s, not %g", ranges[i].name,
                               ranges[i].hi_open ? ")" : "]", v);
    }
    if (!(o->epsilon > 0) || !isfinite(o->epsilon))
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "Epsilon must be a positive finite number, not %g",
                           o->epsilon);
    if (!(o->l2_regularization >= 0) || !isfinite(o->l2_regularization))
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "L2Regularization must be a nonnegative finite number, not %g",
                           o->l2_regularization);
    if (!(o->gradient_threshold > 0))
        return mc_ctx_fail(ctx, MC_ERR_INVALID,
                           "GradientThreshold must be positive (or Inf), not %g",
                           o->gradient_threshold);
    if ((unsigned)o->gradient_threshold_method > MC_THRESHOLD_ABSOLUTE_VALUE)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "unknown GradientThresholdMethod %d",
                           (int)o->gradient_threshold_method);
    return MC_OK;
}

void mc_optim_destroy(mc_optim *opt)
{
    if (opt == NULL)
        return;
    for (int i = 0; i < opt->n; i++) {
        if (opt->state_a != NULL)
            mc_free(opt->ctx, opt->state_a[i]);
        if (opt->state_b != NULL)
            mc_free(opt->ctx, opt->state_b[i]);
    }
    mc_free(opt->ctx, opt->state_a);
    mc_free(opt->ctx, opt->state_b);
    mc_free(opt->ctx, opt->params);
    mc_free(opt->ctx, opt->first_task);
    mc_free(opt->ctx, opt->scale);
    mc_free(opt->ctx, opt);
}

mc_status mc_optim_create(mc_ctx *ctx, const mc_optim_options *opts, mc_param *const *params, int n,
                          mc_optim **out)
{
    *out = NULL;
    mc_status st = validate(ctx, opts);
    if (st != MC_OK)
        return st;
    mc_optim *opt = mc__calloc(ctx, 1, sizeof *opt);
    if (opt == NULL)
        return mc__nomem(ctx, "creating a solver");
    opt->ctx = ctx;
    opt->o = *opts;
    opt->n = n;
    opt->params = mc__calloc(ctx, (size_t)n, sizeof *opt->params);
    opt->state_a = mc__calloc(ctx, (size_t)n, sizeof *opt->state_a);
    opt->state_b = mc__calloc(ctx, (size_t)n, sizeof *opt->state_b);
    opt->first_task = mc__calloc(ctx, (size_t)n + 1, sizeof *opt->first_task);
    opt->scale = mc__calloc(ctx, (size_t)n + 1, sizeof *opt->scale);
    bool ok = opt->params != NULL && opt->state_a != NULL && opt->state_b != NULL &&
              opt->first_task != NULL && opt->scale != NULL;
    for (int i = 0; ok && i < n; i++) {
        const size_t count = mc_tensor_numel(&params[i]->value);
        const size_t tasks = (count + OPT_BLOCK - 1) / OPT_BLOCK;
        if (tasks > (size_t)(INT_MAX / 2) - (size_t)opt->first_task[i]) {
            mc_optim_destroy(opt);
            return mc_ctx_fail(ctx, MC_ERR_INVALID,
                               "the solver's learnables are too many (%zu "
                               "in learnable %d)",
                               count, i + 1);
        }
        opt->first_task[i + 1] = opt->first_task[i] + (int)tasks;
        opt->params[i] = params[i];
        opt->state_a[i] = mc__calloc(ctx, count, sizeof(float));
        ok = opt->state_a[i] != NULL;
        if (ok && opts->solver == MC_SOLVER_ADAM) {
            opt->state_b[i] = mc__calloc(ctx, count, sizeof(float));
            ok = opt->state_b[i] != NULL;
        }
    }
    if (!ok) {
        mc_optim_destroy(opt);
        return mc__nomem(ctx, "creating the solver's state");
    }
    *out = opt;
    return MC_OK;
}

/* The regularized gradient of element i. */
static float regularized(const mc_param *p, double l2, size_t i)
{
    return p->grad.data[i] + (float)(l2 * p->l2_factor) * p->value.data[i];
}

/* Sum of squares of a learnable's regularized gradient, in double. */
static double sum_squares(const mc_param *p, double l2)
{
    double s = 0.0;
    const size_t count = mc_tensor_numel(&p->value);
    for (size_t i = 0; i < count; i++) {
        const double g = regularized(p, l2, i);
        s += g * g;
    }
    return s;
}

/* The solvers' element loops, one per solver and each compiled for AVX2 too (MC__CLONES: the
 * same arithmetic, so the same bits): g = (grad + l2f * v) * fscale clipped to [-clip, clip],
 * then the solver's update of its state a (and b) and of the values v. */
MC__CLONES static void sgdm_update(float *restrict v, float *restrict a, const float *restrict grad,
                                   size_t count, float l2f, float fscale, float clip, float mom,
                                   float rate)
{
    for (size_t i = 0; i < count; i++) {
        float g = (grad[i] + l2f * v[i]) * fscale;
        g = g > clip ? clip : g < -clip ? -clip : g;
        a[i] = mom * a[i] - rate * g;
        v[i] += a[i];
    }
}

MC__CLONES static void adam_update(float *restrict v, float *restrict a, float *restrict b,
                                   const float *restrict grad, size_t count, float l2f,
                                   float fscale, float clip, float fb1, float fb2, float c1,
                                   float c2, float eps, float step)
{
    for (size_t i = 0; i < count; i++) {
        float g = (grad[i] + l2f * v[i]) * fscale;
        g = g > clip ? clip : g < -clip ? -clip : g;
        a[i] = fb1 * a[i] + c1 * g;
        b[i] = fb2 * b[i] + c2 * g * g;
        v[i] -= step * a[i] / (sqrtf(b[i]) + eps);
    }
}

MC__CLONES static void rmsprop_update(float *restrict v, float *restrict a,
                                      const float *restrict grad, size_t count, float l2f,
                                      float fscale, float clip, float fb2, float c2, float eps,
                                      float rate)
{
    for (size_t i = 0; i < count; i++) {
        float g = (grad[i] + l2f * v[i]) * fscale;
        g = g > clip ? clip : g < -clip ? -clip : g;
        a[i] = fb2 * a[i] + c2 * g * g;
        v[i] -= rate * g / (sqrtf(a[i]) + eps);
    }
}

typedef struct step_job {
    mc_optim *opt;
    double learn_rate, adam_scale;
} step_job;

/* Updates elements [lo, hi) of learnable k. */
static void update_range(const step_job *j, int k, size_t lo, size_t hi)
{
    const mc_optim *opt = j->opt;
    const mc_optim_options *o = &opt->o;
    const mc_param *p = opt->params[k];
    if (p->lr_factor == 0)
        return;
    const double l2 = o->l2_regularization, T = o->gradient_threshold, learn_rate = j->learn_rate;
    const double b1 = o->gradient_decay_factor, b2 = o->squared_gradient_decay_factor;
    const bool threshold = isfinite(T);
    const float clip = threshold && o->gradient_threshold_method == MC_THRESHOLD_ABSOLUTE_VALUE
                           ? (float)T
                           : INFINITY;
    const float fscale = (float)opt->scale[k], rate = (float)(learn_rate * p->lr_factor);
    const size_t count = hi - lo;
    float *v = p->value.data + lo, *a = opt->state_a[k] + lo;
    float *b = opt->state_b[k] != NULL ? opt->state_b[k] + lo : NULL;
    const float *grad = p->grad.data + lo;
    const float l2f = (float)(l2 * p->l2_factor);
    switch (o->solver) {
    case MC_SOLVER_SGDM:
        sgdm_update(v, a, grad, count, l2f, fscale, clip, (float)o->momentum, rate);
        break;
    case MC_SOLVER_ADAM:
        adam_update(v, a, b, grad, count, l2f, fscale, clip, (float)b1, (float)b2,
                    (float)(1.0 - b1), (float)(1.0 - b2), (float)o->epsilon,
                    (float)(learn_rate * p->lr_factor * j->adam_scale));
        break;
    case MC_SOLVER_RMSPROP:
        rmsprop_update(v, a, grad, count, l2f, fscale, clip, (float)b2, (float)(1.0 - b2),
                       (float)o->epsilon, rate);
        break;
    }
}

/* Task t: its learnable (found by bisection of first_task) and its block of elements. */
static void step_task(void *arg, int task, int thread)
{
    (void)thread;
    const step_job *j = arg;
    const mc_optim *opt = j->opt;
    int lo = 0, hi = opt->n; /* the k with first_task[k] <= task < first_task[k + 1] */
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (opt->first_task[mid] <= task)
            lo = mid;
        else
            hi = mid;
    }
    while (lo < opt->n - 1 && opt->first_task[lo + 1] <= task)
        lo++; /* learnables without elements */
    const size_t count = mc_tensor_numel(&opt->params[lo]->value);
    const size_t from = (size_t)(task - opt->first_task[lo]) * OPT_BLOCK;
    update_range(j, lo, from, from + OPT_BLOCK < count ? from + OPT_BLOCK : count);
}

void mc_optim_step(mc_optim *opt, double learn_rate)
{
    const mc_optim_options *o = &opt->o;
    const double l2 = o->l2_regularization, T = o->gradient_threshold;
    const bool threshold = isfinite(T);
    opt->steps++;
    double global_scale = 1.0;
    if (threshold && o->gradient_threshold_method == MC_THRESHOLD_GLOBAL_L2NORM) {
        double s = 0.0;
        for (int k = 0; k < opt->n; k++)
            if (opt->params[k]->lr_factor != 0)
                s += sum_squares(opt->params[k], l2);
        const double norm = sqrt(s);
        if (norm > T)
            global_scale = T / norm;
    }
    for (int k = 0; k < opt->n; k++) {
        const mc_param *p = opt->params[k];
        double scale = global_scale;
        if (p->lr_factor != 0 && threshold && o->gradient_threshold_method == MC_THRESHOLD_L2NORM) {
            const double norm = sqrt(sum_squares(p, l2));
            if (norm > T)
                scale = T / norm;
        }
        opt->scale[k] = scale;
    }
    step_job j = {.opt = opt, .learn_rate = learn_rate};
    const double t = (double)opt->steps;
    const double b1 = o->gradient_decay_factor;
    j.adam_scale = sqrt(1.0 - pow(o->squared_gradient_decay_factor, t)) / (1.0 - pow(b1, t));
    size_t work = 0;
    for (int k = 0; k < opt->n; k++)
        work += 4 * mc_tensor_numel(&opt->params[k]->value);
    mc__parallel_for(opt->first_task[opt->n], 0, work, step_task, &j);
}

long mc_optim_steps(const mc_optim *opt)
{
    return opt->steps;
}

void mc_optim_set_steps(mc_optim *opt, long steps)
{
    opt->steps = steps;
}

void mc_optim_state(mc_optim *opt, int i, float **a, float **b)
{
    *a = opt->state_a[i];
    if (b != NULL)
        *b = opt->state_b[i];
}
