/* The minicnn command as a user runs it: outputs, exit codes, files written. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* Runs `args` with the command from the source tree; returns the exit code, stdout in *out
 * (and stderr too when merge), to be freed. */
static int run(const char *args, char **out, int merge)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s %s", MC_SOURCE_DIR, MC_CLI, args,
             merge ? "2>&1" : "2>/dev/null");
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    size_t k;
    while ((k = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += k;
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
    }
    buf[len] = '\0';
    int status = pclose(p);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_info_prints_the_reference_display)
{
    char *out;
    ck_assert_int_eq(run("info data/networks/reference.net", &out, 0), 0);
    const char *want = test_reference_display;
    ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "got:\n%s", out);
    free(out);
    ck_assert_int_eq(run("layer \"groupNormalizationLayer(3,'Name','groupnorm')\"", &out, 0), 0);
    ck_assert_str_eq(out, "layer = \n"
                          "  GroupNormalizationLayer with properties:\n\n"
                          "           Name: 'groupnorm'\n"
                          "    NumChannels: 'auto'\n\n"
                          "   Hyperparameters\n"
                          "      NumGroups: 3\n"
                          "        Epsilon: 1.0000e-05\n\n"
                          "   Learnable Parameters\n"
                          "         Offset: []\n"
                          "          Scale: []\n\n"
                          "  Show all properties\n");
    free(out);
    /* several layers show as MATLAB displays a Layer array, not only the first */
    ck_assert_int_eq(run("layer \"reluLayer; reluLayer('Name','r')\"", &out, 0), 0);
    ck_assert_str_eq(out, "layers = \n"
                          "  2x1 Layer array with layers:\n\n"
                          "     1   ''    ReLU   ReLU\n"
                          "     2   'r'   ReLU   ReLU\n");
    free(out);
}
END_TEST

START_TEST(test_errors_and_exit_codes)
{
    char *out;
    ck_assert_int_eq(run("train --max-epoch 3", &out, 1), 2);
    ck_assert_ptr_nonnull(strstr(out, "unknown flag '--max-epoch' (did you mean '--max-epochs'?)"));
    free(out);
    ck_assert_int_eq(run("train --mini-batch-size -4", &out, 1), 2);
    ck_assert_ptr_nonnull(strstr(out, "--mini-batch-size takes a nonnegative whole number, not '-4'"));
    free(out);
    ck_assert_int_eq(run("train --initial-learn-rate nan", &out, 1), 2);
    ck_assert_ptr_nonnull(strstr(out, "--initial-learn-rate takes a number, not 'nan'"));
    free(out);
    ck_assert_int_eq(run("train --data mnist --net data/networks/reference.net --max-epochs 1",
                         &out, 1),
                     1);
    ck_assert_ptr_nonnull(strstr(out, "add --color-preprocessing gray2rgb"));
    free(out);
    ck_assert_int_eq(run("info /nonexistent.net", &out, 1), 1);
    ck_assert_ptr_nonnull(strstr(out, "cannot open network file '/nonexistent.net': No such file"));
    free(out);
    ck_assert_int_eq(run("nonsense", &out, 1), 2);
    free(out);
}
END_TEST

/* A short MNIST run: --report writes the JSON, --min-accuracy turns a miss into exit 3. */
START_TEST(test_train_report_and_min_accuracy)
{
    char report[] = "/tmp/minicnn-cli-report-XXXXXX";
    int fd = mkstemp(report);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char args[512], *out;
    snprintf(args, sizeof args,
             "train --data mnist --max-epochs 1 --train-subset 1024 --mini-batch-size 64 "
             "--verbose false --report %s --min-accuracy 0.999",
             report);
    ck_assert_int_eq(run(args, &out, 1), 3);
    ck_assert_ptr_nonnull(strstr(out, "is below --min-accuracy 0.9990"));
    free(out);
    char *json = NULL;
    FILE *f = fopen(report, "r");
    ck_assert_ptr_nonnull(f);
    json = calloc(1, 1 << 16);
    ck_assert_uint_gt(fread(json, 1, (1 << 16) - 1, f), 100);
    fclose(f);
    const char *p = strstr(json, "\"test_accuracy\": ");
    ck_assert_ptr_nonnull(p);
    const double acc = strtod(p + 17, NULL);
    ck_assert_msg(acc > 0.5 && acc < 0.999, "accuracy %g", acc);
    ck_assert_ptr_nonnull(strstr(json, "\"images_per_second\""));
    ck_assert_ptr_nonnull(strstr(json, "\"mini_batch_size\": 64"));
    free(json);
    remove(report);
}
END_TEST

/* The size a PNG file's header declares. */
static void png_size(const char *path, unsigned *w, unsigned *h)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s is missing", path);
    unsigned char head[24];
    ck_assert_uint_eq(fread(head, 1, 24, f), 24);
    fclose(f);
    ck_assert(memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0);
    *w = (unsigned)head[16] << 24 | head[17] << 16 | head[18] << 8 | head[19];
    *h = (unsigned)head[20] << 24 | head[21] << 16 | head[22] << 8 | head[23];
}

/* normlab writes a PNG of the stated size whose data (FIGURE.csv) are the printed table's. */
START_TEST(test_normlab_figure)
{
    char dir[] = "/tmp/minicnn-cli-normlab-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char args[512], *out;
    snprintf(args, sizeof args,
             "normlab --data mnist --subset 256 --seeds 2 --batch-sizes 32,16 --norms gn,bn "
             "--figure %s/f.png",
             dir);
    ck_assert_int_eq(run(args, &out, 0), 0);
    char png[512], csv[512];
    FILE *f;
    snprintf(png, sizeof png, "%s/f.png", dir);
    snprintf(csv, sizeof csv, "%s/f.png.csv", dir);
    unsigned w, h;
    png_size(png, &w, &h);
    ck_assert_uint_eq(w, 900);
    ck_assert_uint_eq(h, 600);
    /* the GN row of the table and the GN points of the figure hold the same means */
    const char *row = strstr(out, "\n  GN ");
    ck_assert_ptr_nonnull(row);
    double t32 = NAN, t16 = NAN;
    ck_assert_int_eq(sscanf(row, "\n  GN %lf ± %*f %lf", &t32, &t16), 2);
    f = fopen(csv, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    int seen = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        double batch, mean;
        if (sscanf(line, "GN,%lf,%lf", &batch, &mean) == 2) {
            ck_assert_double_eq_tol(mean, batch == 32 ? t32 : t16, 0.051);
            seen++;
        }
    }
    fclose(f);
    ck_assert_int_eq(seen, 2);
    ck_assert_ptr_nonnull(strstr(out, "BN (batch statistics)"));
    free(out);
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* --plots training-progress draws a 1000x760 PNG; --log holds one row per iteration whose losses
 * average to the epoch loss of the --report. */
START_TEST(test_training_progress_outputs)
{
    char dir[] = "/tmp/minicnn-cli-progress-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char args[1024], *out;
    snprintf(args, sizeof args,
             "train --data mnist --max-epochs 2 --train-subset 640 --mini-batch-size 64 "
             "--verbose false --validation-data test --validation-frequency 4 "
             "--plots training-progress %s/p.png --log %s/log.csv --report %s/r.json",
             dir, dir, dir);
    ck_assert_int_eq(run(args, &out, 1), 0);
    free(out);
    char path[512];
    snprintf(path, sizeof path, "%s/p.png", dir);
    unsigned w, h;
    png_size(path, &w, &h);
    ck_assert(w == 1000 && h == 760);
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* header */
    int rows = 0, validated = 0, epoch, iteration;
    double sum1 = 0, seconds, loss, acc, rate;
    char rest[128];
    while (fgets(line, sizeof line, f) != NULL) {
        ck_assert_int_eq(sscanf(line, "%d,%d,%lf,%lf,%lf,%lf,%127s", &epoch, &iteration, &seconds,
                                &loss, &acc, &rate, rest),
                         7);
        rows++;
        ck_assert_int_eq(iteration, rows);
        validated += rest[0] != ',';
        if (epoch == 1)
            sum1 += loss;
    }
    fclose(f);
    ck_assert_int_eq(rows, 20);      /* 2 epochs of 10 iterations */
    ck_assert_int_eq(validated, 6);  /* iterations 1, 4, 8, 12, 16, 20 */
    snprintf(path, sizeof path, "%s/r.json", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char buf[8192] = "";
    ck_assert_uint_gt(fread(buf, 1, sizeof buf - 1, f), 10);
    fclose(f);
    const char *e1 = strstr(buf, "\"epoch\": 1, \"loss\": ");
    ck_assert_ptr_nonnull(e1);
    ck_assert_double_eq_tol(strtod(e1 + strlen("\"epoch\": 1, \"loss\": "), NULL), sum1 / 10,
                            1e-4);
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* inspect draws the histograms around a normalization layer and the grid of the reference's
 * 20 5x5 filters (8 per row, 40-pixel tiles). */
START_TEST(test_inspect)
{
    char dir[] = "/tmp/minicnn-cli-inspect-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char args[1024], *out, path[512];
    snprintf(args, sizeof args,
             "train --data mnist --max-epochs 1 --train-subset 512 --verbose false --save %s/m",
             dir);
    ck_assert_int_eq(run(args, &out, 1), 0);
    free(out);
    snprintf(args, sizeof args, "inspect %s/m --layer groupnorm --data mnist --images 64 --out %s/i",
             dir, dir);
    ck_assert_int_eq(run(args, &out, 1), 0);
    ck_assert_ptr_nonnull(strstr(out, "Histograms of 'groupnorm' on 64 test images"));
    free(out);
    unsigned w, h;
    snprintf(path, sizeof path, "%s/i-histograms.png", dir);
    png_size(path, &w, &h);
    ck_assert(w == 1000 && h == 800);
    snprintf(path, sizeof path, "%s/i-filters.png", dir);
    png_size(path, &w, &h);
    ck_assert_msg(w == 356 && h == 136, "%ux%u", w, h);
    snprintf(args, sizeof args, "inspect %s/m --layer nope --data mnist", dir);
    ck_assert_int_eq(run(args, &out, 1), 1);
    ck_assert_ptr_nonnull(strstr(out, "the network has no hidden layer named 'nope'"));
    free(out);
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_info_prints_the_reference_display);
    tcase_add_test(tc, test_errors_and_exit_codes);
    tcase_add_test(tc, test_train_report_and_min_accuracy);
    tcase_add_test(tc, test_normlab_figure);
    tcase_add_test(tc, test_training_progress_outputs);
    tcase_add_test(tc, test_inspect);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(cli_suite());
}
