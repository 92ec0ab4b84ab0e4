/*
 * zmsg.h - sending and receiving protocol messages on ZeroMQ sockets.
 *
 * A message on the wire is: [identity frame, on ROUTER sockets] + one
 * msgpack frame (common/proto.h) + [one raw data frame, FETCH_REPLY only].
 * Receiving checks the frame structure as well as the message itself:
 * the bytes come from the network and are untrusted.
 *
 * Sockets are not thread-safe: each socket is used by one thread only
 * (the caller's).
 */
#ifndef SL_ZMSG_H
#define SL_ZMSG_H

#include "sl_impl.h"
#include "proto.h"

/*
 * A socket set up for sluice: linger 0 (a dead peer must not hang
 * zmq_ctx_term), ZMQ_MAXMSGSIZE capped, and ROUTER_MANDATORY on ROUTER
 * sockets so that a send to a vanished peer is an error, not a silent
 * drop. Returns NULL on failure with the reason appended to err.
 */
void *sl_zsock_new(void *zctx, int type, int64_t max_msg_bytes, sl_buf *err);
void sl_zsock_close(void *sock);

/* Binds and writes the endpoint actually bound (port resolved) to out. */
int sl_zsock_bind(void *sock, const char *endpoint, sl_buf *out, sl_buf *err);

/*
 * Sends m without blocking. peer: the ROUTER identity to address, or NULL
 * on DEALER/PAIR. data: the raw frame after the message, or NULL. SL_OK,
 * SL_ELOST (the peer is unknown to a ROUTER, or its queue is full: it is
 * not reading; nothing was sent), SL_EIO, SL_ENOMEM.
 */
int sl_zsend(void *sock, const sl_buf *peer, const sl_msg *m,
	     const void *data, size_t dlen);

/*
 * Receives one message (blocking; poll first). router: expect an
 * identity frame first, stored in *peer. A raw data frame, if any, goes
 * to *data (which may be NULL when no data is expected: then a data frame
 * is a protocol error). SL_OK with *m owned by the caller; SL_EPROTO
 * with the reason in err (the whole multipart message is consumed);
 * SL_EIO for socket errors (e.g. EINTR, ETERM).
 */
int sl_zrecv(void *sock, bool router, sl_buf *peer, sl_msg *m, sl_buf *data,
	     sl_buf *err);

/* Milliseconds of a monotonic clock. */
uint64_t sl_now_ms(void);

#endif
