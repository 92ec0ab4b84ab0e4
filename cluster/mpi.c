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

bool
sl_mpi_launched(void)
{
	return getenv("OMPI_COMM_WORLD_SIZE") != NULL ||
	       getenv("PMIX_RANK") != NULL ||
	       (getenv("PMI_RANK") != NULL && getenv("PMI_SIZE") != NULL);
}

#ifdef HAVE_MPI

bool
sl_mpi_available(void)
{
	return true;
}

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
	if (rc != MPI_SUCCESS)
		return mpi_fail(err, "MPI_Gather", rc);
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

#else /* !HAVE_MPI */

bool
sl_mpi_available(void)
{
	return false;
}

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

#endif /* HAVE_MPI */

/* Whether a resolved address is loopback (127/8 or ::1). */
static bool
mpi_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr)
			>> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
			&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return true;
}

/* Writes sa's numeric address to out; IPv6 in brackets, as ZeroMQ wants. */
static int
mpi_numeric(const struct sockaddr *sa, sl_buf *out)
{
	char text[NI_MAXHOST];
	socklen_t len = sa->sa_family == AF_INET6
				? sizeof(struct sockaddr_in6)
				: sizeof(struct sockaddr_in);

	if (getnameinfo(sa, len, text, sizeof(text), NULL, 0,
			NI_NUMERICHOST) != 0)
		return SL_EINVAL;
	return sa->sa_family == AF_INET6 ? sl_buf_addf(out, "[%s]", text)
					 : sl_buf_addstr(out, text);
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
