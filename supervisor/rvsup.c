/* SPDX-License-Identifier: ISC */
/*
 * rvsup.c: the RayVault supervisor, the lease holder of one worker.
 *
 *	rvsup start [--worker-id ID] [--once] [--state-dir DIR]
 *	rvsup stop [--force] [--timeout SEC] [--state-dir DIR]
 *	rvsup check-config [--state-dir DIR]
 *	rvsup print-machine | --version | --help
 *
 * main() is a list of setup phases: settings, state directories, the pid
 * file lock (taken BEFORE any endpoint is bound: a second bind on an ipc
 * path silently steals it), subreaper, signals through a self-pipe,
 * leftovers of a crashed predecessor, endpoints, store threads, children.
 * Then one single-threaded loop around zmq_poll serves child messages,
 * rvctl requests and store-thread answers, and runs the timers of a
 * small table (supervisor/timer.c): child liveness and restarts, the run
 * machine's claims, dispatch, quarantine and retries, the alert outbox,
 * supervisor heartbeats to children (at the rhythm each one announced)
 * and the stop grace.  zmq_poll sleeps
 * until the earliest deadline; there is no fixed tick.  The loop never
 * exits because of anything a child or a client sent.
 *
 * Under a service manager (NOTIFY_SOCKET, supervisor/sdnotify.c) the loop
 * tells it READY=1 once the pid file is locked, the endpoints are bound,
 * every child said READY and the store's contract check passed; STATUS=
 * with the run, its stage and its lease whenever that line changes;
 * WATCHDOG=1 from a timer of the loop itself; STOPPING=1 when it stops.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#ifndef RV_PORTABLE
#include <libutil.h>		/* libbsd; compat.h has its own (PORTABLE=1) */
#endif
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <cJSON.h>
#include <zmq.h>

#include "common/core/checkpoint.h"
#include "common/core/clock.h"
#include "common/core/config.h"
#include "common/core/fsutil.h"
#include "common/core/log.h"
#include "common/core/platform.h"
#include "common/core/runtime.h"
#include "common/core/spool.h"
#include "common/core/subproc.h"
#include "common/core/version.h"
#include "ipc/msg.h"
#include "ipc/proto.h"
#include "ipc/sock.h"
#include "common/core/ids.h"
#include "supervisor/sdnotify.h"
#include "supervisor/smsg.h"
#include "supervisor/sup.h"
#include "supervisor/timer.h"

extern char **environ;

volatile sig_atomic_t sup_sig_term, sup_sig_chld, sup_sig_hup;
static int sig_wfd = -1;

#define STOP_GRACE_MS	20000
#define RECHECK_MS	100	/* a guard whose action could not proceed */
#define PIDFILE_WAIT_MS	1000	/* a pid file lock held by no rvsup */

static void
on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		sup_sig_term = 1;
	else if (sig == SIGCHLD)
		sup_sig_chld = 1;
	else if (sig == SIGHUP)
		sup_sig_hup = 1;
	if (sig_wfd != -1)
		(void)!write(sig_wfd, &c, 1);
	errno = saved;
}

static void
print_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: rvsup start [--worker-id ID] [--once] [--state-dir DIR]\n"
	    "       rvsup stop [--force] [--timeout SEC] [--state-dir DIR]\n"
	    "       rvsup check-config [--state-dir DIR]\n"
	    "       rvsup print-machine\n"
	    "       rvsup --version | --help\n");
}

static void
usage(void)
{
	print_usage(stderr);
	exit(EX_USAGE);
}

/* --help and --version: on stdout, exit 0. */
static void
help(void)
{
	print_usage(stdout);
	exit(0);
}

/* A directory rvsup will not use: say why and how to fix it, exit 78. */
static void __attribute__((noreturn))
refuse_dir(const char *err)
{
	fprintf(stderr, "rvsup: %s\n", err);
	exit(EX_CONFIG);
}

/* Create <p> if missing, then accept it only as fs_secure_dir() does. */
static void
secure_dir(const char *p)
{
	char err[PATH_MAX + 256];

	if (fs_mkdirs(p, 0700) == -1 && errno != EEXIST && errno != ENOTDIR)
		fatal("cannot create %s", p);
	if (fs_secure_dir(p, err, sizeof(err)) == -1)
		refuse_dir(err);
}

/* Every directory found directly under <root> passes fs_secure_dir(). */
static void
secure_children(const char *root)
{
	char p[PATH_MAX], err[PATH_MAX + 256];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if ((d = opendir(root)) == NULL)
		fatal("%s", root);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    fs_path(p, sizeof(p), "%s/%s", root, de->d_name) == -1 ||
		    lstat(p, &sb) == -1)
			continue;
		if (S_ISDIR(sb.st_mode) || (S_ISLNK(sb.st_mode) &&
		    stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))) {
			if (fs_secure_dir(p, err, sizeof(err)) == -1) {
				closedir(d);
				refuse_dir(err);
			}
		}
	}
	closedir(d);
}

/*
 * The state and spool trees, checked before anything is written there:
 * each root and subfolder is created if missing, a symlink or one owned
 * by another user is refused (exit 78, the path and the fix on stderr),
 * group and other permissions are removed.  A symlink where rvsup's log
 * goes is refused too.
 */
static void
make_dirs(struct sup_env *env)
{
	static const char *sub[] = { "runtime", "checkpoints", "jobs",
	    "evidence", "audio", "video", "video/staging", "video/final",
	    "video/quarantine", "timeline", "baptism", "logs", "tmp", NULL };
	static const char *spool_sub[] = { "bad", "quarantine", NULL };
	char p[PATH_MAX], err[2 * PATH_MAX + 256];
	struct stat sb;
	int i;

	/* the roots as named: "dir/" would follow a symlink */
	secure_dir(env->cfg.state_dir);
	for (i = 0; sub[i] != NULL; i++) {
		if (fs_path(p, sizeof(p), "%s/%s", env->cfg.state_dir,
		    sub[i]) == -1)
			fatalx("state dir path too long");
		secure_dir(p);
	}
	secure_children(env->cfg.state_dir);
	secure_dir(env->cfg.spool_dir);
	for (i = 0; spool_sub[i] != NULL; i++) {
		if (fs_path(p, sizeof(p), "%s/%s", env->cfg.spool_dir,
		    spool_sub[i]) == -1)
			fatalx("spool dir path too long");
		secure_dir(p);
	}
	secure_children(env->cfg.spool_dir);
	if (spool_init(env->cfg.spool_dir) == -1)
		fatal("cannot create spool %s", env->cfg.spool_dir);
	if (fs_path(p, sizeof(p), "%s/logs/rvsup.log", env->cfg.state_dir) ==
	    0 && lstat(p, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		snprintf(err, sizeof(err), "%s is %s; refusing to write the "
		    "log through it (fix: rm %s)", p, S_ISLNK(sb.st_mode) ?
		    "a symbolic link" : "not a regular file", p);
		refuse_dir(err);
	}
}

/*
 * The pid file's lock, or exit.  A lock held by a live rvsup refuses at
 * once.  Held by anyone else it is looked at again for up to
 * PIDFILE_WAIT_MS: rvctl, the dashboard and the doctor's 5-minute job
 * take a shared lock for an instant to learn whether a supervisor runs
 * (rt_held_pid), and a supervisor starting in that instant must not
 * take it for a rival; nor must one that meets a rival between its lock
 * and its pid (the next look reads the pid).
 */
static struct pidfh *
lock_pidfile(struct sup_env *env)
{
	char p[PATH_MAX];
	struct pidfh *pfh;
	pid_t other;
	int waited = 0;

	if (fs_path(p, sizeof(p), "%s/runtime/rvsup.pid",
	    env->cfg.state_dir) == -1)
		fatalx("state dir path too long");
	for (;;) {
		other = -1;
		if ((pfh = pidfile_open(p, 0600, &other)) != NULL)
			break;
		if (errno != EEXIST)
			fatal("pid file %s", p);
		if ((other > 1 && rt_is_rvsup(other)) ||
		    waited >= PIDFILE_WAIT_MS) {
			fprintf(stderr, "rvsup: another rvsup (pid %ld) is "
			    "already running on %s; refusing to start\n",
			    (long)other, env->cfg.state_dir);
			exit(EX_TEMPFAIL);
		}
		clock_sleep_ms(20);
		waited += 20;
	}
	if (pidfile_write(pfh) == -1)
		fatal("pid file %s", p);
	return pfh;
}

static void
setup_signals(struct sup_env *env)
{
	struct sigaction sa;
	int fl;

	if (pipe(env->sigpipe) == -1)
		fatal("pipe");
	for (fl = 0; fl < 2; fl++) {
		(void)fcntl(env->sigpipe[fl], F_SETFL, O_NONBLOCK);
		(void)fcntl(env->sigpipe[fl], F_SETFD, FD_CLOEXEC);
	}
	sig_wfd = env->sigpipe[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * Tuning read from the environment only (rayvault.env(5), ENVIRONMENT).
 * Unset or empty takes the default; anything but a whole number in range
 * stops rvsup before it starts, naming the variable, like a bad setting.
 */
static const struct tunable {
	const char	*name;
	int		 def, min, max;
	size_t		 off;		/* int in struct sup_env */
} tunables[] = {
	{ "RAYVAULT_STOP_GRACE_MS", STOP_GRACE_MS, 0, 3600000,
	    offsetof(struct sup_env, stop_grace_ms) },
	{ "RAYVAULT_QUARANTINE_SEC", 45, 1, 86400,
	    offsetof(struct sup_env, quarantine_sec) },
	{ "RAYVAULT_LOST_LOCK_WAIT_SEC", 45, 1, 86400,
	    offsetof(struct sup_env, lost_lock_wait_sec) },
	{ "RAYVAULT_STAGE_STALL_SEC", 120, 1, 86400,
	    offsetof(struct sup_env, stage_stall_sec) },
};

static int
load_tunables(struct sup_env *env, char *err, size_t errlen)
{
	const struct tunable *t;
	size_t i;

	for (i = 0; i < sizeof(tunables) / sizeof(tunables[0]); i++) {
		t = &tunables[i];
		if (config_env_int(t->name, t->def, t->min, t->max,
		    (int *)(void *)((char *)env + t->off), err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* The lock token of our own unfinished checkpoint, for recovery. */
void
sup_prev_token(struct sup_env *env, char *tok, size_t size)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], err[512];
	struct dirent *de;
	time_t best = 0;
	struct stat sb;
	cJSON *c;
	DIR *d;

	tok[0] = '\0';
	if (fs_path(dir, sizeof(dir), "%s/checkpoints", env->cfg.state_dir) ==
	    -1 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &sb) == -1 || sb.st_mtime < best ||
		    ckpt_load(path, &c, err, sizeof(err)) == -1)
			continue;
		if (!cJSON_IsTrue(cJSON_GetObjectItem(c, "finished")) &&
		    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c,
		    "worker_id")) ?: "", env->worker_id) == 0) {
			strlcpy(tok, cJSON_GetStringValue(cJSON_GetObjectItem(
			    c, "lock_token")) ?: "", size);
			best = sb.st_mtime;
		}
		cJSON_Delete(c);
	}
	closedir(d);
}

/* An inproc PAIR between the main loop and a store thread. */
int
sup_pair(struct sup_env *env, const char *name, void **mine, void **theirs,
    char *err, size_t errlen)
{
	char ep[64];
	int zero = 0;

	snprintf(ep, sizeof(ep), "inproc://%s", name);
	*mine = zmq_socket(env->zctx, ZMQ_PAIR);
	*theirs = zmq_socket(env->zctx, ZMQ_PAIR);
	if (*mine == NULL || *theirs == NULL ||
	    zmq_setsockopt(*mine, ZMQ_LINGER, &zero, sizeof(zero)) == -1 ||
	    zmq_setsockopt(*theirs, ZMQ_LINGER, &zero, sizeof(zero)) == -1 ||
	    zmq_bind(*mine, ep) == -1 || zmq_connect(*theirs, ep) == -1) {
		snprintf(err, errlen, "%s: %s", ep, zmq_strerror(errno));
		return -1;
	}
	return 0;
}

static void
on_worker_event(struct sup_env *env, const struct ipc_msg *m)
{
	const cJSON *b = m->body;
	const char *type, *sev, *reason;
	cJSON *p;

	if (!run_holding(&env->run) || ipc_hdr_int(m, "epoch", -1) !=
	    env->run.lease.epoch) {
		log_debug("dropping an event of another epoch");
		return;
	}
	type = cJSON_GetStringValue(cJSON_GetObjectItem(b, "event_type"));
	sev = cJSON_GetStringValue(cJSON_GetObjectItem(b, "severity"));
	reason = cJSON_GetStringValue(cJSON_GetObjectItem(b, "reason_key"));
	p = cJSON_GetObjectItem(b, "payload");
	if (type == NULL || sev == NULL || strlen(type) > 60 ||
	    strlen(sev) > 10 || (p != NULL && !cJSON_IsObject(p))) {
		log_warnx("child %s sent a malformed event; dropped", m->ident);
		return;
	}
	sup_event_id(env, cJSON_GetStringValue(cJSON_GetObjectItem(b,
	    "event_id")), type, sev, reason, p ? cJSON_Duplicate(p, true) :
	    NULL);
}

static void
ledger_ack(struct sup_env *env, const char *ident, long long req_id, bool ok,
    bool fresh, const char *prev)
{
	cJSON *h = cJSON_CreateObject();

	cJSON_AddNumberToObject(h, "req_id", (double)req_id);
	cJSON_AddBoolToObject(h, "ok", ok);
	cJSON_AddBoolToObject(h, "fresh", fresh);
	if (prev != NULL)
		cJSON_AddStringToObject(h, "prev_state", prev);
	(void)ipc_send(env->workers, ident, strlen(ident), IPC_TAG_WORKER,
	    IPC_LEDGER_ACK, h, NULL);
	cJSON_Delete(h);
}

/*
 * A ledger result travels like an event: spooled first (durable), then
 * written by the event thread, replayed until the store took it.  The
 * child is answered once it is durable.
 */
static bool
ledger_result(struct sup_env *env, const struct ipc_msg *m)
{
	const cJSON *b = m->body;
	char id[ID_UUID_LEN + 1], at[CLOCK_ISO_LEN];
	cJSON *o = cJSON_CreateObject(), *p;
	const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(b, "key"));
	const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(b,
	    "state"));

	if (key == NULL || state == NULL) {
		cJSON_Delete(o);
		log_warnx("ledger result from %s without key or state; dropped",
		    m->ident);
		return false;
	}
	id_uuid_new(id);
	clock_utc_iso(at);
	cJSON_AddStringToObject(o, "event_id", id);
	cJSON_AddStringToObject(o, "run_id", env->run.lease.run_id);
	cJSON_AddStringToObject(o, "event_type", "ledger_result");
	cJSON_AddStringToObject(o, "severity", "INFO");
	cJSON_AddStringToObject(o, "reason_key", state);
	cJSON_AddStringToObject(o, "source", env->worker_id);
	cJSON_AddStringToObject(o, "occurred_at", at);
	cJSON_AddNumberToObject(o, "lease_epoch", (double)env->run.lease.epoch);
	p = cJSON_AddObjectToObject(o, "payload");
	cJSON_AddStringToObject(p, "key", key);
	cJSON_AddStringToObject(p, "state", state);
	cJSON_AddNumberToObject(p, "credits", cJSON_GetNumberValue(
	    cJSON_GetObjectItem(b, "credits")));
	cJSON_AddStringToObject(p, "output", cJSON_GetStringValue(
	    cJSON_GetObjectItem(b, "output")) ?: "");
	cJSON_AddNumberToObject(p, "lease_epoch", (double)env->run.lease.epoch);
	return sup_spool_record(env, o) == 0;
}

static void
on_worker_ledger(struct sup_env *env, const struct ipc_msg *m)
{
	long long req = ipc_hdr_int(m, "req_id", 0);
	const char *op = ipc_hdr_str(m, "op");
	struct smsg *s;

	if (!run_holding(&env->run) || ipc_hdr_int(m, "epoch", -1) !=
	    env->run.lease.epoch || m->body == NULL || op == NULL) {
		log_warnx("ledger request from %s for another epoch refused",
		    m->ident);
		ledger_ack(env, m->ident, req, false, false, NULL);
		return;
	}
	if (strcmp(op, "result") == 0) {
		ledger_ack(env, m->ident, req, ledger_result(env, m), false,
		    NULL);
		return;
	}
	s = smsg_new(SM_LEDGER_INTENT);
	strlcpy(s->ident, m->ident, sizeof(s->ident));
	s->req_id = req;
	s->lease = env->run.lease;
	s->json = cJSON_Duplicate(m->body, true);
	(void)evthread_send(env, s);
}

static void
on_worker_msg(struct sup_env *env, struct ipc_msg *m)
{
	struct child *c = child_by_ident(env, m->ident);

	if (c == NULL) {
		log_debug("message %s from unknown or stale peer %s dropped",
		    m->type, m->ident);
		return;
	}
	if (strcmp(m->type, IPC_HB) == 0)
		child_on_hb(env, c, ipc_hdr_int(m, "progress", c->progress),
		    cJSON_IsTrue(cJSON_GetObjectItem(m->hdr, "browser")),
		    ipc_hdr_int(m, "next_ms", -1));
	else
		child_on_hb(env, c, c->progress, c->browser,
		    ipc_hdr_int(m, "next_ms", -1));
	if (strcmp(m->type, IPC_READY) == 0) {
		if (ipc_hdr_int(m, "pid", 0) != c->pid)
			log_warnx("READY from %s with a wrong pid", m->ident);
		else if (c->state == CH_STARTING)
			child_event(env, c, CE_READY, NULL);
	} else if (strcmp(m->type, IPC_RESULT) == 0)
		sched_result(env, c, m->hdr, m->body);
	else if (strcmp(m->type, IPC_EVENT) == 0)
		on_worker_event(env, m);
	else if (strcmp(m->type, IPC_LEDGER) == 0)
		on_worker_ledger(env, m);
	else if (strcmp(m->type, IPC_OPERATOR) == 0)
		notify_on_operator(env, c, m->hdr, m->body);
	else if (strcmp(m->type, IPC_HB) != 0)
		log_warnx("unexpected %s from %s dropped", m->type, m->ident);
}

static void
read_workers(struct sup_env *env)
{
	struct ipc_msg m;
	char err[256];
	enum ipc_recv_result r;
	int n;

	for (n = 0; n < 1000; n++) {
		r = ipc_recv(env->workers, true, &m, err, sizeof(err));
		if (r == IPC_RECV_NONE || r == IPC_RECV_ERROR)
			return;
		if (r == IPC_RECV_INVALID) {
			log_warnx("dropped an invalid message on the worker "
			    "endpoint: %s", err);
			continue;
		}
		on_worker_msg(env, &m);
		ipc_msg_clear(&m);
	}
}

/*
 * The lease thread's word on the store: up, down or its contract broken,
 * with the wait before its next contract check.  Logged when it changes.
 * While the contract is not confirmed nothing is claimed (the lease
 * thread would refuse it anyway); once the store is up again an idle
 * supervisor claims at once and replays the spool.
 */
static void
on_store_health(struct sup_env *env, const struct smsg *m)
{
	bool changed = env->store_up != m->ok ||
	    env->store_contract_broken != m->flag ||
	    strcmp(env->store_error, m->text) != 0;
	bool back = m->ok && !env->store_up;

	env->store_up = m->ok;
	/* the lease thread reports "up" only once the contract passed */
	if (m->ok)
		env->store_confirmed = true;
	env->store_contract_broken = !m->ok && m->flag;
	env->store_retry_at = !m->ok && m->num > 0 ? clock_mono_ms() +
	    (int64_t)m->num : 0;
	strlcpy(env->store_error, m->text, sizeof(env->store_error));
	if (back) {
		/* what waited in the spool goes now, not at the next event */
		(void)evthread_send(env, smsg_new(SM_REPLAY));
		if (env->run.state == RS_IDLE) {
			env->claim_backoff_ms = 0;
			env->next_claim_ms = clock_mono_ms();
		}
	} else if (!m->ok && m->num > 0 && env->run.state == RS_IDLE)
		env->next_claim_ms = INT64_MAX;	/* until the contract holds */
	/* The lease thread logs each contract check itself (num > 0). */
	if (!changed || (!m->ok && m->num > 0))
		return;
	if (m->ok)
		log_info("store usable again");
	else
		log_warnx("store unusable: %s", m->text);
}

/*
 * CONTRACT FAIL: the lease thread sends one per distinct reason.  The
 * reason's fingerprint keeps another reason from being taken for a
 * repeat of the first by the outbox's hourly deduplication.
 */
static void
on_contract_fail(struct sup_env *env, const struct smsg *m)
{
	cJSON *x = cJSON_CreateObject();
	uint32_t h = 2166136261u;
	const unsigned char *p;
	char fp[16];

	for (p = (const unsigned char *)m->text; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	snprintf(fp, sizeof(fp), "%08x", h);
	cJSON_AddStringToObject(x, "reason_id", fp);
	sched_alert_x(env, "CONTRACT FAIL", m->text, x);
}

static void
read_lease(struct sup_env *env)
{
	struct smsg *m;

	while ((m = smsg_recv(env->lease)) != NULL) {
		if (m->type == SM_STORE_HEALTH)
			on_store_health(env, m);
		else if (m->type == SM_CONTRACT_FAIL)
			on_contract_fail(env, m);
		else
			run_on_lease_msg(env, m);
		smsg_free(m);
	}
}

/* A run whose holder stopped renewing (not ours): STALE WORKER. */
static void
on_stale(struct sup_env *env, const struct smsg *m)
{
	char detail[256];
	cJSON *x = cJSON_CreateObject();

	snprintf(detail, sizeof(detail), "worker %.64s holds the run but "
	    "stopped renewing its lease (heartbeat %.0f s ago%s)", m->text,
	    m->num, m->flag ? ", lease expired" : "");
	cJSON_AddStringToObject(x, "run_id", m->lease.run_id);
	cJSON_AddStringToObject(x, "video_id", m->video_id);
	cJSON_AddStringToObject(x, "stale_worker_id", m->text);
	cJSON_AddNumberToObject(x, "heartbeat_age_sec", m->num);
	cJSON_AddBoolToObject(x, "lease_expired", m->flag);
	sched_alert_x(env, "STALE WORKER", detail, x);
}

/* The event thread's answer to a ledger intent, back to the child. */
static void
on_ledger_ack(struct sup_env *env, const struct smsg *m)
{
	struct child *c = child_by_ident(env, m->ident);
	struct run *r = &env->run;

	if (strcmp(m->decision, "unknown") == 0 && c != NULL &&
	    r->task_id != 0 && c->kind == r->task_kind)
		r->task_store_fault = true;
	ledger_ack(env, m->ident, m->req_id, m->ok, m->flag, m->ok &&
	    !m->flag ? m->status : NULL);
}

static void
read_events(struct sup_env *env)
{
	struct smsg *m;

	while ((m = smsg_recv(env->events)) != NULL) {
		if (m->type == SM_OPERATOR_ACK)
			notify_on_ack(env, m);
		else if (m->type == SM_STALE)
			on_stale(env, m);
		else if (m->type == SM_LEDGER_ACK)
			on_ledger_ack(env, m);
		else
			log_warnx("%s: no handler for %s (our bug); dropped",
			    __func__, smsg_name(m->type));
		smsg_free(m);
	}
}

/*
 * SIGHUP: read the settings again.  A bad file changes nothing; a good
 * one replaces the settings that can change while running (the state
 * dir, spool dir, store and worker id need a restart).
 */
static void
reload(struct sup_env *env)
{
	struct rv_config c;
	char err[4096];

	if (config_load_secrets(&c, env->cfg.state_dir, NULL,
	    CFG_SECRET_SUPABASE, err, sizeof(err)) == -1) {
		log_warnx("reload refused, settings unchanged:\n%s", err);
		return;
	}
	if (strcmp(c.spool_dir, env->cfg.spool_dir) != 0 ||
	    strcmp(c.supabase_url, env->cfg.supabase_url) != 0 ||
	    strcmp(c.db_path, env->cfg.db_path) != 0 ||
	    strcmp(c.worker_id, env->cfg.worker_id) != 0)
		log_warnx("reload: the spool, store and worker id change only "
		    "with a restart");
	/* the children read their rhythms at start: both ends keep them */
	if (c.child_heartbeat_ms != env->cfg.child_heartbeat_ms ||
	    c.child_idle_heartbeat_ms != env->cfg.child_idle_heartbeat_ms)
		log_warnx("reload: the child heartbeat intervals change only "
		    "with a restart");
	c.child_heartbeat_ms = env->cfg.child_heartbeat_ms;
	c.child_idle_heartbeat_ms = env->cfg.child_idle_heartbeat_ms;
	strlcpy(c.spool_dir, env->cfg.spool_dir, sizeof(c.spool_dir));
	strlcpy(c.supabase_url, env->cfg.supabase_url, sizeof(c.supabase_url));
	strlcpy(c.db_path, env->cfg.db_path, sizeof(c.db_path));
	strlcpy(c.worker_id, env->cfg.worker_id, sizeof(c.worker_id));
	env->cfg = c;
	log_info("settings reloaded");
}

/* The main loop's timer table and the timers it moves. */
struct loop {
	struct sup_env	*env;
	struct timer_table tbl;
	long long	 checks;	/* t_checks, armed at once by events */
};

/*
 * The guards of the child table, the run machine and the alert outbox:
 * run them, then sleep until the first of their deadlines.  Events can
 * change any of them, so the loop arms this timer at once after events.
 * A guard still due after its check ran (a send that failed) is checked
 * again after RECHECK_MS.
 */
static int64_t
t_checks(struct timer_table *tbl, long long id, int64_t now, void *arg)
{
	struct sup_env *env = arg;
	int64_t next, run;

	(void)tbl;
	(void)id;
	child_check(env, now);
	child_send_sup_hb(env, now);
	run_tick(env, now);
	notify_flush(env);
	next = child_next_deadline(env);
	if ((run = run_next_deadline(env)) < next)
		next = run;
	if (notify_pending(env))
		next = now;
	return next <= now ? RECHECK_MS : timer_until(next, now);
}

/* WATCHDOG=1 to the service manager, from the main loop itself. */
static int64_t
t_watchdog(struct timer_table *tbl, long long id, int64_t now, void *arg)
{
	(void)tbl;
	(void)id;
	(void)now;
	(void)arg;
	sdn_send("WATCHDOG=1");
	return sdn_watchdog_ms();
}

/*
 * Ready for the service manager: the pid file is locked and the endpoints
 * are bound (the loop runs after both), every child said READY, and the
 * store's contract check passed.
 */
static bool
service_ready(struct sup_env *env)
{
	int k;

	if (!env->store_confirmed)
		return false;
	for (k = 0; k < K_NKINDS; k++)
		if (env->children[k].state != CH_READY &&
		    env->children[k].state != CH_BUSY)
			return false;
	return true;
}

/* The one line the service manager shows for us (STATUS=). */
static void
service_status(struct sup_env *env, char *buf, size_t size)
{
	struct run *r = &env->run;
	int k, ready = 0;

	for (k = 0; k < K_NKINDS; k++)
		if (env->children[k].state == CH_READY ||
		    env->children[k].state == CH_BUSY)
			ready++;
	if (env->stopping)
		snprintf(buf, size, "stopping%s%s", run_holding(r) ?
		    ": releasing run " : "", run_holding(r) ?
		    r->lease.run_id : "");
	else if (!env->store_up)
		snprintf(buf, size, "store %s: %s", env->store_contract_broken ?
		    "contract broken" : "unusable", env->store_error);
	else if (!env->store_confirmed)
		snprintf(buf, size, "starting: store contract not confirmed "
		    "yet, %d of %d children ready", ready, K_NKINDS);
	else if (ready < K_NKINDS)
		snprintf(buf, size, "%d of %d children ready", ready,
		    K_NKINDS);
	else if (!run_holding(r))
		snprintf(buf, size, "idle: worker %s, no run", env->worker_id);
	else
		snprintf(buf, size, "run %s (%s) stage %s, %s; lease epoch "
		    "%lld until %s", r->lease.run_id, r->video_id,
		    stage_name(r->stage), run_state_name(r->state),
		    (long long)r->lease.epoch, r->lease.expires_at);
}

/* After events: READY=1 once, and STATUS= whenever it changed. */
static void
service_notify(struct sup_env *env)
{
	char status[400];

	if (!sdn_enabled())
		return;
	service_status(env, status, sizeof(status));
	if (!env->service_ready && !env->stopping && service_ready(env)) {
		env->service_ready = true;
		sdn_status(status);
		sdn_send("READY=1");
		log_info("ready: every child up and the store contract "
		    "confirmed (service manager told)");
		return;
	}
	sdn_status(status);
}

/* The end of the stop grace: it only wakes the loop, which stops. */
static int64_t
t_stop_grace(struct timer_table *tbl, long long id, int64_t now, void *arg)
{
	(void)tbl;
	(void)id;
	(void)now;
	(void)arg;
	return TIMER_STOP;
}

static void
begin_stop(struct loop *lp)
{
	struct sup_env *env = lp->env;

	if (env->stopping)
		return;
	log_info("stopping: no new work; children reach a safe point");
	env->stopping = true;
	sdn_send("STOPPING=1");
	env->stop_deadline = clock_mono_ms() + env->stop_grace_ms;
	if (timer_add(&lp->tbl, env->stop_deadline, t_stop_grace, NULL) == -1)
		fatalx("%s: timer table full (our bug)", __func__);
	child_stop_all(env);
}

static bool
stop_ready(struct sup_env *env)
{
	int k;

	for (k = 0; k < K_NKINDS; k++)
		if (env->children[k].pid > 0 && env->children[k].task_id != 0)
			return false;
	return true;
}

static void
loop_init(struct loop *lp, struct sup_env *env)
{
	int64_t now = clock_mono_ms();

	lp->env = env;
	timer_init(&lp->tbl);
	lp->checks = timer_add(&lp->tbl, now, t_checks, env);
	if (lp->checks == -1 || (sdn_watchdog_ms() > 0 &&
	    timer_add(&lp->tbl, now, t_watchdog, env) == -1))
		fatalx("%s: timer table full (our bug)", __func__);
}

/*
 * Sleep in zmq_poll until a socket, the signal pipe or the earliest timer
 * wakes us; handle what arrived; run the timers that are due.
 */
static void
main_loop(struct sup_env *env)
{
	zmq_pollitem_t it[5];
	struct loop lp;
	char buf[64];
	int64_t now;
	int n;

	loop_init(&lp, env);
	for (;;) {
		memset(it, 0, sizeof(it));
		it[0].socket = env->workers;
		it[1].socket = env->control;
		it[2].socket = env->lease;
		it[3].socket = env->events;
		it[4].fd = env->sigpipe[0];
		for (int i = 0; i < 5; i++)
			it[i].events = ZMQ_POLLIN;
		n = zmq_poll(it, 5, timer_next_timeout(&lp.tbl,
		    clock_mono_ms()));
		if (n == -1 && errno != EINTR)
			fatal("zmq_poll");
		if (it[4].revents & ZMQ_POLLIN)
			while (read(env->sigpipe[0], buf, sizeof(buf)) > 0)
				;
		if (sup_sig_chld) {
			sup_sig_chld = 0;
			child_reap(env);
		}
		if (sup_sig_term) {
			sup_sig_term = 0;
			begin_stop(&lp);
		}
		if (sup_sig_hup) {
			sup_sig_hup = 0;
			reload(env);
		}
		/* Only the sockets with input: each read is a libzmq call. */
		if (it[0].revents & ZMQ_POLLIN)
			read_workers(env);
		if (it[1].revents & ZMQ_POLLIN)
			control_dispatch(env);
		if (it[2].revents & ZMQ_POLLIN)
			read_lease(env);
		if (it[3].revents & ZMQ_POLLIN)
			read_events(env);
		now = clock_mono_ms();
		if (env->once_done && env->run.state == RS_IDLE)
			begin_stop(&lp);
		service_notify(env);
		if (env->stopping && (stop_ready(env) ||
		    now >= env->stop_deadline))
			return;
		if (n != 0)
			(void)timer_set(&lp.tbl, lp.checks, now);
		(void)timer_run_due(&lp.tbl, now);
	}
}

static void
shutdown_all(struct sup_env *env)
{
	int64_t end;

	run_post_type(env, RE_STOP);
	end = clock_mono_ms() + 2000;
	while (child_any_alive(env) && clock_mono_ms() < end) {
		child_reap(env);
		clock_sleep_ms(20);
	}
	child_kill_all(env);
	child_write_table(env);
	evthread_stop(env);
	lease_stop(env);
	ipc_close(env->workers);
	ipc_close(env->control);
	zmq_ctx_term(env->zctx);
	sdn_close();
	log_info("stopped");
}

static void
start_endpoints(struct sup_env *env)
{
	char ep[256], err[512];

	if ((env->zctx = zmq_ctx_new()) == NULL)
		fatal("zmq_ctx_new");
	if (ipc_endpoint(ep, sizeof(ep), env->cfg.state_dir,
	    IPC_WORKERS_NAME) == -1)
		fatalx("RAYVAULT_STATE_DIR: too long for an ipc endpoint "
		    "(limit %d bytes)", IPC_ENDPOINT_MAX);
	if ((env->workers = ipc_router_bind(env->zctx, ep, 0600, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	if (ipc_endpoint(ep, sizeof(ep), env->cfg.state_dir,
	    IPC_CONTROL_NAME) == -1 || (env->control = ipc_router_bind(
	    env->zctx, ep, 0600, err, sizeof(err))) == NULL)
		fatalx("control endpoint: %s", err);
	if (lease_start(env, err, sizeof(err)) == -1 ||
	    evthread_start(env, err, sizeof(err)) == -1)
		fatalx("%s", err);
}

/*
 * Where the children are: beside rvsup in a build tree (build/bin), or
 * in ../libexec/rayvault from rvsup's real directory once installed
 * (make install: PREFIX/bin/rvsup, PREFIX/libexec/rayvault/rvw-*).  The
 * lookup is relative, so a tree installed under DESTDIR, or moved as a
 * whole (a Homebrew keg), finds its own children.
 */
#define SUP_LIBEXEC_REL	"../libexec/rayvault"

static void
find_bindir(struct sup_env *env, const char *argv0)
{
	char self[PATH_MAX], found[PATH_MAX], probe[PATH_MAX + 64], *slash;
	ssize_t n;

	/* without /proc: argv[0] as the shell found it (PATH), links resolved */
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0)
		self[n] = '\0';
	else if (subproc_which(argv0, found, sizeof(found)) == -1 ||
	    realpath(found, self) == NULL)
		strlcpy(self, argv0, sizeof(self));
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	strlcpy(env->bindir, self, sizeof(env->bindir));
	if (fs_path(probe, sizeof(probe), "%s/rvw-evidence", self) == 0 &&
	    access(probe, X_OK) == 0)
		return;
	if (fs_path(probe, sizeof(probe), "%s/%s/rvw-evidence", self,
	    SUP_LIBEXEC_REL) == 0 && access(probe, X_OK) == 0)
		(void)fs_path(env->bindir, sizeof(env->bindir), "%s/%s", self,
		    SUP_LIBEXEC_REL);
}

/*
 * Temporary files of atomic writes whose writer was killed before its
 * rename (a kill -9 of a predecessor, of a child or of rvctl): the files
 * they stood for are whole, the leftovers only clutter (and fail baptism
 * B).  Those of live processes stay.
 */
static void
sweep_tmp(struct sup_env *env)
{
	static const char *dirs[] = { "", "runtime", "checkpoints", "jobs",
	    "evidence", "video", "timeline", "baptism" };
	char dir[PATH_MAX];
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (fs_path(dir, sizeof(dir), "%s/%s", env->cfg.state_dir,
		    dirs[i]) == 0)
			n += fs_sweep_tmp(dir);
	if (n > 0)
		log_info("removed %d temporary file%s left by killed writers",
		    n, n == 1 ? "" : "s");
}

static int
cmd_start(struct sup_env *env, int argc, char **argv)
{
	struct pidfh *pfh;
	char logdir[PATH_MAX];

	/* rvsup talks to the store; the other secrets are its children's */
	config_wipe(&env->cfg, CFG_SECRET_TELEGRAM | CFG_SECRET_ELEVENLABS);
	make_dirs(env);
	pfh = lock_pidfile(env);
	snprintf(logdir, sizeof(logdir), "%s/logs", env->cfg.state_dir);
	if (log_init("rvsup", "sup", logdir) == -1) {
		fprintf(stderr, "rvsup: cannot open %s/rvsup.log: %s\n", logdir,
		    strerror(errno));
		pidfile_remove(pfh);
		exit(EX_CONFIG);
	}
	sdn_init();	/* before the children: they must not inherit it */
	setproctitle_init(argc, argv, environ);
	setproctitle("supervisor %s", env->worker_id);
	if (plat_set_subreaper() == -1)
		log_warn("subreaper");
	setup_signals(env);
	child_kill_leftovers(env);
	sweep_tmp(env);
	clock_utc_iso(env->started_at);
	strlcpy(env->state, "idle", sizeof(env->state));
	env->store_up = true;
	start_endpoints(env);
	child_init(env);
	log_info("supervisor %s started on %s (pid %ld)", env->worker_id,
	    env->cfg.state_dir, (long)getpid());
	(void)evthread_send(env, smsg_new(SM_REPLAY));
	main_loop(env);
	shutdown_all(env);
	pidfile_remove(pfh);
	return 0;
}

static int
cmd_stop(struct sup_env *env, bool force, long timeout)
{
	pid_t pid = rt_held_pid(env->cfg.state_dir);
	int64_t end;

	if (pid <= 0) {
		printf("no rvsup is running on %s%s\n", env->cfg.state_dir,
		    pid == 0 ? " (stale pid file)" : "");
		return 3;
	}
	if (!rt_is_rvsup(pid)) {
		fprintf(stderr, "rvsup stop: pid %ld holds %s/runtime/rvsup.pid "
		    "but is not an rvsup; not signalling it\n", (long)pid,
		    env->cfg.state_dir);
		return 1;
	}
	if (kill(pid, SIGTERM) == -1) {
		fprintf(stderr, "rvsup stop: kill %ld: %s\n", (long)pid,
		    strerror(errno));
		return 1;
	}
	printf("sent SIGTERM to rvsup %ld; waiting up to %ld s\n", (long)pid,
	    timeout);
	end = clock_mono_ms() + timeout * 1000;
	while (clock_mono_ms() < end) {
		if (!plat_proc_alive(pid)) {
			printf("rvsup %ld stopped\n", (long)pid);
			return 0;
		}
		clock_sleep_ms(100);
	}
	if (!force) {
		fprintf(stderr, "rvsup %ld still running after %ld s; use "
		    "--force to kill it\n", (long)pid, timeout);
		return 1;
	}
	(void)kill(pid, SIGKILL);
	printf("rvsup %ld killed (its children exit with it)\n", (long)pid);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "worker-id", required_argument, NULL, 'w' },
		{ "once", no_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct sup_env env;
	const char *statedir = NULL, *wid = NULL, *cmd;
	char err[4096], *end;
	bool force = false;
	long timeout = 30;
	int c;

	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "-V") == 0)) {
		version_print("rvsup");
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0))
		help();
	if (argc < 2 || argv[1][0] == '-')
		usage();
	cmd = argv[1];
	if (strcmp(cmd, "print-machine") == 0) {
		printf("run machine (supervisor/run.c)\n");
		run_print_table(stdout);
		printf("\nchild machine (supervisor/child.c)\n");
		child_print_table(stdout);
		return 0;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			statedir = optarg;
			break;
		case 'w':
			wid = optarg;
			break;
		case 'o':
			env.once = true;
			break;
		case 'f':
			force = true;
			break;
		case 't':
			timeout = strtol(optarg, &end, 10);
			if (*end != '\0' || timeout < 1 || timeout > 3600)
				usage();
			break;
		case 'h':
			help();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (plat_harden_process() == -1)
		fprintf(stderr, "rvsup: cannot turn core dumps off: %s\n",
		    strerror(errno));
	if (wid != NULL && setenv("RAYVAULT_WORKER_ID", wid, 1) == -1)
		fatal("setenv");
	(void)log_init("rvsup", "sup", NULL);
	if ((strcmp(cmd, "start") == 0 || strcmp(cmd, "check-config") == 0) &&
	    config_env_file_check(NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "rvsup: %s\n", err);
		return EX_CONFIG;
	}
	/* a bad tuning value must not keep the operator from a stop */
	if (config_load(&env.cfg, statedir, NULL, err, sizeof(err)) == -1 ||
	    (strcmp(cmd, "stop") != 0 &&
	    load_tunables(&env, err, sizeof(err)) == -1)) {
		fprintf(stderr, "rvsup: invalid settings:\n%s", err);
		return EX_CONFIG;
	}
	strlcpy(env.worker_id, env.cfg.worker_id, sizeof(env.worker_id));
	find_bindir(&env, argv[0]);
	if (strcmp(cmd, "start") == 0)
		return cmd_start(&env, argc, argv);
	if (strcmp(cmd, "stop") == 0)
		return cmd_stop(&env, force, timeout);
	if (strcmp(cmd, "check-config") == 0) {
		config_print(&env.cfg, stdout);
		return 0;
	}
	usage();
}
