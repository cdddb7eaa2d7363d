/* SPDX-License-Identifier: ISC */
/*
 * timer_test: the supervisor's timer table (supervisor/timer.c).  Order
 * of due timers, the poll timeout from the earliest deadline (never below
 * -1, capped), handlers returning a period, TIMER_NEVER or TIMER_STOP,
 * deleting and adding inside a handler, a full table.  No clock is read:
 * every case passes its own "now".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "supervisor/timer.h"
#include "tests/unit/test.h"

/* What the handlers saw and what they do next. */
struct probe {
	char		 log[64];	/* one letter per run, in order */
	int64_t		 ret;		/* the period a handler returns */
	long long	 victim;	/* a timer the handler deletes */
	long long	 added;		/* a timer the handler added */
	int64_t		 seen_now;
};

static int64_t
h_log(struct timer_table *tbl, long long id, int64_t now, void *arg,
    char letter)
{
	struct probe *p = arg;
	size_t n = strlen(p->log);

	(void)tbl;
	(void)id;
	if (n + 1 < sizeof(p->log))
		p->log[n] = letter;
	p->seen_now = now;
	return p->ret;
}

static int64_t
h_a(struct timer_table *tbl, long long id, int64_t now, void *arg)
{
	return h_log(tbl, id, now, arg, 'a');
}

static int64_t
h_b(struct timer_table *tbl, long long id, int64_t now, void *arg)
{
	return h_log(tbl, id, now, arg, 'b');
}

static int64_t
h_c(struct timer_table *tbl, long long id, int64_t now, void *arg)
{
	return h_log(tbl, id, now, arg, 'c');
}

/* Deletes p->victim (maybe itself), then logs 'd'. */
static int64_t
h_del(struct timer_table *tbl, long long id, int64_t now, void *arg)
{
	struct probe *p = arg;

	(void)timer_del(tbl, p->victim);
	return h_log(tbl, id, now, arg, 'd');
}

/* Adds a due timer 'a', then logs 'n'. */
static int64_t
h_add(struct timer_table *tbl, long long id, int64_t now, void *arg)
{
	struct probe *p = arg;

	p->added = timer_add(tbl, now, h_a, arg);
	return h_log(tbl, id, now, arg, 'n');
}

static void
t_order(void)
{
	struct timer_table tbl;
	struct probe p = { .ret = TIMER_STOP };
	int n;

	timer_init(&tbl);
	(void)timer_add(&tbl, 300, h_c, &p);
	(void)timer_add(&tbl, 100, h_a, &p);
	(void)timer_add(&tbl, 200, h_b, &p);
	(void)timer_add(&tbl, 100, h_b, &p);	/* same deadline, newer */
	n = timer_run_due(&tbl, 250);
	CHECK("order_due_earliest_first", n == 3 && strcmp(p.log, "abb") == 0,
	    "ran %d: \"%s\", want 3: \"abb\"", n, p.log);
	CHECK("order_now_passed", p.seen_now == 250, "now %lld",
	    (long long)p.seen_now);
	CHECK("order_rest_waits", timer_next_timeout(&tbl, 250) == 50,
	    "timeout %d, want 50", timer_next_timeout(&tbl, 250));
	n = timer_run_due(&tbl, 250);
	CHECK("order_nothing_due", n == 0, "ran %d", n);
}

static void
t_timeout(void)
{
	static const struct {
		const char	*name;
		int64_t		 when[3];	/* 0: no timer */
		int64_t		 now;
		int		 want;
	} cases[] = {
		{ "timeout_empty", { 0 }, 1000, -1 },
		{ "timeout_earliest", { 5000, 1500, 3000 }, 1000, 500 },
		{ "timeout_due_now", { 1000 }, 1000, 0 },
		{ "timeout_overdue_is_zero", { 10, 2000 }, 1000, 0 },
		{ "timeout_never_only", { TIMER_NEVER }, 1000, -1 },
		{ "timeout_never_and_one", { TIMER_NEVER, 1700 }, 1000, 700 },
		{ "timeout_capped", { TIMER_NEVER - 1 }, 1, INT32_MAX },
		{ "timeout_just_below_cap", { (int64_t)INT32_MAX + 7 }, 7,
		    INT32_MAX },
	};
	struct timer_table tbl;
	struct probe p = { .ret = TIMER_STOP };
	size_t i, j;
	int got;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		timer_init(&tbl);
		for (j = 0; j < 3; j++)
			if (cases[i].when[j] != 0)
				(void)timer_add(&tbl, cases[i].when[j], h_a,
				    &p);
		got = timer_next_timeout(&tbl, cases[i].now);
		CHECK(cases[i].name, got == cases[i].want && got >= -1,
		    "timeout %d, want %d", got, cases[i].want);
	}
}

static void
t_periods(void)
{
	struct timer_table tbl;
	struct probe p = { .ret = 250 };
	long long id;
	int n;

	timer_init(&tbl);
	id = timer_add(&tbl, 1000, h_a, &p);
	n = timer_run_due(&tbl, 1010);
	CHECK("period_rearms", n == 1 && timer_next_timeout(&tbl, 1010) == 250,
	    "ran %d, timeout %d, want 250", n, timer_next_timeout(&tbl, 1010));
	p.ret = 0;
	(void)timer_run_due(&tbl, 1260);
	n = timer_run_due(&tbl, 1260);
	CHECK("period_zero_once_per_pass", n == 1 &&
	    timer_next_timeout(&tbl, 1260) == 0, "ran %d, timeout %d", n,
	    timer_next_timeout(&tbl, 1260));
	p.ret = -5;
	(void)timer_run_due(&tbl, 1300);
	CHECK("period_negative_is_due", timer_next_timeout(&tbl, 1300) == 0,
	    "timeout %d", timer_next_timeout(&tbl, 1300));
	p.ret = TIMER_NEVER;
	(void)timer_run_due(&tbl, 1300);
	CHECK("period_never_parks", timer_next_timeout(&tbl, 1300) == -1 &&
	    timer_run_due(&tbl, 999999) == 0, "timeout %d",
	    timer_next_timeout(&tbl, 1300));
	CHECK("never_rearmed_by_set", timer_set(&tbl, id, 2000) == 0 &&
	    timer_next_timeout(&tbl, 1500) == 500, "timeout %d",
	    timer_next_timeout(&tbl, 1500));
	p.ret = TIMER_STOP;
	n = timer_run_due(&tbl, 2000);
	CHECK("stop_leaves_table", n == 1 && timer_next_timeout(&tbl, 2000) ==
	    -1 && timer_del(&tbl, id) == -1 && timer_set(&tbl, id, 1) == -1,
	    "ran %d, timeout %d", n, timer_next_timeout(&tbl, 2000));
	p.ret = INT64_MAX - 1;
	timer_init(&tbl);
	(void)timer_add(&tbl, 0, h_a, &p);
	(void)timer_run_due(&tbl, 100);
	CHECK("period_huge_saturates", timer_next_timeout(&tbl, 100) ==
	    INT32_MAX, "timeout %d", timer_next_timeout(&tbl, 100));
}

static void
t_delete_inside(void)
{
	struct timer_table tbl;
	struct probe p = { .ret = 100 };
	long long d, b;
	int n;

	/* A handler deletes a later due timer: it does not run. */
	timer_init(&tbl);
	d = timer_add(&tbl, 10, h_del, &p);
	b = timer_add(&tbl, 20, h_b, &p);
	p.victim = b;
	n = timer_run_due(&tbl, 50);
	CHECK("del_other_skipped", n == 1 && strcmp(p.log, "d") == 0,
	    "ran %d: \"%s\"", n, p.log);
	CHECK("del_other_gone", timer_del(&tbl, b) == -1, "b still there");

	/* A handler deletes itself and returns a period: it stays gone. */
	p.victim = d;
	p.log[0] = '\0';
	n = timer_run_due(&tbl, 200);
	CHECK("del_self", n == 1 && timer_next_timeout(&tbl, 200) == -1 &&
	    timer_del(&tbl, d) == -1, "ran %d, timeout %d", n,
	    timer_next_timeout(&tbl, 200));

	/* Deleted then the slot reused inside the pass: the new one waits. */
	timer_init(&tbl);
	memset(&p, 0, sizeof(p));
	p.ret = TIMER_STOP;
	d = timer_add(&tbl, 10, h_add, &p);
	n = timer_run_due(&tbl, 50);
	CHECK("add_inside_waits", n == 1 && strcmp(p.log, "n") == 0 &&
	    p.added > d && timer_next_timeout(&tbl, 50) == 0,
	    "ran %d: \"%s\", added %lld", n, p.log, p.added);
	n = timer_run_due(&tbl, 50);
	CHECK("add_inside_next_pass", n == 1 && strcmp(p.log, "na") == 0,
	    "ran %d: \"%s\"", n, p.log);
}

static void
t_limits(void)
{
	struct timer_table tbl;
	struct probe p = { .ret = TIMER_STOP };
	long long ids[TIMER_MAX], extra, prev = 0;
	bool rising = true;
	int i, n;

	timer_init(&tbl);
	for (i = 0; i < TIMER_MAX; i++) {
		ids[i] = timer_add(&tbl, 100 + i, h_a, &p);
		rising = rising && ids[i] > prev;
		prev = ids[i];
	}
	CHECK("limits_fill", rising && ids[0] > 0, "ids not rising");
	extra = timer_add(&tbl, 1, h_a, &p);
	CHECK("limits_full", extra == -1, "add to a full table gave %lld",
	    extra);
	CHECK("limits_null_fn", timer_add(&tbl, 1, NULL, &p) == -1,
	    "NULL handler accepted");
	CHECK("limits_del_unknown", timer_del(&tbl, 0) == -1 &&
	    timer_del(&tbl, 9999) == -1 && timer_set(&tbl, -1, 5) == -1,
	    "unknown id accepted");
	(void)timer_del(&tbl, ids[3]);
	extra = timer_add(&tbl, 1, h_b, &p);
	CHECK("limits_slot_reused", extra > ids[TIMER_MAX - 1],
	    "re-add gave %lld", extra);
	n = timer_run_due(&tbl, 1000);
	CHECK("limits_all_run", n == TIMER_MAX && p.log[0] == 'b' &&
	    strlen(p.log) == TIMER_MAX, "ran %d: \"%s\"", n, p.log);
	CHECK("limits_empty_after", timer_next_timeout(&tbl, 1000) == -1,
	    "timeout %d", timer_next_timeout(&tbl, 1000));
}

static void
t_until(void)
{
	CHECK("until_future", timer_until(1500, 1000) == 500, "%lld",
	    (long long)timer_until(1500, 1000));
	CHECK("until_past", timer_until(900, 1000) == 0, "%lld",
	    (long long)timer_until(900, 1000));
	CHECK("until_never", timer_until(TIMER_NEVER, 1000) == TIMER_NEVER,
	    "%lld", (long long)timer_until(TIMER_NEVER, 1000));
}

int
main(void)
{
	static void (*const cases[])(void) = {
		t_order, t_timeout, t_periods, t_delete_inside, t_limits,
		t_until,
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cases[i]();
	return test_exit();
}
