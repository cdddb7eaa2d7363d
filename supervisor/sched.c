/* SPDX-License-Identifier: ISC */
/*
 * sched.c: the stage scheduler of the held run.
 *
 * A claimed run goes evidence -> voice -> render -> probe -> timeline.  The
 * checkpoint (common/checkpoint.c) says which stages are done; the first
 * stage not done is dispatched as a TASK to the child of its kind, and
 * marked done only when that child's RESULT says it succeeded.  An
 * interrupted stage (child died, stuck, supervisor restarted) is simply
 * dispatched again: every stage checks for valid artifacts first.
 *
 * Everything stamped with an older lease epoch or another task id is
 * ignored.  Operator-facing stops (evidence conflict, voice drift, Dzine
 * failure, crash loop, frozen renderer beyond its budget, repeated stage
 * failure) become gates in the store, so approve / refetch / abort work
 * the same from rvctl and Telegram; the supervisor keeps renewing the
 * lease meanwhile and learns the decision from the heartbeat answer.
 *
 * Public: sched_on_claim, sched_tick, sched_on_result, sched_on_hb_answer,
 * sched_on_lease_msg, sched_on_child_lost, sched_shutdown, sched_clear,
 * sched_alert.
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/checkpoint.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/platform.h"
#include "ipc/proto.h"
#include "supervisor/sup.h"

#define STAGE_RETRY_MS		5000
#define FROZEN_MAX		2

static const enum kind stage_kind[ST_NSTAGES] = {
	K_EVIDENCE, K_VOICE, K_RENDER, K_PROBE, K_PROBE
};

const char *
stage_name(enum stage s)
{
	return s < ST_NSTAGES ? ckpt_stage_names[s] : "none";
}

/* Set <key> of the checkpoint to <item> (owned), whether or not present. */
static void
ckpt_put(cJSON *c, const char *key, cJSON *item)
{
	cJSON_DeleteItemFromObject(c, key);
	cJSON_AddItemToObject(c, key, item);
}

static void
save_ckpt(struct sup_env *env)
{
	struct run *r = &env->run;
	char path[1200], err[512];

	if (r->ckpt == NULL || ckpt_path(path, sizeof(path),
	    env->cfg.state_dir, r->run_id) == -1)
		return;
	if (ckpt_save(path, r->ckpt, err, sizeof(err)) == -1)
		log_warnx("checkpoint: %s", err);
}

static void
set_worker_state(struct sup_env *env, const char *ws)
{
	cJSON *a = cJSON_CreateObject();

	strlcpy(env->run.worker_state, ws, sizeof(env->run.worker_state));
	strlcpy(env->state, ws, sizeof(env->state));
	cJSON_AddStringToObject(a, "worker_state", ws);
	(void)lease_request(env, "STATE", a);
}

/*
 * Alert: recorded as an "alert" event and handed to rvw-notify, which
 * sends it to Telegram.  <extra> (owned, may be NULL) adds keys such as
 * the evidence diff and whether the message carries the gate buttons.
 */
void
sched_alert_x(struct sup_env *env, const char *what, const char *detail,
    cJSON *extra)
{
	char at[CLOCK_ISO_LEN];
	cJSON *p = cJSON_CreateObject(), *v;

	clock_utc_iso(at);
	cJSON_AddStringToObject(p, "alert", what);
	cJSON_AddStringToObject(p, "run_id", env->run.run_id);
	cJSON_AddStringToObject(p, "video_id", env->run.video_id);
	cJSON_AddStringToObject(p, "detail", detail ? detail : "");
	cJSON_AddStringToObject(p, "at", at);
	cJSON_AddStringToObject(p, "worker_id", env->worker_id);
	if (extra != NULL)
		cJSON_ArrayForEach(v, extra) {
			cJSON_DeleteItemFromObject(p, v->string);
			cJSON_AddItemToObject(p, v->string,
			    cJSON_Duplicate(v, true));
		}
	cJSON_Delete(extra);
	log_warnx("ALERT %s: run %s (%s): %s", what, env->run.run_id,
	    env->run.video_id, detail ? detail : "");
	notify_enqueue(env, p);
	sup_event(env, "alert", "CRITICAL", what, p);
}

/* The extra keys of an alert that waits for the operator's decision. */
static cJSON *
buttons(void)
{
	cJSON *x = cJSON_CreateObject();

	cJSON_AddBoolToObject(x, "buttons", true);
	return x;
}

void
sched_alert(struct sup_env *env, const char *what, const char *detail)
{
	sched_alert_x(env, what, detail, NULL);
}

void
sched_clear(struct sup_env *env)
{
	struct run *r = &env->run;

	cJSON_Delete(r->spec);
	cJSON_Delete(r->ckpt);
	memset(r, 0, sizeof(*r));
	r->mode = RM_NONE;
	strlcpy(env->state, "idle", sizeof(env->state));
	if (env->inhibit_pid > 0) {
		(void)kill(-env->inhibit_pid, SIGTERM);
		(void)kill(env->inhibit_pid, SIGTERM);
	}
}

/* Open a gate: the run waits for approve / refetch / abort. */
static void
open_gate(struct sup_env *env, const char *reason, const char *ws,
    cJSON *evidence)
{
	struct run *r = &env->run;
	cJSON *a = cJSON_CreateObject();

	r->mode = RM_GATED;
	r->gate_confirmed = false;
	strlcpy(r->gate_reason, reason, sizeof(r->gate_reason));
	strlcpy(r->worker_state, ws, sizeof(r->worker_state));
	strlcpy(env->state, ws, sizeof(env->state));
	cJSON_AddStringToObject(a, "reason", reason);
	cJSON_AddStringToObject(a, "worker_state", ws);
	cJSON_AddItemToObject(a, "evidence", evidence != NULL ? evidence :
	    cJSON_CreateObject());
	(void)lease_request(env, "GATE", a);
	log_warnx("run %s (%s) waits for the operator: %s", r->run_id,
	    r->video_id, reason);
}

static void
load_checkpoint(struct sup_env *env)
{
	struct run *r = &env->run;
	char path[1200], aside[1300], err[1024];
	cJSON *c = NULL;

	if (ckpt_path(path, sizeof(path), env->cfg.state_dir, r->run_id) == 0 &&
	    ckpt_load(path, &c, err, sizeof(err)) == -1 && errno != ENOENT) {
		log_warnx("checkpoint %s; moved aside, every stage re-checks "
		    "its artifacts", err);
		snprintf(aside, sizeof(aside), "%s.corrupt", path);
		(void)rename(path, aside);
	}
	if (c != NULL && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "run_id")), r->run_id) != 0) {
		cJSON_Delete(c);
		c = NULL;
	}
	if (c == NULL)
		c = ckpt_new(r->run_id, r->video_id, env->worker_id, r->token,
		    r->epoch);
	ckpt_put(c, "lock_token", cJSON_CreateString(
	    r->token));
	ckpt_put(c, "lease_epoch", cJSON_CreateNumber(
	    (double)r->epoch));
	ckpt_put(c, "worker_id", cJSON_CreateString(
	    env->worker_id));
	ckpt_put(c, "finished", cJSON_CreateFalse());
	r->ckpt = c;
	save_ckpt(env);
}

static void
first_pending_stage(struct run *r)
{
	int s;

	for (s = 0; s < ST_NSTAGES; s++)
		if (strcmp(ckpt_stage_get(r->ckpt, ckpt_stage_names[s]),
		    "done") != 0)
			break;
	r->stage = (enum stage)s;
}

/* The lease thread claimed a run: set it up from its checkpoint. */
void
sched_on_claim(struct sup_env *env, const cJSON *c)
{
	struct run *r = &env->run;
	const cJSON *spec = cJSON_GetObjectItem(c, "spec");
	const char *dir, *status;

	sched_clear(env);
	strlcpy(r->run_id, cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "run_id")) ?: "", sizeof(r->run_id));
	strlcpy(r->video_id, cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "video_id")) ?: "", sizeof(r->video_id));
	strlcpy(r->token, cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "token")) ?: "", sizeof(r->token));
	r->epoch = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(c,
	    "epoch"));
	r->is_recovery = cJSON_IsTrue(cJSON_GetObjectItem(c, "is_recovery"));
	status = cJSON_GetStringValue(cJSON_GetObjectItem(c, "status"));
	strlcpy(r->status, status ? status : "running", sizeof(r->status));
	r->spec = cJSON_IsObject(spec) ? cJSON_Duplicate(spec, true) : NULL;
	dir = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "_spec_dir"));
	strlcpy(r->spec_dir, dir ? dir : env->cfg.state_dir,
	    sizeof(r->spec_dir));
	log_info("claimed run %s (%s), epoch %lld%s", r->run_id, r->video_id,
	    r->epoch, r->is_recovery ? ", recovering" : "");
	load_checkpoint(env);
	first_pending_stage(r);
	r->mode = RM_RUNNING;
	strlcpy(r->worker_state, "active", sizeof(r->worker_state));
	strlcpy(env->state, "active", sizeof(env->state));
	if (env->inhibit_pid <= 0 && (env->inhibit_pid =
	    plat_inhibit_sleep(getpid())) < 0)
		env->inhibit_pid = 0;
	if (r->spec == NULL) {
		open_gate(env, "run spec missing or unreadable", "panic", NULL);
		return;
	}
	if (strcmp(r->status, "waiting_approval") == 0) {
		r->mode = RM_GATED;
		r->gate_confirmed = true;
		strlcpy(r->gate_reason, "recovered while gated",
		    sizeof(r->gate_reason));
		set_worker_state(env, "waiting");
	}
}

static cJSON *
task_args(struct sup_env *env)
{
	struct run *r = &env->run;
	cJSON *a = cJSON_CreateObject();

	cJSON_AddStringToObject(a, "run_id", r->run_id);
	cJSON_AddStringToObject(a, "video_id", r->video_id);
	cJSON_AddNumberToObject(a, "lease_epoch", (double)r->epoch);
	cJSON_AddStringToObject(a, "state_dir", env->cfg.state_dir);
	cJSON_AddStringToObject(a, "spec_dir", r->spec_dir);
	cJSON_AddItemToObject(a, "spec", cJSON_Duplicate(r->spec, true));
	cJSON_AddItemToObject(a, "segments", cJSON_Duplicate(
	    cJSON_GetObjectItem(r->ckpt, "segments"), true));
	cJSON_AddBoolToObject(a, "refetch", r->refetching);
	return a;
}

static void
dispatch(struct sup_env *env, int64_t now)
{
	struct run *r = &env->run;
	struct child *c = &env->children[stage_kind[r->stage]];
	cJSON *h, *args;

	if (c->state != CH_READY || c->paused)
		return;
	h = cJSON_CreateObject();
	r->task_id = ++env->next_task_id;
	r->task_kind = c->kind;
	r->task_sent_ms = now;
	cJSON_AddNumberToObject(h, "task_id", (double)r->task_id);
	cJSON_AddStringToObject(h, "type", stage_name(r->stage));
	cJSON_AddNumberToObject(h, "epoch", (double)r->epoch);
	args = task_args(env);
	if (child_send(env, c, IPC_TASK, h, args) == -1) {
		log_warn("dispatch %s to %s", stage_name(r->stage), c->ident);
		r->task_id = 0;
	} else {
		c->state = CH_BUSY;
		c->task_id = r->task_id;
		c->last_progress_ms = now;
		ckpt_stage_set(r->ckpt, stage_name(r->stage), "in_progress");
		save_ckpt(env);
		log_info("run %s: stage %s dispatched to %s (task %lld)",
		    r->video_id, stage_name(r->stage), c->ident, r->task_id);
	}
	cJSON_Delete(h);
	cJSON_Delete(args);
}

static void
finish_run(struct sup_env *env, const char *status, const char *error)
{
	struct run *r = &env->run;
	cJSON *a = cJSON_CreateObject();

	r->mode = RM_FINISHING;
	cJSON_AddStringToObject(a, "status", status);
	cJSON_AddStringToObject(a, "error", error ? error : "");
	if (strcmp(status, "done") == 0) {
		ckpt_put(r->ckpt, "finished",
		    cJSON_CreateTrue());
		save_ckpt(env);
	}
	(void)lease_request(env, "FINISH", a);
	log_info("run %s (%s) finishing: %s", r->run_id, r->video_id, status);
}

void
sched_tick(struct sup_env *env, int64_t now)
{
	struct run *r = &env->run;
	struct child *rc = &env->children[K_RENDER];

	if (r->mode == RM_QUARANTINE && now >= r->quarantine_until) {
		log_info("run %s: quarantine over, resuming the render",
		    r->video_id);
		r->mode = RM_RUNNING;
		set_worker_state(env, "active");
		if (rc->state == CH_DOWN)
			rc->restart_at = now;
	}
	if (r->mode != RM_RUNNING || r->task_id != 0 || r->paused ||
	    r->fenced || env->stopping || now < r->retry_at)
		return;
	if (r->stage >= ST_NSTAGES) {
		finish_run(env, "done", NULL);
		return;
	}
	dispatch(env, now);
}

/* Copy per-segment results into the checkpoint. */
static int
merge_segments(struct run *r, const cJSON *body, const char *stage)
{
	const cJSON *segs = cJSON_GetObjectItem(body, "segments"), *s, *v;
	const char *id;
	cJSON *dst;

	if (!cJSON_IsArray(segs))
		return strcmp(stage, "evidence") == 0 ||
		    strcmp(stage, "timeline") == 0 ? 0 : -1;
	cJSON_ArrayForEach(s, segs) {
		id = cJSON_GetStringValue(cJSON_GetObjectItem(s, "segment_id"));
		if (id == NULL || !cJSON_IsObject(s))
			return -1;
		dst = ckpt_segment(r->ckpt, id);
		cJSON_ArrayForEach(v, s) {
			if (strcmp(v->string, "segment_id") == 0)
				continue;
			cJSON_DeleteItemFromObject(dst, v->string);
			cJSON_AddItemToObject(dst, v->string,
			    cJSON_Duplicate(v, true));
		}
	}
	return 0;
}

static void
stage_done(struct sup_env *env, const cJSON *body)
{
	struct run *r = &env->run;

	if (merge_segments(r, body, stage_name(r->stage)) == -1) {
		log_warnx("run %s: %s result without valid segments; retrying",
		    r->video_id, stage_name(r->stage));
		r->retry_at = clock_mono_ms() + STAGE_RETRY_MS;
		return;
	}
	if (r->stage == ST_EVIDENCE)
		r->refetching = false;
	ckpt_stage_set(r->ckpt, stage_name(r->stage), "done");
	save_ckpt(env);
	log_info("run %s: stage %s done", r->video_id, stage_name(r->stage));
	r->stage_failures = 0;
	r->stage++;
}

/* A rejected render is rendered again: back to the render stage. */
static void
rerender_if_probe(struct run *r)
{
	if (r->stage != ST_PROBE)
		return;
	ckpt_stage_set(r->ckpt, "render", "pending");
	r->stage = ST_RENDER;
}

static void
stage_failed(struct sup_env *env, const char *error)
{
	struct run *r = &env->run;
	char reason[128];
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "stage", stage_name(r->stage));
	cJSON_AddStringToObject(p, "error", error);
	sup_event(env, "stage_failed", "ERROR", stage_name(r->stage), p);
	log_warnx("run %s: stage %s failed: %s", r->video_id,
	    stage_name(r->stage), error);
	ckpt_stage_set(r->ckpt, stage_name(r->stage), "pending");
	rerender_if_probe(r);
	save_ckpt(env);
	if (++r->stage_failures < 2) {
		r->retry_at = clock_mono_ms() + STAGE_RETRY_MS;
		return;
	}
	snprintf(reason, sizeof(reason), "stage_failed:%s",
	    stage_name(r->stage));
	sched_alert_x(env, reason, error, buttons());
	open_gate(env, reason, "panic", NULL);
}

static void
on_panic(struct sup_env *env, const char *panic, const cJSON *body,
    const char *error)
{
	struct run *r = &env->run;
	cJSON *p = cJSON_Duplicate(body, true);

	if (p == NULL)
		p = cJSON_CreateObject();
	ckpt_stage_set(r->ckpt, stage_name(r->stage), "pending");
	rerender_if_probe(r);
	save_ckpt(env);
	sup_event(env, panic, "CRITICAL", panic, p);
	{
		cJSON *x = cJSON_CreateObject();

		cJSON_AddBoolToObject(x, "buttons", true);
		sched_alert_x(env, panic, error, x);
	}
	open_gate(env, panic, "panic", cJSON_Duplicate(body, true));
}

static void
on_gate_result(struct sup_env *env, const cJSON *body)
{
	struct run *r = &env->run;
	cJSON *ev = cJSON_Duplicate(body, true);

	ckpt_stage_set(r->ckpt, "evidence", "pending");
	save_ckpt(env);
	if (r->refetched) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddBoolToObject(x, "buttons", true);
		cJSON_AddStringToObject(x, "diff", cJSON_GetStringValue(
		    cJSON_GetObjectItem(body, "diff")) ?: "");
		sched_alert_x(env, "panic_integrity_failure",
		    "critical claims still disagree after a refetch", x);
		sup_event(env, "panic_integrity_failure", "CRITICAL",
		    "panic_integrity_failure", cJSON_Duplicate(body, true));
		open_gate(env, "panic_integrity_failure", "panic", ev);
		return;
	}
	{
		cJSON *x = cJSON_CreateObject();

		cJSON_AddBoolToObject(x, "buttons", true);
		cJSON_AddStringToObject(x, "diff", cJSON_GetStringValue(
		    cJSON_GetObjectItem(body, "diff")) ?: "");
		sched_alert_x(env, "gate_opened", "trusted sources disagree "
		    "on a critical claim", x);
	}
	open_gate(env, "evidence_conflict", "waiting", ev);
}

/* A child's RESULT.  Stale task ids and epochs are ignored. */
void
sched_on_result(struct sup_env *env, struct child *c, const cJSON *hdr,
    const cJSON *body)
{
	struct run *r = &env->run;
	long long task = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(
	    hdr, "task_id"));
	long long epoch = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(
	    hdr, "epoch"));
	const char *outcome = cJSON_GetStringValue(cJSON_GetObjectItem(hdr,
	    "outcome"));
	const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(hdr,
	    "error"));
	const char *panic = cJSON_GetStringValue(cJSON_GetObjectItem(body,
	    "panic"));

	if (c->task_id == task) {
		c->task_id = 0;
		c->jobs_done = true;
		if (c->state == CH_BUSY)
			c->state = CH_READY;
	}
	if (c->kind == K_NOTIFY) {
		notify_on_result(env, task);
		return;
	}
	if (r->mode != RM_RUNNING || task != r->task_id || epoch != r->epoch) {
		log_debug("ignoring stale result of task %lld", task);
		return;
	}
	r->task_id = 0;
	if (strcmp(outcome, "ok") == 0)
		stage_done(env, body);
	else if (strcmp(outcome, "gate") == 0 && r->stage == ST_EVIDENCE)
		on_gate_result(env, body);
	else if (strcmp(outcome, "panic") == 0 && panic != NULL &&
	    strncmp(panic, "panic_", 6) == 0)
		on_panic(env, panic, body, error ? error : panic);
	else if (strcmp(outcome, "stopped") == 0)
		ckpt_stage_set(r->ckpt, stage_name(r->stage), "pending");
	else
		stage_failed(env, error ? error : "no reason given");
}

/* The child running our task died, froze or stalled. */
void
sched_on_child_lost(struct sup_env *env, struct child *c, const char *why,
    bool stuck)
{
	struct run *r = &env->run;
	cJSON *p;

	if (r->mode != RM_RUNNING || r->task_id == 0 ||
	    r->task_kind != c->kind)
		return;
	r->task_id = 0;
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "child", kind_name(c->kind));
	cJSON_AddStringToObject(p, "why", why);
	cJSON_AddStringToObject(p, "stage", stage_name(r->stage));
	if (c->kind == K_RENDER && stuck) {
		r->frozen++;
		sup_event(env, "panic_browser_frozen", "CRITICAL",
		    "panic_browser_frozen", p);
		sched_alert_x(env, "panic_browser_frozen", why, r->frozen >
		    FROZEN_MAX ? buttons() : NULL);
		if (r->frozen > FROZEN_MAX) {
			open_gate(env, "panic_browser_frozen", "panic", NULL);
			return;
		}
		r->mode = RM_QUARANTINE;
		r->quarantine_until = clock_mono_ms() +
		    (int64_t)env->quarantine_sec * 1000;
		c->restart_at = r->quarantine_until;
		set_worker_state(env, "panic");
		return;
	}
	sup_event(env, "child_lost", "WARN", why, p);
	if (child_crash_loop(c, clock_mono_ms())) {
		sched_alert_x(env, "crash_loop", kind_name(c->kind), buttons());
		open_gate(env, "crash_loop", "panic", NULL);
	}
}

static void
resume_after_gate(struct sup_env *env, bool refetch)
{
	struct run *r = &env->run;

	log_info("run %s: operator said %s; resuming", r->video_id,
	    refetch ? "refetch" : "approve");
	r->mode = RM_RUNNING;
	r->stage_failures = 0;
	r->retry_at = 0;
	if (refetch) {
		r->refetching = r->refetched = true;
		ckpt_stage_set(r->ckpt, "evidence", "pending");
		r->stage = ST_EVIDENCE;
	} else if (r->stage == ST_EVIDENCE &&
	    strcmp(r->gate_reason, "evidence_conflict") == 0) {
		ckpt_stage_set(r->ckpt, "evidence", "done");
		cJSON_DeleteItemFromObject(r->ckpt, "evidence_override");
		cJSON_AddTrueToObject(r->ckpt, "evidence_override");
	} else if (strcmp(r->gate_reason, "panic_integrity_failure") == 0) {
		ckpt_stage_set(r->ckpt, "evidence", "done");
	}
	if (strcmp(r->gate_reason, "panic_browser_frozen") == 0)
		r->frozen = 0;
	save_ckpt(env);
	first_pending_stage(r);
	set_worker_state(env, "active");
}

static void
stop_run_children(struct sup_env *env, const char *why)
{
	struct run *r = &env->run;
	struct child *c;

	if (r->task_id == 0)
		return;
	c = &env->children[r->task_kind];
	r->task_id = 0;
	if (c->pid > 0 && c->task_id != 0)
		child_kill_tree(env, c, why);
}

/*
 * panic_lost_lock: the heartbeat answered ok=false.  Kill the run's
 * children at once, write nothing more for this epoch (the alert event
 * carries the run id only in its payload), wait, claim again.
 */
static void
lost_lock(struct sup_env *env)
{
	struct run *r = &env->run;
	cJSON *x = cJSON_CreateObject();

	stop_run_children(env, "lost lock");
	cJSON_AddStringToObject(x, "run_id", r->run_id);
	cJSON_AddNumberToObject(x, "lease_epoch", (double)r->epoch);
	r->run_id[0] = '\0';
	sched_alert_x(env, "LOST LOCK", "panic_lost_lock: another holder or "
	    "an unlock took the lease; nothing more is written for this "
	    "epoch", x);
	(void)lease_request(env, "DROP", NULL);
	sched_clear(env);
	env->next_claim_ms = clock_mono_ms() +
	    (int64_t)env->lost_lock_wait_sec * 1000;
}

/* The answer to a lease heartbeat. */
void
sched_on_hb_answer(struct sup_env *env, const cJSON *a)
{
	struct run *r = &env->run;
	bool ok = cJSON_IsTrue(cJSON_GetObjectItem(a, "ok"));
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(a,
	    "status"));

	if (r->mode == RM_NONE || status == NULL)
		return;
	r->hb_latency_ms = (long long)cJSON_GetNumberValue(
	    cJSON_GetObjectItem(a, "latency_ms"));
	if (cJSON_GetStringValue(cJSON_GetObjectItem(a, "lease_expires_at")))
		strlcpy(r->lease_expires_at, cJSON_GetStringValue(
		    cJSON_GetObjectItem(a, "lease_expires_at")),
		    sizeof(r->lease_expires_at));
	strlcpy(r->status, status, sizeof(r->status));
	if (r->paused) {
		log_info("lease renewal confirmed; resuming children");
		child_pause_all(env, false);
		r->paused = false;
	}
	if (!ok && strcmp(status, "aborted") == 0) {
		log_warnx("run %s (%s) was aborted by the operator",
		    r->run_id, r->video_id);
		stop_run_children(env, "run aborted");
		sup_event(env, "run_stopped", "WARN", "aborted", NULL);
		r->mode = RM_FINISHING;
		(void)lease_request(env, "RELEASE", NULL);
		return;
	}
	if (!ok) {
		lost_lock(env);
		return;
	}
	if (r->fenced) {
		log_info("lease renewal confirmed after fencing; resuming");
		r->fenced = false;
	}
	if (r->mode == RM_GATED && r->gate_confirmed) {
		if (cJSON_IsTrue(cJSON_GetObjectItem(a, "force_refetch")))
			resume_after_gate(env, true);
		else if (strcmp(status, "approved") == 0 ||
		    strcmp(status, "running") == 0)
			resume_after_gate(env, false);
		return;
	}
	if (r->mode == RM_RUNNING && cJSON_IsTrue(cJSON_GetObjectItem(a,
	    "force_refetch"))) {
		log_info("run %s: operator asked for a refetch", r->video_id);
		stop_run_children(env, "refetch requested");
		r->refetching = true;
		ckpt_stage_set(r->ckpt, "evidence", "pending");
		r->stage = ST_EVIDENCE;
	}
	if (r->mode == RM_RUNNING && strcmp(status, "waiting_approval") == 0) {
		r->mode = RM_GATED;
		r->gate_confirmed = true;
		strlcpy(r->gate_reason, "gated in the store",
		    sizeof(r->gate_reason));
	}
}

/* Other messages from the lease thread. */
void
sched_on_lease_msg(struct sup_env *env, const char *type, const cJSON *b)
{
	struct run *r = &env->run;

	if (strcmp(type, "GATED") == 0) {
		r->gate_confirmed = true;
		if (!cJSON_IsTrue(cJSON_GetObjectItem(b, "ok")))
			log_warnx("gate was not recorded (lock gone?)");
	} else if (strcmp(type, "UNCERTAIN") == 0 && r->mode != RM_NONE) {
		log_warnx("panic_heartbeat_uncertain: pausing the run's "
		    "children until the lease is confirmed");
		sched_alert(env, "panic_heartbeat_uncertain",
		    cJSON_GetStringValue(cJSON_GetObjectItem(b, "error")));
		child_pause_all(env, true);
		r->paused = true;
	} else if (strcmp(type, "FENCE") == 0 && r->mode != RM_NONE) {
		log_warnx("lease renewal unconfirmed near expiry: killing the "
		    "run's children before anyone else can claim it");
		child_pause_all(env, false);
		r->paused = false;
		stop_run_children(env, "lease fence");
		if (r->stage < ST_NSTAGES)
			ckpt_stage_set(r->ckpt, stage_name(r->stage),
			    "pending");
		save_ckpt(env);
		r->fenced = true;	/* keep renewing; dispatch nothing */
	} else if (strcmp(type, "ENDED") == 0) {
		if (r->mode == RM_FINISHING || env->stopping) {
			log_info("run %s released", r->run_id);
			sched_clear(env);
			if (env->once)
				env->once_done = true;
			env->next_claim_ms = clock_mono_ms();
		}
	}
}

/* SIGTERM: stop at a safe point, keep the claim, save the checkpoint. */
void
sched_shutdown(struct sup_env *env)
{
	struct run *r = &env->run;

	if (r->mode == RM_NONE)
		return;
	if (r->ckpt != NULL) {
		if (r->stage < ST_NSTAGES && strcmp(ckpt_stage_get(r->ckpt,
		    stage_name(r->stage)), "done") != 0)
			ckpt_stage_set(r->ckpt, stage_name(r->stage),
			    "pending");
		save_ckpt(env);
	}
	sup_event(env, "worker_stopping", "INFO", "sigterm", NULL);
	(void)lease_request(env, r->mode == RM_FINISHING ? "POKE" : "KEEP",
	    NULL);
}
