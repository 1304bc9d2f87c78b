/* SPDX-License-Identifier: MIT */
/* The training-progress figure, the iteration log and the progress bar. */
#include "progress.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "csv.h"
#include "plot.h"

int progress_log_open(progress_log *log, const char *csv_path, const char *figure, bool bar)
{
    memset(log, 0, sizeof *log);
    log->figure = figure;
    log->csv_path = csv_path;
    log->bar = bar && isatty(fileno(stderr));
    if (csv_path != NULL) {
        mc_status st = mc_ctx_create(NULL, 1, &log->ctx);
        if (st == MC_OK)
            st = mc_atomic_open(log->ctx, csv_path, MC_ATOMIC_KEEP_ON_SIGNAL, &log->file);
        int fd = -1;
        if (st == MC_OK &&
            ((fd = dup(mc_atomic_fd(log->file))) < 0 || (log->csv = fdopen(fd, "w")) == NULL)) {
            st = mc_ctx_fail(log->ctx, MC_ERR_IO, "cannot write '%s': %s", csv_path,
                             strerror(errno));
            if (fd >= 0)
                close(fd);
        }
        if (st != MC_OK) {
            fprintf(stderr, "minicnn: error: the log: %s\n",
                    log->ctx != NULL ? mc_ctx_message(log->ctx) : "out of memory");
            mc_atomic_abort(log->file);
            mc_ctx_destroy(log->ctx);
            log->file = NULL;
            log->ctx = NULL;
            return 1;
        }
        static const char *const head[8] = {
            "epoch",           "iteration",           "seconds",
            "mini_batch_loss", "mini_batch_accuracy", "base_learn_rate",
            "validation_loss", "validation_accuracy"};
        csvw_writer c;
        csvw_init(&c, log->csv);
        csvw_row(&c, head, 8);
    }
    return 0;
}

static bool grow(double **v, int cap)
{
    double *p = realloc(*v, (size_t)cap * sizeof **v);
    if (p == NULL)
        return false;
    *v = p;
    return true;
}

/* Exponential smoothing of the raw curve (weight 0.9 on the past), as training plots do. */
static void smooth(const double *in, double *out, int n)
{
    double s = n > 0 ? in[0] : 0;
    for (int i = 0; i < n; i++) {
        s = 0.9 * s + 0.1 * in[i];
        out[i] = s;
    }
}

static void warn_once(progress_log *log, const char *what, const char *why)
{
    if (!log->failed)
        fprintf(stderr, "\nminicnn: warning: %s: %s; training goes on without it\n", what, why);
    log->failed = true;
}

static void draw(progress_log *log)
{
    if (log->figure == NULL || log->n == 0)
        return;
    double *acc = malloc((size_t)log->n * sizeof *acc),
           *sacc = malloc((size_t)log->n * sizeof *sacc);
    double *sloss = malloc((size_t)log->n * sizeof *sloss);
    double *vacc = malloc(((size_t)log->vn + 1) * sizeof *vacc);
    if (acc == NULL || sacc == NULL || sloss == NULL || vacc == NULL) {
        free(acc), free(sacc), free(sloss), free(vacc);
        warn_once(log, log->figure, "out of memory");
        return;
    }
    for (int i = 0; i < log->n; i++)
        acc[i] = 100 * log->accuracy[i];
    for (int i = 0; i < log->vn; i++)
        vacc[i] = 100 * log->v_accuracy[i];
    smooth(acc, sacc, log->n);
    smooth(log->loss, sloss, log->n);
    plot_series top[3], bottom[3];
    memset(top, 0, sizeof top);
    memset(bottom, 0, sizeof bottom);
    const double blue[3] = {0.00, 0.45, 0.70}, orange[3] = {0.84, 0.37, 0.00},
                 black[3] = {0.1, 0.1, 0.1};
    /* the legend tells the raw mini-batch values (thin, pale) from their smoothed curve */
    static const char *const raw = "mini-batch (raw)", *const smoothed = "smoothed (EMA 0.9)";
    top[0] = (plot_series){.label = raw, .x = log->iteration, .y = acc, .n = log->n, .thin = true};
    top[1] = (plot_series){.label = smoothed, .x = log->iteration, .y = sacc, .n = log->n};
    top[2] = (plot_series){.label = "validation",
                           .x = log->v_iteration,
                           .y = vacc,
                           .n = log->vn,
                           .markers = true,
                           .dashed = true};
    bottom[0] = top[0];
    bottom[0].y = log->loss;
    bottom[1] = top[1];
    bottom[1].y = sloss;
    bottom[2] = top[2];
    bottom[2].y = log->v_loss;
    for (int k = 0; k < 3; k++) {
        memcpy(top[k].rgb, k == 2 ? black : blue, sizeof blue);
        memcpy(bottom[k].rgb, k == 2 ? black : orange, sizeof orange);
    }
    char title_top[160];
    snprintf(title_top, sizeof title_top,
             "Training progress: iteration %.0f of %d, base learning rate %.4g",
             log->iteration[log->n - 1], log->total, log->rate[log->n - 1]);
    /* epochs as shaded bands along x: epoch e holds iterations (e - 1) * per_epoch + 1 .. */
    plot_axes axes[2] = {
        {.title = title_top,
         .xlabel = "iteration",
         .ylabel = "accuracy (%)",
         .ymin = 0,
         .ymax = 100},
        {.title = "Loss",
         .xlabel = "iteration",
         .ylabel = "cross-entropy loss",
         .ymin = 0,
         .ymax = NAN},
    };
    for (int k = 0; k < 2; k++) {
        axes[k].band = log->per_epoch;
        axes[k].band_start = 0.5;
        axes[k].band_name = "epoch";
    }
    const plot_series *panels[2] = {top, bottom};
    const int counts[2] = {log->vn > 0 ? 3 : 2, log->vn > 0 ? 3 : 2};
    char err[256];
    if (plot_write(log->figure, 1000, 760, 2, axes, panels, counts, err, sizeof err) != 0)
        warn_once(log, log->figure, err);
    free(acc);
    free(sacc);
    free(sloss);
    free(vacc);
}

/* The terminal's width in columns (80 when it does not say). */
static int terminal_width(void)
{
    struct winsize ws;
    if (ioctl(fileno(stderr), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

void progress_bar_line(char *line, size_t cap, int width, double done, int epoch, int max_epochs,
                       double loss, double eta)
{
    char text[160];
    const long e = eta > 0 && eta < 1e9 ? (long)eta : 0;
    snprintf(text, sizeof text, " %3.0f%%  epoch %d/%d  loss %.4f  ETA %02ld:%02ld:%02ld",
             100 * done, epoch, max_epochs, loss, e / 3600, e / 60 % 60, e % 60);
    /* one column short of the width, so that no terminal wraps the line */
    const int room = width - 1, len = (int)strlen(text);
    const int bar = room - len - 2 > 40 ? 40 : room - len - 2;
    if (bar < 10) { /* too narrow for a bar: the figures alone, cut to fit */
        snprintf(line, cap, "%.*s", room > 0 ? room : 0, text + 1);
        return;
    }
    char fill[41];
    const int k = (int)(done * bar);
    for (int i = 0; i < bar; i++)
        fill[i] = i < k ? '=' : i == k ? '>' : ' ';
    fill[bar] = '\0';
    snprintf(line, cap, "[%s]%s", fill, text);
}

static void bar(const progress_log *log, const mc_train_progress *p, int max_epochs)
{
    const double done = (double)p->iteration / log->total;
    const double eta = done > 0 ? p->seconds * (1 - done) / done : 0;
    char line[512];
    const int width = terminal_width();
    progress_bar_line(line, sizeof line, width < 500 ? width : 500, done, p->epoch, max_epochs,
                      p->loss, eta);
    /* redrawn in place: back to the line's start, the line, then clear what is left of it */
    fprintf(stderr, "\r%s\033[K", line);
    if (p->last)
        fputc('\n', stderr);
    fflush(stderr);
}

void progress_log_add(progress_log *log, const mc_train_progress *p, int max_epochs)
{
    log->total = p->iterations_per_epoch * max_epochs;
    log->per_epoch = p->iterations_per_epoch;
    if (log->n == log->cap) {
        const int cap = log->cap ? log->cap * 2 : 1024;
        if (!grow(&log->iteration, cap) || !grow(&log->loss, cap) || !grow(&log->accuracy, cap) ||
            !grow(&log->rate, cap) || !grow(&log->v_iteration, cap) || !grow(&log->v_loss, cap) ||
            !grow(&log->v_accuracy, cap)) {
            warn_once(log, "the training history", "out of memory");
            return;
        }
        log->cap = cap;
    }
    log->iteration[log->n] = p->iteration;
    log->loss[log->n] = p->loss;
    log->accuracy[log->n] = p->accuracy;
    log->rate[log->n] = p->learn_rate;
    log->n++;
    if (p->validated) {
        log->v_iteration[log->vn] = p->iteration;
        log->v_loss[log->vn] = p->validation_loss;
        log->v_accuracy[log->vn] = p->validation_accuracy;
        log->vn++;
    }
    if (log->csv != NULL) {
        csvw_writer c;
        csvw_init(&c, log->csv);
        csvw_int(&c, p->epoch);
        csvw_int(&c, p->iteration);
        csvw_double(&c, p->seconds);
        csvw_double(&c, p->loss);
        csvw_double(&c, p->accuracy);
        csvw_double(&c, p->learn_rate);
        if (p->validated) {
            csvw_double(&c, p->validation_loss);
            csvw_double(&c, p->validation_accuracy);
        } else {
            csvw_empty(&c);
            csvw_empty(&c);
        }
        csvw_end_row(&c);
        if (fflush(log->csv) != 0)
            warn_once(log, log->csv_path, strerror(errno));
    }
    if (log->bar)
        bar(log, p, max_epochs);
    if (p->epoch_end || p->last)
        draw(log);
}

int progress_log_close(progress_log *log)
{
    int rc = log->failed ? 1 : 0;
    if (log->csv != NULL && fclose(log->csv) != 0) {
        fprintf(stderr, "minicnn: error: cannot write the log '%s': %s\n", log->csv_path,
                strerror(errno));
        mc_atomic_abort(log->file);
        rc = 1;
    } else if (log->file != NULL && mc_atomic_commit(log->file) != MC_OK) {
        fprintf(stderr, "minicnn: error: the log: %s\n", mc_ctx_message(log->ctx));
        rc = 1;
    }
    mc_ctx_destroy(log->ctx);
    free(log->iteration);
    free(log->loss);
    free(log->accuracy);
    free(log->rate);
    free(log->v_iteration);
    free(log->v_loss);
    free(log->v_accuracy);
    memset(log, 0, sizeof *log);
    return rc;
}
