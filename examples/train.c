/* SPDX-License-Identifier: MIT */
/* A minicnn program in C, through the public API only: trains a small network on the first
 * images of an IDX data set (MNIST or Fashion-MNIST), reports its accuracy on test images and
 * saves the trained model.
 *
 *   train TRAIN-IMAGES TRAIN-LABELS TEST-IMAGES TEST-LABELS MODEL [N]
 *
 * N (default 2000) is how many training images to use, one epoch over them. The IDX files may
 * be gzip-compressed (.gz), as Debian's dataset-fashion-mnist ships them.
 * Build: cc train.c $(pkg-config --cflags --libs minicnn) -o train */
#include <stdio.h>
#include <stdlib.h>

#include <minicnn/minicnn.h>

static const char network[] = "layers = [\n"
                              "    imageInputLayer([28 28 1])\n"
                              "    convolution2dLayer(5,8,'Padding','same')\n"
                              "    groupNormalizationLayer(2)\n"
                              "    reluLayer\n"
                              "    maxPooling2dLayer(2,'Stride',2)\n"
                              "    fullyConnectedLayer(10)\n"
                              "    softmaxLayer\n"
                              "    classificationLayer];\n";

/* Prints the context's message for a failed step; returns its exit code. */
static int fail(mc_ctx *ctx, mc_status st, const char *step)
{
    const char *msg = mc_ctx_message(ctx);
    fprintf(stderr, "train: %s: %s\n", step, msg[0] != '\0' ? msg : mc_status_text(st));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: %s TRAIN-IMAGES TRAIN-LABELS TEST-IMAGES TEST-LABELS MODEL [N]\n",
                argv[0]);
        return 2;
    }
    int n = argc == 7 ? atoi(argv[6]) : 2000;
    printf("minicnn %s (headers %s)\n", mc_version(), MC_VERSION_STRING);

    mc_ctx *ctx = NULL;
    if (mc_ctx_create(NULL, 42, &ctx) != MC_OK) {
        fprintf(stderr, "train: out of memory\n");
        return 1;
    }
    mc_dataset train = {0}, test = {0};
    mc_net *net = NULL, *loaded = NULL;
    int rc = 0;
    mc_status st = mc_dataset_read_idx(ctx, argv[1], argv[2], &train);
    if (st != MC_OK) {
        rc = fail(ctx, st, "reading the training data");
        goto done;
    }
    st = mc_dataset_read_idx(ctx, argv[3], argv[4], &test);
    if (st != MC_OK) {
        rc = fail(ctx, st, "reading the test data");
        goto done;
    }
    if (n < 1 || n > train.shape.dims[0])
        n = train.shape.dims[0];
    mc_dataset part = mc_dataset_head(&train, n);
    mc_dataset test_part = mc_dataset_head(&test, n < test.shape.dims[0] ? n : test.shape.dims[0]);

    st = mc_netfile_parse(ctx, network, sizeof network - 1, "example.net", &net, NULL);
    if (st != MC_OK) {
        rc = fail(ctx, st, "building the network");
        goto done;
    }
    mc_train_options o = mc_train_default(MC_SOLVER_ADAM);
    o.max_epochs = 1;
    o.mini_batch_size = 50;
    st = mc_net_assemble(net, o.mini_batch_size);
    if (st == MC_OK) /* the input layer's 'zerocenter' mean, from the training data */
        st = mc_net_fit_input(net, &part, 1000);
    if (st == MC_OK)
        st = mc_train(net, &part, &o, NULL, NULL);
    if (st != MC_OK) {
        rc = fail(ctx, st, "training");
        goto done;
    }
    double accuracy = 0, loss = 0;
    st = mc_evaluate(net, &test_part, &accuracy, &loss);
    if (st != MC_OK) {
        rc = fail(ctx, st, "evaluating");
        goto done;
    }
    printf("trained on %d images: test accuracy %.2f %% (loss %.4f) on %d images\n", n,
           100 * accuracy, loss, test_part.shape.dims[0]);

    st = mc_model_save(net, argv[5]);
    if (st != MC_OK) {
        rc = fail(ctx, st, "saving the model");
        goto done;
    }
    /* The saved model gives the same accuracy. */
    double again = 0;
    st = mc_model_load(ctx, argv[5], 100, &loaded);
    if (st == MC_OK)
        st = mc_evaluate(loaded, &test_part, &again, &loss);
    if (st != MC_OK) {
        rc = fail(ctx, st, "reloading the model");
        goto done;
    }
    printf("saved %s; reloaded: test accuracy %.2f %%\n", argv[5], 100 * again);
    if (again != accuracy) {
        fprintf(stderr, "train: the reloaded model's accuracy differs\n");
        rc = 1;
    }
done:
    mc_net_destroy(loaded);
    mc_net_destroy(net);
    mc_dataset_release(ctx, &test);
    mc_dataset_release(ctx, &train);
    mc_ctx_destroy(ctx);
    return rc;
}
