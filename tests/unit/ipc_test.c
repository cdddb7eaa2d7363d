/* SPDX-License-Identifier: ISC */
/*
 * ipc_test: the message layer over a real inproc ROUTER/DEALER pair.
 * Valid messages round-trip; every kind of malformed message is reported
 * as invalid with a reason, and the next valid message still arrives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <zmq.h>

#include "ipc/msg.h"
#include "ipc/proto.h"
#include "tests/unit/test.h"

static void *router, *dealer;

static void
raw(int n, const char *const *f)
{
	int i;

	for (i = 0; i < n; i++)
		zmq_send(dealer, f[i], strlen(f[i]), i + 1 < n ? ZMQ_SNDMORE :
		    0);
}

static enum ipc_recv_result
get(struct ipc_msg *m, char *err, size_t errlen)
{
	zmq_pollitem_t it = { router, 0, ZMQ_POLLIN, 0 };

	zmq_poll(&it, 1, 1000);
	return ipc_recv(router, true, m, err, errlen);
}

struct bad_case {
	const char	*name;
	int		 n;
	const char	*f[6];
	const char	*why;
};

static const struct bad_case bad[] = {
	{ "one frame", 1, { "RVW1" }, "frame count" },
	{ "wrong tag", 3, { "XXXX", "HB", "{}" }, "tag" },
	{ "old version", 3, { "RVW0", "HB", "{}" }, "tag" },
	{ "unknown type", 3, { "RVW1", "EXPLODE", "{}" }, "unknown" },
	{ "long type", 3, { "RVW1", "AAAAAAAAAAAAAAAAAAAA", "{}" }, "type" },
	{ "bad json", 3, { "RVW1", "HB", "{nope" }, "JSON" },
	{ "array header", 3, { "RVW1", "HB", "[]" }, "object" },
	{ "missing key", 3, { "RVW1", "HB", "{\"progress\":1}" }, "busy" },
	{ "wrong key type", 3, { "RVW1", "HB",
	    "{\"progress\":\"1\",\"busy\":true}" }, "progress" },
	{ "optional key type", 3, { "RVW1", "HB",
	    "{\"progress\":1,\"busy\":true,\"browser\":1}" }, "browser" },
	{ "rhythm type", 3, { "RVW1", "HB",
	    "{\"progress\":1,\"busy\":false,\"next_ms\":\"60000\"}" },
	    "next_ms" },
	{ "ready rhythm type", 3, { "RVW1", "READY",
	    "{\"kind\":\"voice\",\"pid\":1,\"gen\":1,\"next_ms\":[]}" },
	    "next_ms" },
	{ "body not allowed", 4, { "RVW1", "HB",
	    "{\"progress\":1,\"busy\":true}", "{}" }, "body" },
	{ "bad body", 4, { "RVW1", "RESULT",
	    "{\"task_id\":1,\"outcome\":\"ok\"}", "nope" }, "JSON" },
	{ "too many frames", 6, { "RVW1", "HB", "{}", "{}", "{}", "{}" },
	    "frame" },
};

int
main(void)
{
	struct ipc_msg m;
	char err[256];
	cJSON *h, *b;
	void *ctx = zmq_ctx_new();
	size_t i;
	char *big;
	const char *bf[3];

	router = zmq_socket(ctx, ZMQ_ROUTER);
	dealer = zmq_socket(ctx, ZMQ_DEALER);
	zmq_bind(router, "inproc://t");
	zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "voice.0.1", 9);
	zmq_connect(dealer, "inproc://t");

	h = cJSON_Parse("{\"task_id\":7,\"outcome\":\"ok\"}");
	b = cJSON_Parse("{\"segments\":[]}");
	CHECK("send", ipc_send(dealer, NULL, 0, IPC_TAG_WORKER, IPC_RESULT, h,
	    b) == 0, "ipc_send failed");
	CHECK("recv ok", get(&m, err, sizeof(err)) == IPC_RECV_OK, "%s", err);
	CHECK("ident", strcmp(m.ident, "voice.0.1") == 0, "ident %s", m.ident);
	CHECK("type", strcmp(m.type, "RESULT") == 0, "type %s", m.type);
	CHECK("hdr", ipc_hdr_int(&m, "task_id", 0) == 7, "task_id");
	CHECK("body", cJSON_IsArray(cJSON_GetObjectItem(m.body, "segments")),
	    "body");
	ipc_msg_clear(&m);
	cJSON_Delete(h);
	cJSON_Delete(b);
	CHECK("empty", ipc_recv(router, true, &m, err, sizeof(err)) ==
	    IPC_RECV_NONE, "expected nothing");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw(bad[i].n, bad[i].f);
		err[0] = '\0';
		CHECK(bad[i].name, get(&m, err, sizeof(err)) ==
		    IPC_RECV_INVALID, "not reported invalid");
		CHECK(bad[i].name, strstr(err, bad[i].why) != NULL,
		    "reason \"%s\" lacks \"%s\"", err, bad[i].why);
	}
	big = malloc(IPC_HDR_MAX + 10);
	memset(big, ' ', IPC_HDR_MAX + 9);
	big[IPC_HDR_MAX + 9] = '\0';
	big[0] = '{';
	big[IPC_HDR_MAX + 8] = '}';
	bf[0] = "RVW1";
	bf[1] = "HB";
	bf[2] = big;
	raw(3, bf);
	CHECK("oversized header", get(&m, err, sizeof(err)) ==
	    IPC_RECV_INVALID && strstr(err, "too large") != NULL, "%s", err);
	free(big);

	h = cJSON_Parse("{\"progress\":3,\"busy\":false}");
	ipc_send(dealer, NULL, 0, IPC_TAG_WORKER, IPC_HB, h, NULL);
	cJSON_Delete(h);
	CHECK("valid after garbage", get(&m, err, sizeof(err)) ==
	    IPC_RECV_OK && ipc_hdr_int(&m, "progress", 0) == 3, "%s", err);
	ipc_msg_clear(&m);
	h = cJSON_Parse("{\"progress\":3,\"busy\":false,\"next_ms\":60000}");
	ipc_send(dealer, NULL, 0, IPC_TAG_WORKER, IPC_HB, h, NULL);
	cJSON_Delete(h);
	CHECK("rhythm", get(&m, err, sizeof(err)) == IPC_RECV_OK &&
	    ipc_hdr_int(&m, "next_ms", -1) == 60000, "%s", err);
	ipc_msg_clear(&m);

	zmq_close(dealer);
	zmq_close(router);
	zmq_ctx_term(ctx);
	return test_exit();
}
