/* SPDX-License-Identifier: ISC */
/*
 * store_door_test.c: the store door (common/store/store.c) checks an
 * event or a ledger row once, for every backend, before any backend call.
 *
 * Each bad event (unterminated field, bad event id, bad run id, no type,
 * bad severity, payload not an object, negative lease epoch) and an
 * unterminated ledger row is sent twice: to a counting fake backend
 * (common/store/backend.h), which must never be called, and to a real
 * sqlite store, whose run must keep its event count.  Both must answer
 * -1, errno EINVAL, and the same message, word for word.  A good event
 * reaches the fake exactly once.  Uses one mkdtemp directory.  Prints
 * "FAIL <case>: <detail>" per failure and "N passed, M failed".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/ids.h"
#include "common/store/backend.h"
#include "common/store/store.h"
#include "tests/unit/test.h"

struct fake {
	int	events, intents;
};

static int
fake_add_event(void *impl, const struct store_event *ev,
    enum store_write *res, char *err, size_t errlen)
{
	struct fake *f = impl;

	(void)ev;
	(void)err;
	(void)errlen;
	f->events++;
	*res = STORE_WRITE_DONE;
	return 0;
}

static int
fake_ledger_intent(void *impl, const struct store_ledger *l,
    const char *lock_token, bool *fresh, struct store_ledger *existing,
    enum store_write *res, char *err, size_t errlen)
{
	struct fake *f = impl;

	(void)l;
	(void)lock_token;
	(void)existing;
	(void)err;
	(void)errlen;
	f->intents++;
	*fresh = true;
	*res = STORE_WRITE_DONE;
	return 0;
}

static const struct store_ops fake_ops = {
	.add_event = fake_add_event,
	.ledger_intent = fake_ledger_intent
};

/* A good event of run <run>. */
static void
good_event(struct store_event *ev, const char *run)
{
	memset(ev, 0, sizeof(*ev));
	id_uuid_new(ev->event_id);
	strlcpy(ev->run_id, run, sizeof(ev->run_id));
	strlcpy(ev->event_type, "door_test", sizeof(ev->event_type));
	strlcpy(ev->severity, "INFO", sizeof(ev->severity));
}

static int
count_events(struct store *st, const char *run)
{
	char err[256];
	cJSON *evs = NULL;
	int n;

	if (store_list_events(st, run, &evs, err, sizeof(err)) == -1) {
		printf("list_events: %s\n", err);
		return -1;
	}
	n = cJSON_GetArraySize(evs);
	cJSON_Delete(evs);
	return n;
}

/* Break <ev> the <i>-th way; false when there is none. */
static bool
break_event(struct store_event *ev, int i, const char **name,
    const char **want, cJSON *notobj)
{
	switch (i) {
	case 0:
		*name = "unterminated";
		memset(ev->source, 'x', sizeof(ev->source));
		*want = "event: a field is not terminated";
		return true;
	case 1:
		*name = "bad_event_id";
		strlcpy(ev->event_id, "nope", sizeof(ev->event_id));
		*want = "event id \"nope\" is not a uuid";
		return true;
	case 2:
		*name = "bad_run_id";
		strlcpy(ev->run_id, "run-1", sizeof(ev->run_id));
		*want = "\"run-1\" is not a run id";
		return true;
	case 3:
		*name = "no_type";
		ev->event_type[0] = '\0';
		*want = "event without an event type";
		return true;
	case 4:
		*name = "bad_severity";
		strlcpy(ev->severity, "LOUD", sizeof(ev->severity));
		*want = "event door_test: severity \"LOUD\" is not one of "
		    "DEBUG, INFO, WARN, ERROR, CRITICAL";
		return true;
	case 5:
		*name = "payload_not_object";
		ev->payload = notobj;
		*want = "event door_test: payload is not a JSON object";
		return true;
	case 6:
		*name = "negative_epoch";
		ev->lease_epoch = -1;
		*want = "event door_test: negative lease epoch";
		return true;
	}
	return false;
}

/* Send <ev> through the door to <st>: refused with <want>, EINVAL? */
static bool
refused(struct store *st, const struct store_event *ev, const char *want,
    char *err, size_t errlen)
{
	enum store_write res;

	err[0] = '\0';
	errno = 0;
	return store_add_event(st, ev, &res, err, errlen) == -1 &&
	    errno == EINVAL && strcmp(err, want) == 0;
}

static void
case_events(struct store *sq, const char *run)
{
	struct store fk;
	struct fake f;
	struct store_event ev;
	enum store_write res;
	const char *name, *want;
	char err[512], case_name[64];
	cJSON *notobj = cJSON_CreateArray();
	int i, before;

	memset(&f, 0, sizeof(f));
	memset(&fk, 0, sizeof(fk));
	fk.ops = &fake_ops;
	fk.impl = &f;
	for (i = 0;; i++) {
		good_event(&ev, run);
		if (!break_event(&ev, i, &name, &want, notobj))
			break;
		snprintf(case_name, sizeof(case_name), "fake_%s", name);
		CHECK(case_name, refused(&fk, &ev, want, err, sizeof(err)) &&
		    f.events == 0, "err \"%s\" backend calls %d", err,
		    f.events);
		before = count_events(sq, run);
		snprintf(case_name, sizeof(case_name), "sqlite_%s", name);
		CHECK(case_name, refused(sq, &ev, want, err, sizeof(err)) &&
		    before >= 0 && count_events(sq, run) == before,
		    "err \"%s\" events %d -> %d", err, before,
		    count_events(sq, run));
	}
	cJSON_Delete(notobj);
	good_event(&ev, run);
	CHECK("fake_good", store_add_event(&fk, &ev, &res, err,
	    sizeof(err)) == 0 && f.events == 1, "backend calls %d", f.events);
	before = count_events(sq, run);
	CHECK("sqlite_good", store_add_event(sq, &ev, &res, err,
	    sizeof(err)) == 0 && res == STORE_WRITE_DONE &&
	    count_events(sq, run) == before + 1, "%s", err);
}

static void
case_ledger(struct store *sq, const char *run)
{
	struct store fk;
	struct fake f;
	struct store_ledger l, ex;
	enum store_write res;
	const char *want = "ledger: a field is not terminated";
	char err[512];
	bool fresh = true;
	int r;

	memset(&f, 0, sizeof(f));
	memset(&fk, 0, sizeof(fk));
	fk.ops = &fake_ops;
	fk.impl = &f;
	memset(&l, 0, sizeof(l));
	strlcpy(l.run_id, run, sizeof(l.run_id));
	strlcpy(l.sha8, "0123abcd", sizeof(l.sha8));
	memset(l.segment_id, 's', sizeof(l.segment_id));
	errno = 0;
	r = store_ledger_intent(&fk, &l, "tok", &fresh, &ex, &res, err,
	    sizeof(err));
	CHECK("fake_ledger_unterminated", r == -1 && errno == EINVAL &&
	    strcmp(err, want) == 0 && f.intents == 0 && !fresh,
	    "r %d err \"%s\" backend calls %d", r, err, f.intents);
	errno = 0;
	r = store_ledger_intent(sq, &l, "tok", &fresh, &ex, &res, err,
	    sizeof(err));
	CHECK("sqlite_ledger_unterminated", r == -1 && errno == EINVAL &&
	    strcmp(err, want) == 0, "r %d err \"%s\"", r, err);
}

int
main(void)
{
	char dir[64] = "/tmp/rv-store-door.XXXXXX", db[128], err[512];
	char run[STORE_ID_MAX], tok[ID_UUID_LEN + 1], cmd[160];
	struct store_claim c;
	struct store sq;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(db, sizeof(db), "%s/rayvault.db", dir);
	id_uuid_new(tok);
	if (store_sqlite_open(&sq, db, 30, err, sizeof(err)) == -1 ||
	    store_enqueue(&sq, "door-video-1", "", "{}", run, err,
	    sizeof(err)) == -1 ||
	    store_claim(&sq, "door-worker", tok, 15, "", "", &c, err,
	    sizeof(err)) != 1) {
		printf("setup: %s\n", err);
		return 1;
	}
	case_events(&sq, run);
	case_ledger(&sq, run);
	store_close(&sq);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: %s left behind\n", dir);
	return test_exit();
}
