/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_STORE_WRAP_H
#define RV_COMMON_STORE_WRAP_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "common/store/store.h"

/*
 * One call per store operation, for callers that prefer
 * store_claim(st, ...) to st->ops->claim(st->impl, ...).  Each takes the
 * arguments of the matching store_ops member (common/store/store.h) after <st>,
 * and returns -1 with <err> "store is not open" when <st> is NULL or
 * closed; otherwise it returns what the backend returns.
 */

int	store_enqueue(struct store *st, const char *video_id,
	    const char *task_type, const char *spec_json, char *run_id_out,
	    char *err, size_t errlen);
int	store_claim(struct store *st, const char *worker_id,
	    const char *lock_token, int lease_minutes, const char *task_type,
	    const char *prev_lock_token, struct store_claim *out, char *err,
	    size_t errlen);
int	store_heartbeat(struct store *st, const char *run_id,
	    const char *worker_id, const char *lock_token, int lease_minutes,
	    long latency_ms, const char *worker_state, struct store_hb *out,
	    char *err, size_t errlen);
int	store_release(struct store *st, const char *run_id,
	    const char *worker_id, const char *lock_token,
	    const char *worker_state, bool *ok, char *err, size_t errlen);
int	store_finish(struct store *st, const char *run_id,
	    const char *worker_id, const char *lock_token, const char *status,
	    const char *error, bool *ok, char *err, size_t errlen);
int	store_gate(struct store *st, const char *run_id,
	    const char *worker_id, const char *lock_token, const char *reason,
	    const char *worker_state, const cJSON *evidence, char *nonce_out,
	    bool *ok, char *err, size_t errlen);
int	store_operator_action(struct store *st, const char *run_id,
	    const char *action, const char *operator_name, const char *nonce,
	    enum store_action_result *res, char *msg, size_t msglen,
	    char *err, size_t errlen);
int	store_force_unlock(struct store *st, const char *run_id,
	    const char *operator_id, const char *reason, bool force,
	    bool *unlocked, char *msg, size_t msglen, char *err,
	    size_t errlen);
int	store_set_worker_state(struct store *st, const char *run_id,
	    const char *worker_id, const char *lock_token,
	    const char *worker_state, bool *ok, char *err, size_t errlen);
int	store_add_event(struct store *st, const struct store_event *ev,
	    enum store_write *res, char *err, size_t errlen);
int	store_get_run(struct store *st, const char *run_or_video_id,
	    struct store_run *out, char **spec_json, char *err,
	    size_t errlen);
int	store_list_runs(struct store *st, struct store_run **out, size_t *n,
	    char *err, size_t errlen);
int	store_list_events(struct store *st, const char *run_id, cJSON **out,
	    char *err, size_t errlen);
int	store_ledger_intent(struct store *st, const struct store_ledger *l,
	    const char *lock_token, bool *fresh,
	    struct store_ledger *existing, enum store_write *res, char *err,
	    size_t errlen);
int	store_ledger_result(struct store *st, const char *key,
	    long long lease_epoch, const char *state, int credits,
	    const char *output, enum store_write *res, char *err,
	    size_t errlen);
int	store_ledger_list(struct store *st, const char *run_id,
	    struct store_ledger **out, size_t *n, char *err, size_t errlen);
int	store_now(struct store *st, char *buf, size_t size, char *err,
	    size_t errlen);
int	store_check_contract(struct store *st, cJSON **report, char *err,
	    size_t errlen);

/* The name of an action result: "applied", "already_applied", ... */
const char *store_action_result_name(enum store_action_result res);

#endif
