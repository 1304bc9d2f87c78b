/* minicnn data: tools for data sets. export-png writes an IDX data set as an image folder. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char *const export_usage =
    "minicnn data export-png [--data fashion-mnist|mnist | --train-images F --train-labels F "
    "and/or --test-images F --test-labels F] [--force] OUTDIR\n"
    "  writes OUTDIR/train/<label>/<index>.png and OUTDIR/test/<label>/<index>.png";

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
                       images, real ? "floating-point" : "integer", (double)lo, (double)hi,
                       at + 1, (double)ds->x[at]);
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
    char dir[4096], file[4200];
    if (st == MC_OK)
        st = make_dir(ctx, outdir); /* once the data has been read */
    if (st == MC_OK && snprintf(dir, sizeof dir, "%s/%s", outdir, part) >= (int)sizeof dir)
        st = mc_ctx_fail(ctx, MC_ERR_INVALID, "the folder name '%s' is too long", outdir);
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
        snprintf(file, sizeof file, "%s/%d", dir, k);
        st = make_dir(ctx, file);
    }
    int digits = 1;
    for (int m = N - 1; m >= 10; m /= 10)
        digits++;
    const size_t per = (size_t)C * H * W;
    for (int i = 0; st == MC_OK && i < N; i++) {
        if (snprintf(file, sizeof file, "%s/%d/%0*d.png", dir, ds.labels[i],
                     digits < 10 ? digits : 10, i) >= (int)sizeof file)
            st = mc_ctx_fail(ctx, MC_ERR_INVALID, "the folder name '%s' is too long", outdir);
        else
            st = mc_png_write(ctx, file, ds.x + (size_t)i * per, C, H, W);
    }
    *n_out = N;
    *k_out = classes;
    mc_dataset_release(ctx, &ds);
    return st;
}

static int export_png(int argc, char **argv)
{
    const char *data = NULL, *outdir = NULL;
    const char *idx[4] = {NULL, NULL, NULL, NULL};
    static const char *const idx_flags[4] = {"--train-images", "--train-labels", "--test-images",
                                             "--test-labels"};
    bool force = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int k = 0;
        while (k < 4 && strcmp(arg, idx_flags[k]) != 0)
            k++;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            printf("usage: %s\n", export_usage);
            return 0;
        } else if (strcmp(arg, "--force") == 0) {
            force = true;
        } else if ((strcmp(arg, "--data") == 0 || k < 4) && i + 1 < argc) {
            if (k < 4)
                idx[k] = argv[++i];
            else
                data = argv[++i];
        } else if (arg[0] != '-' && outdir == NULL) {
            outdir = arg;
        } else {
            fprintf(stderr, "minicnn data export-png: unexpected argument '%s'\n", arg);
            return cli_usage(export_usage);
        }
    }
    const bool any_idx = idx[0] || idx[1] || idx[2] || idx[3];
    if (outdir == NULL || (data != NULL && any_idx) ||
        (any_idx && ((idx[0] == NULL) != (idx[1] == NULL) || (idx[2] == NULL) != (idx[3] == NULL))))
        return cli_usage(export_usage);
    char paths[4][512];
    if (any_idx) {
        for (int i = 0; i < 4; i++)
            snprintf(paths[i], sizeof paths[i], "%s", idx[i] != NULL ? idx[i] : "");
    } else {
        int rc = cli_dataset_paths(data != NULL ? data : "fashion-mnist", paths);
        if (rc != 0)
            return rc;
    }
    const int full = holds_files(outdir);
    if (full < 0)
        return 1;
    if (full && !force) {
        fprintf(stderr,
                "minicnn: error: '%s' exists and is not empty; choose a new folder, or add "
                "--force to write into it (files of the same names are replaced)\n",
                outdir);
        return 1;
    }
    mc_ctx *ctx = cli_ctx(1);
    if (ctx == NULL)
        return 1;
    mc_status st = MC_OK;
    static const char *const parts[2] = {"train", "test"};
    for (int p = 0; p < 2 && st == MC_OK; p++) {
        if (paths[2 * p][0] == '\0')
            continue;
        int n = 0, k = 0;
        st = export_part(ctx, paths[2 * p], paths[2 * p + 1], outdir, parts[p], &n, &k);
        if (st == MC_OK)
            printf("Wrote %d %s images in %d class folders to %s/%s\n", n, parts[p], k, outdir,
                   parts[p]);
    }
    int rc = st == MC_OK ? 0 : cli_fail(ctx, st);
    mc_ctx_destroy(ctx);
    return rc;
}

int cmd_data(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "export-png") == 0)
        return export_png(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: minicnn data export-png ...\n\n  export-png  write an IDX data set as "
               "a folder of PNG images, one sub-folder per class\n\n%s\n",
               export_usage);
        return 0;
    }
    if (argc >= 2)
        fprintf(stderr, "minicnn data: unknown tool '%s'\n", argv[1]);
    return cli_usage(export_usage);
}
