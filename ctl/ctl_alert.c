/* SPDX-License-Identifier: ISC */
/*
 * ctl_alert.c: rvctl doctor --alert, what doctor found told to Telegram.
 *
 * On a one-machine install nobody else is left to say that the only
 * supervisor died: the service managers run `rvctl doctor --alert` every
 * 5 minutes, and this file turns its findings into messages.  doctor
 * collects them (ctl_alert_add): STALE WORKER for each run whose lease
 * expired or whose heartbeat is older than 3 intervals while marked
 * active, and CONTRACT FAIL when the store does not match this build
 * (keyed by the store itself, run id "").  A store that did not answer
 * is no finding: nothing is known about its runs, so nothing is guessed.
 *
 * ctl_alert_send() sends each finding once per hour and (run, reason):
 * the table of sent alerts is common/telegram/tg_sent.c, shared with a
 * restarted rvsup's recovery alert.  Only a message Telegram accepted is
 * recorded, so a failed one is tried again 5 minutes later.  At most
 * CTL_ALERT_SEND_MAX messages go out per run; when Telegram does not
 * answer (or asks to wait) the rest of this run's messages are not tried.
 * The text is the one rvw-notify sends (tg_alert_format), worker = the
 * stale run's worker.  Every outcome is one "alert" check in doctor's
 * list; texts go through the settings' redaction, and the bot token
 * appears nowhere (the Telegram client never puts it in an error).
 *
 * Exit: doctor's own (0, 1, 2): a failed send adds a warning, the
 * findings already made the verdict critical.  Telegram not configured
 * (TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID unset): 64, whatever doctor
 * found, so an alert job that cannot alert fails where the service
 * manager shows it.
 *
 * Public: ctl_alert_add, ctl_alert_send.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/curl_dl.h"
#include "common/telegram/telegram.h"
#include "common/telegram/tg_alert.h"
#include "common/telegram/tg_sent.h"
#include "ctl/ctl.h"

#define ALERT_SEND_MS		15000
#define ALERT_LOCK_WAIT_MS	5000

enum outcome {
	OUT_TODO = 0,
	OUT_SENT,
	OUT_DUPLICATE,
	OUT_FAILED,
	OUT_HELD
};

struct outcome_row {
	enum outcome	 what;
	double		 at;		/* sent, now or before */
	char		 by[TG_SENT_BY_MAX];
	char		 why[400];
};

/*
 * Remember a finding for ctl_alert_send().  Past CTL_ALERTS_MAX only the
 * count of findings left out grows.
 */
void
ctl_alert_add(struct ctl_alerts *al, const char *reason, const char *run_id,
    const char *video_id, const char *worker_id, const char *fmt, ...)
{
	struct ctl_alert *a;
	va_list ap;

	if (al->n == CTL_ALERTS_MAX) {
		al->over++;
		return;
	}
	a = &al->v[al->n++];
	memset(a, 0, sizeof(*a));
	(void)strlcpy(a->reason, reason, sizeof(a->reason));
	(void)strlcpy(a->run_id, run_id, sizeof(a->run_id));
	(void)strlcpy(a->video_id, video_id, sizeof(a->video_id));
	(void)strlcpy(a->worker_id, worker_id, sizeof(a->worker_id));
	va_start(ap, fmt);
	(void)vsnprintf(a->detail, sizeof(a->detail), fmt, ap);
	va_end(ap);
}

/* "STALE WORKER for run RAY-7 (worker w1)", "CONTRACT FAIL for the store" */
static void
what_text(const struct ctl_alert *a, char *buf, size_t size)
{
	if (a->run_id[0] == '\0')
		(void)snprintf(buf, size, "%s for the store", a->reason);
	else
		(void)snprintf(buf, size, "%s for run %s (worker %s)",
		    a->reason, a->video_id[0] ? a->video_id : a->run_id,
		    a->worker_id[0] ? a->worker_id : "?");
}

/* Send one finding; fills <o>.  Returns the Telegram status. */
static enum tg_status
send_one(struct ctl_env *env, struct tg_client *c, const struct ctl_alert *a,
    struct outcome_row *o)
{
	char at[CLOCK_ISO_LEN], err[256], *text;
	struct tg_alert *ta;
	struct tg_reply r;
	cJSON *j, *p;
	enum tg_status st;

	if ((ta = calloc(1, sizeof(*ta))) == NULL ||
	    (text = malloc(TG_TEXT_MAX + 1)) == NULL) {
		free(ta);
		(void)strlcpy(o->why, "out of memory", sizeof(o->why));
		o->what = OUT_FAILED;
		return TG_RETRY;
	}
	clock_utc_iso(at);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "alert", a->reason);
	cJSON_AddStringToObject(j, "run_id", a->run_id);
	cJSON_AddStringToObject(j, "video_id", a->video_id);
	cJSON_AddStringToObject(j, "worker_id", a->worker_id[0] ?
	    a->worker_id : env->cfg.worker_id);
	cJSON_AddStringToObject(j, "at", at);
	cJSON_AddStringToObject(j, "detail", a->detail);
	if (tg_alert_parse(j, ta, err, sizeof(err)) == -1) {
		cJSON_Delete(j);
		free(text);
		free(ta);
		(void)snprintf(o->why, sizeof(o->why), "%s (our bug)", err);
		o->what = OUT_FAILED;
		return TG_REFUSED;
	}
	cJSON_Delete(j);
	(void)tg_alert_format(ta, 0, text, TG_TEXT_MAX + 1);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "chat_id", env->cfg.telegram_chat_id);
	cJSON_AddStringToObject(p, "text", text);
	(void)tg_request(c, "sendMessage", p, ALERT_SEND_MS, NULL, &r);
	cJSON_Delete(p);
	free(text);
	free(ta);
	st = r.status;
	o->at = (double)time(NULL);
	if (st == TG_OK)
		o->what = OUT_SENT;
	else {
		o->what = OUT_FAILED;
		if (r.retry_after > 0)
			(void)snprintf(o->why, sizeof(o->why), "%s (HTTP %ld, "
			    "retry after %ld s)", r.err, r.http_status,
			    r.retry_after);
		else
			(void)snprintf(o->why, sizeof(o->why), "%s (HTTP %ld)",
			    r.err, r.http_status);
	}
	tg_reply_clear(&r);
	return st;
}

/* Send every finding marked OUT_TODO, in order. */
static void
send_all(struct ctl_env *env, struct outcome_row *o)
{
	const struct ctl_alerts *al = env->alerts;
	struct tg_client *c;
	char err[256];
	size_t i;
	bool gave_up = false;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		(void)snprintf(err, sizeof(err), "cannot initialise libcurl%s%s",
		    *curl_dl_error() != '\0' ? ": " : "", curl_dl_error());
		c = NULL;
	} else
		c = tg_client_new(env->cfg.telegram_api_base,
		    env->cfg.telegram_bot_token, err, sizeof(err));
	for (i = 0; i < al->n; i++) {
		if (o[i].what != OUT_TODO)
			continue;
		if (c == NULL || gave_up) {
			o[i].what = OUT_FAILED;
			(void)strlcpy(o[i].why, c == NULL ? err : "not tried: "
			    "Telegram did not take the message before",
			    sizeof(o[i].why));
			continue;
		}
		if (send_one(env, c, &al->v[i], &o[i]) == TG_RETRY)
			gave_up = true;
	}
	tg_client_free(c);
	curl_global_cleanup();
}

/* Which findings were sent within the hour; the rest become OUT_TODO. */
static int
sort_out(struct ctl_env *env, struct ctl_diag *d, struct tg_sent *sent,
    struct outcome_row *o)
{
	const struct ctl_alerts *al = env->alerts;
	char note[PATH_MAX * 2 + 160], err[PATH_MAX + 160];
	double now = (double)time(NULL);
	size_t i, k = 0;

	if (tg_sent_open(sent, env->cfg.state_dir, now, ALERT_LOCK_WAIT_MS,
	    note, sizeof(note), err, sizeof(err)) == -1) {
		ctl_diag_add(d, CTL_LVL_WARN, "alert", "Make state/runtime "
		    "readable and writable by this user (rvctl doctor --alert "
		    "runs as the worker's user).", "nothing sent: the table of "
		    "sent alerts cannot be read, so nothing could be "
		    "deduplicated: %s", err);
		return -1;
	}
	if (note[0] != '\0')
		ctl_diag_add(d, CTL_LVL_WARN, "alert_state", "Nothing to do: "
		    "the file set aside is kept for a look; remove it when "
		    "done.", "%s", note);
	for (i = 0; i < al->n; i++) {
		if (tg_sent_recent(sent, al->v[i].run_id, al->v[i].reason,
		    now, &o[i].at)) {
			o[i].what = OUT_DUPLICATE;
			continue;
		}
		o[i].what = k++ < CTL_ALERT_SEND_MAX ? OUT_TODO : OUT_HELD;
	}
	(void)tg_sent_close(sent, note[0] != '\0', NULL, 0);
	return 0;
}

/* Record what Telegram accepted. */
static void
record(struct ctl_env *env, struct ctl_diag *d, struct tg_sent *sent,
    const struct outcome_row *o)
{
	const struct ctl_alerts *al = env->alerts;
	char note[PATH_MAX * 2 + 160], err[PATH_MAX + 160];
	size_t i, n = 0;

	for (i = 0; i < al->n; i++)
		n += o[i].what == OUT_SENT;
	if (n == 0)
		return;
	if (tg_sent_open(sent, env->cfg.state_dir, (double)time(NULL),
	    ALERT_LOCK_WAIT_MS, note, sizeof(note), err, sizeof(err)) == 0) {
		for (i = 0; i < al->n; i++)
			if (o[i].what == OUT_SENT)
				tg_sent_mark(sent, al->v[i].run_id,
				    al->v[i].reason, o[i].at, "doctor");
		if (tg_sent_close(sent, true, err, sizeof(err)) == 0)
			return;
	}
	ctl_diag_add(d, CTL_LVL_WARN, "alert", "Make state/runtime writable "
	    "by this user; until then the same alerts go out every run.",
	    "%zu alert%s sent but not recorded: %s", n, n == 1 ? "" : "s",
	    err);
}

static void
report(struct ctl_env *env, struct ctl_diag *d, const struct outcome_row *o)
{
	const struct ctl_alerts *al = env->alerts;
	char what[TG_ALERT_KIND_MAX + STORE_VID_MAX + STORE_WID_MAX + 40];
	char when[32];
	struct tm tm;
	time_t t;
	size_t i;

	for (i = 0; i < al->n; i++) {
		what_text(&al->v[i], what, sizeof(what));
		t = (time_t)o[i].at;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%H:%M:%S UTC", &tm);
		if (o[i].what == OUT_SENT)
			ctl_diag_add(d, CTL_LVL_OK, "alert", NULL, "%s sent to "
			    "Telegram", what);
		else if (o[i].what == OUT_DUPLICATE)
			ctl_diag_add(d, CTL_LVL_OK, "alert", NULL, "%s already "
			    "sent at %s; not repeated within the hour", what,
			    when);
		else if (o[i].what == OUT_HELD)
			ctl_diag_add(d, CTL_LVL_WARN, "alert", NULL, "%s held "
			    "back: at most %d messages per run; the next run "
			    "sends it", what, CTL_ALERT_SEND_MAX);
		else
			ctl_diag_add(d, CTL_LVL_WARN, "alert", "Check Telegram "
			    "with rvctl notify-test; the 5-minute job sends "
			    "again what failed.", "%s not sent: %s; the next "
			    "rvctl doctor --alert tries again", what,
			    o[i].why);
	}
	if (al->over > 0)
		ctl_diag_add(d, CTL_LVL_WARN, "alert", NULL, "%zu more "
		    "findings than the %d one run keeps; they wait for the "
		    "next runs", al->over, CTL_ALERTS_MAX);
}

/*
 * Send what doctor found (env->alerts) and add the outcomes to <d>;
 * <runs_known> is false when the store did not list its runs.  Returns
 * 0, or CTL_USAGE when Telegram is not configured.
 */
int
ctl_alert_send(struct ctl_env *env, struct ctl_diag *d, bool runs_known)
{
	struct ctl_alerts *al = env->alerts;
	struct outcome_row *o;
	struct tg_sent *sent;

	if (env->cfg.telegram_bot_token[0] == '\0' ||
	    env->cfg.telegram_chat_id[0] == '\0') {
		ctl_diag_add(d, CTL_LVL_WARN, "alert", "Set TELEGRAM_BOT_TOKEN "
		    "and TELEGRAM_CHAT_ID (.env or the environment), then try "
		    "rvctl notify-test.", "Telegram is not configured: "
		    "nothing can be sent (%zu finding%s now)", al->n,
		    al->n == 1 ? "" : "s");
		return CTL_USAGE;
	}
	if (!runs_known)
		ctl_diag_add(d, CTL_LVL_WARN, "alert", NULL, "the store did "
		    "not list its runs: nothing is known about stale workers, "
		    "so no STALE WORKER is sent");
	if (al->n == 0) {
		if (runs_known)
			ctl_diag_add(d, CTL_LVL_OK, "alert", NULL, "nothing to "
			    "alert");
		return 0;
	}
	if ((o = calloc(al->n, sizeof(*o))) == NULL ||
	    (sent = calloc(1, sizeof(*sent))) == NULL) {
		free(o);
		ctl_diag_add(d, CTL_LVL_WARN, "alert", NULL, "nothing sent: "
		    "out of memory");
		return 0;
	}
	if (sort_out(env, d, sent, o) == 0) {
		send_all(env, o);
		record(env, d, sent, o);
		report(env, d, o);
	}
	free(sent);
	free(o);
	return 0;
}
