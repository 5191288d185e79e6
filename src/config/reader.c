/* SPDX-License-Identifier: MIT */
/*
 * The line reader: a file or buffer cut into lines, each line into a section
 * header or 'Key = value' handed to the key's parser (keys.c), with comments,
 * blank lines, CRLF and a leading UTF-8 byte-order mark taken care of.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config/config_int.h"
#include "tunroom/tunroom.h"

#define FILE_MAX (1u << 20) /* a config is a few hundred bytes; refuse nonsense early */

void tr_config_init(struct tr_config_ctx *ctx, struct tr_config *cfg, const char *file)
{
	memset(ctx, 0, sizeof(*ctx));
	memset(cfg, 0, sizeof(*cfg));
	ctx->cfg = cfg;
	ctx->file = file;
	cfg->outer_mtu = TR_CONFIG_OUTER_MTU_DEFAULT;
	cfg->queues = 1;
	cfg->ring_capacity = TR_SESSION_CAPACITY_DEFAULT;
	cfg->replay_window = TR_CONFIG_REPLAY_DEFAULT;
	cfg->zero_copy = true;
	cfg->offload = true;
	cfg->inline_io = true;
	cfg->workers = TR_CONFIG_WORKERS_DEFAULT;
	cfg->socket_buffer = TR_CONFIG_SOCKBUF_DEFAULT;
	cfg->cipher = TR_ESP_AES128_GCM;
	cfg->listen.in.sin_port = htons(TR_CONFIG_PORT_DEFAULT);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int parse_line(struct tr_config_ctx *ctx, char *buf)
{
	char *s, *eq;

	/* Comments start at '#' or ';' anywhere: no value ever contains either. */
	buf[strcspn(buf, "#;")] = '\0';
	s = trim(buf);
	if (!*s)
		return 0;

	if (*s == '[') {
		char *close = strchr(s, ']');
		enum tr_config_section sec;
		if (!close || trim(close + 1)[0])
			return fail(ctx, "section header '%.16s' must be [Interface] or [SA] "
				    "alone on its line", s);
		*close = '\0';
		char *name = trim(s + 1);
		if (!strcasecmp(name, "Interface"))
			sec = SEC_INTERFACE;
		else if (!strcasecmp(name, "SA"))
			sec = SEC_SA;
		else
			return fail(ctx, "unknown section [%.64s]; use [Interface] or [SA]", name);
		if (ctx->section_line[sec])
			return fail(ctx, "second [%s] section (the first is on line %u); a tunnel "
				    "has one of each, merge them", tr_config_section_names[sec],
				    ctx->section_line[sec]);
		ctx->section = sec;
		ctx->section_line[sec] = ctx->line;
		return 0;
	}

	eq = strchr(s, '=');
	if (!eq)
		/* Quote the first word only: the rest may be a key's value. */
		return fail(ctx, "no '=' after '%.*s'; lines are 'Key = value', a [Section] "
			    "or a # comment", (int)(strcspn(s, " \t") < 32 ? strcspn(s, " \t") : 32),
			    s);
	*eq = '\0';
	char *key = trim(s), *val = trim(eq + 1);
	const struct tr_config_key *k = tr_config_key_find(key);
	if (!*key)
		return fail(ctx, "'= %.64s' has no key name before the '='", val);
	if (ctx->section == SEC_NONE)
		return fail(ctx, "key '%.64s' comes before any section; put it under %s",
			    key, k && k->section == SEC_SA ? "[SA]" : "[Interface]");
	if (!k) {
		char known[256];
		tr_config_known_keys(ctx->section, known, sizeof(known));
		return fail(ctx, "unknown key '%.64s' in [%s] (known there: %s)", key,
			    tr_config_section_names[ctx->section], known);
	}
	if (k->section != (enum tr_config_section)ctx->section)
		return fail(ctx, "'%s' belongs in [%s], not [%s]; move the line", k->name,
			    tr_config_section_names[k->section],
			    tr_config_section_names[ctx->section]);
	unsigned id = (unsigned)(k - tr_config_keys);
	if (ctx->key_line[id] && !k->repeatable)
		return fail(ctx, "'%s' is set twice (first on line %u); keep one", k->name,
			    ctx->key_line[id]);
	if (!*val)
		return fail(ctx, "'%s' has no value after the '='", k->name);
	int r = k->parse(ctx, k, val);
	if (r)
		return r;
	ctx->key_line[id] = ctx->line;
	return 0;
}

int tr_config_read_line(struct tr_config_ctx *ctx, const char *line, size_t len)
{
	char buf[TR_CONFIG_LINE_MAX + 2];
	int r;

	ctx->line++;
	/* A UTF-8 byte-order mark, as some Windows editors write: not part of
	 * the first key. */
	if (ctx->line == 1 && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
		line += 3;
		len -= 3;
	}
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	if (len > TR_CONFIG_LINE_MAX)
		return fail(ctx, "line is longer than %d bytes; no key needs that much",
			    TR_CONFIG_LINE_MAX);
	if (memchr(line, '\0', len))
		return fail(ctx, "line holds a NUL byte; the file must be plain text");
	memcpy(buf, line, len);
	buf[len] = '\0';
	r = parse_line(ctx, buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

/* The line a key was set on, or of its section header, or of the last line. */
int tr_config_parse(struct tr_config *cfg, const char *file, const char *buf, size_t len,
		    char *err, size_t errlen)
{
	struct tr_config_ctx ctx;
	size_t off = 0;
	int r = 0;

	tr_config_init(&ctx, cfg, file);
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) + 1 : len - off;
		r = tr_config_read_line(&ctx, buf + off, n);
		if (r)
			goto out;
		off += n;
	}
	r = tr_config_finish(&ctx);
out:
	if (r) {
		if (err && errlen)
			snprintf(err, errlen, "%s", ctx.err);
		tr_config_wipe(cfg);
	}
	return r;
}

int tr_config_load(struct tr_config *cfg, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	memset(cfg, 0, sizeof(*cfg));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out_close;
	}
	/* Like wg warns about private keys: the file holds the SA keys. */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		r = -EACCES;
		snprintf(err, errlen, "%s: accessible by group or others (mode %04o) but it holds "
			 "keys; run: chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
		goto out_close;
	}
	if (st.st_size > FILE_MAX) {
		r = -EFBIG;
		snprintf(err, errlen, "%s: larger than %u bytes; not a tunroom config", path,
			 FILE_MAX);
		goto out_close;
	}
	buf = malloc(FILE_MAX + 1);
	if (!buf) {
		r = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out_close;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > FILE_MAX) {
			r = -EFBIG;
			snprintf(err, errlen, "%s: larger than %u bytes; not a tunroom config",
				 path, FILE_MAX);
			goto out_free;
		}
	}
	r = tr_config_parse(cfg, path, buf, len, err, errlen);
out_free:
	OPENSSL_cleanse(buf, len);
	free(buf);
out_close:
	close(fd);
	return r;
}

