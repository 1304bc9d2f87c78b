/* SPDX-License-Identifier: MIT */
/* Solvers: MATLAB's sgdm, adam and rmsprop update rules (trainingOptions, R2020b).
 *
 * For each learnable p with factors fLR (learn-rate) and fL2 (L2), every step:
 *   g = dE/dp + L2Regularization * fL2 * p            then gradient thresholding, then
 *   sgdm:    v = Momentum * v - (a * fLR) * g;   p = p + v
 *   adam:    m = b1 * m + (1 - b1) * g;  s = b2 * s + (1 - b2) * g.^2;  t = step count from 1
 *            p = p - (a * fLR) * sqrt(1 - b2^t) / (1 - b1^t) * m ./ (sqrt(s) + Epsilon)
 *   rmsprop: s = b2 * s + (1 - b2) * g.^2;  p = p - (a * fLR) * g ./ (sqrt(s) + Epsilon)
 * with a the global learning rate of the step. A learnable with fLR = 0 is left alone
 * (value and solver state). Gradient thresholding (when GradientThreshold is finite):
 *   'l2norm'         each learnable's g is scaled to norm GradientThreshold when larger;
 *   'global-l2norm'  all g together, with the norm over every learnable that is updated;
 *   'absolute-value' each element is clipped to [-T, T].
 * The gradients themselves (p->grad) are not changed. */
#ifndef MINICNN_OPTIM_H
#define MINICNN_OPTIM_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>

#include <minicnn/param.h>

typedef enum mc_solver { MC_SOLVER_SGDM = 0, MC_SOLVER_ADAM, MC_SOLVER_RMSPROP } mc_solver;

typedef enum mc_grad_threshold_method {
    MC_THRESHOLD_L2NORM = 0,
    MC_THRESHOLD_GLOBAL_L2NORM,
    MC_THRESHOLD_ABSOLUTE_VALUE
} mc_grad_threshold_method;

typedef struct mc_optim_options {
    mc_solver solver;
    double momentum;                      /* sgdm, in [0, 1]; default 0.9 */
    double gradient_decay_factor;         /* adam b1, in [0, 1); default 0.9 */
    double squared_gradient_decay_factor; /* adam/rmsprop b2, in [0, 1); 0.999 / 0.9 */
    double epsilon;                       /* adam/rmsprop, positive; default 1e-8 */
    double l2_regularization;             /* >= 0; default 1e-4 */
    double gradient_threshold;            /* positive or Inf (default: no thresholding) */
    mc_grad_threshold_method gradient_threshold_method; /* default 'l2norm' */
} mc_optim_options;

/* MATLAB's defaults for the solver. */
mc_optim_options mc_optim_default(mc_solver solver);

/* "sgdm", "adam", "rmsprop" and back (case-insensitive); parse returns MC_ERR_INVALID with a
 * message listing the names. Likewise for the threshold methods ("l2norm", ...). */
const char *mc_solver_name(mc_solver s);
mc_status mc_solver_parse(mc_ctx *ctx, const char *text, mc_solver *out);
const char *mc_threshold_method_name(mc_grad_threshold_method m);
mc_status mc_threshold_method_parse(mc_ctx *ctx, const char *text, mc_grad_threshold_method *out);

typedef struct mc_optim mc_optim;

/* A solver for the n learnables (borrowed; they must outlive the solver and keep their sizes),
 * with zeroed state. Validates the options (a message names the option and the value).
 * Returns MC_OK, MC_ERR_INVALID or MC_ERR_NOMEM. */
mc_status mc_optim_create(mc_ctx *ctx, const mc_optim_options *opts, mc_param *const *params, int n,
                          mc_optim **out);
void mc_optim_destroy(mc_optim *opt);

/* One update of every learnable from its gradient, with global learning rate `learn_rate`. */
void mc_optim_step(mc_optim *opt, double learn_rate);

/* Steps taken so far (adam's t). */
long mc_optim_steps(const mc_optim *opt);

/* The solver state of learnable i: sgdm's velocity in *a (b NULL); adam's m in *a and s in *b;
 * rmsprop's s in *a (b NULL). Each has the learnable's element count; borrowed, writable (for
 * restoring a checkpoint). */
void mc_optim_state(mc_optim *opt, int i, float **a, float **b);
void mc_optim_set_steps(mc_optim *opt, long steps);

#ifdef __cplusplus
}
#endif

#endif
