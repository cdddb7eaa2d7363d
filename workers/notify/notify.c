/* SPDX-License-Identifier: ISC */
/*
 * notify.c: rvw-notify, the child that tells the operator on Telegram.
 *
 * The supervisor hands it "alert" tasks (args: alert, run_id, video_id,
 * detail, at, worker_id, and optionally diff, buttons and gate_nonce, the
 * full nonce of the gate the buttons decide).  The task handler only
 * validates the alert, appends a line to
 * state/logs/alerts.log (always, so an operator without Telegram still
 * sees every alert), applies the duplicate and rate rules, formats the
 * message and queues it, then returns at once: delivery never holds a
 * task.  A "start" task does nothing but let the child begin its Telegram
 * work before the first alert.
 *
 * Everything that talks to Telegram runs from the skeleton's idle hook,
 * every NOTIFY_IDLE_MS, on non-blocking curl multi transfers: the child
 * keeps heartbeating whatever Telegram does.  The queue is sent in order,
 * one message at a time; an alert is removed only when Telegram accepted
 * it.  A 429 is obeyed (parameters.retry_after, for every call), a 5xx, a
 * timeout or no answer backs off (0.5 s doubling to 30 s); a bad token or
 * a blocked bot waits a minute and keeps the alerts; a message refused
 * three times is dropped (it stays in alerts.log).  Gate and panic alerts
 * with "buttons" and a gate_nonce carry Approve / Refetch / Abort /
 * Unlock for that gate; presses are handled by notify_poll.c when
 * RAYVAULT_TELEGRAM_POLL=1.  With RAYVAULT_DASHBOARD_URL set, gates and
 * panics of a run also carry a "View details" URL button to the run's
 * dashboard page; when Telegram refuses that button (400 naming the
 * URL), the message goes again at once without it, and so do the later
 * ones (logged once).  With no TELEGRAM_BOT_TOKEN or
 * TELEGRAM_CHAT_ID the alerts are only logged.
 *
 * The child never talks to the store and never touches the lease: a
 * Telegram outage costs nothing but late alerts.  The bot token is never
 * logged; see common/telegram/telegram.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/curl_dl.h"
#include "common/core/fsutil.h"
#include "common/core/log.h"
#include "common/telegram/telegram.h"
#include "workers/notify/notify.h"
#include "workers/notify/alerts.h"
#include "workers/skeleton/worker.h"

static struct notify nt;

/* One line in state/logs/alerts.log; <what> says what became of it. */
static void
alerts_log(struct notify *n, const char *what, const char *kind,
    const char *video, const char *run, const char *detail)
{
	char line[700], at[CLOCK_ISO_LEN], d[320];
	int fd, len;

	clock_utc_iso(at);
	(void)tg_clean_text(d, sizeof(d), detail ? detail : "", false);
	len = snprintf(line, sizeof(line), "%s %s %s video=%s run=%.8s%s%s\n",
	    at, what, kind, video && *video ? video : "-",
	    run && *run ? run : "-", d[0] ? ": " : "", d);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = (int)sizeof(line) - 1;
	line[len - 1] = '\n';
	if ((fd = open(n->alerts_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) == -1) {
		log_warn("%s", n->alerts_log);
		return;
	}
	if (write(fd, line, (size_t)len) != len)
		log_warn("%s: short write", n->alerts_log);
	(void)close(fd);
}

/* A call of channel <ch> failed: back off, obey retry_after, log once. */
void
notify_chan_failed(struct notify *n, struct notify_chan *ch,
    const struct tg_reply *r, int64_t now)
{
	int64_t wait;

	if (r->retry_after > 0) {
		wait = (int64_t)r->retry_after * 1000;
		if (now + wait > n->quiet_until)
			n->quiet_until = now + wait;
	} else if (r->status == TG_REFUSED)
		wait = NOTIFY_REFUSED_MS;
	else {
		wait = ch->backoff_ms > 0 ? ch->backoff_ms :
		    NOTIFY_BACKOFF_MIN_MS;
		ch->backoff_ms = wait * 2 > NOTIFY_BACKOFF_MAX_MS ?
		    NOTIFY_BACKOFF_MAX_MS : (int)wait * 2;
	}
	ch->next_at = now + wait;
	if (!ch->down)
		log_warnx("Telegram %s failing: %s; next try in %lld ms",
		    ch->name, r->err, (long long)wait);
	else
		log_debug("Telegram %s: %s; next try in %lld ms", ch->name,
		    r->err, (long long)wait);
	ch->down = true;
}

void
notify_chan_ok(struct notify_chan *ch)
{
	if (ch->down)
		log_info("Telegram %s works again", ch->name);
	ch->down = false;
	ch->backoff_ms = 0;
}

static void
send_done(struct notify *n, struct tg_reply *r, int64_t now)
{
	struct notify_item *it = notify_outbox_head(&n->box);
	const cJSON *mid;

	if (it == NULL || it->seq != n->send_seq)
		it = NULL;	/* dropped from a full queue meanwhile */
	if (r->status == TG_OK) {
		notify_chan_ok(&n->send);
		notify_outbox_sent(&n->box, now);
		mid = cJSON_GetObjectItemCaseSensitive(r->result, "message_id");
		if (it == NULL)
			return;
		log_info("alert %s for %s (run %.8s) sent as message %.0f",
		    it->kind, it->video_id[0] ? it->video_id : "-",
		    it->run_id[0] ? it->run_id : "-",
		    cJSON_GetNumberValue(mid));
		alerts_log(n, "sent", it->kind, it->video_id, it->run_id, NULL);
		notify_outbox_pop(&n->box, it->seq);
		return;
	}
	/*
	 * Telegram refuses URL buttons to some hosts (one without a dot,
	 * such as localhost): the alert matters more than the link.
	 */
	if (it != NULL && n->send_link && r->status == TG_REFUSED &&
	    r->error_code == 400 && strcasestr(r->description, "url") != NULL) {
		n->link_off = true;
		log_warnx("Telegram refused the %s button (%s): alerts go "
		    "without it from now on; set RAYVAULT_DASHBOARD_URL to an "
		    "address Telegram accepts (docs/OPERATOR.md)",
		    NOTIFY_LINK_LABEL, r->description);
		alerts_log(n, "unlinked", it->kind, it->video_id, it->run_id,
		    r->description);
		return;
	}
	if (it != NULL && r->status == TG_REFUSED && r->error_code != 401 &&
	    r->error_code != 403 && r->error_code != 404 &&
	    ++it->attempts >= NOTIFY_ATTEMPTS_MAX) {
		log_warnx("alert %s for %s dropped: %s", it->kind,
		    it->video_id[0] ? it->video_id : "-", r->err);
		alerts_log(n, "dropped", it->kind, it->video_id, it->run_id,
		    r->err);
		notify_outbox_pop(&n->box, it->seq);
		n->send.next_at = now + NOTIFY_BACKOFF_MIN_MS;
		return;
	}
	notify_chan_failed(n, &n->send, r, now);
}

bool
notify_link(const struct notify *n, const char *run_id, char *buf,
    size_t size)
{
	return !n->link_off && notify_details_url(buf, size,
	    n->cfg->dashboard_url, run_id) == 0;
}

/*
 * The sendMessage parameters of <it>; *with_link says whether the
 * "View details" button is in them.
 */
static cJSON *
send_params(struct notify *n, const struct notify_item *it, bool *with_link)
{
	cJSON *p = cJSON_CreateObject(), *kb;
	char link[CFG_STR_MAX + ID_UUID_LEN + 8];

	*with_link = it->link && notify_link(n, it->run_id, link,
	    sizeof(link));
	cJSON_AddStringToObject(p, "chat_id", n->cfg->telegram_chat_id);
	cJSON_AddStringToObject(p, "text", it->text);
	if ((it->buttons || *with_link) && (kb = notify_keyboard(it->run_id,
	    it->buttons ? it->gate_nonce : NULL, *with_link ? link : NULL)) !=
	    NULL)
		cJSON_AddItemToObject(p, "reply_markup", kb);
	return p;
}

/* Deliver the queue's head, one message at a time. */
static void
send_step(struct notify *n, int64_t now)
{
	struct notify_chan *ch = &n->send;
	struct notify_item *it;
	struct tg_reply r;
	char err[256];
	cJSON *p;

	if (ch->call != NULL) {
		if (!tg_call_done(ch->call))
			return;
		tg_call_take(ch->call, &r);
		ch->call = NULL;
		send_done(n, &r, now);
		tg_reply_clear(&r);
	}
	if (now < ch->next_at || now < n->quiet_until ||
	    (it = notify_outbox_head(&n->box)) == NULL ||
	    !notify_outbox_may_send(&n->box, now))
		return;
	p = send_params(n, it, &n->send_link);
	ch->call = tg_call_start(n->tg, "sendMessage", p, NOTIFY_CALL_MS, err,
	    sizeof(err));
	cJSON_Delete(p);
	if (ch->call == NULL) {
		log_warnx("%s", err);
		ch->next_at = now + NOTIFY_BACKOFF_MAX_MS;
		return;
	}
	n->send_seq = it->seq;
}

static void
notify_idle(struct wrk_env *env, void *arg)
{
	struct notify *n = arg;

	(void)env;
	if (!n->telegram)
		return;
	(void)tg_client_run(n->tg, 0);
	send_step(n, clock_mono_ms());
	notify_aux_step(n, clock_mono_ms());
	if (n->poll)
		notify_poll_step(n, clock_mono_ms());
	(void)tg_client_run(n->tg, 0);
}

static void
start_admins(struct notify *n)
{
	char bad[48];

	if (notify_ids_parse(n->cfg->telegram_admin_user_ids, n->admins,
	    NOTIFY_ADMINS_MAX, &n->nadmins, bad, sizeof(bad)) == -1)
		log_warnx("TELEGRAM_ADMIN_USER_IDS: \"%s\" is not a user id "
		    "(or more than %d ids); ignored", bad, NOTIFY_ADMINS_MAX);
	if (n->nadmins == 0)
		log_warnx("TELEGRAM_ADMIN_USER_IDS is empty: every button "
		    "press will be refused");
	if (!n->chat_numeric)
		log_warnx("TELEGRAM_CHAT_ID is not a numeric chat id: button "
		    "presses cannot be checked and will be refused");
}

/* Set up on the first task: paths, settings, the client, the idle hook. */
static void
notify_start(struct notify *n, struct wrk_env *env)
{
	const struct rv_config *cfg = worker_config(env);
	char err[256];

	n->env = env;
	n->cfg = cfg;
	n->started = true;
	notify_outbox_init(&n->box);
	n->send.name = "sendMessage";
	n->polling.name = "getUpdates";
	n->aux.name = "answers";
	(void)fs_path(n->alerts_log, sizeof(n->alerts_log),
	    "%s/logs/alerts.log", cfg->state_dir);
	(void)fs_path(n->offset_path, sizeof(n->offset_path),
	    "%s/runtime/telegram_offset", cfg->state_dir);
	if (cfg->telegram_bot_token[0] == '\0' ||
	    cfg->telegram_chat_id[0] == '\0') {
		log_info("TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID not set: "
		    "alerts only go to state/logs/alerts.log");
		return;
	}
	/* libcurl is loaded here, only where Telegram is on (curl_dl.h) */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("cannot initialise libcurl%s%s; alerts only go to "
		    "state/logs/alerts.log", *curl_dl_error() != '\0' ? ": " :
		    "", curl_dl_error());
		return;
	}
	if ((n->tg = tg_client_new(cfg->telegram_api_base,
	    cfg->telegram_bot_token, err, sizeof(err))) == NULL) {
		log_warnx("%s; alerts only go to state/logs/alerts.log", err);
		return;
	}
	n->telegram = true;
	n->chat_numeric = notify_chat_parse(cfg->telegram_chat_id,
	    &n->chat_id);
	n->poll = cfg->telegram_poll;
	if (n->poll) {
		start_admins(n);
		(void)notify_offset_load(n);
	}
	log_info("Telegram alerts on; button presses %s",
	    n->poll ? "polled here" : "not polled on this machine");
	worker_set_idle(env, notify_idle, n, NOTIFY_IDLE_MS);
}

static const char *
admit_name(enum notify_admit v)
{
	switch (v) {
	case NOTIFY_ADMIT:
		return "queued";
	case NOTIFY_DUPLICATE:
		return "duplicate";
	case NOTIFY_RATE_LIMITED:
		return "rate-limited";
	}
	return "?";
}

/* Admit, format and queue one alert.  Returns what became of it. */
static const char *
alert_queue(struct notify *n, const struct tg_alert *a)
{
	enum notify_admit v;
	bool dropped;
	char *text;
	int held;

	if (!n->telegram) {
		alerts_log(n, "logged", a->kind, a->video_id, a->run_id,
		    a->detail);
		return "logged";
	}
	v = notify_outbox_admit(&n->box, a, clock_mono_ms(), &held);
	alerts_log(n, admit_name(v), a->kind, a->video_id, a->run_id,
	    a->detail);
	if (v != NOTIFY_ADMIT) {
		log_info("alert %s for %s not sent again: %s", a->kind,
		    a->video_id[0] ? a->video_id : "-", admit_name(v));
		return admit_name(v);
	}
	if ((text = malloc(TG_TEXT_MAX + 1)) == NULL) {
		log_warnx("alert %s: out of memory", a->kind);
		return "lost";
	}
	(void)tg_alert_format(a, held, text, TG_TEXT_MAX + 1);
	(void)notify_outbox_push(&n->box, text, a, &dropped);
	if (dropped)
		log_warnx("Telegram queue full (%d): the oldest alert was "
		    "dropped (it stays in alerts.log)", NOTIFY_QUEUE_MAX);
	return "queued";
}

static enum wrk_outcome
notify_task(struct wrk_env *env, const char *type, const cJSON *args,
    cJSON **result, char *err, size_t errlen)
{
	struct tg_alert *a;
	const char *what;

	if (!nt.started)
		notify_start(&nt, env);
	if (strcmp(type, "start") == 0) {
		*result = cJSON_CreateObject();
		cJSON_AddBoolToObject(*result, "telegram", nt.telegram);
		return WRK_OK;
	}
	if (strcmp(type, "alert") != 0) {
		(void)snprintf(err, errlen, "notify: unknown task \"%.32s\"",
		    type);
		return WRK_FAIL;
	}
	if ((a = malloc(sizeof(*a))) == NULL) {
		(void)snprintf(err, errlen, "notify: out of memory");
		return WRK_FAIL;
	}
	if (tg_alert_parse(args, a, err, errlen) == -1) {
		free(a);
		return WRK_FAIL;
	}
	if (a->no_gate)
		log_warnx("alert %s for run %.8s asks for buttons but names no "
		    "gate: sent without buttons", a->kind, a->run_id[0] ?
		    a->run_id : "-");
	what = alert_queue(&nt, a);
	free(a);
	*result = cJSON_CreateObject();
	cJSON_AddStringToObject(*result, "alert", what);
	return WRK_OK;
}

int
main(int argc, char **argv)
{
	worker_main(argc, argv, "notify", notify_task);
}
