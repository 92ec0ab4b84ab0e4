/*
 * spill.c - sorted runs on local disk, LZ4 frames; see spill.h.
 *
 * Writing (sl_spill_append) compresses SL_SPILL_BLOCK bytes at a time
 * with the LZ4 frame API into one buffer of their compressed bound and
 * writes each result out, so memory does not grow with the run;
 * sl_spill_write is create, one append, finish. Reading (sl_spill_next)
 * feeds the file to the decompressor SP_READ bytes at a time and lets it
 * write straight into the caller's buffer, with room for a block, until
 * some bytes came out. sl_spill_check_left bounds what a reader can
 * still give by the file's size, for a merge that must not read a whole
 * damaged file to learn that a record's length is garbage.
 */
#include "sl_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shuffle/spill.h"

#define SP_READ ((size_t)64 << 10) /* compressed bytes read at a time */
/* LZ4 makes at most 255 bytes of one compressed byte: a match costs 3
 * bytes for up to 18, then a byte for every 255 more. */
#define SP_EXPAND 255
/* Output a decompressor may hold back: a block (4 MiB is LZ4's largest). */
#define SP_HELD ((uint64_t)4 << 20)

/*
 * Writes the n bytes the compressor put at p (n may be its error code) to
 * fd. SL_OK; SL_ENOMEM for a compressor error (it fails only on bad
 * arguments or memory); SL_EIO with errno set.
 */
static int
sp_put(int fd, const char *p, size_t n)
{
	if (LZ4F_isError(n))
		return SL_ENOMEM;
	return sl_write_all(fd, p, n);
}

struct sl_spill_writer {
	int fd;
	char *path;             /* for messages, and to remove the file */
	LZ4F_cctx *cctx;
	char *out;              /* cap bytes of compressed output */
	size_t cap;             /* a block's compressed bound and the header */
};

/*
 * Fails w after rv (SL_EIO: errno e): the message, then the file goes.
 * Returns rv.
 */
static int
sp_fail(sl_spill_writer *w, int rv, int e, sl_buf *err)
{
	if (rv == SL_EIO)
		sl_buf_addf(err, "cannot write spill file '%s': %s", w->path,
			    strerror(e));
	sl_spill_abort(w);
	return rv;
}

int
sl_spill_create(sl_spill_writer **out, const char *path, sl_buf *err)
{
	LZ4F_preferences_t prefs;
	sl_spill_writer *w = calloc(1, sizeof(*w));
	int rv;

	*out = NULL;
	if (w == NULL || (w->path = strdup(path)) == NULL) {
		free(w);
		return SL_ENOMEM;
	}
	w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		sl_buf_addf(err, "cannot create spill file '%s': %s", path,
			    strerror(errno));
		free(w->path);
		free(w);
		return SL_EIO;
	}
	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max1MB;
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	/* The bound covers a block and the frame's end; the header apart. */
	w->cap = LZ4F_compressBound(SL_SPILL_BLOCK, &prefs) +
		 LZ4F_HEADER_SIZE_MAX;
	if (LZ4F_isError(LZ4F_createCompressionContext(&w->cctx,
						       LZ4F_VERSION)) ||
	    (w->out = malloc(w->cap)) == NULL)
		return sp_fail(w, SL_ENOMEM, 0, err);
	rv = sp_put(w->fd, w->out, LZ4F_compressBegin(w->cctx, w->out, w->cap,
						      &prefs));
	if (rv != SL_OK)
		return sp_fail(w, rv, errno, err);
	*out = w;
	return SL_OK;
}

int
sl_spill_append(sl_spill_writer *w, const void *data, size_t len,
		sl_buf *err)
{
	const char *in = data;
	size_t off, chunk;
	int rv = SL_OK;

	for (off = 0; off < len && rv == SL_OK; off += chunk) {
		chunk = len - off < SL_SPILL_BLOCK ? len - off : SL_SPILL_BLOCK;
		rv = sp_put(w->fd, w->out, LZ4F_compressUpdate(w->cctx, w->out,
							       w->cap, in + off,
							       chunk, NULL));
	}
	return rv == SL_OK ? SL_OK : sp_fail(w, rv, errno, err);
}

int
sl_spill_finish(sl_spill_writer *w, sl_buf *err)
{
	int fd = w->fd, rv;

	rv = sp_put(fd, w->out, LZ4F_compressEnd(w->cctx, w->out, w->cap,
						 NULL));
	if (rv != SL_OK)
		return sp_fail(w, rv, errno, err);
	w->fd = -1;
	if (close(fd) != 0)
		return sp_fail(w, SL_EIO, errno, err);
	/* The run is whole: keep the file. */
	free(w->path);
	w->path = NULL;
	sl_spill_abort(w);
	return SL_OK;
}

void
sl_spill_abort(sl_spill_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->path)
		unlink(w->path);
	free(w->path);
	free(w->out);
	LZ4F_freeCompressionContext(w->cctx);
	free(w);
}

int
sl_spill_write(const char *path, const void *data, size_t len, sl_buf *err)
{
	sl_spill_writer *w;
	int rv;

	if ((rv = sl_spill_create(&w, path, err)) != SL_OK ||
	    (rv = sl_spill_append(w, data, len, err)) != SL_OK)
		return rv;
	return sl_spill_finish(w, err);
}

/* Reads up to len bytes; returns the count, 0 at the end, -1 (errno). */
static ssize_t
sp_read(int fd, void *p, size_t len)
{
	ssize_t n;

	do
		n = read(fd, p, len);
	while (n < 0 && errno == EINTR);
	return n;
}

struct sl_spill_reader {
	int fd;
	char *path;             /* for messages */
	LZ4F_dctx *dctx;
	char *in;               /* SP_READ bytes of compressed input */
	size_t in_len;          /* bytes in `in` */
	size_t in_off;          /* bytes of `in` given to the decompressor */
	uint64_t read;          /* bytes read from the file */
	bool ended;             /* the frame's end was decoded */
};

int
sl_spill_open(sl_spill_reader **out, const char *path, sl_buf *err)
{
	sl_spill_reader *r = calloc(1, sizeof(*r));
	int rv;

	*out = NULL;
	if (r == NULL)
		return SL_ENOMEM;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		rv = errno == ENOENT ? SL_ENOTFOUND : SL_EIO;
		sl_buf_addf(err, "cannot open spill file '%s': %s", path,
			    strerror(errno));
		free(r);
		return rv;
	}
	if ((r->path = strdup(path)) == NULL ||
	    (r->in = malloc(SP_READ)) == NULL ||
	    LZ4F_isError(LZ4F_createDecompressionContext(&r->dctx,
							 LZ4F_VERSION))) {
		sl_spill_close(r);
		return SL_ENOMEM;
	}
	*out = r;
	return SL_OK;
}

int
sl_spill_next(sl_spill_reader *r, sl_buf *out, sl_buf *err)
{
	size_t start = out->len, dst, src, hint;
	ssize_t n;

	if (sl_buf_grow(out, SL_SPILL_BLOCK) != SL_OK)
		return SL_ENOMEM;
	while (!r->ended && out->len == start) {
		if (r->in_off == r->in_len) {
			n = sp_read(r->fd, r->in, SP_READ);
			if (n < 0)
				goto failed;
			if (n == 0)
				goto damaged; /* the frame has not ended */
			r->in_len = (size_t)n;
			r->in_off = 0;
			r->read += (uint64_t)n;
		}
		/* Leave room for the NUL sl_buf keeps after len. */
		dst = out->alloc - out->len - 1;
		src = r->in_len - r->in_off;
		hint = LZ4F_decompress(r->dctx, out->buf + out->len, &dst,
				       r->in + r->in_off, &src, NULL);
		if (LZ4F_isError(hint))
			goto damaged;
		out->len += dst;
		out->buf[out->len] = '\0';
		r->in_off += src;
		r->ended = hint == 0;
	}
	if (out->len > start)
		return 1;
	/* The end: nothing may follow the frame. */
	if (r->in_off < r->in_len || (n = sp_read(r->fd, r->in, 1)) > 0)
		goto damaged;
	if (n < 0)
		goto failed;
	return 0;
damaged:
	sl_buf_addf(err, "spill file '%s' is damaged", r->path);
	return SL_EPROTO;
failed:
	sl_buf_addf(err, "cannot read spill file '%s': %s", r->path,
		    strerror(errno));
	return SL_EIO;
}

int
sl_spill_check_left(const sl_spill_reader *r, uint64_t bytes, sl_buf *err)
{
	struct stat st;
	uint64_t left, most = 0;

	if (!r->ended) {
		if (fstat(r->fd, &st) != 0) {
			sl_buf_addf(err, "cannot read spill file '%s': %s",
				    r->path, strerror(errno));
			return SL_EIO;
		}
		/* Compressed bytes not yet given to the decompressor. */
		left = (uint64_t)st.st_size > r->read ?
			       (uint64_t)st.st_size - r->read : 0;
		left += r->in_len - r->in_off;
		most = left > (UINT64_MAX - SP_HELD) / SP_EXPAND ?
			       UINT64_MAX : left * SP_EXPAND + SP_HELD;
	}
	if (bytes <= most)
		return SL_OK;
	sl_buf_addf(err, "spill file '%s' is damaged: a record runs past "
		    "its end", r->path);
	return SL_EPROTO;
}

void
sl_spill_close(sl_spill_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	LZ4F_freeDecompressionContext(r->dctx);
	free(r->in);
	free(r->path);
	free(r);
}
