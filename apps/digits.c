/* SPDX-License-Identifier: MIT */
/* minicnn data digitdataset: a DigitDataset-shaped folder (MathWorks' nndatasets/DigitDataset:
 * class folders 0..9 of 28x28 grayscale PNG digits, 1000 per class) made from the real MNIST
 * digits, where `matlabroot` finds it. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "digitarrays.h"
#include "options.h"
#include "script_cli.h"

/* The folder of the running executable, on the heap; NULL if unknown. */
static char *exe_dir(void)
{
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash == NULL)
        return NULL;
    *slash = '\0';
    return cli_format("%s", buf);
}

char *cli_matlabroot(void)
{
    const char *env = getenv("MINICNN_MATLABROOT");
    if (env != NULL && env[0] != '\0')
        return cli_format("%s", env);
    char *dir = exe_dir();
    if (dir == NULL)
        return cli_format("matlabroot");
    char *build = cli_format("%s/matlabroot", dir);
    char *installed = cli_format("%s/../share/minicnn/matlabroot", dir);
    free(dir);
    if (build == NULL || installed == NULL) {
        free(build);
        free(installed);
        return NULL;
    }
    if (!cli_is_directory(build) && cli_is_directory(installed)) {
        free(build);
        return installed;
    }
    free(installed);
    return build;
}

/* mkdir -p */
static mc_status make_dirs(mc_ctx *ctx, const char *path)
{
    char *p = cli_format("%s", path);
    if (p == NULL)
        return mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
    for (char *s = p + 1;; s++) {
        const bool end = *s == '\0';
        if (*s == '/' || end) {
            *s = '\0';
            if (mkdir(p, 0777) != 0 && !(errno == EEXIST && cli_is_directory(p))) {
                mc_status st =
                    mc_ctx_fail(ctx, MC_ERR_IO, "cannot create the folder '%s': %s", p,
                                errno == EEXIST ? "a file of that name exists" : strerror(errno));
                free(p);
                return st;
            }
            if (end)
                break;
            *s = '/';
        }
    }
    free(p);
    return MC_OK;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Whether dir holds the ten class folders (the folder is renamed into place whole: it is
 * complete when it is there). */
static bool complete(const char *dir)
{
    for (int d = 0; d < 10; d++) {
        char *p = cli_format("%s/%d/image%d.png", dir, d, d * 1000 + 1);
        const bool ok = p != NULL && access(p, F_OK) == 0;
        free(p);
        if (!ok)
            return false;
    }
    return true;
}

/* Whether both MAT-files of the 4-D digit arrays are in dir. */
static bool arrays_there(const char *dir)
{
    bool ok = true;
    const char *const names[2] = {CLI_DIGITS_TRAIN_FILE, CLI_DIGITS_TEST_FILE};
    for (int k = 0; k < 2; k++) {
        char *p = cli_format("%s/%s", dir, names[k]);
        ok = ok && p != NULL && access(p, F_OK) == 0;
        free(p);
    }
    return ok;
}

int cmd_data_digitdataset(int argc, char **argv)
{
    const char *out = NULL, *images = NULL, *labels = NULL;
    char *img2 = NULL, *lab2 = NULL;
    int per = 0, force = 0;
    const cli_opt opts[] = {
        {"out", CLI_STRING, &out, "DIR",
         "the DigitDataset folder (default MATLABROOT/" CLI_DIGITDATASET_PATH ")", 0, 0, 0},
        {"per-class", CLI_INT, &per, "N",
         "images per digit (MathWorks' 1000, or as many as every digit has)", 1, 1000, 0},
        {"images", CLI_STRING, &images, "FILE", "IDX images (default: data/mnist, both parts)", 0,
         0, 0},
        {"labels", CLI_STRING, &labels, "FILE", "IDX labels (default: data/mnist, both parts)", 0,
         0, 0},
        {"force", CLI_SWITCH, &force, NULL, "write it again when it is already there", 0, 0, 0},
    };
    const cli_spec spec = {
        "data digitdataset",
        "[FLAGS]",
        "Writes MathWorks' DigitDataset from the real MNIST digits: DIR/0 .. DIR/9 of 28x28\n"
        "grayscale PNG images DIR/D/imageK.png (K from D*1000+1), the first N of each digit of\n"
        "data/mnist's 10,000 digits (training part first; N: as many as every digit has, at most\n"
        "MathWorks' 1000), where minicnn run's matlabroot finds it, so that MathWorks' examples'\n"
        "fullfile(matlabroot,'toolbox','nnet','nndemos','nndatasets','DigitDataset') works.",
        opts,
        (int)(sizeof opts / sizeof opts[0]),
        0,
        0};
    const int prc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (prc >= 0)
        return prc;
    if ((images == NULL) != (labels == NULL))
        return cli_usage_error(&spec, "give --images and --labels together");
    char *nndatasets = NULL, *root = NULL, *dir = NULL, *img = NULL, *lab = NULL, *tmp = NULL,
         *old = NULL;
    int rc = 1;
    if (out == NULL) {
        if ((root = cli_matlabroot()) == NULL ||
            (dir = cli_format("%s/%s", root, CLI_DIGITDATASET_PATH)) == NULL)
            goto done;
    } else if ((dir = cli_format("%s", out)) == NULL) {
        goto done;
    }
    if (images == NULL) {
        if ((img = cli_data_path("mnist/train-images-idx3-ubyte")) == NULL ||
            (lab = cli_data_path("mnist/train-labels-idx1-ubyte")) == NULL ||
            (img2 = cli_data_path("mnist/t10k-images-idx3-ubyte")) == NULL ||
            (lab2 = cli_data_path("mnist/t10k-labels-idx1-ubyte")) == NULL)
            goto done;
    } else if ((img = cli_format("%s", images)) == NULL ||
               (lab = cli_format("%s", labels)) == NULL) {
        goto done;
    }
    /* the MAT-files of digitTrain4DArrayData and digitTest4DArrayData go next to the folder */
    if ((nndatasets = cli_format("%s", dir)) == NULL)
        goto done;
    char *cut = strrchr(nndatasets, '/');
    if (cut != NULL)
        cut[cut == nndatasets] = '\0';
    else
        strcpy(nndatasets, ".");
    const bool folder = force || !complete(dir), arrays = force || !arrays_there(nndatasets);
    if (!folder && !arrays) {
        printf("DigitDataset is already there: %s (--force writes it again)\n", dir);
        rc = 0;
        goto done;
    }
    mc_ctx *ctx = cli_ctx(1);
    if (ctx == NULL)
        goto done;
    mc_dataset parts[2];
    memset(parts, 0, sizeof parts);
    const int n_parts = img2 != NULL ? 2 : 1;
    mc_status st = MC_OK;
    int count[10] = {0};
    for (int p = 0; st == MC_OK && p < n_parts; p++) {
        const char *pi = p == 0 ? img : img2, *pl = p == 0 ? lab : lab2;
        mc_dataset *ds = &parts[p];
        st = mc_dataset_read_idx(ctx, pi, pl, ds);
        if (st == MC_OK && (ds->shape.ndim != 4 || ds->shape.dims[1] != 1 ||
                            ds->shape.dims[2] != 28 || ds->shape.dims[3] != 28))
            st = mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s: expected 28x28 gray digits (MNIST)", pi);
        for (int i = 0; st == MC_OK && i < ds->shape.dims[0]; i++)
            if (ds->labels[i] >= 0 && ds->labels[i] < 10)
                count[ds->labels[i]]++;
    }
    int fewest = 1000;
    for (int d = 0; d < 10; d++)
        fewest = count[d] < fewest ? count[d] : fewest;
    const bool given = per > 0;
    if (!given)
        per = fewest;
    for (int d = 0; st == MC_OK && d < 10; d++)
        if (count[d] < per || count[d] == 0)
            st = mc_ctx_fail(ctx, MC_ERR_INVALID,
                             "%s%s has %d images of the digit %d, fewer than --per-class %d", img,
                             n_parts == 2 ? " with its test part" : "", count[d], d, per);
    /* written into a new folder next to it, then renamed into place: never half a data set */
    if (st == MC_OK && folder &&
        ((tmp = cli_format("%s.tmp.%ld", dir, (long)getpid())) == NULL ||
         (old = cli_format("%s.old.%ld", dir, (long)getpid())) == NULL))
        st = mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
    for (int d = 0; st == MC_OK && folder && d < 10; d++) {
        char *sub = cli_format("%s/%d", tmp, d);
        st = sub != NULL ? make_dirs(ctx, sub) : mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
        free(sub);
    }
    int written[10] = {0};
    const size_t per_image = 28 * 28;
    for (int p = 0; folder && p < n_parts; p++)
        for (int i = 0; st == MC_OK && i < parts[p].shape.dims[0]; i++) {
            const int d = parts[p].labels[i];
            if (d < 0 || d >= 10 || written[d] >= per)
                continue;
            written[d]++;
            char *path = cli_format("%s/%d/image%d.png", tmp, d, d * 1000 + written[d]);
            st = path != NULL
                     ? mc_png_write(ctx, path, parts[p].x + (size_t)i * per_image, 1, 28, 28)
                     : mc_ctx_fail(ctx, MC_ERR_NOMEM, "out of memory");
            free(path);
        }
    if (st == MC_OK && folder) {
        char *parent = cli_format("%s", dir);
        char *slash = parent != NULL ? strrchr(parent, '/') : NULL;
        if (slash != NULL && slash != parent) {
            *slash = '\0';
            st = make_dirs(ctx, parent);
        }
        free(parent);
    }
    if (st == MC_OK && folder) {
        const bool had = cli_is_directory(dir);
        if (had && rename(dir, old) != 0)
            st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot move the old '%s' aside: %s", dir,
                             strerror(errno));
        else if (rename(tmp, dir) != 0)
            st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, dir,
                             strerror(errno));
        if (st == MC_OK && had)
            nftw(old, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (st != MC_OK && tmp != NULL && cli_is_directory(tmp))
        nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    int files = 0;
    if (st == MC_OK)
        st = cli_write_digit_arrays(ctx, nndatasets, parts, n_parts, force, &files);
    if (st == MC_OK) {
        if (folder)
            printf("Wrote DigitDataset: 10 class folders of %d 28x28 PNG digits (from %s%s) to "
                   "%s\n",
                   per, img, n_parts == 2 ? " and its test part" : "", dir);
        if (files > 0)
            printf("Wrote the digits of digitTrain4DArrayData and digitTest4DArrayData (5,000 "
                   "turned digits each) to %s/%s and %s\n",
                   nndatasets, CLI_DIGITS_TRAIN_FILE, CLI_DIGITS_TEST_FILE);
        rc = 0;
    } else {
        rc = cli_fail(ctx, st);
    }
    mc_dataset_release(ctx, &parts[0]);
    mc_dataset_release(ctx, &parts[1]);
    mc_ctx_destroy(ctx);
done:
    free(nndatasets);
    free(root);
    free(dir);
    free(img);
    free(lab);
    free(img2);
    free(lab2);
    free(tmp);
    free(old);
    return rc;
}
