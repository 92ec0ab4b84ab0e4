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

int
main(int argc, char **argv)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = peer_on_term;
	sigaction(SIGTERM, &sa, NULL);
	if (argc == 4 && strcmp(argv[1], "flood-fetch") == 0)
		return peer_flood_fetch(argv[2], strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: sl-peer flood-fetch ENDPOINT N\n");
	return 2;
}
