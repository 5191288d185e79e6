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
#define REC_VERSION 1u
/* The copies sit a page apart: a torn write of one never touches the other. */
#define SLOT_SPACING 4096

/* Host byte order: the file is this machine's, never carried elsewhere. */
struct record {
	char magic[8];
	uint32_t version, size;
	uint64_t gen;
	uint8_t fp[16];
	uint64_t out_limit, in_limit;
	uint8_t sum[16]; /* SHA-256 of everything above, first 16 bytes */
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

/* Which SA pair a record belongs to: new keys (tunroom genkey) start fresh,
 * as they should (new keys mean new sequence spaces). The keys enter only
 * through SHA-256. */
static int fingerprint(const struct tr_config *cfg, uint8_t *fp)
{
	uint8_t buf[16 + 2 * (4 + TR_CONFIG_KEY_MAX + TR_CONFIG_AUTH_KEY_MAX)];
	size_t n = 0;
	int err;

#define PUT(p, len) (memcpy(buf + n, (p), (len)), n += (len))
	PUT("tunroom-state-1", 15);
	buf[n++] = (uint8_t)(cfg->cipher * 2 + (cfg->esn ? 1 : 0));
	const struct tr_config_sa_dir *d[2] = { &cfg->out, &cfg->in };
	for (int i = 0; i < 2; i++) {
		PUT(&d[i]->spi, 4);
		PUT(d[i]->key, d[i]->key_len);
		PUT(d[i]->auth_key, d[i]->auth_key_len);
	}
#undef PUT
	err = sha256(buf, n, NULL, 0, fp);
	memset(buf, 0, sizeof(buf));
	return err;
}

static int record_sum(const struct record *r, uint8_t *sum)
{
	return sha256(r, offsetof(struct record, sum), NULL, 0, sum);
}

/* 1 if slot i holds a whole record (into *r), else 0. */
static int read_slot(int fd, int i, struct record *r)
{
	uint8_t sum[16];

	if (pread(fd, r, sizeof(*r), (off_t)i * SLOT_SPACING) != (ssize_t)sizeof(*r))
		return 0;
	if (memcmp(r->magic, REC_MAGIC, 8) || r->version != REC_VERSION || r->size != sizeof(*r))
		return 0;
	return !record_sum(r, sum) && !memcmp(sum, r->sum, sizeof(sum));
}

int tr_state_open(struct tr_state *st, const char *dir, const struct tr_config *cfg,
		  const char **why)
{
	struct record r[2];
	int ok[2], err;

	memset(st, 0, sizeof(*st));
	st->fd = -1;
	*why = "new";
	if (snprintf(st->path, sizeof(st->path), "%s/%s.state", dir, cfg->name) >=
	    (int)sizeof(st->path))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if ((err = fingerprint(cfg, st->fp)))
		return err;
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
	ok[0] = read_slot(st->fd, 0, &r[0]);
	ok[1] = read_slot(st->fd, 1, &r[1]);
	if (!ok[0] && !ok[1]) {
		struct stat sb;
		if (!fstat(st->fd, &sb) && sb.st_size > 0)
			*why = "damaged";
		return 0;
	}
	const struct record *best = !ok[1] || (ok[0] && r[0].gen > r[1].gen) ? &r[0] : &r[1];
	st->gen = best->gen;
	if (memcmp(best->fp, st->fp, sizeof(st->fp))) {
		*why = "for other keys";
		return 0;
	}
	st->out_limit = best->out_limit;
	st->in_limit = best->in_limit;
	*why = NULL;
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
	memcpy(r.fp, st->fp, sizeof(r.fp));
	r.out_limit = out_limit;
	r.in_limit = in_limit;
	if ((err = record_sum(&r, r.sum)))
		return err;
	/* The older copy is overwritten; the newer one stays whole until this
	 * one is on disk. */
	if (pwrite(st->fd, &r, sizeof(r), (off_t)(r.gen & 1) * SLOT_SPACING) != (ssize_t)sizeof(r))
		return errno ? -errno : -EIO;
	if (fdatasync(st->fd) < 0)
		return -errno;
	st->gen = r.gen;
	st->out_limit = out_limit;
	st->in_limit = in_limit;
	return 0;
}

void tr_state_close(struct tr_state *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}
