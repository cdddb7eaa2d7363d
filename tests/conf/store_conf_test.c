/* SPDX-License-Identifier: ISC */
/*
 * store_conf_test.c: the conformance suite of the store contract
 * (common/store/store.h, SPEC section 2), run against the backend named by
 * RV_STORE_BACKEND: "sqlite" (the default) or "supabase" (SUPABASE_URL
 * and SUPABASE_SERVICE_KEY from the environment).
 *
 * Only the store operations are used, never SQL, so every backend must
 * pass it unchanged.  Each case works on its own task type, video ids and
 * worker ids (random per run), so the suite also runs against a database
 * other runs share; the sqlite database lives in a fresh mkdtemp
 * directory that is removed at the end.  Each case prints
 * "FAIL <case>: <detail>" for a failure; the last line is
 * "N passed, M failed" and the exit status is 1 when anything failed.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/config.h"
#include "common/core/ids.h"
#include "common/store/store.h"
#include "tests/unit/test.h"

#define NRUNS_RACE	200

struct ctx {
	struct store	 st;
	const char	*backend;
	char		 dir[128];
	char		 tag[12];	/* random, per suite run */
	char		 task[32];	/* the current case's task type */
	char		 w[4][STORE_WID_MAX];	/* its worker ids */
	const char	*name;		/* current case */
	int		 idx;
	int		 vseq;
	int		 failed;
	char		 err[512];
};

static void fail(struct ctx *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void remove_dir(const char *);

/* Report a failure of the current case: "FAIL <case>: <detail> (line N)". */
static void
fail(struct ctx *c, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	test_fail(c->name, "%s (line %d)", msg, line);
	c->failed++;
}

/*
 * Check <cond>; on failure report and leave the case.  A case passes or
 * fails as a whole (main counts cases), so this is not test.h's CHECK.
 */
#define REQUIRE(c, cond, ...) do {					\
	if (!(cond)) {							\
		fail((c), __LINE__, __VA_ARGS__);			\
		return;							\
	}								\
} while (0)

/* A store call that must succeed. */
#define OK(c, call) REQUIRE(c, (call) == 0, "%s: %s", #call, (c)->err)

static int
open_store(struct store *st, const char *backend, const char *dir, char *err,
    size_t errlen)
{
	struct rv_config cfg;
	const char *v;

	memset(&cfg, 0, sizeof(cfg));
	strlcpy(cfg.state_dir, dir, sizeof(cfg.state_dir));
	cfg.heartbeat_interval_sec = 1;
	cfg.lease_minutes = 15;
	if (strcmp(backend, "supabase") == 0) {
		if ((v = getenv("SUPABASE_URL")) == NULL || *v == '\0') {
			snprintf(err, errlen, "supabase backend: SUPABASE_URL "
			    "is not set");
			return -1;
		}
		strlcpy(cfg.supabase_url, v, sizeof(cfg.supabase_url));
		if ((v = getenv("SUPABASE_SERVICE_KEY")) != NULL)
			strlcpy(cfg.supabase_service_key, v,
			    sizeof(cfg.supabase_service_key));
	} else if (strcmp(backend, "sqlite") != 0) {
		snprintf(err, errlen, "RV_STORE_BACKEND=%s: not sqlite or "
		    "supabase", backend);
		return -1;
	}
	return store_open(st, &cfg, err, errlen);
}

static void
new_vid(struct ctx *c, char *buf, size_t size)
{
	snprintf(buf, size, "V%s-%d-%d", c->tag, c->idx, ++c->vseq);
}

/* Queue a run of the case's task type; "" on failure (reported). */
static void
enqueue(struct ctx *c, char *run_id)
{
	char vid[STORE_VID_MAX];

	new_vid(c, vid, sizeof(vid));
	run_id[0] = '\0';
	if (store_enqueue(&c->st, vid, c->task, "{\"k\":1}", run_id, c->err,
	    sizeof(c->err)) == -1)
		fail(c, __LINE__, "enqueue %s: %s", vid, c->err);
}

static int
claim(struct ctx *c, const char *worker, char *token, const char *prev,
    int lease, struct store_claim *out)
{
	int r;

	id_uuid_new(token);
	c->err[0] = '\0';
	r = store_claim(&c->st, worker, token, lease, c->task, prev, out,
	    c->err, sizeof(c->err));
	if (r == 0)
		snprintf(c->err, sizeof(c->err), "nothing to claim");
	return r;
}

static int
get(struct ctx *c, const char *id, struct store_run *r)
{
	return store_get_run(&c->st, id, r, NULL, c->err, sizeof(c->err));
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));

	return s != NULL ? s : "";
}

/*
 * Events of <run_id> of <type> (and, when <action> is set, whose payload
 * has that action): the number, or -1.  *last (optional) gets a copy of
 * the last one.
 */
static int
events(struct ctx *c, const char *run_id, const char *type,
    const char *action, cJSON **last)
{
	cJSON *arr, *e;
	int n = 0;

	if (last != NULL)
		*last = NULL;
	if (store_list_events(&c->st, run_id, &arr, c->err,
	    sizeof(c->err)) == -1)
		return -1;
	cJSON_ArrayForEach(e, arr) {
		if (strcmp(jstr(e, "event_type"), type) != 0)
			continue;
		if (action != NULL && strcmp(jstr(cJSON_GetObjectItem(e,
		    "payload"), "action"), action) != 0)
			continue;
		n++;
		if (last != NULL) {
			cJSON_Delete(*last);
			*last = cJSON_Duplicate(e, true);
		}
	}
	cJSON_Delete(arr);
	return n;
}

static int
action(struct ctx *c, const char *run_id, const char *act, const char *op,
    const char *nonce, enum store_action_result *res, char *msg,
    size_t msglen)
{
	return store_operator_action(&c->st, run_id, act, op, nonce, res, msg,
	    msglen, c->err, sizeof(c->err));
}

static int
unlock(struct ctx *c, const char *run_id, const char *op, bool force,
    bool *unlocked, char *msg, size_t msglen)
{
	return store_force_unlock(&c->st, run_id, op, "conformance test",
	    force, unlocked, msg, msglen, c->err, sizeof(c->err));
}

static int
heartbeat(struct ctx *c, const char *run_id, const char *worker,
    const char *token, struct store_hb *hb)
{
	return store_heartbeat(&c->st, run_id, worker, token, 15, 7, "active",
	    hb, c->err, sizeof(c->err));
}

/* ---- cases ---- */

static void
case_enqueue(struct ctx *c)
{
	char run_id[STORE_ID_MAX], again[STORE_ID_MAX], *spec = NULL;
	char bogus[ID_UUID_LEN + 1];
	struct store_run r;
	cJSON *a, *b;
	bool same;

	enqueue(c, run_id);
	REQUIRE(c, id_uuid_valid(run_id), "run id \"%s\" is not a uuid",
	    run_id);
	OK(c, store_get_run(&c->st, run_id, &r, &spec, c->err,
	    sizeof(c->err)));
	a = cJSON_Parse(spec != NULL ? spec : "");
	b = cJSON_Parse("{\"k\":1}");
	same = cJSON_Compare(a, b, true);
	cJSON_Delete(a);
	cJSON_Delete(b);
	free(spec);
	REQUIRE(c, same, "the spec did not come back");
	REQUIRE(c, strcmp(r.status, RUN_RUNNING) == 0, "status %s", r.status);
	REQUIRE(c, strcmp(r.worker_state, WS_IDLE) == 0, "worker state %s",
	    r.worker_state);
	REQUIRE(c, r.lease_epoch == 0 && r.lock_token[0] == '\0',
	    "epoch %lld token \"%s\"", r.lease_epoch, r.lock_token);
	REQUIRE(c, strcmp(r.task_type, c->task) == 0, "task type %s",
	    r.task_type);
	REQUIRE(c, r.age_sec > -5 && r.age_sec < 60, "age %f", r.age_sec);
	OK(c, get(c, r.video_id, &r));
	REQUIRE(c, strcmp(r.run_id, run_id) == 0, "by video id: %s", r.run_id);
	REQUIRE(c, store_enqueue(&c->st, r.video_id, c->task, "{}", again,
	    c->err, sizeof(c->err)) == -1, "second enqueue of a video");
	REQUIRE(c, strstr(c->err, "already queued") != NULL &&
	    strstr(c->err, run_id) != NULL, "duplicate: %s", c->err);
	REQUIRE(c, events(c, run_id, "run_enqueued", NULL, NULL) == 1,
	    "run_enqueued events");
	REQUIRE(c, store_enqueue(&c->st, "a_b", c->task, "{}", again, c->err,
	    sizeof(c->err)) == -1, "video id a_b accepted");
	id_uuid_new(bogus);
	errno = 0;
	REQUIRE(c, get(c, bogus, &r) == -1 && errno == ENOENT &&
	    strstr(c->err, "not found") != NULL, "unknown run: %s", c->err);
	REQUIRE(c, get(c, "../etc", &r) == -1, "bad id accepted");
}

static void
case_claim_order(struct ctx *c)
{
	char r[3][STORE_ID_MAX], t[4][ID_UUID_LEN + 1], nonce[STORE_ID_MAX];
	const char *want[3];
	struct store_claim cl;
	enum store_action_result res;
	char msg[256];
	bool ok;
	int i;

	for (i = 0; i < 3; i++) {
		enqueue(c, r[i]);
		clock_sleep_ms(5);
	}
	for (i = 0; i < 3; i++) {
		REQUIRE(c, claim(c, c->w[i], t[i], "", 15, &cl) == 1,
		    "claim %d: %s", i, c->err);
		REQUIRE(c, strcmp(cl.run_id, r[i]) == 0, "claim %d got run "
		    "%s, not the oldest", i, cl.run_id);
	}
	/* r[2], the newest, becomes approved; all three are released. */
	OK(c, store_gate(&c->st, r[2], c->w[2], t[2], "check", WS_WAITING,
	    NULL, nonce, &ok, c->err, sizeof(c->err)));
	REQUIRE(c, ok, "gate refused");
	OK(c, action(c, r[2], "approve", "operator-a", nonce, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED, "approve: %s", msg);
	for (i = 0; i < 3; i++) {
		OK(c, store_release(&c->st, r[i], c->w[i], t[i], "idle", &ok,
		    c->err, sizeof(c->err)));
		REQUIRE(c, ok, "release %d refused", i);
	}
	want[0] = r[2];
	want[1] = r[0];
	want[2] = r[1];
	for (i = 0; i < 3; i++) {
		REQUIRE(c, claim(c, c->w[3], t[3], "", 15, &cl) == 1,
		    "second round claim %d: %s", i, c->err);
		REQUIRE(c, strcmp(cl.run_id, want[i]) == 0, "second round "
		    "claim %d got %s, want %s", i, cl.run_id, want[i]);
		REQUIRE(c, !cl.is_recovery && cl.lease_epoch == 2,
		    "recovery %d epoch %lld", cl.is_recovery, cl.lease_epoch);
	}
	REQUIRE(c, claim(c, c->w[3], t[3], "", 15, &cl) == 0,
	    "a fourth run was claimed");
}

static void
case_claim_empty(struct ctx *c)
{
	char tok[ID_UUID_LEN + 1];
	struct store_claim cl;

	REQUIRE(c, claim(c, c->w[0], tok, "", 15, &cl) == 0,
	    "claim on an empty queue: %s", c->err);
	REQUIRE(c, cl.run_id[0] == '\0', "claim filled run %s", cl.run_id);
}

static void
case_claim_args(struct ctx *c)
{
	char tok[ID_UUID_LEN + 1], run_id[STORE_ID_MAX], big[80];
	struct store_claim cl;
	struct store_run r;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, "ab", tok, "", 15, &cl) == -1,
	    "worker id \"ab\" accepted");
	REQUIRE(c, strstr(c->err, "ab") != NULL, "error does not name the "
	    "worker id: %s", c->err);
	memset(big, 'w', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	REQUIRE(c, claim(c, big, tok, "", 15, &cl) == -1,
	    "79-character worker id accepted");
	REQUIRE(c, store_claim(&c->st, c->w[0], "not-a-uuid", 15, c->task, "",
	    &cl, c->err, sizeof(c->err)) == -1, "bad lock token accepted");
	OK(c, get(c, run_id, &r));
	REQUIRE(c, r.lease_epoch == 0, "a refused claim took the run");
}

static void
case_lease_clamp(struct ctx *c)
{
	char r1[STORE_ID_MAX], r2[STORE_ID_MAX], t1[ID_UUID_LEN + 1];
	char t2[ID_UUID_LEN + 1];
	struct store_claim cl;
	struct store_run r;
	struct store_hb hb;

	enqueue(c, r1);
	clock_sleep_ms(5);
	enqueue(c, r2);
	REQUIRE(c, claim(c, c->w[0], t1, "", 100, &cl) == 1, "%s", c->err);
	OK(c, get(c, cl.run_id, &r));
	REQUIRE(c, r.lease_seconds_left <= 30 * 60 + 2 &&
	    r.lease_seconds_left > 29 * 60, "lease 100 min gave %.1f s",
	    r.lease_seconds_left);
	REQUIRE(c, !r.lease_expired, "fresh lease expired");
	REQUIRE(c, claim(c, c->w[1], t2, "", 0, &cl) == 1, "%s", c->err);
	OK(c, get(c, cl.run_id, &r));
	REQUIRE(c, r.lease_seconds_left >= 55 && r.lease_seconds_left <= 62,
	    "lease 0 min gave %.1f s", r.lease_seconds_left);
	OK(c, store_heartbeat(&c->st, r1, c->w[0], t1, 1000, 3, "active", &hb,
	    c->err, sizeof(c->err)));
	REQUIRE(c, hb.ok, "heartbeat refused");
	OK(c, get(c, r1, &r));
	REQUIRE(c, r.lease_seconds_left <= 30 * 60 + 2, "heartbeat lease 1000 "
	    "min gave %.1f s", r.lease_seconds_left);
}

static void
case_recovery_token(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t1[ID_UUID_LEN + 1], t2[ID_UUID_LEN + 1];
	struct store_claim cl;
	struct store_run r;
	struct store_hb hb;
	cJSON *ev = NULL;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[0], t1, "", 15, &cl) == 1, "%s", c->err);
	REQUIRE(c, !cl.is_recovery && cl.lease_epoch == 1 &&
	    strcmp(cl.lock_token, t1) == 0, "first claim: recovery %d "
	    "epoch %lld", cl.is_recovery, cl.lease_epoch);
	REQUIRE(c, claim(c, c->w[0], t2, t1, 15, &cl) == 1, "%s", c->err);
	REQUIRE(c, strcmp(cl.run_id, run_id) == 0 && cl.is_recovery,
	    "recovery with the token: run %s recovery %d", cl.run_id,
	    cl.is_recovery);
	REQUIRE(c, cl.lease_epoch == 2 && strcmp(cl.lock_token, t2) == 0,
	    "recovery kept epoch %lld / token %s", cl.lease_epoch,
	    cl.lock_token);
	OK(c, get(c, run_id, &r));
	REQUIRE(c, strcmp(r.lock_token, t2) == 0, "stored token %s",
	    r.lock_token);
	OK(c, heartbeat(c, run_id, c->w[0], t1, &hb));
	REQUIRE(c, !hb.ok, "the old token still renews");
	OK(c, heartbeat(c, run_id, c->w[0], t2, &hb));
	REQUIRE(c, hb.ok, "the new token does not renew");
	REQUIRE(c, events(c, run_id, "run_claimed", NULL, &ev) == 2,
	    "run_claimed events");
	REQUIRE(c, cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(ev,
	    "payload"), "is_recovery")), "last claim event is not a "
	    "recovery");
	cJSON_Delete(ev);
}

static void
case_recovery_live_duplicate(struct ctx *c)
{
	char r1[STORE_ID_MAX], r2[STORE_ID_MAX], t1[ID_UUID_LEN + 1];
	char t2[ID_UUID_LEN + 1], wrong[ID_UUID_LEN + 1];
	struct store_claim cl;
	struct store_run r;
	struct store_hb hb;

	enqueue(c, r1);
	REQUIRE(c, claim(c, c->w[0], t1, "", 15, &cl) == 1, "%s", c->err);
	REQUIRE(c, claim(c, c->w[0], t2, "", 15, &cl) == 0,
	    "a duplicate without the token got run %s", cl.run_id);
	id_uuid_new(wrong);
	REQUIRE(c, claim(c, c->w[0], t2, wrong, 15, &cl) == 0,
	    "a duplicate with a wrong token got run %s", cl.run_id);
	enqueue(c, r2);
	REQUIRE(c, claim(c, c->w[0], t2, "", 15, &cl) == 1, "%s", c->err);
	REQUIRE(c, strcmp(cl.run_id, r2) == 0 && !cl.is_recovery,
	    "the duplicate got %s (recovery %d), not the other run",
	    cl.run_id, cl.is_recovery);
	OK(c, get(c, r1, &r));
	REQUIRE(c, strcmp(r.lock_token, t1) == 0 && r.lease_epoch == 1,
	    "the live holder lost its run");
	OK(c, heartbeat(c, r1, c->w[0], t1, &hb));
	REQUIRE(c, hb.ok, "the live holder cannot renew");
}

static void
case_recovery_stale(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t1[ID_UUID_LEN + 1], t2[ID_UUID_LEN + 1];
	struct store_claim cl;
	struct store_hb hb;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[0], t1, "", 15, &cl) == 1, "%s", c->err);
	clock_sleep_ms(2200);	/* > 2 heartbeat intervals of 1 s */
	REQUIRE(c, claim(c, c->w[0], t2, "", 15, &cl) == 1,
	    "no recovery after 2 silent intervals: %s", c->err);
	REQUIRE(c, strcmp(cl.run_id, run_id) == 0 && cl.is_recovery &&
	    cl.lease_epoch == 2, "run %s recovery %d epoch %lld", cl.run_id,
	    cl.is_recovery, cl.lease_epoch);
	OK(c, heartbeat(c, run_id, c->w[0], t1, &hb));
	REQUIRE(c, !hb.ok, "the silent holder's token still renews");
}

static void
case_heartbeat(struct ctx *c)
{
	char r1[STORE_ID_MAX], r2[STORE_ID_MAX], t1[ID_UUID_LEN + 1];
	char t2[ID_UUID_LEN + 1], bogus[ID_UUID_LEN + 1], msg[256];
	enum store_action_result res;
	struct store_claim cl;
	struct store_run r;
	struct store_hb hb;
	bool unlocked;

	enqueue(c, r1);
	clock_sleep_ms(5);
	enqueue(c, r2);
	REQUIRE(c, claim(c, c->w[0], t1, "", 15, &cl) == 1, "%s", c->err);
	OK(c, store_heartbeat(&c->st, r1, c->w[0], t1, 15, 42, "active", &hb,
	    c->err, sizeof(c->err)));
	REQUIRE(c, hb.ok && strcmp(hb.status, RUN_RUNNING) == 0 &&
	    !hb.force_refetch, "ok %d status %s", hb.ok, hb.status);
	OK(c, get(c, r1, &r));
	REQUIRE(c, r.heartbeat_latency_ms == 42, "latency %lld",
	    r.heartbeat_latency_ms);
	REQUIRE(c, r.heartbeat_age_sec >= -1 && r.heartbeat_age_sec < 5,
	    "heartbeat age %f", r.heartbeat_age_sec);
	REQUIRE(c, store_heartbeat(&c->st, r1, c->w[0], t1, 15, 1, "sleeping",
	    &hb, c->err, sizeof(c->err)) == -1, "worker state sleeping");
	id_uuid_new(bogus);
	REQUIRE(c, heartbeat(c, bogus, c->w[0], t1, &hb) == -1,
	    "heartbeat of an unknown run");
	OK(c, heartbeat(c, r1, c->w[1], t1, &hb));
	REQUIRE(c, !hb.ok, "another worker id renews with the token");
	OK(c, unlock(c, r1, "operator-a", true, &unlocked, msg, sizeof(msg)));
	REQUIRE(c, unlocked, "forced unlock refused: %s", msg);
	OK(c, heartbeat(c, r1, c->w[0], t1, &hb));
	REQUIRE(c, !hb.ok && strcmp(hb.status, RUN_RUNNING) == 0,
	    "after unlock: ok %d status %s", hb.ok, hb.status);
	REQUIRE(c, claim(c, c->w[1], t2, "", 15, &cl) == 1, "%s", c->err);
	OK(c, action(c, cl.run_id, "abort", "operator-a", NULL, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED, "abort: %s", msg);
	OK(c, heartbeat(c, cl.run_id, c->w[1], t2, &hb));
	REQUIRE(c, !hb.ok && strcmp(hb.status, RUN_ABORTED) == 0,
	    "after abort: ok %d status %s", hb.ok, hb.status);
}

static void
case_force_refetch(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t[ID_UUID_LEN + 1], msg[256];
	enum store_action_result res;
	struct store_claim cl;
	struct store_hb hb;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[0], t, "", 15, &cl) == 1, "%s", c->err);
	OK(c, action(c, run_id, "refetch", "operator-a", "", &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED, "refetch: %s", msg);
	OK(c, action(c, run_id, "refetch", "operator-a", "", &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_ALREADY_APPLIED, "second refetch: %d %s", res,
	    msg);
	OK(c, heartbeat(c, run_id, c->w[0], t, &hb));
	REQUIRE(c, hb.ok && hb.force_refetch, "refetch not reported");
	OK(c, heartbeat(c, run_id, c->w[0], t, &hb));
	REQUIRE(c, hb.ok && !hb.force_refetch, "refetch reported twice");
	REQUIRE(c, events(c, run_id, "operator_action", "refetch", NULL) == 1,
	    "operator_action refetch events");
	REQUIRE(c, events(c, run_id, "operator_action_ignored", NULL, NULL) ==
	    1, "operator_action_ignored events");
}

static void
case_finish(struct ctx *c)
{
	char r1[STORE_ID_MAX], r2[STORE_ID_MAX], t1[ID_UUID_LEN + 1];
	char t2[ID_UUID_LEN + 1], stale[ID_UUID_LEN + 1], msg[256];
	enum store_action_result res;
	struct store_claim cl;
	struct store_run r;
	bool ok;

	enqueue(c, r1);
	clock_sleep_ms(5);
	enqueue(c, r2);
	REQUIRE(c, claim(c, c->w[0], t1, "", 15, &cl) == 1 &&
	    strcmp(cl.run_id, r1) == 0, "claim: %s", c->err);
	id_uuid_new(stale);
	OK(c, store_finish(&c->st, r1, c->w[0], stale, RUN_DONE, "", &ok,
	    c->err, sizeof(c->err)));
	REQUIRE(c, !ok, "a stale token finished the run");
	REQUIRE(c, store_finish(&c->st, r1, c->w[0], t1, "paused", "", &ok,
	    c->err, sizeof(c->err)) == -1, "final status paused accepted");
	OK(c, action(c, r1, "abort", "operator-a", NULL, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED, "abort: %s", msg);
	OK(c, store_finish(&c->st, r1, c->w[0], t1, RUN_DONE, "", &ok, c->err,
	    sizeof(c->err)));
	REQUIRE(c, !ok, "done overwrote the operator's abort");
	OK(c, get(c, r1, &r));
	REQUIRE(c, strcmp(r.status, RUN_ABORTED) == 0, "status %s", r.status);
	/* The abort dropped the lock: the holder has nothing to finish. */
	OK(c, store_finish(&c->st, r1, c->w[0], t1, RUN_ABORTED, "operator",
	    &ok, c->err, sizeof(c->err)));
	REQUIRE(c, !ok, "the holder finished a run whose lock the abort took");
	OK(c, get(c, r1, &r));
	REQUIRE(c, r.lock_token[0] == '\0' && strcmp(r.status, RUN_ABORTED) ==
	    0, "after finish: token \"%s\" status %s", r.lock_token,
	    r.status);
	REQUIRE(c, claim(c, c->w[1], t2, "", 15, &cl) == 1 &&
	    strcmp(cl.run_id, r2) == 0, "claim r2: %s", c->err);
	OK(c, store_finish(&c->st, r2, c->w[1], t2, RUN_DONE, NULL, &ok,
	    c->err, sizeof(c->err)));
	REQUIRE(c, ok, "finish done refused");
	OK(c, get(c, r2, &r));
	REQUIRE(c, strcmp(r.status, RUN_DONE) == 0 && r.lock_token[0] == '\0' &&
	    strcmp(r.worker_state, WS_IDLE) == 0, "status %s token \"%s\" "
	    "state %s", r.status, r.lock_token, r.worker_state);
	OK(c, store_finish(&c->st, r2, c->w[1], t2, RUN_FAILED, "late", &ok,
	    c->err, sizeof(c->err)));
	REQUIRE(c, !ok, "a finished run was finished again");
	REQUIRE(c, claim(c, c->w[2], t2, "", 15, &cl) == 0,
	    "a terminal run was claimed: %s", cl.run_id);
	REQUIRE(c, events(c, r2, "run_finished", NULL, NULL) == 1,
	    "run_finished events");
}

/* Queue a run, claim it and open a gate; "" nonce on failure. */
static void
gated_run(struct ctx *c, char *run_id, char *t, char *nonce)
{
	struct store_claim cl;
	bool ok = false;

	nonce[0] = '\0';
	enqueue(c, run_id);
	if (claim(c, c->w[0], t, "", 15, &cl) != 1 ||
	    store_gate(&c->st, run_id, c->w[0], t, "price conflict",
	    WS_WAITING, NULL, nonce, &ok, c->err, sizeof(c->err)) == -1 ||
	    !ok)
		fail(c, __LINE__, "claim and gate: %s", c->err);
}

static void
case_gate_open(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t[ID_UUID_LEN + 1], stale[ID_UUID_LEN + 1];
	char nonce[STORE_ID_MAX];
	struct store_claim cl;
	struct store_run r;
	struct store_hb hb;
	cJSON *evd, *ev = NULL, *p;
	bool ok, good;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[0], t, "", 15, &cl) == 1, "%s", c->err);
	evd = cJSON_Parse("{\"price\":[\"19.99 USD\",\"24.99 USD\"]}");
	id_uuid_new(stale);
	OK(c, store_gate(&c->st, run_id, c->w[0], stale, "price conflict",
	    WS_WAITING, evd, nonce, &ok, c->err, sizeof(c->err)));
	REQUIRE(c, !ok && nonce[0] == '\0', "a stale token opened a gate");
	OK(c, store_gate(&c->st, run_id, c->w[0], t, "price conflict",
	    WS_WAITING, evd, nonce, &ok, c->err, sizeof(c->err)));
	cJSON_Delete(evd);
	REQUIRE(c, ok && id_uuid_valid(nonce), "gate: ok %d nonce %s", ok,
	    nonce);
	OK(c, get(c, run_id, &r));
	REQUIRE(c, strcmp(r.status, RUN_WAITING_APPROVAL) == 0 &&
	    strcmp(r.worker_state, WS_WAITING) == 0 &&
	    strcmp(r.gate_nonce, nonce) == 0 &&
	    strcmp(r.gate_reason, "price conflict") == 0, "gated run: %s %s "
	    "%s", r.status, r.worker_state, r.gate_nonce);
	REQUIRE(c, r.gate_age_sec >= -1 && r.gate_age_sec < 60, "gate age %f",
	    r.gate_age_sec);
	REQUIRE(c, events(c, run_id, "gate_opened", NULL, &ev) == 1,
	    "gate_opened events");
	p = cJSON_GetObjectItem(ev, "payload");
	good = strcmp(jstr(ev, "severity"), "WARN") == 0 &&
	    strcmp(jstr(p, "reason"), "price conflict") == 0 &&
	    cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetObjectItem(p,
	    "evidence"), "price"));
	cJSON_Delete(ev);
	REQUIRE(c, good, "gate_opened event lacks severity/reason/evidence");
	OK(c, heartbeat(c, run_id, c->w[0], t, &hb));
	REQUIRE(c, hb.ok && strcmp(hb.status, RUN_WAITING_APPROVAL) == 0,
	    "heartbeat while gated: %d %s", hb.ok, hb.status);
}

static void
case_gate_nonce(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t[ID_UUID_LEN + 1], stale[ID_UUID_LEN + 1];
	char nonce[STORE_ID_MAX], msg[256];
	enum store_action_result res;
	struct store_run r;
	cJSON *ev = NULL;
	bool good;

	gated_run(c, run_id, t, nonce);
	REQUIRE(c, nonce[0] != '\0', "no gate");
	OK(c, action(c, run_id, "approve", "alice", nonce, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED && msg[0] != '\0', "approve: %s", msg);
	OK(c, get(c, run_id, &r));
	REQUIRE(c, strcmp(r.status, RUN_APPROVED) == 0 && r.gate_nonce[0] ==
	    '\0', "after approve: %s nonce %s", r.status, r.gate_nonce);
	OK(c, action(c, run_id, "approve", "alice", nonce, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_ALREADY_APPLIED, "same button twice: %d %s",
	    res, msg);
	OK(c, action(c, run_id, "abort", "alice", nonce, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_NOT_POSSIBLE, "abort with a used nonce: %d %s",
	    res, msg);
	id_uuid_new(stale);
	OK(c, action(c, run_id, "approve", "alice", stale, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_NOT_POSSIBLE, "unknown nonce: %d %s", res,
	    msg);
	OK(c, get(c, run_id, &r));
	REQUIRE(c, strcmp(r.status, RUN_APPROVED) == 0, "status %s", r.status);
	REQUIRE(c, events(c, run_id, "operator_action", NULL, &ev) == 1,
	    "operator_action events");
	good = strcmp(jstr(cJSON_GetObjectItem(ev, "payload"), "operator"),
	    "alice") == 0 && strcmp(jstr(cJSON_GetObjectItem(ev, "payload"),
	    "nonce"), nonce) == 0;
	cJSON_Delete(ev);
	REQUIRE(c, good, "operator_action event lacks operator or nonce");
	REQUIRE(c, events(c, run_id, "operator_action_ignored", NULL, NULL) ==
	    3, "operator_action_ignored events");
}

static void
case_actions_once(struct ctx *c)
{
	static const struct {
		const char *action;
		enum store_action_result want;
	} steps[] = {
		{ "approve", ACTION_APPLIED },
		{ "approve", ACTION_ALREADY_APPLIED },
		{ "approve", ACTION_ALREADY_APPLIED },
		{ "refetch", ACTION_APPLIED },
		{ "refetch", ACTION_ALREADY_APPLIED },
		{ "abort", ACTION_APPLIED },
		{ "abort", ACTION_ALREADY_APPLIED },
		{ "approve", ACTION_NOT_POSSIBLE },
		{ "refetch", ACTION_NOT_POSSIBLE }
	};
	char run_id[STORE_ID_MAX], t[ID_UUID_LEN + 1], nonce[STORE_ID_MAX];
	char msg[256];
	enum store_action_result res;
	cJSON *ev = NULL;
	size_t i;
	bool ok;

	gated_run(c, run_id, t, nonce);
	REQUIRE(c, nonce[0] != '\0', "no gate");
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		OK(c, action(c, run_id, steps[i].action, "bob", NULL, &res,
		    msg, sizeof(msg)));
		REQUIRE(c, res == steps[i].want, "step %zu %s: result %d, want "
		    "%d (%s)", i, steps[i].action, res, steps[i].want, msg);
		REQUIRE(c, msg[0] != '\0', "step %zu: empty message", i);
	}
	REQUIRE(c, strstr(msg, "aborted") != NULL, "refusal does not say "
	    "why: %s", msg);
	REQUIRE(c, events(c, run_id, "operator_action", "approve", NULL) == 1 &&
	    events(c, run_id, "operator_action", "refetch", NULL) == 1 &&
	    events(c, run_id, "operator_action", "abort", NULL) == 1,
	    "an action was recorded as applied more than once");
	REQUIRE(c, events(c, run_id, "operator_action_ignored", NULL, &ev) ==
	    6, "operator_action_ignored events");
	ok = strcmp(jstr(cJSON_GetObjectItem(ev, "payload"), "operator"),
	    "bob") == 0;
	cJSON_Delete(ev);
	REQUIRE(c, ok, "ignored action does not name the operator");
	REQUIRE(c, action(c, run_id, "approve", "bo", NULL, &res, msg,
	    sizeof(msg)) == -1, "operator \"bo\" accepted");
	REQUIRE(c, action(c, run_id, "delete", "bob", NULL, &res, msg,
	    sizeof(msg)) == -1, "action delete accepted");
}

/* The last manual_unlock of <run_id>: forced, by operator-a, of <t1>. */
static bool
unlock_event_ok(struct ctx *c, const char *run_id, const char *t1)
{
	cJSON *ev = NULL, *p, *prev;
	bool good;

	if (events(c, run_id, "manual_unlock", NULL, &ev) < 1)
		return false;
	p = cJSON_GetObjectItem(ev, "payload");
	prev = cJSON_GetObjectItem(p, "previous");
	good = strcmp(jstr(prev, "lock_token"), t1) == 0 &&
	    strcmp(jstr(prev, "worker_id"), c->w[0]) == 0 &&
	    cJSON_IsTrue(cJSON_GetObjectItem(p, "force")) &&
	    cJSON_IsTrue(cJSON_GetObjectItem(p, "unlocked")) &&
	    strcmp(jstr(p, "operator"), "operator-a") == 0 &&
	    strcmp(jstr(ev, "severity"), "WARN") == 0;
	cJSON_Delete(ev);
	return good;
}

static void
case_force_unlock(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t1[ID_UUID_LEN + 1], t2[ID_UUID_LEN + 1];
	char msg[256];
	enum store_action_result res;
	struct store_claim cl;
	struct store_run r;
	struct store_hb hb;
	bool unlocked;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[0], t1, "", 15, &cl) == 1, "%s", c->err);
	OK(c, unlock(c, run_id, "operator-a", false, &unlocked, msg,
	    sizeof(msg)));
	REQUIRE(c, !unlocked && strstr(msg, "--force") != NULL,
	    "live lease unlocked without force: %s", msg);
	OK(c, get(c, run_id, &r));
	REQUIRE(c, strcmp(r.lock_token, t1) == 0 && strcmp(r.status,
	    RUN_RUNNING) == 0, "refused unlock changed the run");
	REQUIRE(c, events(c, run_id, "manual_unlock", NULL, NULL) == 1,
	    "refused unlock not recorded");
	OK(c, action(c, run_id, "unlock", "operator-a", NULL, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_NOT_POSSIBLE, "unlock action on a live "
	    "lease: %d %s", res, msg);
	REQUIRE(c, unlock(c, run_id, "ab", true, &unlocked, msg,
	    sizeof(msg)) == -1, "operator \"ab\" accepted");
	REQUIRE(c, store_force_unlock(&c->st, run_id, "operator-a", "", true,
	    &unlocked, msg, sizeof(msg), c->err, sizeof(c->err)) == -1,
	    "empty reason accepted");
	OK(c, unlock(c, run_id, "operator-a", true, &unlocked, msg,
	    sizeof(msg)));
	REQUIRE(c, unlocked, "forced unlock refused: %s", msg);
	OK(c, get(c, run_id, &r));
	REQUIRE(c, r.lock_token[0] == '\0' && strcmp(r.status, RUN_RUNNING) ==
	    0 && strcmp(r.worker_state, WS_IDLE) == 0, "after unlock: token "
	    "\"%s\" status %s state %s", r.lock_token, r.status,
	    r.worker_state);
	REQUIRE(c, events(c, run_id, "manual_unlock", NULL, NULL) == 2,
	    "manual_unlock events");
	REQUIRE(c, unlock_event_ok(c, run_id, t1),
	    "manual_unlock payload lacks the previous lock");
	REQUIRE(c, claim(c, c->w[1], t2, "", 15, &cl) == 1, "%s", c->err);
	REQUIRE(c, strcmp(cl.run_id, run_id) == 0 && cl.lease_epoch == 2 &&
	    !cl.is_recovery, "after unlock: run %s epoch %lld", cl.run_id,
	    cl.lease_epoch);
	OK(c, heartbeat(c, run_id, c->w[0], t1, &hb));
	REQUIRE(c, !hb.ok, "the unlocked holder still renews");
}

static void
case_unlock_empty(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t[ID_UUID_LEN + 1], msg[256];
	enum store_action_result res;
	struct store_claim cl;
	bool ok, unlocked;

	enqueue(c, run_id);
	OK(c, unlock(c, run_id, "operator-a", false, &unlocked, msg,
	    sizeof(msg)));
	REQUIRE(c, unlocked, "an empty lease was not cleared: %s", msg);
	OK(c, action(c, run_id, "unlock", "operator-a", NULL, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_ALREADY_APPLIED, "unlock action on an empty "
	    "lease: %d %s", res, msg);
	REQUIRE(c, claim(c, c->w[0], t, "", 15, &cl) == 1, "%s", c->err);
	OK(c, store_release(&c->st, run_id, c->w[0], t, "idle", &ok, c->err,
	    sizeof(c->err)));
	REQUIRE(c, ok, "release refused");
	REQUIRE(c, events(c, run_id, "run_released", NULL, NULL) == 1,
	    "run_released events");
}

static void
case_gated_not_claimable(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t[ID_UUID_LEN + 1], t2[ID_UUID_LEN + 1];
	char nonce[STORE_ID_MAX], msg[256];
	struct store_claim cl;
	bool ok, unlocked;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[0], t, "", 15, &cl) == 1, "%s", c->err);
	OK(c, store_gate(&c->st, run_id, c->w[0], t, "check", WS_WAITING,
	    NULL, nonce, &ok, c->err, sizeof(c->err)));
	REQUIRE(c, ok, "gate refused");
	OK(c, unlock(c, run_id, "operator-a", true, &unlocked, msg,
	    sizeof(msg)));
	REQUIRE(c, claim(c, c->w[1], t2, "", 15, &cl) == 0,
	    "a gated run was claimed by another worker");
}

static void
case_release_state(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t[ID_UUID_LEN + 1], t2[ID_UUID_LEN + 1];
	char stale[ID_UUID_LEN + 1];
	struct store_claim cl;
	struct store_run r;
	bool ok;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[0], t, "", 15, &cl) == 1, "%s", c->err);
	OK(c, store_set_worker_state(&c->st, run_id, c->w[0], t, WS_PANIC,
	    &ok, c->err, sizeof(c->err)));
	OK(c, get(c, run_id, &r));
	REQUIRE(c, ok && strcmp(r.worker_state, WS_PANIC) == 0, "state %s",
	    r.worker_state);
	id_uuid_new(stale);
	OK(c, store_set_worker_state(&c->st, run_id, c->w[0], stale, WS_IDLE,
	    &ok, c->err, sizeof(c->err)));
	REQUIRE(c, !ok, "a stale token set the worker state");
	REQUIRE(c, store_set_worker_state(&c->st, run_id, c->w[0], t, "asleep",
	    &ok, c->err, sizeof(c->err)) == -1, "worker state asleep");
	OK(c, store_release(&c->st, run_id, c->w[0], stale, "idle", &ok,
	    c->err, sizeof(c->err)));
	REQUIRE(c, !ok, "a stale token released the run");
	OK(c, store_release(&c->st, run_id, c->w[0], t, "idle", &ok, c->err,
	    sizeof(c->err)));
	OK(c, get(c, run_id, &r));
	REQUIRE(c, ok && r.lock_token[0] == '\0' && strcmp(r.status,
	    RUN_RUNNING) == 0 && strcmp(r.worker_state, WS_IDLE) == 0,
	    "after release: token \"%s\" %s %s", r.lock_token, r.status,
	    r.worker_state);
	REQUIRE(c, claim(c, c->w[1], t2, "", 15, &cl) == 1 &&
	    cl.lease_epoch == 2, "released run not claimable: %s", c->err);
}

static void
fill_event(struct store_event *ev, const char *id, const char *run_id,
    const char *sev, const char *at)
{
	memset(ev, 0, sizeof(*ev));
	strlcpy(ev->event_id, id, sizeof(ev->event_id));
	strlcpy(ev->run_id, run_id, sizeof(ev->run_id));
	strlcpy(ev->event_type, "conf_event", sizeof(ev->event_type));
	strlcpy(ev->severity, sev, sizeof(ev->severity));
	strlcpy(ev->reason_key, "test", sizeof(ev->reason_key));
	strlcpy(ev->source, "store_conf_test", sizeof(ev->source));
	strlcpy(ev->occurred_at, at, sizeof(ev->occurred_at));
}

static void
case_events(struct ctx *c)
{
	char run_id[STORE_ID_MAX], id[ID_UUID_LEN + 1];
	struct store_event ev;
	cJSON *payload, *last = NULL, *arr = NULL;
	enum store_write res;
	bool good;

	enqueue(c, run_id);
	id_uuid_new(id);
	fill_event(&ev, id, run_id, "INFO", "");
	payload = cJSON_Parse("{\"k\":7}");
	ev.payload = payload;
	OK(c, store_add_event(&c->st, &ev, &res, c->err, sizeof(c->err)));
	REQUIRE(c, res == STORE_WRITE_DONE, "first add: %s",
	    store_write_name(res));
	OK(c, store_add_event(&c->st, &ev, &res, c->err, sizeof(c->err)));
	cJSON_Delete(payload);
	REQUIRE(c, res == STORE_WRITE_DUPLICATE, "replayed event: %s",
	    store_write_name(res));
	REQUIRE(c, events(c, run_id, "conf_event", NULL, &last) == 1,
	    "conf_event rows");
	good = cJSON_GetNumberValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(last, "payload"), "k")) == 7 &&
	    strcmp(jstr(last, "event_id"), id) == 0 &&
	    strcmp(jstr(last, "source"), "store_conf_test") == 0;
	cJSON_Delete(last);
	REQUIRE(c, good, "stored event differs");
	fill_event(&ev, "", run_id, "NOTICE", "");
	REQUIRE(c, store_add_event(&c->st, &ev, &res, c->err,
	    sizeof(c->err)) == -1 && strstr(c->err, "NOTICE") != NULL,
	    "severity NOTICE: %s", c->err);
	fill_event(&ev, "not-a-uuid", run_id, "INFO", "");
	REQUIRE(c, store_add_event(&c->st, &ev, &res, c->err,
	    sizeof(c->err)) == -1, "event id not-a-uuid accepted");
	fill_event(&ev, "", run_id, "INFO", "yesterday");
	REQUIRE(c, store_add_event(&c->st, &ev, &res, c->err,
	    sizeof(c->err)) == -1, "occurred_at yesterday accepted");
	fill_event(&ev, "", run_id, "DEBUG", "2020-01-02T03:04:05Z");
	OK(c, store_add_event(&c->st, &ev, &res, c->err, sizeof(c->err)));
	fill_event(&ev, "", "", "CRITICAL", "");
	OK(c, store_add_event(&c->st, &ev, &res, c->err, sizeof(c->err)));
	REQUIRE(c, res == STORE_WRITE_DONE, "event without a run not inserted");
	OK(c, store_list_events(&c->st, run_id, &arr, c->err,
	    sizeof(c->err)));
	good = strncmp(jstr(cJSON_GetArrayItem(arr, 0), "occurred_at"),
	    "2020-01-02T03:04:05", 19) == 0 && cJSON_IsObject(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "payload"));
	cJSON_Delete(arr);
	REQUIRE(c, good, "events not ordered by occurred_at, or payload not "
	    "an object");
}

static void
fill_ledger(struct store_ledger *l, const char *run_id, const char *seg,
    long long epoch)
{
	memset(l, 0, sizeof(*l));
	strlcpy(l->run_id, run_id, sizeof(l->run_id));
	strlcpy(l->segment_id, seg, sizeof(l->segment_id));
	strlcpy(l->sha8, "0123abcd", sizeof(l->sha8));
	snprintf(l->key, sizeof(l->key), "%s:%s:%s", run_id, seg, l->sha8);
	l->lease_epoch = epoch;
	l->credits = 5;
}

static int
intent(struct ctx *c, const struct store_ledger *l, const char *tok,
    bool *fresh, struct store_ledger *ex, enum store_write *res)
{
	return store_ledger_intent(&c->st, l, tok, fresh, ex, res, c->err,
	    sizeof(c->err));
}

static int
result(struct ctx *c, const char *key, long long epoch, const char *state,
    int credits, const char *out, enum store_write *res)
{
	return store_ledger_result(&c->st, key, epoch, state, credits, out,
	    res, c->err, sizeof(c->err));
}

/* The ledger row of <key> into <out>: 0, or -1 when there is none. */
static int
ledger_row(struct ctx *c, const char *run_id, const char *key,
    struct store_ledger *out)
{
	struct store_ledger *rows = NULL;
	size_t n, i;
	int r = -1;

	if (store_ledger_list(&c->st, run_id, &rows, &n, c->err,
	    sizeof(c->err)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].key, key) == 0) {
			*out = rows[i];
			r = 0;
		}
	free(rows);
	if (r == -1)
		snprintf(c->err, sizeof(c->err), "no ledger row %s", key);
	return r;
}

static void
case_ledger(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t1[ID_UUID_LEN + 1];
	char stale[ID_UUID_LEN + 1];
	struct store_ledger l, ex, *rows = NULL;
	struct store_claim cl;
	enum store_write res;
	size_t n;
	bool fresh, good;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[0], t1, "", 15, &cl) == 1, "%s", c->err);
	fill_ledger(&l, run_id, "intro", 1);
	OK(c, intent(c, &l, t1, &fresh, &ex, &res));
	REQUIRE(c, fresh && res == STORE_WRITE_DONE, "first intent: fresh %d "
	    "%s", fresh, store_write_name(res));
	OK(c, intent(c, &l, t1, &fresh, &ex, &res));
	REQUIRE(c, !fresh && res == STORE_WRITE_DUPLICATE &&
	    strcmp(ex.state, "intent") == 0 && ex.credits == 5 &&
	    ex.attempts == 1 && strcmp(ex.key, l.key) == 0,
	    "duplicate intent: fresh %d %s state %s attempts %d", fresh,
	    store_write_name(res), ex.state, ex.attempts);
	id_uuid_new(stale);
	fill_ledger(&l, run_id, "outro", 1);
	REQUIRE(c, intent(c, &l, stale, &fresh, &ex, &res) == -1 &&
	    strstr(c->err, "lock lost") != NULL,
	    "stale token booked an intent: %s", c->err);
	fill_ledger(&l, run_id, "intro", 1);
	OK(c, result(c, l.key, 1, "done", 5, "video/final/V_x.mp4", &res));
	REQUIRE(c, res == STORE_WRITE_DONE, "result: %s",
	    store_write_name(res));
	OK(c, result(c, l.key, 1, "done", 5, "video/final/V_x.mp4", &res));
	REQUIRE(c, res == STORE_WRITE_DUPLICATE, "repeated result: %s",
	    store_write_name(res));
	OK(c, result(c, l.key, 1, "failed", 0, NULL, &res));
	REQUIRE(c, res == STORE_WRITE_DUPLICATE, "failed after done: %s",
	    store_write_name(res));
	REQUIRE(c, result(c, "no-such-key", 1, "done", 1, NULL, &res) == -1,
	    "result for an unknown key");
	OK(c, store_ledger_list(&c->st, run_id, &rows, &n, c->err,
	    sizeof(c->err)));
	good = n == 1 && strcmp(rows[0].state, "done") == 0 &&
	    strcmp(rows[0].output, "video/final/V_x.mp4") == 0 &&
	    rows[0].lease_epoch == 1 && rows[0].attempts == 1;
	free(rows);
	REQUIRE(c, good, "ledger list: %zu rows (done was undone?)", n);
}

/* A failed attempt paid again, a late success, replays (issue 10). */
static void
case_ledger_attempts(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t1[ID_UUID_LEN + 1];
	struct store_ledger l, ex, row;
	struct store_claim cl;
	enum store_write res;
	bool fresh;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[0], t1, "", 15, &cl) == 1, "%s", c->err);
	/* intent, failed, intent again: a second paid attempt. */
	fill_ledger(&l, run_id, "intro", 1);
	OK(c, intent(c, &l, t1, &fresh, &ex, &res));
	OK(c, result(c, l.key, 1, "failed", 5, NULL, &res));
	REQUIRE(c, res == STORE_WRITE_DONE, "failed: %s",
	    store_write_name(res));
	OK(c, result(c, l.key, 1, "failed", 5, NULL, &res));
	REQUIRE(c, res == STORE_WRITE_DUPLICATE, "repeated failed: %s",
	    store_write_name(res));
	OK(c, intent(c, &l, t1, &fresh, &ex, &res));
	REQUIRE(c, fresh && res == STORE_WRITE_DONE, "intent after failed: "
	    "fresh %d %s", fresh, store_write_name(res));
	OK(c, ledger_row(c, run_id, l.key, &row));
	REQUIRE(c, strcmp(row.state, "intent") == 0 && row.attempts == 2,
	    "after the second intent: %s, attempts %d", row.state,
	    row.attempts);
	OK(c, result(c, l.key, 1, "done", 5, "video/final/V_a.mp4", &res));
	REQUIRE(c, res == STORE_WRITE_DONE, "done: %s", store_write_name(res));
	OK(c, result(c, l.key, 1, "done", 5, "video/final/V_a.mp4", &res));
	REQUIRE(c, res == STORE_WRITE_DUPLICATE, "repeated done: %s",
	    store_write_name(res));
	OK(c, ledger_row(c, run_id, l.key, &row));
	REQUIRE(c, strcmp(row.state, "done") == 0 && row.attempts == 2 &&
	    row.credits == 5, "after done: %s attempts %d credits %d",
	    row.state, row.attempts, row.credits);
	OK(c, intent(c, &l, t1, &fresh, &ex, &res));
	REQUIRE(c, !fresh && res == STORE_WRITE_DUPLICATE && strcmp(ex.state,
	    "done") == 0 && ex.attempts == 2, "intent after done: fresh %d "
	    "%s %s", fresh, store_write_name(res), ex.state);
	/* A late success after a failure (the resumed render) ends done. */
	fill_ledger(&l, run_id, "outro", 1);
	OK(c, intent(c, &l, t1, &fresh, &ex, &res));
	OK(c, result(c, l.key, 1, "failed", 0, NULL, &res));
	OK(c, result(c, l.key, 1, "done", 5, "video/final/V_b.mp4", &res));
	REQUIRE(c, res == STORE_WRITE_DONE, "done after failed: %s",
	    store_write_name(res));
	OK(c, ledger_row(c, run_id, l.key, &row));
	REQUIRE(c, strcmp(row.state, "done") == 0 && row.attempts == 1 &&
	    strcmp(row.output, "video/final/V_b.mp4") == 0,
	    "late success: %s attempts %d", row.state, row.attempts);
}

static void
case_ledger_epoch(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t1[ID_UUID_LEN + 1], t2[ID_UUID_LEN + 1];
	char msg[256], key1[128];
	struct store_ledger l, ex, row;
	struct store_claim cl;
	enum store_write res;
	bool fresh, unlocked;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[0], t1, "", 15, &cl) == 1, "%s", c->err);
	fill_ledger(&l, run_id, "intro", 1);
	OK(c, intent(c, &l, t1, &fresh, &ex, &res));
	REQUIRE(c, fresh, "epoch 1 intent not booked");
	strlcpy(key1, l.key, sizeof(key1));
	OK(c, unlock(c, run_id, "operator-a", true, &unlocked, msg,
	    sizeof(msg)));
	/* Unlocked, not yet claimed again: epoch 1 is fenced already. */
	OK(c, result(c, key1, 1, "done", 5, NULL, &res));
	REQUIRE(c, res == STORE_WRITE_FENCED, "result of the unlocked epoch: "
	    "%s", store_write_name(res));
	REQUIRE(c, claim(c, c->w[1], t2, "", 15, &cl) == 1 && cl.lease_epoch ==
	    2, "reclaim: %s", c->err);
	fill_ledger(&l, run_id, "product", 1);
	OK(c, intent(c, &l, t1, &fresh, &ex, &res));
	REQUIRE(c, res == STORE_WRITE_FENCED && !fresh, "the old holder's "
	    "intent: %s fresh %d", store_write_name(res), fresh);
	OK(c, intent(c, &l, t2, &fresh, &ex, &res));
	REQUIRE(c, res == STORE_WRITE_FENCED && !fresh && strstr(c->err,
	    "stale epoch 1, run is at 2") != NULL, "an intent of epoch 1 in "
	    "epoch 2: %s fresh %d: %s", store_write_name(res), fresh, c->err);
	REQUIRE(c, ledger_row(c, run_id, l.key, &row) == -1,
	    "a fenced intent was booked");
	OK(c, result(c, key1, 1, "done", 5, NULL, &res));
	REQUIRE(c, res == STORE_WRITE_FENCED && strstr(c->err, "stale epoch 1")
	    != NULL, "result of epoch 1 in epoch 2: %s: %s",
	    store_write_name(res), c->err);
	OK(c, ledger_row(c, run_id, key1, &row));
	REQUIRE(c, strcmp(row.state, "intent") == 0, "a fenced result was "
	    "written: %s", row.state);
	OK(c, result(c, key1, 2, "done", 5, "video/final/V_c.mp4", &res));
	REQUIRE(c, res == STORE_WRITE_DONE, "the new holder's result: %s",
	    store_write_name(res));
	fill_ledger(&l, run_id, "product", 2);
	OK(c, intent(c, &l, t2, &fresh, &ex, &res));
	REQUIRE(c, fresh && res == STORE_WRITE_DONE, "the new holder could not "
	    "book");
	strlcpy(l.key, "wrong:key", sizeof(l.key));
	REQUIRE(c, intent(c, &l, t2, &fresh, &ex, &res) == -1,
	    "a malformed key was booked");
}

/* Events of an old epoch are fenced and not written (issue 10). */
static void
case_event_fencing(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t1[ID_UUID_LEN + 1], t2[ID_UUID_LEN + 1];
	char id1[ID_UUID_LEN + 1], msg[256];
	struct store_event ev;
	struct store_claim cl;
	enum store_write res;
	bool unlocked;

	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[0], t1, "", 15, &cl) == 1, "%s", c->err);
	id_uuid_new(id1);
	fill_event(&ev, id1, run_id, "INFO", "");
	ev.lease_epoch = 1;
	OK(c, store_add_event(&c->st, &ev, &res, c->err, sizeof(c->err)));
	REQUIRE(c, res == STORE_WRITE_DONE, "epoch 1 event: %s",
	    store_write_name(res));
	OK(c, unlock(c, run_id, "operator-a", true, &unlocked, msg,
	    sizeof(msg)));
	fill_event(&ev, "", run_id, "INFO", "");
	ev.lease_epoch = 1;
	OK(c, store_add_event(&c->st, &ev, &res, c->err, sizeof(c->err)));
	REQUIRE(c, res == STORE_WRITE_FENCED && strstr(c->err, "stale epoch 1")
	    != NULL, "event after a forced unlock: %s: %s",
	    store_write_name(res), c->err);
	REQUIRE(c, claim(c, c->w[1], t2, "", 15, &cl) == 1 && cl.lease_epoch ==
	    2, "reclaim: %s", c->err);
	fill_event(&ev, "", run_id, "INFO", "");
	ev.lease_epoch = 1;
	OK(c, store_add_event(&c->st, &ev, &res, c->err, sizeof(c->err)));
	REQUIRE(c, res == STORE_WRITE_FENCED && strstr(c->err,
	    "stale epoch 1, run is at 2") != NULL, "event of epoch 1 in "
	    "epoch 2: %s: %s", store_write_name(res), c->err);
	fill_event(&ev, id1, run_id, "INFO", "");
	ev.lease_epoch = 1;
	OK(c, store_add_event(&c->st, &ev, &res, c->err, sizeof(c->err)));
	REQUIRE(c, res != STORE_WRITE_DONE, "a replay of epoch 1 was written");
	fill_event(&ev, "", run_id, "INFO", "");
	ev.lease_epoch = 3;
	OK(c, store_add_event(&c->st, &ev, &res, c->err, sizeof(c->err)));
	REQUIRE(c, res == STORE_WRITE_FENCED, "event of a future epoch: %s",
	    store_write_name(res));
	fill_event(&ev, "", run_id, "INFO", "");
	ev.lease_epoch = 2;
	OK(c, store_add_event(&c->st, &ev, &res, c->err, sizeof(c->err)));
	REQUIRE(c, res == STORE_WRITE_DONE, "event of the current epoch: %s",
	    store_write_name(res));
	fill_event(&ev, "", run_id, "INFO", "");
	OK(c, store_add_event(&c->st, &ev, &res, c->err, sizeof(c->err)));
	REQUIRE(c, res == STORE_WRITE_DONE, "event without an epoch: %s",
	    store_write_name(res));
	REQUIRE(c, events(c, run_id, "conf_event", NULL, NULL) == 3,
	    "conf_event rows: fenced events were written");
}

/* Decisions name their gate by nonce, in full or 8 hex (issue 10). */
static void
case_decision_nonce(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t[ID_UUID_LEN + 1], n1[STORE_ID_MAX];
	char n2[STORE_ID_MAX], short1[9], msg[256];
	enum store_action_result res;
	struct store_run r;
	struct store_hb hb;
	bool ok;

	gated_run(c, run_id, t, n1);
	REQUIRE(c, n1[0] != '\0', "no gate");
	OK(c, heartbeat(c, run_id, c->w[0], t, &hb));
	REQUIRE(c, hb.ok && strcmp(hb.gate_nonce, n1) == 0 &&
	    hb.decided_nonce[0] == '\0' && hb.decision[0] == '\0',
	    "heartbeat of a gated run: gate %s decided %s decision %s",
	    hb.gate_nonce, hb.decided_nonce, hb.decision);
	REQUIRE(c, action(c, run_id, "approve", "alice", "xyz", &res, msg,
	    sizeof(msg)) == -1, "nonce xyz accepted");
	memcpy(short1, n1, 8);
	short1[8] = '\0';
	OK(c, action(c, run_id, "approve", "alice", short1, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED, "approve by 8 hex: %d %s", res, msg);
	OK(c, get(c, run_id, &r));
	REQUIRE(c, strcmp(r.status, RUN_APPROVED) == 0 && r.gate_nonce[0] ==
	    '\0' && strcmp(r.decided_nonce, n1) == 0 &&
	    strcmp(r.decision, "approve") == 0, "after approve: %s gate %s "
	    "decided %s decision %s", r.status, r.gate_nonce,
	    r.decided_nonce, r.decision);
	OK(c, heartbeat(c, run_id, c->w[0], t, &hb));
	REQUIRE(c, hb.ok && hb.gate_nonce[0] == '\0' &&
	    strcmp(hb.decided_nonce, n1) == 0 && strcmp(hb.decision,
	    "approve") == 0, "heartbeat after approve: gate %s decided %s "
	    "decision %s", hb.gate_nonce, hb.decided_nonce, hb.decision);
	OK(c, action(c, run_id, "approve", "bob", n1, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_ALREADY_APPLIED, "approve again, full nonce: "
	    "%d %s", res, msg);
	OK(c, action(c, run_id, "approve", "bob", short1, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_ALREADY_APPLIED, "approve again, 8 hex: %d "
	    "%s", res, msg);
	/* A new gate replaces the decided one and clears its decision. */
	OK(c, store_gate(&c->st, run_id, c->w[0], t, "second look", WS_PANIC,
	    NULL, n2, &ok, c->err, sizeof(c->err)));
	REQUIRE(c, ok && strcmp(n1, n2) != 0, "second gate");
	OK(c, get(c, run_id, &r));
	REQUIRE(c, strcmp(r.worker_state, WS_PANIC) == 0 && r.decision[0] ==
	    '\0' && r.decided_nonce[0] == '\0' && strcmp(r.gate_nonce,
	    n2) == 0, "second gate: state %s decision %s decided %s",
	    r.worker_state, r.decision, r.decided_nonce);
	OK(c, action(c, run_id, "refetch", "bob", n1, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_NOT_POSSIBLE && strstr(msg,
	    "no longer possible") != NULL, "refetch for the old gate: %d %s",
	    res, msg);
	OK(c, action(c, run_id, "abort", "bob", short1, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_NOT_POSSIBLE, "abort for the old gate: %d %s",
	    res, msg);
	OK(c, get(c, run_id, &r));
	REQUIRE(c, strcmp(r.status, RUN_WAITING_APPROVAL) == 0 &&
	    strcmp(r.gate_nonce, n2) == 0 && r.decision[0] == '\0',
	    "a stale button changed the run: %s %s", r.status, r.decision);
	OK(c, action(c, run_id, "refetch", "bob", n2, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED, "refetch for the open gate: %d %s",
	    res, msg);
	OK(c, heartbeat(c, run_id, c->w[0], t, &hb));
	REQUIRE(c, hb.ok && hb.force_refetch && strcmp(hb.decided_nonce, n2) ==
	    0 && strcmp(hb.decision, "refetch") == 0, "heartbeat after "
	    "refetch: %d %s %s", hb.force_refetch, hb.decided_nonce,
	    hb.decision);
}

/* Abort: one step, lock dropped, idle, gate closed (issue 10). */
static void
case_abort_one_step(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t[ID_UUID_LEN + 1], n[STORE_ID_MAX];
	char msg[256];
	enum store_action_result res;
	struct store_claim cl;
	struct store_event ev;
	enum store_write wr;
	struct store_run r;
	struct store_hb hb;
	bool ok;

	gated_run(c, run_id, t, n);
	REQUIRE(c, n[0] != '\0', "no gate");
	OK(c, store_set_worker_state(&c->st, run_id, c->w[0], t, WS_PANIC,
	    &ok, c->err, sizeof(c->err)));
	OK(c, action(c, run_id, "abort", "carol", n, &res, msg, sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED, "abort: %d %s", res, msg);
	OK(c, get(c, run_id, &r));
	REQUIRE(c, strcmp(r.status, RUN_ABORTED) == 0 && r.lock_token[0] ==
	    '\0' && r.lease_expires_at[0] == '\0' &&
	    strcmp(r.worker_state, WS_IDLE) == 0 && r.gate_nonce[0] == '\0' &&
	    strcmp(r.decided_nonce, n) == 0 && strcmp(r.decision, "abort") ==
	    0, "after abort: %s token \"%s\" state %s gate %s decided %s "
	    "decision %s", r.status, r.lock_token, r.worker_state,
	    r.gate_nonce, r.decided_nonce, r.decision);
	OK(c, heartbeat(c, run_id, c->w[0], t, &hb));
	REQUIRE(c, !hb.ok && strcmp(hb.status, RUN_ABORTED) == 0 &&
	    strcmp(hb.decision, "abort") == 0, "holder's heartbeat: ok %d %s "
	    "%s", hb.ok, hb.status, hb.decision);
	fill_event(&ev, "", run_id, "INFO", "");
	ev.lease_epoch = 1;
	OK(c, store_add_event(&c->st, &ev, &wr, c->err, sizeof(c->err)));
	REQUIRE(c, wr == STORE_WRITE_FENCED, "an event of the aborted epoch: "
	    "%s", store_write_name(wr));
	OK(c, action(c, run_id, "abort", "carol", n, &res, msg, sizeof(msg)));
	REQUIRE(c, res == ACTION_ALREADY_APPLIED, "abort again: %d %s", res,
	    msg);
	OK(c, action(c, run_id, "unlock", "carol", NULL, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_ALREADY_APPLIED, "unlock after abort: %d %s",
	    res, msg);
	/* Without a gate (rvctl abort of a running run) the same. */
	enqueue(c, run_id);
	REQUIRE(c, claim(c, c->w[1], t, "", 15, &cl) == 1, "%s", c->err);
	OK(c, action(c, run_id, "abort", "carol", NULL, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED, "abort of a running run: %d %s", res,
	    msg);
	OK(c, get(c, run_id, &r));
	REQUIRE(c, strcmp(r.status, RUN_ABORTED) == 0 && r.lock_token[0] ==
	    '\0' && strcmp(r.worker_state, WS_IDLE) == 0 &&
	    r.decided_nonce[0] == '\0' && strcmp(r.decision, "abort") == 0,
	    "after abort: %s token \"%s\" state %s decided %s decision %s",
	    r.status, r.lock_token, r.worker_state, r.decided_nonce,
	    r.decision);
	OK(c, heartbeat(c, run_id, c->w[1], t, &hb));
	REQUIRE(c, !hb.ok && strcmp(hb.status, RUN_ABORTED) == 0,
	    "holder's heartbeat: ok %d %s", hb.ok, hb.status);
}

/* An unlock through operator_action never forces (Telegram). */
static void
case_unlock_never_forces(struct ctx *c)
{
	char run_id[STORE_ID_MAX], t[ID_UUID_LEN + 1], n[STORE_ID_MAX];
	char msg[256], short1[9];
	enum store_action_result res;
	struct store_run r;

	gated_run(c, run_id, t, n);
	REQUIRE(c, n[0] != '\0', "no gate");
	memcpy(short1, n, 8);
	short1[8] = '\0';
	OK(c, action(c, run_id, "unlock", "dave-tg", short1, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_NOT_POSSIBLE && strstr(msg, "live") != NULL &&
	    strstr(msg, "rvctl unlock --force") != NULL, "unlock of a live "
	    "lease: %d %s", res, msg);
	OK(c, get(c, run_id, &r));
	REQUIRE(c, strcmp(r.lock_token, t) == 0 && strcmp(r.gate_nonce, n) == 0,
	    "the refused unlock changed the run");
}

static bool
same_runs(const struct store_run *a, size_t na, const struct store_run *b,
    size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (strcmp(a[i].run_id, b[i].run_id) != 0 ||
		    strcmp(a[i].status, b[i].status) != 0 ||
		    strcmp(a[i].lock_token, b[i].lock_token) != 0 ||
		    strcmp(a[i].worker_id, b[i].worker_id) != 0 ||
		    strcmp(a[i].updated_at, b[i].updated_at) != 0 ||
		    a[i].lease_epoch != b[i].lease_epoch)
			return false;
	return true;
}

static void
case_contract(struct ctx *c)
{
	char r1[STORE_ID_MAX], r2[STORE_ID_MAX], t[ID_UUID_LEN + 1];
	struct store_run *before = NULL, *after = NULL;
	struct store_claim cl;
	size_t nb, na;
	cJSON *rep = NULL, *e;
	bool good, shaped = true;
	int ev_before;

	enqueue(c, r1);
	enqueue(c, r2);
	REQUIRE(c, claim(c, c->w[0], t, "", 15, &cl) == 1, "%s", c->err);
	ev_before = events(c, r2, "run_claimed", NULL, NULL);
	OK(c, store_list_runs(&c->st, &before, &nb, c->err, sizeof(c->err)));
	if (store_check_contract(&c->st, &rep, c->err, sizeof(c->err)) == -1)
		fail(c, __LINE__, "check_contract: %s", c->err);
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(rep, "checks"))
		if (cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")) ==
		    NULL || !cJSON_IsBool(cJSON_GetObjectItem(e, "ok")) ||
		    cJSON_GetStringValue(cJSON_GetObjectItem(e, "detail")) ==
		    NULL)
			shaped = false;
	good = cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok")) &&
	    cJSON_GetArraySize(cJSON_GetObjectItem(rep, "checks")) > 0;
	cJSON_Delete(rep);
	if (store_list_runs(&c->st, &after, &na, c->err, sizeof(c->err)) ==
	    -1)
		fail(c, __LINE__, "list_runs: %s", c->err);
	else if (!same_runs(before, nb, after, na))
		fail(c, __LINE__, "check_contract changed a run");
	free(before);
	free(after);
	REQUIRE(c, good && shaped, "contract report not ok or malformed");
	REQUIRE(c, events(c, r2, "run_claimed", NULL, NULL) == ev_before,
	    "check_contract claimed a run");
}

static void
case_list_and_clock(struct ctx *c)
{
	char r[3][STORE_ID_MAX], now[STORE_TIME_MAX];
	struct store_run *runs = NULL;
	double db, local;
	size_t n, i, k = 0;
	bool order = true;

	for (i = 0; i < 3; i++) {
		enqueue(c, r[i]);
		clock_sleep_ms(5);
	}
	OK(c, store_list_runs(&c->st, &runs, &n, c->err, sizeof(c->err)));
	for (i = 0; i < n && k < 3; i++) {
		if (strcmp(runs[i].task_type, c->task) != 0)
			continue;
		if (strcmp(runs[i].run_id, r[k++]) != 0)
			order = false;
	}
	free(runs);
	REQUIRE(c, order && k == 3, "list_runs: %zu of 3 runs, order %d", k,
	    order);
	OK(c, store_now(&c->st, now, sizeof(now), c->err, sizeof(c->err)));
	REQUIRE(c, clock_parse_iso(now, &db) == 0, "now() \"%s\" is not ISO",
	    now);
	local = (double)time(NULL);
	REQUIRE(c, db > local - 300 && db < local + 300, "database clock %s is "
	    "far from the local clock", now);
}

/*
 * A store fault (errno EAGAIN: busy, locked) is "unknown, try again", as
 * the supervisor treats it; SQLite's lock is not fair, so on a loaded
 * machine one process can lose it for longer than the busy timeout.  The
 * race retries such faults until RACE_RETRY_S have passed.
 */
#define RACE_RETRY_S	120

static bool
race_retry(time_t start)
{
	if (errno != EAGAIN || time(NULL) - start > RACE_RETRY_S)
		return false;
	usleep(10000);
	return true;
}

/* One child of the race: claim and finish until nothing is left. */
static void
race_child(struct ctx *c, const char *worker, int fd)
{
	char tok[ID_UUID_LEN + 1], line[STORE_ID_MAX + 1], err[512];
	struct store_claim cl;
	struct store st;
	time_t start = time(NULL);
	bool ok;
	int r;

	if (open_store(&st, c->backend, c->dir, err, sizeof(err)) == -1)
		_exit(3);
	for (;;) {
		id_uuid_new(tok);
		while ((r = store_claim(&st, worker, tok, 30, c->task, "", &cl,
		    err, sizeof(err))) == -1 && race_retry(start))
			;
		if (r == 0)
			break;
		if (r == -1) {
			fprintf(stderr, "%s: claim: %s\n", worker, err);
			_exit(2);
		}
		snprintf(line, sizeof(line), "%s\n", cl.run_id);
		if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
			_exit(4);
		while ((r = store_finish(&st, cl.run_id, worker, tok, RUN_DONE,
		    NULL, &ok, err, sizeof(err))) == -1 && race_retry(start))
			;
		if (r == -1 || !ok) {
			fprintf(stderr, "%s: finish %s: %s\n", worker,
			    cl.run_id, r == -1 ? err : "lease lost");
			_exit(4);
		}
	}
	store_close(&st);
	_exit(0);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read every line the children wrote; returns how many, or -1. */
static int
race_collect(int fd, char *buf, size_t size, char **lines, int max)
{
	size_t len = 0;
	ssize_t k;
	char *p, *nl;
	int n = 0;

	while ((k = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)k;
	buf[len] = '\0';
	for (p = buf; (nl = strchr(p, '\n')) != NULL && n < max; p = nl + 1) {
		*nl = '\0';
		lines[n++] = p;
	}
	return k == -1 ? -1 : n;
}

/* Start child <i> of the race writing to a new pipe <fd>. */
static int
race_spawn(struct ctx *c, int i, int fd[2], pid_t *pid)
{
	if (pipe(fd) == -1 || (*pid = fork()) == -1)
		return -1;
	if (*pid == 0) {
		close(fd[0]);
		race_child(c, c->w[i], fd[1]);
	}
	close(fd[1]);
	return 0;
}

static void
case_two_processes(struct ctx *c)
{
	static char buf[2][NRUNS_RACE * (STORE_ID_MAX + 1) + 1];
	char run_id[STORE_ID_MAX], *lines[2 * NRUNS_RACE];
	struct store_run *runs = NULL;
	int fds[2][2], i, n = 0, k, st, bad = 0, done = 0;
	pid_t pid[2];
	size_t nr, j;

	for (i = 0; i < NRUNS_RACE; i++)
		enqueue(c, run_id);
	REQUIRE(c, c->failed == 0, "enqueue failed");
	store_close(&c->st);
	for (i = 0; i < 2; i++)
		if (race_spawn(c, i, fds[i], &pid[i]) == -1) {
			fprintf(stderr, "pipe/fork: %s\n", strerror(errno));
			exit(1);
		}
	for (i = 0; i < 2; i++) {
		k = race_collect(fds[i][0], buf[i], sizeof(buf[i]), lines + n,
		    2 * NRUNS_RACE - n);
		close(fds[i][0]);
		n += k > 0 ? k : 0;
		if (waitpid(pid[i], &st, 0) == -1 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			fail(c, __LINE__, "child %d failed (status %d)", i, st);
	}
	if (open_store(&c->st, c->backend, c->dir, c->err,
	    sizeof(c->err)) == -1) {
		fprintf(stderr, "reopen: %s\n", c->err);
		exit(1);
	}
	REQUIRE(c, n == NRUNS_RACE, "%d runs claimed, want %d", n, NRUNS_RACE);
	qsort(lines, (size_t)n, sizeof(lines[0]), cmp_str);
	for (i = 1; i < n; i++)
		REQUIRE(c, strcmp(lines[i - 1], lines[i]) != 0,
		    "run %s claimed twice", lines[i]);
	OK(c, store_list_runs(&c->st, &runs, &nr, c->err, sizeof(c->err)));
	for (j = 0; j < nr; j++) {
		if (strcmp(runs[j].task_type, c->task) != 0)
			continue;
		if (strcmp(runs[j].status, RUN_DONE) == 0 &&
		    runs[j].lease_epoch == 1)
			done++;
		else
			bad++;
	}
	free(runs);
	REQUIRE(c, done == NRUNS_RACE && bad == 0, "%d runs done once, %d not",
	    done, bad);
}

/* sqlite only: the settings choose the backend; the file is private. */
static void
case_sqlite_open(struct ctx *c)
{
	struct rv_config cfg;
	struct store st;
	struct stat sb;
	char path[PATH_MAX];
	static const char *const plain[] = { "http://127.evil.com:5432",
	    "http://localhost.evil.com", "http://10.0.0.1" };
	size_t i;

	if (strcmp(c->backend, "sqlite") != 0)
		return;
	memset(&cfg, 0, sizeof(cfg));
	strlcpy(cfg.state_dir, c->dir, sizeof(cfg.state_dir));
	strlcpy(cfg.supabase_url, "https://example.invalid",
	    sizeof(cfg.supabase_url));
	REQUIRE(c, store_open(&st, &cfg, c->err, sizeof(c->err)) == -1 &&
	    strstr(c->err, "SUPABASE_URL") != NULL, "supabase url: %s",
	    c->err);
	/* The service key travels with every call: http:// only locally. */
	for (i = 0; i < 3; i++) {
		strlcpy(cfg.supabase_url, plain[i], sizeof(cfg.supabase_url));
		REQUIRE(c, store_open(&st, &cfg, c->err, sizeof(c->err)) ==
		    -1 && strstr(c->err, "SUPABASE_URL: http:// is allowed "
		    "only") != NULL, "%s: %s", plain[i], c->err);
	}
	strlcpy(cfg.supabase_url, "http://127.0.0.2:1",
	    sizeof(cfg.supabase_url));
	REQUIRE(c, store_open(&st, &cfg, c->err, sizeof(c->err)) == -1 &&
	    strstr(c->err, "SUPABASE_SERVICE_KEY is empty") != NULL,
	    "http to 127.0.0.2 not accepted: %s", c->err);
	snprintf(path, sizeof(path), "%s/rayvault.db", c->dir);
	REQUIRE(c, stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "%s: mode %o", path, (unsigned)(sb.st_mode & 0777));
	REQUIRE(c, strcmp(c->st.backend, "sqlite") == 0, "backend \"%s\"",
	    c->st.backend);
	memset(&st, 0, sizeof(st));
	REQUIRE(c, store_now(&st, path, sizeof(path), c->err,
	    sizeof(c->err)) == -1, "a closed store answered");
}

static int
set_immutable(const char *path, bool on)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "chattr %ci '%s' 2>/dev/null",
	    on ? '+' : '-', path);
	return system(cmd) == 0 ? 0 : -1;
}

/* The steps of case_sqlite_readonly on the handle <st> of <db>. */
static void
readonly_steps(struct ctx *c, struct store *st, const char *db)
{
	char vid[STORE_VID_MAX], run_id[STORE_ID_MAX], why[256];
	struct store_run r;
	int e;

	REQUIRE(c, store_health(st, why, sizeof(why)) == -1 &&
	    strstr(why, "read-only") != NULL, "health of a handle opened "
	    "read-only: \"%s\"", why);
	new_vid(c, vid, sizeof(vid));
	errno = 0;
	REQUIRE(c, store_enqueue(st, vid, c->task, "{}", run_id, c->err,
	    sizeof(c->err)) == -1, "a read-only file took a run");
	e = errno;
	REQUIRE(c, e == EAGAIN, "errno %d (want EAGAIN: a store fault, try "
	    "again): %s", e, c->err);
	REQUIRE(c, store_health(st, why, sizeof(why)) == -1, "health after "
	    "the failed call says usable");
	REQUIRE(c, set_immutable(db, false) == 0, "chattr -i failed");
	OK(c, store_enqueue(st, vid, c->task, "{}", run_id, c->err,
	    sizeof(c->err)));
	REQUIRE(c, store_health(st, why, sizeof(why)) == 0, "health after "
	    "recovery: %s", why);
	OK(c, store_get_run(st, run_id, &r, NULL, c->err, sizeof(c->err)));
}

/*
 * sqlite only: a handle opened while the database file was read-only
 * (chattr +i: as root, file modes do not stop writes) is reopened by the
 * next call once the file is writable again, and store_health() says it
 * is unusable meanwhile (issue 10).  Skipped where chattr +i is not
 * supported.
 */
static void
case_sqlite_readonly(struct ctx *c)
{
	char dir[160], db[PATH_MAX], why[256];
	struct store st;

	if (strcmp(c->backend, "sqlite") != 0) {
		REQUIRE(c, store_health(&c->st, why, sizeof(why)) == 0,
		    "health of a working store: %s", why);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/ro", c->dir);
	REQUIRE(c, mkdir(dir, 0700) == 0, "mkdir %s: %s", dir, strerror(errno));
	snprintf(db, sizeof(db), "%s/rayvault.db", dir);
	OK(c, store_sqlite_open(&st, db, 1, c->err, sizeof(c->err)));
	store_close(&st);
	if (set_immutable(db, true) == -1) {
		printf("SKIP sqlite_readonly: chattr +i is not supported "
		    "here\n");
		remove_dir(dir);
		return;
	}
	if (store_sqlite_open(&st, db, 1, c->err, sizeof(c->err)) == -1)
		fail(c, __LINE__, "open of a read-only file: %s", c->err);
	else {
		readonly_steps(c, &st, db);
		store_close(&st);
	}
	(void)set_immutable(db, false);
	remove_dir(dir);
}


/* Queue <vid> with <spec>; the run id, or "" (reported). */
static void
enqueue_spec(struct ctx *c, const char *vid, const char *spec, char *run_id)
{
	run_id[0] = '\0';
	if (store_enqueue(&c->st, vid, c->task, spec, run_id, c->err,
	    sizeof(c->err)) == -1)
		fail(c, __LINE__, "enqueue %s: %s", vid, c->err);
}

static int
replace(struct ctx *c, const char *vid, char *run_id)
{
	c->err[0] = '\0';
	errno = 0;
	return store_enqueue_replace(&c->st, vid, c->task, "{}", run_id,
	    c->err, sizeof(c->err));
}

/*
 * One current run per video id: enqueue --replace queues a new run only
 * in place of an aborted or failed one, never of a running or done one;
 * the replaced run keeps its row and gets a run_replaced event.
 */
static void
case_enqueue_replace(struct ctx *c)
{
	char vid[STORE_VID_MAX], vid2[STORE_VID_MAX], r0[STORE_ID_MAX];
	char r1[STORE_ID_MAX], r2[STORE_ID_MAX], r3[STORE_ID_MAX];
	char tok[ID_UUID_LEN + 1], msg[256];
	enum store_action_result res;
	struct store_claim cl;
	struct store_run r;
	bool ok;

	new_vid(c, vid, sizeof(vid));
	enqueue_spec(c, vid, "{}", r0);
	REQUIRE(c, r0[0] != '\0', "enqueue");
	REQUIRE(c, replace(c, vid, r1) == -1 && errno == EEXIST &&
	    strstr(c->err, "only an aborted or failed") != NULL,
	    "replace of a running run: %s", c->err);
	REQUIRE(c, store_enqueue(&c->st, vid, c->task, "{}", r1, c->err,
	    sizeof(c->err)) == -1 && strstr(c->err, "already queued") !=
	    NULL && strstr(c->err, "may be replaced") == NULL,
	    "plain enqueue of a running run: %s", c->err);
	OK(c, action(c, r0, "abort", "operator-a", NULL, &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED, "abort: %s", msg);
	REQUIRE(c, store_enqueue(&c->st, vid, c->task, "{}", r1, c->err,
	    sizeof(c->err)) == -1 && strstr(c->err, "already queued") !=
	    NULL && strstr(c->err, "aborted") != NULL &&
	    strstr(c->err, "may be replaced") != NULL,
	    "plain enqueue of an aborted run: %s", c->err);
	OK(c, replace(c, vid, r1));
	REQUIRE(c, id_uuid_valid(r1) && strcmp(r1, r0) != 0, "new run %s",
	    r1);
	OK(c, get(c, vid, &r));
	REQUIRE(c, strcmp(r.run_id, r1) == 0 && strcmp(r.status,
	    RUN_RUNNING) == 0, "by video id: %s %s", r.run_id, r.status);
	OK(c, get(c, r0, &r));
	REQUIRE(c, strcmp(r.status, RUN_ABORTED) == 0, "old run %s",
	    r.status);
	REQUIRE(c, events(c, r0, "run_replaced", NULL, NULL) == 1,
	    "run_replaced events of the old run");
	REQUIRE(c, events(c, r1, "run_enqueued", NULL, NULL) == 1,
	    "run_enqueued events of the new run");
	REQUIRE(c, replace(c, vid, r2) == -1 && errno == EEXIST,
	    "replace of the new, running run: %s", c->err);
	/* A failed run is replaced too; a done one never. */
	REQUIRE(c, claim(c, c->w[0], tok, "", 15, &cl) == 1 &&
	    strcmp(cl.run_id, r1) == 0, "claim the new run: %s", c->err);
	OK(c, store_finish(&c->st, r1, c->w[0], tok, RUN_FAILED, "test",
	    &ok, c->err, sizeof(c->err)));
	REQUIRE(c, ok, "finish failed refused");
	OK(c, replace(c, vid, r2));
	REQUIRE(c, strcmp(r2, r1) != 0, "replace of a failed run");
	REQUIRE(c, claim(c, c->w[0], tok, "", 15, &cl) == 1 &&
	    strcmp(cl.run_id, r2) == 0, "claim the third run: %s", c->err);
	OK(c, store_finish(&c->st, r2, c->w[0], tok, RUN_DONE, NULL, &ok,
	    c->err, sizeof(c->err)));
	REQUIRE(c, replace(c, vid, r3) == -1 && errno == EEXIST &&
	    strstr(c->err, "done") != NULL, "replace of a done run: %s",
	    c->err);
	/* Nothing to replace: a plain enqueue. */
	new_vid(c, vid2, sizeof(vid2));
	OK(c, replace(c, vid2, r3));
	REQUIRE(c, id_uuid_valid(r3), "replace of a new video id");
}

static int
amend(struct ctx *c, const char *run_id, const char *seg, const char *text,
    double dur, const char *op, enum store_action_result *res, char *msg,
    size_t msglen)
{
	struct store_amend a;

	memset(&a, 0, sizeof(a));
	a.run_id = run_id;
	a.segment_id = seg;
	a.text = text;
	a.duration = dur;
	a.operator_name = op;
	c->err[0] = '\0';
	errno = 0;
	return store_amend(&c->st, &a, res, msg, msglen, c->err,
	    sizeof(c->err));
}

/* Segment <seg>'s member <key> in the stored spec of <run_id>. */
static cJSON *
spec_seg(struct ctx *c, const char *run_id, const char *seg,
    const char *key)
{
	struct store_run r;
	char *spec = NULL;
	cJSON *j, *g, *v = NULL;

	if (store_get_run(&c->st, run_id, &r, &spec, c->err,
	    sizeof(c->err)) == -1)
		return NULL;
	j = cJSON_Parse(spec != NULL ? spec : "");
	free(spec);
	cJSON_ArrayForEach(g, cJSON_GetObjectItem(j, "segments"))
		if (strcmp(jstr(g, "segment_id"), seg) == 0)
			v = cJSON_Duplicate(cJSON_GetObjectItem(g, key), true);
	cJSON_Delete(j);
	return v;
}

static bool
seg_is(struct ctx *c, const char *run_id, const char *seg, const char *text,
    double dur)
{
	cJSON *t = spec_seg(c, run_id, seg, "text");
	cJSON *d = spec_seg(c, run_id, seg, "approx_duration_sec");
	bool ok = cJSON_IsString(t) && strcmp(t->valuestring, text) == 0 &&
	    cJSON_IsNumber(d) && d->valuedouble == dur;

	cJSON_Delete(t);
	cJSON_Delete(d);
	return ok;
}

/*
 * amend changes one segment of a gated or aborted run's stored spec,
 * with one operator_action event (spec_amended) holding before and
 * after; anything else is refused and changes nothing.
 */
static void
case_amend(struct ctx *c)
{
	char vid[STORE_VID_MAX], run[STORE_ID_MAX], spec[512], msg[256];
	char tok[ID_UUID_LEN + 1], nonce[STORE_ID_MAX], bogus[ID_UUID_LEN + 1];
	enum store_action_result res;
	struct store_claim cl;
	cJSON *ev = NULL, *p;
	bool ok;
	int n;

	new_vid(c, vid, sizeof(vid));
	snprintf(spec, sizeof(spec), "{\"video_id\":\"%s\",\"segments\":["
	    "{\"segment_id\":\"intro\",\"text\":\"Hello there.\","
	    "\"approx_duration_sec\":3},{\"segment_id\":\"outro\","
	    "\"text\":\"Bye.\",\"approx_duration_sec\":2}]}", vid);
	enqueue_spec(c, vid, spec, run);
	REQUIRE(c, run[0] != '\0', "enqueue");
	OK(c, amend(c, run, "intro", "New text.", 0, "operator-a", &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_NOT_POSSIBLE && strstr(msg, "running") !=
	    NULL, "amend of a queued run: %d %s", (int)res, msg);
	REQUIRE(c, claim(c, c->w[0], tok, "", 15, &cl) == 1, "claim: %s",
	    c->err);
	OK(c, store_gate(&c->st, run, c->w[0], tok,
	    "panic_voice_contract_drift", WS_PANIC, NULL, nonce, &ok, c->err,
	    sizeof(c->err)));
	REQUIRE(c, ok, "gate refused");
	/* Bad arguments: refused, nothing changed. */
	REQUIRE(c, amend(c, run, "middle", "x", 0, "operator-a", &res, msg,
	    sizeof(msg)) == -1 && errno == EINVAL && strstr(c->err,
	    "no segment middle") != NULL, "unknown segment: %s", c->err);
	id_uuid_new(bogus);
	REQUIRE(c, amend(c, bogus, "intro", "x", 0, "operator-a", &res, msg,
	    sizeof(msg)) == -1 && errno == ENOENT, "unknown run: %s",
	    c->err);
	REQUIRE(c, amend(c, run, "intro", "x", 4, "operator-a", &res, msg,
	    sizeof(msg)) == -1 && strstr(c->err, "both") != NULL,
	    "text and duration: %s", c->err);
	REQUIRE(c, amend(c, run, "intro", NULL, 0, "operator-a", &res, msg,
	    sizeof(msg)) == -1 && strstr(c->err, "neither") != NULL,
	    "neither: %s", c->err);
	REQUIRE(c, amend(c, run, "intro", NULL, 0.1, "operator-a", &res, msg,
	    sizeof(msg)) == -1 && amend(c, run, "intro", NULL, 601,
	    "operator-a", &res, msg, sizeof(msg)) == -1,
	    "duration out of range accepted");
	REQUIRE(c, amend(c, run, "intro", "", 0, "operator-a", &res, msg,
	    sizeof(msg)) == -1, "empty text accepted");
	REQUIRE(c, amend(c, run, "intro", "x", 0, "op", &res, msg,
	    sizeof(msg)) == -1 && strstr(c->err, "operator") != NULL,
	    "short operator: %s", c->err);
	REQUIRE(c, seg_is(c, run, "intro", "Hello there.", 3) &&
	    seg_is(c, run, "outro", "Bye.", 2), "a refused amend changed "
	    "the spec");
	REQUIRE(c, events(c, run, "operator_action", "amend", NULL) == 0,
	    "a refused amend was recorded as applied");
	/* Applied once, with before and after. */
	OK(c, amend(c, run, "intro", "New text.", 0, "operator-a", &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED, "amend text: %s", msg);
	REQUIRE(c, seg_is(c, run, "intro", "New text.", 3) &&
	    seg_is(c, run, "outro", "Bye.", 2), "spec after the amend");
	n = events(c, run, "operator_action", "amend", &ev);
	p = cJSON_GetObjectItem(ev, "payload");
	ok = n == 1 && strcmp(jstr(ev, "reason_key"), "spec_amended") == 0 &&
	    strcmp(jstr(p, "operator"), "operator-a") == 0 &&
	    strcmp(jstr(p, "segment_id"), "intro") == 0 &&
	    strcmp(jstr(cJSON_GetObjectItem(p, "before"), "text"),
	    "Hello there.") == 0 && strcmp(jstr(cJSON_GetObjectItem(p,
	    "after"), "text"), "New text.") == 0;
	cJSON_Delete(ev);
	REQUIRE(c, ok, "the amend event (%d)", n);
	OK(c, amend(c, run, "intro", "New text.", 0, "operator-a", &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_ALREADY_APPLIED, "the same amend again: %s",
	    msg);
	OK(c, amend(c, run, "outro", NULL, 2.5, "operator-a", &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED && seg_is(c, run, "outro", "Bye.",
	    2.5) && seg_is(c, run, "intro", "New text.", 3),
	    "amend duration: %s", msg);
	REQUIRE(c, events(c, run, "operator_action", "amend", NULL) == 2,
	    "two amends recorded");
	/* Approved: no longer amendable; aborted: amendable. */
	OK(c, action(c, run, "approve", "operator-a", nonce, &res, msg,
	    sizeof(msg)));
	OK(c, amend(c, run, "outro", "Later.", 0, "operator-a", &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_NOT_POSSIBLE && seg_is(c, run, "outro",
	    "Bye.", 2.5), "amend of an approved run: %s", msg);
	OK(c, action(c, run, "abort", "operator-a", NULL, &res, msg,
	    sizeof(msg)));
	OK(c, amend(c, run, "outro", "Later.", 0, "operator-a", &res, msg,
	    sizeof(msg)));
	REQUIRE(c, res == ACTION_APPLIED && seg_is(c, run, "outro", "Later.",
	    2.5), "amend of an aborted run: %s", msg);
}

static const struct {
	const char *name;
	void (*fn)(struct ctx *);
} cases[] = {
	{ "enqueue", case_enqueue },
	{ "enqueue_replace", case_enqueue_replace },
	{ "amend", case_amend },
	{ "claim_order", case_claim_order },
	{ "claim_empty", case_claim_empty },
	{ "claim_args", case_claim_args },
	{ "lease_clamp", case_lease_clamp },
	{ "recovery_token", case_recovery_token },
	{ "recovery_live_duplicate", case_recovery_live_duplicate },
	{ "recovery_stale", case_recovery_stale },
	{ "heartbeat", case_heartbeat },
	{ "force_refetch", case_force_refetch },
	{ "finish", case_finish },
	{ "gate_open", case_gate_open },
	{ "gate_nonce", case_gate_nonce },
	{ "actions_once", case_actions_once },
	{ "force_unlock", case_force_unlock },
	{ "unlock_empty", case_unlock_empty },
	{ "gated_not_claimable", case_gated_not_claimable },
	{ "release_state", case_release_state },
	{ "events", case_events },
	{ "ledger", case_ledger },
	{ "ledger_attempts", case_ledger_attempts },
	{ "ledger_epoch", case_ledger_epoch },
	{ "event_fencing", case_event_fencing },
	{ "decision_nonce", case_decision_nonce },
	{ "abort_one_step", case_abort_one_step },
	{ "unlock_never_forces", case_unlock_never_forces },
	{ "contract", case_contract },
	{ "list_and_clock", case_list_and_clock },
	{ "two_processes", case_two_processes },
	{ "sqlite_open", case_sqlite_open },
	{ "sqlite_readonly", case_sqlite_readonly }
};

static void
remove_dir(const char *dir)
{
	static const char *const names[] = {
		"rayvault.db", "rayvault.db-wal", "rayvault.db-shm",
		"rayvault.db-journal"
	};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
	if (rmdir(dir) == -1)
		fprintf(stderr, "warning: %s left behind: %s\n", dir,
		    strerror(errno));
}

int
main(void)
{
	struct ctx c;
	size_t i, j;

	memset(&c, 0, sizeof(c));
	c.backend = getenv("RV_STORE_BACKEND");
	if (c.backend == NULL || *c.backend == '\0')
		c.backend = "sqlite";
	strlcpy(c.dir, "/tmp/rv-store-conf.XXXXXX", sizeof(c.dir));
	if (mkdtemp(c.dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(c.tag, sizeof(c.tag), "%08x", arc4random());
	if (open_store(&c.st, c.backend, c.dir, c.err, sizeof(c.err)) == -1) {
		printf("FAIL open: %s\n0 passed, 1 failed\n", c.err);
		remove_dir(c.dir);
		return 1;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c.name = cases[i].name;
		c.idx = (int)i;
		c.failed = 0;
		snprintf(c.task, sizeof(c.task), "conf-%s-%zu", c.tag, i);
		for (j = 0; j < 4; j++)
			snprintf(c.w[j], sizeof(c.w[j]), "w%zu-%s-%zu", j,
			    c.tag, i);
		cases[i].fn(&c);
		if (c.failed == 0)
			test_passed++;
		else
			test_failed++;
	}
	store_close(&c.st);
	if (getenv("RV_KEEP_TMP") == NULL)
		remove_dir(c.dir);
	return test_exit();
}
