/*
 * test_coord.c - the coordinator's gate on SUBMIT and SHUTDOWN: only the
 * embedded client (its ROUTER identity) may submit jobs or stop it. Runs
 * a real coordinator on a thread, with peers on inproc sockets.
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

static const unit_case cases[] = {
	{ "only the client submits jobs and stops the coordinator",
	  test_only_the_client_submits_and_stops_the_coordinator },
	{ NULL, NULL }
};

UNIT_MAIN("coord", cases)
