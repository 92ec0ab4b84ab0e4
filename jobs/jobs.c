/*
 * jobs.c - the table of built-in jobs and the loader of shared-object jobs.
 */
#include "jobs.h"

#include <dlfcn.h>
#include <stdlib.h>

const sl_job *const sl__jobs_builtin[] = {
	&sl__job_wordcount,
	&sl__job_aggregate,
	&sl__job_window,
	&sl__job_streaming,
	NULL,
};

static int
jobs_check(const sl_job *job, const char *name, sl_buf *err)
{
	if (job->api_version != SL_API_VERSION) {
		sl_buf_addf(err, "job '%s' was built for API version %d, "
			    "this is %d", name, job->api_version,
			    SL_API_VERSION);
		return SL_EINVAL;
	}
	if (job->map == NULL || job->reduce == NULL || job->name == NULL ||
	    (job->input != SL_INPUT_LINES && job->input != SL_INPUT_CSV &&
	     job->input != SL_INPUT_BLOCKS)) {
		sl_buf_addf(err, "job '%s' lacks a name, map, reduce or "
			    "input format", name);
		return SL_EINVAL;
	}
	return SL_OK;
}

int
sl_job_load(const char *name, sl_job_ref *ref, sl_buf *err)
{
	size_t i;
	int rv;

	ref->job = NULL;
	ref->dl = NULL;
	if (strchr(name, '/') == NULL) {
		for (i = 0; sl__jobs_builtin[i]; i++) {
			if (strcmp(sl__jobs_builtin[i]->name, name) == 0) {
				ref->job = sl__jobs_builtin[i];
				return SL_OK;
			}
		}
		sl_buf_addf(err, "unknown job '%s' (built-in jobs: wordcount, "
			    "aggregate, streaming; a job of your own is a "
			    "path such as ./myjob.so)", name);
		return SL_ENOTFOUND;
	}
	ref->dl = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (ref->dl == NULL) {
		sl_buf_addf(err, "cannot load job '%s': %s", name, dlerror());
		return SL_ENOTFOUND;
	}
	ref->job = dlsym(ref->dl, "sluice_job");
	if (ref->job == NULL) {
		sl_buf_addf(err, "job '%s' does not export 'sluice_job'", name);
		rv = SL_EINVAL;
		goto fail;
	}
	if ((rv = jobs_check(ref->job, name, err)) != SL_OK)
		goto fail;
	return SL_OK;
fail:
	sl_job_unload(ref);
	return rv;
}

void
sl_job_unload(sl_job_ref *ref)
{
	if (ref->dl)
		dlclose(ref->dl);
	ref->dl = NULL;
	ref->job = NULL;
}
