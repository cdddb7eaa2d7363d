/* SPDX-License-Identifier: ISC */
/*
 * ctl_notify.c: rvctl notify-test, one test message to the alert chat.
 *
 *	rvctl notify-test [--text TEXT] [--json]
 *
 * It sends one plain-text message to TELEGRAM_CHAT_ID through the same
 * Bot API client rvw-notify uses, and prints what Telegram answered: the
 * HTTP status, ok or the error with its description (and retry_after on
 * a 429), and the answer itself.  Every line printed goes through the
 * settings' redaction, so the bot token (part of every Bot API URL) never
 * shows.  It does not need rvsup and never touches the store.  Exit 0
 * when Telegram accepted the message, 1 when it refused it (bad token,
 * unknown chat, ...), 64 when the settings are missing, 69 when Telegram
 * could not be reached or answered 5xx or 429.
 *
 * Public: ctl_notify_test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "common/core/curl_dl.h"
#include "common/telegram/telegram.h"
#include "ctl/ctl.h"

#define NOTIFY_TEST_MS	15000

static void
test_text(const struct ctl_env *env, char *buf, size_t size)
{
	time_t t = time(NULL), b = t - 3 * 3600;
	char utc[32], brt[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(utc, sizeof(utc), "%Y-%m-%d %H:%M:%S", &tm);
	gmtime_r(&b, &tm);
	strftime(brt, sizeof(brt), "%Y-%m-%d %H:%M:%S", &tm);
	(void)snprintf(buf, size, "RayVault test message from worker %s.\n"
	    "Time: %s UTC / %s Bras\xc3\xadlia (UTC-3)\n"
	    "If you can read this, alerts reach this chat.",
	    env->cfg.worker_id, utc, brt);
}

/* Print <s> with every secret masked. */
static void
put_redacted(const struct ctl_env *env, FILE *fp, const char *s)
{
	size_t n = strlen(s) * 2 + 16;
	char *buf, *tmp;

	if ((buf = malloc(n)) == NULL || (tmp = malloc(n)) == NULL) {
		free(buf);
		fputs("(out of memory)\n", fp);
		return;
	}
	(void)config_redact(&env->cfg, s, tmp, n);
	fputs(tg_redact(tmp, env->cfg.telegram_bot_token, buf, n), fp);
	free(tmp);
	free(buf);
}

static cJSON *
report_json(const struct ctl_env *env, const struct tg_reply *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "method", "sendMessage");
	cJSON_AddStringToObject(o, "api_base", env->cfg.telegram_api_base);
	cJSON_AddStringToObject(o, "chat_id", env->cfg.telegram_chat_id);
	cJSON_AddBoolToObject(o, "ok", r->status == TG_OK);
	cJSON_AddNumberToObject(o, "http_status", (double)r->http_status);
	if (r->status != TG_OK) {
		cJSON_AddStringToObject(o, "error", r->err);
		cJSON_AddNumberToObject(o, "error_code",
		    (double)r->error_code);
		cJSON_AddStringToObject(o, "description", r->description);
		if (r->retry_after > 0)
			cJSON_AddNumberToObject(o, "retry_after",
			    (double)r->retry_after);
	}
	cJSON_AddItemToObject(o, "answer", r->answer != NULL ?
	    cJSON_Duplicate(r->answer, true) : cJSON_CreateNull());
	return o;
}

static void
report_text(const struct ctl_env *env, const struct tg_reply *r, FILE *fp)
{
	const cJSON *mid = cJSON_GetObjectItemCaseSensitive(r->result,
	    "message_id");
	char line[600];

	if (r->status == TG_OK)
		(void)snprintf(line, sizeof(line), "sendMessage to chat %s: "
		    "HTTP %ld, ok, message_id %.0f\n",
		    env->cfg.telegram_chat_id, r->http_status,
		    cJSON_GetNumberValue(mid));
	else
		(void)snprintf(line, sizeof(line), "%s (HTTP %ld)%s\n",
		    r->err, r->http_status, r->status == TG_RETRY ?
		    "; Telegram unreachable or busy, try again later" : "");
	put_redacted(env, fp, line);
	if (r->status == TG_RETRY && r->retry_after > 0)
		fprintf(fp, "retry_after: %ld s\n", r->retry_after);
}

static int
send_test(struct ctl_env *env, const char *text)
{
	struct tg_client *c;
	struct tg_reply r;
	char err[256], *s;
	cJSON *p, *o;
	int rc;

	if ((c = tg_client_new(env->cfg.telegram_api_base,
	    env->cfg.telegram_bot_token, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rvctl notify-test: %s\n", err);
		return CTL_USAGE;
	}
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "chat_id", env->cfg.telegram_chat_id);
	cJSON_AddStringToObject(p, "text", text);
	(void)tg_request(c, "sendMessage", p, NOTIFY_TEST_MS, NULL, &r);
	cJSON_Delete(p);
	tg_client_free(c);
	o = report_json(env, &r);
	if (env->json) {
		if ((s = cJSON_Print(o)) != NULL) {
			put_redacted(env, stdout, s);
			putchar('\n');
			free(s);
		}
	} else {
		report_text(env, &r, stdout);
		if (r.answer != NULL && (s = cJSON_Print(r.answer)) != NULL) {
			fputs("Telegram answered:\n", stdout);
			put_redacted(env, stdout, s);
			putchar('\n');
			free(s);
		}
	}
	cJSON_Delete(o);
	rc = r.status == TG_OK ? CTL_OK : r.status == TG_REFUSED ? CTL_WARN :
	    CTL_UNAVAIL;
	tg_reply_clear(&r);
	return rc;
}

int
ctl_notify_test(struct ctl_env *env, int argc, char **argv)
{
	const char *text = NULL;
	const struct ctl_opt opts[] = {
		{ "--text", CTL_OPT_STR, &text, 0, 0 },
		{ NULL, CTL_OPT_FLAG, NULL, 0, 0 }
	};
	char buf[512];
	int rc;

	if (ctl_opts_parse("notify-test", opts, argc, argv) == -1)
		return ctl_usage(ctl_lookup("notify-test"));
	if (!env->cfg_ok) {
		fprintf(stderr, "rvctl: invalid settings:\n%s", env->cfg_err);
		return CTL_USAGE;
	}
	if (env->cfg.telegram_bot_token[0] == '\0' ||
	    env->cfg.telegram_chat_id[0] == '\0') {
		fprintf(stderr, "rvctl notify-test: TELEGRAM_BOT_TOKEN and "
		    "TELEGRAM_CHAT_ID must be set (.env or environment)\n");
		return CTL_USAGE;
	}
	if (text != NULL && (text[0] == '\0' || strlen(text) > TG_TEXT_MAX)) {
		fprintf(stderr, "rvctl notify-test: --text must have 1 to %d "
		    "bytes\n", TG_TEXT_MAX);
		return CTL_USAGE;
	}
	if (text == NULL) {
		test_text(env, buf, sizeof(buf));
		text = buf;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "rvctl notify-test: cannot initialise libcurl"
		    "%s%s\n", *curl_dl_error() != '\0' ? ": " : "",
		    curl_dl_error());
		return CTL_SOFTWARE;
	}
	rc = send_test(env, text);
	curl_global_cleanup();
	return rc;
}
