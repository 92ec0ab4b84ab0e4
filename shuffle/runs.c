/*
 * runs.c - spilled runs of a map output and their final merge; see
 * runs.h.
 *
 * The runs of partition r are the files PREFIX-p<r>-0 ... -<n[r]-1>: a
 * spill writes only the partitions that hold records, so each partition
 * counts its own runs and no empty file is ever written.
 */
#include "sl_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "shuffle/merge.h"
#include "shuffle/runs.h"
#include "shuffle/spill.h"

#define RN_FLUSH ((size_t)1 << 20) /* output bytes written at a time */

struct sl_runs {
	uint32_t partitions;    /* R */
	uint32_t *nruns;        /* run files of each partition */
	char *prefix;           /* run file names start with it */
	sl_fold_fn fold;        /* folds equal keys again, or NULL */
	void *arg;              /* fold's argument */
	sl_buf *segs;           /* R buffers: mapout_finish's output */
};

int
sl_runs_new(sl_runs **out, uint32_t partitions, const char *prefix,
	    sl_fold_fn fold, void *arg)
{
	sl_runs *runs = calloc(1, sizeof(*runs));
	uint32_t r;

	*out = NULL;
	if (runs == NULL)
		return SL_ENOMEM;
	runs->fold = fold;
	runs->arg = arg;
	runs->nruns = calloc(partitions ? partitions : 1, sizeof(*runs->nruns));
	runs->segs = calloc(partitions ? partitions : 1, sizeof(*runs->segs));
	runs->prefix = strdup(prefix);
	if (!runs->nruns || !runs->segs || !runs->prefix) {
		sl_runs_free(runs); /* partitions 0: frees only the arrays */
		return SL_ENOMEM;
	}
	for (r = 0; r < partitions; r++)
		sl_buf_init(&runs->segs[r]);
	runs->partitions = partitions;
	*out = runs;
	return SL_OK;
}

static int
rn_path(const sl_runs *runs, sl_buf *path, uint32_t r, uint32_t k)
{
	sl_buf_reset(path);
	return sl_buf_addf(path, "%s-p%u-%u", runs->prefix, r, k);
}

/* Releases the finished segments: a spill must not keep them. */
static void
rn_segs_release(sl_runs *runs)
{
	uint32_t r;

	for (r = 0; r < runs->partitions; r++)
		sl_buf_release(&runs->segs[r]);
}

int
sl_runs_spill(sl_runs *runs, sl_mapout *mo, sl_buf *err)
{
	sl_buf path = SL_BUF_INIT;
	uint32_t r;
	int rv;

	if ((rv = sl_mapout_finish(mo, runs->segs)) != SL_OK)
		goto out;
	for (r = 0; r < runs->partitions; r++) {
		if (runs->segs[r].len == 0)
			continue;
		if ((rv = rn_path(runs, &path, r, runs->nruns[r])) != SL_OK ||
		    (rv = sl_spill_write(path.buf, runs->segs[r].buf,
					 runs->segs[r].len, err)) != SL_OK)
			goto out;
		runs->nruns[r]++;
		sl_buf_release(&runs->segs[r]);
	}
out:
	rn_segs_release(runs);
	sl_buf_release(&path);
	return rv;
}

/* Writes all of buf to fd (file `path`) and empties it. SL_OK, SL_EIO. */
static int
rn_flush(int fd, const char *path, sl_buf *buf, sl_buf *err)
{
	if (sl_write_all(fd, buf->buf, buf->len) != SL_OK) {
		sl_buf_addf(err, "cannot write '%s': %s", path,
			    strerror(errno));
		return SL_EIO;
	}
	sl_buf_reset(buf);
	return SL_OK;
}

/*
 * Appends the records of one key to out: every value, or with a fold one
 * record holding the folded value (acc is scratch).
 */
static int
rn_key(sl_runs *runs, sl_merge *m, const sl_slice *key, sl_buf *out,
       sl_buf *acc)
{
	sl_slice val;
	bool first = true;
	int rv;

	while ((rv = sl_merge_next_value(m, &val)) == 1) {
		if (runs->fold == NULL) {
			rv = sl_kv_append(out, key->ptr, key->len, val.ptr,
					  val.len);
		} else if (first) {
			sl_buf_reset(acc);
			rv = sl_buf_add(acc, val.ptr, val.len);
		} else if (val.len != acc->len) {
			rv = SL_EINVAL;
		} else {
			rv = runs->fold(runs->arg, acc->buf, val.ptr, val.len);
		}
		if (rv != SL_OK)
			return rv;
		first = false;
	}
	if (rv < 0)
		return rv;
	if (runs->fold && !first)
		return sl_kv_append(out, key->ptr, key->len, acc->buf,
				    acc->len);
	return SL_OK;
}

/*
 * Merges partition r's runs (files, then segs[r]) onto out, flushed to
 * fd (the file `opath`) as it fills.
 */
static int
rn_merge_partition(sl_runs *runs, uint32_t r, int fd, const char *opath,
		   sl_buf *out, sl_buf *acc, sl_buf *err)
{
	uint32_t n = runs->nruns[r] + 1, k;
	char **paths = calloc(n, sizeof(*paths));
	sl_slice *segs = calloc(n, sizeof(*segs));
	sl_buf path = SL_BUF_INIT;
	sl_merge *m = NULL;
	sl_slice key;
	int rv = SL_ENOMEM;

	if (paths == NULL || segs == NULL)
		goto out;
	for (k = 0; k + 1 < n; k++) {
		if (rn_path(runs, &path, r, k) != SL_OK ||
		    (paths[k] = strdup(path.buf)) == NULL)
			goto out;
	}
	segs[n - 1].ptr = runs->segs[r].buf;
	segs[n - 1].len = runs->segs[r].len;
	if ((rv = sl_merge_new_runs(&m, segs, (const char *const *)paths, n,
				    err)) != SL_OK)
		goto out;
	while ((rv = sl_merge_next_key(m, &key)) == 1) {
		if ((rv = rn_key(runs, m, &key, out, acc)) != SL_OK)
			break;
		if (out->len >= RN_FLUSH &&
		    (rv = rn_flush(fd, opath, out, err)) != SL_OK)
			break;
	}
	if (rv < 0 && sl_merge_error(m))
		sl_buf_addf(err, "cannot merge spilled runs: %s",
			    sl_merge_error(m));
	else if (rv == SL_EINVAL)
		sl_buf_addstr(err, "values of one key have different lengths");
out:
	sl_merge_free(m);
	for (k = 0; paths && k < n; k++)
		free(paths[k]);
	free(paths);
	free(segs);
	sl_buf_release(&path);
	return rv > 0 ? SL_OK : rv;
}

int
sl_runs_finish(sl_runs *runs, sl_mapout *mo, const char *path,
	       uint64_t *ends, sl_buf *err)
{
	sl_buf out = SL_BUF_INIT, acc = SL_BUF_INIT;
	off_t end;
	uint32_t r;
	int fd, rv;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		sl_buf_addf(err, "cannot create '%s': %s", path,
			    strerror(errno));
		return SL_EIO;
	}
	if ((rv = sl_mapout_finish(mo, runs->segs)) != SL_OK)
		goto out;
	for (r = 0; r < runs->partitions && rv == SL_OK; r++) {
		rv = rn_merge_partition(runs, r, fd, path, &out, &acc, err);
		if (rv == SL_OK)
			rv = rn_flush(fd, path, &out, err);
		/* The file is written in order: its length ends the segment. */
		if (rv == SL_OK && (end = lseek(fd, 0, SEEK_CUR)) < 0) {
			sl_buf_addf(err, "cannot write '%s': %s", path,
				    strerror(errno));
			rv = SL_EIO;
		}
		ends[r] = rv == SL_OK ? (uint64_t)end : 0;
		sl_buf_release(&runs->segs[r]);
	}
out:
	if (close(fd) != 0 && rv == SL_OK) {
		sl_buf_addf(err, "cannot write '%s': %s", path,
			    strerror(errno));
		rv = SL_EIO;
	}
	if (rv != SL_OK)
		unlink(path);
	rn_segs_release(runs);
	sl_buf_release(&out);
	sl_buf_release(&acc);
	return rv;
}

void
sl_runs_free(sl_runs *runs)
{
	sl_buf path = SL_BUF_INIT;
	uint32_t r, k;

	if (runs == NULL)
		return;
	for (r = 0; r < runs->partitions; r++)
		for (k = 0; k < runs->nruns[r]; k++)
			if (rn_path(runs, &path, r, k) == SL_OK)
				unlink(path.buf);
	rn_segs_release(runs);
	sl_buf_release(&path);
	free(runs->nruns);
	free(runs->segs);
	free(runs->prefix);
	free(runs);
}
