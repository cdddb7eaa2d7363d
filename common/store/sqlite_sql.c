/* SPDX-License-Identifier: ISC */
/*
 * sqlite_sql.c: the small SQL and validation helpers the SQLite store
 * backend is written with.
 *
 * sqs_prep() prepares one statement and binds its parameters from a
 * format string ('s' text or NULL, 'z' text with "" bound as NULL, 'i'
 * int, 'I' long long, 'd' double), so each operation reads as its SQL.
 * sqs_begin()/sqs_end() bracket every read-modify-write in BEGIN
 * IMMEDIATE, which takes the write lock first, so two processes can never
 * both decide on the same row.  sqs_row_load() reads the lock snapshot an
 * operation decides on; sqs_event() writes one run_events row of the
 * store's own.  Nothing here logs; errors fill the caller's buffer.
 *
 * Public (backend-internal, see sqlite.h): sqs_seterr, sqs_quote,
 * sqs_fail, sqs_prep, sqs_run, sqs_step, sqs_col, sqs_begin, sqs_end,
 * sqs_event, sqs_json_str, sqs_row_load, sqs_row_holds, sqs_clear_lock,
 * sqs_fence, sqs_ready,
 * sqs_terminal, sqs_worker_state_valid, sqs_lease_clamp,
 * sqs_check_run_id, sqs_check_name.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sqlite3.h>

#include "common/core/errbuf.h"
#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/store/sqlite.h"

void
sqs_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)errbuf_vset(err, errlen, -1, fmt, ap);
	va_end(ap);
}

/* Whether SQLite result <code> means the handle must be reopened. */
static bool
breaks_handle(int code)
{
	switch (code & 0xff) {
	case SQLITE_READONLY:
	case SQLITE_IOERR:
	case SQLITE_CORRUPT:
	case SQLITE_CANTOPEN:
	case SQLITE_NOTADB:
		return true;
	}
	return false;
}

/* Whether <code> is a fault of the store, not of the call's record. */
static bool
store_fault(int code)
{
	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_NOMEM:
	case SQLITE_PROTOCOL:
		return true;
	}
	return breaks_handle(code);
}

/*
 * Fill <err> with SQLite's message for the last failure; returns -1.  A
 * failure that breaks the handle (read-only, I/O error, corrupt, cannot
 * open) marks it for reopening by the next call; a fault of the store
 * rather than of the record (those, locked, busy, disk full) sets errno
 * EAGAIN, which tells a replayer to try again later.
 */
int
sqs_fail(struct sqs *s, char *err, size_t errlen, const char *what)
{
	const char *msg;
	int code;

	code = s->db != NULL ? sqlite3_extended_errcode(s->db) :
	    SQLITE_CANTOPEN;
	msg = s->db != NULL ? sqlite3_errmsg(s->db) : "database is not open";
	sqs_seterr(err, errlen, "store: %s: %s", what, msg);
	if (breaks_handle(code)) {
		s->broken = true;
		(void)snprintf(s->why, sizeof(s->why), "%s: %s", what, msg);
	}
	errno = store_fault(code) ? EAGAIN : EINVAL;
	return -1;
}

/*
 * Make sure <s> has a handle worth trying: one that broke, or was opened
 * read-only, is closed and opened again (never inside a transaction).
 * Returns 0 when there is a handle (it may still be read-only: reads
 * work, writes fail and keep it marked), or -1 with <err>.
 */
int
sqs_ready(struct sqs *s, char *err, size_t errlen)
{
	if (s->db != NULL && !s->broken)
		return 0;
	if (s->db != NULL && !sqlite3_get_autocommit(s->db))
		return 0;
	if (sqs_open_db(s, err, errlen) == 0 || s->db != NULL)
		return 0;
	return -1;
}

static int
bind_text(sqlite3_stmt *st, int i, const char *v, bool empty_null)
{
	if (v == NULL || (empty_null && *v == '\0'))
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static int
bind_all(sqlite3_stmt *st, const char *fmt, va_list ap)
{
	int i, rc = SQLITE_OK;

	for (i = 1; fmt[i - 1] != '\0' && rc == SQLITE_OK; i++) {
		switch (fmt[i - 1]) {
		case 's':
			rc = bind_text(st, i, va_arg(ap, const char *), false);
			break;
		case 'z':
			rc = bind_text(st, i, va_arg(ap, const char *), true);
			break;
		case 'i':
			rc = sqlite3_bind_int(st, i, va_arg(ap, int));
			break;
		case 'I':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, long long));
			break;
		case 'd':
			rc = sqlite3_bind_double(st, i, va_arg(ap, double));
			break;
		default:
			return SQLITE_MISUSE;
		}
	}
	return rc;
}

static int
vprep(struct sqs *s, sqlite3_stmt **stp, char *err, size_t errlen,
    const char *sql, const char *fmt, va_list ap)
{
	*stp = NULL;
	if ((s->db == NULL || s->broken) && sqs_ready(s, err, errlen) == -1)
		return -1;
	if (sqlite3_prepare_v2(s->db, sql, -1, stp, NULL) != SQLITE_OK)
		return sqs_fail(s, err, errlen, "prepare");
	if (bind_all(*stp, fmt, ap) != SQLITE_OK) {
		sqs_seterr(err, errlen, "store: bind: %s",
		    sqlite3_errmsg(s->db));
		sqlite3_finalize(*stp);
		*stp = NULL;
		return -1;
	}
	return 0;
}

/*
 * Prepare <sql> with the parameters described by <fmt>.  Returns 0 with
 * *stp set (the caller finalizes it), or -1 with <err> filled.
 */
int
sqs_prep(struct sqs *s, sqlite3_stmt **stp, char *err, size_t errlen,
    const char *sql, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vprep(s, stp, err, errlen, sql, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * Run one statement to completion (rows, e.g. from RETURNING, are
 * skipped).  Returns the number of rows changed, or -1.
 */
int
sqs_run(struct sqs *s, char *err, size_t errlen, const char *sql,
    const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int r, rc;

	va_start(ap, fmt);
	r = vprep(s, &st, err, errlen, sql, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		r = sqs_fail(s, err, errlen, "step");
	else
		r = sqlite3_changes(s->db);
	sqlite3_finalize(st);
	return r;
}

/* One step: 1 for a row, 0 when done, -1 on failure. */
int
sqs_step(struct sqs *s, sqlite3_stmt *st, char *err, size_t errlen)
{
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		return 1;
	case SQLITE_DONE:
		return 0;
	default:
		return sqs_fail(s, err, errlen, "step");
	}
}

/* Copy text column <col> into <buf>; NULL becomes "". */
void
sqs_col(sqlite3_stmt *st, int col, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	strlcpy(buf, t != NULL ? (const char *)t : "", size);
}

int
sqs_begin(struct sqs *s, char *err, size_t errlen)
{
	if (sqs_ready(s, err, errlen) == -1)
		return -1;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return sqs_fail(s, err, errlen, "begin");
	return 0;
}

/*
 * End the transaction sqs_begin() opened: commit when <r> >= 0, roll back
 * otherwise.  Returns <r>, or -1 when the commit failed.  errno is kept.
 */
int
sqs_end(struct sqs *s, int r, char *err, size_t errlen)
{
	int saved = errno;

	if (s->db == NULL)
		return -1;
	if (r >= 0) {
		if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) ==
		    SQLITE_OK)
			return r;
		r = sqs_fail(s, err, errlen, "commit");
		saved = errno;
	}
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	errno = saved;
	return r;
}

/* Add string <val> under <key>, or JSON null when <val> is NULL or "". */
void
sqs_json_str(cJSON *o, const char *key, const char *val)
{
	if (val == NULL || *val == '\0')
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, val);
}

/*
 * Write one run_events row of the store's own (source "store", occurred
 * now).  Takes ownership of <payload>.  Returns 0 or -1.
 */
int
sqs_event(struct sqs *s, const char *run_id, const char *type,
    const char *severity, const char *reason_key, cJSON *payload,
    char *err, size_t errlen)
{
	char id[ID_UUID_LEN + 1], *text;
	int r;

	text = payload != NULL ? cJSON_PrintUnformatted(payload) : NULL;
	cJSON_Delete(payload);
	if (text == NULL) {
		sqs_seterr(err, errlen, "store: event %s: out of memory", type);
		return -1;
	}
	id_uuid_new(id);
	r = sqs_run(s, err, errlen,
	    "INSERT INTO run_events (event_id, run_id, event_type, severity,"
	    " reason_key, source, occurred_at, payload, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, 'store', " SQS_NOW ", ?6, "
	    SQS_NOW ")", "szsszs", id, run_id, type, severity, reason_key,
	    text);
	cJSON_free(text);
	return r < 0 ? -1 : 0;
}

/*
 * Read the lock snapshot of <run_id>.  Returns 1, or 0 with errno ENOENT
 * and <err> "run X: not found", or -1.
 */
int
sqs_row_load(struct sqs *s, const char *run_id, struct sqs_row *row,
    char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int r;

	memset(row, 0, sizeof(*row));
	if (sqs_prep(s, &st, err, errlen,
	    "SELECT status, worker_id, lock_token, gate_nonce,"
	    " lease_expires_at, last_heartbeat_at, lease_epoch, force_refetch,"
	    " lock_token IS NOT NULL AND lease_expires_at IS NOT NULL AND"
	    " julianday(lease_expires_at) > julianday('now'),"
	    " decided_nonce, gate_decision, fenced_epoch"
	    " FROM pipeline_runs WHERE run_id = ?1", "s", run_id) == -1)
		return -1;
	if ((r = sqs_step(s, st, err, errlen)) == 1) {
		sqs_col(st, 0, row->status, sizeof(row->status));
		sqs_col(st, 1, row->worker_id, sizeof(row->worker_id));
		sqs_col(st, 2, row->lock_token, sizeof(row->lock_token));
		sqs_col(st, 3, row->gate_nonce, sizeof(row->gate_nonce));
		sqs_col(st, 4, row->lease_expires_at,
		    sizeof(row->lease_expires_at));
		sqs_col(st, 5, row->last_heartbeat_at,
		    sizeof(row->last_heartbeat_at));
		row->lease_epoch = sqlite3_column_int64(st, 6);
		row->force_refetch = sqlite3_column_int(st, 7) != 0;
		row->live = sqlite3_column_int(st, 8) != 0;
		sqs_col(st, 9, row->decided_nonce, sizeof(row->decided_nonce));
		sqs_col(st, 10, row->gate_decision,
		    sizeof(row->gate_decision));
		row->fenced_epoch = sqlite3_column_int64(st, 11);
	}
	sqlite3_finalize(st);
	if (r == 0) {
		sqs_seterr(err, errlen, "run %s: not found", run_id);
		errno = ENOENT;
	}
	return r;
}

/* Whether <worker_id> with <lock_token> is the run's current holder. */
bool
sqs_row_holds(const struct sqs_row *row, const char *worker_id,
    const char *lock_token)
{
	return row->lock_token[0] != '\0' && lock_token != NULL &&
	    worker_id != NULL && strcmp(row->lock_token, lock_token) == 0 &&
	    strcmp(row->worker_id, worker_id) == 0;
}

/*
 * Drop the lease of <run_id> for an operator (status and worker_id are
 * kept).  The epoch of a lock that was held is fenced: its holder can
 * write nothing more (SPEC section 2), even before the run is claimed
 * again.
 */
int
sqs_clear_lock(struct sqs *s, const char *run_id, char *err, size_t errlen)
{
	return sqs_run(s, err, errlen,
	    "UPDATE pipeline_runs SET fenced_epoch = CASE WHEN lock_token"
	    " IS NOT NULL THEN lease_epoch ELSE fenced_epoch END,"
	    " lock_token = NULL, lease_expires_at = NULL,"
	    " worker_state = 'idle', updated_at = " SQS_NOW
	    " WHERE run_id = ?1", "s", run_id) < 0 ? -1 : 0;
}

/*
 * Epoch fencing (SPEC section 2): whether a write of <run_id> stamped
 * with lease epoch <epoch> must be refused, because the run is at
 * another epoch or an operator cleared that epoch's lock.  A write with
 * no run or epoch 0, or for a run the store does not know, is not
 * fenced.  Returns 1 with <why> filled, 0, or -1.
 */
int
sqs_fence(struct sqs *s, const char *run_id, long long epoch, char *why,
    size_t whylen, char *err, size_t errlen)
{
	struct sqs_row row;
	int r;

	if (run_id == NULL || *run_id == '\0' || epoch <= 0)
		return 0;
	if ((r = sqs_row_load(s, run_id, &row, err, errlen)) != 1)
		return r == 0 ? 0 : -1;
	if (epoch != row.lease_epoch) {
		sqs_seterr(why, whylen, "stale epoch %lld, run is at %lld",
		    epoch, row.lease_epoch);
		return 1;
	}
	if (epoch <= row.fenced_epoch) {
		sqs_seterr(why, whylen, "stale epoch %lld: an operator "
		    "cleared its lock", epoch);
		return 1;
	}
	return 0;
}

bool
sqs_terminal(const char *status)
{
	return strcmp(status, RUN_DONE) == 0 ||
	    strcmp(status, RUN_FAILED) == 0 ||
	    strcmp(status, RUN_ABORTED) == 0;
}

bool
sqs_worker_state_valid(const char *ws)
{
	return ws != NULL && (strcmp(ws, WS_ACTIVE) == 0 ||
	    strcmp(ws, WS_WAITING) == 0 || strcmp(ws, WS_PANIC) == 0 ||
	    strcmp(ws, WS_IDLE) == 0);
}

int
sqs_lease_clamp(int minutes)
{
	if (minutes < SQS_LEASE_MIN)
		return SQS_LEASE_MIN;
	if (minutes > SQS_LEASE_MAX)
		return SQS_LEASE_MAX;
	return minutes;
}

/* A run id must be uuid-shaped.  Returns 0, or -1 with <err>. */
int
sqs_check_run_id(const char *id, char *err, size_t errlen)
{
	char q[64];

	if (id_uuid_valid(id))
		return 0;
	sqs_seterr(err, errlen, "\"%s\" is not a run id",
	    errbuf_quote(id, q, sizeof(q)));
	return -1;
}

/*
 * A worker or operator name (<what>): 3 to 64 printable ASCII characters
 * without spaces.  Returns 0, or -1 with <err>.
 */
int
sqs_check_name(const char *name, const char *what, char *err, size_t errlen)
{
	char q[64];
	size_t i, n;

	n = name != NULL ? strlen(name) : 0;
	if (n < 3) {
		sqs_seterr(err, errlen, "%s \"%s\" is too short (at least 3 "
		    "characters)", what, errbuf_quote(name, q, sizeof(q)));
		return -1;
	}
	if (n > STORE_WID_MAX - 1) {
		sqs_seterr(err, errlen, "%s \"%s\" is too long (at most %d "
		    "characters)", what, errbuf_quote(name, q, sizeof(q)),
		    STORE_WID_MAX - 1);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f) {
			sqs_seterr(err, errlen, "%s \"%s\": only printable "
			    "characters without spaces", what,
			    errbuf_quote(name, q, sizeof(q)));
			return -1;
		}
	return 0;
}
