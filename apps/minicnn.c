/* SPDX-License-Identifier: MIT */
/* minicnn: the command-line front end. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <minicnn/minicnn.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"
#include "script_cli.h"
#include "signals.h"

typedef struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} command;

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static int cmd_info(int argc, char **argv);
static int cmd_layer(int argc, char **argv);

static const command commands[] = {
    {"train", "train a network on a data set and report its test accuracy", cmd_train},
    {"classify", "evaluate a saved network: accuracy and confusion matrix", cmd_classify},
    {"predict", "a saved network's top classes for PNG images", cmd_predict},
    {"normlab", "compare group, batch, layer and instance normalization across batch sizes",
     cmd_normlab},
    {"inspect", "histograms of a normalization layer's activations and the first filters",
     cmd_inspect},
    {"data", "data set tools: export-png writes an IDX data set as PNG folders", cmd_data},
    {"run", "run a MATLAB training script as written, e.g. minicnn run example.m", cmd_run},
    {"info", "show a network file's layers, activations and learnables", cmd_info},
    {"layer", "show one layer's properties, e.g. minicnn layer \"reluLayer\"", cmd_layer},
    {"help", "list the commands", cmd_help},
    {"version", "print the version", cmd_version},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void list_commands(FILE *f)
{
    fprintf(f,
            "minicnn %s: trains small convolutional networks from the command line\n\n"
            "usage: minicnn COMMAND [ARGUMENTS] [FLAGS]\n\ncommands:\n",
            mc_version());
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'minicnn COMMAND --help' (or 'minicnn help COMMAND') shows a command's "
               "arguments and flags.\n");
}

static int unknown_command(const char *name)
{
    const char *names[N_COMMANDS];
    for (size_t i = 0; i < N_COMMANDS; i++)
        names[i] = commands[i].name;
    const char *near = cli_nearest(name, strlen(name), names, (int)N_COMMANDS);
    fprintf(stderr, "minicnn: unknown command '%s'", name);
    if (near != NULL)
        fprintf(stderr, " (did you mean '%s'?)", near);
    fprintf(stderr, "; 'minicnn help' lists the commands\n");
    return 2;
}

static int cmd_help(int argc, char **argv)
{
    const cli_spec spec = {
        "help", "[COMMAND]", "Lists the commands, or shows one command's help.", NULL, 0, 0, 1};
    const char *args[1] = {NULL};
    int n = 0;
    const int rc = cli_parse(&spec, argc, argv, args, &n);
    if (rc >= 0)
        return rc;
    if (n == 1) { /* help COMMAND: the command's own --help */
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (strcmp(commands[i].name, args[0]) == 0) {
                char *help_argv[3] = {(char *)commands[i].name, "--help", NULL};
                return commands[i].run(2, help_argv);
            }
        return unknown_command(args[0]);
    }
    list_commands(stdout);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    const cli_spec spec = {"version", "", "Prints the version.", NULL, 0, 0, 0};
    const int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc >= 0)
        return rc;
    printf("minicnn %s\n", mc_version());
    return 0;
}

int cli_fail(mc_ctx *ctx, mc_status st)
{
    fprintf(stderr, "minicnn: error: %s\n",
            ctx != NULL && mc_ctx_message(ctx)[0] != '\0' ? mc_ctx_message(ctx)
                                                          : mc_status_text(st));
    return 1;
}

mc_ctx *cli_ctx(uint64_t seed)
{
    mc_ctx *ctx = NULL;
    if (mc_ctx_create(NULL, seed, &ctx) != MC_OK)
        fprintf(stderr, "minicnn: error: out of memory\n");
    return ctx;
}

/* The folder of the running executable (from /proc/self/exe) on the heap, NULL if unknown. */
static char *exe_dir(void)
{
    for (size_t cap = 256; cap <= ((size_t)1 << 24); cap *= 2) {
        char *buf = malloc(cap);
        if (buf == NULL)
            return NULL;
        const ssize_t n = readlink("/proc/self/exe", buf, cap);
        if (n > 0 && (size_t)n < cap) {
            buf[n] = '\0';
            char *slash = strrchr(buf, '/');
            if (slash != NULL) {
                *slash = '\0';
                return buf;
            }
        }
        free(buf);
        if (n <= 0 || (size_t)n < cap)
            return NULL;
    }
    return NULL;
}

char *cli_data_path(const char *relative)
{
    char *path = cli_format("data/%s", relative);
    if (path == NULL || access(path, F_OK) == 0)
        return path;
    /* Installed: PREFIX/bin/minicnn reads PREFIX/share/minicnn. In the build tree, CMake puts
     * a link share/minicnn next to the executable, pointing to the source tree's data/. */
    char *dir = exe_dir();
    static const char *const where[2] = {"%s/../share/minicnn/%s", "%s/share/minicnn/%s"};
    for (int i = 0; dir != NULL && i < 2; i++) {
        char *p = cli_format(where[i], dir, relative);
        if (p != NULL && access(p, F_OK) == 0) {
            free(path);
            free(dir);
            return p;
        }
        free(p);
    }
    free(dir);
    return path; /* so that the error names the usual place */
}

void cli_put_text(mc_ctx *ctx, char *text)
{
    fputs(text, stdout);
    mc_free(ctx, text);
}

static int cmd_info(int argc, char **argv)
{
    const cli_spec spec = {"info",
                           "FILE.net",
                           "Shows a network file's layers (MATLAB's display), its activations "
                           "and learnables.",
                           NULL,
                           0,
                           1,
                           1};
    const char *file = NULL;
    int n = 0;
    const int prc = cli_parse(&spec, argc, argv, &file, &n);
    if (prc >= 0)
        return prc;
    mc_ctx *ctx = cli_ctx(1);
    if (ctx == NULL)
        return 1;
    mc_net *net = NULL;
    bool is_graph = false;
    char *text = NULL;
    mc_status st = mc_netfile_load(ctx, file, &net, &is_graph);
    if (st == MC_OK && is_graph) {
        /* A graph shows as MATLAB's LayerGraph (layerGraph has named its layers). */
        {
            int n_conn = 0, s, d, k;
            while (mc_net_connection(net, n_conn, &s, &d, &k))
                n_conn++;
            const char *in = "", *out = "";
            for (int i = 0; i < mc_net_num_layers(net); i++) {
                mc_layer *l = mc_net_layer(net, i);
                if (l->vt->role == MC_ROLE_INPUT)
                    in = mc_layer_name(l);
                if (l->vt->role == MC_ROLE_OUTPUT)
                    out = mc_layer_name(l);
            }
            printf("  LayerGraph with properties:\n\n"
                   "         Layers: [%d\xc3\x97"
                   "1 nnet.cnn.layer.Layer]\n"
                   "    Connections: [%d\xc3\x97"
                   "2 table]\n"
                   "     InputNames: {'%s'}\n"
                   "    OutputNames: {'%s'}\n\n",
                   mc_net_num_layers(net), n_conn, in, out);
        }
    }
    if (st == MC_OK)
        st = mc_net_describe(net, &text);
    if (st == MC_OK) {
        cli_put_text(ctx, text);
        st = mc_net_assemble(net, 1);
    }
    if (st == MC_OK)
        st = mc_net_analyze(net, &text);
    if (st == MC_OK) {
        putchar('\n');
        cli_put_text(ctx, text);
    }
    int rc = st == MC_OK ? 0 : cli_fail(ctx, st);
    mc_net_destroy(net);
    mc_ctx_destroy(ctx);
    return rc;
}

static int cmd_layer(int argc, char **argv)
{
    int all = 0;
    const cli_opt opts[] = {{"all", CLI_SWITCH, &all, NULL, "show every property", 0, 0, 0}};
    const cli_spec spec = {"layer",
                           "[--all] \"EXPRESSION\"",
                           "Shows a layer's properties as MATLAB displays them, e.g.\n"
                           "  minicnn layer \"groupNormalizationLayer(3,'Name','groupnorm')\"\n"
                           "Several layers (\"reluLayer; reluLayer\") show as a Layer array.",
                           opts,
                           1,
                           1,
                           1};
    const char *expr = NULL;
    int n = 0;
    const int prc = cli_parse(&spec, argc, argv, &expr, &n);
    if (prc >= 0)
        return prc;
    mc_ctx *ctx = cli_ctx(1);
    if (ctx == NULL)
        return 1;
    /* One layer shows its properties; several ("reluLayer; reluLayer" or "[a; b]") show as
     * MATLAB displays a Layer array. */
    mc_net *layers = NULL;
    char *text = NULL;
    mc_status st = mc_layers_parse(ctx, expr, &layers);
    const bool one = st == MC_OK && mc_net_num_layers(layers) == 1;
    if (one)
        st = mc_layer_describe(mc_net_layer(layers, 0),
                               all ? MC_DESCRIBE_ALL : MC_DESCRIBE_PROPERTIES, &text);
    else if (st == MC_OK)
        st = mc_net_describe(layers, &text);
    if (st == MC_OK) {
        printf(one ? "layer = \n" : "layers = \n");
        cli_put_text(ctx, text);
    }
    int rc = st == MC_OK ? 0 : cli_fail(ctx, st);
    mc_net_destroy(layers);
    mc_ctx_destroy(ctx);
    return rc;
}

/* OpenBLAS must not start threads of its own: minicnn runs its own, and calls OpenBLAS from
 * each of them single-threaded. Debian's OpenBLAS starts its workers in its library
 * constructor, before main, as many as OPENBLAS_NUM_THREADS says (else GOTO_NUM_THREADS,
 * OMP_NUM_THREADS, the cores); each worker's first act is to take a 128 MB buffer, which
 * under a memory limit (ulimit -v) it retries forever, and the process hangs at exit joining
 * it. openblas_set_num_threads(1) in main is too late for that, and the variable cannot be set
 * before the constructor runs (an executable's .preinit_array runs before it, but before libc
 * has its environment too). So the command starts itself again, once, with
 * OPENBLAS_NUM_THREADS=1; where that fails it goes on as it is. */
static void openblas_single_threaded(char **argv)
{
    const char *n = getenv("OPENBLAS_NUM_THREADS");
    if (n != NULL && strcmp(n, "1") == 0)
        return;
    if (setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    openblas_single_threaded(argv);
    /* no temporary file left behind by SIGINT/SIGTERM */
    signals_install();
    if (argc < 2) { /* a usage error: the list on stderr */
        list_commands(stderr);
        return 2;
    }
    const char *isa = getenv("MINICNN_MAX_ISA");
    if (isa != NULL && *isa != '\0') {
        mc_ctx *ctx;
        if (mc_ctx_create(NULL, 1, &ctx) != MC_OK) {
            fprintf(stderr, "minicnn: out of memory\n");
            return 1;
        }
        const mc_status st = mc_set_max_isa(ctx, isa);
        if (st != MC_OK)
            fprintf(stderr, "minicnn: MINICNN_MAX_ISA: %s\n", mc_ctx_message(ctx));
        mc_ctx_destroy(ctx);
        if (st != MC_OK)
            return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    return unknown_command(name);
}
