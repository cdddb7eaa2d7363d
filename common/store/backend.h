/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_STORE_BACKEND_H
#define RV_COMMON_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "common/store/store.h"

/*
 * The inside of the store door, for common/store/ only: the table of
 * calls a backend fills (store_sqlite.c, store_supabase.c) and the checks
 * common/store/store.c makes before it calls one (store_check.c).  A
 * backend only stores: it may assume the checks of store_check.c passed.
 * Programs use the store_* calls of common/store/store.h instead.
 */
struct store_ops {
	void	(*close)(void *impl);
	int	(*enqueue)(void *impl, const char *video_id, const char *task_type,
		    const char *spec_json, bool replace, char *run_id_out,
		    char *err, size_t errlen);
	int	(*claim)(void *impl, const char *worker_id, const char *lock_token,
		    int lease_minutes, const char *task_type,
		    const char *prev_lock_token, struct store_claim *out,
		    char *err, size_t errlen);
	int	(*heartbeat)(void *impl, const char *run_id, const char *worker_id,
		    const char *lock_token, int lease_minutes, long latency_ms,
		    const char *worker_state, struct store_hb *out, char *err,
		    size_t errlen);
	int	(*release)(void *impl, const char *run_id, const char *worker_id,
		    const char *lock_token, const char *worker_state, bool *ok,
		    char *err, size_t errlen);
	int	(*finish)(void *impl, const char *run_id, const char *worker_id,
		    const char *lock_token, const char *status,
		    const char *error, bool *ok, char *err, size_t errlen);
	int	(*gate)(void *impl, const char *run_id, const char *worker_id,
		    const char *lock_token, const char *reason,
		    const char *worker_state, const cJSON *evidence,
		    char *nonce_out, bool *ok, char *err, size_t errlen);
	int	(*operator_action)(void *impl, const char *run_id,
		    const char *action, const char *operator_name,
		    const char *nonce, enum store_action_result *res,
		    char *msg, size_t msglen, char *err, size_t errlen);
	int	(*amend)(void *impl, const struct store_amend *a,
		    enum store_action_result *res, char *msg, size_t msglen,
		    char *err, size_t errlen);
	int	(*force_unlock)(void *impl, const char *run_id,
		    const char *operator_id, const char *reason, bool force,
		    bool *unlocked, char *msg, size_t msglen, char *err,
		    size_t errlen);
	int	(*set_worker_state)(void *impl, const char *run_id,
		    const char *worker_id, const char *lock_token,
		    const char *worker_state, bool *ok, char *err,
		    size_t errlen);
	int	(*add_event)(void *impl, const struct store_event *ev,
		    enum store_write *res, char *err, size_t errlen);
	int	(*get_run)(void *impl, const char *run_or_video_id,
		    struct store_run *out, char **spec_json, char *err,
		    size_t errlen);
	int	(*list_runs)(void *impl, struct store_run **out, size_t *n,
		    char *err, size_t errlen);
	int	(*list_events)(void *impl, const char *run_id, cJSON **out,
		    char *err, size_t errlen);
	int	(*ledger_intent)(void *impl, const struct store_ledger *l,
		    const char *lock_token, bool *fresh, struct store_ledger
		    *existing, enum store_write *res, char *err,
		    size_t errlen);
	int	(*ledger_result)(void *impl, const char *key,
		    long long lease_epoch, const char *state, int credits,
		    const char *output, enum store_write *res, char *err,
		    size_t errlen);
	int	(*ledger_list)(void *impl, const char *run_id,
		    struct store_ledger **out, size_t *n, char *err,
		    size_t errlen);
	int	(*now)(void *impl, char *buf, size_t size, char *err,
		    size_t errlen);
	int	(*check_contract)(void *impl, cJSON **report, char *err,
		    size_t errlen);
	int	(*health)(void *impl, char *why, size_t len);
};

/*
 * The backend-independent checks of an event and of a ledger intent (see
 * store.h).  Each returns 0, or -1 with <err> filled and errno EINVAL.
 */
int	store_check_event(const struct store_event *ev, char *err,
	    size_t errlen);
int	store_check_ledger(const struct store_ledger *l, char *err,
	    size_t errlen);
int	store_check_amend(const struct store_amend *a, char *err,
	    size_t errlen);

#endif
