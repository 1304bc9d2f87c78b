/* SPDX-License-Identifier: MIT */
/* The figures' pure parts (percentile ranges and outlier counts, legend placement, the colour
 * scale, epoch label spacing) against hand-computed cases, and drawn figures read back pixel by
 * pixel: a legend that hides no data, shaded epoch bands, an image grid on its colour scale. */
#include <cairo.h>
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../apps/plot.h"
#include "testutil.h"

/* numpy.percentile([1, 2, 3, 4], [25, 75]) = [1.75, 3.25]; the NaN is counted, not sorted. */
START_TEST(test_percentiles_by_hand)
{
    const float v[5] = {3, 1, NAN, 2, 4};
    plot_range r;
    ck_assert_int_eq(plot_percentiles(v, 5, 25, 75, &r), 0);
    ck_assert_double_eq_tol(r.lo, 1.75, 1e-12);
    ck_assert_double_eq_tol(r.hi, 3.25, 1e-12);
    ck_assert_uint_eq(r.below, 1); /* 1 */
    ck_assert_uint_eq(r.above, 1); /* 4 */
    ck_assert_uint_eq(r.nonfinite, 1);
    ck_assert_uint_eq(r.n, 5);
    /* the whole range: nothing beyond it */
    ck_assert_int_eq(plot_percentiles(v, 5, 0, 100, &r), 0);
    ck_assert(r.lo == 1 && r.hi == 4 && r.below == 0 && r.above == 0);
}
END_TEST

/* 0, 1, ..., 1000 in a scrambled order: the 0.5th and 99.5th percentiles are 5 and 995, with
 * five values below and five above; an infinity is not a value. */
START_TEST(test_percentiles_outliers)
{
    float v[1002];
    for (int i = 0; i <= 1000; i++)
        v[i] = (float)((i * 389) % 1001); /* 389 is prime to 1001: a permutation */
    v[1001] = INFINITY;
    plot_range r;
    ck_assert_int_eq(plot_percentiles(v, 1002, 0.5, 99.5, &r), 0);
    ck_assert_double_eq_tol(r.lo, 5, 1e-9);
    ck_assert_double_eq_tol(r.hi, 995, 1e-9);
    ck_assert_uint_eq(r.below, 5);
    ck_assert_uint_eq(r.above, 5);
    ck_assert_uint_eq(r.nonfinite, 1);
    /* ties: a constant set gets a range one wide, nothing beyond */
    const float c[4] = {2, 2, 2, 2};
    ck_assert_int_eq(plot_percentiles(c, 4, 0.5, 99.5, &r), 0);
    ck_assert(r.lo == 2 && r.hi == 3 && r.below == 0 && r.above == 0);
    /* nothing finite, or nothing at all */
    const float nan[2] = {NAN, -INFINITY};
    ck_assert_int_eq(plot_percentiles(nan, 2, 0.5, 99.5, &r), 0);
    ck_assert(r.lo == 0 && r.hi == 1 && r.nonfinite == 2);
    ck_assert_int_eq(plot_percentiles(NULL, 0, 0.5, 99.5, &r), 0);
    ck_assert(r.lo == 0 && r.hi == 1 && r.n == 0);
}
END_TEST

START_TEST(test_segment_hits_box)
{
    const plot_box b = {10, 10, 20, 20};
    ck_assert(plot_segment_hits_box(0, 0, 30, 30, &b));    /* through, both ends outside */
    ck_assert(plot_segment_hits_box(15, 15, 15, 15, &b));  /* a point inside */
    ck_assert(plot_segment_hits_box(0, 20, 10, 20, &b));   /* touching the corner */
    ck_assert(plot_segment_hits_box(15, 0, 15, 100, &b));  /* vertical, across */
    ck_assert(!plot_segment_hits_box(0, 0, 30, 5, &b));    /* below it */
    ck_assert(!plot_segment_hits_box(0, 25, 30, 25, &b));  /* horizontal, beside */
    ck_assert(!plot_segment_hits_box(21, 0, 21, 30, &b));  /* vertical, beside */
    ck_assert(!plot_segment_hits_box(0, 12, 9, 30, &b));   /* ends left of the box */
    ck_assert(!plot_segment_hits_box(25, 25, 25, 25, &b)); /* a point outside */
    ck_assert(!plot_segment_hits_box(0, 18, 8, 30, &b));   /* would meet it only if longer */
}
END_TEST

/* Boxes in the four corners of a 100 x 100 area (y down): top right, top left, bottom right,
 * bottom left, in that order of preference. */
static const plot_box corners[4] = {
    {70, 0, 100, 20}, {0, 0, 30, 20}, {70, 80, 100, 100}, {0, 80, 30, 100}};

START_TEST(test_free_box)
{
    /* a line along the bottom: the top right is free */
    const double x1[2] = {0, 100}, y1[2] = {95, 95};
    const int s1[2] = {0, 2};
    ck_assert_int_eq(plot_free_box(x1, y1, s1, 1, corners, 4), 0);
    /* rising to the top right (a training accuracy): the top left is free */
    const double x2[3] = {0, 50, 100}, y2[3] = {90, 30, 5};
    const int s2[2] = {0, 3};
    ck_assert_int_eq(plot_free_box(x2, y2, s2, 1, corners, 4), 1);
    /* and a second line along the top, with an isolated point at the bottom right: bottom left */
    const double x3[6] = {0, 50, 100, 0, 100, 90}, y3[6] = {70, 30, 5, 10, 10, 90};
    const int s3[4] = {0, 3, 5, 6};
    ck_assert_int_eq(plot_free_box(x3, y3, s3, 3, corners, 4), 3);
    /* a NaN breaks a line: the gap over the top right is no segment */
    const double x4[3] = {60, NAN, 100}, y4[3] = {10, NAN, 30};
    const int s4[2] = {0, 3};
    ck_assert_int_eq(plot_free_box(x4, y4, s4, 1, corners, 1), 0);
    /* a point of a broken line is drawn alone: inside the top right it covers it */
    const double x5[3] = {20, NAN, 90}, y5[3] = {50, NAN, 10};
    ck_assert_int_eq(plot_free_box(x5, y5, s4, 1, corners, 2), 1);
    /* a diagonal and an anti-diagonal cover every corner: none is free */
    const double x6[4] = {0, 100, 0, 100}, y6[4] = {0, 100, 100, 0};
    const int s6[3] = {0, 2, 4};
    ck_assert_int_eq(plot_free_box(x6, y6, s6, 2, corners, 4), -1);
}
END_TEST

START_TEST(test_scale_colour)
{
    double c[3];
    plot_scale_colour(0, -2, 2, c); /* white at 0 */
    ck_assert(c[0] == 1 && c[1] == 1 && c[2] == 1);
    plot_scale_colour(2, -2, 2, c); /* red at the top */
    ck_assert(c[0] > 0.6 && c[1] < 0.2 && c[2] < 0.2);
    plot_scale_colour(-2, -2, 2, c); /* blue at the bottom */
    ck_assert(c[2] > 0.6 && c[0] < 0.2);
    double d[3];
    plot_scale_colour(-9, -2, 2, d); /* clamped */
    ck_assert(memcmp(c, d, sizeof c) == 0);
    plot_scale_colour(1, -2, 2, c); /* half way: half way between white and red */
    ck_assert_double_eq_tol(c[0], (1 + 0.70) / 2, 1e-12);
    ck_assert_double_eq_tol(c[1], (1 + 0.09) / 2, 1e-12);
    /* white stays at 0 on a lopsided scale */
    plot_scale_colour(0, -1, 3, c);
    ck_assert(c[0] == 1 && c[1] == 1 && c[2] == 1);
    /* a scale that does not cross 0: gray, black to white */
    plot_scale_colour(1, 0, 4, c);
    ck_assert(c[0] == 0.25 && c[1] == 0.25 && c[2] == 0.25);
    plot_scale_colour(NAN, 0, 4, c);
    ck_assert(c[0] == 0);
    const float w[4] = {0.1f, -0.3f, NAN, 0.2f}, z[2] = {0, 0};
    ck_assert_double_eq_tol(plot_symmetric_limit(w, 4), 0.3, 1e-7);
    ck_assert_double_eq(plot_symmetric_limit(z, 2), 1);
}
END_TEST

START_TEST(test_label_step)
{
    ck_assert_int_eq(plot_label_step(100, 50), 1);
    ck_assert_int_eq(plot_label_step(56, 50), 1);
    ck_assert_int_eq(plot_label_step(55, 50), 2);
    ck_assert_int_eq(plot_label_step(20, 50), 5); /* 2 x 20 = 40 < 56 <= 5 x 20 */
    ck_assert_int_eq(plot_label_step(3, 50), 20); /* 10 x 3 = 30 < 56 <= 20 x 3 */
    ck_assert_int_eq(plot_label_step(0.5, 50), 200);
    ck_assert_int_eq(plot_label_step(0, 50), 1);
}
END_TEST

/* ---- drawn figures, read back ---- */

static char dir[64];

static cairo_surface_t *draw(const char *name, int width, int height, int panels,
                             const plot_axes *axes, const plot_series *const *series, const int *n)
{
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_msg(plot_write(path, width, height, panels, axes, series, n, err, sizeof err) == 0,
                  "%s", err);
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    ck_assert_int_eq(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    ck_assert_int_eq(cairo_image_surface_get_width(s), width);
    ck_assert_int_eq(cairo_image_surface_get_height(s), height);
    return s;
}

/* The pixel at (x, y) as 0xRRGGBB. */
static unsigned pixel(cairo_surface_t *s, int x, int y)
{
    cairo_surface_flush(s);
    const unsigned char *d = cairo_image_surface_get_data(s);
    const uint32_t *row = (const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(s));
    return row[x] & 0xFFFFFFu;
}

/* Whether a pixel has the colour rgb (0..1), to within cairo's rounding to 8 bits. */
static bool near(unsigned px, const double rgb[3])
{
    for (int i = 0; i < 3; i++) {
        const double c = (px >> (16 - 8 * i) & 0xFF) / 255.0;
        if (fabs(c - rgb[i]) > 1.5 / 255)
            return false;
    }
    return true;
}

/* A line along the top of the plot, where a legend used to sit: it is drawn at full colour all
 * the way, the legend having moved to an empty corner. */
START_TEST(test_legend_hides_no_data)
{
    snprintf(dir, sizeof dir, "/tmp/minicnn-test-plot-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    double x[50], top[50], bottom[50];
    for (int i = 0; i < 50; i++) {
        x[i] = i;
        top[i] = 1;
        bottom[i] = i < 25 ? 0 : NAN; /* the bottom left taken too */
    }
    plot_series s[2] = {{.label = "along the top", .x = x, .y = top, .n = 50, .rgb = {0, 0, 1}},
                        {.label = "bottom left", .x = x, .y = bottom, .n = 50, .rgb = {0, 1, 0}}};
    const plot_axes ax = {.title = "t", .xlabel = "x", .ylabel = "y", .ymin = 0, .ymax = 1.05};
    const plot_series *panels[1] = {s};
    const int n[1] = {2};
    cairo_surface_t *img = draw("legend.png", 600, 400, 1, &ax, panels, n);
    /* in every column of the plot's right part, the top line is pure blue somewhere */
    for (int col = 300; col < 570; col += 10) {
        bool blue = false;
        for (int row = 40; row < 120; row++)
            blue |= pixel(img, col, row) == 0x0000FF;
        ck_assert_msg(blue, "the line is hidden at x = %d", col);
    }
    /* the legend went to the bottom right: its dark label text is there */
    int dark = 0;
    for (int row = 200; row < 345; row++)
        for (int col = 350; col < 580; col++)
            dark += (pixel(img, col, row) & 0xFF) < 0x40 && (pixel(img, col, row) >> 16) < 0x40;
    ck_assert_int_gt(dark, 20);
    cairo_surface_destroy(img);
}
END_TEST

/* Epochs as bands: the second of three is shaded, the first and third are white. */
START_TEST(test_epoch_bands)
{
    snprintf(dir, sizeof dir, "/tmp/minicnn-test-plot-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    double x[30], y[30];
    for (int i = 0; i < 30; i++) {
        x[i] = i + 1;
        y[i] = 0;
    }
    plot_series s = {.x = x, .y = y, .n = 30, .rgb = {0, 0, 0}};
    const plot_axes ax = {.title = "t",
                          .xlabel = "iteration",
                          .ylabel = "y",
                          .ymin = 0,
                          .ymax = 1,
                          .band = 10,
                          .band_start = 0.5,
                          .band_name = "epoch"};
    const plot_series *panels[1] = {&s};
    const int n[1] = {1};
    cairo_surface_t *img = draw("bands.png", 1000, 400, 1, &ax, panels, n);
    /* plot area x 70..980: iterations 1..30, so band 2 (10.5..20.5) is x 383..697 */
    const double shade[3] = {0.93, 0.93, 0.96};
    ck_assert(near(pixel(img, 540, 150), shade));
    ck_assert_uint_eq(pixel(img, 200, 150), 0xFFFFFF);
    ck_assert_uint_eq(pixel(img, 850, 150), 0xFFFFFF);
    cairo_surface_destroy(img);
}
END_TEST

/* An error bar of 50 ± 80 (%) on a quantity that lives in 0..100 stops at 100 and at 0: on an
 * axis from 0 to 200 it is white (or a gray grid line) above 100. */
START_TEST(test_error_bars_clipped)
{
    snprintf(dir, sizeof dir, "/tmp/minicnn-test-plot-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const double x[1] = {4}, y[1] = {50}, e[1] = {80};
    plot_series s = {.x = x, .y = y, .err = e, .n = 1, .rgb = {0, 0, 1}, .markers = true};
    const plot_axes ax = {.title = "t",
                          .xlabel = "x",
                          .ylabel = "y",
                          .ymin = 0,
                          .ymax = 200,
                          .clip = true,
                          .clip_lo = 0,
                          .clip_hi = 100};
    const plot_series *panels[1] = {&s};
    const int n[1] = {1};
    cairo_surface_t *img = draw("clip.png", 600, 400, 1, &ax, panels, n);
    /* plot area y 44..345 for 200..0; one point: drawn at the middle, x = 70 + 510 / 2 */
    const double top = 44 + 301 * (200.0 - 100) / 200, bottom = 345;
    for (int row = 46; row < (int)top - 2; row++)
        ck_assert_msg((pixel(img, 325, row) & 0xFF) == pixel(img, 325, row) >> 16, /* gray */
                      "row %d: %06x", row, pixel(img, 325, row));
    for (int row = (int)top + 3; row < (int)bottom - 2; row++)
        ck_assert_msg((pixel(img, 325, row) & 0xFF) > 0xC0 && pixel(img, 325, row) >> 16 < 0x80,
                      "row %d: %06x", row, pixel(img, 325, row));
    cairo_surface_destroy(img);
}
END_TEST

/* An image grid: each value a scale x scale block of its colour on the stated scale. */
START_TEST(test_image_grid)
{
    snprintf(dir, sizeof dir, "/tmp/minicnn-test-plot-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const float v[2 * 2 * 2] = {1, -1, 0, 0.5f, -0.5f, 0, 0, 1};
    const plot_image im = {.v = v,
                           .n = 2,
                           .h = 2,
                           .w = 2,
                           .cols = 2,
                           .scale = 20,
                           .lo = -1,
                           .hi = 1,
                           .bar_label = "weight"};
    int w, h;
    plot_image_size(&im, &w, &h);
    ck_assert_int_ge(w, 520);
    const plot_axes ax = {.title = "filters\ndetail", .image = &im};
    const plot_series *panels[1] = {NULL};
    const int n[1] = {0};
    cairo_surface_t *img = draw("grid.png", w, h, 1, &ax, panels, n);
    /* image 1 starts at (16, 48 + 16); value (0, 0) = 1 is red, (0, 1) = -1 blue */
    double red[3], blue[3];
    plot_scale_colour(1, -1, 1, red);
    plot_scale_colour(-1, -1, 1, blue);
    ck_assert(near(pixel(img, 16 + 10, 64 + 10), red));
    ck_assert(near(pixel(img, 16 + 30, 64 + 10), blue));
    /* image 2's last value, 1: red; it starts 40 + 10 px to the right */
    ck_assert(near(pixel(img, 16 + 50 + 30, 64 + 30), red));
    /* and its first, -0.5: half way to blue */
    double half[3];
    plot_scale_colour(-0.5, -1, 1, half);
    ck_assert(near(pixel(img, 16 + 50 + 10, 64 + 10), half));
    cairo_surface_destroy(img);
}
END_TEST

static void cleanup(void)
{
    if (dir[0] != '\0') {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
        dir[0] = '\0';
    }
}

static Suite *plot_suite(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, NULL, cleanup);
    tcase_add_test(tc, test_percentiles_by_hand);
    tcase_add_test(tc, test_percentiles_outliers);
    tcase_add_test(tc, test_segment_hits_box);
    tcase_add_test(tc, test_free_box);
    tcase_add_test(tc, test_scale_colour);
    tcase_add_test(tc, test_label_step);
    tcase_add_test(tc, test_legend_hides_no_data);
    tcase_add_test(tc, test_epoch_bands);
    tcase_add_test(tc, test_error_bars_clipped);
    tcase_add_test(tc, test_image_grid);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(plot_suite());
}
