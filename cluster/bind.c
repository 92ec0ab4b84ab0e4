/*
 * bind.c - task slots and thread pinning from hwloc; see bind.h.
 */
#include "bind.h"

#include <hwloc.h>
#include <pthread.h>
#include <stdlib.h>

/* What SL_BIND_CORE keeps between setup and teardown. */
static struct {
	hwloc_topology_t topo;   /* loaded topology, or NULL when not pinning */
	hwloc_bitmap_t *cores;   /* per core: its PUs within the set (owned) */
	uint32_t *load;          /* per core: task threads pinned there now */
	uint32_t ncores;
	pthread_mutex_t lock;    /* guards load */
} bind_state = { .lock = PTHREAD_MUTEX_INITIALIZER };

int
sl_bind_parse(const char *s, sl_bind_mode *mode)
{
	if (strcmp(s, "none") == 0)
		*mode = SL_BIND_NONE;
	else if (strcmp(s, "core") == 0)
		*mode = SL_BIND_CORE;
	else
		return SL_EINVAL;
	return SL_OK;
}

/*
 * The cores (or the PUs, where hwloc finds no core objects) that meet
 * `set`, each as its PUs within the set. Fills *out (may be NULL to only
 * count) and returns the count.
 */
static uint32_t
bind_cores(hwloc_topology_t topo, hwloc_const_bitmap_t set,
	   hwloc_bitmap_t *out)
{
	hwloc_obj_type_t type = HWLOC_OBJ_CORE;
	hwloc_obj_t o = NULL;
	uint32_t n = 0;

	if (hwloc_get_nbobjs_by_type(topo, type) <= 0)
		type = HWLOC_OBJ_PU;
	while ((o = hwloc_get_next_obj_by_type(topo, type, o)) != NULL) {
		if (!hwloc_bitmap_intersects(o->cpuset, set))
			continue;
		if (out) {
			out[n] = hwloc_bitmap_alloc();
			if (out[n])
				hwloc_bitmap_and(out[n], o->cpuset, set);
		}
		n++;
	}
	return n;
}

/* Frees whatever bind_state holds; safe on a half-made state. */
static void
bind_state_clear(void)
{
	uint32_t i;

	for (i = 0; bind_state.cores && i < bind_state.ncores; i++)
		hwloc_bitmap_free(bind_state.cores[i]);
	free(bind_state.cores);
	free(bind_state.load);
	if (bind_state.topo)
		hwloc_topology_destroy(bind_state.topo);
	bind_state.cores = NULL;
	bind_state.load = NULL;
	bind_state.ncores = 0;
	bind_state.topo = NULL;
}

int
sl_bind_setup(sl_bind_mode mode, sl_topo_info *info, sl_buf *err)
{
	hwloc_topology_t topo = NULL;
	hwloc_bitmap_t set = NULL;
	hwloc_const_bitmap_t all;
	uint32_t i;
	int rv = SL_EIO;

	memset(info, 0, sizeof(*info));
	if (hwloc_topology_init(&topo) != 0) {
		topo = NULL;
		sl_buf_addstr(err, "hwloc cannot start");
		goto out;
	}
	if (hwloc_topology_load(topo) != 0) {
		sl_buf_addstr(err, "hwloc cannot load the machine's topology");
		goto out;
	}
	all = hwloc_topology_get_topology_cpuset(topo);
	if ((set = hwloc_bitmap_alloc()) == NULL) {
		rv = SL_ENOMEM;
		goto out;
	}
	/* No binding to read (or an empty one): the whole machine. */
	if (hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) != 0 ||
	    !hwloc_bitmap_intersects(set, all))
		hwloc_bitmap_copy(set, all);
	hwloc_bitmap_and(set, set, all);
	info->machine_cores = bind_cores(topo, all, NULL);
	info->machine_pus = (uint32_t)hwloc_bitmap_weight(all);
	info->cores = bind_cores(topo, set, NULL);
	info->pus = (uint32_t)hwloc_bitmap_weight(set);
	info->bound = !hwloc_bitmap_isequal(set, all);
	hwloc_bitmap_list_snprintf(info->cpuset, sizeof(info->cpuset), set);
	if (mode == SL_BIND_NONE) {
		rv = SL_OK;
		goto out;
	}
	bind_state_clear();
	bind_state.cores = calloc(info->cores, sizeof(*bind_state.cores));
	bind_state.load = calloc(info->cores, sizeof(*bind_state.load));
	if (!bind_state.cores || !bind_state.load) {
		bind_state_clear();
		rv = SL_ENOMEM;
		goto out;
	}
	bind_state.ncores = bind_cores(topo, set, bind_state.cores);
	for (i = 0; i < bind_state.ncores; i++) {
		if (bind_state.cores[i] == NULL) {
			bind_state_clear();
			rv = SL_ENOMEM;
			goto out;
		}
	}
	bind_state.topo = topo;
	topo = NULL;
	rv = SL_OK;
out:
	if (set)
		hwloc_bitmap_free(set);
	if (topo)
		hwloc_topology_destroy(topo);
	return rv;
}

int
sl_bind_task_begin(void)
{
	uint32_t i, best = 0;

	if (bind_state.topo == NULL || bind_state.ncores == 0)
		return -1;
	pthread_mutex_lock(&bind_state.lock);
	for (i = 1; i < bind_state.ncores; i++)
		if (bind_state.load[i] < bind_state.load[best])
			best = i;
	bind_state.load[best]++;
	pthread_mutex_unlock(&bind_state.lock);
	if (hwloc_set_cpubind(bind_state.topo, bind_state.cores[best],
			      HWLOC_CPUBIND_THREAD) != 0) {
		sl_debug("cannot pin a task thread to core %u of the set", best);
		sl_bind_task_end((int)best);
		return -1;
	}
	return (int)best;
}

void
sl_bind_task_end(int core)
{
	if (core < 0 || bind_state.topo == NULL ||
	    (uint32_t)core >= bind_state.ncores)
		return;
	pthread_mutex_lock(&bind_state.lock);
	bind_state.load[core]--;
	pthread_mutex_unlock(&bind_state.lock);
}

void
sl_bind_teardown(void)
{
	bind_state_clear();
}
