/* SPDX-License-Identifier: MIT */
/* MATLAB's verbose table (see verbose.h). */
#include "verbose.h"

const char *verbose_cell(double value, verbose_cell_kind kind, int width, char *buf, size_t cap)
{
    const float v = (float)value;
    const bool e = kind == VERBOSE_RATE ? v < 1e-4 : (v < 1e-4 || v >= 1e6);
    snprintf(buf, cap, e ? "%*.4e" : "%*.4f", width, value);
    return buf;
}

static void rule(FILE *f, bool validation)
{
    fprintf(f, "|%s|\n",
            validation ? "================================================================"
                         "======================================================"
                       : "================================================================"
                         "========================");
}

void verbose_header(FILE *f, bool validation)
{
    rule(f, validation);
    if (validation) {
        fprintf(f, "|  Epoch  |  Iteration  |  Time Elapsed  |  Mini-batch  |  Validation  |"
                   "  Mini-batch  |  Validation  |  Base Learning  |\n");
        fprintf(f, "|         |             |   (hh:mm:ss)   |   Accuracy   |   Accuracy   |"
                   "     Loss     |     Loss     |      Rate       |\n");
    } else {
        fprintf(f, "|  Epoch  |  Iteration  |  Time Elapsed  |  Mini-batch  |  Mini-batch  |"
                   "  Base Learning  |\n");
        fprintf(f, "|         |             |   (hh:mm:ss)   |   Accuracy   |     Loss     |"
                   "      Rate       |\n");
    }
    rule(f, validation);
}

void verbose_row(FILE *f, const mc_train_progress *p, bool validation)
{
    const long t = (long)p->seconds;
    char cell[48];
    fprintf(f, "|%8d |%12d |       %02ld:%02ld:%02ld |%12.2f%% |", p->epoch, p->iteration, t / 3600,
            t / 60 % 60, t % 60, 100 * p->accuracy);
    if (validation) {
        if (p->validated)
            fprintf(f, "%12.2f%% |", 100 * p->validation_accuracy);
        else
            fprintf(f, "%13s |", "");
    }
    fprintf(f, "%s |", verbose_cell(p->loss, VERBOSE_LOSS, 13, cell, sizeof cell));
    if (validation) {
        if (p->validated)
            fprintf(f, "%s |",
                    verbose_cell(p->validation_loss, VERBOSE_LOSS, 13, cell, sizeof cell));
        else
            fprintf(f, "%13s |", "");
    }
    fprintf(f, "%s |\n", verbose_cell(p->learn_rate, VERBOSE_RATE, 16, cell, sizeof cell));
}

void verbose_end(FILE *f, bool validation)
{
    rule(f, validation);
}
