/* SPDX-License-Identifier: ISC */
/*
 * child.c: the supervisor's child table.
 *
 * One child per kind, each its own executable (rvw-<kind>) in its own
 * process group, started by fork+exec and restarted whenever it dies.  A
 * child is DOWN, STARTING (spawned, no READY yet), READY, BUSY (has a
 * task) or STOPPING.  Every spawn bumps the kind's generation; the routing
 * id "<kind>.0.<gen>" lets stale messages from an old generation be told
 * apart and ignored.  Liveness: no heartbeat for IPC_LIVENESS intervals is
 * unresponsive; heartbeats whose progress counter does not move for the
 * stage's stall budget is stuck; both get the whole tree killed (process
 * group, every descendant found before the kill, and any setsid() escapee
 * that comes back to us as subreaper), the kill is confirmed, and the
 * child is restarted with backoff (1 s doubling to 32 s).  A child that
 * dies by itself takes its group with it, and the descendants it had at
 * its last heartbeat while busy (pid and start time, so a reused pid is
 * safe): without a subreaper (macOS, make PORTABLE=1) that snapshot is the
 * only way to find a setsid() escapee once its parent is gone.  The table
 * is mirrored in state/runtime/children.json so a successor can kill what a
 * crashed supervisor left behind.  A child gets the supervisor's
 * environment minus the secrets its kind does not need
 * (config_child_environ, config_kind_secrets: rvw-notify keeps
 * TELEGRAM_BOT_TOKEN, rvw-voice ELEVENLABS_API_KEY, no child
 * SUPABASE_SERVICE_KEY), with the supervisor's own two heartbeat
 * intervals in place of the environment's (with_rhythm).
 *
 * The child's lifecycle is the state x event table below (the s6-supervise
 * model): child_event() is the only place that sets a child's state.  A
 * child that dies, goes silent or stalls while it holds the run's task is
 * reported to the run machine as lost; only a renderer whose heartbeats
 * said it is inside a browser session and that then goes silent or stops
 * making progress is reported as a frozen browser.  `rvsup print-machine`
 * prints the table.
 *
 * This module never decides what happens to the run; it tells run.c.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/children.h"
#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/core/platform.h"
#include "common/core/subproc.h"
#include "ipc/msg.h"
#include "ipc/proto.h"
#include "supervisor/sup.h"

#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	32000
#define READY_TIMEOUT_MS 10000
#define CRASH_WINDOW_MS	60000
#define CRASH_MAX	3
#define TREE_MAX	256

static const char *kind_names[K_NKINDS] = {
	"evidence", "voice", "render", "probe", "notify"
};

const char *
kind_name(enum kind k)
{
	return k < K_NKINDS ? kind_names[k] : "?";
}

int
kind_from_name(const char *name)
{
	int i;

	for (i = 0; i < K_NKINDS; i++)
		if (strcmp(kind_names[i], name) == 0)
			return i;
	return -1;
}

static const char *
state_name(enum child_state s)
{
	static const char *n[] = { "down", "starting", "ready", "busy",
	    "stopping" };

	return n[s];
}

static const char *const event_names[CE_NEVENTS] = {
	"spawned", "ready", "task", "result", "died", "silent", "stuck",
	"no_ready", "stop", "shutdown"
};

void
child_init(struct sup_env *env)
{
	int i;

	for (i = 0; i < K_NKINDS; i++) {
		memset(&env->children[i], 0, sizeof(env->children[i]));
		env->children[i].kind = (enum kind)i;
		env->children[i].state = CH_DOWN;
		env->children[i].backoff_ms = BACKOFF_MIN_MS;
	}
}

/* Mirror the table into state/runtime/children.json (core/children.c). */
void
child_write_table(struct sup_env *env)
{
	struct children_table t;
	struct children_rec *r;
	char err[1400];
	int i;

	memset(&t, 0, sizeof(t));
	t.supervisor_pid = getpid();
	(void)strlcpy(t.worker_id, env->worker_id, sizeof(t.worker_id));
	for (i = 0; i < K_NKINDS; i++) {
		struct child *c = &env->children[i];

		if (c->pid <= 0)
			continue;
		r = &t.v[t.n++];
		(void)strlcpy(r->kind, kind_name(c->kind), sizeof(r->kind));
		r->pid = c->pid;
		r->start_time = c->start_time;
		r->gen = c->gen;
	}
	if (children_write(env->cfg.state_dir, &t, err, sizeof(err)) == -1)
		log_warnx("%s: %s", __func__, err);
}

/* Kill <pid>'s group and every descendant; wait until all are gone. */
static int
kill_tree_pid(pid_t pid, int64_t timeout_ms)
{
	pid_t tree[TREE_MAX];
	size_t n, i;
	int64_t end;
	bool alive;

	n = plat_descendants(pid, tree, TREE_MAX);
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	for (i = 0; i < n; i++)
		(void)kill(tree[i], SIGKILL);
	end = clock_mono_ms() + timeout_ms;
	do {
		alive = plat_proc_alive(pid);
		for (i = 0; i < n && !alive; i++)
			alive = plat_proc_alive(tree[i]);
		if (!alive)
			return 0;
		clock_sleep_ms(2);
	} while (clock_mono_ms() < end);
	return -1;
}

/*
 * At start, kill the child trees a crashed predecessor recorded in
 * children.json (matching pid and start time, so a reused pid is safe).
 */
void
child_kill_leftovers(struct sup_env *env)
{
	struct children_table t;
	char err[1400];
	pid_t pid;
	size_t i;

	if (children_read(env->cfg.state_dir, &t, err, sizeof(err)) == -1) {
		if (errno == EINVAL)
			log_warnx("%s; ignoring it", err);
		return;
	}
	for (i = 0; i < t.n; i++) {
		pid = t.v[i].pid;
		if (pid == getpid() || !children_rec_running(&t.v[i]))
			continue;
		log_warnx("killing leftover child %ld of a previous "
		    "supervisor", (long)pid);
		if (kill_tree_pid(pid, 2000) == -1)
			log_warnx("leftover child %ld did not die", (long)pid);
	}
}

/*
 * Child side of fork.  <envp> was built before the fork (no malloc here:
 * the supervisor has threads): this process's environment without the
 * secrets the child's kind does not need.
 */
static void
exec_child(struct sup_env *env, struct child *c, pid_t parent, char **envp)
{
	char path[1200], gen[32], ppid[32];
	sigset_t none;
	int fd;

	(void)setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (plat_set_parent_death_signal(SIGKILL, parent) == -1)
		_exit(EX_UNAVAILABLE);
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	/*
	 * Nothing of ours crosses exec: not the pid-file lock (a child holding
	 * it would keep a successor out), not the database or the sockets.
	 */
	closefrom(STDERR_FILENO + 1);
	snprintf(path, sizeof(path), "%s/rvw-%s", env->bindir,
	    kind_name(c->kind));
	snprintf(gen, sizeof(gen), "%ld", c->gen);
	snprintf(ppid, sizeof(ppid), "%ld", (long)parent);
	{
		char *const argv[] = { path, "--state-dir",
		    env->cfg.state_dir, "--gen", gen, "--instance", "0",
		    "--ppid", ppid, NULL };

		execve(path, argv, envp);
	}
	fprintf(stderr, "rvsup: exec %s: %s\n", path, strerror(errno));
	_exit(EX_UNAVAILABLE);
}

/*
 * <envp> (which this frees) with the supervisor's own child heartbeat
 * intervals in place of the environment's, as strings kept in <hb> and
 * <idle>.  A child reads its settings at start, .env included, and the
 * environment wins: so a child restarted after .env changed heartbeats at
 * the rhythm of its siblings and of the supervisor, and a new interval
 * takes effect for all of them at the next start of rvsup, as a reload
 * says.  NULL when memory runs out.
 */
static char **
with_rhythm(char **envp, const struct rv_config *cfg, char *hb,
    char *idle, size_t size)
{
	char *const vars[] = { hb, idle, NULL };

	(void)snprintf(hb, size, "RAYVAULT_CHILD_HEARTBEAT_MS=%d",
	    cfg->child_heartbeat_ms);
	(void)snprintf(idle, size, "RAYVAULT_CHILD_IDLE_HEARTBEAT_MS=%d",
	    cfg->child_idle_heartbeat_ms);
	return subproc_environ_set(envp, vars);
}

/* Start <c>.  Returns 0, or -1 when fork failed (retried later). */
static int
child_spawn(struct sup_env *env, struct child *c)
{
	pid_t pid, parent = getpid();
	char **envp, hb[64], idle[64];

	if ((envp = config_child_environ(config_kind_secrets(
	    kind_name(c->kind)))) == NULL || (envp = with_rhythm(envp,
	    &env->cfg, hb, idle, sizeof(hb))) == NULL) {
		log_warn("environment for %s", kind_name(c->kind));
		c->restart_at = clock_mono_ms() + c->backoff_ms;
		return -1;
	}
	c->gen++;
	if ((pid = fork()) == -1) {
		log_warn("fork for %s", kind_name(c->kind));
		c->restart_at = clock_mono_ms() + c->backoff_ms;
		free(envp);
		return -1;
	}
	if (pid == 0)
		exec_child(env, c, parent, envp);
	free(envp);
	(void)setpgid(pid, pid);
	c->pid = pid;
	child_event(env, c, CE_SPAWNED, NULL);
	c->started_ms = c->last_hb_ms = c->last_progress_ms = clock_mono_ms();
	c->hb_every_ms = env->cfg.child_heartbeat_ms;
	c->next_sup_hb = c->started_ms;
	c->progress = 0;
	c->task_id = 0;
	c->paused = false;
	c->killed_by_us = false;
	c->start_time = 0;
	(void)plat_proc_starttime(pid, &c->start_time);
	snprintf(c->ident, sizeof(c->ident), "%s.0.%ld", kind_name(c->kind),
	    c->gen);
	log_info("started %s (pid %ld, generation %ld)", kind_name(c->kind),
	    (long)pid, c->gen);
	child_write_table(env);
	return 0;
}

/* Kill any process that came back to us as subreaper and is not ours. */
static void
kill_escapees(struct sup_env *env)
{
	pid_t kids[TREE_MAX];
	size_t n, i;
	int k;
	bool ours;

	n = plat_children_of(getpid(), kids, TREE_MAX);
	for (i = 0; i < n; i++) {
		ours = kids[i] == env->inhibit_pid;
		for (k = 0; k < K_NKINDS && !ours; k++)
			ours = env->children[k].pid == kids[i];
		if (ours)
			continue;
		log_warnx("killing escaped process %ld", (long)kids[i]);
		(void)kill_tree_pid(kids[i], 500);
		(void)waitpid(kids[i], NULL, WNOHANG);
	}
}

static void
schedule_restart(struct sup_env *env, struct child *c)
{
	int64_t now = clock_mono_ms();

	c->restarts[c->nrestarts % 8] = now;
	c->nrestarts++;
	if (now - c->started_ms > 60000 && c->jobs_done)
		c->backoff_ms = BACKOFF_MIN_MS;
	c->restart_at = now + c->backoff_ms;
	if (!env->stopping)
		log_info("%s will restart in %d ms", kind_name(c->kind),
		    c->backoff_ms);
	c->backoff_ms *= 2;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
}

/* More than CRASH_MAX restarts within CRASH_WINDOW_MS. */
bool
child_crash_loop(struct child *c, int64_t now)
{
	int i, n = 0;

	for (i = 0; i < 8 && i < c->nrestarts; i++)
		if (now - c->restarts[i] <= CRASH_WINDOW_MS)
			n++;
	return n > CRASH_MAX;
}

static void
mark_down(struct sup_env *env, struct child *c)
{
	c->pid = 0;
	c->task_id = 0;
	c->browser = false;
	c->paused = false;
	c->ntree = 0;
	schedule_restart(env, c);
	child_write_table(env);
}

/* Kill <c>'s whole process tree, confirm it is gone and reap it. */
static void
kill_child_tree(struct sup_env *env, struct child *c, const char *why)
{
	int64_t t0 = clock_mono_ms();
	int status;

	if (c->pid <= 0)
		return;
	log_warnx("killing %s (pid %ld): %s", kind_name(c->kind),
	    (long)c->pid, why);
	c->killed_by_us = true;
	if (kill_tree_pid(c->pid, 2000) == -1)
		log_warnx("%s (pid %ld) still alive after SIGKILL",
		    kind_name(c->kind), (long)c->pid);
	(void)waitpid(c->pid, &status, 0);
	kill_escapees(env);
	log_info("%s tree killed and confirmed in %lld ms", kind_name(c->kind),
	    (long long)(clock_mono_ms() - t0));
}

/* Tell the run machine that the child holding its task is gone. */
static void
report_loss(struct sup_env *env, struct child *c, enum child_event ev,
    const char *why)
{
	struct run_ev rev;

	if (c->task_id == 0 || env->stopping || c->kind == K_NOTIFY)
		return;
	c->task_id = 0;
	if (c->kind != env->run.task_kind || env->run.task_id == 0)
		return;
	memset(&rev, 0, sizeof(rev));
	rev.type = c->kind == K_RENDER && c->browser && (ev == CE_SILENT ||
	    ev == CE_STUCK) ? RE_BROWSER_FROZEN : RE_CHILD_LOST;
	rev.c = c;
	rev.text = why;
	run_post(env, &rev);
}

/* ---- actions of the child machine ---- */

typedef void	child_act(struct sup_env *, struct child *, enum child_event,
		    const char *);

static void
c_none(struct sup_env *env, struct child *c, enum child_event ev,
    const char *why)
{
	(void)env;
	(void)c;
	(void)ev;
	(void)why;
}

static void
c_ready(struct sup_env *env, struct child *c, enum child_event ev,
    const char *why)
{
	(void)env;
	(void)ev;
	(void)why;
	c->last_progress_ms = clock_mono_ms();
	log_info("%s ready (pid %ld, generation %ld)", kind_name(c->kind),
	    (long)c->pid, c->gen);
}

static void
c_task(struct sup_env *env, struct child *c, enum child_event ev,
    const char *why)
{
	(void)ev;
	(void)why;
	/* the child takes its working rhythm as it reads the task */
	c->last_progress_ms = c->last_hb_ms = clock_mono_ms();
	c->hb_every_ms = env->cfg.child_heartbeat_ms;
	c->next_sup_hb = c->last_hb_ms + c->hb_every_ms;
}

/* Kill what is left of <c>'s descendants at its last busy heartbeat. */
static void
kill_remembered(struct child *c)
{
	unsigned long long st;
	size_t i;

	for (i = 0; i < c->ntree; i++) {
		if (plat_proc_starttime(c->tree[i], &st) == -1 ||
		    st != c->tree_start[i] || !plat_proc_alive(c->tree[i]))
			continue;
		log_warnx("killing %ld, left by %s (pid %ld)",
		    (long)c->tree[i], kind_name(c->kind), (long)c->pid);
		(void)kill_tree_pid(c->tree[i], 500);
	}
	c->ntree = 0;
}

/* Reaped: a child we did not kill died by itself. */
static void
c_died(struct sup_env *env, struct child *c, enum child_event ev,
    const char *why)
{
	pid_t pid = c->pid;

	kill_remembered(c);
	kill_escapees(env);
	if (!env->stopping)
		(void)kill(-pid, SIGKILL);	/* its tools too */
	report_loss(env, c, ev, why);
	mark_down(env, c);
}

/* Silent, stuck or never ready: kill the whole tree, then restart. */
static void
c_kill(struct sup_env *env, struct child *c, enum child_event ev,
    const char *why)
{
	kill_child_tree(env, c, why);
	report_loss(env, c, ev, why);
	mark_down(env, c);
}

/* The run no longer wants the child's task: kill it, report nothing. */
static void
c_stop_task(struct sup_env *env, struct child *c, enum child_event ev,
    const char *why)
{
	(void)ev;
	c->task_id = 0;
	kill_child_tree(env, c, why);
	mark_down(env, c);
}

/* Shutdown: ask it to stop at a safe point (STOP, then SIGTERM). */
static void
c_shutdown(struct sup_env *env, struct child *c, enum child_event ev,
    const char *why)
{
	(void)ev;
	(void)why;
	if (c->paused)
		(void)kill(-c->pid, SIGCONT);
	c->paused = false;
	(void)child_send(env, c, IPC_STOP, NULL, NULL);
	if (c->task_id == 0)
		(void)kill(c->pid, SIGTERM);
}

#define CH_SAME	(-1)

static const struct child_transition {
	enum child_state from;
	enum child_event ev;
	child_act	*act;
	const char	*act_name;
	int		 to;
} ctable[] = {
	{ CH_DOWN, CE_SPAWNED, c_none, "c_none", CH_STARTING },
	{ CH_STARTING, CE_READY, c_ready, "c_ready", CH_READY },
	{ CH_STARTING, CE_DIED, c_died, "c_died", CH_DOWN },
	{ CH_STARTING, CE_NO_READY, c_kill, "c_kill", CH_DOWN },
	{ CH_STARTING, CE_STOP, c_stop_task, "c_stop_task", CH_DOWN },
	{ CH_READY, CE_TASK, c_task, "c_task", CH_BUSY },
	{ CH_READY, CE_RESULT, c_none, "c_none", CH_SAME },
	{ CH_READY, CE_DIED, c_died, "c_died", CH_DOWN },
	{ CH_READY, CE_SILENT, c_kill, "c_kill", CH_DOWN },
	{ CH_READY, CE_STOP, c_stop_task, "c_stop_task", CH_DOWN },
	{ CH_BUSY, CE_TASK, c_task, "c_task", CH_SAME },
	{ CH_BUSY, CE_RESULT, c_none, "c_none", CH_READY },
	{ CH_BUSY, CE_DIED, c_died, "c_died", CH_DOWN },
	{ CH_BUSY, CE_SILENT, c_kill, "c_kill", CH_DOWN },
	{ CH_BUSY, CE_STUCK, c_kill, "c_kill", CH_DOWN },
	{ CH_BUSY, CE_STOP, c_stop_task, "c_stop_task", CH_DOWN },
	{ CH_STOPPING, CE_RESULT, c_none, "c_none", CH_SAME },
	{ CH_STOPPING, CE_DIED, c_died, "c_died", CH_DOWN },
	{ CH_STOPPING, CE_SILENT, c_kill, "c_kill", CH_DOWN },
	{ CH_STOPPING, CE_STOP, c_stop_task, "c_stop_task", CH_DOWN },
	{ CH_STARTING, CE_SHUTDOWN, c_shutdown, "c_shutdown", CH_STOPPING },
	{ CH_READY, CE_SHUTDOWN, c_shutdown, "c_shutdown", CH_STOPPING },
	{ CH_BUSY, CE_SHUTDOWN, c_shutdown, "c_shutdown", CH_STOPPING },
	{ CH_STOPPING, CE_SHUTDOWN, c_none, "c_none", CH_SAME },
};

void
child_print_table(FILE *fp)
{
	size_t i;

	fprintf(fp, "%-10s %-10s %-12s %s\n", "STATE", "EVENT", "ACTION",
	    "NEXT");
	for (i = 0; i < sizeof(ctable) / sizeof(ctable[0]); i++)
		fprintf(fp, "%-10s %-10s %-12s %s\n",
		    state_name(ctable[i].from), event_names[ctable[i].ev],
		    ctable[i].act_name, ctable[i].to == CH_SAME ? "(same)" :
		    state_name((enum child_state)ctable[i].to));
}

/*
 * Feed event <ev> to child <c>; <why> is logged by the actions that kill.
 * The only place that changes a child's state.
 */
void
child_event(struct sup_env *env, struct child *c, enum child_event ev,
    const char *why)
{
	enum child_state from = c->state;
	size_t i;

	for (i = 0; i < sizeof(ctable) / sizeof(ctable[0]); i++)
		if (ctable[i].from == from && ctable[i].ev == ev)
			break;
	if (i == sizeof(ctable) / sizeof(ctable[0])) {
		log_warnx("child %s: event %s has no transition in state %s; "
		    "ignored", kind_name(c->kind), event_names[ev],
		    state_name(from));
		return;
	}
	ctable[i].act(env, c, ev, why ? why : event_names[ev]);
	if (ctable[i].to != CH_SAME && c->state == from)
		c->state = (enum child_state)ctable[i].to;
	log_debug("child %s: %s --%s/%s--> %s", kind_name(c->kind),
	    state_name(from), event_names[ev], ctable[i].act_name,
	    state_name(c->state));
}

/* Reap every exited child; a child we did not kill died by itself. */
void
child_reap(struct sup_env *env)
{
	struct child *c;
	pid_t pid;
	int status, k;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == env->inhibit_pid) {
			env->inhibit_pid = 0;
			continue;
		}
		for (c = NULL, k = 0; k < K_NKINDS; k++)
			if (env->children[k].pid == pid)
				c = &env->children[k];
		if (c == NULL)
			continue;	/* an escapee or a tool */
		if (WIFSIGNALED(status))
			log_warnx("%s (pid %ld) died of signal %d",
			    kind_name(c->kind), (long)pid, WTERMSIG(status));
		else if (!env->stopping || WEXITSTATUS(status) != 0)
			log_warnx("%s (pid %ld) exited with status %d",
			    kind_name(c->kind), (long)pid, WEXITSTATUS(status));
		child_event(env, c, CE_DIED, "died");
	}
}

struct child *
child_by_ident(struct sup_env *env, const char *ident)
{
	int k;

	for (k = 0; k < K_NKINDS; k++)
		if (env->children[k].pid > 0 &&
		    strcmp(env->children[k].ident, ident) == 0)
			return &env->children[k];
	return NULL;
}

/*
 * Note <c>'s descendants with their start times: once <c> is dead a
 * setsid() escapee no longer has it as parent (it belongs to init unless
 * we are its subreaper), so this is how c_died() still finds it.
 */
static void
remember_tree(struct child *c)
{
	pid_t tree[CHILD_TREE_KEEP];
	size_t n, i;

	n = plat_descendants(c->pid, tree, CHILD_TREE_KEEP);
	c->ntree = 0;
	for (i = 0; i < n; i++)
		if (plat_proc_starttime(tree[i],
		    &c->tree_start[c->ntree]) == 0)
			c->tree[c->ntree++] = tree[i];
}

/*
 * A heartbeat (or any message) from <c>.  <next_ms>: the rhythm it
 * announced (-1: none in this message), kept within the two settings,
 * which the child was given (with_rhythm); ours to it follows, and a
 * faster one starts at once.
 */
void
child_on_hb(struct sup_env *env, struct child *c, long long progress,
    bool browser, long long next_ms)
{
	int64_t now = clock_mono_ms();

	if (next_ms >= 0) {
		if (next_ms < env->cfg.child_heartbeat_ms)
			next_ms = env->cfg.child_heartbeat_ms;
		if (next_ms > env->cfg.child_idle_heartbeat_ms)
			next_ms = env->cfg.child_idle_heartbeat_ms;
		c->hb_every_ms = (int)next_ms;
		if (c->next_sup_hb > now + next_ms)
			c->next_sup_hb = now + next_ms;
	}
	c->last_hb_ms = now;
	c->browser = browser;
	if (c->state == CH_BUSY)
		remember_tree(c);
	if (progress != c->progress) {
		c->progress = progress;
		c->last_progress_ms = now;
	}
}

static int
stall_budget_ms(struct sup_env *env, struct child *c)
{
	if (c->kind == K_RENDER)
		return env->cfg.browser_stall_sec * 1000;
	return env->stage_stall_sec * 1000;
}

/* Liveness and restarts; called from the main loop's timer. */
void
child_check(struct sup_env *env, int64_t now)
{
	int64_t silent_max;
	struct child *c;
	int k;

	for (k = 0; k < K_NKINDS; k++) {
		c = &env->children[k];
		if (c->state == CH_DOWN) {
			if (!env->stopping && now >= c->restart_at)
				(void)child_spawn(env, c);
			continue;
		}
		if (c->paused)
			continue;
		silent_max = (int64_t)IPC_LIVENESS * c->hb_every_ms;
		if (c->state == CH_STARTING && now - c->started_ms >
		    READY_TIMEOUT_MS)
			child_event(env, c, CE_NO_READY, "no READY in time");
		else if (c->state != CH_STARTING && now - c->last_hb_ms >
		    silent_max)
			child_event(env, c, CE_SILENT,
			    "unresponsive (no heartbeat)");
		else if (c->state == CH_BUSY && now - c->last_progress_ms >
		    stall_budget_ms(env, c))
			child_event(env, c, CE_STUCK, "stuck (no progress)");
	}
}

static int64_t
earlier(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * The first time child_check() has something to do: a restart, a READY
 * timeout, silence or a stall (each one ms past its limit, as the checks
 * compare with ">").  INT64_MAX: nothing is timed.  A heartbeat or READY
 * only moves a deadline later; the main loop checks again after events.
 */
int64_t
child_next_deadline(struct sup_env *env)
{
	int64_t next = INT64_MAX;
	struct child *c;
	int k;

	for (k = 0; k < K_NKINDS; k++) {
		c = &env->children[k];
		if (c->state == CH_DOWN) {
			if (!env->stopping)
				next = earlier(next, c->restart_at);
			continue;
		}
		if (c->paused)
			continue;
		if (c->state == CH_STARTING) {
			next = earlier(next, c->started_ms + READY_TIMEOUT_MS +
			    1);
			continue;
		}
		next = earlier(next, c->last_hb_ms +
		    (int64_t)IPC_LIVENESS * c->hb_every_ms + 1);
		if (c->state == CH_READY || c->state == CH_BUSY)
			next = earlier(next, c->next_sup_hb);
		if (c->state == CH_BUSY)
			next = earlier(next, c->last_progress_ms +
			    stall_budget_ms(env, c) + 1);
	}
	return next;
}

int
child_send(struct sup_env *env, struct child *c, const char *type,
    const cJSON *hdr, const cJSON *body)
{
	cJSON *empty = NULL;
	int rc;

	if (c->pid <= 0 || c->state == CH_STARTING || c->state == CH_DOWN)
		return -1;
	if (hdr == NULL)
		hdr = empty = cJSON_CreateObject();
	rc = ipc_send(env->workers, c->ident, strlen(c->ident),
	    IPC_TAG_WORKER, type, hdr, body);
	cJSON_Delete(empty);
	return rc;
}

void
child_send_sup_hb(struct sup_env *env, int64_t now)
{
	struct child *c;
	int k;

	for (k = 0; k < K_NKINDS; k++) {
		c = &env->children[k];
		if ((c->state != CH_READY && c->state != CH_BUSY) ||
		    now < c->next_sup_hb)
			continue;
		(void)child_send(env, c, IPC_SUP_HB, NULL, NULL);
		c->next_sup_hb = now + c->hb_every_ms;
	}
}

/* SIGSTOP (or SIGCONT) every child's process group. */
void
child_pause_all(struct sup_env *env, bool pause)
{
	int64_t now = clock_mono_ms();
	struct child *c;
	int k;

	for (k = 0; k < K_NKINDS; k++) {
		c = &env->children[k];
		if (c->pid <= 0 || c->kind == K_NOTIFY)
			continue;
		(void)kill(-c->pid, pause ? SIGSTOP : SIGCONT);
		c->paused = pause;
		c->last_hb_ms = c->last_progress_ms = now;
	}
}

/* Ask every child to stop (STOP message, then SIGTERM). */
void
child_stop_all(struct sup_env *env)
{
	int k;

	for (k = 0; k < K_NKINDS; k++) {
		struct child *c = &env->children[k];

		if (c->pid > 0)
			child_event(env, c, CE_SHUTDOWN, NULL);
	}
}

bool
child_any_alive(struct sup_env *env)
{
	int k;

	for (k = 0; k < K_NKINDS; k++)
		if (env->children[k].pid > 0)
			return true;
	return false;
}

void
child_kill_all(struct sup_env *env)
{
	int k;

	for (k = 0; k < K_NKINDS; k++)
		if (env->children[k].pid > 0)
			child_event(env, &env->children[k], CE_STOP,
			    "shutdown");
}

/* For status: one child as JSON (caller owns it). */
cJSON *
child_status_json(struct child *c, int64_t now)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "kind", kind_name(c->kind));
	cJSON_AddNumberToObject(o, "pid", (double)c->pid);
	cJSON_AddStringToObject(o, "state", state_name(c->state));
	cJSON_AddBoolToObject(o, "paused", c->paused);
	cJSON_AddNumberToObject(o, "generation", (double)c->gen);
	cJSON_AddNumberToObject(o, "restarts", c->nrestarts);
	cJSON_AddNumberToObject(o, "last_heartbeat_ms_ago", c->pid > 0 ?
	    (double)(now - c->last_hb_ms) : -1);
	cJSON_AddNumberToObject(o, "heartbeat_every_ms", c->hb_every_ms);
	cJSON_AddNumberToObject(o, "progress", (double)c->progress);
	return o;
}
