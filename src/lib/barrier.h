/* SPDX-License-Identifier: MIT */
/*
 * Every access to memory shared with the other side goes through these.
 * Plain loads of shared fields are forbidden: the compiler could re-load them
 * (a double fetch the peer can race) or tear them.
 */
#ifndef TR_LIB_BARRIER_H
#define TR_LIB_BARRIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* Sequentially consistent load, store and add: handshakes where one thread
 * stores X then loads Y while another stores Y then loads X (a hazard
 * pointer against a swap, a pass counter against a quiescence wait), and
 * each must see the other's store. Acquire/release cannot order a store
 * before a later load; these are in one total order with tr_xchg. */
#define tr_load_seq(p)        __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define tr_store_seq(p, v)    __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define tr_add_seq(p, n)      __atomic_add_fetch((p), (n), __ATOMIC_SEQ_CST)
/* Sets *p to v if it still holds *expected (else loads it into *expected). */
#define tr_cmpxchg(p, expected, v) \
	__atomic_compare_exchange_n((p), (expected), (v), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

/* Statistics: each counter has one writing thread and is read by others
 * (a control thread, a supervisor). A relaxed load and store, not a locked
 * add: the writer pays nothing over a plain ++, the reader never sees a
 * torn value, and neither is a data race. */
#define tr_stat_add(p, n)     tr_store_once((p), tr_load_once(p) + (n))
#define tr_stat_read(p)       tr_load_once(p)

/* Seqlock: one writer publishes a small record (an address) to threads that
 * read it without a lock and never make the writer wait. gen is odd while a
 * write is under way. The record moves in 32-bit relaxed atomic words: a
 * reader may copy a mix of old and new (then gen tells it to drop the copy),
 * but no access is a data race. n is a multiple of 4, both records 4-aligned.
 *
 * Writer:  tr_seq_write(&gen, &rec, &new, sizeof(rec));
 * Reader:  do { g = tr_seq_begin(&gen); tr_seq_copy(&mine, &rec, sizeof(mine)); }
 *          while (tr_seq_retry(&gen, g));
 * (or, not to wait: skip this turn when tr_seq_retry says so). */
static inline void tr_seq_copy(void *dst, const void *src, size_t n)
{
	uint32_t *d = (uint32_t *)dst;
	const uint32_t *s = (const uint32_t *)src;

	for (size_t i = 0; i < n / 4; i++)
		tr_store_once(&d[i], tr_load_once(&s[i]));
}

static inline void tr_seq_write(uint32_t *gen, void *rec, const void *from, size_t n)
{
	uint32_t g = tr_load_once(gen);

	tr_store_once(gen, g + 1);
	/* The words below are not seen before the odd gen. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	tr_seq_copy(rec, from, n);
	tr_store_release(gen, g + 2);
}

/* The generation a read starts from (odd: a write is under way). */
static inline uint32_t tr_seq_begin(const uint32_t *gen)
{
	return tr_load_acquire(gen);
}

/* True if the copy taken since tr_seq_begin returned g may be torn. */
static inline bool tr_seq_retry(const uint32_t *gen, uint32_t g)
{
	tr_smp_rmb();
	return (g & 1) || tr_load_once(gen) != g;
}

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
