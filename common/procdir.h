/*
 * procdir.h - directories that belong to one process of this host, and
 * the sweep that removes those of processes that are gone.
 *
 * A worker spills into TMPDIR/sluice-JOB-HOST-PID; `sluice run` keeps its
 * ipc endpoints and its workers' spills in TMPDIR/sluice-run-HOST-PID.XXXXXX
 * (mkdtemp: private, 0700, not guessable). A process killed by SIGKILL or
 * the OOM killer removes nothing, so the next process that makes such a
 * directory sweeps the parent first: a directory is stale when its HOST is
 * this host's, it is owned by this user, and its PID is no process
 * (kill(PID, 0) fails with ESRCH). Anything else stays: another host's, a
 * live PID's (or a PID reused since: it is looked at again next time),
 * other names, non-directories, symbolic links.
 *
 * sl_rmtree() is the one recursive removal of the engine (spill dirs, run
 * dirs, an output's _temporary), sl_mkdirs() its one mkdir -p. No state;
 * any thread.
 */
#ifndef SL_PROCDIR_H
#define SL_PROCDIR_H

#include <sys/types.h>

struct sl_buf;

#define SL_HOST_MAX 256 /* bytes of a host name as names hold it, with NUL */

/*
 * This host's name as directory names hold it: gethostname() with every
 * byte but [A-Za-z0-9._-] made '_' (a '/' would make a path), "localhost"
 * when there is none.
 */
void sl_host_id(char host[SL_HOST_MAX]);

/*
 * Creates directory path and its missing parents with mode (mkdir -p).
 * SL_OK, or SL_EIO with "cannot create directory 'x': reason" in err.
 */
int sl_mkdirs(const char *path, mode_t mode, struct sl_buf *err);

/*
 * Removes path and everything under it, without following symbolic links
 * (a link is removed, not what it points to). A missing path is not an
 * error. SL_OK, or SL_EIO with "cannot remove 'x': reason" appended to
 * err for the first entry that could not be removed (the others are
 * still removed).
 */
int sl_rmtree(const char *path, struct sl_buf *err);

/*
 * The PID in a directory name of this host's, or 0 when the name is not
 * of that kind or of another host: sl_spill_dir_pid for
 * "sluice-JOB-HOST-PID", sl_run_dir_pid for "sluice-run-HOST-PID.XXXXXX".
 */
typedef pid_t sl_dir_pid_fn(const char *name, const char *host);
sl_dir_pid_fn sl_spill_dir_pid;
sl_dir_pid_fn sl_run_dir_pid;

/*
 * Removes the stale directories in dir whose names pid_of() reads (see
 * above). Each removal is logged (info) as "the stale WHAT directory",
 * each failure too (warning) and skipped; a dir that cannot be read is no
 * error (debug). Returns the number of directories removed.
 */
unsigned sl_procdir_sweep(const char *dir, sl_dir_pid_fn *pid_of,
			  const char *what);

/*
 * Creates a new private directory PARENT/sluice-run-HOST-PID.XXXXXX (mode
 * 0700) for this process and writes its path to out. SL_OK, or SL_EIO with
 * the reason in err.
 */
int sl_run_dir_make(const char *parent, struct sl_buf *out,
		    struct sl_buf *err);

#endif
