/* SPDX-License-Identifier: ISC */
/*
 * worker.c: the skeleton every rvw-<kind> child runs.
 *
 * It owns everything a child has in common: arguments, settings, the
 * DEALER connected to the supervisor's ROUTER with routing id
 * "<kind>.<instance>.<gen>", READY, the dispatch loop, STOP, and the
 * heartbeats.  Heartbeats are sent from the work loop itself (the idle
 * poll loop, and progress ticks during a task), never from a side thread,
 * so a child whose thread is blocked goes silent and is caught; each
 * carries a counter that grows only when the task really moved, its
 * rhythm ("next_ms": RAYVAULT_CHILD_HEARTBEAT_MS while it has a task or
 * an idle hook, RAYVAULT_CHILD_IDLE_HEARTBEAT_MS otherwise; one goes out
 * at once when the rhythm changes, and the supervisor answers at the
 * same rhythm, so an idle machine exchanges a few messages a minute), and
 * "browser": true while the kind has a browser session open (the
 * supervisor books a lost renderer as frozen only then).  Every wait of
 * a task goes through the progress tick (common/core/progress.h), so a child
 * waiting on legitimate work never goes silent.  Before READY a child
 * removes the scratch directories its killed predecessors of the same
 * kind left under state/tmp/ (workers/skeleton/scratch.c).  A child
 * leaves on its own when its supervisor dies: parent-death signal on
 * Linux, a kqueue NOTE_EXIT watch on macOS (plat_parent_watch), getppid()
 * and heartbeat loss everywhere.  It never talks to the
 * store: events and ledger requests go to the supervisor.
 *
 * Fault hooks for tests are read from RV_FAULT only when RV_TESTING=1 and
 * fire only in the first generation of a kind, so the restarted child
 * behaves:  freeze:<kind>:<ms>  (thread blocks, no heartbeats),
 * stall:<kind>:<ms>  (heartbeats without progress), crash:<kind>  (abort
 * at task start), crash-start:<kind>  (exit at start, every generation),
 * escapee:<kind>  (a setsid() grandchild at task start), slow:<kind>:<ms>
 * (extra work with progress at task start).
 *
 * Public: worker_main, worker_progress, worker_event, worker_event_id,
 * worker_ledger_intent, worker_operator_action, worker_set_idle,
 * worker_ledger_result, worker_set_browser, worker_config, worker_kind.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <cJSON.h>
#include <zmq.h>

#include "common/core/clock.h"
#include "common/core/config.h"
#include "common/core/fsutil.h"
#include "common/core/log.h"
#include "common/core/platform.h"
#include "common/core/version.h"
#include "ipc/msg.h"
#include "ipc/proto.h"
#include "ipc/sock.h"
#include "workers/skeleton/scratch.h"
#include "workers/skeleton/worker.h"

extern char **environ;

struct wrk_fault {
	long	freeze_ms, stall_ms, slow_ms;	/* -1: off */
	bool	crash, crash_start, escapee;
};

struct wrk_env {
	const char	*kind;
	int		 instance;
	long		 gen;
	pid_t		 ppid;
	int		 parent_fd;	/* readable when ppid exits, or -1 */
	struct rv_config cfg;
	void		*ctx, *sock;
	wrk_handler	 handler;
	int		 hb_ms;		/* rhythm with a task (or idle hook) */
	int		 idle_hb_ms;	/* rhythm without */
	bool		 parent_watched; /* the kernel tells us of its death */
	int64_t		 next_hb, last_sup_seen, task_started;
	long long	 counter, last_value;
	bool		 busy, stop, quit;
	bool		 browser;	/* a browser session is open */
	long long	 task_id, epoch;
	struct progress	 prog;
	long long	 ledger_req;
	int		 ledger_ok;	/* -1 waiting, 0 no, 1 yes */
	bool		 ledger_fresh;
	char		 ledger_prev[16];
	struct wrk_fault fault;
	void		(*idle_fn)(struct wrk_env *, void *);
	void		*idle_arg;
	int		 idle_ms;
	int64_t		 next_idle;
	bool		 in_idle;
	long long	 op_req;
	int		 op_ok;		/* -1 waiting, 0 failed, 1 answered */
	char		 op_result[32], op_msg[256];
};

static volatile sig_atomic_t wrk_quit;

static void
on_term(int sig)
{
	(void)sig;
	wrk_quit = 1;
}

static long
fault_ms(const char *spec, const char *what, const char *kind)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "%s:%s:", what, kind);
	if ((p = strstr(spec, pat)) == NULL)
		return -1;
	return strtol(p + strlen(pat), NULL, 10);
}

static bool
fault_flag(const char *spec, const char *what, const char *kind)
{
	char pat[64];
	const char *p;
	size_t n;

	n = (size_t)snprintf(pat, sizeof(pat), "%s:%s", what, kind);
	for (p = spec; (p = strstr(p, pat)) != NULL; p += n)
		if ((p == spec || p[-1] == ',') && (p[n] == '\0' ||
		    p[n] == ','))
			return true;
	return false;
}

static void
fault_load(struct wrk_env *env)
{
	const char *t = getenv("RV_TESTING"), *f = getenv("RV_FAULT");

	env->fault.freeze_ms = env->fault.stall_ms = env->fault.slow_ms = -1;
	if (t == NULL || strcmp(t, "1") != 0 || f == NULL)
		return;
	env->fault.crash_start = fault_flag(f, "crash-start", env->kind);
	if (env->gen != 1)
		return;
	env->fault.freeze_ms = fault_ms(f, "freeze", env->kind);
	env->fault.stall_ms = fault_ms(f, "stall", env->kind);
	env->fault.slow_ms = fault_ms(f, "slow", env->kind);
	env->fault.crash = fault_flag(f, "crash", env->kind);
	env->fault.escapee = fault_flag(f, "escapee", env->kind);
}

/* The heartbeat rhythm now: fast while there is work to watch. */
static int
rhythm_ms(const struct wrk_env *env)
{
	return env->busy || env->idle_fn != NULL ? env->hb_ms :
	    env->idle_hb_ms;
}

static void
send_hb(struct wrk_env *env)
{
	cJSON *h = cJSON_CreateObject();

	cJSON_AddNumberToObject(h, "progress", (double)env->counter);
	cJSON_AddNumberToObject(h, "next_ms", (double)rhythm_ms(env));
	cJSON_AddBoolToObject(h, "busy", env->busy);
	cJSON_AddBoolToObject(h, "browser", env->browser);
	cJSON_AddNumberToObject(h, "task_id", (double)env->task_id);
	if (ipc_send(env->sock, NULL, 0, IPC_TAG_WORKER, IPC_HB, h, NULL) ==
	    -1 && errno != EAGAIN)
		log_warn("%s: heartbeat", __func__);
	cJSON_Delete(h);
	env->next_hb = clock_mono_ms() + rhythm_ms(env);
}

static void handle_msg(struct wrk_env *, struct ipc_msg *);

/* Read whatever the supervisor sent, without blocking. */
static void
drain(struct wrk_env *env)
{
	struct ipc_msg m;
	char err[256];
	enum ipc_recv_result r;

	for (;;) {
		r = ipc_recv(env->sock, false, &m, err, sizeof(err));
		if (r == IPC_RECV_NONE || r == IPC_RECV_ERROR)
			return;
		if (r == IPC_RECV_INVALID) {
			log_warnx("dropped a message from the supervisor: %s",
			    err);
			continue;
		}
		env->last_sup_seen = clock_mono_ms();
		handle_msg(env, &m);
		ipc_msg_clear(&m);
	}
}

/* The parent watch (macOS) reported the supervisor's exit. */
static bool
parent_exited(struct wrk_env *env)
{
	struct pollfd pfd = { env->parent_fd, POLLIN, 0 };

	return env->parent_fd != -1 && poll(&pfd, 1, 0) > 0;
}

/* Leave when the supervisor is gone (parent changed or silent too long). */
static void
check_parent(struct wrk_env *env)
{
	static int64_t last_check;
	int64_t now = clock_mono_ms(), silent;
	int64_t limit = (int64_t)IPC_LIVENESS * rhythm_ms(env) + 2000;

	/*
	 * A long gap since the last check means this process was stopped
	 * (SIGSTOP while the lease was uncertain): the supervisor's messages
	 * are still on their way in, so give it a fresh grace period.
	 */
	if (last_check != 0 && now - last_check > 2 * rhythm_ms(env) + 500)
		env->last_sup_seen = now;
	last_check = now;
	silent = now - env->last_sup_seen;

	if (getppid() != env->ppid || parent_exited(env)) {
		log_warnx("supervisor %ld is gone; exiting", (long)env->ppid);
		_exit(EX_UNAVAILABLE);
	}
	if (silent > limit) {
		drain(env);
		if (clock_mono_ms() - env->last_sup_seen > limit) {
			log_warnx("no word from the supervisor for %lld ms; "
			    "exiting", (long long)silent);
			_exit(EX_UNAVAILABLE);
		}
	}
}

static void
fault_tick(struct wrk_env *env)
{
	int64_t el = clock_mono_ms() - env->task_started;

	if (!env->busy)
		return;
	if (env->fault.freeze_ms >= 0 && el >= env->fault.freeze_ms) {
		log_warnx("fault: freezing (no heartbeats from now on)");
		for (;;)
			pause();
	}
	if (env->fault.stall_ms >= 0 && el >= env->fault.stall_ms) {
		log_warnx("fault: stalling (heartbeats without progress)");
		while (!env->stop && !wrk_quit) {
			drain(env);
			check_parent(env);
			if (clock_mono_ms() >= env->next_hb)
				send_hb(env);
			clock_sleep_ms(20);
		}
	}
}

/* The progress tick: counts changes, heartbeats, obeys STOP. */
static int
tick(void *arg, long long value)
{
	struct wrk_env *env = arg;

	fault_tick(env);
	if (value != env->last_value) {
		env->last_value = value;
		env->counter++;
	}
	drain(env);
	check_parent(env);
	if (clock_mono_ms() >= env->next_hb)
		send_hb(env);
	if (wrk_quit)
		env->stop = true;
	return env->stop ? -1 : 0;
}

struct progress *
worker_progress(struct wrk_env *env)
{
	return &env->prog;
}

/*
 * A browser session opened (<open>) or ended: the heartbeats say so from
 * now on, and one goes out at once so the supervisor knows before the
 * next one is due.
 */
void
worker_set_browser(struct wrk_env *env, bool open)
{
	if (env->browser == open)
		return;
	env->browser = open;
	send_hb(env);
}

const struct rv_config *
worker_config(struct wrk_env *env)
{
	return &env->cfg;
}

const char *
worker_kind(struct wrk_env *env)
{
	return env->kind;
}

void
worker_event(struct wrk_env *env, const char *run_id, const char *event_type,
    const char *severity, const char *reason_key, cJSON *payload)
{
	worker_event_id(env, NULL, run_id, event_type, severity, reason_key,
	    payload);
}

void
worker_event_id(struct wrk_env *env, const char *event_id, const char *run_id,
    const char *event_type, const char *severity, const char *reason_key,
    cJSON *payload)
{
	cJSON *h = cJSON_CreateObject(), *b = cJSON_CreateObject();

	if (event_id != NULL)
		cJSON_AddStringToObject(b, "event_id", event_id);

	cJSON_AddNumberToObject(h, "task_id", (double)env->task_id);
	cJSON_AddNumberToObject(h, "epoch", (double)env->epoch);
	cJSON_AddStringToObject(b, "run_id", run_id);
	cJSON_AddStringToObject(b, "event_type", event_type);
	cJSON_AddStringToObject(b, "severity", severity);
	cJSON_AddStringToObject(b, "reason_key", reason_key ? reason_key : "");
	cJSON_AddItemToObject(b, "payload", payload != NULL ? payload :
	    cJSON_CreateObject());
	if (ipc_send(env->sock, NULL, 0, IPC_TAG_WORKER, IPC_EVENT, h, b) == -1)
		log_warn("event %s not sent", event_type);
	cJSON_Delete(h);
	cJSON_Delete(b);
}

static int
ledger_call(struct wrk_env *env, const char *op, cJSON *body)
{
	cJSON *h = cJSON_CreateObject();
	int64_t deadline;
	int rc;

	env->ledger_req++;
	env->ledger_ok = -1;
	cJSON_AddNumberToObject(h, "req_id", (double)env->ledger_req);
	cJSON_AddStringToObject(h, "op", op);
	cJSON_AddNumberToObject(h, "task_id", (double)env->task_id);
	cJSON_AddNumberToObject(h, "epoch", (double)env->epoch);
	rc = ipc_send(env->sock, NULL, 0, IPC_TAG_WORKER, IPC_LEDGER, h, body);
	cJSON_Delete(h);
	cJSON_Delete(body);
	if (rc == -1)
		return -1;
	deadline = clock_mono_ms() + 60000;
	while (env->ledger_ok == -1 && clock_mono_ms() < deadline) {
		if (tick(env, env->last_value) == -1)
			return -1;
		zmq_pollitem_t it = { env->sock, 0, ZMQ_POLLIN, 0 };
		(void)zmq_poll(&it, 1, 50);
	}
	return env->ledger_ok;
}

int
worker_ledger_intent(struct wrk_env *env, const char *run_id, const char *key,
    const char *segment_id, const char *sha8, int credits, char *prev_state,
    size_t prev_size)
{
	cJSON *b = cJSON_CreateObject();
	int r;

	cJSON_AddStringToObject(b, "run_id", run_id);
	cJSON_AddStringToObject(b, "key", key);
	cJSON_AddStringToObject(b, "segment_id", segment_id);
	cJSON_AddStringToObject(b, "sha8", sha8);
	cJSON_AddNumberToObject(b, "credits", credits);
	r = ledger_call(env, "intent", b);
	if (r != 1)
		return -1;
	if (prev_state != NULL)
		strlcpy(prev_state, env->ledger_prev, prev_size);
	return env->ledger_fresh ? 1 : 0;
}

int
worker_ledger_result(struct wrk_env *env, const char *run_id, const char *key,
    const char *state, int credits, const char *output)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "run_id", run_id);
	cJSON_AddStringToObject(b, "key", key);
	cJSON_AddStringToObject(b, "state", state);
	cJSON_AddNumberToObject(b, "credits", credits);
	cJSON_AddStringToObject(b, "output", output ? output : "");
	return ledger_call(env, "result", b) == 1 ? 0 : -1;
}

int
worker_operator_action(struct wrk_env *env, const char *run_id,
    const char *action, const char *operator_name, const char *reason,
    const char *nonce, char *result, size_t rsize, char *msg, size_t msize)
{
	cJSON *h = cJSON_CreateObject(), *b = cJSON_CreateObject();
	int64_t deadline;
	int rc;

	env->op_req++;
	env->op_ok = -1;
	cJSON_AddNumberToObject(h, "req_id", (double)env->op_req);
	cJSON_AddStringToObject(b, "run_id", run_id);
	cJSON_AddStringToObject(b, "action", action);
	cJSON_AddStringToObject(b, "operator", operator_name);
	cJSON_AddStringToObject(b, "reason", reason ? reason : "");
	cJSON_AddStringToObject(b, "nonce", nonce ? nonce : "");
	rc = ipc_send(env->sock, NULL, 0, IPC_TAG_WORKER, IPC_OPERATOR, h, b);
	cJSON_Delete(h);
	cJSON_Delete(b);
	if (rc == -1)
		return -1;
	deadline = clock_mono_ms() + 30000;
	while (env->op_ok == -1 && clock_mono_ms() < deadline) {
		zmq_pollitem_t it = { env->sock, 0, ZMQ_POLLIN, 0 };

		if (tick(env, env->last_value) == -1)
			return -1;
		(void)zmq_poll(&it, 1, 50);
	}
	if (env->op_ok != 1)
		return -1;
	strlcpy(result, env->op_result, rsize);
	strlcpy(msg, env->op_msg, msize);
	return 0;
}

void
worker_set_idle(struct wrk_env *env, void (*fn)(struct wrk_env *, void *),
    void *arg, int period_ms)
{
	env->idle_fn = fn;
	env->idle_arg = arg;
	env->idle_ms = period_ms > 0 ? period_ms : 1000;
	env->next_idle = 0;
}

static void
run_idle(struct wrk_env *env)
{
	if (env->idle_fn == NULL || env->in_idle || env->busy)
		return;
	env->in_idle = true;
	env->stop = false;
	env->idle_fn(env, env->idle_arg);
	env->in_idle = false;
	env->next_idle = clock_mono_ms() + env->idle_ms;
}

static const char *
outcome_name(enum wrk_outcome o)
{
	switch (o) {
	case WRK_OK:
		return "ok";
	case WRK_FAIL:
		return "fail";
	case WRK_PANIC:
		return "panic";
	case WRK_GATE:
		return "gate";
	case WRK_STOPPED:
		return "stopped";
	}
	return "fail";
}

static void
fault_task_start(struct wrk_env *env)
{
	char path[1024], buf[32];
	pid_t pid = -1;
	int64_t end;

	if (env->fault.crash) {
		log_warnx("fault: crashing at task start");
		abort();
	}
	if (env->fault.escapee && (pid = fork()) == 0) {
		/* leaves the child's process group and session */
		(void)setsid();
		for (;;)
			pause();
	} else if (env->fault.escapee && pid > 0) {
		snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
		if (fs_path(path, sizeof(path), "%s/runtime/escapee.%s",
		    env->cfg.state_dir, env->kind) == 0)
			(void)fs_write_atomic(path, buf, strlen(buf));
	}
	if (env->fault.slow_ms > 0) {
		end = clock_mono_ms() + env->fault.slow_ms;
		while (clock_mono_ms() < end && !env->stop) {
			(void)progress_step(&env->prog);
			clock_sleep_ms(20);
		}
	}
}

static void
run_task(struct wrk_env *env, struct ipc_msg *m)
{
	const char *type = ipc_hdr_str(m, "type");
	cJSON *h, *result = NULL;
	char err[1024] = "";
	enum wrk_outcome o;

	env->task_id = ipc_hdr_int(m, "task_id", 0);
	env->epoch = ipc_hdr_int(m, "epoch", 0);
	env->busy = true;
	env->stop = false;
	env->task_started = clock_mono_ms();
	setproctitle("%s busy %s", env->kind, type);
	send_hb(env);
	fault_task_start(env);
	if (env->stop)
		o = WRK_STOPPED;
	else if (m->body == NULL || !cJSON_IsObject(m->body)) {
		snprintf(err, sizeof(err), "task without an args object");
		o = WRK_FAIL;
	} else
		o = env->handler(env, type, m->body, &result, err, sizeof(err));
	fault_tick(env);
	h = cJSON_CreateObject();
	cJSON_AddNumberToObject(h, "task_id", (double)env->task_id);
	cJSON_AddNumberToObject(h, "epoch", (double)env->epoch);
	cJSON_AddStringToObject(h, "outcome", outcome_name(o));
	if (err[0] != '\0')
		cJSON_AddStringToObject(h, "error", err);
	if (ipc_send(env->sock, NULL, 0, IPC_TAG_WORKER, IPC_RESULT, h,
	    result) == -1)
		log_warn("task %lld: result not sent", env->task_id);
	cJSON_Delete(h);
	cJSON_Delete(result);
	env->busy = false;
	env->stop = false;
	env->browser = false;	/* a handler never leaves one open */
	setproctitle("%s idle", env->kind);
	send_hb(env);
}

static void
handle_msg(struct wrk_env *env, struct ipc_msg *m)
{
	if (strcmp(m->type, IPC_STOP) == 0) {
		env->stop = true;
		if (!env->busy)
			env->quit = true;
	} else if (strcmp(m->type, IPC_LEDGER_ACK) == 0) {
		if (ipc_hdr_int(m, "req_id", -1) != env->ledger_req)
			return;
		env->ledger_fresh = cJSON_IsTrue(cJSON_GetObjectItem(m->hdr,
		    "fresh"));
		strlcpy(env->ledger_prev, ipc_hdr_str(m, "prev_state") ?
		    ipc_hdr_str(m, "prev_state") : "", sizeof(env->ledger_prev));
		env->ledger_ok = cJSON_IsTrue(cJSON_GetObjectItem(m->hdr,
		    "ok")) ? 1 : 0;
	} else if (strcmp(m->type, IPC_OPERATOR_ACK) == 0) {
		if (ipc_hdr_int(m, "req_id", -1) != env->op_req)
			return;
		strlcpy(env->op_result, ipc_hdr_str(m, "result") ?
		    ipc_hdr_str(m, "result") : "", sizeof(env->op_result));
		strlcpy(env->op_msg, ipc_hdr_str(m, "msg") ?
		    ipc_hdr_str(m, "msg") : "", sizeof(env->op_msg));
		env->op_ok = cJSON_IsTrue(cJSON_GetObjectItem(m->hdr, "ok")) ?
		    1 : 0;
	} else if (strcmp(m->type, IPC_VERBOSE) == 0) {
		log_set_level((int)ipc_hdr_int(m, "level", LOG_LVL_INFO));
	} else if (strcmp(m->type, IPC_TASK) == 0) {
		if (env->busy) {
			log_warnx("TASK while busy; ignored");
			return;
		}
		run_task(env, m);
	}
}

static void
usage(FILE *fp, const char *kind)
{
	fprintf(fp, "usage: rvw-%s --state-dir DIR --ppid PID [--gen N] "
	    "[--instance N]\n       rvw-%s --version | --help\n"
	    "A child of rvsup(8), started by it: not run by hand.\n", kind,
	    kind);
}

static void
parse_args(struct wrk_env *env, int argc, char **argv, char *statedir,
    size_t sz)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "gen", required_argument, NULL, 'g' },
		{ "instance", required_argument, NULL, 'i' },
		{ "ppid", required_argument, NULL, 'p' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char prog[32];
	int c;

	statedir[0] = '\0';
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			strlcpy(statedir, optarg, sz);
			break;
		case 'g':
			env->gen = strtol(optarg, NULL, 10);
			break;
		case 'i':
			env->instance = (int)strtol(optarg, NULL, 10);
			break;
		case 'p':
			env->ppid = (pid_t)strtol(optarg, NULL, 10);
			break;
		case 'V':
			snprintf(prog, sizeof(prog), "rvw-%s", env->kind);
			version_print(prog);
			exit(0);
		case 'h':
			usage(stdout, env->kind);
			exit(0);
		default:
			usage(stderr, env->kind);
			exit(EX_USAGE);
		}
	}
	if (statedir[0] == '\0' || env->ppid <= 0) {
		fprintf(stderr, "rvw-%s: started by rvsup only (--state-dir, "
		    "--ppid)\n", env->kind);
		exit(EX_USAGE);
	}
}

static void
setup(struct wrk_env *env, int argc, char **argv)
{
	char statedir[CFG_STR_MAX], err[2048], ep[256], ident[64], role[48];
	char logdir[CFG_STR_MAX + 8];
	struct sigaction sa;
	int rc;

	parse_args(env, argc, argv, statedir, sizeof(statedir));
	if (plat_harden_process() == -1)
		fprintf(stderr, "rvw-%s: cannot turn core dumps off: %s\n",
		    env->kind, strerror(errno));
	if ((rc = plat_set_parent_death_signal(SIGKILL, env->ppid)) == -1)
		_exit(EX_UNAVAILABLE);
	if ((env->parent_fd = plat_parent_watch(env->ppid)) == -1 &&
	    errno == ESRCH)
		_exit(EX_UNAVAILABLE);
	env->parent_watched = rc == 1 || env->parent_fd != -1;
	snprintf(role, sizeof(role), "%s.%d.%ld", env->kind, env->instance,
	    env->gen);
	log_init(argv[0], role, NULL);
	/* only the secrets this kind needs (rvw-notify: the bot token) */
	if (config_load_secrets(&env->cfg, statedir, NULL,
	    config_kind_secrets(env->kind), err, sizeof(err)) == -1)
		fatalx("settings: %s", err);
	snprintf(logdir, sizeof(logdir), "%s/logs", env->cfg.state_dir);
	log_init(strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0],
	    role, logdir);
	setproctitle_init(argc, argv, environ);
	setproctitle("%s idle", env->kind);
	fault_load(env);
	if (env->fault.crash_start)
		fatalx("fault: crash at start");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	env->hb_ms = env->cfg.child_heartbeat_ms;
	env->idle_hb_ms = env->cfg.child_idle_heartbeat_ms;
	if (ipc_endpoint(ep, sizeof(ep), env->cfg.state_dir,
	    IPC_WORKERS_NAME) == -1)
		fatalx("state dir path too long for an ipc endpoint");
	snprintf(ident, sizeof(ident), "%s.%d.%ld", env->kind, env->instance,
	    env->gen);
	if ((env->ctx = zmq_ctx_new()) == NULL)
		fatal("zmq_ctx_new");
	if ((env->sock = ipc_dealer_connect(env->ctx, ep, ident, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	env->prog.tick = tick;
	env->prog.arg = env;
}

/* Remove what killed children of this kind left in state/tmp/. */
static void
sweep_scratch(struct wrk_env *env)
{
	int n;

	if ((n = scratch_sweep(env->cfg.state_dir, env->kind)) == -1)
		log_warn("%s/tmp: scratch sweep", env->cfg.state_dir);
	else if (n > 0)
		log_info("removed %d scratch director%s left by a killed %s "
		    "child", n, n == 1 ? "y" : "ies", env->kind);
}

int
worker_main(int argc, char **argv, const char *kind, wrk_handler handler)
{
	static struct wrk_env env;
	cJSON *h;
	int64_t wait;

	env.kind = kind;
	env.handler = handler;
	setup(&env, argc, argv);
	sweep_scratch(&env);
	h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "kind", kind);
	cJSON_AddNumberToObject(h, "pid", (double)getpid());
	cJSON_AddNumberToObject(h, "gen", (double)env.gen);
	cJSON_AddNumberToObject(h, "next_ms", (double)rhythm_ms(&env));
	if (ipc_send(env.sock, NULL, 0, IPC_TAG_WORKER, IPC_READY, h, NULL) ==
	    -1)
		fatal("READY");
	cJSON_Delete(h);
	env.last_sup_seen = clock_mono_ms();
	env.next_hb = clock_mono_ms() + rhythm_ms(&env);
	while (!env.quit && !wrk_quit) {
		zmq_pollitem_t it[2] = { { env.sock, 0, ZMQ_POLLIN, 0 },
		    { NULL, env.parent_fd, ZMQ_POLLIN, 0 } };

		wait = env.next_hb - clock_mono_ms();
		if (env.idle_fn != NULL && env.next_idle - clock_mono_ms() < wait)
			wait = env.next_idle - clock_mono_ms();
		/* only getppid() tells: look at the working rhythm */
		if (!env.parent_watched && wait > env.hb_ms)
			wait = env.hb_ms;
		if (wait < 0)
			wait = 0;
		if (zmq_poll(it, env.parent_fd != -1 ? 2 : 1, (long)wait) ==
		    -1 && errno != EINTR)
			fatal("zmq_poll");
		drain(&env);
		check_parent(&env);
		if (clock_mono_ms() >= env.next_hb)
			send_hb(&env);
		if (env.idle_fn != NULL && clock_mono_ms() >= env.next_idle)
			run_idle(&env);
	}
	ipc_close(env.sock);
	zmq_ctx_term(env.ctx);
	exit(0);
}
