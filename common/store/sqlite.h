/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_STORE_SQLITE_H
#define RV_COMMON_STORE_SQLITE_H

/*
 * Internals shared by the files of the SQLite store backend:
 * store_sqlite.c (open, schema, ops table, contract), sqlite_sql.c (SQL
 * and validation helpers), sqlite_lease.c (claim and the holder's calls),
 * sqlite_operator.c (operator actions, force unlock), sqlite_data.c
 * (runs, events) and sqlite_ledger.c (credit ledger).  Nothing outside
 * common/store/ includes it.
 */

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>
#include <sqlite3.h>

#include "common/store/store.h"
#include "common/store/backend.h"

#define SQS_SCHEMA_VERSION	3
#define SQS_LEASE_MIN		1
#define SQS_LEASE_MAX		30
#define SQS_SPEC_MAX		(1024 * 1024)
#define SQS_PAYLOAD_MAX		(256 * 1024)

/* The database clock as ISO-8601 UTC text with milliseconds. */
#define SQS_NOW		"strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
/* The database clock plus the minutes bound at parameter <p>. */
#define SQS_LEASE(p)	"strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || " \
			    p " || ' minutes')"
/* Seconds from time column <c> to now (positive when <c> is past). */
#define SQS_AGE(c)	"((julianday('now') - julianday(" c ")) * 86400.0)"
#define SQS_TERMINAL	"('done', 'failed', 'aborted')"

/*
 * One database; the store's impl pointer.  <db> is NULL, or <broken> is
 * set, when the handle must be (re)opened before the next call: it was
 * opened read-only, or a call met SQLITE_READONLY, _IOERR, _CORRUPT,
 * _CANTOPEN or _NOTADB (see sqs_ready()).  <why> keeps the last such
 * error for store_health().
 */
struct sqs {
	sqlite3	*db;
	int	 hb_interval;	/* seconds, for the recovery rule */
	bool	 broken;
	bool	 foreign;	/* the last open met another schema */
	char	 path[1024];
	char	 why[256];
};

/* The lock and gate columns of one run, read inside a transaction. */
struct sqs_row {
	char	 status[STORE_STATUS_MAX];
	char	 worker_id[STORE_WID_MAX];
	char	 lock_token[STORE_ID_MAX];
	char	 gate_nonce[STORE_ID_MAX];
	char	 decided_nonce[STORE_ID_MAX];
	char	 gate_decision[16];
	char	 lease_expires_at[STORE_TIME_MAX];
	char	 last_heartbeat_at[STORE_TIME_MAX];
	long long lease_epoch;
	long long fenced_epoch;	/* epochs <= this were cleared by an operator */
	bool	 force_refetch;
	bool	 live;		/* locked, lease not expired */
};

/* sqlite_sql.c */
void	sqs_seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	sqs_fail(struct sqs *s, char *err, size_t errlen, const char *what);
int	sqs_ready(struct sqs *s, char *err, size_t errlen);
int	sqs_open_db(struct sqs *s, char *err, size_t errlen);
int	sqs_prep(struct sqs *s, sqlite3_stmt **stp, char *err, size_t errlen,
	    const char *sql, const char *fmt, ...);
int	sqs_run(struct sqs *s, char *err, size_t errlen, const char *sql,
	    const char *fmt, ...);
int	sqs_step(struct sqs *s, sqlite3_stmt *st, char *err, size_t errlen);
void	sqs_col(sqlite3_stmt *st, int col, char *buf, size_t size);
int	sqs_begin(struct sqs *s, char *err, size_t errlen);
int	sqs_end(struct sqs *s, int r, char *err, size_t errlen);
int	sqs_event(struct sqs *s, const char *run_id, const char *type,
	    const char *severity, const char *reason_key, cJSON *payload,
	    char *err, size_t errlen);
void	sqs_json_str(cJSON *o, const char *key, const char *val);
int	sqs_row_load(struct sqs *s, const char *run_id, struct sqs_row *row,
	    char *err, size_t errlen);
bool	sqs_row_holds(const struct sqs_row *row, const char *worker_id,
	    const char *lock_token);
int	sqs_clear_lock(struct sqs *s, const char *run_id, char *err,
	    size_t errlen);
int	sqs_fence(struct sqs *s, const char *run_id, long long epoch,
	    char *why, size_t whylen, char *err, size_t errlen);
bool	sqs_terminal(const char *status);
bool	sqs_worker_state_valid(const char *ws);
int	sqs_lease_clamp(int minutes);
int	sqs_check_run_id(const char *id, char *err, size_t errlen);
int	sqs_check_name(const char *name, const char *what, char *err,
	    size_t errlen);

/* sqlite_lease.c */
int	sqs_claim(void *impl, const char *worker_id, const char *lock_token,
	    int lease_minutes, const char *task_type,
	    const char *prev_lock_token, struct store_claim *out, char *err,
	    size_t errlen);
int	sqs_heartbeat(void *impl, const char *run_id, const char *worker_id,
	    const char *lock_token, int lease_minutes, long latency_ms,
	    const char *worker_state, struct store_hb *out, char *err,
	    size_t errlen);
int	sqs_release(void *impl, const char *run_id, const char *worker_id,
	    const char *lock_token, const char *worker_state, bool *ok,
	    char *err, size_t errlen);
int	sqs_finish(void *impl, const char *run_id, const char *worker_id,
	    const char *lock_token, const char *status, const char *error,
	    bool *ok, char *err, size_t errlen);
int	sqs_gate(void *impl, const char *run_id, const char *worker_id,
	    const char *lock_token, const char *reason,
	    const char *worker_state, const cJSON *evidence, char *nonce_out,
	    bool *ok, char *err, size_t errlen);
int	sqs_set_worker_state(void *impl, const char *run_id,
	    const char *worker_id, const char *lock_token,
	    const char *worker_state, bool *ok, char *err, size_t errlen);

/* sqlite_operator.c */
int	sqs_operator_action(void *impl, const char *run_id,
	    const char *action, const char *operator_name, const char *nonce,
	    enum store_action_result *res, char *msg, size_t msglen, char *err,
	    size_t errlen);
int	sqs_amend(void *impl, const struct store_amend *a,
	    enum store_action_result *res, char *msg, size_t msglen,
	    char *err, size_t errlen);
int	sqs_force_unlock(void *impl, const char *run_id,
	    const char *operator_id, const char *reason, bool force,
	    bool *unlocked, char *msg, size_t msglen, char *err,
	    size_t errlen);

/* sqlite_data.c */
int	sqs_enqueue(void *impl, const char *video_id, const char *task_type,
	    const char *spec_json, bool replace, char *run_id_out, char *err,
	    size_t errlen);
int	sqs_add_event(void *impl, const struct store_event *ev,
	    enum store_write *res, char *err, size_t errlen);
int	sqs_get_run(void *impl, const char *run_or_video_id,
	    struct store_run *out, char **spec_json, char *err, size_t errlen);
int	sqs_list_runs(void *impl, struct store_run **out, size_t *n,
	    char *err, size_t errlen);
int	sqs_list_events(void *impl, const char *run_id, cJSON **out,
	    char *err, size_t errlen);

/* sqlite_ledger.c */
int	sqs_ledger_intent(void *impl, const struct store_ledger *l,
	    const char *lock_token, bool *fresh, struct store_ledger *existing,
	    enum store_write *res, char *err, size_t errlen);
int	sqs_ledger_result(void *impl, const char *key, long long lease_epoch,
	    const char *state, int credits, const char *output,
	    enum store_write *res, char *err, size_t errlen);
int	sqs_ledger_list(void *impl, const char *run_id,
	    struct store_ledger **out, size_t *n, char *err, size_t errlen);

/* Every statement text, for the contract check (NULL-terminated). */
extern const char *const sqs_lease_sql[];
extern const char *const sqs_operator_sql[];
extern const char *const sqs_data_sql[];
extern const char *const sqs_ledger_sql[];

#endif
