/*
 * io.c - reading and writing file descriptors; see io.h.
 */
#include "sl_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
sl_write_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return SL_EIO;
		b += w;
		n -= (size_t)w;
	}
	return SL_OK;
}

int
sl_errno_code(int e)
{
	return e == ENOENT || e == ENOTDIR ? SL_ENOTFOUND : SL_EIO;
}

int
sl_open_read(const char *path, int *fd, sl_buf *err)
{
	int f = open(path, O_RDONLY | O_CLOEXEC), e;

	if (f < 0) {
		e = errno;
		if (err)
			(void)sl_buf_addf(err, "cannot open '%s': %s", path,
					  strerror(e));
		return sl_errno_code(e);
	}
	*fd = f;
	return SL_OK;
}

int
sl_pread(int fd, const char *path, void *p, size_t n, uint64_t off,
	 size_t *got, sl_buf *err)
{
	ssize_t r;

	do
		r = pread(fd, p, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (err)
			(void)sl_buf_addf(err, "cannot read '%s': %s", path,
					  strerror(errno));
		return SL_EIO;
	}
	*got = (size_t)r;
	return SL_OK;
}

int
sl_file_short(const char *path, int fd, uint64_t end, sl_buf *err)
{
	struct stat st;

	if (err && fstat(fd, &st) == 0)
		sl_buf_addf(err, "'%s' is now %llu bytes, short of byte %llu "
			    "where its split ends: the file changed while the "
			    "job ran", path, (unsigned long long)st.st_size,
			    (unsigned long long)end);
	else if (err)
		sl_buf_addf(err, "'%s' ends before byte %llu where its split "
			    "ends: the file changed while the job ran", path,
			    (unsigned long long)end);
	return SL_EIO;
}

int
sl_file_commit(int fd, const char *tmp, const char *dir, const char *name,
	       sl_buf *err)
{
	sl_buf path = SL_BUF_INIT;
	int dfd, rv = SL_OK;

	sl_buf_addf(&path, "%s/%s", dir, name);
	if (fsync(fd) != 0)
		rv = SL_EIO;
	if (close(fd) != 0)
		rv = SL_EIO;
	if (rv == SL_OK && rename(tmp, path.buf) != 0)
		rv = SL_EIO;
	if (rv == SL_OK && (dfd = open(dir, O_RDONLY | O_DIRECTORY |
				       O_CLOEXEC)) >= 0) {
		if (fsync(dfd) != 0)
			rv = SL_EIO;
		close(dfd);
	}
	if (rv != SL_OK) {
		sl_buf_addf(err, "cannot write '%s': %s", path.buf,
			    strerror(errno));
		unlink(tmp);
	}
	sl_buf_release(&path);
	return rv;
}

int
sl_write_file(const char *dir, const char *name, const void *data,
	      size_t len, sl_buf *err)
{
	sl_buf tmp = SL_BUF_INIT;
	int fd, rv = SL_OK;

	/* a name of its own: two writers of one file (two attempts of a
	 * task) do not share a temporary */
	sl_buf_addf(&tmp, "%s/.%s.XXXXXX", dir, name);
	fd = mkstemp(tmp.buf);
	if (fd < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
	    fchmod(fd, 0644) != 0 || sl_write_all(fd, data, len) != SL_OK) {
		sl_buf_addf(err, "cannot write '%s/%s': %s", dir, name,
			    strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp.buf);
		}
		rv = SL_EIO;
	} else {
		rv = sl_file_commit(fd, tmp.buf, dir, name, err);
	}
	sl_buf_release(&tmp);
	return rv;
}

int
sl_read_file(const char *path, sl_buf *out, sl_buf *err)
{
	char chunk[8192];
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	sl_buf_reset(out);
	if (fd < 0) {
		if (errno == ENOENT)
			return SL_ENOTFOUND;
		sl_buf_addf(err, "cannot open '%s': %s", path, strerror(errno));
		return SL_EIO;
	}
	while ((got = read(fd, chunk, sizeof(chunk))) > 0)
		sl_buf_add(out, chunk, (size_t)got);
	close(fd);
	if (got < 0) {
		sl_buf_addf(err, "cannot read '%s': %s", path, strerror(errno));
		return SL_EIO;
	}
	return SL_OK;
}
