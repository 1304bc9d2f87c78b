/* Figures as PNG files, drawn with cairo: line charts with axes, ticks, a legend and a title. */
#ifndef MINICNN_PLOT_H
#define MINICNN_PLOT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct plot_series {
    const char *label;
    const double *x, *y;
    const double *err; /* half-width of an error bar per point, or NULL */
    int n;
    double rgb[3];
    bool markers;      /* a dot at each point */
    bool thin;         /* a thin, pale line (raw values under a smoothed one) */
} plot_series;

typedef struct plot_axes {
    const char *title, *xlabel, *ylabel;
    bool log2_x;    /* x on a log2 scale, ticks at the data's x values */
    bool reverse_x; /* larger x on the left (batch sizes falling, as the paper draws them) */
    double ymin, ymax; /* NaN for automatic */
} plot_axes;

/* One chart per panel, stacked vertically, written as a width x height PNG to path (through a
 * temporary file and a rename). Returns 0, or -1 with a reason in err. */
int plot_write(const char *path, int width, int height, int panels, const plot_axes *axes,
               const plot_series *const *series, const int *n_series, char *err, size_t cap);

/* Colours for up to 8 series, distinguishable in print. */
void plot_colour(int i, double rgb[3]);

#endif
