/* SPDX-License-Identifier: MIT */
/* The minicnn command as a user runs it: outputs, exit codes, files written. */
#define _XOPEN_SOURCE 700 /* posix_openpt and its kin, for the terminal tests */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../apps/progress.h"
#include "../apps/verbose.h"
#include "testutil.h"

/* Runs `args` with the command from the source tree; returns the exit code, stdout in *out
 * (and stderr too when merge), to be freed. */
static int run(const char *args, char **out, int merge)
{
    const size_t n = strlen(MC_SOURCE_DIR) + strlen(MC_CLI) + strlen(args) + 64;
    char *cmd = malloc(n);
    ck_assert_ptr_nonnull(cmd);
    snprintf(cmd, n, "cd '%s' && '%s' %s %s", MC_SOURCE_DIR, MC_CLI, args,
             merge ? "2>&1" : "2>/dev/null");
    FILE *p = popen(cmd, "r");
    free(cmd);
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
    ck_assert_ptr_nonnull(strstr(out, "--mini-batch-size -4 is out of range: it takes a whole "
                                      "number from 1 to 1000000"));
    free(out);
    ck_assert_int_eq(run("train --initial-learn-rate nan", &out, 1), 2);
    ck_assert_ptr_nonnull(strstr(out, "--initial-learn-rate takes a number, not 'nan'"));
    free(out);
    ck_assert_int_eq(
        run("train --data mnist --net data/networks/reference.net --max-epochs 1", &out, 1), 1);
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
    /* a label with a comma is quoted (RFC 4180): the rows keep four fields */
    f = fopen(csv, "r");
    ck_assert_ptr_nonnull(f);
    int quoted = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        int fields = 1, in_quotes = 0;
        for (const char *c = line; *c != '\0' && *c != '\n'; c++) {
            in_quotes ^= *c == '"';
            fields += *c == ',' && !in_quotes;
        }
        ck_assert_msg(fields == 4, "%d fields in %s", fields, line);
        quoted += strncmp(line, "\"BN, batch statistics at test\",", 31) == 0;
    }
    fclose(f);
    ck_assert_int_eq(quoted, 2);
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
    ck_assert_int_eq(rows, 20);     /* 2 epochs of 10 iterations */
    ck_assert_int_eq(validated, 6); /* iterations 1, 4, 8, 12, 16, 20 */
    snprintf(path, sizeof path, "%s/r.json", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char buf[8192] = "";
    ck_assert_uint_gt(fread(buf, 1, sizeof buf - 1, f), 10);
    fclose(f);
    const char *e1 = strstr(buf, "\"epoch\": 1, \"loss\": ");
    ck_assert_ptr_nonnull(e1);
    /* both files' numbers read back exactly: the same mean to the last bit */
    ck_assert_double_eq(strtod(e1 + strlen("\"epoch\": 1, \"loss\": "), NULL), sum1 / 10);
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* inspect draws the histograms entering and leaving a normalization layer side by side and the
 * numbered grid of the reference's 20 5x5 filters (10 per row, 40-pixel filters, a colour bar). */
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
    snprintf(args, sizeof args,
             "inspect %s/m --layer groupnorm --data mnist --images 64 --out %s/i", dir, dir);
    ck_assert_int_eq(run(args, &out, 1), 0);
    ck_assert_ptr_nonnull(strstr(out, "Histograms of 'groupnorm' on 64 test images"));
    free(out);
    unsigned w, h;
    snprintf(path, sizeof path, "%s/i-histograms.png", dir);
    png_size(path, &w, &h);
    ck_assert_msg(w == 1400 && h == 620, "%ux%u", w, h);
    snprintf(path, sizeof path, "%s/i-filters.png", dir);
    png_size(path, &w, &h);
    ck_assert_msg(w == 640 && h == 200, "%ux%u", w, h);
    snprintf(args, sizeof args, "inspect %s/m --layer nope --data mnist", dir);
    ck_assert_int_eq(run(args, &out, 1), 1);
    ck_assert_ptr_nonnull(strstr(out, "the network has no hidden layer named 'nope'"));
    free(out);
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* ---- the grammar shared by every command ---- */

static const char *const commands[] = {"train",   "classify", "predict",         "normlab",
                                       "inspect", "data",     "data export-png", "info",
                                       "layer",   "help",     "version"};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

/* Every command's --help and `help COMMAND`: the same text on stdout, exit 0. */
START_TEST(test_every_help)
{
    for (int i = 0; i < N_COMMANDS; i++) {
        char args[128], *out, *again, want[128];
        snprintf(args, sizeof args, "%s --help", commands[i]);
        ck_assert_msg(run(args, &out, 0) == 0, "%s", args);
        snprintf(want, sizeof want, "usage: minicnn %s", commands[i]);
        ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s:\n%s", args, out);
        if (strcmp(commands[i], "data export-png") != 0) {
            snprintf(args, sizeof args, "help %s", commands[i]);
            ck_assert_int_eq(run(args, &again, 0), 0);
            ck_assert_str_eq(again, out);
            free(again);
        }
        /* -h too */
        snprintf(args, sizeof args, "%s -h", commands[i]);
        ck_assert_int_eq(run(args, &again, 0), 0);
        ck_assert_str_eq(again, out);
        free(again);
        free(out);
    }
}
END_TEST

/* A misspelled flag: exit 2, nothing on stdout, the nearest flag suggested on stderr. */
START_TEST(test_misspelled_flags)
{
    static const char *const cases[][2] = {
        {"train --max-epoch 3", "minicnn train: unknown flag '--max-epoch' (did you mean "
                                "'--max-epochs'?)"},
        {"train --validaton-frequency=3", "(did you mean '--validation-frequency'?)"},
        {"classify m.mcnn --colour-preprocessing gray2rgb",
         "minicnn classify: unknown flag '--colour-preprocessing' (did you mean "
         "'--color-preprocessing'?)"},
        {"predict m.mcnn a.png --topk 3", "minicnn predict: unknown flag '--topk' (did you mean "
                                          "'--top-k'?)"},
        {"normlab --seed 2", "minicnn normlab: unknown flag '--seed' (did you mean '--seeds'?)"},
        {"inspect m.mcnn --layr groupnorm", "minicnn inspect: unknown flag '--layr' (did you "
                                            "mean '--layer'?)"},
        {"data export-png --forse out", "minicnn data export-png: unknown flag '--forse' (did "
                                        "you mean '--force'?)"},
        {"data exprt-png out", "minicnn data: unknown tool 'exprt-png' (did you mean "
                               "'export-png'?)"},
        {"layer --al reluLayer", "minicnn layer: unknown flag '--al' (did you mean '--all'?)"},
        {"info --al x.net", "minicnn info: unknown flag '--al'; it takes no flags"},
        {"help --verbose", "minicnn help: unknown flag '--verbose'; it takes no flags"},
        {"version --jsn", "minicnn version: unknown flag '--jsn'; it takes no flags"},
        {"trian", "minicnn: unknown command 'trian' (did you mean 'train'?)"},
        {"help trian", "minicnn: unknown command 'trian' (did you mean 'train'?)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out;
        ck_assert_msg(run(cases[i][0], &out, 0) == 2, "%s", cases[i][0]);
        ck_assert_msg(out[0] == '\0', "%s printed on stdout: %s", cases[i][0], out);
        free(out);
        ck_assert_int_eq(run(cases[i][0], &out, 1), 2);
        ck_assert_msg(strstr(out, cases[i][1]) != NULL, "%s: %s", cases[i][0], out);
        free(out);
    }
}
END_TEST

/* Each command takes its own flags only, and says so in its own name. */
START_TEST(test_own_flags)
{
    char *out;
    ck_assert_int_eq(run("classify m.mcnn --max-epochs 3", &out, 1), 2);
    ck_assert_ptr_nonnull(strstr(out, "minicnn classify: unknown flag '--max-epochs'; 'minicnn "
                                      "classify --help' lists the flags"));
    ck_assert_ptr_null(strstr(out, "train"));
    free(out);
    ck_assert_int_eq(run("classify --help", &out, 0), 0);
    ck_assert_ptr_null(strstr(out, "--max-epochs"));
    free(out);
    ck_assert_int_eq(run("classify m.mcnn --test-images x", &out, 1), 2);
    ck_assert_ptr_nonnull(strstr(out, "minicnn classify: give both --test-images and "
                                      "--test-labels"));
    free(out);
    ck_assert_int_eq(run("info a.net b.net", &out, 1), 2);
    ck_assert_ptr_nonnull(strstr(out, "minicnn info: unexpected argument 'b.net'"));
    free(out);
    ck_assert_int_eq(run("predict m.mcnn", &out, 1), 2);
    ck_assert_ptr_nonnull(strstr(out, "minicnn predict: too few arguments"));
    free(out);
    ck_assert_int_eq(run("", &out, 0), 2); /* no command: the list, on stderr */
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

/* Every number goes through the same checks, --flag=value as --flag value. */
START_TEST(test_numbers)
{
    static const char *const cases[][2] = {
        {"train --max-epochs 1000000000", "--max-epochs 1000000000 is out of range: it takes a "
                                          "whole number from 1 to 1000000"},
        {"train --max-epochs=2.5", "--max-epochs takes a whole number from 1 to 1000000, not "
                                   "'2.5'"},
        {"train --mini-batch-size=0", "--mini-batch-size 0 is out of range"},
        {"train --initial-learn-rate 1e309", "--initial-learn-rate 1e309 is out of range: it is "
                                             "beyond the largest number in double precision"},
        {"train --epsilon 1e-320", "--epsilon 1e-320 is out of range: it is below the smallest "
                                   "normal number in double precision"},
        {"train --momentum=abc", "--momentum takes a number, not 'abc'"},
        {"train --seed -1", "--seed -1 is out of range"},
        {"train --seed 18446744073709551616", "--seed 18446744073709551616 is out of range"},
        {"train --validation-patience -1", "--validation-patience -1 is out of range: it takes "
                                           "a whole number of at least 0, or Inf"},
        {"train --verbose maybe", "--verbose takes true or false, not 'maybe'"},
        {"train --net", "--net needs a value"},
        {"normlab --epochs 99999999999", "minicnn normlab: --epochs 99999999999 is out of range"},
        {"normlab --seeds 17", "minicnn normlab: --seeds 17 is out of range: it takes a whole "
                               "number from 1 to 16"},
        {"normlab --batch-sizes 32,0", "'0' is out of range"},
        {"normlab --batch-sizes 32,x", "'x' is not one"},
        {"normlab --base-learn-rate 1e-320", "--base-learn-rate 1e-320 is out of range"},
        {"inspect m --layer g --images 99999999999", "minicnn inspect: --images 99999999999 is "
                                                     "out of range"},
        {"predict m a.png --top-k 1e99", "minicnn predict: --top-k 1e99 is out of range"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out;
        ck_assert_msg(run(cases[i][0], &out, 1) == 2, "%s: %s", cases[i][0], out);
        ck_assert_msg(strstr(out, cases[i][1]) != NULL, "%s: %s", cases[i][0], out);
        free(out);
    }
    /* Inf where MATLAB takes it; a value in the form --flag=value */
    char *out;
    ck_assert_int_eq(
        run("train --validation-patience=Inf --gradient-threshold inf --data nope", &out, 1), 2);
    ck_assert_ptr_nonnull(strstr(out, "unknown data set 'nope'"));
    free(out);
}
END_TEST

/* --mini-batch-size against the data, named, before any buffer is sized by it. */
START_TEST(test_mini_batch_size_and_data)
{
    char *out;
    ck_assert_int_eq(run("train --data mnist --train-subset 100 --mini-batch-size 1000 "
                         "--verbose false",
                         &out, 1),
                     1);
    ck_assert_ptr_nonnull(strstr(out, "--mini-batch-size 1000 is larger than the training data "
                                      "(100 observations after --train-subset); give at most "
                                      "100"));
    free(out);
    ck_assert_int_eq(run("train --data mnist --mini-batch-size 1000000 --verbose false", &out, 1),
                     1);
    ck_assert_ptr_nonnull(strstr(out, "--mini-batch-size 1000000 is larger than the training "
                                      "data ("));
    free(out);
}
END_TEST

START_TEST(test_execution_environment)
{
    char *out;
    static const char *const refused[3] = {"gpu", "multi-gpu", "parallel"};
    for (int i = 0; i < 3; i++) {
        char args[128], want[128];
        snprintf(args, sizeof args, "train --execution-environment %s", refused[i]);
        snprintf(want, sizeof want, "--execution-environment %s: minicnn trains on the CPU",
                 refused[i]);
        ck_assert_int_eq(run(args, &out, 1), 2);
        ck_assert_msg(strstr(out, want) != NULL, "%s", out);
        free(out);
    }
    ck_assert_int_eq(run("train --execution-environment cpu --data mnist --max-epochs 1 "
                         "--train-subset 256 --mini-batch-size 64 --verbose false",
                         &out, 1),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "Test accuracy: "));
    free(out);
}
END_TEST

/* MATLAB's table: "Training on single CPU." first, a row at every validation as well as every
 * VerboseFrequency iterations, rates below 1e-4 in e-notation. */
START_TEST(test_verbose_table)
{
    char *out;
    ck_assert_int_eq(run("train --data mnist --train-subset 256 --mini-batch-size 64 "
                         "--max-epochs 3 --initial-learn-rate 0.001 --learn-rate-schedule "
                         "piecewise --learn-rate-drop-period 1 --validation-data test "
                         "--validation-frequency 3 --threads 2",
                         &out, 0),
                     0);
    const char *cpu = strstr(out, "Training on single CPU.\n");
    const char *table = strstr(out, "|  Epoch  |");
    ck_assert_ptr_nonnull(cpu);
    ck_assert_ptr_nonnull(table);
    ck_assert(cpu < table);
    /* 4 iterations per epoch, 12 in all: validations at 1, 3, 6, 9, 12, each a row */
    const int want[5] = {1, 3, 6, 9, 12};
    int rows = 0;
    for (const char *line = table; (line = strstr(line, "\n|")) != NULL; line++) {
        int epoch, iteration;
        if (sscanf(line, "\n|%d |%d |", &epoch, &iteration) != 2)
            continue;
        ck_assert_int_lt(rows, 5);
        ck_assert_int_eq(iteration, want[rows]);
        rows++;
    }
    ck_assert_int_eq(rows, 5);
    ck_assert_ptr_nonnull(strstr(out, "|          0.0010 |\n"));
    ck_assert_ptr_nonnull(strstr(out, "|      1.0000e-04 |\n"));
    ck_assert_ptr_nonnull(strstr(out, "|      1.0000e-05 |\n"));
    ck_assert_ptr_null(strstr(out, "0.0000 |\n"));
    free(out);
}
END_TEST

/* The cells themselves, as MATLAB's reporter formats them. */
START_TEST(test_verbose_cells)
{
    char buf[48];
    ck_assert_str_eq(verbose_cell(0.001, VERBOSE_RATE, 16, buf, sizeof buf), "          0.0010");
    ck_assert_str_eq(verbose_cell(0.0005, VERBOSE_RATE, 16, buf, sizeof buf), "          0.0005");
    ck_assert_str_eq(verbose_cell(1e-4, VERBOSE_RATE, 16, buf, sizeof buf), "      1.0000e-04");
    ck_assert_str_eq(verbose_cell(2.5e-5, VERBOSE_RATE, 16, buf, sizeof buf), "      2.5000e-05");
    ck_assert_str_eq(verbose_cell(0.3164, VERBOSE_LOSS, 13, buf, sizeof buf), "       0.3164");
    ck_assert_str_eq(verbose_cell(123456.7, VERBOSE_LOSS, 13, buf, sizeof buf), "  123456.7000");
    ck_assert_str_eq(verbose_cell(2e6, VERBOSE_LOSS, 13, buf, sizeof buf), "   2.0000e+06");
    ck_assert_str_eq(verbose_cell(3e-5, VERBOSE_LOSS, 13, buf, sizeof buf), "   3.0000e-05");
    ck_assert_str_eq(verbose_cell(2e-4, VERBOSE_LOSS, 13, buf, sizeof buf), "       0.0002");
}
END_TEST

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s is missing", path);
    char *text = calloc(1, 1 << 20);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_gt(fread(text, 1, (1 << 20) - 1, f), 0);
    fclose(f);
    return text;
}

/* A run that stops early still writes its --report, saying why. */
START_TEST(test_report_of_early_stops)
{
    char dir[] = "/tmp/minicnn-cli-stop-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char args[1024], path[512], *out;
    /* nothing improves at a rate of 1e-30: the 2nd validation ends it */
    snprintf(args, sizeof args,
             "train --data mnist --train-subset 256 --mini-batch-size 64 --max-epochs 5 "
             "--initial-learn-rate 1e-30 --validation-data test --validation-frequency 2 "
             "--validation-patience 1 --verbose false --report %s/p.json",
             dir);
    ck_assert_int_eq(run(args, &out, 1), 0);
    ck_assert_ptr_nonnull(strstr(out, "Training finished: Met validation criterion"));
    free(out);
    snprintf(path, sizeof path, "%s/p.json", dir);
    char *json = read_text(path);
    ck_assert_msg(strstr(json, "\"stopped\": {\"reason\": \"validation-patience\", \"matlab\": "
                               "\"Met validation criterion\", \"epoch\": 1, \"iteration\": 2, "
                               "\"message\": null}") != NULL,
                  "%s", json);
    free(json);
    /* a full run says so */
    snprintf(args, sizeof args,
             "train --data mnist --train-subset 128 --mini-batch-size 64 --max-epochs 1 "
             "--verbose false --report %s/f.json",
             dir);
    ck_assert_int_eq(run(args, &out, 1), 0);
    free(out);
    snprintf(path, sizeof path, "%s/f.json", dir);
    json = read_text(path);
    ck_assert_ptr_nonnull(strstr(json, "\"reason\": \"max-epochs\", \"matlab\": \"Max epochs "
                                       "completed\""));
    free(json);
    /* diverged: exit 1, no model, the report with the error */
    snprintf(args, sizeof args,
             "train --data mnist --train-subset 256 --mini-batch-size 64 --max-epochs 5 "
             "--initial-learn-rate 1e30 --verbose false --report %s/d.json --save %s/m.mcnn",
             dir, dir);
    ck_assert_int_eq(run(args, &out, 1), 1);
    ck_assert_ptr_nonnull(strstr(out, "training stopped at iteration"));
    free(out);
    snprintf(path, sizeof path, "%s/m.mcnn", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/d.json", dir);
    json = read_text(path);
    ck_assert_msg(strstr(json, "\"test_accuracy\": null") != NULL, "%s", json);
    ck_assert_ptr_nonnull(strstr(json, "\"reason\": \"diverged\", \"matlab\": \"Training loss "
                                       "is NaN\""));
    ck_assert_ptr_nonnull(strstr(json, "\"message\": \"training stopped at iteration"));
    free(json);
    snprintf(args, sizeof args, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(args), 0);
}
END_TEST

/* Runs `args` with stderr on a terminal `cols` columns wide; returns the exit code, what the
 * terminal showed in *out. */
static int run_on_terminal(const char *args, int cols, char **out)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    const char *name = ptsname(master);
    ck_assert_ptr_nonnull(name);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' %s >/dev/null", MC_SOURCE_DIR, MC_CLI, args);
    const pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setsid();
        const int slave = open(name, O_RDWR);
        if (slave < 0)
            _exit(126);
        ioctl(slave, TIOCSCTTY, 0);
        struct winsize ws;
        memset(&ws, 0, sizeof ws);
        ws.ws_row = 24;
        ws.ws_col = (unsigned short)cols;
        ioctl(slave, TIOCSWINSZ, &ws);
        dup2(slave, 2);
        close(master);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        const ssize_t k = read(master, buf + len, cap - len - 1);
        if (k > 0)
            len += (size_t)k;
        else if (!(k < 0 && errno == EINTR))
            break; /* EIO: the child's side is closed */
    }
    buf[len] = '\0';
    close(master);
    int status = 0;
    waitpid(pid, &status, 0);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The progress bar: redrawn in place, never wider than the terminal; no \r anywhere when
 * stderr is not a terminal. */
START_TEST(test_progress_bar)
{
    const char *args = "train --data mnist --max-epochs 2 --train-subset 512 --mini-batch-size "
                       "64 --verbose false";
    static const int widths[3] = {60, 30, 132};
    for (int w = 0; w < 3; w++) {
        char *out;
        ck_assert_int_eq(run_on_terminal(args, widths[w], &out), 0);
        int redraws = 0;
        /* every piece between carriage returns and line ends fits the terminal */
        for (char *p = out; *p != '\0';) {
            const size_t n = strcspn(p, "\r\n");
            size_t shown = n;
            const char *esc = strstr(p, "\033[K");
            if (esc != NULL && (size_t)(esc - p) < n)
                shown = (size_t)(esc - p) + (n - (size_t)(esc - p) - 3);
            ck_assert_msg((int)shown < widths[w], "a %zu-column line on a %d-column terminal: %.*s",
                          shown, widths[w], (int)n, p);
            redraws += p[n] == '\r';
            p += n + (p[n] != '\0');
        }
        ck_assert_int_ge(redraws, 16); /* 16 iterations, each redrawn in place */
        ck_assert_ptr_nonnull(strstr(out, "epoch 2/2"));
        free(out);
    }
    char line[256];
    progress_bar_line(line, sizeof line, 80, 0.5, 1, 2, 0.25, 61);
    ck_assert_int_eq((int)strlen(line), 79);
    ck_assert_ptr_nonnull(strstr(line, "]  50%  epoch 1/2  loss 0.2500  ETA 00:01:01"));
    progress_bar_line(line, sizeof line, 20, 0.5, 1, 2, 0.25, 61);
    ck_assert_int_le((int)strlen(line), 19);
    /* not a terminal: nothing redrawn */
    char *out;
    ck_assert_int_eq(run(args, &out, 1), 0);
    ck_assert_ptr_null(strchr(out, '\r'));
    free(out);
    /* a figure that cannot be written is found before the first run */
    ck_assert_int_eq(run("normlab --data mnist --subset 128 --seeds 1 --batch-sizes 64 --norms gn "
                         "--figure /dev/null/x.png",
                         &out, 1),
                     1);
    ck_assert_ptr_null(strstr(out, "  GN batch 64 seed 1: "));
    ck_assert_ptr_nonnull(strstr(out, "/dev/null/x.png"));
    free(out);
    char cmd[256], figure[96];
    snprintf(figure, sizeof figure, "/tmp/minicnn-test-cli-%ld.png", (long)getpid());
    snprintf(cmd, sizeof cmd,
             "normlab --data mnist --subset 128 --seeds 1 --batch-sizes 64 --norms gn "
             "--figure %s",
             figure);
    ck_assert_int_eq(run(cmd, &out, 1), 0);
    ck_assert_ptr_nonnull(strstr(out, "  GN batch 64 seed 1: "));
    ck_assert_ptr_null(strchr(out, '\r'));
    free(out);
    remove(figure);
    snprintf(cmd, sizeof cmd, "%s.csv", figure);
    remove(cmd);
}
END_TEST

/* Paths of any length: a folder name over 511 characters is not cut. */
START_TEST(test_long_paths)
{
    char dir[1024] = "/tmp/minicnn-cli-long-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char top[sizeof dir];
    memcpy(top, dir, sizeof top);
    while (strlen(dir) < 700) {
        strcat(dir, "/a-folder-name-of-forty-characters-------");
        ck_assert_int_eq(mkdir(dir, 0777), 0);
    }
    static const char *const files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char path[2048], target[1024];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        snprintf(target, sizeof target, "%s/data/mnist/%s", MC_SOURCE_DIR, files[i]);
        ck_assert_int_eq(symlink(target, path), 0);
    }
    char args[8192], *out;
    snprintf(args, sizeof args,
             "train --train-images %s/%s --train-labels %s/%s --test-images %s/%s --test-labels "
             "%s/%s --max-epochs 1 --train-subset 256 --mini-batch-size 64 --verbose false "
             "--report %s/r.json --save %s/m.mcnn",
             dir, files[0], dir, files[1], dir, files[2], dir, files[3], dir, dir);
    ck_assert_int_eq(run(args, &out, 1), 0);
    free(out);
    snprintf(path, sizeof path, "%s/r.json", dir);
    char *json = read_text(path);
    snprintf(path, sizeof path, "\"%s/%s\"", dir, files[3]); /* the path whole in the report */
    ck_assert_ptr_nonnull(strstr(json, path));
    free(json);
    snprintf(args, sizeof args, "classify %s/m.mcnn --test-images %s/%s --test-labels %s/%s", dir,
             dir, files[2], dir, files[3]);
    ck_assert_int_eq(run(args, &out, 1), 0);
    ck_assert_ptr_nonnull(strstr(out, "Accuracy: "));
    free(out);
    snprintf(args, sizeof args, "rm -rf '%s'", top);
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
    tcase_add_test(tc, test_every_help);
    tcase_add_test(tc, test_misspelled_flags);
    tcase_add_test(tc, test_own_flags);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_mini_batch_size_and_data);
    tcase_add_test(tc, test_execution_environment);
    tcase_add_test(tc, test_verbose_table);
    tcase_add_test(tc, test_verbose_cells);
    tcase_add_test(tc, test_report_of_early_stops);
    tcase_add_test(tc, test_progress_bar);
    tcase_add_test(tc, test_long_paths);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(cli_suite());
}
