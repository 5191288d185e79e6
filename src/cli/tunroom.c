/* SPDX-License-Identifier: MIT */
/* tunroom(8): the command table and the dispatch into it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/subcommands.h"
#include "ctl/proto.h"

const char *prog;

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *desc;
} commands[] = {
	{ "up",     up_main,     "Bring a tunnel up from a config file and run it" },
	{ "show",   show_main,   "Show running tunnels, their state and counters" },
	{ "down",   down_main,   "Stop a running tunnel" },
	{ "genkey", genkey_main, "Print fresh random SA keys for a cipher, in config format" },
	{ "connect", connect_main, "Log in to an AnyConnect server (ocserv) and run the tunnel" },
};

const char *run_dir(void)
{
	const char *d = getenv("TUNROOM_RUN_DIR");

	return d && *d ? d : TR_CTL_DIR_DEFAULT;
}

int is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help") || !strcmp(arg, "help");
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s <command> [<args>]\n\n"
		   "ESP-over-UDP point-to-point tunnel, and AnyConnect client, with zero-copy\n"
		   "packet rings.\n\n"
		   "Commands:\n", prog);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].desc);
	fprintf(f, "\nWith no command, runs 'show'. '%s <command> --help' describes one.\n"
		   "'%s --version' prints the version. See tunroom(8).\n", prog, prog);
}

int main(int argc, char **argv)
{
	prog = "tunroom";
	if (argc == 1) {
		char *show_argv[] = { "show", NULL };
		return show_main(1, show_argv);
	}
	if (is_help(argv[1])) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("tunroom %s\n", TR_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "%s: unknown command '%s'\n\n", prog, argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
