/* SPDX-License-Identifier: ISC */
/*
 * store_sqlite_test.c: what only the sqlite store backend can show (the
 * shared contract is tests/conf/store_conf_test.c): the contract check
 * notices a damaged schema, a database of schema version 1 is upgraded
 * in place, a database from a newer build is refused, the
 * file is kept private, and a bad path gives a clear error.  The damage
 * is done through a second, plain SQLite connection.  Each case uses a
 * fresh mkdtemp directory.  Prints "FAIL <case>: <detail>" per failure
 * and "N passed, M failed"; exits 1 when anything failed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <sqlite3.h>

#include "common/store/store.h"
#include "tests/unit/test.h"

struct tctx {
	char	dir[64];
	char	db[96];
	char	err[512];
};

static void
setup(struct tctx *t)
{
	strlcpy(t->dir, "/tmp/rv-store-sqlite.XXXXXX", sizeof(t->dir));
	if (mkdtemp(t->dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(t->db, sizeof(t->db), "%s/rayvault.db", t->dir);
	t->err[0] = '\0';
}

static void
teardown(struct tctx *t)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char path[128];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", t->db, sfx[i]);
		(void)unlink(path);
	}
	(void)rmdir(t->dir);
}

/* Run <sql> on a plain connection to <db>. */
static int
raw_exec(const char *db, const char *sql)
{
	sqlite3 *h;
	int rc;

	if (sqlite3_open(db, &h) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

/* The detail of check <name> in <rep> when it failed, else NULL. */
static const char *
failed_check(const cJSON *rep, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(rep, "checks"))
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c,
		    "name")), name) == 0 && cJSON_IsFalse(
		    cJSON_GetObjectItem(c, "ok")))
			return cJSON_GetStringValue(cJSON_GetObjectItem(c,
			    "detail"));
	return NULL;
}

static void
case_contract_damage(void)
{
	struct tctx t;
	struct store st;
	cJSON *rep = NULL;
	const char *d;
	bool good;

	setup(&t);
	if (store_sqlite_open(&st, t.db, 30, t.err, sizeof(t.err)) == -1) {
		CHECK("contract damage", false, "%s", t.err);
		teardown(&t);
		return;
	}
	good = store_check_contract(&st, &rep, t.err, sizeof(t.err)) == 0 &&
	    cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok"));
	cJSON_Delete(rep);
	CHECK("contract intact", good, "a fresh database fails the contract");
	if (raw_exec(t.db, "ALTER TABLE credit_ledger DROP COLUMN output") ==
	    -1)
		CHECK("contract damage", false, "cannot drop a column");
	rep = NULL;
	good = store_check_contract(&st, &rep, t.err, sizeof(t.err)) == 0 &&
	    cJSON_IsFalse(cJSON_GetObjectItem(rep, "ok")) &&
	    (d = failed_check(rep, "credit_ledger")) != NULL &&
	    strstr(d, "output") != NULL &&
	    failed_check(rep, "statements") != NULL;
	cJSON_Delete(rep);
	CHECK("contract damage", good, "a dropped column went unnoticed");
	store_close(&st);
	teardown(&t);
}

/* The schema of version 1 (before epoch fencing and paid attempts). */
static const char v1_sql[] =
    "CREATE TABLE pipeline_runs (run_id TEXT PRIMARY KEY,"
    " video_id TEXT NOT NULL UNIQUE, task_type TEXT NOT NULL DEFAULT '',"
    " status TEXT NOT NULL DEFAULT 'running', worker_id TEXT,"
    " worker_state TEXT NOT NULL DEFAULT 'idle', lock_token TEXT,"
    " lease_epoch INTEGER NOT NULL DEFAULT 0, lease_expires_at TEXT,"
    " last_heartbeat_at TEXT, heartbeat_latency_ms INTEGER,"
    " force_refetch INTEGER NOT NULL DEFAULT 0, gate_nonce TEXT,"
    " gate_reason TEXT, gate_evidence TEXT, gated_at TEXT,"
    " gate_decision TEXT, error TEXT, spec_json TEXT,"
    " created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE TABLE run_events (id INTEGER PRIMARY KEY,"
    " event_id TEXT NOT NULL UNIQUE, run_id TEXT, event_type TEXT NOT NULL,"
    " severity TEXT NOT NULL, reason_key TEXT, source TEXT,"
    " occurred_at TEXT NOT NULL, payload TEXT NOT NULL DEFAULT '{}',"
    " created_at TEXT NOT NULL);"
    "CREATE TABLE credit_ledger (key TEXT PRIMARY KEY, run_id TEXT NOT NULL,"
    " segment_id TEXT NOT NULL, sha8 TEXT NOT NULL,"
    " lease_epoch INTEGER NOT NULL, credits INTEGER NOT NULL DEFAULT 0,"
    " state TEXT NOT NULL, output TEXT, created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL);"
    "INSERT INTO pipeline_runs (run_id, video_id, status, gate_decision,"
    " created_at, updated_at) VALUES"
    " ('11111111-2222-4333-8444-555555555555', 'OLD-1', 'approved',"
    " 'approve by alice', '2026-01-01T00:00:00.000Z',"
    " '2026-01-01T00:00:00.000Z');"
    "INSERT INTO credit_ledger VALUES ('11111111-2222-4333-8444-"
    "555555555555:intro:0123abcd', '11111111-2222-4333-8444-555555555555',"
    " 'intro', '0123abcd', 1, 5, 'done', NULL, '2026-01-01T00:00:00.000Z',"
    " '2026-01-01T00:00:00.000Z');"
    "PRAGMA user_version = 1;";

/* A database of schema version 1 is upgraded in place. */
static void
case_upgrade_v1(void)
{
	struct store_ledger *rows = NULL;
	enum store_action_result res;
	char run_id[STORE_ID_MAX], msg[256];
	struct store_run r;
	struct tctx t;
	struct store st;
	cJSON *rep = NULL;
	size_t n = 0;
	bool good;

	setup(&t);
	if (raw_exec(t.db, v1_sql) == -1 ||
	    store_sqlite_open(&st, t.db, 30, t.err, sizeof(t.err)) == -1) {
		CHECK("upgrade v1", false, "%s", t.err);
		teardown(&t);
		return;
	}
	good = store_check_contract(&st, &rep, t.err, sizeof(t.err)) == 0 &&
	    cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok"));
	cJSON_Delete(rep);
	CHECK("upgrade v1 contract", good, "the upgraded database fails the "
	    "contract");
	good = store_get_run(&st, "OLD-1", &r, NULL, t.err,
	    sizeof(t.err)) == 0 && strcmp(r.decision, "approve") == 0 &&
	    r.decided_nonce[0] == '\0';
	CHECK("upgrade v1 decision", good, "gate_decision not made bare");
	good = store_ledger_list(&st, NULL, &rows, &n, t.err,
	    sizeof(t.err)) == 0 && n == 1 && rows[0].attempts == 1 &&
	    strcmp(rows[0].state, "done") == 0;
	free(rows);
	CHECK("upgrade v1 ledger", good, "ledger row lost or attempts != 1");
	/* Version 3: the old UNIQUE (video_id) is gone, replace works. */
	good = store_operator_action(&st, "11111111-2222-4333-8444-"
	    "555555555555", "abort", "operator-a", NULL, &res, msg,
	    sizeof(msg), t.err, sizeof(t.err)) == 0 && res == ACTION_APPLIED &&
	    store_enqueue_replace(&st, "OLD-1", "", "{}", run_id, t.err,
	    sizeof(t.err)) == 0 && store_get_run(&st, "OLD-1", &r, NULL, t.err,
	    sizeof(t.err)) == 0 && strcmp(r.run_id, run_id) == 0 &&
	    store_enqueue(&st, "OLD-1", "", "{}", run_id, t.err,
	    sizeof(t.err)) == -1;
	CHECK("upgrade to v3 replace", good, "%s", t.err);
	store_close(&st);
	teardown(&t);
}

static void
case_newer_schema(void)
{
	struct tctx t;
	struct store st;
	int r;

	setup(&t);
	if (store_sqlite_open(&st, t.db, 30, t.err, sizeof(t.err)) == 0)
		store_close(&st);
	(void)raw_exec(t.db, "PRAGMA user_version = 99");
	r = store_sqlite_open(&st, t.db, 30, t.err, sizeof(t.err));
	if (r == 0)
		store_close(&st);
	CHECK("newer schema", r == -1 && strstr(t.err, "newer") != NULL, "%s",
	    t.err);
	teardown(&t);
}

static void
case_private_file(void)
{
	struct tctx t;
	struct store st;
	struct stat sb;
	int fd;

	setup(&t);
	if ((fd = open(t.db, O_CREAT | O_WRONLY, 0644)) != -1) {
		(void)fchmod(fd, 0644);
		close(fd);
	}
	if (store_sqlite_open(&st, t.db, 30, t.err, sizeof(t.err)) == 0)
		store_close(&st);
	CHECK("private file", stat(t.db, &sb) == 0 && (sb.st_mode & 0777) ==
	    0600, "database file is not 0600");
	teardown(&t);
}

static void
case_bad_path(void)
{
	struct tctx t;
	struct store st;
	int r;

	setup(&t);
	r = store_sqlite_open(&st, t.dir, 30, t.err, sizeof(t.err));
	if (r == 0)
		store_close(&st);
	CHECK("directory as database", r == -1 && strstr(t.err, t.dir) !=
	    NULL && st.ops == NULL, "%s", t.err);
	snprintf(t.db, sizeof(t.db), "%s/missing/rayvault.db", t.dir);
	r = store_sqlite_open(&st, t.db, 30, t.err, sizeof(t.err));
	if (r == 0)
		store_close(&st);
	CHECK("missing directory", r == -1 && strstr(t.err, "missing") !=
	    NULL, "%s", t.err);
	snprintf(t.db, sizeof(t.db), "%s/rayvault.db", t.dir);
	teardown(&t);
}

int
main(void)
{
	case_contract_damage();
	case_upgrade_v1();
	case_newer_schema();
	case_private_file();
	case_bad_path();
	return test_exit();
}
