/* SPDX-License-Identifier: ISC */
/*
 * store.c: the door to the store (SPEC section 2): choosing, opening and
 * closing it, and one call per store operation.
 *
 * store_open() picks the backend from the settings: the embedded sqlite
 * store at <state_dir>/rayvault.db when SUPABASE_URL is unset, otherwise
 * the supabase backend (common/store/store_supabase.c; a bad URL or key
 * is refused, never silently replaced by a local database other machines
 * cannot see).  Every store_* call refuses a store that is not open,
 * checks its arguments once for every backend (store_check.c), and only
 * then dispatches to the backend's ops table (backend.h), which stores.
 * Programs, tests and the spool replay call these, never the ops table.
 * Nothing here logs.
 *
 * Public: store_open, store_close, store_health, store_write_name,
 * store_action_result_name, and one store_<op> per operation of
 * common/store/store.h (store_enqueue, store_enqueue_replace, store_amend
 * ... store_check_contract).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/config.h"
#include "common/core/fsutil.h"
#include "common/store/store.h"
#include "common/store/backend.h"

/*
 * Open the store <cfg> names into <st>.  The state directory is created
 * (0700) when missing.  Returns 0, or -1 with <err> filled.
 */
int
store_open(struct store *st, const struct rv_config *cfg, char *err,
    size_t errlen)
{
	char path[PATH_MAX];

	memset(st, 0, sizeof(*st));
	if (cfg->supabase_url[0] != '\0')
		return store_supabase_open(st, cfg->supabase_url,
		    cfg->supabase_service_key, cfg->heartbeat_interval_sec,
		    cfg->heartbeat_timeout_sec, err, errlen);
	if (cfg->state_dir[0] == '\0') {
		snprintf(err, errlen, "store: no state directory");
		return -1;
	}
	if (cfg->db_path[0] != '\0')
		return store_sqlite_open(st, cfg->db_path,
		    cfg->heartbeat_interval_sec, err, errlen);
	if (fs_mkdirs(cfg->state_dir, 0700) == -1 ||
	    fs_path(path, sizeof(path), "%s/rayvault.db",
	    cfg->state_dir) == -1) {
		snprintf(err, errlen, "store: %s: %s", cfg->state_dir,
		    strerror(errno));
		return -1;
	}
	return store_sqlite_open(st, path, cfg->heartbeat_interval_sec, err,
	    errlen);
}

/* Close <st> (NULL or already closed is fine) and zero it. */
void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->ops != NULL && st->ops->close != NULL)
		st->ops->close(st->impl);
	memset(st, 0, sizeof(*st));
}

static bool
is_open(const struct store *st, char *err, size_t errlen)
{
	if (st != NULL && st->ops != NULL)
		return true;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "store is not open");
	return false;
}

/*
 * Whether the store can be used now: 0, or -1 with <why> saying what
 * broke it (the backend's last error; it keeps trying to reopen).
 */
int
store_health(struct store *st, char *why, size_t len)
{
	if (!is_open(st, why, len))
		return -1;
	if (st->ops->health == NULL) {
		if (why != NULL && len > 0)
			why[0] = '\0';
		return 0;
	}
	return st->ops->health(st->impl, why, len);
}

const char *
store_write_name(enum store_write res)
{
	switch (res) {
	case STORE_WRITE_DONE:
		return "done";
	case STORE_WRITE_DUPLICATE:
		return "duplicate";
	case STORE_WRITE_FENCED:
		return "fenced";
	}
	return "unknown";
}

const char *
store_action_result_name(enum store_action_result res)
{
	switch (res) {
	case ACTION_APPLIED:
		return "applied";
	case ACTION_ALREADY_APPLIED:
		return "already_applied";
	case ACTION_NOT_POSSIBLE:
		return "not_possible";
	}
	return "unknown";
}

int
store_enqueue(struct store *st, const char *video_id, const char *task_type,
    const char *spec_json, char *run_id_out, char *err, size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->enqueue(st->impl, video_id, task_type, spec_json,
	    false, run_id_out, err, errlen);
}

/*
 * Queue a run for <video_id> in place of its current run, which must be
 * aborted or failed (else -1, errno EEXIST); with no run yet it is a
 * plain enqueue.
 */
int
store_enqueue_replace(struct store *st, const char *video_id,
    const char *task_type, const char *spec_json, char *run_id_out,
    char *err, size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->enqueue(st->impl, video_id, task_type, spec_json,
	    true, run_id_out, err, errlen);
}

int
store_amend(struct store *st, const struct store_amend *a,
    enum store_action_result *res, char *msg, size_t msglen, char *err,
    size_t errlen)
{
	*res = ACTION_NOT_POSSIBLE;
	if (msg != NULL && msglen > 0)
		msg[0] = '\0';
	if (!is_open(st, err, errlen) ||
	    store_check_amend(a, err, errlen) == -1)
		return -1;
	return st->ops->amend(st->impl, a, res, msg, msglen, err, errlen);
}

int
store_claim(struct store *st, const char *worker_id, const char *lock_token,
    int lease_minutes, const char *task_type, const char *prev_lock_token,
    struct store_claim *out, char *err, size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->claim(st->impl, worker_id, lock_token, lease_minutes,
	    task_type, prev_lock_token, out, err, errlen);
}

int
store_heartbeat(struct store *st, const char *run_id, const char *worker_id,
    const char *lock_token, int lease_minutes, long latency_ms,
    const char *worker_state, struct store_hb *out, char *err,
    size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->heartbeat(st->impl, run_id, worker_id, lock_token,
	    lease_minutes, latency_ms, worker_state, out, err, errlen);
}

int
store_release(struct store *st, const char *run_id, const char *worker_id,
    const char *lock_token, const char *worker_state, bool *ok, char *err,
    size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->release(st->impl, run_id, worker_id, lock_token,
	    worker_state, ok, err, errlen);
}

int
store_finish(struct store *st, const char *run_id, const char *worker_id,
    const char *lock_token, const char *status, const char *error,
    bool *ok, char *err, size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->finish(st->impl, run_id, worker_id, lock_token,
	    status, error, ok, err, errlen);
}

int
store_gate(struct store *st, const char *run_id, const char *worker_id,
    const char *lock_token, const char *reason, const char *worker_state,
    const cJSON *evidence, char *nonce_out, bool *ok, char *err,
    size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->gate(st->impl, run_id, worker_id, lock_token, reason,
	    worker_state, evidence, nonce_out, ok, err, errlen);
}

int
store_operator_action(struct store *st, const char *run_id,
    const char *action, const char *operator_name, const char *nonce,
    enum store_action_result *res, char *msg, size_t msglen, char *err,
    size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->operator_action(st->impl, run_id, action,
	    operator_name, nonce, res, msg, msglen, err, errlen);
}

int
store_force_unlock(struct store *st, const char *run_id,
    const char *operator_id, const char *reason, bool force,
    bool *unlocked, char *msg, size_t msglen, char *err, size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->force_unlock(st->impl, run_id, operator_id, reason,
	    force, unlocked, msg, msglen, err, errlen);
}

int
store_set_worker_state(struct store *st, const char *run_id,
    const char *worker_id, const char *lock_token, const char *worker_state,
    bool *ok, char *err, size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->set_worker_state(st->impl, run_id, worker_id,
	    lock_token, worker_state, ok, err, errlen);
}

int
store_add_event(struct store *st, const struct store_event *ev,
    enum store_write *res, char *err, size_t errlen)
{
	*res = STORE_WRITE_DONE;
	if (!is_open(st, err, errlen) ||
	    store_check_event(ev, err, errlen) == -1)
		return -1;
	return st->ops->add_event(st->impl, ev, res, err, errlen);
}

int
store_get_run(struct store *st, const char *run_or_video_id,
    struct store_run *out, char **spec_json, char *err, size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->get_run(st->impl, run_or_video_id, out, spec_json,
	    err, errlen);
}

int
store_list_runs(struct store *st, struct store_run **out, size_t *n,
    char *err, size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->list_runs(st->impl, out, n, err, errlen);
}

int
store_list_events(struct store *st, const char *run_id, cJSON **out,
    char *err, size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->list_events(st->impl, run_id, out, err, errlen);
}

int
store_ledger_intent(struct store *st, const struct store_ledger *l,
    const char *lock_token, bool *fresh, struct store_ledger *existing,
    enum store_write *res, char *err, size_t errlen)
{
	*fresh = false;
	*res = STORE_WRITE_DONE;
	if (existing != NULL)
		memset(existing, 0, sizeof(*existing));
	if (!is_open(st, err, errlen) ||
	    store_check_ledger(l, err, errlen) == -1)
		return -1;
	return st->ops->ledger_intent(st->impl, l, lock_token, fresh,
	    existing, res, err, errlen);
}

int
store_ledger_result(struct store *st, const char *key,
    long long lease_epoch, const char *state, int credits,
    const char *output, enum store_write *res, char *err, size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->ledger_result(st->impl, key, lease_epoch, state,
	    credits, output, res, err, errlen);
}

int
store_ledger_list(struct store *st, const char *run_id,
    struct store_ledger **out, size_t *n, char *err, size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->ledger_list(st->impl, run_id, out, n, err, errlen);
}

int
store_now(struct store *st, char *buf, size_t size, char *err,
    size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->now(st->impl, buf, size, err, errlen);
}

int
store_check_contract(struct store *st, cJSON **report, char *err,
    size_t errlen)
{
	if (!is_open(st, err, errlen))
		return -1;
	return st->ops->check_contract(st->impl, report, err, errlen);
}
