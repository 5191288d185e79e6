/* SPDX-License-Identifier: MIT */
/*
 * Every access to memory shared with the other side goes through these.
 * Plain loads of shared fields are forbidden: the compiler could re-load them
 * (a double fetch the peer can race) or tear them.
 */
#ifndef TR_LIB_BARRIER_H
#define TR_LIB_BARRIER_H

#include <stdbool.h>

/* One load or store of a shared field, not reordered across acquire/release. */
#define tr_load_once(p)       __atomic_load_n((p), __ATOMIC_RELAXED)
#define tr_store_once(p, v)   __atomic_store_n((p), (v), __ATOMIC_RELAXED)
/* Index hand-over: a release store publishes everything written before it to
 * the side that load-acquires the same index. */
#define tr_load_acquire(p)    __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define tr_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* Full barrier: orders an earlier store before a later load (the sleep/wake
 * handshake needs exactly this; acquire/release cannot give it). */
#define tr_smp_mb()           __atomic_thread_fence(__ATOMIC_SEQ_CST)
/* Acquire fence: later plain reads (a memcpy snapshot) are not hoisted above
 * the loads before it. */
#define tr_smp_rmb()          __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define tr_xchg(p, v)         __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
/* Sets *p to v if it still holds *expected (else loads it into *expected). */
#define tr_cmpxchg(p, expected, v) \
	__atomic_compare_exchange_n((p), (expected), (v), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

/* Statistics: each counter has one writing thread and is read by others
 * (a control thread, a supervisor). A relaxed load and store, not a locked
 * add: the writer pays nothing over a plain ++, the reader never sees a
 * torn value, and neither is a data race. */
#define tr_stat_add(p, n)     tr_store_once((p), tr_load_once(p) + (n))
#define tr_stat_read(p)       tr_load_once(p)

static inline void tr_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#endif
