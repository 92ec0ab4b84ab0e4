/*
 * buf.h - growable byte buffer, in the manner of git's strbuf.
 *
 * Invariants: `buf` is never NULL (an empty buffer points at a shared empty
 * string), `len < alloc` whenever alloc > 0 and buf[len] == '\0', so the
 * contents can be read as a C string when they hold no NUL.
 * Ownership: the struct's owner owns `buf`; sl_buf_release() frees it and
 * leaves an empty buffer; sl_buf_detach() hands it to the caller.
 * Every function that grows the buffer returns SL_OK or SL_ENOMEM, and on
 * SL_ENOMEM leaves the old contents untouched.
 *
 * Also here: sl_array_grow(), the growth of any array kept as a pointer, a
 * count in use and a count allocated.
 */
#ifndef SL_BUF_H
#define SL_BUF_H

#include <stddef.h>
#include <stdarg.h>

extern char sl__buf_empty[1];

typedef struct sl_buf {
	size_t alloc; /* bytes allocated at buf, 0 while buf is sl__buf_empty */
	size_t len;   /* bytes in use */
	char *buf;    /* the bytes, NUL after the last */
} sl_buf;

#define SL_BUF_INIT { 0, 0, sl__buf_empty }

void sl_buf_init(sl_buf *b);
void sl_buf_release(sl_buf *b);
/* Make room for `extra` more bytes (plus the NUL). */
int sl_buf_grow(sl_buf *b, size_t extra);
int sl_buf_add(sl_buf *b, const void *data, size_t len);
int sl_buf_addstr(sl_buf *b, const char *s);
int sl_buf_addch(sl_buf *b, int c);
int sl_buf_addf(sl_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int sl_buf_vaddf(sl_buf *b, const char *fmt, va_list ap);
/* len = 0, keeps the allocation. */
void sl_buf_reset(sl_buf *b);
/* Shrink to `len` bytes (len <= b->len). */
void sl_buf_setlen(sl_buf *b, size_t len);
/* Returns the heap buffer (NUL-terminated, caller frees) and empties b. */
char *sl_buf_detach(sl_buf *b, size_t *len);

/*
 * Grows the array *arrp of elements of `size` bytes (size > 0), of which
 * *alloc are allocated, to hold at least `need` elements; arrp is the
 * address of the array pointer (a T **), NULL while *alloc is 0. *alloc
 * doubles, from 4, until it holds `need`; where doubling would overflow
 * it becomes `need`. Nothing is done when need <= *alloc, so a caller may
 * call it before every append: sl_array_grow(&v, &alloc, n + 1, sizeof(*v)).
 * SL_OK: *arrp and *alloc updated, elements past the old *alloc not
 * initialized. SL_ENOMEM (need * size overflows a size_t, or realloc
 * fails): *arrp and *alloc unchanged. The caller owns the array and
 * frees it with free().
 */
int sl_array_grow(void *arrp, size_t *alloc, size_t need, size_t size);

/* The number of "\n" bytes in the len bytes at p. */
uint64_t sl_count_newlines(const void *p, size_t len);

#endif
