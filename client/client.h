/*
 * client.h - a client of a coordinator: submits a job and waits for it,
 * and asks the coordinator questions (request and reply). The one
 * implementation of every client operation, used by the `sluice` command
 * (its embedded coordinator too), by tests, and later by the REST API.
 *
 * A client is one DEALER socket connected to the coordinator's endpoint,
 * with an identity the coordinator may know it by (the embedded client of
 * `sluice run`) or ZeroMQ's. Every wait is bounded: a coordinator that
 * does not answer within the client's timeout is an error naming it
 * (SL_ETIMEOUT), never a hang.
 *
 * Not thread-safe: one thread uses a client. The ZeroMQ context is the
 * caller's and must outlive the client.
 */
#ifndef SL_CLIENT_H
#define SL_CLIENT_H

#include "sl_impl.h"
#include "common/proto.h"

typedef struct sl_client sl_client;

/*
 * Connects to endpoint. id/idlen: the routing identity to use, or NULL.
 * timeout_ms: how long a request may wait for its reply. SL_OK and *cp,
 * or SL_EIO/SL_ENOMEM with the reason in err.
 */
int sl_client_new(sl_client **cp, void *zctx, const char *endpoint,
		  const unsigned char *id, size_t idlen, uint32_t timeout_ms,
		  sl_buf *err);
void sl_client_free(sl_client *c);

/*
 * What a wait calls every tick_ms, and with each message that is not the
 * one awaited (m NULL on a tick): SL_OK goes on waiting; any other code
 * ends the wait with that code (the reason in err).
 */
typedef int sl_client_event_fn(void *arg, const sl_msg *m, sl_buf *err);

/*
 * Sends submit (a SUBMIT message) and waits for ACCEPTED: *job is the
 * job's id. A JOB_DONE instead (the job was refused at once) is returned
 * in *done with SL_OK and *job 0. SL_ETIMEOUT, SL_EIO, SL_EPROTO.
 */
int sl_client_submit(sl_client *c, const sl_msg *submit, uint64_t *job,
		     sl_msg *done, sl_buf *err);

/*
 * Waits for the JOB_DONE of job, calling fn (may be NULL) every tick_ms
 * and for other messages. SL_OK with *done the caller's to release, or
 * fn's code, or SL_EIO/SL_EPROTO. No timeout: a job takes what it takes
 * (fn decides).
 */
int sl_client_wait(sl_client *c, uint64_t job, uint32_t tick_ms,
		   sl_client_event_fn *fn, void *arg, sl_msg *done,
		   sl_buf *err);

/*
 * Sends req and waits up to the client's timeout for a message of type
 * reply_type, into *reply (the caller's to release). Other messages are
 * dropped. SL_OK, SL_ETIMEOUT ("no answer from coordinator 'x' within N
 * ms"), SL_EIO, SL_EPROTO.
 */
int sl_client_request(sl_client *c, const sl_msg *req, int reply_type,
		      sl_msg *reply, sl_buf *err);

/*
 * The whole attempt log of job (LOG, page by page) into *log, a JOB_LOG
 * the caller releases: status SL_OK with every attempt and the counters,
 * or the coordinator's refusal (SL_ENOTFOUND, its error). SL_OK, or an
 * error of sl_client_request, or SL_EPROTO for pages that do not add up.
 */
int sl_client_log(sl_client *c, uint64_t job, sl_msg *log, sl_buf *err);

/* Sends m, expecting no reply (SHUTDOWN). SL_OK, SL_ELOST, SL_EIO. */
int sl_client_send(sl_client *c, const sl_msg *m, sl_buf *err);

/* The endpoint the client is connected to. */
const char *sl_client_endpoint(const sl_client *c);

#endif
