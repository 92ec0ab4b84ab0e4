/*
 * unit.h - the harness of the CUnit unit tests.
 *
 * A test file defines its cases and one table:
 *
 *   static const unit_case cases[] = {
 *           { "a sentence naming the behaviour", test_fn },
 *           { NULL, NULL }
 *   };
 *   UNIT_MAIN("module", cases)
 *
 * UNIT_MAIN runs the cases with CUnit's basic runner, prints
 * "RESULT: N passed, N failed" (read by .ci/run) and exits with automake's
 * codes: 0 all passed, 1 a case failed, 99 the harness itself failed.
 * The failure count is read before CU_cleanup_registry(), which resets it
 * (PITFALLS.md).
 *
 * ASSERT_EQ_INT / ASSERT_EQ_STR / ASSERT_EQ_MEM print both sides when they
 * fail (as libuv's test/task.h does), then record the failure in CUnit.
 *
 * Shared fixtures: unit_rng (a seeded generator), and a temporary
 * directory per case (unit_tdir_make, unit_tpath, unit_write_file,
 * unit_tdir_remove), documented where they are defined.
 */
#ifndef SL_UNIT_H
#define SL_UNIT_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct unit_case {
	const char *name;
	void (*fn)(void);
} unit_case;

#define ASSERT_EQ_INT(a, b)                                                   \
	do {                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);           \
		if (a_ != b_)                                                 \
			fprintf(stderr, "%s:%d: %s == %lld, %s == %lld\n",    \
				__FILE__, __LINE__, #a, a_, #b, b_);          \
		CU_ASSERT_EQUAL(a_, b_);                                      \
	} while (0)

#define ASSERT_EQ_STR(a, b)                                                   \
	do {                                                                  \
		const char *a_ = (a), *b_ = (b);                              \
		int ok_ = a_ && b_ && strcmp(a_, b_) == 0;                    \
		if (!ok_)                                                     \
			fprintf(stderr, "%s:%d: %s == \"%s\", %s == \"%s\"\n",\
				__FILE__, __LINE__, #a, a_ ? a_ : "(null)",   \
				#b, b_ ? b_ : "(null)");                      \
		CU_ASSERT(ok_);                                               \
	} while (0)

#define ASSERT_EQ_MEM(a, alen, b, blen)                                       \
	do {                                                                  \
		size_t al_ = (alen), bl_ = (blen);                            \
		int ok_ = al_ == bl_ && memcmp((a), (b), al_) == 0;           \
		if (!ok_)                                                     \
			unit_mem_diff(__FILE__, __LINE__, #a, (a), al_, #b,   \
				      (b), bl_);                              \
		CU_ASSERT(ok_);                                               \
	} while (0)

/* Prints both sides of a failed ASSERT_EQ_MEM; the bytes need no NUL. */
static inline void
unit_mem_diff(const char *file, int line, const char *an, const void *a,
	      size_t alen, const char *bn, const void *b, size_t blen)
{
	fprintf(stderr, "%s:%d: %s == \"", file, line, an);
	fwrite(a, 1, alen, stderr);
	fprintf(stderr, "\" (%zu bytes), %s == \"", alen, bn);
	fwrite(b, 1, blen, stderr);
	fprintf(stderr, "\" (%zu bytes)\n", blen);
}

/* xorshift64*: a small seeded generator, the same on every machine. */
static inline uint64_t
unit_rng(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

/*
 * The temporary directory of the running case: one at a time per test
 * binary (cases run one after another).
 *
 *   unit_tdir_make();                        fresh $TMPDIR/sluice-test-XXXXXX
 *   unit_write_file(unit_tpath("in"), "x", 1);
 *   ... unit_tdir() is the directory, unit_tpath("a/b") a path in it ...
 *   unit_tdir_remove();                      removes it and all it holds
 *
 * unit_tpath returns one of 8 rotating static buffers: a path stays valid
 * for the next 7 calls, so copy one that must live longer. Failing to make
 * the directory or write a file is a harness failure (exit 99); failing to
 * remove it (say, a subdirectory the case left at mode 000) is a failed
 * assertion of the case.
 */
static inline char *
unit__tdir_buf(void)
{
	static char dir[PATH_MAX]; /* "" until unit_tdir_make() */

	return dir;
}

/* The directory made by unit_tdir_make(). */
static inline const char *
unit_tdir(void)
{
	return unit__tdir_buf();
}

/* Makes a fresh, empty directory (mode 0700); returns its name. */
static inline const char *
unit_tdir_make(void)
{
	const char *t = getenv("TMPDIR");
	char *dir = unit__tdir_buf();

	if ((size_t)snprintf(dir, PATH_MAX, "%s/sluice-test-XXXXXX",
			     t && *t ? t : "/tmp") >= PATH_MAX ||
	    mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	return dir;
}

/* dir/name, in one of 8 rotating static buffers. */
static inline const char *
unit_tpath(const char *name)
{
	static char bufs[8][PATH_MAX];
	static int i;

	i = (i + 1) % 8;
	if ((size_t)snprintf(bufs[i], sizeof(bufs[i]), "%s/%s", unit_tdir(),
			     name) >= sizeof(bufs[i])) {
		fprintf(stderr, "unit_tpath: path too long: %s\n", name);
		exit(99);
	}
	return bufs[i];
}

static inline int
unit__rm_one(const char *path, const struct stat *st, int flag,
	     struct FTW *ftw)
{
	return remove(path);
}

/* Removes the directory and everything under it (symlinks not followed). */
static inline void
unit_tdir_remove(void)
{
	CU_ASSERT(nftw(unit_tdir(), unit__rm_one, 16, FTW_DEPTH | FTW_PHYS) ==
		  0);
}

/* Creates or truncates path and writes len bytes of data to it. */
static inline void
unit_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(99);
	}
}

static inline int
unit_run(const char *suite_name, const unit_case *cases)
{
	CU_pSuite suite;
	unsigned failed, run;
	int i;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	suite = CU_add_suite(suite_name, NULL, NULL);
	if (suite == NULL)
		goto hard;
	for (i = 0; cases[i].name; i++)
		if (CU_add_test(suite, cases[i].name, cases[i].fn) == NULL)
			goto hard;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto hard;
	failed = CU_get_number_of_tests_failed() +
		 CU_get_number_of_suites_failed();
	run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	printf("RESULT: %u passed, %u failed\n", run - (failed > run ? run : failed),
	       failed);
	return failed ? 1 : 0;
hard:
	CU_cleanup_registry();
	return 99;
}

#define UNIT_MAIN(suite_name, cases)                                          \
	int main(void) { return unit_run(suite_name, cases); }

#endif
