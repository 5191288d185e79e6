/* SPDX-License-Identifier: MIT */
/* tunroom connect [OPTIONS] https://SERVER[:PORT][/PATH]: an AnyConnect client,
 * with the option names OpenConnect users type. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <getopt.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "anyconnect/client.h"
#include "cli/pidfile.h"
#include "cli/subcommands.h"
#include "common/privdrop.h"
#include "config/config.h"

#define VPNC_SCRIPT_DEFAULT "/usr/share/vpnc-scripts/vpnc-script"

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s connect [OPTIONS] https://SERVER[:PORT][/PATH]\n\n"
		   "Logs in to an AnyConnect server (ocserv, Cisco ASA) and runs the tunnel\n"
		   "in the foreground until SIGINT, SIGTERM or '%s down NAME'.\n\n"
		   "  -u, --user NAME          log in as NAME (else asked for, if a terminal)\n"
		   "      --passwd-on-stdin    read the password from the first line of stdin\n"
		   "      --servercert pin-sha256:BASE64\n"
		   "                           accept the server's certificate by its key's\n"
		   "                           SHA-256 (else it must verify against the system\n"
		   "                           trust store; a refusal prints the pin)\n"
		   "  -i, --interface NAME     TUN device name (default tun%%d); also the NAME\n"
		   "                           of '%s show' and '%s down'\n"
		   "      --no-dtls            carry everything over TLS (no UDP)\n"
		   "      --crypto auto|openssl\n"
		   "                           who seals AES-GCM records: auto (default) =\n"
		   "                           Intel's ipsec-mb where built in and the CPU has\n"
		   "                           AVX2, else OpenSSL; openssl = OpenSSL always\n"
		   "                           ('%s show' says which, as crypto)\n"
		   "  -s, --script PATH        vpnc-script to configure the device, routes and\n"
		   "                           DNS (default %s when\n"
		   "                           installed; '' = none: tunroom sets address, MTU\n"
		   "                           and link itself, and no routes or DNS)\n"
		   "  -b, --background         detach once the tunnel carries traffic\n"
		   "      --pid-file FILE      with -b: the session writes its process id to\n"
		   "                           FILE as it starts (removed at the end, or if\n"
		   "                           it fails; refused if it names a running process)\n"
		   "  -U, --setuid USER        run as USER once set up (default: stay root\n"
		   "                           without capabilities)\n"
		   "      --user-agent STRING  HTTP User-Agent (default \"%s\")\n"
		   "      --authenticate       log in, print COOKIE, HOST, CONNECT_URL and\n"
		   "                           FINGERPRINT as shell assignments, and exit\n"
		   "      --reconnect-timeout SECONDS\n"
		   "                           keep trying this long after the TCP link drops\n"
		   "                           (default 300)\n"
		   "  -v, --verbose            say more\n"
		   "  -q, --quiet              say only errors\n",
		prog, prog, prog, prog, prog, VPNC_SCRIPT_DEFAULT, TR_AC_UA_DEFAULT);
}

/* Without CAP_NET_ADMIN the TUN device cannot be made: say so before the
 * login takes a session on the server and the script runs as this user. */
static bool can_make_tun(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (syscall(SYS_capget, &h, d))
		return true; /* cannot tell: let the kernel decide */
	return d[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32));
}

/* The password, read before anything else so that a wrong one fails fast. */
struct secrets {
	char passwd[256];
	bool have;       /* --passwd-on-stdin gave one */
	bool used;
	bool tty;        /* else ask on the terminal */
};

static int ask(void *arg, const char *label, bool secret, char *out, size_t cap)
{
	struct secrets *s = arg;
	struct termios old, quiet;
	FILE *tty;
	int r = 0;

	if (secret && s->have && !s->used) {
		snprintf(out, cap, "%s", s->passwd);
		s->used = true; /* a second password prompt means it was wrong */
		return 0;
	}
	if (!s->tty)
		return -ENOENT;
	tty = fopen("/dev/tty", "r+");
	if (!tty)
		return -ENOENT;
	fprintf(tty, "%s ", label);
	fflush(tty);
	if (secret && tcgetattr(fileno(tty), &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSANOW, &quiet);
	}
	if (!fgets(out, (int)cap, tty))
		r = -ENOENT;
	if (secret) {
		tcsetattr(fileno(tty), TCSANOW, &old);
		fputc('\n', tty);
	}
	fclose(tty);
	out[strcspn(out, "\r\n")] = 0;
	return r;
}

static int read_passwd(struct secrets *s)
{
	if (!fgets(s->passwd, sizeof(s->passwd), stdin))
		return -ENODATA;
	s->passwd[strcspn(s->passwd, "\r\n")] = 0;
	s->have = true;
	return 0;
}

/* -b: the child says "R" on the pipe once the tunnel runs. */
struct detach {
	int fd;
};

static void detach_ready(void *arg)
{
	struct detach *d = arg;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* Only now away from the terminal: the login before could still ask
	 * on it (/dev/tty), and Ctrl-C still reached it. */
	setsid();
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	if (write(d->fd, "R", 1) != 1) {
		/* the parent is gone */
	}
	close(d->fd);
	d->fd = -1;
}

/* The pid file first, before any network, and as root (src/cli/pidfile.h). */
static void open_pid_file(struct tr_pidfile *pf, const char *pid_file)
{
	int r = tr_pidfile_open(pf, pid_file);

	if (!r)
		return;
	if (r == -EBUSY && pf->holder)
		fprintf(stderr, "%s connect: --pid-file %s: process %ld, which is still running, "
			"is in it (a session? '%s show'); stop it, or name another file\n", prog,
			pid_file, (long)pf->holder, prog);
	else
		fprintf(stderr, "%s connect: --pid-file %s: %s\n", prog, pid_file,
			tr_pidfile_strerror(r));
	exit(EXIT_FAIL);
}

static int detach(struct detach *d, const char *pid_file, struct tr_pidfile *pf)
{
	int p[2], r;

	if (pid_file)
		open_pid_file(pf, pid_file);
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		tr_pidfile_abandon(pf, 0);
		return r;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		tr_pidfile_abandon(pf, 0);
		return r;
	}
	if (pid > 0) {
		close(p[1]);
		exit(tr_pidfile_wait_ready(pf, p[0], pid));
	}
	close(p[0]);
	/* First thing, as root: the session's own pid (src/cli/pidfile.h). */
	r = tr_pidfile_write(pf, getpid());
	if (r) {
		fprintf(stderr, "%s connect: --pid-file %s: %s\n", prog, pid_file, strerror(-r));
		exit(EXIT_FAIL); /* the parent sees the pipe close */
	}
	if (chdir("/") < 0) {
		/* only to release the mount */
	}
	d->fd = p[1];
	return 0;
}

/* The device's name is ours now, and we are still root: the record that
 * lets `tunroom down` remove a pid file the session leaves behind. */
static void on_named(void *arg, const char *name)
{
	int r = tr_pidfile_record(arg, run_dir(), name);

	if (r)
		fprintf(stderr, "%s connect: %s: --pid-file not recorded in %s (should the "
			"session end without removing it, '%s down %s' cannot): %s\n", prog, name,
			run_dir(), prog, name, strerror(-r));
}

enum { O_PASSWD_STDIN = 256, O_SERVERCERT, O_NO_DTLS, O_PID_FILE, O_UA, O_AUTHENTICATE,
       O_RECONNECT, O_CRYPTO };

/* --crypto: the words of `up`'s Crypto = key (docs/config.md). */
static int parse_crypto(const char *arg, bool *openssl)
{
	if (!strcmp(arg, "auto"))
		*openssl = false;
	else if (!strcmp(arg, "openssl"))
		*openssl = true;
	else
		return -EINVAL;
	return 0;
}

int connect_main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "passwd-on-stdin", no_argument, NULL, O_PASSWD_STDIN },
		{ "servercert", required_argument, NULL, O_SERVERCERT },
		{ "interface", required_argument, NULL, 'i' },
		{ "no-dtls", no_argument, NULL, O_NO_DTLS },
		{ "crypto", required_argument, NULL, O_CRYPTO },
		{ "script", required_argument, NULL, 's' },
		{ "background", no_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, O_PID_FILE },
		{ "setuid", required_argument, NULL, 'U' },
		{ "user-agent", required_argument, NULL, O_UA },
		{ "authenticate", no_argument, NULL, O_AUTHENTICATE },
		{ "reconnect-timeout", required_argument, NULL, O_RECONNECT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct tr_ac_client_opts o = { .dtls = true, .verbosity = TR_AC_NORMAL,
				       .reconnect_timeout = 300 };
	static struct secrets sec;
	struct tr_privdrop_user user = { 0 };
	const char *pid_file = NULL, *script = NULL;
	bool background = false, script_set = false, passwd_stdin = false;
	int c, r;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+u:i:s:bU:vqh", longs, NULL)) != -1) {
		switch (c) {
		case 'u': o.login.user = optarg; break;
		case O_PASSWD_STDIN: passwd_stdin = true; break;
		case O_SERVERCERT:
			if (strncmp(optarg, "pin-sha256:", 11) || strlen(optarg + 11) != 44) {
				fprintf(stderr, "%s connect: --servercert takes pin-sha256:BASE64 (44 "
					"characters of base64, as the refusal message prints)\n", prog);
				return EXIT_USAGE;
			}
			o.pin = optarg + 11;
			break;
		case 'i': o.ifname = optarg; break;
		case O_NO_DTLS: o.dtls = false; break;
		case O_CRYPTO:
			if (parse_crypto(optarg, &o.crypto_openssl)) {
				fprintf(stderr, "%s connect: --crypto %s: use auto or openssl\n",
					prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case 's': script = optarg; script_set = true; break;
		case 'b': background = true; break;
		case O_PID_FILE: pid_file = optarg; break;
		case 'U': o.user_name = optarg; break;
		case O_UA: o.login.user_agent = optarg; break;
		case O_AUTHENTICATE: o.authenticate = true; break;
		case O_RECONNECT: {
			char *e;
			long v = strtol(optarg, &e, 10);
			if (*e || v < 0 || v > 86400) {
				fprintf(stderr, "%s connect: --reconnect-timeout takes seconds, "
					"0..86400\n", prog);
				return EXIT_USAGE;
			}
			o.reconnect_timeout = (int)v;
			break;
		}
		case 'v': o.verbosity = TR_AC_VERBOSE; break;
		case 'q': o.verbosity = TR_AC_QUIET; break;
		case 'h': usage(stdout); return EXIT_OK;
		default:
			if (optopt && optopt < 256)
				fprintf(stderr, "%s connect: option -%c %s\n", prog, optopt,
					strchr("uisU", optopt) ? "needs a value" : "is unknown");
			else
				fprintf(stderr, "%s connect: option '%s' is unknown or needs a value\n",
					prog, argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s connect: %s\n", prog, optind == argc ? "which server? "
			"(https://SERVER[:PORT][/PATH])" : "one server only");
		usage(stderr);
		return EXIT_USAGE;
	}
	o.server_arg = argv[optind];
	if (tr_ac_url_parse(o.server_arg, &o.url)) {
		fprintf(stderr, "%s connect: '%s' is not https://SERVER[:PORT][/PATH]\n", prog,
			o.server_arg);
		return EXIT_USAGE;
	}
	/* The device name is also the control socket's: checked before any
	 * network. A "%d" (the kernel picks the number) is the one pattern. */
	if (o.ifname) {
		char probe[32];
		const char *pct = strstr(o.ifname, "%d");
		if (pct)
			snprintf(probe, sizeof(probe), "%.*s0%s", (int)(pct - o.ifname), o.ifname,
				 pct + 2);
		else
			snprintf(probe, sizeof(probe), "%s", o.ifname);
		if (strlen(o.ifname) > 15 || !tr_config_name_ok(probe) ||
		    (pct && strchr(pct + 2, '%'))) {
			fprintf(stderr, "%s connect: -i %s: not a device name (at most 15 of "
				"[A-Za-z0-9_.-], or one %%d)\n", prog, o.ifname);
			return EXIT_USAGE;
		}
	}
	if (pid_file && !background) {
		fprintf(stderr, "%s connect: --pid-file goes with -b\n", prog);
		return EXIT_USAGE;
	}
	/* --authenticate never detaches: the file would be silently not made. */
	if (pid_file && o.authenticate) {
		fprintf(stderr, "%s connect: --pid-file: --authenticate runs no session to "
			"name (it prints the cookie and exits)\n", prog);
		return EXIT_USAGE;
	}
	if (o.user_name) {
		r = tr_privdrop_lookup(o.user_name, &user);
		if (r || user.uid == 0) {
			fprintf(stderr, "%s connect: -U %s: %s\n", prog, o.user_name,
				r == -ENOENT ? "no such user" : r ? strerror(-r) :
				"is root, which drops nothing");
			return EXIT_USAGE;
		}
		o.user = &user;
	}
	/* The script: as asked, else Debian's vpnc-scripts if installed, else
	 * none (we set the address, MTU and link; no routes, no DNS). */
	if (script_set)
		o.script = *script ? script : NULL;
	else if (access(VPNC_SCRIPT_DEFAULT, X_OK) == 0)
		o.script = VPNC_SCRIPT_DEFAULT;
	if (o.script && access(o.script, X_OK)) {
		fprintf(stderr, "%s connect: --script %s: %s\n", prog, o.script, strerror(errno));
		return EXIT_USAGE;
	}
	if (passwd_stdin && read_passwd(&sec)) {
		fprintf(stderr, "%s connect: --passwd-on-stdin: no line on stdin\n", prog);
		return EXIT_USAGE;
	}
	if (!o.authenticate && !can_make_tun()) {
		fprintf(stderr, "%s connect: creating the TUN device needs root or CAP_NET_ADMIN: "
			"run it as root (it gives root up once set up; -U USER to run as USER), "
			"or use --authenticate, which needs neither\n", prog);
		explicit_bzero(sec.passwd, sizeof(sec.passwd));
		return EXIT_FAIL;
	}
	sec.tty = !passwd_stdin && isatty(STDIN_FILENO);
	o.login.ask = ask;
	o.login.ask_arg = &sec;
	o.run_dir = run_dir();

	struct detach d = { .fd = -1 };
	struct tr_pidfile pf = TR_PIDFILE_INIT;
	if (background && !o.authenticate) {
		r = detach(&d, pid_file, &pf);
		if (r) {
			fprintf(stderr, "%s connect: -b: %s\n", prog, strerror(-r));
			return EXIT_FAIL;
		}
		o.ready = detach_ready;
		o.ready_arg = &d;
		if (pid_file) {
			o.named = on_named;
			o.named_arg = &pf;
		}
	}
	r = tr_ac_client_run(&o);
	explicit_bzero(sec.passwd, sizeof(sec.passwd));
	/* Only if the file names us (src/cli/pidfile.h); -U USER may not. Said
	 * only once the tunnel had run: before, the parent removes it. */
	int rr = tr_pidfile_remove(&pf);
	if (rr && d.fd < 0)
		fprintf(stderr, "%s connect: could not remove --pid-file %s: %s\n", prog, pid_file,
			strerror(-rr));
	if (d.fd >= 0)
		close(d.fd);
	return r == 0 ? EXIT_OK : EXIT_FAIL;
}
