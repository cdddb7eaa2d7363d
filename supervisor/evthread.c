/* SPDX-License-Identifier: ISC */
/*
 * evthread.c: the event thread, the supervisor's second store handle.
 *
 * It writes what the run produces besides the lease: events and credit
 * ledger results (both spooled first by the main loop, so nothing is lost
 * when the store is away or the supervisor dies), ledger intents (answered
 * to the child: recorded, refused for an old epoch, or unknown because
 * the store failed), operator actions from Telegram buttons, the spool
 * replay, and the periodic scan for stale workers.  Records of an epoch
 * the main loop fenced (lost lock) are dropped here, and the store refuses
 * the rest, so a holder that lost its lease writes nothing more.
 *
 * The thread itself (handle, dispatch loop, fault sites, start and stop)
 * is supervisor/storethread.c; this file holds only its handlers and
 * timers.
 *
 * Public: evthread_start, evthread_stop, evthread_send, sup_event,
 * sup_event_id, sup_spool_record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/ids.h"
#include "common/core/log.h"
#include "common/core/spool.h"
#include "common/store/spool_apply.h"
#include "common/store/store.h"
#include "supervisor/fault.h"
#include "supervisor/smsg.h"
#include "supervisor/storethread.h"
#include "supervisor/sup.h"

#define FENCED_MAX	8

struct ev_thr {
	struct storethread th;
	int64_t		 next_replay, next_stale;
	struct {
		char		run_id[STORE_ID_MAX];
		long long	epoch;
	} fenced[FENCED_MAX];
	int		 nfenced;
};

static struct ev_thr et;

static void
spool_unlink(struct ev_thr *t, const char *event_id)
{
	char path[1200];

	if (event_id != NULL && id_uuid_valid(event_id) &&
	    snprintf(path, sizeof(path), "%s/%s.json", t->th.cfg.spool_dir,
	    event_id) < (int)sizeof(path))
		(void)unlink(path);
}

static bool
epoch_fenced(struct ev_thr *t, const char *run, long long epoch)
{
	int i;

	if (run == NULL || epoch <= 0)
		return false;
	for (i = 0; i < t->nfenced; i++)
		if (strcmp(t->fenced[i].run_id, run) == 0 &&
		    epoch <= t->fenced[i].epoch)
			return true;
	return false;
}

static bool
is_fenced(struct ev_thr *t, const cJSON *rec)
{
	return epoch_fenced(t, cJSON_GetStringValue(cJSON_GetObjectItem(rec,
	    "run_id")), (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(rec,
	    "lease_epoch")));
}

/*
 * Apply one spooled record (event or ledger result).  The spool file goes
 * once the store took it, had it, or refused it for its epoch; it stays
 * for the replay when the store failed.
 */
static void
do_event(struct storethread *th, struct smsg *m)
{
	struct ev_thr *t = th->owner;
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(m->json,
	    "event_id"));
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(m->json,
	    "event_type"));
	enum store_write res;
	char err[512] = "";
	const char *call = type != NULL && strcmp(type, "ledger_result") ==
	    0 ? "ledger_result" : "event";

	if (is_fenced(t, m->json)) {
		log_debug("dropping %s of a fenced epoch", type ? type : "?");
		spool_unlink(t, id);
		return;
	}
	if (!storethread_open(th) || storethread_injected(th, call, err,
	    sizeof(err)) || spool_apply(&th->st, m->json, &res, err,
	    sizeof(err)) == -1 || storethread_lost(call, 0, err,
	    sizeof(err)) == -1) {
		if (t->th.opened)
			log_warnx("%s: %s; kept in the spool", type ? type :
			    "event", err[0] ? err : "store unavailable");
		if (t->next_replay == 0)
			t->next_replay = clock_mono_ms() + 5000;
		return;
	}
	if (res == STORE_WRITE_FENCED)
		log_warnx("store refused %s of an old epoch: %s", type ? type :
		    "event", err);
	spool_unlink(t, id);
}

static void
do_ledger_intent(struct storethread *th, struct smsg *m)
{
	struct ev_thr *t = th->owner;
	const cJSON *b = m->json;
	struct store_ledger l, ex;
	enum store_write res = STORE_WRITE_DONE;
	struct smsg *a = smsg_new(SM_LEDGER_ACK);
	char err[512] = "";
	bool fresh = false;
	int rc = -1;

	memset(&l, 0, sizeof(l));
	strlcpy(l.key, cJSON_GetStringValue(cJSON_GetObjectItem(b, "key")) ?:
	    "", sizeof(l.key));
	strlcpy(l.run_id, m->lease.run_id, sizeof(l.run_id));
	strlcpy(l.segment_id, cJSON_GetStringValue(cJSON_GetObjectItem(b,
	    "segment_id")) ?: "", sizeof(l.segment_id));
	strlcpy(l.sha8, cJSON_GetStringValue(cJSON_GetObjectItem(b, "sha8")) ?:
	    "", sizeof(l.sha8));
	l.credits = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(b,
	    "credits"));
	l.lease_epoch = m->lease.epoch;
	if (epoch_fenced(t, m->lease.run_id, m->lease.epoch)) {
		res = STORE_WRITE_FENCED;
		rc = 0;
	} else if (storethread_open(th) && !storethread_injected(th,
	    "ledger_intent", err, sizeof(err)))
		rc = store_ledger_intent(&th->st, &l, m->lease.token, &fresh,
		    &ex, &res, err, sizeof(err));
	rc = storethread_lost("ledger_intent", rc, err, sizeof(err));
	if (rc == -1)
		log_warnx("ledger intent %s: %s", l.key, err[0] ? err :
		    "store unavailable");
	strlcpy(a->ident, m->ident, sizeof(a->ident));
	a->req_id = m->req_id;
	a->ok = rc == 0 && res != STORE_WRITE_FENCED;
	a->flag = fresh;
	if (rc == 0 && !fresh)
		strlcpy(a->status, ex.state, sizeof(a->status));
	strlcpy(a->decision, rc == -1 ? "unknown" : res == STORE_WRITE_FENCED ?
	    "fenced" : "", sizeof(a->decision));
	(void)smsg_send(t->th.sock, a);
}

/* An operator action asked for by rvw-notify (a Telegram button). */
static void
do_operator(struct storethread *th, struct smsg *m)
{
	static const char *names[] = { "applied", "already_applied",
	    "not_possible" };
	const cJSON *b = m->json;
	const char *run = cJSON_GetStringValue(cJSON_GetObjectItem(b, "run_id"));
	const char *act = cJSON_GetStringValue(cJSON_GetObjectItem(b, "action"));
	const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(b,
	    "operator"));
	const char *nonce = cJSON_GetStringValue(cJSON_GetObjectItem(b,
	    "nonce"));
	enum store_action_result res = ACTION_NOT_POSSIBLE;
	struct smsg *a = smsg_new(SM_OPERATOR_ACK);
	char err[512] = "", msg[512] = "";
	int rc = -1;

	if (run != NULL && act != NULL && op != NULL && storethread_open(th))
		rc = store_operator_action(&th->st, run, act, op,
		    nonce != NULL && *nonce ? nonce : NULL, &res, msg,
		    sizeof(msg), err, sizeof(err));
	if (rc == -1)
		log_warnx("operator action from Telegram: %s", err[0] ? err :
		    "malformed request or store unavailable");
	strlcpy(a->ident, m->ident, sizeof(a->ident));
	a->req_id = m->req_id;
	a->ok = rc == 0;
	strlcpy(a->status, rc == 0 ? names[res] : "", sizeof(a->status));
	strlcpy(a->text, rc == 0 ? msg : err[0] ? err : "store unavailable",
	    sizeof(a->text));
	(void)smsg_send(th->sock, a);
}

static void
do_replay(struct storethread *th, struct smsg *m)
{
	struct ev_thr *t = th->owner;
	struct spool_report rep;
	char err[512];

	(void)m;
	t->next_replay = 0;
	if (spool_count(t->th.cfg.spool_dir) == 0 || !storethread_open(&t->th))
		return;
	if (spool_apply_replay(t->th.cfg.spool_dir, &t->th.st, &rep, err,
	    sizeof(err)) == -1) {
		log_warnx("spool replay: %s", err);
		t->next_replay = clock_mono_ms() + 10000;
		return;
	}
	if (rep.failed > 0)
		t->next_replay = clock_mono_ms() + 30000;
	if (rep.deferred > 0 && t->next_replay == 0)
		t->next_replay = clock_mono_ms() + 10000;
	log_info("spool replay: %d sent, %d already there, %d failed, %d "
	    "deferred (store away), %d bad, %d quarantined", rep.sent,
	    rep.duplicate, rep.failed, rep.deferred, rep.bad, rep.quarantined);
}

static void
do_fence(struct storethread *th, struct smsg *m)
{
	struct ev_thr *t = th->owner;
	int i = t->nfenced < FENCED_MAX ? t->nfenced++ : FENCED_MAX - 1;

	strlcpy(t->fenced[i].run_id, m->lease.run_id,
	    sizeof(t->fenced[i].run_id));
	t->fenced[i].epoch = m->lease.epoch;
}

/* SIGTERM: write what waits in the spool once more, then stop. */
static void
do_quit(struct storethread *th, struct smsg *m)
{
	struct ev_thr *t = th->owner;

	(void)m;
	t->th.quit = true;
	if (spool_count(t->th.cfg.spool_dir) > 0)
		do_replay(&t->th, NULL);
}

static const struct storethread_handler handlers[] = {
	{ SM_EVENT, do_event },
	{ SM_LEDGER_INTENT, do_ledger_intent },
	{ SM_OPERATOR, do_operator },
	{ SM_REPLAY, do_replay },
	{ SM_FENCE_EPOCH, do_fence },
	{ SM_QUIT, do_quit },
};

/*
 * Runs held by a worker that stopped renewing: lease expired, or no
 * heartbeat for 3 intervals while marked active (by the store's clock).
 * Our own runs are left to our lease thread.
 */
static void
stale_scan(struct ev_thr *t)
{
	const struct rv_config *cfg = &t->th.cfg;
	struct store_run *runs = NULL;
	char err[256];
	size_t n, i;
	struct smsg *m;

	t->next_stale = clock_mono_ms() + 2000LL * cfg->poll_interval_sec;
	if (!storethread_open(&t->th) || store_list_runs(&t->th.st, &runs, &n,
	    err, sizeof(err)) == -1)
		return;
	for (i = 0; i < n; i++) {
		struct store_run *r = &runs[i];

		if (r->lock_token[0] == '\0' || strcmp(r->worker_state,
		    WS_ACTIVE) != 0 || strcmp(r->worker_id, cfg->worker_id) ==
		    0 || (!r->lease_expired && r->heartbeat_age_sec < 3.0 *
		    cfg->heartbeat_interval_sec))
			continue;
		m = smsg_new(SM_STALE);
		strlcpy(m->lease.run_id, r->run_id, sizeof(m->lease.run_id));
		strlcpy(m->video_id, r->video_id, sizeof(m->video_id));
		strlcpy(m->text, r->worker_id, sizeof(m->text));
		m->num = r->heartbeat_age_sec;
		m->flag = r->lease_expired;
		(void)smsg_send(t->th.sock, m);
	}
	free(runs);
}

static int64_t
next_wait(struct storethread *th)
{
	struct ev_thr *t = th->owner;
	int64_t now = clock_mono_ms(), wait = t->next_stale - now;

	if (t->next_replay != 0 && t->next_replay - now < wait)
		wait = t->next_replay - now;
	return wait;
}

static void
begin(struct storethread *th)
{
	struct ev_thr *t = th->owner;

	t->next_replay = clock_mono_ms();
	t->next_stale = clock_mono_ms() + 5000;
}

/* After the messages: the spool replay and the stale scan, when due. */
static void
tick(struct storethread *th)
{
	struct ev_thr *t = th->owner;
	int64_t now = clock_mono_ms();

	if (t->next_replay != 0 && now >= t->next_replay)
		do_replay(th, NULL);
	if (now >= t->next_stale)
		stale_scan(t);
}

int
evthread_start(struct sup_env *env, char *err, size_t errlen)
{
	struct ev_thr *t = &et;

	memset(t, 0, sizeof(*t));
	t->th.name = "event";
	t->th.owner = t;
	t->th.handlers = handlers;
	t->th.nhandlers = sizeof(handlers) / sizeof(handlers[0]);
	t->th.begin = begin;
	t->th.next_wait = next_wait;
	t->th.tick = tick;
	t->th.slow_ms = fault_num("store-slow", 0);
	return storethread_start(&t->th, env, "events", &env->events, err,
	    errlen);
}

/* Ask the thread to write what is queued, then join it. */
void
evthread_stop(struct sup_env *env)
{
	storethread_stop(&et.th, env->events);
}

int
evthread_send(struct sup_env *env, struct smsg *m)
{
	return smsg_send(env->events, m);
}

/*
 * Spool <rec> (write-ahead: a crash loses nothing) and hand it to the
 * event thread.  Takes ownership of <rec>.  Returns 0 when it is durable
 * in the spool, -1 when only the store can still take it.
 */
int
sup_spool_record(struct sup_env *env, cJSON *rec)
{
	struct smsg *m = smsg_new(SM_EVENT);
	char err[256];
	int rc = 0;

	if (spool_write(env->cfg.spool_dir, rec, err, sizeof(err)) == -1) {
		log_warnx("%s not spooled: %s",
		    cJSON_GetStringValue(cJSON_GetObjectItem(rec,
		    "event_type")) ?: "record", err);
		rc = -1;
	}
	m->json = rec;
	(void)evthread_send(env, m);
	return rc;
}

/*
 * Queue an event for the store, stamped with the run's epoch.  Takes
 * ownership of <payload>.  Nothing is written for a run whose lease we do
 * not hold: the caller passes a run only while it holds it.
 */
void
sup_event(struct sup_env *env, const char *event_type, const char *severity,
    const char *reason_key, cJSON *payload)
{
	sup_event_id(env, NULL, event_type, severity, reason_key, payload);
}

/* The same with a caller-chosen event_id (NULL: a fresh one). */
void
sup_event_id(struct sup_env *env, const char *event_id,
    const char *event_type, const char *severity, const char *reason_key,
    cJSON *payload)
{
	char id[ID_UUID_LEN + 1], at[CLOCK_ISO_LEN];
	long long epoch = env->run.lease.epoch;
	cJSON *o = cJSON_CreateObject();

	if (event_id != NULL && id_uuid_valid(event_id))
		strlcpy(id, event_id, sizeof(id));
	else
		id_uuid_new(id);
	clock_utc_iso(at);
	cJSON_AddStringToObject(o, "event_id", id);
	cJSON_AddStringToObject(o, "run_id", env->run.lease.run_id);
	cJSON_AddStringToObject(o, "event_type", event_type);
	cJSON_AddStringToObject(o, "severity", severity);
	cJSON_AddStringToObject(o, "reason_key", reason_key ? reason_key : "");
	cJSON_AddStringToObject(o, "source", env->worker_id);
	cJSON_AddStringToObject(o, "occurred_at", at);
	cJSON_AddNumberToObject(o, "lease_epoch", (double)epoch);
	if (payload == NULL)
		payload = cJSON_CreateObject();
	cJSON_DeleteItemFromObject(payload, "lease_epoch");
	cJSON_AddNumberToObject(payload, "lease_epoch", (double)epoch);
	cJSON_AddItemToObject(o, "payload", payload);
	(void)sup_spool_record(env, o);
}
