/* SPDX-License-Identifier: ISC */
/*
 * clock.c: the two clocks RayVault uses.
 *
 * Local deadlines (heartbeat timers, stall budgets, backoff) use
 * CLOCK_MONOTONIC through clock_mono_ms(), so a wall-clock jump never fires
 * or delays a timer.  Wall-clock UTC strings are only for humans and file
 * names; lease ages and expiry are always computed by the store's clock.
 *
 * Public: clock_mono_ms, clock_utc_iso, clock_utc_stamp, clock_parse_iso,
 * clock_sleep_ms.
 */
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/core/clock.h"

int64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2026-11-25T10:11:12.345Z" */
void
clock_utc_iso(char buf[CLOCK_ISO_LEN])
{
	struct timeval tv;
	struct tm tm;
	char s[24];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, CLOCK_ISO_LEN, "%s.%03dZ", s, (int)(tv.tv_usec / 1000));
}

/* "20261125T101112Z", for file names. */
void
clock_utc_stamp(char buf[CLOCK_ISO_LEN])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, CLOCK_ISO_LEN, "%Y%m%dT%H%M%SZ", &tm);
}

/* Parse "YYYY-MM-DDTHH:MM:SS[.fff][Z|+00:00]" (UTC) into epoch seconds. */
int
clock_parse_iso(const char *s, double *epoch)
{
	struct tm tm;
	const char *p;
	double frac = 0;
	char *end;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL &&
	    (p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		frac = strtod(p, &end);
		p = end;
	}
	if (*p != '\0' && *p != 'Z' && strncmp(p, "+00", 3) != 0)
		return -1;
	*epoch = (double)timegm(&tm) + frac;
	return 0;
}

void
clock_sleep_ms(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
