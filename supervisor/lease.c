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
 * Nothing is claimed before the store's contract is confirmed (the
 * backend's read-only check_contract).  Until then the check is retried
 * with backoff, 1 s doubling to CONTRACT_RETRY_MAX_MS, and every attempt
 * is reported with its reason and the wait before the next one.  A store
 * that could not be asked (unreachable, a handle that would not open) is
 * "down": a fault, never a verdict.  A store that answered but is not
 * this build's (a database of another schema version, a Supabase project
 * without the migration: PGRST202, a missing column) has its contract
 * broken: SM_CONTRACT_FAIL goes to the main loop once per distinct
 * reason in the thread's life, not at every retry.  Once a check passes
 * the store is up and claims go through.
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

#define CONTRACT_RETRY_MIN_MS	1000
/*
 * The longest wait between two contract checks.  An operator who fixed
 * the store (applied the migration, restored the database) sees the
 * worker take work within a minute without restarting it, while a store
 * left broken for a night costs one cheap read-only check a minute and a
 * log line each.  Test builds may shorten it ("contract-retry-max:<ms>"
 * in RV_FAULT).
 */
#define CONTRACT_RETRY_MAX_MS	60000
#define CONTRACT_ALERTED_MAX	8

enum contract {
	CT_UNKNOWN = 0,		/* not checked yet */
	CT_OK,			/* confirmed: claims go through */
	CT_DOWN,		/* could not be asked: retry */
	CT_BROKEN		/* answered, not this build's: retry */
};

struct lease_thr {
	struct storethread th;
	int		 health;	/* -1 unknown, 0 unusable, 1 up */
	bool		 health_contract; /* unusable: the contract is broken */
	char		 health_why[256];
	enum contract	 contract;
	int64_t		 contract_due;	/* next check, while not CT_OK */
	int		 contract_ms;	/* current backoff */
	long		 contract_max_ms;
	char		 alerted[CONTRACT_ALERTED_MAX][256]; /* reasons sent,
						   as long as health_why */
	int		 nalerted;
	int		 open_errno;	/* of the last failed open */
	char		 open_err[256];
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

/*
 * Tell the main loop when the store turned usable or unusable (<broken>:
 * because its contract is broken), and why.  <retry_ms> > 0: the next
 * contract check is that far away; such a report always goes out, so
 * status can show the wait.
 */
static void
report_store(struct lease_thr *t, bool ok, bool broken, const char *why,
    int retry_ms)
{
	struct smsg *m;

	if (retry_ms <= 0 && t->health == (ok ? 1 : 0) && (ok ||
	    (strcmp(why, t->health_why) == 0 && broken == t->health_contract)))
		return;
	t->health = ok ? 1 : 0;
	t->health_contract = !ok && broken;
	strlcpy(t->health_why, ok ? "" : why, sizeof(t->health_why));
	m = smsg_new(SM_STORE_HEALTH);
	m->ok = ok;
	m->flag = t->health_contract;
	m->num = retry_ms > 0 ? retry_ms : 0;
	strlcpy(m->text, t->health_why, sizeof(m->text));
	answer(t, m);
}

static void
report_health(struct lease_thr *t, bool ok, const char *why)
{
	report_store(t, ok, false, why, 0);
}

/*
 * The store could not be opened.  While the contract is not confirmed
 * the check that tried says what it means; after that it is an outage.
 */
static void
open_failed(struct storethread *th, const char *err)
{
	struct lease_thr *t = th->owner;

	t->open_errno = errno;
	strlcpy(t->open_err, err, sizeof(t->open_err));
	if (t->contract != CT_OK)
		return;
	log_warnx("store: %s", err);
	report_health(t, false, err);
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
	if (t->contract != CT_OK) {
		/* Never claim from a store whose contract is not known. */
		snprintf(err, sizeof(err), "%s: %s", t->contract == CT_BROKEN ?
		    "store contract broken" : "store contract not confirmed "
		    "yet", t->health_why[0] ? t->health_why : "not checked");
		answer_text(t, SM_CLAIM_FAILED, err);
		return;
	}
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

/* The failed checks of contract report <rep>, "name: detail; ...". */
static void
failed_checks(const cJSON *rep, char *why, size_t size)
{
	const cJSON *c;
	const char *name, *detail;

	why[0] = '\0';
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(rep, "checks")) {
		if (cJSON_IsTrue(cJSON_GetObjectItem(c, "ok")))
			continue;
		name = cJSON_GetStringValue(cJSON_GetObjectItem(c, "name"));
		detail = cJSON_GetStringValue(cJSON_GetObjectItem(c,
		    "detail"));
		if (why[0] != '\0')
			strlcat(why, "; ", size);
		strlcat(why, name != NULL ? name : "?", size);
		strlcat(why, ": ", size);
		strlcat(why, detail != NULL ? detail : "failed", size);
	}
	if (why[0] == '\0')
		strlcpy(why, "the store does not offer every RPC with the "
		    "expected shape", size);
}

/* Whether CONTRACT FAIL already went out for <why>; remember it if not. */
static bool
alerted_before(struct lease_thr *t, const char *why)
{
	int i, n = t->nalerted < CONTRACT_ALERTED_MAX ? t->nalerted :
	    CONTRACT_ALERTED_MAX;

	for (i = 0; i < n; i++)
		if (strcmp(t->alerted[i], why) == 0)
			return true;
	strlcpy(t->alerted[t->nalerted++ % CONTRACT_ALERTED_MAX], why,
	    sizeof(t->alerted[0]));
	return false;
}

/*
 * The contract could not be confirmed (<kind>: down or broken, <why>):
 * report it with the wait before the next check, and alert CONTRACT FAIL
 * when it is broken for a reason not alerted yet.
 */
static void
contract_failed(struct lease_thr *t, enum contract kind, const char *reason)
{
	char why[sizeof(t->health_why)];	/* compared as it is kept */
	bool first;

	if (strncmp(reason, "store: ", 7) == 0)
		reason += 7;		/* status says "store: ..." itself */
	strlcpy(why, reason, sizeof(why));
	first = t->contract != kind || strcmp(why, t->health_why) != 0;

	t->contract = kind;
	t->contract_ms = t->contract_ms < CONTRACT_RETRY_MIN_MS ?
	    CONTRACT_RETRY_MIN_MS : t->contract_ms * 2 > t->contract_max_ms ?
	    (int)t->contract_max_ms : t->contract_ms * 2;
	t->contract_due = clock_mono_ms() + t->contract_ms;
	if (first)
		log_warnx("store %s: %s; nothing is claimed until it is fixed "
		    "(checked again in %d s, then with backoff up to %ld s)",
		    kind == CT_BROKEN ? "contract broken" : "down", why,
		    t->contract_ms / 1000, t->contract_max_ms / 1000);
	else
		log_info("store still %s: %s; checked again in %d s",
		    kind == CT_BROKEN ? "breaks the contract" : "down", why,
		    t->contract_ms / 1000);
	report_store(t, false, kind == CT_BROKEN, why, t->contract_ms);
	if (kind == CT_BROKEN && !alerted_before(t, why))
		answer_text(t, SM_CONTRACT_FAIL, why);
}

/*
 * Is the store's contract intact?  (read-only)  Run at start and, until
 * it is, whenever contract_due comes.  An open refused with EINVAL is a
 * store of another schema (broken); any other failure to open or to ask
 * is an outage (down).
 */
static void
contract_check(struct storethread *th)
{
	struct lease_thr *t = th->owner;
	char err[512] = "", why[512];
	cJSON *rep = NULL;

	if (!storethread_open(&t->th)) {
		contract_failed(t, t->open_errno == EINVAL ? CT_BROKEN :
		    CT_DOWN, t->open_err);
		return;
	}
	if (store_check_contract(&t->th.st, &rep, err, sizeof(err)) == -1) {
		contract_failed(t, CT_DOWN, err[0] ? err : "the contract "
		    "check failed");
		return;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok"))) {
		failed_checks(rep, why, sizeof(why));
		cJSON_Delete(rep);
		contract_failed(t, CT_BROKEN, why);
		return;
	}
	cJSON_Delete(rep);
	if (t->contract != CT_UNKNOWN)
		log_info("store contract confirmed; claims go through");
	t->contract = CT_OK;
	t->contract_ms = 0;
	t->health = -1;			/* report "up" even if it was */
	check_health(t);
}

/* Until the renewal or the fence is due; nothing is timed without a run. */
static int64_t
next_wait(struct storethread *th)
{
	struct lease_thr *t = th->owner;
	int64_t due;

	if (t->contract != CT_OK)
		return t->contract_due - clock_mono_ms();
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

	if (t->contract != CT_OK && clock_mono_ms() >= t->contract_due)
		contract_check(th);
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
	t->contract_max_ms = fault_num("contract-retry-max", 0) > 0 ?
	    fault_num("contract-retry-max", 0) : CONTRACT_RETRY_MAX_MS;
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
