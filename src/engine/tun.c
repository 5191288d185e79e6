/* SPDX-License-Identifier: MIT */
/*
 * Opening /dev/net/tun: create or attach a TUN device, one descriptor per
 * queue, and turn the kernel's errors into ones a user can act on.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "engine/tun.h"

/* The kernel's dev_valid_name() plus the template rule of __dev_alloc_name():
 * one '%', followed by 'd'. */
int tr_tun_name_check(const char *name)
{
	size_t n;
	const char *pct;

	if (!name)
		return -EINVAL;
	n = strnlen(name, IFNAMSIZ);
	if (n == 0 || n >= IFNAMSIZ)
		return -EINVAL;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	for (const char *c = name; *c; c++)
		if (*c == '/' || *c == ':' || *c == ' ' || (*c >= '\t' && *c <= '\r'))
			return -EINVAL;
	pct = strchr(name, '%');
	if (pct && (pct[1] != 'd' || strchr(pct + 2, '%')))
		return -EINVAL;
	return 0;
}

static bool is_template(const char *name)
{
	return strchr(name, '%') != NULL;
}

/* Whether a network device of that name exists in our namespace. */
static bool link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

/* One TUNSETIFF on a fresh descriptor. name is in/out: the kernel writes
 * back the expanded template. Returns the fd or a negative errno. */
static int open_queue(const char *path, char name[IFNAMSIZ], int iff)
{
	struct ifreq ifr;
	int fd, err;

	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;	/* -EACCES: the node's mode, not a capability */
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	ifr.ifr_flags = (short)iff;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	return fd;
}

int tr_tun_open(struct tr_tun *t, const struct tr_tun_config *cfg)
{
	const char *path, *name;
	unsigned queues;
	int iff;
	int err, fd;

	if (!t)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < TR_TUN_QUEUES_MAX; i++)
		t->fds[i] = -1;
	if (!cfg || (cfg->flags & ~TR_TUN_F_ALL))
		return -EINVAL;
	if ((cfg->flags & TR_TUN_F_ATTACH) && (cfg->flags & TR_TUN_F_CREATE))
		return -EINVAL;
	queues = cfg->queues ? cfg->queues : 1;
	if (queues > TR_TUN_QUEUES_MAX)
		return -EINVAL;
	name = cfg->name && cfg->name[0] ? cfg->name : TR_TUN_NAME_DEFAULT;
	err = tr_tun_name_check(name);
	if (err)
		return err;
	path = cfg->dev_path ? cfg->dev_path : TR_TUN_DEV_PATH;

	/* A template can only create; a fixed name is looked up first so that
	 * ATTACH and CREATE can fail with a code that says which way it went.
	 * IFF_TUN_EXCL closes the window between the lookup and TUNSETIFF. */
	if (is_template(name)) {
		if (cfg->flags & TR_TUN_F_ATTACH)
			return -EINVAL;
		t->created = true;
	} else {
		bool exists = link_exists(name);

		if ((cfg->flags & TR_TUN_F_ATTACH) && !exists)
			return -ENODEV;
		if ((cfg->flags & TR_TUN_F_CREATE) && exists)
			return -EEXIST;
		t->created = !exists;
	}

	iff = IFF_TUN | IFF_NO_PI;
	if (queues > 1)
		iff |= IFF_MULTI_QUEUE;
	if (cfg->flags & TR_TUN_F_VNET_HDR)
		iff |= IFF_VNET_HDR;
	memcpy(t->name, name, strlen(name) + 1);

	fd = open_queue(path, t->name, iff | (t->created ? IFF_TUN_EXCL : 0));
	if (fd < 0) {
		err = fd;
		if (err == -EBUSY && t->created)
			err = -EEXIST; /* someone created it since the lookup */
		goto err_first;
	}
	t->fds[0] = fd;
	t->queues = 1;
	/* The other queues attach to the now named device. */
	for (unsigned i = 1; i < queues; i++) {
		fd = open_queue(path, t->name, iff);
		if (fd < 0) {
			err = fd;
			goto err_queues;
		}
		t->fds[i] = fd;
		t->queues++;
	}

	if (cfg->flags & TR_TUN_F_PERSIST) {
		err = tr_tun_set_persist(t, true);
		if (err)
			goto err_queues;
	} else if (!t->created) {
		/* An existing device we can open without creating is persistent
		 * (or has another reader on another queue): it is not ours to remove. */
		t->persist = true;
	}
	return 0;

err_queues:
	tr_tun_close(t);
err_first:
	t->created = false;
	return err;
}

void tr_tun_close(struct tr_tun *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < TR_TUN_QUEUES_MAX; i++) {
		if (t->fds[i] >= 0)
			close(t->fds[i]);
		t->fds[i] = -1;
	}
	t->queues = 0;
}

int tr_tun_set_offload(struct tr_tun *t, unsigned features)
{
	int sz = 10; /* sizeof(struct virtio_net_hdr): no num_buffers */

	if (!t || t->queues == 0 || t->fds[0] < 0)
		return -EINVAL;
	for (unsigned i = 0; i < t->queues; i++)
		if (ioctl(t->fds[i], TUNSETVNETHDRSZ, &sz) < 0)
			return -errno;
	/* The features are the device's (its netdev offloads), not the queue's. */
	if (ioctl(t->fds[0], TUNSETOFFLOAD, (unsigned long)features) < 0)
		return -errno;
	return 0;
}

int tr_tun_set_persist(struct tr_tun *t, bool on)
{
	if (!t || t->queues == 0 || t->fds[0] < 0)
		return -EINVAL;
	if (ioctl(t->fds[0], TUNSETPERSIST, on ? 1 : 0) < 0)
		return -errno;
	t->persist = on;
	return 0;
}

const char *tr_tun_strerror(int err)
{
	switch (err) {
	case -ENOENT:
		return "/dev/net/tun is missing: load the tun module (modprobe tun), "
		       "or pass the device into the container (--device /dev/net/tun)";
	case -EPERM:
		return "creating or opening a TUN device needs root or CAP_NET_ADMIN "
		       "(or use tunroomd)";
	case -EACCES:
		/* CAP_NET_ADMIN does not open a file: some systems ship the
		 * node 0600 (Debian's udev makes it 0666). */
		return "/dev/net/tun is not readable and writable by this user: "
		       "run as root, add CAP_DAC_OVERRIDE, or make the node 0666";
	case -EINVAL:
		return "invalid TUN device name, flags or queue count "
		       "(names: 1-15 bytes, no '/', ':' or space, at most one %d), "
		       "or the existing device is not a TUN device with the same queue mode";
	case -ENODEV:
		return "no such TUN device to attach to";
	case -EEXIST:
		return "a network device of that name exists already";
	case -EBUSY:
		return "the TUN device is in use by another process (single queue)";
	case -ENXIO:
		return "the kernel has no TUN driver";
	default:
		return err == 0 ? "success" : strerror(-err);
	}
}
