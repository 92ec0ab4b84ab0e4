/*
 * window_ref.c - the yardstick of the stream benchmark: the rate
 * source's events (the same sequence as connectors/rate.c: key
 * splitmix64(i) % K, time i * 1000 / N ms) counted by key and 1 s
 * tumbling window in one hand-written loop in one process: no engine, no
 * shuffle, no state on disk, no guarantee. Prints the events per second
 * it reaches and a checksum of the counts.
 *
 *   window_ref EVENTS KEYS RATE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t
mix(uint64_t i)
{
	uint64_t z = i + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int
main(int argc, char **argv)
{
	uint64_t n, keys, rate, i, w, windows, sum = 0;
	uint32_t *count;
	struct timespec a, b;
	double s;

	if (argc != 4)
		return fprintf(stderr, "usage: window_ref EVENTS KEYS RATE\n"), 2;
	n = strtoull(argv[1], NULL, 10);
	keys = strtoull(argv[2], NULL, 10);
	rate = strtoull(argv[3], NULL, 10);
	if (!n || !keys || !rate)
		return 2;
	windows = n / rate + 1;
	if ((count = calloc(windows * keys, sizeof(*count))) == NULL)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		w = i * 1000 / rate / 1000; /* the 1 s window of its time */
		count[w * keys + mix(i) % keys]++;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	for (i = 0; i < windows * keys; i++)
		sum += count[i] * (i + 1);
	s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.0f events/s checksum %llu\n", (double)n / s,
	       (unsigned long long)sum);
	free(count);
	return 0;
}
