/* SPDX-License-Identifier: ISC */
/*
 * ctl_json.c: reading values out of JSON that rvctl did not write (the
 * supervisor's status answer, store rows, spool and checkpoint files)
 * without trusting it.  Shared by the commands and the dashboard.
 */
#include <limits.h>

#include <cJSON.h>

#include "ctl/ctl.h"

/*
 * Values of JSON from the supervisor, the store or a file, read without
 * trusting them: a string that is none reads "", a number that is none
 * (or NaN) reads 0, and a number out of range is clamped, never cast
 * (casting 1e300 to int is undefined behaviour).
 */
const char *
ctl_jstr(const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));

	return v != NULL ? v : "";
}

long long
ctl_jll(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble)
		return 0;
	if (v->valuedouble >= 9.2e18)
		return LLONG_MAX;
	if (v->valuedouble <= -9.2e18)
		return LLONG_MIN;
	return (long long)v->valuedouble;
}

int
ctl_jint(const cJSON *o, const char *key)
{
	long long n = ctl_jll(o, key);

	return n > INT_MAX ? INT_MAX : n < INT_MIN ? INT_MIN : (int)n;
}
