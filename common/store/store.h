/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_STORE_STORE_H
#define RV_COMMON_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

/*
 * The store contract (SPEC section 2).  Two backends implement it: sqlite
 * (common/store/store_sqlite.c, the embedded default) and supabase
 * (PostgREST RPC).  Only rvsup and rvctl link a store; a child never does.
 *
 * Conventions for every function below:
 *  - <err>/<errlen> receive a one-line, operator-readable message on
 *    failure ("run 5f..: not found", "database is locked").
 *  - Return -1 on failure of the store itself (I/O, unreachable, corrupt),
 *    with <err> filled.  Rule refusals that are answers, not failures, are
 *    reported through the documented out-parameters or return values.
 *  - Every time and age is computed by the store's own clock.
 *  - Strings are copied into fixed buffers in the result structs; nothing
 *    returned borrows from the store.
 *  - A store handle is used by one thread at a time.
 */

#define STORE_ID_MAX	40	/* uuid (36) + NUL, rounded */
#define STORE_VID_MAX	65
#define STORE_WID_MAX	65
#define STORE_STATUS_MAX 24
#define STORE_TIME_MAX	40

/* Run status values. */
#define RUN_RUNNING		"running"
#define RUN_WAITING_APPROVAL	"waiting_approval"
#define RUN_APPROVED		"approved"
#define RUN_DONE		"done"
#define RUN_FAILED		"failed"
#define RUN_ABORTED		"aborted"

/* Worker states. */
#define WS_ACTIVE	"active"
#define WS_WAITING	"waiting"
#define WS_PANIC	"panic"
#define WS_IDLE		"idle"

struct store_claim {
	char	run_id[STORE_ID_MAX];
	char	video_id[STORE_VID_MAX];
	char	lock_token[STORE_ID_MAX];
	long long lease_epoch;
	bool	is_recovery;
};

struct store_hb {
	bool	ok;		/* false: the lock is gone */
	char	status[STORE_STATUS_MAX];
	bool	force_refetch;
	char	gate_nonce[STORE_ID_MAX];	/* the open gate; "" none */
	char	decided_nonce[STORE_ID_MAX];	/* the gate last decided */
	char	decision[16];	/* approve | refetch | abort; "" none */
};

struct store_run {
	char	run_id[STORE_ID_MAX];
	char	video_id[STORE_VID_MAX];
	char	task_type[32];
	char	status[STORE_STATUS_MAX];
	char	worker_id[STORE_WID_MAX];	/* "" when unclaimed */
	char	worker_state[16];
	char	lock_token[STORE_ID_MAX];	/* "" when unlocked */
	long long lease_epoch;
	char	lease_expires_at[STORE_TIME_MAX];
	char	last_heartbeat_at[STORE_TIME_MAX];
	char	created_at[STORE_TIME_MAX];
	char	updated_at[STORE_TIME_MAX];
	char	gate_nonce[STORE_ID_MAX];
	char	gate_reason[128];
	char	gated_at[STORE_TIME_MAX];
	char	decided_nonce[STORE_ID_MAX];	/* the gate last decided */
	char	decision[16];	/* its decision: approve|refetch|abort */
	char	error[256];
	long long heartbeat_latency_ms;
	bool	force_refetch;
	bool	lease_expired;		/* by the store's clock */
	double	lease_seconds_left;	/* negative when expired */
	double	heartbeat_age_sec;	/* -1 when never */
	double	gate_age_sec;		/* -1 when no gate */
	double	age_sec;		/* since created_at */
};

/*
 * The answer to a write a holder makes for a run (events, ledger): done,
 * already there (a replay), or fenced: stamped with a lease epoch that
 * is not the run's current one (or one an operator cleared), so it will
 * never be accepted.  All three are answers (return 0), not failures.
 */
enum store_write {
	STORE_WRITE_DONE = 0,
	STORE_WRITE_DUPLICATE,
	STORE_WRITE_FENCED
};

/* Result of an operator action (rpc_operator_action). */
enum store_action_result {
	ACTION_APPLIED = 0,
	ACTION_ALREADY_APPLIED,
	ACTION_NOT_POSSIBLE		/* wrong state, stale nonce, terminal */
};

struct store_event {
	char	event_id[STORE_ID_MAX];	/* uuid; generated when empty */
	char	run_id[STORE_ID_MAX];	/* may be "" for worker-level events */
	char	event_type[64];
	char	severity[12];		/* DEBUG INFO WARN ERROR CRITICAL */
	char	reason_key[64];
	char	source[64];
	char	occurred_at[STORE_TIME_MAX];	/* "" = store's now() */
	cJSON	*payload;		/* borrowed; NULL = {} */
	long long lease_epoch;		/* 0: not run-scoped, not fenced */
};

/* A credit-ledger row, key "<run_id>:<segment_id>:<sha8>". */
struct store_ledger {
	char	key[128];
	char	run_id[STORE_ID_MAX];
	char	segment_id[48];
	char	sha8[12];
	long long lease_epoch;
	int	credits;		/* credits the render costs or cost */
	int	attempts;		/* paid attempts booked (>= 1) */
	char	state[16];		/* intent | done | failed */
	char	output[256];		/* path relative to the state root */
};

/*
 * An operator's change of one segment of a run's stored spec (rvctl
 * amend): <text> (NULL: unchanged) or <duration> (approx_duration_sec;
 * 0: unchanged), exactly one of them.  Only a run waiting for approval
 * or aborted may be amended (else NOT_POSSIBLE).  The spec change and an
 * operator_action event (reason_key spec_amended) carrying the segment,
 * before, after and the operator are one transaction.  A change to what
 * the segment already says is ALREADY_APPLIED and writes no event.
 */
#define STORE_AMEND_TEXT_MAX	16000	/* bytes: 4000 characters of UTF-8 */
#define STORE_AMEND_DUR_MIN	0.5
#define STORE_AMEND_DUR_MAX	600.0
struct store_amend {
	const char	*run_id;
	const char	*segment_id;
	const char	*text;
	double		 duration;
	const char	*operator_name;
};

/*
 * The rules of issue 10, in both backends (the comments of
 * common/store/sqlite_*.c say more):
 *  - Epoch fencing: add_event, ledger_intent and ledger_result answer
 *    STORE_WRITE_FENCED (return 0, <err> "stale epoch N, run is at M",
 *    nothing written) when the write names a run and a lease epoch > 0
 *    that is not the run's current one, or whose lock an operator
 *    cleared (unlock, abort).  Epoch 0: not fenced.
 *  - Ledger: an intent on a key whose attempt failed books a new paid
 *    attempt (state intent, attempts + 1, *fresh true); a result lands on
 *    intent or failed rows (a late success ends done), never makes done
 *    failed, and repeating it is DUPLICATE.
 *  - gate: worker_state is waiting or panic (NULL/"": waiting); a new gate
 *    clears the last decision.  heartbeat also returns the open gate's
 *    nonce and the last decision (decided_nonce, decision).
 *  - operator_action: a decision (approve, refetch, abort) names its gate
 *    by nonce, a uuid or its first 8 hex digits; one for a closed or
 *    replaced gate is ALREADY_APPLIED when that action was applied with
 *    that nonce, else NOT_POSSIBLE ("no longer possible: that gate is
 *    closed").  It closes the gate: decided_nonce, decision = the bare
 *    action.  An abort is one step: status aborted, lock cleared, worker
 *    state idle.  unlock never forces (a live lease is refused).
 *  - A store handle that broke (sqlite: opened read-only, SQLITE_READONLY,
 *    _IOERR, _CORRUPT, _CANTOPEN) is reopened by the next call;
 *    store_health() says whether the store is usable now, and why not.
 */
/*
 * A store handle.  Callers use it only through the store_* calls below
 * (common/store/store.c, the one door: it checks the arguments once and
 * hands them to the backend).  <ops> and <impl> belong to common/store/:
 * the ops table is declared in common/store/backend.h, which nothing
 * outside the store folder includes.  <backend> may be read.
 */
struct store_ops;
struct store {
	const struct store_ops *ops;	/* private to common/store/ */
	void	*impl;			/* private to common/store/ */
	char	 backend[16];	/* "sqlite" or "supabase" */
};

/* Backend constructors; each returns 0 and fills <st>, or -1 with <err>. */
int	store_sqlite_open(struct store *st, const char *db_path,
	    int heartbeat_interval_sec, char *err, size_t errlen);
int	store_supabase_open(struct store *st, const char *url,
	    const char *service_key, int heartbeat_interval_sec,
	    int timeout_sec, char *err, size_t errlen);

/*
 * Open the store <cfg> names into <st> (sqlite at <state_dir>/rayvault.db,
 * or supabase when SUPABASE_URL is set).  Returns 0, or -1 with <err>;
 * errno EINVAL then means the store was reached but is not this build's
 * (an embedded database of another schema), anything else a fault.
 * store_close() closes it (NULL or closed is fine) and zeroes <st>.
 */
struct rv_config;
int	store_open(struct store *st, const struct rv_config *cfg, char *err,
	    size_t errlen);
void	store_close(struct store *st);

/*
 * Whether the store can be used now: 0, or -1 with <why> saying what broke
 * it (the backend keeps trying to reopen).
 */
int	store_health(struct store *st, char *why, size_t len);

/*
 * One call per store operation: the door every program uses.  Each takes
 * <st> and then the operation's arguments (the rules above), and returns
 * -1 with <err> "store is not open" when <st> is NULL or closed.  The
 * arguments are checked here once, for every backend (an event's fields
 * are terminated, its ids are uuids, its severity is one of DEBUG INFO
 * WARN ERROR CRITICAL, its payload an object, its lease epoch not
 * negative; a ledger row's fields are terminated): a bad one is refused
 * with -1, <err> and errno EINVAL before the backend is reached.
 * Otherwise each returns what the backend returns.  Pointer arguments
 * are borrowed; *spec_json, *out arrays and cJSON trees returned are the
 * caller's to free (free(), cJSON_Delete()).
 */
int	store_enqueue(struct store *st, const char *video_id,
	    const char *task_type, const char *spec_json, char *run_id_out,
	    char *err, size_t errlen);
int	store_enqueue_replace(struct store *st, const char *video_id,
	    const char *task_type, const char *spec_json, char *run_id_out,
	    char *err, size_t errlen);
int	store_amend(struct store *st, const struct store_amend *a,
	    enum store_action_result *res, char *msg, size_t msglen,
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

/* The names of a write answer and an action result ("done", "applied"). */
const char *store_write_name(enum store_write res);
const char *store_action_result_name(enum store_action_result res);

#endif
