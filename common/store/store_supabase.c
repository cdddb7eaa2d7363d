/* SPDX-License-Identifier: ISC */
/*
 * store_supabase.c: the supabase store backend (SPEC section 2): the
 * store contract over PostgREST RPC, for several workers sharing one
 * Supabase project.  The schema and every rule live in the one migration,
 * the <stamp>_rayvault.sql file under supabase/migrations; the client
 * is thin.
 *
 * store_supabase_open() checks the settings and prepares one libcurl
 * handle (supabase_http.c); it does not contact the server, so a
 * supervisor can start, and spool, while the store is away.  The
 * operations live beside this file: supabase_lease.c (claim, the holder's
 * calls, operator calls) and supabase_data.c (runs, events, credit
 * ledger).  This file holds the ops table, now() and the read-only
 * contract check, which asks the database to describe itself from its
 * catalog (rpc_contract_info) and compares that with what this client
 * calls: every RPC with its argument names, types and result, one
 * signature each, SECURITY DEFINER with a fixed search_path, EXECUTE for
 * service_role and not for anon or authenticated; every table with its
 * columns and row level security.  It claims, renews and changes nothing.
 * A handle is used by one thread at a time.
 *
 * Public: store_supabase_open (and the ops it installs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/store/store.h"
#include "common/store/supabase.h"

#define SBS_SCHEMA_VERSION	3

/* Every RPC this client calls, as PostgreSQL describes it. */
static const struct {
	const char *name;
	const char *args;
	const char *result;
} contract_fns[] = {
	{ "rpc_enqueue_run", "p_video_id text, p_task_type text, p_spec jsonb, "
	    "p_replace boolean", "uuid" },
	{ "rpc_amend_run", "p_run_id text, p_segment_id text, p_text text, "
	    "p_duration double precision, p_operator text",
	    "TABLE(result text, message text)" },
	{ "rpc_claim_next_run", "p_worker_id text, p_lock_token text, "
	    "p_lease_minutes integer, p_task_type text, p_prev_lock_token "
	    "text, p_heartbeat_interval_sec integer", "TABLE(run_id uuid, "
	    "lock_token uuid, lease_epoch bigint, is_recovery boolean, "
	    "video_id text)" },
	{ "cas_heartbeat_run", "p_run_id text, p_worker_id text, p_lock_token "
	    "text, p_lease_minutes integer, p_latency_ms bigint, "
	    "p_worker_state text", "TABLE(ok boolean, status text, "
	    "force_refetch boolean, gate_nonce uuid, decided_nonce uuid, "
	    "decision text)" },
	{ "rpc_release_run", "p_run_id text, p_worker_id text, p_lock_token "
	    "text, p_worker_state text", "boolean" },
	{ "rpc_finish_run", "p_run_id text, p_worker_id text, p_lock_token "
	    "text, p_status text, p_error text", "boolean" },
	{ "rpc_gate_run", "p_run_id text, p_worker_id text, p_lock_token "
	    "text, p_reason text, p_evidence jsonb, p_worker_state text",
	    "TABLE(ok boolean, gate_nonce uuid)" },
	{ "rpc_operator_action", "p_run_id text, p_action text, p_operator "
	    "text, p_nonce text", "TABLE(result text, message text)" },
	{ "rpc_force_unlock_run", "p_run_id text, p_operator_id text, "
	    "p_reason text, p_force boolean",
	    "TABLE(unlocked boolean, message text)" },
	{ "rpc_set_worker_state", "p_run_id text, p_worker_id text, "
	    "p_lock_token text, p_worker_state text", "boolean" },
	{ "rpc_get_run", "p_run_or_video_id text, p_with_spec boolean",
	    "jsonb" },
	{ "rpc_list_runs", "", "jsonb" },
	{ "rpc_list_events", "p_run_id text", "jsonb" },
	{ "rpc_ledger_intent", "p_run_id text, p_segment_id text, p_sha8 "
	    "text, p_lock_token text, p_lease_epoch bigint, p_credits "
	    "integer, p_key text", "jsonb" },
	{ "rpc_ledger_result", "p_key text, p_lease_epoch bigint, p_state "
	    "text, p_credits integer, p_output text", "jsonb" },
	{ "rpc_ledger_list", "p_run_id text", "jsonb" },
	{ "rpc_now", "", "text" },
	{ "rpc_contract_info", "", "jsonb" }
};

static const char *const runs_cols[] = {
	"run_id", "video_id", "task_type", "status", "worker_id",
	"worker_state", "lock_token", "lease_epoch", "lease_expires_at",
	"last_heartbeat_at", "heartbeat_latency_ms", "force_refetch",
	"gate_nonce", "gate_reason", "gate_evidence", "gated_at",
	"gate_decision", "decided_nonce", "fenced_epoch", "error",
	"spec_json", "replaced_by", "created_at", "updated_at", NULL
};
static const char *const events_cols[] = {
	"event_id", "run_id", "event_type", "severity", "reason_key",
	"source", "occurred_at", "payload", "lease_epoch", "created_at", NULL
};
static const char *const ledger_cols[] = {
	"key", "run_id", "segment_id", "sha8", "lease_epoch", "credits",
	"attempts", "state", "output", "created_at", "updated_at", NULL
};

static const struct {
	const char *name;
	const char *const *cols;
	bool insert;		/* service_role appends rows directly */
} contract_tables[] = {
	{ "pipeline_runs", runs_cols, false },
	{ "run_events", events_cols, true },
	{ "credit_ledger", ledger_cols, false }
};

static void
supabase_close(void *impl)
{
	struct sbs *s = impl;

	if (s == NULL)
		return;
	sbs_http_clear(s);
	free(s);
}

/* Copy the database clock, ISO-8601 UTC, into <buf>: rpc_now. */
static int
supabase_now(void *impl, char *buf, size_t size, char *err, size_t errlen)
{
	cJSON *ans;
	double t;
	int r = 0;

	if (sbs_rpc(impl, "rpc_now", sbs_args(), 0, &ans, err, errlen) == -1)
		return -1;
	if (!cJSON_IsString(ans) || clock_parse_iso(ans->valuestring,
	    &t) == -1 || strlen(ans->valuestring) >= size)
		r = sbs_bad_answer("rpc_now", "not an ISO-8601 time", err,
		    errlen);
	else
		strlcpy(buf, ans->valuestring, size);
	cJSON_Delete(ans);
	return r;
}

static void
add_check(cJSON *checks, bool *all_ok, const char *name, bool ok,
    const char *detail)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddBoolToObject(c, "ok", ok);
	cJSON_AddStringToObject(c, "detail", detail);
	cJSON_AddItemToArray(checks, c);
	if (!ok)
		*all_ok = false;
}

static bool
flag(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static const char *
str(const cJSON *o, const char *key)
{
	const char *s = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(o, key));

	return s != NULL ? s : "";
}

/* Judge RPC <i> from its description <f> (NULL: missing). */
static bool
judge_fn(size_t i, const cJSON *f, char *detail, size_t size)
{
	const char *args = contract_fns[i].args, *res = contract_fns[i].result;
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "signatures");

	if (f == NULL)
		snprintf(detail, size, "missing (apply the migration)");
	else if (!cJSON_IsNumber(n) || n->valuedouble != 1)
		snprintf(detail, size, "%g signatures: PostgREST cannot choose "
		    "one (apply the migration again)", cJSON_IsNumber(n) ?
		    n->valuedouble : 0.0);
	else if (strcmp(str(f, "args"), args) != 0)
		snprintf(detail, size, "arguments (%.200s), want (%.200s)",
		    str(f, "args"), args);
	else if (strcmp(str(f, "result"), res) != 0)
		snprintf(detail, size, "returns %.200s, want %.200s",
		    str(f, "result"), res);
	else if (!flag(f, "security_definer") || !flag(f, "search_path_set"))
		snprintf(detail, size, "not SECURITY DEFINER with a fixed "
		    "search_path");
	else if (!flag(f, "service_role"))
		snprintf(detail, size, "service_role may not execute it");
	else if (flag(f, "anon") || flag(f, "authenticated"))
		snprintf(detail, size, "anon or authenticated may execute it");
	else {
		snprintf(detail, size, "(%s) returns %s", args, res);
		return true;
	}
	return false;
}

static bool
judge_table(size_t i, const cJSON *t, char *detail, size_t size)
{
	const char *const *cols = contract_tables[i].cols;
	const cJSON *have = cJSON_GetObjectItemCaseSensitive(t, "columns"), *c;
	size_t k, missing = 0;
	bool found;

	snprintf(detail, size, "missing column");
	for (k = 0; cols[k] != NULL; k++) {
		found = false;
		cJSON_ArrayForEach(c, have)
			if (cJSON_IsString(c) &&
			    strcmp(c->valuestring, cols[k]) == 0)
				found = true;
		if (!found) {
			strlcat(detail, missing++ == 0 ? " " : ", ", size);
			strlcat(detail, cols[k], size);
		}
	}
	if (t == NULL)
		snprintf(detail, size, "missing (apply the migration)");
	else if (missing > 0)
		;
	else if (!flag(t, "rls"))
		snprintf(detail, size, "row level security is off");
	else if (flag(t, "anon_select") || flag(t, "authenticated_select"))
		snprintf(detail, size, "anon or authenticated may read it");
	else if (contract_tables[i].insert && !flag(t, "service_insert"))
		snprintf(detail, size, "service_role may not insert");
	else {
		snprintf(detail, size, "%zu columns, row level security on", k);
		return true;
	}
	return false;
}

static void
check_basics(const cJSON *info, cJSON *checks, bool *ok)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(info,
	    "schema_version");
	char detail[256];
	double db;

	snprintf(detail, sizeof(detail), "schema version %g (this build: %d)",
	    cJSON_IsNumber(v) ? v->valuedouble : -1.0, SBS_SCHEMA_VERSION);
	add_check(checks, ok, "schema_version", cJSON_IsNumber(v) &&
	    v->valuedouble == SBS_SCHEMA_VERSION, detail);
	if (clock_parse_iso(str(info, "now"), &db) == 0) {
		snprintf(detail, sizeof(detail), "database clock %s (%.0f s "
		    "from the local clock)", str(info, "now"),
		    db - (double)time(NULL));
		add_check(checks, ok, "clock", true, detail);
	} else
		add_check(checks, ok, "clock", false, "no database clock");
}

static void
check_info(const cJSON *info, cJSON *checks, bool *ok)
{
	const cJSON *fns = cJSON_GetObjectItemCaseSensitive(info, "functions");
	const cJSON *tabs = cJSON_GetObjectItemCaseSensitive(info, "tables");
	char detail[512];
	size_t i;
	bool good;

	check_basics(info, checks, ok);
	for (i = 0; i < sizeof(contract_tables) / sizeof(contract_tables[0]);
	    i++) {
		good = judge_table(i, cJSON_GetObjectItemCaseSensitive(tabs,
		    contract_tables[i].name), detail, sizeof(detail));
		add_check(checks, ok, contract_tables[i].name, good, detail);
	}
	for (i = 0; i < sizeof(contract_fns) / sizeof(contract_fns[0]); i++) {
		good = judge_fn(i, cJSON_GetObjectItemCaseSensitive(fns,
		    contract_fns[i].name), detail, sizeof(detail));
		add_check(checks, ok, contract_fns[i].name, good, detail);
	}
}

/*
 * Verify the store offers the contract, without changing anything.
 * *report gets {"ok", "backend", "checks": [{name, ok, detail}]} (the
 * caller deletes it).  Returns 0 (also when a check failed, including a
 * missing rpc_contract_info), or -1 when the store cannot be asked
 * (unreachable, invalid key) or out of memory.
 */
static int
supabase_check_contract(void *impl, cJSON **report, char *err,
    size_t errlen)
{
	cJSON *r, *checks, *info = NULL;
	char why[512];
	bool ok = true;

	*report = NULL;
	if (sbs_rpc(impl, "rpc_contract_info", sbs_args(), 0, &info, why,
	    sizeof(why)) == -1 && errno != ENOSYS) {
		strlcpy(err, why, errlen);
		return -1;
	}
	r = cJSON_CreateObject();
	checks = cJSON_AddArrayToObject(r, "checks");
	if (r == NULL || checks == NULL) {
		cJSON_Delete(r);
		cJSON_Delete(info);
		sbs_seterr(err, errlen, ENOMEM, "store: contract: out of "
		    "memory");
		return -1;
	}
	if (!cJSON_IsObject(info))
		add_check(checks, &ok, "rpc_contract_info", false,
		    info == NULL ? why : "answer is not an object");
	else
		check_info(info, checks, &ok);
	cJSON_Delete(info);
	cJSON_AddBoolToObject(r, "ok", ok);
	cJSON_AddStringToObject(r, "backend", "supabase");
	*report = r;
	return 0;
}

static const struct store_ops supabase_ops = {
	.close = supabase_close,
	.enqueue = sbs_enqueue,
	.claim = sbs_claim,
	.heartbeat = sbs_heartbeat,
	.release = sbs_release,
	.finish = sbs_finish,
	.gate = sbs_gate,
	.operator_action = sbs_operator_action,
	.force_unlock = sbs_force_unlock,
	.amend = sbs_amend,
	.set_worker_state = sbs_set_worker_state,
	.add_event = sbs_add_event,
	.get_run = sbs_get_run,
	.list_runs = sbs_list_runs,
	.list_events = sbs_list_events,
	.ledger_intent = sbs_ledger_intent,
	.ledger_result = sbs_ledger_result,
	.ledger_list = sbs_ledger_list,
	.now = supabase_now,
	.check_contract = supabase_check_contract,
	.health = sbs_health
};

/*
 * Fill <st> with the supabase backend for <url> (SUPABASE_URL: https, or
 * http to localhost only) and <service_key> (SUPABASE_SERVICE_KEY; copied
 * only into the request headers, never into a message).
 * <heartbeat_interval_sec> is the supervisors' heartbeat interval, for
 * the recovery rule of claim (<= 0: 30); <timeout_sec> bounds every call
 * (RAYVAULT_HEARTBEAT_TIMEOUT_SEC; <= 0: 10), the connect timeout is half
 * of it, at most 5 s.  Nothing is sent yet.  Returns 0, or -1 with <err>
 * and <st> zeroed; release with store_close().
 */
int
store_supabase_open(struct store *st, const char *url,
    const char *service_key, int heartbeat_interval_sec, int timeout_sec,
    char *err, size_t errlen)
{
	struct sbs *s;

	memset(st, 0, sizeof(*st));
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		sbs_seterr(err, errlen, errno, "store: %s", strerror(errno));
		return -1;
	}
	s->hb_interval = heartbeat_interval_sec > 0 ?
	    heartbeat_interval_sec : 30;
	if (sbs_http_init(s, url, service_key, timeout_sec, err,
	    errlen) == -1) {
		supabase_close(s);
		return -1;
	}
	st->ops = &supabase_ops;
	st->impl = s;
	strlcpy(st->backend, "supabase", sizeof(st->backend));
	return 0;
}
