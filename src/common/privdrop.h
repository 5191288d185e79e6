/* SPDX-License-Identifier: MIT */
/*
 * Giving up root once setup is done, shared by tunroomd and `tunroom up`:
 * either to another user for good, or, staying uid 0, to no capabilities.
 *
 * Both change only the calling thread's no-new-privs flag, capability sets
 * and bounding set (the kernel keeps them per thread; glibc spreads only the
 * set*id calls to every thread). Call them while the process has one thread:
 * every thread created afterwards inherits the result.
 */
#ifndef TR_COMMON_PRIVDROP_H
#define TR_COMMON_PRIVDROP_H

#include <sys/types.h>

struct tr_privdrop_user {
	uid_t uid;
	gid_t gid;
};

/* Looks NAME up in the user database (before the drop: NSS may need files
 * the user cannot read). Returns 0, -ENOENT (no such user) or another
 * negative errno from the lookup. */
int tr_privdrop_lookup(const char *name, struct tr_privdrop_user *out);

/* setgroups(0), setgid, setuid to u; empties the capability sets (the uid
 * change does so only when it leaves uid 0, not for a process started as
 * another user with ambient capabilities) and checks that they are empty;
 * not dumpable, PR_SET_NO_NEW_PRIVS; then checks that setuid(0) fails.
 * Returns 0, or a negative errno with *step naming the call that failed
 * ("setuid", or "setuid(0) still works"). u->uid 0 is refused: it would
 * drop nothing. */
int tr_privdrop_to(const struct tr_privdrop_user *u, const char **step);

/* For a process that stays uid 0: empties the capability bounding set and
 * the permitted, effective, inheritable and ambient sets, and sets
 * PR_SET_NO_NEW_PRIVS, so that neither this process nor anything it could
 * exec gets a capability back; not dumpable. Files root owns stay root's
 * (uid 0 is still their owner): it is less than tr_privdrop_to(). Returns 0
 * or a negative errno with *step as above. */
int tr_privdrop_caps(const char **step);

#endif
