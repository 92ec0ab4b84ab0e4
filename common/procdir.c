/*
 * procdir.c - per-process directories and their sweep; see procdir.h.
 */
#include "sl_impl.h"
#include "procdir.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

void
sl_host_id(char host[SL_HOST_MAX])
{
	char *p;

	if (gethostname(host, SL_HOST_MAX) != 0 || host[0] == '\0')
		snprintf(host, SL_HOST_MAX, "localhost");
	host[SL_HOST_MAX - 1] = '\0';
	for (p = host; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			*p = '_';
}

/*
 * Removes the entries of the directory open as fd (which it closes),
 * depth first. The first failure's reason goes to err; the rest of the
 * entries are still removed.
 */
static int
procdir_rm_entries(int fd, const char *path, sl_buf *err)
{
	sl_buf sub = SL_BUF_INIT, why = SL_BUF_INIT;
	struct dirent *de;
	struct stat st;
	DIR *d = fdopendir(fd);
	int rv = SL_OK, cfd;

	if (d == NULL) {
		close(fd);
		sl_buf_addf(err, "cannot read '%s': %s", path, strerror(errno));
		return SL_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sl_buf_reset(&sub);
		sl_buf_reset(&why);
		sl_buf_addf(&sub, "%s/%s", path, de->d_name);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
			    0 &&
		    S_ISDIR(st.st_mode)) {
			cfd = openat(dirfd(d), de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
			if (cfd < 0)
				sl_buf_addf(&why, "cannot open '%s': %s",
					    sub.buf, strerror(errno));
			else if (procdir_rm_entries(cfd, sub.buf, &why) ==
					 SL_OK &&
				 unlinkat(dirfd(d), de->d_name,
					  AT_REMOVEDIR) != 0 &&
				 errno != ENOENT)
				sl_buf_addf(&why, "cannot remove '%s': %s",
					    sub.buf, strerror(errno));
		} else if (unlinkat(dirfd(d), de->d_name, 0) != 0 &&
			   errno != ENOENT) {
			sl_buf_addf(&why, "cannot remove '%s': %s", sub.buf,
				    strerror(errno));
		}
		if (why.len && rv == SL_OK) {
			sl_buf_addstr(err, why.buf);
			rv = SL_EIO;
		}
	}
	closedir(d);
	sl_buf_release(&sub);
	sl_buf_release(&why);
	return rv;
}

int
sl_mkdirs(const char *path, mode_t mode, sl_buf *err)
{
	sl_buf p = SL_BUF_INIT;
	size_t i;
	int rv = SL_OK;

	sl_buf_addstr(&p, path);
	for (i = 1; i <= p.len; i++) {
		if (p.buf[i] != '/' && p.buf[i] != '\0')
			continue;
		p.buf[i] = '\0';
		if (mkdir(p.buf, mode) != 0 && errno != EEXIST) {
			sl_buf_addf(err, "cannot create directory '%s': %s",
				    p.buf, strerror(errno));
			rv = SL_EIO;
			break;
		}
		p.buf[i] = i < p.len ? '/' : '\0';
	}
	sl_buf_release(&p);
	return rv;
}

int
sl_rmtree(const char *path, sl_buf *err)
{
	struct stat st;
	int fd, rv;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return SL_OK;
		sl_buf_addf(err, "cannot remove '%s': %s", path,
			    strerror(errno));
		return SL_EIO;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) == 0 || errno == ENOENT)
			return SL_OK;
		sl_buf_addf(err, "cannot remove '%s': %s", path,
			    strerror(errno));
		return SL_EIO;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		sl_buf_addf(err, "cannot open '%s': %s", path, strerror(errno));
		return SL_EIO;
	}
	if ((rv = procdir_rm_entries(fd, path, err)) != SL_OK)
		return rv;
	if (rmdir(path) != 0 && errno != ENOENT) {
		sl_buf_addf(err, "cannot remove '%s': %s", path,
			    strerror(errno));
		return SL_EIO;
	}
	return SL_OK;
}

/*
 * Reads "-HOST-PID" at p, then `tail` more bytes that must be
 * [A-Za-z0-9] after a '.' when tail > 0; the PID, else 0.
 */
static pid_t
procdir_host_pid(const char *p, const char *host, size_t tail)
{
	size_t hlen = strlen(host), i;
	unsigned long long pid = 0;

	if (*p++ != '-' || strncmp(p, host, hlen) != 0 || p[hlen] != '-')
		return 0;
	for (p += hlen + 1; isdigit((unsigned char)*p) && pid <= INT_MAX; p++)
		pid = pid * 10 + (unsigned long long)(*p - '0');
	if (tail) {
		if (*p++ != '.')
			return 0;
		for (i = 0; i < tail; i++, p++)
			if (!isalnum((unsigned char)*p))
				return 0;
	}
	/* pid 0 and below would name process groups to kill(). */
	return *p == '\0' && pid >= 1 && pid <= INT_MAX ? (pid_t)pid : 0;
}

/* The PID is read from the end, so a HOST with '-' in it parses too. */
pid_t
sl_spill_dir_pid(const char *name, const char *host)
{
	const char *p = name + strlen("sluice-");

	if (strncmp(name, "sluice-", strlen("sluice-")) != 0 ||
	    !isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	return procdir_host_pid(p, host, 0);
}

#define PROCDIR_RUN "sluice-run"
#define PROCDIR_RANDOM 6 /* the XXXXXX of mkdtemp */

pid_t
sl_run_dir_pid(const char *name, const char *host)
{
	if (strncmp(name, PROCDIR_RUN, strlen(PROCDIR_RUN)) != 0)
		return 0;
	return procdir_host_pid(name + strlen(PROCDIR_RUN), host,
				PROCDIR_RANDOM);
}

unsigned
sl_procdir_sweep(const char *dir, sl_dir_pid_fn *pid_of, const char *what)
{
	char host[SL_HOST_MAX];
	sl_buf path = SL_BUF_INIT, err = SL_BUF_INIT;
	struct dirent *de;
	struct stat st;
	unsigned removed = 0;
	pid_t pid;
	DIR *d = opendir(dir);

	if (d == NULL) {
		/* A missing --tmpdir fails the task or run that needs it. */
		sl_debug("cannot look for stale %s directories in '%s': %s",
			 what, dir, strerror(errno));
		return 0;
	}
	sl_host_id(host);
	while ((de = readdir(d)) != NULL) {
		/* lstat: a symbolic link is not a directory of ours. */
		if ((pid = pid_of(de->d_name, host)) == 0 ||
		    fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
			continue;
		/* Alive, or another user's process (EPERM): not stale. */
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		sl_buf_reset(&path);
		sl_buf_reset(&err);
		if (sl_buf_addf(&path, "%s/%s", dir, de->d_name) != SL_OK)
			break;
		if (sl_rmtree(path.buf, &err) != SL_OK) {
			sl_warn("cannot remove the stale %s directory of "
				"process %d: %s", what, (int)pid, err.buf);
			continue;
		}
		sl_info("removed the stale %s directory '%s' of process %d, "
			"which is gone", what, path.buf, (int)pid);
		removed++;
	}
	closedir(d);
	sl_buf_release(&path);
	sl_buf_release(&err);
	return removed;
}

int
sl_run_dir_make(const char *parent, sl_buf *out, sl_buf *err)
{
	char host[SL_HOST_MAX];

	sl_host_id(host);
	sl_buf_reset(out);
	if (sl_buf_addf(out, "%s/%s-%s-%d.XXXXXX", parent, PROCDIR_RUN, host,
			(int)getpid()) != SL_OK)
		return SL_ENOMEM;
	if (mkdtemp(out->buf) == NULL) {
		sl_buf_addf(err, "cannot create a directory in '%s': %s",
			    parent, strerror(errno));
		sl_buf_reset(out);
		return SL_EIO;
	}
	return SL_OK;
}
