/* SPDX-License-Identifier: MIT */
/* Line charts and image grids with cairo. */
#include "plot.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <minicnn/atomic.h>
#include <minicnn/ctx.h>

void plot_colour(int i, double rgb[3])
{
    static const double palette[8][3] = {{0.00, 0.45, 0.70}, {0.84, 0.37, 0.00}, {0.00, 0.62, 0.45},
                                         {0.80, 0.47, 0.65}, {0.34, 0.34, 0.34}, {0.90, 0.62, 0.00},
                                         {0.35, 0.70, 0.90}, {0.60, 0.20, 0.20}};
    memcpy(rgb, palette[i % 8], sizeof palette[0]);
}

/* ---- pure helpers ---- */

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile (0..100) of sorted s[n], n > 0, interpolating linearly. */
static double percentile(const float *s, size_t n, double p)
{
    const double rank = p / 100 * (double)(n - 1);
    size_t i = (size_t)floor(rank);
    if (i >= n - 1)
        return s[n - 1];
    const double f = rank - (double)i;
    return (double)s[i] + f * ((double)s[i + 1] - (double)s[i]);
}

int plot_percentiles(const float *v, size_t n, double p_lo, double p_hi, plot_range *r)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    float *s = malloc((n > 0 ? n : 1) * sizeof *s);
    if (s == NULL)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            s[m++] = v[i];
    r->nonfinite = n - m;
    if (m == 0) {
        r->lo = 0;
        r->hi = 1;
        free(s);
        return 0;
    }
    qsort(s, m, sizeof *s, cmp_float);
    r->lo = percentile(s, m, p_lo);
    r->hi = percentile(s, m, p_hi);
    for (size_t i = 0; i < m; i++) {
        r->below += s[i] < r->lo;
        r->above += s[i] > r->hi;
    }
    if (!(r->hi > r->lo))
        r->hi = r->lo + 1;
    free(s);
    return 0;
}

bool plot_segment_hits_box(double ax, double ay, double bx, double by, const plot_box *b)
{
    /* Liang-Barsky: clip the segment's parameter range [0, 1] against the four sides. */
    double t0 = 0, t1 = 1;
    const double dx = bx - ax, dy = by - ay;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {ax - b->x0, b->x1 - ax, ay - b->y0, b->y1 - ay};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0)
                return false; /* parallel to this side and outside it */
            continue;
        }
        const double t = q[i] / p[i];
        if (p[i] < 0)
            t0 = fmax(t0, t);
        else
            t1 = fmin(t1, t);
        if (t0 > t1)
            return false;
    }
    return true;
}

int plot_free_box(const double *x, const double *y, const int *start, int lines,
                  const plot_box *cand, int nc)
{
    for (int c = 0; c < nc; c++) {
        bool hit = false;
        for (int k = 0; k < lines && !hit; k++) {
            const int a = start[k], b = start[k + 1];
            for (int i = a; i < b && !hit; i++) {
                if (isnan(x[i]) || isnan(y[i]))
                    continue;
                const bool joined = i + 1 < b && !isnan(x[i + 1]) && !isnan(y[i + 1]);
                const bool alone = !joined && (i == a || isnan(x[i - 1]) || isnan(y[i - 1]));
                if (joined)
                    hit = plot_segment_hits_box(x[i], y[i], x[i + 1], y[i + 1], &cand[c]);
                else if (alone)
                    hit = plot_segment_hits_box(x[i], y[i], x[i], y[i], &cand[c]);
            }
        }
        if (!hit)
            return c;
    }
    return -1;
}

void plot_scale_colour(double v, double lo, double hi, double rgb[3])
{
    static const double blue[3] = {0.13, 0.30, 0.65}, red[3] = {0.70, 0.09, 0.17};
    if (isnan(v))
        v = lo;
    v = v < lo ? lo : v > hi ? hi : v;
    if (lo < 0 && hi > 0) {
        const double s = v < 0 ? v / lo : v / hi; /* 0 at white, 1 at either end */
        const double *end = v < 0 ? blue : red;
        for (int i = 0; i < 3; i++)
            rgb[i] = (1 - s) + s * end[i];
        return;
    }
    const double t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    rgb[0] = rgb[1] = rgb[2] = t;
}

double plot_symmetric_limit(const float *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            m = fmax(m, fabs(v[i]));
    return m > 0 ? m : 1;
}

int plot_label_step(double band_px, double label_px)
{
    if (!(band_px > 0))
        return 1;
    for (long step = 1;; step *= 10)
        for (int k = 0; k < 3; k++) {
            const long s = step * (k == 0 ? 1 : k == 1 ? 2 : 5);
            if (s * band_px >= label_px + 6 || s > 100000000)
                return (int)s;
        }
}

/* ---- drawing ---- */

typedef struct frame {
    double x0, y0, w, h; /* plot area in pixels */
    double xmin, xmax, ymin, ymax;
    const plot_axes *ax;
} frame;

static double tx(const frame *f, double x)
{
    double u = f->ax->log2_x ? log2(x) : x;
    double lo = f->ax->log2_x ? log2(f->xmin) : f->xmin,
           hi = f->ax->log2_x ? log2(f->xmax) : f->xmax;
    const double margin = f->ax->log2_x ? 0.04 * (hi - lo) : 0.0; /* keep end markers inside */
    lo -= margin;
    hi += margin;
    double t = hi > lo ? (u - lo) / (hi - lo) : 0.5;
    if (f->ax->reverse_x)
        t = 1 - t;
    return f->x0 + t * f->w;
}

static double ty(const frame *f, double y)
{
    double t = f->ymax > f->ymin ? (y - f->ymin) / (f->ymax - f->ymin) : 0.5;
    return f->y0 + f->h - t * f->h;
}

/* Series k of n at x: shifted sideways by the axes' dodge, so that error bars at the same x
 * stand apart. */
static double sx(const frame *f, int k, int n, double x)
{
    return tx(f, x) + f->ax->dodge * (k - (n - 1) / 2.0);
}

/* A "nice" step for about n ticks over span. */
static double nice_step(double span, int n)
{
    double raw = span / n, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double align_x, double align_y)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - align_x * e.width - e.x_bearing, y - align_y * e.height - e.y_bearing);
    cairo_show_text(cr, s);
}

static double text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* The error bar of point i, clipped to the quantity's range. */
static void bar_ends(const plot_axes *ax, const plot_series *p, int i, double *lo, double *hi)
{
    const double e = p->err != NULL && isfinite(p->err[i]) ? p->err[i] : 0;
    *lo = p->y[i] - e;
    *hi = p->y[i] + e;
    if (ax->clip) {
        *lo = fmax(*lo, ax->clip_lo);
        *hi = fmin(*hi, ax->clip_hi);
    }
}

/* The title over a panel `width` wide; each line's font shrinks (to 9 px) until it fits. */
static void title_block(cairo_t *cr, double cx, double top, double width, const char *text)
{
    /* a title of two lines ("main\nsmaller detail") keeps long details readable */
    char title[512];
    snprintf(title, sizeof title, "%s", text != NULL ? text : "");
    char *detail = strchr(title, '\n');
    if (detail != NULL)
        *detail++ = '\0';
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    double size = 15;
    cairo_set_font_size(cr, size);
    for (; size > 9 && text_width(cr, title) > width - 8; size -= 0.5)
        cairo_set_font_size(cr, size - 0.5);
    text_at(cr, cx, top + (detail != NULL ? 12 : 18), title, 0.5, 0.5);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    if (detail != NULL) {
        size = 12;
        cairo_set_font_size(cr, size);
        for (; size > 9 && text_width(cr, detail) > width - 8; size -= 0.5)
            cairo_set_font_size(cr, size - 0.5);
        text_at(cr, cx, top + 30, detail, 0.5, 0.5);
    }
}

static void marker(cairo_t *cr, plot_shape shape, double x, double y, double r)
{
    switch (shape) {
    case PLOT_SQUARE:
        cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r);
        break;
    case PLOT_TRIANGLE:
        cairo_move_to(cr, x, y - 1.25 * r);
        cairo_line_to(cr, x + 1.15 * r, y + 0.8 * r);
        cairo_line_to(cr, x - 1.15 * r, y + 0.8 * r);
        cairo_close_path(cr);
        break;
    case PLOT_DIAMOND:
        cairo_move_to(cr, x, y - 1.2 * r);
        cairo_line_to(cr, x + 1.2 * r, y);
        cairo_line_to(cr, x, y + 1.2 * r);
        cairo_line_to(cr, x - 1.2 * r, y);
        cairo_close_path(cr);
        break;
    default:
        cairo_arc(cr, x, y, r, 0, 2 * M_PI);
        break;
    }
    cairo_fill(cr);
}

static void line_style(cairo_t *cr, const plot_series *p)
{
    const double alpha = p->thin ? 0.45 : 1.0;
    cairo_set_source_rgba(cr, p->rgb[0], p->rgb[1], p->rgb[2], alpha);
    cairo_set_line_width(cr, p->thin ? 1.0 : 2.0);
    const double dash[2] = {7, 4};
    cairo_set_dash(cr, dash, p->dashed ? 2 : 0, 0);
}

/* The drawn data in pixels, one polyline per series and per error bar, for placing the legend. */
static int data_lines(const frame *f, const plot_series *s, int n, double **px, double **py,
                      int **start, int *lines)
{
    size_t points = 0, count = 0;
    for (int k = 0; k < n; k++) {
        points += (size_t)s[k].n * 3;
        count += 1 + (size_t)(s[k].err != NULL ? s[k].n : 0);
    }
    *px = malloc((points + 1) * sizeof **px);
    *py = malloc((points + 1) * sizeof **py);
    *start = malloc((count + 1) * sizeof **start);
    if (*px == NULL || *py == NULL || *start == NULL)
        return -1;
    int m = 0, l = 0;
    for (int k = 0; k < n; k++) {
        const plot_series *p = &s[k];
        (*start)[l++] = m;
        for (int i = 0; i < p->n; i++) {
            const bool ok = isfinite(p->x[i]) && isfinite(p->y[i]);
            (*px)[m] = ok ? sx(f, k, n, p->x[i]) : NAN;
            (*py)[m++] = ok ? ty(f, p->y[i]) : NAN;
        }
        for (int i = 0; p->err != NULL && i < p->n; i++) {
            if (!isfinite(p->x[i]) || !isfinite(p->y[i]))
                continue;
            double lo, hi;
            bar_ends(f->ax, p, i, &lo, &hi);
            (*start)[l++] = m;
            (*px)[m] = sx(f, k, n, p->x[i]);
            (*py)[m++] = ty(f, lo);
            (*px)[m] = sx(f, k, n, p->x[i]);
            (*py)[m++] = ty(f, hi);
        }
    }
    (*start)[l] = m;
    *lines = l;
    return 0;
}

/* Epoch bands: shaded alternately, numbered under the tick labels. */
static void draw_bands(cairo_t *cr, const frame *f)
{
    const plot_axes *ax = f->ax;
    const double lo = fmin(tx(f, f->xmin), tx(f, f->xmax)),
                 hi = fmax(tx(f, f->xmin), tx(f, f->xmax));
    const int first = (int)floor((f->xmin - ax->band_start) / ax->band);
    const int last = (int)ceil((f->xmax - ax->band_start) / ax->band);
    const char *name = ax->band_name != NULL ? ax->band_name : "band";
    char buf[64];
    cairo_set_font_size(cr, 11);
    snprintf(buf, sizeof buf, "%s %d", name, last);
    const double band_px = fabs(tx(f, ax->band_start + ax->band) - tx(f, ax->band_start));
    const int step = plot_label_step(band_px, text_width(cr, buf));
    for (int b = first; b < last; b++) {
        double a = tx(f, ax->band_start + b * ax->band),
               z = tx(f, ax->band_start + (b + 1) * ax->band);
        a = fmax(a, lo);
        z = fmin(z, hi);
        if (z <= a)
            continue;
        if (b % 2 == 1) {
            cairo_set_source_rgb(cr, 0.93, 0.93, 0.96);
            cairo_rectangle(cr, a, f->y0, z - a, f->h);
            cairo_fill(cr);
        }
        if (b % step == 0) {
            snprintf(buf, sizeof buf, "%s %d", name, b + 1);
            cairo_set_source_rgb(cr, 0.25, 0.25, 0.45);
            text_at(cr, (a + z) / 2, f->y0 + f->h + 31, buf, 0.5, 0.5);
        }
    }
}

static void draw_legend(cairo_t *cr, const plot_series *s, int n, double bx, double by, double lw,
                        int labelled)
{
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_rectangle(cr, bx, by, lw + 44, 18.0 * labelled + 6);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 0.8);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_stroke(cr);
    int row = 0;
    for (int k = 0; k < n; k++) {
        if (s[k].label == NULL)
            continue;
        const double y = by + 12 + 18.0 * row++;
        if (s[k].n > 1 || !s[k].markers) { /* the swatch drawn as the series is */
            line_style(cr, &s[k]);
            cairo_move_to(cr, bx + 6, y);
            cairo_line_to(cr, bx + 32, y);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
        }
        if (s[k].markers) {
            cairo_set_source_rgb(cr, s[k].rgb[0], s[k].rgb[1], s[k].rgb[2]);
            marker(cr, s[k].shape, bx + 19, y, 3.5);
        }
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, bx + 38, y, s[k].label, 0.0, 0.5);
    }
}

static void draw_panel(cairo_t *cr, double left, double top, double width, double height,
                       const plot_axes *ax, const plot_series *s, int n)
{
    const bool bands = ax->band > 0 && isfinite(ax->band);
    frame f = {left + 70, top + 44,  width - 70 - 20, height - 44 - (bands ? 64 : 55),
               INFINITY,  -INFINITY, INFINITY,        -INFINITY,
               ax};
    for (int k = 0; k < n; k++)
        for (int i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i]))
                continue;
            double lo, hi;
            bar_ends(ax, &s[k], i, &lo, &hi);
            f.xmin = fmin(f.xmin, s[k].x[i]);
            f.xmax = fmax(f.xmax, s[k].x[i]);
            f.ymin = fmin(f.ymin, lo);
            f.ymax = fmax(f.ymax, hi);
        }
    if (!isfinite(f.xmin)) {
        f.xmin = 0;
        f.xmax = 1;
        f.ymin = 0;
        f.ymax = 1;
    }
    if (!isnan(ax->ymin))
        f.ymin = ax->ymin;
    if (!isnan(ax->ymax))
        f.ymax = ax->ymax;
    if (f.ymax <= f.ymin)
        f.ymax = f.ymin + 1;
    const double pad = 0.05 * (f.ymax - f.ymin);
    if (isnan(ax->ymin))
        f.ymin -= pad;
    if (isnan(ax->ymax))
        f.ymax += pad;

    /* the legend: in the first corner of the plot that hides no data, else outside on the
     * right (the plot narrows for it) */
    int labelled = 0;
    double lw = 0;
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 12);
    for (int k = 0; k < n; k++)
        if (s[k].label != NULL) {
            lw = fmax(lw, text_width(cr, s[k].label));
            labelled++;
        }
    const double bw = lw + 44, bh = 18.0 * labelled + 6;
    double bx = 0, by = 0;
    if (labelled > 0) {
        const plot_box cand[4] = {
            {f.x0 + f.w - bw - 12, f.y0 + 4, f.x0 + f.w - 4, f.y0 + bh + 12},
            {f.x0 + 4, f.y0 + 4, f.x0 + bw + 12, f.y0 + bh + 12},
            {f.x0 + f.w - bw - 12, f.y0 + f.h - bh - 12, f.x0 + f.w - 4, f.y0 + f.h - 4},
            {f.x0 + 4, f.y0 + f.h - bh - 12, f.x0 + bw + 12, f.y0 + f.h - 4}};
        double *px = NULL, *py = NULL;
        int *start = NULL, lines = 0, c = -1;
        if (data_lines(&f, s, n, &px, &py, &start, &lines) == 0)
            c = plot_free_box(px, py, start, lines, cand, 4);
        free(px);
        free(py);
        free(start);
        if (c >= 0) {
            bx = cand[c].x0 + 4;
            by = cand[c].y0 + 4;
        } else {
            f.w -= bw + 14;
            bx = f.x0 + f.w + 10;
            by = f.y0;
        }
    }

    const double cx = f.x0 + f.w / 2; /* centred over the plot, inside the panel */
    title_block(cr, cx, top, 2 * fmin(cx - left, left + width - cx), ax->title);
    cairo_set_font_size(cr, 13);
    text_at(cr, f.x0 + f.w / 2, f.y0 + f.h + (bands ? 52 : 42), ax->xlabel, 0.5, 0.5);
    cairo_save(cr);
    cairo_translate(cr, left + 16, f.y0 + f.h / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, ax->ylabel, 0.5, 0.5);
    cairo_restore(cr);

    if (bands)
        draw_bands(cr, &f);

    /* grid and ticks */
    cairo_set_font_size(cr, 12);
    cairo_set_line_width(cr, 1);
    const double ystep = nice_step(f.ymax - f.ymin, 6);
    char buf[32];
    for (double v = ceil(f.ymin / ystep) * ystep; v <= f.ymax + 1e-9 * ystep; v += ystep) {
        cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
        cairo_move_to(cr, f.x0, ty(&f, v));
        cairo_line_to(cr, f.x0 + f.w, ty(&f, v));
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, "%g", fabs(v) < 1e-12 * ystep ? 0.0 : v);
        text_at(cr, f.x0 - 6, ty(&f, v), buf, 1.0, 0.5);
    }
    if (ax->log2_x) {
        for (double v = f.xmin; v <= f.xmax * 1.0001; v *= 2) {
            cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
            cairo_move_to(cr, tx(&f, v), f.y0);
            cairo_line_to(cr, tx(&f, v), f.y0 + f.h);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0, 0, 0);
            snprintf(buf, sizeof buf, "%g", v);
            text_at(cr, tx(&f, v), f.y0 + f.h + 14, buf, 0.5, 0.5);
        }
    } else {
        const double xstep = nice_step(f.xmax - f.xmin, 8);
        for (double v = ceil(f.xmin / xstep) * xstep; v <= f.xmax + 1e-9 * xstep; v += xstep) {
            cairo_set_source_rgb(cr, 0, 0, 0);
            cairo_move_to(cr, tx(&f, v), f.y0 + f.h);
            cairo_line_to(cr, tx(&f, v), f.y0 + f.h + 4);
            cairo_stroke(cr);
            snprintf(buf, sizeof buf, "%g", fabs(v) < 1e-12 * xstep ? 0.0 : v);
            text_at(cr, tx(&f, v), f.y0 + f.h + 15, buf, 0.5, 0.5);
        }
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, f.x0, f.y0, f.w, f.h);
    cairo_stroke(cr);

    /* series */
    cairo_save(cr);
    cairo_rectangle(cr, f.x0, f.y0, f.w, f.h);
    cairo_clip(cr);
    for (int k = 0; k < n; k++) {
        const plot_series *p = &s[k];
        line_style(cr, p);
        bool pen = false;
        for (int i = 0; i < p->n; i++) {
            if (!isfinite(p->x[i]) || !isfinite(p->y[i])) {
                pen = false;
                continue;
            }
            if (pen)
                cairo_line_to(cr, sx(&f, k, n, p->x[i]), ty(&f, p->y[i]));
            else
                cairo_move_to(cr, sx(&f, k, n, p->x[i]), ty(&f, p->y[i]));
            pen = true;
        }
        if (p->n > 1)
            cairo_stroke(cr);
        else
            cairo_new_path(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        cairo_set_source_rgb(cr, p->rgb[0], p->rgb[1], p->rgb[2]);
        for (int i = 0; i < p->n; i++) {
            if (!isfinite(p->x[i]) || !isfinite(p->y[i]))
                continue;
            const double x = sx(&f, k, n, p->x[i]), y = ty(&f, p->y[i]);
            if (p->markers)
                marker(cr, p->shape, x, y, 4);
            double lo, hi;
            bar_ends(ax, p, i, &lo, &hi);
            if (p->err != NULL && hi > lo) {
                cairo_set_line_width(cr, 1.4);
                const double y0 = ty(&f, lo), y1 = ty(&f, hi);
                cairo_move_to(cr, x, y0);
                cairo_line_to(cr, x, y1);
                cairo_move_to(cr, x - 5, y0);
                cairo_line_to(cr, x + 5, y0);
                cairo_move_to(cr, x - 5, y1);
                cairo_line_to(cr, x + 5, y1);
                cairo_stroke(cr);
            }
        }
    }
    cairo_restore(cr);

    if (labelled > 0) {
        cairo_set_font_size(cr, 12);
        draw_legend(cr, s, n, bx, by, lw, labelled);
    }
}

/* An image grid: each image numbered, one colour scale, a colour bar on the right. */
static void draw_images(cairo_t *cr, double left, double top, double width, const plot_axes *ax)
{
    const plot_image *im = ax->image;
    const int scale = im->scale > 0 ? im->scale : 1, cols = im->cols > 0 ? im->cols : 1;
    const double cw = (double)im->w * scale, ch = (double)im->h * scale;
    const double gap = 10, label = 16, x0 = left + 16, y0 = top + 48;
    const int rows = (im->n + cols - 1) / cols;
    title_block(cr, left + width / 2, top, width, ax->title);
    cairo_set_font_size(cr, 11);
    char buf[32];
    for (int i = 0; i < im->n; i++) {
        const double ox = x0 + (i % cols) * (cw + gap), oy = y0 + (i / cols) * (ch + gap + label);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, "%d", i + 1);
        text_at(cr, ox + cw / 2, oy + label / 2 - 1, buf, 0.5, 0.5);
        for (int y = 0; y < im->h; y++)
            for (int x = 0; x < im->w; x++) {
                double rgb[3];
                plot_scale_colour(im->v[((size_t)i * im->h + y) * im->w + x], im->lo, im->hi, rgb);
                cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
                cairo_rectangle(cr, ox + x * scale, oy + label + y * scale, scale, scale);
                cairo_fill(cr);
            }
        cairo_set_source_rgb(cr, 0.55, 0.55, 0.55);
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, ox - 0.5, oy + label - 0.5, cw + 1, ch + 1);
        cairo_stroke(cr);
    }
    /* the colour bar, as tall as the grid (at least 120 px) */
    const double grid_h = rows * (ch + gap + label) - gap;
    const double bx = x0 + cols * (cw + gap) + 14, bh = fmax(grid_h - label, 120), by = y0 + label;
    for (int j = 0; j < (int)bh; j++) {
        double rgb[3];
        plot_scale_colour(im->hi - (j + 0.5) / bh * (im->hi - im->lo), im->lo, im->hi, rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle(cr, bx, by + j, 18, 1);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, bx - 0.5, by - 0.5, 19, bh + 1);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 11);
    const double step = nice_step(im->hi - im->lo, 4);
    for (double v = ceil(im->lo / step) * step; v <= im->hi + 1e-9 * step; v += step) {
        const double y = by + (im->hi - v) / (im->hi - im->lo) * bh;
        cairo_move_to(cr, bx + 18, y);
        cairo_line_to(cr, bx + 22, y);
        cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%.3g", fabs(v) < 1e-9 * step ? 0.0 : v);
        text_at(cr, bx + 25, y, buf, 0.0, 0.5);
    }
    if (im->bar_label != NULL) {
        cairo_set_font_size(cr, 12);
        cairo_save(cr);
        cairo_translate(cr, bx + 80, by + bh / 2);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, 0, 0, im->bar_label, 0.5, 0.5);
        cairo_restore(cr);
    }
}

void plot_image_size(const plot_image *im, int *width, int *height)
{
    const int scale = im->scale > 0 ? im->scale : 1, cols = im->cols > 0 ? im->cols : 1;
    const int rows = (im->n + cols - 1) / cols;
    const int grid_w = cols * (im->w * scale + 10), grid_h = rows * (im->h * scale + 10 + 16);
    *width = 16 + grid_w + 14 + 100 + 10;
    *height = 48 + (grid_h > 136 ? grid_h : 136) + 16;
    if (*width < 520)
        *width = 520;
}

/* The panels in rows (a panel marked `beside` joins the previous one's row), rows of equal
 * height, panels of a row of equal width. */
static void draw_panels(cairo_t *cr, int width, int height, int panels, const plot_axes *axes,
                        const plot_series *const *series, const int *n_series)
{
    int rows = 0;
    for (int p = 0; p < panels; p++)
        rows += p == 0 || !axes[p].beside;
    const double ph = (double)height / (rows > 0 ? rows : 1);
    for (int p = 0, row = -1; p < panels; p++) {
        if (p == 0 || !axes[p].beside)
            row++;
        int first = p, in_row = 0;
        while (first > 0 && axes[first].beside)
            first--;
        for (int q = first; q < panels && (q == first || axes[q].beside); q++)
            in_row++;
        const double pw = (double)width / in_row;
        if (axes[p].image != NULL)
            draw_images(cr, (p - first) * pw, row * ph, pw, &axes[p]);
        else
            draw_panel(cr, (p - first) * pw, row * ph, pw, ph, &axes[p], series[p], n_series[p]);
    }
}

/* The PNG cairo encodes, gathered in memory. */
typedef struct png_buffer {
    unsigned char *data;
    size_t len, cap;
    bool nomem;
} png_buffer;

static cairo_status_t png_append(void *user, const unsigned char *data, unsigned int n)
{
    png_buffer *b = user;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *d = realloc(b->data, cap);
        if (d == NULL) {
            b->nomem = true;
            return CAIRO_STATUS_NO_MEMORY;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return CAIRO_STATUS_SUCCESS;
}

int plot_write(const char *path, int width, int height, int panels, const plot_axes *axes,
               const plot_series *const *series, const int *n_series, char *err, size_t cap)
{
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        snprintf(err, cap, "cannot draw a %dx%d image: %s", width, height,
                 cairo_status_to_string(cairo_surface_status(surface)));
        cairo_surface_destroy(surface);
        return -1;
    }
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    draw_panels(cr, width, height, panels, axes, series, n_series);
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    /* Encoded in memory, then written whole through the atomic writer, so that a failure names
     * the path and errno (cairo's own file writer says only "error while writing to output
     * stream") and no half-written or misplaced file is left. */
    png_buffer png = {NULL, 0, 0, false};
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_write_to_png_stream(surface, png_append, &png);
    cairo_surface_destroy(surface);
    if (cs != CAIRO_STATUS_SUCCESS) {
        snprintf(err, cap, "cannot write '%s': cairo could not encode the figure: %s", path,
                 png.nomem ? "out of memory" : cairo_status_to_string(cs));
        free(png.data);
        return -1;
    }
    mc_ctx *ctx = NULL;
    mc_status st = mc_ctx_create(NULL, 1, &ctx);
    if (st == MC_OK)
        st = mc_atomic_write_file(ctx, path, png.data, png.len);
    if (st != MC_OK)
        snprintf(err, cap, "%s", ctx != NULL ? mc_ctx_message(ctx) : "out of memory");
    mc_ctx_destroy(ctx);
    free(png.data);
    return st == MC_OK ? 0 : -1;
}
