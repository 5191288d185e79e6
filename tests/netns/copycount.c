/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD shim for the zero-copy test: counts memcpy/memmove calls (and
 * their _FORTIFY_SOURCE _chk forms) that move at least COPY_MIN bytes, and
 * appends "PID TOTAL WINDOW" to $TR_COPYCOUNT_FILE when the process exits.
 * WINDOW counts only the copies made once the file $TR_COPYCOUNT_ARM exists
 * (the test creates it when the traffic starts), so one-time set-up (a
 * crypto library filling its tables) is told apart from the data path;
 * without TR_COPYCOUNT_ARM, WINDOW is TOTAL. */
#ifndef _GNU_SOURCE /* meson passes it; built alone, RTLD_NEXT needs it */
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A payload copy of even a minimal IPv4 packet plus ESP overhead is larger
 * than this; headers, nonces, keys and names are all smaller. */
#define COPY_MIN 256

typedef void *(*copy_fn)(void *, const void *, size_t);

static atomic_ulong copies, in_window;
static atomic_int armed;
static copy_fn real_memcpy;
static copy_fn real_memmove;
/* dlsym may itself copy (and so call back into us) before it returns: the
 * thread that resolves falls back to a byte loop meanwhile. */
static _Thread_local int resolving;

/* volatile keeps the compiler from turning the loop back into memmove. */
static void *slow_move(void *dst, const void *src, size_t n)
{
	volatile unsigned char *d = dst;
	const volatile unsigned char *s = src;

	if (d < s) {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	} else {
		for (size_t i = n; i-- > 0;)
			d[i] = s[i];
	}
	return dst;
}

static copy_fn resolve(copy_fn *slot, const char *name)
{
	copy_fn f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (f)
		return f;
	if (resolving)
		return NULL;
	resolving = 1;
	f = (copy_fn)dlsym(RTLD_NEXT, name);
	resolving = 0;
	if (f)
		__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	return f;
}

/* Copies of COPY_MIN bytes or more are rare on a zero-copy path, so one
 * getenv and access(2) each until the window opens costs nothing that
 * matters. getenv here, not in a constructor of ours: another library's
 * constructor may copy before ours runs, and would open the window for
 * good (counting the set-up against the data path). */
static int window_open(void)
{
	const char *arm_path;

	if (atomic_load_explicit(&armed, memory_order_relaxed))
		return 1;
	arm_path = getenv("TR_COPYCOUNT_ARM");
	if (arm_path && access(arm_path, F_OK) != 0)
		return 0;
	atomic_store_explicit(&armed, 1, memory_order_relaxed);
	return 1;
}

static void count(size_t n)
{
	if (n < COPY_MIN)
		return;
	atomic_fetch_add_explicit(&copies, 1, memory_order_relaxed);
	if (window_open())
		atomic_fetch_add_explicit(&in_window, 1, memory_order_relaxed);
}

void *memcpy(void *dst, const void *src, size_t n)
{
	copy_fn f = resolve(&real_memcpy, "memcpy");

	count(n);
	return f ? f(dst, src, n) : slow_move(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n)
{
	copy_fn f = resolve(&real_memmove, "memmove");

	count(n);
	return f ? f(dst, src, n) : slow_move(dst, src, n);
}

void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dst_len)
{
	if (n > dst_len)
		abort();
	return memcpy(dst, src, n);
}

void *__memmove_chk(void *dst, const void *src, size_t n, size_t dst_len)
{
	if (n > dst_len)
		abort();
	return memmove(dst, src, n);
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("TR_COPYCOUNT_FILE");
	char line[64];
	int fd, len;

	if (!path)
		return;
	/* Append: a child that inherited LD_PRELOAD adds its own line. */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	len = snprintf(line, sizeof(line), "%ld %lu %lu\n", (long)getpid(),
		       atomic_load(&copies), atomic_load(&in_window));
	if (write(fd, line, (size_t)len) != len)
		(void)0; /* nothing to do: the test sees a missing line */
	close(fd);
}
