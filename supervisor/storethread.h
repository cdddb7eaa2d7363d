/* SPDX-License-Identifier: ISC */
#ifndef RV_SUPERVISOR_STORETHREAD_H
#define RV_SUPERVISOR_STORETHREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/core/config.h"
#include "common/store/store.h"
#include "supervisor/smsg.h"

/*
 * What the lease thread and the event thread share: a thread that owns
 * one store handle and answers typed messages (smsg.h) on its end of a
 * socket pair.  The owner fills the fields marked "owner" and calls
 * storethread_start(); the thread then runs begin, and loops: wait for a
 * message or the owner's next deadline (next_wait: ms from now, INT64_MAX
 * for none), dispatch every message through <handlers>, run tick.  SM_QUIT
 * handlers set <quit>.
 */
struct storethread;

struct storethread_handler {
	enum smsg_type	 type;
	void		(*fn)(struct storethread *th, struct smsg *m);
};

struct storethread {
	const char	*name;		/* owner: "lease", "event" */
	void		*owner;		/* owner: its own state */
	struct rv_config cfg;		/* a copy of the settings */
	void		*sock;		/* the thread's end of the pair */
	long		 slow_ms;	/* owner: test, sleep per store call */
	const struct storethread_handler *handlers;	/* owner */
	size_t		 nhandlers;	/* owner */
	/* owner: the store could not be opened (<err>); NULL: log_debug */
	void		(*open_failed)(struct storethread *th, const char *err);
	void		(*begin)(struct storethread *th);	/* NULL: none */
	int64_t		(*next_wait)(struct storethread *th);	/* ms */
	void		(*tick)(struct storethread *th);
	struct store	 st;		/* valid while <opened> */
	bool		 opened, quit;
	pthread_t	 tid;
};

struct sup_env;
int	storethread_start(struct storethread *th, struct sup_env *env,
	    const char *pair, void **main_end, char *err, size_t errlen);
void	storethread_stop(struct storethread *th, void *main_end);
bool	storethread_open(struct storethread *th);
bool	storethread_injected(struct storethread *th, const char *call,
	    char *err, size_t errlen);
int	storethread_lost(const char *call, int rc, char *err, size_t errlen);

#endif
