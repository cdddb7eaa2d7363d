/* SPDX-License-Identifier: ISC */
/*
 * rv_ctlstub: plays a running rvsup's control endpoint, for rvctl tests.
 *
 *	rv_ctlstub STATE_DIR STATUS.json
 *
 * It holds STATE_DIR/runtime/rvsup.pid locked with its own pid (as rvsup
 * does, so rvctl believes a supervisor runs), binds the control endpoint
 * and answers every STATUS request with the JSON object in STATUS.json,
 * read again for each request (a test can rewrite it between two
 * commands: an unusable store, a run state, a gate).  Other requests are
 * answered ok with no body.  It prints "ready" once bound and runs until
 * SIGTERM or SIGINT.  Exit 0, or 1 with a message on stderr.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <zmq.h>

#include "common/core/fsutil.h"
#include "ipc/msg.h"
#include "ipc/proto.h"
#include "ipc/sock.h"

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

/* Lock the pid file as rvsup does and write our pid in it. */
static int
hold_pid_file(const char *state)
{
	char dir[1100], path[1200], buf[32];
	int fd, n;

	snprintf(dir, sizeof(dir), "%s/runtime", state);
	snprintf(path, sizeof(path), "%s/rvsup.pid", dir);
	if (fs_mkdirs(dir, 0700) == -1 || (fd = open(path, O_RDWR | O_CREAT,
	    0600)) == -1 || flock(fd, LOCK_EX | LOCK_NB) == -1) {
		fprintf(stderr, "rv_ctlstub: %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, buf, (size_t)n) != n) {
		fprintf(stderr, "rv_ctlstub: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;		/* kept open: the lock lasts our life */
}

static void
answer(void *router, const struct ipc_msg *m, const char *status_path)
{
	cJSON *h = cJSON_CreateObject(), *body = NULL;
	char *txt = NULL;

	cJSON_AddNumberToObject(h, "id", (double)ipc_hdr_int(m, "id", 0));
	if (strcmp(m->type, IPC_CTL_STATUS) == 0) {
		if (fs_read_file(status_path, 1 << 20, &txt, NULL) == 0)
			body = cJSON_Parse(txt);
		free(txt);
	}
	if (strcmp(m->type, IPC_CTL_STATUS) == 0 && !cJSON_IsObject(body)) {
		cJSON_AddBoolToObject(h, "ok", false);
		cJSON_AddStringToObject(h, "error", "stub: no status JSON");
	} else
		cJSON_AddBoolToObject(h, "ok", true);
	(void)ipc_send(router, m->ident, m->identlen, IPC_TAG_CONTROL,
	    IPC_CTL_REPLY, h, body);
	cJSON_Delete(h);
	cJSON_Delete(body);
}

int
main(int argc, char **argv)
{
	char ep[256], err[256];
	struct ipc_msg m;
	void *ctx, *router;
	int pidfd;

	if (argc != 3) {
		fprintf(stderr, "usage: rv_ctlstub STATE_DIR STATUS.json\n");
		return 64;
	}
	(void)signal(SIGTERM, on_signal);
	(void)signal(SIGINT, on_signal);
	if ((pidfd = hold_pid_file(argv[1])) == -1 ||
	    ipc_endpoint(ep, sizeof(ep), argv[1], IPC_CONTROL_NAME) == -1)
		return 1;
	ctx = zmq_ctx_new();
	if ((router = ipc_router_bind(ctx, ep, 0600, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "rv_ctlstub: %s\n", err);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!quit) {
		zmq_pollitem_t it = { router, 0, ZMQ_POLLIN, 0 };

		(void)zmq_poll(&it, 1, 100);
		while (ipc_recv(router, true, &m, err, sizeof(err)) ==
		    IPC_RECV_OK) {
			answer(router, &m, argv[2]);
			ipc_msg_clear(&m);
		}
	}
	ipc_close(router);
	zmq_ctx_term(ctx);
	(void)close(pidfd);
	return 0;
}
