/* SPDX-License-Identifier: ISC */
/*
 * rv_child_drive: plays the supervisor for one stage child and one task,
 * for tests that must not depend on rvsup.
 *
 *	rv_child_drive STATE_DIR BIN_DIR KIND TASK_TYPE ARGS_FILE [SECONDS]
 *
 * It binds the workers endpoint under STATE_DIR, starts BIN_DIR/rvw-KIND
 * as its child (generation 1), waits for READY, sends one TASK of
 * TASK_TYPE with the JSON object in ARGS_FILE as its args, answers the
 * child's heartbeats (SUP_HB every 250 ms) and its ledger requests (every
 * intent fresh, every result ok), and stops the child once the result is
 * in, or kills it after SECONDS (default 120).  Its transcript:
 *
 *	ready
 *	event TYPE		each event the child sent
 *	ledger OP KEY		each ledger request
 *	browser on|off		each change of the heartbeats' "browser" flag
 *	result OUTCOME BODY	the task's result
 *	hb_max_gap_ms N		longest gap between two heartbeats while busy
 *	hb_busy N		heartbeats received while busy
 *	timeout			no result in time (exit status 1)
 *
 * A child that goes silent longer than its own liveness x interval would
 * be killed by rvsup; here the gap is only measured and reported.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
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

struct drive {
	const char	*state, *bin, *kind;
	void		*ctx, *router;
	pid_t		 pid;
	char		 ident[64];
	bool		 ready, busy, browser, done;
	int64_t		 last_hb, max_gap, next_sup_hb;
	long		 hb_busy;
};

static void
spawn(struct drive *d)
{
	char path[1024], ppid[32];
	pid_t parent = getpid();

	snprintf(d->ident, sizeof(d->ident), "%s.0.1", d->kind);
	if ((d->pid = fork()) == 0) {
		snprintf(path, sizeof(path), "%s/rvw-%s", d->bin, d->kind);
		snprintf(ppid, sizeof(ppid), "%ld", (long)parent);
		(void)close(STDIN_FILENO);
		(void)open("/dev/null", O_RDONLY);
		execl(path, path, "--state-dir", d->state, "--gen", "1",
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
on_ledger(struct drive *d, const struct ipc_msg *m)
{
	const char *op = ipc_hdr_str(m, "op");
	cJSON *h = cJSON_CreateObject();

	printf("ledger %s %s\n", op != NULL ? op : "?",
	    cJSON_GetStringValue(cJSON_GetObjectItem(m->body, "key")) ?: "?");
	cJSON_AddNumberToObject(h, "req_id", (double)ipc_hdr_int(m, "req_id",
	    0));
	cJSON_AddBoolToObject(h, "ok", true);
	cJSON_AddBoolToObject(h, "fresh", true);
	cJSON_AddStringToObject(h, "prev_state", "");
	send_to(d, IPC_LEDGER_ACK, h, NULL);
}

static void
on_hb(struct drive *d, const struct ipc_msg *m, int64_t now)
{
	bool browser = cJSON_IsTrue(cJSON_GetObjectItem(m->hdr, "browser"));

	if (d->busy) {
		if (now - d->last_hb > d->max_gap)
			d->max_gap = now - d->last_hb;
		d->hb_busy++;
	}
	d->last_hb = now;
	if (browser != d->browser) {
		d->browser = browser;
		printf("browser %s\n", browser ? "on" : "off");
	}
}

static void
on_message(struct drive *d, struct ipc_msg *m)
{
	int64_t now = clock_mono_ms();
	char *s;

	if (strcmp(m->ident, d->ident) != 0)
		return;
	if (strcmp(m->type, IPC_READY) == 0) {
		d->ready = true;
		d->last_hb = now;
		printf("ready\n");
	} else if (strcmp(m->type, IPC_HB) == 0)
		on_hb(d, m, now);
	else if (strcmp(m->type, IPC_EVENT) == 0)
		printf("event %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(
		    m->body, "event_type")) ?: "?");
	else if (strcmp(m->type, IPC_LEDGER) == 0)
		on_ledger(d, m);
	else if (strcmp(m->type, IPC_RESULT) == 0) {
		s = m->body ? cJSON_PrintUnformatted(m->body) : NULL;
		printf("result %s %s\n", ipc_hdr_str(m, "outcome") ?: "?",
		    s ? s : "null");
		if (ipc_hdr_str(m, "error") != NULL)
			printf("error %s\n", ipc_hdr_str(m, "error"));
		free(s);
		d->busy = false;
		d->done = true;
	}
}

static void
stop_child(struct drive *d)
{
	int64_t end = clock_mono_ms() + 5000;
	int st;

	if (d->pid <= 0)
		return;
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

static void
send_task(struct drive *d, const char *type, const cJSON *args)
{
	cJSON *h = cJSON_CreateObject();

	cJSON_AddNumberToObject(h, "task_id", 1);
	cJSON_AddStringToObject(h, "type", type);
	cJSON_AddNumberToObject(h, "epoch", 1);
	send_to(d, IPC_TASK, h, args);
	d->busy = true;
	d->last_hb = clock_mono_ms();
}

/* Returns 0 once the result is in, -1 at the deadline. */
static int
loop(struct drive *d, const char *type, const cJSON *args, int64_t deadline)
{
	struct ipc_msg m;
	char err[256];
	bool sent = false;

	while (!d->done) {
		zmq_pollitem_t it = { d->router, 0, ZMQ_POLLIN, 0 };

		if (clock_mono_ms() > deadline)
			return -1;
		(void)zmq_poll(&it, 1, 50);
		while (ipc_recv(d->router, true, &m, err, sizeof(err)) ==
		    IPC_RECV_OK) {
			on_message(d, &m);
			ipc_msg_clear(&m);
		}
		if (d->ready && clock_mono_ms() >= d->next_sup_hb) {
			send_to(d, IPC_SUP_HB, NULL, NULL);
			d->next_sup_hb = clock_mono_ms() + 250;
		}
		if (d->ready && !sent) {
			send_task(d, type, args);
			sent = true;
		}
		fflush(stdout);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct drive d;
	char ep[256], dir[1100], err[256], *text = NULL;
	size_t len;
	cJSON *args;
	int rc;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: rv_child_drive STATE_DIR BIN_DIR KIND "
		    "TASK_TYPE ARGS_FILE [SECONDS]\n");
		return 64;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	d.state = argv[1];
	d.bin = argv[2];
	d.kind = argv[3];
	if (fs_read_file(argv[5], 1024 * 1024, &text, &len) == -1 ||
	    (args = cJSON_Parse(text)) == NULL) {
		fprintf(stderr, "rv_child_drive: %s: not a JSON file\n",
		    argv[5]);
		return 65;
	}
	free(text);
	snprintf(dir, sizeof(dir), "%s/runtime", d.state);
	(void)fs_mkdirs(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/logs", d.state);
	(void)fs_mkdirs(dir, 0700);
	if (ipc_endpoint(ep, sizeof(ep), d.state, IPC_WORKERS_NAME) == -1)
		return 1;
	d.ctx = zmq_ctx_new();
	if ((d.router = ipc_router_bind(d.ctx, ep, 0600, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "rv_child_drive: %s\n", err);
		return 1;
	}
	spawn(&d);
	rc = loop(&d, argv[4], args, clock_mono_ms() +
	    1000 * (argc == 7 ? atol(argv[6]) : 120));
	if (rc == -1)
		printf("timeout\n");
	printf("hb_max_gap_ms %lld\nhb_busy %ld\n", (long long)d.max_gap,
	    d.hb_busy);
	stop_child(&d);
	cJSON_Delete(args);
	ipc_close(d.router);
	zmq_ctx_term(d.ctx);
	return rc == 0 ? 0 : 1;
}
