/* SPDX-License-Identifier: ISC */
/*
 * platform_test: plat_harden_process() turns core dumps off for the
 * process (RLIMIT_CORE 0, soft and hard) and for the tools it runs (a
 * shell started through subproc_run reports "ulimit -c" 0), and on Linux
 * makes the process non-dumpable (PR_GET_DUMPABLE 0).  The limits are
 * checked before the call too, so the test shows the call changed them.
 *
 * The process listing the supervisor kills trees with: a forked child A
 * with a child B, which has a grandchild C that called setsid() (another
 * session and process group, as a browser's crash handler does).  A is a
 * child of this process (plat_children_of), B and C are A's descendants
 * (plat_descendants), C a child of B, each with a start time, and after
 * they are killed none is alive any more (plat_proc_alive).  The portable
 * build runs the same checks without a subreaper.
 */
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#if defined(__linux__) && !defined(RV_PORTABLE)
#include <sys/prctl.h>
#endif

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/platform.h"
#include "common/core/subproc.h"
#include "tests/unit/test.h"

static bool
has(const pid_t *v, size_t n, pid_t p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == p)
			return true;
	return false;
}

/*
 * A: forks B, B forks C, which calls setsid() and only then reports its
 * pid (reported by B at fork time, C was sometimes checked before its
 * setsid had run); A reports "B C" on <fd> and pauses.
 */
static void
tree_a(int fd)
{
	pid_t b, c;
	int p[2];

	if (pipe(p) == -1 || (b = fork()) == -1)
		_exit(1);
	if (b == 0) {
		close(p[0]);
		if (fork() == 0) {
			(void)setsid();
			c = getpid();
			(void)write(p[1], &c, sizeof(c));
			for (;;)
				pause();
		}
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, sizeof(c)) != (ssize_t)sizeof(c))
		_exit(1);
	(void)write(fd, &b, sizeof(b));
	(void)write(fd, &c, sizeof(c));
	for (;;)
		pause();
}

static void
test_tree(void)
{
	pid_t a, b = -1, c = -1, kids[64], desc[64];
	unsigned long long st = 0;
	size_t nk, nd, nb;
	int p[2], i;

	if (pipe(p) == -1 || (a = fork()) == -1) {
		CHECK("tree_fork", false, "fork");
		return;
	}
	if (a == 0) {
		close(p[0]);
		(void)setpgid(0, 0);
		tree_a(p[1]);
	}
	close(p[1]);
	if (read(p[0], &b, sizeof(b)) != (ssize_t)sizeof(b) ||
	    read(p[0], &c, sizeof(c)) != (ssize_t)sizeof(c))
		b = c = -1;
	close(p[0]);
	nk = plat_children_of(getpid(), kids, 64);
	nd = plat_descendants(a, desc, 64);
	CHECK("children_of", has(kids, nk, a), "A %ld not among %zu children",
	    (long)a, nk);
	CHECK("descendants", b > 0 && c > 0 && nd == 2 && has(desc, nd, b) &&
	    has(desc, nd, c), "B %ld C %ld, %zu descendants", (long)b,
	    (long)c, nd);
	nb = plat_children_of(b, kids, 64);
	CHECK("escapee_child_of_b", nb == 1 && kids[0] == c,
	    "%zu children of B", nb);
	CHECK("escapee_own_session", c > 0 && getsid(c) == c &&
	    getpgid(c) != a && getpgid(b) == a, "sid %ld pgid %ld",
	    (long)getsid(c), (long)getpgid(c));
	CHECK("starttime", plat_proc_starttime(c, &st) == 0 && st > 0,
	    "no start time for C");
	CHECK("alive", plat_proc_alive(a) && plat_proc_alive(b) &&
	    plat_proc_alive(c), "not all alive");
	/* what the supervisor does: the group, then what the walk found */
	(void)kill(-a, SIGKILL);
	for (i = 0; i < (int)nd; i++)
		(void)kill(desc[i], SIGKILL);
	(void)waitpid(a, NULL, 0);
	for (i = 0; i < 500 && (plat_proc_alive(b) || plat_proc_alive(c));
	    i++)
		usleep(10000);
	CHECK("tree_killed", !plat_proc_alive(a) && !plat_proc_alive(b) &&
	    !plat_proc_alive(c), "a %d b %d c %d", plat_proc_alive(a),
	    plat_proc_alive(b), plat_proc_alive(c));
}

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
	test_tree();
	return test_exit();
}
