/* SPDX-License-Identifier: ISC */
#ifndef RV_SUPERVISOR_SDNOTIFY_H
#define RV_SUPERVISOR_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

void	 sdn_init(void);
bool	 sdn_enabled(void);
int64_t	 sdn_watchdog_ms(void);
void	 sdn_send(const char *msg);
void	 sdn_status(const char *text);
void	 sdn_close(void);

#endif
