/* SPDX-License-Identifier: ISC */
/*
 * cdp.c: a Chrome DevTools Protocol client over a pipe pair.
 *
 * Chromium started with --remote-debugging-pipe reads commands on its
 * descriptor 3 and writes answers and events on its descriptor 4, each
 * message one JSON object followed by a NUL byte (docs/PROTOCOLS.md).  A
 * command is {"id", "method", "params"} plus "sessionId" when it is meant
 * for an attached page (flatten sessions); its answer carries the same id
 * with "result" or "error".  Messages without an id are events; they are
 * queued (at most CDP_EVENTS_MAX, the oldest dropped) until a caller takes
 * the one it waits for, matched by method and session (NULL: browser
 * level, no sessionId).
 *
 * Every call has its own deadline: a page stuck in a busy loop never
 * answers, while the browser still does, and an answer that arrives after
 * its deadline is recognised by its id and dropped.  Every wait, reading
 * or writing, polls in slices of at most CDP_TICK_MS and ticks the
 * caller's progress with its current value after each slice: that sends
 * the heartbeat without claiming progress, so a frozen page shows up in
 * the supervisor as a renderer that is alive but not moving.  A progress
 * tick of -1 (STOP, supervisor gone) ends the wait with CDP_STOPPED.
 *
 * The browser's exit is noticed without reaping it (waitid with WNOWAIT):
 * its owner reaps it.  A message larger than CDP_MSG_MAX or one that is
 * not JSON is dropped and counted.  Nothing here logs; errors are
 * returned with a sentence in the caller's buffer.  The descriptors
 * belong to the caller, who closes them after cdp_clear().
 *
 * Public: cdp_init, cdp_clear, cdp_encode, cdp_feed, cdp_call,
 * cdp_wait_event, cdp_take_event, cdp_drop_events, cdp_pause.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/subproc.h"
#include "workers/render/cdp.h"

#define CDP_READ_CHUNK	65536

static int
set_nonblock(int fd)
{
	int fl;

	if (fd < 0 || (fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * Set up <c> over <wfd> (written) and <rfd> (read), both borrowed.  <peer>
 * (0: none) is the browser's pid, watched for exit; <prog> (may be NULL)
 * is ticked in every wait.
 */
void
cdp_init(struct cdp *c, int wfd, int rfd, pid_t peer, struct progress *prog)
{
	memset(c, 0, sizeof(*c));
	c->wfd = wfd;
	c->rfd = rfd;
	c->peer = peer;
	c->prog = prog;
	(void)set_nonblock(wfd);
	(void)set_nonblock(rfd);
}

/* Free what <c> holds; the descriptors stay open. */
void
cdp_clear(struct cdp *c)
{
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
	cJSON_Delete(c->answer);
	c->answer = NULL;
	cdp_drop_events(c);
}

/*
 * The wire form of one command: JSON and its terminating NUL, *lenp bytes
 * in all.  <session> may be NULL (browser level), <params> NULL (empty);
 * both borrowed.  Returns a string the caller frees, or NULL (ENOMEM).
 */
char *
cdp_encode(long long id, const char *session, const char *method,
    const cJSON *params, size_t *lenp)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "method", method);
	cJSON_AddItemToObject(o, "params", params != NULL ?
	    cJSON_Duplicate(params, true) : cJSON_CreateObject());
	if (session != NULL && session[0] != '\0')
		cJSON_AddStringToObject(o, "sessionId", session);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	*lenp = strlen(s) + 1;		/* the NUL frames the message */
	return s;
}

static void
queue_event(struct cdp *c, cJSON *ev)
{
	if (c->ev_n == CDP_EVENTS_MAX) {
		cJSON_Delete(c->ev[c->ev_head]);
		c->ev[c->ev_head] = NULL;
		c->ev_head = (c->ev_head + 1) % CDP_EVENTS_MAX;
		c->ev_n--;
		c->dropped++;
	}
	c->ev[(c->ev_head + c->ev_n) % CDP_EVENTS_MAX] = ev;
	c->ev_n++;
}

/* One complete message (NUL-terminated in c->buf). */
static void
dispatch(struct cdp *c)
{
	cJSON *m = cJSON_ParseWithLength(c->buf, c->len);
	const cJSON *id;

	if (m == NULL || !cJSON_IsObject(m)) {
		cJSON_Delete(m);
		c->dropped++;
		return;
	}
	id = cJSON_GetObjectItem(m, "id");
	if (cJSON_IsNumber(id)) {
		/* compared as doubles: any id, 1e300 too, is comparable */
		if (c->want_id != 0 && id->valuedouble ==
		    (double)c->want_id && c->answer == NULL)
			c->answer = m;
		else
			cJSON_Delete(m);	/* late, its call timed out */
		return;
	}
	if (cJSON_IsString(cJSON_GetObjectItem(m, "method"))) {
		queue_event(c, m);
		return;
	}
	cJSON_Delete(m);
	c->dropped++;
}

static int
buf_append(struct cdp *c, const char *p, size_t n)
{
	size_t ncap;
	char *nb;

	if (c->len + n + 1 > c->cap) {
		ncap = c->cap ? c->cap : 4096;
		while (ncap < c->len + n + 1)
			ncap *= 2;
		if ((nb = realloc(c->buf, ncap)) == NULL)
			return -1;
		c->buf = nb;
		c->cap = ncap;
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	c->buf[c->len] = '\0';
	return 0;
}

/*
 * Feed bytes read from the browser: split them at NUL bytes into messages
 * and dispatch each complete one.  A partial message waits for more.
 */
void
cdp_feed(struct cdp *c, const char *data, size_t n)
{
	const char *nul;
	size_t part;

	while (n > 0) {
		nul = memchr(data, '\0', n);
		part = nul != NULL ? (size_t)(nul - data) : n;
		if (!c->skipping && (c->len + part > CDP_MSG_MAX ||
		    buf_append(c, data, part) == -1)) {
			c->skipping = true;
			c->dropped++;
			c->len = 0;
		}
		if (nul == NULL)
			return;
		if (!c->skipping && c->len > 0)
			dispatch(c);
		c->skipping = false;
		c->len = 0;
		data += part + 1;
		n -= part + 1;
	}
}

/* Has the browser exited?  Looks without reaping it. */
static void
check_peer(struct cdp *c)
{
	siginfo_t si;

	if (c->peer <= 0 || c->peer_exited)
		return;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)c->peer, &si, WEXITED | WNOHANG | WNOWAIT) ==
	    -1 || si.si_pid != c->peer)
		return;
	c->peer_exited = true;
	c->peer_status = si.si_code == CLD_EXITED ? si.si_status :
	    128 + si.si_status;
}

/*
 * The pipe closed: give the browser's exit a moment to show, so the
 * report can say how it ended (the pipe closes before the exit status is
 * there).  At most CDP_TICK_MS.
 */
static void
settle_peer(struct cdp *c)
{
	int64_t end = clock_mono_ms() + CDP_TICK_MS;

	check_peer(c);
	while (c->peer > 0 && !c->peer_exited && clock_mono_ms() < end) {
		clock_sleep_ms(2);
		check_peer(c);
	}
}

/* Read what is there now.  Returns -1 on EOF or a read error. */
static int
read_some(struct cdp *c)
{
	char chunk[CDP_READ_CHUNK];
	ssize_t r;

	for (;;) {
		r = read(c->rfd, chunk, sizeof(chunk));
		if (r > 0) {
			cdp_feed(c, chunk, (size_t)r);
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return 0;
		return -1;
	}
}

/*
 * One slice of a wait: up to <ms> (at most CDP_TICK_MS) for input, with
 * <wevents> on the write side too, then the progress tick.
 */
static int
slice(struct cdp *c, int ms, short wevents)
{
	struct pollfd pf[2];
	nfds_t n = 1;

	if (ms > CDP_TICK_MS)
		ms = CDP_TICK_MS;
	if (ms < 0)
		ms = 0;
	pf[0].fd = c->rfd;
	pf[0].events = POLLIN;
	pf[0].revents = 0;
	if (wevents != 0) {
		pf[1].fd = c->wfd;
		pf[1].events = wevents;
		pf[1].revents = 0;
		n = 2;
	}
	if (!c->closed && poll(pf, n, ms) > 0 &&
	    (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
	    read_some(c) == -1)
		c->closed = true;
	check_peer(c);
	if (c->peer_exited && !c->closed) {
		(void)read_some(c);	/* what it wrote before it went */
		c->closed = true;
	}
	if (c->prog != NULL && progress_tick(c->prog, c->prog->value) == -1)
		return CDP_STOPPED;
	return CDP_OK;
}

static int
closed_err(struct cdp *c, const char *what, char *err, size_t errlen)
{
	settle_peer(c);
	if (c->peer_exited && c->peer_status > 128)
		snprintf(err, errlen, "%s: the browser died (signal %d)", what,
		    c->peer_status - 128);
	else if (c->peer_exited)
		snprintf(err, errlen, "%s: the browser exited (status %d)",
		    what, c->peer_status);
	else
		snprintf(err, errlen, "%s: the browser closed the DevTools "
		    "pipe", what);
	return CDP_CLOSED;
}

static int
write_all(struct cdp *c, const char *p, size_t n, int64_t deadline,
    const char *method, char *err, size_t errlen)
{
	ssize_t w;
	int rc;

	while (n > 0) {
		if (c->closed)
			return closed_err(c, method, err, errlen);
		w = write(c->wfd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno == EPIPE) {
			c->closed = true;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "%s: write: %s", method,
			    strerror(errno));
			return CDP_ERR;
		}
		if (clock_mono_ms() >= deadline) {
			snprintf(err, errlen, "%s: the browser does not read "
			    "its commands", method);
			return CDP_TIMEOUT;
		}
		if ((rc = slice(c, (int)(deadline - clock_mono_ms()),
		    POLLOUT)) != CDP_OK)
			return rc;
	}
	return CDP_OK;
}

static int
answer_rc(struct cdp *c, const char *method, cJSON **result, char *err,
    size_t errlen)
{
	const cJSON *e = cJSON_GetObjectItem(c->answer, "error");
	const char *msg;

	if (e != NULL) {
		msg = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
		snprintf(err, errlen, "%s: %s (code %d)", method,
		    msg != NULL ? msg : "error",
		    (int)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "code")));
		return CDP_ERR;
	}
	if (result != NULL) {
		*result = cJSON_DetachItemFromObject(c->answer, "result");
		if (*result == NULL)
			*result = cJSON_CreateObject();
	}
	return CDP_OK;
}

/*
 * Send <method> with <params> (ownership taken; NULL: empty) to <session>
 * (NULL: the browser) and wait for its answer until <timeout_ms>.  On
 * CDP_OK *result (when <result> is not NULL) is the answer's result
 * object, owned by the caller.  Otherwise a cdp_rc with <err> set.
 */
int
cdp_call(struct cdp *c, const char *session, const char *method,
    cJSON *params, int timeout_ms, cJSON **result, char *err, size_t errlen)
{
	int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	long long id = ++c->next_id;
	size_t len = 0;
	char *msg;
	int rc;

	if (result != NULL)
		*result = NULL;
	msg = cdp_encode(id, session, method, params, &len);
	cJSON_Delete(params);
	if (msg == NULL) {
		snprintf(err, errlen, "%s: out of memory", method);
		return CDP_ERR;
	}
	rc = write_all(c, msg, len, deadline, method, err, errlen);
	free(msg);
	if (rc != CDP_OK)
		return rc;
	cJSON_Delete(c->answer);
	c->answer = NULL;
	c->want_id = id;
	while (c->answer == NULL) {
		if (c->closed)
			rc = closed_err(c, method, err, errlen);
		else if (clock_mono_ms() >= deadline) {
			snprintf(err, errlen, "%s: no answer within %d ms",
			    method, timeout_ms);
			rc = CDP_TIMEOUT;
		} else
			rc = slice(c, (int)(deadline - clock_mono_ms()), 0);
		if (rc != CDP_OK) {
			c->want_id = 0;
			return rc;
		}
	}
	c->want_id = 0;
	rc = answer_rc(c, method, result, err, errlen);
	cJSON_Delete(c->answer);
	c->answer = NULL;
	return rc;
}

static bool
event_matches(const cJSON *ev, const char *session, const char *method)
{
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(ev,
	    "method"));
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(ev,
	    "sessionId"));

	if (m == NULL || strcmp(m, method) != 0)
		return false;
	if (session == NULL || session[0] == '\0')
		return s == NULL;
	return s != NULL && strcmp(s, session) == 0;
}

/*
 * Take the oldest queued event <method> of <session> (NULL: browser
 * level), without waiting.  Returns the whole message (caller owns it)
 * or NULL.
 */
cJSON *
cdp_take_event(struct cdp *c, const char *session, const char *method)
{
	size_t i, j, at, next;
	cJSON *ev;

	for (i = 0; i < c->ev_n; i++) {
		at = (c->ev_head + i) % CDP_EVENTS_MAX;
		if (!event_matches(c->ev[at], session, method))
			continue;
		ev = c->ev[at];
		for (j = i; j + 1 < c->ev_n; j++) {
			at = (c->ev_head + j) % CDP_EVENTS_MAX;
			next = (c->ev_head + j + 1) % CDP_EVENTS_MAX;
			c->ev[at] = c->ev[next];
		}
		c->ev[(c->ev_head + c->ev_n - 1) % CDP_EVENTS_MAX] = NULL;
		c->ev_n--;
		return ev;
	}
	return NULL;
}

/* Forget every queued event. */
void
cdp_drop_events(struct cdp *c)
{
	while (c->ev_n > 0) {
		cJSON_Delete(c->ev[c->ev_head]);
		c->ev[c->ev_head] = NULL;
		c->ev_head = (c->ev_head + 1) % CDP_EVENTS_MAX;
		c->ev_n--;
	}
	c->ev_head = 0;
}

/*
 * Wait until <timeout_ms> for the event <method> of <session>.  On CDP_OK
 * *params (when not NULL) is its params object, owned by the caller.
 */
int
cdp_wait_event(struct cdp *c, const char *session, const char *method,
    int timeout_ms, cJSON **params, char *err, size_t errlen)
{
	int64_t deadline = clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	cJSON *ev;
	int rc;

	if (params != NULL)
		*params = NULL;
	for (;;) {
		if ((ev = cdp_take_event(c, session, method)) != NULL) {
			if (params != NULL) {
				*params = cJSON_DetachItemFromObject(ev,
				    "params");
				if (*params == NULL)
					*params = cJSON_CreateObject();
			}
			cJSON_Delete(ev);
			return CDP_OK;
		}
		if (c->closed)
			return closed_err(c, method, err, errlen);
		if (clock_mono_ms() >= deadline) {
			snprintf(err, errlen, "%s: no event within %d ms",
			    method, timeout_ms);
			return CDP_TIMEOUT;
		}
		if ((rc = slice(c, (int)(deadline - clock_mono_ms()), 0)) !=
		    CDP_OK)
			return rc;
	}
}

/*
 * Let <ms> pass while reading (events are queued) and ticking.  Returns
 * CDP_OK, CDP_CLOSED or CDP_STOPPED.
 */
int
cdp_pause(struct cdp *c, int ms, char *err, size_t errlen)
{
	int64_t end = clock_mono_ms() + ms;
	int rc;

	do {
		if (c->closed)
			return closed_err(c, "wait", err, errlen);
		if ((rc = slice(c, (int)(end - clock_mono_ms()), 0)) != CDP_OK)
			return rc;
	} while (clock_mono_ms() < end);
	return CDP_OK;
}
