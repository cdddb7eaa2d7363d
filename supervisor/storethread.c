/* SPDX-License-Identifier: ISC */
/*
 * storethread.c: the part the supervisor's two store threads share.
 *
 * The lease thread (lease.c) and the event thread (evthread.c) each own a
 * store handle and serve typed messages from the main loop, so store I/O
 * never blocks the loop that reads child messages.  This module runs such
 * a thread: it opens the handle on first use (and again after a failed
 * open), waits on its socket until a message or the owner's next
 * deadline, dispatches each message through the owner's handler table,
 * and closes the handle and its socket when told to quit.  It also holds
 * the test fault sites every store call of those threads passes through
 * (supervisor/fault.c): "store:<call>" fails a call before the store sees
 * it, "store-lost:<call>" loses the answer of one it applied.  What a
 * message means, and the owner's timers, stay with the owner.
 *
 * Public: storethread_start, storethread_stop, storethread_open,
 * storethread_injected, storethread_lost.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "common/store/store.h"
#include "supervisor/fault.h"
#include "supervisor/smsg.h"
#include "supervisor/storethread.h"
#include "supervisor/sup.h"

/*
 * Open the thread's store handle unless it is open.  Returns true when it
 * is; false after telling the owner (open_failed) why not.
 */
bool
storethread_open(struct storethread *th)
{
	char err[512];

	if (th->opened)
		return true;
	if (store_open(&th->st, &th->cfg, err, sizeof(err)) == -1) {
		if (th->open_failed != NULL)
			th->open_failed(th, err);
		else
			log_debug("%s store: %s", th->name, err);
		return false;
	}
	th->opened = true;
	return true;
}

/*
 * A test fault before store call <call> ("store:<call>" in RV_FAULT):
 * true, with <err> filled, when the call must fail as the store would.
 * Sleeps slow_ms first when set.
 */
bool
storethread_injected(struct storethread *th, const char *call, char *err,
    size_t errlen)
{
	char site[48];

	if (th->slow_ms > 0)
		clock_sleep_ms(th->slow_ms);
	snprintf(site, sizeof(site), "store:%s", call);
	if (!fault_hit(site))
		return false;
	snprintf(err, errlen, "injected fault at %s", site);
	return true;
}

/*
 * A test fault after store call <call> returned <rc> ("store-lost:<call>"):
 * the store applied it but its answer was lost (a timeout after commit).
 * Returns the rc to go on with: -1 with <err> when the fault fires.
 */
int
storethread_lost(const char *call, int rc, char *err, size_t errlen)
{
	char site[48];

	snprintf(site, sizeof(site), "store-lost:%s", call);
	if (rc == -1 || !fault_hit(site))
		return rc;
	snprintf(err, errlen, "injected fault at %s: applied, answer lost",
	    site);
	return -1;
}

static void
handle(struct storethread *th, struct smsg *m)
{
	size_t i;

	for (i = 0; i < th->nhandlers; i++)
		if (th->handlers[i].type == m->type) {
			th->handlers[i].fn(th, m);
			return;
		}
	log_warnx("%s: no handler for %s (our bug); dropped", __func__,
	    smsg_name(m->type));
}

/* The poll timeout: until the owner's next deadline; -1: none. */
static long
wait_ms(struct storethread *th)
{
	int64_t wait = th->next_wait(th);

	if (wait == INT64_MAX)
		return -1;
	if (wait < 0)
		wait = 0;
	return wait > INT32_MAX ? INT32_MAX : (long)wait;
}

static void *
thr_main(void *arg)
{
	struct storethread *th = arg;
	struct smsg *m;

	if (th->begin != NULL)
		th->begin(th);
	while (!th->quit) {
		zmq_pollitem_t it = { th->sock, 0, ZMQ_POLLIN, 0 };

		if (zmq_poll(&it, 1, wait_ms(th)) == -1 && errno == ETERM)
			break;
		while (!th->quit && (m = smsg_recv(th->sock)) != NULL) {
			handle(th, m);
			smsg_free(m);
		}
		if (th->quit)
			break;
		th->tick(th);
	}
	if (th->opened)
		store_close(&th->st);
	smsg_drain(th->sock);
	zmq_close(th->sock);
	return NULL;
}

/*
 * Start the thread <th> describes (borrowed: it must outlive the thread)
 * with a copy of env's settings, on a socket pair named <pair> whose
 * main-loop end goes to *main_end.  Returns 0, or -1 with <err>.
 */
int
storethread_start(struct storethread *th, struct sup_env *env,
    const char *pair, void **main_end, char *err, size_t errlen)
{
	th->cfg = env->cfg;
	if (sup_pair(env, pair, main_end, &th->sock, err, errlen) == -1)
		return -1;
	if (pthread_create(&th->tid, NULL, thr_main, th) != 0) {
		snprintf(err, errlen, "cannot start the %s thread", th->name);
		return -1;
	}
	return 0;
}

/*
 * Ask the thread to finish what is queued (SM_QUIT on the main loop's end
 * <main_end>), join it, then drain and close <main_end>.
 */
void
storethread_stop(struct storethread *th, void *main_end)
{
	(void)smsg_send(main_end, smsg_new(SM_QUIT));
	pthread_join(th->tid, NULL);
	smsg_drain(main_end);
	zmq_close(main_end);
}
