/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_SKELETON_SCRATCH_H
#define RV_WORKERS_SKELETON_SCRATCH_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

/*
 * Scratch directories of a child under <state_dir>/tmp/, named
 * "<kind>.<pid>.<tag>.XXXXXX" after the child that owns them, so the
 * successor of a killed child can tell its leftovers from a live
 * sibling's.  See workers/skeleton/scratch.c.
 */

#define SCRATCH_KIND_MAX	16	/* bytes of a kind, NUL included */

int	scratch_make(const char *state_dir, const char *kind, const char *tag,
	    char *buf, size_t size);
int	scratch_make_job(const char *state_dir, const char *kind,
	    const char *run_id, const char *segment_id, char *buf,
	    size_t size, char *err, size_t errlen);
int	scratch_remove(const char *path);
int	scratch_sweep(const char *state_dir, const char *kind);
bool	scratch_owner(const char *name, const char *kind, pid_t *pid);

#endif
