/* SPDX-License-Identifier: MIT */
/* Giving up root after setup: privdrop.h. No libcap: two syscalls do it. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/privdrop.h"

int tr_privdrop_lookup(const char *name, struct tr_privdrop_user *out)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw)
		/* "Not found" comes as 0 or as one of these, by NSS module. */
		return errno && errno != ENOENT && errno != ESRCH && errno != EBADF &&
		       errno != EPERM ? -errno : -ENOENT;
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	return 0;
}

static int fail(const char **step, const char *what)
{
	int err = errno ? -errno : -EPERM;

	if (step)
		*step = what;
	return err;
}

/* Empties the ambient, inheritable, permitted and effective sets, then reads
 * them back: a kernel that took the call but kept a capability fails. */
static int clear_caps(const char **step)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(step, "PR_CAP_AMBIENT_CLEAR_ALL");
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return fail(step, "capset");
	if (syscall(SYS_capget, &hdr, data) < 0)
		return fail(step, "capget");
	for (unsigned i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		if (data[i].effective || data[i].permitted || data[i].inheritable) {
			errno = EPERM;
			return fail(step, "capabilities still held after capset");
		}
	}
	return 0;
}

/* The common end of both drops: no capability in any set (checked), not
 * dumpable, no new privileges. The kernel makes a process undumpable when
 * it changes uid or drops capabilities, unless fs.suid_dumpable = 1: then
 * other processes of the same uid (another tunnel, other daemons of User)
 * could ptrace it and read its keys and ring memory; say it here too. */
static int seal(const char **step)
{
	int err = clear_caps(step);

	if (err)
		return err;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return fail(step, "PR_SET_DUMPABLE");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(step, "PR_SET_NO_NEW_PRIVS");
	return 0;
}

int tr_privdrop_to(const struct tr_privdrop_user *u, const char **step)
{
	if (u->uid == 0) {
		errno = EINVAL;
		return fail(step, "dropping to uid 0");
	}
	/* Groups first: after setuid we could no longer change them. */
	if (setgroups(0, NULL) < 0)
		return fail(step, "setgroups");
	if (setgid(u->gid) < 0)
		return fail(step, "setgid");
	if (setuid(u->uid) < 0)
		return fail(step, "setuid");
	/* The uid change clears the capability sets only when it leaves uid 0.
	 * Started as another user with ambient capabilities (systemd's
	 * AmbientCapabilities=, setpriv), or with SECBIT_NO_SETUID_FIXUP, every
	 * thread would keep them: seal() clears them here and checks. */
	int err = seal(step);
	if (err)
		return err;
	/* setuid from root sets all three uids: there must be no way back. */
	if (setuid(0) == 0) {
		errno = EPERM;
		return fail(step, "setuid(0) still works");
	}
	return 0;
}

int tr_privdrop_caps(const char **step)
{
	/* The bounding set first: dropping from it takes CAP_SETPCAP, which
	 * the capset below gives up. PR_CAPBSET_READ fails (EINVAL) past the
	 * last capability this kernel knows. Without CAP_SETPCAP (a container
	 * that withholds it) the set stays: no-new-privs below already keeps
	 * an exec from raising the permitted set above the empty one we hold. */
	for (unsigned long cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM)
			return fail(step, "PR_CAPBSET_DROP");
	return seal(step);
}
