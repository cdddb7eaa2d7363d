/* SPDX-License-Identifier: ISC */
#ifndef RV_IPC_SOCK_H
#define RV_IPC_SOCK_H

#include <stddef.h>

#define IPC_WORKERS_NAME	"workers.ipc"
#define IPC_CONTROL_NAME	"control.ipc"

int	 ipc_endpoint(char *buf, size_t size, const char *state_dir,
	    const char *name);
void	*ipc_router_bind(void *ctx, const char *endpoint, int mode, char *err,
	    size_t errlen);
void	*ipc_dealer_connect(void *ctx, const char *endpoint, const char *ident,
	    char *err, size_t errlen);
void	 ipc_close(void *sock);

#endif
