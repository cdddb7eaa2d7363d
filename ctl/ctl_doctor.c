/* SPDX-License-Identifier: ISC */
/*
 * ctl_doctor.c: rvctl doctor, the morning (and 3 a.m.) check.
 *
 * In order: the settings; the spool (replayed into the store unless
 * --no-replay; unreadable and quarantined events are counted); the store
 * and the health of every unfinished run (done, failed and aborted runs
 * are finished: whatever lock or worker state an aborted run kept is
 * nobody's problem, so nothing is said about it): a stale worker
 * (marked active while its lease expired, or its last heartbeat is older
 * than three heartbeat intervals), a run waiting for approval longer
 * than 48 h (warning) or 72 h (critical), a panic, a slow heartbeat
 * (warning from 3000 ms, critical from 8000 ms); the store contract
 * (read-only); this machine: the supervisor holding the pid file and
 * answering, its children alive, children a dead supervisor left
 * running, and a .env readable by other users.  Every age is the
 * store's own (struct store_run), never this machine's clock.
 *
 * It ends with numbered next actions and exits 0 (ok), 1 (warning) or 2
 * (critical); an unreachable store is critical, and so is a store this
 * build cannot use (a newer schema refused at open, or, when the runs
 * cannot be listed, a contract report naming failing checks: a Supabase
 * project without the migration).  --json prints the same as data.
 * Doctor changes nothing but the spool replay.  With --alert it also
 * collects its STALE WORKER and CONTRACT FAIL findings and hands them to
 * ctl_alert.c, which sends them and writes its table of sent alerts.
 *
 * Public: ctl_doctor.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "common/core/platform.h"
#include "common/core/runtime.h"
#include "common/core/spool.h"
#include "common/store/spool_apply.h"
#include "common/store/store.h"
#include "ipc/proto.h"
#include "ctl/ctl.h"

#define GATE_WARN_SEC	(48 * 3600.0)
#define GATE_CRIT_SEC	(72 * 3600.0)
#define LATENCY_WARN_MS	3000
#define LATENCY_CRIT_MS	8000
#define STALE_INTERVALS	3
#define LEFTOVERS_MAX	32

/* "3 d 2 h", "5 h 12 min", "12 min", "40 s". */
static const char *
age_text(double sec, char *buf, size_t size)
{
	long s = sec < 0 ? 0 : (long)sec;

	if (s >= 86400)
		snprintf(buf, size, "%ld d %ld h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%ld h %ld min", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, size, "%ld min", s / 60);
	else
		snprintf(buf, size, "%ld s", s);
	return buf;
}

/* Replay the spool unless <why_not> says why not; count what is left. */
static void
check_spool(struct ctl_env *env, struct ctl_diag *d, const char *why_not)
{
	struct spool_report rep;
	const char *sp = env->cfg.spool_dir;
	char err[256] = "";
	size_t n = spool_count(sp), bad, quar;

	memset(&rep, 0, sizeof(rep));
	if (why_not == NULL && n > 0 && env->st_open &&
	    spool_apply_replay(sp, &env->st, &rep, err, sizeof(err)) == 0)
		n = spool_count(sp);
	bad = ctl_spool_files(sp, "bad");
	quar = ctl_spool_files(sp, "quarantine");
	if (n == 0)
		ctl_diag_add(d, CTL_LVL_OK, "spool", NULL, "no event waits in "
		    "%s%s", sp, rep.sent + rep.duplicate > 0 ? "; the waiting "
		    "events were replayed into the store" : "");
	else
		ctl_diag_add(d, CTL_LVL_WARN, "spool", "Replay the spool once "
		    "the store answers: rvctl replay-spool (make replay).",
		    "%zu events still wait in %s%s%s%s%s", n, sp,
		    why_not ? " (not replayed: " : "", why_not ? why_not : "",
		    why_not ? ")" : "", err[0] ? "; the replay failed" : "");
	if (bad + quar > 0)
		ctl_diag_add(d, CTL_LVL_WARN, "spool_quarantine", "Look at the "
		    "set-aside events with rvctl quarantine; once understood, "
		    "remove them with make purge-spool CONFIRM=YES.",
		    "%zu unreadable events in spool/bad and %zu in "
		    "spool/quarantine (failed 3 replays)", bad, quar);
}

/* Is <r> held by a live supervisor on this state dir with its worker id? */
static bool
local_holder(struct ctl_env *env, const struct store_run *r)
{
	pid_t pid = rt_held_pid(env->cfg.state_dir);
	char err[256];
	cJSON *st;
	bool mine;

	if (pid <= 0 || !rt_is_rvsup(pid) || (st = ctl_control_request(env,
	    IPC_CTL_STATUS, NULL, 1000, err, sizeof(err))) == NULL)
		return false;
	mine = strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(st, "supervisor"), "worker_id")) ?: "",
	    r->worker_id) == 0;
	cJSON_Delete(st);
	return mine;
}

static void
check_stale(struct ctl_env *env, struct ctl_diag *d,
    const struct store_run *r)
{
	double limit = STALE_INTERVALS *
	    (double)env->cfg.heartbeat_interval_sec;
	char a[32], act[512], what[320];

	if (strcmp(r->worker_state, WS_ACTIVE) != 0 || r->lock_token[0] == '\0'
	    || (!r->lease_expired && r->heartbeat_age_sec <= limit))
		return;
	if (local_holder(env, r))
		snprintf(act, sizeof(act), "The supervisor running here "
		    "(worker %s) holds %s but its renewals do not reach the "
		    "store: see rvctl status (store unusable?) and "
		    "state/logs/rvsup.log.  Do not unlock a live worker.",
		    r->worker_id, r->video_id);
	else
		snprintf(act, sizeof(act), "Stale worker %s on %s: if it died, "
		    "start it again on its machine (make worker WID=%s); if it "
		    "is gone for good, release the run: rvctl unlock --run %s "
		    "--operator NAME --reason \"worker gone\" --force.",
		    r->worker_id, r->video_id, r->worker_id, r->video_id);
	if (r->lease_expired)
		snprintf(what, sizeof(what), "run %s: worker %s is marked "
		    "active but its lease expired %s ago", r->video_id,
		    r->worker_id, age_text(-r->lease_seconds_left, a,
		    sizeof(a)));
	else
		snprintf(what, sizeof(what), "run %s: worker %s is marked "
		    "active but its last heartbeat was %s ago (more than %d x "
		    "%d s)", r->video_id, r->worker_id, age_text(
		    r->heartbeat_age_sec, a, sizeof(a)), STALE_INTERVALS,
		    env->cfg.heartbeat_interval_sec);
	ctl_diag_add(d, CTL_LVL_CRIT, "stale_worker", act, "%s", what);
	if (env->alerts != NULL)
		ctl_alert_add(env->alerts, CTL_ALERT_STALE, r->run_id,
		    r->video_id, r->worker_id, "%s", what);
}

static bool
run_finished(const struct store_run *r)
{
	return strcmp(r->status, RUN_DONE) == 0 ||
	    strcmp(r->status, RUN_FAILED) == 0 ||
	    strcmp(r->status, RUN_ABORTED) == 0;
}

static void
check_run(struct ctl_env *env, struct ctl_diag *d, const struct store_run *r)
{
	char a[32], act[512];
	enum ctl_level lvl;

	if (run_finished(r))
		return;
	check_stale(env, d, r);
	if (strcmp(r->status, RUN_WAITING_APPROVAL) == 0 &&
	    r->gate_age_sec <= GATE_WARN_SEC) {
		/* Young gates are normal work: OK, but say what to do. */
		snprintf(act, sizeof(act), "Read the evidence diff (rvctl "
		    "events --run %s), then decide gate %.8s of %s: rvctl "
		    "approve (or refetch, or abort) --run %s --operator NAME.",
		    r->video_id, r->gate_nonce, r->video_id, r->video_id);
		ctl_diag_add(d, CTL_LVL_OK, "gate_open", act, "run %s waits "
		    "for the operator at gate %.8s (%s) since %s", r->video_id,
		    r->gate_nonce, r->gate_reason[0] ? r->gate_reason :
		    "no reason recorded", age_text(r->gate_age_sec, a,
		    sizeof(a)));
	}
	if (strcmp(r->status, RUN_WAITING_APPROVAL) == 0 &&
	    r->gate_age_sec > GATE_WARN_SEC) {
		snprintf(act, sizeof(act), "Decide on %s: rvctl approve (or "
		    "refetch, or abort) --run %s --operator NAME.", r->video_id,
		    r->video_id);
		ctl_diag_add(d, r->gate_age_sec > GATE_CRIT_SEC ? CTL_LVL_CRIT :
		    CTL_LVL_WARN, "gate_age", act, "run %s has waited for "
		    "approval for %s (%s): %s", r->video_id, age_text(
		    r->gate_age_sec, a, sizeof(a)), r->gate_age_sec >
		    GATE_CRIT_SEC ? "over 72 h" : "over 48 h",
		    r->gate_reason[0] ? r->gate_reason : "no reason recorded");
	}
	if (strcmp(r->worker_state, WS_PANIC) == 0) {
		snprintf(act, sizeof(act), "Read what stopped %s (rvctl events "
		    "--run %s), then approve, refetch or abort it.",
		    r->video_id, r->video_id);
		ctl_diag_add(d, CTL_LVL_WARN, "panic", act, "run %s stopped "
		    "in panic: %s", r->video_id, r->error[0] ? r->error :
		    r->gate_reason[0] ? r->gate_reason : "see its events");
	}
	if (r->lock_token[0] == '\0' || r->heartbeat_latency_ms <
	    LATENCY_WARN_MS)
		return;
	lvl = r->heartbeat_latency_ms >= LATENCY_CRIT_MS ? CTL_LVL_CRIT :
	    CTL_LVL_WARN;
	ctl_diag_add(d, lvl, "latency", "The store answers heartbeats "
	    "slowly: check this machine's network and the store host; three "
	    "failed heartbeats pause the run.", "run %s: the last heartbeat "
	    "took %lld ms (warning from %d ms, critical from %d ms)",
	    r->video_id, r->heartbeat_latency_ms, LATENCY_WARN_MS,
	    LATENCY_CRIT_MS);
}

#define STORE_ACTION	"Make the store reachable (state directory " \
			"permissions, SUPABASE_URL and the network), then " \
			"run rvctl doctor again."

#define CONTRACT_OPEN_ACTION "Do not start a worker on this store: " \
			"restore the database from a backup or point " \
			"RAYVAULT_STATE_DIR at this build's store, then run " \
			"rvctl check-contract."

/*
 * Returns whether the store answered with its runs.  A store that
 * refused to open because it does not match this build (errno EPROTO
 * from ctl_store_try) is a contract failure, not an outage.
 */
static bool
check_store(struct ctl_env *env, struct ctl_diag *d)
{
	struct store_run *runs = NULL;
	char err[512], now[STORE_TIME_MAX] = "?";
	size_t n, i, open = 0, waiting = 0, done = 0, before;

	errno = 0;
	if (ctl_store_try(env, true, err, sizeof(err)) == -1 &&
	    errno == EPROTO) {
		/* It answered, and it is not a store this build can use. */
		ctl_diag_add(d, CTL_LVL_CRIT, "contract", CONTRACT_OPEN_ACTION,
		    "the store does not match this build: %s", err);
		if (env->alerts != NULL)
			ctl_alert_add(env->alerts, CTL_ALERT_CONTRACT, "", "",
			    env->cfg.worker_id, "the store does not match "
			    "this build: %s", err);
		return false;
	}
	if (!env->st_open || store_list_runs(&env->st, &runs, &n, err,
	    sizeof(err)) == -1) {
		ctl_diag_add(d, CTL_LVL_CRIT, "store", STORE_ACTION,
		    "unreachable: %s", err);
		return false;
	}
	(void)store_now(&env->st, now, sizeof(now), err,
	    sizeof(err));
	for (i = 0; i < n; i++) {
		done += strcmp(runs[i].status, RUN_DONE) == 0;
		waiting += strcmp(runs[i].status, RUN_WAITING_APPROVAL) == 0;
		open += strcmp(runs[i].status, RUN_RUNNING) == 0 ||
		    strcmp(runs[i].status, RUN_APPROVED) == 0;
	}
	ctl_diag_add(d, CTL_LVL_OK, "store", NULL, "%s store answers (clock "
	    "%s): %zu run%s, %zu queued or in progress, %zu waiting for "
	    "approval, %zu done", env->st.backend, now, n, n == 1 ? "" : "s",
	    open, waiting, done);
	before = d->n;
	for (i = 0; i < n; i++)
		check_run(env, d, &runs[i]);
	free(runs);
	if (d->n == before && before > 0)
		(void)strlcat(d->v[before - 1].detail, "; no stale worker, no "
		    "old gate, heartbeats fast", sizeof(d->v[0].detail));
	return true;
}

static void
check_children(struct ctl_diag *d, const cJSON *st, pid_t pid)
{
	const cJSON *c;
	char down[256] = "";
	int alive = 0, total = 0;
	pid_t cp;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(st, "children")) {
		total++;
		cp = (pid_t)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "pid"));
		if (cp > 0 && plat_proc_alive(cp)) {
			alive++;
			continue;
		}
		if (down[0] != '\0')
			(void)strlcat(down, ", ", sizeof(down));
		(void)strlcat(down, cJSON_GetStringValue(cJSON_GetObjectItem(c,
		    "kind")) ? cJSON_GetStringValue(cJSON_GetObjectItem(c,
		    "kind")) : "?", sizeof(down));
	}
	if (alive == total)
		ctl_diag_add(d, CTL_LVL_OK, "children", NULL, "all %d children "
		    "of rvsup %ld are alive", total, (long)pid);
	else
		ctl_diag_add(d, CTL_LVL_WARN, "children", "A child that stays "
		    "down is restarted with backoff; read its log (make logs) "
		    "if it keeps dying.", "%d of %d children are down: %s",
		    total - alive, total, down);
}

static void
check_supervisor(struct ctl_env *env, struct ctl_diag *d, pid_t pid,
    bool stale)
{
	char err[256];
	cJSON *st;

	if (pid <= 0) {
		ctl_diag_add(d, CTL_LVL_OK, "supervisor", NULL, "no rvsup is "
		    "running on %s%s", env->cfg.state_dir, stale ? " (a pid "
		    "file left by a crash is there; the next start takes it "
		    "over)" : "");
		return;
	}
	if (!rt_is_rvsup(pid)) {
		ctl_diag_add(d, CTL_LVL_WARN, "supervisor", "Find out what "
		    "process holds state/runtime/rvsup.pid before starting a "
		    "worker.", "the pid file is held by pid %ld, which is not "
		    "an rvsup", (long)pid);
		return;
	}
	st = ctl_control_request(env, IPC_CTL_STATUS, NULL, 1000, err,
	    sizeof(err));
	if (st == NULL) {
		ctl_diag_add(d, CTL_LVL_CRIT, "supervisor", "Restart the "
		    "worker: rvsup stop (or make stop-force), then make "
		    "worker.", "rvsup %ld holds the state directory but does "
		    "not answer: %s", (long)pid, err);
		return;
	}
	ctl_diag_add(d, CTL_LVL_OK, "supervisor", NULL, "rvsup %ld (worker "
	    "%s) is running and answers", (long)pid, cJSON_GetStringValue(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(st, "supervisor"),
	    "worker_id")) ? cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(st, "supervisor"), "worker_id")) : "?");
	check_children(d, st, pid);
	cJSON_Delete(st);
}

static void
check_local(struct ctl_env *env, struct ctl_diag *d)
{
	struct ctl_leftover lo[LEFTOVERS_MAX];
	char act[256];
	size_t n, i;
	bool stale;
	pid_t pid = ctl_local_supervisor(env, &stale);

	check_supervisor(env, d, pid, stale);
	n = ctl_local_leftovers(env, pid, lo, LEFTOVERS_MAX);
	for (i = 0; i < n && i < LEFTOVERS_MAX; i++) {
		snprintf(act, sizeof(act), "Kill the leftover child: kill -9 "
		    "-%ld (its process group); starting the worker also kills "
		    "leftovers first.", (long)lo[i].pid);
		ctl_diag_add(d, CTL_LVL_CRIT, "leftover_child", act, "rvw-%s "
		    "(pid %ld) of supervisor %ld, which is gone, is still "
		    "running", lo[i].kind, (long)lo[i].pid,
		    lo[i].supervisor_pid);
	}
}

/* .env readable or writable by other users: warn. */
void
ctl_check_env_file(struct ctl_diag *d)
{
	char cwd[PATH_MAX] = ".";
	mode_t mode;

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		(void)strlcpy(cwd, ".", sizeof(cwd));
	if (ctl_local_env_mode(".env", &mode) == -1)
		ctl_diag_add(d, CTL_LVL_OK, "env_file", NULL, "no .env in %s: "
		    "the settings come from the environment", cwd);
	else if ((mode & 077) != 0)
		ctl_diag_add(d, CTL_LVL_WARN, "env_file", "Protect the secrets "
		    "in .env: chmod 600 .env", "%s/.env is readable by other "
		    "users (mode %04o)", cwd, (unsigned)mode);
	else
		ctl_diag_add(d, CTL_LVL_OK, "env_file", NULL, "%s/.env is "
		    "private (mode %04o)", cwd, (unsigned)mode);
}

static void
doctor_print(const struct ctl_env *env, const struct ctl_diag *d)
{
	size_t i, w = 0, c = 0;

	for (i = 0; i < d->n; i++) {
		w += d->v[i].level == CTL_LVL_WARN;
		c += d->v[i].level == CTL_LVL_CRIT;
	}
	printf("rvctl doctor: state %s, spool %s\n\n", env->cfg_ok ?
	    env->cfg.state_dir : "?", env->cfg_ok ? env->cfg.spool_dir : "?");
	ctl_diag_print(d, stdout, false);
	printf("\nverdict: %s%s%s (%zu warning%s, %zu critical)\n",
	    ctl_paint(stdout, d->worst), ctl_level_name(d->worst, false),
	    ctl_unpaint(stdout), w, w == 1 ? "" : "s", c);
	ctl_diag_print_actions(d, stdout);
}

/*
 * The worker id the supervisor of this state directory runs with, and
 * where it comes from when that is not the settings.
 */
static void
worker_text(const struct ctl_env *env, char *buf, size_t size)
{
	char wid[STORE_WID_MAX];
	const char *from = ctl_local_worker_id(env, wid, sizeof(wid));

	if (strcmp(from, "settings") == 0)
		(void)snprintf(buf, size, "%s", wid);
	else if (strcmp(wid, env->cfg.worker_id) == 0)
		(void)snprintf(buf, size, "%s, of the %s", wid, from);
	else
		(void)snprintf(buf, size, "%s, of the %s; the settings alone "
		    "would say %s", wid, from, env->cfg.worker_id);
}

/*
 * The store opened but did not list its runs: an outage, or a store
 * without this build's schema (a Supabase project without the
 * migration).  Only a contract report that names failing checks tells
 * them apart; a check that could not run adds nothing (a fault says
 * nothing about the contract).
 */
static void
contract_after_failure(struct ctl_env *env, struct ctl_diag *d)
{
	struct ctl_diag tmp;
	size_t i;

	ctl_diag_init(&tmp, &env->cfg);
	ctl_contract_checks(env, &tmp, false);
	for (i = 0; i < tmp.n; i++)
		if (tmp.v[i].level == CTL_LVL_CRIT &&
		    strncmp(tmp.v[i].name, "contract_", 9) == 0)
			ctl_diag_add(d, CTL_LVL_CRIT, tmp.v[i].name,
			    tmp.v[i].action[0] ? tmp.v[i].action : NULL, "%s",
			    tmp.v[i].detail);
	ctl_diag_clear(&tmp);
}

/* The contract checks doctor just added that failed: CONTRACT FAIL. */
static void
contract_finding(struct ctl_env *env, const struct ctl_diag *d,
    size_t from)
{
	char detail[TG_ALERT_DETAIL_MAX] = "";
	size_t i;

	for (i = from; i < d->n; i++) {
		/*
		 * Only the checks the store's report failed: "contract"
		 * alone is a check that could not run, a fault.
		 */
		if (d->v[i].level != CTL_LVL_CRIT ||
		    strncmp(d->v[i].name, "contract_", 9) != 0)
			continue;
		if (detail[0] != '\0')
			(void)strlcat(detail, "; ", sizeof(detail));
		(void)strlcat(detail, d->v[i].name, sizeof(detail));
		(void)strlcat(detail, ": ", sizeof(detail));
		(void)strlcat(detail, d->v[i].detail, sizeof(detail));
	}
	if (detail[0] != '\0' && env->alerts != NULL)
		ctl_alert_add(env->alerts, CTL_ALERT_CONTRACT, "", "",
		    env->cfg.worker_id, "%s", detail);
}

int
ctl_doctor(struct ctl_env *env, int argc, char **argv)
{
	bool no_replay = false, alert = false;
	const struct ctl_opt opts[] = {
		{ "--no-replay", CTL_OPT_FLAG, &no_replay, 0, 0 },
		{ "--alert", CTL_OPT_FLAG, &alert, 0, 0 },
		{ NULL, 0, NULL, 0, 0 }
	};
	struct ctl_diag d;
	char wtext[3 * STORE_WID_MAX + 64];
	bool answers;
	size_t before;
	cJSON *j;
	int rc, arc = 0;

	if (ctl_opts_parse("doctor", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("doctor"));
	if (alert && (env->alerts = calloc(1, sizeof(*env->alerts))) ==
	    NULL) {
		fprintf(stderr, "rvctl doctor: out of memory\n");
		return CTL_SOFTWARE;
	}
	ctl_diag_init(&d, env->cfg_ok ? &env->cfg : NULL);
	if (!env->cfg_ok)
		ctl_diag_add(&d, CTL_LVL_CRIT, "settings", "Fix the settings "
		    "named above in .env or the environment.", "invalid: %s",
		    env->cfg_err);
	else {
		worker_text(env, wtext, sizeof(wtext));
		ctl_diag_add(&d, CTL_LVL_OK, "settings", NULL, "valid (worker "
		    "%s, renderer %s, lease %d min, heartbeat every %d s)",
		    wtext, env->cfg.renderer, env->cfg.lease_minutes,
		    env->cfg.heartbeat_interval_sec);
		answers = check_store(env, &d);
		check_spool(env, &d, no_replay ? "--no-replay" : !answers ?
		    "the store is unreachable" : NULL);
		before = d.n;
		if (answers)
			ctl_contract_checks(env, &d, false);
		else if (env->st_open)
			contract_after_failure(env, &d);
		contract_finding(env, &d, before);
		check_local(env, &d);
		if (alert)
			arc = ctl_alert_send(env, &d, answers);
	}
	ctl_check_env_file(&d);
	if (env->json) {
		j = ctl_diag_json(&d, false);
		if (arc != 0)	/* the exit the alert job really has */
			cJSON_ReplaceItemInObject(j, "exit",
			    cJSON_CreateNumber(arc));
		ctl_print_json(j);
		cJSON_Delete(j);
	} else
		doctor_print(env, &d);
	rc = ctl_diag_exit(&d);
	ctl_diag_clear(&d);
	free(env->alerts);
	env->alerts = NULL;
	if (arc != 0) {
		fprintf(stderr, "rvctl doctor --alert: Telegram is not "
		    "configured (TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID): "
		    "nothing was sent\n");
		return arc;
	}
	return rc;
}
