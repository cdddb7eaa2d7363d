/* SPDX-License-Identifier: ISC */
/*
 * sqlite_operator.c: what an operator does to a run through the SQLite
 * store backend (SPEC sections 2 and 4): approve, refetch, abort and
 * unlock (rpc_operator_action), and the forced unlock of rvctl unlock
 * (rpc_force_unlock_run).
 *
 * Each call is a compare-and-set on the run's current status, gate nonce
 * and lease inside one BEGIN IMMEDIATE transaction, so a repeated click is
 * answered "already applied" and never applied twice, and a button of a
 * gate that is already closed ("stale button") does nothing.  A nonce that
 * is no longer current is judged by the operator_action events: the same
 * nonce with the same action was applied before; anything else is "no
 * longer possible".  A nonce may be given in full or as its first 8 hex
 * digits (Telegram's callback data).  An abort is one step: status aborted,
 * lock dropped, worker state idle, gate closed.  Every applied call writes
 * an operator_action event, every refused or repeated one an
 * operator_action_ignored event, both naming the operator; a forced unlock
 * always writes a manual_unlock event with the lock it found.  Neither call
 * ever touches a lease it was not asked to, and unlocking never changes a
 * run's status.
 *
 * An amend (rvctl amend) changes one segment's text or target duration in
 * the stored spec of a run waiting for approval or aborted: the status
 * compare, the spec write and an operator_action event (reason_key
 * spec_amended) holding the segment before and after and the operator
 * are one transaction.
 *
 * Public (backend-internal): sqs_operator_action, sqs_force_unlock,
 * sqs_amend, sqs_operator_sql.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>
#include <sqlite3.h>

#include "common/core/errbuf.h"
#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/store/sqlite.h"

/* A decision applied before with the nonce <?2> (full, or 8 hex). */
static const char sql_nonce_used[] =
    "SELECT 1 FROM run_events WHERE run_id = ?1"
    " AND event_type = 'operator_action'"
    " AND substr(lower(json_extract(payload, '$.nonce')), 1,"
    " length(?2)) = ?2"
    " AND json_extract(payload, '$.action') = ?3 LIMIT 1";

/*
 * Apply decision <?4> (approve, refetch, abort): the new status, the open
 * gate closed and recorded as decided; an abort also drops the lease in
 * the same step (its epoch fenced), worker state idle.
 */
static const char sql_decide[] =
    "UPDATE pipeline_runs SET status = ?2, force_refetch = ?3,"
    " decided_nonce = CASE WHEN gate_nonce IS NOT NULL THEN gate_nonce"
    " WHEN ?4 = 'abort' THEN NULL ELSE decided_nonce END,"
    " gate_decision = CASE WHEN gate_nonce IS NOT NULL OR ?4 = 'abort'"
    " THEN ?4 ELSE gate_decision END,"
    " gate_nonce = NULL,"
    " fenced_epoch = CASE WHEN ?4 = 'abort' AND lock_token IS NOT NULL"
    " THEN lease_epoch ELSE fenced_epoch END,"
    " lock_token = CASE WHEN ?4 = 'abort' THEN NULL ELSE lock_token END,"
    " lease_expires_at = CASE WHEN ?4 = 'abort' THEN NULL"
    " ELSE lease_expires_at END,"
    " worker_state = CASE WHEN ?4 = 'abort' THEN 'idle'"
    " ELSE worker_state END,"
    " updated_at = " SQS_NOW " WHERE run_id = ?1";

/* An amend reads the status and spec, and writes the spec (CAS). */
static const char sql_amend_read[] =
    "SELECT status, spec_json FROM pipeline_runs WHERE run_id = ?1";
static const char sql_amend_write[] =
    "UPDATE pipeline_runs SET spec_json = ?2, updated_at = " SQS_NOW
    " WHERE run_id = ?1 AND status = ?3";

const char *const sqs_operator_sql[] = {
	sql_nonce_used, sql_decide, sql_amend_read, sql_amend_write, NULL
};

/* One operator_action call while it is being decided. */
struct op_call {
	const char	*run_id;
	const char	*action;
	const char	*operator_name;
	const char	*nonce;		/* NULL when none; lower case */
	struct sqs_row	 row;
	enum store_action_result res;
	const char	*to_status;	/* NULL: status unchanged */
	char		 why[160];	/* why not applied */
};

static const char *
applied_verb(const char *action)
{
	if (strcmp(action, "approve") == 0)
		return "approved";
	if (strcmp(action, "refetch") == 0)
		return "refetch requested";
	if (strcmp(action, "abort") == 0)
		return "aborted";
	return "unlocked";
}

static cJSON *
lock_snapshot(const struct sqs_row *row)
{
	cJSON *o = cJSON_CreateObject();

	sqs_json_str(o, "worker_id", row->worker_id);
	sqs_json_str(o, "lock_token", row->lock_token);
	cJSON_AddNumberToObject(o, "lease_epoch", (double)row->lease_epoch);
	sqs_json_str(o, "lease_expires_at", row->lease_expires_at);
	sqs_json_str(o, "last_heartbeat_at", row->last_heartbeat_at);
	cJSON_AddBoolToObject(o, "live", row->live);
	return o;
}

/* Whether <nonce> (a uuid, or its first 8 hex digits) names <gate>. */
static bool
nonce_names(const char *nonce, const char *gate)
{
	size_t n = strlen(nonce);

	return gate[0] != '\0' && (n == 8 || n == strlen(gate)) &&
	    strncasecmp(nonce, gate, n) == 0;
}

/*
 * A decision whose nonce is not the open gate's decides the call on its
 * own: the same action applied before with that nonce is already
 * applied; anything else is a closed or replaced gate.  An unlock is
 * about the lease, not a gate: its nonce is not judged.  Returns 1 when
 * it decided (c->res set), 0 to go on, -1 on failure.
 */
static int
judge_nonce(struct sqs *s, struct op_call *c, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int r;

	if (c->nonce == NULL || strcmp(c->action, "unlock") == 0 ||
	    nonce_names(c->nonce, c->row.gate_nonce))
		return 0;
	if (sqs_prep(s, &st, err, errlen, sql_nonce_used, "sss", c->run_id,
	    c->nonce, c->action) == -1)
		return -1;
	r = sqs_step(s, st, err, errlen);
	sqlite3_finalize(st);
	if (r == -1)
		return -1;
	if (r == 1) {
		c->res = ACTION_ALREADY_APPLIED;
		strlcpy(c->why, "this button was already used",
		    sizeof(c->why));
	} else {
		c->res = ACTION_NOT_POSSIBLE;
		strlcpy(c->why, "no longer possible: that gate is closed",
		    sizeof(c->why));
	}
	return 1;
}

static void
decide_unlock(struct op_call *c)
{
	if (c->row.lock_token[0] == '\0') {
		c->res = ACTION_ALREADY_APPLIED;
		strlcpy(c->why, "run is not locked", sizeof(c->why));
	} else if (c->row.live) {
		c->res = ACTION_NOT_POSSIBLE;
		snprintf(c->why, sizeof(c->why), "the lease is live (until "
		    "%s) and this unlock never forces; use rvctl unlock "
		    "--force", c->row.lease_expires_at);
	} else
		c->res = ACTION_APPLIED;
}

static void
decide_approve(struct op_call *c, const char *st, bool term)
{
	if (strcmp(st, RUN_APPROVED) == 0) {
		c->res = ACTION_ALREADY_APPLIED;
		strlcpy(c->why, "run is already approved", sizeof(c->why));
	} else if (strcmp(st, RUN_WAITING_APPROVAL) == 0)
		c->to_status = RUN_APPROVED;
	else if (!term)
		snprintf(c->why, sizeof(c->why), "run is not waiting for "
		    "approval (status %s)", st);
}

static void
decide_refetch(struct op_call *c, bool term)
{
	if (term)
		return;
	if (c->row.force_refetch) {
		c->res = ACTION_ALREADY_APPLIED;
		strlcpy(c->why, "a refetch is already pending", sizeof(c->why));
	} else
		c->to_status = RUN_RUNNING;
}

static void
decide_abort(struct op_call *c, const char *st, bool term)
{
	if (strcmp(st, RUN_ABORTED) == 0) {
		c->res = ACTION_ALREADY_APPLIED;
		strlcpy(c->why, "run is already aborted", sizeof(c->why));
	} else if (!term)
		c->to_status = RUN_ABORTED;
}

/* Decide on the row's state alone (no SQL). */
static void
decide(struct op_call *c)
{
	const char *st = c->row.status;
	bool term = sqs_terminal(st);

	c->res = ACTION_NOT_POSSIBLE;
	c->to_status = NULL;
	if (term)
		snprintf(c->why, sizeof(c->why), "run is %s", st);
	if (strcmp(c->action, "unlock") == 0)
		decide_unlock(c);
	else if (strcmp(c->action, "approve") == 0)
		decide_approve(c, st, term);
	else if (strcmp(c->action, "refetch") == 0)
		decide_refetch(c, term);
	else
		decide_abort(c, st, term);
	if (c->to_status != NULL)
		c->res = ACTION_APPLIED;
}

static int
apply(struct sqs *s, struct op_call *c, char *err, size_t errlen)
{
	int refetch;

	if (c->to_status == NULL)
		return sqs_clear_lock(s, c->run_id, err, errlen);
	refetch = strcmp(c->action, "refetch") == 0 || c->row.force_refetch;
	return sqs_run(s, err, errlen, sql_decide, "ssis", c->run_id,
	    c->to_status, refetch, c->action) < 0 ? -1 : 0;
}

static int
record(struct sqs *s, const struct op_call *c, char *err, size_t errlen)
{
	cJSON *p = cJSON_CreateObject();
	bool applied = c->res == ACTION_APPLIED;

	sqs_json_str(p, "operator", c->operator_name);
	sqs_json_str(p, "action", c->action);
	/* An applied decision names the gate it decided, in full. */
	sqs_json_str(p, "nonce", applied && strcmp(c->action, "unlock") != 0 &&
	    c->row.gate_nonce[0] != '\0' ? c->row.gate_nonce : c->nonce);
	sqs_json_str(p, "result", applied ? "applied" :
	    c->res == ACTION_ALREADY_APPLIED ? "already_applied" :
	    "not_possible");
	sqs_json_str(p, "from_status", c->row.status);
	sqs_json_str(p, "to_status", c->to_status != NULL ? c->to_status :
	    c->row.status);
	if (!applied)
		sqs_json_str(p, "reason", c->why);
	if (strcmp(c->action, "unlock") == 0)
		cJSON_AddItemToObject(p, "previous", lock_snapshot(&c->row));
	if (applied)
		return sqs_event(s, c->run_id, "operator_action",
		    strcmp(c->action, "abort") == 0 ? "WARN" : "INFO",
		    c->action, p, err, errlen);
	return sqs_event(s, c->run_id, "operator_action_ignored", "INFO",
	    c->action, p, err, errlen);
}

static int
action_locked(struct sqs *s, struct op_call *c, char *msg, size_t msglen,
    char *err, size_t errlen)
{
	int r;

	if (sqs_row_load(s, c->run_id, &c->row, err, errlen) != 1)
		return -1;
	if ((r = judge_nonce(s, c, err, errlen)) == -1)
		return -1;
	if (r == 0)
		decide(c);
	if (c->res == ACTION_APPLIED && apply(s, c, err, errlen) == -1)
		return -1;
	if (record(s, c, err, errlen) == -1)
		return -1;
	if (c->res == ACTION_APPLIED)
		sqs_seterr(msg, msglen, "run %s: %s by %s", c->run_id,
		    applied_verb(c->action), c->operator_name);
	else if (c->res == ACTION_ALREADY_APPLIED)
		sqs_seterr(msg, msglen, "run %s: already applied (%s); "
		    "nothing done", c->run_id, c->why);
	else
		sqs_seterr(msg, msglen, "run %s: cannot %s: %s", c->run_id,
		    c->action, c->why);
	return 0;
}

static int
check_action_args(const char *action, const char *nonce, char *err,
    size_t errlen)
{
	char q[64];

	if (action == NULL || (strcmp(action, "approve") != 0 &&
	    strcmp(action, "refetch") != 0 && strcmp(action, "abort") != 0 &&
	    strcmp(action, "unlock") != 0)) {
		sqs_seterr(err, errlen, "action \"%s\" is not one of approve, "
		    "refetch, abort, unlock", errbuf_quote(action, q,
		    sizeof(q)));
		return -1;
	}
	if (nonce != NULL && *nonce != '\0' && !id_uuid_valid(nonce) &&
	    (strlen(nonce) != 8 || strspn(nonce, "0123456789abcdefABCDEF") !=
	    8)) {
		sqs_seterr(err, errlen, "nonce \"%s\" is not a uuid or its "
		    "first 8 hex digits", errbuf_quote(nonce, q, sizeof(q)));
		return -1;
	}
	return 0;
}

/*
 * Apply operator <action> (approve, refetch, abort, unlock) to <run_id>
 * on behalf of <operator_name> (3 to 64 characters).  <nonce> is the gate
 * nonce of the button pressed (a uuid, or its first 8 hex digits as
 * Telegram sends it), or NULL/"" for none: a decision for a gate that is
 * closed or replaced is not possible, or already applied when that
 * action was applied with that nonce.  A decision closes the open gate
 * and records it (decided_nonce, gate_decision = the bare action); an
 * abort also drops the lease (worker state idle) in the same step.  An
 * unlock never forces: a live lease is refused.  *res says whether it
 * was applied, already applied, or not possible; <msg> gets a sentence
 * for the operator.  Returns 0, or -1 on a bad argument, an unknown run
 * (errno ENOENT) or a store failure.
 */
int
sqs_operator_action(void *impl, const char *run_id, const char *action,
    const char *operator_name, const char *nonce,
    enum store_action_result *res, char *msg, size_t msglen, char *err,
    size_t errlen)
{
	struct sqs *s = impl;
	struct op_call c;
	char lnonce[STORE_ID_MAX];
	size_t i;
	int r;

	*res = ACTION_NOT_POSSIBLE;
	sqs_seterr(msg, msglen, "%s", "");
	if (sqs_check_run_id(run_id, err, errlen) == -1 ||
	    check_action_args(action, nonce, err, errlen) == -1 ||
	    sqs_check_name(operator_name, "operator", err, errlen) == -1)
		return -1;
	memset(&c, 0, sizeof(c));
	c.run_id = run_id;
	c.action = action;
	c.operator_name = operator_name;
	c.nonce = NULL;
	if (nonce != NULL && *nonce != '\0') {
		for (i = 0; nonce[i] != '\0' && i + 1 < sizeof(lnonce); i++)
			lnonce[i] = (char)tolower((unsigned char)nonce[i]);
		lnonce[i] = '\0';
		c.nonce = lnonce;
	}
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	r = sqs_end(s, action_locked(s, &c, msg, msglen, err, errlen), err,
	    errlen);
	if (r == 0)
		*res = c.res;
	return r;
}

static int
unlock_locked(struct sqs *s, const char *run_id, const char *operator_id,
    const char *reason, bool force, bool *unlocked, char *msg,
    size_t msglen, char *err, size_t errlen)
{
	struct sqs_row row;
	cJSON *p;

	if (sqs_row_load(s, run_id, &row, err, errlen) != 1)
		return -1;
	*unlocked = !row.live || force;
	if (*unlocked && sqs_clear_lock(s, run_id, err, errlen) == -1)
		return -1;
	if (!*unlocked)
		sqs_seterr(msg, msglen, "run %s: lease is live until %s; use "
		    "--force", run_id, row.lease_expires_at);
	else if (row.lock_token[0] == '\0')
		sqs_seterr(msg, msglen, "run %s: was not locked", run_id);
	else
		sqs_seterr(msg, msglen, "run %s: unlocked (was held by %s, "
		    "epoch %lld)", run_id, row.worker_id, row.lease_epoch);
	p = cJSON_CreateObject();
	sqs_json_str(p, "operator", operator_id);
	sqs_json_str(p, "reason", reason);
	cJSON_AddBoolToObject(p, "force", force);
	cJSON_AddBoolToObject(p, "unlocked", *unlocked);
	sqs_json_str(p, "status", row.status);
	cJSON_AddItemToObject(p, "previous", lock_snapshot(&row));
	return sqs_event(s, run_id, "manual_unlock", "WARN", "manual_unlock",
	    p, err, errlen);
}

/*
 * Clear the lease of <run_id> for operator <operator_id> (3 to 64
 * characters) giving <reason> (non-empty).  Without <force> a live lease
 * is left alone (*unlocked false, <msg> says until when).  The status is
 * never changed; a manual_unlock event with the previous lock is always
 * written.  Returns 0, or -1 (unknown run: errno ENOENT).
 */
int
sqs_force_unlock(void *impl, const char *run_id, const char *operator_id,
    const char *reason, bool force, bool *unlocked, char *msg,
    size_t msglen, char *err, size_t errlen)
{
	struct sqs *s = impl;

	*unlocked = false;
	sqs_seterr(msg, msglen, "%s", "");
	if (sqs_check_run_id(run_id, err, errlen) == -1 ||
	    sqs_check_name(operator_id, "operator", err, errlen) == -1)
		return -1;
	if (reason == NULL || *reason == '\0' || strlen(reason) > 1000) {
		sqs_seterr(err, errlen, "run %s: an unlock needs a reason "
		    "(1 to 1000 bytes)", run_id);
		return -1;
	}
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	return sqs_end(s, unlock_locked(s, run_id, operator_id, reason, force,
	    unlocked, msg, msglen, err, errlen), err, errlen);
}

/* One amend while it is being decided. */
struct amend_call {
	const struct store_amend *a;
	char		 status[STORE_STATUS_MAX];
	cJSON		*spec;
	cJSON		*seg;		/* borrowed from spec */
	enum store_action_result res;
	char		 why[200];
};

/* The amended fields of segment <seg>: {text, approx_duration_sec}. */
static cJSON *
seg_fields(const cJSON *seg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "text", cJSON_Duplicate(
	    cJSON_GetObjectItemCaseSensitive(seg, "text"), true) ?:
	    cJSON_CreateNull());
	cJSON_AddItemToObject(o, "approx_duration_sec", cJSON_Duplicate(
	    cJSON_GetObjectItemCaseSensitive(seg, "approx_duration_sec"),
	    true) ?: cJSON_CreateNull());
	return o;
}

/* Read the run's status and spec; find the segment.  0, or -1. */
static int
amend_load(struct sqs *s, struct amend_call *c, char *err, size_t errlen)
{
	const cJSON *segs, *id;
	sqlite3_stmt *st;
	cJSON *g;
	int r;

	if (sqs_prep(s, &st, err, errlen, sql_amend_read, "s",
	    c->a->run_id) == -1)
		return -1;
	if ((r = sqs_step(s, st, err, errlen)) == 1) {
		sqs_col(st, 0, c->status, sizeof(c->status));
		if (sqlite3_column_text(st, 1) != NULL)
			c->spec = cJSON_Parse((const char *)
			    sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (r == -1)
		return -1;
	if (r == 0) {
		sqs_seterr(err, errlen, "run %s: not found", c->a->run_id);
		errno = ENOENT;
		return -1;
	}
	segs = cJSON_GetObjectItemCaseSensitive(c->spec, "segments");
	cJSON_ArrayForEach(g, segs) {
		id = cJSON_GetObjectItemCaseSensitive(g, "segment_id");
		if (cJSON_IsString(id) && strcmp(id->valuestring,
		    c->a->segment_id) == 0 && cJSON_IsObject(g)) {
			c->seg = g;
			return 0;
		}
	}
	sqs_seterr(err, errlen, "run %s has no segment %s", c->a->run_id,
	    c->a->segment_id);
	errno = EINVAL;
	return -1;
}

/* Change the segment in c->spec; ALREADY_APPLIED when it says that. */
static void
amend_change(struct amend_call *c)
{
	const cJSON *old;

	if (strcmp(c->status, RUN_WAITING_APPROVAL) != 0 &&
	    strcmp(c->status, RUN_ABORTED) != 0) {
		c->res = ACTION_NOT_POSSIBLE;
		snprintf(c->why, sizeof(c->why), "run is %s; only a run "
		    "waiting for approval or aborted can be amended",
		    c->status);
		return;
	}
	if (c->a->text != NULL) {
		old = cJSON_GetObjectItemCaseSensitive(c->seg, "text");
		if (cJSON_IsString(old) && strcmp(old->valuestring,
		    c->a->text) == 0)
			c->res = ACTION_ALREADY_APPLIED;
		else {
			cJSON_DeleteItemFromObjectCaseSensitive(c->seg,
			    "text");
			cJSON_AddStringToObject(c->seg, "text", c->a->text);
		}
	} else {
		old = cJSON_GetObjectItemCaseSensitive(c->seg,
		    "approx_duration_sec");
		if (cJSON_IsNumber(old) && old->valuedouble ==
		    c->a->duration)
			c->res = ACTION_ALREADY_APPLIED;
		else {
			cJSON_DeleteItemFromObjectCaseSensitive(c->seg,
			    "approx_duration_sec");
			cJSON_AddNumberToObject(c->seg, "approx_duration_sec",
			    c->a->duration);
		}
	}
	if (c->res == ACTION_ALREADY_APPLIED)
		strlcpy(c->why, "the segment already says that",
		    sizeof(c->why));
}

static int
amend_locked(struct sqs *s, struct amend_call *c, char *msg, size_t msglen,
    char *err, size_t errlen)
{
	const struct store_amend *a = c->a;
	cJSON *p, *before;
	char *text;
	int r;

	if (amend_load(s, c, err, errlen) == -1)
		return -1;
	before = seg_fields(c->seg);
	c->res = ACTION_APPLIED;
	amend_change(c);
	p = cJSON_CreateObject();
	sqs_json_str(p, "operator", a->operator_name);
	sqs_json_str(p, "action", "amend");
	sqs_json_str(p, "segment_id", a->segment_id);
	sqs_json_str(p, "field", a->text != NULL ? "text" :
	    "approx_duration_sec");
	sqs_json_str(p, "status", c->status);
	cJSON_AddItemToObject(p, "before", before);
	if (c->res != ACTION_APPLIED) {
		sqs_json_str(p, "result", c->res == ACTION_ALREADY_APPLIED ?
		    "already_applied" : "not_possible");
		sqs_json_str(p, "reason", c->why);
		sqs_seterr(msg, msglen, "run %s: %s: %s", a->run_id,
		    c->res == ACTION_ALREADY_APPLIED ? "already applied" :
		    "cannot amend", c->why);
		return sqs_event(s, a->run_id, "operator_action_ignored",
		    "INFO", "spec_amended", p, err, errlen);
	}
	sqs_json_str(p, "result", "applied");
	cJSON_AddItemToObject(p, "after", seg_fields(c->seg));
	if ((text = cJSON_PrintUnformatted(c->spec)) == NULL ||
	    strlen(text) > SQS_SPEC_MAX) {
		sqs_seterr(err, errlen, "run %s: the amended spec is too large",
		    a->run_id);
		cJSON_free(text);
		cJSON_Delete(p);
		errno = EINVAL;
		return -1;
	}
	r = sqs_run(s, err, errlen, sql_amend_write, "sss", a->run_id, text,
	    c->status);
	cJSON_free(text);
	if (r != 1) {
		if (r == 0)
			sqs_seterr(err, errlen, "run %s changed meanwhile; "
			    "nothing amended", a->run_id);
		cJSON_Delete(p);
		return -1;
	}
	sqs_seterr(msg, msglen, "run %s: segment %s amended by %s", a->run_id,
	    a->segment_id, a->operator_name);
	return sqs_event(s, a->run_id, "operator_action", "WARN",
	    "spec_amended", p, err, errlen);
}

/*
 * Amend one segment of a run's stored spec (store.h, struct
 * store_amend; the door checked the arguments).  The status is compared
 * and the spec written in one BEGIN IMMEDIATE transaction with the
 * operator_action event (before, after, operator).  Returns 0 with *res
 * and <msg>, or -1 (unknown run: errno ENOENT; unknown segment or spec
 * too large: errno EINVAL).
 */
int
sqs_amend(void *impl, const struct store_amend *a,
    enum store_action_result *res, char *msg, size_t msglen, char *err,
    size_t errlen)
{
	struct sqs *s = impl;
	struct amend_call c;
	int r;

	memset(&c, 0, sizeof(c));
	c.a = a;
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	r = sqs_end(s, amend_locked(s, &c, msg, msglen, err, errlen), err,
	    errlen);
	cJSON_Delete(c.spec);
	if (r == 0)
		*res = c.res;
	return r;
}
