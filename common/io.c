/*
 * io.c - writing to file descriptors; see io.h.
 */
#include "sl_impl.h"

#include <errno.h>
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
