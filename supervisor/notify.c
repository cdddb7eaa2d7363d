/* SPDX-License-Identifier: ISC */
/*
 * notify.c: the supervisor's side of rvw-notify.
 *
 * Alerts are queued here (bounded: the oldest are dropped first, each one
 * is also an "alert" event in the store) and handed to rvw-notify one
 * TASK at a time whenever it is ready, and kept until it answered, so a Telegram outage or a dead
 * notifier never blocks the lease or the stages.  Operator actions from
 * Telegram buttons come back as OPERATOR requests; only rvw-notify may
 * send them, and they go through the store's compare-and-set on the event
 * thread, exactly like rvctl's.
 *
 * Public: notify_enqueue, notify_flush, notify_on_result,
 * notify_on_operator, notify_on_ack.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "common/clock.h"
#include "common/log.h"
#include "ipc/msg.h"
#include "ipc/proto.h"
#include "supervisor/sup.h"

#define OUTBOX_MAX	100

/* Queue a copy of <alert> for rvw-notify. */
void
notify_enqueue(struct sup_env *env, const cJSON *alert)
{
	if (env->alerts == NULL)
		env->alerts = cJSON_CreateArray();
	while (cJSON_GetArraySize(env->alerts) >= OUTBOX_MAX) {
		log_warnx("alert outbox full; dropping the oldest alert");
		cJSON_DeleteItemFromArray(env->alerts, 0);
		env->alert_task = 0;
	}
	cJSON_AddItemToArray(env->alerts, cJSON_Duplicate(alert, true));
	notify_flush(env);
}

static int
send_task(struct sup_env *env, struct child *c, const char *type,
    const cJSON *body)
{
	cJSON *h = cJSON_CreateObject(), *empty = NULL;
	int rc;

	c->task_id = ++env->next_task_id;
	cJSON_AddNumberToObject(h, "task_id", (double)c->task_id);
	cJSON_AddStringToObject(h, "type", type);
	cJSON_AddNumberToObject(h, "epoch", (double)env->run.epoch);
	if (body == NULL)
		body = empty = cJSON_CreateObject();
	rc = child_send(env, c, IPC_TASK, h, body);
	cJSON_Delete(h);
	cJSON_Delete(empty);
	if (rc == -1) {
		c->task_id = 0;
		return -1;
	}
	c->state = CH_BUSY;
	c->last_progress_ms = clock_mono_ms();
	return 0;
}

/*
 * Keep rvw-notify busy with what it needs: a "start" task once per
 * generation (it begins polling for button presses without waiting for
 * an alert), then the oldest queued alert.  An alert leaves the outbox
 * only when rvw-notify answered it; if the child dies first, the next
 * generation gets it again.
 */
void
notify_flush(struct sup_env *env)
{
	struct child *c = &env->children[K_NOTIFY];

	if (c->state != CH_READY || c->task_id != 0 || c->paused)
		return;
	if (env->notify_started_gen != c->gen) {
		if (send_task(env, c, "start", NULL) == 0)
			env->notify_started_gen = c->gen;
		return;
	}
	if (env->alerts == NULL || cJSON_GetArraySize(env->alerts) == 0)
		return;
	if (send_task(env, c, "alert", cJSON_GetArrayItem(env->alerts,
	    0)) == 0)
		env->alert_task = c->task_id;
}

/* rvw-notify answered task <task>: an alert it took leaves the outbox. */
void
notify_on_result(struct sup_env *env, long long task)
{
	if (task == 0 || task != env->alert_task)
		return;
	env->alert_task = 0;
	if (env->alerts != NULL && cJSON_GetArraySize(env->alerts) > 0)
		cJSON_DeleteItemFromArray(env->alerts, 0);
}

/* OPERATOR from a child: only rvw-notify may act for an operator. */
void
notify_on_operator(struct sup_env *env, struct child *c, const cJSON *hdr,
    const cJSON *body)
{
	cJSON *a, *req, *h;

	if (c->kind != K_NOTIFY || body == NULL) {
		log_warnx("OPERATOR request from %s refused", c->ident);
		h = cJSON_CreateObject();
		cJSON_AddNumberToObject(h, "req_id", cJSON_GetNumberValue(
		    cJSON_GetObjectItem(hdr, "req_id")));
		cJSON_AddBoolToObject(h, "ok", false);
		(void)child_send(env, c, IPC_OPERATOR_ACK, h, NULL);
		cJSON_Delete(h);
		return;
	}
	a = cJSON_CreateObject();
	req = cJSON_AddObjectToObject(a, "req");
	cJSON_AddStringToObject(req, "ident", c->ident);
	cJSON_AddNumberToObject(req, "req_id", cJSON_GetNumberValue(
	    cJSON_GetObjectItem(hdr, "req_id")));
	cJSON_AddItemToObject(a, "body", cJSON_Duplicate(body, true));
	(void)events_request(env, "OPERATOR", a);
}

/* The event thread's answer to an OPERATOR request. */
void
notify_on_ack(struct sup_env *env, const cJSON *b)
{
	const cJSON *req = cJSON_GetObjectItem(b, "req");
	const char *ident = cJSON_GetStringValue(cJSON_GetObjectItem(req,
	    "ident"));
	cJSON *h;

	if (ident == NULL)
		return;
	h = cJSON_CreateObject();
	cJSON_AddNumberToObject(h, "req_id", cJSON_GetNumberValue(
	    cJSON_GetObjectItem(req, "req_id")));
	cJSON_AddBoolToObject(h, "ok", cJSON_IsTrue(cJSON_GetObjectItem(b,
	    "ok")));
	cJSON_AddStringToObject(h, "result", cJSON_GetStringValue(
	    cJSON_GetObjectItem(b, "result")) ?: "");
	cJSON_AddStringToObject(h, "msg", cJSON_GetStringValue(
	    cJSON_GetObjectItem(b, "msg")) ?: "");
	(void)ipc_send(env->workers, ident, strlen(ident), IPC_TAG_WORKER,
	    IPC_OPERATOR_ACK, h, NULL);
	cJSON_Delete(h);
}
