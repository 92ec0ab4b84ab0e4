/*
 * csv.h - RFC 4180 reader of one split [start, end) of one CSV file.
 *
 * Records end at LF or CRLF outside quotes. A quoted field may hold commas,
 * CR, LF and doubled quotes (""). NUL and non-UTF-8 bytes are data. The
 * last record may lack its line end. Blank lines (nothing, or only a CR,
 * before the LF) are skipped entirely, as sqlite's .import does, so they
 * are never a record of one empty field; `""` on a line is such a record.
 *
 * The header is the file's first non-blank record; a UTF-8 byte order
 * mark (EF BB BF, which spreadsheets write) at the start of the file is
 * dropped from it. It is read at open whatever the split and never
 * returned by sl_csv_next().
 *
 * Record boundaries: an LF ends a record when the count of '"' bytes in
 * the file before it is even. For valid RFC 4180 that is exactly "outside
 * quotes"; for malformed input it is still a function of the file alone, so
 * every split agrees on where records are. Consequence: a stray quote
 * (`a"b`) runs its record on until the next stray quote, and the whole span
 * is one bad record (its error names the field with the stray quote).
 *
 * Splits: a record belongs to the split in which its first byte lies. A
 * reader with start > 0 counts the quotes in [0, start - 1) to learn the
 * quote state there: the cost is one sequential read of the bytes before
 * the split (at page-cache or disk speed), so the S splits of a file
 * cost about S/2 extra reads of the file in all. A record that
 * starts before `end` is read whole, past `end` if need be. Reading the
 * splits of any cutting of a file returns every record exactly once.
 *
 * Memory: one buffer of 1 MiB that grows, for a longer record, up to
 * max_record + 2 bytes; the field array and a scratch buffer for fields
 * with doubled quotes grow with the widest record and are reused. No
 * allocation per record. A reader is used by one thread at a time.
 */
#ifndef SL_CSV_H
#define SL_CSV_H

#include <stdint.h>

#include "sluice.h"

struct sl_buf;

typedef struct sl_csv_reader sl_csv_reader;

/*
 * Opens `path` to read the records that start in [start, end), at most
 * max_record bytes each (without the line end), and reads the header.
 * Returns SL_OK and *r (free with sl_csv_close), or, with a message
 * appended to err and *r unchanged: SL_ENOTFOUND (no such file), SL_EIO,
 * SL_ENOMEM, SL_EINVAL (start > end), SL_EBADRECORD (malformed header),
 * SL_ETOOBIG (header longer than max_record). An empty file (or one of
 * blank lines only) has a header of no fields and no records.
 */
int sl_csv_open(sl_csv_reader **r, const char *path, uint64_t start,
		uint64_t end, size_t max_record, struct sl_buf *err);

/*
 * The next record of the split. Returns:
 *  1  a record: *fields / *nfields its unquoted fields (at least one),
 *     *raw its bytes in the file without the line end, *offset the file
 *     offset of its first byte. All valid until the next call.
 *  0  the end of the split (and every later call returns 0).
 *  SL_EBADRECORD  a malformed record at *offset, *raw its bytes, *nfields
 *     0, the reason ("field 2: quote in an unquoted field") appended to
 *     err. A quote still open at the end of the file is such a record and
 *     also the end of the split.
 *  SL_ETOOBIG  a record longer than max_record at *offset, *raw empty,
 *     reason appended to err.
 *  After SL_EBADRECORD and SL_ETOOBIG the reader has moved past the
 *  record, so a caller that skips bad records calls next again.
 *  SL_EIO / SL_ENOMEM  with a message appended to err; the reader is then
 *  only good for sl_csv_close.
 */
int sl_csv_next(sl_csv_reader *r, const sl_slice **fields, size_t *nfields,
		sl_slice *raw, uint64_t *offset, struct sl_buf *err);

/*
 * The header, read at open: valid until sl_csv_close. Returns SL_OK. Named
 * sl_csv_reader_header because sluice.h's sl_csv_header() is the job-side
 * call that returns it from a task context.
 */
int sl_csv_reader_header(sl_csv_reader *r, const sl_slice **fields,
			 size_t *nfields);

/*
 * The header record's bytes as in the file, without a BOM and the line
 * end (empty for an empty file): valid until sl_csv_close. For a copy of
 * some of the file's rows under its header (late events).
 */
void sl_csv_reader_header_raw(sl_csv_reader *r, sl_slice *raw);

/*
 * Bytes of the file consumed by the split so far: from its first record
 * to the end of the last one read. Once every split of a file has been
 * read to its end (0), these add up to the file's size.
 */
uint64_t sl_csv_bytes_read(sl_csv_reader *r);

/* Closes the file and frees the reader; NULL is a no-op. */
void sl_csv_close(sl_csv_reader *r);

#endif
