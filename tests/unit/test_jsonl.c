/*
 * test_jsonl.c - the JSON-lines split reader (common/jsonl.c).
 *
 * Each case writes its input under a fresh unit_tdir_make() directory
 * and removes it. Reads are turned into a text trace ("R@offset f1|f2|..."
 * per record, "B@offset reason" per bad one, "T@offset" per line too
 * long) compared with a trace written by hand; splits of a generated file
 * are checked against one read of the whole file.
 */
#include "sl_impl.h"

#include <stdio.h>
#include <stdlib.h>

#include "jsonl.h"
#include "tests/unit/unit.h"

/* Writes data to in.jsonl in a fresh directory; returns its path. */
static const char *
tmp_file(const void *data, size_t len)
{
	const char *path;

	unit_tdir_make();
	path = unit_tpath("in.jsonl");
	unit_write_file(path, data, len);
	return path;
}

/* The trace of the split [start, end) of path, read with the columns. */
static void
trace_split(sl_buf *t, const char *path, uint64_t start, uint64_t end,
	    size_t max, const char *const *cols, size_t ncols)
{
	sl_jsonl_reader *r;
	sl_buf err = SL_BUF_INIT;
	const sl_slice *f;
	sl_slice raw;
	uint64_t off;
	size_t n, i;
	int rv;

	ASSERT_EQ_INT(sl_jsonl_open(&r, path, start, end, max, &err), SL_OK);
	if (r == NULL)
		return;
	ASSERT_EQ_INT(sl_jsonl_columns(r, cols, ncols), SL_OK);
	for (;;) {
		sl_buf_reset(&err);
		rv = sl_jsonl_next(r, &f, &n, &raw, &off, &err);
		if (rv == 0)
			break;
		if (rv == SL_EBADRECORD) {
			sl_buf_addf(t, "B@%llu %s\n", (unsigned long long)off,
				    err.buf);
			continue;
		}
		if (rv == SL_ETOOBIG) {
			sl_buf_addf(t, "T@%llu\n", (unsigned long long)off);
			continue;
		}
		ASSERT_EQ_INT(rv, 1);
		if (rv != 1)
			break;
		sl_buf_addf(t, "R@%llu ", (unsigned long long)off);
		for (i = 0; i < n; i++) {
			if (i)
				sl_buf_addch(t, '|');
			sl_buf_add(t, f[i].ptr, f[i].len);
		}
		sl_buf_addch(t, '\n');
	}
	sl_jsonl_close(r);
	sl_buf_release(&err);
}

/* Reads all of text with columns cols and compares with want. */
static void
check_read(const char *text, const char *const *cols, size_t ncols,
	   const char *want)
{
	const char *path = tmp_file(text, strlen(text));
	sl_buf t = SL_BUF_INIT;

	trace_split(&t, path, 0, strlen(text), 1 << 20, cols, ncols);
	ASSERT_EQ_STR(t.buf, want);
	sl_buf_release(&t);
	unit_tdir_remove();
}

static const char *const abc[] = { "a", "b", "c" };

static void
test_values_are_strings_numbers_as_written_and_nulls(void)
{
	check_read("{\"a\":\"x\",\"b\":12.10,\"c\":null}\n"
		   "{\"c\":-0.5e3, \"a\" : \"\\u00e9\\\"\\n\", \"b\": 7}\n"
		   "{\"b\":100000000000000000000000000000.000000001}\n"
		   "{}\n",
		   abc, 3,
		   "R@0 x|12.10|\n"
		   "R@29 \xc3\xa9\"\n|7|-0.5e3\n"
		   "R@70 |100000000000000000000000000000.000000001|\n"
		   "R@117 ||\n");
}

static void
test_numbers_are_found_past_nested_members_and_strings(void)
{
	/* members the job does not read may hold anything, and a string
	 * may hold what looks like the end of an object */
	check_read("{\"x\":[1,{\"y\":\"}]\\\"\"}],\"a\":0.10,\"z\":{\"b\":9},"
		   "\"b\":\"s\",\"c\":3}\n",
		   abc, 3, "R@0 0.10|s|3\n");
}

static void
test_a_nul_in_a_string_is_a_byte_of_the_field(void)
{
	const char *path = tmp_file("{\"a\":\"x\\u0000y\"}\n", 17);
	sl_jsonl_reader *r;
	sl_buf err = SL_BUF_INIT;
	const sl_slice *f;
	sl_slice raw;
	uint64_t off;
	size_t n;

	ASSERT_EQ_INT(sl_jsonl_open(&r, path, 0, 17, 100, &err), SL_OK);
	ASSERT_EQ_INT(sl_jsonl_columns(r, abc, 1), SL_OK);
	ASSERT_EQ_INT(sl_jsonl_next(r, &f, &n, &raw, &off, &err), 1);
	ASSERT_EQ_MEM(f[0].ptr, f[0].len, "x\0y", 3);
	sl_jsonl_close(r);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_bad_lines_are_reported_and_skipped(void)
{
	check_read("{\"a\":1}\n"
		   "not json\n"
		   "{\"a\":1,\n"
		   "[1,2]\n"
		   "42\n"
		   "{\"a\":{\"b\":1}}\n"
		   "{\"a\":true}\n"
		   "{\"b\":[1]}\n"
		   "{\"a\":1,\"a\":2}\n"
		   "{\"a\":1} x\n"
		   "{\"a\":\"\xff\"}\n"
		   "{\"a\":2}",
		   abc, 2,
		   "R@0 1|\n"
		   "B@8 not JSON: invalid token near 'not' (at byte 3 of the "
		   "line)\n"
		   "B@17 not JSON: string or '}' expected near end of file (at "
		   "byte 7 of the line)\n"
		   "B@25 not a JSON object (an array)\n"
		   "B@31 not a JSON object (a number)\n"
		   "B@34 member 'a': an object is not a value (a string, a "
		   "number or null)\n"
		   "B@48 member 'a': true is not a value (a string, a number or "
		   "null)\n"
		   "B@59 member 'b': an array is not a value (a string, a number "
		   "or null)\n"
		   "B@69 not JSON: duplicate object key near '\"a\"' (at byte 10 "
		   "of the line)\n"
		   "B@83 not JSON: end of file expected near 'x' (at byte 9 of "
		   "the line)\n"
		   "B@93 not JSON: unable to decode byte 0xff near '\"' (at byte "
		   "6 of the line)\n"
		   "R@103 2|\n");
}

static void
test_blank_lines_crlf_and_a_bom_are_taken_as_csv_takes_them(void)
{
	check_read("\xef\xbb\xbf{\"a\":1}\r\n\r\n   \t\n{\"a\":2}\r\n\n",
		   abc, 1, "R@0 1\nR@19 2\n");
}

static void
test_a_line_longer_than_max_is_skipped(void)
{
	const char *text = "{\"a\":1}\n{\"a\":\"0123456789\"}\n{\"a\":3}\n";
	const char *path = tmp_file(text, strlen(text));
	sl_buf t = SL_BUF_INIT;

	trace_split(&t, path, 0, strlen(text), 10, abc, 1);
	ASSERT_EQ_STR(t.buf, "R@0 1\nT@8\nR@27 3\n");
	sl_buf_release(&t);
	unit_tdir_remove();
}

static void
test_no_columns_is_an_error(void)
{
	const char *path = tmp_file("{\"a\":1}\n", 8);
	sl_jsonl_reader *r;
	sl_buf err = SL_BUF_INIT;
	const sl_slice *f;
	sl_slice raw;
	uint64_t off;
	size_t n;

	ASSERT_EQ_INT(sl_jsonl_open(&r, path, 0, 8, 100, &err), SL_OK);
	ASSERT_EQ_INT(sl_jsonl_next(r, &f, &n, &raw, &off, &err), SL_EUSAGE);
	CU_ASSERT(strstr(err.buf, "sl_input_columns") != NULL);
	sl_jsonl_close(r);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_detect_looks_at_the_first_byte_that_is_not_blank(void)
{
	static const struct {
		const char *text;
		int json;
	} v[] = {
		{ "{\"a\":1}\n", 1 },   { "\n\n  \t\r\n{", 1 },
		{ "\xef\xbb\xbf{}", 1 }, { "a,b\n1,2\n", 0 },
		{ "\"{a}\",b\n", 0 },   { "", 0 },
		{ " \n\n", 0 },         { "[{\"a\":1}]\n", 0 },
	};
	sl_buf err = SL_BUF_INIT;
	char *big;
	size_t i;
	bool json;

	for (i = 0; i < SL_ARRAY_LEN(v); i++) {
		const char *path = tmp_file(v[i].text, strlen(v[i].text));

		ASSERT_EQ_INT(sl_jsonl_detect(path, &json, &err), SL_OK);
		ASSERT_EQ_INT(json, v[i].json);
		unit_tdir_remove();
	}
	/* blanks past the first read */
	big = malloc(10003);
	memset(big, '\n', 10000);
	memcpy(big + 10000, "{}\n", 3);
	tmp_file(big, 10003);
	ASSERT_EQ_INT(sl_jsonl_detect(unit_tpath("in.jsonl"), &json, &err),
		      SL_OK);
	ASSERT_EQ_INT(json, 1);
	unit_tdir_remove();
	free(big);
	ASSERT_EQ_INT(sl_jsonl_detect("/nonexistent/x", &json, &err),
		      SL_ENOTFOUND);
	CU_ASSERT(strstr(err.buf, "cannot open '/nonexistent/x'") != NULL);
	sl_buf_release(&err);
}

static void
test_every_split_size_reads_each_line_once(void)
{
	static const char *const cols[] = { "k", "v" };
	sl_buf text = SL_BUF_INIT, whole = SL_BUF_INIT, parts = SL_BUF_INIT;
	const char *path;
	size_t len, split, at;
	int i;

	for (i = 0; i < 300; i++)
		sl_buf_addf(&text, i % 7 == 3 ? "\n" : i % 11 == 5
				? "{\"k\":\"k%d\",\"v\":[}\n"
				: "{\"v\":%d.%02d,\"k\":\"k%d\"}\n",
			    i, i % 100, i % 13);
	len = text.len;
	path = tmp_file(text.buf, len);
	trace_split(&whole, path, 0, len, 1 << 20, cols, 2);
	for (split = 1; split <= len; split += split < 64 ? 1 : 97) {
		sl_buf_reset(&parts);
		for (at = 0; at < len; at += split)
			trace_split(&parts, path, at,
				    at + split < len ? at + split : len,
				    1 << 20, cols, 2);
		ASSERT_EQ_STR(parts.buf, whole.buf);
	}
	CU_ASSERT(strstr(whole.buf, "R@") != NULL);
	CU_ASSERT(strstr(whole.buf, "B@") != NULL);
	sl_buf_release(&text);
	sl_buf_release(&whole);
	sl_buf_release(&parts);
	unit_tdir_remove();
}

static const unit_case cases[] = {
	{ "values are strings, numbers as written and nulls",
	  test_values_are_strings_numbers_as_written_and_nulls },
	{ "numbers are found past nested members and strings",
	  test_numbers_are_found_past_nested_members_and_strings },
	{ "a NUL in a string is a byte of the field",
	  test_a_nul_in_a_string_is_a_byte_of_the_field },
	{ "bad lines are reported and skipped",
	  test_bad_lines_are_reported_and_skipped },
	{ "blank lines, CRLF and a BOM are taken as CSV takes them",
	  test_blank_lines_crlf_and_a_bom_are_taken_as_csv_takes_them },
	{ "a line longer than max is skipped",
	  test_a_line_longer_than_max_is_skipped },
	{ "no columns is an error", test_no_columns_is_an_error },
	{ "detect looks at the first byte that is not blank",
	  test_detect_looks_at_the_first_byte_that_is_not_blank },
	{ "every split size reads each line once",
	  test_every_split_size_reads_each_line_once },
	{ NULL, NULL },
};

UNIT_MAIN("jsonl", cases)
