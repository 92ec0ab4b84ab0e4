/*
 * streaming.c - the `streaming` job: map and reduce with external commands
 * that speak the Hadoop Streaming line protocol (docs/streaming.md).
 *
 *   sluice run streaming --mapper CMD --reducer CMD [--combiner CMD] IN...
 *
 * Map task: the mapper runs once per task; every input line goes to its
 * stdin followed by "\n", and every line it prints is a record, "key\tvalue"
 * split at the first tab (a line without a tab is a key with an empty
 * value). With --combiner the map task holds the mapper's records in
 * memory, sorts them by key (stable) at the end of the task and passes them
 * as "key\tvalue" lines through the combiner, whose records go to the
 * shuffle instead.
 * Reduce task: the reducer runs once per task and reads "key\tvalue\n" for
 * every value (keys sorted, values in input order); what it prints is
 * copied to the part file as it is, with a final "\n" added if missing.
 *
 * One piece of code, stm_child, runs the three commands: start (argv split
 * without a shell, posix_spawnp), pump (non-blocking pipes and one poll()
 * on stdin, stdout and stderr, so that neither side can block the other on
 * a full pipe), finish (drain to EOF, reap, judge the exit status) and
 * release (kill and reap a child still running).
 *
 * Ownership: a task's state (stm_task) is made in task_begin and freed in
 * task_end, which the engine calls whenever task_begin succeeded, also
 * after a failed callback; a child still running then is killed with its
 * process group. A child gets only fds 0, 1, 2 and default signal
 * dispositions. The worker process must ignore SIGPIPE (a write to a child
 * that quit reading fails with EPIPE) and must not reap children it did
 * not start (no waitpid(-1), no SIG_IGN for SIGCHLD).
 * Threads: the callbacks of one attempt run on one thread; nothing here is
 * global, so attempts may run side by side in one worker.
 * Costs: one process per task (two for a map task with a combiner); stdin
 * is written in batches of 64 KiB; stdout is split into lines in place in
 * a buffer as long as the longest line (at most 1 GiB); of stderr only the
 * last 4 KiB are kept, for the error message. With a combiner a map task
 * holds all its mapper's records in memory, twice while sorting.
 */
#include "sl_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shuffle/mapout.h" /* sl_kv_sort: the combiner's input in key order */

extern const sl_job sl__job_streaming;

#define STM_BATCH ((size_t)64 << 10)      /* stdin bytes queued per write */
#define STM_READ ((size_t)64 << 10)       /* stdout bytes per read() */
#define STM_LINE_MAX ((size_t)1 << 30)    /* longest stdout line, bytes */
#define STM_ERR_TAIL ((size_t)4 << 10)    /* stderr bytes kept */
#define STM_ERR_LINES 3                   /* stderr lines in a message */

/* A command split into words. */
typedef struct stm_argv {
	sl_buf words;   /* the words, each followed by a NUL */
	char **argv;    /* argc pointers into words.buf, then NULL; heap */
	size_t argc;    /* number of words */
} stm_argv;

/* Where a child's stdout goes: records (line mode) or bytes (raw mode). */
typedef int (*stm_record_fn)(void *arg, const char *key, size_t klen,
			     const char *val, size_t vlen);
typedef int (*stm_bytes_fn)(void *arg, const char *data, size_t len);

/* A running command and our ends of its three pipes. */
typedef struct stm_child {
	sl_ctx *ctx;              /* the attempt, for sl_fail() */
	const char *role;         /* "mapper", "combiner", "reducer": also
	                             the name of its option */
	char *cmd;                /* the command as written; heap */
	pid_t pid;                /* the child, -1 when none or reaped */
	int in_fd;                /* its stdin, -1 once closed */
	int out_fd;               /* its stdout, -1 after EOF */
	int err_fd;               /* its stderr, -1 after EOF */
	bool broken;              /* it closed stdin before the end (EPIPE) */
	sl_buf in;                /* bytes queued for its stdin */
	size_t in_off;            /* bytes of `in` already written */
	sl_buf out;               /* stdout bytes not yet passed on */
	size_t out_scan;          /* leading bytes of `out` without a "\n" */
	sl_buf err;               /* the tail of its stderr, bytes */
	stm_record_fn on_record;  /* line mode: each stdout line, split */
	stm_bytes_fn on_bytes;    /* raw mode: stdout bytes as they come */
	void *arg;                /* first argument of on_record/on_bytes */
} stm_child;

/* The state of one task attempt. */
typedef struct stm_task {
	sl_ctx *ctx;        /* the attempt */
	stm_child child;    /* the mapper, then the combiner; or the reducer */
	bool combine;       /* map with --combiner: records go to `held` */
	sl_buf held;        /* the mapper's records, kv-encoded, as printed */
	bool need_nl;       /* reduce: the part file does not end in "\n" */
	int failed;         /* the first error a callback returned, or SL_OK */
} stm_task;

static void
stm_argv_release(stm_argv *av)
{
	sl_buf_release(&av->words);
	free(av->argv);
	av->argv = NULL;
	av->argc = 0;
}

/*
 * Splits cmd into words without a shell: words are separated by spaces
 * and tabs; '...' groups bytes as they are; "..." groups too, and in it a
 * backslash escapes only " and \. Returns SL_OK, SL_EUSAGE for an
 * unterminated quote, or SL_ENOMEM; on error av holds nothing.
 */
static int
stm_split(const char *cmd, stm_argv *av)
{
	const char *p = cmd;
	char *w, quote;
	size_t i;
	int rv = SL_ENOMEM;

	sl_buf_init(&av->words);
	av->argv = NULL;
	av->argc = 0;
	while (*p != '\0') {
		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			if (*p != '\'' && *p != '"') {
				if (sl_buf_addch(&av->words, *p++) != SL_OK)
					goto fail;
				continue;
			}
			quote = *p++;
			while (*p != '\0' && *p != quote) {
				if (quote == '"' && *p == '\\' &&
				    (p[1] == '"' || p[1] == '\\'))
					p++;
				if (sl_buf_addch(&av->words, *p++) != SL_OK)
					goto fail;
			}
			if (*p == '\0') {
				rv = SL_EUSAGE;
				goto fail;
			}
			p++;
		}
		if (sl_buf_addch(&av->words, '\0') != SL_OK)
			goto fail;
		av->argc++;
	}
	av->argv = calloc(av->argc + 1, sizeof(*av->argv));
	if (av->argv == NULL)
		goto fail;
	w = av->words.buf;
	for (i = 0; i < av->argc; i++) {
		av->argv[i] = w;
		w += strlen(w) + 1;
	}
	return SL_OK;
fail:
	stm_argv_release(av);
	return rv;
}

/*
 * The command of option `name` (the role), split. Fails the attempt (or
 * check()) when it is missing, has an unterminated quote or no word.
 */
static int
stm_option_argv(sl_ctx *ctx, const char *name, stm_argv *av)
{
	const char *cmd = sl_option(ctx, name);
	int rv;

	sl_buf_init(&av->words);
	av->argv = NULL;
	av->argc = 0;
	if (cmd == NULL)
		return sl_fail(ctx, "missing option '--%s'", name);
	rv = stm_split(cmd, av);
	if (rv == SL_EUSAGE)
		return sl_fail(ctx, "unterminated quote in option '--%s': '%s'",
			       name, cmd);
	if (rv == SL_OK && av->argc == 0) {
		stm_argv_release(av);
		return sl_fail(ctx, "empty command in option '--%s'", name);
	}
	return rv;
}

static void
stm_close(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * A close-on-exec pipe with both ends above fd 2, so that the dup2()s onto
 * 0, 1 and 2 in the child cannot overwrite one another; our end
 * fds[ours] is non-blocking, the child's end stays blocking (O_NONBLOCK
 * belongs to the open file, which the child shares). Returns 0 or errno.
 */
static int
stm_pipe(int fds[2], int ours)
{
	int i, fd, fl, e = 0;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		fds[0] = fds[1] = -1;
		return errno;
	}
	for (i = 0; i < 2 && e == 0; i++) {
		if (fds[i] > 2)
			continue;
		fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			e = errno;
		close(fds[i]);
		fds[i] = fd;
	}
	if (e == 0 && ((fl = fcntl(fds[ours], F_GETFL)) < 0 ||
		       fcntl(fds[ours], F_SETFL, fl | O_NONBLOCK) < 0))
		e = errno;
	if (e != 0) {
		stm_close(&fds[0]);
		stm_close(&fds[1]);
	}
	return e;
}

/*
 * Starts argv (PATH search) with fd0, fd1, fd2 as its stdin, stdout,
 * stderr and no other fd, all signals unblocked and at their defaults
 * (the worker ignores SIGPIPE; the child must not inherit that), in a
 * process group of its own so that release can kill what it starts too.
 * Returns 0 or an errno value (ENOENT: no such command).
 */
static int
stm_spawn(pid_t *pid, char **argv, int fd0, int fd1, int fd2)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int e;

	sigemptyset(&none);
	sigfillset(&all);
	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		return e;
	if ((e = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return e;
	}
	if ((e = posix_spawn_file_actions_adddup2(&fa, fd0, 0)) == 0 &&
	    (e = posix_spawn_file_actions_adddup2(&fa, fd1, 1)) == 0 &&
	    (e = posix_spawn_file_actions_adddup2(&fa, fd2, 2)) == 0 &&
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
	    (e = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (e = posix_spawnattr_setsigdefault(&at, &all)) == 0 &&
	    (e = posix_spawnattr_setpgroup(&at, 0)) == 0 &&
	    (e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
					  POSIX_SPAWN_SETSIGDEF |
					  POSIX_SPAWN_SETPGROUP)) == 0)
		e = posix_spawnp(pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return e;
}

static void
stm_child_init(stm_child *c, sl_ctx *ctx, const char *role)
{
	memset(c, 0, sizeof(*c));
	c->ctx = ctx;
	c->role = role;
	c->pid = -1;
	c->in_fd = c->out_fd = c->err_fd = -1;
	sl_buf_init(&c->in);
	sl_buf_init(&c->out);
	sl_buf_init(&c->err);
}

/*
 * Closes our pipe ends; kills (SIGKILL, with its process group) and reaps
 * a child still running; frees the buffers. Leaves an idle child that
 * stm_child_start() can use again. Safe to call twice.
 */
static void
stm_child_release(stm_child *c)
{
	int status;

	stm_close(&c->in_fd);
	stm_close(&c->out_fd);
	stm_close(&c->err_fd);
	if (c->pid > 0) {
		/* Not yet reaped, so the pid (and group id) is still ours. */
		if (kill(-c->pid, SIGKILL) < 0)
			kill(c->pid, SIGKILL);
		while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
			;
		c->pid = -1;
	}
	free(c->cmd);
	c->cmd = NULL;
	sl_buf_release(&c->in);
	sl_buf_release(&c->out);
	sl_buf_release(&c->err);
}

/*
 * Starts the command of option `role`. Its stdout goes line by line to
 * on_record, or as bytes to on_bytes (exactly one is set). On failure
 * (missing or bad option, no such command, no fds) fails the attempt and
 * leaves c released.
 */
static int
stm_child_start(stm_child *c, sl_ctx *ctx, const char *role,
		stm_record_fn on_record, stm_bytes_fn on_bytes, void *arg)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	stm_argv av;
	int rv, e, i;

	stm_child_init(c, ctx, role);
	c->on_record = on_record;
	c->on_bytes = on_bytes;
	c->arg = arg;
	if ((rv = stm_option_argv(ctx, role, &av)) != SL_OK)
		return rv;
	c->cmd = strdup(sl_option(ctx, role));
	if (c->cmd == NULL) {
		rv = SL_ENOMEM;
		goto out;
	}
	if ((e = stm_pipe(in, 1)) != 0 || (e = stm_pipe(out, 0)) != 0 ||
	    (e = stm_pipe(err, 0)) != 0 ||
	    (e = stm_spawn(&c->pid, av.argv, in[0], out[1], err[1])) != 0) {
		c->pid = -1;
		rv = sl_fail(ctx, "cannot run %s '%s': %s", role, c->cmd,
			     strerror(e));
		goto out;
	}
	c->in_fd = in[1];
	c->out_fd = out[0];
	c->err_fd = err[0];
	in[1] = out[0] = err[0] = -1;
out:
	for (i = 0; i < 2; i++) {
		stm_close(&in[i]);
		stm_close(&out[i]);
		stm_close(&err[i]);
	}
	stm_argv_release(&av);
	if (rv != SL_OK)
		stm_child_release(c);
	return rv;
}

/* One stdout line: "key\tvalue" split at the first tab, or a bare key. */
static int
stm_record(stm_child *c, const char *line, size_t len)
{
	const char *tab = memchr(line, '\t', len);

	if (tab == NULL)
		return c->on_record(c->arg, line, len, "", 0);
	return c->on_record(c->arg, line, (size_t)(tab - line), tab + 1,
			    len - (size_t)(tab - line) - 1);
}

/*
 * Passes on the complete lines of c->out, and at EOF an unterminated last
 * line too; keeps the rest at the front of c->out.
 */
static int
stm_lines(stm_child *c, bool eof)
{
	char *start = c->out.buf, *end = start + c->out.len;
	char *scan = start + c->out_scan, *nl;
	size_t rest;
	int rv = SL_OK;

	while (rv == SL_OK &&
	       (nl = memchr(scan, '\n', (size_t)(end - scan))) != NULL) {
		rv = stm_record(c, start, (size_t)(nl - start));
		start = scan = nl + 1;
	}
	if (rv == SL_OK && eof && start < end) {
		rv = stm_record(c, start, (size_t)(end - start));
		start = end;
	}
	if (rv != SL_OK)
		return rv;
	rest = (size_t)(end - start);
	if (start != c->out.buf) /* a long line is not moved at every read */
		memmove(c->out.buf, start, rest);
	sl_buf_setlen(&c->out, rest);
	c->out_scan = rest;
	if (rest > STM_LINE_MAX)
		return sl_fail(c->ctx, "%s '%s' wrote a line longer than 1 GiB",
			       c->role, c->cmd);
	return SL_OK;
}

/*
 * One read() of at most max bytes from *fd (the child's stdout or
 * stderr) onto the end of b; at EOF closes *fd (-1). Nothing is read
 * when the pipe is empty for now (EAGAIN) or a signal came (EINTR).
 */
static int
stm_read(stm_child *c, int *fd, sl_buf *b, size_t max)
{
	ssize_t n;

	if (sl_buf_grow(b, max) != SL_OK)
		return SL_ENOMEM;
	n = read(*fd, b->buf + b->len, max);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return SL_OK;
	if (n < 0)
		return sl_fail(c->ctx, "cannot read from %s '%s': %s",
			       c->role, c->cmd, strerror(errno));
	if (n == 0)
		stm_close(fd);
	sl_buf_setlen(b, b->len + (size_t)n);
	return SL_OK;
}

/* One read() of stdout, passed on as lines or bytes. */
static int
stm_read_out(stm_child *c)
{
	int rv = stm_read(c, &c->out_fd, &c->out, STM_READ);

	if (rv != SL_OK)
		return rv;
	if (c->on_record != NULL)
		return stm_lines(c, c->out_fd < 0);
	if (c->out.len > 0)
		rv = c->on_bytes(c->arg, c->out.buf, c->out.len);
	sl_buf_reset(&c->out);
	return rv;
}

/* One read() of stderr; keeps the last STM_ERR_TAIL..2*STM_ERR_TAIL bytes. */
static int
stm_read_err(stm_child *c)
{
	int rv = stm_read(c, &c->err_fd, &c->err, STM_ERR_TAIL);

	if (rv == SL_OK && c->err.len > 2 * STM_ERR_TAIL) {
		memmove(c->err.buf, c->err.buf + c->err.len - STM_ERR_TAIL,
			STM_ERR_TAIL);
		sl_buf_setlen(&c->err, STM_ERR_TAIL);
	}
	return rv;
}

/*
 * One write() of the queued input. EPIPE (the child closed its stdin) is
 * not an error here: the input is dropped and c->broken set, for finish to
 * report with the exit status.
 */
static int
stm_write_in(stm_child *c)
{
	ssize_t n = write(c->in_fd, c->in.buf + c->in_off,
			  c->in.len - c->in_off);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return SL_OK;
		if (errno != EPIPE)
			return sl_fail(c->ctx, "cannot write to %s '%s': %s",
				       c->role, c->cmd, strerror(errno));
		c->broken = true;
		stm_close(&c->in_fd);
		n = (ssize_t)(c->in.len - c->in_off);
	}
	c->in_off += (size_t)n;
	if (c->in_off == c->in.len) {
		sl_buf_reset(&c->in);
		c->in_off = 0;
	}
	return SL_OK;
}

/*
 * Moves bytes both ways until the queued input is written (drain false),
 * or until the input is written, stdin closed and stdout and stderr are at
 * EOF (drain true). Reads stdout and stderr whenever they are readable, so
 * a child that writes before it reads never blocks us, nor we it.
 */
static int
stm_pump(stm_child *c, bool drain)
{
	struct pollfd pfd[3];
	bool pending;
	int rv = SL_OK;

	while (rv == SL_OK) {
		pending = c->in_fd >= 0 && c->in_off < c->in.len;
		if (!pending && drain)
			stm_close(&c->in_fd);
		if (!pending && (!drain || (c->out_fd < 0 && c->err_fd < 0)))
			break;
		pfd[0] = (struct pollfd){ pending ? c->in_fd : -1, POLLOUT, 0 };
		pfd[1] = (struct pollfd){ c->out_fd, POLLIN, 0 };
		pfd[2] = (struct pollfd){ c->err_fd, POLLIN, 0 };
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return sl_fail(c->ctx, "cannot poll %s '%s': %s",
				       c->role, c->cmd, strerror(errno));
		}
		if (pfd[0].revents != 0)
			rv = stm_write_in(c);
		if (rv == SL_OK && pfd[1].revents != 0)
			rv = stm_read_out(c);
		if (rv == SL_OK && pfd[2].revents != 0)
			rv = stm_read_err(c);
	}
	return rv;
}

/*
 * Appends ": " and the last STM_ERR_LINES non-empty lines of the kept
 * stderr, joined with "; " so that the message stays one line.
 */
static void
stm_err_lines(const stm_child *c, sl_buf *msg)
{
	const char *p = c->err.buf, *end = p + c->err.len, *nl, *e;
	sl_slice last[STM_ERR_LINES];
	size_t n = 0, i;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		e = nl != NULL ? nl : end;
		if (e > p && e[-1] == '\r')
			e--;
		if (e > p) {
			if (n == STM_ERR_LINES)
				memmove(last, last + 1, --n * sizeof(*last));
			last[n++] = (sl_slice){ p, (size_t)(e - p) };
		}
		p = nl != NULL ? nl + 1 : end;
	}
	for (i = 0; i < n; i++) {
		sl_buf_addstr(msg, i == 0 ? ": " : "; ");
		sl_buf_add(msg, last[i].ptr, last[i].len);
	}
}

/* SL_OK for a clean exit having read all its input, else the error. */
static int
stm_judge(stm_child *c, int status)
{
	sl_buf msg = SL_BUF_INIT;
	int rv;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !c->broken)
		return SL_OK;
	if (WIFSIGNALED(status))
		sl_buf_addf(&msg, "killed by signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		sl_buf_addf(&msg, "exited with status %d",
			    WEXITSTATUS(status));
	else
		sl_buf_addstr(&msg, "exited without reading all its input");
	stm_err_lines(c, &msg);
	rv = sl_fail(c->ctx, "%s '%s' %s", c->role, c->cmd, msg.buf);
	sl_buf_release(&msg);
	return rv;
}

/*
 * Ends the child: writes the queued input, closes its stdin, passes on the
 * rest of its stdout and reaps it. Returns SL_OK when it exited with
 * status 0 having read all its input, else fails the attempt with its
 * status and the last lines of its stderr. Releases c in every case.
 */
static int
stm_child_finish(stm_child *c)
{
	int rv, status = 0;

	rv = stm_pump(c, true);
	while (rv == SL_OK && waitpid(c->pid, &status, 0) < 0) {
		if (errno != EINTR)
			rv = sl_fail(c->ctx, "cannot wait for %s '%s': %s",
				     c->role, c->cmd, strerror(errno));
	}
	if (rv == SL_OK) {
		c->pid = -1;
		rv = stm_judge(c, status);
	}
	stm_child_release(c);
	return rv;
}

/*
 * Queues "key\tvalue\n" (or "key\n" without has_val) for the child's
 * stdin and writes once a batch is full. A child that stopped reading is
 * finished at once, to report how it ended.
 */
static int
stm_child_send(stm_child *c, const void *key, size_t klen, const void *val,
	       size_t vlen, bool has_val)
{
	int rv;

	rv = sl_buf_add(&c->in, key, klen);
	if (rv == SL_OK && has_val)
		rv = sl_buf_addch(&c->in, '\t');
	if (rv == SL_OK && has_val)
		rv = sl_buf_add(&c->in, val, vlen);
	if (rv == SL_OK)
		rv = sl_buf_addch(&c->in, '\n');
	if (rv != SL_OK || c->in.len - c->in_off < STM_BATCH)
		return rv;
	rv = stm_pump(c, false);
	if (rv == SL_OK && c->broken)
		rv = stm_child_finish(c);
	return rv;
}

/* Sinks of the children's output. */

static int
stm_emit(void *arg, const char *key, size_t klen, const char *val,
	 size_t vlen)
{
	stm_task *t = arg;

	return sl_emit(t->ctx, key, klen, val, vlen);
}

static int
stm_hold(void *arg, const char *key, size_t klen, const char *val,
	 size_t vlen)
{
	stm_task *t = arg;

	return sl_kv_append(&t->held, key, klen, val, vlen);
}

static int
stm_write(void *arg, const char *data, size_t len)
{
	stm_task *t = arg;

	t->need_nl = data[len - 1] != '\n';
	return sl_write(t->ctx, data, len);
}

/* Map with --combiner: the held records, sorted, through the combiner. */
static int
stm_combine(stm_task *t)
{
	sl_buf sorted = SL_BUF_INIT;
	sl_slice k, v;
	size_t pos = 0;
	int rv;

	rv = sl_kv_sort(t->held.buf, t->held.len, &sorted);
	sl_buf_release(&t->held);
	if (rv == SL_OK)
		rv = stm_child_start(&t->child, t->ctx, "combiner", stm_emit,
				     NULL, t);
	/* sl_kv_next() returns 1 for a record, 0 at the end (== SL_OK). */
	while (rv == SL_OK &&
	       (rv = sl_kv_next(sorted.buf, sorted.len, &pos, &k, &v)) == 1)
		rv = stm_child_send(&t->child, k.ptr, k.len, v.ptr, v.len,
				    true);
	if (rv == SL_OK)
		rv = stm_child_finish(&t->child);
	sl_buf_release(&sorted);
	return rv;
}

static int
stm_check(sl_ctx *ctx)
{
	static const char *const names[] = { "mapper", "reducer", "combiner" };
	stm_argv av;
	size_t i;
	int rv;

	for (i = 0; i < SL_ARRAY_LEN(names); i++) {
		/* The combiner is optional; the others are not. */
		if (i == 2 && sl_option(ctx, names[i]) == NULL)
			continue;
		if ((rv = stm_option_argv(ctx, names[i], &av)) != SL_OK)
			return rv;
		stm_argv_release(&av);
	}
	return SL_OK;
}

static int
stm_task_begin(sl_ctx *ctx)
{
	stm_task *t = calloc(1, sizeof(*t));
	int rv;

	if (t == NULL)
		return SL_ENOMEM;
	t->ctx = ctx;
	sl_buf_init(&t->held);
	if (sl_task_kind_of(ctx) == SL_TASK_REDUCE) {
		rv = stm_child_start(&t->child, ctx, "reducer", NULL,
				     stm_write, t);
	} else {
		t->combine = sl_option(ctx, "combiner") != NULL;
		rv = stm_child_start(&t->child, ctx, "mapper",
				     t->combine ? stm_hold : stm_emit, NULL, t);
	}
	if (rv != SL_OK) {
		free(t);
		return rv;
	}
	sl_set_task_data(ctx, t);
	return SL_OK;
}

static int
stm_map(sl_ctx *ctx, const sl_record *rec)
{
	stm_task *t = sl_task_data(ctx);

	if (t->failed == SL_OK)
		t->failed = stm_child_send(&t->child, rec->line.ptr,
					   rec->line.len, NULL, 0, false);
	return t->failed;
}

static int
stm_reduce(sl_ctx *ctx, const void *key, size_t klen, sl_values *vals)
{
	stm_task *t = sl_task_data(ctx);
	const void *val;
	size_t vlen;

	while (t->failed == SL_OK && sl_values_next(vals, &val, &vlen))
		t->failed = stm_child_send(&t->child, key, klen, val, vlen,
					   true);
	return t->failed;
}

/*
 * After a failed callback only cleans up (kills a child still running);
 * else finishes the child, and runs the combiner or ends the part file.
 */
static int
stm_task_end(sl_ctx *ctx)
{
	stm_task *t = sl_task_data(ctx);
	int rv;

	if (t == NULL)
		return SL_OK;
	rv = t->failed;
	if (rv == SL_OK)
		rv = stm_child_finish(&t->child);
	if (rv == SL_OK && t->combine)
		rv = stm_combine(t);
	if (rv == SL_OK && t->need_nl)
		rv = sl_write(ctx, "\n", 1);
	stm_child_release(&t->child);
	sl_buf_release(&t->held);
	free(t);
	sl_set_task_data(ctx, NULL);
	return rv;
}

static const sl_job_option stm_options[] = {
	{ "mapper", "CMD", "command run by each map task: input lines on "
			   "stdin, key<TAB>value lines on stdout (required)" },
	{ "reducer", "CMD", "command run by each reduce task: sorted "
			    "key<TAB>value lines on stdin, output on stdout "
			    "(required)" },
	{ "combiner", "CMD", "command run at the end of each map task over "
			     "its sorted key<TAB>value lines" },
	{ NULL, NULL, NULL },
};

const sl_job sl__job_streaming = {
	.api_version = SL_API_VERSION,
	.name = "streaming",
	.summary = "map and reduce with commands speaking the Hadoop "
		   "Streaming line protocol",
	.input = SL_INPUT_LINES,
	.options = stm_options,
	.check = stm_check,
	.task_begin = stm_task_begin,
	.task_end = stm_task_end,
	.map = stm_map,
	.reduce = stm_reduce,
};
