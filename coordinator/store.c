/*
 * store.c - the coordinator's job store in SQLite; see store.h.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct sl_store {
	sqlite3 *db;
	char *path;   /* DIR/jobs.db, for messages */
	int lock_fd;  /* DIR/lock, flock'ed */
};

static const char store_schema[] =
	"CREATE TABLE IF NOT EXISTS jobs ("
	" id INTEGER PRIMARY KEY,"
	" job TEXT NOT NULL,"
	" state INTEGER NOT NULL,"
	" submitted_ms INTEGER NOT NULL,"
	" started_ms INTEGER NOT NULL DEFAULT 0,"
	" ended_ms INTEGER NOT NULL DEFAULT 0,"
	" maps INTEGER NOT NULL DEFAULT 0,"
	" maps_done INTEGER NOT NULL DEFAULT 0,"
	" reduces INTEGER NOT NULL DEFAULT 0,"
	" reduces_done INTEGER NOT NULL DEFAULT 0,"
	" bytes_in INTEGER NOT NULL DEFAULT 0,"
	" output_dir TEXT NOT NULL,"
	" error TEXT NOT NULL DEFAULT '',"
	" submit BLOB NOT NULL);";

static int
store_fail(sl_store *s, sl_buf *err, const char *what)
{
	sl_buf_addf(err, "job store '%s': cannot %s: %s", s->path, what,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
	return SL_EIO;
}

static int
store_exec(sl_store *s, const char *sql, const char *what, sl_buf *err)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(s, err, what);
	return SL_OK;
}

int
sl_store_open(sl_store **sp, const char *dir, sl_buf *err)
{
	sl_buf p = SL_BUF_INIT;
	sl_store *s = calloc(1, sizeof(*s));
	int rv = SL_EIO;

	*sp = NULL;
	if (s == NULL) {
		sl_buf_addstr(err, "out of memory");
		return SL_ENOMEM;
	}
	s->lock_fd = -1;
	if (sl_mkdirs(dir, 0700, err) != SL_OK)
		goto fail;
	sl_buf_addf(&p, "%s/lock", dir);
	s->lock_fd = open(p.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		sl_buf_addf(err, "cannot open '%s': %s", p.buf,
			    strerror(errno));
		goto fail;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		sl_buf_addf(err, "the state directory '%s' is in use by another "
			    "coordinator (%s is locked)", dir, p.buf);
		rv = SL_EUSAGE;
		goto fail;
	}
	sl_buf_reset(&p);
	sl_buf_addf(&p, "%s/jobs.db", dir);
	s->path = sl_buf_detach(&p, NULL);
	if (sqlite3_open_v2(s->path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		store_fail(s, err, "open it");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 1000);
	/* A read-only or corrupt file fails here, before anything runs. */
	if (store_exec(s, "PRAGMA journal_mode=WAL;", "set its journal",
		       err) != SL_OK ||
	    store_exec(s, "PRAGMA synchronous=NORMAL;", "set it up", err) !=
		    SL_OK ||
	    store_exec(s, store_schema, "create its table", err) != SL_OK ||
	    store_exec(s, "PRAGMA quick_check;", "check it", err) != SL_OK)
		goto fail;
	*sp = s;
	sl_buf_release(&p);
	return SL_OK;
fail:
	sl_buf_release(&p);
	sl_store_close(s);
	return rv;
}

void
sl_store_close(sl_store *s)
{
	if (s == NULL)
		return;
	sqlite3_close(s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* and the lock with it */
	free(s->path);
	free(s);
}

/* Binds the fields of info from parameter 1: id, job, state, times,
 * progress, output_dir, error (13 parameters). */
static int
store_bind_info(sqlite3_stmt *st, const sl_job_info *i)
{
	return sqlite3_bind_int64(st, 1, (sqlite3_int64)i->id) ||
	       sqlite3_bind_text(st, 2, i->job, -1, SQLITE_STATIC) ||
	       sqlite3_bind_int(st, 3, i->state) ||
	       sqlite3_bind_int64(st, 4, (sqlite3_int64)i->submitted_ms) ||
	       sqlite3_bind_int64(st, 5, (sqlite3_int64)i->started_ms) ||
	       sqlite3_bind_int64(st, 6, (sqlite3_int64)i->ended_ms) ||
	       sqlite3_bind_int64(st, 7, i->maps) ||
	       sqlite3_bind_int64(st, 8, i->maps_done) ||
	       sqlite3_bind_int64(st, 9, i->reduces) ||
	       sqlite3_bind_int64(st, 10, i->reduces_done) ||
	       sqlite3_bind_int64(st, 11, (sqlite3_int64)i->bytes_in) ||
	       sqlite3_bind_text(st, 12, i->output_dir, -1, SQLITE_STATIC) ||
	       sqlite3_bind_text(st, 13, i->error, -1, SQLITE_STATIC);
}

static int
store_write(sl_store *s, const char *sql, const sl_job_info *info,
	    const void *submit, size_t len, const char *what, sl_buf *err)
{
	sqlite3_stmt *st = NULL;
	int rv = SL_OK;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    store_bind_info(st, info) != SQLITE_OK ||
	    (submit && sqlite3_bind_blob(st, 14, submit, (int)len,
					 SQLITE_STATIC) != SQLITE_OK) ||
	    sqlite3_step(st) != SQLITE_DONE)
		rv = store_fail(s, err, what);
	sqlite3_finalize(st);
	return rv;
}

int
sl_store_add(sl_store *s, const sl_job_info *info, const void *submit,
	     size_t len, sl_buf *err)
{
	if (len > INT32_MAX) {
		sl_buf_addstr(err, "job store: SUBMIT too large");
		return SL_ETOOBIG;
	}
	return store_write(s, "INSERT INTO jobs (id, job, state, submitted_ms,"
			   " started_ms, ended_ms, maps, maps_done, reduces,"
			   " reduces_done, bytes_in, output_dir, error, submit)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
			   " ?11, ?12, ?13, ?14);",
			   info, submit, len, "add a job", err);
}

int
sl_store_update(sl_store *s, const sl_job_info *info, sl_buf *err)
{
	return store_write(s, "UPDATE jobs SET job = ?2, state = ?3,"
			   " submitted_ms = ?4, started_ms = ?5, ended_ms = ?6,"
			   " maps = ?7, maps_done = ?8, reduces = ?9,"
			   " reduces_done = ?10, bytes_in = ?11,"
			   " output_dir = ?12, error = ?13 WHERE id = ?1;",
			   info, NULL, 0, "update a job", err);
}

/* Column i as text, "" for NULL. */
static char *
store_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return (char *)(t ? t : (const unsigned char *)"");
}

int
sl_store_each(sl_store *s, sl_store_fn *fn, void *arg, sl_buf *err)
{
	sqlite3_stmt *st = NULL;
	sl_job_info i;
	int rc, rv = SL_OK;

	if (sqlite3_prepare_v2(s->db, "SELECT id, job, state, submitted_ms,"
			       " started_ms, ended_ms, maps, maps_done,"
			       " reduces, reduces_done, bytes_in, output_dir,"
			       " error, submit FROM jobs ORDER BY id;", -1, &st,
			       NULL) != SQLITE_OK)
		return store_fail(s, err, "read it");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int state = sqlite3_column_int(st, 2);

		memset(&i, 0, sizeof(i));
		i.id = (uint64_t)sqlite3_column_int64(st, 0);
		i.job = store_text(st, 1);
		/* a row is untrusted too: an unknown state is a failure */
		i.state = state >= SL_JOB_QUEUED && state <= SL_JOB_CANCELED
				  ? (uint8_t)state
				  : SL_JOB_FAILED;
		i.submitted_ms = (uint64_t)sqlite3_column_int64(st, 3);
		i.started_ms = (uint64_t)sqlite3_column_int64(st, 4);
		i.ended_ms = (uint64_t)sqlite3_column_int64(st, 5);
		i.maps = (uint32_t)sqlite3_column_int64(st, 6);
		i.maps_done = (uint32_t)sqlite3_column_int64(st, 7);
		i.reduces = (uint32_t)sqlite3_column_int64(st, 8);
		i.reduces_done = (uint32_t)sqlite3_column_int64(st, 9);
		i.bytes_in = (uint64_t)sqlite3_column_int64(st, 10);
		i.output_dir = store_text(st, 11);
		i.error = store_text(st, 12);
		if ((rv = fn(arg, &i, sqlite3_column_blob(st, 13),
			     (size_t)sqlite3_column_bytes(st, 13))) != SL_OK)
			break;
	}
	if (rv == SL_OK && rc != SQLITE_DONE)
		rv = store_fail(s, err, "read it");
	sqlite3_finalize(st);
	return rv;
}
