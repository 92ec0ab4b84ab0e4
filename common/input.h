/*
 * input.h - input files, their splits into map tasks, and the line reader.
 *
 *   sl_input_expand()   INPUT arguments of `sluice run` -> sorted list of
 *                       regular files (files, directories, glob patterns)
 *   sl_input_plan()     files (or byte ranges of them) -> splits of at
 *                       most split_size bytes; the index of a split is
 *                       the index of its map task
 *   sl_line_reader_*    the lines of one split, read in large blocks
 *   sl_line_number()    line number of a byte offset, for error messages
 *   sl_parse_size()     "64M" -> 67108864
 *
 * The split rule (docs/input.md): a line belongs to the split that holds
 * its first byte. So the splits of a file, read each by its own reader,
 * give every line of the file exactly once, whatever the split size.
 *
 * Errors: every function returns SL_OK (or a count) or a negative SL_E*
 * code, and appends a one-line message to `err` when err is not NULL, in
 * the form `cannot open 'x': No such file or directory`.
 *
 * Threads: none inside; a reader belongs to the thread that opened it.
 */
#ifndef SL_INPUT_H
#define SL_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

struct sl_buf;

/* A list of strings; the list owns the strings and the array. */
typedef struct sl_strlist {
	char **v;     /* the strings, v[0..n) */
	size_t n;     /* strings in the list */
	size_t alloc; /* slots allocated at v */
} sl_strlist;

#define SL_STRLIST_INIT { NULL, 0, 0 }

/* Append a copy of s. SL_OK or SL_ENOMEM (the list unchanged). */
int sl_strlist_add(sl_strlist *l, const char *s);
/* Free the strings and the array; leaves an empty list. */
void sl_strlist_release(sl_strlist *l);

/*
 * Expand the INPUT arguments into a sorted (strcmp) list of regular files
 * without duplicates, appended to `files`, which must be empty. An
 * argument is:
 *   - a regular file (or a symlink to one), taken as given, even when its
 *     name starts with '.' or '_';
 *   - a directory: the regular files directly inside it, not recursing,
 *     skipping names that start with '.' or '_' (Hadoop's rule, so the
 *     _SUCCESS of a former output directory is not read) and entries that
 *     are not regular files (subdirectories, fifos, sockets, devices);
 *   - when no file of that name exists and it holds one of * ? [ : a
 *     glob(3) pattern; each match is then taken as an argument, except
 *     names starting with '.' or '_' unless the last component of the
 *     pattern starts with that same character.
 * Each file is checked to be readable with open(2).
 * Duplicates are by spelling: "a" and "./a" are two entries.
 *
 * Errors (files is left empty):
 *   SL_ENOTFOUND  cannot open 'x': No such file or directory
 *                 no input files in 'dir'
 *                 no input files match 'pattern'
 *   SL_EIO        cannot read 'x': Permission denied (and other errors)
 *   SL_EINVAL     'x' is not a regular file; no input given (nargs == 0)
 *   SL_ENOMEM
 */
int sl_input_expand(char *const *args, size_t nargs, sl_strlist *files,
		    struct sl_buf *err);

/* One map task's input: bytes [start, end) of a file. */
typedef struct sl_split {
	char *path;     /* the file; owned by the split list */
	uint64_t start; /* first byte, in bytes from the start of the file */
	uint64_t end;   /* one past the last byte */
} sl_split;

typedef struct sl_split_list {
	sl_split *v;  /* the splits, v[0..n) */
	size_t n;     /* number of splits */
	size_t alloc; /* slots allocated at v */
} sl_split_list;

#define SL_SPLIT_LIST_INIT { NULL, 0, 0 }

/* Append the split [start, end) of a copy of path. SL_OK or SL_ENOMEM
 * (the list unchanged). */
int sl_split_list_add(sl_split_list *l, const char *path, uint64_t start,
		      uint64_t end);

/* Bytes [start, end) of an input file: the part of a file that a
 * stream's batch takes (a SUBMIT's ranges). */
typedef struct sl_range {
	uint64_t start; /* first byte */
	uint64_t end;   /* one past the last byte */
} sl_range;

/*
 * Cut each file into splits of split_size bytes (the last one of a file
 * shorter); an empty file gives no split. With ranges (NULL: whole
 * files), file i is only its bytes [ranges[i].start, ranges[i].end),
 * cut the same way from ranges[i].start: the range's ends must be where
 * lines start (the line and CSV readers give a record to the split that
 * holds its first byte, so a range whose start follows a '\n' and whose
 * end follows one holds exactly its lines). Splits are in file order,
 * then by offset: the index of a split is the index of its map task.
 * Sizes are taken with stat(2) now. `out` must be empty.
 * Errors (out is left empty): SL_EINVAL (split_size 0; a range whose
 * start is after its end), SL_ENOTFOUND or SL_EIO (stat failed: cannot
 * open 'x': ...; a file shorter than its range's end: it changed),
 * SL_ENOMEM.
 */
int sl_input_plan(const sl_strlist *files, const sl_range *ranges,
		  uint64_t split_size, sl_split_list *out,
		  struct sl_buf *err);
/* Free the paths and the array; leaves an empty list. */
void sl_split_list_release(sl_split_list *l);

/*
 * Line reader over one split.
 *
 * Lines end at '\n'. A line is returned without its "\n" and without a
 * "\r" just before it; a last line without "\n" is returned as it is (a
 * "\r" at the very end of the file stays); there is no empty line after a
 * final "\n". NUL and non-UTF-8 bytes are ordinary bytes.
 *
 * A line belongs to the split in which its first byte lies: when
 * start > 0 the reader first skips through the first '\n' at or after
 * byte start-1, then returns the lines that start before `end`, reading
 * past `end` to finish the last one.
 *
 * A line is too long when what would be returned is more than max_line
 * bytes. The reader reads in blocks of SL_LINE_READER_BUF bytes into a
 * buffer of one block (less for a split much smaller than a block); the
 * buffer grows only for a line longer than that, up to max_line + 2
 * bytes, and keeps that size until closed.
 */
typedef struct sl_line_reader sl_line_reader;

/* Bytes of one read: big enough that a read costs little per byte, small
 * enough that a block streaming through the cache does not push the map
 * task's combine table out of a 1-2 MiB L2 (word count: a little faster
 * than 4 MiB blocks, docs/performance.md). */
#define SL_LINE_READER_BUF ((size_t)256 << 10)

/* Bytes after the end of a line or run returned that may be read (their
 * values are unspecified), so that a key inside one can be read in whole
 * 8-byte words (sl_combine_readable). */
#define SL_LINE_READER_PAD 16

/*
 * Open `path` for the split [start, end), max_line >= 1, start <= end.
 * Reads the partial first line when start > 0.
 * On success *r is the reader, which the caller closes. On error *r is
 * NULL: SL_EINVAL (arguments), SL_ENOTFOUND or SL_EIO (cannot open 'x':
 * ...; cannot read 'x': ...), SL_ENOMEM.
 */
int sl_line_reader_open(sl_line_reader **r, const char *path,
			uint64_t start, uint64_t end, size_t max_line,
			struct sl_buf *err);

/*
 * sl_line_reader_open() with reads of buf_size bytes (>= 1) instead of
 * SL_LINE_READER_BUF: for tests, to cut lines at every buffer boundary.
 */
int sl__line_reader_open_buf(sl_line_reader **r, const char *path,
			     uint64_t start, uint64_t end, size_t max_line,
			     size_t buf_size, struct sl_buf *err);

/*
 * The next line. Returns:
 *   1             *line is the line (valid until the next call on r), and
 *                 *offset the byte offset of its first byte in the file;
 *   0             the split has no more lines;
 *   SL_ETOOBIG    a line longer than max_line starts at *offset (*line is
 *                 empty); the reader has skipped it, and the caller may go
 *                 on reading (--bad-records=skip) or stop;
 *   SL_EIO        cannot read 'x': ..., or SL_ENOMEM (no message) when
 *                 the buffer cannot grow for a long line: the reader can
 *                 only be closed.
 */
int sl_line_reader_next(sl_line_reader *r, sl_slice *line, uint64_t *offset,
			struct sl_buf *err);

/*
 * The next run of whole lines, for a job that takes many lines at once
 * (SL_INPUT_BLOCKS): *lines holds one or more of the lines that
 * sl_line_reader_next() would return next, in order, each with its
 * terminator as in the file ("\n" or "\r\n"; the last line of the file
 * may have none), as many as the buffer holds; *offset is the first
 * one's. Returns 1, 0, SL_ETOOBIG, SL_EIO or SL_ENOMEM as
 * sl_line_reader_next() does: a line longer than max_line is never part
 * of a run, but returned alone as SL_ETOOBIG (and skipped). The two
 * functions may be mixed on one reader.
 */
int sl_line_reader_lines(sl_line_reader *r, sl_slice *lines,
			 uint64_t *offset, struct sl_buf *err);

/*
 * Bytes of the lines returned or skipped so far, terminators included.
 * Over all the splits of a file these add up to the file's size.
 */
uint64_t sl_line_reader_bytes(const sl_line_reader *r);

/* Close the file and free the reader; NULL is a no-op. */
void sl_line_reader_close(sl_line_reader *r);

/*
 * *line = 1 + the number of '\n' in bytes [0, offset) of `path`: the
 * 1-based line number of the line holding byte `offset`. Reads the file
 * from the start, so it is for error reports only.
 * Errors: SL_ENOTFOUND or SL_EIO (cannot open/read 'x': ...), SL_EINVAL
 * (byte N is beyond the end of 'x'), SL_ENOMEM.
 */
int sl_line_number(const char *path, uint64_t offset, uint64_t *line,
		   struct sl_buf *err);

/*
 * Parse a size: decimal digits, then optionally K, M, G or T (powers of
 * 1024, either case), then optionally "B" or, after a unit, "iB":
 * "4096", "4096B", "64M", "64MB", "64MiB", "1g".
 * SL_EINVAL for anything else, for zero, and when it overflows 64 bits.
 */
int sl_parse_size(const char *s, uint64_t *out);

#endif
