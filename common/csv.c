/*
 * csv.c - RFC 4180 reader of one split of one CSV file; the rules (record
 * boundaries by quote parity, splits, blank lines, costs) are in csv.h.
 *
 * The reader holds a window buf[0, len) of the file at offset buf_off, and
 * pos, the start of the next record in it. Reading is two steps:
 *
 *   framing  csv_scan() finds the LF that ends the record at pos: memchr
 *            for '\n', counting the quotes before each one. When the window
 *            ends first it refills (csv_fill: move the partial record to
 *            the front, grow the buffer if it is full, pread more).
 *   parsing  csv_parse() cuts the framed bytes into fields. Unquoted fields
 *            and quoted fields without "" point into the window; a field
 *            with "" is unescaped into `unq`, which is sized before
 *            parsing so it never moves while fields point into it.
 *
 * A record longer than max_record is reported at once and then skipped by
 * scanning on in discard mode (the window is dropped at each refill), so a
 * 10 GB run-away record costs a read, not 10 GB of memory.
 *
 * The reader owns its fd, its buffers and the header's copy; returned
 * slices point into them.
 */
#include "sl_impl.h"

#include <stdlib.h>
#include <unistd.h>

#include "csv.h"

#define CSV_BUF_SIZE ((size_t)1 << 20) /* first size of the window */

struct sl_csv_reader {
	int fd;               /* the file, read with pread */
	char *path;           /* for messages */
	uint64_t end;         /* records starting at or after this are not ours */
	uint64_t need;        /* the split's end as planned: the file must
				 have this many bytes (sl_file_short) */
	size_t max_record;    /* longest record, bytes without the line end */
	size_t cap_max;       /* the buffer's largest size, >= max_record + 2 */

	char *buf;            /* the window */
	size_t cap;           /* bytes allocated at buf */
	size_t len;           /* bytes of the file in buf */
	size_t pos;           /* start of the next record in buf */
	uint64_t buf_off;     /* file offset of buf[0] */
	bool done;            /* the split is over */
	bool skip;            /* discarding the rest of a too long record */
	int skip_odd;         /* quote parity of the record being discarded */
	uint64_t first_off;   /* file offset of the split's first record */

	sl_slice *fields;     /* fields of the last record */
	size_t nfields;       /* fields in use */
	size_t fields_alloc;  /* fields allocated */
	sl_buf unq;           /* unescaped fields of the last record */

	sl_buf hdr;           /* the header's field bytes, back to back */
	sl_slice *hdr_fields; /* the header's fields, pointing into hdr */
	size_t hdr_n;         /* header fields; 0 for an empty file */
	uint64_t hdr_off;     /* file offset of the header, UINT64_MAX if none */
	sl_buf hdr_raw;       /* the header record's bytes (no BOM, no line
				 end) */
};

/* Number of '"' in p[0, n): a plain loop, which compilers vectorise. */
static size_t
csv_count_quotes(const char *p, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += p[i] == '"';
	return c;
}

/*
 * Drops buf[0, pos), grows the buffer when it is full, and reads more.
 * Returns 1 when bytes were added, 0 at the end of the file, or an error.
 */
static int
csv_fill(sl_csv_reader *r, sl_buf *err)
{
	size_t got;
	int rv;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->buf_off += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len == r->cap) {
		size_t ncap = r->cap > r->cap_max / 2 ? r->cap_max : r->cap * 2;
		char *p;

		/* csv_scan stops at cap_max bytes without an end, so a full
		 * buffer at cap_max is our own bug. */
		if (ncap <= r->cap) {
			sl_buf_addf(err, "reading '%s': window full",
				    r->path);
			return SL_EINTERNAL;
		}
		p = realloc(r->buf, ncap);
		if (p == NULL) {
			sl_buf_addf(err, "cannot hold a record of '%s' of "
				    "%zu bytes: out of memory", r->path, ncap);
			return SL_ENOMEM;
		}
		r->buf = p;
		r->cap = ncap;
	}
	rv = sl_pread(r->fd, r->path, r->buf + r->len, r->cap - r->len,
		      r->buf_off + r->len, &got, err);
	if (rv != SL_OK)
		return rv;
	if (got == 0 && r->buf_off + r->len < r->need)
		return sl_file_short(r->path, r->fd, r->need, err);
	r->len += got;
	return got > 0;
}

/*
 * Finds the LF that ends the record at pos: the first one with an even
 * count of quotes before it, counting from pos with parity *odd. keep:
 * keep the bytes from pos (framing) or drop them at each refill (skipping).
 * Returns 1 with *lf its index in buf; 0 at the end of the file, *odd then
 * telling whether a quote is open; SL_ETOOBIG when keep and cap_max bytes
 * hold no end (pos is then moved to the end of the window, *odd kept, so
 * that a skip goes on from there); SL_EIO, SL_ENOMEM.
 */
static int
csv_scan(sl_csv_reader *r, bool keep, int *odd, size_t *lf, sl_buf *err)
{
	size_t scanned = 0; /* bytes after pos already looked at */
	int rv;

	for (;;) {
		const char *p = r->buf + r->pos + scanned;
		const char *e = r->buf + r->len;
		const char *nl;

		while ((nl = memchr(p, '\n', (size_t)(e - p))) != NULL) {
			*odd ^= (int)(csv_count_quotes(p, (size_t)(nl - p)) & 1);
			if (!*odd) {
				*lf = (size_t)(nl - r->buf);
				return 1;
			}
			p = nl + 1;
		}
		*odd ^= (int)(csv_count_quotes(p, (size_t)(e - p)) & 1);
		scanned = r->len - r->pos;
		if (!keep) {
			r->pos = r->len;
			scanned = 0;
		} else if (scanned >= r->cap_max) {
			r->pos = r->len;
			return SL_ETOOBIG;
		}
		rv = csv_fill(r, err);
		if (rv <= 0)
			return rv;
	}
}

static int
csv_add_field(sl_csv_reader *r, const char *p, size_t n)
{
	/* Tested first to save a call per field: growth is rare. */
	if (r->nfields == r->fields_alloc &&
	    sl_array_grow(&r->fields, &r->fields_alloc, r->nfields + 1,
			  sizeof(*r->fields)) != SL_OK)
		return SL_ENOMEM;
	r->fields[r->nfields].ptr = p;
	r->fields[r->nfields].len = n;
	r->nfields++;
	return SL_OK;
}

/*
 * The quoted field that starts after the quote at p[*i - 1]: sets *out to
 * its unescaped bytes, *i past the closing quote. SL_EBADRECORD when it
 * does not close, which the framing rule allows only at the end of a file.
 */
static int
csv_quoted(sl_csv_reader *r, const char *p, size_t n, size_t *i,
	   sl_slice *out)
{
	size_t start = *i, ustart = r->unq.len;
	bool copied = false;

	for (;;) {
		const char *q = memchr(p + *i, '"', n - *i);
		size_t qi;

		if (q == NULL)
			return SL_EBADRECORD;
		qi = (size_t)(q - p);
		/* No sl_buf_add below can fail: csv_parse sized unq. */
		if (qi + 1 < n && p[qi + 1] == '"') {
			/* "" : copy from *i (start, the first time) up to and
			 * including one quote */
			sl_buf_add(&r->unq, p + *i, qi + 1 - *i);
			copied = true;
			*i = qi + 2;
			continue;
		}
		if (copied) {
			sl_buf_add(&r->unq, p + *i, qi - *i);
			out->ptr = r->unq.buf + ustart;
			out->len = r->unq.len - ustart;
		} else {
			out->ptr = p + start;
			out->len = qi - start;
		}
		*i = qi + 1;
		return SL_OK;
	}
}

/*
 * Cuts the record p[0, n) into r->fields (n == 0: one empty field).
 * SL_EBADRECORD with the reason appended to err, or SL_ENOMEM.
 */
static int
csv_parse(sl_csv_reader *r, const char *p, size_t n, sl_buf *err)
{
	size_t i = 0;
	/* Most records hold no quote: one look saves one per field. */
	bool quotes = memchr(p, '"', n) != NULL;
	int rv;

	r->nfields = 0;
	sl_buf_reset(&r->unq);
	/* Unescaped bytes are fewer than the record's: after this no append
	 * moves unq, and fields may point into it. */
	if (sl_buf_grow(&r->unq, n) != SL_OK)
		return SL_ENOMEM;
	for (;;) {
		sl_slice f;

		if (i < n && p[i] == '"') {
			i++;
			if (csv_quoted(r, p, n, &i, &f) != SL_OK) {
				sl_buf_addf(err, "field %zu: quote left open",
					    r->nfields + 1);
				return SL_EBADRECORD;
			}
			if (i < n && p[i] != ',') {
				sl_buf_addf(err, "field %zu: data after the "
					    "closing quote", r->nfields + 1);
				return SL_EBADRECORD;
			}
		} else {
			const char *c = memchr(p + i, ',', n - i);
			size_t e = c ? (size_t)(c - p) : n;

			if (quotes && memchr(p + i, '"', e - i) != NULL) {
				sl_buf_addf(err, "field %zu: quote in an "
					    "unquoted field", r->nfields + 1);
				return SL_EBADRECORD;
			}
			f.ptr = p + i;
			f.len = e - i;
			i = e;
		}
		rv = csv_add_field(r, f.ptr, f.len);
		if (rv != SL_OK)
			return rv;
		if (i >= n)
			return SL_OK;
		i++; /* the comma; a comma at the very end makes an empty field */
		if (i == n)
			return csv_add_field(r, p + n, 0);
	}
}

/*
 * Frames the next non-blank record that starts before r->end. Returns 1
 * with *off (file offset), buf[*rs, *rs + *rlen) (without the line end);
 * 0 at the end of the split; SL_ETOOBIG (the reader then skips the rest);
 * SL_EBADRECORD with the record framed, for a quote open at the end of the
 * file; SL_EIO, SL_ENOMEM. Messages of errors are appended to err.
 */
static int
csv_frame(sl_csv_reader *r, uint64_t *off, size_t *rs, size_t *rlen,
	  sl_buf *err)
{
	for (;;) {
		size_t lf = 0, n;
		int odd = 0, rv;

		if (r->done)
			return 0;
		if (r->skip) {
			rv = csv_scan(r, false, &r->skip_odd, &lf, err);
			if (rv < 0)
				return rv;
			r->skip = false;
			if (rv == 0) {
				r->done = true;
				return 0;
			}
			r->pos = lf + 1;
		}
		*off = r->buf_off + r->pos;
		if (*off >= r->end) {
			r->done = true;
			return 0;
		}
		rv = csv_scan(r, true, &odd, &lf, err);
		if (rv == SL_ETOOBIG) {
			r->skip = true;
			r->skip_odd = odd;
			sl_buf_addf(err, "record longer than %zu bytes",
				    r->max_record);
			return rv;
		}
		if (rv < 0)
			return rv;
		*rs = r->pos;
		if (rv == 0) {
			/* the last record, without a line end */
			if (r->pos == r->len) {
				r->done = true;
				return 0;
			}
			n = r->len - r->pos;
			r->pos = r->len;
			r->done = true;
		} else {
			n = lf - r->pos;
			if (n > 0 && r->buf[lf - 1] == '\r')
				n--;
			r->pos = lf + 1;
		}
		*rlen = n;
		if (n > r->max_record) {
			sl_buf_addf(err, "record longer than %zu bytes",
				    r->max_record);
			return SL_ETOOBIG;
		}
		if (odd) {
			sl_buf_addstr(err, "quote left open at the end of "
				      "the file");
			return SL_EBADRECORD;
		}
		if (n > 0)
			return 1;
	}
}

int
sl_csv_next(sl_csv_reader *r, const sl_slice **fields, size_t *nfields,
	    sl_slice *raw, uint64_t *offset, sl_buf *err)
{
	for (;;) {
		size_t rs = 0, rlen = 0;
		int rv = csv_frame(r, offset, &rs, &rlen, err);

		*nfields = 0;
		raw->ptr = r->buf + rs;
		raw->len = rv == SL_ETOOBIG ? 0 : rlen;
		if (rv != 1)
			return rv;
		if (*offset == r->hdr_off)
			continue;
		rv = csv_parse(r, raw->ptr, raw->len, err);
		if (rv != SL_OK)
			return rv;
		*fields = r->fields;
		*nfields = r->nfields;
		return 1;
	}
}

/* Keeps a copy of the fields just parsed as the header. */
static int
csv_keep_header(sl_csv_reader *r)
{
	size_t i, at = 0;

	r->hdr_fields = calloc(r->nfields, sizeof(*r->hdr_fields));
	if (r->hdr_fields == NULL)
		return SL_ENOMEM;
	for (i = 0; i < r->nfields; i++)
		if (sl_buf_add(&r->hdr, r->fields[i].ptr, r->fields[i].len))
			return SL_ENOMEM;
	/* pointers only now that hdr has stopped moving */
	for (i = 0; i < r->nfields; i++) {
		r->hdr_fields[i].ptr = r->hdr.buf + at;
		r->hdr_fields[i].len = r->fields[i].len;
		at += r->fields[i].len;
	}
	r->hdr_n = r->nfields;
	return SL_OK;
}

/*
 * Reads the header from the start of the file. A BOM is dropped from the
 * header's bytes only: framing and offsets still count it, so it is part
 * of the header record for the split rule.
 */
static int
csv_read_header(sl_csv_reader *r, sl_buf *err)
{
	size_t rs = 0, rlen = 0;
	int rv;

	r->end = UINT64_MAX;
	rv = csv_frame(r, &r->hdr_off, &rs, &rlen, err);
	if (rv == 0) {
		r->hdr_off = UINT64_MAX; /* empty file */
		return SL_OK;
	}
	if (rv == 1 && r->hdr_off == 0 && rlen >= 3 &&
	    memcmp(r->buf + rs, "\xEF\xBB\xBF", 3) == 0) {
		rs += 3;
		rlen -= 3;
	}
	if (rv == 1 && sl_buf_add(&r->hdr_raw, r->buf + rs, rlen) != SL_OK)
		rv = SL_ENOMEM;
	if (rv == 1)
		rv = csv_parse(r, r->buf + rs, rlen, err);
	if (rv == SL_OK)
		return csv_keep_header(r);
	if (rv == SL_EBADRECORD || rv == SL_ETOOBIG)
		sl_buf_addf(err, " in the header of '%s'", r->path);
	return rv;
}

/*
 * Moves to the first record that starts at or after start: for start > 0,
 * counts the quotes in [0, start - 1), then finds the first LF at or after
 * start - 1 that ends a record.
 */
static int
csv_seek(sl_csv_reader *r, uint64_t start, sl_buf *err)
{
	uint64_t off = 0, stop = start > 0 ? start - 1 : 0;
	size_t lf = 0, got;
	int odd = 0, rv;

	r->buf_off = 0;
	r->pos = r->len = 0;
	r->done = false;
	if (start == 0)
		return SL_OK;
	while (off < stop) {
		size_t want = stop - off < r->cap ? (size_t)(stop - off) : r->cap;

		rv = sl_pread(r->fd, r->path, r->buf, want, off, &got, err);
		if (rv != SL_OK)
			return rv;
		if (got == 0)
			return sl_file_short(r->path, r->fd, r->need, err);
		odd ^= (int)(csv_count_quotes(r->buf, got) & 1);
		off += got;
	}
	r->buf_off = off;
	r->pos = r->len = 0;
	rv = csv_scan(r, false, &odd, &lf, err);
	if (rv < 0)
		return rv;
	if (rv == 0)
		r->done = true;
	else
		r->pos = lf + 1;
	return SL_OK;
}

int
sl_csv_open(sl_csv_reader **rp, const char *path, uint64_t start,
	    uint64_t end, size_t max_record, sl_buf *err)
{
	sl_csv_reader *r;
	int rv = SL_ENOMEM;

	if (start > end) {
		sl_buf_addf(err, "bad split [%llu, %llu) of '%s'",
			    (unsigned long long)start,
			    (unsigned long long)end, path);
		return SL_EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto nomem;
	r->fd = -1;
	sl_buf_init(&r->unq);
	sl_buf_init(&r->hdr);
	sl_buf_init(&r->hdr_raw);
	r->max_record = max_record;
	r->cap_max = max_record > SIZE_MAX - 2 ? SIZE_MAX : max_record + 2;
	if (r->cap_max < CSV_BUF_SIZE)
		r->cap_max = CSV_BUF_SIZE;
	r->cap = CSV_BUF_SIZE;
	r->path = strdup(path);
	r->buf = malloc(r->cap);
	if (r->path == NULL || r->buf == NULL)
		goto nomem;
	r->need = end;
	rv = sl_open_read(path, &r->fd, err);
	if (rv != SL_OK)
		goto fail;
	rv = csv_read_header(r, err);
	if (rv != SL_OK)
		goto fail;
	/* Even the first split starts over: the header is then skipped by
	 * its offset, like in any split, and a header that starts at or
	 * after `end` is not counted in this split's bytes. */
	rv = csv_seek(r, start, err);
	if (rv != SL_OK)
		goto fail;
	r->end = end;
	r->first_off = r->buf_off + r->pos;
	*rp = r;
	return SL_OK;
nomem:
	sl_buf_addf(err, "cannot open '%s': out of memory", path);
fail:
	sl_csv_close(r);
	return rv;
}

int
sl_csv_reader_header(sl_csv_reader *r, const sl_slice **fields,
		     size_t *nfields)
{
	*fields = r->hdr_fields;
	*nfields = r->hdr_n;
	return SL_OK;
}

void
sl_csv_reader_header_raw(sl_csv_reader *r, sl_slice *raw)
{
	raw->ptr = r->hdr_raw.buf;
	raw->len = r->hdr_raw.len;
}

uint64_t
sl_csv_bytes_read(sl_csv_reader *r)
{
	return r->buf_off + r->pos - r->first_off;
}

void
sl_csv_close(sl_csv_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r->buf);
	free(r->fields);
	free(r->hdr_fields);
	sl_buf_release(&r->unq);
	sl_buf_release(&r->hdr);
	sl_buf_release(&r->hdr_raw);
	free(r);
}
