/*
 * mpi.c - start-up under mpirun or srun; see mpi.h.
 */
#include "mpi.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef HAVE_MPI
#include <mpi.h>
#endif

#define MPI_MAX_STR (64u << 10) /* longest string sl_mpi_bcast_str moves */

struct sl_mpi_group {
#ifdef HAVE_MPI
	MPI_Comm comm;  /* the worker ranks, in world rank order */
#endif
	uint32_t rank;  /* this rank in comm */
	uint32_t size;  /* ranks in comm */
};

uint32_t
sl_mpi_group_rank(const sl_mpi_group *g)
{
	return g->rank;
}

uint32_t
sl_mpi_group_size(const sl_mpi_group *g)
{
	return g->size;
}

bool
sl_mpi_launched(void)
{
	return getenv("OMPI_COMM_WORLD_SIZE") != NULL ||
	       getenv("PMIX_RANK") != NULL ||
	       (getenv("PMI_RANK") != NULL && getenv("PMI_SIZE") != NULL);
}

#ifdef HAVE_MPI

/* Appends MPI's text for code to err after what. */
static int
mpi_fail(sl_buf *err, const char *what, int code)
{
	char text[MPI_MAX_ERROR_STRING];
	int len = 0;

	if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
		len = 0;
	sl_buf_addf(err, "%s failed: %.*s", what, len, text);
	return SL_EIO;
}

int
sl_mpi_init(int *rank, int *size, sl_buf *err)
{
	int provided = 0, rc;

	rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
	if (rc != MPI_SUCCESS)
		return mpi_fail(err, "MPI_Init_thread", rc);
	/* Errors are returned to us, not fatal: we print them and exit. */
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	if (provided < MPI_THREAD_FUNNELED) {
		sl_buf_addstr(err, "this MPI does not allow threads "
			      "(MPI_THREAD_FUNNELED)");
		MPI_Finalize();
		return SL_EIO;
	}
	MPI_Comm_rank(MPI_COMM_WORLD, rank);
	MPI_Comm_size(MPI_COMM_WORLD, size);
	return SL_OK;
}

void
sl_mpi_finalize(void)
{
	int init = 0, fini = 0;

	MPI_Initialized(&init);
	MPI_Finalized(&fini);
	if (init && !fini)
		MPI_Finalize();
}

int
sl_mpi_bcast_int(int *v, sl_buf *err)
{
	int rc = MPI_Bcast(v, 1, MPI_INT, 0, MPI_COMM_WORLD);

	return rc == MPI_SUCCESS ? SL_OK : mpi_fail(err, "MPI_Bcast", rc);
}

int
sl_mpi_bcast_str(sl_buf *s, sl_buf *err)
{
	int rank, len, rc;

	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	len = rank == 0 ? (int)s->len : 0;
	if (rank == 0 && s->len > MPI_MAX_STR)
		len = -1; /* tell the others, so that nobody waits */
	if ((rc = MPI_Bcast(&len, 1, MPI_INT, 0, MPI_COMM_WORLD)) !=
	    MPI_SUCCESS)
		return mpi_fail(err, "MPI_Bcast", rc);
	if (len < 0 || (uint32_t)len > MPI_MAX_STR) {
		sl_buf_addf(err, "a broadcast string is longer than %u bytes",
			    MPI_MAX_STR);
		return SL_ETOOBIG;
	}
	if (rank != 0) {
		sl_buf_reset(s);
		if (sl_buf_grow(s, (size_t)len) != SL_OK)
			return SL_ENOMEM;
	}
	if ((rc = MPI_Bcast(s->buf, len, MPI_CHAR, 0, MPI_COMM_WORLD)) !=
	    MPI_SUCCESS)
		return mpi_fail(err, "MPI_Bcast", rc);
	if (rank != 0) {
		s->len = (size_t)len;
		s->buf[len] = '\0';
	}
	return SL_OK;
}

int
sl_mpi_gather_lines(const char *line, sl_buf *all, sl_buf *err)
{
	int rank, size, len, i, rc, total = 0;
	int *lens = NULL, *offs = NULL;
	char *flat = NULL;
	bool ok;
	int rv = SL_OK;

	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	len = (int)strnlen(line, MPI_MAX_STR);
	if (rank == 0) {
		lens = calloc((size_t)size, sizeof(*lens));
		offs = calloc((size_t)size, sizeof(*offs));
	}
	rc = MPI_Gather(&len, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
	if (rc != MPI_SUCCESS) {
		free(lens);
		free(offs);
		return mpi_fail(err, "MPI_Gather", rc);
	}
	for (i = 0; rank == 0 && lens && offs && i < size; i++) {
		offs[i] = total;
		total += lens[i];
	}
	if (rank == 0 && lens && offs)
		flat = malloc((size_t)total + 1);
	/* Every rank takes part even when rank 0 is short of memory. */
	ok = rank == 0 && flat != NULL;
	rc = MPI_Gatherv(line, len, MPI_CHAR, ok ? flat : NULL,
			 ok ? lens : NULL, ok ? offs : NULL, MPI_CHAR, 0,
			 MPI_COMM_WORLD);
	if (rc != MPI_SUCCESS)
		rv = mpi_fail(err, "MPI_Gatherv", rc);
	else if (rank == 0 && !ok)
		rv = SL_ENOMEM;
	for (i = 0; rv == SL_OK && ok && i < size; i++)
		rv = sl_buf_addf(all, "%.*s\n", lens[i], flat + offs[i]);
	free(flat);
	free(lens);
	free(offs);
	return rv;
}

int
sl_mpi_workers_new(sl_mpi_group **g, sl_buf *err)
{
	int rank, rc, r, n;
	MPI_Comm comm;

	*g = NULL;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	/* Rank 0 (the coordinator) stays out: MPI_UNDEFINED. */
	rc = MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? MPI_UNDEFINED : 1,
			    rank, &comm);
	if (rc != MPI_SUCCESS)
		return mpi_fail(err, "MPI_Comm_split", rc);
	if (comm == MPI_COMM_NULL)
		return SL_OK;
	MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
	if ((*g = calloc(1, sizeof(**g))) == NULL) {
		MPI_Comm_free(&comm);
		return SL_ENOMEM;
	}
	MPI_Comm_rank(comm, &r);
	MPI_Comm_size(comm, &n);
	(*g)->comm = comm;
	(*g)->rank = (uint32_t)r;
	(*g)->size = (uint32_t)n;
	return SL_OK;
}

void
sl_mpi_workers_free(sl_mpi_group *g)
{
	if (g == NULL)
		return;
	MPI_Comm_free(&g->comm);
	free(g);
}

/* The counts and displacements of one MPI_Alltoallv round. */
typedef struct mpi_round {
	int *scount, *sdisp;  /* bytes to each rank, offsets in sbuf */
	int *rcount, *rdisp;  /* bytes from each rank, offsets in rbuf */
	char *sbuf, *rbuf;    /* the round's bytes: size x chunk at most */
} mpi_round;

/*
 * One round: up to chunk bytes of each send[d] past sent[d] go to rank
 * d; up to chunk of what each rank s still owes us (due[s]) arrive and
 * are appended to recv[s], unless an append failed before (*rv is then
 * SL_ENOMEM; the round still runs, for the others' sake).
 */
static int
mpi_round_run(sl_mpi_group *g, mpi_round *rd, const sl_buf *send,
	      uint64_t *sent, uint64_t *due, sl_buf *recv, uint64_t chunk,
	      int *rv, sl_buf *err)
{
	uint32_t i;
	int soff = 0, roff = 0, rc;

	for (i = 0; i < g->size; i++) {
		uint64_t left = send[i].len - sent[i];

		rd->scount[i] = (int)(left < chunk ? left : chunk);
		rd->sdisp[i] = soff;
		memcpy(rd->sbuf + soff, send[i].buf + sent[i],
		       (size_t)rd->scount[i]);
		sent[i] += (uint64_t)rd->scount[i];
		soff += rd->scount[i];
		rd->rcount[i] = (int)(due[i] < chunk ? due[i] : chunk);
		rd->rdisp[i] = roff;
		due[i] -= (uint64_t)rd->rcount[i];
		roff += rd->rcount[i];
	}
	rc = MPI_Alltoallv(rd->sbuf, rd->scount, rd->sdisp, MPI_BYTE,
			   rd->rbuf, rd->rcount, rd->rdisp, MPI_BYTE, g->comm);
	if (rc != MPI_SUCCESS)
		return mpi_fail(err, "MPI_Alltoallv", rc);
	for (i = 0; i < g->size && *rv == SL_OK; i++)
		*rv = sl_buf_add(&recv[i], rd->rbuf + rd->rdisp[i],
				 (size_t)rd->rcount[i]);
	return SL_OK;
}

static void
mpi_round_release(mpi_round *rd)
{
	free(rd->scount);
	free(rd->sdisp);
	free(rd->rcount);
	free(rd->rdisp);
	free(rd->sbuf);
	free(rd->rbuf);
}

int
sl_mpi_alltoallv(sl_mpi_group *g, const sl_buf *send, sl_buf *recv,
		 sl_buf *err)
{
	uint32_t n = g->size, i;
	uint64_t chunk = SL_MPI_ROUND_BYTES / n, rounds = 0, r, most = 0;
	uint64_t *sizes = calloc(n, sizeof(*sizes));
	uint64_t *due = calloc(n, sizeof(*due));
	uint64_t *sent = calloc(n, sizeof(*sent));
	mpi_round rd = { 0 };
	int ok, all_ok = 0, rc, rv = SL_OK;

	rd.scount = calloc(n, sizeof(int));
	rd.sdisp = calloc(n, sizeof(int));
	rd.rcount = calloc(n, sizeof(int));
	rd.rdisp = calloc(n, sizeof(int));
	rd.sbuf = malloc((size_t)(chunk * n));
	rd.rbuf = malloc((size_t)(chunk * n));
	ok = send && recv && sizes && due && sent && rd.scount && rd.sdisp && rd.rcount &&
	     rd.rdisp && rd.sbuf && rd.rbuf;
	/* Everyone learns whether everyone can take part. */
	if ((rc = MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN,
				g->comm)) != MPI_SUCCESS) {
		rv = mpi_fail(err, "MPI_Allreduce", rc);
		goto out;
	}
	if (!all_ok) {
		sl_buf_addstr(err, "out of memory for the exchange buffers");
		rv = SL_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		sizes[i] = send[i].len;
	if ((rc = MPI_Alltoall(sizes, 1, MPI_UINT64_T, due, 1, MPI_UINT64_T,
			       g->comm)) != MPI_SUCCESS) {
		rv = mpi_fail(err, "MPI_Alltoall", rc);
		goto out;
	}
	for (i = 0; i < n; i++) {
		most = send[i].len > most ? send[i].len : most;
		most = due[i] > most ? due[i] : most;
	}
	most = most / chunk + (most % chunk != 0);
	if ((rc = MPI_Allreduce(&most, &rounds, 1, MPI_UINT64_T, MPI_MAX,
				g->comm)) != MPI_SUCCESS) {
		rv = mpi_fail(err, "MPI_Allreduce", rc);
		goto out;
	}
	for (r = 0; r < rounds; r++) {
		rc = mpi_round_run(g, &rd, send, sent, due, recv, chunk, &rv,
				   err);
		if (rc != SL_OK) {
			rv = rc;
			break;
		}
	}
	if (rv == SL_ENOMEM && err->len == 0)
		sl_buf_addstr(err, "out of memory for received map outputs");
out:
	free(sizes);
	free(due);
	free(sent);
	mpi_round_release(&rd);
	return rv;
}

#else /* !HAVE_MPI */

int
sl_mpi_init(int *rank, int *size, sl_buf *err)
{
	sl_buf_addstr(err, "a launcher (mpirun or srun) started sluice, but "
		      "it was built without MPI (configure --with-mpi)");
	return SL_EUSAGE;
}

void
sl_mpi_finalize(void)
{
}

int
sl_mpi_bcast_int(int *v, sl_buf *err)
{
	return SL_OK;
}

int
sl_mpi_bcast_str(sl_buf *s, sl_buf *err)
{
	return SL_OK;
}

int
sl_mpi_gather_lines(const char *line, sl_buf *all, sl_buf *err)
{
	return sl_buf_addf(all, "%s\n", line);
}

int
sl_mpi_workers_new(sl_mpi_group **g, sl_buf *err)
{
	*g = NULL;
	sl_buf_addstr(err, "sluice was built without MPI");
	return SL_EUSAGE;
}

void
sl_mpi_workers_free(sl_mpi_group *g)
{
}

int
sl_mpi_alltoallv(sl_mpi_group *g, const sl_buf *send, sl_buf *recv,
		 sl_buf *err)
{
	sl_buf_addstr(err, "sluice was built without MPI");
	return SL_EUSAGE;
}

#endif /* HAVE_MPI */

/*
 * The two helpers below take IPv4 addresses only: sl_mpi_host asks
 * getaddrinfo for AF_INET and keeps AF_INET interfaces only.
 */

/* Whether an IPv4 address is loopback (127/8). */
static bool
mpi_loopback(const struct sockaddr *sa)
{
	return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >>
		24) == 127;
}

/* Writes an IPv4 address to out, numeric. */
static int
mpi_numeric(const struct sockaddr *sa, sl_buf *out)
{
	char text[NI_MAXHOST];

	if (getnameinfo(sa, sizeof(struct sockaddr_in), text, sizeof(text),
			NULL, 0, NI_NUMERICHOST) != 0)
		return SL_EINVAL;
	return sl_buf_addstr(out, text);
}

int
sl_mpi_host(sl_buf *out, sl_buf *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct ifaddrs *ifs = NULL, *ifa;
	const char *env = getenv("SLUICE_HOST");
	char name[256];

	if (env && *env)
		return sl_buf_addstr(out, env);
	/* The name first: it is what the site configured for this host. */
	if (gethostname(name, sizeof(name)) == 0) {
		name[sizeof(name) - 1] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_INET;
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(name, NULL, &hints, &res) == 0) {
			for (ai = res; ai; ai = ai->ai_next) {
				if (!mpi_loopback(ai->ai_addr) &&
				    mpi_numeric(ai->ai_addr, out) == SL_OK) {
					freeaddrinfo(res);
					return SL_OK;
				}
			}
			freeaddrinfo(res);
		}
	}
	/* Debian maps the name to 127.0.1.1: take an interface instead. */
	if (getifaddrs(&ifs) == 0) {
		for (ifa = ifs; ifa; ifa = ifa->ifa_next) {
			if (ifa->ifa_addr && ifa->ifa_addr->sa_family == AF_INET &&
			    (ifa->ifa_flags & IFF_UP) &&
			    !(ifa->ifa_flags & IFF_LOOPBACK) &&
			    !mpi_loopback(ifa->ifa_addr) &&
			    mpi_numeric(ifa->ifa_addr, out) == SL_OK) {
				freeifaddrs(ifs);
				return SL_OK;
			}
		}
		freeifaddrs(ifs);
	}
	sl_warn("no address of this host other than loopback: using "
		"127.0.0.1, which only works with every rank on this host "
		"(set SLUICE_HOST)");
	return sl_buf_addstr(out, "127.0.0.1");
}
