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
	" submit BLOB NOT NULL);"
	/* the attempt log and counters of a job that ended (sl_store_end),
	 * seq its attempt's place in the log */
	"CREATE TABLE IF NOT EXISTS attempts ("
	" job INTEGER NOT NULL,"
	" seq INTEGER NOT NULL,"
	" kind INTEGER NOT NULL,"
	" task INTEGER NOT NULL,"
	" attempt INTEGER NOT NULL,"
	" worker INTEGER NOT NULL,"
	" started_ms INTEGER NOT NULL,"
	" ended_ms INTEGER NOT NULL,"
	" state INTEGER NOT NULL,"
	" speculative INTEGER NOT NULL,"
	" error TEXT NOT NULL,"
	" PRIMARY KEY (job, seq)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS counters ("
	" job INTEGER NOT NULL,"
	" name TEXT NOT NULL,"
	" value INTEGER NOT NULL,"
	" PRIMARY KEY (job, name)) WITHOUT ROWID;";

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

/* Runs the prepared statement st to its end and finalizes it. */
static int
store_step(sl_store *s, sqlite3_stmt *st, const char *what, sl_buf *err)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SL_OK : store_fail(s, err, what);
}

/* The log of one job into the open transaction: attempts, counters. */
static int
store_put_log(sl_store *s, uint64_t job, const sl_attempt_info *v, size_t n,
	      const sl_counter *c, uint32_t nc, sl_buf *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;

	if (sqlite3_prepare_v2(s->db, "INSERT INTO attempts VALUES (?1, ?2,"
			       " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11);", -1,
			       &st, NULL) != SQLITE_OK)
		return store_fail(s, err, "write an attempt log");
	for (i = 0; i < n; i++) {
		if (sqlite3_bind_int64(st, 1, (sqlite3_int64)job) ||
		    sqlite3_bind_int64(st, 2, (sqlite3_int64)i) ||
		    sqlite3_bind_int(st, 3, v[i].kind) ||
		    sqlite3_bind_int64(st, 4, v[i].task) ||
		    sqlite3_bind_int64(st, 5, v[i].attempt) ||
		    sqlite3_bind_int64(st, 6, v[i].worker) ||
		    sqlite3_bind_int64(st, 7, (sqlite3_int64)v[i].started_ms) ||
		    sqlite3_bind_int64(st, 8, (sqlite3_int64)v[i].ended_ms) ||
		    sqlite3_bind_int(st, 9, v[i].state) ||
		    sqlite3_bind_int(st, 10, v[i].speculative) ||
		    sqlite3_bind_text(st, 11, v[i].error, -1, SQLITE_STATIC) ||
		    sqlite3_step(st) != SQLITE_DONE ||
		    sqlite3_reset(st) != SQLITE_OK) {
			sqlite3_finalize(st);
			return store_fail(s, err, "write an attempt log");
		}
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(s->db, "INSERT INTO counters VALUES (?1, ?2,"
			       " ?3);", -1, &st, NULL) != SQLITE_OK)
		return store_fail(s, err, "write counters");
	for (i = 0; i < nc; i++) {
		if (sqlite3_bind_int64(st, 1, (sqlite3_int64)job) ||
		    sqlite3_bind_text(st, 2, c[i].name, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int64(st, 3, c[i].value) ||
		    sqlite3_step(st) != SQLITE_DONE ||
		    sqlite3_reset(st) != SQLITE_OK) {
			sqlite3_finalize(st);
			return store_fail(s, err, "write counters");
		}
	}
	sqlite3_finalize(st);
	return SL_OK;
}

int
sl_store_end(sl_store *s, const sl_job_info *info, const sl_attempt_info *v,
	     size_t n, const sl_counter *c, uint32_t nc, sl_buf *err)
{
	sqlite3_stmt *st = NULL;
	int rv;

	if ((rv = store_exec(s, "BEGIN;", "begin a transaction", err)) !=
	    SL_OK)
		return rv;
	/* A job that ran before a restart may have ended then too. */
	if (sqlite3_prepare_v2(s->db, "DELETE FROM attempts WHERE job = ?1;",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (sqlite3_int64)info->id) != SQLITE_OK)
		rv = store_fail(s, err, "clear an attempt log");
	else
		rv = store_step(s, st, "clear an attempt log", err);
	st = NULL;
	if (rv == SL_OK &&
	    (sqlite3_prepare_v2(s->db, "DELETE FROM counters WHERE job = ?1;",
				-1, &st, NULL) != SQLITE_OK ||
	     sqlite3_bind_int64(st, 1, (sqlite3_int64)info->id) != SQLITE_OK))
		rv = store_fail(s, err, "clear counters");
	else if (rv == SL_OK)
		rv = store_step(s, st, "clear counters", err);
	if (rv == SL_OK)
		rv = sl_store_update(s, info, err);
	if (rv == SL_OK)
		rv = store_put_log(s, info->id, v, n, c, nc, err);
	if (rv == SL_OK)
		return store_exec(s, "COMMIT;", "commit a transaction", err);
	sqlite3_exec(s->db, "ROLLBACK;", NULL, NULL, NULL);
	return rv;
}

/* A column that must hold an integer in [0, max]; a row is untrusted. */
static bool
store_int(sqlite3_stmt *st, int i, uint64_t max, uint64_t *out)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);

	if (sqlite3_column_type(st, i) != SQLITE_INTEGER || v < 0 ||
	    (uint64_t)v > max)
		return false;
	*out = (uint64_t)v;
	return true;
}

/* Row of `attempts` into a. */
static bool
store_attempt_row(sqlite3_stmt *st, sl_attempt_info *a)
{
	uint64_t v[8];
	static const uint64_t max[8] = { SL_TASK_REDUCE, UINT32_MAX,
					 UINT32_MAX, UINT32_MAX, INT64_MAX,
					 INT64_MAX, SL_ATTEMPT_ABORTED, 1 };
	const unsigned char *e;
	int i;

	for (i = 0; i < 8; i++)
		if (!store_int(st, i, max[i], &v[i]))
			return false;
	if (v[0] < SL_TASK_MAP)
		return false;
	a->kind = (uint8_t)v[0];
	a->task = (uint32_t)v[1];
	a->attempt = (uint32_t)v[2];
	a->worker = (uint32_t)v[3];
	a->started_ms = v[4];
	a->ended_ms = v[5];
	a->state = (uint8_t)v[6];
	a->speculative = (uint8_t)v[7];
	e = sqlite3_column_text(st, 8);
	a->error = strdup(e ? (const char *)e : "");
	return a->error != NULL;
}

int
sl_store_log(sl_store *s, uint64_t job, uint64_t from, sl_msg *out,
	     sl_buf *err)
{
	sqlite3_stmt *st = NULL;
	sl_attempt_info *a;
	uint64_t total = 0;
	size_t calloc_n = 0; /* counters allocated */
	int rc, rv = SL_OK;

	memset(out, 0, sizeof(*out));
	out->type = SL_MSG_JOB_LOG;
	out->u.job_log.job = job;
	out->u.job_log.error = strdup("");
	if (out->u.job_log.error == NULL)
		return SL_ENOMEM;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM attempts WHERE"
			       " job = ?1;", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (sqlite3_int64)job) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW ||
	    !store_int(st, 0, INT64_MAX, &total)) {
		sqlite3_finalize(st);
		return store_fail(s, err, "read an attempt log");
	}
	sqlite3_finalize(st);
	out->u.job_log.total = total;
	if (from < total &&
	    (out->u.job_log.attempts = calloc(
		     total - from < SL_LOG_PAGE ? total - from : SL_LOG_PAGE,
		     sizeof(*a))) == NULL)
		return SL_ENOMEM;
	if (sqlite3_prepare_v2(s->db, "SELECT kind, task, attempt, worker,"
			       " started_ms, ended_ms, state, speculative,"
			       " error FROM attempts WHERE job = ?1 AND"
			       " seq >= ?2 ORDER BY seq LIMIT ?3;", -1, &st,
			       NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (sqlite3_int64)job) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)(from < INT64_MAX
							 ? from
							 : INT64_MAX)) !=
		    SQLITE_OK ||
	    sqlite3_bind_int(st, 3, SL_LOG_PAGE) != SQLITE_OK) {
		sqlite3_finalize(st);
		return store_fail(s, err, "read an attempt log");
	}
	while (rv == SL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW &&
	       from + out->u.job_log.nattempts < total) {
		a = &out->u.job_log.attempts[out->u.job_log.nattempts];
		if (!store_attempt_row(st, a)) {
			free(a->error);
			sl_buf_addf(err, "job store '%s': a bad row in the "
				    "attempt log of job %llu", s->path,
				    (unsigned long long)job);
			rv = SL_EIO;
			break;
		}
		out->u.job_log.nattempts++;
	}
	if (rv == SL_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		rv = store_fail(s, err, "read an attempt log");
	sqlite3_finalize(st);
	if (rv != SL_OK)
		return rv;
	if (sqlite3_prepare_v2(s->db, "SELECT name, value FROM counters WHERE"
			       " job = ?1 ORDER BY name;", -1, &st, NULL) !=
		    SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (sqlite3_int64)job) != SQLITE_OK) {
		sqlite3_finalize(st);
		return store_fail(s, err, "read counters");
	}
	while (rv == SL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(st, 0);

		rv = sl_counters_add(&out->u.job_log.counters,
				     &out->u.job_log.ncounters, &calloc_n,
				     name ? (const char *)name : "",
				     sqlite3_column_int64(st, 1));
	}
	if (rv == SL_OK && rc != SQLITE_DONE)
		rv = store_fail(s, err, "read counters");
	sqlite3_finalize(st);
	return rv;
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
