/* SPDX-License-Identifier: MIT */
/* tunroom show [NAME] [-s] [--json]: ask running tunnels over their control sockets. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "cli/print.h"
#include "cli/subcommands.h"
#include "ctl/client.h"

#define KV_MAX 256

struct kv {
	char *key, *val;
	bool used;
};

struct reply {
	struct kv kv[KV_MAX];
	unsigned n;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s show [NAME] [-s|--stats] [-j|--json]\n\n"
		   "Shows running tunnels (all, or NAME) from their control sockets in\n"
		   "%s. -s adds the counters; --json prints a JSON array (counters\n"
		   "always included). Needs root: the sockets are root-only.\n", prog, run_dir());
}

static struct kv *find(struct reply *r, const char *key)
{
	for (unsigned i = 0; i < r->n; i++)
		if (!strcmp(r->kv[i].key, key))
			return &r->kv[i];
	return NULL;
}

/* Prints one known field if the tunnel sent it; returns whether it did. */
static bool field(struct pr *p, struct reply *r, const char *key, const char *fmt)
{
	struct kv *kv = find(r, key);

	if (!kv)
		return false;
	kv->used = true;
	pr_value(p, key, fmt, kv->val);
	return true;
}

static bool is_counter(const struct kv *kv, const char *dir)
{
	return !kv->used && !strncmp(kv->key, dir, strlen(dir)) && pr_is_number(kv->val);
}

#define TABLE_WIDTH 100 /* a row of counters wraps before this column */

/* Text: "    RX:  packets  bytes  err_auth ..." over a row of values, column
 * widths fitted to both, wrapped into more header/value rows past
 * TABLE_WIDTH. JSON: the same counters as members of "stats". */
static void counters(struct pr *p, struct reply *r, const char *dir, const char *label)
{
	unsigned idx[KV_MAX], w[KV_MAX], n = 0;

	for (unsigned i = 0; i < r->n; i++) {
		if (!is_counter(&r->kv[i], dir))
			continue;
		size_t a = strlen(r->kv[i].key) - strlen(dir), b = strlen(r->kv[i].val);
		idx[n] = i;
		w[n++] = (unsigned)(a > b ? a : b);
	}
	for (unsigned start = 0, end; start < n; start = end) {
		unsigned width = 7 + 2 + w[start];
		for (end = start + 1; end < n && width + 2 + w[end] <= TABLE_WIDTH; end++)
			width += 2 + w[end];
		if (start)
			pr_text(p, "    %*s", (int)strlen(label) + 1, "");
		else
			pr_text(p, "    %s:", label);
		for (unsigned j = start; j < end; j++)
			pr_text(p, "  %-*s", j + 1 == end ? 0 : (int)w[j],
				r->kv[idx[j]].key + strlen(dir));
		pr_text(p, "\n    %*s", (int)strlen(label) + 1, "");
		for (unsigned j = start; j < end; j++) {
			struct kv *kv = &r->kv[idx[j]];
			char fmt[16];
			/* No padding after the last column: no trailing blanks. */
			snprintf(fmt, sizeof(fmt), "  %%-%us", j + 1 == end ? 0 : w[j]);
			pr_value(p, kv->key, fmt, kv->val);
			kv->used = true;
		}
		pr_text(p, "\n");
	}
}

static void print_tunnel(struct pr *p, const char *name, struct reply *r, bool stats)
{
	pr_open(p, NULL, '{');
	if (!field(p, r, "name", "%s:"))
		pr_value(p, "name", "%s:", name);
	field(p, r, "cipher", " esp %s");
	field(p, r, "mtu", " mtu %s");
	field(p, r, "state", " state %s");
	field(p, r, "pid", " pid %s");
	field(p, r, "uptime", " uptime %ss");
	pr_text(p, "\n");
	if (find(r, "listen") || find(r, "endpoint")) {
		pr_text(p, "   ");
		field(p, r, "listen", " listen %s");
		field(p, r, "endpoint", " endpoint %s");
		pr_text(p, "\n");
	}
	if (find(r, "out_spi") || find(r, "in_spi")) {
		pr_text(p, "    spi");
		field(p, r, "out_spi", " out %s");
		field(p, r, "in_spi", " in %s");
		field(p, r, "replay_window", " replay-window %s");
		field(p, r, "esn", " esn %s");
		pr_text(p, "\n");
	}
	/* Anything else that is not a counter: "    key value". */
	for (unsigned i = 0; i < r->n; i++) {
		struct kv *kv = &r->kv[i];
		if (kv->used || pr_is_number(kv->val))
			continue; /* numbers are counters: they go with -s */
		pr_text(p, "    %s", kv->key);
		pr_value(p, kv->key, " %s\n", kv->val);
		kv->used = true;
	}
	if (stats || p->json) {
		pr_open(p, "stats", '{');
		counters(p, r, "rx_", "RX");
		counters(p, r, "tx_", "TX");
		/* tunroom connect: per channel, then the data plane's own. */
		counters(p, r, "cstp_rx_", "CSTP RX");
		counters(p, r, "cstp_tx_", "CSTP TX");
		counters(p, r, "dtls_rx_", "DTLS RX");
		counters(p, r, "dtls_tx_", "DTLS TX");
		counters(p, r, "ac_rx_", "Data plane RX");
		counters(p, r, "ac_tx_", "Data plane TX");
		/* Counters without a direction prefix go last, one per line. */
		for (unsigned i = 0; i < r->n; i++) {
			struct kv *kv = &r->kv[i];
			if (kv->used)
				continue;
			pr_text(p, "    %s", kv->key);
			pr_value(p, kv->key, " %s\n", kv->val);
		}
		pr_close(p, '}');
	}
	pr_close(p, '}');
}

static const char *why(int err)
{
	switch (err) {
	case -ENOENT:       return "no such tunnel (no control socket)";
	case -ECONNREFUSED: return "not running (removed its stale control socket)";
	case -EACCES:
	case -EPERM:        return "permission denied (control sockets are root-only: run as root)";
	case -ENOTSOCK:     return "the control socket path is not a socket";
	case -ETIMEDOUT:    return "the tunnel did not answer in time";
	case -EBADMSG:      return "the tunnel sent a malformed reply";
	default:            return strerror(-err);
	}
}

/* Returns 0, or a negative errno after printing why. */
static int show_one(struct pr *p, const char *name, bool stats)
{
	static char buf[TR_CTL_REPLY_MAX];
	static struct reply r;
	int fd, len;

	fd = tr_ctl_connect(run_dir(), name);
	if (fd < 0) {
		fprintf(stderr, "%s show: %s: %s\n", prog, name, why(fd));
		return fd;
	}
	len = tr_ctl_call(fd, TR_CTL_GET, buf, sizeof(buf));
	close(fd);
	if (len < 0) {
		fprintf(stderr, "%s show: %s: %s\n", prog, name, why(len));
		return len;
	}
	memset(&r, 0, sizeof(r));
	char *cur = buf, *key, *val;
	int n;
	while ((n = tr_ctl_next(&cur, &key, &val)) > 0 && r.n < KV_MAX)
		r.kv[r.n++] = (struct kv){ key, val, false };
	if (n < 0) {
		fprintf(stderr, "%s show: %s: %s\n", prog, name, why(n));
		return n;
	}
	print_tunnel(p, name, &r, stats);
	return 0;
}

static int sock_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && !strcmp(d->d_name + n - 5, ".sock");
}

int show_main(int argc, char **argv)
{
	const char *name = NULL;
	bool stats = false, json = false;
	struct pr p;
	int ret = EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-s") || !strcmp(argv[i], "--stats")) {
			stats = true;
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			json = true;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "%s show: unknown option '%s'\n", prog, argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		} else if (name) {
			fprintf(stderr, "%s show: one NAME only\n", prog);
			return EXIT_USAGE;
		} else {
			name = argv[i];
		}
	}
	if (name && !tr_config_name_ok(name)) {
		fprintf(stderr, "%s show: '%s' is not a tunnel name\n", prog, name);
		return EXIT_USAGE;
	}

	pr_init(&p, stdout, json);
	pr_open(&p, NULL, '[');
	if (name) {
		if (show_one(&p, name, stats))
			ret = EXIT_FAIL;
	} else {
		struct dirent **list;
		int n = scandir(run_dir(), &list, sock_filter, alphasort), shown = 0;
		if (n < 0 && errno != ENOENT) {
			fprintf(stderr, "%s show: %s: %s%s\n", prog, run_dir(), strerror(errno),
				errno == EACCES ? " (the control directory is root-only: run as root)"
						: "");
			ret = EXIT_FAIL;
		}
		for (int i = 0; i < n; i++) {
			list[i]->d_name[strlen(list[i]->d_name) - 5] = '\0';
			if (tr_config_name_ok(list[i]->d_name)) {
				int r = show_one(&p, list[i]->d_name, stats);
				shown += !r;
				/* A stale socket is cleanup, not failure. */
				if (r && r != -ECONNREFUSED)
					ret = EXIT_FAIL;
			}
			free(list[i]);
		}
		if (n > 0)
			free(list);
		/* Silence would look like a hang or a bug; JSON says [] already. */
		if (!shown && !json && ret == EXIT_OK)
			fprintf(stderr, "%s show: no tunnel is running (no control socket in %s)\n",
				prog, run_dir());
	}
	pr_close(&p, ']');
	pr_end(&p);
	return ret;
}
