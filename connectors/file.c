/*
 * file.c - the file source and the file sink of a stream.
 *
 * The source, "file:DIR": the regular files of DIR whose names do not
 * start with '.' or '_' (a writer's temporary names: files are expected
 * to appear whole, by rename, and not to change), in name order. A
 * batch's offsets are byte ranges of files, a line each, "range FROM TO
 * SIZE MTIME NAME": bytes [FROM, TO) of DIR/NAME, which had SIZE bytes
 * and was modified at MTIME (ns since the epoch) when the batch was
 * planned (the name last: it may hold spaces). The next batch goes on
 * in the last range's file when it stopped short of its end, then takes
 * the names that sort after it, at most FILE_MAX_FILES of them; with
 * --max-batch-records N at most N lines in all, cut where a line ends
 * (plan() reads the files from where it goes on, up to the N-th '\n':
 * about the bytes the batch will read; without a cap it reads nothing,
 * a range is a whole file). A file whose size or time is not the logged
 * one, when a batch goes on in it or runs again, fails the stream
 * (SL_EINVAL): its bytes may not be the batch's. "file NAME", the line
 * of checkpoints written before ranges, is still read: the whole file,
 * nothing checked.
 *
 * The sink, "file:DIR": batch N's part files
 * in DIR/batch-N (the Hadoop layout, committed by the job's renames),
 * and DIR/_manifest, the committed batches one a line, rewritten durably
 * at each commit: a reader takes the last line's directory (complete
 * mode) or every line's (append mode). A commit of a batch already
 * committed writes the same manifest again: exactly once holds because a
 * replayed batch writes the same bytes into the same directory.
 */
#include "sink.h"
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/io.h"
#include "common/procdir.h"

typedef struct file_sink {
	sl_sink base;
	char *dir;
} file_sink;

static int
file_open(sl_sink **out, const char *where, const char *ck, sl_buf *err)
{
	file_sink *f;

	(void)ck;
	if (*where == '\0') {
		sl_buf_addstr(err, "sink 'file:': a directory is needed "
			      "(file:DIR)");
		return SL_EUSAGE;
	}
	if (sl_mkdirs(where, 0755, err) != SL_OK)
		return SL_EIO;
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->dir = strdup(where)) == NULL) {
		free(f);
		sl_buf_addstr(err, "out of memory");
		return SL_ENOMEM;
	}
	f->base.ops = &sl_sink_file;
	*out = &f->base;
	return SL_OK;
}

static void
file_batch_dir(const sl_sink *s, uint64_t n, sl_buf *dir)
{
	const file_sink *f = (const file_sink *)s;

	sl_buf_addf(dir, "%s/batch-%010llu", f->dir, (unsigned long long)n);
}

static int
file_commit(sl_sink *s, const sl_sink_batch *b, sl_buf *err)
{
	file_sink *f = (file_sink *)s;
	sl_buf text = SL_BUF_INIT;
	uint64_t i;
	int rv;

	for (i = 1; i <= b->n; i++)
		sl_buf_addf(&text, "batch-%010llu\n", (unsigned long long)i);
	rv = sl_write_file(f->dir, "_manifest", text.buf, text.len, err);
	sl_buf_release(&text);
	return rv;
}

static void
file_close(sl_sink *s)
{
	file_sink *f = (file_sink *)s;

	free(f->dir);
	free(f);
}

const sl_sink_ops sl_sink_file = {
	.scheme = "file",
	.syntax = "file:DIR",
	.path = true,
	.open = file_open,
	.batch_dir = file_batch_dir,
	.commit = file_commit,
	.close = file_close,
};

/* --- the source ---------------------------------------------------------- */

#define FILE_MAX_FILES 100000         /* files (or parts) of one batch */
#define FILE_COUNT_BUF ((size_t)256 << 10) /* bytes of a read that counts
					      lines */

typedef struct file_source {
	sl_source base;
	char *dir;
} file_source;

/* One line of a batch's offsets: a part of a file. */
typedef struct fsrc_part {
	bool whole;        /* "file NAME": the whole file, nothing checked */
	uint64_t from, to; /* "range": bytes [from, to) */
	uint64_t size;     /* the file's size when it was planned */
	int64_t mtime_ns;  /* and its modification time, ns since the epoch */
	const char *name;  /* the file's name in DIR (not NUL-ended) */
	size_t name_len;
} fsrc_part;

static int
fsrc_open(sl_source **out, const char *where, const char *ck, sl_buf *err)
{
	file_source *f;
	struct stat st;

	(void)ck;
	if (*where == '\0' || stat(where, &st) != 0 || !S_ISDIR(st.st_mode)) {
		sl_buf_addf(err, "source 'file:%s': not a directory", where);
		return SL_EUSAGE;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->dir = strdup(where)) == NULL) {
		free(f);
		sl_buf_addstr(err, "out of memory");
		return SL_ENOMEM;
	}
	f->base.ops = &sl_source_file;
	*out = &f->base;
	return SL_OK;
}

static int64_t
fsrc_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* A decimal number at *p (digits only, no sign, no overflow), then one
 * space, moving *p past both. */
static bool
fsrc_number(const char **p, const char *end, uint64_t *v)
{
	const char *q = *p;
	unsigned d;

	*v = 0;
	if (q == end || *q < '0' || *q > '9')
		return false;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		d = (unsigned)(*q - '0');
		if (*v > (UINT64_MAX - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	if (q == end || *q != ' ')
		return false;
	*p = q + 1;
	return true;
}

/*
 * Parses the line [p, end) (without its '\n'): "file NAME" (the form of
 * checkpoints written before ranges: the whole file) or "range FROM TO
 * SIZE MTIME NAME". A name is not empty and holds no '/'; FROM <= TO <=
 * SIZE; MTIME may be negative (a file of before 1970).
 */
static bool
fsrc_parse(const char *p, const char *end, fsrc_part *part)
{
	uint64_t mtime;
	bool neg;

	memset(part, 0, sizeof(*part));
	if ((size_t)(end - p) > 5 && memcmp(p, "file ", 5) == 0) {
		part->whole = true;
		p += 5;
	} else if ((size_t)(end - p) > 6 && memcmp(p, "range ", 6) == 0) {
		p += 6;
		if (!fsrc_number(&p, end, &part->from) ||
		    !fsrc_number(&p, end, &part->to) ||
		    !fsrc_number(&p, end, &part->size))
			return false;
		neg = p < end && *p == '-';
		p += neg;
		if (!fsrc_number(&p, end, &mtime) || mtime > INT64_MAX ||
		    part->from > part->to || part->to > part->size)
			return false;
		part->mtime_ns = neg ? -(int64_t)mtime : (int64_t)mtime;
	} else {
		return false;
	}
	part->name = p;
	part->name_len = (size_t)(end - p);
	return part->name_len > 0 && memchr(p, '/', part->name_len) == NULL;
}

/* The last line of offsets, parsed; false for "" and for a bad line. */
static bool
fsrc_last_part(const char *offsets, fsrc_part *part)
{
	size_t len = strlen(offsets);
	const char *p;

	if (len && offsets[len - 1] == '\n')
		len--;
	if (len == 0)
		return false;
	p = memrchr(offsets, '\n', len);
	p = p ? p + 1 : offsets;
	return fsrc_parse(p, offsets + len, part);
}

static void
fsrc_path(const file_source *f, const char *name, size_t len, sl_buf *path)
{
	sl_buf_reset(path);
	sl_buf_addf(path, "%s/%.*s", f->dir, (int)len, name);
}

/*
 * Checks that the file at path (st: its stat, or NULL when it failed)
 * is still the one a batch took part of: its size and modification time
 * as logged. SL_OK, or SL_EINVAL with the reason: reading it would give
 * other bytes than the batch's.
 */
static int
fsrc_same(const char *path, const struct stat *st, const fsrc_part *part,
	  sl_buf *err)
{
	if (st == NULL) {
		sl_buf_addf(err, "source file '%s' is gone, and a batch took "
			    "its bytes %llu to %llu: a file must stay, "
			    "unchanged, until its batches are committed", path,
			    (unsigned long long)part->from,
			    (unsigned long long)part->to);
		return SL_EINVAL;
	}
	if ((uint64_t)st->st_size != part->size ||
	    fsrc_mtime_ns(st) != part->mtime_ns) {
		sl_buf_addf(err, "source file '%s' changed after a batch took "
			    "it (then %llu bytes modified at %lld ns, now %llu "
			    "at %lld): a file must appear whole, by rename, "
			    "and not change", path,
			    (unsigned long long)part->size,
			    (long long)part->mtime_ns,
			    (unsigned long long)st->st_size,
			    (long long)fsrc_mtime_ns(st));
		return SL_EINVAL;
	}
	return SL_OK;
}

/*
 * Where the *want lines of path from byte from end: *to is the byte
 * after the '\n' of the last of them, or size when the file (of size
 * bytes, as stat'ed) has fewer; *want is less the lines found (a last
 * line without '\n' is one). Reads only that far, in blocks: the
 * planning I/O of a capped batch, about the bytes the batch will read.
 */
static int
fsrc_cut(const char *path, uint64_t from, uint64_t size, uint64_t *want,
	 uint64_t *to, char *buf, sl_buf *err)
{
	const char *p, *end, *nl;
	uint64_t at = from;
	size_t n;
	int fd, rv;

	if ((rv = sl_open_read(path, &fd, err)) != SL_OK)
		return rv;
	while (at < size && *want > 0) {
		n = size - at < FILE_COUNT_BUF ? (size_t)(size - at)
					       : FILE_COUNT_BUF;
		if ((rv = sl_pread(fd, path, buf, n, at, &n, err)) != SL_OK)
			break;
		if (n == 0) { /* shorter than its stat: it is being changed */
			rv = sl_file_short(path, fd, size, err);
			break;
		}
		for (p = buf, end = buf + n;
		     *want > 0 && (nl = memchr(p, '\n', (size_t)(end - p)));
		     p = nl + 1)
			(*want)--;
		at += *want > 0 ? n : (uint64_t)(p - buf);
		if (*want > 0 && at == size && buf[n - 1] != '\n')
			(*want)--; /* the last line, unended */
	}
	close(fd);
	*to = at;
	return rv;
}

/*
 * Appends to next the part of the file name (st: its stat) from byte
 * from: to its end, or, when *budget (lines left in the batch; NULL: no
 * cap) runs out first, to the end of the line that uses it up.
 */
static int
fsrc_take(const file_source *f, const char *name, size_t len,
	  const struct stat *st, uint64_t from, uint64_t *budget, char *buf,
	  sl_buf *path, sl_buf *next, sl_buf *err)
{
	uint64_t size = (uint64_t)st->st_size, to = size;
	int rv;

	if (budget) {
		fsrc_path(f, name, len, path);
		if ((rv = fsrc_cut(path->buf, from, size, budget, &to, buf,
				   err)) != SL_OK)
			return rv;
	}
	sl_buf_addf(next, "range %llu %llu %llu %lld %.*s\n",
		    (unsigned long long)from, (unsigned long long)to,
		    (unsigned long long)size, (long long)fsrc_mtime_ns(st),
		    (int)len, name);
	return SL_OK;
}

static int
fsrc_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of DIR's regular files, not hidden, after `after`, sorted. */
static int
fsrc_list(const file_source *f, const char *after, sl_strlist *names,
	  sl_buf *path, sl_buf *err)
{
	DIR *d = opendir(f->dir);
	struct dirent *e;
	struct stat st;
	int rv = SL_OK;

	if (d == NULL) {
		sl_buf_addf(err, "source '%s': %s", f->dir, strerror(errno));
		return SL_EIO;
	}
	while ((e = readdir(d)) != NULL && rv == SL_OK) {
		if (e->d_name[0] == '.' || e->d_name[0] == '_' ||
		    strcmp(e->d_name, after) <= 0 || strchr(e->d_name, '\n'))
			continue;
		fsrc_path(f, e->d_name, strlen(e->d_name), path);
		if (stat(path->buf, &st) == 0 && S_ISREG(st.st_mode))
			rv = sl_strlist_add(names, e->d_name);
	}
	closedir(d);
	if (rv == SL_OK && names->n > 1)
		qsort(names->v, names->n, sizeof(*names->v), fsrc_name_cmp);
	return rv;
}

static int
fsrc_plan(sl_source *s, const char *last, uint64_t max_records,
	  sl_buf *next, sl_buf *err)
{
	file_source *f = (file_source *)s;
	sl_buf after = SL_BUF_INIT, path = SL_BUF_INIT;
	sl_strlist names = { 0 };
	uint64_t *budget = max_records ? &max_records : NULL;
	fsrc_part part;
	struct stat st;
	char *buf = NULL;
	size_t i, taken = 0;
	bool have;
	int rv;

	if (*last && !fsrc_last_part(last, &part)) {
		sl_buf_addf(err, "source 'file:%s': offsets '%.60s' are not "
			    "of this source", f->dir, last);
		return SL_EINVAL;
	}
	if (*last)
		sl_buf_add(&after, part.name, part.name_len);
	/* The directory first: one that is away is waited for. */
	if ((rv = fsrc_list(f, after.buf, &names, &path, err)) != SL_OK)
		goto out;
	if (budget && (buf = malloc(FILE_COUNT_BUF)) == NULL) {
		rv = SL_ENOMEM;
		goto out;
	}
	/* The rest of a file that the last batch took a part of. */
	if (*last && !part.whole && part.to < part.size) {
		fsrc_path(f, part.name, part.name_len, &path);
		have = stat(path.buf, &st) == 0;
		if ((rv = fsrc_same(path.buf, have ? &st : NULL, &part,
				    err)) != SL_OK ||
		    (rv = fsrc_take(f, part.name, part.name_len, &st, part.to,
				    budget, buf, &path, next, err)) != SL_OK)
			goto out;
		taken++;
	}
	for (i = 0; i < names.n && taken < FILE_MAX_FILES &&
		    (budget == NULL || *budget > 0); i++) {
		fsrc_path(f, names.v[i], strlen(names.v[i]), &path);
		if (stat(path.buf, &st) != 0 || !S_ISREG(st.st_mode))
			continue; /* gone since it was listed: not taken */
		if ((rv = fsrc_take(f, names.v[i], strlen(names.v[i]), &st, 0,
				    budget, buf, &path, next, err)) != SL_OK)
			goto out;
		taken++;
	}
out:
	if (rv != SL_OK)
		sl_buf_reset(next);
	free(buf);
	sl_strlist_release(&names);
	sl_buf_release(&after);
	sl_buf_release(&path);
	return rv;
}

static int
fsrc_inputs(sl_source *s, uint64_t n, const char *offsets,
	    sl_split_list *splits, sl_buf *err)
{
	file_source *f = (file_source *)s;
	const char *p = offsets, *nl;
	sl_buf path = SL_BUF_INIT;
	fsrc_part part;
	struct stat st;
	bool have;
	int rv = SL_OK;

	(void)n;
	for (; *p && rv == SL_OK; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if (!fsrc_parse(p, nl, &part)) {
			sl_buf_addf(err, "source 'file:%s': offsets '%.60s' "
				    "are not of this source", f->dir, p);
			rv = SL_EINVAL;
			break;
		}
		fsrc_path(f, part.name, part.name_len, &path);
		have = stat(path.buf, &st) == 0;
		if (part.whole && !have) {
			sl_buf_addf(err, "cannot open '%s': %s", path.buf,
				    strerror(errno));
			rv = SL_EIO;
		} else if (part.whole) {
			rv = sl_split_list_add(splits, path.buf, 0,
					       (uint64_t)st.st_size);
		} else if ((rv = fsrc_same(path.buf, have ? &st : NULL, &part,
					   err)) == SL_OK) {
			rv = sl_split_list_add(splits, path.buf, part.from,
					       part.to);
		}
		if (*nl == '\0')
			break;
	}
	sl_buf_release(&path);
	return rv;
}

static void
fsrc_close(sl_source *s)
{
	file_source *f = (file_source *)s;

	free(f->dir);
	free(f);
}

const sl_source_ops sl_source_file = {
	.scheme = "file",
	.syntax = "file:DIR",
	.path = true,
	.open = fsrc_open,
	.plan = fsrc_plan,
	.inputs = fsrc_inputs,
	.close = fsrc_close,
};
