/* SPDX-License-Identifier: ISC */
/*
 * ctl_status.c: rvctl status, and the client side of the control channel.
 *
 * A running supervisor is asked over state/runtime/control.ipc (a DEALER,
 * one request, a bounded wait).  Without a supervisor holding the pid
 * file, status says so and exits 3 (--json: "supervisor": null).
 *
 * Public: ctl_status, ctl_control_request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <zmq.h>

#include "common/runtime.h"
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

static void
print_human(const cJSON *st)
{
	const cJSON *s = cJSON_GetObjectItem(st, "supervisor");
	const cJSON *r = cJSON_GetObjectItem(st, "run"), *c;

	printf("supervisor  pid %d  worker %s  state %s  since %s\n",
	    (int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "pid")),
	    cJSON_GetStringValue(cJSON_GetObjectItem(s, "worker_id")),
	    cJSON_GetStringValue(cJSON_GetObjectItem(s, "state")),
	    cJSON_GetStringValue(cJSON_GetObjectItem(s, "started_at")));
	if (!cJSON_IsObject(r))
		printf("run         none\n");
	else
		printf("run         %s (%s)  stage %s  status %s  epoch %d  "
		    "heartbeat latency %d ms\n",
		    cJSON_GetStringValue(cJSON_GetObjectItem(r, "video_id")),
		    cJSON_GetStringValue(cJSON_GetObjectItem(r, "run_id")),
		    cJSON_GetStringValue(cJSON_GetObjectItem(r, "stage")),
		    cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")),
		    (int)cJSON_GetNumberValue(cJSON_GetObjectItem(r,
		    "lease_epoch")), (int)cJSON_GetNumberValue(
		    cJSON_GetObjectItem(r, "last_heartbeat_latency_ms")));
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(st, "children"))
		printf("child       %-9s pid %-7d %-9s restarts %-3d last "
		    "heartbeat %d ms ago\n",
		    cJSON_GetStringValue(cJSON_GetObjectItem(c, "kind")),
		    (int)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "pid")),
		    cJSON_GetStringValue(cJSON_GetObjectItem(c, "state")),
		    (int)cJSON_GetNumberValue(cJSON_GetObjectItem(c,
		    "restarts")), (int)cJSON_GetNumberValue(
		    cJSON_GetObjectItem(c, "last_heartbeat_ms_ago")));
}

int
ctl_status(struct ctl_env *env, int argc, char **argv)
{
	char err[512];
	cJSON *st;
	pid_t pid;

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
	if (st == NULL) {
		if (env->json)
			puts("{\"supervisor\":null,\"run\":null,"
			    "\"children\":[]}");
		else if (pid > 0)
			printf("rvsup %ld holds %s but did not answer: %s\n",
			    (long)pid, env->cfg.state_dir, err);
		else
			printf("no supervisor is running on %s\n",
			    env->cfg.state_dir);
		return CTL_NOTRUN;
	}
	if (env->json)
		ctl_print_json(st);
	else
		print_human(st);
	cJSON_Delete(st);
	return CTL_OK;
}
