/*
 * io.h - reading and writing file descriptors.
 *
 * sl_write_all() is the one loop that writes a whole buffer, for the
 * callers that write files (spill runs, a map's merged output, part
 * files). sl_open_read() and sl_pread() open and read the input files
 * (the line and CSV readers, line numbers) and word their errors the one
 * way: `cannot open 'x': ...`, `cannot read 'x': ...`. Blocking
 * descriptors only: a non-blocking one may stop short (EAGAIN), which is
 * an error here. No state; any thread.
 */
#ifndef SL_IO_H
#define SL_IO_H

#include <stddef.h>
#include <stdint.h>

struct sl_buf;

/*
 * Writes the n bytes at p to fd, writing on after a short write and
 * retrying a write interrupted by a signal (EINTR). Returns SL_OK, or
 * SL_EIO with errno set by the write that failed (the bytes before it
 * stay written): the caller words the message, strerror(errno).
 */
int sl_write_all(int fd, const void *p, size_t n);

/*
 * The error code for errno e of a failed open(2), opendir(3) or stat(2):
 * SL_ENOTFOUND when the path does not exist (ENOENT, or ENOTDIR for a
 * file used as a directory), else SL_EIO.
 */
int sl_errno_code(int e);

/*
 * Opens path read-only (close-on-exec) into *fd. SL_OK, or an
 * sl_errno_code() with "cannot open 'path': reason" appended to err when
 * err is not NULL; *fd is then unchanged.
 */
int sl_open_read(const char *path, int *fd, struct sl_buf *err);

/*
 * Reads up to n bytes at file offset off into p with one pread(2),
 * retried when a signal interrupts it (EINTR); *got is the bytes read, 0
 * at the end of the file. SL_OK, or SL_EIO with "cannot read 'path':
 * reason" appended to err when err is not NULL (path names the file in
 * that message only).
 */
int sl_pread(int fd, const char *path, void *p, size_t n, uint64_t off,
	     size_t *got, struct sl_buf *err);

/*
 * The file open as fd ended before byte `end`, the end of the split that
 * the job planned from its size: it was truncated or replaced while the
 * job ran, and reading on would give a silent partial result. Appends
 * "'path' is now N bytes, short of byte END where its split ends: the
 * file changed while the job ran" to err (when not NULL); returns SL_EIO.
 */
int sl_file_short(const char *path, int fd, uint64_t end,
		  struct sl_buf *err);

/*
 * Writes the len bytes at data as dir/name (mode 0644) durably: under a
 * temporary name of its own (dir/.name.XXXXXX), fsync'ed, renamed into
 * place, and dir fsync'ed, so that after a crash the file is either the
 * old one or the whole new one. SL_OK, or SL_EIO with "cannot write
 * 'dir/name': reason" appended to err.
 */
int sl_write_file(const char *dir, const char *name, const void *data,
		  size_t len, struct sl_buf *err);

/*
 * The end of a durable write of dir/name through a temporary file tmp
 * (in dir) open as fd: fd fsync'ed and closed, tmp renamed to dir/name,
 * dir fsync'ed. fd is closed either way. SL_OK, or SL_EIO with "cannot
 * write 'dir/name': reason" appended to err, tmp removed.
 */
int sl_file_commit(int fd, const char *tmp, const char *dir,
		   const char *name, struct sl_buf *err);

/*
 * The whole file at path into out (reset first). SL_OK; SL_ENOTFOUND when
 * it does not exist (err untouched); SL_EIO with the reason in err.
 */
int sl_read_file(const char *path, struct sl_buf *out, struct sl_buf *err);

#endif
