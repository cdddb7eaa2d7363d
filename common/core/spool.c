/* SPDX-License-Identifier: ISC */
/*
 * spool.c: events waiting for the store (SPEC section 5).
 *
 * One JSON file per event, <spool>/<event_id>.json, written atomically:
 * {event_id, run_id, event_type, severity, reason_key, source, occurred_at,
 * payload, lease_epoch} plus "attempts".  A record whose event_type is
 * "ledger_result" also carries a credit-ledger result in its payload {key,
 * state, credits, output, lease_epoch}: spool_apply(), the one place that
 * decides how a record reaches the store (the replayer and rvsup's event
 * thread both use it), records the result with ledger_result and then
 * writes the event itself.  The store answers DONE, DUPLICATE (a replay) or
 * FENCED (a stale lease epoch: it will never be accepted); each ends the
 * record.  Replay claims a file by renaming it to "<name>.claimed.<pid>"
 * (rename is atomic, so of two replayers only one gets it, and only the
 * claimer sends it), sends it, and deletes it only once the store accepted
 * it or already had its event_id.  A send the store refused puts the file
 * back with attempts+1; the third refusal moves it to quarantine/.  A store
 * that cannot be reached (errno EHOSTUNREACH, ETIMEDOUT, ECONNREFUSED, ...)
 * refuses nothing: the file goes back unchanged and the pass stops, the
 * rest left for the next one (an outage must not quarantine the spool).  A
 * file that does not parse goes to bad/.  Claims left by a dead replayer, or
 * older than SPOOL_CLAIM_MAX_SEC (a crashed replayer whose pid was reused),
 * are put back first; a claim's mtime is its time.
 *
 * Public: spool_init, spool_write, spool_event_from_json, spool_apply,
 * spool_replay, spool_count.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/core/log.h"
#include "common/core/spool.h"
#include "common/store/store.h"

#define SPOOL_FILE_MAX	(256 * 1024)
#define SPOOL_MAX_ATTEMPTS 3
#define SPOOL_CLAIM_MAX_SEC 600	/* far beyond one send's timeout */

enum replay_result { REPLAY_NEXT, REPLAY_STOP };

int
spool_init(const char *dir)
{
	char p[1024];

	if (fs_mkdirs(dir, 0700) == -1)
		return -1;
	if (fs_path(p, sizeof(p), "%s/bad", dir) == -1 ||
	    fs_mkdirs(p, 0700) == -1)
		return -1;
	if (fs_path(p, sizeof(p), "%s/quarantine", dir) == -1 ||
	    fs_mkdirs(p, 0700) == -1)
		return -1;
	return 0;
}

/* Write one event record; <ev> must carry a valid event_id. */
int
spool_write(const char *dir, const cJSON *ev, char *err, size_t errlen)
{
	const cJSON *id = cJSON_GetObjectItem(ev, "event_id");
	char path[1024], *txt;
	int rc;

	if (!cJSON_IsString(id) || !id_uuid_valid(id->valuestring)) {
		snprintf(err, errlen, "spool: event without a valid event_id");
		return -1;
	}
	if (spool_init(dir) == -1 || fs_path(path, sizeof(path),
	    "%s/%s.json", dir, id->valuestring) == -1) {
		snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((txt = cJSON_PrintUnformatted(ev)) == NULL) {
		snprintf(err, errlen, "spool: out of memory");
		return -1;
	}
	rc = fs_write_atomic(path, txt, strlen(txt));
	free(txt);
	if (rc == -1)
		snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
	return rc;
}

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
 * Fill a struct store_event from a spool/event JSON object (its lease
 * epoch from "lease_epoch", for a ledger_result record also from its
 * payload).  The payload pointer borrows from <j>.
 */
int
spool_event_from_json(const cJSON *j, void *out, char *err, size_t errlen)
{
	struct store_event *ev = out;
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
 * Apply one record to the store (see the header comment): an event with
 * add_event, a ledger_result record with ledger_result and then its
 * event (not written when the result is fenced).  <source> fills an
 * empty source.  *res: DONE, DUPLICATE or FENCED (<err> says why).
 * Returns 0, or -1 with <err> and errno (a malformed record: EINVAL).
 */
static int
apply_record(struct store *st, const cJSON *record, const char *source,
    enum store_write *res, char *err, size_t errlen)
{
	struct store_event ev;
	struct spool_ledger l;
	enum store_write lr, er;

	*res = STORE_WRITE_DONE;
	if (spool_event_from_json(record, &ev, err, errlen) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (ev.source[0] == '\0' && source != NULL)
		strlcpy(ev.source, source, sizeof(ev.source));
	if (strcmp(ev.event_type, SPOOL_LEDGER_RESULT) != 0)
		return st->ops->add_event(st->impl, &ev, res, err, errlen);
	if (ledger_from_payload(ev.payload, &l, err, errlen) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (l.epoch == 0)
		l.epoch = ev.lease_epoch;
	if (st->ops->ledger_result(st->impl, l.key, l.epoch, l.state,
	    l.credits, l.has_output ? l.output : NULL, &lr, err,
	    errlen) == -1)
		return -1;
	if (lr == STORE_WRITE_FENCED) {
		*res = lr;
		return 0;
	}
	if (st->ops->add_event(st->impl, &ev, &er, err, errlen) == -1)
		return -1;
	*res = er == STORE_WRITE_FENCED ? er : lr;
	return 0;
}

/*
 * Apply spool or event record <record> (borrowed) to the store <st>; see
 * apply_record().  Used by the replayer and rvsup's event thread alike.
 */
int
spool_apply(struct store *st, const cJSON *record, enum store_write *res,
    char *err, size_t errlen)
{
	*res = STORE_WRITE_DONE;
	if (st == NULL || st->ops == NULL) {
		snprintf(err, errlen, "store is not open");
		errno = EAGAIN;
		return -1;
	}
	return apply_record(st, record, NULL, res, err, errlen);
}

static void
move_to(const char *dir, const char *sub, const char *from, const char *name)
{
	char to[1024];

	if (fs_path(to, sizeof(to), "%s/%s/%s", dir, sub, name) == 0)
		(void)rename(from, to);
}

/* Put back claims whose replayer is dead or that are far too old. */
static void
unclaim_stale(const char *dir, const char *name)
{
	char from[1024], to[1024], base[256];
	const char *p = strstr(name, ".claimed.");
	struct stat sb;
	long pid;
	bool alive;

	if (p == NULL || (size_t)(p - name) >= sizeof(base) ||
	    fs_path(from, sizeof(from), "%s/%s", dir, name) == -1 ||
	    stat(from, &sb) == -1)
		return;
	pid = strtol(p + 9, NULL, 10);
	alive = pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
	if (alive && time(NULL) - sb.st_mtime < SPOOL_CLAIM_MAX_SEC)
		return;
	memcpy(base, name, (size_t)(p - name));
	base[p - name] = '\0';
	if (fs_path(to, sizeof(to), "%s/%s", dir, base) == 0)
		(void)rename(from, to);
}

/* Whether a failed send means the store was not reached at all. */
static bool
unreachable(int e)
{
	return e == EHOSTUNREACH || e == ETIMEDOUT || e == ECONNREFUSED ||
	    e == ECONNRESET || e == ENETUNREACH || e == ENETDOWN ||
	    e == EAGAIN;
}

/* Count one refused send in the claimed file; back, or to quarantine. */
static void
refused(const char *dir, const char *name, const char *path,
    const char *claimed, cJSON *j, struct spool_report *rep)
{
	cJSON *att = cJSON_GetObjectItem(j, "attempts");
	int attempts;
	char *txt;

	attempts = (cJSON_IsNumber(att) ? (int)att->valuedouble : 0) + 1;
	cJSON_DeleteItemFromObject(j, "attempts");
	cJSON_AddNumberToObject(j, "attempts", attempts);
	if ((txt = cJSON_PrintUnformatted(j)) != NULL) {
		(void)fs_write_atomic(claimed, txt, strlen(txt));
		free(txt);
	}
	if (attempts >= SPOOL_MAX_ATTEMPTS) {
		move_to(dir, "quarantine", claimed, name);
		rep->quarantined++;
	} else
		(void)rename(claimed, path);
}

static enum replay_result
replay_one(const char *dir, const char *name, struct store *st,
    struct spool_report *rep)
{
	char path[1024], claimed[1100], err[512], *txt;
	struct store_event ev;
	struct spool_ledger l;
	enum store_write res;
	cJSON *j = NULL;
	int e;

	if (fs_path(path, sizeof(path), "%s/%s", dir, name) == -1 ||
	    fs_path(claimed, sizeof(claimed), "%s.claimed.%ld", path,
	    (long)getpid()) == -1)
		return REPLAY_NEXT;
	if (rename(path, claimed) == -1) {
		rep->skipped++;		/* another replayer has it */
		return REPLAY_NEXT;
	}
	(void)utimensat(AT_FDCWD, claimed, NULL, 0);	/* the claim's time */
	if (fs_read_file(claimed, SPOOL_FILE_MAX, &txt, NULL) == -1 ||
	    (j = cJSON_Parse(txt), free(txt), j) == NULL ||
	    spool_event_from_json(j, &ev, err, sizeof(err)) == -1 ||
	    (strcmp(ev.event_type, SPOOL_LEDGER_RESULT) == 0 &&
	    ledger_from_payload(ev.payload, &l, err, sizeof(err)) == -1)) {
		move_to(dir, "bad", claimed, name);
		rep->bad++;
		cJSON_Delete(j);
		return REPLAY_NEXT;
	}
	errno = 0;
	if (apply_record(st, j, "spool", &res, err, sizeof(err)) == 0) {
		(void)unlink(claimed);
		if (res == STORE_WRITE_DONE)
			rep->sent++;
		else if (res == STORE_WRITE_DUPLICATE)
			rep->duplicate++;
		else {
			rep->fenced++;
			log_warnx("spool: dropped %s (%s): fenced: %s", name,
			    ev.event_type, err);
		}
		cJSON_Delete(j);
		return REPLAY_NEXT;
	}
	e = errno;
	rep->failed++;
	if (unreachable(e)) {
		(void)rename(claimed, path);
		cJSON_Delete(j);
		return REPLAY_STOP;
	}
	refused(dir, name, path, claimed, j, rep);
	cJSON_Delete(j);
	return REPLAY_NEXT;
}

static bool
is_record(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && strcmp(name + n - 5, ".json") == 0 &&
	    strchr(name, '/') == NULL;
}

/*
 * Replay every spooled event into <st>.  Returns 0 (see <rep>: failed
 * counts sends that failed, deferred the files not tried because the
 * store was unreachable), or -1 when the spool directory cannot be read.
 */
int
spool_replay(const char *dir, struct store *st, struct spool_report *rep,
    char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, **nn;
	size_t n = 0, i;
	bool stop = false;

	memset(rep, 0, sizeof(*rep));
	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".claimed.") != NULL) {
			unclaim_stale(dir, de->d_name);
			continue;
		}
		if (!is_record(de->d_name))
			continue;
		if ((nn = reallocarray(names, n + 1, sizeof(*names))) == NULL)
			break;
		names = nn;
		if ((names[n] = strdup(de->d_name)) == NULL)
			break;
		n++;
	}
	closedir(d);
	for (i = 0; i < n; i++) {
		if (stop)
			rep->deferred++;
		else if (replay_one(dir, names[i], st, rep) == REPLAY_STOP)
			stop = true;
		free(names[i]);
	}
	free(names);
	return 0;
}

size_t
spool_count(const char *dir)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (is_record(de->d_name))
			n++;
	closedir(d);
	return n;
}
