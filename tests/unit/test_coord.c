/*
 * test_coord.c - the coordinator's gate on SUBMIT and SHUTDOWN: only the
 * embedded client (its ROUTER identity) may submit jobs or stop it; and
 * the map outputs a reduce TASK names after a map output was rerun. Runs
 * a real coordinator on a thread, with peers (client, fake workers) on
 * inproc sockets.
 */
#include "sl_impl.h"

#include <pthread.h>
#include <zmq.h>

#include "cluster/zmsg.h"
#include "coordinator/coord.h"
#include "unit.h"

typedef struct coord_thread {
	sl_coord *coord;
	int rv;
	sl_buf err;
} coord_thread;

static void *
coord_main(void *arg)
{
	coord_thread *t = arg;

	t->rv = sl_coord_run(t->coord, &t->err);
	return NULL;
}

/* A DEALER on the coordinator with the given identity (or ZeroMQ's). */
static void *
peer_new(void *zctx, const unsigned char *id, size_t idlen)
{
	sl_buf err = SL_BUF_INIT;
	void *s = sl_zsock_new(zctx, ZMQ_DEALER, SL_PROTO_MAX_MSG, &err);

	CU_ASSERT_FATAL(s != NULL);
	if (id)
		CU_ASSERT(zmq_setsockopt(s, ZMQ_ROUTING_ID, id, idlen) == 0);
	CU_ASSERT(zmq_connect(s, "inproc://test-coord") == 0);
	sl_buf_release(&err);
	return s;
}

static void
send_type(void *s, int type, const char *job)
{
	static char *inputs[] = { "/nonexistent-input" };
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = (uint8_t)type;
	if (type == SL_MSG_SUBMIT) {
		m.u.submit.spec.job = (char *)job;
		m.u.submit.spec.partitions = 1;
		m.u.submit.spec.max_attempts = 1;
		m.u.submit.spec.max_record = 1024;
		m.u.submit.inputs = inputs;
		m.u.submit.ninputs = 1;
		m.u.submit.output_dir = "/nonexistent-output";
		m.u.submit.split_size = 1024;
	}
	CU_ASSERT(sl_zsend(s, NULL, &m, NULL, 0) == SL_OK);
}

/* The type of the next message on s within ms, or 0 when none came. */
static int
recv_type(void *s, long ms)
{
	zmq_pollitem_t pi = { .socket = s, .events = ZMQ_POLLIN };
	sl_buf err = SL_BUF_INIT;
	sl_msg m;
	int type = 0;

	if (zmq_poll(&pi, 1, ms) == 1 &&
	    sl_zrecv(s, false, NULL, &m, NULL, &err) == SL_OK) {
		type = m.type;
		sl_msg_release(&m);
	}
	sl_buf_release(&err);
	return type;
}

static void
test_only_the_client_submits_and_stops_the_coordinator(void)
{
	static const unsigned char id[SL_COORD_CLIENT_ID] = "client-identity";
	static const unsigned char other[SL_COORD_CLIENT_ID] = "another-peer..";
	coord_thread t = { NULL, SL_OK, SL_BUF_INIT };
	sl_coord_config cfg;
	sl_buf ep = SL_BUF_INIT;
	void *zctx = zmq_ctx_new(), *client, *outsider;
	pthread_t thread;

	sl_coord_config_default(&cfg);
	memcpy(cfg.client_id, id, sizeof(id));
	CU_ASSERT_FATAL(sl_coord_new(&t.coord, zctx, &cfg, &t.err) == SL_OK);
	CU_ASSERT_FATAL(sl_coord_bind(t.coord, "inproc://test-coord", &ep,
				      &t.err) == SL_OK);
	CU_ASSERT_FATAL(pthread_create(&thread, NULL, coord_main, &t) == 0);
	client = peer_new(zctx, id, sizeof(id));
	outsider = peer_new(zctx, other, sizeof(other));

	/* The outsider's SUBMIT gets no answer, its SHUTDOWN stops nothing. */
	send_type(outsider, SL_MSG_SUBMIT, "wordcount");
	send_type(outsider, SL_MSG_SHUTDOWN, NULL);
	ASSERT_EQ_INT(recv_type(outsider, 300), 0);
	/* The client's SUBMIT is answered: accepted, then done (its input
	 * does not exist), so the coordinator still runs. */
	send_type(client, SL_MSG_SUBMIT, "wordcount");
	ASSERT_EQ_INT(recv_type(client, 5000), SL_MSG_ACCEPTED);
	ASSERT_EQ_INT(recv_type(client, 5000), SL_MSG_JOB_DONE);
	/* And the client's SHUTDOWN ends it. */
	send_type(client, SL_MSG_SHUTDOWN, NULL);
	pthread_join(thread, NULL);
	ASSERT_EQ_INT(t.rv, SL_OK);

	sl_zsock_close(client);
	sl_zsock_close(outsider);
	sl_coord_free(t.coord);
	zmq_ctx_term(zctx);
	sl_buf_release(&ep);
	sl_buf_release(&t.err);
}

/*
 * The next message on one of the n sockets within 5 s, HEARTBEATs
 * skipped: its type and *who (the socket's index), or 0 when none came.
 * The caller releases *m.
 */
static int
recv_any(void *const *socks, int n, int *who, sl_msg *m)
{
	zmq_pollitem_t pi[4];
	sl_buf err = SL_BUF_INIT;
	int i, type = 0;

	memset(m, 0, sizeof(*m));
	*who = 0;
	for (i = 0; i < n; i++)
		pi[i] = (zmq_pollitem_t){ .socket = socks[i],
					  .events = ZMQ_POLLIN };
	while (type == 0 && zmq_poll(pi, n, 5000) > 0) {
		for (i = 0; i < n && !(pi[i].revents & ZMQ_POLLIN); i++)
			;
		if (sl_zrecv(socks[i], false, NULL, m, NULL, &err) != SL_OK)
			break;
		if (m->type == SL_MSG_HEARTBEAT) {
			sl_msg_release(m);
			continue;
		}
		type = m->type;
		*who = i;
	}
	sl_buf_release(&err);
	return type;
}

/* A fake worker joins: HELLO with one slot, then the WELCOME. */
static void
worker_join(void *s, const char *name, const char *endpoint)
{
	sl_msg m;
	int who;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_HELLO;
	m.u.hello.name = (char *)name;
	m.u.hello.slots = 1;
	m.u.hello.shuffle_endpoint = (char *)endpoint;
	CU_ASSERT(sl_zsend(s, NULL, &m, NULL, 0) == SL_OK);
	ASSERT_EQ_INT(recv_any(&s, 1, &who, &m), SL_MSG_WELCOME);
	sl_msg_release(&m);
}

/*
 * The next TASK on one of the two workers (*who runs it): of this kind
 * and attempt, and of this task unless task is -1 (the caller checks).
 */
static void
expect_task(void *const *workers, int *who, sl_msg *m, uint8_t kind,
	    long task, uint32_t attempt)
{
	int type = recv_any(workers, 2, who, m);

	ASSERT_EQ_INT(type, SL_MSG_TASK);
	CU_ASSERT_FATAL(type == SL_MSG_TASK);
	ASSERT_EQ_INT(m->u.task.id.kind, kind);
	if (task >= 0)
		ASSERT_EQ_INT(m->u.task.id.task, task);
	ASSERT_EQ_INT(m->u.task.id.attempt, attempt);
}

static void
send_task_done(void *s, const sl_attempt_id *id, int status,
	       uint32_t lost_map, uint32_t lost_attempt)
{
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_TASK_DONE;
	m.u.task_done.id = *id;
	m.u.task_done.status = status;
	m.u.task_done.error = status == SL_OK ? "" : "cannot fetch";
	m.u.task_done.lost_map = lost_map;
	m.u.task_done.lost_attempt = lost_attempt;
	CU_ASSERT(sl_zsend(s, NULL, &m, NULL, 0) == SL_OK);
}

/*
 * Two maps on two fake workers; the reducer cannot fetch map 1, which
 * reruns: the reduce's next attempt names map 1's new attempt and holder,
 * and map 0's output as before.
 */
static void
test_a_reduce_after_a_map_rerun_names_the_new_output(void)
{
	static const char *const ep[2] = { "tcp://worker-a:1",
					   "tcp://worker-b:1" };
	coord_thread t = { NULL, SL_OK, SL_BUF_INIT };
	sl_coord_config cfg;
	sl_buf ep_bound = SL_BUF_INIT;
	void *zctx = zmq_ctx_new(), *client, *w[2];
	char *inputs[1], *outdir;
	sl_attempt_id id;
	pthread_t thread;
	sl_msg m;
	int i, who, holder[2] = { 0, 0 }; /* by map: the worker holding it */

	unit_tdir_make();
	unit_write_file(unit_tpath("in.txt"), "aaaa\nbbbb\n", 10);
	inputs[0] = strdup(unit_tpath("in.txt"));
	outdir = strdup(unit_tpath("out"));
	sl_coord_config_default(&cfg);
	memset(cfg.client_id, 0, sizeof(cfg.client_id)); /* any peer */
	cfg.timeout_ms = 60000;
	cfg.sched.backoff_ms = 1;
	cfg.sched.speculation = false;
	CU_ASSERT_FATAL(sl_coord_new(&t.coord, zctx, &cfg, &t.err) == SL_OK);
	CU_ASSERT_FATAL(sl_coord_bind(t.coord, "inproc://test-coord",
				      &ep_bound, &t.err) == SL_OK);
	CU_ASSERT_FATAL(pthread_create(&thread, NULL, coord_main, &t) == 0);
	w[0] = peer_new(zctx, NULL, 0);
	w[1] = peer_new(zctx, NULL, 0);
	client = peer_new(zctx, NULL, 0);
	worker_join(w[0], "worker-a", ep[0]);
	worker_join(w[1], "worker-b", ep[1]);

	/* wordcount on 2 splits of 5 bytes, one partition */
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_SUBMIT;
	m.u.submit.spec.job = "wordcount";
	m.u.submit.spec.partitions = 1;
	m.u.submit.spec.max_attempts = 4;
	m.u.submit.spec.max_record = 1024;
	m.u.submit.inputs = inputs;
	m.u.submit.ninputs = 1;
	m.u.submit.output_dir = outdir;
	m.u.submit.split_size = 5;
	CU_ASSERT(sl_zsend(client, NULL, &m, NULL, 0) == SL_OK);
	ASSERT_EQ_INT(recv_type(client, 5000), SL_MSG_ACCEPTED);

	/* Each worker runs one map (one slot each), in either order. */
	for (i = 0; i < 2; i++) {
		expect_task(w, &who, &m, SL_TASK_MAP, -1, 0);
		CU_ASSERT_FATAL(m.u.task.id.task < 2);
		holder[m.u.task.id.task] = who;
		send_task_done(w[who], &m.u.task.id, SL_OK, 0, 0);
		sl_msg_release(&m);
	}
	CU_ASSERT(holder[0] != holder[1]);

	/* The reduce: both outputs, then map 1's cannot be fetched. */
	expect_task(w, &who, &m, SL_TASK_REDUCE, 0, 0);
	ASSERT_EQ_INT(m.u.task.nmaps, 2);
	if (m.u.task.nmaps == 2) {
		ASSERT_EQ_INT(m.u.task.maps[1].map, 1);
		ASSERT_EQ_INT(m.u.task.maps[1].attempt, 0);
		ASSERT_EQ_STR(m.u.task.maps[1].endpoint, ep[holder[1]]);
	}
	send_task_done(w[who], &m.u.task.id, SL_ELOST, 2, 0);
	sl_msg_release(&m);

	/* Map 1 reruns, away from the worker that lost its output; the
	 * reduce's next attempt names the new output. */
	expect_task(w, &who, &m, SL_TASK_MAP, 1, 1);
	CU_ASSERT(who != holder[1]);
	holder[1] = who;
	send_task_done(w[who], &m.u.task.id, SL_OK, 0, 0);
	sl_msg_release(&m);
	expect_task(w, &who, &m, SL_TASK_REDUCE, 0, 1);
	ASSERT_EQ_INT(m.u.task.nmaps, 2);
	if (m.u.task.nmaps == 2) {
		ASSERT_EQ_INT(m.u.task.maps[0].map, 0);
		ASSERT_EQ_INT(m.u.task.maps[0].attempt, 0);
		ASSERT_EQ_STR(m.u.task.maps[0].endpoint, ep[holder[0]]);
		ASSERT_EQ_INT(m.u.task.maps[1].map, 1);
		ASSERT_EQ_INT(m.u.task.maps[1].attempt, 1);
		ASSERT_EQ_STR(m.u.task.maps[1].endpoint, ep[holder[1]]);
	}

	/* It commits: the job succeeds. */
	id = m.u.task.id;
	sl_msg_release(&m);
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_COMMIT_REQ;
	m.u.commit_req.id = id;
	CU_ASSERT(sl_zsend(w[who], NULL, &m, NULL, 0) == SL_OK);
	ASSERT_EQ_INT(recv_any(&w[who], 1, &who, &m), SL_MSG_COMMIT_GO);
	sl_msg_release(&m);
	send_task_done(w[who], &id, SL_OK, 0, 0);
	ASSERT_EQ_INT(recv_any(&client, 1, &who, &m), SL_MSG_JOB_DONE);
	ASSERT_EQ_INT(m.u.job_done.status, SL_OK);
	sl_msg_release(&m);

	send_type(client, SL_MSG_SHUTDOWN, NULL);
	pthread_join(thread, NULL);
	ASSERT_EQ_INT(t.rv, SL_OK);
	sl_zsock_close(client);
	sl_zsock_close(w[0]);
	sl_zsock_close(w[1]);
	sl_coord_free(t.coord);
	zmq_ctx_term(zctx);
	sl_buf_release(&ep_bound);
	sl_buf_release(&t.err);
	free(inputs[0]);
	free(outdir);
	unit_tdir_remove();
}

static const unit_case cases[] = {
	{ "only the client submits jobs and stops the coordinator",
	  test_only_the_client_submits_and_stops_the_coordinator },
	{ "a reduce after a map rerun names the new output",
	  test_a_reduce_after_a_map_rerun_names_the_new_output },
	{ NULL, NULL }
};

UNIT_MAIN("coord", cases)
