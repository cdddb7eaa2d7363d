/* SPDX-License-Identifier: ISC */
/*
 * ctl_json_test.c: unit tests for ctl/ctl_json.c, the readers rvctl uses
 * on JSON it did not write (the supervisor's status answer, store rows,
 * spool files).  Numbers out of range are clamped, NaN and wrong types
 * read 0, a missing string reads "".  Built with UBSan (make SANITIZE=1),
 * a plain cast of 1e300 to int in a reader fails this test.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "ctl/ctl.h"
#include "tests/unit/test.h"

static const struct {
	const char	*json;		/* the value of "v" */
	long long	 ll;		/* ctl_jll */
	int		 i;		/* ctl_jint */
} nums[] = {
	{ "42", 42, 42 },
	{ "-7", -7, -7 },
	{ "3.9", 3, 3 },
	{ "1e300", LLONG_MAX, INT_MAX },
	{ "-1e300", LLONG_MIN, INT_MIN },
	{ "4294967296", 4294967296LL, INT_MAX },
	{ "-4294967296", -4294967296LL, INT_MIN },
	{ "9.3e18", LLONG_MAX, INT_MAX },
	{ "\"12\"", 0, 0 },
	{ "null", 0, 0 },
	{ "true", 0, 0 },
	{ "[1]", 0, 0 },
	{ "{\"x\":1}", 0, 0 },
};

static void
test_numbers(void)
{
	char text[128], name[64];
	cJSON *o;
	size_t i;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		snprintf(text, sizeof(text), "{\"v\":%s}", nums[i].json);
		snprintf(name, sizeof(name), "num %s", nums[i].json);
		o = cJSON_Parse(text);
		CHECK(name, o != NULL && ctl_jll(o, "v") == nums[i].ll &&
		    ctl_jint(o, "v") == nums[i].i, "jll %lld jint %d",
		    ctl_jll(o, "v"), ctl_jint(o, "v"));
		CHECK(name, ctl_jll(o, "absent") == 0 &&
		    ctl_jint(o, "absent") == 0, "absent key is not 0");
		cJSON_Delete(o);
	}
	/* cJSON cannot parse NaN; a caller's object can still hold one. */
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "v", cJSON_CreateNumber(0.0 / 0.0));
	CHECK("nan", ctl_jll(o, "v") == 0 && ctl_jint(o, "v") == 0,
	    "jll %lld", ctl_jll(o, "v"));
	cJSON_Delete(o);
	CHECK("null object", ctl_jll(NULL, "v") == 0 &&
	    ctl_jint(NULL, "v") == 0 && strcmp(ctl_jstr(NULL, "v"), "") == 0,
	    "NULL object not read as none");
}

static void
test_strings(void)
{
	cJSON *o = cJSON_Parse("{\"s\":\"idle\",\"n\":5,\"z\":null}");

	CHECK("string", strcmp(ctl_jstr(o, "s"), "idle") == 0, "%s",
	    ctl_jstr(o, "s"));
	CHECK("string of a number", strcmp(ctl_jstr(o, "n"), "") == 0 &&
	    strcmp(ctl_jstr(o, "z"), "") == 0 &&
	    strcmp(ctl_jstr(o, "absent"), "") == 0, "not read as none");
	cJSON_Delete(o);
}

int
main(void)
{
	test_numbers();
	test_strings();
	return test_exit();
}
