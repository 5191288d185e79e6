/* SPDX-License-Identifier: MIT */
/* Batched I/O on a SOCK_SEQPACKET socket pair, which keeps message
 * boundaries like a TUN descriptor: both backends, their syscall counts, and
 * the fallback. No root needed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/tunio.h"

#define N 16

struct pair {
	int a, b;
	enum tr_tunio_backend want;
};

static int pair_setup(void **state, enum tr_tunio_backend want)
{
	static struct pair p;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	p.a = sv[0];
	p.b = sv[1];
	p.want = want;
	*state = &p;
	return 0;
}

static int setup_uring(void **state) { return pair_setup(state, TR_TUNIO_AUTO); }
static int setup_plain(void **state) { return pair_setup(state, TR_TUNIO_PLAIN); }

static int teardown(void **state)
{
	struct pair *p = *state;

	close(p->a);
	close(p->b);
	return 0;
}

static void fill(uint8_t *buf, size_t len, unsigned seq)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 7 + i);
}

/* n packets of distinct sizes written as one burst arrive in order, whole,
 * and read back as one burst. */
static void burst_roundtrip(void **state)
{
	struct pair *p = *state;
	static uint8_t out[N][256], in[N][512];
	struct iovec wv[N], rv[N];
	uint32_t lens[N];
	int res[N];
	struct tr_tunio *w, *r;
	struct tr_tunio_stats st;
	bool uring;

	assert_int_equal(tr_tunio_open(&w, p->a, N, p->want), 0);
	assert_int_equal(tr_tunio_open(&r, p->b, N, p->want), 0);
	assert_int_equal(tr_tunio_backend(w), tr_tunio_backend(r));
	uring = tr_tunio_backend(w) == TR_TUNIO_URING;
	if (p->want == TR_TUNIO_PLAIN) {
		assert_false(uring);
		assert_int_equal(tr_tunio_fallback_reason(w), -ECANCELED);
	} else if (!uring) {
		print_message("io_uring unavailable (%s): testing the fallback\n",
			      strerror(-tr_tunio_fallback_reason(w)));
	}
	assert_true(fcntl(p->b, F_GETFL) & O_NONBLOCK);

	for (unsigned i = 0; i < N; i++) {
		fill(out[i], 20 + i * 13, i);
		wv[i] = (struct iovec){ out[i], 20 + i * 13 };
		rv[i] = (struct iovec){ in[i], sizeof(in[i]) };
	}
	assert_int_equal(tr_tunio_write(w, wv, N, res), N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(res[i], (int)wv[i].iov_len);
	tr_tunio_stats(w, &st);
	assert_int_equal(st.tx_packets, N);
	assert_int_equal(st.syscalls, uring ? 1 : N);

	assert_int_equal(tr_tunio_read(r, rv, N, lens), N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(lens[i], wv[i].iov_len);
		assert_memory_equal(in[i], out[i], lens[i]);
	}
	tr_tunio_stats(r, &st);
	assert_int_equal(st.rx_packets, N);
	assert_int_equal(st.syscalls, uring ? 1 : N);

	/* Empty: nothing, no error, and the plain loop stops at the first miss. */
	assert_int_equal(tr_tunio_read(r, rv, N, lens), 0);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(lens[i], 0);
	tr_tunio_stats(r, &st);
	assert_int_equal(st.syscalls, uring ? 2 : N + 1);
	assert_int_equal(st.rx_err, 0);

	/* Fewer waiting than asked for: the rest of the buffers stay empty. */
	assert_int_equal(tr_tunio_write(w, wv, 3, NULL), 3);
	assert_int_equal(tr_tunio_read(r, rv, N, lens), 3);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(lens[i], i < 3 ? wv[i].iov_len : 0);

	tr_tunio_close(w);
	tr_tunio_close(r);
}

/* More than depth packets go out in depth-sized batches. */
static void write_more_than_depth(void **state)
{
	struct pair *p = *state;
	uint8_t pkt[64], buf[128];
	struct iovec wv[10], rv[4];
	uint32_t lens[4];
	struct tr_tunio *w, *r;
	struct tr_tunio_stats st;
	unsigned got = 0;

	memset(pkt, 0x45, sizeof(pkt));
	for (unsigned i = 0; i < 10; i++)
		wv[i] = (struct iovec){ pkt, sizeof(pkt) };
	for (unsigned i = 0; i < 4; i++)
		rv[i] = (struct iovec){ buf, sizeof(buf) }; /* contents not checked */
	assert_int_equal(tr_tunio_open(&w, p->a, 4, p->want), 0);
	assert_int_equal(tr_tunio_open(&r, p->b, 4, p->want), 0);
	assert_int_equal(tr_tunio_write(w, wv, 10, NULL), 10);
	tr_tunio_stats(w, &st);
	assert_int_equal(st.syscalls, tr_tunio_backend(w) == TR_TUNIO_URING ? 3 : 10);
	assert_int_equal(tr_tunio_read(r, rv, 5, lens), -EINVAL); /* n > depth */
	for (int k; (k = tr_tunio_read(r, rv, 4, lens)) > 0;)
		got += (unsigned)k;
	assert_int_equal(got, 10);
	tr_tunio_close(w);
	tr_tunio_close(r);
}

/* A refused packet is counted and reported, and the rest still go. */
static void refused_packets_counted(void **state)
{
	struct pair *p = *state;
	uint8_t small[8] = { 0 }, big[300000];
	struct iovec wv[3] = { { small, sizeof(small) }, { big, sizeof(big) }, { small, 4 } };
	int res[3];
	struct tr_tunio *w;
	struct tr_tunio_stats st;

	memset(big, 0, sizeof(big));
	assert_int_equal(tr_tunio_open(&w, p->a, 8, p->want), 0);
	/* Larger than the socket's send buffer: -EMSGSIZE. */
	assert_int_equal(tr_tunio_write(w, wv, 3, res), 2);
	assert_int_equal(res[0], 8);
	assert_int_equal(res[1], -EMSGSIZE);
	assert_int_equal(res[2], 4);
	tr_tunio_stats(w, &st);
	assert_int_equal(st.tx_packets, 2);
	assert_int_equal(st.tx_err, 1);
	assert_int_equal(st.tx_bytes, 12);
	tr_tunio_close(w);
}

/* A read error that is not "empty" comes back when nothing was read. */
static void read_error_returned(void **state)
{
	struct pair *p = *state;
	uint8_t buf[16];
	struct iovec rv = { buf, sizeof(buf) };
	uint32_t len;
	struct tr_tunio *r;
	int fd = dup(p->b);

	assert_true(fd >= 0);
	assert_int_equal(tr_tunio_open(&r, fd, 1, p->want), 0);
	assert_int_equal(shutdown(fd, SHUT_RD), 0);
	/* After shutdown a read returns 0 (end of file): not a packet, not an error. */
	assert_int_equal(tr_tunio_read(r, &rv, 1, &len), 0);
	assert_int_equal(len, 0);
	tr_tunio_close(r);
	close(fd);
}

/* Packets in pieces: each written as [10-byte header, body] with writev
 * and read back scattered over [header, first part, rest] with readv, as the
 * TUN engine does with IFF_VNET_HDR; one io_uring_enter per burst. */
static void vectored_roundtrip(void **state)
{
	struct pair *p = *state;
	static uint8_t hdr[N][10], body[N][300], rh[N][10], r1[N][100], r2[N][400];
	struct iovec wio[N][2], rio[N][3];
	struct tr_tunio_vec wv[N], rv[N];
	uint32_t lens[N];
	int res[N];
	struct tr_tunio *w, *r;
	struct tr_tunio_stats st;
	bool uring;

	assert_int_equal(tr_tunio_open(&w, p->a, N, p->want), 0);
	assert_int_equal(tr_tunio_open(&r, p->b, N, p->want), 0);
	uring = tr_tunio_backend(w) == TR_TUNIO_URING;
	for (unsigned i = 0; i < N; i++) {
		fill(hdr[i], sizeof(hdr[i]), 100 + i);
		fill(body[i], 50 + i * 15, i);
		wio[i][0] = (struct iovec){ hdr[i], sizeof(hdr[i]) };
		wio[i][1] = (struct iovec){ body[i], 50 + i * 15 };
		wv[i] = (struct tr_tunio_vec){ wio[i], 2 };
		rio[i][0] = (struct iovec){ rh[i], sizeof(rh[i]) };
		rio[i][1] = (struct iovec){ r1[i], sizeof(r1[i]) };
		rio[i][2] = (struct iovec){ r2[i], sizeof(r2[i]) };
		rv[i] = (struct tr_tunio_vec){ rio[i], 3 };
	}
	assert_int_equal(tr_tunio_writev(w, wv, N, res), N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(res[i], 10 + 50 + (int)i * 15);
	tr_tunio_stats(w, &st);
	assert_int_equal(st.syscalls, uring ? 1 : N);
	assert_int_equal(tr_tunio_readv(r, rv, N, lens), N);
	for (unsigned i = 0; i < N; i++) {
		uint32_t len = 50 + i * 15, first = len < 100 ? len : 100;

		assert_int_equal(lens[i], 10 + len);
		assert_memory_equal(rh[i], hdr[i], 10);
		assert_memory_equal(r1[i], body[i], first);
		assert_memory_equal(r2[i], body[i] + first, len - first);
	}
	tr_tunio_stats(r, &st);
	assert_int_equal(st.syscalls, uring ? 1 : N);
	/* A packet needs at least one piece, at most TR_TUNIO_IOV_MAX. */
	rv[0].cnt = 0;
	assert_int_equal(tr_tunio_readv(r, rv, 1, lens), -EINVAL);
	wv[0].cnt = TR_TUNIO_IOV_MAX + 1;
	assert_int_equal(tr_tunio_writev(w, wv, 1, res), -EINVAL);
	tr_tunio_close(w);
	tr_tunio_close(r);
}

static void bad_arguments(void **state)
{
	(void)state;
	struct tr_tunio *io;
	int sv[2];

	assert_int_equal(tr_tunio_open(NULL, 0, 0, TR_TUNIO_AUTO), -EINVAL);
	assert_int_equal(tr_tunio_open(&io, -1, 0, TR_TUNIO_AUTO), -EINVAL);
	assert_null(io);
	assert_int_equal(tr_tunio_open(&io, 0, TR_TUNIO_DEPTH_MAX + 1, TR_TUNIO_AUTO), -EINVAL);
	assert_int_equal(tr_tunio_open(&io, 0, 0, (enum tr_tunio_backend)7), -EINVAL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	close(sv[1]);
	/* Not an open descriptor any more. */
	assert_int_equal(tr_tunio_open(&io, sv[1], 0, TR_TUNIO_AUTO), -EBADF);
	assert_int_equal(tr_tunio_open(&io, sv[0], 0, TR_TUNIO_PLAIN), 0);
	assert_string_equal(tr_tunio_backend_name(io), "read/write");
	assert_int_equal(tr_tunio_write(io, NULL, 1, NULL), -EINVAL);
	assert_int_equal(tr_tunio_write(io, NULL, 0, NULL), 0);
	assert_int_equal(tr_tunio_read(io, NULL, 1, NULL), -EINVAL);
	tr_tunio_close(io);
	tr_tunio_close(NULL);
	close(sv[0]);
}

int main(void)
{
	/* A write to a closed peer must come back as -EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(burst_roundtrip, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(burst_roundtrip, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(write_more_than_depth, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(write_more_than_depth, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(refused_packets_counted, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(refused_packets_counted, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(read_error_returned, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(read_error_returned, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(vectored_roundtrip, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(vectored_roundtrip, setup_plain, teardown),
		cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
