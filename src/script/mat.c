/* SPDX-License-Identifier: MIT */
/* MAT-files for load: read through libmatio (v5, v7 compressed, v7.3/HDF5), never parsed by
 * hand. Numeric, logical and char arrays become script values; other classes are refused by
 * name. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <matio.h>

#include "script_internal.h"

static const char *class_name(enum matio_classes c)
{
    switch (c) {
    case MAT_C_CELL:
        return "cell";
    case MAT_C_STRUCT:
        return "struct";
    case MAT_C_OBJECT:
        return "object";
    case MAT_C_SPARSE:
        return "sparse";
    case MAT_C_FUNCTION:
        return "function handle";
    case MAT_C_OPAQUE:
        return "opaque (a MATLAB object such as a categorical or a table)";
    default:
        return "unsupported";
    }
}

static mc_status open_mat(mc_ctx *ctx, const char *path, mat_t **out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return mc_ctx_fail(ctx, MC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    fclose(f);
    *out = Mat_Open(path, MAT_ACC_RDONLY);
    if (*out == NULL)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT, "'%s' is not a MAT-file libmatio can read", path);
    return MC_OK;
}

mc_status sc_mat_names(mc_ctx *ctx, const char *path, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    mat_t *mat = NULL;
    mc_status st = open_mat(ctx, path, &mat);
    if (st != MC_OK)
        return st;
    matvar_t *v;
    int cap = 0;
    while (st == MC_OK && (v = Mat_VarReadNextInfo(mat)) != NULL) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = mc_alloc(ctx, (size_t)cap * sizeof *grown);
            if (grown == NULL) {
                st = mc__nomem(ctx, "listing a MAT-file");
            } else {
                if (*n > 0)
                    memcpy(grown, *names, (size_t)*n * sizeof *grown);
                mc_free(ctx, *names);
                *names = grown;
            }
        }
        if (st == MC_OK && ((*names)[*n] = mc__strdup(ctx, v->name)) == NULL)
            st = mc__nomem(ctx, "listing a MAT-file");
        if (st == MC_OK)
            (*n)++;
        Mat_VarFree(v);
    }
    Mat_Close(mat);
    if (st != MC_OK) {
        for (int i = 0; i < *n; i++)
            mc_free(ctx, (*names)[i]);
        mc_free(ctx, *names);
        *names = NULL;
        *n = 0;
    }
    return st;
}

/* One variable as a value. */
static mc_status convert(mc_ctx *ctx, const char *path, matvar_t *v, sv **out)
{
    *out = NULL;
    if (v->isComplex)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: variable '%s' is complex; minicnn loads real "
                           "arrays",
                           path, v->name);
    if (v->rank < 1 || v->rank > 4)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: variable '%s' has %d dimensions; minicnn loads at most 4", path,
                           v->name, v->rank);
    size_t n = 1;
    for (int i = 0; i < v->rank; i++) {
        if (v->dims[i] > (size_t)1 << 30)
            return mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s: variable '%s' is too large", path, v->name);
        n *= v->dims[i];
    }
    if (v->class_type == MAT_C_CHAR) {
        if (v->rank != 2 || (v->dims[0] > 1 && v->dims[1] > 0) || v->data_size != 1)
            return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                               "%s: variable '%s' is a char array that is not one row of 8-bit "
                               "text",
                               path, v->name);
        *out = sv_char(ctx, v->data != NULL ? v->data : "", n);
        return *out != NULL ? MC_OK : mc__nomem(ctx, "loading a MAT-file");
    }
    if (v->class_type < MAT_C_DOUBLE || v->class_type > MAT_C_UINT64)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT,
                           "%s: variable '%s' is a %s array; minicnn loads numeric, logical and "
                           "char arrays",
                           path, v->name, class_name(v->class_type));
    if (n > 0 && v->data == NULL)
        return mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s: variable '%s' has no data", path, v->name);
    sv *x = sv_new(ctx, SV_NUM);
    if (x == NULL || (x->re = mc_alloc(ctx, (n ? n : 1) * sizeof *x->re)) == NULL) {
        sv_release(ctx, x);
        return mc__nomem(ctx, "loading a MAT-file");
    }
    x->nd = v->rank < 2 ? 2 : v->rank;
    for (int i = 0; i < 4; i++)
        x->dims[i] = i < v->rank ? (int)v->dims[i] : 1;
    x->logical = v->isLogical != 0;
    x->uint8 = v->class_type == MAT_C_UINT8 && !x->logical;
    for (size_t i = 0; i < n; i++) {
        double d = 0;
        switch (v->class_type) {
        case MAT_C_DOUBLE:
            d = ((const double *)v->data)[i];
            break;
        case MAT_C_SINGLE:
            d = ((const float *)v->data)[i];
            break;
        case MAT_C_INT8:
            d = ((const int8_t *)v->data)[i];
            break;
        case MAT_C_UINT8:
            d = ((const uint8_t *)v->data)[i];
            break;
        case MAT_C_INT16:
            d = ((const int16_t *)v->data)[i];
            break;
        case MAT_C_UINT16:
            d = ((const uint16_t *)v->data)[i];
            break;
        case MAT_C_INT32:
            d = ((const int32_t *)v->data)[i];
            break;
        case MAT_C_UINT32:
            d = ((const uint32_t *)v->data)[i];
            break;
        case MAT_C_INT64:
            d = (double)((const int64_t *)v->data)[i];
            break;
        case MAT_C_UINT64:
            d = (double)((const uint64_t *)v->data)[i];
            break;
        default:
            break;
        }
        x->re[i] = d;
    }
    *out = x;
    return MC_OK;
}

mc_status sc_mat_load(mc_ctx *ctx, const char *path, char ***names, sv ***values, int *n)
{
    *values = NULL;
    mc_status st = sc_mat_names(ctx, path, names, n);
    if (st != MC_OK)
        return st;
    *values = mc__calloc(ctx, (size_t)*n + 1, sizeof **values);
    mat_t *mat = NULL;
    if (*values == NULL)
        st = mc__nomem(ctx, "loading a MAT-file");
    if (st == MC_OK)
        st = open_mat(ctx, path, &mat);
    for (int i = 0; st == MC_OK && i < *n; i++) {
        matvar_t *v = Mat_VarRead(mat, (*names)[i]);
        if (v == NULL)
            st = mc_ctx_fail(ctx, MC_ERR_FORMAT, "%s: variable '%s' cannot be read", path,
                             (*names)[i]);
        else
            st = convert(ctx, path, v, &(*values)[i]);
        Mat_VarFree(v);
    }
    if (mat != NULL)
        Mat_Close(mat);
    if (st != MC_OK) {
        for (int i = 0; i < *n; i++) {
            mc_free(ctx, (*names)[i]);
            if (*values != NULL)
                sv_release(ctx, (*values)[i]);
        }
        mc_free(ctx, *names);
        mc_free(ctx, *values);
        *names = NULL;
        *values = NULL;
        *n = 0;
    }
    return st;
}
