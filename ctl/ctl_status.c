/* SPDX-License-Identifier: ISC */
/*
 * ctl_status.c: rvctl status, and the client side of the control channel.
 *
 * A running supervisor is asked over state/runtime/control.ipc (a DEALER,
 * one request, a bounded wait).  Its answer shows its run with the run
 * state machine's state and the open gate (first 8 hex digits of the
 * nonce, as rvctl approve --gate takes it); when the supervisor says its
 * store is unusable (supervisor.store or .store_state "unusable", e.g. a
 * handle that broke or opened read-only, or a store it could not reach
 * at start), status prints "store: unusable (<why>)", and when the
 * store's contract is broken (.store_state "contract_broken": a database
 * of another schema, a Supabase project without the migration) "store:
 * contract broken: <why>", each with "retry in N s" while the supervisor
 * retries its contract check; either way it exits 69, as any command
 * whose store cannot be used.
 * Without a supervisor holding the pid file, status says so, shows the
 * runs the store says this worker still holds, and exits 3 (--json:
 * "supervisor": null).  Both end with the preflight (credits needed for
 * the queue against the credits available) and quality summary of
 * ctl_report.c; that part reads the store and the index but never the
 * ledger, and never creates a store.
 *
 * Public: ctl_status, ctl_status_json, ctl_control_request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <zmq.h>

#include "common/core/runtime.h"
#include "ipc/msg.h"
#include "ipc/proto.h"
#include "ipc/sock.h"
#include "ctl/ctl.h"

/*
 * Send one control request and wait up to <timeout_ms> for its REPLY.
 * Takes ownership of <hdr_extra> (may be NULL).  Returns the reply body
 * (caller deletes; an empty object when the reply had none), or NULL with
 * <err> filled.
 */
cJSON *
ctl_control_request(struct ctl_env *env, const char *type, cJSON *hdr_extra,
    int timeout_ms, char *err, size_t errlen)
{
	char ep[256];
	struct ipc_msg m;
	void *ctx, *s = NULL;
	cJSON *h = hdr_extra ? hdr_extra : cJSON_CreateObject(), *body = NULL;
	long long id = (long long)getpid();
	zmq_pollitem_t it;

	if (ipc_endpoint(ep, sizeof(ep), env->cfg.state_dir,
	    IPC_CONTROL_NAME) == -1) {
		snprintf(err, errlen, "state dir too long for an endpoint");
		cJSON_Delete(h);
		return NULL;
	}
	ctx = zmq_ctx_new();
	if ((s = ipc_dealer_connect(ctx, ep, NULL, err, errlen)) == NULL)
		goto out;
	cJSON_AddNumberToObject(h, "id", (double)id);
	if (ipc_send(s, NULL, 0, IPC_TAG_CONTROL, type, h, NULL) == -1) {
		snprintf(err, errlen, "control: %s", zmq_strerror(errno));
		goto out;
	}
	it.socket = s;
	it.fd = 0;
	it.events = ZMQ_POLLIN;
	if (zmq_poll(&it, 1, timeout_ms) <= 0) {
		snprintf(err, errlen, "the supervisor did not answer within "
		    "%d ms", timeout_ms);
		goto out;
	}
	if (ipc_recv(s, false, &m, err, errlen) != IPC_RECV_OK)
		goto out;
	if (!cJSON_IsTrue(cJSON_GetObjectItem(m.hdr, "ok")))
		snprintf(err, errlen, "supervisor: %s", ipc_hdr_str(&m,
		    "error") ? ipc_hdr_str(&m, "error") : "error");
	else {
		body = m.body ? m.body : cJSON_CreateObject();
		m.body = NULL;
	}
	ipc_msg_clear(&m);
out:
	cJSON_Delete(h);
	ipc_close(s);
	zmq_ctx_term(ctx);
	return body;
}

/*
 * Does the supervisor say its store is unusable ("store" or
 * "store_state" is "unusable" or "contract_broken")?  <why> gets why.
 */
static bool
store_unusable(const cJSON *st, const char **why)
{
	const cJSON *s = cJSON_GetObjectItem(st, "supervisor");

	*why = ctl_jstr(s, "store_error")[0] != '\0' ?
	    ctl_jstr(s, "store_error") : "no reason given";
	return strcmp(ctl_jstr(s, "store"), "unusable") == 0 ||
	    strcmp(ctl_jstr(s, "store_state"), "unusable") == 0 ||
	    strcmp(ctl_jstr(s, "store_state"), "contract_broken") == 0;
}

/*
 * The store line: "store: contract broken: <why> (retry in N s)" or
 * "store: unusable (<why>)", with the wait before the supervisor's next
 * contract check when it gave one.
 */
static void
print_store(const cJSON *st, const char *why)
{
	const cJSON *s = cJSON_GetObjectItem(st, "supervisor");
	const cJSON *retry = cJSON_GetObjectItem(s, "store_retry_in_sec");
	char when[48] = "";

	if (cJSON_IsNumber(retry))
		snprintf(when, sizeof(when), "retry in %.0f s",
		    retry->valuedouble);
	if (strcmp(ctl_jstr(s, "store_state"), "contract_broken") == 0)
		printf("store: contract broken: %s%s%s%s\n", why,
		    when[0] ? " (" : "", when, when[0] ? ")" : "");
	else
		printf("store: unusable (%s%s%s)\n", why, when[0] ? "; " : "",
		    when);
}

static void
print_run(const cJSON *r)
{
	const char *ms = ctl_jstr(r, "machine_state"), *gate = ctl_jstr(r,
	    "gate_nonce");

	printf("run         %s (%s)  stage %s  status %s",
	    ctl_jstr(r, "video_id"), ctl_jstr(r, "run_id"),
	    ctl_jstr(r, "stage"), ctl_jstr(r, "status"));
	if (ms[0] != '\0')
		printf("  state %s", ms);
	if (gate[0] != '\0')
		printf("  gate %.8s", gate);
	printf("  epoch %d  heartbeat latency %d ms\n",
	    ctl_jint(r, "lease_epoch"),
	    ctl_jint(r, "last_heartbeat_latency_ms"));
}

static void
print_human(const cJSON *st)
{
	const cJSON *s = cJSON_GetObjectItem(st, "supervisor");
	const cJSON *r = cJSON_GetObjectItem(st, "run"), *c;
	const char *why;

	printf("supervisor  pid %d  worker %s  state %s  since %s\n",
	    ctl_jint(s, "pid"), ctl_jstr(s, "worker_id"), ctl_jstr(s, "state"),
	    ctl_jstr(s, "started_at"));
	if (store_unusable(st, &why))
		print_store(st, why);
	if (!cJSON_IsObject(r))
		printf("run         none\n");
	else
		print_run(r);
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(st, "children")) {
		printf("child       %-9s pid %-7d %-9s restarts %-3d last "
		    "heartbeat %d ms ago", ctl_jstr(c, "kind"),
		    ctl_jint(c, "pid"), ctl_jstr(c, "state"),
		    ctl_jint(c, "restarts"),
		    ctl_jint(c, "last_heartbeat_ms_ago"));
		/* an idle child reports seldom: say how often */
		if (ctl_jint(c, "heartbeat_every_ms") > 0)
			printf(" (every %d ms)", ctl_jint(c,
			    "heartbeat_every_ms"));
		printf("\n");
	}
}

/* Without a supervisor: what the store says this worker holds. */
static void
print_claimed(const struct ctl_env *env, const struct ctl_runs *runs)
{
	const struct store_run *r;
	size_t i;

	for (i = 0; i < runs->n; i++) {
		r = &runs->v[i].r;
		if (strcmp(r->worker_id, env->cfg.worker_id) != 0 ||
		    r->lock_token[0] == '\0' || ctl_run_terminal(&runs->v[i]))
			continue;
		printf("claimed     %s (%s)  status %s  state %s  lease %s "
		    "%.0f s%s\n", r->video_id, r->run_id, r->status,
		    r->worker_state, r->lease_expired ? "expired" :
		    "expires in", r->lease_expired ? -r->lease_seconds_left :
		    r->lease_seconds_left, r->lease_expired ? " ago (the next "
		    "start recovers it)" : "");
	}
}

static cJSON *
claimed_json(const struct ctl_env *env, const struct ctl_runs *runs)
{
	const struct store_run *r;
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;

	for (i = 0; i < runs->n; i++) {
		r = &runs->v[i].r;
		if (strcmp(r->worker_id, env->cfg.worker_id) != 0 ||
		    r->lock_token[0] == '\0' || ctl_run_terminal(&runs->v[i]))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "run_id", r->run_id);
		cJSON_AddStringToObject(o, "video_id", r->video_id);
		cJSON_AddStringToObject(o, "status", r->status);
		cJSON_AddStringToObject(o, "worker_state", r->worker_state);
		cJSON_AddNumberToObject(o, "lease_epoch",
		    (double)r->lease_epoch);
		cJSON_AddNumberToObject(o, "lease_seconds_left",
		    r->lease_seconds_left);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/*
 * The object rvctl status --json prints (and the dashboard's /api/status
 * serves): the supervisor's answer <st> (NULL: none), or what the store
 * says this worker holds, then the preflight and quality summary.
 */
cJSON *
ctl_status_json(const struct ctl_env *env, const cJSON *st,
    const struct ctl_runs *runs, bool have_runs)
{
	cJSON *o, *sum, *it;

	if (st == NULL) {
		o = cJSON_CreateObject();
		cJSON_AddNullToObject(o, "supervisor");
		cJSON_AddNullToObject(o, "run");
		cJSON_AddArrayToObject(o, "children");
		if (have_runs)
			cJSON_AddItemToObject(o, "claimed",
			    claimed_json(env, runs));
	} else
		o = cJSON_Duplicate(st, true);
	if (have_runs && (sum = ctl_report_summary_json(env, runs)) != NULL) {
		while ((it = sum->child) != NULL) {
			cJSON_DetachItemViaPointer(sum, it);
			cJSON_AddItemToObject(o, it->string, it);
		}
		cJSON_Delete(sum);
	}
	return o;
}

/*
 * The supervisor's live state when one runs (else what the pid file and
 * the store say), then the preflight and quality lines.  Never creates a
 * store and reads no ledger, so it answers quickly.  Exit 0 running,
 * 3 no supervisor, 69 the supervisor's store is unusable.
 */
int
ctl_status(struct ctl_env *env, int argc, char **argv)
{
	struct ctl_runs runs;
	char err[512], rerr[512];
	const char *why;
	cJSON *st;
	pid_t pid;
	bool have_runs, unusable;

	(void)argv;
	if (argc > 1)
		return ctl_usage(ctl_lookup("status"));
	if (!env->cfg_ok) {
		fprintf(stderr, "rvctl: invalid settings:\n%s", env->cfg_err);
		return CTL_USAGE;
	}
	pid = rt_held_pid(env->cfg.state_dir);
	st = pid > 0 ? ctl_control_request(env, IPC_CTL_STATUS, NULL, 2000,
	    err, sizeof(err)) : NULL;
	have_runs = ctl_runs_load(env, NULL, CTL_RI_QUICK,
	    &runs, rerr, sizeof(rerr)) == CTL_OK;
	if (env->json) {
		cJSON *o = ctl_status_json(env, st, &runs, have_runs);

		ctl_print_json(o);
		cJSON_Delete(o);
	} else {
		if (st != NULL)
			print_human(st);
		else if (pid > 0)
			printf("rvsup %ld holds %s but did not answer: %s\n",
			    (long)pid, env->cfg.state_dir, err);
		else
			printf("no supervisor is running on %s\n",
			    env->cfg.state_dir);
		if (st == NULL && have_runs)
			print_claimed(env, &runs);
		if (have_runs)
			ctl_report_summary(env, &runs, stdout);
	}
	if (have_runs)
		ctl_runs_clear(&runs);
	if (st == NULL)
		return CTL_NOTRUN;
	unusable = store_unusable(st, &why);
	cJSON_Delete(st);
	return unusable ? CTL_UNAVAIL : CTL_OK;
}

/* rvctl log-level LEVEL: forwarded by rvsup to every child. */
int
ctl_log_level(struct ctl_env *env, int argc, char **argv)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	char err[512];
	cJSON *h, *r;
	int lvl;

	if (argc != 2)
		return ctl_usage(ctl_lookup("log-level"));
	for (lvl = 0; lvl < 4; lvl++)
		if (strcmp(argv[1], names[lvl]) == 0)
			break;
	if (lvl == 4) {
		fprintf(stderr, "rvctl log-level: \"%s\" is not one of error, "
		    "warn, info, debug\n", argv[1]);
		return CTL_USAGE;
	}
	if (!env->cfg_ok) {
		fprintf(stderr, "rvctl: invalid settings:\n%s", env->cfg_err);
		return CTL_USAGE;
	}
	if (rt_held_pid(env->cfg.state_dir) <= 0) {
		printf("no supervisor is running on %s\n", env->cfg.state_dir);
		return CTL_NOTRUN;
	}
	h = cJSON_CreateObject();
	cJSON_AddNumberToObject(h, "level", lvl);
	if ((r = ctl_control_request(env, IPC_CTL_VERBOSE, h, 2000, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "rvctl log-level: %s\n", err);
		return CTL_UNAVAIL;
	}
	cJSON_Delete(r);
	printf("log level set to %s\n", names[lvl]);
	return CTL_OK;
}
