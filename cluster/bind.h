/*
 * bind.h - where a worker's task threads may run, from hwloc.
 *
 * A worker learns the PUs it may use (its process binding, as set by
 * mpirun, srun or taskset; else the whole machine), counts the cores that
 * hold them (one task slot per core), and with SL_BIND_CORE pins each task
 * thread to one of those cores: the least loaded at the time, so threads
 * that run together spread over the set. Nothing is pinned outside the set.
 *
 * The binding is process-wide state (a CPU binding belongs to the process,
 * as hwloc sees it): sl_bind_setup() once on the main thread, before any
 * task thread; sl_bind_task_begin/_end from any thread (a mutex guards the
 * per-core load counts); sl_bind_teardown() after the last task thread.
 * Loading the topology costs a few milliseconds; pinning is one syscall.
 */
#ifndef SL_BIND_H
#define SL_BIND_H

#include "sl_impl.h"

typedef enum sl_bind_mode {
	SL_BIND_NONE,     /* threads float over the process's binding */
	SL_BIND_CORE,     /* each task thread pinned to one core of the set */
} sl_bind_mode;

/* What this process sees, for `sluice info` and the slot count. */
typedef struct sl_topo_info {
	uint32_t machine_cores;  /* cores of the machine */
	uint32_t machine_pus;    /* PUs (hardware threads) of the machine */
	uint32_t cores;          /* cores with a PU this process may use */
	uint32_t pus;            /* PUs this process may use */
	bool bound;              /* the binding is narrower than the machine */
	char cpuset[128];        /* the usable PUs as a list, e.g. "0-3,8" */
} sl_topo_info;

/* "none" or "core" to a mode; SL_EINVAL for anything else. */
int sl_bind_parse(const char *s, sl_bind_mode *mode);

/*
 * Loads the topology and this process's binding into *info. With
 * SL_BIND_CORE, keeps them for sl_bind_task_begin(); with SL_BIND_NONE
 * keeps nothing (task_begin then does nothing). SL_EIO with the reason in
 * err when hwloc cannot load the topology.
 */
int sl_bind_setup(sl_bind_mode mode, sl_topo_info *info, sl_buf *err);

/*
 * Pins the calling thread to the least loaded core of the set. Returns
 * that core's index for sl_bind_task_end(), or -1 when nothing was pinned
 * (no setup, SL_BIND_NONE, or the pinning failed: the thread then keeps
 * the process's binding, which is still inside the set).
 */
int sl_bind_task_begin(void);
void sl_bind_task_end(int core);

/* Frees what sl_bind_setup() kept. */
void sl_bind_teardown(void);

#endif
