/* SPDX-License-Identifier: MIT */
/* The table of minicnn train --profile (apps/profile.c), also printed by minicnn-bench. */
#ifndef MINICNN_APPS_PROFILE_H
#define MINICNN_APPS_PROFILE_H

#include <stdio.h>

#include <minicnn/minicnn.h>

/* Prints to f where the profiled training steps of net spent their time (mc_net_set_profiling):
 * one row per layer with its mean forward and backward milliseconds per step and its share of the
 * step, then the data gathering, the optimizer and the rest of the step (progress, checks,
 * validation). The shares add up to 100 %. Prints one line saying so when nothing was timed. */
void cli_print_profile(FILE *f, const mc_net *net);

#endif
