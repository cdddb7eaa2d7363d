/* SPDX-License-Identifier: ISC */
/*
 * sqlite_data.c: runs and events in the SQLite store backend (SPEC
 * section 2): enqueue, get_run, list_runs, add_event, list_events.
 *
 * One current run per video id (rvctl enqueue --replace queues a new one
 * in place of an aborted or failed one); the spec is kept with its run.
 * Events are idempotent by event_id, so a spooled event replayed twice is
 * stored once, and fenced by lease epoch: a holder's event stamped with an
 * epoch that is not the run's current one is refused (FENCED).  Ages are computed by the
 * database clock.  This file never changes a lease: the lease calls live in
 * sqlite_lease.c, the operator calls in sqlite_operator.c, the credit
 * ledger in sqlite_ledger.c.
 *
 * Public (backend-internal): sqs_enqueue, sqs_get_run, sqs_list_runs,
 * sqs_add_event, sqs_list_events, sqs_data_sql.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sqlite3.h>

#include "common/core/errbuf.h"
#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/store/sqlite.h"

#define TASK_TYPE_MAX	31

/* The columns fill_run() reads, in its order. */
#define RUN_COLS							\
    "run_id, video_id, task_type, status, worker_id, worker_state,"	\
    " lock_token, lease_epoch, lease_expires_at, last_heartbeat_at,"	\
    " created_at, updated_at, gate_nonce, gate_reason, gated_at,"	\
    " error, coalesce(heartbeat_latency_ms, -1), force_refetch,"	\
    " lease_expires_at IS NOT NULL"					\
    " AND julianday(lease_expires_at) <= julianday('now'),"		\
    " CASE WHEN lease_expires_at IS NULL THEN 0"			\
    " ELSE -" SQS_AGE("lease_expires_at") " END,"			\
    " CASE WHEN last_heartbeat_at IS NULL THEN -1"			\
    " ELSE " SQS_AGE("last_heartbeat_at") " END,"			\
    " CASE WHEN status = 'waiting_approval'"				\
    " AND gated_at IS NOT NULL"						\
    " THEN " SQS_AGE("gated_at") " ELSE -1 END,"			\
    " " SQS_AGE("created_at") ", spec_json, decided_nonce,"		\
    " gate_decision"

/* The current run of a video id (the one not replaced). */
static const char sql_find_video[] =
    "SELECT run_id, status FROM pipeline_runs WHERE video_id = ?1"
    " AND replaced_by IS NULL";

/* Replace run ?1 (aborted or failed, current) by run ?2. */
static const char sql_replace_run[] =
    "UPDATE pipeline_runs SET replaced_by = ?2, updated_at = " SQS_NOW
    " WHERE run_id = ?1 AND replaced_by IS NULL"
    " AND status IN ('aborted', 'failed')";

static const char sql_insert_run[] =
    "INSERT INTO pipeline_runs (run_id, video_id, task_type, status,"
    " worker_state, lease_epoch, spec_json, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, 'running', 'idle', 0, ?4, " SQS_NOW ", "
    SQS_NOW ")";

static const char sql_get_run[] =
    "SELECT " RUN_COLS " FROM pipeline_runs"
    " WHERE run_id = ?1 OR video_id = ?1"
    " ORDER BY run_id = ?1 DESC, replaced_by IS NULL DESC,"
    " created_at DESC, rowid DESC LIMIT 1";

static const char sql_list_runs[] =
    "SELECT " RUN_COLS " FROM pipeline_runs ORDER BY created_at, rowid";

static const char sql_add_event[] =
    "INSERT INTO run_events (event_id, run_id, event_type, severity,"
    " reason_key, source, occurred_at, payload, lease_epoch, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, coalesce(strftime("
    "'%Y-%m-%dT%H:%M:%fZ', ?7), " SQS_NOW "), ?8, ?9, " SQS_NOW ")"
    " ON CONFLICT (event_id) DO NOTHING";

static const char sql_event_known[] =
    "SELECT 1 FROM run_events WHERE event_id = ?1";

static const char sql_time_valid[] =
    "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ?1) IS NOT NULL";

static const char sql_list_events[] =
    "SELECT event_id, run_id, event_type, severity, reason_key, source,"
    " occurred_at, payload FROM run_events"
    " WHERE ?1 IS NULL OR run_id = ?1 ORDER BY occurred_at, id";

const char *const sqs_data_sql[] = {
	sql_find_video, sql_replace_run, sql_insert_run, sql_get_run,
	sql_list_runs, sql_add_event, sql_event_known, sql_time_valid,
	sql_list_events, NULL
};

static int
check_spec(const char *video_id, const char *spec_json, char *err,
    size_t errlen)
{
	const cJSON *v;
	cJSON *j;
	int r = -1;

	if (strlen(spec_json) > SQS_SPEC_MAX) {
		sqs_seterr(err, errlen, "video %s: spec is larger than %d "
		    "bytes", video_id, SQS_SPEC_MAX);
		return -1;
	}
	if ((j = cJSON_Parse(spec_json)) == NULL || !cJSON_IsObject(j))
		sqs_seterr(err, errlen, "video %s: spec is not a JSON object",
		    video_id);
	else if ((v = cJSON_GetObjectItemCaseSensitive(j, "video_id")) !=
	    NULL && (!cJSON_IsString(v) || strcmp(v->valuestring,
	    video_id) != 0))
		sqs_seterr(err, errlen, "video %s: the spec's video_id does "
		    "not match", video_id);
	else
		r = 0;
	cJSON_Delete(j);
	return r;
}

/*
 * Whether a video id whose current run is <old> (status <st>) may be
 * queued again: only with <replace>, and only when that run is aborted
 * or failed.  Returns 0, or -1 with errno EEXIST and <err>.
 */
static int
may_queue(const char *video_id, const char *old, const char *st,
    bool replace, char *err, size_t errlen)
{
	bool dead = strcmp(st, RUN_ABORTED) == 0 ||
	    strcmp(st, RUN_FAILED) == 0;

	if (replace && dead)
		return 0;
	if (!replace)
		sqs_seterr(err, errlen, "video %s is already queued as run %s "
		    "(status %s)%s", video_id, old, st, dead ? "; it may be "
		    "replaced by a new run" : "");
	else
		sqs_seterr(err, errlen, "video %s: run %s is %s; only an "
		    "aborted or failed run can be replaced", video_id, old,
		    st);
	errno = EEXIST;
	return -1;
}

static int
enqueue_locked(struct sqs *s, const char *video_id, const char *task_type,
    const char *spec_json, bool replace, char *run_id_out, char *err,
    size_t errlen)
{
	char run_id[ID_UUID_LEN + 1], old[STORE_ID_MAX] = "";
	char st[STORE_STATUS_MAX];
	sqlite3_stmt *q;
	cJSON *p;
	int r;

	if (sqs_prep(s, &q, err, errlen, sql_find_video, "s", video_id) == -1)
		return -1;
	if ((r = sqs_step(s, q, err, errlen)) == 1) {
		sqs_col(q, 0, old, sizeof(old));
		sqs_col(q, 1, st, sizeof(st));
	}
	sqlite3_finalize(q);
	if (r == -1 || (r == 1 && may_queue(video_id, old, st, replace, err,
	    errlen) == -1))
		return -1;
	id_uuid_new(run_id);
	if (old[0] != '\0' && (r = sqs_run(s, err, errlen, sql_replace_run,
	    "ss", old, run_id)) != 1) {
		if (r == -1)
			return -1;
		sqs_seterr(err, errlen, "video %s: run %s changed meanwhile; "
		    "nothing queued", video_id, old);
		return -1;
	}
	if (sqs_run(s, err, errlen, sql_insert_run, "ssss", run_id, video_id,
	    task_type, spec_json) < 0)
		return -1;
	p = cJSON_CreateObject();
	sqs_json_str(p, "video_id", video_id);
	cJSON_AddStringToObject(p, "task_type", task_type);
	sqs_json_str(p, "replaces", old);
	if (sqs_event(s, run_id, "run_enqueued", "INFO", "enqueue", p, err,
	    errlen) == -1)
		return -1;
	if (old[0] != '\0') {
		p = cJSON_CreateObject();
		sqs_json_str(p, "video_id", video_id);
		sqs_json_str(p, "replaced_by", run_id);
		sqs_json_str(p, "status", st);
		if (sqs_event(s, old, "run_replaced", "INFO", "enqueue_replace",
		    p, err, errlen) == -1)
			return -1;
	}
	strlcpy(run_id_out, run_id, STORE_ID_MAX);
	return 0;
}

/*
 * Queue a new run for <video_id> with <spec_json> (a JSON object; NULL =
 * {}), copying its run id to <run_id_out> (STORE_ID_MAX bytes).  A video
 * id that has a run is refused (-1, errno EEXIST) unless <replace> and
 * that run is aborted or failed: then the new run replaces it (the old
 * one keeps its rows and events, marked replaced_by).  Returns 0, or -1.
 */
int
sqs_enqueue(void *impl, const char *video_id, const char *task_type,
    const char *spec_json, bool replace, char *run_id_out, char *err,
    size_t errlen)
{
	struct sqs *s = impl;
	char q[64];

	run_id_out[0] = '\0';
	if (!id_video_valid(video_id)) {
		sqs_seterr(err, errlen, "\"%s\" is not a valid video id "
		    "(letters, digits and '-', at most %d)",
		    errbuf_quote(video_id, q, sizeof(q)), ID_VIDEO_MAX);
		return -1;
	}
	if (task_type == NULL)
		task_type = "";
	if (strlen(task_type) > TASK_TYPE_MAX) {
		sqs_seterr(err, errlen, "video %s: task type is longer than "
		    "%d", video_id, TASK_TYPE_MAX);
		return -1;
	}
	if (spec_json == NULL)
		spec_json = "{}";
	if (check_spec(video_id, spec_json, err, errlen) == -1)
		return -1;
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	return sqs_end(s, enqueue_locked(s, video_id, task_type, spec_json,
	    replace, run_id_out, err, errlen), err, errlen);
}

/* Fill <r> from a row of RUN_COLS. */
static void
fill_run(sqlite3_stmt *st, struct store_run *r)
{
	memset(r, 0, sizeof(*r));
	sqs_col(st, 0, r->run_id, sizeof(r->run_id));
	sqs_col(st, 1, r->video_id, sizeof(r->video_id));
	sqs_col(st, 2, r->task_type, sizeof(r->task_type));
	sqs_col(st, 3, r->status, sizeof(r->status));
	sqs_col(st, 4, r->worker_id, sizeof(r->worker_id));
	sqs_col(st, 5, r->worker_state, sizeof(r->worker_state));
	sqs_col(st, 6, r->lock_token, sizeof(r->lock_token));
	r->lease_epoch = sqlite3_column_int64(st, 7);
	sqs_col(st, 8, r->lease_expires_at, sizeof(r->lease_expires_at));
	sqs_col(st, 9, r->last_heartbeat_at, sizeof(r->last_heartbeat_at));
	sqs_col(st, 10, r->created_at, sizeof(r->created_at));
	sqs_col(st, 11, r->updated_at, sizeof(r->updated_at));
	sqs_col(st, 12, r->gate_nonce, sizeof(r->gate_nonce));
	sqs_col(st, 13, r->gate_reason, sizeof(r->gate_reason));
	sqs_col(st, 14, r->gated_at, sizeof(r->gated_at));
	sqs_col(st, 15, r->error, sizeof(r->error));
	r->heartbeat_latency_ms = sqlite3_column_int64(st, 16);
	r->force_refetch = sqlite3_column_int(st, 17) != 0;
	r->lease_expired = sqlite3_column_int(st, 18) != 0;
	r->lease_seconds_left = sqlite3_column_double(st, 19);
	r->heartbeat_age_sec = sqlite3_column_double(st, 20);
	r->gate_age_sec = sqlite3_column_double(st, 21);
	r->age_sec = sqlite3_column_double(st, 22);
	sqs_col(st, 24, r->decided_nonce, sizeof(r->decided_nonce));
	sqs_col(st, 25, r->decision, sizeof(r->decision));
}

static int
copy_spec(sqlite3_stmt *st, char **spec_json, char *err, size_t errlen)
{
	const unsigned char *t = sqlite3_column_text(st, 23);

	if (spec_json == NULL || t == NULL)
		return 0;
	if ((*spec_json = strdup((const char *)t)) == NULL) {
		sqs_seterr(err, errlen, "store: spec: out of memory");
		return -1;
	}
	return 0;
}

/*
 * Read the run <run_or_video_id> (a run id or a video id) into <out>;
 * when <spec_json> is not NULL it gets a copy of the spec the caller
 * frees (NULL when none).  Returns 0, or -1 (not found: errno ENOENT).
 */
int
sqs_get_run(void *impl, const char *run_or_video_id, struct store_run *out,
    char **spec_json, char *err, size_t errlen)
{
	struct sqs *s = impl;
	sqlite3_stmt *st;
	char q[64];
	int r;

	if (spec_json != NULL)
		*spec_json = NULL;
	if (!id_uuid_valid(run_or_video_id) &&
	    !id_video_valid(run_or_video_id)) {
		sqs_seterr(err, errlen, "\"%s\" is not a run id or video id",
		    errbuf_quote(run_or_video_id, q, sizeof(q)));
		errno = EINVAL;
		return -1;
	}
	if (sqs_prep(s, &st, err, errlen, sql_get_run, "s",
	    run_or_video_id) == -1)
		return -1;
	if ((r = sqs_step(s, st, err, errlen)) == 1) {
		fill_run(st, out);
		r = copy_spec(st, spec_json, err, errlen) == -1 ? -1 : 1;
	}
	sqlite3_finalize(st);
	if (r == 0) {
		sqs_seterr(err, errlen, "run %s: not found", run_or_video_id);
		errno = ENOENT;
	}
	return r == 1 ? 0 : -1;
}

/*
 * All runs, oldest first, as an array the caller frees (*out NULL when
 * there is none).  Returns 0, or -1.
 */
int
sqs_list_runs(void *impl, struct store_run **out, size_t *n, char *err,
    size_t errlen)
{
	struct sqs *s = impl;
	struct store_run *v = NULL, *nv;
	size_t len = 0, cap = 0;
	sqlite3_stmt *st;
	int r;

	*out = NULL;
	*n = 0;
	if (sqs_prep(s, &st, err, errlen, sql_list_runs, "") == -1)
		return -1;
	while ((r = sqs_step(s, st, err, errlen)) == 1) {
		if (len == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				sqs_seterr(err, errlen, "store: list runs: "
				    "out of memory");
				r = -1;
				break;
			}
			v = nv;
		}
		fill_run(st, &v[len++]);
	}
	sqlite3_finalize(st);
	if (r == -1) {
		free(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

static int
check_time(struct sqs *s, const char *t, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	char q[64];
	int r;

	if (sqs_prep(s, &st, err, errlen, sql_time_valid, "s", t) == -1)
		return -1;
	if ((r = sqs_step(s, st, err, errlen)) == 1)
		r = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (r == 0)
		sqs_seterr(err, errlen, "event occurred_at \"%s\" is not an "
		    "ISO-8601 time", errbuf_quote(t, q, sizeof(q)));
	return r == 1 ? 0 : -1;
}

static int
add_event_locked(struct sqs *s, const struct store_event *ev,
    const char *id, const char *text, enum store_write *res, char *err,
    size_t errlen)
{
	char why[160];
	sqlite3_stmt *st;
	int r;

	if (sqs_prep(s, &st, err, errlen, sql_event_known, "s", id) == -1)
		return -1;
	r = sqs_step(s, st, err, errlen);
	sqlite3_finalize(st);
	if (r != 0) {
		*res = STORE_WRITE_DUPLICATE;
		return r == 1 ? 0 : -1;
	}
	if ((r = sqs_fence(s, ev->run_id, ev->lease_epoch, why, sizeof(why),
	    err, errlen)) != 0) {
		if (r == -1)
			return -1;
		*res = STORE_WRITE_FENCED;
		sqs_seterr(err, errlen, "event %s of run %s: %s",
		    ev->event_type, ev->run_id, why);
		return 0;
	}
	if ((r = sqs_run(s, err, errlen, sql_add_event, "szsszzzsI", id,
	    ev->run_id, ev->event_type, ev->severity, ev->reason_key,
	    ev->source, ev->occurred_at, text, ev->lease_epoch > 0 ?
	    ev->lease_epoch : 0LL)) < 0)
		return -1;
	*res = r == 1 ? STORE_WRITE_DONE : STORE_WRITE_DUPLICATE;
	return 0;
}

/*
 * Store event <ev> (borrowed).  An empty event_id gets a new one.  *res
 * says what happened: DONE; DUPLICATE when the event_id is already
 * stored (so replays are idempotent); FENCED when ev->lease_epoch > 0
 * names an epoch of ev->run_id that is not current or that an operator
 * cleared (<err> says which; the event is not stored).  The door
 * (store.c) has checked its fields; the time is checked here, by SQLite's
 * own parser.  Returns 0, or -1 on a bad time or a store failure.
 */
int
sqs_add_event(void *impl, const struct store_event *ev,
    enum store_write *res, char *err, size_t errlen)
{
	struct sqs *s = impl;
	char id[ID_UUID_LEN + 1], *text;
	int r;

	*res = STORE_WRITE_DONE;
	if (ev->occurred_at[0] != '\0' &&
	    check_time(s, ev->occurred_at, err, errlen) == -1)
		return -1;
	if (ev->event_id[0] != '\0')
		strlcpy(id, ev->event_id, sizeof(id));
	else
		id_uuid_new(id);
	text = cJSON_PrintUnformatted(ev->payload);
	if (ev->payload != NULL && text == NULL) {
		sqs_seterr(err, errlen, "event %s: out of memory",
		    ev->event_type);
		return -1;
	}
	if (text != NULL && strlen(text) > SQS_PAYLOAD_MAX) {
		sqs_seterr(err, errlen, "event %s: payload is larger than %d "
		    "bytes", ev->event_type, SQS_PAYLOAD_MAX);
		r = -1;
	} else if ((r = sqs_begin(s, err, errlen)) == 0)
		r = sqs_end(s, add_event_locked(s, ev, id, text != NULL ?
		    text : "{}", res, err, errlen), err, errlen);
	cJSON_free(text);
	return r < 0 ? -1 : 0;
}

static cJSON *
event_json(sqlite3_stmt *st)
{
	static const char *const names[] = {
		"event_id", "run_id", "event_type", "severity", "reason_key",
		"source", "occurred_at"
	};
	const unsigned char *t;
	cJSON *o, *p;
	int i;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
		if ((t = sqlite3_column_text(st, i)) == NULL)
			cJSON_AddNullToObject(o, names[i]);
		else
			cJSON_AddStringToObject(o, names[i],
			    (const char *)t);
	}
	t = sqlite3_column_text(st, 7);
	p = t != NULL ? cJSON_Parse((const char *)t) : NULL;
	if (p != NULL && !cJSON_IsObject(p)) {
		cJSON_Delete(p);
		p = NULL;
	}
	cJSON_AddItemToObject(o, "payload", p != NULL ? p :
	    cJSON_CreateObject());
	return o;
}

/*
 * The events of <run_id> (NULL or "": all events) as a cJSON array the
 * caller deletes, ordered by occurred_at.  Returns 0, or -1.
 */
int
sqs_list_events(void *impl, const char *run_id, cJSON **out, char *err,
    size_t errlen)
{
	struct sqs *s = impl;
	sqlite3_stmt *st;
	cJSON *arr, *o;
	int r;

	*out = NULL;
	if (run_id != NULL && *run_id != '\0' &&
	    sqs_check_run_id(run_id, err, errlen) == -1)
		return -1;
	if (sqs_prep(s, &st, err, errlen, sql_list_events, "z", run_id) == -1)
		return -1;
	arr = cJSON_CreateArray();
	while ((r = sqs_step(s, st, err, errlen)) == 1) {
		if (arr == NULL || (o = event_json(st)) == NULL ||
		    !cJSON_AddItemToArray(arr, o)) {
			sqs_seterr(err, errlen, "store: events: out of memory");
			r = -1;
			break;
		}
	}
	sqlite3_finalize(st);
	if (r == -1) {
		cJSON_Delete(arr);
		return -1;
	}
	*out = arr;
	return 0;
}
