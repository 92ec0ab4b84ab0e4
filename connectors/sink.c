/*
 * sink.c - the table of a stream's sinks, and the calls that dispatch to
 * them; see sink.h.
 */
#include "sink.h"
#include "source.h" /* sl_uri_absolute */

#include <string.h>

static const sl_sink_ops *const sink_table[] = {
	&sl_sink_file,
	&sl_sink_sqlite,
	&sl_sink_console,
};

int
sl_sink_open(sl_sink **out, const char *uri, const char *ck, sl_buf *err)
{
	size_t i, n;

	*out = NULL;
	for (i = 0; i < SL_ARRAY_LEN(sink_table); i++) {
		n = strlen(sink_table[i]->scheme);
		if (strncmp(uri, sink_table[i]->scheme, n) == 0 &&
		    (uri[n] == ':' || uri[n] == '\0'))
			return sink_table[i]->open(out, uri + n + (uri[n] != 0),
						   ck, err);
	}
	sl_buf_addf(err, "unknown sink '%s': one of", uri);
	for (i = 0; i < SL_ARRAY_LEN(sink_table); i++)
		sl_buf_addf(err, "%s %s", i ? "," : "",
			    sink_table[i]->syntax);
	return SL_EUSAGE;
}

void
sl_sink_batch_dir(const sl_sink *s, uint64_t n, sl_buf *dir)
{
	s->ops->batch_dir(s, n, dir);
}

int
sl_sink_commit(sl_sink *s, const sl_sink_batch *b, sl_buf *err)
{
	return s->ops->commit(s, b, err);
}

void
sl_sink_close(sl_sink *s)
{
	if (s)
		s->ops->close(s);
}

static bool
sink_path_scheme(const char *uri)
{
	size_t i, n;

	for (i = 0; i < SL_ARRAY_LEN(sink_table); i++) {
		n = strlen(sink_table[i]->scheme);
		if (strncmp(uri, sink_table[i]->scheme, n) == 0 &&
		    uri[n] == ':')
			return sink_table[i]->path;
	}
	return false;
}

void
sl_sink_absolute(const char *uri, sl_buf *out)
{
	sl_uri_absolute(uri, sink_path_scheme, out);
}
