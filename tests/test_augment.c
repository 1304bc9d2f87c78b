/* SPDX-License-Identifier: MIT */
/* Data augmentation: MATLAB's imageDataAugmenter (src/augment.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define MNIST MC_SOURCE_DIR "/data/mnist/"

static mc_augmenter *parse_ok(mc_ctx *ctx, const char *expr)
{
    mc_augmenter *aug = NULL;
    mc_status st = mc_augmenter_parse(ctx, expr, &aug);
    ck_assert_msg(st == MC_OK, "%s: %s", expr, mc_ctx_message(ctx));
    return aug;
}

static void ramp(float *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = (float)(1 + i * 3 % 17);
}

/* The identity transform copies every pixel exactly. */
START_TEST(test_identity)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 1);
    mc_augmenter *aug = parse_ok(ctx, "imageDataAugmenter");
    mc_augmenter *aug2 = parse_ok(ctx, "imageDataAugmenter('RandScale',[1 1],'FillValue',5)");
    float x[2 * 5 * 7], y[2 * 5 * 7];
    ramp(x, 70);
    for (size_t i = 0; i < 20; i++) {
        mc_augmenter_apply(aug, 1, i, x, y, 2, 5, 7);
        ck_assert(memcmp(x, y, sizeof x) == 0);
        mc_augmenter_apply(aug2, 3, i, x, y, 2, 5, 7);
        ck_assert(memcmp(x, y, sizeof x) == 0);
    }
    mc_augmenter_destroy(aug);
    mc_augmenter_destroy(aug2);
    mc_ctx_destroy(ctx);
}
END_TEST

/* RandXReflection: about half the images are mirrored left-right, exactly; RandYReflection
 * up-down. */
START_TEST(test_reflection)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 1);
    mc_augmenter *aug = parse_ok(ctx, "imageDataAugmenter('RandXReflection',true)");
    const int C = 2, H = 3, W = 4;
    float x[24], y[24];
    ramp(x, 24);
    int mirrored = 0;
    for (size_t i = 0; i < 200; i++) {
        mc_augmenter_apply(aug, 1, i, x, y, C, H, W);
        int same = memcmp(x, y, sizeof x) == 0, flip = 1;
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    flip &= y[(c * H + h) * W + w] == x[(c * H + h) * W + (W - 1 - w)];
        ck_assert_msg(same != flip, "image %zu is neither the original nor its mirror", i);
        mirrored += flip;
    }
    ck_assert_msg(mirrored > 70 && mirrored < 130, "%d of 200 mirrored", mirrored);
    mc_augmenter_destroy(aug);
    aug = parse_ok(ctx, "imageDataAugmenter('RandYReflection',1)");
    mirrored = 0;
    for (size_t i = 0; i < 200; i++) {
        mc_augmenter_apply(aug, 2, i, x, y, C, H, W);
        int flip = 1;
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    flip &= y[(c * H + h) * W + w] == x[(c * H + (H - 1 - h)) * W + w];
        ck_assert(flip || memcmp(x, y, sizeof x) == 0);
        mirrored += flip;
    }
    ck_assert_msg(mirrored > 70 && mirrored < 130, "%d of 200 mirrored", mirrored);
    mc_augmenter_destroy(aug);
    mc_ctx_destroy(ctx);
}
END_TEST

/* RandRotation [90 90] about the centre: out(v, u) = in(u, W-1-v) (hand-computed from
 * MATLAB's [cosd -sind; sind cosd] in its row convention), exact for odd and even sizes. */
START_TEST(test_rotation_90)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 1);
    mc_augmenter *aug = parse_ok(ctx, "imageDataAugmenter('RandRotation',[90 90])");
    for (int S = 4; S <= 5; S++) {
        float x[25], y[25];
        ramp(x, S * S);
        mc_augmenter_apply(aug, 1, 0, x, y, 1, S, S);
        for (int v = 0; v < S; v++)
            for (int u = 0; u < S; u++)
                ck_assert_msg(y[v * S + u] == x[u * S + (S - 1 - v)], "%dx%d: (%d, %d): %g not %g",
                              S, S, v, u, y[v * S + u], x[u * S + (S - 1 - v)]);
    }
    /* -90 the other way round; 180 twice 90 */
    mc_augmenter_destroy(aug);
    aug = parse_ok(ctx, "imageDataAugmenter('RandRotation',[180 180])");
    float x[12], y[12];
    ramp(x, 12);
    mc_augmenter_apply(aug, 1, 0, x, y, 1, 3, 4);
    for (int i = 0; i < 12; i++)
        ck_assert(y[i] == x[11 - i]);
    mc_augmenter_destroy(aug);
    mc_ctx_destroy(ctx);
}
END_TEST

/* Integer translations shift pixels exactly and bring in FillValue, per channel. */
START_TEST(test_translation_and_fill)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 1);
    mc_augmenter *aug = parse_ok(ctx, "imageDataAugmenter('RandXTranslation',[2 2],"
                                      "'RandYTranslation',[-1 -1],'FillValue',[7 -3])");
    const int C = 2, H = 4, W = 5;
    float x[40], y[40];
    ramp(x, 40);
    ck_assert_int_eq(mc_augmenter_check(ctx, aug, C, H, W), MC_OK);
    mc_augmenter_apply(aug, 1, 0, x, y, C, H, W);
    for (int c = 0; c < C; c++)
        for (int v = 0; v < H; v++)
            for (int u = 0; u < W; u++) {
                const int sx = u - 2, sy = v + 1;
                const float want =
                    sx < 0 || sy >= H ? (c == 0 ? 7.0f : -3.0f) : x[(c * H + sy) * W + sx];
                ck_assert_msg(y[(c * H + v) * W + u] == want, "(%d, %d, %d): %g not %g", c, v, u,
                              y[(c * H + v) * W + u], want);
            }
    /* a fill value per channel needs that many channels */
    ck_assert_int_eq(mc_augmenter_check(ctx, aug, 3, H, W), MC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "FillValue has 2 values but the images "
                                                      "have 3 channels"));
    mc_augmenter_destroy(aug);
    mc_ctx_destroy(ctx);
}
END_TEST

/* Scale about the centre with bilinear interpolation: a 1x5 ramp scaled by 2 (hand-computed:
 * out(u) = in(2 + (u - 2) / 2)); RandScale overrides RandXScale and RandYScale. */
START_TEST(test_scale)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 1);
    mc_augmenter *aug =
        parse_ok(ctx, "imageDataAugmenter('RandScale',[2 2],'RandXScale',[0.5 0.5])");
    const float x[5] = {0, 10, 20, 30, 40}, want[5] = {10, 15, 20, 25, 30};
    float y[5];
    mc_augmenter_apply(aug, 1, 0, x, y, 1, 1, 5);
    for (int u = 0; u < 5; u++)
        ck_assert_msg(y[u] == want[u], "%d: %g not %g", u, y[u], want[u]);
    mc_augmenter_destroy(aug);
    /* RandXScale 0.5: out(u) = in(2 + 2 (u - 2)); outside is the fill value 0 */
    aug = parse_ok(ctx, "imageDataAugmenter('RandXScale',[0.5 0.5])");
    const float half[5] = {0, 0, 20, 40, 0};
    mc_augmenter_apply(aug, 1, 0, x, y, 1, 1, 5);
    for (int u = 0; u < 5; u++)
        ck_assert_msg(y[u] == half[u], "%d: %g not %g", u, y[u], half[u]);
    mc_augmenter_destroy(aug);
    mc_ctx_destroy(ctx);
}
END_TEST

/* Shear: MATLAB's [1 tand(YShear); tand(XShear) 1], so RandXShear 45 moves row y by
 * (y - cy) pixels to the right. */
START_TEST(test_shear)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 1);
    mc_augmenter *aug = parse_ok(ctx, "imageDataAugmenter('RandXShear',[45 45])");
    float x[15], y[15];
    ramp(x, 15);
    mc_augmenter_apply(aug, 1, 0, x, y, 1, 3, 5);
    for (int v = 0; v < 3; v++)
        for (int u = 0; u < 5; u++) {
            const int sx = u - (v - 1);
            const float want = sx < 0 || sx >= 5 ? 0.0f : x[v * 5 + sx];
            ck_assert_msg(fabsf(y[v * 5 + u] - want) < 1e-4f, "(%d, %d): %g not %g", v, u,
                          y[v * 5 + u], want);
        }
    mc_augmenter_destroy(aug);
    aug = parse_ok(ctx, "imageDataAugmenter('RandYShear',[45 45])");
    mc_augmenter_apply(aug, 1, 0, x, y, 1, 3, 5);
    for (int v = 0; v < 3; v++)
        for (int u = 0; u < 5; u++) {
            const int sy = v - (u - 2);
            const float want = sy < 0 || sy >= 3 ? 0.0f : x[sy * 5 + u];
            ck_assert_msg(fabsf(y[v * 5 + u] - want) < 1e-4f, "(%d, %d): %g not %g", v, u,
                          y[v * 5 + u], want);
        }
    mc_augmenter_destroy(aug);
    mc_ctx_destroy(ctx);
}
END_TEST

/* The order MATLAB composes the transforms in: rotation * shear * scale * reflection, then the
 * translation (row convention). */
START_TEST(test_composition_order)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 1);
    mc_augmenter *aug = parse_ok(ctx, "imageDataAugmenter('RandRotation',[90 90],"
                                      "'RandXScale',[2 2],'RandYScale',[3 3],"
                                      "'RandXReflection',true,'RandXTranslation',[1 1])");
    /* R = [0 -1; 1 0], Sc = diag(2, 3), Rf = diag(rx, 1): R * Sc * Rf = [0 -3; 2 rx 0] */
    int seen[2] = {0, 0};
    for (size_t k = 0; k < 50; k++) {
        double t[6];
        mc_augmenter_transform(aug, 1, k, 5, 5, t);
        const double rx = t[2] < 0 ? -1.0 : 1.0;
        seen[rx < 0]++;
        ck_assert_msg(t[0] == 0.0 && t[1] == -3.0 && t[2] == 2.0 * rx && t[3] == 0.0,
                      "[%g %g; %g %g]", t[0], t[1], t[2], t[3]);
        /* the centre (2, 2) moves by the translation only */
        ck_assert(2 * t[0] + 2 * t[2] + t[4] == 3.0 && 2 * t[1] + 2 * t[3] + t[5] == 2.0);
    }
    ck_assert(seen[0] > 0 && seen[1] > 0);
    mc_augmenter_destroy(aug);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a_.live, 0);
}
END_TEST

/* The same (seed, epoch, index) gives the same image; other epochs, indices or seeds other
 * ones; a batch gives each observation its own image whatever the batch and thread count. */
START_TEST(test_determinism)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 1);
    mc_augmenter *aug =
        parse_ok(ctx, "imageDataAugmenter('RandRotation',[-20 20],'RandXTranslation',[-3 3],"
                      "'RandYTranslation',[-3 3],'RandXReflection',true,'RandScale',[0.9 1.1])");
    const int C = 1, H = 12, W = 12, N = 40;
    float *data = test_floats((size_t)N * H * W);
    test_rng r = {9};
    test_fill_normal(&r, data, (size_t)N * H * W, 0, 1);
    float a[144], b[144];
    mc_augmenter_apply(aug, 1, 3, data + 3 * 144, a, C, H, W);
    mc_augmenter_apply(aug, 1, 3, data + 3 * 144, b, C, H, W);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    mc_augmenter_apply(aug, 2, 3, data + 3 * 144, b, C, H, W);
    ck_assert_msg(memcmp(a, b, sizeof a) != 0, "epochs 1 and 2 gave the same image");
    mc_augmenter_apply(aug, 1, 4, data + 3 * 144, b, C, H, W);
    ck_assert_msg(memcmp(a, b, sizeof a) != 0, "indices 3 and 4 gave the same image");
    mc_augmenter_set_seed(aug, 2);
    mc_augmenter_apply(aug, 1, 3, data + 3 * 144, b, C, H, W);
    ck_assert_msg(memcmp(a, b, sizeof a) != 0, "seeds 0 and 2 gave the same image");
    mc_augmenter_set_seed(aug, 0);
    /* batches in any composition, 1 and 2 threads */
    int order[40];
    for (int i = 0; i < N; i++)
        order[i] = (i * 7) % N;
    float *y1 = test_floats((size_t)N * 144), *y2 = test_floats((size_t)N * 144);
    mc_set_threads(1);
    mc_augmenter_apply_batch(aug, 5, data, order, N, C, H, W, y1);
    mc_set_threads(2);
    mc_augmenter_apply_batch(aug, 5, data, order + 10, 17, C, H, W, y2 + 10 * 144);
    mc_set_threads(0);
    ck_assert(memcmp(y1 + 10 * 144, y2 + 10 * 144, 17 * 144 * sizeof(float)) == 0);
    for (int i = 0; i < N; i++) {
        mc_augmenter_apply(aug, 5, (size_t)order[i], data + (size_t)order[i] * 144, a, C, H, W);
        ck_assert(memcmp(a, y1 + (size_t)i * 144, sizeof a) == 0);
    }
    free(y1);
    free(y2);
    free(data);
    mc_augmenter_destroy(aug);
    mc_ctx_destroy(ctx);
}
END_TEST

/* Each bad expression fails with MC_ERR_FORMAT and a message holding `want`. */
START_TEST(test_parse_errors)
{
    static const struct {
        const char *expr, *want;
    } cases[] = {
        {"imageDataAugmenter('RandRotate',[-10 10])",
         "unknown imageDataAugmenter property 'RandRotate' (did you mean 'RandRotation'?)"},
        {"imageDataAugmenter('RandRotation','abc')",
         "RandRotation must be a 2-element vector [min max] in degrees, not a string"},
        {"imageDataAugmenter('RandRotation',10)",
         "RandRotation must be a 2-element vector [min max] in degrees, not 1 number"},
        {"imageDataAugmenter('RandXTranslation',[3 -3])",
         "RandXTranslation [3 -3] is not a range: its minimum 3 is larger than its maximum -3"},
        {"imageDataAugmenter('RandRotation',@myrange)",
         "augmenter:1:35: RandRotation: function handles are not supported"},
        {"imageDataAugmenter(RandScale=@() 1)", "RandScale: function handles are not supported"},
        {"imageDataAugmenter('RandXScale',[0 1])", "RandXScale must hold positive scale factors"},
        {"imageDataAugmenter('RandYShear',[-90 0])",
         "RandYShear must hold shear angles inside (-90, 90) degrees"},
        {"imageDataAugmenter('RandXReflection','yes')",
         "RandXReflection must be true or false, not a string"},
        {"imageDataAugmenter('RandXReflection')", "property 'RandXReflection' has no value"},
        {"imageDataAugmenter('FillValue',[])", "FillValue must be a number or a vector"},
        {"imageDataAugmenter('RandRotation',[0 Inf])", "RandRotation must be finite"},
        {"imageDataAugmenter(3,4)", "expected a property name in quotes, found a number"},
        {"imageDataAugmenter('RandXReflection',true,'RandXReflection',false)",
         "'RandXReflection' is given twice"},
        {"imageDataAugmentor('RandXReflection',true)",
         "found 'imageDataAugmentor' where a call of imageDataAugmenter belongs, such as "
         "imageDataAugmenter('Name',value)"},
        /* a quoted text cut short at a ':' still leaves a message that says something */
        {"'-[1 ta -[18888888888888888888888888888:888888888 ta '", "where a call of"},
        {"imageDataAugmenter('RandXReflection' true)", "follows an argument; expected ',' or ')'"},
        {"imageDataAugmenter('RandXReflection',true", "'(' is never closed by ')'"},
        {"imageDataAugmenter('RandXReflection',true) x",
         "'x' follows the call; expected the end of the expression"},
    };
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mc_augmenter *aug = (mc_augmenter *)1;
        mc_status st = mc_augmenter_parse(ctx, cases[i].expr, &aug);
        ck_assert_msg(st == MC_ERR_FORMAT, "%s: status %d", cases[i].expr, st);
        ck_assert_ptr_null(aug);
        ck_assert_msg(strstr(mc_ctx_message(ctx), cases[i].want) != NULL, "%s:\n%s\nnot: %s",
                      cases[i].expr, mc_ctx_message(ctx), cases[i].want);
        ck_assert(test_message_has_text(mc_ctx_message(ctx)));
    }
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* Name=Value and any case; every property read; the MATLAB expression back. */
START_TEST(test_parse_options)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 1);
    mc_augmenter *aug =
        parse_ok(ctx, "imageDataAugmenter(randxreflection=true, RandYReflection=false, ...\n"
                      "'RandRotation',[-10 10],'RandXScale',[0.9 1.1],'RandYScale',[0.8,1.2],"
                      "'RandXShear',[-5 5],'RandYShear',[-6 6],'RandXTranslation',[-3 3],"
                      "'RandYTranslation',[-2 4],'FillValue',128);");
    const mc_augmenter_options *o = mc_augmenter_get_options(aug);
    ck_assert(o->rand_x_reflection && !o->rand_y_reflection && !o->rand_scale_set);
    ck_assert(o->rand_rotation[0] == -10 && o->rand_rotation[1] == 10);
    ck_assert(o->rand_y_scale[0] == 0.8 && o->rand_y_scale[1] == 1.2);
    ck_assert(o->rand_y_shear[0] == -6 && o->rand_y_translation[1] == 4);
    ck_assert(o->fill_count == 1 && o->fill_value[0] == 128);
    char buf[512];
    const size_t len = mc_augmenter_format(aug, buf, sizeof buf);
    ck_assert_uint_eq(len, strlen(buf));
    ck_assert_str_eq(buf, "imageDataAugmenter('FillValue',128,'RandXReflection',true,"
                          "'RandRotation',[-10 10],'RandXScale',[0.9 1.1],'RandYScale',[0.8 "
                          "1.2],'RandXShear',[-5 5],'RandYShear',[-6 6],'RandXTranslation',[-3 "
                          "3],'RandYTranslation',[-2 4])");
    /* a short buffer: truncated, the full length returned */
    char small[10];
    ck_assert_uint_eq(mc_augmenter_format(aug, small, sizeof small), len);
    ck_assert_str_eq(small, "imageData");
    /* the text parses back to the same options */
    mc_augmenter *again = parse_ok(ctx, buf);
    ck_assert(memcmp(mc_augmenter_get_options(again), o, sizeof *o) == 0);
    mc_augmenter_destroy(again);
    mc_augmenter_destroy(aug);
    /* numbers print as they read back: a shear just inside (-90, 90) stays inside */
    aug = parse_ok(ctx, "imageDataAugmenter('RandXShear',[-89.99999999 0.1],'FillValue',0.3)");
    mc_augmenter_format(aug, buf, sizeof buf);
    ck_assert_str_eq(buf, "imageDataAugmenter('FillValue',0.3,'RandXShear',[-89.99999999 0.1])");
    again = parse_ok(ctx, buf);
    ck_assert(memcmp(mc_augmenter_get_options(again), mc_augmenter_get_options(aug), sizeof *o) ==
              0);
    mc_augmenter_destroy(again);
    mc_augmenter_destroy(aug);
    aug = parse_ok(ctx, "imageDataAugmenter()");
    ck_assert_uint_eq(mc_augmenter_format(aug, buf, sizeof buf), 20);
    ck_assert_str_eq(buf, "imageDataAugmenter()");
    mc_augmenter_destroy(aug);
    /* the C API validates as the parser does */
    mc_augmenter_options d = mc_augmenter_default();
    d.rand_rotation[0] = 5;
    ck_assert_int_eq(mc_augmenter_create(ctx, &d, &aug), MC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "RandRotation [5 0] is not a range"));
    ck_assert_ptr_null(aug);
    mc_ctx_destroy(ctx);
}
END_TEST

/* Every allocation of parse and create can fail cleanly. */
START_TEST(test_alloc_failures)
{
    const char *expr = "imageDataAugmenter('RandXReflection',true,'RandRotation',[-10 10])";
    for (long k = 1;; k++) {
        test_alloc a;
        mc_ctx *ctx = test_ctx(&a, 1);
        a.fail_at = a.count + k;
        mc_augmenter *aug = NULL;
        mc_status st = mc_augmenter_parse(ctx, expr, &aug);
        a.fail_at = 0;
        if (st == MC_OK) {
            mc_augmenter_destroy(aug);
            mc_ctx_destroy(ctx);
            ck_assert_int_eq(a.live, 0);
            ck_assert_int_gt(k, 2);
            break;
        }
        ck_assert_int_eq(st, MC_ERR_NOMEM);
        ck_assert_ptr_null(aug);
        ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "out of memory"));
        mc_ctx_destroy(ctx);
        ck_assert_int_eq(a.live, 0);
    }
}
END_TEST

/* MNIST digits: the learnables after training with an augmenter (1,024 images, one epoch). */
static float *train_mnist(int threads, const mc_augmenter *aug, size_t *count, double *val_acc)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 7);
    mc_dataset train;
    mc_status st = mc_dataset_read_idx(ctx, MNIST "train-images-idx3-ubyte",
                                       MNIST "train-labels-idx1-ubyte", &train);
    ck_assert_msg(st == MC_OK, "%s (copy /work/main/data/mnist or run data/prepare-mnist)",
                  mc_ctx_message(ctx));
    mc_dataset small = mc_dataset_head(&train, 1024);
    const size_t bytes = mc_shape_numel(&small.shape) * sizeof(float);
    float *before = malloc(bytes);
    ck_assert_ptr_nonnull(before);
    memcpy(before, small.x, bytes);
    /* the validation data: other images, whose values must not change either */
    mc_dataset val = mc_dataset_head(&train, 2048);
    val.x += (size_t)1024 * 784;
    val.labels += 1024;
    val.shape.dims[0] = 1024;
    float *val_before = malloc(bytes);
    ck_assert_ptr_nonnull(val_before);
    memcpy(val_before, val.x, bytes);
    mc_net *net = NULL;
    st = mc_netfile_load(ctx, MC_SOURCE_DIR "/data/networks/reference-gray.net", &net, NULL);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    mc_train_options o = mc_train_default(MC_SOLVER_SGDM);
    o.max_epochs = 2;
    o.augmenter = aug;
    o.validation = &val;
    o.validation_frequency = 8;
    ck_assert_int_eq(mc_net_assemble(net, o.mini_batch_size), MC_OK);
    ck_assert_int_eq(mc_net_fit_input(net, &small, 1024), MC_OK);
    mc_set_threads(threads);
    st = mc_train(net, &small, &o, NULL, NULL);
    mc_set_threads(0);
    ck_assert_msg(st == MC_OK, "%s", mc_ctx_message(ctx));
    ck_assert_msg(memcmp(before, small.x, bytes) == 0, "augmentation changed the training data");
    ck_assert_msg(memcmp(val_before, val.x, bytes) == 0, "the validation data changed");
    double loss;
    ck_assert_int_eq(mc_evaluate(net, &val, val_acc, &loss), MC_OK);
    float *w = test_learnables(net, count);
    free(before);
    free(val_before);
    mc_net_destroy(net);
    mc_dataset_release(ctx, &train);
    mc_ctx_destroy(ctx);
    return w;
}

START_TEST(test_train_threads)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 1);
    mc_augmenter *aug =
        parse_ok(ctx, "imageDataAugmenter('RandRotation',[-10 10],'RandXTranslation',[-2 2],"
                      "'RandYTranslation',[-2 2])");
    size_t n1, n2, n0;
    double acc1, acc2, acc0;
    float *w1 = train_mnist(1, aug, &n1, &acc1);
    float *w2 = train_mnist(2, aug, &n2, &acc2);
    float *w0 = train_mnist(2, NULL, &n0, &acc0);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(memcmp(w1, w2, n1 * sizeof(float)) == 0, "1 and 2 threads: other weights");
    ck_assert_msg(memcmp(w1, w0, n1 * sizeof(float)) != 0, "the augmenter changed nothing");
    ck_assert_msg(acc1 > 0.6 && acc0 > 0.6, "validation accuracy %g with, %g without", acc1, acc0);
    free(w0);
    free(w1);
    free(w2);
    mc_augmenter_destroy(aug);
    mc_ctx_destroy(ctx);
}
END_TEST

/* An augmenter with feature data, or a FillValue for other channels, is refused before
 * training. */
START_TEST(test_train_refuses)
{
    test_alloc a_;
    mc_ctx *ctx = test_ctx(&a_, 1);
    mc_augmenter *aug = parse_ok(ctx, "imageDataAugmenter('FillValue',[1 2 3])");
    mc_net *net = NULL;
    mc_status st =
        mc_netfile_load(ctx, MC_SOURCE_DIR "/data/networks/reference-gray.net", &net, NULL);
    ck_assert_int_eq(st, MC_OK);
    mc_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.shape = test_shape(4, 8, 1, 28, 28);
    ds.x = test_floats(8 * 784);
    ds.labels = calloc(8, sizeof(int));
    ds.num_classes = 10;
    mc_train_options o = mc_train_default(MC_SOLVER_SGDM);
    o.mini_batch_size = 4;
    o.max_epochs = 1;
    o.augmenter = aug;
    st = mc_train(net, &ds, &o, NULL, NULL);
    ck_assert_int_eq(st, MC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "FillValue has 3 values but the images "
                                                      "have 1 channel"));
    free(ds.x);
    free(ds.labels);
    mc_net_destroy(net);
    mc_augmenter_destroy(aug);
    mc_ctx_destroy(ctx);
}
END_TEST

/* Runs the minicnn command with `args` from the source tree; its exit code. Output (both
 * streams) goes to `log` when it is not NULL. */
static int cli(const char *args, const char *log)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >'%s' 2>&1", MC_SOURCE_DIR, MC_CLI, args,
             log != NULL ? log : "/dev/null");
    const int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The whole of a small file (free it), or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(1 << 22);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, (1 << 22) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

#define AUG                                                                                        \
    "\"imageDataAugmenter('RandRotation',[-10 10],'RandXTranslation',[-2 "                         \
    "2],'RandXReflection',0)\""

/* minicnn train --augmenter: the saved weights of 1 and 2 threads are the same bytes; without
 * the augmenter they differ. */
START_TEST(test_cli_train_threads)
{
    char dir[] = "/tmp/mc_augment_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char args[2048], m1[64], m2[64], m0[64];
    snprintf(m1, sizeof m1, "%s/t1.mcnn", dir);
    snprintf(m2, sizeof m2, "%s/t2.mcnn", dir);
    snprintf(m0, sizeof m0, "%s/t0.mcnn", dir);
    const char *common = "train --data mnist --train-subset 512 --max-epochs 2 "
                         "--mini-batch-size 64 --verbose false";
    snprintf(args, sizeof args, "%s --augmenter " AUG " --threads 1 --save %s", common, m1);
    ck_assert_int_eq(cli(args, NULL), 0);
    char report[64];
    snprintf(report, sizeof report, "%s/report.json", dir);
    snprintf(args, sizeof args, "%s --augmenter " AUG " --threads 2 --save %s --report %s", common,
             m2, report);
    ck_assert_int_eq(cli(args, NULL), 0);
    size_t nr = 0;
    char *json = slurp(report, &nr);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(strstr(json, "\"augmenter\": \"imageDataAugmenter('RandRotation',[-10 10],"
                               "'RandXTranslation',[-2 2])\"") != NULL,
                  "%s", json);
    free(json);
    unlink(report);
    snprintf(args, sizeof args, "%s --threads 2 --save %s", common, m0);
    ck_assert_int_eq(cli(args, NULL), 0);
    size_t n1 = 0, n2 = 0, n0 = 0;
    char *b1 = slurp(m1, &n1), *b2 = slurp(m2, &n2), *b0 = slurp(m0, &n0);
    ck_assert(b1 != NULL && b2 != NULL && b0 != NULL);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(memcmp(b1, b2, n1) == 0, "the models of 1 and 2 threads differ");
    ck_assert_msg(n0 != n1 || memcmp(b1, b0, n1) != 0, "the augmenter changed nothing");
    free(b0);
    free(b1);
    free(b2);
    unlink(m0);
    unlink(m1);
    unlink(m2);
    /* a bad expression stops before any training, with the parser's message */
    char log[64];
    snprintf(log, sizeof log, "%s/log", dir);
    ck_assert_int_eq(
        cli("train --data mnist --augmenter \"imageDataAugmenter('RandRotate',[1 2])\"", log), 1);
    size_t n = 0;
    char *text = slurp(log, &n);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(strstr(text, "augmenter:1:20: unknown imageDataAugmenter property 'RandRotate' "
                               "(did you mean 'RandRotation'?)") != NULL,
                  "%s", text);
    ck_assert_ptr_null(strstr(text, "Epoch"));
    free(text);
    unlink(log);
    rmdir(dir);
}
END_TEST

/* minicnn data preview-augmented writes a PNG of the grid's size; errors write nothing. */
START_TEST(test_cli_preview)
{
    char dir[] = "/tmp/mc_preview_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char args[2048], png[64], log[64];
    snprintf(png, sizeof png, "%s/grid.png", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(args, sizeof args,
             "data preview-augmented --data mnist --augmenter " AUG " --rows 3 --columns 4 "
             "--out %s",
             png);
    ck_assert_int_eq(cli(args, log), 0);
    size_t n = 0;
    char *b = slurp(png, &n);
    ck_assert_ptr_nonnull(b);
    ck_assert(n > 24 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0);
    const unsigned char *u = (const unsigned char *)b;
    const unsigned w = (unsigned)u[16] << 24 | u[17] << 16 | u[18] << 8 | u[19];
    const unsigned h = (unsigned)u[20] << 24 | u[21] << 16 | u[22] << 8 | u[23];
    /* 4 columns and 3 rows of 112-pixel cells, with the labels and the title */
    ck_assert_msg(w > 4 * 112 && w < 4 * 112 + 200 && h > 3 * 112 && h < 3 * 112 + 250, "%ux%u", w,
                  h);
    free(b);
    unlink(png);
    snprintf(args, sizeof args,
             "data preview-augmented --data mnist --augmenter \"imageDataAugmenter('RandXShear',"
             "[0 90])\" --out %s",
             png);
    ck_assert_int_eq(cli(args, log), 1);
    char *text = slurp(log, &n);
    ck_assert_ptr_nonnull(strstr(text, "RandXShear must hold shear angles inside (-90, 90)"));
    free(text);
    ck_assert_int_ne(access(png, F_OK), 0);
    ck_assert_int_eq(cli("data preview-augmented --data mnist --out /tmp/never.png", log), 2);
    unlink(log);
    rmdir(dir);
}
END_TEST

static Suite *augment_suite(void)
{
    Suite *s = suite_create("augment");
    TCase *tc = tcase_create("augment");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_identity);
    tcase_add_test(tc, test_reflection);
    tcase_add_test(tc, test_rotation_90);
    tcase_add_test(tc, test_translation_and_fill);
    tcase_add_test(tc, test_scale);
    tcase_add_test(tc, test_shear);
    tcase_add_test(tc, test_composition_order);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_parse_options);
    tcase_add_test(tc, test_alloc_failures);
    tcase_add_test(tc, test_train_refuses);
    tcase_add_test(tc, test_train_threads);
    tcase_add_test(tc, test_cli_train_threads);
    tcase_add_test(tc, test_cli_preview);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(augment_suite());
}
