/* SPDX-License-Identifier: MIT */
/* Labelled image folders: one sub-folder per class (MATLAB's imageDatastore with
 * 'LabelSource','foldernames'), splitEachLabel, and reading every image into a data set. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <minicnn/data.h>

#include "../internal.h"

/* A growing array of owned strings. */
typedef struct names {
    char **v;
    int n, cap;
} names;

static void names_release(mc_ctx *ctx, names *s)
{
    for (int i = 0; i < s->n; i++)
        mc_free(ctx, s->v[i]);
    mc_free(ctx, s->v);
    memset(s, 0, sizeof *s);
}

/* Appends `p` (owned: freed on failure; NULL is a failed allocation). Returns false when out of
 * memory. */
static bool names_add(mc_ctx *ctx, names *s, char *p)
{
    if (p == NULL)
        return false;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        char **v = s->cap < (1 << 29) ? mc__calloc(ctx, (size_t)cap, sizeof *v) : NULL;
        if (v == NULL) {
            mc_free(ctx, p);
            return false;
        }
        if (s->n > 0)
            memcpy(v, s->v, (size_t)s->n * sizeof *v);
        mc_free(ctx, s->v);
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = p;
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_png_name(const char *name)
{
    const size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".png") == 0;
}

/* "a/b" through the context's allocator. */
static char *join(mc_ctx *ctx, const char *a, const char *b)
{
    const size_t la = strlen(a), lb = strlen(b);
    char *p = mc_alloc(ctx, la + lb + 2);
    if (p != NULL) {
        memcpy(p, a, la);
        p[la] = '/';
        memcpy(p + la + 1, b, lb + 1);
    }
    return p;
}

/* The names in dir (sorted, '.'-names skipped) that are folders (want_dirs) or PNG files. */
static mc_status list_dir(mc_ctx *ctx, const char *dir, bool want_dirs, names *out)
{
    errno = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return mc_ctx_fail(ctx, MC_ERR_IO, "cannot open the folder '%s': %s", dir,
                           errno != 0 ? strerror(errno) : "unknown error");
    mc_status st = MC_OK;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot read the folder '%s': %s", dir,
                                 strerror(errno));
            break;
        }
        if (e->d_name[0] == '.' || (!want_dirs && !is_png_name(e->d_name)))
            continue;
        char *p = join(ctx, dir, e->d_name);
        if (p == NULL) {
            st = mc__nomem(ctx, "listing an image folder");
            break;
        }
        struct stat sb;
        if (stat(p, &sb) != 0) {
            st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot read '%s': %s", p, strerror(errno));
            mc_free(ctx, p);
            break;
        }
        mc_free(ctx, p);
        const bool keep = want_dirs ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode);
        if (keep && !names_add(ctx, out, mc__strdup(ctx, e->d_name))) {
            st = mc__nomem(ctx, "listing an image folder");
            break;
        }
    }
    if (closedir(d) != 0 && st == MC_OK)
        st = mc_ctx_fail(ctx, MC_ERR_IO, "cannot close the folder '%s': %s", dir, strerror(errno));
    if (st == MC_OK && out->n > 1)
        qsort(out->v, (size_t)out->n, sizeof *out->v, compare_names);
    return st;
}

void mc_image_folder_release(mc_ctx *ctx, mc_image_folder *f)
{
    for (int i = 0; i < f->num_files; i++)
        mc_free(ctx, f->files[i]);
    for (int k = 0; k < f->num_classes; k++)
        mc_free(ctx, f->classes[k]);
    mc_free(ctx, f->files);
    mc_free(ctx, f->labels);
    mc_free(ctx, f->classes);
    memset(f, 0, sizeof *f);
}

/* The class names, and every class's files in order; counts[k] files of class k. */
static mc_status scan(mc_ctx *ctx, const char *dir, names *classes, names *files, int **counts)
{
    mc_status st = list_dir(ctx, dir, true, classes);
    if (st != MC_OK)
        return st;
    if (classes->n == 0)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "'%s' holds no class folders: an image folder holds one sub-folder "
                           "of PNG files per class, named after the class",
                           dir);
    *counts = mc__calloc(ctx, (size_t)classes->n, sizeof **counts);
    if (*counts == NULL)
        return mc__nomem(ctx, "listing an image folder");
    for (int k = 0; k < classes->n; k++) {
        char *cdir = join(ctx, dir, classes->v[k]);
        if (cdir == NULL)
            return mc__nomem(ctx, "listing an image folder");
        names in = {0};
        st = list_dir(ctx, cdir, false, &in);
        if (st == MC_OK && in.n == 0)
            st = mc_ctx_fail(ctx, MC_ERR_FORMAT,
                             "the class folder '%s' holds no PNG files (*.png); remove it or add "
                             "images",
                             cdir);
        for (int i = 0; st == MC_OK && i < in.n; i++)
            if (!names_add(ctx, files, join(ctx, cdir, in.v[i])))
                st = mc__nomem(ctx, "listing an image folder");
        (*counts)[k] = in.n;
        names_release(ctx, &in);
        mc_free(ctx, cdir);
        if (st != MC_OK)
            return st;
    }
    return MC_OK;
}

mc_status mc_image_folder_scan(mc_ctx *ctx, const char *dir, mc_image_folder *out)
{
    memset(out, 0, sizeof *out);
    names classes = {0}, files = {0};
    int *counts = NULL, *labels = NULL;
    mc_status st = scan(ctx, dir, &classes, &files, &counts);
    if (st == MC_OK) {
        labels = mc__calloc(ctx, (size_t)files.n, sizeof *labels);
        if (labels == NULL)
            st = mc__nomem(ctx, "listing an image folder");
    }
    for (int k = 0, i = 0; st == MC_OK && k < classes.n; k++)
        for (int j = 0; j < counts[k]; j++)
            labels[i++] = k;
    mc_free(ctx, counts);
    if (st != MC_OK) {
        names_release(ctx, &classes);
        names_release(ctx, &files);
        mc_free(ctx, labels);
        return st;
    }
    out->num_files = files.n;
    out->files = files.v;
    out->labels = labels;
    out->num_classes = classes.n;
    out->classes = classes.v;
    return MC_OK;
}

/* Copies of the classes of `from` into `to`, and room for n files. */
static mc_status start_part(mc_ctx *ctx, const mc_image_folder *from, int n, mc_image_folder *to)
{
    to->classes = mc__calloc(ctx, (size_t)from->num_classes, sizeof *to->classes);
    to->files = mc__calloc(ctx, (size_t)n, sizeof *to->files);
    to->labels = mc__calloc(ctx, (size_t)n, sizeof *to->labels);
    if (to->classes == NULL || to->files == NULL || to->labels == NULL)
        return mc__nomem(ctx, "splitting an image folder");
    for (int k = 0; k < from->num_classes; k++) {
        to->classes[k] = mc__strdup(ctx, from->classes[k]);
        if (to->classes[k] == NULL)
            return mc__nomem(ctx, "splitting an image folder");
        to->num_classes++;
    }
    return MC_OK;
}

static mc_status add_file(mc_ctx *ctx, mc_image_folder *to, const char *file, int label)
{
    to->files[to->num_files] = mc__strdup(ctx, file);
    if (to->files[to->num_files] == NULL)
        return mc__nomem(ctx, "splitting an image folder");
    to->labels[to->num_files++] = label;
    return MC_OK;
}

mc_status mc_image_folder_split(mc_ctx *ctx, const mc_image_folder *all, double p,
                                mc_image_folder *train, mc_image_folder *test)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!(p >= 0 && p <= 1))
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "the split proportion must be from 0 to 1, not %g",
                           p);
    const int N = all->num_files;
    /* take[i]: file i goes to train */
    unsigned char *take = mc__calloc(ctx, (size_t)N, 1);
    int *idx = mc__calloc(ctx, (size_t)N, sizeof *idx);
    mc_status st =
        take == NULL || idx == NULL ? mc__nomem(ctx, "splitting an image folder") : MC_OK;
    int n_train = 0;
    for (int k = 0; st == MC_OK && k < all->num_classes; k++) {
        int count = 0;
        for (int i = 0; i < N; i++)
            if (all->labels[i] == k)
                idx[count++] = i;
        const int want = (int)round(p * count);
        /* The first `want` of a Fisher-Yates shuffle of the class's files (partial). */
        for (int i = 0; i < want; i++) {
            int j = i + (int)(mc_rng_uniform(ctx) * (double)(count - i));
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            take[idx[i]] = 1;
        }
        n_train += want;
    }
    if (st == MC_OK)
        st = start_part(ctx, all, n_train, train);
    if (st == MC_OK)
        st = start_part(ctx, all, N - n_train, test);
    for (int i = 0; st == MC_OK && i < N; i++)
        st = add_file(ctx, take[i] ? train : test, all->files[i], all->labels[i]);
    mc_free(ctx, take);
    mc_free(ctx, idx);
    if (st != MC_OK) {
        mc_image_folder_release(ctx, train);
        mc_image_folder_release(ctx, test);
    }
    return st;
}

mc_status mc_image_folder_use_classes(mc_ctx *ctx, mc_image_folder *f, const mc_image_folder *ref)
{
    int *map = mc__calloc(ctx, (size_t)f->num_classes, sizeof *map);
    if (map == NULL && f->num_classes > 0)
        return mc__nomem(ctx, "matching the class folders");
    for (int k = 0; k < f->num_classes; k++) {
        map[k] = -1;
        for (int j = 0; j < ref->num_classes; j++)
            if (strcmp(f->classes[k], ref->classes[j]) == 0)
                map[k] = j;
        if (map[k] < 0) {
            const char *example = "";
            for (int i = 0; i < f->num_files && example[0] == '\0'; i++)
                if (f->labels[i] == k)
                    example = f->files[i];
            mc_free(ctx, map);
            return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                               "class '%s' (%s) is not among the %d classes of the training "
                               "images",
                               f->classes[k], example, ref->num_classes);
        }
    }
    char **classes = mc__calloc(ctx, (size_t)ref->num_classes, sizeof *classes);
    mc_status st = classes == NULL ? mc__nomem(ctx, "matching the class folders") : MC_OK;
    for (int j = 0; st == MC_OK && j < ref->num_classes; j++) {
        classes[j] = mc__strdup(ctx, ref->classes[j]);
        if (classes[j] == NULL)
            st = mc__nomem(ctx, "matching the class folders");
    }
    if (st != MC_OK) {
        for (int j = 0; classes != NULL && j < ref->num_classes; j++)
            mc_free(ctx, classes[j]);
        mc_free(ctx, classes);
        mc_free(ctx, map);
        return st;
    }
    for (int i = 0; i < f->num_files; i++)
        f->labels[i] = map[f->labels[i]];
    for (int k = 0; k < f->num_classes; k++)
        mc_free(ctx, f->classes[k]);
    mc_free(ctx, f->classes);
    f->classes = classes;
    f->num_classes = ref->num_classes;
    mc_free(ctx, map);
    return MC_OK;
}

mc_status mc_image_folder_read(mc_ctx *ctx, const mc_image_folder *f, const mc_image_options *o,
                               mc_dataset *out)
{
    memset(out, 0, sizeof *out);
    if (f->num_files < 1)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "the image folder holds no images to read");
    const int dims[4] = {f->num_files, o->channels, o->height, o->width};
    mc_shape shape = mc_shape_make(4, dims);
    const size_t per = (size_t)o->channels * (size_t)o->height * (size_t)o->width;
    if (o->channels < 1 || o->height < 1 || o->width < 1 ||
        per > ((size_t)1 << 40) / (size_t)f->num_files)
        return mc_ctx_fail(ctx, MC_ERR_INVALID, "cannot hold %d images of %dx%dx%d in memory",
                           f->num_files, o->height, o->width, o->channels);
    out->x = mc__calloc(ctx, per * (size_t)f->num_files, sizeof(float));
    out->labels = mc__calloc(ctx, (size_t)f->num_files, sizeof(int));
    mc_status st = out->x == NULL || out->labels == NULL
                       ? mc__nomem(ctx, "allocating the images of an image folder")
                       : MC_OK;
    for (int i = 0; st == MC_OK && i < f->num_files; i++) {
        st = mc_png_read(ctx, f->files[i], o, out->x + (size_t)i * per);
        out->labels[i] = f->labels[i];
    }
    if (st != MC_OK) {
        mc_dataset_release(ctx, out);
        return st;
    }
    out->shape = shape;
    out->num_classes = f->num_classes;
    return MC_OK;
}
