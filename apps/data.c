/* SPDX-License-Identifier: MIT */
/* minicnn data: tools for data sets. export-png writes an IDX data set as an image folder;
 * preview-augmented draws what an imageDataAugmenter makes of some of its images. */
#include <cairo.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"
#include "script_cli.h"

/* 0 when dir is missing or empty, 1 when it holds something, -1 (after printing why) when it
 * cannot be read or is not a folder. */
static int holds_files(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "minicnn: error: cannot read '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "minicnn: error: '%s' exists and is not a folder\n", dir);
        return -1;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "minicnn: error: cannot open the folder '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL)
        found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return found;
}

/* mkdir that accepts an existing folder. */
static mc_status make_dir(mc_ctx *ctx, const char *dir)
{
    if (mkdir(dir, 0777) == 0 || (errno == EEXIST && cli_is_directory(dir)))
        return MC_OK;
    return mc_ctx_fail(ctx, MC_ERR_IO, "cannot create the folder '%s': %s", dir,
                       errno == EEXIST ? "a file of that name exists" : strerror(errno));
}

/* Writes one part: OUTDIR/<part>/<label>/<index>.png, the index zero-padded so that the files'
 * name order is the data set's order. */
/* The 8-bit PNG values of an IDX file's images, as MATLAB's imwrite takes them: integers must
 * be 0 to 255 and are written as they are; floating-point values must be in [0, 1] and are
 * scaled by 255. Anything else is refused, rather than clamped into black or white PNGs. */
static mc_status png_scale(mc_ctx *ctx, const char *images, const mc_dataset *ds, float *scale)
{
    mc_idx head;
    mc_status st = mc_idx_read_header(ctx, images, &head);
    if (st != MC_OK)
        return st;
    const size_t n = mc_shape_numel(&ds->shape);
    float lo = ds->x[0], hi = ds->x[0];
    size_t at_lo = 0, at_hi = 0;
    for (size_t i = 1; i < n; i++) {
        if (ds->x[i] < lo) {
            lo = ds->x[i];
            at_lo = i;
        }
        if (ds->x[i] > hi) {
            hi = ds->x[i];
            at_hi = i;
        }
    }
    const bool real = head.type == 0x0D || head.type == 0x0E;
    const float top = real ? 1.0f : 255.0f;
    *scale = real ? 255.0f : 1.0f;
    if (lo >= 0 && hi <= top)
        return MC_OK;
    const size_t at = lo < 0 ? at_lo : at_hi;
    return mc_ctx_fail(ctx, MC_ERR_INVALID,
                       "%s: %s images hold values from %g to %g (value %zu is %g), which an "
                       "8-bit PNG cannot show; export-png takes integers from 0 to 255, written "
                       "as they are, or floating-point values from 0 to 1, scaled by 255 (as "
                       "MATLAB's imwrite); rescale the data first",
                       images, real ? "floating-point" : "integer", (double)lo, (double)hi, at + 1,
                       (double)ds->x[at]);
}

static mc_status export_part(mc_ctx *ctx, const char *images, const char *labels,
                             const char *outdir, const char *part, int *n_out, int *k_out)
{
    mc_dataset ds;
    mc_status st = mc_dataset_read_idx(ctx, images, labels, &ds);
    if (st != MC_OK)
        return st;
    const int N = ds.shape.dims[0], C = ds.shape.dims[1], H = ds.shape.dims[2];
    const int W = ds.shape.dims[3];
    if (C != 1 && C != 3)
        st = mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s: %d-channel images cannot be PNGs (1 or 3)",
                         images, C);
    float scale = 1.0f;
    if (st == MC_OK)
        st = png_scale(ctx, images, &ds, &scale);
    const size_t total = mc_shape_numel(&ds.shape);
    for (size_t i = 0; st == MC_OK && scale != 1.0f && i < total; i++)
        ds.x[i] *= scale;
    char *dir = NULL, *file = NULL;
    if (st == MC_OK)
        st = make_dir(ctx, outdir); /* once the data has been read */
    if (st == MC_OK && (dir = cli_format("%s/%s", outdir, part)) == NULL)
        st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
    if (st == MC_OK)
        st = make_dir(ctx, dir);
    /* a folder only for the labels that occur: an empty class folder is not an image folder */
    bool seen[256] = {false};
    for (int i = 0; i < N; i++)
        seen[ds.labels[i]] = true;
    int classes = 0;
    for (int k = 0; st == MC_OK && k < ds.num_classes; k++) {
        if (!seen[k])
            continue;
        classes++;
        free(file);
        file = cli_format("%s/%d", dir, k);
        st = file != NULL ? make_dir(ctx, file) : mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
    }
    int digits = 1;
    for (int m = N - 1; m >= 10; m /= 10)
        digits++;
    const size_t per = (size_t)C * H * W;
    for (int i = 0; st == MC_OK && i < N; i++) {
        free(file);
        file = cli_format("%s/%d/%0*d.png", dir, ds.labels[i], digits < 10 ? digits : 10, i);
        if (file == NULL)
            st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
        else
            st = mc_png_write(ctx, file, ds.x + (size_t)i * per, C, H, W);
    }
    free(dir);
    free(file);
    *n_out = N;
    *k_out = classes;
    mc_dataset_release(ctx, &ds);
    return st;
}

static int export_png(int argc, char **argv)
{
    const char *data = NULL, *outdir = NULL;
    const char *idx[4] = {NULL, NULL, NULL, NULL};
    int force = 0;
    const cli_opt opts[] = {
        {"data", CLI_STRING, &data, "NAME", "fashion-mnist (default) or mnist", 0, 0, 0},
        {"train-images", CLI_STRING, &idx[0], "FILE", "IDX file of training images", 0, 0, 0},
        {"train-labels", CLI_STRING, &idx[1], "FILE", "IDX file of training labels", 0, 0, 0},
        {"test-images", CLI_STRING, &idx[2], "FILE", "IDX file of test images", 0, 0, 0},
        {"test-labels", CLI_STRING, &idx[3], "FILE", "IDX file of test labels", 0, 0, 0},
        {"force", CLI_SWITCH, &force, NULL,
         "write into a folder that is not empty (files of the same names are replaced)", 0, 0, 0},
    };
    const cli_spec spec = {"data export-png",
                           "[FLAGS] OUTDIR",
                           "Writes an IDX data set as an image folder: "
                           "OUTDIR/train/<label>/<index>.png and\n"
                           "OUTDIR/test/<label>/<index>.png. The data is a named data set, or "
                           "IDX pairs of\nfiles for the training part, the test part or both.",
                           opts,
                           (int)(sizeof opts / sizeof opts[0]),
                           1,
                           1};
    int n_args = 0;
    const int prc = cli_parse(&spec, argc, argv, &outdir, &n_args);
    if (prc >= 0)
        return prc;
    const bool any_idx = idx[0] || idx[1] || idx[2] || idx[3];
    if (data != NULL && any_idx)
        return cli_usage_error(&spec, "give --data or IDX files, not both");
    if ((idx[0] == NULL) != (idx[1] == NULL) || (idx[2] == NULL) != (idx[3] == NULL))
        return cli_usage_error(&spec, "give IDX images and labels in pairs: --train-images with "
                                      "--train-labels, --test-images with --test-labels");
    cli_paths paths = {{NULL, NULL, NULL, NULL}};
    if (any_idx) {
        if (cli_paths_set(&paths, idx) != 0)
            return 1;
    } else {
        int rc = cli_dataset_paths(data != NULL ? data : "fashion-mnist", &paths);
        if (rc != 0)
            return rc;
    }
    const int full = holds_files(outdir);
    if (full < 0) {
        cli_paths_free(&paths);
        return 1;
    }
    if (full && !force) {
        fprintf(stderr,
                "minicnn: error: '%s' exists and is not empty; choose a new folder, or add "
                "--force to write into it (files of the same names are replaced)\n",
                outdir);
        cli_paths_free(&paths);
        return 1;
    }
    mc_ctx *ctx = cli_ctx(1);
    if (ctx == NULL) {
        cli_paths_free(&paths);
        return 1;
    }
    mc_status st = MC_OK;
    static const char *const parts[2] = {"train", "test"};
    for (int p = 0; p < 2 && st == MC_OK; p++) {
        if (paths.p[2 * p][0] == '\0')
            continue;
        int n = 0, k = 0;
        st = export_part(ctx, paths.p[2 * p], paths.p[2 * p + 1], outdir, parts[p], &n, &k);
        if (st == MC_OK)
            printf("Wrote %d %s images in %d class folders to %s/%s\n", n, parts[p], k, outdir,
                   parts[p]);
    }
    int rc = st == MC_OK ? 0 : cli_fail(ctx, st);
    cli_paths_free(&paths);
    mc_ctx_destroy(ctx);
    return rc;
}

/* ---- preview-augmented --------------------------------------------------------------------- */

static void text_at(cairo_t *cr, double x, double y, const char *s, double align_x)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - align_x * e.width - e.x_bearing, y);
    cairo_show_text(cr, s);
}

/* One image (C, H, W) as a cell of `scale` pixels per pixel at (x0, y0); values mapped from
 * [lo, hi] to black..white (3 channels as RGB, otherwise the first channel). */
static void draw_image(cairo_t *cr, const float *img, int C, int H, int W, double lo, double hi,
                       double x0, double y0, double scale)
{
    const size_t plane = (size_t)H * W;
    for (int h = 0; h < H; h++)
        for (int w = 0; w < W; w++) {
            double rgb[3];
            for (int k = 0; k < 3; k++) {
                const float v = img[(C == 3 ? (size_t)k * plane : 0) + (size_t)h * W + w];
                const double t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
                rgb[k] = t < 0 ? 0 : t > 1 ? 1 : t;
            }
            cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
            cairo_rectangle(cr, x0 + w * scale, y0 + h * scale, scale, scale);
            cairo_fill(cr);
        }
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x0 - 0.5, y0 - 0.5, W * scale + 1, H * scale + 1);
    cairo_stroke(cr);
}

/* The grid: row r is observation index[r], column 0 the original, column c its augmentation
 * in epoch c (what training gives it then). Written through a temporary file and a rename. */
static mc_status draw_preview(mc_ctx *ctx, const char *path, const mc_augmenter *aug,
                              const mc_dataset *ds, const int *index, int rows, int cols)
{
    const int C = ds->shape.dims[1], H = ds->shape.dims[2], W = ds->shape.dims[3];
    const size_t per = (size_t)C * H * W;
    /* the value range of the originals shown, so that the fill value shows as it is */
    double lo = 0, hi = 0;
    for (int r = 0; r < rows; r++)
        for (size_t i = 0; i < per; i++) {
            const double v = ds->x[(size_t)index[r] * per + i];
            lo = r == 0 && i == 0 ? v : fmin(lo, v);
            hi = r == 0 && i == 0 ? v : fmax(hi, v);
        }
    const double scale = fmax(1.0, floor(112.0 / (H > W ? H : W)));
    const double cw = W * scale, ch = H * scale, gap = 10, left = 80, top = 96;
    const int width = (int)(left + cols * (cw + gap) + gap);
    const int height = (int)(top + rows * (ch + gap) + 30);
    float *y = malloc(per * sizeof *y);
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    if (y == NULL || cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        free(y);
        cairo_surface_destroy(surface);
        return mc_ctx_fail(ctx, MC_ERR_NOMEM, "cannot draw a %dx%d figure: out of memory", width,
                           height);
    }
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 15);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, gap, 22, "Augmented training images: each row one image, first the original,", 0);
    text_at(cr, gap, 40, "then what each epoch's mini-batch gets", 0);
    /* the options, wrapped at the properties' commas */
    char said[2048];
    mc_augmenter_format(aug, said, sizeof said);
    cairo_select_font_face(cr, "monospace", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    char line[2600] = "";
    double ly = 58;
    for (const char *p = said; *p != '\0';) {
        const char *q = p;
        int quotes = 0;
        while (*q != '\0' && !(*q == ',' && quotes % 2 == 0 && q[1] == '\'' && q > p))
            quotes += *q++ == '\'';
        char part[512];
        snprintf(part, sizeof part, "%.*s", (int)(q - p), p);
        char trial[2600];
        snprintf(trial, sizeof trial, "%.2000s%s", line, part);
        cairo_text_extents_t e;
        cairo_text_extents(cr, trial, &e);
        if (e.width > width - 2 * gap && line[0] != '\0') {
            /* the comma ends the line, the next property starts the next one */
            const size_t used = strlen(line);
            if (part[0] == ',' && used + 1 < sizeof line)
                memcpy(line + used, ",", 2);
            text_at(cr, gap, ly, line, 0);
            ly += 14;
            snprintf(line, sizeof line, "    %s", part[0] == ',' ? part + 1 : part);
        } else {
            memcpy(line, trial, sizeof line);
        }
        p = q;
    }
    text_at(cr, gap, ly, line, 0);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 12);
    const double grid_top = top + (ly - 58);
    for (int c = 0; c < cols; c++) {
        char head[32];
        if (c == 0)
            snprintf(head, sizeof head, "original");
        else
            snprintf(head, sizeof head, "epoch %d", c);
        cairo_set_source_rgb(cr, c == 0 ? 0 : 0.1, c == 0 ? 0 : 0.3, c == 0 ? 0 : 0.6);
        text_at(cr, left + c * (cw + gap) + cw / 2, grid_top - 8, head, 0.5);
    }
    for (int r = 0; r < rows; r++) {
        const double y0 = grid_top + r * (ch + gap);
        char name[48];
        snprintf(name, sizeof name, "#%d", index[r] + 1);
        char label[48];
        snprintf(label, sizeof label, "label %d", ds->labels[index[r]]);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, left - 10, y0 + ch / 2 - 2, name, 1.0);
        text_at(cr, left - 10, y0 + ch / 2 + 14, label, 1.0);
        const float *x = ds->x + (size_t)index[r] * per;
        for (int c = 0; c < cols; c++) {
            if (c > 0)
                mc_augmenter_apply(aug, c, (size_t)index[r], x, y, C, H, W);
            draw_image(cr, c == 0 ? x : y, C, H, W, lo, hi, left + c * (cw + gap), y0, scale);
        }
        if (r == 0) { /* a rule between the originals and the augmented images */
            cairo_set_source_rgb(cr, 0.1, 0.3, 0.6);
            cairo_set_line_width(cr, 2);
            const double xr = left + cw + gap / 2;
            cairo_move_to(cr, xr, grid_top - 4);
            cairo_line_to(cr, xr, grid_top + rows * (ch + gap) - gap);
            cairo_stroke(cr);
        }
    }
    free(y);
    cairo_status_t cs = cairo_status(cr);
    cairo_destroy(cr);
    char *tmp = cli_format("%s.tmp.%ld", path, (long)getpid());
    if (tmp == NULL) {
        cairo_surface_destroy(surface);
        return mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
    }
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_write_to_png(surface, tmp);
    cairo_surface_destroy(surface);
    mc_status st = MC_OK;
    if (cs != CAIRO_STATUS_SUCCESS)
        st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot write '%s': %s", path, cairo_status_to_string(cs));
    else if (rename(tmp, path) != 0)
        st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    if (st != MC_OK)
        unlink(tmp);
    free(tmp);
    return st;
}

static int preview_augmented(int argc, char **argv)
{
    const char *data = NULL, *images = NULL, *labels = NULL, *expr = NULL, *out = NULL;
    int rows = 4, cols = 6;
    uint64_t seed = 1;
    const cli_opt opts[] = {
        {"augmenter", CLI_STRING, &expr, "EXPR", "\"imageDataAugmenter(...)\" (required)", 0, 0, 0},
        {"data", CLI_STRING, &data, "NAME", "fashion-mnist (default) or mnist: its training images",
         0, 0, 0},
        {"images", CLI_STRING, &images, "FILE", "IDX file of images instead", 0, 0, 0},
        {"labels", CLI_STRING, &labels, "FILE", "IDX file of their labels", 0, 0, 0},
        {"rows", CLI_INT, &rows, "N", "images, one per row, of different labels (4)", 1, 20, 0},
        {"columns", CLI_INT, &cols, "N", "the original and N-1 epochs' augmentations (6)", 2, 20,
         0},
        {"seed", CLI_UINT64, &seed, "S", "the seed, as minicnn train --seed (1)", 0, 0, 0},
        {"out", CLI_STRING, &out, "FILE.png", "the figure to write (required)", 0, 0, 0},
    };
    const cli_spec spec = {"data preview-augmented",
                           "[FLAGS]",
                           "Draws a grid of augmented training images: each row one image, first "
                           "the original,\nthen the augmentations that minicnn train --augmenter "
                           "gives it in epochs 1, 2, ...",
                           opts,
                           (int)(sizeof opts / sizeof opts[0]),
                           0,
                           0};
    const int prc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (prc >= 0)
        return prc;
    if (expr == NULL || out == NULL)
        return cli_usage_error(&spec, "give --augmenter \"imageDataAugmenter(...)\" and --out "
                                      "FILE.png");
    if ((images == NULL) != (labels == NULL) || (images != NULL && data != NULL))
        return cli_usage_error(&spec, "give --images with --labels, or --data, not both");
    cli_paths paths = {{NULL, NULL, NULL, NULL}};
    if (images != NULL) {
        const char *given[4] = {images, labels, NULL, NULL};
        if (cli_paths_set(&paths, given) != 0)
            return 1;
    } else {
        const int rc = cli_dataset_paths(data != NULL ? data : "fashion-mnist", &paths);
        if (rc != 0)
            return rc;
    }
    mc_ctx *ctx = cli_ctx(seed);
    if (ctx == NULL) {
        cli_paths_free(&paths);
        return 1;
    }
    mc_augmenter *aug = NULL;
    mc_dataset ds;
    memset(&ds, 0, sizeof ds);
    mc_status st = mc_augmenter_parse(ctx, expr, &aug);
    if (st == MC_OK) {
        mc_augmenter_set_seed(aug, seed);
        st = mc_dataset_read_idx(ctx, paths.p[0], paths.p[1], &ds);
    }
    if (st == MC_OK)
        st = mc_augmenter_check(ctx, aug, ds.shape.dims[1], ds.shape.dims[2], ds.shape.dims[3]);
    /* the first image of each of the first labels met, then any to fill the rows */
    int index[20], found = 0;
    for (int i = 0; st == MC_OK && i < ds.shape.dims[0] && found < rows; i++) {
        bool seen = false;
        for (int k = 0; k < found; k++)
            seen |= ds.labels[index[k]] == ds.labels[i];
        if (!seen)
            index[found++] = i;
    }
    for (int i = 0; st == MC_OK && found < rows && i < ds.shape.dims[0]; i++) {
        bool used = false;
        for (int k = 0; k < found; k++)
            used |= index[k] == i;
        if (!used)
            index[found++] = i;
    }
    if (st == MC_OK)
        st = draw_preview(ctx, out, aug, &ds, index, found, cols);
    if (st == MC_OK)
        printf("Wrote %s: %d images, the original and %d augmentations each\n", out, found,
               cols - 1);
    const int rc = st == MC_OK ? 0 : cli_fail(ctx, st);
    mc_augmenter_destroy(aug);
    mc_dataset_release(ctx, &ds);
    cli_paths_free(&paths);
    mc_ctx_destroy(ctx);
    return rc;
}

int cmd_data(int argc, char **argv)
{
    static const char *const tools[3] = {"export-png", "preview-augmented", "digitdataset"};
    const cli_spec spec = {"data",
                           "TOOL [ARGUMENTS]",
                           "Data set tools:\n"
                           "  export-png         write an IDX data set as a folder of PNG images, "
                           "one sub-folder\n"
                           "                     per class\n"
                           "  preview-augmented  draw a grid of images augmented by an "
                           "imageDataAugmenter\n"
                           "  digitdataset       write MathWorks' DigitDataset from the MNIST "
                           "digits, for minicnn run\n"
                           "'minicnn data TOOL --help' shows a tool's arguments.",
                           NULL,
                           0,
                           1,
                           1};
    if (argc >= 2 && strcmp(argv[1], "export-png") == 0)
        return export_png(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "digitdataset") == 0)
        return cmd_data_digitdataset(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "preview-augmented") == 0)
        return preview_augmented(argc - 1, argv + 1);
    const char *tool = NULL;
    int n_args = 0;
    const int prc = cli_parse(&spec, argc < 2 ? argc : 2, argv, &tool, &n_args);
    if (prc >= 0)
        return prc;
    const char *near = cli_nearest(tool, strlen(tool), tools, 3);
    return cli_usage_error(&spec,
                           "unknown tool '%s'%s%s%s; the tools are: export-png, "
                           "preview-augmented, digitdataset",
                           tool, near ? " (did you mean '" : "", near ? near : "",
                           near ? "'?)" : "");
}
