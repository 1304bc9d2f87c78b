/* minicnn: the command-line front end. */
#include <stdio.h>
#include <string.h>

#include <minicnn/minicnn.h>

typedef struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} command;

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const command commands[] = {
    {"help", "list the commands", cmd_help},
    {"version", "print the version", cmd_version},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("minicnn %s: trains small convolutional networks from the command line\n\n"
           "usage: minicnn COMMAND [OPTIONS]\n\ncommands:\n",
           MC_VERSION_STRING);
    for (size_t i = 0; i < N_COMMANDS; i++)
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("minicnn %s\n", MC_VERSION_STRING);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cmd_help(argc, argv) == 0 ? 2 : 1;
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "minicnn: unknown command '%s'; 'minicnn help' lists the commands\n", name);
    return 2;
}
