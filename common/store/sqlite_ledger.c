/* SPDX-License-Identifier: ISC */
/*
 * sqlite_ledger.c: the credit ledger of the SQLite store backend (SPEC
 * section 3): ledger_intent, ledger_result, ledger_list.
 *
 * Every paid render books an intent under the key
 * "<run_id>:<segment_id>:<sha8>" before the call and its result after it.
 * An intent is booked only by the run's current lock holder (token and,
 * when given, lease epoch: an old epoch is FENCED) while the run may
 * spend (running or approved), so a zombie of an earlier claim can never
 * book a render; an intent whose key exists is answered with the
 * existing row, which is how a restarted worker learns it already paid,
 * unless that attempt failed: then it is a new paid attempt (attempts +
 * 1).  A result moves an intent to done or failed, and a failed row to
 * done (a late success); done is never undone; repeating a result is a
 * DUPLICATE, harmless.  This file never changes a run.
 *
 * Public (backend-internal): sqs_ledger_intent, sqs_ledger_result,
 * sqs_ledger_list, sqs_ledger_sql.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/core/errbuf.h"
#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/store/sqlite.h"

#define LEDGER_COLS \
    "key, run_id, segment_id, sha8, lease_epoch, credits, state, output," \
    " attempts"

/*
 * Commit a ledger change with synchronous=FULL: the database runs with
 * NORMAL (a power cut may lose the last lease renewals or events, never
 * corrupt), but an intent is the promise that a paid render happened or
 * is about to, so it reaches the disk before the render is paid for.
 */
static int
durable_end(struct sqs *s, int r, char *err, size_t errlen)
{
	(void)sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL,
	    NULL);
	r = sqs_end(s, r, err, errlen);
	(void)sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL,
	    NULL);
	return r;
}

static const char sql_ledger_get[] =
    "SELECT " LEDGER_COLS " FROM credit_ledger WHERE key = ?1";

static const char sql_ledger_insert[] =
    "INSERT INTO credit_ledger (key, run_id, segment_id, sha8,"
    " lease_epoch, credits, state, output, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'intent', NULL, " SQS_NOW ", "
    SQS_NOW ")";

/* A failed attempt paid again: a new intent, one more attempt. */
static const char sql_ledger_retry[] =
    "UPDATE credit_ledger SET state = 'intent', attempts = attempts + 1,"
    " lease_epoch = ?2, credits = ?3, output = NULL,"
    " updated_at = " SQS_NOW " WHERE key = ?1 AND state = 'failed'";

/* A result lands on an intent, or a late success on a failure. */
static const char sql_ledger_result[] =
    "UPDATE credit_ledger SET state = ?2, credits = ?3, output = ?4,"
    " updated_at = " SQS_NOW " WHERE key = ?1"
    " AND (state = 'intent' OR (state = 'failed' AND ?2 = 'done'))";

static const char sql_ledger_list[] =
    "SELECT " LEDGER_COLS " FROM credit_ledger"
    " WHERE ?1 IS NULL OR run_id = ?1 ORDER BY created_at, rowid";

const char *const sqs_ledger_sql[] = {
	sql_ledger_get, sql_ledger_insert, sql_ledger_retry,
	sql_ledger_result, sql_ledger_list, NULL
};

static void
fill_ledger(sqlite3_stmt *st, struct store_ledger *l)
{
	memset(l, 0, sizeof(*l));
	sqs_col(st, 0, l->key, sizeof(l->key));
	sqs_col(st, 1, l->run_id, sizeof(l->run_id));
	sqs_col(st, 2, l->segment_id, sizeof(l->segment_id));
	sqs_col(st, 3, l->sha8, sizeof(l->sha8));
	l->lease_epoch = sqlite3_column_int64(st, 4);
	l->credits = sqlite3_column_int(st, 5);
	sqs_col(st, 6, l->state, sizeof(l->state));
	sqs_col(st, 7, l->output, sizeof(l->output));
	l->attempts = sqlite3_column_int(st, 8);
}

/* Read the row of <key>: 1, 0 when there is none, -1 on failure. */
static int
ledger_get(struct sqs *s, const char *key, struct store_ledger *l,
    char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int r;

	if (sqs_prep(s, &st, err, errlen, sql_ledger_get, "s", key) == -1)
		return -1;
	if ((r = sqs_step(s, st, err, errlen)) == 1 && l != NULL)
		fill_ledger(st, l);
	sqlite3_finalize(st);
	return r;
}

/*
 * Check <l> (its fields are terminated: the door checked) and build its
 * key into <key> (128 bytes).
 */
static int
check_intent(const struct store_ledger *l, char *key, char *err,
    size_t errlen)
{
	char q[64];

	if (sqs_check_run_id(l->run_id, err, errlen) == -1)
		return -1;
	if (!id_segment_valid(l->segment_id)) {
		sqs_seterr(err, errlen, "ledger: \"%s\" is not a segment id",
		    errbuf_quote(l->segment_id, q, sizeof(q)));
		return -1;
	}
	if (!id_sha8_valid(l->sha8)) {
		sqs_seterr(err, errlen, "ledger: \"%s\" is not a sha8",
		    errbuf_quote(l->sha8, q, sizeof(q)));
		return -1;
	}
	if (l->credits < 0) {
		sqs_seterr(err, errlen, "ledger: negative credits");
		return -1;
	}
	snprintf(key, sizeof(l->key), "%s:%s:%s", l->run_id, l->segment_id,
	    l->sha8);
	if (l->key[0] != '\0' && strcmp(l->key, key) != 0) {
		sqs_seterr(err, errlen, "ledger key \"%s\" is not "
		    "<run_id>:<segment_id>:<sha8>", errbuf_quote(l->key, q,
		    sizeof(q)));
		return -1;
	}
	return 0;
}

static int
check_holder(const struct sqs_row *row, const char *key,
    const char *lock_token, char *err, size_t errlen)
{
	if (lock_token == NULL || row->lock_token[0] == '\0' ||
	    strcmp(row->lock_token, lock_token) != 0) {
		sqs_seterr(err, errlen, "ledger %s: lock lost (the caller's "
		    "token is not the run's)", key);
		errno = ESTALE;
		return -1;
	}
	if (strcmp(row->status, RUN_RUNNING) != 0 &&
	    strcmp(row->status, RUN_APPROVED) != 0) {
		sqs_seterr(err, errlen, "ledger %s: run is %s; no credits may "
		    "be spent", key, row->status);
		errno = EPERM;
		return -1;
	}
	return 0;
}

static int
intent_locked(struct sqs *s, const struct store_ledger *l, const char *key,
    const char *lock_token, bool *fresh, struct store_ledger *existing,
    enum store_write *res, char *err, size_t errlen)
{
	struct store_ledger cur;
	struct sqs_row row;
	char why[160];
	int r;

	if ((r = sqs_fence(s, l->run_id, l->lease_epoch, why, sizeof(why),
	    err, errlen)) != 0) {
		if (r == -1)
			return -1;
		*res = STORE_WRITE_FENCED;
		sqs_seterr(err, errlen, "ledger %s: %s", key, why);
		return 0;
	}
	if (sqs_row_load(s, l->run_id, &row, err, errlen) != 1)
		return -1;
	if (check_holder(&row, key, lock_token, err, errlen) == -1)
		return -1;
	if ((r = ledger_get(s, key, &cur, err, errlen)) == -1)
		return -1;
	if (r == 1 && strcmp(cur.state, "failed") != 0) {
		if (existing != NULL)
			*existing = cur;
		*res = STORE_WRITE_DUPLICATE;
		return 0;
	}
	if (r == 1) {
		if (sqs_run(s, err, errlen, sql_ledger_retry, "sIi", key,
		    row.lease_epoch, l->credits) < 0 ||
		    ledger_get(s, key, existing, err, errlen) != 1)
			return -1;
	} else if (sqs_run(s, err, errlen, sql_ledger_insert, "ssssIi", key,
	    l->run_id, l->segment_id, l->sha8, row.lease_epoch,
	    l->credits) < 0)
		return -1;
	*fresh = true;
	*res = STORE_WRITE_DONE;
	return 0;
}

/*
 * Book the intent <l> (borrowed; an empty key is built from run_id,
 * segment_id and sha8) for the holder of <lock_token>.  *fresh is true
 * when a paid attempt was booked now: a new key, or a key whose last
 * attempt failed (state back to intent, attempts + 1).  Otherwise the
 * key is booked (intent or done): *res DUPLICATE and <existing> (may be
 * NULL) gets the row.  *res FENCED (with <err>, nothing booked) when
 * l->lease_epoch > 0 is not the run's current epoch or was cleared by an
 * operator.  Returns 0, or -1: a bad argument, the lock lost (errno
 * ESTALE, "lock lost"), a run that may not spend (errno EPERM), or a
 * store failure.
 */
int
sqs_ledger_intent(void *impl, const struct store_ledger *l,
    const char *lock_token, bool *fresh, struct store_ledger *existing,
    enum store_write *res, char *err, size_t errlen)
{
	struct sqs *s = impl;
	char key[sizeof(l->key)];

	*fresh = false;
	*res = STORE_WRITE_DONE;
	if (existing != NULL)
		memset(existing, 0, sizeof(*existing));
	if (check_intent(l, key, err, errlen) == -1)
		return -1;
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	return durable_end(s, intent_locked(s, l, key, lock_token, fresh,
	    existing, res, err, errlen), err, errlen);
}

static int
result_locked(struct sqs *s, const char *key, long long epoch,
    const char *state, int credits, const char *output,
    enum store_write *res, char *err, size_t errlen)
{
	struct store_ledger cur;
	char why[160];
	int r;

	if ((r = ledger_get(s, key, &cur, err, errlen)) != 1) {
		if (r == 0) {
			sqs_seterr(err, errlen, "ledger %s: not found", key);
			errno = ENOENT;
		}
		return -1;
	}
	if ((r = sqs_fence(s, cur.run_id, epoch, why, sizeof(why), err,
	    errlen)) != 0) {
		if (r == -1)
			return -1;
		*res = STORE_WRITE_FENCED;
		sqs_seterr(err, errlen, "ledger %s: %s", key, why);
		return 0;
	}
	if ((r = sqs_run(s, err, errlen, sql_ledger_result, "ssiz", key,
	    state, credits, output)) < 0)
		return -1;
	if (r == 1) {
		*res = STORE_WRITE_DONE;
		return 0;
	}
	*res = STORE_WRITE_DUPLICATE;
	if (strcmp(cur.state, state) != 0)
		sqs_seterr(err, errlen, "ledger %s is already %s; a %s result "
		    "does not undo it", key, cur.state, state);
	return 0;
}

/*
 * Record the result of the intent <key>: <state> done or failed, the
 * <credits> spent and the <output> path (relative to the state root,
 * may be NULL), from the holder of lease epoch <lease_epoch> (0: not
 * fenced).  It lands on a row in intent, and a success also on a row
 * whose attempt failed (a late success ends done); a done row is never
 * made failed.  *res: DONE when recorded now, DUPLICATE when the row
 * already has its result (a replay, or done before), FENCED when the
 * epoch is stale (nothing changed).  Returns 0, or -1 (unknown key:
 * errno ENOENT).
 */
int
sqs_ledger_result(void *impl, const char *key, long long lease_epoch,
    const char *state, int credits, const char *output,
    enum store_write *res, char *err, size_t errlen)
{
	struct sqs *s = impl;
	char q[64];

	*res = STORE_WRITE_DONE;
	if (key == NULL || *key == '\0' || strlen(key) >= 128) {
		sqs_seterr(err, errlen, "ledger key \"%s\" is empty or too "
		    "long", errbuf_quote(key, q, sizeof(q)));
		return -1;
	}
	if (state == NULL || (strcmp(state, "done") != 0 &&
	    strcmp(state, "failed") != 0) || credits < 0) {
		sqs_seterr(err, errlen, "ledger %s: result \"%s\" with %d "
		    "credits is not done or failed with credits >= 0", key,
		    errbuf_quote(state, q, sizeof(q)), credits);
		return -1;
	}
	if (output != NULL && (output[0] == '/' || strlen(output) >= 256)) {
		sqs_seterr(err, errlen, "ledger %s: output must be a path "
		    "relative to the state root, under 256 bytes", key);
		return -1;
	}
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	return durable_end(s, result_locked(s, key, lease_epoch, state,
	    credits, output, res, err, errlen), err, errlen);
}

/*
 * The ledger rows of <run_id> (NULL or "": all), oldest first, as an
 * array the caller frees (*out NULL when empty).  Returns 0, or -1.
 */
int
sqs_ledger_list(void *impl, const char *run_id, struct store_ledger **out,
    size_t *n, char *err, size_t errlen)
{
	struct sqs *s = impl;
	struct store_ledger *v = NULL, *nv;
	size_t len = 0, cap = 0;
	sqlite3_stmt *st;
	int r;

	*out = NULL;
	*n = 0;
	if (run_id != NULL && *run_id != '\0' &&
	    sqs_check_run_id(run_id, err, errlen) == -1)
		return -1;
	if (sqs_prep(s, &st, err, errlen, sql_ledger_list, "z", run_id) == -1)
		return -1;
	while ((r = sqs_step(s, st, err, errlen)) == 1) {
		if (len == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				sqs_seterr(err, errlen, "store: ledger: out "
				    "of memory");
				r = -1;
				break;
			}
			v = nv;
		}
		fill_ledger(st, &v[len++]);
	}
	sqlite3_finalize(st);
	if (r == -1) {
		free(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}
