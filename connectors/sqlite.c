/*
 * sqlite.c - the SQLite sink of a stream, "sqlite:PATH?table=T": each
 * batch's rows go into table T of the database file PATH, and a row of
 * _sluice_batches (stream, batch) marks the batch as the sink's, in the
 * same transaction; a batch whose mark is there is not written again, so
 * that a replayed batch changes nothing (exactly once). Complete mode
 * replaces T's rows with the batch's; append mode adds them; update mode
 * upserts each row on its key: the key column of "key<TAB>value" rows,
 * the leading key columns of CSV rows (sl_sink_batch.key_columns, from
 * the job's check: aggregate's --key columns, a window's and its
 * window_start and window_end), with a unique index on them,
 * _sluice_key_T, made when missing (on an existing table too: it fails,
 * and so does the batch, when rows of one key are there already).
 *
 * The batch's part files are staged in CK/sink/batch-N by its job and
 * read here: CSV with a header row (aggregate, window: the header names
 * T's columns; a late sink's parts: the input's header) or
 * "key<TAB>value" lines (columns key and value). An empty CSV part has
 * no rows (a late sink's part of no late event of a JSON-lines input);
 * one of JSON lines (its late events) is refused: no columns for it. T is
 * made on the first commit, every column without a type: values are
 * stored as the text the job wrote, so exact decimals stay exact (cast
 * in queries: CAST(sum_amount AS REAL)). The stream's identity in
 * _sluice_batches is its checkpoint directory's real path, so streams may
 * share a database, each with its table.
 */
#include "sink.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/csv.h"
#include "common/io.h"
#include "common/jsonl.h"
#include "common/procdir.h"

#define SQLITE_SINK_MAX_COLS 1000

typedef struct sqlite_sink {
	sl_sink base;
	sqlite3 *db;
	char *path;     /* the database file, for messages */
	char *table;    /* T, checked to be a plain name */
	char *stream;   /* the checkpoint's real path */
	char *stage;    /* CK/sink: batch-N directories */
} sqlite_sink;

static int
sq_fail(sqlite_sink *q, sl_buf *err, const char *what)
{
	sl_buf_addf(err, "sink '%s': cannot %s: %s", q->path, what,
		    sqlite3_errmsg(q->db));
	return SL_EIO;
}

static int
sq_exec(sqlite_sink *q, const char *sql, const char *what, sl_buf *err)
{
	if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(q, err, what);
	return SL_OK;
}

static void
sq_close(sl_sink *s)
{
	sqlite_sink *q = (sqlite_sink *)s;

	sqlite3_close(q->db);
	free(q->path);
	free(q->table);
	free(q->stream);
	free(q->stage);
	free(q);
}

/* A table name: letters, digits, '_', not starting with a digit. */
static bool
sq_plain_name(const char *s)
{
	const char *p;

	if (*s == '\0' || (*s >= '0' && *s <= '9'))
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return strncmp(s, "_sluice", 7) != 0 && strncmp(s, "sqlite_", 7) != 0;
}

static int
sq_open(sl_sink **out, const char *where, const char *ck, sl_buf *err)
{
	const char *q_mark = strchr(where, '?');
	char real[PATH_MAX];
	sqlite_sink *q;
	int rv = SL_ENOMEM;

	if (q_mark == NULL || q_mark == where ||
	    strncmp(q_mark, "?table=", 7) != 0 || !sq_plain_name(q_mark + 7)) {
		sl_buf_addf(err, "sink 'sqlite:%s' is not sqlite:PATH?table=T "
			    "(T of letters, digits and '_', not _sluice...)",
			    where);
		return SL_EUSAGE;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		goto fail;
	q->base.ops = &sl_sink_sqlite;
	if ((q->path = strndup(where, (size_t)(q_mark - where))) == NULL ||
	    (q->table = strdup(q_mark + 7)) == NULL ||
	    realpath(ck, real) == NULL || (q->stream = strdup(real)) == NULL)
		goto fail;
	{
		sl_buf stage = SL_BUF_INIT;

		sl_buf_addf(&stage, "%s/sink", real);
		q->stage = sl_buf_detach(&stage, NULL);
	}
	rv = SL_EIO;
	if (sl_mkdirs(q->stage, 0755, err) != SL_OK)
		goto fail;
	if (sqlite3_open_v2(q->path, &q->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		sq_fail(q, err, "open it");
		goto fail;
	}
	sqlite3_busy_timeout(q->db, 5000);
	if (sq_exec(q, "PRAGMA journal_mode=WAL;", "set its journal", err) ||
	    sq_exec(q, "CREATE TABLE IF NOT EXISTS _sluice_batches ("
		    " stream TEXT NOT NULL, batch INTEGER NOT NULL,"
		    " committed_ms INTEGER NOT NULL,"
		    " PRIMARY KEY (stream, batch));", "create _sluice_batches",
		    err))
		goto fail;
	*out = &q->base;
	return SL_OK;
fail:
	if (rv == SL_ENOMEM)
		sl_buf_addstr(err, "out of memory");
	if (q)
		sq_close(&q->base);
	return rv;
}

static void
sq_batch_dir(const sl_sink *s, uint64_t n, sl_buf *dir)
{
	const sqlite_sink *q = (const sqlite_sink *)s;

	sl_buf_addf(dir, "%s/batch-%010llu", q->stage, (unsigned long long)n);
}

/* "col" quoted as an SQL identifier ("" for a " in it). */
static void
sq_ident(sl_buf *sql, const char *p, size_t n)
{
	size_t i;

	sl_buf_addch(sql, '"');
	for (i = 0; i < n; i++) {
		if (p[i] == '"')
			sl_buf_addch(sql, '"');
		sl_buf_addch(sql, p[i]);
	}
	sl_buf_addch(sql, '"');
}

/* What the part files of one commit share: the statement that writes
 * their rows, made from the first one's columns. */
typedef struct sq_load {
	const sl_sink_batch *b;
	size_t nkey;         /* update mode: the key columns; else 0 */
	sqlite3_stmt *ins;   /* INSERT (update: upsert) of a row, or NULL */
	sl_buf cols;         /* the columns of ins, each as "LEN:NAME" */
} sq_load;

/* Appends the columns cols[0, n), quoted, separated by ", "; with
 * excluded, each as `"c" = excluded."c"` (an upsert's SET). */
static void
sq_idents(sl_buf *sql, const sl_slice *cols, size_t n, bool excluded)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			sl_buf_addstr(sql, ", ");
		sq_ident(sql, cols[i].ptr, cols[i].len);
		if (excluded) {
			sl_buf_addstr(sql, " = excluded.");
			sq_ident(sql, cols[i].ptr, cols[i].len);
		}
	}
}

/*
 * The table, if new, and the statement that writes a row of its ncols
 * columns. In update mode, a unique index on the key columns (made on an
 * existing table too, which fails if rows of one key are there already)
 * and an upsert: a row replaces the values of its key's row.
 */
static int
sq_prepare(sqlite_sink *q, const sl_slice *cols, size_t ncols,
	   size_t nkey, sqlite3_stmt **ins, sl_buf *err)
{
	sl_buf sql = SL_BUF_INIT;
	size_t i;
	int rv = SL_OK;

	sl_buf_addf(&sql, "CREATE TABLE IF NOT EXISTS \"%s\" (", q->table);
	sq_idents(&sql, cols, ncols, false);
	sl_buf_addstr(&sql, ");");
	rv = sq_exec(q, sql.buf, "create the table", err);
	if (rv == SL_OK && nkey) {
		sl_buf_reset(&sql);
		sl_buf_addf(&sql, "CREATE UNIQUE INDEX IF NOT EXISTS "
			    "\"_sluice_key_%s\" ON \"%s\" (", q->table,
			    q->table);
		sq_idents(&sql, cols, nkey, false);
		sl_buf_addstr(&sql, ");");
		rv = sq_exec(q, sql.buf, "index the table by the rows' key "
			     "columns (do rows of one key share it already?)",
			     err);
	}
	sl_buf_reset(&sql);
	sl_buf_addf(&sql, "INSERT INTO \"%s\" (", q->table);
	sq_idents(&sql, cols, ncols, false);
	sl_buf_addstr(&sql, ") VALUES (");
	for (i = 0; i < ncols; i++)
		sl_buf_addstr(&sql, i ? ", ?" : "?");
	sl_buf_addstr(&sql, ")");
	if (nkey) {
		sl_buf_addstr(&sql, " ON CONFLICT (");
		sq_idents(&sql, cols, nkey, false);
		sl_buf_addstr(&sql, nkey < ncols ? ") DO UPDATE SET "
						 : ") DO NOTHING");
		sq_idents(&sql, cols + nkey, ncols - nkey, true);
	}
	sl_buf_addstr(&sql, ";");
	if (rv == SL_OK &&
	    sqlite3_prepare_v2(q->db, sql.buf, -1, ins, NULL) != SQLITE_OK)
		rv = sq_fail(q, err, "insert into the table (do its columns "
			     "match the job's?)");
	sl_buf_release(&sql);
	return rv;
}

/*
 * The statement for the rows of a part file of columns cols[0, n): made
 * for the first part file; the others must have the same columns.
 */
static int
sq_columns(sqlite_sink *q, sq_load *ld, const char *path,
	   const sl_slice *cols, size_t n, sl_buf *err)
{
	sl_buf have = SL_BUF_INIT;
	size_t i;
	int rv = SL_OK;

	for (i = 0; i < n; i++) {
		sl_buf_addf(&have, "%zu:", cols[i].len);
		sl_buf_add(&have, cols[i].ptr, cols[i].len);
	}
	if (ld->ins == NULL) {
		ld->nkey = 0;
		if (ld->b->update)
			ld->nkey = ld->b->output == SL_OUTPUT_CSV
					   ? ld->b->key_columns : 1;
		if (ld->nkey > n) {
			sl_buf_addf(err, "sink: the job's rows have %zu key "
				    "columns, and '%s' has %zu columns",
				    ld->nkey, path, n);
			rv = SL_EIO;
		} else {
			rv = sq_prepare(q, cols, n, ld->nkey, &ld->ins, err);
		}
		{
			sl_buf t = ld->cols;

			ld->cols = have;
			have = t;
		}
	} else if (have.len != ld->cols.len ||
		   memcmp(have.buf, ld->cols.buf, have.len) != 0) {
		sl_buf_addf(err, "sink: '%s' has other columns than the "
			    "batch's first part file", path);
		rv = SL_EIO;
	}
	sl_buf_release(&have);
	return rv;
}

static int
sq_insert(sqlite_sink *q, sqlite3_stmt *ins, const sl_slice *v, size_t n,
	  sl_buf *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (sqlite3_bind_text(ins, (int)i + 1, v[i].ptr, (int)v[i].len,
				      SQLITE_STATIC) != SQLITE_OK)
			return sq_fail(q, err, "insert a row");
	if (sqlite3_step(ins) != SQLITE_DONE)
		return sq_fail(q, err, "insert a row");
	sqlite3_reset(ins);
	return SL_OK;
}

/* The rows of one CSV part file (its header names the columns); an
 * empty file has none (a map task's late events: none in its split of a
 * JSON-lines file). */
static int
sq_load_csv(sqlite_sink *q, const char *path, sq_load *ld, sl_buf *err)
{
	const sl_slice *f, *hdr;
	sl_csv_reader *r = NULL;
	struct stat st;
	sl_slice raw;
	uint64_t off;
	size_t n, nh;
	bool json = false;
	int rv;

	if (stat(path, &st) != 0) {
		sl_buf_addf(err, "sink: cannot read '%s'", path);
		return SL_EIO;
	}
	if (st.st_size == 0)
		return SL_OK;
	if ((rv = sl_jsonl_detect(path, &json, err)) != SL_OK)
		return rv;
	if (json) {
		sl_buf_addf(err, "sink: '%s' holds JSON lines (the late events "
			    "of a JSON-lines input), not CSV rows: take a "
			    "file: sink for them", path);
		return SL_EIO;
	}
	if ((rv = sl_csv_open(&r, path, 0, (uint64_t)st.st_size, SIZE_MAX / 2,
			      err)) != SL_OK)
		return rv;
	sl_csv_reader_header(r, &hdr, &nh);
	if (nh == 0 || nh > SQLITE_SINK_MAX_COLS) {
		sl_buf_addf(err, "sink: '%s' has no CSV header", path);
		rv = SL_EIO;
	} else {
		rv = sq_columns(q, ld, path, hdr, nh, err);
	}
	while (rv == SL_OK && (rv = sl_csv_next(r, &f, &n, &raw, &off, err)) ==
				      1) {
		if (n != nh) {
			sl_buf_addf(err, "sink: '%s': a row of %zu fields "
				    "under a header of %zu", path, n, nh);
			rv = SL_EIO;
			break;
		}
		rv = sq_insert(q, ld->ins, f, n, err);
	}
	sl_csv_close(r);
	return rv > 0 ? SL_OK : rv;
}

/* The "key<TAB>value" lines of one part file (columns key and value). */
static int
sq_load_lines(sqlite_sink *q, const char *path, sq_load *ld, sl_buf *err)
{
	static const sl_slice cols[2] = { { "key", 3 }, { "value", 5 } };
	sl_buf text = SL_BUF_INIT;
	char *p, *end, *nl, *tab;
	sl_slice v[2];
	int rv = sl_read_file(path, &text, err);

	if (rv == SL_ENOTFOUND)
		sl_buf_addf(err, "sink: no part file '%s'", path);
	if (rv == SL_OK)
		rv = sq_columns(q, ld, path, cols, 2, err);
	for (p = text.buf, end = p + text.len; rv == SL_OK && p < end;
	     p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		tab = memchr(p, '\t', (size_t)(nl - p));
		v[0].ptr = p;
		v[0].len = (size_t)((tab ? tab : nl) - p);
		v[1].ptr = tab ? tab + 1 : nl;
		v[1].len = tab ? (size_t)(nl - tab - 1) : 0;
		rv = sq_insert(q, ld->ins, v, 2, err);
	}
	sl_buf_release(&text);
	return rv == SL_ENOTFOUND ? SL_EIO : rv;
}

static int
sq_commit(sl_sink *s, const sl_sink_batch *b, sl_buf *err)
{
	sqlite_sink *q = (sqlite_sink *)s;
	sqlite3_stmt *st = NULL;
	sq_load ld = { .b = b, .cols = SL_BUF_INIT };
	sl_buf dir = SL_BUF_INIT, path = SL_BUF_INIT, sql = SL_BUF_INIT;
	struct timespec now;
	uint32_t r;
	int rv, rc;

	if (b->update && b->output == SL_OUTPUT_CSV && b->key_columns == 0) {
		sl_buf_addf(err, "sink '%s': update mode replaces the row of "
			    "each key, and the job's rows have no key columns "
			    "(its check() does not call sl_set_key_columns; "
			    "session windows have none): --output-mode "
			    "complete or append", q->path);
		return SL_EUSAGE;
	}
	if ((rv = sq_exec(q, "BEGIN IMMEDIATE;", "begin a transaction",
			  err)) != SL_OK)
		return rv;
	if (sqlite3_prepare_v2(q->db, "SELECT 1 FROM _sluice_batches WHERE "
			       "stream = ?1 AND batch = ?2;", -1, &st,
			       NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, q->stream, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)b->n)) {
		rv = sq_fail(q, err, "read _sluice_batches");
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		goto out; /* this batch is the sink's already */
	if (rc != SQLITE_DONE) {
		rv = sq_fail(q, err, "read _sluice_batches");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (b->complete) {
		sl_buf_addf(&sql, "DELETE FROM \"%s\";", q->table);
		/* absent on the first batch, made by the first part file */
		sqlite3_exec(q->db, sql.buf, NULL, NULL, NULL);
	}
	sq_batch_dir(s, b->n, &dir);
	for (r = 0; rv == SL_OK && r < b->partitions; r++) {
		sl_buf_reset(&path);
		sl_buf_addf(&path, "%s/part-%05u", dir.buf, r);
		rv = b->output == SL_OUTPUT_CSV
			     ? sq_load_csv(q, path.buf, &ld, err)
			     : sq_load_lines(q, path.buf, &ld, err);
	}
	if (rv != SL_OK)
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	if (sqlite3_prepare_v2(q->db, "INSERT INTO _sluice_batches VALUES "
			       "(?1, ?2, ?3);", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, q->stream, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)b->n) ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)now.tv_sec * 1000 +
					      now.tv_nsec / 1000000) ||
	    sqlite3_step(st) != SQLITE_DONE)
		rv = sq_fail(q, err, "mark the batch");
out:
	sqlite3_finalize(st);
	sqlite3_finalize(ld.ins);
	sl_buf_release(&ld.cols);
	if (rv == SL_OK)
		rv = sq_exec(q, "COMMIT;", "commit", err);
	if (rv != SL_OK)
		sqlite3_exec(q->db, "ROLLBACK;", NULL, NULL, NULL);
	/* The staged part files are the database's now, or will be made
	 * again by the replay of the batch. */
	if (rv == SL_OK) {
		sl_buf_reset(&path);
		sq_batch_dir(s, b->n, &path);
		sl_rmtree(path.buf, &sql);
	}
	sl_buf_release(&dir);
	sl_buf_release(&path);
	sl_buf_release(&sql);
	return rv;
}

const sl_sink_ops sl_sink_sqlite = {
	.scheme = "sqlite",
	.syntax = "sqlite:PATH?table=T",
	.path = true,
	.open = sq_open,
	.batch_dir = sq_batch_dir,
	.commit = sq_commit,
	.close = sq_close,
};
