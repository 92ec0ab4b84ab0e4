/*
 * test_coord.c - the coordinator's gate on SUBMIT and SHUTDOWN: only the
 * embedded client (its ROUTER identity) may submit jobs or stop it; the
 * fencing of peers that are not workers; and the map outputs a reduce
 * TASK names after a map output was rerun; peers that lie or do not read:
 * reports on an attempt from a worker it was not given to, a peer that
 * never reads its replies, HELLOs from ever-new identities. Runs a real
 * coordinator on a thread, with peers (client, fake workers, outsiders) on
 * inproc sockets.
 */
#include "sl_impl.h"

#include <pthread.h>
#include <unistd.h>
#include <zmq.h>

#include "cluster/zmsg.h"
#include "coordinator/coord.h"
#include "unit.h"

/* A coordinator on a thread, bound to inproc://test-coord, and its peers. */
typedef struct coord_fixture {
	void *zctx;
	sl_coord *coord;
	pthread_t thread;
	int rv;             /* what sl_coord_run() returned */
	sl_buf err;
	void *peers[8];     /* sockets of peer_new(), closed by coord_stop() */
	int npeers;
} coord_fixture;

static void *
coord_main(void *arg)
{
	coord_fixture *f = arg;

	f->rv = sl_coord_run(f->coord, &f->err);
	return NULL;
}

static void
coord_start(coord_fixture *f, const sl_coord_config *cfg)
{
	sl_buf ep = SL_BUF_INIT;

	memset(f, 0, sizeof(*f));
	sl_buf_init(&f->err);
	f->zctx = zmq_ctx_new();
	CU_ASSERT_FATAL(f->zctx != NULL);
	CU_ASSERT_FATAL(sl_coord_new(&f->coord, f->zctx, cfg, &f->err) ==
			SL_OK);
	CU_ASSERT_FATAL(sl_coord_bind(f->coord, "inproc://test-coord", &ep,
				      &f->err) == SL_OK);
	CU_ASSERT_FATAL(pthread_create(&f->thread, NULL, coord_main, f) == 0);
	sl_buf_release(&ep);
}

/* A DEALER on the coordinator with the given identity (or ZeroMQ's). */
static void *
peer_new(coord_fixture *f, const unsigned char *id, size_t idlen)
{
	sl_buf err = SL_BUF_INIT;
	void *s = sl_zsock_new(f->zctx, ZMQ_DEALER, SL_PROTO_MAX_MSG, &err);

	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_FATAL(f->npeers < (int)SL_ARRAY_LEN(f->peers));
	f->peers[f->npeers++] = s;
	if (id)
		CU_ASSERT(zmq_setsockopt(s, ZMQ_ROUTING_ID, id, idlen) == 0);
	CU_ASSERT(zmq_connect(s, "inproc://test-coord") == 0);
	sl_buf_release(&err);
	return s;
}

/* A message of this type with no fields set (SHUTDOWN, HEARTBEAT). */
static void
send_type(void *s, int type)
{
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = (uint8_t)type;
	CU_ASSERT(sl_zsend(s, NULL, &m, NULL, 0) == SL_OK);
}

/* SUBMIT of wordcount on one input file, one partition. */
static void
send_submit(void *s, const char *input, const char *outdir,
	    uint64_t split_size)
{
	char *inputs[] = { (char *)input };
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_SUBMIT;
	m.u.submit.spec.job = "wordcount";
	m.u.submit.spec.partitions = 1;
	m.u.submit.spec.max_attempts = 4;
	m.u.submit.spec.max_record = 1024;
	m.u.submit.inputs = inputs;
	m.u.submit.ninputs = 1;
	m.u.submit.output_dir = (char *)outdir;
	m.u.submit.split_size = split_size;
	CU_ASSERT(sl_zsend(s, NULL, &m, NULL, 0) == SL_OK);
}

/* The client's SHUTDOWN ends the coordinator; then all is freed. */
static void
coord_stop(coord_fixture *f, void *client)
{
	int i;

	send_type(client, SL_MSG_SHUTDOWN);
	pthread_join(f->thread, NULL);
	ASSERT_EQ_INT(f->rv, SL_OK);
	for (i = 0; i < f->npeers; i++)
		sl_zsock_close(f->peers[i]);
	sl_coord_free(f->coord);
	zmq_ctx_term(f->zctx);
	sl_buf_release(&f->err);
}

/*
 * The next message on one of the n sockets within ms, HEARTBEATs
 * skipped: its type and *who (the socket's index), or 0 when none came.
 * The caller releases *m.
 */
static int
recv_any(void *const *socks, int n, long ms, int *who, sl_msg *m)
{
	zmq_pollitem_t pi[4];
	sl_buf err = SL_BUF_INIT;
	int i, type = 0;

	memset(m, 0, sizeof(*m));
	*who = 0;
	for (i = 0; i < n; i++)
		pi[i] = (zmq_pollitem_t){ .socket = socks[i],
					  .events = ZMQ_POLLIN };
	while (type == 0 && zmq_poll(pi, n, ms) > 0) {
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

/* The type of the next message on s within ms, or 0 when none came. */
static int
recv_type(void *s, long ms)
{
	sl_msg m;
	int who, type = recv_any(&s, 1, ms, &who, &m);

	sl_msg_release(&m);
	return type;
}

static void
test_only_the_client_submits_and_stops_the_coordinator(void)
{
	static const unsigned char id[SL_COORD_CLIENT_ID] = "client-identity";
	static const unsigned char other[SL_COORD_CLIENT_ID] = "another-peer..";
	coord_fixture f;
	sl_coord_config cfg;
	void *client, *outsider;

	sl_coord_config_default(&cfg);
	memcpy(cfg.client_id, id, sizeof(id));
	coord_start(&f, &cfg);
	client = peer_new(&f, id, sizeof(id));
	outsider = peer_new(&f, other, sizeof(other));

	/* The outsider's SUBMIT gets no answer, its SHUTDOWN stops nothing. */
	send_submit(outsider, "/nonexistent-input", "/nonexistent-output",
		    1024);
	send_type(outsider, SL_MSG_SHUTDOWN);
	ASSERT_EQ_INT(recv_type(outsider, 300), 0);
	/* The client's SUBMIT is answered: accepted, then done (its input
	 * does not exist), so the coordinator still runs. */
	send_submit(client, "/nonexistent-input", "/nonexistent-output", 1024);
	ASSERT_EQ_INT(recv_type(client, 5000), SL_MSG_ACCEPTED);
	ASSERT_EQ_INT(recv_type(client, 5000), SL_MSG_JOB_DONE);
	/* And the client's SHUTDOWN ends it. */
	coord_stop(&f, client);
}

static void
send_hello(void *s, const char *name, const char *endpoint, uint32_t slots)
{
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_HELLO;
	m.u.hello.name = (char *)name;
	m.u.hello.slots = slots;
	m.u.hello.shuffle_endpoint = (char *)endpoint;
	CU_ASSERT(sl_zsend(s, NULL, &m, NULL, 0) == SL_OK);
}

/* A fake worker joins: HELLO with one slot, then the WELCOME. */
static void
worker_join(void *s, const char *name, const char *endpoint)
{
	send_hello(s, name, endpoint, 1);
	ASSERT_EQ_INT(recv_type(s, 5000), SL_MSG_WELCOME);
}

/*
 * Fencing (docs/fault-tolerance.md): a peer that is not a live worker is
 * answered REJOIN; a HELLO offering more slots than the scheduler takes
 * makes no worker of its peer, and the most it takes does.
 */
static void
test_a_peer_that_is_not_a_worker_is_told_to_join_again(void)
{
	coord_fixture f;
	sl_coord_config cfg;
	void *client, *stranger, *greedy, *worker;

	sl_coord_config_default(&cfg);
	memset(cfg.client_id, 0, sizeof(cfg.client_id)); /* any peer */
	coord_start(&f, &cfg);
	client = peer_new(&f, NULL, 0);
	stranger = peer_new(&f, NULL, 0);
	greedy = peer_new(&f, NULL, 0);
	worker = peer_new(&f, NULL, 0);

	send_type(stranger, SL_MSG_HEARTBEAT);
	ASSERT_EQ_INT(recv_type(stranger, 5000), SL_MSG_REJOIN);
	/* One peer's messages are taken in order: a WELCOME would come
	 * before the answer to its HEARTBEAT. */
	send_hello(greedy, "greedy", "tcp://greedy:1", SL_SCHED_MAX_SLOTS + 1);
	send_type(greedy, SL_MSG_HEARTBEAT);
	ASSERT_EQ_INT(recv_type(greedy, 5000), SL_MSG_REJOIN);
	send_hello(worker, "worker", "tcp://worker:1", SL_SCHED_MAX_SLOTS);
	ASSERT_EQ_INT(recv_type(worker, 5000), SL_MSG_WELCOME);
	coord_stop(&f, client);
}

/*
 * The next TASK on one of the two workers (*who runs it): of this kind
 * and attempt, and of this task unless task is -1 (the caller checks).
 */
static void
expect_task(void *const *workers, int *who, sl_msg *m, uint8_t kind,
	    long task, uint32_t attempt)
{
	int type = recv_any(workers, 2, 5000, who, m);

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
 * m is a reduce TASK naming nmaps map outputs; its entry `map` is that
 * map's output of `attempt`, held at `endpoint`.
 */
static void
expect_output(const sl_msg *m, uint32_t nmaps, uint32_t map,
	      uint32_t attempt, const char *endpoint)
{
	ASSERT_EQ_INT(m->u.task.nmaps, nmaps);
	if (map >= m->u.task.nmaps)
		return;
	ASSERT_EQ_INT(m->u.task.maps[map].map, map);
	ASSERT_EQ_INT(m->u.task.maps[map].attempt, attempt);
	ASSERT_EQ_STR(m->u.task.maps[map].endpoint, endpoint);
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
	coord_fixture f;
	sl_coord_config cfg;
	void *client, *w[2];
	char *input, *outdir;
	sl_attempt_id id;
	sl_msg m;
	int i, who, any, holder[2] = { 0, 0 }; /* by map: its worker */

	unit_tdir_make();
	unit_write_file(unit_tpath("in.txt"), "aaaa\nbbbb\n", 10);
	input = strdup(unit_tpath("in.txt"));
	outdir = strdup(unit_tpath("out"));
	sl_coord_config_default(&cfg);
	memset(cfg.client_id, 0, sizeof(cfg.client_id)); /* any peer */
	cfg.timeout_ms = 60000;
	cfg.sched.backoff_ms = 1;
	cfg.sched.speculation = false;
	coord_start(&f, &cfg);
	w[0] = peer_new(&f, NULL, 0);
	w[1] = peer_new(&f, NULL, 0);
	client = peer_new(&f, NULL, 0);
	worker_join(w[0], "worker-a", ep[0]);
	worker_join(w[1], "worker-b", ep[1]);

	/* wordcount on 2 splits of 5 bytes, one partition */
	send_submit(client, input, outdir, 5);
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
	expect_output(&m, 2, 1, 0, ep[holder[1]]);
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
	expect_output(&m, 2, 0, 0, ep[holder[0]]);
	expect_output(&m, 2, 1, 1, ep[holder[1]]);

	/* It commits: the job succeeds. */
	id = m.u.task.id;
	sl_msg_release(&m);
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_COMMIT_REQ;
	m.u.commit_req.id = id;
	CU_ASSERT(sl_zsend(w[who], NULL, &m, NULL, 0) == SL_OK);
	ASSERT_EQ_INT(recv_type(w[who], 5000), SL_MSG_COMMIT_GO);
	send_task_done(w[who], &id, SL_OK, 0, 0);
	ASSERT_EQ_INT(recv_any(&client, 1, 5000, &any, &m), SL_MSG_JOB_DONE);
	ASSERT_EQ_INT(m.u.job_done.status, SL_OK);
	sl_msg_release(&m);

	coord_stop(&f, client);
	free(input);
	free(outdir);
	unit_tdir_remove();
}

/* COMMIT_REQ for attempt id, from s. */
static void
send_commit_req(void *s, const sl_attempt_id *id)
{
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_COMMIT_REQ;
	m.u.commit_req.id = *id;
	CU_ASSERT(sl_zsend(s, NULL, &m, NULL, 0) == SL_OK);
}

/*
 * A peer that joined as a worker forges the reports of the attempts the
 * real worker runs: asks to commit its reduce, and reports it and the map
 * failed with a status that is not retried. None of it counts: no
 * COMMIT_GO, the job does not fail; the real worker then commits and the
 * job succeeds.
 */
static void
test_only_the_worker_of_an_attempt_reports_or_commits_it(void)
{
	coord_fixture f;
	sl_coord_config cfg;
	void *client, *w, *forger, *socks[2];
	sl_attempt_id map, red;
	sl_msg m;
	int any;

	unit_tdir_make();
	unit_write_file(unit_tpath("in.txt"), "a b\n", 4);
	sl_coord_config_default(&cfg);
	memset(cfg.client_id, 0, sizeof(cfg.client_id)); /* any peer */
	cfg.timeout_ms = 60000;
	cfg.sched.speculation = false;
	coord_start(&f, &cfg);
	w = peer_new(&f, NULL, 0);
	forger = peer_new(&f, NULL, 0);
	client = peer_new(&f, NULL, 0);
	worker_join(w, "worker", "tcp://worker:1");
	send_submit(client, unit_tpath("in.txt"), unit_tpath("out"), 1024);
	ASSERT_EQ_INT(recv_type(client, 5000), SL_MSG_ACCEPTED);
	socks[0] = w;
	socks[1] = forger; /* not joined yet: gets nothing */
	expect_task(socks, &any, &m, SL_TASK_MAP, 0, 0);
	ASSERT_EQ_INT(any, 0);
	map = m.u.task.id;
	sl_msg_release(&m);
	send_task_done(w, &map, SL_OK, 0, 0);
	expect_task(socks, &any, &m, SL_TASK_REDUCE, 0, 0);
	ASSERT_EQ_INT(any, 0);
	red = m.u.task.id;
	sl_msg_release(&m);

	/* The forger joins (it has a slot, but there is nothing to run). */
	worker_join(forger, "forger", "tcp://forger:1");
	send_commit_req(forger, &red);
	send_task_done(forger, &red, SL_EUSAGE, 0, 0);
	send_task_done(forger, &map, SL_EBADRECORD, 0, 0);
	socks[0] = forger;
	socks[1] = client;
	ASSERT_EQ_INT(recv_any(socks, 2, 500, &any, &m), 0);
	sl_msg_release(&m);

	/* The real worker commits: the job succeeds. */
	send_commit_req(w, &red);
	ASSERT_EQ_INT(recv_type(w, 5000), SL_MSG_COMMIT_GO);
	send_task_done(w, &red, SL_OK, 0, 0);
	ASSERT_EQ_INT(recv_any(&client, 1, 5000, &any, &m), SL_MSG_JOB_DONE);
	ASSERT_EQ_INT(m.u.job_done.status, SL_OK);
	sl_msg_release(&m);
	coord_stop(&f, client);
	unit_tdir_remove();
}

/*
 * An outsider sends thousands of TASK_DONE and reads none of the
 * REJOINs they are answered with: once its queue is full the answers
 * are dropped, and the coordinator goes on serving (a worker joins).
 */
static void
test_a_peer_that_never_reads_does_not_freeze_the_coordinator(void)
{
	coord_fixture f;
	sl_coord_config cfg;
	sl_attempt_id id = { 1, SL_TASK_REDUCE, 0, 0 };
	void *client, *outsider, *late;
	int one = 1, i, sent = 0;
	sl_msg m;

	sl_coord_config_default(&cfg);
	memset(cfg.client_id, 0, sizeof(cfg.client_id)); /* any peer */
	coord_start(&f, &cfg);
	client = peer_new(&f, NULL, 0);
	outsider = peer_new(&f, NULL, 0);
	late = peer_new(&f, NULL, 0);
	/* one reply fills its queue: the coordinator's 1000 then do */
	CU_ASSERT(zmq_setsockopt(outsider, ZMQ_RCVHWM, &one, sizeof(one)) ==
		  0);
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_TASK_DONE;
	m.u.task_done.id = id;
	m.u.task_done.error = "";
	for (i = 0; i < 5000; i++) {
		/* our own sends do not block either: a frozen coordinator
		 * would fill the queue, and we go on to the check */
		if (sl_zsend(outsider, NULL, &m, NULL, 0) == SL_OK)
			sent++;
		else
			usleep(1000);
	}
	CU_ASSERT(sent > 2000);
	send_hello(late, "late", "tcp://late:1", 1);
	ASSERT_EQ_INT(recv_type(late, 5000), SL_MSG_WELCOME);
	coord_stop(&f, client);
}

/*
 * HELLOs from ever-new identities: at most max_workers live workers are
 * taken; a lost one leaves the table, so others can join after it.
 */
static void
test_the_worker_table_is_bounded_and_reclaims_lost_workers(void)
{
	coord_fixture f;
	sl_coord_config cfg;
	void *client, *w[5];
	int i, type = 0;

	sl_coord_config_default(&cfg);
	memset(cfg.client_id, 0, sizeof(cfg.client_id)); /* any peer */
	cfg.max_workers = 2;
	cfg.heartbeat_ms = 50;
	cfg.timeout_ms = 1000;
	coord_start(&f, &cfg);
	client = peer_new(&f, NULL, 0);
	for (i = 0; i < 5; i++)
		w[i] = peer_new(&f, NULL, 0);
	worker_join(w[0], "a", "tcp://a:1");
	worker_join(w[1], "b", "tcp://b:1");
	/* Full: no WELCOME while a and b live. */
	send_hello(w[2], "c", "tcp://c:1", 1);
	ASSERT_EQ_INT(recv_type(w[2], 200), 0);
	/* a and b never answer: once they are lost, c and d get in. */
	for (i = 0; i < 30 && type != SL_MSG_WELCOME; i++) {
		send_hello(w[2], "c", "tcp://c:1", 1);
		type = recv_type(w[2], 300);
	}
	ASSERT_EQ_INT(type, SL_MSG_WELCOME);
	send_hello(w[3], "d", "tcp://d:1", 1);
	ASSERT_EQ_INT(recv_type(w[3], 5000), SL_MSG_WELCOME);
	/* and the table is full again for a fifth */
	send_hello(w[4], "e", "tcp://e:1", 1);
	send_type(w[2], SL_MSG_HEARTBEAT);
	send_type(w[3], SL_MSG_HEARTBEAT);
	ASSERT_EQ_INT(recv_type(w[4], 100), 0);
	coord_stop(&f, client);
}

static const unit_case cases[] = {
	{ "only the client submits jobs and stops the coordinator",
	  test_only_the_client_submits_and_stops_the_coordinator },
	{ "a peer that is not a worker is told to join again",
	  test_a_peer_that_is_not_a_worker_is_told_to_join_again },
	{ "a reduce after a map rerun names the new output",
	  test_a_reduce_after_a_map_rerun_names_the_new_output },
	{ "only the worker of an attempt reports or commits it",
	  test_only_the_worker_of_an_attempt_reports_or_commits_it },
	{ "a peer that never reads does not freeze the coordinator",
	  test_a_peer_that_never_reads_does_not_freeze_the_coordinator },
	{ "the worker table is bounded and reclaims lost workers",
	  test_the_worker_table_is_bounded_and_reclaims_lost_workers },
	{ NULL, NULL }
};

UNIT_MAIN("coord", cases)
