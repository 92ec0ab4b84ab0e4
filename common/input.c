/*
 * input.c - input files, splits, and the line reader; see input.h.
 *
 * Expansion and planning run once per job on the submitting host: they
 * stat, open and close each file once (expansion also lists directories
 * and runs glob(3)). The caller owns the lists they fill.
 *
 * The line reader is the inner loop of every text map task, so it does
 * no work per line beyond one memchr over the line's bytes: it reads
 * blocks of SL_LINE_READER_BUF bytes with pread(2) into one buffer, and a
 * returned line points into that buffer. The bytes of a line that does
 * not fit are moved to the front before the next read; the buffer grows
 * (doubling, up to max_line + 2 bytes) only when one line is longer than
 * it. A too-long line is skipped by reading on through its '\n' with the
 * buffer it has, so skipping costs no memory.
 */
#include "sl_impl.h"

#include "input.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reading this far past the split's end finishes most last lines. */
#define IN_READ_TAIL ((size_t)64 << 10)

/* Block size of sl_line_number(). */
#define IN_COUNT_BUF ((size_t)64 << 10)

/* Append the message to err (when there is one) and return code. */
static int in_fail(struct sl_buf *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
in_fail(struct sl_buf *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		(void)sl_buf_vaddf(err, fmt, ap); /* the code is what counts */
		va_end(ap);
	}
	return code;
}

/* --- string lists ------------------------------------------------------ */

int
sl_strlist_add(sl_strlist *l, const char *s)
{
	char *copy;

	if (sl_array_grow(&l->v, &l->alloc, l->n + 1, sizeof(*l->v)) != SL_OK)
		return SL_ENOMEM;
	copy = strdup(s);
	if (copy == NULL)
		return SL_ENOMEM;
	l->v[l->n++] = copy;
	return SL_OK;
}

void
sl_strlist_release(sl_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
	l->alloc = 0;
}

/* --- expansion --------------------------------------------------------- */

/* Names Hadoop's FileInputFormat hides: ".x" and "_x" (e.g. _SUCCESS). */
static bool
in_hidden(const char *name)
{
	return name[0] == '.' || name[0] == '_';
}

/*
 * Add a regular file after checking that it can be read. open(), not
 * access(): access() checks the real uid and says yes to root, where
 * open() can still fail (NFS root squash); open() is what a map task
 * will do. O_NONBLOCK so that a file replaced by a fifo cannot hang us.
 */
static int
in_add_file(sl_strlist *files, const char *path, struct sl_buf *err)
{
	int fd, e;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return in_fail(err, sl_errno_code(e), "cannot read '%s': %s",
			       path, strerror(e));
	}
	close(fd);
	return sl_strlist_add(files, path);
}

/* The regular files directly inside dir, without hidden names. */
static int
in_add_dir(sl_strlist *files, const char *dir, struct sl_buf *err)
{
	sl_buf path = SL_BUF_INIT;
	const char *sep;
	size_t before = files->n;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rv = SL_OK, e;

	d = opendir(dir);
	if (d == NULL) {
		e = errno;
		return in_fail(err, sl_errno_code(e), "cannot read '%s': %s",
			       dir, strerror(e));
	}
	sep = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (in_hidden(de->d_name))
			continue;
		sl_buf_reset(&path);
		rv = sl_buf_addf(&path, "%s%s%s", dir, sep, de->d_name);
		if (rv != SL_OK)
			goto out;
		/* stat, not d_type: a symlink to a file is a file. */
		if (stat(path.buf, &st) != 0) {
			e = errno;
			rv = in_fail(err, sl_errno_code(e),
				     "cannot open '%s': %s", path.buf,
				     strerror(e));
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		rv = in_add_file(files, path.buf, err);
		if (rv != SL_OK)
			goto out;
	}
	if (errno != 0) {
		e = errno;
		rv = in_fail(err, SL_EIO, "cannot read '%s': %s", dir,
			     strerror(e));
		goto out;
	}
	if (files->n == before)
		rv = in_fail(err, SL_ENOTFOUND, "no input files in '%s'", dir);
out:
	closedir(d);
	sl_buf_release(&path);
	return rv;
}

/* An existing path: a directory's files, or the regular file itself. */
static int
in_add_existing(sl_strlist *files, const char *path, const struct stat *st,
		struct sl_buf *err)
{
	if (S_ISDIR(st->st_mode))
		return in_add_dir(files, path, err);
	if (S_ISREG(st->st_mode))
		return in_add_file(files, path, err);
	return in_fail(err, SL_EINVAL, "'%s' is not a regular file", path);
}

static const char *
in_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * A glob pattern: each match as an argument. Hidden names are left out
 * unless the pattern's last component asks for them by starting with the
 * same character ("_*" matches _SUCCESS, "*" does not).
 */
static int
in_add_glob(sl_strlist *files, const char *pattern, struct sl_buf *err)
{
	const char *last = in_basename(pattern);
	const char *name;
	struct stat st;
	glob_t g;
	size_t i, taken = 0;
	int rv, e;

	rv = glob(pattern, 0, NULL, &g);
	if (rv == GLOB_NOSPACE)
		return SL_ENOMEM;
	if (rv == GLOB_NOMATCH)
		return in_fail(err, SL_ENOTFOUND,
			       "no input files match '%s'", pattern);
	if (rv != 0) /* GLOB_ABORTED: only with GLOB_ERR, not asked for */
		return in_fail(err, SL_EIO, "cannot expand '%s'", pattern);
	rv = SL_OK;
	for (i = 0; i < g.gl_pathc; i++) {
		name = in_basename(g.gl_pathv[i]);
		if (in_hidden(name) && name[0] != last[0])
			continue;
		if (stat(g.gl_pathv[i], &st) != 0) {
			e = errno;
			rv = in_fail(err, sl_errno_code(e),
				     "cannot open '%s': %s", g.gl_pathv[i],
				     strerror(e));
			goto out;
		}
		rv = in_add_existing(files, g.gl_pathv[i], &st, err);
		if (rv != SL_OK)
			goto out;
		taken++;
	}
	if (taken == 0)
		rv = in_fail(err, SL_ENOTFOUND, "no input files match '%s'",
			     pattern);
out:
	globfree(&g);
	return rv;
}

/* One INPUT argument. A path that exists is never taken as a pattern. */
static int
in_add_arg(sl_strlist *files, const char *arg, struct sl_buf *err)
{
	struct stat st;
	int e;

	if (stat(arg, &st) == 0)
		return in_add_existing(files, arg, &st, err);
	e = errno;
	if (e == ENOENT && strpbrk(arg, "*?[") != NULL)
		return in_add_glob(files, arg, err);
	return in_fail(err, sl_errno_code(e), "cannot open '%s': %s", arg,
		       strerror(e));
}

static int
in_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort with strcmp and free the duplicates. */
static void
in_sort_unique(sl_strlist *l)
{
	size_t i, n = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), in_strcmp);
	for (i = 1; i < l->n; i++) {
		if (strcmp(l->v[i], l->v[n]) == 0)
			free(l->v[i]);
		else
			l->v[++n] = l->v[i];
	}
	l->n = n + 1;
}

int
sl_input_expand(char *const *args, size_t nargs, sl_strlist *files,
		struct sl_buf *err)
{
	size_t i;
	int rv;

	if (nargs == 0)
		return in_fail(err, SL_EINVAL, "no input given");
	for (i = 0; i < nargs; i++) {
		rv = in_add_arg(files, args[i], err);
		if (rv != SL_OK)
			goto fail;
	}
	in_sort_unique(files);
	return SL_OK;
fail:
	sl_strlist_release(files);
	return rv;
}

/* --- splits ------------------------------------------------------------ */

int
sl_split_list_add(sl_split_list *l, const char *path, uint64_t start,
		  uint64_t end)
{
	char *copy;

	if (sl_array_grow(&l->v, &l->alloc, l->n + 1, sizeof(*l->v)) != SL_OK)
		return SL_ENOMEM;
	copy = strdup(path);
	if (copy == NULL)
		return SL_ENOMEM;
	l->v[l->n].path = copy;
	l->v[l->n].start = start;
	l->v[l->n].end = end;
	l->n++;
	return SL_OK;
}

int
sl_input_plan(const sl_strlist *files, const sl_range *ranges,
	      uint64_t split_size, sl_split_list *out, struct sl_buf *err)
{
	size_t i;
	uint64_t size, off, end, len;
	struct stat st;
	int rv, e;

	if (split_size == 0)
		return in_fail(err, SL_EINVAL, "split size must not be 0");
	for (i = 0; i < files->n; i++) {
		if (stat(files->v[i], &st) != 0) {
			e = errno;
			rv = in_fail(err, sl_errno_code(e),
				     "cannot open '%s': %s", files->v[i],
				     strerror(e));
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			rv = in_fail(err, SL_EINVAL,
				     "'%s' is not a regular file", files->v[i]);
			goto fail;
		}
		size = (uint64_t)st.st_size;
		off = ranges ? ranges[i].start : 0;
		end = ranges ? ranges[i].end : size;
		if (off > end) {
			rv = in_fail(err, SL_EINVAL, "the range [%llu, %llu) "
				     "of '%s' ends before it starts",
				     (unsigned long long)off,
				     (unsigned long long)end, files->v[i]);
			goto fail;
		}
		if (end > size) {
			rv = in_fail(err, SL_EIO, "'%s' is %llu bytes, short "
				     "of byte %llu where its range ends: the "
				     "file changed", files->v[i],
				     (unsigned long long)size,
				     (unsigned long long)end);
			goto fail;
		}
		for (; off < end; off += len) {
			len = end - off < split_size ? end - off : split_size;
			rv = sl_split_list_add(out, files->v[i], off,
					       off + len);
			if (rv != SL_OK)
				goto fail;
		}
	}
	return SL_OK;
fail:
	sl_split_list_release(out);
	return rv;
}

void
sl_split_list_release(sl_split_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	l->v = NULL;
	l->n = 0;
	l->alloc = 0;
}

/* --- line reader ------------------------------------------------------- */

/*
 * The buffer holds file bytes [base, base + lim) at buf[0..lim), and
 * SL_LINE_READER_PAD bytes are allocated past its cap. The next
 * line starts at buf[pos]; bytes [pos, scan) are known to hold no '\n', so
 * a long line is searched once, not once per read.
 */
struct sl_line_reader {
	int fd;           /* the open file */
	char *path;       /* the file's name, for messages; owned */
	char *buf;        /* the buffer; owned */
	size_t cap;       /* bytes allocated at buf */
	size_t block;     /* bytes asked of one read */
	size_t pos;       /* index in buf of the next line's first byte */
	size_t scan;      /* index in buf where the '\n' search goes on */
	size_t lim;       /* bytes of buf holding file data */
	uint64_t base;    /* file offset of buf[0], bytes */
	uint64_t end;     /* split end: lines starting here are not ours */
	uint64_t first;   /* file offset of the split's first line */
	size_t max_line;  /* longest line returned, bytes */
	bool eof;         /* a read returned 0 */
};

/*
 * One pread into the free end of the buffer (lim < cap). Not more than
 * IN_READ_TAIL bytes past the split's end: the rest of the last line is
 * usually short, and a small split should not read a whole block of its
 * neighbour's bytes.
 */
static int
lr_read(sl_line_reader *r, struct sl_buf *err)
{
	uint64_t at = r->base + r->lim;
	uint64_t room = at < r->end ? r->end - at : 0;
	size_t want = r->cap - r->lim, n;
	int rv;

	if (want > r->block)
		want = r->block;
	if (room < want && want - room > IN_READ_TAIL)
		want = (size_t)room + IN_READ_TAIL;
	rv = sl_pread(r->fd, r->path, r->buf + r->lim, want, at, &n, err);
	if (rv != SL_OK)
		return rv;
	if (n == 0 && at < r->end)
		return sl_file_short(r->path, r->fd, r->end, err);
	if (n == 0)
		r->eof = true;
	r->lim += n;
	return SL_OK;
}

/* Move past the next '\n' (or to the end of the file), keeping no bytes. */
static int
lr_skip_line(sl_line_reader *r, struct sl_buf *err)
{
	const char *nl;
	int rv;

	for (;;) {
		nl = memchr(r->buf + r->scan, '\n', r->lim - r->scan);
		if (nl != NULL) {
			r->pos = r->scan = (size_t)(nl - r->buf) + 1;
			return SL_OK;
		}
		if (r->eof) {
			r->pos = r->scan = r->lim;
			return SL_OK;
		}
		r->base += r->lim;
		r->pos = r->scan = r->lim = 0;
		rv = lr_read(r, err);
		if (rv != SL_OK)
			return rv;
	}
}

/*
 * Read more of the current line, after making room for it: move it to
 * the front, or, when it fills the buffer, double the buffer (never past
 * max_line + 2, the most a line that is not too long needs with its
 * "\r\n").
 */
static int
lr_refill(sl_line_reader *r, struct sl_buf *err)
{
	size_t ncap, max_cap = r->max_line + 2;
	char *p;

	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->lim - r->pos);
		r->base += r->pos;
		r->scan -= r->pos;
		r->lim -= r->pos;
		r->pos = 0;
	} else if (r->lim == r->cap) {
		ncap = r->cap > max_cap / 2 ? max_cap : r->cap * 2;
		p = realloc(r->buf, ncap + SL_LINE_READER_PAD);
		if (p == NULL)
			return SL_ENOMEM;
		r->buf = p;
		r->cap = ncap;
	}
	return lr_read(r, err);
}

/*
 * Hand out the line buf[pos, pos + len) and move on to buf[next]; or
 * SL_ETOOBIG when it is longer than max_line.
 */
static int
lr_take(sl_line_reader *r, size_t len, size_t next, sl_slice *line,
	uint64_t *offset)
{
	*offset = r->base + r->pos;
	line->ptr = r->buf + r->pos;
	line->len = len;
	r->pos = r->scan = next;
	if (len > r->max_line) {
		line->len = 0;
		return SL_ETOOBIG;
	}
	return 1;
}

/*
 * The line at buf[pos], with no '\n' in the buffer, is too long whatever
 * follows: skip it now and return SL_ETOOBIG (or the error of a read).
 */
static int
lr_too_long(sl_line_reader *r, sl_slice *line, uint64_t *offset,
	    struct sl_buf *err)
{
	int rv;

	*offset = r->base + r->pos;
	line->ptr = r->buf;
	line->len = 0;
	rv = lr_skip_line(r, err);
	return rv != SL_OK ? rv : SL_ETOOBIG;
}

int
sl_line_reader_next(sl_line_reader *r, sl_slice *line, uint64_t *offset,
		    struct sl_buf *err)
{
	const char *nl;
	size_t i, len;
	int rv;

	for (;;) {
		if (r->base + r->pos >= r->end)
			return 0;
		nl = memchr(r->buf + r->scan, '\n', r->lim - r->scan);
		if (nl != NULL) {
			i = (size_t)(nl - r->buf);
			len = i - r->pos;
			if (len > 0 && r->buf[i - 1] == '\r')
				len--;
			return lr_take(r, len, i + 1, line, offset);
		}
		r->scan = r->lim;
		if (r->lim - r->pos > r->max_line + 1)
			return lr_too_long(r, line, offset, err);
		if (r->eof) {
			if (r->pos == r->lim)
				return 0;
			return lr_take(r, r->lim - r->pos, r->lim, line,
				       offset);
		}
		rv = lr_refill(r, err);
		if (rv != SL_OK)
			return rv;
	}
}

/*
 * The end of the run of lines at buf[pos]: one past the last '\n' in
 * [scan, lim) that ends a line starting before the split's end, or NULL.
 * The line holding the split's last byte (index e) is the last one: its
 * '\n' is the first at or after e.
 */
static const char *
lr_run_end(const sl_line_reader *r)
{
	uint64_t e = r->end - 1 - r->base; /* base + pos < end */
	size_t from, stop = r->lim;
	const char *nl;

	if (e < r->lim) {
		from = e > r->scan ? (size_t)e : r->scan;
		if ((nl = memchr(r->buf + from, '\n', r->lim - from)) != NULL)
			return nl + 1;
		stop = (size_t)e;
	}
	if (stop <= r->scan)
		return NULL;
	nl = memrchr(r->buf + r->scan, '\n', stop - r->scan);
	return nl ? nl + 1 : NULL;
}

/*
 * The length of the run buf[pos, pos + len) cut before its first line
 * longer than max_line (0: the first one is). Only a run longer than
 * max_line can hold one.
 */
static size_t
lr_cut_long(const sl_line_reader *r, size_t len)
{
	const char *run = r->buf + r->pos, *p = run, *end = run + len, *nl;
	size_t n;

	if (len <= r->max_line)
		return len;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		if (nl && n > 0 && nl[-1] == '\r')
			n--;
		if (n > r->max_line)
			return (size_t)(p - run);
		if (nl == NULL)
			break;
	}
	return len;
}

int
sl_line_reader_lines(sl_line_reader *r, sl_slice *lines, uint64_t *offset,
		     struct sl_buf *err)
{
	const char *stop;
	size_t len;
	int rv;

	for (;;) {
		if (r->base + r->pos >= r->end)
			return 0;
		stop = lr_run_end(r);
		if (stop == NULL && r->eof && r->lim > r->pos)
			stop = r->buf + r->lim; /* the last line, unended */
		if (stop != NULL) {
			len = lr_cut_long(r, (size_t)(stop - r->buf) - r->pos);
			if (len == 0) /* SL_ETOOBIG, skipping it */
				return sl_line_reader_next(r, lines, offset,
							   err);
			*offset = r->base + r->pos;
			lines->ptr = r->buf + r->pos;
			lines->len = len;
			r->pos = r->scan = r->pos + len;
			return 1;
		}
		r->scan = r->lim;
		if (r->eof)
			return 0;
		if (r->lim - r->pos > r->max_line + 1)
			return lr_too_long(r, lines, offset, err);
		rv = lr_refill(r, err);
		if (rv != SL_OK)
			return rv;
	}
}

/*
 * A small split (many small files) needs less than a block: its bytes,
 * the byte before it, and the usual tail. The buffer grows if a line
 * needs more.
 */
static size_t
lr_first_cap(uint64_t span, size_t block)
{
	if (block <= IN_READ_TAIL + 1 || span >= block - IN_READ_TAIL - 1)
		return block;
	return (size_t)span + IN_READ_TAIL + 1;
}

int
sl__line_reader_open_buf(sl_line_reader **rp, const char *path,
			 uint64_t start, uint64_t end, size_t max_line,
			 size_t buf_size, struct sl_buf *err)
{
	sl_line_reader *r;
	int rv;

	*rp = NULL;
	if (max_line == 0 || max_line > SIZE_MAX - 2 || start > end ||
	    buf_size == 0)
		return in_fail(err, SL_EINVAL,
			       "invalid split or line limit for '%s'", path);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return SL_ENOMEM;
	r->fd = -1;
	r->block = buf_size;
	r->cap = lr_first_cap(end - start, buf_size);
	r->end = end;
	r->max_line = max_line;
	r->path = strdup(path);
	r->buf = malloc(r->cap + SL_LINE_READER_PAD);
	if (r->path == NULL || r->buf == NULL) {
		rv = SL_ENOMEM;
		goto fail;
	}
	rv = sl_open_read(path, &r->fd, err);
	if (rv != SL_OK)
		goto fail;
	if (start > 0) {
		/* The line holding byte start-1 belongs to the split before,
		 * unless that byte is its '\n'. */
		r->base = start - 1;
		rv = lr_skip_line(r, err);
		if (rv != SL_OK)
			goto fail;
	}
	r->first = r->base + r->pos;
	*rp = r;
	return SL_OK;
fail:
	sl_line_reader_close(r);
	return rv;
}

int
sl_line_reader_open(sl_line_reader **r, const char *path, uint64_t start,
		    uint64_t end, size_t max_line, struct sl_buf *err)
{
	return sl__line_reader_open_buf(r, path, start, end, max_line,
					SL_LINE_READER_BUF, err);
}

uint64_t
sl_line_reader_bytes(const sl_line_reader *r)
{
	return r->base + r->pos - r->first;
}

void
sl_line_reader_close(sl_line_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r->path);
	free(r);
}

/* --- line numbers and sizes -------------------------------------------- */

static uint64_t
in_count_newlines(const char *p, size_t n)
{
	const char *end = p + n;
	uint64_t count = 0;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		count++;
		p++;
	}
	return count;
}

int
sl_line_number(const char *path, uint64_t offset, uint64_t *line,
	       struct sl_buf *err)
{
	uint64_t at = 0, count = 0;
	char *buf;
	size_t want, n;
	int fd, rv;

	rv = sl_open_read(path, &fd, err);
	if (rv != SL_OK)
		return rv;
	buf = malloc(IN_COUNT_BUF);
	if (buf == NULL) {
		rv = SL_ENOMEM;
		goto out;
	}
	while (at < offset) {
		want = offset - at < IN_COUNT_BUF ? (size_t)(offset - at)
						  : IN_COUNT_BUF;
		rv = sl_pread(fd, path, buf, want, at, &n, err);
		if (rv != SL_OK)
			goto out;
		if (n == 0) {
			rv = in_fail(err, SL_EINVAL,
				     "byte %llu is beyond the end of '%s'",
				     (unsigned long long)offset, path);
			goto out;
		}
		count += in_count_newlines(buf, n);
		at += n;
	}
	*line = count + 1;
out:
	free(buf);
	close(fd);
	return rv;
}

/* After the digits and unit: nothing, "B", or after a unit "iB". */
static bool
in_size_tail(const char *p, bool unit)
{
	if (unit && (p[0] == 'i' || p[0] == 'I') &&
	    (p[1] == 'B' || p[1] == 'b'))
		p += 2;
	else if (p[0] == 'B' || p[0] == 'b')
		p++;
	return *p == '\0';
}

int
sl_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *p = s, *u;
	uint64_t v = 0;
	unsigned d, shift = 0;

	if (!isdigit((unsigned char)*p))
		return SL_EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return SL_EINVAL;
		v = v * 10 + d;
	}
	u = *p ? strchr(units, toupper((unsigned char)*p)) : NULL;
	if (u != NULL) {
		shift = 10 * (unsigned)(u - units + 1);
		p++;
	}
	if (!in_size_tail(p, u != NULL))
		return SL_EINVAL;
	if (v == 0 || v > UINT64_MAX >> shift)
		return SL_EINVAL;
	*out = v << shift;
	return SL_OK;
}
