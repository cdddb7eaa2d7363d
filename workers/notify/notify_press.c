/* SPDX-License-Identifier: ISC */
/*
 * notify_press.c: the inline buttons of an alert and the presses that
 * come back.
 *
 * A gate alert (a gate_opened or a panic waiting for the operator) carries
 * four buttons whose callback_data is
 * "rv:<a|r|x|u>:<run uuid>:<first 8 hex digits of the gate nonce>"
 * (approve, refetch, abort, unlock; 50 bytes, under Telegram's 64), so
 * every press names the gate it decides and the store can answer "no
 * longer possible" for a gate that was closed or replaced.  A press
 * arrives as a getUpdates update with a callback_query;
 * notify_press_parse() takes the fields RayVault needs, checking every
 * type and range, and notify_press_check() decides: not a press (ignore),
 * not authorised (the user is not in TELEGRAM_ADMIN_USER_IDS or the
 * message is not in TELEGRAM_CHAT_ID), malformed (anything but the exact
 * data format), legacy (the exact 3-part data of the buttons sent before
 * gate nonces, "rv:<a|r|x|u>:<run uuid>": it names no gate, so it is
 * answered "no longer possible" and never acted on), or ok.
 * Authorisation is checked first so a stranger learns nothing about the
 * data format.  notify_answer_text() words the store's verdict for the
 * chat.  With RAYVAULT_DASHBOARD_URL set, gates and panics also get a
 * last row with one URL button, "View details", opening the run's
 * dashboard page (notify_details_url); a URL button sends nothing back.
 * Nothing here talks to Telegram or the supervisor, and nothing logs.
 *
 * Public: notify_cb_format, notify_cb_parse, notify_cb_action_name,
 * notify_details_url, notify_keyboard, notify_ids_parse, notify_chat_parse,
 * notify_press_parse, notify_press_check, notify_press_who, notify_answer_text,
 * notify_decision_text.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "workers/notify/alerts.h"

#define CB_LEGACY_LEN	(3 + 1 + 1 + ID_UUID_LEN)	/* rv:a:<uuid> */
#define CB_LEN		(CB_LEGACY_LEN + 1 + TG_ALERT_NONCE_LEN)	/* :<hex8> */
#define JSON_INT_MAX	9007199254740991.0		/* 2^53 - 1 */

static const struct {
	char		 code;
	const char	*name;
	const char	*label;
} actions[] = {
	{ 'a', "approve", "Approve" },
	{ 'r', "refetch", "Refetch" },
	{ 'x', "abort", "Abort" },
	{ 'u', "unlock", "Unlock" },
};
#define NACTIONS	(sizeof(actions) / sizeof(actions[0]))

const char *
notify_cb_action_name(char action)
{
	size_t i;

	for (i = 0; i < NACTIONS; i++)
		if (actions[i].code == action)
			return actions[i].name;
	return NULL;
}

static bool
hex8_ok(const char *s)
{
	size_t i;

	for (i = 0; i < TG_ALERT_NONCE_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return false;
	return true;
}

/*
 * "rv:<action>:<run_id>:<nonce8>" into <buf>; <gate_nonce> is the gate's
 * full UUID (or already its first 8 hex digits), written in lower case.
 * Returns 0, -1 when an argument is invalid or <buf> too small.
 */
int
notify_cb_format(char *buf, size_t size, char action, const char *run_id,
    const char *gate_nonce)
{
	char n8[TG_ALERT_NONCE_LEN + 1];
	size_t i;
	int n;

	if (notify_cb_action_name(action) == NULL || !id_uuid_valid(run_id) ||
	    gate_nonce == NULL || (!id_uuid_valid(gate_nonce) &&
	    strlen(gate_nonce) != TG_ALERT_NONCE_LEN))
		return -1;
	for (i = 0; i < TG_ALERT_NONCE_LEN; i++)
		n8[i] = (char)tolower((unsigned char)gate_nonce[i]);
	n8[TG_ALERT_NONCE_LEN] = '\0';
	if (!hex8_ok(n8))
		return -1;
	n = snprintf(buf, size, "rv:%c:%s:%s", action, run_id, n8);
	return n < 0 || (size_t)n >= size || n > TG_CALLBACK_MAX ? -1 : 0;
}

/*
 * Parse callback data strictly: exactly "rv:", one of a r x u, ":", a
 * UUID, ":" and 8 lower-case hex digits.  Returns 0 with <cb> filled; 1
 * for the exact legacy data "rv:<a|r|x|u>:<uuid>" (<cb> filled, its nonce
 * ""); -1 for anything else.
 */
int
notify_cb_parse(const char *data, struct notify_cb *cb)
{
	char run[ID_UUID_LEN + 1];
	size_t len;

	memset(cb, 0, sizeof(*cb));
	if (data == NULL || ((len = strlen(data)) != CB_LEN &&
	    len != CB_LEGACY_LEN) || strncmp(data, "rv:", 3) != 0 ||
	    data[4] != ':' || notify_cb_action_name(data[3]) == NULL)
		return -1;
	memcpy(run, data + 5, ID_UUID_LEN);
	run[ID_UUID_LEN] = '\0';
	if (!id_uuid_valid(run))
		return -1;
	if (len == CB_LEN && (data[CB_LEGACY_LEN] != ':' ||
	    !hex8_ok(data + CB_LEGACY_LEN + 1)))
		return -1;
	cb->action = data[3];
	strlcpy(cb->run_id, run, sizeof(cb->run_id));
	if (len == CB_LEGACY_LEN)
		return 1;
	memcpy(cb->nonce, data + CB_LEGACY_LEN + 1, TG_ALERT_NONCE_LEN);
	cb->nonce[TG_ALERT_NONCE_LEN] = '\0';
	return 0;
}

/*
 * The dashboard page of run <run_id> under <base> (RAYVAULT_DASHBOARD_URL,
 * trailing slashes dropped) into <buf>.  Returns 0, or -1 when <base> is
 * empty, <run_id> is not a UUID or <buf> is too small.
 */
int
notify_details_url(char *buf, size_t size, const char *base,
    const char *run_id)
{
	size_t n;
	int len;

	if (base == NULL || run_id == NULL || !id_uuid_valid(run_id))
		return -1;
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (n == 0 || n > INT_MAX)
		return -1;
	len = snprintf(buf, size, "%.*s/runs/%s", (int)n, base, run_id);
	return len < 0 || (size_t)len >= size ? -1 : 0;
}

/*
 * The reply_markup of an alert: the gate's four buttons (two rows) when
 * <gate_nonce> is not NULL, then a row with the "View details" URL
 * button when <link> is not NULL.  NULL when a part asked for is not
 * usable (<run_id> or <gate_nonce> malformed, <link> empty) or when
 * nothing is asked for.
 */
cJSON *
notify_keyboard(const char *run_id, const char *gate_nonce, const char *link)
{
	cJSON *kb, *rows, *row = NULL, *b;
	char data[TG_CALLBACK_MAX + 1];
	size_t i;

	if ((gate_nonce == NULL && link == NULL) || (link != NULL &&
	    link[0] == '\0'))
		return NULL;
	kb = cJSON_CreateObject();
	rows = cJSON_AddArrayToObject(kb, "inline_keyboard");
	for (i = 0; gate_nonce != NULL && i < NACTIONS; i++) {
		if (notify_cb_format(data, sizeof(data), actions[i].code,
		    run_id, gate_nonce) == -1) {
			cJSON_Delete(kb);
			return NULL;
		}
		if (i % 2 == 0) {
			row = cJSON_CreateArray();
			cJSON_AddItemToArray(rows, row);
		}
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "text", actions[i].label);
		cJSON_AddStringToObject(b, "callback_data", data);
		cJSON_AddItemToArray(row, b);
	}
	if (link != NULL) {
		row = cJSON_CreateArray();
		cJSON_AddItemToArray(rows, row);
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "text", NOTIFY_LINK_LABEL);
		cJSON_AddStringToObject(b, "url", link);
		cJSON_AddItemToArray(row, b);
	}
	return kb;
}

static bool
parse_ll(const char *s, size_t n, long long *out)
{
	char tmp[24], *end;
	long long v;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno != 0 || *end != '\0' || (tmp[0] != '-' &&
	    !isdigit((unsigned char)tmp[0])) || v > (long long)JSON_INT_MAX ||
	    v < -(long long)JSON_INT_MAX)
		return false;
	*out = v;
	return true;
}

/*
 * Parse a list of user ids separated by commas, semicolons or blanks into
 * <ids> (at most <max>).  Returns 0, or -1 when an entry is not a
 * positive integer or there are too many (the valid ones are kept; <bad>
 * names the first offender).
 */
int
notify_ids_parse(const char *list, long long *ids, size_t max, size_t *n,
    char *bad, size_t badlen)
{
	const char *p = list, *sep = ",; \t";
	size_t len;
	long long v;
	int rc = 0;

	*n = 0;
	if (badlen > 0)
		bad[0] = '\0';
	while (p != NULL && *p != '\0') {
		p += strspn(p, sep);
		if ((len = strcspn(p, sep)) == 0)
			break;
		if (!parse_ll(p, len, &v) || v <= 0 || *n >= max) {
			if (rc == 0)
				(void)snprintf(bad, badlen, "%.*s",
				    (int)(len > 40 ? 40 : len), p);
			rc = -1;
		} else
			ids[(*n)++] = v;
		p += len;
	}
	return rc;
}

/* A numeric chat id ("-100123", "42"); "@channel" names are not. */
bool
notify_chat_parse(const char *s, long long *id)
{
	return s != NULL && parse_ll(s, strlen(s), id);
}

static bool
get_int(const cJSON *obj, const char *key, long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || fabs(v->valuedouble) > JSON_INT_MAX ||
	    v->valuedouble != floor(v->valuedouble))
		return false;
	*out = (long long)v->valuedouble;
	return true;
}

static void
get_str(const cJSON *obj, const char *key, char *buf, size_t size)
{
	const char *s = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(obj, key));

	buf[0] = '\0';
	if (s != NULL && strlen(s) < size)
		strlcpy(buf, s, size);
}

static bool
username_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return i > 0 && i <= 32;
}

/*
 * Take what matters from one getUpdates update (borrowed; p->text points
 * into it).  Returns -1 when the update has no usable update_id.
 */
int
notify_press_parse(const cJSON *update, struct notify_press *p)
{
	const cJSON *cq, *from, *msg, *chat;

	memset(p, 0, sizeof(*p));
	if (!cJSON_IsObject(update) || !get_int(update, "update_id",
	    &p->update_id) || p->update_id < 0)
		return -1;
	cq = cJSON_GetObjectItemCaseSensitive(update, "callback_query");
	if (!cJSON_IsObject(cq))
		return 0;
	p->is_callback = true;
	get_str(cq, "id", p->query_id, sizeof(p->query_id));
	get_str(cq, "data", p->data, sizeof(p->data));
	from = cJSON_GetObjectItemCaseSensitive(cq, "from");
	if (!get_int(from, "id", &p->from_id))
		p->from_id = 0;
	get_str(from, "username", p->username, sizeof(p->username));
	if (!username_ok(p->username))
		p->username[0] = '\0';
	msg = cJSON_GetObjectItemCaseSensitive(cq, "message");
	chat = cJSON_GetObjectItemCaseSensitive(msg, "chat");
	p->has_chat = get_int(chat, "id", &p->chat_id);
	if (!get_int(msg, "message_id", &p->message_id) || p->message_id <= 0)
		p->message_id = 0;
	p->text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg,
	    "text"));
	return 0;
}

enum notify_press_verdict
notify_press_check(const struct notify_press *p, const long long *admins,
    size_t nadmins, bool chat_known, long long chat_id, struct notify_cb *cb)
{
	bool admin = false;
	size_t i;

	memset(cb, 0, sizeof(*cb));
	if (!p->is_callback || p->query_id[0] == '\0')
		return PRESS_IGNORE;
	for (i = 0; i < nadmins; i++)
		if (p->from_id > 0 && admins[i] == p->from_id)
			admin = true;
	if (!admin || !chat_known || !p->has_chat || p->chat_id != chat_id)
		return PRESS_NOT_AUTHORISED;
	switch (notify_cb_parse(p->data, cb)) {
	case 0:
		return PRESS_OK;
	case 1:
		return PRESS_LEGACY;
	default:
		return PRESS_MALFORMED;
	}
}

/*
 * The operator name recorded in the store ("telegram:@name" or
 * "telegram:<id>") and the words shown in the chat ("@name (id N)").
 */
void
notify_press_who(const struct notify_press *p, char *operator_name,
    size_t osize, char *who, size_t wsize)
{
	if (p->username[0] != '\0') {
		(void)snprintf(operator_name, osize, "telegram:@%s",
		    p->username);
		(void)snprintf(who, wsize, "@%s (id %lld)", p->username,
		    p->from_id);
	} else {
		(void)snprintf(operator_name, osize, "telegram:%lld",
		    p->from_id);
		(void)snprintf(who, wsize, "user id %lld", p->from_id);
	}
}

#define ANSWER_UNLOCK_LIVE	"Unlock refused: the lease is live (a " \
				"worker holds it). Telegram never forces; " \
				"if that worker is gone, use rvctl unlock " \
				"--force."

/*
 * The words answered in the chat (at most 200 characters) for what the
 * supervisor said of <action>: <result> is "applied", "already_applied"
 * or "not_possible", <msg> the store's sentence.  A refused unlock says
 * the lease is live and names rvctl unlock --force; any other refusal
 * (the gate is closed or replaced, the run is over) is "no longer
 * possible".  Returns a static string.
 */
const char *
notify_answer_text(const char *action, const char *result, const char *msg)
{
	if (strcmp(result, "applied") == 0)
		return "applied";
	if (strcmp(result, "already_applied") == 0)
		return "already applied";
	if (strcmp(result, "not_possible") != 0)
		return "not applied: try again";
	if (strcmp(action, "unlock") == 0 && (msg == NULL ||
	    strstr(msg, "no longer possible") == NULL))
		return ANSWER_UNLOCK_LIVE;
	return "no longer possible";
}

/*
 * The edited text of an alert once a button was obeyed: the original
 * text (cut to fit) and a line recording the decision, who made it, when,
 * and what the store said.  Returns the length.
 */
size_t
notify_decision_text(char *buf, size_t size, const char *orig,
    const char *action_name, const char *who, const char *outcome,
    double epoch)
{
	char line[400], utc[48], brt[64], up[16];
	size_t n, room, i;

	if (size == 0)
		return 0;
	for (i = 0; action_name[i] != '\0' && i + 1 < sizeof(up); i++)
		up[i] = (char)toupper((unsigned char)action_name[i]);
	up[i] = '\0';
	tg_alert_times(epoch, utc, sizeof(utc), brt, sizeof(brt));
	(void)snprintf(line, sizeof(line), "\n\nDecision: %s by %s at %s / "
	    "%s: %s.", up, who, utc, brt, outcome);
	if (size > TG_TEXT_MAX + 1)
		size = TG_TEXT_MAX + 1;
	room = strlen(line) + 1 < size ? size - strlen(line) - 1 : 0;
	n = tg_clean_text(buf, room + 1 > size ? size : room + 1,
	    orig != NULL && *orig != '\0' ? orig : "RayVault alert", true);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	n += strlcpy(buf + n, line, size - n);
	return n < size ? n : size - 1;
}
