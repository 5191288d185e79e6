/* SPDX-License-Identifier: MIT */
/*
 * Ring throughput between two threads: the memory device's generator thread
 * publishes packets, this thread receives and releases them in bursts.
 * Side by side in one run with the copy baseline OpenConnect's Wintun path
 * pays: the same ring, but each packet is memcpy'd in by the producer and out
 * by the consumer. Runs are interleaved and repeated; the median is reported.
 * A benchmark, not a test: it prints figures and asserts nothing.
 *
 * usage: bench_ring [--quick] [--json FILE] [--cpus P,C]
 *
 * --cpus P,C pins the generator (producer) thread to CPU P and this
 * (consumer) thread to CPU C. Unpinned, the scheduler decides run by run
 * whether the two share a core (they then take turns: no cache line
 * crosses, the ring fills and drains in long runs) or not (every slot
 * header and index crosses between caches): the figures of one run can
 * differ several-fold. P == C measures the first case, P != C the second.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tunroom/device.h"
#include "tunroom/memdev.h"
#include "tunroom/tunroom.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cpu_prod = -1, cpu_cons = -1;

static void pin(int cpu)
{
	cpu_set_t set;
	int err;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if ((err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set))) {
		fprintf(stderr, "bench_ring: CPU %d: %s\n", cpu, strerror(err));
		exit(1);
	}
}

/* Packets per second for one configuration, or a negative errno. */
static double run(uint32_t size, unsigned batch, int copy, uint64_t count)
{
	/* Two laps of the ring before the clock starts: the first one faults
	 * in the fresh memory of both mappings (over a millisecond per 4 MiB
	 * on a VM), which at --quick's 200,000 packets outweighed the ring
	 * itself. The figure is the steady state. */
	uint64_t warm = 2 * ((1u << 22) / ((16 + 64 + size + 64 + 15) & ~15u) + 1);
	struct tr_memdev_config mc = {
		.mode = TR_MEMDEV_GENERATOR, .size = size, .count = warm + count, .burst = batch,
		.flags = copy ? TR_MEMDEV_F_COPY : 0,
	};
	struct tr_session_config cfg = { .capacity = 1u << 22, .head_room = 64, .tail_room = 64,
					  .max_packet = 9000 };
	static uint8_t sink[9000];
	struct tr_device *dev;
	struct tr_session *s;
	struct tr_pkt p[64];
	uint64_t got = 0, check = 0;
	int err;

	/* The generator thread starts in tr_session_open and inherits our
	 * affinity: set its CPU first, then move to ours. */
	pin(cpu_prod);
	if ((err = tr_memdev_open(&dev, &mc)) || (err = tr_session_open(&s, dev, &cfg))) {
		fprintf(stderr, "bench_ring: %s\n", tr_strerror(err));
		exit(1);
	}
	pin(cpu_cons);
	double t0 = 0;
	uint64_t got0 = 0;
	while (got < warm + count) {
		if (!got0 && got >= warm) {
			got0 = got;
			t0 = now();
		}
		int n = tr_rx_receive_burst(s, p, batch);
		if (n < 0) {
			fprintf(stderr, "bench_ring: receive: %s\n", tr_strerror(n));
			exit(1);
		}
		if (n == 0) {
			tr_rx_wait(s, 1000);
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (copy)
				memcpy(sink, tr_pkt_data(&p[i]), p[i].len);
			check += tr_pkt_data(&p[i])[0];
		}
		tr_rx_release_burst(s, p, (unsigned)n);
		got += (unsigned)n;
	}
	double dt = now() - t0;
	tr_session_close(s);
	tr_device_close(dev);
	(void)check;
	return (double)(got - got0) / dt;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 64, 1500, 9000 };
	static const unsigned batches[] = { 1, 8, 32 };
	int quick = 0, reps = 3;
	const char *json = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else if (!strcmp(argv[i], "--cpus") && i + 1 < argc &&
			 sscanf(argv[++i], "%d,%d", &cpu_prod, &cpu_cons) == 2 && cpu_prod >= 0 &&
			 cpu_cons >= 0 && cpu_prod < CPU_SETSIZE && cpu_cons < CPU_SETSIZE)
			;
		else {
			fprintf(stderr, "usage: bench_ring [--quick] [--json FILE] [--cpus P,C]\n");
			return 2;
		}
	}
	uint64_t count = quick ? 200000 : 1000000;
	double res[3][3][2][3];

	/* Interleave: every repetition walks all configurations, so noise
	 * from the shared machine lands on all of them alike. */
	for (int r = 0; r < reps; r++)
		for (int si = 0; si < 3; si++)
			for (int bi = 0; bi < 3; bi++)
				for (int c = 0; c < 2; c++)
					res[si][bi][c][r] = run(sizes[si], batches[bi], c, count);

	FILE *jf = json ? fopen(json, "w") : NULL;
	if (jf)
		fprintf(jf, "{\"bench\":\"ring\",\"unit\":\"Mpps\",\"cpus\":\"%s\",\"results\":[",
			cpu_prod < 0 ? "unpinned" : cpu_prod == cpu_cons ? "one" : "two");
	printf("ring: packets/s through the ring between two threads, steady state (after two laps), "
	       "median of %d (min..max)", reps);
	if (cpu_prod >= 0)
		printf(", producer on CPU %d, consumer on CPU %d", cpu_prod, cpu_cons);
	else
		printf(", threads unpinned");
	printf("\n");
	printf("%6s %5s  %22s  %22s  %7s\n", "size", "batch", "zero-copy Mpps", "copy in+out Mpps",
	       "zc/copy");
	for (int si = 0; si < 3; si++)
		for (int bi = 0; bi < 3; bi++) {
			double *zc = res[si][bi][0], *cp = res[si][bi][1];
			qsort(zc, (size_t)reps, sizeof(double), cmp);
			qsort(cp, (size_t)reps, sizeof(double), cmp);
			printf("%6u %5u  %6.2f (%5.2f..%5.2f)  %6.2f (%5.2f..%5.2f)  %6.2fx\n",
			       sizes[si], batches[bi], zc[1] / 1e6, zc[0] / 1e6, zc[2] / 1e6,
			       cp[1] / 1e6, cp[0] / 1e6, cp[2] / 1e6, zc[1] / cp[1]);
			if (jf)
				fprintf(jf, "%s{\"size\":%u,\"batch\":%u,\"zero_copy\":%.4f,\"copy\":%.4f}",
					si + bi ? "," : "", sizes[si], batches[bi], zc[1] / 1e6, cp[1] / 1e6);
		}
	/* How much packet size moves the zero-copy rate at the largest batch. */
	double lo = res[0][2][0][1], hi = res[2][2][0][1];
	printf("zero-copy, batch 32: 9000-byte rate is %.0f%% of the 64-byte rate "
	       "(copy path: %.0f%%)\n", 100.0 * hi / lo,
	       100.0 * res[2][2][1][1] / res[0][2][1][1]);
	if (jf) {
		fprintf(jf, "]}\n");
		fclose(jf);
	}
	return 0;
}
