/*
 * sl_peer.c - an outsider for the integration tests: a ZeroMQ peer that
 * speaks sluice's protocol but is no part of the job, to check that what
 * reaches a socket cannot freeze or fool a real process.
 *
 *   sl-peer flood-fetch ENDPOINT N
 *       connects a DEALER to a worker's shuffle ENDPOINT, sends N FETCH
 *       requests (for an output no worker has), never reads a reply, and
 *       stays connected until SIGTERM: the worker must not block on its
 *       replies. Prints "sent N" on stdout once all are sent.
 *
 *   sl-peer old-client ENDPOINT VERSION
 *       sends the coordinator at ENDPOINT a LIST of protocol VERSION, as
 *       a client of another build would, and prints the type of the
 *       answer ("answer REJOIN"), or "no answer" within 5 s.
 *
 *   sl-peer old-coordinator ENDPOINT VERSION
 *       binds ENDPOINT (printed, port resolved) as a coordinator of
 *       protocol VERSION would, answers
 *       the first message (a worker's HELLO) with a WELCOME whose version
 *       is VERSION, then serves nothing; exits 0 after 10 s or SIGTERM.
 *
 * Exit status: 0 on SIGTERM after the flood, 1 on an error, 2 on usage.
 */
#include "sl_impl.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zmq.h>

#include "cluster/zmsg.h"

static volatile sig_atomic_t peer_stop;

static void
peer_on_term(int sig)
{
	(void)sig;
	peer_stop = 1;
}

static int
peer_flood_fetch(const char *endpoint, unsigned long n)
{
	void *zctx = zmq_ctx_new(), *s;
	sl_buf err = SL_BUF_INIT;
	unsigned long i;
	int hwm = 0, rv = 1; /* no limit on our side: only the worker's */
	sl_msg m;

	s = sl_zsock_new(zctx, ZMQ_DEALER, SL_PROTO_MAX_MSG, &err);
	if (s == NULL || zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) ||
	    zmq_connect(s, endpoint) != 0) {
		fprintf(stderr, "sl-peer: cannot connect to '%s': %s\n",
			endpoint, err.len ? err.buf : zmq_strerror(zmq_errno()));
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_FETCH;
	m.u.fetch.job = 999999;
	m.u.fetch.max_bytes = 1 << 20;
	for (i = 0; i < n && !peer_stop; i++) {
		m.u.fetch.map = (uint32_t)i;
		if (sl_zsend(s, NULL, &m, NULL, 0) != SL_OK) {
			fprintf(stderr, "sl-peer: send %lu failed\n", i);
			goto out;
		}
	}
	printf("sent %lu\n", i);
	fflush(stdout);
	while (!peer_stop)
		pause();
	rv = 0;
out:
	sl_zsock_close(s);
	zmq_ctx_term(zctx);
	sl_buf_release(&err);
	return rv;
}

/* WELCOME{1, 500, 10000} of protocol version v, packed by hand. */
static void
peer_pack_welcome(unsigned char *b, size_t *len, unsigned v)
{
	unsigned char w[] = { 0x95, (unsigned char)v, SL_MSG_WELCOME, 0x01,
			      0xcd, 0x01, 0xf4, 0xcd, 0x27, 0x10 };

	memcpy(b, w, sizeof(w));
	*len = sizeof(w);
}

static int
peer_old_client(const char *endpoint, unsigned v)
{
	void *zctx = zmq_ctx_new(), *s = zmq_socket(zctx, ZMQ_DEALER);
	unsigned char list[] = { 0x92, (unsigned char)v, SL_MSG_LIST };
	zmq_pollitem_t pi = { .socket = s, .events = ZMQ_POLLIN };
	sl_buf err = SL_BUF_INIT;
	int zero = 0, rv = 1;
	sl_msg m;

	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	if (zmq_connect(s, endpoint) != 0 ||
	    zmq_send(s, list, sizeof(list), 0) != (int)sizeof(list))
		goto out;
	if (zmq_poll(&pi, 1, 5000) != 1) {
		printf("no answer\n");
		goto out;
	}
	if (sl_zrecv(s, false, NULL, &m, NULL, &err) == SL_OK) {
		printf("answer %s\n", sl_msg_type_name(m.type));
		sl_msg_release(&m);
	} else {
		printf("answer that does not decode: %s\n", err.buf);
	}
	rv = 0;
out:
	zmq_close(s);
	zmq_ctx_term(zctx);
	sl_buf_release(&err);
	return rv;
}

static int
peer_old_coordinator(const char *endpoint, unsigned v)
{
	void *zctx = zmq_ctx_new(), *s = zmq_socket(zctx, ZMQ_ROUTER);
	zmq_pollitem_t pi = { .socket = s, .events = ZMQ_POLLIN };
	unsigned char id[256], w[16];
	size_t wlen;
	int zero = 0, n, rv = 1, more;
	size_t ml = sizeof(more);

	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	char last[256];
	size_t llen = sizeof(last);

	if (zmq_bind(s, endpoint) != 0 ||
	    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, last, &llen) != 0)
		goto out;
	printf("%s\n", last);
	fflush(stdout);
	if (zmq_poll(&pi, 1, 10000) != 1 ||
	    (n = zmq_recv(s, id, sizeof(id), 0)) <= 0)
		goto out;
	do { /* the rest of the message */
		char junk[1024];

		zmq_recv(s, junk, sizeof(junk), 0);
		zmq_getsockopt(s, ZMQ_RCVMORE, &more, &ml);
	} while (more);
	peer_pack_welcome(w, &wlen, v);
	zmq_send(s, id, (size_t)n, ZMQ_SNDMORE);
	zmq_send(s, w, wlen, 0);
	for (n = 0; n < 100 && !peer_stop; n++)
		usleep(100 * 1000);
	rv = 0;
out:
	zmq_close(s);
	zmq_ctx_term(zctx);
	return rv;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = peer_on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (argc == 4 && strcmp(argv[1], "flood-fetch") == 0)
		return peer_flood_fetch(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "old-client") == 0)
		return peer_old_client(argv[2],
				       (unsigned)strtoul(argv[3], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "old-coordinator") == 0)
		return peer_old_coordinator(argv[2],
					    (unsigned)strtoul(argv[3], NULL,
							      10));
	fprintf(stderr, "usage: sl-peer flood-fetch|old-client|"
		"old-coordinator ENDPOINT N\n");
	return 2;
}
