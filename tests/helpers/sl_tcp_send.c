/*
 * sl_tcp_send.c - a producer for the tests of the tcp:// source: sends
 * its standard input to a stream's port and reads the stream's acks.
 *
 *   sl-tcp-send [--reconnect SECONDS] [--pace LINES,MS] PORT|@PORTFILE
 *
 * Connects to 127.0.0.1:PORT (with @PORTFILE, the port in that file, read
 * again at each connection), sends the bytes of stdin (its lines, then a
 * last line without "\n" if there is one), shuts its side down and reads
 * until the stream closes, all the while reading "ok N" (N: lines of this
 * connection durable) and "error ..." lines. --pace sends LINES lines,
 * then waits MS ms, and so on. --reconnect: when the connection is lost
 * (the stream killed), connects again, for up to SECONDS, and goes on
 * with the first line it had not sent: a line sent and not acknowledged
 * is not sent again (it may or may not be in the stream).
 *
 * Prints a line a connection, "conn START ACKED SENT": the connection's
 * first line (0 for the input's first), the lines it acknowledged and
 * the lines sent on it; and each "error ..." line the stream sent, as
 * "stream: error ...". Exit status: 0 when every line of the input was
 * sent and acknowledged, 1 otherwise, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* All of stdin. */
static char *
read_all(size_t *len)
{
	size_t alloc = 1 << 16, n = 0;
	char *p = malloc(alloc), *q;
	ssize_t got;

	while (p) {
		if (n == alloc) {
			q = realloc(p, alloc *= 2);
			if (q == NULL)
				break;
			p = q;
		}
		got = read(0, p + n, alloc - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0) {
				*len = n;
				return p;
			}
			break;
		}
		n += (size_t)got;
	}
	free(p);
	return NULL;
}

/* A connection to the port (or the port in @file); -1 on failure. */
static int
dial(const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char text[32] = "";
	unsigned long p;
	FILE *f;
	int fd;

	if (port[0] == '@') {
		if ((f = fopen(port + 1, "r")) == NULL)
			return -1;
		if (fgets(text, sizeof(text), f) == NULL)
			text[0] = '\0';
		fclose(f);
		port = text;
	}
	p = strtoul(port, NULL, 10);
	if (p == 0 || p > 65535)
		return -1;
	a.sin_port = htons((uint16_t)p);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

int
main(int argc, char **argv)
{
	long reconnect_s = -1, pace_lines = 0, pace_ms = 0;
	const char *port = NULL;
	char *in, reply[4096];
	size_t len, off = 0, rlen = 0, lines_total = 0, i;
	size_t start = 0;  /* input line of this connection's first */
	size_t sent = 0;   /* lines sent on it */
	size_t acked = 0;  /* lines it acknowledged */
	size_t paced = 0;  /* lines sent since the last pause */
	uint64_t pause_until = 0;
	bool refused = false, shut = false, lost;
	int fd, a, rc;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--reconnect") == 0 && a + 1 < argc)
			reconnect_s = atol(argv[++a]);
		else if (strcmp(argv[a], "--pace") == 0 && a + 1 < argc &&
			 sscanf(argv[++a], "%ld,%ld", &pace_lines, &pace_ms) == 2)
			;
		else if (port == NULL && argv[a][0] != '-')
			port = argv[a];
		else
			port = NULL, a = argc;
	}
	if (port == NULL) {
		fprintf(stderr, "usage: sl-tcp-send [--reconnect SECONDS] "
			"[--pace LINES,MS] PORT|@PORTFILE\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((in = read_all(&len)) == NULL) {
		fprintf(stderr, "sl-tcp-send: cannot read stdin\n");
		return 1;
	}
	for (i = 0; i < len; i++)
		lines_total += in[i] == '\n';
	for (;;) {
		uint64_t give_up = now_ms() + (uint64_t)(reconnect_s > 0 ?
							 reconnect_s : 0) * 1000;

		while ((fd = dial(port)) < 0 && reconnect_s > 0 &&
		       now_ms() < give_up)
			sleep_ms(50);
		if (fd < 0) {
			fprintf(stderr, "sl-tcp-send: cannot connect to %s\n",
				port);
			rc = 1;
			break;
		}
		sent = acked = rlen = 0;
		shut = lost = false;
		/* One connection: send, read acks, until the stream closes. */
		for (;;) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int timeout = -1;
			ssize_t n;

			if (off == len && !shut) {
				shutdown(fd, SHUT_WR);
				shut = true;
			}
			if (off < len && !shut) {
				if (pause_until > now_ms())
					timeout = (int)(pause_until - now_ms());
				else
					p.events |= POLLOUT;
			}
			if (poll(&p, 1, timeout) < 0 && errno != EINTR) {
				lost = true;
				break;
			}
			if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
				n = read(fd, reply + rlen, sizeof(reply) - 1 - rlen);
				if (n < 0 && errno != EAGAIN && errno != EINTR) {
					lost = true;
					break;
				}
				if (n == 0) {
					/* The stream closed: it was done with us
					 * only if we were done and all is acked. */
					lost = !shut || acked < sent;
					break;
				}
				if (n > 0) {
					char *nl, *q = reply;

					rlen += (size_t)n;
					reply[rlen] = '\0';
					while ((nl = memchr(q, '\n',
							    rlen - (size_t)(q - reply)))) {
						unsigned long long v;

						*nl = '\0';
						if (sscanf(q, "ok %llu", &v) == 1)
							acked = (size_t)v;
						else {
							printf("stream: %s\n", q);
							refused = true;
						}
						q = nl + 1;
					}
					rlen -= (size_t)(q - reply);
					memmove(reply, q, rlen);
				}
			}
			if ((p.revents & POLLOUT) && off < len) {
				size_t end = len;

				if (pace_lines > 0) { /* up to the pace's next line */
					size_t k = paced;

					for (end = off; end < len; end++)
						if (in[end] == '\n' &&
						    ++k == (size_t)pace_lines) {
							end++;
							break;
						}
				}
				n = send(fd, in + off, end - off, MSG_NOSIGNAL);
				if (n < 0 && errno != EAGAIN && errno != EINTR) {
					lost = true;
					break;
				}
				for (i = 0; n > 0 && i < (size_t)n; i++)
					if (in[off + i] == '\n') {
						sent++;
						if (pace_lines > 0 &&
						    ++paced == (size_t)pace_lines) {
							paced = 0;
							pause_until = now_ms() +
								(uint64_t)pace_ms;
						}
					}
				if (n > 0)
					off += (size_t)n;
			}
		}
		close(fd);
		printf("conn %zu %zu %zu\n", start, acked, sent);
		fflush(stdout);
		if (!lost || refused || reconnect_s <= 0) {
			rc = !lost && !refused && start + sent == lines_total &&
			     acked == sent ? 0 : 1;
			break;
		}
		/* Go on after the last line sent: a partial line sent is
		 * dropped by the stream, so send it whole again. */
		start += sent;
		for (off = 0, i = 0; i < start; off++)
			i += in[off] == '\n';
		paced = 0;
	}
	free(in);
	return rc;
}
