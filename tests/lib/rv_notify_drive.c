/* SPDX-License-Identifier: ISC */
/*
 * rv_notify_drive: plays the supervisor for one rvw-notify, for tests.
 *
 *	rv_notify_drive STATE_DIR BIN_DIR  < commands  > transcript
 *
 * It binds the workers endpoint under STATE_DIR, starts BIN_DIR/rvw-notify
 * as its child, answers its heartbeats (SUP_HB every 250 ms) and reads
 * commands from stdin as they come, one per line, whenever the child is
 * ready (after "restart", only once the new generation said READY):
 *
 *	alert JSON	send an "alert" TASK with JSON as its args
 *	start		send a "start" TASK
 *	finish RUN	from now on, operator actions on RUN are not possible
 *	gate RUN NONCE8	RUN's open gate is now NONCE8 (replacing any other)
 *	live RUN	RUN's lease is live: an unlock of it is refused
 *	hold		leave OPERATOR requests unanswered (the child waits)
 *	unhold		answer OPERATOR requests again
 *	restart		kill -9 the child and start the next generation
 *	stats		print the longest gap between the child's heartbeats
 *	quit		STOP the child, wait for it, exit (also on EOF)
 *
 * It prints "ready GEN", "result OUTCOME BODY" for each task, and
 * "operator RUN ACTION OPERATOR RESULT nonce=NONCE reason=REASON" for
 * each OPERATOR request ("operator-held RUN ACTION" while holding), which
 * it answers like the store's compare-and-set: after "finish" every
 * request is "not_possible"; a nonce that is not the run's open gate (once
 * "gate" named one) is "not_possible" with "no longer possible: that gate
 * is closed"; an unlock of a "live" run is "not_possible" with "lease is
 * live ...; use rvctl unlock --force"; otherwise the first request of an
 * action on a run and gate is "applied", the next ones "already applied".
 * Heartbeat gaps are measured only between READY and the next restart,
 * never across one.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <zmq.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "ipc/msg.h"
#include "ipc/proto.h"
#include "ipc/sock.h"

#define ACTS_MAX	64

struct drive {
	const char	*state, *bin;
	void		*ctx, *router;
	pid_t		 pid;
	long		 gen;
	char		 ident[64];
	bool		 ready, hold;
	long long	 task_id;
	int64_t		 last_hb, max_gap, next_sup_hb;
	char		 acts[ACTS_MAX][90];	/* "run:action:nonce" applied */
	size_t		 nacts;
	char		 finished[ACTS_MAX][40];
	size_t		 nfinished;
	char		 gates[ACTS_MAX][52];	/* "run:nonce8" open */
	size_t		 ngates;
	char		 live[ACTS_MAX][40];
	size_t		 nlive;
};

static void
spawn(struct drive *d)
{
	char path[1024], gen[32], ppid[32];
	pid_t parent = getpid();

	d->gen++;
	d->ready = false;
	snprintf(d->ident, sizeof(d->ident), "notify.0.%ld", d->gen);
	if ((d->pid = fork()) == 0) {
		snprintf(path, sizeof(path), "%s/rvw-notify", d->bin);
		snprintf(gen, sizeof(gen), "%ld", d->gen);
		snprintf(ppid, sizeof(ppid), "%ld", (long)parent);
		(void)close(STDIN_FILENO);
		(void)open("/dev/null", O_RDONLY);
		execl(path, path, "--state-dir", d->state, "--gen", gen,
		    "--instance", "0", "--ppid", ppid, (char *)NULL);
		_exit(127);
	}
}

static void
send_to(struct drive *d, const char *type, cJSON *hdr, const cJSON *body)
{
	if (hdr == NULL)
		hdr = cJSON_CreateObject();
	(void)ipc_send(d->router, d->ident, strlen(d->ident), IPC_TAG_WORKER,
	    type, hdr, body);
	cJSON_Delete(hdr);
}

static void
task(struct drive *d, const char *type, const cJSON *args)
{
	cJSON *h = cJSON_CreateObject();

	cJSON_AddNumberToObject(h, "task_id", (double)++d->task_id);
	cJSON_AddStringToObject(h, "type", type);
	cJSON_AddNumberToObject(h, "epoch", 1);
	send_to(d, IPC_TASK, h, args);
}

static bool
listed(char (*list)[40], size_t n, const char *run)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], run) == 0)
			return true;
	return false;
}

/* The open gate of <run> ("" when "gate" never named one). */
static const char *
open_gate(struct drive *d, const char *run)
{
	size_t i, n = strlen(run);

	for (i = 0; i < d->ngates; i++)
		if (strncmp(d->gates[i], run, n) == 0 && d->gates[i][n] == ':')
			return d->gates[i] + n + 1;
	return "";
}

static void
set_gate(struct drive *d, const char *arg)
{
	char run[40];
	size_t i, n = strcspn(arg, " ");

	if (n == 0 || n >= sizeof(run) || arg[n] != ' ')
		return;
	memcpy(run, arg, n);
	run[n] = '\0';
	for (i = 0; i < d->ngates; i++)
		if (strncmp(d->gates[i], run, n) == 0 && d->gates[i][n] == ':')
			break;
	if (i == d->ngates && d->ngates < ACTS_MAX)
		d->ngates++;
	if (i < d->ngates)
		snprintf(d->gates[i], sizeof(d->gates[0]), "%s:%.8s", run,
		    arg + n + 1);
}

static const char *
cas(struct drive *d, const char *run, const char *action, const char *nonce,
    const char **msg)
{
	const char *gate = open_gate(d, run);
	char key[90];
	size_t i;

	*msg = "";
	if (listed(d->finished, d->nfinished, run))
		return "not_possible";
	if (gate[0] != '\0' && strcmp(gate, nonce) != 0) {
		*msg = "no longer possible: that gate is closed";
		return "not_possible";
	}
	if (strcmp(action, "unlock") == 0 && listed(d->live, d->nlive, run)) {
		*msg = "lease is live until later; use rvctl unlock --force";
		return "not_possible";
	}
	snprintf(key, sizeof(key), "%.40s:%.16s:%.8s", run, action, nonce);
	for (i = 0; i < d->nacts; i++)
		if (strcmp(d->acts[i], key) == 0)
			return "already_applied";
	if (d->nacts < ACTS_MAX)
		strlcpy(d->acts[d->nacts++], key, sizeof(d->acts[0]));
	return "applied";
}

static void
on_operator(struct drive *d, const struct ipc_msg *m)
{
	const char *run = cJSON_GetStringValue(cJSON_GetObjectItem(m->body,
	    "run_id"));
	const char *act = cJSON_GetStringValue(cJSON_GetObjectItem(m->body,
	    "action"));
	const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(m->body,
	    "operator"));
	const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(m->body,
	    "reason"));
	const char *nonce = cJSON_GetStringValue(cJSON_GetObjectItem(m->body,
	    "nonce"));
	const char *res, *msg = "";
	cJSON *h;

	if (d->hold) {
		printf("operator-held %s %s\n", run ? run : "?",
		    act ? act : "?");
		return;
	}
	res = run && act && nonce ? cas(d, run, act, nonce, &msg) :
	    "not_possible";
	h = cJSON_CreateObject();
	printf("operator %s %s %s %s nonce=%s reason=%s\n", run ? run : "?",
	    act ? act : "?", op ? op : "?", res, nonce ? nonce : "?",
	    why ? why : "");
	cJSON_AddNumberToObject(h, "req_id", (double)ipc_hdr_int(m, "req_id",
	    0));
	cJSON_AddBoolToObject(h, "ok", true);
	cJSON_AddStringToObject(h, "result", res);
	cJSON_AddStringToObject(h, "msg", msg[0] ? msg : res);
	send_to(d, IPC_OPERATOR_ACK, h, NULL);
}

static void
on_message(struct drive *d, struct ipc_msg *m)
{
	int64_t now = clock_mono_ms();
	char *s;

	if (strcmp(m->ident, d->ident) != 0)
		return;		/* an old generation */
	if (strcmp(m->type, IPC_READY) == 0) {
		d->ready = true;
		d->last_hb = now;
		printf("ready %ld\n", d->gen);
	} else if (strcmp(m->type, IPC_HB) == 0) {
		if (d->ready && now - d->last_hb > d->max_gap)
			d->max_gap = now - d->last_hb;
		d->last_hb = now;
	} else if (strcmp(m->type, IPC_RESULT) == 0) {
		s = m->body ? cJSON_PrintUnformatted(m->body) : NULL;
		printf("result %s %s\n", ipc_hdr_str(m, "outcome") ?
		    ipc_hdr_str(m, "outcome") : "?", s ? s : "null");
		free(s);
	} else if (strcmp(m->type, IPC_OPERATOR) == 0)
		on_operator(d, m);
	if (d->ready && strcmp(m->type, IPC_HB) != 0)
		d->last_hb = now;	/* any message counts */
}

static void
stop_child(struct drive *d, bool hard)
{
	int64_t end = clock_mono_ms() + 3000;
	int st;

	if (d->pid <= 0)
		return;
	if (hard)
		(void)kill(d->pid, SIGKILL);
	else
		send_to(d, IPC_STOP, NULL, NULL);
	while (waitpid(d->pid, &st, WNOHANG) == 0) {
		if (clock_mono_ms() > end) {
			(void)kill(d->pid, SIGKILL);
			(void)waitpid(d->pid, &st, 0);
			break;
		}
		clock_sleep_ms(20);
	}
	d->pid = -1;
}

/* One command line.  Returns -1 on quit. */
static int
command(struct drive *d, char *line)
{
	cJSON *args;

	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "alert ", 6) == 0) {
		if ((args = cJSON_Parse(line + 6)) == NULL) {
			printf("error bad json\n");
			return 0;
		}
		task(d, "alert", args);
		cJSON_Delete(args);
	} else if (strcmp(line, "start") == 0)
		task(d, "start", NULL);
	else if (strcmp(line, "hold") == 0)
		d->hold = true;
	else if (strcmp(line, "unhold") == 0)
		d->hold = false;
	else if (strncmp(line, "finish ", 7) == 0 && d->nfinished < ACTS_MAX)
		strlcpy(d->finished[d->nfinished++], line + 7,
		    sizeof(d->finished[0]));
	else if (strncmp(line, "gate ", 5) == 0)
		set_gate(d, line + 5);
	else if (strncmp(line, "live ", 5) == 0 && d->nlive < ACTS_MAX)
		strlcpy(d->live[d->nlive++], line + 5, sizeof(d->live[0]));
	else if (strcmp(line, "restart") == 0) {
		stop_child(d, true);
		spawn(d);
	} else if (strcmp(line, "stats") == 0)
		printf("hb_max_gap_ms %lld\n", (long long)d->max_gap);
	else if (strcmp(line, "quit") == 0)
		return -1;
	else if (line[0] != '\0')
		printf("error unknown command\n");
	return 0;
}

static int
loop(struct drive *d)
{
	static char line[65536];
	char err[256];
	struct ipc_msg m;
	size_t len = 0;
	ssize_t n;
	char *nl;
	bool eof = false;

	for (;;) {
		zmq_pollitem_t it[2] = { { d->router, 0, ZMQ_POLLIN, 0 },
		    { NULL, STDIN_FILENO, ZMQ_POLLIN, 0 } };

		/* Commands wait until the child is there to get them. */
		(void)zmq_poll(it, d->ready ? 2 : 1, 50);
		while (ipc_recv(d->router, true, &m, err, sizeof(err)) ==
		    IPC_RECV_OK) {
			on_message(d, &m);
			ipc_msg_clear(&m);
		}
		if (d->ready && clock_mono_ms() >= d->next_sup_hb) {
			send_to(d, IPC_SUP_HB, NULL, NULL);
			d->next_sup_hb = clock_mono_ms() + 250;
		}
		if (d->ready && (it[1].revents & ZMQ_POLLIN)) {
			n = read(STDIN_FILENO, line + len,
			    sizeof(line) - 1 - len);
			if (n <= 0)
				eof = true;
			else
				len += (size_t)n;
			line[len] = '\0';
		}
		while (d->ready && (nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (command(d, line) == -1)
				return 0;
			memmove(line, nl + 1, strlen(nl + 1) + 1);
			len = strlen(line);
		}
		if (eof && strchr(line, '\n') == NULL)
			return 0;
		fflush(stdout);
	}
}

int
main(int argc, char **argv)
{
	static struct drive d;
	char ep[256], dir[1100], err[256];

	if (argc != 3) {
		fprintf(stderr, "usage: rv_notify_drive STATE_DIR BIN_DIR\n");
		return 64;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	d.state = argv[1];
	d.bin = argv[2];
	snprintf(dir, sizeof(dir), "%s/runtime", d.state);
	(void)fs_mkdirs(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/logs", d.state);
	(void)fs_mkdirs(dir, 0700);
	if (ipc_endpoint(ep, sizeof(ep), d.state, IPC_WORKERS_NAME) == -1)
		return 1;
	d.ctx = zmq_ctx_new();
	if ((d.router = ipc_router_bind(d.ctx, ep, 0600, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "rv_notify_drive: %s\n", err);
		return 1;
	}
	spawn(&d);
	(void)loop(&d);
	stop_child(&d, false);
	ipc_close(d.router);
	zmq_ctx_term(d.ctx);
	return 0;
}
