/* minicnn data: tools for data sets. export-png writes an IDX data set as an image folder. */
#include <dirent.h>
#include <errno.h>
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

int cmd_data(int argc, char **argv)
{
    static const char *const tools[2] = {"export-png", "digitdataset"};
    const cli_spec spec = {"data",
                           "TOOL [ARGUMENTS]",
                           "Data set tools:\n"
                           "  export-png  write an IDX data set as a folder of PNG images, one "
                           "sub-folder per class\n"
                           "  digitdataset  write MathWorks' DigitDataset from the MNIST "
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
    const char *tool = NULL;
    int n_args = 0;
    const int prc = cli_parse(&spec, argc < 2 ? argc : 2, argv, &tool, &n_args);
    if (prc >= 0)
        return prc;
    const char *near = cli_nearest(tool, strlen(tool), tools, 2);
    return cli_usage_error(&spec, "unknown tool '%s'%s%s%s; the tools are: export-png, digitdataset", tool,
                           near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
}
