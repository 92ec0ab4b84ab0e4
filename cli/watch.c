/*
 * watch.c - the watch of a job's wait, and its progress bar; see watch.h.
 */
#include "watch.h"

#include "cli.h"

#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cluster/zmsg.h" /* sl_now_ms */

#define PROGRESS_BAR 20 /* columns between the brackets */

static uint64_t
watch_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "512 B", "1.2 MB", ... (decimal units, as the summary's MB). */
static void
progress_bytes(sl_buf *out, double b, const char *suffix)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB",
					     "PB" };
	size_t u = 0;

	while (b >= 1000.0 && u + 1 < SL_ARRAY_LEN(units)) {
		b /= 1000.0;
		u++;
	}
	sl_buf_addf(out, u == 0 ? "%.0f %s%s" : "%.1f %s%s", b, units[u],
		    suffix);
}

static void
progress_duration(sl_buf *out, uint64_t s)
{
	if (s >= 3600)
		sl_buf_addf(out, "%llu:%02u:%02u",
			    (unsigned long long)(s / 3600),
			    (unsigned)(s / 60 % 60), (unsigned)(s % 60));
	else
		sl_buf_addf(out, "%u:%02u", (unsigned)(s / 60),
			    (unsigned)(s % 60));
}

void
cli_progress_line(const sl_job_info *j, uint64_t now_ms, size_t width,
		  sl_buf *out)
{
	size_t start = out->len, i, fill;
	uint64_t tasks = (uint64_t)j->maps + j->reduces;
	uint64_t done = (uint64_t)j->maps_done + j->reduces_done;
	uint64_t ran_ms;
	double f;

	sl_buf_addf(out, "job %llu ", (unsigned long long)j->id);
	if (j->state == SL_JOB_QUEUED || j->started_ms == 0) {
		sl_buf_addstr(out, "queued");
		goto fit;
	}
	f = tasks ? (double)done / (double)tasks : 0.0;
	if (f > 1.0)
		f = 1.0;
	fill = (size_t)(f * PROGRESS_BAR);
	sl_buf_addch(out, '[');
	for (i = 0; i < PROGRESS_BAR; i++)
		sl_buf_addch(out, i < fill ? '#' : '-');
	sl_buf_addf(out, "] %3u%% map %u/%u reduce %u/%u ",
		    (unsigned)(f * 100.0), j->maps_done, j->maps,
		    j->reduces_done, j->reduces);
	progress_bytes(out, (double)j->bytes_in, "");
	ran_ms = now_ms > j->started_ms ? now_ms - j->started_ms : 0;
	if (ran_ms > 0) {
		sl_buf_addch(out, ' ');
		progress_bytes(out, (double)j->bytes_in * 1000.0 /
					    (double)ran_ms, "/s");
	}
	sl_buf_addstr(out, " ETA ");
	if (done == 0 || done > tasks)
		sl_buf_addstr(out, "?");
	else
		progress_duration(out, (uint64_t)((double)ran_ms / 1000.0 *
						  (double)(tasks - done) /
						  (double)done + 0.5));
fit:
	if (width > 1 && out->len - start > width - 1) /* no wrap */
		sl_buf_setlen(out, start + width - 1);
}

void
cli_watch_init(cli_watch *w, bool bar, sl_client *client, uint64_t job)
{
	memset(w, 0, sizeof(*w));
	w->bar = bar;
	w->client = client;
	w->job = job;
	w->ended = SL_JOB_QUEUED;
	sl_buf_init(&w->error);
}

/* Columns of the terminal on stderr; 0 (no limit) when it is none. */
static size_t
watch_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

static void
watch_draw(cli_watch *w, const sl_job_info *j)
{
	sl_buf line = SL_BUF_INIT;

	sl_buf_addstr(&line, "\r");
	cli_progress_line(j, watch_wall_ms(), watch_width(), &line);
	sl_buf_addstr(&line, "\033[K");
	/* One write, as log lines are: they may come from other threads. */
	if (write(STDERR_FILENO, line.buf, line.len) == (ssize_t)line.len) {
		w->drawn = true;
		sl_log_set_bar(true);
	}
	sl_buf_release(&line);
}

int
cli_watch_event(cli_watch *w, const sl_msg *m)
{
	const sl_job_info *j;
	sl_buf err = SL_BUF_INIT;
	uint64_t now;
	sl_msg ask;
	uint32_t i;

	if (m == NULL) {
		now = sl_now_ms();
		if (w->asked_ms && now - w->asked_ms < (w->bar ? CLI_PROGRESS_MS
							      : CLI_WATCH_MS))
			return SL_OK;
		w->asked_ms = now;
		memset(&ask, 0, sizeof(ask));
		ask.type = SL_MSG_STATUS;
		ask.u.status.job = w->job;
		/* an answer missed is no error: the wait goes on */
		sl_client_send(w->client, &ask, &err);
		sl_buf_release(&err);
		return SL_OK;
	}
	if (m->type != SL_MSG_JOB_LIST)
		return SL_OK;
	for (i = 0; i < m->u.job_list.njobs; i++) {
		j = &m->u.job_list.jobs[i];
		if (j->id != w->job)
			continue;
		if (j->state == SL_JOB_SUCCEEDED || j->state == SL_JOB_FAILED ||
		    j->state == SL_JOB_CANCELED) {
			w->ended = j->state;
			sl_buf_addstr(&w->error, j->error);
			return SL_ELOST;
		}
		if (w->bar)
			watch_draw(w, j);
	}
	return SL_OK;
}

int
cli_watch_exit(const cli_watch *w, const char *output_dir)
{
	unsigned long long id = (unsigned long long)w->job;

	if (w->ended == SL_JOB_SUCCEEDED) {
		fprintf(stderr, "sluice: job %llu succeeded (its summary went "
			"to the coordinator's client before its restart: "
			"'sluice status %llu')\nsluice: output in %s/\n", id,
			id, output_dir);
		return 0;
	}
	if (w->ended == SL_JOB_CANCELED)
		fprintf(stderr, "sluice: job %llu canceled\n", id);
	else
		cli_print_error("job failed: ", w->error.buf);
	return EXIT_JOB;
}

void
cli_watch_release(cli_watch *w)
{
	cli_watch_erase(w);
	sl_buf_release(&w->error);
}

void
cli_watch_erase(cli_watch *w)
{
	static const char erase[] = "\r\033[K";

	if (!w->drawn)
		return;
	sl_log_set_bar(false);
	w->drawn = false;
	if (write(STDERR_FILENO, erase, sizeof(erase) - 1) < 0)
		return;
}
