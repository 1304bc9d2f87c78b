/* Labelled data sets in memory, and the IDX file format (MNIST's), raw or gzip-compressed. */
#ifndef MINICNN_DATA_H
#define MINICNN_DATA_H

#include <stddef.h>

#include <minicnn/tensor.h>

/* An IDX file's contents, converted to float. `dims` are as stored (outermost first). */
typedef struct mc_idx {
    int type; /* 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64 */
    int ndim; /* 1 to MC_MAX_DIMS */
    int dims[MC_MAX_DIMS];
    size_t count; /* product of dims */
    float *values;
} mc_idx;

/* Reads an IDX file, gzip-compressed or not. Every header field is checked against the data
 * the file really holds: a wrong magic, an unknown type, a dimension of 0, sizes that overflow,
 * missing data (truncation) or bytes after the data, and a corrupt gzip stream are each
 * MC_ERR_FORMAT with the path, the byte offset (in the decompressed data) and what is wrong;
 * a file that cannot be opened or read is MC_ERR_IO with the system's reason. Values that are
 * not finite (float files) are MC_ERR_FORMAT naming the element. */
mc_status mc_idx_read(mc_ctx *ctx, const char *path, mc_idx *out);
void mc_idx_release(mc_ctx *ctx, mc_idx *idx);

/* A labelled data set: x is (N, C, H, W) (or (N, F) for feature data), labels in 0..K-1. */
typedef struct mc_dataset {
    mc_shape shape;
    float *x;
    int *labels;
    int num_classes;
} mc_dataset;

/* Images and labels from two IDX files: images (N, H, W) are 1-channel, (N, H, W, C) are
 * converted to (N, C, H, W); labels (N) must be integers in 0..255 and the counts must agree.
 * The number of classes is the largest label + 1. Errors name both files where it matters. */
mc_status mc_dataset_read_idx(mc_ctx *ctx, const char *images, const char *labels,
                              mc_dataset *out);

/* Converts the channels in place: 1 -> C replicates the gray channel (MATLAB's 'gray2rgb');
 * 3 -> 1 takes MATLAB's rgb2gray weights 0.2989 R + 0.5870 G + 0.1140 B. Same C: nothing.
 * Returns MC_OK, MC_ERR_INVALID (another conversion) or MC_ERR_NOMEM. */
mc_status mc_dataset_convert_channels(mc_ctx *ctx, mc_dataset *ds, int channels);

/* The first n observations as a view (no copy). */
mc_dataset mc_dataset_head(const mc_dataset *ds, int n);

void mc_dataset_release(mc_ctx *ctx, mc_dataset *ds);

#endif
