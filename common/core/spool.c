/* SPDX-License-Identifier: ISC */
/*
 * spool.c: events waiting for the store (SPEC section 5), as files.
 *
 * One JSON file per event, <spool>/<event_id>.json, written atomically:
 * {event_id, run_id, event_type, severity, reason_key, source, occurred_at,
 * payload, lease_epoch} plus "attempts".  A record whose event_type is
 * "ledger_result" also carries a credit-ledger result in its payload {key,
 * state, credits, output, lease_epoch}.  This module knows only the files:
 * what a record means to the store, and how it is written there, is the
 * send function's business (common/store/spool_apply.c, which answers
 * SENT, DUPLICATE, FENCED or MALFORMED; each but a failure ends the
 * record).  Replay claims a file by renaming it to "<name>.claimed.<pid>"
 * (rename is atomic, so of two replayers only one gets it, and only the
 * claimer sends it), sends it, and deletes it only once the store accepted
 * it, already had its event_id, or fenced it.  A send the store refused
 * puts the file back with attempts+1; the third refusal moves it to
 * quarantine/.  A store that cannot be reached (errno EHOSTUNREACH,
 * ETIMEDOUT, ECONNREFUSED, ...) refuses nothing: the file goes back
 * unchanged and the pass stops, the rest left for the next one (an outage
 * must not quarantine the spool).  A file that does not parse, or that the
 * send function calls malformed, goes to bad/.  Claims left by a dead
 * replayer, or older than SPOOL_CLAIM_MAX_SEC (a crashed replayer whose
 * pid was reused), are put back first; a claim's mtime is its time.
 *
 * Public: spool_init, spool_write, spool_replay, spool_count.
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

/*
 * Whether a failed send means the store was not reached at all, or could
 * not take any record (ENOSYS: its contract is broken, e.g. a table is
 * missing): not this record's fault, so it is not counted against it.
 */
static bool
unreachable(int e)
{
	return e == EHOSTUNREACH || e == ETIMEDOUT || e == ECONNREFUSED ||
	    e == ECONNRESET || e == ENETUNREACH || e == ENETDOWN ||
	    e == EAGAIN || e == ENOSYS;
}

/* Count one refused send in the claimed file; back, or to quarantine. */
static void
refused(const char *dir, const char *name, const char *path,
    const char *claimed, cJSON *j, struct spool_report *rep)
{
	cJSON *att = cJSON_GetObjectItem(j, "attempts");
	int attempts;
	char *txt;

	/* the file may say anything: count within 0..SPOOL_MAX_ATTEMPTS */
	attempts = 0;
	if (cJSON_IsNumber(att) && att->valuedouble > 0)
		attempts = att->valuedouble >= SPOOL_MAX_ATTEMPTS ?
		    SPOOL_MAX_ATTEMPTS : (int)att->valuedouble;
	attempts++;
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

/* Bad, or sent: the file is done with either way. */
static void
sent(const char *dir, const char *name, const char *claimed, const cJSON *j,
    enum spool_sent res, const char *err, struct spool_report *rep)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(j,
	    "event_type"));

	switch (res) {
	case SPOOL_MALFORMED:
		move_to(dir, "bad", claimed, name);
		rep->bad++;
		return;
	case SPOOL_SENT:
		rep->sent++;
		break;
	case SPOOL_DUPLICATE:
		rep->duplicate++;
		break;
	case SPOOL_FENCED:
		rep->fenced++;
		log_warnx("spool: dropped %s (%s): fenced: %s", name,
		    type != NULL ? type : "?", err);
		break;
	}
	(void)unlink(claimed);
}

static enum replay_result
replay_one(const char *dir, const char *name, const struct spool_send *send,
    struct spool_report *rep)
{
	char path[1024], claimed[1100], err[512] = "", *txt;
	enum spool_sent res;
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
	    (j = cJSON_Parse(txt), free(txt), j) == NULL) {
		move_to(dir, "bad", claimed, name);
		rep->bad++;
		return REPLAY_NEXT;
	}
	errno = 0;
	res = SPOOL_SENT;
	if (send->fn(send->arg, j, &res, err, sizeof(err)) == 0) {
		sent(dir, name, claimed, j, res, err, rep);
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
 * Replay every spooled record through <send> (borrowed).  Returns 0 (see
 * <rep>: failed counts sends that failed, deferred the files not tried
 * because the destination was unreachable), or -1 with <err> when the
 * spool directory cannot be read.
 */
int
spool_replay(const char *dir, const struct spool_send *send,
    struct spool_report *rep, char *err, size_t errlen)
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
		else if (replay_one(dir, names[i], send, rep) == REPLAY_STOP)
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
