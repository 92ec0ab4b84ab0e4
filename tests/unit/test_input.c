/*
 * test_input.c - input expansion, split planning, the line reader, line
 * numbers and sizes (common/input.c).
 *
 * Every case works in its own unit_tdir_make() directory (under $TMPDIR
 * or /tmp) and removes it. The split cases compare the lines of all the
 * splits of a file, read split by split, with a whole-file reading done
 * here by a plain byte loop.
 */
#include "sl_impl.h"

#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/unit.h"

/* --- fixtures (and unit_tdir_make & co. in unit.h) -------------------- */

static void
make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0) {
		perror(path);
		exit(99);
	}
}

/* Expand args; the files joined by spaces, or the error message. */
static int
expand(char *const *args, size_t nargs, sl_buf *out)
{
	sl_strlist files = SL_STRLIST_INIT;
	size_t tlen = strlen(unit_tdir()), i;
	int rv;

	sl_buf_reset(out);
	rv = sl_input_expand(args, nargs, &files, out);
	if (rv != SL_OK)
		CU_ASSERT(files.n == 0 && files.v == NULL);
	for (i = 0; i < files.n; i++) {
		CU_ASSERT(strncmp(files.v[i], unit_tdir(), tlen) == 0);
		sl_buf_addf(out, "%s%s", i ? " " : "", files.v[i] + tlen + 1);
	}
	sl_strlist_release(&files);
	return rv;
}

/* --- expansion --------------------------------------------------------- */

static void
test_expand_directory_takes_visible_regular_files(void)
{
	sl_buf out = SL_BUF_INIT;
	char *args[2];

	unit_tdir_make();
	make_dir(unit_tpath("in"));
	unit_write_file(unit_tpath("in/b.txt"), "b\n", 2);
	unit_write_file(unit_tpath("in/a.txt"), "a\n", 2);
	unit_write_file(unit_tpath("in/.hidden"), "h\n", 2);
	unit_write_file(unit_tpath("in/_SUCCESS"), "", 0);
	unit_write_file(unit_tpath("in/empty"), "", 0);
	make_dir(unit_tpath("in/sub"));
	unit_write_file(unit_tpath("in/sub/c.txt"), "c\n", 2);
	CU_ASSERT(symlink("a.txt", unit_tpath("in/link")) == 0);

	args[0] = (char *)unit_tpath("in");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_OK);
	ASSERT_EQ_STR(out.buf, "in/a.txt in/b.txt in/empty in/link");

	/* A trailing slash does not double the separator. */
	args[0] = (char *)unit_tpath("in/");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_OK);
	ASSERT_EQ_STR(out.buf, "in/a.txt in/b.txt in/empty in/link");
	sl_buf_release(&out);
	unit_tdir_remove();
}

static void
test_expand_sorts_files_and_drops_duplicates(void)
{
	sl_buf out = SL_BUF_INIT;
	char *args[4];

	unit_tdir_make();
	make_dir(unit_tpath("in"));
	unit_write_file(unit_tpath("in/a"), "a", 1);
	unit_write_file(unit_tpath("in/b"), "b", 1);
	unit_write_file(unit_tpath("z"), "z", 1);
	unit_write_file(unit_tpath("_named"), "n", 1);
	args[0] = (char *)unit_tpath("z");
	args[1] = (char *)unit_tpath("in/b");
	args[2] = (char *)unit_tpath("in");
	args[3] = (char *)unit_tpath("_named"); /* named: taken though hidden */
	ASSERT_EQ_INT(expand(args, 4, &out), SL_OK);
	ASSERT_EQ_STR(out.buf, "_named in/a in/b z");
	sl_buf_release(&out);
	unit_tdir_remove();
}

static void
test_expand_globs_match_files_and_directories(void)
{
	sl_buf out = SL_BUF_INIT;
	char *args[1];

	unit_tdir_make();
	make_dir(unit_tpath("d1"));
	make_dir(unit_tpath("d2"));
	unit_write_file(unit_tpath("d1/x.txt"), "x", 1);
	unit_write_file(unit_tpath("d1/y.csv"), "y", 1);
	unit_write_file(unit_tpath("d1/_z.txt"), "z", 1);
	unit_write_file(unit_tpath("d1/.w.txt"), "w", 1);
	unit_write_file(unit_tpath("d2/p.txt"), "p", 1);

	args[0] = (char *)unit_tpath("d1/*.txt");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_OK);
	ASSERT_EQ_STR(out.buf, "d1/x.txt");

	args[0] = (char *)unit_tpath("d?");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_OK);
	ASSERT_EQ_STR(out.buf, "d1/x.txt d1/y.csv d2/p.txt");

	/* A pattern that starts with '_' asks for such names. */
	args[0] = (char *)unit_tpath("d1/_*");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_OK);
	ASSERT_EQ_STR(out.buf, "d1/_z.txt");

	args[0] = (char *)unit_tpath("d1/*.json");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_ENOTFOUND);
	ASSERT_EQ_STR(strstr(out.buf, "no input files match '"), out.buf);
	CU_ASSERT(strstr(out.buf, "/d1/*.json'") != NULL);

	/* Only hidden names match: nothing left. */
	args[0] = (char *)unit_tpath("d1/*z*");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_ENOTFOUND);
	CU_ASSERT(strstr(out.buf, "no input files match '") == out.buf);
	sl_buf_release(&out);
	unit_tdir_remove();
}

static void
test_expand_takes_an_existing_name_with_glob_characters_literally(void)
{
	sl_buf out = SL_BUF_INIT;
	char *args[1];

	unit_tdir_make();
	unit_write_file(unit_tpath("a*"), "1", 1);
	unit_write_file(unit_tpath("ab"), "2", 1);
	args[0] = (char *)unit_tpath("a*");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_OK);
	ASSERT_EQ_STR(out.buf, "a*");
	sl_buf_release(&out);
	unit_tdir_remove();
}

static void
test_expand_reports_a_missing_file(void)
{
	sl_buf out = SL_BUF_INIT, want = SL_BUF_INIT;
	char *args[2];

	unit_tdir_make();
	unit_write_file(unit_tpath("ok"), "1", 1);
	args[0] = (char *)unit_tpath("ok");
	args[1] = (char *)unit_tpath("nope.txt");
	ASSERT_EQ_INT(expand(args, 2, &out), SL_ENOTFOUND);
	sl_buf_addf(&want, "cannot open '%s': No such file or directory",
		    unit_tpath("nope.txt"));
	ASSERT_EQ_STR(out.buf, want.buf);

	/* Under a file, as if it were a directory. */
	args[0] = (char *)unit_tpath("ok/x");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_ENOTFOUND);
	sl_buf_reset(&want);
	sl_buf_addf(&want, "cannot open '%s': Not a directory",
		    unit_tpath("ok/x"));
	ASSERT_EQ_STR(out.buf, want.buf);
	sl_buf_release(&want);
	sl_buf_release(&out);
	unit_tdir_remove();
}

static void
test_expand_reports_a_dangling_symlink(void)
{
	sl_buf out = SL_BUF_INIT, want = SL_BUF_INIT;
	char *args[1];

	unit_tdir_make();
	make_dir(unit_tpath("in"));
	unit_write_file(unit_tpath("in/a"), "a", 1);
	CU_ASSERT(symlink("gone", unit_tpath("in/dangling")) == 0);

	args[0] = (char *)unit_tpath("in/dangling");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_ENOTFOUND);
	sl_buf_addf(&want, "cannot open '%s': No such file or directory",
		    unit_tpath("in/dangling"));
	ASSERT_EQ_STR(out.buf, want.buf);

	/* Inside a directory argument it is an error too: no silent loss. */
	args[0] = (char *)unit_tpath("in");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_ENOTFOUND);
	ASSERT_EQ_STR(out.buf, want.buf);
	sl_buf_release(&want);
	sl_buf_release(&out);
	unit_tdir_remove();
}

static void
test_expand_refuses_a_fifo_and_skips_one_in_a_directory(void)
{
	sl_buf out = SL_BUF_INIT, want = SL_BUF_INIT;
	char *args[1];

	unit_tdir_make();
	make_dir(unit_tpath("in"));
	unit_write_file(unit_tpath("in/a"), "a", 1);
	CU_ASSERT(mkfifo(unit_tpath("in/fifo"), 0644) == 0);

	args[0] = (char *)unit_tpath("in/fifo");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_EINVAL);
	sl_buf_addf(&want, "'%s' is not a regular file", unit_tpath("in/fifo"));
	ASSERT_EQ_STR(out.buf, want.buf);

	args[0] = (char *)unit_tpath("in");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_OK);
	ASSERT_EQ_STR(out.buf, "in/a");

	args[0] = (char *)"/dev/null";
	ASSERT_EQ_INT(expand(args, 1, &out), SL_EINVAL);
	ASSERT_EQ_STR(out.buf, "'/dev/null' is not a regular file");
	sl_buf_release(&want);
	sl_buf_release(&out);
	unit_tdir_remove();
}

static void
test_expand_refuses_a_directory_without_input_files(void)
{
	sl_buf out = SL_BUF_INIT, want = SL_BUF_INIT;
	char *args[1];

	unit_tdir_make();
	make_dir(unit_tpath("empty"));
	args[0] = (char *)unit_tpath("empty");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_ENOTFOUND);
	sl_buf_addf(&want, "no input files in '%s'", unit_tpath("empty"));
	ASSERT_EQ_STR(out.buf, want.buf);

	/* Only hidden names and a subdirectory: the same. */
	make_dir(unit_tpath("out"));
	unit_write_file(unit_tpath("out/_SUCCESS"), "", 0);
	unit_write_file(unit_tpath("out/.crc"), "", 0);
	make_dir(unit_tpath("out/part"));
	unit_write_file(unit_tpath("out/part/x"), "x", 1);
	args[0] = (char *)unit_tpath("out");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_ENOTFOUND);
	sl_buf_reset(&want);
	sl_buf_addf(&want, "no input files in '%s'", unit_tpath("out"));
	ASSERT_EQ_STR(out.buf, want.buf);
	sl_buf_release(&want);
	sl_buf_release(&out);
	unit_tdir_remove();
}

static void
test_expand_refuses_no_arguments(void)
{
	sl_strlist files = SL_STRLIST_INIT;
	sl_buf err = SL_BUF_INIT;

	ASSERT_EQ_INT(sl_input_expand(NULL, 0, &files, &err), SL_EINVAL);
	ASSERT_EQ_STR(err.buf, "no input given");
	ASSERT_EQ_INT(files.n, 0);
	sl_buf_release(&err);
}

/*
 * Expand args with no file descriptor to spare: the soft RLIMIT_NOFILE is
 * set to the lowest free descriptor, so stat() still finds a path but
 * open() and opendir() fail with EMFILE. Unlike mode bits, this makes a
 * path unreadable for root too (CI runs as root).
 */
static int
expand_without_fds(char *const *args, size_t nargs, sl_buf *out)
{
	struct rlimit old, low;
	int fd, rv;

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0 && close(fd) == 0);
	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &old) == 0);
	low = old;
	low.rlim_cur = (rlim_t)fd;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &low) == 0);
	rv = expand(args, nargs, out);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &old) == 0);
	return rv;
}

/*
 * A path that stat() finds but open() refuses is EIO, "cannot read", not
 * the ENOTFOUND "cannot open" of a missing one: first out of descriptors,
 * which holds for root, then (not as root) by mode bits.
 */
static void
test_expand_reports_unreadable_files_and_directories(void)
{
	sl_buf out = SL_BUF_INIT, want = SL_BUF_INIT;
	char *args[1];

	unit_tdir_make();
	unit_write_file(unit_tpath("secret"), "s", 1);
	make_dir(unit_tpath("closed"));
	unit_write_file(unit_tpath("closed/a"), "a", 1);

	args[0] = (char *)unit_tpath("secret");
	ASSERT_EQ_INT(expand_without_fds(args, 1, &out), SL_EIO);
	sl_buf_addf(&want, "cannot read '%s': Too many open files",
		    unit_tpath("secret"));
	ASSERT_EQ_STR(out.buf, want.buf);
	ASSERT_EQ_INT(expand(args, 1, &out), SL_OK); /* the limit did it */
	ASSERT_EQ_STR(out.buf, "secret");

	args[0] = (char *)unit_tpath("closed");
	ASSERT_EQ_INT(expand_without_fds(args, 1, &out), SL_EIO);
	sl_buf_reset(&want);
	sl_buf_addf(&want, "cannot read '%s': Too many open files",
		    unit_tpath("closed"));
	ASSERT_EQ_STR(out.buf, want.buf);
	ASSERT_EQ_INT(expand(args, 1, &out), SL_OK);
	ASSERT_EQ_STR(out.buf, "closed/a");

	if (geteuid() == 0) {
		/* Root reads whatever the mode bits say. */
		fprintf(stderr, "(mode 000: not testable as root) ");
		goto out;
	}
	CU_ASSERT(chmod(unit_tpath("secret"), 0) == 0);
	args[0] = (char *)unit_tpath("secret");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_EIO);
	sl_buf_reset(&want);
	sl_buf_addf(&want, "cannot read '%s': Permission denied",
		    unit_tpath("secret"));
	ASSERT_EQ_STR(out.buf, want.buf);

	CU_ASSERT(chmod(unit_tpath("closed"), 0) == 0);
	args[0] = (char *)unit_tpath("closed");
	ASSERT_EQ_INT(expand(args, 1, &out), SL_EIO);
	sl_buf_reset(&want);
	sl_buf_addf(&want, "cannot read '%s': Permission denied",
		    unit_tpath("closed"));
	ASSERT_EQ_STR(out.buf, want.buf);
	/* for unit_tdir_remove */
	CU_ASSERT(chmod(unit_tpath("closed"), 0700) == 0);
out:
	sl_buf_release(&want);
	sl_buf_release(&out);
	unit_tdir_remove();
}

/* --- planning ---------------------------------------------------------- */

static void
test_plan_cuts_files_in_order_and_skips_empty_ones(void)
{
	sl_strlist files = SL_STRLIST_INIT;
	sl_split_list sp = SL_SPLIT_LIST_INIT;
	sl_buf err = SL_BUF_INIT;

	unit_tdir_make();
	unit_write_file(unit_tpath("a"), "0123456789", 10);
	unit_write_file(unit_tpath("b"), "", 0);
	unit_write_file(unit_tpath("c"), "0123", 4);
	sl_strlist_add(&files, unit_tpath("a"));
	sl_strlist_add(&files, unit_tpath("b"));
	sl_strlist_add(&files, unit_tpath("c"));

	ASSERT_EQ_INT(sl_input_plan(&files, NULL, 4, &sp, &err), SL_OK);
	ASSERT_EQ_INT(sp.n, 4);
	if (sp.n == 4) {
		ASSERT_EQ_STR(sp.v[0].path, unit_tpath("a"));
		ASSERT_EQ_INT(sp.v[0].start, 0);
		ASSERT_EQ_INT(sp.v[0].end, 4);
		ASSERT_EQ_INT(sp.v[1].start, 4);
		ASSERT_EQ_INT(sp.v[1].end, 8);
		ASSERT_EQ_STR(sp.v[2].path, unit_tpath("a"));
		ASSERT_EQ_INT(sp.v[2].start, 8);
		ASSERT_EQ_INT(sp.v[2].end, 10);
		ASSERT_EQ_STR(sp.v[3].path, unit_tpath("c"));
		ASSERT_EQ_INT(sp.v[3].start, 0);
		ASSERT_EQ_INT(sp.v[3].end, 4);
	}
	sl_split_list_release(&sp);

	/* One split per file when split_size is larger than every file. */
	ASSERT_EQ_INT(sl_input_plan(&files, NULL, UINT64_MAX, &sp, &err), SL_OK);
	ASSERT_EQ_INT(sp.n, 2);
	if (sp.n == 2) {
		ASSERT_EQ_INT(sp.v[0].end, 10);
		ASSERT_EQ_INT(sp.v[1].end, 4);
	}
	sl_split_list_release(&sp);
	ASSERT_EQ_INT(err.len, 0);
	ASSERT_EQ_INT(sp.n, 0);
	CU_ASSERT(sp.v == NULL);

	/* Only empty files: no split, no error. */
	sl_strlist_release(&files);
	sl_strlist_add(&files, unit_tpath("b"));
	ASSERT_EQ_INT(sl_input_plan(&files, NULL, 1, &sp, &err), SL_OK);
	ASSERT_EQ_INT(sp.n, 0);
	sl_strlist_release(&files);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_plan_refuses_a_zero_split_size_and_a_missing_file(void)
{
	sl_strlist files = SL_STRLIST_INIT;
	sl_split_list sp = SL_SPLIT_LIST_INIT;
	sl_buf err = SL_BUF_INIT, want = SL_BUF_INIT;

	unit_tdir_make();
	unit_write_file(unit_tpath("a"), "0123456789", 10);
	sl_strlist_add(&files, unit_tpath("a"));
	ASSERT_EQ_INT(sl_input_plan(&files, NULL, 0, &sp, &err), SL_EINVAL);
	ASSERT_EQ_STR(err.buf, "split size must not be 0");

	sl_buf_reset(&err);
	sl_strlist_add(&files, unit_tpath("gone"));
	ASSERT_EQ_INT(sl_input_plan(&files, NULL, 3, &sp, &err), SL_ENOTFOUND);
	sl_buf_addf(&want, "cannot open '%s': No such file or directory",
		    unit_tpath("gone"));
	ASSERT_EQ_STR(err.buf, want.buf);
	ASSERT_EQ_INT(sp.n, 0); /* the splits of "a" are gone too */
	CU_ASSERT(sp.v == NULL);
	sl_strlist_release(&files);
	sl_buf_release(&want);
	sl_buf_release(&err);
	unit_tdir_remove();
}

/*
 * A file's byte ranges cut at line starts, each planned into splits of
 * every size: reading a range's splits gives exactly the range's lines,
 * and the ranges together every line of the file once.
 */
static void
test_plan_of_ranges_reads_exactly_their_lines(void)
{
	static const char data[] = "l1\nline2\r\nx\n\nthe last";
	static const sl_range cut[] = { { 0, 3 }, { 3, 10 }, { 10, 12 },
					{ 12, 13 }, { 13, 21 }, { 21, 21 } };
	sl_strlist files = SL_STRLIST_INIT;
	sl_split_list sp = SL_SPLIT_LIST_INIT;
	sl_buf err = SL_BUF_INIT, got = SL_BUF_INIT;
	sl_line_reader *r;
	sl_range bad;
	sl_slice line;
	uint64_t split, off;
	size_t i, k;

	unit_tdir_make();
	unit_write_file(unit_tpath("a"), data, sizeof(data) - 1);
	for (i = 0; i < SL_ARRAY_LEN(cut); i++)
		sl_strlist_add(&files, unit_tpath("a"));
	for (split = 1; split <= 22; split++) {
		sl_buf_reset(&got);
		ASSERT_EQ_INT(sl_input_plan(&files, cut, split, &sp, &err),
			      SL_OK);
		for (k = 0; k < sp.n; k++) {
			/* a split never leaves its range */
			for (i = 0; i < SL_ARRAY_LEN(cut) &&
				    !(sp.v[k].start >= cut[i].start &&
				      sp.v[k].end <= cut[i].end); i++)
				;
			CU_ASSERT(i < SL_ARRAY_LEN(cut));
			ASSERT_EQ_INT(sl_line_reader_open(&r, sp.v[k].path,
							  sp.v[k].start,
							  sp.v[k].end, 100,
							  &err), SL_OK);
			while (sl_line_reader_next(r, &line, &off, &err) == 1)
				sl_buf_addf(&got, "%llu:%.*s|",
					    (unsigned long long)off,
					    (int)line.len, line.ptr);
			sl_line_reader_close(r);
		}
		ASSERT_EQ_STR(got.buf, "0:l1|3:line2|10:x|12:|13:the last|");
		sl_split_list_release(&sp);
	}
	/* One range alone: its lines only. */
	sl_strlist_release(&files);
	sl_strlist_add(&files, unit_tpath("a"));
	ASSERT_EQ_INT(sl_input_plan(&files, &cut[1], 64, &sp, &err), SL_OK);
	ASSERT_EQ_INT(sp.n, 1);
	ASSERT_EQ_INT(sl_line_reader_open(&r, sp.v[0].path, sp.v[0].start,
					  sp.v[0].end, 100, &err), SL_OK);
	ASSERT_EQ_INT(sl_line_reader_next(r, &line, &off, &err), 1);
	ASSERT_EQ_INT(off, 3);
	ASSERT_EQ_INT(sl_line_reader_next(r, &line, &off, &err), 0);
	sl_line_reader_close(r);
	sl_split_list_release(&sp);
	ASSERT_EQ_STR(err.buf, "");

	/* A file shorter than its range (it changed), a range backwards. */
	bad = (sl_range){ 3, 22 };
	ASSERT_EQ_INT(sl_input_plan(&files, &bad, 4, &sp, &err), SL_EIO);
	CU_ASSERT(strstr(err.buf, "is 21 bytes, short of byte 22 where its "
			 "range ends: the file changed") != NULL);
	ASSERT_EQ_INT(sp.n, 0);
	sl_buf_reset(&err);
	bad = (sl_range){ 5, 4 };
	ASSERT_EQ_INT(sl_input_plan(&files, &bad, 4, &sp, &err), SL_EINVAL);
	CU_ASSERT(strstr(err.buf, "ends before it starts") != NULL);
	sl_strlist_release(&files);
	sl_buf_release(&err);
	sl_buf_release(&got);
	unit_tdir_remove();
}

/* --- the split property ------------------------------------------------ */

/* A line of the whole-file reading: offset, length, too long or not. */
typedef struct ref_line {
	uint64_t off;
	size_t len;
	bool too_big;
} ref_line;

/* The lines of data, by the rule of input.h, with a plain byte loop. */
static size_t
ref_lines(const char *d, size_t n, size_t max_line, ref_line *out)
{
	size_t i = 0, j, len, k = 0;

	while (i < n) {
		for (j = i; j < n && d[j] != '\n'; j++)
			;
		len = j - i;
		if (j < n && len > 0 && d[j - 1] == '\r')
			len--;
		out[k].off = i;
		out[k].len = len;
		out[k].too_big = len > max_line;
		k++;
		i = j + 1;
	}
	return k;
}

/*
 * Read every split of `path` (cut at split_size) with reads of buf_size
 * bytes; true when the lines, in order, are exactly the reference lines
 * and the readers' byte counts add up to the file's size.
 */
static bool
splits_match(const char *path, const char *data, size_t n, uint64_t split_size,
	     size_t buf_size, size_t max_line, const ref_line *ref, size_t nref)
{
	sl_strlist files = SL_STRLIST_INIT;
	sl_split_list sp = SL_SPLIT_LIST_INIT;
	sl_line_reader *r;
	sl_buf err = SL_BUF_INIT;
	sl_slice line;
	uint64_t off, bytes = 0;
	size_t i, k = 0;
	bool ok = true;
	int rv;

	if (sl_strlist_add(&files, path) != SL_OK ||
	    sl_input_plan(&files, NULL, split_size, &sp, &err) != SL_OK)
		ok = false;
	for (i = 0; ok && i < sp.n; i++) {
		rv = sl__line_reader_open_buf(&r, path, sp.v[i].start,
					      sp.v[i].end, max_line, buf_size,
					      &err);
		if (rv != SL_OK) {
			ok = false;
			break;
		}
		while ((rv = sl_line_reader_next(r, &line, &off, &err)) != 0) {
			if (k >= nref || off != ref[k].off ||
			    (rv == SL_ETOOBIG) != ref[k].too_big ||
			    (rv == 1 && (line.len != ref[k].len ||
					 memcmp(line.ptr, data + off,
						line.len) != 0)) ||
			    (rv != 1 && rv != SL_ETOOBIG)) {
				fprintf(stderr, "\nsplit %zu [%llu,%llu) "
					"line %zu rv %d off %llu\n", i,
					(unsigned long long)sp.v[i].start,
					(unsigned long long)sp.v[i].end, k, rv,
					(unsigned long long)off);
				ok = false;
				break;
			}
			k++;
		}
		bytes += sl_line_reader_bytes(r);
		sl_line_reader_close(r);
	}
	if (ok && (k != nref || bytes != n)) {
		fprintf(stderr, "\n%zu lines of %zu, %llu bytes of %zu\n", k,
			nref, (unsigned long long)bytes, n);
		ok = false;
	}
	if (!ok)
		fprintf(stderr, "split_size %llu buf_size %zu max_line %zu: "
			"%s\n", (unsigned long long)split_size, buf_size,
			max_line, err.buf);
	sl_split_list_release(&sp);
	sl_strlist_release(&files);
	sl_buf_release(&err);
	return ok;
}

/* Check every split size 1..n (or the given ones) against ref_lines. */
static void
check_splits(const char *data, size_t n, const uint64_t *sizes,
	     size_t nsizes, const size_t *bufs, size_t nbufs,
	     const size_t *maxes, size_t nmaxes)
{
	ref_line *ref = calloc(n + 1, sizeof(*ref));
	size_t nref, b, m, s, nrun;
	uint64_t split;

	CU_ASSERT_FATAL(ref != NULL);
	unit_write_file(unit_tpath("data"), data, n);
	for (m = 0; m < nmaxes; m++) {
		nref = ref_lines(data, n, maxes[m], ref);
		for (b = 0; b < nbufs; b++) {
			nrun = sizes ? nsizes : n;
			for (s = 0; s < nrun; s++) {
				split = sizes ? sizes[s] : s + 1;
				if (!splits_match(unit_tpath("data"), data, n,
						  split, bufs[b], maxes[m],
						  ref, nref)) {
					CU_FAIL("splits differ from the file");
					goto out;
				}
			}
		}
	}
	CU_PASS("splits match");
out:
	free(ref);
}

static const char small_text[] =
	"hello world\n"
	"\n"
	"crlf line\r\n"
	"\r\n"
	"\n\n"
	"nul\0inside\n"
	"\xff\xfe\x80 not utf-8\r\n"
	"cr\rin the middle\n"
	"a line that is longer than forty bytes, so it is too long\n"
	"x\n"
	"\r\r\n"
	"0123456789012345678901234567890123456789\n"  /* exactly 40 */
	"01234567890123456789012345678901234567890\n" /* 41 */
	"0123456789012345678901234567890123456789\r\n"
	"last";

static void
test_splits_of_a_small_file_give_each_line_once(void)
{
	static const size_t bufs[] = { 1, 3, 16, SL_LINE_READER_BUF };
	static const size_t maxes[] = { 40, 1, (size_t)1 << 30 };
	size_t n = sizeof(small_text) - 1;
	char *d = malloc(n + 2);

	CU_ASSERT_FATAL(d != NULL);
	memcpy(d, small_text, n);
	unit_tdir_make();
	/* As it is (no final newline), with "\n", and ending in "\r". */
	check_splits(d, n, NULL, 0, bufs, SL_ARRAY_LEN(bufs), maxes,
		     SL_ARRAY_LEN(maxes));
	d[n] = '\n';
	check_splits(d, n + 1, NULL, 0, bufs, SL_ARRAY_LEN(bufs), maxes,
		     SL_ARRAY_LEN(maxes));
	d[n] = '\r';
	check_splits(d, n + 1, NULL, 0, bufs, SL_ARRAY_LEN(bufs), maxes,
		     SL_ARRAY_LEN(maxes));
	/* Only newlines. */
	memset(d, '\n', 7);
	check_splits(d, 7, NULL, 0, bufs, SL_ARRAY_LEN(bufs), maxes,
		     SL_ARRAY_LEN(maxes));
	free(d);
	unit_tdir_remove();
}

static void
test_splits_of_a_bigger_file_give_each_line_once(void)
{
	static const size_t bufs[] = { 64, 4096, SL_LINE_READER_BUF };
	static const size_t maxes[] = { 1000, (size_t)1 << 30 };
	static const uint64_t sizes[] = { 1000, 4096, 65536, 99991, 1 << 20 };
	size_t n = 300000, i = 0, len, j;
	uint64_t s = 0x9e3779b97f4a7c15ull;
	char *d = malloc(n);

	CU_ASSERT_FATAL(d != NULL);
	while (i < n) {
		len = unit_rng(&s) % 16 == 0 ? unit_rng(&s) % 5000
					     : unit_rng(&s) % 120;
		for (j = 0; j < len && i < n; j++, i++) {
			d[i] = (char)(unit_rng(&s) % 256);
			if (d[i] == '\n')
				d[i] = 'n';
		}
		if (i < n && unit_rng(&s) % 4 == 0)
			d[i++] = '\r';
		if (i < n)
			d[i++] = '\n';
	}
	unit_tdir_make();
	check_splits(d, n, sizes, SL_ARRAY_LEN(sizes), bufs, SL_ARRAY_LEN(bufs),
		     maxes, SL_ARRAY_LEN(maxes));
	free(d);
	unit_tdir_remove();
}

/* --- the line reader --------------------------------------------------- */

typedef int (*read_fn)(sl_line_reader *, sl_slice *, uint64_t *,
		       struct sl_buf *);

/*
 * One call of fn, sl_line_reader_next() or sl_line_reader_lines(): its
 * result, offset and line or run (want, for a result of 1).
 */
static void
expect_read(read_fn fn, sl_line_reader *r, int want_rv, uint64_t want_off,
	    const char *want)
{
	sl_buf err = SL_BUF_INIT;
	sl_slice got = { NULL, 0 };
	uint64_t off = UINT64_MAX;
	int rv;

	rv = fn(r, &got, &off, &err);
	ASSERT_EQ_INT(rv, want_rv);
	if (rv != 0)
		ASSERT_EQ_INT(off, want_off);
	if (rv == 1 && want_rv == 1)
		ASSERT_EQ_MEM(got.ptr, got.len, want, strlen(want));
	if (rv == SL_ETOOBIG)
		ASSERT_EQ_INT(got.len, 0);
	ASSERT_EQ_INT(err.len, 0);
	sl_buf_release(&err);
}

#define expect_next(r, rv, off, line)                                        \
	expect_read(sl_line_reader_next, r, rv, off, line)
#define expect_run(r, rv, off, run)                                          \
	expect_read(sl_line_reader_lines, r, rv, off, run)

static void
test_reader_skips_lines_longer_than_max_line_and_goes_on(void)
{
	static const size_t bufs[] = { 1, 4, 11, 12, 13, 100,
				       SL_LINE_READER_BUF };
	char data[256];
	sl_line_reader *r;
	sl_buf err = SL_BUF_INIT;
	size_t n = 0, b;

	/* 0: "short"; 6: 50 x; 57: "ok"; 61: 10 bytes + CRLF (fits);
	 * 73: 11 bytes + CRLF (too long); 86: 50 y without newline. */
	n += (size_t)sprintf(data + n, "short\n");
	memset(data + n, 'x', 50), n += 50, data[n++] = '\n';
	n += (size_t)sprintf(data + n, "ok\r\n0123456789\r\n01234567890\r\n");
	memset(data + n, 'y', 50), n += 50;
	unit_tdir_make();
	unit_write_file(unit_tpath("f"), data, n);
	for (b = 0; b < SL_ARRAY_LEN(bufs); b++) {
		CU_ASSERT_FATAL(sl__line_reader_open_buf(&r, unit_tpath("f"), 0,
				n, 10, bufs[b], &err) == SL_OK);
		expect_next(r, 1, 0, "short");
		expect_next(r, SL_ETOOBIG, 6, NULL);
		expect_next(r, 1, 57, "ok");
		expect_next(r, 1, 61, "0123456789");
		expect_next(r, SL_ETOOBIG, 73, NULL);
		expect_next(r, SL_ETOOBIG, 86, NULL);
		expect_next(r, 0, 0, NULL);
		expect_next(r, 0, 0, NULL); /* and stays at the end */
		ASSERT_EQ_INT(sl_line_reader_bytes(r), n);
		sl_line_reader_close(r);
	}
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_reader_returns_a_100_mb_line_within_max_line(void)
{
	size_t big = (size_t)100 << 20, n = big + 8, i;
	char *d = malloc(n);
	sl_line_reader *r;
	sl_buf err = SL_BUF_INIT;
	sl_slice line;
	uint64_t off;

	CU_ASSERT_FATAL(d != NULL);
	memcpy(d, "a\n", 2);
	for (i = 0; i < big; i++)
		d[2 + i] = (char)('a' + i % 26);
	memcpy(d + 2 + big, "\r\nb\r\n\n", 6);
	unit_tdir_make();
	unit_write_file(unit_tpath("big"), d, n);

	CU_ASSERT_FATAL(sl_line_reader_open(&r, unit_tpath("big"), 0, n, big,
					    &err) == SL_OK);
	expect_next(r, 1, 0, "a");
	ASSERT_EQ_INT(sl_line_reader_next(r, &line, &off, &err), 1);
	ASSERT_EQ_INT(off, 2);
	ASSERT_EQ_INT(line.len, big);
	CU_ASSERT(line.len == big && memcmp(line.ptr, d + 2, big) == 0);
	expect_next(r, 1, big + 4, "b");
	expect_next(r, 1, big + 7, "");
	expect_next(r, 0, 0, NULL);
	sl_line_reader_close(r);

	/* One byte less allowed: skipped; a split starting inside it. */
	CU_ASSERT_FATAL(sl_line_reader_open(&r, unit_tpath("big"), 0, n / 2,
					    big - 1, &err) == SL_OK);
	expect_next(r, 1, 0, "a");
	expect_next(r, SL_ETOOBIG, 2, NULL);
	expect_next(r, 0, 0, NULL);
	sl_line_reader_close(r);
	CU_ASSERT_FATAL(sl_line_reader_open(&r, unit_tpath("big"), n / 2, n,
					    big - 1, &err) == SL_OK);
	expect_next(r, 1, big + 4, "b");
	expect_next(r, 1, big + 7, "");
	expect_next(r, 0, 0, NULL);
	sl_line_reader_close(r);
	ASSERT_EQ_INT(err.len, 0);
	sl_buf_release(&err);
	free(d);
	unit_tdir_remove();
}

static void
test_reader_splits_at_a_newline_boundary_exactly(void)
{
	sl_line_reader *r;
	sl_buf err = SL_BUF_INIT;

	unit_tdir_make();
	unit_write_file(unit_tpath("f"), "ab\ncd\nef", 8);
	/* Byte 3 starts "cd": it belongs to the split [3, 6). */
	CU_ASSERT_FATAL(sl_line_reader_open(&r, unit_tpath("f"), 0, 3, 100,
					    &err) == SL_OK);
	expect_next(r, 1, 0, "ab");
	expect_next(r, 0, 0, NULL);
	ASSERT_EQ_INT(sl_line_reader_bytes(r), 3);
	sl_line_reader_close(r);
	CU_ASSERT_FATAL(sl_line_reader_open(&r, unit_tpath("f"), 3, 6, 100,
					    &err) == SL_OK);
	expect_next(r, 1, 3, "cd");
	expect_next(r, 0, 0, NULL);
	sl_line_reader_close(r);
	/* [4, 6) holds no line start: nothing. */
	CU_ASSERT_FATAL(sl_line_reader_open(&r, unit_tpath("f"), 4, 6, 100,
					    &err) == SL_OK);
	expect_next(r, 0, 0, NULL);
	ASSERT_EQ_INT(sl_line_reader_bytes(r), 0);
	sl_line_reader_close(r);
	/* An empty split. */
	CU_ASSERT_FATAL(sl_line_reader_open(&r, unit_tpath("f"), 0, 0, 100,
					    &err) == SL_OK);
	expect_next(r, 0, 0, NULL);
	sl_line_reader_close(r);
	ASSERT_EQ_INT(err.len, 0);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_reader_open_refuses_bad_arguments_and_missing_files(void)
{
	static const struct {
		uint64_t start, end;
		size_t max_line, buf;
	} bad[] = {
		{ 0, 2, 0, 16 },            /* no line is allowed */
		{ 0, 2, SIZE_MAX - 1, 16 }, /* max_line + 2 overflows */
		{ 2, 1, 10, 16 },           /* start > end */
		{ 0, 2, 10, 0 },            /* reads of no bytes */
	};
	sl_line_reader *r;
	sl_buf err = SL_BUF_INIT, want = SL_BUF_INIT;
	size_t i;

	unit_tdir_make();
	unit_write_file(unit_tpath("f"), "x\n", 2);
	sl_buf_addf(&want, "invalid split or line limit for '%s'",
		    unit_tpath("f"));
	for (i = 0; i < SL_ARRAY_LEN(bad); i++) {
		r = (sl_line_reader *)&r; /* must become NULL */
		sl_buf_reset(&err);
		ASSERT_EQ_INT(sl__line_reader_open_buf(&r, unit_tpath("f"),
				bad[i].start, bad[i].end, bad[i].max_line,
				bad[i].buf, &err), SL_EINVAL);
		CU_ASSERT(r == NULL);
		ASSERT_EQ_STR(err.buf, want.buf);
	}
	r = (sl_line_reader *)&r;
	sl_buf_reset(&err);
	sl_buf_reset(&want);
	ASSERT_EQ_INT(sl_line_reader_open(&r, unit_tpath("nope"), 0, 2, 10,
					  &err), SL_ENOTFOUND);
	CU_ASSERT(r == NULL);
	sl_buf_addf(&want, "cannot open '%s': No such file or directory",
		    unit_tpath("nope"));
	ASSERT_EQ_STR(err.buf, want.buf);
	sl_line_reader_close(NULL);
	sl_buf_release(&want);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_reader_reports_a_read_error(void)
{
	sl_line_reader *r;
	sl_buf err = SL_BUF_INIT, want = SL_BUF_INIT;
	sl_slice line;
	uint64_t off;

	/* A directory opens with O_RDONLY, and read() says EISDIR. */
	unit_tdir_make();
	make_dir(unit_tpath("d"));
	CU_ASSERT_FATAL(sl_line_reader_open(&r, unit_tpath("d"), 0, 10, 10,
					    &err) == SL_OK);
	ASSERT_EQ_INT(sl_line_reader_next(r, &line, &off, &err), SL_EIO);
	sl_buf_addf(&want, "cannot read '%s': Is a directory", unit_tpath("d"));
	ASSERT_EQ_STR(err.buf, want.buf);
	sl_line_reader_close(r);
	sl_buf_release(&want);
	sl_buf_release(&err);
	unit_tdir_remove();
}

/* --- runs of lines ----------------------------------------------------- */

/*
 * Read [start, end) of path with two readers side by side: one by runs
 * (sl_line_reader_lines; or, given mix, next or lines at random), the
 * other by sl_line_reader_next. True when each run is whole lines of the
 * file, cut into lines the same as next() gives, and both readers count
 * the same bytes, which are added to *bytes.
 */
static bool
runs_match(const char *path, const char *d, size_t n, uint64_t start,
	   uint64_t end, size_t buf, size_t max_line, uint64_t *mix,
	   uint64_t *bytes)
{
	sl_line_reader *a, *b;
	sl_buf err = SL_BUF_INIT;
	sl_slice run = { NULL, 0 }, want = { NULL, 0 };
	uint64_t off = 0, woff = 0;
	size_t i, len, cut;
	int rv = 0, wrv = 0;
	bool ok, by_line;

	CU_ASSERT_FATAL(sl__line_reader_open_buf(&a, path, start, end,
				max_line, buf, &err) == SL_OK);
	CU_ASSERT_FATAL(sl__line_reader_open_buf(&b, path, start, end,
				max_line, buf, &err) == SL_OK);
	do {
		by_line = mix && unit_rng(mix) % 2;
		rv = by_line ? sl_line_reader_next(b, &run, &off, &err) :
			       sl_line_reader_lines(b, &run, &off, &err);
		if (rv != 1 || by_line) {
			wrv = sl_line_reader_next(a, &want, &woff, &err);
			ok = rv == wrv && (rv == 0 || off == woff) &&
			     (rv != SL_ETOOBIG || run.len == 0) &&
			     (rv != 1 || (run.len == want.len &&
					   memcmp(run.ptr, want.ptr,
						  run.len) == 0));
			continue;
		}
		/* Whole lines of the file, then each as next() gives it. */
		ok = run.len > 0 && off < n && run.len <= n - off &&
		     memcmp(run.ptr, d + off, run.len) == 0 &&
		     (run.ptr[run.len - 1] == '\n' || off + run.len == n);
		for (i = 0; ok && i < run.len; i += len) {
			for (cut = 0; i + cut < run.len &&
				      run.ptr[i + cut] != '\n'; cut++)
				;
			len = cut + (i + cut < run.len);
			if (len > cut && cut > 0 &&
			    run.ptr[i + cut - 1] == '\r')
				cut--;
			wrv = sl_line_reader_next(a, &want, &woff, &err);
			ok = wrv == 1 && woff == off + i && want.len == cut &&
			     memcmp(want.ptr, run.ptr + i, cut) == 0;
		}
	} while (ok && rv != 0);
	ok = ok && err.len == 0 &&
	     sl_line_reader_lines(b, &run, &off, &err) == 0 &&
	     sl_line_reader_bytes(a) == sl_line_reader_bytes(b);
	if (!ok) {
		fprintf(stderr, "\nsplit [%llu,%llu) buf %zu max_line %zu: %s "
			"rv %d off %llu \"%.*s\"; next rv %d off %llu %s\n",
			(unsigned long long)start, (unsigned long long)end, buf,
			max_line, by_line ? "next" : "lines", rv,
			(unsigned long long)off, rv == 1 ? (int)run.len : 0,
			rv == 1 ? run.ptr : "", wrv, (unsigned long long)woff,
			err.len ? err.buf : "");
	}
	*bytes += sl_line_reader_bytes(b);
	sl_line_reader_close(a);
	sl_line_reader_close(b);
	sl_buf_release(&err);
	return ok;
}

/*
 * runs_match over split sizes 1..16 and every cut of data in two, with
 * reads of 1, 2, 3, 7 and 64 bytes; the splits' bytes sum to n.
 */
static bool
check_runs(const char *data, size_t n, size_t max_line, uint64_t *mix)
{
	static const size_t bufs[] = { 1, 2, 3, 7, 64 };
	uint64_t start, end, bytes = 0;
	size_t b, k, i;
	bool ok = true, first;

	unit_write_file(unit_tpath("data"), data, n);
	/* Layout k < 16: splits of k + 1 bytes; else [0, c), [c, n) with
	 * c = k - 16. */
	for (b = 0; ok && b < SL_ARRAY_LEN(bufs); b++)
		for (k = 0; ok && k <= 16 + n; k++) {
			bytes = 0;
			first = true;
			for (start = 0; ok && (first || start < n);
			     start = end, first = false) {
				if (k >= 16)
					end = first ? k - 16 : n;
				else if ((end = start + k + 1) > n)
					end = n;
				ok = runs_match(unit_tpath("data"), data, n,
						start, end, bufs[b], max_line,
						mix, &bytes);
			}
			ok = ok && bytes == n;
		}
	if (!ok) {
		fprintf(stderr, "bytes %llu, file (%zu bytes): \"",
			(unsigned long long)bytes, n);
		for (i = 0; i < n; i++)
			if (data[i] == '\n' || data[i] == '\r')
				fputs(data[i] == '\n' ? "\\n" : "\\r", stderr);
			else
				fputc(data[i], stderr);
		fprintf(stderr, "\"\n");
		CU_FAIL("runs differ from the lines");
	}
	return ok;
}

/* A random text of up to 8 lines of 0-14 or 65-84 bytes (longer than the
 * 64-byte reads), ended by "\n" or "\r\n", the last one maybe by none. */
static size_t
random_text(uint64_t *s, char *d)
{
	size_t n = 0, lines = unit_rng(s) % 9, len, j;

	while (lines-- > 0) {
		len = unit_rng(s) % 16;
		if (len == 15)
			len = 65 + unit_rng(s) % 20;
		for (j = 0; j < len; j++)
			d[n++] = unit_rng(s) % 16 ?
				 (char)('a' + unit_rng(s) % 26) : '\r';
		if (lines == 0 && unit_rng(s) % 3 == 0)
			break;
		if (unit_rng(s) % 2)
			d[n++] = '\r';
		d[n++] = '\n';
	}
	return n;
}

static void
test_runs_are_the_lines_of_every_split(void)
{
	uint64_t s = 0x5eed0f11e5ull;
	char d[1024];
	size_t i;
	bool ok = true;

	unit_tdir_make();
	for (i = 0; ok && i < 30; i++)
		ok = check_runs(d, random_text(&s, d), (size_t)1 << 20, NULL);
	unit_tdir_remove();
}

static void
test_runs_stop_before_a_line_longer_than_max_line(void)
{
	static const char f[] = "ab\nabcde\r\nlonger\nef\n\ngh\n";
	static const char g[] = "abcdef\r\nx\r\nyyyyyyyyyy";
	uint64_t s = 0x70071006ull;
	sl_line_reader *r;
	sl_buf err = SL_BUF_INIT;
	char d[1024];
	size_t i;
	bool ok;

	unit_tdir_make();
	/* The 64-byte buffer holds all of f: the first run takes "abcde\r\n"
	 * (5 bytes) and stops before "longer", the next starts after it. */
	unit_write_file(unit_tpath("f"), f, sizeof(f) - 1);
	CU_ASSERT_FATAL(sl__line_reader_open_buf(&r, unit_tpath("f"), 0,
				sizeof(f) - 1, 5, 64, &err) == SL_OK);
	expect_run(r, 1, 0, "ab\nabcde\r\n");
	expect_run(r, SL_ETOOBIG, 10, NULL);
	expect_run(r, 1, 17, "ef\n\ngh\n");
	expect_run(r, 0, 0, NULL);
	ASSERT_EQ_INT(sl_line_reader_bytes(r), sizeof(f) - 1);
	sl_line_reader_close(r);
	/* Too long first (before "\r\n") and last (without "\n"). */
	unit_write_file(unit_tpath("g"), g, sizeof(g) - 1);
	CU_ASSERT_FATAL(sl__line_reader_open_buf(&r, unit_tpath("g"), 0,
				sizeof(g) - 1, 5, 64, &err) == SL_OK);
	expect_run(r, SL_ETOOBIG, 0, NULL);
	expect_run(r, 1, 8, "x\r\n");
	expect_run(r, SL_ETOOBIG, 11, NULL);
	expect_run(r, 0, 0, NULL);
	ASSERT_EQ_INT(sl_line_reader_bytes(r), sizeof(g) - 1);
	sl_line_reader_close(r);
	/* The same against next(), at every split and read size. */
	ok = check_runs(f, sizeof(f) - 1, 5, NULL) &&
	     check_runs(g, sizeof(g) - 1, 5, NULL);
	for (i = 0; ok && i < 25; i++)
		ok = check_runs(d, random_text(&s, d), 1 + i % 8, NULL);
	if (ok)
		check_runs(small_text, sizeof(small_text) - 1, 40, NULL);
	ASSERT_EQ_INT(err.len, 0);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_runs_and_lines_mix_on_one_reader(void)
{
	uint64_t s = 0x3113ull, mix = 0x1eaf;
	sl_line_reader *r;
	sl_buf err = SL_BUF_INIT;
	char d[1024];
	size_t i;
	bool ok = true;

	unit_tdir_make();
	unit_write_file(unit_tpath("f"), "a\nb\r\nc\nd\n", 9);
	CU_ASSERT_FATAL(sl__line_reader_open_buf(&r, unit_tpath("f"), 0, 9, 10,
						 64, &err) == SL_OK);
	expect_next(r, 1, 0, "a");
	expect_run(r, 1, 2, "b\r\nc\nd\n");
	expect_next(r, 0, 0, NULL);
	expect_run(r, 0, 0, NULL);
	sl_line_reader_close(r);
	/* next() or lines() at random, against next() alone. */
	for (i = 0; ok && i < 25; i++)
		ok = check_runs(d, random_text(&s, d), i % 2 ? 5 : 1 << 20,
				&mix);
	ASSERT_EQ_INT(err.len, 0);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_runs_of_an_empty_file_or_split_are_none(void)
{
	static const struct { const char *f; uint64_t start, end; } sp[] = {
		{ "e", 0, 0 }, { "f", 0, 0 }, { "f", 4, 6 }, { "f", 8, 8 },
	};
	static const size_t bufs[] = { 1, 64 };
	sl_line_reader *r;
	sl_buf err = SL_BUF_INIT;
	size_t i, b;

	unit_tdir_make();
	unit_write_file(unit_tpath("e"), "", 0);
	unit_write_file(unit_tpath("f"), "ab\ncd\nef", 8);
	for (i = 0; i < SL_ARRAY_LEN(sp); i++)
		for (b = 0; b < SL_ARRAY_LEN(bufs); b++) {
			CU_ASSERT_FATAL(sl__line_reader_open_buf(&r,
					unit_tpath(sp[i].f), sp[i].start,
					sp[i].end, 10, bufs[b], &err) == SL_OK);
			expect_run(r, 0, 0, NULL);
			expect_run(r, 0, 0, NULL); /* and stays at the end */
			ASSERT_EQ_INT(sl_line_reader_bytes(r), 0);
			sl_line_reader_close(r);
		}
	ASSERT_EQ_INT(err.len, 0);
	sl_buf_release(&err);
	unit_tdir_remove();
}

/*
 * A split planned from a file's size that the file no longer reaches (it
 * was truncated while the job ran) is an error naming the file and both
 * offsets, never a silent partial result: with next() and with runs, at
 * the open (a split that starts past the new end) or at the read.
 */
static void
test_a_file_shorter_than_its_split_is_an_error(void)
{
	static const struct { uint64_t start, end; int when; } sp[] = {
		{ 0, 20, 1 },  /* lines, then the error at the read */
		{ 4, 12, 1 },
		{ 20, 30, 0 }, /* at the open: skipping the first line */
		{ 8, 9, 0 },
	};
	static const size_t bufs[] = { 1, 3, 64 };
	sl_line_reader *r;
	sl_buf err = SL_BUF_INIT, want = SL_BUF_INIT;
	sl_slice got;
	uint64_t off;
	size_t i, b, k;
	int rv;

	unit_tdir_make();
	unit_write_file(unit_tpath("f"), "ab\ncd\nef", 8);
	for (i = 0; i < SL_ARRAY_LEN(sp); i++)
		for (b = 0; b < SL_ARRAY_LEN(bufs); b++)
			for (k = 0; k < 2; k++) {
				sl_buf_reset(&err);
				sl_buf_reset(&want);
				sl_buf_addf(&want, "'%s' is now 8 bytes, "
					    "short of byte %llu where its split "
					    "ends: the file changed while the "
					    "job ran", unit_tpath("f"),
					    (unsigned long long)sp[i].end);
				rv = sl__line_reader_open_buf(&r,
					unit_tpath("f"), sp[i].start,
					sp[i].end, 10, bufs[b], &err);
				if (sp[i].when == 0) {
					ASSERT_EQ_INT(rv, SL_EIO);
					ASSERT_EQ_STR(err.buf, want.buf);
					continue;
				}
				CU_ASSERT_FATAL(rv == SL_OK);
				do
					rv = k ? sl_line_reader_lines(r, &got,
								&off, &err)
					       : sl_line_reader_next(r, &got,
								&off, &err);
				while (rv == 1);
				ASSERT_EQ_INT(rv, SL_EIO);
				ASSERT_EQ_STR(err.buf, want.buf);
				sl_line_reader_close(r);
			}
	sl_buf_release(&err);
	sl_buf_release(&want);
	unit_tdir_remove();
}

/* --- line numbers ------------------------------------------------------ */

static void
test_line_number_counts_newlines_before_the_offset(void)
{
	static const struct { uint64_t off, line; } cases[] = {
		{ 0, 1 }, { 1, 1 }, { 2, 2 }, { 3, 2 }, { 4, 3 }, { 5, 4 },
		{ 6, 4 },
	};
	sl_buf err = SL_BUF_INIT, want = SL_BUF_INIT;
	uint64_t line;
	size_t i;

	unit_tdir_make();
	unit_write_file(unit_tpath("f"), "a\nb\n\nc", 6);
	for (i = 0; i < SL_ARRAY_LEN(cases); i++) {
		line = 0;
		ASSERT_EQ_INT(sl_line_number(unit_tpath("f"), cases[i].off,
					     &line, &err), SL_OK);
		ASSERT_EQ_INT(line, cases[i].line);
	}
	ASSERT_EQ_INT(sl_line_number(unit_tpath("f"), 7, &line, &err),
		      SL_EINVAL);
	sl_buf_addf(&want, "byte 7 is beyond the end of '%s'", unit_tpath("f"));
	ASSERT_EQ_STR(err.buf, want.buf);

	sl_buf_reset(&err);
	sl_buf_reset(&want);
	ASSERT_EQ_INT(sl_line_number(unit_tpath("g"), 0, &line, &err),
		      SL_ENOTFOUND);
	sl_buf_addf(&want, "cannot open '%s': No such file or directory",
		    unit_tpath("g"));
	ASSERT_EQ_STR(err.buf, want.buf);

	/* A directory opens, and read() says EISDIR. */
	sl_buf_reset(&err);
	sl_buf_reset(&want);
	make_dir(unit_tpath("d"));
	ASSERT_EQ_INT(sl_line_number(unit_tpath("d"), 1, &line, &err), SL_EIO);
	sl_buf_addf(&want, "cannot read '%s': Is a directory", unit_tpath("d"));
	ASSERT_EQ_STR(err.buf, want.buf);
	sl_buf_release(&want);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_line_number_reads_a_file_larger_than_its_buffer(void)
{
	size_t n = 500000, i;
	static const uint64_t offs[] = { 65535, 65536, 65537, 300001, 500000 };
	char *d = malloc(n);
	sl_buf err = SL_BUF_INIT;
	uint64_t line, want;
	size_t k;

	CU_ASSERT_FATAL(d != NULL);
	for (i = 0; i < n; i++)
		d[i] = i % 7 == 3 || i % 1000 == 0 ? '\n' : 'z';
	unit_tdir_make();
	unit_write_file(unit_tpath("f"), d, n);
	for (k = 0; k < SL_ARRAY_LEN(offs); k++) {
		want = 1;
		for (i = 0; i < offs[k]; i++)
			want += d[i] == '\n';
		ASSERT_EQ_INT(sl_line_number(unit_tpath("f"), offs[k], &line,
					     &err), SL_OK);
		ASSERT_EQ_INT(line, want);
	}
	free(d);
	sl_buf_release(&err);
	unit_tdir_remove();
}

/* --- sizes ------------------------------------------------------------- */

static void
test_parse_size_reads_units_and_refuses_junk(void)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "4096", 4096 }, { "1", 1 }, { "4096B", 4096 },
		{ "1K", 1024 }, { "1k", 1024 }, { "64M", 64ull << 20 },
		{ "64MB", 64ull << 20 }, { "64MiB", 64ull << 20 },
		{ "1g", 1ull << 30 }, { "2GiB", 2ull << 30 },
		{ "3T", 3ull << 40 }, { "007", 7 },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215T", 16777215ull << 40 },
	};
	static const char *const bad[] = {
		"", "0", "0K", "-1", "+1", " 1", "1 ", "K", "1X", "1KK",
		"1iB", "1Ki", "1KiBB", "1.5G", "1BB", "0x10",
		"18446744073709551616", "16777216T", "99999999999999999999K",
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(good); i++) {
		v = 0;
		ASSERT_EQ_INT(sl_parse_size(good[i].s, &v), SL_OK);
		CU_ASSERT(v == good[i].v);
		if (v != good[i].v)
			fprintf(stderr, "\"%s\" -> %llu\n", good[i].s,
				(unsigned long long)v);
	}
	for (i = 0; i < SL_ARRAY_LEN(bad); i++) {
		v = 12345;
		ASSERT_EQ_INT(sl_parse_size(bad[i], &v), SL_EINVAL);
		if (v != 12345)
			fprintf(stderr, "\"%s\" was accepted\n", bad[i]);
		CU_ASSERT(v == 12345);
	}
}

static const unit_case cases[] = {
	{ "expand: a directory gives its visible regular files",
	  test_expand_directory_takes_visible_regular_files },
	{ "expand: files come sorted, without duplicates",
	  test_expand_sorts_files_and_drops_duplicates },
	{ "expand: glob patterns match files and directories",
	  test_expand_globs_match_files_and_directories },
	{ "expand: an existing name with * is taken literally",
	  test_expand_takes_an_existing_name_with_glob_characters_literally },
	{ "expand: a missing file is reported",
	  test_expand_reports_a_missing_file },
	{ "expand: a dangling symlink is reported",
	  test_expand_reports_a_dangling_symlink },
	{ "expand: a fifo is refused, and skipped inside a directory",
	  test_expand_refuses_a_fifo_and_skips_one_in_a_directory },
	{ "expand: a directory without input files is refused",
	  test_expand_refuses_a_directory_without_input_files },
	{ "expand: no arguments is refused",
	  test_expand_refuses_no_arguments },
	{ "expand: unreadable files and directories are reported",
	  test_expand_reports_unreadable_files_and_directories },
	{ "plan: files are cut in order, empty files give no split",
	  test_plan_cuts_files_in_order_and_skips_empty_ones },
	{ "plan: a zero split size and a missing file are refused",
	  test_plan_refuses_a_zero_split_size_and_a_missing_file },
	{ "plan: byte ranges of a file give exactly their lines",
	  test_plan_of_ranges_reads_exactly_their_lines },
	{ "splits of a small file give each line once, at every split size",
	  test_splits_of_a_small_file_give_each_line_once },
	{ "splits of a bigger file give each line once",
	  test_splits_of_a_bigger_file_give_each_line_once },
	{ "reader: lines longer than max_line are skipped",
	  test_reader_skips_lines_longer_than_max_line_and_goes_on },
	{ "reader: a 100 MB line is returned within max_line",
	  test_reader_returns_a_100_mb_line_within_max_line },
	{ "reader: a line starting at a split's start is that split's",
	  test_reader_splits_at_a_newline_boundary_exactly },
	{ "reader: open refuses bad arguments and missing files",
	  test_reader_open_refuses_bad_arguments_and_missing_files },
	{ "reader: a read error is reported",
	  test_reader_reports_a_read_error },
	{ "runs: whole lines, the ones next() gives, at every split",
	  test_runs_are_the_lines_of_every_split },
	{ "runs: a line longer than max_line ends a run and is skipped alone",
	  test_runs_stop_before_a_line_longer_than_max_line },
	{ "runs: next() and lines() mix on one reader",
	  test_runs_and_lines_mix_on_one_reader },
	{ "runs: an empty file or split has none",
	  test_runs_of_an_empty_file_or_split_are_none },
	{ "reader: a file shorter than its split is an error",
	  test_a_file_shorter_than_its_split_is_an_error },
	{ "line number: counts newlines before the offset",
	  test_line_number_counts_newlines_before_the_offset },
	{ "line number: a file larger than the count buffer",
	  test_line_number_reads_a_file_larger_than_its_buffer },
	{ "parse size: units, suffixes, junk and overflow",
	  test_parse_size_reads_units_and_refuses_junk },
	{ NULL, NULL }
};

UNIT_MAIN("input", cases)
