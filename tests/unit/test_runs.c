/*
 * test_runs.c - spilled runs of a map output: with a budget so small that
 * a few records spill, the merged output file must equal, byte for byte,
 * the segments of the same records finished in memory, with and without
 * a fold; run files are removed; failures leave no file behind.
 */
#include "sl_impl.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shuffle/mapout.h"
#include "shuffle/runs.h"
#include "shuffle/spill.h"
#include "tests/unit/unit.h"

#define NPARTS 3

static int
fold_sum(void *arg, void *acc, const void *val, size_t len)
{
	uint64_t a, v;

	(void)arg;
	memcpy(&a, acc, sizeof(a));
	memcpy(&v, val, sizeof(v));
	a += v;
	memcpy(acc, &a, sizeof(a));
	return SL_OK;
}

/* Files in the case's directory (unit_tdir_make). */
static int
count_files(void)
{
	DIR *d = opendir(unit_tdir());
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Record i: one of 500 keys of varied length, value i (8 bytes). */
static void
record(uint32_t i, char *key, size_t *klen, uint64_t *val)
{
	uint32_t k = (i * 7919u) % 500u;

	*klen = (size_t)snprintf(key, 32, "k%u%.*s", k, (int)(k % 9),
				 "xxxxxxxxx");
	*val = i;
}

/*
 * Adds n records to a map output in memory (reference) and to one that
 * spills whenever it holds more than budget bytes; compares the merged
 * file's segments with the reference's. Returns the number of run files
 * the spills wrote.
 */
static int
check_spilled_equals_unspilled(sl_fold_fn fold, uint32_t n, size_t budget)
{
	sl_mapout *ref = NULL, *mo = NULL;
	sl_runs *runs = NULL;
	sl_buf segs[NPARTS], file = SL_BUF_INIT, path = SL_BUF_INIT;
	sl_buf err = SL_BUF_INIT;
	uint64_t ends[NPARTS], val, start = 0;
	char key[32];
	size_t klen;
	uint32_t i, r;
	int runs_written;

	unit_tdir_make();
	for (r = 0; r < NPARTS; r++)
		sl_buf_init(&segs[r]);
	ASSERT_EQ_INT(sl_mapout_new(&ref, NPARTS, fold, NULL), SL_OK);
	ASSERT_EQ_INT(sl_mapout_new(&mo, NPARTS, fold, NULL), SL_OK);
	sl_buf_addf(&path, "%s/m0-a0", unit_tdir());
	ASSERT_EQ_INT(sl_runs_new(&runs, NPARTS, path.buf, fold, NULL), SL_OK);
	for (i = 0; i < n; i++) {
		record(i, key, &klen, &val);
		ASSERT_EQ_INT(sl_mapout_add(ref, key, klen, &val, 8), SL_OK);
		ASSERT_EQ_INT(sl_mapout_add(mo, key, klen, &val, 8), SL_OK);
		if (sl_mapout_bytes(mo) > budget)
			ASSERT_EQ_INT(sl_runs_spill(runs, mo, &err), SL_OK);
	}
	runs_written = count_files();
	ASSERT_EQ_INT(sl_mapout_finish(ref, segs), SL_OK);
	sl_buf_addstr(&path, ".out");
	ASSERT_EQ_INT(sl_runs_finish(runs, mo, path.buf, ends, &err), SL_OK);
	ASSERT_EQ_STR(err.buf, "");
	{
		FILE *f = fopen(path.buf, "rb");
		char b[4096];
		size_t got;

		CU_ASSERT_FATAL(f != NULL);
		while ((got = fread(b, 1, sizeof(b), f)) > 0)
			sl_buf_add(&file, b, got);
		fclose(f);
	}
	ASSERT_EQ_INT(ends[NPARTS - 1], file.len);
	for (r = 0; r < NPARTS; r++) {
		CU_ASSERT(ends[r] >= start);
		ASSERT_EQ_MEM(file.buf + start, ends[r] - start, segs[r].buf,
			      segs[r].len);
		start = ends[r];
	}
	/* Runs and the output file: the runs go with sl_runs_free. */
	sl_runs_free(runs);
	ASSERT_EQ_INT(count_files(), 1);
	unlink(path.buf);
	ASSERT_EQ_INT(sl_rmtree(unit_tdir(), &err), SL_OK);
	for (r = 0; r < NPARTS; r++)
		sl_buf_release(&segs[r]);
	sl_mapout_free(ref);
	sl_mapout_free(mo);
	sl_buf_release(&file);
	sl_buf_release(&path);
	sl_buf_release(&err);
	return runs_written;
}

static void
test_spilled_equals_unspilled_without_fold(void)
{
	CU_ASSERT(check_spilled_equals_unspilled(NULL, 20000, 16384) > 10);
}

static void
test_spilled_equals_unspilled_with_fold(void)
{
	CU_ASSERT(check_spilled_equals_unspilled(fold_sum, 20000, 16384) > 10);
}

static void
test_no_spill_equals_unspilled(void)
{
	ASSERT_EQ_INT(check_spilled_equals_unspilled(fold_sum, 3000,
						     SIZE_MAX), 0);
	ASSERT_EQ_INT(check_spilled_equals_unspilled(NULL, 0, SIZE_MAX), 0);
}

static void
test_spill_into_missing_dir_fails_cleanly(void)
{
	sl_mapout *mo = NULL;
	sl_runs *runs = NULL;
	sl_buf err = SL_BUF_INIT;
	uint64_t v = 1;

	ASSERT_EQ_INT(sl_mapout_new(&mo, 2, NULL, NULL), SL_OK);
	ASSERT_EQ_INT(sl_runs_new(&runs, 2, "/nonexistent-h13/m0", NULL, NULL),
		      SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(mo, "a", 1, &v, 8), SL_OK);
	ASSERT_EQ_INT(sl_runs_spill(runs, mo, &err), SL_EIO);
	CU_ASSERT(strstr(err.buf, "cannot create spill file "
			 "'/nonexistent-h13/m0-p") == err.buf);
	sl_runs_free(runs);
	sl_mapout_free(mo);
	sl_buf_release(&err);
}

static void
test_fold_of_different_lengths_across_runs_fails(void)
{
	sl_mapout *mo = NULL;
	sl_runs *runs = NULL;
	sl_buf err = SL_BUF_INIT, path = SL_BUF_INIT;
	uint64_t ends[1], v = 1;

	unit_tdir_make();
	sl_buf_addf(&path, "%s/m1", unit_tdir());
	ASSERT_EQ_INT(sl_mapout_new(&mo, 1, fold_sum, NULL), SL_OK);
	ASSERT_EQ_INT(sl_runs_new(&runs, 1, path.buf, fold_sum, NULL), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(mo, "a", 1, &v, 8), SL_OK);
	ASSERT_EQ_INT(sl_runs_spill(runs, mo, &err), SL_OK);
	ASSERT_EQ_INT(count_files(), 1);
	ASSERT_EQ_INT(sl_mapout_add(mo, "a", 1, &v, 4), SL_OK);
	sl_buf_addstr(&path, ".out");
	ASSERT_EQ_INT(sl_runs_finish(runs, mo, path.buf, ends, &err),
		      SL_EINVAL);
	ASSERT_EQ_STR(err.buf, "values of one key have different lengths");
	sl_runs_free(runs);
	ASSERT_EQ_INT(count_files(), 0);
	ASSERT_EQ_INT(sl_rmtree(unit_tdir(), &err), SL_OK);
	sl_mapout_free(mo);
	sl_buf_release(&path);
	sl_buf_release(&err);
}

static void
test_finish_refuses_an_existing_file(void)
{
	sl_mapout *mo = NULL;
	sl_runs *runs = NULL;
	sl_buf err = SL_BUF_INIT, path = SL_BUF_INIT;
	uint64_t ends[1];
	FILE *f;

	unit_tdir_make();
	sl_buf_addf(&path, "%s/m2.out", unit_tdir());
	f = fopen(path.buf, "w");
	CU_ASSERT_FATAL(f != NULL);
	fclose(f);
	ASSERT_EQ_INT(sl_mapout_new(&mo, 1, NULL, NULL), SL_OK);
	ASSERT_EQ_INT(sl_runs_new(&runs, 1, "unused", NULL, NULL), SL_OK);
	ASSERT_EQ_INT(sl_runs_finish(runs, mo, path.buf, ends, &err), SL_EIO);
	CU_ASSERT(strstr(err.buf, "File exists") != NULL);
	/* Not ours: it stays. */
	ASSERT_EQ_INT(count_files(), 1);
	sl_runs_free(runs);
	ASSERT_EQ_INT(sl_rmtree(unit_tdir(), &err), SL_OK);
	sl_mapout_free(mo);
	sl_buf_release(&path);
	sl_buf_release(&err);
}

static const unit_case cases[] = {
	{ "spilled runs merge to the unspilled output without a fold",
	  test_spilled_equals_unspilled_without_fold },
	{ "spilled runs merge to the unspilled output with a fold",
	  test_spilled_equals_unspilled_with_fold },
	{ "a map output that never spilled is written as it is",
	  test_no_spill_equals_unspilled },
	{ "a spill into a missing directory fails and counts no run",
	  test_spill_into_missing_dir_fails_cleanly },
	{ "a fold over values of different lengths across runs fails",
	  test_fold_of_different_lengths_across_runs_fails },
	{ "finish refuses to overwrite an existing file",
	  test_finish_refuses_an_existing_file },
	{ NULL, NULL }
};

UNIT_MAIN("runs", cases)
