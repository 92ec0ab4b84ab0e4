/*
 * io.h - writing to file descriptors.
 *
 * sl_write_all() is the one loop that writes a whole buffer, for the
 * callers that write files (spill runs, a map's merged output, part
 * files). Blocking descriptors only: a non-blocking one may stop short
 * (EAGAIN), which is an error here. No state; any thread.
 */
#ifndef SL_IO_H
#define SL_IO_H

#include <stddef.h>

/*
 * Writes the n bytes at p to fd, writing on after a short write and
 * retrying a write interrupted by a signal (EINTR). Returns SL_OK, or
 * SL_EIO with errno set by the write that failed (the bytes before it
 * stay written): the caller words the message, strerror(errno).
 */
int sl_write_all(int fd, const void *p, size_t n);

#endif
