/* SPDX-License-Identifier: ISC */
#ifndef RV_IPC_MSG_H
#define RV_IPC_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "ipc/proto.h"

struct ipc_msg {
	char	 ident[IPC_IDENT_MAX + 1];	/* ROUTER peer id, "" else */
	size_t	 identlen;
	char	 tag[IPC_TAG_LEN + 1];
	char	 type[IPC_TYPE_MAX + 1];
	cJSON	*hdr;		/* owned; always an object after decode */
	cJSON	*body;		/* owned; NULL when absent */
};

enum ipc_recv_result {
	IPC_RECV_OK = 0,
	IPC_RECV_NONE,		/* nothing to read (EAGAIN, EINTR) */
	IPC_RECV_INVALID,	/* dropped; err says why */
	IPC_RECV_ERROR		/* socket error; errno */
};

enum ipc_recv_result ipc_recv(void *sock, bool router, struct ipc_msg *m,
	    char *err, size_t errlen);
int	ipc_send(void *sock, const char *ident, size_t identlen,
	    const char *tag, const char *type, const cJSON *hdr,
	    const cJSON *body);
void	ipc_msg_clear(struct ipc_msg *m);
int	ipc_validate(const char *tag, const char *type, const cJSON *hdr,
	    const cJSON *body, char *err, size_t errlen);

/* Header accessors: NULL/default when absent or of the wrong type. */
const char *ipc_hdr_str(const struct ipc_msg *m, const char *key);
long long ipc_hdr_int(const struct ipc_msg *m, const char *key,
	    long long def);

#endif
