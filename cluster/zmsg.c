/*
 * zmsg.c - protocol messages on ZeroMQ sockets; see zmsg.h.
 */
#include "zmsg.h"

#include <errno.h>
#include <time.h>
#include <zmq.h>

void *
sl_zsock_new(void *zctx, int type, int64_t max_msg_bytes, sl_buf *err)
{
	int zero = 0, one = 1;
	void *s = zmq_socket(zctx, type);

	if (s == NULL) {
		sl_buf_addf(err, "cannot create socket: %s",
			    zmq_strerror(zmq_errno()));
		return NULL;
	}
	if (zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_msg_bytes,
			   sizeof(max_msg_bytes)) ||
	    (type == ZMQ_ROUTER &&
	     zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)))) {
		sl_buf_addf(err, "cannot set socket options: %s",
			    zmq_strerror(zmq_errno()));
		zmq_close(s);
		return NULL;
	}
	return s;
}

void
sl_zsock_close(void *sock)
{
	if (sock)
		zmq_close(sock);
}

int
sl_zsock_bind(void *sock, const char *endpoint, sl_buf *out, sl_buf *err)
{
	char last[1024];
	size_t len = sizeof(last);

	if (zmq_bind(sock, endpoint) != 0) {
		sl_buf_addf(err, "cannot bind '%s': %s", endpoint,
			    zmq_strerror(zmq_errno()));
		return SL_EIO;
	}
	if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, last, &len) != 0) {
		sl_buf_addf(err, "cannot read bound endpoint: %s",
			    zmq_strerror(zmq_errno()));
		return SL_EIO;
	}
	sl_buf_reset(out);
	return sl_buf_addstr(out, last);
}

/*
 * Never blocks (ZMQ_DONTWAIT): a peer whose queue is full has stopped
 * reading, and a blocking send to it would stop the caller's loop for as
 * long as it stays connected, or for ever. EAGAIN (queue full) and
 * EHOSTUNREACH (ROUTER_MANDATORY: no such peer) are both SL_ELOST. Only
 * the first frame can meet either: once it is queued, ZeroMQ takes the
 * rest of the message.
 */
static int
zmsg_send_frame(void *sock, const void *p, size_t len, int flags)
{
	while (zmq_send(sock, p, len, flags | ZMQ_DONTWAIT) < 0) {
		if (zmq_errno() == EINTR)
			continue;
		return zmq_errno() == EHOSTUNREACH || zmq_errno() == EAGAIN
			       ? SL_ELOST
			       : SL_EIO;
	}
	return SL_OK;
}

int
sl_zsend(void *sock, const sl_buf *peer, const sl_msg *m, const void *data,
	 size_t dlen)
{
	sl_buf enc = SL_BUF_INIT;
	int rv;

	if ((rv = sl_msg_encode(m, &enc)) != SL_OK)
		goto out;
	if (peer && (rv = zmsg_send_frame(sock, peer->buf, peer->len,
					  ZMQ_SNDMORE)) != SL_OK)
		goto out;
	if ((rv = zmsg_send_frame(sock, enc.buf, enc.len,
				  data ? ZMQ_SNDMORE : 0)) != SL_OK)
		goto out;
	if (data)
		rv = zmsg_send_frame(sock, data, dlen, 0);
out:
	sl_buf_release(&enc);
	return rv;
}

/* Receives one frame into z; returns SL_OK and whether more follow. */
static int
zmsg_recv_frame(void *sock, zmq_msg_t *z, bool *more)
{
	while (zmq_msg_recv(z, sock, 0) < 0) {
		if (zmq_errno() == EINTR)
			continue;
		return SL_EIO;
	}
	*more = zmq_msg_more(z);
	return SL_OK;
}

/* Reads and drops the rest of a multipart message. */
static void
zmsg_drain(void *sock, bool more)
{
	zmq_msg_t z;

	while (more) {
		zmq_msg_init(&z);
		if (zmsg_recv_frame(sock, &z, &more) != SL_OK)
			more = false;
		zmq_msg_close(&z);
	}
}

int
sl_zrecv(void *sock, bool router, sl_buf *peer, sl_msg *m, sl_buf *data,
	 sl_buf *err)
{
	zmq_msg_t z;
	bool more = false;
	int rv;

	memset(m, 0, sizeof(*m));
	zmq_msg_init(&z);
	if ((rv = zmsg_recv_frame(sock, &z, &more)) != SL_OK)
		goto out;
	if (router) {
		sl_buf_reset(peer);
		if ((rv = sl_buf_add(peer, zmq_msg_data(&z),
				     zmq_msg_size(&z))) != SL_OK)
			goto out;
		if (!more) {
			sl_buf_addstr(err, "message without body");
			rv = SL_EPROTO;
			goto out;
		}
		zmq_msg_close(&z);
		zmq_msg_init(&z);
		if ((rv = zmsg_recv_frame(sock, &z, &more)) != SL_OK)
			goto out;
	}
	if ((rv = sl_msg_decode(zmq_msg_data(&z), zmq_msg_size(&z), m,
				err)) != SL_OK)
		goto out;
	if (more != (m->type == SL_MSG_FETCH_REPLY) || (more && !data)) {
		sl_buf_addf(err, "%s: unexpected number of frames",
			    sl_msg_type_name(m->type));
		sl_msg_release(m);
		rv = SL_EPROTO;
		goto out;
	}
	if (more) {
		zmq_msg_close(&z);
		zmq_msg_init(&z);
		if ((rv = zmsg_recv_frame(sock, &z, &more)) != SL_OK)
			goto fail;
		sl_buf_reset(data);
		if (more) {
			sl_buf_addstr(err, "FETCH_REPLY: too many frames");
			rv = SL_EPROTO;
			goto fail;
		}
		if ((rv = sl_buf_add(data, zmq_msg_data(&z),
				     zmq_msg_size(&z))) != SL_OK)
			goto fail;
	}
	zmq_msg_close(&z);
	return SL_OK;
fail:
	sl_msg_release(m);
out:
	zmq_msg_close(&z);
	zmsg_drain(sock, more);
	return rv;
}

uint64_t
sl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
