/* SPDX-License-Identifier: ISC */
/*
 * subproc_test.c: unit tests for common/core/subproc.c with real processes:
 * exit codes and signals, exec failure, stdout capture and cap, stderr
 * tail, timeout kill, stop through the progress, ffmpeg progress parsing,
 * descriptor hygiene, process group, signal mask, and no zombie left.
 * The tool's environment is scrubbed: secrets and other variables of the
 * caller do not reach it, PATH and HOME do, and the tool is still found
 * in PATH.
 * The liveness primitive: a tool that blocks (sleeps, writes nothing)
 * still gets the progress ticked at least every PROGRESS_TICK_MS, and so
 * does progress_sleep(); a stop cuts a pause short.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/clock.h"
#include "common/core/subproc.h"
#include "tests/unit/test.h"

struct tick_ctx {
	int		 calls;
	int		 stop_after;	/* 0: never stop */
	long long	 last;
	bool		 decreased;
	int64_t		 first_ms, last_ms;
	int64_t		 max_gap;	/* longest time between two ticks */
};

/*
 * A wait that keeps ticking never leaves a gap near its own length; a
 * loaded machine may delay a tick by a few hundred ms (a CI run saw a
 * first tick at 201 ms), which is far inside the supervisor's liveness
 * window (RAYVAULT_CHILD_HEARTBEAT_MS, 1 s, times the misses allowed).
 * So the bounds below are TICK_GAP_MAX, the same as in ffprobe_test.c;
 * a wait that does not tick at all still fails them.
 */
#define TICK_GAP_MAX	(5 * PROGRESS_TICK_MS)

static int
count_tick(void *arg, long long value)
{
	struct tick_ctx *t = arg;

	if (value < t->last)
		t->decreased = true;
	t->last = value;
	if (t->calls > 0 && clock_mono_ms() - t->last_ms > t->max_gap)
		t->max_gap = clock_mono_ms() - t->last_ms;
	t->last_ms = clock_mono_ms();
	if (t->calls++ == 0)
		t->first_ms = t->last_ms;
	if (t->stop_after > 0 && t->calls >= t->stop_after)
		return -1;
	return 0;
}

static int
run_sh(const char *script, size_t outmax, long timeout_ms,
    struct progress *p, bool parse, struct subproc_result *res)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };

	return subproc_run(argv, outmax, timeout_ms, p, parse, res);
}

static void
test_exit_codes(void)
{
	struct subproc_result res;
	char *argv_true[] = { "true", NULL };
	int r;

	r = subproc_run(argv_true, 0, 5000, NULL, false, &res);
	CHECK("exit0", r == 0 && res.status == 0 && res.out == NULL,
	    "r=%d status=%d", r, res.status);
	subproc_result_clear(&res);
	r = run_sh("exit 3", 0, 5000, NULL, false, &res);
	CHECK("exit3", r == 0 && res.status == 3, "r=%d status=%d", r,
	    res.status);
	r = run_sh("kill -TERM $$; sleep 5", 0, 5000, NULL, false, &res);
	CHECK("signal", r == 0 && res.status == 128 + SIGTERM &&
	    !res.timed_out, "r=%d status=%d", r, res.status);
}

static void
test_exec_fail(void)
{
	struct subproc_result res;
	char *argv[] = { "rv-no-such-tool-zz", NULL };
	int r;

	errno = 0;
	r = subproc_run(argv, 64, 5000, NULL, false, &res);
	CHECK("exec_fail", r == -1 && errno == ENOENT && res.status == -1 &&
	    res.out == NULL, "r=%d errno=%d status=%d", r, errno,
	    res.status);
}

static void
test_capture(void)
{
	struct subproc_result res;
	int r;

	r = run_sh("printf hello; printf oops >&2", 64, 5000, NULL, false,
	    &res);
	CHECK("capture", r == 0 && res.status == 0 && res.outlen == 5 &&
	    res.out != NULL && strcmp(res.out, "hello") == 0 &&
	    strcmp(res.errtail, "oops") == 0, "out=%s err=%s",
	    res.out ? res.out : "(null)", res.errtail);
	subproc_result_clear(&res);

	/* 200 KB of output against a 1000-byte cap: capped, not blocked. */
	r = run_sh("head -c 200000 /dev/zero | tr '\\000' a", 1000, 10000,
	    NULL, false, &res);
	CHECK("stdout_cap", r == 0 && res.status == 0 &&
	    res.outlen == 1000 && strlen(res.out) == 1000 &&
	    res.out[999] == 'a', "r=%d status=%d outlen=%zu", r, res.status,
	    res.outlen);
	subproc_result_clear(&res);

	r = run_sh("cat", 64, 5000, NULL, false, &res);
	CHECK("stdin_devnull", r == 0 && res.status == 0 && res.outlen == 0,
	    "r=%d status=%d", r, res.status);
	subproc_result_clear(&res);
}

static void
test_errtail(void)
{
	struct subproc_result res;
	size_t n;
	int r;

	r = run_sh("i=0; while [ $i -lt 300 ]; do echo line$i >&2; "
	    "i=$((i+1)); done", 0, 10000, NULL, false, &res);
	n = strlen(res.errtail);
	CHECK("errtail", r == 0 && n == sizeof(res.errtail) - 1 &&
	    n >= 8 && strcmp(res.errtail + n - 8, "line299\n") == 0,
	    "len=%zu tail=...%s", n, n > 20 ? res.errtail + n - 20 : "");
}

static void
test_timeout(void)
{
	struct subproc_result res;
	char *argv[] = { "sleep", "10", NULL };
	int64_t t0, dt;
	int r;

	t0 = clock_mono_ms();
	r = subproc_run(argv, 0, 300, NULL, false, &res);
	dt = clock_mono_ms() - t0;
	CHECK("timeout", r == 0 && res.timed_out &&
	    res.status == 128 + SIGKILL && dt >= 290 && dt < 2000,
	    "r=%d timed_out=%d status=%d dt=%lld", r, res.timed_out,
	    res.status, (long long)dt);
}

static void
test_stop(void)
{
	struct tick_ctx t = { .stop_after = 3 };
	struct progress p = { count_tick, &t, 0 };
	struct subproc_result res;
	char *argv[] = { "sleep", "10", NULL };
	int64_t t0, dt;
	int r;

	t0 = clock_mono_ms();
	r = subproc_run(argv, 0, 0, &p, false, &res);
	dt = clock_mono_ms() - t0;
	CHECK("stop", r == 0 && res.stopped && !res.timed_out &&
	    res.status == 128 + SIGKILL && t.calls == 3 && dt >= 250 &&
	    dt < 5000, "r=%d stopped=%d status=%d calls=%d dt=%lld", r,
	    res.stopped, res.status, t.calls, (long long)dt);
}

static void
test_stop_final(void)
{
	struct tick_ctx t = { .stop_after = 1 };
	struct progress p = { count_tick, &t, 0 };
	struct subproc_result res;
	char *argv[] = { "true", NULL };
	int r;

	/* Done before the first 100 ms tick: the stop is still reported. */
	r = subproc_run(argv, 0, 5000, &p, false, &res);
	CHECK("stop_final", r == 0 && res.stopped && res.status == 0 &&
	    t.calls == 1, "r=%d stopped=%d status=%d calls=%d", r,
	    res.stopped, res.status, t.calls);
}

static void
test_ticks(void)
{
	struct tick_ctx t = { 0 };
	struct progress p = { count_tick, &t, 0 };
	struct subproc_result res;
	char *argv[] = { "sleep", "0.6", NULL };
	int r;

	r = subproc_run(argv, 0, 5000, &p, false, &res);
	/*
	 * ~6 ticks in 600 ms, plus the final one; never more than one per
	 * PROGRESS_TICK_MS (no busy ticking), however loaded the machine.
	 */
	CHECK("ticks", r == 0 && res.status == 0 &&
	    t.calls >= 600 / TICK_GAP_MAX && t.calls <= 9 && !t.decreased &&
	    t.max_gap <= TICK_GAP_MAX, "calls=%d max_gap=%lld", t.calls,
	    (long long)t.max_gap);
}

/*
 * The liveness primitive: a tool that blocks for a second without a byte
 * of output must not leave the caller silent.  Ticks come at least every
 * PROGRESS_TICK_MS (TICK_GAP_MAX for a loaded machine), from the start of
 * the call to its end, and the value does not move (alive, not moving).
 */
static void
test_blocked_ticks(void)
{
	struct tick_ctx t = { 0 };
	struct progress p = { count_tick, &t, 42 };
	struct subproc_result res;
	char *argv[] = { "sleep", "1", NULL };
	int64_t t0, dt;
	int r;

	t0 = clock_mono_ms();
	r = subproc_run(argv, 0, 10000, &p, false, &res);
	dt = clock_mono_ms() - t0;
	CHECK("blocked_ticks", r == 0 && res.status == 0 &&
	    t.calls >= dt / TICK_GAP_MAX &&
	    t.first_ms - t0 <= TICK_GAP_MAX && t.max_gap <= TICK_GAP_MAX &&
	    clock_mono_ms() - t.last_ms <= TICK_GAP_MAX &&
	    t.last == 42 && !t.decreased, "calls=%d first=%lld max_gap=%lld "
	    "dt=%lld last=%lld", t.calls, (long long)(t.first_ms - t0),
	    (long long)t.max_gap, (long long)dt, t.last);
}

static void
test_progress_sleep(void)
{
	struct tick_ctx t = { 0 }, s = { .stop_after = 2 };
	struct progress p = { count_tick, &t, 7 };
	struct progress ps = { count_tick, &s, 0 };
	int64_t t0, dt;
	int r;

	t0 = clock_mono_ms();
	r = progress_sleep(&p, 1000);
	dt = clock_mono_ms() - t0;
	CHECK("sleep_ticks", r == 0 && dt >= 1000 &&
	    dt < 1000 + 2 * TICK_GAP_MAX && t.calls >= dt / TICK_GAP_MAX &&
	    t.max_gap <= TICK_GAP_MAX && t.first_ms - t0 <= TICK_GAP_MAX &&
	    t.last == 7,
	    "r=%d dt=%lld calls=%d max_gap=%lld", r, (long long)dt, t.calls,
	    (long long)t.max_gap);

	t0 = clock_mono_ms();
	r = progress_sleep(&ps, 5000);
	dt = clock_mono_ms() - t0;
	CHECK("sleep_stop", r == -1 && s.calls == 2 && dt < 1000,
	    "r=%d calls=%d dt=%lld", r, s.calls, (long long)dt);

	t0 = clock_mono_ms();
	r = progress_sleep(NULL, 150);
	dt = clock_mono_ms() - t0;
	CHECK("sleep_null", r == 0 && dt >= 150 && dt < 1000, "r=%d dt=%lld",
	    r, (long long)dt);
}

static void
test_progress_parse(void)
{
	struct tick_ctx t = { 0 };
	struct progress p = { count_tick, &t, 42 };
	struct subproc_result res;
	int r;

	r = run_sh("printf 'frame=1\\nout_time_us=500000\\n"
	    "total_size=1000\\nprogress=continue\\nhello world\\n'; "
	    "sleep 0.25; printf 'out_time_ms=1000000\\nout_time_us=N/A\\n"
	    "total_size=900\\nprogress=end\\n'", 4096, 5000, &p, true, &res);
	CHECK("progress_parse", r == 0 && res.status == 0 &&
	    res.out != NULL && strcmp(res.out, "hello world\n") == 0 &&
	    p.value == 42 + 1000000 + 1000 && !t.decreased,
	    "out=%s value=%lld", res.out ? res.out : "(null)", p.value);
	subproc_result_clear(&res);

	/* Without parsing, the counter follows bytes of output. */
	p.value = 10;
	r = run_sh("printf 'out_time_us=5\\n'", 4096, 5000, &p, false, &res);
	CHECK("progress_bytes", r == 0 && res.out != NULL &&
	    strcmp(res.out, "out_time_us=5\n") == 0 && p.value == 10 + 14,
	    "out=%s value=%lld", res.out ? res.out : "(null)", p.value);
	subproc_result_clear(&res);
}

static void
test_fds_and_group(void)
{
	struct subproc_result res;
	char want[32], fdname[16];
	int fd, r;

	/* A descriptor without close-on-exec must not reach the child. */
	if ((fd = open("/dev/null", O_RDONLY)) == -1 || dup2(fd, 50) == -1) {
		CHECK("fds", 0, "open: %s", strerror(errno));
		return;
	}
	close(fd);
	fd = 50;
	r = run_sh("for f in /proc/$$/fd/*; do printf '%s ' ${f##*/}; done",
	    256, 5000, NULL, false, &res);
	snprintf(fdname, sizeof(fdname), " %d ", fd);
	CHECK("fds_closed", r == 0 && res.out != NULL &&
	    strncmp(res.out, "0 1 2 ", 6) == 0 &&
	    strstr(res.out, fdname) == NULL, "child fds: %s (leaked %d)",
	    res.out ? res.out : "(null)", fd);
	subproc_result_clear(&res);
	close(50);

	r = run_sh("cut -d' ' -f5 /proc/$$/stat", 64, 5000, NULL, false,
	    &res);
	snprintf(want, sizeof(want), "%ld\n", (long)getpgrp());
	CHECK("same_pgrp", r == 0 && res.out != NULL &&
	    strcmp(res.out, want) == 0, "child pgrp %s, ours %s",
	    res.out ? res.out : "(null)", want);
	subproc_result_clear(&res);
}

static void
test_sigmask(void)
{
	struct subproc_result res;
	sigset_t set, old;
	int r;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &old);
	r = run_sh("kill -TERM $$; sleep 3", 0, 5000, NULL, false, &res);
	sigprocmask(SIG_SETMASK, &old, NULL);
	CHECK("sigmask_reset", r == 0 && res.status == 128 + SIGTERM,
	    "status=%d", res.status);
}

static void
test_grandchild(void)
{
	struct subproc_result res;
	int64_t t0, dt;
	int r;

	/*
	 * A background grandchild keeps the pipes open; we must not wait
	 * for it (10 s: far from the bound, however loaded the machine).
	 */
	t0 = clock_mono_ms();
	r = run_sh("sleep 10 & echo done", 64, 20000, NULL, false, &res);
	dt = clock_mono_ms() - t0;
	CHECK("grandchild", r == 0 && res.status == 0 && dt < 5000 &&
	    res.out != NULL && strcmp(res.out, "done\n") == 0,
	    "status=%d dt=%lld", res.status, (long long)dt);
	subproc_result_clear(&res);
}

static void
test_no_zombie(void)
{
	pid_t r;

	r = waitpid(-1, NULL, WNOHANG);
	CHECK("no_zombie", r == -1 && errno == ECHILD,
	    "waitpid(-1) = %ld (%s): a child was left behind", (long)r,
	    r == -1 ? strerror(errno) : "unreaped");
}

static int
env_has(const char *out, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = out; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return 1;
	return 0;
}

static void
test_tool_env(void)
{
	char dir[] = "/tmp/rv-subproc-env.XXXXXX", tool[128], path[4096];
	char *const argv[] = { "rv-env-tool", NULL };
	const char *oldpath = getenv("PATH");
	struct subproc_result res;
	FILE *fp;
	int r;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(tool, sizeof(tool), "%s/rv-env-tool", dir);
	if ((fp = fopen(tool, "w")) == NULL)
		return;
	fputs("#!/bin/sh\nexec env\n", fp);
	fclose(fp);
	chmod(tool, 0755);
	snprintf(path, sizeof(path), "%s:%s", dir, oldpath != NULL ? oldpath :
	    "/usr/bin:/bin");
	setenv("PATH", path, 1);
	setenv("HOME", "/tmp", 1);
	setenv("SUPABASE_SERVICE_KEY", "service-key-secret", 1);
	setenv("TELEGRAM_BOT_TOKEN", "123:bot-secret", 1);
	setenv("RV_SUBPROC_TEST_OTHER", "x", 1);
	r = subproc_run(argv, 65536, 5000, NULL, false, &res);
	CHECK("tool_env_ran", r == 0 && res.status == 0 && res.out != NULL,
	    "r %d status %d: %s", r, res.status, res.errtail);
	if (r == 0 && res.out != NULL) {
		CHECK("tool_env_no_secrets", strstr(res.out, "secret") ==
		    NULL && !env_has(res.out, "SUPABASE_SERVICE_KEY") &&
		    !env_has(res.out, "TELEGRAM_BOT_TOKEN"),
		    "the tool saw:\n%s", res.out);
		CHECK("tool_env_scrubbed", !env_has(res.out,
		    "RV_SUBPROC_TEST_OTHER"), "the tool saw:\n%s", res.out);
		CHECK("tool_env_kept", env_has(res.out, "PATH") &&
		    env_has(res.out, "HOME"), "the tool saw:\n%s", res.out);
	}
	subproc_result_clear(&res);
	unsetenv("SUPABASE_SERVICE_KEY");
	unsetenv("TELEGRAM_BOT_TOKEN");
	unsetenv("RV_SUBPROC_TEST_OTHER");
	if (oldpath != NULL)
		setenv("PATH", strchr(path, ':') + 1, 1);
	unlink(tool);
	rmdir(dir);
}

/*
 * subproc_environ_set: a name given replaces its entry (and only an
 * entry of exactly that name), a new one is added, the rest keep their
 * order; the result is one entry a name.
 */
static void
test_environ_set(void)
{
	char **e, *base[] = { "PATH=/bin", "TMPDIR=/tmp", "TMPDIRX=keep",
	    "HOME=/root", NULL };
	char *const vars[] = { "TMPDIR=/state/tmp/x", "NEW=1", NULL };
	char got[256] = "";
	size_t i;

	if ((e = calloc(5, sizeof(*e))) == NULL)
		return;
	memcpy(e, base, sizeof(base));
	e = subproc_environ_set(e, vars);
	for (i = 0; e != NULL && e[i] != NULL; i++) {
		(void)strlcat(got, e[i], sizeof(got));
		(void)strlcat(got, " ", sizeof(got));
	}
	CHECK("environ_set", e != NULL && strcmp(got, "PATH=/bin "
	    "TMPDIRX=keep HOME=/root TMPDIR=/state/tmp/x NEW=1 ") == 0,
	    "got \"%s\"", got);
	free(e);
}

int
main(void)
{
	test_environ_set();
	test_exit_codes();
	test_exec_fail();
	test_tool_env();
	test_capture();
	test_errtail();
	test_timeout();
	test_stop();
	test_stop_final();
	test_ticks();
	test_blocked_ticks();
	test_progress_sleep();
	test_progress_parse();
	test_fds_and_group();
	test_sigmask();
	test_grandchild();
	test_no_zombie();
	return test_exit();
}
