/* SPDX-License-Identifier: ISC */
/*
 * msg.c: encode and decode RayVault's multipart messages.
 *
 * ipc_recv() reads one whole multipart message and validates it before any
 * field is used: frame count, tag, known type for that tag, per-frame size
 * limits, JSON shape of the header and body, the header keys the type
 * table requires, and the type of the optional keys it names when they
 * are there.  An invalid message is consumed entirely and reported
 * as IPC_RECV_INVALID with a reason; the caller warns and drops it (or
 * answers an rvctl client with an error), and never crashes on it.
 * ipc_send() is the only way messages are written.  Nothing here knows
 * what a task or a run is.
 *
 * Public: ipc_recv, ipc_send, ipc_msg_clear, ipc_validate, ipc_hdr_str,
 * ipc_hdr_int.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <zmq.h>

#include "ipc/msg.h"
#include "ipc/proto.h"

enum key_type {
	K_STR, K_NUM, K_BOOL,
	K_OPT_BOOL,		/* absent, or a bool */
	K_OPT_NUM		/* absent, or a number */
};

struct req_key {
	const char	*name;
	enum key_type	 type;
};

struct type_spec {
	const char	*tag;
	const char	*type;
	bool		 body_allowed;
	struct req_key	 keys[4];
};

static const struct type_spec type_table[] = {
	{ IPC_TAG_WORKER, IPC_READY, false,
	    { { "kind", K_STR }, { "pid", K_NUM }, { "gen", K_NUM },
	    { "next_ms", K_OPT_NUM } } },
	{ IPC_TAG_WORKER, IPC_HB, false,
	    { { "progress", K_NUM }, { "busy", K_BOOL },
	    { "browser", K_OPT_BOOL }, { "next_ms", K_OPT_NUM } } },
	{ IPC_TAG_WORKER, IPC_RESULT, true,
	    { { "task_id", K_NUM }, { "outcome", K_STR } } },
	{ IPC_TAG_WORKER, IPC_EVENT, true, { { "task_id", K_NUM } } },
	{ IPC_TAG_WORKER, IPC_LEDGER, true,
	    { { "req_id", K_NUM }, { "op", K_STR } } },
	{ IPC_TAG_WORKER, IPC_TASK, true,
	    { { "task_id", K_NUM }, { "type", K_STR }, { "epoch", K_NUM } } },
	{ IPC_TAG_WORKER, IPC_STOP, false, { { NULL, K_STR } } },
	{ IPC_TAG_WORKER, IPC_LEDGER_ACK, false,
	    { { "req_id", K_NUM }, { "ok", K_BOOL } } },
	{ IPC_TAG_WORKER, IPC_SUP_HB, false, { { NULL, K_STR } } },
	{ IPC_TAG_WORKER, IPC_VERBOSE, false, { { "level", K_NUM } } },
	{ IPC_TAG_WORKER, IPC_OPERATOR, true, { { "req_id", K_NUM } } },
	{ IPC_TAG_WORKER, IPC_OPERATOR_ACK, false,
	    { { "req_id", K_NUM }, { "ok", K_BOOL } } },
	{ IPC_TAG_CONTROL, IPC_CTL_STATUS, false, { { "id", K_NUM } } },
	{ IPC_TAG_CONTROL, IPC_CTL_VERBOSE, false,
	    { { "id", K_NUM }, { "level", K_NUM } } },
	{ IPC_TAG_CONTROL, IPC_CTL_REPLY, true,
	    { { "id", K_NUM }, { "ok", K_BOOL } } },
};

static const struct type_spec *
type_lookup(const char *tag, const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++)
		if (strcmp(type_table[i].tag, tag) == 0 &&
		    strcmp(type_table[i].type, type) == 0)
			return &type_table[i];
	return NULL;
}

static bool
key_ok(const cJSON *v, enum key_type t)
{
	switch (t) {
	case K_STR:
		return cJSON_IsString(v);
	case K_NUM:
		return cJSON_IsNumber(v);
	case K_BOOL:
		return cJSON_IsBool(v);
	case K_OPT_BOOL:
		return v == NULL || cJSON_IsBool(v);
	case K_OPT_NUM:
		return v == NULL || cJSON_IsNumber(v);
	}
	return false;
}

/*
 * Check a decoded message against the type table.  Returns 0, or -1 with
 * <err> naming the problem.
 */
int
ipc_validate(const char *tag, const char *type, const cJSON *hdr,
    const cJSON *body, char *err, size_t errlen)
{
	const struct type_spec *ts;
	const cJSON *v;
	size_t i;

	if ((ts = type_lookup(tag, type)) == NULL) {
		snprintf(err, errlen, "unknown message type \"%.16s\" for %s",
		    type, tag);
		return -1;
	}
	if (!cJSON_IsObject(hdr)) {
		snprintf(err, errlen, "%s: header is not a JSON object", type);
		return -1;
	}
	if (body != NULL && !ts->body_allowed) {
		snprintf(err, errlen, "%s: unexpected body frame", type);
		return -1;
	}
	if (body != NULL && !cJSON_IsObject(body) && !cJSON_IsArray(body)) {
		snprintf(err, errlen, "%s: body is not a JSON object", type);
		return -1;
	}
	for (i = 0; i < 4 && ts->keys[i].name != NULL; i++) {
		v = cJSON_GetObjectItemCaseSensitive(hdr, ts->keys[i].name);
		if (!key_ok(v, ts->keys[i].type)) {
			snprintf(err, errlen, "%s: header key \"%s\" missing "
			    "or of the wrong type", type, ts->keys[i].name);
			return -1;
		}
	}
	return 0;
}

void
ipc_msg_clear(struct ipc_msg *m)
{
	cJSON_Delete(m->hdr);
	cJSON_Delete(m->body);
	memset(m, 0, sizeof(*m));
}

/* Read and discard what is left of a multipart message. */
static void
drain(void *sock)
{
	zmq_msg_t f;
	int more;
	size_t sz = sizeof(more);

	for (;;) {
		if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == -1 ||
		    !more)
			return;
		zmq_msg_init(&f);
		if (zmq_msg_recv(&f, sock, 0) == -1) {
			zmq_msg_close(&f);
			return;
		}
		zmq_msg_close(&f);
	}
}

static cJSON *
parse_frame(zmq_msg_t *f, size_t max, const char *what, char *err,
    size_t errlen)
{
	size_t len = zmq_msg_size(f);
	const char *end = NULL;
	cJSON *j;

	if (len > max) {
		snprintf(err, errlen, "%s frame too large (%zu bytes, limit "
		    "%zu)", what, len, max);
		return NULL;
	}
	j = cJSON_ParseWithLengthOpts(zmq_msg_data(f), len, &end, 0);
	if (j == NULL) {
		snprintf(err, errlen, "%s frame is not valid JSON", what);
		return NULL;
	}
	return j;
}

#define MAX_FRAMES	5

/*
 * Receive one message without blocking.  <router>: the first frame is the
 * peer's routing id.  On IPC_RECV_OK <m> owns its JSON; clear it with
 * ipc_msg_clear().  On IPC_RECV_INVALID the ident (when known) is kept so
 * a control client can be answered.
 */
enum ipc_recv_result
ipc_recv(void *sock, bool router, struct ipc_msg *m, char *err,
    size_t errlen)
{
	zmq_msg_t fr[MAX_FRAMES];
	size_t n = 0, i, len, first;
	int more, rc = IPC_RECV_OK;
	size_t sz = sizeof(more);

	memset(m, 0, sizeof(*m));
	for (;;) {
		zmq_msg_init(&fr[n]);
		if (zmq_msg_recv(&fr[n], sock, ZMQ_DONTWAIT) == -1) {
			zmq_msg_close(&fr[n]);
			for (i = 0; i < n; i++)
				zmq_msg_close(&fr[i]);
			if (n == 0 && (errno == EAGAIN || errno == EINTR))
				return IPC_RECV_NONE;
			return IPC_RECV_ERROR;
		}
		n++;
		if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == -1)
			more = 0;
		if (!more)
			break;
		if (n == MAX_FRAMES) {
			drain(sock);
			snprintf(err, errlen, "too many frames");
			rc = IPC_RECV_INVALID;
			goto out;
		}
	}
	first = router ? 1 : 0;
	if (router) {
		len = zmq_msg_size(&fr[0]);
		if (len > IPC_IDENT_MAX)
			len = IPC_IDENT_MAX;
		memcpy(m->ident, zmq_msg_data(&fr[0]), len);
		m->ident[len] = '\0';
		m->identlen = len;
	}
	if (n < first + 3 || n > first + 4) {
		snprintf(err, errlen, "bad frame count %zu", n - first);
		rc = IPC_RECV_INVALID;
		goto out;
	}
	if (zmq_msg_size(&fr[first]) != IPC_TAG_LEN ||
	    (memcmp(zmq_msg_data(&fr[first]), IPC_TAG_WORKER, 4) != 0 &&
	    memcmp(zmq_msg_data(&fr[first]), IPC_TAG_CONTROL, 4) != 0)) {
		snprintf(err, errlen, "bad protocol tag (expected %s or %s)",
		    IPC_TAG_WORKER, IPC_TAG_CONTROL);
		rc = IPC_RECV_INVALID;
		goto out;
	}
	memcpy(m->tag, zmq_msg_data(&fr[first]), IPC_TAG_LEN);
	len = zmq_msg_size(&fr[first + 1]);
	if (len == 0 || len > IPC_TYPE_MAX ||
	    memchr(zmq_msg_data(&fr[first + 1]), '\0', len) != NULL) {
		snprintf(err, errlen, "bad message type frame");
		rc = IPC_RECV_INVALID;
		goto out;
	}
	memcpy(m->type, zmq_msg_data(&fr[first + 1]), len);
	if ((m->hdr = parse_frame(&fr[first + 2], IPC_HDR_MAX, "header", err,
	    errlen)) == NULL) {
		rc = IPC_RECV_INVALID;
		goto out;
	}
	if (n == first + 4 && (m->body = parse_frame(&fr[first + 3],
	    IPC_BODY_MAX, "body", err, errlen)) == NULL) {
		rc = IPC_RECV_INVALID;
		goto out;
	}
	if (ipc_validate(m->tag, m->type, m->hdr, m->body, err, errlen) == -1)
		rc = IPC_RECV_INVALID;
out:
	for (i = 0; i < n; i++)
		zmq_msg_close(&fr[i]);
	if (rc != IPC_RECV_OK) {
		cJSON_Delete(m->hdr);
		cJSON_Delete(m->body);
		m->hdr = m->body = NULL;
	}
	return rc;
}

static int
send_frame(void *sock, const void *data, size_t len, bool more)
{
	return zmq_send(sock, data, len, (more ? ZMQ_SNDMORE : 0) |
	    ZMQ_DONTWAIT) == -1 ? -1 : 0;
}

/*
 * Send one message.  <ident> is the ROUTER peer id (NULL on a DEALER).
 * <hdr> and <body> are borrowed.  Returns 0, or -1 with errno (EHOSTUNREACH
 * for an unknown peer on a ROUTER_MANDATORY socket, EAGAIN when the peer's
 * queue is full, EMSGSIZE when a frame exceeds its limit).
 */
int
ipc_send(void *sock, const char *ident, size_t identlen, const char *tag,
    const char *type, const cJSON *hdr, const cJSON *body)
{
	char *h = NULL, *b = NULL;
	int rc = -1;

	if ((h = cJSON_PrintUnformatted(hdr)) == NULL)
		goto out;
	if (body != NULL && (b = cJSON_PrintUnformatted(body)) == NULL)
		goto out;
	if (strlen(h) > IPC_HDR_MAX || (b != NULL && strlen(b) >
	    IPC_BODY_MAX)) {
		errno = EMSGSIZE;
		goto out;
	}
	if (ident != NULL && send_frame(sock, ident, identlen, true) == -1)
		goto out;
	if (send_frame(sock, tag, IPC_TAG_LEN, true) == -1 ||
	    send_frame(sock, type, strlen(type), true) == -1 ||
	    send_frame(sock, h, strlen(h), b != NULL) == -1)
		goto out;
	if (b != NULL && send_frame(sock, b, strlen(b), false) == -1)
		goto out;
	rc = 0;
out:
	free(h);
	free(b);
	return rc;
}

const char *
ipc_hdr_str(const struct ipc_msg *m, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->hdr, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

long long
ipc_hdr_int(const struct ipc_msg *m, const char *key, long long def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->hdr, key);

	if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble)
		return def;
	if (v->valuedouble > 9e18 || v->valuedouble < -9e18)
		return def;
	return (long long)v->valuedouble;
}
