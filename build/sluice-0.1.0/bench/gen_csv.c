/*
 * gen_csv.c - writes the aggregate benchmark's input: a CSV with a header
 * "k,v" and ROWS rows "uN,V", N uniform in [0, KEYS), V an integer
 * uniform in [-1000000, 1000000], from a fixed pseudo-random sequence
 * (splitmix64 seeded with SEED), so the same arguments give the same file.
 *
 *   gen_csv ROWS KEYS SEED > data.csv
 *
 * Keys are not zero-padded, so their byte order (u10 < u9) differs from
 * their numeric order, as a real key column's would. About 15 bytes a
 * row; 10 M rows take well under a second. A program: exits 1 on a write
 * error, 2 on bad arguments.
 *
 * Build: cc -O2 -o gen_csv bench/gen_csv.c
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t
gen_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int
gen_arg(const char *s, uint64_t min, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && end != s && !*end && *s != '-' && *out >= min;
}

int
main(int argc, char **argv)
{
	uint64_t rows, keys, state;

	if (argc != 4 || !gen_arg(argv[1], 0, &rows) ||
	    !gen_arg(argv[2], 1, &keys) || !gen_arg(argv[3], 0, &state)) {
		fputs("usage: gen_csv ROWS KEYS SEED (KEYS >= 1)\n", stderr);
		return 2;
	}
	fputs("k,v\n", stdout);
	for (uint64_t i = 0; i < rows; i++) {
		uint64_t k = gen_next(&state) % keys;
		int64_t v = (int64_t)(gen_next(&state) % 2000001) - 1000000;

		printf("u%" PRIu64 ",%" PRId64 "\n", k, v);
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "gen_csv: cannot write the output: %s\n",
			strerror(errno));
		return 1;
	}
	return 0;
}
