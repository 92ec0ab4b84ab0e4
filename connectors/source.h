/*
 * source.h - where a stream's events come from: one interface, one file
 * a system (connectors/file.c, rate.c, tcp.c), the table in source.c.
 *
 * A source is replayable: it names what a batch takes by offsets, a text
 * the stream logs durably before the batch runs (CK/offsets/N), and it
 * can give the batch's input again from those offsets alone, as the
 * same bytes, after any crash. plan() says what comes after the last
 * batch's offsets; inputs() gives the input of a batch's offsets as
 * byte ranges of files (made if need be), each range's ends where lines
 * start; done() lets go of what inputs() made, once the batch is
 * committed.
 *
 * Not thread-safe: the stream's driver uses a source. Adding a source: a
 * file with its sl_source_ops, one line in source.c's table.
 */
#ifndef SL_SOURCE_H
#define SL_SOURCE_H

#include "sl_impl.h"
#include "common/input.h" /* sl_split_list */

typedef struct sl_source sl_source;

typedef struct sl_source_ops {
	const char *scheme;      /* the URI's "scheme:" */
	const char *syntax;      /* its form, for messages */
	bool path;               /* where is a file's path (made absolute
				    for a coordinator elsewhere) */
	/* where: the URI after "scheme:"; ck: the checkpoint directory */
	int (*open)(sl_source **out, const char *where, const char *ck,
		    sl_buf *err);
	/* the offsets after last ("" for the first batch) into next, left
	 * empty when nothing is new; max_records caps a batch (0: none).
	 * SL_EIO: the source cannot be reached now (a stream that runs on
	 * waits for it); another error ends the stream (SL_EINVAL: the
	 * source is no longer what the offsets say) */
	int (*plan)(sl_source *s, const char *last, uint64_t max_records,
		    sl_buf *next, sl_buf *err);
	/* the input of batch n of these offsets, into splits (appended):
	 * files and their byte ranges, to be read as a batch job's splits */
	int (*inputs)(sl_source *s, uint64_t n, const char *offsets,
		      sl_split_list *splits, sl_buf *err);
	void (*done)(sl_source *s, uint64_t n);
	/* optional: when the events of these offsets arrived (ms since the
	 * epoch), the oldest and the newest, for the stream's latency */
	int (*arrivals)(sl_source *s, const char *offsets, int64_t *oldest,
			int64_t *newest);
	/* optional: the records available after these offsets now, not
	 * taken yet (how far the stream is behind) */
	int (*lag)(sl_source *s, const char *offsets, uint64_t *records);
	void (*close)(sl_source *s);
} sl_source_ops;

struct sl_source {
	const sl_source_ops *ops;
};

/*
 * Opens the source of uri ("file:DIR", "rate:N[,keys=K]",
 * "tcp://HOST:PORT"). SL_OK and
 * *out; SL_EUSAGE for an unknown scheme or a bad URI, SL_EIO, with the
 * reason in err.
 */
int sl_source_open(sl_source **out, const char *uri, const char *ck,
		   sl_buf *err);
int sl_source_plan(sl_source *s, const char *last, uint64_t max_records,
		   sl_buf *next, sl_buf *err);
int sl_source_inputs(sl_source *s, uint64_t n, const char *offsets,
		     sl_split_list *splits, sl_buf *err);
void sl_source_done(sl_source *s, uint64_t n);
/* SL_OK and the arrival times of the offsets' events, or SL_ENOTFOUND
 * when the source cannot tell (file:). */
int sl_source_arrivals(sl_source *s, const char *offsets, int64_t *oldest,
		       int64_t *newest);
/* SL_OK and the records that are there after offsets and not taken, or
 * SL_ENOTFOUND when the source cannot tell. */
int sl_source_lag(sl_source *s, const char *offsets, uint64_t *records);

/* NULL-safe. */
void sl_source_close(sl_source *s);

/* uri with its path absolute (from the current directory) when its
 * source takes a path, into out (appended); as it is otherwise. */
void sl_source_absolute(const char *uri, sl_buf *out);

/* The same for any table of connectors: "scheme:where" with where made
 * absolute when path_scheme says the scheme takes a path. */
void sl_uri_absolute(const char *uri, bool (*path_scheme)(const char *uri),
		     sl_buf *out);

extern const sl_source_ops sl_source_file, sl_source_rate, sl_source_tcp;

#endif
