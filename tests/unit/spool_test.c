/* SPDX-License-Identifier: ISC */
/*
 * spool_test.c: the event spool (common/core/spool.c, SPEC section 5) and
 * common/store/spool_apply.c against a fake store backend behind the store
 * door (it includes the store-internal backend.h), whose add_event
 * accepts, answers "already there" or "fenced", refuses, or cannot be
 * reached, and whose ledger_result does the same for ledger_result
 * records (spool_apply).
 *
 * Cases: write and replay; a duplicate deleted as delivered; unparsable
 * and invalid files moved to bad/; three refusals move a file to
 * quarantine/; an unreachable store, or one whose contract is broken
 * (ENOSYS: a table missing), quarantines nothing and stops the pass; claims of a dead replayer, or far too old, are taken back, a live
 * one's is left alone; and four replayers racing over one spool send
 * every event exactly once; a fenced record is dropped, never retried; a
 * ledger_result record is applied with ledger_result, then its event,
 * and retried when the store is down.  Each case uses its own mkdtemp
 * directory.
 * Prints "FAIL <case>: <detail>" per failure and "N passed, M failed".
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/core/spool.h"
#include "common/store/backend.h"
#include "common/store/spool_apply.h"
#include "common/store/store.h"
#include "tests/unit/test.h"

#define NRACE		300
#define NREPLAYERS	4

enum fake_mode { FAKE_OK, FAKE_DUP, FAKE_REFUSE, FAKE_DOWN, FAKE_FENCED,
    FAKE_NOCONTRACT };

struct fake {
	enum fake_mode	mode;
	int		calls;
	int		log_fd;		/* -1, or an event_id line per send */
	int		delay_us;
	enum fake_mode	ledger_mode;
	int		ledger_calls;
	char		ledger_key[128];
	char		ledger_state[16];
	char		ledger_output[256];
	int		ledger_credits;
	long long	ledger_epoch;
	long long	event_epoch;	/* of the last add_event */
};

static int
fake_answer(enum fake_mode mode, enum store_write *res, char *err,
    size_t errlen)
{
	switch (mode) {
	case FAKE_REFUSE:
		snprintf(err, errlen, "refused");
		errno = EINVAL;
		return -1;
	case FAKE_DOWN:
		snprintf(err, errlen, "store unreachable");
		errno = EHOSTUNREACH;
		return -1;
	case FAKE_NOCONTRACT:
		snprintf(err, errlen, "store contract: a table is missing");
		errno = ENOSYS;
		return -1;
	case FAKE_DUP:
		*res = STORE_WRITE_DUPLICATE;
		return 0;
	case FAKE_FENCED:
		snprintf(err, errlen, "stale epoch 1, run is at 2");
		*res = STORE_WRITE_FENCED;
		return 0;
	case FAKE_OK:
		break;
	}
	*res = STORE_WRITE_DONE;
	return 0;
}

static int
fake_ledger_result(void *impl, const char *key, long long epoch,
    const char *state, int credits, const char *output,
    enum store_write *res, char *err, size_t errlen)
{
	struct fake *f = impl;

	f->ledger_calls++;
	strlcpy(f->ledger_key, key, sizeof(f->ledger_key));
	strlcpy(f->ledger_state, state, sizeof(f->ledger_state));
	strlcpy(f->ledger_output, output != NULL ? output : "",
	    sizeof(f->ledger_output));
	f->ledger_credits = credits;
	f->ledger_epoch = epoch;
	return fake_answer(f->ledger_mode, res, err, errlen);
}

static int
fake_add_event(void *impl, const struct store_event *ev,
    enum store_write *res, char *err, size_t errlen)
{
	struct fake *f = impl;
	char line[STORE_ID_MAX + 1];
	int n;

	f->calls++;
	f->event_epoch = ev->lease_epoch;
	*res = STORE_WRITE_DONE;
	if (f->delay_us > 0)
		usleep((useconds_t)f->delay_us);
	switch (f->mode) {
	case FAKE_REFUSE:
		snprintf(err, errlen, "event %s: refused", ev->event_type);
		errno = EINVAL;
		return -1;
	case FAKE_DOWN:
		snprintf(err, errlen, "store unreachable");
		errno = EHOSTUNREACH;
		return -1;
	case FAKE_DUP:
	case FAKE_FENCED:
	case FAKE_NOCONTRACT:
		return fake_answer(f->mode, res, err, errlen);
	case FAKE_OK:
		break;
	}
	if (f->log_fd != -1) {
		n = snprintf(line, sizeof(line), "%s\n", ev->event_id);
		if (write(f->log_fd, line, (size_t)n) != n)
			return -1;
	}
	return 0;
}

static const struct store_ops fake_ops = {
	.add_event = fake_add_event,
	.ledger_result = fake_ledger_result
};

static void
fake_store(struct store *st, struct fake *f, enum fake_mode mode)
{
	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->log_fd = -1;
	memset(st, 0, sizeof(*st));
	st->ops = &fake_ops;
	st->impl = f;
	strlcpy(st->backend, "fake", sizeof(st->backend));
}

static void
new_dir(char *dir, size_t size)
{
	strlcpy(dir, "/tmp/rv-spool-test.XXXXXX", size);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	strlcat(dir, "/spool", size);
	if (spool_init(dir) == -1) {
		perror("spool_init");
		exit(1);
	}
}

static void
remove_dir(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(dir, '/') -
	    dir), dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: %s left behind\n", dir);
}

/* Spool one event; its id goes to <id> (ID_UUID_LEN + 1 bytes). */
static int
spool_one(const char *dir, char *id)
{
	char err[256];
	cJSON *ev = cJSON_CreateObject();
	int r;

	id_uuid_new(id);
	cJSON_AddStringToObject(ev, "event_id", id);
	cJSON_AddStringToObject(ev, "event_type", "spool_test");
	cJSON_AddStringToObject(ev, "severity", "INFO");
	cJSON_AddItemToObject(ev, "payload", cJSON_CreateObject());
	r = spool_write(dir, ev, err, sizeof(err));
	cJSON_Delete(ev);
	if (r == -1)
		printf("spool_write: %s\n", err);
	return r;
}

/*
 * Spool a ledger_result record with <payload> (JSON text) stamped with
 * lease epoch <epoch> (0: none); its id goes to <id>.
 */
static int
spool_ledger(const char *dir, char *id, const char *payload, long long epoch)
{
	char err[256];
	cJSON *ev = cJSON_CreateObject();
	int r;

	id_uuid_new(id);
	cJSON_AddStringToObject(ev, "event_id", id);
	cJSON_AddStringToObject(ev, "event_type", SPOOL_LEDGER_RESULT);
	cJSON_AddStringToObject(ev, "severity", "INFO");
	if (epoch > 0)
		cJSON_AddNumberToObject(ev, "lease_epoch", (double)epoch);
	cJSON_AddItemToObject(ev, "payload", cJSON_Parse(payload));
	r = spool_write(dir, ev, err, sizeof(err));
	cJSON_Delete(ev);
	if (r == -1)
		printf("spool_write: %s\n", err);
	return r;
}

static int
count_files(const char *dir, const char *sub)
{
	char path[1024];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s%s%s", dir, sub[0] ? "/" : "", sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && strcmp(de->d_name, "bad") != 0 &&
		    strcmp(de->d_name, "quarantine") != 0)
			n++;
	closedir(d);
	return n;
}

static int
replay(const char *dir, struct store *st, struct spool_report *rep)
{
	char err[256];

	if (spool_apply_replay(dir, st, rep, err, sizeof(err)) == -1) {
		printf("spool_apply_replay: %s\n", err);
		return -1;
	}
	return 0;
}

static int
attempts_of(const char *dir, const char *id)
{
	char path[1024], *txt;
	cJSON *j, *a;
	int n = -1;

	snprintf(path, sizeof(path), "%s/%s.json", dir, id);
	if (fs_read_file(path, 65536, &txt, NULL) == -1)
		return -1;
	if ((j = cJSON_Parse(txt)) != NULL) {
		a = cJSON_GetObjectItem(j, "attempts");
		n = cJSON_IsNumber(a) ? (int)a->valuedouble : 0;
	}
	cJSON_Delete(j);
	free(txt);
	return n;
}

static void
case_write_replay(void)
{
	char dir[128], id[ID_UUID_LEN + 1], err[256];
	struct spool_report rep;
	struct store st;
	struct fake f;
	cJSON *bad;
	int i;

	new_dir(dir, sizeof(dir));
	fake_store(&st, &f, FAKE_OK);
	for (i = 0; i < 3; i++)
		spool_one(dir, id);
	CHECK("write", spool_count(dir) == 3, "%zu spooled", spool_count(dir));
	bad = cJSON_Parse("{\"event_type\":\"x\",\"severity\":\"INFO\"}");
	CHECK("write_no_id", spool_write(dir, bad, err, sizeof(err)) == -1 &&
	    strstr(err, "event_id") != NULL, "%s", err);
	cJSON_Delete(bad);
	if (replay(dir, &st, &rep) == 0)
		CHECK("replay", rep.sent == 3 && rep.failed == 0 && f.calls == 3
		    && spool_count(dir) == 0 && count_files(dir, "") == 0,
		    "sent %d calls %d left %d", rep.sent, f.calls,
		    count_files(dir, ""));
	remove_dir(dir);
}

static void
case_duplicate(void)
{
	char dir[128], id[ID_UUID_LEN + 1];
	struct spool_report rep;
	struct store st;
	struct fake f;

	new_dir(dir, sizeof(dir));
	fake_store(&st, &f, FAKE_DUP);
	spool_one(dir, id);
	if (replay(dir, &st, &rep) == 0)
		CHECK("duplicate", rep.duplicate == 1 && rep.sent == 0 &&
		    spool_count(dir) == 0, "duplicate %d left %zu",
		    rep.duplicate, spool_count(dir));
	remove_dir(dir);
}

static void
case_bad(void)
{
	char dir[128], path[1024];
	struct spool_report rep;
	struct store st;
	struct fake f;

	new_dir(dir, sizeof(dir));
	fake_store(&st, &f, FAKE_OK);
	snprintf(path, sizeof(path), "%s/garbage.json", dir);
	(void)fs_write_atomic(path, "{not json", 9);
	snprintf(path, sizeof(path), "%s/no-type.json", dir);
	(void)fs_write_atomic(path, "{\"severity\":\"INFO\"}", 19);
	snprintf(path, sizeof(path), "%s/array.json", dir);
	(void)fs_write_atomic(path, "[1,2]", 5);
	if (replay(dir, &st, &rep) == 0)
		CHECK("bad", rep.bad == 3 && f.calls == 0 && count_files(dir,
		    "bad") == 3 && spool_count(dir) == 0,
		    "bad %d calls %d in bad/ %d", rep.bad, f.calls,
		    count_files(dir, "bad"));
	remove_dir(dir);
}

static void
case_refused(void)
{
	char dir[128], id[ID_UUID_LEN + 1];
	struct spool_report rep;
	struct store st;
	struct fake f;
	int pass;

	new_dir(dir, sizeof(dir));
	fake_store(&st, &f, FAKE_REFUSE);
	spool_one(dir, id);
	for (pass = 1; pass <= 2; pass++) {
		if (replay(dir, &st, &rep) == -1)
			break;
		CHECK("refused", rep.failed == 1 && attempts_of(dir, id) == pass
		    && rep.quarantined == 0, "pass %d: attempts %d", pass,
		    attempts_of(dir, id));
	}
	if (replay(dir, &st, &rep) == 0)
		CHECK("quarantine", rep.quarantined == 1 && spool_count(dir) ==
		    0 && count_files(dir, "quarantine") == 1,
		    "quarantined %d, in quarantine/ %d", rep.quarantined,
		    count_files(dir, "quarantine"));
	remove_dir(dir);
}

/*
 * A spool file whose "attempts" no int holds (1e300, INT_MAX, -1e300):
 * the refused send counts as the last attempt allowed and the file goes
 * to quarantine, with no undefined conversion or overflow on the way.
 */
static void
case_attempts_range(void)
{
	static const char *const vals[] = { "1e300", "2147483647", "-1e300" };
	char dir[128], id[ID_UUID_LEN + 1], path[1024], *txt, *out;
	struct spool_report rep;
	struct store st;
	struct fake f;
	cJSON *j;
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		new_dir(dir, sizeof(dir));
		fake_store(&st, &f, FAKE_REFUSE);
		spool_one(dir, id);
		snprintf(path, sizeof(path), "%s/%s.json", dir, id);
		if (fs_read_file(path, 65536, &txt, NULL) == -1 ||
		    (j = cJSON_Parse(txt)) == NULL) {
			CHECK("attempts range: read", 0, "%s", path);
			remove_dir(dir);
			continue;
		}
		free(txt);
		cJSON_AddRawToObject(j, "attempts", vals[i]);
		out = cJSON_PrintUnformatted(j);
		(void)fs_write_atomic(path, out, strlen(out));
		free(out);
		cJSON_Delete(j);
		if (replay(dir, &st, &rep) == 0)
			CHECK("attempts out of range", (vals[i][0] == '-' ?
			    rep.quarantined == 0 && attempts_of(dir, id) == 1 :
			    rep.quarantined == 1 && spool_count(dir) == 0),
			    "attempts %s: quarantined %d", vals[i],
			    rep.quarantined);
		remove_dir(dir);
	}
}

static void
case_outage(void)
{
	char dir[128], id[ID_UUID_LEN + 1];
	struct spool_report rep;
	struct store st;
	struct fake f;
	int i, pass;

	new_dir(dir, sizeof(dir));
	fake_store(&st, &f, FAKE_DOWN);
	for (i = 0; i < 5; i++)
		spool_one(dir, id);
	for (pass = 1; pass <= 4; pass++) {
		if (replay(dir, &st, &rep) == -1)
			break;
		CHECK("outage_stops", rep.failed == 1 && rep.deferred == 4 &&
		    f.calls == pass, "pass %d: failed %d deferred %d calls %d",
		    pass, rep.failed, rep.deferred, f.calls);
	}
	CHECK("outage_keeps", spool_count(dir) == 5 && attempts_of(dir, id) == 0
	    && count_files(dir, "quarantine") == 0,
	    "%zu spooled, attempts %d, quarantined %d", spool_count(dir),
	    attempts_of(dir, id), count_files(dir, "quarantine"));
	f.mode = FAKE_OK;
	if (replay(dir, &st, &rep) == 0)
		CHECK("outage_over", rep.sent == 5 && spool_count(dir) == 0,
		    "sent %d", rep.sent);
	remove_dir(dir);
}

/* A store without the migration (ENOSYS) sets nothing aside. */
static void
case_no_contract(void)
{
	char dir[128], id[ID_UUID_LEN + 1];
	struct spool_report rep;
	struct store st;
	struct fake f;
	int pass;

	new_dir(dir, sizeof(dir));
	fake_store(&st, &f, FAKE_NOCONTRACT);
	spool_one(dir, id);
	spool_one(dir, id);
	for (pass = 1; pass <= 4; pass++)
		if (replay(dir, &st, &rep) == 0)
			CHECK("no_contract_defers", rep.failed == 1 &&
			    rep.deferred == 1 && rep.quarantined == 0,
			    "pass %d: failed %d deferred %d quarantined %d",
			    pass, rep.failed, rep.deferred, rep.quarantined);
	CHECK("no_contract_keeps", spool_count(dir) == 2 &&
	    attempts_of(dir, id) == 0 && count_files(dir, "quarantine") == 0,
	    "%zu spooled, attempts %d, quarantined %d", spool_count(dir),
	    attempts_of(dir, id), count_files(dir, "quarantine"));
	f.mode = FAKE_OK;
	if (replay(dir, &st, &rep) == 0)
		CHECK("no_contract_fixed", rep.sent == 2 && spool_count(dir) ==
		    0, "sent %d", rep.sent);
	remove_dir(dir);
}

static void
case_fenced(void)
{
	char dir[128], id[ID_UUID_LEN + 1];
	struct spool_report rep;
	struct store st;
	struct fake f;

	new_dir(dir, sizeof(dir));
	fake_store(&st, &f, FAKE_FENCED);
	spool_one(dir, id);
	if (replay(dir, &st, &rep) == 0)
		CHECK("fenced_dropped", rep.fenced == 1 && rep.sent == 0 &&
		    rep.failed == 0 && spool_count(dir) == 0 && count_files(dir,
		    "quarantine") == 0 && count_files(dir, "bad") == 0,
		    "fenced %d sent %d failed %d left %zu", rep.fenced,
		    rep.sent, rep.failed, spool_count(dir));
	remove_dir(dir);
}

static void
case_ledger_result(void)
{
	static const char pl[] = "{\"key\":\"k1:intro:0123abcd\","
	    "\"state\":\"done\",\"credits\":5,\"output\":"
	    "\"video/final/V_x.mp4\",\"lease_epoch\":3}";
	char dir[128], id[ID_UUID_LEN + 1];
	struct spool_report rep;
	struct store st;
	struct fake f;

	new_dir(dir, sizeof(dir));
	fake_store(&st, &f, FAKE_OK);
	spool_ledger(dir, id, pl, 0);
	if (replay(dir, &st, &rep) == 0)
		CHECK("ledger_applied", rep.sent == 1 && f.ledger_calls == 1 &&
		    f.calls == 1 && strcmp(f.ledger_key, "k1:intro:0123abcd") ==
		    0 && strcmp(f.ledger_state, "done") == 0 && f.ledger_credits
		    == 5 && f.ledger_epoch == 3 && f.event_epoch == 3 &&
		    strcmp(f.ledger_output, "video/final/V_x.mp4") == 0 &&
		    spool_count(dir) == 0,
		    "sent %d ledger calls %d event calls %d "
		    "key %s epoch %lld/%lld", rep.sent, f.ledger_calls, f.calls,
		    f.ledger_key, f.ledger_epoch, f.event_epoch);
	/* A store that is down keeps it; back up, a replay is harmless. */
	fake_store(&st, &f, FAKE_OK);
	f.ledger_mode = FAKE_DOWN;
	spool_ledger(dir, id, pl, 0);
	if (replay(dir, &st, &rep) == 0)
		CHECK("ledger_down_kept", rep.failed == 1 && f.calls == 0 &&
		    spool_count(dir) == 1 && attempts_of(dir, id) == 0,
		    "failed %d event calls %d left %zu", rep.failed, f.calls,
		    spool_count(dir));
	f.ledger_mode = FAKE_DUP;
	if (replay(dir, &st, &rep) == 0)
		CHECK("ledger_replayed", rep.duplicate == 1 && f.calls == 1 &&
		    spool_count(dir) == 0, "duplicate %d "
		    "event calls %d left %zu", rep.duplicate, f.calls,
		    spool_count(dir));
	/* Fenced: dropped, and its event is not written either. */
	fake_store(&st, &f, FAKE_OK);
	f.ledger_mode = FAKE_FENCED;
	spool_ledger(dir, id, pl, 1);
	if (replay(dir, &st, &rep) == 0)
		CHECK("ledger_fenced", rep.fenced == 1 && f.ledger_calls == 1 &&
		    f.calls == 0 && spool_count(dir) == 0 && count_files(dir,
		    "quarantine") == 0, "fenced %d ledger calls %d event calls "
		    "%d left %zu", rep.fenced, f.ledger_calls, f.calls,
		    spool_count(dir));
	/* Malformed: to bad/, the store never asked. */
	fake_store(&st, &f, FAKE_OK);
	spool_ledger(dir, id, "{\"state\":\"done\",\"credits\":1}", 1);
	if (replay(dir, &st, &rep) == 0)
		CHECK("ledger_bad", rep.bad == 1 && f.ledger_calls == 0 &&
		    f.calls == 0 && count_files(dir, "bad") == 1,
		    "bad %d ledger " "calls %d", rep.bad, f.ledger_calls);
	remove_dir(dir);
}

static void
case_apply(void)
{
	char err[256];
	enum store_write res;
	struct store st;
	struct fake f;
	cJSON *j;

	fake_store(&st, &f, FAKE_OK);
	j = cJSON_Parse("{\"event_type\":\"render_done\",\"severity\":"
	    "\"INFO\",\"run_id\":\"\",\"lease_epoch\":7}");
	CHECK("apply_event", spool_apply(&st, j, &res, err, sizeof(err)) == 0 &&
	    res == STORE_WRITE_DONE && f.calls == 1 && f.event_epoch == 7 &&
	    f.ledger_calls == 0, "res %d calls %d epoch %lld",
	    res, f.calls, f.event_epoch);
	cJSON_Delete(j);
	f.mode = FAKE_FENCED;
	j = cJSON_Parse("{\"event_type\":\"ledger_result\",\"severity\":"
	    "\"INFO\",\"payload\":{\"key\":\"a:b:0123abcd\",\"state\":"
	    "\"failed\",\"credits\":0,\"lease_epoch\":2}}");
	CHECK("apply_ledger", spool_apply(&st, j, &res, err, sizeof(err)) == 0
	    && res == STORE_WRITE_FENCED && f.ledger_calls == 1 &&
	    f.ledger_epoch == 2 && f.calls == 2 && f.event_epoch == 2,
	    "res %d ledger calls %d calls %d", res, f.ledger_calls, f.calls);
	cJSON_Delete(j);
}

static pid_t
dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	(void)waitpid(pid, NULL, 0);
	return pid;
}

static void
case_stale_claims(void)
{
	char dir[128], a[ID_UUID_LEN + 1], b[ID_UUID_LEN + 1];
	char from[1024], to[1100];
	struct timespec old[2];
	struct spool_report rep;
	struct store st;
	struct fake f;

	new_dir(dir, sizeof(dir));
	fake_store(&st, &f, FAKE_OK);
	spool_one(dir, a);
	spool_one(dir, b);
	snprintf(from, sizeof(from), "%s/%s.json", dir, a);
	snprintf(to, sizeof(to), "%s.claimed.%ld", from, (long)dead_pid());
	(void)rename(from, to);
	snprintf(from, sizeof(from), "%s/%s.json", dir, b);
	snprintf(to, sizeof(to), "%s.claimed.%ld", from, (long)getppid());
	(void)rename(from, to);
	(void)replay(dir, &st, &rep);
	(void)replay(dir, &st, &rep);
	CHECK("claim_dead", f.calls == 1 && count_files(dir, "") == 1,
	    "calls %d, files %d (the dead replayer's claim is sent, the live "
	    "one's left)", f.calls, count_files(dir, ""));
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 700;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	(void)utimensat(AT_FDCWD, to, old, 0);
	(void)replay(dir, &st, &rep);
	(void)replay(dir, &st, &rep);
	CHECK("claim_old", f.calls == 2 && count_files(dir, "") == 0,
	    "calls %d, files %d (a claim 700 s old is taken back)", f.calls,
	    count_files(dir, ""));
	remove_dir(dir);
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* One racing replayer: wait for the start, replay, exit. */
static void
racer(const char *dir, int log_fd, int go)
{
	struct spool_report rep;
	struct store st;
	struct fake f;
	char c;

	fake_store(&st, &f, FAKE_OK);
	f.log_fd = log_fd;
	f.delay_us = 200;
	if (read(go, &c, 1) == -1)
		_exit(2);
	_exit(replay(dir, &st, &rep) == 0 ? 0 : 1);
}

static void
case_race(void)
{
	static char buf[NRACE * 2 * (ID_UUID_LEN + 1)];
	char dir[128], log[160], id[ID_UUID_LEN + 1], *lines[2 * NRACE], *p;
	int go[2], log_fd, i, n = 0, st, bad = 0, dups = 0;
	pid_t pid[NREPLAYERS];
	ssize_t len;

	new_dir(dir, sizeof(dir));
	for (i = 0; i < NRACE; i++)
		spool_one(dir, id);
	snprintf(log, sizeof(log), "%.*s/sent.log", (int)(strrchr(dir, '/') -
	    dir), dir);
	log_fd = open(log, O_RDWR | O_CREAT | O_APPEND | O_TRUNC, 0600);
	if (log_fd == -1 || pipe(go) == -1) {
		CHECK("race", false, "setup: %s", strerror(errno));
		return;
	}
	for (i = 0; i < NREPLAYERS; i++)
		if ((pid[i] = fork()) == 0) {
			close(go[1]);
			racer(dir, log_fd, go[0]);
		}
	close(go[0]);
	close(go[1]);		/* everyone starts now */
	for (i = 0; i < NREPLAYERS; i++)
		if (waitpid(pid[i], &st, 0) == -1 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			bad++;
	len = pread(log_fd, buf, sizeof(buf) - 1, 0);
	close(log_fd);
	buf[len > 0 ? len : 0] = '\0';
	for (p = strtok(buf, "\n"); p != NULL && n < 2 * NRACE;
	    p = strtok(NULL, "\n"))
		lines[n++] = p;
	qsort(lines, (size_t)n, sizeof(lines[0]), cmp_str);
	for (i = 1; i < n; i++)
		if (strcmp(lines[i - 1], lines[i]) == 0)
			dups++;
	CHECK("race_replayers", bad == 0, "%d replayers failed", bad);
	CHECK("race_once", n == NRACE && dups == 0, "%d sends for %d events, "
	    "%d sent twice", n, NRACE, dups);
	CHECK("race_empty", spool_count(dir) == 0 && count_files(dir, "") == 0,
	    "%d files left", count_files(dir, ""));
	remove_dir(dir);
}

int
main(void)
{
	case_write_replay();
	case_duplicate();
	case_bad();
	case_refused();
	case_attempts_range();
	case_outage();
	case_no_contract();
	case_fenced();
	case_ledger_result();
	case_apply();
	case_stale_claims();
	case_race();
	return test_exit();
}
