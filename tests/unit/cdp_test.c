/* SPDX-License-Identifier: ISC */
/*
 * cdp_test.c: unit tests for workers/render/cdp.c.  Framing (NUL-terminated
 * JSON, split and merged reads, oversized and broken messages), the event
 * queue (session matching, bound), and calls over real pipes against a
 * scripted fake browser process: answers, error answers, a late answer
 * after its deadline, a silent peer (timeout, with progress ticks at least
 * every 100 ms and no claimed progress), a stop through the progress, a
 * peer that exits (with and without the pipe staying open elsewhere), and
 * events with sessionId while a call waits.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/subproc.h"
#include "workers/render/cdp.h"
#include "tests/unit/test.h"

struct ticks {
	int		 calls;
	int		 stop_after;	/* 0: never */
	long long	 first_value;
	bool		 moved;		/* the value ever changed */
	int64_t		 last_ms, max_gap_ms;
};

static int
tick(void *arg, long long value)
{
	struct ticks *t = arg;
	int64_t now = clock_mono_ms();

	if (t->calls == 0)
		t->first_value = value;
	else if (now - t->last_ms > t->max_gap_ms)
		t->max_gap_ms = now - t->last_ms;
	if (value != t->first_value)
		t->moved = true;
	t->last_ms = now;
	t->calls++;
	return t->stop_after > 0 && t->calls >= t->stop_after ? -1 : 0;
}

static void
feed_str(struct cdp *c, const char *s)
{
	cdp_feed(c, s, strlen(s) + 1);
}

static void
test_encode(void)
{
	cJSON *p = cJSON_CreateObject(), *j;
	size_t len = 0;
	char *m;

	cJSON_AddStringToObject(p, "url", "about:blank");
	m = cdp_encode(7, "S1", "Page.navigate", p, &len);
	CHECK("encode", m != NULL && len == strlen(m) + 1, "len %zu", len);
	j = cJSON_Parse(m);
	CHECK("encode fields", j != NULL && cJSON_GetNumberValue(
	    cJSON_GetObjectItem(j, "id")) == 7 && strcmp(cJSON_GetStringValue(
	    cJSON_GetObjectItem(j, "method")), "Page.navigate") == 0 &&
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "sessionId")),
	    "S1") == 0 && cJSON_GetObjectItem(cJSON_GetObjectItem(j,
	    "params"), "url") != NULL, "%s", m);
	cJSON_Delete(j);
	free(m);
	m = cdp_encode(8, NULL, "Browser.getVersion", NULL, &len);
	j = cJSON_Parse(m);
	CHECK("encode browser level", j != NULL && !cJSON_HasObjectItem(j,
	    "sessionId") && cJSON_IsObject(cJSON_GetObjectItem(j, "params")),
	    "%s", m);
	cJSON_Delete(j);
	free(m);
	cJSON_Delete(p);
}

static void
test_framing(void)
{
	const char *two = "{\"method\":\"A.one\",\"params\":{}}\0"
	    "{\"method\":\"A.two\",\"sessionId\":\"S\",\"params\":{\"n\":2}}";
	const char *msg = "{\"method\":\"B.split\",\"params\":{\"x\":1}}";
	struct cdp c;
	cJSON *e;
	size_t i;

	cdp_init(&c, -1, -1, 0, NULL);
	cdp_feed(&c, two, strlen(two) + 1 + strlen(two + strlen(two) + 1) +
	    1);
	CHECK("two messages in one read", c.ev_n == 2, "%zu", c.ev_n);
	for (i = 0; i <= strlen(msg); i++)
		cdp_feed(&c, msg + i, 1);
	CHECK("one message byte by byte", c.ev_n == 3, "%zu", c.ev_n);
	CHECK("session event not browser level", cdp_take_event(&c, NULL,
	    "A.two") == NULL, "matched");
	e = cdp_take_event(&c, "S", "A.two");
	CHECK("session event", e != NULL && cJSON_GetNumberValue(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(e, "params"), "n")) == 2,
	    "missing");
	cJSON_Delete(e);
	e = cdp_take_event(&c, "S", "A.one");
	CHECK("browser event not a session's", e == NULL, "matched");
	e = cdp_take_event(&c, NULL, "A.one");
	CHECK("browser event", e != NULL, "missing");
	cJSON_Delete(e);
	feed_str(&c, "this is not json");
	feed_str(&c, "{\"id\":99,\"result\":{}}");
	CHECK("garbage and stray answers dropped", c.ev_n == 1 &&
	    c.dropped == 1, "ev %zu dropped %zu", c.ev_n, c.dropped);
	/* An id no long long holds is no answer (UBSan: no cast of it). */
	c.want_id = 1;
	feed_str(&c, "{\"id\":1e300,\"result\":{}}");
	feed_str(&c, "{\"id\":-9.5e18,\"result\":{}}");
	CHECK("answer with an out-of-range id ignored", c.answer == NULL,
	    "taken");
	feed_str(&c, "{\"id\":1,\"result\":{}}");
	CHECK("the awaited answer still taken", c.answer != NULL, "missing");
	c.want_id = 0;
	cdp_clear(&c);
}

static void
test_oversized(void)
{
	struct cdp c;
	char *big = malloc(CDP_MSG_MAX + 16);
	cJSON *e;

	memset(big, 'x', CDP_MSG_MAX + 8);
	cdp_init(&c, -1, -1, 0, NULL);
	cdp_feed(&c, big, CDP_MSG_MAX + 8);
	cdp_feed(&c, "\0", 1);
	feed_str(&c, "{\"method\":\"C.after\",\"params\":{}}");
	e = cdp_take_event(&c, NULL, "C.after");
	CHECK("oversized message dropped, next parsed", e != NULL &&
	    c.dropped == 1 && c.len == 0, "dropped %zu", c.dropped);
	cJSON_Delete(e);
	free(big);
	cdp_clear(&c);
}

static void
test_queue_bound(void)
{
	char m[96];
	struct cdp c;
	cJSON *e;
	int i;

	cdp_init(&c, -1, -1, 0, NULL);
	for (i = 0; i < CDP_EVENTS_MAX + 10; i++) {
		snprintf(m, sizeof(m), "{\"method\":\"Q.ev\",\"params\":"
		    "{\"i\":%d}}", i);
		feed_str(&c, m);
	}
	e = cdp_take_event(&c, NULL, "Q.ev");
	CHECK("queue bounded, oldest dropped", c.ev_n == CDP_EVENTS_MAX - 1 &&
	    e != NULL && cJSON_GetNumberValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(e, "params"), "i")) == 10,
	    "n %zu", c.ev_n);
	cJSON_Delete(e);
	cdp_drop_events(&c);
	CHECK("drop events", c.ev_n == 0, "%zu", c.ev_n);
	cdp_clear(&c);
}

/* ---- a scripted fake browser on the other end of two pipes ---- */

static void
fake_write(int fd, const char *s, bool slowly)
{
	size_t n = strlen(s) + 1, i;

	if (!slowly) {
		if (write(fd, s, n) != (ssize_t)n)
			_exit(9);
		return;
	}
	for (i = 0; i < n; i++) {
		if (write(fd, s + i, 1) != 1)
			_exit(9);
		if (i % 8 == 0)
			usleep(1000);
	}
}

static void
fake_answer(int out, const cJSON *cmd)
{
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(cmd,
	    "method"));
	long long id = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(
	    cmd, "id"));
	char buf[512];

	if (strcmp(m, "T.silent") == 0)
		return;
	if (strcmp(m, "T.exit") == 0)
		_exit(3);
	if (strcmp(m, "T.exitkeep") == 0) {
		if (fork() == 0) {
			sleep(3);
			_exit(0);
		}
		_exit(4);
	}
	if (strcmp(m, "T.late") == 0)
		usleep(300000);
	if (strcmp(m, "T.event") == 0) {
		fake_write(out, "{\"method\":\"T.other\",\"sessionId\":\"X\","
		    "\"params\":{}}", false);
		fake_write(out, "{\"method\":\"T.happened\",\"sessionId\":"
		    "\"S\",\"params\":{\"k\":5}}", false);
	}
	if (strcmp(m, "T.error") == 0)
		snprintf(buf, sizeof(buf), "{\"id\":%lld,\"error\":{\"code\":"
		    "-32000,\"message\":\"No node with given id\"}}", id);
	else
		snprintf(buf, sizeof(buf), "{\"id\":%lld,\"result\":{\"echo\":"
		    "\"%s\"}}", id, m);
	fake_write(out, buf, strcmp(m, "T.split") == 0);
}

static void __attribute__((noreturn))
fake_browser(int in, int out)
{
	char buf[65536], *nul;
	size_t len = 0;
	ssize_t r;
	cJSON *cmd;

	for (;;) {
		r = read(in, buf + len, sizeof(buf) - len - 1);
		if (r <= 0)
			_exit(0);
		len += (size_t)r;
		while ((nul = memchr(buf, '\0', len)) != NULL) {
			if ((cmd = cJSON_Parse(buf)) != NULL)
				fake_answer(out, cmd);
			cJSON_Delete(cmd);
			len -= (size_t)(nul - buf) + 1;
			memmove(buf, nul + 1, len);
		}
	}
}

struct fake {
	pid_t	pid;
	int	wfd, rfd;
};

static void
fake_start(struct fake *f)
{
	int cmd[2], res[2];

	if (pipe(cmd) == -1 || pipe(res) == -1)
		abort();
	if ((f->pid = fork()) == 0) {
		close(cmd[1]);
		close(res[0]);
		fake_browser(cmd[0], res[1]);
	}
	close(cmd[0]);
	close(res[1]);
	f->wfd = cmd[1];
	f->rfd = res[0];
}

static void
fake_stop(struct fake *f)
{
	close(f->wfd);
	close(f->rfd);
	(void)kill(f->pid, SIGKILL);
	(void)waitpid(f->pid, NULL, 0);
}

static void
test_calls(void)
{
	struct ticks t = { 0 };
	struct progress prog = { tick, &t, 41 };
	char err[256];
	cJSON *res = NULL, *ev = NULL;
	struct fake f;
	struct cdp c;
	int rc;

	fake_start(&f);
	cdp_init(&c, f.wfd, f.rfd, f.pid, &prog);
	rc = cdp_call(&c, NULL, "T.hello", NULL, 2000, &res, err, sizeof(err));
	CHECK("call answered", rc == CDP_OK && strcmp(cJSON_GetStringValue(
	    cJSON_GetObjectItem(res, "echo")), "T.hello") == 0, "%s", err);
	cJSON_Delete(res);
	rc = cdp_call(&c, "S", "T.split", NULL, 2000, &res, err, sizeof(err));
	CHECK("answer in pieces", rc == CDP_OK, "%s", err);
	cJSON_Delete(res);
	rc = cdp_call(&c, NULL, "T.error", NULL, 2000, NULL, err, sizeof(err));
	CHECK("error answer", rc == CDP_ERR && strstr(err,
	    "No node with given id") != NULL && strstr(err, "-32000") != NULL,
	    "rc %d %s", rc, err);
	rc = cdp_call(&c, "S", "T.event", NULL, 2000, NULL, err, sizeof(err));
	rc = rc == CDP_OK ? cdp_wait_event(&c, "S", "T.happened", 500, &ev,
	    err, sizeof(err)) : rc;
	CHECK("session event queued during a call", rc == CDP_OK &&
	    cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "k")) == 5, "%s",
	    err);
	cJSON_Delete(ev);
	rc = cdp_wait_event(&c, "S", "T.other", 150, NULL, err, sizeof(err));
	CHECK("another session's event is not ours", rc == CDP_TIMEOUT,
	    "rc %d", rc);
	cdp_clear(&c);
	fake_stop(&f);
}

/* Deadlines, late answers, stops and a peer that exits. */
static void
test_waits(void)
{
	struct ticks t = { 0 };
	struct progress prog = { tick, &t, 41 };
	char err[256];
	cJSON *res = NULL;
	struct fake f;
	struct cdp c;
	int rc;

	fake_start(&f);
	cdp_init(&c, f.wfd, f.rfd, f.pid, &prog);
	rc = cdp_call(&c, NULL, "T.late", NULL, 100, NULL, err, sizeof(err));
	CHECK("late answer times out", rc == CDP_TIMEOUT, "rc %d", rc);
	rc = cdp_call(&c, NULL, "T.next", NULL, 2000, &res, err, sizeof(err));
	CHECK("late answer dropped, next call gets its own", rc == CDP_OK &&
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(res, "echo")),
	    "T.next") == 0, "%s", err);
	cJSON_Delete(res);
	t.calls = 0;
	t.max_gap_ms = 0;
	rc = cdp_call(&c, NULL, "T.silent", NULL, 1500, NULL, err,
	    sizeof(err));
	CHECK("silent peer: timeout", rc == CDP_TIMEOUT, "rc %d", rc);
	/*
	 * The wait ticks every 100 ms; a loaded machine may stretch a gap
	 * by a few hundred ms (150 ms seen in CI), but a wait that does not
	 * tick would leave one gap of the whole 1500 ms.
	 */
	CHECK("ticks while it waits", t.calls >= 3 && t.max_gap_ms <= 750,
	    "%d ticks, max gap %lld ms", t.calls, (long long)t.max_gap_ms);
	CHECK("waiting claims no progress", !t.moved && prog.value == 41,
	    "value %lld", prog.value);
	t.calls = 0;
	t.stop_after = 3;
	rc = cdp_call(&c, NULL, "T.silent", NULL, 5000, NULL, err, sizeof(err));
	CHECK("stop through the progress", rc == CDP_STOPPED, "rc %d", rc);
	t.stop_after = 0;
	rc = cdp_call(&c, NULL, "T.exit", NULL, 3000, NULL, err, sizeof(err));
	CHECK("peer exit noticed", rc == CDP_CLOSED && c.peer_exited &&
	    c.peer_status == 3 && strstr(err, "status 3") != NULL, "rc %d %s",
	    rc, err);
	rc = cdp_call(&c, NULL, "T.more", NULL, 500, NULL, err, sizeof(err));
	CHECK("closed stays closed", rc == CDP_CLOSED, "rc %d", rc);
	cdp_clear(&c);
	fake_stop(&f);
}

/* The browser dies while another process keeps its end of the pipe. */
static void
test_exit_without_eof(void)
{
	char err[256];
	struct fake f;
	struct cdp c;
	int64_t t0;
	int rc;

	fake_start(&f);
	cdp_init(&c, f.wfd, f.rfd, f.pid, NULL);
	t0 = clock_mono_ms();
	rc = cdp_call(&c, NULL, "T.exitkeep", NULL, 2500, NULL, err,
	    sizeof(err));
	CHECK("exit seen without EOF", rc == CDP_CLOSED && c.peer_status ==
	    4 && clock_mono_ms() - t0 < 1000, "rc %d after %lld ms: %s", rc,
	    (long long)(clock_mono_ms() - t0), err);
	cdp_clear(&c);
	fake_stop(&f);
}

static void
test_killed(void)
{
	char err[256];
	struct fake f;
	struct cdp c;
	int rc;

	fake_start(&f);
	cdp_init(&c, f.wfd, f.rfd, f.pid, NULL);
	(void)kill(f.pid, SIGKILL);
	rc = cdp_wait_event(&c, NULL, "T.never", 3000, NULL, err, sizeof(err));
	CHECK("killed browser", rc == CDP_CLOSED && strstr(err, "signal 9") !=
	    NULL, "rc %d %s", rc, err);
	cdp_clear(&c);
	fake_stop(&f);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_encode();
	test_framing();
	test_oversized();
	test_queue_bound();
	test_calls();
	test_waits();
	test_exit_without_eof();
	test_killed();
	return test_exit();
}
