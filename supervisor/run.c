/* SPDX-License-Identifier: ISC */
/*
 * run.c: the run state machine of the supervisor (SPEC section 4).
 *
 * The held run's whole life is the table below: (state, event) -> action,
 * next state.  Events come from the lease thread's answers (confirmed,
 * refused or failed), from children (results, losses) and from timers
 * whose guards live in run_tick().  An event without a row for the
 * current state is logged as an error and changes nothing.  Every
 * transition is logged at DEBUG; `rvsup print-machine` prints the table.
 *
 * The rules the table encodes:
 *  - a store call that failed is never a decision: the state stays and the
 *    call is retried with bounded backoff until the store confirms or
 *    refuses it;
 *  - a run counts as gated only once the store confirmed the gate record
 *    (GATING -> GATED on GATE_OK); nothing is dispatched meanwhile, and no
 *    alert or log line speaks of the gate before;
 *  - a gated run resumes only on a decision the store recorded for that
 *    gate's nonce (DECIDED_*), never on a bare status.
 *
 * Actions may post follow-up events; those are queued and handled after
 * the current transition completes, so a transition is never re-entered.
 *
 * Public: run_state_name, run_event_name, run_post, run_post_type,
 * run_on_lease_msg, run_tick, run_next_deadline, run_holding,
 * run_print_table.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "supervisor/smsg.h"
#include "supervisor/sup.h"

#define RS_SAME		RS_NSTATES		/* stay where we are */
#define RS_RESUME	(RS_NSTATES + 1)	/* back to run.resume */
#define RETRY_MIN_MS	1000
#define RETRY_MAX_MS	30000
#define CLAIM_MAX_MS	60000
#define FROZEN_MAX	2
#define QUEUE_MAX	8

typedef void	action_fn(struct sup_env *, const struct run_ev *);

static const char *const state_names[RS_NSTATES] = {
	"idle", "claiming", "running", "gating", "gated", "quarantine",
	"paused-uncertain", "fenced", "finishing", "releasing"
};

static const char *const event_names[RE_NEVENTS] = {
	"claim_due", "claimed", "noclaim", "claim_failed", "hb_ok",
	"gated_in_store", "decided_approve", "decided_refetch",
	"refetch_asked", "aborted", "lost", "uncertain", "fence",
	"gate_needed", "gate_ok", "gate_refused", "gate_failed",
	"dispatch_due", "all_done", "quarantine_over", "retry_due",
	"stage_ok", "stage_gate", "stage_panic", "stage_failed",
	"child_lost", "browser_frozen", "end_ok", "end_refused",
	"end_failed", "stop"
};

const char *
run_state_name(enum run_state s)
{
	return s < RS_NSTATES ? state_names[s] : "?";
}

const char *
run_event_name(enum run_event e)
{
	return e < RE_NEVENTS ? event_names[e] : "?";
}

bool
run_holding(const struct run *r)
{
	return r->state != RS_IDLE && r->state != RS_CLAIMING;
}

static int
backoff(struct run *r)
{
	r->retry_ms = r->retry_ms < RETRY_MIN_MS ? RETRY_MIN_MS :
	    r->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : r->retry_ms * 2;
	r->retry_at = clock_mono_ms() + r->retry_ms;
	return r->retry_ms;
}

static void
claim_later(struct sup_env *env, int64_t ms)
{
	env->next_claim_ms = clock_mono_ms() + ms;
}

/* ---- actions ---- */

/* Children paused for an uncertain lease go on (or die) with the run. */
static void
unpause(struct sup_env *env)
{
	if (env->run.state == RS_UNCERTAIN)
		child_pause_all(env, false);
}

static void
a_claim(struct sup_env *env, const struct run_ev *ev)
{
	struct smsg *m = smsg_new(SM_CLAIM);

	(void)ev;
	sup_prev_token(env, m->prev_token, sizeof(m->prev_token));
	(void)lease_send(env, m);
}

static void
a_claimed(struct sup_env *env, const struct run_ev *ev)
{
	env->claim_backoff_ms = 0;
	sched_setup(env, ev->m);
	if (env->stopping)
		run_post_type(env, RE_STOP);
}

static void
a_noclaim(struct sup_env *env, const struct run_ev *ev)
{
	(void)ev;
	env->claim_backoff_ms = 0;
	claim_later(env, (int64_t)env->cfg.poll_interval_sec * 1000);
	if (env->once) {
		log_info("--once: nothing to claim");
		env->once_done = true;
	}
}

/* A failed claim is not "nothing to do": retry sooner, with backoff. */
static void
a_claim_failed(struct sup_env *env, const struct run_ev *ev)
{
	int *b = &env->claim_backoff_ms;

	*b = *b < RETRY_MIN_MS ? RETRY_MIN_MS : *b * 2 > CLAIM_MAX_MS ?
	    CLAIM_MAX_MS : *b * 2;
	log_warnx("claim failed (%s); retrying in %d ms", ev->m ?
	    ev->m->text : "?", *b);
	claim_later(env, *b);
}

static void
note_hb(struct sup_env *env, const struct smsg *m)
{
	struct run *r = &env->run;

	r->lease = m->lease;
	strlcpy(r->status, m->status, sizeof(r->status));
}

static void
a_hb(struct sup_env *env, const struct run_ev *ev)
{
	note_hb(env, ev->m);
}

/* The renewal was confirmed again: children go on. */
static void
a_resume_lease(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;

	note_hb(env, ev->m);
	if (r->state == RS_UNCERTAIN) {
		log_info("lease renewal confirmed; resuming children");
		child_pause_all(env, false);
	} else
		log_info("lease renewal confirmed after fencing; resuming");
	sched_set_worker_state(env, r->worker_state);
}

static void
a_adopt_gate(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;
	char nonce[STORE_ID_MAX];

	if (ev->m != NULL)
		note_hb(env, ev->m);
	strlcpy(nonce, ev->m != NULL ? ev->m->gate_nonce : r->gate_nonce,
	    sizeof(nonce));
	sched_stop_task(env, "the run is gated in the store");
	if (r->state == RS_GATED)
		sched_prepare_gate(env, r->gate_reason, r->worker_state, NULL,
		    "gate_replaced", "the gate was recorded again; use the "
		    "buttons of this message", sched_buttons());
	else if (r->gate.reason[0] == '\0')
		sched_prepare_gate(env, r->gate_reason[0] ? r->gate_reason :
		    "gated in the store", WS_WAITING, NULL, "", "", NULL);
	sched_gate_confirmed(env, nonce);
	/* The lease thread reads the spec with a decision while gated. */
	sched_set_worker_state(env, r->worker_state);
}

static void
a_decided(struct sup_env *env, const struct run_ev *ev)
{
	note_hb(env, ev->m);
	sched_apply_spec(env, ev->m->json);
	sched_resume(env, ev->m->decision);
}

static void
a_refetch(struct sup_env *env, const struct run_ev *ev)
{
	note_hb(env, ev->m);
	sched_refetch(env);
}

static void
a_aborted(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;

	(void)ev;
	log_warnx("run %s (%s) was aborted by the operator",
	    r->lease.run_id, r->video_id);
	unpause(env);
	sched_stop_task(env, "run aborted");
	/* The abort fenced the epoch: the store holds the only record. */
	(void)lease_send(env, smsg_new(SM_DROP));
	sched_clear(env);
	if (env->once)
		env->once_done = true;
	claim_later(env, 0);
}

/*
 * panic_lost_lock: the store says the lock is gone.  Kill the run's
 * children at once, write nothing more for this epoch (queued writes are
 * dropped; the alert event carries the run only in its payload), wait,
 * claim again.
 */
static void
a_lost(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;
	struct smsg *f = smsg_new(SM_FENCE_EPOCH);
	cJSON *x = cJSON_CreateObject();

	(void)ev;
	unpause(env);
	sched_stop_task(env, "lost lock");
	f->lease = r->lease;
	(void)evthread_send(env, f);
	(void)lease_send(env, smsg_new(SM_DROP));
	cJSON_AddStringToObject(x, "lost_run_id", r->lease.run_id);
	cJSON_AddNumberToObject(x, "lost_lease_epoch", (double)r->lease.epoch);
	r->lease.run_id[0] = '\0';
	r->lease.epoch = 0;
	sched_alert_x(env, "LOST LOCK", "panic_lost_lock: another holder or "
	    "an unlock took the lease; nothing more is written for this "
	    "epoch", x);
	sched_clear(env);
	claim_later(env, (int64_t)env->lost_lock_wait_sec * 1000);
}

static void
a_uncertain(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;

	r->resume = r->state;
	log_warnx("panic_heartbeat_uncertain: pausing the run's children "
	    "until the lease is confirmed");
	sched_alert(env, "panic_heartbeat_uncertain", ev->m ? ev->m->text :
	    "");
	child_pause_all(env, true);
}

static void
a_fence(struct sup_env *env, const struct run_ev *ev)
{
	(void)ev;
	log_warnx("lease renewal unconfirmed near expiry: killing the run's "
	    "children before anyone else can claim it");
	child_pause_all(env, false);
	sched_stop_task(env, "lease fence");
	sched_save_ckpt(env);
}

static void
send_gate(struct sup_env *env)
{
	struct run *r = &env->run;
	struct smsg *m = smsg_new(SM_GATE);

	strlcpy(m->reason, r->gate.reason, sizeof(m->reason));
	strlcpy(m->worker_state, r->gate.worker_state,
	    sizeof(m->worker_state));
	m->json = r->gate.evidence != NULL ? cJSON_Duplicate(r->gate.evidence,
	    true) : cJSON_CreateObject();
	(void)lease_send(env, m);
}

static void
a_gate(struct sup_env *env, const struct run_ev *ev)
{
	(void)ev;
	env->run.retry_ms = 0;
	env->run.retry_at = 0;
	send_gate(env);
}

static void
a_gate_ok(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;

	if (r->state == RS_GATED) {
		/* A late answer of a retried gate call: its gate replaced ours. */
		if (strcmp(ev->m->gate_nonce, r->gate_nonce) != 0) {
			sched_prepare_gate(env, r->gate_reason, r->worker_state,
			    NULL, "gate_replaced", "the gate was recorded "
			    "again; use the buttons of this message",
			    sched_buttons());
			sched_gate_confirmed(env, ev->m->gate_nonce);
		}
		return;
	}
	if (r->state != RS_GATING)
		r->resume = RS_GATED;
	env->run.retry_at = 0;
	sched_gate_confirmed(env, ev->m->gate_nonce);
}

static void
a_gate_failed(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;

	log_warnx("run %s: the gate (%s) is not recorded yet: %s; nothing is "
	    "dispatched, retrying in %d ms", r->video_id, r->gate.reason,
	    ev->m ? ev->m->text : "?", backoff(r));
}

static void
a_gate_retry(struct sup_env *env, const struct run_ev *ev)
{
	(void)ev;
	env->run.retry_at = 0;
	send_gate(env);
}

static void
a_dispatch(struct sup_env *env, const struct run_ev *ev)
{
	(void)ev;
	sched_dispatch(env, clock_mono_ms());
}

static void
send_finish(struct sup_env *env)
{
	struct run *r = &env->run;
	struct smsg *m = smsg_new(SM_FINISH);

	strlcpy(m->status, r->finish_status, sizeof(m->status));
	strlcpy(m->text, r->finish_error, sizeof(m->text));
	(void)lease_send(env, m);
}

static void
a_finish(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;

	(void)ev;
	strlcpy(r->finish_status, RUN_DONE, sizeof(r->finish_status));
	r->finish_error[0] = '\0';
	cJSON_DeleteItemFromObject(r->ckpt, "finished");
	cJSON_AddTrueToObject(r->ckpt, "finished");
	sched_save_ckpt(env);
	r->retry_ms = 0;
	r->retry_at = 0;
	log_info("run %s (%s) finishing: done", r->lease.run_id, r->video_id);
	send_finish(env);
}

static void
a_end_retry(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;

	(void)ev;
	r->retry_at = 0;
	if (r->state == RS_FINISHING)
		send_finish(env);
	else
		(void)lease_send(env, smsg_new(SM_KEEP));
}

static void
a_end_failed(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;

	log_warnx("run %s: %s not confirmed: %s; retrying in %d ms",
	    r->video_id, r->state == RS_FINISHING ? "finish" : "release",
	    ev->m ? ev->m->text : "?", backoff(r));
}

static void
a_ended(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;

	unpause(env);
	if (ev->type == RE_END_REFUSED)
		log_warnx("run %s: the store refused to %s it (lock gone)",
		    r->video_id, r->state == RS_FINISHING ? "finish" :
		    "release");
	else
		log_info("run %s released", r->lease.run_id);
	sched_clear(env);
	if (env->once)
		env->once_done = true;
	claim_later(env, 0);
}

static void
a_quarantine_over(struct sup_env *env, const struct run_ev *ev)
{
	struct child *rc = &env->children[K_RENDER];

	(void)ev;
	log_info("run %s: quarantine over, resuming the render",
	    env->run.video_id);
	sched_set_worker_state(env, WS_ACTIVE);
	if (rc->state == CH_DOWN)
		rc->restart_at = clock_mono_ms();
}

static void
a_stage_ok(struct sup_env *env, const struct run_ev *ev)
{
	env->run.task_id = 0;
	sched_stage_done(env, ev->body);
}

static void
a_stage_gate(struct sup_env *env, const struct run_ev *ev)
{
	env->run.task_id = 0;
	sched_gate_result(env, ev->body);
}

static void
a_stage_panic(struct sup_env *env, const struct run_ev *ev)
{
	env->run.task_id = 0;
	sched_panic_result(env, ev->text, ev->body, cJSON_GetStringValue(
	    cJSON_GetObjectItem(ev->hdr, "error")));
}

static void
a_stage_failed(struct sup_env *env, const struct run_ev *ev)
{
	env->run.task_id = 0;
	sched_stage_failed(env, ev->text ? ev->text : "no reason given");
}

/* A result or loss that arrives while the run cannot act on it. */
static void
a_drop_task(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;

	if (ev->type == RE_CHILD_LOST || ev->type == RE_BROWSER_FROZEN ||
	    r->task_id != 0) {
		r->task_id = 0;
		sched_stage_pending(env);
	}
}

static void
a_child_lost(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;
	cJSON *p = cJSON_CreateObject();

	r->task_id = 0;
	sched_stage_pending(env);
	cJSON_AddStringToObject(p, "child", kind_name(ev->c->kind));
	cJSON_AddStringToObject(p, "why", ev->text);
	cJSON_AddStringToObject(p, "stage", stage_name(r->stage));
	sup_event(env, "child_lost", "WARN", ev->text, p);
	if (child_crash_loop(ev->c, clock_mono_ms())) {
		sched_prepare_gate(env, "crash_loop", WS_PANIC, NULL,
		    "crash_loop", kind_name(ev->c->kind), sched_buttons());
		run_post_type(env, RE_GATE_NEEDED);
	}
}

static void
a_frozen(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;
	cJSON *p = cJSON_CreateObject();

	r->task_id = 0;
	sched_stage_pending(env);
	r->frozen++;
	cJSON_AddStringToObject(p, "child", "render");
	cJSON_AddStringToObject(p, "why", ev->text);
	cJSON_AddStringToObject(p, "stage", stage_name(r->stage));
	cJSON_AddNumberToObject(p, "count", r->frozen);
	sup_event(env, "panic_browser_frozen", "CRITICAL",
	    "panic_browser_frozen", p);
	if (r->frozen > FROZEN_MAX) {
		sched_prepare_gate(env, "panic_browser_frozen", WS_PANIC, NULL,
		    "panic_browser_frozen", ev->text, sched_buttons());
		run_post_type(env, RE_GATE_NEEDED);
		return;
	}
	sched_alert(env, "panic_browser_frozen", ev->text);
	r->quarantine_until = clock_mono_ms() +
	    (int64_t)env->quarantine_sec * 1000;
	ev->c->restart_at = r->quarantine_until;
	sched_set_worker_state(env, WS_PANIC);
}

/* SIGTERM: stop at a safe point, keep the claim, save the checkpoint. */
static void
a_stop(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;

	(void)ev;
	unpause(env);
	sched_stage_pending(env);
	sched_save_ckpt(env);
	sup_event(env, "worker_stopping", "INFO", "sigterm", NULL);
	r->retry_ms = 0;
	r->retry_at = 0;
	(void)lease_send(env, smsg_new(SM_KEEP));
}

static void
a_nothing(struct sup_env *env, const struct run_ev *ev)
{
	(void)env;
	(void)ev;
}

/* ---- the table ---- */

#define HOLD(ev, act, to)						\
	{ RS_RUNNING, ev, act, #act, to }, { RS_GATING, ev, act, #act, to }, \
	{ RS_GATED, ev, act, #act, to }, { RS_QUARANTINE, ev, act, #act, to }, \
	{ RS_UNCERTAIN, ev, act, #act, to }, { RS_FENCED, ev, act, #act, to }, \
	{ RS_FINISHING, ev, act, #act, to }, { RS_RELEASING, ev, act, #act, to }
#define PAUSED(ev, act, to)						\
	{ RS_UNCERTAIN, ev, act, #act, to }, { RS_FENCED, ev, act, #act, to }

static const struct transition {
	enum run_state	 from;
	enum run_event	 ev;
	action_fn	*act;
	const char	*act_name;
	int		 to;
} table[] = {
	{ RS_IDLE, RE_CLAIM_DUE, a_claim, "a_claim", RS_CLAIMING },
	{ RS_IDLE, RE_STOP, a_nothing, "a_nothing", RS_SAME },
	{ RS_CLAIMING, RE_CLAIMED, a_claimed, "a_claimed", RS_RUNNING },
	{ RS_CLAIMING, RE_NOCLAIM, a_noclaim, "a_noclaim", RS_IDLE },
	{ RS_CLAIMING, RE_CLAIM_FAILED, a_claim_failed, "a_claim_failed",
	    RS_IDLE },
	{ RS_CLAIMING, RE_STOP, a_nothing, "a_nothing", RS_SAME },

	{ RS_RUNNING, RE_HB_OK, a_hb, "a_hb", RS_SAME },
	{ RS_GATING, RE_HB_OK, a_hb, "a_hb", RS_SAME },
	{ RS_GATED, RE_HB_OK, a_hb, "a_hb", RS_SAME },
	{ RS_QUARANTINE, RE_HB_OK, a_hb, "a_hb", RS_SAME },
	{ RS_FINISHING, RE_HB_OK, a_hb, "a_hb", RS_SAME },
	{ RS_RELEASING, RE_HB_OK, a_hb, "a_hb", RS_SAME },
	PAUSED(RE_HB_OK, a_resume_lease, RS_RESUME),
	{ RS_RUNNING, RE_GATED_IN_STORE, a_adopt_gate, "a_adopt_gate",
	    RS_GATED },
	{ RS_GATING, RE_GATED_IN_STORE, a_adopt_gate, "a_adopt_gate",
	    RS_GATED },
	{ RS_QUARANTINE, RE_GATED_IN_STORE, a_adopt_gate, "a_adopt_gate",
	    RS_GATED },
	{ RS_GATED, RE_DECIDED_APPROVE, a_decided, "a_decided", RS_RUNNING },
	{ RS_GATED, RE_DECIDED_REFETCH, a_decided, "a_decided", RS_RUNNING },
	{ RS_RUNNING, RE_REFETCH_ASKED, a_refetch, "a_refetch", RS_SAME },
	HOLD(RE_ABORTED, a_aborted, RS_IDLE),
	HOLD(RE_LOST, a_lost, RS_IDLE),
	{ RS_RUNNING, RE_UNCERTAIN, a_uncertain, "a_uncertain",
	    RS_UNCERTAIN },
	{ RS_GATING, RE_UNCERTAIN, a_uncertain, "a_uncertain", RS_UNCERTAIN },
	{ RS_GATED, RE_UNCERTAIN, a_uncertain, "a_uncertain", RS_UNCERTAIN },
	{ RS_QUARANTINE, RE_UNCERTAIN, a_uncertain, "a_uncertain",
	    RS_UNCERTAIN },
	{ RS_FINISHING, RE_UNCERTAIN, a_uncertain, "a_uncertain",
	    RS_UNCERTAIN },
	{ RS_UNCERTAIN, RE_FENCE, a_fence, "a_fence", RS_FENCED },

	{ RS_RUNNING, RE_GATE_NEEDED, a_gate, "a_gate", RS_GATING },
	{ RS_QUARANTINE, RE_GATE_NEEDED, a_gate, "a_gate", RS_GATING },
	{ RS_GATING, RE_GATE_OK, a_gate_ok, "a_gate_ok", RS_GATED },
	{ RS_GATED, RE_GATE_OK, a_gate_ok, "a_gate_ok", RS_SAME },
	{ RS_GATED, RE_GATED_IN_STORE, a_adopt_gate, "a_adopt_gate",
	    RS_SAME },
	PAUSED(RE_GATE_OK, a_gate_ok, RS_SAME),
	{ RS_GATING, RE_GATE_REFUSED, a_lost, "a_lost", RS_IDLE },
	PAUSED(RE_GATE_REFUSED, a_lost, RS_IDLE),
	{ RS_GATING, RE_GATE_FAILED, a_gate_failed, "a_gate_failed",
	    RS_SAME },
	PAUSED(RE_GATE_FAILED, a_gate_failed, RS_SAME),
	{ RS_GATING, RE_RETRY_DUE, a_gate_retry, "a_gate_retry", RS_SAME },

	{ RS_RUNNING, RE_DISPATCH_DUE, a_dispatch, "a_dispatch", RS_SAME },
	{ RS_RUNNING, RE_ALL_DONE, a_finish, "a_finish", RS_FINISHING },
	{ RS_QUARANTINE, RE_QUARANTINE_OVER, a_quarantine_over,
	    "a_quarantine_over", RS_RUNNING },
	{ RS_RUNNING, RE_STAGE_OK, a_stage_ok, "a_stage_ok", RS_SAME },
	{ RS_RUNNING, RE_STAGE_GATE, a_stage_gate, "a_stage_gate", RS_SAME },
	{ RS_RUNNING, RE_STAGE_PANIC, a_stage_panic, "a_stage_panic",
	    RS_SAME },
	{ RS_RUNNING, RE_STAGE_FAILED, a_stage_failed, "a_stage_failed",
	    RS_SAME },
	{ RS_RUNNING, RE_CHILD_LOST, a_child_lost, "a_child_lost", RS_SAME },
	{ RS_RUNNING, RE_BROWSER_FROZEN, a_frozen, "a_frozen",
	    RS_QUARANTINE },
	PAUSED(RE_STAGE_OK, a_drop_task, RS_SAME),
	PAUSED(RE_STAGE_GATE, a_drop_task, RS_SAME),
	PAUSED(RE_STAGE_PANIC, a_drop_task, RS_SAME),
	PAUSED(RE_STAGE_FAILED, a_drop_task, RS_SAME),
	PAUSED(RE_CHILD_LOST, a_drop_task, RS_SAME),
	PAUSED(RE_BROWSER_FROZEN, a_drop_task, RS_SAME),
	{ RS_GATING, RE_CHILD_LOST, a_drop_task, "a_drop_task", RS_SAME },
	{ RS_GATED, RE_CHILD_LOST, a_drop_task, "a_drop_task", RS_SAME },
	{ RS_QUARANTINE, RE_CHILD_LOST, a_drop_task, "a_drop_task",
	    RS_SAME },
	{ RS_RELEASING, RE_CHILD_LOST, a_drop_task, "a_drop_task", RS_SAME },
	{ RS_RELEASING, RE_STAGE_OK, a_stage_ok, "a_stage_ok", RS_SAME },
	{ RS_RELEASING, RE_STAGE_FAILED, a_drop_task, "a_drop_task",
	    RS_SAME },
	{ RS_RELEASING, RE_STAGE_GATE, a_drop_task, "a_drop_task", RS_SAME },
	{ RS_RELEASING, RE_STAGE_PANIC, a_drop_task, "a_drop_task", RS_SAME },
	{ RS_RELEASING, RE_BROWSER_FROZEN, a_drop_task, "a_drop_task",
	    RS_SAME },

	{ RS_FINISHING, RE_END_OK, a_ended, "a_ended", RS_IDLE },
	{ RS_FINISHING, RE_END_REFUSED, a_ended, "a_ended", RS_IDLE },
	{ RS_FINISHING, RE_END_FAILED, a_end_failed, "a_end_failed",
	    RS_SAME },
	{ RS_FINISHING, RE_RETRY_DUE, a_end_retry, "a_end_retry", RS_SAME },
	PAUSED(RE_END_OK, a_ended, RS_IDLE),
	PAUSED(RE_END_REFUSED, a_ended, RS_IDLE),
	PAUSED(RE_END_FAILED, a_end_failed, RS_SAME),
	{ RS_RELEASING, RE_END_OK, a_ended, "a_ended", RS_IDLE },
	{ RS_RELEASING, RE_END_REFUSED, a_ended, "a_ended", RS_IDLE },
	{ RS_RELEASING, RE_END_FAILED, a_ended, "a_ended", RS_IDLE },

	{ RS_RUNNING, RE_STOP, a_stop, "a_stop", RS_RELEASING },
	{ RS_GATING, RE_STOP, a_stop, "a_stop", RS_RELEASING },
	{ RS_GATED, RE_STOP, a_stop, "a_stop", RS_RELEASING },
	{ RS_QUARANTINE, RE_STOP, a_stop, "a_stop", RS_RELEASING },
	PAUSED(RE_STOP, a_stop, RS_RELEASING),
	{ RS_FINISHING, RE_STOP, a_nothing, "a_nothing", RS_SAME },
	{ RS_RELEASING, RE_STOP, a_nothing, "a_nothing", RS_SAME },
};

static const char *
to_name(int to)
{
	if (to == RS_SAME)
		return "(same)";
	if (to == RS_RESUME)
		return "(resume)";
	return run_state_name((enum run_state)to);
}

/* Print the table: state, event, action, next state. */
void
run_print_table(FILE *fp)
{
	size_t i;

	fprintf(fp, "%-18s %-18s %-20s %s\n", "STATE", "EVENT", "ACTION",
	    "NEXT");
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		fprintf(fp, "%-18s %-18s %-20s %s\n",
		    run_state_name(table[i].from), run_event_name(table[i].ev),
		    table[i].act_name, to_name(table[i].to));
}

static struct {
	struct run_ev	 ev[QUEUE_MAX];
	int		 n;
	bool		 busy;
} queue;

static void
transition(struct sup_env *env, const struct run_ev *ev)
{
	struct run *r = &env->run;
	enum run_state from = r->state;
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].from == from && table[i].ev == ev->type)
			break;
	if (i == sizeof(table) / sizeof(table[0])) {
		log_warnx("run machine: event %s has no transition in state "
		    "%s; ignored", run_event_name(ev->type),
		    run_state_name(from));
		return;
	}
	table[i].act(env, ev);
	if (table[i].to == RS_RESUME)
		r->state = r->resume;
	else if (table[i].to != RS_SAME && r->state == from)
		r->state = (enum run_state)table[i].to;
	log_debug("run machine: %s --%s/%s--> %s", run_state_name(from),
	    run_event_name(ev->type), table[i].act_name,
	    run_state_name(r->state));
}

/*
 * Feed one event to the machine.  Events posted by actions are queued
 * (only their type is kept) and handled after the current transition.
 */
void
run_post(struct sup_env *env, const struct run_ev *ev)
{
	struct run_ev next;
	int i;

	if (queue.busy) {
		if (queue.n == QUEUE_MAX) {
			log_warnx("run machine: event queue full; %s lost "
			    "(our bug)", run_event_name(ev->type));
			return;
		}
		memset(&queue.ev[queue.n], 0, sizeof(queue.ev[0]));
		queue.ev[queue.n++].type = ev->type;
		return;
	}
	queue.busy = true;
	transition(env, ev);
	while (queue.n > 0) {
		next = queue.ev[0];
		for (i = 1; i < queue.n; i++)
			queue.ev[i - 1] = queue.ev[i];
		queue.n--;
		transition(env, &next);
	}
	queue.busy = false;
}

void
run_post_type(struct sup_env *env, enum run_event type)
{
	struct run_ev ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	run_post(env, &ev);
}

/* Is <nonce> the gate we wait on, or one of ours that it replaced? */
static bool
our_gate(const struct run *r, const char *nonce)
{
	size_t i;

	if (nonce[0] == '\0')
		return false;
	if (strcmp(nonce, r->gate_nonce) == 0)
		return true;
	for (i = 0; i < sizeof(r->gate_older) / sizeof(r->gate_older[0]); i++)
		if (strcmp(nonce, r->gate_older[i]) == 0)
			return true;
	return false;
}

/* Which event a renewal answer is, in the current state. */
static enum run_event
classify_hb(const struct run *r, const struct smsg *m)
{
	if (!m->ok)
		return strcmp(m->status, RUN_ABORTED) == 0 ? RE_ABORTED :
		    RE_LOST;
	if (r->state == RS_GATED || ((r->state == RS_UNCERTAIN ||
	    r->state == RS_FENCED) && r->resume == RS_GATED)) {
		if (r->state == RS_GATED && our_gate(r, m->decided_nonce)) {
			if (strcmp(m->decision, "approve") == 0)
				return RE_DECIDED_APPROVE;
			if (strcmp(m->decision, "refetch") == 0)
				return RE_DECIDED_REFETCH;
		}
		if (r->state == RS_GATED && strcmp(m->status,
		    RUN_WAITING_APPROVAL) == 0 && m->gate_nonce[0] != '\0' &&
		    strcmp(m->gate_nonce, r->gate_nonce) != 0)
			return RE_GATED_IN_STORE;	/* the store's gate wins */
		return RE_HB_OK;
	}
	if ((r->state == RS_RUNNING || r->state == RS_QUARANTINE ||
	    r->state == RS_GATING) && strcmp(m->status,
	    RUN_WAITING_APPROVAL) == 0 && m->gate_nonce[0] != '\0')
		return RE_GATED_IN_STORE;
	if (r->state == RS_RUNNING && m->flag)
		return RE_REFETCH_ASKED;
	return RE_HB_OK;
}

static const struct {
	enum smsg_type	 type;
	enum run_event	 ev;
} lease_events[] = {
	{ SM_CLAIMED, RE_CLAIMED },
	{ SM_NOCLAIM, RE_NOCLAIM },
	{ SM_CLAIM_FAILED, RE_CLAIM_FAILED },
	{ SM_UNCERTAIN, RE_UNCERTAIN },
	{ SM_FENCE, RE_FENCE },
	{ SM_GATE_OK, RE_GATE_OK },
	{ SM_GATE_REFUSED, RE_GATE_REFUSED },
	{ SM_GATE_FAILED, RE_GATE_FAILED },
	{ SM_END_OK, RE_END_OK },
	{ SM_END_REFUSED, RE_END_REFUSED },
	{ SM_END_FAILED, RE_END_FAILED },
};

/* An answer of the lease thread, as an event of the machine. */
void
run_on_lease_msg(struct sup_env *env, const struct smsg *m)
{
	struct run_ev ev;
	size_t i;

	memset(&ev, 0, sizeof(ev));
	ev.m = m;
	if (m->type == SM_HB) {
		if (!run_holding(&env->run))
			return;		/* an answer for a run we let go */
		ev.type = classify_hb(&env->run, m);
		run_post(env, &ev);
		return;
	}
	for (i = 0; i < sizeof(lease_events) / sizeof(lease_events[0]); i++)
		if (lease_events[i].type == m->type) {
			ev.type = lease_events[i].ev;
			run_post(env, &ev);
			return;
		}
	log_warnx("run machine: no event for %s (our bug); dropped",
	    smsg_name(m->type));
}

/* The timers of the machine: each posts an event when its guard holds. */
void
run_tick(struct sup_env *env, int64_t now)
{
	struct run *r = &env->run;

	switch (r->state) {
	case RS_IDLE:
		if (!env->stopping && !env->once_done &&
		    now >= env->next_claim_ms)
			run_post_type(env, RE_CLAIM_DUE);
		break;
	case RS_RUNNING:
		if (r->task_id != 0 || env->stopping || now < r->retry_at)
			break;
		run_post_type(env, sched_all_done(r) ? RE_ALL_DONE :
		    RE_DISPATCH_DUE);
		break;
	case RS_QUARANTINE:
		if (now >= r->quarantine_until)
			run_post_type(env, RE_QUARANTINE_OVER);
		break;
	case RS_GATING:
	case RS_FINISHING:
		if (r->retry_at != 0 && now >= r->retry_at)
			run_post_type(env, RE_RETRY_DUE);
		break;
	default:
		break;
	}
}

/*
 * The first time run_tick() has something to do: the guards above as a
 * deadline (at or before now: due now).  INT64_MAX: nothing is timed, an
 * event wakes the loop; so does the READY of a stage's child that was not
 * ready when the dispatch came due.
 */
int64_t
run_next_deadline(struct sup_env *env)
{
	struct run *r = &env->run;

	switch (r->state) {
	case RS_IDLE:
		if (env->stopping || env->once_done)
			return INT64_MAX;
		return env->next_claim_ms;
	case RS_RUNNING:
		if (r->task_id != 0 || env->stopping ||
		    (!sched_all_done(r) && !sched_can_dispatch(env)))
			return INT64_MAX;
		return r->retry_at;
	case RS_QUARANTINE:
		return r->quarantine_until;
	case RS_GATING:
	case RS_FINISHING:
		return r->retry_at != 0 ? r->retry_at : INT64_MAX;
	default:
		return INT64_MAX;
	}
}
