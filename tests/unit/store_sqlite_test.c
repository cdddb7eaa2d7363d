/* SPDX-License-Identifier: ISC */
/*
 * store_sqlite_test.c: what only the sqlite store backend can show (the
 * shared contract is tests/conf/store_conf_test.c): the contract check
 * notices a damaged schema, a database from a newer build is refused, the
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

#include "common/store.h"
#include "common/store/wrap.h"

struct tctx {
	char	dir[64];
	char	db[96];
	char	err[512];
};

static int passed, failed;

static void
report(const char *name, bool ok, const char *detail)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL %s: %s\n", name, detail);
}

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
		report("contract damage", false, t.err);
		teardown(&t);
		return;
	}
	good = store_check_contract(&st, &rep, t.err, sizeof(t.err)) == 0 &&
	    cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok"));
	cJSON_Delete(rep);
	report("contract intact", good, "a fresh database fails the contract");
	if (raw_exec(t.db, "ALTER TABLE credit_ledger DROP COLUMN output") ==
	    -1)
		report("contract damage", false, "cannot drop a column");
	rep = NULL;
	good = store_check_contract(&st, &rep, t.err, sizeof(t.err)) == 0 &&
	    cJSON_IsFalse(cJSON_GetObjectItem(rep, "ok")) &&
	    (d = failed_check(rep, "credit_ledger")) != NULL &&
	    strstr(d, "output") != NULL &&
	    failed_check(rep, "statements") != NULL;
	cJSON_Delete(rep);
	report("contract damage", good, "a dropped column went unnoticed");
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
	report("newer schema", r == -1 && strstr(t.err, "newer") != NULL,
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
	report("private file", stat(t.db, &sb) == 0 &&
	    (sb.st_mode & 0777) == 0600, "database file is not 0600");
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
	report("directory as database", r == -1 && strstr(t.err, t.dir) !=
	    NULL && st.ops == NULL, t.err);
	snprintf(t.db, sizeof(t.db), "%s/missing/rayvault.db", t.dir);
	r = store_sqlite_open(&st, t.db, 30, t.err, sizeof(t.err));
	if (r == 0)
		store_close(&st);
	report("missing directory", r == -1 && strstr(t.err, "missing") !=
	    NULL, t.err);
	snprintf(t.db, sizeof(t.db), "%s/rayvault.db", t.dir);
	teardown(&t);
}

int
main(void)
{
	case_contract_damage();
	case_newer_schema();
	case_private_file();
	case_bad_path();
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
