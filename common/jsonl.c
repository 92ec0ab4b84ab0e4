/*
 * jsonl.c - JSON-lines reader of one split of one file; the rules (what a
 * line may hold, what a column's field is, costs) are in jsonl.h.
 *
 * Each line goes through jansson once (json_loadb: well-formed JSON, valid
 * UTF-8, no member twice), and the columns are looked up in the object it
 * gives. jansson keeps a number only as a double (12.10 would come back
 * as 12.1, and 0.1 is not a double), so when a column holds a number its
 * text is taken from the line: jl_spans() walks the object's top level in
 * the line, which jansson has just accepted, and notes where each
 * member's value is; jansson iterates an object's members in the order
 * they were inserted, that is the order of the line (kept since jansson
 * 2.8), so the k-th member iterated is the k-th span. A line of no
 * numbers among the columns is not walked.
 *
 * The reader owns its line reader, the column names and the parsed
 * object of the last line; fields point into the line or that object.
 */
#include "sl_impl.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "input.h"
#include "jsonl.h"

#define JL_DETECT_BUF 4096 /* bytes read at a time to find the first byte */

/* Where one member's value is in the line. */
typedef struct jl_span {
	size_t at;  /* first byte, from the start of the line */
	size_t len; /* bytes */
} jl_span;

struct sl_jsonl_reader {
	sl_line_reader *lines; /* the split's lines */
	char **names;          /* the columns, NUL-terminated copies */
	sl_slice *hdr;         /* the same as slices */
	size_t n;              /* columns */
	sl_slice *fields;      /* the last line's values, one a column */
	json_t **nums;         /* the columns whose value is a number, or
				  NULL: their json_t in obj */
	jl_span *spans;        /* the last line's member values, in order */
	size_t spans_alloc;    /* spans allocated */
	json_t *obj;           /* the last line's object, or NULL */
};

/* A space, tab, CR or LF: JSON's blanks. */
static bool
jl_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
sl_jsonl_detect(const char *path, bool *is_json, sl_buf *err)
{
	char buf[JL_DETECT_BUF];
	uint64_t off = 0;
	size_t got, i;
	int fd, rv;

	*is_json = false;
	if ((rv = sl_open_read(path, &fd, err)) != SL_OK)
		return rv;
	for (;;) {
		if ((rv = sl_pread(fd, path, buf, sizeof(buf), off, &got,
				   err)) != SL_OK || got == 0)
			break;
		i = 0;
		if (off == 0 && got >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
			i = 3; /* the byte order mark */
		while (i < got && jl_blank(buf[i]))
			i++;
		if (i < got) {
			*is_json = buf[i] == '{';
			break;
		}
		off += got;
	}
	close(fd);
	return rv;
}

int
sl_jsonl_open(sl_jsonl_reader **r, const char *path, uint64_t start,
	      uint64_t end, size_t max_record, sl_buf *err)
{
	sl_jsonl_reader *j = calloc(1, sizeof(*j));
	int rv;

	*r = NULL;
	if (j == NULL)
		return SL_ENOMEM;
	rv = sl_line_reader_open(&j->lines, path, start, end, max_record, err);
	if (rv != SL_OK) {
		free(j);
		return rv;
	}
	*r = j;
	return SL_OK;
}

/* Frees the columns; the reader then has none. */
static void
jl_columns_free(sl_jsonl_reader *r)
{
	size_t i;

	for (i = 0; r->names && i < r->n; i++)
		free(r->names[i]);
	free(r->names);
	free(r->hdr);
	free(r->fields);
	free(r->nums);
	r->names = NULL;
	r->hdr = r->fields = NULL;
	r->nums = NULL;
	r->n = 0;
}

int
sl_jsonl_columns(sl_jsonl_reader *r, const char *const *names, size_t n)
{
	sl_jsonl_reader c = { 0 };
	size_t i;

	c.names = calloc(n ? n : 1, sizeof(*c.names));
	c.hdr = calloc(n ? n : 1, sizeof(*c.hdr));
	c.fields = calloc(n ? n : 1, sizeof(*c.fields));
	c.nums = calloc(n ? n : 1, sizeof(*c.nums));
	if (c.names == NULL || c.hdr == NULL || c.fields == NULL ||
	    c.nums == NULL)
		goto nomem;
	for (c.n = 0; c.n < n; c.n++) {
		if ((c.names[c.n] = strdup(names[c.n])) == NULL)
			goto nomem;
		c.hdr[c.n].ptr = c.names[c.n];
		c.hdr[c.n].len = strlen(c.names[c.n]);
	}
	jl_columns_free(r);
	r->names = c.names;
	r->hdr = c.hdr;
	r->fields = c.fields;
	r->nums = c.nums;
	r->n = c.n;
	return SL_OK;
nomem:
	for (i = 0; c.names && i < c.n; i++)
		free(c.names[i]);
	free(c.names);
	free(c.hdr);
	free(c.fields);
	free(c.nums);
	return SL_ENOMEM;
}

void
sl_jsonl_header(const sl_jsonl_reader *r, const sl_slice **fields,
		size_t *n)
{
	*fields = r->hdr;
	*n = r->n;
}

/* p[i] is '"': the index just past the string's closing quote. */
static size_t
jl_skip_string(const char *p, size_t n, size_t i)
{
	for (i++; i < n && p[i] != '"'; i++)
		if (p[i] == '\\')
			i++; /* the escaped byte cannot end the string */
	return i + 1;
}

/* The index just past the value that starts at p[i]. */
static size_t
jl_skip_value(const char *p, size_t n, size_t i)
{
	size_t depth = 0;

	if (i < n && p[i] == '"')
		return jl_skip_string(p, n, i);
	if (i < n && (p[i] == '{' || p[i] == '[')) {
		while (i < n) {
			if (p[i] == '"') {
				i = jl_skip_string(p, n, i);
				continue;
			}
			if (p[i] == '{' || p[i] == '[')
				depth++;
			else if ((p[i] == '}' || p[i] == ']') && --depth == 0)
				return i + 1;
			i++;
		}
		return i;
	}
	/* a number, true, false or null: up to what may follow a value */
	while (i < n && !jl_blank(p[i]) && p[i] != ',' && p[i] != '}' &&
	       p[i] != ']')
		i++;
	return i;
}

static size_t
jl_skip_blanks(const char *p, size_t n, size_t i)
{
	while (i < n && jl_blank(p[i]))
		i++;
	return i;
}

/*
 * Notes where each top-level member's value of the object in p[0, n) is,
 * in order, into r->spans; *count is how many. The line is JSON that
 * jansson accepted: a walk that does not add up is an internal error.
 */
static int
jl_spans(sl_jsonl_reader *r, const char *p, size_t n, size_t *count)
{
	size_t i = jl_skip_blanks(p, n, 0), k = 0, at;

	if (i >= n || p[i] != '{')
		return SL_EINTERNAL;
	i = jl_skip_blanks(p, n, i + 1);
	while (i < n && p[i] != '}') {
		if (p[i] != '"')
			return SL_EINTERNAL;
		i = jl_skip_blanks(p, n, jl_skip_string(p, n, i));
		if (i >= n || p[i] != ':')
			return SL_EINTERNAL;
		at = jl_skip_blanks(p, n, i + 1);
		i = jl_skip_value(p, n, at);
		if (i > n || sl_array_grow(&r->spans, &r->spans_alloc, k + 1,
					   sizeof(*r->spans)) != SL_OK)
			return i > n ? SL_EINTERNAL : SL_ENOMEM;
		r->spans[k].at = at;
		r->spans[k].len = i - at;
		k++;
		i = jl_skip_blanks(p, n, i);
		if (i < n && p[i] == ',')
			i = jl_skip_blanks(p, n, i + 1);
	}
	*count = k;
	return i < n ? SL_OK : SL_EINTERNAL;
}

/* "a string", "an array", ...: what v is, for messages. */
static const char *
jl_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	default: return "null";
	}
}

/* Points the columns whose value is a number at their text in the line. */
static int
jl_numbers(sl_jsonl_reader *r, const char *p, size_t n, sl_buf *err)
{
	const char *name;
	json_t *v;
	size_t count = 0, k = 0, i;
	int rv = jl_spans(r, p, n, &count);

	if (rv == SL_OK && count != json_object_size(r->obj))
		rv = SL_EINTERNAL;
	json_object_foreach(r->obj, name, v) {
		for (i = 0; rv == SL_OK && i < r->n; i++) {
			if (r->nums[i] != v)
				continue;
			if (k >= count) {
				rv = SL_EINTERNAL;
				break;
			}
			r->fields[i].ptr = p + r->spans[k].at;
			r->fields[i].len = r->spans[k].len;
		}
		k++;
	}
	if (rv == SL_EINTERNAL)
		sl_buf_addf(err, "internal error: the members of a JSON line "
			    "do not match jansson's");
	return rv;
}

/* The fields of the object in line[0, n) (not blank). */
static int
jl_parse(sl_jsonl_reader *r, const char *p, size_t n, sl_buf *err)
{
	json_error_t jerr;
	bool numbers = false;
	size_t i;

	json_decref(r->obj);
	r->obj = json_loadb(p, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES |
				JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL,
			    &jerr);
	if (r->obj == NULL) {
		sl_buf_addf(err, "not JSON: %s (at byte %d of the line)",
			    jerr.text, jerr.position);
		return SL_EBADRECORD;
	}
	if (!json_is_object(r->obj)) {
		sl_buf_addf(err, "not a JSON object (%s)", jl_kind(r->obj));
		return SL_EBADRECORD;
	}
	for (i = 0; i < r->n; i++) {
		json_t *v = json_object_get(r->obj, r->names[i]);

		r->fields[i].ptr = "";
		r->fields[i].len = 0;
		r->nums[i] = NULL;
		if (v == NULL || json_is_null(v))
			continue; /* NULL, as an empty CSV field */
		if (json_is_string(v)) {
			r->fields[i].ptr = json_string_value(v);
			r->fields[i].len = json_string_length(v);
		} else if (json_is_number(v)) {
			r->nums[i] = v;
			numbers = true;
		} else {
			sl_buf_addf(err, "member '%s': %s is not a value (a "
				    "string, a number or null)", r->names[i],
				    jl_kind(v));
			return SL_EBADRECORD;
		}
	}
	return numbers ? jl_numbers(r, p, n, err) : SL_OK;
}

int
sl_jsonl_next(sl_jsonl_reader *r, const sl_slice **fields, size_t *nfields,
	      sl_slice *raw, uint64_t *offset, sl_buf *err)
{
	sl_slice line;
	size_t skip, i;
	int rv;

	if (r->names == NULL) {
		sl_buf_addf(err, "JSON-lines input needs the job to name its "
			    "columns (sl_input_columns)");
		return SL_EUSAGE; /* the same on every attempt */
	}
	for (;;) {
		raw->ptr = "";
		raw->len = 0;
		rv = sl_line_reader_next(r->lines, &line, offset, err);
		if (rv != 1)
			return rv;
		/* a byte order mark at the start of the file */
		skip = *offset == 0 && line.len >= 3 &&
		       memcmp(line.ptr, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
		for (i = skip; i < line.len && jl_blank(line.ptr[i]); i++)
			;
		if (i < line.len)
			break; /* not a blank line */
	}
	*raw = line;
	rv = jl_parse(r, line.ptr + skip, line.len - skip, err);
	if (rv != SL_OK)
		return rv;
	*fields = r->fields;
	*nfields = r->n;
	return 1;
}

uint64_t
sl_jsonl_bytes_read(const sl_jsonl_reader *r)
{
	return sl_line_reader_bytes(r->lines);
}

void
sl_jsonl_close(sl_jsonl_reader *r)
{
	if (r == NULL)
		return;
	sl_line_reader_close(r->lines);
	jl_columns_free(r);
	json_decref(r->obj);
	free(r->spans);
	free(r);
}
