/*
 * jsonl.h - JSON-lines reader of one split [start, end) of one file: the
 * second table format of SL_INPUT_CSV jobs (docs/input.md, "JSON lines").
 *
 *   sl_jsonl_detect()   whether a file is JSON lines: its first byte that
 *                       is not blank (after a UTF-8 byte order mark) is '{'
 *   sl_jsonl_open()     a reader over the lines of a split
 *   sl_jsonl_columns()  the member names the job reads: the "header"
 *   sl_jsonl_next()     the next object's values of those members
 *
 * A record is a line (common/input.h: the split rule, CRLF, the longest
 * line); a line of blanks only (space, tab, CR) is skipped, as CSV's blank
 * lines are. Every other line must be one JSON object (RFC 8259, parsed
 * by jansson, members unique). A column's field is its member's value:
 *   a string       its text, unescaped (UTF-8; \u0000 gives a NUL byte)
 *   a number       its text as written in the line ("12.10", "-3",
 *                  "1e5"): jansson turns numbers into doubles, so the
 *                  text is taken from the line, never from a double
 *   null, absent   empty, as CSV's empty field (NULL)
 * A line that is not JSON, not an object, holds a member twice, or where
 * a column's member is true, false, an array or an object, is a bad
 * record; members the job does not read may hold anything.
 *
 * Memory: the line reader's buffer (input.h), the parsed object of the
 * last line (jansson's, freed at the next line), and arrays of one slot a
 * column and a member, reused. Fields point into the line or into the
 * object, valid until the next call. A reader is used by one thread.
 */
#ifndef SL_JSONL_H
#define SL_JSONL_H

#include <stdbool.h>
#include <stdint.h>

#include "sluice.h"

struct sl_buf;

typedef struct sl_jsonl_reader sl_jsonl_reader;

/*
 * *is_json = whether the file at path is JSON lines: the first byte that
 * is not a space, tab, CR or LF, after a UTF-8 byte order mark at the
 * start, is '{'. An empty or blank file is not. Reads up to that byte.
 * SL_OK; SL_ENOTFOUND or SL_EIO (cannot open/read 'x': ...) in err.
 */
int sl_jsonl_detect(const char *path, bool *is_json, struct sl_buf *err);

/*
 * Opens path for the lines that start in [start, end), at most max_record
 * bytes each. SL_OK and *r (free with sl_jsonl_close); or, with *r NULL
 * and the message in err, the errors of sl_line_reader_open().
 */
int sl_jsonl_open(sl_jsonl_reader **r, const char *path, uint64_t start,
		  uint64_t end, size_t max_record, struct sl_buf *err);

/*
 * The members to read, by name (copied; a name may repeat): field i of
 * each record is the value of names[i]. Replaces earlier columns.
 * SL_OK or SL_ENOMEM (the columns unchanged).
 */
int sl_jsonl_columns(sl_jsonl_reader *r, const char *const *names,
		     size_t n);

/* The column names as slices (valid until the next sl_jsonl_columns or
 * the close), *n 0 until columns are set. */
void sl_jsonl_header(const sl_jsonl_reader *r, const sl_slice **fields,
		     size_t *n);

/*
 * The next object of the split. Returns:
 *  1  *fields / *nfields its columns' values (as many as the columns),
 *     *raw the line, *offset the file offset of its first byte;
 *  0  the end of the split;
 *  SL_EBADRECORD  a bad line at *offset (*raw the line), the reason in
 *     err: "not JSON: ...", "not a JSON object (an array)", "member 'x':
 *     an array is not a value (a string, a number or null)";
 *  SL_ETOOBIG  a line longer than max_record at *offset (skipped);
 *  After these two the caller may go on reading.
 *  SL_EUSAGE  no columns set (err says so); SL_EIO, SL_ENOMEM: the reader
 *     is then only good for sl_jsonl_close.
 */
int sl_jsonl_next(sl_jsonl_reader *r, const sl_slice **fields,
		  size_t *nfields, sl_slice *raw, uint64_t *offset,
		  struct sl_buf *err);

/* Bytes of the lines returned or skipped so far (sl_line_reader_bytes). */
uint64_t sl_jsonl_bytes_read(const sl_jsonl_reader *r);

/* Closes the file and frees the reader; NULL is a no-op. */
void sl_jsonl_close(sl_jsonl_reader *r);

#endif
