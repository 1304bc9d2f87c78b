/* SPDX-License-Identifier: MIT */
/* What minicnn train shows of its progress besides MATLAB's table: a CSV log of every
 * iteration, the training-progress figure (redrawn every epoch and at the end), and a progress
 * bar with ETA on a terminal when the table is off (redrawn in place, as wide as the terminal;
 * never on a stderr that is not a terminal). */
#ifndef MINICNN_PROGRESS_H
#define MINICNN_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include <minicnn/atomic.h>
#include <minicnn/train.h>

typedef struct progress_log {
    const char *figure; /* PNG path, or NULL */
    FILE *csv;          /* or NULL: writes into `file`, the log's temporary */
    mc_atomic_file *file;
    mc_ctx *ctx; /* for `file`'s messages */
    const char *csv_path;
    int total;     /* iterations the run will make */
    int per_epoch; /* iterations per epoch (the figure's epoch bands) */
    bool bar;      /* draw the progress bar on stderr */
    bool failed;   /* a figure or the log could not be written; said once */
    int n, cap;
    double *iteration, *loss, *accuracy, *rate;
    int vn;
    double *v_iteration, *v_loss, *v_accuracy;
} progress_log;

/* Opens the log (csv_path and figure may be NULL). The log is written as training goes into a
 * temporary beside csv_path and put in place when it is closed (or when a signal ends the
 * run: its lines so far), so an old log is never half replaced. Returns 0, or 1 after printing
 * why. */
int progress_log_open(progress_log *log, const char *csv_path, const char *figure, bool bar);

/* Records one iteration: a CSV row, the bar, and the figure at the end of an epoch. */
void progress_log_add(progress_log *log, const mc_train_progress *p, int max_epochs);

/* The progress bar's line for a terminal `width` columns wide: it fills width - 1 columns at most
 * (the bar shrinks, then goes, on narrow terminals). */
void progress_bar_line(char *line, size_t cap, int width, double done, int epoch, int max_epochs,
                       double loss, double eta);

/* Draws the figure a last time (if any) and closes the log. Returns 0, or 1 if anything could
 * not be written. */
int progress_log_close(progress_log *log);

#endif
