/* SPDX-License-Identifier: MIT */
/* tunroom up FILE [-d [-l LOG] [--pid-file FILE]] [-n]: load and check the config,
 * then run the tunnel. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <limits.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config/config.h"
#include "cli/held.h"
#include "cli/pidfile.h"
#include "cli/subcommands.h"
#include "common/privdrop.h"
#include "tunnel/route.h"
#include "tunnel/tunnel.h"
#include "tunroom/esp.h"
#include "tunroom/tunroom.h"

#ifndef TR_CONF_DIR_DEFAULT
#define TR_CONF_DIR_DEFAULT "/etc/tunroom"
#endif

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s up FILE|NAME [-d [-l LOG] [--pid-file PIDFILE]] [-n]\n\n"
		   "Brings the tunnel described by FILE up and runs it in the foreground\n"
		   "until SIGINT, SIGTERM or '%s down NAME' (SIGHUP does not stop it).\n"
		   "A NAME (no '/', no .conf suffix) means " TR_CONF_DIR_DEFAULT "/NAME.conf,\n"
		   "as wg-quick does. FILE must not be accessible by group or others\n"
		   "(chmod 600 FILE).\n\n"
		   "  -d, --daemon   detach once the tunnel is up (errors before that still\n"
		   "                 reach the terminal)\n"
		   "  -l, --log LOG  with -d: append what the tunnel says once started (its\n"
		   "                 start-up lines, why it stopped) to LOG instead of the\n"
		   "                 terminal and then /dev/null; if it fails to come up,\n"
		   "                 the terminal gets the last of those lines too\n"
		   "      --pid-file PIDFILE\n"
		   "                 with -d: the tunnel writes its process id to PIDFILE\n"
		   "                 as it starts; removed when it stops, or if it fails\n"
		   "                 to come up. Refused if PIDFILE names a running process\n"
		   "  -n, --check    only parse and check FILE, print the result, exit\n"
		   "--log=LOG and --pid-file=PIDFILE work too.\n", prog, prog);
}

/* `tunroom up tr0` as `wg-quick up wg0`: a bare name is a file in the
 * configuration directory (TUNROOM_CONF_DIR overrides it, for tests). */
static const char *conf_path(const char *arg, char *buf, size_t len)
{
	const char *dir = getenv("TUNROOM_CONF_DIR");
	size_t n = strlen(arg);

	if (strchr(arg, '/') || (n > 5 && !strcmp(arg + n - 5, ".conf")) || !tr_config_name_ok(arg))
		return arg;
	snprintf(buf, len, "%s/%s.conf", dir && *dir ? dir : TR_CONF_DIR_DEFAULT, arg);
	return buf;
}

/* Under systemd with its journal on our stderr (JOURNAL_STREAM names the
 * stream's device and inode, sd_journal_stream_fd(3)), the journal stamps
 * each line itself; anywhere else a log line needs its own time. */
static bool under_journald(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(STDERR_FILENO, &st) &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* stderr through a stream that puts "2026-01-02T03:04:05.678Z " before each
 * line (unless the journal stamps them). With -d -l, from the fork until
 * the tunnel is up, lines go to LOG instead of the terminal, and a copy of
 * the last ones is held: if the tunnel never comes up, they are what says
 * why, and up_main shows them on the terminal after all. The tunnel logs
 * with plain fprintf(stderr), from several threads (stdio locks the stream
 * around each call; detach_ready ends the holding under that lock). */
struct errstream {
	bool at_line_start;
	bool stamp;
	int log;              /* -d -l until the tunnel is up, else -1 */
	struct tr_held held;  /* the last lines sent to log */
};

static ssize_t err_out(struct errstream *es, const char *buf, size_t len)
{
	if (es->log < 0)
		return write(STDERR_FILENO, buf, len);
	tr_held_add(&es->held, buf, len);
	if (write(es->log, buf, len) < 0) {
		/* a full disk under LOG: the held copy still reaches the
		 * terminal if the start fails */
	}
	return (ssize_t)len;
}

static ssize_t err_write(void *cookie, const char *buf, size_t len)
{
	struct errstream *es = cookie;
	size_t off = 0;

	while (off < len) {
		if (es->at_line_start && es->stamp) {
			char ts[40];
			struct timespec now;
			struct tm tm;
			clock_gettime(CLOCK_REALTIME, &now);
			gmtime_r(&now.tv_sec, &tm);
			size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
			n += (size_t)snprintf(ts + n, sizeof(ts) - n, ".%03ldZ ", now.tv_nsec / 1000000);
			if (err_out(es, ts, n) < 0)
				return -1;
		}
		es->at_line_start = false;
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t chunk = nl ? (size_t)(nl - (buf + off)) + 1 : len - off;
		ssize_t w = err_out(es, buf + off, chunk);
		if (w <= 0)
			return off ? (ssize_t)off : -1;
		off += (size_t)w;
		if (nl && (size_t)w == chunk)
			es->at_line_start = true;
	}
	return (ssize_t)len;
}

/* Returns the stream's state (for detach_ready to end the holding), or
 * NULL if stderr stays as it is. */
static struct errstream *wrap_stderr(bool stamp, int log)
{
	static struct errstream es = { .at_line_start = true };
	cookie_io_functions_t io = { .write = err_write };
	FILE *f;

	if (!stamp && log < 0)
		return NULL;
	es.stamp = stamp;
	es.log = log;
	f = fopencookie(&es, "w", io);
	if (!f)
		return NULL;
	setvbuf(f, NULL, _IOLBF, 0);
	stderr = f;
	return &es;
}

/* -d -l, and the tunnel never came up: its lines went to the log only;
 * the terminal gets the last of them too (the reason is among them). */
static void replay(const struct tr_held *h)
{
	size_t len;
	const char *lines = tr_held_lines(h, &len);

	if (len && write(STDERR_FILENO, lines, len) < 0) {
		/* no terminal left to tell */
	}
}

static void print_prefixes(const char *what, const struct tr_config_addr *a, unsigned n,
			   const char *note)
{
	char ip[INET6_ADDRSTRLEN];

	printf("    %s", what);
	for (unsigned i = 0; i < n; i++)
		printf("%s %s/%u", i ? "," : "", inet_ntop(a[i].family, &a[i].v4, ip, sizeof(ip)),
		       a[i].prefix);
	printf("%s\n", note);
}

static void print_checked(const struct tr_config *cfg, const struct tr_privdrop_user *u)
{
	char a[64], b[64], ip[INET6_ADDRSTRLEN];

	printf("%s: esp %s mtu %u%s queues %u offload %s\n", cfg->name,
	       tr_esp_cipher_name(cfg->cipher), cfg->mtu,
	       cfg->mtu_derived ? " (derived)" : "", cfg->queues, cfg->offload ? "on" : "off");
	for (unsigned i = 0; i < cfg->n_addr; i++)
		printf("    inet%s %s/%u\n", cfg->addr[i].family == AF_INET6 ? "6" : "",
		       inet_ntop(cfg->addr[i].family, &cfg->addr[i].v4, ip, sizeof(ip)),
		       cfg->addr[i].prefix);
	printf("    listen %s endpoint %s\n", tr_sockaddr_str(&cfg->listen, a, sizeof(a)),
	       tr_sockaddr_str(&cfg->endpoint, b, sizeof(b)));
	printf("    spi out 0x%08x in 0x%08x replay-window %u esn %s\n", cfg->out.spi,
	       cfg->in.spi, cfg->replay_window, cfg->esn ? "on" : "off");
	/* What would seal: an SA made and freed at once (no nonce is spent). */
	struct tr_esp_sa_config sc;
	struct tr_esp_sa *sa = NULL;
	tr_config_sa(cfg, false, &sc);
	printf("    crypto %s inline %s workers %u io %s checksums %s\n",
	       tr_esp_sa_alloc(&sa, &sc) ? "(cannot tell: the SA was refused)" : tr_esp_sa_crypto(sa),
	       cfg->inline_io ? "on" : "off", cfg->workers, cfg->plain_io ? "plain" : "auto",
	       cfg->csum_full ? "full" : "partial");
	tr_esp_sa_free(sa);
	print_prefixes("peer-addresses", cfg->peer_addr, cfg->n_peer_addr,
		       cfg->n_peer_addr ? "" : " (default: the networks of Address and Routes)");
	if (cfg->n_routes) {
		struct tr_route_plan rp;
		char note[160], table[16] = "main";

		tr_route_plan(cfg, &rp);
		if (rp.table != 254)
			snprintf(table, sizeof(table), "%u", rp.table);
		if (!rp.table)
			snprintf(note, sizeof(note), " (Table = off: not added)");
		else if (rp.policy_table)
			snprintf(note, sizeof(note), " (table %s; the default route in table %u by "
				 "policy rules, the tunnel's datagrams marked %u)", table,
				 rp.policy_table, rp.mark);
		else
			snprintf(note, sizeof(note), " (table %s)", table);
		print_prefixes("routes", cfg->routes, cfg->n_routes, note);
	}
	if (cfg->keepalive)
		printf("    persistent-keepalive %u s\n", cfg->keepalive);
	if (cfg->fwmark)
		printf("    fwmark 0x%x\n", cfg->fwmark);
	if (cfg->user[0])
		printf("    user %s (uid %u gid %u) after setup\n", cfg->user, (unsigned)u->uid,
		       (unsigned)u->gid);
	else
		printf("    user root after setup, without capabilities (no User =)\n");
}

/* User = NAME must name a user other than root, on this system; found out
 * here so that `up -n` says so too, not only a failed `up`. */
static int check_user(const struct tr_config *cfg, const char *file, struct tr_privdrop_user *u)
{
	int r;

	if (!cfg->user[0])
		return 0;
	r = tr_privdrop_lookup(cfg->user, u);
	if (r == -ENOENT)
		fprintf(stderr, "%s up: %s:%u: User = %s: no such user on this system (create it, "
			"e.g. 'useradd --system --no-create-home --shell /usr/sbin/nologin %s', or "
			"name another)\n", prog, file, cfg->user_line, cfg->user, cfg->user);
	else if (r)
		fprintf(stderr, "%s up: %s:%u: User = %s: looking it up: %s\n", prog, file,
			cfg->user_line, cfg->user, strerror(-r));
	else if (u->uid == 0)
		fprintf(stderr, "%s up: %s:%u: User = %s is root (uid 0), which drops nothing; "
			"name an unprivileged user, or remove the line\n", prog, file, cfg->user_line,
			cfg->user);
	return r ? r : u->uid == 0 ? -EINVAL : 0;
}

/* Daemon mode: the child writes one byte on `ready` once the tunnel runs; the
 * parent exits 0 then, or with the child's status if it died first. */
struct detach {
	int fd;
	int log; /* -l: opened before the tunnel gives up root, or -1 */
	struct errstream *err; /* sends stderr to log until now, or NULL */
};

static void detach_ready(void *arg)
{
	struct detach *d = arg;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* Under the stream's lock: no thread is halfway through a line
	 * while the descriptors change. From here stderr is the log itself. */
	flockfile(stderr);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(d->log >= 0 ? d->log : null, STDERR_FILENO);
		close(null);
	}
	if (d->err)
		d->err->log = -1;
	funlockfile(stderr);
	if (d->log >= 0) {
		close(d->log);
		d->log = -1;
	}
	if (write(d->fd, "R", 1) != 1) {
		/* the parent is gone; nothing to tell */
	}
	close(d->fd);
	d->fd = -1;
}

/* Called once the tunnel carries traffic: readiness for a service manager
 * (Type=notify; nothing without NOTIFY_SOCKET), then, with -d, the detach. */
static void on_ready(void *arg)
{
	struct detach *d = arg;

#ifdef HAVE_SYSTEMD
	sd_notifyf(0, "READY=1\nSTATUS=tunnel up\nMAINPID=%lu", (unsigned long)getpid());
#endif
	if (d->fd >= 0)
		detach_ready(d);
}

/* --pid-file: opened before the fork, so that a bad one is said on the
 * terminal before any setup. */
static int open_pid_file(struct tr_pidfile *pf, const char *path)
{
	int r = tr_pidfile_open(pf, path);

	if (r == -EBUSY && pf->holder)
		fprintf(stderr, "%s up: --pid-file %s: process %ld, which is still running, is "
			"in it (a tunnel? '%s show'); stop it, or name another file\n", prog, path,
			(long)pf->holder, prog);
	else if (r)
		fprintf(stderr, "%s up: --pid-file %s: %s\n", prog, path, tr_pidfile_strerror(r));
	return r;
}

/* The child, first thing: its own pid in the file, while it is still who
 * started it (src/cli/pidfile.h). */
static int write_own_pid(struct tr_pidfile *pf, const char *path)
{
	int r = tr_pidfile_write(pf, getpid());

	if (r)
		fprintf(stderr, "%s up: --pid-file %s: %s\n", prog, path, strerror(-r));
	return r;
}

/* The tunnel's name is its own now, and it is still root: the record
 * that lets `tunroom down` remove a pid file the tunnel leaves behind. */
static void on_named(void *arg, const char *name)
{
	int r = tr_pidfile_record(arg, run_dir(), name);

	if (r)
		fprintf(stderr, "%s up: %s: --pid-file not recorded in %s (should the tunnel end "
			"without removing it, '%s down %s' cannot): %s\n", prog, name, run_dir(),
			prog, name, strerror(-r));
}

int up_main(int argc, char **argv)
{
	const char *file = NULL, *log = NULL, *pid_path = NULL;
	char path[PATH_MAX];
	int want_detach = 0, check = 0, r, ret;
	struct tr_config cfg;
	char err[TR_CONFIG_ERR_MAX + 64];

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-d") || !strcmp(argv[i], "--daemon")) {
			want_detach = 1;
		} else if (!strcmp(argv[i], "-n") || !strcmp(argv[i], "--check")) {
			check = 1;
		} else if (!strncmp(argv[i], "--log=", 6) && argv[i][6]) {
			log = argv[i] + 6; /* the form connect (getopt) takes too */
		} else if (!strncmp(argv[i], "--pid-file=", 11) && argv[i][11]) {
			pid_path = argv[i] + 11;
		} else if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "--log")) {
			if (++i == argc) {
				fprintf(stderr, "%s up: %s needs a file name\n", prog, argv[i - 1]);
				return EXIT_USAGE;
			}
			log = argv[i];
		} else if (!strcmp(argv[i], "--pid-file")) {
			if (++i == argc) {
				fprintf(stderr, "%s up: --pid-file needs a file name\n", prog);
				return EXIT_USAGE;
			}
			pid_path = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "%s up: unknown option '%s'\n", prog, argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		} else if (file) {
			fprintf(stderr, "%s up: one FILE only ('%s' and '%s')\n", prog, file, argv[i]);
			return EXIT_USAGE;
		} else {
			file = argv[i];
		}
	}
	if (!file) {
		usage(stderr);
		return EXIT_USAGE;
	}
	file = conf_path(file, path, sizeof(path));
	if (log && !want_detach) {
		fprintf(stderr, "%s up: --log goes with -d (in the foreground the tunnel "
			"writes to stderr; redirect it)\n", prog);
		return EXIT_USAGE;
	}
	if (pid_path && !want_detach) {
		fprintf(stderr, "%s up: --pid-file goes with -d (in the foreground the caller "
			"has the pid: $!, or systemd's MAINPID)\n", prog);
		return EXIT_USAGE;
	}
	r = tr_config_load(&cfg, file, err, sizeof(err));
	if (r) {
		fprintf(stderr, "%s up: %s\n", prog, err);
		return EXIT_USAGE;
	}
	struct tr_privdrop_user user = { 0 };
	if (check_user(&cfg, file, &user)) {
		tr_config_wipe(&cfg);
		return EXIT_USAGE;
	}
	if (check) {
		print_checked(&cfg, &user);
		tr_config_wipe(&cfg);
		return EXIT_OK;
	}

	struct detach d = { .fd = -1, .log = -1 };
	const char *state_dir = getenv("TUNROOM_STATE_DIR");
	struct tr_tunnel_opts opts = { .run_dir = run_dir(), .user = &user,
				       .state_dir = state_dir && *state_dir ? state_dir : NULL };
	/* The pid file before the log: a refused one (a tunnel still runs)
	 * must not leave a new, empty LOG behind. */
	struct tr_pidfile pf = TR_PIDFILE_INIT;
	if (pid_path && open_pid_file(&pf, pid_path)) {
		tr_config_wipe(&cfg);
		return EXIT_FAIL;
	}
	/* Opened now, as whoever started us: the tunnel may run as its User
	 * by the time it detaches. */
	if (log && (d.log = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "%s up: --log %s: %s\n", prog, log, strerror(errno));
		tr_pidfile_abandon(&pf, 0);
		tr_config_wipe(&cfg);
		return EXIT_FAIL;
	}
	if (want_detach) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			fprintf(stderr, "%s up: pipe: %s\n", prog, strerror(errno));
			tr_pidfile_abandon(&pf, 0);
			tr_config_wipe(&cfg);
			return EXIT_FAIL;
		}
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "%s up: fork: %s\n", prog, strerror(errno));
			tr_pidfile_abandon(&pf, 0);
			tr_config_wipe(&cfg);
			return EXIT_FAIL;
		}
		if (pid > 0) {
			close(p[1]);
			if (d.log >= 0)
				close(d.log);
			tr_config_wipe(&cfg);
			return tr_pidfile_wait_ready(&pf, p[0], pid);
		}
		close(p[0]);
		if (write_own_pid(&pf, pid_path)) {
			tr_config_wipe(&cfg);
			return EXIT_FAIL; /* the parent sees the pipe close */
		}
		setsid();
		if (chdir("/") < 0) {
			/* only to release the mount; failing is harmless */
		}
		d.fd = p[1];
	}
	opts.ready = on_ready;
	opts.ready_arg = &d;
	if (pid_path) {
		opts.named = on_named;
		opts.named_arg = &pf;
	}
	/* A reader that went away (the -d parent, killed or interrupted while
	 * it waited; the far end of a stderr pipe) must make a write fail
	 * with EPIPE, never end the tunnel unannounced and uncleaned (its
	 * device gone, its control socket left behind). As connect's
	 * session does; nothing here execs with it ignored. */
	signal(SIGPIPE, SIG_IGN);

	FILE *plain_stderr = stderr;
	d.err = wrap_stderr(!under_journald(), d.log);
	r = tr_tunnel_run(&cfg, &opts);
	/* What up itself says last is for whoever started it, unstamped. */
	fflush(stderr);
	stderr = plain_stderr;
	if (d.log >= 0 && d.err) /* the log still ours: the tunnel never came up */
		replay(&d.err->held);
	tr_config_wipe(&cfg);
	ret = EXIT_OK;
	if (r == -EPERM || r == -EADDRINUSE) {
		ret = EXIT_FAIL; /* the tunnel has said what and what to do */
	} else if (r < 0) {
		fprintf(stderr, "%s up: %s: %s\n", prog, cfg.name, tr_strerror(r));
		/* Not up, so on the terminal: the log gets it too. */
		if (d.log >= 0)
			dprintf(d.log, "%s up: %s: %s\n", prog, cfg.name, tr_strerror(r));
		ret = EXIT_FAIL;
	}
	/* Only if the file names us (src/cli/pidfile.h). Said only once the
	 * tunnel had come up: before, the parent waits and removes it. */
	r = tr_pidfile_remove(&pf);
	if (r && d.fd < 0)
		fprintf(stderr, "%s up: %s: could not remove --pid-file %s: %s\n", prog, cfg.name,
			pid_path, strerror(-r));
	if (d.fd >= 0)
		close(d.fd);
	if (d.log >= 0)
		close(d.log);
	return ret;
}
