/* Where the named data sets live. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

int cli_dataset_paths(const char *name, char paths[4][512])
{
    static const char *const files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    if (strcmp(name, "fashion-mnist") == 0) {
        for (int i = 0; i < 4; i++)
            snprintf(paths[i], sizeof paths[i], "%s/%s.gz", FASHION_DIR, files[i]);
        if (access(paths[0], R_OK) != 0) {
            fprintf(stderr, "minicnn: Fashion-MNIST is not installed (%s is missing); install it "
                            "with 'apt-get install dataset-fashion-mnist' (scripts/setup does)\n",
                    paths[0]);
            return 1;
        }
        return 0;
    }
    if (strcmp(name, "mnist") == 0) {
        char dir[400];
        cli_data_path("mnist", dir, sizeof dir);
        for (int i = 0; i < 4; i++)
            snprintf(paths[i], sizeof paths[i], "%s/%s", dir, files[i]);
        if (access(paths[3], R_OK) != 0) {
            fprintf(stderr, "minicnn: the MNIST digits are not prepared (%s is missing); run "
                            "data/prepare-mnist (scripts/setup does)\n",
                    paths[3]);
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "minicnn: unknown data set '%s'; use fashion-mnist or mnist\n", name);
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
