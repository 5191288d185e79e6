/* SPDX-License-Identifier: MIT */
/*
 * What a wake-up costs on this machine: two threads pass a token back and
 * forth through eventfds (each side sleeps in poll, as tunroom's workers
 * do), once with both threads on one CPU and once on two, after a pause of
 * 1, 5 and 100 ms before each round trip (the pause lets an idle CPU go to
 * sleep). A ping through a tunnel between two namespaces on one host wakes
 * four threads per round trip (ping -> sending end -> receiving end ->
 * its answer -> ping), so this is the floor under the benchmark's ping
 * figures: on a VM whose idle vCPUs halt at once, a wake-up on the other
 * CPU is an inter-processor interrupt to a halted vCPU (docs/benchmarks.md,
 * "Ping latency: what bounds it").
 * A benchmark, not a test: it prints figures and asserts nothing.
 *
 * usage: bench_wake [--quick]
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define TRIPS_MAX 400

struct pair {
	int to_echo, to_main; /* eventfds */
	int echo_cpu;         /* -1: not pinned */
	int echo_err;         /* pinning the echo thread failed: -errno */
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* Sleeps in poll until the token comes, reads it and sends it back. A
 * token of 2 ends the thread. */
static int take(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, -1) < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		return -1;
	return (int)v;
}

static int give(int fd, uint64_t v)
{
	return write(fd, &v, sizeof(v)) == sizeof(v) ? 0 : -1;
}

static void *echo_main(void *arg)
{
	struct pair *p = arg;

	/* Said to the main thread (token 3), which would otherwise wait for
	 * an answer forever. */
	p->echo_err = pin(p->echo_cpu);
	if (p->echo_err) {
		give(p->to_main, 3);
		return NULL;
	}
	for (;;) {
		int v = take(p->to_echo);

		if (v < 0 || v == 2 || give(p->to_main, 1))
			break;
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median and 90th percentile of trips round trips, each after gap_us. */
static int measure(int main_cpu, int echo_cpu, unsigned gap_us, unsigned trips,
		   double *median, double *p90)
{
	struct pair p = { eventfd(0, 0), eventfd(0, 0), echo_cpu, 0 };
	double rtt[TRIPS_MAX];
	pthread_t th;
	int err = 0;

	if (p.to_echo < 0 || p.to_main < 0)
		return -errno;
	if (pthread_create(&th, NULL, echo_main, &p)) {
		err = -EAGAIN;
		goto out;
	}
	if ((err = pin(main_cpu)))
		goto stop;
	for (unsigned i = 0; i < trips; i++) {
		usleep(gap_us);
		double t0 = now_us();

		if (give(p.to_echo, 1) || take(p.to_main) != 1) {
			err = -EIO;
			break;
		}
		rtt[i] = now_us() - t0;
	}
stop:
	give(p.to_echo, 2);
	pthread_join(th, NULL);
	if (p.echo_err)
		err = p.echo_err;
	if (!err) {
		qsort(rtt, trips, sizeof(rtt[0]), cmp_double);
		*median = rtt[trips / 2];
		*p90 = rtt[trips * 9 / 10];
	}
out:
	close(p.to_echo);
	close(p.to_main);
	return err;
}

/* The first two CPUs this process may run on (a cpuset or taskset may
 * leave out CPU 0 or 1); cpu[1] = -1 if there is only one. */
static int allowed_cpus(const cpu_set_t *set, int cpu[2])
{
	int n = 0;

	cpu[0] = cpu[1] = -1;
	for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, set))
			cpu[n++] = i;
	return n;
}

int main(int argc, char **argv)
{
	static const unsigned gaps_us[] = { 1000, 5000, 100000 };
	unsigned trips = 200;
	cpu_set_t allowed;
	int cpu[2];
	char one[40], two[40];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			trips = 40;
		} else {
			fprintf(stderr, "usage: bench_wake [--quick]\n");
			return 2;
		}
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed) || !allowed_cpus(&allowed, cpu)) {
		fprintf(stderr, "bench_wake: sched_getaffinity: %s\n", strerror(errno));
		return 1;
	}
	snprintf(one, sizeof(one), "one CPU (both on %d)", cpu[0]);
	snprintf(two, sizeof(two), "two CPUs (%d and %d)", cpu[0], cpu[1]);
	printf("wake-up round trips between two threads (eventfd + poll), microseconds, "
	       "median [90th percentile] of %u\n", trips);
	printf("%-28s", "pause before each");
	for (unsigned g = 0; g < sizeof(gaps_us) / sizeof(gaps_us[0]); g++)
		printf(" %14.0f ms", gaps_us[g] / 1000.0);
	printf("\n");
	struct { const char *name; int a, b; } rows[] = {
		{ one, cpu[0], cpu[0] },
		{ two, cpu[0], cpu[1] },
		{ "where the scheduler puts them", -1, -1 },
	};
	for (unsigned r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (r == 1 && cpu[1] < 0)
			continue; /* one CPU: nothing to compare */
		printf("%-28s", rows[r].name);
		for (unsigned g = 0; g < sizeof(gaps_us) / sizeof(gaps_us[0]); g++) {
			double med = 0, p90 = 0;
			unsigned n = gaps_us[g] >= 100000 && trips > 40 ? trips / 4 : trips;
			int err = measure(rows[r].a, rows[r].b, gaps_us[g], n, &med, &p90);

			if (err) {
				printf("\nbench_wake: %s\n", strerror(-err));
				return 1;
			}
			printf("  %6.1f [%6.1f]", med, p90);
			fflush(stdout);
		}
		printf("\n");
		/* Back to where we may run, for the next row's threads. */
		sched_setaffinity(0, sizeof(allowed), &allowed);
	}
	return 0;
}
