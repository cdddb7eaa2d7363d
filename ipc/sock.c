/* SPDX-License-Identifier: ISC */
/*
 * sock.c: ZeroMQ socket setup for RayVault endpoints.
 *
 * Endpoints are unix-domain ipc paths under <state>/runtime/ (mode 0700),
 * never /tmp, and must fit the ~107-byte sun_path limit: ipc_endpoint()
 * refuses longer ones instead of letting libzmq fail later.  The caller
 * must hold the supervisor's pid-file lock before binding, because a
 * second bind on the same path silently steals it.  Every socket gets a
 * bounded LINGER (0) so shutdown never blocks, a MAXMSGSIZE so an
 * oversized frame from a stray peer costs that peer its connection
 * instead of our memory, and routers are ROUTER_MANDATORY so a send to a
 * dead child fails instead of vanishing.
 *
 * Public: ipc_endpoint, ipc_router_bind, ipc_dealer_connect, ipc_close.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "ipc/proto.h"
#include "ipc/sock.h"

/* "ipc://<state_dir>/runtime/<name>"; -1 (ENAMETOOLONG) when too long. */
int
ipc_endpoint(char *buf, size_t size, const char *state_dir, const char *name)
{
	int r;

	r = snprintf(buf, size, "ipc://%s/runtime/%s", state_dir, name);
	if (r < 0 || (size_t)r >= size || r > IPC_ENDPOINT_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
common_opts(void *s)
{
	int zero = 0, hwm = 1000;
	int64_t max = IPC_MSG_MAX;

	if (zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) == -1 ||
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max)) == -1 ||
	    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) == -1 ||
	    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) == -1)
		return -1;
	return 0;
}

/*
 * Bind a ROUTER on <endpoint> and chmod its socket file to <mode>.
 * Returns the socket, or NULL with <err> filled.
 */
void *
ipc_router_bind(void *ctx, const char *endpoint, int mode, char *err,
    size_t errlen)
{
	void *s;
	int one = 1;

	if ((s = zmq_socket(ctx, ZMQ_ROUTER)) == NULL)
		goto fail;
	if (common_opts(s) == -1 || zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY,
	    &one, sizeof(one)) == -1)
		goto fail;
	if (zmq_bind(s, endpoint) == -1)
		goto fail;
	if (strncmp(endpoint, "ipc://", 6) == 0 &&
	    chmod(endpoint + 6, (mode_t)mode) == -1)
		goto fail;
	return s;
fail:
	snprintf(err, errlen, "%s: %s", endpoint, zmq_strerror(errno));
	if (s != NULL)
		zmq_close(s);
	return NULL;
}

/* Connect a DEALER with routing id <ident> (may be NULL). */
void *
ipc_dealer_connect(void *ctx, const char *endpoint, const char *ident,
    char *err, size_t errlen)
{
	void *s;
	int ivl = 100, ivlmax = 1000;

	if ((s = zmq_socket(ctx, ZMQ_DEALER)) == NULL)
		goto fail;
	if (common_opts(s) == -1)
		goto fail;
	if (ident != NULL && zmq_setsockopt(s, ZMQ_ROUTING_ID, ident,
	    strlen(ident)) == -1)
		goto fail;
	if (zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl)) == -1 ||
	    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivlmax,
	    sizeof(ivlmax)) == -1)
		goto fail;
	if (zmq_connect(s, endpoint) == -1)
		goto fail;
	return s;
fail:
	snprintf(err, errlen, "%s: %s", endpoint, zmq_strerror(errno));
	if (s != NULL)
		zmq_close(s);
	return NULL;
}

void
ipc_close(void *sock)
{
	int zero = 0;

	if (sock == NULL)
		return;
	(void)zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_close(sock);
}
