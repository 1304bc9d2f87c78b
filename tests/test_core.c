/* SPDX-License-Identifier: MIT */
/* Core: status table, context, RNG, tensors, text. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

START_TEST(test_status_table)
{
    ck_assert_str_eq(mc_status_name(MC_OK), "MC_OK");
    ck_assert_str_eq(mc_status_name(MC_ERR_NOMEM), "MC_ERR_NOMEM");
    ck_assert_str_eq(mc_status_text(MC_ERR_NOMEM), "out of memory");
    ck_assert_str_eq(mc_status_name(MC_ERR_CALLBACK), "MC_ERR_CALLBACK");
    ck_assert_str_eq(mc_status_name(MC_STATUS_COUNT_), "MC_UNKNOWN_STATUS");
    ck_assert_str_eq(mc_status_text((mc_status)-1), "unknown status");
    ck_assert_int_eq(MC_OK, 0);
    /* Every code has its own name and a text. */
    for (int i = 0; i < MC_STATUS_COUNT_; i++) {
        ck_assert_ptr_eq(strstr(mc_status_name((mc_status)i), "MC_"), mc_status_name((mc_status)i));
        ck_assert(strlen(mc_status_text((mc_status)i)) > 3);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(mc_status_name((mc_status)i), mc_status_name((mc_status)j));
    }
}
END_TEST

START_TEST(test_ctx_messages_and_allocator)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    ck_assert_int_eq(a.live, 1);
    ck_assert_str_eq(mc_ctx_message(ctx), "");
    ck_assert_int_eq(mc_ctx_fail(ctx, MC_ERR_IO, "cannot open %s: %s", "x.net", "gone"), MC_ERR_IO);
    ck_assert_str_eq(mc_ctx_message(ctx), "cannot open x.net: gone");
    mc_ctx_clear_message(ctx);
    ck_assert_str_eq(mc_ctx_message(ctx), "");
    /* Very long messages are cut, not overflowed. */
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mc_ctx_fail(ctx, MC_ERR_INVALID, "%s", big);
    ck_assert(strlen(mc_ctx_message(ctx)) < sizeof big - 1);
    void *p = mc_alloc(ctx, 100);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(a.live, 2);
    mc_free(ctx, p);
    mc_free(ctx, NULL);
    ck_assert_int_eq(a.live, 1);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
    mc_ctx_destroy(NULL);

    /* Creation itself fails cleanly. */
    test_alloc b = {1, 0, 0};
    mc_allocator al = test_alloc_make(&b);
    mc_ctx *none = (mc_ctx *)&b;
    ck_assert_int_eq(mc_ctx_create(&al, 1, &none), MC_ERR_NOMEM);
    ck_assert_ptr_null(none);
    ck_assert_int_eq(b.live, 0);
    /* NULL means malloc. */
    ck_assert_int_eq(mc_ctx_create(NULL, 1, &none), MC_OK);
    mc_ctx_destroy(none);
}
END_TEST

START_TEST(test_rng_basics)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 2024);
    /* xoshiro256** seeded through splitmix64(0): first output of the reference generator. */
    mc_rng_seed(ctx, 0);
    uint64_t first = mc_rng_next(ctx);
    mc_rng_seed(ctx, 0);
    ck_assert_uint_eq(mc_rng_next(ctx), first);
    mc_rng_seed(ctx, 1);
    ck_assert_uint_ne(mc_rng_next(ctx), first);
    /* The state round-trips exactly. */
    mc_rng_state st = mc_rng_get_state(ctx);
    uint64_t seq[4];
    for (int i = 0; i < 4; i++)
        seq[i] = mc_rng_next(ctx);
    mc_rng_set_state(ctx, st);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(mc_rng_next(ctx), seq[i]);
    /* Uniform in [0, 1), normal with mean 0 and variance 1. */
    const int n = 200000;
    double su = 0, sn = 0, sn2 = 0;
    for (int i = 0; i < n; i++) {
        double u = mc_rng_uniform(ctx);
        ck_assert(u >= 0.0 && u < 1.0);
        su += u;
        double z = mc_rng_normal(ctx);
        ck_assert(isfinite(z));
        sn += z;
        sn2 += z * z;
    }
    ck_assert_double_eq_tol(su / n, 0.5, 0.005);
    ck_assert_double_eq_tol(sn / n, 0.0, 0.01);
    ck_assert_double_eq_tol(sn2 / n, 1.0, 0.02);
    mc_ctx_destroy(ctx);
}
END_TEST

/* splitmix64 from seed 0 gives the published sequence e220a8397b1dcdaf, 6e789e6aa1b965f4, ...
 * (Vigna's reference code); xoshiro256** starts from those four words. */
START_TEST(test_rng_reference_values)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 0);
    mc_rng_state st = mc_rng_get_state(ctx);
    ck_assert_uint_eq(st.s[0], 0xe220a8397b1dcdafULL);
    ck_assert_uint_eq(st.s[1], 0x6e789e6aa1b965f4ULL);
    ck_assert_uint_eq(st.s[2], 0x06c45d188009454fULL);
    ck_assert_uint_eq(st.s[3], 0xf88bb8a8724c81ecULL);
    /* result = rotl(s1 * 5, 7) * 9 */
    uint64_t x = st.s[1] * 5;
    x = (x << 7) | (x >> 57);
    ck_assert_uint_eq(mc_rng_next(ctx), x * 9);
    mc_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_shapes_and_tensors)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_shape s = test_shape(4, 2, 3, 4, 5);
    ck_assert_uint_eq(mc_shape_numel(&s), 120);
    ck_assert_int_eq(mc_shape_kind(&s), MC_DATA_IMAGE2D);
    mc_shape f = test_shape(2, 8, 3), q = test_shape(3, 8, 3, 7), v = test_shape(5, 1, 2, 3, 4, 5);
    ck_assert_int_eq(mc_shape_kind(&f), MC_DATA_FEATURE);
    ck_assert_int_eq(mc_shape_kind(&q), MC_DATA_SEQUENCE);
    ck_assert_int_eq(mc_shape_kind(&v), MC_DATA_IMAGE3D);
    mc_shape one = test_shape(1, 4);
    ck_assert_int_eq(mc_shape_kind(&one), MC_DATA_INVALID);
    char buf[64];
    ck_assert_int_eq(mc_shape_format(&s, "x", buf, sizeof buf), 7);
    ck_assert_str_eq(buf, "2x3x4x5");
    ck_assert_int_eq(mc_shape_format(&s, "x", buf, 4), 7); /* cut, still terminated */
    ck_assert_str_eq(buf, "2x3");

    mc_tensor t;
    ck_assert_int_eq(mc_tensor_create(ctx, &s, &t), MC_OK);
    ck_assert_uint_eq(mc_tensor_numel(&t), 120);
    for (size_t i = 0; i < 120; i++)
        ck_assert(t.data[i] == 0.0f);
    mc_tensor_release(ctx, &t);
    ck_assert_ptr_null(t.data);
    ck_assert_int_eq(a.live, 1);

    mc_shape zero = test_shape(2, 3, 0);
    ck_assert_int_eq(mc_tensor_create(ctx, &zero, &t), MC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(mc_ctx_message(ctx), "[3x0]"));
    mc_shape huge = test_shape(4, 1 << 30, 1 << 30, 1 << 30, 1 << 30);
    ck_assert_uint_eq(mc_shape_numel(&huge), 0);
    ck_assert_int_eq(mc_tensor_create(ctx, &huge, &t), MC_ERR_INVALID);
    a.fail_at = a.count + 1;
    ck_assert_int_eq(mc_tensor_create(ctx, &s, &t), MC_ERR_NOMEM);
    ck_assert_ptr_null(t.data);

    float data[6] = {1, 2, 3, 4, 5, 6};
    mc_shape s6 = test_shape(2, 2, 3);
    mc_tensor view = mc_tensor_view(data, &s6);
    ck_assert_uint_eq(mc_tensor_numel(&view), 6);
    mc_tensor_release(ctx, &view); /* borrowed data is not freed */
    ck_assert(data[5] == 6.0f);
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

/* An allocator whose blocks start `user` bytes (a multiple of 16) past malloc's: aligned for
 * any type, as the contract asks, but on no 64-byte boundary. */
static void *offset_alloc(void *user, size_t size)
{
    const size_t off = *(const size_t *)user;
    char *p = malloc(size + off);
    return p != NULL ? p + off : NULL;
}

static void offset_release(void *user, void *ptr)
{
    if (ptr != NULL)
        free((char *)ptr - *(const size_t *)user);
}

/* Tensor data starts on a 64-byte boundary whatever the allocator returns, and is released
 * through the block the allocator gave (AddressSanitizer checks both frees and bounds). */
START_TEST(test_tensor_data_aligned)
{
    static const size_t offsets[] = {16, 32, 48, 64};
    for (size_t k = 0; k < 4; k++) {
        size_t off = offsets[k];
        const mc_allocator al = {offset_alloc, offset_release, &off};
        mc_ctx *ctx;
        ck_assert_int_eq(mc_ctx_create(&al, 1, &ctx), MC_OK);
        for (int n = 1; n <= 1000; n += 333) {
            mc_shape s = test_shape(2, n, 3);
            mc_tensor t;
            ck_assert_int_eq(mc_tensor_create(ctx, &s, &t), MC_OK);
            ck_assert_msg((uintptr_t)t.data % 64 == 0, "offset %zu, %d x 3: data at %p", off, n,
                          (void *)t.data);
            for (size_t i = 0; i < mc_tensor_numel(&t); i++) {
                ck_assert(t.data[i] == 0.0f);
                t.data[i] = (float)i;
            }
            mc_tensor_release(ctx, &t);
        }
        mc_ctx_destroy(ctx);
    }
}
END_TEST

START_TEST(test_text)
{
    test_alloc a;
    mc_ctx *ctx = test_ctx(&a, 1);
    mc_text t = mc_text_init(ctx);
    for (int i = 0; i < 1000; i++)
        mc_text_printf(&t, "%d,", i % 10);
    char *s = NULL;
    ck_assert_int_eq(mc_text_take(&t, &s), MC_OK);
    ck_assert_uint_eq(strlen(s), 2000);
    ck_assert(strncmp(s, "0,1,2,", 6) == 0);
    mc_free(ctx, s);
    /* An empty text is "" */
    t = mc_text_init(ctx);
    ck_assert_int_eq(mc_text_take(&t, &s), MC_OK);
    ck_assert_str_eq(s, "");
    mc_free(ctx, s);
    /* A failed append is reported once at the end, and nothing leaks. */
    t = mc_text_init(ctx);
    mc_text_printf(&t, "abc");
    a.fail_at = a.count + 1;
    mc_text_printf(&t, "%0500d", 1);
    mc_text_printf(&t, "more");
    ck_assert_int_eq(mc_text_take(&t, &s), MC_ERR_NOMEM);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(mc_ctx_message(ctx), "out of memory while formatting text (512 bytes)");
    mc_ctx_destroy(ctx);
    ck_assert_int_eq(a.live, 0);
}
END_TEST

START_TEST(test_format_short)
{
    /* MATLAB's `format short` display of scalars. */
    const struct {
        double v;
        const char *want;
    } cases[] = {
        {1e-5, "1.0000e-05"},  {3, "3"},           {-20, "-20"},          {0, "0"},
        {-0.0, "0"},           {0.01, "0.0100"},   {0.5, "0.5000"},       {2.5, "2.5000"},
        {0.001, "1.0000e-03"}, {0.0011, "0.0011"}, {123.456, "123.4560"}, {1000.5, "1.0005e+03"},
        {1e10, "1.0000e+10"},  {100000, "100000"}, {INFINITY, "Inf"},     {-INFINITY, "-Inf"},
        {NAN, "NaN"},          {-0.25, "-0.2500"}, {1e-4, "1.0000e-04"},
    };
    char buf[40];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_str_eq(mc_format_short(cases[i].v, buf, sizeof buf), cases[i].want);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_status_table);
    tcase_add_test(tc, test_ctx_messages_and_allocator);
    tcase_add_test(tc, test_rng_basics);
    tcase_add_test(tc, test_rng_reference_values);
    tcase_add_test(tc, test_shapes_and_tensors);
    tcase_add_test(tc, test_tensor_data_aligned);
    tcase_add_test(tc, test_text);
    tcase_add_test(tc, test_format_short);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(core_suite());
}
