/*
 * mpi.h - start-up under mpirun or srun: who this process is and where its
 * peers are, found through MPI collectives instead of a host list.
 *
 * `sluice run` decides from its environment whether a launcher started it
 * (sl_mpi_launched). If so: rank 0 runs the coordinator and the client,
 * ranks 1..N-1 run workers; the coordinator's endpoint goes to every rank
 * with sl_mpi_bcast_str(), and at the end the job's exit status with
 * sl_mpi_bcast_int(), so every rank exits with the same status.
 *
 * MPI is used at start-up, at the end and, with --shuffle mpi, for the
 * exchange of map outputs among the worker ranks (sl_mpi_alltoallv over
 * the group of sl_mpi_workers_new), always from the main thread
 * (MPI_THREAD_FUNNELED): the control plane runs over ZeroMQ, whose
 * heartbeats detect lost workers (see docs/mpi.md).
 *
 * Built without MPI (configure --with-mpi=no), sl_mpi_init() fails with
 * SL_EUSAGE and an explanation.
 */
#ifndef SL_MPI_H
#define SL_MPI_H

#include "sl_impl.h"

/*
 * Whether a launcher started this process: Open MPI's mpirun
 * (OMPI_COMM_WORLD_SIZE), a PMIx launcher such as `srun --mpi=pmix`
 * (PMIX_RANK), or a PMI-1/2 one such as `srun --mpi=pmi2` (PMI_RANK and
 * PMI_SIZE). Reads the environment only.
 */
bool sl_mpi_launched(void);

/*
 * MPI_Init_thread(MPI_THREAD_FUNNELED); *rank and *size of
 * MPI_COMM_WORLD. SL_EUSAGE when built without MPI, SL_EIO when MPI
 * cannot start or gives less than FUNNELED (reason in err).
 */
int sl_mpi_init(int *rank, int *size, sl_buf *err);

/* MPI_Finalize; a no-op when not initialized. */
void sl_mpi_finalize(void);

/*
 * Collectives on MPI_COMM_WORLD; every rank must call them in the same
 * order. bcast_str: rank 0's s replaces s on the other ranks (at most
 * 64 KiB). gather_lines: rank 0 gets every rank's line, in rank order,
 * each ending with '\n' (the others get nothing in all). SL_EIO or
 * SL_ETOOBIG with the reason in err.
 */
int sl_mpi_bcast_int(int *v, sl_buf *err);
int sl_mpi_bcast_str(sl_buf *s, sl_buf *err);
int sl_mpi_gather_lines(const char *line, sl_buf *all, sl_buf *err);

/* The worker ranks (world ranks 1..N-1) as an MPI communicator. */
typedef struct sl_mpi_group sl_mpi_group;

/*
 * Collective on MPI_COMM_WORLD (MPI_Comm_split): every rank calls it; the
 * worker ranks get their group in *g, rank 0 gets NULL. SL_OK, SL_EIO
 * (reason in err), SL_ENOMEM, SL_EUSAGE when built without MPI.
 */
int sl_mpi_workers_new(sl_mpi_group **g, sl_buf *err);
/* MPI_Comm_free; NULL-safe. Call before sl_mpi_finalize(). */
void sl_mpi_workers_free(sl_mpi_group *g);
/* This rank in the group (0..size-1), and the group's size. */
uint32_t sl_mpi_group_rank(const sl_mpi_group *g);
uint32_t sl_mpi_group_size(const sl_mpi_group *g);

/*
 * All-to-all exchange in the group: every rank calls it with `send`, an
 * array of size() buffers, send[d] for rank d (its own included); on
 * SL_OK, recv[s] (size() buffers, appended to) holds what rank s sent.
 * Sizes go first (MPI_Alltoall), then the bytes with MPI_Alltoallv in
 * rounds of at most SL_MPI_ROUND_BYTES a rank, so any size moves despite
 * MPI's int counts. Every rank takes part in every round even when one
 * runs short of memory, so a failure never leaves a peer waiting; it is
 * then SL_ENOMEM on the ranks concerned (SL_ENOMEM on all when round
 * buffers cannot be had, or a rank passes NULL send or recv because it
 * cannot take part). SL_EIO with the reason in err when MPI fails.
 * Costs: a copy of each byte into a round buffer on both sides, plus
 * 2 x SL_MPI_ROUND_BYTES of round buffers.
 */
#define SL_MPI_ROUND_BYTES (256u << 20)
int sl_mpi_alltoallv(sl_mpi_group *g, const sl_buf *send, sl_buf *recv,
		     sl_buf *err);

/*
 * The address other hosts reach this one at, for tcp:// endpoints: the
 * SLUICE_HOST variable when set; else this host's name if it resolves to
 * an address that is not loopback; else the first IPv4 address of an
 * interface that is up and not loopback; else 127.0.0.1 (one host only).
 * Works without MPI.
 */
int sl_mpi_host(sl_buf *out, sl_buf *err);

#endif
