/* Line charts with cairo. */
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

static void draw_panel(cairo_t *cr, double left, double top, double width, double height,
                       const plot_axes *ax, const plot_series *s, int n)
{
    frame f = {left + 70,        top + 40,  width - 70 - 20,
               height - 40 - 55, INFINITY,  -INFINITY,
               INFINITY,         -INFINITY, ax};
    for (int k = 0; k < n; k++)
        for (int i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i]))
                continue;
            const double e = s[k].err != NULL ? s[k].err[i] : 0;
            f.xmin = fmin(f.xmin, s[k].x[i]);
            f.xmax = fmax(f.xmax, s[k].x[i]);
            f.ymin = fmin(f.ymin, s[k].y[i] - e);
            f.ymax = fmax(f.ymax, s[k].y[i] + e);
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

    /* title and labels */
    cairo_set_source_rgb(cr, 0, 0, 0);
    /* a title of two lines ("main\nsmaller detail") keeps long details readable */
    char title[512];
    snprintf(title, sizeof title, "%s", ax->title);
    char *detail = strchr(title, '\n');
    if (detail != NULL)
        *detail++ = '\0';
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 15);
    text_at(cr, f.x0 + f.w / 2, top + (detail != NULL ? 12 : 18), title, 0.5, 0.5);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    if (detail != NULL) {
        cairo_set_font_size(cr, 11);
        text_at(cr, f.x0 + f.w / 2, top + 29, detail, 0.5, 0.5);
    }
    cairo_set_font_size(cr, 12);
    text_at(cr, f.x0 + f.w / 2, f.y0 + f.h + 42, ax->xlabel, 0.5, 0.5);
    cairo_save(cr);
    cairo_translate(cr, left + 16, f.y0 + f.h / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, ax->ylabel, 0.5, 0.5);
    cairo_restore(cr);

    /* grid and ticks */
    cairo_set_font_size(cr, 11);
    const double ystep = nice_step(f.ymax - f.ymin, 6);
    char buf[32];
    for (double v = ceil(f.ymin / ystep) * ystep; v <= f.ymax + 1e-9 * ystep; v += ystep) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, f.x0, ty(&f, v));
        cairo_line_to(cr, f.x0 + f.w, ty(&f, v));
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, "%g", fabs(v) < 1e-12 * ystep ? 0.0 : v);
        text_at(cr, f.x0 - 6, ty(&f, v), buf, 1.0, 0.5);
    }
    if (ax->log2_x) {
        for (double v = f.xmin; v <= f.xmax * 1.0001; v *= 2) {
            cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
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
            snprintf(buf, sizeof buf, "%g", v);
            text_at(cr, tx(&f, v), f.y0 + f.h + 14, buf, 0.5, 0.5);
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
        const double alpha = p->thin ? 0.35 : 1.0;
        cairo_set_source_rgba(cr, p->rgb[0], p->rgb[1], p->rgb[2], alpha);
        cairo_set_line_width(cr, p->thin ? 1.0 : 2.0);
        bool pen = false;
        for (int i = 0; i < p->n; i++) {
            if (!isfinite(p->y[i])) {
                pen = false;
                continue;
            }
            if (pen)
                cairo_line_to(cr, tx(&f, p->x[i]), ty(&f, p->y[i]));
            else
                cairo_move_to(cr, tx(&f, p->x[i]), ty(&f, p->y[i]));
            pen = true;
        }
        if (p->n > 1)
            cairo_stroke(cr);
        else
            cairo_new_path(cr);
        for (int i = 0; i < p->n; i++) {
            if (!isfinite(p->y[i]))
                continue;
            const double x = tx(&f, p->x[i]), y = ty(&f, p->y[i]);
            if (p->markers) {
                cairo_arc(cr, x, y, 3.5, 0, 2 * M_PI);
                cairo_fill(cr);
            }
            if (p->err != NULL && p->err[i] > 0) {
                cairo_set_line_width(cr, 1.2);
                const double y0 = ty(&f, p->y[i] - p->err[i]), y1 = ty(&f, p->y[i] + p->err[i]);
                cairo_move_to(cr, x, y0);
                cairo_line_to(cr, x, y1);
                cairo_move_to(cr, x - 4, y0);
                cairo_line_to(cr, x + 4, y0);
                cairo_move_to(cr, x - 4, y1);
                cairo_line_to(cr, x + 4, y1);
                cairo_stroke(cr);
            }
        }
    }
    cairo_restore(cr);

    /* legend, top right inside the plot */
    int labelled = 0;
    double lw = 0;
    cairo_set_font_size(cr, 11);
    for (int k = 0; k < n; k++)
        if (s[k].label != NULL) {
            cairo_text_extents_t e;
            cairo_text_extents(cr, s[k].label, &e);
            lw = fmax(lw, e.width);
            labelled++;
        }
    if (labelled > 0) {
        const double bx = f.x0 + f.w - lw - 46, by = f.y0 + 8;
        cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
        cairo_rectangle(cr, bx, by, lw + 38, 18.0 * labelled + 6);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
        cairo_set_line_width(cr, 0.8);
        cairo_stroke(cr);
        int row = 0;
        for (int k = 0; k < n; k++) {
            if (s[k].label == NULL)
                continue;
            const double y = by + 12 + 18.0 * row++;
            cairo_set_source_rgb(cr, s[k].rgb[0], s[k].rgb[1], s[k].rgb[2]);
            cairo_set_line_width(cr, 2);
            cairo_move_to(cr, bx + 6, y);
            cairo_line_to(cr, bx + 26, y);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0, 0, 0);
            text_at(cr, bx + 32, y, s[k].label, 0.0, 0.5);
        }
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
    const double ph = (double)height / panels;
    for (int p = 0; p < panels; p++)
        draw_panel(cr, 0, p * ph, width, ph, &axes[p], series[p], n_series[p]);
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
