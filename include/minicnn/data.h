/* SPDX-License-Identifier: MIT */
/* Labelled data sets in memory, and the IDX file format (MNIST's), raw or gzip-compressed. */
#ifndef MINICNN_DATA_H
#define MINICNN_DATA_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stdbool.h>
#include <stddef.h>

#include <minicnn/net.h>
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
 * missing data (truncation) or bytes after the data are each MC_ERR_FORMAT with the path, the
 * byte offset and what is wrong. A gzip file may hold several members, read as one stream
 * (RFC 1952); every member's trailer (CRC-32 and length) is checked, and a member cut short,
 * corrupt compressed data, a trailer that does not match or bytes after the last member that
 * are not one are MC_ERR_FORMAT too. A header that promises more data than the rest of the
 * file can hold (its bytes, or 1032 times them for gzip data, deflate's largest expansion) is
 * refused before its data is allocated. A file that cannot be opened or read is MC_ERR_IO with
 * the system's reason. Values that are not finite (float files) are MC_ERR_FORMAT naming the
 * element. */
mc_status mc_idx_read(mc_ctx *ctx, const char *path, mc_idx *out);

/* Only the header of an IDX file: type, ndim, dims and count, values NULL (nothing to
 * release). Errors as mc_idx_read's for the header. */
mc_status mc_idx_read_header(mc_ctx *ctx, const char *path, mc_idx *out);
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
 * The number of classes is the largest label + 1. Both headers are read and checked against
 * each other before either file's data is read, so a header that lies costs nothing. Errors
 * name both files where it matters. */
mc_status mc_dataset_read_idx(mc_ctx *ctx, const char *images, const char *labels, mc_dataset *out);

/* What a network takes, for checking data against it from the files' headers before their
 * data is read. Zero means any. */
typedef struct mc_data_expect {
    int height, width;     /* the images' size */
    int channels;          /* their channels, unless convert_channels */
    bool convert_channels; /* the images will go through mc_dataset_convert_channels: 1 and 3
                              channels are both accepted */
    int num_classes;       /* every label must be below it */
    const char *what;      /* "training data", "test data": for messages; NULL: "data" */
} mc_data_expect;

/* The expectation of a network (assembled, for its number of classes): its input layer's
 * image size and channels, and its classes. */
mc_data_expect mc_data_expect_net(const mc_net *net, bool convert_channels, const char *what);

/* mc_dataset_read_idx, with the headers checked against e (NULL: nothing) before any data is
 * read, and the labels against e->num_classes before the images' data is read. A mismatch is
 * MC_ERR_SHAPE (image size or channels, naming the file, both sizes and e->what) or
 * MC_ERR_INVALID (a label outside the classes, naming the file, the observation and the
 * label). */
mc_status mc_dataset_read_idx_expect(mc_ctx *ctx, const char *images, const char *labels,
                                     const mc_data_expect *e, mc_dataset *out);

/* Checks a data set in memory against the network (assembled): every observation has the
 * input layer's shape (MC_ERR_SHAPE naming both), there is at least one, and every label is one
 * of the network's classes (MC_ERR_INVALID naming the observation, its label and the classes).
 * `what` names the data in messages ("test data"). For every data set a run will use, before
 * the run starts. */
mc_status mc_data_check_against_net(const mc_net *net, const mc_dataset *data, const char *what);

/* Converts the channels in place: 1 -> C replicates the gray channel (MATLAB's 'gray2rgb');
 * 3 -> 1 takes MATLAB's rgb2gray weights 0.2989 R + 0.5870 G + 0.1140 B. Same C: nothing.
 * Returns MC_OK, MC_ERR_INVALID (another conversion) or MC_ERR_NOMEM. */
mc_status mc_dataset_convert_channels(mc_ctx *ctx, mc_dataset *ds, int channels);

/* The first n observations as a view (no copy). */
mc_dataset mc_dataset_head(const mc_dataset *ds, int n);

void mc_dataset_release(mc_ctx *ctx, mc_dataset *ds);

/* ---- PNG images and labelled image folders (MATLAB's imageDatastore) ---- */

/* PNGs wider or taller than MC_PNG_MAX_SIDE, or with more than MC_PNG_MAX_PIXELS pixels, are
 * refused from their header, before any pixel memory is allocated. */
#define MC_PNG_MAX_SIDE 16384
#define MC_PNG_MAX_PIXELS ((size_t)1 << 28)

/* MATLAB's ColorPreprocessing of augmentedImageDatastore. */
typedef enum mc_color_preprocessing {
    MC_COLOR_NONE = 0, /* an image's channels must be the network's */
    MC_COLOR_GRAY2RGB, /* a gray image is replicated into 3 channels (RGB images pass) */
    MC_COLOR_RGB2GRAY  /* an RGB image becomes 0.2989 R + 0.5870 G + 0.1140 B (gray passes) */
} mc_color_preprocessing;

/* "none", "gray2rgb" or "rgb2gray" into *out; MC_ERR_INVALID for anything else. */
mc_status mc_color_preprocessing_parse(mc_ctx *ctx, const char *text, mc_color_preprocessing *out);

/* How images are brought to the network's input size. */
typedef struct mc_image_options {
    int height, width, channels; /* the input layer's size: H x W x C, C 1 or 3 */
    mc_color_preprocessing color;
    bool resize; /* true: other sizes are resized (bilinear); false: they are an error */
} mc_image_options;

/* H x W x C with no color preprocessing and resizing on (augmentedImageDatastore's default). */
mc_image_options mc_image_default(int height, int width, int channels);

/* Bilinear resize of src (C, h, w) into dst (C, H, W), pixel centres aligned: the centre of
 * destination pixel x sits at source coordinate (x + 0.5) * w / W - 0.5, clamped to the
 * image, as MATLAB's imresize(..., 'bilinear', 'Antialiasing', false), OpenCV's INTER_LINEAR
 * and PyTorch's align_corners=False compute it. Computed in double; no antialiasing when
 * shrinking. src and dst must not overlap. */
void mc_image_resize_bilinear(const float *src, int C, int h, int w, float *dst, int H, int W);

/* Reads a PNG file into out (C, H, W) of the options' size, values 0..255 as floats. Every PNG
 * kind is read: gray, gray + alpha, RGB, RGBA and palette, 1 to 16 bits, interlaced or not;
 * palettes become RGB, low bit depths are expanded, 16 bits are scaled to 8 (v * 255 / 65535,
 * rounded), alpha and transparency are dropped (MATLAB's imread without the alpha output) and no
 * gamma correction is applied. A gray image for a 3-channel network needs MC_COLOR_GRAY2RGB and
 * an RGB one for a 1-channel network MC_COLOR_RGB2GRAY (rgb2gray's weights on the 8-bit values,
 * not rounded, as mc_dataset_convert_channels); otherwise MC_ERR_SHAPE names the file and the
 * fix. Another size is resized with mc_image_resize_bilinear, or is MC_ERR_SHAPE when
 * o->resize is false.
 * Errors name the path: MC_ERR_IO (cannot open or read, with the system's reason),
 * MC_ERR_FORMAT (not a PNG, truncated at byte N, a chunk's CRC or the compressed data corrupt,
 * a header over the MC_PNG_MAX_* limits, with libpng's reason and the byte offset reached),
 * MC_ERR_INVALID (options), MC_ERR_NOMEM. libpng's memory comes from the context's allocator
 * and is freed on every path; libpng's warnings are not printed. */
mc_status mc_png_read(mc_ctx *ctx, const char *path, const mc_image_options *o, float *out);

/* Writes image (C, H, W), C 1 (gray) or 3 (RGB), as an 8-bit PNG: values are rounded and
 * clamped to 0..255. The file is written as "<path>.tmp.<pid>" and renamed over path (not
 * synced). Returns MC_OK, MC_ERR_INVALID, MC_ERR_IO (naming the path and the reason; the
 * temporary file is removed) or MC_ERR_NOMEM. */
mc_status mc_png_write(mc_ctx *ctx, const char *path, const float *image, int C, int H, int W);

/* A labelled image folder's file list, before any image is read: MATLAB's
 * imageDatastore(dir, 'IncludeSubfolders', true, 'LabelSource', 'foldernames') for a folder
 * holding one sub-folder per class. Everything is owned by the folder (released with
 * mc_image_folder_release). */
typedef struct mc_image_folder {
    int num_files;
    char **files; /* paths "dir/class/name.png", by class then by name */
    int *labels;  /* per file, an index into classes */
    int num_classes;
    char **classes; /* the class folders' names, sorted by bytes (strcmp) */
} mc_image_folder;

/* Lists dir: every sub-folder is a class, named after it; its *.png files (the extension in any
 * case) are its images, sorted by name (strcmp). Names starting with '.' are skipped, as are
 * other files, files directly in dir and deeper folders. Returns MC_OK, MC_ERR_IO (dir or an
 * entry cannot be read, naming it and the reason), MC_ERR_FORMAT (no class folder, or a class
 * folder with no PNG file, naming it) or MC_ERR_NOMEM. */
mc_status mc_image_folder_scan(mc_ctx *ctx, const char *dir, mc_image_folder *out);

/* MATLAB's splitEachLabel(imds, p, 'randomized'): for each class, round(p * count) of its files,
 * chosen by the context's RNG, go to train and the others to test; both keep all the classes
 * and the files' order. The same RNG state gives the same split. Returns MC_OK, MC_ERR_INVALID
 * (p outside 0..1) or MC_ERR_NOMEM; on failure train and test are empty. */
mc_status mc_image_folder_split(mc_ctx *ctx, const mc_image_folder *all, double p,
                                mc_image_folder *train, mc_image_folder *test);

/* MATLAB's splitEachLabel(imds, n, 'randomized') with a count: for each class, n of its files
 * (n >= 1), chosen by the context's RNG, go to train and the others to test, as above. Returns
 * MC_OK, MC_ERR_INVALID (n < 1, or a class with fewer than n files, naming it and its count) or
 * MC_ERR_NOMEM; on failure train and test are empty. (src/io/dataset.c) */
mc_status mc_image_folder_split_count(mc_ctx *ctx, const mc_image_folder *all, int n,
                                      mc_image_folder *train, mc_image_folder *test);

/* Gives f the classes of `ref` (a test part takes the training part's): its labels are
 * renumbered by class name. Returns MC_OK, MC_ERR_FORMAT (f has a class ref lacks, naming it)
 * or MC_ERR_NOMEM (f is then unchanged). */
mc_status mc_image_folder_use_classes(mc_ctx *ctx, mc_image_folder *f, const mc_image_folder *ref);

/* Reads every file of f with mc_png_read into a data set (N, C, H, W) with f's labels;
 * num_classes is f's. Errors are mc_png_read's (naming the file), or MC_ERR_INVALID for a folder
 * without files. */
mc_status mc_image_folder_read(mc_ctx *ctx, const mc_image_folder *f, const mc_image_options *o,
                               mc_dataset *out);

void mc_image_folder_release(mc_ctx *ctx, mc_image_folder *f);

#ifdef __cplusplus
}
#endif

#endif
