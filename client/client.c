/*
 * client.c - a client of a coordinator; see client.h.
 */
#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <zmq.h>

#include "cluster/zmsg.h"

struct sl_client {
	void *sock;          /* DEALER to the coordinator */
	char *endpoint;      /* for messages */
	uint32_t timeout_ms; /* of a request */
};

int
sl_client_new(sl_client **cp, void *zctx, const char *endpoint,
	      const unsigned char *id, size_t idlen, uint32_t timeout_ms,
	      sl_buf *err)
{
	sl_client *c = calloc(1, sizeof(*c));

	*cp = NULL;
	if (c == NULL || (c->endpoint = strdup(endpoint)) == NULL) {
		free(c);
		sl_buf_addstr(err, "out of memory");
		return SL_ENOMEM;
	}
	c->timeout_ms = timeout_ms;
	c->sock = sl_zsock_new(zctx, ZMQ_DEALER, SL_PROTO_MAX_MSG, err);
	if (c->sock == NULL)
		goto fail;
	if (id && zmq_setsockopt(c->sock, ZMQ_ROUTING_ID, id, idlen) != 0) {
		sl_buf_addf(err, "cannot set the client's identity: %s",
			    zmq_strerror(zmq_errno()));
		goto fail;
	}
	if (zmq_connect(c->sock, endpoint) != 0) {
		sl_buf_addf(err, "cannot connect to '%s': %s", endpoint,
			    zmq_strerror(zmq_errno()));
		goto fail;
	}
	*cp = c;
	return SL_OK;
fail:
	sl_client_free(c);
	return SL_EIO;
}

void
sl_client_free(sl_client *c)
{
	if (c == NULL)
		return;
	sl_zsock_close(c->sock);
	free(c->endpoint);
	free(c);
}

const char *
sl_client_endpoint(const sl_client *c)
{
	return c->endpoint;
}

int
sl_client_send(sl_client *c, const sl_msg *m, sl_buf *err)
{
	int rv = sl_zsend(c->sock, NULL, m, NULL, 0);

	if (rv != SL_OK)
		sl_buf_addf(err, "cannot send %s to coordinator '%s': %s",
			    sl_msg_type_name(m->type), c->endpoint,
			    sl_strerror(rv));
	return rv;
}

/*
 * The next message within ms (-1: no limit): SL_OK and *m, SL_ETIMEOUT,
 * SL_EIO, SL_EPROTO. EINTR counts as a tick: returns SL_ETIMEOUT early.
 */
static int
client_recv(sl_client *c, long ms, sl_msg *m, sl_buf *err)
{
	zmq_pollitem_t item = { .socket = c->sock, .events = ZMQ_POLLIN };
	int n = zmq_poll(&item, 1, ms);

	if (n < 0 && zmq_errno() == EINTR)
		return SL_ETIMEOUT;
	if (n < 0) {
		sl_buf_addf(err, "poll failed: %s", zmq_strerror(zmq_errno()));
		return SL_EIO;
	}
	if (n == 0)
		return SL_ETIMEOUT;
	if ((n = sl_zrecv(c->sock, false, NULL, m, NULL, err)) == SL_EVERSION)
		sl_buf_addf(err, ": coordinator '%s' is of another version",
			    c->endpoint);
	return n;
}

static int
client_no_answer(sl_client *c, int type, sl_buf *err)
{
	sl_buf_addf(err, "no answer to %s from coordinator '%s' within %u ms "
		    "(is it running?)", sl_msg_type_name(type), c->endpoint,
		    c->timeout_ms);
	return SL_ETIMEOUT;
}

int
sl_client_request(sl_client *c, const sl_msg *req, int reply_type,
		  sl_msg *reply, sl_buf *err)
{
	uint64_t until = sl_now_ms() + c->timeout_ms, now;
	int rv;

	memset(reply, 0, sizeof(*reply));
	if ((rv = sl_client_send(c, req, err)) != SL_OK)
		return rv;
	while ((now = sl_now_ms()) < until) {
		rv = client_recv(c, (long)(until - now), reply, err);
		if (rv == SL_ETIMEOUT)
			continue;
		if (rv != SL_OK)
			return rv;
		if (reply->type == reply_type)
			return SL_OK;
		sl_msg_release(reply);
	}
	return client_no_answer(c, req->type, err);
}

int
sl_client_log(sl_client *c, uint64_t job, sl_msg *log, sl_buf *err)
{
	sl_msg req, page;
	sl_attempt_info *v;
	size_t n;
	int rv;

	memset(&req, 0, sizeof(req));
	req.type = SL_MSG_LOG;
	req.u.log.job = job;
	if ((rv = sl_client_request(c, &req, SL_MSG_JOB_LOG, log, err)) !=
	    SL_OK)
		return rv;
	/* Later pages may repeat an attempt started meanwhile (see
	 * sl_sched_attempt_each): a duplicate is harmless to a reader. */
	while (log->u.job_log.status == SL_OK &&
	       log->u.job_log.nattempts < log->u.job_log.total) {
		req.u.log.from = log->u.job_log.nattempts;
		if ((rv = sl_client_request(c, &req, SL_MSG_JOB_LOG, &page,
					    err)) != SL_OK)
			goto fail;
		n = page.u.job_log.nattempts;
		if (page.u.job_log.status != SL_OK || n == 0 ||
		    log->u.job_log.nattempts + (uint64_t)n > SL_PROTO_MAX_ITEMS ||
		    (v = realloc(log->u.job_log.attempts,
				 (log->u.job_log.nattempts + n) *
					 sizeof(*v))) == NULL) {
			rv = n == 0 || page.u.job_log.status != SL_OK
				     ? SL_EPROTO
				     : SL_ENOMEM;
			sl_buf_addf(err, "cannot read the log of job %llu "
				    "from coordinator '%s': %s",
				    (unsigned long long)job, c->endpoint,
				    rv == SL_ENOMEM ? "out of memory"
						    : "a page is missing");
			sl_msg_release(&page);
			goto fail;
		}
		memcpy(v + log->u.job_log.nattempts, page.u.job_log.attempts,
		       n * sizeof(*v));
		log->u.job_log.attempts = v;
		log->u.job_log.nattempts += (uint32_t)n;
		/* the strings moved to log: free the page's array alone */
		free(page.u.job_log.attempts);
		page.u.job_log.attempts = NULL;
		page.u.job_log.nattempts = 0;
		sl_msg_release(&page);
	}
	return SL_OK;
fail:
	sl_msg_release(log);
	return rv;
}

int
sl_client_submit(sl_client *c, const sl_msg *submit, uint64_t *job,
		 sl_msg *done, sl_buf *err)
{
	uint64_t until = sl_now_ms() + c->timeout_ms, now;
	sl_msg m;
	int rv;

	*job = 0;
	memset(done, 0, sizeof(*done));
	if ((rv = sl_client_send(c, submit, err)) != SL_OK)
		return rv;
	while ((now = sl_now_ms()) < until) {
		rv = client_recv(c, (long)(until - now), &m, err);
		if (rv == SL_ETIMEOUT)
			continue;
		if (rv != SL_OK)
			return rv;
		if (m.type == SL_MSG_ACCEPTED) {
			*job = m.u.accepted.job;
			sl_msg_release(&m);
			return SL_OK;
		}
		if (m.type == SL_MSG_JOB_DONE) {
			*done = m;
			return SL_OK;
		}
		sl_msg_release(&m);
	}
	return client_no_answer(c, SL_MSG_SUBMIT, err);
}

int
sl_client_wait(sl_client *c, uint64_t job, uint32_t tick_ms,
	       sl_client_event_fn *fn, void *arg, sl_msg *done, sl_buf *err)
{
	uint64_t next = sl_now_ms() + tick_ms, now;
	sl_msg m;
	int rv;

	memset(done, 0, sizeof(*done));
	for (;;) {
		now = sl_now_ms();
		if (now >= next) {
			next = now + tick_ms;
			if (fn && (rv = fn(arg, NULL, err)) != SL_OK)
				return rv;
		}
		rv = client_recv(c, (long)(next > now ? next - now : 0), &m,
				 err);
		if (rv == SL_ETIMEOUT) {
			next = sl_now_ms(); /* a tick now: a signal came */
			continue;
		}
		if (rv != SL_OK)
			return rv;
		if (m.type == SL_MSG_JOB_DONE && m.u.job_done.job == job) {
			*done = m;
			return SL_OK;
		}
		rv = fn ? fn(arg, &m, err) : SL_OK;
		sl_msg_release(&m);
		if (rv != SL_OK)
			return rv;
	}
}
