/* SPDX-License-Identifier: ISC */
/*
 * timer.c: the supervisor's timer table (the Redis ae.c time events).
 *
 * A timer is an absolute deadline on the monotonic clock (ms), a handler
 * and its argument, kept in a small fixed table: the main loop has a
 * handful of timers, so a linear scan is the whole data structure.  The
 * loop asks timer_next_timeout() how long zmq_poll may sleep and calls
 * timer_run_due() after every wake.  A handler returns its next period, or
 * TIMER_NEVER to wait (without a deadline) until someone arms it again
 * with timer_set(), or TIMER_STOP to leave the table.  Inside a handler
 * any timer may be added, moved or deleted: a deleted slot is skipped, a
 * timer added during a pass runs from the next pass on (its id is newer
 * than the pass), and no timer runs twice in one pass.
 *
 * This module reads no clock and knows nothing of the supervisor: the
 * caller passes "now" and the handlers do the work.
 *
 * Public: timer_init, timer_add, timer_del, timer_set,
 * timer_next_timeout, timer_run_due, timer_until.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "supervisor/timer.h"

void
timer_init(struct timer_table *tbl)
{
	memset(tbl, 0, sizeof(*tbl));
}

long long
timer_add(struct timer_table *tbl, int64_t when, timer_fn *fn, void *arg)
{
	struct timer *t;
	size_t i;

	if (fn == NULL)
		return -1;
	for (i = 0; i < TIMER_MAX; i++) {
		t = &tbl->t[i];
		if (t->id != 0)
			continue;
		t->id = ++tbl->last_id;
		t->when = when;
		t->fn = fn;
		t->arg = arg;
		t->pass = tbl->pass;
		return t->id;
	}
	return -1;
}

static struct timer *
find(struct timer_table *tbl, long long id)
{
	size_t i;

	if (id <= 0)
		return NULL;
	for (i = 0; i < TIMER_MAX; i++)
		if (tbl->t[i].id == id)
			return &tbl->t[i];
	return NULL;
}

int
timer_del(struct timer_table *tbl, long long id)
{
	struct timer *t = find(tbl, id);

	if (t == NULL)
		return -1;
	memset(t, 0, sizeof(*t));
	return 0;
}

int
timer_set(struct timer_table *tbl, long long id, int64_t when)
{
	struct timer *t = find(tbl, id);

	if (t == NULL)
		return -1;
	t->when = when;
	return 0;
}

int
timer_next_timeout(const struct timer_table *tbl, int64_t now)
{
	int64_t first = TIMER_NEVER;
	size_t i;

	for (i = 0; i < TIMER_MAX; i++)
		if (tbl->t[i].id != 0 && tbl->t[i].when < first)
			first = tbl->t[i].when;
	if (first == TIMER_NEVER)
		return -1;
	if (first <= now)
		return 0;
	if (now < 0 || first - now > INT32_MAX)
		return INT32_MAX;
	return (int)(first - now);
}

/* The earliest due timer of this pass not yet run, or NULL. */
static struct timer *
next_due(struct timer_table *tbl, int64_t now, long long max_id)
{
	struct timer *t, *best = NULL;
	size_t i;

	for (i = 0; i < TIMER_MAX; i++) {
		t = &tbl->t[i];
		if (t->id == 0 || t->id > max_id || t->pass == tbl->pass ||
		    t->when == TIMER_NEVER || t->when > now)
			continue;
		if (best == NULL || t->when < best->when ||
		    (t->when == best->when && t->id < best->id))
			best = t;
	}
	return best;
}

int
timer_run_due(struct timer_table *tbl, int64_t now)
{
	long long max_id = tbl->last_id, id;
	struct timer *t;
	int64_t period;
	int n = 0;

	tbl->pass++;
	while ((t = next_due(tbl, now, max_id)) != NULL) {
		t->pass = tbl->pass;
		id = t->id;
		period = t->fn(tbl, id, now, t->arg);
		n++;
		/* The handler may have deleted it, or deleted and re-added. */
		if ((t = find(tbl, id)) == NULL)
			continue;
		if (period == TIMER_STOP)
			(void)timer_del(tbl, id);
		else if (period == TIMER_NEVER)
			t->when = TIMER_NEVER;
		else if (period < 0)
			t->when = now;		/* overdue: the next pass */
		else if (period > TIMER_NEVER - 1 - now)
			t->when = TIMER_NEVER - 1;
		else
			t->when = now + period;
	}
	return n;
}

int64_t
timer_until(int64_t deadline, int64_t now)
{
	if (deadline == TIMER_NEVER)
		return TIMER_NEVER;
	return deadline > now ? deadline - now : 0;
}
