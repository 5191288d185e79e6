/* SPDX-License-Identifier: MIT */
/* The subcommands of tunroom(8), one file each, and what they share. */
#ifndef TR_CLI_SUBCOMMANDS_H
#define TR_CLI_SUBCOMMANDS_H

/* Exit codes, as documented in tunroom(8). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

extern const char *prog;

int up_main(int argc, char **argv);
int show_main(int argc, char **argv);
int down_main(int argc, char **argv);
int genkey_main(int argc, char **argv);
int connect_main(int argc, char **argv);

/* Directory of the control sockets: $TUNROOM_RUN_DIR or /run/tunroom. */
const char *run_dir(void);
/* True for -h, --help and help. */
int is_help(const char *arg);

#endif
