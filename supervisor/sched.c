/* SPDX-License-Identifier: ISC */
/*
 * sched.c: the stages of the held run, as actions of the run machine.
 *
 * A claimed run goes evidence -> voice -> render -> probe -> timeline.  The
 * checkpoint (common/core/checkpoint.c) says which stages are done; the first
 * stage not done is dispatched as a TASK to the child of its kind, and
 * marked done only when that child's RESULT says it succeeded.  An
 * interrupted stage (child died, stuck, supervisor restarted) is simply
 * dispatched again: every stage checks for valid artifacts first.
 *
 * This file never decides the run's state: results become events of the
 * machine (run.c), and the machine calls the functions here.  A stop that
 * needs the operator (evidence conflict, voice drift, Dzine failure, crash
 * loop, frozen renderer beyond its budget, repeated stage failure) is
 * prepared here as a gate request; the alert that it waits for the
 * operator goes out only once the store confirmed the gate, and carries
 * the gate's nonce.  The confirmed gate is kept in the checkpoint, so a
 * restarted supervisor applies a decision recorded for it meanwhile.
 *
 * An operator may amend one segment of a gated run (rvctl amend: its text
 * or target duration, in the store only; the supervisor stays the only
 * writer of the checkpoint).  The stored spec is therefore read again
 * whenever the run goes on: at every claim (sched_setup) and when a
 * decision for the run's gate arrives (the lease thread fetches the spec
 * with the renewal that brings the decision, and holds the decision back
 * until that read succeeded).  sched_apply_spec() compares each segment
 * with what the checkpoint recorded under "spec_segments"; for a segment
 * that changed it moves its finalized audio aside (state/audio/amended/,
 * so the voice stage cannot reuse the audio of the old text; nothing is
 * deleted), forgets its per-segment results and sets voice, render, probe
 * and timeline pending.  The other segments keep their audio and videos,
 * which those stages find and reuse, so only the amended segment is
 * synthesized and rendered again.
 *
 * Public: sched_setup, sched_clear, sched_can_dispatch, sched_dispatch,
 * sched_all_done, sched_result, sched_stage_done, sched_stage_failed,
 * sched_stage_pending, sched_gate_result, sched_panic_result,
 * sched_prepare_gate, sched_gate_confirmed, sched_resume, sched_apply_spec,
 * sched_refetch,
 * sched_save_ckpt, sched_set_worker_state, sched_stop_task, sched_alert,
 * sched_alert_x, sched_buttons, stage_name.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/checkpoint.h"
#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/log.h"
#include "common/core/platform.h"
#include "ipc/proto.h"
#include "supervisor/smsg.h"
#include "supervisor/sup.h"

#define STAGE_RETRY_MS		5000
#define STAGE_FAILURES_MAX	2

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

void
sched_save_ckpt(struct sup_env *env)
{
	struct run *r = &env->run;
	char path[1200], err[512];

	if (r->ckpt == NULL || ckpt_path(path, sizeof(path),
	    env->cfg.state_dir, r->lease.run_id) == -1)
		return;
	if (ckpt_save(path, r->ckpt, err, sizeof(err)) == -1)
		log_warnx("checkpoint: %s", err);
}

/* Our worker state; the lease thread also sends it with every renewal. */
void
sched_set_worker_state(struct sup_env *env, const char *ws)
{
	struct smsg *m = smsg_new(SM_STATE);

	strlcpy(env->run.worker_state, ws, sizeof(env->run.worker_state));
	strlcpy(env->state, ws, sizeof(env->state));
	strlcpy(m->worker_state, ws, sizeof(m->worker_state));
	(void)lease_send(env, m);
}

/*
 * Alert: recorded as an "alert" event and handed to rvw-notify, which
 * sends it to Telegram.  <extra> (owned, may be NULL) adds keys such as
 * the evidence diff, the gate nonce and whether the message carries the
 * gate buttons.
 */
void
sched_alert_x(struct sup_env *env, const char *what, const char *detail,
    cJSON *extra)
{
	struct run *r = &env->run;
	char at[CLOCK_ISO_LEN];
	cJSON *p = cJSON_CreateObject(), *v;

	clock_utc_iso(at);
	cJSON_AddStringToObject(p, "alert", what);
	cJSON_AddStringToObject(p, "run_id", r->lease.run_id);
	cJSON_AddStringToObject(p, "video_id", r->video_id);
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
	log_warnx("ALERT %s: run %s (%s): %s", what, r->lease.run_id,
	    r->video_id, detail ? detail : "");
	notify_enqueue(env, p);
	sup_event(env, "alert", "CRITICAL", what, p);
}

void
sched_alert(struct sup_env *env, const char *what, const char *detail)
{
	sched_alert_x(env, what, detail, NULL);
}

/* The extra keys of an alert that waits for the operator's decision. */
cJSON *
sched_buttons(void)
{
	cJSON *x = cJSON_CreateObject();

	cJSON_AddBoolToObject(x, "buttons", true);
	return x;
}

static void
gate_req_clear(struct gate_req *g)
{
	cJSON_Delete(g->evidence);
	cJSON_Delete(g->extra);
	memset(g, 0, sizeof(*g));
}

void
sched_clear(struct sup_env *env)
{
	struct run *r = &env->run;

	cJSON_Delete(r->spec);
	cJSON_Delete(r->ckpt);
	gate_req_clear(&r->gate);
	memset(r, 0, sizeof(*r));
	r->state = RS_IDLE;
	strlcpy(env->state, WS_IDLE, sizeof(env->state));
	if (env->inhibit_pid > 0) {
		(void)kill(-env->inhibit_pid, SIGTERM);
		(void)kill(env->inhibit_pid, SIGTERM);
	}
}

/* Stop the child working on the run's task, if any; the stage is redone. */
void
sched_stop_task(struct sup_env *env, const char *why)
{
	struct run *r = &env->run;
	struct child *c;

	if (r->task_id == 0)
		return;
	c = &env->children[r->task_kind];
	r->task_id = 0;
	sched_stage_pending(env);
	if (c->pid > 0 && c->task_id != 0)
		child_event(env, c, CE_STOP, why);
}

/*
 * Prepare the gate the machine will ask the store for.  Takes ownership of
 * <evidence> and <extra> (both may be NULL).  <alert> is the alert sent
 * once the store confirmed the gate ("" for none).
 */
void
sched_prepare_gate(struct sup_env *env, const char *reason, const char *ws,
    cJSON *evidence, const char *alert, const char *detail, cJSON *extra)
{
	struct gate_req *g = &env->run.gate;

	gate_req_clear(g);
	strlcpy(g->reason, reason, sizeof(g->reason));
	strlcpy(g->worker_state, ws, sizeof(g->worker_state));
	strlcpy(g->alert, alert, sizeof(g->alert));
	strlcpy(g->detail, detail ? detail : "", sizeof(g->detail));
	g->evidence = evidence;
	g->extra = extra;
}

/* The store holds the gate <nonce>: now, and only now, the run waits. */
void
sched_gate_confirmed(struct sup_env *env, const char *nonce)
{
	struct run *r = &env->run;
	struct gate_req *g = &r->gate;
	cJSON *o, *x;

	if (r->gate_nonce[0] != '\0' && strcmp(r->gate_nonce, nonce) != 0) {
		/* A retried gate call replaced ours: both were ours. */
		memmove(r->gate_older[1], r->gate_older[0],
		    sizeof(r->gate_older) - sizeof(r->gate_older[0]));
		strlcpy(r->gate_older[0], r->gate_nonce,
		    sizeof(r->gate_older[0]));
	}
	strlcpy(r->gate_nonce, nonce, sizeof(r->gate_nonce));
	if (g->reason[0] != '\0')
		strlcpy(r->gate_reason, g->reason, sizeof(r->gate_reason));
	strlcpy(r->worker_state, g->worker_state[0] ? g->worker_state :
	    WS_WAITING, sizeof(r->worker_state));
	strlcpy(env->state, r->worker_state, sizeof(env->state));
	strlcpy(r->status, RUN_WAITING_APPROVAL, sizeof(r->status));
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "nonce", nonce);
	cJSON_AddStringToObject(o, "reason", g->reason);
	if (r->ckpt != NULL) {
		ckpt_put(r->ckpt, "gate", o);
		sched_save_ckpt(env);
	} else
		cJSON_Delete(o);
	log_warnx("run %s (%s) waits for the operator: %s (gate %.8s)",
	    r->lease.run_id, r->video_id, g->reason, nonce);
	if (g->alert[0] != '\0') {
		x = g->extra != NULL ? g->extra : cJSON_CreateObject();
		g->extra = NULL;
		cJSON_DeleteItemFromObject(x, "gate_nonce");
		cJSON_AddStringToObject(x, "gate_nonce", nonce);
		sched_alert_x(env, g->alert, g->detail, x);
	}
	gate_req_clear(g);
}

static void
load_checkpoint(struct sup_env *env)
{
	struct run *r = &env->run;
	char path[1200], aside[1300], err[1024];
	cJSON *c = NULL;

	if (ckpt_path(path, sizeof(path), env->cfg.state_dir,
	    r->lease.run_id) == 0 && ckpt_load(path, &c, err,
	    sizeof(err)) == -1 && errno != ENOENT) {
		log_warnx("checkpoint %s; moved aside, every stage re-checks "
		    "its artifacts", err);
		snprintf(aside, sizeof(aside), "%s.corrupt", path);
		(void)rename(path, aside);
	}
	if (c != NULL && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "run_id")) ?: "", r->lease.run_id) != 0) {
		cJSON_Delete(c);
		c = NULL;
	}
	if (c == NULL)
		c = ckpt_new(r->lease.run_id, r->video_id, env->worker_id,
		    r->lease.token, r->lease.epoch);
	ckpt_put(c, "lock_token", cJSON_CreateString(r->lease.token));
	ckpt_put(c, "lease_epoch", cJSON_CreateNumber((double)r->lease.epoch));
	ckpt_put(c, "worker_id", cJSON_CreateString(env->worker_id));
	ckpt_put(c, "finished", cJSON_CreateFalse());
	r->ckpt = c;
	sched_save_ckpt(env);
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

bool
sched_all_done(const struct run *r)
{
	return r->stage >= ST_NSTAGES;
}

/*
 * The gate this checkpoint recorded, if the store decided it while we
 * were away: apply that decision.  A gate still open is adopted.
 */
static void
recover_gate(struct sup_env *env, const struct smsg *m)
{
	struct run *r = &env->run;
	const cJSON *g = cJSON_GetObjectItem(r->ckpt, "gate");
	const char *nonce = cJSON_GetStringValue(cJSON_GetObjectItem(g,
	    "nonce"));
	const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(g,
	    "reason"));

	if (strcmp(m->status, RUN_WAITING_APPROVAL) == 0 &&
	    m->gate_nonce[0] != '\0') {
		strlcpy(r->gate_nonce, m->gate_nonce, sizeof(r->gate_nonce));
		strlcpy(r->gate_reason, m->gate_reason[0] ? m->gate_reason :
		    reason ? reason : "recovered while gated",
		    sizeof(r->gate_reason));
		run_post_type(env, RE_GATED_IN_STORE);
		return;
	}
	if (nonce == NULL || strcmp(nonce, m->decided_nonce) != 0)
		return;
	strlcpy(r->gate_nonce, nonce, sizeof(r->gate_nonce));
	strlcpy(r->gate_reason, reason ? reason : "", sizeof(r->gate_reason));
	log_info("run %s: the operator decided gate %.8s (%s) while we were "
	    "away: %s", r->video_id, nonce, r->gate_reason, m->decided_nonce[0] ?
	    m->decision : "?");
	if (strcmp(m->decision, "approve") == 0 ||
	    strcmp(m->decision, "refetch") == 0)
		sched_resume(env, m->decision);
}

/* What the checkpoint records of a spec segment: text, target, kind. */
static cJSON *
seg_print(const cJSON *seg)
{
	cJSON *o = cJSON_CreateObject();
	const char *keys[] = { "text", "approx_duration_sec", "kind" };
	const cJSON *v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = cJSON_GetObjectItemCaseSensitive(seg, keys[i])) !=
		    NULL)
			cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v,
			    true));
	return o;
}

/*
 * Move the finalized audio of <segment_id> aside into
 * state/audio/amended/: it says the old text.  Returns how many files
 * moved.
 */
static int
move_audio_aside(struct sup_env *env, const char *segment_id)
{
	struct run *r = &env->run;
	char dir[1200], aside[1300], from[1600], to[1700], pre[160];
	struct dirent *de;
	size_t n;
	DIR *d;
	int moved = 0;

	if (fs_path(dir, sizeof(dir), "%s/audio", env->cfg.state_dir) == -1 ||
	    fs_path(aside, sizeof(aside), "%s/amended", dir) == -1 ||
	    (d = opendir(dir)) == NULL)
		return 0;
	n = (size_t)snprintf(pre, sizeof(pre), "A_%s_%s_", r->lease.run_id,
	    segment_id);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, pre, n) != 0 ||
		    strchr(de->d_name + n, '_') != NULL)
			continue;
		if (fs_mkdirs(aside, 0700) == -1 ||
		    fs_path(from, sizeof(from), "%s/%s", dir,
		    de->d_name) == -1 || fs_path(to, sizeof(to), "%s/%s",
		    aside, de->d_name) == -1 || rename(from, to) == -1) {
			log_warn("run %s: move %s aside", r->video_id,
			    de->d_name);
			continue;
		}
		moved++;
	}
	closedir(d);
	return moved;
}

/* Segment <id> of the run was amended: its audio and video are redone. */
static void
redo_segment(struct sup_env *env, const char *id, const cJSON *was,
    const cJSON *now)
{
	struct run *r = &env->run;
	cJSON *segs = cJSON_GetObjectItem(r->ckpt, "segments"), *p;
	static const char *const redo[] = { "voice", "render", "probe",
	    "timeline" };
	size_t i;
	int moved;

	moved = move_audio_aside(env, id);
	cJSON_DeleteItemFromObject(segs, id);
	for (i = 0; i < sizeof(redo) / sizeof(redo[0]); i++)
		ckpt_stage_set(r->ckpt, redo[i], "pending");
	log_info("run %s: segment %s was amended; its audio and video are "
	    "made again (%d old audio file(s) moved to audio/amended)",
	    r->video_id, id, moved);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "segment_id", id);
	cJSON_AddItemToObject(p, "before", cJSON_Duplicate(was, true));
	cJSON_AddItemToObject(p, "after", cJSON_Duplicate(now, true));
	cJSON_AddNumberToObject(p, "audio_moved_aside", moved);
	sup_event(env, "segment_redo", "INFO", "spec_amended", p);
}

/*
 * Take <spec> (the stored spec, read again) as the run's spec: every
 * segment whose text, target or kind differs from what the checkpoint
 * recorded is redone (see the head of this file); then the checkpoint
 * records <spec>'s segments.  A checkpoint that recorded none (new, or
 * made by an older build) just records them.
 */
void
sched_apply_spec(struct sup_env *env, const cJSON *spec)
{
	struct run *r = &env->run;
	const cJSON *segs, *g, *was;
	cJSON *rec, *now;
	const char *id;
	bool had;

	if (r->ckpt == NULL || !cJSON_IsObject(spec))
		return;
	if (spec != r->spec) {
		cJSON_Delete(r->spec);
		r->spec = cJSON_Duplicate(spec, true);
	}
	had = cJSON_IsObject(cJSON_GetObjectItem(r->ckpt, "spec_segments"));
	rec = cJSON_CreateObject();
	segs = cJSON_GetObjectItemCaseSensitive(r->spec, "segments");
	cJSON_ArrayForEach(g, segs) {
		id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g,
		    "segment_id"));
		if (id == NULL || cJSON_GetObjectItemCaseSensitive(rec,
		    id) != NULL)
			continue;
		now = seg_print(g);
		was = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(
		    r->ckpt, "spec_segments"), id);
		if (had && was != NULL && !cJSON_Compare(was, now, true))
			redo_segment(env, id, was, now);
		cJSON_AddItemToObject(rec, id, now);
	}
	ckpt_put(r->ckpt, "spec_segments", rec);
	sched_save_ckpt(env);
	first_pending_stage(r);
}

/* The lease thread claimed a run: set it up from its checkpoint. */
void
sched_setup(struct sup_env *env, const struct smsg *m)
{
	struct run *r = &env->run;
	const char *dir;

	sched_clear(env);
	r->state = RS_CLAIMING;
	r->lease = m->lease;
	strlcpy(r->video_id, m->video_id, sizeof(r->video_id));
	strlcpy(r->status, m->status[0] ? m->status : RUN_RUNNING,
	    sizeof(r->status));
	r->is_recovery = m->flag;
	r->spec = cJSON_IsObject(m->json) ? cJSON_Duplicate(m->json, true) :
	    NULL;
	dir = cJSON_GetStringValue(cJSON_GetObjectItem(r->spec, "_spec_dir"));
	strlcpy(r->spec_dir, dir ? dir : env->cfg.state_dir,
	    sizeof(r->spec_dir));
	log_info("claimed run %s (%s), epoch %lld%s", r->lease.run_id,
	    r->video_id, r->lease.epoch, r->is_recovery ? ", recovering" : "");
	if (r->is_recovery && m->text[0] != '\0')
		sched_alert(env, "STALE WORKER (recovered)", m->text);
	load_checkpoint(env);
	first_pending_stage(r);
	strlcpy(r->worker_state, WS_ACTIVE, sizeof(r->worker_state));
	strlcpy(env->state, WS_ACTIVE, sizeof(env->state));
	if (env->inhibit_pid <= 0 && (env->inhibit_pid =
	    plat_inhibit_sleep(getpid())) < 0)
		env->inhibit_pid = 0;
	if (r->spec == NULL) {
		sched_prepare_gate(env, "run spec missing or unreadable",
		    WS_PANIC, NULL, "run_spec_missing", "the store holds no "
		    "readable spec for this run", sched_buttons());
		run_post_type(env, RE_GATE_NEEDED);
		return;
	}
	sched_apply_spec(env, r->spec);
	recover_gate(env, m);
}

static cJSON *
task_args(struct sup_env *env)
{
	struct run *r = &env->run;
	cJSON *a = cJSON_CreateObject();

	cJSON_AddStringToObject(a, "run_id", r->lease.run_id);
	cJSON_AddStringToObject(a, "video_id", r->video_id);
	cJSON_AddNumberToObject(a, "lease_epoch", (double)r->lease.epoch);
	cJSON_AddStringToObject(a, "state_dir", env->cfg.state_dir);
	cJSON_AddStringToObject(a, "spec_dir", r->spec_dir);
	cJSON_AddItemToObject(a, "spec", cJSON_Duplicate(r->spec, true));
	cJSON_AddItemToObject(a, "segments", cJSON_Duplicate(
	    cJSON_GetObjectItem(r->ckpt, "segments"), true));
	cJSON_AddBoolToObject(a, "refetch", r->refetching);
	return a;
}

/*
 * The current stage's child can take its task now.  Until it can, a due
 * dispatch waits without a deadline: its READY (or RESULT, or the run
 * unpausing it) wakes the main loop, which checks again.
 */
bool
sched_can_dispatch(struct sup_env *env)
{
	struct run *r = &env->run;
	struct child *c;

	if (r->stage >= ST_NSTAGES)
		return false;
	c = &env->children[stage_kind[r->stage]];
	return c->state == CH_READY && !c->paused;
}

/* Send the current stage to its child when that child is ready. */
void
sched_dispatch(struct sup_env *env, int64_t now)
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
	r->task_store_fault = false;
	cJSON_AddNumberToObject(h, "task_id", (double)r->task_id);
	cJSON_AddStringToObject(h, "type", stage_name(r->stage));
	cJSON_AddNumberToObject(h, "epoch", (double)r->lease.epoch);
	args = task_args(env);
	if (child_send(env, c, IPC_TASK, h, args) == -1) {
		log_warn("dispatch %s to %s", stage_name(r->stage), c->ident);
		r->task_id = 0;
	} else {
		c->task_id = r->task_id;
		child_event(env, c, CE_TASK, NULL);
		ckpt_stage_set(r->ckpt, stage_name(r->stage), "in_progress");
		sched_save_ckpt(env);
		log_info("run %s: stage %s dispatched to %s (task %lld)",
		    r->video_id, stage_name(r->stage), c->ident, r->task_id);
	}
	cJSON_Delete(h);
	cJSON_Delete(args);
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

void
sched_stage_done(struct sup_env *env, const cJSON *body)
{
	struct run *r = &env->run;

	if (r->stage >= ST_NSTAGES)
		return;
	if (merge_segments(r, body, stage_name(r->stage)) == -1) {
		log_warnx("run %s: %s result without valid segments; retrying",
		    r->video_id, stage_name(r->stage));
		r->retry_at = clock_mono_ms() + STAGE_RETRY_MS;
		return;
	}
	if (r->stage == ST_EVIDENCE)
		r->refetching = false;
	ckpt_stage_set(r->ckpt, stage_name(r->stage), "done");
	sched_save_ckpt(env);
	log_info("run %s: stage %s done", r->video_id, stage_name(r->stage));
	r->stage_failures = 0;
	r->stage++;
}

/* The current stage is to be run again (not done). */
void
sched_stage_pending(struct sup_env *env)
{
	struct run *r = &env->run;

	if (r->ckpt == NULL || r->stage >= ST_NSTAGES || strcmp(ckpt_stage_get(
	    r->ckpt, stage_name(r->stage)), "done") == 0)
		return;
	ckpt_stage_set(r->ckpt, stage_name(r->stage), "pending");
	sched_save_ckpt(env);
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

void
sched_stage_failed(struct sup_env *env, const char *error)
{
	struct run *r = &env->run;
	char reason[128];
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "stage", stage_name(r->stage));
	cJSON_AddStringToObject(p, "error", error);
	cJSON_AddBoolToObject(p, "store_fault", r->task_store_fault);
	sup_event(env, "stage_failed", "ERROR", stage_name(r->stage), p);
	log_warnx("run %s: stage %s failed: %s", r->video_id,
	    stage_name(r->stage), error);
	ckpt_stage_set(r->ckpt, stage_name(r->stage), "pending");
	rerender_if_probe(r);
	sched_save_ckpt(env);
	if (r->task_store_fault) {
		/* The store failed under the task: unknown, not a failure. */
		r->retry_ms = r->retry_ms < 2000 ? 2000 : r->retry_ms * 2 >
		    30000 ? 30000 : r->retry_ms * 2;
		r->retry_at = clock_mono_ms() + r->retry_ms;
		log_info("run %s: a store call of that task failed; the stage "
		    "is retried in %d ms and not counted as a failure",
		    r->video_id, r->retry_ms);
		return;
	}
	if (++r->stage_failures < STAGE_FAILURES_MAX) {
		r->retry_at = clock_mono_ms() + STAGE_RETRY_MS;
		return;
	}
	snprintf(reason, sizeof(reason), "stage_failed:%s",
	    stage_name(r->stage));
	sched_prepare_gate(env, reason, WS_PANIC, NULL, reason, error,
	    sched_buttons());
	run_post_type(env, RE_GATE_NEEDED);
}

void
sched_panic_result(struct sup_env *env, const char *panic, const cJSON *body,
    const char *error)
{
	struct run *r = &env->run;
	cJSON *p = cJSON_Duplicate(body, true);

	if (p == NULL)
		p = cJSON_CreateObject();
	ckpt_stage_set(r->ckpt, stage_name(r->stage), "pending");
	rerender_if_probe(r);
	sched_save_ckpt(env);
	sup_event(env, panic, "CRITICAL", panic, p);
	sched_prepare_gate(env, panic, WS_PANIC, cJSON_Duplicate(body, true),
	    panic, error ? error : panic, sched_buttons());
	run_post_type(env, RE_GATE_NEEDED);
}

/* Trusted sources disagree: gate (or panic after a refetch). */
void
sched_gate_result(struct sup_env *env, const cJSON *body)
{
	struct run *r = &env->run;
	cJSON *x = sched_buttons();

	ckpt_stage_set(r->ckpt, "evidence", "pending");
	sched_save_ckpt(env);
	cJSON_AddStringToObject(x, "diff", cJSON_GetStringValue(
	    cJSON_GetObjectItem(body, "diff")) ?: "");
	if (r->refetched) {
		sup_event(env, "panic_integrity_failure", "CRITICAL",
		    "panic_integrity_failure", cJSON_Duplicate(body, true));
		sched_prepare_gate(env, "panic_integrity_failure", WS_PANIC,
		    cJSON_Duplicate(body, true), "panic_integrity_failure",
		    "critical claims still disagree after a refetch", x);
	} else
		sched_prepare_gate(env, "evidence_conflict", WS_WAITING,
		    cJSON_Duplicate(body, true), "gate_opened",
		    "trusted sources disagree on a critical claim", x);
	run_post_type(env, RE_GATE_NEEDED);
}

/* The store recorded <decision> for our gate: go on. */
void
sched_resume(struct sup_env *env, const char *decision)
{
	struct run *r = &env->run;
	bool refetch = strcmp(decision, "refetch") == 0;

	log_info("run %s: the store recorded \"%s\" for gate %.8s (%s); "
	    "resuming", r->video_id, decision, r->gate_nonce, r->gate_reason);
	r->stage_failures = 0;
	r->retry_at = 0;
	r->retry_ms = 0;
	if (refetch) {
		r->refetching = r->refetched = true;
		ckpt_stage_set(r->ckpt, "evidence", "pending");
	} else if (strcmp(r->gate_reason, "evidence_conflict") == 0 ||
	    strcmp(r->gate_reason, "panic_integrity_failure") == 0) {
		ckpt_stage_set(r->ckpt, "evidence", "done");
		ckpt_put(r->ckpt, "evidence_override", cJSON_CreateString(
		    r->gate_nonce));
	}
	if (strcmp(r->gate_reason, "panic_browser_frozen") == 0)
		r->frozen = 0;
	cJSON_DeleteItemFromObject(r->ckpt, "gate");
	r->gate_nonce[0] = '\0';
	memset(r->gate_older, 0, sizeof(r->gate_older));
	sched_save_ckpt(env);
	first_pending_stage(r);
	sched_set_worker_state(env, WS_ACTIVE);
}

/* rvctl refetch while the run is going: evidence is collected again. */
void
sched_refetch(struct sup_env *env)
{
	struct run *r = &env->run;

	log_info("run %s: operator asked for a refetch", r->video_id);
	sched_stop_task(env, "refetch requested");
	r->refetching = true;
	ckpt_stage_set(r->ckpt, "evidence", "pending");
	sched_save_ckpt(env);
	r->stage = ST_EVIDENCE;
}

/*
 * A child's RESULT, as an event of the machine.  Results of another task
 * or epoch are stale and ignored.
 */
void
sched_result(struct sup_env *env, struct child *c, const cJSON *hdr,
    const cJSON *body)
{
	struct run *r = &env->run;
	long long task = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(
	    hdr, "task_id"));
	long long epoch = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(
	    hdr, "epoch"));
	const char *outcome = cJSON_GetStringValue(cJSON_GetObjectItem(hdr,
	    "outcome"));
	const char *panic = cJSON_GetStringValue(cJSON_GetObjectItem(body,
	    "panic"));
	struct run_ev ev;

	if (c->task_id == task && task != 0) {
		c->task_id = 0;
		c->jobs_done = true;
		child_event(env, c, CE_RESULT, NULL);
	}
	if (c->kind == K_NOTIFY) {
		notify_on_result(env, task);
		return;
	}
	if (!run_holding(r) || task == 0 || task != r->task_id ||
	    epoch != r->lease.epoch) {
		log_debug("ignoring stale result of task %lld", task);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.c = c;
	ev.hdr = hdr;
	ev.body = body;
	ev.text = cJSON_GetStringValue(cJSON_GetObjectItem(hdr, "error"));
	if (outcome == NULL)
		outcome = "";
	if (strcmp(outcome, "ok") == 0)
		ev.type = RE_STAGE_OK;
	else if (strcmp(outcome, "gate") == 0 && r->stage == ST_EVIDENCE)
		ev.type = RE_STAGE_GATE;
	else if (strcmp(outcome, "panic") == 0 && panic != NULL &&
	    strncmp(panic, "panic_", 6) == 0) {
		ev.type = RE_STAGE_PANIC;
		ev.text = panic;
	} else if (strcmp(outcome, "stopped") == 0) {
		r->task_id = 0;
		sched_stage_pending(env);
		return;
	} else
		ev.type = RE_STAGE_FAILED;
	run_post(env, &ev);
}
