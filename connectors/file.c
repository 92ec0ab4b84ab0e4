/*
 * file.c - the file source and the file sink of a stream.
 *
 * The source, "file:DIR": the regular files of DIR whose names do not
 * start with '.' or '_' (a writer's temporary names: files are expected
 * to appear whole, by rename), in name order; a batch's offsets are its
 * files' names ("file NAME" lines), and the next batch takes the names
 * that sort after the last one, at most FILE_MAX_FILES.
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

#define FILE_MAX_FILES 100000 /* files of one batch */

typedef struct file_source {
	sl_source base;
	char *dir;
} file_source;

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

/* The last "file NAME" of offsets, "" for none. */
static const char *
fsrc_last_name(const char *offsets, sl_buf *name)
{
	const char *p = offsets, *nl;

	sl_buf_reset(name);
	while ((p = strstr(p, "file ")) != NULL) {
		if (p == offsets || p[-1] == '\n') {
			nl = strchr(p, '\n');
			sl_buf_reset(name);
			sl_buf_add(name, p + 5,
				   nl ? (size_t)(nl - p - 5) : strlen(p + 5));
		}
		p += 5;
	}
	return name->buf;
}

static int
fsrc_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
fsrc_plan(sl_source *s, const char *last, uint64_t max_records,
	  sl_buf *next, sl_buf *err)
{
	file_source *f = (file_source *)s;
	sl_buf after = SL_BUF_INIT, path = SL_BUF_INIT;
	sl_strlist names = { 0 };
	DIR *d = opendir(f->dir);
	struct dirent *e;
	struct stat st;
	size_t i;
	int rv = SL_OK;

	(void)max_records; /* a batch takes whole files */
	if (d == NULL) {
		sl_buf_addf(err, "source '%s': %s", f->dir, strerror(errno));
		return SL_EIO;
	}
	fsrc_last_name(last, &after);
	while ((e = readdir(d)) != NULL && rv == SL_OK) {
		if (e->d_name[0] == '.' || e->d_name[0] == '_' ||
		    strcmp(e->d_name, after.buf) <= 0 ||
		    strchr(e->d_name, '\n'))
			continue;
		sl_buf_reset(&path);
		sl_buf_addf(&path, "%s/%s", f->dir, e->d_name);
		if (stat(path.buf, &st) == 0 && S_ISREG(st.st_mode))
			rv = sl_strlist_add(&names, e->d_name);
	}
	closedir(d);
	if (rv == SL_OK && names.n > 1)
		qsort(names.v, names.n, sizeof(*names.v), fsrc_name_cmp);
	for (i = 0; rv == SL_OK && i < names.n && i < FILE_MAX_FILES; i++)
		sl_buf_addf(next, "file %s\n", names.v[i]);
	sl_strlist_release(&names);
	sl_buf_release(&after);
	sl_buf_release(&path);
	return rv;
}

static int
fsrc_inputs(sl_source *s, uint64_t n, const char *offsets, sl_strlist *files,
	    sl_buf *err)
{
	file_source *f = (file_source *)s;
	const char *p = offsets, *nl;
	sl_buf path = SL_BUF_INIT;
	int rv = SL_OK;

	(void)n;
	for (; *p && rv == SL_OK; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1;
		if (strncmp(p, "file ", 5) != 0 || nl == p + 5 ||
		    memchr(p + 5, '/', (size_t)(nl - p - 5))) {
			sl_buf_addf(err, "source 'file:%s': offsets '%.40s' are "
				    "not of this source", f->dir, p);
			rv = SL_EIO;
			break;
		}
		sl_buf_reset(&path);
		sl_buf_addf(&path, "%s/%.*s", f->dir, (int)(nl - p - 5), p + 5);
		rv = sl_strlist_add(files, path.buf);
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
