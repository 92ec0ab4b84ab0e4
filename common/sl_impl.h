/*
 * sl_impl.h - the internal umbrella header of common/: every module of
 * sluice includes this first. Dependencies point down only:
 * cli -> coordinator/worker -> scheduler/shuffle/cluster -> common.
 *
 * Naming: sl_ public, sl__ internal non-static, static + file prefix for
 * file-local names.
 */
#ifndef SL_IMPL_H
#define SL_IMPL_H

#include "sluice.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "io.h"
#include "kv.h"
#include "log.h"
#include "procdir.h"

#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Whether a task attempt that failed with this status may be retried:
 * not for bad input, bad options or an exact sum past its range, which
 * fail the same way on every attempt. */
bool sl_status_retryable(int status);

/* Partition of a key: xxHash3-64 (seed 0) of the key bytes, modulo r. */
uint32_t sl_partition_of(const void *key, size_t klen, uint32_t r);

#endif
