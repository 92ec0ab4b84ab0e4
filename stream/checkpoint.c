/*
 * checkpoint.c - a stream's checkpoint directory; see checkpoint.h and
 * docs/stream.md.
 */
#include "checkpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/io.h"
#include "common/log.h"
#include "common/procdir.h"

/* The largest N of the entries of dir named by a number, 0 for none. */
static uint64_t
ck_last_entry(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t last = 0, n;
	char *end;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		n = strtoull(e->d_name, &end, 10);
		if (*end == '\0' && n > last)
			last = n;
	}
	closedir(d);
	return last;
}

/* dir/sub/NNNNNNNNNN (n > 0), or dir/sub. */
static void
ck_path(const sl_checkpoint *ck, sl_buf *b, const char *sub, uint64_t n)
{
	sl_buf_addf(b, "%s/%s", ck->dir, sub);
	if (n)
		sl_buf_addf(b, "/%010llu", (unsigned long long)n);
}

/* Reads the watermark of commit log entry n into ck->wm. */
static int
ck_read_commit(sl_checkpoint *ck, uint64_t n, sl_buf *err)
{
	sl_buf path = SL_BUF_INIT, text = SL_BUF_INIT;
	long long v;
	int rv;

	ck_path(ck, &path, "commits", n);
	ck->wm = SL_NO_WATERMARK;
	if ((rv = sl_read_file(path.buf, &text, err)) == SL_OK) {
		if (sscanf(text.buf, "watermark %lld", &v) == 1)
			ck->wm = v;
		else if (strcmp(text.buf, "watermark none\n") != 0) {
			sl_buf_addf(err, "checkpoint '%s': '%s' is not a "
				    "commit of this version", ck->dir,
				    path.buf);
			rv = SL_EIO;
		}
	}
	sl_buf_release(&path);
	sl_buf_release(&text);
	return rv;
}

int
sl_ck_open(sl_checkpoint *ck, const char *dir, const char *identity,
	   sl_buf *err)
{
	static const char *const sub[] = { "offsets", "commits", "state" };
	sl_buf path = SL_BUF_INIT, want = SL_BUF_INIT, have = SL_BUF_INIT;
	size_t i;
	int rv;

	memset(ck, 0, sizeof(*ck));
	ck->lock_fd = -1;
	ck->wm = SL_NO_WATERMARK;
	if ((ck->dir = strdup(dir)) == NULL)
		return SL_ENOMEM;
	if ((rv = sl_mkdirs(dir, 0755, err)) != SL_OK)
		goto out;
	sl_buf_addf(&path, "%s/lock", dir);
	ck->lock_fd = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ck->lock_fd < 0 || flock(ck->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		sl_buf_addf(err, "checkpoint '%s' is in use by another stream "
			    "(%s is locked)", dir, path.buf);
		rv = SL_EUSAGE;
		goto out;
	}
	for (i = 0; i < SL_ARRAY_LEN(sub); i++) {
		sl_buf_reset(&path);
		ck_path(ck, &path, sub[i], 0);
		if ((rv = sl_mkdirs(path.buf, 0755, err)) != SL_OK)
			goto out;
	}
	sl_buf_addf(&want, "%s\n%s", SL_CK_FORMAT, identity);
	sl_buf_reset(&path);
	sl_buf_addf(&path, "%s/meta", dir);
	rv = sl_read_file(path.buf, &have, err);
	if (rv == SL_ENOTFOUND)
		rv = sl_write_file(dir, "meta", want.buf, want.len, err);
	else if (rv == SL_OK && strcmp(have.buf, want.buf) != 0) {
		sl_buf_addf(err, "checkpoint '%s' belongs to another stream: "
			    "its job, options, partitions or source differ "
			    "(%s/meta); use another --checkpoint", dir, dir);
		rv = SL_EUSAGE;
	}
	if (rv != SL_OK)
		goto out;
	sl_buf_reset(&path);
	ck_path(ck, &path, "commits", 0);
	ck->committed = ck_last_entry(path.buf);
	if (ck->committed)
		rv = ck_read_commit(ck, ck->committed, err);
out:
	sl_buf_release(&path);
	sl_buf_release(&want);
	sl_buf_release(&have);
	return rv;
}

void
sl_ck_close(sl_checkpoint *ck)
{
	if (ck->lock_fd >= 0)
		close(ck->lock_fd);
	ck->lock_fd = -1;
	free(ck->dir);
	ck->dir = NULL;
}

uint64_t
sl_ck_logged(const sl_checkpoint *ck)
{
	sl_buf path = SL_BUF_INIT;
	uint64_t n;

	ck_path(ck, &path, "offsets", 0);
	n = ck_last_entry(path.buf);
	sl_buf_release(&path);
	return n;
}

int
sl_ck_offsets(const sl_checkpoint *ck, uint64_t n, int64_t *time,
	      sl_buf *offsets, sl_buf *err)
{
	sl_buf path = SL_BUF_INIT, text = SL_BUF_INIT;
	size_t hl = strlen(SL_CK_FORMAT "\n");
	long long t;
	int used = 0, rv;

	ck_path(ck, &path, "offsets", n);
	rv = sl_read_file(path.buf, &text, err);
	if (rv == SL_ENOTFOUND) {
		sl_buf_addf(err, "checkpoint '%s': batch %llu is in the commit "
			    "log but not in the offset log", ck->dir,
			    (unsigned long long)n);
		rv = SL_EIO;
	} else if (rv == SL_OK &&
		   (text.len < hl || memcmp(text.buf, SL_CK_FORMAT "\n", hl))) {
		sl_buf_addf(err, "checkpoint '%s': '%s' is not an offset log "
			    "entry of this version", ck->dir, path.buf);
		rv = SL_EIO;
	}
	/* An entry of before batch times has none: 0, the job's start. */
	t = 0;
	if (rv == SL_OK && strncmp(text.buf + hl, "batch-time ", 11) == 0 &&
	    (sscanf(text.buf + hl, "batch-time %lld\n%n", &t, &used) != 1 ||
	     used == 0)) {
		sl_buf_addf(err, "checkpoint '%s': '%s': a bad batch-time line",
			    ck->dir, path.buf);
		rv = SL_EIO;
	}
	sl_buf_reset(offsets);
	if (rv == SL_OK) {
		*time = t;
		sl_buf_addstr(offsets, text.buf + hl + used);
	}
	sl_buf_release(&path);
	sl_buf_release(&text);
	return rv;
}

int
sl_ck_log_offsets(const sl_checkpoint *ck, uint64_t n, int64_t time,
		  const char *offsets, sl_buf *err)
{
	sl_buf dir = SL_BUF_INIT, name = SL_BUF_INIT, text = SL_BUF_INIT;
	int rv;

	ck_path(ck, &dir, "offsets", 0);
	sl_buf_addf(&name, "%010llu", (unsigned long long)n);
	sl_buf_addf(&text, "%s\nbatch-time %lld\n%s", SL_CK_FORMAT,
		    (long long)time, offsets);
	rv = sl_write_file(dir.buf, name.buf, text.buf, text.len, err);
	sl_buf_release(&dir);
	sl_buf_release(&name);
	sl_buf_release(&text);
	return rv;
}

void
sl_ck_state_dir(const sl_checkpoint *ck, uint64_t n, sl_buf *dir)
{
	if (n)
		ck_path(ck, dir, "state", n);
}

int
sl_ck_commit(sl_checkpoint *ck, uint64_t n, int64_t wm, sl_buf *err)
{
	sl_buf dir = SL_BUF_INIT, name = SL_BUF_INIT, text = SL_BUF_INIT;
	sl_buf warn = SL_BUF_INIT;
	int rv;

	ck_path(ck, &dir, "state", n);
	if ((rv = sl_write_file(dir.buf, "_SUCCESS", "", 0, err)) != SL_OK)
		goto out;
	sl_buf_reset(&dir);
	ck_path(ck, &dir, "commits", 0);
	sl_buf_addf(&name, "%010llu", (unsigned long long)n);
	if (wm == SL_NO_WATERMARK)
		sl_buf_addstr(&text, "watermark none\n");
	else
		sl_buf_addf(&text, "watermark %lld\n", (long long)wm);
	if ((rv = sl_write_file(dir.buf, name.buf, text.buf, text.len,
				err)) != SL_OK)
		goto out;
	ck->committed = n;
	ck->wm = wm;
	/* Batch n-1's state is not needed once n is committed. */
	sl_buf_reset(&dir);
	if (n > 1) {
		ck_path(ck, &dir, "state", n - 1);
		if (sl_rmtree(dir.buf, &warn) != SL_OK)
			sl_warn("%s", warn.buf);
	}
out:
	sl_buf_release(&dir);
	sl_buf_release(&name);
	sl_buf_release(&text);
	sl_buf_release(&warn);
	return rv;
}

void
sl_ck_late_dir(const sl_checkpoint *ck, sl_buf *dir)
{
	ck_path(ck, dir, "late", 0);
}

uint64_t
sl_ck_state_bytes(const sl_checkpoint *ck, uint64_t n)
{
	sl_buf dir = SL_BUF_INIT, path = SL_BUF_INIT;
	struct dirent *e;
	struct stat st;
	uint64_t bytes = 0;
	DIR *d;

	ck_path(ck, &dir, "state", n);
	d = opendir(dir.buf);
	while (d && (e = readdir(d)) != NULL) {
		sl_buf_reset(&path);
		sl_buf_addf(&path, "%s/%s", dir.buf, e->d_name);
		if (stat(path.buf, &st) == 0 && S_ISREG(st.st_mode))
			bytes += (uint64_t)st.st_size;
	}
	if (d)
		closedir(d);
	sl_buf_release(&dir);
	sl_buf_release(&path);
	return bytes;
}

void
sl_ck_progress(const sl_checkpoint *ck, const char *line)
{
	sl_buf path = SL_BUF_INIT;
	int fd;

	sl_buf_addf(&path, "%s/progress.jsonl", ck->dir);
	fd = open(path.buf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || sl_write_all(fd, line, strlen(line)) != SL_OK ||
	    sl_write_all(fd, "\n", 1) != SL_OK)
		sl_warn("stream: cannot append to '%s'", path.buf);
	if (fd >= 0)
		close(fd);
	sl_buf_release(&path);
}
