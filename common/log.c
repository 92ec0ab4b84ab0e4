/*
 * log.c - diagnostics to stderr, one write per line so that lines of
 * several threads and processes do not interleave.
 */
#include "sl_impl.h"

#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static int log_level = SL_LOG_WARN;
static atomic_bool log_bar; /* a progress bar is drawn: erase it first */

void
sl_log_set_bar(bool drawn)
{
	atomic_store(&log_bar, drawn);
}

void
sl_log_set_level(int level)
{
	log_level = level;
}

int
sl_log_level(void)
{
	return log_level;
}

void
sl_log(int level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "%ssluice: ",
		     atomic_load(&log_bar) ? "\r\033[K" : "");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write(2): stderr is shared by the coordinator and workers. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
