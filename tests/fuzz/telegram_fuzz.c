/* SPDX-License-Identifier: ISC */
/*
 * telegram_fuzz.c: libFuzzer target for what the notify child reads from
 * Telegram: a Bot API answer (common/telegram/telegram.c) and, in a
 * getUpdates answer, each update, button press and its callback data
 * (workers/notify/notify_press.c), checked, named and described as
 * workers/notify/notify_poll.c does.  The first input byte picks the
 * HTTP status; the rest is the answer body.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <cJSON.h>

#include "common/telegram/telegram.h"
#include "workers/notify/alerts.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = { 200, 400, 401, 403, 409, 429, 500, 502 };

static void
one_update(const cJSON *u)
{
	static const long long admins[] = { 42, 7 };
	struct notify_press p;
	struct notify_cb cb;
	char name[128], who[160], *text;

	if (notify_press_parse(u, &p) == -1)
		return;
	(void)notify_cb_parse(p.data, &cb);
	switch (notify_press_check(&p, admins, 2, true, -100123, &cb)) {
	case PRESS_OK:
	case PRESS_LEGACY:
		(void)notify_cb_action_name(cb.action);
		notify_press_who(&p, name, sizeof(name), who, sizeof(who));
		if ((text = malloc(TG_TEXT_MAX + 1)) == NULL)
			abort();
		(void)notify_decision_text(text, TG_TEXT_MAX + 1, p.text,
		    "approve", who, "applied", 1.7e9);
		free(text);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_reply r;
	const cJSON *u;

	if (size == 0)
		return 0;
	if (tg_reply_parse("getUpdates", statuses[data[0] % 8],
	    (const char *)data + 1, size - 1, &r) == TG_OK &&
	    cJSON_IsArray(r.result))
		cJSON_ArrayForEach(u, r.result)
			one_update(u);
	tg_reply_clear(&r);
	return 0;
}
