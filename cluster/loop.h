/*
 * loop.h - the event loop of a role: ZeroMQ sockets, file descriptors and
 * timers, served by one thread.
 *
 * The coordinator and the worker each run one: every source of events is
 * one registration (a socket becoming readable, a descriptor becoming
 * readable, a timer), so that a trigger timer, an HTTP server's descriptor
 * or a ZAP handler's socket is one more call, not an edit of a fixed poll
 * list. Built on zmq_poll over a growable array and libzmq's timers
 * (zmq_timers_*, stable API), nothing of our own.
 *
 * Each turn: poll (up to the next timer), run the timers that are due,
 * then the callback of each readable source in registration order. A
 * callback may stop the loop (sl_loop_stop): the turn ends at once, so
 * that what waits in the other sources is not acted on; this is how a
 * worker that finds its coordinator silent after a SIGSTOP stops before it
 * reads the stale messages queued meanwhile.
 *
 * Not thread-safe: the thread that calls sl_loop_run() owns the loop and
 * every callback runs on it. Costs: a turn is O(sources + due timers).
 */
#ifndef SL_LOOP_H
#define SL_LOOP_H

#include <signal.h>

#include "sl_impl.h"

typedef struct sl_loop sl_loop;

/* A readable source or a due timer; arg as registered. */
typedef void sl_loop_fn(sl_loop *loop, void *arg);

/* SL_OK and *lp, or SL_ENOMEM. Free with sl_loop_free (NULL-safe). */
int sl_loop_new(sl_loop **lp);
void sl_loop_free(sl_loop *loop);

/*
 * Calls fn when the ZeroMQ socket `sock` (fd < 0) or the descriptor fd
 * (sock NULL) is readable. SL_OK or SL_ENOMEM. The loop does not own
 * the socket or the descriptor.
 */
int sl_loop_add_socket(sl_loop *loop, void *sock, sl_loop_fn *fn, void *arg);
int sl_loop_add_fd(sl_loop *loop, int fd, sl_loop_fn *fn, void *arg);

/*
 * Calls fn every interval_ms (>= 1), the first time interval_ms from now.
 * Returns the timer's id (>= 0), or SL_ENOMEM.
 */
int sl_loop_add_timer(sl_loop *loop, uint64_t interval_ms, sl_loop_fn *fn,
		      void *arg);

/*
 * Moves timer `id` to fire in_ms from now (>= 1; UINT64_MAX: not for an
 * hour, which is as good as never for a deadline that is set again after
 * every event), then every in_ms. From a timer's callback too (the move
 * is made once the due timers have run). SL_OK or SL_EINVAL.
 */
int sl_loop_timer_in(sl_loop *loop, int id, uint64_t in_ms);

/*
 * Serves until sl_loop_stop() or until *interrupt (when not NULL) is
 * non-zero, which a signal handler sets (the poll returns EINTR, or at the
 * next timer). SL_OK, or SL_EIO with the reason in err.
 */
int sl_loop_run(sl_loop *loop, const volatile sig_atomic_t *interrupt,
		sl_buf *err);

/* Ends sl_loop_run() after the current callback; the turn stops there. */
void sl_loop_stop(sl_loop *loop);

#endif
