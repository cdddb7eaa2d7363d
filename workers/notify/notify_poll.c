/* SPDX-License-Identifier: ISC */
/*
 * notify_poll.c: Telegram button presses, for the one machine with
 * RAYVAULT_TELEGRAM_POLL=1.
 *
 * getUpdates is long-polled (NOTIFY_POLL_SEC, allowed_updates
 * ["callback_query"]) on its own non-blocking transfer, so sending alerts
 * and heartbeating go on while it waits.  The offset (the next update_id
 * wanted) lives in state/runtime/telegram_offset and is written
 * atomically BEFORE a press is acted on: a restart, even a kill -9 in the
 * middle of an action, never applies a press twice (at worst a press
 * caught in the crash is lost, and the operator presses again).  Without
 * that file the first poll asks for offset -1, which makes Telegram
 * forget older updates, and ignores what it gets: an old press is never
 * obeyed by a fresh installation either.
 *
 * A press is obeyed only when the user is in TELEGRAM_ADMIN_USER_IDS and
 * the message is in TELEGRAM_CHAT_ID, and its callback data is exactly
 * "rv:[arxu]:<uuid>:<8 hex>" (the run and its gate's nonce prefix).  The
 * action goes to the supervisor with that nonce prefix, and the store's
 * compare-and-set decides (worker_operator_action): a double click is
 * "already applied", a button of a gate that is closed or replaced "no
 * longer possible", and Unlock never forces (on a live lease it is
 * refused, and the answer names rvctl unlock --force).  A button of
 * before gate nonces ("rv:[arxu]:<uuid>") names no gate: it is answered
 * "no longer possible" and nothing is asked of the supervisor.  Other
 * data is answered "malformed".  The answer is shown with
 * answerCallbackQuery; an applied action also edits the message to
 * record the decision and who made it, and removes the decision buttons
 * (the "View details" link stays).  Answers
 * and edits wait in a small queue of their own, retried a few times,
 * then given up.
 *
 * Public: notify_offset_load, notify_poll_step, notify_aux_step.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "common/core/clock.h"
#include "common/core/fsutil.h"
#include "common/core/log.h"
#include "common/telegram/telegram.h"
#include "workers/notify/notify.h"
#include "workers/notify/alerts.h"
#include "workers/skeleton/worker.h"

/* Read the saved offset.  Returns 0; -1 (offset unknown) otherwise. */
int
notify_offset_load(struct notify *n)
{
	char *buf = NULL, *end;
	long long v;

	n->offset_known = false;
	n->offset = 0;
	if (fs_read_file(n->offset_path, 64, &buf, NULL) == -1) {
		if (errno != ENOENT)
			log_warn("%s", n->offset_path);
		return -1;
	}
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') ||
	    v < 0) {
		log_warnx("%s: not an update id; old updates will be skipped",
		    n->offset_path);
		free(buf);
		return -1;
	}
	free(buf);
	n->offset = v;
	n->offset_known = true;
	return 0;
}

static int
offset_save(struct notify *n, long long v)
{
	char buf[32];
	int len;

	len = snprintf(buf, sizeof(buf), "%lld\n", v);
	if (fs_write_atomic(n->offset_path, buf, (size_t)len) == -1) {
		log_warn("%s: cannot save the update offset; presses wait",
		    n->offset_path);
		return -1;
	}
	n->offset = v;
	n->offset_known = true;
	return 0;
}

/* Queue an answer or an edit (takes ownership of <params>). */
static void
aux_push(struct notify *n, const char *method, cJSON *params)
{
	struct notify_aux *x;

	if (n->naux == NOTIFY_AUX_MAX) {
		log_warnx("Telegram answer queue full; %s not sent", method);
		cJSON_Delete(params);
		return;
	}
	x = &n->auxq[(n->aux_head + n->naux) % NOTIFY_AUX_MAX];
	strlcpy(x->method, method, sizeof(x->method));
	x->params = params;
	x->attempts = 0;
	n->naux++;
}

static void
aux_pop(struct notify *n)
{
	cJSON_Delete(n->auxq[n->aux_head].params);
	n->auxq[n->aux_head].params = NULL;
	n->aux_head = (n->aux_head + 1) % NOTIFY_AUX_MAX;
	n->naux--;
}

static void
aux_done(struct notify *n, const struct tg_reply *r, int64_t now)
{
	struct notify_aux *x = &n->auxq[n->aux_head];

	if (n->naux == 0)
		return;
	if (r->status == TG_OK) {
		notify_chan_ok(&n->aux);
		aux_pop(n);
		return;
	}
	if (r->status == TG_REFUSED || ++x->attempts >= NOTIFY_ATTEMPTS_MAX) {
		log_warnx("Telegram %s given up: %s", x->method, r->err);
		aux_pop(n);
		n->aux.next_at = now;
		return;
	}
	notify_chan_failed(n, &n->aux, r, now);
}

/* Send the answers and edits, in order. */
void
notify_aux_step(struct notify *n, int64_t now)
{
	struct notify_chan *ch = &n->aux;
	struct tg_reply r;
	char err[256];

	if (ch->call != NULL) {
		if (!tg_call_done(ch->call))
			return;
		tg_call_take(ch->call, &r);
		ch->call = NULL;
		aux_done(n, &r, now);
		tg_reply_clear(&r);
	}
	if (n->naux == 0 || now < ch->next_at || now < n->quiet_until)
		return;
	ch->call = tg_call_start(n->tg, n->auxq[n->aux_head].method,
	    n->auxq[n->aux_head].params, NOTIFY_CALL_MS, err, sizeof(err));
	if (ch->call == NULL) {
		log_warnx("%s", err);
		aux_pop(n);
	}
}

static void
answer(struct notify *n, const struct notify_press *p, const char *text)
{
	cJSON *a = cJSON_CreateObject();

	cJSON_AddStringToObject(a, "callback_query_id", p->query_id);
	cJSON_AddStringToObject(a, "text", text);
	aux_push(n, "answerCallbackQuery", a);
}

/*
 * Record the decision in the alert's message and remove its decision
 * buttons; the "View details" link of run <run_id> stays when alerts
 * carry it (RAYVAULT_DASHBOARD_URL set, not refused by Telegram), so the
 * operator can still open the run after deciding.
 */
static void
edit_decision(struct notify *n, const struct notify_press *p,
    const char *run_id, const char *action, const char *who)
{
	char link[CFG_STR_MAX + ID_UUID_LEN + 8];
	char *text;
	cJSON *e, *kb;

	if (p->message_id <= 0 || (text = malloc(TG_TEXT_MAX + 1)) == NULL)
		return;
	(void)notify_decision_text(text, TG_TEXT_MAX + 1, p->text, action,
	    who, "applied", (double)time(NULL));
	e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "chat_id", (double)p->chat_id);
	cJSON_AddNumberToObject(e, "message_id", (double)p->message_id);
	cJSON_AddStringToObject(e, "text", text);
	free(text);
	if (notify_link(n, run_id, link, sizeof(link)) &&
	    (kb = notify_keyboard(run_id, NULL, link)) != NULL)
		cJSON_AddItemToObject(e, "reply_markup", kb);
	aux_push(n, "editMessageText", e);
}

/* An authorised press with valid data: ask the supervisor to act. */
static void
obey(struct notify *n, const struct notify_press *p,
    const struct notify_cb *cb)
{
	const char *action = notify_cb_action_name(cb->action), *words;
	char opname[64], who[80], reason[160], result[32], msg[256];

	notify_press_who(p, opname, sizeof(opname), who, sizeof(who));
	(void)snprintf(reason, sizeof(reason), "Telegram unlock by %s", who);
	if (worker_operator_action(n->env, cb->run_id, action, opname,
	    cb->action == 'u' ? reason : "", cb->nonce, result,
	    sizeof(result), msg, sizeof(msg)) == -1) {
		log_warnx("Telegram %s of run %s gate %s by %s: the supervisor "
		    "did not answer", action, cb->run_id, cb->nonce, who);
		answer(n, p, "not applied: try again");
		return;
	}
	words = notify_answer_text(action, result, msg);
	log_info("Telegram %s of run %s gate %s by %s: %s%s%s", action,
	    cb->run_id, cb->nonce, who, result, msg[0] ? "; " : "", msg);
	answer(n, p, words);
	if (strcmp(result, "applied") == 0)
		edit_decision(n, p, cb->run_id, action, who);
}

static void
handle_press(struct notify *n, const struct notify_press *p)
{
	struct notify_cb cb;

	switch (notify_press_check(p, n->admins, n->nadmins, n->chat_numeric,
	    n->chat_id, &cb)) {
	case PRESS_IGNORE:
		return;
	case PRESS_NOT_AUTHORISED:
		log_warnx("button press from Telegram user %lld in chat %lld "
		    "refused: not authorised", p->from_id, p->has_chat ?
		    p->chat_id : 0LL);
		answer(n, p, "not authorised");
		return;
	case PRESS_MALFORMED:
		log_warnx("button press from Telegram user %lld refused: "
		    "malformed callback data", p->from_id);
		answer(n, p, "malformed");
		return;
	case PRESS_LEGACY:
		log_info("Telegram %s of run %s by user %lld: an old button "
		    "that names no gate; no longer possible",
		    notify_cb_action_name(cb.action), cb.run_id, p->from_id);
		answer(n, p, "no longer possible");
		return;
	case PRESS_OK:
		obey(n, p, &cb);
		return;
	}
}

/* The first poll without a saved offset: forget what was there. */
static void
discard_old(struct notify *n, const cJSON *updates)
{
	struct notify_press p;
	long long next = 0;
	const cJSON *u;
	int count = 0;

	cJSON_ArrayForEach(u, updates)
		if (notify_press_parse(u, &p) == 0) {
			count++;
			if (p.update_id + 1 > next)
				next = p.update_id + 1;
		}
	if (offset_save(n, next) == 0 && count > 0)
		log_info("skipped %d Telegram update(s) from before this "
		    "notifier kept an offset", count);
}

static void
handle_updates(struct notify *n, const cJSON *updates)
{
	struct notify_press p;
	const cJSON *u;

	if (!n->offset_known) {
		discard_old(n, updates);
		return;
	}
	cJSON_ArrayForEach(u, updates) {
		if (notify_press_parse(u, &p) == -1) {
			log_warnx("Telegram update without a valid update_id "
			    "ignored");
			continue;
		}
		if (p.update_id < n->offset)
			continue;
		if (offset_save(n, p.update_id + 1) == -1) {
			n->polling.next_at = clock_mono_ms() +
			    NOTIFY_BACKOFF_MAX_MS;
			return;
		}
		handle_press(n, &p);
		if (progress_step(worker_progress(n->env)) == -1)
			return;		/* STOP: the rest comes again */
	}
}

static void
poll_start(struct notify *n, int64_t now)
{
	struct notify_chan *ch = &n->polling;
	cJSON *p = cJSON_CreateObject(), *au;
	char err[256];
	int wait = n->offset_known ? NOTIFY_POLL_SEC : 0;

	cJSON_AddNumberToObject(p, "offset", n->offset_known ?
	    (double)n->offset : -1.0);
	cJSON_AddNumberToObject(p, "timeout", wait);
	cJSON_AddNumberToObject(p, "limit", NOTIFY_POLL_LIMIT);
	au = cJSON_AddArrayToObject(p, "allowed_updates");
	cJSON_AddItemToArray(au, cJSON_CreateString("callback_query"));
	ch->call = tg_call_start(n->tg, "getUpdates", p, (long)wait * 1000 +
	    NOTIFY_CALL_MS, err, sizeof(err));
	ch->started_at = now;
	cJSON_Delete(p);
	if (ch->call == NULL) {
		log_warnx("%s", err);
		ch->next_at = now + NOTIFY_BACKOFF_MAX_MS;
	}
}

/* Long-poll getUpdates and act on the presses. */
void
notify_poll_step(struct notify *n, int64_t now)
{
	struct notify_chan *ch = &n->polling;
	struct tg_reply r;

	if (ch->call != NULL) {
		if (!tg_call_done(ch->call))
			return;
		tg_call_take(ch->call, &r);
		ch->call = NULL;
		if (r.status == TG_OK && cJSON_IsArray(r.result)) {
			notify_chan_ok(ch);
			if (cJSON_GetArraySize(r.result) == 0 && now -
			    ch->started_at < NOTIFY_POLL_GAP_MS)
				ch->next_at = ch->started_at +
				    NOTIFY_POLL_GAP_MS;
			handle_updates(n, r.result);
		} else {
			if (r.status == TG_OK)
				strlcpy(r.err, "getUpdates: result is not a "
				    "list", sizeof(r.err));
			notify_chan_failed(n, ch, &r, now);
		}
		tg_reply_clear(&r);
		return;
	}
	if (now < ch->next_at || now < n->quiet_until)
		return;
	poll_start(n, now);
}
