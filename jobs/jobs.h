/*
 * jobs.h - finding a job by name: the built-in jobs of this folder, or a
 * user's job in a shared object that exports `sluice_job`.
 *
 * jobs/ holds the engine's built-in jobs (wordcount, aggregate, streaming)
 * and their table. They are written against include/sluice.h; streaming
 * also uses common/ (buffers, the kv codec) and the shuffle's sort. examples/ holds jobs written
 * against the public header alone, built as users build theirs.
 */
#ifndef SL_JOBS_H
#define SL_JOBS_H

#include "sl_impl.h"

extern const sl_job sl__job_wordcount;
extern const sl_job sl__job_aggregate;
extern const sl_job sl__job_window;
extern const sl_job sl__job_streaming;

/* The built-in jobs, ending with NULL. */
extern const sl_job *const sl__jobs_builtin[];

typedef struct sl_job_ref {
	const sl_job *job; /* the job; NULL until loaded */
	void *dl;          /* dlopen handle of a shared-object job, or NULL */
} sl_job_ref;

/*
 * Loads the job `name`: a built-in name, or a path (anything with a '/')
 * of a shared object. Checks the object's api_version and required
 * callbacks. SL_OK, SL_ENOTFOUND or SL_EINVAL with the reason in err.
 */
int sl_job_load(const char *name, sl_job_ref *ref, sl_buf *err);
void sl_job_unload(sl_job_ref *ref);

#endif
