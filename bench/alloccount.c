/* SPDX-License-Identifier: MIT */
/* LD_PRELOAD shim for the tunnel benchmark: counts heap allocation calls
 * (malloc, calloc, realloc, the aligned forms) of a process while it runs.
 *
 * The counters live in a file, $TR_ALLOCCOUNT_DIR/PID, mapped shared: the
 * benchmark reads it at two instants in steady state and divides the
 * difference by the packets moved in between, without signalling or
 * stopping the process. Children that fork keep adding to their parent's
 * file (the mapping is inherited); children that exec map their own.
 *
 * The real allocator is reached through glibc's __libc_* entry points, not
 * dlsym: dlsym allocates, which would recurse into us. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

/* File layout: little-endian u64 per slot, read by scripts/bench-tunnels.py. */
enum { SLOT_MALLOC, SLOT_CALLOC, SLOT_REALLOC, SLOT_ALIGNED, SLOT_N };

static atomic_ulong fallback[SLOT_N];
static atomic_ulong *slots = fallback;

__attribute__((constructor)) static void alloccount_init(void)
{
	const char *dir = getenv("TR_ALLOCCOUNT_DIR");
	char path[512];
	void *map;
	int fd;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%d", dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (ftruncate(fd, sizeof(fallback)) == 0) {
		map = mmap(NULL, sizeof(fallback), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map != MAP_FAILED)
			slots = map;
	}
	close(fd);
}

static void count(int slot)
{
	atomic_fetch_add_explicit(&slots[slot], 1, memory_order_relaxed);
}

void *malloc(size_t n)
{
	count(SLOT_MALLOC);
	return __libc_malloc(n);
}

void *calloc(size_t k, size_t n)
{
	count(SLOT_CALLOC);
	return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
	count(SLOT_REALLOC);
	return __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
	count(SLOT_ALIGNED);
	return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	count(SLOT_ALIGNED);
	return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	count(SLOT_ALIGNED);
	p = __libc_memalign(align, n);
	if (!p && n)
		return ENOMEM;
	*out = p;
	return 0;
}
