/*
 * file.c - the file sink of a stream, "file:DIR": batch N's part files
 * in DIR/batch-N (the Hadoop layout, committed by the job's renames),
 * and DIR/_manifest, the committed batches one a line, rewritten durably
 * at each commit: a reader takes the last line's directory (complete
 * mode) or every line's (append mode). A commit of a batch already
 * committed writes the same manifest again: exactly once holds because a
 * replayed batch writes the same bytes into the same directory.
 */
#include "sink.h"

#include <stdlib.h>
#include <string.h>

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
	rv = sl_write_file(f->dir, "_manifest", text.buf, err);
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
	.open = file_open,
	.batch_dir = file_batch_dir,
	.commit = file_commit,
	.close = file_close,
};
