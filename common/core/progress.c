/* SPDX-License-Identifier: ISC */
/*
 * progress.c: the parts of the liveness primitive (common/core/progress.h)
 * that are not inline: a pause that keeps ticking.
 *
 * A child never sleeps bare: every pause between two looks at something
 * (a file settling, a lock, a retry, a browser going away) is a
 * progress_sleep(), which ticks the caller's progress with its unchanged
 * value (alive, not moving) at least every PROGRESS_TICK_MS, so the
 * heartbeat goes on and a STOP is obeyed within one tick.  Nothing here
 * logs.
 *
 * Public: progress_sleep.
 */
#include <stdint.h>

#include "common/core/clock.h"
#include "common/core/progress.h"

/*
 * Let <ms> (<= 0: none) pass in slices of at most PROGRESS_TICK_MS,
 * ticking <p> (borrowed, may be NULL) after each.  Returns 0, or -1 as
 * soon as a tick answers -1 (the rest of the pause is skipped).
 */
int
progress_sleep(struct progress *p, long ms)
{
	int64_t end = clock_mono_ms() + (ms > 0 ? ms : 0), left;

	while ((left = end - clock_mono_ms()) > 0) {
		clock_sleep_ms(left < PROGRESS_TICK_MS ? left :
		    PROGRESS_TICK_MS);
		if (p != NULL && progress_tick(p, p->value) == -1)
			return -1;
	}
	return 0;
}
