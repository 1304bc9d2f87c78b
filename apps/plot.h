/* SPDX-License-Identifier: MIT */
/* Figures as PNG files, drawn with cairo: line charts with axes, ticks, a legend and a title,
 * and grids of small images with a colour bar. The pure parts (percentile ranges, legend
 * placement, colour scales, label spacing) are separate functions, tested in tests/test_plot.c. */
#ifndef MINICNN_PLOT_H
#define MINICNN_PLOT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum plot_shape { PLOT_CIRCLE, PLOT_SQUARE, PLOT_TRIANGLE, PLOT_DIAMOND } plot_shape;

typedef struct plot_series {
    const char *label;
    const double *x, *y;
    const double *err; /* half-width of an error bar per point, or NULL */
    int n;
    double rgb[3];
    bool markers;     /* a marker at each point */
    bool thin;        /* a thin, pale line (raw values under a smoothed one) */
    bool dashed;      /* a dashed line */
    plot_shape shape; /* of the markers */
} plot_series;

/* Small images (filters) in a grid, each numbered from 1, on one colour scale with a colour
 * bar: blue (lo) - white - red (hi) when lo < 0 < hi, else black (lo) - white (hi). */
typedef struct plot_image {
    const float *v; /* (n, h, w) */
    int n, h, w;
    int cols;  /* images per row */
    int scale; /* pixels per value: choose it so that each image is at least 32 pixels */
    double lo, hi;
    const char *bar_label; /* beside the colour bar */
} plot_image;

/* The size of a figure holding just this image grid under a title of two lines. */
void plot_image_size(const plot_image *im, int *width, int *height);

typedef struct plot_axes {
    const char *title, *xlabel, *ylabel; /* title: "main" or "main\nsmaller detail" */
    bool log2_x;                         /* x on a log2 scale, ticks at the data's x values */
    bool reverse_x;    /* larger x on the left (batch sizes falling, as the paper draws them) */
    double ymin, ymax; /* NaN for automatic */
    /* Bands of x (epochs): when band > 0, x is divided into bands `band` wide starting at
     * band_start, shaded alternately and numbered under the x tick labels ("epoch 1", ...). */
    double band, band_start;
    const char *band_name;
    /* The quantity's possible range (test error: 0..100 %): error bars stop at its ends. */
    bool clip;
    double clip_lo, clip_hi;
    double dodge; /* series k of n drawn (k - (n - 1) / 2) * dodge pixels right of its x */
    bool beside;  /* in the same row as the previous panel, to its right */
    const plot_image *image; /* this panel is an image grid (no series) */
} plot_axes;

/* One chart per panel, stacked vertically (or beside each other, see plot_axes.beside), written
 * as a width x height PNG to path (through the atomic writer, mc_atomic_write_file). Returns 0, or
 * -1 with a reason in err. */
int plot_write(const char *path, int width, int height, int panels, const plot_axes *axes,
               const plot_series *const *series, const int *n_series, char *err, size_t cap);

/* Colours for up to 8 series, distinguishable in print (Okabe-Ito). */
void plot_colour(int i, double rgb[3]);

/* ---- pure helpers ---- */

/* Where values lie: lo and hi are the p_lo-th and p_hi-th percentiles (0..100, linear
 * interpolation between order statistics, as numpy's default) of the finite values of v[n];
 * below and above count the values outside [lo, hi], nonfinite the NaN and infinite ones. When
 * no value is finite, lo = 0, hi = 1. When lo == hi, hi = lo + 1. Returns -1 when out of
 * memory (it sorts a copy), else 0. */
typedef struct plot_range {
    double lo, hi;
    size_t below, above, nonfinite, n;
} plot_range;
int plot_percentiles(const float *v, size_t n, double p_lo, double p_hi, plot_range *r);

/* An axis-aligned box in pixels (y down), x0 < x1, y0 < y1. */
typedef struct plot_box {
    double x0, y0, x1, y1;
} plot_box;

/* Whether the segment from (ax, ay) to (bx, by) meets the box (touching counts). */
bool plot_segment_hits_box(double ax, double ay, double bx, double by, const plot_box *b);

/* The first of the candidate boxes cand[nc] that none of the polylines meets, or -1 when each
 * one covers some data. Polyline k has points (x, y)[start[k] .. start[k + 1] - 1], in pixels;
 * a NaN coordinate breaks a polyline, a polyline of one point is a point. */
int plot_free_box(const double *x, const double *y, const int *start, int lines,
                  const plot_box *cand, int nc);

/* The colour of value v on the scale lo..hi (see plot_image); values outside are clamped. */
void plot_scale_colour(double v, double lo, double hi, double rgb[3]);

/* The colour scale for weights: [-m, m] with m the largest |v[i]| (1 when all are 0). */
double plot_symmetric_limit(const float *v, size_t n);

/* Every how many bands to number, so that labels label_px wide leave 6 px between them on bands
 * band_px wide: 1, 2, 5, 10, 20, 50, ... */
int plot_label_step(double band_px, double label_px);

#endif
