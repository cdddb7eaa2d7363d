/* SPDX-License-Identifier: ISC */
/*
 * telegram.c: the Telegram Bot API client RayVault uses (sendMessage,
 * getUpdates, answerCallbackQuery, editMessageText, and any other method
 * taking a JSON object).
 *
 * A call is POST <TELEGRAM_API_BASE>/bot<token>/<method> with a JSON body.
 * Calls run on one curl multi handle owned by the client, so a caller can
 * keep several going (a long poll next to a send) and drive them from its
 * own loop without ever blocking: tg_client_run() with a wait of 0 only
 * moves what is ready.  tg_request() is the blocking convenience for a
 * command-line tool, still ticking a progress every 100 ms.  Every call is
 * bounded: connect timeout, total timeout, and a cap on the answer's size;
 * redirects are not followed and only http and https are spoken.  The
 * token travels in the URL, so TELEGRAM_API_BASE may be http:// only to
 * this machine (netaddr_url_check()), which is checked before any call.
 *
 * Every answer becomes a struct tg_reply: ok with its result, "retry"
 * (no answer, timeout, 5xx, 429 with parameters.retry_after, 409 from a
 * second poller) or "refused" (any other error Telegram states).  What to
 * do about it is the caller's business: nothing is retried here.
 *
 * The token is part of every URL, so no URL is ever put in a message:
 * errors are built from the method name, curl's own error text and the
 * answer's description are masked for the token, curl's verbose output is
 * off, and the URL is wiped when a call is freed.  Nothing here logs.
 *
 * Public: tg_client_new, tg_client_free, tg_call_start, tg_client_run,
 * tg_call_done, tg_call_take, tg_call_cancel, tg_request, tg_reply_parse,
 * tg_reply_clear, tg_redact.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "common/core/curl_dl.h"
#include "common/core/netaddr.h"
#include "common/telegram/telegram.h"

#define TG_BASE_MAX	400
#define TG_URL_MAX	(TG_BASE_MAX + TG_TOKEN_MAX + TG_METHOD_MAX + 8)
#define TG_TICK_MS	100

struct tg_call {
	LIST_ENTRY(tg_call) entry;
	struct tg_client *client;
	CURL		*easy;
	struct curl_slist *hdrs;
	char		 method[TG_METHOD_MAX];
	char		 url[TG_URL_MAX];
	char		 errbuf[CURL_ERROR_SIZE];
	long		 timeout_ms;
	char		*buf;
	size_t		 len, cap;
	bool		 too_big, done;
	struct tg_reply	 reply;
};

struct tg_client {
	CURLM		*multi;
	char		 base[TG_BASE_MAX];
	char		 token[TG_TOKEN_MAX + 1];
	LIST_HEAD(, tg_call) calls;
};

/* https://, or http:// to loopback; no query or fragment; short. */
static int
base_check(const char *s, char *err, size_t errlen)
{
	if (s == NULL || s[0] == '\0') {
		(void)snprintf(err, errlen, "TELEGRAM_API_BASE: empty");
		return -1;
	}
	if (netaddr_url_check("TELEGRAM_API_BASE", s, err, errlen) == -1)
		return -1;
	if (strpbrk(s, "?#") != NULL || strlen(s) >= TG_BASE_MAX) {
		(void)snprintf(err, errlen, "TELEGRAM_API_BASE: has a query "
		    "or fragment, or is longer than %d characters",
		    TG_BASE_MAX - 1);
		return -1;
	}
	return 0;
}

static bool
token_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != ':' &&
		    s[i] != '_' && s[i] != '-')
			return false;
	return i > 0 && i <= TG_TOKEN_MAX;
}

static bool
method_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalpha((unsigned char)s[i]))
			return false;
	return i > 0 && i < TG_METHOD_MAX;
}

struct tg_client *
tg_client_new(const char *api_base, const char *token, char *err,
    size_t errlen)
{
	struct tg_client *c;
	size_t n;

	if (base_check(api_base, err, errlen) == -1)
		return NULL;
	if (token == NULL || !token_ok(token)) {
		(void)snprintf(err, errlen, "TELEGRAM_BOT_TOKEN: empty, too "
		    "long, or not made of letters, digits, ':', '_' and '-'");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->multi = curl_multi_init()) == NULL) {
		free(c);
		(void)snprintf(err, errlen, "telegram: out of memory");
		return NULL;
	}
	strlcpy(c->base, api_base, sizeof(c->base));
	n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	strlcpy(c->token, token, sizeof(c->token));
	LIST_INIT(&c->calls);
	return c;
}

void
tg_client_free(struct tg_client *c)
{
	if (c == NULL)
		return;
	while (!LIST_EMPTY(&c->calls))
		tg_call_cancel(LIST_FIRST(&c->calls));
	(void)curl_multi_cleanup(c->multi);
	explicit_bzero(c->token, sizeof(c->token));
	free(c);
}

/* Answer sink: keep at most TG_ANSWER_MAX bytes, abort past it. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct tg_call *call = arg;
	size_t n = size * nmemb, ncap;
	char *p;

	if (n > TG_ANSWER_MAX - call->len) {
		call->too_big = true;
		return 0;
	}
	if (call->len + n + 1 > call->cap) {
		ncap = call->cap == 0 ? 4096 : call->cap;
		while (ncap < call->len + n + 1)
			ncap *= 2;
		if ((p = realloc(call->buf, ncap)) == NULL)
			return 0;
		call->buf = p;
		call->cap = ncap;
	}
	memcpy(call->buf + call->len, data, n);
	call->len += n;
	call->buf[call->len] = '\0';
	return n;
}

static int
call_setup(struct tg_call *call, const char *body)
{
	CURL *h = call->easy;
	int rc = CURLE_OK;

	rc |= curl_easy_setopt(h, CURLOPT_URL, call->url);
	rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(h, CURLOPT_VERBOSE, 0L);
	rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, call->timeout_ms);
	rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    call->timeout_ms < TG_CONNECT_MS ? call->timeout_ms :
	    (long)TG_CONNECT_MS);
	rc |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)TG_ANSWER_MAX);
	rc |= curl_easy_setopt(h, CURLOPT_USERAGENT, "rayvault-notify/1");
	rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, call->errbuf);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, call);
	rc |= curl_easy_setopt(h, CURLOPT_PRIVATE, call);
	rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, call->hdrs);
	rc |= curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body);
	return rc == CURLE_OK ? 0 : -1;
}

struct tg_call *
tg_call_start(struct tg_client *c, const char *method, const cJSON *params,
    long timeout_ms, char *err, size_t errlen)
{
	struct tg_call *call;
	char *body;

	if (method == NULL || !method_ok(method)) {
		(void)snprintf(err, errlen, "telegram: invalid method name");
		return NULL;
	}
	if ((call = calloc(1, sizeof(*call))) == NULL)
		goto nomem;
	call->client = c;
	strlcpy(call->method, method, sizeof(call->method));
	call->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	(void)snprintf(call->url, sizeof(call->url), "%s/bot%s/%s", c->base,
	    c->token, method);
	body = params != NULL ? cJSON_PrintUnformatted(params) : strdup("{}");
	if (body == NULL || (call->easy = curl_easy_init()) == NULL ||
	    (call->hdrs = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL ||
	    call_setup(call, body) == -1) {
		free(body);
		LIST_INSERT_HEAD(&c->calls, call, entry);
		tg_call_cancel(call);
		goto nomem;
	}
	free(body);
	if (curl_multi_add_handle(c->multi, call->easy) != CURLM_OK) {
		LIST_INSERT_HEAD(&c->calls, call, entry);
		tg_call_cancel(call);
		(void)snprintf(err, errlen, "%s: cannot start the transfer",
		    method);
		return NULL;
	}
	LIST_INSERT_HEAD(&c->calls, call, entry);
	return call;
nomem:
	(void)snprintf(err, errlen, "%s: out of memory", method);
	return NULL;
}

/* Keep only printable bytes (and UTF-8), at most size-1 of them. */
static void
clean_copy(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	for (; src != NULL && *src != '\0' && o + 1 < size; src++)
		dst[o++] = ((unsigned char)*src < ' ' || *src == 0x7f) ? ' ' :
		    *src;
	if (size > 0)
		dst[o] = '\0';
}

static void
reply_refused_or_retry(struct tg_reply *r, const char *method)
{
	long code = r->error_code != 0 ? r->error_code : r->http_status;

	if (code == 429 || code >= 500 || code == 409 || code == 0)
		r->status = TG_RETRY;
	else
		r->status = TG_REFUSED;
	if (code == 429 && r->retry_after <= 0)
		r->retry_after = 1;
	(void)snprintf(r->err, sizeof(r->err), "%s: Telegram answered %ld%s%s",
	    method, code, r->description[0] ? ": " : "", r->description);
}

enum tg_status
tg_reply_parse(const char *method, long http_status, const char *body,
    size_t len, struct tg_reply *out)
{
	const cJSON *ok, *v, *params;
	double d;

	memset(out, 0, sizeof(*out));
	out->http_status = http_status;
	out->answer = body != NULL ? cJSON_ParseWithLength(body, len) : NULL;
	ok = cJSON_GetObjectItemCaseSensitive(out->answer, "ok");
	if (!cJSON_IsObject(out->answer) || !cJSON_IsBool(ok)) {
		cJSON_Delete(out->answer);
		out->answer = NULL;
		out->status = (http_status >= 400 && http_status < 500 &&
		    http_status != 429 && http_status != 409) ? TG_REFUSED :
		    TG_RETRY;
		(void)snprintf(out->err, sizeof(out->err), "%s: HTTP %ld "
		    "without a Bot API answer", method, http_status);
		return out->status;
	}
	if (cJSON_IsTrue(ok)) {
		out->result = cJSON_GetObjectItemCaseSensitive(out->answer,
		    "result");
		if (out->result != NULL && http_status >= 200 &&
		    http_status < 300)
			return out->status = TG_OK;
		out->result = NULL;
		out->status = TG_REFUSED;
		(void)snprintf(out->err, sizeof(out->err), "%s: HTTP %ld with "
		    "an ok answer but no result", method, http_status);
		return out->status;
	}
	v = cJSON_GetObjectItemCaseSensitive(out->answer, "error_code");
	if (cJSON_IsNumber(v) && v->valuedouble >= 100 &&
	    v->valuedouble < 1000)
		out->error_code = (long)v->valuedouble;
	clean_copy(out->description, sizeof(out->description),
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out->answer,
	    "description")));
	params = cJSON_GetObjectItemCaseSensitive(out->answer, "parameters");
	v = cJSON_GetObjectItemCaseSensitive(params, "retry_after");
	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
		out->retry_after = d < 1 ? 1 : d > TG_RETRY_AFTER_MAX ?
		    TG_RETRY_AFTER_MAX : (long)d;
	}
	reply_refused_or_retry(out, method);
	return out->status;
}

void
tg_reply_clear(struct tg_reply *r)
{
	if (r == NULL)
		return;
	cJSON_Delete(r->answer);
	memset(r, 0, sizeof(*r));
}

const char *
tg_redact(const char *text, const char *token, char *buf, size_t size)
{
	size_t tlen = token != NULL ? strlen(token) : 0, o = 0;
	const char *p = text;

	if (size == 0)
		return buf;
	while (p != NULL && *p != '\0' && o + 1 < size) {
		if (tlen >= 4 && strncmp(p, token, tlen) == 0) {
			o += strlcpy(buf + o, "***", size - o);
			if (o >= size)
				o = size - 1;
			p += tlen;
			continue;
		}
		buf[o++] = *p++;
	}
	buf[o] = '\0';
	return buf;
}

/* A transfer ended: turn it into the call's reply. */
static void
call_finish(struct tg_call *call, CURLcode code)
{
	struct tg_reply *r = &call->reply;
	char tmp[sizeof(r->err)];
	long status = 0;

	call->done = true;
	(void)curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
	if (call->too_big || code == CURLE_FILESIZE_EXCEEDED) {
		memset(r, 0, sizeof(*r));
		r->status = TG_REFUSED;
		r->http_status = status;
		(void)snprintf(r->err, sizeof(r->err), "%s: answer larger than "
		    "%d bytes", call->method, TG_ANSWER_MAX);
	} else if (code != CURLE_OK) {
		memset(r, 0, sizeof(*r));
		r->status = TG_RETRY;
		if (code == CURLE_OPERATION_TIMEDOUT)
			(void)snprintf(r->err, sizeof(r->err), "%s: no answer "
			    "within %ld ms", call->method, call->timeout_ms);
		else
			(void)snprintf(r->err, sizeof(r->err), "%s: %s",
			    call->method, call->errbuf[0] != '\0' ?
			    call->errbuf : curl_easy_strerror(code));
	} else
		(void)tg_reply_parse(call->method, status, call->buf,
		    call->len, r);
	strlcpy(tmp, r->err, sizeof(tmp));
	(void)tg_redact(tmp, call->client->token, r->err, sizeof(r->err));
	strlcpy(tmp, r->description, sizeof(r->description));
	(void)tg_redact(tmp, call->client->token, r->description,
	    sizeof(r->description));
	(void)curl_multi_remove_handle(call->client->multi, call->easy);
}

static void
collect(struct tg_client *c)
{
	struct tg_call *call;
	CURLMsg *msg;
	char *priv;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    &priv);
		if ((call = (struct tg_call *)(void *)priv) != NULL &&
		    !call->done)
			call_finish(call, msg->data.result);
	}
}

int
tg_client_run(struct tg_client *c, int wait_ms)
{
	int running = 0;

	if (curl_multi_perform(c->multi, &running) != CURLM_OK)
		return -1;
	collect(c);
	if (running > 0 && wait_ms > 0) {
		(void)curl_multi_poll(c->multi, NULL, 0, wait_ms, NULL);
		if (curl_multi_perform(c->multi, &running) != CURLM_OK)
			return -1;
		collect(c);
	}
	return running;
}

bool
tg_call_done(const struct tg_call *call)
{
	return call != NULL && call->done;
}

void
tg_call_take(struct tg_call *call, struct tg_reply *out)
{
	if (call->done) {
		*out = call->reply;
		memset(&call->reply, 0, sizeof(call->reply));
	} else {
		memset(out, 0, sizeof(*out));
		out->status = TG_RETRY;
		(void)snprintf(out->err, sizeof(out->err), "%s: abandoned",
		    call->method);
	}
	tg_call_cancel(call);
}

void
tg_call_cancel(struct tg_call *call)
{
	if (call == NULL)
		return;
	LIST_REMOVE(call, entry);
	if (call->easy != NULL) {
		if (!call->done)
			(void)curl_multi_remove_handle(call->client->multi,
			    call->easy);
		curl_easy_cleanup(call->easy);
	}
	curl_slist_free_all(call->hdrs);
	tg_reply_clear(&call->reply);
	explicit_bzero(call->url, sizeof(call->url));
	free(call->buf);
	free(call);
}

int
tg_request(struct tg_client *c, const char *method, const cJSON *params,
    long timeout_ms, struct progress *prog, struct tg_reply *out)
{
	struct tg_call *call;
	char err[sizeof(out->err)];

	memset(out, 0, sizeof(*out));
	if ((call = tg_call_start(c, method, params, timeout_ms, err,
	    sizeof(err))) == NULL) {
		out->status = TG_RETRY;
		strlcpy(out->err, err, sizeof(out->err));
		return -1;
	}
	while (!tg_call_done(call)) {
		if (tg_client_run(c, TG_TICK_MS) == -1 ||
		    progress_tick(prog, (long long)call->len) == -1)
			break;
	}
	tg_call_take(call, out);
	return out->status == TG_OK ? 0 : -1;
}
