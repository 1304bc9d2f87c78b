/* SPDX-License-Identifier: MIT */
/* A finite-difference gradient checker for any layer. */
#ifndef MINICNN_GRADCHECK_H
#define MINICNN_GRADCHECK_H

#include <minicnn/minicnn.h>

typedef struct gradcheck_result {
    int checked;     /* elements compared */
    int failed;      /* elements outside atol + rtol * |numeric| */
    double worst;    /* largest |analytic - numeric| */
    char first[256]; /* where the first failure was */
} gradcheck_result;

/* The layer must be set up for the shapes of `in`. With L = sum(w .* y) for fixed random w,
 * compares the analytic dL/dx (every element of every input) and dL/dp (every element of every
 * learnable) from one backward pass with central differences of step h on the layer's own
 * forward pass (training mode), L accumulated in double. */
void gradcheck_layer(mc_layer *layer, mc_tensor *in, int n_in, double h, double atol, double rtol,
                     gradcheck_result *res);

/* gradcheck_layer, then fails the test unless exactly `checked` elements were compared and none
 * was wrong; the failure message starts with `where` (printf format: "kind %d", k). */
void gradcheck_expect(mc_layer *layer, mc_tensor *in, int n_in, double h, double atol, double rtol,
                      int checked, const char *where, ...) __attribute__((format(printf, 8, 9)));

#endif
