/* SPDX-License-Identifier: ISC */
/*
 * rv_garbage: a hostile peer for tests.  It connects to an rvsup endpoint
 * (workers.ipc or control.ipc under a state dir) and sends malformed
 * traffic: random bytes, wrong tags, unknown types, bad JSON, missing
 * header keys, too many frames, a body where none is allowed, oversized
 * frames, and valid-looking messages from an unknown routing id.  It exits
 * 0 when everything was sent; the test then checks that the supervisor is
 * alive and still answers.
 *
 *	rv_garbage STATE_DIR workers|control
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "ipc/proto.h"
#include "ipc/sock.h"

static void
sendm(void *s, const char **frames, const size_t *lens, int n)
{
	int i;

	for (i = 0; i < n; i++)
		(void)zmq_send(s, frames[i], lens[i], i + 1 < n ?
		    ZMQ_SNDMORE : 0);
}

#define SEND(...) do {							\
	const char *f_[] = { __VA_ARGS__ };				\
	size_t l_[sizeof(f_) / sizeof(f_[0])];				\
	for (size_t i_ = 0; i_ < sizeof(f_) / sizeof(f_[0]); i_++)	\
		l_[i_] = strlen(f_[i_]);				\
	sendm(s, f_, l_, (int)(sizeof(f_) / sizeof(f_[0])));		\
} while (0)

int
main(int argc, char **argv)
{
	char ep[256], rnd[4096], *big;
	const char *fr[2];
	size_t ln[2], bigsz = 3 * 1024 * 1024;
	void *ctx, *s;
	int i, zero = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: rv_garbage STATE_DIR workers|control\n");
		return 64;
	}
	if (ipc_endpoint(ep, sizeof(ep), argv[1], strcmp(argv[2], "control")
	    == 0 ? IPC_CONTROL_NAME : IPC_WORKERS_NAME) == -1)
		return 1;
	ctx = zmq_ctx_new();
	s = zmq_socket(ctx, ZMQ_DEALER);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	if (zmq_connect(s, ep) == -1)
		return 1;
	usleep(200000);
	for (i = 0; i < (int)sizeof(rnd); i++)
		rnd[i] = (char)(rand() & 0xff);
	fr[0] = rnd;
	ln[0] = sizeof(rnd);
	sendm(s, fr, ln, 1);
	SEND("XXXX", "READY", "{}");
	SEND(IPC_TAG_WORKER, "NOPE", "{}");
	SEND(IPC_TAG_WORKER, IPC_HB, "{not json");
	SEND(IPC_TAG_WORKER, IPC_HB, "[1,2,3]");
	SEND(IPC_TAG_WORKER, IPC_READY, "{\"kind\":\"evidence\"}");
	SEND(IPC_TAG_WORKER, IPC_RESULT, "{\"task_id\":\"x\"}", "{}");
	SEND(IPC_TAG_WORKER, IPC_HB, "{\"progress\":1,\"busy\":true}", "{}");
	SEND(IPC_TAG_WORKER, IPC_HB, "{}", "{}", "{}", "{}", "{}");
	SEND(IPC_TAG_WORKER, "", "{}");
	SEND(IPC_TAG_WORKER, IPC_RESULT, "{\"task_id\":1,\"outcome\":\"ok\","
	    "\"epoch\":1}", "{\"segments\":\"no\"}");
	SEND(IPC_TAG_CONTROL, IPC_CTL_STATUS, "{\"id\":\"x\"}");
	SEND(IPC_TAG_CONTROL, IPC_CTL_STATUS, "{}");
	big = malloc(bigsz);
	memset(big, '{', bigsz);
	fr[0] = IPC_TAG_WORKER;
	ln[0] = 4;
	sendm(s, fr, ln, 1);
	fr[0] = IPC_TAG_WORKER;
	fr[1] = big;
	ln[1] = bigsz;
	sendm(s, fr, ln, 2);
	free(big);
	usleep(300000);
	zmq_close(s);
	zmq_ctx_term(ctx);
	puts("garbage sent");
	return 0;
}
