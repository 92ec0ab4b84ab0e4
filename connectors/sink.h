/*
 * sink.h - where a stream's batches go: one interface, one file a system
 * (connectors/file.c, connectors/sqlite.c, connectors/console.c), the
 * table of them in sink.c.
 *
 * A batch's job writes its part files into the directory the sink names
 * (sl_sink_batch_dir); once the job has succeeded, sl_sink_commit makes
 * them the sink's, exactly once for a batch number whatever replays
 * happen: a commit of a batch the sink already holds (a crash after the
 * sink's commit, before the stream's commit log) changes nothing. In
 * complete mode a batch's rows replace what the sink shows; in update
 * mode each replaces the row of its key; in append mode they are added.
 *
 * Not thread-safe: the stream's driver uses a sink. Adding a sink: a file
 * with its sl_sink_ops, one line in sink.c's table.
 */
#ifndef SL_SINK_H
#define SL_SINK_H

#include "sl_impl.h"

typedef struct sl_sink sl_sink;

/* What sl_sink_commit is told of a batch. */
typedef struct sl_sink_batch {
	uint64_t n;              /* the batch, from 1 */
	uint32_t partitions;     /* its part files: part-00000.. */
	sl_output_format output; /* what their lines are (sl_job.output) */
	bool complete;           /* complete mode: the rows replace the sink's */
	bool update;             /* update mode: each row replaces the
				    sink's row of its key */
	uint32_t key_columns;    /* CSV rows: how many leading columns are
				    a row's key (the job's check said so:
				    sl_set_key_columns), 0 for none; a
				    "key<TAB>value" line's key is its key */
} sl_sink_batch;

typedef struct sl_sink_ops {
	const char *scheme;      /* the URI's "scheme:" */
	const char *syntax;      /* its form, for messages */
	bool path;               /* where is a file's path (made absolute
				    for a coordinator elsewhere) */
	/* where: the URI after "scheme:"; ck: the stream's checkpoint
	 * directory (its identity, and room for staging) */
	int (*open)(sl_sink **out, const char *where, const char *ck,
		    sl_buf *err);
	void (*batch_dir)(const sl_sink *s, uint64_t n, sl_buf *dir);
	int (*commit)(sl_sink *s, const sl_sink_batch *b, sl_buf *err);
	void (*close)(sl_sink *s);
} sl_sink_ops;

/* What every sink starts with. */
struct sl_sink {
	const sl_sink_ops *ops;
};

/*
 * Opens the sink of uri ("file:DIR", "sqlite:PATH?table=T", "console"; a
 * scheme alone is "scheme:"). SL_OK and *out; SL_EUSAGE for an unknown
 * scheme or a bad URI, SL_EIO when it cannot be opened, with the reason
 * in err.
 */
int sl_sink_open(sl_sink **out, const char *uri, const char *ck,
		 sl_buf *err);

/* The directory batch n's job writes its part files into (appended). */
void sl_sink_batch_dir(const sl_sink *s, uint64_t n, sl_buf *dir);

/* Batch b's part files are complete: the sink's, once. SL_OK or an
 * error with the reason in err (the stream stops; a restart retries). */
int sl_sink_commit(sl_sink *s, const sl_sink_batch *b, sl_buf *err);

/* NULL-safe. */
void sl_sink_close(sl_sink *s);

/* uri with its path absolute when its sink takes a path (out appended). */
void sl_sink_absolute(const char *uri, sl_buf *out);

extern const sl_sink_ops sl_sink_file, sl_sink_sqlite, sl_sink_console;

#endif
