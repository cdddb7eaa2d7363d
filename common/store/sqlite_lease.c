/* SPDX-License-Identifier: ISC */
/*
 * sqlite_lease.c: the lease of the SQLite store backend, the calls a
 * claiming worker makes (SPEC section 2): claim, heartbeat, release,
 * finish, gate and set_worker_state.
 *
 * Each call is one BEGIN IMMEDIATE transaction that reads the row, decides
 * in C and writes, so two processes never both claim one run and a holder
 * whose token is gone can change nothing.  Claim looks for the caller's
 * own run first (recovery): it comes back when the caller presents the
 * run's current token, when no heartbeat arrived for two heartbeat
 * intervals, or when its lease already expired; a live duplicate with the
 * same worker id never gets it.  Otherwise the oldest free run is taken,
 * approved ones first.  Every claim sets the caller's new token and bumps
 * lease_epoch.  Times come from the database clock only.  Operator calls
 * live in sqlite_operator.c.
 *
 * Public (backend-internal): sqs_claim, sqs_heartbeat, sqs_release,
 * sqs_finish, sqs_gate, sqs_set_worker_state, sqs_lease_sql.
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

/* The caller's own run (recovery), see the paragraph above. */
static const char sql_pick_own[] =
    "SELECT run_id FROM pipeline_runs"
    " WHERE worker_id = ?1 AND lock_token IS NOT NULL"
    " AND status NOT IN " SQS_TERMINAL
    " AND (lease_expires_at IS NULL"
    " OR julianday(lease_expires_at) <= julianday('now')"
    " OR lock_token = ?2 OR last_heartbeat_at IS NULL"
    " OR " SQS_AGE("last_heartbeat_at") " > ?3)"
    " ORDER BY created_at, rowid LIMIT 1";

/*
 * The oldest claimable run of one status, called for 'approved', then for
 * 'running': the oldest unlocked one (partial index pipeline_runs_free,
 * which holds only unlocked rows, gives the order without scanning the
 * claimed ones) and the oldest whose lease expired (index
 * pipeline_runs_lease), whichever was created first.
 */
static const char sql_pick_free[] =
    "SELECT run_id, worker_id FROM ("
    " SELECT * FROM (SELECT run_id, worker_id, created_at, rowid AS r"
    "  FROM pipeline_runs INDEXED BY pipeline_runs_free"
    "  WHERE status = ?2 AND lock_token IS NULL"
    "  AND (?1 = '' OR task_type = ?1)"
    "  ORDER BY created_at, rowid LIMIT 1)"
    " UNION ALL"
    " SELECT * FROM (SELECT run_id, worker_id, created_at, rowid AS r"
    "  FROM pipeline_runs INDEXED BY pipeline_runs_lease"
    "  WHERE lock_token IS NOT NULL AND status = ?2"
    "  AND lease_expires_at <= " SQS_NOW
    "  AND (?1 = '' OR task_type = ?1)"
    "  ORDER BY created_at, rowid LIMIT 1))"
    " ORDER BY created_at, r LIMIT 1";

static const char sql_take[] =
    "UPDATE pipeline_runs SET lock_token = ?2,"
    " lease_epoch = lease_epoch + 1, worker_id = ?3,"
    " worker_state = 'active', last_heartbeat_at = " SQS_NOW ","
    " lease_expires_at = " SQS_LEASE("?4") ", updated_at = " SQS_NOW
    " WHERE run_id = ?1 RETURNING video_id, lease_epoch";

static const char sql_renew[] =
    "UPDATE pipeline_runs SET lease_expires_at = " SQS_LEASE("?2") ","
    " last_heartbeat_at = " SQS_NOW ","
    " heartbeat_latency_ms = CASE WHEN ?3 >= 0 THEN ?3"
    " ELSE heartbeat_latency_ms END,"
    " worker_state = coalesce(?4, worker_state), force_refetch = 0,"
    " updated_at = " SQS_NOW " WHERE run_id = ?1";

static const char sql_release[] =
    "UPDATE pipeline_runs SET lock_token = NULL, lease_expires_at = NULL,"
    " worker_state = ?2, updated_at = " SQS_NOW " WHERE run_id = ?1";

static const char sql_finish[] =
    "UPDATE pipeline_runs SET status = ?2, error = ?3, lock_token = NULL,"
    " lease_expires_at = NULL, worker_state = 'idle', gate_nonce = NULL,"
    " updated_at = " SQS_NOW " WHERE run_id = ?1";

static const char sql_gate[] =
    "UPDATE pipeline_runs SET status = 'waiting_approval',"
    " worker_state = ?5, gate_nonce = ?2, gate_reason = ?3,"
    " gate_evidence = ?4, gated_at = " SQS_NOW ", gate_decision = NULL,"
    " decided_nonce = NULL, updated_at = " SQS_NOW " WHERE run_id = ?1";

static const char sql_set_state[] =
    "UPDATE pipeline_runs SET worker_state = ?2, updated_at = " SQS_NOW
    " WHERE run_id = ?1";

const char *const sqs_lease_sql[] = {
	sql_pick_own, sql_pick_free, sql_take, sql_renew, sql_release,
	sql_finish, sql_gate, sql_set_state, NULL
};

/* Run id of the caller's own recoverable run: 1, 0 when none, or -1. */
static int
pick_own(struct sqs *s, const char *worker_id, const char *prev,
    char *run_id, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int r;

	if (sqs_prep(s, &st, err, errlen, sql_pick_own, "szd", worker_id,
	    prev, 2.0 * s->hb_interval) == -1)
		return -1;
	if ((r = sqs_step(s, st, err, errlen)) == 1)
		sqs_col(st, 0, run_id, STORE_ID_MAX);
	sqlite3_finalize(st);
	return r;
}

static int
pick_free(struct sqs *s, const char *task_type, char *run_id,
    char *prev_worker, char *err, size_t errlen)
{
	static const char *const order[] = { RUN_APPROVED, RUN_RUNNING };
	sqlite3_stmt *st;
	int r = 0;
	size_t i;

	for (i = 0; i < 2 && r == 0; i++) {
		if (sqs_prep(s, &st, err, errlen, sql_pick_free, "ss",
		    task_type, order[i]) == -1)
			return -1;
		if ((r = sqs_step(s, st, err, errlen)) == 1) {
			sqs_col(st, 0, run_id, STORE_ID_MAX);
			sqs_col(st, 1, prev_worker, STORE_WID_MAX);
		}
		sqlite3_finalize(st);
	}
	return r;
}

static int
take(struct sqs *s, const char *run_id, const char *worker_id,
    const char *lock_token, int lease, struct store_claim *out, char *err,
    size_t errlen)
{
	sqlite3_stmt *st;
	int r;

	if (sqs_prep(s, &st, err, errlen, sql_take, "sssi", run_id,
	    lock_token, worker_id, lease) == -1)
		return -1;
	if ((r = sqs_step(s, st, err, errlen)) == 1) {
		strlcpy(out->run_id, run_id, sizeof(out->run_id));
		sqs_col(st, 0, out->video_id, sizeof(out->video_id));
		strlcpy(out->lock_token, lock_token, sizeof(out->lock_token));
		out->lease_epoch = sqlite3_column_int64(st, 1);
		r = sqs_step(s, st, err, errlen) == -1 ? -1 : 1;
	} else if (r == 0) {
		sqs_seterr(err, errlen, "run %s vanished while claimed",
		    run_id);
		r = -1;
	}
	sqlite3_finalize(st);
	return r;
}

static int
claim_locked(struct sqs *s, const char *worker_id, const char *lock_token,
    int lease, const char *task_type, const char *prev,
    struct store_claim *out, char *err, size_t errlen)
{
	char run_id[STORE_ID_MAX], prev_worker[STORE_WID_MAX] = "";
	cJSON *p;
	int r;

	if ((r = pick_own(s, worker_id, prev, run_id, err, errlen)) == 1) {
		out->is_recovery = true;
		strlcpy(prev_worker, worker_id, sizeof(prev_worker));
	} else if (r == 0)
		r = pick_free(s, task_type, run_id, prev_worker, err, errlen);
	if (r <= 0)
		return r;
	if (take(s, run_id, worker_id, lock_token, lease, out, err,
	    errlen) == -1)
		return -1;
	p = cJSON_CreateObject();
	sqs_json_str(p, "worker_id", worker_id);
	cJSON_AddNumberToObject(p, "lease_epoch", (double)out->lease_epoch);
	cJSON_AddBoolToObject(p, "is_recovery", out->is_recovery);
	sqs_json_str(p, "previous_worker_id", prev_worker);
	cJSON_AddNumberToObject(p, "lease_minutes", lease);
	if (sqs_event(s, run_id, "run_claimed", "INFO", "claim", p, err,
	    errlen) == -1)
		return -1;
	return 1;
}

/*
 * Claim a run for <worker_id> under the new <lock_token> (a uuid).
 * <task_type> "" or NULL takes any run; <prev_lock_token> is the token
 * of the caller's checkpoint, or ""/NULL.  Returns 1 with <out> filled, 0
 * when there is nothing to claim, -1 on a bad argument or store failure.
 */
int
sqs_claim(void *impl, const char *worker_id, const char *lock_token,
    int lease_minutes, const char *task_type, const char *prev_lock_token,
    struct store_claim *out, char *err, size_t errlen)
{
	struct sqs *s = impl;
	char q[64];

	memset(out, 0, sizeof(*out));
	if (sqs_check_name(worker_id, "worker id", err, errlen) == -1)
		return -1;
	if (!id_uuid_valid(lock_token)) {
		sqs_seterr(err, errlen, "lock token \"%s\" is not a uuid",
		    errbuf_quote(lock_token, q, sizeof(q)));
		return -1;
	}
	if (task_type == NULL)
		task_type = "";
	if (strlen(task_type) > TASK_TYPE_MAX) {
		sqs_seterr(err, errlen, "task type \"%s\" is too long (at "
		    "most %d)", errbuf_quote(task_type, q, sizeof(q)),
		    TASK_TYPE_MAX);
		return -1;
	}
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	return sqs_end(s, claim_locked(s, worker_id, lock_token,
	    sqs_lease_clamp(lease_minutes), task_type, prev_lock_token, out,
	    err, errlen), err, errlen);
}

/* Validate the arguments every holder call shares. */
static int
check_holder(const char *run_id, const char *worker_id,
    const char *lock_token, char *err, size_t errlen)
{
	if (sqs_check_run_id(run_id, err, errlen) == -1 ||
	    sqs_check_name(worker_id, "worker id", err, errlen) == -1)
		return -1;
	if (lock_token == NULL || *lock_token == '\0') {
		sqs_seterr(err, errlen, "run %s: empty lock token", run_id);
		return -1;
	}
	return 0;
}

static int
check_state_arg(const char *ws, bool may_be_empty, char *err, size_t errlen)
{
	char q[64];

	if (may_be_empty && (ws == NULL || *ws == '\0'))
		return 0;
	if (sqs_worker_state_valid(ws))
		return 0;
	sqs_seterr(err, errlen, "worker state \"%s\" is not one of active, "
	    "waiting, panic, idle", errbuf_quote(ws, q, sizeof(q)));
	return -1;
}

static int
heartbeat_locked(struct sqs *s, const char *run_id, const char *worker_id,
    const char *lock_token, int lease, long latency_ms, const char *ws,
    struct store_hb *out, char *err, size_t errlen)
{
	struct sqs_row row;

	if (sqs_row_load(s, run_id, &row, err, errlen) != 1)
		return -1;
	strlcpy(out->status, row.status, sizeof(out->status));
	strlcpy(out->gate_nonce, row.gate_nonce, sizeof(out->gate_nonce));
	strlcpy(out->decided_nonce, row.decided_nonce,
	    sizeof(out->decided_nonce));
	strlcpy(out->decision, row.gate_decision, sizeof(out->decision));
	if (!sqs_row_holds(&row, worker_id, lock_token) ||
	    sqs_terminal(row.status))
		return 0;
	if (sqs_run(s, err, errlen, sql_renew, "siIz", run_id, lease,
	    (long long)latency_ms, ws) < 0)
		return -1;
	out->ok = true;
	out->force_refetch = row.force_refetch;
	return 0;
}

/*
 * Renew the lease of <run_id> for its holder.  out->ok is false when the
 * lock is gone (another token, unlocked, aborted, or the run is
 * terminal: then out->status says which).  A pending force_refetch is
 * reported once and cleared.  out->gate_nonce is the open gate's nonce,
 * out->decided_nonce and out->decision the last gate decided and how
 * (also when ok is false).  Returns 0, or -1 (unknown run: errno ENOENT).
 */
int
sqs_heartbeat(void *impl, const char *run_id, const char *worker_id,
    const char *lock_token, int lease_minutes, long latency_ms,
    const char *worker_state, struct store_hb *out, char *err,
    size_t errlen)
{
	struct sqs *s = impl;

	memset(out, 0, sizeof(*out));
	if (check_holder(run_id, worker_id, lock_token, err, errlen) == -1 ||
	    check_state_arg(worker_state, true, err, errlen) == -1)
		return -1;
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	return sqs_end(s, heartbeat_locked(s, run_id, worker_id, lock_token,
	    sqs_lease_clamp(lease_minutes), latency_ms, worker_state, out,
	    err, errlen), err, errlen);
}

static int
release_locked(struct sqs *s, const char *run_id, const char *worker_id,
    const char *lock_token, const char *ws, bool *ok, char *err,
    size_t errlen)
{
	struct sqs_row row;
	cJSON *p;

	if (sqs_row_load(s, run_id, &row, err, errlen) != 1)
		return -1;
	if (!sqs_row_holds(&row, worker_id, lock_token))
		return 0;
	if (sqs_run(s, err, errlen, sql_release, "ss", run_id, ws) < 0)
		return -1;
	p = cJSON_CreateObject();
	sqs_json_str(p, "worker_id", worker_id);
	cJSON_AddNumberToObject(p, "lease_epoch", (double)row.lease_epoch);
	sqs_json_str(p, "worker_state", ws);
	sqs_json_str(p, "status", row.status);
	if (sqs_event(s, run_id, "run_released", "INFO", "release", p, err,
	    errlen) == -1)
		return -1;
	*ok = true;
	return 0;
}

/*
 * Give up the lease of <run_id> without changing its status; the run's
 * worker state becomes <worker_state> (""/NULL: idle).  *ok is false when
 * the caller's token is not the current one.  Returns 0, or -1.
 */
int
sqs_release(void *impl, const char *run_id, const char *worker_id,
    const char *lock_token, const char *worker_state, bool *ok, char *err,
    size_t errlen)
{
	struct sqs *s = impl;

	*ok = false;
	if (check_holder(run_id, worker_id, lock_token, err, errlen) == -1 ||
	    check_state_arg(worker_state, true, err, errlen) == -1)
		return -1;
	if (worker_state == NULL || *worker_state == '\0')
		worker_state = WS_IDLE;
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	return sqs_end(s, release_locked(s, run_id, worker_id, lock_token,
	    worker_state, ok, err, errlen), err, errlen);
}

static int
finish_locked(struct sqs *s, const char *run_id, const char *worker_id,
    const char *lock_token, const char *status, const char *error,
    bool *ok, char *err, size_t errlen)
{
	struct sqs_row row;
	const char *sev;
	cJSON *p;

	if (sqs_row_load(s, run_id, &row, err, errlen) != 1)
		return -1;
	if (!sqs_row_holds(&row, worker_id, lock_token))
		return 0;
	if (sqs_terminal(row.status) && (strcmp(row.status, RUN_ABORTED) != 0 ||
	    strcmp(status, RUN_ABORTED) != 0))
		return 0;
	if (sqs_run(s, err, errlen, sql_finish, "ssz", run_id, status,
	    error) < 0)
		return -1;
	p = cJSON_CreateObject();
	sqs_json_str(p, "worker_id", worker_id);
	cJSON_AddNumberToObject(p, "lease_epoch", (double)row.lease_epoch);
	sqs_json_str(p, "status", status);
	sqs_json_str(p, "previous_status", row.status);
	sqs_json_str(p, "error", error);
	sev = strcmp(status, RUN_DONE) == 0 ? "INFO" :
	    strcmp(status, RUN_FAILED) == 0 ? "ERROR" : "WARN";
	if (sqs_event(s, run_id, "run_finished", sev, status, p, err,
	    errlen) == -1)
		return -1;
	*ok = true;
	return 0;
}

/*
 * Set the final <status> (done, failed or aborted) of <run_id> and drop
 * its lease in one guarded step.  *ok is false when the token is not the
 * current one or the run is already terminal (finishing an operator's
 * abort as aborted is allowed; as anything else it is refused).  <error>
 * may be NULL or "".  Returns 0, or -1.
 */
int
sqs_finish(void *impl, const char *run_id, const char *worker_id,
    const char *lock_token, const char *status, const char *error,
    bool *ok, char *err, size_t errlen)
{
	struct sqs *s = impl;
	char q[64];

	*ok = false;
	if (check_holder(run_id, worker_id, lock_token, err, errlen) == -1)
		return -1;
	if (status == NULL || !sqs_terminal(status)) {
		sqs_seterr(err, errlen, "run %s: final status \"%s\" is not "
		    "one of done, failed, aborted", run_id,
		    errbuf_quote(status, q, sizeof(q)));
		return -1;
	}
	if (error != NULL && strlen(error) > 4096) {
		sqs_seterr(err, errlen, "run %s: error text is longer than "
		    "4096 bytes", run_id);
		return -1;
	}
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	return sqs_end(s, finish_locked(s, run_id, worker_id, lock_token,
	    status, error, ok, err, errlen), err, errlen);
}

static int
gate_locked(struct sqs *s, const char *run_id, const char *worker_id,
    const char *lock_token, const char *reason, const char *ws,
    const char *evidence, char *nonce_out, bool *ok, char *err,
    size_t errlen)
{
	char nonce[ID_UUID_LEN + 1];
	struct sqs_row row;
	cJSON *p;

	if (sqs_row_load(s, run_id, &row, err, errlen) != 1)
		return -1;
	if (!sqs_row_holds(&row, worker_id, lock_token) ||
	    sqs_terminal(row.status))
		return 0;
	id_uuid_new(nonce);
	if (sqs_run(s, err, errlen, sql_gate, "sssss", run_id, nonce, reason,
	    evidence, ws) < 0)
		return -1;
	p = cJSON_CreateObject();
	sqs_json_str(p, "reason", reason);
	sqs_json_str(p, "worker_state", ws);
	cJSON_AddItemToObject(p, "evidence", cJSON_Parse(evidence));
	sqs_json_str(p, "nonce", nonce);
	sqs_json_str(p, "worker_id", worker_id);
	cJSON_AddNumberToObject(p, "lease_epoch", (double)row.lease_epoch);
	sqs_json_str(p, "previous_status", row.status);
	if (sqs_event(s, run_id, "gate_opened", "WARN", "gate", p, err,
	    errlen) == -1)
		return -1;
	strlcpy(nonce_out, nonce, STORE_ID_MAX);
	*ok = true;
	return 0;
}

/*
 * Open a gate on <run_id> for its holder: status waiting_approval, worker
 * state <worker_state> (waiting or panic; NULL or "": waiting), a fresh
 * nonce copied to <nonce_out> (STORE_ID_MAX bytes); the last decision
 * (decided_nonce, gate_decision) is cleared.  <evidence> is borrowed
 * (NULL = {}).  *ok is false when the token is not current or the run
 * is terminal.  Returns 0, or -1.
 */
int
sqs_gate(void *impl, const char *run_id, const char *worker_id,
    const char *lock_token, const char *reason, const char *worker_state,
    const cJSON *evidence, char *nonce_out, bool *ok, char *err,
    size_t errlen)
{
	struct sqs *s = impl;
	char *text, q[64];
	int r;

	*ok = false;
	nonce_out[0] = '\0';
	if (check_holder(run_id, worker_id, lock_token, err, errlen) == -1)
		return -1;
	if (worker_state == NULL || *worker_state == '\0')
		worker_state = WS_WAITING;
	if (strcmp(worker_state, WS_WAITING) != 0 &&
	    strcmp(worker_state, WS_PANIC) != 0) {
		sqs_seterr(err, errlen, "run %s: a gate's worker state \"%s\" "
		    "is not waiting or panic", run_id,
		    errbuf_quote(worker_state, q, sizeof(q)));
		return -1;
	}
	if (reason == NULL || *reason == '\0' || strlen(reason) > 1000) {
		sqs_seterr(err, errlen, "run %s: gate reason must be 1 to 1000 "
		    "bytes", run_id);
		return -1;
	}
	text = evidence != NULL ? cJSON_PrintUnformatted(evidence) : NULL;
	if (evidence != NULL && text == NULL) {
		sqs_seterr(err, errlen, "run %s: gate evidence: out of memory",
		    run_id);
		return -1;
	}
	if (text != NULL && strlen(text) > SQS_PAYLOAD_MAX) {
		cJSON_free(text);
		sqs_seterr(err, errlen, "run %s: gate evidence is larger than "
		    "%d bytes", run_id, SQS_PAYLOAD_MAX);
		return -1;
	}
	if ((r = sqs_begin(s, err, errlen)) == 0)
		r = sqs_end(s, gate_locked(s, run_id, worker_id, lock_token,
		    reason, worker_state, text != NULL ? text : "{}",
		    nonce_out, ok, err, errlen), err, errlen);
	cJSON_free(text);
	return r;
}

static int
set_state_locked(struct sqs *s, const char *run_id, const char *worker_id,
    const char *lock_token, const char *ws, bool *ok, char *err,
    size_t errlen)
{
	struct sqs_row row;

	if (sqs_row_load(s, run_id, &row, err, errlen) != 1)
		return -1;
	if (!sqs_row_holds(&row, worker_id, lock_token))
		return 0;
	if (sqs_run(s, err, errlen, sql_set_state, "ss", run_id, ws) < 0)
		return -1;
	*ok = true;
	return 0;
}

/*
 * Record the holder's worker state on <run_id>.  *ok is false when the
 * token is not current.  Returns 0, or -1.
 */
int
sqs_set_worker_state(void *impl, const char *run_id, const char *worker_id,
    const char *lock_token, const char *worker_state, bool *ok, char *err,
    size_t errlen)
{
	struct sqs *s = impl;

	*ok = false;
	if (check_holder(run_id, worker_id, lock_token, err, errlen) == -1 ||
	    check_state_arg(worker_state, false, err, errlen) == -1)
		return -1;
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	return sqs_end(s, set_state_locked(s, run_id, worker_id, lock_token,
	    worker_state, ok, err, errlen), err, errlen);
}
