/* SPDX-License-Identifier: ISC */
/*
 * lease.c: the supervisor's two store threads.
 *
 * Store I/O never runs in the loop that reads child messages.  The lease
 * thread owns one store handle and the heartbeat timer of the held run:
 * it claims, renews (cas_heartbeat_run), gates, finishes and releases,
 * and reports every answer to the main loop, so a slow store delays only
 * itself, never a child's liveness check, and a busy child never delays
 * the lease.  Failed renewals are retried 2 s and 5 s later; after three
 * failures it reports UNCERTAIN, keeps retrying, and reports FENCE when
 * the lease would expire before another renewal could be confirmed.  The
 * event thread owns a second handle: events and credit-ledger requests,
 * spooling any event the store does not take and replaying the spool.
 *
 * Main <-> thread messages are two frames on an inproc PAIR: a type and a
 * JSON object.  Everything sent from the main loop is non-blocking.
 *
 * Public: lease_start, lease_stop, lease_request, events_request,
 * sup_event, sup_event_id, pair_recv.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/spool.h"
#include "common/store.h"
#include "supervisor/sup.h"

struct thr {
	struct sup_env	*env;
	struct rv_config cfg;
	void		*sock;
	struct store	 st;
	bool		 store_ok;
	pthread_t	 tid;
	bool		 is_lease;
	/* lease state */
	bool		 holding;
	char		 run_id[STORE_ID_MAX], token[STORE_ID_MAX];
	char		 wstate[16];
	int64_t		 hb_due, last_ok, fence_at;
	int		 failures;
	bool		 uncertain, fenced;
	long long	 hb_count;
	long		 slow_ms, fail_after, fail_n;
	int64_t		 next_replay;
	int64_t		 next_stale;
};

static struct thr lease_thr, event_thr;

static int
pair_send(void *sock, const char *type, const cJSON *body)
{
	char *txt = cJSON_PrintUnformatted(body);
	int rc = -1;

	if (txt == NULL)
		return -1;
	if (zmq_send(sock, type, strlen(type), ZMQ_SNDMORE) != -1 &&
	    zmq_send(sock, txt, strlen(txt), 0) != -1)
		rc = 0;
	free(txt);
	return rc;
}

/* Receive one two-frame message; *body is owned by the caller. */
int
pair_recv(void *sock, char *type, size_t tsize, cJSON **body)
{
	zmq_msg_t a, b;
	int n;

	*body = NULL;
	zmq_msg_init(&a);
	if (zmq_msg_recv(&a, sock, ZMQ_DONTWAIT) == -1) {
		zmq_msg_close(&a);
		return -1;
	}
	n = (int)zmq_msg_size(&a);
	if ((size_t)n >= tsize)
		n = (int)tsize - 1;
	memcpy(type, zmq_msg_data(&a), (size_t)n);
	type[n] = '\0';
	zmq_msg_close(&a);
	zmq_msg_init(&b);
	if (zmq_msg_recv(&b, sock, 0) == -1) {
		zmq_msg_close(&b);
		return -1;
	}
	*body = cJSON_ParseWithLength(zmq_msg_data(&b), zmq_msg_size(&b));
	zmq_msg_close(&b);
	if (*body == NULL)
		*body = cJSON_CreateObject();
	return 0;
}

static long
fault_num(const char *what, int idx)
{
	const char *t = getenv("RV_TESTING"), *f = getenv("RV_FAULT"), *p;
	long v[2] = { -1, -1 };

	if (t == NULL || strcmp(t, "1") != 0 || f == NULL ||
	    (p = strstr(f, what)) == NULL)
		return -1;
	p += strlen(what);
	if (*p++ != ':')
		return -1;
	v[0] = strtol(p, (char **)&p, 10);
	if (*p == ':')
		v[1] = strtol(p + 1, NULL, 10);
	return v[idx];
}

static void
slow(struct thr *t)
{
	if (t->slow_ms > 0)
		clock_sleep_ms(t->slow_ms);
}

static bool
ensure_store(struct thr *t)
{
	char err[512];

	if (t->store_ok)
		return true;
	if (store_open(&t->st, &t->cfg, err, sizeof(err)) == -1) {
		log_warnx("store: %s", err);
		return false;
	}
	t->store_ok = true;
	return true;
}

static void
reply(struct thr *t, const char *type, cJSON *body)
{
	if (pair_send(t->sock, type, body) == -1)
		log_warn("%s: %s", __func__, type);
	cJSON_Delete(body);
}

static void
do_claim(struct thr *t, const cJSON *a)
{
	const char *prev = cJSON_GetStringValue(cJSON_GetObjectItem(a,
	    "prev_token"));
	struct store_claim c;
	struct store_run r;
	char token[ID_UUID_LEN + 1], err[512], *spec = NULL;
	cJSON *o;
	int rc;

	id_uuid_new(token);
	if (!ensure_store(t)) {
		reply(t, "CLAIM_ERR", cJSON_CreateObject());
		return;
	}
	slow(t);
	rc = t->st.ops->claim(t->st.impl, t->cfg.worker_id, token,
	    t->cfg.lease_minutes, "", prev ? prev : "", &c, err, sizeof(err));
	if (rc == -1) {
		log_warnx("claim: %s", err);
		reply(t, "CLAIM_ERR", cJSON_CreateObject());
		return;
	}
	if (rc == 0) {
		reply(t, "NOCLAIM", cJSON_CreateObject());
		return;
	}
	if (t->st.ops->get_run(t->st.impl, c.run_id, &r, &spec, err,
	    sizeof(err)) == -1) {
		log_warnx("claimed run %s: %s", c.run_id, err);
		spec = NULL;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "run_id", c.run_id);
	cJSON_AddStringToObject(o, "video_id", c.video_id);
	cJSON_AddStringToObject(o, "token", c.lock_token);
	cJSON_AddNumberToObject(o, "epoch", (double)c.lease_epoch);
	cJSON_AddBoolToObject(o, "is_recovery", c.is_recovery);
	cJSON_AddStringToObject(o, "status", r.status);
	cJSON_AddItemToObject(o, "spec", spec ? cJSON_Parse(spec) :
	    cJSON_CreateNull());
	free(spec);
	t->holding = true;
	strlcpy(t->run_id, c.run_id, sizeof(t->run_id));
	strlcpy(t->token, c.lock_token, sizeof(t->token));
	strlcpy(t->wstate, "active", sizeof(t->wstate));
	t->last_ok = clock_mono_ms();
	t->fence_at = t->last_ok + (int64_t)t->cfg.lease_minutes * 60000 -
	    (int64_t)(t->cfg.heartbeat_timeout_sec + 5) * 1000;
	t->hb_due = clock_mono_ms() + t->cfg.heartbeat_interval_sec * 1000;
	t->failures = 0;
	t->uncertain = t->fenced = false;
	reply(t, "CLAIMED", o);
}

static void
hb_failed(struct thr *t, const char *err)
{
	static const int retry_ms[] = { 2000, 5000 };
	int64_t now = clock_mono_ms();
	cJSON *o;

	t->failures++;
	log_warnx("lease heartbeat %d failed: %s", t->failures, err);
	if (t->failures < 3) {
		t->hb_due = now + retry_ms[t->failures - 1];
		return;
	}
	t->hb_due = now + 5000;
	if (!t->uncertain) {
		t->uncertain = true;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "error", err);
		reply(t, "UNCERTAIN", o);
	}
}

/*
 * Every confirmed renewal leaves a DEBUG event stamped by the store's
 * clock, so the gaps between renewals can be measured from the store.
 */
static void
record_heartbeat(struct thr *t, long latency_ms)
{
	struct store_event ev;
	char err[256];
	bool ins;

	memset(&ev, 0, sizeof(ev));
	id_uuid_new(ev.event_id);
	strlcpy(ev.run_id, t->run_id, sizeof(ev.run_id));
	strlcpy(ev.event_type, "lease_heartbeat", sizeof(ev.event_type));
	strlcpy(ev.severity, "DEBUG", sizeof(ev.severity));
	strlcpy(ev.source, t->cfg.worker_id, sizeof(ev.source));
	ev.payload = cJSON_CreateObject();
	cJSON_AddNumberToObject(ev.payload, "latency_ms", latency_ms);
	if (t->st.ops->add_event(t->st.impl, &ev, &ins, err, sizeof(err)) ==
	    -1)
		log_debug("heartbeat event: %s", err);
	cJSON_Delete(ev.payload);
}

/* The renewed lease's expiry as the store records it. */
static void
lease_expiry(struct thr *t, cJSON *o)
{
	struct store_run r;
	char err[256];

	if (t->st.ops->get_run(t->st.impl, t->run_id, &r, NULL, err,
	    sizeof(err)) == 0)
		cJSON_AddStringToObject(o, "lease_expires_at",
		    r.lease_expires_at);
}

static void
do_heartbeat(struct thr *t)
{
	struct store_hb hb;
	char err[512];
	int64_t t0 = clock_mono_ms();
	long lat;
	cJSON *o;
	int rc;

	if (!ensure_store(t)) {
		hb_failed(t, "store unavailable");
		return;
	}
	slow(t);
	if (t->fail_after >= 0 && t->hb_count >= t->fail_after &&
	    t->fail_n > 0) {
		t->fail_n--;
		rc = -1;
		strlcpy(err, "injected failure", sizeof(err));
	} else
		rc = t->st.ops->heartbeat(t->st.impl, t->run_id,
		    t->cfg.worker_id, t->token, t->cfg.lease_minutes,
		    0, t->wstate, &hb, err, sizeof(err));
	if (rc == -1) {
		hb_failed(t, err);
		return;
	}
	lat = (long)(clock_mono_ms() - t0);
	t->hb_count++;
	t->failures = 0;
	t->last_ok = t0;
	t->fence_at = t0 + (int64_t)t->cfg.lease_minutes * 60000 -
	    (int64_t)(t->cfg.heartbeat_timeout_sec + 5) * 1000;
	t->hb_due = t0 + t->cfg.heartbeat_interval_sec * 1000;
	t->uncertain = t->fenced = false;
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", hb.ok);
	cJSON_AddStringToObject(o, "status", hb.status);
	cJSON_AddBoolToObject(o, "force_refetch", hb.force_refetch);
	cJSON_AddNumberToObject(o, "latency_ms", lat);
	if (!hb.ok)
		t->holding = false;
	else {
		record_heartbeat(t, lat);
		lease_expiry(t, o);
	}
	reply(t, "HB", o);
}

static void
do_gate(struct thr *t, const cJSON *a)
{
	const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(a,
	    "reason"));
	char nonce[STORE_ID_MAX] = "", err[512];
	bool ok = false;
	cJSON *o = cJSON_CreateObject();

	if (t->holding && ensure_store(t) && t->st.ops->gate(t->st.impl,
	    t->run_id, t->cfg.worker_id, t->token, reason ? reason : "gate",
	    cJSON_GetObjectItem(a, "evidence"), nonce, &ok, err,
	    sizeof(err)) == -1)
		log_warnx("gate: %s", err);
	if (ok)
		strlcpy(t->wstate, cJSON_GetStringValue(cJSON_GetObjectItem(a,
		    "worker_state")) ? cJSON_GetStringValue(
		    cJSON_GetObjectItem(a, "worker_state")) : "waiting",
		    sizeof(t->wstate));
	cJSON_AddBoolToObject(o, "ok", ok);
	cJSON_AddStringToObject(o, "nonce", nonce);
	reply(t, "GATED", o);
	t->hb_due = clock_mono_ms();	/* learn the new status at once */
}

static void
do_end(struct thr *t, const char *type, const cJSON *a)
{
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(a,
	    "status"));
	const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(a,
	    "error"));
	const char *ws = cJSON_GetStringValue(cJSON_GetObjectItem(a,
	    "worker_state"));
	char err[512];
	bool ok = false;
	int rc = 0;
	cJSON *o = cJSON_CreateObject();

	if (t->holding && ensure_store(t)) {
		if (strcmp(type, "FINISH") == 0)
			rc = t->st.ops->finish(t->st.impl, t->run_id,
			    t->cfg.worker_id, t->token, status, error ? error :
			    "", &ok, err, sizeof(err));
		else if (strcmp(type, "RELEASE") == 0)
			rc = t->st.ops->release(t->st.impl, t->run_id,
			    t->cfg.worker_id, t->token, ws ? ws : "idle", &ok,
			    err, sizeof(err));
		else	/* KEEP: stop renewing, keep the claim */
			rc = t->st.ops->set_worker_state(t->st.impl, t->run_id,
			    t->cfg.worker_id, t->token, "idle", &ok, err,
			    sizeof(err));
		if (rc == -1)
			log_warnx("%s: %s", type, err);
	}
	t->holding = false;
	cJSON_AddBoolToObject(o, "ok", ok);
	cJSON_AddStringToObject(o, "op", type);
	reply(t, "ENDED", o);
}

static void
do_state(struct thr *t, const cJSON *a)
{
	const char *ws = cJSON_GetStringValue(cJSON_GetObjectItem(a,
	    "worker_state"));
	char err[512];
	bool ok;

	if (ws == NULL || !t->holding)
		return;
	strlcpy(t->wstate, ws, sizeof(t->wstate));
	if (ensure_store(t) && t->st.ops->set_worker_state(t->st.impl,
	    t->run_id, t->cfg.worker_id, t->token, ws, &ok, err,
	    sizeof(err)) == -1)
		log_warnx("worker state: %s", err);
}

static void
lease_handle(struct thr *t, const char *type, const cJSON *a)
{
	if (strcmp(type, "CLAIM") == 0)
		do_claim(t, a);
	else if (strcmp(type, "GATE") == 0)
		do_gate(t, a);
	else if (strcmp(type, "FINISH") == 0 || strcmp(type, "RELEASE") == 0 ||
	    strcmp(type, "KEEP") == 0)
		do_end(t, type, a);
	else if (strcmp(type, "STATE") == 0)
		do_state(t, a);
	else if (strcmp(type, "DROP") == 0)
		t->holding = false;	/* lost lock: write nothing more */
	else if (strcmp(type, "POKE") == 0)
		t->hb_due = clock_mono_ms();
}

/*
 * Write one event.  sup_event() already spooled it (write-ahead), so the
 * spool file is removed once the store has it, and left for the replay
 * when the store is away: a crash of the supervisor loses no event.
 */
static void
event_write(struct thr *t, const cJSON *a)
{
	struct store_event ev;
	char err[512], path[1200];
	bool ins;

	if (spool_event_from_json(a, &ev, err, sizeof(err)) == -1) {
		log_warnx("dropping a malformed event: %s", err);
		return;
	}
	slow(t);
	if (ensure_store(t) && t->st.ops->add_event(t->st.impl, &ev, &ins,
	    err, sizeof(err)) == 0) {
		if (snprintf(path, sizeof(path), "%s/%s.json",
		    t->cfg.spool_dir, ev.event_id) < (int)sizeof(path))
			(void)unlink(path);
		return;
	}
	if (t->store_ok)
		log_warnx("event %s: %s; kept in the spool", ev.event_type,
		    err);
	if (t->next_replay == 0)
		t->next_replay = clock_mono_ms() + 5000;
}

static void
ledger_call(struct thr *t, const cJSON *a)
{
	const cJSON *b = cJSON_GetObjectItem(a, "body");
	const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(a, "op"));
	struct store_ledger l, ex;
	char err[512];
	bool fresh = false;
	int rc = -1;
	cJSON *o = cJSON_CreateObject();

	memset(&l, 0, sizeof(l));
	strlcpy(l.key, cJSON_GetStringValue(cJSON_GetObjectItem(b, "key")) ?
	    cJSON_GetStringValue(cJSON_GetObjectItem(b, "key")) : "",
	    sizeof(l.key));
	slow(t);
	if (op != NULL && ensure_store(t) && strcmp(op, "intent") == 0) {
		strlcpy(l.run_id, cJSON_GetStringValue(cJSON_GetObjectItem(a,
		    "run_id")), sizeof(l.run_id));
		strlcpy(l.segment_id, cJSON_GetStringValue(
		    cJSON_GetObjectItem(b, "segment_id")) ?: "",
		    sizeof(l.segment_id));
		strlcpy(l.sha8, cJSON_GetStringValue(cJSON_GetObjectItem(b,
		    "sha8")) ?: "", sizeof(l.sha8));
		l.credits = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(b,
		    "credits"));
		l.lease_epoch = (long long)cJSON_GetNumberValue(
		    cJSON_GetObjectItem(a, "epoch"));
		rc = t->st.ops->ledger_intent(t->st.impl, &l,
		    cJSON_GetStringValue(cJSON_GetObjectItem(a, "token")),
		    &fresh, &ex, err, sizeof(err));
		if (rc == 0 && !fresh)
			cJSON_AddStringToObject(o, "prev_state", ex.state);
	} else if (op != NULL && t->store_ok && strcmp(op, "result") == 0)
		rc = t->st.ops->ledger_result(t->st.impl, l.key,
		    cJSON_GetStringValue(cJSON_GetObjectItem(b, "state")) ?: "",
		    (int)cJSON_GetNumberValue(cJSON_GetObjectItem(b,
		    "credits")), cJSON_GetStringValue(cJSON_GetObjectItem(b,
		    "output")) ?: "", err, sizeof(err));
	if (rc == -1)
		log_warnx("ledger %s %s: %s", op ? op : "?", l.key, err);
	cJSON_AddBoolToObject(o, "ok", rc == 0);
	cJSON_AddBoolToObject(o, "fresh", fresh);
	cJSON_AddItemToObject(o, "req", cJSON_Duplicate(cJSON_GetObjectItem(a,
	    "req"), true));
	reply(t, "LEDGER_ACK", o);
}

/* An operator action asked for by rvw-notify (a Telegram button). */
static void
operator_call(struct thr *t, const cJSON *a)
{
	static const char *names[] = { "applied", "already_applied",
	    "not_possible" };
	const cJSON *b = cJSON_GetObjectItem(a, "body");
	const char *run = cJSON_GetStringValue(cJSON_GetObjectItem(b, "run_id"));
	const char *act = cJSON_GetStringValue(cJSON_GetObjectItem(b, "action"));
	const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(b,
	    "operator"));
	const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(b, "reason"));
	enum store_action_result res = ACTION_NOT_POSSIBLE;
	char err[512] = "", msg[512] = "";
	bool unlocked = false;
	int rc = -1;
	cJSON *o = cJSON_CreateObject();

	if (run != NULL && act != NULL && op != NULL && ensure_store(t)) {
		if (strcmp(act, "unlock") == 0) {
			rc = t->st.ops->force_unlock(t->st.impl, run, op,
			    why && *why ? why : "Telegram unlock", true,
			    &unlocked, msg, sizeof(msg), err, sizeof(err));
			res = unlocked ? ACTION_APPLIED : ACTION_NOT_POSSIBLE;
		} else
			rc = t->st.ops->operator_action(t->st.impl, run, act, op,
			    "", &res, msg, sizeof(msg), err, sizeof(err));
	}
	if (rc == -1)
		log_warnx("operator action from Telegram: %s", err[0] ? err :
		    "malformed request");
	cJSON_AddBoolToObject(o, "ok", rc == 0);
	cJSON_AddStringToObject(o, "result", rc == 0 ? names[res] : "");
	cJSON_AddStringToObject(o, "msg", rc == 0 ? msg : err);
	cJSON_AddItemToObject(o, "req", cJSON_Duplicate(cJSON_GetObjectItem(a,
	    "req"), true));
	reply(t, "OPERATOR_ACK", o);
}

static void
replay(struct thr *t)
{
	struct spool_report rep;
	char err[512];

	t->next_replay = 0;
	if (spool_count(t->cfg.spool_dir) == 0 || !ensure_store(t))
		return;
	if (spool_replay(t->cfg.spool_dir, &t->st, &rep, err,
	    sizeof(err)) == -1) {
		log_warnx("spool replay: %s", err);
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

/* At start: is the store's contract intact?  (read-only) */
static void
contract_check(struct thr *t)
{
	char err[512] = "";
	cJSON *rep = NULL, *o;

	if (!ensure_store(t))
		return;
	if (t->st.ops->check_contract(t->st.impl, &rep, err, sizeof(err)) ==
	    0 && cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok"))) {
		cJSON_Delete(rep);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", err[0] ? err :
	    "the store does not offer every RPC with the expected shape");
	if (rep != NULL)
		cJSON_AddItemToObject(o, "report", rep);
	reply(t, "CONTRACT_FAIL", o);
}

/*
 * Runs held by a worker that stopped renewing: lease expired, or no
 * heartbeat for 3 intervals while marked active (by the store's clock).
 */
static void
stale_scan(struct thr *t)
{
	struct store_run *runs = NULL;
	char err[256];
	size_t n, i;
	cJSON *o;

	t->next_stale = clock_mono_ms() + 2000LL * t->cfg.poll_interval_sec;
	if (!ensure_store(t) || t->st.ops->list_runs(t->st.impl, &runs, &n,
	    err, sizeof(err)) == -1)
		return;
	for (i = 0; i < n; i++) {
		struct store_run *r = &runs[i];

		if (r->lock_token[0] == '\0' || strcmp(r->worker_state,
		    "active") != 0 || (!r->lease_expired &&
		    r->heartbeat_age_sec < 3.0 * t->cfg.heartbeat_interval_sec))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "run_id", r->run_id);
		cJSON_AddStringToObject(o, "video_id", r->video_id);
		cJSON_AddStringToObject(o, "stale_worker_id", r->worker_id);
		cJSON_AddNumberToObject(o, "heartbeat_age_sec",
		    r->heartbeat_age_sec);
		cJSON_AddBoolToObject(o, "lease_expired", r->lease_expired);
		reply(t, "STALE", o);
	}
	free(runs);
}

static void *
thr_main(void *arg)
{
	struct thr *t = arg;
	char type[32];
	cJSON *a;
	int64_t now, wait;

	if (t->is_lease)
		contract_check(t);
	else {
		t->next_replay = clock_mono_ms();
		t->next_stale = clock_mono_ms() + 5000;
	}
	for (;;) {
		zmq_pollitem_t it = { t->sock, 0, ZMQ_POLLIN, 0 };

		now = clock_mono_ms();
		wait = 1000;
		if (t->is_lease && t->holding)
			wait = t->hb_due - now;
		if (!t->is_lease && t->next_replay != 0)
			wait = t->next_replay - now;
		if (!t->is_lease && t->next_stale - now < wait)
			wait = t->next_stale - now;
		if (wait < 0)
			wait = 0;
		if (wait > 1000)
			wait = 1000;
		if (zmq_poll(&it, 1, (long)wait) == -1 && errno == ETERM)
			break;
		while (pair_recv(t->sock, type, sizeof(type), &a) == 0) {
			if (strcmp(type, "QUIT") == 0) {
				cJSON_Delete(a);
				goto out;
			}
			if (t->is_lease)
				lease_handle(t, type, a);
			else if (strcmp(type, "EVENT") == 0)
				event_write(t, a);
			else if (strcmp(type, "LEDGER") == 0)
				ledger_call(t, a);
			else if (strcmp(type, "OPERATOR") == 0)
				operator_call(t, a);
			else if (strcmp(type, "REPLAY") == 0)
				replay(t);
			cJSON_Delete(a);
		}
		now = clock_mono_ms();
		if (t->is_lease && t->holding && now >= t->hb_due)
			do_heartbeat(t);
		if (t->is_lease && t->holding && t->uncertain && !t->fenced &&
		    clock_mono_ms() >= t->fence_at) {
			t->fenced = true;
			reply(t, "FENCE", cJSON_CreateObject());
		}
		if (!t->is_lease && t->next_replay != 0 &&
		    now >= t->next_replay)
			replay(t);
		if (!t->is_lease && now >= t->next_stale)
			stale_scan(t);
	}
out:
	if (t->store_ok)
		store_close(&t->st);
	zmq_close(t->sock);
	return NULL;
}

static int
thr_start(struct sup_env *env, struct thr *t, bool is_lease, void **mine,
    const char *name, char *err, size_t errlen)
{
	char ep[64];
	int zero = 0;

	memset(t, 0, sizeof(*t));
	t->env = env;
	t->cfg = env->cfg;
	t->is_lease = is_lease;
	t->slow_ms = fault_num(is_lease ? "lease-slow" : "store-slow", 0);
	t->fail_after = is_lease ? fault_num("hb-fail", 0) : -1;
	t->fail_n = is_lease ? fault_num("hb-fail", 1) : -1;
	snprintf(ep, sizeof(ep), "inproc://%s", name);
	*mine = zmq_socket(env->zctx, ZMQ_PAIR);
	t->sock = zmq_socket(env->zctx, ZMQ_PAIR);
	if (*mine == NULL || t->sock == NULL ||
	    zmq_setsockopt(*mine, ZMQ_LINGER, &zero, sizeof(zero)) == -1 ||
	    zmq_setsockopt(t->sock, ZMQ_LINGER, &zero, sizeof(zero)) == -1 ||
	    zmq_bind(*mine, ep) == -1 || zmq_connect(t->sock, ep) == -1) {
		snprintf(err, errlen, "%s: %s", ep, zmq_strerror(errno));
		return -1;
	}
	if (pthread_create(&t->tid, NULL, thr_main, t) != 0) {
		snprintf(err, errlen, "cannot start the %s thread", name);
		return -1;
	}
	return 0;
}

int
lease_start(struct sup_env *env, char *err, size_t errlen)
{
	if (thr_start(env, &lease_thr, true, &env->lease, "lease", err,
	    errlen) == -1)
		return -1;
	return thr_start(env, &event_thr, false, &env->events, "events", err,
	    errlen);
}

/* Ask both threads to finish (events are flushed first) and join them. */
void
lease_stop(struct sup_env *env)
{
	cJSON *o = cJSON_CreateObject();

	(void)pair_send(env->events, "QUIT", o);
	(void)pair_send(env->lease, "QUIT", o);
	cJSON_Delete(o);
	pthread_join(event_thr.tid, NULL);
	pthread_join(lease_thr.tid, NULL);
	zmq_close(env->events);
	zmq_close(env->lease);
}

/* Send a request to the lease thread.  Takes ownership of <args>. */
int
lease_request(struct sup_env *env, const char *type, cJSON *args)
{
	int rc;

	if (args == NULL)
		args = cJSON_CreateObject();
	rc = pair_send(env->lease, type, args);
	cJSON_Delete(args);
	return rc;
}

int
events_request(struct sup_env *env, const char *type, cJSON *args)
{
	int rc;

	if (args == NULL)
		args = cJSON_CreateObject();
	rc = pair_send(env->events, type, args);
	cJSON_Delete(args);
	return rc;
}

/*
 * Queue an event for the store (spooled if the store is away).  Takes
 * ownership of <payload>.  Nothing is written for a run whose lock we
 * lost: callers check that.
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
	char id[ID_UUID_LEN + 1], at[CLOCK_ISO_LEN], err[256];
	cJSON *o = cJSON_CreateObject();

	if (event_id != NULL && id_uuid_valid(event_id))
		strlcpy(id, event_id, sizeof(id));
	else
		id_uuid_new(id);
	clock_utc_iso(at);
	cJSON_AddStringToObject(o, "event_id", id);
	cJSON_AddStringToObject(o, "run_id", env->run.run_id);
	cJSON_AddStringToObject(o, "event_type", event_type);
	cJSON_AddStringToObject(o, "severity", severity);
	cJSON_AddStringToObject(o, "reason_key", reason_key ? reason_key : "");
	cJSON_AddStringToObject(o, "source", env->worker_id);
	cJSON_AddStringToObject(o, "occurred_at", at);
	if (payload == NULL)
		payload = cJSON_CreateObject();
	cJSON_AddNumberToObject(payload, "lease_epoch",
	    (double)env->run.epoch);
	cJSON_AddItemToObject(o, "payload", payload);
	if (spool_write(env->cfg.spool_dir, o, err, sizeof(err)) == -1)
		log_warnx("event %s not spooled: %s", event_type, err);
	(void)events_request(env, "EVENT", o);
}
