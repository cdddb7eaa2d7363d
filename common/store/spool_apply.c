/* SPDX-License-Identifier: ISC */
/*
 * spool_apply.c: how a spooled or queued event record reaches the store
 * (SPEC section 5).
 *
 * A record is the JSON of common/core/spool.c: an event, or, when its
 * event_type is "ledger_result", a credit-ledger result in its payload
 * {key, state, credits, output, lease_epoch} that is recorded with
 * store_ledger_result first and then written as an event (the event is
 * not written when the result is fenced).  This is the one place that
 * decides it: rvsup's event thread applies queued records with
 * spool_apply(), and the replayer (rvsup, rvctl replay-spool, doctor)
 * hands spool_apply_replay() the spool, whose file handling stays in
 * common/core/spool.c.  Everything goes through the store door
 * (store.c); nothing here touches a backend.  Nothing here logs.
 *
 * Public: spool_apply, spool_apply_replay.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/spool.h"
#include "common/store/store.h"
#include "common/store/spool_apply.h"

static int
copy_str(char *dst, size_t size, const cJSON *j, const char *key,
    bool required, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItem(j, key);

	if (v == NULL || cJSON_IsNull(v)) {
		if (required) {
			snprintf(err, errlen, "event: \"%s\" missing", key);
			return -1;
		}
		dst[0] = '\0';
		return 0;
	}
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= size) {
		snprintf(err, errlen, "event: \"%s\" is not a string of at "
		    "most %zu bytes", key, size - 1);
		return -1;
	}
	strlcpy(dst, v->valuestring, size);
	return 0;
}

/* Optional integer member <key> of <j> (missing or null: 0). */
static int
get_epoch(const cJSON *j, const char *key, long long *v, char *err,
    size_t errlen)
{
	const cJSON *e = cJSON_GetObjectItem(j, key);

	*v = 0;
	if (e == NULL || cJSON_IsNull(e))
		return 0;
	if (!cJSON_IsNumber(e) || e->valuedouble < 0 ||
	    e->valuedouble > 9e15 || e->valuedouble != (double)(long long)
	    e->valuedouble) {
		snprintf(err, errlen, "event: \"%s\" is not an epoch", key);
		return -1;
	}
	*v = (long long)e->valuedouble;
	return 0;
}

/*
 * Fill <ev> from a spool/event JSON object (its lease epoch from
 * "lease_epoch", for a ledger_result record also from its payload).  The
 * payload pointer borrows from <j>.
 */
static int
event_from_json(const cJSON *j, struct store_event *ev, char *err,
    size_t errlen)
{
	const cJSON *p;
	long long pe;

	memset(ev, 0, sizeof(*ev));
	if (!cJSON_IsObject(j)) {
		snprintf(err, errlen, "event: not a JSON object");
		return -1;
	}
	if (copy_str(ev->event_id, sizeof(ev->event_id), j, "event_id", false,
	    err, errlen) == -1 ||
	    copy_str(ev->run_id, sizeof(ev->run_id), j, "run_id", false, err,
	    errlen) == -1 ||
	    copy_str(ev->event_type, sizeof(ev->event_type), j, "event_type",
	    true, err, errlen) == -1 ||
	    copy_str(ev->severity, sizeof(ev->severity), j, "severity", true,
	    err, errlen) == -1 ||
	    copy_str(ev->reason_key, sizeof(ev->reason_key), j, "reason_key",
	    false, err, errlen) == -1 ||
	    copy_str(ev->source, sizeof(ev->source), j, "source", false, err,
	    errlen) == -1 ||
	    copy_str(ev->occurred_at, sizeof(ev->occurred_at), j,
	    "occurred_at", false, err, errlen) == -1)
		return -1;
	p = cJSON_GetObjectItem(j, "payload");
	if (p != NULL && !cJSON_IsObject(p)) {
		snprintf(err, errlen, "event: payload is not an object");
		return -1;
	}
	ev->payload = (cJSON *)p;
	if (get_epoch(j, "lease_epoch", &ev->lease_epoch, err, errlen) == -1)
		return -1;
	if (strcmp(ev->event_type, SPOOL_LEDGER_RESULT) == 0) {
		if (get_epoch(p, "lease_epoch", &pe, err, errlen) == -1)
			return -1;
		if (ev->lease_epoch == 0)
			ev->lease_epoch = pe;
	}
	return 0;
}

/* The ledger result a ledger_result record's payload carries. */
struct spool_ledger {
	char		 key[128];
	char		 state[16];
	char		 output[256];
	int		 credits;
	long long	 epoch;
	bool		 has_output;
};

static int
ledger_from_payload(const cJSON *p, struct spool_ledger *l, char *err,
    size_t errlen)
{
	const cJSON *c = cJSON_GetObjectItem(p, "credits");

	memset(l, 0, sizeof(*l));
	if (copy_str(l->key, sizeof(l->key), p, "key", true, err,
	    errlen) == -1 ||
	    copy_str(l->state, sizeof(l->state), p, "state", true, err,
	    errlen) == -1 ||
	    copy_str(l->output, sizeof(l->output), p, "output", false, err,
	    errlen) == -1 ||
	    get_epoch(p, "lease_epoch", &l->epoch, err, errlen) == -1)
		return -1;
	if (!cJSON_IsNumber(c) || c->valuedouble < 0 ||
	    c->valuedouble > 0x7fffffff) {
		snprintf(err, errlen, "ledger_result: \"credits\" is not a "
		    "count");
		return -1;
	}
	l->credits = (int)c->valuedouble;
	l->has_output = l->output[0] != '\0';
	return 0;
}

/*
 * Parse <record> into <ev> and, for a ledger_result record, <l>.
 * Returns 0, or -1 with <err> (a malformed record).
 */
static int
parse_record(const cJSON *record, struct store_event *ev,
    struct spool_ledger *l, char *err, size_t errlen)
{
	if (event_from_json(record, ev, err, errlen) == -1)
		return -1;
	if (strcmp(ev->event_type, SPOOL_LEDGER_RESULT) != 0)
		return 0;
	if (ledger_from_payload(ev->payload, l, err, errlen) == -1)
		return -1;
	if (l->epoch == 0)
		l->epoch = ev->lease_epoch;
	return 0;
}

/*
 * Write parsed record <ev> (<l> for a ledger_result record) through the
 * door: an event with store_add_event, a ledger result with
 * store_ledger_result and then its event (not written when the result is
 * fenced).  <source> fills an empty source.  *res: DONE, DUPLICATE or
 * FENCED (<err> says why).  Returns 0, or -1 with <err> and errno.
 */
static int
apply_parsed(struct store *st, struct store_event *ev,
    const struct spool_ledger *l, const char *source, enum store_write *res,
    char *err, size_t errlen)
{
	enum store_write lr, er;

	*res = STORE_WRITE_DONE;
	if (ev->source[0] == '\0' && source != NULL)
		strlcpy(ev->source, source, sizeof(ev->source));
	if (strcmp(ev->event_type, SPOOL_LEDGER_RESULT) != 0)
		return store_add_event(st, ev, res, err, errlen);
	if (store_ledger_result(st, l->key, l->epoch, l->state, l->credits,
	    l->has_output ? l->output : NULL, &lr, err, errlen) == -1)
		return -1;
	if (lr == STORE_WRITE_FENCED) {
		*res = lr;
		return 0;
	}
	if (store_add_event(st, ev, &er, err, errlen) == -1)
		return -1;
	*res = er == STORE_WRITE_FENCED ? er : lr;
	return 0;
}

/*
 * Apply spool or event record <record> (borrowed) to the store <st>, as
 * the header comment says.  Used by rvsup's event thread; the replay goes
 * through spool_apply_replay().  *res: DONE, DUPLICATE or FENCED.
 * Returns 0, or -1 with <err> and errno (EAGAIN: the store is not open;
 * EINVAL: a malformed record or one the door refused).
 */
int
spool_apply(struct store *st, const cJSON *record, enum store_write *res,
    char *err, size_t errlen)
{
	struct store_event ev;
	struct spool_ledger l;

	*res = STORE_WRITE_DONE;
	if (st == NULL || st->ops == NULL) {
		snprintf(err, errlen, "store is not open");
		errno = EAGAIN;
		return -1;
	}
	if (parse_record(record, &ev, &l, err, errlen) == -1) {
		errno = EINVAL;
		return -1;
	}
	return apply_parsed(st, &ev, &l, NULL, res, err, errlen);
}

/* spool_replay()'s send function: <arg> is the store. */
static int
send_record(void *arg, const cJSON *record, enum spool_sent *sent,
    char *err, size_t errlen)
{
	struct store_event ev;
	struct spool_ledger l;
	enum store_write res;

	if (parse_record(record, &ev, &l, err, errlen) == -1) {
		*sent = SPOOL_MALFORMED;
		return 0;
	}
	if (apply_parsed(arg, &ev, &l, "spool", &res, err, errlen) == -1)
		return -1;
	*sent = res == STORE_WRITE_DONE ? SPOOL_SENT :
	    res == STORE_WRITE_DUPLICATE ? SPOOL_DUPLICATE : SPOOL_FENCED;
	return 0;
}

/*
 * Replay the spool <spool_dir> into the store <st> (borrowed): see
 * spool_replay() in common/core/spool.c for <rep> and the return value.
 */
int
spool_apply_replay(const char *spool_dir, struct store *st,
    struct spool_report *rep, char *err, size_t errlen)
{
	const struct spool_send send = { send_record, st };

	return spool_replay(spool_dir, &send, rep, err, errlen);
}
