/* SPDX-License-Identifier: ISC */
/*
 * platform_test: plat_harden_process() turns core dumps off for the
 * process (RLIMIT_CORE 0, soft and hard) and for the tools it runs (a
 * shell started through subproc_run reports "ulimit -c" 0), and on Linux
 * makes the process non-dumpable (PR_GET_DUMPABLE 0).  The limits are
 * checked before the call too, so the test shows the call changed them.
 */
#include <sys/resource.h>
#include <sys/types.h>
#if defined(__linux__) && !defined(RV_PORTABLE)
#include <sys/prctl.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/platform.h"
#include "common/core/subproc.h"
#include "tests/unit/test.h"

int
main(void)
{
	char *const argv[] = { "sh", "-c", "ulimit -c", NULL };
	struct subproc_result res;
	struct rlimit rl = { 1024 * 1024, RLIM_INFINITY };

	/* start from core dumps allowed, whatever the test runner set */
	(void)getrlimit(RLIMIT_CORE, &rl);
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_CORE, &rl);
	CHECK("harden", plat_harden_process() == 0, "failed");
	CHECK("rlimit_core", getrlimit(RLIMIT_CORE, &rl) == 0 &&
	    rl.rlim_cur == 0 && rl.rlim_max == 0, "core limit %llu/%llu",
	    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
#if defined(__linux__) && !defined(RV_PORTABLE)
	CHECK("not_dumpable", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0,
	    "PR_GET_DUMPABLE %d", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
#endif
	CHECK("tool_no_core", subproc_run(argv, 256, 5000, NULL, false,
	    &res) == 0 && res.out != NULL && strcmp(res.out, "0\n") == 0,
	    "ulimit -c in the tool: \"%s\"", res.out != NULL ? res.out : "");
	subproc_result_clear(&res);
	return test_exit();
}
