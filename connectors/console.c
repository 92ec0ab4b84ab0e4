/*
 * console.c - the console sink of a stream, "console": each committed
 * batch's rows printed on standard output (Spark's console sink), to
 * watch a stream at a terminal or to pipe it into another command.
 *
 * A batch is a line "-------- batch N --------", then its part files in
 * order (part-00000 first), as the job wrote them, but for CSV rows
 * (sl_job.output SL_OUTPUT_CSV) the header row once: each part file
 * starts with it, part-00000's is printed, the others' must be the same
 * and are not. The batch's job writes its part files into CK/sink/batch-N;
 * the commit copies them to fd 1 in CONSOLE_CHUNK pieces with write(2)
 * (no stdio buffer holds any of it: a batch is out when its commit
 * returns) and removes them. Memory: one chunk.
 *
 * At least once, not exactly once: a terminal cannot take back what it
 * showed, nor show and record in one step. Once a batch is printed its
 * number is recorded durably in CK/sink/console ("printed N"), and a
 * commit of a batch up to that number prints nothing: a restart, or the
 * replay of a batch logged and not committed, prints no batch again. A
 * crash between the print and the record prints that batch again at the
 * next start: twice, never lost.
 *
 * A failed write (a closed pipe: EPIPE, the stream ignores SIGPIPE)
 * fails the commit with the reason; the batch is not recorded, and the
 * retry prints it whole again, after what was already written. Writes
 * block while the reader does not read (the stream waits for it): this
 * sink is for `sluice stream` at a terminal; a host of the driver that
 * must not block (an event loop) would give it a writer thread of its own.
 * Not thread-safe, as every sink.
 */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/csv.h"
#include "common/io.h"
#include "common/procdir.h"

#define CONSOLE_CHUNK (64 << 10)     /* bytes read and written at once */
#define CONSOLE_HEADER_MAX (1 << 20) /* bytes of a CSV header row */
#define CONSOLE_RECORD "console"     /* CK/sink/console */

typedef struct console_sink {
	sl_sink base;
	char *stage; /* CK/sink: batch-N directories and the record */
} console_sink;

static void
con_close(sl_sink *s)
{
	console_sink *c = (console_sink *)s;

	free(c->stage);
	free(c);
}

static int
con_open(sl_sink **out, const char *where, const char *ck, sl_buf *err)
{
	sl_buf stage = SL_BUF_INIT;
	console_sink *c;
	int fl;

	if (*where != '\0') {
		sl_buf_addf(err, "sink 'console:%s': the console sink takes "
			    "nothing after its name (console)", where);
		return SL_EUSAGE;
	}
	/* Closed, fd 1 would be the next file this process opens. */
	fl = fcntl(STDOUT_FILENO, F_GETFL);
	if (fl == -1 || (fl & O_ACCMODE) == O_RDONLY) {
		sl_buf_addstr(err, "sink 'console': standard output is not "
			      "open for writing");
		return SL_EUSAGE;
	}
	sl_buf_addf(&stage, "%s/sink", ck);
	if (sl_mkdirs(stage.buf, 0755, err) != SL_OK) {
		sl_buf_release(&stage);
		return SL_EIO;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		sl_buf_release(&stage);
		sl_buf_addstr(err, "out of memory");
		return SL_ENOMEM;
	}
	c->base.ops = &sl_sink_console;
	c->stage = sl_buf_detach(&stage, NULL);
	*out = &c->base;
	return SL_OK;
}

static void
con_batch_dir(const sl_sink *s, uint64_t n, sl_buf *dir)
{
	const console_sink *c = (const console_sink *)s;

	sl_buf_addf(dir, "%s/batch-%010llu", c->stage, (unsigned long long)n);
}

/* The last batch printed, from CK/sink/console: 0 for none. */
static int
con_printed(const console_sink *c, uint64_t *n, sl_buf *err)
{
	sl_buf path = SL_BUF_INIT, text = SL_BUF_INIT, why = SL_BUF_INIT;
	char *end = NULL;
	int rv;

	sl_buf_addf(&path, "%s/%s", c->stage, CONSOLE_RECORD);
	*n = 0;
	rv = sl_read_file(path.buf, &text, &why);
	if (rv == SL_ENOTFOUND) {
		rv = SL_OK; /* nothing printed yet */
	} else if (rv != SL_OK) {
		sl_buf_addf(err, "sink 'console': %s", why.buf);
	} else {
		if (strncmp(text.buf, "printed ", 8) == 0 && text.buf[8] >= '0' &&
		    text.buf[8] <= '9')
			*n = strtoull(text.buf + 8, &end, 10);
		if (end == NULL || strcmp(end, "\n") != 0) {
			sl_buf_addf(err, "sink 'console': '%s' is not a record "
				    "of this version", path.buf);
			rv = SL_EIO;
		}
	}
	sl_buf_release(&path);
	sl_buf_release(&text);
	sl_buf_release(&why);
	return rv;
}

/* Writes p[0, n) to standard output. */
static int
con_write(const void *p, size_t n, sl_buf *err)
{
	if (sl_write_all(STDOUT_FILENO, p, n) == SL_OK)
		return SL_OK;
	sl_buf_addf(err, "sink 'console': cannot write to standard output: %s",
		    strerror(errno));
	return SL_EIO;
}

/*
 * Where the rows of CSV part file path start: after its header row (the
 * offset of its first row, or its size when it has none), in *at.
 */
static int
con_header_end(const char *path, uint64_t size, uint64_t *at, sl_buf *err)
{
	sl_csv_reader *r = NULL;
	sl_buf why = SL_BUF_INIT;
	const sl_slice *f;
	sl_slice raw;
	size_t n;
	int rv;

	if ((rv = sl_csv_open(&r, path, 0, size, CONSOLE_HEADER_MAX, err)) !=
	    SL_OK)
		return rv;
	/* A row too long or malformed still starts where the header ends;
	 * it is printed as it is. */
	rv = sl_csv_next(r, &f, &n, &raw, at, &why);
	if (rv == 0)
		*at = size;
	if (rv == 1 || rv == 0 || rv == SL_EBADRECORD || rv == SL_ETOOBIG) {
		rv = SL_OK;
	} else {
		sl_buf_addf(err, "sink 'console': '%s': %s", path, why.buf);
		rv = SL_EIO;
	}
	sl_csv_close(r);
	sl_buf_release(&why);
	return rv;
}

/*
 * Prints part file path, but for a CSV one that is not the first its
 * header row, which must be the first's: hdr, kept from the first.
 * chunk: room for CONSOLE_CHUNK bytes.
 */
static int
con_print_part(const char *path, bool csv, bool first, sl_buf *hdr,
	       sl_buf *chunk, sl_buf *err)
{
	struct stat st;
	uint64_t at = 0, start;
	ssize_t got;
	int fd, rv;

	if ((rv = sl_open_read(path, &fd, err)) != SL_OK)
		return SL_EIO;
	if (fstat(fd, &st) != 0) {
		sl_buf_addf(err, "sink 'console': cannot stat '%s': %s", path,
			    strerror(errno));
		rv = SL_EIO;
		goto out;
	}
	if (csv && (rv = con_header_end(path, (uint64_t)st.st_size, &at,
					err)) != SL_OK)
		goto out;
	start = at;
	if (first)
		start = 0; /* part-00000: its header is the batch's */
	else if (csv) {
		sl_buf_reset(chunk);
		if (at != hdr->len || sl_buf_grow(chunk, at) != SL_OK ||
		    pread(fd, chunk->buf, at, 0) != (ssize_t)at ||
		    memcmp(chunk->buf, hdr->buf, at) != 0) {
			sl_buf_addf(err, "sink 'console': '%s' starts with "
				    "another header than part-00000", path);
			rv = SL_EIO;
			goto out;
		}
	}
	for (;;) {
		got = pread(fd, chunk->buf, CONSOLE_CHUNK, (off_t)start);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			sl_buf_addf(err, "sink 'console': cannot read '%s': %s",
				    path, strerror(errno));
			rv = SL_EIO;
			break;
		}
		if (got == 0)
			break;
		if (csv && first && start < at)
			sl_buf_add(hdr, chunk->buf,
				   (size_t)(at - start) < (size_t)got
					   ? (size_t)(at - start)
					   : (size_t)got);
		if ((rv = con_write(chunk->buf, (size_t)got, err)) != SL_OK)
			break;
		start += (uint64_t)got;
	}
out:
	close(fd);
	return rv;
}

static int
con_commit(sl_sink *s, const sl_sink_batch *b, sl_buf *err)
{
	console_sink *c = (console_sink *)s;
	sl_buf dir = SL_BUF_INIT, path = SL_BUF_INIT, hdr = SL_BUF_INIT;
	sl_buf chunk = SL_BUF_INIT, line = SL_BUF_INIT;
	uint64_t printed;
	uint32_t r;
	int rv;

	con_batch_dir(s, b->n, &dir);
	if ((rv = con_printed(c, &printed, err)) != SL_OK)
		goto out;
	if (b->n <= printed)
		goto done; /* on the console already */
	if (sl_buf_grow(&chunk, CONSOLE_CHUNK) != SL_OK) {
		sl_buf_addstr(err, "out of memory");
		rv = SL_ENOMEM;
		goto out;
	}
	sl_buf_addf(&line, "-------- batch %llu --------\n",
		    (unsigned long long)b->n);
	rv = con_write(line.buf, line.len, err);
	for (r = 0; rv == SL_OK && r < b->partitions; r++) {
		sl_buf_reset(&path);
		sl_buf_addf(&path, "%s/part-%05u", dir.buf, r);
		rv = con_print_part(path.buf, b->output == SL_OUTPUT_CSV,
				    r == 0, &hdr, &chunk, err);
	}
	if (rv != SL_OK)
		goto out;
	sl_buf_reset(&line);
	sl_buf_addf(&line, "printed %llu\n", (unsigned long long)b->n);
	if ((rv = sl_write_file(c->stage, CONSOLE_RECORD, line.buf, line.len,
				err)) != SL_OK)
		goto out;
done:
	/* Printed: the staged part files are not needed again. */
	sl_rmtree(dir.buf, &path);
out:
	sl_buf_release(&dir);
	sl_buf_release(&path);
	sl_buf_release(&hdr);
	sl_buf_release(&chunk);
	sl_buf_release(&line);
	return rv;
}

const sl_sink_ops sl_sink_console = {
	.scheme = "console",
	.syntax = "console",
	.open = con_open,
	.batch_dir = con_batch_dir,
	.commit = con_commit,
	.close = con_close,
};
