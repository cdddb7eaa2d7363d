/* SPDX-License-Identifier: ISC */
/*
 * tg_sent.c: which alerts went out, shared by every sender on one state
 * directory.
 *
 * rvctl doctor --alert (the service managers' 5-minute job) and a
 * restarted rvsup that recovers its own stale run both send STALE WORKER;
 * doctor --alert also sends CONTRACT FAIL.  Each (run id, reason) goes
 * out at most once per TG_SENT_WINDOW_SEC, whoever sees it first, so the
 * table lives in a file both read: state/runtime/alerts-sent.json,
 * {"version":1,"sent":[{"run_id","reason","at","by"}]}, 0600, replaced
 * atomically (fs_write_atomic).  A run id of "" stands for the store
 * itself (CONTRACT FAIL).  Only a send Telegram accepted is recorded, so
 * a failed one is tried again by the next run of the job.
 *
 * Locking: an exclusive flock on state/runtime/alerts-sent.lock, held
 * from tg_sent_open() to tg_sent_close(): only while the table is read
 * and written, never while a message is sent.  Two senders that check
 * at the same moment may therefore both send once; the lock only keeps
 * the file whole.
 *
 * Clock: the wall clock (the entries span processes and restarts).  An
 * entry dated more than TG_SENT_SKEW_SEC in the future means the clock
 * went back: it counts as expired, one alert too many rather than an
 * hour of silence.  A clock jump forward expires entries early: at most
 * one repeat.
 *
 * A corrupt file (not JSON, wrong shape, bad entry) is moved aside to
 * alerts-sent.json.corrupt (replacing an older one) and the table starts
 * empty; tg_sent_open() says so in <note>.  Every finding is then sent
 * once more at most, and recorded again: never silence, never a flood.
 * Nothing here logs or sends.
 *
 * Public: tg_sent_open, tg_sent_recent, tg_sent_mark, tg_sent_close.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/ids.h"
#include "common/telegram/tg_sent.h"

#define SENT_FILE_MAX	(256 * 1024)

static bool
reason_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("_:.- ", s[i]) != NULL))
			return false;
	return i > 0 && i < TG_ALERT_KIND_MAX;
}

/* Fill <s> from the text of the file; -1 when it is not a valid table. */
static int
parse(struct tg_sent *s, const char *text, double now)
{
	const cJSON *e, *run, *why, *at, *by;
	cJSON *root = cJSON_Parse(text);
	struct tg_sent_entry *v;
	int rc = -1;

	if (!cJSON_IsObject(root) || cJSON_GetNumberValue(
	    cJSON_GetObjectItem(root, "version")) != 1 ||
	    !cJSON_IsArray(cJSON_GetObjectItem(root, "sent")))
		goto out;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, "sent")) {
		run = cJSON_GetObjectItem(e, "run_id");
		why = cJSON_GetObjectItem(e, "reason");
		at = cJSON_GetObjectItem(e, "at");
		by = cJSON_GetObjectItem(e, "by");
		if (!cJSON_IsString(run) || !cJSON_IsString(why) ||
		    !cJSON_IsNumber(at) || (run->valuestring[0] != '\0' &&
		    !id_uuid_valid(run->valuestring)) ||
		    !reason_ok(why->valuestring))
			goto out;
		/* Expired, or from a clock that went back: forget it. */
		if (now - at->valuedouble >= TG_SENT_WINDOW_SEC ||
		    at->valuedouble - now > TG_SENT_SKEW_SEC)
			continue;
		if (s->n == TG_SENT_MAX) {
			memmove(&s->v[0], &s->v[1], (TG_SENT_MAX - 1) *
			    sizeof(s->v[0]));
			s->n--;
		}
		v = &s->v[s->n++];
		strlcpy(v->run_id, run->valuestring, sizeof(v->run_id));
		strlcpy(v->reason, why->valuestring, sizeof(v->reason));
		v->at = at->valuedouble;
		strlcpy(v->by, cJSON_IsString(by) ? by->valuestring : "",
		    sizeof(v->by));
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

static int
take_lock(struct tg_sent *s, const char *dir, int wait_ms, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	int64_t until = clock_mono_ms() + wait_ms;

	if (fs_path(path, sizeof(path), "%s/alerts-sent.lock", dir) == -1 ||
	    (s->lockfd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "%s/alerts-sent.lock: %s", dir,
		    strerror(errno));
		return -1;
	}
	while (flock(s->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    clock_mono_ms() >= until) {
			snprintf(err, errlen, "%s/alerts-sent.lock: %s", dir,
			    errno == EWOULDBLOCK ? "held by another sender "
			    "for too long" : strerror(errno));
			close(s->lockfd);
			s->lockfd = -1;
			return -1;
		}
		clock_sleep_ms(20);
	}
	return 0;
}

/*
 * Lock and read the table of <state_dir> (its runtime/ directory is
 * created 0700 when missing), forgetting entries older than the window
 * at wall-clock time <now>.  Waits at most <wait_ms> for the lock.
 * Returns 0 with the lock held (<note> says "" or why the file was moved
 * aside), or -1 with <err> set and nothing held.
 */
int
tg_sent_open(struct tg_sent *s, const char *state_dir, double now,
    int wait_ms, char *note, size_t notelen, char *err, size_t errlen)
{
	char dir[PATH_MAX], aside[PATH_MAX + 16], *text = NULL;

	memset(s, 0, sizeof(*s));
	s->lockfd = -1;
	note[0] = '\0';
	if (fs_path(dir, sizeof(dir), "%s/runtime", state_dir) == -1 ||
	    fs_path(s->path, sizeof(s->path), "%s/%s", dir,
	    TG_SENT_FILE) == -1) {
		snprintf(err, errlen, "%s: path too long", state_dir);
		return -1;
	}
	if (fs_mkdirs(dir, 0700) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (take_lock(s, dir, wait_ms, err, errlen) == -1)
		return -1;
	if (fs_read_file(s->path, SENT_FILE_MAX, &text, NULL) == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno != EFBIG) {
			snprintf(err, errlen, "%s: %s", s->path,
			    strerror(errno));
			(void)tg_sent_close(s, false, NULL, 0);
			return -1;
		}
	} else if (parse(s, text, now) == 0) {
		free(text);
		return 0;
	}
	free(text);
	s->n = 0;
	snprintf(aside, sizeof(aside), "%s.corrupt", s->path);
	if (rename(s->path, aside) == -1) {
		snprintf(err, errlen, "%s is corrupt and cannot be moved "
		    "aside: %s", s->path, strerror(errno));
		(void)tg_sent_close(s, false, NULL, 0);
		return -1;
	}
	snprintf(note, notelen, "%s was corrupt: moved aside to %s; the "
	    "table starts empty, so an alert of the last hour may be sent "
	    "once more", s->path, aside);
	return 0;
}

/* Was (<run_id>, <reason>) sent within the window?  <at> gets when. */
bool
tg_sent_recent(const struct tg_sent *s, const char *run_id,
    const char *reason, double now, double *at)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].run_id, run_id) == 0 &&
		    strcmp(s->v[i].reason, reason) == 0 &&
		    now - s->v[i].at < TG_SENT_WINDOW_SEC &&
		    s->v[i].at - now <= TG_SENT_SKEW_SEC) {
			if (at != NULL)
				*at = s->v[i].at;
			return true;
		}
	return false;
}

/* Record that (<run_id>, <reason>) went out at <now>, by <by>. */
void
tg_sent_mark(struct tg_sent *s, const char *run_id, const char *reason,
    double now, const char *by)
{
	struct tg_sent_entry *v = NULL;
	size_t i;

	for (i = 0; i < s->n && v == NULL; i++)
		if (strcmp(s->v[i].run_id, run_id) == 0 &&
		    strcmp(s->v[i].reason, reason) == 0)
			v = &s->v[i];
	if (v == NULL) {
		if (s->n == TG_SENT_MAX) {
			memmove(&s->v[0], &s->v[1], (TG_SENT_MAX - 1) *
			    sizeof(s->v[0]));
			s->n--;
		}
		v = &s->v[s->n++];
	}
	strlcpy(v->run_id, run_id, sizeof(v->run_id));
	strlcpy(v->reason, reason, sizeof(v->reason));
	v->at = now;
	strlcpy(v->by, by, sizeof(v->by));
}

static int
save(struct tg_sent *s, char *err, size_t errlen)
{
	cJSON *root = cJSON_CreateObject(), *arr, *e;
	char *text;
	size_t i;
	int rc = -1;

	cJSON_AddNumberToObject(root, "version", 1);
	arr = cJSON_AddArrayToObject(root, "sent");
	for (i = 0; i < s->n; i++) {
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "run_id", s->v[i].run_id);
		cJSON_AddStringToObject(e, "reason", s->v[i].reason);
		cJSON_AddNumberToObject(e, "at", s->v[i].at);
		cJSON_AddStringToObject(e, "by", s->v[i].by);
		cJSON_AddItemToArray(arr, e);
	}
	if ((text = cJSON_PrintUnformatted(root)) == NULL)
		errno = ENOMEM;
	else if (fs_write_atomic(s->path, text, strlen(text)) == 0)
		rc = 0;
	if (rc == -1 && err != NULL)
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
	free(text);
	cJSON_Delete(root);
	return rc;
}

/*
 * Write the table back when <save_it> (atomically, 0600), then release
 * the lock.  Returns 0, or -1 with <err> (may be NULL) set; the lock is
 * released either way.
 */
int
tg_sent_close(struct tg_sent *s, bool save_it, char *err, size_t errlen)
{
	int rc = 0;

	if (s->lockfd == -1)
		return 0;
	if (save_it)
		rc = save(s, err, errlen);
	close(s->lockfd);
	s->lockfd = -1;
	return rc;
}
