/*
 * tcp.c - the TCP source of a stream, "tcp://HOST:PORT[?max-pending=SIZE]":
 * newline-terminated lines (records) that producers send to a port the
 * stream listens on, made replayable by a write-ahead log (WAL) in the
 * checkpoint before they count as received.
 *
 * Listening: HOST is a loopback address only (127.0.0.0/8, ::1 written
 * [::1], localhost for 127.0.0.1): nothing listens beyond loopback
 * without authentication (DESIGN.md), and a source has none yet. PORT 0
 * takes the port of the last run (CK/source/port) when it is free, else
 * any free port; the port bound is written to CK/source/port (write then
 * rename) and logged at info level.
 *
 * The WAL, CK/source/wal/: segment files NNNNNNNNNN-MS.open (the one
 * being written; MS: when its first line arrived, ms since the epoch),
 * sealed by a rename to NNNNNNNNNN-MS.seg, immutable from then on, so a
 * replay reads the same bytes. Segment numbers grow from 1 and are never
 * reused: CK/source/taken holds the highest one a committed batch took,
 * written (durably) before those segments are deleted.
 *
 * The thread: open() starts a thread of the source's own, which accepts
 * up to TCP_MAX_CONNS connections at once (more wait in the listen
 * backlog) and reads them without blocking, all in one poll(2) loop. The
 * complete lines of one round of reads (at most TCP_READ_CHUNK bytes a
 * connection) are appended to the open segment and made durable by one
 * fdatasync (group commit; the directory is fsync'ed when a segment is
 * made), and only then is each connection told how many of its lines are
 * durable: "ok N\n", N counting from the connection's start. A line
 * longer than TCP_MAX_LINE bytes (without its "\n") closes its connection
 * with "error ...\n" and nothing of it is logged; the bytes after the last
 * "\n" when a connection closes are not a record: dropped with a warning,
 * never acknowledged. Any other bytes are a line's bytes (NUL, invalid
 * UTF-8, "\r"). When the WAL holds max-pending bytes (default 64M) that no
 * plan took, the thread stops reading sockets (TCP pushes back on the
 * producers) until a plan takes them.
 *
 * The driver's calls (one thread, the stream's): plan() seals the open
 * segment (under the mutex, between two group commits) and names the
 * sealed segments after the last offsets; inputs() gives their files;
 * done(n) deletes the segments of committed batches; close() stops and
 * joins the thread. The mutex guards the open segment, the list of sealed
 * segments and the thread's stop flag; the thread holds it for one append
 * and fdatasync, so plan() waits at most for one of those. Offsets: a
 * line "tcp NUM LINES BYTES FIRST_MS LAST_MS" a segment (LAST_MS: when its
 * last line arrived), so arrivals() needs no file, and inputs() checks a
 * segment's size against its offsets.
 *
 * After a crash, open() seals the .open segment left, cutting a torn last
 * line (one that was being written: never acknowledged); every segment
 * not deleted is then taken by the next plans, or by the replay of a
 * logged batch. Costs: memory of at most TCP_MAX_LINE + 1 bytes a
 * connection and one round's lines; disk of max-pending plus the
 * segments of the batches not yet committed.
 */
#include "source.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster/zmsg.h" /* sl_now_ms */
#include "common/io.h"
#include "common/procdir.h"

#define TCP_MAX_LINE 1048576u       /* bytes of a line, without its "\n" */
#define TCP_MAX_CONNS 64            /* connections read at once */
#define TCP_READ_CHUNK 65536        /* bytes read from a connection a round */
#define TCP_MAX_PENDING (64u << 20) /* default max-pending, bytes */
#define TCP_DRAIN_MS 5000           /* a refused connection's time to close */
#define TCP_BACKLOG 128

/* One segment of the WAL. */
typedef struct tcp_seg {
	uint64_t num;     /* its number, from 1, never reused */
	uint64_t lines;   /* complete lines in it */
	uint64_t bytes;   /* its size */
	int64_t first_ms; /* arrival of its first line, ms since the epoch */
	int64_t last_ms;  /* arrival of its last line */
} tcp_seg;

/* The segments a batch took, for done(). */
typedef struct tcp_batch {
	uint64_t n;       /* the batch */
	uint64_t max_num; /* its last segment */
} tcp_batch;

enum tcp_state {
	TCP_READING, /* lines come in */
	TCP_EOF,     /* the producer is done: last ack, then close */
	TCP_DRAIN,   /* refused: error sent, input discarded until it closes */
	TCP_CLOSED,  /* to be freed */
};

/* A producer's connection (the thread's only). */
typedef struct tcp_conn {
	int fd;
	enum tcp_state state;
	sl_buf in;          /* bytes of the line being received */
	uint64_t ingroup;   /* its lines in the round being committed */
	uint64_t durable;   /* its lines in the WAL, durable */
	uint64_t acked;     /* the count of the last "ok" queued */
	bool acked_any;     /* an "ok" was queued */
	const char *error;  /* to send after the last ack, then drain */
	char out[256];      /* bytes to send */
	size_t out_len;     /* of them, queued */
	size_t out_off;     /* of them, sent */
	bool shut;          /* our side is shut down */
	uint64_t deadline_ms; /* TCP_DRAIN: closed by then (monotonic) */
	char peer[64];      /* the producer's address, for messages */
} tcp_conn;

typedef struct tcp_source {
	sl_source base;
	char *dir;            /* CK/source */
	char *wal;            /* CK/source/wal */
	char *uri;            /* for messages */
	int lock_fd;          /* CK/source/lock, flock'ed */
	int listen_fd;
	int wake[2];          /* a pipe: plan() and close() wake the thread */
	uint64_t max_pending; /* bytes */
	uint64_t taken;       /* CK/source/taken */
	tcp_batch *batches;   /* the batches given inputs, not yet done */
	size_t nbatches, abatches;
	pthread_t thread;
	bool started;         /* the thread runs */
	/* guarded by mu: */
	pthread_mutex_t mu;
	bool stop;            /* close() asks the thread to end */
	int seg_fd;           /* the open segment, -1 for none */
	tcp_seg open;         /* it */
	tcp_seg *sealed;      /* sealed segments on disk, by number */
	size_t nsealed, asealed;
	uint64_t next_num;    /* of the next segment */
	uint64_t planned;     /* the last segment a plan named */
	bool broken;          /* the WAL cannot be written: fatal */
	sl_buf broken_err;    /* why */
} tcp_source;

static int64_t
tcp_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wal/NNNNNNNNNN-MS.open or .seg */
static void
tcp_seg_path(const tcp_source *s, const tcp_seg *g, bool sealed, sl_buf *out)
{
	sl_buf_reset(out);
	sl_buf_addf(out, "%s/%010llu-%lld.%s", s->wal,
		    (unsigned long long)g->num, (long long)g->first_ms,
		    sealed ? "seg" : "open");
}

/* fsync of a directory: a file made, renamed or cut in it is durable. */
static int
tcp_sync_dir(const char *dir, sl_buf *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0) {
		sl_buf_addf(err, "cannot sync '%s': %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return SL_EIO;
	}
	close(fd);
	return SL_OK;
}

/* --- the URI ---------------------------------------------------------- */

/*
 * Parses "//HOST:PORT[?max-pending=SIZE]" into a loopback address. SL_OK,
 * or SL_EUSAGE with the reason.
 */
static int
tcp_parse(const char *where, struct sockaddr_storage *addr, socklen_t *alen,
	  uint64_t *max_pending, sl_buf *err)
{
	char host[64];
	const char *h, *colon, *q;
	unsigned long port;
	char *end;
	size_t hl;

	*max_pending = TCP_MAX_PENDING;
	memset(addr, 0, sizeof(*addr));
	if (strncmp(where, "//", 2) != 0)
		goto syntax;
	h = where + 2;
	q = strchr(h, '?');
	if (*h == '[') { /* [IPv6] */
		if ((colon = strchr(h, ']')) == NULL || colon[1] != ':')
			goto syntax;
		h++;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		colon = strchr(h, ':');
		if (colon == NULL || (q && q < colon))
			goto syntax;
		hl = (size_t)(colon - h);
	}
	if (hl == 0 || hl >= sizeof(host))
		goto syntax;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon[1] < '0' || colon[1] > '9')
		goto syntax;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || port > 65535 || end - colon - 1 > 5 ||
	    (*end != '\0' && *end != '?')) {
		sl_buf_addf(err, "source 'tcp:%s': the port is 0 (any free "
			    "port) to 65535", where);
		return SL_EUSAGE;
	}
	if (*end == '?' &&
	    (strncmp(end + 1, "max-pending=", 12) != 0 ||
	     sl_parse_size(end + 13, max_pending) != SL_OK)) {
		sl_buf_addf(err, "source 'tcp:%s': the one option is "
			    "max-pending=SIZE (as 64M)", where);
		return SL_EUSAGE;
	}
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;

		if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
			if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
				goto remote;
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			*alen = sizeof(*a4);
		} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
			if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
				goto remote;
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)port);
			*alen = sizeof(*a6);
		} else {
			goto remote;
		}
	}
	return SL_OK;
syntax:
	sl_buf_addf(err, "source 'tcp:%s' is not tcp://HOST:PORT (as "
		    "tcp://127.0.0.1:9000)", where);
	return SL_EUSAGE;
remote:
	sl_buf_addf(err, "source 'tcp:%s': '%s' is not a loopback address "
		    "(127.0.0.0/8, [::1], localhost): a source listens beyond "
		    "loopback only with authentication, which this version does "
		    "not have", where, host);
	return SL_EUSAGE;
}

/* --- the WAL at open: what a crash or a stop left ------------------------ */

/* Parses a segment's file name; false for any other name. */
static bool
tcp_seg_name(const char *name, tcp_seg *g, bool *sealed)
{
	unsigned long long num;
	long long ms;
	int used = 0;

	memset(g, 0, sizeof(*g));
	if (sscanf(name, "%10llu-%lld%n", &num, &ms, &used) != 2 ||
	    used != (int)strcspn(name, ".") || num == 0 || ms < 0)
		return false;
	if (strcmp(name + used, ".seg") == 0)
		*sealed = true;
	else if (strcmp(name + used, ".open") == 0)
		*sealed = false;
	else
		return false;
	g->num = num;
	g->first_ms = ms;
	return true;
}

/*
 * Takes the segment g found at open: counts its lines; an unsealed one
 * loses a torn last line and is sealed (an empty one goes). SL_OK and
 * g filled (lines 0: nothing left of it), or SL_EIO.
 */
static int
tcp_seg_recover(tcp_source *s, tcp_seg *g, bool sealed, sl_buf *err)
{
	sl_buf path = SL_BUF_INIT, to = SL_BUF_INIT;
	enum { BLOCK = 1 << 16 };
	char *block = malloc(BLOCK);
	uint64_t off = 0, keep = 0;
	struct stat st;
	size_t got, i;
	int fd = -1, rv = SL_EIO;

	tcp_seg_path(s, g, sealed, &path);
	if (block == NULL) {
		sl_buf_addstr(err, "out of memory");
		goto out;
	}
	if (sl_open_read(path.buf, &fd, err) != SL_OK)
		goto out;
	if (fstat(fd, &st) != 0) {
		sl_buf_addf(err, "cannot stat '%s': %s", path.buf,
			    strerror(errno));
		goto out;
	}
	for (;;) {
		if (sl_pread(fd, path.buf, block, BLOCK, off, &got,
			     err) != SL_OK)
			goto out;
		if (got == 0)
			break;
		for (i = 0; i < got; i++)
			if (block[i] == '\n') {
				g->lines++;
				keep = off + i + 1;
			}
		off += got;
	}
	g->bytes = keep;
	/* The file's mtime is the kernel's coarse clock: it may be a few ms
	 * before the first line's arrival, which our clock took. */
	g->last_ms = (int64_t)st.st_mtim.tv_sec * 1000 +
		     st.st_mtim.tv_nsec / 1000000;
	if (g->last_ms < g->first_ms)
		g->last_ms = g->first_ms;
	if (sealed) {
		/* Sealed after a group commit: whole lines only. */
		if (keep != off) {
			sl_buf_addf(err, "'%s' ends in the middle of a line: "
				    "the write-ahead log was changed", path.buf);
			goto out;
		}
		rv = SL_OK;
		goto out;
	}
	close(fd);
	fd = -1;
	if (keep < off) {
		/* A line being written at the crash: never acknowledged. The
		 * mtime stays its last line's arrival. */
		struct timespec times[2] = { { 0, UTIME_OMIT }, st.st_mtim };

		if ((fd = open(path.buf, O_WRONLY | O_CLOEXEC)) < 0 ||
		    ftruncate(fd, (off_t)keep) != 0 || fsync(fd) != 0 ||
		    futimens(fd, times) != 0) {
			sl_buf_addf(err, "cannot cut the torn last line of '%s': "
				    "%s", path.buf, strerror(errno));
			goto out;
		}
		sl_warn("source '%s': '%s': cut a torn last line of %llu "
			"byte(s), never acknowledged", s->uri, path.buf,
			(unsigned long long)(off - keep));
	}
	if (g->lines == 0) {
		if (unlink(path.buf) != 0) {
			sl_buf_addf(err, "cannot remove '%s': %s", path.buf,
				    strerror(errno));
			goto out;
		}
		rv = SL_OK;
		goto out;
	}
	tcp_seg_path(s, g, true, &to);
	if (rename(path.buf, to.buf) != 0) {
		sl_buf_addf(err, "cannot seal '%s': %s", path.buf,
			    strerror(errno));
		goto out;
	}
	rv = tcp_sync_dir(s->wal, err);
out:
	if (fd >= 0)
		close(fd);
	free(block);
	sl_buf_release(&path);
	sl_buf_release(&to);
	return rv;
}

static int
tcp_seg_cmp(const void *a, const void *b)
{
	const tcp_seg *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

/*
 * The WAL as a crash or a stop left it: segments a committed batch took
 * (number <= taken) go, the others are sealed and listed.
 */
static int
tcp_wal_open(tcp_source *s, sl_buf *err)
{
	sl_buf path = SL_BUF_INIT, text = SL_BUF_INIT;
	unsigned long long v;
	uint64_t max = 0;
	struct dirent *e;
	bool sealed;
	tcp_seg g;
	DIR *d = NULL;
	int rv;

	sl_buf_addf(&path, "%s/taken", s->dir);
	rv = sl_read_file(path.buf, &text, err);
	if (rv == SL_ENOTFOUND) {
		rv = SL_OK;
	} else if (rv == SL_OK) {
		if (sscanf(text.buf, "%llu", &v) != 1) {
			sl_buf_addf(err, "'%s' is not a segment number",
				    path.buf);
			rv = SL_EIO;
			goto out;
		}
		s->taken = v;
	} else {
		goto out;
	}
	if ((d = opendir(s->wal)) == NULL) {
		sl_buf_addf(err, "cannot open '%s': %s", s->wal,
			    strerror(errno));
		rv = SL_EIO;
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (!tcp_seg_name(e->d_name, &g, &sealed)) {
			sl_warn("source '%s': '%s/%s' is not a segment: left "
				"alone", s->uri, s->wal, e->d_name);
			continue;
		}
		if (g.num > max)
			max = g.num;
		if (g.num <= s->taken) { /* committed; done() did not end */
			sl_buf_reset(&path);
			tcp_seg_path(s, &g, sealed, &path);
			unlink(path.buf);
			continue;
		}
		if ((rv = tcp_seg_recover(s, &g, sealed, err)) != SL_OK)
			goto out;
		if (g.lines == 0)
			continue;
		if (sl_array_grow(&s->sealed, &s->asealed, s->nsealed + 1,
				  sizeof(*s->sealed)) != SL_OK) {
			sl_buf_addstr(err, "out of memory");
			rv = SL_ENOMEM;
			goto out;
		}
		s->sealed[s->nsealed++] = g;
	}
	if (s->nsealed > 1)
		qsort(s->sealed, s->nsealed, sizeof(*s->sealed), tcp_seg_cmp);
	s->next_num = (max > s->taken ? max : s->taken) + 1;
	s->planned = s->taken;
out:
	if (d)
		closedir(d);
	sl_buf_release(&path);
	sl_buf_release(&text);
	return rv;
}

/* --- listening ------------------------------------------------------------ */

/* Binds and listens on addr; SL_OK, or SL_EUSAGE with errno kept. */
static int
tcp_listen_on(tcp_source *s, const struct sockaddr_storage *addr,
	      socklen_t alen)
{
	int fd, one = 1;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return SL_EIO;
	/* SO_REUSEADDR: a restart binds again over the last run's TIME_WAIT
	 * connections; on Linux it never lets two sockets listen at once. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (addr->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, (const struct sockaddr *)addr, alen) != 0 ||
	    listen(fd, TCP_BACKLOG) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return SL_EIO;
	}
	s->listen_fd = fd;
	return SL_OK;
}

static uint16_t *
tcp_port_of(struct sockaddr_storage *addr)
{
	return addr->ss_family == AF_INET
		       ? &((struct sockaddr_in *)addr)->sin_port
		       : &((struct sockaddr_in6 *)addr)->sin6_port;
}

/*
 * Listens on addr (port 0: the last run's port if it is free, else any),
 * writes the port to CK/source/port and logs it.
 */
static int
tcp_listen(tcp_source *s, struct sockaddr_storage *addr, socklen_t alen,
	   sl_buf *err)
{
	sl_buf path = SL_BUF_INIT, text = SL_BUF_INIT;
	char host[INET6_ADDRSTRLEN];
	unsigned last;
	int rv = SL_EUSAGE;

	if (*tcp_port_of(addr) == 0) {
		sl_buf_addf(&path, "%s/port", s->dir);
		if (sl_read_file(path.buf, &text, NULL) == SL_OK &&
		    sscanf(text.buf, "%u", &last) == 1 && last >= 1 &&
		    last <= 65535) {
			*tcp_port_of(addr) = htons((uint16_t)last);
			if (tcp_listen_on(s, addr, alen) != SL_OK)
				*tcp_port_of(addr) = 0;
		}
	}
	if (s->listen_fd < 0 && tcp_listen_on(s, addr, alen) != SL_OK) {
		sl_buf_addf(err, "source '%s': cannot listen: %s", s->uri,
			    strerror(errno));
		goto out;
	}
	if (getsockname(s->listen_fd, (struct sockaddr *)addr, &alen) != 0) {
		sl_buf_addf(err, "source '%s': %s", s->uri, strerror(errno));
		rv = SL_EIO;
		goto out;
	}
	sl_buf_reset(&text);
	sl_buf_addf(&text, "%u\n", (unsigned)ntohs(*tcp_port_of(addr)));
	if ((rv = sl_write_file(s->dir, "port", text.buf, text.len, err)) !=
	    SL_OK)
		goto out;
	inet_ntop(addr->ss_family,
		  addr->ss_family == AF_INET
			  ? (void *)&((struct sockaddr_in *)addr)->sin_addr
			  : (void *)&((struct sockaddr_in6 *)addr)->sin6_addr,
		  host, sizeof(host));
	sl_info("source '%s': listening on %s%s%s:%u (in %s/port)", s->uri,
		addr->ss_family == AF_INET6 ? "[" : "", host,
		addr->ss_family == AF_INET6 ? "]" : "",
		(unsigned)ntohs(*tcp_port_of(addr)), s->dir);
out:
	sl_buf_release(&path);
	sl_buf_release(&text);
	return rv;
}

/* --- the thread ----------------------------------------------------------- */

/* Bytes in the WAL that no plan took. Under mu. */
static uint64_t
tcp_pending(const tcp_source *s)
{
	uint64_t n = s->open.bytes;
	size_t i;

	for (i = 0; i < s->nsealed; i++)
		if (s->sealed[i].num > s->planned)
			n += s->sealed[i].bytes;
	return n;
}

static void
tcp_break(tcp_source *s, const char *what, const char *path, int e)
{
	if (s->broken)
		return;
	s->broken = true;
	sl_buf_addf(&s->broken_err, "source '%s': cannot %s '%s': %s; lines "
		    "are no longer received", s->uri, what, path, strerror(e));
	sl_error("%s", s->broken_err.buf);
}

/*
 * Appends the n bytes of whole lines at p to the open segment (made
 * first if there is none) and makes them durable. Under mu. SL_OK; else
 * the segment is cut back to its durable bytes (or, when even that
 * fails, the WAL is broken) and SL_EIO with the reason in err.
 */
static int
tcp_wal_append(tcp_source *s, const char *p, size_t n, sl_buf *err)
{
	sl_buf path = SL_BUF_INIT;
	int e, rv = SL_EIO;

	if (s->seg_fd < 0) {
		memset(&s->open, 0, sizeof(s->open));
		s->open.num = s->next_num;
		s->open.first_ms = tcp_epoch_ms();
		tcp_seg_path(s, &s->open, false, &path);
		s->seg_fd = open(path.buf, O_WRONLY | O_CREAT | O_EXCL |
				 O_APPEND | O_CLOEXEC, 0644);
		if (s->seg_fd < 0) {
			sl_buf_addf(err, "cannot create '%s': %s", path.buf,
				    strerror(errno));
			goto out;
		}
		s->next_num++;
		if (tcp_sync_dir(s->wal, err) != SL_OK)
			goto out; /* the segment stays, empty: open() drops it */
	}
	if (sl_write_all(s->seg_fd, p, n) == SL_OK && fdatasync(s->seg_fd) == 0) {
		s->open.bytes += n;
		s->open.lines += sl_count_newlines(p, n);
		s->open.last_ms = tcp_epoch_ms();
		rv = SL_OK;
		goto out;
	}
	e = errno;
	tcp_seg_path(s, &s->open, false, &path);
	sl_buf_addf(err, "cannot write '%s': %s", path.buf, strerror(e));
	/* After a failed fdatasync the page cache cannot be trusted: cut
	 * back to what was durable and sync that, or give up. */
	if (ftruncate(s->seg_fd, (off_t)s->open.bytes) != 0 ||
	    fdatasync(s->seg_fd) != 0)
		tcp_break(s, "write", path.buf, errno);
out:
	sl_buf_release(&path);
	return rv;
}

static void
tcp_conn_refuse(tcp_conn *c, const char *why)
{
	c->error = why;
	c->state = TCP_DRAIN;
	c->deadline_ms = sl_now_ms() + TCP_DRAIN_MS;
	sl_buf_release(&c->in);
}

/*
 * One read from c: its complete lines go to group, counted in
 * c->ingroup. End of input, an over-long line and socket errors change
 * c->state.
 */
static void
tcp_conn_read(tcp_source *s, tcp_conn *c, sl_buf *group)
{
	char sink[4096], *nl;
	size_t room, whole;
	ssize_t n;

	if (c->state == TCP_DRAIN) { /* refused: its bytes are discarded */
		n = read(c->fd, sink, sizeof(sink));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			c->state = TCP_CLOSED;
		return;
	}
	room = TCP_MAX_LINE + 1 - c->in.len;
	if (room > TCP_READ_CHUNK)
		room = TCP_READ_CHUNK;
	if (sl_buf_grow(&c->in, room) != SL_OK)
		return; /* out of memory: read it later */
	n = read(c->fd, c->in.buf + c->in.len, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (c->in.len)
			sl_warn("source '%s': %s closed in the middle of a line: "
				"%zu byte(s) dropped, not a record, not "
				"acknowledged", s->uri, c->peer, c->in.len);
		sl_buf_release(&c->in);
		c->state = n == 0 ? TCP_EOF : TCP_CLOSED;
		return;
	}
	sl_buf_setlen(&c->in, c->in.len + (size_t)n);
	if ((nl = memrchr(c->in.buf, '\n', c->in.len)) != NULL) {
		whole = (size_t)(nl - c->in.buf) + 1;
		if (sl_buf_add(group, c->in.buf, whole) != SL_OK) {
			sl_buf_setlen(&c->in, c->in.len - (size_t)n);
			return; /* out of memory: nothing taken, read again */
		}
		c->ingroup += sl_count_newlines(c->in.buf, whole);
		memmove(c->in.buf, c->in.buf + whole, c->in.len - whole);
		sl_buf_setlen(&c->in, c->in.len - whole);
	}
	if (c->in.len > TCP_MAX_LINE) {
		sl_warn("source '%s': %s sent a line longer than %u bytes: "
			"closed, nothing of the line taken", s->uri, c->peer,
			TCP_MAX_LINE);
		_Static_assert(TCP_MAX_LINE == 1048576, "the refusal's text");
		tcp_conn_refuse(c, "error line longer than 1048576 bytes\n");
	}
}

/* Queues c's ack (and error) and sends what it can; a connection that
 * has all it will get is closed (at the producer's end of input) or
 * shut down (refused). */
static void
tcp_conn_write(tcp_conn *c)
{
	ssize_t n;

	for (;;) {
		if (c->out_off == c->out_len) {
			c->out_off = c->out_len = 0;
			if (c->durable > c->acked ||
			    (!c->acked_any && c->state != TCP_READING)) {
				c->out_len = (size_t)snprintf(
					c->out, sizeof(c->out), "ok %llu\n",
					(unsigned long long)c->durable);
				c->acked = c->durable;
				c->acked_any = true;
			}
			if (c->error) {
				c->out_len += (size_t)snprintf(
					c->out + c->out_len,
					sizeof(c->out) - c->out_len, "%s",
					c->error);
				c->error = NULL;
			}
			if (c->out_len == 0)
				break;
		}
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			c->state = TCP_CLOSED;
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->state == TCP_EOF)
		c->state = TCP_CLOSED; /* all acknowledged */
	else if (c->state == TCP_DRAIN && !c->shut) {
		shutdown(c->fd, SHUT_WR);
		c->shut = true;
	}
}

static void
tcp_accept(tcp_source *s, tcp_conn **conns, size_t *nconns)
{
	struct sockaddr_storage a;
	char host[INET6_ADDRSTRLEN];
	socklen_t alen;
	tcp_conn *c;
	int fd;

	while (*nconns < TCP_MAX_CONNS) {
		alen = sizeof(a);
		fd = accept4(s->listen_fd, (struct sockaddr *)&a, &alen,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				sl_warn("source '%s': cannot accept: %s",
					s->uri, strerror(errno));
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd); /* the producer sees no ack: nothing lost */
			return;
		}
		c->fd = fd;
		sl_buf_init(&c->in);
		inet_ntop(a.ss_family,
			  a.ss_family == AF_INET
				  ? (void *)&((struct sockaddr_in *)&a)->sin_addr
				  : (void *)&((struct sockaddr_in6 *)&a)
					    ->sin6_addr,
			  host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s port %u", host,
			 (unsigned)ntohs(*tcp_port_of(&a)));
		conns[(*nconns)++] = c;
	}
}

static void
tcp_conn_free(tcp_conn *c)
{
	close(c->fd);
	sl_buf_release(&c->in);
	free(c);
}

/* The thread: accept, read, group commit, ack; until close(). */
static void *
tcp_main(void *arg)
{
	tcp_source *s = arg;
	struct pollfd pfd[2 + TCP_MAX_CONNS];
	tcp_conn *conns[TCP_MAX_CONNS];
	sl_buf group = SL_BUF_INIT, err = SL_BUF_INIT;
	size_t nconns = 0, i, j, np;
	uint64_t now, wait;
	bool full, stop, broken;
	char drain[64];
	int timeout, rv;

	for (;;) {
		pthread_mutex_lock(&s->mu);
		stop = s->stop;
		broken = s->broken;
		full = tcp_pending(s) >= s->max_pending;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		pfd[0] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
		pfd[1] = (struct pollfd){
			.fd = s->listen_fd,
			.events = nconns < TCP_MAX_CONNS && !broken ? POLLIN : 0
		};
		timeout = -1;
		now = sl_now_ms();
		for (i = 0; i < nconns; i++) {
			tcp_conn *c = conns[i];

			pfd[2 + i] = (struct pollfd){ .fd = c->fd };
			/* Full: TCP pushes back on the producers. */
			if ((c->state == TCP_READING && !full && !broken) ||
			    c->state == TCP_DRAIN)
				pfd[2 + i].events |= POLLIN;
			if (c->out_off < c->out_len)
				pfd[2 + i].events |= POLLOUT;
			if (c->state == TCP_DRAIN) {
				wait = c->deadline_ms > now
					       ? c->deadline_ms - now : 0;
				if (timeout < 0 || wait < (uint64_t)timeout)
					timeout = (int)wait;
			}
		}
		np = 2 + nconns;
		if (poll(pfd, np, timeout) < 0 && errno != EINTR) {
			sl_error("source '%s': poll: %s", s->uri,
				 strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN)
			while (read(s->wake[0], drain, sizeof(drain)) > 0)
				;
		if (broken)
			for (i = 0; i < nconns; i++)
				if (conns[i]->state == TCP_READING)
					tcp_conn_refuse(conns[i], "error the "
							"write-ahead log cannot "
							"be written\n");
		sl_buf_reset(&group);
		for (i = 0; i < nconns; i++)
			if ((conns[i]->state == TCP_READING ||
			     conns[i]->state == TCP_DRAIN) &&
			    (pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
				tcp_conn_read(s, conns[i], &group);
		if (group.len) {
			sl_buf_reset(&err);
			pthread_mutex_lock(&s->mu);
			rv = s->broken ? SL_EIO
				       : tcp_wal_append(s, group.buf,
							group.len, &err);
			pthread_mutex_unlock(&s->mu);
			if (rv != SL_OK && err.len)
				sl_warn("source '%s': %s; the lines of this "
					"round are not acknowledged", s->uri,
					err.buf);
			for (i = 0; i < nconns; i++) {
				if (rv == SL_OK)
					conns[i]->durable += conns[i]->ingroup;
				else if (conns[i]->ingroup &&
					 conns[i]->state != TCP_CLOSED)
					tcp_conn_refuse(conns[i], "error the "
							"write-ahead log cannot "
							"be written\n");
				conns[i]->ingroup = 0;
			}
		}
		now = sl_now_ms();
		for (i = j = 0; i < nconns; i++) {
			tcp_conn *c = conns[i];

			if (c->state != TCP_CLOSED)
				tcp_conn_write(c);
			if (c->state == TCP_DRAIN && now >= c->deadline_ms)
				c->state = TCP_CLOSED;
			if (c->state == TCP_CLOSED)
				tcp_conn_free(c);
			else
				conns[j++] = c;
		}
		nconns = j;
		if (pfd[1].revents & POLLIN)
			tcp_accept(s, conns, &nconns);
	}
	/* Lines not acknowledged are the producers' to send again. */
	for (i = 0; i < nconns; i++)
		tcp_conn_free(conns[i]);
	sl_buf_release(&group);
	sl_buf_release(&err);
	return NULL;
}

static void
tcp_wake(tcp_source *s)
{
	/* A full pipe already wakes the thread. */
	if (write(s->wake[1], "", 1) < 0)
		return;
}

/* --- the source's calls --------------------------------------------------- */

static void tcp_close(sl_source *src);

static int
tcp_open(sl_source **out, const char *where, const char *ck, sl_buf *err)
{
	struct sockaddr_storage addr;
	socklen_t alen;
	uint64_t max_pending;
	sigset_t all, old;
	tcp_source *s;
	sl_buf path = SL_BUF_INIT;
	int rv;

	*out = NULL;
	/* The URI first: nothing is made for a bad one. */
	if ((rv = tcp_parse(where, &addr, &alen, &max_pending, err)) != SL_OK)
		return rv;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		sl_buf_addstr(err, "out of memory");
		return SL_ENOMEM;
	}
	s->base.ops = &sl_source_tcp;
	s->lock_fd = s->listen_fd = s->seg_fd = -1;
	s->wake[0] = s->wake[1] = -1;
	s->max_pending = max_pending;
	sl_buf_init(&s->broken_err);
	pthread_mutex_init(&s->mu, NULL);
	sl_buf_addf(&path, "tcp:%s", where);
	s->uri = sl_buf_detach(&path, NULL);
	sl_buf_addf(&path, "%s/source", ck);
	s->dir = sl_buf_detach(&path, NULL);
	sl_buf_addf(&path, "%s/source/wal", ck);
	s->wal = sl_buf_detach(&path, NULL);
	if ((rv = sl_mkdirs(s->wal, 0755, err)) != SL_OK)
		goto fail;
	/* The stream's lock (CK/lock) is taken after the source opens: the
	 * WAL has a lock of its own, so that a second stream on CK does not
	 * seal the first one's open segment. */
	sl_buf_addf(&path, "%s/lock", s->dir);
	s->lock_fd = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		sl_buf_addf(err, "checkpoint '%s' is in use by another stream "
			    "(%s is locked)", ck, path.buf);
		rv = SL_EUSAGE;
		goto fail;
	}
	if ((rv = tcp_wal_open(s, err)) != SL_OK ||
	    (rv = tcp_listen(s, &addr, alen, err)) != SL_OK)
		goto fail;
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		sl_buf_addf(err, "cannot make a pipe: %s", strerror(errno));
		rv = SL_EIO;
		goto fail;
	}
	/* Signals are the driver's: the thread takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	s->started = pthread_create(&s->thread, NULL, tcp_main, s) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!s->started) {
		sl_buf_addstr(err, "cannot start the source's thread");
		rv = SL_EIO;
		goto fail;
	}
	sl_buf_release(&path);
	*out = &s->base;
	return SL_OK;
fail:
	sl_buf_release(&path);
	tcp_close(&s->base);
	return rv;
}

/* Parses one offsets line "tcp NUM LINES BYTES FIRST LAST"; the bytes
 * after it in *end. */
static bool
tcp_parse_line(const char *p, tcp_seg *g, const char **end)
{
	unsigned long long num, lines, bytes;
	long long first, last;
	int used = 0;

	if (sscanf(p, "tcp %llu %llu %llu %lld %lld\n%n", &num, &lines, &bytes,
		   &first, &last, &used) != 5 || used == 0 || p[used - 1] != '\n'
	    || num == 0 || first < 0 || last < 0)
		return false;
	*g = (tcp_seg){ num, lines, bytes, first, last };
	*end = p + used;
	return true;
}

/* Walks the offsets' lines: SL_OK and the last segment in *max_num (0
 * for none), each segment to fn when not NULL. SL_EIO for a bad text. */
static int
tcp_walk(tcp_source *s, const char *offsets, uint64_t *max_num,
	 int (*fn)(tcp_source *, const tcp_seg *, void *, sl_buf *),
	 void *arg, sl_buf *err)
{
	const char *p = offsets;
	tcp_seg g;
	int rv;

	*max_num = 0;
	while (*p) {
		if (!tcp_parse_line(p, &g, &p) || g.num <= *max_num) {
			sl_buf_addf(err, "source '%s': offsets '%.60s' are not "
				    "of this source", s->uri, offsets);
			return SL_EIO;
		}
		*max_num = g.num;
		if (fn && (rv = fn(s, &g, arg, err)) != SL_OK)
			return rv;
	}
	return SL_OK;
}

/* Seals the open segment. Under mu. */
static int
tcp_seal(tcp_source *s, sl_buf *err)
{
	sl_buf from = SL_BUF_INIT, to = SL_BUF_INIT;
	int rv = SL_ENOMEM;

	if (sl_array_grow(&s->sealed, &s->asealed, s->nsealed + 1,
			  sizeof(*s->sealed)) != SL_OK) {
		sl_buf_addstr(err, "out of memory");
		return rv;
	}
	tcp_seg_path(s, &s->open, false, &from);
	tcp_seg_path(s, &s->open, true, &to);
	/* The bytes are durable (each append's fdatasync); the rename and
	 * its directory are made so before the offsets name the segment. */
	if (rename(from.buf, to.buf) != 0) {
		sl_buf_addf(err, "cannot seal '%s': %s", from.buf,
			    strerror(errno));
		rv = SL_EIO;
	} else {
		close(s->seg_fd);
		s->seg_fd = -1;
		s->sealed[s->nsealed++] = s->open;
		memset(&s->open, 0, sizeof(s->open));
		rv = tcp_sync_dir(s->wal, err);
	}
	sl_buf_release(&from);
	sl_buf_release(&to);
	return rv;
}

static int
tcp_plan(sl_source *src, const char *last, uint64_t max_records,
	 sl_buf *next, sl_buf *err)
{
	tcp_source *s = (tcp_source *)src;
	uint64_t after, lines = 0;
	size_t i;
	int rv;

	if ((rv = tcp_walk(s, last, &after, NULL, NULL, err)) != SL_OK)
		return rv;
	pthread_mutex_lock(&s->mu);
	if (s->broken) {
		sl_buf_addstr(err, s->broken_err.buf);
		rv = SL_EIO;
		goto out;
	}
	if (after >= s->next_num) {
		sl_buf_addf(err, "source '%s': the offsets name segment %llu, "
			    "the write-ahead log in %s has none after %llu: "
			    "it is not this stream's", s->uri,
			    (unsigned long long)after, s->wal,
			    (unsigned long long)(s->next_num - 1));
		rv = SL_EIO;
		goto out;
	}
	if (after > s->planned)
		s->planned = after; /* taken by a committed batch */
	if (s->seg_fd >= 0 && s->open.lines &&
	    (rv = tcp_seal(s, err)) != SL_OK)
		goto out;
	/* Whole segments, in order; the first even when it holds more lines
	 * than max_records. */
	for (i = 0; i < s->nsealed; i++) {
		const tcp_seg *g = &s->sealed[i];

		if (g->num <= after)
			continue;
		if (max_records && lines && lines + g->lines > max_records)
			break;
		lines += g->lines;
		sl_buf_addf(next, "tcp %llu %llu %llu %lld %lld\n",
			    (unsigned long long)g->num,
			    (unsigned long long)g->lines,
			    (unsigned long long)g->bytes, (long long)g->first_ms,
			    (long long)g->last_ms);
		if (g->num > s->planned)
			s->planned = g->num;
	}
out:
	pthread_mutex_unlock(&s->mu);
	if (lines)
		tcp_wake(s); /* the WAL may have room again */
	return rv;
}

/* inputs(): segment g's file, checked against its offsets. */
static int
tcp_input(tcp_source *s, const tcp_seg *g, void *arg, sl_buf *err)
{
	sl_split_list *splits = arg;
	sl_buf path = SL_BUF_INIT;
	struct stat st;
	int rv = SL_EIO;

	tcp_seg_path(s, g, true, &path);
	if (stat(path.buf, &st) != 0)
		sl_buf_addf(err, "source '%s': segment '%s': %s", s->uri,
			    path.buf, strerror(errno));
	else if ((uint64_t)st.st_size != g->bytes)
		sl_buf_addf(err, "source '%s': segment '%s' is %lld bytes, its "
			    "offsets say %llu: the write-ahead log was changed",
			    s->uri, path.buf, (long long)st.st_size,
			    (unsigned long long)g->bytes);
	else if ((rv = sl_split_list_add(splits, path.buf, 0, g->bytes)) !=
		 SL_OK)
		sl_buf_addstr(err, "out of memory");
	sl_buf_release(&path);
	return rv;
}

static int
tcp_inputs(sl_source *src, uint64_t n, const char *offsets,
	   sl_split_list *splits, sl_buf *err)
{
	tcp_source *s = (tcp_source *)src;
	uint64_t max_num;
	int rv;

	if ((rv = tcp_walk(s, offsets, &max_num, tcp_input, splits, err)) !=
	    SL_OK)
		return rv;
	if (sl_array_grow(&s->batches, &s->abatches, s->nbatches + 1,
			  sizeof(*s->batches)) != SL_OK) {
		sl_buf_addstr(err, "out of memory");
		return SL_ENOMEM;
	}
	s->batches[s->nbatches++] = (tcp_batch){ n, max_num };
	return SL_OK;
}

/*
 * Batch n is committed: its segments, and those of the batches before
 * it, go, once CK/source/taken says so (a crash before the unlinks
 * leaves segments that the next open() removes).
 */
static void
tcp_done(sl_source *src, uint64_t n)
{
	tcp_source *s = (tcp_source *)src;
	sl_buf text = SL_BUF_INIT, path = SL_BUF_INIT, err = SL_BUF_INIT;
	uint64_t upto = 0;
	size_t i, j;

	for (i = j = 0; i < s->nbatches; i++) {
		if (s->batches[i].n <= n) {
			if (s->batches[i].max_num > upto)
				upto = s->batches[i].max_num;
		} else {
			s->batches[j++] = s->batches[i];
		}
	}
	s->nbatches = j;
	if (upto <= s->taken)
		return;
	sl_buf_addf(&text, "%llu\n", (unsigned long long)upto);
	if (sl_write_file(s->dir, "taken", text.buf, text.len, &err) != SL_OK) {
		/* The segments stay: a later done() deletes them. */
		sl_warn("source '%s': %s", s->uri, err.buf);
		goto out;
	}
	s->taken = upto;
	pthread_mutex_lock(&s->mu);
	for (i = j = 0; i < s->nsealed; i++) {
		if (s->sealed[i].num <= upto) {
			tcp_seg_path(s, &s->sealed[i], true, &path);
			if (unlink(path.buf) != 0)
				sl_warn("source '%s': cannot remove '%s': %s",
					s->uri, path.buf, strerror(errno));
		} else {
			s->sealed[j++] = s->sealed[i];
		}
	}
	s->nsealed = j;
	pthread_mutex_unlock(&s->mu);
out:
	sl_buf_release(&text);
	sl_buf_release(&path);
	sl_buf_release(&err);
}

static int
tcp_arrival(tcp_source *s, const tcp_seg *g, void *arg, sl_buf *err)
{
	int64_t *t = arg; /* oldest, newest */

	(void)s;
	(void)err;
	if (t[0] < 0 || g->first_ms < t[0])
		t[0] = g->first_ms;
	if (g->last_ms > t[1])
		t[1] = g->last_ms;
	return SL_OK;
}

/* When the first and the last line of the offsets' segments arrived. */
static int
tcp_arrivals(sl_source *src, const char *offsets, int64_t *oldest,
	     int64_t *newest)
{
	tcp_source *s = (tcp_source *)src;
	sl_buf err = SL_BUF_INIT;
	int64_t t[2] = { -1, -1 };
	uint64_t max_num;
	int rv;

	rv = tcp_walk(s, offsets, &max_num, tcp_arrival, t, &err);
	sl_buf_release(&err);
	if (rv != SL_OK || max_num == 0)
		return SL_EINVAL;
	*oldest = t[0];
	*newest = t[1];
	return SL_OK;
}

/* Stops the thread (connections close: what they had not been told is
 * durable is the producers' to send again); the open segment stays, for
 * the next open() to seal. */
static void
tcp_close(sl_source *src)
{
	tcp_source *s = (tcp_source *)src;

	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_mutex_unlock(&s->mu);
		tcp_wake(s);
		pthread_join(s->thread, NULL);
	}
	if (s->seg_fd >= 0)
		close(s->seg_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	pthread_mutex_destroy(&s->mu);
	sl_buf_release(&s->broken_err);
	free(s->sealed);
	free(s->batches);
	free(s->uri);
	free(s->dir);
	free(s->wal);
	free(s);
}

const sl_source_ops sl_source_tcp = {
	.scheme = "tcp",
	.syntax = "tcp://HOST:PORT",
	.open = tcp_open,
	.plan = tcp_plan,
	.inputs = tcp_inputs,
	.done = tcp_done,
	.arrivals = tcp_arrivals,
	.close = tcp_close,
};
