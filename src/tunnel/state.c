/* SPDX-License-Identifier: MIT */
/* The state file: two checksummed copies of one record, written in turn. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config/config.h"
#include "tunnel/state.h"

#define REC_MAGIC "tunroomS"
/* 1: one fingerprint over both directions (a changed InKey lost the
 * outbound numbers too); 2: a table per direction. */
#define REC_VERSION 2u
/* The copies sit a page apart: a torn write of one never touches the other. */
#define SLOT_SPACING 4096

/* Host byte order: the file is this machine's, never carried elsewhere. */
struct record {
	char magic[8];
	uint32_t version, size;
	uint64_t gen;
	struct tr_state_key out[TR_STATE_KEYS], in[TR_STATE_KEYS]; /* [0]: the keys in use */
	uint8_t sum[16]; /* SHA-256 of everything above, first 16 bytes */
};

/* Version 1, still read: its limits hold for both directions' keys at once. */
struct record_v1 {
	char magic[8];
	uint32_t version, size;
	uint64_t gen;
	uint8_t fp[16];
	uint64_t out_limit, in_limit;
	uint8_t sum[16];
};

static int sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t *out16)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
		 EVP_DigestUpdate(c, a, alen) && (!blen || EVP_DigestUpdate(c, b, blen)) &&
		 EVP_DigestFinal_ex(c, md, &mdlen);

	EVP_MD_CTX_free(c);
	if (!ok || mdlen < 16)
		return -EIO;
	memcpy(out16, md, 16);
	return 0;
}

/* Which sequence space a limit belongs to: new keys (tunroom genkey) start
 * fresh, as they should. One direction at a time, so that changing one
 * direction's key (a typo included) leaves the other's numbers alone. dirs
 * 1: out, 2: in, 3: both (version 1's). The keys enter only through
 * SHA-256. */
static int fingerprint(const struct tr_config *cfg, unsigned dirs, uint8_t *fp)
{
	uint8_t buf[17 + 2 * (4 + TR_CONFIG_KEY_MAX + TR_CONFIG_AUTH_KEY_MAX)];
	size_t n = 0;
	int err;

#define PUT(p, len) (memcpy(buf + n, (p), (len)), n += (len))
	if (dirs == 3)
		PUT("tunroom-state-1", 15);
	else
		PUT(dirs == 1 ? "tunroom-state-out" : "tunroom-state-in", dirs == 1 ? 17 : 16);
	buf[n++] = (uint8_t)(cfg->cipher * 2 + (cfg->esn ? 1 : 0));
	const struct tr_config_sa_dir *d[2] = { &cfg->out, &cfg->in };
	for (int i = 0; i < 2; i++) {
		if (!(dirs & (1u << i)))
			continue;
		PUT(&d[i]->spi, 4);
		PUT(d[i]->key, d[i]->key_len);
		PUT(d[i]->auth_key, d[i]->auth_key_len);
	}
#undef PUT
	err = sha256(buf, n, NULL, 0, fp);
	memset(buf, 0, sizeof(buf));
	return err;
}

/* 1 if slot i holds a whole record of either version (into *r, or *r1 for
 * version 1), else 0. */
static int read_slot(int fd, int i, struct record *r, struct record_v1 *r1)
{
	uint8_t sum[16];
	ssize_t n = pread(fd, r, sizeof(*r), (off_t)i * SLOT_SPACING);

	if (n < (ssize_t)sizeof(*r1))
		return 0;
	if (memcmp(r->magic, REC_MAGIC, 8))
		return 0;
	if (r->version == 1 && r->size == sizeof(*r1)) {
		memcpy(r1, r, sizeof(*r1));
		return !sha256(r1, offsetof(struct record_v1, sum), NULL, 0, sum) &&
		       !memcmp(sum, r1->sum, sizeof(sum));
	}
	/* A record cut short by the end of the file is not whole: its tail
	 * in *r is whatever the memory held (the checksum taken over it could
	 * even pass, were that an earlier read of the same record). */
	if (r->version != REC_VERSION || r->size != sizeof(*r) || n < (ssize_t)sizeof(*r))
		return 0;
	return !sha256(r, offsetof(struct record, sum), NULL, 0, sum) && !memcmp(sum, r->sum, sizeof(sum));
}

/* st's table for one direction: the entry for fp first (with the limit the
 * record had for it, if any), then the record's other keys, newest first,
 * as many as fit. Returns 1 if the record knew fp. */
static int take_dir(struct tr_state_key *mine, const uint8_t *fp, const struct tr_state_key *rec)
{
	static const uint8_t zero[16];
	int known = 0;
	unsigned n = 1;

	memset(mine, 0, sizeof(*mine) * TR_STATE_KEYS);
	memcpy(mine[0].fp, fp, 16);
	for (unsigned i = 0; rec && i < TR_STATE_KEYS; i++) {
		if (!memcmp(rec[i].fp, zero, 16))
			continue;
		if (!memcmp(rec[i].fp, fp, 16)) {
			mine[0].limit = rec[i].limit;
			known = 1;
		} else if (n < TR_STATE_KEYS) {
			mine[n++] = rec[i];
		}
	}
	return known;
}

int tr_state_open(struct tr_state *st, const char *dir, const struct tr_config *cfg,
		  const char **why)
{
	struct record r[2];
	struct record_v1 r1[2];
	uint8_t fp_out[16], fp_in[16];
	int ok[2], err;

	memset(st, 0, sizeof(*st));
	st->fd = -1;
	*why = "new";
	if (snprintf(st->path, sizeof(st->path), "%s/%s.state", dir, cfg->name) >=
	    (int)sizeof(st->path))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if ((err = fingerprint(cfg, 1, fp_out)) || (err = fingerprint(cfg, 2, fp_in)))
		return err;
	take_dir(st->out, fp_out, NULL);
	take_dir(st->in, fp_in, NULL);
	st->fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (st->fd < 0)
		return -errno;
	/* One tunnel per file: two ends of one Name on one host (in two network
	 * namespaces) would overwrite each other's record and lose the
	 * guarantee silently. The lock goes with the process. */
	if (flock(st->fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(st->fd);
		st->fd = -1;
		return err;
	}
	/* An existing file keeps its mode: make sure it is ours alone. */
	if (fchmod(st->fd, 0600) < 0) {
		err = -errno;
		close(st->fd);
		st->fd = -1;
		return err;
	}
	ok[0] = read_slot(st->fd, 0, &r[0], &r1[0]);
	ok[1] = read_slot(st->fd, 1, &r[1], &r1[1]);
	if (!ok[0] && !ok[1]) {
		struct stat sb;
		if (!fstat(st->fd, &sb) && sb.st_size > 0)
			*why = "damaged";
		return 0;
	}
	int b = !ok[1] || (ok[0] && r[0].gen > r[1].gen) ? 0 : 1;
	st->gen = r[b].gen;
	if (r[b].version == 1) {
		uint8_t fp[16];

		/* Version 1 knew both directions' keys together or not at all. */
		if ((err = fingerprint(cfg, 3, fp)))
			return err;
		if (!memcmp(r1[b].fp, fp, sizeof(fp))) {
			st->out[0].limit = r1[b].out_limit;
			st->in[0].limit = r1[b].in_limit;
			st->out_known = st->in_known = true;
		}
	} else {
		st->out_known = take_dir(st->out, fp_out, r[b].out);
		st->in_known = take_dir(st->in, fp_in, r[b].in);
	}
	st->out_limit = st->out[0].limit;
	st->in_limit = st->in[0].limit;
	*why = st->out_known && st->in_known ? NULL
	       : st->out_known ? "for other inbound keys"
	       : st->in_known ? "for other outbound keys" : "for other keys";
	return 0;
}

int tr_state_save(struct tr_state *st, uint64_t out_limit, uint64_t in_limit)
{
	struct record r;
	int err;

	if (st->fd < 0)
		return -EBADF;
	memset(&r, 0, sizeof(r));
	memcpy(r.magic, REC_MAGIC, 8);
	r.version = REC_VERSION;
	r.size = sizeof(r);
	r.gen = st->gen + 1;
	memcpy(r.out, st->out, sizeof(r.out));
	memcpy(r.in, st->in, sizeof(r.in));
	r.out[0].limit = out_limit;
	r.in[0].limit = in_limit;
	if ((err = sha256(&r, offsetof(struct record, sum), NULL, 0, r.sum)))
		return err;
	/* The older copy is overwritten; the newer one stays whole until this
	 * one is on disk. */
	if (pwrite(st->fd, &r, sizeof(r), (off_t)(r.gen & 1) * SLOT_SPACING) != (ssize_t)sizeof(r))
		return errno ? -errno : -EIO;
	if (fdatasync(st->fd) < 0)
		return -errno;
	st->gen = r.gen;
	st->out[0].limit = st->out_limit = out_limit;
	st->in[0].limit = st->in_limit = in_limit;
	return 0;
}

void tr_state_close(struct tr_state *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}
