/*
 * test_store.c - the coordinator's job store (coordinator/store.c) on a
 * real SQLite file in a temporary directory: jobs written and read back,
 * the attempt log of an ended job paged, the lock, and the bad files (a
 * corrupt one, a read-only one, rows out of range).
 */
#include "unit.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coordinator/store.h"

static sl_job_info
job_info(uint64_t id, uint8_t state)
{
	return (sl_job_info){ .id = id, .job = "wordcount", .state = state,
			      .submitted_ms = 1000 + id, .maps = 3,
			      .reduces = 2, .output_dir = "/out",
			      .error = "" };
}

/* What sl_store_each saw: the last job's info, copied, and count. */
typedef struct seen {
	int n;
	uint64_t id[8];
	uint8_t state[8];
	char submit[8][16];
	char error[8][32];
} seen;

static int
seen_one(void *arg, const sl_job_info *info, const void *submit, size_t len)
{
	seen *s = arg;

	if (s->n == 8)
		return SL_ETOOBIG;
	s->id[s->n] = info->id;
	s->state[s->n] = info->state;
	snprintf(s->submit[s->n], sizeof(s->submit[0]), "%.*s", (int)len,
		 (const char *)submit);
	snprintf(s->error[s->n], sizeof(s->error[0]), "%s", info->error);
	s->n++;
	return SL_OK;
}

static void
test_a_job_added_and_updated_is_read_back_after_a_reopen(void)
{
	sl_buf err = SL_BUF_INIT;
	sl_store *s;
	sl_job_info a = job_info(1, SL_JOB_QUEUED), b = job_info(2,
								  SL_JOB_QUEUED);
	seen got = { 0 };

	unit_tdir_make();
	ASSERT_EQ_INT(sl_store_open(&s, unit_tpath("state"), &err), SL_OK);
	ASSERT_EQ_INT(sl_store_add(s, &a, "spec-1", 6, &err), SL_OK);
	ASSERT_EQ_INT(sl_store_add(s, &b, "spec-2", 6, &err), SL_OK);
	a.state = SL_JOB_FAILED;
	a.error = "map task 0 failed";
	ASSERT_EQ_INT(sl_store_update(s, &a, &err), SL_OK);
	sl_store_close(s);
	ASSERT_EQ_INT(sl_store_open(&s, unit_tpath("state"), &err), SL_OK);
	ASSERT_EQ_INT(sl_store_each(s, seen_one, &got, &err), SL_OK);
	ASSERT_EQ_INT(got.n, 2);
	ASSERT_EQ_INT(got.id[0], 1);
	ASSERT_EQ_INT(got.state[0], SL_JOB_FAILED);
	ASSERT_EQ_STR(got.error[0], "map task 0 failed");
	ASSERT_EQ_STR(got.submit[0], "spec-1");
	ASSERT_EQ_INT(got.id[1], 2);
	ASSERT_EQ_INT(got.state[1], SL_JOB_QUEUED);
	ASSERT_EQ_STR(got.submit[1], "spec-2");
	/* the same id twice is refused, and names the file */
	ASSERT_EQ_INT(sl_store_add(s, &b, "x", 1, &err), SL_EIO);
	CU_ASSERT(strstr(err.buf, "jobs.db") != NULL);
	sl_store_close(s);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_an_ended_jobs_log_is_paged_and_replaced_by_a_later_end(void)
{
	enum { N = SL_LOG_PAGE + 904 };
	sl_attempt_info *v = calloc(N, sizeof(*v));
	sl_counter counters[] = { { "bad_records", 3 }, { "alpha", -7 } };
	sl_job_info info = job_info(5, SL_JOB_QUEUED);
	sl_buf err = SL_BUF_INIT;
	sl_store *s;
	sl_msg m;
	size_t i;

	unit_tdir_make();
	for (i = 0; i < N; i++)
		v[i] = (sl_attempt_info){ .kind = i < 10 ? SL_TASK_REDUCE
							 : SL_TASK_MAP,
					  .task = (uint32_t)i, .attempt = 1,
					  .worker = 2, .started_ms = 100 + i,
					  .ended_ms = 200 + i,
					  .state = SL_ATTEMPT_SUCCEEDED,
					  .error = "" };
	v[7].state = SL_ATTEMPT_FAILED;
	v[7].error = "worker lost";
	ASSERT_EQ_INT(sl_store_open(&s, unit_tpath("st"), &err), SL_OK);
	ASSERT_EQ_INT(sl_store_add(s, &info, "s", 1, &err), SL_OK);
	info.state = SL_JOB_SUCCEEDED;
	ASSERT_EQ_INT(sl_store_end(s, &info, v, N, counters, 2, &err), SL_OK);

	ASSERT_EQ_INT(sl_store_log(s, 5, 0, &m, &err), SL_OK);
	ASSERT_EQ_INT(m.u.job_log.total, N);
	ASSERT_EQ_INT(m.u.job_log.nattempts, SL_LOG_PAGE);
	ASSERT_EQ_INT(m.u.job_log.attempts[7].state, SL_ATTEMPT_FAILED);
	ASSERT_EQ_STR(m.u.job_log.attempts[7].error, "worker lost");
	ASSERT_EQ_INT(m.u.job_log.attempts[3].kind, SL_TASK_REDUCE);
	ASSERT_EQ_INT(m.u.job_log.attempts[3].started_ms, 103);
	ASSERT_EQ_INT(m.u.job_log.attempts[3].ended_ms, 203);
	ASSERT_EQ_INT(m.u.job_log.ncounters, 2);
	ASSERT_EQ_STR(m.u.job_log.counters[0].name, "alpha"); /* by name */
	ASSERT_EQ_INT(m.u.job_log.counters[0].value, -7);
	sl_msg_release(&m);
	ASSERT_EQ_INT(sl_store_log(s, 5, SL_LOG_PAGE, &m, &err), SL_OK);
	ASSERT_EQ_INT(m.u.job_log.nattempts, 904);
	ASSERT_EQ_INT(m.u.job_log.attempts[0].task, SL_LOG_PAGE);
	sl_msg_release(&m);
	ASSERT_EQ_INT(sl_store_log(s, 5, N + 10, &m, &err), SL_OK);
	ASSERT_EQ_INT(m.u.job_log.nattempts, 0);
	sl_msg_release(&m);

	/* a job run again after a restart ends again: its new log alone */
	ASSERT_EQ_INT(sl_store_end(s, &info, v, 2, NULL, 0, &err), SL_OK);
	ASSERT_EQ_INT(sl_store_log(s, 5, 0, &m, &err), SL_OK);
	ASSERT_EQ_INT(m.u.job_log.total, 2);
	ASSERT_EQ_INT(m.u.job_log.ncounters, 0);
	sl_msg_release(&m);
	/* a job with no log */
	ASSERT_EQ_INT(sl_store_log(s, 77, 0, &m, &err), SL_OK);
	ASSERT_EQ_INT(m.u.job_log.total, 0);
	sl_msg_release(&m);
	sl_store_close(s);
	free(v);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_a_second_store_on_the_same_directory_is_refused(void)
{
	sl_buf err = SL_BUF_INIT;
	sl_store *s, *t;

	unit_tdir_make();
	ASSERT_EQ_INT(sl_store_open(&s, unit_tdir(), &err), SL_OK);
	ASSERT_EQ_INT(sl_store_open(&t, unit_tdir(), &err), SL_EUSAGE);
	CU_ASSERT(t == NULL);
	CU_ASSERT(strstr(err.buf, "in use by another coordinator") != NULL);
	sl_store_close(s);
	/* free once the first is closed */
	ASSERT_EQ_INT(sl_store_open(&t, unit_tdir(), &err), SL_OK);
	sl_store_close(t);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_a_corrupt_file_is_refused_naming_it(void)
{
	char junk[8192];
	sl_buf err = SL_BUF_INIT;
	sl_store *s;
	size_t i;

	unit_tdir_make();
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 % 251);
	unit_write_file(unit_tpath("jobs.db"), junk, sizeof(junk));
	ASSERT_EQ_INT(sl_store_open(&s, unit_tdir(), &err), SL_EIO);
	CU_ASSERT(s == NULL);
	CU_ASSERT(strstr(err.buf, "jobs.db") != NULL);
	/* and nothing was written over it */
	{
		FILE *f = fopen(unit_tpath("jobs.db"), "rb");
		char back[sizeof(junk)];

		CU_ASSERT(f && fread(back, 1, sizeof(back), f) == sizeof(back));
		CU_ASSERT(memcmp(back, junk, sizeof(junk)) == 0);
		if (f)
			fclose(f);
	}
	sl_buf_release(&err);
	unit_tdir_remove();
}

/*
 * A store the process may read but not write: refused at open, not at the
 * first job. Root writes any file, so when root the opening runs in a
 * child that has become `nobody` (65534) on files root owns.
 */
static void
test_a_read_only_store_is_refused_at_open(void)
{
	sl_buf err = SL_BUF_INIT;
	sl_job_info a = job_info(1, SL_JOB_QUEUED);
	sl_store *s;
	int status = -1, fd;
	pid_t pid;

	unit_tdir_make();
	ASSERT_EQ_INT(sl_store_open(&s, unit_tpath("ro"), &err), SL_OK);
	ASSERT_EQ_INT(sl_store_add(s, &a, "s", 1, &err), SL_OK);
	sl_store_close(s);
	/* the lock stays openable: the database is what is read-only */
	CU_ASSERT(chmod(unit_tpath("ro/lock"), 0666) == 0);
	CU_ASSERT(chmod(unit_tpath("ro/jobs.db"), 0444) == 0);
	CU_ASSERT(chmod(unit_tpath("ro"), 0555) == 0);
	CU_ASSERT(chmod(unit_tdir(), 0755) == 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int rv;

		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(3);
		rv = sl_store_open(&s, unit_tpath("ro"), &err);
		if (rv == SL_OK)
			_exit(1);
		_exit(rv == SL_EIO && strstr(err.buf, "jobs.db") ? 0 : 2);
	}
	CU_ASSERT(pid > 0 && waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFEXITED(status));
	ASSERT_EQ_INT(WEXITSTATUS(status), 0);
	CU_ASSERT(chmod(unit_tpath("ro"), 0755) == 0);
	/* the file is as it was: its job is still there */
	CU_ASSERT((fd = open(unit_tpath("ro/jobs.db"), O_RDONLY)) >= 0);
	close(fd);
	CU_ASSERT(chmod(unit_tpath("ro/jobs.db"), 0644) == 0);
	{
		seen got = { 0 };

		ASSERT_EQ_INT(sl_store_open(&s, unit_tpath("ro"), &err), SL_OK);
		ASSERT_EQ_INT(sl_store_each(s, seen_one, &got, &err), SL_OK);
		ASSERT_EQ_INT(got.n, 1);
		sl_store_close(s);
	}
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_rows_out_of_range_are_not_trusted(void)
{
	sl_attempt_info one = { .kind = SL_TASK_MAP, .error = "" };
	sl_job_info a = job_info(1, SL_JOB_QUEUED);
	sl_buf err = SL_BUF_INIT;
	sqlite3 *db;
	sl_store *s;
	seen got = { 0 };
	sl_msg m;

	unit_tdir_make();
	ASSERT_EQ_INT(sl_store_open(&s, unit_tdir(), &err), SL_OK);
	ASSERT_EQ_INT(sl_store_add(s, &a, "s", 1, &err), SL_OK);
	a.state = SL_JOB_SUCCEEDED;
	ASSERT_EQ_INT(sl_store_end(s, &a, &one, 1, NULL, 0, &err), SL_OK);
	sl_store_close(s);
	/* another program writes values no coordinator writes */
	ASSERT_EQ_INT(sqlite3_open(unit_tpath("jobs.db"), &db), SQLITE_OK);
	ASSERT_EQ_INT(sqlite3_exec(db, "UPDATE jobs SET state = 9;"
				   "UPDATE attempts SET kind = 7;",
				   NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ASSERT_EQ_INT(sl_store_open(&s, unit_tdir(), &err), SL_OK);
	ASSERT_EQ_INT(sl_store_each(s, seen_one, &got, &err), SL_OK);
	ASSERT_EQ_INT(got.state[0], SL_JOB_FAILED); /* an unknown state */
	sl_buf_reset(&err);
	ASSERT_EQ_INT(sl_store_log(s, 1, 0, &m, &err), SL_EIO);
	CU_ASSERT(strstr(err.buf, "a bad row in the attempt log") != NULL);
	sl_msg_release(&m);
	sl_store_close(s);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static const unit_case cases[] = {
	{ "a job added and updated is read back after a reopen",
	  test_a_job_added_and_updated_is_read_back_after_a_reopen },
	{ "an ended job's log is paged and replaced by a later end",
	  test_an_ended_jobs_log_is_paged_and_replaced_by_a_later_end },
	{ "a second store on the same directory is refused",
	  test_a_second_store_on_the_same_directory_is_refused },
	{ "a corrupt file is refused, naming it",
	  test_a_corrupt_file_is_refused_naming_it },
	{ "a read-only store is refused at open",
	  test_a_read_only_store_is_refused_at_open },
	{ "rows out of range are not trusted",
	  test_rows_out_of_range_are_not_trusted },
	{ NULL, NULL }
};

UNIT_MAIN("store", cases)
