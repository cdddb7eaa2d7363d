/* SPDX-License-Identifier: ISC */
/*
 * supabase_data.c: runs, events and the credit ledger in the supabase
 * store backend (SPEC section 2): enqueue, get_run, list_runs, add_event,
 * list_events, ledger_intent, ledger_result, ledger_list, and the helpers
 * every file of the backend reads answers with.
 *
 * Each operation is one RPC of the migration, which holds the rules and
 * their messages (they are the SQLite backend's, word for word); this
 * file builds the named arguments and validates every answer before it
 * is used (SPEC section 9): shapes, types, and strings that fit.  Events
 * are the exception: they are inserted into run_events directly (POST
 * /rest/v1/run_events) once the door (store.c, store_check.c) has
 * checked their fields; only the time is checked here.  A replayed
 * event_id is answered 409 and counted as already there.  Nothing here
 * logs.
 *
 * Public (backend-internal): sbs_enqueue, sbs_get_run, sbs_list_runs,
 * sbs_add_event, sbs_list_events, sbs_ledger_intent, sbs_ledger_result,
 * sbs_ledger_list, sbs_args, sbs_arg_str, sbs_row, sbs_get_str,
 * sbs_get_bool, sbs_get_ll, sbs_bad_answer.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/errbuf.h"
#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/store/supabase.h"

/* ---- reading answers ---- */

/* A new argument object (NULL when out of memory; sbs_rpc reports it). */
cJSON *
sbs_args(void)
{
	return cJSON_CreateObject();
}

/* Add text argument <key>; NULL is sent as JSON null. */
void
sbs_arg_str(cJSON *args, const char *key, const char *val)
{
	if (args == NULL)
		return;
	if (val == NULL)
		cJSON_AddNullToObject(args, key);
	else
		cJSON_AddStringToObject(args, key, val);
}

int
sbs_bad_answer(const char *fn, const char *what, char *err, size_t errlen)
{
	sbs_seterr(err, errlen, EPROTO, "store: %s: unexpected answer (%s)",
	    fn, what);
	return -1;
}

/* The row of a one-row answer: an object, or an array's first object. */
const cJSON *
sbs_row(const cJSON *answer)
{
	if (cJSON_IsArray(answer))
		answer = cJSON_GetArrayItem(answer, 0);
	return cJSON_IsObject(answer) ? answer : NULL;
}

/*
 * Copy string member <key> of <o> into <buf> (cut to fit, as the SQLite
 * backend does); null or missing gives "" unless <required>.
 */
int
sbs_get_str(const cJSON *o, const char *key, char *buf, size_t size,
    bool required, const char *fn, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char what[96];

	buf[0] = '\0';
	if ((v == NULL || cJSON_IsNull(v)) && !required)
		return 0;
	if (!cJSON_IsString(v)) {
		snprintf(what, sizeof(what), "\"%s\" is not a string", key);
		return sbs_bad_answer(fn, what, err, errlen);
	}
	strlcpy(buf, v->valuestring, size);
	return 0;
}

int
sbs_get_bool(const cJSON *o, const char *key, bool *v, const char *fn,
    char *err, size_t errlen)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	char what[96];

	if (!cJSON_IsBool(j)) {
		snprintf(what, sizeof(what), "\"%s\" is not a boolean", key);
		return sbs_bad_answer(fn, what, err, errlen);
	}
	*v = cJSON_IsTrue(j);
	return 0;
}

int
sbs_get_ll(const cJSON *o, const char *key, long long *v, const char *fn,
    char *err, size_t errlen)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	char what[96];

	if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) ||
	    fabs(j->valuedouble) > 9e15) {
		snprintf(what, sizeof(what), "\"%s\" is not an integer", key);
		return sbs_bad_answer(fn, what, err, errlen);
	}
	*v = (long long)j->valuedouble;
	return 0;
}

static int
get_double(const cJSON *o, const char *key, double *v, const char *fn,
    char *err, size_t errlen)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	char what[96];

	if (!cJSON_IsNumber(j)) {
		snprintf(what, sizeof(what), "\"%s\" is not a number", key);
		return sbs_bad_answer(fn, what, err, errlen);
	}
	*v = j->valuedouble;
	return 0;
}

/* ---- runs ---- */

/*
 * Queue a new run (see sqs_enqueue for the contract): rpc_enqueue_run.
 * A video already queued is refused (-1, errno EEXIST) unless <replace>
 * and its run is aborted or failed.
 */
int
sbs_enqueue(void *impl, const char *video_id, const char *task_type,
    const char *spec_json, bool replace, char *run_id_out, char *err,
    size_t errlen)
{
	const char *fn = "rpc_enqueue_run";
	cJSON *args, *spec = NULL, *ans;
	int r;

	run_id_out[0] = '\0';
	if (spec_json != NULL) {
		if (strlen(spec_json) > SBS_SPEC_MAX) {
			sbs_seterr(err, errlen, EINVAL, "video %s: spec is "
			    "larger than %d bytes", video_id != NULL ?
			    video_id : "", SBS_SPEC_MAX);
			return -1;
		}
		if ((spec = cJSON_Parse(spec_json)) == NULL ||
		    !cJSON_IsObject(spec)) {
			cJSON_Delete(spec);
			sbs_seterr(err, errlen, EINVAL, "video %s: spec is not "
			    "a JSON object", video_id != NULL ? video_id : "");
			return -1;
		}
	}
	args = sbs_args();
	sbs_arg_str(args, "p_video_id", video_id);
	sbs_arg_str(args, "p_task_type", task_type != NULL ? task_type : "");
	if (spec != NULL && (args == NULL ||
	    !cJSON_AddItemToObject(args, "p_spec", spec)))
		cJSON_Delete(spec);
	if (replace && args != NULL)
		cJSON_AddBoolToObject(args, "p_replace", true);
	if ((r = sbs_rpc(impl, fn, args, 0, &ans, err, errlen)) == 0) {
		if (!cJSON_IsString(ans) || !id_uuid_valid(ans->valuestring))
			r = sbs_bad_answer(fn, "not a run id", err, errlen);
		else
			strlcpy(run_id_out, ans->valuestring, STORE_ID_MAX);
	}
	cJSON_Delete(ans);
	return r;
}

/* Fill <r> from one run object of the migration's rv_run_json(). */
static int
fill_run(const cJSON *o, struct store_run *r, const char *fn, char *err,
    size_t errlen)
{
	long long latency = -1;
	bool ok = true;

	memset(r, 0, sizeof(*r));
#define S(k, req) ok = ok && sbs_get_str(o, #k, r->k, sizeof(r->k), req, \
	    fn, err, errlen) == 0
	S(run_id, true);
	S(video_id, true);
	S(task_type, false);
	S(status, true);
	S(worker_id, false);
	S(worker_state, true);
	S(lock_token, false);
	S(lease_expires_at, false);
	S(last_heartbeat_at, false);
	S(created_at, true);
	S(updated_at, true);
	S(gate_nonce, false);
	S(gate_reason, false);
	S(gated_at, false);
	S(decided_nonce, false);
	S(decision, false);
	S(error, false);
#undef S
	ok = ok && sbs_get_ll(o, "lease_epoch", &r->lease_epoch, fn, err,
	    errlen) == 0;
	ok = ok && sbs_get_ll(o, "heartbeat_latency_ms", &latency, fn, err,
	    errlen) == 0;
	r->heartbeat_latency_ms = latency;
	ok = ok && sbs_get_bool(o, "force_refetch", &r->force_refetch, fn,
	    err, errlen) == 0;
	ok = ok && sbs_get_bool(o, "lease_expired", &r->lease_expired, fn, err,
	    errlen) == 0;
	ok = ok && get_double(o, "lease_seconds_left", &r->lease_seconds_left,
	    fn, err, errlen) == 0;
	ok = ok && get_double(o, "heartbeat_age_sec", &r->heartbeat_age_sec,
	    fn, err, errlen) == 0;
	ok = ok && get_double(o, "gate_age_sec", &r->gate_age_sec, fn, err,
	    errlen) == 0;
	ok = ok && get_double(o, "age_sec", &r->age_sec, fn, err,
	    errlen) == 0;
	if (ok && !id_uuid_valid(r->run_id))
		return sbs_bad_answer(fn, "run_id is not a uuid", err, errlen);
	return ok ? 0 : -1;
}

static int
copy_spec(const cJSON *o, char **spec_json, char *err, size_t errlen)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(o, "spec");
	char *text;

	if (spec == NULL || cJSON_IsNull(spec))
		return 0;
	if ((text = cJSON_PrintUnformatted(spec)) == NULL ||
	    (*spec_json = strdup(text)) == NULL) {
		cJSON_free(text);
		sbs_seterr(err, errlen, ENOMEM, "store: spec: out of memory");
		return -1;
	}
	cJSON_free(text);
	return 0;
}

/*
 * Read the run <run_or_video_id> (see sqs_get_run): rpc_get_run.
 * Returns 0, or -1 (not found: errno ENOENT).
 */
int
sbs_get_run(void *impl, const char *run_or_video_id, struct store_run *out,
    char **spec_json, char *err, size_t errlen)
{
	const char *fn = "rpc_get_run";
	cJSON *args, *ans;
	int r;

	if (spec_json != NULL)
		*spec_json = NULL;
	args = sbs_args();
	sbs_arg_str(args, "p_run_or_video_id", run_or_video_id);
	if (args != NULL)
		cJSON_AddBoolToObject(args, "p_with_spec", spec_json != NULL);
	if (sbs_rpc(impl, fn, args, 0, &ans, err, errlen) == -1)
		return -1;
	if (ans == NULL || cJSON_IsNull(ans)) {
		cJSON_Delete(ans);
		sbs_seterr(err, errlen, ENOENT, "run %s: not found",
		    run_or_video_id);
		return -1;
	}
	if (!cJSON_IsObject(ans))
		r = sbs_bad_answer(fn, "not an object", err, errlen);
	else if ((r = fill_run(ans, out, fn, err, errlen)) == 0 &&
	    spec_json != NULL)
		r = copy_spec(ans, spec_json, err, errlen);
	cJSON_Delete(ans);
	return r;
}

/* All runs, oldest first (see sqs_list_runs): rpc_list_runs. */
int
sbs_list_runs(void *impl, struct store_run **out, size_t *n, char *err,
    size_t errlen)
{
	const char *fn = "rpc_list_runs";
	struct store_run *v = NULL;
	cJSON *ans, *e;
	size_t len = 0, cnt;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (sbs_rpc(impl, fn, sbs_args(), SBS_LIST_MAX, &ans, err,
	    errlen) == -1)
		return -1;
	if (!cJSON_IsArray(ans)) {
		cJSON_Delete(ans);
		return sbs_bad_answer(fn, "not an array", err, errlen);
	}
	cnt = (size_t)cJSON_GetArraySize(ans);
	if (cnt > 0 && (v = calloc(cnt, sizeof(*v))) == NULL) {
		cJSON_Delete(ans);
		sbs_seterr(err, errlen, ENOMEM, "store: list runs: out of "
		    "memory");
		return -1;
	}
	cJSON_ArrayForEach(e, ans) {
		if (len == cnt || !cJSON_IsObject(e) ||
		    fill_run(e, &v[len], fn, err, errlen) == -1) {
			if (len == cnt || !cJSON_IsObject(e))
				sbs_bad_answer(fn, "not a run", err, errlen);
			r = -1;
			break;
		}
		len++;
	}
	cJSON_Delete(ans);
	if (r == -1) {
		free(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

/* ---- events ---- */

static bool
digits(const char *p, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/*
 * An ISO-8601 time: YYYY-MM-DD, optionally followed by [T ]HH:MM[:SS[.f]]
 * and Z or +-HH[:MM].  (PostgreSQL alone would also take words such as
 * "yesterday".)
 */
static bool
iso_time(const char *t)
{
	size_t n;

	if (!digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' ||
	    !digits(t + 8, 2))
		return false;
	t += 10;
	if (*t == '\0')
		return true;
	if ((*t != 'T' && *t != ' ') || !digits(t + 1, 2) || t[3] != ':' ||
	    !digits(t + 4, 2))
		return false;
	t += 6;
	if (t[0] == ':' && digits(t + 1, 2))
		t += 3;
	if (*t == '.') {
		n = strspn(t + 1, "0123456789");
		if (n == 0 || n > 9)
			return false;
		t += 1 + n;
	}
	if (*t == 'Z')
		return t[1] == '\0';
	if (*t == '+' || *t == '-') {
		if (!digits(t + 1, 2))
			return false;
		t += 3;
		if (*t == ':')
			t++;
		return *t == '\0' || (digits(t, 2) && t[2] == '\0');
	}
	return *t == '\0';
}

/* The time the door leaves to the backend (see store_check.c). */
static int
check_time(const char *t, char *err, size_t errlen)
{
	char q[64];

	if (iso_time(t))
		return 0;
	sbs_seterr(err, errlen, EINVAL, "event occurred_at \"%s\" is not an "
	    "ISO-8601 time", errbuf_quote(t, q, sizeof(q)));
	return -1;
}

static void
opt_str(cJSON *o, const char *key, const char *val)
{
	if (val[0] != '\0')
		cJSON_AddStringToObject(o, key, val);
}

/*
 * Store event <ev> (borrowed; see sqs_add_event): a row inserted into
 * run_events, whose trigger fences it (RV412) when ev->lease_epoch is
 * stale.  *res: DONE, DUPLICATE (the event_id is stored: 409), FENCED
 * (<err> says why).  Returns 0, or -1 on a bad event or a store failure.
 */
int
sbs_add_event(void *impl, const struct store_event *ev,
    enum store_write *res, char *err, size_t errlen)
{
	char id[ID_UUID_LEN + 1], *text;
	cJSON *row, *p;
	size_t plen;
	bool created;

	*res = STORE_WRITE_DONE;
	if (ev->occurred_at[0] != '\0' &&
	    check_time(ev->occurred_at, err, errlen) == -1)
		return -1;
	p = ev->payload != NULL ? cJSON_Duplicate(ev->payload, true) :
	    cJSON_CreateObject();
	text = p != NULL ? cJSON_PrintUnformatted(p) : NULL;
	plen = text != NULL ? strlen(text) : 0;
	cJSON_free(text);
	if (text == NULL || plen > SBS_PAYLOAD_MAX) {
		cJSON_Delete(p);
		sbs_seterr(err, errlen, text == NULL ? ENOMEM : EINVAL,
		    text == NULL ? "event %s: out of memory" :
		    "event %s: payload is larger than 262144 bytes",
		    ev->event_type);
		return -1;
	}
	if (ev->event_id[0] != '\0')
		strlcpy(id, ev->event_id, sizeof(id));
	else
		id_uuid_new(id);
	if ((row = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(row, "event_id", id);
		opt_str(row, "run_id", ev->run_id);
		cJSON_AddStringToObject(row, "event_type", ev->event_type);
		cJSON_AddStringToObject(row, "severity", ev->severity);
		opt_str(row, "reason_key", ev->reason_key);
		opt_str(row, "source", ev->source);
		opt_str(row, "occurred_at", ev->occurred_at);
		cJSON_AddItemToObject(row, "payload", p);
		if (ev->lease_epoch > 0)
			cJSON_AddNumberToObject(row, "lease_epoch",
			    (double)ev->lease_epoch);
	} else
		cJSON_Delete(p);
	if (sbs_insert(impl, "run_events", row, &created, err, errlen) == 0) {
		*res = created ? STORE_WRITE_DONE : STORE_WRITE_DUPLICATE;
		return 0;
	}
	if (errno != ESTALE)
		return -1;
	*res = STORE_WRITE_FENCED;
	return 0;
}

/*
 * The events of <run_id> (NULL or "": all) as a cJSON array the caller
 * deletes (see sqs_list_events): rpc_list_events.
 */
int
sbs_list_events(void *impl, const char *run_id, cJSON **out, char *err,
    size_t errlen)
{
	const char *fn = "rpc_list_events";
	cJSON *args, *ans, *e;

	*out = NULL;
	args = sbs_args();
	if (run_id != NULL && *run_id != '\0')
		sbs_arg_str(args, "p_run_id", run_id);
	if (sbs_rpc(impl, fn, args, SBS_LIST_MAX, &ans, err, errlen) == -1)
		return -1;
	if (!cJSON_IsArray(ans)) {
		cJSON_Delete(ans);
		return sbs_bad_answer(fn, "not an array", err, errlen);
	}
	cJSON_ArrayForEach(e, ans)
		if (!cJSON_IsObject(e) || !cJSON_IsString(
		    cJSON_GetObjectItemCaseSensitive(e, "event_type")) ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e,
		    "payload"))) {
			cJSON_Delete(ans);
			return sbs_bad_answer(fn, "not an event", err, errlen);
		}
	*out = ans;
	return 0;
}

/* ---- credit ledger ---- */

static int
fill_ledger(const cJSON *o, struct store_ledger *l, const char *fn,
    char *err, size_t errlen)
{
	long long credits, attempts;

	memset(l, 0, sizeof(*l));
	if (!cJSON_IsObject(o))
		return sbs_bad_answer(fn, "not a ledger row", err, errlen);
	if (sbs_get_str(o, "key", l->key, sizeof(l->key), true, fn, err,
	    errlen) == -1 ||
	    sbs_get_str(o, "run_id", l->run_id, sizeof(l->run_id), true, fn,
	    err, errlen) == -1 ||
	    sbs_get_str(o, "segment_id", l->segment_id, sizeof(l->segment_id),
	    true, fn, err, errlen) == -1 ||
	    sbs_get_str(o, "sha8", l->sha8, sizeof(l->sha8), true, fn, err,
	    errlen) == -1 ||
	    sbs_get_str(o, "state", l->state, sizeof(l->state), true, fn, err,
	    errlen) == -1 ||
	    sbs_get_str(o, "output", l->output, sizeof(l->output), false, fn,
	    err, errlen) == -1 ||
	    sbs_get_ll(o, "lease_epoch", &l->lease_epoch, fn, err,
	    errlen) == -1 ||
	    sbs_get_ll(o, "credits", &credits, fn, err, errlen) == -1 ||
	    sbs_get_ll(o, "attempts", &attempts, fn, err, errlen) == -1)
		return -1;
	if (credits < 0 || credits > 0x7fffffff)
		return sbs_bad_answer(fn, "credits out of range", err, errlen);
	if (attempts < 1 || attempts > 0x7fffffff)
		return sbs_bad_answer(fn, "attempts out of range", err,
		    errlen);
	l->credits = (int)credits;
	l->attempts = (int)attempts;
	return 0;
}

/* The "result" (and "message") of a ledger answer into *res. */
static int
get_write(const cJSON *ans, enum store_write *res, const char *fn,
    char *err, size_t errlen)
{
	char result[16], msg[256];

	if (sbs_get_str(ans, "result", result, sizeof(result), true, fn, err,
	    errlen) == -1 || sbs_get_str(ans, "message", msg, sizeof(msg),
	    false, fn, err, errlen) == -1)
		return -1;
	if (strcmp(result, "done") == 0)
		*res = STORE_WRITE_DONE;
	else if (strcmp(result, "duplicate") == 0)
		*res = STORE_WRITE_DUPLICATE;
	else if (strcmp(result, "fenced") == 0)
		*res = STORE_WRITE_FENCED;
	else
		return sbs_bad_answer(fn, "result", err, errlen);
	if (msg[0] != '\0' && err != NULL && errlen > 0)
		strlcpy(err, msg, errlen);
	return 0;
}

/*
 * Book the intent <l> for the holder of <lock_token> (see
 * sqs_ledger_intent): rpc_ledger_intent.  -1 with errno ESTALE when the
 * lock is lost, EPERM when the run may not spend.
 */
int
sbs_ledger_intent(void *impl, const struct store_ledger *l,
    const char *lock_token, bool *fresh, struct store_ledger *existing,
    enum store_write *res, char *err, size_t errlen)
{
	const char *fn = "rpc_ledger_intent";
	const cJSON *ex;
	cJSON *args, *ans;
	int r;

	*fresh = false;
	*res = STORE_WRITE_DONE;
	if (existing != NULL)
		memset(existing, 0, sizeof(*existing));
	args = sbs_args();
	sbs_arg_str(args, "p_run_id", l->run_id);
	sbs_arg_str(args, "p_segment_id", l->segment_id);
	sbs_arg_str(args, "p_sha8", l->sha8);
	sbs_arg_str(args, "p_lock_token", lock_token);
	if (args != NULL) {
		cJSON_AddNumberToObject(args, "p_lease_epoch",
		    (double)l->lease_epoch);
		cJSON_AddNumberToObject(args, "p_credits", l->credits);
	}
	sbs_arg_str(args, "p_key", l->key);
	if (sbs_rpc(impl, fn, args, 0, &ans, err, errlen) == -1)
		return -1;
	if (!cJSON_IsObject(ans))
		r = sbs_bad_answer(fn, "not an object", err, errlen);
	else if ((r = sbs_get_bool(ans, "fresh", fresh, fn, err,
	    errlen)) == 0)
		r = get_write(ans, res, fn, err, errlen);
	ex = cJSON_GetObjectItemCaseSensitive(ans, "existing");
	if (r == 0 && existing != NULL && ex != NULL && !cJSON_IsNull(ex))
		r = fill_ledger(ex, existing, fn, err, errlen);
	cJSON_Delete(ans);
	if (r == -1) {
		*fresh = false;
		*res = STORE_WRITE_DONE;
	}
	return r;
}

/* Record the result of intent <key> (see sqs_ledger_result). */
int
sbs_ledger_result(void *impl, const char *key, long long lease_epoch,
    const char *state, int credits, const char *output,
    enum store_write *res, char *err, size_t errlen)
{
	const char *fn = "rpc_ledger_result";
	cJSON *args, *ans;
	int r;

	*res = STORE_WRITE_DONE;
	args = sbs_args();
	sbs_arg_str(args, "p_key", key);
	if (args != NULL)
		cJSON_AddNumberToObject(args, "p_lease_epoch",
		    (double)lease_epoch);
	sbs_arg_str(args, "p_state", state);
	if (args != NULL)
		cJSON_AddNumberToObject(args, "p_credits", credits);
	sbs_arg_str(args, "p_output", output);
	if (sbs_rpc(impl, fn, args, 0, &ans, err, errlen) == -1)
		return -1;
	r = cJSON_IsObject(ans) ? get_write(ans, res, fn, err, errlen) :
	    sbs_bad_answer(fn, "not an object", err, errlen);
	cJSON_Delete(ans);
	return r;
}

/* The ledger rows of <run_id> (see sqs_ledger_list): rpc_ledger_list. */
int
sbs_ledger_list(void *impl, const char *run_id, struct store_ledger **out,
    size_t *n, char *err, size_t errlen)
{
	const char *fn = "rpc_ledger_list";
	struct store_ledger *v = NULL;
	cJSON *args, *ans, *e;
	size_t len = 0, cnt;

	*out = NULL;
	*n = 0;
	args = sbs_args();
	if (run_id != NULL && *run_id != '\0')
		sbs_arg_str(args, "p_run_id", run_id);
	if (sbs_rpc(impl, fn, args, SBS_LIST_MAX, &ans, err, errlen) == -1)
		return -1;
	if (!cJSON_IsArray(ans)) {
		cJSON_Delete(ans);
		return sbs_bad_answer(fn, "not an array", err, errlen);
	}
	cnt = (size_t)cJSON_GetArraySize(ans);
	if (cnt > 0 && (v = calloc(cnt, sizeof(*v))) == NULL) {
		cJSON_Delete(ans);
		sbs_seterr(err, errlen, ENOMEM, "store: ledger: out of memory");
		return -1;
	}
	cJSON_ArrayForEach(e, ans) {
		if (len == cnt || fill_ledger(e, &v[len], fn, err,
		    errlen) == -1) {
			cJSON_Delete(ans);
			free(v);
			return len == cnt ? sbs_bad_answer(fn, "rows", err,
			    errlen) : -1;
		}
		len++;
	}
	cJSON_Delete(ans);
	*out = v;
	*n = len;
	return 0;
}
