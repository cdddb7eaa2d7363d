/* SPDX-License-Identifier: ISC */
/*
 * store_check.c: the argument checks that belong to no backend.
 *
 * The door (store.c) runs these before it hands a call to a backend, so
 * each rule and its message exists once and both backends answer a bad
 * event or ledger row alike, without reaching the database.  What only a
 * backend can judge stays with it: an event's occurred_at (SQLite asks
 * its own date parser, supabase checks ISO-8601 because PostgreSQL would
 * also take words), payload size, and the ledger key rules the supabase
 * migration enforces in SQL.  Nothing here logs.
 *
 * Public (store-internal, see backend.h): store_check_event,
 * store_check_ledger, store_check_amend.  Untrusted text in messages goes
 * through errbuf_quote.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/errbuf.h"
#include "common/core/ids.h"
#include "common/store/store.h"
#include "common/store/backend.h"

static bool
terminated(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}

static bool
severity_valid(const char *sev)
{
	static const char *const names[] = {
		"DEBUG", "INFO", "WARN", "ERROR", "CRITICAL"
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(sev, names[i]) == 0)
			return true;
	return false;
}

/* Fill <err>, set errno EINVAL and return -1. */
static int
refuse(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)errbuf_vset(err, errlen, -1, fmt, ap);
	va_end(ap);
	errno = EINVAL;
	return -1;
}

/*
 * Check event <ev> (borrowed): every field terminated, event_id empty or
 * a uuid, run_id empty or a uuid, an event type, a known severity, an
 * object (or no) payload, a lease epoch >= 0.  Returns 0, or -1 with <err>
 * and errno EINVAL.
 */
int
store_check_event(const struct store_event *ev, char *err, size_t errlen)
{
	char q[64];

	if (!terminated(ev->event_id, sizeof(ev->event_id)) ||
	    !terminated(ev->run_id, sizeof(ev->run_id)) ||
	    !terminated(ev->event_type, sizeof(ev->event_type)) ||
	    !terminated(ev->severity, sizeof(ev->severity)) ||
	    !terminated(ev->reason_key, sizeof(ev->reason_key)) ||
	    !terminated(ev->source, sizeof(ev->source)) ||
	    !terminated(ev->occurred_at, sizeof(ev->occurred_at)))
		return refuse(err, errlen, "event: a field is not terminated");
	if (ev->event_id[0] != '\0' && !id_uuid_valid(ev->event_id))
		return refuse(err, errlen, "event id \"%s\" is not a uuid",
		    errbuf_quote(ev->event_id, q, sizeof(q)));
	if (ev->run_id[0] != '\0' && !id_uuid_valid(ev->run_id))
		return refuse(err, errlen, "\"%s\" is not a run id",
		    errbuf_quote(ev->run_id, q, sizeof(q)));
	if (ev->event_type[0] == '\0')
		return refuse(err, errlen, "event without an event type");
	if (!severity_valid(ev->severity))
		return refuse(err, errlen, "event %s: severity \"%s\" is not "
		    "one of DEBUG, INFO, WARN, ERROR, CRITICAL", ev->event_type,
		    errbuf_quote(ev->severity, q, sizeof(q)));
	if (ev->payload != NULL && !cJSON_IsObject(ev->payload))
		return refuse(err, errlen, "event %s: payload is not a JSON "
		    "object", ev->event_type);
	if (ev->lease_epoch < 0)
		return refuse(err, errlen, "event %s: negative lease epoch",
		    ev->event_type);
	return 0;
}

/*
 * Check ledger row <l> (borrowed) of an intent: its text fields are
 * terminated.  Returns 0, or -1 with <err> and errno EINVAL.
 */
int
store_check_ledger(const struct store_ledger *l, char *err, size_t errlen)
{
	if (!terminated(l->key, sizeof(l->key)) ||
	    !terminated(l->run_id, sizeof(l->run_id)) ||
	    !terminated(l->segment_id, sizeof(l->segment_id)) ||
	    !terminated(l->sha8, sizeof(l->sha8)))
		return refuse(err, errlen, "ledger: a field is not terminated");
	return 0;
}

/*
 * An amend (store.h): a run id, a segment id, exactly one of a non-empty
 * text (at most STORE_AMEND_TEXT_MAX bytes) and a duration in
 * STORE_AMEND_DUR_MIN..STORE_AMEND_DUR_MAX seconds, an operator of 3 to
 * 64 characters.  The backends judge the run's state and its segments.
 */
int
store_check_amend(const struct store_amend *a, char *err, size_t errlen)
{
	char q[64];
	size_t n;

	if (a == NULL || a->run_id == NULL || !id_uuid_valid(a->run_id))
		return refuse(err, errlen, "amend: \"%s\" is not a run id",
		    errbuf_quote(a != NULL ? a->run_id : NULL, q, sizeof(q)));
	if (a->segment_id == NULL || !id_segment_valid(a->segment_id))
		return refuse(err, errlen, "amend: \"%s\" is not a segment id",
		    errbuf_quote(a->segment_id, q, sizeof(q)));
	if ((a->text != NULL) == (a->duration != 0))
		return refuse(err, errlen, "amend: give either a text or a "
		    "duration, not %s", a->text != NULL ? "both" : "neither");
	if (a->text != NULL && (a->text[0] == '\0' ||
	    strlen(a->text) > STORE_AMEND_TEXT_MAX))
		return refuse(err, errlen, "amend: the text must be 1 to %d "
		    "bytes", STORE_AMEND_TEXT_MAX);
	if (a->text == NULL && !(a->duration >= STORE_AMEND_DUR_MIN &&
	    a->duration <= STORE_AMEND_DUR_MAX))
		return refuse(err, errlen, "amend: the duration must be %.1f "
		    "to %.0f seconds", STORE_AMEND_DUR_MIN,
		    STORE_AMEND_DUR_MAX);
	n = a->operator_name != NULL ? strlen(a->operator_name) : 0;
	if (n < 3 || n > STORE_WID_MAX - 1)
		return refuse(err, errlen, "amend: operator \"%s\" must be 3 "
		    "to %d characters", errbuf_quote(a->operator_name, q,
		    sizeof(q)), STORE_WID_MAX - 1);
	return 0;
}
