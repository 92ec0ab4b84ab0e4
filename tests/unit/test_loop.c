/*
 * test_loop.c - the event loop of cluster/loop.h: descriptors and sockets
 * call back when readable, timers fire and can be moved, a stop ends the
 * turn before the other sources are served, an interrupt flag ends the run.
 */
#include "sl_impl.h"

#include <signal.h>
#include <unistd.h>
#include <zmq.h>

#include "cluster/loop.h"
#include "cluster/zmsg.h"
#include "unit.h"

typedef struct probe {
	int calls;          /* callbacks so far */
	int stop_after;     /* stop the loop at this call (0: never) */
	int fd;             /* a pipe's read end to drain, or -1 */
	char log[64];       /* one letter per call, in order */
	char letter;
} probe;

static void
probe_fn(sl_loop *loop, void *arg)
{
	probe *p = arg;
	char c;
	size_t n = strlen(p->log);

	if (p->fd >= 0)
		(void)!read(p->fd, &c, 1);
	p->calls++;
	if (n + 1 < sizeof(p->log))
		p->log[n] = p->letter;
	if (p->calls == p->stop_after)
		sl_loop_stop(loop);
}

static void
test_a_readable_descriptor_calls_back_and_a_stop_ends_the_turn(void)
{
	sl_loop *l;
	sl_buf err = SL_BUF_INIT;
	int a[2], b[2];
	probe pa = { .stop_after = 1, .letter = 'a' };
	probe pb = { .letter = 'b' };

	CU_ASSERT_FATAL(pipe(a) == 0 && pipe(b) == 0);
	pa.fd = a[0];
	pb.fd = b[0];
	ASSERT_EQ_INT(sl_loop_new(&l), SL_OK);
	ASSERT_EQ_INT(sl_loop_add_fd(l, a[0], probe_fn, &pa), SL_OK);
	ASSERT_EQ_INT(sl_loop_add_fd(l, b[0], probe_fn, &pb), SL_OK);
	/* both readable: a stops the loop, so b is not served this turn */
	CU_ASSERT((write(a[1], "x", 1) + write(b[1], "y", 1)) == 2);
	ASSERT_EQ_INT(sl_loop_run(l, NULL, &err), SL_OK);
	ASSERT_EQ_INT(pa.calls, 1);
	ASSERT_EQ_INT(pb.calls, 0);
	/* the next run serves b, which waited */
	pb.stop_after = 1;
	ASSERT_EQ_INT(sl_loop_run(l, NULL, &err), SL_OK);
	ASSERT_EQ_INT(pb.calls, 1);
	sl_loop_free(l);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	sl_buf_release(&err);
}

static void
test_timers_fire_before_sockets_and_can_be_moved(void)
{
	sl_loop *l;
	sl_buf err = SL_BUF_INIT;
	void *zctx = zmq_ctx_new(), *in, *out;
	probe tick = { .fd = -1, .letter = 't' };
	probe far = { .fd = -1, .letter = 'f' };
	probe sock = { .fd = -1, .letter = 's', .stop_after = 1 };
	uint64_t t0 = sl_now_ms();
	int id;
	zmq_msg_t m;

	in = zmq_socket(zctx, ZMQ_PULL);
	out = zmq_socket(zctx, ZMQ_PUSH);
	CU_ASSERT_FATAL(zmq_bind(in, "inproc://test-loop") == 0 &&
			zmq_connect(out, "inproc://test-loop") == 0);
	ASSERT_EQ_INT(sl_loop_new(&l), SL_OK);
	/* a timer of 20 ms stops the loop at its 3rd firing */
	tick.stop_after = 3;
	CU_ASSERT(sl_loop_add_timer(l, 20, probe_fn, &tick) >= 0);
	CU_ASSERT((id = sl_loop_add_timer(l, UINT64_MAX, probe_fn, &far)) >= 0);
	ASSERT_EQ_INT(sl_loop_run(l, NULL, &err), SL_OK);
	ASSERT_EQ_INT(tick.calls, 3);
	CU_ASSERT(sl_now_ms() - t0 >= 60);
	ASSERT_EQ_INT(far.calls, 0);
	/* moved to 1 ms: it fires now */
	far.stop_after = 1;
	ASSERT_EQ_INT(sl_loop_timer_in(l, id, 1), SL_OK);
	ASSERT_EQ_INT(sl_loop_run(l, NULL, &err), SL_OK);
	ASSERT_EQ_INT(far.calls, 1);
	ASSERT_EQ_INT(sl_loop_timer_in(l, 999, 1), SL_EINVAL);
	/* a socket source; a due timer runs first in the same turn */
	ASSERT_EQ_INT(sl_loop_add_socket(l, in, probe_fn, &sock), SL_OK);
	tick.stop_after = 0;
	memset(tick.log, 0, sizeof(tick.log));
	usleep(30 * 1000);
	CU_ASSERT(zmq_send(out, "x", 1, 0) == 1);
	usleep(5 * 1000);
	ASSERT_EQ_INT(sl_loop_run(l, NULL, &err), SL_OK);
	ASSERT_EQ_INT(sock.calls, 1);
	ASSERT_EQ_STR(tick.log, "t");
	zmq_msg_init(&m);
	CU_ASSERT(zmq_msg_recv(&m, in, ZMQ_DONTWAIT) == 1);
	zmq_msg_close(&m);
	sl_loop_free(l);
	zmq_close(in);
	zmq_close(out);
	zmq_ctx_term(zctx);
	sl_buf_release(&err);
}

/* A timer whose callback moves a timer (itself, and another): the moves
 * take effect once the due timers have run. */
typedef struct mover {
	sl_loop *loop;
	int self, other;
	int calls;
} mover;

static void
mover_fn(sl_loop *loop, void *arg)
{
	mover *m = arg;

	m->calls++;
	ASSERT_EQ_INT(sl_loop_timer_in(loop, m->self, 5), SL_OK);
	ASSERT_EQ_INT(sl_loop_timer_in(loop, m->other, 1), SL_OK);
}

static void
test_a_timer_may_move_timers_from_its_callback(void)
{
	sl_loop *l;
	sl_buf err = SL_BUF_INIT;
	mover mv = { 0 };
	probe other = { .fd = -1, .letter = 'o', .stop_after = 3 };

	ASSERT_EQ_INT(sl_loop_new(&l), SL_OK);
	mv.loop = l;
	CU_ASSERT((mv.self = sl_loop_add_timer(l, 5, mover_fn, &mv)) >= 0);
	CU_ASSERT((mv.other = sl_loop_add_timer(l, UINT64_MAX, probe_fn,
						&other)) >= 0);
	ASSERT_EQ_INT(sl_loop_run(l, NULL, &err), SL_OK);
	ASSERT_EQ_INT(other.calls, 3);
	CU_ASSERT(mv.calls >= 1); /* then every 1 ms: its period too */
	sl_loop_free(l);
	sl_buf_release(&err);
}

static volatile sig_atomic_t interrupted;

static void
on_alarm(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
test_an_interrupt_flag_ends_the_run(void)
{
	sl_loop *l;
	sl_buf err = SL_BUF_INIT;
	probe tick = { .fd = -1, .letter = 't' };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	ASSERT_EQ_INT(sl_loop_new(&l), SL_OK);
	CU_ASSERT(sl_loop_add_timer(l, 10000, probe_fn, &tick) >= 0);
	alarm(1);
	/* no source, a far timer: only the signal ends the poll */
	ASSERT_EQ_INT(sl_loop_run(l, &interrupted, &err), SL_OK);
	ASSERT_EQ_INT(interrupted, 1);
	ASSERT_EQ_INT(tick.calls, 0);
	sl_loop_free(l);
	sl_buf_release(&err);
}

static const unit_case cases[] = {
	{ "a readable descriptor calls back and a stop ends the turn",
	  test_a_readable_descriptor_calls_back_and_a_stop_ends_the_turn },
	{ "timers fire before sockets and can be moved",
	  test_timers_fire_before_sockets_and_can_be_moved },
	{ "a timer may move timers from its callback",
	  test_a_timer_may_move_timers_from_its_callback },
	{ "an interrupt flag ends the run", test_an_interrupt_flag_ends_the_run },
	{ NULL, NULL }
};

UNIT_MAIN("loop", cases)
