/*
 * test_spill.c - spill files: runs come back byte for byte; damaged,
 * truncated and foreign files are refused; a write that fails
 * (file size limit, so the disk really refuses) leaves no file; a run
 * written in many appends is the run of one write; a read that fails is
 * an I/O error, not a damaged file; spill directories are removed whole.
 */
#include "sl_impl.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shuffle/spill.h"
#include "tests/unit/unit.h"

static sl_buf path = SL_BUF_INIT;

/* A fresh directory for the test (unit_tdir), and path = dir/name. */
static void
setup(const char *name)
{
	unit_tdir_make();
	sl_buf_reset(&path);
	sl_buf_addf(&path, "%s/%s", unit_tdir(), name);
}

static void
teardown(void)
{
	unit_tdir_remove();
	sl_buf_release(&path);
}

static bool
exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* len bytes: runs of repeated bytes (compressible) and random ones. */
static char *
make_run(size_t len)
{
	char *p = malloc(len ? len : 1);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (i / 4096) % 2 ? (char)unit_rng(&x) : (char)(i / 100);
	return p;
}

/*
 * Appends the run in the file at p to out with the reader merges use:
 * open, next until it returns 0, close. Returns SL_OK or what failed.
 */
static int
read_run(const char *p, sl_buf *out, sl_buf *err)
{
	sl_spill_reader *r;
	int rv;

	if ((rv = sl_spill_open(&r, p, err)) != SL_OK)
		return rv;
	while ((rv = sl_spill_next(r, out, err)) == 1)
		;
	sl_spill_close(r);
	return rv;
}

static void
check_round_trip(size_t len)
{
	sl_buf out = SL_BUF_INIT, err = SL_BUF_INIT;
	char *run = make_run(len);

	setup("run");
	sl_buf_addstr(&out, "kept");
	ASSERT_EQ_INT(sl_spill_write(path.buf, run, len, &err), SL_OK);
	ASSERT_EQ_INT(read_run(path.buf, &out, &err), SL_OK);
	ASSERT_EQ_INT(err.len, 0);
	ASSERT_EQ_MEM(out.buf, 4, "kept", 4);
	ASSERT_EQ_MEM(out.buf + 4, out.len - 4, run, len);
	CU_ASSERT_EQUAL(out.buf[out.len], '\0');
	free(run);
	sl_buf_release(&out);
	sl_buf_release(&err);
	teardown();
}

static void
test_runs_come_back_byte_for_byte(void)
{
	check_round_trip(0);
	check_round_trip(1);
	check_round_trip(SL_SPILL_BLOCK);
	/* Several blocks, and more than one read of the compressed file. */
	check_round_trip(3 * SL_SPILL_BLOCK + 12345);
}

static void
test_an_existing_file_is_not_overwritten(void)
{
	sl_buf err = SL_BUF_INIT;
	FILE *f;

	setup("run");
	f = fopen(path.buf, "w");
	fputs("mine", f);
	fclose(f);
	ASSERT_EQ_INT(sl_spill_write(path.buf, "x", 1, &err), SL_EIO);
	CU_ASSERT(strstr(err.buf, "cannot create spill file") == err.buf);
	CU_ASSERT(strstr(err.buf, "File exists") != NULL);
	f = fopen(path.buf, "r");
	CU_ASSERT_EQUAL(fgetc(f), 'm');
	fclose(f);
	sl_buf_release(&err);
	teardown();
}

/*
 * A file size limit makes write(2) fail with EFBIG part way, as a full
 * disk would with ENOSPC: the error names the file and the cause, and
 * the partial file is gone.
 */
static void
test_a_failed_write_leaves_no_file(void)
{
	sl_buf err = SL_BUF_INIT;
	struct rlimit old, lim;
	size_t len = 4 * SL_SPILL_BLOCK;
	char *run = make_run(len);
	void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);

	setup("run");
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 64 << 10;
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ASSERT_EQ_INT(sl_spill_write(path.buf, run, len, &err), SL_EIO);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, oldsig);
	CU_ASSERT(strstr(err.buf, "cannot write spill file '") == err.buf);
	CU_ASSERT(strstr(err.buf, "File too large") != NULL);
	CU_ASSERT(!exists(path.buf));
	free(run);
	sl_buf_release(&err);
	teardown();
}

/* The bytes of the file at p, in out. */
static void
slurp(const char *p, sl_buf *out)
{
	char b[4096];
	size_t n;
	FILE *f = fopen(p, "r");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while ((n = fread(b, 1, sizeof(b), f)) > 0)
		sl_buf_add(out, b, n);
	fclose(f);
}

/*
 * Appends of every size around a block, an empty one among them, give
 * the run one sl_spill_write of their concatenation gives: the same
 * bytes back, and the same file.
 */
static void
test_many_appends_equal_one_write(void)
{
	static const size_t sizes[] = { 0, 1, 7, SL_SPILL_BLOCK - 1, 0,
					SL_SPILL_BLOCK + 5, 4 * SL_SPILL_BLOCK,
					3, SL_SPILL_BLOCK };
	sl_buf err = SL_BUF_INIT, got = SL_BUF_INIT, one = SL_BUF_INIT,
	       fa = SL_BUF_INIT, fb = SL_BUF_INIT, whole = SL_BUF_INIT;
	sl_spill_writer *w;
	size_t i, len = 0, off = 0;
	char *run;

	for (i = 0; i < SL_ARRAY_LEN(sizes); i++)
		len += sizes[i];
	run = make_run(len);
	setup("appended");
	sl_buf_addf(&whole, "%s/whole", unit_tdir());
	ASSERT_EQ_INT(sl_spill_create(&w, path.buf, &err), SL_OK);
	for (i = 0; i < SL_ARRAY_LEN(sizes); i++) {
		ASSERT_EQ_INT(sl_spill_append(w, run + off, sizes[i], &err),
			      SL_OK);
		off += sizes[i];
	}
	ASSERT_EQ_INT(sl_spill_finish(w, &err), SL_OK);
	ASSERT_EQ_INT(sl_spill_write(whole.buf, run, len, &err), SL_OK);
	ASSERT_EQ_INT(err.len, 0);
	ASSERT_EQ_INT(read_run(path.buf, &got, &err), SL_OK);
	ASSERT_EQ_INT(read_run(whole.buf, &one, &err), SL_OK);
	ASSERT_EQ_MEM(got.buf, got.len, run, len);
	ASSERT_EQ_MEM(one.buf, one.len, run, len);
	slurp(path.buf, &fa);
	slurp(whole.buf, &fb);
	ASSERT_EQ_MEM(fa.buf, fa.len, fb.buf, fb.len);
	free(run);
	sl_buf_release(&err);
	sl_buf_release(&got);
	sl_buf_release(&one);
	sl_buf_release(&fa);
	sl_buf_release(&fb);
	sl_buf_release(&whole);
	teardown();
}

/*
 * Under a 64 KiB file size limit: an append that writes past it fails
 * and removes the file; so does a finish that first writes out what the
 * compressor held (a part block of random bytes). An abort removes a
 * good file too, and a writer never takes an existing file.
 */
static void
test_a_failed_or_aborted_writer_leaves_no_file(void)
{
	sl_buf err = SL_BUF_INIT, out = SL_BUF_INIT;
	struct rlimit old, lim;
	size_t len = 4 * SL_SPILL_BLOCK, part = SL_SPILL_BLOCK / 2;
	char *run = make_run(len), *noise = malloc(part);
	void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
	sl_spill_writer *w;
	uint64_t x = 88172645463325252ull;
	size_t i;

	for (i = 0; i < part; i++)
		noise[i] = (char)(unit_rng(&x) >> 24);
	setup("run");
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 64 << 10;
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ASSERT_EQ_INT(sl_spill_create(&w, path.buf, &err), SL_OK);
	CU_ASSERT(exists(path.buf));
	ASSERT_EQ_INT(sl_spill_append(w, run, len, &err), SL_EIO);
	CU_ASSERT(!exists(path.buf));
	CU_ASSERT(strstr(err.buf, "cannot write spill file '") == err.buf);
	CU_ASSERT(strstr(err.buf, "File too large") != NULL);
	sl_buf_reset(&err);
	ASSERT_EQ_INT(sl_spill_create(&w, path.buf, &err), SL_OK);
	ASSERT_EQ_INT(sl_spill_append(w, noise, part, &err), SL_OK);
	ASSERT_EQ_INT(sl_spill_finish(w, &err), SL_EIO);
	CU_ASSERT(!exists(path.buf));
	CU_ASSERT(strstr(err.buf, "File too large") != NULL);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, oldsig);
	sl_buf_reset(&err);
	ASSERT_EQ_INT(sl_spill_create(&w, path.buf, &err), SL_OK);
	ASSERT_EQ_INT(sl_spill_append(w, run, len, &err), SL_OK);
	sl_spill_abort(w);
	CU_ASSERT(!exists(path.buf));
	sl_spill_abort(NULL);
	ASSERT_EQ_INT(sl_spill_write(path.buf, "ab", 2, &err), SL_OK);
	ASSERT_EQ_INT(sl_spill_create(&w, path.buf, &err), SL_EIO);
	CU_ASSERT_PTR_NULL(w);
	CU_ASSERT(strstr(err.buf, "File exists") != NULL);
	ASSERT_EQ_INT(read_run(path.buf, &out, &err), SL_OK);
	ASSERT_EQ_MEM(out.buf, out.len, "ab", 2);
	free(run);
	free(noise);
	sl_buf_release(&err);
	sl_buf_release(&out);
	teardown();
}

/* Writes a good spill of len bytes, then lets edit() damage the file. */
static int
read_damaged(size_t len, void (*edit)(FILE *f, long size), sl_buf *err)
{
	sl_buf out = SL_BUF_INIT;
	char *run = make_run(len);
	struct stat st;
	FILE *f;
	int rv;

	ASSERT_EQ_INT(sl_spill_write(path.buf, run, len, err), SL_OK);
	CU_ASSERT_EQUAL(stat(path.buf, &st), 0);
	f = fopen(path.buf, "r+");
	edit(f, (long)st.st_size);
	fclose(f);
	sl_buf_addstr(&out, "kept");
	rv = read_run(path.buf, &out, err);
	/* What out held stays; what came before the damage may follow. */
	CU_ASSERT(out.len >= 4 && memcmp(out.buf, "kept", 4) == 0);
	free(run);
	sl_buf_release(&out);
	return rv;
}

static void
flip_middle(FILE *f, long size)
{
	int c;

	fseek(f, size / 2, SEEK_SET);
	c = fgetc(f);
	fseek(f, size / 2, SEEK_SET);
	fputc(c ^ 0x10, f);
}

static void
cut_tail(FILE *f, long size)
{
	CU_ASSERT_EQUAL(ftruncate(fileno(f), size - 3), 0);
}

static void
add_tail(FILE *f, long size)
{
	fseek(f, size, SEEK_SET);
	fputs("more", f);
}

static void
replace_all(FILE *f, long size)
{
	CU_ASSERT_EQUAL(ftruncate(fileno(f), 0), 0);
	fputs("not an lz4 frame\n", f);
}

static void
test_damaged_files_are_refused(void)
{
	void (*edits[])(FILE *, long) = { flip_middle, cut_tail, add_tail,
					  replace_all };
	sl_buf err = SL_BUF_INIT;
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(edits); i++) {
		setup("run");
		sl_buf_reset(&err);
		ASSERT_EQ_INT(read_damaged(2 * SL_SPILL_BLOCK + 7, edits[i],
					   &err), SL_EPROTO);
		CU_ASSERT(strstr(err.buf, "is damaged") != NULL);
		teardown();
	}
	sl_buf_release(&err);
}

static void
test_a_missing_spill_is_an_error(void)
{
	sl_buf err = SL_BUF_INIT, out = SL_BUF_INIT;

	setup("run");
	ASSERT_EQ_INT(read_run(path.buf, &out, &err), SL_ENOTFOUND);
	CU_ASSERT(strstr(err.buf, "cannot open spill file '") == err.buf);
	sl_buf_reset(&err);
	ASSERT_EQ_INT(sl_spill_write(path.buf, "0123456789", 10, &err), SL_OK);
	ASSERT_EQ_INT(read_run(path.buf, &out, &err), SL_OK);
	ASSERT_EQ_MEM(out.buf, out.len, "0123456789", 10);
	sl_buf_release(&err);
	sl_buf_release(&out);
	teardown();
}

/* The descriptor this process has open on the file at p, or -1. */
static int
fd_on(const char *p)
{
	struct stat want, st;
	int fd;

	if (stat(p, &want) != 0)
		return -1;
	for (fd = 3; fd < 1024; fd++)
		if (fstat(fd, &st) == 0 && st.st_dev == want.st_dev &&
		    st.st_ino == want.st_ino)
			return fd;
	return -1;
}

/*
 * read(2) fails with EISDIR on a directory, as root too: a reader opened
 * on one, and a reader whose descriptor becomes one (dup2) after the
 * frame's end, when it checks that nothing follows, fail with SL_EIO and
 * the OS's reason, not as a damaged file.
 */
static void
test_a_failed_read_is_an_io_error(void)
{
	sl_buf err = SL_BUF_INIT, out = SL_BUF_INIT;
	sl_spill_reader *r;
	int dfd, fd;

	setup("run");
	ASSERT_EQ_INT(sl_spill_open(&r, unit_tdir(), &err), SL_OK);
	ASSERT_EQ_INT(sl_spill_next(r, &out, &err), SL_EIO);
	CU_ASSERT(strstr(err.buf, "cannot read spill file '") == err.buf);
	CU_ASSERT(strstr(err.buf, "Is a directory") != NULL);
	sl_spill_close(r);
	sl_buf_reset(&err);
	ASSERT_EQ_INT(sl_spill_write(path.buf, "ab", 2, &err), SL_OK);
	ASSERT_EQ_INT(sl_spill_open(&r, path.buf, &err), SL_OK);
	ASSERT_EQ_INT(sl_spill_next(r, &out, &err), 1);
	ASSERT_EQ_MEM(out.buf, out.len, "ab", 2);
	fd = fd_on(path.buf);
	dfd = open(unit_tdir(), O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(fd >= 0 && dfd >= 0);
	CU_ASSERT_EQUAL_FATAL(dup2(dfd, fd), fd);
	close(dfd);
	ASSERT_EQ_STR(err.buf, "");
	ASSERT_EQ_INT(sl_spill_next(r, &out, &err), SL_EIO);
	CU_ASSERT(strstr(err.buf, "cannot read spill file '") == err.buf);
	CU_ASSERT(strstr(err.buf, "Is a directory") != NULL);
	sl_spill_close(r);
	sl_buf_release(&err);
	sl_buf_release(&out);
	teardown();
}

static void
test_rmdir_removes_the_directory_and_its_files(void)
{
	sl_buf err = SL_BUF_INIT;
	int i;

	setup("run");
	for (i = 0; i < 3; i++) {
		sl_buf_reset(&path);
		sl_buf_addf(&path, "%s/run-%d", unit_tdir(), i);
		ASSERT_EQ_INT(sl_spill_write(path.buf, "ab", 2, &err), SL_OK);
	}
	ASSERT_EQ_INT(sl_rmtree(unit_tdir(), &err), SL_OK);
	CU_ASSERT(!exists(unit_tdir()));
	/* Gone already: still fine, as after a second cleanup. */
	ASSERT_EQ_INT(sl_rmtree(unit_tdir(), &err), SL_OK);
	ASSERT_EQ_INT(err.len, 0);
	sl_buf_release(&err);
	sl_buf_release(&path);
}

static const unit_case cases[] = {
	{ "runs come back byte for byte, empty to several blocks",
	  test_runs_come_back_byte_for_byte },
	{ "an existing file is not overwritten",
	  test_an_existing_file_is_not_overwritten },
	{ "a write that fails part way leaves no file",
	  test_a_failed_write_leaves_no_file },
	{ "many appends give the run of one write of their concatenation",
	  test_many_appends_equal_one_write },
	{ "a failed or aborted writer leaves no file",
	  test_a_failed_or_aborted_writer_leaves_no_file },
	{ "flipped, truncated, extended and foreign files are refused",
	  test_damaged_files_are_refused },
	{ "a missing spill is an error",
	  test_a_missing_spill_is_an_error },
	{ "a read that fails is an I/O error with its reason",
	  test_a_failed_read_is_an_io_error },
	{ "rmdir removes the directory and its files",
	  test_rmdir_removes_the_directory_and_its_files },
	{ NULL, NULL }
};

UNIT_MAIN("spill", cases)
