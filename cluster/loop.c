/*
 * loop.c - the event loop of a role; see loop.h.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <zmq.h>

typedef struct loop_source {
	sl_loop_fn *fn;
	void *arg;
} loop_source;

typedef struct loop_timer {
	sl_loop *loop;
	sl_loop_fn *fn;
	void *arg;
	int id;              /* zmq_timers' id */
	uint64_t move_ms;    /* a move asked while timers ran, or 0 */
} loop_timer;

struct sl_loop {
	zmq_pollitem_t *items;   /* by source */
	loop_source *sources;    /* by source, as items */
	size_t n;                /* sources */
	size_t alloc_items;      /* items allocated */
	size_t alloc_sources;    /* sources allocated */
	void *timers;            /* zmq_timers */
	loop_timer **tv;         /* every timer's context, owned */
	size_t ntv;
	size_t alloc_tv;
	bool in_timers;          /* inside zmq_timers_execute */
	bool stop;
};

int
sl_loop_new(sl_loop **lp)
{
	sl_loop *l = calloc(1, sizeof(*l));

	*lp = NULL;
	if (l == NULL || (l->timers = zmq_timers_new()) == NULL) {
		free(l);
		return SL_ENOMEM;
	}
	*lp = l;
	return SL_OK;
}

void
sl_loop_free(sl_loop *l)
{
	size_t i;

	if (l == NULL)
		return;
	zmq_timers_destroy(&l->timers);
	for (i = 0; i < l->ntv; i++)
		free(l->tv[i]);
	free(l->tv);
	free(l->items);
	free(l->sources);
	free(l);
}

static int
loop_add(sl_loop *l, void *sock, int fd, sl_loop_fn *fn, void *arg)
{
	if (sl_array_grow(&l->items, &l->alloc_items, l->n + 1,
			  sizeof(*l->items)) != SL_OK ||
	    sl_array_grow(&l->sources, &l->alloc_sources, l->n + 1,
			  sizeof(*l->sources)) != SL_OK)
		return SL_ENOMEM;
	l->items[l->n] = (zmq_pollitem_t){ .socket = sock, .fd = fd,
					   .events = ZMQ_POLLIN };
	l->sources[l->n++] = (loop_source){ fn, arg };
	return SL_OK;
}

int
sl_loop_add_socket(sl_loop *l, void *sock, sl_loop_fn *fn, void *arg)
{
	return loop_add(l, sock, -1, fn, arg);
}

int
sl_loop_add_fd(sl_loop *l, int fd, sl_loop_fn *fn, void *arg)
{
	return loop_add(l, NULL, fd, fn, arg);
}

static void
loop_on_timer(int id, void *arg)
{
	loop_timer *t = arg;

	(void)id;
	/* timers due in the same turn as a stop do not run */
	if (!t->loop->stop)
		t->fn(t->loop, t->arg);
}

/* An hour: "not soon", for a deadline that is set again after events. */
#define LOOP_FAR_MS ((uint64_t)3600 * 1000)

int
sl_loop_add_timer(sl_loop *l, uint64_t interval_ms, sl_loop_fn *fn,
		  void *arg)
{
	loop_timer *t;
	int id;

	if (sl_array_grow(&l->tv, &l->alloc_tv, l->ntv + 1, sizeof(*l->tv)) !=
		    SL_OK ||
	    (t = malloc(sizeof(*t))) == NULL)
		return SL_ENOMEM;
	*t = (loop_timer){ l, fn, arg, 0, 0 };
	if (interval_ms == 0 || interval_ms > LOOP_FAR_MS)
		interval_ms = interval_ms ? LOOP_FAR_MS : 1;
	if ((id = zmq_timers_add(l->timers, (size_t)interval_ms, loop_on_timer,
				 t)) < 0) {
		free(t);
		return SL_ENOMEM;
	}
	t->id = id;
	l->tv[l->ntv++] = t;
	return id;
}

static int
loop_timer_move(sl_loop *l, int id, uint64_t in_ms)
{
	if (zmq_timers_set_interval(l->timers, id, (size_t)in_ms) != 0 ||
	    zmq_timers_reset(l->timers, id) != 0)
		return SL_EINVAL;
	return SL_OK;
}

int
sl_loop_timer_in(sl_loop *l, int id, uint64_t in_ms)
{
	size_t i;

	if (in_ms == 0)
		in_ms = 1;
	if (in_ms > LOOP_FAR_MS)
		in_ms = LOOP_FAR_MS;
	if (!l->in_timers)
		return loop_timer_move(l, id, in_ms);
	/* zmq_timers_execute walks its timers: a change now would change
	 * what it walks. Moved once it has returned. */
	for (i = 0; i < l->ntv; i++)
		if (l->tv[i]->id == id) {
			l->tv[i]->move_ms = in_ms;
			return SL_OK;
		}
	return SL_EINVAL;
}

/* zmq_timers_execute, then the moves its callbacks asked for. */
static void
loop_run_timers(sl_loop *l)
{
	size_t i;

	l->in_timers = true;
	zmq_timers_execute(l->timers);
	l->in_timers = false;
	for (i = 0; i < l->ntv; i++)
		if (l->tv[i]->move_ms) {
			loop_timer_move(l, l->tv[i]->id, l->tv[i]->move_ms);
			l->tv[i]->move_ms = 0;
		}
}

void
sl_loop_stop(sl_loop *l)
{
	l->stop = true;
}

int
sl_loop_run(sl_loop *l, const volatile sig_atomic_t *interrupt, sl_buf *err)
{
	size_t i;
	long timeout;
	int n;

	l->stop = false;
	while (!l->stop && !(interrupt && *interrupt)) {
		timeout = zmq_timers_timeout(l->timers);
		n = zmq_poll(l->items, (int)l->n, timeout);
		if (n < 0 && zmq_errno() == EINTR)
			continue;
		if (n < 0) {
			sl_buf_addf(err, "poll failed: %s",
				    zmq_strerror(zmq_errno()));
			return SL_EIO;
		}
		loop_run_timers(l);
		/* The items are read before any callback of this turn: one
		 * that adds a source grows the arrays, which the next turn
		 * polls. */
		for (i = 0; i < l->n && !l->stop; i++)
			if (l->items[i].revents & ZMQ_POLLIN)
				l->sources[i].fn(l, l->sources[i].arg);
	}
	return SL_OK;
}
