/* SPDX-License-Identifier: MIT */
/*
 * After the privilege drop, a TUN queue descriptor still lets its holder
 * change the device for everyone: the kernel checks no capability for
 * TUNSETPERSIST, TUNSETOWNER, TUNSETGROUP or TUNSETLINK on an attached
 * descriptor, so a compromised tunnel could leave its device behind,
 * persistent and open to any local user who attaches (TUNSETIFF on a new
 * /dev/net/tun descriptor needs no capability for a device without owner
 * or group). A seccomp filter takes those ioctls away.
 */
#ifndef TR_COMMON_TUNFENCE_H
#define TR_COMMON_TUNFENCE_H

/* Makes TUNSETIFF, TUNSETPERSIST, TUNSETOWNER, TUNSETGROUP and TUNSETLINK
 * fail with EPERM for this thread and every thread it creates later (call
 * it while the process has one thread, after PR_SET_NO_NEW_PRIVS). The data
 * path's own ioctls (TUNSETOFFLOAD, TUNSETQUEUE, TUNGETIFF) stay. Returns 0
 * or a negative errno. */
int tr_tunfence(void);

#endif
