/* SPDX-License-Identifier: ISC */
#ifndef RV_WORKERS_SKELETON_WORKER_H
#define RV_WORKERS_SKELETON_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "common/core/config.h"
#include "common/core/subproc.h"

/*
 * The shared skeleton of every rvw-<kind> child (workers/skeleton/worker.c).  It
 * connects the DEALER to the supervisor, sends READY, receives TASKs,
 * heartbeats from the work loop and obeys STOP; a kind supplies only its
 * task handler.
 *
 * A TASK's args object always has: "run_id", "video_id", "lease_epoch",
 * "state_dir" (absolute), "spec" (the run spec object), "spec_dir"
 * (absolute directory the spec was enqueued from), plus per-stage keys.
 * Paths inside results are relative to state_dir.
 */

enum wrk_outcome {
	WRK_OK = 0,		/* stage done; result describes it */
	WRK_FAIL,		/* stage failed; err says why */
	WRK_PANIC,		/* stop the run: result has "panic": "panic_x" */
	WRK_GATE,		/* evidence conflict: result has "diff" */
	WRK_STOPPED		/* STOP received mid-task; nothing committed */
};

struct wrk_env;

/*
 * A task handler.  <args> is borrowed for the call.  On WRK_OK/WRK_PANIC/
 * WRK_GATE the handler sets *result to a new object (ownership moves to the
 * skeleton).  It must call worker_progress() at least every 100 ms during
 * long work (subprocesses, transfers), and return WRK_STOPPED when it
 * answers -1.
 */
typedef enum wrk_outcome (*wrk_handler)(struct wrk_env *env,
    const char *task_type, const cJSON *args, cJSON **result, char *err,
    size_t errlen);

/* Main of a child; never returns. */
int	worker_main(int argc, char **argv, const char *kind,
	    wrk_handler handler) __attribute__((noreturn));

/* A progress that heartbeats this child; pass it to long operations. */
struct progress *worker_progress(struct wrk_env *env);

/*
 * Send an event to the supervisor, which writes it to the store (or the
 * spool).  Takes ownership of <payload> (may be NULL).
 */
void	worker_event(struct wrk_env *env, const char *run_id,
	    const char *event_type, const char *severity,
	    const char *reason_key, cJSON *payload);

/*
 * Ask the supervisor to record a credit-ledger intent before a paid call
 * and wait for its answer.  Returns 1 when the intent is fresh (go on and
 * pay), 0 when the key already had an intent (resolve it first: look for
 * the output), -1 on error/stop.  *prev_state receives the existing row's
 * state ("intent", "done", "failed").
 */
/* The same with a fixed event_id (may be NULL), for idempotent events. */
void	worker_event_id(struct wrk_env *env, const char *event_id,
	    const char *run_id, const char *event_type, const char *severity,
	    const char *reason_key, cJSON *payload);

int	worker_ledger_intent(struct wrk_env *env, const char *run_id,
	    const char *key, const char *segment_id, const char *sha8,
	    int credits, char *prev_state, size_t prev_size);
int	worker_ledger_result(struct wrk_env *env, const char *run_id,
	    const char *key, const char *state, int credits,
	    const char *output);

/*
 * Ask the supervisor to apply an operator action (approve, refetch, abort,
 * unlock) through the store's compare-and-set, as rvctl does.  <reason>
 * is used by unlock.  <nonce> names the gate decided (its full nonce or
 * its first 8 hex digits; "" or NULL for none); the store answers "not
 * possible" for a gate that is closed or replaced, and an unlock asked
 * this way never forces.  Returns 0 with <result> set to "applied",
 * "already_applied" or "not_possible" and <msg> to the store's sentence,
 * or -1 when it could not be asked or answered (store away, stop).
 */
int	worker_operator_action(struct wrk_env *env, const char *run_id,
	    const char *action, const char *operator_name, const char *reason,
	    const char *nonce, char *result, size_t rsize, char *msg,
	    size_t msize);

/*
 * Run <fn> from the idle loop at least every <period_ms> (and after every
 * message).  It must not block: long work ticks worker_progress().
 */
void	worker_set_idle(struct wrk_env *env, void (*fn)(struct wrk_env *,
	    void *), void *arg, int period_ms);

/*
 * Say whether a browser session is open (Chromium runs for this task):
 * heartbeats carry "browser": true while it is.  Reset at task end.
 */
void	worker_set_browser(struct wrk_env *env, bool open);

const struct rv_config *worker_config(struct wrk_env *env);
const char *worker_kind(struct wrk_env *env);

#endif
