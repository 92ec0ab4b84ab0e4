/*
 * launch.c - worker processes of the local mode; see launch.h.
 */
#include "launch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zmsg.h"

static void
launch_reaped(sl_local_cluster *lc, uint32_t i, int status)
{
	bool killed = lc->killed[i];

	lc->pids[i] = 0;
	lc->killed[i] = false;
	lc->alive--;
	if (killed)
		return;
	if (WIFSIGNALED(status))
		sl_warn("worker process %u killed by signal %d", i + 1,
			WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		sl_warn("worker process %u exited with status %d", i + 1,
			WEXITSTATUS(status));
}

/* The shuffle endpoint of worker i. */
static int
launch_endpoint(const sl_local_cluster *lc, uint32_t i, sl_buf *out)
{
	sl_buf_reset(out);
	return sl_buf_addf(out, "ipc://%s/shuffle-%u", lc->rundir, i + 1);
}

/* Starts worker i (its shuffle endpoint is rundir/shuffle-(i+1)). */
static int
launch_spawn(sl_local_cluster *lc, uint32_t i, sl_buf *err)
{
	sl_buf shuffle = SL_BUF_INIT;
	pid_t pid, parent = getpid();

	launch_endpoint(lc, i, &shuffle);
	/* One slot, unpinned: local mode runs a worker process per core. */
	char *argv[] = { lc->exe, "worker", "--connect", lc->coordinator,
			 "--shuffle-bind", shuffle.buf, "--slots", "1",
			 "--bind", "none",
			 lc->verbose >= 2 ? "-vv" : lc->verbose ? "-v" : NULL,
			 NULL };
	pid = fork();
	if (pid < 0) {
		sl_buf_addf(err, "cannot start a worker: %s", strerror(errno));
		sl_buf_release(&shuffle);
		return SL_EIO;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls: the parent has threads. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		execv(lc->exe, argv);
		_exit(127);
	}
	sl_buf_release(&shuffle);
	lc->pids[i] = pid;
	lc->alive++;
	return SL_OK;
}

int
sl_local_start(sl_local_cluster *lc, uint32_t n, const char *coordinator,
	       const char *rundir, int verbose, sl_buf *err)
{
	ssize_t len;
	uint32_t i;

	memset(lc, 0, sizeof(*lc));
	lc->verbose = verbose;
	lc->pids = calloc(n, sizeof(*lc->pids));
	lc->killed = calloc(n, sizeof(*lc->killed));
	lc->coordinator = strdup(coordinator);
	lc->rundir = strdup(rundir);
	if (!lc->pids || !lc->killed || !lc->coordinator || !lc->rundir) {
		sl_local_stop(lc, 0);
		return SL_ENOMEM;
	}
	len = readlink("/proc/self/exe", lc->exe, sizeof(lc->exe) - 1);
	if (len <= 0) {
		sl_buf_addf(err, "cannot find this program: %s",
			    strerror(errno));
		sl_local_stop(lc, 0);
		return SL_EIO;
	}
	lc->exe[len] = '\0';
	lc->n = n;
	for (i = 0; i < n; i++) {
		if (launch_spawn(lc, i, err) != SL_OK) {
			sl_local_stop(lc, 0);
			return SL_EIO;
		}
	}
	return SL_OK;
}

bool
sl_local_kill_lost(sl_local_cluster *lc, uint32_t pid, const char *endpoint)
{
	sl_buf ep = SL_BUF_INIT;
	uint32_t i;
	bool ours = false;

	for (i = 0; i < lc->n && !ours; i++) {
		if (lc->pids[i] == 0 || (uint32_t)lc->pids[i] != pid)
			continue;
		ours = launch_endpoint(lc, i, &ep) == SL_OK &&
		       strcmp(ep.buf, endpoint) == 0;
		if (ours && kill(lc->pids[i], SIGKILL) == 0) {
			lc->killed[i] = true;
			sl_info("killed worker process %u (pid %u), which was "
				"lost", i + 1, pid);
		}
	}
	sl_buf_release(&ep);
	return ours;
}

uint32_t
sl_local_poll(sl_local_cluster *lc)
{
	uint32_t i;
	int status;

	for (i = 0; i < lc->n; i++)
		if (lc->pids[i] &&
		    waitpid(lc->pids[i], &status, WNOHANG) == lc->pids[i])
			launch_reaped(lc, i, status);
	return lc->alive;
}

uint32_t
sl_local_replace(sl_local_cluster *lc)
{
	sl_buf err = SL_BUF_INIT;
	uint32_t i, started = 0;

	for (i = 0; i < lc->n; i++) {
		if (lc->pids[i] ||
		    lc->replaced >= SL_LOCAL_MAX_REPLACE_PER_WORKER * lc->n)
			continue;
		if (launch_spawn(lc, i, &err) != SL_OK) {
			sl_warn("%s", err.buf);
			break;
		}
		lc->replaced++;
		started++;
		sl_info("started a new worker process %u to replace the one "
			"that exited", i + 1);
	}
	sl_buf_release(&err);
	return started;
}

void
sl_local_stop(sl_local_cluster *lc, uint32_t grace_ms)
{
	uint64_t until = sl_now_ms() + grace_ms;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	uint32_t i;
	int status;

	/* SIGTERM asks for a clean exit: a worker told SHUTDOWN is on its
	 * way out anyway, and one that had not joined yet hears it only
	 * this way. Then a bounded wait; polling since waitpid has no
	 * timeout and SIGCHLD handling would reach into the caller. */
	for (i = 0; i < lc->n; i++)
		if (lc->pids[i]) {
			lc->killed[i] = true;
			kill(lc->pids[i], SIGTERM);
			kill(lc->pids[i], SIGCONT);
		}
	while (sl_local_poll(lc) > 0 && sl_now_ms() < until)
		nanosleep(&ts, NULL);
	for (i = 0; i < lc->n; i++) {
		if (lc->pids[i] == 0)
			continue;
		kill(lc->pids[i], SIGKILL);
		if (waitpid(lc->pids[i], &status, 0) == lc->pids[i]) {
			lc->pids[i] = 0;
			lc->alive--;
		}
	}
	free(lc->pids);
	free(lc->killed);
	free(lc->coordinator);
	free(lc->rundir);
	memset(lc, 0, sizeof(*lc));
}
