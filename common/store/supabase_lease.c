/* SPDX-License-Identifier: ISC */
/*
 * supabase_lease.c: the lease and the operator calls of the supabase
 * store backend (SPEC sections 2 and 4): claim, heartbeat, release,
 * finish, gate, set_worker_state, operator_action and force_unlock.
 *
 * Each call is one RPC of the migration, which decides inside one
 * PostgreSQL transaction under a row lock (claims with FOR UPDATE SKIP
 * LOCKED), with the same rules and messages as the SQLite backend; so
 * this file only sends the named arguments and checks the answer.  The
 * recovery rule of claim needs the supervisors' heartbeat interval, sent
 * as p_heartbeat_interval_sec.  A refusal that is an answer (a lost lock,
 * an action already applied) comes back in the out-parameters; -1 means
 * the call failed (errno says how, see supabase_http.c).  Nothing here
 * logs.
 *
 * Public (backend-internal): sbs_claim, sbs_heartbeat, sbs_release,
 * sbs_finish, sbs_gate, sbs_set_worker_state, sbs_operator_action,
 * sbs_force_unlock, sbs_amend.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/store/supabase.h"

/* The arguments every holder call starts with. */
static cJSON *
holder_args(const char *run_id, const char *worker_id, const char *token)
{
	cJSON *a = sbs_args();

	sbs_arg_str(a, "p_run_id", run_id);
	sbs_arg_str(a, "p_worker_id", worker_id);
	sbs_arg_str(a, "p_lock_token", token);
	return a;
}

static void
arg_int(cJSON *a, const char *key, double v)
{
	if (a != NULL)
		cJSON_AddNumberToObject(a, key, v);
}

/* Call <fn>, whose answer is a boolean, into *ok.  Returns 0 or -1. */
static int
bool_call(struct sbs *s, const char *fn, cJSON *args, bool *ok, char *err,
    size_t errlen)
{
	cJSON *ans;
	int r = 0;

	*ok = false;
	if (sbs_rpc(s, fn, args, 0, &ans, err, errlen) == -1)
		return -1;
	if (!cJSON_IsBool(ans))
		r = sbs_bad_answer(fn, "not a boolean", err, errlen);
	else
		*ok = cJSON_IsTrue(ans);
	cJSON_Delete(ans);
	return r;
}

static int
fill_claim(const cJSON *row, struct store_claim *out, const char *fn,
    char *err, size_t errlen)
{
	if (sbs_get_str(row, "run_id", out->run_id, sizeof(out->run_id), true,
	    fn, err, errlen) == -1 ||
	    sbs_get_str(row, "video_id", out->video_id, sizeof(out->video_id),
	    true, fn, err, errlen) == -1 ||
	    sbs_get_str(row, "lock_token", out->lock_token,
	    sizeof(out->lock_token), true, fn, err, errlen) == -1 ||
	    sbs_get_ll(row, "lease_epoch", &out->lease_epoch, fn, err,
	    errlen) == -1 ||
	    sbs_get_bool(row, "is_recovery", &out->is_recovery, fn, err,
	    errlen) == -1)
		return -1;
	if (!id_uuid_valid(out->run_id) || !id_uuid_valid(out->lock_token) ||
	    out->lease_epoch < 1)
		return sbs_bad_answer(fn, "claim row", err, errlen);
	return 0;
}

/*
 * Claim a run (see sqs_claim): rpc_claim_next_run.  Returns 1 with <out>
 * filled, 0 when there is nothing to claim, -1 on a bad argument or a
 * store failure.
 */
int
sbs_claim(void *impl, const char *worker_id, const char *lock_token,
    int lease_minutes, const char *task_type, const char *prev_lock_token,
    struct store_claim *out, char *err, size_t errlen)
{
	const char *fn = "rpc_claim_next_run";
	struct sbs *s = impl;
	const cJSON *row;
	cJSON *args, *ans;
	int r;

	memset(out, 0, sizeof(*out));
	args = sbs_args();
	sbs_arg_str(args, "p_worker_id", worker_id);
	sbs_arg_str(args, "p_lock_token", lock_token);
	arg_int(args, "p_lease_minutes", lease_minutes);
	sbs_arg_str(args, "p_task_type", task_type != NULL ? task_type : "");
	sbs_arg_str(args, "p_prev_lock_token", prev_lock_token);
	arg_int(args, "p_heartbeat_interval_sec", s->hb_interval);
	if (sbs_rpc(s, fn, args, 0, &ans, err, errlen) == -1)
		return -1;
	if (!cJSON_IsArray(ans))
		r = sbs_bad_answer(fn, "not an array", err, errlen);
	else if (cJSON_GetArraySize(ans) == 0)
		r = 0;
	else if ((row = sbs_row(ans)) == NULL || cJSON_GetArraySize(ans) > 1)
		r = sbs_bad_answer(fn, "more than one row", err, errlen);
	else
		r = fill_claim(row, out, fn, err, errlen) == 0 ? 1 : -1;
	cJSON_Delete(ans);
	if (r == -1)
		memset(out, 0, sizeof(*out));
	return r;
}

/*
 * Renew the lease (see sqs_heartbeat): cas_heartbeat_run.  out->ok false
 * means the lock is gone; the gate fields come back either way.  Returns
 * 0, or -1 (unknown run: ENOENT).
 */
int
sbs_heartbeat(void *impl, const char *run_id, const char *worker_id,
    const char *lock_token, int lease_minutes, long latency_ms,
    const char *worker_state, struct store_hb *out, char *err,
    size_t errlen)
{
	const char *fn = "cas_heartbeat_run";
	const cJSON *row;
	cJSON *args, *ans;
	int r = -1;

	memset(out, 0, sizeof(*out));
	args = holder_args(run_id, worker_id, lock_token);
	arg_int(args, "p_lease_minutes", lease_minutes);
	arg_int(args, "p_latency_ms", (double)latency_ms);
	if (worker_state != NULL && *worker_state != '\0')
		sbs_arg_str(args, "p_worker_state", worker_state);
	if (sbs_rpc(impl, fn, args, 0, &ans, err, errlen) == -1)
		return -1;
	if ((row = sbs_row(ans)) == NULL)
		sbs_bad_answer(fn, "no row", err, errlen);
	else if (sbs_get_bool(row, "ok", &out->ok, fn, err, errlen) == 0 &&
	    sbs_get_str(row, "status", out->status, sizeof(out->status), true,
	    fn, err, errlen) == 0 &&
	    sbs_get_bool(row, "force_refetch", &out->force_refetch, fn, err,
	    errlen) == 0 &&
	    sbs_get_str(row, "gate_nonce", out->gate_nonce,
	    sizeof(out->gate_nonce), false, fn, err, errlen) == 0 &&
	    sbs_get_str(row, "decided_nonce", out->decided_nonce,
	    sizeof(out->decided_nonce), false, fn, err, errlen) == 0 &&
	    sbs_get_str(row, "decision", out->decision,
	    sizeof(out->decision), false, fn, err, errlen) == 0)
		r = 0;
	cJSON_Delete(ans);
	if (r == -1)
		memset(out, 0, sizeof(*out));
	return r;
}

/* Give up the lease (see sqs_release): rpc_release_run. */
int
sbs_release(void *impl, const char *run_id, const char *worker_id,
    const char *lock_token, const char *worker_state, bool *ok, char *err,
    size_t errlen)
{
	cJSON *args = holder_args(run_id, worker_id, lock_token);

	sbs_arg_str(args, "p_worker_state", worker_state != NULL &&
	    *worker_state != '\0' ? worker_state : WS_IDLE);
	return bool_call(impl, "rpc_release_run", args, ok, err, errlen);
}

/* Final status and release in one step (see sqs_finish). */
int
sbs_finish(void *impl, const char *run_id, const char *worker_id,
    const char *lock_token, const char *status, const char *error,
    bool *ok, char *err, size_t errlen)
{
	cJSON *args = holder_args(run_id, worker_id, lock_token);

	sbs_arg_str(args, "p_status", status);
	sbs_arg_str(args, "p_error", error);
	return bool_call(impl, "rpc_finish_run", args, ok, err, errlen);
}

/* Open a gate (see sqs_gate): rpc_gate_run. */
int
sbs_gate(void *impl, const char *run_id, const char *worker_id,
    const char *lock_token, const char *reason, const char *worker_state,
    const cJSON *evidence, char *nonce_out, bool *ok, char *err,
    size_t errlen)
{
	const char *fn = "rpc_gate_run";
	const cJSON *row;
	cJSON *args, *ev, *ans;
	int r = -1;

	*ok = false;
	nonce_out[0] = '\0';
	args = holder_args(run_id, worker_id, lock_token);
	sbs_arg_str(args, "p_reason", reason);
	sbs_arg_str(args, "p_worker_state", worker_state != NULL &&
	    *worker_state != '\0' ? worker_state : WS_WAITING);
	if (evidence != NULL) {
		ev = cJSON_Duplicate(evidence, true);
		if (ev == NULL || args == NULL ||
		    !cJSON_AddItemToObject(args, "p_evidence", ev)) {
			cJSON_Delete(ev);
			cJSON_Delete(args);
			args = NULL;
		}
	}
	if (sbs_rpc(impl, fn, args, 0, &ans, err, errlen) == -1)
		return -1;
	if ((row = sbs_row(ans)) == NULL)
		sbs_bad_answer(fn, "no row", err, errlen);
	else if (sbs_get_bool(row, "ok", ok, fn, err, errlen) == 0 &&
	    sbs_get_str(row, "gate_nonce", nonce_out, STORE_ID_MAX, *ok, fn,
	    err, errlen) == 0)
		r = 0;
	if (r == 0 && *ok && !id_uuid_valid(nonce_out))
		r = sbs_bad_answer(fn, "nonce", err, errlen);
	cJSON_Delete(ans);
	if (r == -1) {
		*ok = false;
		nonce_out[0] = '\0';
	}
	return r;
}

/* Record the holder's worker state (see sqs_set_worker_state). */
int
sbs_set_worker_state(void *impl, const char *run_id, const char *worker_id,
    const char *lock_token, const char *worker_state, bool *ok, char *err,
    size_t errlen)
{
	cJSON *args = holder_args(run_id, worker_id, lock_token);

	sbs_arg_str(args, "p_worker_state", worker_state);
	return bool_call(impl, "rpc_set_worker_state", args, ok, err, errlen);
}

/*
 * The row {result, message} an operator-action RPC answers, into *res and
 * <msg>; takes <ans> and frees it.  Returns 0, or -1 with <err> for an
 * answer of another shape (*res stays ACTION_NOT_POSSIBLE).
 */
static int
action_answer(const char *fn, cJSON *ans, enum store_action_result *res,
    char *msg, size_t msglen, char *err, size_t errlen)
{
	char result[24];
	const cJSON *row;
	int r = -1;

	if ((row = sbs_row(ans)) == NULL)
		sbs_bad_answer(fn, "no row", err, errlen);
	else if (sbs_get_str(row, "result", result, sizeof(result), true, fn,
	    err, errlen) == 0 && sbs_get_str(row, "message", msg, msglen,
	    true, fn, err, errlen) == 0) {
		r = 0;
		if (strcmp(result, "applied") == 0)
			*res = ACTION_APPLIED;
		else if (strcmp(result, "already_applied") == 0)
			*res = ACTION_ALREADY_APPLIED;
		else if (strcmp(result, "not_possible") != 0)
			r = sbs_bad_answer(fn, "result", err, errlen);
	}
	cJSON_Delete(ans);
	return r;
}

/*
 * Apply an operator action (see sqs_operator_action):
 * rpc_operator_action.  Returns 0 with *res and <msg>, or -1.
 */
int
sbs_operator_action(void *impl, const char *run_id, const char *action,
    const char *operator_name, const char *nonce,
    enum store_action_result *res, char *msg, size_t msglen, char *err,
    size_t errlen)
{
	const char *fn = "rpc_operator_action";
	cJSON *args, *ans;

	*res = ACTION_NOT_POSSIBLE;
	if (msglen > 0)
		msg[0] = '\0';
	args = sbs_args();
	sbs_arg_str(args, "p_run_id", run_id);
	sbs_arg_str(args, "p_action", action);
	sbs_arg_str(args, "p_operator", operator_name);
	if (nonce != NULL && *nonce != '\0')
		sbs_arg_str(args, "p_nonce", nonce);
	if (sbs_rpc(impl, fn, args, 0, &ans, err, errlen) == -1)
		return -1;
	return action_answer(fn, ans, res, msg, msglen, err, errlen);
}

/*
 * Clear a lease for an operator (see sqs_force_unlock):
 * rpc_force_unlock_run.  Returns 0 with *unlocked and <msg>, or -1.
 */
int
sbs_force_unlock(void *impl, const char *run_id, const char *operator_id,
    const char *reason, bool force, bool *unlocked, char *msg,
    size_t msglen, char *err, size_t errlen)
{
	const char *fn = "rpc_force_unlock_run";
	const cJSON *row;
	cJSON *args, *ans;
	int r = -1;

	*unlocked = false;
	if (msglen > 0)
		msg[0] = '\0';
	args = sbs_args();
	sbs_arg_str(args, "p_run_id", run_id);
	sbs_arg_str(args, "p_operator_id", operator_id);
	sbs_arg_str(args, "p_reason", reason);
	if (args != NULL)
		cJSON_AddBoolToObject(args, "p_force", force);
	if (sbs_rpc(impl, fn, args, 0, &ans, err, errlen) == -1)
		return -1;
	if ((row = sbs_row(ans)) == NULL)
		sbs_bad_answer(fn, "no row", err, errlen);
	else if (sbs_get_bool(row, "unlocked", unlocked, fn, err,
	    errlen) == 0 && sbs_get_str(row, "message", msg, msglen, true,
	    fn, err, errlen) == 0)
		r = 0;
	cJSON_Delete(ans);
	if (r == -1)
		*unlocked = false;
	return r;
}

/*
 * Amend one segment of a run's stored spec (see sqs_amend):
 * rpc_amend_run.  Returns 0 with *res and <msg>, or -1.
 */
int
sbs_amend(void *impl, const struct store_amend *a,
    enum store_action_result *res, char *msg, size_t msglen, char *err,
    size_t errlen)
{
	const char *fn = "rpc_amend_run";
	cJSON *args, *ans;

	*res = ACTION_NOT_POSSIBLE;
	if (msglen > 0)
		msg[0] = '\0';
	args = sbs_args();
	sbs_arg_str(args, "p_run_id", a->run_id);
	sbs_arg_str(args, "p_segment_id", a->segment_id);
	if (a->text != NULL)
		sbs_arg_str(args, "p_text", a->text);
	else if (args != NULL)
		cJSON_AddNumberToObject(args, "p_duration", a->duration);
	sbs_arg_str(args, "p_operator", a->operator_name);
	if (sbs_rpc(impl, fn, args, 0, &ans, err, errlen) == -1)
		return -1;
	return action_answer(fn, ans, res, msg, msglen, err, errlen);
}
