/* SPDX-License-Identifier: ISC */
/*
 * lease.c: the lease thread, sole owner of the held run's lease.
 *
 * Store I/O never runs in the loop that reads child messages.  This thread
 * owns one store handle, the lease (run, lock token, epoch, expiry) and the
 * heartbeat timer: it claims, renews (cas_heartbeat_run), gates, finishes
 * and releases, and answers every request with a typed message (smsg.h)
 * that says whether the store confirmed, refused or failed.  A failed call
 * is never dressed up as an answer: the main loop's run machine decides
 * what to retry.  Failed renewals are retried 2 s and 5 s later; after
 * three failures it reports UNCERTAIN, keeps retrying every 5 s, and
 * reports FENCE when the lease would expire before another renewal could
 * be confirmed.  Every answer carries a copy of the lease; the main loop
 * never changes it.
 *
 * The handle is reopened by the backend when it broke or was opened
 * read-only; the store's health is reported whenever it changes, so
 * `rvctl status` can show an unusable store.
 *
 * The thread itself (handle, dispatch loop, fault sites, start and stop)
 * is supervisor/storethread.c; this file holds only the lease handlers
 * and timers.
 *
 * Public: lease_start, lease_stop, lease_send.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/ids.h"
#include "common/core/log.h"
#include "common/store/store.h"
#include "supervisor/fault.h"
#include "supervisor/smsg.h"
#include "supervisor/stale_own.h"
#include "supervisor/storethread.h"
#include "supervisor/sup.h"

struct lease_thr {
	struct storethread th;
	int		 health;	/* -1 unknown, 0 unusable, 1 up */
	char		 health_why[256];
	struct lease_view lv;
	char		 wstate[16];
	int64_t		 hb_due, fence_at;
	int		 failures;
	bool		 uncertain, fenced;
	long long	 hb_count;
	long		 fail_after, fail_n;
	struct stale_own stale;		/* our stale runs before claiming */
	bool		 claimed_once;	/* a claim got an answer */
};

static struct lease_thr lt;

static void
answer(struct lease_thr *t, struct smsg *m)
{
	m->lease = t->lv;
	(void)smsg_send(t->th.sock, m);
}

static void
answer_text(struct lease_thr *t, enum smsg_type type, const char *text)
{
	struct smsg *m = smsg_new(type);

	strlcpy(m->text, text, sizeof(m->text));
	answer(t, m);
}

/* Tell the main loop when the store turned usable or unusable. */
static void
report_health(struct lease_thr *t, bool ok, const char *why)
{
	struct smsg *m;

	if (t->health == (ok ? 1 : 0) && (ok || strcmp(why,
	    t->health_why) == 0))
		return;
	t->health = ok ? 1 : 0;
	strlcpy(t->health_why, ok ? "" : why, sizeof(t->health_why));
	m = smsg_new(SM_STORE_HEALTH);
	m->ok = ok;
	strlcpy(m->text, t->health_why, sizeof(m->text));
	answer(t, m);
}

static void
open_failed(struct storethread *th, const char *err)
{
	log_warnx("store: %s", err);
	report_health(th->owner, false, err);
}

/* After a store call: is the handle still usable? */
static void
check_health(struct lease_thr *t)
{
	char why[256];

	if (!t->th.opened)
		return;
	if (store_health(&t->th.st, why, sizeof(why)) == -1)
		report_health(t, false, why);
	else
		report_health(t, true, "");
}

static void
arm_lease(struct lease_thr *t, int64_t t0)
{
	t->fence_at = t0 + (int64_t)t->th.cfg.lease_minutes * 60000 -
	    (int64_t)(t->th.cfg.heartbeat_timeout_sec + 5) * 1000;
	t->hb_due = t0 + t->th.cfg.heartbeat_interval_sec * 1000;
	t->failures = 0;
	t->uncertain = t->fenced = false;
}

static void
copy_gate(struct smsg *m, const struct store_run *r)
{
	strlcpy(m->status, r->status, sizeof(m->status));
	strlcpy(m->gate_nonce, r->gate_nonce, sizeof(m->gate_nonce));
	strlcpy(m->decided_nonce, r->decided_nonce, sizeof(m->decided_nonce));
	strlcpy(m->decision, r->decision, sizeof(m->decision));
	strlcpy(m->gate_reason, r->gate_reason, sizeof(m->gate_reason));
	strlcpy(m->lease.expires_at, r->lease_expires_at,
	    sizeof(m->lease.expires_at));
}

/* Read the claimed run; a failed read is retried a few times. */
static int
read_claimed(struct lease_thr *t, const char *run_id, struct store_run *r,
    char **spec, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (i > 0)
			clock_sleep_ms(1000);
		if (store_get_run(&t->th.st, run_id, r, spec, err,
		    errlen) == 0)
			return 0;
	}
	return -1;
}

static void
do_claim(struct storethread *th, struct smsg *req)
{
	struct lease_thr *t = th->owner;
	struct store_claim c;
	struct store_run r;
	char token[ID_UUID_LEN + 1], err[512] = "", *spec = NULL;
	struct smsg *m;
	int rc;

	id_uuid_new(token);
	if (!storethread_open(&t->th)) {
		answer_text(t, SM_CLAIM_FAILED, "store unavailable");
		return;
	}
	if (!t->claimed_once && stale_own_scan(&t->th.st, &t->th.cfg,
	    &t->stale, err, sizeof(err)) == -1)
		log_warnx("our own stale runs are unknown: %s", err);
	if (storethread_injected(&t->th, "claim", err, sizeof(err)))
		rc = -1;
	else
		rc = storethread_lost("claim", store_claim(&t->th.st,
		    t->th.cfg.worker_id, token, t->th.cfg.lease_minutes, "",
		    req->prev_token, &c, err, sizeof(err)), err, sizeof(err));
	check_health(t);
	if (rc == -1) {
		answer_text(t, SM_CLAIM_FAILED, err);
		return;
	}
	t->claimed_once = true;
	if (rc == 0) {
		answer(t, smsg_new(SM_NOCLAIM));
		return;
	}
	if (read_claimed(t, c.run_id, &r, &spec, err, sizeof(err)) == -1) {
		/*
		 * We hold a claim we cannot read.  Renewing it blind would
		 * pin the run; letting it go stale lets a recovery claim
		 * (ours, 2 heartbeat intervals later) take it back.
		 */
		log_warnx("claimed run %s but cannot read it: %s", c.run_id,
		    err);
		answer_text(t, SM_CLAIM_FAILED, err);
		return;
	}
	memset(&t->lv, 0, sizeof(t->lv));
	t->lv.holding = true;
	strlcpy(t->lv.run_id, c.run_id, sizeof(t->lv.run_id));
	strlcpy(t->lv.token, c.lock_token, sizeof(t->lv.token));
	t->lv.epoch = c.lease_epoch;
	strlcpy(t->wstate, WS_ACTIVE, sizeof(t->wstate));
	arm_lease(t, clock_mono_ms());
	m = smsg_new(SM_CLAIMED);
	m->lease = t->lv;
	copy_gate(m, &r);
	strlcpy(m->video_id, c.video_id, sizeof(m->video_id));
	m->flag = c.is_recovery;
	if (!stale_own_recovered(&t->stale, &t->th.cfg, &c, m->text,
	    sizeof(m->text)))
		m->text[0] = '\0';
	memset(&t->stale, 0, sizeof(t->stale));
	m->json = spec != NULL ? cJSON_Parse(spec) : NULL;
	free(spec);
	t->lv.expires_at[0] = '\0';
	(void)smsg_send(t->th.sock, m);
}

static void
hb_failed(struct lease_thr *t, const char *err)
{
	static const int retry_ms[] = { 2000, 5000 };
	int64_t now = clock_mono_ms();

	t->failures++;
	log_warnx("lease heartbeat %d failed: %s", t->failures, err);
	if (t->failures < 3) {
		t->hb_due = now + retry_ms[t->failures - 1];
		return;
	}
	t->hb_due = now + 5000;
	if (!t->uncertain) {
		t->uncertain = true;
		answer_text(t, SM_UNCERTAIN, err);
	}
}

/*
 * Every confirmed renewal leaves a DEBUG event stamped by the store's
 * clock, so the gaps between renewals can be measured from the store.
 */
static void
record_heartbeat(struct lease_thr *t, long latency_ms)
{
	struct store_event ev;
	enum store_write res;
	char err[256];

	memset(&ev, 0, sizeof(ev));
	id_uuid_new(ev.event_id);
	strlcpy(ev.run_id, t->lv.run_id, sizeof(ev.run_id));
	strlcpy(ev.event_type, "lease_heartbeat", sizeof(ev.event_type));
	strlcpy(ev.severity, "DEBUG", sizeof(ev.severity));
	strlcpy(ev.source, t->th.cfg.worker_id, sizeof(ev.source));
	ev.lease_epoch = t->lv.epoch;
	ev.payload = cJSON_CreateObject();
	cJSON_AddNumberToObject(ev.payload, "latency_ms", latency_ms);
	cJSON_AddNumberToObject(ev.payload, "lease_epoch",
	    (double)t->lv.epoch);
	if (store_add_event(&t->th.st, &ev, &res, err, sizeof(err)) ==
	    -1)
		log_debug("heartbeat event: %s", err);
	cJSON_Delete(ev.payload);
}

/*
 * After a confirmed renewal: the lease expiry, and while the run is gated
 * (our worker state is not active) and the store names a decided
 * gate, the stored spec too, which an operator may have amended before
 * deciding (sched_apply_spec).  A decision is passed on only with the
 * spec read after it: when that read fails, the decision is held back
 * for the next renewal, never applied on the old spec.
 */
static void
read_after_renewal(struct lease_thr *t, struct smsg *m)
{
	struct store_run r;
	char err[512], *spec = NULL;
	bool want;

	err[0] = '\0';
	want = m->decided_nonce[0] != '\0' && strcmp(t->wstate,
	    WS_ACTIVE) != 0;
	if (store_get_run(&t->th.st, t->lv.run_id, &r, want ? &spec : NULL,
	    err, sizeof(err)) == 0) {
		strlcpy(t->lv.expires_at, r.lease_expires_at,
		    sizeof(t->lv.expires_at));
		if (spec != NULL)
			m->json = cJSON_Parse(spec);
		else
			strlcpy(err, "no spec stored", sizeof(err));
	}
	free(spec);
	if (want && !cJSON_IsObject(m->json)) {
		log_warnx("run %s: cannot read its spec with the decision "
		    "(%s); the decision waits for the next renewal",
		    t->lv.run_id, err);
		m->decided_nonce[0] = m->decision[0] = '\0';
	}
}

static void
do_heartbeat(struct lease_thr *t)
{
	struct store_hb hb;
	char err[512];
	int64_t t0 = clock_mono_ms();
	struct smsg *m;
	int rc;

	if (!storethread_open(&t->th)) {
		hb_failed(t, "store unavailable");
		return;
	}
	memset(&hb, 0, sizeof(hb));
	if (t->fail_after >= 0 && t->hb_count >= t->fail_after &&
	    t->fail_n > 0) {
		t->fail_n--;
		rc = -1;
		strlcpy(err, "injected failure", sizeof(err));
	} else if (storethread_injected(&t->th, "heartbeat", err, sizeof(err)))
		rc = -1;
	else
		rc = storethread_lost("heartbeat", store_heartbeat(&t->th.st,
		    t->lv.run_id, t->th.cfg.worker_id, t->lv.token,
		    t->th.cfg.lease_minutes, (long)t->lv.latency_ms, t->wstate,
		    &hb, err, sizeof(err)), err, sizeof(err));
	check_health(t);
	if (rc == -1) {
		hb_failed(t, err);
		return;
	}
	t->lv.latency_ms = clock_mono_ms() - t0;
	t->hb_count++;
	arm_lease(t, t0);
	m = smsg_new(SM_HB);
	m->ok = hb.ok;
	m->flag = hb.force_refetch;
	strlcpy(m->status, hb.status, sizeof(m->status));
	strlcpy(m->gate_nonce, hb.gate_nonce, sizeof(m->gate_nonce));
	strlcpy(m->decided_nonce, hb.decided_nonce, sizeof(m->decided_nonce));
	strlcpy(m->decision, hb.decision, sizeof(m->decision));
	if (!hb.ok)
		t->lv.holding = false;
	else {
		record_heartbeat(t, (long)t->lv.latency_ms);
		read_after_renewal(t, m);
	}
	answer(t, m);
}

static void
do_gate(struct storethread *th, struct smsg *req)
{
	struct lease_thr *t = th->owner;
	char nonce[STORE_ID_MAX] = "", err[512] = "";
	struct smsg *m;
	bool ok = false;
	int rc;

	if (!t->lv.holding) {
		answer(t, smsg_new(SM_GATE_REFUSED));
		return;
	}
	if (!storethread_open(&t->th)) {
		answer_text(t, SM_GATE_FAILED, "store unavailable");
		return;
	}
	if (storethread_injected(&t->th, "gate", err, sizeof(err)))
		rc = -1;
	else
		rc = storethread_lost("gate", store_gate(&t->th.st,
		    t->lv.run_id, t->th.cfg.worker_id, t->lv.token, req->reason,
		    req->worker_state, req->json, nonce, &ok, err,
		    sizeof(err)), err, sizeof(err));
	check_health(t);
	if (rc == -1) {
		answer_text(t, SM_GATE_FAILED, err);
		return;
	}
	if (!ok) {
		answer(t, smsg_new(SM_GATE_REFUSED));
		return;
	}
	strlcpy(t->wstate, req->worker_state, sizeof(t->wstate));
	m = smsg_new(SM_GATE_OK);
	strlcpy(m->gate_nonce, nonce, sizeof(m->gate_nonce));
	answer(t, m);
	t->hb_due = clock_mono_ms();	/* learn the new status at once */
}

/* The worker state rides on every renewal too: a failure here is fine. */
static void
do_state(struct storethread *th, struct smsg *req)
{
	struct lease_thr *t = th->owner;
	char err[512];
	bool ok;

	if (!t->lv.holding)
		return;
	strlcpy(t->wstate, req->worker_state, sizeof(t->wstate));
	if (!storethread_open(&t->th))
		return;
	if (storethread_injected(&t->th, "state", err, sizeof(err)) ||
	    storethread_lost("state", store_set_worker_state(&t->th.st,
	    t->lv.run_id, t->th.cfg.worker_id, t->lv.token, req->worker_state,
	    &ok, err, sizeof(err)), err, sizeof(err)) == -1)
		log_warnx("worker state %s not recorded yet (sent again with "
		    "the next renewal): %s", req->worker_state, err);
	check_health(t);
}

/* Finish, release or keep: the end of our hold on the run. */
static void
do_end(struct storethread *th, struct smsg *req)
{
	struct lease_thr *t = th->owner;
	const char *what = smsg_name(req->type);
	char err[512] = "";
	struct smsg *m;
	bool ok = false;
	int rc;

	if (!t->lv.holding) {
		answer_text(t, SM_END_REFUSED, "not holding the run");
		return;
	}
	if (!storethread_open(&t->th)) {
		answer_text(t, SM_END_FAILED, "store unavailable");
		return;
	}
	if (req->type == SM_FINISH)
		rc = storethread_injected(&t->th, "finish", err,
		    sizeof(err)) ? -1 : store_finish(&t->th.st, t->lv.run_id,
		    t->th.cfg.worker_id, t->lv.token, req->status, req->text,
		    &ok, err, sizeof(err));
	else if (req->type == SM_RELEASE)
		rc = storethread_injected(&t->th, "release", err,
		    sizeof(err)) ? -1 : store_release(&t->th.st, t->lv.run_id,
		    t->th.cfg.worker_id, t->lv.token, req->worker_state, &ok,
		    err, sizeof(err));
	else
		rc = store_set_worker_state(&t->th.st, t->lv.run_id,
		    t->th.cfg.worker_id, t->lv.token, WS_IDLE, &ok, err,
		    sizeof(err));
	if (req->type != SM_KEEP)
		rc = storethread_lost(req->type == SM_FINISH ? "finish" :
		    "release", rc, err, sizeof(err));
	check_health(t);
	if (req->type == SM_KEEP)
		t->lv.holding = false;	/* stop renewing either way */
	if (rc == -1) {
		log_warnx("%s: %s", what, err);
		answer_text(t, SM_END_FAILED, err);
		return;
	}
	if (ok || req->type == SM_KEEP)
		t->lv.holding = false;
	m = smsg_new(ok ? SM_END_OK : SM_END_REFUSED);
	strlcpy(m->status, what, sizeof(m->status));
	answer(t, m);
}

static void
do_drop(struct storethread *th, struct smsg *req)
{
	struct lease_thr *t = th->owner;

	(void)req;
	t->lv.holding = false;		/* lost lock: write nothing more */
}

static void
do_poke(struct storethread *th, struct smsg *req)
{
	struct lease_thr *t = th->owner;

	(void)req;
	t->hb_due = clock_mono_ms();
}

static void
do_quit(struct storethread *th, struct smsg *req)
{
	(void)req;
	th->quit = true;
}

static const struct storethread_handler handlers[] = {
	{ SM_CLAIM, do_claim },
	{ SM_GATE, do_gate },
	{ SM_STATE, do_state },
	{ SM_FINISH, do_end },
	{ SM_RELEASE, do_end },
	{ SM_KEEP, do_end },
	{ SM_DROP, do_drop },
	{ SM_POKE, do_poke },
	{ SM_QUIT, do_quit },
};

/* At start: is the store's contract intact?  (read-only) */
static void
contract_check(struct storethread *th)
{
	struct lease_thr *t = th->owner;
	char err[512] = "";
	cJSON *rep = NULL;

	if (!storethread_open(&t->th))
		return;
	if (store_check_contract(&t->th.st, &rep, err, sizeof(err)) ==
	    0 && cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok"))) {
		cJSON_Delete(rep);
		check_health(t);
		return;
	}
	cJSON_Delete(rep);
	answer_text(t, SM_CONTRACT_FAIL, err[0] ? err : "the store does not "
	    "offer every RPC with the expected shape");
}

/* Until the renewal or the fence is due; nothing is timed without a run. */
static int64_t
next_wait(struct storethread *th)
{
	struct lease_thr *t = th->owner;
	int64_t due;

	if (!t->lv.holding)
		return INT64_MAX;
	due = t->hb_due;
	if (t->uncertain && !t->fenced && t->fence_at < due)
		due = t->fence_at;
	return due - clock_mono_ms();
}

/* After the messages: renew when due; fence when renewals ran out. */
static void
tick(struct storethread *th)
{
	struct lease_thr *t = th->owner;

	if (t->lv.holding && clock_mono_ms() >= t->hb_due)
		do_heartbeat(t);
	if (t->lv.holding && t->uncertain && !t->fenced &&
	    clock_mono_ms() >= t->fence_at) {
		t->fenced = true;
		answer(t, smsg_new(SM_FENCE));
	}
}

/* Start the lease thread; env->lease is the main loop's end. */
int
lease_start(struct sup_env *env, char *err, size_t errlen)
{
	struct lease_thr *t = &lt;

	memset(t, 0, sizeof(*t));
	t->th.name = "lease";
	t->th.owner = t;
	t->th.handlers = handlers;
	t->th.nhandlers = sizeof(handlers) / sizeof(handlers[0]);
	t->th.open_failed = open_failed;
	t->th.begin = contract_check;
	t->th.next_wait = next_wait;
	t->th.tick = tick;
	t->health = -1;
	t->th.slow_ms = fault_num("lease-slow", 0);
	t->fail_after = fault_num("hb-fail", 0);
	t->fail_n = fault_num("hb-fail", 1);
	return storethread_start(&t->th, env, "lease", &env->lease, err,
	    errlen);
}

/* Ask the thread to finish what is queued, then join it. */
void
lease_stop(struct sup_env *env)
{
	storethread_stop(&lt.th, env->lease);
}

/* Send a request to the lease thread.  Takes ownership of <m>. */
int
lease_send(struct sup_env *env, struct smsg *m)
{
	return smsg_send(env->lease, m);
}
