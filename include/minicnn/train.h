/* SPDX-License-Identifier: MIT */
/* Training: MATLAB's trainNetwork loop with its trainingOptions (R2020b), and evaluation. */
#ifndef MINICNN_TRAIN_H
#define MINICNN_TRAIN_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stdint.h>

#include <minicnn/augment.h>
#include <minicnn/data.h>
#include <minicnn/net.h>
#include <minicnn/optim.h>

typedef enum mc_shuffle {
    MC_SHUFFLE_ONCE = 0, /* once, before training (MATLAB's default) */
    MC_SHUFFLE_NEVER,
    MC_SHUFFLE_EVERY_EPOCH
} mc_shuffle;

typedef enum mc_lr_schedule { MC_SCHEDULE_NONE = 0, MC_SCHEDULE_PIECEWISE } mc_lr_schedule;

/* BatchNormalizationStatistics (R2021a): what batch normalization layers keep as TrainedMean
 * and TrainedVariance when training finishes. */
typedef enum mc_bn_statistics {
    MC_BN_POPULATION = 0, /* 'population' (MATLAB's default): after the last iteration, one more
                           * pass over the whole training set, in training mode as MATLAB's
                           * finalization does (each layer as during training, so a batch
                           * normalization sees earlier ones normalize by their mini-batch), in
                           * chunks of MiniBatchSize observations in data order; each layer's
                           * mean and biased variance of its input over every observation */
    MC_BN_MOVING          /* 'moving': the running averages updated during training */
} mc_bn_statistics;

typedef struct mc_train_options {
    mc_optim_options solver;       /* solver, Momentum, decay factors, Epsilon, L2, thresholds */
    double initial_learn_rate;     /* 0.01 for sgdm, 0.001 for adam and rmsprop */
    int max_epochs;                /* 30 */
    int mini_batch_size;           /* 128; the trailing partial mini-batch is dropped */
    mc_shuffle shuffle;            /* 'once' */
    mc_lr_schedule schedule;       /* 'none'; 'piecewise' multiplies the rate by
                                    * learn_rate_drop_factor every learn_rate_drop_period epochs */
    double learn_rate_drop_factor; /* 0.1, in [0, 1] */
    int learn_rate_drop_period;    /* 10 */
    const mc_dataset *validation;  /* NULL for none */
    int validation_frequency;      /* 50 iterations */
    int validation_patience;       /* 0 for Inf; else stop after this many validations in a row
                                    * whose loss is not below the best so far */
    int verbose_frequency;         /* 50 iterations */
    const char *checkpoint_path;   /* a folder: a checkpoint after every epoch; NULL for none */
    mc_bn_statistics batch_normalization_statistics; /* 'population' */
    const mc_augmenter *augmenter; /* NULL for none; borrowed: each training image is augmented
                                    * afresh each epoch as its mini-batch is gathered (never the
                                    * validation data); checkpoints do not keep it */
} mc_train_options;

/* MATLAB's defaults for the solver. */
mc_train_options mc_train_default(mc_solver solver);

/* "once", "never", "every-epoch" and "none", "piecewise" (case-insensitive). */
mc_status mc_shuffle_parse(mc_ctx *ctx, const char *text, mc_shuffle *out);
const char *mc_shuffle_name(mc_shuffle s);
mc_status mc_schedule_parse(mc_ctx *ctx, const char *text, mc_lr_schedule *out);
const char *mc_schedule_name(mc_lr_schedule s);
/* "population" and "moving" (case-insensitive). */
mc_status mc_bn_statistics_parse(mc_ctx *ctx, const char *text, mc_bn_statistics *out);
const char *mc_bn_statistics_name(mc_bn_statistics s);

/* What the training loop reports to its caller after each iteration. */
typedef struct mc_train_progress {
    int epoch, iteration; /* both from 1 */
    int iterations_per_epoch;
    double seconds;        /* since training started */
    double loss, accuracy; /* of the mini-batch; accuracy in [0, 1] */
    double learn_rate;     /* the base (global) learning rate used */
    bool validated;        /* validation figures were computed at this iteration */
    double validation_loss, validation_accuracy;
    bool verbose_row; /* MATLAB prints a row: iteration 1, every VerboseFrequency, every
                       * validation, the last */
    bool epoch_end;   /* the last iteration of its epoch */
    bool last;        /* the last iteration of training */
} mc_train_progress;

/* Called after every iteration; a non-zero return stops training (MC_OK is returned). */
typedef int (*mc_train_callback)(void *user, const mc_train_progress *p);

/* Computes the input layer's normalization statistics from the data (MATLAB's "Initializing
 * input data normalization."), in batches of up to `batch`. Returns MC_OK, MC_ERR_SHAPE (the
 * data does not fit the input layer), MC_ERR_NUMERIC (non-finite data) or MC_ERR_NOMEM. */
mc_status mc_net_fit_input(mc_net *net, const mc_dataset *data, int batch);

/* Trains the network (assembling it for the mini-batch size if needed) on `data`. The order of
 * shuffles comes from the context's RNG, so the same seed, data and options give the same
 * weights bit for bit. A non-finite loss stops training with MC_ERR_NUMERIC and a message naming
 * the iteration and the first layer whose output was not finite. Other returns: MC_OK,
 * MC_ERR_INVALID (options; the message names the option), MC_ERR_SHAPE (data), MC_ERR_NOMEM. */
mc_status mc_train(mc_net *net, const mc_dataset *data, const mc_train_options *opts,
                   mc_train_callback callback, void *user);

/* The training state a checkpoint carries besides the network: options, position, data order,
 * RNG and solver state. Checkpoints are model files of kind 2, named like MATLAB's
 * net_checkpoint__<iteration>__<yyyy_MM_dd__HH_mm_ss>.mcnn and written atomically after every
 * epoch; minicnn classify reads them as networks too. */
typedef struct mc_train_state mc_train_state;

/* Reads a checkpoint: the network (assembled) and the state. Returns MC_OK, MC_ERR_IO,
 * MC_ERR_FORMAT (corrupt, or a trained network without training state) or MC_ERR_NOMEM. */
mc_status mc_checkpoint_load(mc_ctx *ctx, const char *path, mc_net **net, mc_train_state **state);
void mc_train_state_destroy(mc_train_state *state);
/* The options of the checkpointed run (validation and checkpoint_path NULL); borrowed. */
mc_train_options *mc_train_state_options(mc_train_state *state);
int mc_train_state_epochs_done(const mc_train_state *state);
int mc_train_state_iteration(const mc_train_state *state);

/* Continues a checkpointed run on the same training data (checked by a fingerprint) with its
 * options: the weights after the last epoch are bitwise those of an uninterrupted run with the
 * same seed. New checkpoints go to checkpoint_path (NULL for none). */
mc_status mc_train_resume(mc_net *net, const mc_dataset *data, mc_train_state *state,
                          const char *checkpoint_path, const mc_dataset *validation,
                          mc_train_callback callback, void *user);

/* Accuracy (in [0, 1]) and mean cross-entropy of the network on a data set, in inference
 * mode, in batches of up to the assembled batch size. */
mc_status mc_evaluate(mc_net *net, const mc_dataset *data, double *accuracy, double *loss);

/* Like mc_evaluate, in batches of `batch` (at most the assembled batch) and in `mode`: in
 * training mode batch normalization uses each batch's own statistics, as during training (its
 * moving averages are left as they were). */
mc_status mc_evaluate_batches(mc_net *net, const mc_dataset *data, int batch, mc_mode mode,
                              double *accuracy, double *loss);

/* The first layer (in topological order) whose last output holds a non-finite value, or -1. */
int mc_net_first_nonfinite(const mc_net *net);

#ifdef __cplusplus
}
#endif

#endif
