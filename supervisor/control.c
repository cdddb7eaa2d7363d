/* SPDX-License-Identifier: ISC */
/*
 * control.c: the rvctl control endpoint (state/runtime/control.ipc, 0600).
 *
 * It is a separate ROUTER from the workers' one.  Requests are validated
 * like every other message; a bad request is answered with an error and
 * never reaches the rest of the supervisor.  STATUS answers the live state
 * in the shape `rvctl status --json` prints, the store's included
 * (store_state up, unusable or contract_broken, store_error, and while
 * the lease thread retries its contract check, store_retry_in_sec);
 * SET_VERBOSE changes the log level here and in every child.
 *
 * Public: control_dispatch, control_status.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "ipc/msg.h"
#include "ipc/proto.h"
#include "supervisor/sup.h"

/* The live status document (caller owns it). */
cJSON *
control_status(struct sup_env *env)
{
	struct run *r = &env->run;
	int64_t now = clock_mono_ms();
	cJSON *o = cJSON_CreateObject(), *s, *run, *arr;
	int k;

	s = cJSON_AddObjectToObject(o, "supervisor");
	cJSON_AddNumberToObject(s, "pid", (double)getpid());
	cJSON_AddStringToObject(s, "worker_id", env->worker_id);
	cJSON_AddStringToObject(s, "state", env->state);
	cJSON_AddStringToObject(s, "started_at", env->started_at);
	cJSON_AddStringToObject(s, "store", env->cfg.supabase_url[0] ?
	    "supabase" : "sqlite");
	cJSON_AddStringToObject(s, "store_state", env->store_up ? "up" :
	    env->store_contract_broken ? "contract_broken" : "unusable");
	cJSON_AddStringToObject(s, "store_error", env->store_up ? "" :
	    env->store_error);
	if (!env->store_up && env->store_retry_at != 0)
		cJSON_AddNumberToObject(s, "store_retry_in_sec",
		    env->store_retry_at > now ? (double)((env->store_retry_at -
		    now + 999) / 1000) : 0);
	cJSON_AddStringToObject(s, "machine_state",
	    run_state_name(r->state));
	if (!run_holding(r))
		cJSON_AddNullToObject(o, "run");
	else {
		run = cJSON_AddObjectToObject(o, "run");
		cJSON_AddStringToObject(run, "run_id", r->lease.run_id);
		cJSON_AddStringToObject(run, "video_id", r->video_id);
		cJSON_AddStringToObject(run, "stage", stage_name(r->stage));
		cJSON_AddStringToObject(run, "status", r->status);
		cJSON_AddStringToObject(run, "worker_state", r->worker_state);
		cJSON_AddStringToObject(run, "machine_state",
		    run_state_name(r->state));
		cJSON_AddNumberToObject(run, "lease_epoch",
		    (double)r->lease.epoch);
		cJSON_AddStringToObject(run, "lease_expires_at",
		    r->lease.expires_at);
		cJSON_AddNumberToObject(run, "last_heartbeat_latency_ms",
		    (double)r->lease.latency_ms);
		cJSON_AddStringToObject(run, "gate_reason", r->gate_reason);
		cJSON_AddStringToObject(run, "gate_nonce", r->gate_nonce);
		cJSON_AddNumberToObject(run, "frozen_count", r->frozen);
	}
	arr = cJSON_AddArrayToObject(o, "children");
	for (k = 0; k < K_NKINDS; k++)
		cJSON_AddItemToArray(arr, child_status_json(&env->children[k],
		    now));
	return o;
}

static void
answer(struct sup_env *env, const struct ipc_msg *m, long long id, bool ok,
    const char *error, const cJSON *body)
{
	cJSON *h = cJSON_CreateObject();

	cJSON_AddNumberToObject(h, "id", (double)id);
	cJSON_AddBoolToObject(h, "ok", ok);
	if (error != NULL)
		cJSON_AddStringToObject(h, "error", error);
	if (ipc_send(env->control, m->ident, m->identlen, IPC_TAG_CONTROL,
	    IPC_CTL_REPLY, h, body) == -1)
		log_warnx("control: reply not sent");
	cJSON_Delete(h);
}

static void
set_verbose(struct sup_env *env, int level)
{
	cJSON *h = cJSON_CreateObject();
	int k;

	log_set_level(level);
	cJSON_AddNumberToObject(h, "level", level);
	for (k = 0; k < K_NKINDS; k++)
		(void)child_send(env, &env->children[k], IPC_VERBOSE, h, NULL);
	cJSON_Delete(h);
}

/* Serve every pending control request. */
void
control_dispatch(struct sup_env *env)
{
	struct ipc_msg m;
	char err[256];
	cJSON *st;
	enum ipc_recv_result r;
	long long id;

	for (;;) {
		r = ipc_recv(env->control, true, &m, err, sizeof(err));
		if (r == IPC_RECV_NONE || r == IPC_RECV_ERROR)
			return;
		if (r == IPC_RECV_INVALID) {
			log_warnx("control: bad request: %s", err);
			if (m.identlen > 0)
				answer(env, &m, 0, false, err, NULL);
			continue;
		}
		id = ipc_hdr_int(&m, "id", 0);
		if (strcmp(m.tag, IPC_TAG_CONTROL) != 0) {
			answer(env, &m, id, false, "wrong protocol tag", NULL);
		} else if (strcmp(m.type, IPC_CTL_STATUS) == 0) {
			st = control_status(env);
			answer(env, &m, id, true, NULL, st);
			cJSON_Delete(st);
		} else if (strcmp(m.type, IPC_CTL_VERBOSE) == 0) {
			set_verbose(env, (int)ipc_hdr_int(&m, "level", 2));
			answer(env, &m, id, true, NULL, NULL);
		} else
			answer(env, &m, id, false, "not a request", NULL);
		ipc_msg_clear(&m);
	}
}
