/* SPDX-License-Identifier: ISC */
/*
 * ipc_fuzz.c: libFuzzer target for the message decoder (ipc/msg.c,
 * ipc_recv() and the validation of every message type) over a real
 * inproc ROUTER/DEALER pair, as the supervisor and a child use it.  The
 * first input byte picks the direction (a child's message to the
 * supervisor's ROUTER, or the supervisor's to a child's DEALER); the
 * rest is split into frames at each 0xFF 0xFE pair (bytes that UTF-8
 * text never holds).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "ipc/msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FRAMES_MAX	8

static void *ctx, *router, *dealer;

static void
setup(void)
{
	int zero = 0;

	if ((ctx = zmq_ctx_new()) == NULL ||
	    (router = zmq_socket(ctx, ZMQ_ROUTER)) == NULL ||
	    (dealer = zmq_socket(ctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof(zero)) == -1 ||
	    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof(zero)) == -1 ||
	    zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "fz", 2) == -1 ||
	    zmq_bind(router, "inproc://ipc_fuzz") == -1 ||
	    zmq_connect(dealer, "inproc://ipc_fuzz") == -1) {
		fprintf(stderr, "ipc_fuzz: zmq setup: %s\n",
		    zmq_strerror(zmq_errno()));
		abort();
	}
}

static void
send_or_die(void *sock, const void *p, size_t n, bool more)
{
	if (zmq_send(sock, p, n, more ? ZMQ_SNDMORE : 0) == -1) {
		fprintf(stderr, "ipc_fuzz: send: %s\n",
		    zmq_strerror(zmq_errno()));
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *fr[FRAMES_MAX], *p, *end;
	size_t len[FRAMES_MAX], n = 0, i;
	struct ipc_msg m;
	char err[256];
	bool to_router;
	void *from, *to;
	zmq_pollitem_t pi = { 0 };
	enum ipc_recv_result r;

	if (size == 0)
		return 0;
	if (ctx == NULL)
		setup();
	to_router = (data[0] & 1) == 0;
	p = data + 1;
	end = data + size;
	while (n < FRAMES_MAX) {
		const uint8_t *q = p;

		while (q + 1 < end && !(q[0] == 0xff && q[1] == 0xfe))
			q++;
		if (q + 1 >= end)
			q = end;
		fr[n] = p;
		len[n++] = (size_t)(q - p);
		if (q == end)
			break;
		p = q + 2;
	}
	from = to_router ? dealer : router;
	to = to_router ? router : dealer;
	if (!to_router)
		send_or_die(from, "fz", 2, true);	/* the route */
	for (i = 0; i < n; i++)
		send_or_die(from, fr[i], len[i], i + 1 < n);
	/* Read exactly the message sent: wait for it when not yet there. */
	pi.socket = to;
	pi.events = ZMQ_POLLIN;
	while ((r = ipc_recv(to, to_router, &m, err, sizeof(err))) ==
	    IPC_RECV_NONE)
		if (zmq_poll(&pi, 1, 1000) != 1) {
			fprintf(stderr, "ipc_fuzz: message not delivered\n");
			abort();
		}
	if (r == IPC_RECV_OK) {
		(void)ipc_hdr_str(&m, "task_id");
		(void)ipc_hdr_int(&m, "epoch", 0);
		ipc_msg_clear(&m);
	}
	return 0;
}
