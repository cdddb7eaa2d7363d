/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_PROGRESS_H
#define RV_COMMON_CORE_PROGRESS_H

#include <stddef.h>

/*
 * Progress reporting from long work back to the caller's work loop: the
 * one liveness primitive of a child.  A worker passes a progress whose
 * tick() sends the heartbeat when one is due and returns -1 when the work
 * must stop now (STOP from the supervisor, supervisor gone).  Every wait
 * inside a child goes through it, at least every PROGRESS_TICK_MS: a
 * subprocess (subproc_run), a transfer (curl's multi loop), a DevTools
 * answer (workers/render/cdp.c), a file settling, a lock, a plain pause
 * (progress_sleep).  So a child that waits for legitimate work keeps
 * heartbeating however long the wait, and only a child whose thread is
 * really blocked goes silent.  Each tick carries a value describing how
 * far the work is (bytes, out_time, steps).  The receiver counts every
 * CHANGE of the value as progress, so a value may restart from 0 for the
 * next operation; a value that stays the same means "alive but not
 * moving", which is how a stuck render is told apart from a slow one.
 */
#define PROGRESS_TICK_MS	100	/* longest gap between two ticks */

struct progress {
	int	(*tick)(void *arg, long long value);
	void	*arg;
	long long value;	/* last value reported */
};

static inline int
progress_tick(struct progress *p, long long v)
{
	if (p == NULL || p->tick == NULL)
		return 0;
	p->value = v;
	return p->tick(p->arg, v);
}

/* Report one more step of progress. */
static inline int
progress_step(struct progress *p)
{
	if (p == NULL)
		return 0;
	return progress_tick(p, p->value + 1);
}

/*
 * Let <ms> pass, ticking <p> (may be NULL) with its unchanged value at
 * least every PROGRESS_TICK_MS.  Returns 0, or -1 as soon as a tick asks
 * to stop.
 */
int	progress_sleep(struct progress *p, long ms);

#endif
