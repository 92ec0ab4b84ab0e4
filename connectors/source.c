/*
 * source.c - the table of a stream's sources, and the calls that
 * dispatch to them; see source.h.
 */
#include "source.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

static const sl_source_ops *const source_table[] = {
	&sl_source_file,
	&sl_source_rate,
	&sl_source_tcp,
};

int
sl_source_open(sl_source **out, const char *uri, const char *ck,
	       sl_buf *err)
{
	size_t i, n;

	*out = NULL;
	for (i = 0; i < SL_ARRAY_LEN(source_table); i++) {
		n = strlen(source_table[i]->scheme);
		if (strncmp(uri, source_table[i]->scheme, n) == 0 &&
		    uri[n] == ':')
			return source_table[i]->open(out, uri + n + 1, ck, err);
	}
	sl_buf_addf(err, "unknown source '%s': one of", uri);
	for (i = 0; i < SL_ARRAY_LEN(source_table); i++)
		sl_buf_addf(err, "%s %s", i ? "," : "",
			    source_table[i]->syntax);
	return SL_EUSAGE;
}

int
sl_source_plan(sl_source *s, const char *last, uint64_t max_records,
	       sl_buf *next, sl_buf *err)
{
	sl_buf_reset(next);
	return s->ops->plan(s, last, max_records, next, err);
}

int
sl_source_inputs(sl_source *s, uint64_t n, const char *offsets,
		 sl_split_list *splits, sl_buf *err)
{
	return s->ops->inputs(s, n, offsets, splits, err);
}

void
sl_source_done(sl_source *s, uint64_t n)
{
	if (s->ops->done)
		s->ops->done(s, n);
}

int
sl_source_arrivals(sl_source *s, const char *offsets, int64_t *oldest,
		   int64_t *newest)
{
	if (s->ops->arrivals == NULL)
		return SL_ENOTFOUND;
	return s->ops->arrivals(s, offsets, oldest, newest);
}

int
sl_source_lag(sl_source *s, const char *offsets, uint64_t *records)
{
	if (s->ops->lag == NULL)
		return SL_ENOTFOUND;
	return s->ops->lag(s, offsets, records);
}

void
sl_source_close(sl_source *s)
{
	if (s)
		s->ops->close(s);
}

void
sl_uri_absolute(const char *uri, bool (*path_scheme)(const char *uri),
		sl_buf *out)
{
	const char *where = strchr(uri, ':');
	char cwd[PATH_MAX];

	if (where && where[1] != '/' && where[1] != '\0' && path_scheme(uri) &&
	    getcwd(cwd, sizeof(cwd)) != NULL) {
		sl_buf_add(out, uri, (size_t)(where + 1 - uri));
		sl_buf_addf(out, "%s/%s", cwd, where + 1);
		return;
	}
	sl_buf_addstr(out, uri);
}

static bool
source_path_scheme(const char *uri)
{
	size_t i, n;

	for (i = 0; i < SL_ARRAY_LEN(source_table); i++) {
		n = strlen(source_table[i]->scheme);
		if (strncmp(uri, source_table[i]->scheme, n) == 0 &&
		    uri[n] == ':')
			return source_table[i]->path;
	}
	return false;
}

void
sl_source_absolute(const char *uri, sl_buf *out)
{
	sl_uri_absolute(uri, source_path_scheme, out);
}
