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
 * Public: notify_enqueue, notify_flush, notify_pending, notify_on_result,
 * notify_on_operator, notify_on_ack.
 */
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "ipc/msg.h"
#include "ipc/proto.h"
#include "supervisor/smsg.h"
#include "supervisor/sup.h"

#define OUTBOX_MAX	100
#define ALERT_DEDUP_MS	(3600 * 1000LL)

/*
 * The same alert about the same run (and gate, epoch, or reason_id: a
 * fingerprint of the reason, for alerts about no run) goes out once an
 * hour: a condition seen on every loop must not become a message each time.
 */
static bool
seen_recently(struct sup_env *env, const cJSON *alert)
{
	char key[160];
	int64_t now = clock_mono_ms();
	int i, oldest = 0;

	snprintf(key, sizeof(key), "%s|%s|%s|%.0f|%s|%s",
	    cJSON_GetStringValue(cJSON_GetObjectItem(alert, "alert")) ?: "",
	    cJSON_GetStringValue(cJSON_GetObjectItem(alert, "run_id")) ?: "",
	    cJSON_GetStringValue(cJSON_GetObjectItem(alert, "gate_nonce")) ?:
	    "", cJSON_GetNumberValue(cJSON_GetObjectItem(alert,
	    "lost_lease_epoch")), cJSON_GetStringValue(cJSON_GetObjectItem(
	    alert, "stale_run_id")) ?: "", cJSON_GetStringValue(
	    cJSON_GetObjectItem(alert, "reason_id")) ?: "");
	for (i = 0; i < ALERT_SEEN_MAX; i++) {
		if (strcmp(env->alert_seen[i].key, key) == 0) {
			if (now - env->alert_seen[i].at < ALERT_DEDUP_MS)
				return true;
			env->alert_seen[i].at = now;
			return false;
		}
		if (env->alert_seen[i].at < env->alert_seen[oldest].at)
			oldest = i;
	}
	strlcpy(env->alert_seen[oldest].key, key,
	    sizeof(env->alert_seen[oldest].key));
	env->alert_seen[oldest].at = now;
	return false;
}

/* Queue a copy of <alert> for rvw-notify, unless it was just sent. */
void
notify_enqueue(struct sup_env *env, const cJSON *alert)
{
	if (seen_recently(env, alert)) {
		log_debug("alert %s already sent within the hour",
		    cJSON_GetStringValue(cJSON_GetObjectItem(alert, "alert")) ?:
		    "?");
		return;
	}
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
	cJSON_AddNumberToObject(h, "epoch", (double)env->run.lease.epoch);
	if (body == NULL)
		body = empty = cJSON_CreateObject();
	rc = child_send(env, c, IPC_TASK, h, body);
	cJSON_Delete(h);
	cJSON_Delete(empty);
	if (rc == -1) {
		c->task_id = 0;
		return -1;
	}
	child_event(env, c, CE_TASK, NULL);
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

/*
 * notify_flush() has something to hand over now: rvw-notify is ready and
 * idle, and its "start" or an alert waits.  True right after a flush only
 * when the send failed (the main loop then tries again shortly).
 */
bool
notify_pending(struct sup_env *env)
{
	struct child *c = &env->children[K_NOTIFY];

	if (c->state != CH_READY || c->task_id != 0 || c->paused)
		return false;
	return env->notify_started_gen != c->gen || (env->alerts != NULL &&
	    cJSON_GetArraySize(env->alerts) > 0);
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
	struct smsg *m;
	cJSON *h;

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
	m = smsg_new(SM_OPERATOR);
	strlcpy(m->ident, c->ident, sizeof(m->ident));
	m->req_id = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(hdr,
	    "req_id"));
	m->json = cJSON_Duplicate(body, true);
	(void)evthread_send(env, m);
}

/* The event thread's answer to an OPERATOR request. */
void
notify_on_ack(struct sup_env *env, const struct smsg *m)
{
	cJSON *h;

	if (m->ident[0] == '\0')
		return;
	h = cJSON_CreateObject();
	cJSON_AddNumberToObject(h, "req_id", (double)m->req_id);
	cJSON_AddBoolToObject(h, "ok", m->ok);
	cJSON_AddStringToObject(h, "result", m->status);
	cJSON_AddStringToObject(h, "msg", m->text);
	(void)ipc_send(env->workers, m->ident, strlen(m->ident),
	    IPC_TAG_WORKER, IPC_OPERATOR_ACK, h, NULL);
	cJSON_Delete(h);
}
