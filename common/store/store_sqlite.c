/* SPDX-License-Identifier: ISC */
/*
 * store_sqlite.c: the embedded store backend (SPEC section 2), one SQLite
 * database file, state/rayvault.db by default.
 *
 * store_sqlite_open() creates the file 0600, switches it to WAL mode
 * (readers never wait for the writer), sets a 5 s busy timeout and
 * synchronous=NORMAL (WAL: a power cut can lose the last commits, never
 * corrupt the file; credit-ledger commits are made with FULL, see
 * sqlite_ledger.c), and creates the schema (pipeline_runs, run_events,
 * credit_ledger, versioned by PRAGMA user_version) when it is missing.  A
 * database made by a newer build is refused rather than guessed at.  Every
 * time is the database's clock as ISO-8601 UTC text with milliseconds.
 * The operations themselves live beside this file: sqlite_lease.c,
 * sqlite_operator.c, sqlite_data.c and sqlite_ledger.c; this file holds
 * the ops table, now() and the read-only contract check, which proves the
 * schema by preparing (never running) every statement the backend uses.
 * A handle is used by one thread at a time; several processes may each
 * open their own.  A handle that could only be opened read-only, or that
 * met SQLITE_READONLY, _IOERR, _CORRUPT, _CANTOPEN or _NOTADB, is closed
 * and opened again by the next call (sqs_ready()); store_health() says
 * why it is unusable meanwhile.
 *
 * Public: store_sqlite_open (and the ops it installs).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <sqlite3.h>

#include "common/store/store.h"
#include "common/store/sqlite.h"

#define XSTR(x)		STR(x)
#define STR(x)		#x
#define BUSY_MS		5000

/*
 * The columns of pipeline_runs.  A video id may have several runs: the
 * current one (replaced_by NULL, at most one: index pipeline_runs_video)
 * and the aborted or failed ones rvctl enqueue --replace replaced.
 */
#define RUNS_TABLE(name)						\
    "CREATE TABLE IF NOT EXISTS " name " ("				\
    " run_id TEXT PRIMARY KEY,"						\
    " video_id TEXT NOT NULL,"						\
    " task_type TEXT NOT NULL DEFAULT '',"				\
    " status TEXT NOT NULL DEFAULT 'running'"				\
    " CHECK (status IN ('running',"					\
    " 'waiting_approval', 'approved', 'done', 'failed', 'aborted')),"	\
    " worker_id TEXT,"							\
    " worker_state TEXT NOT NULL DEFAULT 'idle' CHECK (worker_state IN"	\
    " ('active', 'waiting', 'panic', 'idle')),"				\
    " lock_token TEXT,"							\
    " lease_epoch INTEGER NOT NULL DEFAULT 0,"				\
    " lease_expires_at TEXT,"						\
    " last_heartbeat_at TEXT,"						\
    " heartbeat_latency_ms INTEGER,"					\
    " force_refetch INTEGER NOT NULL DEFAULT 0,"			\
    " gate_nonce TEXT,"							\
    " gate_reason TEXT,"						\
    " gate_evidence TEXT,"						\
    " gated_at TEXT,"							\
    " gate_decision TEXT,"						\
    " decided_nonce TEXT,"						\
    " fenced_epoch INTEGER NOT NULL DEFAULT 0,"				\
    " error TEXT,"							\
    " spec_json TEXT,"							\
    " replaced_by TEXT,"						\
    " created_at TEXT NOT NULL,"					\
    " updated_at TEXT NOT NULL);"

static const char schema_sql[] =
    RUNS_TABLE("pipeline_runs")
    "CREATE INDEX IF NOT EXISTS pipeline_runs_claim"
    " ON pipeline_runs (status, created_at);"
    "CREATE INDEX IF NOT EXISTS pipeline_runs_free"
    " ON pipeline_runs (status, created_at) WHERE lock_token IS NULL;"
    "CREATE INDEX IF NOT EXISTS pipeline_runs_lease"
    " ON pipeline_runs (lease_expires_at) WHERE lock_token IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS pipeline_runs_held"
    " ON pipeline_runs (worker_id, created_at) WHERE lock_token IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS pipeline_runs_worker"
    " ON pipeline_runs (worker_id);"
    "CREATE UNIQUE INDEX IF NOT EXISTS pipeline_runs_video"
    " ON pipeline_runs (video_id) WHERE replaced_by IS NULL;"
    "CREATE TABLE IF NOT EXISTS run_events ("
    " id INTEGER PRIMARY KEY,"
    " event_id TEXT NOT NULL UNIQUE,"
    " run_id TEXT,"
    " event_type TEXT NOT NULL,"
    " severity TEXT NOT NULL CHECK (severity IN ('DEBUG', 'INFO', 'WARN',"
    " 'ERROR', 'CRITICAL')),"
    " reason_key TEXT,"
    " source TEXT,"
    " occurred_at TEXT NOT NULL,"
    " payload TEXT NOT NULL DEFAULT '{}',"
    " lease_epoch INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS run_events_run"
    " ON run_events (run_id, occurred_at);"
    "CREATE TABLE IF NOT EXISTS credit_ledger ("
    " key TEXT PRIMARY KEY,"
    " run_id TEXT NOT NULL,"
    " segment_id TEXT NOT NULL,"
    " sha8 TEXT NOT NULL,"
    " lease_epoch INTEGER NOT NULL,"
    " credits INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 1,"
    " state TEXT NOT NULL CHECK (state IN ('intent', 'done', 'failed')),"
    " output TEXT,"
    " created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS credit_ledger_run"
    " ON credit_ledger (run_id);";

/* Schema version 1 to 2: fencing, gate decisions, paid attempts. */
static const char upgrade_v1_sql[] =
    "ALTER TABLE pipeline_runs ADD COLUMN decided_nonce TEXT;"
    "ALTER TABLE pipeline_runs ADD COLUMN fenced_epoch INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE run_events ADD COLUMN lease_epoch INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE credit_ledger ADD COLUMN attempts INTEGER NOT NULL"
    " DEFAULT 1;"
    "UPDATE pipeline_runs SET decided_nonce = NULL, gate_decision ="
    " substr(gate_decision, 1, instr(gate_decision || ' ', ' ') - 1)"
    " WHERE gate_decision IS NOT NULL;";

/*
 * Schema version 2 to 3: a video id may have replaced runs.  SQLite cannot
 * drop the old UNIQUE (video_id), so the table is copied (the indexes
 * come back with schema_sql).
 */
#define RUNS_V2_COLS							\
    "run_id, video_id, task_type, status, worker_id, worker_state,"	\
    " lock_token, lease_epoch, lease_expires_at, last_heartbeat_at,"	\
    " heartbeat_latency_ms, force_refetch, gate_nonce, gate_reason,"	\
    " gate_evidence, gated_at, gate_decision, decided_nonce,"		\
    " fenced_epoch, error, spec_json, created_at, updated_at"
static const char upgrade_v2_sql[] =
    RUNS_TABLE("pipeline_runs_v3")
    "INSERT INTO pipeline_runs_v3 (" RUNS_V2_COLS ")"
    " SELECT " RUNS_V2_COLS " FROM pipeline_runs ORDER BY rowid;"
    "DROP TABLE pipeline_runs;"
    "ALTER TABLE pipeline_runs_v3 RENAME TO pipeline_runs;";

/* The columns each table must have, for the contract check. */
static const char *const runs_cols[] = {
	"run_id", "video_id", "task_type", "status", "worker_id",
	"worker_state", "lock_token", "lease_epoch", "lease_expires_at",
	"last_heartbeat_at", "heartbeat_latency_ms", "force_refetch",
	"gate_nonce", "gate_reason", "gate_evidence", "gated_at",
	"gate_decision", "decided_nonce", "fenced_epoch", "error",
	"spec_json", "replaced_by", "created_at", "updated_at", NULL
};
static const char *const events_cols[] = {
	"event_id", "run_id", "event_type", "severity", "reason_key",
	"source", "occurred_at", "payload", "lease_epoch", "created_at", NULL
};
static const char *const ledger_cols[] = {
	"key", "run_id", "segment_id", "sha8", "lease_epoch", "credits",
	"attempts", "state", "output", "created_at", "updated_at", NULL
};

static int
int_pragma(struct sqs *s, const char *sql, int *v, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int r;

	if (sqs_prep(s, &st, err, errlen, sql, "") == -1)
		return -1;
	if ((r = sqs_step(s, st, err, errlen)) == 1)
		*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (r == 0)
		sqs_seterr(err, errlen, "store: %s: no answer", sql);
	return r == 1 ? 0 : -1;
}

static int
text_pragma(struct sqs *s, const char *sql, char *buf, size_t size,
    char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int r;

	if (sqs_prep(s, &st, err, errlen, sql, "") == -1)
		return -1;
	if ((r = sqs_step(s, st, err, errlen)) == 1)
		sqs_col(st, 0, buf, size);
	sqlite3_finalize(st);
	if (r == 0)
		sqs_seterr(err, errlen, "store: %s: no answer", sql);
	return r == 1 ? 0 : -1;
}

/* The schema version into *v; -1 with <err> when it is not this build's. */
static int
schema_version(struct sqs *s, int *v, char *err, size_t errlen)
{
	if (int_pragma(s, "PRAGMA user_version", v, err, errlen) == -1)
		return -1;
	if (*v > SQS_SCHEMA_VERSION) {
		sqs_seterr(err, errlen, "store: the database has schema "
		    "version %d, newer than this build's %d", *v,
		    SQS_SCHEMA_VERSION);
		s->foreign = true;
		return -1;
	}
	return 0;
}

/*
 * Run schema script <sql> (<what> names it in <err>).  A plain SQL error
 * (SQLITE_ERROR: a table of ours exists with other columns) means the
 * file holds another schema; busy, locked or I/O errors are faults.
 */
static int
schema_exec(struct sqs *s, const char *sql, const char *what, char *err,
    size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	if (sqlite3_errcode(s->db) == SQLITE_ERROR)
		s->foreign = true;
	sqs_seterr(err, errlen, "store: %s: %s", what,
	    msg != NULL ? msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return -1;
}

static int
schema_locked(struct sqs *s, char *err, size_t errlen)
{
	int v;

	if (schema_version(s, &v, err, errlen) == -1)
		return -1;
	if (v == 1 && schema_exec(s, upgrade_v1_sql, "schema upgrade", err,
	    errlen) == -1)
		return -1;
	if (v >= 1 && v < 3 && schema_exec(s, upgrade_v2_sql,
	    "schema upgrade to 3", err, errlen) == -1)
		return -1;
	if (schema_exec(s, schema_sql, "schema", err, errlen) == -1)
		return -1;
	if (v < SQS_SCHEMA_VERSION && sqs_run(s, err, errlen,
	    "PRAGMA user_version = " XSTR(SQS_SCHEMA_VERSION), "") < 0)
		return -1;
	return 0;
}

/* WAL can be refused while another process holds the file; retry. */
static int
use_wal(struct sqs *s, char *err, size_t errlen)
{
	char mode[16];
	int tries;

	for (tries = 0; tries < BUSY_MS / 100; tries++) {
		if (text_pragma(s, "PRAGMA journal_mode = WAL", mode,
		    sizeof(mode), err, errlen) == -1)
			return -1;
		if (strcmp(mode, "wal") == 0)
			return 0;
		sqlite3_sleep(100);
	}
	sqs_seterr(err, errlen, "store: cannot switch the database to WAL "
	    "mode (it stays in %s mode)", mode);
	return -1;
}

/*
 * A database of another schema is refused before anything is changed in
 * it (the journal mode included); the version is read again under the
 * write lock before the schema is created or upgraded.
 */
static int
setup(struct sqs *s, char *err, size_t errlen)
{
	int v;

	if (sqlite3_busy_timeout(s->db, BUSY_MS) != SQLITE_OK)
		return sqs_fail(s, err, errlen, "busy timeout");
	if (schema_version(s, &v, err, errlen) == -1)
		return -1;
	if (use_wal(s, err, errlen) == -1)
		return -1;
	if (sqs_run(s, err, errlen, "PRAGMA synchronous = NORMAL", "") < 0)
		return -1;
	if (sqs_begin(s, err, errlen) == -1)
		return -1;
	return sqs_end(s, schema_locked(s, err, errlen), err, errlen);
}

/*
 * Create <path> 0600 (or tighten it) before SQLite opens it.  Only when
 * the file does not exist yet is it opened here: closing any descriptor
 * of a database file drops every POSIX lock this process holds on it,
 * which would let another process delete the WAL of a connection that is
 * still open in this one.  An existing file is checked and chmod()ed by
 * path.
 */
static int
create_file(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	const char *why = NULL;
	int fd;

	if (lstat(path, &sb) == -1) {
		if (errno != ENOENT)
			why = strerror(errno);
		else if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
			if (errno != EEXIST)
				why = strerror(errno);
		} else
			close(fd);
		if (why == NULL && lstat(path, &sb) == -1)
			why = strerror(errno);
	}
	if (why == NULL && !S_ISREG(sb.st_mode))
		why = "not a regular file";
	else if (why == NULL && (sb.st_mode & 077) != 0 &&
	    chmod(path, 0600) == -1)
		why = strerror(errno);
	if (why == NULL)
		return 0;
	sqs_seterr(err, errlen, "store: %s: %s", path, why);
	return -1;
}

static void
sqlite_close(void *impl)
{
	struct sqs *s = impl;

	if (s == NULL)
		return;
	(void)sqlite3_close(s->db);
	free(s);
}

/*
 * (Re)open the database of <s>: close the old handle, open the file,
 * set it up.  A handle SQLite could only open read-only (the file or its
 * directory is not writable) is kept for reading but stays marked
 * broken, so the next call tries again.  Returns 0 with a usable
 * handle, or -1 with <err> and s->why (s->db may then be a read-only
 * handle, or NULL).
 */
int
sqs_open_db(struct sqs *s, char *err, size_t errlen)
{
	char why[256];
	int rc;

	if (s->db != NULL) {
		(void)sqlite3_close(s->db);
		s->db = NULL;
	}
	s->broken = true;
	if (create_file(s->path, why, sizeof(why)) == -1) {
		strlcpy(s->why, why, sizeof(s->why));
		sqs_seterr(err, errlen, "%s", why);
		errno = EAGAIN;
		return -1;
	}
	rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		sqs_seterr(s->why, sizeof(s->why), "store: %s: %s",
		    s->path, s->db != NULL ? sqlite3_errmsg(s->db) :
		    "out of memory");
		(void)sqlite3_close(s->db);
		s->db = NULL;
		sqs_seterr(err, errlen, "%s", s->why);
		errno = EAGAIN;
		return -1;
	}
	s->broken = false;
	s->foreign = false;
	if (setup(s, why, sizeof(why)) == -1) {
		if (!s->broken) {
			/*
			 * Not a fault of the handle: final for this open.
			 * Another schema is EINVAL; anything else (busy,
			 * locked) a fault to retry.
			 */
			sqs_seterr(err, errlen, "%s", why);
			(void)sqlite3_close(s->db);
			s->db = NULL;
			s->broken = true;
			strlcpy(s->why, why, sizeof(s->why));
			errno = s->foreign ? EINVAL : EAGAIN;
			return -1;
		}
		sqs_seterr(err, errlen, "%s", why);
		errno = EAGAIN;
		return -1;
	}
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		s->broken = true;
		sqs_seterr(s->why, sizeof(s->why), "store: %s: the "
		    "database could only be opened read-only", s->path);
		sqs_seterr(err, errlen, "%s", s->why);
		errno = EAGAIN;
		return -1;
	}
	s->why[0] = '\0';
	return 0;
}

/* 0 when the handle is usable, else -1 with the last error in <why>. */
static int
sqlite_health(void *impl, char *why, size_t len)
{
	struct sqs *s = impl;

	if (s->db != NULL && !s->broken) {
		sqs_seterr(why, len, "%s", "");
		return 0;
	}
	sqs_seterr(why, len, "%s", s->why[0] != '\0' ? s->why :
	    "store: the database is not open");
	return -1;
}

/* Copy the database clock, ISO-8601 UTC, into <buf>.  Returns 0 or -1. */
static int
sqlite_now(void *impl, char *buf, size_t size, char *err, size_t errlen)
{
	return text_pragma(impl, "SELECT " SQS_NOW, buf, size, err, errlen);
}

static void
add_check(cJSON *checks, bool *all_ok, const char *name, bool ok,
    const char *detail)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddBoolToObject(c, "ok", ok);
	cJSON_AddStringToObject(c, "detail", detail);
	cJSON_AddItemToArray(checks, c);
	if (!ok)
		*all_ok = false;
}

static void
check_settings(struct sqs *s, cJSON *checks, bool *ok)
{
	char detail[256], mode[16];
	int v;

	if (int_pragma(s, "PRAGMA user_version", &v, detail,
	    sizeof(detail)) == 0)
		snprintf(detail, sizeof(detail), "schema version %d (this "
		    "build: %d)", v, SQS_SCHEMA_VERSION);
	else
		v = -1;
	add_check(checks, ok, "schema_version", v == SQS_SCHEMA_VERSION,
	    detail);
	if (text_pragma(s, "PRAGMA journal_mode", mode, sizeof(mode), detail,
	    sizeof(detail)) == 0)
		snprintf(detail, sizeof(detail), "journal mode %s", mode);
	else
		mode[0] = '\0';
	add_check(checks, ok, "journal_mode", strcmp(mode, "wal") == 0,
	    detail);
}

/* Whether table <name> has every column in <cols>; <detail> says. */
static bool
table_ok(struct sqs *s, const char *name, const char *const *cols,
    char *detail, size_t size)
{
	char have[1024] = ",", col[80];
	sqlite3_stmt *st;
	size_t i, n = 0;
	int r;

	if (sqs_prep(s, &st, detail, size,
	    "SELECT name FROM pragma_table_info(?1)", "s", name) == -1)
		return false;
	while ((r = sqs_step(s, st, detail, size)) == 1) {
		sqs_col(st, 0, col, sizeof(col));
		strlcat(have, col, sizeof(have));
		strlcat(have, ",", sizeof(have));
	}
	sqlite3_finalize(st);
	if (r == -1)
		return false;
	snprintf(detail, size, "table %s: missing", name);
	for (i = 0; cols[i] != NULL; i++) {
		snprintf(col, sizeof(col), ",%s,", cols[i]);
		if (strstr(have, col) != NULL)
			continue;
		strlcat(detail, n++ == 0 ? " " : ", ", size);
		strlcat(detail, cols[i], size);
	}
	if (n == 0)
		snprintf(detail, size, "table %s: %zu columns present", name,
		    i);
	return n == 0;
}

/* Prepare (never run) every statement the backend uses. */
static void
check_statements(struct sqs *s, cJSON *checks, bool *ok)
{
	const char *const *lists[] = {
		sqs_lease_sql, sqs_operator_sql, sqs_data_sql, sqs_ledger_sql
	};
	char detail[512];
	sqlite3_stmt *st;
	size_t i, j, n = 0;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (j = 0; lists[i][j] != NULL; j++, n++) {
			if (sqlite3_prepare_v2(s->db, lists[i][j], -1, &st,
			    NULL) == SQLITE_OK) {
				sqlite3_finalize(st);
				continue;
			}
			snprintf(detail, sizeof(detail), "statement %zu: %s",
			    n, sqlite3_errmsg(s->db));
			add_check(checks, ok, "statements", false, detail);
			return;
		}
	snprintf(detail, sizeof(detail), "%zu statements prepare", n);
	add_check(checks, ok, "statements", true, detail);
}

static void
check_clock(struct sqs *s, cJSON *checks, bool *ok)
{
	char now[STORE_TIME_MAX], detail[256];
	bool good;

	good = sqlite_now(s, now, sizeof(now), detail, sizeof(detail)) == 0;
	if (good)
		snprintf(detail, sizeof(detail), "database clock %s", now);
	add_check(checks, ok, "clock", good, detail);
}

/*
 * Verify the schema without changing anything: settings, tables and
 * columns, every statement, the clock.  *report gets a cJSON object
 * {"ok", "backend", "checks": [{name, ok, detail}]} the caller deletes.
 * Returns 0 (also when a check failed), or -1 when out of memory.
 */
static int
sqlite_check_contract(void *impl, cJSON **report, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		const char *const *cols;
	} tables[] = {
		{ "pipeline_runs", runs_cols },
		{ "run_events", events_cols },
		{ "credit_ledger", ledger_cols }
	};
	struct sqs *s = impl;
	char detail[512];
	cJSON *r, *checks;
	bool ok = true, t;
	size_t i;

	*report = NULL;
	if (sqs_ready(s, err, errlen) == -1)
		return -1;
	r = cJSON_CreateObject();
	checks = cJSON_AddArrayToObject(r, "checks");
	if (r == NULL || checks == NULL) {
		cJSON_Delete(r);
		sqs_seterr(err, errlen, "store: contract: out of memory");
		return -1;
	}
	check_settings(s, checks, &ok);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		t = table_ok(s, tables[i].name, tables[i].cols, detail,
		    sizeof(detail));
		add_check(checks, &ok, tables[i].name, t, detail);
	}
	check_statements(s, checks, &ok);
	check_clock(s, checks, &ok);
	cJSON_AddBoolToObject(r, "ok", ok);
	cJSON_AddStringToObject(r, "backend", "sqlite");
	*report = r;
	return 0;
}

static const struct store_ops sqlite_ops = {
	.close = sqlite_close,
	.enqueue = sqs_enqueue,
	.amend = sqs_amend,
	.claim = sqs_claim,
	.heartbeat = sqs_heartbeat,
	.release = sqs_release,
	.finish = sqs_finish,
	.gate = sqs_gate,
	.operator_action = sqs_operator_action,
	.force_unlock = sqs_force_unlock,
	.set_worker_state = sqs_set_worker_state,
	.add_event = sqs_add_event,
	.get_run = sqs_get_run,
	.list_runs = sqs_list_runs,
	.list_events = sqs_list_events,
	.ledger_intent = sqs_ledger_intent,
	.ledger_result = sqs_ledger_result,
	.ledger_list = sqs_ledger_list,
	.now = sqlite_now,
	.check_contract = sqlite_check_contract,
	.health = sqlite_health
};

/*
 * Open (creating when missing) the database at <db_path> and fill <st>
 * with the sqlite backend.  <heartbeat_interval_sec> is the supervisors'
 * heartbeat interval, used by the recovery rule of claim (<= 0: 30).  The
 * directory must exist.  Returns 0, or -1 with <err> filled, <st>
 * zeroed and errno EINVAL when the file is a database of another schema
 * (a newer build's, or one whose tables do not take ours): the store was
 * reached but is not this build's; release with store_close().
 */
int
store_sqlite_open(struct store *st, const char *db_path,
    int heartbeat_interval_sec, char *err, size_t errlen)
{
	struct sqs *s;
	int e;

	memset(st, 0, sizeof(*st));
	if (create_file(db_path, err, errlen) == -1) {
		errno = EAGAIN;		/* a fault of the file, not a schema */
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		sqs_seterr(err, errlen, "store: %s", strerror(errno));
		return -1;
	}
	s->hb_interval = heartbeat_interval_sec > 0 ?
	    heartbeat_interval_sec : 30;
	if (strlcpy(s->path, db_path, sizeof(s->path)) >= sizeof(s->path)) {
		sqs_seterr(err, errlen, "store: %s: path too long", db_path);
		errno = ENAMETOOLONG;
		goto fail;
	}
	/*
	 * A handle that opened read-only (or broke while being set up) is
	 * still a store: every call reopens it until the file is writable
	 * again, and store_health() says why it is not usable meanwhile.
	 */
	if (sqs_open_db(s, err, errlen) == -1 && s->db == NULL)
		goto fail;
	st->ops = &sqlite_ops;
	st->impl = s;
	strlcpy(st->backend, "sqlite", sizeof(st->backend));
	return 0;
fail:
	e = errno;
	sqlite_close(s);
	errno = e;
	return -1;
}
