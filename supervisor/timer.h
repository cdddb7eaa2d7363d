/* SPDX-License-Identifier: ISC */
#ifndef RV_SUPERVISOR_TIMER_H
#define RV_SUPERVISOR_TIMER_H

#include <stdint.h>

/*
 * A small table of timers (supervisor/timer.c): absolute deadlines on the
 * monotonic clock, in ms (times are >= 0).  A handler returns its next
 * period in ms (0 or less: due again, it runs at the next pass), TIMER_NEVER
 * to stay in the table without a deadline until timer_set arms it again,
 * or TIMER_STOP to leave the table.  The returned period wins over a
 * timer_set of the handler's own timer.
 */

#define TIMER_MAX	16
#define TIMER_STOP	((int64_t)-1)
#define TIMER_NEVER	INT64_MAX

struct timer_table;

typedef int64_t	timer_fn(struct timer_table *tbl, long long id, int64_t now,
		    void *arg);

struct timer {
	long long	 id;		/* 0: free slot */
	int64_t		 when;		/* deadline; TIMER_NEVER: none */
	timer_fn	*fn;
	void		*arg;
	unsigned long	 pass;		/* last timer_run_due pass it ran in */
};

struct timer_table {
	struct timer	 t[TIMER_MAX];
	long long	 last_id;
	unsigned long	 pass;
};

/* Empty the table. */
void	 timer_init(struct timer_table *tbl);

/*
 * Add a timer due at <when> (absolute ms, or TIMER_NEVER).  Returns its id
 * (> 0), or -1 when the table is full or <fn> is NULL.
 */
long long timer_add(struct timer_table *tbl, int64_t when, timer_fn *fn,
	    void *arg);

/* Remove timer <id>; safe inside any handler.  -1 if there is none. */
int	 timer_del(struct timer_table *tbl, long long id);

/* Move timer <id> to deadline <when> (TIMER_NEVER: none).  -1 if none. */
int	 timer_set(struct timer_table *tbl, long long id, int64_t when);

/*
 * The poll timeout for <now>: ms until the earliest deadline, 0 when one is
 * already due, -1 when no timer has a deadline (sleep until an event).
 * Never below -1; at most INT32_MAX.
 */
int	 timer_next_timeout(const struct timer_table *tbl, int64_t now);

/*
 * Run every timer due at <now>, earliest deadline first (ties: the older
 * timer first), each at most once per call; timers added by a handler
 * wait for the next call.  Returns how many ran.
 */
int	 timer_run_due(struct timer_table *tbl, int64_t now);

/*
 * The period a handler returns to run again at absolute <deadline>: 0 if
 * it is already due, TIMER_NEVER if <deadline> is TIMER_NEVER.
 */
int64_t	 timer_until(int64_t deadline, int64_t now);

#endif
