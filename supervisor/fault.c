/* SPDX-License-Identifier: ISC */
/*
 * fault.c: named fault sites for test builds (STYLE section 11).
 *
 * Only when RV_TESTING=1: RV_FAULT="store:gate:1:3,hb-fail:2:5" makes the
 * first three gate calls fail, and so on.  The counters are per site and
 * shared by the store threads, so they are kept under a mutex.  Outside
 * test builds every site answers "no fault" without looking further.
 *
 * Public: fault_hit, fault_num.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/fault.h"

#define SITES_MAX	16

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char	name[32];
	long	calls;
} sites[SITES_MAX];

static bool
testing(void)
{
	const char *t = getenv("RV_TESTING");

	return t != NULL && strcmp(t, "1") == 0 && getenv("RV_FAULT") != NULL;
}

/*
 * The <idx>-th number after "<site>:" in RV_FAULT (0: n, 1: count), or -1
 * when the site is not named there.
 */
long
fault_num(const char *site, int idx)
{
	const char *f, *p;
	char *end;
	size_t len = strlen(site);
	long v[2] = { -1, -1 };

	if (!testing())
		return -1;
	for (f = getenv("RV_FAULT"); (p = strstr(f, site)) != NULL;
	    f = p + len) {
		if ((p != getenv("RV_FAULT") && p[-1] != ',') || p[len] != ':')
			continue;
		v[0] = strtol(p + len + 1, &end, 10);
		if (*end == ':')
			v[1] = strtol(end + 1, NULL, 10);
		return v[idx];
	}
	return -1;
}

/* Count a call at <site>; true when this call must fail. */
bool
fault_hit(const char *site)
{
	long n, count, calls = 0;
	int i;

	if (!testing() || (n = fault_num(site, 0)) < 0)
		return false;
	if ((count = fault_num(site, 1)) < 1)
		count = 1;
	pthread_mutex_lock(&mtx);
	for (i = 0; i < SITES_MAX; i++) {
		if (sites[i].name[0] == '\0')
			strlcpy(sites[i].name, site, sizeof(sites[i].name));
		if (strcmp(sites[i].name, site) == 0) {
			calls = ++sites[i].calls;
			break;
		}
	}
	pthread_mutex_unlock(&mtx);
	return calls >= n && calls < n + count;
}
