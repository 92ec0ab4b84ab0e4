/*
 * test_csv.c - the RFC 4180 split reader (common/csv.c).
 *
 * Each case writes its input under a fresh unit_tdir_make() directory
 * and removes it. Reads are turned into a text trace ("R@offset raw
 * fields" per record, "B@offset reason" per bad record, "T@offset" per
 * record too long) that is compared with a trace the test builds itself:
 * by hand for the small cases, and, for generated files, from what the
 * generator wrote.
 * Splits of a file are checked against one read of the whole file.
 */
#include "sl_impl.h"

#include <stdio.h>
#include <stdlib.h>

#include "csv.h"
#include "tests/unit/unit.h"

#define MIB ((size_t)1 << 20)

/*
 * Writes data to in.csv in a fresh unit_tdir_make() directory; returns its
 * path, valid until unit_tdir_remove() (this file makes no other paths).
 */
static const char *
tmp_file(const void *data, size_t len)
{
	const char *path;

	unit_tdir_make();
	path = unit_tpath("in.csv");
	unit_write_file(path, data, len);
	return path;
}

static void
trace_bytes(sl_buf *t, const char *p, size_t n)
{
	sl_buf_addf(t, "%zu:", n);
	sl_buf_add(t, p, n);
}

static void
trace_record(sl_buf *t, uint64_t off, const char *raw, size_t rawlen,
	     const sl_slice *f, size_t n)
{
	size_t i;

	sl_buf_addf(t, "R@%llu ", (unsigned long long)off);
	trace_bytes(t, raw, rawlen);
	sl_buf_addf(t, " %zu", n);
	for (i = 0; i < n; i++) {
		sl_buf_addch(t, ' ');
		trace_bytes(t, f[i].ptr, f[i].len);
	}
	sl_buf_addch(t, '\n');
}

/*
 * Reads the split [start, end) to its end, skipping bad records, and
 * appends its trace to t. Returns the bytes the split consumed, or
 * UINT64_MAX when open or a read failed.
 */
static uint64_t
read_split(const char *path, uint64_t start, uint64_t end, size_t max,
	   sl_buf *t)
{
	sl_csv_reader *r = NULL;
	sl_buf err = SL_BUF_INIT;
	const sl_slice *f;
	size_t n;
	sl_slice raw;
	uint64_t off, bytes = UINT64_MAX;
	int rv;

	rv = sl_csv_open(&r, path, start, end, max, &err);
	ASSERT_EQ_INT(rv, SL_OK);
	if (rv != SL_OK)
		goto out;
	while ((rv = sl_csv_next(r, &f, &n, &raw, &off, &err)) != 0) {
		if (rv == 1) {
			trace_record(t, off, raw.ptr, raw.len, f, n);
		} else if (rv == SL_EBADRECORD) {
			ASSERT_EQ_INT(n, 0);
			sl_buf_addf(t, "B@%llu %s\n", (unsigned long long)off,
				    err.buf);
		} else if (rv == SL_ETOOBIG) {
			ASSERT_EQ_INT(raw.len, 0);
			sl_buf_addf(t, "T@%llu %s\n", (unsigned long long)off,
				    err.buf);
		} else {
			ASSERT_EQ_INT(rv, 1);
			goto out;
		}
		sl_buf_reset(&err);
	}
	/* the end is sticky */
	ASSERT_EQ_INT(sl_csv_next(r, &f, &n, &raw, &off, &err), 0);
	bytes = sl_csv_bytes_read(r);
out:
	sl_csv_close(r);
	sl_buf_release(&err);
	return bytes;
}

/* The trace of the whole file in one split. */
static void
read_whole(const char *path, size_t max, sl_buf *t)
{
	struct stat st;

	CU_ASSERT_FATAL(stat(path, &st) == 0);
	read_split(path, 0, (uint64_t)st.st_size, max, t);
}

static void
check_header(const char *path, const char *const *want, size_t nwant)
{
	sl_csv_reader *r = NULL;
	sl_buf err = SL_BUF_INIT;
	const sl_slice *f;
	size_t n, i;

	ASSERT_EQ_INT(sl_csv_open(&r, path, 0, 0, 100, &err), SL_OK);
	if (r == NULL)
		return;
	ASSERT_EQ_INT(sl_csv_reader_header(r, &f, &n), SL_OK);
	ASSERT_EQ_INT(n, nwant);
	for (i = 0; i < n && i < nwant; i++)
		ASSERT_EQ_MEM(f[i].ptr, f[i].len, want[i], strlen(want[i]));
	sl_csv_close(r);
	sl_buf_release(&err);
}

/* Compares the whole-file trace of `csv` with `want`. */
static void
check_whole(const char *csv, size_t len, size_t max, const char *want,
	    size_t wantlen)
{
	sl_buf t = SL_BUF_INIT;
	const char *path = tmp_file(csv, len);

	read_whole(path, max, &t);
	ASSERT_EQ_MEM(t.buf, t.len, want, wantlen);
	unit_tdir_remove();
	sl_buf_release(&t);
}

/* For string literals, which may hold NUL bytes. */
#define CHECK_WHOLE(csv, max, want)                                           \
	check_whole(csv, sizeof(csv) - 1, max, want, sizeof(want) - 1)

static void
test_plain_records_follow_the_header(void)
{
	static const char *const hdr[] = { "k", "v", "w" };
#define CSV "k,v,w\na,1,x\nbb,22,\n,,\n"
	const char *path = tmp_file(CSV, strlen(CSV));

	check_header(path, hdr, 3);
	unit_tdir_remove();
	CHECK_WHOLE(CSV, 100,
		    "R@6 5:a,1,x 3 1:a 1:1 1:x\n"
		    "R@12 6:bb,22, 3 2:bb 2:22 0:\n"
		    "R@19 2:,, 3 0: 0: 0:\n");
#undef CSV
}

static void
test_quoted_fields_hold_commas_quotes_and_line_ends(void)
{
	CHECK_WHOLE("h\r\n"
		    "\"a,b\",\"say \"\"hi\"\"\"\r\n"
		    "\"line\nbreak\",\"cr\r\nlf\",\"\"\r\n"
		    "\"\"\"\",\"x\"\"\"\"y\"\n", 100,
		    "R@3 18:\"a,b\",\"say \"\"hi\"\"\" 2 3:a,b 8:say \"hi\"\n"
		    "R@23 24:\"line\nbreak\",\"cr\r\nlf\",\"\" 3 10:line\nbreak "
		    "6:cr\r\nlf 0:\n"
		    "R@49 13:\"\"\"\",\"x\"\"\"\"y\" 2 1:\" 4:x\"\"y\n");
}

static void
test_the_last_record_may_lack_its_line_end(void)
{
	CHECK_WHOLE("h\nlast,1", 100, "R@2 6:last,1 2 4:last 1:1\n");
	CHECK_WHOLE("h\r\n\"q\nq\"", 100, "R@3 5:\"q\nq\" 1 3:q\nq\n");
	/* no empty record after a final line end */
	CHECK_WHOLE("h\nx\n", 100, "R@2 1:x 1 1:x\n");
}

static void
test_blank_lines_are_skipped_but_an_empty_quoted_field_is_not(void)
{
#define CSV "\n\r\nh,i\n\na\n\r\n\"\"\n,\n\n"
	static const char *const hdr[] = { "h", "i" };
	const char *path = tmp_file(CSV, strlen(CSV));

	check_header(path, hdr, 2);
	unit_tdir_remove();
	CHECK_WHOLE(CSV, 100,
		    "R@8 1:a 1 1:a\n"
		    "R@12 2:\"\" 1 0:\n"
		    "R@15 1:, 2 0: 0:\n");
#undef CSV
}

static void
test_nul_and_non_utf8_bytes_are_data(void)
{
	CHECK_WHOLE("h\n\0a\xff,\"\xc3\x28\0\"\n", 100,
		    "R@2 9:\0a\xff,\"\xc3\x28\0\" 2 3:\0a\xff 3:\xc3\x28\0\n");
	CHECK_WHOLE("h\n\0,\0\0\n", 100, "R@2 4:\0,\0\0 2 1:\0 2:\0\0\n");
}

static void
test_malformed_records_are_reported_and_skipped(void)
{
	/* a stray quote runs its record on to the next stray quote */
	CHECK_WHOLE("h\nok,1\na\"b,2\nc,3\nd\"e\nf,4\n", 100,
		    "R@2 4:ok,1 2 2:ok 1:1\n"
		    "B@7 field 1: quote in an unquoted field\n"
		    "R@21 3:f,4 2 1:f 1:4\n");
	CHECK_WHOLE("h\n\"a\"b,1\n2,\"x\" \nz\n", 100,
		    "B@2 field 1: data after the closing quote\n"
		    "B@9 field 2: data after the closing quote\n"
		    "R@16 1:z 1 1:z\n");
	CHECK_WHOLE("h\nx\n\"open,1\ny,2\n", 100,
		    "R@2 1:x 1 1:x\n"
		    "B@4 quote left open at the end of the file\n");
}

static void
test_records_longer_than_max_are_skipped(void)
{
	/* 10 bytes pass, with LF or CRLF; 11 do not */
	CHECK_WHOLE("h\n0123456789\n0123456789\r\n0123456789a\nok\n", 10,
		    "R@2 10:0123456789 1 10:0123456789\n"
		    "R@13 10:0123456789 1 10:0123456789\n"
		    "T@25 record longer than 10 bytes\n"
		    "R@37 2:ok 1 2:ok\n");
	/* the last record too */
	CHECK_WHOLE("h\nok\n0123456789a", 10,
		    "R@2 2:ok 1 2:ok\n"
		    "T@5 record longer than 10 bytes\n");
}

/* A record much longer than the window, with quoted line ends inside. */
static void
test_a_runaway_record_is_skipped_without_holding_it(void)
{
	size_t big = 3 * MIB, i, len;
	char *csv = malloc(big + 64);
	char want[128];

	CU_ASSERT_FATAL(csv != NULL);
	len = (size_t)sprintf(csv, "h\nx\n\"");
	for (i = 0; i < big; i++)
		csv[len++] = i % 100 == 99 ? '\n' : 'q';
	len += (size_t)sprintf(csv + len, "\",1\nnext\n");
	snprintf(want, sizeof(want),
		 "R@2 1:x 1 1:x\nT@4 record longer than 100 bytes\n"
		 "R@%zu 4:next 1 4:next\n", len - 5);
	check_whole(csv, len, 100, want, strlen(want));
	free(csv);
}

static void
test_a_100_mb_record_is_read_whole(void)
{
	size_t big = 100 * MIB, len;
	char *csv = malloc(big + 64);
	sl_csv_reader *r = NULL;
	sl_buf err = SL_BUF_INIT;
	const sl_slice *f;
	size_t n;
	sl_slice raw;
	uint64_t off;
	const char *path;

	CU_ASSERT_FATAL(csv != NULL);
	len = (size_t)sprintf(csv, "a,b\n1,\"");
	memset(csv + len, 'z', big);
	len += big;
	len += (size_t)sprintf(csv + len, "\"\n2,3\n");
	path = tmp_file(csv, len);
	ASSERT_EQ_INT(sl_csv_open(&r, path, 0, len, 128 * MIB, &err), SL_OK);
	CU_ASSERT_FATAL(r != NULL);
	ASSERT_EQ_INT(sl_csv_next(r, &f, &n, &raw, &off, &err), 1);
	ASSERT_EQ_INT(n, 2);
	ASSERT_EQ_INT(f[1].len, big);
	CU_ASSERT(f[1].ptr[0] == 'z' && f[1].ptr[big - 1] == 'z');
	ASSERT_EQ_INT(raw.len, big + 4);
	ASSERT_EQ_INT(off, 4);
	ASSERT_EQ_INT(sl_csv_next(r, &f, &n, &raw, &off, &err), 1);
	ASSERT_EQ_MEM(raw.ptr, raw.len, "2,3", 3);
	ASSERT_EQ_INT(sl_csv_next(r, &f, &n, &raw, &off, &err), 0);
	ASSERT_EQ_INT(sl_csv_bytes_read(r), len);
	sl_csv_close(r);
	unit_tdir_remove();
	free(csv);
	sl_buf_release(&err);
}

static void
test_open_reports_missing_files_bad_headers_and_bad_splits(void)
{
	sl_csv_reader *r = NULL;
	sl_buf err = SL_BUF_INIT;
	const char *path;

	ASSERT_EQ_INT(sl_csv_open(&r, "/nonexistent/x.csv", 0, 10, 100, &err),
		      SL_ENOTFOUND);
	ASSERT_EQ_STR(err.buf, "cannot open '/nonexistent/x.csv': "
			       "No such file or directory");
	CU_ASSERT(r == NULL);

	path = tmp_file("a\"b,c\nd\"\n", 9);
	sl_buf_reset(&err);
	ASSERT_EQ_INT(sl_csv_open(&r, path, 0, 10, 100, &err), SL_EBADRECORD);
	CU_ASSERT(strstr(err.buf, "quote in an unquoted field") != NULL);
	CU_ASSERT(strstr(err.buf, path) != NULL);
	sl_buf_reset(&err);
	ASSERT_EQ_INT(sl_csv_open(&r, path, 0, 10, 5, &err), SL_ETOOBIG);
	CU_ASSERT(strstr(err.buf, "longer than 5 bytes") != NULL);
	sl_buf_reset(&err);
	ASSERT_EQ_INT(sl_csv_open(&r, path, 5, 4, 100, &err), SL_EINVAL);
	CU_ASSERT(err.len > 0);
	CU_ASSERT(r == NULL);
	/* under a file, as if it were a directory: missing, as for lines */
	sl_buf_reset(&err);
	ASSERT_EQ_INT(sl_csv_open(&r, unit_tpath("in.csv/x"), 0, 10, 100, &err),
		      SL_ENOTFOUND);
	CU_ASSERT(strstr(err.buf, "/in.csv/x': Not a directory") != NULL);
	CU_ASSERT(r == NULL);
	unit_tdir_remove();

	/* a directory opens but cannot be read */
	unit_tdir_make();
	sl_buf_reset(&err);
	ASSERT_EQ_INT(sl_csv_open(&r, unit_tdir(), 0, 10, 100, &err), SL_EIO);
	CU_ASSERT(strstr(err.buf, "Is a directory") != NULL);
	unit_tdir_remove();
	sl_buf_release(&err);
}

static void
test_an_empty_file_has_no_header_and_no_records(void)
{
	check_header(tmp_file("", 0), NULL, 0);
	unit_tdir_remove();
	check_header(tmp_file("\n\r\n\n", 4), NULL, 0);
	unit_tdir_remove();
	CHECK_WHOLE("", 100, "");
	CHECK_WHOLE("\n\n", 100, "");
	CHECK_WHOLE("only,header", 100, "");
}

/* --- splits -------------------------------------------------------------- */

static uint64_t rng_state; /* seeded by each case */

/* A number in [0, n) from unit_rng. */
static uint32_t
rng(uint32_t n)
{
	return (uint32_t)(unit_rng(&rng_state) % n);
}

/* One random field: its CSV text to csv, its value to val. */
static void
gen_field(sl_buf *csv, sl_buf *val)
{
	static const char *const pieces[] = {
		"a", "xyz", "12.5", " ", ",", "\"", "\n", "\r\n", "\r", "\0",
		"\xff", "\xc3\xa9",
	};
	size_t n = rng(6), i;
	bool quote = rng(3) == 0;
	size_t start = val->len;

	for (i = 0; i < n; i++) {
		size_t k = rng(quote ? SL_ARRAY_LEN(pieces) : 3);

		sl_buf_add(val, pieces[k], k == 9 ? 1 : strlen(pieces[k]));
	}
	if (!quote) {
		sl_buf_add(csv, val->buf + start, val->len - start);
		return;
	}
	sl_buf_addch(csv, '"');
	for (i = start; i < val->len; i++) {
		if (val->buf[i] == '"')
			sl_buf_addch(csv, '"');
		sl_buf_addch(csv, val->buf[i]);
	}
	sl_buf_addch(csv, '"');
}

/*
 * A random CSV file of about `size` bytes to csv, and the trace a reader
 * of the whole file must give to want. With `bad`, some records get a
 * stray quote or data after a closing quote, and the file's quote count
 * stays even by pairing them, so that later records are still good.
 */
static void
gen_csv(size_t size, bool bad, sl_buf *csv, sl_buf *want)
{
	sl_buf val = SL_BUF_INIT;
	sl_slice f[8];
	size_t flen[8], foff[8];
	bool header = true;

	while (csv->len < size) {
		size_t n = 1 + rng(5), i, at = csv->len;

		if (rng(10) == 0) { /* blank line */
			sl_buf_addstr(csv, rng(2) ? "\n" : "\r\n");
			continue;
		}
		if (bad && !header && rng(8) == 0) {
			/* a stray quote and another on the next line: one
			 * bad record of two lines; or a one-line one */
			sl_buf_addstr(csv, rng(2) ? "x\"y,1\nz\"\n"
						  : "\"ab\"c,1\n");
			sl_buf_addf(want, "B@%zu field 1: %s\n", at,
				    csv->buf[at] == 'x'
					    ? "quote in an unquoted field"
					    : "data after the closing quote");
			continue;
		}
		sl_buf_reset(&val);
		for (i = 0; i < n; i++) {
			if (i)
				sl_buf_addch(csv, ',');
			foff[i] = val.len;
			gen_field(csv, &val);
			flen[i] = val.len - foff[i];
		}
		/* pointers only now that val has stopped moving */
		for (i = 0; i < n; i++) {
			f[i].ptr = val.buf + foff[i];
			f[i].len = flen[i];
		}
		/* a record of one empty unquoted field would be a blank
		 * line: make it a quoted one */
		if (csv->len == at)
			sl_buf_addstr(csv, "\"\"");
		if (!header)
			trace_record(want, at, csv->buf + at, csv->len - at, f,
				     n);
		header = false;
		if (csv->len < size || rng(2))
			sl_buf_addstr(csv, rng(2) ? "\n" : "\r\n");
	}
	sl_buf_release(&val);
}

/* Reads file `path` of `len` bytes in splits cut at cuts[0..ncuts). */
static void
read_cut(const char *path, uint64_t len, const uint64_t *cuts, size_t ncuts,
	 sl_buf *t)
{
	uint64_t start = 0, bytes = 0;
	size_t i;

	for (i = 0; i <= ncuts; i++) {
		uint64_t end = i < ncuts ? cuts[i] : len;

		bytes += read_split(path, start, end, 1 << 16, t);
		start = end;
	}
	ASSERT_EQ_INT(bytes, len);
}

/* Splits of every size 1..len of the file must give `want`. */
static void
check_every_split_size(const char *path, size_t len, const sl_buf *want)
{
	sl_buf t = SL_BUF_INIT;
	uint64_t cuts[512];
	size_t s, i, n;

	CU_ASSERT_FATAL(len < SL_ARRAY_LEN(cuts));
	for (s = 1; s <= len; s++) {
		for (n = 0, i = s; i < len; i += s)
			cuts[n++] = i;
		sl_buf_reset(&t);
		read_cut(path, len, cuts, n, &t);
		if (t.len != want->len || memcmp(t.buf, want->buf, t.len))
			fprintf(stderr, "split size %zu differs\n", s);
		ASSERT_EQ_MEM(t.buf, t.len, want->buf, want->len);
	}
	sl_buf_release(&t);
}

static void
check_all_split_sizes(bool bad, uint64_t seed)
{
	sl_buf csv = SL_BUF_INIT, want = SL_BUF_INIT, t = SL_BUF_INIT;
	const char *path;

	rng_state = seed;
	gen_csv(300, bad, &csv, &want);
	path = tmp_file(csv.buf, csv.len);
	read_whole(path, 1 << 16, &t);
	ASSERT_EQ_MEM(t.buf, t.len, want.buf, want.len);
	check_every_split_size(path, csv.len, &want);
	unit_tdir_remove();
	sl_buf_release(&csv);
	sl_buf_release(&want);
	sl_buf_release(&t);
}

static void
test_a_leading_bom_is_dropped_from_the_header_only(void)
{
	static const char *const hdr[] = { "k", "v" };
	static const char *const bom_only[] = { "" };
	const char csv[] = "\xEF\xBB\xBF\"k\",v\n1,2\n\xEF\xBB\xBF,3\n";
	const char want[] = "R@9 3:1,2 2 1:1 1:2\n"
			    "R@13 5:\xEF\xBB\xBF,3 2 3:\xEF\xBB\xBF 1:3\n";
	sl_buf w = SL_BUF_INIT, t = SL_BUF_INIT;
	const char *path = tmp_file(csv, sizeof(csv) - 1);

	check_header(path, hdr, 2);
	read_whole(path, 100, &t);
	ASSERT_EQ_MEM(t.buf, t.len, want, sizeof(want) - 1);
	sl_buf_add(&w, want, sizeof(want) - 1);
	check_every_split_size(path, sizeof(csv) - 1, &w);
	unit_tdir_remove();
	/* only at the start of the file, and a BOM alone is an empty name */
	check_header(tmp_file("\xEF\xBB\xBF\n", 4), bom_only, 1);
	unit_tdir_remove();
	sl_buf_release(&w);
	sl_buf_release(&t);
}

static void
test_the_header_record_is_kept_as_it_came(void)
{
	const char csv[] = "\xEF\xBB\xBF\"a,b\",\"c\"\"d\"\r\n1,2\n";
	const char want[] = "\"a,b\",\"c\"\"d\"";
	sl_buf err = SL_BUF_INIT;
	sl_csv_reader *r = NULL;
	sl_slice raw;
	const char *path = tmp_file(csv, sizeof(csv) - 1);

	/* from a split that starts past the header too */
	CU_ASSERT_EQUAL_FATAL(sl_csv_open(&r, path, 20, sizeof(csv) - 1,
					  100, &err), SL_OK);
	sl_csv_reader_header_raw(r, &raw);
	ASSERT_EQ_MEM(raw.ptr, raw.len, want, sizeof(want) - 1);
	sl_csv_close(r);
	r = NULL;
	unit_tdir_remove();
	path = tmp_file("", 0);
	CU_ASSERT_EQUAL_FATAL(sl_csv_open(&r, path, 0, 0, 100, &err), SL_OK);
	sl_csv_reader_header_raw(r, &raw);
	CU_ASSERT_EQUAL(raw.len, 0);
	sl_csv_close(r);
	unit_tdir_remove();
	sl_buf_release(&err);
}

static void
test_every_split_size_of_a_small_file_reads_each_record_once(void)
{
	uint64_t seed;

	for (seed = 1; seed <= 4; seed++)
		check_all_split_sizes(false, seed * 0x9E3779B97F4A7C15ULL);
}

static void
test_splits_agree_on_malformed_records_too(void)
{
	uint64_t seed;

	for (seed = 1; seed <= 4; seed++)
		check_all_split_sizes(true, seed * 0xD1B54A32D192ED03ULL);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* A file of a few MiB, so that records straddle refills of the window. */
static void
test_random_cuts_of_a_bigger_file_read_each_record_once(void)
{
	sl_buf csv = SL_BUF_INIT, want = SL_BUF_INIT, t = SL_BUF_INIT;
	uint64_t cuts[40];
	size_t round, i;
	const char *path;

	rng_state = 0x2545F4914F6CDD1DULL;
	gen_csv(3 * MIB + 12345, true, &csv, &want);
	path = tmp_file(csv.buf, csv.len);
	read_whole(path, 1 << 16, &t);
	ASSERT_EQ_MEM(t.buf, t.len, want.buf, want.len);
	for (round = 0; round < 5; round++) {
		size_t n = 1 + rng(SL_ARRAY_LEN(cuts));

		for (i = 0; i < n; i++)
			cuts[i] = rng((uint32_t)csv.len);
		qsort(cuts, n, sizeof(cuts[0]), cmp_u64);
		sl_buf_reset(&t);
		read_cut(path, csv.len, cuts, n, &t);
		ASSERT_EQ_MEM(t.buf, t.len, want.buf, want.len);
	}
	unit_tdir_remove();
	sl_buf_release(&csv);
	sl_buf_release(&want);
	sl_buf_release(&t);
}

static void
test_a_split_reads_the_record_that_starts_in_it_past_its_end(void)
{
	/* header 0-1, "abc" 2-5, "\"d\ne\"" 6-11, "f" 12-13 */
	const char *csv = "h\nabc\n\"d\ne\"\nf\n";
	const char *path = tmp_file(csv, strlen(csv));
	sl_buf t = SL_BUF_INIT;

	ASSERT_EQ_INT(read_split(path, 0, 3, 100, &t), 6);
	ASSERT_EQ_STR(t.buf, "R@2 3:abc 1 3:abc\n");
	sl_buf_reset(&t);
	/* starts inside "abc": the quoted record is the first one */
	ASSERT_EQ_INT(read_split(path, 3, 7, 100, &t), 6);
	ASSERT_EQ_STR(t.buf, "R@6 5:\"d\ne\" 1 3:d\ne\n");
	sl_buf_reset(&t);
	/* starts at the quoted LF: the LF is inside quotes, not a start */
	ASSERT_EQ_INT(read_split(path, 9, 14, 100, &t), 2);
	ASSERT_EQ_STR(t.buf, "R@12 1:f 1 1:f\n");
	sl_buf_reset(&t);
	/* an empty split */
	ASSERT_EQ_INT(read_split(path, 6, 6, 100, &t), 0);
	ASSERT_EQ_INT(t.len, 0);
	unit_tdir_remove();
	sl_buf_release(&t);
}

/*
 * A split that the file no longer reaches (truncated while the job ran)
 * is an error naming the file and both offsets: at the open when the
 * split starts past the end, at the read when the file ends inside it.
 */
static void
test_a_file_shorter_than_its_split_is_an_error(void)
{
	const char *csv = "h\nabc\nf\n"; /* 8 bytes */
	const char *path = tmp_file(csv, strlen(csv));
	sl_csv_reader *r = NULL;
	sl_buf err = SL_BUF_INIT, want = SL_BUF_INIT;
	const sl_slice *f;
	sl_slice raw;
	size_t n;
	uint64_t off;
	int rv;

	sl_buf_addf(&want, "'%s' is now 8 bytes, short of byte 99 where its "
		    "split ends: the file changed while the job ran", path);
	ASSERT_EQ_INT(sl_csv_open(&r, path, 20, 99, 100, &err), SL_EIO);
	ASSERT_EQ_STR(err.buf, want.buf);
	CU_ASSERT(r == NULL);
	sl_buf_reset(&err);
	ASSERT_EQ_INT(sl_csv_open(&r, path, 0, 99, 100, &err), SL_OK);
	while ((rv = sl_csv_next(r, &f, &n, &raw, &off, &err)) == 1)
		;
	ASSERT_EQ_INT(rv, SL_EIO);
	ASSERT_EQ_STR(err.buf, want.buf);
	sl_csv_close(r);
	sl_buf_release(&err);
	sl_buf_release(&want);
	unit_tdir_remove();
}

static const unit_case cases[] = {
	{ "a file shorter than its split is an error",
	  test_a_file_shorter_than_its_split_is_an_error },
	{ "plain records follow the header",
	  test_plain_records_follow_the_header },
	{ "quoted fields hold commas, quotes and line ends",
	  test_quoted_fields_hold_commas_quotes_and_line_ends },
	{ "the last record may lack its line end",
	  test_the_last_record_may_lack_its_line_end },
	{ "blank lines are skipped but an empty quoted field is not",
	  test_blank_lines_are_skipped_but_an_empty_quoted_field_is_not },
	{ "NUL and non-UTF-8 bytes are data",
	  test_nul_and_non_utf8_bytes_are_data },
	{ "malformed records are reported and skipped",
	  test_malformed_records_are_reported_and_skipped },
	{ "records longer than max are skipped",
	  test_records_longer_than_max_are_skipped },
	{ "a runaway record is skipped without holding it",
	  test_a_runaway_record_is_skipped_without_holding_it },
	{ "a 100 MB record is read whole", test_a_100_mb_record_is_read_whole },
	{ "open reports missing files, bad headers and bad splits",
	  test_open_reports_missing_files_bad_headers_and_bad_splits },
	{ "an empty file has no header and no records",
	  test_an_empty_file_has_no_header_and_no_records },
	{ "a split reads the record that starts in it past its end",
	  test_a_split_reads_the_record_that_starts_in_it_past_its_end },
	{ "a leading BOM is dropped from the header only",
	  test_a_leading_bom_is_dropped_from_the_header_only },
	{ "the header record is kept as it came",
	  test_the_header_record_is_kept_as_it_came },
	{ "every split size of a small file reads each record once",
	  test_every_split_size_of_a_small_file_reads_each_record_once },
	{ "splits agree on malformed records too",
	  test_splits_agree_on_malformed_records_too },
	{ "random cuts of a bigger file read each record once",
	  test_random_cuts_of_a_bigger_file_read_each_record_once },
	{ NULL, NULL },
};

UNIT_MAIN("csv", cases)
