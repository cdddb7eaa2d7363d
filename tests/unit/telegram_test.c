/* SPDX-License-Identifier: ISC */
/*
 * telegram_test.c: the Bot API client's answer parsing and redaction,
 * and rvw-notify's alert text, callback data (with the gate nonce, and
 * the legacy data of before it), press checks, answers, and the
 * duplicate, rate and queue tables.
 *
 * Tables of cases; no network except one connection refused on the
 * loopback (to prove that a transport error names the method, never the
 * token).  The delivery itself is covered by the telegram_* integration
 * tests against tests/lib/telegram_fixture.py.  Prints "FAIL <case>:
 * <detail>" per failure and "N passed, M failed".
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "common/telegram/telegram.h"
#include "workers/notify/alerts.h"
#include "tests/unit/test.h"

#define RUN	"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define NONCE	"5e6f7a8b-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
#define N8	"5e6f7a8b"
#define TOKEN	"123456789:AAE-secret_TOKEN-value"

static bool
utf8_valid(const char *s)
{
	char buf[8192];

	return tg_clean_text(buf, sizeof(buf), s, true) == strlen(s) &&
	    strcmp(buf, s) == 0;
}

static void
test_reply_parse(void)
{
	static const struct {
		const char	*name;
		long		 http;
		const char	*body;
		enum tg_status	 want;
		long		 code, retry;
	} cases[] = {
		{ "ok", 200, "{\"ok\":true,\"result\":{\"message_id\":7}}",
		    TG_OK, 0, 0 },
		{ "ok-true-result", 200, "{\"ok\":true,\"result\":true}", TG_OK,
		    0, 0 },
		{ "ok-no-result", 200, "{\"ok\":true}", TG_REFUSED, 0, 0 },
		{ "bad-request", 400, "{\"ok\":false,\"error_code\":400,"
		    "\"description\":\"Bad Request: chat not found\"}",
		    TG_REFUSED, 400, 0 },
		{ "unauthorized", 401, "{\"ok\":false,\"error_code\":401,"
		    "\"description\":\"Unauthorized\"}", TG_REFUSED, 401, 0 },
		{ "429", 429, "{\"ok\":false,\"error_code\":429,"
		    "\"description\":\"Too Many Requests: retry after 5\",\"parameters\":"
		    "{\"retry_after\":5}}", TG_RETRY, 429, 5 },
		{ "429-no-param", 429, "{\"ok\":false,\"error_code\":429}",
		    TG_RETRY, 429, 1 },
		{ "429-huge", 429, "{\"ok\":false,\"error_code\":429,"
		    "\"parameters\":{\"retry_after\":1e12}}", TG_RETRY, 429,
		    TG_RETRY_AFTER_MAX },
		{ "429-negative", 429, "{\"ok\":false,\"error_code\":429,"
		    "\"parameters\":{\"retry_after\":-4}}", TG_RETRY, 429, 1 },
		{ "409", 409, "{\"ok\":false,\"error_code\":409,"
		    "\"description\":\"Conflict\"}", TG_RETRY, 409, 0 },
		{ "500-json", 500, "{\"ok\":false,\"error_code\":500}",
		    TG_RETRY, 500, 0 },
		{ "502-html", 502, "<html>bad gateway</html>", TG_RETRY, 0, 0 },
		{ "404-html", 404, "<html>nope</html>", TG_REFUSED, 0, 0 },
		{ "200-garbage", 200, "not json", TG_RETRY, 0, 0 },
		{ "200-array", 200, "[1,2]", TG_RETRY, 0, 0 },
		{ "ok-string", 200, "{\"ok\":\"true\",\"result\":1}", TG_RETRY,
		    0, 0 },
		{ "code-missing", 403, "{\"ok\":false}", TG_REFUSED, 0, 0 },
	};
	struct tg_reply r;
	const char *body;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)tg_reply_parse("sendMessage", cases[i].http,
		    cases[i].body, strlen(cases[i].body), &r);
		CHECK(cases[i].name, r.status == cases[i].want,
		    "status %d, want %d (%s)", r.status, cases[i].want, r.err);
		CHECK(cases[i].name, r.error_code == cases[i].code,
		    "error_code %ld, want %ld", r.error_code, cases[i].code);
		CHECK(cases[i].name, r.retry_after == cases[i].retry,
		    "retry_after %ld, want %ld", r.retry_after,
		    cases[i].retry);
		CHECK(cases[i].name, r.status == TG_OK ? r.result != NULL :
		    strncmp(r.err, "sendMessage: ", 13) == 0,
		    "err \"%s\" does not name the method", r.err);
		tg_reply_clear(&r);
	}
	body = "{\"ok\":false,\"error_code\":400,\"description\":"
	    "\"a\\nb\\u0001c\"}";
	(void)tg_reply_parse("getUpdates", 400, body, strlen(body), &r);
	CHECK("description-clean", strcmp(r.description, "a b c") == 0,
	    "got \"%s\"", r.description);
	tg_reply_clear(&r);
}

/* The token is in the URL: plain http only to this machine. */
static const char *const plain_bad[] = {
	"http://api.telegram.org", "http://10.0.0.1", "http://127.evil.com",
	"http://localhost.evil.com", "http://127.0.0.1.evil.example:80",
};
static const char *const plain_ok[] = {
	"https://api.telegram.org", "http://127.8.9.10:1", "http://localhost:1",
	"http://[::1]:1/",
};

static void
test_client(void)
{
	struct tg_client *c;
	struct tg_reply r;
	char err[256], buf[128];
	cJSON *p;
	size_t i;

	CHECK("base-ftp", tg_client_new("ftp://x", TOKEN, err, sizeof(err)) ==
	    NULL, "accepted");
	CHECK("base-space", tg_client_new("http://a b", TOKEN, err, sizeof(err))
	    == NULL, "accepted");
	CHECK("token-slash", tg_client_new("https://x", "12/../x", err,
	    sizeof(err)) == NULL && strstr(err, "TELEGRAM_BOT_TOKEN") != NULL,
	    "accepted or %s", err);
	CHECK("token-not-in-error", strstr(err, "12/../x") == NULL, "%s",
	    err);
	CHECK("token-empty", tg_client_new("https://x", "", err, sizeof(err))
	    == NULL && strstr(err, "TELEGRAM_BOT_TOKEN") != NULL,
	    "accepted or %s", err);
	for (i = 0; i < sizeof(plain_bad) / sizeof(plain_bad[0]); i++) {
		c = tg_client_new(plain_bad[i], TOKEN, err, sizeof(err));
		CHECK(plain_bad[i], c == NULL && strncmp(err,
		    "TELEGRAM_API_BASE: http:// is allowed only", 42) == 0,
		    "accepted or %s", err);
		tg_client_free(c);
	}
	for (i = 0; i < sizeof(plain_ok) / sizeof(plain_ok[0]); i++) {
		c = tg_client_new(plain_ok[i], TOKEN, err, sizeof(err));
		CHECK(plain_ok[i], c != NULL, "%s", err);
		tg_client_free(c);
	}
	c = tg_client_new("http://127.0.0.1:1/", TOKEN, err, sizeof(err));
	CHECK("client-ok", c != NULL, "%s", err);
	if (c == NULL)
		return;
	CHECK("method-bad", tg_call_start(c, "send/../x", NULL, 1000, err,
	    sizeof(err)) == NULL, "accepted");
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "chat_id", "1");
	CHECK("refused-connection", tg_request(c, "sendMessage", p, 2000, NULL,
	    &r) == -1 && r.status == TG_RETRY, "status %d", r.status);
	CHECK("transport-error-text", strstr(r.err, "sendMessage") != NULL &&
	    strstr(r.err, "AAE-secret") == NULL, "%s", r.err);
	tg_reply_clear(&r);
	cJSON_Delete(p);
	tg_client_free(c);
	CHECK("redact", strcmp(tg_redact("x/bot" TOKEN "/a " TOKEN, TOKEN, buf,
	    sizeof(buf)), "x/bot***/a ***") == 0, "%s", buf);
	CHECK("redact-short-token", strcmp(tg_redact("abcabc", "abc", buf,
	    sizeof(buf)), "abcabc") == 0, "%s", buf);
	CHECK("redact-bounded", strcmp(tg_redact("abcdef", TOKEN, buf, 4),
	    "abc") == 0, "%s", buf);
}

/* The "View details" URL button of RAYVAULT_DASHBOARD_URL. */
static void
test_link(void)
{
	char url[128], *js;
	cJSON *kb;

	CHECK("url", notify_details_url(url, sizeof(url),
	    "https://ops.example:8787", RUN) == 0 && strcmp(url,
	    "https://ops.example:8787/runs/" RUN) == 0, "%s", url);
	CHECK("url-slashes", notify_details_url(url, sizeof(url),
	    "http://10.1.2.3:8787/rv//", RUN) == 0 && strcmp(url,
	    "http://10.1.2.3:8787/rv/runs/" RUN) == 0, "%s", url);
	CHECK("url-no-base", notify_details_url(url, sizeof(url), "", RUN) ==
	    -1 && notify_details_url(url, sizeof(url), "/", RUN) == -1,
	    "built");
	CHECK("url-bad-run", notify_details_url(url, sizeof(url),
	    "https://ops.example", "RAY-1\"}") == -1, "built");
	CHECK("url-small", notify_details_url(url, 40, "https://ops.example",
	    RUN) == -1, "fitted");
	CHECK("kb-nothing", notify_keyboard(RUN, NULL, NULL) == NULL, "built");
	CHECK("kb-empty-link", notify_keyboard(RUN, NULL, "") == NULL,
	    "built");

	/* A gate: the four buttons, then the link alone on a third row. */
	(void)notify_details_url(url, sizeof(url), "https://ops.example", RUN);
	kb = notify_keyboard(RUN, NONCE, url);
	js = cJSON_PrintUnformatted(kb);
	CHECK("kb-gate-link", js != NULL && strcmp(js, "{\"inline_keyboard\":["
	    "[{\"text\":\"Approve\",\"callback_data\":\"rv:a:" RUN ":" N8
	    "\"},{\"text\":\"Refetch\",\"callback_data\":\"rv:r:" RUN ":"
	    N8 "\"}],[{\"text\":\"Abort\",\"callback_data\":\"rv:x:" RUN
	    ":" N8 "\"},{\"text\":\"Unlock\",\"callback_data\":\"rv:u:"
	    RUN ":" N8 "\"}],[{\"text\":\"View details\",\"url\":"
	    "\"https://ops.example/runs/" RUN "\"}]]}") == 0, "%s", js);
	free(js);
	cJSON_Delete(kb);
	/* A panic without a gate: the link only. */
	kb = notify_keyboard(RUN, NULL, url);
	js = cJSON_PrintUnformatted(kb);
	CHECK("kb-link-only", js != NULL && strcmp(js, "{\"inline_keyboard\":"
	    "[[{\"text\":\"View details\",\"url\":\"https://ops.example"
	    "/runs/" RUN "\"}]]}") == 0, "%s", js);
	free(js);
	cJSON_Delete(kb);
	/* A bad gate spoils the whole keyboard, link or not. */
	CHECK("kb-bad-nonce-link", notify_keyboard(RUN, "xyz", url) == NULL,
	    "built");
}

static void
test_callback(void)
{
	static const char *bad[] = {
		"", "rv:a:", "rv:a:" RUN "x", "RV:a:" RUN ":" N8,
		"rv:z:" RUN ":" N8, "rv:a;" RUN ":" N8, "rv-a:" RUN ":" N8,
		"rv:a:" RUN ":" N8 " ", " rv:a:" RUN ":" N8,
		"rv:a:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4g:" N8,
		"rv:a:0a1b2c3d04e5f-4a6b-8c7d-9e0f1a2b3c4d:" N8,
		"rv:ax:" RUN ":" N8, "rv::" RUN ":" N8, "rv:a:" RUN ":" N8 "\n",
		"approve", "rv:a:" RUN ":", "rv:a:" RUN ":5e6f7a8",
		"rv:a:" RUN ":5e6f7a8b9", "rv:a:" RUN ":5E6F7A8B",
		"rv:a:" RUN ":5e6f7a8g", "rv:a:" RUN ";" N8,
		"rv:a:" RUN ":-e6f7a8b",
		"rv:a:" RUN ":" N8 ":", "rv:a:" RUN "::" N8, "rv:a:" RUN " ",
		"rv:a:" RUN "\n", "rv:a:" RUN ":" NONCE,
	};
	char data[TG_CALLBACK_MAX + 1], *js;
	const char *codes = "arxu", *names[] = { "approve", "refetch", "abort",
	    "unlock" };
	struct notify_cb cb;
	cJSON *kb, *row, *b;
	size_t i;

	for (i = 0; i < 4; i++) {
		CHECK("cb-format", notify_cb_format(data, sizeof(data),
		    codes[i], RUN, NONCE) == 0 && strlen(data) == 50 &&
		    strlen(data) <= TG_CALLBACK_MAX, "%c: %s", codes[i], data);
		CHECK("cb-parse", notify_cb_parse(data, &cb) == 0 && cb.action
		    == codes[i] && strcmp(cb.run_id, RUN) == 0 &&
		    strcmp(cb.nonce, N8) == 0, "%s", data);
		CHECK("cb-name", strcmp(notify_cb_action_name(codes[i]),
		    names[i]) == 0, "%c", codes[i]);
	}
	CHECK("cb-format-nonce8", notify_cb_format(data, sizeof(data), 'x', RUN,
	    N8) == 0 && strcmp(data, "rv:x:" RUN ":" N8) == 0, "%s", data);
	CHECK("cb-format-lower", notify_cb_format(data, sizeof(data), 'a', RUN,
	    "5E6F7A8B-1C2D-4E3F-8A9B-0C1D2E3F4A5B") == 0 && strcmp(data,
	    "rv:a:" RUN ":" N8) == 0, "%s", data);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK("cb-malformed", notify_cb_parse(bad[i], &cb) == -1,
		    "accepted \"%s\"", bad[i]);
	CHECK("cb-null", notify_cb_parse(NULL, &cb) == -1, "accepted");
	for (i = 0; i < 4; i++) {
		(void)snprintf(data, sizeof(data), "rv:%c:%s", codes[i], RUN);
		CHECK("cb-legacy", notify_cb_parse(data, &cb) == 1 && cb.action
		    == codes[i] && strcmp(cb.run_id, RUN) == 0 && cb.nonce[0] ==
		    '\0', "%s not legacy", data);
	}
	CHECK("cb-format-action", notify_cb_format(data, sizeof(data), 'q', RUN,
	    NONCE) == -1, "accepted");
	CHECK("cb-format-run", notify_cb_format(data, sizeof(data), 'a',
	    "RAY-1", NONCE) == -1, "accepted");
	CHECK("cb-format-nonce", notify_cb_format(data, sizeof(data), 'a', RUN,
	    NULL) == -1 && notify_cb_format(data, sizeof(data), 'a', RUN, "") ==
	    -1 && notify_cb_format(data, sizeof(data), 'a', RUN, "xyzxyzxy") ==
	    -1 && notify_cb_format(data, sizeof(data), 'a', RUN, "5e6f7a8") ==
	    -1, "accepted a bad nonce");
	CHECK("cb-format-small", notify_cb_format(data, 50, 'a', RUN, NONCE) ==
	    -1, "accepted");
	CHECK("kb-bad-run", notify_keyboard("nope", NONCE, NULL) == NULL,
	    "built");
	CHECK("kb-no-nonce", notify_keyboard(RUN, "", NULL) == NULL, "built");
	kb = notify_keyboard(RUN, NONCE, NULL);
	row = cJSON_GetArrayItem(cJSON_GetObjectItem(kb, "inline_keyboard"), 0);
	CHECK("kb-shape", cJSON_GetArraySize(cJSON_GetObjectItem(kb,
	    "inline_keyboard")) == 2 && cJSON_GetArraySize(row) == 2,
	    "not 2x2");
	b = cJSON_GetArrayItem(row, 0);
	CHECK("kb-approve", strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b,
	    "text")), "Approve") == 0 &&
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem( b,
	    "callback_data")), "rv:a:" RUN ":" N8) == 0, "wrong");
	b = cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(kb,
	    "inline_keyboard"), 1), 1);
	CHECK("kb-unlock", strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(b,
	    "callback_data")), "rv:u:" RUN ":" N8) == 0, "wrong");
	js = cJSON_PrintUnformatted(kb);
	CHECK("kb-no-link", js != NULL && strstr(js, "\"url\"") == NULL &&
	    cJSON_GetArraySize(cJSON_GetObjectItem(kb, "inline_keyboard")) ==
	    2, "%s", js);
	free(js);
	cJSON_Delete(kb);
	test_link();
}

static void
test_answers(void)
{
	static const struct {
		const char	*action, *result, *msg, *want;
	} cases[] = {
		{ "approve", "applied", "", "applied" },
		{ "approve", "already_applied", "", "already applied" },
		{ "approve", "not_possible", "run x: no longer possible: that "
		    "gate is closed", "no longer possible" },
		{ "abort", "not_possible", "run x is done",
		    "no longer possible" },
		{ "refetch", "not_possible", "", "no longer possible" },
		{ "unlock", "not_possible", "run x: no longer possible: that "
		    "gate is closed", "no longer possible" },
		{ "approve", "weird", "", "not applied: try again" },
	};
	const char *t;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = notify_answer_text(cases[i].action, cases[i].result,
		    cases[i].msg);
		CHECK("answer", strcmp(t, cases[i].want) == 0, "%s %s: \"%s\"",
		    cases[i].action, cases[i].result, t);
	}
	t = notify_answer_text("unlock", "not_possible", "run x: lease is "
	    "live until 2026; use rvctl unlock --force");
	CHECK("answer-unlock-live", strstr(t, "live") != NULL && strstr(t,
	    "rvctl unlock --force") != NULL && strlen(t) <= 200, "%s", t);
	t = notify_answer_text("unlock", "not_possible", NULL);
	CHECK("answer-unlock-null", strstr(t, "rvctl unlock --force") != NULL,
	    "%s", t);
}

static void
test_ids(void)
{
	long long ids[NOTIFY_ADMINS_MAX], chat = 0;
	char bad[48];
	size_t n = 0;
	int rc;

	rc = notify_ids_parse("11, 22;33 44", ids, NOTIFY_ADMINS_MAX, &n, bad,
	    sizeof(bad));
	CHECK("ids-list", rc == 0 && n == 4 && ids[3] == 44, "n=%zu", n);
	rc = notify_ids_parse("abc,55", ids, NOTIFY_ADMINS_MAX, &n, bad,
	    sizeof(bad));
	CHECK("ids-bad", rc == -1 && n == 1 && ids[0] == 55 && strcmp(bad,
	    "abc") == 0, "n=%zu bad=%s", n, bad);
	rc = notify_ids_parse("-3", ids, NOTIFY_ADMINS_MAX, &n, bad,
	    sizeof(bad));
	CHECK("ids-negative", rc == -1 && n == 0, "n=%zu", n);
	rc = notify_ids_parse("", ids, NOTIFY_ADMINS_MAX, &n, bad, sizeof(bad));
	CHECK("ids-empty", rc == 0 && n == 0, "n=%zu", n);
	rc = notify_ids_parse("1,2,3", ids, 2, &n, bad, sizeof(bad));
	CHECK("ids-too-many", rc == -1 && n == 2, "n=%zu", n);
	CHECK("chat-numeric", notify_chat_parse("-1001234567890", &chat) && chat
	    == -1001234567890LL, "%lld", chat);
	CHECK("chat-name", !notify_chat_parse("@channel", &chat), "accepted");
	CHECK("chat-junk", !notify_chat_parse("12x", &chat), "accepted");
	CHECK("chat-empty", !notify_chat_parse("", &chat), "accepted");
}

static cJSON *
make_update(double uid, double from, double chat, const char *data)
{
	char buf[1024];

	(void)snprintf(buf, sizeof(buf), "{\"update_id\":%.17g,"
	    "\"callback_query\":{\"id\":\"q1\",\"from\":{\"id\":%.17g,"
	    "\"username\":\"night_op\"},\"message\":{\"message_id\":9,"
	    "\"chat\":{\"id\":%.17g},\"text\":\"alert\"},\"data\":\"%s\"}}",
	    uid, from, chat, data);
	return cJSON_Parse(buf);
}

static void
test_press(void)
{
	static const struct {
		const char	*name;
		double		 from, chat;
		const char	*data;
		bool		 chat_known;
		enum notify_press_verdict want;
	} cases[] = {
		{ "admin", 42, -100, "rv:a:" RUN ":" N8, true, PRESS_OK },
		{ "stranger", 43, -100, "rv:a:" RUN ":" N8, true,
		    PRESS_NOT_AUTHORISED },
		{ "other-chat", 42, -200, "rv:a:" RUN ":" N8, true,
		    PRESS_NOT_AUTHORISED },
		{ "chat-unknown", 42, -100, "rv:a:" RUN ":" N8, false,
		    PRESS_NOT_AUTHORISED },
		{ "admin-malformed", 42, -100, "rv:a:nope", true,
		    PRESS_MALFORMED },
		{ "admin-bad-nonce", 42, -100, "rv:a:" RUN ":zzzzzzzz", true,
		    PRESS_MALFORMED },
		{ "admin-legacy", 42, -100, "rv:a:" RUN, true, PRESS_LEGACY },
		{ "stranger-legacy", 43, -100, "rv:a:" RUN, true,
		    PRESS_NOT_AUTHORISED },
		{ "stranger-malformed", 43, -100, "rv:a:nope", true,
		    PRESS_NOT_AUTHORISED },
		{ "float-user", 42.5, -100, "rv:a:" RUN ":" N8, true,
		    PRESS_NOT_AUTHORISED },
	};
	long long admins[2] = { 41, 42 };
	struct notify_press p;
	struct notify_cb cb;
	char op[64], who[80];
	cJSON *u;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		u = make_update(77, cases[i].from, cases[i].chat,
		    cases[i].data);
		CHECK(cases[i].name, notify_press_parse(u, &p) == 0 &&
		    p.update_id == 77, "parse");
		CHECK(cases[i].name, notify_press_check(&p, admins, 2,
		    cases[i].chat_known, -100, &cb) == cases[i].want,
		    "verdict");
		cJSON_Delete(u);
	}
	u = make_update(77, 42, -100, "rv:x:" RUN ":" N8);
	(void)notify_press_parse(u, &p);
	CHECK("press-fields", notify_press_check(&p, admins, 2, true, -100, &cb)
	    == PRESS_OK && cb.action == 'x' && strcmp(cb.run_id, RUN) == 0 &&
	    strcmp(cb.nonce, N8) == 0 && p.message_id == 9 && strcmp(p.text,
	    "alert") == 0, "wrong");
	notify_press_who(&p, op, sizeof(op), who, sizeof(who));
	CHECK("press-who", strcmp(op, "telegram:@night_op") == 0 && strstr(who,
	    "42") != NULL, "%s / %s", op, who);
	cJSON_Delete(u);
	u = cJSON_Parse("{\"update_id\":5,\"message\":{\"text\":\"hi\"}}");
	(void)notify_press_parse(u, &p);
	CHECK("not-a-press", notify_press_check(&p, admins, 2, true, -100, &cb)
	    == PRESS_IGNORE, "not ignored");
	cJSON_Delete(u);
	u = cJSON_Parse("{\"update_id\":1.5}");
	CHECK("update-id-float", notify_press_parse(u, &p) == -1, "accepted");
	cJSON_Delete(u);
	u = cJSON_Parse("{\"callback_query\":{}}");
	CHECK("update-id-missing", notify_press_parse(u, &p) == -1,
	    "accepted");
	cJSON_Delete(u);
}

static void
alert_of(struct tg_alert *a, const char *json)
{
	char err[256];
	cJSON *j = cJSON_Parse(json);

	if (tg_alert_parse(j, a, err, sizeof(err)) == -1)
		CHECK("alert-parse", false, "%s: %s", json, err);
	cJSON_Delete(j);
}

static void
test_format_kinds(void)
{
	static const struct {
		const char *kind, *title;
		bool link;	/* a gate or a panic: dashboard link */
	} kinds[] = {
		{ "panic_browser_frozen", "renderer frozen", true },
		{ "panic_integrity_failure", "survived a refetch", true },
		{ "panic_voice_contract_drift", "voice off its target", true },
		{ "panic_dzine_ui_failure", "Dzine render failed", true },
		{ "LOST LOCK", "LOST LOCK", true },
		{ "panic_lost_lock", "LOST LOCK", true },
		{ "panic_heartbeat_uncertain", "heartbeat uncertain", true },
		{ "gate_opened", "GATE", true },
		{ "crash_loop", "crash loop", true },
		{ "stage_failed:voice", "STAGE FAILED", true },
		{ "STALE WORKER", "STALE WORKER", false },
		{ "CONTRACT FAIL", "CONTRACT FAIL", false },
		{ "something_new", "something_new", false },
	};
	struct tg_alert a;
	char json[512], text[TG_TEXT_MAX + 1];
	const struct tg_alert_kind *k;
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		(void)snprintf(json, sizeof(json), "{\"alert\":\"%s\","
		    "\"run_id\":\"%s\",\"video_id\":\"RAY-7\",\"detail\":"
		    "\"it broke\",\"at\":\"2026-01-02T01:30:00.250Z\","
		    "\"worker_id\":\"mac-1\"}", kinds[i].kind, RUN);
		alert_of(&a, json);
		k = tg_alert_kind(a.kind);
		(void)tg_alert_format(&a, 0, text, sizeof(text));
		CHECK(kinds[i].kind, strstr(text, kinds[i].title) != NULL,
		    "no title \"%s\"", kinds[i].title);
		CHECK(kinds[i].kind, strstr(text, "Video: RAY-7") &&
		    strstr(text, "Run: 0a1b2c3d\n") && strstr(text,
		    "Worker: mac-1") && strstr(text, RUN) == NULL, "ids: %s",
		    text);
		CHECK(kinds[i].kind, strstr(text, "2026-01-02 01:30:00 UTC") &&
		    strstr(text, "2026-01-01 22:30:00 Bras\xc3\xadlia (UTC-3)"),
		    "times: %s", text);
		CHECK(kinds[i].kind, strstr(text, k->meaning) && strstr(text,
		    k->action) && strstr(text, "Detail: it broke"),
		    "meaning/action: %s", text);
		CHECK(kinds[i].kind, strstr(text, "Buttons") == NULL,
		    "buttons mentioned without buttons");
		CHECK(kinds[i].kind, tg_alert_links(&a) == kinds[i].link,
		    "link %d", !kinds[i].link);
		a.run_id[0] = '\0';
		CHECK(kinds[i].kind, !tg_alert_links(&a), "link without a run");
	}
	CHECK("prefix-needs-colon", tg_alert_kind("stage_failed") !=
	    tg_alert_kind( "stage_failed:probe"), "matched");
}

static void
test_format_limits(void)
{
	struct tg_alert a;
	char *json, *big, text[TG_TEXT_MAX + 1];
	cJSON *j;
	size_t n;

	big = malloc(12000);
	memset(big, 'v', 11999);
	big[11999] = '\0';
	json = malloc(30000);
	(void)snprintf(json, 30000, "{\"alert\":\"gate_opened\",\"run_id\":"
	    "\"%s\",\"video_id\":\"RAY-8\",\"buttons\":true,\"diff\":\"%s\","
	    "\"detail\":\"%s\",\"gate_nonce\":\"%s\"}", RUN, big, big, NONCE);
	alert_of(&a, json);
	n = tg_alert_format(&a, 2, text, sizeof(text));
	CHECK("length", n <= TG_TEXT_MAX && n == strlen(text), "%zu", n);
	CHECK("diff-cut-note", strstr(text, "Evidence diff:\nvvv") &&
	    strstr(text, "state/evidence/" RUN ".json"), "%s", text + n - 120);
	CHECK("buttons-held", strstr(text, "Buttons below") && strstr(text,
	    "2 similar " "alerts were held back"), "missing");
	CHECK("buttons-flag", a.buttons, "false");
	CHECK("gate-line", strstr(text, "\nGate: " N8 "\n") != NULL &&
	    strstr(text, "act on gate " N8 " only") != NULL, "%.300s", text);
	free(json);
	free(big);
	alert_of(&a, "{\"alert\":\"gate_opened\",\"run_id\":\"" RUN "\","
	    "\"video_id\":\"RAY-8\",\"buttons\":true}");
	(void)tg_alert_format(&a, 0, text, sizeof(text));
	CHECK("buttons-need-gate", !a.buttons && a.no_gate && strstr(text,
	    "Buttons below") == NULL && strstr(text,
	    "No buttons: this alert names no gate") != NULL && strstr(text,
	    "rvctl approve") != NULL && strstr(text, "Gate:") == NULL, "%s",
	    text);
	alert_of(&a, "{\"alert\":\"gate_opened\",\"run_id\":\"" RUN "\","
	    "\"buttons\":true,\"gate_nonce\":\"not-a-uuid\"}");
	CHECK("buttons-bad-nonce", !a.buttons && a.gate_nonce[0] == '\0',
	    "kept");
	j = cJSON_Parse("{\"alert\":\"gate_opened\",\"run_id\":\"" RUN "\","
	    "\"buttons\":true,\"gate_nonce\":7}");
	CHECK("gate-nonce-number", tg_alert_parse(j, &a, text, sizeof(text))
	    == -1, "accepted");
	cJSON_Delete(j);
	alert_of(&a, "{\"alert\":\"gate_opened\",\"run_id\":\"RAY-8\","
	    "\"buttons\":true,\"detail\":\"bad \\u0007 \xff\xfe \\r\\nok\","
	    "\"at\":\"yesterday\"}");
	CHECK("buttons-need-uuid", !a.buttons && a.run_id[0] == '\0', "set");
	(void)tg_alert_format(&a, 0, text, sizeof(text));
	CHECK("clean-text", utf8_valid(text) && strstr(text, "Run: -") &&
	    strchr(text, '\a') == NULL && strchr(text, '\r') == NULL, "%s",
	    text);
	CHECK("alert-missing", tg_alert_parse(cJSON_GetArrayItem(NULL, 0),
	    &a, text, sizeof(text)) == -1, "accepted");
}

static void
test_clean(void)
{
	char out[16];

	CHECK("clean-invalid", tg_clean_text(out, sizeof(out), "a\xc0\x80"
	    "b\xed\xa0\x80" "c" "\xf5", false) == 9 && strcmp(out, "a??b???c?")
	    == 0, "%s", out);
	CHECK("clean-boundary", tg_clean_text(out, 4, "ab\xc3\xad", false) == 2
	    && strcmp(out, "ab") == 0, "%s", out);
	CHECK("clean-oneline", tg_clean_text(out, sizeof(out), "a\tb\nc", false)
	    == 5 && strcmp(out, "a b c") == 0, "%s", out);
	CHECK("clean-emoji", tg_clean_text(out, sizeof(out), "\xf0\x9f\x98\x80!",
	    true) == 5, "%s", out);
}

static void
test_decision(void)
{
	char *orig = malloc(5000), buf[TG_TEXT_MAX + 1];
	size_t n;

	memset(orig, 'o', 4999);
	orig[4999] = '\0';
	n = notify_decision_text(buf, sizeof(buf), orig, "approve",
	    "@night_op (id 42)", "applied", 1767317400.0);
	CHECK("decision-long", n <= TG_TEXT_MAX && strstr(buf,
	    "Decision: APPROVE by "
	    "@night_op (id 42) at 2026-01-02 01:30:00 UTC") != NULL, "%s", buf +
	    (n > 200 ? n - 200 : 0));
	n = notify_decision_text(buf, sizeof(buf), NULL, "unlock", "user id 7",
	    "applied", 0);
#define WANT	"RayVault alert\n\nDecision: UNLOCK by user id 7 at 1970"
	CHECK("decision-no-text", n == strlen(buf) && strncmp(buf, WANT,
	    strlen(WANT)) == 0, "%s", buf);
#undef WANT
	(void)notify_decision_text(buf, sizeof(buf), "diff:\n  a\n\n", "abort",
	    "user id 7", "applied", 0);
	CHECK("decision-trim", strncmp(buf, "diff:\n  a\n\nDecision: ABORT", 26)
	    == 0, "%s", buf);
	free(orig);
}

static void
test_outbox(void)
{
	static struct notify_outbox o;
	struct tg_alert a, b, g;
	int64_t t = 1000;
	int held, i, rc;
	bool dropped;

	notify_outbox_init(&o);
	alert_of(&a, "{\"alert\":\"STALE WORKER\",\"run_id\":\"" RUN "\","
	    "\"detail\":\"heartbeat 31 s ago\"}");
	CHECK("dedup-first", notify_outbox_admit(&o, &a, t, &held) ==
	    NOTIFY_ADMIT, "not admitted");
	CHECK("dedup-same", notify_outbox_admit(&o, &a, t + 1000, &held) ==
	    NOTIFY_DUPLICATE, "admitted");
	alert_of(&b, "{\"alert\":\"STALE WORKER\",\"run_id\":\"" RUN "\","
	    "\"detail\":\"heartbeat 1062 s ago\"}");
	CHECK("dedup-digits", notify_outbox_admit(&o, &b, t + 2000, &held) ==
	    NOTIFY_DUPLICATE, "admitted");
	CHECK("dedup-window", notify_outbox_admit(&o, &a, t + NOTIFY_WINDOW_MS,
	    &held) == NOTIFY_ADMIT, "not admitted after the window");
	alert_of(&g, "{\"alert\":\"gate_opened\",\"run_id\":\"" RUN "\","
	    "\"buttons\":true,\"gate_nonce\":\"" NONCE "\","
	    "\"detail\":\"voltage\"}");
	CHECK("dedup-gate", notify_outbox_admit(&o, &g, t + 10, &held) ==
	    NOTIFY_ADMIT && notify_outbox_admit(&o, &g, t + 20, &held) ==
	    NOTIFY_DUPLICATE, "same gate not a duplicate");
	strlcpy(g.gate_nonce, "99999999-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
	    sizeof(g.gate_nonce));
	CHECK("dedup-new-gate", notify_outbox_admit(&o, &g, t + 30, &held) ==
	    NOTIFY_ADMIT, "a new gate of the run held as a duplicate");
	/* rate: a kind for a run, different details */
	notify_outbox_init(&o);
	for (i = 0; i < 6; i++) {
		(void)snprintf(b.detail, sizeof(b.detail), "error %c", 'a' + i);
		CHECK("rate", notify_outbox_admit(&o, &b, t + i, &held) == (i <
		    NOTIFY_PER_KEY_MAX ? NOTIFY_ADMIT : NOTIFY_RATE_LIMITED),
		    "alert %d", i);
	}
	strlcpy(b.detail, "error y", sizeof(b.detail));
	rc = notify_outbox_admit(&o, &b, t + NOTIFY_WINDOW_MS + 8, &held);
	CHECK("rate-held", rc == NOTIFY_ADMIT && held == 3, "held %d", held);
	for (i = 0; i < 3; i++) {
		(void)snprintf(b.detail, sizeof(b.detail), "again %c", 'a' + i);
		(void)notify_outbox_admit(&o, &b, t + NOTIFY_WINDOW_MS + 9,
		    &held);
	}
	b.buttons = true;
	strlcpy(b.detail, "error z", sizeof(b.detail));
	rc = notify_outbox_admit(&o, &b, t + NOTIFY_WINDOW_MS + 10, &held);
	CHECK("rate-buttons", rc == NOTIFY_ADMIT && held == 1,
	    "a button alert was held back (%d, held %d)", rc, held);
	b.buttons = false;
	strlcpy(b.run_id, "ffffffff-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
	    sizeof(b.run_id));
	CHECK("rate-other-run", notify_outbox_admit(&o, &b, t + 9, &held) ==
	    NOTIFY_ADMIT, "held back");
	/* queue */
	for (i = 0; i < NOTIFY_QUEUE_MAX + 6; i++) {
		(void)notify_outbox_push(&o, strdup("x"), &a, &dropped);
		CHECK("queue-bound", dropped == (i >= NOTIFY_QUEUE_MAX),
		    "item %d", i);
	}
	CHECK("queue-oldest-dropped", notify_outbox_head(&o)->seq == 7,
	    "head %llu", notify_outbox_head(&o)->seq);
	notify_outbox_pop(&o, 6);
	CHECK("pop-wrong-seq", notify_outbox_head(&o)->seq == 7, "popped");
	notify_outbox_pop(&o, 7);
	CHECK("pop", notify_outbox_head(&o)->seq == 8, "not popped");
	for (i = 0; i < NOTIFY_PER_MIN; i++) {
		CHECK("per-min", notify_outbox_may_send(&o, t + i), "%d", i);
		notify_outbox_sent(&o, t + i);
	}
	CHECK("per-min-full", !notify_outbox_may_send(&o, t + 100), "allowed");
	CHECK("per-min-later", notify_outbox_may_send(&o, t + 60001),
	    "refused");
	notify_outbox_clear(&o);
	CHECK("clear", notify_outbox_head(&o) == NULL, "not empty");
}

int
main(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	test_reply_parse();
	test_client();
	test_callback();
	test_answers();
	test_ids();
	test_press();
	test_format_kinds();
	test_format_limits();
	test_clean();
	test_decision();
	test_outbox();
	curl_global_cleanup();
	return test_exit();
}
