/* SPDX-License-Identifier: ISC */
/*
 * dash_api.c: the dashboard's machine answers.
 *
 * /healthz: {"ok":true,"store":"up|down","supervisor":"running|stopped"},
 * no session needed and no data.  /api/status, /api/runs and
 * /api/runs/<run_id>/events: the JSON of rvctl status, runs and events
 * --json, made by the same functions (ctl_status_json, ctl_run_json, the
 * store's event list).
 *
 * /events: Server-Sent Events.  One watcher thread looks for changes
 * every 500 ms on the embedded store and every 2 s on Supabase: it lists
 * the runs through the store door and compares what an operator sees of
 * them (status, worker state, gate, decision, epoch, lock) and whether
 * the supervisor runs and the store answers; a difference is a new
 * state with the next event id.  Each /events reader waits on a
 * condition variable for a new id (no polling of its own), sends it as
 * "event: change" with the id, and a ": keepalive" comment when nothing
 * changed for 15 s.  A reconnect with a Last-Event-ID other than the
 * current id gets the current state at once.  A reader also looks once
 * a second whether its client closed the connection (its place is then
 * free at once, not at the next keepalive).  Idle, the process wakes
 * only for the watcher's look and those checks.
 *
 * Public: dash_healthz, dash_api, dash_watch_start, dash_watch_stop,
 * dash_sse_response.
 */
#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/core/ids.h"
#include "common/core/runtime.h"
#include "ctl/dash.h"
#include "ctl/mhd_dl.h"
#include "ipc/proto.h"

#define SSE_RUNS_MAX	200	/* runs in one change event */

static void
json_resp(struct dash_resp *r, unsigned status, cJSON *j)
{
	char *txt = j != NULL ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	r->status = status;
	r->ctype = "application/json";
	if (txt == NULL) {
		r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		txt = strdup("{\"error\":\"out of memory\"}");
	}
	db_raw(&r->b, txt != NULL ? txt : "");
	free(txt);
	db_raw(&r->b, "\n");
}

static cJSON *
json_error(const char *msg)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "error", msg);
	return j;
}

void
dash_healthz(struct dash *d, struct dash_resp *r)
{
	char err[512], why[256];
	bool up;
	cJSON *j;

	pthread_mutex_lock(&d->lock);
	up = dash_store(d, err, sizeof(err)) && store_health(&d->env->st, why,
	    sizeof(why)) == 0;
	d->store_up = up;
	pthread_mutex_unlock(&d->lock);
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", true);
	cJSON_AddStringToObject(j, "store", up ? "up" : "down");
	cJSON_AddStringToObject(j, "supervisor",
	    rt_held_pid(d->env->cfg.state_dir) > 0 ? "running" : "stopped");
	json_resp(r, MHD_HTTP_OK, j);
}

/* rvctl status --json, from the same serializer. */
static cJSON *
api_status(struct dash *d)
{
	struct ctl_runs runs;
	char err[512], rerr[512];
	cJSON *st = NULL, *o;
	bool have;

	if (rt_held_pid(d->env->cfg.state_dir) > 0)
		st = ctl_control_request(d->env, IPC_CTL_STATUS, NULL, 1500,
		    err, sizeof(err));
	pthread_mutex_lock(&d->lock);
	have = ctl_runs_load(d->env, NULL, CTL_RI_QUICK, &runs, rerr,
	    sizeof(rerr)) == CTL_OK;
	o = ctl_status_json(d->env, st, &runs, have);
	if (have)
		ctl_runs_clear(&runs);
	pthread_mutex_unlock(&d->lock);
	cJSON_Delete(st);
	return o;
}

/*
 * Under d->lock: the store's answer for <path> (/api/runs or
 * /api/runs/<id>/events), or NULL with *status and <err> set (404 for
 * no such answer or run, 503 when the store did not answer).
 */
static cJSON *
api_store(struct dash *d, const char *path, unsigned *status, char *err,
    size_t errlen)
{
	struct store_run *runs = NULL, run;
	char id[STORE_ID_MAX];
	cJSON *j;
	size_t n, i;

	*status = MHD_HTTP_SERVICE_UNAVAILABLE;
	if (!dash_store(d, err, errlen))
		return NULL;
	if (strcmp(path, "/api/runs") == 0) {
		if (store_list_runs(&d->env->st, &runs, &n, err, errlen) == -1)
			return NULL;
		j = cJSON_CreateArray();
		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(j, ctl_run_json(&runs[i]));
		free(runs);
		return j;
	}
	*status = MHD_HTTP_NOT_FOUND;
	if (strncmp(path, "/api/runs/", 10) != 0 || strlen(path) != 10 + 36 +
	    7 || strcmp(path + 46, "/events") != 0) {
		snprintf(err, errlen, "no such answer");
		return NULL;
	}
	memcpy(id, path + 10, 36);
	id[36] = '\0';
	if (!id_uuid_valid(id)) {
		snprintf(err, errlen, "not a run");
		return NULL;
	}
	if (store_get_run(&d->env->st, id, &run, NULL, err, errlen) == -1) {
		if (errno != ENOENT)
			*status = MHD_HTTP_SERVICE_UNAVAILABLE;
		return NULL;
	}
	*status = MHD_HTTP_SERVICE_UNAVAILABLE;
	if (store_list_events(&d->env->st, run.run_id, &j, err, errlen) == -1)
		return NULL;
	return j;
}

void
dash_api(struct dash *d, const char *path, struct dash_resp *r)
{
	char err[512];
	unsigned status;
	cJSON *j;

	if (strcmp(path, "/api/status") == 0) {
		json_resp(r, MHD_HTTP_OK, api_status(d));
		return;
	}
	pthread_mutex_lock(&d->lock);
	j = api_store(d, path, &status, err, sizeof(err));
	pthread_mutex_unlock(&d->lock);
	if (j == NULL)
		json_resp(r, status, json_error(err));
	else
		json_resp(r, MHD_HTTP_OK, j);
}

/* ---- the change watcher --------------------------------------------- */

/* What an operator sees of the runs now, as one JSON text. */
static char *
snapshot(struct dash *d)
{
	struct store_run *runs = NULL;
	char err[512], gate[12];
	cJSON *j = cJSON_CreateObject(), *a, *o;
	size_t n = 0, i, k;
	bool up;
	char *txt;

	pthread_mutex_lock(&d->lock);
	up = dash_store(d, err, sizeof(err)) && store_list_runs(&d->env->st,
	    &runs, &n, err, sizeof(err)) == 0;
	d->store_up = up;
	pthread_mutex_unlock(&d->lock);
	cJSON_AddStringToObject(j, "supervisor",
	    rt_held_pid(d->env->cfg.state_dir) > 0 ? "running" : "stopped");
	cJSON_AddStringToObject(j, "store", up ? "up" : "down");
	a = cJSON_AddArrayToObject(j, "runs");
	for (k = 0; up && k < n && k < SSE_RUNS_MAX; k++) {
		i = n - 1 - k;		/* newest first */
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "run_id", runs[i].run_id);
		cJSON_AddStringToObject(o, "video_id", runs[i].video_id);
		cJSON_AddStringToObject(o, "status", runs[i].status);
		cJSON_AddStringToObject(o, "worker_state",
		    runs[i].worker_state);
		(void)snprintf(gate, sizeof(gate), "%.8s", runs[i].gate_nonce);
		cJSON_AddStringToObject(o, "gate", gate);
		cJSON_AddStringToObject(o, "decision", runs[i].decision);
		cJSON_AddNumberToObject(o, "lease_epoch",
		    (double)runs[i].lease_epoch);
		cJSON_AddBoolToObject(o, "locked", runs[i].lock_token[0] !=
		    '\0');
		cJSON_AddItemToArray(a, o);
	}
	free(runs);
	txt = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return txt;
}

static void
deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
watch(void *arg)
{
	struct dash *d = arg;
	struct timespec ts;
	char *now;

	for (;;) {
		now = snapshot(d);
		pthread_mutex_lock(&d->ev_lock);
		if (now != NULL && (d->ev_data == NULL ||
		    strcmp(now, d->ev_data) != 0)) {
			free(d->ev_data);
			d->ev_data = now;
			d->ev_id++;
			pthread_cond_broadcast(&d->ev_cond);
		} else
			free(now);
		deadline(&ts, d->poll_ms);
		while (!d->stopping && pthread_cond_timedwait(&d->ev_cond,
		    &d->ev_lock, &ts) == 0)
			;
		if (d->stopping) {
			pthread_mutex_unlock(&d->ev_lock);
			return NULL;
		}
		pthread_mutex_unlock(&d->ev_lock);
	}
}

int
dash_watch_start(struct dash *d)
{
	pthread_mutex_init(&d->ev_lock, NULL);
	pthread_cond_init(&d->ev_cond, NULL);
	d->poll_ms = d->env->cfg.supabase_url[0] != '\0' ? 2000 : 500;
	/* ids go on from one start to the next */
	d->ev_id = (unsigned long long)time(NULL) * 1000ULL;
	return pthread_create(&d->watcher, NULL, watch, d) == 0 ? 0 : -1;
}

void
dash_watch_stop(struct dash *d)
{
	pthread_mutex_lock(&d->ev_lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->ev_cond);
	pthread_mutex_unlock(&d->ev_lock);
	pthread_join(d->watcher, NULL);
}

/* ---- /events -------------------------------------------------------- */

struct sse {
	struct dash	*d;
	int		 fd;		/* the client's socket; -1 unknown */
	unsigned long long sent;	/* the last id sent */
	char		*out;		/* frame being sent */
	size_t		 len, off;
	bool		 started;
	char		 last_id[32];
};

static void
sse_frame(struct sse *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sse_frame(struct sse *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	free(s->out);
	s->out = NULL;
	s->len = s->off = 0;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);	/* vasprintf is not POSIX */
	va_end(ap);
	if (n < 0 || (s->out = malloc((size_t)n + 1)) == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(s->out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->len = (size_t)n;
}

/* Under ev_lock: the current state as a change frame. */
static void
sse_change(struct sse *s)
{
	struct dash *d = s->d;

	s->sent = d->ev_id;
	sse_frame(s, "id: %llu\nevent: change\ndata: %s\n\n", d->ev_id,
	    d->ev_data != NULL ? d->ev_data : "{}");
}

#ifndef POLLRDHUP
#define POLLRDHUP	0	/* Linux only; elsewhere EOF shows as POLLIN */
#endif

/* Did the client close its end?  (A request body is never expected.) */
static bool
client_gone(int fd)
{
	struct pollfd p;

	if (fd < 0)
		return false;
	p.fd = fd;
	p.events = POLLIN | POLLRDHUP;
	p.revents = 0;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP |
	    POLLERR | POLLIN)) != 0;
}

static ssize_t
sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *s = cls;
	struct dash *d = s->d;
	struct timespec ts;
	char want[32];
	size_t n;
	int waited;

	(void)pos;
	if (s->off >= s->len) {
		pthread_mutex_lock(&d->ev_lock);
		if (!s->started) {
			s->started = true;
			(void)snprintf(want, sizeof(want), "%llu", d->ev_id);
			if (s->last_id[0] != '\0' && strcmp(s->last_id,
			    want) != 0 && d->ev_data != NULL)
				sse_change(s);
			else {
				s->sent = d->ev_id;
				sse_frame(s, "retry: 1000\nid: %llu\nevent: "
				    "hello\ndata: {}\n\n", d->ev_id);
			}
		} else {
			/*
			 * Wait for a change, looking once a second whether
			 * the client left (nothing is written until the
			 * keepalive, so the socket would not say so).
			 */
			waited = 0;
			while (!d->stopping && d->ev_id == s->sent &&
			    waited < DASH_KEEPALIVE_SEC) {
				deadline(&ts, 1000);
				while (!d->stopping && d->ev_id == s->sent &&
				    pthread_cond_timedwait(&d->ev_cond,
				    &d->ev_lock, &ts) == 0)
					;
				waited++;
				if (client_gone(s->fd)) {
					pthread_mutex_unlock(&d->ev_lock);
					return MHD_CONTENT_READER_END_WITH_ERROR;
				}
			}
			if (d->stopping) {
				pthread_mutex_unlock(&d->ev_lock);
				return MHD_CONTENT_READER_END_OF_STREAM;
			}
			if (d->ev_id != s->sent)
				sse_change(s);
			else
				sse_frame(s, ": keepalive\n\n");
		}
		pthread_mutex_unlock(&d->ev_lock);
		if (s->out == NULL)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = s->len - s->off;
	if (n > max)
		n = max;
	memcpy(buf, s->out + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static void
sse_free(void *cls)
{
	struct sse *s = cls;

	pthread_mutex_lock(&s->d->ev_lock);
	s->d->sse_clients--;
	pthread_mutex_unlock(&s->d->ev_lock);
	free(s->out);
	free(s);
}

/* The response of /events, or NULL when there are too many readers. */
void *
dash_sse_response(struct dash *d, void *conn, const char *last_id)
{
	const union MHD_ConnectionInfo *ci;
	struct MHD_Response *resp;
	struct sse *s;

	pthread_mutex_lock(&d->ev_lock);
	if (d->sse_clients >= DASH_SSE_MAX || d->stopping) {
		pthread_mutex_unlock(&d->ev_lock);
		return NULL;
	}
	d->sse_clients++;
	pthread_mutex_unlock(&d->ev_lock);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto fail;
	s->d = d;
	s->fd = -1;
	if ((ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CONNECTION_FD)) != NULL)
		s->fd = ci->connect_fd;
	if (last_id != NULL)
		strlcpy(s->last_id, last_id, sizeof(s->last_id));
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    sse_read, s, sse_free);
	if (resp == NULL) {
		free(s);
		goto fail;
	}
	return resp;
fail:
	pthread_mutex_lock(&d->ev_lock);
	d->sse_clients--;
	pthread_mutex_unlock(&d->ev_lock);
	return NULL;
}
