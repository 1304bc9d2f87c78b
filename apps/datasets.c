/* Where the named data sets live. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

char *cli_format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s == NULL) {
        fprintf(stderr, "minicnn: error: out of memory\n");
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void cli_paths_free(cli_paths *paths)
{
    for (int i = 0; i < 4; i++) {
        free(paths->p[i]);
        paths->p[i] = NULL;
    }
}

int cli_paths_set(cli_paths *paths, const char *const given[4])
{
    for (int i = 0; i < 4; i++) {
        free(paths->p[i]);
        paths->p[i] = cli_format("%s", given[i] != NULL ? given[i] : "");
        if (paths->p[i] == NULL) {
            cli_paths_free(paths);
            return 1;
        }
    }
    return 0;
}

int cli_dataset_paths(const char *name, cli_paths *paths)
{
    static const char *const files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    if (strcmp(name, "fashion-mnist") == 0) {
        for (int i = 0; i < 4; i++)
            if ((paths->p[i] = cli_format("%s/%s.gz", FASHION_DIR, files[i])) == NULL) {
                cli_paths_free(paths);
                return 1;
            }
        if (access(paths->p[0], R_OK) != 0) {
            fprintf(stderr,
                    "minicnn: Fashion-MNIST is not installed (%s is missing); install it "
                    "with 'apt-get install dataset-fashion-mnist' (scripts/setup does)\n",
                    paths->p[0]);
            cli_paths_free(paths);
            return 1;
        }
        return 0;
    }
    if (strcmp(name, "mnist") == 0) {
        char *dir = cli_data_path("mnist");
        if (dir == NULL)
            return 1;
        for (int i = 0; i < 4; i++)
            if ((paths->p[i] = cli_format("%s/%s", dir, files[i])) == NULL) {
                cli_paths_free(paths);
                free(dir);
                return 1;
            }
        free(dir);
        if (access(paths->p[3], R_OK) != 0) {
            fprintf(stderr,
                    "minicnn: the MNIST digits are not prepared (%s is missing); run "
                    "data/prepare-mnist (scripts/setup does)\n",
                    paths->p[3]);
            cli_paths_free(paths);
            return 1;
        }
        return 0;
    }
    static const char *const known[2] = {"fashion-mnist", "mnist"};
    const char *near = cli_nearest(name, strlen(name), known, 2);
    fprintf(stderr, "minicnn: unknown data set '%s'", name);
    if (near != NULL)
        fprintf(stderr, " (did you mean '%s'?)", near);
    fprintf(stderr, "; use fashion-mnist or mnist\n");
    return 2;
}

mc_status cli_read_idx(mc_ctx *ctx, const mc_net *net, const char *color, const char *images,
                       const char *labels, const char *what, mc_dataset *out)
{
    const bool convert =
        color != NULL && (strcmp(color, "gray2rgb") == 0 || strcmp(color, "rgb2gray") == 0);
    const mc_data_expect e = mc_data_expect_net(net, convert, what);
    return mc_dataset_read_idx_expect(ctx, images, labels, &e, out);
}
